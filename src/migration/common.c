/*
 * common.c: what every phase needs: finding the domain, the phase in the
 * status XML, the monitor, query-migrate's numbers, stopping QEMU.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.common"

#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

DomainObj *migration_find(QemuDriver *drv, const unsigned char *uuid, GError **error)
{
    return domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);
}

gboolean migration_set_phase(QemuDriver *drv, DomainObj *obj, DomainMigrationPhase phase,
                             GError **error)
{
    if (!domain_job_set_phase(obj, phase, error))
        return FALSE;
    if (domain_obj_is_active(obj))
        return domain_obj_save_status(obj, drv->state_dir, error);
    return TRUE;
}

void migration_save_status(QemuDriver *drv, DomainObj *obj)
{
    g_autoptr(GError) err = NULL;

    if (domain_obj_is_active(obj) && !domain_obj_save_status(obj, drv->state_dir, &err))
        FLOG_WARN("domain '%s': cannot save its status: %s", domain_obj_name(obj), err->message);
}

QemuCaps *migration_get_caps(QemuDriver *drv, DomainObj *obj, GError **error)
{
    const char *binary = obj->def->emulator ? obj->def->emulator : drv->qemu_binary;

    return qemu_caps_get(drv->caps, binary, error);
}

gboolean migration_monitor_run(DomainObj *obj, DomainAsyncJob job, MigrationMonitorFunc fn,
                               gpointer opaque, GError **error)
{
    QemuMonitor *slot = domain_obj_get_monitor(obj);
    g_autoptr(QemuMonitor) mon = NULL;
    gboolean ok;

    if (!slot) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "domain '%s': QEMU's monitor is not open",
                   domain_obj_name(obj));
        return FALSE;
    }
    mon = qemu_monitor_ref(slot);
    if (!domain_obj_enter_monitor_async(obj, job, error))
        return FALSE;
    ok = fn(mon, opaque, error);
    if (!domain_obj_exit_monitor(obj, ok ? error : NULL))
        ok = FALSE;
    return ok;
}

typedef struct {
    json_object *reply;
} QueryData;

static gboolean query_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    QueryData *d = opaque;

    d->reply = qmp_query_migrate(mon, error);
    return d->reply != NULL;
}

json_object *migration_query(DomainObj *obj, DomainAsyncJob job, GError **error)
{
    QueryData d = { NULL };

    if (!migration_monitor_run(obj, job, query_cb, &d, error)) {
        if (d.reply)
            json_object_put(d.reply);
        return NULL;
    }
    return d.reply;
}

void migration_wait_event(DomainObj *obj, guint seen, int interval_ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)interval_ms * 1000;

    while (domain_job_migration_events(obj) == seen) {
        if (!g_cond_wait_until(&obj->job_cond, &obj->lock, until))
            return;
    }
}

const char *migration_query_status(json_object *q)
{
    json_object *st = NULL;

    if (q && json_object_object_get_ex(q, "status", &st) &&
        json_object_is_type(st, json_type_string))
        return json_object_get_string(st);
    return "";
}

static unsigned long long get_u64(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!o || !json_object_object_get_ex(o, key, &v))
        return 0;
    if (json_object_is_type(v, json_type_double))
        return (unsigned long long)json_object_get_double(v);
    return (unsigned long long)json_object_get_uint64(v);
}

static json_object *get_obj(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
        return NULL;
    return v;
}

void migration_progress_from_query(json_object *q, DomainJobProgress *p)
{
    json_object *ram = get_obj(q, "ram");

    memset(p, 0, sizeof(*p));
    p->data_total = get_u64(ram, "total");
    p->data_processed = get_u64(ram, "transferred");
    p->data_remaining = get_u64(ram, "remaining");
    /* QEMU's mbps is megabits per second */
    p->mem_bps = (unsigned long long)(get_u64(ram, "mbps") * 1000000ULL / 8);
    p->dirty_rate = get_u64(ram, "dirty-pages-rate");
    p->iteration = get_u64(ram, "dirty-sync-count");
    p->expected_downtime_ms = get_u64(q, "expected-downtime");
    p->downtime_ms = get_u64(q, "downtime");
    p->setup_time_ms = get_u64(q, "setup-time");
}

void migration_stats_from_query(json_object *q, gint64 started_ms, CookieStatistics *stats)
{
    json_object *ram = get_obj(q, "ram");
    gint64 now = g_get_real_time() / 1000;
    unsigned long long elapsed = get_u64(q, "total-time");
    unsigned long long dup = get_u64(ram, "duplicate");
    unsigned long long normal = get_u64(ram, "normal");
    unsigned long long page = get_u64(ram, "page-size");
    const struct {
        CookieStat stat;
        unsigned long long value;
    } table[] = {
        { COOKIE_STAT_STARTED, (unsigned long long)started_ms },
        { COOKIE_STAT_STOPPED, (unsigned long long)now },
        { COOKIE_STAT_SENT, (unsigned long long)now },
        { COOKIE_STAT_TIME_ELAPSED, elapsed },
        { COOKIE_STAT_DOWNTIME, get_u64(q, "downtime") },
        { COOKIE_STAT_SETUP_TIME, get_u64(q, "setup-time") },
        { COOKIE_STAT_MEMORY_TOTAL, get_u64(ram, "total") },
        { COOKIE_STAT_MEMORY_PROCESSED, get_u64(ram, "transferred") },
        { COOKIE_STAT_MEMORY_REMAINING, get_u64(ram, "remaining") },
        { COOKIE_STAT_MEMORY_BPS, get_u64(ram, "mbps") * 1000000ULL / 8 },
        { COOKIE_STAT_MEMORY_CONSTANT, dup },
        { COOKIE_STAT_MEMORY_NORMAL, normal },
        { COOKIE_STAT_MEMORY_NORMAL_BYTES, get_u64(ram, "normal-bytes") },
        { COOKIE_STAT_MEMORY_DIRTY_RATE, get_u64(ram, "dirty-pages-rate") },
        { COOKIE_STAT_MEMORY_ITERATION, get_u64(ram, "dirty-sync-count") },
        { COOKIE_STAT_MEMORY_POSTCOPY_REQUESTS, get_u64(ram, "postcopy-requests") },
        { COOKIE_STAT_MEMORY_PAGE_SIZE, page ? page : 4096 },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(table); i++)
        cookie_stats_set(stats, table[i].stat, table[i].value);
}

static void stop_qemu(QemuDriver *drv, DomainObj *obj, DomainAsyncJob job, const char *reason,
                      gboolean wait)
{
    g_autoptr(GError) err = NULL;
    gboolean nested = FALSE;

    if (!domain_obj_is_active(obj))
        return;
    if (job != DOMAIN_ASYNC_JOB_NONE) {
        nested = domain_job_begin_nested(obj, job, &err);
        if (!nested)
            FLOG_WARN("domain '%s': stopping QEMU without a job: %s", domain_obj_name(obj),
                      err->message);
    }
    if (domain_obj_is_active(obj)) {
        if (wait)
            qemu_process_stop(drv, obj, reason);
        else
            qemu_process_retire(drv, obj, reason);
    }
    if (nested)
        domain_job_end(obj);
}

void migration_stop_qemu(QemuDriver *drv, DomainObj *obj, DomainAsyncJob job, const char *reason)
{
    stop_qemu(drv, obj, job, reason, TRUE);
}

void migration_retire_qemu(QemuDriver *drv, DomainObj *obj, DomainAsyncJob job, const char *reason)
{
    stop_qemu(drv, obj, job, reason, FALSE);
}
