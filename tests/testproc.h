/*
 * testproc.h: finding (and killing) the processes a test left behind.
 *
 * A test names its processes by something only they carry, normally its
 * temporary root.  A process names it when its command line or its
 * environment contains it: QEMU's command line need not (its monitor and
 * serial come as fds), but its HOME is under the root.  Zombies count as
 * gone, and the calling process never counts.  GLib only, no ferry
 * library, so that every test program can link it.
 */
#pragma once

#include <sys/types.h>

#include <glib.h>

/* TRUE when pid exists and is not a zombie. */
gboolean test_process_alive(pid_t pid);
/* TRUE when pid's command line (its arguments joined by spaces)
 * contains needle. */
gboolean test_process_cmdline_has(pid_t pid, const char *needle);
/* TRUE when pid's environment ("NAME=VALUE" strings joined by spaces)
 * contains needle. */
gboolean test_process_environ_has(pid_t pid, const char *needle);
/* The pids (pid_t) of the live processes other than this one whose
 * command line or environment contains needle (g_array_unref). */
GArray *test_processes_naming(const char *needle);
/* SIGKILLs pid, then waits (bounded) until it is gone, reaping it when
 * it is a child of this process. */
void test_kill_process(pid_t pid);
/* SIGKILLs each process of test_processes_naming(needle) as
 * test_kill_process does, telling stderr about each one ("# " lines),
 * and returns how many there were: a test expects 0. */
guint test_kill_processes_naming(const char *needle);
