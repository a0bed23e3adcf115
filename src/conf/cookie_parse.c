/*
 * cookie_parse.c: reading a <qemu-migration> cookie from the wire.
 *
 * Each top-level element has one reader, found in a table.  What ferry does
 * not know is skipped (forward compatibility: a newer peer may add optional
 * parts), except a mandatory <feature> it does not know, which is refused:
 * the sender says that a receiver without it must not go on.  Inside the
 * parts ferry knows, unknown child elements and attributes are skipped too.
 * Values are stored through the setters in cookie.c, which validate them.
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

#define PREFIX "migration cookie: "

/* The typed readers in xmlutil say "<el attr='v'>: ..."; say whose. */
static int cookie_reader_failed(GError **error)
{
    g_prefix_error(error, PREFIX);
    return -1;
}

static int cookie_read_text(xmlNode *node, char **out, GError **error)
{
    g_autofree char *text = xml_text(node);

    if (xml_first_element(node))
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<%s>: expected text, not elements",
                          node->name);
    *out = g_steal_pointer(&text);
    return 0;
}

static int cookie_read_uuid(xmlNode *node, unsigned char *uuid, GError **error)
{
    g_autofree char *text = NULL;

    if (cookie_read_text(node, &text, error) < 0)
        return -1;
    if (ferry_uuid_parse(text, uuid, NULL) < 0) {
        g_autofree char *quoted = cookie_quote(text);
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<%s>%s</%s>: not a valid UUID", node->name,
                          quoted, node->name);
    }
    return 0;
}

static int cookie_parse_name(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    g_autofree char *name = NULL;

    if (cookie_read_text(node, &name, error) < 0 ||
        cookie_check_text(name, COOKIE_TEXT_LINE, COOKIE_NAME_MAX, "name", NULL, error) < 0)
        return -1;
    cookie->name = g_steal_pointer(&name);
    return 0;
}

static int cookie_parse_uuid(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    return cookie_read_uuid(node, cookie->uuid, error);
}

static int cookie_parse_hostname(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    g_autofree char *hostname = NULL;

    if (cookie_read_text(node, &hostname, error) < 0 ||
        cookie_check_text(hostname, COOKIE_TEXT_WORD, COOKIE_HOSTNAME_MAX, "hostname", NULL,
                          error) < 0)
        return -1;
    cookie->hostname = g_steal_pointer(&hostname);
    return 0;
}

static int cookie_parse_hostuuid(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    return cookie_read_uuid(node, cookie->hostuuid, error);
}

/* <feature name='...'/>: a feature the receiver must understand. */
static int cookie_parse_feature(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    g_autofree char *name = xml_prop(node, "name");

    if (!name)
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<feature>: no name attribute");
    int feature = cookie_feature_from_name(name);
    if (feature < 0) {
        g_autofree char *quoted = cookie_quote(name);
        return ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                          PREFIX "<feature name='%s'>: unsupported migration cookie feature "
                                 "(a mandatory feature this host does not know)",
                          quoted);
    }
    if (cookie->mandatory & COOKIE_FLAG(feature))
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<feature name='%s'>: listed twice", name);
    cookie->mandatory |= COOKIE_FLAG(feature);
    return 0;
}

static int cookie_parse_graphics(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    int type = -1;
    int port = -1;
    int tls_port = -1;
    g_autofree char *listen = xml_prop(node, "listen");
    g_autofree char *subject = NULL;

    int rc =
        xml_prop_enum(node, "type", cookie_graphics_type_names, &type, FERRY_FROM_COOKIE, error);
    if (rc < 0)
        return cookie_reader_failed(error);
    if (rc == 0)
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<graphics>: no type attribute");
    /* libvirt always writes port and listen, and tlsPort for spice only. */
    rc = xml_prop_int(node, "port", &port, FERRY_FROM_COOKIE, error);
    if (rc < 0)
        return cookie_reader_failed(error);
    if (rc == 0)
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<graphics>: no port attribute");
    if (!listen)
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<graphics>: no listen attribute");
    if (type == COOKIE_GRAPHICS_SPICE &&
        xml_prop_int(node, "tlsPort", &tls_port, FERRY_FROM_COOKIE, error) < 0)
        return cookie_reader_failed(error);

    /* Only the subject is defined; other <cert info=...> are skipped. */
    XML_FOR_EACH_ELEMENT (node, child) {
        g_autofree char *info = xml_prop(child, "info");

        if (!xml_is(child, "cert") || g_strcmp0(info, "subject") != 0)
            continue;
        if (subject)
            return ferry_fail(error, FERRY_ERR_XML,
                              PREFIX "<graphics>: more than one <cert info='subject'>");
        subject = xml_prop(child, "value");
        if (!subject)
            return ferry_fail(error, FERRY_ERR_XML,
                              PREFIX "<cert info='subject'>: no value attribute");
    }
    return cookie_set_graphics(cookie, type, port, tls_port, listen, subject, error);
}

static int cookie_parse_lockstate(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    g_autofree char *driver = xml_prop(node, "driver");
    xmlNode *leases = xml_child(node, "leases");

    if (!driver)
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<lockstate>: no driver attribute");
    if (cookie_set_lockstate(cookie, driver, error) < 0)
        return -1;
    if (!leases)
        return 0;

    g_autofree char *text = NULL;
    if (cookie_read_text(leases, &text, error) < 0)
        return -1;
    g_auto(GStrv) words = g_strsplit_set(text, " \t\r\n", -1);
    for (char **word = words; *word; word++) {
        if (**word && cookie_add_lease(cookie, *word, error) < 0)
            return -1;
    }
    return 0;
}

/* The persistent definition: a <domain> kept as text for the domain parser. */
static int cookie_parse_domain(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    return cookie_set_element_text(cookie, COOKIE_FEATURE_PERSISTENT, node, error);
}

static int cookie_parse_cpu(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    return cookie_set_element_text(cookie, COOKIE_FEATURE_CPU, node, error);
}

static int cookie_parse_network(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_NETWORK);
    XML_FOR_EACH_ELEMENT (node, child) {
        unsigned int index = 0;
        int vporttype = -1;
        g_autofree char *portdata = NULL;
        int rc;

        if (!xml_is(child, "interface"))
            continue;
        rc = xml_prop_uint(child, "index", &index, FERRY_FROM_COOKIE, error);
        if (rc < 0)
            return cookie_reader_failed(error);
        if (rc == 0)
            return ferry_fail(error, FERRY_ERR_XML, PREFIX "<interface>: no index attribute");
        rc = xml_prop_enum(child, "vporttype", cookie_vport_type_names, &vporttype,
                           FERRY_FROM_COOKIE, error);
        if (rc < 0)
            return cookie_reader_failed(error);
        if (rc == 0)
            return ferry_fail(error, FERRY_ERR_XML,
                              PREFIX "<interface index='%u'>: no vporttype attribute", index);
        xmlNode *data = xml_child(child, "portdata");
        if (data && cookie_read_text(data, &portdata, error) < 0)
            return -1;
        if (cookie_add_interface(cookie, index, vporttype, portdata, error) < 0)
            return -1;
    }
    return 0;
}

static int cookie_parse_nbd(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    int port = 0;

    if (xml_prop_int(node, "port", &port, FERRY_FROM_COOKIE, error) < 0)
        return cookie_reader_failed(error);
    if (cookie_set_nbd(cookie, port, error) < 0)
        return -1;
    XML_FOR_EACH_ELEMENT (node, child) {
        g_autofree char *target = NULL;
        unsigned long long capacity = 0;

        if (!xml_is(child, "disk"))
            continue;
        target = xml_prop(child, "target");
        if (!target)
            return ferry_fail(error, FERRY_ERR_XML, PREFIX "<nbd><disk>: no target attribute");
        if (xml_prop_ullong(child, "capacity", &capacity, FERRY_FROM_COOKIE, error) < 0)
            return cookie_reader_failed(error);
        if (cookie_add_nbd_disk(cookie, target, capacity, error) < 0)
            return -1;
    }
    return 0;
}

static int cookie_parse_stat_value(xmlNode *node, CookieStat stat, guint64 *value, GError **error)
{
    g_autofree char *text = NULL;

    if (stat != COOKIE_STAT_DELTA) {
        unsigned long long v = 0;

        if (xml_text_ullong(node, &v, FERRY_FROM_COOKIE, error) < 0)
            return cookie_reader_failed(error);
        *value = v;
        return 0;
    }
    /* delta, the difference between the hosts' clocks, may be negative. */
    gint64 delta = 0;
    if (cookie_read_text(node, &text, error) < 0)
        return -1;
    if (!g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, &delta, NULL)) {
        g_autofree char *quoted = cookie_quote(text);
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<delta>%s</delta>: expected an integer",
                          quoted);
    }
    *value = (guint64)delta;
    return 0;
}

/* Statistics ferry does not know are skipped. */
static int cookie_parse_statistics(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    CookieStatistics *stats = cookie_statistics(cookie);

    XML_FOR_EACH_ELEMENT (node, child) {
        int stat = cookie_stat_from_name((const char *)child->name);
        guint64 value = 0;

        if (stat < 0) {
            FLOG_DEBUG("migration cookie: skipping unknown statistic <%s>", child->name);
            continue;
        }
        if (stats->present & COOKIE_STAT_FLAG(stat))
            return ferry_fail(error, FERRY_ERR_XML, PREFIX "<statistics>: <%s> given twice",
                              child->name);
        if (cookie_parse_stat_value(child, stat, &value, error) < 0)
            return -1;
        cookie_stats_set(stats, stat, value);
    }
    return 0;
}

static int cookie_parse_allow_reboot(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    gboolean allow = FALSE;
    int rc = xml_prop_yesno(node, "value", &allow, FERRY_FROM_COOKIE, error);

    if (rc < 0)
        return cookie_reader_failed(error);
    if (rc == 0)
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<allowReboot>: no value attribute");
    cookie_set_allow_reboot(cookie, allow);
    return 0;
}

static int cookie_parse_capabilities(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_CAPABILITIES);
    XML_FOR_EACH_ELEMENT (node, child) {
        g_autofree char *name = NULL;
        gboolean auto_on = FALSE;

        if (!xml_is(child, "cap"))
            continue;
        name = xml_prop(child, "name");
        if (!name)
            return ferry_fail(error, FERRY_ERR_XML, PREFIX "<cap>: no name attribute");
        if (xml_prop_yesno(child, "auto", &auto_on, FERRY_FROM_COOKIE, error) < 0)
            return cookie_reader_failed(error);
        if (cookie_add_capability(cookie, name, auto_on, error) < 0)
            return -1;
    }
    return 0;
}

static int cookie_parse_backend(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    g_autofree char *type = xml_prop(node, "type");
    g_autofree char *alias = xml_prop(node, "alias");

    if (!type || !alias)
        return ferry_fail(error, FERRY_ERR_XML, PREFIX "<backend>: no %s attribute",
                          !type ? "type" : "alias");
    CookieBackend *backend = cookie_add_backend(cookie, type, alias, error);
    if (!backend)
        return -1;
    XML_FOR_EACH_ELEMENT (node, child) {
        g_autofree char *name = NULL;
        g_autofree char *value = NULL;

        if (!xml_is(child, "require"))
            continue;
        name = xml_prop(child, "name");
        value = xml_prop(child, "value");
        if (!name)
            return ferry_fail(error, FERRY_ERR_XML,
                              PREFIX "<backend alias='%s'><require>: no name attribute", alias);
        if (cookie_backend_add_requirement(backend, name, value, error) < 0)
            return -1;
    }
    return 0;
}

static int cookie_parse_backend_transfer(MigrationCookie *cookie, xmlNode *node, GError **error)
{
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_BACKEND_TRANSFER);
    XML_FOR_EACH_ELEMENT (node, child) {
        if (xml_is(child, "backend") && cookie_parse_backend(cookie, child, error) < 0)
            return -1;
    }
    return 0;
}

typedef int (*CookieParseFunc)(MigrationCookie *cookie, xmlNode *node, GError **error);

typedef struct {
    const char *element;
    CookieParseFunc parse;
    gboolean required;
    gboolean repeats;
} CookieReader;

static const CookieReader cookie_readers[] = {
    { "name", cookie_parse_name, TRUE, FALSE },
    { "uuid", cookie_parse_uuid, TRUE, FALSE },
    { "hostname", cookie_parse_hostname, TRUE, FALSE },
    { "hostuuid", cookie_parse_hostuuid, TRUE, FALSE },
    { "feature", cookie_parse_feature, FALSE, TRUE },
    { "graphics", cookie_parse_graphics, FALSE, FALSE },
    { "lockstate", cookie_parse_lockstate, FALSE, FALSE },
    { "domain", cookie_parse_domain, FALSE, FALSE },
    { "network", cookie_parse_network, FALSE, FALSE },
    { "nbd", cookie_parse_nbd, FALSE, FALSE },
    { "statistics", cookie_parse_statistics, FALSE, FALSE },
    { "cpu", cookie_parse_cpu, FALSE, FALSE },
    { "allowReboot", cookie_parse_allow_reboot, FALSE, FALSE },
    { "capabilities", cookie_parse_capabilities, FALSE, FALSE },
    { "backendTransfer", cookie_parse_backend_transfer, FALSE, FALSE },
};
G_STATIC_ASSERT(G_N_ELEMENTS(cookie_readers) <= 32);

static const CookieReader *cookie_reader_find(xmlNode *node, guint *index)
{
    for (guint i = 0; i < G_N_ELEMENTS(cookie_readers); i++) {
        if (xml_is(node, cookie_readers[i].element)) {
            *index = i;
            return &cookie_readers[i];
        }
    }
    return NULL;
}

static int cookie_parse_root(MigrationCookie *cookie, xmlNode *root, GError **error)
{
    guint32 seen = 0;

    XML_FOR_EACH_ELEMENT (root, child) {
        guint index = 0;
        const CookieReader *reader = cookie_reader_find(child, &index);

        if (!reader) {
            FLOG_DEBUG("migration cookie: skipping unknown element <%s>", child->name);
            continue;
        }
        if ((seen & (1u << index)) && !reader->repeats)
            return ferry_fail(error, FERRY_ERR_XML, PREFIX "more than one <%s> element",
                              reader->element);
        seen |= 1u << index;
        if (reader->parse(cookie, child, error) < 0)
            return -1;
    }
    for (guint i = 0; i < G_N_ELEMENTS(cookie_readers); i++) {
        if (cookie_readers[i].required && !(seen & (1u << i)))
            return ferry_fail(error, FERRY_ERR_XML, PREFIX "no <%s> element",
                              cookie_readers[i].element);
    }
    return 0;
}

MigrationCookie *cookie_parse(const char *xml, size_t len, const CookieHost *local, GError **error)
{
    /* libvirt sends strlen+1 bytes: the NUL is part of the length. */
    if (xml && len > 0 && xml[len - 1] == '\0')
        len--;
    if (!xml || len == 0) {
        ferry_fail(error, FERRY_ERR_XML, PREFIX "empty");
        return NULL;
    }
    if (len > COOKIE_MAX_SIZE_PERSISTENT) {
        ferry_fail(error, FERRY_ERR_OVERFLOW, PREFIX "%zu bytes, larger than the limit of %d bytes",
                   len, COOKIE_MAX_SIZE_PERSISTENT);
        return NULL;
    }
    const char *nul = memchr(xml, '\0', len);
    if (nul) {
        ferry_fail(error, FERRY_ERR_XML, PREFIX "a NUL byte at offset %td", nul - xml);
        return NULL;
    }

    /* A copy: what came off the wire need not end with a NUL. */
    g_autofree char *text = g_strndup(xml, len);
    g_autoptr(xmlDoc) doc = xml_parse(text, COOKIE_MAX_SIZE_PERSISTENT, "migration cookie",
                                      "qemu-migration", FERRY_FROM_COOKIE, error);
    if (!doc)
        return NULL;
    xmlNode *root = xmlDocGetRootElement(doc);

    /* Only a persistent definition may take a cookie past 16 KiB. */
    if (len > COOKIE_MAX_SIZE && !xml_child(root, "domain")) {
        ferry_fail(error, FERRY_ERR_OVERFLOW,
                   PREFIX "%zu bytes, larger than the limit of %d bytes "
                          "for a cookie without a <domain>",
                   len, COOKIE_MAX_SIZE);
        return NULL;
    }

    g_autoptr(MigrationCookie) cookie = cookie_new();
    if (cookie_parse_root(cookie, root, error) < 0 ||
        cookie_check_same_host(cookie, local, error) < 0)
        return NULL;
    return g_steal_pointer(&cookie);
}
