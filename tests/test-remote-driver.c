/*
 * test-remote-driver.c: the remote driver (src/rpc/remote_driver*.c) end to
 * end: libferry's public API and the ferry shell against the real
 * daemon/ferryd, with Debian's virsh as the reference client.
 *
 * Each case starts ferryd on a temporary --root with --listen-tcp
 * 127.0.0.1:0 (and --listen-tls 127.0.0.1:0 for TLS) and reads the bound
 * ports from ROOT/run/ferry/ferryd.addr.  Programs run from an argv
 * (util/spawn.h), never through a shell.  Whatever a case started (ferryd,
 * the shell, QEMU) is stopped at its end, and also when an assertion aborts
 * the test (a SIGABRT handler kills every process whose command line names
 * the root).  Loopback and ephemeral ports only.
 *
 * Parts that need virsh, certtool or the test guest skip without them.
 */
#include <config.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "ferry/ferry.h"
#include "tests/ferryd-testutils.h"
#include "tests/libferry-testutils.h"
#include "tests/tls-certs.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/spawn.h"

#define VIRSH "/usr/bin/virsh"
#define UUID1 "3f0c2a4e-9d1b-4c7e-8a55-0e1f2a3b4c01"
#define UUID2 "3f0c2a4e-9d1b-4c7e-8a55-0e1f2a3b4c02"
#define WAIT_MS 30000

typedef FerrydFixture Fixture;

/* ---------------------------------------------------------------- programs */

typedef struct {
    int status;
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

static Run *run_argv(const char *const *argv)
{
    g_autoptr(Spawn) sp = spawn_new(argv);
    g_autoptr(GError) err = NULL;
    SpawnStatus status = { 0 };
    Run *run = g_new0(Run, 1);

    /* The shell's own default URI must not leak in from the environment. */
    spawn_set_env(sp, "FERRY_DEFAULT_URI", NULL);
    if (!spawn_run_capture(sp, 120000, 1 << 20, &run->out, &run->err, &status, &err))
        g_error("%s: %s", argv[0], err->message);
    run->status = status.kind == SPAWN_EXIT_EXITED ? status.code : 128 + status.code;
    return run;
}

/* ferry -c URI ARGS... */
static Run *ferry_shell(const char *uri, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run *ferry_shell(const char *uri, const char *first, ...)
{
    g_autofree char *prog = ferryd_fixture_build_path("tools", "ferry");
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    va_list ap;

    g_ptr_array_add(argv, prog);
    g_ptr_array_add(argv, (char *)"-c");
    g_ptr_array_add(argv, (char *)uri);
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (char *)a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    return run_argv((const char *const *)argv->pdata);
}

static gboolean have_virsh(void)
{
    if (g_file_test(VIRSH, G_FILE_TEST_IS_EXECUTABLE))
        return TRUE;
    g_test_message("Debian's virsh (libvirt-clients) is not installed: its part is skipped");
    return FALSE;
}

static Run *virsh(const char *uri, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run *virsh(const char *uri, const char *first, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    va_list ap;

    g_ptr_array_add(argv, (char *)VIRSH);
    g_ptr_array_add(argv, (char *)"-q");
    g_ptr_array_add(argv, (char *)"-c");
    g_ptr_array_add(argv, (char *)uri);
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (char *)a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    return run_argv((const char *const *)argv->pdata);
}

static void assert_run_ok(const Run *run, const char *what)
{
    if (run->status != 0)
        g_error("%s: exit %d\nstdout: %s\nstderr: %s", what, run->status, run->out, run->err);
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The Name column of a `list` table (virsh's or ferry's), sorted and
 * joined with spaces. */
static char *list_names(const char *out)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

    for (char **l = lines; *l; l++) {
        g_auto(GStrv) cols = g_strsplit_set(g_strstrip(*l), " \t", -1);
        g_autoptr(GPtrArray) words = g_ptr_array_new();

        for (char **c = cols; *c; c++) {
            if (**c)
                g_ptr_array_add(words, *c);
        }
        if (words->len < 3 || g_str_equal(g_ptr_array_index(words, 0), "Id"))
            continue;
        g_ptr_array_add(names, g_strdup(g_ptr_array_index(words, 1)));
    }
    g_ptr_array_sort(names, compare_strings);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

/* ---------------------------------------------------------------- fixture */

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    ferryd_fixture_init(fx, "ferry-remote");
    /* Cases given data start ferryd themselves. */
    if (!data)
        ferryd_fixture_start(fx, FALSE);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    ferryd_fixture_clear(fx);
}

/* ---------------------------------------------------------------- cases */

/* libferry defines two domains over TCP; ferry's and virsh's `list --all`
 * over the same URI name the same domains. */
static void test_list(Fixture *fx, gconstpointer data)
{
    FerryConnect *conn = ferry_connect_open(fx->tcp_uri, 0);
    g_autofree char *xml1 = lft_guest_xml(fx->root, "web1", UUID1);
    g_autofree char *xml2 = lft_guest_xml(fx->root, "db2", UUID2);

    if (!conn)
        g_error("open %s: %s", fx->tcp_uri, ferry_get_last_error_message());
    FerryDomain *d1 = ferry_domain_define_xml(conn, xml1, 0);
    FerryDomain *d2 = ferry_domain_define_xml(conn, xml2, 0);
    g_assert_nonnull(d1);
    g_assert_nonnull(d2);
    g_assert_cmpstr(ferry_domain_get_name(d1), ==, "web1");
    g_assert_cmpint(ferry_domain_get_id(d1), ==, -1);
    g_assert_cmpint(ferry_domain_is_persistent(d2), ==, 1);
    g_assert_cmpint(ferry_domain_is_active(d2), ==, 0);

    FerryDomain **all = NULL;
    g_assert_cmpint(ferry_connect_list_all_domains(conn, &all, 0), ==, 2);
    for (int i = 0; all[i]; i++)
        ferry_domain_free(all[i]);
    free(all);

    g_autofree char *uri = ferry_connect_get_uri(conn);
    g_assert_cmpstr(uri, ==, fx->tcp_uri);
    g_autofree char *host = ferry_connect_get_hostname(conn);
    g_assert_nonnull(host);
    g_assert_cmpstr(ferry_connect_get_type(conn), ==, "QEMU");
    unsigned long long ver = 0;
    g_assert_cmpint(ferry_connect_get_lib_version(conn, &ver), ==, 0);
    g_assert_cmpuint(ver, >, 0);
    ferry_domain_free(d1);
    ferry_domain_free(d2);
    g_assert_cmpint(ferry_connect_close(conn), ==, 0);

    g_autoptr(Run) fl = ferry_shell(fx->tcp_uri, "list", "--all", NULL);
    assert_run_ok(fl, "ferry list --all");
    g_autofree char *ferry_names = list_names(fl->out);
    g_test_message("ferry -c %s list --all:\n%s", fx->tcp_uri, fl->out);
    g_assert_cmpstr(ferry_names, ==, "db2 web1");
    if (!have_virsh())
        return;
    g_autoptr(Run) vl = virsh(fx->tcp_uri, "list", "--all", NULL);
    assert_run_ok(vl, "virsh list --all");
    g_test_message("virsh -c %s list --all:\n%s", fx->tcp_uri, vl->out);
    g_autofree char *virsh_names = list_names(vl->out);
    g_assert_cmpstr(virsh_names, ==, ferry_names);
}

/* define and start through virsh start a real QEMU; ferry and libferry
 * see it running over the remote driver; virsh destroy stops it. */
static void test_lifecycle(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    if (!have_virsh()) {
        g_test_skip("needs virsh");
        return;
    }
    g_autofree char *file = ferryd_fixture_write_guest(fx, "web1", UUID1);
    g_autoptr(Run) def = virsh(fx->tcp_uri, "define", file, NULL);
    assert_run_ok(def, "virsh define");
    g_autoptr(Run) start = virsh(fx->tcp_uri, "start", "web1", NULL);
    assert_run_ok(start, "virsh start");
    g_assert_true(ferryd_fixture_wait_qemus(fx, 1));

    g_autoptr(Run) st = ferry_shell(fx->tcp_uri, "domstate", "web1", NULL);
    assert_run_ok(st, "ferry domstate");
    g_assert_cmpstr(st->out, ==, "running\n\n");
    g_autoptr(Run) info = ferry_shell(fx->unix_uri, "dominfo", "web1", NULL);
    assert_run_ok(info, "ferry dominfo");
    g_assert_nonnull(strstr(info->out, "State:          running"));

    FerryConnect *conn = ferry_connect_open(fx->tcp_uri, 0);
    g_assert_nonnull(conn);
    FerryDomain *dom = ferry_domain_lookup_by_uuid_string(conn, UUID1);
    g_assert_nonnull(dom);
    g_assert_cmpint(ferry_domain_get_id(dom), >, 0);
    FerryDomainInfo di = { 0 };
    g_assert_cmpint(ferry_domain_get_info(dom, &di), ==, 0);
    g_assert_cmpint(di.state, ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpuint(di.max_mem_kib, ==, 64 * 1024);
    g_assert_cmpuint(di.nr_virt_cpu, ==, 1);
    g_autofree char *os = ferry_domain_get_os_type(dom);
    g_assert_cmpstr(os, ==, "hvm");
    g_autofree char *xml = ferry_domain_get_xml_desc(dom, 0);
    g_assert_nonnull(strstr(xml, "<name>web1</name>"));
    int type = -1;
    FerryTypedParameter *params = NULL;
    int nparams = 0;
    g_assert_cmpint(ferry_domain_get_job_stats(dom, &type, &params, &nparams, 0), ==, 0);
    g_assert_cmpint(type, ==, FERRY_DOMAIN_JOB_NONE);
    ferry_typed_params_free(params, nparams);
    ferry_domain_free(dom);
    g_assert_cmpint(ferry_connect_close(conn), ==, 0);

    g_autoptr(Run) destroy = virsh(fx->tcp_uri, "destroy", "web1", NULL);
    assert_run_ok(destroy, "virsh destroy");
    g_assert_true(ferryd_fixture_wait_qemus(fx, 0));
    g_autoptr(Run) off = ferry_shell(fx->tcp_uri, "domstate", "web1", NULL);
    g_assert_cmpstr(off->out, ==, "shut off\n\n");
}

/* `start --autodestroy` in the interactive shell over the UNIX socket:
 * while the shell runs, QEMU runs; once its stdin closes the shell exits,
 * its connection closes, and ferryd destroys the domain. */
static void test_autodestroy(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    g_autofree char *file = ferryd_fixture_write_guest(fx, "web1", UUID1);
    g_autoptr(Run) def = ferry_shell(fx->unix_uri, "define", file, NULL);
    assert_run_ok(def, "ferry define");

    g_autofree char *prog = ferryd_fixture_build_path("tools", "ferry");
    g_autofree char *out = g_build_filename(fx->root, "shell.log", NULL);
    g_autoptr(Spawn) sh = spawn_new((const char *const[]){ prog, "-c", fx->unix_uri, NULL });
    g_autoptr(GError) err = NULL;
    int pipefd[2];

    g_assert_cmpint(pipe(pipefd), ==, 0);
    g_auto(FerryFd) rd = pipefd[0];
    g_auto(FerryFd) wr = pipefd[1];
    spawn_set_stdin_fd(sh, rd);
    spawn_set_log_file(sh, out);
    spawn_set_env(sh, "FERRY_DEFAULT_URI", NULL);
    g_assert_true(spawn_start(sh, &err));
    g_assert_no_error(err);
    ferry_fd_close(&rd);

    static const char cmds[] = "start --autodestroy web1\ndomstate web1\n";
    g_assert_cmpint(write(wr, cmds, strlen(cmds)), ==, (gssize)strlen(cmds));
    g_assert_true(ferryd_fixture_wait_qemus(fx, 1));
    /* Still running a moment later: the shell's connection is up. */
    g_usleep(500 * 1000);
    g_assert_cmpuint(ferryd_fixture_count_qemus(fx), ==, 1);
    g_assert_true(spawn_is_running(sh));

    ferry_fd_close(&wr);
    SpawnStatus status = { 0 };
    g_assert_true(spawn_wait(sh, WAIT_MS, &status, &err));
    g_assert_no_error(err);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(out, &text, NULL, NULL));
    g_test_message("ferry (interactive):\n%s", text);
    g_assert_true(spawn_status_success(&status));
    g_assert_nonnull(strstr(text, "Domain 'web1' started"));
    g_assert_nonnull(strstr(text, "running"));
    g_assert_true(ferryd_fixture_wait_qemus(fx, 0));
    g_autoptr(Run) off = ferry_shell(fx->tcp_uri, "domstate", "web1", NULL);
    g_assert_cmpstr(off->out, ==, "shut off\n\n");
}

/* Errors keep their code and message across the wire; a connection whose
 * server went away fails every later call with "connection ... closed". */
static void test_errors(Fixture *fx, gconstpointer data)
{
    g_autoptr(Run) miss = ferry_shell(fx->tcp_uri, "dominfo", "nosuch", NULL);
    const char *nl = strchr(miss->err, '\n');

    g_test_message("ferry dominfo nosuch: %d %s", miss->status, miss->err);
    g_assert_cmpint(miss->status, ==, 1);
    g_assert_nonnull(strstr(miss->err, "'nosuch'"));
    g_assert_true(nl && nl[1] == '\0');

    FerryConnect *conn = ferry_connect_open(fx->unix_uri, 0);
    g_assert_nonnull(conn);
    g_assert_null(ferry_domain_lookup_by_name(conn, "nosuch"));
    const FerryError *e = ferry_get_last_error();
    g_assert_nonnull(e);
    g_assert_cmpint(e->code, ==, FERRY_ERROR_NO_DOMAIN);
    g_assert_nonnull(strstr(e->message, "'nosuch'"));
    /* An XML error is the server's too. */
    g_assert_null(ferry_domain_define_xml(conn, "<domain>", 0));
    e = ferry_get_last_error();
    g_assert_nonnull(e);
    g_assert_cmpint(e->code, ==, FERRY_ERROR_XML);

    /* The server goes away under an open connection. */
    ferryd_fixture_stop(fx);
    g_assert_cmpint(ferry_connect_list_all_domains(conn, NULL, 0), ==, -1);
    e = ferry_get_last_error();
    g_test_message("after ferryd stopped: %s", e->message);
    g_assert_cmpint(e->code, ==, FERRY_ERROR_NO_CONNECT);
    g_assert_nonnull(strstr(e->message, "closed"));
    g_assert_null(ferry_domain_lookup_by_name(conn, "web1"));
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_NO_CONNECT);
    g_assert_cmpint(ferry_connect_close(conn), ==, 0);

    /* Nothing listens: the error names the URI. */
    g_assert_null(ferry_connect_open(fx->tcp_uri, 0));
    e = ferry_get_last_error();
    g_assert_cmpint(e->code, ==, FERRY_ERROR_NO_CONNECT);
    g_autofree char *prefix = g_strdup_printf("cannot connect to '%s': ", fx->tcp_uri);
    g_assert_true(g_str_has_prefix(e->message, prefix));
}

/* A server that stops answering (SIGSTOP) is noticed by the keepalive of
 * ?keepalive_interval=1&keepalive_count=2: the pending call and every later
 * one fail with "connection ... closed". */
static void test_keepalive(Fixture *fx, gconstpointer data)
{
    g_autofree char *uri =
        g_strdup_printf("%s&keepalive_interval=1&keepalive_count=2", fx->unix_uri);
    FerryConnect *conn = ferry_connect_open(uri, 0);
    g_autoptr(GError) err = NULL;

    if (!conn)
        g_error("open %s: %s", uri, ferry_get_last_error_message());
    g_assert_cmpint(ferry_connect_list_all_domains(conn, NULL, 0), ==, 0);
    g_assert_true(spawn_kill(fx->ferryd, SIGSTOP, &err));
    /* The signal takes effect asynchronously: wait for state T. */
    g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", (int)spawn_get_pid(fx->ferryd));
    for (int i = 0; i < 200; i++) {
        g_autofree char *stat = NULL;

        if (g_file_get_contents(stat_path, &stat, NULL, NULL) && strstr(stat, ") T "))
            break;
        g_usleep(10 * 1000);
    }
    gint64 t0 = g_get_monotonic_time();
    g_assert_cmpint(ferry_connect_list_all_domains(conn, NULL, 0), ==, -1);
    gint64 waited_ms = (g_get_monotonic_time() - t0) / 1000;
    const FerryError *e = ferry_get_last_error();
    g_test_message("after %" G_GINT64_FORMAT " ms: %s", waited_ms, e->message);
    g_assert_cmpint(e->code, ==, FERRY_ERROR_NO_CONNECT);
    g_assert_nonnull(strstr(e->message, "keepalive"));
    g_assert_cmpint(waited_ms, <, 20000);
    g_assert_null(ferry_domain_lookup_by_name(conn, "web1"));
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_NO_CONNECT);
    g_assert_nonnull(strstr(ferry_get_last_error_message(), "closed"));
    g_assert_cmpint(ferry_connect_close(conn), ==, 0);
    g_assert_true(spawn_kill(fx->ferryd, SIGCONT, &err));
}

/* Another name of this host that resolves to 127.0.0.1 (ferryd listens
 * there), or NULL. */
static const char *loopback_alias(void)
{
    const char *name = g_get_host_name();
    g_autoptr(GResolver) res = g_resolver_get_default();
    GList *addrs;
    gboolean ok = FALSE;

    if (!name || g_str_equal(name, "localhost"))
        return NULL;
    addrs = g_resolver_lookup_by_name(res, name, NULL, NULL);
    for (GList *l = addrs; l; l = l->next) {
        g_autofree char *a = g_inet_address_to_string(l->data);

        ok = ok || g_str_equal(a, "127.0.0.1");
    }
    g_resolver_free_addresses(addrs);
    return ok ? name : NULL;
}

/* TLS with certificates made now: client1 (allowed DN) connects; no
 * certificate, one from another CA, a DN not allowed, and a server
 * certificate for another host are refused with a clear error. */
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
    ferryd_fixture_write_config(fx, conf);
    ferryd_fixture_start(fx, TRUE);

    const struct {
        const char *client; /* NULL: no client certificate */
        const char *ca;
        const char *host;
        const char *query;
        gboolean ok;
        const char *why; /* part of the error */
    } cases[] = {
        { "client1", "ca", "localhost", "", TRUE, NULL },
        { "client1", "ca", "127.0.0.1", "", TRUE, NULL },
        { NULL, "ca", "localhost", "", FALSE, "cannot connect to" },
        { "client1-ca2", "ca", "localhost", "", FALSE, "cannot connect to" },
        { "eve", "ca", "localhost", "", FALSE, "cannot connect to" },
        /* Our CA does not know ferryd's certificate. */
        { "client1-ca2", "ca2", "localhost", "", FALSE, "cannot connect to" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *pki = tls_certs_libvirt_pki_dir(certs, cases[i].client, cases[i].ca, &err);

        g_assert_no_error(err);
        g_autofree char *uri = g_strdup_printf("qemu+tls://%s:%u/system?pkipath=%s%s",
                                               cases[i].host, fx->tls_port, pki, cases[i].query);
        g_autoptr(Run) run = ferry_shell(uri, "list", "--all", NULL);

        g_test_message("ferry -c %s list --all -> %d\n%s%s", uri, run->status, run->out, run->err);
        if (cases[i].ok) {
            assert_run_ok(run, uri);
            g_assert_nonnull(strstr(run->out, "Id"));
            continue;
        }
        g_assert_cmpint(run->status, ==, 1);
        g_assert_nonnull(strstr(run->err, cases[i].why));

        FerryConnect *conn = ferry_connect_open(uri, 0);
        g_assert_null(conn);
        const FerryError *e = ferry_get_last_error();
        g_assert_true(e->code == FERRY_ERROR_AUTH_FAILED || e->code == FERRY_ERROR_NO_CONNECT ||
                      e->code == FERRY_ERROR_TLS);
    }
    /* The server's certificate is for localhost and 127.0.0.1 only: under
     * another name of this host it is refused, unless no_verify=1. */
    const char *alias = loopback_alias();
    if (alias) {
        const char *pki = tls_certs_libvirt_pki_dir(certs, "client1", "ca", &err);
        g_autofree char *wrong =
            g_strdup_printf("qemu+tls://%s:%u/system?pkipath=%s", alias, fx->tls_port, pki);
        g_autofree char *noverify = g_strdup_printf("%s&no_verify=1", wrong);

        g_assert_null(ferry_connect_open(wrong, 0));
        g_test_message("%s: %s", wrong, ferry_get_last_error_message());
        g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_AUTH_FAILED);
        g_assert_nonnull(strstr(ferry_get_last_error_message(), alias));
        FerryConnect *conn = ferry_connect_open(noverify, 0);
        if (!conn)
            g_error("%s: %s", noverify, ferry_get_last_error_message());
        g_assert_cmpint(ferry_connect_list_all_domains(conn, NULL, 0), ==, 0);
        g_assert_cmpint(ferry_connect_close(conn), ==, 0);
    } else {
        g_test_message("no other name of this host resolves to 127.0.0.1: host name check "
                       "not tested");
    }
    /* ferryd serves on. */
    g_autoptr(Run) list = ferry_shell(fx->unix_uri, "list", "--all", NULL);
    assert_run_ok(list, "ferry list after the refusals");
}

/* ---------------------------------------------------------------- events */

/* What a libferry lifecycle callback saw: "NAME Event Detail" lines. */
typedef struct {
    GMutex lock;
    GPtrArray *seen;
    FerryConnect *conn;
    gboolean wrong_conn;
    guint freed;
} EventLog;

static void event_log_cb(FerryConnect *conn, FerryDomain *dom, int event, int detail, void *opaque)
{
    EventLog *log = opaque;

    g_mutex_lock(&log->lock);
    g_ptr_array_add(log->seen, g_strdup_printf("%s %s %s", ferry_domain_get_name(dom),
                                               ferry_domain_event_type_name(event),
                                               ferry_domain_event_detail_name(event, detail)));
    if (conn != log->conn || ferry_domain_get_connect(dom) != conn)
        log->wrong_conn = TRUE;
    g_mutex_unlock(&log->lock);
}

static void event_log_freed(void *opaque)
{
    EventLog *log = opaque;

    g_mutex_lock(&log->lock);
    log->freed++;
    g_mutex_unlock(&log->lock);
}

/* Waits until want events were seen (WAIT_MS at most); returns them joined
 * with ", ". */
static char *event_log_wait(EventLog *log, guint want)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000LL;
    char *joined;

    for (;;) {
        g_mutex_lock(&log->lock);
        if (log->seen->len >= want || g_get_monotonic_time() > deadline) {
            g_ptr_array_add(log->seen, NULL);
            joined = g_strjoinv(", ", (char **)log->seen->pdata);
            g_ptr_array_remove_index(log->seen, log->seen->len - 1);
            g_mutex_unlock(&log->lock);
            return joined;
        }
        g_mutex_unlock(&log->lock);
        g_usleep(50 * 1000);
    }
}

/* TRUE once path contains needle (WAIT_MS at most). */
static gboolean file_wait_for(const char *path, const char *needle)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000LL;

    while (g_get_monotonic_time() < deadline) {
        g_autofree char *text = NULL;

        if (g_file_get_contents(path, &text, NULL, NULL) && strstr(text, needle))
            return TRUE;
        g_usleep(100 * 1000);
    }
    return FALSE;
}

/* libferry over TCP hears the lifecycle of a domain that another client
 * (libferry over the UNIX socket) defines, starts, suspends, resumes,
 * destroys and undefines, in order; so does `ferry event --loop` running
 * meanwhile; a domain filter sees only its domain. */
static void test_events(Fixture *fx, gconstpointer data)
{
    EventLog all = { .seen = g_ptr_array_new_with_free_func(g_free) };
    EventLog one = { .seen = g_ptr_array_new_with_free_func(g_free) };

    if (!lft_have_guest()) {
        g_ptr_array_unref(all.seen);
        g_ptr_array_unref(one.seen);
        return;
    }
    g_mutex_init(&all.lock);
    g_mutex_init(&one.lock);
    FerryConnect *watch = ferry_connect_open(fx->tcp_uri, 0);
    FerryConnect *act = ferry_connect_open(fx->unix_uri, 0);
    g_assert_nonnull(watch);
    g_assert_nonnull(act);
    all.conn = one.conn = watch;
    int id_all =
        ferry_connect_domain_event_register(watch, NULL, event_log_cb, &all, event_log_freed);
    g_assert_cmpint(id_all, >=, 0);

    /* The shell's event command, in the background, its output in a file. */
    g_autofree char *marker_xml = lft_guest_xml(fx->root, "marker", UUID2);
    FerryDomain *marker = ferry_domain_define_xml(act, marker_xml, 0);
    g_assert_nonnull(marker);
    g_autofree char *prog = ferryd_fixture_build_path("tools", "ferry");
    g_autofree char *log_path = g_build_filename(fx->root, "event.log", NULL);
    g_autoptr(Spawn) ev = spawn_new((const char *const[]){ prog, "-c", fx->tcp_uri, "event",
                                                           "--loop", "--timeout", "120", NULL });
    g_autoptr(GError) err = NULL;
    spawn_set_log_file(ev, log_path);
    spawn_set_env(ev, "FERRY_DEFAULT_URI", NULL);
    g_assert_true(spawn_start(ev, &err));
    g_assert_no_error(err);
    /* Redefine the marker until the shell shows it listens. */
    gboolean listening = FALSE;
    for (int i = 0; i < 100 && !listening; i++) {
        ferry_domain_free(ferry_domain_define_xml(act, marker_xml, 0));
        listening = file_wait_for(log_path, "for domain 'marker': Defined Updated");
    }
    g_assert_true(listening);
    g_assert_cmpint(ferry_domain_undefine(marker, 0), ==, 0);
    ferry_domain_free(marker);
    /* Every marker event reached the libferry callback before we go on. */
    for (guint want = 3;; want++) {
        g_autofree char *marker_seen = event_log_wait(&all, want);

        if (g_str_has_suffix(marker_seen, "marker Undefined Removed"))
            break;
        g_assert_cmpuint(want, <, 200);
    }
    g_mutex_lock(&all.lock);
    g_ptr_array_set_size(all.seen, 0);
    g_mutex_unlock(&all.lock);

    g_autofree char *xml = lft_guest_xml(fx->root, "web1", UUID1);
    FerryDomain *dom = ferry_domain_define_xml(act, xml, 0);
    g_assert_nonnull(dom);
    FerryDomain *wdom = ferry_domain_lookup_by_name(watch, "web1");
    g_assert_nonnull(wdom);
    int id_one = ferry_connect_domain_event_register(watch, wdom, event_log_cb, &one, NULL);
    g_assert_cmpint(id_one, >=, 0);
    g_assert_cmpint(id_one, !=, id_all);
    g_assert_cmpint(ferry_domain_create(dom, 0), ==, 0);
    g_assert_true(ferryd_fixture_wait_qemus(fx, 1));
    g_assert_cmpint(ferry_domain_suspend(dom), ==, 0);
    g_assert_cmpint(ferry_domain_resume(dom), ==, 0);
    g_assert_cmpint(ferry_domain_destroy(dom, 0), ==, 0);
    g_assert_true(ferryd_fixture_wait_qemus(fx, 0));
    g_assert_cmpint(ferry_domain_undefine(dom, 0), ==, 0);
    ferry_domain_free(dom);

    g_autofree char *seen = event_log_wait(&all, 6);
    g_assert_cmpstr(seen, ==,
                    "web1 Defined Added, web1 Started Booted, web1 Suspended Paused, "
                    "web1 Resumed Unpaused, web1 Stopped Destroyed, web1 Undefined Removed");
    g_autofree char *seen_one = event_log_wait(&one, 5);
    g_assert_cmpstr(seen_one, ==,
                    "web1 Started Booted, web1 Suspended Paused, web1 Resumed Unpaused, "
                    "web1 Stopped Destroyed, web1 Undefined Removed");
    g_assert_false(all.wrong_conn || one.wrong_conn);

    /* The shell printed them as virsh does. */
    g_assert_true(file_wait_for(log_path, "for domain 'web1': Undefined Removed"));
    g_assert_true(spawn_kill_and_reap(ev, 5000, NULL, &err));
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(log_path, &text, NULL, NULL));
    g_test_message("ferry event --loop:\n%s", text);
    g_assert_nonnull(strstr(text, "event 'lifecycle' for domain 'web1': Defined Added\n"
                                  "event 'lifecycle' for domain 'web1': Started Booted\n"
                                  "event 'lifecycle' for domain 'web1': Suspended Paused\n"
                                  "event 'lifecycle' for domain 'web1': Resumed Unpaused\n"
                                  "event 'lifecycle' for domain 'web1': Stopped Destroyed\n"
                                  "event 'lifecycle' for domain 'web1': Undefined Removed\n"));

    /* Deregistered: the free function runs; an unknown id is refused. */
    g_assert_cmpint(ferry_connect_domain_event_deregister(watch, id_all), ==, 0);
    g_assert_cmpuint(all.freed, ==, 1);
    g_assert_cmpint(ferry_connect_domain_event_deregister(watch, id_all), ==, -1);
    g_assert_nonnull(ferry_get_last_error());
    /* A registration left in place goes with the connection. */
    ferry_domain_free(wdom);
    g_assert_cmpint(ferry_connect_close(watch), ==, 0);
    g_assert_cmpint(ferry_connect_close(act), ==, 0);

    /* One-shot with a timeout and nothing happening. */
    g_autoptr(Run) quiet = ferry_shell(fx->tcp_uri, "event", "--timeout", "1", NULL);
    assert_run_ok(quiet, "ferry event --timeout 1");
    g_assert_cmpstr(quiet->out, ==, "event loop timed out\nevents received: 0\n");
    g_autoptr(Run) bad = ferry_shell(fx->tcp_uri, "event", "--event", "reboot", NULL);
    g_assert_cmpint(bad->status, ==, 1);

    g_ptr_array_unref(all.seen);
    g_ptr_array_unref(one.seen);
    g_mutex_clear(&all.lock);
    g_mutex_clear(&one.lock);
}

/* migrate-setspeed & co through libferry and the shell, over ferryd. */
static void test_migrate_tuning(Fixture *fx, gconstpointer data)
{
    FerryConnect *conn = ferry_connect_open(fx->tcp_uri, 0);
    g_autofree char *xml = lft_guest_xml(fx->root, "web1", UUID1);
    unsigned long long v = 0;

    g_assert_nonnull(conn);
    FerryDomain *dom = ferry_domain_define_xml(conn, xml, 0);
    g_assert_nonnull(dom);
    g_assert_cmpint(ferry_domain_migrate_get_max_speed(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, FERRY_DOMAIN_MIGRATE_MAX_SPEED_UNLIMITED);
    g_assert_cmpint(ferry_domain_migrate_get_max_downtime(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 300);
    g_assert_cmpint(ferry_domain_migrate_set_max_speed(dom, 64, 0), ==, 0);
    g_assert_cmpint(ferry_domain_migrate_set_max_downtime(dom, 75, 0), ==, 0);
    g_assert_cmpint(ferry_domain_migrate_get_max_speed(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 64);
    g_assert_cmpint(ferry_domain_migrate_get_max_downtime(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 75);
    /* Errors cross the wire with their code. */
    g_assert_cmpint(ferry_domain_migrate_set_max_speed(dom, 1ULL << 60, 0), ==, -1);
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_OVERFLOW);
    g_assert_cmpint(ferry_domain_migrate_set_max_speed(dom, 1, 4), ==, -1);
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);

    g_autoptr(Run) set = ferry_shell(fx->unix_uri, "migrate-setspeed", "web1", "128", NULL);
    assert_run_ok(set, "ferry migrate-setspeed");
    g_assert_cmpstr(set->out, ==, "");
    g_autoptr(Run) get = ferry_shell(fx->unix_uri, "migrate-getspeed", "web1", NULL);
    assert_run_ok(get, "ferry migrate-getspeed");
    g_assert_cmpstr(get->out, ==, "128\n");
    g_autoptr(Run) setd =
        ferry_shell(fx->unix_uri, "migrate-setmaxdowntime", "--domain", "web1", "500", NULL);
    assert_run_ok(setd, "ferry migrate-setmaxdowntime");
    g_autoptr(Run) getd = ferry_shell(fx->unix_uri, "migrate-getmaxdowntime", "web1", NULL);
    assert_run_ok(getd, "ferry migrate-getmaxdowntime");
    g_assert_cmpstr(getd->out, ==, "500\n");
    g_autoptr(Run) zero = ferry_shell(fx->unix_uri, "migrate-setmaxdowntime", "web1", "0", NULL);
    g_assert_cmpint(zero->status, ==, 1);
    g_autoptr(Run) nan = ferry_shell(fx->unix_uri, "migrate-setspeed", "web1", "fast", NULL);
    g_assert_cmpint(nan->status, ==, 1);
    g_autoptr(Run) miss = ferry_shell(fx->unix_uri, "migrate-getspeed", "nosuch", NULL);
    g_assert_cmpint(miss->status, ==, 1);

    if (have_virsh()) {
        g_autoptr(Run) vget = virsh(fx->tcp_uri, "migrate-getspeed", "web1", NULL);
        assert_run_ok(vget, "virsh migrate-getspeed");
        g_assert_cmpstr(g_strstrip(vget->out), ==, "128");
        g_autoptr(Run) vset = virsh(fx->tcp_uri, "migrate-setmaxdowntime", "web1", "250", NULL);
        assert_run_ok(vset, "virsh migrate-setmaxdowntime");
        g_assert_cmpint(ferry_domain_migrate_get_max_downtime(dom, &v, 0), ==, 0);
        g_assert_cmpuint(v, ==, 250);
    }
    ferry_domain_free(dom);
    g_assert_cmpint(ferry_connect_close(conn), ==, 0);
}

/* migrate-compcache against ferryd with a running guest: libferry, the
 * ferry shell and Debian's virsh read and set QEMU's xbzrle-cache-size;
 * bad sizes and an inactive domain are refused with their reason. */
static void test_migrate_compcache(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    FerryConnect *conn = ferry_connect_open(fx->tcp_uri, 0);
    g_autofree char *xml = lft_guest_xml(fx->root, "web1", UUID1);
    unsigned long long v = 0;

    g_assert_nonnull(conn);
    FerryDomain *dom = ferry_domain_define_xml(conn, xml, 0);
    g_assert_nonnull(dom);
    /* Inactive: QEMU keeps the value, there is none to read or set. */
    g_assert_cmpint(ferry_domain_migrate_get_compression_cache(dom, &v, 0), ==, -1);
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_OPERATION_INVALID);
    g_assert_nonnull(strstr(ferry_get_last_error()->message, "domain 'web1' is not running"));
    g_autoptr(Run) off = ferry_shell(fx->unix_uri, "migrate-compcache", "web1", NULL);
    g_assert_cmpint(off->status, ==, 1);
    g_assert_nonnull(strstr(off->err, "is not running"));

    g_assert_cmpint(ferry_domain_create(dom, 0), ==, 0);
    g_assert_true(ferryd_fixture_wait_qemus(fx, 1));
    g_assert_cmpint(ferry_domain_migrate_get_compression_cache(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 64ULL << 20);
    g_assert_cmpint(ferry_domain_migrate_set_compression_cache(dom, 16ULL << 20, 0), ==, 0);
    g_assert_cmpint(ferry_domain_migrate_get_compression_cache(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 16ULL << 20);
    /* Errors cross the wire with their code and message; nothing changes. */
    g_assert_cmpint(ferry_domain_migrate_set_compression_cache(dom, 3000000, 0), ==, -1);
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);
    g_assert_nonnull(
        strstr(ferry_get_last_error()->message, "3000000 bytes is not a power of two"));
    g_assert_cmpint(ferry_domain_migrate_set_compression_cache(dom, 1 << 20, 1), ==, -1);
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_INVALID_ARG);
    g_assert_cmpint(ferry_domain_migrate_get_compression_cache(dom, NULL, 0), ==, -1);
    g_assert_cmpint(ferry_domain_migrate_get_compression_cache(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 16ULL << 20);

    /* The shell: get, set then get, as virsh prints them. */
    g_autoptr(Run) get = ferry_shell(fx->unix_uri, "migrate-compcache", "web1", NULL);
    assert_run_ok(get, "ferry migrate-compcache");
    g_assert_cmpstr(get->out, ==, "Compression cache: 16.000 MiB\n");
    g_autoptr(Run) set =
        ferry_shell(fx->tcp_uri, "migrate-compcache", "web1", "--size", "1073741824", NULL);
    assert_run_ok(set, "ferry migrate-compcache --size");
    g_assert_cmpstr(set->out, ==, "Compression cache: 1.000 GiB\n");
    g_autoptr(Run) small =
        ferry_shell(fx->tcp_uri, "migrate-compcache", "web1", "--size", "2048", NULL);
    g_assert_cmpint(small->status, ==, 1);
    g_assert_cmpstr(small->out, ==, "");
    g_assert_nonnull(strstr(small->err, "QEMU refused compression cache size 2048 bytes"));
    g_assert_cmpint(ferry_domain_migrate_get_compression_cache(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 1ULL << 30);

    if (have_virsh()) {
        g_autoptr(Run) vset =
            virsh(fx->tcp_uri, "migrate-compcache", "web1", "--size", "268435456", NULL);
        assert_run_ok(vset, "virsh migrate-compcache --size");
        g_assert_cmpstr(g_strstrip(vset->out), ==, "Compression cache: 256.000 MiB");
        g_assert_cmpint(ferry_domain_migrate_get_compression_cache(dom, &v, 0), ==, 0);
        g_assert_cmpuint(v, ==, 256ULL << 20);
        g_autoptr(Run) vget = virsh(fx->unix_uri, "migrate-compcache", "web1", NULL);
        assert_run_ok(vget, "virsh migrate-compcache");
        g_assert_cmpstr(g_strstrip(vget->out), ==, "Compression cache: 256.000 MiB");
        g_autoptr(Run) vbad =
            virsh(fx->tcp_uri, "migrate-compcache", "web1", "--size", "12288", NULL);
        g_assert_cmpint(vbad->status, ==, 1);
        g_assert_nonnull(strstr(vbad->err, "12288 bytes is not a power of two"));
    }

    g_assert_cmpint(ferry_domain_destroy(dom, 0), ==, 0);
    g_assert_true(ferryd_fixture_wait_qemus(fx, 0));
    if (have_virsh()) {
        g_autoptr(Run) voff = virsh(fx->tcp_uri, "migrate-compcache", "web1", NULL);
        g_assert_cmpint(voff->status, ==, 1);
        g_assert_nonnull(strstr(voff->err, "domain 'web1' is not running"));
    }
    ferry_domain_free(dom);
    g_assert_cmpint(ferry_connect_close(conn), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_setenv("FERRY_DEFAULT_URI", "", TRUE);

    g_autofree char *ferryd = ferryd_fixture_build_path("daemon", "ferryd");
    if (!g_file_test(ferryd, G_FILE_TEST_IS_EXECUTABLE)) {
        g_print("1..0 # SKIP daemon/ferryd was not built\n");
        return 77;
    }
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/remote-driver/list", test_list);
    ADD("/remote-driver/lifecycle", test_lifecycle);
    ADD("/remote-driver/autodestroy", test_autodestroy);
    ADD("/remote-driver/errors", test_errors);
    ADD("/remote-driver/keepalive", test_keepalive);
    ADD("/remote-driver/events", test_events);
    ADD("/remote-driver/migrate-tuning", test_migrate_tuning);
    ADD("/remote-driver/migrate-compcache", test_migrate_compcache);
    g_test_add("/remote-driver/tls", Fixture, "manual", fixture_setup, test_tls, fixture_teardown);
    return g_test_run();
}
