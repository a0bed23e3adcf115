/*
 * qemu_process_recover.c: a restarted daemon finds a migration in flight
 * (the async job and phase its predecessor kept in the status file).
 * What only the driver can settle is settled here, as it reconnects:
 *
 *   outgoing, phase confirm3   Confirm3 had begun after a completed
 *                              migration (the source QEMU was ending in
 *                              the background, qemu_process_retire): the
 *                              guest runs on the destination, so QEMU is
 *                              killed here, shut off (migrated).
 *   incoming, not post-copy    Finish3 never answered (it ends the job and
 *                              writes the status before it does), so the
 *                              source resumes the guest: QEMU is killed
 *                              here (failed), autodestroy or not.
 *   incoming, post-copy        kept, as a failed post-copy is.
 *
 * The other outgoing phases are the migration layer's
 * (migration_recover() in src/migration/owner.c, which every embedder
 * calls once the driver is open): undone up to Perform3, left paused
 * once QEMU completed.  libvirt's qemuProcessRecoverMigration* decide
 * the same way; the code is ferry's.
 */
#include <config.h>

#include <signal.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.process"

#include "driver/qemu_process_priv.h"
#include "util/error.h"
#include "util/log.h"

/* Kills QEMU within the async job (obj locked, the job owned). */
static void recover_stop(QemuDriver *drv, DomainObj *obj, DomainAsyncJob job, const char *reason)
{
    g_autoptr(GError) err = NULL;
    gboolean nested = domain_job_begin_nested(obj, job, &err);

    if (!nested)
        FLOG_WARN("domain '%s': stopping QEMU without a job: %s", domain_obj_name(obj),
                  err->message);
    qemu_process_kill_early(obj, SIGTERM);
    if (domain_obj_is_active(obj))
        qemu_process_stop(drv, obj, reason);
    if (nested)
        domain_job_end(obj);
}

/* Confirm3 had begun: the guest runs on the destination. */
static DomainJobStatus recover_confirmed(QemuDriver *drv, DomainObj *obj, gboolean *alive)
{
    FLOG_WARN("domain '%s': its migration was confirmed when the daemon restarted: stopping "
              "its QEMU",
              domain_obj_name(obj));
    recover_stop(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "migrated");
    *alive = FALSE;
    return DOMAIN_JOB_STATUS_COMPLETED;
}

static DomainJobStatus recover_in(QemuDriver *drv, DomainObj *obj, gboolean *alive)
{
    const char *name = domain_obj_name(obj);
    const char *reason = NULL;

    (void)domain_obj_get_state(obj, &reason);
    if (g_strcmp0(reason, "postcopy") == 0 || g_strcmp0(reason, "postcopy-failed") == 0) {
        FLOG_ERROR("domain '%s': its incoming migration was in post-copy when the daemon "
                   "restarted: the guest stays here as it is",
                   name);
        return DOMAIN_JOB_STATUS_FAILED;
    }
    FLOG_WARN("domain '%s': its incoming migration did not finish before the daemon restarted: "
              "stopping its QEMU (the source resumes the guest)",
              name);
    recover_stop(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, "failed");
    *alive = FALSE;
    return DOMAIN_JOB_STATUS_FAILED;
}

gboolean qemu_process_recover_job(QemuDriver *drv, DomainObj *obj)
{
    DomainAsyncJob job = domain_job_get_async(obj);
    DomainJobStatus outcome = DOMAIN_JOB_STATUS_FAILED;
    g_autoptr(GError) err = NULL;
    gboolean alive = TRUE;

    if (job == DOMAIN_ASYNC_JOB_NONE ||
        (job == DOMAIN_ASYNC_JOB_MIGRATION_OUT &&
         domain_job_get_phase(obj) != DOMAIN_MIGRATION_PHASE_CONFIRM3) ||
        (job != DOMAIN_ASYNC_JOB_MIGRATION_OUT && job != DOMAIN_ASYNC_JOB_MIGRATION_IN))
        return TRUE;
    if (!domain_job_async_resume(obj, job, "qemuProcessRecoverJob", &err)) {
        FLOG_ERROR("domain '%s': cannot take over its interrupted job: %s", domain_obj_name(obj),
                   err->message);
        return TRUE;
    }
    if (job == DOMAIN_ASYNC_JOB_MIGRATION_OUT)
        outcome = recover_confirmed(drv, obj, &alive);
    else
        outcome = recover_in(drv, obj, &alive);
    domain_job_end_async(obj, outcome);
    if (alive && domain_obj_is_active(obj) && !domain_obj_save_status(obj, drv->state_dir, &err))
        FLOG_WARN("domain '%s': %s", domain_obj_name(obj), err->message);
    return alive && domain_obj_is_active(obj);
}
