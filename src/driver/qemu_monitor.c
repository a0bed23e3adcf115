/*
 * qemu_monitor.c: the QMP connection: socket, framing, command/reply
 * matching, events, timeouts.
 *
 * Who touches what:
 *   - the socket, the GSource, the tokenizer and the read buffer: the I/O
 *     thread only (and the closing thread when there is no I/O thread);
 *   - everything in the "under lock" part of the struct: any thread,
 *     holding mon->lock.  "closed" is written only on the I/O thread, so
 *     the I/O thread may read it without the lock.
 * A worker issuing a command queues a QmpPending, writes the command's
 * bytes itself when nothing else is queued (else, and for what the socket
 * does not take at once, it queues them and asks the I/O thread to write),
 * and waits on the pending's GCond.  The I/O thread fills the pending from
 * the reply and signals it.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MONITOR
#define FERRY_LOG_MODULE "qemu.monitor"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/fdpass.h"
#include "util/iothread.h"
#include "driver/qemu_monitor.h"

#define MONITOR_READ_SIZE (64 * 1024)
#define MONITOR_JSON_DEPTH 64
/* How much of an offending message an error message quotes. */
#define MONITOR_QUOTE_MAX 60

typedef struct _QmpOut QmpOut;

/* A command waiting for its reply; owned by the waiting worker. */
typedef struct {
    char *id;
    char *execute;
    GCond cond;
    gboolean done;
    json_object *reply; /* the "return" value */
    GError *error;
    char *error_class;
    QmpOut *out; /* its bytes while none of them went out yet */
} QmpPending;

/* Bytes to write, with fds to pass along with the first byte. */
struct _QmpOut {
    char *buf;
    gsize len;
    gsize off;
    int *fds;
    gsize nfds;
    QmpPending *pending; /* while withdrawable (off == 0) */
};

typedef struct {
    GSource base;
    gpointer tag;
    QemuMonitor *mon; /* not a reference: closing destroys the source */
} MonitorSource;

struct _QemuMonitor {
    gint refs;
    char *name;
    QemuMonitorCallbacks cb;
    gpointer opaque;

    GMutex lock;
    /* under lock */
    GCond cond; /* greeting arrived, or closed */
    gboolean closed;
    gboolean opened; /* open succeeded: eof/error callbacks allowed */
    GError *close_reason;
    GQueue pending; /* QmpPending *, oldest first */
    GQueue out; /* QmpOut *, in order */
    gboolean flush_scheduled;
    guint64 next_id;
    int default_timeout_ms;
    gsize max_message;
    gboolean greeted;
    int major, minor, micro;
    char *package;

    /* I/O thread only */
    int fd;
    MonitorSource *source;
    gboolean want_out;
    gboolean write_broken; /* peer gone: wait for the reads to end */
    json_tokener *tok;
    gsize msg_bytes;
    char *rbuf;
    gboolean in_dispatch;
    gboolean free_deferred;
};

static void qmp_out_free(QmpOut *out)
{
    if (!out)
        return;
    for (gsize i = 0; i < out->nfds; i++)
        ferry_fd_close(&out->fds[i]);
    g_free(out->fds);
    g_free(out->buf);
    g_free(out);
}

static void qmp_pending_free(QmpPending *p)
{
    g_cond_clear(&p->cond);
    g_free(p->id);
    g_free(p->execute);
    if (p->reply)
        json_object_put(p->reply);
    g_clear_error(&p->error);
    g_free(p->error_class);
    g_free(p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpPending, qmp_pending_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpOut, qmp_out_free)

/* "{\"a\":..." shortened and escaped, for error messages. */
static char *monitor_quote(const char *text, gsize len)
{
    g_autofree char *cut = g_strndup(text, MIN(len, MONITOR_QUOTE_MAX));
    g_autofree char *esc = g_strescape(cut, NULL);

    return g_strdup_printf("'%s'%s", esc, len > MONITOR_QUOTE_MAX ? "..." : "");
}

static void monitor_free(QemuMonitor *mon);

/* ---------------------------------------------------------------- closing */

static void monitor_fail_pending_locked(QemuMonitor *mon)
{
    QmpPending *p;
    QmpOut *out;

    while ((p = g_queue_pop_head(&mon->pending))) {
        g_set_error(&p->error, mon->close_reason->domain, mon->close_reason->code,
                    "QMP command '%s' failed: %s", p->execute, mon->close_reason->message);
        p->out = NULL;
        p->done = TRUE;
        g_cond_signal(&p->cond);
    }
    while ((out = g_queue_pop_head(&mon->out)))
        qmp_out_free(out);
    g_cond_broadcast(&mon->cond);
}

/* Releases the socket.  On the I/O thread (or with no I/O thread). */
static void monitor_teardown_io(QemuMonitor *mon)
{
    if (mon->source) {
        g_source_destroy(&mon->source->base);
        g_source_unref(&mon->source->base);
        mon->source = NULL;
    }
    ferry_fd_close(&mon->fd);
}

/* The monitor ends because of reason (taken): on the I/O thread.  Runs the
 * eof or error callback when open had succeeded. */
static void monitor_fail(QemuMonitor *mon, GError *reason, gboolean eof)
{
    gboolean notify;

    g_mutex_lock(&mon->lock);
    if (mon->closed) {
        g_mutex_unlock(&mon->lock);
        g_error_free(reason);
        return;
    }
    mon->closed = TRUE;
    mon->close_reason = reason;
    notify = mon->opened;
    monitor_fail_pending_locked(mon);
    g_mutex_unlock(&mon->lock);

    if (eof)
        FLOG_INFO("%s", reason->message);
    else
        FLOG_WARN("%s", reason->message);
    monitor_teardown_io(mon);

    if (!notify)
        return;
    if (eof && mon->cb.eof)
        mon->cb.eof(mon, mon->opaque);
    else if (!eof && mon->cb.error)
        mon->cb.error(mon, reason, mon->opaque);
}

/* Our own close: on the I/O thread (or with no I/O thread). */
static void monitor_close_io(gpointer opaque)
{
    QemuMonitor *mon = opaque;

    g_mutex_lock(&mon->lock);
    if (!mon->closed) {
        mon->closed = TRUE;
        ferry_fail(&mon->close_reason, FERRY_ERR_OPERATION_FAILED, "QMP monitor '%s' was closed",
                   mon->name);
        monitor_fail_pending_locked(mon);
    }
    g_mutex_unlock(&mon->lock);
    monitor_teardown_io(mon);
}

void qemu_monitor_close(QemuMonitor *mon)
{
    g_autoptr(GError) err = NULL;

    if (!mon)
        return;
    if (iothread_is_current()) {
        monitor_close_io(mon);
        return;
    }
    /* On the I/O thread, so that no callback is running once this returns. */
    if (!iothread_invoke_sync(monitor_close_io, mon, &err)) {
        /* No I/O thread: nobody else touches the socket. */
        monitor_close_io(mon);
    }
}

/* ---------------------------------------------------------------- writing */

static void monitor_set_want_out(QemuMonitor *mon, gboolean on)
{
    if (!mon->source || mon->want_out == on)
        return;
    mon->want_out = on;
    g_source_modify_unix_fd(&mon->source->base, mon->source->tag,
                            G_IO_IN | G_IO_HUP | G_IO_ERR | (on ? G_IO_OUT : 0));
}

/* Writes what it can without blocking.  1: more to write, 0: all written,
 * -1: error (*error set).  Under lock, on the I/O thread. */
static int monitor_flush_locked(QemuMonitor *mon, GError **error)
{
    QmpOut *out;

    while ((out = g_queue_peek_head(&mon->out))) {
        if (out->off == 0 && out->nfds > 0) {
            int rc = fdpass_send(mon->fd, out->buf, 1, out->fds, out->nfds, error);

            if (rc == FDPASS_WOULD_BLOCK)
                return 1;
            if (rc < 0)
                return -1;
            out->off = 1;
            for (gsize i = 0; i < out->nfds; i++)
                ferry_fd_close(&out->fds[i]);
            out->nfds = 0;
        } else {
            ssize_t n = send(mon->fd, out->buf + out->off, out->len - out->off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);

            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return 1;
                if (errno == EPIPE || errno == ECONNRESET)
                    return ferry_fail(error, FERRY_ERR_NO_CONNECT,
                                      "QMP monitor '%s': peer closed the connection", mon->name);
                return ferry_fail_errno(error, errno, "QMP monitor '%s': cannot write", mon->name);
            }
            out->off += n;
        }
        if (out->pending) {
            /* Its bytes are on their way: no longer withdrawable. */
            out->pending->out = NULL;
            out->pending = NULL;
        }
        if (out->off == out->len) {
            g_queue_pop_head(&mon->out);
            qmp_out_free(out);
        }
    }
    return 0;
}

/* Under lock, on the thread issuing a command: when nothing is queued
 * (so the I/O thread is writing nothing), writes what the socket takes of
 * out at once, which saves waking the I/O thread and switching to it for
 * every command.  Without blocking; what is left, and any error, is the
 * I/O thread's (monitor_flush), as before.  Commands passing fds go
 * through the I/O thread.  The fd is open: the monitor is marked closed
 * under the lock before its fd is closed. */
static void monitor_write_direct_locked(QemuMonitor *mon, QmpOut *out)
{
    if (mon->closed || out->nfds > 0 || !g_queue_is_empty(&mon->out) || !iothread_is_running())
        return;
    while (out->off < out->len) {
        ssize_t n =
            send(mon->fd, out->buf + out->off, out->len - out->off, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        out->off += (gsize)n;
    }
}

/* On the I/O thread. */
static void monitor_flush(QemuMonitor *mon)
{
    g_autoptr(GError) err = NULL;
    int rc;

    if (mon->closed || mon->write_broken)
        return;
    g_mutex_lock(&mon->lock);
    rc = monitor_flush_locked(mon, &err);
    g_mutex_unlock(&mon->lock);

    if (rc < 0 && ferry_error_is(err, FERRY_ERR_NO_CONNECT)) {
        /* QEMU went away; what it sent before is still to be read, and the
         * end of file after it closes the monitor. */
        FLOG_DEBUG("%s", err->message);
        mon->write_broken = TRUE;
        monitor_set_want_out(mon, FALSE);
        return;
    }
    if (rc < 0) {
        monitor_fail(mon, g_steal_pointer(&err), FALSE);
        return;
    }
    monitor_set_want_out(mon, rc > 0);
}

static void monitor_flush_idle(gpointer opaque)
{
    QemuMonitor *mon = opaque;

    g_mutex_lock(&mon->lock);
    mon->flush_scheduled = FALSE;
    g_mutex_unlock(&mon->lock);
    monitor_flush(mon);
}

static void monitor_unref_notify(gpointer opaque)
{
    qemu_monitor_unref(opaque);
}

/* ---------------------------------------------------------------- reading */

static gint monitor_pending_has_id(gconstpointer a, gconstpointer b)
{
    const QmpPending *p = a;

    return strcmp(p->id, b);
}

static gint monitor_pending_is_sent(gconstpointer a, gconstpointer b)
{
    const QmpPending *p = a;

    return p->out ? 1 : 0;
}

static void monitor_handle_reply(QemuMonitor *mon, json_object *msg)
{
    json_object *id_obj = NULL;
    json_object *ret = NULL;
    json_object *err = NULL;
    const char *id = NULL;
    GList *link;
    QmpPending *p;

    if (json_object_object_get_ex(msg, "id", &id_obj))
        id = json_object_get_string(id_obj);
    json_object_object_get_ex(msg, "return", &ret);
    json_object_object_get_ex(msg, "error", &err);

    g_mutex_lock(&mon->lock);
    if (id) {
        link = g_queue_find_custom(&mon->pending, id, monitor_pending_has_id);
    } else {
        /* QEMU could not read a request's id: QMP answers in order. */
        link = g_queue_find_custom(&mon->pending, NULL, monitor_pending_is_sent);
        if (link)
            FLOG_WARN("QMP monitor '%s': reply without an id taken as the answer to '%s'",
                      mon->name, ((QmpPending *)link->data)->execute);
    }
    if (!link) {
        g_mutex_unlock(&mon->lock);
        FLOG_INFO("QMP monitor '%s': dropping a reply to id '%s' (timed out or unknown)", mon->name,
                  id ? id : "(none)");
        return;
    }
    p = link->data;
    g_queue_delete_link(&mon->pending, link);

    if (err) {
        json_object *cls = NULL;
        json_object *desc = NULL;

        json_object_object_get_ex(err, "class", &cls);
        json_object_object_get_ex(err, "desc", &desc);
        p->error_class = g_strdup(cls ? json_object_get_string(cls) : "GenericError");
        ferry_fail(&p->error, FERRY_ERR_OPERATION_FAILED, "QMP command '%s' failed: %s: %s",
                   p->execute, p->error_class,
                   desc ? json_object_get_string(desc) : "(no description)");
    } else if (ret) {
        /* json-c counts references without atomics: the worker must get an
         * object nothing on this thread touches any more, so detach it from
         * the message before handing it over. */
        p->reply = json_object_get(ret);
        json_object_object_del(msg, "return");
    } else {
        p->reply = json_object_new_object();
    }
    p->done = TRUE;
    g_cond_signal(&p->cond);
    g_mutex_unlock(&mon->lock);
}

static void monitor_handle_event(QemuMonitor *mon, json_object *msg)
{
    json_object *name = NULL;
    json_object *data = NULL;
    json_object *ts = NULL;
    g_autoptr(json_object) empty = NULL;
    gint64 timestamp_us = 0;

    json_object_object_get_ex(msg, "event", &name);
    if (!json_object_object_get_ex(msg, "data", &data) || !data)
        data = empty = json_object_new_object();
    if (json_object_object_get_ex(msg, "timestamp", &ts)) {
        json_object *sec = NULL;
        json_object *usec = NULL;

        json_object_object_get_ex(ts, "seconds", &sec);
        json_object_object_get_ex(ts, "microseconds", &usec);
        timestamp_us = json_object_get_int64(sec) * G_USEC_PER_SEC + json_object_get_int64(usec);
    }
    FLOG_DEBUG("QMP monitor '%s': event %s", mon->name, json_object_get_string(name));
    if (mon->cb.event)
        mon->cb.event(mon, json_object_get_string(name), data, timestamp_us, mon->opaque);
}

static gboolean monitor_handle_greeting(QemuMonitor *mon, json_object *msg)
{
    json_object *qmp = NULL;
    json_object *version = NULL;
    json_object *qemu = NULL;
    json_object *pkg = NULL;
    json_object *part[3] = { NULL, NULL, NULL };
    static const char *const names[3] = { "major", "minor", "micro" };

    json_object_object_get_ex(msg, "QMP", &qmp);
    if (!json_object_object_get_ex(qmp, "version", &version) ||
        !json_object_object_get_ex(version, "qemu", &qemu))
        return FALSE;
    for (int i = 0; i < 3; i++) {
        if (!json_object_object_get_ex(qemu, names[i], &part[i]) ||
            !json_object_is_type(part[i], json_type_int))
            return FALSE;
    }
    json_object_object_get_ex(version, "package", &pkg);

    g_mutex_lock(&mon->lock);
    mon->major = json_object_get_int(part[0]);
    mon->minor = json_object_get_int(part[1]);
    mon->micro = json_object_get_int(part[2]);
    g_free(mon->package);
    mon->package = g_strdup(pkg ? json_object_get_string(pkg) : "");
    mon->greeted = TRUE;
    g_cond_broadcast(&mon->cond);
    g_mutex_unlock(&mon->lock);
    FLOG_DEBUG("QMP monitor '%s': greeting from QEMU %d.%d.%d", mon->name, mon->major, mon->minor,
               mon->micro);
    return TRUE;
}

/* One complete message (taken).  On the I/O thread; may close. */
static void monitor_handle_message(QemuMonitor *mon, json_object *msg)
{
    g_autoptr(json_object) owned = msg;
    GError *err = NULL;
    gboolean greeted;

    if (!json_object_is_type(msg, json_type_object)) {
        const char *text =
            msg ? json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN) : "null";
        g_autofree char *quoted = monitor_quote(text, strlen(text));

        ferry_fail(&err, FERRY_ERR_PARSE,
                   "QMP monitor '%s': message from QEMU is not a JSON object: %s", mon->name,
                   quoted);
        monitor_fail(mon, err, FALSE);
        return;
    }

    g_mutex_lock(&mon->lock);
    greeted = mon->greeted;
    g_mutex_unlock(&mon->lock);

    if (json_object_object_get_ex(msg, "QMP", NULL)) {
        if (greeted) {
            FLOG_WARN("QMP monitor '%s': ignoring a second greeting", mon->name);
        } else if (!monitor_handle_greeting(mon, msg)) {
            const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
            g_autofree char *quoted = monitor_quote(text, strlen(text));

            ferry_fail(&err, FERRY_ERR_PARSE, "QMP monitor '%s': malformed greeting from QEMU: %s",
                       mon->name, quoted);
            monitor_fail(mon, err, FALSE);
        }
    } else if (!greeted) {
        const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
        g_autofree char *quoted = monitor_quote(text, strlen(text));

        ferry_fail(&err, FERRY_ERR_PARSE, "QMP monitor '%s': expected the QMP greeting, got %s",
                   mon->name, quoted);
        monitor_fail(mon, err, FALSE);
    } else if (json_object_object_get_ex(msg, "event", NULL)) {
        monitor_handle_event(mon, msg);
    } else if (json_object_object_get_ex(msg, "return", NULL) ||
               json_object_object_get_ex(msg, "error", NULL)) {
        monitor_handle_reply(mon, msg);
    } else {
        FLOG_WARN("QMP monitor '%s': ignoring a message of unknown kind: %s", mon->name,
                  json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
    }
}

/* On the I/O thread. */
static void monitor_read(QemuMonitor *mon)
{
    GError *err = NULL;
    ssize_t n;
    gsize off = 0;
    gsize max;

    n = recv(mon->fd, mon->rbuf, MONITOR_READ_SIZE, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno != ECONNRESET) {
            ferry_fail_errno(&err, errno, "QMP monitor '%s': cannot read", mon->name);
            monitor_fail(mon, err, FALSE);
            return;
        }
        n = 0;
    }
    if (n == 0) {
        ferry_fail(&err, FERRY_ERR_OPERATION_FAILED,
                   "QEMU closed the QMP monitor '%s' (end of file)", mon->name);
        monitor_fail(mon, err, TRUE);
        return;
    }

    g_mutex_lock(&mon->lock);
    max = mon->max_message;
    g_mutex_unlock(&mon->lock);

    while (off < (gsize)n && !mon->closed) {
        const char *start = mon->rbuf + off;
        gsize avail = n - off;
        json_object *msg = json_tokener_parse_ex(mon->tok, start, avail);
        enum json_tokener_error jerr = json_tokener_get_error(mon->tok);
        gsize used = jerr == json_tokener_continue ? avail : json_tokener_get_parse_end(mon->tok);

        mon->msg_bytes += used;
        if (mon->msg_bytes > max) {
            if (msg)
                json_object_put(msg);
            ferry_fail(&err, FERRY_ERR_OVERFLOW,
                       "QMP monitor '%s': a message from "
                       "QEMU is longer than the limit of %" G_GSIZE_FORMAT " bytes; "
                       "closing the monitor",
                       mon->name, max);
            monitor_fail(mon, err, FALSE);
            return;
        }
        if (jerr == json_tokener_continue)
            return;
        if (jerr != json_tokener_success) {
            g_autofree char *quoted = monitor_quote(start, avail);

            ferry_fail(&err, FERRY_ERR_PARSE, "QMP monitor '%s': invalid JSON from QEMU (%s) in %s",
                       mon->name, json_tokener_error_desc(jerr), quoted);
            monitor_fail(mon, err, FALSE);
            return;
        }
        off += used;
        json_tokener_reset(mon->tok);
        mon->msg_bytes = 0;
        monitor_handle_message(mon, msg);
    }
}

static gboolean monitor_source_dispatch(GSource *src, GSourceFunc callback, gpointer data)
{
    MonitorSource *ms = (MonitorSource *)src;
    QemuMonitor *mon = ms->mon;
    GIOCondition rev = g_source_query_unix_fd(src, ms->tag);

    mon->in_dispatch = TRUE;
    if (rev & G_IO_OUT)
        monitor_flush(mon);
    if (!mon->closed && (rev & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
        monitor_read(mon);
    mon->in_dispatch = FALSE;

    /* A callback dropped the last reference: it could not free the monitor
     * under our feet, so it is done here (the monitor is closed, this
     * source destroyed). */
    if (mon->free_deferred)
        monitor_free(mon);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs monitor_source_funcs = {
    .dispatch = monitor_source_dispatch,
};

/* ---------------------------------------------------------------- lifecycle */

static QemuMonitor *monitor_new(int fd, const char *name, const QemuMonitorCallbacks *callbacks,
                                gpointer opaque)
{
    QemuMonitor *mon = g_new0(QemuMonitor, 1);

    mon->refs = 1;
    mon->name = g_strdup(name);
    if (callbacks)
        mon->cb = *callbacks;
    mon->opaque = opaque;
    g_mutex_init(&mon->lock);
    g_cond_init(&mon->cond);
    g_queue_init(&mon->pending);
    g_queue_init(&mon->out);
    mon->default_timeout_ms = QEMU_MONITOR_DEFAULT_TIMEOUT_MS;
    mon->max_message = QEMU_MONITOR_MAX_MESSAGE;
    mon->package = g_strdup("");
    mon->fd = fd;
    mon->tok = json_tokener_new_ex(MONITOR_JSON_DEPTH);
    json_tokener_set_flags(mon->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    mon->rbuf = g_malloc(MONITOR_READ_SIZE);
    return mon;
}

static void monitor_free(QemuMonitor *mon)
{
    g_mutex_clear(&mon->lock);
    g_cond_clear(&mon->cond);
    g_clear_error(&mon->close_reason);
    json_tokener_free(mon->tok);
    g_free(mon->rbuf);
    g_free(mon->package);
    g_free(mon->name);
    g_free(mon);
}

QemuMonitor *qemu_monitor_ref(QemuMonitor *mon)
{
    g_atomic_int_inc(&mon->refs);
    return mon;
}

void qemu_monitor_unref(QemuMonitor *mon)
{
    if (!mon)
        return;
    if (!g_atomic_int_dec_and_test(&mon->refs))
        return;
    /* Nothing queued on the I/O thread holds a reference any more (flush
     * idles do), so once closed, only a dispatch in progress can see it. */
    qemu_monitor_close(mon);
    if (iothread_is_current() && mon->in_dispatch) {
        mon->free_deferred = TRUE;
        return;
    }
    monitor_free(mon);
}

static int monitor_timeout(int timeout_ms)
{
    return timeout_ms > 0 ? timeout_ms : QEMU_MONITOR_DEFAULT_TIMEOUT_MS;
}

static gboolean monitor_refuse_on_iothread(const char *what, GError **error)
{
    if (!iothread_is_current())
        return FALSE;
    ferry_fail(error, FERRY_ERR_INTERNAL,
               "%s refused: called on the I/O thread, which it would have to wait for", what);
    return TRUE;
}

/* Milliseconds left until deadline (monotonic, µs), at least 1. */
static int monitor_ms_left(gint64 deadline)
{
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;

    return (int)CLAMP(left, 1, G_MAXINT);
}

QemuMonitor *qemu_monitor_open_fd(int fd, const char *name, int timeout_ms,
                                  const QemuMonitorCallbacks *callbacks, gpointer opaque,
                                  GError **error)
{
    g_auto(FerryFd) owned = fd;
    g_autoptr(QemuMonitor) mon = NULL;
    g_autoptr(json_object) caps = NULL;
    GMainContext *ctx;
    GSource *src;
    gint64 deadline;

    timeout_ms = monitor_timeout(timeout_ms);
    deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    if (monitor_refuse_on_iothread("opening a QMP monitor", error))
        return NULL;
    if (ferry_fd_set_nonblock(fd, TRUE) < 0) {
        ferry_fail_errno(error, errno, "QMP monitor '%s': cannot make the socket non-blocking",
                         name);
        return NULL;
    }

    mon = monitor_new(ferry_fd_steal(&owned), name, callbacks, opaque);
    src = g_source_new(&monitor_source_funcs, sizeof(MonitorSource));
    g_source_set_static_name(src, "ferry-qmp-monitor");
    mon->source = (MonitorSource *)src;
    mon->source->mon = mon;
    mon->source->tag = g_source_add_unix_fd(src, mon->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);

    /* Attach under the I/O thread's watch: the context must not go away. */
    ctx = iothread_context();
    if (!ctx) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "QMP monitor '%s': the I/O thread is not running",
                   name);
        return NULL;
    }
    g_source_attach(src, ctx);

    g_mutex_lock(&mon->lock);
    while (!mon->greeted && !mon->closed) {
        if (!g_cond_wait_until(&mon->cond, &mon->lock, deadline))
            break;
    }
    if (mon->closed) {
        g_propagate_error(error, g_error_copy(mon->close_reason));
        g_mutex_unlock(&mon->lock);
        return NULL;
    }
    if (!mon->greeted) {
        g_mutex_unlock(&mon->lock);
        ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                   "QMP monitor '%s': no greeting from QEMU within %d ms", name, timeout_ms);
        return NULL;
    }
    g_mutex_unlock(&mon->lock);

    caps = qmp_call_full(mon, "qmp_capabilities", NULL, NULL, 0, monitor_ms_left(deadline), NULL,
                         error);
    if (!caps)
        return NULL;

    g_mutex_lock(&mon->lock);
    if (mon->closed) {
        g_propagate_error(error, g_error_copy(mon->close_reason));
        g_mutex_unlock(&mon->lock);
        return NULL;
    }
    mon->opened = TRUE;
    g_mutex_unlock(&mon->lock);
    FLOG_DEBUG("QMP monitor '%s' open (QEMU %d.%d.%d)", name, mon->major, mon->minor, mon->micro);
    return g_steal_pointer(&mon);
}

/* One connection attempt.  Returns the fd, or -1 with errno. */
static int monitor_try_connect(const struct sockaddr_un *addr, gint64 deadline)
{
    g_auto(FerryFd) fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct pollfd pfd;
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    int rc;

    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0)
        return ferry_fd_steal(&fd);
    if (errno != EINPROGRESS)
        return -1;

    pfd.fd = fd;
    pfd.events = POLLOUT;
    do {
        rc = poll(&pfd, 1, monitor_ms_left(deadline));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return ferry_fd_steal(&fd);
}

QemuMonitor *qemu_monitor_open_path(const char *path, int timeout_ms,
                                    const QemuMonitorCallbacks *callbacks, gpointer opaque,
                                    GError **error)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    gint64 deadline;
    gulong backoff_us = 1000;
    int fd;

    timeout_ms = monitor_timeout(timeout_ms);
    deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    if (monitor_refuse_on_iothread("opening a QMP monitor", error))
        return NULL;
    if (strlen(path) >= sizeof(addr.sun_path)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "QMP monitor socket path '%s' is longer than %zu bytes", path,
                   sizeof(addr.sun_path) - 1);
        return NULL;
    }
    memcpy(addr.sun_path, path, strlen(path));

    /* While QEMU starts, the socket may not exist or not listen yet. */
    for (;;) {
        gint64 now;
        int err;

        fd = monitor_try_connect(&addr, deadline);
        if (fd >= 0)
            break;
        err = errno;
        now = g_get_monotonic_time();
        if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN && err != ETIMEDOUT) {
            ferry_fail_errno(error, err, "cannot connect to QMP monitor '%s'", path);
            return NULL;
        }
        if (now >= deadline || err == ETIMEDOUT) {
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "cannot connect to QMP monitor '%s' within %d ms: %s", path, timeout_ms,
                       g_strerror(err));
            return NULL;
        }
        g_usleep(MIN(backoff_us, (gulong)(deadline - now)));
        backoff_us = MIN(backoff_us * 2, 100 * 1000);
    }

    return qemu_monitor_open_fd(fd, path, monitor_ms_left(deadline), callbacks, opaque, error);
}

gboolean qemu_monitor_is_closed(QemuMonitor *mon, GError **reason)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mon->lock);

    if (mon->closed && reason && mon->close_reason)
        g_propagate_error(reason, g_error_copy(mon->close_reason));
    return mon->closed;
}

const char *qemu_monitor_get_name(QemuMonitor *mon)
{
    return mon->name;
}

void qemu_monitor_get_version(QemuMonitor *mon, int *major, int *minor, int *micro)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mon->lock);

    if (major)
        *major = mon->major;
    if (minor)
        *minor = mon->minor;
    if (micro)
        *micro = mon->micro;
}

const char *qemu_monitor_get_package(QemuMonitor *mon)
{
    /* Set once, with the greeting, before open returned. */
    return mon->package;
}

void qemu_monitor_set_default_timeout(QemuMonitor *mon, int timeout_ms)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mon->lock);

    mon->default_timeout_ms = monitor_timeout(timeout_ms);
}

void qemu_monitor_set_max_message(QemuMonitor *mon, gsize max_bytes)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mon->lock);

    mon->max_message = max_bytes ? max_bytes : QEMU_MONITOR_MAX_MESSAGE;
}

/* ---------------------------------------------------------------- commands */

static QmpOut *monitor_build_command(const char *execute, json_object *args, const char *id,
                                     const int *fds, gsize nfds, GError **error)
{
    g_autoptr(json_object) cmd = json_object_new_object();
    g_autoptr(QmpOut) out = g_new0(QmpOut, 1);
    const char *text;

    if (nfds > FDPASS_MAX_FDS) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "QMP command '%s': %" G_GSIZE_FORMAT " fds is more than %d", execute, nfds,
                   FDPASS_MAX_FDS);
        return NULL;
    }
    json_object_object_add(cmd, "execute", json_object_new_string(execute));
    if (args)
        json_object_object_add(cmd, "arguments", json_object_get(args));
    json_object_object_add(cmd, "id", json_object_new_string(id));
    text = json_object_to_json_string_ext(cmd,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    out->buf = g_strconcat(text, "\n", NULL);
    out->len = strlen(out->buf);

    out->fds = g_new(int, MAX(nfds, 1));
    for (gsize i = 0; i < nfds; i++) {
        out->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (out->fds[i] < 0) {
            ferry_fail_errno(error, errno, "QMP command '%s': cannot duplicate fd %d", execute,
                             fds[i]);
            return NULL;
        }
        out->nfds = i + 1;
    }
    return g_steal_pointer(&out);
}

json_object *qmp_call_full(QemuMonitor *mon, const char *execute, json_object *args, const int *fds,
                           gsize nfds, int timeout_ms, char **error_class, GError **error)
{
    g_autoptr(QmpPending) p = NULL;
    g_autofree char *what = g_strdup_printf("QMP command '%s'", execute);
    QmpOut *out;
    gboolean schedule;
    gint64 deadline;

    if (monitor_refuse_on_iothread(what, error))
        return NULL;

    p = g_new0(QmpPending, 1);
    g_cond_init(&p->cond);
    p->execute = g_strdup(execute);

    g_mutex_lock(&mon->lock);
    if (mon->closed) {
        g_set_error(error, mon->close_reason->domain, mon->close_reason->code, "%s failed: %s",
                    what, mon->close_reason->message);
        g_mutex_unlock(&mon->lock);
        return NULL;
    }
    p->id = g_strdup_printf("ferry-%" G_GUINT64_FORMAT, ++mon->next_id);
    if (timeout_ms <= 0)
        timeout_ms = mon->default_timeout_ms;
    g_mutex_unlock(&mon->lock);

    out = monitor_build_command(execute, args, p->id, fds, nfds, error);
    if (!out)
        return NULL;
    FLOG_DEBUG("QMP monitor '%s': send %.*s", mon->name, (int)out->len - 1, out->buf);

    g_mutex_lock(&mon->lock);
    if (mon->closed) {
        g_set_error(error, mon->close_reason->domain, mon->close_reason->code, "%s failed: %s",
                    what, mon->close_reason->message);
        g_mutex_unlock(&mon->lock);
        qmp_out_free(out);
        return NULL;
    }
    g_queue_push_tail(&mon->pending, p);
    monitor_write_direct_locked(mon, out);
    if (out->off == out->len) {
        qmp_out_free(out);
        schedule = FALSE;
    } else {
        if (out->off == 0) {
            /* withdrawable while none of it went out */
            out->pending = p;
            p->out = out;
        }
        g_queue_push_tail(&mon->out, out);
        schedule = !mon->flush_scheduled;
        mon->flush_scheduled = TRUE;
    }
    g_mutex_unlock(&mon->lock);

    if (schedule &&
        !iothread_invoke(monitor_flush_idle, qemu_monitor_ref(mon), monitor_unref_notify)) {
        /* No I/O thread: nothing will ever be written.  The closing path
         * fails the pending command (this one included). */
        qemu_monitor_close(mon);
    }

    deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    g_mutex_lock(&mon->lock);
    while (!p->done) {
        if (!g_cond_wait_until(&p->cond, &mon->lock, deadline))
            break;
    }
    if (!p->done) {
        g_queue_remove(&mon->pending, p);
        if (p->out) {
            /* Not a byte of it went out: withdraw it, QEMU never sees it. */
            g_queue_remove(&mon->out, p->out);
            qmp_out_free(p->out);
            p->out = NULL;
        }
        g_mutex_unlock(&mon->lock);
        FLOG_WARN("QMP monitor '%s': command '%s' (id %s) timed out after %d ms", mon->name,
                  execute, p->id, timeout_ms);
        ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT, "QMP command '%s' timed out after %d ms",
                   execute, timeout_ms);
        return NULL;
    }
    g_mutex_unlock(&mon->lock);

    if (p->error) {
        if (error_class)
            *error_class = g_steal_pointer(&p->error_class);
        g_propagate_error(error, g_steal_pointer(&p->error));
        return NULL;
    }
    return g_steal_pointer(&p->reply);
}

json_object *qmp_call(QemuMonitor *mon, const char *execute, json_object *args, GError **error)
{
    return qmp_call_full(mon, execute, args, NULL, 0, 0, NULL, error);
}
