/*
 * spawn.h: start a process from an argv (never through a shell), own it,
 * wait for it, kill it and always reap it.
 *
 *     g_autoptr(Spawn) qemu = spawn_new((const char *const[]){
 *         QEMU_SYSTEM_X86_64, "-S", "-incoming", "defer", NULL });
 *     spawn_set_log_file(qemu, "/run/ferry/web1.log");
 *     spawn_take_fd(qemu, ferry_fd_steal(&tap), 3);   // the child's fd 3
 *     spawn_set_new_session(qemu, TRUE);
 *     if (!spawn_start(qemu, error))
 *         return FALSE;
 *     // watch spawn_get_pidfd(qemu) for G_IO_IN from a GMainContext; on
 *     // the event call spawn_wait(qemu, 0, &status, NULL) to reap it.
 *
 * The builder calls (spawn_set_*, spawn_pass_fd, ...) never fail: a bad
 * argument is remembered and spawn_start() reports it.
 *
 * The child gets: its argv; the parent's environment with the changes made
 * here (after spawn_clear_env(), only those changes); stdin from /dev/null,
 * stdout and stderr to /dev/null unless a log file or fds are given; exactly
 * the fds 0, 1, 2 and the ones handed over with spawn_pass_fd() or
 * spawn_take_fd(), every other fd is closed; every signal at its default
 * disposition and none blocked.
 *
 * A Spawn that still owns a running child kills (SIGTERM, then SIGKILL after
 * the grace period) and reaps it when it is freed.  spawn_detach() gives the
 * process up instead, for QEMUs that must outlive the daemon.
 *
 * A Spawn belongs to one thread at a time.
 */
#pragma once

#include <sys/types.h>

#include <glib.h>

/* How long a child has between SIGTERM and SIGKILL unless told otherwise. */
#define SPAWN_DEFAULT_KILL_GRACE_MS 5000

typedef enum {
    SPAWN_EXIT_NONE = 0, /* not reaped (yet), or unknown */
    SPAWN_EXIT_EXITED, /* ended with exit(code) */
    SPAWN_EXIT_KILLED, /* ended by signal number code */
    SPAWN_EXIT_LAST
} SpawnExitKind;

typedef struct {
    SpawnExitKind kind;
    int code; /* exit status for EXITED, signal for KILLED */
    gboolean core_dumped; /* KILLED only */
} SpawnStatus;

/* From a status as waitpid() reports it. */
void spawn_status_from_wait(SpawnStatus *status, int wstatus);
/* "exited with status 3", "killed by signal 9 (Killed)",
 * "killed by signal 11 (Segmentation fault), core dumped". */
char *spawn_status_describe(const SpawnStatus *status);
/* TRUE when the process exited with status 0. */
gboolean spawn_status_success(const SpawnStatus *status);
/* FALSE with "'what' exited with status 1" (FERRY_ERR_OPERATION_FAILED)
 * unless the process exited with status 0. */
gboolean spawn_status_check(const SpawnStatus *status, const char *what, GError **error);

typedef struct _Spawn Spawn;

/* argv[0] is the program: a path, or a bare name looked up in PATH.
 * argv is copied. */
Spawn *spawn_new(const char *const *argv);
/* Appends one argument (before spawn_start()). */
void spawn_add_arg(Spawn *spawn, const char *arg);
/* Kills and reaps a child that is still owned and running.  NULL is fine. */
void spawn_free(Spawn *spawn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Spawn, spawn_free)

/* The program, for messages. */
const char *spawn_get_program(const Spawn *spawn);

/* Environment: value NULL removes the variable.  spawn_clear_env() starts
 * from an empty environment instead of the parent's; changes made before or
 * after it apply on top. */
void spawn_set_env(Spawn *spawn, const char *name, const char *value);
void spawn_clear_env(Spawn *spawn);
void spawn_set_cwd(Spawn *spawn, const char *dir);

/* Hands parent_fd to the child as child_fd (3 or more; 0-2 are set with
 * the stdio calls below).  spawn_pass_fd() borrows parent_fd: it must stay
 * open until spawn_start() returns.  spawn_take_fd() takes it and closes it
 * in the parent once spawn_start() has run (or when the Spawn is freed). */
void spawn_pass_fd(Spawn *spawn, int parent_fd, int child_fd);
void spawn_take_fd(Spawn *spawn, int parent_fd, int child_fd);

/* Stdio.  The fds are borrowed (kept open by the caller until spawn_start()
 * returns); -1 restores the default (/dev/null).  spawn_set_log_file()
 * appends stdout and stderr to path (created 0600); an explicit stdout or
 * stderr fd wins over it for that stream. */
void spawn_set_stdin_fd(Spawn *spawn, int fd);
void spawn_set_stdout_fd(Spawn *spawn, int fd);
void spawn_set_stderr_fd(Spawn *spawn, int fd);
void spawn_set_log_file(Spawn *spawn, const char *path);

/* setsid() in the child: it leads a new session, without a controlling
 * terminal, so the parent's terminal signals do not reach it. */
void spawn_set_new_session(Spawn *spawn, gboolean on);
/* The child gets SIGKILL when the thread that starts it ends, or the
 * process: for a helper whose whole life is one call on one thread (the
 * capability probe's QEMU), so that a crash of ours leaves none behind.
 * Never for a child that must outlive its starter (a domain's QEMU). */
void spawn_set_die_with_thread(Spawn *spawn, gboolean on);
/* Time between SIGTERM and SIGKILL in spawn_free() (default
 * SPAWN_DEFAULT_KILL_GRACE_MS). */
void spawn_set_kill_grace(Spawn *spawn, int grace_ms);

/* Starts the child.  Fails with the builder's first bad argument, or when
 * the program cannot be executed (the message names it).  Once only. */
gboolean spawn_start(Spawn *spawn, GError **error);

/* -1 before spawn_start() and after spawn_detach(). */
pid_t spawn_get_pid(const Spawn *spawn);
/* A pidfd (close-on-exec) that becomes readable (G_IO_IN) when the child
 * exits; owned by the Spawn and valid until it is freed or detached, even
 * after the child is reaped (remove any watch on it before that).  -1 when
 * there is none. */
int spawn_get_pidfd(const Spawn *spawn);
/* TRUE from spawn_start() until the child is reaped or detached. */
gboolean spawn_is_running(const Spawn *spawn);

/* Waits up to timeout_ms (-1: forever, 0: just check) for the child to
 * exit, reaps it and fills *status (may be NULL).  Once reaped, returns the
 * same status again.  A child still running after timeout_ms fails with
 * FERRY_ERR_OPERATION_TIMEOUT and stays owned. */
gboolean spawn_wait(Spawn *spawn, int timeout_ms, SpawnStatus *status, GError **error);
/* Sends sig to the child (a running or exited but not yet reaped one). */
gboolean spawn_kill(Spawn *spawn, int sig, GError **error);
/* SIGTERM, waits up to grace_ms, then SIGKILL, then reaps: the child is
 * reaped when this returns, whatever it did with SIGTERM (it waits for as
 * long as a SIGKILLed process takes to end).  Fills *status (may be NULL).
 * A child that has already been reaped just gives its status. */
gboolean spawn_kill_and_reap(Spawn *spawn, int grace_ms, SpawnStatus *status, GError **error);
/* The Spawn stops owning the child, which keeps running: freeing the Spawn
 * no longer kills it, and reaping it is now the caller's business.  Returns
 * the pid (-1 when there is no running child); *pidfd_out, when not NULL,
 * receives the pidfd (the caller closes it), otherwise it is closed. */
pid_t spawn_detach(Spawn *spawn, int *pidfd_out);

/* Runs spawn to completion: stdin from /dev/null, stdout and stderr
 * captured (whatever stdout/stderr/log file it had set is replaced).
 * Each stream may hold up to max_output bytes; more fails with
 * FERRY_ERR_OVERFLOW.  A child still running after timeout_ms (-1: no limit)
 * is killed and the call fails with FERRY_ERR_OPERATION_TIMEOUT.  Whenever
 * this returns, the child has been reaped.  *out and *err (either may be
 * NULL) receive the NUL-terminated output.  With status NULL, anything but
 * exit status 0 is an error whose message includes the start of stderr;
 * otherwise *status receives the outcome and any exit status is success. */
gboolean spawn_run_capture(Spawn *spawn, int timeout_ms, gsize max_output, char **out, char **err,
                           SpawnStatus *status, GError **error);
/* The same for a bare argv. */
gboolean spawn_run(const char *const *argv, int timeout_ms, gsize max_output, char **out,
                   char **err, SpawnStatus *status, GError **error);
