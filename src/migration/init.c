/*
 * init.c: installing the v3 phases into the QEMU driver (see
 * migration.h and qemu_driver_ops.h for why it goes this way round).
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.init"

#include "migration/migration_priv.h"

static const QemuMigrationOps migration_qemu_ops = {
    .begin3 = migration_src_begin,
    .prepare3 = migration_dst_prepare,
    .perform3 = migration_src_perform,
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
