/*
 * test-qemu-command.c: domain definitions to QEMU command lines.
 *
 * Data-driven: every tests/data/argv/NAME.xml is one case
 * ("/qemu-command/file/NAME").  It is parsed, built with the options of
 * NAME.opts (when present; defaults below) and compared with NAME.args
 * (one argument per line) or, when NAME.err exists, must fail with a
 * message containing its text.  FERRY_TEST_REGENERATE=1 rewrites the
 * .args files in the source tree.  Each successful case is also built a
 * second time; from the definition formatted for migration and parsed
 * again (what a destination gets); and as a migration destination
 * (-incoming defer), which must differ from the first only by that option.
 *
 * NAME.opts: "key=value" lines, '#' comments:
 *   accel=kvm|tcg          (default: from <domain type=>)
 *   qmp-path=PATH          (default: /run/ferry/test/qmp.sock)
 *   qmp-fd=N               (replaces the default path)
 *   incoming=defer|URI
 *   tap=ALIAS:FD[:VHOSTFD] (default: every interface gets fd 40 + index)
 *   no-taps=yes            (no default taps)
 *   chr-fd=ALIAS:FD
 *   emulator=PATH          (default: the domain's, else /usr/bin/qemu-system-x86_64)
 *   migratable=yes, sandbox=yes
 *   spice-tls-dir=DIR      (SPICE over TLS: -spice x509-dir=DIR)
 *
 * Plus two real-QEMU cases: the test guest booted from a command line built
 * here, with commas in its paths, until its serial file shows a completed
 * self-check: once with paths QEMU opens, once with the fds ferry would
 * pass (a listening QMP socket, the serial file through -add-fd, a tap
 * when this host can make one) under -sandbox.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "tests.qemu.command"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/iothread.h"
#include "util/spawn.h"

#include "conf/domain_conf.h"
#include "driver/qemu_command.h"
#include "driver/qemu_monitor.h"
#include "testutils.h"

#define TEST_QMP_PATH "/run/ferry/test/qmp.sock"
#define TEST_EMULATOR "/usr/bin/qemu-system-x86_64"
#define TEST_TAP_FD_BASE 40
#define REAL_DEADLINE_US (60 * G_USEC_PER_SEC)
#define REAL_KILL_GRACE_MS 2000

static const char *top_builddir(void)
{
    const char *dir = g_getenv("FERRY_TOP_BUILDDIR");

    return dir && *dir ? dir : FERRY_TOP_BUILDDIR;
}

static char *data_path(const char *name, const char *ext)
{
    g_autofree char *file = g_strconcat(name, ext, NULL);

    return test_data_path("argv", file);
}

/* Deterministic "randomness" for what parsing generates. */
static int test_random_bytes(void *buf, size_t len, gpointer opaque, GError **error)
{
    guint8 *next = opaque;
    guint8 *out = buf;

    for (size_t i = 0; i < len; i++)
        out[i] = (*next)++;
    return 0;
}

static DomainDef *parse_domain(const char *xml, GError **error)
{
    guint8 next = 0x10;
    DomainParseHooks hooks = { test_random_bytes, &next };

    return domain_def_parse_full(xml, 0, &hooks, error);
}

/* ---------------------------------------------------------------- options */

/* QemuCommandOptions and the storage its pointers refer to. */
typedef struct {
    QemuCommandOptions opts;
    GArray *taps; /* QemuCommandTapFd */
    GArray *chr_fds; /* QemuCommandChrFd */
    GStringChunk *strings;
} TestOptions;

static void test_options_free(TestOptions *t)
{
    g_array_unref(t->taps);
    g_array_unref(t->chr_fds);
    g_string_chunk_free(t->strings);
    g_free(t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestOptions, test_options_free)

static gboolean parse_int(const char *s, int *out)
{
    guint64 v;

    if (!g_ascii_string_to_unsigned(s, 10, 0, G_MAXINT, &v, NULL))
        return FALSE;
    *out = (int)v;
    return TRUE;
}

static gboolean bad_option(const char *key, const char *value, GError **error)
{
    ferry_fail(error, FERRY_ERR_PARSE, "bad option line '%s=%s'", key, value);
    return FALSE;
}

static gboolean test_options_line(TestOptions *t, const char *key, const char *value,
                                  gboolean *no_taps, GError **error)
{
    const char *v = g_string_chunk_insert(t->strings, value);
    g_auto(GStrv) parts = g_strsplit(value, ":", 3);

    if (g_str_equal(key, "accel")) {
        t->opts.accel = v;
    } else if (g_str_equal(key, "qmp-path")) {
        t->opts.qmp_path = v;
    } else if (g_str_equal(key, "qmp-fd")) {
        t->opts.qmp_path = NULL;
        if (!parse_int(value, &t->opts.qmp_fd))
            return bad_option(key, value, error);
    } else if (g_str_equal(key, "incoming")) {
        t->opts.incoming = v;
    } else if (g_str_equal(key, "emulator")) {
        t->opts.emulator = v;
    } else if (g_str_equal(key, "spice-tls-dir")) {
        t->opts.spice_tls_dir = v;
    } else if (g_str_equal(key, "migratable")) {
        t->opts.migratable = g_str_equal(value, "yes");
    } else if (g_str_equal(key, "sandbox")) {
        t->opts.sandbox = g_str_equal(value, "yes");
    } else if (g_str_equal(key, "no-taps")) {
        *no_taps = g_str_equal(value, "yes");
    } else if (g_str_equal(key, "tap")) {
        QemuCommandTapFd tap = { g_string_chunk_insert(t->strings, parts[0]), -1, -1 };

        if (!parts[1] || !parse_int(parts[1], &tap.fd) ||
            (parts[2] && !parse_int(parts[2], &tap.vhost_fd)))
            return bad_option(key, value, error);
        g_array_append_val(t->taps, tap);
    } else if (g_str_equal(key, "chr-fd")) {
        QemuCommandChrFd chr = { g_string_chunk_insert(t->strings, parts[0]), -1 };

        if (!parts[1] || parts[2] || !parse_int(parts[1], &chr.fd))
            return bad_option(key, value, error);
        g_array_append_val(t->chr_fds, chr);
    } else {
        return bad_option(key, value, error);
    }
    return TRUE;
}

static TestOptions *test_options_load(const char *name, const DomainDef *def, GError **error)
{
    g_autoptr(TestOptions) t = g_new0(TestOptions, 1);
    g_autofree char *path = data_path(name, ".opts");
    g_autofree char *text = NULL;
    gboolean no_taps = FALSE;

    t->opts = (QemuCommandOptions)QEMU_COMMAND_OPTIONS_INIT;
    t->opts.qmp_path = TEST_QMP_PATH;
    t->taps = g_array_new(FALSE, TRUE, sizeof(QemuCommandTapFd));
    t->chr_fds = g_array_new(FALSE, TRUE, sizeof(QemuCommandChrFd));
    t->strings = g_string_chunk_new(256);
    if (!def->emulator)
        t->opts.emulator = TEST_EMULATOR;

    if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents(path, &text, NULL, error))
            return NULL;
        lines = g_strsplit(text, "\n", -1);
        for (gsize i = 0; lines[i]; i++) {
            char *line = g_strstrip(lines[i]);
            char *eq = strchr(line, '=');

            if (!*line || *line == '#')
                continue;
            if (!eq) {
                ferry_fail(error, FERRY_ERR_PARSE, "%s: line '%s' is not key=value", path, line);
                return NULL;
            }
            *eq = '\0';
            if (!test_options_line(t, line, eq + 1, &no_taps, error))
                return NULL;
        }
    }
    /* Default taps for the interfaces that have none. */
    for (gsize i = 0; i < def->nnets && !no_taps; i++) {
        gboolean given = FALSE;

        for (guint j = 0; j < t->taps->len; j++)
            given |= g_str_equal(g_array_index(t->taps, QemuCommandTapFd, j).alias,
                                 def->nets[i]->info.alias);
        if (!given) {
            QemuCommandTapFd tap = { def->nets[i]->info.alias, TEST_TAP_FD_BASE + (int)i, -1 };
            g_array_append_val(t->taps, tap);
        }
    }
    t->opts.taps = (const QemuCommandTapFd *)(void *)t->taps->data;
    t->opts.ntaps = t->taps->len;
    t->opts.chr_fds = (const QemuCommandChrFd *)(void *)t->chr_fds->data;
    t->opts.nchr_fds = t->chr_fds->len;
    return g_steal_pointer(&t);
}

/* ---------------------------------------------------------------- file cases */

/* One argument per line; a newline inside an argument is written as "\n"
 * to keep the file one argument per line. */
static char *argv_to_lines(char **argv)
{
    GString *out = g_string_new(NULL);

    for (gsize i = 0; argv[i]; i++) {
        g_auto(GStrv) parts = g_strsplit(argv[i], "\n", -1);
        g_autofree char *one = g_strjoinv("\\n", parts);

        g_string_append_printf(out, "%s\n", one);
    }
    return g_string_free(out, FALSE);
}

static void test_file(gconstpointer data)
{
    const char *name = data;
    g_autofree char *xml_path = data_path(name, ".xml");
    g_autofree char *args_name = g_strconcat(name, ".args", NULL);
    g_autofree char *want = test_data_expected_error("argv", name);
    g_autofree char *xml = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def = NULL;
    g_autoptr(TestOptions) t = NULL;
    g_auto(GStrv) argv = NULL;
    g_autofree char *actual = NULL;

    /* Failures of the inputs fail this case only, not the whole run. */
    if (!g_file_get_contents(xml_path, &xml, NULL, &err) || !(def = parse_domain(xml, &err)) ||
        !(t = test_options_load(name, def, &err))) {
        g_test_fail_printf("%s: bad test input: %s", name, err->message);
        return;
    }

    argv = qemu_command_build(def, &t->opts, &err);

    if (want) {
        if (argv) {
            g_autofree char *got = argv_to_lines(argv);
            g_test_fail_printf("%s: built, but expected an error containing '%s':\n%s", name, want,
                               got);
            return;
        }
        g_assert_nonnull(err);
        g_test_message("%s: %s", name, err->message);
        test_check_error_contains(name, err, want);
        return;
    }

    g_assert_no_error(err);
    g_assert_nonnull(argv);
    actual = argv_to_lines(argv);
    if (!test_compare_golden("argv", args_name, actual))
        return;

    /* Deterministic: the same again. */
    {
        g_auto(GStrv) again = qemu_command_build(def, &t->opts, &err);
        g_autofree char *text = NULL;

        g_assert_no_error(err);
        text = argv_to_lines(again);
        g_assert_cmpstr(text, ==, actual);
    }

    /* The destination parses the definition the source formats for it
     * (migratable) and must build the same command line from it. */
    {
        g_autofree char *migratable =
            domain_def_format(def, DOMAIN_FORMAT_MIGRATABLE | DOMAIN_FORMAT_SECURE, &err);
        g_autoptr(DomainDef) dst_def = NULL;
        g_auto(GStrv) dst_argv = NULL;
        g_autofree char *text = NULL;

        g_assert_no_error(err);
        dst_def = parse_domain(migratable, &err);
        g_assert_no_error(err);
        dst_argv = qemu_command_build(dst_def, &t->opts, &err);
        g_assert_no_error(err);
        text = argv_to_lines(dst_argv);
        if (!test_compare_text("after a migratable format and parse", actual, text)) {
            g_test_fail_printf("%s: the destination would build another command line", name);
            return;
        }
    }

    /* The destination's command line is the source's plus -incoming. */
    if (!t->opts.incoming) {
        QemuCommandOptions dst = t->opts;
        g_auto(GStrv) incoming = NULL;
        g_autoptr(GPtrArray) rest = g_ptr_array_new();
        gsize n = 0;

        dst.incoming = "defer";
        incoming = qemu_command_build(def, &dst, &err);
        g_assert_no_error(err);
        for (gsize i = 0; incoming[i]; i++) {
            if (g_str_equal(incoming[i], "-incoming") && incoming[i + 1] &&
                g_str_equal(incoming[i + 1], "defer")) {
                i++;
                n++;
                continue;
            }
            g_ptr_array_add(rest, incoming[i]);
        }
        g_assert_cmpuint(n, ==, 1);
        g_ptr_array_add(rest, NULL);
        g_assert_true(g_strv_equal((const char *const *)rest->pdata, (const char *const *)argv));
    }
}

/* ---------------------------------------------------------------- unit cases */

static const char minimal_xml[] =
    "<domain type='kvm'>"
    "  <name>unit</name>"
    "  <uuid>00000000-0000-4000-8000-000000000099</uuid>"
    "  <memory unit='MiB'>64</memory>"
    "  <os><type arch='x86_64' machine='pc'>hvm</type></os>"
    "  <devices>"
    "    <interface type='ethernet'><mac address='52:54:00:00:00:99'/>"
    "    <model type='virtio'/></interface>"
    "  </devices>"
    "</domain>";

static void test_escape(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "", "" },
        { "plain", "plain" },
        { "a,b", "a,,b" },
        { ",,", ",,,," },
        { "/path/with,comma/and=equals", "/path/with,,comma/and=equals" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = qemu_command_escape_opt(cases[i].in);
        g_assert_cmpstr(got, ==, cases[i].out);
    }
}

static void test_env(void)
{
    g_auto(GStrv) env = qemu_command_build_env("/var/lib/ferry/domain-web1");
    g_autofree char *line = NULL;
    const char *argv[] = {
        "/usr/bin/qemu-system-x86_64", "-name", "guest=a b", "-append", "x='y'", NULL
    };

    g_assert_cmpuint(g_strv_length(env), ==, 6);
    g_assert_cmpstr(env[0], ==, "LC_ALL=C");
    g_assert_true(g_str_has_prefix(env[1], "PATH="));
    g_assert_cmpstr(env[2], ==, "HOME=/var/lib/ferry/domain-web1");
    g_assert_cmpstr(env[3], ==, "XDG_DATA_HOME=/var/lib/ferry/domain-web1/.local/share");
    g_assert_cmpstr(env[4], ==, "XDG_CACHE_HOME=/var/lib/ferry/domain-web1/.cache");
    g_assert_cmpstr(env[5], ==, "XDG_CONFIG_HOME=/var/lib/ferry/domain-web1/.config");

    line = qemu_command_to_string((const char *const[]){ "LC_ALL=C", "HOME=/a b", NULL }, argv);
    g_assert_cmpstr(line, ==,
                    "LC_ALL=C HOME='/a b' /usr/bin/qemu-system-x86_64 -name 'guest=a b' -append "
                    "'x='\\''y'\\'''");
}

/* Options the data files cannot express: they must be refused. */
static void test_bad_options(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def = parse_domain(minimal_xml, &err);
    QemuCommandTapFd tap = { "net0", 5, -1 };
    QemuCommandOptions opts = QEMU_COMMAND_OPTIONS_INIT;
    char **argv;

    g_assert_no_error(err);
    opts.taps = &tap;
    opts.ntaps = 1;

    /* no QMP socket */
    argv = qemu_command_build(def, &opts, &err);
    g_assert_null(argv);
    g_assert_error(err, ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_INVALID_ARG);
    test_assert_error_contains(err, "no QMP socket");
    g_clear_error(&err);

    /* both a path and an fd */
    opts.qmp_path = "/run/x.sock";
    opts.qmp_fd = 3;
    argv = qemu_command_build(def, &opts, &err);
    g_assert_null(argv);
    test_assert_error_contains(err, "both a QMP socket path and a QMP fd");
    g_clear_error(&err);
    opts.qmp_fd = -1;

    /* an accelerator QEMU does not have */
    opts.accel = "hvf";
    argv = qemu_command_build(def, &opts, &err);
    g_assert_null(argv);
    test_assert_error_contains(err, "accelerator 'hvf'");
    g_clear_error(&err);
    opts.accel = NULL;

    /* an empty incoming URI */
    opts.incoming = "";
    argv = qemu_command_build(def, &opts, &err);
    g_assert_null(argv);
    test_assert_error_contains(err, "incoming URI is empty");
    g_clear_error(&err);
    opts.incoming = NULL;

    /* vhost under tcg */
    tap.vhost_fd = 6;
    opts.accel = "tcg";
    argv = qemu_command_build(def, &opts, &err);
    g_assert_null(argv);
    test_assert_error_contains(err, "interface 'net0': vhost-net needs kvm");
    g_clear_error(&err);

    /* and the same options, fixed, build */
    opts.accel = "kvm";
    argv = qemu_command_build(def, &opts, &err);
    g_assert_no_error(err);
    g_assert_nonnull(argv);
    g_assert_true(
        g_strv_contains((const char *const *)argv, "tap,fd=5,vhost=on,vhostfd=6,id=hostnet0"));
    g_strfreev(argv);
}

/* ---------------------------------------------------------------- real QEMU */

typedef struct {
    char *dir; /* temp dir; removed at the end */
    char *subdir; /* "with,comma" inside it */
    char *kernel, *serial, *disk, *qmp, *log;
    Spawn *qemu;
    QemuMonitor *mon;
    /* the fds variant: what ferry would open and hand to QEMU (-1: none) */
    int qmp_fd, serial_fd, tap_fd;
} RealRun;

/* fd numbers in QEMU for the fds variant */
#define REAL_QMP_FD 4
#define REAL_SERIAL_FD 5
#define REAL_TAP_FD 6

static void real_run_clear(RealRun *run)
{
    g_autoptr(GError) err = NULL;

    ferry_fd_close(&run->qmp_fd);
    ferry_fd_close(&run->serial_fd);
    ferry_fd_close(&run->tap_fd);
    if (run->mon) {
        qemu_monitor_close(run->mon);
        g_clear_pointer(&run->mon, qemu_monitor_unref);
    }
    if (run->qemu) {
        /* Kill and reap on every path. */
        if (!spawn_kill_and_reap(run->qemu, REAL_KILL_GRACE_MS, NULL, &err))
            g_printerr("# cannot reap QEMU: %s\n", err->message);
        g_clear_pointer(&run->qemu, spawn_free);
    }
    if (run->log) {
        g_autofree char *text = NULL;

        if (g_file_get_contents(run->log, &text, NULL, NULL) && *text)
            g_test_message("QEMU's log:\n%s", text);
    }
    for (char **p = (char *[]){ run->kernel, run->serial, run->disk, run->qmp, run->log, NULL }; *p;
         p++)
        g_unlink(*p);
    if (run->subdir)
        g_rmdir(run->subdir);
    if (run->dir)
        g_rmdir(run->dir);
    g_free(run->dir);
    g_free(run->subdir);
    g_free(run->kernel);
    g_free(run->serial);
    g_free(run->disk);
    g_free(run->qmp);
    g_free(run->log);
}

/* Reads the serial file until a tick line with checks >= 1 and status=ok;
 * fails on a self-check failure, an error line or the deadline. */
static gboolean real_wait_for_check(RealRun *run, gint64 deadline, char **last, GError **error)
{
    while (g_get_monotonic_time() < deadline) {
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;
        SpawnStatus st = { 0 };

        if (g_file_get_contents(run->serial, &text, NULL, NULL)) {
            lines = g_strsplit(text, "\n", -1);
            for (gsize i = 0; lines[i]; i++) {
                const char *c;
                char *end = NULL;

                if (strstr(lines[i], "status=FAIL") ||
                    g_str_has_prefix(lines[i], "ferry-guest: error") ||
                    g_str_has_prefix(lines[i], "ferry-guest: fatal")) {
                    ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "the guest says: '%s'", lines[i]);
                    return FALSE;
                }
                /* the last line may be incomplete */
                if (!lines[i + 1] || !g_str_has_prefix(lines[i], "tick="))
                    continue;
                c = strstr(lines[i], " checks=");
                if (c && g_ascii_strtoull(c + 8, &end, 10) >= 1 && end &&
                    g_str_equal(end, " status=ok")) {
                    *last = g_strdup(lines[i]);
                    return TRUE;
                }
            }
        }
        if (spawn_wait(run->qemu, 0, &st, NULL)) {
            g_autofree char *how = spawn_status_describe(&st);
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "QEMU %s before the first self-check",
                       how);
            return FALSE;
        }
        g_usleep(100 * 1000);
    }
    ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
               "no completed self-check in the serial file within %d s (a hang guard)",
               (int)(REAL_DEADLINE_US / G_USEC_PER_SEC));
    return FALSE;
}

/* A listening UNIX socket at path, as the driver creates for QMP. */
static int real_listen(const char *path, GError **error)
{
    g_auto(FerryFd) fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    if (fd < 0 || strlen(path) >= sizeof(sun.sun_path)) {
        ferry_fail_errno(error, fd < 0 ? errno : ENAMETOOLONG, "QMP socket '%s'", path);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 1) < 0) {
        ferry_fail_errno(error, errno, "bind or listen on '%s'", path);
        return -1;
    }
    return ferry_fd_steal(&fd);
}

/* A tap device, or -1 when this host will not make one (no root, no
 * /dev/net/tun): the interface is then left out. */
static int real_open_tap(void)
{
    g_auto(FerryFd) fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };

    if (fd < 0) {
        g_test_message("no tap: /dev/net/tun: %s", g_strerror(errno));
        return -1;
    }
    g_strlcpy(ifr.ifr_name, "ferrytest%d", sizeof(ifr.ifr_name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        g_test_message("no tap: TUNSETIFF: %s", g_strerror(errno));
        return -1;
    }
    g_test_message("tap '%s' for interface net0", ifr.ifr_name);
    return ferry_fd_steal(&fd);
}

/* Everything that needs QEMU running; returns with QEMU still running (the
 * caller kills and reaps it in any case).  fds: QMP socket, serial file and
 * tap are opened here and passed as fds (-add-fd for the serial file), and
 * QEMU runs under -sandbox; otherwise QEMU opens paths itself. */
static gboolean real_run(RealRun *run, const char *guest, gboolean fds, GError **error)
{
    g_autofree char *xml = NULL;
    g_autoptr(DomainDef) def = NULL;
    QemuCommandOptions opts = QEMU_COMMAND_OPTIONS_INIT;
    g_auto(GStrv) argv = NULL;
    g_auto(GStrv) env = NULL;
    g_autofree char *line = NULL;
    g_autofree char *status = NULL;
    g_autofree char *qemu = g_find_program_in_path(QEMU_SYSTEM_X86_64);
    g_autofree char *timeout_path = g_find_program_in_path("timeout");
    g_autofree char *last = NULL;
    gboolean running = TRUE;
    g_autoptr(GError) quit_err = NULL;
    SpawnStatus st = { 0 };
    QemuCommandTapFd tap = { "net0", REAL_TAP_FD, -1 };
    QemuCommandChrFd serial = { "serial0", REAL_SERIAL_FD };
    g_autofree char *net_xml = NULL;

    run->dir = g_dir_make_tmp("ferry-cmd-XXXXXX", error);
    if (!run->dir)
        return FALSE;
    run->subdir = g_build_filename(run->dir, "with,comma", NULL);
    if (g_mkdir(run->subdir, 0700) < 0) {
        ferry_fail_errno(error, errno, "mkdir '%s'", run->subdir);
        return FALSE;
    }
    run->kernel = g_build_filename(run->subdir, "ferry,guest", NULL);
    run->serial = g_build_filename(run->subdir, "serial,0.log", NULL);
    run->disk = g_build_filename(run->subdir, "disk,1.raw", NULL);
    run->qmp = g_build_filename(run->subdir, "qmp.sock", NULL);
    run->log = g_build_filename(run->dir, "qemu.log", NULL);
    if (symlink(guest, run->kernel) < 0) {
        ferry_fail_errno(error, errno, "symlink '%s'", run->kernel);
        return FALSE;
    }
    if (!g_file_set_contents(run->disk, "", 0, error) || truncate(run->disk, 1 << 20) < 0) {
        if (error && !*error)
            ferry_fail_errno(error, errno, "truncate '%s'", run->disk);
        return FALSE;
    }

    if (fds) {
        run->qmp_fd = real_listen(run->qmp, error);
        if (run->qmp_fd < 0)
            return FALSE;
        run->serial_fd = open(run->serial, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (run->serial_fd < 0) {
            ferry_fail_errno(error, errno, "open '%s'", run->serial);
            return FALSE;
        }
        run->tap_fd = real_open_tap();
    }
    net_xml = g_strdup(run->tap_fd >= 0 ? "<interface type='ethernet'>"
                                          "<mac address='52:54:00:fe:00:01'/>"
                                          "<model type='virtio'/></interface>"
                                        : "");
    xml = g_markup_printf_escaped(
        "<domain type='qemu'>"
        "  <name>cmd,test</name>"
        "  <uuid>00000000-0000-4000-8000-0000000000cc</uuid>"
        "  <memory unit='MiB'>64</memory>"
        "  <vcpu>1</vcpu>"
        "  <os><type arch='x86_64' machine='pc'>hvm</type>"
        "    <kernel>%s</kernel><cmdline>mem=16 rate=0 seed=1</cmdline></os>"
        "  <on_reboot>destroy</on_reboot>"
        "  <devices>"
        "    <disk type='file' device='disk'><driver name='qemu' type='raw' cache='writeback'/>"
        "      <source file='%s'/><target dev='vda' bus='virtio'/></disk>"
        "    <serial type='file'><source path='%s' append='on'/><target port='0'/></serial>"
        "    <memballoon model='virtio'/>"
        "  </devices>"
        "</domain>",
        run->kernel, run->disk, run->serial);
    /* the interface is trusted markup, not a user string */
    if (*net_xml) {
        char *at = strstr(xml, "<memballoon");
        g_autofree char *head = g_strndup(xml, (gsize)(at - xml));
        char *joined = g_strconcat(head, net_xml, at, NULL);

        g_free(xml);
        xml = joined;
    }
    def = parse_domain(xml, error);
    if (!def)
        return FALSE;
    opts.emulator = qemu;
    opts.accel = "tcg";
    opts.qmp_path = fds ? NULL : run->qmp;
    opts.qmp_fd = fds ? REAL_QMP_FD : -1;
    opts.sandbox = fds;
    if (fds) {
        opts.chr_fds = &serial;
        opts.nchr_fds = 1;
    }
    if (run->tap_fd >= 0) {
        opts.taps = &tap;
        opts.ntaps = 1;
    }
    argv = qemu_command_build(def, &opts, error);
    if (!argv)
        return FALSE;
    env = qemu_command_build_env(run->dir);
    line = qemu_command_to_string((const char *const *)env, (const char *const *)argv);
    g_test_message("starting %s", line);

    /* coreutils' timeout is the last resort should this process die without
     * its cleanup: QEMU goes after two minutes in any case.  It passes our
     * SIGTERM on to QEMU and exits with QEMU's status. */
    if (timeout_path) {
        g_autoptr(GPtrArray) wrapped = g_ptr_array_new();

        g_ptr_array_add(wrapped, timeout_path);
        g_ptr_array_add(wrapped, (gpointer) "--kill-after=5");
        g_ptr_array_add(wrapped, (gpointer) "120");
        for (gsize i = 0; argv[i]; i++)
            g_ptr_array_add(wrapped, argv[i]);
        g_ptr_array_add(wrapped, NULL);
        run->qemu = spawn_new((const char *const *)wrapped->pdata);
    } else {
        run->qemu = spawn_new((const char *const *)argv);
    }
    qemu_command_env_apply(run->qemu, (const char *const *)env);
    if (run->qmp_fd >= 0)
        spawn_take_fd(run->qemu, ferry_fd_steal(&run->qmp_fd), REAL_QMP_FD);
    if (run->serial_fd >= 0)
        spawn_take_fd(run->qemu, ferry_fd_steal(&run->serial_fd), REAL_SERIAL_FD);
    if (run->tap_fd >= 0)
        spawn_take_fd(run->qemu, ferry_fd_steal(&run->tap_fd), REAL_TAP_FD);
    spawn_set_log_file(run->qemu, run->log);
    spawn_set_kill_grace(run->qemu, REAL_KILL_GRACE_MS);
    if (!spawn_start(run->qemu, error))
        return FALSE;

    run->mon = qemu_monitor_open_path(run->qmp, 30000, NULL, NULL, error);
    if (!run->mon)
        return FALSE;
    /* -S: the CPUs wait for us. */
    if (!qmp_query_status(run->mon, &running, &status, error))
        return FALSE;
    if (running || !g_str_equal(status, "prelaunch")) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "QEMU is '%s' before cont, not 'prelaunch'",
                   status);
        return FALSE;
    }
    if (!qmp_cont(run->mon, error))
        return FALSE;
    if (!real_wait_for_check(run, g_get_monotonic_time() + REAL_DEADLINE_US, &last, error))
        return FALSE;
    g_test_message("the guest runs: '%s'", last);

    if (!qmp_quit(run->mon, &quit_err))
        g_test_message("quit: %s", quit_err->message); /* EOF may win the race */
    if (!spawn_wait(run->qemu, 10000, &st, error))
        return FALSE;
    if (!spawn_status_success(&st)) {
        g_autofree char *how = spawn_status_describe(&st);
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "QEMU %s after quit", how);
        return FALSE;
    }
    return TRUE;
}

static void test_real_qemu(gconstpointer data)
{
    gboolean fds = GPOINTER_TO_INT(data);
    g_autofree char *qemu = g_find_program_in_path(QEMU_SYSTEM_X86_64);
    g_autofree char *guest =
        g_build_filename(top_builddir(), "tests", "guest", "ferry-guest", NULL);
    g_autoptr(GError) err = NULL;
    RealRun run = { .qmp_fd = -1, .serial_fd = -1, .tap_fd = -1 };
    gboolean ok;

    if (!qemu) {
        g_test_skip("qemu-system-x86_64 is not installed (" QEMU_SYSTEM_X86_64 ")");
        return;
    }
    if (!g_file_test(guest, G_FILE_TEST_IS_REGULAR)) {
        g_test_skip("the test guest is not built (make tests/guest/ferry-guest)");
        return;
    }
    g_assert_true(iothread_start(NULL));
    ok = real_run(&run, guest, fds, &err);
    real_run_clear(&run);
    iothread_stop();
    g_assert_no_error(err);
    g_assert_true(ok);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) names = NULL;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-command/escape", test_escape);
    g_test_add_func("/qemu-command/env", test_env);
    g_test_add_func("/qemu-command/bad-options", test_bad_options);

    names = test_data_list("argv", ".xml");
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_strdup_printf("/qemu-command/file/%s", (char *)names->pdata[i]);
        g_test_add_data_func(path, names->pdata[i], test_file);
    }
    g_test_add_data_func("/qemu-command/real-qemu", GINT_TO_POINTER(FALSE), test_real_qemu);
    g_test_add_data_func("/qemu-command/real-qemu-fds", GINT_TO_POINTER(TRUE), test_real_qemu);
    return g_test_run();
}
