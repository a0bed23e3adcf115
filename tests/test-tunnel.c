/*
 * test-tunnel.c: tunnelled migration (src/migration/tunnel.h) with real
 * QEMU and the test guest: the source is an in-process QEMU driver (as in
 * test-migration, migration-testutils.h), the destination a real
 * daemon/ferryd reached through the remote driver (ferryd-testutils.h),
 * over TCP and over TLS.  migration_sequence_tunnelled() moves the guest,
 * which keeps counting on the destination and passes its self-checks
 * there.  Faults: the destination ferryd killed in the middle of the
 * tunnel (the source runs on, the destination's QEMU goes), an abort of
 * the migration on the source, parameters a tunnel refuses.
 *
 * The source's root lies inside ferryd's, so that ferryd-testutils' abort
 * handler and cleanup kill every QEMU of the case.  Each case prints the
 * tunnel's throughput (not a timed assertion).
 */
#include <config.h>

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/domain_obj.h"
#include "driver/driver_registry.h"
#include "migration/tunnel.h"
#include "rpc/remote_driver.h"
#include "tests/ferryd-testutils.h"
#include "tests/migration-testutils.h"
#include "tests/testproc.h"
#include "tests/tls-certs.h"
#include "util/error.h"
#include "util/log.h"

typedef struct {
    gboolean tls;
    gboolean kill_dst; /* for test_dst_killed */
} CaseOpts;

typedef struct {
    Fixture m; /* root_a, a, src: the source; root_b, dst: the destination */
    FerrydFixture d;
    TlsCerts *certs;
    gboolean skip; /* no certtool for a TLS case */
} TunnelFixture;

static gboolean kvm_works(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return FALSE;
    close(fd);
    return TRUE;
}

static DriverConn *open_remote(const char *uri)
{
    g_autoptr(GError) err = NULL;
    DriverConn *conn = driver_registry_open(uri, 0, &err);

    g_assert_no_error(err);
    g_assert_cmpstr(conn->ops->name, ==, "remote");
    return conn;
}

/* ferryd with TLS (its certificate, client1 allowed) or plain TCP. */
static void start_ferryd(TunnelFixture *fx, gboolean tls)
{
    g_autoptr(GError) err = NULL;

    if (tls) {
        g_autofree char *conf = g_strdup_printf(
            "ca_file = \"%s\"\ncert_file = \"%s\"\nkey_file = \"%s\"\n"
            "tls_allowed_dn_list = [ \"C=GB,O=ferry,CN=client1\" ]\n",
            tls_certs_path(fx->certs, "ca-cert.pem"), tls_certs_path(fx->certs, "server-cert.pem"),
            tls_certs_path(fx->certs, "server-key.pem"));
        ferryd_fixture_write_config(&fx->d, conf);
    }
    ferryd_fixture_start(&fx->d, tls);
    if (tls) {
        const char *pki = tls_certs_libvirt_pki_dir(fx->certs, "client1", "ca", &err);
        g_autofree char *uri = NULL;

        g_assert_no_error(err);
        uri = g_strdup_printf("qemu+tls://127.0.0.1:%u/system?pkipath=%s", fx->d.tls_port, pki);
        fx->m.dst = open_remote(uri);
    } else {
        fx->m.dst = open_remote(fx->d.tcp_uri);
    }
}

static void tunnel_setup(TunnelFixture *fx, gconstpointer data)
{
    const CaseOpts *opts = data;
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");
    g_autoptr(GError) err = NULL;

    if (opts->tls) {
        fx->certs = tls_certs_new(&err);
        if (!fx->certs) {
            g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
            fx->skip = TRUE;
            return;
        }
    }
    ferryd_fixture_init(&fx->d, "ferry-tunnel");
    fx->m.kernel =
        g_build_filename(top ? top : FERRY_TOP_BUILDDIR, "tests", "guest", "ferry-guest", NULL);
    /* FERRY_TEST_ACCEL=tcg: the idle tcg guest even where kvm works */
    fx->m.kvm = kvm_works() && g_strcmp0(g_getenv("FERRY_TEST_ACCEL"), "tcg") != 0;
    fx->m.rate = fx->m.kvm ? 200 : 0;
    fx->m.fill_mib = 8;
    fx->m.root_a = g_build_filename(fx->d.root, "hostA", NULL);
    fx->m.root_b = g_strdup(fx->d.root);
    g_assert_cmpint(g_mkdir(fx->m.root_a, 0700), ==, 0);
    fx->m.a = open_driver(fx->m.root_a, HOST_A_UUID, "hostA", fx->m.kvm, NULL, NULL);
    fx->m.src = qemu_driver_conn_open(fx->m.a, 1, "qemu:///system");
    start_ferryd(fx, opts->tls);
}

static void tunnel_teardown(TunnelFixture *fx, gconstpointer data)
{
    if (fx->skip)
        return;
    g_clear_pointer(&fx->m.dst, driver_conn_unref);
    g_clear_pointer(&fx->m.src, driver_conn_unref);
    /* what a failing case left on the source */
    g_auto(GStrv) names = qemu_driver_list_names(fx->m.a, DOMAIN_LIST_ACTIVE);
    for (char **n = names; n && *n; n++) {
        QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

        if (qemu_driver_lookup_by_name(fx->m.a, *n, &ref, NULL))
            qemu_driver_domain_destroy(fx->m.a, ref.uuid, NULL);
        qemu_domain_ref_clear(&ref);
    }
    qemu_driver_close(fx->m.a);
    ferryd_fixture_clear(&fx->d);
    g_free(fx->m.root_a);
    g_free(fx->m.root_b);
    g_free(fx->m.kernel);
    g_clear_pointer(&fx->certs, tls_certs_free);
}

static gboolean ready(TunnelFixture *fx)
{
    if (fx->skip) {
        g_test_skip("certtool (gnutls-bin) is not installed");
        return FALSE;
    }
    return have_guest(&fx->m);
}

/* destination_xml: the guest's, with its serial file under ferryd's root. */
static TypedParams *tunnel_params(TunnelFixture *fx, const DriverDomain *dom)
{
    g_autoptr(TypedParams) params = typed_params_new();
    g_autofree char *xml = dest_xml(&fx->m, dom);

    g_assert_cmpint(typed_params_add_string(params, MIGRATION_PARAM_DEST_XML, xml, NULL), ==, 0);
    return g_steal_pointer(&params);
}

/* QEMUs of the destination: under ferryd's root, started -incoming
 * (the source's QEMU names its root only through fds). */
static guint dst_qemus(TunnelFixture *fx)
{
    g_autoptr(GArray) pids = test_processes_naming(fx->d.root);
    guint n = 0;

    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);

        if (test_process_cmdline_has(pid, "qemu-system") &&
            test_process_cmdline_has(pid, "-incoming"))
            n++;
    }
    return n;
}

static void wait_dst_qemus(TunnelFixture *fx, guint want)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    while (dst_qemus(fx) != want) {
        if (g_get_monotonic_time() > deadline)
            g_error("the destination has %u QEMUs, not %u", dst_qemus(fx), want);
        g_usleep(50 * 1000);
    }
}

/* A crash of the destination: SIGKILL, reaped (start_ferryd runs a new
 * one on the same root). */
static void kill_ferryd(TunnelFixture *fx)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(spawn_kill(fx->d.ferryd, SIGKILL, &err));
    g_assert_true(spawn_wait(fx->d.ferryd, WAIT_MS, NULL, &err));
    g_assert_no_error(err);
    g_clear_pointer(&fx->d.ferryd, spawn_free);
}

/* ---------------------------------------------------------------- cases */

static void test_live(TunnelFixture *fx, gconstpointer data)
{
    const CaseOpts *opts = data;
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    gint64 start;
    double secs;

    if (!ready(fx))
        return;
    start_guest(&fx->m, &dom, FALSE);
    params = tunnel_params(fx, &dom);
    start = g_get_monotonic_time();
    migration_sequence_tunnelled(fx->m.src, fx->m.dst, &dom, params, MIGRATION_LIVE, &arrived,
                                 &err);
    secs = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    g_assert_no_error(err);
    g_test_message("tunnelled migration over %s (%s, 64 MiB guest): %.2f s",
                   opts->tls ? "TLS" : "TCP", fx->m.kvm ? "kvm, dirtying" : "tcg, idle", secs);
    g_assert_cmpstr(arrived.name, ==, "mig1");
    g_assert_cmpint(arrived.id, >, 0);

    g_assert_cmpint(state_of(fx->m.dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_false(domain_exists(fx->m.src, "mig1"));
    /* the source QEMU is reaped after Confirm answered */
    wait_processes_gone(fx->m.root_a);
    check_guest_moved(&fx->m);
    g_assert_cmpuint(dst_qemus(fx), ==, 1);

    /* the connection that prepared it may go: the guest stays */
    driver_conn_unref(g_steal_pointer(&fx->m.dst));
    fx->m.dst = open_remote(fx->d.tcp_uri);
    g_assert_cmpint(state_of(fx->m.dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_true(fx->m.dst->ops->destroy(fx->m.dst, &arrived, 0, &err));
    g_assert_no_error(err);
    wait_dst_qemus(fx, 0);
}

/* The sequence on a thread. */
typedef struct {
    TunnelFixture *fx;
    const DriverDomain *dom;
    TypedParams *params;
    gboolean ok;
    GError *err;
} TunnelRun;

static gpointer tunnel_thread(gpointer data)
{
    TunnelRun *run = data;

    run->ok = migration_sequence_tunnelled(run->fx->m.src, run->fx->m.dst, run->dom, run->params,
                                           MIGRATION_LIVE, NULL, &run->err);
    return NULL;
}

/* A slow migration (1 MiB/s) in the middle of which the destination
 * ferryd dies (kill_dst) or the source aborts it: the source runs on
 * untouched, the destination's QEMU ends, nothing is left behind. */
static void test_interrupted(TunnelFixture *fx, gconstpointer data)
{
    const CaseOpts *opts = data;
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    TunnelRun run = { fx, &dom, NULL, FALSE, NULL };
    GThread *thread;

    if (!ready(fx))
        return;
    start_guest(&fx->m, &dom, FALSE);
    run.params = tunnel_params(fx, &dom);
    g_assert_cmpint(typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL), ==, 0);
    thread = g_thread_new("tunnel", tunnel_thread, &run);
    wait_migrating(&fx->m, &dom);
    g_assert_cmpuint(dst_qemus(fx), ==, 1);

    if (opts->kill_dst) {
        kill_ferryd(fx);
    } else {
        g_assert_true(fx->m.src->ops->abort_job(fx->m.src, &dom, 0, &err));
        g_assert_no_error(err);
    }
    g_thread_join(thread);
    g_assert_false(run.ok);
    g_assert_nonnull(run.err);
    g_test_message("the migration failed as it should: %s", run.err->message);
    if (!opts->kill_dst)
        g_assert_true(ferry_error_is(run.err, FERRY_ERR_OPERATION_ABORTED));
    g_clear_error(&run.err);
    typed_params_free(run.params);

    /* exactly one guest: the source's, running, its job over */
    check_source_untouched(&fx->m, &dom);
    wait_dst_qemus(fx, 0);
    if (!opts->kill_dst) {
        /* ferryd cleaned up: no domain, and it serves on */
        g_assert_false(domain_exists(fx->m.dst, "mig1"));
    }
    /* and it migrates when asked again (to a restarted ferryd) */
    if (opts->kill_dst) {
        g_clear_pointer(&fx->m.dst, driver_conn_unref);
        start_ferryd(fx, opts->tls);
    }
    {
        g_autoptr(TypedParams) params = tunnel_params(fx, &dom);
        g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;

        g_assert_true(migration_sequence_tunnelled(fx->m.src, fx->m.dst, &dom, params,
                                                   MIGRATION_LIVE, &arrived, &err));
        g_assert_no_error(err);
        check_guest_moved(&fx->m);
        g_assert_true(fx->m.dst->ops->destroy(fx->m.dst, &arrived, 0, &err));
        g_assert_no_error(err);
    }
}

/* What a tunnel cannot carry is refused before anything happens. */
static void test_refused(TunnelFixture *fx, gconstpointer data)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    const char *names[] = { MIGRATION_PARAM_URI, MIGRATION_PARAM_LISTEN_ADDRESS };

    if (!ready(fx))
        return;
    start_guest(&fx->m, &dom, FALSE);
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(TypedParams) params = tunnel_params(fx, &dom);

        g_assert_cmpint(typed_params_add_string(params, names[i], "tcp:127.0.0.1:49152", NULL), ==,
                        0);
        g_assert_false(migration_sequence_tunnelled(fx->m.src, fx->m.dst, &dom, params,
                                                    MIGRATION_LIVE, NULL, &err));
        g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
        g_assert_nonnull(strstr(err->message, names[i]));
    }
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(TypedParams) params = tunnel_params(fx, &dom);

        g_assert_false(migration_sequence_tunnelled(
            fx->m.src, fx->m.dst, &dom, params, MIGRATION_LIVE | MIGRATION_POSTCOPY, NULL, &err));
        g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
        g_clear_error(&err);
        /* the source is this process's QEMU driver, never a remote one */
        g_assert_false(migration_sequence_tunnelled(fx->m.dst, fx->m.src, &dom, params,
                                                    MIGRATION_LIVE, NULL, &err));
        g_assert_true(ferry_error_is(err, FERRY_ERR_INTERNAL));
    }
    check_source_untouched(&fx->m, &dom);
    g_assert_cmpuint(dst_qemus(fx), ==, 0);
    g_assert_true(fx->m.src->ops->destroy(fx->m.src, &dom, 0, NULL));
}

/* The port of the SPICE graphics in a domain's live XML. */
static int spice_port_of(DriverConn *conn, const DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = conn->ops->get_xml_desc(conn, dom, 0, &err);
    g_autoptr(GRegex) re = g_regex_new("<graphics type=.spice.[^>]* port=.([0-9]+).", 0, 0, NULL);
    g_autoptr(GMatchInfo) m = NULL;
    g_autofree char *port = NULL;

    g_assert_no_error(err);
    g_assert_true(g_regex_match(re, xml, 0, &m));
    port = g_match_info_fetch(m, 1);
    return atoi(port);
}

/* SPICE through a tunnel: the destination ferryd's tunnelled Prepare
 * says where its SPICE listens (a port of its own: both QEMUs run on
 * this machine) and the source tells its QEMU before migrating (the
 * driver's QMP trace). */
static void test_spice(TunnelFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *xml = NULL, *serial = serial_path(fx->m.root_a);
    g_autofree char *trace = g_build_filename(fx->m.root_a, "qmp-trace.log", NULL);
    g_autofree char *outputs = g_strdup_printf("1:file:%s", trace);
    g_autofree char *text = NULL, *want = NULL;
    int src_port, dst_port;

    if (!ready(fx))
        return;
    xml = guest_xml(&fx->m, fx->m.root_a, "mig1", 64);
    g_autoptr(GString) with = g_string_new(xml);
    g_string_replace(with, "  </devices>",
                     "    <graphics type='spice' autoport='yes' listen='127.0.0.1'/>\n"
                     "  </devices>",
                     1);
    g_assert_true(fx->m.src->ops->create_xml(fx->m.src, with->str, 0, &dom, &err));
    g_assert_no_error(err);
    wait_serial(serial, 1, 0, NULL, NULL);
    src_port = spice_port_of(fx->m.src, &dom);

    params = tunnel_params(fx, &dom);
    g_assert_true(ferry_log_set_filters("1:qemu.monitor", &err));
    g_assert_true(ferry_log_set_outputs(outputs, &err));
    migration_sequence_tunnelled(fx->m.src, fx->m.dst, &dom, params, MIGRATION_LIVE, &arrived,
                                 &err);
    ferry_log_reset();
    ferry_log_init_from_env(NULL);
    g_assert_no_error(err);
    check_guest_moved(&fx->m);
    dst_port = spice_port_of(fx->m.dst, &arrived);
    g_test_message("SPICE: source port %d, destination port %d", src_port, dst_port);
    g_assert_cmpint(dst_port, !=, src_port);

    g_assert_true(g_file_get_contents(trace, &text, NULL, NULL));
    want = g_strdup_printf("{\"execute\":\"client_migrate_info\",\"arguments\":{\"protocol\":"
                           "\"spice\",\"hostname\":\"127.0.0.1\",\"port\":%d},",
                           dst_port);
    g_assert_nonnull(strstr(text, want));
    g_assert_true(strstr(text, want) < strstr(text, "\"execute\":\"migrate\""));
    g_assert_true(fx->m.dst->ops->destroy(fx->m.dst, &arrived, 0, &err));
    g_assert_no_error(err);
    wait_dst_qemus(fx, 0);
}

int main(int argc, char **argv)
{
    static const CaseOpts tcp = { FALSE, FALSE };
    static const CaseOpts tls = { TRUE, FALSE };
    static const CaseOpts kill_tcp = { FALSE, TRUE };
    static const CaseOpts kill_tls = { TRUE, TRUE };

    migration_test_init(&argc, &argv);
    remote_driver_register();
    /* the source's writes into a dead tunnel must not kill the test */
    signal(SIGPIPE, SIG_IGN);

#define ADD(path, opts, fn) \
    g_test_add(path, TunnelFixture, &opts, tunnel_setup, fn, tunnel_teardown)
    ADD("/tunnel/live/tcp", tcp, test_live);
    ADD("/tunnel/live/tls", tls, test_live);
    ADD("/tunnel/dst-killed/tcp", kill_tcp, test_interrupted);
    ADD("/tunnel/dst-killed/tls", kill_tls, test_interrupted);
    ADD("/tunnel/abort", tcp, test_interrupted);
    ADD("/tunnel/refused", tcp, test_refused);
    ADD("/tunnel/spice", tcp, test_spice);
#undef ADD
    return g_test_run();
}
