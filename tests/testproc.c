/*
 * testproc.c: finding (and killing) the processes a test left behind.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testproc.h"

/* How long test_kill_process waits for a killed process to be gone: a
 * hang guard, SIGKILL takes far less. */
#define KILL_WAIT_MS 10000
#define KILL_POLL_US (10 * 1000)

/* /proc/PID/name with its NULs turned into spaces, or NULL when it
 * cannot be read or is empty. */
static char *proc_text(pid_t pid, const char *name, gsize *len)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/%s", (int)pid, name);
    g_autofree char *text = NULL;

    *len = 0;
    if (!g_file_get_contents(path, &text, len, NULL) || *len == 0)
        return NULL;
    for (gsize i = 0; i < *len; i++) {
        if (text[i] == '\0')
            text[i] = ' ';
    }
    return g_steal_pointer(&text);
}

static gboolean proc_text_has(pid_t pid, const char *name, const char *needle)
{
    gsize len = 0;
    g_autofree char *text = proc_text(pid, name, &len);

    return text && g_strstr_len(text, (gssize)len, needle) != NULL;
}

gboolean test_process_alive(pid_t pid)
{
    g_autofree char *path = NULL;
    g_autofree char *stat = NULL;
    const char *paren;

    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return FALSE;
    /* "PID (COMM) STATE ...": COMM may hold anything, even ") Z ". */
    path = g_strdup_printf("/proc/%d/stat", (int)pid);
    if (!g_file_get_contents(path, &stat, NULL, NULL))
        return FALSE; /* gone between the two looks */
    paren = strrchr(stat, ')');
    return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

gboolean test_process_cmdline_has(pid_t pid, const char *needle)
{
    return proc_text_has(pid, "cmdline", needle);
}

gboolean test_process_environ_has(pid_t pid, const char *needle)
{
    return proc_text_has(pid, "environ", needle);
}

GArray *test_processes_naming(const char *needle)
{
    GArray *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *entry;

    g_return_val_if_fail(needle && *needle, pids);
    while (dir && (entry = g_dir_read_name(dir))) {
        char *end = NULL;
        long num = strtol(entry, &end, 10);
        pid_t pid = (pid_t)num;

        if (!end || *end || num <= 0 || pid == getpid())
            continue;
        if (!test_process_cmdline_has(pid, needle) && !test_process_environ_has(pid, needle))
            continue;
        if (!test_process_alive(pid))
            continue;
        g_array_append_val(pids, pid);
    }
    return pids;
}

void test_kill_process(pid_t pid)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)KILL_WAIT_MS * 1000;

    if (pid <= 0 || pid == getpid())
        return;
    kill(pid, SIGKILL);
    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);

        if (r == pid)
            return; /* our child, reaped */
        if (r < 0 && errno == EINTR)
            continue;
        /* Not our child (ECHILD): gone once it is a zombie or no more. */
        if (r < 0 && !test_process_alive(pid))
            return;
        if (g_get_monotonic_time() >= deadline) {
            g_printerr("# process %d still there %d ms after SIGKILL\n", (int)pid, KILL_WAIT_MS);
            return;
        }
        g_usleep(KILL_POLL_US);
    }
}

guint test_kill_processes_naming(const char *needle)
{
    g_autoptr(GArray) pids = test_processes_naming(needle);

    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);
        gsize len = 0;
        g_autofree char *cmdline = proc_text(pid, "cmdline", &len);

        if (cmdline && len > 160)
            strcpy(cmdline + 150, "...");
        g_printerr("# leftover process %d naming %s: killed (%s)\n", (int)pid, needle,
                   cmdline ? g_strchomp(cmdline) : "?");
        test_kill_process(pid);
    }
    return pids->len;
}
