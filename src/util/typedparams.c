/*
 * typedparams.c: lists of named, typed values (libvirt's virTypedParameter).
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "util.typedparams"

#include "error.h"
#include "log.h"
#include "typedparams.h"

/* How much of an untrusted name or value an error message quotes. */
#define TP_QUOTE_MAX 96

struct _TypedParams {
    TypedParam *params;
    size_t n;
    size_t alloc;
};

static const char *const typed_param_type_names[] = {
    [0] = NULL, /* libvirt's types start at 1 */
    [TYPED_PARAM_INT] = "int",
    [TYPED_PARAM_UINT] = "uint",
    [TYPED_PARAM_LLONG] = "llong",
    [TYPED_PARAM_ULLONG] = "ullong",
    [TYPED_PARAM_DOUBLE] = "double",
    [TYPED_PARAM_BOOLEAN] = "boolean",
    [TYPED_PARAM_STRING] = "string",
};
G_STATIC_ASSERT(G_N_ELEMENTS(typed_param_type_names) == TYPED_PARAM_LAST);

/* The union must be able to hold every wire value. */
G_STATIC_ASSERT(sizeof(long long) == 8);

gboolean typed_param_type_is_valid(int type)
{
    return type >= TYPED_PARAM_INT && type < TYPED_PARAM_LAST;
}

const char *typed_param_type_to_string(int type)
{
    if (!typed_param_type_is_valid(type))
        return NULL;
    return typed_param_type_names[type];
}

int typed_param_type_from_string(const char *name)
{
    if (!name)
        return -1;
    for (int t = TYPED_PARAM_INT; t < TYPED_PARAM_LAST; t++) {
        if (strcmp(typed_param_type_names[t], name) == 0)
            return t;
    }
    return -1;
}

/* For messages: never NULL. */
static const char *tp_type_name(int type)
{
    const char *name = typed_param_type_to_string(type);

    return name ? name : "unknown";
}

/* Untrusted text as an error message shows it: escaped and cut short. */
static char *tp_quote(const char *str)
{
    size_t len = strlen(str);
    g_autofree char *head = g_strndup(str, MIN(len, TP_QUOTE_MAX));
    g_autofree char *escaped = g_strescape(head, NULL);

    if (len > TP_QUOTE_MAX)
        return g_strconcat(escaped, "...", NULL);
    return g_steal_pointer(&escaped);
}

int typed_param_check_name(const char *name, GError **error)
{
    if (!name)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "no parameter name given");
    if (name[0] == '\0')
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "parameter name is empty");

    size_t len = strnlen(name, TYPED_PARAM_FIELD_LENGTH);
    if (len >= TYPED_PARAM_FIELD_LENGTH) {
        g_autofree char *quoted = tp_quote(name);
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "parameter name '%s' is too long: at most %d bytes are allowed", quoted,
                          TYPED_PARAM_FIELD_LENGTH - 1);
    }
    if (!g_utf8_validate(name, (gssize)len, NULL)) {
        g_autofree char *quoted = tp_quote(name);
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "parameter name '%s' is not valid UTF-8",
                          quoted);
    }
    for (size_t i = 0; i < len; i++) {
        if (g_ascii_iscntrl(name[i])) {
            g_autofree char *quoted = tp_quote(name);
            return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                              "parameter name '%s' contains a control character", quoted);
        }
    }
    return 0;
}

/* "parameter 'x': " when there is a name to quote. */
static char *tp_prefix(const char *name)
{
    if (!name)
        return g_strdup("");
    g_autofree char *quoted = tp_quote(name);
    return g_strdup_printf("parameter '%s': ", quoted);
}

/* name, when not NULL, has been checked already. */
static int tp_check_string(const char *name, const char *value, GError **error)
{
    size_t len = value ? strnlen(value, (size_t)TYPED_PARAM_STRING_MAX + 1) : 0;

    if (value && len <= TYPED_PARAM_STRING_MAX && g_utf8_validate(value, (gssize)len, NULL))
        return 0;

    g_autofree char *prefix = tp_prefix(name);
    if (!value)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%sno string value given", prefix);
    if (len > TYPED_PARAM_STRING_MAX)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%sstring value is longer than %d bytes",
                          prefix, TYPED_PARAM_STRING_MAX);
    return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%sstring value is not valid UTF-8", prefix);
}

void typed_param_value_clear(int type, TypedParamValue *value)
{
    if (type == TYPED_PARAM_STRING)
        g_free(value->s);
    memset(value, 0, sizeof(*value));
}

void typed_param_clear(TypedParam *param)
{
    typed_param_value_clear(param->type, &param->value);
    memset(param, 0, sizeof(*param));
}

/* ---- parsing text ---- */

static int tp_parse_signed(const char *prefix, int type, const char *str, gint64 min, gint64 max,
                           gint64 *out, GError **error)
{
    g_autoptr(GError) perr = NULL;
    g_autofree char *quoted = tp_quote(str);

    if (g_ascii_string_to_signed(str, 10, min, max, out, &perr))
        return 0;
    if (g_error_matches(perr, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "%s'%s' is out of range for %s (%" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                          ")",
                          prefix, quoted, tp_type_name(type), min, max);
    return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s'%s' is not a valid %s (a decimal integer)",
                      prefix, quoted, tp_type_name(type));
}

static int tp_parse_unsigned(const char *prefix, int type, const char *str, guint64 max,
                             guint64 *out, GError **error)
{
    g_autoptr(GError) perr = NULL;
    g_autofree char *quoted = tp_quote(str);

    /* GLib refuses any sign here; say why for the common case. */
    if (str[0] == '-' && g_ascii_isdigit(str[1]))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "%s'%s' is negative, expected %s (0 to %" G_GUINT64_FORMAT ")", prefix,
                          quoted, tp_type_name(type), max);
    if (g_ascii_string_to_unsigned(str, 10, 0, max, out, &perr))
        return 0;
    if (g_error_matches(perr, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "%s'%s' is out of range for %s (0 to %" G_GUINT64_FORMAT ")", prefix,
                          quoted, tp_type_name(type), max);
    return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                      "%s'%s' is not a valid %s (an unsigned decimal integer)", prefix, quoted,
                      tp_type_name(type));
}

static int tp_parse_double(const char *prefix, const char *str, double *out, GError **error)
{
    g_autofree char *quoted = tp_quote(str);
    char *end = NULL;
    double d;

    /* strtod skips leading blanks and reads hex floats; neither is wanted. */
    if (g_ascii_isspace(str[0]) || strchr(str, 'x') || strchr(str, 'X'))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s'%s' is not a valid double", prefix,
                          quoted);
    errno = 0;
    d = g_ascii_strtod(str, &end);
    if (end == str || *end != '\0')
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s'%s' is not a valid double", prefix,
                          quoted);
    /* ERANGE with a tiny result is an underflow to (nearly) zero: accepted. */
    if (errno == ERANGE && fabs(d) > 1.0)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s'%s' is out of range for double", prefix,
                          quoted);
    if (!isfinite(d))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s'%s' is not a finite number", prefix,
                          quoted);
    *out = d;
    return 0;
}

static int tp_parse_boolean(const char *prefix, const char *str, int *out, GError **error)
{
    static const char *const yes[] = { "yes", "true", "1" };
    static const char *const no[] = { "no", "false", "0" };

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(str, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (g_ascii_strcasecmp(str, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    g_autofree char *quoted = tp_quote(str);
    return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                      "%s'%s' is not a valid boolean (yes/no/true/false/1/0)", prefix, quoted);
}

int typed_param_parse_value(const char *name, int type, const char *str, TypedParamValue *value,
                            GError **error)
{
    g_autofree char *prefix = tp_prefix(name);
    TypedParamValue v = { 0 };
    gint64 s64;
    guint64 u64;

    if (!typed_param_type_is_valid(type))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%sunknown type %d", prefix, type);
    if (!str)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%sno value given", prefix);
    if (str[0] == '\0' && type != TYPED_PARAM_STRING)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "%sempty value, expected %s", prefix,
                          tp_type_name(type));

    switch ((TypedParamType)type) {
    case TYPED_PARAM_INT:
        if (tp_parse_signed(prefix, type, str, INT_MIN, INT_MAX, &s64, error) < 0)
            return -1;
        v.i = (int)s64;
        break;
    case TYPED_PARAM_UINT:
        if (tp_parse_unsigned(prefix, type, str, UINT_MAX, &u64, error) < 0)
            return -1;
        v.ui = (unsigned int)u64;
        break;
    case TYPED_PARAM_LLONG:
        if (tp_parse_signed(prefix, type, str, LLONG_MIN, LLONG_MAX, &s64, error) < 0)
            return -1;
        v.l = s64;
        break;
    case TYPED_PARAM_ULLONG:
        if (tp_parse_unsigned(prefix, type, str, ULLONG_MAX, &u64, error) < 0)
            return -1;
        v.ul = u64;
        break;
    case TYPED_PARAM_DOUBLE:
        if (tp_parse_double(prefix, str, &v.d, error) < 0)
            return -1;
        break;
    case TYPED_PARAM_BOOLEAN:
        if (tp_parse_boolean(prefix, str, &v.b, error) < 0)
            return -1;
        break;
    case TYPED_PARAM_STRING:
        if (tp_check_string(name, str, error) < 0)
            return -1;
        v.s = g_strdup(str);
        break;
    case TYPED_PARAM_LAST:
    default:
        g_assert_not_reached();
    }
    *value = v;
    return 0;
}

char *typed_param_format_value(const TypedParam *param)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    switch ((TypedParamType)param->type) {
    case TYPED_PARAM_INT:
        return g_strdup_printf("%d", param->value.i);
    case TYPED_PARAM_UINT:
        return g_strdup_printf("%u", param->value.ui);
    case TYPED_PARAM_LLONG:
        return g_strdup_printf("%lld", param->value.l);
    case TYPED_PARAM_ULLONG:
        return g_strdup_printf("%llu", param->value.ul);
    case TYPED_PARAM_DOUBLE:
        return g_strdup(g_ascii_dtostr(buf, sizeof(buf), param->value.d));
    case TYPED_PARAM_BOOLEAN:
        return g_strdup(param->value.b ? "yes" : "no");
    case TYPED_PARAM_STRING:
        return g_strdup(param->value.s);
    case TYPED_PARAM_LAST:
    default:
        break;
    }
    return g_strdup_printf("<unknown type %d>", param->type);
}

/* ---- lists ---- */

TypedParams *typed_params_new(void)
{
    return g_new0(TypedParams, 1);
}

void typed_params_free(TypedParams *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        typed_param_clear(&list->params[i]);
    g_free(list->params);
    g_free(list);
}

/* Copies src into dst (uninitialised), duplicating a string value. */
static void tp_copy_param(TypedParam *dst, const TypedParam *src)
{
    *dst = *src;
    if (src->type == TYPED_PARAM_STRING)
        dst->value.s = g_strdup(src->value.s);
}

TypedParams *typed_params_copy(const TypedParams *list)
{
    g_autoptr(TypedParams) copy = typed_params_new();

    if (!list || list->n == 0)
        return g_steal_pointer(&copy);
    copy->params = g_new0(TypedParam, list->n);
    copy->alloc = list->n;
    for (size_t i = 0; i < list->n; i++) {
        tp_copy_param(&copy->params[i], &list->params[i]);
        copy->n++;
    }
    return g_steal_pointer(&copy);
}

size_t typed_params_count(const TypedParams *list)
{
    return list ? list->n : 0;
}

const TypedParam *typed_params_nth(const TypedParams *list, size_t i)
{
    if (!list || i >= list->n)
        return NULL;
    return &list->params[i];
}

const TypedParam *typed_params_find(const TypedParams *list, const char *name)
{
    if (!list || !name)
        return NULL;
    for (size_t i = 0; i < list->n; i++) {
        if (strcmp(list->params[i].field, name) == 0)
            return &list->params[i];
    }
    return NULL;
}

/* Room for one more entry. */
static TypedParam *tp_append(TypedParams *list)
{
    if (list->n == list->alloc) {
        list->alloc = list->alloc ? list->alloc * 2 : 8;
        list->params = g_renew(TypedParam, list->params, list->alloc);
    }
    TypedParam *param = &list->params[list->n++];
    memset(param, 0, sizeof(*param));
    return param;
}

/* The one place an entry is added.  value.s is borrowed and copied. */
static int tp_add(TypedParams *list, const char *name, int type, TypedParamValue value,
                  unsigned int flags, GError **error)
{
    if (typed_param_check_name(name, error) < 0)
        return -1;
    if (!typed_param_type_is_valid(type))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "parameter '%s' has unknown type %d", name,
                          type);
    if (type == TYPED_PARAM_STRING && tp_check_string(name, value.s, error) < 0)
        return -1;

    const TypedParam *old = typed_params_find(list, name);
    if (old) {
        if (!(flags & TYPED_PARAMS_ADD_ANOTHER))
            return ferry_fail(error, FERRY_ERR_INVALID_ARG, "parameter '%s' is already set", name);
        if (old->type != type)
            return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                              "parameter '%s' is already set with type %s, "
                              "cannot add another of type %s",
                              name, tp_type_name(old->type), tp_type_name(type));
    }

    TypedParam *param = tp_append(list);
    g_strlcpy(param->field, name, sizeof(param->field));
    param->type = type;
    param->value = value;
    if (type == TYPED_PARAM_STRING)
        param->value.s = g_strdup(value.s);
    else if (type == TYPED_PARAM_BOOLEAN)
        param->value.b = value.b != 0;
    return 0;
}

int typed_params_add_int(TypedParams *list, const char *name, int value, GError **error)
{
    return tp_add(list, name, TYPED_PARAM_INT, (TypedParamValue){ .i = value }, 0, error);
}

int typed_params_add_uint(TypedParams *list, const char *name, unsigned int value, GError **error)
{
    return tp_add(list, name, TYPED_PARAM_UINT, (TypedParamValue){ .ui = value }, 0, error);
}

int typed_params_add_llong(TypedParams *list, const char *name, long long value, GError **error)
{
    return tp_add(list, name, TYPED_PARAM_LLONG, (TypedParamValue){ .l = value }, 0, error);
}

int typed_params_add_ullong(TypedParams *list, const char *name, unsigned long long value,
                            GError **error)
{
    return tp_add(list, name, TYPED_PARAM_ULLONG, (TypedParamValue){ .ul = value }, 0, error);
}

int typed_params_add_double(TypedParams *list, const char *name, double value, GError **error)
{
    return tp_add(list, name, TYPED_PARAM_DOUBLE, (TypedParamValue){ .d = value }, 0, error);
}

int typed_params_add_boolean(TypedParams *list, const char *name, gboolean value, GError **error)
{
    return tp_add(list, name, TYPED_PARAM_BOOLEAN, (TypedParamValue){ .b = value }, 0, error);
}

int typed_params_add_string(TypedParams *list, const char *name, const char *value, GError **error)
{
    return tp_add(list, name, TYPED_PARAM_STRING, (TypedParamValue){ .s = (char *)value }, 0,
                  error);
}

int typed_params_add_string_another(TypedParams *list, const char *name, const char *value,
                                    GError **error)
{
    return tp_add(list, name, TYPED_PARAM_STRING, (TypedParamValue){ .s = (char *)value },
                  TYPED_PARAMS_ADD_ANOTHER, error);
}

int typed_params_add_strings(TypedParams *list, const char *name, const char *const *values,
                             GError **error)
{
    size_t before = list->n;

    if (typed_param_check_name(name, error) < 0)
        return -1;
    if (!values)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "parameter '%s': no string values given",
                          name);
    for (size_t i = 0; values[i]; i++) {
        if (typed_params_add_string_another(list, name, values[i], error) < 0) {
            /* Take back what this call added. */
            while (list->n > before)
                typed_param_clear(&list->params[--list->n]);
            return -1;
        }
    }
    return 0;
}

int typed_params_add_param(TypedParams *list, const TypedParam *param, unsigned int flags,
                           GError **error)
{
    char name[TYPED_PARAM_FIELD_LENGTH];

    /* The field may come off the wire without its NUL. */
    if (memchr(param->field, '\0', sizeof(param->field)) == NULL) {
        memcpy(name, param->field, sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        g_autofree char *quoted = tp_quote(name);
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "parameter name '%s...' is too long: at most %d bytes are allowed",
                          quoted, TYPED_PARAM_FIELD_LENGTH - 1);
    }
    return tp_add(list, param->field, param->type, param->value, flags, error);
}

int typed_params_add_from_string(TypedParams *list, const char *name, int type, const char *str,
                                 unsigned int flags, GError **error)
{
    g_auto(TypedParam) parsed = { 0 };

    if (typed_param_check_name(name, error) < 0)
        return -1;
    if (typed_param_parse_value(name, type, str, &parsed.value, error) < 0)
        return -1;
    parsed.type = type;
    return tp_add(list, name, type, parsed.value, flags, error);
}

/* ---- getting ---- */

/* 1 with *found set, 0 when absent, -1 when present with another type. */
static int tp_get(const TypedParams *list, const char *name, int type, const TypedParam **found,
                  GError **error)
{
    const TypedParam *param = typed_params_find(list, name);

    if (!param)
        return 0;
    if (param->type != type)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "parameter '%s' has type %s, expected %s",
                          param->field, tp_type_name(param->type), tp_type_name(type));
    *found = param;
    return 1;
}

int typed_params_get_int(const TypedParams *list, const char *name, int *value, GError **error)
{
    const TypedParam *param = NULL;
    int rc = tp_get(list, name, TYPED_PARAM_INT, &param, error);

    if (rc == 1)
        *value = param->value.i;
    return rc;
}

int typed_params_get_uint(const TypedParams *list, const char *name, unsigned int *value,
                          GError **error)
{
    const TypedParam *param = NULL;
    int rc = tp_get(list, name, TYPED_PARAM_UINT, &param, error);

    if (rc == 1)
        *value = param->value.ui;
    return rc;
}

int typed_params_get_llong(const TypedParams *list, const char *name, long long *value,
                           GError **error)
{
    const TypedParam *param = NULL;
    int rc = tp_get(list, name, TYPED_PARAM_LLONG, &param, error);

    if (rc == 1)
        *value = param->value.l;
    return rc;
}

int typed_params_get_ullong(const TypedParams *list, const char *name, unsigned long long *value,
                            GError **error)
{
    const TypedParam *param = NULL;
    int rc = tp_get(list, name, TYPED_PARAM_ULLONG, &param, error);

    if (rc == 1)
        *value = param->value.ul;
    return rc;
}

int typed_params_get_double(const TypedParams *list, const char *name, double *value,
                            GError **error)
{
    const TypedParam *param = NULL;
    int rc = tp_get(list, name, TYPED_PARAM_DOUBLE, &param, error);

    if (rc == 1)
        *value = param->value.d;
    return rc;
}

int typed_params_get_boolean(const TypedParams *list, const char *name, gboolean *value,
                             GError **error)
{
    const TypedParam *param = NULL;
    int rc = tp_get(list, name, TYPED_PARAM_BOOLEAN, &param, error);

    if (rc == 1)
        *value = param->value.b != 0;
    return rc;
}

int typed_params_get_string(const TypedParams *list, const char *name, const char **value,
                            GError **error)
{
    const TypedParam *param = NULL;
    int rc = tp_get(list, name, TYPED_PARAM_STRING, &param, error);

    if (rc == 1)
        *value = param->value.s;
    return rc;
}

int typed_params_get_strings(const TypedParams *list, const char *name, char ***values,
                             GError **error)
{
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);

    for (size_t i = 0; i < typed_params_count(list); i++) {
        const TypedParam *param = &list->params[i];

        if (strcmp(param->field, name) != 0)
            continue;
        if (param->type != TYPED_PARAM_STRING)
            return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                              "parameter '%s' has type %s, expected %s", param->field,
                              tp_type_name(param->type), tp_type_name(TYPED_PARAM_STRING));
        g_ptr_array_add(found, g_strdup(param->value.s));
    }
    if (found->len > INT_MAX)
        return ferry_fail(error, FERRY_ERR_INTERNAL, "parameter '%s' has too many values", name);

    int count = (int)found->len;
    g_ptr_array_add(found, NULL);
    *values = (char **)g_ptr_array_free(g_steal_pointer(&found), FALSE);
    return count;
}

size_t typed_params_remove(TypedParams *list, const char *name)
{
    size_t kept = 0;
    size_t removed;

    if (!list || !name)
        return 0;
    for (size_t i = 0; i < list->n; i++) {
        if (strcmp(list->params[i].field, name) == 0) {
            typed_param_clear(&list->params[i]);
            continue;
        }
        if (kept != i)
            list->params[kept] = list->params[i];
        kept++;
    }
    removed = list->n - kept;
    list->n = kept;
    return removed;
}

/* ---- validating ---- */

int typed_params_validate(const TypedParams *list, const TypedParamSpec *spec, size_t nspec,
                          GError **error)
{
    for (size_t i = 0; i < typed_params_count(list); i++) {
        const TypedParam *param = &list->params[i];
        const TypedParamSpec *want = NULL;

        for (size_t j = 0; j < nspec && !want; j++) {
            if (strcmp(spec[j].name, param->field) == 0)
                want = &spec[j];
        }
        if (!want)
            return ferry_fail(error, FERRY_ERR_NO_SUPPORT, "parameter '%s' is not supported",
                              param->field);
        if (want->type != param->type)
            return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                              "parameter '%s' has type %s, expected %s", param->field,
                              tp_type_name(param->type), tp_type_name(want->type));
        if (want->flags & TYPED_PARAM_MULTIPLE)
            continue;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(list->params[k].field, param->field) == 0)
                return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                                  "parameter '%s' is given more than once", param->field);
        }
    }
    return 0;
}
