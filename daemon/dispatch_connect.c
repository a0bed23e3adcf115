/*
 * dispatch_connect.c: the handshake and the connection's own procedures.
 *
 * What virsh sends while connecting (../shared/wire.md section 3):
 * AUTH_LIST, CONNECT_SUPPORTS_FEATURE(10) before CONNECT_OPEN, then
 * features 14 and 15, CONNECT_REGISTER_CLOSE_CALLBACK; on exit
 * CONNECT_UNREGISTER_CLOSE_CALLBACK and CONNECT_CLOSE.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DAEMON
#define FERRY_LOG_MODULE "daemon.dispatch"

#include "daemon/dispatch_priv.h"
#include "driver/driver_uri.h"
#include "driver/qemu_driver_ops.h"
#include "util/log.h"

/* virConnectFlags */
#define CONNECT_RO (1 << 0)
#define CONNECT_NO_ALIASES (1 << 1)

/* The only URI ferryd serves. */
#define DISPATCH_URI "qemu:///system"

/* TRUE when name is what a client sends for qemu:///system: the URI with
 * transport, host and the client's own query parameters removed. */
static gboolean connect_name_check(const char *name, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverUri) uri = driver_uri_parse(name, &err);

    if (!uri) {
        ferry_fail(error, FERRY_ERR_NO_CONNECT, "ferryd serves only %s, not '%s': %s", DISPATCH_URI,
                   name, err->message);
        return FALSE;
    }
    if (uri->path != DRIVER_URI_PATH_SYSTEM || uri->host) {
        ferry_fail(error, FERRY_ERR_NO_CONNECT, "ferryd serves only %s, not '%s'", DISPATCH_URI,
                   name);
        return FALSE;
    }
    return TRUE;
}

static gboolean dispatch_connect_open(DaemonClient *client, const remote_connect_open_args *args,
                                      void *ret, GError **error)
{
    const char *name = args->name ? *args->name : NULL;
    DriverConn *conn;

    if (args->flags & ~(CONNECT_RO | CONNECT_NO_ALIASES)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "open: unsupported flags 0x%x",
                   args->flags & ~(CONNECT_RO | CONNECT_NO_ALIASES));
        return FALSE;
    }
    /* No name: the client probes for the default, which is ours. */
    if (name && *name && !connect_name_check(name, error))
        return FALSE;
    conn = qemu_driver_conn_open(daemon_client_get_driver(client), daemon_client_get_id(client),
                                 DISPATCH_URI);
    return daemon_client_open(client, conn, args->flags & CONNECT_RO, error);
}
DISPATCH_ENTRY(dispatch_connect_open)

static gboolean dispatch_connect_close(DaemonClient *client, const void *args, void *ret,
                                       GError **error)
{
    daemon_client_close(client);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_close)

static gboolean dispatch_auth_list(DaemonClient *client, const void *args,
                                   remote_auth_list_ret *ret, GError **error)
{
    /* No authentication on any listener (TLS checks the certificate
     * during the handshake): one entry, NONE, as libvirtd answers with
     * auth_* = "none". */
    ret->types.types_len = 1;
    ret->types.types_val = g_new0(remote_auth_type, 1);
    ret->types.types_val[0] = REMOTE_AUTH_NONE;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_auth_list)

static gboolean dispatch_connect_supports_feature(DaemonClient *client,
                                                  const remote_connect_supports_feature_args *args,
                                                  remote_connect_supports_feature_ret *ret,
                                                  GError **error)
{
    g_autoptr(DriverConn) conn = NULL;
    gboolean supported = FALSE;

    switch (args->feature) {
    case DRIVER_FEATURE_PROGRAM_KEEPALIVE: {
        /* Asked before CONNECT_OPEN: a client that hears yes pings us, and
         * we ping it (libvirtd starts its side here too). */
        g_autoptr(GError) err = NULL;

        if (!daemon_client_start_keepalive(client, &err))
            FLOG_WARN("client %" G_GUINT64_FORMAT ": keepalive not started: %s",
                      daemon_client_get_id(client), err->message);
        ret->supported = 1;
        return TRUE;
    }
    case DRIVER_FEATURE_REMOTE_EVENT_CALLBACK:
    case DRIVER_FEATURE_REMOTE_CLOSE_CALLBACK:
    case DRIVER_FEATURE_TYPED_PARAM_STRING:
    case DRIVER_FEATURE_XML_MIGRATABLE:
        ret->supported = 1;
        return TRUE;
    default:
        break;
    }

    /* The rest (migration) is the driver's to say.  Before CONNECT_OPEN a
     * connection of our own asks it: it holds no domains, so dropping it
     * destroys nothing. */
    conn = daemon_client_is_open(client) ? daemon_client_get_conn(client, NULL) : NULL;
    if (!conn)
        conn = qemu_driver_conn_open(daemon_client_get_driver(client), daemon_client_get_id(client),
                                     DISPATCH_URI);
    if (!conn->ops->supports_feature)
        return driver_no_support(conn, "feature checks", error);
    if (!conn->ops->supports_feature(conn, args->feature, &supported, error))
        return FALSE;
    ret->supported = supported ? 1 : 0;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_supports_feature)

static gboolean dispatch_connect_get_uri(DaemonClient *client, const void *args,
                                         remote_connect_get_uri_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);

    if (!conn)
        return FALSE;
    if (!conn->ops->get_uri)
        return driver_no_support(conn, "get_uri", error);
    ret->uri = conn->ops->get_uri(conn, error);
    return ret->uri != NULL;
}
DISPATCH_ENTRY(dispatch_connect_get_uri)

static gboolean dispatch_connect_get_hostname(DaemonClient *client, const void *args,
                                              remote_connect_get_hostname_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);

    if (!conn)
        return FALSE;
    if (!conn->ops->get_hostname)
        return driver_no_support(conn, "get_hostname", error);
    ret->hostname = conn->ops->get_hostname(conn, error);
    return ret->hostname != NULL;
}
DISPATCH_ENTRY(dispatch_connect_get_hostname)

static gboolean dispatch_node_get_info(DaemonClient *client, const void *args,
                                       remote_node_get_info_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    HostInfo info = { 0 };

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, node_get_info, error);
    if (!conn->ops->node_get_info(conn, &info, error))
        return FALSE;
    G_STATIC_ASSERT(sizeof(ret->model) == sizeof(info.model));
    memcpy(ret->model, info.model, sizeof(ret->model)); /* NUL-terminated */
    ret->memory = info.memory_kib;
    /* ints on the wire; hostinfo keeps them far below G_MAXINT. */
    ret->cpus = (int)info.cpus;
    ret->mhz = (int)info.mhz;
    ret->nodes = (int)info.nodes;
    ret->sockets = (int)info.sockets;
    ret->cores = (int)info.cores;
    ret->threads = (int)info.threads;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_node_get_info)

static gboolean dispatch_connect_is_secure(DaemonClient *client, const void *args,
                                           remote_connect_is_secure_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    gboolean secure = FALSE;

    if (!conn)
        return FALSE;
    /* The client's transport, and what lies behind us (the local driver:
     * nothing). */
    DISPATCH_NEED_OP(conn, is_secure, error);
    if (!conn->ops->is_secure(conn, &secure, error))
        return FALSE;
    ret->secure = secure && daemon_client_is_secure(client) ? 1 : 0;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_is_secure)

static gboolean dispatch_connect_get_type(DaemonClient *client, const void *args,
                                          remote_connect_get_type_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);

    if (!conn)
        return FALSE;
    if (!conn->ops->get_type)
        return driver_no_support(conn, "get_type", error);
    ret->type = conn->ops->get_type(conn, error);
    return ret->type != NULL;
}
DISPATCH_ENTRY(dispatch_connect_get_type)

static gboolean dispatch_connect_get_version(DaemonClient *client, const void *args,
                                             remote_connect_get_version_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    unsigned long long version = 0;

    if (!conn)
        return FALSE;
    if (!conn->ops->get_version)
        return driver_no_support(conn, "get_version", error);
    if (!conn->ops->get_version(conn, &version, error))
        return FALSE;
    ret->hv_ver = version;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_get_version)

static gboolean dispatch_connect_get_lib_version(DaemonClient *client, const void *args,
                                                 remote_connect_get_lib_version_ret *ret,
                                                 GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    unsigned long long version = 0;

    if (!conn)
        return FALSE;
    if (!conn->ops->get_lib_version)
        return driver_no_support(conn, "get_lib_version", error);
    if (!conn->ops->get_lib_version(conn, &version, error))
        return FALSE;
    ret->lib_ver = version;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_get_lib_version)

static gboolean dispatch_node_get_security_model(DaemonClient *client, const void *args,
                                                 remote_node_get_security_model_ret *ret,
                                                 GError **error)
{
    /* No security driver: an empty model and DOI (zero-length arrays),
     * which virsh's dominfo takes as "none" and does not ask for labels. */
    ret->model.model_len = 0;
    ret->model.model_val = NULL;
    ret->doi.doi_len = 0;
    ret->doi.doi_val = NULL;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_node_get_security_model)

static gboolean dispatch_connect_register_close_callback(DaemonClient *client, const void *args,
                                                         void *ret, GError **error)
{
    /* The local driver's connection never breaks under the client, so
     * CONNECT_EVENT_CONNECTION_CLOSED is never sent; the registration is
     * kept for when a driver that can break is behind us. */
    daemon_client_set_close_callback(client, TRUE);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_register_close_callback)

static gboolean dispatch_connect_unregister_close_callback(DaemonClient *client, const void *args,
                                                           void *ret, GError **error)
{
    daemon_client_set_close_callback(client, FALSE);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_unregister_close_callback)

static gboolean dispatch_connect_domain_event_callback_register_any(
    DaemonClient *client, const remote_connect_domain_event_callback_register_any_args *args,
    remote_connect_domain_event_callback_register_any_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    int id;

    if (args->dom && !dispatch_domain_from_wire(args->dom, &dom, error))
        return FALSE;
    id = daemon_client_event_register(client, args->eventID, args->dom ? &dom : NULL, error);
    if (id < 0)
        return FALSE;
    ret->callbackID = id;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_domain_event_callback_register_any)

static gboolean dispatch_connect_domain_event_callback_deregister_any(
    DaemonClient *client, const remote_connect_domain_event_callback_deregister_any_args *args,
    void *ret, GError **error)
{
    return daemon_client_event_deregister(client, args->callbackID, error);
}
DISPATCH_ENTRY(dispatch_connect_domain_event_callback_deregister_any)
