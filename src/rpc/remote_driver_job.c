/*
 * remote_driver_job.c: the remote driver's jobs (statistics with libvirt's
 * fallback to GET_JOB_INFO, abort), migration tuning and the v3
 * migration phases with typed parameters (PREPARE_TUNNEL3_PARAMS opens an
 * RPC stream that the caller sends the migration data into).  Cookies are
 * opaque bytes here: only the two daemons read them.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.remote"

#include "rpc/remote_driver_priv.h"
#include "rpc/remote_procs.h"
#include "rpc/stream_driver.h"
#include "util/error.h"
#include "util/log.h"

/* ---------------------------------------------------------------- jobs */

/* GET_JOB_INFO's fields as job statistics (libvirt's names). */
static const struct {
    const char *name;
    size_t offset;
} remote_job_info_fields[] = {
    { "time_elapsed", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, timeElapsed) },
    { "time_remaining", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, timeRemaining) },
    { "data_total", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, dataTotal) },
    { "data_processed", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, dataProcessed) },
    { "data_remaining", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, dataRemaining) },
    { "memory_total", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, memTotal) },
    { "memory_processed", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, memProcessed) },
    { "memory_remaining", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, memRemaining) },
    { "disk_total", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, fileTotal) },
    { "disk_processed", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, fileProcessed) },
    { "disk_remaining", G_STRUCT_OFFSET(remote_domain_get_job_info_ret, fileRemaining) },
};

/* The old call, for a server without GET_JOB_STATS. */
static gboolean remote_get_job_info(DriverConn *conn, const DriverDomain *dom, int *type,
                                    TypedParams **params, GError **error)
{
    remote_domain_get_job_info_args args;
    remote_domain_get_job_info_ret ret = { 0 };
    g_autoptr(TypedParams) list = typed_params_new();

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_GET_JOB_INFO, &args, &ret, error))
        return FALSE;
    if (ret.type != DRIVER_JOB_NONE) {
        for (gsize i = 0; i < G_N_ELEMENTS(remote_job_info_fields); i++) {
            const u_quad_t *v =
                (const u_quad_t *)((const char *)&ret + remote_job_info_fields[i].offset);

            if (typed_params_add_ullong(list, remote_job_info_fields[i].name, *v, error) < 0)
                return FALSE;
        }
    }
    *type = ret.type;
    *params = g_steal_pointer(&list);
    return TRUE;
}

gboolean remote_get_job_stats(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                              int *type, TypedParams **params, GError **error)
{
    remote_domain_get_job_stats_args args = { .flags = flags };
    remote_domain_get_job_stats_ret ret = { 0 };
    g_autoptr(GError) err = NULL;
    TypedParams *list;

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_GET_JOB_STATS, &args, &ret, &err)) {
        /* As virsh: an older server only knows GET_JOB_INFO, which has no
         * completed job to report. */
        if (ferry_error_is(err, FERRY_ERR_NO_SUPPORT) && !(flags & DRIVER_JOB_STATS_COMPLETED)) {
            FLOG_DEBUG("'%s': %s; trying GET_JOB_INFO", remote_conn(conn)->uri, err->message);
            return remote_get_job_info(conn, dom, type, params, error);
        }
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    list = rpc_params_from_wire(ret.params.params_val, ret.params.params_len,
                                REMOTE_DOMAIN_JOB_STATS_MAX, error);
    *type = ret.type;
    remote_ret_free(REMOTE_PROC_DOMAIN_GET_JOB_STATS, &ret);
    if (!list)
        return FALSE;
    *params = list;
    return TRUE;
}

gboolean remote_abort_job(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                          GError **error)
{
    if (flags) {
        remote_domain_abort_job_flags_args args = { .flags = flags };

        remote_dom_borrow(&args.dom, dom);
        return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_ABORT_JOB_FLAGS, &args, NULL,
                           error);
    }
    remote_domain_abort_job_args args;

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_ABORT_JOB, &args, NULL, error);
}

/* ---------------------------------------------------------------- migration tuning */

gboolean remote_migrate_set_max_speed(DriverConn *conn, const DriverDomain *dom,
                                      unsigned long long mib_per_s, unsigned int flags,
                                      GError **error)
{
    remote_domain_migrate_set_max_speed_args args = { .bandwidth = mib_per_s, .flags = flags };

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_SET_MAX_SPEED, &args, NULL,
                       error);
}

gboolean remote_migrate_get_max_speed(DriverConn *conn, const DriverDomain *dom,
                                      unsigned long long *mib_per_s, unsigned int flags,
                                      GError **error)
{
    remote_domain_migrate_get_max_speed_args args = { .flags = flags };
    remote_domain_migrate_get_max_speed_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_GET_MAX_SPEED, &args, &ret,
                     error))
        return FALSE;
    *mib_per_s = ret.bandwidth;
    return TRUE;
}

gboolean remote_migrate_set_compression_cache(DriverConn *conn, const DriverDomain *dom,
                                              unsigned long long bytes, unsigned int flags,
                                              GError **error)
{
    remote_domain_migrate_set_compression_cache_args args = { .cacheSize = bytes, .flags = flags };

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_SET_COMPRESSION_CACHE, &args,
                       NULL, error);
}

gboolean remote_migrate_get_compression_cache(DriverConn *conn, const DriverDomain *dom,
                                              unsigned long long *bytes, unsigned int flags,
                                              GError **error)
{
    remote_domain_migrate_get_compression_cache_args args = { .flags = flags };
    remote_domain_migrate_get_compression_cache_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_GET_COMPRESSION_CACHE, &args,
                     &ret, error))
        return FALSE;
    *bytes = ret.cacheSize;
    return TRUE;
}

gboolean remote_migrate_set_max_downtime(DriverConn *conn, const DriverDomain *dom,
                                         unsigned long long ms, unsigned int flags, GError **error)
{
    remote_domain_migrate_set_max_downtime_args args = { .downtime = ms, .flags = flags };

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_SET_MAX_DOWNTIME, &args, NULL,
                       error);
}

gboolean remote_migrate_get_max_downtime(DriverConn *conn, const DriverDomain *dom,
                                         unsigned long long *ms, unsigned int flags, GError **error)
{
    remote_domain_migrate_get_max_downtime_args args = { .flags = flags };
    remote_domain_migrate_get_max_downtime_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_GET_MAX_DOWNTIME, &args, &ret,
                     error))
        return FALSE;
    *ms = ret.downtime;
    return TRUE;
}

gboolean remote_migrate_start_postcopy(DriverConn *conn, const DriverDomain *dom,
                                       unsigned int flags, GError **error)
{
    remote_domain_migrate_start_post_copy_args args = { .flags = flags };

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_START_POST_COPY, &args, NULL,
                       error);
}

/* ---------------------------------------------------------------- migration v3 */

/* Typed parameters on the wire, freed on scope exit. */
typedef struct {
    remote_typed_param *val;
    u_int len;
} RemoteParams;

static void remote_params_clear(RemoteParams *p)
{
    rpc_params_wire_free(p->val, p->len);
    p->val = NULL;
    p->len = 0;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RemoteParams, remote_params_clear)

static gboolean remote_params_set(RemoteParams *p, const TypedParams *params, GError **error)
{
    if (!params)
        return TRUE;
    return rpc_params_to_wire(params, REMOTE_DOMAIN_MIGRATE_PARAM_LIST_MAX, &p->val, &p->len,
                              error);
}

/* The cookie's bytes, borrowed for the call. */
static void remote_cookie_borrow(GBytes *cookie, u_int *len, char **val)
{
    gsize n = 0;
    const void *data = cookie ? g_bytes_get_data(cookie, &n) : NULL;

    *len = (u_int)n;
    *val = (char *)data;
}

/* A cookie received: NULL when empty. */
static GBytes *remote_cookie_take(u_int len, const char *val)
{
    return len ? g_bytes_new(val, len) : NULL;
}

static gboolean remote_cookie_check(GBytes *cookie, GError **error)
{
    if (cookie && g_bytes_get_size(cookie) > REMOTE_MIGRATE_COOKIE_MAX) {
        ferry_fail(error, FERRY_ERR_OVERFLOW, "migration cookie of %zu bytes is over the limit %d",
                   g_bytes_get_size(cookie), REMOTE_MIGRATE_COOKIE_MAX);
        return FALSE;
    }
    return TRUE;
}

gboolean remote_migrate_begin3(DriverConn *conn, const DriverDomain *dom, const TypedParams *params,
                               unsigned int flags, GBytes **cookie_out, char **xml_out,
                               GError **error)
{
    remote_domain_migrate_begin3_params_args args = { .flags = flags };
    remote_domain_migrate_begin3_params_ret ret = { 0 };
    g_auto(RemoteParams) wp = { 0 };

    if (!remote_params_set(&wp, params, error))
        return FALSE;
    remote_dom_borrow(&args.dom, dom);
    args.params.params_val = wp.val;
    args.params.params_len = wp.len;
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS, &args, &ret,
                     error))
        return FALSE;
    *cookie_out = remote_cookie_take(ret.cookie_out.cookie_out_len, ret.cookie_out.cookie_out_val);
    *xml_out = g_strdup(ret.xml);
    remote_ret_free(REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS, &ret);
    return TRUE;
}

gboolean remote_migrate_prepare3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                 unsigned int flags, GBytes **cookie_out, char **uri_out,
                                 GError **error)
{
    remote_domain_migrate_prepare3_params_args args = { .flags = flags };
    remote_domain_migrate_prepare3_params_ret ret = { 0 };
    g_auto(RemoteParams) wp = { 0 };

    if (!remote_cookie_check(cookie_in, error) || !remote_params_set(&wp, params, error))
        return FALSE;
    args.params.params_val = wp.val;
    args.params.params_len = wp.len;
    remote_cookie_borrow(cookie_in, &args.cookie_in.cookie_in_len, &args.cookie_in.cookie_in_val);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS, &args, &ret,
                     error))
        return FALSE;
    *cookie_out = remote_cookie_take(ret.cookie_out.cookie_out_len, ret.cookie_out.cookie_out_val);
    *uri_out = ret.uri_out ? g_strdup(*ret.uri_out) : NULL;
    remote_ret_free(REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS, &ret);
    return TRUE;
}

gboolean remote_migrate_prepare_tunnel3(DriverConn *conn, DriverStream *stream,
                                        const TypedParams *params, GBytes *cookie_in,
                                        unsigned int flags, GBytes **cookie_out, GError **error)
{
    const int proc = REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS;
    const RpcProcedure *p = rpc_program_find_proc(&rpc_remote_program, proc);
    RemoteConn *rc = remote_conn(conn);
    remote_domain_migrate_prepare_tunnel3_params_args args = { .flags = flags };
    remote_domain_migrate_prepare_tunnel3_params_ret ret = { 0 };
    g_auto(RemoteParams) wp = { 0 };
    g_autoptr(RpcStream) st = NULL;

    if (driver_stream_is_open(stream)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "'%s': prepare (tunnelled): the stream is open already", rc->uri);
        return FALSE;
    }
    if (!remote_cookie_check(cookie_in, error) || !remote_params_set(&wp, params, error))
        return FALSE;
    args.params.params_val = wp.val;
    args.params.params_len = wp.len;
    remote_cookie_borrow(cookie_in, &args.cookie_in.cookie_in_len, &args.cookie_in.cookie_in_val);
    /* the stream is the call's: its serial keys the data the call opens */
    st = rpc_client_stream_new(rc->client, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, proc);
    if (!rpc_client_call_stream(rc->client, st, p->args, &args, p->ret, &ret, -1, error))
        return FALSE;
    *cookie_out = remote_cookie_take(ret.cookie_out.cookie_out_len, ret.cookie_out.cookie_out_val);
    remote_ret_free(proc, &ret);
    if (!rpc_stream_driver_open(stream, st, error)) {
        rpc_stream_abort(st, NULL);
        g_clear_pointer(cookie_out, g_bytes_unref);
        return FALSE;
    }
    return TRUE;
}

gboolean remote_migrate_perform3(DriverConn *conn, const DriverDomain *dom, const char *dconnuri,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 GBytes **cookie_out, GError **error)
{
    remote_domain_migrate_perform3_params_args args = { .flags = flags };
    remote_domain_migrate_perform3_params_ret ret = { 0 };
    g_auto(RemoteParams) wp = { 0 };
    char *duri = (char *)dconnuri;

    if (!remote_cookie_check(cookie_in, error) || !remote_params_set(&wp, params, error))
        return FALSE;
    remote_dom_borrow(&args.dom, dom);
    args.dconnuri = dconnuri ? &duri : NULL;
    args.params.params_val = wp.val;
    args.params.params_len = wp.len;
    remote_cookie_borrow(cookie_in, &args.cookie_in.cookie_in_len, &args.cookie_in.cookie_in_val);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS, &args, &ret,
                     error))
        return FALSE;
    *cookie_out = remote_cookie_take(ret.cookie_out.cookie_out_len, ret.cookie_out.cookie_out_val);
    remote_ret_free(REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS, &ret);
    return TRUE;
}

gboolean remote_migrate_finish3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                unsigned int flags, gboolean cancelled, DriverDomain *dom,
                                GBytes **cookie_out, GError **error)
{
    remote_domain_migrate_finish3_params_args args = { .flags = flags, .cancelled = !!cancelled };
    remote_domain_migrate_finish3_params_ret ret = { 0 };
    g_auto(RemoteParams) wp = { 0 };
    gboolean ok;

    if (!remote_cookie_check(cookie_in, error) || !remote_params_set(&wp, params, error))
        return FALSE;
    args.params.params_val = wp.val;
    args.params.params_len = wp.len;
    remote_cookie_borrow(cookie_in, &args.cookie_in.cookie_in_len, &args.cookie_in.cookie_in_val);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_FINISH3_PARAMS, &args, &ret,
                     error))
        return FALSE;
    ok = remote_dom_from_wire(dom, &ret.dom, error);
    if (ok)
        *cookie_out =
            remote_cookie_take(ret.cookie_out.cookie_out_len, ret.cookie_out.cookie_out_val);
    remote_ret_free(REMOTE_PROC_DOMAIN_MIGRATE_FINISH3_PARAMS, &ret);
    return ok;
}

gboolean remote_migrate_confirm3(DriverConn *conn, const DriverDomain *dom,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 gboolean cancelled, GError **error)
{
    remote_domain_migrate_confirm3_params_args args = { .flags = flags, .cancelled = !!cancelled };
    g_auto(RemoteParams) wp = { 0 };

    if (!remote_cookie_check(cookie_in, error) || !remote_params_set(&wp, params, error))
        return FALSE;
    remote_dom_borrow(&args.dom, dom);
    args.params.params_val = wp.val;
    args.params.params_len = wp.len;
    remote_cookie_borrow(cookie_in, &args.cookie_in.cookie_in_len, &args.cookie_in.cookie_in_val);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_MIGRATE_CONFIRM3_PARAMS, &args, NULL,
                       error);
}
