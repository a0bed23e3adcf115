/*
 * test-migration.c: v3 live migration between two QEMU drivers in one
 * process (two "hosts", real QEMU, the test guest: the fixture is
 * migration-testutils.h): the phases, their options, and every failure
 * unwinding to one running guest.  Suspend, resume and post-copy during a
 * migration are in test-migration-control.c.
 */
#include <config.h>

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "driver/domain_obj.h"
#include "driver/qemu_monitor.h"
#include "util/error.h"
#include "util/log.h"
#include "tests/migration-testutils.h"
#include "tests/testproc.h"

/* ---------------------------------------------------------------- cases */

static void test_features(Fixture *fx, gconstpointer data)
{
    const int features[] = {
        DRIVER_FEATURE_MIGRATION_V3,
        DRIVER_FEATURE_MIGRATION_PARAMS,
        DRIVER_FEATURE_MIGRATE_CHANGE_PROTECTION,
        DRIVER_FEATURE_MIGRATION_OFFLINE,
    };

    for (gsize i = 0; i < G_N_ELEMENTS(features); i++) {
        gboolean supported = FALSE;

        g_assert_true(fx->src->ops->supports_feature(fx->src, features[i], &supported, NULL));
        g_assert_true(supported);
    }
}

/* The destination keeps the migration as its completed job (the
 * source's statistics, cookie 3): domjobinfo --completed there shows the
 * time, the downtime and the data. */
static void check_dst_completed_job(Fixture *fx, const DriverDomain *arrived)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TypedParams) stats = NULL;
    unsigned long long elapsed = 0, downtime = G_MAXUINT64, processed = 0, total = 0;
    int type = -1, op = -1;

    g_assert_true(fx->dst->ops->get_job_stats(fx->dst, arrived, DRIVER_JOB_STATS_COMPLETED, &type,
                                              &stats, &err));
    g_assert_no_error(err);
    g_assert_cmpint(type, ==, DRIVER_JOB_COMPLETED);
    g_assert_cmpint(typed_params_get_int(stats, "operation", &op, NULL), ==, 1);
    g_assert_cmpint(op, ==, 4); /* VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN */
    g_assert_cmpint(typed_params_get_ullong(stats, "time_elapsed", &elapsed, NULL), ==, 1);
    g_assert_cmpint(typed_params_get_ullong(stats, "downtime", &downtime, NULL), ==, 1);
    g_assert_cmpint(typed_params_get_ullong(stats, "data_processed", &processed, NULL), ==, 1);
    g_assert_cmpint(typed_params_get_ullong(stats, "memory_total", &total, NULL), ==, 1);
    g_assert_cmpuint(elapsed, >, 0);
    g_assert_cmpuint(downtime, <, elapsed);
    /* the guest filled fill_mib: at least that much went over */
    g_assert_cmpuint(processed, >=, (unsigned long long)fx->fill_mib * 1024 * 1024);
    /* 64 MiB of guest RAM */
    g_assert_cmpuint(total, >=, 60ULL * 1024 * 1024);
}

static void test_live(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, &arrived, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(arrived.name, ==, "mig1");
    g_assert_cmpint(arrived.id, >, 0);

    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_false(domain_exists(fx->src, "mig1"));
    wait_processes_gone(fx->root_a);
    check_guest_moved(fx);
    check_dst_completed_job(fx, &arrived);

    /* the destination owns it now: closing the preparing connection
     * leaves it running */
    driver_conn_unref(g_steal_pointer(&fx->dst));
    fx->dst = qemu_driver_conn_open(fx->b, 3, "qemu:///system");
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

static void test_paused_persist_undefine(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    gboolean persistent = FALSE;
    unsigned int flags =
        MIGRATION_LIVE | MIGRATION_PAUSED | MIGRATION_PERSIST_DEST | MIGRATION_UNDEFINE_SOURCE;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, TRUE);
    params = mig_params(fx, &dom);
    g_assert_cmpint(typed_params_add_ullong(params, MIGRATION_PARAM_BANDWIDTH, 1000, NULL), ==, 0);
    migration_sequence(fx->src, fx->dst, &dom, params, flags, &arrived, &err);
    g_assert_no_error(err);

    /* PAUSED: it waits on the destination */
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_PAUSED);
    /* UNDEFINE_SOURCE: gone from the source */
    g_assert_false(domain_exists(fx->src, "mig1"));
    wait_processes_gone(fx->root_a);
    /* PERSIST_DEST: defined there, and still after a driver restart */
    g_assert_true(fx->dst->ops->is_persistent(fx->dst, &arrived, &persistent, &err));
    g_assert_true(persistent);
    driver_conn_unref(g_steal_pointer(&fx->dst));
    qemu_driver_close(fx->b);
    fx->b = open_driver(fx->root_b, HOST_B_UUID, "hostB", fx->kvm, fx->lease_dir, NULL);
    fx->dst = qemu_driver_conn_open(fx->b, 4, "qemu:///system");
    g_assert_true(fx->dst->ops->is_persistent(fx->dst, &arrived, &persistent, &err));
    g_assert_no_error(err);
    g_assert_true(persistent);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_PAUSED);

    /* resumed, it runs on from where it was */
    g_assert_true(fx->dst->ops->resume(fx->dst, &arrived, &err));
    g_assert_no_error(err);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
    g_assert_true(fx->dst->ops->undefine(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

static void test_offline(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autofree char *xml = guest_xml(fx, fx->root_a, "mig1", 64);
    gboolean persistent = FALSE, active = TRUE;

    g_assert_true(fx->src->ops->define_xml(fx->src, xml, 0, &dom, &err));
    g_assert_no_error(err);
    g_assert_true(migration_sequence(
        fx->src, fx->dst, &dom, NULL,
        MIGRATION_OFFLINE | MIGRATION_PERSIST_DEST | MIGRATION_UNDEFINE_SOURCE, &arrived, &err));
    g_assert_no_error(err);
    g_assert_false(domain_exists(fx->src, "mig1"));
    g_assert_true(fx->dst->ops->is_persistent(fx->dst, &arrived, &persistent, &err));
    g_assert_true(persistent);
    g_assert_true(fx->dst->ops->is_active(fx->dst, &arrived, &active, &err));
    g_assert_false(active);
    g_assert_cmpuint(processes_naming(fx->root_a) + processes_naming(fx->root_b), ==, 0);
}

static void test_same_host(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, NULL, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "migrating to the same host"));
    g_assert_nonnull(strstr(err->message, "'mig1'"));
    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

static void test_fail_begin(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) bad = NULL;
    g_autofree char *other = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    /* a flag ferry does not do (storage migration) */
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params,
                                      MIGRATION_LIVE | MIGRATION_NON_SHARED_DISK, NULL, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_NO_SUPPORT);
    g_assert_nonnull(strstr(err->message, "--copy-storage-all is not supported"));
    g_clear_error(&err);
    check_source_untouched(fx, &dom);
    /* one libvirt has no name for */
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE | (1U << 28),
                                      NULL, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_NO_SUPPORT);
    g_assert_nonnull(strstr(err->message, "unsupported flags 0x10000000"));
    g_clear_error(&err);
    check_source_untouched(fx, &dom);

    /* a destination XML that changes the guest (ABI check) */
    bad = typed_params_new();
    other = guest_xml(fx, fx->root_b, "mig1", 128);
    typed_params_add_string(bad, MIGRATION_PARAM_DEST_XML, other, NULL);
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, bad, MIGRATION_LIVE, NULL, &err));
    g_assert_nonnull(strstr(err->message, "changes the guest"));
    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

static void test_fail_prepare_port(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *uri = NULL;
    int port = 0;
    int fd;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    fd = listen_any(&port);
    params = mig_params(fx, &dom);
    uri = g_strdup_printf("tcp:127.0.0.1:%d", port);
    typed_params_add_string(params, MIGRATION_PARAM_URI, uri, NULL);
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, NULL, &err));
    g_assert_nonnull(strstr(err->message, "cannot listen"));
    close(fd);
    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* The phases by hand: Perform3 to a port nobody listens on. */
static void test_fail_perform(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(TypedParams) sparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    g_autofree char *xml = NULL, *uri = NULL, *bad_uri = NULL;
    int port = 0;
    int fd;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    g_assert_true(g_str_has_prefix(uri, "tcp:127.0.0.1:"));

    /* a port that was free a moment ago */
    fd = listen_any(&port);
    close(fd);
    bad_uri = g_strdup_printf("tcp:127.0.0.1:%d", port);
    sparams = typed_params_copy(params);
    typed_params_add_string(sparams, MIGRATION_PARAM_URI, bad_uri, NULL);
    g_assert_false(fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, c2, MIGRATION_LIVE,
                                                  &c3, &err));
    g_assert_nonnull(err);
    /* ferry connects itself: the error names the address that refused */
    {
        g_autofree char *expected = g_strdup_printf(
            "domain 'mig1': cannot connect to 127.0.0.1:%d for the migration: ", port);

        if (!g_str_has_prefix(err->message, expected) || !strstr(err->message, "refused"))
            g_error("unexpected error: %s", err->message);
    }
    /* the source runs on already */
    g_assert_cmpint(state_of(fx->src, &dom), ==, DRIVER_STATE_RUNNING);

    typed_params_add_string(params, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    g_assert_false(fx->dst->ops->migrate_finish3(fx->dst, params, c3, MIGRATION_LIVE, TRUE,
                                                 &arrived, &c4, &err2));
    g_assert_nonnull(strstr(err2->message, "cancelled"));
    g_clear_error(&err2);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, NULL, NULL, MIGRATION_LIVE, TRUE, &err2));
    g_assert_no_error(err2);
    check_source_untouched(fx, &dom);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* The migration capabilities the source's QEMU has on now (names, in
 * QEMU's order, space-separated). */
static char *source_caps_on(Fixture *fx, const DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuMonitor) mon = NULL;
    g_autoptr(json_object) ret = NULL;
    g_autoptr(GString) on = g_string_new("");

    {
        g_autoptr(DomainObj) obj = domain_list_find_by_uuid(qemu_driver_get_domains(fx->a),
                                                            dom->uuid, DOMAIN_LOOKUP_LOCKED, NULL);

        g_assert_nonnull(obj);
        mon = qemu_monitor_ref(domain_obj_get_monitor(obj));
        domain_obj_unlock(obj);
    }
    ret = qmp_call(mon, "query-migrate-capabilities", NULL, &err);
    g_assert_no_error(err);
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *c = json_object_array_get_idx(ret, i);
        json_object *name = NULL, *state = NULL;

        g_assert_true(json_object_object_get_ex(c, "capability", &name));
        g_assert_true(json_object_object_get_ex(c, "state", &state));
        if (json_object_get_boolean(state))
            g_string_append_printf(on, "%s%s", on->len ? " " : "", json_object_get_string(name));
    }
    return g_string_free(g_steal_pointer(&on), FALSE);
}

/* Begin3, Prepare3, a Perform3 that QEMU's capabilities reach but whose
 * connection is refused, then Finish3 and Confirm3 cancelled. */
static void perform_refused(Fixture *fx, const DriverDomain *dom, unsigned int flags)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TypedParams) params = mig_params(fx, dom);
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(TypedParams) sparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    g_autofree char *xml = NULL, *uri = NULL, *bad_uri = NULL;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    int port = 0;

    g_assert_true(fx->src->ops->migrate_begin3(fx->src, dom, params, flags, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, flags, &c2, &uri, &err));
    g_assert_no_error(err);
    close(listen_any(&port));
    bad_uri = g_strdup_printf("tcp:127.0.0.1:%d", port);
    sparams = typed_params_copy(params);
    typed_params_add_string(sparams, MIGRATION_PARAM_URI, bad_uri, NULL);
    g_assert_false(
        fx->src->ops->migrate_perform3(fx->src, dom, NULL, sparams, c2, flags, &c3, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    typed_params_add_string(params, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    g_assert_false(
        fx->dst->ops->migrate_finish3(fx->dst, params, c3, flags, TRUE, &arrived, &c4, &err));
    g_clear_error(&err);
    g_assert_true(fx->src->ops->migrate_confirm3(fx->src, dom, NULL, NULL, flags, TRUE, &err));
    g_assert_no_error(err);
}

/* ferry sends QEMU only the capabilities that change: what a failed
 * migration left on is turned off by the next one, which then succeeds. */
static void test_caps_after_failure(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *before = NULL, *left = NULL, *after = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    before = source_caps_on(fx, &dom);
    g_assert_cmpstr(before, ==, ""); /* QEMU's defaults */
    perform_refused(fx, &dom, MIGRATION_LIVE | MIGRATION_AUTO_CONVERGE);
    left = source_caps_on(fx, &dom);
    g_assert_cmpstr(left, ==, "auto-converge events pause-before-switchover");
    perform_refused(fx, &dom, MIGRATION_LIVE);
    after = source_caps_on(fx, &dom);
    g_assert_cmpstr(after, ==, "events pause-before-switchover");
    check_source_untouched(fx, &dom);

    params = mig_params(fx, &dom);
    migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, &arrived, &err);
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* domjobabort during Perform3 (slowed down to 1 MiB/s): the source
 * resumes, the destination is gone, the user sees the abort. */
static void test_abort_perform(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    SequenceRun run = { fx, &dom, NULL, FALSE, NULL };
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    int type = -1;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    run.params = mig_params(fx, &dom);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL);
    GThread *thread = g_thread_new("migrate", sequence_thread, &run);

    /* wait until QEMU migrates and measures its rate: the bandwidth asked
     * for (1 MiB/s; QEMU's own default would be 128 MiB/s, ferry's
     * unlimited) bounds it */
    for (;;) {
        g_autoptr(TypedParams) stats = NULL;
        unsigned long long processed = 0, bps = 0;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (fx->src->ops->get_job_stats(fx->src, &dom, 0, &type, &stats, NULL) &&
            type == DRIVER_JOB_UNBOUNDED &&
            typed_params_get_ullong(stats, "memory_processed", &processed, NULL) == 1 &&
            typed_params_get_ullong(stats, "memory_bps", &bps, NULL) == 1 && processed > 0 &&
            bps > 0) {
            g_assert_cmpuint(bps, <=, 4 * 1024 * 1024);
            break;
        }
        g_usleep(10000);
    }
    /* QEMU's MIGRATION events reach the job (setup, active) */
    for (guint events = 0; events == 0;) {
        g_autoptr(DomainObj) obj = domain_list_find_by_uuid(qemu_driver_get_domains(fx->a),
                                                            dom.uuid, DOMAIN_LOOKUP_LOCKED, NULL);

        g_assert_nonnull(obj);
        events = domain_job_migration_events(obj);
        domain_obj_unlock(obj);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (!events)
            g_usleep(10000);
    }
    g_assert_true(fx->src->ops->abort_job(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    g_thread_join(thread);
    g_assert_false(run.ok);
    g_assert_nonnull(run.err);
    g_assert_nonnull(strstr(run.err->message, "aborted by the user"));
    g_clear_error(&run.err);
    typed_params_free(run.params);

    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    /* the guest kept its memory across the cancelled migration */
    {
        g_autofree char *serial = serial_path(fx->root_a);
        guint tick = 0, checks = 0;

        g_assert_true(serial_last(serial, &tick, &checks));
        wait_serial(serial, tick, checks, NULL, NULL);
    }
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* Finish3 fails (a persistent_xml for another domain): the destination
 * QEMU is killed and Confirm3 (cancelled) resumes the source. */
static void test_fail_finish(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *other =
        guest_xml_disk(fx, fx->root_b, "other", "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", 64, NULL);
    g_autofree char *serial = serial_path(fx->root_a);
    guint tick = 0, checks = 0;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    typed_params_add_string(params, MIGRATION_PARAM_PERSIST_XML, other, NULL);
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params,
                                      MIGRATION_LIVE | MIGRATION_PERSIST_DEST, NULL, &err));
    g_assert_nonnull(strstr(err->message, "finish: the persistent XML has another uuid"));
    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_false(domain_exists(fx->dst, "other"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    /* the guest runs on at the source, its memory intact */
    g_assert_true(serial_last(serial, &tick, &checks));
    wait_serial(serial, tick, checks, NULL, NULL);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* ferryd.conf's migration settings on the destination (no listen_address
 * given): the port comes from its migration port range, the URI's host
 * from migration_host, or from migration_address when that names one
 * address (not the host's name, "hostB", which does not resolve). */
static void test_conf_addr(Fixture *fx, gconstpointer data)
{
    const FixtureOpts *opts = data;
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(TypedParams) sparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    g_autofree char *xml = NULL, *uri = NULL;
    int port = 0;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    typed_params_remove(params, MIGRATION_PARAM_LISTEN_ADDRESS);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    g_assert_true(g_str_has_prefix(uri, "tcp:127.0.0.1:"));
    port = atoi(uri + strlen("tcp:127.0.0.1:"));
    g_assert_cmpint(port, >=, opts->port_min);
    g_assert_cmpint(port, <=, opts->port_max);

    sparams = typed_params_copy(params);
    typed_params_add_string(sparams, MIGRATION_PARAM_URI, uri, NULL);
    g_assert_true(fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, c2, MIGRATION_LIVE,
                                                 &c3, &err));
    g_assert_no_error(err);
    g_assert_true(fx->dst->ops->migrate_finish3(fx->dst, dparams, c3, MIGRATION_LIVE, FALSE,
                                                &arrived, &c4, &err));
    g_assert_no_error(err);
    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, NULL, c4, MIGRATION_LIVE, FALSE, &err));
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* Which connection carries the data: for a tcp: URI ferry's own, handed
 * to QEMU as fd "migrate" (Perform3 logs it); with multifd (PARALLEL)
 * QEMU's.  The guest arrives either way. */
static void test_transport(Fixture *fx, gconstpointer data)
{
    const FixtureOpts *opts = data;
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *log_path = g_build_filename(fx->root_a, "ferry.log", NULL);
    g_autofree char *outputs = g_strdup_printf("2:file:%s", log_path);
    g_autofree char *log = NULL;
    gboolean ok;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(ferry_log_set_filters("2:migration.perform", &err));
    g_assert_true(ferry_log_set_outputs(outputs, &err));
    ok = migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE | opts->flags, &arrived,
                            &err);
    ferry_log_reset();
    ferry_log_init_from_env(NULL);
    g_assert_no_error(err);
    g_assert_true(ok);
    g_assert_true(g_file_get_contents(log_path, &log, NULL, NULL));
    if ((opts->flags & MIGRATION_PARALLEL) ==
        !!strstr(log, "over ferry's own connection (fd:migrate)"))
        g_error("the transport is not the expected one; the log says:\n%s", log);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* The running domain's status XML under root contains text. */
static void status_has(const char *root, const char *text)
{
    g_autofree char *path = g_build_filename(root, "run", "ferry", "qemu", "mig1.xml", NULL);
    g_autofree char *xml = NULL;

    g_assert_true(g_file_get_contents(path, &xml, NULL, NULL));
    if (!strstr(xml, text))
        g_error("%s has no %s:\n%s", path, text, xml);
}

/* A live migration with the options of a case (multifd, compression,
 * auto-converge): QEMU takes them on both sides and the guest arrives
 * intact. */
static void test_options(Fixture *fx, gconstpointer data)
{
    const FixtureOpts *opts = data;
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    if (opts->param && opts->str_value)
        g_assert_cmpint(typed_params_add_string(params, opts->param, opts->str_value, NULL), ==, 0);
    else if (opts->param)
        g_assert_cmpint(typed_params_add_int(params, opts->param, opts->int_value, NULL), ==, 0);
    migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE | opts->flags, &arrived,
                       &err);
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_false(domain_exists(fx->src, "mig1"));
    wait_processes_gone(fx->root_a);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* The client that began a migration goes away before Prepare3: the
 * source's migration job ends with its connection. */
static void test_client_vanishes_after_begin(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) c1 = NULL;
    g_autofree char *xml = NULL;
    DriverConn *client = qemu_driver_conn_open(fx->a, 9, "qemu:///system");
    int type = -1;
    g_autoptr(TypedParams) stats = NULL;

    if (!have_guest(fx)) {
        driver_conn_unref(client);
        return;
    }
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(
        client->ops->migrate_begin3(client, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->get_job_stats(fx->src, &dom, 0, &type, &stats, &err));
    g_assert_cmpint(type, ==, DRIVER_JOB_UNBOUNDED);
    driver_conn_unref(client);
    check_source_untouched(fx, &dom);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* The client goes away between Prepare3 and Perform3: the incoming
 * domain dies with its connection; the source, cancelled, runs on. */
static void test_client_vanishes(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL;
    g_autofree char *xml = NULL, *uri = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    g_assert_true(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), >, 0);
    /* each side's phase is in its status XML */
    status_has(fx->root_a, "phase=\"begin3\"");
    status_has(fx->root_b, "phase=\"prepare\"");

    driver_conn_unref(g_steal_pointer(&fx->dst));
    fx->dst = qemu_driver_conn_open(fx->b, 5, "qemu:///system");
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);

    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, NULL, NULL, MIGRATION_LIVE, TRUE, &err));
    g_assert_no_error(err);
    check_source_untouched(fx, &dom);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* The destination QEMU dies in the middle: Perform3 fails, the source
 * resumes, nothing is left on the destination. */
static void test_dst_killed(Fixture *fx, gconstpointer data)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    SequenceRun run = { fx, &dom, NULL, FALSE, NULL };

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    run.params = mig_params(fx, &dom);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL);
    GThread *thread = g_thread_new("migrate", sequence_thread, &run);

    wait_migrating(fx, &dom);
    {
        /* SIGKILL only: the destination driver reaps its own child */
        g_autoptr(GArray) pids = test_processes_naming(fx->root_b);

        g_assert_cmpuint(pids->len, ==, 1);
        g_assert_cmpint(kill(g_array_index(pids, pid_t, 0), SIGKILL), ==, 0);
    }
    g_thread_join(thread);
    g_assert_false(run.ok);
    g_assert_nonnull(run.err);
    g_assert_nonnull(strstr(run.err->message, "migration failed"));
    g_clear_error(&run.err);
    typed_params_free(run.params);

    check_source_untouched(fx, &dom);
    g_assert_true(
        qemu_driver_domain_wait_inactive(fx->b, (const unsigned char *)dom.uuid, WAIT_MS, NULL));
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* lockd, one lease directory for both hosts: the destination holds the
 * disk once the guest arrived, so a second guest on the source host
 * cannot start on it. */
static void test_lockd(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) thief = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *disk = disk_path(fx);
    g_autofree char *thief_xml = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    /* while the guest runs on the source, nobody else gets its disk */
    thief_xml =
        guest_xml_disk(fx, fx->root_b, "thief", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", 64, disk);
    g_assert_false(fx->src->ops->create_xml(fx->src, thief_xml, 0, &thief, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_OPERATION_DENIED);
    g_clear_error(&err);

    params = mig_params(fx, &dom);
    migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, &arrived, &err);
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    check_guest_moved(fx);

    /* the lease went with it: still refused on the source host */
    g_assert_false(fx->src->ops->create_xml(fx->src, thief_xml, 0, &thief, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_OPERATION_DENIED);
    g_clear_error(&err);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* The source QEMU ends in the background once Confirm3 answered; the
 * same (persistent) domain started again on the source at once waits for
 * it, and nothing the old one leaves behind (its status file, run
 * directory, process file) touches the new one. */
static void test_start_again(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *status =
        g_build_filename(fx->root_a, "run", "ferry", "qemu", "mig1.xml", NULL);
    g_autofree char *process =
        g_build_filename(fx->root_a, "run", "ferry", "qemu", "mig1", "process", NULL);
    g_autoptr(GArray) before = NULL;
    g_autoptr(GArray) after = NULL;
    int reason = -1, state = -1;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, TRUE);
    before = test_processes_naming(fx->root_a);
    g_assert_cmpuint(before->len, ==, 1);
    params = mig_params(fx, &dom);
    g_assert_true(
        migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, &arrived, &err));
    g_assert_no_error(err);
    /* shut off (migrated) at once, whether or not its QEMU has ended */
    g_assert_true(fx->src->ops->get_state(fx->src, &dom, &state, &reason, 0, &err));
    g_assert_cmpint(state, ==, DRIVER_STATE_SHUTOFF);
    g_assert_cmpint(reason, ==, 4); /* VIR_DOMAIN_SHUTOFF_MIGRATED */
    g_test_message("old QEMU %s when the domain starts again",
                   processes_naming(fx->root_a) ? "still there" : "gone");
    g_assert_true(fx->src->ops->create(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    after = test_processes_naming(fx->root_a);
    g_assert_cmpuint(after->len, ==, 1);
    g_assert_cmpint(g_array_index(after, pid_t, 0), !=, g_array_index(before, pid_t, 0));
    g_assert_true(g_file_test(status, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_test(process, G_FILE_TEST_EXISTS));
    /* the new QEMU answers on its monitor: suspend and resume */
    g_assert_true(fx->src->ops->suspend(fx->src, &dom, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->resume(fx->src, &dom, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* A source QEMU that does not end on SIGTERM (stopped by SIGSTOP here, so
 * that the signal waits): Confirm3 answers at once all the same, the
 * driver's grace period ends with SIGKILL, and the domain started again
 * meanwhile waits for that. */
static void test_retire_sigkill(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(TypedParams) sparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    g_autofree char *xml = NULL, *uri = NULL;
    g_autoptr(GArray) before = NULL;
    g_autoptr(GArray) after = NULL;
    pid_t old;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, TRUE);
    before = test_processes_naming(fx->root_a);
    g_assert_cmpuint(before->len, ==, 1);
    old = g_array_index(before, pid_t, 0);
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    sparams = typed_params_copy(params);
    typed_params_add_string(sparams, MIGRATION_PARAM_URI, uri, NULL);
    g_assert_true(fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, c2, MIGRATION_LIVE,
                                                 &c3, &err));
    g_assert_no_error(err);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    g_assert_true(fx->dst->ops->migrate_finish3(fx->dst, dparams, c3, MIGRATION_LIVE, FALSE,
                                                &arrived, &c4, &err));
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    /* (before the source's serial file starts anew) */
    check_guest_moved(fx);

    g_assert_cmpint(kill(old, SIGSTOP), ==, 0);
    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, NULL, c4, MIGRATION_LIVE, FALSE, &err));
    g_assert_no_error(err);
    /* shut off at once; its QEMU is still there, stopped */
    g_assert_cmpint(state_of(fx->src, &dom), ==, DRIVER_STATE_SHUTOFF);
    g_assert_cmpint(kill(old, 0), ==, 0);
    /* starting it again waits for the grace period and SIGKILL */
    g_assert_true(fx->src->ops->create(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_cmpint(kill(old, 0), ==, -1);
    after = test_processes_naming(fx->root_a);
    g_assert_cmpuint(after->len, ==, 1);
    g_assert_cmpint(g_array_index(after, pid_t, 0), !=, old);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* ---------------------------------------------------------------- ports */

/* 127.0.0.1:port listened on by this process (fd returned). */
static int listen_on(int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), ==, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1) < 0)
        g_error("cannot listen on 127.0.0.1:%d: %s", port, g_strerror(errno));
    return fd;
}

static int uri_port(const char *uri)
{
    g_assert_true(g_str_has_prefix(uri, "tcp:127.0.0.1:"));
    return atoi(uri + strlen("tcp:127.0.0.1:"));
}

/* Prepare3 with the XML Begin3 gave (its serial file moved to root). */
typedef struct {
    DriverConn *conn;
    TypedParams *params;
    GBytes *c1;
    GBytes *c2;
    char *uri;
    GError *err;
} PrepareRun;

static gpointer prepare_thread(gpointer data)
{
    PrepareRun *run = data;

    run->conn->ops->migrate_prepare3(run->conn, run->params, run->c1, MIGRATION_LIVE, &run->c2,
                                     &run->uri, &run->err);
    return NULL;
}

static void prepare_run_clear(PrepareRun *run)
{
    typed_params_free(run->params);
    g_clear_pointer(&run->c2, g_bytes_unref);
    g_clear_pointer(&run->uri, g_free);
    g_clear_error(&run->err);
}

/* Perform3 to uri, Finish3 on dst, Confirm3: the rest of a migration. */
static void finish_by_hand(Fixture *fx, const DriverDomain *dom, DriverConn *dst,
                           const TypedParams *params, GBytes *c2, const char *uri,
                           DriverDomain *arrived)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TypedParams) sparams = typed_params_copy(params);
    g_autoptr(TypedParams) fparams = typed_params_copy(params);
    g_autoptr(GBytes) c3 = NULL, c4 = NULL;

    typed_params_add_string(sparams, MIGRATION_PARAM_URI, uri, NULL);
    g_assert_true(
        fx->src->ops->migrate_perform3(fx->src, dom, NULL, sparams, c2, MIGRATION_LIVE, &c3, &err));
    g_assert_no_error(err);
    typed_params_add_string(fparams, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    g_assert_true(
        dst->ops->migrate_finish3(dst, fparams, c3, MIGRATION_LIVE, FALSE, arrived, &c4, &err));
    g_assert_no_error(err);
    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, dom, NULL, c4, MIGRATION_LIVE, FALSE, &err));
    g_assert_no_error(err);
}

/* Another process listens on the first port of the destination's range
 * (taken after any check a daemon could make): QEMU's bind fails there,
 * Prepare3 moves on to the next port, and the migration goes through. */
static void test_port_taken(Fixture *fx, gconstpointer data)
{
    const FixtureOpts *opts = data;
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL;
    g_autofree char *xml = NULL, *uri = NULL;
    int fd, port;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    fd = listen_on(opts->port_min);
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    port = uri_port(uri);
    g_assert_cmpint(port, >, opts->port_min);
    g_assert_cmpint(port, <=, opts->port_max);
    finish_by_hand(fx, &dom, fx->dst, params, c2, uri, &arrived);
    close(fd);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* Two daemons on one host, one port range, two Prepare3 at once (the
 * same guest offered to B and to a third host C): neither knows the
 * other's choice, both start with the first port; each gets a port of
 * its own, and the migration to C goes through while B's is cancelled. */
static void test_port_concurrent(Fixture *fx, gconstpointer data)
{
    const FixtureOpts *opts = data;
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) none = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) c1 = NULL, c4 = NULL;
    g_autofree char *xml = NULL;
    /* under B's root: the fixture's abort handler and teardown see its
     * QEMUs */
    g_autofree char *root_c = g_build_filename(fx->root_b, "hostC", NULL);
    g_autofree char *serial_b = serial_path(fx->root_b);
    g_autofree char *serial_c = serial_path(root_c);
    PrepareRun runs[2] = { { fx->dst }, { NULL } };
    QemuDriver *c;
    GThread *threads[2];
    int ports[2];

    if (!have_guest(fx))
        return;
    g_assert_cmpint(g_mkdir(root_c, 0700), ==, 0);
    c = open_driver(root_c, "cccccccc-0000-4000-8000-00000000000c", "hostC", fx->kvm, NULL, opts);
    runs[1].conn = qemu_driver_conn_open(c, 7, "qemu:///system");
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    for (guint i = 0; i < 2; i++) {
        g_autoptr(GString) x = g_string_new(xml);

        /* mig_params' destination_xml: the serial file under B's root */
        g_assert_nonnull(strstr(xml, serial_b));
        runs[i].params = typed_params_copy(params);
        runs[i].c1 = c1;
        typed_params_remove(runs[i].params, MIGRATION_PARAM_DEST_XML);
        if (i)
            g_string_replace(x, serial_b, serial_c, 0);
        typed_params_add_string(runs[i].params, MIGRATION_PARAM_DEST_XML, x->str, NULL);
    }
    for (guint i = 0; i < 2; i++)
        threads[i] = g_thread_new("prepare", prepare_thread, &runs[i]);
    for (guint i = 0; i < 2; i++) {
        g_thread_join(threads[i]);
        g_assert_no_error(runs[i].err);
        ports[i] = uri_port(runs[i].uri);
        g_assert_cmpint(ports[i], >=, opts->port_min);
        g_assert_cmpint(ports[i], <=, opts->port_max);
    }
    g_assert_cmpint(ports[0], !=, ports[1]);

    /* the guest goes to C; B's incoming guest is cancelled */
    finish_by_hand(fx, &dom, runs[1].conn, runs[1].params, runs[1].c2, runs[1].uri, &arrived);
    typed_params_add_string(runs[0].params, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    g_assert_false(fx->dst->ops->migrate_finish3(fx->dst, runs[0].params, NULL, MIGRATION_LIVE,
                                                 TRUE, &none, &c4, &err));
    g_clear_error(&err);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpint(state_of(runs[1].conn, &arrived), ==, DRIVER_STATE_RUNNING);
    {
        guint tick = 0, checks = 0;

        wait_serial(serial_c, 0, 0, &tick, &checks);
        wait_serial(serial_c, tick, checks, NULL, NULL);
    }
    g_assert_true(runs[1].conn->ops->destroy(runs[1].conn, &arrived, 0, &err));
    g_assert_no_error(err);
    for (guint i = 0; i < 2; i++)
        prepare_run_clear(&runs[i]);
    driver_conn_unref(runs[1].conn);
    qemu_driver_close(c);
}

int main(int argc, char **argv)
{
    static const FixtureOpts same_host = { .same_host = TRUE };
    static const FixtureOpts lockd = { .lockd = TRUE };
    static const FixtureOpts parallel = { .flags = MIGRATION_PARALLEL,
                                          .param = MIGRATION_PARAM_PARALLEL_CONNECTIONS,
                                          .int_value = 3 };
    static const FixtureOpts xbzrle = { .flags = MIGRATION_COMPRESSED };
    static const FixtureOpts plain = { .flags = 0 };
    static const FixtureOpts mt = { .flags = MIGRATION_COMPRESSED,
                                    .param = MIGRATION_PARAM_COMPRESSION,
                                    .str_value = "mt" };
    static const FixtureOpts autoconv = { .flags = MIGRATION_AUTO_CONVERGE,
                                          .param = MIGRATION_PARAM_AUTO_CONVERGE_INITIAL,
                                          .int_value = 30 };

    /* a range of its own, so that the port says where it came from */
    static FixtureOpts conf_host = { .mig_address = "0.0.0.0", .mig_host = "127.0.0.1" };
    static FixtureOpts conf_address = { .mig_address = "127.0.0.1" };
    static FixtureOpts ports = { 0 };
    int port = 0;

    close(listen_any(&port));
    port = port > 65000 ? port - 500 : port;
    conf_host.port_min = conf_address.port_min = port;
    conf_host.port_max = conf_address.port_max = port + 20;
    ports.port_min = port + 30;
    ports.port_max = port + 37;
    migration_test_init(&argc, &argv);
#define ADD(path, fn, opts) \
    g_test_add("/migration/" path, Fixture, opts, fixture_setup, fn, fixture_teardown)
    ADD("features", test_features, NULL);
    ADD("live", test_live, NULL);
    ADD("paused-persist-undefine", test_paused_persist_undefine, NULL);
    ADD("offline", test_offline, NULL);
    ADD("same-host", test_same_host, &same_host);
    ADD("fail/begin", test_fail_begin, NULL);
    ADD("fail/prepare-port", test_fail_prepare_port, NULL);
    ADD("fail/perform", test_fail_perform, NULL);
    ADD("abort-perform", test_abort_perform, NULL);
    ADD("fail/finish", test_fail_finish, NULL);
    ADD("client-vanishes", test_client_vanishes, NULL);
    ADD("client-vanishes-after-begin", test_client_vanishes_after_begin, NULL);
    ADD("fail/dst-killed", test_dst_killed, NULL);
    ADD("lockd", test_lockd, &lockd);
    ADD("conf/migration-host", test_conf_addr, &conf_host);
    ADD("conf/migration-address", test_conf_addr, &conf_address);
    ADD("start-again", test_start_again, NULL);
    ADD("retire-sigkill", test_retire_sigkill, NULL);
    ADD("ports/taken", test_port_taken, &ports);
    ADD("ports/concurrent-prepare", test_port_concurrent, &ports);
    ADD("transport/fd", test_transport, &plain);
    ADD("transport/multifd", test_transport, &parallel);
    ADD("options/parallel", test_options, &parallel);
    ADD("options/xbzrle", test_options, &xbzrle);
    ADD("options/compress-mt", test_options, &mt);
    ADD("options/auto-converge", test_options, &autoconv);
    ADD("options/caps-after-failure", test_caps_after_failure, NULL);
#undef ADD
    return g_test_run();
}
