/*
 * cmd-event.c: event (virsh's): waits for domain events and prints them as
 * virsh does:
 *
 *     event 'lifecycle' for domain 'web1': Started Booted
 *     event 'migration-iteration' for domain 'web1': iteration: '2'
 *     event 'job-completed' for domain 'web1':
 *             operation: 5
 *             time_elapsed: 1234
 *     events received: 4
 *
 * --event NAME waits for one kind (lifecycle when neither it nor --all is
 * given), --all for every kind ferry has.  Without --loop it ends after
 * the first event; --timeout SECS ends the wait ("event loop timed out").
 * The callbacks run on libferry's event thread and only print and count;
 * this thread waits.
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

/* Prints "[stamp]event 'NAME' for domain 'DOM':" and the rest (w->lock
 * held), counts it and wakes the waiting thread. */
static void event_emit(EventWait *w, const char *name, FerryDomain *dom, const char *rest)
{
    g_autofree char *stamp = NULL;

    if (w->timestamp) {
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autofree char *base = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
        g_autofree char *zone = g_date_time_format(now, "%z");

        stamp = g_strdup_printf("%s.%03d%s: ", base, g_date_time_get_microsecond(now) / 1000, zone);
    }
    g_mutex_lock(&w->lock);
    printf("%sevent '%s' for domain '%s':%s\n", stamp ? stamp : "", name,
           ferry_domain_get_name(dom), rest);
    fflush(stdout);
    w->count++;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

static void event_print(FerryConnect *conn, FerryDomain *dom, int event, int detail, void *opaque)
{
    g_autofree char *rest = g_strdup_printf(" %s %s", ferry_domain_event_type_name(event),
                                            ferry_domain_event_detail_name(event, detail));

    event_emit(opaque, "lifecycle", dom, rest);
}

static void event_print_iteration(FerryConnect *conn, FerryDomain *dom, int iteration, void *opaque)
{
    g_autofree char *rest = g_strdup_printf(" iteration: '%d'", iteration);

    event_emit(opaque, "migration-iteration", dom, rest);
}

static void event_print_job_completed(FerryConnect *conn, FerryDomain *dom,
                                      FerryTypedParameter *params, int nparams, void *opaque)
{
    g_autoptr(GString) rest = g_string_new(NULL);

    for (int i = 0; i < nparams; i++) {
        const FerryTypedParameter *p = &params[i];

        g_string_append_printf(rest, "\n\t%s: ", p->field);
        switch (p->type) {
        case FERRY_TYPED_PARAM_INT:
            g_string_append_printf(rest, "%d", p->value.i);
            break;
        case FERRY_TYPED_PARAM_UINT:
            g_string_append_printf(rest, "%u", p->value.ui);
            break;
        case FERRY_TYPED_PARAM_LLONG:
            g_string_append_printf(rest, "%lld", p->value.l);
            break;
        case FERRY_TYPED_PARAM_ULLONG:
            g_string_append_printf(rest, "%llu", p->value.ul);
            break;
        case FERRY_TYPED_PARAM_DOUBLE:
            g_string_append_printf(rest, "%g", p->value.d);
            break;
        case FERRY_TYPED_PARAM_BOOLEAN:
            g_string_append(rest, p->value.b ? "yes" : "no");
            break;
        case FERRY_TYPED_PARAM_STRING:
            g_string_append(rest, p->value.s ? p->value.s : "");
            break;
        default:
            g_string_append(rest, "?");
            break;
        }
    }
    event_emit(opaque, "job-completed", dom, rest->str);
}

/* The kinds `event` knows, by virsh's names. */
static const struct {
    int id; /* FerryDomainEventID */
    FerryDomainEventGenericCallback cb;
} event_kinds[] = {
    { FERRY_DOMAIN_EVENT_ID_LIFECYCLE, FERRY_DOMAIN_EVENT_CALLBACK(event_print) },
    { FERRY_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
      FERRY_DOMAIN_EVENT_CALLBACK(event_print_iteration) },
    { FERRY_DOMAIN_EVENT_ID_JOB_COMPLETED, FERRY_DOMAIN_EVENT_CALLBACK(event_print_job_completed) },
};

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

/* Deregisters the first n of ids (the callbacks are not running once
 * this returns). */
static void event_deregister_all(FerryConnect *conn, const int *ids, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        if (ids[i] >= 0 && ferry_connect_domain_event_deregister(conn, ids[i]) < 0)
            shell_error_cause("failed to deregister event '%s'",
                              ferry_domain_event_id_name(event_kinds[i].id));
    }
}

static gboolean cmd_event(Shell *sh, const ShellArgs *args)
{
    const char *event = shell_arg(args, "event");
    const char *timeout_text = shell_arg(args, "timeout");
    gboolean loop = shell_flag(args, "loop");
    gboolean all = shell_flag(args, "all");
    FerryDomain *dom = NULL;
    EventWait w = { 0 };
    int timeout = 0;
    gboolean timed_out = FALSE, ok = TRUE;
    gint64 deadline;
    int ids[G_N_ELEMENTS(event_kinds)];
    gboolean wanted[G_N_ELEMENTS(event_kinds)] = { FALSE };
    gboolean known = FALSE;

    if (shell_flag(args, "list")) {
        for (gsize i = 0; i < G_N_ELEMENTS(event_kinds); i++)
            printf("%s\n", ferry_domain_event_id_name(event_kinds[i].id));
        return TRUE;
    }
    if (all && event) {
        shell_error("options --all and --event are mutually exclusive");
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(event_kinds); i++) {
        const char *name = ferry_domain_event_id_name(event_kinds[i].id);

        wanted[i] = all || g_strcmp0(event ? event : "lifecycle", name) == 0;
        known |= wanted[i];
        ids[i] = -1;
    }
    if (!known) {
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
    for (gsize i = 0; ok && i < G_N_ELEMENTS(event_kinds); i++) {
        if (!wanted[i])
            continue;
        ids[i] = ferry_connect_domain_event_register_any(conn, dom, event_kinds[i].id,
                                                         event_kinds[i].cb, &w, NULL);
        if (ids[i] < 0) {
            shell_error_cause("failed to register event '%s'",
                              ferry_domain_event_id_name(event_kinds[i].id));
            ok = FALSE;
        }
    }
    if (ok) {
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
    }
    /* No callback runs once this returns: w may go. */
    event_deregister_all(conn, ids, G_N_ELEMENTS(ids));
    if (ok) {
        if (timed_out)
            printf("event loop timed out\n");
        printf("events received: %u\n", w.count);
    }
    ferry_domain_free(dom);
    g_cond_clear(&w.cond);
    g_mutex_clear(&w.lock);
    return ok;
}

static const ShellOpt event_opts[] = {
    { "domain", SHELL_OPT_ARG, FALSE, "filter by domain name, id or uuid" },
    { "event", SHELL_OPT_ARG, FALSE,
      "which event type to wait for (lifecycle, migration-iteration, job-completed)" },
    { "all", SHELL_OPT_BOOL, FALSE, "wait for all events instead of just one type" },
    { "loop", SHELL_OPT_BOOL, FALSE, "loop until timeout or interrupt, rather than one-shot" },
    { "timeout", SHELL_OPT_ARG, FALSE, "timeout seconds" },
    { "list", SHELL_OPT_BOOL, FALSE, "list valid event types" },
    { "timestamp", SHELL_OPT_BOOL, FALSE, "show timestamp for each printed event" },
    { NULL },
};

const ShellCmd shell_event_cmds[] = {
    { "event", "Domain Events",
      "List event types, or wait for domain events to occur (lifecycle, migration-iteration, "
      "job-completed).",
      event_opts, cmd_event },
    { NULL },
};
