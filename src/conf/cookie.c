/*
 * cookie.c: the migration cookie's value, its setters and checks.
 *
 * Parsing is in cookie_parse.c, formatting in cookie_format.c; both go
 * through the setters here, so that what is parsed and what is set are
 * validated by the same code.
 */
#include <config.h>

#include <stddef.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_COOKIE
#define FERRY_LOG_MODULE "conf.cookie"

#include "util/error.h"
#include "util/log.h"
#include "conf/xmlutil.h"
#include "conf/cookie.h"
#include "conf/cookie_priv.h"

/* libvirt's feature names (qemuMigrationCookieFlag), then ferry's. */
static const char *const cookie_feature_names[] = {
    [COOKIE_FEATURE_GRAPHICS] = "graphics",
    [COOKIE_FEATURE_LOCKSTATE] = "lockstate",
    [COOKIE_FEATURE_PERSISTENT] = "persistent",
    [COOKIE_FEATURE_NETWORK] = "network",
    [COOKIE_FEATURE_NBD] = "nbd",
    [COOKIE_FEATURE_STATISTICS] = "statistics",
    [COOKIE_FEATURE_MEMORY_HOTPLUG] = "memory-hotplug",
    [COOKIE_FEATURE_CPU_HOTPLUG] = "cpu-hotplug",
    [COOKIE_FEATURE_CPU] = "cpu",
    [COOKIE_FEATURE_ALLOW_REBOOT] = "allowReboot",
    [COOKIE_FEATURE_CAPABILITIES] = "capabilities",
    [COOKIE_FEATURE_BACKEND_TRANSFER] = "backend-transfer",
};
G_STATIC_ASSERT(G_N_ELEMENTS(cookie_feature_names) == COOKIE_FEATURE_LAST);
G_STATIC_ASSERT(COOKIE_FEATURE_LAST <= 32);

const char *const cookie_graphics_type_names[] = {
    [COOKIE_GRAPHICS_VNC] = "vnc",
    [COOKIE_GRAPHICS_SPICE] = "spice",
    [COOKIE_GRAPHICS_LAST] = NULL,
};
G_STATIC_ASSERT(G_N_ELEMENTS(cookie_graphics_type_names) == COOKIE_GRAPHICS_LAST + 1);

const char *const cookie_vport_type_names[] = {
    [COOKIE_VPORT_NONE] = "none",        [COOKIE_VPORT_8021QBG] = "802.1Qbg",
    [COOKIE_VPORT_8021QBH] = "802.1Qbh", [COOKIE_VPORT_OPENVSWITCH] = "openvswitch",
    [COOKIE_VPORT_MIDONET] = "midonet",  [COOKIE_VPORT_LAST] = NULL,
};
G_STATIC_ASSERT(G_N_ELEMENTS(cookie_vport_type_names) == COOKIE_VPORT_LAST + 1);

#define STAT(id, field) [id] = { #field, offsetof(CookieStatistics, field) }
const CookieStatInfo cookie_stat_info[] = {
    STAT(COOKIE_STAT_STARTED, started),
    STAT(COOKIE_STAT_STOPPED, stopped),
    STAT(COOKIE_STAT_SENT, sent),
    STAT(COOKIE_STAT_DELTA, delta),
    STAT(COOKIE_STAT_TIME_ELAPSED, time_elapsed),
    STAT(COOKIE_STAT_TIME_ELAPSED_NET, time_elapsed_net),
    STAT(COOKIE_STAT_TIME_REMAINING, time_remaining),
    STAT(COOKIE_STAT_DOWNTIME, downtime),
    STAT(COOKIE_STAT_DOWNTIME_NET, downtime_net),
    STAT(COOKIE_STAT_SETUP_TIME, setup_time),
    STAT(COOKIE_STAT_DATA_TOTAL, data_total),
    STAT(COOKIE_STAT_DATA_PROCESSED, data_processed),
    STAT(COOKIE_STAT_DATA_REMAINING, data_remaining),
    STAT(COOKIE_STAT_MEMORY_TOTAL, memory_total),
    STAT(COOKIE_STAT_MEMORY_PROCESSED, memory_processed),
    STAT(COOKIE_STAT_MEMORY_REMAINING, memory_remaining),
    STAT(COOKIE_STAT_MEMORY_BPS, memory_bps),
    STAT(COOKIE_STAT_MEMORY_CONSTANT, memory_constant),
    STAT(COOKIE_STAT_MEMORY_NORMAL, memory_normal),
    STAT(COOKIE_STAT_MEMORY_NORMAL_BYTES, memory_normal_bytes),
    STAT(COOKIE_STAT_MEMORY_DIRTY_RATE, memory_dirty_rate),
    STAT(COOKIE_STAT_MEMORY_ITERATION, memory_iteration),
    STAT(COOKIE_STAT_MEMORY_POSTCOPY_REQUESTS, memory_postcopy_requests),
    STAT(COOKIE_STAT_MEMORY_PAGE_SIZE, memory_page_size),
    STAT(COOKIE_STAT_DISK_TOTAL, disk_total),
    STAT(COOKIE_STAT_DISK_PROCESSED, disk_processed),
    STAT(COOKIE_STAT_DISK_REMAINING, disk_remaining),
    STAT(COOKIE_STAT_DISK_BPS, disk_bps),
    STAT(COOKIE_STAT_COMPRESSION_CACHE, compression_cache),
    STAT(COOKIE_STAT_COMPRESSION_BYTES, compression_bytes),
    STAT(COOKIE_STAT_COMPRESSION_PAGES, compression_pages),
    STAT(COOKIE_STAT_COMPRESSION_CACHE_MISSES, compression_cache_misses),
    STAT(COOKIE_STAT_COMPRESSION_OVERFLOW, compression_overflow),
    STAT(COOKIE_STAT_AUTO_CONVERGE_THROTTLE, auto_converge_throttle),
};
#undef STAT
G_STATIC_ASSERT(G_N_ELEMENTS(cookie_stat_info) == COOKIE_STAT_LAST);
G_STATIC_ASSERT(COOKIE_STAT_LAST <= 64);
G_STATIC_ASSERT(sizeof(gint64) == sizeof(guint64));

const char *cookie_feature_name(CookieFeature feature)
{
    if ((int)feature < 0 || feature >= COOKIE_FEATURE_LAST)
        return NULL;
    return cookie_feature_names[feature];
}

int cookie_feature_from_name(const char *name)
{
    for (int i = 0; name && i < COOKIE_FEATURE_LAST; i++) {
        if (g_str_equal(name, cookie_feature_names[i]))
            return i;
    }
    return -1;
}

const char *cookie_graphics_type_name(CookieGraphicsType type)
{
    if ((int)type < 0 || type >= COOKIE_GRAPHICS_LAST)
        return NULL;
    return cookie_graphics_type_names[type];
}

const char *cookie_vport_type_name(CookieVportType type)
{
    if ((int)type < 0 || type >= COOKIE_VPORT_LAST)
        return NULL;
    return cookie_vport_type_names[type];
}

const char *cookie_stat_name(CookieStat stat)
{
    if ((int)stat < 0 || stat >= COOKIE_STAT_LAST)
        return NULL;
    return cookie_stat_info[stat].name;
}

int cookie_stat_from_name(const char *name)
{
    for (int i = 0; name && i < COOKIE_STAT_LAST; i++) {
        if (g_str_equal(name, cookie_stat_info[i].name))
            return i;
    }
    return -1;
}

void cookie_stats_set(CookieStatistics *stats, CookieStat stat, guint64 value)
{
    g_return_if_fail(stats && (int)stat >= 0 && stat < COOKIE_STAT_LAST);
    /* delta is a gint64 of the same size: storing the bits is the cast. */
    memcpy((char *)stats + cookie_stat_info[stat].offset, &value, sizeof(value));
    stats->present |= COOKIE_STAT_FLAG(stat);
}

gboolean cookie_stats_get(const CookieStatistics *stats, CookieStat stat, guint64 *value)
{
    if (!stats || (int)stat < 0 || stat >= COOKIE_STAT_LAST ||
        !(stats->present & COOKIE_STAT_FLAG(stat)))
        return FALSE;
    memcpy(value, (const char *)stats + cookie_stat_info[stat].offset, sizeof(*value));
    return TRUE;
}

/* ------------------------------------------------------------ lifetime */

static void cookie_graphics_free(CookieGraphics *graphics)
{
    if (!graphics)
        return;
    g_free(graphics->listen);
    g_free(graphics->tls_subject);
    g_free(graphics);
}

static void cookie_lockstate_free(CookieLockstate *lockstate)
{
    if (!lockstate)
        return;
    g_free(lockstate->driver);
    g_ptr_array_unref(lockstate->leases);
    g_free(lockstate);
}

static void cookie_interface_free(CookieInterface *iface)
{
    g_free(iface->portdata);
    g_free(iface);
}

static void cookie_nbd_disk_free(CookieNbdDisk *disk)
{
    g_free(disk->target);
    g_free(disk);
}

static void cookie_nbd_free(CookieNbd *nbd)
{
    if (!nbd)
        return;
    g_ptr_array_unref(nbd->disks);
    g_free(nbd);
}

static void cookie_capability_free(CookieCapability *cap)
{
    g_free(cap->name);
    g_free(cap);
}

static void cookie_requirement_free(CookieRequirement *req)
{
    g_free(req->name);
    g_free(req->value);
    g_free(req);
}

static void cookie_backend_free(CookieBackend *backend)
{
    g_free(backend->type);
    g_free(backend->alias);
    g_ptr_array_unref(backend->requirements);
    g_free(backend);
}

MigrationCookie *cookie_new(void)
{
    MigrationCookie *cookie = g_new0(MigrationCookie, 1);

    cookie->interfaces = g_ptr_array_new_with_free_func((GDestroyNotify)cookie_interface_free);
    cookie->capabilities = g_ptr_array_new_with_free_func((GDestroyNotify)cookie_capability_free);
    cookie->backends = g_ptr_array_new_with_free_func((GDestroyNotify)cookie_backend_free);
    return cookie;
}

void cookie_free(MigrationCookie *cookie)
{
    if (!cookie)
        return;
    g_free(cookie->name);
    g_free(cookie->hostname);
    cookie_graphics_free(cookie->graphics);
    cookie_lockstate_free(cookie->lockstate);
    g_free(cookie->persistent);
    g_ptr_array_unref(cookie->interfaces);
    cookie_nbd_free(cookie->nbd);
    g_free(cookie->stats);
    g_free(cookie->cpu);
    g_ptr_array_unref(cookie->capabilities);
    g_ptr_array_unref(cookie->backends);
    g_free(cookie);
}

/* ------------------------------------------------------------ validation */

char *cookie_quote(const char *value)
{
    const size_t max = 64;
    /* Messages are UTF-8 even when a caller's value is not. */
    g_autofree char *valid = g_utf8_make_valid(value, -1);
    size_t len = strlen(valid);

    if (len <= max)
        return g_steal_pointer(&valid);
    /* Cut on a character boundary. */
    while (len > 0 && (len > max || ((unsigned char)valid[len] & 0xC0) == 0x80))
        len--;
    return g_strdup_printf("%.*s...", (int)len, valid);
}

static gboolean cookie_token_char(char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '+';
}

int cookie_check_text(const char *value, CookieTextKind kind, size_t max, const char *element,
                      const char *attr, GError **error)
{
    g_autofree char *quoted = cookie_quote(value ? value : "");
    g_autofree char *where = attr ? g_strdup_printf("<%s %s='%s'>", element, attr, quoted)
                                  : g_strdup_printf("<%s>%s</%s>", element, quoted, element);
    const char *problem = NULL;

    if (!value || !*value) {
        problem = "must not be empty";
    } else if (strlen(value) > max) {
        return ferry_fail(error, FERRY_ERR_OVERFLOW, "migration cookie: %s: longer than %zu bytes",
                          where, max);
    } else if (!g_utf8_validate(value, -1, NULL)) {
        problem = "not valid UTF-8";
    } else {
        for (const char *p = value; *p && !problem; p++) {
            unsigned char c = (unsigned char)*p;

            if (kind == COOKIE_TEXT_TOKEN && !cookie_token_char(*p))
                problem = "only letters, digits and '-_.:+' are allowed";
            else if (kind == COOKIE_TEXT_WORD && (c <= ' ' || c == 0x7f))
                problem = "must not contain blanks or control characters";
            else if (kind == COOKIE_TEXT_LINE && (c < ' ' || c == 0x7f))
                problem = "must not contain control characters";
        }
    }
    if (problem)
        return ferry_fail(error, FERRY_ERR_XML, "migration cookie: %s: %s", where, problem);
    return 0;
}

static int cookie_check_port(int port, const char *element, const char *attr, GError **error)
{
    if (port < -1 || port > 65535)
        return ferry_fail(error, FERRY_ERR_XML,
                          "migration cookie: <%s %s='%d'>: not a port number "
                          "(0 to 65535, or -1 for none)",
                          element, attr, port);
    return 0;
}

/* ------------------------------------------------------------ setters */

int cookie_set_identity(MigrationCookie *cookie, const char *name, const unsigned char *uuid,
                        const CookieHost *host, GError **error)
{
    g_return_val_if_fail(uuid != NULL, -1);
    if (cookie_check_text(name, COOKIE_TEXT_LINE, COOKIE_NAME_MAX, "name", NULL, error) < 0 ||
        cookie_check_text(host ? host->hostname : NULL, COOKIE_TEXT_WORD, COOKIE_HOSTNAME_MAX,
                          "hostname", NULL, error) < 0)
        return -1;
    g_free(cookie->name);
    cookie->name = g_strdup(name);
    memcpy(cookie->uuid, uuid, FERRY_UUID_BUFLEN);
    g_free(cookie->hostname);
    cookie->hostname = g_strdup(host->hostname);
    memcpy(cookie->hostuuid, host->uuid, FERRY_UUID_BUFLEN);
    return 0;
}

void cookie_set_mandatory(MigrationCookie *cookie, CookieFeature feature)
{
    g_return_if_fail((int)feature >= 0 && feature < COOKIE_FEATURE_LAST);
    cookie->mandatory |= COOKIE_FLAG(feature);
}

int cookie_set_graphics(MigrationCookie *cookie, CookieGraphicsType type, int port, int tls_port,
                        const char *listen, const char *tls_subject, GError **error)
{
    if ((int)type < 0 || type >= COOKIE_GRAPHICS_LAST)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "migration cookie: <graphics>: unknown type %d", (int)type);
    if (cookie_check_port(port, "graphics", "port", error) < 0 ||
        cookie_check_port(tls_port, "graphics", "tlsPort", error) < 0)
        return -1;
    if (type != COOKIE_GRAPHICS_SPICE && tls_port != -1)
        return ferry_fail(error, FERRY_ERR_XML,
                          "migration cookie: <graphics type='%s' tlsPort='%d'>: only spice "
                          "has a TLS port",
                          cookie_graphics_type_names[type], tls_port);
    /* libvirt refuses <graphics> without a listen address. */
    if (cookie_check_text(listen, COOKIE_TEXT_WORD, COOKIE_VALUE_MAX, "graphics", "listen", error) <
        0)
        return -1;
    if (tls_subject && cookie_check_text(tls_subject, COOKIE_TEXT_LINE, COOKIE_VALUE_MAX, "cert",
                                         "value", error) < 0)
        return -1;

    CookieGraphics *graphics = g_new0(CookieGraphics, 1);
    graphics->type = type;
    graphics->port = port;
    graphics->tls_port = tls_port;
    graphics->listen = g_strdup(listen);
    graphics->tls_subject = g_strdup(tls_subject);
    cookie_graphics_free(cookie->graphics);
    cookie->graphics = graphics;
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_GRAPHICS);
    return 0;
}

int cookie_set_lockstate(MigrationCookie *cookie, const char *driver, GError **error)
{
    if (cookie_check_text(driver, COOKIE_TEXT_TOKEN, COOKIE_TOKEN_MAX, "lockstate", "driver",
                          error) < 0)
        return -1;

    CookieLockstate *lockstate = g_new0(CookieLockstate, 1);
    lockstate->driver = g_strdup(driver);
    lockstate->leases = g_ptr_array_new_with_free_func(g_free);
    cookie_lockstate_free(cookie->lockstate);
    cookie->lockstate = lockstate;
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_LOCKSTATE);
    return 0;
}

int cookie_add_lease(MigrationCookie *cookie, const char *lease, GError **error)
{
    if (!cookie->lockstate)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "migration cookie: <leases>: no <lockstate driver> set");
    if (cookie_check_text(lease, COOKIE_TEXT_WORD, COOKIE_VALUE_MAX, "leases", NULL, error) < 0)
        return -1;
    if (cookie->lockstate->leases->len >= COOKIE_LEASES_MAX)
        return ferry_fail(error, FERRY_ERR_OVERFLOW,
                          "migration cookie: <leases>: more than %d leases", COOKIE_LEASES_MAX);
    g_ptr_array_add(cookie->lockstate->leases, g_strdup(lease));
    return 0;
}

/* Stores element (a <domain> or <cpu>) as canonical text. */
int cookie_set_element_text(MigrationCookie *cookie, CookieFeature feature, xmlNode *element,
                            GError **error)
{
    /* Formatted on its own, in a document of its own: copying declares the
     * namespaces it uses that were declared further up (on the cookie). */
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *copy = xmlDocCopyNode(element, doc, 1);

    if (!copy)
        return ferry_fail(error, FERRY_ERR_INTERNAL, "migration cookie: <%s>: cannot copy",
                          element->name);
    xmlDocSetRootElement(doc, copy);

    g_autofree char *text = xml_format_node(copy);
    char **slot = feature == COOKIE_FEATURE_PERSISTENT ? &cookie->persistent : &cookie->cpu;
    size_t max =
        feature == COOKIE_FEATURE_PERSISTENT ? COOKIE_MAX_SIZE_PERSISTENT : COOKIE_MAX_SIZE;

    if (strlen(text) > max)
        return ferry_fail(error, FERRY_ERR_OVERFLOW,
                          "migration cookie: <%s>: larger than the limit of %zu bytes",
                          element->name, max);
    g_free(*slot);
    *slot = g_steal_pointer(&text);
    cookie->flags |= COOKIE_FLAG(feature);
    return 0;
}

static int cookie_set_element(MigrationCookie *cookie, CookieFeature feature, const char *root,
                              const char *xml, GError **error)
{
    g_autofree char *what = g_strdup_printf("migration cookie: <%s>", root);
    size_t max =
        feature == COOKIE_FEATURE_PERSISTENT ? COOKIE_MAX_SIZE_PERSISTENT : COOKIE_MAX_SIZE;
    g_autoptr(xmlDoc) doc = xml_parse(xml, max, what, root, FERRY_FROM_COOKIE, error);

    if (!doc)
        return -1;
    return cookie_set_element_text(cookie, feature, xmlDocGetRootElement(doc), error);
}

int cookie_set_persistent(MigrationCookie *cookie, const char *domain_xml, GError **error)
{
    return cookie_set_element(cookie, COOKIE_FEATURE_PERSISTENT, "domain", domain_xml, error);
}

int cookie_set_cpu(MigrationCookie *cookie, const char *cpu_xml, GError **error)
{
    return cookie_set_element(cookie, COOKIE_FEATURE_CPU, "cpu", cpu_xml, error);
}

int cookie_add_interface(MigrationCookie *cookie, unsigned int index, CookieVportType vporttype,
                         const char *portdata, GError **error)
{
    if ((int)vporttype < 0 || vporttype >= COOKIE_VPORT_LAST)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "migration cookie: <interface index='%u'>: unknown vporttype %d", index,
                          (int)vporttype);
    if (portdata && cookie_check_text(portdata, COOKIE_TEXT_LINE, COOKIE_PORTDATA_MAX, "portdata",
                                      NULL, error) < 0)
        return -1;
    for (guint i = 0; i < cookie->interfaces->len; i++) {
        const CookieInterface *other = g_ptr_array_index(cookie->interfaces, i);

        if (other->index == index)
            return ferry_fail(error, FERRY_ERR_XML,
                              "migration cookie: <interface index='%u'>: duplicate index", index);
    }
    if (cookie->interfaces->len >= COOKIE_INTERFACES_MAX)
        return ferry_fail(error, FERRY_ERR_OVERFLOW,
                          "migration cookie: <network>: more than %d interfaces",
                          COOKIE_INTERFACES_MAX);

    CookieInterface *iface = g_new0(CookieInterface, 1);
    iface->index = index;
    iface->vporttype = vporttype;
    iface->portdata = g_strdup(portdata);
    g_ptr_array_add(cookie->interfaces, iface);
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_NETWORK);
    return 0;
}

int cookie_set_nbd(MigrationCookie *cookie, int port, GError **error)
{
    if (port < 0 || port > 65535)
        return ferry_fail(error, FERRY_ERR_XML,
                          "migration cookie: <nbd port='%d'>: not a port number "
                          "(1 to 65535, or 0 for none)",
                          port);

    CookieNbd *nbd = g_new0(CookieNbd, 1);
    nbd->port = port;
    nbd->disks = g_ptr_array_new_with_free_func((GDestroyNotify)cookie_nbd_disk_free);
    cookie_nbd_free(cookie->nbd);
    cookie->nbd = nbd;
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_NBD);
    return 0;
}

int cookie_add_nbd_disk(MigrationCookie *cookie, const char *target, unsigned long long capacity,
                        GError **error)
{
    if (!cookie->nbd)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "migration cookie: <nbd><disk>: no <nbd> set");
    if (cookie_check_text(target, COOKIE_TEXT_TOKEN, COOKIE_TOKEN_MAX, "disk", "target", error) < 0)
        return -1;
    for (guint i = 0; i < cookie->nbd->disks->len; i++) {
        const CookieNbdDisk *other = g_ptr_array_index(cookie->nbd->disks, i);

        if (g_str_equal(other->target, target))
            return ferry_fail(error, FERRY_ERR_XML,
                              "migration cookie: <disk target='%s'>: duplicate target", target);
    }
    if (cookie->nbd->disks->len >= COOKIE_NBD_DISKS_MAX)
        return ferry_fail(error, FERRY_ERR_OVERFLOW, "migration cookie: <nbd>: more than %d disks",
                          COOKIE_NBD_DISKS_MAX);

    CookieNbdDisk *disk = g_new0(CookieNbdDisk, 1);
    disk->target = g_strdup(target);
    disk->capacity = capacity;
    g_ptr_array_add(cookie->nbd->disks, disk);
    return 0;
}

CookieStatistics *cookie_statistics(MigrationCookie *cookie)
{
    if (!cookie->stats)
        cookie->stats = g_new0(CookieStatistics, 1);
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_STATISTICS);
    return cookie->stats;
}

void cookie_set_allow_reboot(MigrationCookie *cookie, gboolean allow)
{
    cookie->allow_reboot = allow;
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_ALLOW_REBOOT);
}

const CookieCapability *cookie_find_capability(const MigrationCookie *cookie, const char *name)
{
    for (guint i = 0; name && i < cookie->capabilities->len; i++) {
        const CookieCapability *cap = g_ptr_array_index(cookie->capabilities, i);

        if (g_str_equal(cap->name, name))
            return cap;
    }
    return NULL;
}

int cookie_add_capability(MigrationCookie *cookie, const char *name, gboolean auto_on,
                          GError **error)
{
    if (cookie_check_text(name, COOKIE_TEXT_TOKEN, COOKIE_TOKEN_MAX, "cap", "name", error) < 0)
        return -1;
    if (cookie_find_capability(cookie, name))
        return ferry_fail(error, FERRY_ERR_XML,
                          "migration cookie: <cap name='%s'>: duplicate capability", name);
    if (cookie->capabilities->len >= COOKIE_CAPABILITIES_MAX)
        return ferry_fail(error, FERRY_ERR_OVERFLOW,
                          "migration cookie: <capabilities>: more than %d capabilities",
                          COOKIE_CAPABILITIES_MAX);

    CookieCapability *cap = g_new0(CookieCapability, 1);
    cap->name = g_strdup(name);
    cap->auto_on = auto_on;
    g_ptr_array_add(cookie->capabilities, cap);
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_CAPABILITIES);
    return 0;
}

const CookieBackend *cookie_find_backend(const MigrationCookie *cookie, const char *alias)
{
    for (guint i = 0; alias && i < cookie->backends->len; i++) {
        const CookieBackend *backend = g_ptr_array_index(cookie->backends, i);

        if (g_str_equal(backend->alias, alias))
            return backend;
    }
    return NULL;
}

CookieBackend *cookie_add_backend(MigrationCookie *cookie, const char *type, const char *alias,
                                  GError **error)
{
    if (cookie_check_text(type, COOKIE_TEXT_TOKEN, COOKIE_TOKEN_MAX, "backend", "type", error) <
            0 ||
        cookie_check_text(alias, COOKIE_TEXT_TOKEN, COOKIE_TOKEN_MAX, "backend", "alias", error) <
            0)
        return NULL;
    if (cookie_find_backend(cookie, alias)) {
        ferry_fail(error, FERRY_ERR_XML, "migration cookie: <backend alias='%s'>: duplicate alias",
                   alias);
        return NULL;
    }
    if (cookie->backends->len >= COOKIE_BACKENDS_MAX) {
        ferry_fail(error, FERRY_ERR_OVERFLOW,
                   "migration cookie: <backendTransfer>: more than %d backends",
                   COOKIE_BACKENDS_MAX);
        return NULL;
    }

    CookieBackend *backend = g_new0(CookieBackend, 1);
    backend->type = g_strdup(type);
    backend->alias = g_strdup(alias);
    backend->requirements = g_ptr_array_new_with_free_func((GDestroyNotify)cookie_requirement_free);
    g_ptr_array_add(cookie->backends, backend);
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_BACKEND_TRANSFER);
    return backend;
}

const char *cookie_backend_requirement(const CookieBackend *backend, const char *name)
{
    for (guint i = 0; name && i < backend->requirements->len; i++) {
        const CookieRequirement *req = g_ptr_array_index(backend->requirements, i);

        if (g_str_equal(req->name, name))
            return req->value;
    }
    return NULL;
}

int cookie_backend_add_requirement(CookieBackend *backend, const char *name, const char *value,
                                   GError **error)
{
    if (cookie_check_text(name, COOKIE_TEXT_TOKEN, COOKIE_TOKEN_MAX, "require", "name", error) < 0)
        return -1;
    /* An empty value is allowed ("nothing to say but the name"). */
    if (!value)
        return ferry_fail(error, FERRY_ERR_XML, "migration cookie: <require name='%s'>: no value",
                          name);
    if (*value &&
        cookie_check_text(value, COOKIE_TEXT_LINE, COOKIE_VALUE_MAX, "require", "value", error) < 0)
        return -1;
    if (cookie_backend_requirement(backend, name))
        return ferry_fail(error, FERRY_ERR_XML,
                          "migration cookie: <backend alias='%s'><require name='%s'>: "
                          "duplicate requirement",
                          backend->alias, name);
    if (backend->requirements->len >= COOKIE_REQUIREMENTS_MAX)
        return ferry_fail(error, FERRY_ERR_OVERFLOW,
                          "migration cookie: <backend alias='%s'>: more than %d requirements",
                          backend->alias, COOKIE_REQUIREMENTS_MAX);

    CookieRequirement *req = g_new0(CookieRequirement, 1);
    req->name = g_strdup(name);
    req->value = g_strdup(value);
    g_ptr_array_add(backend->requirements, req);
    return 0;
}

/* ------------------------------------------------------------ checks */

int cookie_check_same_host(const MigrationCookie *cookie, const CookieHost *local, GError **error)
{
    char uuidstr[FERRY_UUID_STRING_BUFLEN];

    if (local && ferry_uuid_equal(cookie->hostuuid, local->uuid))
        return ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                          "migration cookie: hostuuid %s equals ours "
                          "(migrating to the same host)",
                          ferry_uuid_format(cookie->hostuuid, uuidstr));
    return 0;
}

int cookie_check_identity(const MigrationCookie *cookie, const char *expected_name,
                          const unsigned char *expected_uuid, const CookieHost *local,
                          GError **error)
{
    char got[FERRY_UUID_STRING_BUFLEN];
    char want[FERRY_UUID_STRING_BUFLEN];

    if (!cookie->name || !expected_name || !g_str_equal(cookie->name, expected_name)) {
        g_autofree char *quoted = cookie_quote(cookie->name ? cookie->name : "");
        return ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                          "migration cookie: name '%s' does not match domain '%s'", quoted,
                          expected_name ? expected_name : "");
    }
    if (expected_uuid && !ferry_uuid_equal(cookie->uuid, expected_uuid))
        return ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                          "migration cookie: uuid %s does not match domain '%s' (uuid %s)",
                          ferry_uuid_format(cookie->uuid, got), expected_name,
                          ferry_uuid_format(expected_uuid, want));
    return cookie_check_same_host(cookie, local, error);
}

int cookie_check_features(const MigrationCookie *cookie, unsigned int accepted, GError **error)
{
    for (int i = 0; i < COOKIE_FEATURE_LAST; i++) {
        if ((cookie->mandatory & COOKIE_FLAG(i)) && !(accepted & COOKIE_FLAG(i)))
            return ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                              "migration cookie: unsupported migration cookie feature '%s'",
                              cookie_feature_names[i]);
    }
    return 0;
}
