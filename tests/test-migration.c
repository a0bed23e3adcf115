/*
 * test-migration.c: v3 live migration between two QEMU drivers in one
 * process (two "hosts", real QEMU, the test guest: the fixture is
 * migration-testutils.h): the phases, their options, and every failure
 * unwinding to one running guest.  Suspend, resume and post-copy during a
 * migration are in test-migration-control.c.
 */
#include <config.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/domain_obj.h"
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
    g_assert_cmpuint(processes_naming(fx->root_a), ==, 0);
    check_guest_moved(fx);

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
    g_assert_cmpuint(processes_naming(fx->root_a), ==, 0);
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
    /* a flag ferry does not do */
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params,
                                      MIGRATION_LIVE | MIGRATION_TUNNELLED, NULL, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_NO_SUPPORT);
    g_assert_nonnull(strstr(err->message, "unsupported flags 0x4"));
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
     * for (1 MiB/s; QEMU's own default would be 32 MiB/s, ferry's
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
    g_assert_cmpuint(processes_naming(fx->root_a), ==, 0);
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
    int port = 0;

    close(listen_any(&port));
    port = port > 65000 ? port - 500 : port;
    conf_host.port_min = conf_address.port_min = port;
    conf_host.port_max = conf_address.port_max = port + 20;
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
    ADD("transport/fd", test_transport, &plain);
    ADD("transport/multifd", test_transport, &parallel);
    ADD("options/parallel", test_options, &parallel);
    ADD("options/xbzrle", test_options, &xbzrle);
    ADD("options/compress-mt", test_options, &mt);
    ADD("options/auto-converge", test_options, &autoconv);
#undef ADD
    return g_test_run();
}
