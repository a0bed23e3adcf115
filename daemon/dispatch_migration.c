/*
 * dispatch_migration.c: the v3 migration phases with typed parameters
 * (BEGIN3_PARAMS ... CONFIRM3_PARAMS), passed to the driver's ops.
 *
 * The handlers only convert: typed parameters from the wire
 * (rpc_params_from_wire, at most REMOTE_DOMAIN_MIGRATE_PARAM_LIST_MAX),
 * cookies between XDR opaque arrays and GBytes (at most
 * REMOTE_MIGRATE_COOKIE_MAX), domains and URIs.  What a phase does is
 * src/migration's.  A driver without the op answers NO_SUPPORT, and
 * clients do not get that far: they ask feature 13 (MIGRATION_PARAMS)
 * first, which the driver answers.  PREPARE_TUNNEL3_PARAMS also opens the
 * call's stream (daemon_client_open_stream) for the driver to read.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DAEMON
#define FERRY_LOG_MODULE "daemon.dispatch"

#include "daemon/dispatch_priv.h"
#include "util/log.h"

/* A cookie from the wire; NULL when empty. */
static GBytes *cookie_from_wire(const char *val, u_int len)
{
    return len ? g_bytes_new(val, len) : NULL;
}

/* A cookie onto the wire (copied). */
static gboolean cookie_to_wire(GBytes *cookie, char **val, u_int *len, GError **error)
{
    gsize size = 0;
    const void *data = cookie ? g_bytes_get_data(cookie, &size) : NULL;

    *val = NULL;
    *len = 0;
    if (size > REMOTE_MIGRATE_COOKIE_MAX) {
        ferry_fail(error, FERRY_ERR_OVERFLOW,
                   "migration cookie of %zu bytes is over the maximum of %d", (size_t)size,
                   REMOTE_MIGRATE_COOKIE_MAX);
        return FALSE;
    }
    if (size) {
        *val = g_memdup2(data, size);
        *len = (u_int)size;
    }
    return TRUE;
}

static TypedParams *params_from_wire(const remote_typed_param *val, u_int len, GError **error)
{
    return rpc_params_from_wire(val, len, REMOTE_DOMAIN_MIGRATE_PARAM_LIST_MAX, error);
}

static gboolean
dispatch_domain_migrate_begin3_params(DaemonClient *client,
                                      const remote_domain_migrate_begin3_params_args *args,
                                      remote_domain_migrate_begin3_params_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) cookie_out = NULL;
    g_autofree char *xml = NULL;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_begin3, error);
    params = params_from_wire(args->params.params_val, args->params.params_len, error);
    if (!params)
        return FALSE;
    if (!conn->ops->migrate_begin3(conn, &dom, params, args->flags, &cookie_out, &xml, error))
        return FALSE;
    if (!cookie_to_wire(cookie_out, &ret->cookie_out.cookie_out_val,
                        &ret->cookie_out.cookie_out_len, error))
        return FALSE;
    ret->xml = xml ? g_steal_pointer(&xml) : g_strdup("");
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_migrate_begin3_params)

static gboolean dispatch_domain_migrate_prepare3_params(
    DaemonClient *client, const remote_domain_migrate_prepare3_params_args *args,
    remote_domain_migrate_prepare3_params_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) cookie_in = NULL;
    g_autoptr(GBytes) cookie_out = NULL;
    g_autofree char *uri = NULL;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_prepare3, error);
    params = params_from_wire(args->params.params_val, args->params.params_len, error);
    if (!params)
        return FALSE;
    cookie_in = cookie_from_wire(args->cookie_in.cookie_in_val, args->cookie_in.cookie_in_len);
    if (!conn->ops->migrate_prepare3(conn, params, cookie_in, args->flags, &cookie_out, &uri,
                                     error))
        return FALSE;
    if (!cookie_to_wire(cookie_out, &ret->cookie_out.cookie_out_val,
                        &ret->cookie_out.cookie_out_len, error))
        return FALSE;
    if (uri) {
        ret->uri_out = g_new0(char *, 1);
        *ret->uri_out = g_steal_pointer(&uri);
    }
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_migrate_prepare3_params)

/* The destination of a tunnelled migration: the call opens a stream on the
 * client's connection (keyed by its serial) before the reply, and the
 * driver reads the migration data from it; the client sends once the
 * reply came.  A failure aborts the stream. */
static gboolean dispatch_domain_migrate_prepare_tunnel3_params(
    DaemonClient *client, const remote_domain_migrate_prepare_tunnel3_params_args *args,
    remote_domain_migrate_prepare_tunnel3_params_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) cookie_in = NULL;
    g_autoptr(GBytes) cookie_out = NULL;
    g_autoptr(DriverStream) stream = NULL;
    g_autoptr(GError) err = NULL;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_prepare_tunnel3, error);
    params = params_from_wire(args->params.params_val, args->params.params_len, error);
    if (!params)
        return FALSE;
    cookie_in = cookie_from_wire(args->cookie_in.cookie_in_val, args->cookie_in.cookie_in_len);
    if (!(stream = daemon_client_open_stream(client, error)))
        return FALSE;
    if (!conn->ops->migrate_prepare_tunnel3(conn, stream, params, cookie_in, args->flags,
                                            &cookie_out, &err) ||
        !cookie_to_wire(cookie_out, &ret->cookie_out.cookie_out_val,
                        &ret->cookie_out.cookie_out_len, &err)) {
        driver_stream_abort(stream, err);
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_migrate_prepare_tunnel3_params)

static gboolean dispatch_domain_migrate_perform3_params(
    DaemonClient *client, const remote_domain_migrate_perform3_params_args *args,
    remote_domain_migrate_perform3_params_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) cookie_in = NULL;
    g_autoptr(GBytes) cookie_out = NULL;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_perform3, error);
    params = params_from_wire(args->params.params_val, args->params.params_len, error);
    if (!params)
        return FALSE;
    cookie_in = cookie_from_wire(args->cookie_in.cookie_in_val, args->cookie_in.cookie_in_len);
    if (!conn->ops->migrate_perform3(conn, &dom, args->dconnuri ? *args->dconnuri : NULL, params,
                                     cookie_in, args->flags, &cookie_out, error))
        return FALSE;
    return cookie_to_wire(cookie_out, &ret->cookie_out.cookie_out_val,
                          &ret->cookie_out.cookie_out_len, error);
}
DISPATCH_ENTRY(dispatch_domain_migrate_perform3_params)

static gboolean dispatch_domain_migrate_finish3_params(
    DaemonClient *client, const remote_domain_migrate_finish3_params_args *args,
    remote_domain_migrate_finish3_params_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) cookie_in = NULL;
    g_autoptr(GBytes) cookie_out = NULL;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_finish3, error);
    params = params_from_wire(args->params.params_val, args->params.params_len, error);
    if (!params)
        return FALSE;
    cookie_in = cookie_from_wire(args->cookie_in.cookie_in_val, args->cookie_in.cookie_in_len);
    /* FALSE: the guest did not start here, and the client gets no domain. */
    if (!conn->ops->migrate_finish3(conn, params, cookie_in, args->flags, args->cancelled != 0,
                                    &dom, &cookie_out, error))
        return FALSE;
    if (!cookie_to_wire(cookie_out, &ret->cookie_out.cookie_out_val,
                        &ret->cookie_out.cookie_out_len, error))
        return FALSE;
    dispatch_domain_to_wire(&dom, &ret->dom);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_migrate_finish3_params)

static gboolean
dispatch_domain_migrate_confirm3_params(DaemonClient *client,
                                        const remote_domain_migrate_confirm3_params_args *args,
                                        void *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) cookie_in = NULL;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, migrate_confirm3, error);
    params = params_from_wire(args->params.params_val, args->params.params_len, error);
    if (!params)
        return FALSE;
    cookie_in = cookie_from_wire(args->cookie_in.cookie_in_val, args->cookie_in.cookie_in_len);
    return conn->ops->migrate_confirm3(conn, &dom, params, cookie_in, args->flags,
                                       args->cancelled != 0, error);
}
DISPATCH_ENTRY(dispatch_domain_migrate_confirm3_params)
