/*
 * finish.c: Finish3 on the destination.  Cancelled (Perform3 failed): the
 * incoming QEMU is killed and the domain goes.  Otherwise: waits for QEMU
 * to have loaded everything, makes the domain persistent when asked
 * (PERSIST_DEST, with persistent_xml or the source's definition), takes
 * the disk leases with the source's lock state, starts the CPUs unless
 * PAUSED, and frees the domain from the connection that prepared it.  Any
 * failure kills the incoming QEMU (the source then resumes in Confirm3).
 * Post-copy (postcopy.c): the CPUs start once QEMU has the device state,
 * then Finish3 waits for the rest; a failure after that keeps the guest,
 * paused.
 *
 * On disk, before the answer: the process file without autodestroy, then
 * one status write with the job ended.  A daemon that restarts before the
 * second finds the incoming job and kills the guest (the client got no
 * answer and resumes the source); after it, the guest is ours.  The
 * statistics of the source (cookie 3) become the completed job here.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.finish"

#include "driver/lock_manager.h"
#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

#define FINISH_POLL_MS 5

static gboolean cont_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    return qmp_cont(mon, error);
}

/* QEMU has loaded the whole guest, or (a POSTCOPY migration) the device
 * state of a post-copy migration: then *postcopy is set (obj locked,
 * MIGRATION_IN owned).  *postcopy is also set when post-copy had begun
 * and broke off: the caller must not kill the guest then. */
static gboolean finish_wait_incoming(DomainObj *obj, unsigned int flags, gboolean *postcopy,
                                     GError **error)
{
    const char *name = domain_obj_name(obj);
    gint64 deadline = g_get_monotonic_time() + (gint64)MIGRATION_FINISH_WAIT_MS * 1000;

    for (;;) {
        guint seen = domain_job_migration_events(obj);
        g_autoptr(json_object) q = migration_query(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, error);
        const char *status;

        if (!q)
            return FALSE;
        status = migration_query_status(q);
        if (g_str_equal(status, "completed"))
            return TRUE;
        if ((flags & MIGRATION_POSTCOPY) && g_str_has_prefix(status, "postcopy-"))
            *postcopy = TRUE;
        if (g_str_equal(status, "postcopy-active")) {
            gboolean loaded = FALSE;

            if (!migration_dst_postcopy_loaded(obj, &loaded, error))
                return FALSE;
            if (loaded)
                return TRUE;
        } else if (g_str_equal(status, "failed") || g_str_equal(status, "cancelled") ||
                   g_str_has_prefix(status, "postcopy-")) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': finish: the incoming migration %s", name, status);
            return FALSE;
        }
        if (g_get_monotonic_time() > deadline) {
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "domain '%s': finish: the incoming migration did not complete (%s)", name,
                       status);
            return FALSE;
        }
        /* QEMU's MIGRATION event (completed) ends the wait */
        migration_wait_event(obj, seen, FINISH_POLL_MS);
    }
}

/* PERSIST_DEST: the definition to keep (persistent_xml, the cookie's, or
 * the running one). */
static DomainDef *finish_persistent_def(DomainObj *obj, const TypedParams *params,
                                        MigrationCookie *cookie, GError **error)
{
    const char *name = domain_obj_name(obj);
    const char *xml = NULL;
    g_autoptr(GError) err = NULL;

    if (typed_params_get_string(params, MIGRATION_PARAM_PERSIST_XML, &xml, error) < 0)
        return NULL;
    if (!xml && cookie && cookie->persistent)
        xml = cookie->persistent;
    if (!xml)
        return domain_def_copy(obj->def);
    g_autoptr(DomainDef) def = domain_def_parse(xml, DOMAIN_PARSE_INACTIVE, &err);
    if (!def) {
        ferry_fail(error, FERRY_ERR_XML, "domain '%s': finish: persistent XML: %s", name,
                   err->message);
        return NULL;
    }
    if (memcmp(def->uuid, obj->def->uuid, FERRY_UUID_BUFLEN) != 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': finish: the persistent XML has another uuid", name);
        return NULL;
    }
    g_free(def->name);
    def->name = g_strdup(name);
    return g_steal_pointer(&def);
}

static gboolean finish_persist(QemuDriver *drv, DomainObj *obj, const TypedParams *params,
                               MigrationCookie *cookie, gboolean *made, GError **error)
{
    DomainDef *def = finish_persistent_def(obj, params, cookie, error);

    if (!def)
        return FALSE;
    if (obj->new_def)
        domain_def_free(obj->new_def);
    obj->new_def = def;
    *made = !obj->persistent;
    obj->persistent = TRUE;
    if (!domain_obj_save_config(obj, drv->config_dir, error)) {
        if (*made)
            obj->persistent = FALSE;
        *made = FALSE;
        return FALSE;
    }
    return TRUE;
}

/* Starts the CPUs unless PAUSED: the leases taken with the source's lock
 * state, then cont (obj locked, MIGRATION_IN owned). */
static gboolean finish_start_cpus(QemuDriver *drv, DomainObj *obj, MigrationCookie *cookie,
                                  unsigned int flags, const char *reason, GError **error)
{
    LockHandle *lock = qemu_process_get_lock(qemu_process_get(obj));
    gboolean ok;

    if (flags & MIGRATION_PAUSED) {
        /* a paused guest holds no leases here; resume takes them */
        qemu_driver_set_state(drv, obj, DOMAIN_STATE_PAUSED, "user");
        return TRUE;
    }
    if (lock && !lock_manager_acquire_cookie(lock, cookie, error))
        return FALSE;
    domain_job_expect_resume(obj, reason);
    ok = migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, cont_cb, NULL, error);
    if (ok)
        qemu_driver_set_state(drv, obj, DOMAIN_STATE_RUNNING, reason);
    domain_job_expect_resume(obj, NULL);
    return ok;
}

/* Everything up to a guest running here (obj locked, MIGRATION_IN owned).
 * *postcopy: post-copy had begun here (a failure must keep the guest). */
static gboolean finish_run(QemuDriver *drv, DomainObj *obj, const TypedParams *params,
                           MigrationCookie *cookie, unsigned int flags, gboolean *made_persistent,
                           gboolean *postcopy, GError **error)
{
    if (!finish_wait_incoming(obj, flags, postcopy, error))
        return FALSE;
    if (*postcopy) {
        /* the guest runs here from now on, whatever the client does */
        if (!qemu_process_clear_autodestroy(drv, obj, error) ||
            !finish_start_cpus(drv, obj, cookie, flags, "postcopy", error))
            return FALSE;
        migration_save_status(drv, obj);
        FLOG_INFO("domain '%s': post-copy: the guest %s here while the rest arrives",
                  domain_obj_name(obj), (flags & MIGRATION_PAUSED) ? "waits" : "runs");
        if (!migration_dst_postcopy_wait(obj, error))
            return FALSE;
    }
    if ((flags & MIGRATION_PERSIST_DEST) &&
        !finish_persist(drv, obj, params, cookie, made_persistent, error))
        return FALSE;
    if (!*postcopy && !finish_start_cpus(drv, obj, cookie, flags, "migrated", error))
        return FALSE;
    /* the status follows once the job ended (migration_dst_finish): until
     * then a restarted daemon finds the incoming job and kills the guest,
     * which is right while this Finish3 has not answered */
    return qemu_process_clear_autodestroy(drv, obj, error);
}

/* PERSIST_DEST made the domain persistent: undone. */
static void finish_unpersist(QemuDriver *drv, DomainObj *obj, gboolean made_persistent)
{
    g_autoptr(GError) err = NULL;

    if (!made_persistent)
        return;
    if (!domain_obj_delete_config(obj, drv->config_dir, &err))
        FLOG_WARN("domain '%s': %s", domain_obj_name(obj), err->message);
    obj->persistent = FALSE;
    g_clear_pointer(&obj->new_def, domain_def_free);
}

/* The job ended and the guest runs, but its status could not be written
 * (error set): a restarted daemon would find the incoming job and kill
 * the guest after the source let it go.  Before the answer, so undone
 * now: QEMU killed, Confirm3 (cancelled) resumes the source.  After
 * post-copy began nothing can be undone: kept, logged. */
static gboolean finish_unsaved(QemuDriver *drv, DomainObj *obj, gboolean postcopy,
                               gboolean made_persistent, GError **error)
{
    const char *name = domain_obj_name(obj);
    g_autoptr(GError) err = NULL;

    if (postcopy) {
        FLOG_ERROR("domain '%s': %s (post-copy: the guest stays)", name, (*error)->message);
        g_clear_error(error);
        return TRUE;
    }
    finish_unpersist(drv, obj, made_persistent);
    if (!domain_job_begin(obj, DOMAIN_JOB_DESTROY, "domainMigrateFinish3Params", &err))
        FLOG_WARN("domain '%s': stopping QEMU without a job: %s", name, err->message);
    migration_stop_qemu(drv, obj, DOMAIN_ASYNC_JOB_NONE, "failed");
    if (!err)
        domain_job_end(obj);
    qemu_driver_remove_inactive(drv, obj);
    return FALSE;
}

static GBytes *finish_cookie(QemuDriver *drv, DomainObj *obj, MigrationCookie *in, GError **error)
{
    g_autoptr(MigrationCookie) cookie =
        migration_cookie_new(drv, domain_obj_name(obj), obj->def->uuid, error);

    if (!cookie)
        return NULL;
    if (in && in->stats)
        *cookie_statistics(cookie) = *in->stats;
    return migration_cookie_bake(cookie, error);
}

/* How far the source's clock may be from ours for its start of the job
 * to count here (else the time is this side's own job's). */
#define FINISH_CLOCK_SKEW_MS (60 * 1000)

/* Cookie statistics to the job's progress (a later entry wins: data_*
 * over memory_*). */
static const struct {
    CookieStat stat;
    gsize offset;
} finish_stats[] = {
    { COOKIE_STAT_MEMORY_TOTAL, G_STRUCT_OFFSET(DomainJobProgress, data_total) },
    { COOKIE_STAT_DATA_TOTAL, G_STRUCT_OFFSET(DomainJobProgress, data_total) },
    { COOKIE_STAT_MEMORY_PROCESSED, G_STRUCT_OFFSET(DomainJobProgress, data_processed) },
    { COOKIE_STAT_DATA_PROCESSED, G_STRUCT_OFFSET(DomainJobProgress, data_processed) },
    { COOKIE_STAT_MEMORY_REMAINING, G_STRUCT_OFFSET(DomainJobProgress, data_remaining) },
    { COOKIE_STAT_DATA_REMAINING, G_STRUCT_OFFSET(DomainJobProgress, data_remaining) },
    { COOKIE_STAT_MEMORY_BPS, G_STRUCT_OFFSET(DomainJobProgress, mem_bps) },
    { COOKIE_STAT_MEMORY_DIRTY_RATE, G_STRUCT_OFFSET(DomainJobProgress, dirty_rate) },
    { COOKIE_STAT_MEMORY_ITERATION, G_STRUCT_OFFSET(DomainJobProgress, iteration) },
    { COOKIE_STAT_DOWNTIME, G_STRUCT_OFFSET(DomainJobProgress, downtime_ms) },
    { COOKIE_STAT_SETUP_TIME, G_STRUCT_OFFSET(DomainJobProgress, setup_time_ms) },
};

/* The completed job here (domjobinfo --completed on the destination,
 * ferry migrate's summary): the statistics the source measured (cookie 3),
 * timed from the source's start of the migration as libvirt does, when
 * the two clocks roughly agree (obj locked, after the job ended). */
static void finish_store_stats(DomainObj *obj, MigrationCookie *cookie)
{
    const CookieStatistics *st = cookie ? cookie->stats : NULL;
    DomainJobInfo info;
    DomainJobProgress p = { 0 };
    gint64 now = g_get_real_time() / 1000;
    gint64 started, elapsed;
    guint64 v = 0;

    if (!st)
        return;
    domain_job_get_info(obj, TRUE, &info);
    started = info.started_ms;
    elapsed = info.elapsed_ms;
    /* the source began before this side did (Begin3 comes before
     * Prepare3): not later, nor much earlier than the migration took */
    if (cookie_stats_get(st, COOKIE_STAT_STARTED, &v) && v <= (guint64)now &&
        now - (gint64)v >= info.elapsed_ms &&
        now - (gint64)v - info.elapsed_ms <= FINISH_CLOCK_SKEW_MS) {
        started = (gint64)v;
        elapsed = now - started;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(finish_stats); i++) {
        if (cookie_stats_get(st, finish_stats[i].stat, &v))
            G_STRUCT_MEMBER(unsigned long long, &p, finish_stats[i].offset) = v;
    }
    domain_job_set_completed_stats(obj, started, elapsed, &p);
}

/* The incoming domain's name: destination_name, else the cookie's. */
static char *finish_name(QemuDriver *drv, const TypedParams *params, GBytes *cookie_in,
                         GError **error)
{
    const char *dname = NULL;
    g_autoptr(MigrationCookie) cookie = NULL;

    if (typed_params_get_string(params, MIGRATION_PARAM_DEST_NAME, &dname, error) < 0)
        return NULL;
    if (dname)
        return g_strdup(dname);
    cookie = migration_cookie_eat(drv, NULL, "finish", cookie_in, FALSE, error);
    return cookie ? g_strdup(cookie->name) : NULL;
}

gboolean migration_dst_finish(QemuDriver *drv, guint64 conn_id, const TypedParams *params,
                              GBytes *cookie_in, unsigned int flags, gboolean cancelled,
                              DriverDomain *dom, GBytes **cookie_out, GError **error)
{
    g_autofree char *name = NULL;
    g_autoptr(DomainObjLocked) obj = NULL;
    g_autoptr(MigrationCookie) cookie = NULL;
    g_autoptr(GBytes) baked = NULL;
    gboolean made_persistent = FALSE;
    gboolean postcopy = FALSE;
    gboolean ok;

    if (!(name = finish_name(drv, params, cookie_in, error)))
        return FALSE;
    if (!migration_params_check(name, "finish", params, flags, error))
        return FALSE;
    if (flags & MIGRATION_OFFLINE)
        return migration_dst_finish_offline(drv, params, cookie_in, flags, cancelled, dom,
                                            cookie_out, error);
    obj = domain_list_find_by_name(drv->domains, name, DOMAIN_LOOKUP_LOCKED,
                                   cancelled ? NULL : error);
    if (!obj) {
        /* QEMU ends by itself when its incoming migration fails */
        if (cancelled)
            ferry_fail(error, FERRY_ERR_OPERATION_ABORTED,
                       "domain '%s': finish: the migration was cancelled; the incoming guest is "
                       "gone",
                       name);
        return FALSE;
    }
    if (!domain_job_async_resume(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, "domainMigrateFinish3Params",
                                 error))
        return FALSE;

    if (cancelled) {
        (void)migration_set_phase(drv, obj, DOMAIN_MIGRATION_PHASE_FINISH3, NULL);
        migration_stop_qemu(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, "failed");
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_CANCELED);
        qemu_driver_remove_inactive(drv, obj);
        FLOG_INFO("domain '%s': incoming migration cancelled", name);
        ferry_fail(error, FERRY_ERR_OPERATION_ABORTED,
                   "domain '%s': finish: the migration was cancelled; the incoming guest was "
                   "stopped",
                   name);
        return FALSE;
    }

    /* the phase in memory only: the incoming job on disk is what a
     * restarted daemon acts on (it kills the guest), whatever its phase */
    ok = domain_job_set_phase(obj, DOMAIN_MIGRATION_PHASE_FINISH3, error) &&
         (cookie = migration_cookie_eat(drv, name, "finish", cookie_in, FALSE, error)) &&
         finish_run(drv, obj, params, cookie, flags, &made_persistent, &postcopy, error) &&
         (baked = finish_cookie(drv, obj, cookie, error));
    if (!ok) {
        finish_unpersist(drv, obj, made_persistent);
        if (postcopy) {
            /* never undone: the guest stays here, paused (postcopy.c) */
            migration_dst_postcopy_failed(drv, obj, error);
            domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);
            migration_save_status(drv, obj);
            return FALSE;
        }
        migration_stop_qemu(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, "failed");
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);
        qemu_driver_remove_inactive(drv, obj);
        return FALSE;
    }
    domain_job_end_async(obj, DOMAIN_JOB_STATUS_COMPLETED);
    finish_store_stats(obj, cookie);
    /* one write: running, no job, no autodestroy (process file) */
    if (!domain_obj_save_status(obj, drv->state_dir, error) &&
        !finish_unsaved(drv, obj, postcopy, made_persistent, error))
        return FALSE;
    FLOG_INFO("domain '%s': incoming migration finished (%s)", name,
              (flags & MIGRATION_PAUSED) ? "paused" : "running");
    qemu_driver_event_queue_job_completed(drv, obj);
    g_free(dom->name);
    dom->name = g_strdup(name);
    memcpy(dom->uuid, obj->def->uuid, FERRY_UUID_BUFLEN);
    dom->id = domain_obj_get_id(obj);
    *cookie_out = g_steal_pointer(&baked);
    return TRUE;
}
