/*
 * graphics.c: graphics relocation on the source.  Before `migrate`,
 * Perform3 tells the source's SPICE server where the destination's
 * listens (client_migrate_info, from cookie 2's <graphics>), so that the
 * connected viewers follow the guest once the migration completes.  VNC
 * has no such thing in QEMU: its viewers reconnect by themselves.  A
 * failure is a warning only: the guest migrates, its viewers stay behind.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.graphics"

#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

static gboolean relocate_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    const CookieGraphics *g = opaque;

    return qmp_client_migrate_info(mon, cookie_graphics_type_name(g->type), g->listen, g->port,
                                   g->tls_port, g->tls_subject, error);
}

gboolean migration_src_graphics_relocate(DomainObj *obj, const MigrationCookie *cookie)
{
    const char *name = domain_obj_name(obj);
    const CookieGraphics *g = cookie ? cookie->graphics : NULL;
    g_autoptr(GError) err = NULL;

    if (!g || !(cookie->flags & COOKIE_FLAG(COOKIE_FEATURE_GRAPHICS)) ||
        g->type != COOKIE_GRAPHICS_SPICE || !migration_has_spice(obj->def))
        return TRUE;
    if (g->port < 0 && g->tls_port < 0) {
        FLOG_WARN("domain '%s': the destination's SPICE display has no port: its viewers will "
                  "not follow the guest",
                  name);
        return TRUE;
    }
    if (!migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, relocate_cb, (gpointer)g,
                               &err)) {
        FLOG_WARN("domain '%s': SPICE viewers will not follow the guest to %s port %d tls-port "
                  "%d: client_migrate_info: %s",
                  name, g->listen, g->port, g->tls_port, err->message);
        return TRUE;
    }
    FLOG_INFO("domain '%s': SPICE viewers will follow the guest to %s port %d tls-port %d", name,
              g->listen, g->port, g->tls_port);
    return TRUE;
}
