/*
 * test-typedparams.c: typed parameter lists.
 */
#include <config.h>

#include <limits.h>
#include <string.h>

#include <glib.h>

#include "util/error.h"
#include "util/typedparams.h"

#define UTIL_ERROR ferry_error_quark(FERRY_FROM_UTIL)

/* ---- type names ---- */

static void test_type_names(void)
{
    static const struct {
        int type;
        int number; /* libvirt's wire number */
        const char *name;
    } cases[] = {
        { TYPED_PARAM_INT, 1, "int" },       { TYPED_PARAM_UINT, 2, "uint" },
        { TYPED_PARAM_LLONG, 3, "llong" },   { TYPED_PARAM_ULLONG, 4, "ullong" },
        { TYPED_PARAM_DOUBLE, 5, "double" }, { TYPED_PARAM_BOOLEAN, 6, "boolean" },
        { TYPED_PARAM_STRING, 7, "string" },
    };
    static const int invalid[] = { -1, 0, TYPED_PARAM_LAST, 100 };

    G_STATIC_ASSERT(TYPED_PARAM_LAST == 8);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_cmpint(cases[i].type, ==, cases[i].number);
        g_assert_true(typed_param_type_is_valid(cases[i].type));
        g_assert_cmpstr(typed_param_type_to_string(cases[i].type), ==, cases[i].name);
        g_assert_cmpint(typed_param_type_from_string(cases[i].name), ==, cases[i].type);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(invalid); i++) {
        g_assert_false(typed_param_type_is_valid(invalid[i]));
        g_assert_null(typed_param_type_to_string(invalid[i]));
    }
    g_assert_cmpint(typed_param_type_from_string("INT"), ==, -1);
    g_assert_cmpint(typed_param_type_from_string("bool"), ==, -1);
    g_assert_cmpint(typed_param_type_from_string(""), ==, -1);
    g_assert_cmpint(typed_param_type_from_string(NULL), ==, -1);
}

static void test_wire_layout(void)
{
    TypedParam param;

    g_assert_cmpuint(sizeof(param.field), ==, 80);
    g_assert_cmpuint(TYPED_PARAM_FIELD_LENGTH, ==, 80);
    g_assert_cmpuint(sizeof(param.value.l), ==, 8);
    g_assert_cmpuint(sizeof(param.value.ul), ==, 8);
    g_assert_cmpuint(sizeof(param.value.i), ==, 4);
}

/* ---- add and get, every type ---- */

typedef struct {
    const char *name;
    int type;
    TypedParamValue value;
} ValueCase;

static const ValueCase value_cases[] = {
    { "i-min", TYPED_PARAM_INT, { .i = INT_MIN } },
    { "i-max", TYPED_PARAM_INT, { .i = INT_MAX } },
    { "i-zero", TYPED_PARAM_INT, { .i = 0 } },
    { "ui-max", TYPED_PARAM_UINT, { .ui = UINT_MAX } },
    { "ui-one", TYPED_PARAM_UINT, { .ui = 1 } },
    { "l-min", TYPED_PARAM_LLONG, { .l = LLONG_MIN } },
    { "l-max", TYPED_PARAM_LLONG, { .l = LLONG_MAX } },
    { "ul-max", TYPED_PARAM_ULLONG, { .ul = ULLONG_MAX } },
    { "bandwidth", TYPED_PARAM_ULLONG, { .ul = 8796093022208ULL } },
    { "d-tiny", TYPED_PARAM_DOUBLE, { .d = 4.9e-324 } },
    { "d-huge", TYPED_PARAM_DOUBLE, { .d = -1.7976931348623157e308 } },
    { "d-tenth", TYPED_PARAM_DOUBLE, { .d = 0.1 } },
    { "b-true", TYPED_PARAM_BOOLEAN, { .b = 1 } },
    { "b-false", TYPED_PARAM_BOOLEAN, { .b = 0 } },
    { "s-empty", TYPED_PARAM_STRING, { .s = (char *)"" } },
    { "destination_name", TYPED_PARAM_STRING, { .s = (char *)"web1" } },
    { "s-utf8", TYPED_PARAM_STRING, { .s = (char *)"gr\xc3\xbc\xc3\x9f dich \xe2\x9c\x93" } },
};

static int add_value(TypedParams *list, const ValueCase *c, GError **error)
{
    switch (c->type) {
    case TYPED_PARAM_INT:
        return typed_params_add_int(list, c->name, c->value.i, error);
    case TYPED_PARAM_UINT:
        return typed_params_add_uint(list, c->name, c->value.ui, error);
    case TYPED_PARAM_LLONG:
        return typed_params_add_llong(list, c->name, c->value.l, error);
    case TYPED_PARAM_ULLONG:
        return typed_params_add_ullong(list, c->name, c->value.ul, error);
    case TYPED_PARAM_DOUBLE:
        return typed_params_add_double(list, c->name, c->value.d, error);
    case TYPED_PARAM_BOOLEAN:
        return typed_params_add_boolean(list, c->name, c->value.b, error);
    case TYPED_PARAM_STRING:
        return typed_params_add_string(list, c->name, c->value.s, error);
    }
    g_assert_not_reached();
}

/* Gets name as type; on success *got holds the value (strings borrowed). */
static int get_value(const TypedParams *list, const char *name, int type, TypedParamValue *got,
                     GError **error)
{
    switch (type) {
    case TYPED_PARAM_INT:
        return typed_params_get_int(list, name, &got->i, error);
    case TYPED_PARAM_UINT:
        return typed_params_get_uint(list, name, &got->ui, error);
    case TYPED_PARAM_LLONG:
        return typed_params_get_llong(list, name, &got->l, error);
    case TYPED_PARAM_ULLONG:
        return typed_params_get_ullong(list, name, &got->ul, error);
    case TYPED_PARAM_DOUBLE:
        return typed_params_get_double(list, name, &got->d, error);
    case TYPED_PARAM_BOOLEAN: {
        gboolean b = 12345;
        int rc = typed_params_get_boolean(list, name, &b, error);
        if (rc == 1)
            got->b = b;
        return rc;
    }
    case TYPED_PARAM_STRING: {
        const char *s = NULL;
        int rc = typed_params_get_string(list, name, &s, error);
        if (rc == 1)
            got->s = (char *)s;
        return rc;
    }
    }
    g_assert_not_reached();
}

static void assert_value_equal(int type, const TypedParamValue *a, const TypedParamValue *b)
{
    switch (type) {
    case TYPED_PARAM_INT:
        g_assert_cmpint(a->i, ==, b->i);
        return;
    case TYPED_PARAM_UINT:
        g_assert_cmpuint(a->ui, ==, b->ui);
        return;
    case TYPED_PARAM_LLONG:
        g_assert_cmpint(a->l, ==, b->l);
        return;
    case TYPED_PARAM_ULLONG:
        g_assert_cmpuint(a->ul, ==, b->ul);
        return;
    case TYPED_PARAM_DOUBLE:
        g_assert_cmpmem(&a->d, sizeof(a->d), &b->d, sizeof(b->d));
        return;
    case TYPED_PARAM_BOOLEAN:
        g_assert_cmpint(a->b, ==, b->b);
        return;
    case TYPED_PARAM_STRING:
        g_assert_cmpstr(a->s, ==, b->s);
        return;
    }
    g_assert_not_reached();
}

static void test_add_get_round_trip(void)
{
    g_autoptr(TypedParams) list = typed_params_new();

    for (size_t i = 0; i < G_N_ELEMENTS(value_cases); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_cmpint(add_value(list, &value_cases[i], &err), ==, 0);
        g_assert_no_error(err);
    }
    g_assert_cmpuint(typed_params_count(list), ==, G_N_ELEMENTS(value_cases));

    for (size_t i = 0; i < G_N_ELEMENTS(value_cases); i++) {
        const ValueCase *c = &value_cases[i];
        const TypedParam *param = typed_params_nth(list, i);
        TypedParamValue got = { 0 };
        g_autoptr(GError) err = NULL;

        g_test_message("get '%s'", c->name);
        /* insertion order, wire layout */
        g_assert_nonnull(param);
        g_assert_cmpstr(param->field, ==, c->name);
        g_assert_cmpint(param->type, ==, c->type);
        assert_value_equal(c->type, &param->value, &c->value);
        g_assert_true(typed_params_find(list, c->name) == param);

        g_assert_cmpint(get_value(list, c->name, c->type, &got, &err), ==, 1);
        g_assert_no_error(err);
        assert_value_equal(c->type, &got, &c->value);
        if (c->type == TYPED_PARAM_STRING)
            g_assert_true(got.s != c->value.s); /* the list keeps a copy */
    }
}

static void test_get_wrong_type(void)
{
    g_autoptr(TypedParams) list = typed_params_new();

    for (size_t i = 0; i < G_N_ELEMENTS(value_cases); i++)
        g_assert_cmpint(add_value(list, &value_cases[i], NULL), ==, 0);

    for (size_t i = 0; i < G_N_ELEMENTS(value_cases); i++) {
        const ValueCase *c = &value_cases[i];

        for (int type = TYPED_PARAM_INT; type < TYPED_PARAM_LAST; type++) {
            TypedParamValue got;
            TypedParamValue untouched;
            g_autoptr(GError) err = NULL;
            g_autofree char *want = NULL;

            if (type == c->type)
                continue;
            memset(&got, 0x5a, sizeof(got));
            untouched = got;
            want = g_strdup_printf("parameter '%s' has type %s, expected %s", c->name,
                                   typed_param_type_to_string(c->type),
                                   typed_param_type_to_string(type));
            g_assert_cmpint(get_value(list, c->name, type, &got, &err), ==, -1);
            g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
            g_assert_cmpstr(err->message, ==, want);
            g_assert_cmpmem(&got, sizeof(got), &untouched, sizeof(untouched));
        }
    }
}

static void test_get_absent(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    g_autoptr(TypedParams) empty = typed_params_new();

    g_assert_cmpint(typed_params_add_int(list, "present", 1, NULL), ==, 0);
    for (int type = TYPED_PARAM_INT; type < TYPED_PARAM_LAST; type++) {
        const TypedParams *lists[] = { list, empty, NULL };

        for (size_t j = 0; j < G_N_ELEMENTS(lists); j++) {
            TypedParamValue got;
            TypedParamValue untouched;
            g_autoptr(GError) err = NULL;

            memset(&got, 0x5a, sizeof(got));
            untouched = got;
            g_assert_cmpint(get_value(lists[j], "absent", type, &got, &err), ==, 0);
            g_assert_no_error(err);
            g_assert_cmpmem(&got, sizeof(got), &untouched, sizeof(untouched));
        }
    }
    g_assert_null(typed_params_find(list, "absent"));
    g_assert_null(typed_params_find(NULL, "present"));
    /* names match exactly */
    g_assert_null(typed_params_find(list, "Present"));
    g_assert_null(typed_params_find(list, "presen"));
    g_assert_null(typed_params_find(list, "present "));
}

static void test_boolean_normalised(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    TypedParam wire = { .field = "auto_converge",
                        .type = TYPED_PARAM_BOOLEAN,
                        .value = { .b = 7 } };
    gboolean b = FALSE;

    g_assert_cmpint(typed_params_add_boolean(list, "live", 42, NULL), ==, 0);
    g_assert_cmpint(typed_params_nth(list, 0)->value.b, ==, 1);
    g_assert_cmpint(typed_params_get_boolean(list, "live", &b, NULL), ==, 1);
    g_assert_cmpint(b, ==, TRUE);

    g_assert_cmpint(typed_params_add_param(list, &wire, 0, NULL), ==, 0);
    g_assert_cmpint(typed_params_nth(list, 1)->value.b, ==, 1);
}

/* ---- names ---- */

static void test_names(void)
{
    g_autofree char *n79 = g_strnfill(79, 'n');
    g_autofree char *n80 = g_strnfill(80, 'n');
    g_autofree char *huge = g_strnfill(1024 * 1024, 'h');
    const struct {
        const char *name;
        const char *message; /* NULL: accepted */
    } cases[] = {
        { "bandwidth", NULL },
        { "migrate_disks.vda", NULL },
        { "x", NULL },
        { n79, NULL },
        { "gr\xc3\xbc\xc3\x9f", NULL },
        { n80, "is too long: at most 79 bytes are allowed" },
        { huge, "is too long: at most 79 bytes are allowed" },
        { "", "parameter name is empty" },
        { NULL, "no parameter name given" },
        { "tab\there", "parameter name 'tab\\there' contains a control character" },
        { "new\nline", "contains a control character" },
        { "bad\xff", "parameter name 'bad\\377' is not valid UTF-8" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(TypedParams) list = typed_params_new();
        g_autoptr(GError) err = NULL;
        g_autoptr(GError) err2 = NULL;
        int rc = typed_params_add_int(list, cases[i].name, 1, &err);

        g_test_message("name case %zu", i);
        g_assert_cmpint(typed_param_check_name(cases[i].name, &err2), ==, rc);
        if (!cases[i].message) {
            g_assert_cmpint(rc, ==, 0);
            g_assert_no_error(err);
            g_assert_cmpuint(typed_params_count(list), ==, 1);
            g_assert_cmpstr(typed_params_nth(list, 0)->field, ==, cases[i].name);
            continue;
        }
        g_assert_cmpint(rc, ==, -1);
        g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
        g_assert_nonnull(strstr(err->message, cases[i].message));
        g_assert_cmpstr(err->message, ==, err2->message);
        g_assert_true(g_utf8_validate(err->message, -1, NULL));
        g_assert_cmpuint(strlen(err->message), <, 256);
        g_assert_cmpuint(typed_params_count(list), ==, 0);
    }
}

/* ---- duplicates and multi-value strings ---- */

static void test_duplicate_refused(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    g_autoptr(GError) err = NULL;
    int i = 0;

    g_assert_cmpint(typed_params_add_int(list, "a", 1, NULL), ==, 0);
    g_assert_cmpint(typed_params_add_string(list, "s", "one", NULL), ==, 0);

    /* the same name again, with the same or another type */
    g_assert_cmpint(typed_params_add_int(list, "a", 2, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
    g_assert_cmpstr(err->message, ==, "parameter 'a' is already set");
    g_clear_error(&err);
    g_assert_cmpint(typed_params_add_ullong(list, "a", 2, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "parameter 'a' is already set");
    g_clear_error(&err);
    g_assert_cmpint(typed_params_add_string(list, "s", "two", &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "parameter 's' is already set");
    g_clear_error(&err);

    /* "add another" does not mix types */
    g_assert_cmpint(typed_params_add_string_another(list, "a", "x", &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
    g_assert_cmpstr(err->message, ==,
                    "parameter 'a' is already set with type int, "
                    "cannot add another of type string");
    g_clear_error(&err);

    g_assert_cmpuint(typed_params_count(list), ==, 2);
    g_assert_cmpint(typed_params_get_int(list, "a", &i, NULL), ==, 1);
    g_assert_cmpint(i, ==, 1);
}

static void test_multi_strings(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    static const char *const disks[] = { "vda", "vdb", NULL };
    g_auto(GStrv) got = NULL;
    g_autoptr(GError) err = NULL;
    const char *first = NULL;

    g_assert_cmpint(typed_params_add_string(list, "dname", "web1", NULL), ==, 0);
    g_assert_cmpint(typed_params_add_strings(list, "migrate_disks", disks, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(typed_params_add_int(list, "other", 5, NULL), ==, 0);
    g_assert_cmpint(typed_params_add_string_another(list, "migrate_disks", "sda", &err), ==, 0);
    g_assert_no_error(err);

    g_assert_cmpint(typed_params_get_strings(list, "migrate_disks", &got, &err), ==, 3);
    g_assert_no_error(err);
    g_assert_cmpuint(g_strv_length(got), ==, 3);
    g_assert_cmpstr(got[0], ==, "vda");
    g_assert_cmpstr(got[1], ==, "vdb");
    g_assert_cmpstr(got[2], ==, "sda");
    /* get_string gives the first */
    g_assert_cmpint(typed_params_get_string(list, "migrate_disks", &first, NULL), ==, 1);
    g_assert_cmpstr(first, ==, "vda");
    g_clear_pointer(&got, g_strfreev);

    /* absent: an empty vector, not NULL */
    g_assert_cmpint(typed_params_get_strings(list, "nothing", &got, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_nonnull(got);
    g_assert_null(got[0]);
    g_clear_pointer(&got, g_strfreev);
    g_assert_cmpint(typed_params_get_strings(NULL, "nothing", &got, &err), ==, 0);
    g_assert_nonnull(got);
    g_clear_pointer(&got, g_strfreev);

    /* not strings */
    g_assert_cmpint(typed_params_get_strings(list, "other", &got, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
    g_assert_cmpstr(err->message, ==, "parameter 'other' has type int, expected string");
    g_assert_null(got);
}

static void test_add_strings_atomic(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    static const char *const bad[] = { "vda", "vdb", "bad\xff", "vdc", NULL };
    static const char *const none[] = { NULL };
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(typed_params_add_string(list, "migrate_disks", "sda", NULL), ==, 0);
    g_assert_cmpint(typed_params_add_strings(list, "migrate_disks", bad, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
    g_assert_cmpstr(err->message, ==, "parameter 'migrate_disks': string value is not valid UTF-8");
    g_clear_error(&err);
    /* none of the three that went in before the bad one stays */
    g_assert_cmpuint(typed_params_count(list), ==, 1);
    g_assert_cmpstr(typed_params_nth(list, 0)->value.s, ==, "sda");

    g_assert_cmpint(typed_params_add_strings(list, "migrate_disks", none, &err), ==, 0);
    g_assert_cmpuint(typed_params_count(list), ==, 1);
    g_assert_cmpint(typed_params_add_strings(list, "migrate_disks", NULL, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
    g_clear_error(&err);
    g_assert_cmpint(typed_params_add_strings(list, "", none, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "parameter name is empty");
}

/* ---- string values ---- */

static void test_string_values(void)
{
    g_autofree char *max = g_strnfill(TYPED_PARAM_STRING_MAX, 'x');
    g_autofree char *over = g_strnfill(TYPED_PARAM_STRING_MAX + 1, 'x');
    const struct {
        const char *value;
        const char *message; /* NULL: accepted */
    } cases[] = {
        { "", NULL },
        { "tcp://hostb:49152", NULL },
        { "line\nbreaks\tand tabs", NULL },
        { "\xe2\x9c\x93", NULL },
        { max, NULL },
        { over, "parameter 's': string value is longer than 1048576 bytes" },
        { NULL, "parameter 's': no string value given" },
        { "\xff", "parameter 's': string value is not valid UTF-8" },
        { "ok then \xc3", "parameter 's': string value is not valid UTF-8" },
        { "\xc0\x80", "parameter 's': string value is not valid UTF-8" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(TypedParams) list = typed_params_new();
        g_autoptr(GError) err = NULL;
        int rc = typed_params_add_string(list, "s", cases[i].value, &err);

        g_test_message("string case %zu", i);
        if (!cases[i].message) {
            const char *got = NULL;

            g_assert_cmpint(rc, ==, 0);
            g_assert_no_error(err);
            g_assert_cmpint(typed_params_get_string(list, "s", &got, NULL), ==, 1);
            g_assert_cmpstr(got, ==, cases[i].value);
            continue;
        }
        g_assert_cmpint(rc, ==, -1);
        g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
        g_assert_cmpstr(err->message, ==, cases[i].message);
        g_assert_cmpuint(typed_params_count(list), ==, 0);
    }
}

static void test_string_copied(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    g_autofree char *value = g_strdup("vda");
    const char *got = NULL;

    g_assert_cmpint(typed_params_add_string(list, "disk", value, NULL), ==, 0);
    value[0] = 's';
    g_clear_pointer(&value, g_free);
    g_assert_cmpint(typed_params_get_string(list, "disk", &got, NULL), ==, 1);
    g_assert_cmpstr(got, ==, "vda");
}

/* ---- remove, count, iterate, copy ---- */

static void test_remove(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    static const char *const disks[] = { "vda", "vdb", "vdc", NULL };
    static const char *const after[] = { "a", "b", "c" };

    g_assert_cmpint(typed_params_add_int(list, "a", 1, NULL), ==, 0);
    g_assert_cmpint(typed_params_add_strings(list, "migrate_disks", disks, NULL), ==, 0);
    g_assert_cmpint(typed_params_add_string(list, "b", "two", NULL), ==, 0);
    g_assert_cmpint(typed_params_add_string_another(list, "migrate_disks", "sda", NULL), ==, 0);
    g_assert_cmpint(typed_params_add_double(list, "c", 3.0, NULL), ==, 0);
    g_assert_cmpuint(typed_params_count(list), ==, 7);

    g_assert_cmpuint(typed_params_remove(list, "migrate_disks"), ==, 4);
    g_assert_cmpuint(typed_params_count(list), ==, G_N_ELEMENTS(after));
    for (size_t i = 0; i < G_N_ELEMENTS(after); i++)
        g_assert_cmpstr(typed_params_nth(list, i)->field, ==, after[i]);
    g_assert_null(typed_params_nth(list, G_N_ELEMENTS(after)));

    g_assert_cmpuint(typed_params_remove(list, "migrate_disks"), ==, 0);
    g_assert_cmpuint(typed_params_remove(list, "absent"), ==, 0);
    g_assert_cmpuint(typed_params_remove(NULL, "a"), ==, 0);

    /* a removed name can be set again */
    g_assert_cmpuint(typed_params_remove(list, "b"), ==, 1);
    g_assert_cmpint(typed_params_add_int(list, "b", 22, NULL), ==, 0);
    g_assert_cmpuint(typed_params_count(list), ==, 3);
    g_assert_cmpstr(typed_params_nth(list, 2)->field, ==, "b");
    g_assert_cmpint(typed_params_nth(list, 2)->type, ==, TYPED_PARAM_INT);

    g_assert_cmpuint(typed_params_remove(list, "a"), ==, 1);
    g_assert_cmpuint(typed_params_remove(list, "b"), ==, 1);
    g_assert_cmpuint(typed_params_remove(list, "c"), ==, 1);
    g_assert_cmpuint(typed_params_count(list), ==, 0);
    g_assert_null(typed_params_nth(list, 0));
}

static void test_many(void)
{
    /* grows past any initial allocation and keeps order */
    g_autoptr(TypedParams) list = typed_params_new();

    for (int i = 0; i < 1000; i++) {
        g_autofree char *name = g_strdup_printf("p%d", i);
        g_assert_cmpint(typed_params_add_int(list, name, i, NULL), ==, 0);
    }
    g_assert_cmpuint(typed_params_count(list), ==, 1000);
    for (size_t i = 0; i < typed_params_count(list); i++) {
        const TypedParam *param = typed_params_nth(list, i);
        g_autofree char *name = g_strdup_printf("p%zu", i);

        g_assert_cmpstr(param->field, ==, name);
        g_assert_cmpint(param->value.i, ==, (int)i);
    }
    g_assert_null(typed_params_nth(list, 1000));
    g_assert_cmpuint(typed_params_count(NULL), ==, 0);
    g_assert_null(typed_params_nth(NULL, 0));
}

static void test_copy_deep(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    g_autoptr(TypedParams) copy = NULL;
    g_autoptr(TypedParams) empty = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(value_cases); i++)
        g_assert_cmpint(add_value(list, &value_cases[i], NULL), ==, 0);
    g_assert_cmpint(typed_params_add_string_another(list, "s-empty", "again", NULL), ==, 0);

    copy = typed_params_copy(list);
    g_assert_cmpuint(typed_params_count(copy), ==, typed_params_count(list));
    for (size_t i = 0; i < typed_params_count(list); i++) {
        const TypedParam *a = typed_params_nth(list, i);
        const TypedParam *b = typed_params_nth(copy, i);

        g_assert_cmpstr(a->field, ==, b->field);
        g_assert_cmpint(a->type, ==, b->type);
        assert_value_equal(a->type, &a->value, &b->value);
        if (a->type == TYPED_PARAM_STRING)
            g_assert_true(a->value.s != b->value.s);
    }

    /* the copy outlives the original (ASan sees any shared string) */
    g_clear_pointer(&list, typed_params_free);
    for (size_t i = 0; i < G_N_ELEMENTS(value_cases); i++) {
        TypedParamValue got = { 0 };

        g_assert_cmpint(get_value(copy, value_cases[i].name, value_cases[i].type, &got, NULL), ==,
                        1);
        assert_value_equal(value_cases[i].type, &got, &value_cases[i].value);
    }
    /* and is a list of its own: it can grow and shrink */
    g_assert_cmpint(typed_params_add_int(copy, "new", 1, NULL), ==, 0);
    g_assert_cmpuint(typed_params_remove(copy, "s-empty"), ==, 2);

    empty = typed_params_copy(NULL);
    g_assert_nonnull(empty);
    g_assert_cmpuint(typed_params_count(empty), ==, 0);
    g_assert_cmpint(typed_params_add_int(empty, "x", 1, NULL), ==, 0);
}

/* ---- parsing text ---- */

typedef struct {
    int type;
    const char *input;
    const char *expected; /* formatted back; NULL: error */
    const char *message; /* substring of the error */
} ParseCase;

static const ParseCase parse_cases[] = {
    { TYPED_PARAM_INT, "42", "42", NULL },
    { TYPED_PARAM_INT, "-42", "-42", NULL },
    { TYPED_PARAM_INT, "+7", "7", NULL },
    { TYPED_PARAM_INT, "007", "7", NULL },
    { TYPED_PARAM_INT, "2147483647", "2147483647", NULL },
    { TYPED_PARAM_INT, "-2147483648", "-2147483648", NULL },
    { TYPED_PARAM_INT, "2147483648", NULL,
      "'2147483648' is out of range for int (-2147483648 to 2147483647)" },
    { TYPED_PARAM_INT, "-2147483649", NULL, "is out of range for int" },
    { TYPED_PARAM_INT, "12x", NULL, "'12x' is not a valid int (a decimal integer)" },
    { TYPED_PARAM_INT, "", NULL, "empty value, expected int" },
    { TYPED_PARAM_INT, " 1", NULL, "is not a valid int" },
    { TYPED_PARAM_INT, "1 ", NULL, "is not a valid int" },
    { TYPED_PARAM_INT, "0x10", NULL, "is not a valid int" },
    { TYPED_PARAM_INT, "1.0", NULL, "is not a valid int" },
    { TYPED_PARAM_INT, "-", NULL, "is not a valid int" },
    { TYPED_PARAM_UINT, "4294967295", "4294967295", NULL },
    { TYPED_PARAM_UINT, "0", "0", NULL },
    { TYPED_PARAM_UINT, "4294967296", NULL,
      "'4294967296' is out of range for uint (0 to 4294967295)" },
    { TYPED_PARAM_UINT, "-1", NULL, "'-1' is negative, expected uint (0 to 4294967295)" },
    { TYPED_PARAM_UINT, "-0", NULL, "is negative" },
    { TYPED_PARAM_UINT, "+1", NULL, "'+1' is not a valid uint (an unsigned decimal integer)" },
    { TYPED_PARAM_UINT, "ten", NULL, "is not a valid uint" },
    { TYPED_PARAM_LLONG, "9223372036854775807", "9223372036854775807", NULL },
    { TYPED_PARAM_LLONG, "-9223372036854775808", "-9223372036854775808", NULL },
    { TYPED_PARAM_LLONG, "9223372036854775808", NULL, "is out of range for llong" },
    { TYPED_PARAM_LLONG, "-9223372036854775809", NULL, "is out of range for llong" },
    { TYPED_PARAM_ULLONG, "18446744073709551615", "18446744073709551615", NULL },
    { TYPED_PARAM_ULLONG, "18446744073709551616", NULL,
      "'18446744073709551616' is out of range for ullong (0 to 18446744073709551615)" },
    { TYPED_PARAM_ULLONG, "99999999999999999999999999999", NULL, "is out of range for ullong" },
    { TYPED_PARAM_ULLONG, "-1", NULL, "is negative, expected ullong" },
    { TYPED_PARAM_ULLONG, "12x", NULL, "'12x' is not a valid ullong" },
    { TYPED_PARAM_ULLONG, "", NULL, "empty value, expected ullong" },
    { TYPED_PARAM_DOUBLE, "1.5", "1.5", NULL },
    { TYPED_PARAM_DOUBLE, "-2e3", "-2000", NULL },
    { TYPED_PARAM_DOUBLE, "0.1", "0.10000000000000001", NULL },
    { TYPED_PARAM_DOUBLE, "1e-400", "0", NULL },
    { TYPED_PARAM_DOUBLE, "1e400", NULL, "'1e400' is out of range for double" },
    { TYPED_PARAM_DOUBLE, "-1e400", NULL, "is out of range for double" },
    { TYPED_PARAM_DOUBLE, "inf", NULL, "'inf' is not a finite number" },
    { TYPED_PARAM_DOUBLE, "nan", NULL, "'nan' is not a finite number" },
    { TYPED_PARAM_DOUBLE, "0x1p3", NULL, "'0x1p3' is not a valid double" },
    { TYPED_PARAM_DOUBLE, "1,5", NULL, "'1,5' is not a valid double" },
    { TYPED_PARAM_DOUBLE, " 1", NULL, "is not a valid double" },
    { TYPED_PARAM_DOUBLE, "1.5x", NULL, "is not a valid double" },
    { TYPED_PARAM_DOUBLE, "", NULL, "empty value, expected double" },
    { TYPED_PARAM_BOOLEAN, "yes", "yes", NULL },
    { TYPED_PARAM_BOOLEAN, "YES", "yes", NULL },
    { TYPED_PARAM_BOOLEAN, "true", "yes", NULL },
    { TYPED_PARAM_BOOLEAN, "True", "yes", NULL },
    { TYPED_PARAM_BOOLEAN, "1", "yes", NULL },
    { TYPED_PARAM_BOOLEAN, "no", "no", NULL },
    { TYPED_PARAM_BOOLEAN, "false", "no", NULL },
    { TYPED_PARAM_BOOLEAN, "0", "no", NULL },
    { TYPED_PARAM_BOOLEAN, "2", NULL, "'2' is not a valid boolean (yes/no/true/false/1/0)" },
    { TYPED_PARAM_BOOLEAN, "y", NULL, "is not a valid boolean" },
    { TYPED_PARAM_BOOLEAN, "yes ", NULL, "is not a valid boolean" },
    { TYPED_PARAM_BOOLEAN, "", NULL, "empty value, expected boolean" },
    { TYPED_PARAM_STRING, "", "", NULL },
    { TYPED_PARAM_STRING, "qemu+tls://hostb/system", "qemu+tls://hostb/system", NULL },
    { TYPED_PARAM_STRING, " spaces kept ", " spaces kept ", NULL },
    { TYPED_PARAM_STRING, "\xfe", NULL, "string value is not valid UTF-8" },
    { 0, "1", NULL, "unknown type 0" },
    { TYPED_PARAM_LAST, "1", NULL, "unknown type 8" },
};

static void test_parse_value(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
        const ParseCase *c = &parse_cases[i];
        g_auto(TypedParam) param = { .field = "p", .type = c->type };
        g_autoptr(GError) err = NULL;
        g_autoptr(GError) err2 = NULL;
        TypedParamValue untouched;

        g_test_message("parse %s '%s'", typed_param_type_to_string(c->type), c->input);
        memset(&param.value, 0x5a, sizeof(param.value));
        untouched = param.value;
        if (c->expected) {
            g_autofree char *text = NULL;
            TypedParamValue again = { 0 };

            g_assert_cmpint(typed_param_parse_value("p", c->type, c->input, &param.value, &err), ==,
                            0);
            g_assert_no_error(err);
            text = typed_param_format_value(&param);
            g_assert_cmpstr(text, ==, c->expected);
            /* what format prints, parse reads back to the same value */
            g_assert_cmpint(typed_param_parse_value(NULL, c->type, text, &again, NULL), ==, 0);
            assert_value_equal(c->type, &again, &param.value);
            typed_param_value_clear(c->type, &again);
            continue;
        }
        g_assert_cmpint(typed_param_parse_value("bandwidth", c->type, c->input, &param.value, &err),
                        ==, -1);
        g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
        g_test_message("-> %s", err->message);
        g_assert_nonnull(strstr(err->message, c->message));
        g_assert_true(g_str_has_prefix(err->message, "parameter 'bandwidth': "));
        g_assert_cmpmem(&param.value, sizeof(param.value), &untouched, sizeof(untouched));
        /* without a name there is no prefix, and the same reason */
        g_assert_cmpint(typed_param_parse_value(NULL, c->type, c->input, &param.value, &err2), ==,
                        -1);
        g_assert_nonnull(strstr(err2->message, c->message));
        g_assert_false(g_str_has_prefix(err2->message, "parameter"));
        param.type = 0; /* nothing to free */
    }
}

static void test_parse_value_quoting(void)
{
    g_autofree char *huge = g_strnfill(1024 * 1024, '9');
    TypedParamValue v;
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(typed_param_parse_value("x", TYPED_PARAM_INT, huge, &v, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "is out of range for int"));
    g_assert_nonnull(strstr(err->message, "999..."));
    g_assert_cmpuint(strlen(err->message), <, 256);
    g_clear_error(&err);

    g_assert_cmpint(typed_param_parse_value("x", TYPED_PARAM_INT, "1\x1b[2J", &v, &err), ==, -1);
    g_assert_null(strchr(err->message, '\x1b'));
    g_assert_nonnull(strstr(err->message, "'1\\033[2J' is not a valid int"));
    g_clear_error(&err);

    g_assert_cmpint(typed_param_parse_value("x", TYPED_PARAM_INT, NULL, &v, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "parameter 'x': no value given");
}

static void test_format_value(void)
{
    static const struct {
        TypedParam param;
        const char *expected;
    } cases[] = {
        { { "a", TYPED_PARAM_INT, { .i = -5 } }, "-5" },
        { { "a", TYPED_PARAM_UINT, { .ui = 4000000000U } }, "4000000000" },
        { { "a", TYPED_PARAM_LLONG, { .l = -5000000000LL } }, "-5000000000" },
        { { "a", TYPED_PARAM_ULLONG, { .ul = 10000000000000000000ULL } }, "10000000000000000000" },
        { { "a", TYPED_PARAM_DOUBLE, { .d = 0.25 } }, "0.25" },
        { { "a", TYPED_PARAM_DOUBLE, { .d = 1e100 } }, "1e+100" },
        { { "a", TYPED_PARAM_BOOLEAN, { .b = 1 } }, "yes" },
        { { "a", TYPED_PARAM_BOOLEAN, { .b = 0 } }, "no" },
        { { "a", TYPED_PARAM_STRING, { .s = (char *)"hi" } }, "hi" },
        { { "a", 99, { .i = 0 } }, "<unknown type 99>" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = typed_param_format_value(&cases[i].param);

        g_assert_cmpstr(text, ==, cases[i].expected);
    }
}

static void test_add_from_string(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    g_autoptr(GError) err = NULL;
    unsigned long long bw = 0;
    g_auto(GStrv) disks = NULL;

    g_assert_cmpint(
        typed_params_add_from_string(list, "bandwidth", TYPED_PARAM_ULLONG, "100", 0, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(typed_params_get_ullong(list, "bandwidth", &bw, NULL), ==, 1);
    g_assert_cmpuint(bw, ==, 100);

    /* parse failure: nothing added */
    g_assert_cmpint(typed_params_add_from_string(list, "x", TYPED_PARAM_UINT, "-3", 0, &err), ==,
                    -1);
    g_assert_cmpstr(err->message, ==,
                    "parameter 'x': '-3' is negative, expected uint "
                    "(0 to 4294967295)");
    g_clear_error(&err);
    g_assert_null(typed_params_find(list, "x"));

    /* duplicates need ADD_ANOTHER */
    g_assert_cmpint(
        typed_params_add_from_string(list, "bandwidth", TYPED_PARAM_ULLONG, "5", 0, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "parameter 'bandwidth' is already set");
    g_clear_error(&err);
    for (int i = 0; i < 3; i++) {
        g_autofree char *disk = g_strdup_printf("vd%c", 'a' + i);
        g_assert_cmpint(typed_params_add_from_string(list, "migrate_disks", TYPED_PARAM_STRING,
                                                     disk, TYPED_PARAMS_ADD_ANOTHER, &err),
                        ==, 0);
        g_assert_no_error(err);
    }
    g_assert_cmpint(typed_params_get_strings(list, "migrate_disks", &disks, NULL), ==, 3);
    g_assert_cmpstr(disks[2], ==, "vdc");

    /* the name is checked before the value */
    g_assert_cmpint(typed_params_add_from_string(list, "", TYPED_PARAM_INT, "zz", 0, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "parameter name is empty");
    g_assert_cmpuint(typed_params_count(list), ==, 4);
}

static void test_add_param(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    g_autoptr(GError) err = NULL;
    TypedParam p = { .field = "compression.threads", .type = TYPED_PARAM_INT, .value = { .i = 4 } };
    TypedParam s = { .field = "dname",
                     .type = TYPED_PARAM_STRING,
                     .value = { .s = (char *)"web1" } };
    TypedParam unterminated = { .type = TYPED_PARAM_INT };
    TypedParam badtype = { .field = "x", .type = 9 };
    TypedParam nullstr = { .field = "y", .type = TYPED_PARAM_STRING, .value = { .s = NULL } };
    int v = 0;

    g_assert_cmpint(typed_params_add_param(list, &p, 0, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(typed_params_add_param(list, &p, 0, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "parameter 'compression.threads' is already set");
    g_clear_error(&err);
    /* the wire decoder keeps duplicates and leaves them to validate */
    g_assert_cmpint(typed_params_add_param(list, &p, TYPED_PARAMS_ADD_ANOTHER, &err), ==, 0);
    g_assert_cmpuint(typed_params_count(list), ==, 2);
    g_assert_cmpint(typed_params_get_int(list, "compression.threads", &v, NULL), ==, 1);
    g_assert_cmpint(v, ==, 4);

    g_assert_cmpint(typed_params_add_param(list, &s, 0, &err), ==, 0);
    g_assert_true(typed_params_nth(list, 2)->value.s != s.value.s);

    memset(unterminated.field, 'f', sizeof(unterminated.field));
    g_assert_cmpint(typed_params_add_param(list, &unterminated, 0, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
    g_assert_nonnull(strstr(err->message, "is too long: at most 79 bytes are allowed"));
    g_clear_error(&err);

    g_assert_cmpint(typed_params_add_param(list, &badtype, 0, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "parameter 'x' has unknown type 9");
    g_clear_error(&err);

    g_assert_cmpint(typed_params_add_param(list, &nullstr, 0, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "parameter 'y': no string value given");
    g_assert_cmpuint(typed_params_count(list), ==, 3);
}

/* ---- validate ---- */

static const TypedParamSpec migrate_spec[] = {
    { "bandwidth", TYPED_PARAM_ULLONG, 0 },
    { "destination_name", TYPED_PARAM_STRING, 0 },
    { "migrate_disks", TYPED_PARAM_STRING, TYPED_PARAM_MULTIPLE },
    { "parallel.connections", TYPED_PARAM_INT, 0 },
    { "auto_converge.increment", TYPED_PARAM_INT, TYPED_PARAM_MULTIPLE },
};

typedef struct {
    const char *name;
    int type;
    const char *value;
} Entry;

typedef struct {
    const char *what;
    Entry entries[6]; /* ends at the first NULL name */
    FerryErrorCode code; /* FERRY_ERR_OK: valid */
    const char *message;
} ValidateCase;

static const ValidateCase validate_cases[] = {
    { "empty", { { NULL } }, FERRY_ERR_OK, NULL },
    { "all known",
      { { "bandwidth", TYPED_PARAM_ULLONG, "100" },
        { "destination_name", TYPED_PARAM_STRING, "web2" },
        { "parallel.connections", TYPED_PARAM_INT, "4" } },
      FERRY_ERR_OK,
      NULL },
    { "multiple allowed",
      { { "migrate_disks", TYPED_PARAM_STRING, "vda" },
        { "bandwidth", TYPED_PARAM_ULLONG, "100" },
        { "migrate_disks", TYPED_PARAM_STRING, "vdb" },
        { "migrate_disks", TYPED_PARAM_STRING, "vdc" },
        { "auto_converge.increment", TYPED_PARAM_INT, "5" },
        { "auto_converge.increment", TYPED_PARAM_INT, "10" } },
      FERRY_ERR_OK,
      NULL },
    { "unknown",
      { { "bandwidth", TYPED_PARAM_ULLONG, "100" }, { "x", TYPED_PARAM_INT, "1" } },
      FERRY_ERR_NO_SUPPORT,
      "parameter 'x' is not supported" },
    { "unknown by case",
      { { "Bandwidth", TYPED_PARAM_ULLONG, "100" } },
      FERRY_ERR_NO_SUPPORT,
      "parameter 'Bandwidth' is not supported" },
    { "wrong type",
      { { "bandwidth", TYPED_PARAM_STRING, "100" } },
      FERRY_ERR_INVALID_ARG,
      "parameter 'bandwidth' has type string, expected ullong" },
    { "wrong type of a multiple",
      { { "migrate_disks", TYPED_PARAM_STRING, "vda" },
        { "auto_converge.increment", TYPED_PARAM_UINT, "10" } },
      FERRY_ERR_INVALID_ARG,
      "parameter 'auto_converge.increment' has type uint, expected int" },
    { "duplicate",
      { { "destination_name", TYPED_PARAM_STRING, "a" },
        { "bandwidth", TYPED_PARAM_ULLONG, "1" },
        { "destination_name", TYPED_PARAM_STRING, "b" } },
      FERRY_ERR_INVALID_ARG,
      "parameter 'destination_name' is given more than once" },
    { "first problem reported",
      { { "bandwidth", TYPED_PARAM_ULLONG, "1" },
        { "nope", TYPED_PARAM_INT, "1" },
        { "parallel.connections", TYPED_PARAM_UINT, "1" } },
      FERRY_ERR_NO_SUPPORT,
      "parameter 'nope' is not supported" },
};

static void test_validate(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(validate_cases); i++) {
        const ValidateCase *c = &validate_cases[i];
        g_autoptr(TypedParams) list = typed_params_new();
        g_autoptr(GError) err = NULL;

        g_test_message("validate: %s", c->what);
        for (size_t j = 0; j < G_N_ELEMENTS(c->entries) && c->entries[j].name; j++) {
            const Entry *e = &c->entries[j];
            g_assert_cmpint(typed_params_add_from_string(list, e->name, e->type, e->value,
                                                         TYPED_PARAMS_ADD_ANOTHER, NULL),
                            ==, 0);
        }
        if (c->code == FERRY_ERR_OK) {
            g_assert_cmpint(
                typed_params_validate(list, migrate_spec, G_N_ELEMENTS(migrate_spec), &err), ==, 0);
            g_assert_no_error(err);
            continue;
        }
        g_assert_cmpint(typed_params_validate(list, migrate_spec, G_N_ELEMENTS(migrate_spec), &err),
                        ==, -1);
        g_assert_error(err, UTIL_ERROR, (int)c->code);
        g_assert_cmpstr(err->message, ==, c->message);
    }
}

static void test_validate_empty_spec(void)
{
    g_autoptr(TypedParams) list = typed_params_new();
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(typed_params_validate(NULL, NULL, 0, &err), ==, 0);
    g_assert_cmpint(typed_params_validate(list, NULL, 0, &err), ==, 0);
    g_assert_cmpint(typed_params_add_int(list, "a", 1, NULL), ==, 0);
    g_assert_cmpint(typed_params_validate(list, NULL, 0, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_NO_SUPPORT);
}

static void test_auto_cleanup(void)
{
    /* g_auto(TypedParam) frees a string value (ASan reports a leak if not) */
    g_auto(TypedParam) param = { .field = "s", .type = TYPED_PARAM_STRING };

    g_assert_cmpint(typed_param_parse_value("s", TYPED_PARAM_STRING, "owned", &param.value, NULL),
                    ==, 0);
    g_assert_cmpstr(param.value.s, ==, "owned");

    TypedParam cleared = { .field = "t",
                           .type = TYPED_PARAM_STRING,
                           .value = { .s = g_strdup("x") } };
    typed_param_clear(&cleared);
    g_assert_cmpint(cleared.type, ==, 0);
    g_assert_null(cleared.value.s);
    g_assert_cmpint(cleared.field[0], ==, '\0');

    typed_params_free(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/typedparams/types/names", test_type_names);
    g_test_add_func("/typedparams/types/wire-layout", test_wire_layout);
    g_test_add_func("/typedparams/get/round-trip", test_add_get_round_trip);
    g_test_add_func("/typedparams/get/wrong-type", test_get_wrong_type);
    g_test_add_func("/typedparams/get/absent", test_get_absent);
    g_test_add_func("/typedparams/get/boolean-normalised", test_boolean_normalised);
    g_test_add_func("/typedparams/add/names", test_names);
    g_test_add_func("/typedparams/add/duplicate-refused", test_duplicate_refused);
    g_test_add_func("/typedparams/add/multi-strings", test_multi_strings);
    g_test_add_func("/typedparams/add/strings-atomic", test_add_strings_atomic);
    g_test_add_func("/typedparams/add/string-values", test_string_values);
    g_test_add_func("/typedparams/add/string-copied", test_string_copied);
    g_test_add_func("/typedparams/add/from-string", test_add_from_string);
    g_test_add_func("/typedparams/add/param", test_add_param);
    g_test_add_func("/typedparams/list/remove", test_remove);
    g_test_add_func("/typedparams/list/many", test_many);
    g_test_add_func("/typedparams/list/copy-deep", test_copy_deep);
    g_test_add_func("/typedparams/parse/value", test_parse_value);
    g_test_add_func("/typedparams/parse/quoting", test_parse_value_quoting);
    g_test_add_func("/typedparams/format/value", test_format_value);
    g_test_add_func("/typedparams/validate/spec", test_validate);
    g_test_add_func("/typedparams/validate/empty-spec", test_validate_empty_spec);
    g_test_add_func("/typedparams/cleanup", test_auto_cleanup);

    return g_test_run();
}
