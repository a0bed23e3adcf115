/*
 * test-daemon-config.c: ferryd.conf parsing, validation, defaults, the
 * example file and the paths derived from a config.
 *
 * Data in tests/data/config/:
 *   valid/NAME.conf     loads; NAME.dump is daemon_config_dump() of the result
 *   invalid/NAME.conf   is refused; NAME.err is the message, its directory cut
 *   defaults.dump       daemon_config_dump() of the defaults
 * FERRY_TEST_REGENERATE=1 (or FERRY_TEST_REGENERATE_OUTPUT=1) rewrites the
 * .dump and .err files.
 */
#include <config.h>

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_CONF
#define FERRY_LOG_MODULE "tests.daemon-config"

#include "conf/daemon_config.h"
#include "util/error.h"
#include "util/log.h"
#include "testutils.h"

static char *example_path; /* daemon/ferryd.conf */

static char *read_text(const char *path)
{
    g_autoptr(GError) err = NULL;
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, &err))
        g_error("%s", err->message);
    return text;
}

static char *defaults_dump(void)
{
    g_autoptr(DaemonConfig) def = daemon_config_new_defaults();

    return daemon_config_dump(def);
}

/* ------------------------------------------------------------ defaults */

static void test_defaults(void)
{
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();

    g_assert_true(cfg->listen_unix);
    g_assert_null(cfg->unix_sock_dir);
    g_assert_null(cfg->unix_sock_group);
    g_assert_cmpuint(cfg->unix_sock_rw_perms, ==, 0700);
    g_assert_false(cfg->listen_tcp);
    g_assert_cmpuint(cfg->tcp_port, ==, 16509);
    g_assert_false(cfg->listen_tls);
    g_assert_cmpuint(cfg->tls_port, ==, 16514);
    g_assert_null(cfg->listen_addr);
    g_assert_cmpint(cfg->auth_unix_rw, ==, DAEMON_AUTH_NONE);
    g_assert_cmpint(cfg->auth_tcp, ==, DAEMON_AUTH_NONE);
    g_assert_cmpint(cfg->auth_tls, ==, DAEMON_AUTH_NONE);
    g_assert_null(cfg->ca_file);
    g_assert_null(cfg->cert_file);
    g_assert_null(cfg->key_file);
    g_assert_null(cfg->crl_file);
    g_assert_false(cfg->tls_no_verify_certificate);
    g_assert_null(cfg->tls_allowed_dn_list);
    g_assert_cmpstr(cfg->tls_priority, ==, "NORMAL");
    g_assert_true(ferry_uuid_is_null(cfg->host_uuid));
    g_assert_cmpuint(cfg->migration_port_min, ==, 49152);
    g_assert_cmpuint(cfg->migration_port_max, ==, 49215);
    g_assert_null(cfg->migration_address);
    g_assert_null(cfg->migration_host);
    g_assert_cmpuint(cfg->max_clients, ==, 5000);
    g_assert_cmpuint(cfg->max_anonymous_clients, ==, 20);
    g_assert_cmpuint(cfg->min_workers, ==, 5);
    g_assert_cmpuint(cfg->max_workers, ==, 20);
    g_assert_cmpuint(cfg->max_client_requests, ==, 5);
    g_assert_cmpint(cfg->keepalive_interval, ==, 5);
    g_assert_cmpuint(cfg->keepalive_count, ==, 5);
    g_assert_cmpint(cfg->log_level, ==, 3);
    g_assert_null(cfg->log_filters);
    g_assert_null(cfg->log_outputs);
    g_assert_null(cfg->state_root);

    g_autofree char *dump = daemon_config_dump(cfg);
    test_compare_golden("config", "defaults.dump", dump);
}

/* ------------------------------------------------------------ data files */

/* data: "valid/NAME", NAME.conf and NAME.dump under tests/data/config */
static void test_valid_file(gconstpointer data)
{
    const char *stem = data;
    g_autofree char *conf = g_strconcat(stem, ".conf", NULL);
    g_autofree char *path = test_data_path("config", conf);
    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();

    if (!daemon_config_load_file(cfg, path, &err))
        g_error("%s", err->message);
    g_autofree char *dump = daemon_config_dump(cfg);
    g_autofree char *golden = g_strconcat(stem, ".dump", NULL);
    test_compare_golden("config", golden, dump);

    /* The dump loads back to an equal config. */
    g_autoptr(DaemonConfig) again = daemon_config_new_defaults();
    if (!daemon_config_load_string(again, dump, -1, "dump", &err))
        g_error("%s", err->message);
    g_assert_true(daemon_config_equal(cfg, again));
}

/* data: "invalid/NAME", NAME.conf and NAME.err under tests/data/config */
static void test_invalid_file(gconstpointer data)
{
    const char *stem = data;
    g_autofree char *conf = g_strconcat(stem, ".conf", NULL);
    g_autofree char *path = test_data_path("config", conf);
    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();
    g_autofree char *before = daemon_config_dump(cfg);

    g_assert_false(daemon_config_load_file(cfg, path, &err));
    g_assert_nonnull(err);
    g_assert_cmpint(ferry_error_domain_of(err), ==, FERRY_FROM_CONF);
    g_assert_cmpint(err->code, ==, FERRY_ERR_CONFIG);

    /* Messages start with the path; the golden file has the base name. */
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *prefix = g_strconcat(dir, "/", NULL);
    g_assert_true(g_str_has_prefix(err->message, prefix));
    g_autofree char *msg = g_strconcat(err->message + strlen(prefix), "\n", NULL);
    g_autofree char *golden = g_strconcat(stem, ".err", NULL);
    test_compare_golden("config", golden, msg);

    /* A failed load leaves the config as it was. */
    g_autofree char *after = daemon_config_dump(cfg);
    g_assert_cmpstr(before, ==, after);
}

/* One test case per .conf file in tests/data/config/sub. */
static void add_file_tests(const char *sub, GTestDataFunc func)
{
    g_autofree char *subdir = g_build_filename("config", sub, NULL);
    g_autoptr(GPtrArray) names = test_data_list(subdir, ".conf");

    g_assert_cmpuint(names->len, >, 0);
    for (guint i = 0; i < names->len; i++) {
        const char *stem = g_ptr_array_index(names, i);
        g_autofree char *test_path = g_strdup_printf("/daemon-config/%s/%s", sub, stem);

        g_test_add_data_func_full(test_path, g_strdup_printf("%s/%s", sub, stem), func, g_free);
    }
}

/* ------------------------------------------------------------ inline cases */

typedef struct {
    const char *name;
    const char *text;
    const char *error; /* the whole message */
} BadCase;

static void test_refused(void)
{
    static const BadCase cases[] = {
        { "unknown key", "listen_tcpp = 1",
          "ferryd.conf:1: unknown key 'listen_tcpp' (did you mean 'listen_tcp'?)" },
        { "unknown key, nothing near", "\n\nfrobnicate = 1",
          "ferryd.conf:3: unknown key 'frobnicate'" },
        { "spice_tls not a bool", "spice_tls = 2",
          "ferryd.conf:1: 'spice_tls' expects 0 or 1, got 2" },
        { "spice_tls_x509_cert_dir a list", "spice_tls_x509_cert_dir = [ \"/a\" ]",
          "ferryd.conf:1: 'spice_tls_x509_cert_dir' expects a string, got a list" },
        { "string for int", "max_clients = \"5000\"",
          "ferryd.conf:1: 'max_clients' expects an integer, got a string" },
        { "string for bool", "listen_tcp = \"1\"",
          "ferryd.conf:1: 'listen_tcp' expects 0 or 1, got a string" },
        { "int for bool", "listen_tcp = 2", "ferryd.conf:1: 'listen_tcp' expects 0 or 1, got 2" },
        { "negative for bool", "listen_tcp = -1",
          "ferryd.conf:1: 'listen_tcp' expects 0 or 1, got -1" },
        { "list for string", "tls_priority = [ \"NORMAL\" ]",
          "ferryd.conf:1: 'tls_priority' expects a string, got a list" },
        { "int for string", "state_root = 5",
          "ferryd.conf:1: 'state_root' expects a string, got an integer" },
        { "string for list", "tls_allowed_dn_list = \"CN=*\"",
          "ferryd.conf:1: 'tls_allowed_dn_list' expects a list of strings, got a string" },
        { "list for port", "tcp_port = [ ]",
          "ferryd.conf:1: 'tcp_port' expects a port number, got a list" },
        { "int for uuid", "host_uuid = 5",
          "ferryd.conf:1: 'host_uuid' expects a UUID in a string, got an integer" },
        { "int for auth", "auth_tls = 0",
          "ferryd.conf:1: 'auth_tls' expects a string, got an integer" },
        { "unterminated string", "\n\nca_file = \"/etc/x", "ferryd.conf:3: unterminated string" },
        { "unterminated, CRLF", "ca_file = \"/etc/x\r\nlisten_tcp = 1\r\n",
          "ferryd.conf:1: unterminated string" },
        { "DEL in a string", "ca_file = \"/etc/\x7f\"",
          "ferryd.conf:1: control character 0x7f in a string" },
        { "unterminated single-quoted", "ca_file = '/etc/x\n",
          "ferryd.conf:1: unterminated string" },
        { "bad escape", "ca_file = \"/etc/\\n\"",
          "ferryd.conf:1: bad escape '\\' before 'n' in a string (only \\\" and \\\\ are "
          "escapes)" },
        { "escape at end", "ca_file = \"/etc/\\",
          "ferryd.conf:1: bad escape '\\' before the end of the file in a string "
          "(only \\\" and \\\\ are escapes)" },
        { "control character", "ca_file = \"/etc/\x01\"",
          "ferryd.conf:1: control character 0x01 in a string" },
        { "overflow integer", "max_clients = 9223372036854775808",
          "ferryd.conf:1: integer 9223372036854775808 does not fit in 64 bits" },
        { "overflow negative", "keepalive_interval = -9223372036854775809",
          "ferryd.conf:1: integer -9223372036854775809 does not fit in 64 bits" },
        { "huge but 64-bit", "max_clients = 9223372036854775807",
          "ferryd.conf:1: 'max_clients' must be 1 to 1000000, got 9223372036854775807" },
        { "int64 min", "keepalive_interval = -9223372036854775808",
          "ferryd.conf:1: 'keepalive_interval' must be -1 to 86400, got -9223372036854775808" },
        { "not decimal", "max_clients = 0x10", "ferryd.conf:1: '0x10' is not a decimal integer" },
        { "sign only", "max_clients = -", "ferryd.conf:1: '-' is not a decimal integer" },
        { "int with unit", "max_clients = 5k", "ferryd.conf:1: '5k' is not a decimal integer" },
        { "zero clients", "max_clients = 0",
          "ferryd.conf:1: 'max_clients' must be 1 to 1000000, got 0" },
        { "port zero", "tcp_port = \"0\"", "ferryd.conf:1: 'tcp_port' must be 1 to 65535, got 0" },
        { "port too big", "tls_port = 70000",
          "ferryd.conf:1: 'tls_port' must be 1 to 65535, got 70000" },
        { "port not a number", "tcp_port = \"libvirt\"",
          "ferryd.conf:1: 'tcp_port': \"libvirt\" is not a port number (1 to 65535)" },
        { "port with sign", "tcp_port = \"+80\"",
          "ferryd.conf:1: 'tcp_port': \"+80\" is not a port number (1 to 65535)" },
        { "migration port zero", "migration_port_min = 0",
          "ferryd.conf:1: 'migration_port_min' must be 1 to 65535, got 0" },
        { "migration min > max", "migration_port_max = 49000",
          "ferryd.conf:1: 'migration_port_min' (49152) is greater than 'migration_port_max' "
          "(49000)" },
        { "migration port too big", "migration_port_max = 65536",
          "ferryd.conf:1: 'migration_port_max' must be 1 to 65535, got 65536" },
        { "migration address as a name", "migration_address = \"localhost\"",
          "ferryd.conf:1: 'migration_address': \"localhost\" is not an IPv4 or IPv6 address "
          "(such as \"0.0.0.0\" or \"::\")" },
        { "migration address in brackets", "migration_address = \"[::1]\"",
          "ferryd.conf:1: 'migration_address': \"[::1]\" is not an IPv4 or IPv6 address "
          "(such as \"0.0.0.0\" or \"::\")" },
        { "migration address with a port", "\nmigration_address = \"10.0.0.1:49152\"",
          "ferryd.conf:2: 'migration_address': \"10.0.0.1:49152\" is not an IPv4 or IPv6 "
          "address (such as \"0.0.0.0\" or \"::\")" },
        { "migration host with a space", "migration_host = \"host b\"",
          "ferryd.conf:1: 'migration_host': \"host b\" is neither an IP address nor a host "
          "name" },
        { "migration host as a list", "migration_host = [ \"a\" ]",
          "ferryd.conf:1: 'migration_host' expects a string, got a list" },
        { "unknown lock manager", "lock_manager = \"sanlock\"",
          "ferryd.conf:1: 'lock_manager': \"sanlock\" is not a lock manager (\"nop\" or "
          "\"lockd\")" },
        { "relative lease directory", "file_lockspace_dir = \"leases\"",
          "ferryd.conf:1: 'file_lockspace_dir': \"leases\" is not an absolute path" },
        { "lockd without a lease directory", "\nlock_manager = \"lockd\"",
          "ferryd.conf:2: 'lock_manager' is \"lockd\" but 'file_lockspace_dir' is unset; lockd "
          "needs the lease directory that every host shares" },
        { "min workers > max", "min_workers = 30\nmax_workers = 10",
          "ferryd.conf:2: 'min_workers' (30) is greater than 'max_workers' (10)" },
        { "anonymous > max clients", "max_clients = 10",
          "ferryd.conf:1: 'max_anonymous_clients' (20) is greater than 'max_clients' (10)" },
        { "same tcp and tls port", "listen_tcp = 1\nlisten_tls = 1\ntls_port = \"16509\"",
          "ferryd.conf:3: 'tcp_port' and 'tls_port' are both 16509; the TCP and TLS "
          "listeners need different ports" },
        { "keepalive zero", "keepalive_interval = 0",
          "ferryd.conf:1: 'keepalive_interval': 0 is not an interval: write -1 to send no "
          "keepalive pings" },
        { "keepalive -2", "keepalive_interval = -2",
          "ferryd.conf:1: 'keepalive_interval' must be -1 to 86400, got -2" },
        { "log level 5", "log_level = 5", "ferryd.conf:1: 'log_level' must be 1 to 4, got 5" },
        { "bad uuid", "host_uuid = \"not-a-uuid\"", NULL },
        { "null uuid", "host_uuid = \"00000000-0000-0000-0000-000000000000\"",
          "ferryd.conf:1: 'host_uuid': \"00000000-0000-0000-0000-000000000000\" cannot tell "
          "hosts apart (all its bytes are equal)" },
        { "octal perms 8", "unix_sock_rw_perms = \"0778\"",
          "ferryd.conf:1: 'unix_sock_rw_perms': \"0778\" is not an octal mode from \"0000\" "
          "to \"0777\"" },
        { "perms too long", "unix_sock_rw_perms = \"00770\"",
          "ferryd.conf:1: 'unix_sock_rw_perms': \"00770\" is not an octal mode from \"0000\" "
          "to \"0777\"" },
        { "perms setuid", "unix_sock_rw_perms = \"4770\"",
          "ferryd.conf:1: 'unix_sock_rw_perms': \"4770\" is not an octal mode from \"0000\" "
          "to \"0777\"" },
        { "perms empty", "unix_sock_rw_perms = \"\"",
          "ferryd.conf:1: 'unix_sock_rw_perms': \"\" is not an octal mode from \"0000\" "
          "to \"0777\"" },
        { "perms as integer", "unix_sock_rw_perms = 770",
          "ferryd.conf:1: 'unix_sock_rw_perms' expects an octal mode in a string, such as "
          "\"0770\", got an integer" },
        { "bad log filter level", "log_filters = \"1:rpc 9:qemu\"",
          "ferryd.conf:1: 'log_filters': log filter '9:qemu': level '9' must be 1 (debug) to 4 "
          "(error)" },
        { "bad log filter module", "log_filters = \"1:rpc/server\"",
          "ferryd.conf:1: 'log_filters': log filter '1:rpc/server': module 'rpc/server' must be "
          "1 to 128 letters, digits, '.', '_' or '-'" },
        { "log filter without level", "log_filters = \"rpc\"",
          "ferryd.conf:1: 'log_filters': log filter 'rpc': expected LEVEL:MODULE with LEVEL 1 "
          "to 4" },
        { "log output relative", "log_outputs = \"1:file:ferryd.log\"",
          "ferryd.conf:1: 'log_outputs': log output '1:file:ferryd.log': file path 'ferryd.log' "
          "must be absolute" },
        { "log output journald", "log_outputs = \"1:journald\"",
          "ferryd.conf:1: 'log_outputs': log output '1:journald': destination 'journald' must "
          "be 'stderr' or 'file:PATH'" },
        { "duplicate key", "max_workers = 10\n\nmax_workers = 12",
          "ferryd.conf:3: 'max_workers' is already set at line 1" },
        { "garbage line", "listen_tcp = 1\n@@@",
          "ferryd.conf:2: expected a setting name, got '@'" },
        { "key starting with a digit", "1listen = 1",
          "ferryd.conf:1: expected a setting name, got '1'" },
        { "missing equals", "listen_tcp 1",
          "ferryd.conf:1: expected '=' after 'listen_tcp', got '1'" },
        { "key alone", "listen_tcp\n",
          "ferryd.conf:1: expected '=' after 'listen_tcp', got the end of the line" },
        { "missing value", "listen_tcp =", "ferryd.conf:1: missing value after '='" },
        { "missing value, comment", "listen_tcp = # on", "ferryd.conf:1: missing value after '='" },
        { "two values", "max_workers = 10 20",
          "ferryd.conf:1: unexpected '2' after the value of 'max_workers'" },
        { "text after string", "ca_file = \"/a\"b",
          "ferryd.conf:1: unexpected 'b' after the value of 'ca_file'" },
        { "bare word", "listen_addr = localhost",
          "ferryd.conf:1: 'localhost' is not a value: strings take double quotes" },
        { "true", "listen_tls = true",
          "ferryd.conf:1: 'true' is not a value: booleans are written 1 or 0" },
        { "Yes", "listen_tls = Yes",
          "ferryd.conf:1: 'Yes' is not a value: booleans are written 1 or 0" },
        { "nested list", "tls_allowed_dn_list = [ [ \"a\" ] ]",
          "ferryd.conf:1: lists cannot hold lists" },
        { "int in list", "tls_allowed_dn_list = [ \"a\",\n 5 ]",
          "ferryd.conf:2: 'tls_allowed_dn_list' expects a list of strings, got an integer as "
          "item 2" },
        { "empty DN pattern", "tls_allowed_dn_list = [ \"\" ]",
          "ferryd.conf:1: 'tls_allowed_dn_list': an empty DN pattern matches no client" },
        { "list without comma", "tls_allowed_dn_list = [ \"a\" \"b\" ]",
          "ferryd.conf:1: expected ',' or ']' in a list, got '\"'" },
        { "unterminated list", "tls_allowed_dn_list = [ \"a\",\n\"b\"\n",
          "ferryd.conf:2: unterminated list (opened at line 1)" },
        { "unterminated empty list", "tls_allowed_dn_list = [",
          "ferryd.conf:1: unterminated list (opened at line 1)" },
        { "double comma", "tls_allowed_dn_list = [ \"a\",, ]",
          "ferryd.conf:1: expected a value, got ','" },
        { "libvirt-only key", "unix_sock_ro_perms = \"0777\"",
          "ferryd.conf:1: 'unix_sock_ro_perms' is a libvirt setting that ferryd does not "
          "support (ferryd has one socket, read-write)" },
        { "sasl", "auth_tcp = \"sasl\"",
          "ferryd.conf:1: 'auth_tcp': \"sasl\" is not supported by ferryd; use \"none\" "
          "(remote clients authenticate with TLS client certificates)" },
        { "polkit", "auth_unix_rw = \"polkit\"",
          "ferryd.conf:1: 'auth_unix_rw': \"polkit\" is not supported by ferryd; use \"none\" "
          "(remote clients authenticate with TLS client certificates)" },
        { "unknown auth", "auth_tls = \"x509\"",
          "ferryd.conf:1: 'auth_tls' expects \"none\", \"sasl\" or \"polkit\", got \"x509\"" },
        { "relative path", "key_file = \"serverkey.pem\"",
          "ferryd.conf:1: 'key_file': \"serverkey.pem\" is not an absolute path" },
        { "relative state root", "state_root = \"tmp/root\"",
          "ferryd.conf:1: 'state_root': \"tmp/root\" is not an absolute path" },
        { "bad listen addr", "listen_addr = \"10.0.0.300\"",
          "ferryd.conf:1: 'listen_addr': \"10.0.0.300\" is neither an IP address nor a host name" },
        { "listen addr with port", "listen_addr = \"[::1]:16509\"",
          "ferryd.conf:1: 'listen_addr': \"[::1]:16509\" is neither an IP address nor a host "
          "name" },
        { "bad group", "unix_sock_group = \"-wheel\"",
          "ferryd.conf:1: 'unix_sock_group': \"-wheel\" is not a group name or number (up to 32 "
          "letters, digits, '_', '-' or '.')" },
        { "empty tls priority", "tls_priority = \"\"",
          "ferryd.conf:1: 'tls_priority': must not be empty (the default is \"NORMAL\")" },
        { "tls priority with space", "tls_priority = \"NORMAL :-VERS-ALL\"",
          "ferryd.conf:1: 'tls_priority': \"NORMAL :-VERS-ALL\": a GnuTLS priority string has "
          "no spaces or non-ASCII characters" },
        { "bad UTF-8", "# caf\xc3\n", "ferryd.conf:1: not valid UTF-8" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const BadCase *c = &cases[i];
        g_autoptr(GError) err = NULL;
        g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();

        g_test_message("case: %s", c->name);
        g_assert_false(daemon_config_load_string(cfg, c->text, -1, "ferryd.conf", &err));
        g_assert_nonnull(err);
        g_assert_cmpint(err->code, ==, FERRY_ERR_CONFIG);
        if (!c->error) {
            g_assert_true(g_str_has_prefix(err->message, "ferryd.conf:1: 'host_uuid': "));
            continue;
        }
        if (!g_str_equal(err->message, c->error))
            g_error("case %s:\n expected: %s\n got:      %s", c->name, c->error, err->message);
    }
}

/* ------------------------------------------------------------ accepted syntax */

typedef struct {
    const char *name;
    const char *text;
    const char *dump_line; /* a line the dump of the result contains */
} GoodCase;

static void test_accepted(void)
{
    static const GoodCase cases[] = {
        { "empty text", "", "listen_unix = 1" },
        { "blank lines only", "\n\n  \t\n", "listen_unix = 1" },
        { "no final newline", "max_workers = 7", "max_workers = 7" },
        { "no spaces", "max_workers=7", "max_workers = 7" },
        { "comment after value", "max_workers = 7# seven", "max_workers = 7" },
        { "CRLF", "max_workers = 7\r\nmin_workers = 1\r\n", "min_workers = 1" },
        { "plus sign", "max_workers = +7", "max_workers = 7" },
        { "leading zeros", "max_workers = 010", "max_workers = 10" },
        { "keepalive off", "keepalive_interval = -1", "keepalive_interval = -1" },
        { "keepalive count 0", "keepalive_count = 0", "keepalive_count = 0" },
        { "port as string", "tcp_port = \"1\"", "tcp_port = \"1\"" },
        { "port as integer", "tcp_port = 65535", "tcp_port = \"65535\"" },
        { "perms 3 digits", "unix_sock_rw_perms = \"770\"", "unix_sock_rw_perms = \"0770\"" },
        { "perms 0", "unix_sock_rw_perms = \"0\"", "unix_sock_rw_perms = \"0000\"" },
        { "escapes", "ca_file = \"/a \\\"b\\\" \\\\c\"", "ca_file = \"/a \\\"b\\\" \\\\c\"" },
        { "single quotes take no escapes", "ca_file = '/a\\b\"c'", "ca_file = \"/a\\\\b\\\"c\"" },
        { "hash in a string", "ca_file = \"/a#b\" # comment", "ca_file = \"/a#b\"" },
        { "UTF-8 in a string", "state_root = \"/srv/caf\xc3\xa9\"",
          "state_root = \"/srv/caf\xc3\xa9\"" },
        { "empty list", "tls_allowed_dn_list = [ ]", "tls_allowed_dn_list = []" },
        { "multi-line list",
          "tls_allowed_dn_list = [\n  # ops\n  \"CN=a\",  # first\n\n  'CN=b'\n]\n",
          "tls_allowed_dn_list = [ \"CN=a\", \"CN=b\" ]" },
        { "trailing comma", "tls_allowed_dn_list = [ \"CN=a\", ]",
          "tls_allowed_dn_list = [ \"CN=a\" ]" },
        { "empty string unsets", "listen_addr = \"\"", "listen_addr = \"\"" },
        { "ipv6 addr", "listen_addr = \"::\"", "listen_addr = \"::\"" },
        { "host name", "listen_addr = \"host-1.example.com\"",
          "listen_addr = \"host-1.example.com\"" },
        { "numeric group", "unix_sock_group = \"1001\"", "unix_sock_group = \"1001\"" },
        { "uuid without hyphens", "host_uuid = \"0F1E2D3C4B5A69788796A5B4C3D2E1F0\"",
          "host_uuid = \"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\"" },
        { "log filter by name", "log_filters = \"debug:migration   warning:rpc\"",
          "log_filters = \"debug:migration   warning:rpc\"" },
        { "min equals max", "migration_port_min = 5000\nmigration_port_max = 5000",
          "migration_port_max = 5000" },
        { "migration address v4", "migration_address = \"0.0.0.0\"",
          "migration_address = \"0.0.0.0\"" },
        { "migration address v6", "migration_address = \"fe80::1\"",
          "migration_address = \"fe80::1\"" },
        { "migration address unset", "migration_address = \"\"", "migration_address = \"\"" },
        { "lockd", "lock_manager = \"lockd\"\nfile_lockspace_dir = \"/srv/leases\"",
          "lock_manager = \"lockd\"\nfile_lockspace_dir = \"/srv/leases\"" },
        { "migration host name", "migration_host = \"hostb\"", "migration_host = \"hostb\"" },
        { "migration host address", "migration_host = \"127.0.0.1\"",
          "migration_host = \"127.0.0.1\"" },
        { "same ports, one listener", "listen_tls = 1\ntcp_port = 16514", "tcp_port = \"16514\"" },
        { "a raised limit allows more", "max_workers = 30\nmin_workers = 25", "min_workers = 25" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const GoodCase *c = &cases[i];
        g_autoptr(GError) err = NULL;
        g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();

        g_test_message("case: %s", c->name);
        if (!daemon_config_load_string(cfg, c->text, -1, "ferryd.conf", &err))
            g_error("case %s: %s", c->name, err->message);
        g_autofree char *dump = daemon_config_dump(cfg);
        g_autofree char *line = g_strconcat("\n", c->dump_line, "\n", NULL);
        g_autofree char *text = g_strconcat("\n", dump, NULL);
        if (!strstr(text, line))
            g_error("case %s: dump lacks '%s':\n%s", c->name, c->dump_line, dump);
    }
}

/* ------------------------------------------------------------ limits */

static char *repeat(char c, gsize n)
{
    char *s = g_malloc(n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void assert_load(const char *text, gssize len, const char *error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();
    gboolean ok = daemon_config_load_string(cfg, text, len, "ferryd.conf", &err);

    if (!error) {
        g_assert_no_error(err);
        g_assert_true(ok);
        return;
    }
    g_assert_false(ok);
    g_assert_cmpstr(err->message, ==, error);
}

static void test_limits(void)
{
    /* A string of exactly the limit, then one byte more. */
    g_autofree char *body = repeat('a', DAEMON_CONFIG_MAX_STRING - 1);
    g_autofree char *ok_str = g_strdup_printf("ca_file = \"/%s\"", body);
    g_autofree char *long_str = g_strdup_printf("ca_file = \"/a%s\"", body);
    assert_load(ok_str, -1, NULL);
    assert_load(long_str, -1, "ferryd.conf:1: string longer than 4096 bytes");

    /* A line of exactly the limit (a comment), then one byte more. */
    g_autofree char *ok_line = repeat('#', DAEMON_CONFIG_MAX_LINE);
    g_autofree char *long_line = repeat('#', DAEMON_CONFIG_MAX_LINE + 1);
    g_autofree char *long_line3 = g_strdup_printf("\n\n%s\n", long_line);
    assert_load(ok_line, -1, NULL);
    assert_load(long_line3, -1, "ferryd.conf:3: line longer than 8192 bytes");

    /* A list of exactly the limit, one item a line, then one more item. */
    g_autoptr(GString) list = g_string_new("tls_allowed_dn_list = [\n");
    for (int i = 0; i < DAEMON_CONFIG_MAX_LIST; i++)
        g_string_append_printf(list, "\"CN=host%d\",\n", i);
    g_autofree char *ok_list = g_strconcat(list->str, "]\n", NULL);
    g_string_append(list, "\"CN=one-too-many\" ]\n");
    assert_load(ok_list, -1, NULL);
    assert_load(list->str, -1, "ferryd.conf:1026: list longer than 1024 items");

    /* The whole text. */
    g_autofree char *big = repeat('\n', DAEMON_CONFIG_MAX_FILE + 1);
    assert_load(big, -1, "ferryd.conf: larger than 1048576 bytes");
    g_autofree char *name = repeat('k', 65);
    g_autofree char *long_key = g_strdup_printf("%s = 1", name);
    assert_load(long_key, -1, "ferryd.conf:1: setting name longer than 64 bytes");

    static const char nul[] = "listen_tcp = 1\nlisten_tls = \0 1";
    assert_load(nul, sizeof(nul) - 1, "ferryd.conf:2: NUL byte in the text");
}

/* ------------------------------------------------------------ files */

typedef struct {
    char *dir;
} TmpFixture;

static void tmp_setup(TmpFixture *fx, gconstpointer data)
{
    fx->dir = g_dir_make_tmp("ferry-config-XXXXXX", NULL);
    g_assert_nonnull(fx->dir);
}

static void tmp_teardown(TmpFixture *fx, gconstpointer data)
{
    g_autoptr(GDir) d = g_dir_open(fx->dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(fx->dir, name, NULL);
        g_remove(path);
    }
    g_rmdir(fx->dir);
    g_free(fx->dir);
}

static char *tmp_write(TmpFixture *fx, const char *name, const char *text, gssize len)
{
    char *path = g_build_filename(fx->dir, name, NULL);

    g_assert_true(g_file_set_contents(path, text, len, NULL));
    return path;
}

static void test_file_errors(TmpFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();
    g_autofree char *missing = g_build_filename(fx->dir, "nope.conf", NULL);
    g_autofree char *expected = NULL;

    g_assert_false(daemon_config_load_file(cfg, missing, &err));
    expected = g_strdup_printf("cannot open config file '%s': No such file or directory", missing);
    g_assert_cmpstr(err->message, ==, expected);
    g_assert_cmpint(err->code, ==, FERRY_ERR_SYSTEM);
    g_clear_error(&err);
    g_clear_pointer(&expected, g_free);

    g_assert_false(daemon_config_load_file(cfg, fx->dir, &err));
    expected = g_strdup_printf("config file '%s' is not a regular file", fx->dir);
    g_assert_cmpstr(err->message, ==, expected);
    g_clear_error(&err);
    g_clear_pointer(&expected, g_free);

    g_autofree char *big_text = repeat('#', DAEMON_CONFIG_MAX_FILE + 1);
    g_autofree char *big = tmp_write(fx, "big.conf", big_text, -1);
    g_assert_false(daemon_config_load_file(cfg, big, &err));
    expected = g_strdup_printf("%s: larger than 1048576 bytes", big);
    g_assert_cmpstr(err->message, ==, expected);
    g_assert_cmpint(err->code, ==, FERRY_ERR_OVERFLOW);
    g_clear_error(&err);
    g_clear_pointer(&expected, g_free);

    /* Errors in a file name the path as given. */
    g_autofree char *bad = tmp_write(fx, "ferryd.conf", "# x\nlisten_tcpp = 1\n", -1);
    g_assert_false(daemon_config_load_file(cfg, bad, &err));
    expected = g_strdup_printf("%s:2: unknown key 'listen_tcpp' (did you mean 'listen_tcp'?)", bad);
    g_assert_cmpstr(err->message, ==, expected);
}

static void test_layering(TmpFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();
    g_autofree char *a = tmp_write(fx, "a.conf", "max_workers = 40\nmin_workers = 30\n", -1);
    g_autofree char *b = tmp_write(fx, "b.conf", "max_workers = 50\n", -1);
    g_autofree char *c = tmp_write(fx, "c.conf", "listen_tcp = 1\nmax_workers = 10\n", -1);

    g_assert_true(daemon_config_load_file(cfg, a, &err));
    g_assert_true(daemon_config_load_file(cfg, b, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(cfg->min_workers, ==, 30);
    g_assert_cmpuint(cfg->max_workers, ==, 50);

    /* The result of c would break min <= max: refused, cfg untouched. */
    g_autofree char *before = daemon_config_dump(cfg);
    g_assert_false(daemon_config_load_file(cfg, c, &err));
    g_autofree char *expected =
        g_strdup_printf("%s:2: 'min_workers' (30) is greater than 'max_workers' (10)", c);
    g_assert_cmpstr(err->message, ==, expected);
    g_autofree char *after = daemon_config_dump(cfg);
    g_assert_cmpstr(before, ==, after);
    g_assert_false(cfg->listen_tcp);
}

/* ------------------------------------------------------------ the example */

static void test_example_loads(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();
    g_autoptr(DaemonConfig) def = daemon_config_new_defaults();

    if (!daemon_config_load_file(cfg, example_path, &err))
        g_error("%s", err->message);
    g_assert_true(daemon_config_equal(cfg, def));
}

/* Removes the "#" of every line "#key = value", as a user turning settings
 * on would; every key must appear exactly once, with its default. */
static void test_example_uncommented(void)
{
    g_autofree char *text = read_text(example_path);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GRegex) re = g_regex_new("^#([a-z0-9_]+) = ", 0, 0, NULL);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GString) out = g_string_new(NULL);

    for (char **l = lines; *l; l++) {
        g_autoptr(GMatchInfo) m = NULL;

        if (g_regex_match(re, *l, 0, &m)) {
            g_autofree char *key = g_match_info_fetch(m, 1);

            if (g_hash_table_contains(seen, key))
                g_error("ferryd.conf shows '%s' twice", key);
            g_hash_table_add(seen, g_steal_pointer(&key));
            g_string_append(out, *l + 1);
        } else {
            g_string_append(out, *l);
        }
        g_string_append_c(out, '\n');
    }
    for (guint i = 0; i < daemon_config_n_keys(); i++) {
        if (!g_hash_table_contains(seen, daemon_config_key_name(i)))
            g_error("ferryd.conf does not show '%s'", daemon_config_key_name(i));
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, daemon_config_n_keys());

    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();
    if (!daemon_config_load_string(cfg, out->str, out->len, "ferryd.conf (uncommented)", &err))
        g_error("%s", err->message);
    g_autofree char *dump = daemon_config_dump(cfg);
    g_autofree char *def = defaults_dump();
    test_compare_text("ferryd.conf uncommented, against the defaults", def, dump);
}

/* ------------------------------------------------------------ objects, paths */

static void test_copy_equal(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();
    g_autofree char *full = test_data_path("config", "valid/full.conf");

    g_assert_true(daemon_config_load_file(cfg, full, &err));
    g_autoptr(DaemonConfig) copy = daemon_config_copy(cfg);
    g_assert_true(daemon_config_equal(cfg, copy));
    g_assert_true(copy->tls_allowed_dn_list != cfg->tls_allowed_dn_list);
    g_assert_true(copy->ca_file != cfg->ca_file);
    copy->max_workers++;
    g_assert_false(daemon_config_equal(cfg, copy));

    g_assert_cmpstr(daemon_auth_to_string(DAEMON_AUTH_SASL), ==, "sasl");
    g_assert_cmpstr(daemon_auth_to_string(DAEMON_AUTH_LAST), ==, "unknown");
    g_assert_cmpstr(daemon_config_key_name(0), ==, "listen_unix");
    g_assert_null(daemon_config_key_name(daemon_config_n_keys()));
}

typedef struct {
    const char *root;
    DaemonDir dir;
    const char *path;
} DirCase;

static void test_paths(void)
{
    static const DirCase dirs[] = {
        { NULL, DAEMON_DIR_CONFIG, "/etc/ferry" },
        { NULL, DAEMON_DIR_STATE, "/var/lib/ferry" },
        { NULL, DAEMON_DIR_RUN, "/run/ferry" },
        { NULL, DAEMON_DIR_LOG, "/var/log/ferry" },
        { "/tmp/r", DAEMON_DIR_CONFIG, "/tmp/r/etc/ferry" },
        { "/tmp/r/", DAEMON_DIR_STATE, "/tmp/r/var/lib/ferry" },
        { "/tmp/r", DAEMON_DIR_RUN, "/tmp/r/run/ferry" },
        { "/", DAEMON_DIR_LOG, "/var/log/ferry" },
    };
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();

    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_free(cfg->state_root);
        cfg->state_root = g_strdup(dirs[i].root);
        g_autofree char *path = daemon_config_dir(cfg, dirs[i].dir);
        g_assert_cmpstr(path, ==, dirs[i].path);
    }

    g_autofree char *f1 = daemon_config_default_file(NULL);
    g_autofree char *f2 = daemon_config_default_file("/tmp/r");
    g_autofree char *f3 = daemon_config_default_file("");
    g_assert_cmpstr(f1, ==, "/etc/ferry/ferryd.conf");
    g_assert_cmpstr(f2, ==, "/tmp/r/etc/ferry/ferryd.conf");
    g_assert_cmpstr(f3, ==, "/etc/ferry/ferryd.conf");

    g_clear_pointer(&cfg->state_root, g_free);
    g_autofree char *sock1 = daemon_config_unix_sock_path(cfg);
    g_assert_cmpstr(sock1, ==, "/run/ferry/ferryd-sock");
    cfg->state_root = g_strdup("/tmp/r");
    g_autofree char *sock2 = daemon_config_unix_sock_path(cfg);
    g_assert_cmpstr(sock2, ==, "/tmp/r/run/ferry/ferryd-sock");
    cfg->unix_sock_dir = g_strdup("/srv/s");
    g_autofree char *sock3 = daemon_config_unix_sock_path(cfg);
    g_assert_cmpstr(sock3, ==, "/srv/s/ferryd-sock");

    g_autofree char *ca = daemon_config_tls_file(cfg, DAEMON_TLS_CA);
    g_autofree char *cert = daemon_config_tls_file(cfg, DAEMON_TLS_CERT);
    g_autofree char *key = daemon_config_tls_file(cfg, DAEMON_TLS_KEY);
    g_autofree char *crl = daemon_config_tls_file(cfg, DAEMON_TLS_CRL);
    g_assert_cmpstr(ca, ==, "/tmp/r/etc/ferry/pki/cacert.pem");
    g_assert_cmpstr(cert, ==, "/tmp/r/etc/ferry/pki/servercert.pem");
    g_assert_cmpstr(key, ==, "/tmp/r/etc/ferry/pki/serverkey.pem");
    g_assert_null(crl);
    cfg->ca_file = g_strdup("/srv/ca.pem");
    cfg->crl_file = g_strdup("/srv/crl.pem");
    g_autofree char *ca2 = daemon_config_tls_file(cfg, DAEMON_TLS_CA);
    g_autofree char *crl2 = daemon_config_tls_file(cfg, DAEMON_TLS_CRL);
    g_assert_cmpstr(ca2, ==, "/srv/ca.pem");
    g_assert_cmpstr(crl2, ==, "/srv/crl.pem");

    g_autofree char *spice1 = daemon_config_spice_tls_dir(cfg);
    g_assert_cmpstr(spice1, ==, "/tmp/r/etc/ferry/pki/spice");
    cfg->spice_tls_x509_cert_dir = g_strdup("/srv/spice");
    g_autofree char *spice2 = daemon_config_spice_tls_dir(cfg);
    g_assert_cmpstr(spice2, ==, "/srv/spice");
}

typedef struct {
    const char *dn;
    gboolean allowed;
} DnCase;

static void test_dn_allowed(void)
{
    static const DnCase cases[] = {
        { "C=GB,O=Example,CN=host1", TRUE },
        { "C=GB,O=Example,OU=ops,CN=hostA.example.com", TRUE },
        { "C=GB,O=Example,OU=ops,CN=host10.example.com", FALSE },
        { "C=GB,O=Other,CN=host1", FALSE },
        { "C=GB,O=Example", FALSE },
        { "", FALSE },
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();

    g_assert_true(daemon_config_dn_allowed(cfg, "anything"));
    g_assert_true(daemon_config_load_string(cfg, "tls_allowed_dn_list = []", -1, "t", &err));
    g_assert_true(daemon_config_dn_allowed(cfg, "anything"));
    g_assert_true(daemon_config_load_string(cfg,
                                            "tls_allowed_dn_list = [ \"C=GB,O=Example,CN=*\",\n"
                                            "  \"C=GB,O=Example,OU=ops,CN=host?.example.com\" ]",
                                            -1, "t", &err));
    g_assert_no_error(err);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("dn: %s", cases[i].dn);
        g_assert_cmpint(daemon_config_dn_allowed(cfg, cases[i].dn), ==, cases[i].allowed);
    }
}

/* ------------------------------------------------------------ robustness */

static void assert_clean_outcome(const char *text, gsize len)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();

    if (daemon_config_load_string(cfg, text, len, "fuzz.conf", &err))
        return;
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, "fuzz.conf:"));
}

/* Every prefix of a full config, and random byte changes to it, load or
 * fail with a message; under ASan and UBSan nothing else happens. */
static void test_robustness(void)
{
    g_autofree char *text = test_data_read_required("config", "valid/full.conf");
    gsize len = strlen(text);
    static const char alphabet[] = "\"'\\[],#=\n \t-+09azAZ\r\x01\xff";

    for (gsize cut = 0; cut <= len; cut++)
        assert_clean_outcome(text, cut);

    g_autoptr(GRand) rand = g_rand_new_with_seed(20261121);
    for (int round = 0; round < 3000; round++) {
        g_autofree char *copy = g_memdup2(text, len + 1);
        int edits = g_rand_int_range(rand, 1, 5);

        for (int e = 0; e < edits; e++) {
            gsize at = g_rand_int_range(rand, 0, (gint32)len);
            copy[at] = alphabet[g_rand_int_range(rand, 0, sizeof(alphabet) - 1)];
        }
        assert_clean_outcome(copy, len);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("4:stderr", NULL);
    example_path = g_build_filename(test_top_srcdir(), "daemon", "ferryd.conf", NULL);

    g_test_add_func("/daemon-config/defaults", test_defaults);
    add_file_tests("valid", test_valid_file);
    add_file_tests("invalid", test_invalid_file);
    g_test_add_func("/daemon-config/refused", test_refused);
    g_test_add_func("/daemon-config/accepted", test_accepted);
    g_test_add_func("/daemon-config/limits", test_limits);
    g_test_add("/daemon-config/file/errors", TmpFixture, NULL, tmp_setup, test_file_errors,
               tmp_teardown);
    g_test_add("/daemon-config/file/layering", TmpFixture, NULL, tmp_setup, test_layering,
               tmp_teardown);
    g_test_add_func("/daemon-config/example/loads", test_example_loads);
    g_test_add_func("/daemon-config/example/uncommented", test_example_uncommented);
    g_test_add_func("/daemon-config/copy-equal", test_copy_equal);
    g_test_add_func("/daemon-config/paths", test_paths);
    g_test_add_func("/daemon-config/dn-allowed", test_dn_allowed);
    g_test_add_func("/daemon-config/robustness", test_robustness);
    int ret = g_test_run();
    g_free(example_path);
    return ret;
}
