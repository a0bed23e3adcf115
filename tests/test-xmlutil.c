/*
 * test-xmlutil.c: the safe XML parser and the typed readers.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "tests.xmlutil"

#include "conf/xmlutil.h"
#include "util/log.h"

#define LIMIT 4096

static xmlDoc *parse(const char *text, GError **error)
{
    return xml_parse(text, LIMIT, "test XML", "domain", FERRY_FROM_XML, error);
}

typedef struct {
    const char *name;
    const char *text;
    const char *error; /* substring of the message */
} BadCase;

static void test_refused(void)
{
    static const BadCase cases[] = {
        { "empty", "", "test XML: empty document" },
        { "wrong root", "<cookie/>", "root element is <cookie>, expected <domain>" },
        { "not closed", "<domain><name>x</domain>", "malformed XML at line 1" },
        { "garbage", "\x01\x02 not xml", "malformed XML" },
        { "billion laughs",
          "<?xml version='1.0'?>\n<!DOCTYPE domain [\n <!ENTITY a 'aaaaaaaaaa'>\n"
          " <!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>\n"
          " <!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>\n]>\n<domain>&c;</domain>",
          "DOCTYPE declarations are not allowed" },
        { "external entity",
          "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain>&x;</domain>",
          "DOCTYPE declarations are not allowed" },
        { "external DTD", "<!DOCTYPE domain SYSTEM 'http://127.0.0.1:1/x.dtd'><domain/>",
          "DOCTYPE declarations are not allowed" },
        { "undeclared entity", "<domain>&nope;</domain>", "malformed XML" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(xmlDoc) doc = parse(cases[i].text, &err);

        g_test_message("case: %s", cases[i].name);
        g_assert_null(doc);
        g_assert_nonnull(err);
        g_assert_cmpint(err->code, ==, FERRY_ERR_XML);
        if (!strstr(err->message, cases[i].error))
            g_error("case %s: message '%s' lacks '%s'", cases[i].name, err->message,
                    cases[i].error);
    }
}

static void test_size_limit(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) big = g_string_new("<domain>");

    while (big->len < LIMIT)
        g_string_append(big, "<name>x</name>");
    g_string_append(big, "</domain>");
    g_autoptr(xmlDoc) doc = parse(big->str, &err);
    g_assert_null(doc);
    g_assert_cmpint(err->code, ==, FERRY_ERR_OVERFLOW);
    g_assert_nonnull(strstr(err->message, "larger than the limit of 4096 bytes"));
}

static void test_readers(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) doc =
        parse("<domain type='kvm' id='-3'>\n  <memory unit='KiB' big='18446744073709551616'>"
              " 1048576 </memory>\n  <vcpu n='2x' on='yes' off='no' bad='maybe'/>\n"
              "  <name>a &amp; b</name>\n</domain>",
              &err);
    g_assert_no_error(err);
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *memory = xml_child(root, "memory");
    xmlNode *vcpu = xml_child(root, "vcpu");
    unsigned long long ull = 0;
    unsigned int ui = 0;
    int i = 0;
    gboolean b = FALSE;

    g_assert_nonnull(memory);
    g_assert_cmpint(xml_text_ullong(memory, &ull, FERRY_FROM_XML, &err), ==, 1);
    g_assert_cmpuint(ull, ==, 1048576);
    g_assert_cmpint(xml_prop_int(root, "id", &i, FERRY_FROM_XML, &err), ==, 1);
    g_assert_cmpint(i, ==, -3);
    g_assert_cmpint(xml_prop_uint(vcpu, "absent", &ui, FERRY_FROM_XML, &err), ==, 0);
    g_assert_cmpint(xml_prop_yesno(vcpu, "on", &b, FERRY_FROM_XML, &err), ==, 1);
    g_assert_true(b);
    g_assert_cmpint(xml_prop_yesno(vcpu, "off", &b, FERRY_FROM_XML, &err), ==, 1);
    g_assert_false(b);
    g_assert_no_error(err);

    g_assert_cmpint(xml_prop_uint(vcpu, "n", &ui, FERRY_FROM_XML, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "<vcpu n='2x'>: expected a non-negative integer");
    g_clear_error(&err);
    g_assert_cmpint(xml_prop_ullong(memory, "big", &ull, FERRY_FROM_XML, &err), ==, -1);
    g_clear_error(&err);
    g_assert_cmpint(xml_prop_yesno(vcpu, "bad", &b, FERRY_FROM_XML, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "<vcpu bad='maybe'>: expected 'yes' or 'no'");
    g_clear_error(&err);

    static const char *const types[] = { "qemu", "kvm", NULL };
    int type = -1;
    g_assert_cmpint(xml_prop_enum(root, "type", types, &type, FERRY_FROM_XML, &err), ==, 1);
    g_assert_cmpint(type, ==, 1);
    g_assert_cmpint(xml_prop_enum(memory, "unit", types, &type, FERRY_FROM_XML, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "<memory unit='KiB'>: expected one of 'qemu', 'kvm'");

    g_autofree char *name = xml_text(xml_child(root, "name"));
    g_assert_cmpstr(name, ==, "a & b");
}

static void test_format_escapes(void)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *root = xmlNewNode(NULL, (const xmlChar *)"domain");

    xmlDocSetRootElement(doc, root);
    xml_set_propf(root, "type", "%s", "k'v\"m<");
    xml_new_text_child(root, "name", "a<b & c");
    xml_set_prop(xml_new_child(root, "devices"), "skip", NULL);
    g_autofree char *text = xml_format_node(root);
    g_assert_cmpstr(text, ==,
                    "<domain type=\"k'v&quot;m&lt;\">\n"
                    "  <name>a&lt;b &amp; c</name>\n"
                    "  <devices/>\n"
                    "</domain>\n");

    /* What was formatted parses back to the same text. */
    g_autoptr(GError) err = NULL;
    g_autoptr(xmlDoc) again = parse(text, &err);
    g_assert_no_error(err);
    g_autofree char *text2 = xml_format_node(xmlDocGetRootElement(again));
    g_assert_cmpstr(text, ==, text2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("4:stderr", NULL);
    g_test_add_func("/xmlutil/refused", test_refused);
    g_test_add_func("/xmlutil/size-limit", test_size_limit);
    g_test_add_func("/xmlutil/readers", test_readers);
    g_test_add_func("/xmlutil/format-escapes", test_format_escapes);
    return g_test_run();
}
