/*
 * server.h: the RPC server: listeners, clients, a worker pool, programs.
 *
 *     RpcServerConfig cfg = RPC_SERVER_CONFIG_INIT;
 *     g_autoptr(RpcServer) srv = rpc_server_new(&cfg, error);
 *     rpc_server_add_program(srv, &(RpcServerProgramSpec){
 *         .number = REMOTE_PROGRAM, .version = REMOTE_PROTOCOL_VERSION,
 *         .procs = &rpc_remote_program, .handlers = handlers, .nhandlers = n,
 *         .opaque = daemon });
 *     rpc_server_listen_unix(srv, path, 0666, NULL, error);
 *     rpc_server_listen_tcp(srv, "127.0.0.1", 0, NULL, &port, error);
 *     ...
 *     rpc_server_shutdown(srv);
 *
 * Threads.  Sockets, accepting, reading, PING/PONG and the answers to
 * calls that never reach a worker (unknown program or procedure) live on
 * the I/O thread.  Calls run on a worker pool (max_workers); procedures
 * flagged RPC_PROC_PRIORITY in the program's table run on a separate pool
 * (max_priority_workers), so job info and abort get through while long
 * calls fill the normal workers.  Calls of one connection run concurrently
 * and their replies go out in the order they finish, matched by serial.
 * Client-closed callbacks and private-data free functions run on a third,
 * small pool once the client's in-flight calls have ended: they may block
 * (the daemon runs autokill there).
 *
 * A CALL of a registered program goes:
 *   - procedure not in the program's table (when it has one), or neither a
 *     handler nor a dispatch function for it: FERRY_ERR_NO_SUPPORT
 *     "procedure N is not supported", connection kept;
 *   - a handler: the server decodes the arguments (malformed: an error
 *     reply, then the client is closed), calls it, encodes the return
 *     value or the GError it set;
 *   - else the program's dispatch function, which replies itself (exactly
 *     once) with rpc_server_client_reply*().  A call left unanswered gets
 *     an internal error reply.
 * A CALL of an unknown program or version gets FERRY_ERR_RPC "unknown
 * program 0x... version ..." and the connection stays.  A frame that does
 * not decode, a REPLY from a client or a frame over max_message closes
 * that client only (logged).
 *
 * Limits: over max_clients a new connection is accepted and closed at once
 * (logged); at max_client_requests outstanding calls the server stops
 * reading that client until a reply goes out (backpressure, not an error).
 */
#pragma once

#include <sys/types.h>

#include <glib.h>

#include "rpc/message.h"
#include "rpc/remote_procs.h"
#include "rpc/stream.h"
#include "rpc/tls.h"

typedef struct _RpcServer RpcServer;
typedef struct _RpcServerClient RpcServerClient;

typedef struct {
    guint max_clients; /* connections at once (libvirt max_clients: 5000) */
    guint max_workers; /* libvirt max_workers: 20 */
    guint max_priority_workers; /* libvirt prio_workers: 5 */
    guint max_client_requests; /* outstanding calls per client (libvirt: 5) */
    size_t max_message; /* largest frame accepted, <= RPC_MESSAGE_FRAME_MAX */
    /* A TLS client that has not finished its handshake by then is closed,
     * so that idle connections cannot hold client slots. */
    guint handshake_timeout_ms;
} RpcServerConfig;

#define RPC_SERVER_CONFIG_INIT \
    { \
        5000, 20, 5, 5, RPC_MESSAGE_FRAME_MAX, 30000 \
    }

/* Called on a worker for a call the server does not handle itself; replies
 * with rpc_server_client_reply*() (call stays the server's). */
typedef void (*RpcDispatchFunc)(RpcServerClient *client, RpcMessage *call, gpointer opaque);

/* A typed handler: args decoded with the table's args routine, ret zeroed
 * (filled by the handler, encoded and freed by the server).  Return FALSE
 * with *error to reply with that error. */
typedef gboolean (*RpcServerHandlerFunc)(RpcServerClient *client, RpcMessage *call, void *args,
                                         void *ret, gpointer opaque, GError **error);

typedef struct {
    int proc;
    RpcServerHandlerFunc func;
} RpcServerHandler;

typedef struct {
    guint32 number;
    guint32 version;
    /* Optional: the procedures (payload routines, PRIORITY flags).  Needed
     * for handlers; without it every call goes to dispatch on the normal
     * pool. */
    const RpcProgram *procs;
    const RpcServerHandler *handlers;
    size_t nhandlers;
    RpcDispatchFunc dispatch; /* optional */
    gpointer opaque;
} RpcServerProgramSpec;

RpcServer *rpc_server_new(const RpcServerConfig *config, GError **error);
RpcServer *rpc_server_ref(RpcServer *srv);
/* The last unref shuts the server down first. */
void rpc_server_unref(RpcServer *srv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RpcServer, rpc_server_unref)

/* Before listening.  A second program with the same number and version
 * fails.  spec is copied (the tables it points to are not). */
gboolean rpc_server_add_program(RpcServer *srv, const RpcServerProgramSpec *spec, GError **error);

/* A UNIX socket at path: creates the parent directory (0755), removes a
 * stale socket file when nothing answers on it (an answering one is
 * FERRY_ERR_OPERATION_FAILED "... is in use"), sets mode and, unless group
 * is NULL, the group (a name or a number).  The file is removed at
 * shutdown. */
gboolean rpc_server_listen_unix(RpcServer *srv, const char *path, mode_t mode, const char *group,
                                GError **error);
/* TCP on host (NULL: all addresses) and port (0: any; *bound_port gets
 * the port, may be NULL).  With tls (a server context), every connection
 * runs the TLS handshake (on the I/O thread) before its first call. */
gboolean rpc_server_listen_tcp(RpcServer *srv, const char *host, guint port, TlsContext *tls,
                               guint *bound_port, GError **error);

/* Client lifecycle callbacks.  new_client: on the I/O thread when a
 * connection is accepted (after the TLS handshake), before its first call;
 * closed: on the close pool after the last in-flight call of the client
 * ended, before its private data is freed. */
typedef void (*RpcServerClientFunc)(RpcServerClient *client, gpointer opaque);
void rpc_server_set_client_callbacks(RpcServer *srv, RpcServerClientFunc new_client,
                                     RpcServerClientFunc closed, gpointer opaque);

/* Stops listening (removing UNIX socket files), closes every client (they
 * see EOF), lets calls that run finish (their replies are dropped), drops
 * calls not started, runs the closed callbacks and joins the workers.
 * Idempotent; not on the I/O thread or a worker. */
void rpc_server_shutdown(RpcServer *srv);

guint rpc_server_get_nclients(RpcServer *srv);

typedef struct {
    guint64 accepted;
    guint64 refused; /* over max_clients */
    guint64 calls;
    guint64 protocol_errors; /* clients closed for bad input */
} RpcServerStats;
void rpc_server_get_stats(RpcServer *srv, RpcServerStats *stats);

/* ---- clients ---- */

RpcServerClient *rpc_server_client_ref(RpcServerClient *client);
void rpc_server_client_unref(RpcServerClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RpcServerClient, rpc_server_client_unref)

/* Replies OK with ret encoded by xdrproc (NULL/rpc_xdr_void: empty).  Any
 * thread, once per call.  FALSE when the reply could not go out (the
 * client is gone, the return value is over a protocol limit: then an error
 * reply goes instead). */
gboolean rpc_server_client_reply(RpcServerClient *client, RpcMessage *call, xdrproc_t xdrproc,
                                 const void *ret);
/* As reply, as REPLY_WITH_FDS carrying fds (borrowed: duplicated). */
gboolean rpc_server_client_reply_fds(RpcServerClient *client, RpcMessage *call, xdrproc_t xdrproc,
                                     const void *ret, const int *fds, size_t nfds);
/* Replies with err (NULL: an internal error). */
gboolean rpc_server_client_reply_error(RpcServerClient *client, RpcMessage *call,
                                       const GError *err);

/* An event (MESSAGE, serial 0) to the client, from any thread. */
gboolean rpc_server_client_send_event(RpcServerClient *client, guint32 prog, guint32 vers, int proc,
                                      xdrproc_t xdrproc, const void *data, GError **error);

/* Opens the stream of call (its prog, proc and serial), before the reply.
 * Returns a reference. */
RpcStream *rpc_server_client_open_stream(RpcServerClient *client, RpcMessage *call);

/* The same for the call that the calling worker thread runs for client
 * (its handler gets the decoded arguments only): FERRY_ERR_INTERNAL when
 * none does. */
RpcStream *rpc_server_client_open_call_stream(RpcServerClient *client, GError **error);

/* Starts pinging the client every interval s when idle, closing it after
 * count missed PONGs (the daemon calls this once the client asked for
 * feature 10, PROGRAM_KEEPALIVE).  Again: restarts with the new values. */
gboolean rpc_server_client_start_keepalive(RpcServerClient *client, int interval, guint count,
                                           GError **error);

/* The embedder's per-client state; free_func runs after the closed
 * callback (on the close pool), or when replaced. */
void rpc_server_client_set_private(RpcServerClient *client, gpointer data,
                                   GDestroyNotify free_func);
gpointer rpc_server_client_get_private(RpcServerClient *client);

/* Closes the connection (any thread). */
void rpc_server_client_close(RpcServerClient *client);
gboolean rpc_server_client_is_closed(RpcServerClient *client);
/* "UNIX socket /run/...", "127.0.0.1:41234". */
const char *rpc_server_client_get_peer(RpcServerClient *client);
gboolean rpc_server_client_is_unix(RpcServerClient *client);
/* A UNIX socket or TLS: nobody on the network can listen in. */
gboolean rpc_server_client_is_secure(RpcServerClient *client);
/* The TLS client certificate's DN, or NULL. */
const char *rpc_server_client_get_peer_dn(RpcServerClient *client);
/* Calls read and not yet answered. */
guint rpc_server_client_get_outstanding(RpcServerClient *client);
