/*
 * cookie_use.c: the migration cookie as the phases use it: who we are,
 * formatting for the wire (NUL-terminated) and parsing what the peer sent.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.cookie"

#include "driver/qemu_command.h"
#include "driver/qemu_graphics.h"
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

/* The address the graphics listen on: theirs, or QEMU's default. */
static const char *graphics_listen(const DomainGraphicsDef *g)
{
    return g->listen ? g->listen : QEMU_GRAPHICS_DEFAULT_LISTEN;
}

static gboolean graphics_is_wildcard(const char *addr)
{
    return g_str_equal(addr, "0.0.0.0") || g_str_equal(addr, "::") || g_str_equal(addr, "[::]");
}

static const DomainGraphicsDef *graphics_find(const DomainDef *def, DomainGraphicsType type)
{
    for (gsize i = 0; i < def->ngraphics; i++) {
        if (def->graphics[i]->type == type)
            return def->graphics[i];
    }
    return NULL;
}

gboolean migration_has_spice(const DomainDef *def)
{
    return graphics_find(def, DOMAIN_GRAPHICS_SPICE) != NULL;
}

gboolean migration_cookie_src_graphics(MigrationCookie *cookie, const DomainDef *def,
                                       GError **error)
{
    const DomainGraphicsDef *g = graphics_find(def, DOMAIN_GRAPHICS_SPICE);
    CookieGraphicsType type = COOKIE_GRAPHICS_SPICE;

    if (!g) {
        g = graphics_find(def, DOMAIN_GRAPHICS_VNC);
        type = COOKIE_GRAPHICS_VNC;
    }
    if (!g)
        return TRUE;
    return cookie_set_graphics(cookie, type, g->port,
                               type == COOKIE_GRAPHICS_SPICE ? g->tls_port : -1, graphics_listen(g),
                               NULL, error) == 0;
}

gboolean migration_cookie_dst_graphics(QemuDriver *drv, MigrationCookie *cookie,
                                       const DomainDef *def, const char *host, GError **error)
{
    const DomainGraphicsDef *g = graphics_find(def, DOMAIN_GRAPHICS_SPICE);
    g_autofree char *subject = NULL;
    const char *listen;

    if (!g)
        return TRUE;
    listen = graphics_listen(g);
    /* every address: the viewer goes where the source was told to send
     * the migration */
    if (graphics_is_wildcard(listen))
        listen = host;
    /* SPICE over TLS: the viewers check that the destination's SPICE
     * shows the certificate they are told about */
    if (g->tls_port >= 0 && qemu_driver_get_spice_tls_dir(drv)) {
        subject = qemu_graphics_spice_tls_subject(drv, error);
        if (!subject) {
            g_prefix_error(error, "domain '%s': ", def->name);
            return FALSE;
        }
    }
    return cookie_set_graphics(cookie, COOKIE_GRAPHICS_SPICE, g->port, g->tls_port, listen, subject,
                               error) == 0;
}

const char *migration_advertised_host(QemuDriver *drv)
{
    const char *conf_listen = qemu_driver_get_migration_address(drv);
    const char *conf_host = qemu_driver_get_migration_host(drv);

    if (conf_host)
        return conf_host;
    if (conf_listen && !graphics_is_wildcard(conf_listen))
        return conf_listen;
    return qemu_driver_get_hostname(drv);
}
