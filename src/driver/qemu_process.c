/*
 * qemu_process.c: starting and stopping QEMU, its events, suspend and
 * resume.  The rules are in qemu_process.h; reconnecting after a restart
 * is in qemu_process_reconnect.c, killing and reaping in
 * qemu_process_kill.c.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.process"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/iothread.h"
#include "util/spawn.h"
#include "driver/qemu_command.h"
#include "driver/qemu_driver_priv.h"
#include "driver/qemu_graphics.h"
#include "driver/qemu_interface.h"
#include "driver/qemu_monitor.h"
#include "driver/qemu_process.h"
#include "driver/qemu_process_priv.h"

/* How long a failed start waits for QEMU to exit by itself. */
#define QEMU_PROCESS_EXIT_WAIT_MS 500
/* Bytes of QEMU's log quoted in a start error. */
#define QEMU_PROCESS_LOG_TAIL 1024
/* The first fd number handed to QEMU. */
#define QEMU_PROCESS_FIRST_FD 3

typedef enum {
    QEMU_EVENT_STOP,
    QEMU_EVENT_RESUME,
    QEMU_EVENT_SHUTDOWN,
    QEMU_EVENT_EOF,
    QEMU_EVENT_MONITOR_ERROR,
    QEMU_EVENT_EXIT,
    QEMU_EVENT_MIGRATION,
    QEMU_EVENT_MIGRATION_PASS,
    QEMU_EVENT_LAST
} QemuEventType;

static const char *const qemu_event_names[] = {
    "STOP",          "RESUME", "SHUTDOWN",  "monitor end of file",
    "monitor error", "exit",   "MIGRATION", "MIGRATION_PASS",
};
G_STATIC_ASSERT(G_N_ELEMENTS(qemu_event_names) == QEMU_EVENT_LAST);

typedef struct {
    QemuEventType type;
    gboolean guest; /* SHUTDOWN: the guest asked */
    char *detail; /* SHUTDOWN's reason, the monitor error's message,
                   * MIGRATION's status, MIGRATION_PASS's number */
    guint user_runs; /* proc->user_runs when the event came */
} QemuEvent;

static void qemu_event_free(QemuEvent *ev)
{
    g_free(ev->detail);
    g_free(ev);
}

static void qemu_lease_fd_clear(gpointer p)
{
    g_free(((QemuLeaseFd *)p)->lease);
}

QemuProcess *qemu_process_new(QemuDriver *drv, DomainObj *obj)
{
    QemuProcess *proc = g_new0(QemuProcess, 1);

    g_atomic_int_set(&proc->refs, 1);
    proc->drv = drv;
    memcpy(proc->uuid, obj->def->uuid, FERRY_UUID_BUFLEN);
    proc->name = g_strdup(obj->def->name);
    proc->pidfd = -1;
    proc->lease_fds = g_array_new(FALSE, TRUE, sizeof(QemuLeaseFd));
    g_array_set_clear_func(proc->lease_fds, qemu_lease_fd_clear);
    g_mutex_init(&proc->ev_lock);
    g_queue_init(&proc->events);
    return proc;
}

QemuProcess *qemu_process_ref(QemuProcess *proc)
{
    g_atomic_int_inc(&proc->refs);
    return proc;
}

void qemu_process_unref(QemuProcess *proc)
{
    if (!proc || !g_atomic_int_dec_and_test(&proc->refs))
        return;
    if (proc->watch) {
        g_source_destroy(proc->watch);
        g_source_unref(proc->watch);
    }
    lock_manager_handle_free(proc->lock);
    spawn_free(proc->spawn); /* kills a child still owned: never the case */
    ferry_fd_close(&proc->pidfd);
    g_array_unref(proc->lease_fds);
    if (proc->retire_ports)
        g_array_unref(proc->retire_ports);
    g_queue_clear_full(&proc->events, (GDestroyNotify)qemu_event_free);
    if (proc->migration_caps_on)
        g_hash_table_unref(proc->migration_caps_on);
    g_mutex_clear(&proc->ev_lock);
    g_free(proc->name);
    g_free(proc);
}

QemuProcess *qemu_process_get(DomainObj *obj)
{
    return obj->priv;
}

gboolean qemu_process_migration_cap_known(QemuProcess *proc, const char *cap, gboolean *on)
{
    if (!proc || !proc->migration_caps_on)
        return FALSE;
    *on = g_hash_table_contains(proc->migration_caps_on, cap);
    return TRUE;
}

void qemu_process_note_migration_caps(QemuProcess *proc, const char *const *caps,
                                      const gboolean *on, guint n)
{
    if (!proc || !proc->migration_caps_on)
        return;
    for (guint i = 0; i < n; i++) {
        if (on[i])
            g_hash_table_add(proc->migration_caps_on, g_strdup(caps[i]));
        else
            g_hash_table_remove(proc->migration_caps_on, caps[i]);
    }
}

void qemu_process_forget_migration_caps(QemuProcess *proc)
{
    if (proc)
        g_clear_pointer(&proc->migration_caps_on, g_hash_table_unref);
}

gboolean qemu_process_is_autodestroy(QemuProcess *proc)
{
    return proc && proc->autodestroy;
}

LockHandle *qemu_process_get_lock(QemuProcess *proc)
{
    return proc ? proc->lock : NULL;
}

gboolean qemu_process_clear_autodestroy(QemuDriver *drv, DomainObj *obj, GError **error)
{
    QemuProcess *proc = obj->priv;

    if (!proc)
        return TRUE;
    autokill_remove_domain(drv->autokill, obj->def->uuid);
    if (!proc->autodestroy)
        return TRUE;
    proc->autodestroy = FALSE;
    proc->conn = 0;
    return qemu_process_write_file(drv, obj, proc, error);
}

void qemu_process_set_pidfd(QemuProcess *proc, int pidfd, gint64 pid)
{
    ferry_fd_close(&proc->pidfd);
    proc->pidfd = pidfd;
    proc->pid = pid;
}

int qemu_process_pidfd(QemuProcess *proc)
{
    return proc->spawn ? spawn_get_pidfd(proc->spawn) : proc->pidfd;
}

unsigned long long qemu_process_cpu_time_ns(QemuProcess *proc)
{
    g_autofree char *path = NULL;
    g_autofree char *text = NULL;
    unsigned long long utime = 0, stime = 0;
    long ticks = sysconf(_SC_CLK_TCK);

    if (!proc || proc->pid <= 0 || ticks <= 0)
        return 0;
    path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/stat", proc->pid);
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    /* "pid (comm) state ppid ..."; comm may hold spaces: start after ')'. */
    const char *p = strrchr(text, ')');
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2)
        return 0;
    return (utime + stime) * (1000000000ULL / (unsigned long long)ticks);
}

/* ---------------------------------------------------------------- events */

static void qemu_process_handle_event(QemuProcess *proc, QemuEvent *ev);

/* The worker pool's function: the queued events of one process, in order. */
void qemu_process_event_worker(gpointer data, gpointer user_data)
{
    g_autoptr(QemuProcess) proc = data;

    for (;;) {
        QemuEvent *ev;

        g_mutex_lock(&proc->ev_lock);
        ev = g_queue_pop_head(&proc->events);
        if (!ev)
            proc->ev_scheduled = FALSE;
        g_mutex_unlock(&proc->ev_lock);
        if (!ev)
            return;
        qemu_process_handle_event(proc, ev);
        qemu_event_free(ev);
    }
}

/* Any thread, the I/O thread included: never blocks for long. */
static void qemu_process_queue_event(QemuProcess *proc, QemuEventType type, gboolean guest,
                                     const char *detail)
{
    QemuEvent *ev = g_new0(QemuEvent, 1);
    gboolean schedule;

    ev->type = type;
    ev->guest = guest;
    ev->detail = g_strdup(detail);
    ev->user_runs = (guint)g_atomic_int_get(&proc->user_runs);
    FLOG_DEBUG("domain '%s': QEMU event %s queued", proc->name, qemu_event_names[type]);
    g_mutex_lock(&proc->ev_lock);
    g_queue_push_tail(&proc->events, ev);
    schedule = !proc->ev_scheduled;
    proc->ev_scheduled = TRUE;
    g_mutex_unlock(&proc->ev_lock);
    if (schedule) {
        g_autoptr(GError) err = NULL;

        if (!g_thread_pool_push(proc->drv->events, qemu_process_ref(proc), &err)) {
            FLOG_ERROR("domain '%s': cannot queue QEMU events: %s", proc->name, err->message);
            qemu_process_unref(proc);
        }
    }
}

static void qemu_process_on_event(QemuMonitor *mon, const char *name, json_object *data,
                                  gint64 timestamp_us, gpointer opaque)
{
    QemuProcess *proc = opaque;

    if (g_str_equal(name, "STOP")) {
        qemu_process_queue_event(proc, QEMU_EVENT_STOP, FALSE, NULL);
    } else if (g_str_equal(name, "RESUME")) {
        qemu_process_queue_event(proc, QEMU_EVENT_RESUME, FALSE, NULL);
    } else if (g_str_equal(name, "MIGRATION")) {
        json_object *status = NULL;

        json_object_object_get_ex(data, "status", &status);
        qemu_process_queue_event(proc, QEMU_EVENT_MIGRATION, FALSE,
                                 status ? json_object_get_string(status) : NULL);
    } else if (g_str_equal(name, "MIGRATION_PASS")) {
        json_object *pass = NULL;

        json_object_object_get_ex(data, "pass", &pass);
        qemu_process_queue_event(proc, QEMU_EVENT_MIGRATION_PASS, FALSE,
                                 pass ? json_object_get_string(pass) : NULL);
    } else if (g_str_equal(name, "SHUTDOWN")) {
        json_object *guest = NULL, *reason = NULL;

        json_object_object_get_ex(data, "guest", &guest);
        json_object_object_get_ex(data, "reason", &reason);
        qemu_process_queue_event(proc, QEMU_EVENT_SHUTDOWN, guest && json_object_get_boolean(guest),
                                 reason ? json_object_get_string(reason) : NULL);
    } else {
        FLOG_DEBUG("domain '%s': QEMU event %s ignored", proc->name, name);
    }
}

/* QEMU's end is handled once it has exited (pidfd) and its monitor has
 * closed (or was not open): every event QEMU sent before it died (its
 * SHUTDOWN, say) is then queued ahead of the exit.  The I/O thread may
 * dispatch the pidfd before the last monitor bytes: waiting for both
 * keeps the order. */
void qemu_process_note_end(QemuProcess *proc, gboolean exited, gboolean mon_closed)
{
    gboolean queue;

    g_mutex_lock(&proc->ev_lock);
    if (exited)
        proc->exited = TRUE;
    if (mon_closed)
        proc->mon_open = FALSE;
    queue = proc->exited && !proc->mon_open && !proc->exit_queued;
    if (queue)
        proc->exit_queued = TRUE;
    g_mutex_unlock(&proc->ev_lock);
    if (queue)
        qemu_process_queue_event(proc, QEMU_EVENT_EXIT, FALSE, NULL);
}

static void qemu_process_on_eof(QemuMonitor *mon, gpointer opaque)
{
    qemu_process_queue_event(opaque, QEMU_EVENT_EOF, FALSE, NULL);
    qemu_process_note_end(opaque, FALSE, TRUE);
}

static void qemu_process_on_error(QemuMonitor *mon, const GError *err, gpointer opaque)
{
    qemu_process_queue_event(opaque, QEMU_EVENT_MONITOR_ERROR, FALSE, err->message);
    qemu_process_note_end(opaque, FALSE, TRUE);
}

static const QemuMonitorCallbacks qemu_process_monitor_callbacks = {
    .event = qemu_process_on_event,
    .eof = qemu_process_on_eof,
    .error = qemu_process_on_error,
};

static gboolean qemu_process_on_pidfd(gint fd, GIOCondition cond, gpointer opaque)
{
    qemu_process_note_end(opaque, TRUE, FALSE);
    return G_SOURCE_REMOVE;
}

void qemu_process_watch(QemuProcess *proc)
{
    int pidfd = qemu_process_pidfd(proc);
    GSource *src;

    if (pidfd < 0 || proc->watch)
        return;
    src = g_unix_fd_source_new(pidfd, G_IO_IN);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))qemu_process_on_pidfd,
                          qemu_process_ref(proc), (GDestroyNotify)qemu_process_unref);
    g_source_set_name(src, "qemu-pidfd");
    proc->watch = src;
    g_source_attach(src, iothread_context());
}

static void qemu_process_unwatch_cb(gpointer data)
{
    g_source_destroy(data);
}

/* Removes the pidfd watch on the I/O thread, so that it is not being
 * dispatched while its fd goes away. */
void qemu_process_unwatch(QemuProcess *proc)
{
    g_autoptr(GError) err = NULL;
    GSource *src = g_steal_pointer(&proc->watch);

    if (!src)
        return;
    if (!iothread_invoke_sync(qemu_process_unwatch_cb, src, &err)) {
        FLOG_WARN("domain '%s': %s", proc->name, err->message);
        g_source_destroy(src);
    }
    g_source_unref(src);
}

/* Closes the monitor in the object's slot (no callback runs afterwards). */
void qemu_process_close_monitor(DomainObj *obj)
{
    QemuMonitor *mon = domain_obj_steal_monitor(obj);

    if (!mon)
        return;
    qemu_monitor_close(mon);
    qemu_monitor_unref(mon);
}

static gboolean qemu_process_save_status(QemuDriver *drv, DomainObj *obj)
{
    g_autoptr(GError) err = NULL;

    if (domain_obj_save_status(obj, drv->state_dir, &err))
        return TRUE;
    FLOG_WARN("domain '%s': cannot save its status: %s", domain_obj_name(obj), err->message);
    return FALSE;
}

/* Why QEMU ended, from what we saw. */
static const char *qemu_process_exit_reason(QemuProcess *proc)
{
    if (proc->destroying)
        return "destroyed";
    if (proc->shutdown_seen)
        return "shutdown";
    return "crashed";
}

/* The domain's side of an exit: shut off, unless the process is no longer
 * the domain's. */
static void qemu_process_handle_exit_domain(QemuProcess *proc)
{
    QemuDriver *drv = proc->drv;
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, proc->uuid, DOMAIN_LOOKUP_LOCKED, NULL);
    gboolean have_job = FALSE;

    if (!obj)
        return;
    while (!have_job && obj->priv == proc) {
        g_autoptr(GError) err = NULL;

        have_job = domain_job_begin(obj, DOMAIN_JOB_DESTROY, "qemuProcessHandleExit", &err);
        if (!have_job && domain_obj_is_removed(obj))
            return;
        if (!have_job)
            FLOG_WARN("domain '%s': QEMU exited; still waiting to clean up: %s", proc->name,
                      err->message);
    }
    if (obj->priv == proc) {
        const char *reason = qemu_process_exit_reason(proc);

        FLOG_INFO("domain '%s': QEMU (pid %" G_GINT64_FORMAT ") exited: shut off (%s)", proc->name,
                  proc->pid, reason);
        qemu_process_stop(drv, obj, reason);
        qemu_driver_remove_inactive(drv, obj);
    }
    /* else destroy, a failed start or a retire got there first */
    if (have_job)
        domain_job_end(obj);
}

static void qemu_process_handle_exit(QemuProcess *proc)
{
    qemu_process_handle_exit_domain(proc);
    /* after the domain's part: a retire that raced with the exit has
     * marked the process by now */
    qemu_process_retire_collect(proc);
}

static void qemu_process_handle_event(QemuProcess *proc, QemuEvent *ev)
{
    QemuDriver *drv = proc->drv;

    if (ev->type == QEMU_EVENT_EXIT) {
        qemu_process_handle_exit(proc);
        return;
    }
    if (ev->type == QEMU_EVENT_EOF) {
        FLOG_DEBUG("domain '%s': QEMU closed its monitor", proc->name);
        return;
    }
    if (ev->type == QEMU_EVENT_MONITOR_ERROR) {
        FLOG_WARN("domain '%s': QMP monitor closed: %s", proc->name, ev->detail);
        return;
    }

    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, proc->uuid, DOMAIN_LOOKUP_LOCKED, NULL);
    if (!obj || obj->priv != proc || !domain_obj_is_active(obj))
        return;
    DomainState state = domain_obj_get_state(obj, NULL);
    /* A STOP or RESUME that came before a user's suspend or resume was
     * sent, and is handled after it (this queue runs behind), is history:
     * that command set the state since.  Applied, it would flip a resumed
     * guest back to paused (or the other way round). */
    gboolean stale = ev->user_runs != (guint)g_atomic_int_get(&proc->user_runs);

    if (stale && (ev->type == QEMU_EVENT_STOP || ev->type == QEMU_EVENT_RESUME)) {
        FLOG_DEBUG("domain '%s': %s from before the user's last suspend or resume: ignored",
                   proc->name, qemu_event_names[ev->type]);
        return;
    }
    switch (ev->type) {
    case QEMU_EVENT_STOP:
        if (state == DOMAIN_STATE_RUNNING) {
            /* a suspend in flight (the user's, also during a migration)
             * names its own reason */
            const char *why = domain_job_get_active(obj) == DOMAIN_JOB_SUSPEND ? "user"
                              : domain_job_get_async(obj) == DOMAIN_ASYNC_JOB_MIGRATION_OUT
                                  ? "migration"
                                  : "unknown";

            qemu_driver_set_state(drv, obj, DOMAIN_STATE_PAUSED, why);
            qemu_process_save_status(drv, obj);
        }
        break;
    case QEMU_EVENT_RESUME:
        if (state == DOMAIN_STATE_PAUSED) {
            const char *why = domain_job_expected_resume(obj);

            qemu_driver_set_state(drv, obj, DOMAIN_STATE_RUNNING, why ? why : "unpaused");
            qemu_process_save_status(drv, obj);
        }
        break;
    case QEMU_EVENT_SHUTDOWN:
        proc->shutdown_seen = TRUE;
        FLOG_INFO("domain '%s': SHUTDOWN (%s, %s)", proc->name, ev->guest ? "guest" : "host",
                  ev->detail ? ev->detail : "no reason");
        /* Our own SIGTERM (destroy) is not a shutdown anybody asked for. */
        if (!proc->destroying)
            qemu_driver_event_queue(drv, obj, QEMU_LIFECYCLE_SHUTDOWN,
                                    ev->guest ? QEMU_LIFECYCLE_SHUTDOWN_GUEST
                                              : QEMU_LIFECYCLE_SHUTDOWN_HOST);
        break;
    case QEMU_EVENT_MIGRATION:
        domain_job_note_migration_event(obj, ev->detail);
        break;
    case QEMU_EVENT_MIGRATION_PASS:
        /* the source's RAM passes; the destination's are not libvirt's */
        if (domain_job_get_async(obj) == DOMAIN_ASYNC_JOB_MIGRATION_OUT)
            qemu_driver_event_queue_iteration(
                drv, obj, (int)g_ascii_strtoll(ev->detail ? ev->detail : "0", NULL, 10));
        break;
    case QEMU_EVENT_EOF:
    case QEMU_EVENT_MONITOR_ERROR:
    case QEMU_EVENT_EXIT:
    case QEMU_EVENT_LAST:
        break;
    }
}

/* ---------------------------------------------------------------- files */

void qemu_process_remove_run_dir(QemuDriver *drv, const char *name)
{
    g_autofree char *dir = qemu_driver_run_dir(drv, name);
    g_autofree char *file = g_build_filename(dir, QEMU_PROCESS_FILE, NULL);
    g_autofree char *sock = g_build_filename(dir, QEMU_PROCESS_QMP_SOCKET, NULL);

    g_unlink(file);
    g_unlink(sock);
    g_rmdir(dir);
}

gboolean qemu_process_write_file(QemuDriver *drv, DomainObj *obj, QemuProcess *proc, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *dir = qemu_driver_run_dir(drv, domain_obj_name(obj));
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;

    g_key_file_set_int64(kf, "process", "pid", proc->pid);
    g_key_file_set_boolean(kf, "process", "autodestroy", proc->autodestroy);
    g_key_file_set_uint64(kf, "process", "conn", proc->conn);
    g_key_file_set_integer(kf, "leases", "count", (gint)proc->lease_fds->len);
    for (guint i = 0; i < proc->lease_fds->len; i++) {
        QemuLeaseFd *l = &g_array_index(proc->lease_fds, QemuLeaseFd, i);
        g_autofree char *fdkey = g_strdup_printf("fd%u", i);
        g_autofree char *leasekey = g_strdup_printf("lease%u", i);

        g_key_file_set_integer(kf, "leases", fdkey, l->fd);
        g_key_file_set_string(kf, "leases", leasekey, l->lease);
    }
    text = g_key_file_to_data(kf, NULL, NULL);
    if (!domain_state_file_write(dir, QEMU_PROCESS_FILE, text, &err)) {
        ferry_fail(error, ferry_error_code_of(err), "domain '%s': %s", domain_obj_name(obj),
                   err->message);
        return FALSE;
    }
    return TRUE;
}

gboolean qemu_process_read_file(QemuDriver *drv, DomainObj *obj, QemuProcess *proc, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *dir = qemu_driver_run_dir(drv, domain_obj_name(obj));
    g_autofree char *path = g_build_filename(dir, QEMU_PROCESS_FILE, NULL);
    g_autoptr(GError) err = NULL;
    gint count;

    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
        ferry_fail(error, FERRY_ERR_CONFIG, "domain '%s': cannot read '%s': %s",
                   domain_obj_name(obj), path, err->message);
        return FALSE;
    }
    proc->autodestroy = g_key_file_get_boolean(kf, "process", "autodestroy", NULL);
    proc->conn = g_key_file_get_uint64(kf, "process", "conn", NULL);
    count = g_key_file_get_integer(kf, "leases", "count", NULL);
    g_array_set_size(proc->lease_fds, 0);
    for (gint i = 0; i < count && i < 4096; i++) {
        g_autofree char *fdkey = g_strdup_printf("fd%d", i);
        g_autofree char *leasekey = g_strdup_printf("lease%d", i);
        QemuLeaseFd l = { 0 };

        l.fd = g_key_file_get_integer(kf, "leases", fdkey, &err);
        if (!err)
            l.lease = g_key_file_get_string(kf, "leases", leasekey, &err);
        if (err) {
            ferry_fail(error, FERRY_ERR_CONFIG, "domain '%s': '%s': %s", domain_obj_name(obj), path,
                       err->message);
            return FALSE;
        }
        g_array_append_val(proc->lease_fds, l);
    }
    return TRUE;
}

gboolean qemu_process_adopt_leases(QemuDriver *drv, DomainObj *obj, QemuProcess *proc,
                                   gboolean held, GError **error)
{
    g_autoptr(LockHandle) h = lock_manager_handle_new(drv->lockmgr, obj->def, error);
    g_autofree LockManagerFd *fds = NULL;

    if (!h)
        return FALSE;
    fds = g_new0(LockManagerFd, proc->lease_fds->len + 1);
    for (guint i = 0; i < proc->lease_fds->len; i++) {
        QemuLeaseFd *l = &g_array_index(proc->lease_fds, QemuLeaseFd, i);

        fds[i].lease = l->lease;
        fds[i].fd = l->fd;
    }
    if (!lock_manager_adopt(h, qemu_process_pidfd(proc), fds, proc->lease_fds->len, held, error))
        return FALSE;
    lock_manager_handle_free(proc->lock);
    proc->lock = g_steal_pointer(&h);
    return TRUE;
}

/* ---------------------------------------------------------------- stop */

void qemu_process_stop(QemuDriver *drv, DomainObj *obj, const char *reason)
{
    g_autoptr(GError) err = NULL;
    QemuProcess *proc = obj->priv;
    g_autofree char *name = g_strdup(domain_obj_name(obj));

    if (proc) {
        qemu_process_unwatch(proc);
        qemu_process_close_monitor(obj);
        qemu_process_kill(drv, proc);
        if (proc->lock) {
            if (!lock_manager_release(proc->lock, &err)) {
                FLOG_WARN("domain '%s': %s", name, err->message);
                g_clear_error(&err);
            }
            g_clear_pointer(&proc->lock, lock_manager_handle_free);
        }
    } else {
        qemu_process_close_monitor(obj);
    }
    if (!domain_obj_delete_status(obj, drv->state_dir, &err)) {
        FLOG_WARN("domain '%s': %s", name, err->message);
        g_clear_error(&err);
    }
    qemu_process_remove_run_dir(drv, name);
    autokill_remove_domain(drv->autokill, obj->def->uuid);
    qemu_graphics_release_ports(drv, obj->def);
    domain_obj_set_private(obj, NULL, NULL);
    if (domain_obj_is_active(obj))
        qemu_driver_set_inactive(drv, obj, reason);
    else
        qemu_driver_set_state(drv, obj, DOMAIN_STATE_SHUTOFF, reason);
    FLOG_INFO("domain '%s' shut off (%s)", name, reason);
}

void qemu_process_detach(QemuDriver *drv, DomainObj *obj)
{
    QemuProcess *proc = obj->priv;

    if (!proc)
        return;
    qemu_process_unwatch(proc);
    qemu_process_close_monitor(obj);
    /* Closing our lease fds keeps QEMU's: the leases stay held. */
    g_clear_pointer(&proc->lock, lock_manager_handle_free);
    if (proc->spawn) {
        spawn_detach(proc->spawn, NULL);
        g_clear_pointer(&proc->spawn, spawn_free);
    }
    ferry_fd_close(&proc->pidfd);
    FLOG_INFO("domain '%s': left running (QEMU pid %" G_GINT64_FORMAT ")", proc->name, proc->pid);
    domain_obj_set_private(obj, NULL, NULL);
}

/* ---------------------------------------------------------------- monitor */

gboolean qemu_process_connect_monitor(QemuDriver *drv, DomainObj *obj, QemuProcess *proc,
                                      const char *path, int timeout_ms, GError **error)
{
    QemuMonitor *mon;
    gboolean ok;

    g_mutex_lock(&proc->ev_lock);
    proc->mon_open = TRUE;
    g_mutex_unlock(&proc->ev_lock);
    domain_obj_enter_monitor(obj);
    mon = qemu_monitor_open_path(path, timeout_ms, &qemu_process_monitor_callbacks, proc, error);
    ok = domain_obj_exit_monitor(obj, error);
    if (!mon) {
        qemu_process_note_end(proc, FALSE, TRUE);
        return FALSE;
    }
    if (!ok || obj->priv != proc) {
        if (ok)
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': QEMU went away while connecting to its monitor",
                       domain_obj_name(obj));
        qemu_monitor_close(mon);
        qemu_monitor_unref(mon);
        return FALSE;
    }
    qemu_monitor_set_default_timeout(mon, drv->monitor_timeout_ms);
    domain_obj_set_monitor(obj, mon, (GDestroyNotify)qemu_monitor_unref);
    return TRUE;
}

/* The monitor of a running domain, referenced, or NULL with an error. */
static QemuMonitor *qemu_process_get_monitor(DomainObj *obj, GError **error)
{
    QemuMonitor *mon = domain_obj_get_monitor(obj);

    if (!mon) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "domain '%s': QEMU's monitor is not open",
                   domain_obj_name(obj));
        return NULL;
    }
    return qemu_monitor_ref(mon);
}

typedef gboolean (*QemuMonitorSimpleCall)(QemuMonitor *mon, GError **error);

/* One QMP command through enter/exit monitor (obj locked, job held). */
static gboolean qemu_process_monitor_call(DomainObj *obj, QemuMonitorSimpleCall call,
                                          GError **error)
{
    g_autoptr(QemuMonitor) mon = qemu_process_get_monitor(obj, error);
    gboolean ok;

    if (!mon)
        return FALSE;
    domain_obj_enter_monitor(obj);
    ok = call(mon, error);
    if (!domain_obj_exit_monitor(obj, ok ? error : NULL))
        ok = FALSE;
    return ok;
}

/* ---------------------------------------------------------------- suspend */

gboolean qemu_process_suspend(QemuDriver *drv, DomainObj *obj, GError **error)
{
    QemuProcess *proc = obj->priv;
    g_autoptr(GError) err = NULL;

    if (domain_obj_get_state(obj, NULL) == DOMAIN_STATE_PAUSED) {
        FLOG_DEBUG("domain '%s' is paused already", domain_obj_name(obj));
        return TRUE;
    }
    if (proc)
        g_atomic_int_inc(&proc->user_runs);
    if (!qemu_process_monitor_call(obj, qmp_stop, error))
        return FALSE;
    qemu_driver_set_state(drv, obj, DOMAIN_STATE_PAUSED, "user");
    if (proc && proc->lock && !lock_manager_release(proc->lock, &err))
        FLOG_WARN("domain '%s': %s", domain_obj_name(obj), err->message);
    qemu_process_save_status(drv, obj);
    return TRUE;
}

gboolean qemu_process_resume(QemuDriver *drv, DomainObj *obj, GError **error)
{
    QemuProcess *proc = obj->priv;
    DomainState state = domain_obj_get_state(obj, NULL);

    if (state == DOMAIN_STATE_RUNNING) {
        FLOG_DEBUG("domain '%s' is running already", domain_obj_name(obj));
        return TRUE;
    }
    if (state != DOMAIN_STATE_PAUSED) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s' is not paused (%s)",
                   domain_obj_name(obj), domain_state_to_string(state));
        return FALSE;
    }
    if (proc && proc->lock && !lock_manager_acquire(proc->lock, NULL, NULL, error))
        return FALSE;
    if (proc)
        g_atomic_int_inc(&proc->user_runs);
    if (!qemu_process_monitor_call(obj, qmp_cont, error)) {
        g_autoptr(GError) err = NULL;

        if (proc && obj->priv == proc && proc->lock && !lock_manager_release(proc->lock, &err))
            FLOG_WARN("domain '%s': %s", domain_obj_name(obj), err->message);
        return FALSE;
    }
    qemu_driver_set_state(drv, obj, DOMAIN_STATE_RUNNING, "unpaused");
    qemu_process_save_status(drv, obj);
    return TRUE;
}

guint qemu_process_user_runs(QemuProcess *proc)
{
    return proc ? (guint)g_atomic_int_get(&proc->user_runs) : 0;
}

gboolean qemu_process_powerdown(QemuDriver *drv, DomainObj *obj, GError **error)
{
    return qemu_process_monitor_call(obj, qmp_system_powerdown, error);
}

/* ---------------------------------------------------------------- start */

/* What a start opened, closed when it ends either way. */
typedef struct {
    QemuDriver *drv;
    DomainObj *obj;
    const char *name;
    unsigned int flags;
    const char *incoming; /* NULL: a normal start */
    QemuCaps *caps;
    const char *binary;
    const char *accel;
    char *run_dir;
    char *qmp_path;
    char *log_path;
    goffset log_offset; /* where this start's part of the log begins */
    int qmp_fd; /* listening socket (ours until spawn takes it) */
    GArray *chr_fds; /* QemuCommandChrFd: aliases borrowed from the def */
    GArray *chr_parent_fds; /* int: our copies, closed after spawn */
    GArray *taps; /* QemuInterfaceTap: our fds, closed after spawn */
    GArray *tap_fds; /* QemuCommandTapFd: the numbers inside QEMU */
    int next_fd; /* next fd number inside QEMU */
    LockHandle *lock;
} QemuStart;

static void qemu_start_clear(QemuStart *st)
{
    if (st->caps)
        qemu_caps_unref(st->caps);
    g_free(st->run_dir);
    g_free(st->qmp_path);
    g_free(st->log_path);
    ferry_fd_close(&st->qmp_fd);
    if (st->chr_parent_fds) {
        for (guint i = 0; i < st->chr_parent_fds->len; i++)
            ferry_fd_close(&g_array_index(st->chr_parent_fds, int, i));
        g_array_unref(st->chr_parent_fds);
    }
    if (st->chr_fds)
        g_array_unref(st->chr_fds);
    /* closing our tap fds before QEMU has them removes the taps */
    if (st->taps)
        g_array_unref(st->taps);
    if (st->tap_fds)
        g_array_unref(st->tap_fds);
    if (st->lock) {
        /* QEMU never got the leases: give them up */
        g_autoptr(GError) err = NULL;

        if (!lock_manager_release(st->lock, &err))
            FLOG_WARN("domain '%s': %s", st->name, err->message);
        lock_manager_handle_free(st->lock);
    }
}

/* The caps of the binary; the domain lock is dropped while QEMU may be
 * probed (the job keeps the domain ours). */
static gboolean qemu_start_caps(QemuStart *st, GError **error)
{
    DomainDef *def = st->obj->def;

    st->binary = def->emulator ? def->emulator : st->drv->qemu_binary;
    domain_obj_unlock(st->obj);
    st->caps = qemu_caps_get(st->drv->caps, st->binary, error);
    domain_obj_lock(st->obj);
    return st->caps != NULL;
}

static gboolean qemu_start_accel(QemuStart *st, GError **error)
{
    gboolean kvm_ok = qemu_caps_kvm_usable(st->caps);

    switch (st->drv->accel) {
    case QEMU_DRIVER_ACCEL_KVM:
        if (!kvm_ok) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "domain '%s': the driver is configured for kvm, but KVM is not usable "
                       "with '%s'",
                       st->name, st->binary);
            return FALSE;
        }
        st->accel = "kvm";
        return TRUE;
    case QEMU_DRIVER_ACCEL_TCG:
        st->accel = "tcg";
        return TRUE;
    case QEMU_DRIVER_ACCEL_AUTO:
    case QEMU_DRIVER_ACCEL_LAST:
        break;
    }
    if (st->obj->def->virt_type == DOMAIN_VIRT_KVM && kvm_ok) {
        st->accel = "kvm";
    } else {
        if (st->obj->def->virt_type == DOMAIN_VIRT_KVM)
            FLOG_WARN("domain '%s': KVM is not usable: running it under tcg", st->name);
        st->accel = "tcg";
    }
    return TRUE;
}

/* The running definition gets QEMU's canonical machine type, so that a
 * migration builds the same machine. */
static gboolean qemu_start_machine(QemuStart *st, GError **error)
{
    DomainDef *def = st->obj->def;
    const char *want = def->os.machine ? def->os.machine : "pc";
    const char *canon = qemu_caps_machine_canonical(st->caps, want);

    if (!canon) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "domain '%s': '%s' has no machine type '%s'",
                   st->name, st->binary, want);
        return FALSE;
    }
    if (g_strcmp0(def->os.machine, canon) != 0) {
        g_free(def->os.machine);
        def->os.machine = g_strdup(canon);
    }
    return TRUE;
}

/* What the interfaces need, checked before anything is opened. */
static gboolean qemu_start_check_nets(QemuStart *st, GError **error)
{
    return qemu_interface_check(st->obj->def, st->name, error);
}

/* The taps of the interfaces, opened by ferry (their names written into
 * the running definition); QEMU gets them as fds, vhost-net under kvm. */
static gboolean qemu_start_taps(QemuStart *st, GError **error)
{
    DomainDef *def = st->obj->def;

    st->tap_fds = g_array_new(FALSE, TRUE, sizeof(QemuCommandTapFd));
    st->taps = qemu_interface_open_all(def, st->name, g_str_equal(st->accel, "kvm"), error);
    if (!st->taps)
        return FALSE;
    for (guint i = 0; i < st->taps->len; i++) {
        QemuInterfaceTap *tap = &g_array_index(st->taps, QemuInterfaceTap, i);
        QemuCommandTapFd tfd = { .alias = tap->alias, .fd = st->next_fd++, .vhost_fd = -1 };

        if (tap->vhost_fd >= 0)
            tfd.vhost_fd = st->next_fd++;
        g_array_append_val(st->tap_fds, tfd);
    }
    return TRUE;
}

/* Graphics with autoport get free ports now (the command line needs
 * them), and SPICE TLS its files. */
static gboolean qemu_start_graphics(QemuStart *st, GError **error)
{
    return qemu_graphics_prepare(st->drv, st->name, st->obj->def, error);
}

/* The QMP socket, listening before QEMU starts: our connect cannot race
 * QEMU's startup.  QEMU gets it as an fd. */
static gboolean qemu_start_qmp_socket(QemuStart *st, GError **error)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    st->run_dir = qemu_driver_run_dir(st->drv, st->name);
    st->qmp_path = g_build_filename(st->run_dir, QEMU_PROCESS_QMP_SOCKET, NULL);
    if (strlen(st->qmp_path) >= sizeof(sun.sun_path)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': the QMP socket path '%s' is longer than %zu bytes", st->name,
                   st->qmp_path, sizeof(sun.sun_path) - 1);
        return FALSE;
    }
    if (g_mkdir_with_parents(st->run_dir, 0700) < 0) {
        ferry_fail_errno(error, errno, "cannot create directory '%s'", st->run_dir);
        return FALSE;
    }
    g_strlcpy(sun.sun_path, st->qmp_path, sizeof(sun.sun_path));
    if (g_unlink(st->qmp_path) < 0 && errno != ENOENT) {
        ferry_fail_errno(error, errno, "cannot remove the old socket '%s'", st->qmp_path);
        return FALSE;
    }
    st->qmp_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (st->qmp_fd < 0) {
        ferry_fail_errno(error, errno, "cannot create a socket");
        return FALSE;
    }
    if (bind(st->qmp_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(st->qmp_fd, 1) < 0) {
        ferry_fail_errno(error, errno, "cannot listen on '%s'", st->qmp_path);
        return FALSE;
    }
    return TRUE;
}

static gboolean qemu_start_open_chr(QemuStart *st, const DomainChrDef *chr, GError **error)
{
    QemuCommandChrFd cfd;
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
    int fd;

    if (chr->type != DOMAIN_CHR_TYPE_FILE || !chr->path || !chr->info.alias)
        return TRUE;
    if (chr->append != DOMAIN_TRISTATE_ON)
        flags |= O_TRUNC;
    fd = open(chr->path, flags, 0600);
    if (fd < 0) {
        ferry_fail_errno(error, errno, "domain '%s': cannot open '%s' for %s", st->name, chr->path,
                         chr->info.alias);
        return FALSE;
    }
    g_array_append_val(st->chr_parent_fds, fd);
    cfd.alias = chr->info.alias;
    cfd.fd = st->next_fd++;
    g_array_append_val(st->chr_fds, cfd);
    return TRUE;
}

/* Serial and console files are opened by ferry and handed to QEMU. */
static gboolean qemu_start_chr_files(QemuStart *st, GError **error)
{
    DomainDef *def = st->obj->def;

    st->chr_fds = g_array_new(FALSE, TRUE, sizeof(QemuCommandChrFd));
    st->chr_parent_fds = g_array_new(FALSE, TRUE, sizeof(int));
    for (size_t i = 0; i < def->nserials; i++) {
        if (!qemu_start_open_chr(st, def->serials[i], error))
            return FALSE;
    }
    for (size_t i = 0; i < def->nconsoles; i++) {
        /* a serial console is the serial port itself */
        if (def->consoles[i]->target == DOMAIN_CHR_TARGET_SERIAL)
            continue;
        if (!qemu_start_open_chr(st, def->consoles[i], error))
            return FALSE;
    }
    return TRUE;
}

/* Leases: acquired before QEMU runs (a paused start only registers them:
 * resume acquires). */
static gboolean qemu_start_leases(QemuStart *st, GError **error)
{
    st->lock = lock_manager_handle_new(st->drv->lockmgr, st->obj->def, error);
    if (!st->lock)
        return FALSE;
    if ((st->flags & QEMU_PROCESS_START_PAUSED) || st->incoming)
        return lock_manager_register(st->lock, error);
    return lock_manager_acquire(st->lock, NULL, NULL, error);
}

/* Opens the log, writes the header and command line; remembers where this
 * start's part begins. */
static gboolean qemu_start_log(QemuStart *st, const char *const *env, const char *const *argv,
                               GError **error)
{
    g_autofree char *dir = NULL;
    g_autofree char *cmdline = qemu_command_to_string(env, argv);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_autofree char *header = g_strdup_printf("%s: starting up\n%s\n", stamp, cmdline);
    g_auto(FerryFd) fd = -1;
    gsize len = strlen(header);
    struct stat sb;

    st->log_path = qemu_driver_get_log_path(st->drv, st->name);
    dir = g_path_get_dirname(st->log_path);
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        ferry_fail_errno(error, errno, "cannot create directory '%s'", dir);
        return FALSE;
    }
    fd = open(st->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        ferry_fail_errno(error, errno, "cannot open QEMU's log '%s'", st->log_path);
        return FALSE;
    }
    if (write(fd, header, len) != (ssize_t)len) {
        ferry_fail_errno(error, errno, "cannot write QEMU's log '%s'", st->log_path);
        return FALSE;
    }
    st->log_offset = fstat(fd, &sb) == 0 ? sb.st_size : 0;
    return TRUE;
}

/* What QEMU wrote to its log during this start (the last bytes), one
 * line, or NULL when nothing. */
static char *qemu_start_log_tail(QemuStart *st)
{
    g_auto(FerryFd) fd = st->log_path ? open(st->log_path, O_RDONLY | O_CLOEXEC) : -1;
    char buf[QEMU_PROCESS_LOG_TAIL + 1];
    struct stat sb;
    goffset from;
    ssize_t n;

    if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size <= st->log_offset)
        return NULL;
    from = MAX(st->log_offset, (goffset)sb.st_size - QEMU_PROCESS_LOG_TAIL);
    n = pread(fd, buf, QEMU_PROCESS_LOG_TAIL, (off_t)from);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    g_autofree char *tail = g_utf8_make_valid(buf, n);
    g_strstrip(tail);
    if (!*tail)
        return NULL;
    return g_strdelimit(g_steal_pointer(&tail), "\r\n", ' ');
}

static gboolean qemu_start_prepare(QemuStart *st, char ***argv_out, char ***env_out, GError **error)
{
    DomainDef *def = st->obj->def;
    QemuCommandOptions opts = QEMU_COMMAND_OPTIONS_INIT;
    g_autofree char *domain_dir = NULL;

    if (!qemu_start_caps(st, error) || !qemu_start_accel(st, error) ||
        !qemu_start_machine(st, error) || !qemu_start_check_nets(st, error) ||
        !qemu_start_graphics(st, error) || !qemu_start_qmp_socket(st, error))
        return FALSE;
    st->next_fd = QEMU_PROCESS_FIRST_FD + 1; /* QMP is the first */
    if (!qemu_start_chr_files(st, error) || !qemu_start_taps(st, error) ||
        !qemu_start_leases(st, error))
        return FALSE;

    domain_dir = qemu_driver_domain_dir(st->drv, st->name);
    if (g_mkdir_with_parents(domain_dir, 0700) < 0) {
        ferry_fail_errno(error, errno, "cannot create directory '%s'", domain_dir);
        return FALSE;
    }
    opts.emulator = st->binary;
    opts.accel = st->accel;
    opts.qmp_fd = QEMU_PROCESS_FIRST_FD;
    opts.incoming = st->incoming;
    opts.spice_tls_dir = st->drv->spice_tls_dir;
    opts.chr_fds = (const QemuCommandChrFd *)(gpointer)st->chr_fds->data;
    opts.nchr_fds = st->chr_fds->len;
    opts.taps = (const QemuCommandTapFd *)(gpointer)st->tap_fds->data;
    opts.ntaps = st->tap_fds->len;
    g_auto(GStrv) argv = qemu_command_build(def, &opts, error);
    if (!argv)
        return FALSE;
    g_auto(GStrv) env = qemu_command_build_env(domain_dir);
    if (!qemu_start_log(st, (const char *const *)env, (const char *const *)argv, error))
        return FALSE;
    *argv_out = g_steal_pointer(&argv);
    *env_out = g_steal_pointer(&env);
    return TRUE;
}

/* Spawns QEMU with every fd it gets; proc records the process. */
static gboolean qemu_start_spawn(QemuStart *st, QemuProcess *proc, char **argv, char **env,
                                 GError **error)
{
    g_autoptr(Spawn) spawn = spawn_new((const char *const *)argv);
    g_autoptr(GArray) leases = lock_manager_get_fds(st->lock);
    gboolean ok;

    qemu_command_env_apply(spawn, (const char *const *)env);
    spawn_set_log_file(spawn, st->log_path);
    spawn_set_new_session(spawn, TRUE);
    spawn_set_kill_grace(spawn, st->drv->kill_grace_ms);
    spawn_take_fd(spawn, ferry_fd_steal(&st->qmp_fd), QEMU_PROCESS_FIRST_FD);
    for (guint i = 0; i < st->chr_fds->len; i++) {
        int *pfd = &g_array_index(st->chr_parent_fds, int, i);

        spawn_take_fd(spawn, ferry_fd_steal(pfd),
                      g_array_index(st->chr_fds, QemuCommandChrFd, i).fd);
    }
    for (guint i = 0; i < st->taps->len; i++) {
        QemuInterfaceTap *tap = &g_array_index(st->taps, QemuInterfaceTap, i);
        QemuCommandTapFd *tfd = &g_array_index(st->tap_fds, QemuCommandTapFd, i);

        spawn_pass_fd(spawn, tap->tap_fd, tfd->fd);
        if (tap->vhost_fd >= 0)
            spawn_pass_fd(spawn, tap->vhost_fd, tfd->vhost_fd);
    }
    g_array_set_size(proc->lease_fds, 0);
    for (guint i = 0; i < leases->len; i++) {
        LockManagerFd *l = &g_array_index(leases, LockManagerFd, i);
        QemuLeaseFd qfd = { g_strdup(l->lease), st->next_fd++ };

        spawn_pass_fd(spawn, l->fd, qfd.fd);
        g_array_append_val(proc->lease_fds, qfd);
    }
    ok = spawn_start(spawn, error);
    /* QEMU holds the only tap fds now: the taps live as long as it does
     * (and a failed spawn removes them) */
    g_array_set_size(st->taps, 0);
    if (!ok)
        return FALSE;
    proc->pid = spawn_get_pid(spawn);
    proc->spawn = g_steal_pointer(&spawn);
    proc->lock = g_steal_pointer(&st->lock);
    FLOG_INFO("domain '%s': QEMU started, pid %" G_GINT64_FORMAT, st->name, proc->pid);
    return TRUE;
}

/* Graphics passwords never go on the command line: QMP sets them (called
 * in the monitor: only the definition, which the job keeps stable, is
 * read). */
static gboolean qemu_start_set_passwords(QemuStart *st, QemuMonitor *mon, GError **error)
{
    DomainDef *def = st->obj->def;

    for (size_t i = 0; i < def->ngraphics; i++) {
        DomainGraphicsDef *g = def->graphics[i];
        g_autoptr(json_object) args = NULL;
        g_autoptr(json_object) ret = NULL;

        if (!g->passwd)
            continue;
        args = json_object_new_object();
        json_object_object_add(args, "protocol",
                               json_object_new_string(domain_graphics_to_string(g->type)));
        json_object_object_add(args, "password", json_object_new_string(g->passwd));
        ret = qmp_call(mon, "set_password", args, error);
        if (!ret)
            return FALSE;
    }
    return TRUE;
}

/* Starts the CPUs (unless paused) and sets the state QEMU reports. */
static gboolean qemu_start_run(QemuStart *st, GError **error)
{
    g_autoptr(QemuMonitor) mon = qemu_process_get_monitor(st->obj, error);
    g_autofree char *status = NULL;
    gboolean running = FALSE;
    gboolean ok;

    if (!mon)
        return FALSE;
    domain_obj_enter_monitor(st->obj);
    ok = qemu_start_set_passwords(st, mon, error);
    /* an incoming QEMU waits for its migration (inmigrate): nothing to ask */
    if (ok && !st->incoming)
        ok = qmp_query_status(mon, &running, &status, error);
    if (ok && !running && !(st->flags & QEMU_PROCESS_START_PAUSED) && !st->incoming)
        ok = qmp_cont(mon, error);
    if (!domain_obj_exit_monitor(st->obj, ok ? error : NULL))
        ok = FALSE;
    if (!ok)
        return FALSE;
    if (st->incoming)
        qemu_driver_set_state(st->drv, st->obj, DOMAIN_STATE_PAUSED, "migration");
    else if (st->flags & QEMU_PROCESS_START_PAUSED)
        qemu_driver_set_state(st->drv, st->obj, DOMAIN_STATE_PAUSED, "user");
    else
        qemu_driver_set_state(st->drv, st->obj, DOMAIN_STATE_RUNNING, "booted");
    return TRUE;
}

static void qemu_process_autokill_cb(guint64 conn, const unsigned char *uuid, gpointer data)
{
    QemuDriver *drv = data;
    g_autoptr(GError) err = NULL;
    char uuidstr[FERRY_UUID_STRING_BUFLEN];

    FLOG_INFO("connection %" G_GUINT64_FORMAT " closed: destroying domain %s", conn,
              ferry_uuid_format(uuid, uuidstr));
    if (!qemu_driver_domain_destroy(drv, uuid, &err) &&
        !ferry_error_is(err, FERRY_ERR_OPERATION_INVALID) &&
        !ferry_error_is(err, FERRY_ERR_NO_DOMAIN))
        FLOG_WARN("autodestroy of domain %s failed: %s", uuidstr, err->message);
}

/* After spawn: everything up to a running domain.  proc is the domain's. */
static gboolean qemu_start_connect(QemuStart *st, QemuProcess *proc, guint64 conn, GError **error)
{
    QemuDriver *drv = st->drv;
    DomainObj *obj = st->obj;

    domain_obj_set_active(obj, domain_list_next_id(drv->domains), proc->pid, st->qmp_path);
    domain_obj_set_state(obj, DOMAIN_STATE_PAUSED, "starting-up");
    if (st->flags & QEMU_PROCESS_START_AUTODESTROY) {
        proc->autodestroy = TRUE;
        proc->conn = conn;
    }
    /* On disk before anything can fail halfway: a restarted daemon finds
     * this QEMU and cleans it up. */
    if (!qemu_process_write_file(drv, obj, proc, error) ||
        !domain_obj_save_status(obj, drv->state_dir, error))
        return FALSE;
    qemu_process_watch(proc);
    if (!qemu_process_connect_monitor(drv, obj, proc, st->qmp_path, drv->start_timeout_ms, error))
        return FALSE;
    if (!qemu_start_run(st, error))
        return FALSE;
    if (!domain_obj_save_status(obj, drv->state_dir, error))
        return FALSE;
    if (proc->autodestroy)
        autokill_add(drv->autokill, conn, obj->def->uuid, qemu_process_autokill_cb, drv, NULL);
    return TRUE;
}

/* A failed start after spawn: QEMU killed and reaped; the message gets the
 * tail of QEMU's log when QEMU ended by itself. */
static void qemu_start_fail(QemuStart *st, QemuProcess *proc, GError **error)
{
    gboolean exited = FALSE;
    g_autofree char *how = NULL;

    if (proc->spawn) {
        SpawnStatus status = { 0 };

        /* QEMU closing its monitor comes just before its exit */
        if (spawn_wait(proc->spawn, QEMU_PROCESS_EXIT_WAIT_MS, &status, NULL)) {
            exited = TRUE;
            how = spawn_status_describe(&status);
        }
    }
    qemu_process_stop(st->drv, st->obj, "failed");
    if (exited && error && *error) {
        g_autofree char *tail = qemu_start_log_tail(st);
        g_autoptr(GError) first = g_steal_pointer(error);

        if (tail)
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': QEMU %s during startup: %s (%s)", st->name, how, tail,
                       first->message);
        else
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "domain '%s': QEMU %s during startup: %s",
                       st->name, how, first->message);
    }
}

gboolean qemu_process_start(QemuDriver *drv, DomainObj *obj, unsigned int flags, guint64 conn,
                            GError **error)
{
    return qemu_process_start_incoming(drv, obj, NULL, flags, conn, error);
}

gboolean qemu_process_start_incoming(QemuDriver *drv, DomainObj *obj, const char *incoming,
                                     unsigned int flags, guint64 conn, GError **error)
{
    QemuStart st = { .drv = drv, .obj = obj, .flags = flags, .incoming = incoming, .qmp_fd = -1 };
    g_autofree char *name = g_strdup(domain_obj_name(obj));
    const char *old_reason = NULL;
    DomainState old_state = domain_obj_get_state(obj, &old_reason);
    g_autofree char *saved_reason = g_strdup(old_reason);
    g_auto(GStrv) argv = NULL;
    g_auto(GStrv) env = NULL;
    gboolean ok;

    if (domain_obj_is_active(obj)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s' is already running", name);
        return FALSE;
    }
    st.name = name;
    if (g_str_equal(name, ".") || g_str_equal(name, "..")) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain '%s': ferry cannot run a domain named so",
                   name);
        return FALSE;
    }
    /* a QEMU of this domain that is still ending holds its files */
    if (!qemu_process_wait_retired(drv, obj, error))
        return FALSE;
    if (domain_obj_is_active(obj)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s' is already running", name);
        return FALSE;
    }
    /* Changes to the running definition never reach the persistent one. */
    if (obj->persistent && !obj->new_def)
        obj->new_def = domain_def_copy(obj->def);

    if (!qemu_start_prepare(&st, &argv, &env, error)) {
        qemu_graphics_release_ports(drv, obj->def);
        if (st.run_dir)
            qemu_process_remove_run_dir(drv, name);
        qemu_start_clear(&st);
        domain_obj_set_inactive(obj, NULL);
        domain_obj_set_state(obj, old_state, saved_reason);
        return FALSE;
    }

    QemuProcess *proc = qemu_process_new(drv, obj);
    /* a QEMU we start has QEMU's defaults: every migration capability off */
    proc->migration_caps_on = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (!qemu_start_spawn(&st, proc, argv, env, error)) {
        qemu_graphics_release_ports(drv, obj->def);
        qemu_process_unref(proc);
        qemu_start_clear(&st);
        qemu_process_remove_run_dir(drv, name);
        domain_obj_set_inactive(obj, NULL);
        domain_obj_set_state(obj, old_state, saved_reason);
        return FALSE;
    }
    domain_obj_set_private(obj, proc, (GDestroyNotify)qemu_process_unref);

    ok = qemu_start_connect(&st, proc, conn, error);
    if (!ok) {
        qemu_start_fail(&st, proc, error);
        domain_obj_set_state(obj, old_state, saved_reason);
    }
    qemu_start_clear(&st);
    return ok;
}
