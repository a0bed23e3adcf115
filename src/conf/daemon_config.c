/*
 * daemon_config.c: ferryd.conf, a hand-written parser for libvirt's
 * `key = value` syntax and a table of the keys ferryd knows.
 *
 * Loading goes: check the whole text line by line (length, NUL bytes,
 * UTF-8), then parse one statement at a time into a Value, look its key up
 * in conf_keys[] and store it into a copy of the config; after the last
 * statement check what one setting implies about another, and only then
 * move the copy into the caller's config.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_CONF
#define FERRY_LOG_MODULE "conf.daemon"

#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/uuid.h"
#include "conf/daemon_config.h"

/* Sets *error (code FERRY_ERR_CONFIG) and evaluates to FALSE. */
#define conf_fail(error, ...) (ferry_fail((error), FERRY_ERR_CONFIG, __VA_ARGS__), FALSE)

#define KEY_NAME_MAX 64
#define GROUP_NAME_MAX 32
#define HOST_NAME_MAX_LEN 253
#define SUGGEST_DISTANCE 2

/* ------------------------------------------------------------ enums */

static const char *const daemon_auth_names[] = {
    [DAEMON_AUTH_NONE] = "none",
    [DAEMON_AUTH_SASL] = "sasl",
    [DAEMON_AUTH_POLKIT] = "polkit",
};
G_STATIC_ASSERT(G_N_ELEMENTS(daemon_auth_names) == DAEMON_AUTH_LAST);

const char *daemon_auth_to_string(DaemonAuth auth)
{
    if ((guint)auth >= DAEMON_AUTH_LAST)
        return "unknown";
    return daemon_auth_names[auth];
}

/* Relative to the state root ("" for the system paths). */
static const char *const daemon_dir_paths[] = {
    [DAEMON_DIR_CONFIG] = "/etc/ferry",
    [DAEMON_DIR_STATE] = "/var/lib/ferry",
    [DAEMON_DIR_RUN] = "/run/ferry",
    [DAEMON_DIR_LOG] = "/var/log/ferry",
};
G_STATIC_ASSERT(G_N_ELEMENTS(daemon_dir_paths) == DAEMON_DIR_LAST);

/* Relative to the config directory; NULL: no default. */
static const char *const daemon_tls_defaults[] = {
    [DAEMON_TLS_CA] = "pki/cacert.pem",
    [DAEMON_TLS_CERT] = "pki/servercert.pem",
    [DAEMON_TLS_KEY] = "pki/serverkey.pem",
    [DAEMON_TLS_CRL] = NULL,
};
G_STATIC_ASSERT(G_N_ELEMENTS(daemon_tls_defaults) == DAEMON_TLS_LAST);

/* ------------------------------------------------------------ values */

typedef enum { VALUE_INT, VALUE_STRING, VALUE_LIST, VALUE_LAST } ValueType;

static const char *const value_type_names[] = {
    [VALUE_INT] = "an integer",
    [VALUE_STRING] = "a string",
    [VALUE_LIST] = "a list",
};
G_STATIC_ASSERT(G_N_ELEMENTS(value_type_names) == VALUE_LAST);

typedef struct {
    ValueType type;
    int line;
    gint64 num; /* VALUE_INT */
    char *str; /* VALUE_STRING */
    GPtrArray *items; /* VALUE_LIST: Value */
} Value;

static void value_free(gpointer data)
{
    Value *v = data;

    if (!v)
        return;
    g_free(v->str);
    if (v->items)
        g_ptr_array_unref(v->items);
    g_free(v);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Value, value_free)

/* ------------------------------------------------------------ validators */

/* Validators fill *error with what is wrong with the value; the caller
 * puts "file:line: 'key': " in front. */
typedef gboolean (*ConfCheckString)(const char *value, GError **error);
typedef gboolean (*ConfCheckInt)(gint64 value, GError **error);

static char *conf_quote(const char *str)
{
    g_autofree char *escaped = g_strescape(str, NULL);

    return g_strdup_printf("\"%s\"", escaped);
}

static gboolean check_absolute_path(const char *value, GError **error)
{
    if (!g_path_is_absolute(value)) {
        g_autofree char *q = conf_quote(value);
        return conf_fail(error, "%s is not an absolute path", q);
    }
    return TRUE;
}

static gboolean host_name_valid(const char *name)
{
    size_t len = strlen(name);
    g_auto(GStrv) labels = NULL;
    gboolean numeric = TRUE;

    if (len == 0 || len > HOST_NAME_MAX_LEN)
        return FALSE;
    labels = g_strsplit(name, ".", -1);
    for (char **l = labels; *l; l++) {
        size_t n = strlen(*l);

        if (n == 0 || n > 63 || (*l)[0] == '-' || (*l)[n - 1] == '-')
            return FALSE;
        numeric = TRUE;
        for (const char *c = *l; *c; c++) {
            if (!g_ascii_isalnum(*c) && *c != '-')
                return FALSE;
            if (!g_ascii_isdigit(*c))
                numeric = FALSE;
        }
    }
    /* The last label of a host name is never all digits: "10.0.0.300" is a
     * mistyped address, not a name. */
    return !numeric;
}

static gboolean check_listen_addr(const char *value, GError **error)
{
    if (g_hostname_is_ip_address(value) || host_name_valid(value))
        return TRUE;
    g_autofree char *q = conf_quote(value);
    return conf_fail(error, "%s is neither an IP address nor a host name", q);
}

/* What QEMU binds for an incoming migration: an address, not a name. */
static gboolean check_migration_address(const char *value, GError **error)
{
    if (g_hostname_is_ip_address(value))
        return TRUE;
    g_autofree char *q = conf_quote(value);
    return conf_fail(error, "%s is not an IPv4 or IPv6 address (such as \"0.0.0.0\" or \"::\")", q);
}

/* The lock managers of src/driver/lock_manager.h. */
static gboolean check_lock_manager(const char *value, GError **error)
{
    if (g_str_equal(value, "nop") || g_str_equal(value, "lockd"))
        return TRUE;
    g_autofree char *q = conf_quote(value);
    return conf_fail(error, "%s is not a lock manager (\"nop\" or \"lockd\")", q);
}

static gboolean check_group(const char *value, GError **error)
{
    size_t len = strlen(value);
    gboolean ok = len > 0 && len <= GROUP_NAME_MAX && value[0] != '-';

    for (const char *c = value; ok && *c; c++)
        ok = g_ascii_isalnum(*c) || *c == '_' || *c == '-' || *c == '.';
    if (ok)
        return TRUE;
    g_autofree char *q = conf_quote(value);
    return conf_fail(error,
                     "%s is not a group name or number (up to %d letters, digits, "
                     "'_', '-' or '.')",
                     q, GROUP_NAME_MAX);
}

static gboolean check_tls_priority(const char *value, GError **error)
{
    if (!*value)
        return conf_fail(error, "must not be empty (the default is \"%s\")",
                         DAEMON_CONFIG_DEFAULT_TLS_PRIORITY);
    for (const char *c = value; *c; c++) {
        if (!g_ascii_isgraph(*c)) {
            g_autofree char *q = conf_quote(value);
            return conf_fail(error,
                             "%s: a GnuTLS priority string has no spaces or "
                             "non-ASCII characters",
                             q);
        }
    }
    return TRUE;
}

static gboolean check_dn_pattern(const char *value, GError **error)
{
    if (!*value)
        return conf_fail(error, "an empty DN pattern matches no client");
    return TRUE;
}

static gboolean check_keepalive_interval(gint64 value, GError **error)
{
    if (value == 0)
        return conf_fail(error, "0 is not an interval: write -1 to send no keepalive pings");
    return TRUE;
}

/* Log specs are checked by util/log.c itself, without applying them. */
static gboolean check_log_filters(const char *value, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!ferry_log_check_filters(value, &local))
        return conf_fail(error, "%s", local->message);
    return TRUE;
}

static gboolean check_log_outputs(const char *value, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!ferry_log_check_outputs(value, &local))
        return conf_fail(error, "%s", local->message);
    return TRUE;
}

/* ------------------------------------------------------------ the keys */

typedef enum {
    KEY_BOOL, /* gboolean: 0 or 1 */
    KEY_INT, /* int in [min, max] */
    KEY_UINT, /* guint in [min, max] */
    KEY_PORT, /* guint 1..65535, from "16509" or 16509 */
    KEY_STRING, /* char * */
    KEY_LIST, /* char ** of strings */
    KEY_PERMS, /* guint mode bits, from "0770" */
    KEY_AUTH, /* DaemonAuth, from "none" */
    KEY_UUID, /* unsigned char[16], from "8-4-4-4-12" or "" */
    KEY_LAST
} KeyType;

/* What a key expects, for "'%s' expects %s, got %s". */
static const char *const key_type_wants[] = {
    [KEY_BOOL] = "0 or 1",
    [KEY_INT] = "an integer",
    [KEY_UINT] = "an integer",
    [KEY_PORT] = "a port number",
    [KEY_STRING] = "a string",
    [KEY_LIST] = "a list of strings",
    [KEY_PERMS] = "an octal mode in a string, such as \"0770\"",
    [KEY_AUTH] = "a string",
    [KEY_UUID] = "a UUID in a string",
};
G_STATIC_ASSERT(G_N_ELEMENTS(key_type_wants) == KEY_LAST);

enum {
    KEY_EMPTY_UNSETS = 1 << 0, /* "" stores NULL (the default) */
};

typedef struct {
    const char *name;
    KeyType type;
    size_t offset;
    gint64 min, max;
    guint flags;
    ConfCheckString check_string; /* strings; each item of a list */
    ConfCheckInt check_int;
} ConfKey;

#define OFF(field) offsetof(DaemonConfig, field)

/* In the order of daemon/ferryd.conf and daemon_config_dump(). */
static const ConfKey conf_keys[] = {
    { "listen_unix", KEY_BOOL, OFF(listen_unix), 0, 1, 0, NULL, NULL },
    { "unix_sock_dir", KEY_STRING, OFF(unix_sock_dir), 0, 0, KEY_EMPTY_UNSETS, check_absolute_path,
      NULL },
    { "unix_sock_group", KEY_STRING, OFF(unix_sock_group), 0, 0, KEY_EMPTY_UNSETS, check_group,
      NULL },
    { "unix_sock_rw_perms", KEY_PERMS, OFF(unix_sock_rw_perms), 0, 0777, 0, NULL, NULL },
    { "auth_unix_rw", KEY_AUTH, OFF(auth_unix_rw), 0, 0, 0, NULL, NULL },
    { "listen_tcp", KEY_BOOL, OFF(listen_tcp), 0, 1, 0, NULL, NULL },
    { "tcp_port", KEY_PORT, OFF(tcp_port), 1, 65535, 0, NULL, NULL },
    { "auth_tcp", KEY_AUTH, OFF(auth_tcp), 0, 0, 0, NULL, NULL },
    { "listen_tls", KEY_BOOL, OFF(listen_tls), 0, 1, 0, NULL, NULL },
    { "tls_port", KEY_PORT, OFF(tls_port), 1, 65535, 0, NULL, NULL },
    { "auth_tls", KEY_AUTH, OFF(auth_tls), 0, 0, 0, NULL, NULL },
    { "listen_addr", KEY_STRING, OFF(listen_addr), 0, 0, KEY_EMPTY_UNSETS, check_listen_addr,
      NULL },
    { "ca_file", KEY_STRING, OFF(ca_file), 0, 0, KEY_EMPTY_UNSETS, check_absolute_path, NULL },
    { "cert_file", KEY_STRING, OFF(cert_file), 0, 0, KEY_EMPTY_UNSETS, check_absolute_path, NULL },
    { "key_file", KEY_STRING, OFF(key_file), 0, 0, KEY_EMPTY_UNSETS, check_absolute_path, NULL },
    { "crl_file", KEY_STRING, OFF(crl_file), 0, 0, KEY_EMPTY_UNSETS, check_absolute_path, NULL },
    { "tls_no_verify_certificate", KEY_BOOL, OFF(tls_no_verify_certificate), 0, 1, 0, NULL, NULL },
    { "tls_allowed_dn_list", KEY_LIST, OFF(tls_allowed_dn_list), 0, 0, 0, check_dn_pattern, NULL },
    { "tls_priority", KEY_STRING, OFF(tls_priority), 0, 0, 0, check_tls_priority, NULL },
    { "host_uuid", KEY_UUID, OFF(host_uuid), 0, 0, 0, NULL, NULL },
    { "migration_port_min", KEY_UINT, OFF(migration_port_min), 1, 65535, 0, NULL, NULL },
    { "migration_port_max", KEY_UINT, OFF(migration_port_max), 1, 65535, 0, NULL, NULL },
    { "migration_address", KEY_STRING, OFF(migration_address), 0, 0, KEY_EMPTY_UNSETS,
      check_migration_address, NULL },
    { "migration_host", KEY_STRING, OFF(migration_host), 0, 0, KEY_EMPTY_UNSETS, check_listen_addr,
      NULL },
    { "lock_manager", KEY_STRING, OFF(lock_manager), 0, 0, KEY_EMPTY_UNSETS, check_lock_manager,
      NULL },
    { "file_lockspace_dir", KEY_STRING, OFF(file_lockspace_dir), 0, 0, KEY_EMPTY_UNSETS,
      check_absolute_path, NULL },
    { "spice_tls", KEY_BOOL, OFF(spice_tls), 0, 1, 0, NULL, NULL },
    { "spice_tls_x509_cert_dir", KEY_STRING, OFF(spice_tls_x509_cert_dir), 0, 0, KEY_EMPTY_UNSETS,
      check_absolute_path, NULL },
    { "max_clients", KEY_UINT, OFF(max_clients), 1, 1000000, 0, NULL, NULL },
    { "max_anonymous_clients", KEY_UINT, OFF(max_anonymous_clients), 1, 1000000, 0, NULL, NULL },
    { "min_workers", KEY_UINT, OFF(min_workers), 1, 1000, 0, NULL, NULL },
    { "max_workers", KEY_UINT, OFF(max_workers), 1, 1000, 0, NULL, NULL },
    { "max_client_requests", KEY_UINT, OFF(max_client_requests), 1, 1000, 0, NULL, NULL },
    { "keepalive_interval", KEY_INT, OFF(keepalive_interval), -1, 86400, 0, NULL,
      check_keepalive_interval },
    { "keepalive_count", KEY_UINT, OFF(keepalive_count), 0, 1000, 0, NULL, NULL },
    { "log_level", KEY_INT, OFF(log_level), 1, 4, 0, NULL, NULL },
    { "log_filters", KEY_STRING, OFF(log_filters), 0, 0, KEY_EMPTY_UNSETS, check_log_filters,
      NULL },
    { "log_outputs", KEY_STRING, OFF(log_outputs), 0, 0, KEY_EMPTY_UNSETS, check_log_outputs,
      NULL },
    { "state_root", KEY_STRING, OFF(state_root), 0, 0, KEY_EMPTY_UNSETS, check_absolute_path,
      NULL },
};

#undef OFF

/* libvirt settings ferryd does not have: refused by name, with a reason. */
typedef struct {
    const char *name;
    const char *reason;
} ForeignKey;

static const ForeignKey foreign_keys[] = {
    { "unix_sock_ro_perms", "ferryd has one socket, read-write" },
    { "auth_unix_ro", "ferryd has one socket, read-write" },
    { "unix_sock_admin_perms", "ferryd has no admin socket" },
    { "admin_max_workers", "ferryd has no admin socket" },
    { "admin_min_workers", "ferryd has no admin socket" },
    { "admin_max_clients", "ferryd has no admin socket" },
    { "admin_max_queued_clients", "ferryd has no admin socket" },
    { "admin_max_client_requests", "ferryd has no admin socket" },
    { "admin_keepalive_interval", "ferryd has no admin socket" },
    { "admin_keepalive_count", "ferryd has no admin socket" },
    { "tcp_min_ssf", "ferryd has no SASL" },
    { "sasl_allowed_username_list", "ferryd has no SASL" },
    { "access_drivers", "ferryd has no access control drivers" },
    { "mdns_adv", "ferryd does not advertise itself" },
    { "mdns_name", "ferryd does not advertise itself" },
    { "tls_no_sanity_certificate", "ferryd always checks its own certificate" },
    { "host_uuid_source", "set host_uuid, or leave it unset to derive it" },
    { "prio_workers", "ferryd has one worker pool" },
    { "max_queued_clients", "the kernel's listen backlog applies" },
    { "audit_level", "ferryd has no audit subsystem" },
    { "audit_logging", "ferryd has no audit subsystem" },
    { "log_buffer_size", "ferryd logs without a ring buffer" },
    { "keepalive_required", "libvirt removed it too" },
};

static const ConfKey *conf_key_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(conf_keys); i++) {
        if (g_str_equal(conf_keys[i].name, name))
            return &conf_keys[i];
    }
    return NULL;
}

guint daemon_config_n_keys(void)
{
    return G_N_ELEMENTS(conf_keys);
}

const char *daemon_config_key_name(guint i)
{
    if (i >= G_N_ELEMENTS(conf_keys))
        return NULL;
    return conf_keys[i].name;
}

#define FIELD(cfg, key, type) ((type *)(void *)((char *)(cfg) + (key)->offset))
#define CFIELD(cfg, key, type) ((type const *)(const void *)((const char *)(cfg) + (key)->offset))

/* Edit distance, for "did you mean"; names are short (KEY_NAME_MAX). */
static guint edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    guint row[KEY_NAME_MAX + 1];

    if (la > KEY_NAME_MAX || lb > KEY_NAME_MAX)
        return G_MAXUINT;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        guint diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            guint up = row[j];
            guint cost = a[i - 1] == b[j - 1] ? 0 : 1;

            row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
            diag = up;
        }
    }
    return row[lb];
}

static const char *conf_key_suggest(const char *name)
{
    const char *best = NULL;
    guint best_dist = SUGGEST_DISTANCE + 1;

    for (size_t i = 0; i < G_N_ELEMENTS(conf_keys); i++) {
        guint d = edit_distance(name, conf_keys[i].name);

        if (d < best_dist) {
            best_dist = d;
            best = conf_keys[i].name;
        }
    }
    return best;
}

/* ------------------------------------------------------------ config objects */

DaemonConfig *daemon_config_new_defaults(void)
{
    DaemonConfig *cfg = g_new0(DaemonConfig, 1);

    cfg->listen_unix = TRUE;
    cfg->unix_sock_rw_perms = 0700;
    cfg->listen_tcp = FALSE;
    cfg->tcp_port = DAEMON_CONFIG_DEFAULT_TCP_PORT;
    cfg->listen_tls = FALSE;
    cfg->tls_port = DAEMON_CONFIG_DEFAULT_TLS_PORT;
    cfg->auth_unix_rw = DAEMON_AUTH_NONE;
    cfg->auth_tcp = DAEMON_AUTH_NONE;
    cfg->auth_tls = DAEMON_AUTH_NONE;
    cfg->tls_no_verify_certificate = FALSE;
    cfg->tls_priority = g_strdup(DAEMON_CONFIG_DEFAULT_TLS_PRIORITY);
    cfg->migration_port_min = 49152;
    cfg->migration_port_max = 49215;
    cfg->max_clients = 5000;
    cfg->max_anonymous_clients = 20;
    cfg->min_workers = 5;
    cfg->max_workers = 20;
    cfg->max_client_requests = 5;
    cfg->keepalive_interval = 5;
    cfg->keepalive_count = 5;
    cfg->log_level = FERRY_LOG_LEVEL_DEFAULT;
    return cfg;
}

void daemon_config_free(DaemonConfig *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(conf_keys); i++) {
        const ConfKey *key = &conf_keys[i];

        if (key->type == KEY_STRING)
            g_free(*FIELD(cfg, key, char *));
        else if (key->type == KEY_LIST)
            g_strfreev(*FIELD(cfg, key, char **));
    }
    g_free(cfg);
}

DaemonConfig *daemon_config_copy(const DaemonConfig *cfg)
{
    DaemonConfig *copy = g_memdup2(cfg, sizeof(*cfg));

    for (size_t i = 0; i < G_N_ELEMENTS(conf_keys); i++) {
        const ConfKey *key = &conf_keys[i];

        if (key->type == KEY_STRING)
            *FIELD(copy, key, char *) = g_strdup(*CFIELD(cfg, key, char *));
        else if (key->type == KEY_LIST)
            *FIELD(copy, key, char **) = g_strdupv(*CFIELD(cfg, key, char **));
    }
    return copy;
}

/* ------------------------------------------------------------ the parser */

typedef struct {
    const char *name; /* the file, for errors */
    const char *text;
    size_t len;
    size_t pos;
    int line;
} Parser;

static char parser_peek(const Parser *p)
{
    return p->pos < p->len ? p->text[p->pos] : '\0';
}

static gboolean parser_at_end(const Parser *p)
{
    return p->pos >= p->len;
}

/* Spaces and tabs (and the \r of \r\n) on the current line. */
static void parser_skip_blanks(Parser *p)
{
    while (!parser_at_end(p)) {
        char c = parser_peek(p);

        if (c != ' ' && c != '\t' && c != '\r')
            break;
        p->pos++;
    }
}

static void parser_skip_comment(Parser *p)
{
    if (parser_peek(p) != '#')
        return;
    while (!parser_at_end(p) && parser_peek(p) != '\n')
        p->pos++;
}

/* Blanks, comments and newlines: between statements and inside lists. */
static void parser_skip_space(Parser *p)
{
    for (;;) {
        parser_skip_blanks(p);
        parser_skip_comment(p);
        if (parser_peek(p) != '\n' || parser_at_end(p))
            return;
        p->pos++;
        p->line++;
    }
}

static gboolean parser_fail(const Parser *p, int line, GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static gboolean parser_fail(const Parser *p, int line, GError **error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ferry_fail(error, FERRY_ERR_CONFIG, "%s:%d: %s", p->name, line, msg);
    return FALSE;
}

/* How an unexpected character reads in a message. */
static char *describe_char(char c)
{
    if (c == '\0')
        return g_strdup("the end of the file");
    if (c == '\n')
        return g_strdup("the end of the line");
    if (g_ascii_isprint(c))
        return g_strdup_printf("'%c'", c);
    return g_strdup_printf("byte 0x%02x", (unsigned char)c);
}

/* Whole-file checks, so that later messages can trust the text. */
static gboolean parser_check_lines(const Parser *p, GError **error)
{
    int line = 1;
    size_t start = 0;

    while (start <= p->len) {
        const char *nl = memchr(p->text + start, '\n', p->len - start);
        size_t end = nl ? (size_t)(nl - p->text) : p->len;
        const char *nul = memchr(p->text + start, '\0', end - start);

        if (end - start > DAEMON_CONFIG_MAX_LINE)
            return parser_fail(p, line, error, "line longer than %d bytes", DAEMON_CONFIG_MAX_LINE);
        if (nul)
            return parser_fail(p, line, error, "NUL byte in the text");
        if (!g_utf8_validate_len(p->text + start, end - start, NULL))
            return parser_fail(p, line, error, "not valid UTF-8");
        if (!nl)
            break;
        start = end + 1;
        line++;
    }
    return TRUE;
}

static gboolean parser_string(Parser *p, Value *v, GError **error)
{
    char quote = parser_peek(p);
    g_autoptr(GString) s = g_string_new(NULL);

    v->type = VALUE_STRING;
    p->pos++;
    for (;;) {
        char c = parser_peek(p);

        if (parser_at_end(p) || c == '\n' ||
            (c == '\r' && p->pos + 1 < p->len && p->text[p->pos + 1] == '\n'))
            return parser_fail(p, p->line, error, "unterminated string");
        p->pos++;
        if (c == quote)
            break;
        if (c == '\\' && quote == '"') {
            char e = parser_peek(p);

            if (e != '"' && e != '\\') {
                g_autofree char *what = describe_char(e);
                return parser_fail(p, p->line, error,
                                   "bad escape '\\' before %s in a string "
                                   "(only \\\" and \\\\ are escapes)",
                                   what);
            }
            c = e;
            p->pos++;
        } else if (((unsigned char)c < 0x20 && c != '\t') || c == 0x7f) {
            return parser_fail(p, p->line, error, "control character 0x%02x in a string",
                               (unsigned char)c);
        }
        if (s->len >= DAEMON_CONFIG_MAX_STRING)
            return parser_fail(p, p->line, error, "string longer than %d bytes",
                               DAEMON_CONFIG_MAX_STRING);
        g_string_append_c(s, c);
    }
    v->str = g_string_free(g_steal_pointer(&s), FALSE);
    return TRUE;
}

static gboolean is_value_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '#' || c == ',' ||
           c == ']';
}

static gboolean parser_int(Parser *p, Value *v, GError **error)
{
    size_t start = p->pos;
    gboolean negative = FALSE;
    guint64 n = 0;
    gboolean overflow = FALSE;

    v->type = VALUE_INT;
    if (parser_peek(p) == '-' || parser_peek(p) == '+') {
        negative = parser_peek(p) == '-';
        p->pos++;
    }
    size_t digits = p->pos;
    while (!parser_at_end(p) && g_ascii_isdigit(parser_peek(p))) {
        guint d = parser_peek(p) - '0';

        if (n > (G_MAXUINT64 - d) / 10)
            overflow = TRUE;
        else
            n = n * 10 + d;
        p->pos++;
    }
    if (p->pos == digits || !is_value_end(parser_peek(p))) {
        while (!is_value_end(parser_peek(p)))
            p->pos++;
        g_autofree char *word = g_strndup(p->text + start, p->pos - start);
        return parser_fail(p, p->line, error, "'%s' is not a decimal integer", word);
    }
    if (overflow || n > (guint64)G_MAXINT64 + (negative ? 1 : 0)) {
        g_autofree char *word = g_strndup(p->text + start, p->pos - start);
        return parser_fail(p, p->line, error, "integer %s does not fit in 64 bits", word);
    }
    if (negative)
        v->num = n == (guint64)G_MAXINT64 + 1 ? G_MININT64 : -(gint64)n;
    else
        v->num = (gint64)n;
    return TRUE;
}

/* A word without quotes: say what was probably meant. */
static gboolean parser_bare_word(Parser *p, GError **error)
{
    static const char *const bools[] = { "true", "false", "yes", "no", "on", "off" };
    size_t start = p->pos;

    while (!is_value_end(parser_peek(p)) && parser_peek(p) != '"' && parser_peek(p) != '\'')
        p->pos++;
    if (p->pos == start) {
        g_autofree char *what = describe_char(parser_peek(p));
        return parser_fail(p, p->line, error, "expected a value, got %s", what);
    }
    g_autofree char *word = g_strndup(p->text + start, p->pos - start);
    for (size_t i = 0; i < G_N_ELEMENTS(bools); i++) {
        if (g_ascii_strcasecmp(word, bools[i]) == 0)
            return parser_fail(p, p->line, error,
                               "'%s' is not a value: booleans are written 1 or 0", word);
    }
    return parser_fail(p, p->line, error, "'%s' is not a value: strings take double quotes", word);
}

static gboolean parser_value(Parser *p, Value *v, gboolean in_list, GError **error);

/* At the end of the text: blame its last line, not the empty one after
 * the final newline. */
static gboolean parser_list_unterminated(const Parser *p, int opened, GError **error)
{
    int line = p->line;

    if (p->len > 0 && p->text[p->len - 1] == '\n' && line > 1)
        line--;
    return parser_fail(p, line, error, "unterminated list (opened at line %d)", opened);
}

static gboolean parser_list(Parser *p, Value *v, GError **error)
{
    int opened = p->line;

    v->type = VALUE_LIST;
    v->items = g_ptr_array_new_with_free_func(value_free);
    p->pos++;
    for (;;) {
        parser_skip_space(p);
        if (parser_at_end(p))
            return parser_list_unterminated(p, opened, error);
        if (parser_peek(p) == ']')
            break;
        if (v->items->len >= DAEMON_CONFIG_MAX_LIST)
            return parser_fail(p, p->line, error, "list longer than %d items",
                               DAEMON_CONFIG_MAX_LIST);
        g_autoptr(Value) item = g_new0(Value, 1);
        if (!parser_value(p, item, TRUE, error))
            return FALSE;
        g_ptr_array_add(v->items, g_steal_pointer(&item));
        parser_skip_space(p);
        if (parser_peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (parser_peek(p) == ']')
            break;
        if (parser_at_end(p))
            return parser_list_unterminated(p, opened, error);
        g_autofree char *what = describe_char(parser_peek(p));
        return parser_fail(p, p->line, error, "expected ',' or ']' in a list, got %s", what);
    }
    p->pos++;
    return TRUE;
}

static gboolean parser_value(Parser *p, Value *v, gboolean in_list, GError **error)
{
    char c = parser_peek(p);

    v->line = p->line;
    if (c == '"' || c == '\'')
        return parser_string(p, v, error);
    if (c == '-' || c == '+' || g_ascii_isdigit(c))
        return parser_int(p, v, error);
    if (c == '[') {
        if (in_list)
            return parser_fail(p, p->line, error, "lists cannot hold lists");
        return parser_list(p, v, error);
    }
    if (parser_at_end(p) || c == '\n' || c == '#')
        return parser_fail(p, p->line, error, "missing value after '='");
    return parser_bare_word(p, error);
}

/* key = value, then blanks and a comment to the end of the line.  Sets
 * *key to NULL at the end of the text. */
static gboolean parser_statement(Parser *p, char **key, int *line, Value **value, GError **error)
{
    *key = NULL;
    parser_skip_space(p);
    if (parser_at_end(p))
        return TRUE;

    *line = p->line;
    size_t start = p->pos;
    while (!parser_at_end(p) && (g_ascii_isalnum(parser_peek(p)) || parser_peek(p) == '_' ||
                                 parser_peek(p) == '-' || parser_peek(p) == '.'))
        p->pos++;
    if (p->pos == start || g_ascii_isdigit(p->text[start])) {
        g_autofree char *what = describe_char(p->text[start]);
        return parser_fail(p, *line, error, "expected a setting name, got %s", what);
    }
    if (p->pos - start > KEY_NAME_MAX)
        return parser_fail(p, *line, error, "setting name longer than %d bytes", KEY_NAME_MAX);
    g_autofree char *name = g_strndup(p->text + start, p->pos - start);

    parser_skip_blanks(p);
    if (parser_peek(p) != '=') {
        g_autofree char *what = describe_char(parser_peek(p));
        return parser_fail(p, *line, error, "expected '=' after '%s', got %s", name, what);
    }
    p->pos++;
    parser_skip_blanks(p);

    g_autoptr(Value) v = g_new0(Value, 1);
    if (!parser_value(p, v, FALSE, error))
        return FALSE;
    parser_skip_blanks(p);
    parser_skip_comment(p);
    if (!parser_at_end(p) && parser_peek(p) != '\n') {
        g_autofree char *what = describe_char(parser_peek(p));
        return parser_fail(p, p->line, error, "unexpected %s after the value of '%s'", what, name);
    }
    *key = g_steal_pointer(&name);
    *value = g_steal_pointer(&v);
    return TRUE;
}

/* ------------------------------------------------------------ storing values */

typedef struct {
    const Parser *parser;
    int lines[G_N_ELEMENTS(conf_keys)]; /* where each key was set; 0: not here */
} LoadContext;

static gboolean key_wrong_type(const Parser *p, const ConfKey *key, const Value *v, GError **error)
{
    return parser_fail(p, v->line, error, "'%s' expects %s, got %s", key->name,
                       key_type_wants[key->type], value_type_names[v->type]);
}

/* Runs a validator and puts "file:line: 'key': " before its message. */
static gboolean key_check_string(const Parser *p, const ConfKey *key, int line, const char *value,
                                 GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!key->check_string || key->check_string(value, &local))
        return TRUE;
    return parser_fail(p, line, error, "'%s': %s", key->name, local->message);
}

static gboolean key_range(const Parser *p, const ConfKey *key, const Value *v, gint64 num,
                          GError **error)
{
    if (num < key->min || num > key->max)
        return parser_fail(p, v->line, error,
                           "'%s' must be %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                           ", got %" G_GINT64_FORMAT,
                           key->name, key->min, key->max, num);
    if (key->check_int) {
        g_autoptr(GError) local = NULL;

        if (!key->check_int(num, &local))
            return parser_fail(p, v->line, error, "'%s': %s", key->name, local->message);
    }
    return TRUE;
}

static gboolean key_store_bool(const Parser *p, const ConfKey *key, const Value *v,
                               DaemonConfig *cfg, GError **error)
{
    if (v->type != VALUE_INT)
        return key_wrong_type(p, key, v, error);
    if (v->num != 0 && v->num != 1)
        return parser_fail(p, v->line, error, "'%s' expects 0 or 1, got %" G_GINT64_FORMAT,
                           key->name, v->num);
    *FIELD(cfg, key, gboolean) = v->num == 1;
    return TRUE;
}

static gboolean key_store_port(const Parser *p, const ConfKey *key, const Value *v,
                               DaemonConfig *cfg, GError **error)
{
    gint64 num;

    if (v->type == VALUE_INT) {
        num = v->num;
    } else if (v->type == VALUE_STRING) {
        const char *s = v->str;
        gboolean digits = *s && strlen(s) <= 5;

        for (const char *c = s; digits && *c; c++)
            digits = g_ascii_isdigit(*c);
        if (!digits) {
            g_autofree char *q = conf_quote(s);
            return parser_fail(p, v->line, error, "'%s': %s is not a port number (1 to 65535)",
                               key->name, q);
        }
        num = g_ascii_strtoll(s, NULL, 10);
    } else {
        return key_wrong_type(p, key, v, error);
    }
    if (!key_range(p, key, v, num, error))
        return FALSE;
    *FIELD(cfg, key, guint) = (guint)num;
    return TRUE;
}

static gboolean key_store_perms(const Parser *p, const ConfKey *key, const Value *v,
                                DaemonConfig *cfg, GError **error)
{
    if (v->type != VALUE_STRING)
        return key_wrong_type(p, key, v, error);
    const char *s = v->str;
    gboolean octal = *s && strlen(s) <= 4;

    for (const char *c = s; octal && *c; c++)
        octal = *c >= '0' && *c <= '7';
    guint64 mode = octal ? g_ascii_strtoull(s, NULL, 8) : 0;
    if (!octal || mode > (guint64)key->max) {
        g_autofree char *q = conf_quote(s);
        return parser_fail(p, v->line, error,
                           "'%s': %s is not an octal mode from \"0000\" to \"0777\"", key->name, q);
    }
    *FIELD(cfg, key, guint) = (guint)mode;
    return TRUE;
}

static gboolean key_store_auth(const Parser *p, const ConfKey *key, const Value *v,
                               DaemonConfig *cfg, GError **error)
{
    if (v->type != VALUE_STRING)
        return key_wrong_type(p, key, v, error);
    g_autofree char *q = conf_quote(v->str);
    if (g_str_equal(v->str, "none")) {
        *FIELD(cfg, key, DaemonAuth) = DAEMON_AUTH_NONE;
        return TRUE;
    }
    if (g_str_equal(v->str, "sasl") || g_str_equal(v->str, "polkit"))
        return parser_fail(p, v->line, error,
                           "'%s': %s is not supported by ferryd; use \"none\" (remote "
                           "clients authenticate with TLS client certificates)",
                           key->name, q);
    return parser_fail(p, v->line, error, "'%s' expects \"none\", \"sasl\" or \"polkit\", got %s",
                       key->name, q);
}

static gboolean key_store_uuid(const Parser *p, const ConfKey *key, const Value *v,
                               DaemonConfig *cfg, GError **error)
{
    unsigned char uuid[FERRY_UUID_BUFLEN];
    g_autoptr(GError) local = NULL;

    if (v->type != VALUE_STRING)
        return key_wrong_type(p, key, v, error);
    if (!*v->str) {
        memset(FIELD(cfg, key, unsigned char), 0, FERRY_UUID_BUFLEN);
        return TRUE;
    }
    if (ferry_uuid_parse(v->str, uuid, &local) < 0)
        return parser_fail(p, v->line, error, "'%s': %s", key->name, local->message);
    if (ferry_uuid_is_degenerate(uuid))
        return parser_fail(p, v->line, error,
                           "'%s': \"%s\" cannot tell hosts apart (all its bytes are equal)",
                           key->name, v->str);
    memcpy(FIELD(cfg, key, unsigned char), uuid, FERRY_UUID_BUFLEN);
    return TRUE;
}

static gboolean key_store_list(const Parser *p, const ConfKey *key, const Value *v,
                               DaemonConfig *cfg, GError **error)
{
    if (v->type != VALUE_LIST)
        return key_wrong_type(p, key, v, error);
    g_autoptr(GPtrArray) strs = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < v->items->len; i++) {
        const Value *item = g_ptr_array_index(v->items, i);

        if (item->type != VALUE_STRING)
            return parser_fail(p, item->line, error,
                               "'%s' expects a list of strings, got %s as item %u", key->name,
                               value_type_names[item->type], i + 1);
        if (!key_check_string(p, key, item->line, item->str, error))
            return FALSE;
        g_ptr_array_add(strs, g_strdup(item->str));
    }
    g_ptr_array_add(strs, NULL);
    char ***field = FIELD(cfg, key, char **);
    g_strfreev(*field);
    *field = (char **)g_ptr_array_free(g_steal_pointer(&strs), FALSE);
    return TRUE;
}

static gboolean key_store_string(const Parser *p, const ConfKey *key, const Value *v,
                                 DaemonConfig *cfg, GError **error)
{
    char **field = FIELD(cfg, key, char *);

    if (v->type != VALUE_STRING)
        return key_wrong_type(p, key, v, error);
    if (!*v->str && (key->flags & KEY_EMPTY_UNSETS)) {
        g_clear_pointer(field, g_free);
        return TRUE;
    }
    if (!key_check_string(p, key, v->line, v->str, error))
        return FALSE;
    g_free(*field);
    *field = g_strdup(v->str);
    return TRUE;
}

static gboolean key_store(const Parser *p, const ConfKey *key, const Value *v, DaemonConfig *cfg,
                          GError **error)
{
    switch (key->type) {
    case KEY_BOOL:
        return key_store_bool(p, key, v, cfg, error);
    case KEY_INT:
    case KEY_UINT:
        if (v->type != VALUE_INT)
            return key_wrong_type(p, key, v, error);
        if (!key_range(p, key, v, v->num, error))
            return FALSE;
        if (key->type == KEY_INT)
            *FIELD(cfg, key, int) = (int)v->num;
        else
            *FIELD(cfg, key, guint) = (guint)v->num;
        return TRUE;
    case KEY_PORT:
        return key_store_port(p, key, v, cfg, error);
    case KEY_STRING:
        return key_store_string(p, key, v, cfg, error);
    case KEY_LIST:
        return key_store_list(p, key, v, cfg, error);
    case KEY_PERMS:
        return key_store_perms(p, key, v, cfg, error);
    case KEY_AUTH:
        return key_store_auth(p, key, v, cfg, error);
    case KEY_UUID:
        return key_store_uuid(p, key, v, cfg, error);
    case KEY_LAST:
        break;
    }
    g_assert_not_reached();
}

static gboolean load_unknown_key(const Parser *p, const char *name, int line, GError **error)
{
    for (size_t i = 0; i < G_N_ELEMENTS(foreign_keys); i++) {
        if (g_str_equal(foreign_keys[i].name, name))
            return parser_fail(p, line, error,
                               "'%s' is a libvirt setting that ferryd does not support (%s)", name,
                               foreign_keys[i].reason);
    }
    const char *near = conf_key_suggest(name);
    if (near)
        return parser_fail(p, line, error, "unknown key '%s' (did you mean '%s'?)", name, near);
    return parser_fail(p, line, error, "unknown key '%s'", name);
}

/* ------------------------------------------------------------ cross-checks */

static int load_key_line(const LoadContext *ctx, const char *name)
{
    const ConfKey *key = conf_key_find(name);

    g_assert(key);
    return ctx->lines[key - conf_keys];
}

/* The line to blame for a relation between two keys: the later one set in
 * this file; 0 when neither was (the caller's own values are off). */
static gboolean cross_fail(const LoadContext *ctx, const char *a, const char *b, GError **error,
                           const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static gboolean cross_fail(const LoadContext *ctx, const char *a, const char *b, GError **error,
                           const char *fmt, ...)
{
    int line = MAX(load_key_line(ctx, a), load_key_line(ctx, b));
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (line > 0)
        ferry_fail(error, FERRY_ERR_CONFIG, "%s:%d: %s", ctx->parser->name, line, msg);
    else
        ferry_fail(error, FERRY_ERR_CONFIG, "%s: %s", ctx->parser->name, msg);
    return FALSE;
}

typedef struct {
    const char *low;
    const char *high;
    size_t low_off;
    size_t high_off;
} OrderedPair;

static const OrderedPair ordered_pairs[] = {
    { "migration_port_min", "migration_port_max", offsetof(DaemonConfig, migration_port_min),
      offsetof(DaemonConfig, migration_port_max) },
    { "min_workers", "max_workers", offsetof(DaemonConfig, min_workers),
      offsetof(DaemonConfig, max_workers) },
    { "max_anonymous_clients", "max_clients", offsetof(DaemonConfig, max_anonymous_clients),
      offsetof(DaemonConfig, max_clients) },
};

static gboolean load_cross_check(const LoadContext *ctx, const DaemonConfig *cfg, GError **error)
{
    for (size_t i = 0; i < G_N_ELEMENTS(ordered_pairs); i++) {
        const OrderedPair *pair = &ordered_pairs[i];
        guint low = *(const guint *)(const void *)((const char *)cfg + pair->low_off);
        guint high = *(const guint *)(const void *)((const char *)cfg + pair->high_off);

        if (low > high)
            return cross_fail(ctx, pair->low, pair->high, error,
                              "'%s' (%u) is greater than '%s' (%u)", pair->low, low, pair->high,
                              high);
    }
    if (cfg->listen_tcp && cfg->listen_tls && cfg->tcp_port == cfg->tls_port)
        return cross_fail(ctx, "tcp_port", "tls_port", error,
                          "'tcp_port' and 'tls_port' are both %u; the TCP and TLS "
                          "listeners need different ports",
                          cfg->tcp_port);
    if (g_strcmp0(cfg->lock_manager, "lockd") == 0 && !cfg->file_lockspace_dir)
        return cross_fail(ctx, "lock_manager", "file_lockspace_dir", error,
                          "'lock_manager' is \"lockd\" but 'file_lockspace_dir' is unset; lockd "
                          "needs the lease directory that every host shares");
    return TRUE;
}

/* ------------------------------------------------------------ loading */

gboolean daemon_config_load_string(DaemonConfig *cfg, const char *text, gssize len,
                                   const char *name, GError **error)
{
    Parser parser = { name ? name : "(config)", text, 0, 0, 1 };
    LoadContext ctx = { &parser, { 0 } };
    guint count = 0;

    g_return_val_if_fail(cfg != NULL && text != NULL, FALSE);
    parser.len = len < 0 ? strlen(text) : (size_t)len;
    if (parser.len > DAEMON_CONFIG_MAX_FILE) {
        ferry_fail(error, FERRY_ERR_OVERFLOW, "%s: larger than %d bytes", parser.name,
                   DAEMON_CONFIG_MAX_FILE);
        return FALSE;
    }
    if (!parser_check_lines(&parser, error))
        return FALSE;

    g_autoptr(DaemonConfig) next = daemon_config_copy(cfg);
    for (;;) {
        g_autofree char *key_name = NULL;
        g_autoptr(Value) value = NULL;
        int line = 0;

        if (!parser_statement(&parser, &key_name, &line, &value, error))
            return FALSE;
        if (!key_name)
            break;
        const ConfKey *key = conf_key_find(key_name);
        if (!key)
            return load_unknown_key(&parser, key_name, line, error);
        int *seen = &ctx.lines[key - conf_keys];
        if (*seen)
            return parser_fail(&parser, line, error, "'%s' is already set at line %d", key_name,
                               *seen);
        *seen = line;
        if (!key_store(&parser, key, value, next, error))
            return FALSE;
        count++;
    }
    if (!load_cross_check(&ctx, next, error))
        return FALSE;

    /* Swap, so that the old settings go with next. */
    DaemonConfig old = *cfg;
    *cfg = *next;
    *next = old;
    FLOG_DEBUG("%s: %u settings", parser.name, count);
    return TRUE;
}

static char *load_read_file(const char *path, size_t *len, GError **error)
{
    g_auto(FerryFd) fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;

    if (fd < 0) {
        ferry_fail_errno(error, errno, "cannot open config file '%s'", path);
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        ferry_fail_errno(error, errno, "cannot stat config file '%s'", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        ferry_fail(error, FERRY_ERR_CONFIG, "config file '%s' is not a regular file", path);
        return NULL;
    }
    if (st.st_size > DAEMON_CONFIG_MAX_FILE) {
        ferry_fail(error, FERRY_ERR_OVERFLOW, "%s: larger than %d bytes", path,
                   DAEMON_CONFIG_MAX_FILE);
        return NULL;
    }

    /* Read one byte past the limit, in case the file grew since fstat. */
    g_autofree char *buf = g_malloc(DAEMON_CONFIG_MAX_FILE + 2);
    size_t got = 0;
    while (got <= DAEMON_CONFIG_MAX_FILE) {
        ssize_t n = read(fd, buf + got, DAEMON_CONFIG_MAX_FILE + 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ferry_fail_errno(error, errno, "cannot read config file '%s'", path);
            return NULL;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > DAEMON_CONFIG_MAX_FILE) {
        ferry_fail(error, FERRY_ERR_OVERFLOW, "%s: larger than %d bytes", path,
                   DAEMON_CONFIG_MAX_FILE);
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    return g_steal_pointer(&buf);
}

gboolean daemon_config_load_file(DaemonConfig *cfg, const char *path, GError **error)
{
    size_t len = 0;
    g_autofree char *text = load_read_file(path, &len, error);

    if (!text)
        return FALSE;
    return daemon_config_load_string(cfg, text, (gssize)len, path, error);
}

/* ------------------------------------------------------------ dumping */

static void dump_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const char *c = s ? s : ""; *c; c++) {
        if (*c == '"' || *c == '\\')
            g_string_append_c(out, '\\');
        g_string_append_c(out, *c);
    }
    g_string_append_c(out, '"');
}

char *daemon_config_dump(const DaemonConfig *cfg)
{
    GString *out = g_string_new(NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(conf_keys); i++) {
        const ConfKey *key = &conf_keys[i];

        g_string_append_printf(out, "%s = ", key->name);
        switch (key->type) {
        case KEY_BOOL:
            g_string_append(out, *CFIELD(cfg, key, gboolean) ? "1" : "0");
            break;
        case KEY_INT:
            g_string_append_printf(out, "%d", *CFIELD(cfg, key, int));
            break;
        case KEY_UINT:
            g_string_append_printf(out, "%u", *CFIELD(cfg, key, guint));
            break;
        case KEY_PORT:
            g_string_append_printf(out, "\"%u\"", *CFIELD(cfg, key, guint));
            break;
        case KEY_STRING:
            dump_string(out, *CFIELD(cfg, key, char *));
            break;
        case KEY_LIST: {
            char *const *list = *CFIELD(cfg, key, char **);

            g_string_append_c(out, '[');
            for (guint j = 0; list && list[j]; j++) {
                g_string_append(out, j ? ", " : " ");
                dump_string(out, list[j]);
            }
            g_string_append(out, list && list[0] ? " ]" : "]");
            break;
        }
        case KEY_PERMS:
            g_string_append_printf(out, "\"%04o\"", *CFIELD(cfg, key, guint));
            break;
        case KEY_AUTH:
            dump_string(out, daemon_auth_to_string(*CFIELD(cfg, key, DaemonAuth)));
            break;
        case KEY_UUID: {
            const unsigned char *uuid = CFIELD(cfg, key, unsigned char);
            char buf[FERRY_UUID_STRING_BUFLEN];

            dump_string(out, ferry_uuid_is_null(uuid) ? "" : ferry_uuid_format(uuid, buf));
            break;
        }
        case KEY_LAST:
            g_assert_not_reached();
        }
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

gboolean daemon_config_equal(const DaemonConfig *a, const DaemonConfig *b)
{
    g_autofree char *da = daemon_config_dump(a);
    g_autofree char *db = daemon_config_dump(b);

    return g_str_equal(da, db);
}

/* ------------------------------------------------------------ paths */

static const char *root_or_slash(const char *root)
{
    return root && *root ? root : "/";
}

char *daemon_config_default_file(const char *root)
{
    return g_build_filename(root_or_slash(root), daemon_dir_paths[DAEMON_DIR_CONFIG], "ferryd.conf",
                            NULL);
}

char *daemon_config_dir(const DaemonConfig *cfg, DaemonDir which)
{
    g_return_val_if_fail((guint)which < DAEMON_DIR_LAST, NULL);
    return g_build_filename(root_or_slash(cfg->state_root), daemon_dir_paths[which], NULL);
}

char *daemon_config_unix_sock_path(const DaemonConfig *cfg)
{
    if (cfg->unix_sock_dir)
        return g_build_filename(cfg->unix_sock_dir, DAEMON_CONFIG_UNIX_SOCK_NAME, NULL);
    g_autofree char *run = daemon_config_dir(cfg, DAEMON_DIR_RUN);
    return g_build_filename(run, DAEMON_CONFIG_UNIX_SOCK_NAME, NULL);
}

char *daemon_config_tls_file(const DaemonConfig *cfg, DaemonTlsFile which)
{
    const char *set[] = {
        [DAEMON_TLS_CA] = cfg->ca_file,
        [DAEMON_TLS_CERT] = cfg->cert_file,
        [DAEMON_TLS_KEY] = cfg->key_file,
        [DAEMON_TLS_CRL] = cfg->crl_file,
    };
    G_STATIC_ASSERT(G_N_ELEMENTS(set) == DAEMON_TLS_LAST);

    g_return_val_if_fail((guint)which < DAEMON_TLS_LAST, NULL);
    if (set[which])
        return g_strdup(set[which]);
    if (!daemon_tls_defaults[which])
        return NULL;
    g_autofree char *dir = daemon_config_dir(cfg, DAEMON_DIR_CONFIG);
    return g_build_filename(dir, daemon_tls_defaults[which], NULL);
}

char *daemon_config_spice_tls_dir(const DaemonConfig *cfg)
{
    if (cfg->spice_tls_x509_cert_dir)
        return g_strdup(cfg->spice_tls_x509_cert_dir);
    g_autofree char *dir = daemon_config_dir(cfg, DAEMON_DIR_CONFIG);
    return g_build_filename(dir, DAEMON_CONFIG_SPICE_TLS_DIR, NULL);
}

gboolean daemon_config_dn_allowed(const DaemonConfig *cfg, const char *dn)
{
    if (!cfg->tls_allowed_dn_list || !cfg->tls_allowed_dn_list[0])
        return TRUE;
    for (char **pat = cfg->tls_allowed_dn_list; *pat; pat++) {
        if (g_pattern_match_simple(*pat, dn))
            return TRUE;
    }
    FLOG_DEBUG("client DN '%s' matches no pattern of tls_allowed_dn_list", dn);
    return FALSE;
}
