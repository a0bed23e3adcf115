/*
 * test-spawn.c: starting, watching, killing and reaping processes.
 *
 * Most children are this test program itself, re-executed with --helper
 * and a list of actions (see helper_main()), so that the child can report
 * its fds, environment, directory, session and signal state.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "tests.spawn"

#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/spawn.h"

/* A limit for children that should end on their own: a hang guard, not a
 * timed assertion. */
#define TEST_TIMEOUT_MS 60000

static char *self_exe;

/* ------------------------------------------------------------ the helper child */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a;
    int y = *(const int *)b;

    return (x > y) - (x < y);
}

static void helper_list_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;
    int fds[256];
    int n = 0;

    if (!dir)
        exit(100);
    while ((ent = readdir(dir)) && n < (int)G_N_ELEMENTS(fds)) {
        int fd = atoi(ent->d_name);

        if (ent->d_name[0] != '.' && fd != dirfd(dir))
            fds[n++] = fd;
    }
    closedir(dir);
    qsort(fds, n, sizeof(int), cmp_int);
    printf("fds:");
    for (int i = 0; i < n; i++)
        printf(" %d", fds[i]);
    printf("\n");
}

static int helper_main(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        const char *act = argv[i];
        const char *arg = strchr(act, ':') ? strchr(act, ':') + 1 : "";

        if (g_str_equal(act, "list-fds")) {
            helper_list_fds();
        } else if (g_str_has_prefix(act, "write:")) {
            /* write:FD:TEXT */
            int fd = atoi(arg);
            const char *text = strchr(arg, ':') ? strchr(arg, ':') + 1 : "";

            if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
                return 101;
        } else if (g_str_has_prefix(act, "read:")) {
            char buf[256];
            ssize_t n = read(atoi(arg), buf, sizeof(buf) - 1);

            if (n < 0)
                return 102;
            buf[n] = '\0';
            printf("read %d: %s\n", atoi(arg), buf);
        } else if (g_str_has_prefix(act, "env:")) {
            const char *v = getenv(arg);

            printf("%s %s%s\n", arg, v ? "= " : "unset", v ? v : "");
        } else if (g_str_equal(act, "cwd")) {
            char buf[4096];

            if (!getcwd(buf, sizeof(buf)))
                return 103;
            printf("cwd: %s\n", buf);
        } else if (g_str_has_prefix(act, "stdout:")) {
            printf("%s\n", arg);
        } else if (g_str_has_prefix(act, "stderr:")) {
            fprintf(stderr, "%s\n", arg);
        } else if (g_str_equal(act, "sid")) {
            printf("session leader: %s\n", getsid(0) == getpid() ? "yes" : "no");
        } else if (g_str_equal(act, "signals")) {
            struct sigaction sa;
            sigset_t mask;

            sigaction(SIGUSR1, NULL, &sa);
            sigprocmask(SIG_SETMASK, NULL, &mask);
            printf("SIGUSR1 ignored: %s\n", sa.sa_handler == SIG_IGN ? "yes" : "no");
            printf("SIGUSR2 blocked: %s\n", sigismember(&mask, SIGUSR2) ? "yes" : "no");
        } else if (g_str_equal(act, "ignore-term")) {
            signal(SIGTERM, SIG_IGN);
        } else if (g_str_equal(act, "ready")) {
            printf("ready\n");
        } else if (g_str_equal(act, "sleep")) {
            for (;;)
                pause();
        } else if (g_str_has_prefix(act, "flood:")) {
            long n = atol(arg);

            for (long k = 0; k < n; k++)
                putchar('x');
        } else if (g_str_has_prefix(act, "exit:")) {
            fflush(stdout);
            fflush(stderr);
            return atoi(arg);
        } else {
            fprintf(stderr, "unknown helper action '%s'\n", act);
            return 104;
        }
        fflush(stdout);
        fflush(stderr);
    }
    return 0;
}

/* ------------------------------------------------------------ test utilities */

/* A Spawn of the helper with the given actions (NULL-terminated). */
static Spawn *helper_new(const char *first, ...) G_GNUC_NULL_TERMINATED;

static Spawn *helper_new(const char *first, ...)
{
    const char *argv[] = { self_exe, "--helper", NULL };
    Spawn *spawn = spawn_new(argv);
    va_list ap;

    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        spawn_add_arg(spawn, a);
    va_end(ap);
    return spawn;
}

static int count_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;
    int n = 0;

    g_assert_nonnull(dir);
    while ((ent = readdir(dir)))
        if (ent->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1;
}

/* waitpid() says the pid is no child of ours: it was reaped. */
static void assert_reaped(pid_t pid)
{
    g_assert_cmpint(pid, >, 0);
    g_assert_cmpint(waitpid(pid, NULL, WNOHANG), ==, -1);
    g_assert_cmpint(errno, ==, ECHILD);
}

static char *read_file(const char *path)
{
    g_autoptr(GError) err = NULL;
    char *text = NULL;

    g_file_get_contents(path, &text, NULL, &err);
    g_assert_no_error(err);
    return text;
}

/* Runs spawn to completion, expecting exit status 0; returns stdout. */
static char *run_ok(Spawn *spawn)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *errout = NULL;
    char *out = NULL;

    if (!spawn_run_capture(spawn, TEST_TIMEOUT_MS, 1 << 20, &out, &errout, NULL, &err))
        g_error("%s", err->message);
    g_assert_cmpstr(errout, ==, "");
    return out;
}

/* ------------------------------------------------------------ status */

static void test_status_describe(void)
{
    SpawnStatus st;
    g_autofree char *exited = NULL;
    g_autofree char *killed = NULL;
    g_autofree char *core = NULL;
    g_autofree char *none = NULL;

    spawn_status_from_wait(&st, 3 << 8);
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_EXITED);
    g_assert_cmpint(st.code, ==, 3);
    exited = spawn_status_describe(&st);
    g_assert_cmpstr(exited, ==, "exited with status 3");
    g_assert_false(spawn_status_success(&st));

    spawn_status_from_wait(&st, SIGKILL);
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_KILLED);
    g_assert_cmpint(st.code, ==, SIGKILL);
    killed = spawn_status_describe(&st);
    g_assert_cmpstr(killed, ==, "killed by signal 9 (Killed)");

    spawn_status_from_wait(&st, SIGSEGV | 0x80);
    g_assert_true(st.core_dumped);
    core = spawn_status_describe(&st);
    g_assert_cmpstr(core, ==, "killed by signal 11 (Segmentation fault), core dumped");

    memset(&st, 0, sizeof(st));
    none = spawn_status_describe(&st);
    g_assert_cmpstr(none, ==, "has not exited");

    spawn_status_from_wait(&st, 0);
    g_assert_true(spawn_status_success(&st));
    g_assert_true(spawn_status_check(&st, "x", NULL));
}

static void test_exit_status(void)
{
    g_autoptr(GError) err = NULL;
    SpawnStatus st;

    g_assert_true(spawn_run((const char *const[]){ "/bin/true", NULL }, TEST_TIMEOUT_MS, 16, NULL,
                            NULL, &st, &err));
    g_assert_no_error(err);
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_EXITED);
    g_assert_cmpint(st.code, ==, 0);

    g_assert_true(spawn_run((const char *const[]){ "false", NULL }, TEST_TIMEOUT_MS, 16, NULL, NULL,
                            &st, &err));
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_EXITED);
    g_assert_cmpint(st.code, ==, 1);

    g_autoptr(Spawn) spawn = helper_new("exit:3", NULL);
    g_assert_true(spawn_start(spawn, &err));
    g_assert_no_error(err);
    g_assert_true(spawn_is_running(spawn));
    g_assert_true(spawn_wait(spawn, TEST_TIMEOUT_MS, &st, &err));
    g_assert_no_error(err);
    g_assert_false(spawn_is_running(spawn));
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_EXITED);
    g_assert_cmpint(st.code, ==, 3);

    g_autofree char *desc = spawn_status_describe(&st);
    g_assert_cmpstr(desc, ==, "exited with status 3");
    g_assert_false(spawn_status_check(&st, "helper", &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_FAILED));
    g_assert_cmpstr(err->message, ==, "'helper' exited with status 3");

    /* reaped once; the status stays */
    memset(&st, 0, sizeof(st));
    g_assert_true(spawn_wait(spawn, 0, &st, NULL));
    g_assert_cmpint(st.code, ==, 3);
    assert_reaped(spawn_get_pid(spawn));
}

static void test_killed_by_signal(void)
{
    g_autoptr(Spawn) spawn = spawn_new((const char *const[]){ "/bin/sleep", "1000", NULL });
    g_autoptr(GError) err = NULL;
    SpawnStatus st;

    g_assert_true(spawn_start(spawn, &err));
    g_assert_true(spawn_kill(spawn, SIGKILL, &err));
    g_assert_true(spawn_wait(spawn, -1, &st, &err));
    g_assert_no_error(err);
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_KILLED);
    g_assert_cmpint(st.code, ==, SIGKILL);

    g_autofree char *desc = spawn_status_describe(&st);
    g_assert_cmpstr(desc, ==, "killed by signal 9 (Killed)");

    /* nothing left to signal */
    g_assert_false(spawn_kill(spawn, SIGTERM, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    g_assert_nonnull(strstr(err->message, "killed by signal 9"));
    assert_reaped(spawn_get_pid(spawn));
}

static gpointer start_sleeper(gpointer data)
{
    Spawn *spawn = data;
    g_autoptr(GError) err = NULL;

    g_assert_true(spawn_start(spawn, &err));
    g_assert_no_error(err);
    return NULL;
}

/* A child started with die-with-thread is killed when the thread that
 * started it ends; one without it runs on. */
static void test_die_with_thread(void)
{
    g_autoptr(Spawn) dies = spawn_new((const char *const[]){ "/bin/sleep", "1000", NULL });
    g_autoptr(Spawn) stays = spawn_new((const char *const[]){ "/bin/sleep", "1000", NULL });
    g_autoptr(GError) err = NULL;
    SpawnStatus st;

    spawn_set_die_with_thread(dies, TRUE);
    g_thread_join(g_thread_new("starter", start_sleeper, dies));
    g_thread_join(g_thread_new("starter", start_sleeper, stays));
    /* a hang guard, not a timed assertion */
    g_assert_true(spawn_wait(dies, 60000, &st, &err));
    g_assert_no_error(err);
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_KILLED);
    g_assert_cmpint(st.code, ==, SIGKILL);
    g_assert_false(spawn_wait(stays, 0, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT));
    g_assert_true(spawn_is_running(stays));
}

/* ------------------------------------------------------------ starting */

static void test_missing_binary(void)
{
    const char *missing = "/nonexistent/ferry-no-such-program";
    g_autoptr(Spawn) spawn = spawn_new((const char *const[]){ missing, "arg", NULL });
    g_autoptr(GError) err = NULL;
    int before = count_open_fds();

    g_assert_false(spawn_start(spawn, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_SYSTEM));
    g_assert_nonnull(strstr(err->message, missing));
    g_assert_nonnull(strstr(err->message, "No such file or directory"));
    g_assert_cmpint(spawn_get_pid(spawn), ==, -1);
    g_assert_cmpint(spawn_get_pidfd(spawn), ==, -1);
    g_assert_false(spawn_is_running(spawn));
    g_assert_cmpint(count_open_fds(), ==, before);
    g_clear_error(&err);

    /* waiting for what never started is refused */
    g_assert_false(spawn_wait(spawn, 0, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    g_clear_error(&err);

    /* a bare name is looked up in PATH, and named when not found */
    g_autoptr(Spawn) bare = spawn_new((const char *const[]){ "ferry-no-such-program-xyz", NULL });
    g_assert_false(spawn_start(bare, &err));
    g_assert_nonnull(strstr(err->message, "ferry-no-such-program-xyz"));
    g_clear_error(&err);

    /* a file that is not executable */
    g_autofree char *dir = g_dir_make_tmp("ferry-spawn-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "not-executable", NULL);
    g_assert_true(g_file_set_contents(path, "#!/bin/true\n", -1, NULL));
    g_assert_no_errno(chmod(path, 0600));
    g_autoptr(Spawn) noexec = spawn_new((const char *const[]){ path, NULL });
    g_assert_false(spawn_start(noexec, &err));
    g_assert_nonnull(strstr(err->message, path));
    g_assert_nonnull(strstr(err->message, "Permission denied"));
    g_unlink(path);
    g_rmdir(dir);
}

static void test_start_twice(void)
{
    g_autoptr(Spawn) spawn = spawn_new((const char *const[]){ "/bin/true", NULL });
    g_autoptr(GError) err = NULL;

    g_assert_true(spawn_start(spawn, &err));
    g_assert_false(spawn_start(spawn, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    g_assert_true(spawn_wait(spawn, TEST_TIMEOUT_MS, NULL, NULL));

    g_autoptr(Spawn) empty = spawn_new((const char *const[]){ NULL });
    g_clear_error(&err);
    g_assert_false(spawn_start(empty, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
}

static void test_argv_not_a_shell(void)
{
    g_autoptr(Spawn) spawn = spawn_new((const char *const[]){ "/bin/echo", NULL });

    spawn_add_arg(spawn, "two words");
    spawn_add_arg(spawn, "$HOME;exit 1|*");
    g_autofree char *out = run_ok(spawn);
    g_assert_cmpstr(out, ==, "two words $HOME;exit 1|*\n");
}

static void test_fds_at_chosen_numbers(void)
{
    g_autoptr(GError) err = NULL;
    g_auto(FerryFd) pipe_r = -1;
    g_auto(FerryFd) pipe_w = -1;
    int p[2];

    g_assert_no_errno(pipe2(p, O_CLOEXEC));
    pipe_r = p[0];
    pipe_w = p[1];

    /* a file the child reads at fd 9, given away */
    int mem = memfd_create("ferry-test", MFD_CLOEXEC);
    g_assert_cmpint(mem, >=, 0);
    g_assert_cmpint(write(mem, "nine", 4), ==, 4);
    g_assert_cmpint(lseek(mem, 0, SEEK_SET), ==, 0);

    /* an fd without close-on-exec that must not leak into the child */
    g_auto(FerryFd) leak = open("/dev/null", O_RDONLY);
    g_assert_cmpint(leak, >=, 0);

    g_autoptr(Spawn) spawn = helper_new("list-fds", "write:5:five", "read:9", NULL);
    spawn_pass_fd(spawn, pipe_w, 5);
    spawn_take_fd(spawn, mem, 9);
    g_autofree char *out = run_ok(spawn);

    g_assert_cmpstr(out, ==, "fds: 0 1 2 5 9\nread 9: nine\n");
    /* taken: closed in the parent once started */
    g_assert_cmpint(fcntl(mem, F_GETFD), ==, -1);
    g_assert_cmpint(errno, ==, EBADF);
    /* passed: still ours, and the child's fd 5 was its write end */
    g_assert_cmpint(fcntl(pipe_w, F_GETFD), >=, 0);
    ferry_fd_close(&pipe_w);
    char buf[16];
    ssize_t n = read(pipe_r, buf, sizeof(buf));
    g_assert_cmpint(n, ==, 4);
    g_assert_cmpmem(buf, 4, "five", 4);
    g_assert_cmpint(read(pipe_r, buf, sizeof(buf)), ==, 0);
}

static void test_fds_swapped(void)
{
    int a[2];
    int b[2];

    g_assert_no_errno(pipe2(a, O_CLOEXEC));
    g_assert_no_errno(pipe2(b, O_CLOEXEC));

    g_auto(FerryFd) a_r = a[0];
    g_auto(FerryFd) a_w = a[1];
    g_auto(FerryFd) b_r = b[0];
    g_auto(FerryFd) b_w = b[1];
    g_autofree char *to_a = g_strdup_printf("write:%d:to-a", b_w);
    g_autofree char *to_b = g_strdup_printf("write:%d:to-b", a_w);

    /* a's write end becomes the child's fd with b's number and the other
     * way round: each source is another's target */
    g_autoptr(Spawn) spawn = helper_new("list-fds", to_a, to_b, NULL);
    spawn_pass_fd(spawn, a_w, b_w);
    spawn_pass_fd(spawn, b_w, a_w);
    g_autofree char *out = run_ok(spawn);
    g_autofree char *expect = g_strdup_printf("fds: 0 1 2 %d %d\n", MIN(a_w, b_w), MAX(a_w, b_w));
    g_assert_cmpstr(out, ==, expect);

    char buf[16];
    g_assert_cmpint(read(a_r, buf, sizeof(buf)), ==, 4);
    g_assert_cmpmem(buf, 4, "to-a", 4);
    g_assert_cmpint(read(b_r, buf, sizeof(buf)), ==, 4);
    g_assert_cmpmem(buf, 4, "to-b", 4);
}

static void test_fd_errors(void)
{
    g_autoptr(GError) err = NULL;
    g_auto(FerryFd) null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    /* 0-2 are stdio */
    g_autoptr(Spawn) low = spawn_new((const char *const[]){ "/bin/true", NULL });
    spawn_pass_fd(low, null_fd, 1);
    g_assert_false(spawn_start(low, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
    g_assert_nonnull(strstr(err->message, "as fd 1"));
    g_clear_error(&err);

    /* two fds for one number */
    g_autoptr(Spawn) twice = spawn_new((const char *const[]){ "/bin/true", NULL });
    spawn_pass_fd(twice, null_fd, 7);
    spawn_pass_fd(twice, null_fd, 7);
    g_assert_false(spawn_start(twice, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
    g_assert_nonnull(strstr(err->message, "as fd 7"));
    g_clear_error(&err);

    /* a parent fd that is not open */
    g_assert_cmpint(fcntl(999, F_GETFD), ==, -1);
    g_autoptr(Spawn) closed = spawn_new((const char *const[]){ "/bin/true", NULL });
    spawn_pass_fd(closed, 999, 4);
    g_assert_false(spawn_start(closed, &err));
    g_assert_nonnull(strstr(err->message, "fd 999"));
    g_clear_error(&err);

    /* a refused fd that was given away is still closed */
    int dup_fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 3);
    g_autoptr(Spawn) taken = spawn_new((const char *const[]){ "/bin/true", NULL });
    spawn_take_fd(taken, dup_fd, 2);
    g_assert_cmpint(fcntl(dup_fd, F_GETFD), ==, -1);
    g_assert_false(spawn_start(taken, &err));
}

static void test_log_file(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("ferry-spawn-XXXXXX", NULL);
    g_autofree char *log = g_build_filename(dir, "vm.log", NULL);
    struct stat sb;
    SpawnStatus st;
    int before = count_open_fds();

    g_autoptr(Spawn) first = helper_new("stdout:out one", "stderr:err one", NULL);
    spawn_set_log_file(first, log);
    g_assert_true(spawn_start(first, &err));
    g_assert_true(spawn_wait(first, TEST_TIMEOUT_MS, &st, &err));
    g_assert_no_error(err);
    g_assert_true(spawn_status_success(&st));

    g_autofree char *text1 = read_file(log);
    g_assert_cmpstr(text1, ==, "out one\nerr one\n");
    g_assert_no_errno(stat(log, &sb));
    g_assert_cmpint(sb.st_mode & 0777, ==, 0600);

    /* appended, not truncated */
    g_autoptr(Spawn) second = helper_new("stderr:err two", NULL);
    spawn_set_log_file(second, log);
    g_assert_true(spawn_start(second, &err));
    g_assert_true(spawn_wait(second, TEST_TIMEOUT_MS, &st, &err));
    g_autofree char *text2 = read_file(log);
    g_assert_cmpstr(text2, ==, "out one\nerr one\nerr two\n");
    /* the log fd is not kept open; the pidfds stay until the Spawns go */
    g_assert_cmpint(count_open_fds(), ==, before + 2);
    g_clear_pointer(&first, spawn_free);
    g_clear_pointer(&second, spawn_free);
    g_assert_cmpint(count_open_fds(), ==, before);

    /* a log file that cannot be opened is named */
    g_autofree char *bad = g_build_filename(dir, "no-such-dir", "vm.log", NULL);
    g_autoptr(Spawn) third = helper_new("exit:0", NULL);
    spawn_set_log_file(third, bad);
    g_assert_false(spawn_start(third, &err));
    g_assert_nonnull(strstr(err->message, bad));

    g_unlink(log);
    g_rmdir(dir);
}

static void test_stdio_defaults_and_fds(void)
{
    g_autoptr(GError) err = NULL;
    int p[2];

    /* stdin is /dev/null: cat ends at once with nothing */
    g_autoptr(Spawn) cat = spawn_new((const char *const[]){ "/bin/cat", NULL });
    g_autofree char *out = run_ok(cat);
    g_assert_cmpstr(out, ==, "");

    /* stdin, stdout from given fds (stderr stays /dev/null) */
    g_assert_no_errno(pipe2(p, O_CLOEXEC));
    g_auto(FerryFd) in_r = p[0];
    g_auto(FerryFd) in_w = p[1];
    g_assert_no_errno(pipe2(p, O_CLOEXEC));
    g_auto(FerryFd) out_r = p[0];
    g_auto(FerryFd) out_w = p[1];

    g_autoptr(Spawn) echo = spawn_new((const char *const[]){ "/bin/cat", NULL });
    spawn_set_stdin_fd(echo, in_r);
    spawn_set_stdout_fd(echo, out_w);
    g_assert_true(spawn_start(echo, &err));
    g_assert_no_error(err);
    ferry_fd_close(&in_r);
    ferry_fd_close(&out_w);
    g_assert_cmpint(write(in_w, "piped", 5), ==, 5);
    ferry_fd_close(&in_w);

    char buf[16];
    g_assert_cmpint(read(out_r, buf, sizeof(buf)), ==, 5);
    g_assert_cmpmem(buf, 5, "piped", 5);
    g_assert_true(spawn_wait(echo, TEST_TIMEOUT_MS, NULL, &err));
}

static void test_environment(void)
{
    g_setenv("FERRY_TEST_KEPT", "kept", TRUE);
    g_setenv("FERRY_TEST_DROPPED", "dropped", TRUE);

    g_autoptr(Spawn) spawn =
        helper_new("env:FERRY_TEST_KEPT", "env:FERRY_TEST_DROPPED", "env:FERRY_TEST_ADDED", NULL);
    spawn_set_env(spawn, "FERRY_TEST_ADDED", "a=b c");
    spawn_set_env(spawn, "FERRY_TEST_DROPPED", NULL);
    g_autofree char *out = run_ok(spawn);
    g_assert_cmpstr(out, ==,
                    "FERRY_TEST_KEPT = kept\n"
                    "FERRY_TEST_DROPPED unset\n"
                    "FERRY_TEST_ADDED = a=b c\n");

    /* replaced whole */
    g_autoptr(Spawn) env = spawn_new((const char *const[]){ "/usr/bin/env", NULL });
    spawn_clear_env(env);
    spawn_set_env(env, "ONLY", "1");
    g_autofree char *only = run_ok(env);
    g_assert_cmpstr(only, ==, "ONLY=1\n");

    g_unsetenv("FERRY_TEST_KEPT");
    g_unsetenv("FERRY_TEST_DROPPED");

    g_autoptr(GError) err = NULL;
    g_autoptr(Spawn) bad = spawn_new((const char *const[]){ "/bin/true", NULL });
    spawn_set_env(bad, "A=B", "x");
    g_assert_false(spawn_start(bad, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
    g_assert_nonnull(strstr(err->message, "'A=B'"));
}

static void test_cwd(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("ferry-spawn-XXXXXX", NULL);
    g_autofree char *real = realpath(dir, NULL);

    g_autoptr(Spawn) spawn = helper_new("cwd", NULL);
    spawn_set_cwd(spawn, dir);
    g_autofree char *out = run_ok(spawn);
    g_autofree char *expect = g_strdup_printf("cwd: %s\n", real);
    g_assert_cmpstr(out, ==, expect);

    g_autofree char *missing = g_build_filename(dir, "gone", NULL);
    g_autoptr(Spawn) bad = helper_new("cwd", NULL);
    spawn_set_cwd(bad, missing);
    g_assert_false(spawn_start(bad, &err));
    g_assert_nonnull(strstr(err->message, missing));
    g_rmdir(dir);
}

static void test_new_session(void)
{
    g_autoptr(Spawn) plain = helper_new("sid", NULL);
    g_autofree char *out = run_ok(plain);
    g_assert_cmpstr(out, ==, "session leader: no\n");

    g_autoptr(Spawn) leader = helper_new("sid", NULL);
    spawn_set_new_session(leader, TRUE);
    g_autofree char *out2 = run_ok(leader);
    g_assert_cmpstr(out2, ==, "session leader: yes\n");
}

static void test_signals_reset(void)
{
    struct sigaction ign = { .sa_handler = SIG_IGN };
    struct sigaction old;
    sigset_t block;
    sigset_t old_mask;

    g_assert_no_errno(sigaction(SIGUSR1, &ign, &old));
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    g_assert_no_errno(sigprocmask(SIG_BLOCK, &block, &old_mask));

    g_autoptr(Spawn) spawn = helper_new("signals", NULL);
    g_autofree char *out = run_ok(spawn);

    g_assert_no_errno(sigprocmask(SIG_SETMASK, &old_mask, NULL));
    g_assert_no_errno(sigaction(SIGUSR1, &old, NULL));
    g_assert_cmpstr(out, ==, "SIGUSR1 ignored: no\nSIGUSR2 blocked: no\n");
}

/* ------------------------------------------------------------ watching and waiting */

typedef struct {
    Spawn *spawn;
    GMainLoop *loop;
    SpawnStatus status;
    int calls;
} ExitWatch;

static gboolean on_child_exit(int fd, GIOCondition cond, gpointer data)
{
    ExitWatch *w = data;
    g_autoptr(GError) err = NULL;

    w->calls++;
    g_assert_true(cond & G_IO_IN);
    g_assert_true(spawn_wait(w->spawn, 0, &w->status, &err));
    g_assert_no_error(err);
    g_main_loop_quit(w->loop);
    return G_SOURCE_REMOVE;
}

static gboolean on_hang(gpointer data)
{
    g_error("the child's exit was not seen in %d ms", TEST_TIMEOUT_MS);
    return G_SOURCE_REMOVE;
}

static void test_pidfd_in_main_loop(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_autoptr(GMainLoop) loop = g_main_loop_new(ctx, FALSE);
    int p[2];

    g_assert_no_errno(pipe2(p, O_CLOEXEC));
    g_auto(FerryFd) go_r = p[0];
    g_auto(FerryFd) go_w = p[1];

    /* the child waits for a byte on fd 3, then exits with 7 */
    g_autoptr(Spawn) spawn = helper_new("read:3", "exit:7", NULL);
    spawn_take_fd(spawn, ferry_fd_steal(&go_r), 3);
    g_assert_true(spawn_start(spawn, &err));
    g_assert_no_error(err);

    int pidfd = spawn_get_pidfd(spawn);
    g_assert_cmpint(pidfd, >=, 0);
    g_assert_cmpint(fcntl(pidfd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);

    ExitWatch w = { .spawn = spawn, .loop = loop };
    GSource *src = g_unix_fd_source_new(pidfd, G_IO_IN);
    g_source_set_callback(src, G_SOURCE_FUNC(on_child_exit), &w, NULL);
    g_source_attach(src, ctx);
    g_source_unref(src);
    GSource *guard = g_timeout_source_new(TEST_TIMEOUT_MS);
    g_source_set_callback(guard, on_hang, NULL, NULL);
    g_source_attach(guard, ctx);

    /* blocked on its read: no exit event yet */
    while (g_main_context_iteration(ctx, FALSE))
        ;
    g_assert_cmpint(w.calls, ==, 0);
    g_assert_true(spawn_is_running(spawn));

    g_assert_cmpint(write(go_w, "g", 1), ==, 1);
    g_main_loop_run(loop);
    g_source_destroy(guard);
    g_source_unref(guard);

    g_assert_cmpint(w.calls, ==, 1);
    g_assert_cmpint(w.status.kind, ==, SPAWN_EXIT_EXITED);
    g_assert_cmpint(w.status.code, ==, 7);
    g_assert_false(spawn_is_running(spawn));
    assert_reaped(spawn_get_pid(spawn));
}

static void test_wait_timeout(void)
{
    g_autoptr(Spawn) spawn = spawn_new((const char *const[]){ "/bin/sleep", "1000", NULL });
    g_autoptr(GError) err = NULL;
    SpawnStatus st;

    g_assert_true(spawn_start(spawn, &err));
    g_assert_false(spawn_wait(spawn, 50, &st, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT));
    g_assert_nonnull(strstr(err->message, "/bin/sleep"));
    g_assert_nonnull(strstr(err->message, "still running"));
    g_assert_true(spawn_is_running(spawn));
    g_clear_error(&err);

    g_assert_false(spawn_wait(spawn, 0, &st, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT));
    g_clear_error(&err);

    /* sleep dies of SIGTERM within the grace period */
    g_assert_true(spawn_kill_and_reap(spawn, TEST_TIMEOUT_MS, &st, &err));
    g_assert_no_error(err);
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_KILLED);
    g_assert_cmpint(st.code, ==, SIGTERM);
    assert_reaped(spawn_get_pid(spawn));
}

/* Starts the helper ignoring SIGTERM and waits until it says so. */
static Spawn *start_term_ignorer(void)
{
    g_autoptr(GError) err = NULL;
    int p[2];
    char buf[8];

    g_assert_no_errno(pipe2(p, O_CLOEXEC));
    g_auto(FerryFd) r = p[0];
    g_auto(FerryFd) w = p[1];
    Spawn *spawn = helper_new("ignore-term", "ready", "sleep", NULL);
    spawn_set_stdout_fd(spawn, w);
    g_assert_true(spawn_start(spawn, &err));
    g_assert_no_error(err);
    ferry_fd_close(&w);
    g_assert_cmpint(read(r, buf, sizeof(buf)), ==, 6);
    g_assert_cmpmem(buf, 6, "ready\n", 6);
    return spawn;
}

static void test_kill_and_reap_ignoring_sigterm(void)
{
    g_autoptr(Spawn) spawn = start_term_ignorer();
    g_autoptr(GError) err = NULL;
    SpawnStatus st;

    g_assert_true(spawn_kill_and_reap(spawn, 100, &st, &err));
    g_assert_no_error(err);
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_KILLED);
    g_assert_cmpint(st.code, ==, SIGKILL);
    g_assert_false(spawn_is_running(spawn));
    assert_reaped(spawn_get_pid(spawn));

    /* again: the same answer, nothing sent */
    memset(&st, 0, sizeof(st));
    g_assert_true(spawn_kill_and_reap(spawn, 100, &st, &err));
    g_assert_cmpint(st.code, ==, SIGKILL);
}

static void test_free_reaps(void)
{
    g_autoptr(GError) err = NULL;

    Spawn *sleeper = spawn_new((const char *const[]){ "/bin/sleep", "1000", NULL });
    g_assert_true(spawn_start(sleeper, &err));
    pid_t pid = spawn_get_pid(sleeper);
    spawn_free(sleeper);
    assert_reaped(pid);

    /* also one that ignores SIGTERM */
    Spawn *stubborn = start_term_ignorer();
    spawn_set_kill_grace(stubborn, 50);
    pid = spawn_get_pid(stubborn);
    spawn_free(stubborn);
    assert_reaped(pid);
}

static void test_detach(void)
{
    g_autoptr(GError) err = NULL;
    Spawn *spawn = spawn_new((const char *const[]){ "/bin/sleep", "1000", NULL });
    int pidfd = -1;
    int status = 0;

    g_assert_true(spawn_start(spawn, &err));
    pid_t pid = spawn_detach(spawn, &pidfd);
    g_assert_cmpint(pid, >, 0);
    g_assert_cmpint(pidfd, >=, 0);
    g_assert_cmpint(spawn_get_pid(spawn), ==, -1);
    g_assert_cmpint(spawn_get_pidfd(spawn), ==, -1);
    g_assert_false(spawn_wait(spawn, 0, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    g_assert_nonnull(strstr(err->message, "detached"));
    spawn_free(spawn);

    /* freeing the Spawn left the process alone */
    g_assert_cmpint(waitpid(pid, NULL, WNOHANG), ==, 0);
    g_assert_no_errno(kill(pid, 0));

    /* it is ours to end now */
    g_assert_no_errno(kill(pid, SIGKILL));
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFSIGNALED(status));
    close(pidfd);
}

/* ------------------------------------------------------------ run to completion */

static void test_run_capture(void)
{
    g_autoptr(GError) err = NULL;
    SpawnStatus st;
    int before = count_open_fds();

    g_autofree char *hello = NULL;
    g_autofree char *hello_err = NULL;
    g_assert_true(spawn_run((const char *const[]){ "/bin/echo", "hello", NULL }, TEST_TIMEOUT_MS,
                            64, &hello, &hello_err, NULL, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(hello, ==, "hello\n");
    g_assert_cmpstr(hello_err, ==, "");

    /* a failure is an error carrying stderr, unless the status is asked for */
    g_autoptr(Spawn) failing = helper_new("stdout:abc", "stderr:it broke", "exit:2", NULL);
    g_autofree char *out = NULL;
    g_assert_false(spawn_run_capture(failing, TEST_TIMEOUT_MS, 64, &out, NULL, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_FAILED));
    g_assert_nonnull(strstr(err->message, "exited with status 2: it broke"));
    g_assert_null(out);
    g_clear_error(&err);

    g_autoptr(Spawn) failing2 = helper_new("stdout:abc", "stderr:it broke", "exit:2", NULL);
    g_autofree char *out2 = NULL;
    g_autofree char *err2 = NULL;
    g_assert_true(spawn_run_capture(failing2, TEST_TIMEOUT_MS, 64, &out2, &err2, &st, &err));
    g_assert_no_error(err);
    g_assert_cmpint(st.kind, ==, SPAWN_EXIT_EXITED);
    g_assert_cmpint(st.code, ==, 2);
    g_assert_cmpstr(out2, ==, "abc\n");
    g_assert_cmpstr(err2, ==, "it broke\n");

    /* more than a pipe holds, read while the child writes */
    g_autoptr(Spawn) big = helper_new("flood:300000", NULL);
    g_autofree char *big_out = run_ok(big);
    g_assert_cmpuint(strlen(big_out), ==, 300000);
    g_assert_cmpint(big_out[299999], ==, 'x');

    /* nothing left open but the pidfds, until the Spawns go */
    g_assert_cmpint(count_open_fds(), ==, before + 3);
    g_clear_pointer(&failing, spawn_free);
    g_clear_pointer(&failing2, spawn_free);
    g_clear_pointer(&big, spawn_free);
    g_assert_cmpint(count_open_fds(), ==, before);
}

static void test_run_capture_limits(void)
{
    g_autoptr(GError) err = NULL;
    int before = count_open_fds();

    /* too much output: killed, reaped, refused */
    g_autoptr(Spawn) flood = helper_new("flood:100000", "sleep", NULL);
    g_autofree char *out = NULL;
    g_assert_false(spawn_run_capture(flood, TEST_TIMEOUT_MS, 1000, &out, NULL, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OVERFLOW));
    g_assert_nonnull(strstr(err->message, "stdout"));
    g_assert_nonnull(strstr(err->message, "1000 bytes"));
    g_assert_null(out);
    g_assert_false(spawn_is_running(flood));
    assert_reaped(spawn_get_pid(flood));
    g_clear_error(&err);

    /* too slow: killed, reaped, refused */
    g_autoptr(Spawn) slow = spawn_new((const char *const[]){ "/bin/sleep", "1000", NULL });
    g_assert_false(spawn_run_capture(slow, 100, 1000, NULL, NULL, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT));
    g_assert_nonnull(strstr(err->message, "did not finish within 100 ms"));
    g_assert_false(spawn_is_running(slow));
    assert_reaped(spawn_get_pid(slow));
    g_clear_error(&err);

    /* a missing program */
    g_assert_false(spawn_run((const char *const[]){ "/nonexistent/helper", NULL }, TEST_TIMEOUT_MS,
                             10, NULL, NULL, NULL, &err));
    g_assert_nonnull(strstr(err->message, "/nonexistent/helper"));

    g_clear_pointer(&flood, spawn_free);
    g_clear_pointer(&slow, spawn_free);
    g_assert_cmpint(count_open_fds(), ==, before);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && g_str_equal(argv[1], "--helper"))
        return helper_main(argc, argv);

    g_test_init(&argc, &argv, NULL);

    self_exe = g_file_read_link("/proc/self/exe", NULL);
    g_assert_nonnull(self_exe);

    g_test_add_func("/spawn/status-describe", test_status_describe);
    g_test_add_func("/spawn/exit-status", test_exit_status);
    g_test_add_func("/spawn/killed-by-signal", test_killed_by_signal);
    g_test_add_func("/spawn/missing-binary", test_missing_binary);
    g_test_add_func("/spawn/start-twice", test_start_twice);
    g_test_add_func("/spawn/argv-not-a-shell", test_argv_not_a_shell);
    g_test_add_func("/spawn/fds-at-chosen-numbers", test_fds_at_chosen_numbers);
    g_test_add_func("/spawn/fds-swapped", test_fds_swapped);
    g_test_add_func("/spawn/fd-errors", test_fd_errors);
    g_test_add_func("/spawn/log-file", test_log_file);
    g_test_add_func("/spawn/stdio", test_stdio_defaults_and_fds);
    g_test_add_func("/spawn/environment", test_environment);
    g_test_add_func("/spawn/cwd", test_cwd);
    g_test_add_func("/spawn/new-session", test_new_session);
    g_test_add_func("/spawn/signals-reset", test_signals_reset);
    g_test_add_func("/spawn/pidfd-in-main-loop", test_pidfd_in_main_loop);
    g_test_add_func("/spawn/wait-timeout", test_wait_timeout);
    g_test_add_func("/spawn/kill-and-reap-ignoring-sigterm", test_kill_and_reap_ignoring_sigterm);
    g_test_add_func("/spawn/free-reaps", test_free_reaps);
    g_test_add_func("/spawn/die-with-thread", test_die_with_thread);
    g_test_add_func("/spawn/detach", test_detach);
    g_test_add_func("/spawn/run-capture", test_run_capture);
    g_test_add_func("/spawn/run-capture-limits", test_run_capture_limits);

    int ret = g_test_run();
    g_free(self_exe);
    return ret;
}
