/*
 * test-migration-control.c: what a user does to a running migration, with
 * real QEMU on two "hosts" (migration-testutils.h): suspend and resume of
 * the source during Perform3 (a migration that cannot converge converges
 * once the guest is paused; an abort keeps what the user asked for), and
 * post-copy (migrate_start_postcopy, refused without the POSTCOPY flag; a
 * failure after post-copy began is never undone).
 *
 * These cases need a guest that dirties memory faster than the bandwidth:
 * kvm (QEMU 7.2's tcg loses dirty pages during migration); without it
 * they are skipped.
 */
#include <config.h>

#include <signal.h>
#include <string.h>

#include "util/error.h"
#include "tests/migration-testutils.h"
#include "tests/testproc.h"

/* A migration that cannot converge (the guest dirties ~8 MiB/s, the
 * bandwidth is 1 MiB/s) converges once the user suspends the source
 * during Perform3 (what virsh migrate --timeout-suspend does): the
 * suspend does not wait for the migration, the usual event goes out, and
 * the guest runs on the destination (suspending mid-way does not make
 * the destination paused).  A resume and a second suspend on the way make
 * the switchover check that the source's CPUs are stopped. */
static void test_suspend_converges(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    SequenceRun run = { fx, &dom, NULL, FALSE, NULL, 0, &arrived, 0 };
    EventLog log = { .seen = g_ptr_array_new_with_free_func(g_free) };
    g_autofree char *events = NULL;
    int type = -1;
    int id;

    if (!need_kvm(fx))
        return;
    start_guest(fx, &dom, FALSE);
    id = fx->src->ops->event_register_lifecycle(fx->src, &dom, event_log_cb, &log, NULL, &err);
    g_assert_no_error(err);
    run.params = mig_params(fx, &dom);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL);
    GThread *thread = g_thread_new("migrate", sequence_thread, &run);

    wait_iterations(fx, &dom, 3);
    g_assert_true(fx->src->ops->suspend(fx->src, &dom, &err));
    g_assert_no_error(err);
    /* resumed and suspended again: at the switchover the source's QEMU
     * is asked whether its CPUs are stopped (a resume may have raced with
     * QEMU's stop), which a migration nobody resumed skips */
    g_assert_true(fx->src->ops->resume(fx->src, &dom, &err));
    g_assert_no_error(err);
    trace_start(fx);
    g_assert_true(fx->src->ops->suspend(fx->src, &dom, &err));
    g_assert_no_error(err);
    {
        /* it did not wait for the migration: that still runs */
        g_autoptr(TypedParams) stats = NULL;

        g_assert_true(fx->src->ops->get_job_stats(fx->src, &dom, 0, &type, &stats, &err));
        g_assert_no_error(err);
        g_assert_cmpint(type, ==, DRIVER_JOB_UNBOUNDED);
    }
    g_thread_join(thread);
    g_autofree char *cmds = trace_source_commands(fx);
    trace_stop();
    g_assert_no_error(run.err);
    g_assert_true(run.ok);
    typed_params_free(run.params);
    g_test_message("source's QMP commands:%s", cmds);
    g_assert_nonnull(strstr(cmds, " query-status migrate-continue "));

    /* suspended by the user (3/0), resumed (4/0), suspended again, then
     * stopped: migrated (5/3) */
    events = event_log_text(&log, fx->a);
    g_assert_cmpstr(events, ==, "3/0 4/0 3/0 5/3");
    g_assert_true(fx->src->ops->event_deregister(fx->src, id, NULL));
    g_ptr_array_unref(log.seen);

    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_false(domain_exists(fx->src, "mig1"));
    wait_processes_gone(fx->root_a);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* Suspend, resume and suspend again during Perform3, then domjobabort:
 * the user's last word (paused) is what the source keeps; the
 * destination is gone; resumed later, the guest's memory is intact. */
static void test_suspend_abort(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    SequenceRun run = { fx, &dom, NULL, FALSE, NULL, 0, NULL, 0 };
    EventLog log = { .seen = g_ptr_array_new_with_free_func(g_free) };
    g_autofree char *events = NULL;
    g_autofree char *serial = serial_path(fx->root_a);
    guint tick = 0, checks = 0;
    int id;

    if (!need_kvm(fx))
        return;
    start_guest(fx, &dom, FALSE);
    id = fx->src->ops->event_register_lifecycle(fx->src, &dom, event_log_cb, &log, NULL, &err);
    g_assert_no_error(err);
    run.params = mig_params(fx, &dom);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL);
    GThread *thread = g_thread_new("migrate", sequence_thread, &run);

    wait_iterations(fx, &dom, 2);
    g_assert_true(fx->src->ops->suspend(fx->src, &dom, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->resume(fx->src, &dom, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->suspend(fx->src, &dom, &err));
    g_assert_no_error(err);
    /* about 8 MiB are left at 1 MiB/s: the abort comes well before */
    g_assert_true(fx->src->ops->abort_job(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    g_thread_join(thread);
    g_assert_false(run.ok);
    g_assert_nonnull(strstr(run.err->message, "aborted by the user"));
    g_clear_error(&run.err);
    typed_params_free(run.params);

    /* paused by the user, and so it stays: no job, nothing resumed it */
    g_assert_cmpint(state_of(fx->src, &dom), ==, DRIVER_STATE_PAUSED);
    events = event_log_text(&log, fx->a);
    g_assert_cmpstr(events, ==, "3/0 4/0 3/0");
    g_assert_true(fx->src->ops->event_deregister(fx->src, id, NULL));
    g_ptr_array_unref(log.seen);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);

    g_assert_true(serial_last(serial, &tick, &checks));
    check_source_untouched_paused(fx, &dom);
    wait_serial(serial, tick, checks, NULL, NULL);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* ---------------------------------------------------------------- post-copy */

/* A migration that cannot converge, started with POSTCOPY, switched to
 * post-copy from another thread: Perform3 returns in post-copy, the
 * guest runs on the destination at once (resumed, post-copy) while the
 * rest arrives, and its memory is all there. */
static void test_postcopy(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    SequenceRun run = { fx, &dom, NULL, FALSE, NULL, MIGRATION_POSTCOPY, &arrived, 0 };
    EventLog src_log = { .seen = g_ptr_array_new_with_free_func(g_free) };
    EventLog dst_log = { .seen = g_ptr_array_new_with_free_func(g_free) };
    g_autofree char *src_events = NULL;
    g_autofree char *dst_events = NULL;
    int src_id, dst_id;

    if (!need_kvm(fx))
        return;
    start_guest(fx, &dom, FALSE);
    src_id =
        fx->src->ops->event_register_lifecycle(fx->src, &dom, event_log_cb, &src_log, NULL, &err);
    g_assert_no_error(err);
    dst_id =
        fx->dst->ops->event_register_lifecycle(fx->dst, NULL, event_log_cb, &dst_log, NULL, &err);
    g_assert_no_error(err);
    run.params = mig_params(fx, &dom);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL);
    /* slow enough that the guest runs on the destination before all of
     * its memory is there */
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH_POSTCOPY, 1, NULL);
    GThread *thread = g_thread_new("migrate", sequence_thread, &run);

    wait_iterations(fx, &dom, 2);
    g_assert_false(g_atomic_int_get(&run.done));
    g_assert_true(fx->src->ops->migrate_start_postcopy(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    g_thread_join(thread);
    g_assert_no_error(run.err);
    g_assert_true(run.ok);
    typed_params_free(run.params);

    /* the source: paused for the switchover (3/1, unless post-copy came
     * first), for post-copy (3/7), stopped once complete (5/3); the
     * destination: started
     * migrated (2/1), resumed in post-copy (4/3) */
    src_events = event_log_text(&src_log, fx->a);
    if (!g_str_equal(src_events, "3/1 3/7 5/3") && !g_str_equal(src_events, "3/7 5/3"))
        g_error("source events: %s", src_events);
    dst_events = event_log_text(&dst_log, fx->b);
    g_assert_cmpstr(dst_events, ==, "2/1 4/3");
    g_assert_true(fx->src->ops->event_deregister(fx->src, src_id, NULL));
    g_assert_true(fx->dst->ops->event_deregister(fx->dst, dst_id, NULL));
    g_ptr_array_unref(src_log.seen);
    g_ptr_array_unref(dst_log.seen);

    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_false(domain_exists(fx->src, "mig1"));
    wait_processes_gone(fx->root_a);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* The source dies while the guest runs on the destination in post-copy:
 * that cannot be undone; the destination keeps its guest and the error
 * says so. */
static void test_postcopy_src_dies(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) there = DRIVER_DOMAIN_INIT;
    SequenceRun run = { fx, &dom, NULL, FALSE, NULL, MIGRATION_POSTCOPY, NULL, 0 };
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    int state = -1, reason = -1;

    if (!need_kvm(fx))
        return;
    start_guest(fx, &dom, FALSE);
    run.params = mig_params(fx, &dom);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH_POSTCOPY, 1, NULL);
    GThread *thread = g_thread_new("migrate", sequence_thread, &run);

    wait_iterations(fx, &dom, 2);
    g_assert_true(fx->src->ops->migrate_start_postcopy(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    /* the guest runs on the destination while pages still come */
    for (;;) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_assert_false(g_atomic_int_get(&run.done));
        if (fx->dst->ops->lookup_by_name(fx->dst, "mig1", &there, NULL) &&
            fx->dst->ops->get_state(fx->dst, &there, &state, &reason, 0, NULL) &&
            state == DRIVER_STATE_RUNNING)
            break;
        driver_domain_clear(&there);
        g_usleep(10000);
    }
    {
        g_autoptr(GArray) pids = test_processes_naming(fx->root_a);

        g_assert_cmpuint(pids->len, ==, 1);
        g_assert_cmpint(kill(g_array_index(pids, pid_t, 0), SIGKILL), ==, 0);
    }
    g_thread_join(thread);
    g_assert_false(run.ok);
    g_assert_nonnull(strstr(run.err->message, "cannot be undone"));
    g_clear_error(&run.err);
    typed_params_free(run.params);

    /* kept, not tied to the client: "running" (its vCPUs wait for pages
     * that will not come), reason postcopy-failed (11) */
    g_assert_true(fx->dst->ops->get_state(fx->dst, &there, &state, &reason, 0, &err));
    g_assert_no_error(err);
    g_assert_cmpint(state, ==, DRIVER_STATE_RUNNING);
    g_assert_cmpint(reason, ==, 11);
    driver_conn_unref(g_steal_pointer(&fx->dst));
    fx->dst = qemu_driver_conn_open(fx->b, 6, "qemu:///system");
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 1);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &there, 0, &err));
    g_assert_no_error(err);
}

/* migrate_start_postcopy without a migration, and during one started
 * without POSTCOPY: refused, and the migration goes on (it converges
 * once the bandwidth is raised). */
static void test_postcopy_refused(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    SequenceRun run = { fx, &dom, NULL, FALSE, NULL, 0, &arrived, 0 };
    g_autoptr(TypedParams) stats = NULL;
    int type = -1;

    if (!need_kvm(fx))
        return;
    start_guest(fx, &dom, FALSE);
    g_assert_false(fx->src->ops->migrate_start_postcopy(fx->src, &dom, 0, &err));
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_OPERATION_INVALID);
    g_assert_nonnull(strstr(err->message, "no outgoing migration is running"));
    g_clear_error(&err);

    run.params = mig_params(fx, &dom);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL);
    GThread *thread = g_thread_new("migrate", sequence_thread, &run);

    wait_iterations(fx, &dom, 2);
    g_assert_false(fx->src->ops->migrate_start_postcopy(fx->src, &dom, 0, &err));
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_OPERATION_INVALID);
    g_assert_nonnull(strstr(err->message, "not started with the post-copy flag"));
    g_clear_error(&err);
    g_assert_false(fx->src->ops->migrate_start_postcopy(fx->src, &dom, 1, &err));
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_INVALID_ARG);
    g_clear_error(&err);
    /* still migrating, the guest still running here */
    g_assert_true(fx->src->ops->get_job_stats(fx->src, &dom, 0, &type, &stats, &err));
    g_assert_cmpint(type, ==, DRIVER_JOB_UNBOUNDED);
    g_assert_cmpint(state_of(fx->src, &dom), ==, DRIVER_STATE_RUNNING);
    g_assert_true(fx->src->ops->migrate_set_max_speed(fx->src, &dom, 100000, 0, &err));
    g_assert_no_error(err);
    g_thread_join(thread);
    g_assert_no_error(run.err);
    g_assert_true(run.ok);
    typed_params_free(run.params);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

int main(int argc, char **argv)
{
    /* ~8 MiB/s dirtied: beyond a bandwidth of 1 MiB/s */
    static const FixtureOpts dirty = { .rate = 2000 };
    static const FixtureOpts dirty_small = { .rate = 2000, .fill_mib = 2 };

    migration_test_init(&argc, &argv);
#define ADD(path, fn, opts) \
    g_test_add("/migration/" path, Fixture, opts, fixture_setup, fn, fixture_teardown)
    ADD("suspend/converges", test_suspend_converges, &dirty_small);
    ADD("suspend/abort", test_suspend_abort, &dirty);
    ADD("postcopy/switch", test_postcopy, &dirty);
    ADD("postcopy/refused", test_postcopy_refused, &dirty_small);
    ADD("postcopy/src-dies", test_postcopy_src_dies, &dirty);
#undef ADD
    return g_test_run();
}
