/*
 * daemon_client.h: what ferryd keeps for one client connection.
 *
 *     DaemonClient *c = daemon_client_new(drv, id);      // accepted
 *     daemon_client_set_transport(c, &ops, rpc_client);  // not in unit tests
 *     ... dispatch_call(c, proc, args, ret, error) ...   // from workers
 *     daemon_client_free(c);                             // closed
 *
 * Per connection: the driver connection that CONNECT_OPEN made (NULL
 * before, and again after CONNECT_CLOSE), whether it is read-only, the
 * connection id that autodestroy domains belong to (the DriverConn carries
 * it: its last unref destroys them), the close callback flag and the event
 * registrations.
 *
 * The transport (src/rpc/server.h) is reached through hooks so that the
 * dispatch code and its tests do not need sockets: starting the keepalive
 * (asked for with feature 10), sending an event message and opening the
 * stream of a call (tunnelled migration).
 *
 * Threads: calls of one client run concurrently on workers; everything
 * here is locked.  An op runs on a reference to the DriverConn taken under
 * the lock (daemon_client_get_conn), so CONNECT_CLOSE while another call
 * runs is safe: the last of them drops the connection.
 */
#pragma once

#include <glib.h>

#include "driver/driver.h"
#include "driver/qemu_driver.h"
#include "rpc/message.h"
#include "rpc/server.h"
#include "rpc/stream_driver.h"

typedef struct _DaemonClient DaemonClient;

typedef struct {
    /* Start pinging the client (interval s, count missed PONGs). */
    gboolean (*start_keepalive)(gpointer transport, int interval, guint count, GError **error);
    /* Send an event (REMOTE_PROGRAM, type MESSAGE) to the client. */
    gboolean (*send_event)(gpointer transport, int proc, xdrproc_t xdrproc, const void *msg,
                           GError **error);
    /* Open the stream of the call that the calling worker runs for the
     * client (PREPARE_TUNNEL3_PARAMS), before its reply: a new, open
     * DriverStream that receives what the client sends.  May be NULL (no
     * streams: FERRY_ERR_NO_SUPPORT). */
    DriverStream *(*open_stream)(gpointer transport, GError **error);
} DaemonClientTransport;

/* The RPC server's open_stream: transport is the RpcServerClient (what
 * ferryd passes to daemon_client_set_transport).  Inline, so that only
 * what uses it (ferryd) links the RPC server; the dispatch tests do not. */
static inline DriverStream *daemon_client_rpc_open_stream(gpointer transport, GError **error)
{
    g_autoptr(RpcStream) st = rpc_server_client_open_call_stream(transport, error);

    return st ? rpc_stream_driver_new(st) : NULL;
}

/* A client of the QEMU driver drv (borrowed: it outlives the client) with
 * connection id id (unique in the daemon's life). */
DaemonClient *daemon_client_new(QemuDriver *drv, guint64 id);
/* Deregisters the client's events and drops its driver connection (the
 * last unref destroys its autodestroy domains).  May block: not on the I/O
 * thread.  NULL is fine. */
void daemon_client_free(DaemonClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DaemonClient, daemon_client_free)

/* ops is borrowed (static); transport is borrowed and must stay valid until
 * daemon_client_free. */
void daemon_client_set_transport(DaemonClient *c, const DaemonClientTransport *ops,
                                 gpointer transport);
/* Whether the client's transport keeps others from listening in (a UNIX
 * socket or TLS; plain TCP does not): CONNECT_IS_SECURE's answer.  Set
 * once, before the client's first call; FALSE until then. */
void daemon_client_set_secure(DaemonClient *c, gboolean secure);
gboolean daemon_client_is_secure(const DaemonClient *c);
/* What to start when the client asks for feature 10; interval <= 0: send
 * no pings (PINGs from the client are still answered). */
void daemon_client_set_keepalive(DaemonClient *c, int interval, guint count);

guint64 daemon_client_get_id(const DaemonClient *c);
QemuDriver *daemon_client_get_driver(const DaemonClient *c);

/* The open driver connection (a new reference), or NULL with
 * FERRY_ERR_OPERATION_INVALID "connection not open". */
DriverConn *daemon_client_get_conn(DaemonClient *c, GError **error);
gboolean daemon_client_is_open(DaemonClient *c);
gboolean daemon_client_is_readonly(DaemonClient *c);

/* Makes conn (taken) the client's connection; fails (conn dropped) when
 * one is open already. */
gboolean daemon_client_open(DaemonClient *c, DriverConn *conn, gboolean readonly, GError **error);
/* Drops the connection and the event registrations (CONNECT_CLOSE). */
void daemon_client_close(DaemonClient *c);

gboolean daemon_client_set_close_callback(DaemonClient *c, gboolean on);
gboolean daemon_client_has_close_callback(DaemonClient *c);

/* Feature 10: starts the keepalive through the transport (no-op without
 * one, or with keepalive disabled).  Once per client. */
gboolean daemon_client_start_keepalive(DaemonClient *c, GError **error);

/* The stream of the call being dispatched (see open_stream above). */
DriverStream *daemon_client_open_stream(DaemonClient *c, GError **error);

/* Domain events (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY): returns the
 * client-visible callback id or -1.  dom NULL: every domain. */
int daemon_client_event_register(DaemonClient *c, int event_id, const DriverDomain *dom,
                                 GError **error);
gboolean daemon_client_event_deregister(DaemonClient *c, int callback_id, GError **error);
