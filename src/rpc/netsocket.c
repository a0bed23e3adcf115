/*
 * netsocket.c: one connected RPC socket, run by the I/O thread.
 *
 * Threads: the read state, the TLS session and the callbacks belong to the
 * I/O thread.  The write queue, the pause count and the close request are
 * shared under sock->lock; other threads wake the I/O thread with
 * g_source_set_ready_time(source, 0), which is thread-safe and makes the
 * source dispatch on the next iteration, where it recomputes what to poll.
 *
 * References: the attached GSource holds one on the socket until the
 * socket closes (then the source is destroyed); the socket holds the
 * owner's opaque until closed() has run.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.netsocket"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/fdpass.h"
#include "util/iothread.h"
#include "rpc/netsocket.h"

/* Messages read in one dispatch before giving other sources a turn. */
#define NETSOCKET_READ_BUDGET 32

typedef enum {
    NET_READ_LEN, /* the length word */
    NET_READ_BODY, /* header and payload */
    NET_READ_FDS, /* one byte with one fd each */
} NetReadState;

typedef struct {
    RpcMessage *msg;
    size_t offset; /* bytes of the frame written */
    size_t fds_sent;
} NetOut;

typedef struct {
    GSource base;
    NetSocket *sock; /* strong */
} NetSource;

struct _NetSocket {
    gint refs;
    int fd;
    gboolean is_unix;
    char *peer;
    char *peer_dn;
    TlsSession *tls; /* I/O thread after attach */
    gboolean uses_tls;
    gboolean tls_ready;
    size_t max_message;

    GMutex lock;
    GCond cond; /* the queue shrank, or the socket closed */
    GQueue out; /* NetOut */
    size_t queued;
    size_t max_queue;
    gint pauses; /* atomic */
    gboolean closing; /* a close was requested */
    gboolean flush_close; /* close once the queue is empty */
    gboolean closed;
    GError *close_reason;
    GSource *source; /* a reference; NULL before attach and after close */

    /* I/O thread only */
    gboolean attached;
    NetSocketCallbacks cb;
    gpointer opaque;
    GDestroyNotify opaque_free;
    gpointer fd_tag;
    NetReadState rstate;
    guint8 lenbuf[RPC_MESSAGE_LEN_SIZE];
    size_t rpos;
    RpcMessage *rmsg;
    GIOCondition tls_rwant;
    GIOCondition tls_wwant;
};

/* ---------------------------------------------------------------- objects */

static NetSocket *netsocket_new(int fd, gboolean is_unix, const char *peer)
{
    NetSocket *sock = g_new0(NetSocket, 1);

    sock->refs = 1;
    sock->fd = fd;
    sock->is_unix = is_unix;
    sock->peer = g_strdup(peer);
    sock->max_message = RPC_MESSAGE_FRAME_MAX;
    sock->max_queue = RPC_NETSOCKET_QUEUE_MAX;
    sock->tls_rwant = G_IO_IN;
    sock->tls_wwant = G_IO_OUT;
    g_mutex_init(&sock->lock);
    g_cond_init(&sock->cond);
    g_queue_init(&sock->out);
    return sock;
}

NetSocket *netsocket_new_from_fd(int fd, gboolean is_unix, const char *peer)
{
    if (ferry_fd_set_nonblock(fd, TRUE) < 0 || ferry_fd_set_cloexec(fd, TRUE) < 0)
        FLOG_WARN("cannot set flags on socket %d: %s", fd, g_strerror(errno));
    if (!is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return netsocket_new(fd, is_unix, peer);
}

NetSocket *netsocket_ref(NetSocket *sock)
{
    g_atomic_int_inc(&sock->refs);
    return sock;
}

static void net_out_free(gpointer p)
{
    NetOut *out = p;

    rpc_message_free(out->msg);
    g_free(out);
}

void netsocket_unref(NetSocket *sock)
{
    if (!sock || !g_atomic_int_dec_and_test(&sock->refs))
        return;
    if (sock->source) {
        g_source_destroy(sock->source);
        g_source_unref(sock->source);
    }
    if (sock->opaque_free && sock->opaque)
        sock->opaque_free(sock->opaque);
    g_clear_pointer(&sock->tls, tls_session_free);
    ferry_fd_close(&sock->fd);
    g_queue_clear_full(&sock->out, net_out_free);
    rpc_message_free(sock->rmsg);
    g_clear_error(&sock->close_reason);
    g_free(sock->peer);
    g_free(sock->peer_dn);
    g_mutex_clear(&sock->lock);
    g_cond_clear(&sock->cond);
    g_free(sock);
}

/* ---------------------------------------------------------------- connecting */

NetSocket *netsocket_connect_unix(const char *path, GError **error)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    g_auto(FerryFd) fd = -1;
    g_autofree char *peer = g_strdup_printf("UNIX socket %s", path);

    if (strlen(path) >= sizeof(addr.sun_path)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "UNIX socket path '%s' is longer than %zu bytes",
                   path, sizeof(addr.sun_path) - 1);
        return NULL;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ferry_fail_errno(error, errno, "cannot create a UNIX socket");
        return NULL;
    }
    while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        if (errno == EINTR)
            continue;
        ferry_fail(error, FERRY_ERR_NO_CONNECT, "cannot connect to UNIX socket '%s': %s", path,
                   g_strerror(errno));
        return NULL;
    }
    return netsocket_new_from_fd(ferry_fd_steal(&fd), TRUE, peer);
}

NetSocket *netsocket_connect_tcp(const char *host, guint port, GError **error)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    g_autofree char *service = g_strdup_printf("%u", port);
    g_autofree char *peer = strchr(host, ':') ? g_strdup_printf("[%s]:%u", host, port)
                                              : g_strdup_printf("%s:%u", host, port);
    int saved = 0;
    int rc;

    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        ferry_fail(error, FERRY_ERR_NO_CONNECT, "cannot resolve host '%s': %s", host,
                   gai_strerror(rc));
        return NULL;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        g_auto(FerryFd) fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

        if (fd < 0) {
            saved = errno;
            continue;
        }
        while ((rc = connect(fd, ai->ai_addr, ai->ai_addrlen)) < 0 && errno == EINTR)
            ;
        if (rc == 0) {
            freeaddrinfo(res);
            return netsocket_new_from_fd(ferry_fd_steal(&fd), FALSE, peer);
        }
        saved = errno;
    }
    freeaddrinfo(res);
    ferry_fail(error, FERRY_ERR_NO_CONNECT, "cannot connect to %s: %s", peer,
               g_strerror(saved ? saved : ECONNREFUSED));
    return NULL;
}

/* ---------------------------------------------------------------- TLS */

gboolean netsocket_start_tls(NetSocket *sock, TlsContext *ctx, const char *hostname, GError **error)
{
    if (sock->attached || sock->tls) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "TLS started on %s after attach or twice",
                   sock->peer);
        return FALSE;
    }
    if (!(sock->tls = tls_session_new(ctx, sock->fd, hostname, error)))
        return FALSE;
    sock->uses_tls = TRUE;
    return TRUE;
}

static void netsocket_tls_done(NetSocket *sock)
{
    const char *dn = tls_session_get_peer_dn(sock->tls);

    sock->tls_ready = TRUE;
    g_mutex_lock(&sock->lock);
    sock->peer_dn = g_strdup(dn);
    g_mutex_unlock(&sock->lock);
}

gboolean netsocket_handshake_sync(NetSocket *sock, int timeout_ms, GError **error)
{
    if (!sock->tls || sock->attached) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "no TLS handshake to run on %s", sock->peer);
        return FALSE;
    }
    if (!tls_session_handshake_sync(sock->tls, timeout_ms, error))
        return FALSE;
    netsocket_tls_done(sock);
    return TRUE;
}

/* ---------------------------------------------------------------- settings */

void netsocket_set_max_message(NetSocket *sock, size_t bytes)
{
    sock->max_message = MIN(MAX(bytes, (size_t)RPC_MESSAGE_FRAME_MIN), RPC_MESSAGE_FRAME_MAX);
}

void netsocket_set_max_queue(NetSocket *sock, size_t bytes)
{
    g_mutex_lock(&sock->lock);
    sock->max_queue = bytes;
    g_mutex_unlock(&sock->lock);
}

gboolean netsocket_is_closed(NetSocket *sock)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&sock->lock);

    return sock->closed || sock->closing;
}

gboolean netsocket_is_unix(NetSocket *sock)
{
    return sock->is_unix;
}

gboolean netsocket_has_tls(NetSocket *sock)
{
    return sock->uses_tls;
}

const char *netsocket_get_peer(NetSocket *sock)
{
    return sock->peer;
}

const char *netsocket_get_peer_dn(NetSocket *sock)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&sock->lock);

    return sock->peer_dn;
}

size_t netsocket_get_max_queue(NetSocket *sock)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&sock->lock);

    return sock->max_queue;
}

size_t netsocket_get_queued_bytes(NetSocket *sock)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&sock->lock);

    return sock->queued;
}

/* Call with sock->lock held. */
static void netsocket_wake_locked(NetSocket *sock)
{
    if (sock->source)
        g_source_set_ready_time(sock->source, 0);
}

/* ---------------------------------------------------------------- closing */

/* On the I/O thread: close now and tell the owner. */
static void netsocket_do_close(NetSocket *sock, const GError *err)
{
    GSource *src;
    g_autoptr(GError) reason = NULL;

    g_mutex_lock(&sock->lock);
    if (sock->closed) {
        g_mutex_unlock(&sock->lock);
        return;
    }
    sock->closed = TRUE;
    sock->closing = TRUE;
    src = g_steal_pointer(&sock->source);
    g_queue_clear_full(&sock->out, net_out_free);
    sock->queued = 0;
    reason = err ? g_error_copy(err) : g_steal_pointer(&sock->close_reason);
    g_cond_broadcast(&sock->cond);
    g_mutex_unlock(&sock->lock);

    if (reason)
        FLOG_DEBUG("closing %s: %s", sock->peer, reason->message);
    else
        FLOG_DEBUG("closing %s", sock->peer);
    if (src) {
        g_source_destroy(src);
        g_source_unref(src); /* the source's finalize drops its socket ref */
    }
    sock->fd_tag = NULL;
    if (sock->tls) {
        if (sock->tls_ready && !reason)
            tls_session_bye(sock->tls, NULL);
        g_clear_pointer(&sock->tls, tls_session_free);
    }
    shutdown(sock->fd, SHUT_RDWR);
    ferry_fd_close(&sock->fd);
    g_clear_pointer(&sock->rmsg, rpc_message_free);

    if (sock->cb.closed)
        sock->cb.closed(sock, reason, sock->opaque);
    if (sock->opaque_free && sock->opaque)
        sock->opaque_free(sock->opaque);
    sock->opaque = NULL;
    sock->opaque_free = NULL;
}

void netsocket_close(NetSocket *sock, const GError *reason)
{
    g_mutex_lock(&sock->lock);
    if (sock->closed || (sock->closing && !sock->flush_close)) {
        g_mutex_unlock(&sock->lock);
        return;
    }
    sock->closing = TRUE;
    sock->flush_close = FALSE;
    if (reason && !sock->close_reason)
        sock->close_reason = g_error_copy(reason);
    g_cond_broadcast(&sock->cond);
    if (sock->attached) {
        netsocket_wake_locked(sock);
        g_mutex_unlock(&sock->lock);
        return;
    }
    /* Never attached: nothing runs on the I/O thread for it. */
    sock->closed = TRUE;
    g_queue_clear_full(&sock->out, net_out_free);
    sock->queued = 0;
    g_mutex_unlock(&sock->lock);
    g_clear_pointer(&sock->tls, tls_session_free);
    ferry_fd_close(&sock->fd);
}

void netsocket_close_after_flush(NetSocket *sock, const GError *reason)
{
    g_mutex_lock(&sock->lock);
    if (!sock->closing && !sock->closed) {
        sock->flush_close = TRUE;
        if (reason && !sock->close_reason)
            sock->close_reason = g_error_copy(reason);
        netsocket_wake_locked(sock);
    }
    g_mutex_unlock(&sock->lock);
}

/* ---------------------------------------------------------------- sending */

/* With sock->lock held, on any thread: when nothing is queued (so the I/O
 * thread is writing nothing either: it pops a message only once all of it
 * went out), writes what the socket takes of out right away.  A call or a
 * reply then needs no wake-up of the I/O thread and no switch to it; what
 * does not fit stays in out (offset) for the I/O thread.  Plain sockets
 * only (a TLS session belongs to the I/O thread), no fds (they follow the
 * bytes, fdpass_send_fd on the I/O thread), and errors are left to the I/O
 * thread to find and report: it closes the socket as usual.  The fd stays
 * open meanwhile: netsocket_do_close marks the socket closed under the
 * lock before it closes the fd. */
static void netsocket_send_direct_locked(NetSocket *sock, NetOut *out)
{
    if (!sock->attached || sock->uses_tls || sock->closed || sock->closing || out->msg->nfds > 0 ||
        !g_queue_is_empty(&sock->out))
        return;
    while (out->offset < out->msg->length) {
        ssize_t n = send(sock->fd, out->msg->buffer + out->offset, out->msg->length - out->offset,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        out->offset += (size_t)n;
    }
}

gboolean netsocket_send(NetSocket *sock, RpcMessage *msg, GError **error)
{
    g_autoptr(RpcMessage) owned = msg;
    g_autoptr(GError) err = NULL;
    NetOut *out;

    g_mutex_lock(&sock->lock);
    if (sock->closed || sock->closing || sock->flush_close) {
        g_mutex_unlock(&sock->lock);
        ferry_fail(error, FERRY_ERR_NO_CONNECT, "connection to %s is closed", sock->peer);
        return FALSE;
    }
    if (sock->queued > 0 && sock->queued + owned->length > sock->max_queue) {
        ferry_fail(&err, FERRY_ERR_OVERFLOW,
                   "%s is not reading: %zu bytes are queued for it, the limit is %zu", sock->peer,
                   sock->queued, sock->max_queue);
        g_mutex_unlock(&sock->lock);
        FLOG_WARN("%s", err->message);
        netsocket_close(sock, err);
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    out = g_new0(NetOut, 1);
    out->msg = g_steal_pointer(&owned);
    netsocket_send_direct_locked(sock, out);
    if (out->offset == out->msg->length) {
        g_mutex_unlock(&sock->lock);
        net_out_free(out);
        return TRUE;
    }
    sock->queued += out->msg->length;
    g_queue_push_tail(&sock->out, out);
    netsocket_wake_locked(sock);
    g_mutex_unlock(&sock->lock);
    return TRUE;
}

gboolean netsocket_wait_queue(NetSocket *sock, size_t max_bytes, gint64 end_time, GError **error)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&sock->lock);

    if (iothread_is_current()) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "BUG: waiting for %s on the I/O thread", sock->peer);
        return FALSE;
    }
    while (!sock->closed && !sock->closing && sock->queued > max_bytes) {
        if (end_time < 0) {
            g_cond_wait(&sock->cond, &sock->lock);
        } else if (!g_cond_wait_until(&sock->cond, &sock->lock, end_time)) {
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "timed out waiting to send to %s (%zu bytes queued)", sock->peer,
                       sock->queued);
            return FALSE;
        }
    }
    if (sock->closed || sock->closing) {
        ferry_fail(error, FERRY_ERR_NO_CONNECT, "connection to %s is closed", sock->peer);
        return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- pausing */

void netsocket_pause_reading(NetSocket *sock)
{
    g_atomic_int_inc(&sock->pauses);
}

void netsocket_resume_reading(NetSocket *sock)
{
    if (g_atomic_int_dec_and_test(&sock->pauses)) {
        g_mutex_lock(&sock->lock);
        netsocket_wake_locked(sock);
        g_mutex_unlock(&sock->lock);
    }
}

static gboolean netsocket_reading(NetSocket *sock)
{
    return g_atomic_int_get(&sock->pauses) <= 0;
}

/* ---------------------------------------------------------------- I/O */

/* > 0 bytes, 0 EOF, -2 would block, -1 error. */
static gssize netsocket_read_wire(NetSocket *sock, void *buf, size_t len, GError **error)
{
    gssize n;

    if (sock->tls) {
        n = tls_session_read(sock->tls, buf, len, error);
        if (n == TLS_IO_AGAIN) {
            sock->tls_rwant = tls_session_get_blocked_condition(sock->tls);
            return -2;
        }
        sock->tls_rwant = G_IO_IN;
        return n;
    }
    do {
        n = recv(sock->fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -2;
    if (n < 0) {
        ferry_fail(error, FERRY_ERR_NO_CONNECT, "cannot read from %s: %s", sock->peer,
                   g_strerror(errno));
        return -1;
    }
    return n;
}

static gssize netsocket_write_wire(NetSocket *sock, const void *buf, size_t len, GError **error)
{
    gssize n;

    if (sock->tls) {
        n = tls_session_write(sock->tls, buf, len, error);
        if (n == TLS_IO_AGAIN) {
            sock->tls_wwant = tls_session_get_blocked_condition(sock->tls);
            return -2;
        }
        sock->tls_wwant = G_IO_OUT;
        return n;
    }
    do {
        n = send(sock->fd, buf, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -2;
    if (n < 0) {
        ferry_fail(error, FERRY_ERR_NO_CONNECT, "cannot write to %s: %s", sock->peer,
                   g_strerror(errno));
        return -1;
    }
    return n;
}

/* Writes what it can; FALSE with *error when the connection broke. */
static gboolean netsocket_flush(NetSocket *sock, GError **error)
{
    for (;;) {
        NetOut *out;

        g_mutex_lock(&sock->lock);
        out = g_queue_peek_head(&sock->out);
        g_mutex_unlock(&sock->lock);
        if (!out)
            return TRUE;

        while (out->offset < out->msg->length) {
            gssize n = netsocket_write_wire(sock, out->msg->buffer + out->offset,
                                            out->msg->length - out->offset, error);
            if (n == -2)
                return TRUE;
            if (n < 0)
                return FALSE;
            out->offset += (size_t)n;
        }
        while (out->fds_sent < out->msg->nfds) {
            int rc = fdpass_send_fd(sock->fd, out->msg->fds[out->fds_sent], error);

            if (rc == FDPASS_WOULD_BLOCK)
                return TRUE;
            if (rc < 0)
                return FALSE;
            out->fds_sent++;
        }

        g_mutex_lock(&sock->lock);
        g_queue_pop_head(&sock->out);
        sock->queued -= out->msg->length;
        g_cond_broadcast(&sock->cond);
        g_mutex_unlock(&sock->lock);
        net_out_free(out);
    }
}

/* The frame in sock->rmsg is complete: decode its header. */
static gboolean netsocket_frame_done(NetSocket *sock, GError **error)
{
    RpcMessage *msg = sock->rmsg;

    if (!rpc_message_decode_header(msg, error))
        return FALSE;
    if (msg->nfds_expected > 0 && !sock->is_unix) {
        ferry_fail(error, FERRY_ERR_RPC,
                   "RPC: %s sent a %s message with %zu file descriptors; fds pass over UNIX "
                   "sockets only",
                   sock->peer, rpc_message_type_to_string(msg->header.type), msg->nfds_expected);
        return FALSE;
    }
    sock->rstate = msg->nfds_expected > 0 ? NET_READ_FDS : NET_READ_LEN;
    return TRUE;
}

static gboolean netsocket_closing(NetSocket *sock)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&sock->lock);

    return sock->closing || sock->closed || sock->flush_close;
}

/* Reads messages until the socket would block, is paused or the budget is
 * spent.  FALSE: the connection is over (*error set, or NULL for EOF). */
static gboolean netsocket_fill(NetSocket *sock, GError **error)
{
    for (int budget = NETSOCKET_READ_BUDGET; budget > 0; budget--) {
        gssize n;

        if (!netsocket_reading(sock) || netsocket_closing(sock))
            return TRUE;

        switch (sock->rstate) {
        case NET_READ_LEN:
            n = netsocket_read_wire(sock, sock->lenbuf + sock->rpos,
                                    sizeof(sock->lenbuf) - sock->rpos, error);
            if (n == -2)
                return TRUE;
            if (n < 0)
                return FALSE;
            if (n == 0) {
                if (sock->rpos > 0)
                    ferry_fail(error, FERRY_ERR_RPC,
                               "RPC: %s closed the connection inside a length word", sock->peer);
                return FALSE;
            }
            sock->rpos += (size_t)n;
            if (sock->rpos < sizeof(sock->lenbuf)) {
                budget++;
                continue;
            }
            gssize len = rpc_message_decode_length(sock->lenbuf, error);
            if (len < 0)
                return FALSE;
            if ((size_t)len > sock->max_message) {
                ferry_fail(error, FERRY_ERR_OVERFLOW,
                           "RPC: %s sent a frame of %zd bytes, over the limit of %zu", sock->peer,
                           len, sock->max_message);
                return FALSE;
            }
            sock->rmsg = rpc_message_new();
            rpc_message_alloc_buffer(sock->rmsg, (size_t)len);
            sock->rmsg->length = (size_t)len;
            memcpy(sock->rmsg->buffer, sock->lenbuf, sizeof(sock->lenbuf));
            sock->rstate = NET_READ_BODY;
            budget++;
            continue;

        case NET_READ_BODY:
            n = netsocket_read_wire(sock, sock->rmsg->buffer + sock->rpos,
                                    sock->rmsg->length - sock->rpos, error);
            if (n == -2)
                return TRUE;
            if (n < 0)
                return FALSE;
            if (n == 0) {
                ferry_fail(error, FERRY_ERR_RPC,
                           "RPC: truncated frame: %s closed the connection after %zu of %zu bytes",
                           sock->peer, sock->rpos, sock->rmsg->length);
                return FALSE;
            }
            sock->rpos += (size_t)n;
            if (sock->rpos < sock->rmsg->length) {
                budget++;
                continue;
            }
            if (!netsocket_frame_done(sock, error))
                return FALSE;
            break;

        case NET_READ_FDS: {
            int fd = fdpass_recv_fd(sock->fd, error);

            if (fd == FDPASS_WOULD_BLOCK)
                return TRUE;
            if (fd < 0)
                return FALSE;
            if (!rpc_message_add_fd(sock->rmsg, fd, error))
                return FALSE;
            if (sock->rmsg->nfds < sock->rmsg->nfds_expected) {
                budget++;
                continue;
            }
            sock->rstate = NET_READ_LEN;
            break;
        }
        }

        if (sock->rstate != NET_READ_LEN)
            continue;
        /* A whole message. */
        RpcMessage *msg = g_steal_pointer(&sock->rmsg);
        sock->rpos = 0;
        if (sock->cb.message)
            sock->cb.message(sock, msg, sock->opaque);
        else
            rpc_message_free(msg);
    }
    return TRUE;
}

/* What to poll for now; on the I/O thread. */
static void netsocket_update(NetSocket *sock)
{
    GIOCondition want = 0;
    GSource *src;
    gboolean writing;
    gboolean flush_close;

    g_mutex_lock(&sock->lock);
    src = sock->source;
    writing = !g_queue_is_empty(&sock->out);
    flush_close = sock->flush_close;
    g_mutex_unlock(&sock->lock);
    if (!src)
        return;

    if (sock->tls && !sock->tls_ready) {
        want = tls_session_get_blocked_condition(sock->tls);
    } else {
        if (netsocket_reading(sock) && !flush_close)
            want |= sock->tls ? sock->tls_rwant : G_IO_IN;
        if (writing)
            want |= sock->tls ? sock->tls_wwant : G_IO_OUT;
    }
    /* No interest: take the fd out of the poll, or a hung-up peer of a
     * paused socket would wake the loop forever. */
    if (!want) {
        if (sock->fd_tag)
            g_source_remove_unix_fd(src, sock->fd_tag);
        sock->fd_tag = NULL;
    } else if (sock->fd_tag) {
        g_source_modify_unix_fd(src, sock->fd_tag, want);
    } else {
        sock->fd_tag = g_source_add_unix_fd(src, sock->fd, want);
    }
}

static void netsocket_handle(NetSocket *sock)
{
    g_autoptr(GError) err = NULL;
    gboolean close_now;
    gboolean flush_close;

    g_mutex_lock(&sock->lock);
    close_now = sock->closing && !sock->closed;
    g_mutex_unlock(&sock->lock);
    if (close_now) {
        netsocket_do_close(sock, NULL);
        return;
    }

    if (sock->tls && !sock->tls_ready) {
        switch (tls_session_handshake(sock->tls, &err)) {
        case TLS_STATUS_ERROR:
            netsocket_do_close(sock, err);
            return;
        case TLS_STATUS_DONE:
            netsocket_tls_done(sock);
            FLOG_DEBUG("TLS handshake with %s done", sock->peer);
            if (sock->cb.ready)
                sock->cb.ready(sock, sock->opaque);
            break;
        default:
            netsocket_update(sock);
            return;
        }
    }

    if (!netsocket_flush(sock, &err) || !netsocket_fill(sock, &err)) {
        netsocket_do_close(sock, err);
        return;
    }
    /* Replies written by a message callback go out now. */
    if (!netsocket_flush(sock, &err)) {
        netsocket_do_close(sock, err);
        return;
    }

    g_mutex_lock(&sock->lock);
    close_now = sock->closing && !sock->closed;
    flush_close = sock->flush_close && g_queue_is_empty(&sock->out);
    g_mutex_unlock(&sock->lock);
    if (close_now || flush_close) {
        netsocket_do_close(sock, NULL);
        return;
    }
    netsocket_update(sock);
}

static gboolean netsocket_source_prepare(GSource *source, gint *timeout)
{
    NetSocket *sock = ((NetSource *)source)->sock;

    *timeout = -1;
    /* Decrypted bytes waiting in the session do not make the fd readable. */
    return sock->tls && sock->tls_ready && netsocket_reading(sock) &&
           tls_session_pending(sock->tls) > 0;
}

static gboolean netsocket_source_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
    NetSocket *sock = netsocket_ref(((NetSource *)source)->sock);

    g_source_set_ready_time(source, -1);
    netsocket_handle(sock);
    netsocket_unref(sock);
    return G_SOURCE_CONTINUE;
}

static void netsocket_source_finalize(GSource *source)
{
    NetSource *ns = (NetSource *)source;

    g_clear_pointer(&ns->sock, netsocket_unref);
}

static GSourceFuncs netsocket_source_funcs = {
    .prepare = netsocket_source_prepare,
    .dispatch = netsocket_source_dispatch,
    .finalize = netsocket_source_finalize,
};

gboolean netsocket_attach(NetSocket *sock, const NetSocketCallbacks *cb, gpointer opaque,
                          GDestroyNotify opaque_free, GError **error)
{
    GMainContext *ctx = iothread_context();
    GSource *src;

    if (!ctx) {
        if (opaque_free && opaque)
            opaque_free(opaque);
        ferry_fail(error, FERRY_ERR_INTERNAL, "the I/O thread is not running");
        return FALSE;
    }
    if (sock->attached || sock->fd < 0) {
        if (opaque_free && opaque)
            opaque_free(opaque);
        ferry_fail(error, FERRY_ERR_INTERNAL, "socket %s is attached twice or closed", sock->peer);
        return FALSE;
    }
    sock->cb = *cb;
    sock->opaque = opaque;
    sock->opaque_free = opaque_free;

    src = g_source_new(&netsocket_source_funcs, sizeof(NetSource));
    ((NetSource *)src)->sock = netsocket_ref(sock);
    g_source_set_name(src, "ferry-netsocket");
    g_source_set_ready_time(src, 0); /* the first dispatch sets up the poll */

    g_mutex_lock(&sock->lock);
    sock->source = src; /* the creation reference */
    sock->attached = TRUE;
    g_mutex_unlock(&sock->lock);
    g_source_attach(src, ctx);
    return TRUE;
}
