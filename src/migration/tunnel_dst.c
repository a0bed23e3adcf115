/*
 * tunnel_dst.c: Prepare3 of a tunnelled migration, on the destination
 * (tunnel.h).  As Prepare3 (prepare.c): cookie 1 read (a migration from
 * this very host refused), the incoming domain defined, its QEMU started
 * with -incoming defer and the destination's migration settings applied;
 * then, instead of a TCP port, QEMU gets one end of a socketpair (getfd)
 * and `migrate-incoming fd:ferry-tunnel`, and a relay thread writes what
 * arrives in the stream into the other end.  The domain belongs to the
 * calling connection until Finish (autodestroy).  On failure QEMU is gone
 * and the domain with it; the caller aborts the stream.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.tunnel"

#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "migration/tunnel.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"

/* getfd, then migrate-incoming from it (a failed migrate-incoming leaves
 * no named fd behind). */
static gboolean incoming_fd_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    int fd = GPOINTER_TO_INT(opaque);

    if (!qmp_getfd(mon, fd, TUNNEL_FD_NAME, error))
        return FALSE;
    if (qmp_migrate_incoming(mon, "fd:" TUNNEL_FD_NAME, error))
        return TRUE;
    (void)qmp_closefd(mon, TUNNEL_FD_NAME, NULL);
    return FALSE;
}

/* Starts the incoming QEMU reading from qemu_fd (obj locked, MIGRATION_IN
 * owned). */
static gboolean tunnel_dst_start(QemuDriver *drv, guint64 conn_id, DomainObj *obj,
                                 const TypedParams *params, unsigned int flags, int qemu_fd,
                                 GError **error)
{
    gboolean ok;

    if (!domain_job_begin_nested(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, error))
        return FALSE;
    ok = qemu_process_start_incoming(drv, obj, "defer", QEMU_PROCESS_START_AUTODESTROY, conn_id,
                                     error);
    domain_job_end(obj);
    if (!ok)
        return FALSE;
    if (!migration_set_phase(drv, obj, DOMAIN_MIGRATION_PHASE_PREPARE, error) ||
        !migration_params_apply(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, params, flags,
                                MIGRATION_SIDE_DST, error))
        return FALSE;
    if (!migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, incoming_fd_cb,
                               GINT_TO_POINTER(qemu_fd), error)) {
        g_autoptr(GError) first = g_steal_pointer(error);

        ferry_fail(error, ferry_error_code_of(first),
                   "domain '%s': prepare: QEMU cannot take the tunnel: %s", domain_obj_name(obj),
                   first->message);
        return FALSE;
    }
    return TRUE;
}

gboolean migration_dst_prepare_tunnel(QemuDriver *drv, guint64 conn_id, DriverStream *stream,
                                      const TypedParams *params, GBytes *cookie_in,
                                      unsigned int flags, GBytes **cookie_out, GError **error)
{
    /* the phases know the flag as an attribute of the transport only */
    unsigned int mflags = flags & ~(unsigned int)MIGRATION_TUNNELLED;
    g_autoptr(MigrationCookie) cookie = NULL;
    g_autoptr(DomainDef) def = NULL;
    g_autoptr(DomainObjLocked) obj = NULL;
    g_autoptr(MigrationCookie) reply = NULL;
    g_autoptr(GBytes) baked = NULL;
    g_autoptr(TunnelRelay) relay = NULL;
    g_autofree char *name = NULL;
    g_autofree char *what = NULL;
    g_auto(FerryFd) ours = -1;
    g_auto(FerryFd) qemus = -1;
    gboolean ok;

    if (!driver_stream_is_open(stream)) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "prepare (tunnelled): the QEMU driver takes a tunnel from a client's "
                   "connection only (an open stream)");
        return FALSE;
    }
    if (!(cookie = migration_cookie_eat(drv, NULL, "prepare", cookie_in, FALSE, error)))
        return FALSE;
    if (!migration_tunnel_check(cookie->name, "prepare", params, flags, error) ||
        !migration_params_check(cookie->name, "prepare", params, mflags, error))
        return FALSE;
    if (!(def = migration_dst_prepare_def(cookie, params, error)))
        return FALSE;
    name = g_strdup(def->name);
    what = g_strdup_printf("domain '%s' (incoming)", name);
    if (!tunnel_socketpair(&ours, &qemus, error))
        return FALSE;

    obj = domain_list_add(drv->domains, &def, DOMAIN_LIST_ADD_LIVE | DOMAIN_LIST_ADD_UPDATE, NULL,
                          error);
    if (!obj)
        return FALSE;
    if (!domain_job_begin_async(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN,
                                "domainMigratePrepareTunnel3Params", mflags, error)) {
        qemu_driver_remove_inactive(drv, obj);
        return FALSE;
    }
    domain_job_set_mask(obj, DOMAIN_JOB_DEFAULT_MASK | DOMAIN_JOB_MASK(DOMAIN_JOB_ABORT) |
                                 DOMAIN_JOB_MASK(DOMAIN_JOB_MIGRATION_OP));

    ok = tunnel_dst_start(drv, conn_id, obj, params, mflags, qemus, error) &&
         (reply = migration_prepare_cookie(drv, obj, name, migration_advertised_host(drv), params,
                                           mflags, error)) &&
         (baked = migration_cookie_bake(reply, error));
    /* QEMU has its own copy now (or failed) */
    ferry_fd_close(&qemus);
    if (ok)
        ok = (relay = tunnel_relay_start(what, TUNNEL_RELAY_STREAM_TO_FD, ferry_fd_steal(&ours),
                                         stream, error)) != NULL;
    if (!ok) {
        migration_stop_qemu(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, "failed");
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);
        qemu_driver_remove_inactive(drv, obj);
        return FALSE;
    }
    /* the relay runs until the stream ends; Finish3 needs no handle on it
     * (a cancelled Finish3 stops QEMU, which ends the relay) */
    tunnel_relay_detach(g_steal_pointer(&relay));
    FLOG_INFO("domain '%s': incoming migration prepared through a tunnel (fd:%s)", name,
              TUNNEL_FD_NAME);
    domain_job_async_continue(obj);
    *cookie_out = g_steal_pointer(&baked);
    return TRUE;
}
