/*
 * test-ferry-migrate.c: `ferry migrate` (tools/cmd-migrate.c) and
 * ferry_domain_migrate3 between two real ferryd on one machine, each on its
 * own temporary root with its own host UUID (two "hosts" A and B), with
 * real QEMU and the test guest; Debian's virsh as the reference client.
 *
 * The fixture, the helpers and how a migration is judged (the guest keeps
 * counting on B, its memory intact): migrate-testutils.h.  Every migration
 * listens on a port picked here (migrate_uri()) and gives the destination
 * the guest's XML with its serial file under B's root (--xml).  Under tcg
 * the guest is idle and the cases that need a guest that does not
 * converge soon get there by a low bandwidth alone.  The one timed
 * assertion (the bandwidth case) compares a rate QEMU measures with the
 * limit, with wide margins.
 *
 * The post-copy cases (/ferry-migrate/postcopy-*, run last) need the QEMU
 * driver's migrate_start_postcopy, which is in flight elsewhere.
 */
#include <config.h>

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "ferry/ferry.h"
#include "tests/libferry-testutils.h"
#include "tests/migrate-testutils.h"
#include "tests/testproc.h"

typedef MigrateFixture Fixture;

/* ---------------------------------------------------------------- fixture */

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    migrate_fixture_init(fx, "ferry-cmdmigA", "ferry-cmdmigB");
    ferryd_fixture_start(&fx->a, FALSE);
    ferryd_fixture_start(&fx->b, FALSE);
}

/* ---------------------------------------------------------------- cases */

/* A live migration of a guest that dirties memory, with --verbose: the
 * bar and the summary; the guest runs on B with its memory intact, A has
 * neither the domain nor its QEMU. */
static void test_live(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    start_guest(fx, "g1", 8, 200, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig =
        FERRY(fx->a.tcp_uri, "migrate", "--live", "--verbose", "--xml", dxml, "--listen-address",
              "127.0.0.1", "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    assert_run_ok(mig, "ferry migrate --live --verbose");
    g_test_message("stdout: %s", mig->out);

    /* virsh's bar on stderr, ending at 100 %, then ferry's summary; what
     * the completed jobs do not tell is called unknown */
    g_assert_true(g_str_has_prefix(mig->err, "\rMigration: ["));
    g_assert_true(g_str_has_suffix(mig->err, "\rMigration: [100 %]\n"));
    g_assert_true(g_regex_match_simple(
        "^Migration: done in [0-9]+\\.[0-9]{2} s, downtime ([0-9]+ ms|unknown), "
        "((at least )?[0-9]+\\.[0-9] [KM]iB sent at [0-9.]+ MiB/s|data sent unknown)\n$",
        mig->out, 0, 0));

    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, -1);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->b), ==, 1);
    check_guest_moved(fx, "g1", "g1", TRUE);
}

/* --suspend: it arrives paused, and resumes where it was. */
static void test_suspend(Fixture *fx, gconstpointer data)
{
    int reason = -1;

    if (!lft_have_guest())
        return;
    start_guest(fx, "g1", 4, 200, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--live", "--suspend", "--xml", dxml,
                               "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    assert_run_ok(mig, "ferry migrate --suspend");
    g_assert_cmpstr(mig->out, ==, "");
    g_assert_cmpstr(mig->err, ==, "");
    g_assert_cmpint(state_of(CONN_B(fx), "g1", &reason), ==, FERRY_DOMAIN_PAUSED);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));
    g_autoptr(Run) resume = FERRY(fx->b.tcp_uri, "resume", "g1");
    assert_run_ok(resume, "ferry resume");
    check_guest_moved(fx, "g1", "g1", FALSE);
}

/* --persistent with --persistent-xml, and --undefinesource: the domain
 * leaves A altogether, B keeps the given definition and still has it
 * (running) after its ferryd restarts. */
static void test_persistent(Fixture *fx, gconstpointer data)
{
    g_autofree char *pxml_path = g_build_filename(fx->a.root, "g1-persistent.xml", NULL);
    g_autofree char *pxml = NULL;

    if (!lft_have_guest())
        return;
    start_guest(fx, "g1", 4, 200, TRUE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    /* the definition B keeps: more memory from the next boot on */
    g_assert_true(g_file_get_contents(dxml, &pxml, NULL, NULL));
    g_autoptr(GString) p = g_string_new(pxml);
    g_assert_cmpuint(g_string_replace(p, "<memory unit=\"KiB\">65536</memory>",
                                      "<memory unit=\"KiB\">98304</memory>", 1),
                     ==, 1);
    g_assert_true(g_file_set_contents(pxml_path, p->str, -1, NULL));

    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--live", "--persistent",
                               "--undefinesource", "--persistent-xml", pxml_path, "--xml", dxml,
                               "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    assert_run_ok(mig, "ferry migrate --persistent --undefinesource");
    /* gone from A, definition included */
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, -1);
    g_autoptr(Run) alist = FERRY(fx->a.tcp_uri, "list", "--all");
    assert_run_ok(alist, "ferry list --all on A");
    g_assert_null(strstr(alist->out, "g1"));
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));

    /* B: persistent, with the definition given */
    g_autoptr(Run) inactive = FERRY(fx->b.tcp_uri, "dumpxml", "--inactive", "g1");
    assert_run_ok(inactive, "ferry dumpxml --inactive on B");
    assert_has(inactive->out, "98304");

    /* ... and after B's ferryd restarts */
    ferry_connect_close(g_steal_pointer(&fx->cb));
    ferryd_fixture_stop(&fx->b);
    ferryd_fixture_start(&fx->b, FALSE);
    g_autoptr(Run) blist = FERRY(fx->b.tcp_uri, "list", "--all");
    assert_run_ok(blist, "ferry list --all on B");
    assert_has(blist->out, "g1");
    FerryDomain *dom = ferry_domain_lookup_by_name(CONN_B(fx), "g1");
    g_assert_nonnull(dom);
    g_assert_cmpint(ferry_domain_is_persistent(dom), ==, 1);
    ferry_domain_free(dom);
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    check_guest_moved(fx, "g1", "g1", FALSE);
    g_autoptr(Run) destroy = FERRY(fx->b.tcp_uri, "destroy", "g1");
    assert_run_ok(destroy, "ferry destroy on B");
    g_autoptr(Run) undefine = FERRY(fx->b.tcp_uri, "undefine", "g1");
    assert_run_ok(undefine, "ferry undefine on B");
}

/* --dname renames it on B; the --xml given is what runs there. */
static void test_dname(Fixture *fx, gconstpointer data)
{
    g_autofree char *dserial = serial_path(&fx->b, "g1");

    if (!lft_have_guest())
        return;
    start_guest(fx, "g1", 4, 200, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--live", "--dname", "g1-moved", "--xml",
                               dxml, "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    assert_run_ok(mig, "ferry migrate --dname");
    g_assert_cmpint(state_of(CONN_B(fx), "g1-moved", NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, -1);
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, -1);
    g_autoptr(Run) dump = FERRY(fx->b.tcp_uri, "dumpxml", "g1-moved");
    assert_run_ok(dump, "ferry dumpxml on B");
    assert_has(dump->out, dserial);
    check_guest_moved(fx, "g1", "g1", FALSE);
}

/* --offline: only the definition goes; nothing runs anywhere. */
static void test_offline(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = guest_xml(fx, "g1", UUID1, 4, 0);
    FerryDomain *dom = ferry_domain_define_xml(CONN_A(fx), xml, 0);

    g_assert_nonnull(dom);
    ferry_domain_free(dom);
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--offline", "--persistent", "--verbose",
                               "g1", fx->b.tcp_uri);
    assert_run_ok(mig, "ferry migrate --offline");
    g_assert_true(g_regex_match_simple(
        "^Migration: done in [0-9.]+ s \\(offline: the definition only\\)\n$", mig->out, 0, 0));
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_SHUTOFF);
    dom = ferry_domain_lookup_by_name(CONN_B(fx), "g1");
    g_assert_cmpint(ferry_domain_is_persistent(dom), ==, 1);
    ferry_domain_free(dom);
    /* the source keeps its definition (no --undefinesource) */
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, FERRY_DOMAIN_SHUTOFF);
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->a) + ferryd_fixture_count_qemus(&fx->b), ==,
                     0);
}

/* --bandwidth: while a guest with its memory filled migrates at 4 MiB/s,
 * A's job statistics show QEMU sending at about that rate. */
static void test_bandwidth(Fixture *fx, gconstpointer data)
{
    const unsigned long long limit = 4ULL * 1024 * 1024;
    unsigned long long bps = 0, most = 0;

    if (!lft_have_guest())
        return;
    start_guest(fx, "g1", 8, 200, FALSE, TRUE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Background) bg =
        FERRY_BG(fx->a.root, fx->a.tcp_uri, "migrate", "--live", "--bandwidth", "4", "--xml", dxml,
                 "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    wait_migrating(fx, "g1", &bps);
    /* a second of samples: never much above the limit, near it at best */
    for (int i = 0; i < 10; i++) {
        g_test_message("memory_bps %llu", bps);
        g_assert_cmpuint(bps, <=, limit * 3 / 2);
        most = MAX(most, bps);
        g_usleep(100000);
        FerryDomain *dom = ferry_domain_lookup_by_name(CONN_A(fx), "g1");
        FerryTypedParameter *stats = NULL;
        int nstats = 0, type = -1;

        if (!dom)
            break; /* done already */
        if (ferry_domain_get_job_stats(dom, &type, &stats, &nstats, 0) < 0 ||
            type != FERRY_DOMAIN_JOB_UNBOUNDED ||
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_MEMORY_BPS, &bps) != 1)
            bps = 0;
        ferry_typed_params_free(stats, nstats);
        ferry_domain_free(dom);
    }
    g_assert_cmpuint(most, >=, limit / 2);
    g_autoptr(Run) mig = background_wait(bg);
    assert_run_ok(mig, "ferry migrate --bandwidth");
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    check_guest_moved(fx, "g1", "g1", FALSE);
}

/* A guest that dirties memory much faster than 4 MiB/s can carry does not
 * converge; --timeout 1 (suspend, the default, named here) does it: the
 * guest moves paused and runs on B. */
static void test_timeout_suspend(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    /* filled: 8 MiB of data at 4 MiB/s cannot be sent before the timeout */
    start_guest(fx, "g1", 8, 4000, FALSE, TRUE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--live", "--verbose", "--bandwidth", "4",
                               "--timeout", "1", "--timeout-suspend", "--xml", dxml, "--migrateuri",
                               migrate_uri(fx), "g1", fx->b.tcp_uri);
    assert_run_ok(mig, "ferry migrate --timeout --timeout-suspend");
    /* the timeout came while it was still running */
    assert_has(mig->err, "Migration: still running after 1 s: suspending the domain\n");
    g_assert_null(strstr(mig->err, "warning"));
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));
    check_guest_moved(fx, "g1", "g1", TRUE);
}

/* Needs the QEMU driver's migrate_start_postcopy (in flight elsewhere).
 * --postcopy --timeout 1 --timeout-postcopy: the same guest switches to
 * post-copy, runs on B at once, and its memory follows intact. */
static void test_postcopy_timeout(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    /* filled: 8 MiB of data at 4 MiB/s cannot be sent before the timeout */
    start_guest(fx, "g1", 8, 4000, FALSE, TRUE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--live", "--verbose", "--postcopy",
                               "--bandwidth", "4", "--timeout", "1", "--timeout-postcopy", "--xml",
                               dxml, "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    assert_run_ok(mig, "ferry migrate --postcopy --timeout --timeout-postcopy");
    assert_has(mig->err, "Migration: still running after 1 s: switching to post-copy\n");
    g_assert_null(strstr(mig->err, "warning"));
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));
    check_guest_moved(fx, "g1", "g1", TRUE);
}

/* Needs the QEMU driver's migrate_start_postcopy (in flight elsewhere).
 * migrate-postcopy during a migration started with --postcopy ends it in
 * post-copy; without a migration it fails clearly. */
static void test_migrate_postcopy(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    start_guest(fx, "g1", 8, 4000, FALSE, FALSE);
    g_autoptr(Run) idle = FERRY(fx->a.tcp_uri, "migrate-postcopy", "g1");
    assert_run_error(idle, "migrate-postcopy without a migration",
                     "failed to switch the migration of domain 'g1' to post-copy");

    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Background) bg =
        FERRY_BG(fx->a.root, fx->a.tcp_uri, "migrate", "--live", "--postcopy", "--bandwidth", "2",
                 "--xml", dxml, "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    wait_migrating(fx, "g1", NULL);
    g_autoptr(Run) pc = FERRY(fx->a.tcp_uri, "migrate-postcopy", "g1");
    assert_run_ok(pc, "ferry migrate-postcopy");
    g_autoptr(Run) mig = background_wait(bg);
    assert_run_ok(mig, "ferry migrate --postcopy");
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));
    check_guest_moved(fx, "g1", "g1", FALSE);
}

/* How a migration that runs slowly gets cancelled (data: "domjobabort" or
 * "sigint"): the source runs on untouched, B has neither the domain nor a
 * QEMU, and ferry migrate says what happened. */
static void test_cancel(Fixture *fx, gconstpointer data)
{
    gboolean sigint = g_str_equal(data, "sigint");

    if (!lft_have_guest())
        return;
    start_guest(fx, "g1", 4, 200, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Background) bg =
        FERRY_BG(fx->a.root, fx->a.tcp_uri, "migrate", "--live", "--verbose", "--bandwidth", "1",
                 "--xml", dxml, "--migrateuri", migrate_uri(fx), "g1", fx->b.tcp_uri);
    wait_migrating(fx, "g1", NULL);
    if (sigint) {
        g_autoptr(GError) err = NULL;

        g_assert_true(spawn_kill(bg->sp, SIGINT, &err));
        g_assert_no_error(err);
    } else {
        g_autoptr(Run) abort = FERRY(fx->a.tcp_uri, "domjobabort", "g1");
        assert_run_ok(abort, "ferry domjobabort");
    }
    g_autoptr(Run) mig = background_wait(bg);
    g_test_message("stderr: %s", mig->err);
    g_assert_cmpint(mig->status, ==, 1);
    g_assert_cmpstr(mig->out, ==, "");
    /* the bar ends its line; the error is the last line */
    g_assert_true(g_str_has_suffix(mig->err, "\n"));
    const char *last = g_strrstr_len(mig->err, (gssize)strlen(mig->err) - 1, "\n");
    g_assert_nonnull(last);
    g_assert_true(g_str_has_prefix(last + 1, "error: "));
    assert_has(last, sigint ? "migration of domain 'g1' cancelled (interrupted)"
                            : "failed to migrate domain 'g1'");
    assert_has(last, "aborted");

    check_source_untouched(fx, "g1");
    check_dest_empty(fx, "g1");
}

/* Bad arguments: one clear error line, exit 1, and the domain untouched. */
static void test_bad_args(Fixture *fx, gconstpointer data)
{
    g_autofree char *pxml = g_build_filename(fx->a.root, "p.xml", NULL);
    g_autofree char *missing = g_build_filename(fx->a.root, "missing.xml", NULL);
    /* B's QEMU, when one starts, writes under B's root (dest_xml_file) */
    g_autofree char *dxml = g_build_filename(fx->a.root, "g1-dest.xml", NULL);
    const char *b = fx->b.tcp_uri;
    const struct {
        const char *args[10];
        const char *error;
        gboolean daemon; /* refused by a daemon (see below) */
    } cases[] = {
        { { "--live", "--offline", "g1", b },
          "options --live and --offline are mutually exclusive" },
        { { "--live", "--timeout", "0", "g1", b },
          "invalid value '0' of option --timeout: expected a whole number from 1 to" },
        { { "--live", "--timeout", "abc", "g1", b }, "invalid value 'abc' of option --timeout" },
        { { "--live", "--timeout", "5x", "g1", b }, "invalid value '5x' of option --timeout" },
        { { "--live", "--timeout", "-3", "g1", b }, "invalid value '-3' of option --timeout" },
        { { "--live", "--timeout", " 3", "g1", b }, "invalid value ' 3' of option --timeout" },
        { { "--timeout", "5", "g1", b }, "option --timeout needs a live migration (--live)" },
        { { "--live", "--timeout-suspend", "g1", b },
          "option --timeout-suspend requires option --timeout" },
        { { "--live", "--timeout", "3", "--timeout-postcopy", "g1", b },
          "option --timeout-postcopy requires option --postcopy" },
        { { "--live", "--postcopy", "--timeout", "3", "--timeout-suspend", "--timeout-postcopy",
            "g1", b },
          "options --timeout-suspend and --timeout-postcopy are mutually exclusive" },
        { { "--live", "--parallel-connections", "4", "g1", b },
          "option --parallel-connections requires option --parallel" },
        { { "--live", "--parallel", "--parallel-connections", "0", "g1", b },
          "invalid value '0' of option --parallel-connections" },
        { { "--live", "--bandwidth", "fast", "g1", b },
          "invalid value 'fast' of option --bandwidth" },
        { { "--live", "--bandwidth", "99999999999999999999999", "g1", b },
          "invalid value '99999999999999999999999' of option --bandwidth" },
        { { "--live", "--persistent-xml", pxml, "g1", b },
          "option --persistent-xml requires option --persistent" },
        { { "--live", "--xml", missing, "g1", b }, "failed to read file" },
        { { "--offline", "g1", b }, "option --offline requires option --persistent" },
        { { "--live", "--frob", "g1", b }, "command 'migrate' doesn't support option --frob" },
        { { "--live", "g1" }, "command 'migrate' requires <desturi> option" },
        { { "--live", "g1", b, "extra" }, "unexpected data 'extra'" },
        { { "--live", "--dname", "", "g1", b }, "option --dname needs a value that is not empty" },
        { { "--live", "nosuch", b }, "failed to get domain 'nosuch'" },
        { { "--live", "g1", "qemu+tcp://127.0.0.1:1/system" },
          "failed to connect to the destination 'qemu+tcp://127.0.0.1:1/system'" },
        /* refused by the daemons: nothing starts either */
        { { "--live", "--migrateuri", "rdma:127.0.0.1", "--xml", dxml, "g1", b },
          "failed to migrate domain 'g1' to",
          TRUE },
        { { "--live", "--bandwidth", "1152921504606846976", "--xml", dxml, "g1", b },
          "failed to migrate domain 'g1' to",
          TRUE },
    };

    if (!lft_have_guest())
        return;
    g_assert_true(g_file_set_contents(pxml, "<domain/>", -1, NULL));
    start_guest(fx, "g1", 4, 0, FALSE, FALSE);
    g_free(dest_xml_file(fx, "g1"));
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GPtrArray) args = g_ptr_array_new();

        g_ptr_array_add(args, (gpointer) "migrate");
        for (gsize j = 0; j < G_N_ELEMENTS(cases[i].args) && cases[i].args[j]; j++)
            g_ptr_array_add(args, (gpointer)cases[i].args[j]);
        g_ptr_array_add(args, NULL);
        g_autoptr(Run) run = ferry_run(fx->a.tcp_uri, (const char *const *)args->pdata);
        g_test_message("case %zu: %s", i, run->err);
        if (cases[i].daemon) {
            /* The error is the last line; libferry may log the unwinding
             * before it (a warning line on stderr). */
            const char *last = g_strrstr_len(run->err, (gssize)strlen(run->err) - 1, "\n");

            g_assert_cmpint(run->status, ==, 1);
            g_assert_cmpstr(run->out, ==, "");
            last = last ? last + 1 : run->err;
            g_assert_true(g_str_has_prefix(last, "error: "));
            assert_has(last, cases[i].error);
        } else {
            assert_run_error(run, "ferry migrate with bad arguments", cases[i].error);
        }
    }
    check_source_untouched(fx, "g1");
    check_dest_empty(fx, "g1");
}

/* Source and destination the same host (the same ferryd): refused. */
static void test_same_host(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    start_guest(fx, "g1", 4, 0, FALSE, FALSE);
    g_autoptr(Run) mig = FERRY(fx->a.tcp_uri, "migrate", "--live", "--listen-address", "127.0.0.1",
                               "g1", fx->a.unix_uri);
    assert_run_error(mig, "ferry migrate to the same host", "migrating to the same host");
    assert_has(mig->err, "'g1'");
    check_source_untouched(fx, "g1");
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->a), ==, 1);
}

/* Debian's virsh drives the same migration between the two ferryd, with
 * its progress bar. */
static void test_virsh(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest() || !have_virsh())
        return;
    start_guest(fx, "g1", 8, 200, FALSE, FALSE);
    g_autofree char *dxml = dest_xml_file(fx, "g1");
    g_autoptr(Run) mig = run_argv((const char *const[]){
        VIRSH, "-c", fx->a.tcp_uri, "migrate", "--live", "--verbose", "--xml", dxml, "--migrateuri",
        migrate_uri(fx), "g1", fx->b.tcp_uri, NULL });
    assert_run_ok(mig, "virsh migrate --live --verbose");
    g_test_message("virsh's stderr: %s", mig->err);
    assert_has(mig->err, "\rMigration: [");
    g_assert_true(g_regex_match_simple("Migration: \\[100(\\.00)? %\\]", mig->err, 0, 0));
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, -1);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->a, 0));
    check_guest_moved(fx, "g1", "g1", TRUE);
}

/* virsh --offline in its direct mode: libvirt's client wants a URI from
 * Prepare3 even when it then skips Perform. */
static void test_virsh_offline(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = guest_xml(fx, "g1", UUID1, 4, 0);
    FerryDomain *dom;

    if (!have_virsh())
        return;
    dom = ferry_domain_define_xml(CONN_A(fx), xml, 0);
    g_assert_nonnull(dom);
    ferry_domain_free(dom);
    g_autoptr(Run) mig = run_argv(
        (const char *const[]){ VIRSH, "-c", fx->a.tcp_uri, "migrate", "--offline", "--persistent",
                               "--undefinesource", "g1", fx->b.tcp_uri, NULL });
    assert_run_ok(mig, "virsh migrate --offline --persistent --undefinesource");
    g_assert_cmpint(state_of(CONN_B(fx), "g1", NULL), ==, FERRY_DOMAIN_SHUTOFF);
    dom = ferry_domain_lookup_by_name(CONN_B(fx), "g1");
    g_assert_cmpint(ferry_domain_is_persistent(dom), ==, 1);
    ferry_domain_free(dom);
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, -1);
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->a) + ferryd_fixture_count_qemus(&fx->b), ==,
                     0);
}

/* ferry_domain_migrate3 from a thread while this one uses the same
 * connection and domain: statistics, then the speed raised so that it
 * ends; the returned domain is B's. */
static void test_api(Fixture *fx, gconstpointer data)
{
    Migrate3Run run = { 0 };
    int maxparams = 0, type = -1, nstats = 0;
    unsigned long long processed = 0;
    g_autofree char *dxml = NULL;
    g_autofree char *dxml_text = NULL;

    if (!lft_have_guest())
        return;
    start_guest(fx, "g1", 4, 200, FALSE, FALSE);
    run.dom = ferry_domain_lookup_by_name(CONN_A(fx), "g1");
    run.dconn = CONN_B(fx);
    g_assert_nonnull(run.dom);

    /* what is refused before anything starts */
    g_assert_null(ferry_domain_migrate3(NULL, run.dconn, NULL, 0, 0));
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);
    g_assert_null(ferry_domain_migrate3(run.dom, NULL, NULL, 0, 0));
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);
    /* (peer-to-peer: test-ferry-p2p) */
    g_assert_null(ferry_domain_migrate3(run.dom, run.dconn, NULL, 0,
                                        FERRY_MIGRATE_LIVE | FERRY_MIGRATE_PEER2PEER |
                                            FERRY_MIGRATE_TUNNELLED | FERRY_MIGRATE_PARALLEL));
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_NO_SUPPORT);
    g_assert_null(ferry_domain_migrate3(run.dom, run.dconn, NULL, 0,
                                        FERRY_MIGRATE_LIVE | FERRY_MIGRATE_TUNNELLED));
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);
    g_assert_null(ferry_domain_migrate3(run.dom, run.dconn, NULL, 0,
                                        FERRY_MIGRATE_LIVE | FERRY_MIGRATE_OFFLINE));
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);
    /* a parameter of the wrong type: the daemon refuses it */
    g_assert_cmpint(ferry_typed_params_add_string(&run.params, &run.nparams, &maxparams,
                                                  FERRY_MIGRATE_PARAM_BANDWIDTH, "fast"),
                    ==, 0);
    g_assert_null(
        ferry_domain_migrate3(run.dom, run.dconn, run.params, run.nparams, FERRY_MIGRATE_LIVE));
    assert_has(ferry_get_last_error_message(), "bandwidth");
    ferry_typed_params_free(run.params, run.nparams);
    run.params = NULL;
    run.nparams = maxparams = 0;
    /* the parameter helpers check names and values */
    g_assert_cmpint(ferry_typed_params_add_int(&run.params, &run.nparams, &maxparams, "", 1), ==,
                    -1);
    g_assert_cmpint(ferry_typed_params_add_string(&run.params, &run.nparams, &maxparams, "x", NULL),
                    ==, -1);
    g_assert_cmpint(run.nparams, ==, 0);
    check_source_untouched(fx, "g1");
    check_dest_empty(fx, "g1");

    /* a migration at 1 MiB/s, watched and sped up from here */
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
    GThread *thread = g_thread_new("migrate3", migrate3_thread, &run);
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    while (processed == 0) {
        FerryTypedParameter *stats = NULL;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        /* the same FerryDomain the other thread migrates */
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
        g_error("ferry_domain_migrate3: %s", run.error);
    g_assert_cmpstr(ferry_domain_get_name(run.ddom), ==, "g1");
    g_assert_true(ferry_domain_get_connect(run.ddom) == run.dconn);
    g_assert_cmpint(ferry_domain_get_id(run.ddom), >, 0);
    g_assert_cmpint(ferry_domain_is_active(run.ddom), ==, 1);
    g_assert_cmpint(state_of(CONN_A(fx), "g1", NULL), ==, -1);
    check_guest_moved(fx, "g1", "g1", FALSE);
    ferry_domain_free(run.ddom);
    ferry_domain_free(run.dom);
    ferry_typed_params_free(run.params, run.nparams);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn, data) \
    g_test_add("/ferry-migrate/" path, Fixture, data, fixture_setup, fn, migrate_fixture_teardown)
    ADD("live-verbose", test_live, NULL);
    ADD("suspend", test_suspend, NULL);
    ADD("persistent-undefinesource", test_persistent, NULL);
    ADD("dname-xml", test_dname, NULL);
    ADD("offline", test_offline, NULL);
    ADD("bandwidth", test_bandwidth, NULL);
    ADD("timeout-suspend", test_timeout_suspend, NULL);
    ADD("cancel-domjobabort", test_cancel, "domjobabort");
    ADD("cancel-sigint", test_cancel, "sigint");
    ADD("bad-arguments", test_bad_args, NULL);
    ADD("same-host", test_same_host, NULL);
    ADD("virsh", test_virsh, NULL);
    ADD("virsh-offline", test_virsh_offline, NULL);
    ADD("api", test_api, NULL);
    /* last: they need the QEMU driver's post-copy (in flight elsewhere) */
    ADD("postcopy-timeout", test_postcopy_timeout, NULL);
    ADD("postcopy-migrate-postcopy", test_migrate_postcopy, NULL);
#undef ADD
    return g_test_run();
}
