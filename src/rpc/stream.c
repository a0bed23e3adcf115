/*
 * stream.c: RPC streams at either end.
 *
 * Locking: st->lock guards everything but the consumer callback, which
 * runs on the I/O thread without the lock.  The detach function is called
 * without the lock.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.stream"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"
#include "util/iothread.h"
#include "rpc/stream.h"

/* A sender waiting for room checks for an abort this often. */
#define STREAM_WAIT_SLICE_US (200 * 1000)
/* How long finish waits for the peer's OK once ours went out. */
#define STREAM_FINISH_TIMEOUT_MS (30 * 1000)

struct _RpcStream {
    gint refs;
    GMutex lock;
    GCond cond;
    NetSocket *sock;
    gboolean server_end;
    RpcHeader hdr; /* prog, vers, proc, serial */
    size_t window;

    GQueue rx; /* RpcMessage, CONTINUE data */
    size_t rx_offset; /* consumed bytes of the head */
    size_t rx_queued;
    size_t rx_queued_max;
    guint64 rx_bytes;
    guint64 tx_bytes;
    guint rx_pauses;
    gboolean paused; /* holds a pause on sock */
    gboolean rx_eof; /* the peer's OK arrived */
    gboolean eof_told; /* the consumer saw the end */
    gboolean tx_done; /* our OK went out */
    gboolean aborted;
    int finish_timeout_ms;
    GError *error; /* why the stream is unusable */

    RpcStreamConsumerFunc consumer;
    gpointer consumer_opaque;
    GDestroyNotify consumer_destroy;
    gboolean delivering;

    RpcStreamDetachFunc detach;
    gpointer owner;
    GDestroyNotify owner_unref;
    gboolean detached;
};

RpcStream *rpc_stream_new(NetSocket *sock, gboolean server_end, const RpcHeader *hdr,
                          RpcStreamDetachFunc detach, gpointer owner, GDestroyNotify owner_unref)
{
    RpcStream *st = g_new0(RpcStream, 1);

    st->refs = 1;
    g_mutex_init(&st->lock);
    g_cond_init(&st->cond);
    st->sock = netsocket_ref(sock);
    st->server_end = server_end;
    st->hdr = *hdr;
    st->hdr.type = RPC_STREAM;
    st->hdr.status = RPC_STATUS_CONTINUE;
    st->window = RPC_STREAM_WINDOW_DEFAULT;
    g_queue_init(&st->rx);
    st->detach = detach;
    st->owner = owner;
    st->owner_unref = owner_unref;
    return st;
}

RpcStream *rpc_stream_ref(RpcStream *st)
{
    g_atomic_int_inc(&st->refs);
    return st;
}

void rpc_stream_unref(RpcStream *st)
{
    if (!st || !g_atomic_int_dec_and_test(&st->refs))
        return;
    if (st->paused)
        netsocket_resume_reading(st->sock);
    if (st->consumer_destroy)
        st->consumer_destroy(st->consumer_opaque);
    if (st->owner_unref && st->owner)
        st->owner_unref(st->owner);
    g_queue_clear_full(&st->rx, (GDestroyNotify)rpc_message_free);
    g_clear_error(&st->error);
    netsocket_unref(st->sock);
    g_mutex_clear(&st->lock);
    g_cond_clear(&st->cond);
    g_free(st);
}

guint32 rpc_stream_get_serial(RpcStream *st)
{
    return st->hdr.serial;
}

int rpc_stream_get_proc(RpcStream *st)
{
    return st->hdr.proc;
}

const RpcHeader *rpc_stream_get_header(RpcStream *st)
{
    return &st->hdr;
}

void rpc_stream_set_window(RpcStream *st, size_t bytes)
{
    g_mutex_lock(&st->lock);
    st->window = MAX(bytes, (size_t)RPC_STREAM_CHUNK_MAX);
    g_mutex_unlock(&st->lock);
}

void rpc_stream_get_stats(RpcStream *st, RpcStreamStats *stats)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&st->lock);

    stats->window = st->window;
    stats->rx_queued = st->rx_queued;
    stats->rx_queued_max = st->rx_queued_max;
    stats->rx_bytes = st->rx_bytes;
    stats->tx_bytes = st->tx_bytes;
    stats->rx_pauses = st->rx_pauses;
    stats->finished = st->rx_eof && st->tx_done && !st->aborted;
    stats->aborted = st->aborted;
}

/* ---------------------------------------------------------------- helpers */

/* Takes the stream out of its connection's table, once.  Without the lock. */
static void stream_detach(RpcStream *st)
{
    RpcStreamDetachFunc detach;
    gpointer owner;
    GDestroyNotify owner_unref;

    g_mutex_lock(&st->lock);
    if (st->detached) {
        g_mutex_unlock(&st->lock);
        return;
    }
    st->detached = TRUE;
    detach = st->detach;
    owner = g_steal_pointer(&st->owner);
    owner_unref = st->owner_unref;
    g_mutex_unlock(&st->lock);

    if (detach && owner)
        detach(owner, st);
    if (owner_unref && owner)
        owner_unref(owner);
}

/* With the lock: the queue shrank; resume the socket below the window. */
static void stream_rx_shrunk_locked(RpcStream *st)
{
    if (st->paused && st->rx_queued < st->window) {
        st->paused = FALSE;
        netsocket_resume_reading(st->sock);
    }
}

/* With the lock: stop reading the socket at the window. */
static void stream_rx_grew_locked(RpcStream *st)
{
    if (st->rx_queued > st->rx_queued_max)
        st->rx_queued_max = st->rx_queued;
    if (!st->paused && st->rx_queued >= st->window) {
        st->paused = TRUE;
        st->rx_pauses++;
        netsocket_pause_reading(st->sock);
    }
}

/* With the lock: the stream failed (first reason wins). */
static void stream_fail_locked(RpcStream *st, GError *err)
{
    if (!st->error)
        st->error = err;
    else
        g_error_free(err);
    g_queue_clear_full(&st->rx, (GDestroyNotify)rpc_message_free);
    st->rx_queued = 0;
    st->rx_offset = 0;
    stream_rx_shrunk_locked(st);
    g_cond_broadcast(&st->cond);
}

static gboolean stream_send_message(RpcStream *st, RpcMessageStatus status, const void *data,
                                    size_t len, const GError *abort_reason, GError **error)
{
    g_autoptr(RpcMessage) msg = rpc_message_new();
    RpcHeader hdr = st->hdr;

    hdr.status = status;
    if (status == RPC_STATUS_ERROR && st->server_end) {
        if (!rpc_message_encode_error(msg, &hdr, abort_reason, error))
            return FALSE;
    } else if (!rpc_message_encode_stream(msg, &hdr, data, len, error)) {
        return FALSE;
    }
    return netsocket_send(st->sock, g_steal_pointer(&msg), error);
}

/* Offers queued data (and then the end or the error) to the consumer; on
 * the I/O thread. */
static void stream_offer(RpcStream *st)
{
    g_mutex_lock(&st->lock);
    if (!st->consumer || st->delivering) {
        g_mutex_unlock(&st->lock);
        return;
    }
    st->delivering = TRUE;
    for (;;) {
        RpcMessage *head = g_queue_peek_head(&st->rx);

        if (head) {
            size_t len;
            const guint8 *data = rpc_message_stream_data(head, &len);
            gboolean taken;

            g_mutex_unlock(&st->lock);
            taken = st->consumer(st, data + st->rx_offset, len - st->rx_offset, NULL,
                                 st->consumer_opaque);
            g_mutex_lock(&st->lock);
            if (!taken) {
                /* Kept: pause reading until the consumer resumes us. */
                if (!st->paused) {
                    st->paused = TRUE;
                    st->rx_pauses++;
                    netsocket_pause_reading(st->sock);
                }
                break;
            }
            if (g_queue_peek_head(&st->rx) == head) {
                g_queue_pop_head(&st->rx);
                st->rx_queued -= len - st->rx_offset;
                st->rx_offset = 0;
                rpc_message_free(head);
            }
            if (st->paused && st->rx_queued < st->window) {
                st->paused = FALSE;
                netsocket_resume_reading(st->sock);
            }
            continue;
        }
        if (!st->eof_told && (st->rx_eof || st->error)) {
            g_autoptr(GError) err = st->error ? g_error_copy(st->error) : NULL;

            st->eof_told = TRUE;
            g_mutex_unlock(&st->lock);
            st->consumer(st, NULL, 0, err, st->consumer_opaque);
            g_mutex_lock(&st->lock);
        }
        break;
    }
    st->delivering = FALSE;
    g_mutex_unlock(&st->lock);
}

static void stream_offer_cb(gpointer opaque)
{
    stream_offer(opaque);
}

void rpc_stream_set_consumer(RpcStream *st, RpcStreamConsumerFunc func, gpointer opaque,
                             GDestroyNotify destroy)
{
    g_mutex_lock(&st->lock);
    st->consumer = func;
    st->consumer_opaque = opaque;
    st->consumer_destroy = destroy;
    g_mutex_unlock(&st->lock);
    rpc_stream_resume(st);
}

void rpc_stream_resume(RpcStream *st)
{
    iothread_invoke(stream_offer_cb, rpc_stream_ref(st), (GDestroyNotify)rpc_stream_unref);
}

/* ---------------------------------------------------------------- from the wire */

void rpc_stream_deliver(RpcStream *st, RpcMessage *msg)
{
    g_autoptr(RpcMessage) owned = msg;
    gboolean complete = FALSE;
    gboolean confirm = FALSE;
    size_t len;

    rpc_message_stream_data(owned, &len);
    g_mutex_lock(&st->lock);
    if (st->error || st->rx_eof) {
        /* Late data after an abort or the end: dropped, as libvirt does. */
        g_mutex_unlock(&st->lock);
        FLOG_DEBUG("dropping %s stream message for finished stream serial %u",
                   rpc_message_status_to_string(owned->header.status), st->hdr.serial);
        return;
    }
    switch (owned->header.status) {
    case RPC_STATUS_CONTINUE:
        if (owned->header.type != RPC_STREAM) {
            /* STREAM_HOLE: ferry's streams are not sparse. */
            g_mutex_unlock(&st->lock);
            return;
        }
        if (len == 0)
            break;
        st->rx_bytes += len;
        st->rx_queued += len;
        g_queue_push_tail(&st->rx, g_steal_pointer(&owned));
        stream_rx_grew_locked(st);
        g_cond_broadcast(&st->cond);
        break;
    case RPC_STATUS_OK:
        st->rx_eof = TRUE;
        complete = st->tx_done;
        g_cond_broadcast(&st->cond);
        break;
    case RPC_STATUS_ERROR: {
        GError *err = NULL;

        if (st->server_end) {
            ferry_fail(&err, FERRY_ERR_OPERATION_ABORTED,
                       "stream of procedure %d aborted at client request", st->hdr.proc);
            confirm = !st->tx_done;
            st->tx_done = TRUE;
        } else {
            g_autoptr(GError) derr = NULL;

            err = rpc_message_decode_error(owned, &derr);
            if (!err)
                err = g_steal_pointer(&derr);
        }
        st->aborted = TRUE;
        stream_fail_locked(st, err);
        complete = TRUE;
        break;
    }
    default:
        break;
    }
    g_mutex_unlock(&st->lock);

    if (confirm)
        stream_send_message(st, RPC_STATUS_OK, NULL, 0, NULL, NULL);
    stream_offer(st);
    if (complete)
        stream_detach(st);
}

void rpc_stream_connection_closed(RpcStream *st, const GError *err)
{
    g_mutex_lock(&st->lock);
    st->detached = TRUE;
    if (!(st->rx_eof && st->tx_done) && !st->error) {
        GError *e = NULL;

        if (err)
            ferry_fail(&e, FERRY_ERR_NO_CONNECT, "stream of procedure %d: %s", st->hdr.proc,
                       err->message);
        else
            ferry_fail(&e, FERRY_ERR_NO_CONNECT, "stream of procedure %d: connection to %s closed",
                       st->hdr.proc, netsocket_get_peer(st->sock));
        stream_fail_locked(st, e);
    }
    g_cond_broadcast(&st->cond);
    g_mutex_unlock(&st->lock);
    stream_offer(st);
}

/* ---------------------------------------------------------------- the API */

static gboolean stream_check_usable_locked(RpcStream *st, GError **error)
{
    if (st->error) {
        g_propagate_error(error, g_error_copy(st->error));
        return FALSE;
    }
    return TRUE;
}

/* Waits until the socket's queue is within the window, checking every
 * STREAM_WAIT_SLICE_US that the stream may still send (an abort on either
 * side, or a finish, ends the wait). */
static gboolean stream_wait_room(RpcStream *st, GError **error)
{
    for (;;) {
        g_autoptr(GError) err = NULL;
        size_t window;

        g_mutex_lock(&st->lock);
        if (!stream_check_usable_locked(st, error)) {
            g_mutex_unlock(&st->lock);
            return FALSE;
        }
        if (st->tx_done) {
            g_mutex_unlock(&st->lock);
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "stream of procedure %d: sending after finish", st->hdr.proc);
            return FALSE;
        }
        window = st->window;
        g_mutex_unlock(&st->lock);

        if (netsocket_wait_queue(st->sock, window, g_get_monotonic_time() + STREAM_WAIT_SLICE_US,
                                 &err))
            return TRUE;
        if (!ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT)) {
            g_propagate_error(error, g_steal_pointer(&err));
            return FALSE;
        }
    }
}

/* Queues a sealed CONTINUE frame of len data bytes (taken), unless the
 * stream was aborted or finished meanwhile. */
static gboolean stream_queue_data(RpcStream *st, RpcMessage *msg, size_t len, GError **error)
{
    g_autoptr(RpcMessage) owned = msg;

    g_mutex_lock(&st->lock);
    if (!stream_check_usable_locked(st, error)) {
        g_mutex_unlock(&st->lock);
        return FALSE;
    }
    if (st->tx_done) {
        g_mutex_unlock(&st->lock);
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "stream of procedure %d: sending after finish", st->hdr.proc);
        return FALSE;
    }
    st->tx_bytes += len;
    g_mutex_unlock(&st->lock);
    return netsocket_send(st->sock, g_steal_pointer(&owned), error);
}

gboolean rpc_stream_send(RpcStream *st, const void *data, size_t len, GError **error)
{
    const guint8 *p = data;

    if (iothread_is_current()) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "BUG: rpc_stream_send on the I/O thread");
        return FALSE;
    }
    while (len > 0) {
        size_t chunk = MIN(len, (size_t)RPC_STREAM_CHUNK_MAX);
        guint8 *payload;
        g_autoptr(RpcMessage) msg = NULL;

        if (!stream_wait_room(st, error))
            return FALSE;
        msg = rpc_message_new_stream_frame(chunk, &payload);
        memcpy(payload, p, chunk);
        if (!rpc_message_seal_stream_frame(msg, &st->hdr, chunk, error) ||
            !stream_queue_data(st, g_steal_pointer(&msg), chunk, error))
            return FALSE;
        p += chunk;
        len -= chunk;
    }
    return TRUE;
}

/* Reads what fd has into buf: blocks for the first byte, then takes what
 * is ready without waiting, up to cap.  The count (0: EOF), or -1. */
static gssize stream_read_fd(int fd, guint8 *buf, size_t cap, GError **error)
{
    size_t got = 0;

    while (got < cap) {
        gssize n;

        if (got > 0) {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            int r = poll(&pfd, 1, 0);

            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
        }
        n = read(fd, buf + got, cap - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };

            if (got > 0)
                break;
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                ferry_fail_errno(error, errno, "cannot wait for data on fd %d", fd);
                return -1;
            }
            continue;
        }
        ferry_fail_errno(error, errno, "cannot read stream data from fd %d", fd);
        return -1;
    }
    return (gssize)got;
}

gssize rpc_stream_send_from_fd(RpcStream *st, int fd, GError **error)
{
    g_autoptr(RpcMessage) msg = NULL;
    guint8 *payload;
    gssize n;

    if (iothread_is_current()) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "BUG: rpc_stream_send_from_fd on the I/O thread");
        return -1;
    }
    if (!stream_wait_room(st, error))
        return -1;
    msg = rpc_message_new_stream_frame(RPC_STREAM_CHUNK_MAX, &payload);
    n = stream_read_fd(fd, payload, RPC_STREAM_CHUNK_MAX, error);
    if (n <= 0)
        return n;
    /* a small read does not hold a whole chunk's buffer while it waits in
     * the socket's queue (the window counts bytes sent, not buffers) */
    if ((size_t)n < RPC_STREAM_CHUNK_MAX / 4) {
        g_autoptr(RpcMessage) small = rpc_message_new_stream_frame((size_t)n, &payload);

        memcpy(payload, msg->buffer + RPC_MESSAGE_FRAME_MIN, (size_t)n);
        rpc_message_free(g_steal_pointer(&msg));
        msg = g_steal_pointer(&small);
    }
    if (!rpc_message_seal_stream_frame(msg, &st->hdr, (size_t)n, error) ||
        !stream_queue_data(st, g_steal_pointer(&msg), (size_t)n, error))
        return -1;
    return n;
}

gssize rpc_stream_recv(RpcStream *st, void *buf, size_t len, int timeout_ms, GError **error)
{
    g_autoptr(GMutexLocker) locker = NULL;
    gint64 end = timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    RpcMessage *head;

    if (iothread_is_current()) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "BUG: rpc_stream_recv on the I/O thread");
        return -1;
    }
    locker = g_mutex_locker_new(&st->lock);
    while (!(head = g_queue_peek_head(&st->rx)) && !st->rx_eof && !st->error) {
        if (end < 0) {
            g_cond_wait(&st->cond, &st->lock);
        } else if (!g_cond_wait_until(&st->cond, &st->lock, end)) {
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "stream of procedure %d: no data within %d ms", st->hdr.proc, timeout_ms);
            return -1;
        }
    }
    if (!head) {
        if (!stream_check_usable_locked(st, error))
            return -1;
        st->eof_told = TRUE;
        return 0;
    }

    size_t avail;
    const guint8 *data = rpc_message_stream_data(head, &avail);
    size_t n = MIN(len, avail - st->rx_offset);

    memcpy(buf, data + st->rx_offset, n);
    st->rx_offset += n;
    st->rx_queued -= n;
    if (st->rx_offset == avail) {
        g_queue_pop_head(&st->rx);
        rpc_message_free(head);
        st->rx_offset = 0;
    }
    stream_rx_shrunk_locked(st);
    return (gssize)n;
}

/* Writes len bytes to fd (blocking or not); FALSE with a system error. */
static gboolean stream_write_fd(int fd, const guint8 *p, size_t len, GError **error)
{
    gboolean is_socket = TRUE;

    while (len > 0) {
        gssize n;

        /* no SIGPIPE from a reader that went away */
        n = is_socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
        if (n < 0 && is_socket && errno == ENOTSOCK) {
            is_socket = FALSE;
            continue;
        }
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };

            if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                ferry_fail_errno(error, errno, "cannot wait to write to fd %d", fd);
                return FALSE;
            }
            continue;
        }
        ferry_fail_errno(error, n < 0 ? errno : EIO, "cannot write stream data to fd %d", fd);
        return FALSE;
    }
    return TRUE;
}

gssize rpc_stream_recv_to_fd(RpcStream *st, int fd, int timeout_ms, GError **error)
{
    gint64 end = timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    g_autoptr(RpcMessage) head = NULL;
    const guint8 *data;
    size_t offset, len;

    if (iothread_is_current()) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "BUG: rpc_stream_recv_to_fd on the I/O thread");
        return -1;
    }
    g_mutex_lock(&st->lock);
    while (g_queue_is_empty(&st->rx) && !st->rx_eof && !st->error) {
        if (end < 0) {
            g_cond_wait(&st->cond, &st->lock);
        } else if (!g_cond_wait_until(&st->cond, &st->lock, end)) {
            g_mutex_unlock(&st->lock);
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "stream of procedure %d: no data within %d ms", st->hdr.proc, timeout_ms);
            return -1;
        }
    }
    head = g_queue_pop_head(&st->rx);
    if (!head) {
        gboolean ok = stream_check_usable_locked(st, error);

        st->eof_told = ok;
        g_mutex_unlock(&st->lock);
        return ok ? 0 : -1;
    }
    /* out of the queue (and the window) now: the socket may read on while
     * this chunk goes to fd */
    offset = st->rx_offset;
    st->rx_offset = 0;
    data = rpc_message_stream_data(head, &len);
    st->rx_queued -= len - offset;
    stream_rx_shrunk_locked(st);
    g_mutex_unlock(&st->lock);

    if (!stream_write_fd(fd, data + offset, len - offset, error))
        return -1;
    return (gssize)(len - offset);
}

void rpc_stream_set_finish_timeout(RpcStream *st, int timeout_ms)
{
    g_mutex_lock(&st->lock);
    st->finish_timeout_ms = timeout_ms > 0 ? timeout_ms : STREAM_FINISH_TIMEOUT_MS;
    g_mutex_unlock(&st->lock);
}

gboolean rpc_stream_finish(RpcStream *st, GError **error)
{
    gboolean send_ok;
    int timeout_ms;

    g_mutex_lock(&st->lock);
    if (!stream_check_usable_locked(st, error)) {
        g_mutex_unlock(&st->lock);
        return FALSE;
    }
    send_ok = !st->tx_done;
    st->tx_done = TRUE;
    timeout_ms = st->finish_timeout_ms ? st->finish_timeout_ms : STREAM_FINISH_TIMEOUT_MS;
    g_mutex_unlock(&st->lock);

    if (send_ok && !stream_send_message(st, RPC_STATUS_OK, NULL, 0, NULL, error))
        return FALSE;
    if (iothread_is_current()) {
        g_mutex_lock(&st->lock);
        gboolean done = st->rx_eof;
        g_mutex_unlock(&st->lock);
        if (done)
            stream_detach(st);
        return TRUE;
    }

    /* a peer that is alive but never confirms must not hold this thread */
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gboolean late = FALSE;

    g_mutex_lock(&st->lock);
    while (!st->rx_eof && !st->error && !late)
        late = !g_cond_wait_until(&st->cond, &st->lock, end);
    late = late && !st->rx_eof && !st->error;
    gboolean ok = late || stream_check_usable_locked(st, error);
    g_mutex_unlock(&st->lock);
    if (late) {
        g_autoptr(GError) why = NULL;

        ferry_fail(&why, FERRY_ERR_OPERATION_TIMEOUT,
                   "stream of procedure %d: the peer did not confirm the end within %d ms",
                   st->hdr.proc, timeout_ms);
        /* tells the peer, fails the stream and detaches it */
        rpc_stream_abort(st, why);
        g_propagate_error(error, g_steal_pointer(&why));
        return FALSE;
    }
    stream_detach(st);
    return ok;
}

void rpc_stream_abort(RpcStream *st, const GError *reason)
{
    g_autoptr(GError) why = NULL;
    gboolean send;

    if (reason)
        why = g_error_copy(reason);
    else
        ferry_fail(&why, FERRY_ERR_OPERATION_ABORTED, "stream of procedure %d aborted",
                   st->hdr.proc);

    g_mutex_lock(&st->lock);
    if (st->error || (st->tx_done && st->rx_eof)) {
        g_mutex_unlock(&st->lock);
        return;
    }
    send = TRUE;
    st->aborted = TRUE;
    st->tx_done = TRUE;
    stream_fail_locked(st, g_error_copy(why));
    g_mutex_unlock(&st->lock);

    if (send)
        stream_send_message(st, RPC_STATUS_ERROR, NULL, 0, why, NULL);
    stream_detach(st);
}
