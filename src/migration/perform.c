/*
 * perform.c: Perform3 on the source.  Refuses a migration that needs a
 * capability cookie 2 says the destination's QEMU lacks, sets the
 * source's capabilities and parameters (params.c), tells SPICE where its
 * viewers follow the guest (graphics.c), starts `migrate` to the
 * destination's URI (over a connection ferry opens itself for tcp:,
 * connect.c) and
 * follows it with query-migrate (progress for domjobinfo, an abort through
 * migrate_cancel), releases the disk leases at the switchover (QEMU pauses
 * before it: pause-before-switchover), and answers cookie 3 with the
 * statistics.  On failure the migration is cancelled, the leases taken
 * again, the guest resumed if it ran, and the job ends here (libvirt's
 * clients skip Confirm3 after a failed Perform3).
 *
 * Suspend and resume work during the migration (a SUSPEND job, see
 * domain_job.h): a guest paused by the user converges (what virsh migrate
 * --timeout-suspend relies on).  From the switchover on (QEMU stopped
 * the CPUs before its last pass) resuming is refused until the job ends.
 * A guest the user paused during the migration stays paused if the
 * migration fails or is aborted; one that only the migration paused runs
 * on.
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
#include "util/fd.h"
#include "util/log.h"

/* Polling query-migrate: from PERFORM_POLL_MIN_MS, doubling up to
 * PERFORM_POLL_MAX_MS (an abort or a job change wakes the wait early).
 * With QEMU's MIGRATION events (the "events" capability, params.c) a
 * status change wakes the wait at once, so query-migrate only refreshes
 * the statistics, up to every PERFORM_POLL_EVENTS_MS. */
#define PERFORM_POLL_MIN_MS 2
#define PERFORM_POLL_MAX_MS 10
#define PERFORM_POLL_EVENTS_MS 100
/* Bound on waiting for a cancelled migration to end in QEMU. */
#define PERFORM_CANCEL_WAIT_MS 30000

static gboolean migrate_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    return qmp_migrate(mon, opaque, error);
}

#define PERFORM_FD_NAME "migrate"

/* The connection ferry made goes to QEMU as fd "migrate", then migrate
 * "fd:migrate" (QEMU takes the fd over; after a failed migrate it is
 * dropped). */
static gboolean migrate_fd_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    int fd = GPOINTER_TO_INT(opaque);

    if (!qmp_getfd(mon, fd, PERFORM_FD_NAME, error))
        return FALSE;
    if (qmp_migrate(mon, "fd:" PERFORM_FD_NAME, error))
        return TRUE;
    (void)qmp_closefd(mon, PERFORM_FD_NAME, NULL);
    return FALSE;
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

/* *(char **)opaque: QEMU's run state ("finish-migrate", "postmigrate"...). */
static gboolean runstate_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    gboolean running = FALSE;

    return qmp_query_status(mon, &running, opaque, error);
}

/* The CPUs are stopped (a user's resume may have raced with QEMU's stop
 * at the switchover: then they are stopped again); *(gboolean *)opaque
 * says whether they ran. */
static gboolean keep_stopped_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    gboolean *was_running = opaque;

    if (!qmp_query_status(mon, was_running, NULL, error))
        return FALSE;
    return !*was_running || qmp_stop(mon, error);
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

/* Post-copy's stream broke: QEMU waits for a recovery ferry does not do. */
static gboolean status_is_postcopy_broken(const char *status)
{
    return g_str_equal(status, "postcopy-paused") || g_str_equal(status, "postcopy-recover");
}

typedef struct {
    int interval_ms;
    int max_ms;
    guint events; /* MIGRATION events seen when the last query began */
} PerformPoll;

static void perform_poll_init(QemuDriver *drv, DomainObj *obj, PerformPoll *p)
{
    g_autoptr(QemuCaps) caps = migration_get_caps(drv, obj, NULL);

    p->interval_ms = PERFORM_POLL_MIN_MS;
    p->max_ms = caps && qemu_caps_has_migration_capability(caps, "events") ? PERFORM_POLL_EVENTS_MS
                                                                           : PERFORM_POLL_MAX_MS;
    p->events = domain_job_migration_events(obj);
}

/* Before a query-migrate (obj locked). */
static void perform_poll_mark(DomainObj *obj, PerformPoll *p)
{
    p->events = domain_job_migration_events(obj);
}

/* Until the next query: no wait when QEMU reported a status change since
 * the last one began (it came while we were in the monitor). */
static void perform_wait(DomainObj *obj, PerformPoll *p)
{
    gint64 until = g_get_monotonic_time() + (gint64)p->interval_ms * 1000;

    if (domain_job_migration_events(obj) == p->events)
        g_cond_wait_until(&obj->job_cond, &obj->lock, until);
    p->interval_ms = MIN(p->interval_ms * 2, p->max_ms);
}

/* QEMU reports a migration completed a moment before its run state leaves
 * "finish-migrate", and refuses `cont` until it has ("Migration is not
 * finalized yet"): a Confirm3 cancelled right after Perform3 can come in
 * between.  Waits for that moment (obj locked, the job owned). */
static void perform_wait_finalized(DomainObj *obj, gint64 deadline)
{
    PerformPoll poll = { .interval_ms = PERFORM_POLL_MIN_MS, .max_ms = PERFORM_POLL_MAX_MS };

    for (;;) {
        g_autofree char *state = NULL;
        g_autoptr(GError) err = NULL;

        if (!migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, runstate_cb, &state,
                                   &err) ||
            !state || !g_str_equal(state, "finish-migrate") || g_get_monotonic_time() > deadline ||
            !domain_obj_is_active(obj))
            return;
        poll.events = domain_job_migration_events(obj);
        perform_wait(obj, &poll);
    }
}

/* Rollback of a guest that stays paused (obj locked, the job owned). */
static void perform_keep_paused(QemuDriver *drv, DomainObj *obj, GError **error)
{
    const char *name = domain_obj_name(obj);
    LockHandle *lock = qemu_process_get_lock(qemu_process_get(obj));
    gboolean running = FALSE;
    g_autoptr(GError) err = NULL;

    if (!migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, keep_stopped_cb, &running,
                               &err)) {
        ferry_error_keep_first(error, g_steal_pointer(&err));
        return;
    }
    if (running || domain_obj_get_state(obj, NULL) == DOMAIN_STATE_RUNNING)
        qemu_driver_set_state(drv, obj, DOMAIN_STATE_PAUSED, "user");
    if (lock && !lock_manager_release(lock, &err))
        FLOG_WARN("domain '%s': %s", name, err->message);
    migration_save_status(drv, obj);
    FLOG_INFO("domain '%s': migration cancelled, the guest stays paused", name);
}

void migration_src_rollback(QemuDriver *drv, DomainObj *obj, GError **error)
{
    const char *name = domain_obj_name(obj);
    LockHandle *lock;
    g_autoptr(GError) err = NULL;
    PerformPoll poll;
    gint64 deadline = g_get_monotonic_time() + (gint64)PERFORM_CANCEL_WAIT_MS * 1000;

    if (!domain_obj_is_active(obj))
        return;
    if (migration_postcopy_begun(obj)) {
        /* the destination may have run the guest: nothing to undo */
        migration_src_postcopy_failed(drv, obj, error);
        return;
    }
    /* the migration in QEMU ends first */
    perform_poll_init(drv, obj, &poll);
    for (;;) {
        g_autoptr(json_object) q = NULL;
        const char *status;

        perform_poll_mark(obj, &poll);
        q = migration_query(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &err);
        status = migration_query_status(q);

        if (!q || !(status_is_active(status) || status_is_postcopy_broken(status)))
            break;
        if (!g_str_equal(status, "cancelling") &&
            !migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, cancel_cb, NULL, &err))
            break;
        if (g_get_monotonic_time() > deadline) {
            ferry_fail(&err, FERRY_ERR_OPERATION_TIMEOUT,
                       "domain '%s': the cancelled migration did not end in QEMU", name);
            break;
        }
        perform_wait(obj, &poll);
    }
    if (err)
        ferry_error_keep_first(error, g_steal_pointer(&err));
    if (!domain_obj_is_active(obj))
        return;
    /* QEMU migrates no more: the user may resume the guest again */
    domain_job_refuse_resume(obj, NULL);
    if (!(obj->job.flags & MIGRATION_JOB_SRC_WAS_RUNNING)) {
        /* paused before the migration, or by the user during it: it stays
         * paused, without leases, as after any suspend (QEMU restarts the
         * CPUs of a cancelled migration that stopped a running guest,
         * even when the user paused it meanwhile) */
        perform_keep_paused(drv, obj, error);
        return;
    }
    lock = qemu_process_get_lock(qemu_process_get(obj));
    if (lock && !lock_manager_acquire(lock, NULL, NULL, &err)) {
        /* someone took the disks: the guest must not run here */
        ferry_error_keep_first(error, g_steal_pointer(&err));
        return;
    }
    if (domain_obj_get_state(obj, NULL) == DOMAIN_STATE_RUNNING)
        return;
    perform_wait_finalized(obj, deadline);
    if (!domain_obj_is_active(obj))
        return;
    domain_job_expect_resume(obj, "migration-canceled");
    if (!migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, cont_cb, NULL, &err)) {
        domain_job_expect_resume(obj, NULL);
        ferry_error_keep_first(error, g_steal_pointer(&err));
        return;
    }
    qemu_driver_set_state(drv, obj, DOMAIN_STATE_RUNNING, "migration-canceled");
    domain_job_expect_resume(obj, NULL);
    migration_save_status(drv, obj);
    FLOG_INFO("domain '%s': migration cancelled, the guest runs on here", name);
}

/* QEMU stopped the guest before the switchover (pre-switchover): it stays
 * stopped (nobody resumes it from here on; a resume that raced with
 * QEMU's stop is undone), the disks go before the destination may take
 * them, and QEMU goes on (obj locked, the job owned).  user_runs: the
 * user's suspends and resumes before `migrate` (qemu_process_user_runs);
 * none since means QEMU's stop stands, and no query-status is needed to
 * know it. */
static gboolean perform_switchover(DomainObj *obj, LockHandle *lock, guint user_runs,
                                   GError **error)
{
    gboolean ran = FALSE;

    domain_job_refuse_resume(obj, "the migration is switching over to the destination");
    if (qemu_process_user_runs(qemu_process_get(obj)) != user_runs &&
        !migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, keep_stopped_cb, &ran, error))
        return FALSE;
    if (ran)
        FLOG_WARN("domain '%s': resumed during the switchover; stopped again",
                  domain_obj_name(obj));
    if (lock && !lock_manager_release(lock, error))
        return FALSE;
    return migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, continue_cb, NULL, error);
}

/* Follows the migration to its end; TRUE when QEMU completed it, or (a
 * POSTCOPY migration) switched to post-copy: then *postcopy is set.  *last
 * gets the last query-migrate answer. */
static gboolean perform_follow(QemuDriver *drv, DomainObj *obj, guint user_runs, json_object **last,
                               gboolean *postcopy, GError **error)
{
    const char *name = domain_obj_name(obj);
    LockHandle *lock = qemu_process_get_lock(qemu_process_get(obj));
    PerformPoll poll;
    gboolean cancel_sent = FALSE;
    gboolean continue_sent = FALSE;

    perform_poll_init(drv, obj, &poll);
    for (;;) {
        json_object *q;

        /* an abort that came before QEMU's migration started */
        if (domain_job_abort_requested(obj) && !cancel_sent) {
            cancel_sent = TRUE;
            if (!migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, cancel_cb, NULL, error))
                return FALSE;
        }
        /* QEMU's event said pre-switchover (since the last query): the
         * guest waits, stopped, for the switchover; no query first */
        if (!continue_sent && domain_job_migration_events(obj) != poll.events &&
            domain_job_migration_status(obj) &&
            g_str_equal(domain_job_migration_status(obj), "pre-switchover")) {
            FLOG_DEBUG("domain '%s': pre-switchover (QEMU's event)", name);
            if (!perform_switchover(obj, lock, user_runs, error))
                return FALSE;
            continue_sent = TRUE;
            poll.interval_ms = PERFORM_POLL_MIN_MS;
            perform_poll_mark(obj, &poll);
            continue;
        }
        perform_poll_mark(obj, &poll);
        q = migration_query(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, error);
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
        if (g_str_equal(status, "postcopy-active") && (obj->job.flags & MIGRATION_POSTCOPY)) {
            /* past the switchover (handled below): the destination takes
             * over in Finish3 */
            *postcopy = TRUE;
            return TRUE;
        }
        if (status_is_postcopy_broken(status)) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': migration failed: the post-copy stream broke (%s)", name,
                       status);
            return FALSE;
        }
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
        /* QEMU leaves pre-switchover a little after migrate-continue:
         * one continue, then wait */
        if (g_str_equal(status, "pre-switchover") && !continue_sent) {
            if (!perform_switchover(obj, lock, user_runs, error))
                return FALSE;
            continue_sent = TRUE;
            poll.interval_ms = PERFORM_POLL_MIN_MS;
            continue;
        }
        perform_wait(obj, &poll);
    }
}

/* Starts QEMU's migration to uri (obj locked, the job owned): over a
 * connection ferry opens itself for a tcp: URI without multifd
 * (connect.c), else QEMU connects. */
static gboolean perform_start(DomainObj *obj, const char *uri, unsigned int flags, GError **error)
{
    const char *name = domain_obj_name(obj);
    g_autofree char *host = NULL;
    g_autofree char *where = NULL;
    g_auto(FerryFd) fd = -1;
    int port = 0;
    gboolean ok;

    if (!migration_uri_ferry_connects(uri, flags))
        return migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, migrate_cb, (gpointer)uri,
                                     error);
    if (!migration_parse_tcp_uri(name, "perform", uri, &host, &port, error))
        return FALSE;
    if (!port) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': perform: migration URI '%s' has no port", name, uri);
        return FALSE;
    }
    where = migration_format_hostport(host, port);
    domain_obj_enter_remote(obj);
    fd = migration_connect(name, host, port, MIGRATION_CONNECT_TIMEOUT_MS, error);
    ok = domain_obj_exit_remote(obj, fd >= 0 ? error : NULL) && fd >= 0;
    if (!ok)
        return FALSE;
    if (domain_job_abort_requested(obj)) {
        ferry_fail(error, FERRY_ERR_OPERATION_ABORTED, "domain '%s': migration aborted by the user",
                   name);
        return FALSE;
    }
    if (!migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, migrate_fd_cb,
                               GINT_TO_POINTER(fd), error))
        return FALSE;
    FLOG_INFO("domain '%s': migrating to %s over ferry's own connection (fd:%s)", name, where,
              PERFORM_FD_NAME);
    return TRUE;
}

/* Without pause-before-switchover QEMU stops the CPUs and completes on
 * its own: a user's resume could then run the guest on both hosts, so it
 * is refused for the whole migration. */
static void perform_guard_resume(QemuDriver *drv, DomainObj *obj)
{
    g_autoptr(QemuCaps) caps = migration_get_caps(drv, obj, NULL);

    if (!caps || !qemu_caps_has_migration_capability(caps, "pause-before-switchover"))
        domain_job_refuse_resume(obj, "this QEMU cannot pause before the migration's switchover");
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

/* What Perform3 needs before QEMU migrates (obj locked, job owned):
 * *cookie_out gets cookie 2 (NULL when the client passed none). */
static gboolean perform_check(QemuDriver *drv, DomainObj *obj, const TypedParams *params,
                              GBytes *cookie_in, unsigned int flags, const char **uri,
                              MigrationCookie **cookie_out, GError **error)
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
    if (cookie && !migration_params_check_peer_caps(name, cookie, params, flags, error))
        return FALSE;
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
    /* who the destination is: Confirm3 asks whether it shares our leases */
    domain_job_set_peer_host(obj, cookie ? cookie->hostuuid : NULL);
    *cookie_out = g_steal_pointer(&cookie);
    return TRUE;
}

gboolean migration_src_perform(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                               const char *dconnuri, const TypedParams *params, GBytes *cookie_in,
                               unsigned int flags, GBytes **cookie_out, GError **error)
{
    g_autoptr(DomainObjLocked) obj = migration_find(drv, dom->uuid, error);
    g_autoptr(json_object) last = NULL;
    g_autoptr(GBytes) baked = NULL;
    g_autoptr(MigrationCookie) cookie2 = NULL;
    const char *uri = NULL;
    const char *name;
    gboolean postcopy = FALSE;
    guint user_runs;
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

    ok = perform_check(drv, obj, params, cookie_in, flags, &uri, &cookie2, error);
    if (!ok) {
        migration_owner_remove(drv, obj->def->uuid);
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);
        migration_save_status(drv, obj);
        return FALSE;
    }

    domain_job_set_abort_hook(obj, perform_abort_hook, NULL);
    perform_guard_resume(drv, obj);
    user_runs = qemu_process_user_runs(qemu_process_get(obj));
    ok = migration_params_apply(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, params, flags,
                                MIGRATION_SIDE_SRC, error) &&
         migration_src_graphics_relocate(obj, cookie2) && perform_start(obj, uri, flags, error) &&
         perform_follow(drv, obj, user_runs, &last, &postcopy, error);
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
    if (postcopy)
        migration_src_postcopy_switched(drv, obj);
    else
        FLOG_INFO("domain '%s': migration to %s completed", name, uri);
    domain_job_async_continue(obj);
    *cookie_out = g_steal_pointer(&baked);
    return TRUE;
}
