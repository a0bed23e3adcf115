/*
 * cookie_format.c: writing a <qemu-migration> cookie.
 *
 * The cookie is built as a libxml2 tree (which escapes every value) and
 * formatted by xml_format_node: two-space indentation, no XML declaration,
 * parts in libvirt's order, one writer per part in a table.  The same value
 * always formats to the same text, so parse(format(c)) formats to
 * format(c).
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_COOKIE
#define FERRY_LOG_MODULE "conf.cookie"

#include "util/error.h"
#include "util/log.h"
#include "conf/xmlutil.h"
#include "conf/cookie.h"
#include "conf/cookie_priv.h"

static int cookie_format_graphics(const MigrationCookie *cookie, xmlNode *root,
                                  GError **error G_GNUC_UNUSED)
{
    const CookieGraphics *graphics = cookie->graphics;

    if (!graphics)
        return 0;
    xmlNode *node = xml_new_child(root, "graphics");
    xml_set_prop(node, "type", cookie_graphics_type_name(graphics->type));
    xml_set_propf(node, "port", "%d", graphics->port);
    xml_set_prop(node, "listen", graphics->listen);
    /* As libvirt: spice always has a tlsPort (-1 for none), vnc never. */
    if (graphics->type == COOKIE_GRAPHICS_SPICE)
        xml_set_propf(node, "tlsPort", "%d", graphics->tls_port);
    if (graphics->tls_subject) {
        xmlNode *cert = xml_new_child(node, "cert");
        xml_set_prop(cert, "info", "subject");
        xml_set_prop(cert, "value", graphics->tls_subject);
    }
    return 0;
}

static int cookie_format_lockstate(const MigrationCookie *cookie, xmlNode *root,
                                   GError **error G_GNUC_UNUSED)
{
    const CookieLockstate *lockstate = cookie->lockstate;

    if (!lockstate)
        return 0;
    xmlNode *node = xml_new_child(root, "lockstate");
    xml_set_prop(node, "driver", lockstate->driver);
    if (lockstate->leases->len > 0) {
        g_autoptr(GString) text = g_string_new(NULL);

        for (guint i = 0; i < lockstate->leases->len; i++) {
            if (i > 0)
                g_string_append_c(text, ' ');
            g_string_append(text, g_ptr_array_index(lockstate->leases, i));
        }
        xml_new_text_child(node, "leases", text->str);
    }
    return 0;
}

/* Re-reads a stored <domain> or <cpu> and grafts it into the tree. */
static int cookie_format_element(xmlNode *root, const char *element, const char *text, size_t max,
                                 GError **error)
{
    g_autofree char *what = g_strdup_printf("migration cookie: <%s>", element);

    if (!text)
        return 0;
    g_autoptr(xmlDoc) doc = xml_parse(text, max, what, element, FERRY_FROM_COOKIE, error);
    if (!doc)
        return -1;
    xmlNode *copy = xmlDocCopyNode(xmlDocGetRootElement(doc), root->doc, 1);
    if (!copy || !xmlAddChild(root, copy)) {
        xmlFreeNode(copy);
        return ferry_fail(error, FERRY_ERR_INTERNAL, "%s: cannot copy the element", what);
    }
    return 0;
}

static int cookie_format_persistent(const MigrationCookie *cookie, xmlNode *root, GError **error)
{
    return cookie_format_element(root, "domain", cookie->persistent, COOKIE_MAX_SIZE_PERSISTENT,
                                 error);
}

static int cookie_format_cpu(const MigrationCookie *cookie, xmlNode *root, GError **error)
{
    return cookie_format_element(root, "cpu", cookie->cpu, COOKIE_MAX_SIZE, error);
}

static int cookie_format_network(const MigrationCookie *cookie, xmlNode *root,
                                 GError **error G_GNUC_UNUSED)
{
    xmlNode *node = xml_new_child(root, "network");

    for (guint i = 0; i < cookie->interfaces->len; i++) {
        const CookieInterface *iface = g_ptr_array_index(cookie->interfaces, i);
        xmlNode *child = xml_new_child(node, "interface");

        xml_set_propf(child, "index", "%u", iface->index);
        xml_set_prop(child, "vporttype", cookie_vport_type_name(iface->vporttype));
        if (iface->portdata)
            xml_new_text_child(child, "portdata", iface->portdata);
    }
    return 0;
}

static int cookie_format_nbd(const MigrationCookie *cookie, xmlNode *root,
                             GError **error G_GNUC_UNUSED)
{
    const CookieNbd *nbd = cookie->nbd;

    if (!nbd)
        return 0;
    xmlNode *node = xml_new_child(root, "nbd");
    if (nbd->port > 0)
        xml_set_propf(node, "port", "%d", nbd->port);
    for (guint i = 0; i < nbd->disks->len; i++) {
        const CookieNbdDisk *disk = g_ptr_array_index(nbd->disks, i);
        xmlNode *child = xml_new_child(node, "disk");

        xml_set_prop(child, "target", disk->target);
        /* libvirt refuses a <disk> without a capacity. */
        xml_set_propf(child, "capacity", "%llu", disk->capacity);
    }
    return 0;
}

static int cookie_format_statistics(const MigrationCookie *cookie, xmlNode *root,
                                    GError **error G_GNUC_UNUSED)
{
    const CookieStatistics *stats = cookie->stats;

    if (!stats)
        return 0;
    xmlNode *node = xml_new_child(root, "statistics");
    for (int stat = 0; stat < COOKIE_STAT_LAST; stat++) {
        guint64 value = 0;
        char text[32];

        if (!cookie_stats_get(stats, stat, &value))
            continue;
        if (stat == COOKIE_STAT_DELTA)
            g_snprintf(text, sizeof(text), "%" G_GINT64_FORMAT, (gint64)value);
        else
            g_snprintf(text, sizeof(text), "%" G_GUINT64_FORMAT, value);
        xml_new_text_child(node, cookie_stat_name(stat), text);
    }
    return 0;
}

static int cookie_format_allow_reboot(const MigrationCookie *cookie, xmlNode *root,
                                      GError **error G_GNUC_UNUSED)
{
    xml_set_prop(xml_new_child(root, "allowReboot"), "value", cookie->allow_reboot ? "yes" : "no");
    return 0;
}

static int cookie_format_capabilities(const MigrationCookie *cookie, xmlNode *root,
                                      GError **error G_GNUC_UNUSED)
{
    xmlNode *node = xml_new_child(root, "capabilities");

    for (guint i = 0; i < cookie->capabilities->len; i++) {
        const CookieCapability *cap = g_ptr_array_index(cookie->capabilities, i);
        xmlNode *child = xml_new_child(node, "cap");

        xml_set_prop(child, "name", cap->name);
        xml_set_prop(child, "auto", cap->auto_on ? "yes" : "no");
    }
    return 0;
}

static int cookie_format_backend_transfer(const MigrationCookie *cookie, xmlNode *root,
                                          GError **error G_GNUC_UNUSED)
{
    xmlNode *node = xml_new_child(root, "backendTransfer");

    for (guint i = 0; i < cookie->backends->len; i++) {
        const CookieBackend *backend = g_ptr_array_index(cookie->backends, i);
        xmlNode *child = xml_new_child(node, "backend");

        xml_set_prop(child, "type", backend->type);
        xml_set_prop(child, "alias", backend->alias);
        for (guint j = 0; j < backend->requirements->len; j++) {
            const CookieRequirement *req = g_ptr_array_index(backend->requirements, j);
            xmlNode *require = xml_new_child(child, "require");

            xml_set_prop(require, "name", req->name);
            xml_set_prop(require, "value", req->value);
        }
    }
    return 0;
}

typedef int (*CookieFormatFunc)(const MigrationCookie *cookie, xmlNode *root, GError **error);

/* Writers by feature, called in this (libvirt's) order; NULL for the
 * features that are only a flag. */
static const CookieFormatFunc cookie_writers[] = {
    [COOKIE_FEATURE_GRAPHICS] = cookie_format_graphics,
    [COOKIE_FEATURE_LOCKSTATE] = cookie_format_lockstate,
    [COOKIE_FEATURE_PERSISTENT] = cookie_format_persistent,
    [COOKIE_FEATURE_NETWORK] = cookie_format_network,
    [COOKIE_FEATURE_NBD] = cookie_format_nbd,
    [COOKIE_FEATURE_STATISTICS] = cookie_format_statistics,
    [COOKIE_FEATURE_MEMORY_HOTPLUG] = NULL,
    [COOKIE_FEATURE_CPU_HOTPLUG] = NULL,
    [COOKIE_FEATURE_CPU] = cookie_format_cpu,
    [COOKIE_FEATURE_ALLOW_REBOOT] = cookie_format_allow_reboot,
    [COOKIE_FEATURE_CAPABILITIES] = cookie_format_capabilities,
    [COOKIE_FEATURE_BACKEND_TRANSFER] = cookie_format_backend_transfer,
};
G_STATIC_ASSERT(G_N_ELEMENTS(cookie_writers) == COOKIE_FEATURE_LAST);

char *cookie_format(const MigrationCookie *cookie, GError **error)
{
    char uuidstr[FERRY_UUID_STRING_BUFLEN];

    if (!cookie->name || !cookie->hostname) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "migration cookie: cannot format a cookie without %s",
                   !cookie->name ? "a domain name" : "a hostname");
        return NULL;
    }

    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *root = xmlNewDocNode(doc, NULL, (const xmlChar *)"qemu-migration", NULL);
    xmlDocSetRootElement(doc, root);

    xml_new_text_child(root, "name", cookie->name);
    xml_new_text_child(root, "uuid", ferry_uuid_format(cookie->uuid, uuidstr));
    xml_new_text_child(root, "hostname", cookie->hostname);
    xml_new_text_child(root, "hostuuid", ferry_uuid_format(cookie->hostuuid, uuidstr));
    for (int feature = 0; feature < COOKIE_FEATURE_LAST; feature++) {
        if (cookie->mandatory & COOKIE_FLAG(feature))
            xml_set_prop(xml_new_child(root, "feature"), "name", cookie_feature_name(feature));
    }
    for (int feature = 0; feature < COOKIE_FEATURE_LAST; feature++) {
        if ((cookie->flags & COOKIE_FLAG(feature)) && cookie_writers[feature] &&
            cookie_writers[feature](cookie, root, error) < 0)
            return NULL;
    }

    g_autofree char *text = xml_format_node(root);
    gboolean persistent =
        (cookie->flags & COOKIE_FLAG(COOKIE_FEATURE_PERSISTENT)) && cookie->persistent;
    size_t max = persistent ? COOKIE_MAX_SIZE_PERSISTENT : COOKIE_MAX_SIZE;
    size_t len = strlen(text);
    if (len > max) {
        ferry_fail(error, FERRY_ERR_OVERFLOW,
                   "migration cookie: formatted, %zu bytes, larger than the limit of %zu "
                   "bytes%s",
                   len, max, persistent ? "" : " for a cookie without a <domain>");
        return NULL;
    }
    return g_steal_pointer(&text);
}
