/*
 * qemu_process_retire.c: a domain shut off without waiting for its QEMU
 * to exit (the source of a completed migration: its CPUs are stopped for
 * good, and the few tens of milliseconds QEMU takes to tear down a big
 * guest are nobody's business).  See qemu_process_retire() in
 * qemu_process.h.
 *
 * A retiring QEMU got SIGTERM; its pidfd watch stays, and its exit event
 * (the driver's event pool, qemu_process.c) reaps it here and frees what
 * it held until then: its status file and run directory (QMP socket,
 * process file), its leases' handle and its graphics ports.  A timer on
 * the I/O thread sends SIGKILL after the driver's grace period.  A start
 * of the same domain (the same uuid or the same name) waits until the old
 * process is gone (qemu_process_wait_retired), so that nothing it still
 * holds can clash with the new one; closing the driver kills and reaps
 * every retiring QEMU before it returns.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>

#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.process"

#include "driver/qemu_graphics.h"
#include "driver/qemu_process_priv.h"
#include "util/error.h"
#include "util/iothread.h"
#include "util/log.h"

/* I/O thread: the grace period is over. */
static gboolean retire_kill_cb(gpointer data)
{
    QemuProcess *proc = data;
    gboolean exited;
    int pidfd = qemu_process_pidfd(proc);

    g_mutex_lock(&proc->ev_lock);
    exited = proc->exited;
    g_mutex_unlock(&proc->ev_lock);
    if (!exited && pidfd >= 0) {
        FLOG_INFO("domain '%s': QEMU (pid %" G_GINT64_FORMAT ") ignored SIGTERM: SIGKILL",
                  proc->name, proc->pid);
        /* a pidfd names this very process: never another one that took
         * its pid */
        if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
            FLOG_WARN("domain '%s': cannot send SIGKILL to QEMU: %s", proc->name,
                      g_strerror(errno));
    }
    return G_SOURCE_REMOVE;
}

static void retire_arm_kill(QemuDriver *drv, QemuProcess *proc)
{
    GSource *src = g_timeout_source_new((guint)drv->kill_grace_ms);

    g_source_set_callback(src, retire_kill_cb, qemu_process_ref(proc),
                          (GDestroyNotify)qemu_process_unref);
    g_source_set_static_name(src, "qemu-retire-kill");
    proc->kill_timer = src;
    g_source_attach(src, iothread_context());
}

static gboolean retire_signal(QemuProcess *proc, int sig)
{
    int pidfd = qemu_process_pidfd(proc);

    if (pidfd < 0)
        return FALSE;
    if (pidfd_send_signal(pidfd, sig, NULL, 0) < 0 && errno != ESRCH) {
        FLOG_WARN("domain '%s': cannot signal QEMU (pid %" G_GINT64_FORMAT "): %s", proc->name,
                  proc->pid, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

void qemu_process_retire(QemuDriver *drv, DomainObj *obj, const char *reason)
{
    QemuProcess *proc = obj->priv;
    const DomainDef *def = obj->def;

    if (!proc || qemu_process_pidfd(proc) < 0) {
        qemu_process_stop(drv, obj, reason);
        return;
    }
    proc->destroying = TRUE;
    /* closed by us, it sends no end of file: the exit event must not wait
     * for one */
    qemu_process_close_monitor(obj);
    qemu_process_note_end(proc, FALSE, TRUE);
    proc->retire_ports = g_array_new(FALSE, FALSE, sizeof(int));
    qemu_graphics_list_ports(def, proc->retire_ports);
    g_mutex_lock(&drv->retire_lock);
    proc->retiring = TRUE;
    g_ptr_array_add(drv->retiring, qemu_process_ref(proc));
    retire_arm_kill(drv, proc);
    g_mutex_unlock(&drv->retire_lock);
    if (!retire_signal(proc, SIGTERM)) {
        /* it cannot be told to end: end it here and now */
        qemu_process_retire_collect(proc);
    }
    autokill_remove_domain(drv->autokill, obj->def->uuid);
    /* the process is no longer the domain's: its exit event changes
     * nothing on the domain (which may be running again by then) */
    domain_obj_set_private(obj, NULL, NULL);
    if (domain_obj_is_active(obj))
        qemu_driver_set_inactive(drv, obj, reason);
    else
        qemu_driver_set_state(drv, obj, DOMAIN_STATE_SHUTOFF, reason);
    FLOG_INFO("domain '%s' shut off (%s); QEMU (pid %" G_GINT64_FORMAT ") ends in the background",
              proc->name, reason, proc->pid);
}

/* Reaps proc (retiring, claimed by the caller, no lock held) and frees
 * what it held. */
static void retire_finish(QemuDriver *drv, QemuProcess *proc)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *status = g_strconcat(proc->name, ".xml", NULL);
    g_autofree char *status_path = g_build_filename(drv->state_dir, status, NULL);
    GSource *timer;

    g_mutex_lock(&drv->retire_lock);
    timer = g_steal_pointer(&proc->kill_timer);
    g_mutex_unlock(&drv->retire_lock);
    if (timer) {
        g_source_destroy(timer);
        g_source_unref(timer);
    }
    qemu_process_unwatch(proc);
    /* gone already (its exit event), or killed here (the driver closes) */
    qemu_process_kill(drv, proc);
    if (proc->lock) {
        if (!lock_manager_release(proc->lock, &err)) {
            FLOG_WARN("domain '%s': %s", proc->name, err->message);
            g_clear_error(&err);
        }
        g_clear_pointer(&proc->lock, lock_manager_handle_free);
    }
    if (g_unlink(status_path) < 0 && errno != ENOENT)
        FLOG_WARN("domain '%s': cannot delete '%s': %s", proc->name, status_path,
                  g_strerror(errno));
    qemu_process_remove_run_dir(drv, proc->name);
    for (guint i = 0; proc->retire_ports && i < proc->retire_ports->len; i++)
        qemu_driver_release_port(drv, g_array_index(proc->retire_ports, int, i));
    FLOG_DEBUG("domain '%s': QEMU (pid %" G_GINT64_FORMAT ") retired", proc->name, proc->pid);

    g_mutex_lock(&drv->retire_lock);
    proc->retiring = FALSE;
    g_ptr_array_remove(drv->retiring, proc);
    g_cond_broadcast(&drv->retire_cond);
    g_mutex_unlock(&drv->retire_lock);
}

/* Claims proc for reaping: TRUE when it is retiring and nobody else
 * reaps it. */
static gboolean retire_claim(QemuDriver *drv, QemuProcess *proc)
{
    gboolean mine;

    g_mutex_lock(&drv->retire_lock);
    mine = proc->retiring && !proc->retire_claimed;
    if (mine)
        proc->retire_claimed = TRUE;
    g_mutex_unlock(&drv->retire_lock);
    return mine;
}

void qemu_process_retire_collect(QemuProcess *proc)
{
    QemuDriver *drv = proc->drv;
    g_autoptr(QemuProcess) ref = qemu_process_ref(proc);

    if (retire_claim(drv, proc))
        retire_finish(drv, proc);
}

/* Some retiring process is obj's (its uuid or its name); retire_lock
 * held. */
static QemuProcess *retire_find(QemuDriver *drv, const unsigned char *uuid, const char *name)
{
    for (guint i = 0; i < drv->retiring->len; i++) {
        QemuProcess *proc = g_ptr_array_index(drv->retiring, i);

        if (memcmp(proc->uuid, uuid, FERRY_UUID_BUFLEN) == 0 || g_str_equal(proc->name, name))
            return proc;
    }
    return NULL;
}

gboolean qemu_process_wait_retired(QemuDriver *drv, DomainObj *obj, GError **error)
{
    unsigned char uuid[FERRY_UUID_BUFLEN];
    g_autofree char *name = g_strdup(domain_obj_name(obj));
    gint64 deadline;
    gint64 pid = 0;
    gboolean gone = TRUE;

    g_mutex_lock(&drv->retire_lock);
    if (drv->retiring->len == 0) {
        g_mutex_unlock(&drv->retire_lock);
        return TRUE;
    }
    g_mutex_unlock(&drv->retire_lock);

    memcpy(uuid, obj->def->uuid, FERRY_UUID_BUFLEN);
    /* the grace period, then SIGKILL and however long the kernel takes */
    deadline =
        g_get_monotonic_time() + (gint64)(drv->kill_grace_ms + QEMU_PROCESS_KILL_WAIT_MS) * 1000;
    /* the caller's job keeps the domain; others may look at it meanwhile
     * (lock order: never the domain's lock under retire_lock) */
    domain_obj_unlock(obj);
    g_mutex_lock(&drv->retire_lock);
    for (;;) {
        QemuProcess *proc = retire_find(drv, uuid, name);

        if (!proc)
            break;
        if (!pid) {
            pid = proc->pid;
            FLOG_DEBUG("domain '%s': waiting for its previous QEMU (pid %" G_GINT64_FORMAT
                       ") to end",
                       name, pid);
        }
        if (!g_cond_wait_until(&drv->retire_cond, &drv->retire_lock, deadline)) {
            gone = retire_find(drv, uuid, name) == NULL;
            break;
        }
    }
    g_mutex_unlock(&drv->retire_lock);
    domain_obj_lock(obj);
    if (!gone) {
        ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                   "domain '%s': its previous QEMU (pid %" G_GINT64_FORMAT ") has not ended", name,
                   pid);
        return FALSE;
    }
    return TRUE;
}

void qemu_process_retire_flush(QemuDriver *drv)
{
    g_mutex_lock(&drv->retire_lock);
    for (;;) {
        QemuProcess *proc = NULL;

        for (guint i = 0; i < drv->retiring->len && !proc; i++) {
            QemuProcess *p = g_ptr_array_index(drv->retiring, i);

            if (!p->retire_claimed)
                proc = p;
        }
        if (!proc)
            break;
        proc->retire_claimed = TRUE;
        qemu_process_ref(proc);
        g_mutex_unlock(&drv->retire_lock);
        retire_finish(drv, proc);
        qemu_process_unref(proc);
        g_mutex_lock(&drv->retire_lock);
    }
    /* and those the event pool reaps right now */
    while (drv->retiring->len > 0)
        g_cond_wait(&drv->retire_cond, &drv->retire_lock);
    g_mutex_unlock(&drv->retire_lock);
}
