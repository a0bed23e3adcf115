/*
 * migrate-testutils.c: what the tests of migrations between two real
 * ferryd share (see migrate-testutils.h).
 */
#include <config.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tests/migrate-testutils.h"
#include "tests/libferry-testutils.h"
#include "tests/testproc.h"

/* ---------------------------------------------------------------- programs */

void run_free(Run *run)
{
    g_free(run->out);
    g_free(run->err);
    g_free(run);
}

Run *run_argv(const char *const *argv)
{
    g_autoptr(Spawn) sp = spawn_new(argv);
    g_autoptr(GError) err = NULL;
    SpawnStatus status = { 0 };
    Run *run = g_new0(Run, 1);

    spawn_set_env(sp, "FERRY_DEFAULT_URI", NULL);
    if (!spawn_run_capture(sp, WAIT_MS, 1 << 20, &run->out, &run->err, &status, &err))
        g_error("%s: %s", argv[0], err->message);
    run->status = status.kind == SPAWN_EXIT_EXITED ? status.code : 128 + status.code;
    return run;
}

/* The argv of `ferry -c URI ARGS...` (args NULL-terminated). */
static GPtrArray *ferry_argv(const char *uri, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(argv, ferryd_fixture_build_path("tools", "ferry"));
    g_ptr_array_add(argv, g_strdup("-c"));
    g_ptr_array_add(argv, g_strdup(uri));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, g_strdup(*a));
    g_ptr_array_add(argv, NULL);
    return argv;
}

Run *ferry_run(const char *uri, const char *const *args)
{
    g_autoptr(GPtrArray) argv = ferry_argv(uri, args);

    return run_argv((const char *const *)argv->pdata);
}

void assert_run_ok(const Run *run, const char *what)
{
    if (run->status != 0)
        g_error("%s: exit %d\nstdout: %s\nstderr: %s", what, run->status, run->out, run->err);
}

/* Exit status 1, nothing on stdout, one line "error: ...part..." on
 * stderr. */
void assert_run_error(const Run *run, const char *what, const char *part)
{
    const char *nl = strchr(run->err, '\n');

    if (run->status != 1 || *run->out || !g_str_has_prefix(run->err, "error: ") || !nl || nl[1] ||
        !strstr(run->err, part))
        g_error("%s: expected one error line with \"%s\": status %d stdout \"%s\" stderr \"%s\"",
                what, part, run->status, run->out, run->err);
}

void assert_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        g_error("\"%s\" not found in:\n%s", part, text);
}

gboolean have_virsh(void)
{
    if (g_file_test(VIRSH, G_FILE_TEST_IS_EXECUTABLE))
        return TRUE;
    g_test_skip("Debian's virsh (libvirt-clients) is not installed");
    return FALSE;
}

void background_free(Background *bg)
{
    spawn_free(bg->sp); /* kills it when still running */
    g_unlink(bg->out_path);
    g_unlink(bg->err_path);
    g_free(bg->out_path);
    g_free(bg->err_path);
    g_free(bg);
}

static int open_output(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    g_assert_cmpint(fd, >=, 0);
    return fd;
}

Background *background_start(const char *dir, const char *tag, const char *const *argv)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *out_name = g_strdup_printf("%s-bg.out", tag);
    g_autofree char *err_name = g_strdup_printf("%s-bg.err", tag);
    Background *bg = g_new0(Background, 1);
    int out, errfd;

    bg->out_path = g_build_filename(dir, out_name, NULL);
    bg->err_path = g_build_filename(dir, err_name, NULL);
    out = open_output(bg->out_path);
    errfd = open_output(bg->err_path);
    bg->sp = spawn_new(argv);
    spawn_set_env(bg->sp, "FERRY_DEFAULT_URI", NULL);
    spawn_set_stdout_fd(bg->sp, out);
    spawn_set_stderr_fd(bg->sp, errfd);
    spawn_set_kill_grace(bg->sp, 2000);
    g_assert_true(spawn_start(bg->sp, &err));
    g_assert_no_error(err);
    close(out);
    close(errfd);
    return bg;
}

Background *ferry_background(const char *dir, const char *uri, const char *const *args)
{
    g_autoptr(GPtrArray) argv = ferry_argv(uri, args);

    return background_start(dir, "ferry", (const char *const *)argv->pdata);
}

gpointer migrate3_thread(gpointer data)
{
    Migrate3Run *run = data;

    run->ddom =
        ferry_domain_migrate3(run->dom, run->dconn, run->params, run->nparams, FERRY_MIGRATE_LIVE);
    if (!run->ddom)
        run->error = g_strdup(ferry_get_last_error_message());
    return NULL;
}

/* Waits for it to end; its exit status and output. */
Run *background_wait(Background *bg)
{
    g_autoptr(GError) err = NULL;
    SpawnStatus status = { 0 };
    Run *run = g_new0(Run, 1);

    if (!spawn_wait(bg->sp, WAIT_MS, &status, &err))
        g_error("the background ferry did not end: %s", err->message);
    run->status = status.kind == SPAWN_EXIT_EXITED ? status.code : 128 + status.code;
    g_assert_true(g_file_get_contents(bg->out_path, &run->out, NULL, NULL));
    g_assert_true(g_file_get_contents(bg->err_path, &run->err, NULL, NULL));
    return run;
}

/* ---------------------------------------------------------------- fixture */

gboolean kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return FALSE;
    close(fd);
    return TRUE;
}

void migrate_fixture_init(MigrateFixture *fx, const char *prefix_a, const char *prefix_b)
{
    fx->kernel = lft_guest_kernel();
    /* FERRY_TEST_ACCEL=tcg: the idle tcg guest even where kvm works */
    fx->kvm = kvm_usable() && g_strcmp0(g_getenv("FERRY_TEST_ACCEL"), "tcg") != 0;
    ferryd_fixture_init(&fx->a, prefix_a);
    ferryd_fixture_init(&fx->b, prefix_b);
    fx->a.host_uuid = HOST_A_UUID;
    fx->b.host_uuid = HOST_B_UUID;
}

FerryConnect *conn_of(FerrydFixture *f, FerryConnect **cache)
{
    if (!*cache && !(*cache = ferry_connect_open(f->tcp_uri, 0)))
        g_error("open %s: %s", f->tcp_uri, ferry_get_last_error_message());
    return *cache;
}

/* "tcp:127.0.0.1:PORT" with a port free a moment ago, for --migrateuri:
 * the daemon's own choice (the first free port from 49152) races with
 * other tests that migrate at the same time.  Valid until the next call. */
const char *migrate_uri(MigrateFixture *fx)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sin, &len), ==, 0);
    close(fd);
    g_free(fx->muri);
    fx->muri = g_strdup_printf("tcp:127.0.0.1:%u", ntohs(sin.sin_port));
    return fx->muri;
}

/* Destroys what still runs on a host (a case stops what it started; this
 * catches what a failing one left). */
void destroy_all(FerryConnect *conn)
{
    FerryDomain **doms = NULL;
    int n =
        conn ? ferry_connect_list_all_domains(conn, &doms, FERRY_CONNECT_LIST_DOMAINS_ACTIVE) : 0;

    for (int i = 0; i < n; i++) {
        ferry_domain_destroy(doms[i], 0);
        ferry_domain_free(doms[i]);
    }
    free(doms);
}

void migrate_fixture_teardown(MigrateFixture *fx, gconstpointer data)
{
    if (fx->a.ferryd)
        destroy_all(CONN_A(fx));
    if (fx->b.ferryd)
        destroy_all(CONN_B(fx));
    if (fx->ca)
        ferry_connect_close(fx->ca);
    if (fx->cb)
        ferry_connect_close(fx->cb);
    /* stops both ferryd, kills whatever still names a root */
    ferryd_fixture_clear(&fx->a);
    ferryd_fixture_clear(&fx->b);
    g_free(fx->kernel);
    g_free(fx->muri);
}

/* ---------------------------------------------------------------- the guest */

char *serial_path(FerrydFixture *f, const char *name)
{
    g_autofree char *file = g_strdup_printf("serial-%s.log", name);

    return g_build_filename(f->root, file, NULL);
}

/* The guest's XML: mem MiB filled and checked, rate pages rewritten per
 * second (kvm only), its serial file under A's root. */
char *guest_xml(MigrateFixture *fx, const char *name, const char *uuid, int mem, int rate)
{
    g_autofree char *serial = serial_path(&fx->a, name);

    return g_strdup_printf("<domain type='%s'>\n"
                           "  <name>%s</name>\n"
                           "  <uuid>%s</uuid>\n"
                           "  <memory unit='MiB'>64</memory>\n"
                           "  <vcpu>1</vcpu>\n"
                           "  <os>\n"
                           "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                           "    <kernel>%s</kernel>\n"
                           "    <cmdline>mem=%d rate=%d seed=7</cmdline>\n"
                           "  </os>\n"
                           "  <devices>\n"
                           "    <serial type='file'><source path='%s'/></serial>\n"
                           "    <memballoon model='none'/>\n"
                           "  </devices>\n"
                           "</domain>\n",
                           fx->kvm ? "kvm" : "qemu", name, uuid, fx->kernel, mem,
                           fx->kvm ? rate : 0, serial);
}

/* The last "tick=" line of a serial file: its tick and checks; FALSE when
 * there is none.  A FAIL line fails the test at once. */
gboolean serial_last(const char *path, guint *tick, guint *checks)
{
    g_autofree char *text = NULL;
    gboolean found = FALSE;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        guint t = 0, d = 0, c = 0;

        if (strstr(*l, "status=FAIL"))
            g_error("the guest reports lost memory: %s (%s)", *l, path);
        if (sscanf(*l, "tick=%u dirtied=%u checks=%u status=ok", &t, &d, &c) == 3 &&
            g_str_has_suffix(*l, "status=ok")) {
            *tick = t;
            *checks = c;
            found = TRUE;
        }
    }
    return found;
}

/* Waits until the serial file shows tick > min_tick and checks >
 * min_checks (min_checks -1: any). */
void wait_serial(const char *path, guint min_tick, int min_checks, guint *tick, guint *checks)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    guint t = 0, c = 0;

    while (!(serial_last(path, &t, &c) && t > min_tick && (int)c > min_checks)) {
        if (g_get_monotonic_time() > deadline)
            g_error("%s: no tick > %u with checks > %d (last tick %u, checks %u)", path, min_tick,
                    min_checks, t, c);
        g_usleep(20000);
    }
    if (tick)
        *tick = t;
    if (checks)
        *checks = c;
}

/* Starts the guest name on A (defined first when persistent) and waits
 * until it runs; filled: until it has filled and checked its memory once. */
void start_guest(MigrateFixture *fx, const char *name, int mem, int rate, gboolean persistent,
                 gboolean filled)
{
    g_autofree char *xml = guest_xml(fx, name, UUID1, mem, rate);
    g_autofree char *serial = serial_path(&fx->a, name);
    FerryDomain *dom;

    if (persistent) {
        dom = ferry_domain_define_xml(CONN_A(fx), xml, 0);
        if (!dom || ferry_domain_create(dom, 0) < 0)
            g_error("define and start '%s': %s", name, ferry_get_last_error_message());
    } else if (!(dom = ferry_domain_create_xml(CONN_A(fx), xml, 0))) {
        g_error("create '%s': %s", name, ferry_get_last_error_message());
    }
    ferry_domain_free(dom);
    wait_serial(serial, 1, filled ? 0 : -1, NULL, NULL);
}

/* A file under A's root with the running guest's migratable XML, its
 * serial file moved under B's root: what --xml gets. */
char *dest_xml_file(MigrateFixture *fx, const char *name)
{
    FerryDomain *dom = ferry_domain_lookup_by_name(CONN_A(fx), name);
    g_autofree char *xml = NULL;
    g_autofree char *from = serial_path(&fx->a, name);
    g_autofree char *to = serial_path(&fx->b, name);
    g_autofree char *file = g_strdup_printf("%s-dest.xml", name);
    char *path = g_build_filename(fx->a.root, file, NULL);

    g_assert_nonnull(dom);
    xml = ferry_domain_get_xml_desc(dom, FERRY_DOMAIN_XML_MIGRATABLE);
    ferry_domain_free(dom);
    g_assert_nonnull(xml);
    g_assert_nonnull(strstr(xml, from));
    g_autoptr(GString) out = g_string_new(xml);
    g_string_replace(out, from, to, 0);
    g_assert_true(g_file_set_contents(path, out->str, -1, NULL));
    return path;
}

/* The guest keeps counting on B past the last tick A's file shows; with
 * check, it also completes a self-check that started on B. */
void check_guest_moved(MigrateFixture *fx, const char *src_name, const char *dst_name,
                       gboolean check)
{
    g_autofree char *src = serial_path(&fx->a, src_name);
    g_autofree char *dst = serial_path(&fx->b, dst_name);
    guint src_tick = 0, src_checks = 0, dst_tick = 0, dst_checks = 0;

    g_assert_true(serial_last(src, &src_tick, &src_checks));
    wait_serial(dst, src_tick, -1, &dst_tick, &dst_checks);
    if (check)
        wait_serial(dst, dst_tick, (int)MAX(dst_checks, src_checks), NULL, NULL);
}

/* The state of name on a host, or -1 when it has no such domain. */
int state_of(FerryConnect *conn, const char *name, int *reason)
{
    FerryDomain *dom = ferry_domain_lookup_by_name(conn, name);
    int state = -1;

    if (!dom)
        return -1;
    if (ferry_domain_get_state(dom, &state, reason, 0) < 0) {
        /* it went away since the lookup (a migration ended) */
        g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_NO_DOMAIN);
        state = -1;
    }
    ferry_domain_free(dom);
    return state;
}

/* name runs on A as before: running, no job, and its guest goes on. */
void check_source_untouched(MigrateFixture *fx, const char *name)
{
    FerryDomain *dom = ferry_domain_lookup_by_name(CONN_A(fx), name);
    FerryTypedParameter *stats = NULL;
    int nstats = 0, type = -1, state = -1;
    g_autofree char *serial = serial_path(&fx->a, name);
    guint tick = 0, checks = 0;

    g_assert_nonnull(dom);
    g_assert_cmpint(ferry_domain_get_state(dom, &state, NULL, 0), ==, 0);
    g_assert_cmpint(state, ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpint(ferry_domain_get_job_stats(dom, &type, &stats, &nstats, 0), ==, 0);
    g_assert_cmpint(type, ==, FERRY_DOMAIN_JOB_NONE);
    ferry_typed_params_free(stats, nstats);
    ferry_domain_free(dom);
    g_assert_true(serial_last(serial, &tick, &checks));
    wait_serial(serial, tick, -1, NULL, NULL);
}

/* B has nothing: no domain name, no QEMU. */
void check_dest_empty(MigrateFixture *fx, const char *name)
{
    g_assert_cmpint(state_of(CONN_B(fx), name, NULL), ==, -1);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->b, 0));
}

/* Waits until name's migration on A moves data; its statistics then. */
void wait_migrating(MigrateFixture *fx, const char *name, unsigned long long *bps)
{
    FerryDomain *dom = ferry_domain_lookup_by_name(CONN_A(fx), name);
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    g_assert_nonnull(dom);
    for (;;) {
        FerryTypedParameter *stats = NULL;
        int nstats = 0, type = -1;
        unsigned long long processed = 0, rate = 0;
        gboolean moving = FALSE;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (ferry_domain_get_job_stats(dom, &type, &stats, &nstats, 0) == 0 &&
            type == FERRY_DOMAIN_JOB_UNBOUNDED &&
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_MEMORY_PROCESSED,
                                          &processed) == 1 &&
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_MEMORY_BPS, &rate) == 1 &&
            processed > 0 && rate > 0) {
            moving = TRUE;
            if (bps)
                *bps = rate;
        }
        ferry_typed_params_free(stats, nstats);
        if (moving)
            break;
        g_usleep(10000);
    }
    ferry_domain_free(dom);
}