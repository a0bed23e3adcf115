/*
 * netsocket.h: one connected RPC socket (UNIX or TCP, optionally TLS) run
 * by the I/O thread.
 *
 * A NetSocket reads frames incrementally into RpcMessages and writes a
 * queue of them, never blocking: all of its I/O happens on the process's I/O
 * thread (util/iothread.h).  Its owner (a server client, an RPC client)
 * gets two callbacks, both on the I/O thread:
 *
 *     message(sock, msg, opaque)   a whole frame, header decoded and, for
 *                                  *_WITH_FDS, its fds received; msg is
 *                                  the callee's
 *     closed(sock, err, opaque)    once: EOF or a local close (err NULL),
 *                                  or what broke the connection
 *
 *     g_autoptr(NetSocket) sock = netsocket_connect_unix(path, error);
 *     netsocket_attach(sock, &callbacks, owner_ref, owner_unref, error);
 *     netsocket_send(sock, g_steal_pointer(&msg), error);     // any thread
 *     netsocket_close(sock, NULL);                             // any thread
 *
 * Reading: the length word first; a length under the minimum or over the
 * socket's maximum message size closes the connection with an error before
 * any of the body is read.  Then the body, then (UNIX sockets, *_WITH_FDS)
 * one byte per fd with the fd attached as SCM_RIGHTS, as libvirt sends them
 * after the frame.  The socket never reads past the frame it is on, so that
 * no fd-carrying byte is consumed by a plain read.  A header that does not
 * decode (unknown type or status, an fd count over the limit, fds on a TCP
 * socket) closes the connection with that error.
 *
 * Reading can be paused (counted: each pause needs a resume) by the owner:
 * a server client at its limit of outstanding calls, a stream whose
 * receive queue is full.  A paused socket reads nothing, not even replies
 * or keepalive messages: one socket multiplexes calls and streams, and
 * libvirt does the same (it stops reading the socket).
 *
 * Writing: netsocket_send() queues a message from any thread and wakes the
 * I/O thread.  The queue is bounded (netsocket_set_max_queue): a send that
 * would pass the bound fails with FERRY_ERR_OVERFLOW and closes the
 * connection (a peer that does not read).  Senders that produce a lot (stream
 * data) wait for room first with netsocket_wait_queue() on their own thread.
 *
 * TLS: netsocket_start_tls() puts a TlsSession over the fd before attach.
 * A server socket runs the handshake on the I/O thread (non-blocking) and
 * calls ready() when it is done; a client may instead finish it on its own
 * thread with netsocket_handshake_sync() before attaching.
 */
#pragma once

#include <glib.h>

#include "rpc/message.h"
#include "rpc/tls.h"

typedef struct _NetSocket NetSocket;

typedef struct {
    /* A whole message (taken). */
    void (*message)(NetSocket *sock, RpcMessage *msg, gpointer opaque);
    /* Called once when the socket is closed; err NULL for EOF or a local
     * close without a reason. */
    void (*closed)(NetSocket *sock, const GError *err, gpointer opaque);
    /* Optional: the TLS handshake run by the I/O thread has finished. */
    void (*ready)(NetSocket *sock, gpointer opaque);
} NetSocketCallbacks;

/* Connects (blocking, on the caller's thread; never on the I/O thread).
 * timeout_ms -1: the system's.  Errors are FERRY_ERR_NO_CONNECT:
 * "cannot connect to UNIX socket '/run/x': No such file or directory". */
NetSocket *netsocket_connect_unix(const char *path, GError **error);
NetSocket *netsocket_connect_tcp(const char *host, guint port, GError **error);

/* A socket over a connected fd (taken; made non-blocking and
 * close-on-exec), for accepted connections.  is_unix: AF_UNIX (fd passing
 * allowed).  peer: for messages ("127.0.0.1:4711"). */
NetSocket *netsocket_new_from_fd(int fd, gboolean is_unix, const char *peer);

NetSocket *netsocket_ref(NetSocket *sock);
void netsocket_unref(NetSocket *sock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetSocket, netsocket_unref)

/* Before netsocket_attach: run TLS over the socket.  hostname: what the
 * server's certificate must match (client), NULL for a server. */
gboolean netsocket_start_tls(NetSocket *sock, TlsContext *ctx, const char *hostname,
                             GError **error);
/* Finishes the TLS handshake on the calling thread (a client, before
 * attach), waiting at most timeout_ms (-1: no limit). */
gboolean netsocket_handshake_sync(NetSocket *sock, int timeout_ms, GError **error);

/* Largest frame accepted (the length word's value); default and maximum
 * RPC_MESSAGE_FRAME_MAX. */
void netsocket_set_max_message(NetSocket *sock, size_t bytes);
/* Bound on queued outgoing bytes; default RPC_NETSOCKET_QUEUE_MAX. */
#define RPC_NETSOCKET_QUEUE_MAX ((size_t)4 * RPC_MESSAGE_FRAME_MAX)
void netsocket_set_max_queue(NetSocket *sock, size_t bytes);

/* Starts I/O on the I/O thread (which must be running).  opaque is held
 * (released with opaque_free after closed() ran, or when the socket is
 * freed without having been attached). */
gboolean netsocket_attach(NetSocket *sock, const NetSocketCallbacks *cb, gpointer opaque,
                          GDestroyNotify opaque_free, GError **error);

/* Queues msg (taken, also on failure).  Fails when the socket is closed
 * (FERRY_ERR_NO_CONNECT) or the queue is full (FERRY_ERR_OVERFLOW, and the
 * socket closes).  Any thread. */
gboolean netsocket_send(NetSocket *sock, RpcMessage *msg, GError **error);

/* Waits (not on the I/O thread) until at most max_bytes are queued.
 * end_time: g_get_monotonic_time() deadline, -1 for none.  Fails when the
 * socket closes first (FERRY_ERR_NO_CONNECT) or at the deadline
 * (FERRY_ERR_OPERATION_TIMEOUT). */
gboolean netsocket_wait_queue(NetSocket *sock, size_t max_bytes, gint64 end_time, GError **error);

/* Counted pause of reading; any thread. */
void netsocket_pause_reading(NetSocket *sock);
void netsocket_resume_reading(NetSocket *sock);

/* Closes from any thread; closed() follows on the I/O thread with reason
 * (copied; NULL: no error).  Queued messages not yet written are dropped. */
void netsocket_close(NetSocket *sock, const GError *reason);
/* Stops reading and closes once the queue is written (an error reply
 * before dropping a misbehaving client); closed() gets reason. */
void netsocket_close_after_flush(NetSocket *sock, const GError *reason);

gboolean netsocket_is_closed(NetSocket *sock);
gboolean netsocket_is_unix(NetSocket *sock);
gboolean netsocket_has_tls(NetSocket *sock);
/* "127.0.0.1:16509", "UNIX socket /run/ferry/ferryd-sock". */
const char *netsocket_get_peer(NetSocket *sock);
/* The client certificate's DN after a TLS handshake, else NULL. */
const char *netsocket_get_peer_dn(NetSocket *sock);
size_t netsocket_get_queued_bytes(NetSocket *sock);
size_t netsocket_get_max_queue(NetSocket *sock);
