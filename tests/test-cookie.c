/*
 * test-cookie.c: the migration cookie.
 *
 * Data-driven: every tests/data/cookie/NAME.xml is one test case
 * (/cookie/file/NAME).  It is parsed as a cookie received by the host
 * "hostC" (host uuid cccccccc-0000-4000-8000-00000000000c) and must either
 * fail with a message containing the text of NAME.err, or format to exactly
 * NAME.out.xml, and that output must parse and format to itself.
 * FERRY_TEST_REGENERATE=1 rewrites the .out.xml files in the source tree.
 *
 * Then unit tests for the setters, the wire's byte forms, the size limits
 * and the identity and feature checks.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_COOKIE
#define FERRY_LOG_MODULE "tests.cookie"

#include "util/error.h"
#include "util/log.h"
#include "conf/xmlutil.h"
#include "conf/cookie.h"
#include "testutils.h"

#define LOCAL_UUID "cccccccc-0000-4000-8000-00000000000c"
#define CAPTURE_UUID "11111111-0000-4000-8000-000000000256"

static CookieHost local_host;

static void make_host(CookieHost *host, const char *hostname, const char *uuid)
{
    g_autoptr(GError) err = NULL;

    host->hostname = hostname;
    g_assert_cmpint(ferry_uuid_parse(uuid, host->uuid, &err), ==, 0);
    g_assert_no_error(err);
}

static MigrationCookie *parse_str(const char *text, GError **error)
{
    return cookie_parse(text, strlen(text), &local_host, error);
}

static char *format_ok(const MigrationCookie *cookie)
{
    g_autoptr(GError) err = NULL;
    char *text = cookie_format(cookie, &err);

    g_assert_no_error(err);
    g_assert_nonnull(text);
    return text;
}

/* parse(text) formats to text. */
static void assert_round_trip(const char *text)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MigrationCookie) again = parse_str(text, &err);

    g_assert_no_error(err);
    g_autofree char *text2 = format_ok(again);
    g_assert_cmpstr(text, ==, text2);
}

static void test_file(gconstpointer data)
{
    const char *name = data;
    g_autofree char *in_name = g_strconcat(name, ".xml", NULL);
    g_autofree char *out_name = g_strconcat(name, ".out.xml", NULL);
    g_autofree char *input = test_data_read_required("cookie", in_name);
    g_autofree char *expected = test_data_expected_error("cookie", name);
    gsize len = strlen(input);
    g_autoptr(GError) err = NULL;

    /* What came off the wire has no NUL after it: give exactly len bytes. */
    g_autofree char *bytes = g_memdup2(input, len);
    g_autoptr(MigrationCookie) cookie = cookie_parse(bytes, len, &local_host, &err);

    if (expected) {
        g_assert_null(cookie);
        g_assert_nonnull(err);
        g_test_message("%s: %s", name, err->message);
        g_assert_true(err->domain == ferry_error_quark(FERRY_FROM_COOKIE));
        test_assert_error_contains(err, expected);
        g_assert_true(g_str_has_prefix(err->message, "migration cookie"));
        return;
    }

    g_assert_no_error(err);
    g_assert_nonnull(cookie);
    g_autofree char *actual = format_ok(cookie);

    if (!test_compare_golden("cookie", out_name, actual))
        return;
    assert_round_trip(actual);
}

/* Registers /cookie/file/NAME for every NAME.xml (not NAME.out.xml). */
static void add_file_tests(guint *n_valid, guint *n_invalid)
{
    g_autoptr(GPtrArray) names = test_data_list("cookie", ".xml");

    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autofree char *err_name = g_strconcat(name, ".err", NULL);
        g_autofree char *path = g_strconcat("/cookie/file/", name, NULL);

        if (test_data_exists("cookie", err_name))
            (*n_invalid)++;
        else
            (*n_valid)++;
        g_test_add_data_func_full(path, g_strdup(name), test_file, g_free);
    }
}

static guint n_valid_files;
static guint n_invalid_files;

static void test_file_count(void)
{
    g_test_message("%u valid and %u invalid cookies", n_valid_files, n_invalid_files);
    g_assert_cmpuint(n_valid_files, >=, 10);
    g_assert_cmpuint(n_invalid_files, >=, 10);
}

/* The four cookies libvirt 9.0 sent, read field by field. */
static void test_libvirt_captures(void)
{
    g_autofree char *text = test_data_read_required("cookie", "libvirt-begin3.xml");
    g_autoptr(GError) err = NULL;
    unsigned char uuid[FERRY_UUID_BUFLEN];

    g_autoptr(MigrationCookie) begin = parse_str(text, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(begin->name, ==, "zero256");
    g_assert_cmpstr(begin->hostname, ==, "hostA");
    g_assert_cmpint(ferry_uuid_parse(CAPTURE_UUID, uuid, NULL), ==, 0);
    g_assert_true(ferry_uuid_equal(begin->uuid, uuid));
    g_assert_cmpuint(begin->mandatory, ==, COOKIE_FLAG(COOKIE_FEATURE_LOCKSTATE));
    g_assert_cmpuint(begin->flags, ==,
                     COOKIE_FLAG(COOKIE_FEATURE_CPU) | COOKIE_FLAG(COOKIE_FEATURE_CAPABILITIES));
    g_assert_null(begin->lockstate);
    g_assert_true(g_str_has_prefix(begin->cpu, "<cpu mode=\"custom\" match=\"exact\""));
    g_assert_nonnull(strstr(begin->cpu, "<model fallback=\"forbid\">qemu64</model>"));
    g_assert_cmpuint(begin->capabilities->len, ==, 11);
    const CookieCapability *cap = cookie_find_capability(begin, "pause-before-switchover");
    g_assert_nonnull(cap);
    g_assert_true(cap->auto_on);
    cap = cookie_find_capability(begin, "multifd");
    g_assert_nonnull(cap);
    g_assert_false(cap->auto_on);
    g_assert_null(cookie_find_capability(begin, "mapped-ram"));
    g_assert_cmpint(cookie_check_features(begin, COOKIE_FLAGS_ALL, &err), ==, 0);
    g_assert_no_error(err);

    g_clear_pointer(&text, g_free);
    text = test_data_read_required("cookie", "libvirt-finish3.xml");
    g_autoptr(MigrationCookie) finish = parse_str(text, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(finish->flags, ==, COOKIE_FLAG(COOKIE_FEATURE_STATISTICS));
    g_assert_cmpuint(finish->stats->started, ==, G_GUINT64_CONSTANT(1795303342150));
    g_assert_cmpint(finish->stats->delta, ==, 2);
    g_assert_cmpuint(finish->stats->downtime, ==, 20);
    g_assert_cmpuint(finish->stats->memory_total, ==, 268967936);
    g_assert_cmpuint(finish->stats->memory_page_size, ==, 4096);
    g_assert_false(finish->stats->present & COOKIE_STAT_FLAG(COOKIE_STAT_COMPRESSION_CACHE));
    g_assert_cmpint(cookie_check_identity(finish, "zero256", uuid, &local_host, &err), ==, 0);
    g_assert_no_error(err);
}

static void test_setters(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MigrationCookie) cookie = cookie_new();
    CookieHost src;
    unsigned char uuid[FERRY_UUID_BUFLEN];

    make_host(&src, "hostA", "aaaaaaaa-0000-4000-8000-00000000000a");
    g_assert_cmpint(ferry_uuid_parse(CAPTURE_UUID, uuid, NULL), ==, 0);

    /* Nothing to format without an identity. */
    g_assert_null(cookie_format(cookie, &err));
    test_assert_error_contains(err, "cannot format a cookie without a domain name");
    g_clear_error(&err);

    g_assert_cmpint(cookie_set_identity(cookie, "web <1> & 'x'", uuid, &src, &err), ==, 0);
    cookie_set_mandatory(cookie, COOKIE_FEATURE_LOCKSTATE);
    cookie_set_mandatory(cookie, COOKIE_FEATURE_BACKEND_TRANSFER);
    g_assert_cmpint(cookie_set_graphics(cookie, COOKIE_GRAPHICS_SPICE, 5901, 5902, "10.0.0.2",
                                        "C=GB,O=ferry,CN=hostB", &err),
                    ==, 0);
    g_assert_cmpint(cookie_set_lockstate(cookie, "sanlock", &err), ==, 0);
    g_assert_cmpint(cookie_add_lease(cookie, "__LIBVIRT__DISKS__:abc:/dev/sdb:0:3", &err), ==, 0);
    g_assert_cmpint(cookie_add_lease(cookie, "lease-2", &err), ==, 0);
    g_assert_cmpint(cookie_set_persistent(cookie,
                                          "<domain type='kvm'><name>web</name>"
                                          "<memory unit='KiB'>262144</memory></domain>",
                                          &err),
                    ==, 0);
    g_assert_cmpint(cookie_add_interface(cookie, 1, COOKIE_VPORT_OPENVSWITCH, "a&b", &err), ==, 0);
    g_assert_cmpint(cookie_add_interface(cookie, 0, COOKIE_VPORT_8021QBG, NULL, &err), ==, 0);
    g_assert_cmpint(cookie_set_nbd(cookie, 49153, &err), ==, 0);
    g_assert_cmpint(cookie_add_nbd_disk(cookie, "vda", 10737418240ULL, &err), ==, 0);
    CookieStatistics *stats = cookie_statistics(cookie);
    cookie_stats_set(stats, COOKIE_STAT_STARTED, 1000);
    cookie_stats_set(stats, COOKIE_STAT_DELTA, (guint64)(gint64)-7);
    cookie_stats_set(stats, COOKIE_STAT_MEMORY_TOTAL, G_MAXUINT64);
    g_assert_cmpint(cookie_set_cpu(cookie, "<cpu mode='host-model'/>", &err), ==, 0);
    cookie_set_allow_reboot(cookie, FALSE);
    g_assert_cmpint(cookie_add_capability(cookie, "multifd", TRUE, &err), ==, 0);
    g_assert_cmpint(cookie_add_capability(cookie, "postcopy-ram", FALSE, &err), ==, 0);
    CookieBackend *tap = cookie_add_backend(cookie, "virtio-net-tap", "net0", &err);
    g_assert_nonnull(tap);
    g_assert_cmpint(cookie_backend_add_requirement(tap, "vhost", "on", &err), ==, 0);
    g_assert_cmpint(cookie_backend_add_requirement(tap, "queues", "4", &err), ==, 0);
    g_assert_cmpint(cookie_backend_add_requirement(tap, "note", "", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpuint(cookie->flags, ==,
                     COOKIE_FLAGS_ALL & ~(COOKIE_FLAG(COOKIE_FEATURE_MEMORY_HOTPLUG) |
                                          COOKIE_FLAG(COOKIE_FEATURE_CPU_HOTPLUG)));

    g_autofree char *text = format_ok(cookie);
    g_assert_cmpstr(
        text, ==,
        "<qemu-migration>\n"
        "  <name>web &lt;1&gt; &amp; 'x'</name>\n"
        "  <uuid>11111111-0000-4000-8000-000000000256</uuid>\n"
        "  <hostname>hostA</hostname>\n"
        "  <hostuuid>aaaaaaaa-0000-4000-8000-00000000000a</hostuuid>\n"
        "  <feature name=\"lockstate\"/>\n"
        "  <feature name=\"backend-transfer\"/>\n"
        "  <graphics type=\"spice\" port=\"5901\" listen=\"10.0.0.2\" tlsPort=\"5902\">\n"
        "    <cert info=\"subject\" value=\"C=GB,O=ferry,CN=hostB\"/>\n"
        "  </graphics>\n"
        "  <lockstate driver=\"sanlock\">\n"
        "    <leases>__LIBVIRT__DISKS__:abc:/dev/sdb:0:3 lease-2</leases>\n"
        "  </lockstate>\n"
        "  <domain type=\"kvm\">\n"
        "    <name>web</name>\n"
        "    <memory unit=\"KiB\">262144</memory>\n"
        "  </domain>\n"
        "  <network>\n"
        "    <interface index=\"1\" vporttype=\"openvswitch\">\n"
        "      <portdata>a&amp;b</portdata>\n"
        "    </interface>\n"
        "    <interface index=\"0\" vporttype=\"802.1Qbg\"/>\n"
        "  </network>\n"
        "  <nbd port=\"49153\">\n"
        "    <disk target=\"vda\" capacity=\"10737418240\"/>\n"
        "  </nbd>\n"
        "  <statistics>\n"
        "    <started>1000</started>\n"
        "    <delta>-7</delta>\n"
        "    <memory_total>18446744073709551615</memory_total>\n"
        "  </statistics>\n"
        "  <cpu mode=\"host-model\"/>\n"
        "  <allowReboot value=\"no\"/>\n"
        "  <capabilities>\n"
        "    <cap name=\"multifd\" auto=\"yes\"/>\n"
        "    <cap name=\"postcopy-ram\" auto=\"no\"/>\n"
        "  </capabilities>\n"
        "  <backendTransfer>\n"
        "    <backend type=\"virtio-net-tap\" alias=\"net0\">\n"
        "      <require name=\"vhost\" value=\"on\"/>\n"
        "      <require name=\"queues\" value=\"4\"/>\n"
        "      <require name=\"note\" value=\"\"/>\n"
        "    </backend>\n"
        "  </backendTransfer>\n"
        "</qemu-migration>\n");
    assert_round_trip(text);

    /* Parsed back, the values are the same. */
    g_autoptr(MigrationCookie) back = parse_str(text, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(back->name, ==, "web <1> & 'x'");
    g_assert_cmpint(back->graphics->type, ==, COOKIE_GRAPHICS_SPICE);
    g_assert_cmpint(back->graphics->port, ==, 5901);
    g_assert_cmpint(back->graphics->tls_port, ==, 5902);
    g_assert_cmpstr(back->graphics->tls_subject, ==, "C=GB,O=ferry,CN=hostB");
    g_assert_cmpuint(back->lockstate->leases->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(back->lockstate->leases, 1), ==, "lease-2");
    g_assert_cmpint(back->stats->delta, ==, -7);
    g_assert_cmpuint(back->stats->memory_total, ==, G_MAXUINT64);
    const CookieBackend *net0 = cookie_find_backend(back, "net0");
    g_assert_nonnull(net0);
    g_assert_cmpstr(cookie_backend_requirement(net0, "queues"), ==, "4");
    g_assert_cmpstr(cookie_backend_requirement(net0, "note"), ==, "");
    g_assert_null(cookie_backend_requirement(net0, "absent"));
    g_assert_null(cookie_find_backend(back, "net1"));

    /* Clearing a flag leaves the part out ("format only the parts asked for"). */
    back->flags = COOKIE_FLAG(COOKIE_FEATURE_CAPABILITIES);
    back->mandatory = 0;
    g_autofree char *only_caps = format_ok(back);
    g_assert_null(strstr(only_caps, "<graphics"));
    g_assert_null(strstr(only_caps, "<domain"));
    g_assert_null(strstr(only_caps, "<feature"));
    g_assert_nonnull(strstr(only_caps, "<cap name=\"multifd\" auto=\"yes\"/>"));
}

typedef struct {
    const char *name;
    int (*run)(MigrationCookie *cookie, GError **error);
    const char *error;
} SetterCase;

static int set_bad_port(MigrationCookie *c, GError **e)
{
    return cookie_set_graphics(c, COOKIE_GRAPHICS_VNC, 65536, -1, NULL, NULL, e);
}
static int set_bad_tls_port(MigrationCookie *c, GError **e)
{
    return cookie_set_graphics(c, COOKIE_GRAPHICS_SPICE, 5900, -2, NULL, NULL, e);
}
static int set_vnc_tls_port(MigrationCookie *c, GError **e)
{
    return cookie_set_graphics(c, COOKIE_GRAPHICS_VNC, 5900, 5901, "::", NULL, e);
}
static int set_no_listen(MigrationCookie *c, GError **e)
{
    return cookie_set_graphics(c, COOKIE_GRAPHICS_VNC, 5900, -1, NULL, NULL, e);
}
static int set_bad_nbd_port(MigrationCookie *c, GError **e)
{
    return cookie_set_nbd(c, -1, e);
}
static int set_bad_listen(MigrationCookie *c, GError **e)
{
    return cookie_set_graphics(c, COOKIE_GRAPHICS_VNC, 5900, -1, "a b", NULL, e);
}
static int add_dup_capability(MigrationCookie *c, GError **e)
{
    if (cookie_add_capability(c, "xbzrle", FALSE, e) < 0)
        return 0;
    return cookie_add_capability(c, "xbzrle", TRUE, e);
}
static int add_bad_capability(MigrationCookie *c, GError **e)
{
    return cookie_add_capability(c, "multi fd", FALSE, e);
}
static int add_many_capabilities(MigrationCookie *c, GError **e)
{
    for (int i = 0; i <= COOKIE_CAPABILITIES_MAX; i++) {
        g_autofree char *name = g_strdup_printf("cap%d", i);

        if (cookie_add_capability(c, name, FALSE, e) < 0)
            return -1;
    }
    return 0;
}
static int add_lease_without_driver(MigrationCookie *c, GError **e)
{
    return cookie_add_lease(c, "lease", e);
}
static int add_blank_lease(MigrationCookie *c, GError **e)
{
    if (cookie_set_lockstate(c, "sanlock", e) < 0)
        return 0;
    return cookie_add_lease(c, "two words", e);
}
static int add_bad_utf8_alias(MigrationCookie *c, GError **e)
{
    return cookie_add_backend(c, "virtio-net-tap", "net\xff", e) ? 0 : -1;
}
static int add_dup_interface(MigrationCookie *c, GError **e)
{
    if (cookie_add_interface(c, 3, COOKIE_VPORT_MIDONET, NULL, e) < 0)
        return 0;
    return cookie_add_interface(c, 3, COOKIE_VPORT_OPENVSWITCH, NULL, e);
}
static int add_dup_backend(MigrationCookie *c, GError **e)
{
    if (!cookie_add_backend(c, "virtio-net-tap", "net0", e))
        return 0;
    return cookie_add_backend(c, "virtio-net-tap", "net0", e) ? 0 : -1;
}
static int add_dup_requirement(MigrationCookie *c, GError **e)
{
    CookieBackend *b = cookie_add_backend(c, "virtio-net-tap", "net0", e);

    if (!b || cookie_backend_add_requirement(b, "vhost", "on", e) < 0)
        return 0;
    return cookie_backend_add_requirement(b, "vhost", "off", e);
}
static int set_persistent_not_domain(MigrationCookie *c, GError **e)
{
    return cookie_set_persistent(c, "<cpu/>", e);
}
static int set_cpu_malformed(MigrationCookie *c, GError **e)
{
    return cookie_set_cpu(c, "<cpu><model>", e);
}
static int set_empty_name(MigrationCookie *c, GError **e)
{
    CookieHost host = { .hostname = "h" };
    unsigned char uuid[FERRY_UUID_BUFLEN] = { 1 };

    return cookie_set_identity(c, "", uuid, &host, e);
}
static int add_nbd_disk_without_nbd(MigrationCookie *c, GError **e)
{
    return cookie_add_nbd_disk(c, "vda", 1, e);
}

static void test_setters_refused(void)
{
    static const SetterCase cases[] = {
        { "port", set_bad_port, "<graphics port='65536'>: not a port number" },
        { "tlsPort", set_bad_tls_port, "<graphics tlsPort='-2'>: not a port number" },
        { "vnc tlsPort", set_vnc_tls_port,
          "<graphics type='vnc' tlsPort='5901'>: only spice has a TLS port" },
        { "no listen", set_no_listen, "<graphics listen=''>: must not be empty" },
        { "nbd port", set_bad_nbd_port, "<nbd port='-1'>: not a port number" },
        { "listen", set_bad_listen, "<graphics listen='a b'>: must not contain blanks" },
        { "dup cap", add_dup_capability, "<cap name='xbzrle'>: duplicate capability" },
        { "bad cap", add_bad_capability, "<cap name='multi fd'>: only letters" },
        { "many caps", add_many_capabilities, "more than 64 capabilities" },
        { "lease alone", add_lease_without_driver, "no <lockstate driver> set" },
        { "blank lease", add_blank_lease, "<leases>two words</leases>: must not contain" },
        { "bad utf8", add_bad_utf8_alias, "<backend alias='net\xef\xbf\xbd'>: not valid UTF-8" },
        { "dup iface", add_dup_interface, "<interface index='3'>: duplicate index" },
        { "dup backend", add_dup_backend, "<backend alias='net0'>: duplicate alias" },
        { "dup require", add_dup_requirement,
          "<backend alias='net0'><require name='vhost'>: duplicate requirement" },
        { "not domain", set_persistent_not_domain,
          "migration cookie: <domain>: root element is <cpu>, expected <domain>" },
        { "bad cpu", set_cpu_malformed, "migration cookie: <cpu>: malformed XML" },
        { "empty name", set_empty_name, "<name></name>: must not be empty" },
        { "nbd disk alone", add_nbd_disk_without_nbd, "no <nbd> set" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MigrationCookie) cookie = cookie_new();
        g_autoptr(GError) err = NULL;

        g_test_message("case: %s", cases[i].name);
        g_assert_cmpint(cases[i].run(cookie, &err), ==, -1);
        test_assert_error_contains(err, cases[i].error);
        g_assert_true(g_str_has_prefix(err->message, "migration cookie: "));
        g_assert_true(g_utf8_validate(err->message, -1, NULL));
    }
}

static const char minimal[] = "<qemu-migration>\n"
                              "  <name>zero256</name>\n"
                              "  <uuid>" CAPTURE_UUID "</uuid>\n"
                              "  <hostname>hostA</hostname>\n"
                              "  <hostuuid>aaaaaaaa-0000-4000-8000-00000000000a</hostuuid>\n"
                              "</qemu-migration>\n";

/* The cookie as bytes: with libvirt's NUL, without any, or with one inside. */
static void test_wire_bytes(void)
{
    g_autoptr(GError) err = NULL;
    size_t len = strlen(minimal);

    g_autoptr(MigrationCookie) with_nul = cookie_parse(minimal, len + 1, &local_host, &err);
    g_assert_no_error(err);
    g_autofree char *text = format_ok(with_nul);
    g_assert_cmpstr(text, ==, minimal);

    g_autofree char *exact = g_memdup2(minimal, len); /* no terminator */
    g_autoptr(MigrationCookie) without = cookie_parse(exact, len, &local_host, &err);
    g_assert_no_error(err);
    g_autofree char *text2 = format_ok(without);
    g_assert_cmpstr(text2, ==, minimal);

    /* Only the first 20 bytes count. */
    g_assert_null(cookie_parse(minimal, 20, NULL, &err));
    test_assert_error_contains(err, "malformed XML");
    g_clear_error(&err);

    g_autofree char *inner = g_strdup(minimal);
    inner[10] = '\0';
    g_assert_null(cookie_parse(inner, len, NULL, &err));
    test_assert_error_contains(err, "migration cookie: a NUL byte at offset 10");
    g_clear_error(&err);

    g_assert_null(cookie_parse("", 1, NULL, &err));
    test_assert_error_contains(err, "migration cookie: empty");
    g_clear_error(&err);
    g_assert_null(cookie_parse(NULL, 0, NULL, &err));
    test_assert_error_contains(err, "migration cookie: empty");
}

static char *cookie_with_filler(size_t filler, gboolean with_domain)
{
    GString *text =
        g_string_new("<qemu-migration><name>a</name><uuid>" CAPTURE_UUID
                     "</uuid><hostname>h</hostname><hostuuid>" CAPTURE_UUID "</hostuuid>");

    if (with_domain)
        g_string_append(text, "<domain type='kvm'><description>");
    else
        g_string_append(text, "<future-part>");
    for (size_t i = 0; i < filler; i++)
        g_string_append_c(text, 'x');
    g_string_append(text, with_domain ? "</description></domain>" : "</future-part>");
    g_string_append(text, "</qemu-migration>");
    return g_string_free(text, FALSE);
}

static void test_size_limits(void)
{
    g_autoptr(GError) err = NULL;

    /* 16 KiB without a <domain>. */
    g_autofree char *small = cookie_with_filler(COOKIE_MAX_SIZE - 400, FALSE);
    g_autoptr(MigrationCookie) ok = parse_str(small, &err);
    g_assert_no_error(err);
    g_autofree char *big = cookie_with_filler(COOKIE_MAX_SIZE, FALSE);
    g_assert_null(parse_str(big, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_OVERFLOW);
    test_assert_error_contains(
        err, "larger than the limit of 16384 bytes for a cookie without a <domain>");
    g_clear_error(&err);

    /* With a <domain>, 1 MiB. */
    g_autofree char *persistent = cookie_with_filler(COOKIE_MAX_SIZE * 4, TRUE);
    g_autoptr(MigrationCookie) with_domain = parse_str(persistent, &err);
    g_assert_no_error(err);
    g_assert_true(with_domain->flags & COOKIE_FLAG(COOKIE_FEATURE_PERSISTENT));
    g_assert_cmpuint(strlen(with_domain->persistent), >, COOKIE_MAX_SIZE * 4);
    g_autofree char *text = format_ok(with_domain);
    assert_round_trip(text);

    g_autofree char *huge = cookie_with_filler(COOKIE_MAX_SIZE_PERSISTENT, TRUE);
    g_assert_null(parse_str(huge, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_OVERFLOW);
    test_assert_error_contains(err, "larger than the limit of 1048576 bytes");
    g_clear_error(&err);

    /* Formatting refuses what the peer would refuse. */
    g_autoptr(MigrationCookie) cookie = cookie_new();
    CookieHost host;
    make_host(&host, "hostA", "aaaaaaaa-0000-4000-8000-00000000000a");
    g_assert_cmpint(cookie_set_identity(cookie, "a", host.uuid, &host, &err), ==, 0);
    g_autofree char *value = g_strnfill(COOKIE_VALUE_MAX, 'v');
    for (int i = 0; i < 4; i++) {
        g_autofree char *alias = g_strdup_printf("net%d", i);
        CookieBackend *backend = cookie_add_backend(cookie, "virtio-net-tap", alias, &err);

        g_assert_nonnull(backend);
        for (int j = 0; j < 5; j++) {
            g_autofree char *name = g_strdup_printf("r%d", j);
            g_assert_cmpint(cookie_backend_add_requirement(backend, name, value, &err), ==, 0);
        }
    }
    g_assert_no_error(err);
    g_assert_null(cookie_format(cookie, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_OVERFLOW);
    test_assert_error_contains(err, "larger than the limit of 16384 bytes");
}

static void test_identity(void)
{
    g_autoptr(GError) err = NULL;
    CookieHost host_a;
    unsigned char uuid[FERRY_UUID_BUFLEN];
    unsigned char other[FERRY_UUID_BUFLEN];

    make_host(&host_a, "hostA", "aaaaaaaa-0000-4000-8000-00000000000a");
    g_assert_cmpint(ferry_uuid_parse(CAPTURE_UUID, uuid, NULL), ==, 0);
    g_assert_cmpint(ferry_uuid_parse("22222222-0000-4000-8000-000000000256", other, NULL), ==, 0);

    g_autoptr(MigrationCookie) cookie = parse_str(minimal, &err);
    g_assert_no_error(err);

    g_assert_cmpint(cookie_check_identity(cookie, "zero256", uuid, &local_host, &err), ==, 0);
    g_assert_cmpint(cookie_check_identity(cookie, "zero256", NULL, NULL, &err), ==, 0);
    g_assert_no_error(err);

    g_assert_cmpint(cookie_check_identity(cookie, "web1", uuid, &local_host, &err), ==, -1);
    g_assert_cmpstr(err->message, ==,
                    "migration cookie: name 'zero256' does not match domain 'web1'");
    g_clear_error(&err);

    g_assert_cmpint(cookie_check_identity(cookie, "zero256", other, &local_host, &err), ==, -1);
    g_assert_cmpstr(err->message, ==,
                    "migration cookie: uuid " CAPTURE_UUID " does not match domain 'zero256' "
                    "(uuid 22222222-0000-4000-8000-000000000256)");
    g_clear_error(&err);

    /* The cookie came from hostA: refused when we are hostA. */
    g_assert_cmpint(cookie_check_identity(cookie, "zero256", uuid, &host_a, &err), ==, -1);
    g_assert_cmpstr(err->message, ==,
                    "migration cookie: hostuuid aaaaaaaa-0000-4000-8000-00000000000a equals "
                    "ours (migrating to the same host)");
    g_assert_cmpint(err->code, ==, FERRY_ERR_OPERATION_INVALID);
    g_clear_error(&err);

    /* Parsing does the same check, unless the caller passes no host. */
    g_assert_null(cookie_parse(minimal, strlen(minimal), &host_a, &err));
    test_assert_error_contains(err, "equals ours (migrating to the same host)");
    g_clear_error(&err);
    g_autoptr(MigrationCookie) allowed = cookie_parse(minimal, strlen(minimal), NULL, &err);
    g_assert_no_error(err);
    g_assert_nonnull(allowed);
}

static void test_features(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(MigrationCookie) cookie = cookie_new();

    for (int i = 0; i < COOKIE_FEATURE_LAST; i++)
        g_assert_cmpint(cookie_feature_from_name(cookie_feature_name(i)), ==, i);
    g_assert_cmpint(cookie_feature_from_name("block-dirty-bitmaps"), ==, -1);
    g_assert_cmpint(cookie_feature_from_name(NULL), ==, -1);
    g_assert_null(cookie_feature_name(COOKIE_FEATURE_LAST));
    g_assert_cmpstr(cookie_feature_name(COOKIE_FEATURE_ALLOW_REBOOT), ==, "allowReboot");

    cookie_set_mandatory(cookie, COOKIE_FEATURE_LOCKSTATE);
    cookie_set_mandatory(cookie, COOKIE_FEATURE_MEMORY_HOTPLUG);
    g_assert_cmpint(cookie_check_features(cookie, COOKIE_FLAGS_ALL, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(cookie_check_features(cookie, COOKIE_FLAG(COOKIE_FEATURE_LOCKSTATE), &err), ==,
                    -1);
    g_assert_cmpstr(err->message, ==,
                    "migration cookie: unsupported migration cookie feature 'memory-hotplug'");
    g_assert_cmpint(err->code, ==, FERRY_ERR_NO_SUPPORT);
}

static void test_statistics(void)
{
    CookieStatistics stats = { 0 };
    guint64 value = 0;

    for (int i = 0; i < COOKIE_STAT_LAST; i++)
        g_assert_cmpint(cookie_stat_from_name(cookie_stat_name(i)), ==, i);
    g_assert_cmpint(cookie_stat_from_name("success"), ==, -1);
    g_assert_cmpstr(cookie_stat_name(COOKIE_STAT_MEMORY_POSTCOPY_REQUESTS), ==,
                    "memory_postcopy_requests");

    g_assert_false(cookie_stats_get(&stats, COOKIE_STAT_DOWNTIME, &value));
    cookie_stats_set(&stats, COOKIE_STAT_DOWNTIME, 20);
    cookie_stats_set(&stats, COOKIE_STAT_AUTO_CONVERGE_THROTTLE, 99);
    cookie_stats_set(&stats, COOKIE_STAT_DELTA, (guint64)(gint64)-3);
    g_assert_cmpuint(stats.downtime, ==, 20);
    g_assert_cmpuint(stats.auto_converge_throttle, ==, 99);
    g_assert_cmpint(stats.delta, ==, -3);
    g_assert_true(cookie_stats_get(&stats, COOKIE_STAT_DOWNTIME, &value));
    g_assert_cmpuint(value, ==, 20);
    g_assert_cmpuint(stats.present, ==,
                     COOKIE_STAT_FLAG(COOKIE_STAT_DOWNTIME) |
                         COOKIE_STAT_FLAG(COOKIE_STAT_AUTO_CONVERGE_THROTTLE) |
                         COOKIE_STAT_FLAG(COOKIE_STAT_DELTA));
    g_assert_false(cookie_stats_get(&stats, COOKIE_STAT_SENT, &value));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("4:stderr", NULL);
    make_host(&local_host, "hostC", LOCAL_UUID);

    add_file_tests(&n_valid_files, &n_invalid_files);
    g_test_add_func("/cookie/file-count", test_file_count);
    g_test_add_func("/cookie/libvirt-captures", test_libvirt_captures);
    g_test_add_func("/cookie/setters", test_setters);
    g_test_add_func("/cookie/setters-refused", test_setters_refused);
    g_test_add_func("/cookie/wire-bytes", test_wire_bytes);
    g_test_add_func("/cookie/size-limits", test_size_limits);
    g_test_add_func("/cookie/identity", test_identity);
    g_test_add_func("/cookie/features", test_features);
    g_test_add_func("/cookie/statistics", test_statistics);
    return g_test_run();
}
