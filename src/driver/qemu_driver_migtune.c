/*
 * qemu_driver_migtune.c: migrate-setspeed, migrate-setmaxdowntime,
 * migrate-compcache and their getters.
 *
 * The values live with the driver, per domain (libvirt keeps them in the
 * domain's private data, which outlives its QEMU): the migration code
 * reads them when a migration starts (qemu_driver_get_migrate_tuning).
 * While a migration-out job runs, a new value also goes to QEMU at once,
 * under a MIGRATION_OP job (the one sync job a migration allows for this):
 * migrate-set-parameters max-bandwidth (bytes/s) or downtime-limit (ms).
 *
 * The compression cache (xbzrle-cache-size) is different, as in libvirt:
 * QEMU itself keeps it, so it is read from and set in QEMU, and only while
 * the domain runs; a migration started later uses what QEMU has.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "qemu.migtune"

#include "driver/qemu_driver_priv.h"
#include "driver/qemu_monitor.h"
#include "util/error.h"
#include "util/log.h"

/* QEMU's limit for downtime-limit (MAX_MIGRATE_DOWNTIME, 2000 s). */
#define QEMU_MIGTUNE_DOWNTIME_MAX 2000000ULL

static void tune_defaults(QemuMigrateTuning *t)
{
    memset(t, 0, sizeof(*t));
    t->max_speed_mib = QEMU_DRIVER_MIGRATE_SPEED_MAX;
    t->max_downtime_ms = QEMU_DRIVER_MIGRATE_DOWNTIME_DEFAULT;
}

void qemu_driver_get_migrate_tuning(QemuDriver *drv, const unsigned char *uuid,
                                    QemuMigrateTuning *tuning)
{
    char key[FERRY_UUID_STRING_BUFLEN];
    QemuMigrateTuning *t;

    ferry_uuid_format(uuid, key);
    g_mutex_lock(&drv->tune_lock);
    t = g_hash_table_lookup(drv->tune, key);
    if (t)
        *tuning = *t;
    else
        tune_defaults(tuning);
    g_mutex_unlock(&drv->tune_lock);
}

void qemu_driver_forget_migrate_tuning(QemuDriver *drv, const unsigned char *uuid)
{
    char key[FERRY_UUID_STRING_BUFLEN];

    ferry_uuid_format(uuid, key);
    g_mutex_lock(&drv->tune_lock);
    g_hash_table_remove(drv->tune, key);
    g_mutex_unlock(&drv->tune_lock);
}

typedef enum {
    TUNE_SPEED,
    TUNE_DOWNTIME,
} TuneWhat;

static void tune_store(QemuDriver *drv, const unsigned char *uuid, TuneWhat what,
                       unsigned long long value)
{
    char key[FERRY_UUID_STRING_BUFLEN];
    QemuMigrateTuning *t;

    ferry_uuid_format(uuid, key);
    g_mutex_lock(&drv->tune_lock);
    t = g_hash_table_lookup(drv->tune, key);
    if (!t) {
        t = g_new0(QemuMigrateTuning, 1);
        tune_defaults(t);
        g_hash_table_insert(drv->tune, g_strdup(key), t);
    }
    if (what == TUNE_SPEED) {
        t->max_speed_mib = value;
        t->max_speed_set = TRUE;
    } else {
        t->max_downtime_ms = value;
        t->max_downtime_set = TRUE;
    }
    g_mutex_unlock(&drv->tune_lock);
}

/* migrate-set-parameters with one integer (obj locked, MIGRATION_OP job
 * held, running).  *refused (may be NULL): QEMU answered with an error (the
 * value), as opposed to the monitor failing. */
static gboolean tune_apply(DomainObj *obj, const char *param, unsigned long long value,
                           gboolean *refused, GError **error)
{
    QemuMonitor *slot = domain_obj_get_monitor(obj);
    g_autoptr(QemuMonitor) mon = slot ? qemu_monitor_ref(slot) : NULL;
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) ret = NULL;
    g_autofree char *error_class = NULL;
    gboolean ok;

    if (!mon) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "domain '%s': QEMU's monitor is not open",
                   domain_obj_name(obj));
        return FALSE;
    }
    json_object_object_add(args, param, json_object_new_uint64(value));
    domain_obj_enter_monitor(obj);
    ret = qmp_call_full(mon, "migrate-set-parameters", args, NULL, 0, 0, &error_class, error);
    ok = ret != NULL;
    if (!domain_obj_exit_monitor(obj, ok ? error : NULL))
        ok = FALSE;
    if (refused)
        *refused = error_class != NULL;
    return ok;
}

/* Stores value; while a migration-out job runs, sets it in QEMU first
 * (the value is stored only when QEMU took it). */
static gboolean tune_set(QemuDriver *drv, const unsigned char *uuid, TuneWhat what,
                         unsigned long long value, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);
    const char *api =
        what == TUNE_SPEED ? "domainMigrateSetMaxSpeed" : "domainMigrateSetMaxDowntime";

    if (!obj)
        return FALSE;
    if (domain_obj_is_active(obj) && domain_job_get_async(obj) == DOMAIN_ASYNC_JOB_MIGRATION_OUT) {
        gboolean ok;

        if (!domain_job_begin(obj, DOMAIN_JOB_MIGRATION_OP, api, error))
            return FALSE;
        /* The migration may have ended while we waited: then storing is
         * all there is to do. */
        if (domain_obj_is_active(obj) &&
            domain_job_get_async(obj) == DOMAIN_ASYNC_JOB_MIGRATION_OUT) {
            if (what == TUNE_SPEED)
                ok = tune_apply(obj, "max-bandwidth", value * 1024ULL * 1024ULL, NULL, error);
            else
                ok = tune_apply(obj, "downtime-limit", value, NULL, error);
        } else {
            ok = TRUE;
        }
        domain_job_end(obj);
        if (!ok)
            return FALSE;
        FLOG_INFO("domain '%s': migration %s set to %llu %s while migrating", domain_obj_name(obj),
                  what == TUNE_SPEED ? "speed" : "downtime", value,
                  what == TUNE_SPEED ? "MiB/s" : "ms");
    }
    tune_store(drv, uuid, what, value);
    return TRUE;
}

gboolean qemu_driver_domain_migrate_set_max_speed(QemuDriver *drv, const unsigned char *uuid,
                                                  unsigned long long mib_per_s, GError **error)
{
    if (mib_per_s > QEMU_DRIVER_MIGRATE_SPEED_MAX) {
        ferry_fail(error, FERRY_ERR_OVERFLOW, "bandwidth must be less than %llu",
                   (unsigned long long)QEMU_DRIVER_MIGRATE_SPEED_MAX + 1);
        return FALSE;
    }
    return tune_set(drv, uuid, TUNE_SPEED, mib_per_s, error);
}

gboolean qemu_driver_domain_migrate_set_max_downtime(QemuDriver *drv, const unsigned char *uuid,
                                                     unsigned long long ms, GError **error)
{
    if (ms > QEMU_MIGTUNE_DOWNTIME_MAX) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "migration downtime %llu ms is above %llu ms", ms,
                   QEMU_MIGTUNE_DOWNTIME_MAX);
        return FALSE;
    }
    return tune_set(drv, uuid, TUNE_DOWNTIME, ms, error);
}

/* The stored values of a domain that exists (else NO_DOMAIN). */
static gboolean tune_get(QemuDriver *drv, const unsigned char *uuid, QemuMigrateTuning *t,
                         GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);

    if (!obj)
        return FALSE;
    qemu_driver_get_migrate_tuning(drv, uuid, t);
    return TRUE;
}

gboolean qemu_driver_domain_migrate_get_max_speed(QemuDriver *drv, const unsigned char *uuid,
                                                  unsigned long long *mib_per_s, GError **error)
{
    QemuMigrateTuning t;

    if (!tune_get(drv, uuid, &t, error))
        return FALSE;
    *mib_per_s = t.max_speed_mib;
    return TRUE;
}

gboolean qemu_driver_domain_migrate_get_max_downtime(QemuDriver *drv, const unsigned char *uuid,
                                                     unsigned long long *ms, GError **error)
{
    QemuMigrateTuning t;

    if (!tune_get(drv, uuid, &t, error))
        return FALSE;
    *ms = t.max_downtime_ms;
    return TRUE;
}

/* ---------------------------------------------------------------- compression cache */

/* The running domain's object, locked, with a job of this kind (else
 * NO_DOMAIN, or OPERATION_INVALID when it is not running). */
static DomainObj *compcache_begin(QemuDriver *drv, const unsigned char *uuid, DomainJob job,
                                  const char *api, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);

    if (!obj)
        return NULL;
    if (!domain_job_begin(obj, job, api, error))
        return NULL;
    if (!domain_obj_is_active(obj)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s' is not running: the compression cache lives in its QEMU",
                   domain_obj_name(obj));
        domain_job_end(obj);
        return NULL;
    }
    return g_steal_pointer(&obj);
}

/* QEMU's xbzrle-cache-size (obj locked, QUERY job held, running). */
static gboolean compcache_query(DomainObj *obj, unsigned long long *bytes, GError **error)
{
    QemuMonitor *slot = domain_obj_get_monitor(obj);
    g_autoptr(QemuMonitor) mon = slot ? qemu_monitor_ref(slot) : NULL;
    g_autoptr(json_object) ret = NULL;
    json_object *v = NULL;

    if (!mon) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "domain '%s': QEMU's monitor is not open",
                   domain_obj_name(obj));
        return FALSE;
    }
    domain_obj_enter_monitor(obj);
    ret = qmp_call(mon, "query-migrate-parameters", NULL, error);
    if (!domain_obj_exit_monitor(obj, ret ? error : NULL) || !ret)
        return FALSE;
    if (!json_object_object_get_ex(ret, "xbzrle-cache-size", &v) ||
        !json_object_is_type(v, json_type_int)) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "domain '%s': QEMU does not report xbzrle-cache-size in "
                   "query-migrate-parameters",
                   domain_obj_name(obj));
        return FALSE;
    }
    *bytes = json_object_get_uint64(v);
    return TRUE;
}

gboolean qemu_driver_domain_migrate_set_compression_cache(QemuDriver *drv,
                                                          const unsigned char *uuid,
                                                          unsigned long long bytes, GError **error)
{
    g_autoptr(DomainObjLocked) obj = NULL;
    g_autoptr(GError) qemu_err = NULL;
    gboolean refused = FALSE;
    gboolean ok;

    /* QEMU wants a power of two of at least its target page size; the page
     * size is QEMU's to check, the power of two we can name here. */
    if (bytes == 0 || (bytes & (bytes - 1)) != 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "compression cache size %llu bytes is not a power of two", bytes);
        return FALSE;
    }
    obj = compcache_begin(drv, uuid, DOMAIN_JOB_MIGRATION_OP, "domainMigrateSetCompressionCache",
                          error);
    if (!obj)
        return FALSE;
    ok = tune_apply(obj, "xbzrle-cache-size", bytes, &refused, &qemu_err);
    domain_job_end(obj);
    if (!ok && refused) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': QEMU refused compression cache size %llu bytes: %s",
                   domain_obj_name(obj), bytes, qemu_err->message);
        return FALSE;
    }
    if (!ok) {
        g_propagate_error(error, g_steal_pointer(&qemu_err));
        return FALSE;
    }
    FLOG_INFO("domain '%s': compression cache set to %llu bytes", domain_obj_name(obj), bytes);
    return TRUE;
}

gboolean qemu_driver_domain_migrate_get_compression_cache(QemuDriver *drv,
                                                          const unsigned char *uuid,
                                                          unsigned long long *bytes, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        compcache_begin(drv, uuid, DOMAIN_JOB_QUERY, "domainMigrateGetCompressionCache", error);
    gboolean ok;

    if (!obj)
        return FALSE;
    ok = compcache_query(obj, bytes, error);
    domain_job_end(obj);
    return ok;
}
