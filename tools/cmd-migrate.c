/*
 * cmd-migrate.c: migrate and migrate-postcopy (virsh's names, options and
 * behaviour).
 *
 *     ferry -c qemu+tcp://hosta/system migrate --live --verbose web1 \
 *         qemu+tcp://hostb/system
 *     Migration: [100 %]
 *     Migration: done in 1.23 s, downtime 12 ms, 64.5 MiB sent at 420 MiB/s
 *
 * As virsh does it: the options are checked before anything is touched,
 * the migration (ferry_domain_migrate3: this client drives the five phases
 * over its connections to both hosts; with --p2p,
 * ferry_domain_migrate_to_uri3: the source's daemon drives them and this
 * client connects to the source only) runs on a thread of its own, and this
 * thread watches it every 50 ms: it draws the progress bar (--verbose; the
 * job's statistics are asked for then only), carries out --timeout (suspend
 * the guest, or switch to post-copy) and --postcopy-after-precopy (the
 * source's MIGRATION_ITERATION event wakes it; it switches once the first
 * memory pass has ended) and turns Ctrl-C into ferry_domain_abort_job.
 * The summary line after the bar
 * is ferry's own.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_SHELL
#define FERRY_LOG_MODULE "shell"

#include "tools/shell.h"

#define WATCH_INTERVAL_MS 50

/* ---------------------------------------------------------------- options */

/* --a and --b may not both be given. */
static gboolean check_exclusive(const ShellArgs *args, const char *a, const char *b)
{
    if (shell_given(args, a) && shell_given(args, b)) {
        shell_error("options --%s and --%s are mutually exclusive", a, b);
        return FALSE;
    }
    return TRUE;
}

/* --opt needs --needed. */
static gboolean check_requires(const ShellArgs *args, const char *opt, const char *needed)
{
    if (shell_given(args, opt) && !shell_given(args, needed)) {
        shell_error("option --%s requires option --%s", opt, needed);
        return FALSE;
    }
    return TRUE;
}

/* The value of number option name: absent (TRUE, *given FALSE), or a
 * whole decimal number in [min, max], all of the text. */
static gboolean parse_number(const ShellArgs *args, const char *name, unsigned long long min,
                             unsigned long long max, unsigned long long *value, gboolean *given)
{
    const char *text = shell_arg(args, name);
    char *end = NULL;

    *given = text != NULL;
    if (!text)
        return TRUE;
    errno = 0;
    if (g_ascii_isdigit(text[0]))
        *value = g_ascii_strtoull(text, &end, 10);
    if (!g_ascii_isdigit(text[0]) || errno || !end || *end || *value < min || *value > max) {
        shell_error("invalid value '%s' of option --%s: expected a whole number from %llu to %llu",
                    text, name, min, max);
        return FALSE;
    }
    return TRUE;
}

typedef enum {
    TIMEOUT_NONE,
    TIMEOUT_SUSPEND, /* --timeout, --timeout-suspend */
    TIMEOUT_POSTCOPY, /* --timeout-postcopy */
} TimeoutAction;

/* Everything `migrate` was asked for, checked. */
typedef struct {
    const char *desturi;
    unsigned int flags; /* FERRY_MIGRATE_* */
    FerryTypedParameter *params;
    int nparams;
    int maxparams;
    gboolean verbose;
    gboolean postcopy_after_precopy;
    unsigned int timeout_s; /* 0: none */
    TimeoutAction timeout_action;
} MigrateRequest;

static void migrate_request_clear(MigrateRequest *req)
{
    ferry_typed_params_free(req->params, req->nparams);
    memset(req, 0, sizeof(*req));
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MigrateRequest, migrate_request_clear)

/* The boolean options and their flags. */
static const struct {
    const char *option;
    unsigned int flag;
} migrate_flag_options[] = {
    { "live", FERRY_MIGRATE_LIVE },
    { "offline", FERRY_MIGRATE_OFFLINE },
    { "persistent", FERRY_MIGRATE_PERSIST_DEST },
    { "undefinesource", FERRY_MIGRATE_UNDEFINE_SOURCE },
    { "suspend", FERRY_MIGRATE_PAUSED },
    { "compressed", FERRY_MIGRATE_COMPRESSED },
    { "auto-converge", FERRY_MIGRATE_AUTO_CONVERGE },
    { "abort-on-error", FERRY_MIGRATE_ABORT_ON_ERROR },
    { "postcopy", FERRY_MIGRATE_POSTCOPY },
    { "parallel", FERRY_MIGRATE_PARALLEL },
    { "p2p", FERRY_MIGRATE_PEER2PEER },
    { "tunnelled", FERRY_MIGRATE_TUNNELLED },
};

/* The string options and their parameters; with file set, the option
 * names a file and the parameter is what the file holds. */
static const struct {
    const char *option;
    const char *param;
    gboolean file;
} migrate_string_options[] = {
    { "migrateuri", FERRY_MIGRATE_PARAM_URI, FALSE },
    { "listen-address", FERRY_MIGRATE_PARAM_LISTEN_ADDRESS, FALSE },
    { "dname", FERRY_MIGRATE_PARAM_DEST_NAME, FALSE },
    { "xml", FERRY_MIGRATE_PARAM_DEST_XML, TRUE },
    { "persistent-xml", FERRY_MIGRATE_PARAM_PERSIST_XML, TRUE },
};

/* The combinations virsh refuses, and a few more that cannot work. */
static gboolean migrate_check_combinations(const ShellArgs *args)
{
    return check_exclusive(args, "live", "offline") &&
           check_exclusive(args, "timeout-suspend", "timeout-postcopy") &&
           check_exclusive(args, "offline", "postcopy") &&
           check_exclusive(args, "offline", "suspend") &&
           check_requires(args, "tunnelled", "p2p") &&
           check_requires(args, "timeout-suspend", "timeout") &&
           check_requires(args, "timeout-postcopy", "timeout") &&
           check_requires(args, "timeout-postcopy", "postcopy") &&
           check_requires(args, "postcopy-after-precopy", "postcopy") &&
           check_requires(args, "persistent-xml", "persistent") &&
           check_requires(args, "parallel-connections", "parallel") &&
           check_requires(args, "postcopy-bandwidth", "postcopy") &&
           check_requires(args, "offline", "persistent");
}

static gboolean migrate_add_string(MigrateRequest *req, const char *param, const char *value)
{
    if (ferry_typed_params_add_string(&req->params, &req->nparams, &req->maxparams, param, value) <
        0) {
        shell_error_cause("migration parameter '%s'", param);
        return FALSE;
    }
    return TRUE;
}

static gboolean migrate_add_ullong(MigrateRequest *req, const char *param, unsigned long long value)
{
    if (ferry_typed_params_add_ullong(&req->params, &req->nparams, &req->maxparams, param, value) <
        0) {
        shell_error_cause("migration parameter '%s'", param);
        return FALSE;
    }
    return TRUE;
}

/* Checks every option and reads the files: nothing has been touched when
 * this fails. */
static gboolean migrate_request_parse(const ShellArgs *args, MigrateRequest *req)
{
    unsigned long long n = 0;
    gboolean given = FALSE;

    req->desturi = shell_arg(args, "desturi");
    req->verbose = shell_flag(args, "verbose");
    req->postcopy_after_precopy = shell_flag(args, "postcopy-after-precopy");
    if (!migrate_check_combinations(args))
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(migrate_flag_options); i++) {
        if (shell_flag(args, migrate_flag_options[i].option))
            req->flags |= migrate_flag_options[i].flag;
    }

    /* --timeout: seconds of a live migration, then the action */
    if (!parse_number(args, "timeout", 1, G_MAXINT / 1000, &n, &given))
        return FALSE;
    if (given) {
        if (!(req->flags & FERRY_MIGRATE_LIVE)) {
            shell_error("option --timeout needs a live migration (--live)");
            return FALSE;
        }
        req->timeout_s = (unsigned int)n;
        req->timeout_action =
            shell_flag(args, "timeout-postcopy") ? TIMEOUT_POSTCOPY : TIMEOUT_SUSPEND;
    }

    /* numbers (MiB/s; the daemon checks the upper limits it has) */
    if (!parse_number(args, "bandwidth", 0, G_MAXUINT64, &n, &given) ||
        (given && !migrate_add_ullong(req, FERRY_MIGRATE_PARAM_BANDWIDTH, n)))
        return FALSE;
    if (!parse_number(args, "postcopy-bandwidth", 0, G_MAXUINT64, &n, &given) ||
        (given && !migrate_add_ullong(req, FERRY_MIGRATE_PARAM_BANDWIDTH_POSTCOPY, n)))
        return FALSE;
    if (!parse_number(args, "parallel-connections", 1, 255, &n, &given))
        return FALSE;
    if (given && ferry_typed_params_add_int(&req->params, &req->nparams, &req->maxparams,
                                            FERRY_MIGRATE_PARAM_PARALLEL_CONNECTIONS, (int)n) < 0) {
        shell_error_cause("migration parameter '%s'", FERRY_MIGRATE_PARAM_PARALLEL_CONNECTIONS);
        return FALSE;
    }

    /* strings, and the files some of them name */
    for (gsize i = 0; i < G_N_ELEMENTS(migrate_string_options); i++) {
        const char *value = shell_arg(args, migrate_string_options[i].option);
        g_autofree char *contents = NULL;
        g_autoptr(GError) err = NULL;

        if (!value)
            continue;
        if (!*value) {
            shell_error("option --%s needs a value that is not empty",
                        migrate_string_options[i].option);
            return FALSE;
        }
        if (migrate_string_options[i].file && !g_file_get_contents(value, &contents, NULL, &err)) {
            shell_error("failed to read file '%s' (--%s): %s", value,
                        migrate_string_options[i].option, err->message);
            return FALSE;
        }
        if (!migrate_add_string(req, migrate_string_options[i].param, contents ? contents : value))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- the migration thread */

/* Set by SIGINT while `migrate` runs. */
static volatile sig_atomic_t migrate_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    migrate_interrupted = 1;
}

typedef struct {
    FerryDomain *dom;
    FerryConnect *dconn; /* NULL: peer-to-peer */
    const MigrateRequest *req;
    GMutex lock;
    GCond cond;
    gboolean done;
    gboolean precopy_done; /* MIGRATION_ITERATION 2 came (post-copy after pre-copy) */
    /* the outcome */
    gboolean ok;
    FerryDomain *ddom; /* NULL after a peer-to-peer migration */
    int error_code;
    char *error_message;
} MigrateRun;

static gpointer migrate_thread(gpointer data)
{
    MigrateRun *run = data;
    sigset_t block;
    FerryDomain *ddom = NULL;
    gboolean ok;

    /* Ctrl-C goes to the watching thread, as with virsh. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, NULL);

    if (run->dconn) {
        ddom = ferry_domain_migrate3(run->dom, run->dconn, run->req->params, run->req->nparams,
                                     run->req->flags);
        ok = ddom != NULL;
    } else {
        ok = ferry_domain_migrate_to_uri3(run->dom, run->req->desturi, run->req->params,
                                          run->req->nparams, run->req->flags) == 0;
    }
    g_mutex_lock(&run->lock);
    run->ddom = ddom;
    run->ok = ok;
    if (!ok) {
        const FerryError *err = ferry_get_last_error();

        run->error_code = err ? (int)err->code : FERRY_ERROR_INTERNAL;
        run->error_message = g_strdup(err ? err->message : "the migration failed");
        g_strdelimit(run->error_message, "\n\r", ' ');
    }
    run->done = TRUE;
    g_cond_broadcast(&run->cond);
    g_mutex_unlock(&run->lock);
    return NULL;
}

/* ---------------------------------------------------------------- watching */

/* What the watcher saw of the job (the source's statistics). */
typedef struct {
    gboolean drawn; /* a progress line is on the terminal */
    int percent; /* what it shows */
    gboolean seen; /* data_processed and time_elapsed are set */
    unsigned long long data_processed;
    unsigned long long time_elapsed_ms;
} MigrateWatch;

/* virsh's bar: the share of data_total that is no longer remaining; 100 %
 * only once nothing remains.  Drawn again when it changes. */
static void progress_draw(MigrateWatch *watch, unsigned long long remaining,
                          unsigned long long total)
{
    int percent = 100;

    if (remaining > 0) {
        percent = (int)(100.0 - (double)remaining * 100.0 / (double)total);
        percent = CLAMP(percent, 0, 99);
    }
    if (watch->drawn && watch->percent == percent)
        return;
    fflush(stdout);
    fprintf(stderr, "\rMigration: [%3d %%]", percent);
    fflush(stderr);
    watch->drawn = TRUE;
    watch->percent = percent;
}

static void watch_poll(FerryDomain *dom, const MigrateRequest *req, MigrateWatch *watch)
{
    FerryTypedParameter *stats = NULL;
    int nstats = 0, type = FERRY_DOMAIN_JOB_NONE;
    unsigned long long total = 0, remaining = 0, processed = 0, elapsed = 0;

    if (ferry_domain_get_job_stats(dom, &type, &stats, &nstats, 0) < 0)
        return; /* between phases, or gone: the next poll will tell */
    if (type == FERRY_DOMAIN_JOB_BOUNDED || type == FERRY_DOMAIN_JOB_UNBOUNDED) {
        if (ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_DATA_PROCESSED,
                                          &processed) == 1 &&
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_TIME_ELAPSED, &elapsed) ==
                1 &&
            processed > 0) {
            watch->seen = TRUE;
            watch->data_processed = processed;
            watch->time_elapsed_ms = elapsed;
        }
        if (req->verbose &&
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_DATA_TOTAL, &total) ==
                1 &&
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_DATA_REMAINING,
                                          &remaining) == 1 &&
            total > 0)
            progress_draw(watch, remaining, total);
    }
    ferry_typed_params_free(stats, nstats);
}

/* MIGRATION_ITERATION on libferry's event thread: the watcher switches to
 * post-copy once the first pass has ended (iteration 2), as virsh does. */
static void on_iteration(FerryConnect *conn, FerryDomain *dom, int iteration, void *opaque)
{
    MigrateRun *run = opaque;

    if (iteration < 2)
        return;
    g_mutex_lock(&run->lock);
    run->precopy_done = TRUE;
    g_cond_broadcast(&run->cond);
    g_mutex_unlock(&run->lock);
}

static void watch_postcopy_after_precopy(FerryDomain *dom, const MigrateRequest *req,
                                         MigrateWatch *watch)
{
    int rc = ferry_domain_migrate_start_post_copy(dom, 0);

    if (req->verbose) {
        fprintf(stderr, "%sMigration: the first pass ended: switching to post-copy\n",
                watch->drawn ? "\n" : "");
        watch->drawn = FALSE;
    }
    if (rc < 0) {
        g_autofree char *cause = g_strdup(ferry_get_last_error_message());

        g_strdelimit(cause, "\n\r", ' ');
        fprintf(stderr, "%swarning: migration of domain '%s': failed to switch to post-copy: %s\n",
                watch->drawn ? "\n" : "", ferry_domain_get_name(dom), cause);
        watch->drawn = FALSE;
    }
    fflush(stderr);
}

/* --timeout ran out with the migration still going. */
static void watch_timeout(FerryDomain *dom, const MigrateRequest *req, MigrateWatch *watch)
{
    gboolean suspend = req->timeout_action == TIMEOUT_SUSPEND;
    int rc = suspend ? ferry_domain_suspend(dom) : ferry_domain_migrate_start_post_copy(dom, 0);

    if (req->verbose) {
        fprintf(stderr, "%sMigration: still running after %u s: %s\n", watch->drawn ? "\n" : "",
                req->timeout_s, suspend ? "suspending the domain" : "switching to post-copy");
        watch->drawn = FALSE;
    }
    if (rc < 0) {
        g_autofree char *cause = g_strdup(ferry_get_last_error_message());

        g_strdelimit(cause, "\n\r", ' ');
        fprintf(stderr, "%swarning: migration of domain '%s': failed to %s after the timeout: %s\n",
                watch->drawn ? "\n" : "", ferry_domain_get_name(dom),
                suspend ? "suspend the domain" : "switch to post-copy", cause);
        watch->drawn = FALSE;
    }
    fflush(stderr);
}

/* Waits for the migration thread, doing the watcher's work every 50 ms
 * (Ctrl-C, --timeout, and with --verbose the job's progress). */
static void migrate_watch(MigrateRun *run, MigrateWatch *watch)
{
    const MigrateRequest *req = run->req;
    gint64 deadline =
        req->timeout_s ? g_get_monotonic_time() + (gint64)req->timeout_s * G_USEC_PER_SEC : 0;
    gboolean aborted = FALSE;
    gboolean switched = FALSE;

    for (;;) {
        gboolean done, precopy_done;

        g_mutex_lock(&run->lock);
        if (!run->done && (switched || !run->precopy_done))
            g_cond_wait_until(&run->cond, &run->lock,
                              g_get_monotonic_time() + WATCH_INTERVAL_MS * 1000);
        done = run->done;
        precopy_done = run->precopy_done;
        g_mutex_unlock(&run->lock);
        if (done)
            return;
        if (precopy_done && !switched) {
            switched = TRUE;
            watch_postcopy_after_precopy(run->dom, req, watch);
        }
        /* Ctrl-C: abort the job; again on the next round while there is
         * none yet (Begin has not run) */
        if (migrate_interrupted && !aborted)
            aborted = ferry_domain_abort_job(run->dom, 0) == 0;
        if (deadline && g_get_monotonic_time() >= deadline) {
            deadline = 0;
            watch_timeout(run->dom, req, watch);
        }
        /* the job's statistics feed the bar and the summary only: without
         * --verbose nobody reads them, and each look is a round trip to the
         * source's daemon that competes with the migration's own calls */
        if (req->verbose)
            watch_poll(run->dom, req, watch);
    }
}

/* ---------------------------------------------------------------- summary */

/* "64.5 MiB" */
static char *format_bytes(unsigned long long bytes)
{
    double mib = (double)bytes / (1024.0 * 1024.0);

    if (mib >= 1.0)
        return g_strdup_printf("%.1f MiB", mib);
    return g_strdup_printf("%.1f KiB", (double)bytes / 1024.0);
}

/* What the completed jobs tell, a statistic at a time: 0 when unknown. */
typedef struct {
    unsigned long long elapsed_ms;
    unsigned long long downtime_ms;
    unsigned long long data;
} MigrateResult;

/* Fills what result still lacks from the completed job of dom (when its
 * host has one; zeros count as missing). */
static void result_from_completed_job(FerryDomain *dom, MigrateResult *result)
{
    FerryTypedParameter *stats = NULL;
    int nstats = 0, type = FERRY_DOMAIN_JOB_NONE;
    unsigned long long v;

    if (!dom || ferry_domain_get_job_stats(dom, &type, &stats, &nstats,
                                           FERRY_DOMAIN_JOB_STATS_COMPLETED) < 0)
        return;
    if (type == FERRY_DOMAIN_JOB_COMPLETED) {
        if (!result->elapsed_ms &&
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_TIME_ELAPSED, &v) == 1)
            result->elapsed_ms = v;
        if (!result->downtime_ms &&
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_DOWNTIME, &v) == 1)
            result->downtime_ms = v;
        if (!result->data &&
            ferry_typed_params_get_ullong(stats, nstats, FERRY_DOMAIN_JOB_DATA_PROCESSED, &v) == 1)
            result->data = v;
    }
    ferry_typed_params_free(stats, nstats);
}

/* ferry's line after the bar:
 *   Migration: done in 1.23 s, downtime 12 ms, 64.5 MiB sent at 420 MiB/s
 * Each number comes from the first that has it: the completed job of the
 * domain on the destination, the completed job on the source (a
 * persistent domain stays there, inactive), the watcher's last look at the
 * running job ("at least" that much data), the client's clock (the time).
 * What none of them has is named unknown, never printed as 0.  (The
 * destination keeps the source's statistics from the migration cookie as
 * its completed job; an older destination may not.) */
static void migrate_summary(FerryDomain *dom, FerryDomain *ddom, const MigrateRequest *req,
                            const MigrateWatch *watch, gint64 wall_us)
{
    MigrateResult result = { 0 };
    g_autoptr(GString) line = g_string_new("Migration: done in ");
    gboolean partial = FALSE;

    result_from_completed_job(ddom, &result);
    result_from_completed_job(dom, &result);
    if (!result.elapsed_ms)
        result.elapsed_ms = (unsigned long long)(wall_us / 1000);
    g_string_append_printf(line, "%.2f s", (double)result.elapsed_ms / 1000.0);
    if (req->flags & FERRY_MIGRATE_OFFLINE) {
        g_string_append(line, " (offline: the definition only)");
        printf("%s\n", line->str);
        fflush(stdout);
        return;
    }
    if (result.downtime_ms)
        g_string_append_printf(line, ", downtime %llu ms", result.downtime_ms);
    else
        g_string_append(line, ", downtime unknown");
    if (!result.data && watch->seen) {
        result.data = watch->data_processed;
        partial = TRUE;
    }
    if (result.data) {
        g_autofree char *sent = format_bytes(result.data);
        /* the rate over the time the data took */
        double secs = (double)(partial ? watch->time_elapsed_ms : result.elapsed_ms) / 1000.0;

        g_string_append_printf(line, ", %s%s sent", partial ? "at least " : "", sent);
        if (secs > 0) {
            double rate = (double)result.data / (1024.0 * 1024.0) / secs;

            g_string_append_printf(line, rate < 10 ? " at %.1f MiB/s" : " at %.0f MiB/s", rate);
        }
    } else {
        g_string_append(line, ", data sent unknown");
    }
    printf("%s\n", line->str);
    fflush(stdout);
}

/* ---------------------------------------------------------------- commands */

/* Runs run's migration (run->dconn set unless peer-to-peer) with the
 * watcher on this thread, and reports its outcome. */
static gboolean migrate_run(MigrateRun *run)
{
    const MigrateRequest *req = run->req;
    MigrateWatch watch = { 0 };
    struct sigaction sa = { 0 }, old_sa;
    GThread *thread;
    gint64 started;

    migrate_interrupted = 0;
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_sa);

    started = g_get_monotonic_time();
    thread = g_thread_new("migrate", migrate_thread, run);
    migrate_watch(run, &watch);
    g_thread_join(thread);
    sigaction(SIGINT, &old_sa, NULL);

    if (run->ok) {
        if (req->verbose) {
            watch.drawn = FALSE; /* the last one, always */
            progress_draw(&watch, 0, 1);
            fprintf(stderr, "\n");
            fflush(stderr);
            migrate_summary(run->dom, run->ddom, req, &watch, g_get_monotonic_time() - started);
        }
        return TRUE;
    }
    if (watch.drawn)
        fprintf(stderr, "\n");
    if (migrate_interrupted && run->error_code == FERRY_ERROR_OPERATION_ABORTED)
        shell_error("migration of domain '%s' cancelled (interrupted): %s",
                    ferry_domain_get_name(run->dom), run->error_message);
    else
        shell_error("failed to migrate domain '%s' to '%s': %s", ferry_domain_get_name(run->dom),
                    req->desturi, run->error_message);
    return FALSE;
}

/* The destination's connection, opened by its own thread while the main
 * one connects to the source and looks the domain up: the two handshakes
 * overlap instead of adding up. */
typedef struct {
    const char *uri;
    FerryConnect *conn;
    char *error; /* the thread's last error when conn is NULL */
} DestOpen;

static gpointer dest_open_thread(gpointer data)
{
    DestOpen *d = data;

    d->conn = ferry_connect_open(d->uri, 0);
    if (!d->conn)
        d->error = g_strdup(ferry_get_last_error_message());
    return NULL;
}

static gboolean cmd_migrate(Shell *sh, const ShellArgs *args)
{
    g_auto(MigrateRequest) req = { 0 };
    MigrateRun run = { 0 };
    DestOpen dest = { 0 };
    GThread *opener = NULL;
    FerryDomain *dom;
    gboolean ok = FALSE;
    int iteration_id = -1;

    if (!migrate_request_parse(args, &req))
        return FALSE;
    /* peer-to-peer: the source's daemon connects to the destination */
    if (!(req.flags & FERRY_MIGRATE_PEER2PEER)) {
        dest.uri = req.desturi;
        opener = g_thread_try_new("ferry-dest-open", dest_open_thread, &dest, NULL);
        if (!opener)
            dest_open_thread(&dest);
    }
    dom = shell_domain(sh, args);
    if (opener)
        g_thread_join(opener);
    if (!dom) {
        if (dest.conn)
            ferry_connect_close(dest.conn);
        g_free(dest.error);
        return FALSE;
    }
    run.dom = dom;
    run.req = &req;
    g_mutex_init(&run.lock);
    g_cond_init(&run.cond);
    if (dest.uri && !dest.conn)
        shell_error_with_cause(dest.error, "failed to connect to the destination '%s'",
                               req.desturi);
    /* virsh's --postcopy-after-precopy: the source's iteration event */
    else if (req.postcopy_after_precopy &&
             (iteration_id = ferry_connect_domain_event_register_any(
                  shell_conn(sh), dom, FERRY_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
                  FERRY_DOMAIN_EVENT_CALLBACK(on_iteration), &run, NULL)) < 0)
        shell_error_cause("failed to register the migration iteration event");
    else {
        run.dconn = dest.conn;
        ok = migrate_run(&run);
    }

    /* no call of on_iteration runs once this returns: run may go */
    if (iteration_id >= 0 &&
        ferry_connect_domain_event_deregister(shell_conn(sh), iteration_id) < 0)
        shell_error_cause("failed to deregister the migration iteration event");
    if (run.ddom)
        ferry_domain_free(run.ddom);
    g_free(run.error_message);
    g_free(dest.error);
    g_cond_clear(&run.cond);
    g_mutex_clear(&run.lock);
    ferry_domain_free(dom);
    if (dest.conn)
        ferry_connect_close(dest.conn);
    return ok;
}

static gboolean cmd_migrate_postcopy(Shell *sh, const ShellArgs *args)
{
    FerryDomain *dom = shell_domain(sh, args);
    gboolean ok;

    if (!dom)
        return FALSE;
    ok = ferry_domain_migrate_start_post_copy(dom, 0) == 0;
    if (!ok)
        shell_error_cause("failed to switch the migration of domain '%s' to post-copy",
                          ferry_domain_get_name(dom));
    ferry_domain_free(dom);
    return ok;
}

static const ShellOpt migrate_opts[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { "desturi", SHELL_OPT_ARG, TRUE, "connection URI of the destination host" },
    { "live", SHELL_OPT_BOOL, FALSE, "keep the guest running while its memory moves" },
    { "offline", SHELL_OPT_BOOL, FALSE, "move the definition only (needs --persistent)" },
    { "persistent", SHELL_OPT_BOOL, FALSE, "define the domain on the destination" },
    { "persistent-xml", SHELL_OPT_STRING, FALSE,
      "file with the definition to keep on the destination" },
    { "undefinesource", SHELL_OPT_BOOL, FALSE, "remove the definition from the source" },
    { "suspend", SHELL_OPT_BOOL, FALSE, "leave the domain paused on the destination" },
    { "xml", SHELL_OPT_STRING, FALSE, "file with the domain XML to run on the destination" },
    { "dname", SHELL_OPT_STRING, FALSE, "the domain's new name on the destination" },
    { "migrateuri", SHELL_OPT_STRING, FALSE,
      "where the destination QEMU listens (tcp:HOST[:PORT]); usually left out" },
    { "listen-address", SHELL_OPT_STRING, FALSE, "the address the destination QEMU listens on" },
    { "bandwidth", SHELL_OPT_NUMBER, FALSE, "bandwidth limit in MiB/s" },
    { "parallel", SHELL_OPT_BOOL, FALSE, "move memory over several connections" },
    { "parallel-connections", SHELL_OPT_NUMBER, FALSE, "how many connections --parallel opens" },
    { "auto-converge", SHELL_OPT_BOOL, FALSE,
      "slow the guest's CPUs down until the migration converges" },
    { "compressed", SHELL_OPT_BOOL, FALSE, "compress the pages that are sent again" },
    { "postcopy", SHELL_OPT_BOOL, FALSE,
      "allow switching to post-copy (migrate-postcopy, --timeout-postcopy)" },
    { "postcopy-bandwidth", SHELL_OPT_NUMBER, FALSE, "bandwidth limit in MiB/s in post-copy" },
    { "postcopy-after-precopy", SHELL_OPT_BOOL, FALSE,
      "switch to post-copy once the first memory pass has ended" },
    { "timeout", SHELL_OPT_NUMBER, FALSE,
      "seconds a live migration may run before the --timeout-* action (default: suspend)" },
    { "timeout-suspend", SHELL_OPT_BOOL, FALSE, "at the timeout, suspend the guest" },
    { "timeout-postcopy", SHELL_OPT_BOOL, FALSE, "at the timeout, switch to post-copy" },
    { "verbose", SHELL_OPT_BOOL, FALSE, "show the progress, and a summary at the end" },
    { "abort-on-error", SHELL_OPT_BOOL, FALSE, "cancel the migration on soft (I/O) errors" },
    { "p2p", SHELL_OPT_BOOL, FALSE,
      "peer-to-peer: the source's daemon connects to the destination and drives the migration" },
    { "tunnelled", SHELL_OPT_BOOL, FALSE,
      "carry the migration's data over the daemons' connection (needs --p2p; not yet)" },
    { NULL },
};
G_STATIC_ASSERT(G_N_ELEMENTS(migrate_opts) <= SHELL_MAX_OPTS);

static const ShellOpt domain_opt[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { NULL },
};

const ShellCmd shell_migrate_cmds[] = {
    { "migrate", "migrate a domain to another host",
      "Move a domain to the host of <desturi>; --live keeps it running meanwhile.  --verbose "
      "shows the progress and a summary; Ctrl-C cancels the migration.  With --p2p the source's "
      "daemon connects to <desturi> itself and the migration goes on if this shell goes away.",
      migrate_opts, cmd_migrate },
    { "migrate-postcopy", "switch a running migration to post-copy",
      "Switch the running migration of a domain to post-copy: the guest runs on the "
      "destination from now on and the rest of its memory follows.  The migration must have "
      "been started with --postcopy.",
      domain_opt, cmd_migrate_postcopy },
    { NULL },
};
