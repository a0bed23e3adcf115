/*
 * bench-rpc.c: RPC round trips through libferry's remote driver: calls per
 * second and latency percentiles of dominfo's DOMAIN_GET_INFO
 * (ferry_domain_get_info) against a real ferryd, over the UNIX socket and
 * plain TCP on loopback, with 1 and 8 client threads sharing one
 * connection (as a threaded libvirt client does).
 *
 *     build/bench/bench-rpc [--calls N] [--ferryd PATH]
 *
 * It starts daemon/ferryd on a temporary --root with one defined (not
 * running) domain, runs the four configurations one after the other, stops
 * ferryd, removes the root and prints one JSON document on stdout (progress
 * goes to stderr).  When a libvirt daemon is running on this host
 * (/run/libvirt/libvirt-sock answers) the same client measures it too,
 * read-only, on its first domain; otherwise the document says nothing
 * about libvirt.  It never starts libvirtd.
 */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "ferry/ferry.h"
#include "util/fd.h"
#include "util/spawn.h"

#define BENCH_UUID "5b6c7d8e-0000-4000-8000-00000000be01"
#define LIBVIRT_SOCK "/run/libvirt/libvirt-sock"

typedef struct {
    FerryDomain *dom;
    guint calls;
    gint64 *lat_ns; /* calls entries */
    int failures;
    const char *first_error;
} Worker;

typedef struct {
    const char *name;
    const char *transport;
    guint threads;
    guint calls;
    double seconds;
    double calls_per_s;
    double p50_us, p90_us, p99_us, max_us, mean_us;
    int failures;
    char *error;
} Result;

static gpointer worker_run(gpointer data)
{
    Worker *w = data;
    FerryDomainInfo info;

    for (guint i = 0; i < w->calls; i++) {
        gint64 t0 = g_get_monotonic_time();
        int rc = ferry_domain_get_info(w->dom, &info);
        gint64 t1 = g_get_monotonic_time();

        w->lat_ns[i] = (t1 - t0) * 1000;
        if (rc < 0 && w->failures++ == 0)
            w->first_error = g_intern_string(ferry_get_last_error_message());
    }
    return NULL;
}

static gint cmp_i64(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

static double percentile_us(const gint64 *sorted, guint n, double p)
{
    guint i = (guint)(p / 100.0 * (n - 1) + 0.5);

    return n ? sorted[MIN(i, n - 1)] / 1000.0 : 0;
}

/* Runs `calls` get_info calls split over `threads` threads on one
 * connection to uri, for the domain named name (NULL: the first one). */
static void bench_one(Result *r, const char *uri, const char *name, guint threads, guint calls)
{
    FerryConnect *conn = ferry_connect_open(uri, 0);
    FerryDomain *dom = NULL;
    FerryDomainInfo info;

    r->threads = threads;
    if (!conn) {
        r->error = g_strdup(ferry_get_last_error_message());
        return;
    }
    if (name) {
        dom = ferry_domain_lookup_by_name(conn, name);
    } else {
        FerryDomain **all = NULL;
        int n = ferry_connect_list_all_domains(conn, &all, 0);

        for (int i = 0; i < n; i++) {
            if (i == 0)
                dom = all[i];
            else
                ferry_domain_free(all[i]);
        }
        free(all);
        if (n == 0) {
            r->error = g_strdup("no domain to ask about");
            ferry_connect_close(conn);
            return;
        }
    }
    if (!dom) {
        r->error = g_strdup(ferry_get_last_error_message());
        ferry_connect_close(conn);
        return;
    }
    /* Warm up (and check that the call works at all). */
    for (int i = 0; i < 200; i++) {
        if (ferry_domain_get_info(dom, &info) < 0) {
            r->error = g_strdup(ferry_get_last_error_message());
            ferry_domain_free(dom);
            ferry_connect_close(conn);
            return;
        }
    }

    g_autofree Worker *workers = g_new0(Worker, threads);
    g_autofree GThread **tids = g_new0(GThread *, threads);
    guint per = calls / threads;
    for (guint t = 0; t < threads; t++) {
        workers[t].dom = dom;
        workers[t].calls = per;
        workers[t].lat_ns = g_new0(gint64, per);
    }
    gint64 start = g_get_monotonic_time();
    for (guint t = 0; t < threads; t++)
        tids[t] = g_thread_new("bench", worker_run, &workers[t]);
    for (guint t = 0; t < threads; t++)
        g_thread_join(tids[t]);
    gint64 end = g_get_monotonic_time();

    g_autofree gint64 *all = g_new0(gint64, (gsize)per * threads);
    guint n = 0;
    double sum = 0;
    for (guint t = 0; t < threads; t++) {
        memcpy(all + n, workers[t].lat_ns, per * sizeof(gint64));
        n += per;
        r->failures += workers[t].failures;
        if (workers[t].first_error && !r->error)
            r->error = g_strdup(workers[t].first_error);
        g_free(workers[t].lat_ns);
    }
    qsort(all, n, sizeof(gint64), (int (*)(const void *, const void *))cmp_i64);
    for (guint i = 0; i < n; i++)
        sum += all[i];
    r->calls = n;
    r->seconds = (end - start) / 1e6;
    r->calls_per_s = r->seconds > 0 ? n / r->seconds : 0;
    r->p50_us = percentile_us(all, n, 50);
    r->p90_us = percentile_us(all, n, 90);
    r->p99_us = percentile_us(all, n, 99);
    r->max_us = n ? all[n - 1] / 1000.0 : 0;
    r->mean_us = n ? sum / n / 1000.0 : 0;
    ferry_domain_free(dom);
    ferry_connect_close(conn);
}

static void json_result(GString *out, const Result *r, gboolean last)
{
    g_string_append_printf(out, "    \"%s\": {\"transport\": \"%s\", \"threads\": %u, ", r->name,
                           r->transport, r->threads);
    if (r->calls == 0) {
        g_autofree char *esc = g_strescape(r->error ? r->error : "no calls", NULL);

        g_string_append_printf(out, "\"error\": \"%s\"}%s\n", esc, last ? "" : ",");
        return;
    }
    g_string_append_printf(out,
                           "\"calls\": %u, \"failures\": %d, \"seconds\": %.3f, "
                           "\"calls_per_s\": %.0f, \"latency_us\": {\"mean\": %.1f, \"p50\": "
                           "%.1f, \"p90\": %.1f, \"p99\": %.1f, \"max\": %.1f}}%s\n",
                           r->calls, r->failures, r->seconds, r->calls_per_s, r->mean_us, r->p50_us,
                           r->p90_us, r->p99_us, r->max_us, last ? "" : ",");
}

/* ---------------------------------------------------------------- ferryd */

static Spawn *ferryd_start(const char *prog, const char *root, guint *port, GError **error)
{
    g_autofree char *log = g_build_filename(root, "ferryd.log", NULL);
    g_autofree char *addr = g_build_filename(root, "run", "ferry", "ferryd.addr", NULL);
    g_autoptr(Spawn) sp = spawn_new(
        (const char *const[]){ prog, "--root", root, "--listen-tcp", "127.0.0.1:0", NULL });
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    g_autofree char *text = NULL;

    spawn_set_log_file(sp, log);
    /* Logging off the hot path: warnings only. */
    spawn_set_env(sp, "FERRY_LOG_LEVEL", "warning");
    if (!spawn_start(sp, error))
        return NULL;
    while (!g_file_get_contents(addr, &text, NULL, NULL)) {
        if (spawn_wait(sp, 0, NULL, NULL) || g_get_monotonic_time() > deadline) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "ferryd did not start (see %s)",
                        log);
            return NULL;
        }
        g_usleep(20 * 1000);
    }
    const char *tcp = strstr(text, "tcp 127.0.0.1:");
    if (!tcp) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "no TCP listener in %s", addr);
        return NULL;
    }
    *port = (guint)g_ascii_strtoull(tcp + strlen("tcp 127.0.0.1:"), NULL, 10);
    return g_steal_pointer(&sp);
}

static void remove_tree(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
            remove_tree(child);
        else
            g_unlink(child);
    }
    g_rmdir(path);
}

/* TRUE when something accepts connections on libvirt's system socket. */
static gboolean libvirt_running(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_auto(FerryFd) fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(sa.sun_path, LIBVIRT_SOCK, sizeof(sa.sun_path));
    return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

int main(int argc, char **argv)
{
    guint calls = 20000;
    g_autofree char *ferryd = NULL;
    GOptionEntry entries[] = {
        { "calls", 'n', 0, G_OPTION_ARG_INT, &calls,
          "Calls per configuration, split over its threads (default 20000)", "N" },
        { "ferryd", 0, 0, G_OPTION_ARG_FILENAME, &ferryd,
          "The ferryd binary (default: the build tree's)", "PATH" },
        { NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new(NULL);
    g_autoptr(GError) err = NULL;

    g_option_context_set_summary(octx, "Calls per second and latency of dominfo over ferry's RPC "
                                       "(UNIX and TCP, 1 and 8 threads); prints JSON.");
    g_option_context_add_main_entries(octx, entries, NULL);
    if (!g_option_context_parse(octx, &argc, &argv, &err)) {
        fprintf(stderr, "bench-rpc: %s\n", err->message);
        return 2;
    }
    if (calls < 8)
        calls = 8;
    if (!ferryd)
        ferryd = g_build_filename(FERRY_TOP_BUILDDIR, "daemon", "ferryd", NULL);
    signal(SIGPIPE, SIG_IGN);
    g_setenv("FERRY_LOG_LEVEL", "warning", TRUE);

    g_autofree char *root = g_dir_make_tmp("ferry-bench-rpc-XXXXXX", &err);
    if (!root) {
        fprintf(stderr, "bench-rpc: %s\n", err->message);
        return 1;
    }
    guint port = 0;
    g_autoptr(Spawn) d = ferryd_start(ferryd, root, &port, &err);
    if (!d) {
        fprintf(stderr, "bench-rpc: %s\n", err->message);
        remove_tree(root);
        return 1;
    }
    g_autofree char *unix_uri =
        g_strdup_printf("qemu+unix:///system?socket=%s/run/ferry/ferryd-sock", root);
    g_autofree char *tcp_uri = g_strdup_printf("qemu+tcp://127.0.0.1:%u/system", port);
    g_autofree char *kernel =
        g_build_filename(FERRY_TOP_BUILDDIR, "tests", "guest", "ferry-guest", NULL);
    g_autofree char *xml =
        g_strdup_printf("<domain type='qemu'><name>bench1</name><uuid>%s</uuid>"
                        "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                        "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>%s</kernel></os>"
                        "<devices><memballoon model='none'/></devices></domain>",
                        BENCH_UUID, kernel);
    int status = 0;
    FerryConnect *setup = ferry_connect_open(unix_uri, 0);
    FerryDomain *def = setup ? ferry_domain_define_xml(setup, xml, 0) : NULL;
    if (!def) {
        fprintf(stderr, "bench-rpc: cannot define the domain: %s\n",
                ferry_get_last_error_message());
        status = 1;
    }
    if (def)
        ferry_domain_free(def);
    if (setup)
        ferry_connect_close(setup);

    Result results[] = {
        { .name = "unix_1", .transport = "unix" },
        { .name = "unix_8", .transport = "unix" },
        { .name = "tcp_1", .transport = "tcp" },
        { .name = "tcp_8", .transport = "tcp" },
    };
    const guint threads[] = { 1, 8, 1, 8 };
    for (gsize i = 0; status == 0 && i < G_N_ELEMENTS(results); i++) {
        const char *uri = g_str_equal(results[i].transport, "unix") ? unix_uri : tcp_uri;

        fprintf(stderr, "bench-rpc: %s, %u thread(s), %u calls...\n", results[i].transport,
                threads[i], calls);
        bench_one(&results[i], uri, "bench1", threads[i], calls);
    }

    Result lv = { .name = "libvirt_unix_1", .transport = "unix" };
    gboolean have_libvirt = status == 0 && libvirt_running();
    if (have_libvirt) {
        fprintf(stderr, "bench-rpc: libvirt is running: the same client against it...\n");
        bench_one(&lv, "qemu+unix:///system?socket=" LIBVIRT_SOCK, NULL, 1, calls);
    }

    /* SIGTERM: ferryd leaves nothing running (the domain was never started). */
    if (!spawn_kill_and_reap(d, 10000, NULL, &err))
        fprintf(stderr, "bench-rpc: stopping ferryd: %s\n", err->message);
    remove_tree(root);
    if (status)
        return status;

    g_autoptr(GString) out = g_string_new("{\n");
    g_string_append_printf(out,
                           "  \"benchmark\": \"rpc dominfo (DOMAIN_GET_INFO via "
                           "ferry_domain_get_info)\",\n  \"calls_per_config\": %u,\n"
                           "  \"connections_per_config\": 1,\n  \"ferry\": {\n",
                           calls);
    for (gsize i = 0; i < G_N_ELEMENTS(results); i++)
        json_result(out, &results[i], i + 1 == G_N_ELEMENTS(results));
    g_string_append(out, have_libvirt ? "  },\n  \"libvirt\": {\n" : "  }\n");
    if (have_libvirt) {
        json_result(out, &lv, TRUE);
        g_string_append(out, "  }\n");
    }
    g_string_append(out, "}\n");
    fputs(out->str, stdout);
    for (gsize i = 0; i < G_N_ELEMENTS(results); i++) {
        if (results[i].calls == 0 || results[i].failures)
            status = 1;
        g_free(results[i].error);
    }
    g_free(lv.error);
    return status;
}
