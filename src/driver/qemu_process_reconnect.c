/*
 * qemu_process_reconnect.c: a new driver instance (a restarted ferryd)
 * takes over the QEMUs that its predecessor left running, from their
 * status XML and process files.  See qemu_process.h.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.process"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "driver/qemu_driver_priv.h"
#include "driver/qemu_graphics.h"
#include "driver/qemu_monitor.h"
#include "driver/qemu_process.h"
#include "driver/qemu_process_priv.h"

/* TRUE when the process pid runs with "-uuid UUID" of this domain (the
 * pid was not reused by something else). */
static gboolean qemu_reconnect_is_our_qemu(gint64 pid, const unsigned char *uuid)
{
    g_autofree char *path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/cmdline", pid);
    g_autofree char *text = NULL;
    char want[FERRY_UUID_STRING_BUFLEN];
    gsize len = 0;
    gboolean prev_uuid = FALSE;

    if (!g_file_get_contents(path, &text, &len, NULL))
        return FALSE;
    ferry_uuid_format(uuid, want);
    for (gsize off = 0; off < len;) {
        const char *arg = text + off;
        gsize n = strnlen(arg, len - off);

        if (prev_uuid && g_ascii_strcasecmp(arg, want) == 0)
            return TRUE;
        prev_uuid = g_str_equal(arg, "-uuid");
        off += n + 1;
    }
    return FALSE;
}

/* The state QEMU reports, kept with its reason when it did not change. */
static gboolean qemu_reconnect_refresh_state(QemuDriver *drv, DomainObj *obj, gboolean *running,
                                             GError **error)
{
    QemuMonitor *mon = domain_obj_get_monitor(obj);
    g_autoptr(QemuMonitor) ref = mon ? qemu_monitor_ref(mon) : NULL;
    g_autofree char *status = NULL;
    const char *reason = NULL;
    DomainState old;
    gboolean ok;

    if (!ref) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "domain '%s': no monitor", domain_obj_name(obj));
        return FALSE;
    }
    domain_obj_enter_monitor(obj);
    ok = qmp_query_status(ref, running, &status, error);
    if (!domain_obj_exit_monitor(obj, ok ? error : NULL))
        ok = FALSE;
    if (!ok)
        return FALSE;
    old = domain_obj_get_state(obj, &reason);
    if (*running && old != DOMAIN_STATE_RUNNING)
        qemu_driver_set_state(drv, obj, DOMAIN_STATE_RUNNING, "unpaused");
    else if (!*running && old != DOMAIN_STATE_PAUSED)
        qemu_driver_set_state(drv, obj, DOMAIN_STATE_PAUSED,
                              g_strcmp0(status, "inmigrate") == 0 ||
                                      g_strcmp0(status, "postmigrate") == 0
                                  ? "migration"
                                  : "unknown");
    FLOG_DEBUG("domain '%s': QEMU's run state is '%s'", domain_obj_name(obj), status);
    return TRUE;
}

/* Reconnects with the job held; FALSE (reported) when QEMU cannot be
 * controlled. */
static gboolean qemu_reconnect_monitor(QemuDriver *drv, DomainObj *obj, QemuProcess *proc,
                                       GError **error)
{
    gboolean running = FALSE;
    g_autoptr(GError) err = NULL;

    if (!obj->monitor_path) {
        ferry_fail(error, FERRY_ERR_CONFIG, "domain '%s': its status names no QMP socket",
                   domain_obj_name(obj));
        return FALSE;
    }
    if (!qemu_process_connect_monitor(drv, obj, proc, obj->monitor_path, drv->start_timeout_ms,
                                      error) ||
        !qemu_reconnect_refresh_state(drv, obj, &running, error))
        return FALSE;
    /* Leases: QEMU holds them; we take copies of its fds.  Without them
     * (no ptrace access, say) QEMU keeps holding them until it ends, but
     * pause and resume cannot release and take them: logged. */
    if (!qemu_process_read_file(drv, obj, proc, &err) ||
        !qemu_process_adopt_leases(drv, obj, proc, running, &err))
        FLOG_WARN("domain '%s': its disk leases stay with QEMU only: %s", domain_obj_name(obj),
                  err->message);
    return TRUE;
}

/* A job restored from the status of a domain that no longer runs: nobody
 * else would end it. */
static void qemu_reconnect_end_job(DomainObj *obj)
{
    if (domain_job_get_async(obj) != DOMAIN_ASYNC_JOB_NONE)
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);
}

gboolean qemu_process_reconnect(QemuDriver *drv, DomainObj *obj)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *name = g_strdup(domain_obj_name(obj));
    gint64 pid = obj->pid;
    int pidfd = pid > 0 ? pidfd_open((pid_t)pid, 0) : -1;

    if (pidfd < 0 || !qemu_reconnect_is_our_qemu(pid, obj->def->uuid)) {
        if (pidfd < 0)
            FLOG_WARN("domain '%s': its QEMU (pid %" G_GINT64_FORMAT ") is gone: %s", name, pid,
                      g_strerror(errno));
        else
            FLOG_WARN("domain '%s': pid %" G_GINT64_FORMAT " is no longer its QEMU", name, pid);
        ferry_fd_close(&pidfd);
        /* the source of a confirmed migration ends by design */
        qemu_process_stop(drv, obj,
                          domain_job_get_async(obj) == DOMAIN_ASYNC_JOB_MIGRATION_OUT &&
                                  domain_job_get_phase(obj) == DOMAIN_MIGRATION_PHASE_CONFIRM3
                              ? "migrated"
                              : "crashed");
        qemu_reconnect_end_job(obj);
        return FALSE;
    }

    const char *reason = NULL;
    gboolean half_started = domain_obj_get_state(obj, &reason) == DOMAIN_STATE_PAUSED &&
                            g_strcmp0(reason, "starting-up") == 0;
    QemuProcess *proc = qemu_process_new(drv, obj);
    qemu_process_set_pidfd(proc, pidfd, pid);
    domain_obj_set_private(obj, proc, (GDestroyNotify)qemu_process_unref);
    /* QUERY is allowed whatever async job the status restored. */
    if (!domain_job_begin(obj, DOMAIN_JOB_QUERY, "qemuProcessReconnect", &err)) {
        FLOG_ERROR("domain '%s': cannot reconnect: %s", name, err->message);
        qemu_process_detach(drv, obj);
        return TRUE;
    }
    if (half_started) {
        FLOG_WARN("domain '%s': its start never completed: killing QEMU (pid %" G_GINT64_FORMAT ")",
                  name, pid);
        qemu_process_kill_early(obj, SIGTERM);
        qemu_process_stop(drv, obj, "failed");
        domain_job_end(obj);
        qemu_reconnect_end_job(obj);
        return FALSE;
    }
    if (!qemu_reconnect_monitor(drv, obj, proc, &err)) {
        FLOG_ERROR("domain '%s': cannot reconnect to QEMU (pid %" G_GINT64_FORMAT
                   "), killing it: %s",
                   name, pid, err->message);
        qemu_process_kill_early(obj, SIGTERM);
        qemu_process_stop(drv, obj, "failed");
        domain_job_end(obj);
        qemu_reconnect_end_job(obj);
        return FALSE;
    }
    qemu_process_watch(proc);
    qemu_graphics_claim_ports(drv, obj->def);
    if (!domain_obj_save_status(obj, drv->state_dir, &err)) {
        FLOG_WARN("domain '%s': %s", name, err->message);
        g_clear_error(&err);
    }
    domain_job_end(obj);
    /* a migration that was in flight: settled before anything else */
    if (!qemu_process_recover_job(drv, obj))
        return FALSE;

    if (qemu_process_is_autodestroy(proc)) {
        /* Its connection ended with the daemon that started it. */
        FLOG_INFO("domain '%s': autodestroy domain of a closed connection: destroyed", name);
        qemu_process_kill_early(obj, SIGTERM);
        if (domain_job_begin(obj, DOMAIN_JOB_DESTROY, "qemuProcessReconnect", &err)) {
            if (qemu_process_get(obj) == proc)
                qemu_process_stop(drv, obj, "destroyed");
            domain_job_end(obj);
            return domain_obj_is_active(obj);
        }
        FLOG_WARN("domain '%s': %s", name, err->message);
    }
    FLOG_INFO("domain '%s': reconnected to QEMU (pid %" G_GINT64_FORMAT ")", name, pid);
    return TRUE;
}
