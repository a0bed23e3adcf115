/*
 * test-libferry-uri.c: connection URIs in libvirt's form (driver_uri.h),
 * one table of valid URIs with what they mean and one of invalid ones with
 * the error each gets, and the default URI.
 */
#include <config.h>

#include <string.h>

#include "driver/driver_uri.h"
#include "util/error.h"
#include "util/log.h"

typedef struct {
    const char *text;
    DriverUriTransport transport;
    const char *host;
    int port; /* effective */
    DriverUriPath path;
    const char *socket;
    int no_verify;
    const char *pkipath;
    int keepalive_interval;
    int keepalive_count;
    const char *root;
} ValidCase;

#define UNIX DRIVER_URI_TRANSPORT_UNIX
#define TCP DRIVER_URI_TRANSPORT_TCP
#define TLS DRIVER_URI_TRANSPORT_TLS
#define NONE DRIVER_URI_TRANSPORT_NONE
#define SYS DRIVER_URI_PATH_SYSTEM
#define EMBED DRIVER_URI_PATH_EMBED

static const ValidCase valid_cases[] = {
    { "qemu:///system", UNIX, NULL, 0, SYS, NULL, -1, NULL, -1, -1, NULL },
    { "qemu+unix:///system", UNIX, NULL, 0, SYS, NULL, -1, NULL, -1, -1, NULL },
    { "qemu+unix:///system?socket=/run/x/ferryd-sock", UNIX, NULL, 0, SYS, "/run/x/ferryd-sock", -1,
      NULL, -1, -1, NULL },
    { "qemu:///system?socket=/tmp/a%20b/sock", UNIX, NULL, 0, SYS, "/tmp/a b/sock", -1, NULL, -1,
      -1, NULL },
    { "qemu+tcp://hostb/system", TCP, "hostb", 16509, SYS, NULL, -1, NULL, -1, -1, NULL },
    { "qemu+tcp://127.0.0.1:4242/system", TCP, "127.0.0.1", 4242, SYS, NULL, -1, NULL, -1, -1,
      NULL },
    { "qemu+tcp://[::1]:4242/system", TCP, "::1", 4242, SYS, NULL, -1, NULL, -1, -1, NULL },
    { "qemu+tcp:///system", TCP, "localhost", 16509, SYS, NULL, -1, NULL, -1, -1, NULL },
    { "qemu+tls://hostb.example.org/system", TLS, "hostb.example.org", 16514, SYS, NULL, -1, NULL,
      -1, -1, NULL },
    { "qemu+tls://hostb:1/system?no_verify=1&pkipath=/etc/pki/ferry", TLS, "hostb", 1, SYS, NULL, 1,
      "/etc/pki/ferry", -1, -1, NULL },
    { "qemu://hostb/system", TLS, "hostb", 16514, SYS, NULL, -1, NULL, -1, -1, NULL },
    { "qemu://hostb:65535/system?no_verify=0", TLS, "hostb", 65535, SYS, NULL, 0, NULL, -1, -1,
      NULL },
    { "qemu+tcp://h/system?keepalive_interval=5&keepalive_count=0", TCP, "h", 16509, SYS, NULL, -1,
      NULL, 5, 0, NULL },
    { "qemu:///system?keepalive_interval=0", UNIX, NULL, 0, SYS, NULL, -1, NULL, 0, -1, NULL },
    { "qemu:///embed?root=/var/tmp/ferry", NONE, NULL, 0, EMBED, NULL, -1, NULL, -1, -1,
      "/var/tmp/ferry" },
    { "qemu:///embed?root=%2Ftmp%2Fa%2bb", NONE, NULL, 0, EMBED, NULL, -1, NULL, -1, -1,
      "/tmp/a+b" },
    { "qemu:///embed?r%6Fot=/tmp/x", NONE, NULL, 0, EMBED, NULL, -1, NULL, -1, -1, "/tmp/x" },
};

typedef struct {
    const char *text;
    FerryErrorCode code;
    const char *message; /* a part of the message */
} InvalidCase;

static const InvalidCase invalid_cases[] = {
    { "", FERRY_ERR_PARSE, "empty URI" },
    { "xen:///system", FERRY_ERR_PARSE, "unknown scheme 'xen'" },
    { "QEMU:///system", FERRY_ERR_PARSE, "unknown scheme 'QEMU'" },
    { "qemu", FERRY_ERR_PARSE, "no scheme" },
    { "qemu:/system", FERRY_ERR_PARSE, "no scheme" },
    { "qemu+foo:///system", FERRY_ERR_PARSE, "unknown transport 'foo'" },
    { "qemu+:///system", FERRY_ERR_PARSE, "unknown transport ''" },
    { "qemu+ssh://hostb/system", FERRY_ERR_NO_SUPPORT, "transport 'ssh' is not supported" },
    { "qemu+tcp://hostb", FERRY_ERR_PARSE, "missing path" },
    { "qemu+tcp://hostb/", FERRY_ERR_PARSE, "missing path" },
    { "qemu://", FERRY_ERR_PARSE, "missing path" },
    { "qemu:///", FERRY_ERR_PARSE, "missing path" },
    { "qemu:///system/", FERRY_ERR_PARSE, "unknown path '/system/'" },
    { "qemu:///systemd", FERRY_ERR_PARSE, "unknown path '/systemd'" },
    { "qemu:///session", FERRY_ERR_NO_SUPPORT, "path '/session' is not supported" },
    { "qemu+tcp://hostb:0/system", FERRY_ERR_PARSE, "bad port '0'" },
    { "qemu+tcp://hostb:65536/system", FERRY_ERR_PARSE, "bad port '65536'" },
    { "qemu+tcp://hostb:12a/system", FERRY_ERR_PARSE, "bad port '12a'" },
    { "qemu+tcp://hostb:/system", FERRY_ERR_PARSE, "empty port" },
    { "qemu+tcp://hostb:-1/system", FERRY_ERR_PARSE, "bad port '-1'" },
    { "qemu+tcp://:16509/system", FERRY_ERR_PARSE, "empty host" },
    { "qemu+tcp://::1/system", FERRY_ERR_PARSE, "more than one ':'" },
    { "qemu+tcp://[::1/system", FERRY_ERR_PARSE, "unterminated '['" },
    { "qemu+tcp://ho$t/system", FERRY_ERR_PARSE, "bad character '$' in host 'ho$t'" },
    { "qemu+tcp://root@hostb/system", FERRY_ERR_PARSE, "user name ('root@')" },
    { "qemu+unix://hostb/system", FERRY_ERR_PARSE, "unix transport takes no host" },
    { "qemu:///system#frag", FERRY_ERR_PARSE, "fragment" },
    { "qemu:///system ", FERRY_ERR_PARSE, "blanks or control characters" },
    { "qemu:///system?", FERRY_ERR_PARSE, "empty query parameter" },
    { "qemu:///system?socket=/a&&", FERRY_ERR_PARSE, "empty query parameter" },
    { "qemu:///system?bogus=1", FERRY_ERR_PARSE, "unknown query parameter 'bogus'" },
    { "qemu:///system?mode=legacy", FERRY_ERR_PARSE, "unknown query parameter 'mode'" },
    { "qemu:///system?socket", FERRY_ERR_PARSE, "query parameter 'socket' has no value" },
    { "qemu:///system?socket=", FERRY_ERR_PARSE, "query parameter 'socket' is empty" },
    { "qemu:///system?socket=/a&socket=/b", FERRY_ERR_PARSE, "'socket' is given twice" },
    { "qemu:///system?socket=relative/sock", FERRY_ERR_PARSE,
      "'relative/sock' is not an absolute" },
    { "qemu:///system?socket=/a%2", FERRY_ERR_PARSE, "incomplete escape '%2'" },
    { "qemu:///system?socket=/a%zz", FERRY_ERR_PARSE, "bad escape '%zz'" },
    { "qemu:///system?socket=/a%00b", FERRY_ERR_PARSE, "'%00'" },
    { "qemu+tcp://h/system?socket=/s", FERRY_ERR_PARSE, "'socket' is only for the unix" },
    { "qemu+tcp://h/system?no_verify=1", FERRY_ERR_PARSE, "'no_verify' is only for the tls" },
    { "qemu:///system?pkipath=/p", FERRY_ERR_PARSE, "'pkipath' is only for the tls" },
    { "qemu://h/system?no_verify=yes", FERRY_ERR_PARSE, "'yes' is not 0 or 1" },
    { "qemu:///system?keepalive_interval=-1", FERRY_ERR_PARSE, "'-1' is not a number" },
    { "qemu:///system?keepalive_count=x", FERRY_ERR_PARSE, "'x' is not a number" },
    { "qemu:///system?keepalive_count=99999999999", FERRY_ERR_PARSE, "is not a number" },
    { "qemu:///system?root=/tmp", FERRY_ERR_PARSE, "'root' is only for qemu:///embed" },
    { "qemu:///embed", FERRY_ERR_PARSE, "'/embed' needs root=DIR" },
    { "qemu:///embed?root=", FERRY_ERR_PARSE, "'root' is empty" },
    { "qemu:///embed?root=tmp/x", FERRY_ERR_PARSE, "'tmp/x' is not an absolute path" },
    { "qemu+unix:///embed?root=/tmp", FERRY_ERR_PARSE, "takes no transport" },
    { "qemu://hostb/embed?root=/tmp", FERRY_ERR_PARSE, "takes no host" },
    { "qemu:///embed?root=/tmp&keepalive_interval=5", FERRY_ERR_PARSE,
      "'keepalive_interval' is only for a remote" },
};

static void test_valid(gconstpointer data)
{
    const ValidCase *c = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverUri) uri = driver_uri_parse(c->text, &err);

    g_assert_no_error(err);
    g_assert_nonnull(uri);
    g_assert_cmpstr(uri->text, ==, c->text);
    g_assert_cmpstr(uri->scheme, ==, "qemu");
    g_assert_cmpstr(driver_uri_transport_to_string(uri->transport), ==,
                    driver_uri_transport_to_string(c->transport));
    g_assert_cmpstr(uri->host, ==, c->host);
    g_assert_cmpint(driver_uri_port(uri), ==, c->port);
    g_assert_cmpint(uri->path, ==, c->path);
    g_assert_cmpstr(uri->socket, ==, c->socket);
    g_assert_cmpint(uri->no_verify, ==, c->no_verify);
    g_assert_cmpstr(uri->pkipath, ==, c->pkipath);
    g_assert_cmpint(uri->keepalive_interval, ==, c->keepalive_interval);
    g_assert_cmpint(uri->keepalive_count, ==, c->keepalive_count);
    g_assert_cmpstr(uri->root, ==, c->root);
}

static void test_invalid(gconstpointer data)
{
    const InvalidCase *c = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverUri) uri = driver_uri_parse(c->text, &err);

    g_assert_null(uri);
    g_assert_nonnull(err);
    if (!strstr(err->message, c->message))
        g_error("URI '%s': message \"%s\" lacks \"%s\"", c->text, err->message, c->message);
    g_assert_cmpint(ferry_error_code_of(err), ==, c->code);
    g_assert_cmpint(ferry_error_domain_of(err), ==, FERRY_FROM_DRIVER);
    /* Every message but the empty one quotes the URI. */
    if (*c->text) {
        g_autofree char *quoted = g_strdup_printf("URI '%.10s", c->text);
        g_assert_nonnull(strstr(err->message, quoted));
    }
}

static void test_null(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_null(driver_uri_parse(NULL, &err));
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_PARSE);
}

static void test_long_uri_is_cut(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) text = g_string_new("qemu:///system?socket=/");

    for (int i = 0; i < 500; i++)
        g_string_append_c(text, 'x');
    g_string_append(text, "&bogus=1");
    g_assert_null(driver_uri_parse(text->str, &err));
    g_assert_nonnull(strstr(err->message, "...': unknown query parameter 'bogus'"));
    g_assert_cmpuint(strlen(err->message), <, 400);
}

static void test_default(void)
{
    g_setenv("LIBVIRT_DEFAULT_URI", "qemu+tcp://libvirt-host/system", TRUE);
    g_unsetenv("FERRY_DEFAULT_URI");
    g_assert_cmpstr(driver_uri_default(), ==, "qemu:///system");
    g_setenv("FERRY_DEFAULT_URI", "", TRUE);
    g_assert_cmpstr(driver_uri_default(), ==, "qemu:///system");
    g_setenv("FERRY_DEFAULT_URI", "qemu:///embed?root=/tmp/x", TRUE);
    g_assert_cmpstr(driver_uri_default(), ==, "qemu:///embed?root=/tmp/x");
    g_unsetenv("FERRY_DEFAULT_URI");
    g_unsetenv("LIBVIRT_DEFAULT_URI");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("3:stderr", NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(valid_cases); i++) {
        g_autofree char *path = g_strdup_printf("/libferry-uri/valid/%02zu", i);
        g_test_add_data_func(path, &valid_cases[i], test_valid);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(invalid_cases); i++) {
        g_autofree char *path = g_strdup_printf("/libferry-uri/invalid/%02zu", i);
        g_test_add_data_func(path, &invalid_cases[i], test_invalid);
    }
    g_test_add_func("/libferry-uri/null", test_null);
    g_test_add_func("/libferry-uri/long-uri-is-cut", test_long_uri_is_cut);
    g_test_add_func("/libferry-uri/default", test_default);
    return g_test_run();
}
