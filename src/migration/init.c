/*
 * init.c: installing the v3 phases into the QEMU driver (see
 * migration.h and qemu_driver_ops.h for why it goes this way round).
 *
 * Perform3 is a choice: with PEER2PEER and a destination URI the client
 * asks this host to run the whole migration (p2p.c); otherwise it is the
 * phase of a sequence someone else drives (perform.c), our own
 * peer-to-peer sequence included.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.init"

#include "migration/migration_priv.h"
#include "migration/tunnel.h"
#include "util/error.h"

static gboolean init_perform3(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                              const char *dconnuri, const TypedParams *params, GBytes *cookie_in,
                              unsigned int flags, GBytes **cookie_out, GError **error)
{
    const char *name = dom->name ? dom->name : "?";

    if (!dconnuri)
        return migration_src_perform(drv, conn_id, dom, NULL, params, cookie_in, flags, cookie_out,
                                     error);
    if (!(flags & MIGRATION_PEER2PEER)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': perform: a destination URI needs the PEER2PEER flag", name);
        return FALSE;
    }
    /* libvirt answers no cookie to the client of a peer-to-peer migration */
    *cookie_out = NULL;
    return migration_src_perform_p2p(drv, dom, dconnuri, params, flags, error);
}

static const QemuMigrationOps migration_qemu_ops = {
    .begin3 = migration_src_begin,
    .prepare3 = migration_dst_prepare,
    .prepare_tunnel3 = migration_dst_prepare_tunnel,
    .perform3 = init_perform3,
    .finish3 = migration_dst_finish,
    .confirm3 = migration_src_confirm,
    .connection_closed = migration_connection_closed,
    .start_postcopy = migration_src_start_postcopy,
    /* migrate-setspeed & co: the driver's own (qemu_driver_migtune.c) */
};

void migration_init(void)
{
    qemu_driver_set_migration_ops(&migration_qemu_ops);
}
