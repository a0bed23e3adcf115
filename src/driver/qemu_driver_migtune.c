/*
 * qemu_driver_migtune.c: migrate-setspeed, migrate-setmaxdowntime and
 * their getters.
 *
 * The values live with the driver, per domain (libvirt keeps them in the
 * domain's private data, which outlives its QEMU): the migration code
 * reads them when a migration starts (qemu_driver_get_migrate_tuning).
 * While a migration-out job runs, a new value also goes to QEMU at once,
 * under a MIGRATION_OP job (the one sync job a migration allows for this):
 * migrate-set-parameters max-bandwidth (bytes/s) or downtime-limit (ms).
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
 * held, running). */
static gboolean tune_apply(DomainObj *obj, const char *param, unsigned long long value,
                           GError **error)
{
    QemuMonitor *slot = domain_obj_get_monitor(obj);
    g_autoptr(QemuMonitor) mon = slot ? qemu_monitor_ref(slot) : NULL;
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) ret = NULL;
    gboolean ok;

    if (!mon) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "domain '%s': QEMU's monitor is not open",
                   domain_obj_name(obj));
        return FALSE;
    }
    json_object_object_add(args, param, json_object_new_uint64(value));
    domain_obj_enter_monitor(obj);
    ret = qmp_call(mon, "migrate-set-parameters", args, error);
    ok = ret != NULL;
    if (!domain_obj_exit_monitor(obj, ok ? error : NULL))
        ok = FALSE;
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
                ok = tune_apply(obj, "max-bandwidth", value * 1024ULL * 1024ULL, error);
            else
                ok = tune_apply(obj, "downtime-limit", value, error);
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
