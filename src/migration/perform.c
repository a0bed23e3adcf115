/*
 * perform.c: Perform3 on the source.  Sets the source's capabilities and
 * parameters (params.c), starts `migrate` to the destination's URI and
 * follows it with query-migrate (progress for domjobinfo, an abort through
 * migrate_cancel), releases the disk leases at the switchover (QEMU pauses
 * before it: pause-before-switchover), and answers cookie 3 with the
 * statistics.  On failure the migration is cancelled, the leases taken
 * again, the guest resumed if it ran, and the job ends here (libvirt's
 * clients skip Confirm3 after a failed Perform3).
 *
 * migrate-setspeed and migrate-setmaxdowntime are the driver's
 * (qemu_driver_migtune.c): it stores them and sets them in QEMU while the
 * migration-out job runs; params.c applies the stored values at the start.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.perform"

#include "driver/lock_manager.h"
#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

/* Polling query-migrate: from PERFORM_POLL_MIN_MS, doubling up to
 * PERFORM_POLL_MAX_MS (an abort or a job change wakes the wait early). */
#define PERFORM_POLL_MIN_MS 2
#define PERFORM_POLL_MAX_MS 10
/* Bound on waiting for a cancelled migration to end in QEMU. */
#define PERFORM_CANCEL_WAIT_MS 30000

static gboolean migrate_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    return qmp_migrate(mon, opaque, error);
}

static gboolean cancel_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    return qmp_migrate_cancel(mon, error);
}

static gboolean continue_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    return qmp_migrate_continue(mon, "pre-switchover", error);
}

static gboolean cont_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    return qmp_cont(mon, error);
}

/* domjobabort: called with obj locked within the aborter's ABORT job. */
static gboolean perform_abort_hook(DomainObj *obj, gpointer opaque, GError **error)
{
    FLOG_INFO("domain '%s': migration aborted: migrate_cancel", domain_obj_name(obj));
    return migration_monitor_run(obj, DOMAIN_ASYNC_JOB_NONE, cancel_cb, NULL, error);
}

static gboolean status_is_active(const char *status)
{
    return g_str_equal(status, "setup") || g_str_equal(status, "active") ||
           g_str_equal(status, "pre-switchover") || g_str_equal(status, "device") ||
           g_str_equal(status, "postcopy-active") || g_str_equal(status, "cancelling") ||
           g_str_equal(status, "wait-unplug");
}

static void perform_wait(DomainObj *obj, int *interval_ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)*interval_ms * 1000;

    g_cond_wait_until(&obj->job_cond, &obj->lock, until);
    *interval_ms = MIN(*interval_ms * 2, PERFORM_POLL_MAX_MS);
}

void migration_src_rollback(QemuDriver *drv, DomainObj *obj, GError **error)
{
    const char *name = domain_obj_name(obj);
    LockHandle *lock;
    g_autoptr(GError) err = NULL;
    int interval = PERFORM_POLL_MIN_MS;
    gint64 deadline = g_get_monotonic_time() + (gint64)PERFORM_CANCEL_WAIT_MS * 1000;

    if (!domain_obj_is_active(obj))
        return;
    /* the migration in QEMU ends first */
    for (;;) {
        g_autoptr(json_object) q = migration_query(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &err);
        const char *status = migration_query_status(q);

        if (!q || !status_is_active(status))
            break;
        if (!g_str_equal(status, "cancelling") &&
            !migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, cancel_cb, NULL, &err))
            break;
        if (g_get_monotonic_time() > deadline) {
            ferry_fail(&err, FERRY_ERR_OPERATION_TIMEOUT,
                       "domain '%s': the cancelled migration did not end in QEMU", name);
            break;
        }
        perform_wait(obj, &interval);
    }
    if (err)
        ferry_error_keep_first(error, g_steal_pointer(&err));
    if (!domain_obj_is_active(obj))
        return;
    lock = qemu_process_get_lock(qemu_process_get(obj));
    if (lock && !lock_manager_acquire(lock, NULL, NULL, &err)) {
        /* someone took the disks: the guest must not run here */
        ferry_error_keep_first(error, g_steal_pointer(&err));
        return;
    }
    if (!(obj->job.flags & MIGRATION_JOB_SRC_WAS_RUNNING))
        return;
    if (!migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, cont_cb, NULL, &err)) {
        ferry_error_keep_first(error, g_steal_pointer(&err));
        return;
    }
    qemu_driver_set_state(drv, obj, DOMAIN_STATE_RUNNING, "migration-canceled");
    migration_save_status(drv, obj);
    FLOG_INFO("domain '%s': migration cancelled, the guest runs on here", name);
}

/* Follows the migration to its end; TRUE when QEMU completed it.  *last
 * gets the last query-migrate answer. */
static gboolean perform_follow(QemuDriver *drv, DomainObj *obj, json_object **last, GError **error)
{
    const char *name = domain_obj_name(obj);
    LockHandle *lock = qemu_process_get_lock(qemu_process_get(obj));
    int interval = PERFORM_POLL_MIN_MS;

    for (;;) {
        json_object *q = migration_query(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, error);
        DomainJobProgress progress;
        const char *status;

        if (!q)
            return FALSE;
        g_clear_pointer(last, json_object_put);
        *last = q;
        status = migration_query_status(q);
        migration_progress_from_query(q, &progress);
        domain_job_update_progress(obj, &progress);

        if (g_str_equal(status, "completed"))
            return TRUE;
        if (g_str_equal(status, "failed")) {
            json_object *desc = NULL;

            json_object_object_get_ex(q, "error-desc", &desc);
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "domain '%s': migration failed: %s", name,
                       desc ? json_object_get_string(desc) : "QEMU gave no reason");
            return FALSE;
        }
        if (g_str_equal(status, "cancelled")) {
            ferry_fail(error, FERRY_ERR_OPERATION_ABORTED, "domain '%s': migration %s", name,
                       domain_job_abort_requested(obj) ? "aborted by the user" : "was cancelled");
            return FALSE;
        }
        if (!status_is_active(status) && !g_str_equal(status, "none")) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': unexpected migration status '%s'", name, status);
            return FALSE;
        }
        if (g_str_equal(status, "pre-switchover")) {
            /* the source's CPUs are stopped: give up the disks before the
             * destination may take them */
            if (lock && !lock_manager_release(lock, error))
                return FALSE;
            if (!migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, continue_cb, NULL,
                                       error))
                return FALSE;
            interval = PERFORM_POLL_MIN_MS;
            continue;
        }
        perform_wait(obj, &interval);
    }
}

static GBytes *perform_cookie(QemuDriver *drv, DomainObj *obj, json_object *q, GError **error)
{
    g_autoptr(MigrationCookie) cookie =
        migration_cookie_new(drv, domain_obj_name(obj), obj->def->uuid, error);
    LockHandle *lock = qemu_process_get_lock(qemu_process_get(obj));
    gint64 started = obj->job.async_started_real / 1000;

    if (!cookie)
        return NULL;
    migration_stats_from_query(q, started, cookie_statistics(cookie));
    if (lock && !lock_manager_inquire_cookie(lock, cookie, error))
        return NULL;
    if (obj->job.flags & MIGRATION_PERSIST_DEST) {
        DomainDef *pdef = domain_obj_get_persistent_def(obj);
        g_autofree char *xml =
            domain_def_format(pdef ? pdef : obj->def, DOMAIN_FORMAT_SECURE, error);

        if (!xml || cookie_set_persistent(cookie, xml, error) < 0)
            return NULL;
    }
    return migration_cookie_bake(cookie, error);
}

/* What Perform3 needs before QEMU migrates (obj locked, job owned). */
static gboolean perform_check(QemuDriver *drv, DomainObj *obj, const TypedParams *params,
                              GBytes *cookie_in, const char **uri, GError **error)
{
    const char *name = domain_obj_name(obj);
    g_autoptr(MigrationCookie) cookie = NULL;
    g_autoptr(GError) err = NULL;

    if (!migration_set_phase(drv, obj, DOMAIN_MIGRATION_PHASE_PERFORM3, error))
        return FALSE;
    cookie = migration_cookie_eat(drv, name, "perform", cookie_in, TRUE, &err);
    if (err) {
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    if (cookie && memcmp(cookie->uuid, obj->def->uuid, FERRY_UUID_BUFLEN) != 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': perform: the cookie names another domain", name);
        return FALSE;
    }
    if (typed_params_get_string(params, MIGRATION_PARAM_URI, uri, error) < 0)
        return FALSE;
    if (!*uri) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain '%s': perform: no migration URI", name);
        return FALSE;
    }
    if (!domain_obj_is_active(obj)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s' is no longer running", name);
        return FALSE;
    }
    return TRUE;
}

gboolean migration_src_perform(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                               const char *dconnuri, const TypedParams *params, GBytes *cookie_in,
                               unsigned int flags, GBytes **cookie_out, GError **error)
{
    g_autoptr(DomainObjLocked) obj = migration_find(drv, dom->uuid, error);
    g_autoptr(json_object) last = NULL;
    g_autoptr(GBytes) baked = NULL;
    const char *uri = NULL;
    const char *name;
    gboolean ok;

    if (!obj)
        return FALSE;
    name = domain_obj_name(obj);
    if (!migration_params_check(name, "perform", params, flags, error))
        return FALSE;
    if (dconnuri) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "domain '%s': peer-to-peer migration is not supported yet", name);
        return FALSE;
    }
    if (flags & MIGRATION_OFFLINE)
        return migration_src_perform_offline(drv, obj, cookie_out, error);
    if (!domain_job_async_resume(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "domainMigratePerform3Params",
                                 error))
        return FALSE;

    ok = perform_check(drv, obj, params, cookie_in, &uri, error);
    if (!ok) {
        migration_owner_remove(drv, obj->def->uuid);
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);
        migration_save_status(drv, obj);
        return FALSE;
    }

    domain_job_set_abort_hook(obj, perform_abort_hook, NULL);
    ok = migration_params_apply(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, params, flags,
                                MIGRATION_SIDE_SRC, error) &&
         migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, migrate_cb, (gpointer)uri,
                               error) &&
         perform_follow(drv, obj, &last, error);
    if (ok) {
        /* without pause-before-switchover the leases go now */
        LockHandle *lock = qemu_process_get_lock(qemu_process_get(obj));

        ok = (!lock || lock_manager_release(lock, error)) &&
             migration_set_phase(drv, obj, DOMAIN_MIGRATION_PHASE_PERFORM3_DONE, error) &&
             (baked = perform_cookie(drv, obj, last, error));
    }
    domain_job_set_abort_hook(obj, NULL, NULL);
    if (!ok) {
        gboolean aborted = domain_job_abort_requested(obj);

        migration_src_rollback(drv, obj, error);
        migration_owner_remove(drv, obj->def->uuid);
        domain_job_end_async(obj, aborted ? DOMAIN_JOB_STATUS_CANCELED : DOMAIN_JOB_STATUS_FAILED);
        migration_save_status(drv, obj);
        return FALSE;
    }
    FLOG_INFO("domain '%s': migration to %s completed", name, uri);
    domain_job_async_continue(obj);
    *cookie_out = g_steal_pointer(&baked);
    return TRUE;
}
