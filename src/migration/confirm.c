/*
 * confirm.c: Confirm3 on the source, which ends the migration-out job.
 * Success: the guest runs on the destination, so the source is shut off
 * (reason "migrated") at once and its QEMU, told to end, is reaped in the
 * background (qemu_process_retire: its CPUs stopped for good at the
 * switchover, nothing waits for its teardown), and with
 * UNDEFINE_SOURCE the definition goes too (after post-copy, once QEMU
 * completed: the destination may still fetch pages until then).
 * Cancelled: the migration in QEMU is cancelled, the leases are taken
 * again and the guest resumes if it ran before and the user did not pause
 * it meanwhile; after post-copy began nothing is undone (postcopy.c).
 *
 * Success is checked where the disk leases allow it: a destination that
 * runs the guest took them in Finish3 before its CPUs started.  When they
 * are free, it does not run the guest (a client that cancelled Finish3, or
 * raced it): ending QEMU here would leave no copy at all.  So Confirm3
 * takes them back (which also keeps a late Finish3 from starting the guest
 * there), fails, and unwinds as a cancelled one.  Not after post-copy began
 * (nothing is undone then), and not for a migration that leaves the guest
 * paused on the destination (it holds no leases there until resumed).
 * And only when the destination keeps its leases where this host does
 * (lock_manager_shares_with: it marked itself in our lease directory; its
 * host UUID came in cookie 2): a destination with a lease directory of its
 * own holds its leases there, so a free lease here says nothing, and
 * Confirm3 goes on as a plain success (as it also does when cookie 2 was
 * missing).
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.confirm"

#include "driver/lock_manager.h"
#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

/* FALSE (error set) when the leases were free, so the destination does not
 * run the guest: they are held here again then (obj locked, the job
 * owned).  TRUE when someone else holds them, or when nothing tells. */
static gboolean confirm_check_leases(QemuDriver *drv, DomainObj *obj, unsigned int flags,
                                     GError **error)
{
    LockHandle *lock = qemu_process_get_lock(qemu_process_get(obj));
    const unsigned char *dest = domain_job_get_peer_host(obj);
    char dest_str[FERRY_UUID_STRING_BUFLEN];
    g_auto(GStrv) leases = NULL;
    g_autoptr(GError) err = NULL;

    if (!lock || (flags & MIGRATION_PAUSED) || migration_postcopy_begun(obj))
        return TRUE;
    leases = lock_manager_inquire(lock);
    if (!leases[0])
        return TRUE;
    if (!dest) {
        FLOG_INFO("domain '%s': confirm: the destination's host is unknown (no cookie 2): "
                  "not checking its leases",
                  domain_obj_name(obj));
        return TRUE;
    }
    ferry_uuid_format(dest, dest_str);
    if (!lock_manager_shares_with(drv->lockmgr, dest)) {
        FLOG_INFO("domain '%s': confirm: destination host %s does not share this host's lease "
                  "directory: not checking its leases",
                  domain_obj_name(obj), dest_str);
        return TRUE;
    }
    FLOG_INFO("domain '%s': confirm: destination host %s shares this host's lease directory: "
              "checking that it holds the leases",
              domain_obj_name(obj), dest_str);
    if (!lock_manager_acquire(lock, NULL, NULL, &err)) {
        /* denied: held elsewhere, by the destination's guest */
        if (!ferry_error_is(err, FERRY_ERR_OPERATION_DENIED))
            FLOG_WARN("domain '%s': confirm: cannot check the leases: %s", domain_obj_name(obj),
                      err->message);
        return TRUE;
    }
    ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
               "domain '%s': confirm: the destination does not hold the disk leases (lease '%s' "
               "was free), so the guest does not run there; it stays here",
               domain_obj_name(obj), leases[0]);
    return FALSE;
}

/* Undoes the migration: the guest resumes here when it ran (obj locked,
 * the job owned; the job ends with status). */
static gboolean confirm_cancelled(QemuDriver *drv, DomainObj *obj, DomainJobStatus status,
                                  GError **error)
{
    g_autoptr(GError) err = NULL;

    if (!migration_set_phase(drv, obj, DOMAIN_MIGRATION_PHASE_CONFIRM3_CANCELLED, &err))
        FLOG_WARN("%s", err->message);
    g_clear_error(&err);
    migration_src_rollback(drv, obj, &err);
    domain_job_end_async(obj, status);
    migration_save_status(drv, obj);
    if (err) {
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    return TRUE;
}

static gboolean confirm_success(QemuDriver *drv, DomainObj *obj, GBytes *cookie_in,
                                unsigned int flags, GError **error)
{
    /* a copy: the running definition (and its name) goes with QEMU */
    g_autofree char *name = g_strdup(domain_obj_name(obj));
    g_autoptr(GError) err = NULL;
    g_autoptr(MigrationCookie) cookie = NULL;

    if (!migration_set_phase(drv, obj, DOMAIN_MIGRATION_PHASE_CONFIRM3, error))
        return FALSE;
    /* The destination's cookie: only checked (its statistics are the
     * destination's view of what Perform3 already recorded). */
    cookie = migration_cookie_eat(drv, name, "confirm", cookie_in, TRUE, &err);
    if (err)
        FLOG_WARN("%s", err->message);
    /* post-copy: the destination fetched its last pages from this QEMU
     * (Finish3 waited for that); it ends once QEMU says completed */
    g_clear_error(&err);
    if (migration_postcopy_begun(obj) && !migration_src_postcopy_wait(obj, &err))
        FLOG_WARN("%s (the guest runs on the destination: stopping here anyway)", err->message);
    /* its CPUs never run again: QEMU ends in the background */
    migration_retire_qemu(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "migrated");
    if ((flags & MIGRATION_UNDEFINE_SOURCE) && obj->persistent) {
        g_clear_error(&err);
        if (!domain_obj_delete_config(obj, drv->config_dir, &err))
            FLOG_WARN("domain '%s': %s", name, err->message);
        obj->persistent = FALSE;
        g_clear_pointer(&obj->new_def, domain_def_free);
        FLOG_INFO("domain '%s' undefined after migrating away", name);
    }
    return TRUE;
}

gboolean migration_src_confirm(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                               const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                               gboolean cancelled, GError **error)
{
    g_autoptr(DomainObjLocked) obj = NULL;
    g_autoptr(GError) first = NULL;
    g_autofree char *name = NULL;
    gboolean ok = TRUE;

    if (!migration_params_check(dom->name, "confirm", params, flags, error))
        return FALSE;
    /* no job and no lock held: undefine takes its own */
    if (flags & MIGRATION_OFFLINE)
        return migration_src_confirm_offline(drv, dom, flags, cancelled, error);
    if (!(obj = migration_find(drv, dom->uuid, error)))
        return FALSE;
    /* a copy: the running definition (and its name) goes with QEMU */
    name = g_strdup(domain_obj_name(obj));
    if (cancelled && domain_job_get_async(obj) != DOMAIN_ASYNC_JOB_MIGRATION_OUT) {
        /* Perform3 failed and unwound already (and ended the job) */
        FLOG_DEBUG("domain '%s': confirm (cancelled): nothing left to undo", name);
        return TRUE;
    }
    if (!domain_job_async_resume(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "domainMigrateConfirm3Params",
                                 error))
        return FALSE;
    migration_owner_remove(drv, obj->def->uuid);

    if (cancelled)
        return confirm_cancelled(drv, obj, DOMAIN_JOB_STATUS_CANCELED, error);
    if (!confirm_check_leases(drv, obj, flags, &first)) {
        g_autoptr(GError) later = NULL;

        if (!confirm_cancelled(drv, obj, DOMAIN_JOB_STATUS_FAILED, &later))
            FLOG_WARN("%s", later->message);
        g_propagate_error(error, g_steal_pointer(&first));
        return FALSE;
    }
    ok = confirm_success(drv, obj, cookie_in, flags, error);
    if (!ok) {
        /* the guest runs on the destination: never resume it here */
        migration_retire_qemu(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "migrated");
    }
    domain_job_end_async(obj, ok ? DOMAIN_JOB_STATUS_COMPLETED : DOMAIN_JOB_STATUS_FAILED);
    if (ok)
        qemu_driver_event_queue_job_completed(drv, obj);
    qemu_driver_remove_inactive(drv, obj);
    FLOG_INFO("domain '%s': migrated away", name);
    return ok;
}
