/*
 * domain_job.h: jobs on a domain object, and entering the monitor.
 *
 * A job is the right to change (or consistently read) a domain while its
 * object lock is dropped, as libvirt's job model has it.  Per domain there is
 * at most one synchronous job and at most one asynchronous job:
 *
 *   sync jobs   QUERY, MODIFY, DESTROY, ABORT, MIGRATION_OP, SUSPEND,
 *               ASYNC_NESTED.  Held by one thread for the length of one API
 *               call.
 *   async jobs  MIGRATION_OUT, MIGRATION_IN, SAVE, RESTORE (DomainAsyncJob
 *               from domain_conf.h).  May span several API calls (the
 *               migration-out job is held from Begin3 to Confirm3), and
 *               threads: between calls no thread owns it.
 *
 * While an async job runs, only the sync jobs in its mask may start:
 *
 *   MIGRATION_OUT  QUERY, DESTROY, ABORT, MIGRATION_OP, SUSPEND
 *   MIGRATION_IN   QUERY, DESTROY, ABORT, MIGRATION_OP
 *   SAVE           QUERY, DESTROY, ABORT
 *   RESTORE        QUERY, DESTROY
 *
 * DESTROY is in every mask: destroying a domain is the user's way out of a
 * stuck migration, save or restore.  The destroy kills QEMU, the async job's
 * next monitor call fails and domain_obj_exit_monitor() reports that the
 * domain went away, and the async job's owner unwinds and ends its job.
 * MODIFY is in no mask: nothing changes a domain under a migration.  SUSPEND
 * (suspend and resume, nothing else) is in the migration-out mask: pausing
 * the source is how a user (or virsh migrate --timeout-suspend) makes a
 * migration that does not converge finish.  The async job records what the
 * user wants (domain_job_note_user_pause: the DOMAIN_JOB_FLAG_GUEST_RUNS
 * bit), so that undoing the job resumes only a guest that should run, and
 * it may refuse resuming while it owns the stopped CPUs
 * (domain_job_refuse_resume: a migration's switchover, post-copy).  The
 * async job's owner (the thread that began it or resumed it) takes
 * ASYNC_NESTED sync jobs for its own monitor calls; nobody else may.
 *
 * Usage, all with the object locked (the calls that wait drop the lock while
 * they wait, as g_cond_wait does):
 *
 *     if (!domain_job_begin(obj, DOMAIN_JOB_MODIFY, "domainSuspend", error))
 *         return FALSE;
 *     domain_obj_enter_monitor(obj);
 *     ok = qmp_call(...) != NULL;             // object unlocked here
 *     if (!domain_obj_exit_monitor(obj, error))
 *         ok = FALSE;                         // domain went away meanwhile
 *     domain_job_end(obj);
 *
 *     if (!domain_job_begin_async(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT,
 *                                 "domainMigrateBegin3Params", flags, error))
 *         return FALSE;
 *     domain_job_set_phase(obj, DOMAIN_MIGRATION_PHASE_BEGIN3, error);
 *     if (!domain_obj_enter_monitor_async(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, error))
 *         ...                                 // took an ASYNC_NESTED job
 *     domain_obj_exit_monitor(obj, error);    // ends the nested job
 *     domain_job_async_continue(obj);         // Begin3 returns; job stays
 *     ... later, in Perform3, maybe on another thread:
 *     domain_job_async_resume(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "...", error);
 *     ...
 *     domain_job_end_async(obj, DOMAIN_JOB_STATUS_COMPLETED);
 *
 * The monitor: domain_obj_enter_monitor*() / domain_obj_exit_monitor() (and
 * the *_remote pair for calls to a peer daemon) are the only place where the
 * object lock is dropped for a call that may block on QEMU or a peer.  No
 * QMP call happens anywhere else: domain_job_thread_in_monitor() lets the
 * monitor code assert it.
 *
 * Waiting: domain_job_begin*() wait (condition variable, object lock
 * released) up to the wait timeout: domain_job_set_wait_timeout(), 30 s by
 * default.  A timeout fails with FERRY_ERR_OPERATION_TIMEOUT naming who
 * holds the job:
 *     domain 'web1': cannot acquire state change lock for job 'modify'
 *     (held by remoteDispatchDomainSuspend / job 'query' owner thread 1234
 *     for 12.3 s)
 * A waiter whose domain is removed from the list meanwhile fails with
 * FERRY_ERR_NO_DOMAIN: "domain 'web1' went away while waiting for job
 * 'modify'".
 *
 * The migration phase (DomainMigrationPhase) lives with the async job,
 * never goes backwards ("migration protocol going backwards") and is
 * persisted by the caller in the status XML (domain_obj_save_status()).
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "conf/domain_conf.h"

typedef struct _DomainObj DomainObj;

typedef enum {
    DOMAIN_JOB_NONE,
    DOMAIN_JOB_QUERY, /* reads state, may talk to QEMU */
    DOMAIN_JOB_DESTROY, /* kills QEMU */
    DOMAIN_JOB_MODIFY, /* changes state or definition */
    DOMAIN_JOB_ABORT, /* aborts the async job */
    DOMAIN_JOB_MIGRATION_OP, /* changes migration parameters while migrating */
    DOMAIN_JOB_SUSPEND, /* pauses or resumes the vCPUs (allowed while migrating out) */
    DOMAIN_JOB_ASYNC_NESTED, /* the async job's owner's own monitor calls */
    DOMAIN_JOB_LAST
} DomainJob;

const char *domain_job_to_string(DomainJob job);

#define DOMAIN_JOB_MASK(job) ((job) == DOMAIN_JOB_NONE ? 0u : 1u << ((job)-1))
/* What every async job allows. */
#define DOMAIN_JOB_DEFAULT_MASK \
    (DOMAIN_JOB_MASK(DOMAIN_JOB_QUERY) | DOMAIN_JOB_MASK(DOMAIN_JOB_DESTROY))

/* ferry's own bit in an async job's flags (above every libvirt flag,
 * persisted with them in the status XML): the guest should run once the
 * job is undone.  Set when the job began with the guest running, and when
 * a user resumes it during the job; cleared when a user suspends it during
 * the job.  A cancelled migration resumes the source only with it. */
#define DOMAIN_JOB_FLAG_GUEST_RUNS (1ULL << 40)

/* The outcome of an async job (for job info and domjobinfo --completed). */
typedef enum {
    DOMAIN_JOB_STATUS_NONE,
    DOMAIN_JOB_STATUS_ACTIVE,
    DOMAIN_JOB_STATUS_COMPLETED,
    DOMAIN_JOB_STATUS_FAILED,
    DOMAIN_JOB_STATUS_CANCELED,
    DOMAIN_JOB_STATUS_LAST
} DomainJobStatus;

const char *domain_job_status_to_string(DomainJobStatus status);

/* Progress of an async job, filled from query-migrate by the job's owner.
 * Bytes unless said otherwise; 0 when unknown. */
typedef struct {
    unsigned long long data_total;
    unsigned long long data_processed;
    unsigned long long data_remaining;
    unsigned long long mem_bps; /* transfer rate, bytes per second */
    unsigned long long dirty_rate; /* pages dirtied per second */
    unsigned long long iteration; /* RAM passes so far */
    unsigned long long expected_downtime_ms;
    unsigned long long downtime_ms; /* actual, once completed */
    unsigned long long setup_time_ms;
} DomainJobProgress;

/* What domain_job_get_info() reports. */
typedef struct {
    DomainAsyncJob type;
    DomainMigrationPhase phase;
    DomainJobStatus status;
    gint64 started_ms; /* wall clock, ms since the epoch */
    gint64 elapsed_ms;
    unsigned long long flags; /* the API flags the job was started with */
    DomainJobProgress progress;
} DomainJobInfo;

/* Called (object locked, within the caller's ABORT job) to abort the async
 * job: the migration registers a hook that sends migrate_cancel. */
typedef gboolean (*DomainJobAbortHook)(DomainObj *obj, gpointer opaque, GError **error);

/* The job state embedded in each DomainObj; guarded by the object lock.
 * Read it through the functions below. */
typedef struct {
    /* the sync job */
    DomainJob active;
    pid_t owner; /* thread id, 0 when none */
    char *owner_api;
    gint64 started; /* monotonic, µs */

    /* the async job */
    DomainAsyncJob async_job;
    pid_t async_owner; /* 0 between API calls */
    char *async_owner_api;
    gint64 async_started; /* monotonic, µs */
    gint64 async_started_real; /* wall clock, µs */
    unsigned int mask; /* DOMAIN_JOB_MASK()s allowed while it runs */
    DomainMigrationPhase phase;
    unsigned long long flags;
    DomainJobProgress progress;
    gboolean abort_requested;
    const char *resume_refused; /* static: why resuming is refused now */
    DomainJobAbortHook abort_hook;
    gpointer abort_opaque;
    /* the migration's other host (a migration-out's destination, from
     * cookie 2), for Confirm3; in memory only: unknown after a restart */
    gboolean have_peer_host;
    unsigned char peer_host_uuid[FERRY_UUID_BUFLEN];

    /* the last async job that ended (domjobinfo --completed) */
    gboolean have_completed;
    DomainJobInfo completed;

    /* static: the reason a RESUME event from QEMU gives (a cont in flight
     * says why it resumes); NULL: "unpaused" */
    const char *resume_reason;

    /* QEMU's MIGRATION events so far (the status changed), and the
     * status the last one gave (interned; NULL before any) */
    guint migration_events;
    const char *migration_status;

    /* threads waiting in domain_job_begin*() */
    unsigned int waiters;

    /* threads in domain_obj_enter_monitor .. exit_monitor */
    unsigned int monitor_users;
    /* the ASYNC_NESTED job was taken by domain_obj_enter_monitor_async */
    gboolean monitor_nested;
} DomainJobObj;

/* The wait timeout for every domain_job_begin*() (ms; 30000 by default).
 * Tests shorten it.  Process-wide. */
#define DOMAIN_JOB_WAIT_TIMEOUT_DEFAULT_MS 30000
void domain_job_set_wait_timeout(unsigned int timeout_ms);
unsigned int domain_job_get_wait_timeout(void);

/* Begins a sync job (not ASYNC_NESTED: see domain_job_begin_nested).  api
 * names the caller in errors and logs (copied).  The object is locked. */
gboolean domain_job_begin(DomainObj *obj, DomainJob job, const char *api, GError **error);
gboolean domain_job_begin_full(DomainObj *obj, DomainJob job, const char *api,
                               unsigned int timeout_ms, GError **error);
/* Ends the calling thread's sync job and wakes waiters. */
void domain_job_end(DomainObj *obj);

/* Begins an async job: waits until neither a sync nor an async job runs.
 * The calling thread owns it; flags are the API's (persisted in status). */
gboolean domain_job_begin_async(DomainObj *obj, DomainAsyncJob job, const char *api,
                                unsigned long long flags, GError **error);
/* Ends the async job, keeping its info as the completed job's with the given
 * final status; clears phase, abort flag and hook; wakes waiters. */
void domain_job_end_async(DomainObj *obj, DomainJobStatus status);

/* An ASYNC_NESTED sync job for the async job's owner only (thread check):
 * refused at once with FERRY_ERR_OPERATION_INVALID when async_job is not the
 * running async job or the caller does not own it; otherwise waits for an
 * allowed sync job that runs to end.  End with domain_job_end(). */
gboolean domain_job_begin_nested(DomainObj *obj, DomainAsyncJob async_job, GError **error);

/* Between the API calls of a multi-call async job: the calling thread gives
 * up ownership, the job stays. */
void domain_job_async_continue(DomainObj *obj);
/* The next API call takes the async job over: refused when async_job is not
 * running ("domain 'web1' has no 'migration-out' job") or another thread
 * owns it. */
gboolean domain_job_async_resume(DomainObj *obj, DomainAsyncJob async_job, const char *api,
                                 GError **error);

/* Sets which sync jobs may start while the async job runs (owner only). */
void domain_job_set_mask(DomainObj *obj, unsigned int mask);

/* The async job's migration phase; refuses a phase earlier than the current
 * one ("migration protocol going backwards") and a phase that does not
 * belong to the running job (a destination phase in a migration-out job). */
gboolean domain_job_set_phase(DomainObj *obj, DomainMigrationPhase phase, GError **error);
DomainMigrationPhase domain_job_get_phase(DomainObj *obj);
/* The host UUID of the async job's peer (the destination of a migration
 * out, as its cookie 2 says), or NULL when unknown: not told yet, or the
 * job was restored from the status XML.  Forgotten when the job ends. */
void domain_job_set_peer_host(DomainObj *obj, const unsigned char *host_uuid);
const unsigned char *domain_job_get_peer_host(DomainObj *obj);
DomainAsyncJob domain_job_get_async(DomainObj *obj);
DomainJob domain_job_get_active(DomainObj *obj);

/* Reconnecting after a restart: the async job of a status file, owned by
 * no thread (domain_job_async_resume takes it, domain_job_end_async ends
 * it), with the default mask of its type. */
void domain_job_restore_async(DomainObj *obj, DomainAsyncJob job, DomainMigrationPhase phase,
                              unsigned long long flags);

/* The last ended async job's figures, as measured elsewhere (a migration's
 * destination keeps the source's statistics: Finish3 has them from cookie
 * 3): started (wall clock, ms since the epoch), elapsed and progress
 * replace the completed job's; type, status and flags stay.  Nothing when
 * no async job ended yet. */
void domain_job_set_completed_stats(DomainObj *obj, gint64 started_ms, gint64 elapsed_ms,
                                    const DomainJobProgress *progress);

/* Progress of the async job (its owner stores what query-migrate said). */
void domain_job_update_progress(DomainObj *obj, const DomainJobProgress *progress);
/* The running async job's info (status NONE when there is none), or with
 * completed the last finished one's (status NONE when there is none). */
void domain_job_get_info(DomainObj *obj, gboolean completed, DomainJobInfo *info);

/* The async job's owner registers how to abort it (NULL: cannot be). */
void domain_job_set_abort_hook(DomainObj *obj, DomainJobAbortHook hook, gpointer opaque);
/* Within an ABORT sync job: marks the async job aborted and calls its hook.
 * FERRY_ERR_OPERATION_INVALID when no async job runs, FERRY_ERR_NO_SUPPORT
 * when it has no hook. */
gboolean domain_job_abort_async(DomainObj *obj, GError **error);
/* TRUE once an abort was asked for (the async job's owner polls it). */
gboolean domain_job_abort_requested(DomainObj *obj);

/* A user's suspend (paused TRUE) or resume within a SUSPEND job, while an
 * async job runs: updates DOMAIN_JOB_FLAG_GUEST_RUNS (nothing without an
 * async job). */
void domain_job_note_user_pause(DomainObj *obj, gboolean paused);
/* The async job's owner: from now until the job ends, resuming the guest is
 * refused, with why (a static string: "the migration is switching over to
 * the destination"); NULL allows it again. */
void domain_job_refuse_resume(DomainObj *obj, const char *why);
/* Why resuming is refused now, or NULL. */
const char *domain_job_resume_refused(DomainObj *obj);
/* QEMU reported a migration status change (its MIGRATION event; status
 * may be NULL): counted, and job_cond broadcast so that a phase waiting
 * for QEMU wakes at once.  The count lets a waiter that was in the monitor
 * meanwhile see that it missed one (obj locked). */
void domain_job_note_migration_event(DomainObj *obj, const char *status);
guint domain_job_migration_events(DomainObj *obj);
/* The status QEMU's last MIGRATION event gave (interned), or NULL. */
const char *domain_job_migration_status(DomainObj *obj);

/* Around a cont whose caller sets the state itself (obj locked, a job
 * held): the reason the RESUME event handler gives if it runs first
 * (static string), and NULL afterwards.  Read by the handler. */
void domain_job_expect_resume(DomainObj *obj, const char *reason);
const char *domain_job_expected_resume(DomainObj *obj);

/* ------------------------------------------------------ entering the monitor */

/* Drops the object lock for a monitor call, keeping a reference.  The
 * caller holds a sync job (any but the async job's owner, who uses
 * domain_obj_enter_monitor_async). */
void domain_obj_enter_monitor(DomainObj *obj);
/* For the async job's owner: takes an ASYNC_NESTED job, then enters. With
 * DOMAIN_ASYNC_JOB_NONE it is domain_obj_enter_monitor (the caller holds a
 * sync job). */
gboolean domain_obj_enter_monitor_async(DomainObj *obj, DomainAsyncJob async_job, GError **error);
/* Relocks, ends a nested job taken on enter, drops the reference; FALSE
 * ("domain 'web1' went away while waiting for QEMU") when the domain was
 * removed or stopped meanwhile.  An error already in *error is kept. */
gboolean domain_obj_exit_monitor(DomainObj *obj, GError **error);

/* The same for a call to a peer daemon (no monitor involved): the domain
 * must still be running on return ("... while waiting for the peer"). */
void domain_obj_enter_remote(DomainObj *obj);
gboolean domain_obj_exit_remote(DomainObj *obj, GError **error);

/* TRUE in a thread between domain_obj_enter_monitor*() and exit. */
gboolean domain_job_thread_in_monitor(void);

/* The calling thread's id (what owner fields hold). */
pid_t domain_job_self(void);
