/*
 * dispatch_job.c: job statistics, abort, and migration tuning.
 *
 * virsh's domjobinfo asks DOMAIN_GET_JOB_STATS and falls back to the old
 * DOMAIN_GET_JOB_INFO on NO_SUPPORT; both are answered here from the
 * driver's statistics (libvirt's VIR_DOMAIN_JOB_* typed parameter names).
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DAEMON
#define FERRY_LOG_MODULE "daemon.dispatch"

#include "daemon/dispatch_priv.h"
#include "util/log.h"

/* The driver's statistics of the domain's job. */
static gboolean job_stats(DaemonClient *client, const remote_nonnull_domain *wire,
                          unsigned int flags, int *type, TypedParams **params, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, wire, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, get_job_stats, error);
    return conn->ops->get_job_stats(conn, &dom, flags, type, params, error);
}

static gboolean dispatch_domain_get_job_stats(DaemonClient *client,
                                              const remote_domain_get_job_stats_args *args,
                                              remote_domain_get_job_stats_ret *ret, GError **error)
{
    g_autoptr(TypedParams) params = NULL;
    int type = 0;

    if (!job_stats(client, &args->dom, args->flags, &type, &params, error))
        return FALSE;
    if (!rpc_params_to_wire(params, REMOTE_DOMAIN_JOB_STATS_MAX, &ret->params.params_val,
                            &ret->params.params_len, error))
        return FALSE;
    ret->type = type;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_get_job_stats)

/* An unsigned statistic, 0 when the driver did not give it. */
static unsigned long long stat_ullong(const TypedParams *params, const char *name)
{
    unsigned long long value = 0;

    if (typed_params_get_ullong(params, name, &value, NULL) != 1)
        return 0;
    return value;
}

static gboolean dispatch_domain_get_job_info(DaemonClient *client,
                                             const remote_domain_get_job_info_args *args,
                                             remote_domain_get_job_info_ret *ret, GError **error)
{
    g_autoptr(TypedParams) params = NULL;
    int type = 0;

    if (!job_stats(client, &args->dom, 0, &type, &params, error))
        return FALSE;
    /* virDomainJobInfo: the old fixed set, filled from the statistics. */
    ret->type = type;
    ret->timeElapsed = stat_ullong(params, "time_elapsed");
    ret->timeRemaining = stat_ullong(params, "time_remaining");
    ret->dataTotal = stat_ullong(params, "data_total");
    ret->dataProcessed = stat_ullong(params, "data_processed");
    ret->dataRemaining = stat_ullong(params, "data_remaining");
    ret->memTotal = stat_ullong(params, "memory_total");
    ret->memProcessed = stat_ullong(params, "memory_processed");
    ret->memRemaining = stat_ullong(params, "memory_remaining");
    ret->fileTotal = stat_ullong(params, "disk_total");
    ret->fileProcessed = stat_ullong(params, "disk_processed");
    ret->fileRemaining = stat_ullong(params, "disk_remaining");
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_get_job_info)

static gboolean abort_job(DaemonClient *client, const remote_nonnull_domain *wire,
                          unsigned int flags, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, wire, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, abort_job, error);
    if (!conn->ops->abort_job(conn, &dom, flags, error))
        return FALSE;
    FLOG_INFO("client %" G_GUINT64_FORMAT ": aborted the job of domain '%s'",
              daemon_client_get_id(client), dom.name);
    return TRUE;
}

static gboolean dispatch_domain_abort_job(DaemonClient *client,
                                          const remote_domain_abort_job_args *args, void *ret,
                                          GError **error)
{
    return abort_job(client, &args->dom, 0, error);
}
DISPATCH_ENTRY(dispatch_domain_abort_job)

static gboolean dispatch_domain_abort_job_flags(DaemonClient *client,
                                                const remote_domain_abort_job_flags_args *args,
                                                void *ret, GError **error)
{
    return abort_job(client, &args->dom, args->flags, error);
}
DISPATCH_ENTRY(dispatch_domain_abort_job_flags)

/* ---------------------------------------------------------------- tuning */

static gboolean
dispatch_domain_migrate_set_max_speed(DaemonClient *client,
                                      const remote_domain_migrate_set_max_speed_args *args,
                                      void *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_set_max_speed, error);
    return conn->ops->migrate_set_max_speed(conn, &dom, args->bandwidth, args->flags, error);
}
DISPATCH_ENTRY(dispatch_domain_migrate_set_max_speed)

static gboolean
dispatch_domain_migrate_get_max_speed(DaemonClient *client,
                                      const remote_domain_migrate_get_max_speed_args *args,
                                      remote_domain_migrate_get_max_speed_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    unsigned long long bandwidth = 0;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_get_max_speed, error);
    if (!conn->ops->migrate_get_max_speed(conn, &dom, &bandwidth, args->flags, error))
        return FALSE;
    ret->bandwidth = bandwidth;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_migrate_get_max_speed)

static gboolean
dispatch_domain_migrate_set_max_downtime(DaemonClient *client,
                                         const remote_domain_migrate_set_max_downtime_args *args,
                                         void *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_set_max_downtime, error);
    return conn->ops->migrate_set_max_downtime(conn, &dom, args->downtime, args->flags, error);
}
DISPATCH_ENTRY(dispatch_domain_migrate_set_max_downtime)

static gboolean dispatch_domain_migrate_get_max_downtime(
    DaemonClient *client, const remote_domain_migrate_get_max_downtime_args *args,
    remote_domain_migrate_get_max_downtime_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    unsigned long long downtime = 0;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_get_max_downtime, error);
    if (!conn->ops->migrate_get_max_downtime(conn, &dom, &downtime, args->flags, error))
        return FALSE;
    ret->downtime = downtime;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_migrate_get_max_downtime)

static gboolean dispatch_domain_migrate_set_compression_cache(
    DaemonClient *client, const remote_domain_migrate_set_compression_cache_args *args, void *ret,
    GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_set_compression_cache, error);
    return conn->ops->migrate_set_compression_cache(conn, &dom, args->cacheSize, args->flags,
                                                    error);
}
DISPATCH_ENTRY(dispatch_domain_migrate_set_compression_cache)

static gboolean dispatch_domain_migrate_get_compression_cache(
    DaemonClient *client, const remote_domain_migrate_get_compression_cache_args *args,
    remote_domain_migrate_get_compression_cache_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    unsigned long long bytes = 0;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_get_compression_cache, error);
    if (!conn->ops->migrate_get_compression_cache(conn, &dom, &bytes, args->flags, error))
        return FALSE;
    ret->cacheSize = bytes;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_migrate_get_compression_cache)

static gboolean
dispatch_domain_migrate_start_post_copy(DaemonClient *client,
                                        const remote_domain_migrate_start_post_copy_args *args,
                                        void *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_start_postcopy, error);
    return conn->ops->migrate_start_postcopy(conn, &dom, args->flags, error);
}
DISPATCH_ENTRY(dispatch_domain_migrate_start_post_copy)
