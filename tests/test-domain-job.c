/*
 * test-domain-job.c: sync and async jobs, masks, nested jobs, abort, the
 * migration phase, job info and entering the monitor, with threads.
 *
 * Short wait timeouts appear only where the timeout is what is tested;
 * nothing here asserts how long something took.
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

#define SHORT_TIMEOUT_MS 150

typedef struct {
    DomainList *list;
    DomainObj *obj; /* referenced, unlocked, running */
} JobFixture;

static GQuark driver_quark(void)
{
    return ferry_error_quark(FERRY_FROM_DRIVER);
}

static void fixture_setup(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def =
        domain_def_parse("<domain type='kvm'><name>web1</name>"
                         "<uuid>10111213-1415-4617-9819-1a1b1c1d1e1f</uuid>"
                         "<memory>1048576</memory><os><type>hvm</type></os></domain>",
                         0, &err);

    g_assert_no_error(err);
    domain_job_set_wait_timeout(DOMAIN_JOB_WAIT_TIMEOUT_DEFAULT_MS);
    fx->list = domain_list_new();
    fx->obj = domain_list_add(fx->list, &def, 0, NULL, &err);
    g_assert_no_error(err);
    domain_obj_set_active(fx->obj, domain_list_next_id(fx->list), 4242, "/run/web1.qmp");
    domain_obj_set_state(fx->obj, DOMAIN_STATE_RUNNING, "booted");
    domain_obj_unlock(fx->obj);
}

static void fixture_teardown(JobFixture *fx, gconstpointer data)
{
    g_assert_cmpuint(domain_obj_locks_held(), ==, 0);
    domain_obj_lock(fx->obj);
    g_assert_cmpint(domain_job_get_active(fx->obj), ==, DOMAIN_JOB_NONE);
    g_assert_cmpint(domain_job_get_async(fx->obj), ==, DOMAIN_ASYNC_JOB_NONE);
    domain_obj_unlock(fx->obj);
    domain_obj_unref(fx->obj);
    domain_list_free(fx->list);
    domain_job_set_wait_timeout(DOMAIN_JOB_WAIT_TIMEOUT_DEFAULT_MS);
}

/* Runs fn in a new thread and waits for it. */
static void run_in_thread(GThreadFunc fn, gpointer opaque)
{
    g_thread_join(g_thread_new("job-test", fn, opaque));
}

/* Waits (no timing assertion) until n threads wait for a job on obj. */
static void wait_for_waiters(DomainObj *obj, unsigned int n)
{
    for (;;) {
        domain_obj_lock(obj);
        unsigned int waiting = obj->job.waiters;
        domain_obj_unlock(obj);
        if (waiting >= n)
            return;
        g_usleep(1000);
    }
}

/* ------------------------------------------------------ mutual exclusion */

#define MODIFY_THREADS 8
#define MODIFY_ROUNDS 200

typedef struct {
    DomainObj *obj;
    volatile int counter; /* incremented without atomics, inside the job */
    gint failures;
} CounterData;

static gpointer modify_thread(gpointer opaque)
{
    CounterData *cd = opaque;

    for (int i = 0; i < MODIFY_ROUNDS; i++) {
        g_autoptr(GError) err = NULL;

        domain_obj_lock(cd->obj);
        if (!domain_job_begin(cd->obj, DOMAIN_JOB_MODIFY, "domainSetMemory", &err)) {
            g_atomic_int_inc(&cd->failures);
            domain_obj_unlock(cd->obj);
            continue;
        }
        /* The object lock is dropped inside, as around a monitor call: only
         * the job protects the counter. */
        domain_obj_enter_monitor(cd->obj);
        int value = cd->counter;
        if (i % 4 == 0)
            g_thread_yield();
        cd->counter = value + 1;
        if (!domain_obj_exit_monitor(cd->obj, &err))
            g_atomic_int_inc(&cd->failures);
        domain_job_end(cd->obj);
        domain_obj_unlock(cd->obj);
    }
    return NULL;
}

static void test_modify_mutual_exclusion(JobFixture *fx, gconstpointer data)
{
    CounterData cd = { fx->obj, 0, 0 };
    GThread *threads[MODIFY_THREADS];

    for (int i = 0; i < MODIFY_THREADS; i++)
        threads[i] = g_thread_new("modify", modify_thread, &cd);
    for (int i = 0; i < MODIFY_THREADS; i++)
        g_thread_join(threads[i]);
    g_assert_cmpint(g_atomic_int_get(&cd.failures), ==, 0);
    g_assert_cmpint(cd.counter, ==, MODIFY_THREADS * MODIFY_ROUNDS);
}

/* ------------------------------------------------------ masks and timeouts */

typedef struct {
    DomainObj *obj;
    DomainJob job;
    const char *api;
    gboolean ok;
    GError *err;
    pid_t tid;
} TryJob;

static gpointer try_job_thread(gpointer opaque)
{
    TryJob *t = opaque;

    t->tid = domain_job_self();
    domain_obj_lock(t->obj);
    t->ok = domain_job_begin_full(t->obj, t->job, t->api, SHORT_TIMEOUT_MS, &t->err);
    if (t->ok)
        domain_job_end(t->obj);
    domain_obj_unlock(t->obj);
    return NULL;
}

static gboolean try_job(DomainObj *obj, DomainJob job, GError **error)
{
    TryJob t = { obj, job, "remoteDispatchTest", FALSE, NULL, 0 };

    run_in_thread(try_job_thread, &t);
    if (t.err)
        g_propagate_error(error, t.err);
    return t.ok;
}

static void test_async_allows_query_refuses_modify(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *owner = g_strdup_printf("owner thread %d", (int)domain_job_self());

    domain_obj_lock(fx->obj);
    g_assert_true(domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT,
                                         "remoteDispatchDomainMigratePerform3Params", 0, &err));
    g_assert_no_error(err);
    g_assert_true(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_PERFORM3, &err));
    domain_obj_unlock(fx->obj);

    g_assert_true(try_job(fx->obj, DOMAIN_JOB_QUERY, &err));
    g_assert_no_error(err);
    g_assert_true(try_job(fx->obj, DOMAIN_JOB_MIGRATION_OP, &err));
    g_assert_true(try_job(fx->obj, DOMAIN_JOB_ABORT, &err));
    g_assert_true(try_job(fx->obj, DOMAIN_JOB_DESTROY, &err));
    /* suspend and resume go on while migrating out */
    g_assert_true(try_job(fx->obj, DOMAIN_JOB_SUSPEND, &err));
    g_assert_no_error(err);

    g_assert_false(try_job(fx->obj, DOMAIN_JOB_MODIFY, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_true(g_str_has_prefix(
        err->message, "domain 'web1': cannot acquire state change lock for job 'modify' (held by "
                      "remoteDispatchDomainMigratePerform3Params / async job 'migration-out' "
                      "phase 'perform3' "));
    g_assert_nonnull(strstr(err->message, owner));
    g_clear_error(&err);

    /* Another async job waits for this one. */
    domain_obj_lock(fx->obj);
    domain_job_set_wait_timeout(SHORT_TIMEOUT_MS);
    g_assert_false(domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_SAVE, "domainSave", 0, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_nonnull(strstr(err->message, "for job 'save' (held by "
                                          "remoteDispatchDomainMigratePerform3Params"));
    g_clear_error(&err);

    /* A narrower mask: DESTROY stays allowed. */
    domain_job_set_mask(fx->obj, DOMAIN_JOB_MASK(DOMAIN_JOB_QUERY));
    domain_obj_unlock(fx->obj);
    g_assert_false(try_job(fx->obj, DOMAIN_JOB_MIGRATION_OP, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_TIMEOUT);
    g_clear_error(&err);
    g_assert_true(try_job(fx->obj, DOMAIN_JOB_DESTROY, &err));
    g_assert_no_error(err);

    domain_obj_lock(fx->obj);
    domain_job_end_async(fx->obj, DOMAIN_JOB_STATUS_COMPLETED);
    domain_obj_unlock(fx->obj);

    /* With the async job gone, MODIFY starts. */
    g_assert_true(try_job(fx->obj, DOMAIN_JOB_MODIFY, &err));
    g_assert_no_error(err);
}

static void test_save_refuses_migration_op(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    domain_obj_lock(fx->obj);
    g_assert_true(domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_SAVE, "domainSave", 0, &err));
    /* Save has no migration phases. */
    g_assert_false(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_BEGIN3, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_clear_error(&err);
    domain_obj_unlock(fx->obj);

    g_assert_true(try_job(fx->obj, DOMAIN_JOB_ABORT, &err));
    g_assert_no_error(err);
    g_assert_false(try_job(fx->obj, DOMAIN_JOB_MIGRATION_OP, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_TIMEOUT);
    g_clear_error(&err);

    domain_obj_lock(fx->obj);
    domain_job_end_async(fx->obj, DOMAIN_JOB_STATUS_COMPLETED);
    domain_obj_unlock(fx->obj);
}

/* An incoming migration has no guest to pause: SUSPEND waits for it. */
static void test_migration_in_refuses_suspend(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    domain_obj_lock(fx->obj);
    g_assert_true(domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_IN,
                                         "domainMigratePrepare3Params", 0, &err));
    domain_obj_unlock(fx->obj);
    g_assert_false(try_job(fx->obj, DOMAIN_JOB_SUSPEND, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_nonnull(strstr(err->message, "for job 'suspend' (held by "
                                          "domainMigratePrepare3Params / async job "
                                          "'migration-in'"));
    g_clear_error(&err);
    domain_obj_lock(fx->obj);
    domain_job_end_async(fx->obj, DOMAIN_JOB_STATUS_COMPLETED);
    domain_obj_unlock(fx->obj);
}

/* What the user does to the guest during an async job is what undoing the
 * job keeps (DOMAIN_JOB_FLAG_GUEST_RUNS); resuming may be refused until
 * the job ends. */
static void test_user_pause_and_resume_refusal(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    const unsigned long long start_flags = 1 | DOMAIN_JOB_FLAG_GUEST_RUNS;

    domain_obj_lock(fx->obj);
    /* without an async job: nothing to note, nothing refused */
    domain_job_note_user_pause(fx->obj, TRUE);
    g_assert_null(domain_job_resume_refused(fx->obj));

    g_assert_true(domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT,
                                         "domainMigrateBegin3Params", start_flags, &err));
    g_assert_no_error(err);
    domain_job_note_user_pause(fx->obj, TRUE);
    g_assert_cmpuint(fx->obj->job.flags, ==, 1);
    domain_job_note_user_pause(fx->obj, FALSE);
    g_assert_cmpuint(fx->obj->job.flags, ==, start_flags);
    domain_job_note_user_pause(fx->obj, TRUE);

    g_assert_null(domain_job_resume_refused(fx->obj));
    domain_job_refuse_resume(fx->obj, "the migration is switching over");
    g_assert_cmpstr(domain_job_resume_refused(fx->obj), ==, "the migration is switching over");
    domain_job_refuse_resume(fx->obj, NULL);
    g_assert_null(domain_job_resume_refused(fx->obj));
    domain_job_refuse_resume(fx->obj, "post-copy");

    domain_job_end_async(fx->obj, DOMAIN_JOB_STATUS_CANCELED);
    g_assert_null(domain_job_resume_refused(fx->obj));
    /* the completed job's info keeps the flags as they ended */
    {
        DomainJobInfo info;

        domain_job_get_info(fx->obj, TRUE, &info);
        g_assert_cmpuint(info.flags, ==, 1);
    }
    g_assert_cmpstr(domain_job_to_string(DOMAIN_JOB_SUSPEND), ==, "suspend");
    domain_obj_unlock(fx->obj);
}

/* QEMU's MIGRATION events wake whoever waits on the job's condition, and
 * the count shows one that came while nobody waited. */
typedef struct {
    DomainObj *obj;
    guint seen;
    gboolean woke;
} EventWait;

static gpointer event_wait_thread(gpointer opaque)
{
    EventWait *w = opaque;
    gint64 deadline = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;

    domain_obj_lock(w->obj);
    w->obj->job.waiters++; /* lets the test see that it waits */
    while (domain_job_migration_events(w->obj) == w->seen &&
           g_cond_wait_until(&w->obj->job_cond, &w->obj->lock, deadline))
        ;
    w->obj->job.waiters--;
    w->woke = domain_job_migration_events(w->obj) != w->seen;
    domain_obj_unlock(w->obj);
    return NULL;
}

static void test_migration_event_wakes(JobFixture *fx, gconstpointer data)
{
    EventWait w = { fx->obj, 0, FALSE };
    GThread *thread;

    domain_obj_lock(fx->obj);
    w.seen = domain_job_migration_events(fx->obj);
    g_assert_null(domain_job_migration_status(fx->obj));
    domain_obj_unlock(fx->obj);
    thread = g_thread_new("event-wait", event_wait_thread, &w);
    wait_for_waiters(fx->obj, 1);
    domain_obj_lock(fx->obj);
    domain_job_note_migration_event(fx->obj, "pre-switchover");
    domain_obj_unlock(fx->obj);
    g_thread_join(thread);
    g_assert_true(w.woke);
    domain_obj_lock(fx->obj);
    g_assert_cmpuint(domain_job_migration_events(fx->obj), ==, w.seen + 1);
    /* the last event's status is kept: Perform acts on a pre-switchover
     * without a query first */
    g_assert_cmpstr(domain_job_migration_status(fx->obj), ==, "pre-switchover");
    domain_job_note_migration_event(fx->obj, "device");
    g_assert_cmpstr(domain_job_migration_status(fx->obj), ==, "device");
    domain_obj_unlock(fx->obj);
}

static void test_sync_timeout_names_holder(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *expected =
        g_strdup_printf("domain 'web1': cannot acquire state change lock for job 'query' (held by "
                        "remoteDispatchDomainSuspend / job 'modify' owner thread %d for ",
                        (int)domain_job_self());

    domain_obj_lock(fx->obj);
    g_assert_true(
        domain_job_begin(fx->obj, DOMAIN_JOB_MODIFY, "remoteDispatchDomainSuspend", &err));
    g_assert_cmpint(domain_job_get_active(fx->obj), ==, DOMAIN_JOB_MODIFY);
    domain_obj_unlock(fx->obj);

    g_assert_false(try_job(fx->obj, DOMAIN_JOB_QUERY, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_true(g_str_has_prefix(err->message, expected));
    g_assert_true(g_str_has_suffix(err->message, " s)"));
    g_clear_error(&err);

    /* Jobs that cannot be begun this way. */
    domain_obj_lock(fx->obj);
    g_assert_false(domain_job_begin(fx->obj, DOMAIN_JOB_ASYNC_NESTED, "x", &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_INTERNAL);
    g_clear_error(&err);
    g_assert_false(domain_job_begin(fx->obj, DOMAIN_JOB_NONE, "x", &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_INTERNAL);
    g_clear_error(&err);
    domain_job_end(fx->obj);
    domain_obj_unlock(fx->obj);
}

/* ------------------------------------------------------ nested jobs */

typedef struct {
    DomainObj *obj;
    gboolean ok;
    GError *err;
} NestedTry;

static gpointer nested_thread(gpointer opaque)
{
    NestedTry *t = opaque;

    domain_obj_lock(t->obj);
    t->ok = domain_obj_enter_monitor_async(t->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &t->err);
    if (t->ok)
        t->ok = domain_obj_exit_monitor(t->obj, &t->err);
    domain_obj_unlock(t->obj);
    return NULL;
}

static gpointer resume_thread(gpointer opaque)
{
    NestedTry *t = opaque;

    domain_obj_lock(t->obj);
    t->ok = domain_job_async_resume(t->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "perform3", &t->err);
    if (t->ok) {
        t->ok = domain_obj_enter_monitor_async(t->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &t->err);
        if (t->ok)
            t->ok = domain_obj_exit_monitor(t->obj, &t->err);
        domain_job_async_continue(t->obj);
    }
    domain_obj_unlock(t->obj);
    return NULL;
}

typedef struct {
    DomainObj *obj;
    GMutex lock;
    GCond cond;
    gboolean holding;
    gboolean release;
} QueryHolder;

static gpointer query_holder_thread(gpointer opaque)
{
    QueryHolder *qh = opaque;

    domain_obj_lock(qh->obj);
    g_assert_true(domain_job_begin(qh->obj, DOMAIN_JOB_QUERY, "domainGetJobInfo", NULL));
    domain_obj_unlock(qh->obj);

    g_mutex_lock(&qh->lock);
    qh->holding = TRUE;
    g_cond_broadcast(&qh->cond);
    while (!qh->release)
        g_cond_wait(&qh->cond, &qh->lock);
    g_mutex_unlock(&qh->lock);

    domain_obj_lock(qh->obj);
    domain_job_end(qh->obj);
    domain_obj_unlock(qh->obj);
    return NULL;
}

static void test_nested_only_for_owner(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    NestedTry t = { fx->obj, FALSE, NULL };

    /* No async job: no nested job. */
    domain_obj_lock(fx->obj);
    g_assert_false(domain_job_begin_nested(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_clear_error(&err);

    g_assert_true(domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT,
                                         "domainMigrateBegin3Params", 0, &err));
    /* The owner: a nested job, for the right async job only. */
    g_assert_false(domain_job_begin_nested(fx->obj, DOMAIN_ASYNC_JOB_SAVE, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_clear_error(&err);
    g_assert_true(domain_job_begin_nested(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &err));
    g_assert_cmpint(domain_job_get_active(fx->obj), ==, DOMAIN_JOB_ASYNC_NESTED);
    domain_job_end(fx->obj);

    /* Entering the monitor takes and ends it. */
    g_assert_true(domain_obj_enter_monitor_async(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &err));
    g_assert_true(domain_job_thread_in_monitor());
    g_assert_cmpuint(domain_obj_locks_held(), ==, 0);
    g_assert_true(domain_obj_exit_monitor(fx->obj, &err));
    g_assert_no_error(err);
    g_assert_false(domain_job_thread_in_monitor());
    g_assert_cmpint(domain_job_get_active(fx->obj), ==, DOMAIN_JOB_NONE);
    domain_obj_unlock(fx->obj);

    /* Another thread: refused at once. */
    run_in_thread(nested_thread, &t);
    g_assert_false(t.ok);
    g_assert_error(t.err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_assert_nonnull(strstr(t.err->message, "only the owner of async job 'migration-out' may "
                                            "take a nested job"));
    g_clear_error(&t.err);

    /* Between calls nobody owns it; the next call's thread takes it over. */
    domain_obj_lock(fx->obj);
    domain_job_async_continue(fx->obj);
    g_assert_false(domain_job_begin_nested(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_clear_error(&err);
    domain_obj_unlock(fx->obj);
    run_in_thread(resume_thread, &t);
    g_assert_no_error(t.err);
    g_assert_true(t.ok);

    /* A nested job waits for an allowed sync job (QUERY) to end. */
    QueryHolder qh = { .obj = fx->obj };
    g_mutex_init(&qh.lock);
    g_cond_init(&qh.cond);
    GThread *holder = g_thread_new("query", query_holder_thread, &qh);
    g_mutex_lock(&qh.lock);
    while (!qh.holding)
        g_cond_wait(&qh.cond, &qh.lock);
    g_mutex_unlock(&qh.lock);

    domain_obj_lock(fx->obj);
    g_assert_true(
        domain_job_async_resume(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "confirm3", &err));
    domain_job_set_wait_timeout(SHORT_TIMEOUT_MS);
    g_assert_false(domain_job_begin_nested(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_nonnull(strstr(err->message, "job 'async-nested' (held by domainGetJobInfo / job "
                                          "'query' owner thread"));
    g_clear_error(&err);
    domain_obj_unlock(fx->obj);

    g_mutex_lock(&qh.lock);
    qh.release = TRUE;
    g_cond_broadcast(&qh.cond);
    g_mutex_unlock(&qh.lock);
    g_thread_join(holder);
    g_mutex_clear(&qh.lock);
    g_cond_clear(&qh.cond);

    domain_obj_lock(fx->obj);
    g_assert_true(domain_job_begin_nested(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &err));
    g_assert_no_error(err);
    domain_job_end(fx->obj);
    domain_job_end_async(fx->obj, DOMAIN_JOB_STATUS_COMPLETED);
    domain_obj_unlock(fx->obj);
}

/* ------------------------------------------------------ abort */

typedef struct {
    DomainObj *obj;
    gint hook_calls;
    gboolean hook_saw_abort_job;
    gboolean owner_saw_abort;
    GMutex lock;
    GCond cond;
    gboolean started;
} AbortData;

static gboolean abort_hook(DomainObj *obj, gpointer opaque, GError **error)
{
    AbortData *ad = opaque;

    /* Called locked, within the ABORT job: it could talk to QEMU. */
    ad->hook_saw_abort_job =
        domain_job_get_active(obj) == DOMAIN_JOB_ABORT && domain_obj_locks_held() == 1;
    domain_obj_enter_monitor(obj); /* migrate_cancel would go here */
    g_atomic_int_inc(&ad->hook_calls);
    return domain_obj_exit_monitor(obj, error);
}

/* The migration: waits for completion or an abort, as Perform3 does. */
static gpointer migration_owner_thread(gpointer opaque)
{
    AbortData *ad = opaque;
    GError *err = NULL;

    domain_obj_lock(ad->obj);
    g_assert_true(domain_job_begin_async(ad->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT,
                                         "remoteDispatchDomainMigratePerform3Params", 0, &err));
    g_assert_true(domain_job_set_phase(ad->obj, DOMAIN_MIGRATION_PHASE_PERFORM3, &err));
    domain_job_set_abort_hook(ad->obj, abort_hook, ad);

    g_mutex_lock(&ad->lock);
    ad->started = TRUE;
    g_cond_broadcast(&ad->cond);
    g_mutex_unlock(&ad->lock);

    while (!domain_job_abort_requested(ad->obj))
        g_cond_wait(&ad->obj->job_cond, &ad->obj->lock);
    ad->owner_saw_abort = TRUE;
    domain_job_end_async(ad->obj, DOMAIN_JOB_STATUS_CANCELED);
    domain_obj_unlock(ad->obj);
    g_assert_no_error(err);
    return NULL;
}

static void test_abort_async(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    AbortData ad = { .obj = fx->obj };

    /* Nothing to abort. */
    domain_obj_lock(fx->obj);
    g_assert_true(domain_job_begin(fx->obj, DOMAIN_JOB_ABORT, "domainAbortJob", &err));
    g_assert_false(domain_job_abort_async(fx->obj, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_assert_cmpstr(err->message, ==, "domain 'web1': no job is running to abort");
    g_clear_error(&err);
    domain_job_end(fx->obj);

    /* An async job without a hook cannot be aborted. */
    g_assert_true(domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_SAVE, "domainSave", 0, &err));
    g_assert_true(domain_job_begin(fx->obj, DOMAIN_JOB_ABORT, "domainAbortJob", &err));
    g_assert_false(domain_job_abort_async(fx->obj, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_NO_SUPPORT);
    g_clear_error(&err);
    domain_job_end(fx->obj);
    domain_job_end_async(fx->obj, DOMAIN_JOB_STATUS_FAILED);
    domain_obj_unlock(fx->obj);

    g_mutex_init(&ad.lock);
    g_cond_init(&ad.cond);
    GThread *owner = g_thread_new("migration", migration_owner_thread, &ad);
    g_mutex_lock(&ad.lock);
    while (!ad.started)
        g_cond_wait(&ad.cond, &ad.lock);
    g_mutex_unlock(&ad.lock);

    domain_obj_lock(fx->obj);
    g_assert_true(
        domain_job_begin(fx->obj, DOMAIN_JOB_ABORT, "remoteDispatchDomainAbortJob", &err));
    g_assert_true(domain_job_abort_async(fx->obj, &err));
    g_assert_no_error(err);
    domain_job_end(fx->obj);
    domain_obj_unlock(fx->obj);
    g_thread_join(owner);

    g_assert_cmpint(g_atomic_int_get(&ad.hook_calls), ==, 1);
    g_assert_true(ad.hook_saw_abort_job);
    g_assert_true(ad.owner_saw_abort);

    DomainJobInfo info;
    domain_obj_lock(fx->obj);
    domain_job_get_info(fx->obj, TRUE, &info);
    g_assert_cmpint(info.type, ==, DOMAIN_ASYNC_JOB_MIGRATION_OUT);
    g_assert_cmpint(info.status, ==, DOMAIN_JOB_STATUS_CANCELED);
    g_assert_cmpint(info.phase, ==, DOMAIN_MIGRATION_PHASE_PERFORM3);
    g_assert_false(domain_job_abort_requested(fx->obj));
    domain_obj_unlock(fx->obj);
    g_mutex_clear(&ad.lock);
    g_cond_clear(&ad.cond);
}

/* ------------------------------------------------------ went away */

typedef struct {
    DomainObj *obj;
    gboolean ok;
    GError *err;
} Waiter;

static gpointer modify_waiter_thread(gpointer opaque)
{
    Waiter *w = opaque;

    domain_obj_lock(w->obj);
    w->ok = domain_job_begin(w->obj, DOMAIN_JOB_MODIFY, "domainSetVcpus", &w->err);
    if (w->ok)
        domain_job_end(w->obj);
    domain_obj_unlock(w->obj);
    return NULL;
}

static void test_waiter_domain_removed(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    Waiter w = { fx->obj, FALSE, NULL };

    /* A long timeout: the waiter must be woken by the removal. */
    domain_obj_lock(fx->obj);
    g_assert_true(domain_job_begin(fx->obj, DOMAIN_JOB_DESTROY, "domainDestroy", &err));
    domain_obj_unlock(fx->obj);

    GThread *waiter = g_thread_new("waiter", modify_waiter_thread, &w);
    wait_for_waiters(fx->obj, 1);

    /* The destroy of a transient domain removes it, then ends its job. */
    domain_obj_lock(fx->obj);
    domain_obj_set_inactive(fx->obj, "destroyed");
    domain_list_remove(fx->list, fx->obj);
    domain_job_end(fx->obj);
    domain_obj_unlock(fx->obj);
    g_thread_join(waiter);

    g_assert_false(w.ok);
    g_assert_error(w.err, driver_quark(), FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(w.err->message, ==, "domain 'web1' went away while waiting for job 'modify'");
    g_clear_error(&w.err);

    /* Later callers learn it too. */
    domain_obj_lock(fx->obj);
    g_assert_false(domain_job_begin(fx->obj, DOMAIN_JOB_QUERY, "domainGetInfo", &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_NO_DOMAIN);
    domain_obj_unlock(fx->obj);
}

typedef struct {
    DomainList *list;
    DomainObj *obj;
    gboolean remove;
} Stopper;

static gpointer stopper_thread(gpointer opaque)
{
    Stopper *s = opaque;

    /* What the EOF handler does when QEMU dies (no job needed). */
    domain_obj_lock(s->obj);
    domain_obj_set_inactive(s->obj, "crashed");
    if (s->remove)
        domain_list_remove(s->list, s->obj);
    domain_obj_unlock(s->obj);
    return NULL;
}

static void test_exit_monitor_went_away(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    Stopper s = { fx->list, fx->obj, FALSE };

    domain_obj_lock(fx->obj);
    g_assert_true(domain_job_begin(fx->obj, DOMAIN_JOB_MODIFY, "domainSuspend", &err));
    domain_obj_enter_monitor(fx->obj);
    run_in_thread(stopper_thread, &s); /* the object lock is free meanwhile */
    g_assert_false(domain_obj_exit_monitor(fx->obj, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_FAILED);
    g_assert_cmpstr(err->message, ==,
                    "domain 'web1' went away while waiting for QEMU (it is no longer running)");
    g_clear_error(&err);

    /* The first error is kept. */
    domain_obj_enter_monitor(fx->obj);
    s.remove = TRUE;
    run_in_thread(stopper_thread, &s);
    g_set_error(&err, driver_quark(), FERRY_ERR_OPERATION_FAILED, "QMP command 'stop' failed");
    g_assert_false(domain_obj_exit_monitor(fx->obj, &err));
    g_assert_cmpstr(err->message, ==, "QMP command 'stop' failed");
    g_clear_error(&err);

    domain_obj_enter_remote(fx->obj);
    g_assert_false(domain_obj_exit_remote(fx->obj, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(err->message, ==, "domain 'web1' went away while waiting for the peer");
    domain_job_end(fx->obj);
    domain_obj_unlock(fx->obj);
}

/* ------------------------------------------------------ phase and info */

static void test_phase_never_backwards(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    domain_obj_lock(fx->obj);
    g_assert_false(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_BEGIN3, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_clear_error(&err);

    g_assert_true(
        domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "begin3", 0, &err));
    g_assert_true(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_BEGIN3, &err));
    g_assert_true(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_PERFORM3, &err));
    g_assert_true(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_PERFORM3, &err));
    g_assert_no_error(err);

    g_assert_false(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_BEGIN3, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_assert_cmpstr(err->message, ==,
                    "domain 'web1': migration protocol going backwards (from phase 'perform3' to "
                    "'begin3')");
    g_clear_error(&err);
    g_assert_false(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_PREPARE, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_assert_nonnull(strstr(err->message, "does not belong to a 'migration-out' job"));
    g_clear_error(&err);
    g_assert_cmpint(domain_job_get_phase(fx->obj), ==, DOMAIN_MIGRATION_PHASE_PERFORM3);

    g_assert_true(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_CONFIRM3, &err));
    g_assert_false(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_PERFORM3_DONE, &err));
    g_clear_error(&err);
    domain_job_end_async(fx->obj, DOMAIN_JOB_STATUS_COMPLETED);
    g_assert_cmpint(domain_job_get_phase(fx->obj), ==, DOMAIN_MIGRATION_PHASE_NONE);

    g_assert_true(
        domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, "prepare3", 0, &err));
    g_assert_true(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_PREPARE, &err));
    g_assert_true(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_FINISH3, &err));
    g_assert_false(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_PREPARE, &err));
    g_assert_error(err, driver_quark(), FERRY_ERR_OPERATION_INVALID);
    g_assert_nonnull(strstr(err->message, "migration protocol going backwards"));
    g_clear_error(&err);
    g_assert_false(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_CONFIRM3, &err));
    g_clear_error(&err);
    domain_job_end_async(fx->obj, DOMAIN_JOB_STATUS_FAILED);
    domain_obj_unlock(fx->obj);
}

static void test_job_info(JobFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    DomainJobInfo info;
    DomainJobProgress progress = {
        .data_total = 1 << 30,
        .data_processed = 1 << 29,
        .data_remaining = 1 << 29,
        .mem_bps = 100 << 20,
        .dirty_rate = 1000,
        .iteration = 3,
        .expected_downtime_ms = 42,
    };

    domain_obj_lock(fx->obj);
    domain_job_get_info(fx->obj, FALSE, &info);
    g_assert_cmpint(info.status, ==, DOMAIN_JOB_STATUS_NONE);
    domain_job_get_info(fx->obj, TRUE, &info);
    g_assert_cmpint(info.status, ==, DOMAIN_JOB_STATUS_NONE);

    g_assert_true(
        domain_job_begin_async(fx->obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "perform3", 0x10, &err));
    g_assert_true(domain_job_set_phase(fx->obj, DOMAIN_MIGRATION_PHASE_PERFORM3, &err));
    domain_job_update_progress(fx->obj, &progress);
    domain_job_get_info(fx->obj, FALSE, &info);
    g_assert_cmpint(info.type, ==, DOMAIN_ASYNC_JOB_MIGRATION_OUT);
    g_assert_cmpint(info.status, ==, DOMAIN_JOB_STATUS_ACTIVE);
    g_assert_cmpint(info.phase, ==, DOMAIN_MIGRATION_PHASE_PERFORM3);
    g_assert_cmphex(info.flags, ==, 0x10);
    g_assert_cmpint(info.elapsed_ms, >=, 0);
    g_assert_cmpint(info.started_ms, >, 0);
    g_assert_cmpuint(info.progress.data_remaining, ==, 1 << 29);
    g_assert_cmpuint(info.progress.iteration, ==, 3);
    g_assert_cmpuint(info.progress.expected_downtime_ms, ==, 42);

    progress.data_remaining = 0;
    progress.downtime_ms = 17;
    domain_job_update_progress(fx->obj, &progress);
    domain_job_end_async(fx->obj, DOMAIN_JOB_STATUS_COMPLETED);

    domain_job_get_info(fx->obj, FALSE, &info);
    g_assert_cmpint(info.status, ==, DOMAIN_JOB_STATUS_NONE);
    domain_job_get_info(fx->obj, TRUE, &info);
    g_assert_cmpint(info.status, ==, DOMAIN_JOB_STATUS_COMPLETED);
    g_assert_cmpint(info.type, ==, DOMAIN_ASYNC_JOB_MIGRATION_OUT);
    g_assert_cmpuint(info.progress.downtime_ms, ==, 17);
    g_assert_cmpuint(info.progress.data_remaining, ==, 0);
    g_assert_cmpstr(domain_job_status_to_string(info.status), ==, "completed");
    g_assert_cmpstr(domain_job_to_string(DOMAIN_JOB_MIGRATION_OP), ==, "migration-op");
    domain_obj_unlock(fx->obj);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) \
    g_test_add("/domain-job/" path, JobFixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("modify-mutual-exclusion", test_modify_mutual_exclusion);
    ADD("async-allows-query-refuses-modify", test_async_allows_query_refuses_modify);
    ADD("save-refuses-migration-op", test_save_refuses_migration_op);
    ADD("migration-in-refuses-suspend", test_migration_in_refuses_suspend);
    ADD("user-pause-and-resume-refusal", test_user_pause_and_resume_refusal);
    ADD("sync-timeout-names-holder", test_sync_timeout_names_holder);
    ADD("migration-event-wakes", test_migration_event_wakes);
    ADD("nested-only-for-owner", test_nested_only_for_owner);
    ADD("abort-async", test_abort_async);
    ADD("waiter-domain-removed", test_waiter_domain_removed);
    ADD("exit-monitor-went-away", test_exit_monitor_went_away);
    ADD("phase-never-backwards", test_phase_never_backwards);
    ADD("job-info", test_job_info);
#undef ADD
    return g_test_run();
}
