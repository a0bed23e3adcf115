/*
 * offline.c: VIR_MIGRATE_OFFLINE: only the persistent definition moves;
 * no QEMU is involved on either side and no job is held between phases.
 * Begin3 and Perform3 send the definition in the cookie (<domain>), Finish3
 * defines it on the destination, Confirm3 undefines the source with
 * UNDEFINE_SOURCE.  libvirt's client skips Perform3 and sends Finish3 no
 * cookie: Finish3 then defines Begin3's XML, from its parameters.  Like
 * libvirt, the destination keeps it only with PERSIST_DEST.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.offline"

#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

/* A cookie with the identity and the persistent definition. */
static GBytes *offline_cookie(QemuDriver *drv, DomainObj *obj, GError **error)
{
    g_autoptr(MigrationCookie) cookie =
        migration_cookie_new(drv, domain_obj_name(obj), obj->def->uuid, error);
    DomainDef *def = domain_obj_get_persistent_def(obj);
    g_autofree char *xml = NULL;

    if (!cookie)
        return NULL;
    if (!(xml = domain_def_format(def, DOMAIN_FORMAT_SECURE, error)) ||
        cookie_set_persistent(cookie, xml, error) < 0)
        return NULL;
    cookie_set_mandatory(cookie, COOKIE_FEATURE_PERSISTENT);
    return migration_cookie_bake(cookie, error);
}

static gboolean offline_check(DomainObj *obj, unsigned int flags, GError **error)
{
    if (!obj->persistent || !domain_obj_get_persistent_def(obj)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': an offline migration needs a persistent domain",
                   domain_obj_name(obj));
        return FALSE;
    }
    return TRUE;
}

gboolean migration_src_begin_offline(QemuDriver *drv, DomainObj *obj, const TypedParams *params,
                                     unsigned int flags, GBytes **cookie_out, char **xml_out,
                                     GError **error)
{
    const char *user_xml = NULL;
    g_autoptr(GBytes) cookie = NULL;
    g_autofree char *xml = NULL;

    if (!offline_check(obj, flags, error))
        return FALSE;
    if (typed_params_get_string(params, MIGRATION_PARAM_DEST_XML, &user_xml, error) < 0)
        return FALSE;
    if (user_xml)
        xml = g_strdup(user_xml);
    else if (!(xml = domain_def_format(domain_obj_get_persistent_def(obj),
                                       DOMAIN_FORMAT_MIGRATABLE | DOMAIN_FORMAT_SECURE, error)))
        return FALSE;
    if (!(cookie = offline_cookie(drv, obj, error)))
        return FALSE;
    *cookie_out = g_steal_pointer(&cookie);
    *xml_out = g_steal_pointer(&xml);
    return TRUE;
}

gboolean migration_src_perform_offline(QemuDriver *drv, DomainObj *obj, GBytes **cookie_out,
                                       GError **error)
{
    if (!offline_check(obj, 0, error))
        return FALSE;
    *cookie_out = offline_cookie(drv, obj, error);
    return *cookie_out != NULL;
}

gboolean migration_dst_prepare_offline(QemuDriver *drv, MigrationCookie *cookie,
                                       const TypedParams *params, unsigned int flags,
                                       GBytes **cookie_out, GError **error)
{
    g_autoptr(MigrationCookie) reply = NULL;

    if (!(flags & MIGRATION_PERSIST_DEST)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': an offline migration needs PERSIST_DEST", cookie->name);
        return FALSE;
    }
    if (!(reply = migration_cookie_new(drv, cookie->name, cookie->uuid, error)))
        return FALSE;
    *cookie_out = migration_cookie_bake(reply, error);
    return *cookie_out != NULL;
}

gboolean migration_dst_finish_offline(QemuDriver *drv, const TypedParams *params, GBytes *cookie_in,
                                      unsigned int flags, gboolean cancelled, DriverDomain *dom,
                                      GBytes **cookie_out, GError **error)
{
    g_autoptr(MigrationCookie) cookie = NULL;
    const char *xml = NULL, *dest_xml = NULL, *dname = NULL, *name;
    g_autoptr(DomainDef) def = NULL;
    g_autofree char *formatted = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    gboolean ok;

    if (typed_params_get_string(params, MIGRATION_PARAM_PERSIST_XML, &xml, error) < 0 ||
        typed_params_get_string(params, MIGRATION_PARAM_DEST_XML, &dest_xml, error) < 0 ||
        typed_params_get_string(params, MIGRATION_PARAM_DEST_NAME, &dname, error) < 0)
        return FALSE;
    if ((!cookie_in || g_bytes_get_size(cookie_in) == 0) && dest_xml) {
        /* libvirt's client skips Perform, whose cookie has the definition,
         * and sends none: the definition is Begin's, in the parameters. */
        if (!xml)
            xml = dest_xml;
    } else {
        if (!(cookie = migration_cookie_eat(drv, NULL, "finish", cookie_in, FALSE, error)))
            return FALSE;
        if (!xml)
            xml = cookie->persistent;
    }
    name = cookie ? cookie->name : dname && *dname ? dname : "?";
    if (cancelled) {
        ferry_fail(error, FERRY_ERR_OPERATION_ABORTED,
                   "domain '%s': finish: the offline migration was cancelled", name);
        return FALSE;
    }
    if (!xml) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': finish: the cookie carries no definition", name);
        return FALSE;
    }
    if (!(def = domain_def_parse(xml, DOMAIN_PARSE_INACTIVE, error)))
        return FALSE;
    if (cookie && memcmp(def->uuid, cookie->uuid, FERRY_UUID_BUFLEN) != 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': finish: the definition's uuid is not the cookie's", name);
        return FALSE;
    }
    if (dname && *dname) {
        g_free(def->name);
        def->name = g_strdup(dname);
    }
    if (!(formatted = domain_def_format(def, DOMAIN_FORMAT_SECURE, error)))
        return FALSE;
    if (!qemu_driver_define_xml(drv, formatted, &ref, error))
        return FALSE;
    g_free(dom->name);
    dom->name = g_steal_pointer(&ref.name);
    memcpy(dom->uuid, ref.uuid, FERRY_UUID_BUFLEN);
    dom->id = ref.id;
    qemu_domain_ref_clear(&ref);
    g_autoptr(MigrationCookie) reply = migration_cookie_new(drv, dom->name, dom->uuid, error);
    ok = reply && (*cookie_out = migration_cookie_bake(reply, error)) != NULL;
    FLOG_INFO("domain '%s': defined by an offline migration", dom->name);
    return ok;
}

gboolean migration_src_confirm_offline(QemuDriver *drv, const DriverDomain *dom, unsigned int flags,
                                       gboolean cancelled, GError **error)
{
    if (cancelled || !(flags & MIGRATION_UNDEFINE_SOURCE))
        return TRUE;
    return qemu_driver_undefine(drv, dom->uuid, error);
}
