/*
 * bench-migrate.c: live migration with ferry against the same migration
 * driven by QMP alone, side by side in one run.
 *
 *     build/bench/bench-migrate [--runs N] [--sizes 256,1024] [--workloads idle,dirty]
 *                               [--quick] [--client PATH] [--ferryd PATH]
 *
 * For every guest size (MiB of guest RAM) and workload, run after run:
 *  - ferry: two daemon/ferryd on loopback TCP (temporary roots, different
 *    host UUIDs), the test guest defined and started on A, then the whole
 *    `ferry -c A migrate --live DOM B` command, spawned and timed from
 *    spawn to exit.  ferryd's completed job statistics on A give the job's
 *    time (Begin to Confirm) and QEMU's downtime.
 *  - qmp: the same migration with nothing but QMP.  The source is a QEMU
 *    started here with ferryd's own command line for that domain (read
 *    from /proc/PID/cmdline of the QEMU ferryd ran, its monitor and serial
 *    fds re-created and handed over the same way); the destination gets
 *    the same line plus -incoming tcp:127.0.0.1:PORT.  Timed from the
 *    destination's spawn until the source has quit and the destination
 *    runs: greeting, max-bandwidth unlimited, migrate, query-migrate every
 *    QMP_POLL_MS until completed (its total-time and downtime), quit.
 * The guest writes its serial port to a file in both cases (append, so the
 * destination QEMU continues the source's file); a thread timestamps each
 * tick line as it arrives, and the largest gap between two tick lines
 * around the migration is the pause the guest saw.  A run fails when the
 * migration fails, the guest reports status=FAIL or its ticks do not
 * continue one by one on the destination.
 *
 * One JSON document on stdout, progress on stderr.  ferryd, every QEMU, the
 * client and the temporary directory go away on every path, also on
 * SIGINT, SIGTERM and SIGHUP: all of them carry the directory's name in
 * their command line or environment, and a last sweep of /proc kills
 * whatever still does.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

#include "ferry/ferry.h"
#include "util/fd.h"
#include "util/spawn.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

#define OVERHEAD_GOAL_MS 30
/* Rounds per configuration: QEMU's own migration time varies by tens of ms
 * from run to run on a 2-core host (on both sides), so a median of 5 can
 * move the difference by as much as the goal. */
#define DEFAULT_RUNS 11
/* QEMU's max-bandwidth for "unlimited", as ferry and libvirt send it. */
#define BANDWIDTH_UNLIMITED (G_MAXINT64 / (1024 * 1024) * (1024 * 1024))
/* How often the QMP side asks query-migrate and query-status. */
#define QMP_POLL_MS 5
#define QMP_TIMEOUT_MS 30000
#define MIGRATE_TIMEOUT_MS (10 * 60 * 1000)
/* Booting and filling the guest's memory (kvm here is slow on first writes). */
#define READY_TIMEOUT_MS (5 * 60 * 1000)
/* Tick lines after the guest's first full self-check before migrating. */
#define SETTLE_TICKS 5
/* Tick lines after the migration that the pause is looked for in; a run
 * ends when there are that many and the guest has made a full self-check
 * pass on the destination, within CHECKED_AFTER_TIMEOUT_MS. */
#define TICKS_AFTER 3
#define CHECKED_AFTER_TIMEOUT_MS 120000
#define QEMU_KILL_GRACE_MS 2000
/* A destination QEMU that cannot listen on the port ferryd B chose (in
 * 49152-49215, like libvirt's) because another process took it meanwhile
 * (tests running beside the bench): that run is made again, at most
 * PORT_RETRIES times per configuration, and the JSON says so. */
#define PORT_IN_USE "Address already in use"
#define PORT_RETRIES 3
#define KILL_WAIT_MS 10000
/* Set in the environment of every process started here: the temp dir. */
#define ENV_MARK "FERRY_BENCH_MIGRATE_DIR"

#define BENCH_ERROR (bench_error_quark())
static G_DEFINE_QUARK(ferry_bench_migrate_error, bench_error)

    /* A guest workload: data, one row each. */
    typedef struct {
    const char *name;
    const char *domain_type; /* 'qemu' (tcg) or 'kvm' */
    const char *cmdline; /* the guest's arguments */
    gboolean needs_kvm;
} Workload;

static const Workload workloads[] = {
    /* QEMU 7.2's tcg loses dirty pages during migration: only idle guests there */
    { "idle", "qemu", "mem=16 rate=0 seed=1", FALSE },
    /* kvm, and little memory to fill and check (a guest's first touch of a
     * page is slow under nested kvm: 4 MiB take seconds) */
    { "dirty", "kvm", "mem=4 rate=2000 seed=1", TRUE },
};

typedef struct {
    double wall_ms;
    double qemu_ms; /* ferry: ferryd's job time_elapsed; qmp: query-migrate total-time */
    double downtime_ms;
    double pause_ms; /* the largest gap between tick lines around the migration */
    double tick_gap_ms; /* the median gap before it */
} Sample;

typedef struct {
    guint mem_mib;
    const Workload *wl;
    char *name;
    char *serial; /* the domain's serial file (ferry side) */
    FerryDomain *dom; /* defined on A */
    char **qemu_argv; /* ferryd's command line for it */
    GArray *ferry; /* Sample */
    GArray *qmp; /* Sample */
    char *error;
    const char *skipped;
    guint port_retries;
} Config;

typedef struct {
    char *root;
    char *log;
    char *uri;
    Spawn *proc;
    FerryConnect *conn;
} Ferryd;

typedef struct {
    char *dir;
    char *kernel;
    char *client;
    char *ferryd_prog;
    gboolean kvm;
    char *qemu_version;
    Ferryd a;
    Ferryd b;
} Bench;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static gboolean G_GNUC_PRINTF(2, 3) fail(GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, BENCH_ERROR, 1, msg);
    return FALSE;
}

static gboolean check_interrupt(GError **error)
{
    if (interrupted)
        return fail(error, "interrupted by signal %d", (int)interrupted);
    return TRUE;
}

static double ms_between(gint64 from_us, gint64 to_us)
{
    return (to_us - from_us) / 1000.0;
}

static gint cmp_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(GArray *values)
{
    g_autoptr(GArray) v = g_array_copy(values);

    if (v->len == 0)
        return 0;
    g_array_sort(v, cmp_double);
    if (v->len % 2)
        return g_array_index(v, double, v->len / 2);
    return (g_array_index(v, double, v->len / 2 - 1) + g_array_index(v, double, v->len / 2)) / 2;
}

/* ---------------------------------------------------------------- /proc */

/* /proc/PID/name as read (NULs kept), or NULL. */
static char *proc_read(pid_t pid, const char *name, gsize *len)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/%s", (int)pid, name);
    char *text = NULL;

    if (!g_file_get_contents(path, &text, len, NULL))
        return NULL;
    return text;
}

static gboolean proc_has(pid_t pid, const char *name, const char *needle)
{
    gsize len = 0;
    g_autofree char *text = proc_read(pid, name, &len);

    return text && memmem(text, len, needle, strlen(needle)) != NULL;
}

static gboolean proc_alive(pid_t pid)
{
    gsize len = 0;
    g_autofree char *stat = proc_read(pid, "stat", &len);
    const char *paren = stat ? strrchr(stat, ')') : NULL;

    return paren && !(paren[1] == ' ' && paren[2] == 'Z');
}

/* Live processes whose command line or environment holds needle. */
static GArray *procs_naming(const char *needle)
{
    GArray *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *entry;

    while (dir && (entry = g_dir_read_name(dir))) {
        char *end = NULL;
        long num = strtol(entry, &end, 10);
        pid_t pid = (pid_t)num;

        if (!end || *end || num <= 0 || pid == getpid())
            continue;
        if ((proc_has(pid, "cmdline", needle) || proc_has(pid, "environ", needle)) &&
            proc_alive(pid))
            g_array_append_val(pids, pid);
    }
    return pids;
}

/* SIGKILLs every process naming needle and waits until each is gone. */
static void kill_procs_naming(const char *needle)
{
    g_autoptr(GArray) pids = procs_naming(needle);

    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);
        gint64 deadline = g_get_monotonic_time() + (gint64)KILL_WAIT_MS * 1000;

        fprintf(stderr, "bench-migrate: killing leftover process %d\n", (int)pid);
        kill(pid, SIGKILL);
        while (g_get_monotonic_time() < deadline) {
            if (waitpid(pid, NULL, WNOHANG) == pid || !proc_alive(pid))
                break;
            g_usleep(10 * 1000);
        }
    }
}

/* argv of pid (g_strfreev), or NULL. */
static char **proc_argv(pid_t pid)
{
    gsize len = 0;
    g_autofree char *text = proc_read(pid, "cmdline", &len);
    GPtrArray *argv = g_ptr_array_new();

    for (gsize i = 0; text && i < len; i += strlen(text + i) + 1)
        g_ptr_array_add(argv, g_strdup(text + i));
    g_ptr_array_add(argv, NULL);
    if (argv->len == 1) {
        g_ptr_array_free(argv, TRUE);
        return NULL;
    }
    return (char **)g_ptr_array_free(argv, FALSE);
}

/* ---------------------------------------------------------------- serial */

typedef struct {
    gint64 t_us; /* monotonic time the line's end arrived */
    guint tick;
    guint checks;
} TickLine;

/* A thread that follows a serial file and timestamps the guest's lines. */
typedef struct {
    char *path;
    GThread *thread;
    GMutex lock;
    GCond cond;
    gboolean stop;
    GArray *lines; /* TickLine */
    char *last; /* the last line, whatever it was */
    char *bad; /* the first line that is not an ok tick line, after the first one */
    char *error; /* the thread's own failure */
} SerialWatch;

static void serial_watch_line(SerialWatch *w, const char *line, gint64 now)
{
    TickLine t = { .t_us = now };
    guint64 dirtied = 0;
    char status[16] = "";
    gboolean tick = sscanf(line, "tick=%u dirtied=%" G_GUINT64_FORMAT " checks=%u status=%15s",
                           &t.tick, &dirtied, &t.checks, status) == 4;

    g_mutex_lock(&w->lock);
    g_free(w->last);
    w->last = g_strdup(line);
    if (tick && g_str_equal(status, "ok"))
        g_array_append_val(w->lines, t);
    else if (!w->bad && (w->lines->len > 0 || strstr(line, "status=FAIL")))
        w->bad = g_strdup(line);
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

static gpointer serial_watch_run(gpointer data)
{
    SerialWatch *w = data;
    g_auto(FerryFd) fd = open(w->path, O_RDONLY | O_CLOEXEC);
    g_auto(FerryFd) ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    g_autoptr(GString) partial = g_string_new(NULL);
    char buf[4096];

    if (fd < 0 || ino < 0 || inotify_add_watch(ino, w->path, IN_MODIFY) < 0) {
        g_mutex_lock(&w->lock);
        w->error = g_strdup_printf("cannot follow %s: %s", w->path, g_strerror(errno));
        g_cond_broadcast(&w->cond);
        g_mutex_unlock(&w->lock);
        return NULL;
    }
    for (;;) {
        struct pollfd p = { .fd = ino, .events = POLLIN };
        gboolean stop;
        ssize_t n;

        while ((n = read(fd, buf, sizeof(buf))) > 0) {
            gint64 now = g_get_monotonic_time();

            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                    serial_watch_line(w, partial->str, now);
                    g_string_truncate(partial, 0);
                } else if (buf[i] != '\r' && partial->len < 4096) {
                    g_string_append_c(partial, buf[i]);
                }
            }
        }
        g_mutex_lock(&w->lock);
        stop = w->stop;
        g_mutex_unlock(&w->lock);
        if (stop)
            break;
        if (poll(&p, 1, 20) > 0) {
            while (read(ino, buf, sizeof(buf)) > 0)
                ;
        }
    }
    return NULL;
}

static void serial_watch_free(SerialWatch *w)
{
    if (!w)
        return;
    g_mutex_lock(&w->lock);
    w->stop = TRUE;
    g_mutex_unlock(&w->lock);
    g_thread_join(w->thread);
    g_array_unref(w->lines);
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->cond);
    g_free(w->path);
    g_free(w->last);
    g_free(w->bad);
    g_free(w->error);
    g_free(w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SerialWatch, serial_watch_free)

/* Follows path (which must exist) from its start. */
static SerialWatch *serial_watch_new(const char *path)
{
    SerialWatch *w = g_new0(SerialWatch, 1);

    w->path = g_strdup(path);
    w->lines = g_array_new(FALSE, FALSE, sizeof(TickLine));
    g_mutex_init(&w->lock);
    g_cond_init(&w->cond);
    w->thread = g_thread_new("serial", serial_watch_run, w);
    return w;
}

typedef gboolean (*LinesDone)(const GArray *lines, gint64 since);

/* The guest has done a full self-check and printed SETTLE_TICKS lines since. */
static gboolean lines_settled(const GArray *lines, gint64 since)
{
    for (guint i = 0; i < lines->len; i++) {
        if (g_array_index(lines, TickLine, i).checks > 0)
            return lines->len > i + SETTLE_TICKS;
    }
    return FALSE;
}

/* TICKS_AFTER lines arrived after since, and the guest checked all its
 * memory once more from start to end after since. */
static gboolean lines_checked_after(const GArray *lines, gint64 since)
{
    guint n = 0, checks_then = 0;

    for (guint i = 0; i < lines->len; i++) {
        const TickLine *t = &g_array_index(lines, TickLine, i);

        if (t->t_us <= since)
            checks_then = t->checks;
        else if (++n >= TICKS_AFTER && t->checks >= checks_then + 2)
            return TRUE;
    }
    return FALSE;
}

static gboolean serial_watch_wait(SerialWatch *w, LinesDone done, gint64 since, int timeout_ms,
                                  const char *what, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gboolean ok = FALSE;

    g_mutex_lock(&w->lock);
    for (;;) {
        gint64 now = g_get_monotonic_time();

        if (w->error) {
            fail(error, "%s", w->error);
            break;
        }
        if (w->bad) {
            fail(error, "the guest printed '%s'", w->bad);
            break;
        }
        if (done(w->lines, since)) {
            ok = TRUE;
            break;
        }
        if (!check_interrupt(error))
            break;
        if (now > deadline) {
            fail(error, "%s: not within %d s (the guest's last line: '%s')", what,
                 timeout_ms / 1000, w->last ? w->last : "none");
            break;
        }
        g_cond_wait_until(&w->cond, &w->lock, MIN(deadline, now + 50 * 1000));
    }
    g_mutex_unlock(&w->lock);
    return ok;
}

/* What the guest saw of a migration from t0 to t1: the pause (the largest
 * gap between consecutive tick lines from the last one before t0 to the
 * TICKS_AFTER-th after t1) and its normal gap (the median before t0).
 * Fails when ticks do not follow one another by one (lost or stale memory). */
static gboolean serial_watch_analyse(SerialWatch *w, gint64 t0, gint64 t1, Sample *s,
                                     GError **error)
{
    g_autoptr(GArray) gaps = g_array_new(FALSE, FALSE, sizeof(double));
    gboolean ok = TRUE;
    guint after = 0;

    s->pause_ms = 0;
    g_mutex_lock(&w->lock);
    for (guint i = 1; i < w->lines->len && after < TICKS_AFTER; i++) {
        const TickLine *prev = &g_array_index(w->lines, TickLine, i - 1);
        const TickLine *cur = &g_array_index(w->lines, TickLine, i);
        double gap = ms_between(prev->t_us, cur->t_us);

        if (cur->tick != prev->tick + 1) {
            ok = fail(error, "the guest's tick went from %u to %u (lost or stale memory)",
                      prev->tick, cur->tick);
            break;
        }
        if (cur->t_us <= t0)
            g_array_append_val(gaps, gap);
        else
            s->pause_ms = MAX(s->pause_ms, gap);
        after += cur->t_us > t1;
    }
    g_mutex_unlock(&w->lock);
    s->tick_gap_ms = median(gaps);
    return ok;
}

/* ---------------------------------------------------------------- QMP */

/* A blocking QMP client: one command at a time, events skipped. */
typedef struct {
    int fd;
    GString *buf;
    char *what;
} Qmp;

static void qmp_free(Qmp *q)
{
    if (!q)
        return;
    ferry_fd_close(&q->fd);
    g_string_free(q->buf, TRUE);
    g_free(q->what);
    g_free(q);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Qmp, qmp_free)

static json_object *qmp_read(Qmp *q, gint64 deadline, GError **error)
{
    for (;;) {
        char *nl = memchr(q->buf->str, '\n', q->buf->len);
        char tmp[4096];
        ssize_t n;

        if (nl) {
            g_autofree char *line = g_strndup(q->buf->str, nl - q->buf->str);
            json_object *obj;

            g_string_erase(q->buf, 0, nl - q->buf->str + 1);
            obj = json_tokener_parse(line);
            if (!obj || !json_object_is_type(obj, json_type_object)) {
                json_object_put(obj);
                fail(error, "%s sent '%s', not a JSON object", q->what, line);
                return NULL;
            }
            return obj;
        }
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        struct pollfd p = { .fd = q->fd, .events = POLLIN };

        if (!check_interrupt(error))
            return NULL;
        if (left <= 0) {
            fail(error, "%s did not answer on QMP in time", q->what);
            return NULL;
        }
        if (poll(&p, 1, (int)MIN(left, 100)) <= 0)
            continue;
        n = read(q->fd, tmp, sizeof(tmp));
        if (n == 0) {
            fail(error, "%s closed its QMP socket", q->what);
            return NULL;
        }
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            fail(error, "reading QMP of %s: %s", q->what, g_strerror(errno));
            return NULL;
        }
        if (q->buf->len > 16 * 1024 * 1024) {
            fail(error, "%s sent an endless QMP line", q->what);
            return NULL;
        }
        g_string_append_len(q->buf, tmp, n);
    }
}

/* Runs cmd (args taken, may be NULL); the "return" value (json_object_put)
 * or NULL. */
static json_object *qmp_call(Qmp *q, const char *cmd, json_object *args, GError **error)
{
    g_autoptr(json_object) req = json_object_new_object();
    gint64 deadline = g_get_monotonic_time() + (gint64)QMP_TIMEOUT_MS * 1000;
    g_autofree char *text = NULL;
    gsize done = 0, len;

    json_object_object_add(req, "execute", json_object_new_string(cmd));
    if (args)
        json_object_object_add(req, "arguments", args);
    text = g_strdup_printf("%s\n", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
    len = strlen(text);
    while (done < len) {
        ssize_t n = write(q->fd, text + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail(error, "QMP '%s' to %s: %s", cmd, q->what, g_strerror(errno));
            return NULL;
        }
        done += (gsize)n;
    }
    for (;;) {
        g_autoptr(json_object) reply = qmp_read(q, deadline, error);
        json_object *ret = NULL, *err = NULL, *desc = NULL;

        if (!reply)
            return NULL;
        if (json_object_object_get_ex(reply, "return", &ret))
            return json_object_get(ret);
        if (json_object_object_get_ex(reply, "error", &err)) {
            json_object_object_get_ex(err, "desc", &desc);
            fail(error, "QMP '%s' on %s failed: %s", cmd, q->what,
                 desc ? json_object_get_string(desc) : "no reason given");
            return NULL;
        }
        /* an event: skip it */
    }
}

static gboolean qmp_run(Qmp *q, const char *cmd, json_object *args, GError **error)
{
    g_autoptr(json_object) ret = qmp_call(q, cmd, args, error);

    return ret != NULL;
}

/* Connects to a QEMU's monitor socket, waits for the greeting (QEMU's main
 * loop runs: an -incoming QEMU listens) and negotiates. */
static Qmp *qmp_connect(const char *path, const char *what, GError **error)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_autoptr(Qmp) q = g_new0(Qmp, 1);
    g_autoptr(json_object) greeting = NULL;

    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    q->buf = g_string_new(NULL);
    q->what = g_strdup(what);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fail(error, "connecting to the QMP socket of %s: %s", what, g_strerror(errno));
        return NULL;
    }
    greeting = qmp_read(q, g_get_monotonic_time() + (gint64)QMP_TIMEOUT_MS * 1000, error);
    if (!greeting)
        return NULL;
    if (!json_object_object_get_ex(greeting, "QMP", NULL)) {
        fail(error, "%s greeted with '%s'", what, json_object_to_json_string(greeting));
        return NULL;
    }
    if (!qmp_run(q, "qmp_capabilities", NULL, error))
        return NULL;
    return g_steal_pointer(&q);
}

static const char *json_get_string(json_object *obj, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(obj, key, &v) ? json_object_get_string(v) : "";
}

static double json_get_double(json_object *obj, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(obj, key, &v) ? json_object_get_double(v) : 0;
}

/* ---------------------------------------------------------------- QEMU */

static int unix_listen(const char *path, GError **error)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_auto(FerryFd) fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        fail(error, "listening on %s: %s", path, g_strerror(errno));
        return -1;
    }
    return ferry_fd_steal(&fd);
}

/* A loopback TCP port that was free a moment ago. */
static guint free_port(GError **error)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    g_auto(FerryFd) fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        fail(error, "finding a free port: %s", g_strerror(errno));
        return 0;
    }
    return ntohs(sa.sin_port);
}

/* N of a "fd=N" option in a QEMU option string, or -1. */
static int qemu_opt_fd(const char *arg)
{
    g_auto(GStrv) opts = g_strsplit(arg, ",", -1);

    for (char **o = opts; *o; o++) {
        if (g_str_has_prefix(*o, "fd="))
            return (int)g_ascii_strtoll(*o + 3, NULL, 10);
    }
    return -1;
}

/* A QEMU with ferryd's command line for the domain: the monitor socket fd
 * becomes a socket listening on qmp_path, the serial fdset a file appending
 * to serial; ferryd's -incoming is dropped, incoming (may be NULL) added. */
static Spawn *qemu_spawn_like(Bench *b, char **ferryd_argv, const char *qmp_path,
                              const char *serial, const char *incoming, GError **error)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_autofree char *log = g_build_filename(b->dir, "qemu.log", NULL);
    int mon_fd = -1, serial_fd = -1;

    for (guint i = 0; ferryd_argv[i]; i++) {
        const char *arg = ferryd_argv[i];
        const char *opt = i > 0 ? ferryd_argv[i - 1] : "";
        int fd = opt[0] == '-' ? qemu_opt_fd(arg) : -1;

        if (g_str_equal(arg, "-incoming") && ferryd_argv[i + 1]) {
            i++;
            continue;
        }
        if (fd >= 0 && g_str_equal(opt, "-chardev") && strstr(arg, "id=charmonitor,")) {
            mon_fd = fd;
        } else if (fd >= 0 && g_str_equal(opt, "-add-fd") && strstr(arg, "opaque=serial")) {
            serial_fd = fd;
        } else if (fd >= 0) {
            fail(error, "ferryd hands its QEMU fd %d for '%s %s': nothing here stands in for it",
                 fd, opt, arg);
            return NULL;
        }
        g_ptr_array_add(args, (char *)arg);
    }
    if (mon_fd < 3 || serial_fd < 3 || mon_fd == serial_fd) {
        fail(error, "ferryd's QEMU command line has no monitor fd and serial fdset");
        return NULL;
    }
    if (incoming) {
        g_ptr_array_add(args, (char *)"-incoming");
        g_ptr_array_add(args, (char *)incoming);
    }
    g_ptr_array_add(args, NULL);

    g_auto(FerryFd) mon = unix_listen(qmp_path, error);
    if (mon < 0)
        return NULL;
    g_auto(FerryFd) ser = open(serial, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (ser < 0) {
        fail(error, "opening %s: %s", serial, g_strerror(errno));
        return NULL;
    }
    g_autoptr(Spawn) sp = spawn_new((const char *const *)args->pdata);
    spawn_take_fd(sp, ferry_fd_steal(&mon), mon_fd);
    spawn_take_fd(sp, ferry_fd_steal(&ser), serial_fd);
    spawn_set_log_file(sp, log);
    spawn_set_env(sp, ENV_MARK, b->dir);
    spawn_set_new_session(sp, TRUE);
    spawn_set_kill_grace(sp, QEMU_KILL_GRACE_MS);
    if (!spawn_start(sp, error))
        return NULL;
    return g_steal_pointer(&sp);
}

/* Waits for sp to exit (timeout_ms), staying interruptible. */
static gboolean wait_exit(Spawn *sp, int timeout_ms, SpawnStatus *status, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        if (spawn_wait(sp, 20, status, NULL))
            return TRUE;
        if (!check_interrupt(error))
            return FALSE;
        if (g_get_monotonic_time() > deadline)
            return fail(error, "%s still runs after %d s", spawn_get_program(sp),
                        timeout_ms / 1000);
    }
}

/* ---------------------------------------------------------------- ferryd */

static gboolean ferryd_start(Bench *b, Ferryd *d, const char *name, GError **error)
{
    g_autofree char *addr = NULL;
    g_autofree char *text = NULL;
    g_autofree char *host_uuid = g_uuid_string_random();
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    const char *tcp;

    d->root = g_build_filename(b->dir, name, NULL);
    d->log = g_build_filename(b->dir, name, "ferryd.log", NULL);
    addr = g_build_filename(d->root, "run", "ferry", "ferryd.addr", NULL);
    g_mkdir_with_parents(d->root, 0700);
    d->proc = spawn_new((const char *const[]){ b->ferryd_prog, "--root", d->root, "--listen-tcp",
                                               "127.0.0.1:0", "--host-uuid", host_uuid, NULL });
    spawn_set_log_file(d->proc, d->log);
    /* logging off the hot path: warnings only */
    spawn_set_env(d->proc, "FERRY_LOG_LEVEL", "warning");
    spawn_set_env(d->proc, ENV_MARK, b->dir);
    spawn_set_new_session(d->proc, TRUE);
    spawn_set_kill_grace(d->proc, 10000);
    if (!spawn_start(d->proc, error))
        return FALSE;
    while (!g_file_get_contents(addr, &text, NULL, NULL) ||
           !(tcp = strstr(text, "tcp 127.0.0.1:"))) {
        g_clear_pointer(&text, g_free);
        if (spawn_wait(d->proc, 0, NULL, NULL) || g_get_monotonic_time() > deadline)
            return fail(error, "ferryd did not start (see %s)", d->log);
        if (!check_interrupt(error))
            return FALSE;
        g_usleep(20 * 1000);
    }
    d->uri = g_strdup_printf("qemu+tcp://127.0.0.1:%u/system",
                             (guint)g_ascii_strtoull(tcp + strlen("tcp 127.0.0.1:"), NULL, 10));
    d->conn = ferry_connect_open(d->uri, 0);
    if (!d->conn)
        return fail(error, "connecting to %s: %s", d->uri, ferry_get_last_error_message());
    return TRUE;
}

/* Destroys every running domain of d (errors only logged). */
static void ferryd_destroy_all(Ferryd *d)
{
    FerryDomain **doms = NULL;
    int n;

    if (!d->conn)
        return;
    n = ferry_connect_list_all_domains(d->conn, &doms, FERRY_CONNECT_LIST_DOMAINS_ACTIVE);
    for (int i = 0; i < n; i++) {
        if (ferry_domain_destroy(doms[i], 0) < 0)
            fprintf(stderr, "bench-migrate: destroying '%s': %s\n", ferry_domain_get_name(doms[i]),
                    ferry_get_last_error_message());
        ferry_domain_free(doms[i]);
    }
    free(doms);
}

static void ferryd_stop(Ferryd *d)
{
    g_autoptr(GError) err = NULL;

    ferryd_destroy_all(d);
    if (d->conn)
        ferry_connect_close(d->conn);
    d->conn = NULL;
    if (d->proc && !spawn_kill_and_reap(d->proc, 10000, NULL, &err))
        fprintf(stderr, "bench-migrate: stopping ferryd: %s\n", err->message);
    g_clear_pointer(&d->proc, spawn_free);
    g_clear_pointer(&d->root, g_free);
    g_clear_pointer(&d->log, g_free);
    g_clear_pointer(&d->uri, g_free);
}

/* ---------------------------------------------------------------- one run each */

static gboolean fresh_file(const char *path, GError **error)
{
    g_unlink(path);
    return g_file_set_contents(path, "", 0, error);
}

/* The QEMU ferryd A runs for c: its command line. */
static gboolean capture_qemu_argv(Bench *b, Config *c, GError **error)
{
    g_autofree char *guest = g_strdup_printf("guest=%s,", c->name);
    g_autofree char *root = g_strdup_printf("%s/", b->a.root);
    g_autoptr(GArray) pids = procs_naming(root);

    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);

        if (proc_has(pid, "cmdline", guest) && proc_has(pid, "cmdline", "qemu-system")) {
            c->qemu_argv = proc_argv(pid);
            if (c->qemu_argv)
                return TRUE;
        }
    }
    return fail(error, "cannot find the QEMU that ferryd runs for '%s'", c->name);
}

static gboolean job_stat(FerryTypedParameter *params, int n, const char *name, double *out)
{
    unsigned long long v = 0;

    if (ferry_typed_params_get_ullong(params, n, name, &v) != 1)
        return FALSE;
    *out = (double)v;
    return TRUE;
}

/* `ferry -c A migrate --live DOM B`, timed from spawn to exit. */
static gboolean run_ferry(Bench *b, Config *c, Sample *s, GError **error)
{
    g_autofree char *log = g_build_filename(b->dir, "client.log", NULL);
    FerryTypedParameter *params = NULL;
    int nparams = 0, type = 0;
    SpawnStatus st = { 0 };

    if (!fresh_file(c->serial, error))
        return FALSE;
    if (ferry_domain_create(c->dom, 0) < 0)
        return fail(error, "starting '%s' on A: %s", c->name, ferry_get_last_error_message());
    g_autoptr(SerialWatch) w = serial_watch_new(c->serial);
    if (!serial_watch_wait(w, lines_settled, 0, READY_TIMEOUT_MS,
                           "the guest filled and checked its memory", error))
        return FALSE;
    if (!c->qemu_argv && !capture_qemu_argv(b, c, error))
        return FALSE;

    g_unlink(log);
    g_autoptr(Spawn) client = spawn_new((const char *const[]){ b->client, "-c", b->a.uri, "migrate",
                                                               "--live", c->name, b->b.uri, NULL });
    spawn_set_log_file(client, log);
    spawn_set_env(client, ENV_MARK, b->dir);
    gint64 t0 = g_get_monotonic_time();
    if (!spawn_start(client, error) || !wait_exit(client, MIGRATE_TIMEOUT_MS, &st, error))
        return FALSE;
    gint64 t1 = g_get_monotonic_time();
    if (!spawn_status_success(&st)) {
        g_autofree char *what = spawn_status_describe(&st);
        g_autofree char *out = NULL;

        g_file_get_contents(log, &out, NULL, NULL);
        return fail(error, "'%s migrate' %s: %s", b->client, what,
                    out ? g_strstrip(out) : "no output");
    }
    s->wall_ms = ms_between(t0, t1);
    if (!serial_watch_wait(w, lines_checked_after, t1, CHECKED_AFTER_TIMEOUT_MS,
                           "the guest went on and checked its memory on B", error) ||
        !serial_watch_analyse(w, t0, t1, s, error))
        return FALSE;

    if (ferry_domain_get_job_stats(c->dom, &type, &params, &nparams,
                                   FERRY_DOMAIN_JOB_STATS_COMPLETED) < 0)
        return fail(error, "job stats of '%s' on A: %s", c->name, ferry_get_last_error_message());
    gboolean have = type == FERRY_DOMAIN_JOB_COMPLETED &&
                    job_stat(params, nparams, FERRY_DOMAIN_JOB_TIME_ELAPSED, &s->qemu_ms) &&
                    job_stat(params, nparams, FERRY_DOMAIN_JOB_DOWNTIME, &s->downtime_ms);
    ferry_typed_params_free(params, nparams);
    if (!have)
        return fail(error, "A kept no completed migration job for '%s'", c->name);
    return TRUE;
}

/* The same migration by QMP alone, timed from the destination's spawn until
 * the source has quit and the destination runs. */
static gboolean run_qmp(Bench *b, Config *c, Sample *s, GError **error)
{
    g_autofree char *serial = g_build_filename(b->dir, "serial-qmp.log", NULL);
    g_autofree char *src_sock = g_build_filename(b->dir, "qmp-src.sock", NULL);
    g_autofree char *dst_sock = g_build_filename(b->dir, "qmp-dst.sock", NULL);
    g_autoptr(json_object) q = NULL;
    const char *status = "";

    if (!fresh_file(serial, error))
        return FALSE;
    g_autoptr(Spawn) src = qemu_spawn_like(b, c->qemu_argv, src_sock, serial, NULL, error);
    if (!src)
        return FALSE;
    g_autoptr(Qmp) sq = qmp_connect(src_sock, "the source QEMU", error);
    if (!sq || !qmp_run(sq, "cont", NULL, error))
        return FALSE;
    g_autoptr(SerialWatch) w = serial_watch_new(serial);
    if (!serial_watch_wait(w, lines_settled, 0, READY_TIMEOUT_MS,
                           "the guest filled and checked its memory", error))
        return FALSE;
    if (!b->qemu_version) {
        g_autoptr(json_object) v = qmp_call(sq, "query-version", NULL, error);
        json_object *qemu = NULL;

        if (!v)
            return FALSE;
        if (!json_object_object_get_ex(v, "qemu", &qemu))
            return fail(error, "query-version: no 'qemu' in %s", json_object_to_json_string(v));
        b->qemu_version =
            g_strdup_printf("%.0f.%.0f.%.0f", json_get_double(qemu, "major"),
                            json_get_double(qemu, "minor"), json_get_double(qemu, "micro"));
    }
    guint port = free_port(error);
    if (!port)
        return FALSE;
    g_autofree char *uri = g_strdup_printf("tcp:127.0.0.1:%u", port);

    gint64 t0 = g_get_monotonic_time();
    g_autoptr(Spawn) dst = qemu_spawn_like(b, c->qemu_argv, dst_sock, serial, uri, error);
    if (!dst)
        return FALSE;
    g_autoptr(Qmp) dq = qmp_connect(dst_sock, "the destination QEMU", error);
    /* ferryd's line has -S: cont now resumes the guest once it has arrived */
    if (!dq || !qmp_run(dq, "cont", NULL, error))
        return FALSE;
    json_object *bw = json_object_new_object();
    json_object_object_add(bw, "max-bandwidth", json_object_new_int64(BANDWIDTH_UNLIMITED));
    if (!qmp_run(sq, "migrate-set-parameters", bw, error))
        return FALSE;
    json_object *margs = json_object_new_object();
    json_object_object_add(margs, "uri", json_object_new_string(uri));
    if (!qmp_run(sq, "migrate", margs, error))
        return FALSE;
    for (;;) {
        g_clear_pointer(&q, json_object_put);
        if (!(q = qmp_call(sq, "query-migrate", NULL, error)))
            return FALSE;
        status = json_get_string(q, "status");
        if (g_str_equal(status, "completed"))
            break;
        if (g_str_equal(status, "failed") || g_str_equal(status, "cancelled"))
            return fail(error, "QEMU's migration %s: %s", status, json_get_string(q, "error-desc"));
        if (ms_between(t0, g_get_monotonic_time()) > MIGRATE_TIMEOUT_MS)
            return fail(error, "QEMU's migration did not complete (%s)", status);
        g_usleep(QMP_POLL_MS * 1000);
    }
    s->qemu_ms = json_get_double(q, "total-time");
    s->downtime_ms = json_get_double(q, "downtime");
    /* quit: QEMU may close the socket before or after it answers */
    g_autoptr(json_object) bye = qmp_call(sq, "quit", NULL, NULL);
    if (!wait_exit(src, QMP_TIMEOUT_MS, NULL, error))
        return FALSE;
    for (;;) {
        g_autoptr(json_object) st = qmp_call(dq, "query-status", NULL, error);

        if (!st)
            return FALSE;
        if (g_str_equal(json_get_string(st, "status"), "running"))
            break;
        if (ms_between(t0, g_get_monotonic_time()) > MIGRATE_TIMEOUT_MS)
            return fail(error, "the destination QEMU did not run (%s)",
                        json_get_string(st, "status"));
        g_usleep(QMP_POLL_MS * 1000);
    }
    gint64 t1 = g_get_monotonic_time();
    s->wall_ms = ms_between(t0, t1);
    return serial_watch_wait(w, lines_checked_after, t1, CHECKED_AFTER_TIMEOUT_MS,
                             "the guest went on and checked its memory on the destination",
                             error) &&
           serial_watch_analyse(w, t0, t1, s, error);
}

/* ---------------------------------------------------------------- configs */

static gboolean config_define(Bench *b, Config *c, GError **error)
{
    g_autofree char *uuid = g_uuid_string_random();
    g_autofree char *xml = g_strdup_printf(
        "<domain type='%s'><name>%s</name><uuid>%s</uuid>"
        "<memory unit='MiB'>%u</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>%s</kernel>"
        "<cmdline>%s</cmdline></os>"
        "<devices><serial type='file'><source path='%s' append='on'/></serial>"
        "<memballoon model='none'/></devices></domain>",
        c->wl->domain_type, c->name, uuid, c->mem_mib, b->kernel, c->wl->cmdline, c->serial);

    c->dom = ferry_domain_define_xml(b->a.conn, xml, 0);
    if (!c->dom)
        return fail(error, "defining '%s' on A: %s", c->name, ferry_get_last_error_message());
    return TRUE;
}

/* One warm-up round (not counted: ferryd's first QEMU of a kind, cold
 * caches), then runs rounds of a ferry and a QMP migration each, the two
 * taking turns at going first. */
static gboolean config_run_all(Bench *b, Config *c, guint runs, GError **error)
{
    if (!config_define(b, c, error))
        return FALSE;
    for (guint i = 0; i <= runs; i++) {
        Sample f = { 0 }, q = { 0 };
        g_autoptr(GError) err = NULL;
        /* the sides take turns at going first (ferry in the warm-up: the
         * QMP side copies the command line of ferryd's QEMU), so that what
         * the first one leaves behind, or a drift, weighs on both */
        gboolean qmp_first = i > 0 && i % 2 == 0;

        if (qmp_first && !run_qmp(b, c, &q, error))
            return FALSE;
        gboolean ok = run_ferry(b, c, &f, &err);

        /* whatever happened, nothing runs between the runs */
        ferryd_destroy_all(&b->b);
        ferryd_destroy_all(&b->a);
        if (!ok && strstr(err->message, PORT_IN_USE) && c->port_retries < PORT_RETRIES) {
            /* ferryd B's migration port was taken by someone else meanwhile */
            fprintf(stderr, "bench-migrate:   %s: again\n", err->message);
            c->port_retries++;
            i--;
            continue;
        }
        if (!ok) {
            g_propagate_error(error, g_steal_pointer(&err));
            return FALSE;
        }
        if (!qmp_first && !run_qmp(b, c, &q, error))
            return FALSE;
        if (i == 0) {
            fprintf(stderr, "bench-migrate:   warm-up: ferry %.1f ms, qmp %.1f ms\n", f.wall_ms,
                    q.wall_ms);
            continue;
        }
        g_array_append_val(c->ferry, f);
        g_array_append_val(c->qmp, q);
        fprintf(stderr,
                "bench-migrate:   run %u/%u (%s first): ferry %.1f ms (downtime %.0f, guest pause "
                "%.0f), qmp %.1f ms (downtime %.0f, guest pause %.0f)\n",
                i, runs, qmp_first ? "qmp" : "ferry", f.wall_ms, f.downtime_ms, f.pause_ms,
                q.wall_ms, q.downtime_ms, q.pause_ms);
    }
    return TRUE;
}

static void config_run(Bench *b, Config *c, guint runs)
{
    g_autoptr(GError) err = NULL;

    fprintf(stderr, "bench-migrate: %u MiB %s (%s, %s): %u run(s)\n", c->mem_mib, c->wl->name,
            g_str_equal(c->wl->domain_type, "kvm") ? "kvm" : "tcg", c->wl->cmdline, runs);
    if (!config_run_all(b, c, runs, &err)) {
        fprintf(stderr, "bench-migrate:   failed: %s\n", err->message);
        c->error = g_strdup(err->message);
    }
}

static GArray *sample_field(GArray *samples, gsize offset)
{
    GArray *v = g_array_new(FALSE, FALSE, sizeof(double));

    for (guint i = 0; i < samples->len; i++) {
        const char *s = (const char *)&g_array_index(samples, Sample, i);

        g_array_append_val(v, *(const double *)(s + offset));
    }
    return v;
}

static double sample_median(GArray *samples, gsize offset)
{
    g_autoptr(GArray) v = sample_field(samples, offset);

    return median(v);
}

/* s as a JSON string, quotes included (g_free). */
static char *json_quote(const char *s)
{
    g_autoptr(json_object) o = json_object_new_string(s);

    return g_strdup(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void json_side(GString *out, const char *name, GArray *samples, const char *qemu_key,
                      gboolean last)
{
    g_autoptr(GArray) walls = sample_field(samples, G_STRUCT_OFFSET(Sample, wall_ms));
    double lo = G_MAXDOUBLE, hi = 0;

    g_string_append_printf(out, "      \"%s\": {\"wall_ms\": %.1f, ", name, median(walls));
    for (guint i = 0; i < walls->len; i++) {
        lo = MIN(lo, g_array_index(walls, double, i));
        hi = MAX(hi, g_array_index(walls, double, i));
    }
    g_string_append_printf(out, "\"wall_ms_min\": %.1f, \"wall_ms_max\": %.1f, ",
                           walls->len ? lo : 0, hi);
    g_string_append_printf(
        out, "\"%s\": %.0f, \"downtime_ms\": %.0f, \"guest_pause_ms\": %.0f, \"wall_ms_runs\": [",
        qemu_key, sample_median(samples, G_STRUCT_OFFSET(Sample, qemu_ms)),
        sample_median(samples, G_STRUCT_OFFSET(Sample, downtime_ms)),
        sample_median(samples, G_STRUCT_OFFSET(Sample, pause_ms)));
    for (guint i = 0; i < walls->len; i++)
        g_string_append_printf(out, "%s%.1f", i ? ", " : "", g_array_index(walls, double, i));
    g_string_append_printf(out, "]}%s\n", last ? "" : ",");
}

/* Appends c; TRUE when it met the goal. */
static gboolean json_config(GString *out, Config *c, gboolean last)
{
    double overhead = sample_median(c->ferry, G_STRUCT_OFFSET(Sample, wall_ms)) -
                      sample_median(c->qmp, G_STRUCT_OFFSET(Sample, wall_ms));
    gboolean met = !c->error && !c->skipped && c->ferry->len > 0 && overhead <= OVERHEAD_GOAL_MS;

    g_string_append_printf(out,
                           "    {\n      \"name\": \"%s\", \"memory_mib\": %u, \"workload\": "
                           "\"%s\", \"accel\": \"%s\", \"guest_cmdline\": \"%s\", \"runs\": %u,\n",
                           c->name, c->mem_mib, c->wl->name,
                           g_str_equal(c->wl->domain_type, "kvm") ? "kvm" : "tcg", c->wl->cmdline,
                           c->ferry->len);
    if (c->skipped || c->error) {
        g_autofree char *why = json_quote(c->skipped ? c->skipped : c->error);

        g_string_append_printf(out, "      \"%s\": %s,\n", c->skipped ? "skipped" : "error", why);
    }
    if (c->port_retries)
        g_string_append_printf(out, "      \"port_in_use_retries\": %u,\n", c->port_retries);
    if (c->ferry->len > 0) {
        json_side(out, "ferry", c->ferry, "job_time_ms", FALSE);
        json_side(out, "qmp", c->qmp, "total_time_ms", FALSE);
        g_autoptr(GArray) diffs = g_array_new(FALSE, FALSE, sizeof(double));

        /* each round's ferry minus its QMP: the spread shows the noise */
        for (guint i = 0; i < c->ferry->len && i < c->qmp->len; i++) {
            double d = g_array_index(c->ferry, Sample, i).wall_ms -
                       g_array_index(c->qmp, Sample, i).wall_ms;

            g_array_append_val(diffs, d);
        }
        g_string_append_printf(out,
                               "      \"guest_tick_gap_ms\": %.0f,\n"
                               "      \"overhead_ms\": %.1f,\n"
                               "      \"overhead_paired_median_ms\": %.1f,\n"
                               "      \"overhead_paired_ms_runs\": [",
                               sample_median(c->ferry, G_STRUCT_OFFSET(Sample, tick_gap_ms)),
                               overhead, median(diffs));
        for (guint i = 0; i < diffs->len; i++)
            g_string_append_printf(out, "%s%.1f", i ? ", " : "", g_array_index(diffs, double, i));
        g_string_append(out, "],\n");
    }
    g_string_append_printf(out, "      \"overhead_goal_met\": %s\n    }%s\n",
                           met ? "true" : "false", last ? "" : ",");
    return met;
}

/* ---------------------------------------------------------------- main */

static void remove_tree(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
            remove_tree(child);
        else
            g_unlink(child);
    }
    g_rmdir(path);
}

/* The end of a log, on stderr, before the directory goes. */
static void dump_tail(const char *path, const char *what)
{
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!path || !g_file_get_contents(path, &text, &len, NULL) || len == 0)
        return;
    fprintf(stderr, "bench-migrate: the end of %s's log:\n%s\n", what,
            text + (len > 4000 ? len - 4000 : 0));
}

/* TRUE when the client knows "migrate" (ferry before it has one does not). */
static gboolean client_can_migrate(const char *client, GError **error)
{
    SpawnStatus st = { 0 };
    g_autofree char *out = NULL;

    if (!spawn_run((const char *const[]){ client, "help", "migrate", NULL }, 30000, 1 << 20, &out,
                   NULL, &st, error))
        return FALSE;
    if (!spawn_status_success(&st))
        return fail(error,
                    "'%s help migrate' fails: this client cannot migrate yet "
                    "(--client virsh takes the same arguments)",
                    client);
    return TRUE;
}

int main(int argc, char **argv)
{
    int runs = 0; /* 0: not given */
    gboolean quick = FALSE;
    g_autofree char *sizes_opt = NULL;
    g_autofree char *workloads_opt = NULL;
    Bench b = { 0 };
    GOptionEntry entries[] = {
        { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "Migrations per side and configuration (11)",
          "N" },
        { "sizes", 0, 0, G_OPTION_ARG_STRING, &sizes_opt, "Guest RAM sizes in MiB (256,1024)",
          "LIST" },
        { "workloads", 0, 0, G_OPTION_ARG_STRING, &workloads_opt,
          "idle (tcg) and/or dirty (kvm) (idle,dirty)", "LIST" },
        { "quick", 0, 0, G_OPTION_ARG_NONE, &quick,
          "Smoke test: 256 MiB only, 2 runs (unless given)", NULL },
        { "client", 0, 0, G_OPTION_ARG_FILENAME, &b.client,
          "The migrating client, called as CLIENT -c A migrate --live DOM B "
          "(default: the build tree's tools/ferry)",
          "PATH" },
        { "ferryd", 0, 0, G_OPTION_ARG_FILENAME, &b.ferryd_prog,
          "The ferryd binary (default: the build tree's)", "PATH" },
        { NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) configs = g_ptr_array_new();
    struct sigaction sa = { .sa_handler = on_signal };
    int status = 0;

    g_option_context_set_summary(octx, "Live migration with ferry against QEMU driven by QMP "
                                       "alone, side by side; prints JSON.");
    g_option_context_add_main_entries(octx, entries, NULL);
    if (!g_option_context_parse(octx, &argc, &argv, &err)) {
        fprintf(stderr, "bench-migrate: %s\n", err->message);
        return 2;
    }
    if (runs <= 0)
        runs = quick ? 2 : DEFAULT_RUNS;
    if (quick && !sizes_opt)
        sizes_opt = g_strdup("256");
    g_auto(GStrv) sizes = g_strsplit(sizes_opt ? sizes_opt : "256,1024", ",", -1);
    g_auto(GStrv) wls = g_strsplit(workloads_opt ? workloads_opt : "idle,dirty", ",", -1);
    if (!b.client)
        b.client = g_build_filename(FERRY_TOP_BUILDDIR, "tools", "ferry", NULL);
    if (!b.ferryd_prog)
        b.ferryd_prog = g_build_filename(FERRY_TOP_BUILDDIR, "daemon", "ferryd", NULL);
    b.kernel = g_build_filename(FERRY_TOP_BUILDDIR, "tests", "guest", "ferry-guest", NULL);
    {
        g_auto(FerryFd) kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        b.kvm = kvm >= 0;
    }

    for (char **s = sizes; *s; s++) {
        guint64 mib = g_ascii_strtoull(*s, NULL, 10);

        if (mib < 32 || mib > 65536) {
            fprintf(stderr, "bench-migrate: --sizes: '%s' is not a size in MiB (32 to 65536)\n",
                    *s);
            return 2;
        }
        for (char **n = wls; *n; n++) {
            const Workload *wl = NULL;

            for (gsize i = 0; i < G_N_ELEMENTS(workloads); i++) {
                if (g_str_equal(*n, workloads[i].name))
                    wl = &workloads[i];
            }
            if (!wl) {
                fprintf(stderr, "bench-migrate: --workloads: no workload '%s' (idle, dirty)\n", *n);
                return 2;
            }
            Config *c = g_new0(Config, 1);
            c->mem_mib = (guint)mib;
            c->wl = wl;
            c->name = g_strdup_printf("bench-%u-%s", c->mem_mib, wl->name);
            c->ferry = g_array_new(FALSE, FALSE, sizeof(Sample));
            c->qmp = g_array_new(FALSE, FALSE, sizeof(Sample));
            if (wl->needs_kvm && !b.kvm)
                c->skipped = "/dev/kvm does not open, and QEMU 7.2's tcg loses pages a guest "
                             "dirties during migration";
            g_ptr_array_add(configs, c);
        }
    }
    if (!client_can_migrate(b.client, &err)) {
        fprintf(stderr, "bench-migrate: %s\n", err->message);
        return 1;
    }

    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_setenv("FERRY_LOG_LEVEL", "warning", TRUE);

    b.dir = g_dir_make_tmp("ferry-bench-migrate-XXXXXX", &err);
    if (!b.dir) {
        fprintf(stderr, "bench-migrate: %s\n", err->message);
        return 1;
    }
    if (!ferryd_start(&b, &b.a, "a", &err) || !ferryd_start(&b, &b.b, "b", &err)) {
        fprintf(stderr, "bench-migrate: %s\n", err->message);
        status = 1;
    }
    for (guint i = 0; status == 0 && !interrupted && i < configs->len; i++) {
        Config *c = configs->pdata[i];

        c->serial = g_strdup_printf("%s/serial-%s.log", b.dir, c->name);
        if (c->skipped)
            fprintf(stderr, "bench-migrate: %s skipped: %s\n", c->name, c->skipped);
        else
            config_run(&b, c, (guint)runs);
        if (c->error)
            status = 1;
    }

    /* everything started here goes, on every path */
    for (guint i = 0; i < configs->len; i++) {
        Config *c = configs->pdata[i];

        if (c->dom)
            ferry_domain_free(c->dom);
        c->dom = NULL;
    }
    if (status && !interrupted) {
        dump_tail(b.a.log, "ferryd A");
        dump_tail(b.b.log, "ferryd B");
    }
    ferryd_stop(&b.a);
    ferryd_stop(&b.b);
    kill_procs_naming(b.dir);
    remove_tree(b.dir);
    if (interrupted) {
        fprintf(stderr, "bench-migrate: interrupted, cleaned up\n");
        return 128 + interrupted;
    }

    g_autoptr(GString) out = g_string_new("{\n");
    gboolean all_met = TRUE, measured = FALSE;
    g_autoptr(GString) body = g_string_new(NULL);
    for (guint i = 0; i < configs->len; i++) {
        Config *c = configs->pdata[i];

        if (!json_config(body, c, i + 1 == configs->len) && !c->skipped)
            all_met = FALSE;
        measured |= c->ferry->len > 0;
    }
    g_autofree char *client = json_quote(b.client);
    g_autofree char *what = g_strdup_printf("live migration on loopback TCP: '%s -c A migrate "
                                            "--live DOM B' between two ferryd, against QEMU "
                                            "driven by QMP alone",
                                            b.client);
    g_autofree char *benchmark = json_quote(what);
    g_string_append_printf(out,
                           "  \"benchmark\": %s,\n  \"client\": %s,\n  \"qemu\": \"%s\",\n"
                           "  \"kvm\": %s,\n  \"qmp_poll_ms\": %d,\n  \"warmup_runs\": 1,\n"
                           "  \"runs\": %d,\n  \"statistic\": \"median\",\n"
                           "  \"overhead_goal_ms\": %d,\n  \"overhead_goal_met\": %s,\n"
                           "  \"configs\": [\n",
                           benchmark, client, b.qemu_version ? b.qemu_version : "unknown",
                           b.kvm ? "true" : "false", QMP_POLL_MS, runs, OVERHEAD_GOAL_MS,
                           all_met && measured ? "true" : "false");
    g_string_append(out, body->str);
    g_string_append(out, "  ]\n}\n");
    fputs(out->str, stdout);

    for (guint i = 0; i < configs->len; i++) {
        Config *c = configs->pdata[i];

        g_strfreev(c->qemu_argv);
        g_array_unref(c->ferry);
        g_array_unref(c->qmp);
        g_free(c->name);
        g_free(c->serial);
        g_free(c->error);
        g_free(c);
    }
    g_free(b.dir);
    g_free(b.kernel);
    g_free(b.client);
    g_free(b.ferryd_prog);
    g_free(b.qemu_version);
    return status;
}
