/*
 * daemon_client.c: what ferryd keeps for one client connection.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DAEMON
#define FERRY_LOG_MODULE "daemon.client"

#include "daemon/daemon_client.h"
#include "rpc/ferry_remote_protocol.h"
#include "util/error.h"
#include "util/log.h"

struct _DaemonClient {
    QemuDriver *drv; /* borrowed */
    guint64 id;
    const DaemonClientTransport *tops;
    gpointer transport;
    int keepalive_interval;
    guint keepalive_count;
    gboolean secure; /* set before the first call, read-only after */

    GMutex lock;
    DriverConn *conn; /* NULL until CONNECT_OPEN */
    gboolean readonly;
    gboolean close_callback;
    gboolean keepalive_started;
    /* client callback id -> EventReg */
    GHashTable *events;
    int next_callback_id;
};

/* One event registration: what the driver's callback needs. */
typedef struct {
    DaemonClient *client;
    int callback_id; /* the client's */
    int event_id;
    int driver_id; /* the driver's */
} EventReg;

DaemonClient *daemon_client_new(QemuDriver *drv, guint64 id)
{
    DaemonClient *c = g_new0(DaemonClient, 1);

    c->drv = drv;
    c->id = id;
    c->keepalive_interval = -1;
    g_mutex_init(&c->lock);
    c->events = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    return c;
}

/* Deregisters every event of c with conn; c->lock not held (the driver
 * may wait for a callback that is running). */
static void client_events_drop(DaemonClient *c, DriverConn *conn, GHashTable *events)
{
    GHashTableIter iter;
    gpointer value;

    if (!events)
        return;
    g_hash_table_iter_init(&iter, events);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        EventReg *reg = value;
        g_autoptr(GError) err = NULL;

        if (conn && conn->ops->event_deregister &&
            !conn->ops->event_deregister(conn, reg->driver_id, &err))
            FLOG_WARN("client %" G_GUINT64_FORMAT ": cannot deregister event callback %d: %s",
                      c->id, reg->callback_id, err->message);
    }
    g_hash_table_unref(events);
}

void daemon_client_close(DaemonClient *c)
{
    DriverConn *conn;
    GHashTable *events;

    g_mutex_lock(&c->lock);
    conn = g_steal_pointer(&c->conn);
    events = g_steal_pointer(&c->events);
    c->events = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    c->close_callback = FALSE;
    g_mutex_unlock(&c->lock);

    client_events_drop(c, conn, events);
    if (conn)
        FLOG_DEBUG("client %" G_GUINT64_FORMAT ": driver connection closed", c->id);
    /* The last reference runs the driver's close: autodestroy. */
    driver_conn_unref(conn);
}

void daemon_client_free(DaemonClient *c)
{
    if (!c)
        return;
    daemon_client_close(c);
    g_hash_table_unref(c->events);
    g_mutex_clear(&c->lock);
    g_free(c);
}

void daemon_client_set_transport(DaemonClient *c, const DaemonClientTransport *ops,
                                 gpointer transport)
{
    c->tops = ops;
    c->transport = transport;
}

void daemon_client_set_secure(DaemonClient *c, gboolean secure)
{
    c->secure = secure;
}

gboolean daemon_client_is_secure(const DaemonClient *c)
{
    return c->secure;
}

void daemon_client_set_keepalive(DaemonClient *c, int interval, guint count)
{
    c->keepalive_interval = interval;
    c->keepalive_count = count;
}

guint64 daemon_client_get_id(const DaemonClient *c)
{
    return c->id;
}

QemuDriver *daemon_client_get_driver(const DaemonClient *c)
{
    return c->drv;
}

DriverConn *daemon_client_get_conn(DaemonClient *c, GError **error)
{
    DriverConn *conn = NULL;

    g_mutex_lock(&c->lock);
    if (c->conn)
        conn = driver_conn_ref(c->conn);
    g_mutex_unlock(&c->lock);
    if (!conn)
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "connection not open");
    return conn;
}

gboolean daemon_client_is_open(DaemonClient *c)
{
    gboolean open;

    g_mutex_lock(&c->lock);
    open = c->conn != NULL;
    g_mutex_unlock(&c->lock);
    return open;
}

gboolean daemon_client_is_readonly(DaemonClient *c)
{
    gboolean ro;

    g_mutex_lock(&c->lock);
    ro = c->readonly;
    g_mutex_unlock(&c->lock);
    return ro;
}

gboolean daemon_client_open(DaemonClient *c, DriverConn *conn, gboolean readonly, GError **error)
{
    g_mutex_lock(&c->lock);
    if (c->conn) {
        g_mutex_unlock(&c->lock);
        driver_conn_unref(conn);
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "connection already open");
        return FALSE;
    }
    c->conn = conn;
    c->readonly = readonly;
    g_mutex_unlock(&c->lock);
    FLOG_DEBUG("client %" G_GUINT64_FORMAT ": opened '%s'%s", c->id, conn->uri,
               readonly ? " read-only" : "");
    return TRUE;
}

gboolean daemon_client_set_close_callback(DaemonClient *c, gboolean on)
{
    gboolean was;

    g_mutex_lock(&c->lock);
    was = c->close_callback;
    c->close_callback = on;
    g_mutex_unlock(&c->lock);
    return was;
}

gboolean daemon_client_has_close_callback(DaemonClient *c)
{
    gboolean on;

    g_mutex_lock(&c->lock);
    on = c->close_callback;
    g_mutex_unlock(&c->lock);
    return on;
}

gboolean daemon_client_start_keepalive(DaemonClient *c, GError **error)
{
    gboolean start;

    g_mutex_lock(&c->lock);
    start =
        !c->keepalive_started && c->keepalive_interval > 0 && c->tops && c->tops->start_keepalive;
    if (start)
        c->keepalive_started = TRUE;
    g_mutex_unlock(&c->lock);
    if (!start)
        return TRUE;
    FLOG_DEBUG("client %" G_GUINT64_FORMAT ": keepalive every %d s, %u missed", c->id,
               c->keepalive_interval, c->keepalive_count);
    return c->tops->start_keepalive(c->transport, c->keepalive_interval, c->keepalive_count, error);
}

/* ---------------------------------------------------------------- streams */

DriverStream *daemon_client_open_stream(DaemonClient *c, GError **error)
{
    if (!c->tops || !c->tops->open_stream) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "client %" G_GUINT64_FORMAT ": this connection cannot carry streams", c->id);
        return NULL;
    }
    return c->tops->open_stream(c->transport, error);
}

/* ---------------------------------------------------------------- events */

/* The driver's lifecycle callback: one MESSAGE to the client. */
static void client_event_lifecycle(DriverConn *conn, const DriverDomain *dom, int event, int detail,
                                   gpointer opaque)
{
    EventReg *reg = opaque;
    DaemonClient *c = reg->client;
    remote_domain_event_callback_lifecycle_msg msg = { 0 };
    g_autoptr(GError) err = NULL;

    if (!c->tops || !c->tops->send_event)
        return;
    msg.callbackID = reg->callback_id;
    rpc_nonnull_domain_set(&msg.msg.dom, dom->name, dom->uuid, dom->id);
    msg.msg.event = event;
    msg.msg.detail = detail;
    if (!c->tops->send_event(c->transport, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE,
                             (xdrproc_t)xdr_remote_domain_event_callback_lifecycle_msg, &msg, &err))
        FLOG_DEBUG("client %" G_GUINT64_FORMAT ": lifecycle event not sent: %s", c->id,
                   err->message);
    rpc_nonnull_domain_clear(&msg.msg.dom);
}

/* The driver's callback for the other events: MIGRATION_ITERATION and
 * JOB_COMPLETED messages. */
static void client_event_any(DriverConn *conn, const DriverDomain *dom, const DriverEvent *ev,
                             gpointer opaque)
{
    EventReg *reg = opaque;
    DaemonClient *c = reg->client;
    g_autoptr(GError) err = NULL;
    gboolean sent = FALSE;

    if (!c->tops || !c->tops->send_event)
        return;
    if (ev->id == DRIVER_EVENT_MIGRATION_ITERATION) {
        remote_domain_event_callback_migration_iteration_msg msg = { 0 };

        msg.callbackID = reg->callback_id;
        rpc_nonnull_domain_set(&msg.dom, dom->name, dom->uuid, dom->id);
        msg.iteration = ev->iteration;
        sent = c->tops->send_event(
            c->transport, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION,
            (xdrproc_t)xdr_remote_domain_event_callback_migration_iteration_msg, &msg, &err);
        rpc_nonnull_domain_clear(&msg.dom);
    } else if (ev->id == DRIVER_EVENT_JOB_COMPLETED) {
        remote_domain_event_callback_job_completed_msg msg = { 0 };

        msg.callbackID = reg->callback_id;
        if (rpc_params_to_wire(ev->stats, REMOTE_DOMAIN_JOB_STATS_MAX, &msg.params.params_val,
                               &msg.params.params_len, &err)) {
            rpc_nonnull_domain_set(&msg.dom, dom->name, dom->uuid, dom->id);
            sent = c->tops->send_event(
                c->transport, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_JOB_COMPLETED,
                (xdrproc_t)xdr_remote_domain_event_callback_job_completed_msg, &msg, &err);
            rpc_nonnull_domain_clear(&msg.dom);
            rpc_params_wire_free(msg.params.params_val, msg.params.params_len);
        }
    } else {
        ferry_fail(&err, FERRY_ERR_INTERNAL, "unexpected event id %d", ev->id);
    }
    if (!sent)
        FLOG_DEBUG("client %" G_GUINT64_FORMAT ": %s event not sent: %s", c->id,
                   driver_event_id_to_string(ev->id), err ? err->message : "?");
}

int daemon_client_event_register(DaemonClient *c, int event_id, const DriverDomain *dom,
                                 GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(c, error);
    EventReg *reg;

    if (!conn)
        return -1;
    if (!driver_event_id_check(event_id, error))
        return -1;
    if (event_id == DRIVER_EVENT_LIFECYCLE ? !conn->ops->event_register_lifecycle
                                           : !conn->ops->event_register_any) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "the %s driver does not support %s events",
                   conn->ops->name, driver_event_id_to_string(event_id));
        return -1;
    }

    reg = g_new0(EventReg, 1);
    reg->client = c;
    reg->event_id = event_id;
    g_mutex_lock(&c->lock);
    reg->callback_id = c->next_callback_id++;
    g_mutex_unlock(&c->lock);
    /* The registration is the client's (freed with its table), so the
     * driver gets no free function. */
    if (event_id == DRIVER_EVENT_LIFECYCLE)
        reg->driver_id = conn->ops->event_register_lifecycle(conn, dom, client_event_lifecycle, reg,
                                                             NULL, error);
    else
        reg->driver_id =
            conn->ops->event_register_any(conn, event_id, dom, client_event_any, reg, NULL, error);
    if (reg->driver_id < 0) {
        g_free(reg);
        return -1;
    }
    g_mutex_lock(&c->lock);
    g_hash_table_insert(c->events, GINT_TO_POINTER(reg->callback_id), reg);
    g_mutex_unlock(&c->lock);
    return reg->callback_id;
}

gboolean daemon_client_event_deregister(DaemonClient *c, int callback_id, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(c, error);
    EventReg *reg;
    gboolean ok = TRUE;

    if (!conn)
        return FALSE;
    g_mutex_lock(&c->lock);
    reg = g_hash_table_lookup(c->events, GINT_TO_POINTER(callback_id));
    if (reg)
        g_hash_table_steal(c->events, GINT_TO_POINTER(callback_id));
    g_mutex_unlock(&c->lock);
    if (!reg) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "no event callback with id %d", callback_id);
        return FALSE;
    }
    if (conn->ops->event_deregister)
        ok = conn->ops->event_deregister(conn, reg->driver_id, error);
    g_free(reg);
    return ok;
}
