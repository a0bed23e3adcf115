/*
 * bench-tunnel.c: tunnelled migration against direct migration, side by
 * side in one run, and the destination ferryd's peak memory for each.
 *
 *     build/bench/bench-tunnel [--mem MiB] [--fill MiB] [--runs N] [--tls]
 *
 * The source is an in-process QEMU driver (as in tests/test-tunnel), the
 * destination a real daemon/ferryd on loopback TCP (or TLS with --tls),
 * through the remote driver.  The guest (tests/guest, tcg, idle: it fills
 * --fill MiB of its --mem MiB with data and does not dirty them; the rest
 * moves as zero pages) is started afresh for each run and migrated:
 *  - direct: Begin3, Prepare3 (QEMU listens on 127.0.0.1), Perform3 (QEMU
 *    to QEMU), Finish3, Confirm3;
 *  - tunnelled: Begin3, PrepareTunnel3 (the stream), the tunnel's Perform
 *    (QEMU -> socketpair -> relay -> RPC stream -> ferryd's relay ->
 *    socketpair -> QEMU), Finish3, Confirm3.
 * Perform alone is timed; the bytes are QEMU's (the source's job
 * statistics after Perform: data_processed).  The runs alternate between
 * the modes (direct, tunnelled, direct, ...), so that whatever else the
 * machine does falls on both alike, and the medians are reported.  Each
 * mode has a ferryd of its own, so that its peak RSS (VmHWM in
 * /proc/PID/status) is that mode's; the CPU time that ferryd and this
 * process (the source's relay) spent during Perform is reported too.  The
 * guest must pass its self-check on the destination.
 *
 * One JSON document on stdout, progress on stderr; exit 1 on a failure.
 */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "driver/driver_registry.h"
#include "migration/tunnel.h"
#include "rpc/remote_driver.h"
#include "tests/ferryd-testutils.h"
#include "tests/migration-testutils.h"

/* tunnelled throughput over direct: issue 7 asks for at least this */
#define TUNNEL_RATIO_GOAL 0.9
#include "tests/tls-certs.h"
#include "util/error.h"
#include "util/log.h"

typedef enum { MODE_DIRECT, MODE_TUNNELLED, MODE_LAST } Mode;
static const char *const mode_names[] = { "direct", "tunnelled" };
G_STATIC_ASSERT(G_N_ELEMENTS(mode_names) == MODE_LAST);

typedef struct {
    double seconds; /* Perform */
    guint64 bytes; /* QEMU's data_processed */
    double ferryd_cpu; /* s of CPU the destination ferryd used during Perform */
    double source_cpu; /* the same for this process (the source's relay) */
} RunResult;

static int opt_mem = 1024;
static int opt_fill = 900;
static int opt_runs = 3;
static gboolean opt_tls;
static char *opt_only;

static Fixture m;
static FerrydFixture d[MODE_LAST];
static DriverConn *dst[MODE_LAST];
static TlsCerts *certs;

static guint64 vmhwm_kib(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    const char *line;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !(line = strstr(text, "VmHWM:")))
        return 0;
    return g_ascii_strtoull(line + strlen("VmHWM:"), NULL, 10);
}

/* user + system CPU seconds of a process (utime, stime in /proc/PID/stat) */
static double cpu_seconds(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;
    const char *p;
    unsigned long long ut = 0, st = 0;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !(p = strrchr(text, ')')))
        return 0;
    /* after "(comm)": state is field 3, utime 14, stime 15 */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void start_ferryd(Mode mode)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *uri = NULL;

    if (opt_tls) {
        g_autofree char *conf = g_strdup_printf(
            "ca_file = \"%s\"\ncert_file = \"%s\"\nkey_file = \"%s\"\n",
            tls_certs_path(certs, "ca-cert.pem"), tls_certs_path(certs, "server-cert.pem"),
            tls_certs_path(certs, "server-key.pem"));
        ferryd_fixture_write_config(&d[mode], conf);
    }
    /* both ferryds claim this host uuid: they are one host to the source */
    d[mode].host_uuid = HOST_B_UUID;
    ferryd_fixture_start(&d[mode], opt_tls);
    if (opt_tls) {
        const char *pki = tls_certs_libvirt_pki_dir(certs, "client1", "ca", &err);

        g_assert_no_error(err);
        uri = g_strdup_printf("qemu+tls://127.0.0.1:%u/system?pkipath=%s", d[mode].tls_port, pki);
    } else {
        uri = g_strdup(d[mode].tcp_uri);
    }
    dst[mode] = driver_registry_open(uri, 0, &err);
    if (!dst[mode])
        g_error("cannot connect to ferryd: %s", err->message);
}

/* The guest, filled and checked once. */
static void start_guest_big(DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = guest_xml(&m, m.root_a, "mig1", opt_mem);
    g_autofree char *serial = serial_path(m.root_a);

    g_unlink(serial);
    if (!m.src->ops->create_xml(m.src, xml, 0, dom, &err))
        g_error("cannot start the guest: %s", err->message);
    wait_serial(serial, 1, 0, NULL, NULL);
}

/* QEMU's count of what Perform sent (the job is still the source's). */
static guint64 perform_bytes(const DriverDomain *dom)
{
    g_autoptr(TypedParams) stats = NULL;
    unsigned long long v = 0;
    int type = -1;

    if (m.src->ops->get_job_stats(m.src, dom, 0, &type, &stats, NULL))
        typed_params_get_ullong(stats, "data_processed", &v, NULL);
    return v;
}

static gboolean run_once(Mode mode, RunResult *res, GError **error)
{
    pid_t ferryd_pid = spawn_get_pid(d[mode].ferryd);
    double ferryd_cpu0, source_cpu0;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *uri = NULL;
    g_autofree char *dxml = NULL;
    g_autoptr(TypedParams) params = typed_params_new();
    g_autoptr(TypedParams) pparams = NULL;
    g_autoptr(DriverStream) stream = NULL;
    unsigned int flags = MIGRATION_LIVE;
    gboolean ok;
    gint64 t0;

    m.dst = dst[mode];
    g_free(m.root_b);
    m.root_b = g_strdup(d[mode].root);
    start_guest_big(&dom);
    fprintf(stderr, "%s: the guest filled %d MiB; migrating\n", mode_names[mode], opt_fill);
    dxml = dest_xml(&m, &dom);
    typed_params_add_string(params, MIGRATION_PARAM_DEST_XML, dxml, NULL);
    typed_params_add_string(params, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    if (!m.src->ops->migrate_begin3(m.src, &dom, NULL, flags, &c1, &xml, error))
        return FALSE;
    if (mode == MODE_DIRECT) {
        g_autoptr(TypedParams) dparams = typed_params_copy(params);

        typed_params_add_string(dparams, MIGRATION_PARAM_LISTEN_ADDRESS, "127.0.0.1", NULL);
        ok = m.dst->ops->migrate_prepare3(m.dst, dparams, c1, flags, &c2, &uri, error);
    } else {
        stream = driver_stream_new();
        ok = m.dst->ops->migrate_prepare_tunnel3(m.dst, stream, params, c1,
                                                 flags | MIGRATION_TUNNELLED, &c2, error);
    }
    if (!ok) {
        m.src->ops->migrate_confirm3(m.src, &dom, NULL, NULL, flags, TRUE, NULL);
        return FALSE;
    }
    t0 = g_get_monotonic_time();
    ferryd_cpu0 = cpu_seconds(ferryd_pid);
    source_cpu0 = cpu_seconds(getpid());
    if (mode == MODE_DIRECT) {
        pparams = typed_params_new();
        typed_params_add_string(pparams, MIGRATION_PARAM_URI, uri, NULL);
        ok = m.src->ops->migrate_perform3(m.src, &dom, NULL, pparams, c2, flags, &c3, error);
    } else {
        ok = migration_src_perform_tunnel(qemu_driver_conn_get_driver(m.src),
                                          qemu_driver_conn_get_id(m.src), &dom, stream, NULL, c2,
                                          flags, &c3, error);
    }
    res->seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    res->ferryd_cpu = cpu_seconds(ferryd_pid) - ferryd_cpu0;
    res->source_cpu = cpu_seconds(getpid()) - source_cpu0;
    if (ok)
        res->bytes = perform_bytes(&dom);
    g_clear_pointer(&stream, driver_stream_unref);
    if (!m.dst->ops->migrate_finish3(m.dst, params, c3, flags, !ok, &arrived, &c4,
                                     ok ? error : NULL))
        ok = FALSE;
    m.src->ops->migrate_confirm3(m.src, &dom, NULL, c4, flags, !ok, ok ? error : NULL);
    if (!ok)
        return FALSE;
    check_guest_moved(&m);
    return m.dst->ops->destroy(m.dst, &arrived, 0, error);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GOptionContext) ctx = g_option_context_new("- tunnelled against direct migration");
    GOptionEntry entries[] = {
        { "mem", 0, 0, G_OPTION_ARG_INT, &opt_mem, "guest RAM in MiB (1024)", "MIB" },
        { "fill", 0, 0, G_OPTION_ARG_INT, &opt_fill, "MiB the guest fills with data (900)", "MIB" },
        { "runs", 0, 0, G_OPTION_ARG_INT, &opt_runs, "runs per mode (3)", "N" },
        { "tls", 0, 0, G_OPTION_ARG_NONE, &opt_tls, "the RPC connection over TLS", NULL },
        { "only", 0, 0, G_OPTION_ARG_STRING, &opt_only, "one mode only (direct, tunnelled)",
          "MODE" },
        { NULL },
    };
    g_autofree double *gbps = NULL, *fcpu = NULL, *scpu = NULL;
    double med[MODE_LAST][3] = { { 0 } };
    guint64 bytes[MODE_LAST] = { 0 };
    int status = 0;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || opt_runs < 1) {
        fprintf(stderr, "%s\n", err ? err->message : "--runs: at least 1");
        return 2;
    }
    ferry_log_init_from_env(NULL);
    migration_init();
    remote_driver_register();
    if (opt_tls && !(certs = tls_certs_new(&err))) {
        fprintf(stderr, "--tls: %s\n", err->message);
        return 77;
    }

    for (Mode mode = 0; mode < MODE_LAST; mode++)
        ferryd_fixture_init(&d[mode], "ferry-bench-tunnel");
    m.kernel = ferryd_fixture_build_path("tests/guest", "ferry-guest");
    if (!g_file_test(m.kernel, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "the test guest was not built (%s)\n", m.kernel);
        for (Mode mode = 0; mode < MODE_LAST; mode++)
            ferryd_fixture_clear(&d[mode]);
        return 77;
    }
    m.kvm = FALSE; /* idle tcg: what the goal is stated for */
    m.rate = 0;
    m.fill_mib = (guint)opt_fill;
    /* inside the first ferryd's root: its cleanup kills the source's QEMU */
    m.root_a = g_build_filename(d[0].root, "hostA", NULL);
    g_mkdir(m.root_a, 0700);
    m.a = open_driver(m.root_a, HOST_A_UUID, "hostA", FALSE, NULL, NULL);
    m.src = qemu_driver_conn_open(m.a, 1, "qemu:///system");
    for (Mode mode = 0; mode < MODE_LAST; mode++)
        start_ferryd(mode);

    gbps = g_new0(double, (gsize)opt_runs *MODE_LAST);
    fcpu = g_new0(double, (gsize)opt_runs *MODE_LAST);
    scpu = g_new0(double, (gsize)opt_runs *MODE_LAST);
    for (int r = 0; r < opt_runs && !status; r++) {
        for (Mode mode = 0; mode < MODE_LAST && !status; mode++) {
            RunResult res = { 0 };
            int i = mode * opt_runs + r;

            if (opt_only && !g_str_equal(opt_only, mode_names[mode]))
                continue;
            if (!run_once(mode, &res, &err)) {
                fprintf(stderr, "%s: run %d failed: %s\n", mode_names[mode], r, err->message);
                ferryd_fixture_dump_log(&d[mode]);
                status = 1;
                break;
            }
            gbps[i] = (double)res.bytes * 8 / res.seconds / 1e9;
            fcpu[i] = res.ferryd_cpu;
            scpu[i] = res.source_cpu;
            bytes[mode] = res.bytes;
            fprintf(
                stderr,
                "%s: %.1f MiB in %.2f s: %.2f Gbit/s; CPU s: ferryd %.2f, source process %.2f\n",
                mode_names[mode], (double)res.bytes / (1 << 20), res.seconds, gbps[i],
                res.ferryd_cpu, res.source_cpu);
        }
    }
    for (Mode mode = 0; mode < MODE_LAST && !status; mode++) {
        if (opt_only && !g_str_equal(opt_only, mode_names[mode]))
            continue;
        med[mode][0] = median(gbps + mode * opt_runs, opt_runs);
        med[mode][1] = median(fcpu + mode * opt_runs, opt_runs);
        med[mode][2] = median(scpu + mode * opt_runs, opt_runs);
    }

    printf("{\n  \"guest\": { \"memory_mib\": %d, \"filled_mib\": %d, \"accel\": \"tcg\", "
           "\"workload\": \"idle\" },\n",
           opt_mem, opt_fill);
    printf("  \"transport\": \"%s\",\n  \"runs\": %d,\n", opt_tls ? "tls" : "tcp", opt_runs);
    for (Mode mode = 0; mode < MODE_LAST; mode++)
        printf("  \"%s\": { \"gbit_per_s\": %.3f, \"bytes\": %" G_GUINT64_FORMAT
               ", \"ferryd_vmhwm_kib\": %" G_GUINT64_FORMAT
               ", \"ferryd_cpu_s\": %.2f, \"source_process_cpu_s\": %.2f },\n",
               mode_names[mode], med[mode][0], bytes[mode],
               d[mode].ferryd ? vmhwm_kib(spawn_get_pid(d[mode].ferryd)) : 0, med[mode][1],
               med[mode][2]);
    printf("  \"source_process_vmhwm_kib\": %" G_GUINT64_FORMAT ",\n", vmhwm_kib(getpid()));
    double ratio = med[MODE_DIRECT][0] > 0 ? med[MODE_TUNNELLED][0] / med[MODE_DIRECT][0] : 0.0;
    printf("  \"ratio\": %.3f,\n  \"goal\": %.1f,\n  \"goal_met\": %s,\n  \"runs_ok\": %s\n}\n",
           ratio, TUNNEL_RATIO_GOAL, !status && ratio >= TUNNEL_RATIO_GOAL ? "true" : "false",
           status ? "false" : "true");

    for (Mode mode = 0; mode < MODE_LAST; mode++)
        g_clear_pointer(&dst[mode], driver_conn_unref);
    m.dst = NULL;
    g_clear_pointer(&m.src, driver_conn_unref);
    qemu_driver_close(m.a);
    for (Mode mode = MODE_LAST; mode-- > 0;)
        ferryd_fixture_clear(&d[mode]);
    g_clear_pointer(&certs, tls_certs_free);
    g_free(m.root_a);
    g_free(m.root_b);
    g_free(m.kernel);
    return status;
}
