/*
 * begin.c: Begin3 on the source.  Takes the migration-out job and keeps it
 * until Confirm3 (change protection), checks that the domain can migrate,
 * gives the XML the destination will run (the migratable form, or the
 * user's destination_xml once it passed the ABI check) and cookie 1 (who,
 * from where, the lock state, the graphics, the migration capabilities).  On failure nothing
 * changed.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.begin"

#include "driver/lock_manager.h"
#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

/* The domain can migrate live: it runs (or is paused) and has nothing
 * ferry cannot move. */
static gboolean begin_check_domain(DomainObj *obj, unsigned int flags, GError **error)
{
    const char *name = domain_obj_name(obj);
    DomainState state = domain_obj_get_state(obj, NULL);

    if (!domain_obj_is_active(obj)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s' is not running (use an offline migration to move its definition)",
                   name);
        return FALSE;
    }
    if (state != DOMAIN_STATE_RUNNING && state != DOMAIN_STATE_PAUSED) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "domain '%s' cannot migrate while %s", name,
                   domain_state_to_string(state));
        return FALSE;
    }
    if (obj->def->nnets > 0) {
        /* the taps are local; backend transfer comes later */
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "domain '%s': migrating network interfaces is not supported yet", name);
        return FALSE;
    }
    return TRUE;
}

/* The XML to send: destination_xml when given (ABI-checked), else ours in
 * migratable form. */
static char *begin_xml(DomainObj *obj, const TypedParams *params, GError **error)
{
    const char *name = domain_obj_name(obj);
    const char *user_xml = NULL;

    if (typed_params_get_string(params, MIGRATION_PARAM_DEST_XML, &user_xml, error) < 0)
        return NULL;
    if (!user_xml)
        return domain_def_format(obj->def, DOMAIN_FORMAT_MIGRATABLE | DOMAIN_FORMAT_SECURE, error);

    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def = domain_def_parse(user_xml, DOMAIN_PARSE_INACTIVE, &err);
    if (!def) {
        ferry_fail(error, FERRY_ERR_XML, "domain '%s': begin: destination XML: %s", name,
                   err->message);
        return NULL;
    }
    if (memcmp(def->uuid, obj->def->uuid, FERRY_UUID_BUFLEN) != 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': begin: the destination XML has another uuid", name);
        return NULL;
    }
    if (!domain_def_check_abi_stability(obj->def, def, &err)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': begin: the destination XML changes the guest: %s", name,
                   err->message);
        return NULL;
    }
    return domain_def_format(def, DOMAIN_FORMAT_MIGRATABLE | DOMAIN_FORMAT_SECURE, error);
}

/* Cookie 1: who, the lock state, the graphics as they listen here and the
 * migration capabilities this QEMU has (auto='yes': this migration turns
 * it on here). */
static GBytes *begin_cookie(QemuDriver *drv, DomainObj *obj, const TypedParams *params,
                            unsigned int flags, GError **error)
{
    g_autoptr(MigrationCookie) cookie =
        migration_cookie_new(drv, domain_obj_name(obj), obj->def->uuid, error);
    LockHandle *lock = qemu_process_get_lock(qemu_process_get(obj));
    g_autoptr(QemuCaps) caps = NULL;

    if (!cookie)
        return NULL;
    cookie_set_mandatory(cookie, COOKIE_FEATURE_LOCKSTATE);
    if (lock && !lock_manager_inquire_cookie(lock, cookie, error))
        return NULL;
    if (!migration_cookie_src_graphics(cookie, obj->def, error) ||
        !(caps = migration_get_caps(drv, obj, error)) ||
        !migration_params_cookie_caps(cookie, caps, params, flags, MIGRATION_SIDE_SRC, error))
        return NULL;
    return migration_cookie_bake(cookie, error);
}

gboolean migration_src_begin(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                             const TypedParams *params, unsigned int flags, GBytes **cookie_out,
                             char **xml_out, GError **error)
{
    g_autoptr(DomainObjLocked) obj = migration_find(drv, dom->uuid, error);
    g_autoptr(GBytes) cookie = NULL;
    g_autofree char *xml = NULL;
    unsigned long long job_flags = flags;

    if (!obj)
        return FALSE;
    if (!migration_params_check(domain_obj_name(obj), "begin", params, flags, error))
        return FALSE;
    if (flags & MIGRATION_OFFLINE)
        return migration_src_begin_offline(drv, obj, params, flags, cookie_out, xml_out, error);
    if (!begin_check_domain(obj, flags, error))
        return FALSE;
    if (domain_obj_get_state(obj, NULL) == DOMAIN_STATE_RUNNING)
        job_flags |= MIGRATION_JOB_SRC_WAS_RUNNING;
    if (!domain_job_begin_async(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "domainMigrateBegin3Params",
                                job_flags, error))
        return FALSE;
    /* suspend and resume go on during the migration (SUSPEND) */
    domain_job_set_mask(obj, DOMAIN_JOB_DEFAULT_MASK | DOMAIN_JOB_MASK(DOMAIN_JOB_ABORT) |
                                 DOMAIN_JOB_MASK(DOMAIN_JOB_MIGRATION_OP) |
                                 DOMAIN_JOB_MASK(DOMAIN_JOB_SUSPEND));
    /* Checked again under the job: the domain may have stopped meanwhile. */
    if (!begin_check_domain(obj, flags, error) ||
        !migration_set_phase(drv, obj, DOMAIN_MIGRATION_PHASE_BEGIN3, error) ||
        !(xml = begin_xml(obj, params, error)) ||
        !(cookie = begin_cookie(drv, obj, params, flags, error))) {
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);
        migration_save_status(drv, obj);
        return FALSE;
    }
    FLOG_INFO("domain '%s': migration begins (flags 0x%x)", domain_obj_name(obj), flags);
    /* The job stays until Confirm3 (or Perform3's failure, or the
     * client's connection closing) ends it. */
    migration_owner_add(drv, conn_id, obj->def->uuid);
    domain_job_async_continue(obj);
    *cookie_out = g_steal_pointer(&cookie);
    *xml_out = g_steal_pointer(&xml);
    return TRUE;
}
