/*
 * cookie_use.c: the migration cookie as the phases use it: who we are,
 * formatting for the wire (NUL-terminated) and parsing what the peer sent.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.cookie"

#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

void migration_cookie_host(QemuDriver *drv, CookieHost *host)
{
    host->hostname = qemu_driver_get_hostname(drv);
    memcpy(host->uuid, qemu_driver_get_host_uuid(drv), FERRY_UUID_BUFLEN);
}

MigrationCookie *migration_cookie_new(QemuDriver *drv, const char *name, const unsigned char *uuid,
                                      GError **error)
{
    g_autoptr(MigrationCookie) cookie = cookie_new();
    CookieHost host;

    migration_cookie_host(drv, &host);
    if (cookie_set_identity(cookie, name, uuid, &host, error) < 0)
        return NULL;
    return g_steal_pointer(&cookie);
}

GBytes *migration_cookie_bake(MigrationCookie *cookie, GError **error)
{
    g_autofree char *xml = cookie_format(cookie, error);

    if (!xml)
        return NULL;
    gsize len = strlen(xml) + 1;
    return g_bytes_new_take(g_steal_pointer(&xml), len);
}

MigrationCookie *migration_cookie_eat(QemuDriver *drv, const char *name, const char *phase,
                                      GBytes *bytes, gboolean optional, GError **error)
{
    gsize len = 0;
    const char *data = bytes ? g_bytes_get_data(bytes, &len) : NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(MigrationCookie) cookie = NULL;

    if (!data || len == 0) {
        if (!optional)
            ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain '%s': %s: no migration cookie",
                       name ? name : "?", phase);
        return NULL;
    }
    cookie = cookie_parse(data, len, NULL, &err);
    if (!cookie) {
        ferry_fail(error, ferry_error_code_of(err), "domain '%s': %s: %s", name ? name : "?", phase,
                   err->message);
        return NULL;
    }
    if (memcmp(cookie->hostuuid, qemu_driver_get_host_uuid(drv), FERRY_UUID_BUFLEN) == 0) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': migration cookie hostuuid equals ours (migrating to the same "
                   "host)",
                   name ? name : cookie->name);
        return NULL;
    }
    return g_steal_pointer(&cookie);
}
