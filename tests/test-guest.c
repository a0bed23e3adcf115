/*
 * test-guest.c: the test guest (tests/guest/) under real QEMU.
 *
 * Migration tests trust the guest's serial lines to say whether memory
 * arrived intact, so this checks that the guest boots under tcg and kvm,
 * counts, dirties and completes self-check passes, that every periodic line
 * has exactly the documented format, that its self-check can fail (and then
 * stays failed), and that bad arguments end in a clear error line and a
 * powered-off VM rather than a hang.
 *
 * Each case runs QEMU inside one function that returns a GError and always
 * kills and reaps QEMU before returning; assertions come after that, so a
 * failing assertion never leaves a QEMU behind. Every wait is bounded by a
 * per-test deadline, which is a hang guard, not a timed assertion.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU

#include "util/error.h"
#include "util/fd.h"
#include "util/spawn.h"

#define TEST_DEADLINE_US (60 * G_USEC_PER_SEC)
#define SERIAL_LINE_MAX 4096
#define QEMU_KILL_GRACE_MS 2000
/* tick lines still wanted once a case's goal is reached: they keep coming */
#define LINES_AFTER_GOAL 5
#define NO_PAGE G_MAXUINT64

typedef enum { ACCEL_TCG, ACCEL_KVM, ACCEL_LAST } GuestAccel;

static const char *const accel_names[] = { "tcg", "kvm" };
G_STATIC_ASSERT(G_N_ELEMENTS(accel_names) == ACCEL_LAST);

/* ------------------------------------------------------------ a running guest */

typedef struct {
    Spawn *qemu;
    int serial_fd; /* read end of the pipe that is QEMU's stdout */
    GString *pending; /* bytes read after the last complete line */
    gint64 deadline; /* g_get_monotonic_time() */
    gboolean eof;
    guint lineno;
} GuestVm;

static void guest_vm_free(GuestVm *vm)
{
    if (!vm)
        return;
    spawn_free(vm->qemu); /* kills and reaps a QEMU that still runs */
    ferry_fd_close(&vm->serial_fd);
    g_string_free(vm->pending, TRUE);
    g_free(vm);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GuestVm, guest_vm_free)

static char *guest_kernel_path(void)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");

    if (!top || !*top)
        top = FERRY_TOP_BUILDDIR;
    return g_build_filename(top, "tests", "guest", "ferry-guest", NULL);
}

static char *qemu_binary(void)
{
    return g_find_program_in_path(QEMU_SYSTEM_X86_64);
}

/* KVM is usable when /dev/kvm opens read-write and will create a VM; on
 * failure *why says what stopped it. */
static gboolean kvm_usable(char **why)
{
    g_auto(FerryFd) kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    g_auto(FerryFd) vm = -1;
    int version;

    if (kvm < 0) {
        *why = g_strdup_printf("cannot open /dev/kvm read-write: %s", g_strerror(errno));
        return FALSE;
    }
    version = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (version < 0) {
        *why = g_strdup_printf("KVM_GET_API_VERSION on /dev/kvm failed: %s", g_strerror(errno));
        return FALSE;
    }
    if (version != KVM_API_VERSION) {
        *why = g_strdup_printf("/dev/kvm speaks API version %d, not %d", version, KVM_API_VERSION);
        return FALSE;
    }
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        *why = g_strdup_printf("KVM_CREATE_VM failed: %s", g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

static GuestVm *guest_vm_start(GuestAccel accel, guint ram_mib, const char *append, gint64 deadline,
                               GError **error)
{
    g_autoptr(GuestVm) vm = g_new0(GuestVm, 1);
    g_autofree char *qemu = qemu_binary();
    g_autofree char *kernel = guest_kernel_path();
    g_autofree char *ram = g_strdup_printf("%u", ram_mib);
    g_auto(FerryFd) pipe_read = -1;
    g_auto(FerryFd) pipe_write = -1;
    int fds[2];

    vm->serial_fd = -1;
    vm->pending = g_string_new(NULL);
    vm->deadline = deadline;

    if (!qemu) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "'%s' was not found", QEMU_SYSTEM_X86_64);
        return NULL;
    }
    if (!g_file_test(kernel, G_FILE_TEST_IS_REGULAR)) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "the test guest '%s' is missing (run make first)",
                   kernel);
        return NULL;
    }
    if (!g_unix_open_pipe(fds, FD_CLOEXEC, error))
        return NULL;
    pipe_read = fds[0];
    pipe_write = fds[1];

    /* -no-reboot: a guest that triple-faults ends QEMU instead of booting
     * again and repeating its lines; the serial port is QEMU's stdout. */
    vm->qemu = spawn_new(
        (const char *const[]){ qemu, "-machine", "pc", "-accel", accel_names[accel], "-m", ram,
                               "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
                               "-serial", "stdio", "-kernel", kernel, "-append", append, NULL });
    spawn_set_stdout_fd(vm->qemu, pipe_write);
    spawn_set_stderr_fd(vm->qemu, STDERR_FILENO); /* QEMU's complaints in the test log */
    spawn_set_kill_grace(vm->qemu, QEMU_KILL_GRACE_MS);
    g_test_message("starting %s -accel %s -m %s -kernel %s -append '%s'", qemu, accel_names[accel],
                   ram, kernel, append);
    if (!spawn_start(vm->qemu, error))
        return NULL;
    /* only QEMU may hold the write end, so that its exit reads as EOF */
    ferry_fd_close(&pipe_write);
    vm->serial_fd = ferry_fd_steal(&pipe_read);
    return g_steal_pointer(&vm);
}

/* The next serial line (without its '\n'), or NULL with an error when the
 * deadline passes, QEMU closes the port (vm->eof is then set), or a line
 * grows absurdly long. */
static char *guest_vm_read_line(GuestVm *vm, GError **error)
{
    for (;;) {
        char *nl = memchr(vm->pending->str, '\n', vm->pending->len);
        char buf[4096];
        struct pollfd pfd = { .fd = vm->serial_fd, .events = POLLIN };
        gint64 left_ms;
        ssize_t n;
        int rc;

        if (nl) {
            gsize len = (gsize)(nl - vm->pending->str);
            char *line = g_strndup(vm->pending->str, len);
            g_string_erase(vm->pending, 0, (gssize)len + 1);
            vm->lineno++;
            return line;
        }
        if (vm->pending->len > SERIAL_LINE_MAX) {
            ferry_fail(error, FERRY_ERR_OVERFLOW, "serial line %u is longer than %d bytes",
                       vm->lineno + 1, SERIAL_LINE_MAX);
            return NULL;
        }
        if (vm->eof) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "QEMU closed the serial port after %u lines%s%s", vm->lineno,
                       vm->pending->len ? ", leaving an unfinished line: " : "", vm->pending->str);
            return NULL;
        }

        left_ms = (vm->deadline - g_get_monotonic_time()) / 1000;
        if (left_ms <= 0) {
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "the test's %d s deadline passed while waiting for serial line %u",
                       (int)(TEST_DEADLINE_US / G_USEC_PER_SEC), vm->lineno + 1);
            return NULL;
        }
        rc = poll(&pfd, 1, (int)MIN(left_ms, G_MAXINT));
        if (rc < 0 && errno != EINTR) {
            ferry_fail_errno(error, errno, "poll on QEMU's serial port");
            return NULL;
        }
        if (rc <= 0)
            continue;
        n = read(vm->serial_fd, buf, sizeof(buf));
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            ferry_fail_errno(error, errno, "read from QEMU's serial port");
            return NULL;
        }
        if (n == 0)
            vm->eof = TRUE;
        if (n > 0)
            g_string_append_len(vm->pending, buf, n);
    }
}

/* ------------------------------------------------------------ the line format */

typedef struct {
    guint64 tick;
    guint64 dirtied;
    guint64 checks;
    guint64 fail_page; /* NO_PAGE for status=ok */
} TickLine;

/* Full match: one line, nothing before or after, decimal numbers without
 * leading zeros, and nothing but "ok" or "FAIL page=<p>" as the status. */
#define NUM "(0|[1-9][0-9]{0,19})"
static const char tick_line_pattern[] =
    "^tick=" NUM " dirtied=" NUM " checks=" NUM " status=(?:ok|FAIL page=" NUM ")$";
#undef NUM

static GRegex *tick_line_regex(void)
{
    static GRegex *regex;

    if (!regex) {
        g_autoptr(GError) err = NULL;
        /* RAW: serial bytes need not be UTF-8; DOLLAR_ENDONLY: "$" must not
         * match before a trailing newline */
        regex = g_regex_new(tick_line_pattern, G_REGEX_RAW | G_REGEX_DOLLAR_ENDONLY, 0, &err);
        g_assert_no_error(err);
    }
    return regex;
}

static gboolean parse_number(const char *s, guint64 *out)
{
    return g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT64, out, NULL);
}

/* TRUE and *out filled when line is a periodic line in the exact format. */
static gboolean tick_line_parse(const char *line, TickLine *out)
{
    g_autoptr(GMatchInfo) match = NULL;
    g_autofree char *tick = NULL;
    g_autofree char *dirtied = NULL;
    g_autofree char *checks = NULL;
    g_autofree char *page = NULL;

    if (!g_regex_match(tick_line_regex(), line, 0, &match))
        return FALSE;
    tick = g_match_info_fetch(match, 1);
    dirtied = g_match_info_fetch(match, 2);
    checks = g_match_info_fetch(match, 3);
    page = g_match_info_fetch(match, 4); /* "" when status=ok */
    if (!parse_number(tick, &out->tick) || !parse_number(dirtied, &out->dirtied) ||
        !parse_number(checks, &out->checks))
        return FALSE;
    out->fail_page = NO_PAGE;
    if (page && *page && !parse_number(page, &out->fail_page))
        return FALSE;
    return TRUE;
}

static void test_line_format(void)
{
    /* the parser itself: what must pass and what must not */
    static const struct {
        const char *line;
        gboolean ok;
    } cases[] = {
        { "tick=1 dirtied=0 checks=0 status=ok", TRUE },
        { "tick=12 dirtied=34 checks=5 status=FAIL page=123", TRUE },
        { "tick=12 dirtied=34 checks=5 status=FAIL page=0", TRUE },
        { "tick=1 dirtied=0 checks=0 status=ok ", FALSE },
        { " tick=1 dirtied=0 checks=0 status=ok", FALSE },
        { "tick=1 dirtied=0 checks=0 status=ok\r", FALSE },
        { "tick=1 dirtied=0 checks=0 status=ok\n", FALSE },
        { "tick=1  dirtied=0 checks=0 status=ok", FALSE },
        { "tick=01 dirtied=0 checks=0 status=ok", FALSE },
        { "tick=1 dirtied=-1 checks=0 status=ok", FALSE },
        { "tick=1 dirtied=0 checks=0 status=OK", FALSE },
        { "tick=1 dirtied=0 checks=0 status=FAIL", FALSE },
        { "tick=1 dirtied=0 checks=0 status=FAIL page=", FALSE },
        { "tick=1 dirtied=0 checks=0 status=ok page=3", FALSE },
        { "tick=1 dirtied=0 checks=0", FALSE },
        { "tick=99999999999999999999 dirtied=0 checks=0 status=ok", FALSE },
        { "ferry-guest: mem=16 rate=0 seed=1 pages=4096 data=0x00404000", FALSE },
    };
    TickLine t;

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        gboolean got = tick_line_parse(cases[i].line, &t);
        if (got != cases[i].ok)
            g_test_fail_printf("'%s': parsed %s, expected %s", cases[i].line,
                               got ? "as a tick line" : "as no tick line",
                               cases[i].ok ? "a tick line" : "no tick line");
    }
    g_assert_true(tick_line_parse("tick=7 dirtied=8 checks=9 status=FAIL page=10", &t));
    g_assert_cmpuint(t.tick, ==, 7);
    g_assert_cmpuint(t.dirtied, ==, 8);
    g_assert_cmpuint(t.checks, ==, 9);
    g_assert_cmpuint(t.fail_page, ==, 10);
    g_assert_true(tick_line_parse("tick=1 dirtied=2 checks=3 status=ok", &t));
    g_assert_cmpuint(t.fail_page, ==, NO_PAGE);
}

/* ------------------------------------------------------------ booting */

typedef struct {
    GuestAccel accel;
    guint ram_mib; /* QEMU -m */
    const char *append;
    guint64 min_checks; /* read until this many passes are done */
    gboolean dirties; /* rate > 0: dirtied must grow */
    guint64 fail_page; /* NO_PAGE, or the page that must show FAIL */
} BootCase;

/* What a run saw, for the assertions made once QEMU is gone. */
typedef struct {
    guint lines;
    TickLine first;
    TickLine last;
    guint ok_lines_before_fail;
    guint fail_lines;
    guint64 checks_at_first_fail;
} BootResult;

/* Check one serial line against everything seen before it. */
static gboolean boot_check_line(const BootCase *c, BootResult *r, const char *line, guint lineno,
                                GError **error)
{
    TickLine t;

    if (!tick_line_parse(line, &t)) {
        /* informative lines may come only before the first tick line */
        if (r->lines == 0 && g_str_has_prefix(line, "ferry-guest: ") &&
            !g_str_has_prefix(line, "ferry-guest: error") &&
            !g_str_has_prefix(line, "ferry-guest: fatal"))
            return TRUE;
        ferry_fail(error, FERRY_ERR_PARSE, "serial line %u is not %s: '%s'", lineno,
                   r->lines ? "a tick line in the exact format"
                            : "a tick line or a 'ferry-guest: ' banner",
                   line);
        return FALSE;
    }
    if (r->lines == 0) {
        if (t.tick != 1) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "the first tick line has tick=%" G_GUINT64_FORMAT ", not 1: '%s'", t.tick,
                       line);
            return FALSE;
        }
        r->first = t;
    } else {
        if (t.tick != r->last.tick + 1) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "tick went from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ": '%s'",
                       r->last.tick, t.tick, line);
            return FALSE;
        }
        if (t.dirtied < r->last.dirtied || t.checks < r->last.checks) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "a counter went backwards after '...dirtied=%" G_GUINT64_FORMAT
                       " checks=%" G_GUINT64_FORMAT "...': '%s'",
                       r->last.dirtied, r->last.checks, line);
            return FALSE;
        }
    }
    if (t.fail_page != NO_PAGE) {
        if (t.fail_page != c->fail_page) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "the self-check failed unexpectedly: '%s'", line);
            return FALSE;
        }
        if (r->fail_lines++ == 0)
            r->checks_at_first_fail = t.checks;
    } else if (r->fail_lines) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                   "status went back to ok after a failure: '%s'", line);
        return FALSE;
    } else {
        r->ok_lines_before_fail++;
    }
    r->lines++;
    r->last = t;
    return TRUE;
}

static gboolean boot_goal_reached(const BootCase *c, const BootResult *r)
{
    if (r->lines == 0 || r->last.checks < c->min_checks)
        return FALSE;
    if (c->dirties && r->last.dirtied <= r->first.dirtied)
        return FALSE;
    /* a failure must stay, through at least one more full pass and then
     * LINES_AFTER_GOAL more lines */
    return c->fail_page == NO_PAGE ||
           (r->fail_lines > 0 && r->last.checks > r->checks_at_first_fail);
}

static gboolean boot_run(const BootCase *c, BootResult *r, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + TEST_DEADLINE_US;
    g_autoptr(GuestVm) vm = guest_vm_start(c->accel, c->ram_mib, c->append, deadline, error);
    guint goal_line = 0;

    if (!vm)
        return FALSE;
    for (;;) {
        g_autofree char *line = guest_vm_read_line(vm, error);

        if (!line)
            return FALSE;
        if (!boot_check_line(c, r, line, vm->lineno, error))
            return FALSE;
        if (!goal_line && boot_goal_reached(c, r)) {
            g_test_message("goal reached at: %s", line);
            goal_line = r->lines;
        }
        if (goal_line && r->lines >= goal_line + LINES_AFTER_GOAL) {
            g_test_message("last line: %s", line);
            return TRUE;
        }
    }
}

static void test_boot(gconstpointer data)
{
    const BootCase *c = data;
    g_autoptr(GError) err = NULL;
    BootResult r = { 0 };
    gboolean ok;

    if (c->accel == ACCEL_KVM) {
        g_autofree char *why = NULL;
        if (!kvm_usable(&why)) {
            g_test_skip(why);
            return;
        }
    }
    {
        g_autofree char *qemu = qemu_binary();
        if (!qemu) {
            g_test_skip(QEMU_SYSTEM_X86_64 " is not installed");
            return;
        }
    }

    ok = boot_run(c, &r, &err); /* QEMU is gone when this returns */
    g_assert_no_error(err);
    g_assert_true(ok);
    g_assert_cmpuint(r.last.tick, >, r.first.tick);
    g_assert_cmpuint(r.last.checks, >=, c->min_checks);
    if (c->dirties)
        g_assert_cmpuint(r.last.dirtied, >, r.first.dirtied);
    if (c->fail_page == NO_PAGE) {
        g_assert_cmpuint(r.fail_lines, ==, 0);
    } else {
        /* ok first (the guest damages the page only after its first line),
         * then FAIL naming the page on every line to the end */
        g_assert_cmpuint(r.ok_lines_before_fail, >=, 1);
        g_assert_cmpuint(r.fail_lines, >=, LINES_AFTER_GOAL);
        g_assert_cmpuint(r.last.checks, >, r.checks_at_first_fail);
        g_assert_cmpuint(r.last.fail_page, ==, c->fail_page);
    }
}

/* tcg for guests that touch many MiB: this machine's kvm fills memory at a
 * few MB/s (it emulates the 32-bit guest), tcg at hundreds. */
static const BootCase boot_tcg = {
    ACCEL_TCG, 128, "mem=64 rate=2000 seed=7", 2, TRUE, NO_PAGE,
};
static const BootCase boot_kvm = {
    ACCEL_KVM, 32, "mem=4 rate=200 seed=7", 2, TRUE, NO_PAGE,
};
static const BootCase boot_corrupt = {
    ACCEL_TCG, 64, "mem=16 rate=500 seed=3 corrupt=123", 1, TRUE, 123,
};

/* ------------------------------------------------------------ bad arguments */

typedef struct {
    guint ram_mib;
    const char *append;
    const char *error_prefix; /* the error line starts with this */
} BadArgsCase;

static const BadArgsCase bad_args_cases[] = {
    { 64, "mem=abc",
      "ferry-guest: error: bad argument 'mem=abc': mem wants a whole number from 1 to 3072 "
      "(MiB of memory to fill)" },
    { 64, "mem=8 rate=-5",
      "ferry-guest: error: bad argument 'rate=-5': rate wants a whole number from 0 to " },
    { 64, "mem=8 frobnicate=1",
      "ferry-guest: error: unknown argument 'frobnicate=1' (known: mem= rate= seed= corrupt=)" },
    { 64, "mem=900",
      "ferry-guest: error: not enough RAM for mem=900: it needs usable RAM up to 905 MiB but "
      "usable RAM ends at " },
    { 64, "mem=16 corrupt=4096",
      "ferry-guest: error: bad argument 'corrupt=4096': the last page of mem=16 is 4095" },
};

/* Boot with bad arguments: the error line must come, no tick line, and the
 * guest must power off (QEMU exits 0) instead of hanging. */
static gboolean bad_args_run(const BadArgsCase *c, gint64 deadline, GError **error)
{
    g_autoptr(GuestVm) vm = guest_vm_start(ACCEL_TCG, c->ram_mib, c->append, deadline, error);
    gboolean seen = FALSE;
    SpawnStatus status;
    g_autofree char *how = NULL;

    if (!vm)
        return FALSE;
    for (;;) {
        g_autoptr(GError) read_err = NULL;
        g_autofree char *line = guest_vm_read_line(vm, &read_err);

        if (!line) {
            if (!vm->eof) {
                g_propagate_error(error, g_steal_pointer(&read_err));
                return FALSE;
            }
            break;
        }
        g_test_message("serial: %s", line);
        if (g_str_has_prefix(line, c->error_prefix)) {
            seen = TRUE;
        } else if (!g_str_has_prefix(line, "ferry-guest: ")) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "-append '%s': unexpected serial line '%s'", c->append, line);
            return FALSE;
        }
    }
    if (!seen) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "-append '%s': no line starting '%s'",
                   c->append, c->error_prefix);
        return FALSE;
    }
    /* EOF came, so QEMU is exiting; a hung exit is still bounded */
    if (!spawn_wait(vm->qemu, QEMU_KILL_GRACE_MS, &status, error))
        return FALSE;
    how = spawn_status_describe(&status);
    if (!spawn_status_success(&status)) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                   "-append '%s': QEMU %s instead of exiting 0 at power-off", c->append, how);
        return FALSE;
    }
    return TRUE;
}

static void test_bad_args(void)
{
    gint64 deadline = g_get_monotonic_time() + TEST_DEADLINE_US;
    g_autofree char *qemu = qemu_binary();

    if (!qemu) {
        g_test_skip(QEMU_SYSTEM_X86_64 " is not installed");
        return;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(bad_args_cases); i++) {
        g_autoptr(GError) err = NULL;
        gboolean ok = bad_args_run(&bad_args_cases[i], deadline, &err);

        g_assert_no_error(err);
        g_assert_true(ok);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/guest/line-format", test_line_format);
    g_test_add_data_func("/guest/boot-tcg", &boot_tcg, test_boot);
    g_test_add_data_func("/guest/boot-kvm", &boot_kvm, test_boot);
    g_test_add_data_func("/guest/corrupt", &boot_corrupt, test_boot);
    g_test_add_func("/guest/bad-args", test_bad_args);
    return g_test_run();
}
