/*
 * qmp-relay.c: a QMP relay for tests (qmp-relay.h).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-c/json.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "tests.qmp-relay"

#include "util/error.h"
#include "util/fd.h"
#include "util/fdpass.h"
#include "util/log.h"
#include "driver/qemu_monitor.h" /* g_autoptr(json_object) */
#include "tests/qmp-relay.h"

struct _QmpRelay {
    char *path;
    char *real_path;
    char *fail;
    char *klass;
    char *desc;
    int listen_fd;
    int stop[2]; /* a byte on stop[1] ends the thread */
    GThread *thread;
    GMutex lock;
    guint failed;
    char *last_args;
};

/* One direction's bytes (and fds) not yet passed on as whole lines. */
typedef struct {
    GByteArray *buf;
    GArray *fds; /* int */
} RelayIn;

static gboolean write_all(int fd, const char *buf, gsize len, const int *fds, gsize nfds)
{
    g_autoptr(GError) err = NULL;

    if (fdpass_send(fd, buf, len, fds, nfds, &err) < 0) {
        FLOG_DEBUG("relay: %s", err->message);
        return FALSE;
    }
    return TRUE;
}

/* The failed command's error reply, with its id. */
static gboolean relay_fail_command(QmpRelay *relay, int to, json_object *cmd)
{
    g_autoptr(json_object) reply = json_object_new_object();
    json_object *error = json_object_new_object();
    json_object *id = NULL, *args = NULL;

    json_object_object_add(error, "class", json_object_new_string(relay->klass));
    json_object_object_add(error, "desc", json_object_new_string(relay->desc));
    json_object_object_add(reply, "error", error);
    if (json_object_object_get_ex(cmd, "id", &id))
        json_object_object_add(reply, "id", json_object_get(id));
    json_object_object_get_ex(cmd, "arguments", &args);

    g_mutex_lock(&relay->lock);
    relay->failed++;
    g_free(relay->last_args);
    relay->last_args =
        g_strdup(args ? json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN) : "{}");
    g_mutex_unlock(&relay->lock);

    g_autofree char *text =
        g_strconcat(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN), "\r\n", NULL);
    return write_all(to, text, strlen(text), NULL, 0);
}

/* Reads what from sent and passes on its whole lines to `to` (the fds with
 * the next line); from the driver (commands), the failing one is answered
 * back instead.  FALSE when a side closed. */
static gboolean relay_pump(QmpRelay *relay, int from, int to, RelayIn *in, gboolean commands)
{
    char chunk[65536];
    int fds[FDPASS_MAX_FDS];
    gsize nfds = 0;
    g_autoptr(GError) err = NULL;
    gssize n = fdpass_recv(from, chunk, sizeof(chunk), fds, G_N_ELEMENTS(fds), &nfds, &err);

    if (n < 0)
        return FALSE;
    g_byte_array_append(in->buf, (const guint8 *)chunk, (guint)n);
    g_array_append_vals(in->fds, fds, (guint)nfds);
    for (;;) {
        guint8 *nl = memchr(in->buf->data, '\n', in->buf->len);
        gsize len;
        gboolean ok;

        if (!nl)
            return TRUE;
        len = (gsize)(nl - in->buf->data) + 1;
        g_autoptr(json_object) cmd = NULL;
        json_object *exec = NULL;

        if (commands) {
            g_autofree char *line = g_strndup((const char *)in->buf->data, len);

            cmd = json_tokener_parse(line);
        }
        if (cmd && json_object_object_get_ex(cmd, "execute", &exec) &&
            g_strcmp0(json_object_get_string(exec), relay->fail) == 0)
            ok = relay_fail_command(relay, from, cmd);
        else
            ok = write_all(to, (const char *)in->buf->data, len, (const int *)(void *)in->fds->data,
                           in->fds->len);
        for (guint i = 0; i < in->fds->len; i++)
            close(g_array_index(in->fds, int, i));
        g_array_set_size(in->fds, 0);
        g_byte_array_remove_range(in->buf, 0, (guint)len);
        if (!ok)
            return FALSE;
    }
}

static int relay_connect(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        FLOG_WARN("relay: cannot connect to %s: %s", path, g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static gpointer relay_thread(gpointer data)
{
    QmpRelay *relay = data;
    struct pollfd accept_pfd[2] = { { relay->listen_fd, POLLIN, 0 },
                                    { relay->stop[0], POLLIN, 0 } };
    g_auto(FerryFd) drv = -1;
    g_auto(FerryFd) qemu = -1;
    RelayIn to_qemu = { g_byte_array_new(), g_array_new(FALSE, FALSE, sizeof(int)) };
    RelayIn to_drv = { g_byte_array_new(), g_array_new(FALSE, FALSE, sizeof(int)) };

    if (poll(accept_pfd, 2, -1) > 0 && (accept_pfd[0].revents & POLLIN))
        drv = accept4(relay->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (drv >= 0)
        qemu = relay_connect(relay->real_path);
    while (drv >= 0 && qemu >= 0) {
        struct pollfd pfd[3] = { { drv, POLLIN, 0 },
                                 { qemu, POLLIN, 0 },
                                 { relay->stop[0], POLLIN, 0 } };

        if (poll(pfd, 3, -1) < 0 && errno != EINTR)
            break;
        if (pfd[2].revents)
            break;
        if (pfd[0].revents && !relay_pump(relay, drv, qemu, &to_qemu, TRUE))
            break;
        if (pfd[1].revents && !relay_pump(relay, qemu, drv, &to_drv, FALSE))
            break;
    }
    for (guint i = 0; i < to_qemu.fds->len; i++)
        close(g_array_index(to_qemu.fds, int, i));
    g_byte_array_unref(to_qemu.buf);
    g_array_unref(to_qemu.fds);
    g_byte_array_unref(to_drv.buf);
    g_array_unref(to_drv.fds);
    return NULL;
}

QmpRelay *qmp_relay_new(const char *path, const char *real_path, const char *fail,
                        const char *klass, const char *desc)
{
    QmpRelay *relay = g_new0(QmpRelay, 1);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    relay->path = g_strdup(path);
    relay->real_path = g_strdup(real_path);
    relay->fail = g_strdup(fail);
    relay->klass = g_strdup(klass);
    relay->desc = g_strdup(desc);
    g_mutex_init(&relay->lock);
    g_assert_cmpint(pipe2(relay->stop, O_CLOEXEC), ==, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(sun.sun_path));
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    (void)g_unlink(path);
    relay->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(relay->listen_fd, >=, 0);
    g_assert_cmpint(bind(relay->listen_fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(relay->listen_fd, 1), ==, 0);
    relay->thread = g_thread_new("qmp-relay", relay_thread, relay);
    return relay;
}

void qmp_relay_free(QmpRelay *relay)
{
    if (!relay)
        return;
    g_assert_cmpint(write(relay->stop[1], "x", 1), ==, 1);
    g_thread_join(relay->thread);
    close(relay->listen_fd);
    close(relay->stop[0]);
    close(relay->stop[1]);
    (void)g_unlink(relay->path);
    g_mutex_clear(&relay->lock);
    g_free(relay->path);
    g_free(relay->real_path);
    g_free(relay->fail);
    g_free(relay->klass);
    g_free(relay->desc);
    g_free(relay->last_args);
    g_free(relay);
}

guint qmp_relay_failed(QmpRelay *relay, char **last_args)
{
    guint n;

    g_mutex_lock(&relay->lock);
    n = relay->failed;
    if (last_args)
        *last_args = g_strdup(relay->last_args);
    g_mutex_unlock(&relay->lock);
    return n;
}
