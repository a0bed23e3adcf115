/*
 * log.c: leveled, filtered logging to stderr and files.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "util.log"

#include "error.h"
#include "fd.h"
#include "log.h"

#define LOG_MAX_FILTERS 64
#define LOG_MAX_OUTPUTS 16
#define LOG_MAX_SPEC 4096
#define LOG_MAX_MATCH 128
#define LOG_LEVEL_OFF 5 /* a threshold that no message reaches */
#define LOG_MAX_LINE 16384 /* longer messages are cut, not dropped */

typedef struct {
    FerryLogLevel level;
    char *match;
} LogFilter;

typedef enum {
    LOG_OUTPUT_STDERR,
    LOG_OUTPUT_FILE,
} LogOutputKind;

typedef struct {
    FerryLogLevel level;
    LogOutputKind kind;
    char *path;
    int fd;
} LogOutput;

typedef struct {
    FerryLogLevel default_level;
    GPtrArray *filters; /* LogFilter */
    GPtrArray *outputs; /* LogOutput */
} LogConfig;

static const char *const log_level_names[] = {
    [0] = "none",
    [FERRY_LOG_DEBUG] = "debug",
    [FERRY_LOG_INFO] = "info",
    [FERRY_LOG_WARNING] = "warning",
    [FERRY_LOG_ERROR] = "error",
};
G_STATIC_ASSERT(G_N_ELEMENTS(log_level_names) == FERRY_LOG_ERROR + 1);

/* Bumped on every configuration change; call sites compare their cache
 * against it.  Starts at 1 so that a zeroed site cache is always stale. */
int ferry_log_generation = 1;

static GMutex log_lock;
static LogConfig *log_config; /* NULL: the defaults, built on first use */

static void log_filter_free(gpointer data)
{
    LogFilter *f = data;

    g_free(f->match);
    g_free(f);
}

static void log_output_free(gpointer data)
{
    LogOutput *o = data;

    if (o->kind == LOG_OUTPUT_FILE)
        ferry_fd_close(&o->fd);
    g_free(o->path);
    g_free(o);
}

static LogConfig *log_config_new(void)
{
    LogConfig *cfg = g_new0(LogConfig, 1);

    cfg->default_level = FERRY_LOG_LEVEL_DEFAULT;
    cfg->filters = g_ptr_array_new_with_free_func(log_filter_free);
    cfg->outputs = g_ptr_array_new_with_free_func(log_output_free);
    return cfg;
}

static void log_config_free(LogConfig *cfg)
{
    if (!cfg)
        return;
    g_ptr_array_unref(cfg->filters);
    g_ptr_array_unref(cfg->outputs);
    g_free(cfg);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LogConfig, log_config_free)

static LogOutput *log_output_stderr_new(FerryLogLevel level)
{
    LogOutput *o = g_new0(LogOutput, 1);

    o->level = level;
    o->kind = LOG_OUTPUT_STDERR;
    o->fd = STDERR_FILENO;
    return o;
}

/* Caller holds log_lock. */
static LogConfig *log_config_locked(void)
{
    if (!log_config) {
        log_config = log_config_new();
        g_ptr_array_add(log_config->outputs, log_output_stderr_new(FERRY_LOG_DEBUG));
    }
    return log_config;
}

/* Caller holds log_lock; swaps the filters or outputs of the live config. */
static void log_config_changed_locked(void)
{
    int gen = __atomic_load_n(&ferry_log_generation, __ATOMIC_RELAXED) + 1;

    /* The generation lives above the 3 threshold bits of a site's cache. */
    if (gen >= (G_MAXINT >> 3))
        gen = 1;
    __atomic_store_n(&ferry_log_generation, gen, __ATOMIC_RELEASE);
}

static FerryLogLevel log_module_level_locked(LogConfig *cfg, const char *module)
{
    FerryLogLevel level = cfg->default_level;
    size_t best = 0;

    for (guint i = 0; i < cfg->filters->len; i++) {
        LogFilter *f = g_ptr_array_index(cfg->filters, i);
        size_t len = strlen(f->match);

        if (len > best && strstr(module, f->match)) {
            best = len;
            level = f->level;
        }
    }
    return level;
}

int ferry_log_site_threshold(FerryLogSite *site)
{
    g_mutex_lock(&log_lock);
    LogConfig *cfg = log_config_locked();
    int threshold = log_module_level_locked(cfg, site->module);
    int min_output = LOG_LEVEL_OFF;

    for (guint i = 0; i < cfg->outputs->len; i++) {
        LogOutput *o = g_ptr_array_index(cfg->outputs, i);
        min_output = MIN(min_output, (int)o->level);
    }
    threshold = MAX(threshold, min_output);
    int gen = __atomic_load_n(&ferry_log_generation, __ATOMIC_RELAXED);
    __atomic_store_n(&site->cache, (gen << 3) | threshold, __ATOMIC_RELAXED);
    g_mutex_unlock(&log_lock);
    return threshold;
}

FerryLogLevel ferry_log_module_level(const char *module)
{
    FerryLogSite site = { module, 0 };

    return ferry_log_site_threshold(&site);
}

const char *ferry_log_level_name(FerryLogLevel level)
{
    if (level < FERRY_LOG_DEBUG || level > FERRY_LOG_ERROR)
        return "none";
    return log_level_names[level];
}

static void log_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing log output */
        }
        buf += n;
        len -= (size_t)n;
    }
}

void ferry_log_message(FerryLogSite *site, FerryLogLevel level, const char *file, int line,
                       const char *func, const char *fmt, ...)
{
    char line_buf[LOG_MAX_LINE];
    int saved_errno = errno;
    gint64 now = g_get_real_time();
    time_t secs = (time_t)(now / G_USEC_PER_SEC);
    struct tm tm;
    va_list ap;

    (void)file;
    gmtime_r(&secs, &tm);
    int head = snprintf(line_buf, sizeof(line_buf),
                        "%04d-%02d-%02d %02d:%02d:%02d.%03d+0000: %d: %s : %s : %s:%d : ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, (int)((now % G_USEC_PER_SEC) / 1000), (int)gettid(),
                        ferry_log_level_name(level), site->module, func, line);
    if (head < 0)
        head = 0;
    if ((size_t)head >= sizeof(line_buf) - 2)
        head = sizeof(line_buf) - 2;

    va_start(ap, fmt);
    int body = vsnprintf(line_buf + head, sizeof(line_buf) - head - 1, fmt, ap);
    va_end(ap);
    if (body < 0)
        body = 0;
    size_t len = (size_t)head + MIN((size_t)body, sizeof(line_buf) - head - 2);
    line_buf[len++] = '\n';

    g_mutex_lock(&log_lock);
    LogConfig *cfg = log_config_locked();
    for (guint i = 0; i < cfg->outputs->len; i++) {
        LogOutput *o = g_ptr_array_index(cfg->outputs, i);

        if (level >= o->level)
            log_write_all(o->fd, line_buf, len);
    }
    g_mutex_unlock(&log_lock);
    errno = saved_errno;
}

/* ------------------------------------------------------------ parsing */

static gboolean log_parse_level(const char *text, FerryLogLevel *level)
{
    if (strlen(text) == 1 && text[0] >= '1' && text[0] <= '4') {
        *level = text[0] - '0';
        return TRUE;
    }
    for (int l = FERRY_LOG_DEBUG; l <= FERRY_LOG_ERROR; l++) {
        if (g_ascii_strcasecmp(text, log_level_names[l]) == 0) {
            *level = l;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean log_check_spec(const char *what, const char *spec, GError **error)
{
    if (!spec)
        return TRUE;
    if (strlen(spec) > LOG_MAX_SPEC) {
        ferry_fail(error, FERRY_ERR_OVERFLOW, "log %s: longer than %d bytes", what, LOG_MAX_SPEC);
        return FALSE;
    }
    return TRUE;
}

/* Splits "L:rest" into a level and rest; names the item in errors. */
static gboolean log_split_item(const char *what, const char *item, FerryLogLevel *level,
                               const char **rest, GError **error)
{
    const char *colon = strchr(item, ':');

    if (!colon) {
        ferry_fail(error, FERRY_ERR_PARSE, "log %s '%s': expected LEVEL:%s with LEVEL 1 to 4", what,
                   item, g_str_equal(what, "filter") ? "MODULE" : "OUTPUT");
        return FALSE;
    }
    g_autofree char *lvl = g_strndup(item, colon - item);
    if (!log_parse_level(lvl, level)) {
        ferry_fail(error, FERRY_ERR_PARSE, "log %s '%s': level '%s' must be 1 (debug) to 4 (error)",
                   what, item, lvl);
        return FALSE;
    }
    *rest = colon + 1;
    return TRUE;
}

gboolean ferry_log_set_default_level(const char *spec, GError **error)
{
    FerryLogLevel level;

    if (!log_check_spec("level", spec, error))
        return FALSE;
    g_autofree char *text = g_strstrip(g_strdup(spec ? spec : ""));
    if (!log_parse_level(text, &level)) {
        ferry_fail(error, FERRY_ERR_PARSE,
                   "log level '%s': must be 1 (debug), 2 (info), 3 (warning) or 4 (error)", text);
        return FALSE;
    }
    g_mutex_lock(&log_lock);
    log_config_locked()->default_level = level;
    log_config_changed_locked();
    g_mutex_unlock(&log_lock);
    return TRUE;
}

static gboolean log_match_valid(const char *match)
{
    size_t len = strlen(match);

    if (len == 0 || len > LOG_MAX_MATCH)
        return FALSE;
    for (const char *p = match; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
            return FALSE;
    }
    return TRUE;
}

static GPtrArray *log_filters_parse(const char *spec, GError **error)
{
    if (!log_check_spec("filters", spec, error))
        return NULL;
    g_auto(GStrv) items = g_strsplit_set(spec ? spec : "", " \t\n", -1);
    g_autoptr(GPtrArray) filters = g_ptr_array_new_with_free_func(log_filter_free);

    for (char **it = items; *it; it++) {
        FerryLogLevel level;
        const char *match;

        if (!**it)
            continue;
        if (!log_split_item("filter", *it, &level, &match, error))
            return NULL;
        if (!log_match_valid(match)) {
            ferry_fail(
                error, FERRY_ERR_PARSE,
                "log filter '%s': module '%s' must be 1 to %d letters, digits, '.', '_' or '-'",
                *it, match, LOG_MAX_MATCH);
            return NULL;
        }
        if (filters->len >= LOG_MAX_FILTERS) {
            ferry_fail(error, FERRY_ERR_OVERFLOW, "more than %d log filters", LOG_MAX_FILTERS);
            return NULL;
        }
        LogFilter *f = g_new0(LogFilter, 1);
        f->level = level;
        f->match = g_strdup(match);
        g_ptr_array_add(filters, f);
    }
    return g_steal_pointer(&filters);
}

gboolean ferry_log_check_filters(const char *spec, GError **error)
{
    g_autoptr(GPtrArray) filters = log_filters_parse(spec, error);

    return filters != NULL;
}

gboolean ferry_log_set_filters(const char *spec, GError **error)
{
    g_autoptr(GPtrArray) filters = log_filters_parse(spec, error);

    if (!filters)
        return FALSE;
    g_mutex_lock(&log_lock);
    LogConfig *cfg = log_config_locked();
    g_ptr_array_unref(cfg->filters);
    cfg->filters = g_steal_pointer(&filters);
    log_config_changed_locked();
    g_mutex_unlock(&log_lock);
    return TRUE;
}

/* Parses one output; a file output is not opened yet (fd -1). */
static LogOutput *log_output_parse(const char *item, GError **error)
{
    FerryLogLevel level;
    const char *dest;

    if (!log_split_item("output", item, &level, &dest, error))
        return NULL;
    if (g_str_equal(dest, "stderr"))
        return log_output_stderr_new(level);
    if (g_str_has_prefix(dest, "file:")) {
        const char *path = dest + strlen("file:");

        if (!g_path_is_absolute(path)) {
            ferry_fail(error, FERRY_ERR_PARSE, "log output '%s': file path '%s' must be absolute",
                       item, path);
            return NULL;
        }
        LogOutput *o = g_new0(LogOutput, 1);
        o->level = level;
        o->kind = LOG_OUTPUT_FILE;
        o->path = g_strdup(path);
        o->fd = -1;
        return o;
    }
    ferry_fail(error, FERRY_ERR_PARSE,
               "log output '%s': destination '%s' must be 'stderr' or 'file:PATH'", item, dest);
    return NULL;
}

static GPtrArray *log_outputs_parse(const char *spec, GError **error)
{
    if (!log_check_spec("outputs", spec, error))
        return NULL;
    g_auto(GStrv) items = g_strsplit_set(spec ? spec : "", " \t\n", -1);
    g_autoptr(GPtrArray) outputs = g_ptr_array_new_with_free_func(log_output_free);

    for (char **it = items; *it; it++) {
        if (!**it)
            continue;
        if (outputs->len >= LOG_MAX_OUTPUTS) {
            ferry_fail(error, FERRY_ERR_OVERFLOW, "more than %d log outputs", LOG_MAX_OUTPUTS);
            return NULL;
        }
        LogOutput *o = log_output_parse(*it, error);
        if (!o)
            return NULL;
        g_ptr_array_add(outputs, o);
    }
    return g_steal_pointer(&outputs);
}

gboolean ferry_log_check_outputs(const char *spec, GError **error)
{
    g_autoptr(GPtrArray) outputs = log_outputs_parse(spec, error);

    return outputs != NULL;
}

gboolean ferry_log_set_outputs(const char *spec, GError **error)
{
    g_autoptr(GPtrArray) outputs = log_outputs_parse(spec, error);

    if (!outputs)
        return FALSE;
    for (guint i = 0; i < outputs->len; i++) {
        LogOutput *o = g_ptr_array_index(outputs, i);

        if (o->kind != LOG_OUTPUT_FILE)
            continue;
        o->fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (o->fd < 0) {
            ferry_fail_errno(error, errno, "log output: cannot open '%s'", o->path);
            return FALSE;
        }
    }
    if (outputs->len == 0)
        g_ptr_array_add(outputs, log_output_stderr_new(FERRY_LOG_DEBUG));

    g_mutex_lock(&log_lock);
    LogConfig *cfg = log_config_locked();
    GPtrArray *old = cfg->outputs;
    cfg->outputs = g_steal_pointer(&outputs);
    log_config_changed_locked();
    g_mutex_unlock(&log_lock);
    /* Closed after the swap so no writer holds a stale fd. */
    g_ptr_array_unref(old);
    return TRUE;
}

static gboolean log_env_apply(const char *var, gboolean (*apply)(const char *, GError **),
                              GError **error)
{
    const char *value = g_getenv(var);
    g_autoptr(GError) local = NULL;

    if (!value || !*value)
        return TRUE;
    if (!apply(value, &local)) {
        ferry_fail(error, ferry_error_code_of(local), "%s: %s", var, local->message);
        return FALSE;
    }
    return TRUE;
}

gboolean ferry_log_init_from_env(GError **error)
{
    return log_env_apply("FERRY_LOG_LEVEL", ferry_log_set_default_level, error) &&
           log_env_apply("FERRY_LOG_FILTERS", ferry_log_set_filters, error) &&
           log_env_apply("FERRY_LOG_OUTPUTS", ferry_log_set_outputs, error);
}

void ferry_log_reset(void)
{
    g_mutex_lock(&log_lock);
    g_autoptr(LogConfig) old = g_steal_pointer(&log_config);
    log_config_locked();
    log_config_changed_locked();
    g_mutex_unlock(&log_lock);
}
