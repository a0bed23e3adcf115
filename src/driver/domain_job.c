/*
 * domain_job.c: sync and async jobs on a domain object, the migration
 * phase, job info, abort, and entering the monitor.  The model and its rules
 * are in domain_job.h.
 */
#include <config.h>

#include <string.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "driver.job"

#include "util/error.h"
#include "util/log.h"
#include "driver/domain_job.h"
#include "driver/domain_obj.h"

static const char *const domain_job_names[] = {
    "none", "query", "destroy", "modify", "abort", "migration-op", "suspend", "async-nested",
};
G_STATIC_ASSERT(G_N_ELEMENTS(domain_job_names) == DOMAIN_JOB_LAST);

static const char *const domain_job_status_names[] = {
    "none", "active", "completed", "failed", "canceled",
};
G_STATIC_ASSERT(G_N_ELEMENTS(domain_job_status_names) == DOMAIN_JOB_STATUS_LAST);

/* Sync jobs must fit in the mask's bits. */
G_STATIC_ASSERT(DOMAIN_JOB_LAST <= 32);

const char *domain_job_to_string(DomainJob job)
{
    if ((int)job < 0 || job >= DOMAIN_JOB_LAST)
        return "unknown";
    return domain_job_names[job];
}

const char *domain_job_status_to_string(DomainJobStatus status)
{
    if ((int)status < 0 || status >= DOMAIN_JOB_STATUS_LAST)
        return "unknown";
    return domain_job_status_names[status];
}

static const char *async_name(DomainAsyncJob job)
{
    const char *name = domain_async_job_to_string(job);

    return name ? name : "unknown";
}

static const char *phase_name(DomainMigrationPhase phase)
{
    const char *name = domain_migration_phase_to_string(phase);

    return name ? name : "unknown";
}

static gint domain_job_wait_timeout_ms = DOMAIN_JOB_WAIT_TIMEOUT_DEFAULT_MS;

void domain_job_set_wait_timeout(unsigned int timeout_ms)
{
    g_atomic_int_set(&domain_job_wait_timeout_ms, (gint)MIN(timeout_ms, (unsigned int)G_MAXINT));
}

unsigned int domain_job_get_wait_timeout(void)
{
    return (unsigned int)g_atomic_int_get(&domain_job_wait_timeout_ms);
}

pid_t domain_job_self(void)
{
    return gettid();
}

/* Monitor sections the calling thread is in. */
static _Thread_local unsigned int domain_job_thread_monitor;

gboolean domain_job_thread_in_monitor(void)
{
    return domain_job_thread_monitor > 0;
}

/* Which sync jobs may start while an async job of this type runs. */
static unsigned int domain_job_async_default_mask(DomainAsyncJob job)
{
    switch (job) {
    case DOMAIN_ASYNC_JOB_MIGRATION_OUT:
        return DOMAIN_JOB_DEFAULT_MASK | DOMAIN_JOB_MASK(DOMAIN_JOB_ABORT) |
               DOMAIN_JOB_MASK(DOMAIN_JOB_MIGRATION_OP) | DOMAIN_JOB_MASK(DOMAIN_JOB_SUSPEND);
    case DOMAIN_ASYNC_JOB_MIGRATION_IN:
        return DOMAIN_JOB_DEFAULT_MASK | DOMAIN_JOB_MASK(DOMAIN_JOB_ABORT) |
               DOMAIN_JOB_MASK(DOMAIN_JOB_MIGRATION_OP);
    case DOMAIN_ASYNC_JOB_SAVE:
        return DOMAIN_JOB_DEFAULT_MASK | DOMAIN_JOB_MASK(DOMAIN_JOB_ABORT);
    case DOMAIN_ASYNC_JOB_RESTORE:
    case DOMAIN_ASYNC_JOB_NONE:
    case DOMAIN_ASYNC_JOB_LAST:
        break;
    }
    return DOMAIN_JOB_DEFAULT_MASK;
}

static double seconds_since(gint64 monotonic_us)
{
    return (double)(g_get_monotonic_time() - monotonic_us) / G_TIME_SPAN_SECOND;
}

/* TRUE when a job of this kind (sync job, or async when async is set)
 * cannot start now. */
static gboolean domain_job_blocked(DomainObj *obj, DomainJob job, DomainAsyncJob async)
{
    DomainJobObj *j = &obj->job;

    if (async != DOMAIN_ASYNC_JOB_NONE)
        return j->async_job != DOMAIN_ASYNC_JOB_NONE || j->active != DOMAIN_JOB_NONE;
    if (j->active != DOMAIN_JOB_NONE)
        return TRUE;
    if (job == DOMAIN_JOB_ASYNC_NESTED)
        return FALSE; /* the caller owns the async job */
    return j->async_job != DOMAIN_ASYNC_JOB_NONE && !(j->mask & DOMAIN_JOB_MASK(job));
}

/* "X / job 'query' owner thread 12 for 1.2 s" for what keeps the job from
 * starting: the async job when its mask refuses, the sync job when one runs. */
static char *domain_job_describe_holder(DomainObj *obj, DomainJob job, DomainAsyncJob async)
{
    DomainJobObj *j = &obj->job;
    g_autoptr(GString) out = g_string_new(NULL);
    gboolean async_blocks = j->async_job != DOMAIN_ASYNC_JOB_NONE &&
                            (async != DOMAIN_ASYNC_JOB_NONE ||
                             (job != DOMAIN_JOB_ASYNC_NESTED && !(j->mask & DOMAIN_JOB_MASK(job))));

    if (async_blocks) {
        g_string_append_printf(out, "%s / async job '%s'",
                               j->async_owner_api ? j->async_owner_api : "unknown",
                               async_name(j->async_job));
        if (j->phase != DOMAIN_MIGRATION_PHASE_NONE)
            g_string_append_printf(out, " phase '%s'", phase_name(j->phase));
        if (j->async_owner)
            g_string_append_printf(out, " owner thread %d", (int)j->async_owner);
        else
            g_string_append(out, " (between calls)");
        g_string_append_printf(out, " for %.1f s", seconds_since(j->async_started));
    }
    if (j->active != DOMAIN_JOB_NONE) {
        if (out->len)
            g_string_append(out, "; ");
        g_string_append_printf(out, "%s / job '%s' owner thread %d for %.1f s",
                               j->owner_api ? j->owner_api : "unknown",
                               domain_job_to_string(j->active), (int)j->owner,
                               seconds_since(j->started));
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Waits (object lock released) until the job may start, then takes it. */
static gboolean domain_job_begin_internal(DomainObj *obj, DomainJob job, DomainAsyncJob async,
                                          const char *api, unsigned long long flags,
                                          unsigned int timeout_ms, GError **error)
{
    DomainJobObj *j = &obj->job;
    const char *what =
        async != DOMAIN_ASYNC_JOB_NONE ? async_name(async) : domain_job_to_string(job);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
    gboolean timed_out = FALSE;

    while (!obj->removed && domain_job_blocked(obj, job, async)) {
        if (timed_out) {
            g_autofree char *holder = domain_job_describe_holder(obj, job, async);

            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "domain '%s': cannot acquire state change lock for job '%s' (held by %s)",
                       obj->def->name, what, holder);
            return FALSE;
        }
        obj->job.waiters++;
        if (!g_cond_wait_until(&obj->job_cond, &obj->lock, deadline))
            timed_out = TRUE;
        obj->job.waiters--;
    }
    if (obj->removed) {
        ferry_fail(error, FERRY_ERR_NO_DOMAIN, "domain '%s' went away while waiting for job '%s'",
                   obj->def->name, what);
        return FALSE;
    }

    if (async != DOMAIN_ASYNC_JOB_NONE) {
        j->async_job = async;
        j->async_owner = domain_job_self();
        g_free(j->async_owner_api);
        j->async_owner_api = g_strdup(api ? api : "unknown");
        j->async_started = g_get_monotonic_time();
        j->async_started_real = g_get_real_time();
        j->mask = domain_job_async_default_mask(async);
        j->phase = DOMAIN_MIGRATION_PHASE_NONE;
        j->flags = flags;
        memset(&j->progress, 0, sizeof(j->progress));
        j->abort_requested = FALSE;
        j->resume_refused = NULL;
        j->abort_hook = NULL;
        j->abort_opaque = NULL;
        j->have_peer_host = FALSE;
    } else {
        j->active = job;
        j->owner = domain_job_self();
        g_free(j->owner_api);
        j->owner_api = g_strdup(api ? api : "unknown");
        j->started = g_get_monotonic_time();
    }
    FLOG_DEBUG("domain '%s': %sjob '%s' begun by %s (thread %d)", obj->def->name,
               async != DOMAIN_ASYNC_JOB_NONE ? "async " : "", what, api ? api : "unknown",
               (int)domain_job_self());
    return TRUE;
}

gboolean domain_job_begin_full(DomainObj *obj, DomainJob job, const char *api,
                               unsigned int timeout_ms, GError **error)
{
    if (job <= DOMAIN_JOB_NONE || job >= DOMAIN_JOB_LAST || job == DOMAIN_JOB_ASYNC_NESTED) {
        ferry_fail(error, FERRY_ERR_INTERNAL,
                   "domain '%s': job '%s' cannot be begun with domain_job_begin", obj->def->name,
                   domain_job_to_string(job));
        return FALSE;
    }
    return domain_job_begin_internal(obj, job, DOMAIN_ASYNC_JOB_NONE, api, 0, timeout_ms, error);
}

gboolean domain_job_begin(DomainObj *obj, DomainJob job, const char *api, GError **error)
{
    return domain_job_begin_full(obj, job, api, domain_job_get_wait_timeout(), error);
}

void domain_job_end(DomainObj *obj)
{
    DomainJobObj *j = &obj->job;
    pid_t self = domain_job_self();

    if (j->active == DOMAIN_JOB_NONE) {
        g_critical("domain '%s': ending a job while none is active", obj->def->name);
        return;
    }
    if (j->owner != self)
        FLOG_WARN("domain '%s': job '%s' of thread %d (%s) ended by thread %d", obj->def->name,
                  domain_job_to_string(j->active), (int)j->owner, j->owner_api, (int)self);
    FLOG_DEBUG("domain '%s': job '%s' of %s ended after %.3f s", obj->def->name,
               domain_job_to_string(j->active), j->owner_api, seconds_since(j->started));
    j->active = DOMAIN_JOB_NONE;
    j->owner = 0;
    g_clear_pointer(&j->owner_api, g_free);
    j->started = 0;
    g_cond_broadcast(&obj->job_cond);
}

gboolean domain_job_begin_async(DomainObj *obj, DomainAsyncJob job, const char *api,
                                unsigned long long flags, GError **error)
{
    if (job <= DOMAIN_ASYNC_JOB_NONE || job >= DOMAIN_ASYNC_JOB_LAST) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "domain '%s': no async job of type %d",
                   obj->def->name, (int)job);
        return FALSE;
    }
    return domain_job_begin_internal(obj, DOMAIN_JOB_NONE, job, api, flags,
                                     domain_job_get_wait_timeout(), error);
}

/* The running async job's info (locked). */
static void domain_job_fill_info(DomainObj *obj, DomainJobStatus status, DomainJobInfo *info)
{
    DomainJobObj *j = &obj->job;

    info->type = j->async_job;
    info->phase = j->phase;
    info->status = status;
    info->started_ms = j->async_started_real / 1000;
    info->elapsed_ms = (g_get_monotonic_time() - j->async_started) / 1000;
    info->flags = j->flags;
    info->progress = j->progress;
}

void domain_job_end_async(DomainObj *obj, DomainJobStatus status)
{
    DomainJobObj *j = &obj->job;
    pid_t self = domain_job_self();

    if (j->async_job == DOMAIN_ASYNC_JOB_NONE) {
        g_critical("domain '%s': ending an async job while none is active", obj->def->name);
        return;
    }
    if (j->async_owner != self && j->async_owner != 0)
        FLOG_WARN("domain '%s': async job '%s' of thread %d (%s) ended by thread %d",
                  obj->def->name, async_name(j->async_job), (int)j->async_owner, j->async_owner_api,
                  (int)self);
    domain_job_fill_info(obj, status, &j->completed);
    j->have_completed = TRUE;
    FLOG_DEBUG("domain '%s': async job '%s' of %s ended (%s) after %.3f s", obj->def->name,
               async_name(j->async_job), j->async_owner_api, domain_job_status_to_string(status),
               seconds_since(j->async_started));

    j->async_job = DOMAIN_ASYNC_JOB_NONE;
    j->async_owner = 0;
    g_clear_pointer(&j->async_owner_api, g_free);
    j->async_started = 0;
    j->async_started_real = 0;
    j->mask = DOMAIN_JOB_DEFAULT_MASK;
    j->phase = DOMAIN_MIGRATION_PHASE_NONE;
    j->flags = 0;
    memset(&j->progress, 0, sizeof(j->progress));
    j->abort_requested = FALSE;
    j->resume_refused = NULL;
    j->abort_hook = NULL;
    j->abort_opaque = NULL;
    j->have_peer_host = FALSE;
    g_cond_broadcast(&obj->job_cond);
}

void domain_job_set_completed_stats(DomainObj *obj, gint64 started_ms, gint64 elapsed_ms,
                                    const DomainJobProgress *progress)
{
    DomainJobObj *j = &obj->job;

    if (!j->have_completed)
        return;
    j->completed.started_ms = started_ms;
    j->completed.elapsed_ms = elapsed_ms;
    j->completed.progress = *progress;
}

gboolean domain_job_begin_nested(DomainObj *obj, DomainAsyncJob async_job, GError **error)
{
    DomainJobObj *j = &obj->job;
    pid_t self = domain_job_self();

    if (j->async_job == DOMAIN_ASYNC_JOB_NONE || j->async_job != async_job) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': a nested job needs a running '%s' job (running: '%s')",
                   obj->def->name, async_name(async_job), async_name(j->async_job));
        return FALSE;
    }
    if (j->async_owner != self) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': only the owner of async job '%s' may take a nested job "
                   "(owner thread %d, caller thread %d)",
                   obj->def->name, async_name(j->async_job), (int)j->async_owner, (int)self);
        return FALSE;
    }
    return domain_job_begin_internal(obj, DOMAIN_JOB_ASYNC_NESTED, DOMAIN_ASYNC_JOB_NONE,
                                     j->async_owner_api, 0, domain_job_get_wait_timeout(), error);
}

void domain_job_async_continue(DomainObj *obj)
{
    DomainJobObj *j = &obj->job;

    if (j->async_job == DOMAIN_ASYNC_JOB_NONE) {
        g_critical("domain '%s': no async job to continue", obj->def->name);
        return;
    }
    if (j->async_owner != domain_job_self())
        FLOG_WARN("domain '%s': async job '%s' of thread %d released by thread %d", obj->def->name,
                  async_name(j->async_job), (int)j->async_owner, (int)domain_job_self());
    j->async_owner = 0;
}

gboolean domain_job_async_resume(DomainObj *obj, DomainAsyncJob async_job, const char *api,
                                 GError **error)
{
    DomainJobObj *j = &obj->job;
    pid_t self = domain_job_self();

    if (j->async_job != async_job || async_job == DOMAIN_ASYNC_JOB_NONE) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s' has no '%s' job",
                   obj->def->name, async_name(async_job));
        return FALSE;
    }
    if (j->async_owner != 0 && j->async_owner != self) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': async job '%s' is in use by %s (thread %d)", obj->def->name,
                   async_name(async_job), j->async_owner_api, (int)j->async_owner);
        return FALSE;
    }
    j->async_owner = self;
    g_free(j->async_owner_api);
    j->async_owner_api = g_strdup(api ? api : "unknown");
    return TRUE;
}

void domain_job_restore_async(DomainObj *obj, DomainAsyncJob job, DomainMigrationPhase phase,
                              unsigned long long flags)
{
    DomainJobObj *j = &obj->job;

    j->async_job = job;
    j->async_owner = 0;
    g_free(j->async_owner_api);
    j->async_owner_api = g_strdup("restored from status");
    j->async_started = g_get_monotonic_time();
    j->async_started_real = g_get_real_time();
    j->mask = domain_job_async_default_mask(job);
    j->phase = phase;
    j->flags = flags;
    memset(&j->progress, 0, sizeof(j->progress));
    j->abort_requested = FALSE;
    j->resume_refused = NULL;
    j->abort_hook = NULL;
    j->abort_opaque = NULL;
    j->have_peer_host = FALSE;
    g_cond_broadcast(&obj->job_cond);
}

void domain_job_set_mask(DomainObj *obj, unsigned int mask)
{
    DomainJobObj *j = &obj->job;

    if (j->async_job == DOMAIN_ASYNC_JOB_NONE) {
        g_critical("domain '%s': setting a job mask without an async job", obj->def->name);
        return;
    }
    /* DESTROY is always allowed: the way out of a stuck async job. */
    j->mask =
        (mask | DOMAIN_JOB_MASK(DOMAIN_JOB_DESTROY)) & ~DOMAIN_JOB_MASK(DOMAIN_JOB_ASYNC_NESTED);
    g_cond_broadcast(&obj->job_cond);
}

static gboolean phase_fits(DomainAsyncJob job, DomainMigrationPhase phase)
{
    switch (phase) {
    case DOMAIN_MIGRATION_PHASE_NONE:
        return TRUE;
    case DOMAIN_MIGRATION_PHASE_BEGIN3:
    case DOMAIN_MIGRATION_PHASE_PERFORM3:
    case DOMAIN_MIGRATION_PHASE_PERFORM3_DONE:
    case DOMAIN_MIGRATION_PHASE_CONFIRM3_CANCELLED:
    case DOMAIN_MIGRATION_PHASE_CONFIRM3:
        return job == DOMAIN_ASYNC_JOB_MIGRATION_OUT;
    case DOMAIN_MIGRATION_PHASE_PREPARE:
    case DOMAIN_MIGRATION_PHASE_FINISH3:
        return job == DOMAIN_ASYNC_JOB_MIGRATION_IN;
    case DOMAIN_MIGRATION_PHASE_LAST:
        break;
    }
    return FALSE;
}

gboolean domain_job_set_phase(DomainObj *obj, DomainMigrationPhase phase, GError **error)
{
    DomainJobObj *j = &obj->job;

    if (j->async_job != DOMAIN_ASYNC_JOB_MIGRATION_OUT &&
        j->async_job != DOMAIN_ASYNC_JOB_MIGRATION_IN) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': migration phase '%s' without a migration job (running: '%s')",
                   obj->def->name, phase_name(phase), async_name(j->async_job));
        return FALSE;
    }
    if (!phase_fits(j->async_job, phase)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': migration phase '%s' does not belong to a '%s' job",
                   obj->def->name, phase_name(phase), async_name(j->async_job));
        return FALSE;
    }
    if (phase < j->phase) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': migration protocol going backwards (from phase '%s' to '%s')",
                   obj->def->name, phase_name(j->phase), phase_name(phase));
        return FALSE;
    }
    FLOG_DEBUG("domain '%s': migration phase '%s' -> '%s'", obj->def->name, phase_name(j->phase),
               phase_name(phase));
    j->phase = phase;
    return TRUE;
}

void domain_job_set_peer_host(DomainObj *obj, const unsigned char *host_uuid)
{
    obj->job.have_peer_host = host_uuid != NULL;
    if (host_uuid)
        memcpy(obj->job.peer_host_uuid, host_uuid, FERRY_UUID_BUFLEN);
}

const unsigned char *domain_job_get_peer_host(DomainObj *obj)
{
    if (obj->job.async_job == DOMAIN_ASYNC_JOB_NONE || !obj->job.have_peer_host)
        return NULL;
    return obj->job.peer_host_uuid;
}

DomainMigrationPhase domain_job_get_phase(DomainObj *obj)
{
    return obj->job.phase;
}

DomainAsyncJob domain_job_get_async(DomainObj *obj)
{
    return obj->job.async_job;
}

DomainJob domain_job_get_active(DomainObj *obj)
{
    return obj->job.active;
}

void domain_job_update_progress(DomainObj *obj, const DomainJobProgress *progress)
{
    if (obj->job.async_job == DOMAIN_ASYNC_JOB_NONE)
        return;
    obj->job.progress = *progress;
}

void domain_job_get_info(DomainObj *obj, gboolean completed, DomainJobInfo *info)
{
    memset(info, 0, sizeof(*info));
    if (completed) {
        if (obj->job.have_completed)
            *info = obj->job.completed;
        return;
    }
    if (obj->job.async_job != DOMAIN_ASYNC_JOB_NONE)
        domain_job_fill_info(obj, DOMAIN_JOB_STATUS_ACTIVE, info);
}

void domain_job_set_abort_hook(DomainObj *obj, DomainJobAbortHook hook, gpointer opaque)
{
    obj->job.abort_hook = hook;
    obj->job.abort_opaque = opaque;
}

gboolean domain_job_abort_async(DomainObj *obj, GError **error)
{
    DomainJobObj *j = &obj->job;

    if (j->active != DOMAIN_JOB_ABORT || j->owner != domain_job_self()) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "domain '%s': aborting needs an abort job",
                   obj->def->name);
        return FALSE;
    }
    if (j->async_job == DOMAIN_ASYNC_JOB_NONE) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s': no job is running to abort",
                   obj->def->name);
        return FALSE;
    }
    if (!j->abort_hook) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "domain '%s': async job '%s' cannot be aborted",
                   obj->def->name, async_name(j->async_job));
        return FALSE;
    }
    FLOG_INFO("domain '%s': aborting async job '%s' of %s (phase '%s')", obj->def->name,
              async_name(j->async_job), j->async_owner_api, phase_name(j->phase));
    j->abort_requested = TRUE;
    /* Wake an owner waiting on the condition for its job to progress. */
    g_cond_broadcast(&obj->job_cond);
    return j->abort_hook(obj, j->abort_opaque, error);
}

gboolean domain_job_abort_requested(DomainObj *obj)
{
    return obj->job.abort_requested;
}

void domain_job_note_user_pause(DomainObj *obj, gboolean paused)
{
    DomainJobObj *j = &obj->job;

    if (j->async_job == DOMAIN_ASYNC_JOB_NONE)
        return;
    if (paused)
        j->flags &= ~DOMAIN_JOB_FLAG_GUEST_RUNS;
    else
        j->flags |= DOMAIN_JOB_FLAG_GUEST_RUNS;
    FLOG_DEBUG("domain '%s': %s by the user during async job '%s'", obj->def->name,
               paused ? "paused" : "resumed", async_name(j->async_job));
}

void domain_job_refuse_resume(DomainObj *obj, const char *why)
{
    obj->job.resume_refused = why;
}

void domain_job_note_migration_event(DomainObj *obj, const char *status)
{
    obj->job.migration_events++;
    obj->job.migration_status = status ? g_intern_string(status) : NULL;
    FLOG_DEBUG("domain '%s': QEMU's migration status is now '%s'", obj->def->name,
               status ? status : "?");
    g_cond_broadcast(&obj->job_cond);
}

guint domain_job_migration_events(DomainObj *obj)
{
    return obj->job.migration_events;
}

const char *domain_job_migration_status(DomainObj *obj)
{
    return obj->job.migration_status;
}

void domain_job_expect_resume(DomainObj *obj, const char *reason)
{
    obj->job.resume_reason = reason;
}

const char *domain_job_expected_resume(DomainObj *obj)
{
    return obj->job.resume_reason;
}

const char *domain_job_resume_refused(DomainObj *obj)
{
    if (obj->job.async_job == DOMAIN_ASYNC_JOB_NONE)
        return NULL;
    return obj->job.resume_refused;
}

/* ------------------------------------------------------ entering the monitor */

void domain_obj_enter_monitor(DomainObj *obj)
{
    DomainJobObj *j = &obj->job;

    if (j->active == DOMAIN_JOB_NONE || j->owner != domain_job_self())
        g_critical("domain '%s': entering the monitor without holding a job", obj->def->name);
    domain_obj_ref(obj);
    j->monitor_users++;
    domain_job_thread_monitor++;
    domain_obj_unlock(obj);
}

gboolean domain_obj_enter_monitor_async(DomainObj *obj, DomainAsyncJob async_job, GError **error)
{
    if (async_job != DOMAIN_ASYNC_JOB_NONE) {
        if (!domain_job_begin_nested(obj, async_job, error))
            return FALSE;
        obj->job.monitor_nested = TRUE;
    }
    domain_obj_enter_monitor(obj);
    return TRUE;
}

/* Relocked: FALSE with an error when the domain went away meanwhile.  An
 * error already reported (the call failed, likely for the same reason) is
 * kept; this one is then logged. */
static gboolean domain_obj_check_still_there(DomainObj *obj, const char *what, GError **error)
{
    g_autoptr(GError) err = NULL;

    if (obj->removed)
        ferry_fail(&err, FERRY_ERR_NO_DOMAIN, "domain '%s' went away while waiting for %s",
                   obj->def->name, what);
    else if (!domain_obj_is_active(obj))
        ferry_fail(&err, FERRY_ERR_OPERATION_FAILED,
                   "domain '%s' went away while waiting for %s (it is no longer running)",
                   obj->def->name, what);
    if (!err)
        return TRUE;
    ferry_error_keep_first(error, g_steal_pointer(&err));
    return FALSE;
}

gboolean domain_obj_exit_monitor(DomainObj *obj, GError **error)
{
    DomainJobObj *j = &obj->job;
    gboolean ok;

    domain_obj_lock(obj);
    g_assert(domain_job_thread_monitor > 0 && j->monitor_users > 0);
    domain_job_thread_monitor--;
    j->monitor_users--;
    ok = domain_obj_check_still_there(obj, "QEMU", error);
    if (j->monitor_nested && j->active == DOMAIN_JOB_ASYNC_NESTED &&
        j->owner == domain_job_self()) {
        j->monitor_nested = FALSE;
        domain_job_end(obj);
    }
    domain_obj_unref(obj); /* not the last: the caller holds one */
    return ok;
}

void domain_obj_enter_remote(DomainObj *obj)
{
    domain_obj_ref(obj);
    domain_obj_unlock(obj);
}

gboolean domain_obj_exit_remote(DomainObj *obj, GError **error)
{
    gboolean ok;

    domain_obj_lock(obj);
    ok = domain_obj_check_still_there(obj, "the peer", error);
    domain_obj_unref(obj);
    return ok;
}
