/*
 * test-ferryd.c: the real ferryd binary driven by Debian's real virsh and
 * python3-libvirt, over qemu+tcp:// and qemu+unix:///system?socket=...
 *
 * Each case starts daemon/ferryd on a temporary --root with
 * --listen-tcp 127.0.0.1:0 and reads the bound port from
 * ROOT/run/ferry/ferryd.addr.  Every program runs from an argv (util/spawn.h),
 * never through a shell.  Whatever a case started (ferryd, QEMU) is
 * stopped at its end, and also when an assertion aborts the test (a
 * SIGABRT handler kills them).  Loopback and ephemeral ports only.
 *
 * Skipped (77) when virsh, python3-libvirt or the test guest is missing.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tests/libferry-testutils.h"
#include "tests/testproc.h"
#include "tests/tls-certs.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/spawn.h"

#define VIRSH "/usr/bin/virsh"
#define PYTHON "/usr/bin/python3"
#define UUID1 "8c1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a21"
#define HOST_UUID "aaaaaaaa-0000-4000-8000-0000000000f1"
/* libvirt's REMOTE_PROGRAM and procedure numbers for the raw-socket case. */
#define REMOTE_PROGRAM 0x20008086
#define PROC_AUTH_LIST 66

typedef struct {
    char *root;
    Spawn *ferryd;
    char *log;
    guint port;
    guint tls_port; /* 0: no TLS listener */
    gboolean own_uuid; /* start without --host-uuid */
    const char *log_filters; /* FERRY_LOG_FILTERS for ferryd, or NULL */
    char *tcp_uri;
    char *unix_uri;
} Fixture;

/* What the SIGABRT handler cleans up: the current case's root and ferryd. */
static char *abort_root;
static volatile pid_t abort_ferryd = -1;

static void on_abort(int sig)
{
    if (abort_ferryd > 0)
        kill(abort_ferryd, SIGKILL);
    if (abort_root)
        test_kill_processes_naming(abort_root);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---------------------------------------------------------------- ferryd */

static char *ferryd_path(void)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");

    return g_build_filename(top ? top : FERRY_TOP_BUILDDIR, "daemon", "ferryd", NULL);
}

static void ferryd_dump_log(Fixture *fx)
{
    g_autofree char *text = NULL;

    if (g_file_get_contents(fx->log, &text, NULL, NULL))
        g_test_message("ferryd's log:\n%s", text);
}

/* Starts ferryd on fx->root (with a TLS listener too when tls) and waits
 * for its address file. */
static void ferryd_start_full(Fixture *fx, gboolean tls)
{
    g_autofree char *prog = ferryd_path();
    g_autofree char *addr_file = g_build_filename(fx->root, "run", "ferry", "ferryd.addr", NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    g_assert_null(fx->ferryd);
    g_unlink(addr_file);
    fx->ferryd = spawn_new((const char *const[]){ prog, "--root", fx->root, "--listen-tcp",
                                                  "127.0.0.1:0", "--verbose", NULL });
    if (!fx->own_uuid) {
        spawn_add_arg(fx->ferryd, "--host-uuid");
        spawn_add_arg(fx->ferryd, HOST_UUID);
    }
    if (tls) {
        spawn_add_arg(fx->ferryd, "--listen-tls");
        spawn_add_arg(fx->ferryd, "127.0.0.1:0");
    }
    spawn_set_env(fx->ferryd, "FERRY_LOG_FILTERS", fx->log_filters);
    spawn_set_log_file(fx->ferryd, fx->log);
    spawn_set_kill_grace(fx->ferryd, 10000);
    g_assert_true(spawn_start(fx->ferryd, &err));
    g_assert_no_error(err);
    abort_ferryd = spawn_get_pid(fx->ferryd);

    while (!g_file_get_contents(addr_file, &text, NULL, NULL)) {
        if (!spawn_is_running(fx->ferryd) || spawn_wait(fx->ferryd, 0, NULL, NULL) ||
            g_get_monotonic_time() > deadline) {
            ferryd_dump_log(fx);
            g_error("ferryd did not start (see its log above)");
        }
        g_usleep(20 * 1000);
    }

    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    fx->port = 0;
    for (char **l = lines; *l; l++) {
        if (g_str_has_prefix(*l, "tcp 127.0.0.1:"))
            fx->port = (guint)g_ascii_strtoull(*l + strlen("tcp 127.0.0.1:"), NULL, 10);
        if (g_str_has_prefix(*l, "tls 127.0.0.1:"))
            fx->tls_port = (guint)g_ascii_strtoull(*l + strlen("tls 127.0.0.1:"), NULL, 10);
    }
    g_assert_cmpuint(fx->port, >, 0);
    g_assert_cmpuint(fx->tls_port > 0, ==, tls);
    g_free(fx->tcp_uri);
    fx->tcp_uri = g_strdup_printf("qemu+tcp://127.0.0.1:%u/system", fx->port);
    g_assert_nonnull(strstr(text, "unix "));
}

static void ferryd_start(Fixture *fx)
{
    ferryd_start_full(fx, FALSE);
}

/* Writes ROOT/etc/ferry/ferryd.conf (before ferryd_start). */
static void ferryd_write_config(Fixture *fx, const char *text)
{
    g_autofree char *dir = g_build_filename(fx->root, "etc", "ferry", NULL);
    g_autofree char *path = g_build_filename(dir, "ferryd.conf", NULL);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/* SIGTERM, and the exit status must be 0 (under ASan: no leak either). */
static void ferryd_stop(Fixture *fx)
{
    SpawnStatus status = { 0 };
    g_autoptr(GError) err = NULL;

    g_assert_nonnull(fx->ferryd);
    g_assert_true(spawn_kill(fx->ferryd, SIGTERM, &err));
    if (!spawn_wait(fx->ferryd, 60000, &status, &err)) {
        ferryd_dump_log(fx);
        g_error("ferryd did not stop on SIGTERM: %s", err->message);
    }
    if (!spawn_status_success(&status)) {
        g_autofree char *what = spawn_status_describe(&status);

        ferryd_dump_log(fx);
        g_error("ferryd %s after SIGTERM", what);
    }
    g_clear_pointer(&fx->ferryd, spawn_free);
    abort_ferryd = -1;
}

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    fx->root = lft_make_root("ferry-ferryd");
    fx->log = g_build_filename(fx->root, "ferryd.log", NULL);
    fx->unix_uri = g_strdup_printf("qemu+unix:///system?socket=%s/run/ferry/ferryd-sock", fx->root);
    g_free(abort_root);
    abort_root = g_strdup(fx->root);
    /* Cases given data start ferryd themselves (after writing a config). */
    if (!data)
        ferryd_start(fx);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    if (fx->ferryd)
        ferryd_stop(fx);
    guint left = test_kill_processes_naming(fx->root);
    if (left || g_test_failed())
        ferryd_dump_log(fx);
    lft_remove_tree(fx->root);
    g_free(fx->root);
    g_free(fx->log);
    g_free(fx->tcp_uri);
    g_free(fx->unix_uri);
    g_assert_cmpuint(left, ==, 0);
}

/* ---------------------------------------------------------------- clients */

typedef struct {
    int status; /* exit status; -1 when killed */
    char *out;
    char *err;
} Run;

static void run_free(Run *run)
{
    g_free(run->out);
    g_free(run->err);
    g_free(run);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Run, run_free)

/* Runs argv with HOME under the root (no user config leaks in). */
static Run *run_argv(Fixture *fx, const char *const *argv)
{
    g_autoptr(Spawn) sp = spawn_new(argv);
    g_autoptr(GError) err = NULL;
    g_autofree char *home = g_build_filename(fx->root, "home", NULL);
    SpawnStatus status = { 0 };
    Run *run = g_new0(Run, 1);

    g_mkdir_with_parents(home, 0700);
    spawn_set_env(sp, "HOME", home);
    spawn_set_env(sp, "LIBVIRT_DEFAULT_URI", NULL);
    spawn_set_env(sp, "VIRSH_DEFAULT_CONNECT_URI", NULL);
    if (!spawn_run_capture(sp, 120000, 1024 * 1024, &run->out, &run->err, &status, &err))
        g_error("%s: %s", argv[0], err->message);
    run->status = status.kind == SPAWN_EXIT_EXITED ? status.code : -1;
    return run;
}

/* virsh -c uri ARGS... */
static Run *virsh_v(Fixture *fx, const char *uri, const char *first, va_list ap)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const char *a;

    g_ptr_array_add(argv, (gpointer)VIRSH);
    g_ptr_array_add(argv, (gpointer) "-c");
    g_ptr_array_add(argv, (gpointer)uri);
    for (a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (gpointer)a);
    g_ptr_array_add(argv, NULL);
    return run_argv(fx, (const char *const *)argv->pdata);
}

static Run *virsh(Fixture *fx, const char *uri, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run *virsh(Fixture *fx, const char *uri, const char *first, ...)
{
    va_list ap;
    Run *run;

    va_start(ap, first);
    run = virsh_v(fx, uri, first, ap);
    va_end(ap);
    return run;
}

/* The same, expecting exit status 0; returns stdout. */
static char *virsh_ok(Fixture *fx, const char *uri, const char *first, ...) G_GNUC_NULL_TERMINATED;
static char *virsh_ok(Fixture *fx, const char *uri, const char *first, ...)
{
    va_list ap;
    g_autoptr(Run) run = NULL;

    va_start(ap, first);
    run = virsh_v(fx, uri, first, ap);
    va_end(ap);
    g_test_message("virsh -c %s %s ... -> %d\n%s%s", uri, first, run->status, run->out, run->err);
    if (run->status != 0) {
        ferryd_dump_log(fx);
        g_error("virsh %s failed (%d): %s", first, run->status, run->err);
    }
    return g_steal_pointer(&run->out);
}

/* A line of `virsh list` output naming domain name in state. */
static gboolean list_shows(const char *out, const char *name, const char *state)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

    for (char **l = lines; *l; l++) {
        g_auto(GStrv) words = g_strsplit_set(g_strstrip(*l), " ", -1);
        g_autoptr(GPtrArray) w = g_ptr_array_new();

        for (char **x = words; *x; x++) {
            if (**x)
                g_ptr_array_add(w, *x);
        }
        if (w->len >= 3 && g_str_equal(g_ptr_array_index(w, 1), name)) {
            g_autofree char *rest = NULL;
            g_ptr_array_add(w, NULL);
            rest = g_strjoinv(" ", (char **)w->pdata + 2);
            return g_str_equal(rest, state);
        }
    }
    return FALSE;
}

/* The number of QEMU processes running for this root. */
static guint count_qemu(Fixture *fx)
{
    g_autoptr(GArray) pids = test_processes_naming(fx->root);
    guint n = 0;

    for (guint i = 0; i < pids->len; i++) {
        if (test_process_cmdline_has(g_array_index(pids, pid_t, i), "qemu-system"))
            n++;
    }
    return n;
}

/* Waits up to timeout_ms for count_qemu to become n. */
static gboolean wait_qemu(Fixture *fx, guint n, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (count_qemu(fx) != n) {
        if (g_get_monotonic_time() > deadline)
            return FALSE;
        g_usleep(50 * 1000);
    }
    return TRUE;
}

static char *write_guest(Fixture *fx, const char *name)
{
    g_autofree char *xml = lft_guest_xml(fx->root, name, UUID1);
    g_autofree char *file = g_strdup_printf("%s.xml", name);
    char *path = g_build_filename(fx->root, file, NULL);

    g_assert_true(g_file_set_contents(path, xml, -1, NULL));
    return path;
}

static gboolean have_clients(void)
{
    if (!g_file_test(VIRSH, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("Debian's virsh (libvirt-clients) is not installed");
        return FALSE;
    }
    return lft_have_guest();
}

/* python3 -c SCRIPT with the URI as argv[1]: an argv, no shell. */
static Run *python(Fixture *fx, const char *script, const char *uri)
{
    return run_argv(fx, (const char *const[]){ PYTHON, "-c", script, uri, NULL });
}

static gboolean have_python_libvirt(Fixture *fx)
{
    g_autoptr(Run) run = python(fx, "import libvirt", "");

    if (run->status != 0) {
        g_test_skip("python3-libvirt is not installed");
        return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- cases */

/* Connecting, the connection facts, an unknown domain, on both
 * transports. */
static void test_connect(Fixture *fx, gconstpointer data)
{
    if (!have_clients())
        return;
    const char *uris[] = { fx->tcp_uri, fx->unix_uri };

    for (gsize i = 0; i < G_N_ELEMENTS(uris); i++) {
        g_autofree char *uri = virsh_ok(fx, uris[i], "uri", NULL);
        g_autofree char *host = virsh_ok(fx, uris[i], "hostname", NULL);
        g_autofree char *version = virsh_ok(fx, uris[i], "version", NULL);
        g_autofree char *list = virsh_ok(fx, uris[i], "list", "--all", NULL);

        /* virsh shows the URI it was given. */
        g_assert_cmpstr(g_strstrip(uri), ==, uris[i]);
        g_assert_cmpstr(g_strstrip(host), ==, g_get_host_name());
        g_assert_nonnull(strstr(version, "Running hypervisor: QEMU 7.2."));
        g_assert_nonnull(strstr(list, " Id   Name   State"));

        /* Read-only (virsh -r): reading works. */
        g_autoptr(Run) ro = virsh(fx, uris[i], "list", "--all", "--name", NULL);
        g_autoptr(Run) ro2 = run_argv(
            fx, (const char *const[]){ VIRSH, "-r", "-c", uris[i], "list", "--all", NULL });
        g_assert_cmpint(ro->status, ==, 0);
        g_assert_cmpint(ro2->status, ==, 0);

        g_autoptr(Run) miss = virsh(fx, uris[i], "dominfo", "nope", NULL);
        g_assert_cmpint(miss->status, ==, 1);
        g_assert_nonnull(strstr(miss->err, "error: failed to get domain 'nope'"));
        g_autoptr(Run) miss2 = virsh(fx, uris[i], "domstate", UUID1, NULL);
        g_assert_cmpint(miss2->status, ==, 1);
    }

    /* The wire's error message, as a libvirt client reads it. */
    if (!have_python_libvirt(fx))
        return;
    g_autoptr(Run) py = python(fx,
                               "import sys, libvirt\n"
                               "libvirt.registerErrorHandler(lambda c, e: None, None)\n"
                               "c = libvirt.open(sys.argv[1])\n"
                               "try:\n"
                               "    c.lookupByName('nope')\n"
                               "except libvirt.libvirtError as e:\n"
                               "    print(e.get_error_code(), e)\n"
                               "c.close()\n",
                               fx->tcp_uri);
    g_assert_cmpint(py->status, ==, 0);
    g_assert_cmpstr(py->out, ==, "42 Domain not found: no domain with matching name 'nope'\n");
}

/* What issue 5 asks of virsh: define, dominfo, domstate, dumpxml, start
 * (a real QEMU), list, suspend/resume, domjobinfo, destroy (QEMU gone),
 * undefine; python3-libvirt sees the same. */
static void test_lifecycle(Fixture *fx, gconstpointer data)
{
    if (!have_clients())
        return;
    g_autofree char *file = write_guest(fx, "vm1");
    const char *u = fx->tcp_uri;

    g_autofree char *def = virsh_ok(fx, u, "define", file, NULL);
    g_assert_nonnull(strstr(def, "Domain 'vm1' defined"));
    g_autofree char *list1 = virsh_ok(fx, fx->unix_uri, "list", "--all", NULL);
    g_assert_true(list_shows(list1, "vm1", "shut off"));
    g_autofree char *info = virsh_ok(fx, u, "dominfo", "vm1", NULL);
    g_assert_nonnull(strstr(info, "Name:           vm1"));
    g_assert_nonnull(strstr(info, "UUID:           " UUID1));
    g_assert_nonnull(strstr(info, "State:          shut off"));
    g_assert_nonnull(strstr(info, "Max memory:     65536 KiB"));
    g_assert_nonnull(strstr(info, "Persistent:     yes"));
    g_autofree char *state = virsh_ok(fx, u, "domstate", "vm1", NULL);
    g_assert_cmpstr(g_strstrip(state), ==, "shut off");
    g_autofree char *xml = virsh_ok(fx, u, "dumpxml", "vm1", NULL);
    g_assert_nonnull(strstr(xml, "<name>vm1</name>"));
    g_assert_nonnull(strstr(xml, "<uuid>" UUID1 "</uuid>"));

    g_assert_cmpuint(count_qemu(fx), ==, 0);
    g_autofree char *start = virsh_ok(fx, u, "start", "vm1", NULL);
    g_assert_nonnull(strstr(start, "Domain 'vm1' started"));
    g_assert_cmpuint(count_qemu(fx), ==, 1);
    g_autofree char *list2 = virsh_ok(fx, u, "list", NULL);
    g_assert_true(list_shows(list2, "vm1", "running"));
    g_autofree char *reason = virsh_ok(fx, u, "domstate", "--reason", "vm1", NULL);
    g_assert_cmpstr(g_strstrip(reason), ==, "running (booted)");
    /* By id, as `virsh dominfo 1` looks it up. */
    g_autofree char *info2 = virsh_ok(fx, u, "dominfo", "1", NULL);
    g_assert_nonnull(strstr(info2, "Name:           vm1"));
    g_assert_nonnull(strstr(info2, "State:          running"));

    g_autofree char *sus = virsh_ok(fx, u, "suspend", "vm1", NULL);
    g_autofree char *paused = virsh_ok(fx, u, "domstate", "vm1", NULL);
    g_assert_cmpstr(g_strstrip(paused), ==, "paused");
    g_autofree char *res = virsh_ok(fx, u, "resume", "vm1", NULL);
    g_autofree char *running = virsh_ok(fx, fx->unix_uri, "domstate", "vm1", NULL);
    g_assert_cmpstr(g_strstrip(running), ==, "running");
    g_autofree char *job = virsh_ok(fx, u, "domjobinfo", "vm1", NULL);
    g_assert_nonnull(strstr(job, "Job type:"));
    g_assert_nonnull(strstr(job, "None"));

    if (have_python_libvirt(fx)) {
        g_autoptr(Run) py =
            python(fx,
                   "import sys, libvirt\n"
                   "c = libvirt.open(sys.argv[1])\n"
                   "for d in c.listAllDomains():\n"
                   "    print(d.name(), d.UUIDString(), d.isActive(), d.state()[0], d.info()[1])\n"
                   "c.close()\n",
                   fx->tcp_uri);
        g_assert_cmpint(py->status, ==, 0);
        g_assert_cmpstr(py->out, ==, "vm1 " UUID1 " 1 1 65536\n");
    }

    g_autofree char *des = virsh_ok(fx, u, "destroy", "vm1", NULL);
    g_assert_nonnull(strstr(des, "Domain 'vm1' destroyed"));
    g_assert_true(wait_qemu(fx, 0, 10000));
    g_autofree char *off = virsh_ok(fx, u, "domstate", "--reason", "vm1", NULL);
    g_assert_cmpstr(g_strstrip(off), ==, "shut off (destroyed)");
    g_autofree char *und = virsh_ok(fx, u, "undefine", "vm1", NULL);
    g_assert_nonnull(strstr(und, "Domain 'vm1' has been undefined"));
    g_autofree char *list3 = virsh_ok(fx, u, "list", "--all", NULL);
    g_assert_false(list_shows(list3, "vm1", "shut off"));
    g_assert_null(strstr(list3, "vm1"));

    /* A transient domain: create starts it, destroy makes it go away. */
    g_autofree char *created = virsh_ok(fx, u, "create", file, NULL);
    g_assert_nonnull(strstr(created, "Domain 'vm1' created"));
    g_assert_cmpuint(count_qemu(fx), ==, 1);
    g_autofree char *tinfo = virsh_ok(fx, u, "dominfo", "vm1", NULL);
    g_assert_nonnull(strstr(tinfo, "Persistent:     no"));
    g_autofree char *tdes = virsh_ok(fx, u, "destroy", "vm1", NULL);
    g_assert_true(wait_qemu(fx, 0, 10000));
    g_autofree char *list4 = virsh_ok(fx, u, "list", "--all", NULL);
    g_assert_null(strstr(list4, "vm1"));
}

/* The value of virsh's "LABEL:   VALUE" line in out, or NULL. */
static char *virsh_field(const char *out, const char *label)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    g_autofree char *prefix = g_strdup_printf("%s:", label);

    for (char **l = lines; *l; l++) {
        if (g_str_has_prefix(*l, prefix))
            return g_strstrip(g_strdup(*l + strlen(prefix)));
    }
    return NULL;
}

/* NODE_GET_INFO, CONNECT_IS_SECURE and DOMAIN_GET_MAX_MEMORY as Debian's
 * virsh and python3-libvirt ask them. */
static void test_host_queries(Fixture *fx, gconstpointer data)
{
    if (!have_clients())
        return;
    g_autofree char *online = g_strdup_printf("%ld", sysconf(_SC_NPROCESSORS_ONLN));
    g_autofree char *info = virsh_ok(fx, fx->tcp_uri, "nodeinfo", NULL);
    g_autofree char *cpus = virsh_field(info, "CPU(s)");
    g_autofree char *model = virsh_field(info, "CPU model");
    g_autofree char *memory = virsh_field(info, "Memory size");
    struct utsname uts;

    g_assert_cmpint(uname(&uts), ==, 0);
    g_assert_cmpstr(cpus, ==, online);
    g_assert_cmpstr(model, ==, uts.machine);
    g_assert_nonnull(memory);
    g_assert_true(g_str_has_suffix(memory, " KiB"));
    g_assert_cmpuint(g_ascii_strtoull(memory, NULL, 10), >, 0);

    if (!have_python_libvirt(fx))
        return;
    /* getInfo(): [model, memory MiB, cpus, mhz, nodes, sockets, cores,
     * threads]; isSecure() on each transport. */
    static const char script[] =
        "import sys, libvirt\n"
        "c = libvirt.open(sys.argv[1])\n"
        "i = c.getInfo()\n"
        "print(i[0], i[2], i[4] * i[5] * i[6] * i[7] == i[2], i[1] > 0, c.isSecure())\n"
        "c.close()\n";
    g_autofree char *want_tcp = g_strdup_printf("%s %s True True 0\n", uts.machine, online);
    g_autofree char *want_unix = g_strdup_printf("%s %s True True 1\n", uts.machine, online);
    g_autoptr(Run) tcp = python(fx, script, fx->tcp_uri);
    g_autoptr(Run) unx = python(fx, script, fx->unix_uri);

    g_test_message("python tcp: %d\n%s%s", tcp->status, tcp->out, tcp->err);
    g_test_message("python unix: %d\n%s%s", unx->status, unx->out, unx->err);
    g_assert_cmpint(tcp->status, ==, 0);
    g_assert_cmpstr(tcp->out, ==, want_tcp);
    g_assert_cmpint(unx->status, ==, 0);
    g_assert_cmpstr(unx->out, ==, want_unix);

    /* maxMemory() is <memory> in KiB: lft_guest_xml's 64 MiB. */
    g_autofree char *file = write_guest(fx, "vm1");
    g_autofree char *xml = NULL;
    g_assert_true(g_file_get_contents(file, &xml, NULL, NULL));
    g_assert_nonnull(strstr(xml, "<memory unit='MiB'>64</memory>"));
    g_autofree char *def = virsh_ok(fx, fx->tcp_uri, "define", file, NULL);
    g_autoptr(Run) mem = python(fx,
                                "import sys, libvirt\n"
                                "c = libvirt.open(sys.argv[1])\n"
                                "d = c.lookupByName('vm1')\n"
                                "print(d.maxMemory())\n"
                                "try:\n"
                                "    c.lookupByName('vm1').undefine()\n"
                                "    d.maxMemory()\n"
                                "except libvirt.libvirtError as e:\n"
                                "    print(e.get_error_code())\n"
                                "c.close()\n",
                                fx->tcp_uri);
    g_test_message("python maxMemory: %d\n%s%s", mem->status, mem->out, mem->err);
    g_assert_cmpint(mem->status, ==, 0);
    /* 42: VIR_ERR_NO_DOMAIN once it is undefined. */
    g_assert_cmpstr(mem->out, ==, "65536\n42\n");
}

/* start --autodestroy: the QEMU goes when virsh's connection does. */
static void test_autodestroy(Fixture *fx, gconstpointer data)
{
    if (!have_clients())
        return;
    g_autofree char *file = write_guest(fx, "vm2");
    const char *u = fx->tcp_uri;

    g_autofree char *def = virsh_ok(fx, u, "define", file, NULL);
    g_autofree char *start = virsh_ok(fx, u, "start", "--autodestroy", "vm2", NULL);
    g_assert_nonnull(strstr(start, "Domain 'vm2' started"));
    /* virsh has exited: its connection is closed. */
    g_assert_true(wait_qemu(fx, 0, 20000));
    g_autofree char *off = virsh_ok(fx, u, "domstate", "vm2", NULL);
    g_assert_cmpstr(g_strstrip(off), ==, "shut off");
    g_autofree char *und = virsh_ok(fx, u, "undefine", "vm2", NULL);
}

/* SIGTERM leaves a running domain running; the next ferryd on the same
 * root shows it running and can stop it. */
static void test_restart(Fixture *fx, gconstpointer data)
{
    if (!have_clients())
        return;
    g_autofree char *file = write_guest(fx, "vm3");
    const char *u;

    g_autofree char *def = virsh_ok(fx, fx->tcp_uri, "define", file, NULL);
    g_autofree char *start = virsh_ok(fx, fx->tcp_uri, "start", "vm3", NULL);
    g_assert_cmpuint(count_qemu(fx), ==, 1);

    ferryd_stop(fx);
    g_assert_cmpuint(count_qemu(fx), ==, 1);
    g_autofree char *sock = g_build_filename(fx->root, "run", "ferry", "ferryd-sock", NULL);
    g_autofree char *pid = g_build_filename(fx->root, "run", "ferry", "ferryd.pid", NULL);
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(pid, G_FILE_TEST_EXISTS));

    ferryd_start(fx);
    u = fx->tcp_uri;
    g_autofree char *list = virsh_ok(fx, u, "list", NULL);
    g_assert_true(list_shows(list, "vm3", "running"));
    g_autofree char *state = virsh_ok(fx, fx->unix_uri, "domstate", "vm3", NULL);
    g_assert_cmpstr(g_strstrip(state), ==, "running");
    g_autofree char *des = virsh_ok(fx, u, "destroy", "vm3", NULL);
    g_assert_true(wait_qemu(fx, 0, 10000));
    g_autofree char *und = virsh_ok(fx, u, "undefine", "vm3", NULL);
}

/* A second ferryd on the same root is refused (pidfile), and the first
 * keeps serving. */
static void test_second_daemon(Fixture *fx, gconstpointer data)
{
    g_autofree char *prog = ferryd_path();
    g_autoptr(Spawn) sp = spawn_new((const char *const[]){
        prog, "--root", fx->root, "--listen-tcp", "127.0.0.1:0", "--host-uuid", HOST_UUID, NULL });
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    g_autofree char *errtext = NULL;
    SpawnStatus status = { 0 };

    g_assert_true(spawn_run_capture(sp, 60000, 65536, &out, &errtext, &status, &err));
    g_assert_cmpint(status.kind, ==, SPAWN_EXIT_EXITED);
    g_assert_cmpint(status.code, ==, 1);
    g_assert_nonnull(strstr(errtext, "another ferryd"));
    if (have_clients()) {
        g_autofree char *list = virsh_ok(fx, fx->unix_uri, "list", "--all", NULL);
    }
}

/* ---------------------------------------------------------------- raw wire */

static int raw_connect(Fixture *fx)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(fx->port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    return fd;
}

static void raw_send(int fd, const void *data, size_t len)
{
    g_assert_cmpint(send(fd, data, len, MSG_NOSIGNAL), ==, (gssize)len);
}

/* A call frame: length, header, no payload. */
static void raw_send_call(int fd, guint32 prog, guint32 vers, gint32 proc, guint32 serial)
{
    guint32 words[7] = { htonl(28), htonl(prog),   htonl(vers), htonl((guint32)proc),
                         htonl(0),  htonl(serial), htonl(0) };

    raw_send(fd, words, sizeof(words));
}

/* Reads n bytes within 10 s; FALSE at EOF (or a reset). */
static gboolean raw_read(int fd, void *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        gssize r;

        g_assert_cmpint(poll(&p, 1, 10000), ==, 1);
        r = recv(fd, (char *)buf + got, n - got, 0);
        if (r <= 0)
            return FALSE;
        got += r;
    }
    return TRUE;
}

/* Reads one reply: returns its status (0 OK, 1 ERROR) and checks serial. */
static int raw_read_reply(int fd, guint32 serial)
{
    guint32 len = 0;
    guint32 hdr[6];
    g_autofree guint8 *rest = NULL;

    g_assert_true(raw_read(fd, &len, 4));
    len = ntohl(len);
    g_assert_cmpuint(len, >=, 28);
    g_assert_cmpuint(len, <, 65536);
    g_assert_true(raw_read(fd, hdr, sizeof(hdr)));
    rest = g_malloc(len - 28 + 1);
    g_assert_true(raw_read(fd, rest, len - 28));
    g_assert_cmpuint(ntohl(hdr[3]), ==, 1); /* REPLY */
    g_assert_cmpuint(ntohl(hdr[4]), ==, serial);
    return (int)ntohl(hdr[5]);
}

/* TRUE when ferryd closes the connection (EOF) within 10 s. */
static gboolean raw_closed(int fd)
{
    char buf[4096];

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        if (poll(&p, 1, 10000) != 1)
            return FALSE;
        gssize r = recv(fd, buf, sizeof(buf), 0);
        if (r <= 0)
            return TRUE;
    }
}

/* Bad input closes or answers that connection only: ferryd stays up and
 * serves the next virsh. */
static void test_bad_wire(Fixture *fx, gconstpointer data)
{
    /* A wrong program, a wrong version and an unknown procedure are
     * answered with errors and the connection stays usable. */
    {
        g_auto(FerryFd) fd = raw_connect(fx);

        raw_send_call(fd, 0x12345678, 1, 1, 1);
        g_assert_cmpint(raw_read_reply(fd, 1), ==, 1);
        raw_send_call(fd, REMOTE_PROGRAM, 2, PROC_AUTH_LIST, 2);
        g_assert_cmpint(raw_read_reply(fd, 2), ==, 1);
        raw_send_call(fd, REMOTE_PROGRAM, 1, 99999, 3);
        g_assert_cmpint(raw_read_reply(fd, 3), ==, 1);
        raw_send_call(fd, REMOTE_PROGRAM, 1, PROC_AUTH_LIST, 4);
        g_assert_cmpint(raw_read_reply(fd, 4), ==, 0);
    }
    /* Oversized: a length over 32 MiB. */
    {
        g_auto(FerryFd) fd = raw_connect(fx);
        guint32 word = htonl(0x7fffffff);

        raw_send(fd, &word, 4);
        g_assert_true(raw_closed(fd));
    }
    /* Garbage: text where a frame should be. */
    {
        g_auto(FerryFd) fd = raw_connect(fx);
        static const char junk[] = "GET / HTTP/1.0\r\nHost: ferry\r\n\r\n";

        raw_send(fd, junk, sizeof(junk) - 1);
        g_assert_true(raw_closed(fd));
    }
    /* Too short to hold a header. */
    {
        g_auto(FerryFd) fd = raw_connect(fx);
        guint32 words[2] = { htonl(8), 0 };

        raw_send(fd, words, sizeof(words));
        g_assert_true(raw_closed(fd));
    }
    /* A CALL whose arguments do not decode (CONNECT_OPEN with a string
     * length running past the frame). */
    {
        g_auto(FerryFd) fd = raw_connect(fx);
        guint32 words[10] = { htonl(40), htonl(REMOTE_PROGRAM), htonl(1), htonl(1), 0, htonl(5), 0,
                              htonl(1),  htonl(1000),           0 };

        raw_send(fd, words, sizeof(words));
        g_assert_cmpint(raw_read_reply(fd, 5), ==, 1);
        g_assert_true(raw_closed(fd));
    }
    /* Truncated: a frame cut short, then the client goes away. */
    {
        g_auto(FerryFd) fd = raw_connect(fx);
        guint32 words[3] = { htonl(100), htonl(REMOTE_PROGRAM), htonl(1) };

        raw_send(fd, words, sizeof(words));
    }

    g_assert_true(spawn_is_running(fx->ferryd));
    if (have_clients()) {
        g_autofree char *list = virsh_ok(fx, fx->tcp_uri, "list", "--all", NULL);
        g_assert_nonnull(strstr(list, " Id   Name   State"));
    }
}

/* ---------------------------------------------------------------- TLS, limits */

/* A libvirt pkipath directory whose cacert.pem holds both test CAs. */
static char *pki_dir_both_cas(Fixture *fx, TlsCerts *certs, const char *client)
{
    g_autofree char *name = g_strdup_printf("pki-%s-both", client);
    char *dir = g_build_filename(fx->root, name, NULL);
    const char *files[][2] = { { "clientcert.pem", "-cert.pem" }, { "clientkey.pem", "-key.pem" } };
    g_autofree char *ca = NULL;
    g_autofree char *ca2 = NULL;
    g_autofree char *bundle_path = g_build_filename(dir, "cacert.pem", NULL);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_true(g_file_get_contents(tls_certs_path(certs, "ca-cert.pem"), &ca, NULL, NULL));
    g_assert_true(g_file_get_contents(tls_certs_path(certs, "ca2-cert.pem"), &ca2, NULL, NULL));
    g_autofree char *bundle = g_strconcat(ca, ca2, NULL);
    g_assert_true(g_file_set_contents(bundle_path, bundle, -1, NULL));
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *src_name = g_strconcat(client, files[i][1], NULL);
        g_autofree char *text = NULL;
        g_autofree char *dst = g_build_filename(dir, files[i][0], NULL);

        g_assert_true(g_file_get_contents(tls_certs_path(certs, src_name), &text, NULL, NULL));
        g_assert_true(g_file_set_contents(dst, text, -1, NULL));
    }
    return dir;
}

/* A valid client certificate connects over TLS; no certificate, one from
 * another CA, or a DN that tls_allowed_dn_list does not allow is refused;
 * ferryd serves on. */
static void test_tls(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsCerts) certs = tls_certs_new(&err);

    if (!certs) {
        g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
        g_test_skip(err->message);
        return;
    }
    g_autofree char *conf = g_strdup_printf(
        "ca_file = \"%s\"\ncert_file = \"%s\"\nkey_file = \"%s\"\n"
        "tls_allowed_dn_list = [ \"C=GB,O=ferry,CN=client1\" ]\n",
        tls_certs_path(certs, "ca-cert.pem"), tls_certs_path(certs, "server-cert.pem"),
        tls_certs_path(certs, "server-key.pem"));
    ferryd_write_config(fx, conf);
    ferryd_start_full(fx, TRUE);
    if (!g_file_test(VIRSH, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("Debian's virsh (libvirt-clients) is not installed");
        return;
    }

    const struct {
        const char *client; /* NULL: no client certificate */
        const char *ca;
        gboolean ok;
    } cases[] = {
        { "client1", "ca", TRUE },        { NULL, "ca", FALSE },  { "client1-ca2", "ca", FALSE },
        { "client1-ca2", "both", FALSE }, { "eve", "ca", FALSE },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *own = NULL;
        const char *pki;

        if (g_str_equal(cases[i].ca, "both")) {
            /* virsh trusts both CAs, so it accepts its own certificate
             * (from ca2) and ferryd's (from ca): the refusal is ferryd's. */
            pki = own = pki_dir_both_cas(fx, certs, cases[i].client);
        } else {
            pki = tls_certs_libvirt_pki_dir(certs, cases[i].client, cases[i].ca, &err);
            g_assert_no_error(err);
        }
        g_autofree char *uri =
            g_strdup_printf("qemu+tls://127.0.0.1:%u/system?pkipath=%s", fx->tls_port, pki);
        g_autoptr(Run) run = virsh(fx, uri, "list", "--all", NULL);

        g_test_message("virsh -c %s list --all -> %d\n%s%s", uri, run->status, run->out, run->err);
        if (cases[i].ok) {
            g_assert_cmpint(run->status, ==, 0);
            g_assert_nonnull(strstr(run->out, " Id   Name   State"));
        } else {
            g_assert_cmpint(run->status, ==, 1);
            g_assert_nonnull(strstr(run->err, "error: failed to connect to the hypervisor"));
        }
    }
    g_autofree char *list = virsh_ok(fx, fx->unix_uri, "list", "--all", NULL);
    g_assert_true(spawn_is_running(fx->ferryd));

    /* TLS is secure: the client's side and ferryd's (CONNECT_IS_SECURE). */
    if (!have_python_libvirt(fx))
        return;
    const char *pki = tls_certs_libvirt_pki_dir(certs, "client1", "ca", &err);
    g_assert_no_error(err);
    g_autofree char *uri =
        g_strdup_printf("qemu+tls://127.0.0.1:%u/system?pkipath=%s", fx->tls_port, pki);
    g_autoptr(Run) py = python(fx,
                               "import sys, libvirt\n"
                               "c = libvirt.open(sys.argv[1])\n"
                               "print(c.isSecure())\n"
                               "c.close()\n",
                               uri);
    g_test_message("python isSecure over TLS: %d\n%s%s", py->status, py->out, py->err);
    g_assert_cmpint(py->status, ==, 0);
    g_assert_cmpstr(py->out, ==, "1\n");
}

/* Over max_clients a connection is closed at once; those already
 * connected keep working, and once they go the next virsh gets in. */
static void test_max_clients(Fixture *fx, gconstpointer data)
{
    int fds[3];

    ferryd_write_config(fx, "max_clients = 3\nmax_anonymous_clients = 3\n");
    ferryd_start(fx);
    for (gsize i = 0; i < G_N_ELEMENTS(fds); i++) {
        fds[i] = raw_connect(fx);
        raw_send_call(fds[i], REMOTE_PROGRAM, 1, PROC_AUTH_LIST, 1);
        g_assert_cmpint(raw_read_reply(fds[i], 1), ==, 0);
    }
    for (int i = 0; i < 5; i++) {
        g_auto(FerryFd) extra = raw_connect(fx);

        g_assert_true(raw_closed(extra));
    }
    raw_send_call(fds[0], REMOTE_PROGRAM, 1, PROC_AUTH_LIST, 2);
    g_assert_cmpint(raw_read_reply(fds[0], 2), ==, 0);
    for (gsize i = 0; i < G_N_ELEMENTS(fds); i++)
        ferry_fd_close(&fds[i]);

    if (have_clients()) {
        g_autofree char *list = NULL;

        /* The server notices the closes on its own time. */
        for (int tries = 0; tries < 100; tries++) {
            g_autoptr(Run) run = virsh(fx, fx->tcp_uri, "list", "--all", NULL);

            if (run->status == 0) {
                list = g_steal_pointer(&run->out);
                break;
            }
            g_usleep(100 * 1000);
        }
        g_assert_nonnull(list);
    }
}

/* Without --host-uuid (or one in the config) ferryd makes one and keeps
 * it: the same after a restart, and after a SIGHUP (which it survives). */
static void test_host_uuid(Fixture *fx, gconstpointer data)
{
    g_autofree char *path = g_build_filename(fx->root, "var", "lib", "ferry", "host-uuid", NULL);
    g_autofree char *first = NULL;
    g_autofree char *second = NULL;
    g_autoptr(GError) err = NULL;

    fx->own_uuid = TRUE;
    ferryd_start(fx);
    g_assert_true(g_file_get_contents(path, &first, NULL, NULL));
    g_assert_cmpuint(strlen(g_strstrip(first)), ==, 36);
    g_assert_true(spawn_kill(fx->ferryd, SIGHUP, &err));
    g_usleep(200 * 1000);
    g_assert_true(spawn_is_running(fx->ferryd));
    g_assert_false(spawn_wait(fx->ferryd, 0, NULL, NULL));
    ferryd_stop(fx);
    ferryd_start(fx);
    g_assert_true(g_file_get_contents(path, &second, NULL, NULL));
    g_assert_cmpstr(first, ==, g_strstrip(second));
}

/* ferry's own shell and virsh, against the same ferryd, show the same
 * domains (skipped while libferry has no remote driver). */
static void test_ferry_shell(Fixture *fx, gconstpointer data)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");
    g_autofree char *ferry =
        g_build_filename(top ? top : FERRY_TOP_BUILDDIR, "tools", "ferry", NULL);

    if (!have_clients())
        return;
    g_autofree char *file = write_guest(fx, "vm4");
    g_autofree char *def = virsh_ok(fx, fx->tcp_uri, "define", file, NULL);
    g_autoptr(Run) run =
        run_argv(fx, (const char *const[]){ ferry, "-c", fx->tcp_uri, "list", "--all", NULL });

    if (run->status != 0 && strstr(run->err, "remote driver is not available")) {
        g_test_skip("libferry has no remote driver yet");
        return;
    }
    g_test_message("ferry -c %s list --all -> %d\n%s%s", fx->tcp_uri, run->status, run->out,
                   run->err);
    g_assert_cmpint(run->status, ==, 0);
    g_autofree char *list = virsh_ok(fx, fx->tcp_uri, "list", "--all", NULL);
    g_assert_true(list_shows(list, "vm4", "shut off"));
    g_assert_true(list_shows(run->out, "vm4", "shut off"));
}

/* What virsh sends for `list; list`, in order, is what Debian's virsh
 * sent to libvirt 9.0's daemon (wire-captures/rpc-sequence-virsh-list.txt,
 * one running domain): ferryd answers each call so that virsh goes the
 * same way, with no fallback to older procedures. */
static void test_virsh_sequence(Fixture *fx, gconstpointer data)
{
    static const char *const expected[] = {
        "AUTH_LIST",
        "CONNECT_SUPPORTS_FEATURE",
        "CONNECT_OPEN",
        "CONNECT_SUPPORTS_FEATURE",
        "CONNECT_SUPPORTS_FEATURE",
        "CONNECT_REGISTER_CLOSE_CALLBACK",
        "CONNECT_LIST_ALL_DOMAINS",
        "DOMAIN_GET_STATE",
        "CONNECT_LIST_ALL_DOMAINS",
        "DOMAIN_GET_STATE",
        "CONNECT_UNREGISTER_CLOSE_CALLBACK",
        "CONNECT_CLOSE",
    };
    g_autofree char *text = NULL;
    g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *client = NULL;

    if (!have_clients())
        return;
    fx->log_filters = "1:daemon.dispatch";
    ferryd_start(fx);
    g_autofree char *file = write_guest(fx, "vm5");
    g_autofree char *def = virsh_ok(fx, fx->tcp_uri, "define", file, NULL);
    g_autofree char *start = virsh_ok(fx, fx->tcp_uri, "start", "vm5", NULL);
    g_autofree char *lists = virsh_ok(fx, fx->tcp_uri, "list; list", NULL);
    g_assert_true(list_shows(lists, "vm5", "running"));

    /* The calls of the last client, in order. */
    g_assert_true(g_file_get_contents(fx->log, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        const char *at = strstr(*l, " : client ");
        g_auto(GStrv) parts = NULL;

        if (!strstr(*l, "daemon.dispatch") || !at || !strstr(at, ": call "))
            continue;
        parts = g_strsplit(at + strlen(" : client "), ": call ", 2);
        if (!client || !g_str_equal(client, parts[0])) {
            g_free(client);
            client = g_strdup(parts[0]);
            g_ptr_array_set_size(calls, 0);
        }
        g_ptr_array_add(calls, g_strdup(parts[1]));
    }
    for (guint i = 0; i < calls->len; i++)
        g_test_message("call %u: %s", i, (const char *)g_ptr_array_index(calls, i));
    g_assert_cmpuint(calls->len, ==, G_N_ELEMENTS(expected));
    for (guint i = 0; i < calls->len; i++)
        g_assert_cmpstr(g_ptr_array_index(calls, i), ==, expected[i]);

    g_autofree char *des = virsh_ok(fx, fx->tcp_uri, "destroy", "vm5", NULL);
    g_assert_true(wait_qemu(fx, 0, 10000));
}

/* python3-libvirt defines a domain and create()s it: a real QEMU runs;
 * a second script looks it up and destroy()s it: the QEMU is gone. */
static void test_python_start_destroy(Fixture *fx, gconstpointer data)
{
    if (!have_clients() || !have_python_libvirt(fx))
        return;
    g_autofree char *file = write_guest(fx, "py1");

    g_assert_cmpuint(count_qemu(fx), ==, 0);
    g_autoptr(Run) start = run_argv(
        fx, (const char *const[]){ PYTHON, "-c",
                                   "import sys, libvirt\n"
                                   "c = libvirt.open(sys.argv[1])\n"
                                   "d = c.defineXML(open(sys.argv[2]).read())\n"
                                   "print(d.name(), d.isActive(), d.state()[0])\n"
                                   "d.create()\n"
                                   "print(d.isActive(), d.state()[0], d.state()[1], d.ID() > 0)\n"
                                   "c.close()\n",
                                   fx->tcp_uri, file, NULL });
    g_test_message("python create: %d\n%s%s", start->status, start->out, start->err);
    g_assert_cmpint(start->status, ==, 0);
    /* VIR_DOMAIN_SHUTOFF 5, then RUNNING 1 for reason BOOTED 1. */
    g_assert_cmpstr(start->out, ==, "py1 0 5\n1 1 1 True\n");
    g_assert_cmpuint(count_qemu(fx), ==, 1);

    g_autoptr(Run) stop = python(fx,
                                 "import sys, libvirt\n"
                                 "c = libvirt.open(sys.argv[1])\n"
                                 "d = c.lookupByName('py1')\n"
                                 "d.destroy()\n"
                                 "print(d.isActive(), d.state()[0], d.state()[1])\n"
                                 "d.undefine()\n"
                                 "print(len(c.listAllDomains()))\n"
                                 "c.close()\n",
                                 fx->unix_uri);
    g_test_message("python destroy: %d\n%s%s", stop->status, stop->out, stop->err);
    g_assert_cmpint(stop->status, ==, 0);
    /* SHUTOFF 5 for reason DESTROYED 2. */
    g_assert_cmpstr(stop->out, ==, "0 5 2\n0\n");
    g_assert_true(wait_qemu(fx, 0, 10000));
}

/* TRUE once path contains needle (timeout_ms at most). */
static gboolean file_wait_for(const char *path, const char *needle, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (g_get_monotonic_time() < deadline) {
        g_autofree char *text = NULL;

        if (g_file_get_contents(path, &text, NULL, NULL) && strstr(text, needle))
            return TRUE;
        g_usleep(100 * 1000);
    }
    return FALSE;
}

/* `virsh event` in the background (line-buffered through stdbuf, an argv
 * too), its output in log. */
static Spawn *virsh_event_start(Fixture *fx, const char *log, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *home = g_build_filename(fx->root, "home", NULL);
    g_autoptr(GError) err = NULL;

    g_ptr_array_add(argv, (gpointer) "/usr/bin/stdbuf");
    g_ptr_array_add(argv, (gpointer) "-oL");
    g_ptr_array_add(argv, (gpointer)VIRSH);
    g_ptr_array_add(argv, (gpointer) "-c");
    g_ptr_array_add(argv, fx->tcp_uri);
    g_ptr_array_add(argv, (gpointer) "event");
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);

    Spawn *sp = spawn_new((const char *const *)argv->pdata);
    g_mkdir_with_parents(home, 0700);
    spawn_set_env(sp, "HOME", home);
    spawn_set_env(sp, "LIBVIRT_DEFAULT_URI", NULL);
    spawn_set_log_file(sp, log);
    g_assert_true(spawn_start(sp, &err));
    g_assert_no_error(err);
    return sp;
}

/* Debian's virsh, `event --loop --all` and a one-shot `event --domain
 * --event lifecycle --timeout`, prints the lifecycle events of a start
 * and destroy that another client (virsh) makes. */
static void test_virsh_events(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    SpawnStatus status = { 0 };

    if (!have_clients())
        return;
    if (!g_file_test("/usr/bin/stdbuf", G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("stdbuf (coreutils) is missing");
        return;
    }
    g_autofree char *file = write_guest(fx, "vm3");
    g_autofree char *def = virsh_ok(fx, fx->tcp_uri, "define", file, NULL);
    /* A second domain whose redefinitions show that the watchers listen. */
    g_autofree char *marker_xml = NULL;
    {
        g_autofree char *xml = lft_guest_xml(fx->root, "marker", UUID1);
        g_autoptr(GString) other = g_string_new(xml);
        g_string_replace(other, UUID1, "8c1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a22", 0);
        marker_xml = g_build_filename(fx->root, "marker.xml", NULL);
        g_assert_true(g_file_set_contents(marker_xml, other->str, -1, NULL));
    }

    g_autofree char *one_log = g_build_filename(fx->root, "event-one.log", NULL);
    g_autofree char *loop_log = g_build_filename(fx->root, "event-loop.log", NULL);
    g_autoptr(Spawn) one =
        virsh_event_start(fx, one_log,
                          (const char *const[]){ "--domain", "vm3", "--event", "lifecycle",
                                                 "--timeout", "120", NULL });
    g_autoptr(Spawn) loop = virsh_event_start(
        fx, loop_log, (const char *const[]){ "--loop", "--all", "--timeout", "120", NULL });
    gboolean listening = FALSE;
    for (int i = 0; i < 100 && !listening; i++) {
        g_autofree char *m = virsh_ok(fx, fx->unix_uri, "define", marker_xml, NULL);
        listening = file_wait_for(loop_log, "for domain 'marker'", 300);
    }
    g_assert_true(listening);

    g_autofree char *start = virsh_ok(fx, fx->unix_uri, "start", "vm3", NULL);
    g_assert_true(wait_qemu(fx, 1, 10000));
    g_autofree char *des = virsh_ok(fx, fx->unix_uri, "destroy", "vm3", NULL);
    g_assert_true(wait_qemu(fx, 0, 10000));

    /* The one-shot watcher ends after its first event. */
    g_assert_true(spawn_wait(one, 30000, &status, &err));
    g_assert_no_error(err);
    g_autofree char *one_text = NULL;
    g_assert_true(g_file_get_contents(one_log, &one_text, NULL, NULL));
    g_test_message("virsh event --domain vm3 --event lifecycle:\n%s", one_text);
    g_assert_true(spawn_status_success(&status));
    g_assert_nonnull(strstr(one_text, "event 'lifecycle' for domain 'vm3': Started Booted\n"));
    g_assert_nonnull(strstr(one_text, "events received: 1\n"));

    /* The loop shows both, then SIGINT ends it as virsh's users end it. */
    g_assert_true(file_wait_for(loop_log, "for domain 'vm3': Stopped Destroyed", 30000));
    g_assert_true(spawn_kill(loop, SIGINT, &err));
    g_assert_true(spawn_wait(loop, 30000, &status, &err));
    g_assert_no_error(err);
    g_autofree char *loop_text = NULL;
    g_assert_true(g_file_get_contents(loop_log, &loop_text, NULL, NULL));
    g_test_message("virsh event --loop --all:\n%s", loop_text);
    g_assert_nonnull(strstr(loop_text, "event 'lifecycle' for domain 'vm3': Started Booted\n"
                                       "event 'lifecycle' for domain 'vm3': Stopped Destroyed\n"));

    g_autofree char *und = virsh_ok(fx, fx->tcp_uri, "undefine", "vm3", NULL);
    g_autofree char *und2 = virsh_ok(fx, fx->tcp_uri, "undefine", "marker", NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("3:stderr", NULL);
    signal(SIGABRT, on_abort);
    signal(SIGPIPE, SIG_IGN);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/ferryd/connect", test_connect);
    ADD("/ferryd/lifecycle", test_lifecycle);
    ADD("/ferryd/host-queries", test_host_queries);
    ADD("/ferryd/autodestroy", test_autodestroy);
    ADD("/ferryd/restart", test_restart);
    ADD("/ferryd/second-daemon", test_second_daemon);
    ADD("/ferryd/bad-wire", test_bad_wire);
    ADD("/ferryd/ferry-shell", test_ferry_shell);
    ADD("/ferryd/python-start-destroy", test_python_start_destroy);
    ADD("/ferryd/virsh-events", test_virsh_events);
    /* These write a config and start ferryd themselves. */
    g_test_add("/ferryd/tls", Fixture, "manual", fixture_setup, test_tls, fixture_teardown);
    g_test_add("/ferryd/max-clients", Fixture, "manual", fixture_setup, test_max_clients,
               fixture_teardown);
    g_test_add("/ferryd/host-uuid", Fixture, "manual", fixture_setup, test_host_uuid,
               fixture_teardown);
    g_test_add("/ferryd/virsh-sequence", Fixture, "manual", fixture_setup, test_virsh_sequence,
               fixture_teardown);
    int rc = g_test_run();
    g_free(abort_root);
    return rc;
}
