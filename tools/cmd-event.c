/*
 * cmd-event.c: event (virsh's): waits for domain lifecycle events and
 * prints them as virsh does:
 *
 *     event 'lifecycle' for domain 'web1': Started Booted
 *     events received: 1
 *
 * Without --loop it ends after the first event; --timeout SECS ends the
 * wait ("event loop timed out").  The callback runs on libferry's event
 * thread and only prints and counts; this thread waits.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_SHELL
#define FERRY_LOG_MODULE "shell"

#include "tools/shell.h"

typedef struct {
    GMutex lock;
    GCond cond;
    guint count;
    gboolean timestamp;
} EventWait;

static void event_print(FerryConnect *conn, FerryDomain *dom, int event, int detail, void *opaque)
{
    EventWait *w = opaque;
    g_autofree char *stamp = NULL;

    if (w->timestamp) {
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autofree char *base = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
        g_autofree char *zone = g_date_time_format(now, "%z");

        stamp = g_strdup_printf("%s.%03d%s: ", base, g_date_time_get_microsecond(now) / 1000, zone);
    }
    g_mutex_lock(&w->lock);
    printf("%sevent 'lifecycle' for domain '%s': %s %s\n", stamp ? stamp : "",
           ferry_domain_get_name(dom), ferry_domain_event_type_name(event),
           ferry_domain_event_detail_name(event, detail));
    fflush(stdout);
    w->count++;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

static gboolean parse_timeout(const char *text, int *secs)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = g_ascii_strtoll(text, &end, 10);
    if (errno || !end || *end || end == text || v < 1 || v > G_MAXINT / 1000)
        return FALSE;
    *secs = (int)v;
    return TRUE;
}

static gboolean cmd_event(Shell *sh, const ShellArgs *args)
{
    const char *event = shell_arg(args, "event");
    const char *timeout_text = shell_arg(args, "timeout");
    gboolean loop = shell_flag(args, "loop");
    FerryDomain *dom = NULL;
    EventWait w = { 0 };
    int timeout = 0;
    gboolean timed_out = FALSE;
    gint64 deadline;
    int id;

    if (shell_flag(args, "list")) {
        printf("lifecycle\n");
        return TRUE;
    }
    if (event && !g_str_equal(event, "lifecycle")) {
        shell_error("unknown event type %s", event);
        return FALSE;
    }
    if (timeout_text && !parse_timeout(timeout_text, &timeout)) {
        shell_error("invalid timeout value: '%s'", timeout_text);
        return FALSE;
    }
    FerryConnect *conn = shell_conn(sh);
    if (!conn)
        return FALSE;
    if (shell_arg(args, "domain") && !(dom = shell_domain(sh, args)))
        return FALSE;

    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    w.timestamp = shell_flag(args, "timestamp");
    id = ferry_connect_domain_event_register(conn, dom, event_print, &w, NULL);
    if (id < 0) {
        shell_error_cause("failed to register event 'lifecycle'");
        ferry_domain_free(dom);
        g_cond_clear(&w.cond);
        g_mutex_clear(&w.lock);
        return FALSE;
    }
    deadline = timeout ? g_get_monotonic_time() + (gint64)timeout * G_TIME_SPAN_SECOND : 0;
    g_mutex_lock(&w.lock);
    while (loop || w.count == 0) {
        if (!deadline) {
            g_cond_wait(&w.cond, &w.lock);
        } else if (!g_cond_wait_until(&w.cond, &w.lock, deadline) &&
                   g_get_monotonic_time() >= deadline) {
            timed_out = TRUE;
            break;
        }
    }
    g_mutex_unlock(&w.lock);
    /* No callback runs once this returns: w may go. */
    if (ferry_connect_domain_event_deregister(conn, id) < 0)
        shell_error_cause("failed to deregister event 'lifecycle'");
    if (timed_out)
        printf("event loop timed out\n");
    printf("events received: %u\n", w.count);
    ferry_domain_free(dom);
    g_cond_clear(&w.cond);
    g_mutex_clear(&w.lock);
    return TRUE;
}

static const ShellOpt event_opts[] = {
    { "domain", SHELL_OPT_ARG, FALSE, "filter by domain name, id or uuid" },
    { "event", SHELL_OPT_ARG, FALSE, "which event type to wait for (lifecycle)" },
    { "all", SHELL_OPT_BOOL, FALSE, "wait for all events instead of just one type" },
    { "loop", SHELL_OPT_BOOL, FALSE, "loop until timeout or interrupt, rather than one-shot" },
    { "timeout", SHELL_OPT_ARG, FALSE, "timeout seconds" },
    { "list", SHELL_OPT_BOOL, FALSE, "list valid event types" },
    { "timestamp", SHELL_OPT_BOOL, FALSE, "show timestamp for each printed event" },
    { NULL },
};

const ShellCmd shell_event_cmds[] = {
    { "event", "Domain Events",
      "List event types, or wait for domain events to occur (ferry knows 'lifecycle').", event_opts,
      cmd_event },
    { NULL },
};
