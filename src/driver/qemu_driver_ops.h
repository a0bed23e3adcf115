/*
 * qemu_driver_ops.h: the QEMU driver behind driver.h's ops table.
 *
 * ferryd opens one DriverConn per client connection; the connection id is
 * what autodestroy domains (start --autodestroy, incoming migrations) are
 * tied to, and closing the DriverConn destroys them.
 */
#pragma once

#include "driver/driver.h"
#include "driver/qemu_driver.h"

extern const DriverOps qemu_driver_ops;

/* A connection to drv (which must outlive it) for client conn_id. */
DriverConn *qemu_driver_conn_open(QemuDriver *drv, guint64 conn_id, const char *uri);

/* The driver behind a connection made by qemu_driver_conn_open. */
QemuDriver *qemu_driver_conn_get_driver(DriverConn *conn);
/* The client connection id it was opened with (what autokill keys on). */
guint64 qemu_driver_conn_get_id(DriverConn *conn);

/*
 * Migration.  The v3 phases live in src/migration, which sits above this
 * folder: src/driver never includes a migration header.  Instead, the
 * migration code hands the QEMU driver its phases once, at startup
 * (migration_init() in src/migration/migration.h, called by every embedder:
 * ferryd's startup and libferry's embedded driver), through
 * qemu_driver_set_migration_ops().  qemu_driver_ops' migrate_* entries
 * are trampolines into this table: before it is installed they answer
 * FERRY_ERR_NO_SUPPORT, and supports_feature announces MIGRATION_V3,
 * MIGRATION_PARAMS, MIGRATE_CHANGE_PROTECTION and MIGRATION_OFFLINE only
 * once it is.  The table is process-wide (the ops table is a constant);
 * install it before any connection is served; it is never uninstalled.
 */
typedef struct {
    gboolean (*begin3)(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                       const TypedParams *params, unsigned int flags, GBytes **cookie_out,
                       char **xml_out, GError **error);
    gboolean (*prepare3)(QemuDriver *drv, guint64 conn_id, const TypedParams *params,
                         GBytes *cookie_in, unsigned int flags, GBytes **cookie_out, char **uri_out,
                         GError **error);
    /* Prepare3 of a tunnelled migration: the data comes on stream. */
    gboolean (*prepare_tunnel3)(QemuDriver *drv, guint64 conn_id, DriverStream *stream,
                                const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                GBytes **cookie_out, GError **error);
    gboolean (*perform3)(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                         const char *dconnuri, const TypedParams *params, GBytes *cookie_in,
                         unsigned int flags, GBytes **cookie_out, GError **error);
    gboolean (*finish3)(QemuDriver *drv, guint64 conn_id, const TypedParams *params,
                        GBytes *cookie_in, unsigned int flags, gboolean cancelled,
                        DriverDomain *dom, GBytes **cookie_out, GError **error);
    gboolean (*confirm3)(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                         const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                         gboolean cancelled, GError **error);
    /* The client connection conn_id closed (called before autodestroy
     * runs): migrations it began on this host and left between phases
     * are cleaned up.  May be NULL. */
    void (*connection_closed)(QemuDriver *drv, guint64 conn_id);
    /* Tuning while a migration runs (migrate-setspeed & co); may be NULL. */
    gboolean (*set_max_speed)(QemuDriver *drv, const DriverDomain *dom,
                              unsigned long long mib_per_s, GError **error);
    gboolean (*get_max_speed)(QemuDriver *drv, const DriverDomain *dom,
                              unsigned long long *mib_per_s, GError **error);
    gboolean (*set_max_downtime)(QemuDriver *drv, const DriverDomain *dom, unsigned long long ms,
                                 GError **error);
    gboolean (*get_max_downtime)(QemuDriver *drv, const DriverDomain *dom, unsigned long long *ms,
                                 GError **error);
    /* migrate-postcopy: switches a running migration-out to post-copy. */
    gboolean (*start_postcopy)(QemuDriver *drv, const DriverDomain *dom, unsigned int flags,
                               GError **error);
} QemuMigrationOps;

/* Installs the migration phases (ops must stay valid for the process's
 * life).  NULL is refused. */
void qemu_driver_set_migration_ops(const QemuMigrationOps *ops);
/* The installed table, or NULL. */
const QemuMigrationOps *qemu_driver_get_migration_ops(void);
