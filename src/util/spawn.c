/*
 * spawn.c: start a process from an argv, own it, wait for it, kill it and
 * always reap it.
 *
 * GLib's g_spawn_async_with_pipes_and_fds() forks and execs: it sets up
 * stdio, moves the handed-over fds to their numbers in the child, closes
 * every other fd and reports an exec failure back to us.  ferry adds a
 * pidfd to watch for the exit, a child that starts with default signal
 * dispositions, and the rule that an owned child is always reaped.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "util.spawn"

#include "error.h"
#include "fd.h"
#include "log.h"
#include "spawn.h"

/* How much of a failed helper's stderr goes into the error message. */
#define SPAWN_STDERR_IN_MESSAGE 512

typedef enum {
    SPAWN_STATE_NEW = 0, /* being built */
    SPAWN_STATE_FAILED, /* spawn_start() failed: there is no process */
    SPAWN_STATE_RUNNING, /* started, owned, not reaped */
    SPAWN_STATE_REAPED, /* reaped; status holds the outcome */
    SPAWN_STATE_DETACHED, /* given up with spawn_detach() */
} SpawnState;

typedef struct {
    int parent_fd;
    int child_fd;
    gboolean owned; /* close parent_fd once started */
} SpawnFd;

struct _Spawn {
    GPtrArray *argv; /* NULL-terminated */
    GPtrArray *env_names;
    GPtrArray *env_values; /* NULL entries unset the variable */
    gboolean env_clear;
    char *cwd;
    GArray *fds; /* SpawnFd */
    int stdin_fd; /* borrowed, -1: /dev/null */
    int stdout_fd;
    int stderr_fd;
    char *log_path;
    gboolean new_session;
    gboolean die_with_thread;
    int kill_grace_ms;
    GError *builder_error; /* the first bad argument, for spawn_start() */

    SpawnState state;
    pid_t pid;
    int pidfd;
    SpawnStatus status;
};

/* ------------------------------------------------------------ status */

void spawn_status_from_wait(SpawnStatus *status, int wstatus)
{
    memset(status, 0, sizeof(*status));
    if (WIFEXITED(wstatus)) {
        status->kind = SPAWN_EXIT_EXITED;
        status->code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        status->kind = SPAWN_EXIT_KILLED;
        status->code = WTERMSIG(wstatus);
        status->core_dumped = WCOREDUMP(wstatus) ? TRUE : FALSE;
    } else {
        status->kind = SPAWN_EXIT_NONE;
    }
}

char *spawn_status_describe(const SpawnStatus *status)
{
    switch (status->kind) {
    case SPAWN_EXIT_EXITED:
        return g_strdup_printf("exited with status %d", status->code);
    case SPAWN_EXIT_KILLED:
        return g_strdup_printf("killed by signal %d (%s)%s", status->code,
                               g_strsignal(status->code),
                               status->core_dumped ? ", core dumped" : "");
    case SPAWN_EXIT_NONE:
    case SPAWN_EXIT_LAST:
        break;
    }
    return g_strdup("has not exited");
}

gboolean spawn_status_success(const SpawnStatus *status)
{
    return status->kind == SPAWN_EXIT_EXITED && status->code == 0;
}

gboolean spawn_status_check(const SpawnStatus *status, const char *what, GError **error)
{
    if (spawn_status_success(status))
        return TRUE;

    g_autofree char *desc = spawn_status_describe(status);
    ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "'%s' %s", what, desc);
    return FALSE;
}

/* ------------------------------------------------------------ building */

static void spawn_builder_fail(Spawn *spawn, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void spawn_builder_fail(Spawn *spawn, const char *fmt, ...)
{
    va_list ap;

    if (spawn->builder_error)
        return; /* keep the first */
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ferry_fail(&spawn->builder_error, FERRY_ERR_INVALID_ARG, "%s", msg);
}

Spawn *spawn_new(const char *const *argv)
{
    Spawn *spawn = g_new0(Spawn, 1);

    spawn->argv = g_ptr_array_new_with_free_func(g_free);
    spawn->env_names = g_ptr_array_new_with_free_func(g_free);
    spawn->env_values = g_ptr_array_new_with_free_func(g_free);
    spawn->fds = g_array_new(FALSE, FALSE, sizeof(SpawnFd));
    spawn->stdin_fd = -1;
    spawn->stdout_fd = -1;
    spawn->stderr_fd = -1;
    spawn->kill_grace_ms = SPAWN_DEFAULT_KILL_GRACE_MS;
    spawn->state = SPAWN_STATE_NEW;
    spawn->pid = -1;
    spawn->pidfd = -1;

    for (gsize i = 0; argv && argv[i]; i++)
        g_ptr_array_add(spawn->argv, g_strdup(argv[i]));
    if (spawn->argv->len == 0 || *(const char *)spawn->argv->pdata[0] == '\0')
        spawn_builder_fail(spawn, "no program to run was given");
    g_ptr_array_add(spawn->argv, NULL);
    return spawn;
}

void spawn_add_arg(Spawn *spawn, const char *arg)
{
    if (spawn->state != SPAWN_STATE_NEW) {
        spawn_builder_fail(spawn, "argument '%s' added to '%s' after it started", arg,
                           spawn_get_program(spawn));
        return;
    }
    /* before the NULL terminator */
    g_ptr_array_insert(spawn->argv, (gint)spawn->argv->len - 1, g_strdup(arg));
}

static void spawn_close_owned_fds(Spawn *spawn)
{
    for (guint i = 0; i < spawn->fds->len; i++) {
        SpawnFd *sfd = &g_array_index(spawn->fds, SpawnFd, i);

        if (sfd->owned)
            ferry_fd_close(&sfd->parent_fd);
    }
}

void spawn_free(Spawn *spawn)
{
    if (!spawn)
        return;

    if (spawn->state == SPAWN_STATE_RUNNING) {
        g_autoptr(GError) err = NULL;

        FLOG_INFO("'%s' (pid %d) still belongs to a Spawn being freed: stopping it",
                  spawn_get_program(spawn), (int)spawn->pid);
        if (!spawn_kill_and_reap(spawn, spawn->kill_grace_ms, NULL, &err))
            FLOG_ERROR("%s", err->message);
    }

    spawn_close_owned_fds(spawn);
    ferry_fd_close(&spawn->pidfd);
    g_ptr_array_unref(spawn->argv);
    g_ptr_array_unref(spawn->env_names);
    g_ptr_array_unref(spawn->env_values);
    g_array_unref(spawn->fds);
    g_free(spawn->cwd);
    g_free(spawn->log_path);
    g_clear_error(&spawn->builder_error);
    g_free(spawn);
}

const char *spawn_get_program(const Spawn *spawn)
{
    const char *prog = spawn->argv->len > 1 ? spawn->argv->pdata[0] : NULL;

    return prog ? prog : "(no program)";
}

void spawn_set_env(Spawn *spawn, const char *name, const char *value)
{
    if (!name || !*name || strchr(name, '=')) {
        spawn_builder_fail(spawn, "invalid environment variable name '%s' for '%s'",
                           name ? name : "(null)", spawn_get_program(spawn));
        return;
    }
    g_ptr_array_add(spawn->env_names, g_strdup(name));
    g_ptr_array_add(spawn->env_values, g_strdup(value));
}

void spawn_clear_env(Spawn *spawn)
{
    spawn->env_clear = TRUE;
}

void spawn_set_cwd(Spawn *spawn, const char *dir)
{
    g_free(spawn->cwd);
    spawn->cwd = g_strdup(dir);
}

static void spawn_add_fd(Spawn *spawn, int parent_fd, int child_fd, gboolean owned)
{
    if (parent_fd < 0) {
        spawn_builder_fail(spawn, "no fd (%d) to hand to '%s' as fd %d", parent_fd,
                           spawn_get_program(spawn), child_fd);
        return;
    }
    if (child_fd < 3) {
        spawn_builder_fail(spawn,
                           "fd %d cannot be handed to '%s' as fd %d: "
                           "0, 1 and 2 are set as stdin, stdout and stderr",
                           parent_fd, spawn_get_program(spawn), child_fd);
        if (owned)
            ferry_fd_close(&parent_fd);
        return;
    }

    SpawnFd sfd = { .parent_fd = parent_fd, .child_fd = child_fd, .owned = owned };
    g_array_append_val(spawn->fds, sfd);
}

void spawn_pass_fd(Spawn *spawn, int parent_fd, int child_fd)
{
    spawn_add_fd(spawn, parent_fd, child_fd, FALSE);
}

void spawn_take_fd(Spawn *spawn, int parent_fd, int child_fd)
{
    spawn_add_fd(spawn, parent_fd, child_fd, TRUE);
}

static void spawn_set_stdio(Spawn *spawn, int *slot, int fd, const char *which)
{
    if (fd < -1) {
        spawn_builder_fail(spawn, "invalid fd %d for the %s of '%s'", fd, which,
                           spawn_get_program(spawn));
        return;
    }
    *slot = fd;
}

void spawn_set_stdin_fd(Spawn *spawn, int fd)
{
    spawn_set_stdio(spawn, &spawn->stdin_fd, fd, "stdin");
}

void spawn_set_stdout_fd(Spawn *spawn, int fd)
{
    spawn_set_stdio(spawn, &spawn->stdout_fd, fd, "stdout");
}

void spawn_set_stderr_fd(Spawn *spawn, int fd)
{
    spawn_set_stdio(spawn, &spawn->stderr_fd, fd, "stderr");
}

void spawn_set_log_file(Spawn *spawn, const char *path)
{
    g_free(spawn->log_path);
    spawn->log_path = g_strdup(path);
}

void spawn_set_new_session(Spawn *spawn, gboolean on)
{
    spawn->new_session = on;
}

void spawn_set_die_with_thread(Spawn *spawn, gboolean on)
{
    spawn->die_with_thread = on;
}

void spawn_set_kill_grace(Spawn *spawn, int grace_ms)
{
    spawn->kill_grace_ms = MAX(grace_ms, 0);
}

/* ------------------------------------------------------------ starting */

/* What the child does between fork and exec. */
typedef struct {
    gboolean new_session;
    gboolean die_with_thread;
    pid_t parent;
} SpawnChildSetup;

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void spawn_child_setup(gpointer data)
{
    const SpawnChildSetup *setup = data;
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigset_t none;

    /* Handlers are reset by exec, ignored signals are not; nor is the
     * signal mask.  A daemon that ignores SIGPIPE or blocks SIGTERM in a
     * thread must not pass that on to QEMU. */
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* EINVAL for libc's own: fine */
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (setup->new_session)
        setsid();
    if (setup->die_with_thread) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* the parent went before the line above: no signal will come */
        if (getppid() != setup->parent)
            _exit(127);
    }
}

/* Leaves *fd alone when it is -1 or above stdio; otherwise replaces it with
 * a close-on-exec copy above stdio, also stored in *tmp for the caller to
 * close.  GLib sets up the child's 0, 1 and 2 first, so a source fd among
 * them would be overwritten before it is used. */
static gboolean spawn_fd_above_stdio(int *fd, int *tmp, GError **error)
{
    if (*fd < 0 || *fd > 2)
        return TRUE;
    *tmp = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (*tmp < 0) {
        ferry_fail_errno(error, errno, "cannot duplicate fd %d", *fd);
        return FALSE;
    }
    *fd = *tmp;
    return TRUE;
}

static void spawn_close_fd_element(gpointer fdp)
{
    ferry_fd_close(fdp);
}

static char **spawn_build_env(const Spawn *spawn)
{
    if (!spawn->env_clear && spawn->env_names->len == 0)
        return NULL; /* the parent's, unchanged */

    char **envp = spawn->env_clear ? g_new0(char *, 1) : g_get_environ();

    for (guint i = 0; i < spawn->env_names->len; i++) {
        const char *name = spawn->env_names->pdata[i];
        const char *value = spawn->env_values->pdata[i];

        if (value)
            envp = g_environ_setenv(envp, name, value, TRUE);
        else
            envp = g_environ_unsetenv(envp, name);
    }
    return envp;
}

static gboolean spawn_check_fds(Spawn *spawn, GError **error)
{
    const char *prog = spawn_get_program(spawn);

    for (guint i = 0; i < spawn->fds->len; i++) {
        const SpawnFd *a = &g_array_index(spawn->fds, SpawnFd, i);

        if (fcntl(a->parent_fd, F_GETFD) < 0) {
            ferry_fail_errno(error, errno, "fd %d to hand to '%s' as fd %d", a->parent_fd, prog,
                             a->child_fd);
            return FALSE;
        }
        for (guint j = i + 1; j < spawn->fds->len; j++) {
            const SpawnFd *b = &g_array_index(spawn->fds, SpawnFd, j);

            if (a->child_fd == b->child_fd) {
                ferry_fail(error, FERRY_ERR_INVALID_ARG,
                           "fds %d and %d are both handed to '%s' as fd %d", a->parent_fd,
                           b->parent_fd, prog, a->child_fd);
                return FALSE;
            }
        }
    }
    return TRUE;
}

/* Everything of spawn_start() but the state change and closing the fds it
 * took. */
static gboolean spawn_do_start(Spawn *spawn, GError **error)
{
    const char *prog = spawn_get_program(spawn);
    g_auto(FerryFd) log_fd = -1;
    g_auto(FerryFd) tmp_in = -1;
    g_auto(FerryFd) tmp_out = -1;
    g_auto(FerryFd) tmp_err = -1;
    g_autoptr(GArray) tmp_fds = g_array_new(FALSE, FALSE, sizeof(int));
    g_autoptr(GError) gerr = NULL;
    GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH;
    int stdin_fd = spawn->stdin_fd;
    int stdout_fd = spawn->stdout_fd;
    int stderr_fd = spawn->stderr_fd;
    GPid pid = -1;

    g_array_set_clear_func(tmp_fds, spawn_close_fd_element);

    if (spawn->builder_error) {
        g_propagate_error(error, g_steal_pointer(&spawn->builder_error));
        return FALSE;
    }
    if (!spawn_check_fds(spawn, error))
        return FALSE;

    if (spawn->log_path && (stdout_fd < 0 || stderr_fd < 0)) {
        log_fd = open(spawn->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
        if (log_fd < 0) {
            ferry_fail_errno(error, errno, "cannot open log file '%s' for '%s'", spawn->log_path,
                             prog);
            return FALSE;
        }
        if (stdout_fd < 0)
            stdout_fd = log_fd;
        if (stderr_fd < 0)
            stderr_fd = log_fd;
    }

    if (!spawn_fd_above_stdio(&stdin_fd, &tmp_in, error) ||
        !spawn_fd_above_stdio(&stdout_fd, &tmp_out, error) ||
        !spawn_fd_above_stdio(&stderr_fd, &tmp_err, error))
        return FALSE;
    if (stdout_fd < 0)
        flags |= G_SPAWN_STDOUT_TO_DEV_NULL;
    if (stderr_fd < 0)
        flags |= G_SPAWN_STDERR_TO_DEV_NULL;
    /* stdin_fd -1 without G_SPAWN_CHILD_INHERITS_STDIN is /dev/null */

    guint n_fds = spawn->fds->len;
    g_autofree int *source_fds = g_new0(int, MAX(n_fds, 1));
    g_autofree int *target_fds = g_new0(int, MAX(n_fds, 1));
    for (guint i = 0; i < n_fds; i++) {
        const SpawnFd *sfd = &g_array_index(spawn->fds, SpawnFd, i);
        int tmp = -1;

        source_fds[i] = sfd->parent_fd;
        gboolean dup_ok = spawn_fd_above_stdio(&source_fds[i], &tmp, error);
        if (tmp >= 0)
            g_array_append_val(tmp_fds, tmp);
        if (!dup_ok)
            return FALSE;
        target_fds[i] = sfd->child_fd;
    }

    g_auto(GStrv) envp = spawn_build_env(spawn);
    SpawnChildSetup setup = { .new_session = spawn->new_session,
                              .die_with_thread = spawn->die_with_thread,
                              .parent = getpid() };

    FLOG_DEBUG("starting '%s' (%u args, %u fds, cwd %s, log %s%s)", prog, spawn->argv->len - 1,
               n_fds, spawn->cwd ? spawn->cwd : "inherited",
               spawn->log_path ? spawn->log_path : "none",
               spawn->new_session ? ", new session" : "");

    gboolean ok = g_spawn_async_with_pipes_and_fds(
        spawn->cwd, (const char *const *)spawn->argv->pdata, (const char *const *)envp, flags,
        spawn_child_setup, &setup, stdin_fd, stdout_fd, stderr_fd, source_fds, target_fds, n_fds,
        &pid, NULL, NULL, NULL, &gerr);

    g_array_set_size(tmp_fds, 0); /* closes them */

    if (!ok) {
        /* GLib has reaped the child that failed to exec. */
        ferry_fail(error, FERRY_ERR_SYSTEM, "cannot run '%s': %s", prog, gerr->message);
        return FALSE;
    }

    int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (pidfd < 0) {
        int err = errno;

        /* Without a pidfd the child cannot be watched: do not keep it. */
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        ferry_fail_errno(error, err, "cannot open a pidfd for '%s' (pid %d)", prog, (int)pid);
        return FALSE;
    }

    spawn->pid = pid;
    spawn->pidfd = pidfd;
    FLOG_DEBUG("started '%s' as pid %d", prog, (int)pid);
    return TRUE;
}

gboolean spawn_start(Spawn *spawn, GError **error)
{
    if (spawn->state != SPAWN_STATE_NEW) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "'%s' has already been started",
                   spawn_get_program(spawn));
        return FALSE;
    }

    gboolean ok = spawn_do_start(spawn, error);

    spawn->state = ok ? SPAWN_STATE_RUNNING : SPAWN_STATE_FAILED;
    spawn_close_owned_fds(spawn);
    return ok;
}

pid_t spawn_get_pid(const Spawn *spawn)
{
    return spawn->pid;
}

int spawn_get_pidfd(const Spawn *spawn)
{
    return spawn->pidfd;
}

gboolean spawn_is_running(const Spawn *spawn)
{
    return spawn->state == SPAWN_STATE_RUNNING;
}

/* ------------------------------------------------------------ waiting */

/* A deadline in monotonic microseconds; G_MAXINT64 for "never". */
static gint64 spawn_deadline(int timeout_ms)
{
    if (timeout_ms < 0)
        return G_MAXINT64;
    return g_get_monotonic_time() + (gint64)timeout_ms * 1000;
}

/* Milliseconds left until deadline, rounded up, for poll(): -1 forever. */
static int spawn_remaining_ms(gint64 deadline)
{
    if (deadline == G_MAXINT64)
        return -1;

    gint64 left = deadline - g_get_monotonic_time();
    if (left <= 0)
        return 0;
    return (int)MIN((left + 999) / 1000, G_MAXINT);
}

static gboolean spawn_not_running(const Spawn *spawn, GError **error)
{
    const char *prog = spawn_get_program(spawn);

    switch (spawn->state) {
    case SPAWN_STATE_NEW:
    case SPAWN_STATE_FAILED:
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "'%s' was not started", prog);
        break;
    case SPAWN_STATE_DETACHED:
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "'%s' was detached: it is no longer ours",
                   prog);
        break;
    case SPAWN_STATE_REAPED: {
        g_autofree char *desc = spawn_status_describe(&spawn->status);
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "'%s' (pid %d) has %s", prog,
                   (int)spawn->pid, desc);
        break;
    }
    case SPAWN_STATE_RUNNING:
        ferry_fail(error, FERRY_ERR_INTERNAL, "'%s' is running", prog);
        break;
    }
    return FALSE;
}

/* Waits on the pidfd until the child exits (*exited TRUE) or the deadline
 * passes (*exited FALSE). */
static gboolean spawn_poll_exit(Spawn *spawn, gint64 deadline, gboolean *exited, GError **error)
{
    *exited = FALSE;
    for (;;) {
        struct pollfd pfd = { .fd = spawn->pidfd, .events = POLLIN };
        int timeout = spawn_remaining_ms(deadline);
        int n = poll(&pfd, 1, timeout);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            ferry_fail_errno(error, errno, "cannot wait for '%s' (pid %d)",
                             spawn_get_program(spawn), (int)spawn->pid);
            return FALSE;
        }
        if (n > 0) {
            if (pfd.revents & POLLNVAL) {
                ferry_fail(error, FERRY_ERR_INTERNAL,
                           "the pidfd of '%s' (pid %d) was closed under it",
                           spawn_get_program(spawn), (int)spawn->pid);
                return FALSE;
            }
            *exited = TRUE;
            return TRUE;
        }
        if (timeout == 0)
            return TRUE;
    }
}

/* Reaps the child, which has exited (or is about to: waitpid blocks). */
static gboolean spawn_reap(Spawn *spawn, GError **error)
{
    const char *prog = spawn_get_program(spawn);
    int wstatus = 0;
    pid_t r;

    do {
        r = waitpid(spawn->pid, &wstatus, 0);
    } while (r < 0 && errno == EINTR);

    if (r < 0) {
        int err = errno;

        /* Whatever happened, the process is no longer ours to reap. */
        spawn->state = SPAWN_STATE_REAPED;
        memset(&spawn->status, 0, sizeof(spawn->status));
        if (err == ECHILD)
            ferry_fail(error, FERRY_ERR_INTERNAL, "'%s' (pid %d) was reaped by someone else", prog,
                       (int)spawn->pid);
        else
            ferry_fail_errno(error, err, "cannot reap '%s' (pid %d)", prog, (int)spawn->pid);
        return FALSE;
    }

    spawn_status_from_wait(&spawn->status, wstatus);
    spawn->state = SPAWN_STATE_REAPED;

    g_autofree char *desc = spawn_status_describe(&spawn->status);
    FLOG_DEBUG("'%s' (pid %d) %s", prog, (int)spawn->pid, desc);
    return TRUE;
}

gboolean spawn_wait(Spawn *spawn, int timeout_ms, SpawnStatus *status, GError **error)
{
    gboolean exited;

    if (spawn->state == SPAWN_STATE_REAPED) {
        if (status)
            *status = spawn->status;
        return TRUE;
    }
    if (spawn->state != SPAWN_STATE_RUNNING)
        return spawn_not_running(spawn, error);

    if (!spawn_poll_exit(spawn, spawn_deadline(timeout_ms), &exited, error))
        return FALSE;
    if (!exited) {
        ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT, "'%s' (pid %d) is still running after %d ms",
                   spawn_get_program(spawn), (int)spawn->pid, timeout_ms);
        return FALSE;
    }
    if (!spawn_reap(spawn, error))
        return FALSE;
    if (status)
        *status = spawn->status;
    return TRUE;
}

gboolean spawn_kill(Spawn *spawn, int sig, GError **error)
{
    if (spawn->state != SPAWN_STATE_RUNNING)
        return spawn_not_running(spawn, error);

    /* Not reaped yet, so the pid cannot have been reused. */
    if (kill(spawn->pid, sig) < 0) {
        ferry_fail_errno(error, errno, "cannot send signal %d (%s) to '%s' (pid %d)", sig,
                         g_strsignal(sig), spawn_get_program(spawn), (int)spawn->pid);
        return FALSE;
    }
    return TRUE;
}

gboolean spawn_kill_and_reap(Spawn *spawn, int grace_ms, SpawnStatus *status, GError **error)
{
    const char *prog = spawn_get_program(spawn);
    gboolean exited;

    if (spawn->state == SPAWN_STATE_REAPED) {
        if (status)
            *status = spawn->status;
        return TRUE;
    }
    if (spawn->state != SPAWN_STATE_RUNNING)
        return spawn_not_running(spawn, error);

    if (!spawn_kill(spawn, SIGTERM, error))
        return FALSE;
    if (!spawn_poll_exit(spawn, spawn_deadline(MAX(grace_ms, 0)), &exited, error))
        return FALSE;
    if (!exited) {
        FLOG_INFO("'%s' (pid %d) is still running %d ms after SIGTERM: sending SIGKILL", prog,
                  (int)spawn->pid, grace_ms);
        if (!spawn_kill(spawn, SIGKILL, error))
            return FALSE;
        /* SIGKILL cannot be caught: wait for as long as the kernel takes. */
        if (!spawn_poll_exit(spawn, G_MAXINT64, &exited, error))
            return FALSE;
    }
    if (!spawn_reap(spawn, error))
        return FALSE;
    if (status)
        *status = spawn->status;
    return TRUE;
}

pid_t spawn_detach(Spawn *spawn, int *pidfd_out)
{
    if (pidfd_out)
        *pidfd_out = -1;
    if (spawn->state != SPAWN_STATE_RUNNING)
        return -1;

    pid_t pid = spawn->pid;

    if (pidfd_out)
        *pidfd_out = ferry_fd_steal(&spawn->pidfd);
    else
        ferry_fd_close(&spawn->pidfd);
    spawn->state = SPAWN_STATE_DETACHED;
    spawn->pid = -1;
    FLOG_DEBUG("'%s' (pid %d) detached", spawn_get_program(spawn), (int)pid);
    return pid;
}

/* ------------------------------------------------------------ run to completion */

typedef struct {
    int fd; /* read end, -1 at EOF */
    GByteArray *buf;
    const char *name; /* "stdout" or "stderr" */
} SpawnCapture;

/* Reads what is there (the fd is non-blocking).  FALSE with *error on a
 * read error or when the output grows past max_output. */
static gboolean spawn_capture_read(Spawn *spawn, SpawnCapture *cap, gsize max_output,
                                   GError **error)
{
    char chunk[4096];

    while (cap->fd >= 0) {
        ssize_t n = read(cap->fd, chunk, sizeof(chunk));

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return TRUE;
            ferry_fail_errno(error, errno, "cannot read the %s of '%s'", cap->name,
                             spawn_get_program(spawn));
            return FALSE;
        }
        if (n == 0) {
            ferry_fd_close(&cap->fd);
            return TRUE;
        }
        if ((gsize)n > max_output - cap->buf->len) {
            ferry_fail(error, FERRY_ERR_OVERFLOW,
                       "the %s of '%s' is longer than %" G_GSIZE_FORMAT " bytes", cap->name,
                       spawn_get_program(spawn), max_output);
            return FALSE;
        }
        g_byte_array_append(cap->buf, (const guint8 *)chunk, (guint)n);
    }
    return TRUE;
}

/* Reads both streams until the child has exited and the pipes are empty. */
static gboolean spawn_capture_loop(Spawn *spawn, SpawnCapture *caps, int timeout_ms,
                                   gsize max_output, GError **error)
{
    gint64 deadline = spawn_deadline(timeout_ms);
    gboolean exited = FALSE;

    while (!exited) {
        struct pollfd pfd[3] = {
            { .fd = caps[0].fd, .events = POLLIN },
            { .fd = caps[1].fd, .events = POLLIN },
            { .fd = spawn->pidfd, .events = POLLIN },
        };
        int timeout = spawn_remaining_ms(deadline);
        int n = poll(pfd, G_N_ELEMENTS(pfd), timeout);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            ferry_fail_errno(error, errno, "cannot wait for the output of '%s'",
                             spawn_get_program(spawn));
            return FALSE;
        }
        if (n == 0 && timeout == 0) {
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "'%s' (pid %d) did not finish within %d ms", spawn_get_program(spawn),
                       (int)spawn->pid, timeout_ms);
            return FALSE;
        }
        if (pfd[2].revents)
            exited = TRUE;
        /* After the exit, whatever is left in the pipes is read once; a
         * grandchild that keeps them open is not waited for. */
        for (int i = 0; i < 2; i++) {
            if ((pfd[i].revents || exited) &&
                !spawn_capture_read(spawn, &caps[i], max_output, error))
                return FALSE;
        }
    }
    return TRUE;
}

/* "exited with status 1: <start of stderr>" for a failed helper. */
static void spawn_fail_status(Spawn *spawn, const SpawnStatus *st, const GByteArray *err_buf,
                              GError **error)
{
    g_autofree char *desc = spawn_status_describe(st);
    g_autofree char *text =
        g_strndup((const char *)err_buf->data, MIN(err_buf->len, SPAWN_STDERR_IN_MESSAGE));

    g_strstrip(text);
    if (*text)
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "'%s' %s: %s", spawn_get_program(spawn), desc,
                   text);
    else
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "'%s' %s", spawn_get_program(spawn), desc);
}

static char *spawn_capture_steal(GByteArray *buf)
{
    g_byte_array_append(buf, (const guint8 *)"", 1);
    return (char *)g_byte_array_free(buf, FALSE);
}

gboolean spawn_run_capture(Spawn *spawn, int timeout_ms, gsize max_output, char **out, char **err,
                           SpawnStatus *status, GError **error)
{
    g_auto(FerryFd) out_w = -1;
    g_auto(FerryFd) err_w = -1;
    g_autoptr(GByteArray) out_buf = g_byte_array_new();
    g_autoptr(GByteArray) err_buf = g_byte_array_new();
    g_autoptr(GError) first = NULL;
    SpawnCapture caps[2] = {
        { .fd = -1, .buf = out_buf, .name = "stdout" },
        { .fd = -1, .buf = err_buf, .name = "stderr" },
    };
    int p[2];
    SpawnStatus st;

    if (out)
        *out = NULL;
    if (err)
        *err = NULL;

    for (int i = 0; i < 2; i++) {
        if (pipe2(p, O_CLOEXEC) < 0) {
            ferry_fail_errno(error, errno, "cannot create a pipe for the %s of '%s'", caps[i].name,
                             spawn_get_program(spawn));
            ferry_fd_close(&caps[0].fd);
            return FALSE;
        }
        caps[i].fd = p[0];
        if (i == 0)
            out_w = p[1];
        else
            err_w = p[1];
    }

    spawn_set_stdin_fd(spawn, -1);
    spawn_set_stdout_fd(spawn, out_w);
    spawn_set_stderr_fd(spawn, err_w);
    g_clear_pointer(&spawn->log_path, g_free);

    if (!spawn_start(spawn, error)) {
        ferry_fd_close(&caps[0].fd);
        ferry_fd_close(&caps[1].fd);
        return FALSE;
    }
    /* Only the child holds the write ends now: EOF when it is done. */
    ferry_fd_close(&out_w);
    ferry_fd_close(&err_w);

    if (ferry_fd_set_nonblock(caps[0].fd, TRUE) < 0 || ferry_fd_set_nonblock(caps[1].fd, TRUE) < 0)
        ferry_fail_errno(&first, errno, "cannot read the output of '%s'", spawn_get_program(spawn));
    else
        spawn_capture_loop(spawn, caps, timeout_ms, max_output, &first);
    ferry_fd_close(&caps[0].fd);
    ferry_fd_close(&caps[1].fd);

    if (first) {
        g_autoptr(GError) cleanup = NULL;

        if (!spawn_kill_and_reap(spawn, spawn->kill_grace_ms, NULL, &cleanup))
            FLOG_WARN("%s", cleanup->message);
        g_propagate_error(error, g_steal_pointer(&first));
        return FALSE;
    }

    if (!spawn_wait(spawn, -1, &st, error))
        return FALSE;
    if (status)
        *status = st;
    else if (!spawn_status_success(&st)) {
        spawn_fail_status(spawn, &st, err_buf, error);
        return FALSE;
    }

    if (out)
        *out = spawn_capture_steal(g_steal_pointer(&out_buf));
    if (err)
        *err = spawn_capture_steal(g_steal_pointer(&err_buf));
    return TRUE;
}

gboolean spawn_run(const char *const *argv, int timeout_ms, gsize max_output, char **out,
                   char **err, SpawnStatus *status, GError **error)
{
    g_autoptr(Spawn) spawn = spawn_new(argv);

    return spawn_run_capture(spawn, timeout_ms, max_output, out, err, status, error);
}
