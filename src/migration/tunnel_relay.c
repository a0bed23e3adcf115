/*
 * tunnel_relay.c: the relay threads of a tunnelled migration (tunnel.h):
 * one per tunnel and side, moving QEMU's migration data between ferryd's
 * end of a socketpair and a DriverStream, a message at a time, without
 * copying it in between (driver_stream_send_from_fd / _recv_to_fd).
 *
 * The thread owns the fd from start to end and closes it; others may only
 * shut it down (tunnel_relay_cancel), under the lock, while it is open.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.tunnel"

#include "migration/tunnel.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"

/* The destination's relay looks at its QEMU this often while no data
 * comes (QEMU gone: the tunnel is over). */
#define RELAY_IDLE_CHECK_MS 1000
/* What each socketpair end asks for as its buffers (the kernel caps it at
 * net.core.[rw]mem_max). */
#define RELAY_SOCKET_BUFFER (4 * 1024 * 1024)

struct _TunnelRelay {
    gint refs; /* the thread's and the owner's */
    char *what;
    TunnelRelayDirection dir;
    DriverStream *stream;
    GThread *thread;

    GMutex lock; /* guards what follows */
    GCond cond;
    int fd; /* -1 once closed */
    gboolean done;
    guint64 bytes;
    GError *error;
};

static void relay_unref(TunnelRelay *r)
{
    if (!g_atomic_int_dec_and_test(&r->refs))
        return;
    driver_stream_unref(r->stream);
    ferry_fd_close(&r->fd);
    g_clear_error(&r->error);
    g_mutex_clear(&r->lock);
    g_cond_clear(&r->cond);
    g_free(r->what);
    g_free(r);
}

static void relay_close_fd(TunnelRelay *r)
{
    g_mutex_lock(&r->lock);
    ferry_fd_close(&r->fd);
    g_mutex_unlock(&r->lock);
}

/* QEMU closed its end of the socketpair (or ours was shut down). */
static gboolean relay_peer_gone(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* The source: until fd's EOF.  An error aborts the stream and shuts fd
 * down, so that QEMU's migration fails instead of blocking. */
static void relay_fd_to_stream(TunnelRelay *r, int fd, guint64 *bytes, guint64 *chunks,
                               GError **error)
{
    for (;;) {
        gssize n = driver_stream_send_from_fd(r->stream, fd, error);

        if (n > 0) {
            *bytes += (guint64)n;
            (*chunks)++;
            continue;
        }
        if (n < 0) {
            shutdown(fd, SHUT_RDWR);
            driver_stream_abort(r->stream, *error);
        }
        return;
    }
}

/* The destination: until the stream's end, then fd closed and the end
 * confirmed.  Anything else closes fd and aborts the stream. */
static void relay_stream_to_fd(TunnelRelay *r, int fd, guint64 *bytes, guint64 *chunks,
                               GError **error)
{
    for (;;) {
        g_autoptr(GError) err = NULL;
        gssize n = driver_stream_recv_to_fd(r->stream, fd, RELAY_IDLE_CHECK_MS, &err);

        if (n > 0) {
            *bytes += (guint64)n;
            (*chunks)++;
            continue;
        }
        if (n == 0) {
            /* everything is in QEMU's socket: its EOF follows the data */
            relay_close_fd(r);
            if (!driver_stream_finish(r->stream, &err))
                FLOG_WARN("%s: tunnel: all data delivered, but confirming the end failed: %s",
                          r->what, err->message);
            return;
        }
        if (ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT)) {
            if (!relay_peer_gone(fd))
                continue;
            g_clear_error(&err);
            ferry_fail(&err, FERRY_ERR_OPERATION_FAILED,
                       "%s: the incoming QEMU closed its end of the tunnel", r->what);
        }
        g_propagate_error(error, g_steal_pointer(&err));
        relay_close_fd(r);
        driver_stream_abort(r->stream, *error);
        return;
    }
}

static gpointer relay_thread(gpointer data)
{
    TunnelRelay *r = data;
    g_autoptr(GError) err = NULL;
    gint64 started = g_get_monotonic_time();
    guint64 bytes = 0, chunks = 0;
    double secs;
    int fd;

    g_mutex_lock(&r->lock);
    fd = r->fd;
    g_mutex_unlock(&r->lock);
    if (r->dir == TUNNEL_RELAY_FD_TO_STREAM)
        relay_fd_to_stream(r, fd, &bytes, &chunks, &err);
    else
        relay_stream_to_fd(r, fd, &bytes, &chunks, &err);

    secs = (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC;
    if (err)
        FLOG_INFO("%s: tunnel relay stopped after %" G_GUINT64_FORMAT " bytes: %s", r->what, bytes,
                  err->message);
    else
        FLOG_INFO("%s: tunnel relay moved %" G_GUINT64_FORMAT " bytes in %" G_GUINT64_FORMAT
                  " chunks (%" G_GUINT64_FORMAT " on average) in %.2f s (%.0f MiB/s)",
                  r->what, bytes, chunks, chunks ? bytes / chunks : 0, secs,
                  secs > 0 ? (double)bytes / secs / (1 << 20) : 0.0);

    g_mutex_lock(&r->lock);
    ferry_fd_close(&r->fd);
    r->bytes = bytes;
    r->error = g_steal_pointer(&err);
    r->done = TRUE;
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
    relay_unref(r);
    return NULL;
}

TunnelRelay *tunnel_relay_start(const char *what, TunnelRelayDirection dir, int fd,
                                DriverStream *stream, GError **error)
{
    g_auto(FerryFd) owned = fd;
    g_autoptr(GError) err = NULL;
    TunnelRelay *r;

    if (!driver_stream_check_open(stream, error))
        return NULL;
    r = g_new0(TunnelRelay, 1);
    r->refs = 2;
    r->what = g_strdup(what);
    r->dir = dir;
    r->stream = driver_stream_ref(stream);
    r->fd = ferry_fd_steal(&owned);
    g_mutex_init(&r->lock);
    g_cond_init(&r->cond);
    r->thread = g_thread_try_new("ferry-tunnel", relay_thread, r, &err);
    if (!r->thread) {
        ferry_fail(error, FERRY_ERR_SYSTEM, "%s: cannot start the tunnel's relay thread: %s", what,
                   err->message);
        r->refs = 1;
        relay_unref(r);
        return NULL;
    }
    return r;
}

void tunnel_relay_cancel(TunnelRelay *relay)
{
    g_mutex_lock(&relay->lock);
    if (relay->fd >= 0)
        shutdown(relay->fd, SHUT_RDWR);
    g_mutex_unlock(&relay->lock);
}

gboolean tunnel_relay_wait(TunnelRelay *relay, int timeout_ms)
{
    gint64 end = timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gboolean done;

    g_mutex_lock(&relay->lock);
    while (!relay->done) {
        if (end < 0)
            g_cond_wait(&relay->cond, &relay->lock);
        else if (!g_cond_wait_until(&relay->cond, &relay->lock, end))
            break;
    }
    done = relay->done;
    g_mutex_unlock(&relay->lock);
    return done;
}

guint64 tunnel_relay_get_bytes(TunnelRelay *relay)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&relay->lock);

    return relay->bytes;
}

const GError *tunnel_relay_get_error(TunnelRelay *relay)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&relay->lock);

    return relay->error;
}

void tunnel_relay_free(TunnelRelay *relay)
{
    if (!relay)
        return;
    tunnel_relay_cancel(relay);
    g_thread_join(relay->thread);
    relay_unref(relay);
}

void tunnel_relay_detach(TunnelRelay *relay)
{
    g_thread_unref(relay->thread);
    relay_unref(relay);
}

gboolean tunnel_socketpair(int *ours, int *qemus, GError **error)
{
    int sv[2];
    int size = RELAY_SOCKET_BUFFER;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        ferry_fail_errno(error, errno, "cannot make the tunnel's socketpair");
        return FALSE;
    }
    for (int i = 0; i < 2; i++) {
        /* best effort: larger buffers mean fewer wake-ups per MiB */
        (void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        (void)setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    *ours = sv[0];
    *qemus = sv[1];
    return TRUE;
}
