/*
 * driver_uri.c: connection URIs in libvirt's form, parsed strictly.
 *
 * The grammar is small enough to parse by hand: "SCHEME[+TRANSPORT]://",
 * an authority (host, [v6 host], :port), one path, an optional query.
 * Every refusal quotes the URI and names the part.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "driver.uri"

#include "driver/driver_uri.h"
#include "util/error.h"
#include "util/log.h"

#define URI_QUOTE_MAX 200

static const char *const transport_names[] = { "none", "unix", "tcp", "tls" };
G_STATIC_ASSERT(G_N_ELEMENTS(transport_names) == DRIVER_URI_TRANSPORT_LAST);

static const char *const path_names[] = { "/system", "/embed" };
G_STATIC_ASSERT(G_N_ELEMENTS(path_names) == DRIVER_URI_PATH_LAST);

const char *driver_uri_transport_to_string(DriverUriTransport transport)
{
    if ((int)transport < 0 || transport >= DRIVER_URI_TRANSPORT_LAST)
        return NULL;
    return transport_names[transport];
}

const char *driver_uri_path_to_string(DriverUriPath path)
{
    if ((int)path < 0 || path >= DRIVER_URI_PATH_LAST)
        return NULL;
    return path_names[path];
}

void driver_uri_free(DriverUri *uri)
{
    if (!uri)
        return;
    g_free(uri->text);
    g_free(uri->scheme);
    g_free(uri->host);
    g_free(uri->socket);
    g_free(uri->pkipath);
    g_free(uri->root);
    g_free(uri);
}

int driver_uri_port(const DriverUri *uri)
{
    if (uri->port > 0)
        return uri->port;
    switch (uri->transport) {
    case DRIVER_URI_TRANSPORT_TCP:
        return DRIVER_URI_TCP_PORT;
    case DRIVER_URI_TRANSPORT_TLS:
        return DRIVER_URI_TLS_PORT;
    default:
        return 0;
    }
}

const char *driver_uri_default(void)
{
    const char *env = g_getenv("FERRY_DEFAULT_URI");

    if (env && *env)
        return env;
    return DRIVER_URI_DEFAULT;
}

/* ---------------------------------------------------------------- parsing */

typedef struct {
    const char *text;
    char *quoted; /* the URI for messages: escaped, cut short */
} UriParser;

/* Reports "URI '...': <what>" with code; always FALSE. */
static gboolean G_GNUC_PRINTF(4, 5)
    uri_fail(UriParser *p, GError **error, FerryErrorCode code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ferry_fail(error, code, "URI '%s': %s", p->quoted, what);
    return FALSE;
}

static char *uri_quote(const char *text)
{
    g_autofree char *esc = g_strescape(text, NULL);

    if (strlen(esc) > URI_QUOTE_MAX)
        return g_strdup_printf("%.*s...", URI_QUOTE_MAX, esc);
    return g_steal_pointer(&esc);
}

/* Decodes %XX escapes of one query name or value (len bytes at s). */
static char *uri_unescape(UriParser *p, const char *s, gsize len, const char *what, GError **error)
{
    g_autoptr(GString) out = g_string_sized_new(len);

    for (gsize i = 0; i < len; i++) {
        if (s[i] != '%') {
            g_string_append_c(out, s[i]);
            continue;
        }
        if (i + 2 >= len) {
            uri_fail(p, error, FERRY_ERR_PARSE, "incomplete escape '%.*s' in %s", (int)(len - i),
                     s + i, what);
            return NULL;
        }
        int hi = g_ascii_xdigit_value(s[i + 1]);
        int lo = g_ascii_xdigit_value(s[i + 2]);
        if (hi < 0 || lo < 0) {
            uri_fail(p, error, FERRY_ERR_PARSE, "bad escape '%.3s' in %s", s + i, what);
            return NULL;
        }
        if (hi == 0 && lo == 0) {
            uri_fail(p, error, FERRY_ERR_PARSE, "escape '%%00' (a NUL byte) in %s", what);
            return NULL;
        }
        g_string_append_c(out, (char)(hi * 16 + lo));
        i += 2;
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static gboolean parse_scheme(UriParser *p, DriverUri *uri, const char *scheme, GError **error)
{
    const char *plus = strchr(scheme, '+');
    g_autofree char *driver = plus ? g_strndup(scheme, plus - scheme) : g_strdup(scheme);

    if (!g_str_equal(driver, "qemu"))
        return uri_fail(p, error, FERRY_ERR_PARSE,
                        "unknown scheme '%s' (ferry drives QEMU: qemu://, qemu+unix://, "
                        "qemu+tcp:// or qemu+tls://)",
                        driver);
    uri->scheme = g_steal_pointer(&driver);
    if (!plus)
        return TRUE;

    const char *transport = plus + 1;
    uri->transport_explicit = TRUE;
    if (g_str_equal(transport, "unix"))
        uri->transport = DRIVER_URI_TRANSPORT_UNIX;
    else if (g_str_equal(transport, "tcp"))
        uri->transport = DRIVER_URI_TRANSPORT_TCP;
    else if (g_str_equal(transport, "tls"))
        uri->transport = DRIVER_URI_TRANSPORT_TLS;
    else if (g_str_equal(transport, "ssh") || g_str_equal(transport, "libssh") ||
             g_str_equal(transport, "libssh2") || g_str_equal(transport, "ext"))
        return uri_fail(p, error, FERRY_ERR_NO_SUPPORT,
                        "transport '%s' is not supported (use unix, tcp or tls)", transport);
    else
        return uri_fail(p, error, FERRY_ERR_PARSE,
                        "unknown transport '%s' (expected unix, tcp or tls)", transport);
    return TRUE;
}

static gboolean host_char_ok(char c, gboolean bracketed)
{
    if (g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_')
        return TRUE;
    return bracketed && c == ':';
}

static gboolean parse_port(UriParser *p, DriverUri *uri, const char *text, GError **error)
{
    guint64 port = 0;

    if (!*text)
        return uri_fail(p, error, FERRY_ERR_PARSE, "empty port after ':'");
    for (const char *c = text; *c; c++) {
        if (!g_ascii_isdigit(*c))
            return uri_fail(p, error, FERRY_ERR_PARSE, "bad port '%s' (expected 1-65535)", text);
        port = port * 10 + (guint64)(*c - '0');
        if (port > 65535)
            return uri_fail(p, error, FERRY_ERR_PARSE, "bad port '%s' (expected 1-65535)", text);
    }
    if (port == 0)
        return uri_fail(p, error, FERRY_ERR_PARSE, "bad port '%s' (expected 1-65535)", text);
    uri->port = (int)port;
    return TRUE;
}

static gboolean parse_authority(UriParser *p, DriverUri *uri, const char *auth, GError **error)
{
    g_autofree char *host = NULL;
    const char *port = NULL;
    gboolean bracketed = FALSE;

    if (!*auth)
        return TRUE;
    if (strchr(auth, '@'))
        return uri_fail(p, error, FERRY_ERR_PARSE,
                        "a user name ('%.*s@') is not supported (it is for ssh)",
                        (int)(strchr(auth, '@') - auth), auth);
    if (auth[0] == '[') {
        const char *close = strchr(auth, ']');

        if (!close)
            return uri_fail(p, error, FERRY_ERR_PARSE, "unterminated '[' in host '%s'", auth);
        host = g_strndup(auth + 1, close - auth - 1);
        bracketed = TRUE;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return uri_fail(p, error, FERRY_ERR_PARSE, "unexpected '%s' after host '[%s]'",
                            close + 1, host);
    } else {
        const char *colon = strchr(auth, ':');

        if (colon && strchr(colon + 1, ':'))
            return uri_fail(p, error, FERRY_ERR_PARSE,
                            "host '%s' has more than one ':' (an IPv6 address goes in [])", auth);
        host = colon ? g_strndup(auth, colon - auth) : g_strdup(auth);
        port = colon ? colon + 1 : NULL;
    }
    if (!*host)
        return uri_fail(p, error, FERRY_ERR_PARSE, "empty host before port");
    for (const char *c = host; *c; c++) {
        if (!host_char_ok(*c, bracketed))
            return uri_fail(p, error, FERRY_ERR_PARSE, "bad character '%c' in host '%s'", *c, host);
    }
    if (port && !parse_port(p, uri, port, error))
        return FALSE;
    uri->host = g_steal_pointer(&host);
    return TRUE;
}

static gboolean parse_path(UriParser *p, DriverUri *uri, const char *path, GError **error)
{
    if (!*path || g_str_equal(path, "/"))
        return uri_fail(p, error, FERRY_ERR_PARSE, "missing path (expected /system or /embed)");
    if (g_str_equal(path, "/system"))
        uri->path = DRIVER_URI_PATH_SYSTEM;
    else if (g_str_equal(path, "/embed"))
        uri->path = DRIVER_URI_PATH_EMBED;
    else if (g_str_equal(path, "/session"))
        return uri_fail(p, error, FERRY_ERR_NO_SUPPORT,
                        "path '/session' is not supported: ferry has no per-user daemon "
                        "(use qemu:///system or qemu:///embed?root=DIR)");
    else
        return uri_fail(p, error, FERRY_ERR_PARSE, "unknown path '%s' (expected /system or /embed)",
                        path);
    return TRUE;
}

/* A non-negative decimal int. */
static gboolean parse_count(UriParser *p, const char *name, const char *value, int *out,
                            GError **error)
{
    guint64 n = 0;

    for (const char *c = value; *c; c++) {
        if (!g_ascii_isdigit(*c) || n > G_MAXINT / 10)
            return uri_fail(p, error, FERRY_ERR_PARSE,
                            "query parameter '%s': '%s' is not a number from 0 to %d", name, value,
                            G_MAXINT);
        n = n * 10 + (guint64)(*c - '0');
    }
    if (n > G_MAXINT)
        return uri_fail(p, error, FERRY_ERR_PARSE,
                        "query parameter '%s': '%s' is not a number from 0 to %d", name, value,
                        G_MAXINT);
    *out = (int)n;
    return TRUE;
}

static gboolean set_abs_path(UriParser *p, const char *name, char *value, char **out,
                             GError **error)
{
    if (!g_path_is_absolute(value)) {
        uri_fail(p, error, FERRY_ERR_PARSE, "query parameter '%s': '%s' is not an absolute path",
                 name, value);
        g_free(value);
        return FALSE;
    }
    *out = value;
    return TRUE;
}

/* Stores one decoded parameter (takes value). */
static gboolean set_param(UriParser *p, DriverUri *uri, const char *name, char *value,
                          GError **error)
{
    g_autofree char *owned = value;

    if (g_str_equal(name, "socket"))
        return set_abs_path(p, name, g_steal_pointer(&owned), &uri->socket, error);
    if (g_str_equal(name, "pkipath"))
        return set_abs_path(p, name, g_steal_pointer(&owned), &uri->pkipath, error);
    if (g_str_equal(name, "root"))
        return set_abs_path(p, name, g_steal_pointer(&owned), &uri->root, error);
    if (g_str_equal(name, "no_verify")) {
        if (!g_str_equal(owned, "0") && !g_str_equal(owned, "1"))
            return uri_fail(p, error, FERRY_ERR_PARSE,
                            "query parameter 'no_verify': '%s' is not 0 or 1", owned);
        uri->no_verify = owned[0] == '1';
        return TRUE;
    }
    if (g_str_equal(name, "keepalive_interval"))
        return parse_count(p, name, owned, &uri->keepalive_interval, error);
    if (g_str_equal(name, "keepalive_count"))
        return parse_count(p, name, owned, &uri->keepalive_count, error);
    return uri_fail(p, error, FERRY_ERR_PARSE,
                    "unknown query parameter '%s' (known: socket, no_verify, pkipath, "
                    "keepalive_interval, keepalive_count, root)",
                    name);
}

static gboolean parse_query(UriParser *p, DriverUri *uri, const char *query, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(query, "&", -1);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    if (!*query)
        return uri_fail(p, error, FERRY_ERR_PARSE, "empty query parameter after '?'");
    for (char **part = parts; *part; part++) {
        const char *eq = strchr(*part, '=');

        if (!**part)
            return uri_fail(p, error, FERRY_ERR_PARSE, "empty query parameter");
        g_autofree char *name =
            uri_unescape(p, *part, eq ? (gsize)(eq - *part) : strlen(*part), "a query name", error);
        if (!name)
            return FALSE;
        if (!eq)
            return uri_fail(p, error, FERRY_ERR_PARSE, "query parameter '%s' has no value", name);
        g_autofree char *what = g_strdup_printf("query parameter '%s'", name);
        char *value = uri_unescape(p, eq + 1, strlen(eq + 1), what, error);
        if (!value)
            return FALSE;
        if (!*value) {
            g_free(value);
            return uri_fail(p, error, FERRY_ERR_PARSE, "query parameter '%s' is empty", name);
        }
        if (g_hash_table_contains(seen, name)) {
            g_free(value);
            return uri_fail(p, error, FERRY_ERR_PARSE, "query parameter '%s' is given twice", name);
        }
        g_hash_table_add(seen, g_strdup(name));
        if (!set_param(p, uri, name, value, error))
            return FALSE;
    }
    return TRUE;
}

/* Which parameters go with which transport and path. */
static gboolean check_combination(UriParser *p, DriverUri *uri, GError **error)
{
    gboolean embed = uri->path == DRIVER_URI_PATH_EMBED;

    if (!uri->transport_explicit)
        uri->transport = embed ? DRIVER_URI_TRANSPORT_NONE
                               : (uri->host ? DRIVER_URI_TRANSPORT_TLS : DRIVER_URI_TRANSPORT_UNIX);
    if (embed) {
        if (uri->transport_explicit)
            return uri_fail(p, error, FERRY_ERR_PARSE,
                            "path '/embed' takes no transport (write qemu:///embed?root=DIR)");
        if (uri->host)
            return uri_fail(p, error, FERRY_ERR_PARSE,
                            "path '/embed' takes no host (write qemu:///embed?root=DIR)");
        if (!uri->root)
            return uri_fail(p, error, FERRY_ERR_PARSE,
                            "path '/embed' needs root=DIR (an absolute directory)");
    } else if (uri->root) {
        return uri_fail(p, error, FERRY_ERR_PARSE,
                        "query parameter 'root' is only for qemu:///embed");
    }
    if (uri->transport == DRIVER_URI_TRANSPORT_UNIX && (uri->host || uri->port))
        return uri_fail(p, error, FERRY_ERR_PARSE,
                        "the unix transport takes no host or port (use socket=PATH)");
    if ((uri->transport == DRIVER_URI_TRANSPORT_TCP ||
         uri->transport == DRIVER_URI_TRANSPORT_TLS) &&
        !uri->host)
        uri->host = g_strdup("localhost");
    if (uri->socket && uri->transport != DRIVER_URI_TRANSPORT_UNIX)
        return uri_fail(p, error, FERRY_ERR_PARSE,
                        "query parameter 'socket' is only for the unix transport");
    if ((uri->no_verify >= 0 || uri->pkipath) && uri->transport != DRIVER_URI_TRANSPORT_TLS)
        return uri_fail(p, error, FERRY_ERR_PARSE,
                        "query parameter '%s' is only for the tls transport",
                        uri->pkipath ? "pkipath" : "no_verify");
    if ((uri->keepalive_interval >= 0 || uri->keepalive_count >= 0) && embed)
        return uri_fail(p, error, FERRY_ERR_PARSE,
                        "query parameter '%s' is only for a remote connection",
                        uri->keepalive_interval >= 0 ? "keepalive_interval" : "keepalive_count");
    return TRUE;
}

DriverUri *driver_uri_parse(const char *text, GError **error)
{
    g_autofree char *quoted = uri_quote(text ? text : "");
    UriParser p = { .text = text, .quoted = quoted };
    g_autoptr(DriverUri) uri = g_new0(DriverUri, 1);

    uri->no_verify = -1;
    uri->keepalive_interval = -1;
    uri->keepalive_count = -1;
    if (!text || !*text) {
        ferry_fail(error, FERRY_ERR_PARSE, "empty URI (expected qemu:///system or the like)");
        return NULL;
    }
    for (const char *c = text; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f) {
            uri_fail(&p, error, FERRY_ERR_PARSE,
                     "blanks or control characters are not allowed (escape them as %%XX)");
            return NULL;
        }
    }
    if (strchr(text, '#')) {
        uri_fail(&p, error, FERRY_ERR_PARSE, "a fragment ('#...') is not allowed");
        return NULL;
    }
    uri->text = g_strdup(text);

    const char *sep = strstr(text, "://");
    if (!sep) {
        uri_fail(&p, error, FERRY_ERR_PARSE,
                 "no scheme (expected qemu://, qemu+unix://, qemu+tcp:// or qemu+tls://)");
        return NULL;
    }
    g_autofree char *scheme = g_strndup(text, sep - text);
    if (!parse_scheme(&p, uri, scheme, error))
        return NULL;

    const char *rest = sep + 3;
    const char *qmark = strchr(rest, '?');
    g_autofree char *before_query = qmark ? g_strndup(rest, qmark - rest) : g_strdup(rest);
    char *slash = strchr(before_query, '/');
    g_autofree char *authority =
        slash ? g_strndup(before_query, slash - before_query) : g_strdup(before_query);

    if (!parse_authority(&p, uri, authority, error) ||
        !parse_path(&p, uri, slash ? slash : "", error))
        return NULL;
    if (qmark && !parse_query(&p, uri, qmark + 1, error))
        return NULL;
    if (!check_combination(&p, uri, error))
        return NULL;
    return g_steal_pointer(&uri);
}
