/*
 * remote_driver.c: the remote driver's connection: transports, the
 * handshake libvirt's client does, the connection's own ops, lifecycle
 * events, close, and the registration under "remote".
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.remote"

#include <string.h>
#include <unistd.h>

#include "driver/driver_registry.h"
#include "rpc/remote_driver_priv.h"
#include "rpc/remote_procs.h"
#include "util/error.h"
#include "util/log.h"

/* VIR_CONNECT_RO */
#define REMOTE_CONNECT_RO 1

/* What CONNECT_OPEN names: the URI without transport and host. */
#define REMOTE_OPEN_NAME "qemu:///system"

/* ---------------------------------------------------------------- calls */

gboolean remote_call(RemoteConn *rc, int proc, const void *args, void *ret, GError **error)
{
    const RpcProcedure *p = rpc_program_find_proc(&rpc_remote_program, proc);

    if (!p) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "BUG: remote procedure %d is not in the table", proc);
        return FALSE;
    }
    return rpc_client_call(rc->client, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, proc, p->args, args,
                           p->ret, ret, -1, error);
}

void remote_ret_free(int proc, void *ret)
{
    const RpcProcedure *p = rpc_program_find_proc(&rpc_remote_program, proc);

    if (p && p->ret && p->ret_size)
        xdr_free(p->ret, ret);
}

void remote_dom_borrow(remote_nonnull_domain *w, const DriverDomain *dom)
{
    /* XDR's encoder only reads the string. */
    w->name = (char *)(dom->name ? dom->name : "");
    memcpy(w->uuid, dom->uuid, sizeof(w->uuid));
    w->id = dom->id;
}

gboolean remote_dom_from_wire(DriverDomain *dom, const remote_nonnull_domain *w, GError **error)
{
    if (!rpc_nonnull_domain_check(w, error))
        return FALSE;
    g_free(dom->name);
    dom->name = g_strdup(w->name);
    memcpy(dom->uuid, w->uuid, sizeof(dom->uuid));
    dom->id = w->id;
    return TRUE;
}

/* A feature probe; FALSE only when the call failed.  The answers are
 * cached per connection: a daemon's features do not change while a
 * connection lasts, and the v3 sequence asks several of them on every
 * migration.  Only features 0..63 are cached (virDrvFeature numbers are
 * small); the others are asked each time.  Once the connection is closed
 * the call goes out anyway and fails as every call does then: a caller may
 * use a probe to see whether the daemon is still there (the peer-to-peer
 * watchdog does). */
static gboolean remote_feature(RemoteConn *rc, int feature, gboolean *supported, GError **error)
{
    remote_connect_supports_feature_args args = { .feature = feature };
    remote_connect_supports_feature_ret ret = { 0 };
    gboolean cacheable = feature >= 0 && feature < REMOTE_FEATURE_CACHE_MAX;
    guint64 bit = cacheable ? G_GUINT64_CONSTANT(1) << feature : 0;
    gboolean known;

    g_mutex_lock(&rc->lock);
    known = (rc->features_known & bit) != 0;
    if (known)
        *supported = (rc->features_supported & bit) != 0;
    g_mutex_unlock(&rc->lock);
    if (known && rpc_client_is_open(rc->client))
        return TRUE;

    if (!remote_call(rc, REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, &args, &ret, error))
        return FALSE;
    *supported = ret.supported != 0;
    g_mutex_lock(&rc->lock);
    rc->features_known |= bit;
    if (*supported)
        rc->features_supported |= bit;
    g_mutex_unlock(&rc->lock);
    return TRUE;
}

/* ---------------------------------------------------------------- transports */

/* A client TLS context with the files libvirt would use (remote_driver.h). */
static TlsContext *remote_tls_context(const DriverUri *uri, GError **error)
{
    g_auto(GStrv) files = g_new0(char *, TLS_FILE_LAST + 1);
    TlsContextConfig cfg = { 0 };

    for (int i = 0; i < TLS_FILE_LAST; i++) {
        if (uri->pkipath)
            files[i] = tls_file_path(TLS_ROLE_CLIENT, (TlsFile)i, uri->pkipath);
        else if (geteuid() != 0)
            files[i] = tls_client_file_path((TlsFile)i, g_get_home_dir());
        else
            files[i] = tls_file_path(TLS_ROLE_CLIENT, (TlsFile)i, NULL);
    }
    cfg.ca_file = files[TLS_FILE_CA];
    /* Without a certificate of our own we offer none; the server decides. */
    if (access(files[TLS_FILE_CERT], F_OK) == 0 || access(files[TLS_FILE_KEY], F_OK) == 0) {
        cfg.cert_file = files[TLS_FILE_CERT];
        cfg.key_file = files[TLS_FILE_KEY];
    } else {
        FLOG_DEBUG("no client certificate at '%s': connecting without one", files[TLS_FILE_CERT]);
    }
    cfg.verify_peer = uri->no_verify != 1;
    return tls_context_new(TLS_ROLE_CLIENT, &cfg, error);
}

static RpcClient *remote_connect_transport(const DriverUri *uri, GError **error)
{
    switch (uri->transport) {
    case DRIVER_URI_TRANSPORT_UNIX:
        return rpc_client_new_unix(uri->socket ? uri->socket : REMOTE_DRIVER_SYSTEM_SOCKET, error);
    case DRIVER_URI_TRANSPORT_TCP:
        return rpc_client_new_tcp(uri->host ? uri->host : "localhost", (guint)driver_uri_port(uri),
                                  error);
    case DRIVER_URI_TRANSPORT_TLS: {
        g_autoptr(TlsContext) ctx = remote_tls_context(uri, error);
        const char *host = uri->host ? uri->host : "localhost";

        if (!ctx)
            return NULL;
        return rpc_client_new_tls(host, (guint)driver_uri_port(uri), ctx, host, error);
    }
    case DRIVER_URI_TRANSPORT_NONE:
    case DRIVER_URI_TRANSPORT_LAST:
        break;
    }
    ferry_fail(error, FERRY_ERR_NO_SUPPORT, "the remote driver has no transport '%s'",
               driver_uri_transport_to_string(uri->transport));
    return NULL;
}

/* ---------------------------------------------------------------- events */

typedef struct {
    gint refs;
    int callback_id;
    int event_id; /* DriverEventId */
    DriverLifecycleCb lifecycle_cb; /* event_register_lifecycle */
    DriverEventCb cb; /* event_register_any */
    gpointer opaque;
    GDestroyNotify free_opaque;
} RemoteEventReg;

static RemoteEventReg *remote_event_reg_ref(RemoteEventReg *reg)
{
    g_atomic_int_inc(&reg->refs);
    return reg;
}

static void remote_event_reg_unref(gpointer data)
{
    RemoteEventReg *reg = data;

    if (!reg || !g_atomic_int_dec_and_test(&reg->refs))
        return;
    if (reg->free_opaque)
        reg->free_opaque(reg->opaque);
    g_free(reg);
}

/* Delivers ev for the server's callback id (on the client's event
 * thread); wdom is the message's domain. */
static void remote_event_deliver(RemoteConn *rc, int callback_id, const remote_nonnull_domain *wdom,
                                 const DriverEvent *ev)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(GError) err = NULL;
    const char *what = driver_event_id_to_string(ev->id);
    RemoteEventReg *reg;

    if (!remote_dom_from_wire(&dom, wdom, &err)) {
        FLOG_WARN("'%s': dropping a %s event: %s", rc->uri, what, err->message);
        return;
    }
    g_mutex_lock(&rc->lock);
    reg = g_hash_table_lookup(rc->events, GINT_TO_POINTER(callback_id));
    if (reg && reg->event_id == (int)ev->id)
        remote_event_reg_ref(reg);
    else
        reg = NULL;
    g_mutex_unlock(&rc->lock);
    if (!reg) {
        FLOG_DEBUG("'%s': %s event for unknown callback %d", rc->uri, what, callback_id);
        return;
    }
    if (reg->lifecycle_cb)
        reg->lifecycle_cb(&rc->parent, &dom, ev->event, ev->detail, reg->opaque);
    else
        reg->cb(&rc->parent, &dom, ev, reg->opaque);
    remote_event_reg_unref(reg);
}

/* DOMAIN_EVENT_CALLBACK_LIFECYCLE, on the client's event thread. */
static void remote_on_lifecycle(RpcClient *client, const RpcMessage *msg, gpointer opaque)
{
    RemoteConn *rc = opaque;
    remote_domain_event_callback_lifecycle_msg m = { 0 };
    g_autoptr(GError) err = NULL;
    DriverEvent ev = { .id = DRIVER_EVENT_LIFECYCLE };

    if (!rpc_message_decode_payload(msg, (xdrproc_t)xdr_remote_domain_event_callback_lifecycle_msg,
                                    &m, &err)) {
        FLOG_WARN("'%s': dropping a lifecycle event: %s", rc->uri, err->message);
        return;
    }
    ev.event = m.msg.event;
    ev.detail = m.msg.detail;
    remote_event_deliver(rc, m.callbackID, &m.msg.dom, &ev);
    xdr_free((xdrproc_t)xdr_remote_domain_event_callback_lifecycle_msg, &m);
}

/* DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION, likewise. */
static void remote_on_migration_iteration(RpcClient *client, const RpcMessage *msg, gpointer opaque)
{
    RemoteConn *rc = opaque;
    remote_domain_event_callback_migration_iteration_msg m = { 0 };
    g_autoptr(GError) err = NULL;
    DriverEvent ev = { .id = DRIVER_EVENT_MIGRATION_ITERATION };

    if (!rpc_message_decode_payload(
            msg, (xdrproc_t)xdr_remote_domain_event_callback_migration_iteration_msg, &m, &err)) {
        FLOG_WARN("'%s': dropping a migration-iteration event: %s", rc->uri, err->message);
        return;
    }
    ev.iteration = m.iteration;
    remote_event_deliver(rc, m.callbackID, &m.dom, &ev);
    xdr_free((xdrproc_t)xdr_remote_domain_event_callback_migration_iteration_msg, &m);
}

/* DOMAIN_EVENT_CALLBACK_JOB_COMPLETED, likewise. */
static void remote_on_job_completed(RpcClient *client, const RpcMessage *msg, gpointer opaque)
{
    RemoteConn *rc = opaque;
    remote_domain_event_callback_job_completed_msg m = { 0 };
    g_autoptr(GError) err = NULL;
    g_autoptr(TypedParams) stats = NULL;
    DriverEvent ev = { .id = DRIVER_EVENT_JOB_COMPLETED };

    if (!rpc_message_decode_payload(
            msg, (xdrproc_t)xdr_remote_domain_event_callback_job_completed_msg, &m, &err)) {
        FLOG_WARN("'%s': dropping a job-completed event: %s", rc->uri, err->message);
        return;
    }
    stats = rpc_params_from_wire(m.params.params_val, m.params.params_len,
                                 REMOTE_DOMAIN_JOB_STATS_MAX, &err);
    if (stats) {
        ev.stats = stats;
        remote_event_deliver(rc, m.callbackID, &m.dom, &ev);
    } else {
        FLOG_WARN("'%s': dropping a job-completed event: %s", rc->uri, err->message);
    }
    xdr_free((xdrproc_t)xdr_remote_domain_event_callback_job_completed_msg, &m);
}

/* The MESSAGE handlers, installed with the first registration. */
static void remote_event_handlers_install(RemoteConn *rc)
{
    static const struct {
        int proc;
        RpcClientEventFunc func;
    } handlers[] = {
        { REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, remote_on_lifecycle },
        { REMOTE_PROC_DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION, remote_on_migration_iteration },
        { REMOTE_PROC_DOMAIN_EVENT_CALLBACK_JOB_COMPLETED, remote_on_job_completed },
    };

    g_mutex_lock(&rc->lock);
    if (!rc->event_handlers) {
        for (gsize i = 0; i < G_N_ELEMENTS(handlers); i++)
            rpc_client_add_event_handler(rc->client, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION,
                                         handlers[i].proc, handlers[i].func, rc, NULL);
        rc->event_handlers = TRUE;
    }
    g_mutex_unlock(&rc->lock);
}

/* CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY for tmpl's event id. */
static int remote_event_register(RemoteConn *rc, const DriverDomain *dom,
                                 const RemoteEventReg *tmpl, GError **error)
{
    remote_connect_domain_event_callback_register_any_args args = { 0 };
    remote_connect_domain_event_callback_register_any_ret ret = { 0 };
    remote_nonnull_domain wdom;
    RemoteEventReg *reg;
    gboolean event_callback = FALSE;

    if (!tmpl->lifecycle_cb && !tmpl->cb) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "event callback is NULL");
        return -1;
    }
    /* asked the first time only (remote_feature caches it) */
    if (!remote_feature(rc, DRIVER_FEATURE_REMOTE_EVENT_CALLBACK, &event_callback, error))
        return -1;
    if (!event_callback) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "'%s': the server does not support event callbacks (feature 14)", rc->uri);
        return -1;
    }
    if (!driver_event_id_check(tmpl->event_id, error))
        return -1;
    remote_event_handlers_install(rc);

    args.eventID = tmpl->event_id;
    if (dom) {
        remote_dom_borrow(&wdom, dom);
        args.dom = &wdom;
    }
    /* Registered first under the lock, so that an event that arrives right
     * after the reply finds it. */
    g_mutex_lock(&rc->lock);
    if (!remote_call(rc, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, &args, &ret,
                     error)) {
        g_mutex_unlock(&rc->lock);
        return -1;
    }
    reg = g_memdup2(tmpl, sizeof(*tmpl));
    reg->refs = 1;
    reg->callback_id = ret.callbackID;
    g_hash_table_replace(rc->events, GINT_TO_POINTER(ret.callbackID), reg);
    g_mutex_unlock(&rc->lock);
    return ret.callbackID;
}

static int remote_event_register_lifecycle(DriverConn *conn, const DriverDomain *dom,
                                           DriverLifecycleCb cb, gpointer opaque,
                                           GDestroyNotify free_opaque, GError **error)
{
    RemoteEventReg tmpl = { .event_id = DRIVER_EVENT_LIFECYCLE,
                            .lifecycle_cb = cb,
                            .opaque = opaque,
                            .free_opaque = free_opaque };

    return remote_event_register(remote_conn(conn), dom, &tmpl, error);
}

static int remote_event_register_any(DriverConn *conn, int event_id, const DriverDomain *dom,
                                     DriverEventCb cb, gpointer opaque, GDestroyNotify free_opaque,
                                     GError **error)
{
    RemoteEventReg tmpl = {
        .event_id = event_id, .cb = cb, .opaque = opaque, .free_opaque = free_opaque
    };

    return remote_event_register(remote_conn(conn), dom, &tmpl, error);
}

static gboolean remote_event_deregister(DriverConn *conn, int callback_id, GError **error)
{
    RemoteConn *rc = remote_conn(conn);
    remote_connect_domain_event_callback_deregister_any_args args = { .callbackID = callback_id };
    gboolean known;

    g_mutex_lock(&rc->lock);
    known = g_hash_table_contains(rc->events, GINT_TO_POINTER(callback_id));
    g_mutex_unlock(&rc->lock);
    if (!known) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "'%s': no event callback %d", rc->uri,
                   callback_id);
        return FALSE;
    }
    if (!remote_call(rc, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, &args, NULL,
                     error))
        return FALSE;
    g_mutex_lock(&rc->lock);
    g_hash_table_remove(rc->events, GINT_TO_POINTER(callback_id));
    g_mutex_unlock(&rc->lock);
    return TRUE;
}

/* ---------------------------------------------------------------- open */

static void remote_on_close(RpcClient *client, RpcClientCloseReason reason, const GError *err,
                            gpointer opaque)
{
    RemoteConn *rc = opaque;

    if (reason == RPC_CLIENT_CLOSE_CLIENT)
        FLOG_DEBUG("'%s': connection closed", rc->uri);
    else
        FLOG_INFO("'%s': %s", rc->uri, err ? err->message : "connection closed");
}

/* AUTH_LIST: "none" (or nothing, or an old server) is all ferry does. */
static gboolean remote_authenticate(RemoteConn *rc, GError **error)
{
    remote_auth_list_ret ret = { 0 };
    g_autoptr(GError) err = NULL;
    gboolean none = FALSE;
    int first;

    if (!remote_call(rc, REMOTE_PROC_AUTH_LIST, NULL, &ret, &err)) {
        if (ferry_error_is(err, FERRY_ERR_NO_SUPPORT))
            return TRUE;
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    if (ret.types.types_len == 0) {
        remote_ret_free(REMOTE_PROC_AUTH_LIST, &ret);
        return TRUE;
    }
    first = ret.types.types_val[0];
    for (u_int i = 0; i < ret.types.types_len; i++)
        none = none || ret.types.types_val[i] == REMOTE_AUTH_NONE;
    remote_ret_free(REMOTE_PROC_AUTH_LIST, &ret);
    if (none)
        return TRUE;
    ferry_fail(error, FERRY_ERR_AUTH_FAILED,
               "the server requires %s authentication, which ferry does not support",
               first == REMOTE_AUTH_SASL     ? "SASL"
               : first == REMOTE_AUTH_POLKIT ? "polkit"
                                             : "an unknown kind of");
    return FALSE;
}

static gboolean remote_handshake(RemoteConn *rc, const DriverUri *uri, unsigned int flags,
                                 GError **error)
{
    g_autofree char *name = g_strdup(REMOTE_OPEN_NAME);
    remote_connect_open_args open_args = { .name = &name, .flags = flags };
    gboolean keepalive = FALSE;

    if (!remote_authenticate(rc, error))
        return FALSE;
    if (!remote_feature(rc, DRIVER_FEATURE_PROGRAM_KEEPALIVE, &keepalive, error))
        return FALSE;
    if (keepalive && uri->keepalive_interval != 0) {
        int interval = uri->keepalive_interval > 0 ? uri->keepalive_interval
                                                   : REMOTE_DRIVER_KEEPALIVE_INTERVAL;
        guint count = uri->keepalive_count >= 0 ? MAX((guint)uri->keepalive_count, 1)
                                                : REMOTE_DRIVER_KEEPALIVE_COUNT;

        if (!rpc_client_start_keepalive(rc->client, interval, count, error))
            return FALSE;
    }
    /* Nothing more: the event callback feature is asked when a callback
     * is registered, and the close callback (CONNECT_EVENT_CONNECTION_CLOSED
     * would only tell what the socket's end tells too) is not registered,
     * which saves four round trips per connection (wire.md section 3 lists
     * what libvirt's client does). */
    return remote_call(rc, REMOTE_PROC_CONNECT_OPEN, &open_args, NULL, error);
}

static void remote_conn_free(RemoteConn *rc)
{
    if (rc->client)
        rpc_client_free(g_steal_pointer(&rc->client));
    g_clear_pointer(&rc->events, g_hash_table_unref);
    g_mutex_clear(&rc->lock);
    g_free(rc->uri);
    g_free(rc);
}

DriverConn *remote_driver_open(const DriverUri *uri, unsigned int flags, GError **error)
{
    g_autoptr(GError) err = NULL;
    RemoteConn *rc;

    if (flags & ~REMOTE_CONNECT_RO) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "cannot connect to '%s': unsupported flags 0x%x",
                   uri->text, flags);
        return NULL;
    }
    rc = g_new0(RemoteConn, 1);
    g_mutex_init(&rc->lock);
    rc->uri = g_strdup(uri->text);
    rc->events = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, remote_event_reg_unref);
    rc->client = remote_connect_transport(uri, &err);
    if (rc->client) {
        rpc_client_set_close_callback(rc->client, remote_on_close, rc, NULL);
        if (!remote_handshake(rc, uri, flags, &err))
            rpc_client_close(rc->client);
    }
    if (err) {
        remote_conn_free(rc);
        g_propagate_prefixed_error(error, g_steal_pointer(&err),
                                   "cannot connect to '%s': ", uri->text);
        return NULL;
    }
    driver_conn_init(&rc->parent, &remote_driver_ops, uri->text);
    FLOG_DEBUG("'%s': connected to %s", rc->uri, rpc_client_get_peer(rc->client));
    return &rc->parent;
}

static void remote_close(DriverConn *conn)
{
    RemoteConn *rc = remote_conn(conn);

    if (rc->client && rpc_client_is_open(rc->client)) {
        g_autoptr(GError) err = NULL;

        if (!remote_call(rc, REMOTE_PROC_CONNECT_CLOSE, NULL, NULL, &err))
            FLOG_DEBUG("'%s': %s", rc->uri, err->message);
    }
    remote_conn_free(rc);
}

/* ---------------------------------------------------------------- the connection's ops */

/* The URI as the caller opened it, as libvirt's virConnectGetURI. */
static char *remote_get_uri(DriverConn *conn, GError **error)
{
    return g_strdup(remote_conn(conn)->uri);
}

static char *remote_get_hostname(DriverConn *conn, GError **error)
{
    remote_connect_get_hostname_ret ret = { 0 };

    if (!remote_call(remote_conn(conn), REMOTE_PROC_CONNECT_GET_HOSTNAME, NULL, &ret, error))
        return NULL;
    return ret.hostname; /* the string is ours: nothing else to free */
}

static char *remote_get_type(DriverConn *conn, GError **error)
{
    remote_connect_get_type_ret ret = { 0 };

    if (!remote_call(remote_conn(conn), REMOTE_PROC_CONNECT_GET_TYPE, NULL, &ret, error))
        return NULL;
    return ret.type;
}

static gboolean remote_get_version(DriverConn *conn, unsigned long long *version, GError **error)
{
    remote_connect_get_version_ret ret = { 0 };

    if (!remote_call(remote_conn(conn), REMOTE_PROC_CONNECT_GET_VERSION, NULL, &ret, error))
        return FALSE;
    *version = ret.hv_ver;
    return TRUE;
}

static gboolean remote_get_lib_version(DriverConn *conn, unsigned long long *version,
                                       GError **error)
{
    remote_connect_get_lib_version_ret ret = { 0 };

    if (!remote_call(remote_conn(conn), REMOTE_PROC_CONNECT_GET_LIB_VERSION, NULL, &ret, error))
        return FALSE;
    *version = ret.lib_ver;
    return TRUE;
}

static gboolean remote_supports_feature(DriverConn *conn, int feature, gboolean *supported,
                                        GError **error)
{
    /* Answered here, as libvirt's remote driver does. */
    if (feature == DRIVER_FEATURE_REMOTE) {
        *supported = TRUE;
        return TRUE;
    }
    return remote_feature(remote_conn(conn), feature, supported, error);
}

static gboolean remote_node_get_info(DriverConn *conn, HostInfo *info, GError **error)
{
    remote_node_get_info_ret ret = { 0 };

    if (!remote_call(remote_conn(conn), REMOTE_PROC_NODE_GET_INFO, NULL, &ret, error))
        return FALSE;
    G_STATIC_ASSERT(sizeof(info->model) == sizeof(ret.model));
    memcpy(info->model, ret.model, sizeof(info->model));
    info->model[sizeof(info->model) - 1] = '\0'; /* the daemon's may not be */
    info->memory_kib = ret.memory;
    /* A daemon would not send negative counts; 0 if one did. */
    info->cpus = (unsigned int)MAX(ret.cpus, 0);
    info->mhz = (unsigned int)MAX(ret.mhz, 0);
    info->nodes = (unsigned int)MAX(ret.nodes, 0);
    info->sockets = (unsigned int)MAX(ret.sockets, 0);
    info->cores = (unsigned int)MAX(ret.cores, 0);
    info->threads = (unsigned int)MAX(ret.threads, 0);
    return TRUE;
}

/* As libvirt's client: secure when our transport is (UNIX socket, TLS)
 * and the daemon says its side is. */
static gboolean remote_is_secure(DriverConn *conn, gboolean *secure, GError **error)
{
    RemoteConn *rc = remote_conn(conn);
    remote_connect_is_secure_ret ret = { 0 };

    if (!remote_call(rc, REMOTE_PROC_CONNECT_IS_SECURE, NULL, &ret, error))
        return FALSE;
    *secure = ret.secure != 0 && rpc_client_is_secure(rc->client);
    return TRUE;
}

/* ---------------------------------------------------------------- registration */

const DriverOps remote_driver_ops = {
    .name = "remote",
    .get_uri = remote_get_uri,
    .get_hostname = remote_get_hostname,
    .get_type = remote_get_type,
    .get_version = remote_get_version,
    .get_lib_version = remote_get_lib_version,
    .supports_feature = remote_supports_feature,
    .node_get_info = remote_node_get_info,
    .is_secure = remote_is_secure,
    .close = remote_close,

    .lookup_by_name = remote_lookup_by_name,
    .lookup_by_uuid = remote_lookup_by_uuid,
    .lookup_by_id = remote_lookup_by_id,
    .list_all_domains = remote_list_all_domains,

    .define_xml = remote_define_xml,
    .undefine = remote_undefine,
    .create = remote_create,
    .create_xml = remote_create_xml,
    .destroy = remote_destroy,
    .shutdown = remote_shutdown,
    .suspend = remote_suspend,
    .resume = remote_resume,

    .get_state = remote_get_state,
    .get_info = remote_get_info,
    .get_os_type = remote_get_os_type,
    .get_max_memory = remote_get_max_memory,
    .get_xml_desc = remote_get_xml_desc,
    .is_active = remote_is_active,
    .is_persistent = remote_is_persistent,

    .get_job_stats = remote_get_job_stats,
    .abort_job = remote_abort_job,
    .migrate_set_max_speed = remote_migrate_set_max_speed,
    .migrate_get_max_speed = remote_migrate_get_max_speed,
    .migrate_set_compression_cache = remote_migrate_set_compression_cache,
    .migrate_get_compression_cache = remote_migrate_get_compression_cache,
    .migrate_set_max_downtime = remote_migrate_set_max_downtime,
    .migrate_get_max_downtime = remote_migrate_get_max_downtime,
    .migrate_start_postcopy = remote_migrate_start_postcopy,

    .migrate_begin3 = remote_migrate_begin3,
    .migrate_prepare3 = remote_migrate_prepare3,
    .migrate_prepare_tunnel3 = remote_migrate_prepare_tunnel3,
    .migrate_perform3 = remote_migrate_perform3,
    .migrate_finish3 = remote_migrate_finish3,
    .migrate_confirm3 = remote_migrate_confirm3,

    .event_register_lifecycle = remote_event_register_lifecycle,
    .event_register_any = remote_event_register_any,
    .event_deregister = remote_event_deregister,
};

gboolean remote_driver_handles(const DriverUri *uri)
{
    return uri->path != DRIVER_URI_PATH_EMBED;
}

static const DriverRegistration remote_registration = {
    .name = "remote",
    .handles = remote_driver_handles,
    .open = remote_driver_open,
};

void remote_driver_register(void)
{
    driver_registry_add(&remote_registration);
}
