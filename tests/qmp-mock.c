/*
 * qmp-mock.c: a scripted QMP server for tests.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-c/json.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MONITOR
#define FERRY_LOG_MODULE "tests.qmpmock"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/fdpass.h"
#include "driver/qemu_monitor.h" /* g_autoptr(json_object) */
#include "qmp-mock.h"

#define QMP_MOCK_SAFETY_NET_US (10 * G_USEC_PER_SEC)

#define QMP_MOCK_GREETING \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, " \
    "\"package\": \"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}"

typedef enum {
    STEP_EXPECT_RETURN,
    STEP_EXPECT_ERROR,
    STEP_EXPECT_HANG,
    STEP_EXPECT_CLOSE,
    STEP_EXPECT_BATCH_ECHO,
    STEP_REPLY_HUNG,
    STEP_EVENT,
    STEP_RAW,
    STEP_OVERSIZE,
    STEP_CLOSE,
    STEP_STALL,
    STEP_BURST_BEGIN,
    STEP_BURST_END,
} StepKind;

typedef struct {
    StepKind kind;
    char *execute; /* command, event name */
    char *args; /* expected arguments (JSON) or NULL */
    char *text; /* return value, event data, raw bytes, error class */
    char *desc; /* error description */
    gsize size; /* oversize; batch count */
} Step;

typedef struct {
    char *execute;
    json_object *args;
    char *id; /* JSON text of the id (any JSON value), or NULL */
    gint64 end; /* stream offset just past the line */
} Command;

typedef struct {
    gint64 pos; /* stream offset of the byte that carried them */
    int *fds;
    gsize nfds;
} FdChunk;

struct _QmpMock {
    QmpMockTransport transport;
    char *greeting;
    GPtrArray *steps; /* Step * */
    GThread *thread;
    int stop_fd; /* eventfd: the test wants the thread gone */
    int release_fd; /* eventfd: the test ends a stall */
    int listen_fd;
    int conn; /* the mock's end */
    int client_fd; /* the client's end (socketpair) */
    char *dir;
    char *path;

    /* mock thread only */
    GString *rbuf;
    gint64 rbuf_start; /* stream offset of rbuf->str[0] */
    GQueue fd_chunks; /* FdChunk *, not yet given to a command */
    GQueue hung; /* char * ids */
    GString *burst; /* between BURST_BEGIN and BURST_END: what to send */

    GMutex lock;
    /* under lock */
    GCond cond;
    gboolean script_done;
    gboolean thread_done;
    GString *failures;
    GArray *fds; /* int */
    GPtrArray *fd_commands; /* char * */
    guint ncommands;
};

static void step_free(gpointer data)
{
    Step *s = data;

    g_free(s->execute);
    g_free(s->args);
    g_free(s->text);
    g_free(s->desc);
    g_free(s);
}

static void command_free(Command *c)
{
    if (!c)
        return;
    g_free(c->execute);
    g_free(c->id);
    if (c->args)
        json_object_put(c->args);
    g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Command, command_free)

static void mock_fail(QmpMock *mock, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void mock_fail(QmpMock *mock, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_mutex_lock(&mock->lock);
    g_string_append_printf(mock->failures, "qmp-mock: %s\n", msg);
    g_mutex_unlock(&mock->lock);
}

QmpMock *qmp_mock_new(QmpMockTransport transport)
{
    QmpMock *mock = g_new0(QmpMock, 1);

    mock->transport = transport;
    mock->greeting = g_strdup(QMP_MOCK_GREETING);
    mock->steps = g_ptr_array_new_with_free_func(step_free);
    mock->stop_fd = eventfd(0, EFD_CLOEXEC);
    g_assert_cmpint(mock->stop_fd, >=, 0);
    mock->release_fd = eventfd(0, EFD_CLOEXEC);
    g_assert_cmpint(mock->release_fd, >=, 0);
    mock->listen_fd = -1;
    mock->conn = -1;
    mock->client_fd = -1;
    mock->rbuf = g_string_new(NULL);
    g_queue_init(&mock->fd_chunks);
    g_queue_init(&mock->hung);
    g_mutex_init(&mock->lock);
    g_cond_init(&mock->cond);
    mock->failures = g_string_new(NULL);
    mock->fds = g_array_new(FALSE, FALSE, sizeof(int));
    mock->fd_commands = g_ptr_array_new_with_free_func(g_free);
    return mock;
}

static void fd_chunk_free(gpointer data)
{
    FdChunk *c = data;

    for (gsize i = 0; i < c->nfds; i++)
        ferry_fd_close(&c->fds[i]);
    g_free(c->fds);
    g_free(c);
}

void qmp_mock_free(QmpMock *mock)
{
    if (!mock)
        return;
    if (mock->thread) {
        guint64 one = 1;

        g_assert_cmpint(write(mock->stop_fd, &one, sizeof(one)), ==, sizeof(one));
        g_thread_join(mock->thread);
    }
    ferry_fd_close(&mock->conn);
    ferry_fd_close(&mock->client_fd);
    ferry_fd_close(&mock->listen_fd);
    ferry_fd_close(&mock->stop_fd);
    ferry_fd_close(&mock->release_fd);
    if (mock->path)
        g_unlink(mock->path);
    if (mock->dir)
        g_rmdir(mock->dir);
    g_free(mock->path);
    g_free(mock->dir);
    g_free(mock->greeting);
    g_ptr_array_unref(mock->steps);
    g_string_free(mock->rbuf, TRUE);
    if (mock->burst)
        g_string_free(mock->burst, TRUE);
    g_queue_clear_full(&mock->fd_chunks, fd_chunk_free);
    g_queue_clear_full(&mock->hung, g_free);
    for (guint i = 0; i < mock->fds->len; i++)
        close(g_array_index(mock->fds, int, i));
    g_array_unref(mock->fds);
    g_ptr_array_unref(mock->fd_commands);
    g_string_free(mock->failures, TRUE);
    g_mutex_clear(&mock->lock);
    g_cond_clear(&mock->cond);
    g_free(mock);
}

void qmp_mock_set_greeting(QmpMock *mock, const char *text)
{
    g_free(mock->greeting);
    mock->greeting = g_strdup(text);
}

static Step *mock_add(QmpMock *mock, StepKind kind, const char *execute, const char *args,
                      const char *text)
{
    Step *s = g_new0(Step, 1);

    s->kind = kind;
    s->execute = g_strdup(execute);
    s->args = g_strdup(args);
    s->text = g_strdup(text);
    g_ptr_array_add(mock->steps, s);
    return s;
}

void qmp_mock_expect_return(QmpMock *mock, const char *execute, const char *args, const char *ret)
{
    mock_add(mock, STEP_EXPECT_RETURN, execute, args, ret ? ret : "{}");
}

void qmp_mock_expect_error(QmpMock *mock, const char *execute, const char *args, const char *klass,
                           const char *desc)
{
    Step *s = mock_add(mock, STEP_EXPECT_ERROR, execute, args, klass);

    s->desc = g_strdup(desc);
}

void qmp_mock_expect_hang(QmpMock *mock, const char *execute, const char *args)
{
    mock_add(mock, STEP_EXPECT_HANG, execute, args, NULL);
}

void qmp_mock_expect_close(QmpMock *mock, const char *execute, const char *args)
{
    mock_add(mock, STEP_EXPECT_CLOSE, execute, args, NULL);
}

void qmp_mock_expect_batch_echo(QmpMock *mock, const char *execute, guint count)
{
    mock_add(mock, STEP_EXPECT_BATCH_ECHO, execute, NULL, NULL)->size = count;
}

void qmp_mock_reply_hung(QmpMock *mock, const char *ret)
{
    mock_add(mock, STEP_REPLY_HUNG, NULL, NULL, ret ? ret : "{}");
}

void qmp_mock_event(QmpMock *mock, const char *name, const char *data)
{
    mock_add(mock, STEP_EVENT, name, NULL, data);
}

void qmp_mock_raw(QmpMock *mock, const char *bytes)
{
    mock_add(mock, STEP_RAW, NULL, NULL, bytes);
}

void qmp_mock_oversize(QmpMock *mock, gsize size)
{
    mock_add(mock, STEP_OVERSIZE, NULL, NULL, NULL)->size = size;
}

void qmp_mock_close(QmpMock *mock)
{
    mock_add(mock, STEP_CLOSE, NULL, NULL, NULL);
}

void qmp_mock_stall(QmpMock *mock)
{
    mock_add(mock, STEP_STALL, NULL, NULL, NULL);
}

void qmp_mock_burst_begin(QmpMock *mock)
{
    mock_add(mock, STEP_BURST_BEGIN, NULL, NULL, NULL);
}

void qmp_mock_burst_end(QmpMock *mock)
{
    mock_add(mock, STEP_BURST_END, NULL, NULL, NULL);
}

void qmp_mock_release(QmpMock *mock)
{
    guint64 one = 1;

    g_assert_cmpint(write(mock->release_fd, &one, sizeof(one)), ==, sizeof(one));
}

/* ---------------------------------------------------------------- I/O */

/* Waits until conn has events (or the test stops us).  FALSE on stop. */
static gboolean mock_poll(QmpMock *mock, int fd, short events)
{
    struct pollfd pfd[2] = {
        { .fd = fd, .events = events },
        { .fd = mock->stop_fd, .events = POLLIN },
    };

    for (;;) {
        int n = poll(pfd, 2, -1);

        if (n < 0 && errno == EINTR)
            continue;
        g_assert_cmpint(n, >, 0);
        if (pfd[1].revents)
            return FALSE;
        return TRUE;
    }
}

/* Sends all of buf.  FALSE when the connection is gone (or we stop). */
static gboolean mock_send(QmpMock *mock, const char *buf, gsize len)
{
    gsize off = 0;

    if (mock->burst) {
        g_string_append_len(mock->burst, buf, (gssize)len);
        return mock->conn >= 0;
    }
    while (off < len) {
        ssize_t n;

        if (mock->conn < 0)
            return FALSE;
        n = send(mock->conn, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!mock_poll(mock, mock->conn, POLLOUT))
                return FALSE;
            continue;
        }
        if (n < 0)
            return FALSE; /* EPIPE, ECONNRESET: the client left */
        off += n;
    }
    return TRUE;
}

static gboolean mock_send_line(QmpMock *mock, const char *text)
{
    g_autofree char *line = g_strconcat(text, "\r\n", NULL);

    return mock_send(mock, line, strlen(line));
}

static void mock_take_fds(QmpMock *mock, Command *cmd, gint64 start)
{
    FdChunk *c;

    while ((c = g_queue_peek_head(&mock->fd_chunks)) && c->pos < cmd->end) {
        g_queue_pop_head(&mock->fd_chunks);
        g_mutex_lock(&mock->lock);
        for (gsize i = 0; i < c->nfds; i++) {
            g_array_append_val(mock->fds, c->fds[i]);
            g_ptr_array_add(mock->fd_commands, g_strdup(cmd->execute));
            if (c->pos < start)
                g_string_append_printf(mock->failures,
                                       "qmp-mock: an fd arrived before the command '%s' started\n",
                                       cmd->execute);
        }
        g_mutex_unlock(&mock->lock);
        c->nfds = 0;
        fd_chunk_free(c);
    }
}

/* The next command, or NULL at end of file or on stop. */
static Command *mock_read_command(QmpMock *mock)
{
    for (;;) {
        char *nl = memchr(mock->rbuf->str, '\n', mock->rbuf->len);

        if (nl) {
            gsize linelen = nl - mock->rbuf->str + 1;
            g_autofree char *line = g_strndup(mock->rbuf->str, linelen);
            g_autoptr(Command) cmd = g_new0(Command, 1);
            json_object *obj = json_tokener_parse(line);
            json_object *val = NULL;
            gint64 start = mock->rbuf_start;

            cmd->end = mock->rbuf_start + linelen;
            g_string_erase(mock->rbuf, 0, linelen);
            mock->rbuf_start += linelen;
            if (!obj || !json_object_is_type(obj, json_type_object) ||
                !json_object_object_get_ex(obj, "execute", &val)) {
                mock_fail(mock, "not a QMP command: %s", line);
                if (obj)
                    json_object_put(obj);
                continue;
            }
            cmd->execute = g_strdup(json_object_get_string(val));
            if (json_object_object_get_ex(obj, "arguments", &val))
                cmd->args = json_object_get(val);
            if (json_object_object_get_ex(obj, "id", &val))
                cmd->id = g_strdup(json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
            json_object_put(obj);
            mock_take_fds(mock, cmd, start);
            g_mutex_lock(&mock->lock);
            mock->ncommands++;
            g_mutex_unlock(&mock->lock);
            return g_steal_pointer(&cmd);
        }

        if (mock->conn < 0 || !mock_poll(mock, mock->conn, POLLIN))
            return NULL;

        char buf[4096];
        int fds[FDPASS_MAX_FDS];
        gsize nfds = 0;
        g_autoptr(GError) err = NULL;
        gssize n = fdpass_recv(mock->conn, buf, sizeof(buf), fds, G_N_ELEMENTS(fds), &nfds, &err);

        if (n == FDPASS_WOULD_BLOCK)
            continue;
        if (n <= 0)
            return NULL;
        if (nfds > 0) {
            FdChunk *c = g_new0(FdChunk, 1);

            /* The fds come with the last byte of what one recvmsg() returns. */
            c->pos = mock->rbuf_start + mock->rbuf->len + n - 1;
            c->fds = g_memdup2(fds, nfds * sizeof(int));
            c->nfds = nfds;
            g_queue_push_tail(&mock->fd_chunks, c);
        }
        g_string_append_len(mock->rbuf, buf, n);
    }
}

static void mock_reply_return(QmpMock *mock, const char *id, const char *ret)
{
    g_autofree char *line = g_strdup_printf("{\"return\": %s, \"id\": %s}", ret, id ? id : "null");

    mock_send_line(mock, line);
}

static gboolean mock_args_match(QmpMock *mock, const Step *step, Command *cmd)
{
    g_autoptr(json_object) want = NULL;

    if (!step->args)
        return TRUE;
    want = json_tokener_parse(step->args);
    g_assert_nonnull(want);
    if (cmd->args && json_object_equal(want, cmd->args))
        return TRUE;
    mock_fail(mock, "command '%s': expected arguments %s, got %s", cmd->execute, step->args,
              cmd->args ? json_object_to_json_string(cmd->args) : "none");
    return FALSE;
}

/* Reads commands until one named execute arrives; answers the others as
 * unexpected.  NULL when the connection ended first. */
static Command *mock_expect(QmpMock *mock, const char *execute)
{
    for (;;) {
        g_autoptr(Command) cmd = mock_read_command(mock);

        if (!cmd) {
            mock_fail(mock, "expected command '%s', but the connection ended", execute);
            return NULL;
        }
        if (g_str_equal(cmd->execute, execute))
            return g_steal_pointer(&cmd);
        mock_fail(mock, "unexpected command '%s' (expected '%s')", cmd->execute, execute);
        g_autofree char *line =
            g_strdup_printf("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"qmp-mock: "
                            "unexpected command\"}, \"id\": %s}",
                            cmd->id ? cmd->id : "null");
        mock_send_line(mock, line);
    }
}

static void mock_close_conn(QmpMock *mock)
{
    if (mock->conn >= 0)
        shutdown(mock->conn, SHUT_RDWR);
    ferry_fd_close(&mock->conn);
}

static void mock_run_step(QmpMock *mock, const Step *step)
{
    g_autoptr(Command) cmd = NULL;

    switch (step->kind) {
    case STEP_EXPECT_RETURN:
    case STEP_EXPECT_ERROR:
    case STEP_EXPECT_HANG:
    case STEP_EXPECT_CLOSE:
        if (!(cmd = mock_expect(mock, step->execute)))
            return;
        mock_args_match(mock, step, cmd);
        if (step->kind == STEP_EXPECT_RETURN) {
            mock_reply_return(mock, cmd->id, step->text);
        } else if (step->kind == STEP_EXPECT_ERROR) {
            g_autoptr(json_object) err = json_object_new_object();
            g_autoptr(json_object) msg = json_object_new_object();

            json_object_object_add(err, "class", json_object_new_string(step->text));
            json_object_object_add(err, "desc", json_object_new_string(step->desc));
            json_object_object_add(msg, "error", json_object_get(err));
            if (cmd->id)
                json_object_object_add(msg, "id", json_tokener_parse(cmd->id));
            mock_send_line(mock, json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
        } else if (step->kind == STEP_EXPECT_HANG) {
            g_queue_push_tail(&mock->hung, g_strdup(cmd->id ? cmd->id : "null"));
        } else {
            mock_close_conn(mock);
        }
        return;

    case STEP_EXPECT_BATCH_ECHO: {
        g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func((GDestroyNotify)command_free);

        for (gsize i = 0; i < step->size; i++) {
            Command *c = mock_expect(mock, step->execute);

            if (!c)
                return;
            g_ptr_array_add(batch, c);
        }
        for (guint i = batch->len; i-- > 0;) {
            Command *c = batch->pdata[i];

            mock_reply_return(
                mock, c->id,
                c->args ? json_object_to_json_string_ext(c->args, JSON_C_TO_STRING_PLAIN) : "{}");
        }
        return;
    }

    case STEP_REPLY_HUNG: {
        g_autofree char *id = g_queue_pop_head(&mock->hung);

        if (!id) {
            mock_fail(mock, "script error: no hung command to answer");
            return;
        }
        mock_reply_return(mock, id, step->text);
        return;
    }

    case STEP_EVENT: {
        gint64 now = g_get_real_time();
        g_autofree char *line =
            g_strdup_printf("{\"timestamp\": {\"seconds\": %" G_GINT64_FORMAT
                            ", \"microseconds\": %" G_GINT64_FORMAT "}, \"event\": \"%s\"%s%s}",
                            now / G_USEC_PER_SEC, now % G_USEC_PER_SEC, step->execute,
                            step->text ? ", \"data\": " : "", step->text ? step->text : "");

        mock_send_line(mock, line);
        return;
    }

    case STEP_RAW:
        mock_send(mock, step->text, strlen(step->text));
        return;

    case STEP_OVERSIZE: {
        static const char head[] = "{\"return\": \"";
        static const char tail[] = "\", \"id\": \"oversize\"}\r\n";
        gsize chunk = 1024 * 1024;
        g_autofree char *filler = g_malloc(chunk);
        gsize left = step->size;

        memset(filler, 'x', chunk);
        if (!mock_send(mock, head, strlen(head)))
            return;
        while (left > 0) {
            gsize n = MIN(left, chunk);

            if (!mock_send(mock, filler, n))
                return; /* the client gave up on it: expected */
            left -= n;
        }
        mock_send(mock, tail, strlen(tail));
        return;
    }

    case STEP_CLOSE:
        mock_close_conn(mock);
        return;

    case STEP_STALL: {
        guint64 count;

        /* Reads nothing until released (or stopped). */
        if (mock_poll(mock, mock->release_fd, POLLIN))
            g_assert_cmpint(read(mock->release_fd, &count, sizeof(count)), ==, sizeof(count));
        return;
    }

    case STEP_BURST_BEGIN:
        if (!mock->burst)
            mock->burst = g_string_new(NULL);
        return;

    case STEP_BURST_END: {
        g_autoptr(GString) burst = g_steal_pointer(&mock->burst);

        /* one send: the client finds it all in one read */
        if (burst)
            mock_send(mock, burst->str, burst->len);
        return;
    }
    }
}

static gpointer mock_thread(gpointer data)
{
    QmpMock *mock = data;

    if (mock->transport == QMP_MOCK_UNIX) {
        if (mock_poll(mock, mock->listen_fd, POLLIN))
            mock->conn = accept4(mock->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (mock->conn < 0)
            mock_fail(mock, "no client connected");
    }
    if (mock->conn >= 0) {
        g_assert_cmpint(ferry_fd_set_nonblock(mock->conn, TRUE), ==, 0);
        if (mock->greeting)
            mock_send_line(mock, mock->greeting);
        for (guint i = 0; i < mock->steps->len; i++)
            mock_run_step(mock, mock->steps->pdata[i]);
    }

    g_mutex_lock(&mock->lock);
    mock->script_done = TRUE;
    g_cond_broadcast(&mock->cond);
    g_mutex_unlock(&mock->lock);

    /* Past the script every command is unexpected. */
    for (;;) {
        g_autoptr(Command) cmd = mock_read_command(mock);
        g_autofree char *line = NULL;

        if (!cmd)
            break;
        mock_fail(mock, "unexpected command '%s' after the end of the script", cmd->execute);
        line = g_strdup_printf("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                               "\"qmp-mock: unexpected command\"}, \"id\": %s}",
                               cmd->id ? cmd->id : "null");
        mock_send_line(mock, line);
    }

    g_mutex_lock(&mock->lock);
    mock->thread_done = TRUE;
    g_cond_broadcast(&mock->cond);
    g_mutex_unlock(&mock->lock);
    return NULL;
}

void qmp_mock_start(QmpMock *mock)
{
    if (mock->transport == QMP_MOCK_SOCKETPAIR) {
        int sv[2];

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        mock->conn = sv[0];
        mock->client_fd = sv[1];
    } else {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };

        mock->dir = g_dir_make_tmp("ferry-qmp-XXXXXX", NULL);
        g_assert_nonnull(mock->dir);
        mock->path = g_build_filename(mock->dir, "qmp.sock", NULL);
        g_assert_cmpuint(strlen(mock->path), <, sizeof(addr.sun_path));
        strcpy(addr.sun_path, mock->path);
        mock->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(mock->listen_fd, >=, 0);
        g_assert_cmpint(bind(mock->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
        g_assert_cmpint(listen(mock->listen_fd, 1), ==, 0);
    }
    mock->thread = g_thread_new("qmp-mock", mock_thread, mock);
}

int qmp_mock_take_client_fd(QmpMock *mock)
{
    return ferry_fd_steal(&mock->client_fd);
}

const char *qmp_mock_get_path(QmpMock *mock)
{
    return mock->path;
}

char *qmp_mock_finish(QmpMock *mock)
{
    gint64 deadline = g_get_monotonic_time() + QMP_MOCK_SAFETY_NET_US;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mock->lock);

    while (!mock->script_done) {
        if (!g_cond_wait_until(&mock->cond, &mock->lock, deadline)) {
            g_string_append(mock->failures, "qmp-mock: the script did not finish (safety net)\n");
            break;
        }
    }
    if (mock->failures->len == 0)
        return NULL;
    return g_strdup(mock->failures->str);
}

guint qmp_mock_n_fds(QmpMock *mock)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mock->lock);

    return mock->fds->len;
}

int qmp_mock_get_fd(QmpMock *mock, guint i, const char **execute)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mock->lock);

    g_assert_cmpuint(i, <, mock->fds->len);
    if (execute)
        *execute = mock->fd_commands->pdata[i];
    return g_array_index(mock->fds, int, i);
}

guint qmp_mock_n_commands(QmpMock *mock)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mock->lock);

    return mock->ncommands;
}
