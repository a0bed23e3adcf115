/*
 * test-migration-events.c: the MIGRATION_ITERATION and JOB_COMPLETED
 * domain events between two real ferryd ("hosts" A and B, real QEMU and
 * the test guest; migrate-testutils.h), as Debian's virsh, `ferry` and
 * libferry see them:
 *
 * - `virsh migrate --live --postcopy --postcopy-after-precopy` and the same
 *   with `ferry migrate`: the client switches to post-copy when A says the
 *   first pass ended; the guest runs on B with its memory intact, and A
 *   said SUSPENDED/POSTCOPY (the switch happened) before it went away;
 * - libferry: MIGRATION_ITERATION delivers increasing iteration numbers
 *   during a migration, JOB_COMPLETED comes once per side with the
 *   completed job's statistics, and nothing comes after deregistering;
 * - an event id ferry does not deliver is refused with a clear error, by
 *   libferry and by ferryd (virsh asks the daemon).
 *
 * The guest dirties memory under kvm (mem 8 MiB, 200 pages/s at 1 MiB/s:
 * the first pass alone takes seconds, so post-copy begins well before the
 * migration could converge).  Waits have safety deadlines only.
 */
#include <config.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ferry/ferry.h"
#include "tests/libferry-testutils.h"
#include "tests/migrate-testutils.h"

typedef MigrateFixture Fixture;

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    migrate_fixture_init(fx, "ferry-evA", "ferry-evB");
    ferryd_fixture_start(&fx->a, FALSE);
    ferryd_fixture_start(&fx->b, FALSE);
}

/* ---------------------------------------------------------------- what the callbacks saw */

typedef struct {
    GMutex lock;
    GCond cond;
    GArray *iterations; /* int, in arrival order */
    gboolean postcopy; /* SUSPENDED / POSTCOPY came */
    guint completed; /* JOB_COMPLETED events */
    int operation; /* of the last one */
    unsigned long long elapsed, processed, iteration;
    gboolean have_downtime;
} EventLog;

static void event_log_init(EventLog *log)
{
    memset(log, 0, sizeof(*log));
    g_mutex_init(&log->lock);
    g_cond_init(&log->cond);
    log->iterations = g_array_new(FALSE, FALSE, sizeof(int));
    log->operation = -1;
}

static void event_log_clear(EventLog *log)
{
    g_array_unref(log->iterations);
    g_cond_clear(&log->cond);
    g_mutex_clear(&log->lock);
}

static void on_lifecycle(FerryConnect *conn, FerryDomain *dom, int event, int detail, void *opaque)
{
    EventLog *log = opaque;

    g_mutex_lock(&log->lock);
    if (event == FERRY_DOMAIN_EVENT_SUSPENDED && detail == FERRY_DOMAIN_EVENT_SUSPENDED_POSTCOPY)
        log->postcopy = TRUE;
    g_cond_broadcast(&log->cond);
    g_mutex_unlock(&log->lock);
}

static void on_iteration(FerryConnect *conn, FerryDomain *dom, int iteration, void *opaque)
{
    EventLog *log = opaque;

    g_assert_cmpstr(ferry_domain_get_name(dom), ==, "g1");
    g_mutex_lock(&log->lock);
    g_array_append_val(log->iterations, iteration);
    g_cond_broadcast(&log->cond);
    g_mutex_unlock(&log->lock);
}

static void on_job_completed(FerryConnect *conn, FerryDomain *dom, FerryTypedParameter *params,
                             int nparams, void *opaque)
{
    EventLog *log = opaque;
    unsigned long long downtime = 0;

    g_assert_cmpstr(ferry_domain_get_name(dom), ==, "g1");
    g_mutex_lock(&log->lock);
    log->completed++;
    g_assert_cmpint(
        ferry_typed_params_get_int(params, nparams, FERRY_DOMAIN_JOB_OPERATION, &log->operation),
        ==, 1);
    g_assert_cmpint(ferry_typed_params_get_ullong(params, nparams, FERRY_DOMAIN_JOB_TIME_ELAPSED,
                                                  &log->elapsed),
                    ==, 1);
    g_assert_cmpint(ferry_typed_params_get_ullong(params, nparams, FERRY_DOMAIN_JOB_DATA_PROCESSED,
                                                  &log->processed),
                    ==, 1);
    g_assert_cmpint(ferry_typed_params_get_ullong(
                        params, nparams, FERRY_DOMAIN_JOB_MEMORY_ITERATION, &log->iteration),
                    ==, 1);
    log->have_downtime =
        ferry_typed_params_get_ullong(params, nparams, FERRY_DOMAIN_JOB_DOWNTIME, &downtime) == 1;
    g_cond_broadcast(&log->cond);
    g_mutex_unlock(&log->lock);
}

/* Waits until the log has n iterations / n completed jobs / post-copy. */
static void wait_iterations(EventLog *log, guint n)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    g_mutex_lock(&log->lock);
    while (log->iterations->len < n)
        g_assert_true(g_cond_wait_until(&log->cond, &log->lock, deadline) ||
                      log->iterations->len >= n);
    g_mutex_unlock(&log->lock);
}

static void wait_completed(EventLog *log, guint n)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    g_mutex_lock(&log->lock);
    while (log->completed < n)
        g_assert_true(g_cond_wait_until(&log->cond, &log->lock, deadline) || log->completed >= n);
    g_mutex_unlock(&log->lock);
}

static gboolean log_postcopy(EventLog *log)
{
    gboolean seen;

    g_mutex_lock(&log->lock);
    seen = log->postcopy;
    g_mutex_unlock(&log->lock);
    return seen;
}

/* Registrations of one test, dropped together. */
typedef struct {
    FerryConnect *conn;
    int id;
} Reg;

static int reg_any(FerryConnect *conn, FerryDomain *dom, int event_id,
                   FerryDomainEventGenericCallback cb, EventLog *log)
{
    int id = ferry_connect_domain_event_register_any(conn, dom, event_id, cb, log, NULL);

    if (id < 0)
        g_error("register event %d: %s", event_id, ferry_get_last_error_message());
    return id;
}

/* On A for g1: lifecycle (post-copy), iteration, job completed; on B for
 * every domain (g1 is not there yet): job completed. */
static void watch_both(Fixture *fx, EventLog *a, EventLog *b, Reg regs[4])
{
    FerryDomain *dom = ferry_domain_lookup_by_name(CONN_A(fx), "g1");

    g_assert_nonnull(dom);
    regs[0] = (Reg){ CONN_A(fx), reg_any(CONN_A(fx), dom, FERRY_DOMAIN_EVENT_ID_LIFECYCLE,
                                         FERRY_DOMAIN_EVENT_CALLBACK(on_lifecycle), a) };
    regs[1] = (Reg){ CONN_A(fx), reg_any(CONN_A(fx), dom, FERRY_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
                                         FERRY_DOMAIN_EVENT_CALLBACK(on_iteration), a) };
    regs[2] = (Reg){ CONN_A(fx), reg_any(CONN_A(fx), dom, FERRY_DOMAIN_EVENT_ID_JOB_COMPLETED,
                                         FERRY_DOMAIN_EVENT_CALLBACK(on_job_completed), a) };
    regs[3] = (Reg){ CONN_B(fx), reg_any(CONN_B(fx), NULL, FERRY_DOMAIN_EVENT_ID_JOB_COMPLETED,
                                         FERRY_DOMAIN_EVENT_CALLBACK(on_job_completed), b) };
    ferry_domain_free(dom);
}

static void unwatch(Reg *regs, gsize n)
{
    for (gsize i = 0; i < n; i++)
        g_assert_cmpint(ferry_connect_domain_event_deregister(regs[i].conn, regs[i].id), ==, 0);
}

/* The iterations came in increasing order, from 1 on. */
static void check_iterations(EventLog *log, guint at_least)
{
    g_autoptr(GString) seen = g_string_new(NULL);

    g_mutex_lock(&log->lock);
    for (guint i = 0; i < log->iterations->len; i++)
        g_string_append_printf(seen, " %d", g_array_index(log->iterations, int, i));
    g_test_message("iterations on A:%s", seen->str);
    g_assert_cmpuint(log->iterations->len, >=, at_least);
    g_assert_cmpint(g_array_index(log->iterations, int, 0), >=, 1);
    for (guint i = 1; i < log->iterations->len; i++)
        g_assert_cmpint(g_array_index(log->iterations, int, i), >,
                        g_array_index(log->iterations, int, i - 1));
    g_mutex_unlock(&log->lock);
}

/* Both sides' JOB_COMPLETED came, once each (a moment after the first, no
 * second), with the statistics of the job: migration out on A, in on B. */
static void check_completed(EventLog *a, EventLog *b)
{
    wait_completed(a, 1);
    wait_completed(b, 1);
    g_usleep(300 * 1000); /* a duplicate would be queued right behind */
    g_mutex_lock(&a->lock);
    g_test_message("job-completed on A: operation %d, time_elapsed %llu ms, data_processed %llu, "
                   "memory_iteration %llu",
                   a->operation, a->elapsed, a->processed, a->iteration);
    g_assert_cmpuint(a->completed, ==, 1);
    g_assert_cmpint(a->operation, ==, 5); /* MIGRATION_OUT */
    g_assert_cmpuint(a->elapsed, >, 0);
    g_assert_cmpuint(a->processed, >, 0);
    g_assert_true(a->have_downtime);
    g_mutex_unlock(&a->lock);
    g_mutex_lock(&b->lock);
    g_test_message("job-completed on B: operation %d, time_elapsed %llu ms, data_processed %llu",
                   b->operation, b->elapsed, b->processed);
    g_assert_cmpuint(b->completed, ==, 1);
    g_assert_cmpint(b->operation, ==, 4); /* MIGRATION_IN */
    g_assert_cmpuint(b->processed, >, 0);
    g_mutex_unlock(&b->lock);
}

/* virsh ARGS... in the background, its output in dir/virsh-bg.{out,err}. */
static Background *virsh_background(const char *dir, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();

    g_ptr_array_add(argv, (gpointer)VIRSH);
    for (gsize i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    return background_start(dir, "virsh", (const char *const *)argv->pdata);
}

/* ---------------------------------------------------------------- cases */

/* Debian's virsh: migrate --live --postcopy --postcopy-after-precopy.
 * virsh registers MIGRATION_ITERATION on A and calls migrate-start-postcopy
 * at iteration 2; `virsh event --event job-completed` on B decodes B's
 * JOB_COMPLETED message. */
static void test_virsh(Fixture *fx, gconstpointer data)
{
    EventLog a, b;
    Reg regs[4];

    if (!lft_have_guest() || !have_virsh())
        return;
    if (!fx->kvm) {
        g_test_skip("needs a guest that dirties memory (kvm)");
        return;
    }
    start_guest(fx, "g1", 8, 200, FALSE, FALSE);
    event_log_init(&a);
    event_log_init(&b);
    watch_both(fx, &a, &b, regs);
    g_autoptr(Background) ev = virsh_background(
        fx->b.root, (const char *const[]){ "-c", fx->b.tcp_uri, "event", "--event", "job-completed",
                                           "--timeout", "120", NULL });
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = run_argv(
        (const char *const[]){ VIRSH, "-c", fx->a.tcp_uri, "migrate", "--live", "--postcopy",
                               "--postcopy-after-precopy", "--verbose", "--bandwidth", "1", "--xml",
                               dxml, "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri, NULL });
    g_test_message("virsh migrate's stderr: %s", mig->err);
    assert_run_ok(mig, "virsh migrate --live --postcopy --postcopy-after-precopy --verbose");
    g_assert_true(g_regex_match_simple("Migration: \\[100(\\.00)? %\\]", mig->err, 0, 0));
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, -1);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));
    check_guest_moved(fx, "g1", "g1", TRUE);
    /* the switch happened, after the first pass */
    g_assert_true(log_postcopy(&a));
    check_iterations(&a, 2);
    check_completed(&a, &b);

    g_autoptr(Run) evrun = background_wait(ev);
    g_test_message("virsh event on B: %s", evrun->out);
    assert_run_ok(evrun, "virsh event --event job-completed");
    assert_has(evrun->out, "event 'job-completed' for domain 'g1':");
    assert_has(evrun->out, "operation: 4");
    assert_has(evrun->out, "events received: 1");
    unwatch(regs, G_N_ELEMENTS(regs));
    event_log_clear(&a);
    event_log_clear(&b);
}

/* The same with `ferry migrate`; `ferry event --event job-completed` on A
 * prints the source's statistics. */
static void test_ferry(Fixture *fx, gconstpointer data)
{
    EventLog a, b;
    Reg regs[4];

    if (!lft_have_guest())
        return;
    if (!fx->kvm) {
        g_test_skip("needs a guest that dirties memory (kvm)");
        return;
    }
    start_guest(fx, "g1", 8, 200, FALSE, FALSE);
    event_log_init(&a);
    event_log_init(&b);
    watch_both(fx, &a, &b, regs);
    g_autoptr(Background) ev = FERRY_BG(fx->b.root, fx->a.tcp_uri, "event", "--domain", "g1",
                                        "--event", "job-completed", "--timeout", "120");
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--live", "--postcopy",
                               "--postcopy-after-precopy", "--verbose", "--bandwidth", "1", "--xml",
                               dxml, "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    g_test_message("ferry migrate's stderr: %s", mig->err);
    assert_run_ok(mig, "ferry migrate --postcopy --postcopy-after-precopy");
    assert_has(mig->err, "Migration: the first pass ended: switching to post-copy\n");
    g_assert_null(strstr(mig->err, "warning"));
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));
    check_guest_moved(fx, "g1", "g1", TRUE);
    g_assert_true(log_postcopy(&a));
    check_iterations(&a, 2);
    check_completed(&a, &b);

    g_autoptr(Run) evrun = background_wait(ev);
    g_test_message("ferry event on A: %s", evrun->out);
    assert_run_ok(evrun, "ferry event --event job-completed");
    assert_has(evrun->out, "event 'job-completed' for domain 'g1':\n\toperation: 5\n");
    assert_has(evrun->out, "events received: 1\n");
    unwatch(regs, G_N_ELEMENTS(regs));
    event_log_clear(&a);
    event_log_clear(&b);

    /* the option needs --postcopy */
    g_autoptr(Run) bad =
        FERRY(fx->b.tcp_uri, "migrate", "--live", "--postcopy-after-precopy", "g1", fx->a.tcp_uri);
    assert_run_error(bad, "--postcopy-after-precopy alone",
                     "option --postcopy-after-precopy requires option --postcopy");
}

/* libferry: a pre-copy migration (ferry_domain_migrate3) that does not
 * converge until sped up after its third pass: increasing iterations,
 * one JOB_COMPLETED per side; after deregistering, nothing more. */
static void test_api(Fixture *fx, gconstpointer data)
{
    Migrate3Run run = { 0 };
    EventLog a, b;
    Reg regs[4];
    int maxparams = 0;
    g_autofree char *dxml = NULL;
    g_autofree char *dxml_text = NULL;

    if (!lft_have_guest())
        return;
    if (!fx->kvm) {
        g_test_skip("needs a guest that dirties memory (kvm)");
        return;
    }
    start_guest(fx, "g1", 4, 4000, FALSE, FALSE);
    event_log_init(&a);
    event_log_init(&b);
    watch_both(fx, &a, &b, regs);
    run.dom = ferry_domain_lookup_by_name(CONN_A(fx), "g1");
    run.dconn = CONN_B(fx);
    dxml = dest_xml_file(fx, "g1");
    g_assert_true(g_file_get_contents(dxml, &dxml_text, NULL, NULL));
    g_assert_cmpint(ferry_typed_params_add_string(&run.params, &run.nparams, &maxparams,
                                                  FERRY_MIGRATE_PARAM_DEST_XML, dxml_text),
                    ==, 0);
    g_assert_cmpint(ferry_typed_params_add_string(&run.params, &run.nparams, &maxparams,
                                                  FERRY_MIGRATE_PARAM_URI, migrate_uri(fx)),
                    ==, 0);
    g_assert_cmpint(ferry_typed_params_add_ullong(&run.params, &run.nparams, &maxparams,
                                                  FERRY_MIGRATE_PARAM_BANDWIDTH, 4),
                    ==, 0);
    GThread *thread = g_thread_new("migrate3", migrate3_thread, &run);
    wait_iterations(&a, 3);
    g_assert_cmpint(ferry_domain_migrate_set_max_speed(run.dom, 10000, 0), ==, 0);
    g_thread_join(thread);
    if (!run.ddom)
        g_error("ferry_domain_migrate3: %s", run.error);
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, -1);
    check_guest_moved(fx, "g1", "g1", FALSE);
    check_iterations(&a, 3);
    check_completed(&a, &b);
    g_mutex_lock(&a.lock);
    g_assert_false(a.postcopy);
    /* the completed job counted the passes the events announced */
    g_assert_cmpuint(a.iteration, >=, 3);
    g_mutex_unlock(&a.lock);

    /* deregistered: the id is gone */
    unwatch(regs, G_N_ELEMENTS(regs));
    g_assert_cmpint(ferry_connect_domain_event_deregister(CONN_A(fx), regs[1].id), ==, -1);
    assert_has(ferry_get_last_error_message(), "no event callback");
    ferry_domain_free(run.ddom);
    ferry_domain_free(run.dom);
    ferry_typed_params_free(run.params, run.nparams);
    event_log_clear(&a);
    event_log_clear(&b);
}

static void never_called(FerryConnect *conn, FerryDomain *dom, int iteration, void *opaque)
{
    g_assert_not_reached();
}

/* An event id ferry does not deliver: libferry refuses it, and so does
 * ferryd when virsh asks (REGISTER_ANY with the reboot event, id 1); the
 * ids it has are accepted there, by virsh and by `ferry event`. */
static void test_unknown_id(Fixture *fx, gconstpointer data)
{
    const FerryError *err;

    g_assert_cmpint(ferry_connect_domain_event_register_any(
                        CONN_A(fx), NULL, 1, FERRY_DOMAIN_EVENT_CALLBACK(never_called), NULL, NULL),
                    ==, -1);
    err = ferry_get_last_error();
    g_assert_nonnull(err);
    g_test_message("libferry: %s", err->message);
    g_assert_cmpint(err->code, ==, FERRY_ERROR_NO_SUPPORT);
    assert_has(err->message, "domain event id 1 is not supported");
    assert_has(err->message, "migration-iteration (20), job-completed (21)");
    g_assert_cmpint(ferry_connect_domain_event_register_any(CONN_A(fx), NULL, 20, NULL, NULL, NULL),
                    ==, -1);
    assert_has(ferry_get_last_error_message(), "callback is NULL");
    g_assert_cmpstr(ferry_domain_event_id_name(20), ==, "migration-iteration");
    g_assert_null(ferry_domain_event_id_name(1));

    g_autoptr(Run) list = FERRY(fx->a.tcp_uri, "event", "--list");
    assert_run_ok(list, "ferry event --list");
    g_assert_cmpstr(list->out, ==, "lifecycle\nmigration-iteration\njob-completed\n");
    g_autoptr(Run) all = FERRY(fx->a.tcp_uri, "event", "--all", "--timeout", "1");
    assert_run_ok(all, "ferry event --all");
    g_assert_cmpstr(all->out, ==, "event loop timed out\nevents received: 0\n");
    g_autoptr(Run) unk = FERRY(fx->a.tcp_uri, "event", "--event", "reboot");
    assert_run_error(unk, "ferry event --event reboot", "unknown event type reboot");

    if (!have_virsh())
        return;
    g_autoptr(Run) reboot = run_argv((const char *const[]){
        VIRSH, "-c", fx->a.tcp_uri, "event", "--event", "reboot", "--timeout", "1", NULL });
    g_test_message("virsh event --event reboot: status %d, stderr: %s", reboot->status,
                   reboot->err);
    g_assert_cmpint(reboot->status, !=, 0);
    assert_has(reboot->err, "domain event id 1 is not supported");
    g_autoptr(Run) iter =
        run_argv((const char *const[]){ VIRSH, "-c", fx->a.tcp_uri, "event", "--event",
                                        "migration-iteration", "--timeout", "1", NULL });
    /* registered and deregistered with no error; virsh's exit status
     * after a timeout with no event is 1 */
    g_test_message("virsh event --event migration-iteration: status %d, stderr: %s", iter->status,
                   iter->err);
    g_assert_cmpstr(iter->err, ==, "");
    assert_has(iter->out, "event loop timed out\nevents received: 0");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) \
    g_test_add("/migration-events/" path, Fixture, NULL, fixture_setup, fn, \
               migrate_fixture_teardown)
    ADD("unknown-id", test_unknown_id);
    ADD("api-iteration-job-completed", test_api);
    ADD("virsh-postcopy-after-precopy", test_virsh);
    ADD("ferry-postcopy-after-precopy", test_ferry);
#undef ADD
    return g_test_run();
}
