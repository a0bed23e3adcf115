/*
 * qemu_driver_domain.c: the QEMU driver's lifecycle operations: create,
 * create from XML, destroy, shutdown, suspend, resume, and autodestroy
 * when a connection closes.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "qemu.driver"

#include "util/error.h"
#include "util/log.h"
#include "driver/qemu_driver_priv.h"
#include "driver/qemu_process.h"

G_STATIC_ASSERT((int)QEMU_DRIVER_START_PAUSED == (int)QEMU_PROCESS_START_PAUSED);
G_STATIC_ASSERT((int)QEMU_DRIVER_START_AUTODESTROY == (int)QEMU_PROCESS_START_AUTODESTROY);

#define QEMU_DRIVER_START_FLAGS (QEMU_DRIVER_START_PAUSED | QEMU_DRIVER_START_AUTODESTROY)

static DomainObj *qemu_driver_find(QemuDriver *drv, const unsigned char *uuid, GError **error)
{
    return domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);
}

static gboolean qemu_driver_check_active(DomainObj *obj, GError **error)
{
    if (domain_obj_is_active(obj))
        return TRUE;
    ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s' is not running",
               domain_obj_name(obj));
    return FALSE;
}

static gboolean qemu_driver_check_start_flags(unsigned int flags, GError **error)
{
    if (flags & ~(unsigned int)QEMU_DRIVER_START_FLAGS) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "unsupported start flags 0x%x",
                   flags & ~(unsigned int)QEMU_DRIVER_START_FLAGS);
        return FALSE;
    }
    return TRUE;
}

/* obj locked, MODIFY job held. */
static gboolean qemu_driver_start_obj(QemuDriver *drv, DomainObj *obj, unsigned int flags,
                                      guint64 conn, GError **error)
{
    if (domain_obj_is_active(obj)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s' is already running",
                   domain_obj_name(obj));
        return FALSE;
    }
    if (!qemu_process_start(drv, obj, flags, conn, error))
        return FALSE;
    FLOG_INFO("domain '%s' started%s%s", domain_obj_name(obj),
              (flags & QEMU_DRIVER_START_PAUSED) ? ", paused" : "",
              (flags & QEMU_DRIVER_START_AUTODESTROY) ? ", autodestroy" : "");
    return TRUE;
}

gboolean qemu_driver_domain_create(QemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                                   guint64 conn, GError **error)
{
    g_autoptr(DomainObjLocked) obj = NULL;
    gboolean ok;

    if (!qemu_driver_check_start_flags(flags, error))
        return FALSE;
    obj = qemu_driver_find(drv, uuid, error);
    if (!obj)
        return FALSE;
    if (!domain_job_begin(obj, DOMAIN_JOB_MODIFY, "domainCreateWithFlags", error))
        return FALSE;
    ok = qemu_driver_start_obj(drv, obj, flags, conn, error);
    if (!ok)
        qemu_driver_remove_inactive(drv, obj);
    domain_job_end(obj);
    return ok;
}

gboolean qemu_driver_create_xml(QemuDriver *drv, const char *xml, unsigned int flags, guint64 conn,
                                QemuDomainRef *ref, GError **error)
{
    g_autoptr(DomainDef) def = NULL;
    g_autoptr(DomainObjLocked) obj = NULL;
    gboolean ok;

    if (!qemu_driver_check_start_flags(flags, error))
        return FALSE;
    def = domain_def_parse(xml, DOMAIN_PARSE_INACTIVE, error);
    if (!def)
        return FALSE;
    obj = domain_list_add(drv->domains, &def, DOMAIN_LIST_ADD_LIVE | DOMAIN_LIST_ADD_UPDATE, NULL,
                          error);
    if (!obj)
        return FALSE;
    if (!domain_job_begin(obj, DOMAIN_JOB_MODIFY, "domainCreateXML", error)) {
        qemu_driver_remove_inactive(drv, obj);
        return FALSE;
    }
    ok = qemu_driver_start_obj(drv, obj, flags, conn, error);
    if (ok && ref) {
        g_free(ref->name);
        ref->name = g_strdup(domain_obj_name(obj));
        memcpy(ref->uuid, obj->def->uuid, FERRY_UUID_BUFLEN);
        ref->id = domain_obj_get_id(obj);
    }
    if (!ok)
        qemu_driver_remove_inactive(drv, obj);
    domain_job_end(obj);
    return ok;
}

gboolean qemu_driver_domain_destroy(QemuDriver *drv, const unsigned char *uuid, GError **error)
{
    g_autoptr(DomainObjLocked) obj = qemu_driver_find(drv, uuid, error);
    g_autoptr(GError) err = NULL;
    QemuProcess *proc;

    if (!obj)
        return FALSE;
    if (!qemu_driver_check_active(obj, error))
        return FALSE;
    /* Kill first: a job stuck on QEMU's monitor then ends at once. */
    proc = qemu_process_get(obj);
    if (!qemu_process_kill_begin_job(drv, obj, "domainDestroy", &err)) {
        /* QEMU's exit, handled meanwhile, may have removed the domain */
        if (domain_obj_is_removed(obj) || !domain_obj_is_active(obj) ||
            qemu_process_get(obj) != proc)
            return TRUE;
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    if (domain_obj_is_active(obj) && qemu_process_get(obj) == proc) {
        qemu_process_stop(drv, obj, "destroyed");
        qemu_driver_remove_inactive(drv, obj);
    }
    /* else QEMU's exit was handled meanwhile: it is shut off either way */
    domain_job_end(obj);
    return TRUE;
}

typedef gboolean (*QemuProcessOp)(QemuDriver *drv, DomainObj *obj, GError **error);

/* A sync job of kind job on a running domain around op. */
static gboolean qemu_driver_job_running(QemuDriver *drv, const unsigned char *uuid, DomainJob job,
                                        const char *api, QemuProcessOp op, GError **error)
{
    g_autoptr(DomainObjLocked) obj = qemu_driver_find(drv, uuid, error);
    gboolean ok;

    if (!obj)
        return FALSE;
    if (!domain_job_begin(obj, job, api, error))
        return FALSE;
    ok = qemu_driver_check_active(obj, error) && op(drv, obj, error);
    domain_job_end(obj);
    return ok;
}

gboolean qemu_driver_domain_shutdown(QemuDriver *drv, const unsigned char *uuid, GError **error)
{
    return qemu_driver_job_running(drv, uuid, DOMAIN_JOB_MODIFY, "domainShutdown",
                                   qemu_process_powerdown, error);
}

/* Suspend and resume take a SUSPEND job, which a migration-out job allows:
 * the migration goes on with the guest paused (or running again), and
 * what the user asked for is what undoing the migration keeps. */
static gboolean qemu_driver_suspend_op(QemuDriver *drv, DomainObj *obj, GError **error)
{
    if (!qemu_process_suspend(drv, obj, error))
        return FALSE;
    domain_job_note_user_pause(obj, TRUE);
    return TRUE;
}

static gboolean qemu_driver_resume_op(QemuDriver *drv, DomainObj *obj, GError **error)
{
    const char *why = domain_job_resume_refused(obj);

    if (why) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s' cannot be resumed now: %s",
                   domain_obj_name(obj), why);
        return FALSE;
    }
    if (!qemu_process_resume(drv, obj, error))
        return FALSE;
    domain_job_note_user_pause(obj, FALSE);
    return TRUE;
}

gboolean qemu_driver_domain_suspend(QemuDriver *drv, const unsigned char *uuid, GError **error)
{
    return qemu_driver_job_running(drv, uuid, DOMAIN_JOB_SUSPEND, "domainSuspend",
                                   qemu_driver_suspend_op, error);
}

gboolean qemu_driver_domain_resume(QemuDriver *drv, const unsigned char *uuid, GError **error)
{
    return qemu_driver_job_running(drv, uuid, DOMAIN_JOB_SUSPEND, "domainResume",
                                   qemu_driver_resume_op, error);
}

gboolean qemu_driver_domain_wait_inactive(QemuDriver *drv, const unsigned char *uuid,
                                          int timeout_ms, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObj) obj = domain_list_find_by_uuid(drv->domains, uuid, 0, &err);
    gint64 end = g_get_monotonic_time() + (gint64)MAX(timeout_ms, 0) * 1000;
    gboolean ok;

    if (!obj)
        return TRUE; /* a transient domain that went away */
    domain_obj_lock(obj);
    /* Every state change that ends a run ends a job (or removes the
     * domain), and both broadcast job_cond. */
    while (!domain_obj_is_removed(obj) && domain_obj_is_active(obj)) {
        if (!g_cond_wait_until(&obj->job_cond, &obj->lock, end))
            break;
    }
    ok = domain_obj_is_removed(obj) || !domain_obj_is_active(obj);
    if (!ok)
        ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT, "domain '%s' is still running after %d ms",
                   domain_obj_name(obj), timeout_ms);
    domain_obj_unlock(obj);
    return ok;
}

gboolean qemu_driver_domain_shutdown_wait(QemuDriver *drv, const unsigned char *uuid,
                                          int timeout_ms, GError **error)
{
    g_autoptr(GError) err = NULL;

    if (!qemu_driver_domain_shutdown(drv, uuid, error))
        return FALSE;
    if (qemu_driver_domain_wait_inactive(drv, uuid, timeout_ms, &err))
        return TRUE;
    ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
               "%s: the guest did not shut down (it may ignore the ACPI power button)",
               err->message);
    return FALSE;
}

guint qemu_driver_connection_closed(QemuDriver *drv, guint64 conn)
{
    guint n = autokill_run(drv->autokill, conn);

    if (n > 0)
        FLOG_INFO("connection %" G_GUINT64_FORMAT " closed: %u autodestroy domain(s)", conn, n);
    return n;
}
