/*
 * postcopy.c: post-copy migration (VIR_MIGRATE_POSTCOPY).
 *
 * A migration started with the POSTCOPY flag sets QEMU's postcopy-ram
 * capability on both sides (params.c) and runs as a pre-copy migration
 * until the user asks for post-copy (virsh migrate-postcopy, migrate
 * --postcopy-after-precopy): migrate_start_postcopy takes a MIGRATION_OP
 * job during the migration-out job and sends migrate-start-postcopy.  QEMU
 * then stops the source's CPUs (pre-switchover: the leases go, as at any
 * switchover), sends the device state and switches to post-copy: the
 * destination can run the guest and fetches the pages it still lacks from
 * the source, which pushes the rest meanwhile.
 *
 *   source       Perform3 returns once QEMU reports postcopy-active (or
 *                completed).  From then on the source stays paused (reason
 *                "postcopy"), resuming it and aborting the migration are
 *                refused, and Confirm3 waits for QEMU to complete before
 *                it stops the source QEMU (the destination still needs it).
 *   destination  Finish3 waits for the incoming QEMU to have loaded the
 *                device state (postcopy-active and no longer "inmigrate"),
 *                ties the domain to nobody's connection (it must not die
 *                with the client now), takes the leases and starts the
 *                CPUs (cont; not with PAUSED), then waits for the incoming
 *                migration to complete.
 *
 * Before Perform3 returned, the destination's CPUs never ran (ferry starts
 * them in Finish3 only): a failure unwinds as any other (the source QEMU
 * is cancelled and resumed, the destination killed).  Once Perform3
 * returned in post-copy, a failure cannot be undone: the destination may
 * have run the guest, and the source has the memory the destination has
 * not fetched.  ferry then leaves both QEMUs alive, never runs two copies,
 * and every error says so: the source stays paused (reason
 * "postcopy-failed"), neither cancelled nor resumed; the destination is
 * neither killed nor autodestroyed, and keeps its CPUs as they are: paused
 * if Finish3 had not started them, else "running" with reason
 * "postcopy-failed" as libvirt reports it, its vCPUs blocked on the pages
 * the source did not send (QEMU cannot stop a vCPU waiting for a missing
 * page: a `stop` would hang the monitor).  QEMU's post-copy recovery
 * (postcopy-paused, then migrate with resume) is not driven by ferry yet;
 * the user decides which side to keep.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.postcopy"

#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

/* Polling the incoming QEMU while post-copy pulls the rest. */
#define POSTCOPY_POLL_MS 20

static gboolean start_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    return qmp_migrate_start_postcopy(mon, error);
}

/* A post-copy switch makes sense now (obj locked). */
static gboolean postcopy_check(DomainObj *obj, GError **error)
{
    const char *name = domain_obj_name(obj);

    if (domain_job_get_async(obj) != DOMAIN_ASYNC_JOB_MIGRATION_OUT) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': no outgoing migration is running to switch to post-copy", name);
        return FALSE;
    }
    if (!(obj->job.flags & MIGRATION_POSTCOPY)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': the migration was not started with the post-copy flag "
                   "(VIR_MIGRATE_POSTCOPY, virsh migrate --postcopy)",
                   name);
        return FALSE;
    }
    if (domain_job_get_phase(obj) != DOMAIN_MIGRATION_PHASE_PERFORM3) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': post-copy can start only while the migration sends memory "
                   "(phase '%s')",
                   name, domain_migration_phase_to_string(domain_job_get_phase(obj)));
        return FALSE;
    }
    return TRUE;
}

gboolean migration_src_start_postcopy(QemuDriver *drv, const DriverDomain *dom, unsigned int flags,
                                      GError **error)
{
    g_autoptr(DomainObjLocked) obj = migration_find(drv, dom->uuid, error);
    gboolean ok;

    if (!obj)
        return FALSE;
    if (flags) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': migrate start postcopy: unsupported flags 0x%x",
                   domain_obj_name(obj), flags);
        return FALSE;
    }
    if (!postcopy_check(obj, error) ||
        !domain_job_begin(obj, DOMAIN_JOB_MIGRATION_OP, "domainMigrateStartPostCopy", error))
        return FALSE;
    /* the migration may have moved on while we waited for the job */
    ok = postcopy_check(obj, error) &&
         migration_monitor_run(obj, DOMAIN_ASYNC_JOB_NONE, start_cb, NULL, error);
    domain_job_end(obj);
    if (ok)
        FLOG_INFO("domain '%s': post-copy requested", domain_obj_name(obj));
    return ok;
}

gboolean migration_postcopy_begun(DomainObj *obj)
{
    return (obj->job.flags & MIGRATION_JOB_POSTCOPY_BEGUN) != 0;
}

static gboolean refuse_abort_hook(DomainObj *obj, gpointer opaque, GError **error)
{
    ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
               "domain '%s': the migration is in post-copy: it can no longer be aborted (the "
               "guest may run on the destination already)",
               domain_obj_name(obj));
    return FALSE;
}

void migration_src_postcopy_switched(QemuDriver *drv, DomainObj *obj)
{
    obj->job.flags |= MIGRATION_JOB_POSTCOPY_BEGUN;
    domain_job_refuse_resume(obj, "the migration is in post-copy: the guest runs on the "
                                  "destination");
    domain_job_set_abort_hook(obj, refuse_abort_hook, NULL);
    /* paused by the switchover ("migration"): now for post-copy (QEMU's
     * STOP may not have been handled yet) */
    if (domain_obj_get_state(obj, NULL) == DOMAIN_STATE_PAUSED) {
        domain_obj_set_state(obj, DOMAIN_STATE_PAUSED, "postcopy");
        qemu_driver_event_queue(drv, obj, QEMU_LIFECYCLE_SUSPENDED,
                                QEMU_LIFECYCLE_SUSPENDED_POSTCOPY);
    } else {
        qemu_driver_set_state(drv, obj, DOMAIN_STATE_PAUSED, "postcopy");
    }
    migration_save_status(drv, obj);
    FLOG_INFO("domain '%s': migration switched to post-copy", domain_obj_name(obj));
}

void migration_src_postcopy_failed(QemuDriver *drv, DomainObj *obj, GError **error)
{
    const char *name = domain_obj_name(obj);
    g_autoptr(GError) err = NULL;

    if (!domain_obj_is_active(obj))
        return;
    qemu_driver_set_state(drv, obj, DOMAIN_STATE_PAUSED, "postcopy-failed");
    migration_save_status(drv, obj);
    ferry_fail(&err, FERRY_ERR_OPERATION_FAILED,
               "domain '%s': the migration failed in post-copy, which cannot be undone: the "
               "guest stays paused here (and on the destination); resume the side to keep and "
               "destroy the other",
               name);
    FLOG_ERROR("%s", err->message);
    ferry_error_keep_first(error, g_steal_pointer(&err));
}

typedef struct {
    gboolean running;
    char *status;
} RunState;

static gboolean query_status_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    RunState *rs = opaque;

    return qmp_query_status(mon, &rs->running, &rs->status, error);
}

gboolean migration_dst_postcopy_loaded(DomainObj *obj, gboolean *loaded, GError **error)
{
    RunState rs = { FALSE, NULL };
    gboolean ok =
        migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, query_status_cb, &rs, error);

    *loaded = ok && g_strcmp0(rs.status, "inmigrate") != 0;
    g_free(rs.status);
    return ok;
}

gboolean migration_dst_postcopy_wait(DomainObj *obj, GError **error)
{
    const char *name = domain_obj_name(obj);

    for (;;) {
        guint seen = domain_job_migration_events(obj);
        g_autoptr(json_object) q = migration_query(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, error);
        const char *status;

        if (!q)
            return FALSE;
        status = migration_query_status(q);
        if (g_str_equal(status, "completed"))
            return TRUE;
        if (!g_str_equal(status, "postcopy-active")) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': finish: the incoming post-copy migration %s", name,
                       status[0] ? status : "ended");
            return FALSE;
        }
        /* no deadline: the guest runs here and pulls what it lacks; QEMU
         * says when the stream breaks (postcopy-paused) */
        migration_wait_event(obj, seen, POSTCOPY_POLL_MS);
    }
}

void migration_dst_postcopy_failed(QemuDriver *drv, DomainObj *obj, GError **error)
{
    const char *name = domain_obj_name(obj);
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) first = g_steal_pointer(error);

    if (domain_obj_is_active(obj)) {
        /* No `stop`: a vCPU waiting for a page that will not come never
         * stops, and the monitor would hang with it.  The CPUs stay as
         * they are (started only if Finish3 did), the state says why. */
        gboolean running = domain_obj_get_state(obj, NULL) == DOMAIN_STATE_RUNNING;

        domain_obj_set_state(obj, running ? DOMAIN_STATE_RUNNING : DOMAIN_STATE_PAUSED,
                             "postcopy-failed");
        qemu_driver_event_queue(drv, obj,
                                running ? QEMU_LIFECYCLE_RESUMED : QEMU_LIFECYCLE_SUSPENDED,
                                running ? QEMU_LIFECYCLE_RESUMED_POSTCOPY_FAILED
                                        : QEMU_LIFECYCLE_SUSPENDED_POSTCOPY_FAILED);
        if (!qemu_process_clear_autodestroy(drv, obj, &err)) {
            FLOG_WARN("domain '%s': %s", name, err->message);
            g_clear_error(&err);
        }
        migration_save_status(drv, obj);
    }
    ferry_fail(error, first ? ferry_error_code_of(first) : FERRY_ERR_OPERATION_FAILED,
               "domain '%s': the migration failed in post-copy, which cannot be undone: the "
               "guest stays here (its CPUs wait for the memory the source did not send) and "
               "paused on the source; keep one side and destroy the other (%s)",
               name, first ? first->message : "no reason given");
    FLOG_ERROR("%s", (*error)->message);
}

gboolean migration_src_postcopy_wait(DomainObj *obj, GError **error)
{
    const char *name = domain_obj_name(obj);
    gint64 deadline = g_get_monotonic_time() + (gint64)MIGRATION_FINISH_WAIT_MS * 1000;

    for (;;) {
        guint seen = domain_job_migration_events(obj);
        g_autoptr(json_object) q = migration_query(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, error);
        const char *status;

        if (!q)
            return FALSE;
        status = migration_query_status(q);
        if (g_str_equal(status, "completed"))
            return TRUE;
        if (!g_str_equal(status, "postcopy-active")) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': confirm: the post-copy migration %s", name,
                       status[0] ? status : "ended");
            return FALSE;
        }
        if (g_get_monotonic_time() > deadline) {
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "domain '%s': confirm: QEMU did not complete the post-copy migration", name);
            return FALSE;
        }
        migration_wait_event(obj, seen, POSTCOPY_POLL_MS);
    }
}
