/*
 * qemu_process_kill.c: killing a QEMU and reaping it, whether it is
 * ferryd's child (its Spawn) or one found by reconnect (its pidfd):
 * SIGTERM, the driver's grace period, SIGKILL.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.process"

#include "util/error.h"
#include "util/log.h"
#include "util/spawn.h"
#include "driver/qemu_driver_priv.h"
#include "driver/qemu_process.h"
#include "driver/qemu_process_priv.h"

/* waitid()'s idtype for a pidfd (Linux 5.4; glibc 2.36 names it) */
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Waits up to timeout_ms for the pidfd to become readable (the process
 * ended).  TRUE when it did. */
static gboolean qemu_process_pidfd_wait(int pidfd, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        int rc;

        if (left < 0)
            left = 0;
        rc = poll(&pfd, 1, (int)MIN(left, G_MAXINT));
        if (rc > 0)
            return TRUE;
        if (rc == 0)
            return FALSE;
        if (errno != EINTR)
            return FALSE;
    }
}

/* Kills a QEMU that is not our child through its pidfd and waits for it
 * to end; reaps it when it happens to be our child after all (a driver
 * reopened in the same process). */
static void qemu_process_kill_pidfd(QemuProcess *proc, int grace_ms)
{
    siginfo_t info;

    if (proc->pidfd < 0)
        return;
    if (!qemu_process_pidfd_wait(proc->pidfd, 0)) {
        if (pidfd_send_signal(proc->pidfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH)
            FLOG_WARN("domain '%s': cannot send SIGTERM to QEMU: %s", proc->name,
                      g_strerror(errno));
        if (!qemu_process_pidfd_wait(proc->pidfd, grace_ms)) {
            FLOG_INFO("domain '%s': QEMU ignored SIGTERM for %d ms: SIGKILL", proc->name, grace_ms);
            if (pidfd_send_signal(proc->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                FLOG_WARN("domain '%s': cannot send SIGKILL to QEMU: %s", proc->name,
                          g_strerror(errno));
            if (!qemu_process_pidfd_wait(proc->pidfd, QEMU_PROCESS_KILL_WAIT_MS))
                FLOG_ERROR("domain '%s': QEMU (pid %" G_GINT64_FORMAT
                           ") still exists %d ms after SIGKILL",
                           proc->name, proc->pid, QEMU_PROCESS_KILL_WAIT_MS);
        }
    }
    memset(&info, 0, sizeof(info));
    if (waitid((idtype_t)P_PIDFD, (id_t)proc->pidfd, &info, WEXITED | WNOHANG) == 0 &&
        info.si_pid > 0)
        FLOG_DEBUG("domain '%s': reaped QEMU (pid %d)", proc->name, (int)info.si_pid);
}

void qemu_process_kill_early(DomainObj *obj, int sig)
{
    QemuProcess *proc = obj->priv;

    if (!proc)
        return;
    proc->destroying = TRUE;
    if (proc->spawn) {
        g_autoptr(GError) err = NULL;

        if (spawn_is_running(proc->spawn) && !spawn_kill(proc->spawn, sig, &err))
            FLOG_DEBUG("domain '%s': %s", proc->name, err->message);
    } else if (proc->pidfd >= 0) {
        if (pidfd_send_signal(proc->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
            FLOG_DEBUG("domain '%s': cannot signal QEMU: %s", proc->name, g_strerror(errno));
    }
}

gboolean qemu_process_kill_begin_job(QemuDriver *drv, DomainObj *obj, const char *api,
                                     GError **error)
{
    g_autoptr(GError) err = NULL;
    QemuProcess *proc = obj->priv;
    unsigned int wait_ms = domain_job_get_wait_timeout();

    qemu_process_kill_early(obj, SIGTERM);
    if (domain_job_begin_full(obj, DOMAIN_JOB_DESTROY, api,
                              MIN((unsigned int)drv->kill_grace_ms, wait_ms), &err))
        return TRUE;
    if (!ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT)) {
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    /* The job's holder still waits on QEMU: a QEMU that ends answers no
     * more commands, and 7.2 can hang in its shutdown with a command in
     * flight.  SIGKILL ends it, and with it the holder's wait. */
    if (proc && obj->priv == proc) {
        FLOG_INFO("domain '%s': still busy %d ms after SIGTERM (%s): SIGKILL", proc->name,
                  drv->kill_grace_ms, err->message);
        qemu_process_kill_early(obj, SIGKILL);
    }
    return domain_job_begin(obj, DOMAIN_JOB_DESTROY, api, error);
}

/* Kills and reaps QEMU, whoever's child it is. */
void qemu_process_kill(QemuDriver *drv, QemuProcess *proc)
{
    if (proc->spawn) {
        g_autoptr(GError) err = NULL;
        SpawnStatus st = { 0 };

        if (!spawn_kill_and_reap(proc->spawn, drv->kill_grace_ms, &st, &err)) {
            FLOG_ERROR("domain '%s': cannot reap QEMU: %s", proc->name, err->message);
        } else {
            g_autofree char *how = spawn_status_describe(&st);

            FLOG_DEBUG("domain '%s': QEMU %s", proc->name, how);
        }
    } else {
        qemu_process_kill_pidfd(proc, drv->kill_grace_ms);
    }
}
