/*
 * client.h: the RPC client: one connection, calls from many threads.
 *
 *     g_autoptr(RpcClient) c = rpc_client_new_unix("/run/ferry/ferryd-sock", error);
 *     remote_connect_supports_feature_args a = { 10 };
 *     remote_connect_supports_feature_ret r = { 0 };
 *     if (!rpc_client_call(c, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION,
 *                          REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
 *                          (xdrproc_t)xdr_remote_connect_supports_feature_args, &a,
 *                          (xdrproc_t)xdr_remote_connect_supports_feature_ret, &r,
 *                          -1, error))
 *         ...
 *
 * Threads.  rpc_client_call() blocks the calling thread (a worker, the
 * application's thread; never the I/O thread, where it fails) until the
 * reply with its serial arrives; many threads may call at once on one
 * client.  The socket lives on the I/O thread.  Event callbacks and the
 * close callback run on the client's own event thread, one at a time and
 * in arrival order; they may call rpc_client_call() on the same client
 * but must not free it.  (When rpc_client_free() is what closes the
 * connection, the close callback runs on the thread calling it, after the
 * events still queued.)
 *
 * Errors.  An error reply becomes a GError with the domain, code and
 * message the server sent (rpc_error_to_gerror).  A lost connection fails
 * every pending call with FERRY_ERR_NO_CONNECT: "connection to PEER
 * closed: end of file", or the keepalive's "... no keepalive response in
 * N s".
 */
#pragma once

#include <glib.h>

#include "rpc/message.h"
#include "rpc/stream.h"
#include "rpc/tls.h"

typedef struct _RpcClient RpcClient;

typedef enum {
    RPC_CLIENT_CLOSE_EOF, /* the server closed the connection */
    RPC_CLIENT_CLOSE_ERROR, /* an I/O or protocol error */
    RPC_CLIENT_CLOSE_KEEPALIVE, /* the server stopped answering */
    RPC_CLIENT_CLOSE_CLIENT, /* rpc_client_close() */
    RPC_CLIENT_CLOSE_LAST
} RpcClientCloseReason;

const char *rpc_client_close_reason_to_string(RpcClientCloseReason reason);

/* Connect on the caller's thread (blocking; not the I/O thread). */
RpcClient *rpc_client_new_unix(const char *path, GError **error);
RpcClient *rpc_client_new_tcp(const char *host, guint port, GError **error);
/* TLS over TCP: ctx is a client context, hostname what the server's
 * certificate must match (NULL: host). */
RpcClient *rpc_client_new_tls(const char *host, guint port, TlsContext *ctx, const char *hostname,
                              GError **error);

RpcClient *rpc_client_ref(RpcClient *client);
void rpc_client_unref(RpcClient *client);
/* Closes (waiting for the close callback and pending events) and drops the
 * caller's reference.  Not from an event or close callback. */
void rpc_client_free(RpcClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RpcClient, rpc_client_free)

/* Closes the connection; pending calls fail.  Waits until the I/O thread
 * has closed it, unless called on the I/O thread. */
void rpc_client_close(RpcClient *client);
gboolean rpc_client_is_open(RpcClient *client);
const char *rpc_client_get_peer(RpcClient *client);
/* A UNIX socket or TLS: nobody on the network can listen in. */
gboolean rpc_client_is_secure(RpcClient *client);

/* One call.  args_xdr/ret_xdr NULL (or rpc_xdr_void): no payload.  ret
 * must be zeroed; free it with xdr_free(ret_xdr, ret).  timeout_ms -1:
 * wait for ever (the keepalive notices a dead server); on a timeout the
 * call fails with FERRY_ERR_OPERATION_TIMEOUT and a late reply is dropped. */
gboolean rpc_client_call(RpcClient *client, guint32 prog, guint32 vers, int proc,
                         xdrproc_t args_xdr, const void *args, xdrproc_t ret_xdr, void *ret,
                         int timeout_ms, GError **error);

/* With fds (UNIX sockets only): fds_in are sent (borrowed: duplicated) as
 * CALL_WITH_FDS; fds the reply carries are returned in *fds_out (the
 * caller's, g_free the array), NULL/0 when none. */
gboolean rpc_client_call_fds(RpcClient *client, guint32 prog, guint32 vers, int proc,
                             xdrproc_t args_xdr, const void *args, const int *fds_in,
                             size_t nfds_in, xdrproc_t ret_xdr, void *ret, int **fds_out,
                             size_t *nfds_out, int timeout_ms, GError **error);

/* Events: func runs on the event thread for each MESSAGE of (prog, vers,
 * proc); decode msg with rpc_message_decode_payload().  msg is borrowed. */
typedef void (*RpcClientEventFunc)(RpcClient *client, const RpcMessage *msg, gpointer opaque);
void rpc_client_add_event_handler(RpcClient *client, guint32 prog, guint32 vers, int proc,
                                  RpcClientEventFunc func, gpointer opaque, GDestroyNotify destroy);

/* Runs once on the event thread when the connection closes (on the thread
 * calling rpc_client_free() when that closes it). */
typedef void (*RpcClientCloseFunc)(RpcClient *client, RpcClientCloseReason reason,
                                   const GError *err, gpointer opaque);
void rpc_client_set_close_callback(RpcClient *client, RpcClientCloseFunc func, gpointer opaque,
                                   GDestroyNotify destroy);

/* PINGs when nothing came from the server for interval s; closes after
 * count unanswered (reason KEEPALIVE).  Call after the server said yes to
 * feature 10. */
gboolean rpc_client_start_keepalive(RpcClient *client, int interval, guint count, GError **error);

/* A stream for a call of proc: reserves its serial.  Then make the call
 * with rpc_client_call_stream(); data the server sends before the reply is
 * kept.  Returns a reference. */
RpcStream *rpc_client_stream_new(RpcClient *client, guint32 prog, guint32 vers, int proc);
/* The call that opens st (its prog, vers, proc and serial).  On failure
 * the stream is aborted. */
gboolean rpc_client_call_stream(RpcClient *client, RpcStream *st, xdrproc_t args_xdr,
                                const void *args, xdrproc_t ret_xdr, void *ret, int timeout_ms,
                                GError **error);
