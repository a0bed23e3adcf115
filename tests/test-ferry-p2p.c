/*
 * test-ferry-p2p.c: peer-to-peer migration (src/migration/p2p.c) between
 * two real ferryd on one machine ("hosts" A and B, migrate-testutils.h),
 * with real QEMU and the test guest, driven by `ferry migrate --p2p`,
 * libferry (ferry_domain_migrate3 and ferry_domain_migrate_to_uri3 with
 * FERRY_MIGRATE_PEER2PEER) and Debian's `virsh migrate --p2p`.
 *
 * The client talks to A only; A's ferryd connects to B's itself (TCP, or
 * TLS with the client certificate under A's root: ROOT/etc/ferry/pki) and
 * runs Begin to Confirm.  The cases:
 *   - over TCP and over TLS, with --verbose progress: the guest runs on
 *     B with its memory intact, A's QEMU is gone;
 *   - Debian's virsh, the same;
 *   - the client killed (SIGKILL) mid-migration: the migration is the
 *     daemon's and completes; the guest runs on B only;
 *   - domjobabort on A mid-migration: the source runs on, B has nothing;
 *   - B's ferryd killed (SIGKILL) mid-migration: A loses the destination,
 *     cancels, and the guest runs on at A; B's QEMU dies with the broken
 *     migration stream, or (when it was not broken) is destroyed by B's
 *     ferryd when it starts again (an incoming domain lives only as long
 *     as the connection that prepared it); either way a restarted B has
 *     neither the domain nor a QEMU (also when B died in Finish, its QEMU
 *     holding the whole guest: only the restarted ferryd can end that
 *     one);
 *   - B's ferryd hung (SIGSTOP) mid-migration: A's keepalive gives up on
 *     it (1 s x 2 in A's ferryd.conf), A cancels and the guest runs on; B,
 *     once it runs again, sees the connection gone and autodestroys;
 *   - A's ferryd killed mid-migration and started again: B destroys its
 *     incoming QEMU, the guest runs on at A and the restarted A ends the
 *     job the dead one left (migration_recover);
 *   - an offline migration (the definition only);
 *   - what is refused before anything moves (--tunnelled, an unreachable
 *     destination, the source itself, no client certificate).
 *
 * Slow migrations (the ones interrupted) run at 1 MiB/s with a guest
 * that dirties memory; nothing here is timed: waits have safety deadlines
 * only.
 */
#include <config.h>

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "ferry/ferry.h"
#include "tests/libferry-testutils.h"
#include "tests/migrate-testutils.h"
#include "tests/tls-certs.h"
#include "util/error.h"

typedef MigrateFixture Fixture;

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    migrate_fixture_init(fx, "ferry-p2pA", "ferry-p2pB");
}

/* Starts A (with a_conf as its ferryd.conf when not NULL) and B (with a
 * TLS listener when tls). */
static void start_hosts(Fixture *fx, const char *a_conf, gboolean tls)
{
    if (a_conf)
        ferryd_fixture_write_config(&fx->a, a_conf);
    ferryd_fixture_start(&fx->a, FALSE);
    ferryd_fixture_start(&fx->b, tls);
}

/* The last line of a command's stderr, which must be an "error: " line. */
static const char *last_error_line(const Run *run)
{
    const char *last = g_strrstr_len(run->err, (gssize)strlen(run->err) - 1, "\n");

    last = last ? last + 1 : run->err;
    if (!g_str_has_prefix(last, "error: "))
        g_error("the last line of stderr is no error line: \"%s\"", run->err);
    return last;
}

/* Waits until B no longer has name, then checks it has no QEMU either. */
static void wait_dest_empty(Fixture *fx, const char *name)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    while (state_of(CONN_B(fx), name, NULL) != -1) {
        if (g_get_monotonic_time() > deadline)
            g_error("B still has domain '%s'", name);
        g_usleep(50 * 1000);
    }
    check_dest_empty(fx, name);
}

/* The guest went to B and only there: B runs it, A has neither the
 * domain nor its QEMU, and the guest counts on at B (with check, a new
 * self-check too). */
static void check_moved_p2p(Fixture *fx, const char *name, gboolean check)
{
    g_assert_cmpint(state_of(CONN_B(fx), name, NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpint(state_of(CONN_A(fx), name, NULL), ==, -1);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->b), ==, 1);
    check_guest_moved(fx, name, name, check);
}

/* The job of name on A: its type (FERRY_DOMAIN_JOB_*). */
static int job_type_on_a(Fixture *fx, const char *name)
{
    FerryDomain *dom = ferry_domain_lookup_by_name(CONN_A(fx), name);
    FerryTypedParameter *stats = NULL;
    int nstats = 0, type = -1;

    g_assert_nonnull(dom);
    g_assert_cmpint(ferry_domain_get_job_stats(dom, &type, &stats, &nstats, 0), ==, 0);
    ferry_typed_params_free(stats, nstats);
    ferry_domain_free(dom);
    return type;
}

/* `ferry migrate --p2p --live --verbose` of g1 at 1 MiB/s to desturi, in
 * the background, once it moves data. */
static Background *start_slow_p2p(Fixture *fx, const char *desturi)
{
    g_autofree char *dxml = NULL;
    Background *bg;

    start_guest(fx, "g1", 4, 200, FALSE, FALSE);
    dxml = dest_xml_file(fx, "g1");
    bg =
        FERRY_BG(fx->a.root, fx->a.tcp_uri, "migrate", "--p2p", "--live", "--verbose",
                 "--bandwidth", "1", "--xml", dxml, "--migrateuri", migrate_uri(fx), "g1", desturi);
    wait_migrating(fx, "g1", NULL);
    return bg;
}

/* ---------------------------------------------------------------- TCP and TLS */

/* `ferry migrate --p2p --live --verbose`: the bar from A's job statistics
 * and the summary; the guest runs on B with its memory intact. */
static void test_tcp(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    start_hosts(fx, NULL, FALSE);
    start_guest(fx, "g1", 8, 200, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--p2p", "--live", "--verbose", "--xml",
                               dxml, "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    assert_run_ok(mig, "ferry migrate --p2p --live --verbose");
    g_test_message("stdout: %s", mig->out);
    g_assert_true(g_str_has_prefix(mig->err, "\rMigration: ["));
    g_assert_true(g_str_has_suffix(mig->err, "\rMigration: [100 %]\n"));
    g_assert_true(
        g_regex_match_simple("^Migration: done in [0-9]+\\.[0-9]{2} s, ", mig->out, 0, 0));
    check_moved_p2p(fx, "g1", TRUE);
}

/* Copies the file from (one of certs) to dir/to. */
static void copy_cert(TlsCerts *certs, const char *from, const char *dir, const char *to)
{
    g_autofree char *text = NULL;
    g_autofree char *path = g_build_filename(dir, to, NULL);

    g_assert_true(g_file_get_contents(tls_certs_path(certs, from), &text, NULL, NULL));
    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/* B listens on TLS with its certificate in the default place
 * (ROOT/etc/ferry/pki); A gets the CA and, with client, the client1
 * certificate where its ferryd looks for its own (the same directory). */
static TlsCerts *setup_tls(Fixture *fx, gboolean client)
{
    g_autoptr(GError) err = NULL;
    TlsCerts *certs = tls_certs_new(&err);
    g_autofree char *a_pki = g_build_filename(fx->a.root, "etc", "ferry", "pki", NULL);
    g_autofree char *b_pki = g_build_filename(fx->b.root, "etc", "ferry", "pki", NULL);

    if (!certs) {
        if (ferry_error_is(err, FERRY_ERR_NO_SUPPORT)) {
            g_test_skip(err->message);
            return NULL;
        }
        g_error("making certificates: %s", err->message);
    }
    copy_cert(certs, "ca-cert.pem", b_pki, "cacert.pem");
    copy_cert(certs, "server-cert.pem", b_pki, "servercert.pem");
    copy_cert(certs, "server-key.pem", b_pki, "serverkey.pem");
    copy_cert(certs, "ca-cert.pem", a_pki, "cacert.pem");
    if (client) {
        copy_cert(certs, "client1-cert.pem", a_pki, "clientcert.pem");
        copy_cert(certs, "client1-key.pem", a_pki, "clientkey.pem");
    }
    ferryd_fixture_write_config(&fx->b, "tls_allowed_dn_list = [ \"C=GB,O=ferry,CN=client1\" ]\n");
    start_hosts(fx, NULL, TRUE);
    return certs;
}

static char *tls_uri(Fixture *fx)
{
    return g_strdup_printf("qemu+tls://127.0.0.1:%u/system", fx->b.tls_port);
}

/* The same over TLS: A's ferryd connects to B's TLS port with its own
 * client certificate (the client gives no ?pkipath=); then tunnelled over
 * that TLS connection. */
static void test_tls(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    g_autoptr(TlsCerts) certs = setup_tls(fx, TRUE);
    if (!certs)
        return;
    g_autofree char *desturi = tls_uri(fx);
    start_guest(fx, "g1", 8, 200, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--p2p", "--live", "--verbose", "--xml",
                               dxml, "--migrateuri", migrate_uri(fx), "g1", desturi);
    assert_run_ok(mig, "ferry migrate --p2p over TLS");
    g_assert_true(g_str_has_suffix(mig->err, "\rMigration: [100 %]\n"));
    check_moved_p2p(fx, "g1", TRUE);

    /* and tunnelled: the guest's memory itself rides the TLS connection
     * (g2 has g1's UUID: g1 goes first) */
    g_autoptr(Run) gone = FERRY(fx->b.tcp_uri, "destroy", "g1");
    assert_run_ok(gone, "ferry destroy g1 on B");
    start_guest(fx, "g2", 8, 200, FALSE, FALSE);
    g_autofree char *dxml2 = dest_xml_file(fx, "g2");
    g_autoptr(Run) tun = FERRY(fx->a.tcp_uri, "migrate", "--p2p", "--tunnelled", "--live",
                               "--verbose", "--xml", dxml2, "g2", desturi);
    assert_run_ok(tun, "ferry migrate --p2p --tunnelled over TLS");
    g_assert_true(g_str_has_suffix(tun->err, "\rMigration: [100 %]\n"));
    check_moved_p2p(fx, "g2", TRUE);
}

/* Without a client certificate of A's, B refuses the connection: the
 * migration fails before anything moves, with the reason. */
static void test_tls_no_cert(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    g_autoptr(TlsCerts) certs = setup_tls(fx, FALSE);
    if (!certs)
        return;
    g_autofree char *desturi = tls_uri(fx);
    start_guest(fx, "g1", 4, 0, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--p2p", "--live", "--xml", dxml,
                               "--migrateuri", migrate_uri(fx), "g1", desturi);
    g_test_message("stderr: %s", mig->err);
    g_assert_cmpint(mig->status, ==, 1);
    assert_has(last_error_line(mig), "cannot reach the destination");
    check_source_untouched(fx, "g1");
    check_dest_empty(fx, "g1");
}

/* ---------------------------------------------------------------- virsh */

/* Debian's virsh: `virsh -c A migrate --live --p2p --verbose g1 B`. */
static void test_virsh(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest() || !have_virsh())
        return;
    start_hosts(fx, NULL, FALSE);
    start_guest(fx, "g1", 8, 200, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = run_argv((const char *const[]){
        VIRSH, "-c", fx->a.tcp_uri, "migrate", "--live", "--p2p", "--verbose", "--xml", dxml,
        "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri, NULL });
    assert_run_ok(mig, "virsh migrate --live --p2p --verbose");
    g_test_message("virsh's stderr: %s", mig->err);
    g_assert_true(g_regex_match_simple("Migration: \\[100(\\.00)? %\\]", mig->err, 0, 0));
    check_moved_p2p(fx, "g1", TRUE);

    /* and the tunnelled variant: the data goes through the two ferryd
     * (g2 has g1's UUID: g1 goes first) */
    g_autoptr(Run) gone =
        run_argv((const char *const[]){ VIRSH, "-c", fx->b.tcp_uri, "destroy", "g1", NULL });
    assert_run_ok(gone, "virsh destroy g1 on B");
    start_guest(fx, "g2", 8, 200, FALSE, FALSE);
    g_autofree char *dxml2 = dest_xml_file(fx, "g2");
    g_autoptr(Run) tun =
        run_argv((const char *const[]){ VIRSH, "-c", fx->a.tcp_uri, "migrate", "--live", "--p2p",
                                        "--tunnelled", "--xml", dxml2, "g2", fx->b.tcp_uri, NULL });
    assert_run_ok(tun, "virsh migrate --live --p2p --tunnelled");
    check_moved_p2p(fx, "g2", TRUE);
}

/* ---------------------------------------------------------------- faults */

/* The client dies mid-migration: the migration is A's own and goes on (at
 * a speed raised from another client); the guest ends up on B only. */
static void test_client_killed(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    if (!lft_have_guest())
        return;
    start_hosts(fx, NULL, FALSE);
    g_autoptr(Background) bg = start_slow_p2p(fx, fx->b.tcp_uri);
    g_assert_true(spawn_kill(bg->sp, SIGKILL, &err));
    g_assert_no_error(err);
    g_autoptr(Run) mig = background_wait(bg);
    g_assert_cmpint(mig->status, ==, 128 + SIGKILL);

    /* its connection is gone, the migration is not */
    g_usleep(500 * 1000);
    g_assert_cmpint(job_type_on_a(fx, "g1"), ==, FERRY_DOMAIN_JOB_UNBOUNDED);
    g_autoptr(Run) speed = FERRY(fx->a.tcp_uri, "migrate-setspeed", "g1", "10000");
    assert_run_ok(speed, "ferry migrate-setspeed");

    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    while (state_of(CONN_A(fx), "g1", NULL) != -1) {
        if (g_get_monotonic_time() > deadline)
            g_error("the migration of g1 did not end after its client died");
        g_usleep(50 * 1000);
    }
    check_moved_p2p(fx, "g1", FALSE);
}

/* domjobabort on A: the migration stops, the source runs on, B has
 * nothing, and the client says it was aborted. */
static void test_abort(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    start_hosts(fx, NULL, FALSE);
    g_autoptr(Background) bg = start_slow_p2p(fx, fx->b.tcp_uri);
    g_autoptr(Run) abort = FERRY(fx->a.tcp_uri, "domjobabort", "g1");
    assert_run_ok(abort, "ferry domjobabort");
    g_autoptr(Run) mig = background_wait(bg);
    g_test_message("stderr: %s", mig->err);
    g_assert_cmpint(mig->status, ==, 1);
    g_assert_cmpstr(mig->out, ==, "");
    assert_has(last_error_line(mig), "failed to migrate domain 'g1'");
    assert_has(last_error_line(mig), "aborted");
    check_source_untouched(fx, "g1");
    wait_dest_empty(fx, "g1");
}

/* Waits until ferryd's log has text. */
static void wait_log(FerrydFixture *f, const char *text)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    for (;;) {
        g_autofree char *log = NULL;

        if (g_file_get_contents(f->log, &log, NULL, NULL) && strstr(log, text))
            return;
        if (g_get_monotonic_time() > deadline) {
            ferryd_fixture_dump_log(f);
            g_error("\"%s\" never came in ferryd's log", text);
        }
        g_usleep(20 * 1000);
    }
}

/* B's ferryd dies mid-migration (data "kill": SIGKILL) or hangs ("stop":
 * SIGSTOP; A's keepalive of 1 s x 2 gives up on it): A cancels, the guest
 * runs on at A, and B, running again (restarted after a kill, continued
 * after a stop), has neither the domain nor a QEMU.  There B's QEMU ends
 * by itself when A's cancel breaks the migration stream.
 *
 * "kill-in-finish": B's ferryd hangs, A's QEMU completes the migration
 * (its speed raised), A calls Finish on B (it waits for an answer: its
 * log says "finish3"), and then B's ferryd dies.  B's QEMU has the whole
 * guest, paused, and lives on; A's Finish fails, A's Confirm (cancelled)
 * resumes the guest at A; the restarted B destroys its QEMU as it
 * reconnects (it belonged to a connection that is gone). */
static void test_dest_lost(Fixture *fx, gconstpointer data)
{
    gboolean hang = g_str_equal(data, "stop");
    gboolean in_finish = g_str_equal(data, "kill-in-finish");
    g_autoptr(GError) err = NULL;

    if (!lft_have_guest())
        return;
    start_hosts(fx,
                hang        ? "keepalive_interval = 1\nkeepalive_count = 2\n"
                : in_finish ? "log_filters = \"1:migration.sequence\"\n"
                            : NULL,
                FALSE);
    g_autoptr(Background) bg = start_slow_p2p(fx, fx->b.tcp_uri);
    if (hang || in_finish) {
        g_assert_true(spawn_kill(fx->b.ferryd, SIGSTOP, &err));
        g_assert_no_error(err);
    }
    if (in_finish) {
        g_autoptr(Run) speed = FERRY(fx->a.tcp_uri, "migrate-setspeed", "g1", "10000");

        assert_run_ok(speed, "ferry migrate-setspeed");
        wait_log(&fx->a, "domain 'g1': finish3");
    }
    if (!hang)
        ferryd_fixture_kill(&fx->b);
    g_autoptr(Run) mig = background_wait(bg);
    g_test_message("stderr: %s", mig->err);
    g_assert_cmpint(mig->status, ==, 1);
    assert_has(last_error_line(mig), "lost the connection to the destination");
    check_source_untouched(fx, "g1");
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->a), ==, 1);

    g_test_message("B's QEMUs once A gave up: %u", ferryd_fixture_count_qemus(&fx->b));
    if (in_finish) {
        /* B's QEMU with the whole guest, paused: only B's ferryd can end it */
        g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->b), ==, 1);
    } else {
        /* A cancelled mid-stream (it did not wait for the migration to
         * complete): the stream broke under B's QEMU, which ended */
        g_assert_true(ferryd_fixture_wait_qemus(&fx->b, 0));
    }
    if (hang) {
        g_assert_true(spawn_kill(fx->b.ferryd, SIGCONT, &err));
        g_assert_no_error(err);
    } else {
        /* the old connection went with the old ferryd */
        if (fx->cb)
            ferry_connect_close(fx->cb);
        fx->cb = NULL;
        ferryd_fixture_start(&fx->b, FALSE);
    }
    wait_dest_empty(fx, "g1");
    /* and the source's guest still runs, alone */
    check_source_untouched(fx, "g1");
}

/* A's ferryd dies mid-migration (SIGKILL) and starts again: B destroys
 * its incoming QEMU (the connection that prepared it is gone), A's QEMU
 * gives up the migration and its guest runs on; the restarted A finds it
 * running, with no job left. */
static void test_source_killed(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    start_hosts(fx, NULL, FALSE);
    g_autoptr(Background) bg = start_slow_p2p(fx, fx->b.tcp_uri);
    ferryd_fixture_kill(&fx->a);
    g_autoptr(Run) mig = background_wait(bg);
    g_test_message("stderr: %s", mig->err);
    g_assert_cmpint(mig->status, ==, 1);
    wait_dest_empty(fx, "g1");

    if (fx->ca)
        ferry_connect_close(fx->ca);
    fx->ca = NULL;
    ferryd_fixture_start(&fx->a, FALSE);
    check_source_untouched(fx, "g1");
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->a), ==, 1);
}

/* --offline --persistent: the definition moves, peer-to-peer as well. */
static void test_offline(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = NULL;
    FerryDomain *dom;
    gboolean persistent = FALSE;

    if (!lft_have_guest())
        return;
    start_hosts(fx, NULL, FALSE);
    xml = guest_xml(fx, "g1", UUID1, 4, 0);
    dom = ferry_domain_define_xml(CONN_A(fx), xml, 0);
    g_assert_nonnull(dom);
    ferry_domain_free(dom);
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--p2p", "--offline", "--persistent",
                               "--undefinesource", "g1", fx->b.tcp_uri);
    assert_run_ok(mig, "ferry migrate --p2p --offline --persistent --undefinesource");
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_SHUTOFF);
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, -1);
    dom = ferry_domain_lookup_by_name(CONN_B(fx), "g1");
    g_assert_nonnull(dom);
    persistent = ferry_domain_is_persistent(dom) == 1;
    ferry_domain_free(dom);
    g_assert_true(persistent);
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->a) + ferryd_fixture_count_qemus(&fx->b), ==,
                     0);
}

/* ---------------------------------------------------------------- refusals */

/* What is refused before anything moves: one clear error, the source
 * untouched, B empty. */
static void test_refused(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    start_hosts(fx, NULL, FALSE);
    start_guest(fx, "g1", 4, 0, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    const char *b = fx->b.tcp_uri;
    const struct {
        const char *args[8];
        const char *error;
    } cases[] = {
        { { "--live", "--tunnelled", "g1", b }, "option --tunnelled requires option --p2p" },
        { { "--live", "--p2p", "--tunnelled", "--migrateuri", "tcp:127.0.0.1:1", "g1", b },
          "is not supported with tunnelled migration" },
        { { "--live", "--p2p", "--tunnelled", "--parallel", "g1", b },
          "parallel migration cannot be tunnelled" },
        { { "--live", "--p2p", "g1", "qemu+tcp://127.0.0.1:1/system" },
          "cannot reach the destination" },
        { { "--live", "--p2p", "g1", "qemu+ssh://host/system" }, "destination URI" },
        { { "--live", "--p2p", "--xml", dxml, "g1", fx->a.unix_uri },
          "migrating to the same host" },
        { { "--live", "--p2p", "--bandwidth", "fast", "g1", b },
          "invalid value 'fast' of option --bandwidth" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GPtrArray) args = g_ptr_array_new();

        g_ptr_array_add(args, (gpointer) "migrate");
        for (gsize j = 0; j < G_N_ELEMENTS(cases[i].args) && cases[i].args[j]; j++)
            g_ptr_array_add(args, (gpointer)cases[i].args[j]);
        g_ptr_array_add(args, NULL);
        g_autoptr(Run) run = ferry_run(fx->a.tcp_uri, (const char *const *)args->pdata);
        g_test_message("case %zu: %s", i, run->err);
        g_assert_cmpint(run->status, ==, 1);
        g_assert_cmpstr(run->out, ==, "");
        assert_has(last_error_line(run), cases[i].error);
    }
    check_source_untouched(fx, "g1");
    check_dest_empty(fx, "g1");
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->a), ==, 1);
}

/* ---------------------------------------------------------------- the API */

typedef struct {
    FerryDomain *dom;
    FerryConnect *dconn;
    FerryTypedParameter *params;
    int nparams;
    FerryDomain *ddom;
    char *error;
} P2pRun;

static gpointer migrate3_p2p_thread(gpointer data)
{
    P2pRun *run = data;

    run->ddom = ferry_domain_migrate3(run->dom, run->dconn, run->params, run->nparams,
                                      FERRY_MIGRATE_LIVE | FERRY_MIGRATE_PEER2PEER);
    if (!run->ddom)
        run->error = g_strdup(ferry_get_last_error_message());
    return NULL;
}

/* The guest's XML on B with its serial file at path under A's root. */
static char *back_xml(Fixture *fx, FerryDomain *ddom, const char *path)
{
    g_autofree char *xml = ferry_domain_get_xml_desc(ddom, FERRY_DOMAIN_XML_MIGRATABLE);
    g_autofree char *on_b = serial_path(&fx->b, "g1");

    g_assert_nonnull(xml);
    g_assert_nonnull(strstr(xml, on_b));
    g_autoptr(GString) out = g_string_new(xml);
    g_string_replace(out, on_b, path, 0);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* ferry_domain_migrate3 with PEER2PEER to B (its job statistics seen on
 * A meanwhile, the speed raised from here), then
 * ferry_domain_migrate_to_uri3 without it (this library drives, over a
 * connection of its own) back to A; the argument checks first. */
static void test_api(Fixture *fx, gconstpointer data)
{
    P2pRun run = { 0 };
    int maxparams = 0;
    unsigned long long processed = 0;
    g_autofree char *dxml = NULL;
    g_autofree char *dxml_text = NULL;

    if (!lft_have_guest())
        return;
    start_hosts(fx, NULL, FALSE);
    start_guest(fx, "g1", 4, 200, FALSE, FALSE);
    run.dom = ferry_domain_lookup_by_name(CONN_A(fx), "g1");
    run.dconn = CONN_B(fx);
    g_assert_nonnull(run.dom);

    g_assert_cmpint(ferry_domain_migrate_to_uri3(NULL, fx->b.tcp_uri, NULL, 0, 0), ==, -1);
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);
    g_assert_cmpint(ferry_domain_migrate_to_uri3(run.dom, NULL, NULL, 0, FERRY_MIGRATE_PEER2PEER),
                    ==, -1);
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);
    g_assert_cmpint(
        ferry_domain_migrate_to_uri3(run.dom, fx->b.tcp_uri, NULL, 0, FERRY_MIGRATE_TUNNELLED), ==,
        -1);
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);
    g_assert_cmpint(ferry_domain_migrate_to_uri3(run.dom, fx->b.tcp_uri, NULL, 0,
                                                 FERRY_MIGRATE_LIVE | FERRY_MIGRATE_PEER2PEER |
                                                     FERRY_MIGRATE_TUNNELLED |
                                                     FERRY_MIGRATE_POSTCOPY),
                    ==, -1);
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_NO_SUPPORT);
    assert_has(ferry_get_last_error_message(), "post-copy migration cannot be tunnelled");
    check_source_untouched(fx, "g1");
    check_dest_empty(fx, "g1");

    /* peer-to-peer at 1 MiB/s, watched and sped up from here */
    dxml = dest_xml_file(fx, "g1");
    g_assert_true(g_file_get_contents(dxml, &dxml_text, NULL, NULL));
    g_assert_cmpint(ferry_typed_params_add_string(&run.params, &run.nparams, &maxparams,
                                                  FERRY_MIGRATE_PARAM_DEST_XML, dxml_text),
                    ==, 0);
    g_assert_cmpint(ferry_typed_params_add_string(&run.params, &run.nparams, &maxparams,
                                                  FERRY_MIGRATE_PARAM_URI, migrate_uri(fx)),
                    ==, 0);
    g_assert_cmpint(ferry_typed_params_add_ullong(&run.params, &run.nparams, &maxparams,
                                                  FERRY_MIGRATE_PARAM_BANDWIDTH, 1),
                    ==, 0);
    GThread *thread = g_thread_new("migrate3-p2p", migrate3_p2p_thread, &run);
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    while (processed == 0) {
        FerryTypedParameter *stats = NULL;
        int type = -1, nstats = 0;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (ferry_domain_get_job_stats(run.dom, &type, &stats, &nstats, 0) == 0 &&
            type == FERRY_DOMAIN_JOB_UNBOUNDED)
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_MEMORY_PROCESSED,
                                          &processed);
        ferry_typed_params_free(stats, nstats);
        g_usleep(10000);
    }
    g_assert_cmpint(ferry_domain_migrate_set_max_speed(run.dom, 10000, 0), ==, 0);
    g_thread_join(thread);
    if (!run.ddom)
        g_error("ferry_domain_migrate3 (PEER2PEER): %s", run.error);
    g_assert_cmpstr(ferry_domain_get_name(run.ddom), ==, "g1");
    g_assert_true(ferry_domain_get_connect(run.ddom) == run.dconn);
    g_assert_cmpint(ferry_domain_is_active(run.ddom), ==, 1);
    check_moved_p2p(fx, "g1", FALSE);

    /* back to A, this library driving over its own connection to A */
    g_autofree char *back_serial = serial_path(&fx->a, "g1-back");
    g_autofree char *bxml = back_xml(fx, run.ddom, back_serial);
    g_autofree char *on_b = serial_path(&fx->b, "g1");
    FerryTypedParameter *bparams = NULL;
    int nb = 0, maxb = 0;
    guint tick = 0, checks = 0;

    g_assert_cmpint(
        ferry_typed_params_add_string(&bparams, &nb, &maxb, FERRY_MIGRATE_PARAM_DEST_XML, bxml), ==,
        0);
    g_assert_cmpint(ferry_typed_params_add_string(&bparams, &nb, &maxb, FERRY_MIGRATE_PARAM_URI,
                                                  migrate_uri(fx)),
                    ==, 0);
    if (ferry_domain_migrate_to_uri3(run.ddom, fx->a.tcp_uri, bparams, nb, FERRY_MIGRATE_LIVE) < 0)
        g_error("ferry_domain_migrate_to_uri3 (direct): %s", ferry_get_last_error_message());
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, -1);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->b, 0));
    g_assert_true(serial_last(on_b, &tick, &checks));
    wait_serial(back_serial, tick, -1, NULL, NULL);

    ferry_typed_params_free(bparams, nb);
    ferry_domain_free(run.ddom);
    ferry_domain_free(run.dom);
    ferry_typed_params_free(run.params, run.nparams);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn, data) \
    g_test_add("/ferry-p2p/" path, Fixture, data, fixture_setup, fn, migrate_fixture_teardown)
    ADD("tcp-live-verbose", test_tcp, NULL);
    ADD("tls-live-verbose", test_tls, NULL);
    ADD("tls-no-client-cert", test_tls_no_cert, NULL);
    ADD("virsh", test_virsh, NULL);
    ADD("client-killed", test_client_killed, NULL);
    ADD("domjobabort", test_abort, NULL);
    ADD("dest-killed", test_dest_lost, "kill");
    ADD("dest-killed-in-finish", test_dest_lost, "kill-in-finish");
    ADD("dest-hung-keepalive", test_dest_lost, "stop");
    ADD("source-killed", test_source_killed, NULL);
    ADD("offline", test_offline, NULL);
    ADD("refused", test_refused, NULL);
    ADD("api", test_api, NULL);
#undef ADD
    return g_test_run();
}
