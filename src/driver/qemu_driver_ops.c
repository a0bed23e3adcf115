/*
 * qemu_driver_ops.c: the QEMU driver behind driver.h's ops table.
 *
 * Each op checks its flags, finds the domain by uuid and calls the QEMU
 * driver; nothing here keeps state but the connection id.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "qemu.ops"

#include "driver/qemu_driver_ops.h"
#include "driver/domain_obj.h"
#include "util/error.h"
#include "util/log.h"

typedef struct {
    DriverConn parent;
    QemuDriver *drv;
    guint64 conn_id;
} QemuConn;

static QemuDriver *qconn_driver(DriverConn *conn)
{
    return ((QemuConn *)conn)->drv;
}

QemuDriver *qemu_driver_conn_get_driver(DriverConn *conn)
{
    g_return_val_if_fail(conn && conn->ops == &qemu_driver_ops, NULL);
    return qconn_driver(conn);
}

static gboolean check_flags(unsigned int flags, unsigned int allowed, const char *op,
                            GError **error)
{
    if (flags & ~allowed) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s: unsupported flags 0x%x", op,
                   flags & ~allowed);
        return FALSE;
    }
    return TRUE;
}

static void ref_to_domain(QemuDomainRef *ref, DriverDomain *dom)
{
    g_free(dom->name);
    dom->name = g_steal_pointer(&ref->name);
    memcpy(dom->uuid, ref->uuid, sizeof(dom->uuid));
    dom->id = ref->id;
}

/* ---------------------------------------------------------------- connection */

static char *qops_get_uri(DriverConn *conn, GError **error)
{
    return g_strdup(conn->uri ? conn->uri : "qemu:///system");
}

static char *qops_get_hostname(DriverConn *conn, GError **error)
{
    return g_strdup(qemu_driver_get_hostname(qconn_driver(conn)));
}

static char *qops_get_type(DriverConn *conn, GError **error)
{
    return g_strdup("QEMU");
}

static gboolean version_number(const char *text, unsigned long long *version)
{
    unsigned int major = 0, minor = 0, micro = 0;

    if (sscanf(text, "%u.%u.%u", &major, &minor, &micro) < 2)
        return FALSE;
    *version = major * 1000000ULL + minor * 1000ULL + micro;
    return TRUE;
}

static gboolean qops_get_version(DriverConn *conn, unsigned long long *version, GError **error)
{
    int major = 0, minor = 0, micro = 0;

    if (!qemu_driver_get_qemu_version(qconn_driver(conn), &major, &minor, &micro, error))
        return FALSE;
    *version = major * 1000000ULL + minor * 1000ULL + micro;
    return TRUE;
}

static gboolean qops_get_lib_version(DriverConn *conn, unsigned long long *version, GError **error)
{
    if (!version_number(PACKAGE_VERSION, version)) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "bad package version '%s'", PACKAGE_VERSION);
        return FALSE;
    }
    return TRUE;
}

guint64 qemu_driver_conn_get_id(DriverConn *conn)
{
    g_return_val_if_fail(conn && conn->ops == &qemu_driver_ops, 0);
    return ((QemuConn *)conn)->conn_id;
}

static gboolean qops_node_get_info(DriverConn *conn, HostInfo *info, GError **error)
{
    return hostinfo_read(NULL, info, error);
}

static gboolean qops_is_secure(DriverConn *conn, gboolean *secure, GError **error)
{
    /* In-process: nothing between the caller and QEMU.  ferryd adds what
     * it knows of the client's transport. */
    *secure = TRUE;
    return TRUE;
}

/* ---------------------------------------------------------------- migration hooks */

static const QemuMigrationOps *migration_ops; /* atomic; set once by src/migration */

void qemu_driver_set_migration_ops(const QemuMigrationOps *ops)
{
    g_return_if_fail(ops != NULL);
    g_atomic_pointer_set(&migration_ops, ops);
}

const QemuMigrationOps *qemu_driver_get_migration_ops(void)
{
    return g_atomic_pointer_get(&migration_ops);
}

static gboolean qops_supports_feature(DriverConn *conn, int feature, gboolean *supported,
                                      GError **error)
{
    switch (feature) {
    case DRIVER_FEATURE_XML_MIGRATABLE:
    case DRIVER_FEATURE_TYPED_PARAM_STRING:
        *supported = TRUE;
        break;
    case DRIVER_FEATURE_MIGRATION_V3:
    case DRIVER_FEATURE_MIGRATION_PARAMS:
    case DRIVER_FEATURE_MIGRATE_CHANGE_PROTECTION:
    case DRIVER_FEATURE_MIGRATION_OFFLINE:
    case DRIVER_FEATURE_MIGRATION_P2P:
        /* Announced only once src/migration installed its phases:
         * announcing them early would make clients pick a protocol that
         * fails halfway. */
        *supported = qemu_driver_get_migration_ops() != NULL;
        break;
    default:
        *supported = FALSE;
        break;
    }
    return TRUE;
}

static void qops_close(DriverConn *conn)
{
    QemuConn *qc = (QemuConn *)conn;
    const QemuMigrationOps *mig = qemu_driver_get_migration_ops();
    guint dropped = qemu_driver_event_deregister_owner(qc->drv, conn);
    guint killed;

    if (mig && mig->connection_closed)
        mig->connection_closed(qc->drv, qc->conn_id);
    killed = qemu_driver_connection_closed(qc->drv, qc->conn_id);

    if (dropped)
        FLOG_DEBUG("connection %" G_GUINT64_FORMAT " closed: %u event callback(s) dropped",
                   qc->conn_id, dropped);

    if (killed)
        FLOG_INFO("connection %" G_GUINT64_FORMAT " closed: destroyed %u autodestroy domain(s)",
                  qc->conn_id, killed);
    g_free(qc);
}

/* ---------------------------------------------------------------- lookups */

static gboolean qops_lookup_by_name(DriverConn *conn, const char *name, DriverDomain *dom,
                                    GError **error)
{
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (!qemu_driver_lookup_by_name(qconn_driver(conn), name, &ref, error))
        return FALSE;
    ref_to_domain(&ref, dom);
    qemu_domain_ref_clear(&ref);
    return TRUE;
}

static gboolean qops_lookup_by_uuid(DriverConn *conn, const unsigned char *uuid, DriverDomain *dom,
                                    GError **error)
{
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (!qemu_driver_lookup_by_uuid(qconn_driver(conn), uuid, &ref, error))
        return FALSE;
    ref_to_domain(&ref, dom);
    qemu_domain_ref_clear(&ref);
    return TRUE;
}

static gboolean qops_lookup_by_id(DriverConn *conn, int id, DriverDomain *dom, GError **error)
{
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (!qemu_driver_lookup_by_id(qconn_driver(conn), id, &ref, error))
        return FALSE;
    ref_to_domain(&ref, dom);
    qemu_domain_ref_clear(&ref);
    return TRUE;
}

static gboolean list_state_matches(DomainState state, unsigned int flags)
{
    unsigned int want = flags & (DRIVER_LIST_RUNNING | DRIVER_LIST_PAUSED | DRIVER_LIST_SHUTOFF |
                                 DRIVER_LIST_OTHER);

    if (!want)
        return TRUE;
    switch (state) {
    case DOMAIN_STATE_RUNNING:
        return want & DRIVER_LIST_RUNNING;
    case DOMAIN_STATE_PAUSED:
        return want & DRIVER_LIST_PAUSED;
    case DOMAIN_STATE_SHUTOFF:
        return want & DRIVER_LIST_SHUTOFF;
    default:
        return want & DRIVER_LIST_OTHER;
    }
}

static GArray *qops_list_all_domains(DriverConn *conn, unsigned int flags, GError **error)
{
    const unsigned int allowed =
        DRIVER_LIST_ACTIVE | DRIVER_LIST_INACTIVE | DRIVER_LIST_PERSISTENT | DRIVER_LIST_TRANSIENT |
        DRIVER_LIST_RUNNING | DRIVER_LIST_PAUSED | DRIVER_LIST_SHUTOFF | DRIVER_LIST_OTHER;
    QemuDriver *drv = qconn_driver(conn);

    if (!check_flags(flags, allowed, "list all domains", error))
        return NULL;

    /* Names of every domain, then each one's facts: a domain that went away
     * in between is simply not listed. */
    g_auto(GStrv) names = qemu_driver_list_names(drv, DOMAIN_LIST_ACTIVE | DOMAIN_LIST_INACTIVE);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(DriverDomain));

    for (char **n = names; n && *n; n++) {
        QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
        DomainState state = DOMAIN_STATE_NOSTATE;
        g_autofree char *reason = NULL;
        gboolean persistent = FALSE;

        if (!qemu_driver_lookup_by_name(drv, *n, &ref, NULL))
            continue;
        gboolean active = ref.id > 0;
        gboolean ok = qemu_driver_domain_get_state(drv, ref.uuid, &state, &reason, NULL) &&
                      qemu_driver_domain_is_persistent(drv, ref.uuid, &persistent, NULL);
        gboolean keep = ok;

        if ((flags & (DRIVER_LIST_ACTIVE | DRIVER_LIST_INACTIVE)) &&
            !((flags & DRIVER_LIST_ACTIVE && active) || (flags & DRIVER_LIST_INACTIVE && !active)))
            keep = FALSE;
        if ((flags & (DRIVER_LIST_PERSISTENT | DRIVER_LIST_TRANSIENT)) &&
            !((flags & DRIVER_LIST_PERSISTENT && persistent) ||
              (flags & DRIVER_LIST_TRANSIENT && !persistent)))
            keep = FALSE;
        if (!list_state_matches(state, flags))
            keep = FALSE;
        if (keep) {
            DriverDomain dom = DRIVER_DOMAIN_INIT;
            ref_to_domain(&ref, &dom);
            g_array_append_val(out, dom);
        }
        qemu_domain_ref_clear(&ref);
    }
    return out;
}

/* ---------------------------------------------------------------- lifecycle */

static gboolean qops_define_xml(DriverConn *conn, const char *xml, unsigned int flags,
                                DriverDomain *dom, GError **error)
{
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    /* VIR_DOMAIN_DEFINE_VALIDATE (1): ferry always validates. */
    if (!check_flags(flags, 1, "define", error))
        return FALSE;
    if (!qemu_driver_define_xml(qconn_driver(conn), xml, &ref, error))
        return FALSE;
    ref_to_domain(&ref, dom);
    qemu_domain_ref_clear(&ref);
    return TRUE;
}

static gboolean qops_undefine(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                              GError **error)
{
    /* VIR_DOMAIN_UNDEFINE_MANAGED_SAVE (1), SNAPSHOTS_METADATA (2),
     * NVRAM (4), KEEP_NVRAM (8), CHECKPOINTS_METADATA (16), TPM (32),
     * KEEP_TPM (64): ferry keeps none of these, so they are no-ops. */
    if (!check_flags(flags, 0x7f, "undefine", error))
        return FALSE;
    return qemu_driver_undefine(qconn_driver(conn), dom->uuid, error);
}

static gboolean qops_create(DriverConn *conn, DriverDomain *dom, unsigned int flags, GError **error)
{
    QemuConn *qc = (QemuConn *)conn;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (!check_flags(flags, DRIVER_START_PAUSED | DRIVER_START_AUTODESTROY, "start", error))
        return FALSE;
    if (!qemu_driver_domain_create(qc->drv, dom->uuid, flags, qc->conn_id, error))
        return FALSE;
    if (qemu_driver_lookup_by_uuid(qc->drv, dom->uuid, &ref, NULL))
        ref_to_domain(&ref, dom);
    qemu_domain_ref_clear(&ref);
    return TRUE;
}

static gboolean qops_create_xml(DriverConn *conn, const char *xml, unsigned int flags,
                                DriverDomain *dom, GError **error)
{
    QemuConn *qc = (QemuConn *)conn;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (!check_flags(flags, DRIVER_START_PAUSED | DRIVER_START_AUTODESTROY, "create", error))
        return FALSE;
    if (!qemu_driver_create_xml(qc->drv, xml, flags, qc->conn_id, &ref, error))
        return FALSE;
    ref_to_domain(&ref, dom);
    qemu_domain_ref_clear(&ref);
    return TRUE;
}

static gboolean qops_destroy(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                             GError **error)
{
    /* VIR_DOMAIN_DESTROY_GRACEFUL (1): SIGTERM only is what ferry's
     * destroy starts with anyway. */
    if (!check_flags(flags, 1, "destroy", error))
        return FALSE;
    return qemu_driver_domain_destroy(qconn_driver(conn), dom->uuid, error);
}

static gboolean qops_shutdown(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                              GError **error)
{
    /* VIR_DOMAIN_SHUTDOWN_DEFAULT (0) or ACPI_POWER_BTN (1). */
    if (!check_flags(flags, 1, "shutdown", error))
        return FALSE;
    return qemu_driver_domain_shutdown(qconn_driver(conn), dom->uuid, error);
}

static gboolean qops_suspend(DriverConn *conn, const DriverDomain *dom, GError **error)
{
    return qemu_driver_domain_suspend(qconn_driver(conn), dom->uuid, error);
}

static gboolean qops_resume(DriverConn *conn, const DriverDomain *dom, GError **error)
{
    return qemu_driver_domain_resume(qconn_driver(conn), dom->uuid, error);
}

/* ---------------------------------------------------------------- state */

static gboolean qops_get_state(DriverConn *conn, const DriverDomain *dom, int *state, int *reason,
                               unsigned int flags, GError **error)
{
    DomainState st = DOMAIN_STATE_NOSTATE;
    g_autofree char *why = NULL;

    if (!check_flags(flags, 0, "get state", error))
        return FALSE;
    if (!qemu_driver_domain_get_state(qconn_driver(conn), dom->uuid, &st, &why, error))
        return FALSE;
    *state = st;
    *reason = qemu_driver_state_reason_to_number(st, why);
    return TRUE;
}

static gboolean qops_get_info(DriverConn *conn, const DriverDomain *dom, DriverDomainInfo *info,
                              GError **error)
{
    QemuDomainInfo qi = { 0 };

    if (!qemu_driver_domain_get_info(qconn_driver(conn), dom->uuid, &qi, error))
        return FALSE;
    info->state = qi.state;
    info->max_mem_kib = qi.max_mem_kib;
    info->memory_kib = qi.memory_kib;
    info->nr_virt_cpu = qi.vcpus;
    info->cpu_time_ns = qi.cpu_time_ns;
    return TRUE;
}

static char *qops_get_os_type(DriverConn *conn, const DriverDomain *dom, GError **error)
{
    gboolean persistent;

    /* Looked up only to report a missing domain as libvirt does. */
    if (!qemu_driver_domain_is_persistent(qconn_driver(conn), dom->uuid, &persistent, error))
        return NULL;
    return g_strdup("hvm");
}

static gboolean qops_get_max_memory(DriverConn *conn, const DriverDomain *dom,
                                    unsigned long long *kib, GError **error)
{
    QemuDomainInfo qi = { 0 };

    if (!qemu_driver_domain_get_info(qconn_driver(conn), dom->uuid, &qi, error))
        return FALSE;
    *kib = qi.max_mem_kib;
    return TRUE;
}

static char *qops_get_xml_desc(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                               GError **error)
{
    if (!check_flags(flags,
                     DRIVER_XML_SECURE | DRIVER_XML_INACTIVE | DRIVER_XML_UPDATE_CPU |
                         DRIVER_XML_MIGRATABLE,
                     "dumpxml", error))
        return NULL;
    /* UPDATE_CPU: the definition already names the CPU QEMU runs. */
    return qemu_driver_domain_get_xml(qconn_driver(conn), dom->uuid, flags & ~DRIVER_XML_UPDATE_CPU,
                                      error);
}

static gboolean qops_is_active(DriverConn *conn, const DriverDomain *dom, gboolean *active,
                               GError **error)
{
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (!qemu_driver_lookup_by_uuid(qconn_driver(conn), dom->uuid, &ref, error))
        return FALSE;
    *active = ref.id > 0;
    qemu_domain_ref_clear(&ref);
    return TRUE;
}

static gboolean qops_is_persistent(DriverConn *conn, const DriverDomain *dom, gboolean *persistent,
                                   GError **error)
{
    return qemu_driver_domain_is_persistent(qconn_driver(conn), dom->uuid, persistent, error);
}

/* ---------------------------------------------------------------- jobs */

static int job_type_of(const DomainJobInfo *info)
{
    switch (info->status) {
    case DOMAIN_JOB_STATUS_ACTIVE:
        return DRIVER_JOB_UNBOUNDED;
    case DOMAIN_JOB_STATUS_COMPLETED:
        return DRIVER_JOB_COMPLETED;
    case DOMAIN_JOB_STATUS_FAILED:
        return DRIVER_JOB_FAILED;
    case DOMAIN_JOB_STATUS_CANCELED:
        return DRIVER_JOB_CANCELLED;
    default:
        return DRIVER_JOB_NONE;
    }
}

/* virDomainJobOperation for the async job. */
static int job_operation_of(DomainAsyncJob job)
{
    switch (job) {
    case DOMAIN_ASYNC_JOB_SAVE:
        return 2; /* VIR_DOMAIN_JOB_OPERATION_SAVE */
    case DOMAIN_ASYNC_JOB_RESTORE:
        return 3; /* RESTORE */
    case DOMAIN_ASYNC_JOB_MIGRATION_IN:
        return 4; /* MIGRATION_IN */
    case DOMAIN_ASYNC_JOB_MIGRATION_OUT:
        return 5; /* MIGRATION_OUT */
    default:
        return 0; /* UNKNOWN */
    }
}

TypedParams *qemu_driver_job_info_params(const DomainJobInfo *info, int *type, GError **error)
{
    g_autoptr(TypedParams) out = typed_params_new();

    *type = job_type_of(info);
    if (*type != DRIVER_JOB_NONE) {
        const DomainJobProgress *p = &info->progress;
        struct {
            const char *name;
            unsigned long long value;
        } stats[] = {
            { "time_elapsed", (unsigned long long)info->elapsed_ms },
            { "data_total", p->data_total },
            { "data_processed", p->data_processed },
            { "data_remaining", p->data_remaining },
            { "memory_total", p->data_total },
            { "memory_processed", p->data_processed },
            { "memory_remaining", p->data_remaining },
            { "memory_bps", p->mem_bps },
            { "memory_dirty_rate", p->dirty_rate },
            { "memory_iteration", p->iteration },
            { "setup_time", p->setup_time_ms },
        };

        if (typed_params_add_int(out, "operation", job_operation_of(info->type), error) < 0)
            return NULL;
        for (gsize i = 0; i < G_N_ELEMENTS(stats); i++) {
            if (typed_params_add_ullong(out, stats[i].name, stats[i].value, error) < 0)
                return NULL;
        }
        if (*type == DRIVER_JOB_COMPLETED) {
            if (typed_params_add_ullong(out, "downtime", p->downtime_ms, error) < 0)
                return NULL;
        } else if (p->expected_downtime_ms &&
                   typed_params_add_ullong(out, "downtime", p->expected_downtime_ms, error) < 0) {
            return NULL;
        }
    }
    return g_steal_pointer(&out);
}

static gboolean qops_get_job_stats(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                                   int *type, TypedParams **params, GError **error)
{
    DomainJobInfo info = { 0 };
    gboolean completed = flags & DRIVER_JOB_STATS_COMPLETED;

    if (!check_flags(flags, DRIVER_JOB_STATS_COMPLETED | DRIVER_JOB_STATS_KEEP_COMPLETED,
                     "job stats", error))
        return FALSE;
    if (!qemu_driver_domain_get_job_info(qconn_driver(conn), dom->uuid, completed, &info, error))
        return FALSE;
    *params = qemu_driver_job_info_params(&info, type, error);
    return *params != NULL;
}

static gboolean qops_abort_job(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                               GError **error)
{
    /* VIR_DOMAIN_ABORT_JOB_POSTCOPY (1) needs postcopy, which comes with
     * migration. */
    if (!check_flags(flags, 0, "abort job", error))
        return FALSE;
    return qemu_driver_domain_abort_job(qconn_driver(conn), dom->uuid, error);
}

/* ---------------------------------------------------------------- migration */

/* The installed migration table, or NULL with NO_SUPPORT naming op. */
static const QemuMigrationOps *qops_migration(DriverConn *conn, const char *op, GError **error)
{
    const QemuMigrationOps *ops = qemu_driver_get_migration_ops();

    if (!ops)
        driver_no_support(conn, op, error);
    return ops;
}

static gboolean qops_migrate_begin3(DriverConn *conn, const DriverDomain *dom,
                                    const TypedParams *params, unsigned int flags,
                                    GBytes **cookie_out, char **xml_out, GError **error)
{
    QemuConn *qc = (QemuConn *)conn;
    const QemuMigrationOps *ops = qops_migration(conn, "migrate_begin3", error);

    return ops && ops->begin3(qc->drv, qc->conn_id, dom, params, flags, cookie_out, xml_out, error);
}

static gboolean qops_migrate_prepare3(DriverConn *conn, const TypedParams *params,
                                      GBytes *cookie_in, unsigned int flags, GBytes **cookie_out,
                                      char **uri_out, GError **error)
{
    QemuConn *qc = (QemuConn *)conn;
    const QemuMigrationOps *ops = qops_migration(conn, "migrate_prepare3", error);

    return ops && ops->prepare3(qc->drv, qc->conn_id, params, cookie_in, flags, cookie_out, uri_out,
                                error);
}

static gboolean qops_migrate_prepare_tunnel3(DriverConn *conn, DriverStream *stream,
                                             const TypedParams *params, GBytes *cookie_in,
                                             unsigned int flags, GBytes **cookie_out,
                                             GError **error)
{
    QemuConn *qc = (QemuConn *)conn;
    const QemuMigrationOps *ops = qops_migration(conn, "migrate_prepare_tunnel3", error);

    if (!ops)
        return FALSE;
    if (!ops->prepare_tunnel3)
        return driver_no_support(conn, "tunnelled migration", error);
    return ops->prepare_tunnel3(qc->drv, qc->conn_id, stream, params, cookie_in, flags, cookie_out,
                                error);
}

static gboolean qops_migrate_perform3(DriverConn *conn, const DriverDomain *dom,
                                      const char *dconnuri, const TypedParams *params,
                                      GBytes *cookie_in, unsigned int flags, GBytes **cookie_out,
                                      GError **error)
{
    QemuConn *qc = (QemuConn *)conn;
    const QemuMigrationOps *ops = qops_migration(conn, "migrate_perform3", error);

    return ops && ops->perform3(qc->drv, qc->conn_id, dom, dconnuri, params, cookie_in, flags,
                                cookie_out, error);
}

static gboolean qops_migrate_finish3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                     unsigned int flags, gboolean cancelled, DriverDomain *dom,
                                     GBytes **cookie_out, GError **error)
{
    QemuConn *qc = (QemuConn *)conn;
    const QemuMigrationOps *ops = qops_migration(conn, "migrate_finish3", error);

    return ops && ops->finish3(qc->drv, qc->conn_id, params, cookie_in, flags, cancelled, dom,
                               cookie_out, error);
}

static gboolean qops_migrate_confirm3(DriverConn *conn, const DriverDomain *dom,
                                      const TypedParams *params, GBytes *cookie_in,
                                      unsigned int flags, gboolean cancelled, GError **error)
{
    QemuConn *qc = (QemuConn *)conn;
    const QemuMigrationOps *ops = qops_migration(conn, "migrate_confirm3", error);

    return ops &&
           ops->confirm3(qc->drv, qc->conn_id, dom, params, cookie_in, flags, cancelled, error);
}

static gboolean qops_migrate_start_postcopy(DriverConn *conn, const DriverDomain *dom,
                                            unsigned int flags, GError **error)
{
    QemuConn *qc = (QemuConn *)conn;
    const QemuMigrationOps *ops = qops_migration(conn, "migrate_start_postcopy", error);

    if (ops && !ops->start_postcopy)
        return driver_no_support(conn, "migrate_start_postcopy", error);
    return ops && ops->start_postcopy(qc->drv, dom, flags, error);
}

static gboolean qops_migrate_set_max_speed(DriverConn *conn, const DriverDomain *dom,
                                           unsigned long long mib_per_s, unsigned int flags,
                                           GError **error)
{
    const QemuMigrationOps *ops = qemu_driver_get_migration_ops();

    if (!check_flags(flags, 0, "migrate set max speed", error))
        return FALSE;
    /* The driver keeps the value (and sets it in QEMU while a migration
     * runs); a hook of the migration code, when installed, takes over. */
    if (ops && ops->set_max_speed)
        return ops->set_max_speed(qconn_driver(conn), dom, mib_per_s, error);
    return qemu_driver_domain_migrate_set_max_speed(qconn_driver(conn), dom->uuid, mib_per_s,
                                                    error);
}

static gboolean qops_migrate_get_max_speed(DriverConn *conn, const DriverDomain *dom,
                                           unsigned long long *mib_per_s, unsigned int flags,
                                           GError **error)
{
    const QemuMigrationOps *ops = qemu_driver_get_migration_ops();

    if (!check_flags(flags, 0, "migrate get max speed", error))
        return FALSE;
    /* The driver keeps the value (and sets it in QEMU while a migration
     * runs); a hook of the migration code, when installed, takes over. */
    if (ops && ops->get_max_speed)
        return ops->get_max_speed(qconn_driver(conn), dom, mib_per_s, error);
    return qemu_driver_domain_migrate_get_max_speed(qconn_driver(conn), dom->uuid, mib_per_s,
                                                    error);
}

/* QEMU keeps the compression cache size itself: no migration hook. */
static gboolean qops_migrate_set_compression_cache(DriverConn *conn, const DriverDomain *dom,
                                                   unsigned long long bytes, unsigned int flags,
                                                   GError **error)
{
    if (!check_flags(flags, 0, "migrate set compression cache", error))
        return FALSE;
    return qemu_driver_domain_migrate_set_compression_cache(qconn_driver(conn), dom->uuid, bytes,
                                                            error);
}

static gboolean qops_migrate_get_compression_cache(DriverConn *conn, const DriverDomain *dom,
                                                   unsigned long long *bytes, unsigned int flags,
                                                   GError **error)
{
    if (!check_flags(flags, 0, "migrate get compression cache", error))
        return FALSE;
    return qemu_driver_domain_migrate_get_compression_cache(qconn_driver(conn), dom->uuid, bytes,
                                                            error);
}

static gboolean qops_migrate_set_max_downtime(DriverConn *conn, const DriverDomain *dom,
                                              unsigned long long ms, unsigned int flags,
                                              GError **error)
{
    const QemuMigrationOps *ops = qemu_driver_get_migration_ops();

    if (!check_flags(flags, 0, "migrate set max downtime", error))
        return FALSE;
    /* The driver keeps the value (and sets it in QEMU while a migration
     * runs); a hook of the migration code, when installed, takes over. */
    if (ops && ops->set_max_downtime)
        return ops->set_max_downtime(qconn_driver(conn), dom, ms, error);
    return qemu_driver_domain_migrate_set_max_downtime(qconn_driver(conn), dom->uuid, ms, error);
}

static gboolean qops_migrate_get_max_downtime(DriverConn *conn, const DriverDomain *dom,
                                              unsigned long long *ms, unsigned int flags,
                                              GError **error)
{
    const QemuMigrationOps *ops = qemu_driver_get_migration_ops();

    if (!check_flags(flags, 0, "migrate get max downtime", error))
        return FALSE;
    /* The driver keeps the value (and sets it in QEMU while a migration
     * runs); a hook of the migration code, when installed, takes over. */
    if (ops && ops->get_max_downtime)
        return ops->get_max_downtime(qconn_driver(conn), dom, ms, error);
    return qemu_driver_domain_migrate_get_max_downtime(qconn_driver(conn), dom->uuid, ms, error);
}

/* ---------------------------------------------------------------- events */

/* A DriverLifecycleCb or DriverEventCb behind the driver's QemuEventFunc. */
typedef struct {
    DriverConn *conn; /* borrowed: close drops the registrations first */
    DriverLifecycleCb lifecycle_cb; /* event_register_lifecycle */
    DriverEventCb cb; /* event_register_any */
    gpointer opaque;
    GDestroyNotify free_opaque;
} QemuOpsEventReg;

static void qops_event_reg_free(gpointer data)
{
    QemuOpsEventReg *reg = data;

    if (reg->free_opaque)
        reg->free_opaque(reg->opaque);
    g_free(reg);
}

static void qops_event_deliver(QemuDriver *drv, const QemuDomainRef *ref, const DriverEvent *ev,
                               gpointer opaque)
{
    QemuOpsEventReg *reg = opaque;
    DriverDomain dom = DRIVER_DOMAIN_INIT;

    dom.name = ref->name; /* borrowed for the call */
    memcpy(dom.uuid, ref->uuid, sizeof(dom.uuid));
    dom.id = ref->id;
    if (reg->lifecycle_cb)
        reg->lifecycle_cb(reg->conn, &dom, ev->event, ev->detail, reg->opaque);
    else
        reg->cb(reg->conn, &dom, ev, reg->opaque);
}

static int qops_event_register(DriverConn *conn, int event_id, const DriverDomain *dom,
                               QemuOpsEventReg *tmpl, GError **error)
{
    QemuDriver *drv = qconn_driver(conn);
    QemuOpsEventReg *reg;

    if (!tmpl->lifecycle_cb && !tmpl->cb) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "event callback is NULL");
        return -1;
    }
    if (!driver_event_id_check(event_id, error))
        return -1;
    /* A domain filter names an existing domain, as with libvirt. */
    if (dom) {
        QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

        if (!qemu_driver_lookup_by_uuid(drv, dom->uuid, &ref, error))
            return -1;
        qemu_domain_ref_clear(&ref);
    }
    reg = g_memdup2(tmpl, sizeof(*tmpl));
    reg->conn = conn;
    return qemu_driver_event_register(drv, conn, event_id, dom ? dom->uuid : NULL,
                                      qops_event_deliver, reg, qops_event_reg_free);
}

static int qops_event_register_lifecycle(DriverConn *conn, const DriverDomain *dom,
                                         DriverLifecycleCb cb, gpointer opaque,
                                         GDestroyNotify free_opaque, GError **error)
{
    QemuOpsEventReg tmpl = { .lifecycle_cb = cb, .opaque = opaque, .free_opaque = free_opaque };

    return qops_event_register(conn, DRIVER_EVENT_LIFECYCLE, dom, &tmpl, error);
}

static int qops_event_register_any(DriverConn *conn, int event_id, const DriverDomain *dom,
                                   DriverEventCb cb, gpointer opaque, GDestroyNotify free_opaque,
                                   GError **error)
{
    QemuOpsEventReg tmpl = { .cb = cb, .opaque = opaque, .free_opaque = free_opaque };

    return qops_event_register(conn, event_id, dom, &tmpl, error);
}

static gboolean qops_event_deregister(DriverConn *conn, int callback_id, GError **error)
{
    return qemu_driver_event_deregister(qconn_driver(conn), conn, callback_id, error);
}

const DriverOps qemu_driver_ops = {
    .name = "QEMU",
    .get_uri = qops_get_uri,
    .get_hostname = qops_get_hostname,
    .get_type = qops_get_type,
    .get_version = qops_get_version,
    .get_lib_version = qops_get_lib_version,
    .supports_feature = qops_supports_feature,
    .node_get_info = qops_node_get_info,
    .is_secure = qops_is_secure,
    .close = qops_close,
    .lookup_by_name = qops_lookup_by_name,
    .lookup_by_uuid = qops_lookup_by_uuid,
    .lookup_by_id = qops_lookup_by_id,
    .list_all_domains = qops_list_all_domains,
    .define_xml = qops_define_xml,
    .undefine = qops_undefine,
    .create = qops_create,
    .create_xml = qops_create_xml,
    .destroy = qops_destroy,
    .shutdown = qops_shutdown,
    .suspend = qops_suspend,
    .resume = qops_resume,
    .get_state = qops_get_state,
    .get_info = qops_get_info,
    .get_os_type = qops_get_os_type,
    .get_max_memory = qops_get_max_memory,
    .get_xml_desc = qops_get_xml_desc,
    .is_active = qops_is_active,
    .is_persistent = qops_is_persistent,
    .get_job_stats = qops_get_job_stats,
    .abort_job = qops_abort_job,
    .migrate_set_max_speed = qops_migrate_set_max_speed,
    .migrate_get_max_speed = qops_migrate_get_max_speed,
    .migrate_set_compression_cache = qops_migrate_set_compression_cache,
    .migrate_get_compression_cache = qops_migrate_get_compression_cache,
    .migrate_set_max_downtime = qops_migrate_set_max_downtime,
    .migrate_get_max_downtime = qops_migrate_get_max_downtime,
    .migrate_start_postcopy = qops_migrate_start_postcopy,
    .migrate_begin3 = qops_migrate_begin3,
    .migrate_prepare3 = qops_migrate_prepare3,
    .migrate_prepare_tunnel3 = qops_migrate_prepare_tunnel3,
    .migrate_perform3 = qops_migrate_perform3,
    .migrate_finish3 = qops_migrate_finish3,
    .migrate_confirm3 = qops_migrate_confirm3,
    .event_register_lifecycle = qops_event_register_lifecycle,
    .event_register_any = qops_event_register_any,
    .event_deregister = qops_event_deregister,
};

DriverConn *qemu_driver_conn_open(QemuDriver *drv, guint64 conn_id, const char *uri)
{
    QemuConn *qc = g_new0(QemuConn, 1);

    driver_conn_init(&qc->parent, &qemu_driver_ops, uri ? uri : "qemu:///system");
    qc->drv = drv;
    qc->conn_id = conn_id;
    return &qc->parent;
}
