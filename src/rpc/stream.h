/*
 * stream.h: RPC streams (libvirt's STREAM messages) at either end.
 *
 * A stream is opened by a CALL (for example PREPARE_TUNNEL3_PARAMS) and is
 * keyed by that call's program, procedure and serial: every STREAM message
 * carries them.  Status CONTINUE carries raw bytes (at most
 * RPC_STREAM_CHUNK_MAX per message from us), OK ends the sender's
 * direction, ERROR aborts the stream (the server sends an error record, the
 * client an empty payload).  Ending: the side that is done sending sends OK
 * with rpc_stream_finish(), which then waits for the peer's OK; the peer
 * sees the end of the data (rpc_stream_recv() returns 0) and calls
 * rpc_stream_finish() in turn, which sends the confirming OK.  A server end
 * that receives the client's abort confirms it with an empty OK, as
 * libvirtd does.
 *
 * Streams are made by the connection they ride on:
 * rpc_client_stream_new() (client.h) and rpc_server_client_open_stream()
 * (server.h).  Both ends are this same object.
 *
 * Flow control.  Sending waits (on the caller's thread, never the I/O
 * thread) while the socket has more than the window queued, so a slow
 * reader backs up the writer through TCP; an abort (either side) ends the
 * wait within STREAM_WAIT_SLICE_US (stream.c).  Receiving: data arrives on the
 * I/O thread and is queued for rpc_stream_recv() (pull), or handed to a
 * consumer callback that may refuse a chunk (then it stays queued until
 * rpc_stream_resume()).  When the queue holds the window or more, the
 * stream pauses reading the whole socket, as libvirt does: one socket
 * multiplexes calls, replies, keepalive and all streams, so while a stream
 * consumer lags, nothing else is read from that connection either.  The
 * queue therefore never holds more than window - 1 bytes plus one message.
 */
#pragma once

#include <glib.h>

#include "rpc/netsocket.h"

typedef struct _RpcStream RpcStream;

/* The default window: 4 MiB. */
#define RPC_STREAM_WINDOW_DEFAULT ((size_t)4 * 1024 * 1024)

RpcStream *rpc_stream_ref(RpcStream *st);
void rpc_stream_unref(RpcStream *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RpcStream, rpc_stream_unref)

guint32 rpc_stream_get_serial(RpcStream *st);
int rpc_stream_get_proc(RpcStream *st);
/* prog, vers, proc and serial of the opening call. */
const RpcHeader *rpc_stream_get_header(RpcStream *st);

/* Receive queue bound and send backlog bound, in bytes (>= one chunk). */
void rpc_stream_set_window(RpcStream *st, size_t bytes);

/* Sends len bytes in chunks of at most RPC_STREAM_CHUNK_MAX, waiting for
 * room (see above).  Fails once the stream was finished or aborted, or its
 * connection closed.  Not on the I/O thread. */
gboolean rpc_stream_send(RpcStream *st, const void *data, size_t len, GError **error);

/* Waits for room as rpc_stream_send does, then reads what fd has (blocking
 * for the first byte, then only what is ready, at most
 * RPC_STREAM_CHUNK_MAX) straight into the frame that goes out: the bytes
 * sent, 0 at fd's EOF (nothing sent), -1 with *error.  fd may be blocking
 * or not; to stop a sender blocked on fd, shut fd down (its EOF).  Not on
 * the I/O thread. */
gssize rpc_stream_send_from_fd(RpcStream *st, int fd, GError **error);

/* Waits for data: > 0 bytes copied, 0 at the end of the peer's data, -1
 * with *error on abort, close or timeout (timeout_ms -1: none).  Not on
 * the I/O thread; not with a consumer set. */
gssize rpc_stream_recv(RpcStream *st, void *buf, size_t len, int timeout_ms, GError **error);

/* As rpc_stream_recv, but takes the next received chunk (what is left of
 * it) out of the queue and writes it whole to fd, from the frame it came
 * in: the bytes written, 0 at the end, -1 with *error (a failed write is
 * FERRY_ERR_SYSTEM and loses that chunk).  fd may be blocking or not;
 * writing to a socket raises no SIGPIPE. */
gssize rpc_stream_recv_to_fd(RpcStream *st, int fd, int timeout_ms, GError **error);

/* Sends OK (once) and waits for the peer's OK.  FALSE with the reason if
 * the stream was aborted or its connection closed first, or with
 * FERRY_ERR_OPERATION_TIMEOUT if the OK does not come within the finish
 * timeout (30 s): the stream is then given up at this end (an abort goes
 * out, which a peer that already had this end's OK ignores).  On the I/O
 * thread it sends OK and does not wait. */
gboolean rpc_stream_finish(RpcStream *st, GError **error);
/* The finish timeout of st (<= 0: the default). */
void rpc_stream_set_finish_timeout(RpcStream *st, int timeout_ms);

/* Aborts: sends ERROR (reason NULL: "stream aborted") and fails whatever
 * waits on the stream.  No-op once finished or aborted.  Any thread. */
void rpc_stream_abort(RpcStream *st, const GError *reason);

/* Consumer callback on the I/O thread.  A chunk: (data, len > 0, NULL);
 * return FALSE to refuse it (kept, reading paused until
 * rpc_stream_resume()).  The end of data: (NULL, 0, NULL).  An abort or a
 * closed connection: (NULL, 0, err).  The return value counts only for
 * chunks. */
typedef gboolean (*RpcStreamConsumerFunc)(RpcStream *st, const guint8 *data, size_t len,
                                          const GError *err, gpointer opaque);
/* Data already queued is offered to func at once (on the I/O thread). */
void rpc_stream_set_consumer(RpcStream *st, RpcStreamConsumerFunc func, gpointer opaque,
                             GDestroyNotify destroy);
/* Offers the queued data to the consumer again; any thread. */
void rpc_stream_resume(RpcStream *st);

typedef struct {
    size_t window;
    size_t rx_queued; /* bytes received and not yet consumed */
    size_t rx_queued_max; /* the most ever queued */
    guint64 rx_bytes; /* data bytes received */
    guint64 tx_bytes; /* data bytes sent */
    guint rx_pauses; /* times the stream paused its socket */
    gboolean finished; /* both OKs seen */
    gboolean aborted;
} RpcStreamStats;

void rpc_stream_get_stats(RpcStream *st, RpcStreamStats *stats);

/* ---- for client.c and server.c ---- */

/* Called once when the stream leaves its connection's table (finished,
 * aborted, or closed with the connection). */
typedef void (*RpcStreamDetachFunc)(gpointer owner, RpcStream *st);

/* hdr: prog, vers, proc and serial of the opening call.  owner is held
 * until detach (owner_unref). */
RpcStream *rpc_stream_new(NetSocket *sock, gboolean server_end, const RpcHeader *hdr,
                          RpcStreamDetachFunc detach, gpointer owner, GDestroyNotify owner_unref);
/* A STREAM message for this stream (taken); I/O thread. */
void rpc_stream_deliver(RpcStream *st, RpcMessage *msg);
/* The connection closed (err NULL: EOF); detaches without calling the
 * detach function (the owner is emptying its table). */
void rpc_stream_connection_closed(RpcStream *st, const GError *err);
