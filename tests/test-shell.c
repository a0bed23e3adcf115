/*
 * test-shell.c: the ferry shell, run as a program (argv, never a shell)
 * against -c qemu:///embed?root=TMP, with real QEMU and the test guest.
 *
 * Each invocation is its own process and opens the QEMU driver on the
 * root afresh: a QEMU started by one invocation keeps running after it
 * exits, and the next invocation reconnects to it.
 */
#include <config.h>

#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <gio/gio.h>

#include "tests/libferry-testutils.h"

#define UUID1 "5f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a11"
#define UUID2 "5f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a12"

typedef struct {
    char *root;
    char *uri;
} Fixture;

typedef struct {
    int status; /* exit status, or -1 when killed by a signal */
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

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    fx->root = lft_make_root("ferry-shell");
    fx->uri = g_strdup_printf("qemu:///embed?root=%s", fx->root);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    guint left = lft_kill_leftovers(fx->root);

    lft_remove_tree(fx->root);
    g_free(fx->root);
    g_free(fx->uri);
    g_assert_cmpuint(left, ==, 0);
}

/* Runs tools/ferry with argv (NULL-terminated), stdin_text on its stdin
 * (NULL: empty), FERRY_DEFAULT_URI set to default_uri (NULL: unset). */
static Run *run_argv(const char *const *argv, const char *stdin_text, const char *default_uri)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");
    g_autofree char *prog =
        g_build_filename(top ? top : FERRY_TOP_BUILDDIR, "tools", "ferry", NULL);
    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                  G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    Run *run = g_new0(Run, 1);

    if (default_uri)
        g_subprocess_launcher_setenv(launcher, "FERRY_DEFAULT_URI", default_uri, TRUE);
    else
        g_subprocess_launcher_unsetenv(launcher, "FERRY_DEFAULT_URI");
    g_ptr_array_add(args, prog);
    for (const char *const *a = argv; *a; a++)
        g_ptr_array_add(args, (gpointer)*a);
    g_ptr_array_add(args, NULL);
    g_autoptr(GSubprocess) proc =
        g_subprocess_launcher_spawnv(launcher, (const char *const *)args->pdata, &err);
    g_assert_no_error(err);
    g_subprocess_communicate_utf8(proc, stdin_text ? stdin_text : "", NULL, &run->out, &run->err,
                                  &err);
    g_assert_no_error(err);
    run->status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
    return run;
}

/* ferry -c URI ARGS... */
#define SHELL(fx, ...) run_uri((fx)->uri, (const char *const[]){ __VA_ARGS__, NULL })
static Run *run_uri(const char *uri, const char *const *argv)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();

    g_ptr_array_add(args, "-c");
    g_ptr_array_add(args, (gpointer)uri);
    for (const char *const *a = argv; *a; a++)
        g_ptr_array_add(args, (gpointer)*a);
    g_ptr_array_add(args, NULL);
    return run_argv((const char *const *)args->pdata, NULL, NULL);
}

static void assert_ok(const Run *run)
{
    if (run->status != 0 || *run->err)
        g_error("ferry failed (%d): stdout \"%s\" stderr \"%s\"", run->status, run->out, run->err);
}

/* Exit status 1, nothing on stdout, exactly one line on stderr: "error: "
 * and containing part. */
static void assert_fails(const Run *run, const char *part)
{
    const char *nl = strchr(run->err, '\n');

    if (run->status != 1 || *run->out || !g_str_has_prefix(run->err, "error: ") || !nl || nl[1] ||
        !strstr(run->err, part))
        g_error("expected one error line with \"%s\": status %d stdout \"%s\" stderr \"%s\"", part,
                run->status, run->out, run->err);
}

static void assert_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        g_error("\"%s\" is not in:\n%s", part, text);
}

static char *write_guest_xml(Fixture *fx, const char *name, const char *uuid)
{
    g_autofree char *xml = lft_guest_xml(fx->root, name, uuid);
    g_autofree char *base = g_strdup_printf("%s.xml", name);
    char *path = g_build_filename(fx->root, base, NULL);

    g_assert_true(g_file_set_contents(path, xml, -1, NULL));
    return path;
}

/* The id in the "list" row of name, or -1 for "-". */
static int list_id(const char *out, const char *name)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

    for (char **l = lines; *l; l++) {
        g_auto(GStrv) cols = g_strsplit_set(g_strstrip(*l), " ", -1);
        guint n = g_strv_length(cols);

        for (guint i = 1; i < n; i++) {
            if (g_str_equal(cols[i], name))
                return g_str_equal(cols[0], "-") ? -1 : atoi(cols[0]);
        }
    }
    g_error("domain '%s' is not in:\n%s", name, out);
    return -2;
}

static void test_lifecycle(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    g_autofree char *file = write_guest_xml(fx, "sh1", UUID1);
    g_autoptr(Run) def = SHELL(fx, "define", file);
    assert_ok(def);
    g_autofree char *defined = g_strdup_printf("Domain 'sh1' defined from %s\n\n", file);
    g_assert_cmpstr(def->out, ==, defined);

    g_autoptr(Run) all = SHELL(fx, "list", "--all");
    assert_ok(all);
    g_assert_cmpstr(all->out, ==,
                    " Id   Name   State\n"
                    "-----------------------\n"
                    " -    sh1    shut off\n"
                    "\n");
    g_autoptr(Run) running_only = SHELL(fx, "list");
    assert_ok(running_only);
    g_assert_cmpstr(running_only->out, ==, " Id   Name   State\n--------------------\n\n");

    g_autoptr(Run) start = SHELL(fx, "start", "sh1");
    assert_ok(start);
    g_assert_cmpstr(start->out, ==, "Domain 'sh1' started\n\n");

    /* The next invocation reconnects to the QEMU the last one started. */
    g_autoptr(Run) list = SHELL(fx, "list");
    assert_ok(list);
    int id = list_id(list->out, "sh1");
    g_assert_cmpint(id, >, 0);
    g_autofree char *row = g_strdup_printf(" %-2d   sh1    running\n", id);
    assert_has(list->out, row);

    g_autofree char *id_text = g_strdup_printf("%d", id);
    static const char *const how[] = { "sh1", UUID1, NULL };
    for (int i = 0; i < 3; i++) {
        g_autoptr(Run) info = SHELL(fx, "dominfo", i < 2 ? how[i] : id_text);
        assert_ok(info);
        g_autofree char *id_line = g_strdup_printf("Id:             %d\n", id);
        assert_has(info->out, id_line);
        assert_has(info->out, "Name:           sh1\n");
        assert_has(info->out, "UUID:           " UUID1 "\n");
        assert_has(info->out, "OS Type:        hvm\n");
        assert_has(info->out, "State:          running\n");
        assert_has(info->out, "CPU(s):         1\n");
        assert_has(info->out, "Max memory:     65536 KiB\n");
        assert_has(info->out, "Used memory:    65536 KiB\n");
        assert_has(info->out, "Persistent:     yes\n");
        assert_has(info->out, "Autostart:      disable\n");
        assert_has(info->out, "Managed save:   no\n");
        assert_has(info->out, "Security model: none\n");
        assert_has(info->out, "Security DOI:   0\n");
    }

    g_autoptr(Run) state = SHELL(fx, "domstate", "--reason", "sh1");
    assert_ok(state);
    g_assert_cmpstr(state->out, ==, "running (booted)\n\n");
    g_autoptr(Run) state_plain = SHELL(fx, "domstate", "--domain", "sh1");
    assert_ok(state_plain);
    g_assert_cmpstr(state_plain->out, ==, "running\n\n");

    g_autoptr(Run) live = SHELL(fx, "dumpxml", "sh1");
    assert_ok(live);
    assert_has(live->out, "<name>sh1</name>");
    assert_has(live->out, " id=");
    g_autoptr(Run) mig = SHELL(fx, "dumpxml", "--migratable", "sh1");
    assert_ok(mig);
    assert_has(mig->out, "<name>sh1</name>");
    g_assert_null(strstr(mig->out, " id="));
    g_autoptr(Run) inact = SHELL(fx, "dumpxml", "sh1", "--inactive", "--security-info");
    assert_ok(inact);
    g_assert_null(strstr(inact->out, " id="));

    g_autoptr(Run) job = SHELL(fx, "domjobinfo", "sh1");
    assert_ok(job);
    g_assert_cmpstr(job->out, ==, "Job type:         None        \n\n");

    g_autoptr(Run) suspend = SHELL(fx, "suspend", "sh1");
    assert_ok(suspend);
    g_assert_cmpstr(suspend->out, ==, "Domain 'sh1' suspended\n\n");
    g_autoptr(Run) paused = SHELL(fx, "domstate", "sh1", "--reason");
    assert_ok(paused);
    g_assert_cmpstr(paused->out, ==, "paused (user)\n\n");
    g_autoptr(Run) resume = SHELL(fx, "resume", id_text);
    assert_ok(resume);
    g_assert_cmpstr(resume->out, ==, "Domain 'sh1' resumed\n\n");
    g_autoptr(Run) resumed = SHELL(fx, "domstate", "sh1", "--reason");
    assert_ok(resumed);
    g_assert_cmpstr(resumed->out, ==, "running (unpaused)\n\n");

    g_autoptr(Run) destroy = SHELL(fx, "destroy", "sh1");
    assert_ok(destroy);
    g_assert_cmpstr(destroy->out, ==, "Domain 'sh1' destroyed\n\n");
    g_assert_cmpuint(lft_kill_leftovers(fx->root), ==, 0);
    g_autoptr(Run) off = SHELL(fx, "domstate", "sh1");
    assert_ok(off);
    g_assert_cmpstr(off->out, ==, "shut off\n\n");
    g_autoptr(Run) undef = SHELL(fx, "undefine", "sh1");
    assert_ok(undef);
    g_assert_cmpstr(undef->out, ==, "Domain 'sh1' has been undefined\n\n");
    g_autoptr(Run) empty = SHELL(fx, "list", "--all");
    assert_ok(empty);
    g_assert_cmpstr(empty->out, ==, " Id   Name   State\n--------------------\n\n");
}

/* create --paused makes a transient domain; start --autodestroy lasts as
 * long as the invocation that started it. */
static void test_create_and_autodestroy(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    g_autofree char *file = write_guest_xml(fx, "sh2", UUID2);
    g_autoptr(Run) create = SHELL(fx, "create", file, "--paused");
    assert_ok(create);
    g_autofree char *created = g_strdup_printf("Domain 'sh2' created from %s\n\n", file);
    g_assert_cmpstr(create->out, ==, created);
    g_autoptr(Run) state = SHELL(fx, "domstate", "--reason", "sh2");
    assert_ok(state);
    g_assert_cmpstr(state->out, ==, "paused (user)\n\n");
    g_autoptr(Run) destroy = SHELL(fx, "destroy", "sh2");
    assert_ok(destroy);
    g_autoptr(Run) gone = SHELL(fx, "dominfo", "sh2");
    assert_fails(gone, "error: failed to get domain 'sh2': no domain with matching name 'sh2'");

    g_autoptr(Run) def = SHELL(fx, "define", file);
    assert_ok(def);
    g_autoptr(Run) not_running = SHELL(fx, "suspend", "sh2");
    assert_fails(not_running, "error: failed to suspend domain 'sh2': domain 'sh2' is not running");
    g_autoptr(Run) start = SHELL(fx, "start", "--autodestroy", "sh2");
    assert_ok(start);
    g_assert_cmpstr(start->out, ==, "Domain 'sh2' started\n\n");
    /* That invocation's connection closed when it exited. */
    g_assert_cmpuint(lft_kill_leftovers(fx->root), ==, 0);
    g_autoptr(Run) off = SHELL(fx, "domstate", "sh2");
    assert_ok(off);
    g_assert_cmpstr(off->out, ==, "shut off\n\n");
    g_autoptr(Run) undef = SHELL(fx, "undefine", "sh2");
    assert_ok(undef);
}

static void test_errors(Fixture *fx, gconstpointer data)
{
    g_autoptr(Run) nodom = SHELL(fx, "dominfo", "nosuch");
    assert_fails(nodom, "error: failed to get domain 'nosuch': no domain with matching name "
                        "'nosuch'");
    g_autoptr(Run) noid = SHELL(fx, "destroy", "42");
    assert_fails(noid, "failed to get domain '42'");
    g_autoptr(Run) unknown = SHELL(fx, "frob");
    assert_fails(unknown, "error: unknown command: 'frob'");
    g_autoptr(Run) badopt = SHELL(fx, "list", "--bogus");
    assert_fails(badopt, "error: command 'list' doesn't support option --bogus");
    g_autoptr(Run) missing = SHELL(fx, "dominfo");
    assert_fails(missing, "error: command 'dominfo' requires <domain> option");
    g_autoptr(Run) extra = SHELL(fx, "list", "--all", "extra");
    assert_fails(extra, "error: unexpected data 'extra'");
    g_autofree char *nofile = g_build_filename(fx->root, "nofile.xml", NULL);
    g_autoptr(Run) nodef = SHELL(fx, "define", nofile);
    assert_fails(nodef, "error: failed to read file");

    g_autoptr(Run) baduri = run_uri("xen:///system", (const char *const[]){ "list", NULL });
    assert_fails(baduri, "error: failed to connect to the hypervisor: URI 'xen:///system': "
                         "unknown scheme 'xen'");
    g_autoptr(Run) remote =
        run_uri("qemu+tcp://127.0.0.1:1/system", (const char *const[]){ "list", NULL });
    assert_fails(remote, "error: failed to connect to the hypervisor: cannot connect to "
                         "'qemu+tcp://127.0.0.1:1/system': ");
    g_autoptr(Run) badflag = run_argv((const char *const[]){ "--frob", NULL }, NULL, NULL);
    assert_fails(badflag, "unknown option '--frob'");
}

static void test_help(Fixture *fx, gconstpointer data)
{
    g_autoptr(Run) opt = SHELL(fx, "domstate", "--help");
    assert_ok(opt);
    assert_has(opt->out, "  NAME\n    domstate - domain state\n");
    assert_has(opt->out, "  SYNOPSIS\n    domstate <domain> [--reason]\n");
    assert_has(opt->out, "--reason");
    g_autoptr(Run) cmd = SHELL(fx, "help", "domstate");
    assert_ok(cmd);
    g_assert_cmpstr(cmd->out, ==, opt->out);
    g_autoptr(Run) start = SHELL(fx, "start", "--help");
    assert_has(start->out, "start <domain> [--paused] [--autodestroy]");

    g_autoptr(Run) all = SHELL(fx, "help");
    assert_ok(all);
    static const char *const commands[] = { "list",       "dominfo",     "domstate", "dumpxml",
                                            "define",     "undefine",    "create",   "start",
                                            "destroy",    "shutdown",    "suspend",  "resume",
                                            "domjobinfo", "domjobabort", "version",  "uri",
                                            "hostname",   "nodeinfo" };
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        g_autofree char *line = g_strdup_printf("    %-14s ", commands[i]);
        assert_has(all->out, line);
    }
    g_autoptr(Run) nohelp = SHELL(fx, "help", "frob");
    assert_fails(nohelp, "'frob' doesn't exist");

    g_autoptr(Run) usage = run_argv((const char *const[]){ "--help", NULL }, NULL, NULL);
    assert_ok(usage);
    assert_has(usage->out, "Usage: ferry [-c URI]");
    g_autoptr(Run) version = run_argv((const char *const[]){ "-v", NULL }, NULL, NULL);
    assert_ok(version);
    g_assert_cmpstr(version->out, ==, PACKAGE_VERSION "\n");
}

static void test_host_commands(Fixture *fx, gconstpointer data)
{
    g_autoptr(Run) version = SHELL(fx, "version");
    assert_ok(version);
    assert_has(version->out, "Compiled against library: ferry " PACKAGE_VERSION "\n"
                             "Using library: ferry " PACKAGE_VERSION "\n"
                             "Using API: QEMU " PACKAGE_VERSION "\n"
                             "Running hypervisor: QEMU 7.2.");
    g_autoptr(Run) uri = SHELL(fx, "uri");
    assert_ok(uri);
    g_autofree char *uri_out = g_strdup_printf("%s\n\n", fx->uri);
    g_assert_cmpstr(uri->out, ==, uri_out);
    g_autoptr(Run) host = SHELL(fx, "hostname");
    assert_ok(host);
    g_autofree char *host_out = g_strdup_printf("%s\n\n", g_get_host_name());
    g_assert_cmpstr(host->out, ==, host_out);

    /* virsh's layout; the numbers are this host's */
    g_autoptr(Run) node = SHELL(fx, "nodeinfo");
    assert_ok(node);
    struct utsname uts;
    g_assert_cmpint(uname(&uts), ==, 0);
    g_autofree char *model = g_strdup_printf("CPU model:           %s\n", uts.machine);
    g_autofree char *cpus =
        g_strdup_printf("\nCPU(s):              %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    g_autofree char *meminfo = NULL;
    g_assert_true(g_file_get_contents("/proc/meminfo", &meminfo, NULL, NULL));
    const char *total = strstr(meminfo, "MemTotal:");
    g_assert_nonnull(total);
    g_autofree char *memory =
        g_strdup_printf("\nMemory size:         %" G_GUINT64_FORMAT " KiB\n\n",
                        g_ascii_strtoull(total + 9, NULL, 10));
    g_assert_true(g_str_has_prefix(node->out, model));
    assert_has(node->out, cpus);
    assert_has(node->out, memory);
    g_assert_true(g_str_has_suffix(node->out, memory));
    g_assert_true(g_regex_match_simple("^CPU model: +\\S+\n"
                                       "CPU\\(s\\): +[0-9]+\n"
                                       "CPU frequency: +[0-9]+ MHz\n"
                                       "CPU socket\\(s\\): +[0-9]+\n"
                                       "Core\\(s\\) per socket: +[0-9]+\n"
                                       "Thread\\(s\\) per core: +[0-9]+\n"
                                       "NUMA cell\\(s\\): +[0-9]+\n"
                                       "Memory size: +[0-9]+ KiB\n\n$",
                                       node->out, 0, 0));

    /* No -c: FERRY_DEFAULT_URI. */
    g_autoptr(Run) dflt = run_argv((const char *const[]){ "uri", NULL }, NULL, fx->uri);
    assert_ok(dflt);
    g_assert_cmpstr(dflt->out, ==, uri_out);
    g_autoptr(Run) sys = run_argv((const char *const[]){ "uri", NULL }, NULL, NULL);
    assert_fails(sys, "cannot connect to 'qemu:///system'");
}

/* No command: one command a line from stdin (no prompt: not a tty), in
 * one process and one connection, until quit. */
static void test_interactive(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    g_autofree char *file = write_guest_xml(fx, "sh 3", UUID1);
    g_autofree char *script = g_strdup_printf("# a comment\n"
                                              "\n"
                                              "define '%s'\n"
                                              "list --all\n"
                                              "start \"sh 3\"\n"
                                              "domstate --reason sh\\ 3\n"
                                              "frob\n"
                                              "destroy 'sh 3'\n"
                                              "domstate --reason 'sh 3'\n"
                                              "undefine \"sh 3\"\n"
                                              "quit\n"
                                              "list --all\n",
                                              file);
    g_autoptr(Run) run = run_argv((const char *const[]){ "-c", fx->uri, NULL }, script, NULL);
    g_autofree char *expected = g_strdup_printf("Domain 'sh 3' defined from %s\n\n"
                                                " Id   Name   State\n"
                                                "-----------------------\n"
                                                " -    sh 3   shut off\n\n"
                                                "Domain 'sh 3' started\n\n"
                                                "running (booted)\n\n"
                                                "Domain 'sh 3' destroyed\n\n"
                                                "shut off (destroyed)\n\n"
                                                "Domain 'sh 3' has been undefined\n\n",
                                                file);
    g_assert_cmpstr(run->out, ==, expected);
    g_assert_cmpstr(run->err, ==, "error: unknown command: 'frob'\n");
    g_assert_cmpint(run->status, ==, 0);

    g_autoptr(Run) bad =
        run_argv((const char *const[]){ "-c", fx->uri, NULL }, "uri 'unterminated\nuri\n", NULL);
    g_assert_cmpstr(bad->err, ==, "error: unterminated single quote\n");
    g_autofree char *uri_out = g_strdup_printf("%s\n\n", fx->uri);
    g_assert_cmpstr(bad->out, ==, uri_out);
    g_assert_cmpint(bad->status, ==, 0);
    g_autoptr(Run) last_fails =
        run_argv((const char *const[]){ "-c", fx->uri, NULL }, "uri\nfrob\n", NULL);
    g_assert_cmpint(last_fails->status, ==, 1);
}

/* migrate-setspeed, migrate-getspeed, migrate-setmaxdowntime,
 * migrate-getmaxdowntime over embed; event with nothing happening. */
static void test_migrate_tuning_and_event(Fixture *fx, gconstpointer data)
{
    g_autofree char *file = write_guest_xml(fx, "web1", "5f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a51");
    g_autoptr(Run) def = SHELL(fx, "define", file);
    assert_ok(def);

    g_autoptr(Run) get0 = SHELL(fx, "migrate-getspeed", "web1");
    assert_ok(get0);
    g_assert_cmpstr(get0->out, ==, "8796093022207\n");
    g_autoptr(Run) set = SHELL(fx, "migrate-setspeed", "web1", "--bandwidth", "32");
    assert_ok(set);
    g_assert_cmpstr(set->out, ==, "");
    /* Over embed each run has its own driver: the value lives as long as
     * the driver knows the domain, so read it in the same process. */
    g_autoptr(Run) both = run_argv((const char *const[]){ "-c", fx->uri, NULL },
                                   "migrate-setspeed web1 32\nmigrate-getspeed web1\n"
                                   "migrate-setmaxdowntime web1 40\nmigrate-getmaxdowntime web1\n",
                                   NULL);
    g_assert_cmpint(both->status, ==, 0);
    assert_has(both->out, "32\n");
    assert_has(both->out, "40\n");
    g_autoptr(Run) getd = SHELL(fx, "migrate-getmaxdowntime", "web1");
    assert_ok(getd);
    g_assert_cmpstr(getd->out, ==, "300\n");

    g_autoptr(Run) bad = SHELL(fx, "migrate-setmaxdowntime", "web1", "0");
    assert_fails(bad, "Invalid downtime");
    g_autoptr(Run) nan = SHELL(fx, "migrate-setspeed", "web1", "x");
    assert_fails(nan, "bandwidth");
    g_autoptr(Run) over = SHELL(fx, "migrate-setspeed", "web1", "8796093022208");
    assert_fails(over, "bandwidth must be less than 8796093022208");
    g_autoptr(Run) miss = SHELL(fx, "migrate-getspeed");
    assert_fails(miss, "requires <domain> option");

    g_autoptr(Run) ev = SHELL(fx, "event", "--domain", "web1", "--timeout", "1");
    assert_ok(ev);
    g_assert_cmpstr(ev->out, ==, "event loop timed out\nevents received: 0\n");
    g_autoptr(Run) list = SHELL(fx, "event", "--list");
    assert_ok(list);
    g_assert_cmpstr(list->out, ==, "lifecycle\nmigration-iteration\njob-completed\n");
    g_autoptr(Run) badt = SHELL(fx, "event", "--timeout", "soon");
    assert_fails(badt, "invalid timeout");
    g_autoptr(Run) help = SHELL(fx, "help");
    assert_has(help->out, "migrate-setspeed");
    assert_has(help->out, "event");
}

/* migrate-compcache's own checks, before and after the daemon's: a bad
 * --size, a missing domain or value, an inactive domain; its help. */
static void test_migrate_compcache_args(Fixture *fx, gconstpointer data)
{
    g_autofree char *file = write_guest_xml(fx, "web1", "5f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a52");
    g_autoptr(Run) def = SHELL(fx, "define", file);
    assert_ok(def);

    g_autoptr(Run) nan = SHELL(fx, "migrate-compcache", "web1", "--size", "big");
    assert_fails(nan, "Numeric value 'big' for <size> option is malformed or out of range");
    g_autoptr(Run) neg = SHELL(fx, "migrate-compcache", "web1", "--size", "-4096");
    assert_fails(neg, "Numeric value '-4096' for <size> option is malformed or out of range");
    g_autoptr(Run) huge = SHELL(fx, "migrate-compcache", "web1", "--size", "18446744073709551616");
    assert_fails(huge, "Numeric value '18446744073709551616' for <size>");
    g_autoptr(Run) novalue = SHELL(fx, "migrate-compcache", "web1", "--size");
    assert_fails(novalue, "option --size of command 'migrate-compcache' needs a value");
    g_autoptr(Run) nodom = SHELL(fx, "migrate-compcache", "--size", "4096");
    assert_fails(nodom, "command 'migrate-compcache' requires <domain> option");
    g_autoptr(Run) extra = SHELL(fx, "migrate-compcache", "web1", "4096");
    g_assert_cmpint(extra->status, ==, 1);
    g_autoptr(Run) nosuch = SHELL(fx, "migrate-compcache", "nosuch");
    assert_fails(nosuch, "failed to get domain 'nosuch'");
    /* Defined, not running: the daemon's refusal, with the size asked. */
    g_autoptr(Run) off = SHELL(fx, "migrate-compcache", "web1", "--size", "4096");
    assert_fails(off, "failed to set the compression cache of domain 'web1' to 4096 bytes: "
                      "domain 'web1' is not running");
    g_autoptr(Run) offget = SHELL(fx, "migrate-compcache", "web1");
    assert_fails(offget, "failed to get the compression cache of domain 'web1': "
                         "domain 'web1' is not running");

    g_autoptr(Run) help = SHELL(fx, "help", "migrate-compcache");
    assert_ok(help);
    assert_has(help->out, "migrate-compcache <domain> [--size <number>]");
    assert_has(help->out, "power of two");
    g_autoptr(Run) list = SHELL(fx, "help");
    assert_has(list->out, "migrate-compcache");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/shell/lifecycle", test_lifecycle);
    ADD("/shell/create-and-autodestroy", test_create_and_autodestroy);
    ADD("/shell/errors", test_errors);
    ADD("/shell/help", test_help);
    ADD("/shell/host-commands", test_host_commands);
    ADD("/shell/interactive", test_interactive);
    ADD("/shell/migrate-tuning-and-event", test_migrate_tuning_and_event);
    ADD("/shell/migrate-compcache-args", test_migrate_compcache_args);
    return g_test_run();
}
