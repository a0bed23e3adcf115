/*
 * log.h: ferry's logging.
 *
 * Levels 1 debug, 2 info, 3 warning, 4 error (libvirt's numbers).  Each .c
 * file names its module before including this header:
 *     #define FERRY_LOG_MODULE "migration.begin"
 * Filters pick a level per module: "1:migration 3:rpc" logs debug from every
 * module whose name contains "migration" (the longest matching filter wins),
 * warnings and errors from "rpc", and the default level elsewhere.  Outputs
 * say where lines go and from which level: "2:stderr 1:file:/var/log/x.log".
 * Both come from the daemon's config or from the environment
 * (FERRY_LOG_LEVEL, FERRY_LOG_FILTERS, FERRY_LOG_OUTPUTS).
 *
 * A message below the threshold costs one relaxed atomic load and a compare:
 * each call site caches its module's threshold, tagged with the generation of
 * the configuration it was computed from.
 */
#pragma once

#include <glib.h>

typedef enum {
    FERRY_LOG_DEBUG = 1,
    FERRY_LOG_INFO = 2,
    FERRY_LOG_WARNING = 3,
    FERRY_LOG_ERROR = 4,
} FerryLogLevel;

#define FERRY_LOG_LEVEL_DEFAULT FERRY_LOG_WARNING

typedef struct {
    const char *module;
    int cache; /* (generation << 3) | threshold; 0 = not computed yet */
} FerryLogSite;

extern int ferry_log_generation;

/* Slow path: computes and caches the site's threshold. */
int ferry_log_site_threshold(FerryLogSite *site);

static inline gboolean ferry_log_site_enabled(FerryLogSite *site, FerryLogLevel level)
{
    int cache = __atomic_load_n(&site->cache, __ATOMIC_RELAXED);
    int gen = __atomic_load_n(&ferry_log_generation, __ATOMIC_RELAXED);

    if (G_UNLIKELY((cache >> 3) != gen))
        return (int)level >= ferry_log_site_threshold(site);
    return (int)level >= (cache & 7);
}

void ferry_log_message(FerryLogSite *site, FerryLogLevel level, const char *file, int line,
                       const char *func, const char *fmt, ...) G_GNUC_PRINTF(6, 7);

#define FERRY_LOG(level, ...) \
    do { \
        static FerryLogSite ferry_log_site_ = { FERRY_LOG_MODULE, 0 }; \
        if (ferry_log_site_enabled(&ferry_log_site_, (level))) \
            ferry_log_message(&ferry_log_site_, (level), __FILE__, __LINE__, __func__, \
                              __VA_ARGS__); \
    } while (0)

#define FLOG_DEBUG(...) FERRY_LOG(FERRY_LOG_DEBUG, __VA_ARGS__)
#define FLOG_INFO(...) FERRY_LOG(FERRY_LOG_INFO, __VA_ARGS__)
#define FLOG_WARN(...) FERRY_LOG(FERRY_LOG_WARNING, __VA_ARGS__)
#define FLOG_ERROR(...) FERRY_LOG(FERRY_LOG_ERROR, __VA_ARGS__)

/* Configuration.  Each replaces the current setting whole, or leaves it
 * unchanged and fails with a message naming the bad part. */
gboolean ferry_log_set_default_level(const char *spec, GError **error);
gboolean ferry_log_set_filters(const char *spec, GError **error);
gboolean ferry_log_set_outputs(const char *spec, GError **error);
/* Check a spec's syntax without applying it (no file is opened). */
gboolean ferry_log_check_filters(const char *spec, GError **error);
gboolean ferry_log_check_outputs(const char *spec, GError **error);
/* Reads FERRY_LOG_LEVEL, FERRY_LOG_FILTERS and FERRY_LOG_OUTPUTS. */
gboolean ferry_log_init_from_env(GError **error);
/* Back to the defaults: warnings and errors to stderr, no filters. */
void ferry_log_reset(void);

/* The threshold that a module would get now (for tests and "is debug on"). */
FerryLogLevel ferry_log_module_level(const char *module);
const char *ferry_log_level_name(FerryLogLevel level);
