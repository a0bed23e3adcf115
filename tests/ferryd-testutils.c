/*
 * ferryd-testutils.c: a real daemon/ferryd for client tests.
 */
#include <config.h>

#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include <glib/gstdio.h>

#include "tests/ferryd-testutils.h"
#include "tests/libferry-testutils.h"
#include "tests/testproc.h"

/* ferryd's host UUID in these tests. */
#define FIXTURE_HOST_UUID "aaaaaaaa-0000-4000-8000-0000000000f2"
#define FIXTURE_WAIT_MS 30000

/* What the signal handler cleans up: each live fixture's root and ferryd
 * (a slot is free while its root is NULL). */
static char *abort_roots[FERRYD_FIXTURE_MAX];
static volatile pid_t abort_ferryds[FERRYD_FIXTURE_MAX];

static void on_abort(int sig)
{
    for (int s = 0; s < FERRYD_FIXTURE_MAX; s++) {
        if (abort_ferryds[s] > 0)
            kill(abort_ferryds[s], SIGKILL);
    }
    for (int s = 0; s < FERRYD_FIXTURE_MAX; s++) {
        if (abort_roots[s]) {
            g_autoptr(GArray) pids = test_processes_naming(abort_roots[s]);

            for (guint i = 0; i < pids->len; i++)
                kill(g_array_index(pids, pid_t, i), SIGKILL);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

char *ferryd_fixture_build_path(const char *dir, const char *name)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");

    return g_build_filename(top ? top : FERRY_TOP_BUILDDIR, dir, name, NULL);
}

void ferryd_fixture_init(FerrydFixture *fx, const char *prefix)
{
    memset(fx, 0, sizeof(*fx));
    fx->root = lft_make_root(prefix);
    fx->log = g_build_filename(fx->root, "ferryd.log", NULL);
    fx->unix_uri = g_strdup_printf("qemu+unix:///system?socket=%s/run/ferry/ferryd-sock", fx->root);
    fx->slot = -1;
    for (int s = 0; s < FERRYD_FIXTURE_MAX && fx->slot < 0; s++) {
        if (!abort_roots[s])
            fx->slot = s;
    }
    if (fx->slot < 0)
        g_error("more than %d ferryd fixtures at once", FERRYD_FIXTURE_MAX);
    abort_ferryds[fx->slot] = -1;
    abort_roots[fx->slot] = g_strdup(fx->root);
    signal(SIGABRT, on_abort);
    /* g_error() ends with a breakpoint trap. */
    signal(SIGTRAP, on_abort);
}

void ferryd_fixture_dump_log(FerrydFixture *fx)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents(fx->log, &text, NULL, NULL))
        return;
    /* the benches use these fixtures too: their stdout is JSON only */
    if (g_test_initialized())
        g_test_message("ferryd's log:\n%s", text);
    else
        g_printerr("ferryd's log:\n%s", text);
}

void ferryd_fixture_write_config(FerrydFixture *fx, const char *text)
{
    g_autofree char *dir = g_build_filename(fx->root, "etc", "ferry", NULL);
    g_autofree char *path = g_build_filename(dir, "ferryd.conf", NULL);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

void ferryd_fixture_start(FerrydFixture *fx, gboolean tls)
{
    g_autofree char *prog = ferryd_fixture_build_path("daemon", "ferryd");
    g_autofree char *addr_file = g_build_filename(fx->root, "run", "ferry", "ferryd.addr", NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    g_assert_null(fx->ferryd);
    g_unlink(addr_file);
    fx->ferryd = spawn_new((const char *const[]){
        prog, "--root", fx->root, "--listen-tcp", "127.0.0.1:0", "--host-uuid",
        fx->host_uuid ? fx->host_uuid : FIXTURE_HOST_UUID, NULL });
    if (tls) {
        spawn_add_arg(fx->ferryd, "--listen-tls");
        spawn_add_arg(fx->ferryd, "127.0.0.1:0");
    }
    spawn_set_log_file(fx->ferryd, fx->log);
    spawn_set_kill_grace(fx->ferryd, 10000);
    g_assert_true(spawn_start(fx->ferryd, &err));
    g_assert_no_error(err);
    abort_ferryds[fx->slot] = spawn_get_pid(fx->ferryd);

    while (!g_file_get_contents(addr_file, &text, NULL, NULL)) {
        if (spawn_wait(fx->ferryd, 0, NULL, NULL) || g_get_monotonic_time() > deadline) {
            ferryd_fixture_dump_log(fx);
            g_error("ferryd did not start (see its log above)");
        }
        g_usleep(20 * 1000);
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    fx->port = fx->tls_port = 0;
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
}

void ferryd_fixture_stop(FerrydFixture *fx)
{
    SpawnStatus status = { 0 };
    g_autoptr(GError) err = NULL;

    if (!fx->ferryd)
        return;
    /* A stopped ferryd (a keepalive test) must run to see SIGTERM. */
    spawn_kill(fx->ferryd, SIGCONT, NULL);
    g_assert_true(spawn_kill(fx->ferryd, SIGTERM, &err));
    if (!spawn_wait(fx->ferryd, 60000, &status, &err)) {
        ferryd_fixture_dump_log(fx);
        g_error("ferryd did not stop on SIGTERM: %s", err->message);
    }
    g_clear_pointer(&fx->ferryd, spawn_free);
    abort_ferryds[fx->slot] = -1;
    if (!spawn_status_success(&status)) {
        g_autofree char *what = spawn_status_describe(&status);

        ferryd_fixture_dump_log(fx);
        g_error("ferryd %s after SIGTERM", what);
    }
}

void ferryd_fixture_kill(FerrydFixture *fx)
{
    g_autoptr(GError) err = NULL;

    if (!fx->ferryd)
        return;
    g_assert_true(spawn_kill(fx->ferryd, SIGKILL, &err));
    g_assert_no_error(err);
    if (!spawn_wait(fx->ferryd, 60000, NULL, &err))
        g_error("ferryd did not die on SIGKILL: %s", err->message);
    g_clear_pointer(&fx->ferryd, spawn_free);
    abort_ferryds[fx->slot] = -1;
}

void ferryd_fixture_clear(FerrydFixture *fx)
{
    ferryd_fixture_stop(fx);
    if (test_kill_processes_naming(fx->root) || g_test_failed())
        ferryd_fixture_dump_log(fx);
    lft_remove_tree(fx->root);
    if (fx->slot >= 0)
        g_clear_pointer(&abort_roots[fx->slot], g_free);
    fx->slot = -1;
    g_clear_pointer(&fx->root, g_free);
    g_clear_pointer(&fx->log, g_free);
    g_clear_pointer(&fx->tcp_uri, g_free);
    g_clear_pointer(&fx->unix_uri, g_free);
}

guint ferryd_fixture_count_qemus(FerrydFixture *fx)
{
    g_autoptr(GArray) pids = test_processes_naming(fx->root);
    guint n = 0;

    for (guint i = 0; i < pids->len; i++) {
        if (test_process_cmdline_has(g_array_index(pids, pid_t, i), "qemu-system-x86_64"))
            n++;
    }
    return n;
}

gboolean ferryd_fixture_wait_qemus(FerrydFixture *fx, guint want)
{
    gint64 deadline = g_get_monotonic_time() + FIXTURE_WAIT_MS * 1000;

    while (ferryd_fixture_count_qemus(fx) != want) {
        if (g_get_monotonic_time() > deadline)
            return FALSE;
        g_usleep(50 * 1000);
    }
    return TRUE;
}

char *ferryd_fixture_write_guest(FerrydFixture *fx, const char *name, const char *uuid)
{
    g_autofree char *xml = lft_guest_xml(fx->root, name, uuid);
    g_autofree char *file = g_strdup_printf("%s.xml", name);
    char *path = g_build_filename(fx->root, file, NULL);

    g_assert_true(g_file_set_contents(path, xml, -1, NULL));
    return path;
}
