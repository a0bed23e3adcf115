/*
 * params.c: typed parameters in the public form (FerryTypedParameter).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LIBFERRY
#define FERRY_LOG_MODULE "libferry"

#include "libferry/libferry_priv.h"
#include "util/error.h"
#include "util/typedparams.h"

G_STATIC_ASSERT(FERRY_TYPED_PARAM_FIELD_LENGTH == TYPED_PARAM_FIELD_LENGTH);
G_STATIC_ASSERT((int)FERRY_TYPED_PARAM_STRING == (int)TYPED_PARAM_STRING);
G_STATIC_ASSERT((int)FERRY_TYPED_PARAM_BOOLEAN == (int)TYPED_PARAM_BOOLEAN);

FerryTypedParameter *libferry_params_export(const TypedParams *params, int *nparams)
{
    size_t n = typed_params_count(params);
    FerryTypedParameter *out = g_new0(FerryTypedParameter, n ? n : 1);

    for (size_t i = 0; i < n; i++) {
        const TypedParam *p = typed_params_nth(params, i);

        g_strlcpy(out[i].field, p->field, sizeof(out[i].field));
        out[i].type = p->type;
        switch (p->type) {
        case TYPED_PARAM_INT:
            out[i].value.i = p->value.i;
            break;
        case TYPED_PARAM_UINT:
            out[i].value.ui = p->value.ui;
            break;
        case TYPED_PARAM_LLONG:
            out[i].value.l = p->value.l;
            break;
        case TYPED_PARAM_ULLONG:
            out[i].value.ul = p->value.ul;
            break;
        case TYPED_PARAM_DOUBLE:
            out[i].value.d = p->value.d;
            break;
        case TYPED_PARAM_BOOLEAN:
            out[i].value.b = p->value.b ? 1 : 0;
            break;
        case TYPED_PARAM_STRING:
            out[i].value.s = g_strdup(p->value.s);
            break;
        default:
            break;
        }
    }
    *nparams = (int)n;
    return out;
}

void ferry_typed_params_free(FerryTypedParameter *params, int nparams)
{
    if (!params)
        return;
    for (int i = 0; i < nparams; i++) {
        if (params[i].type == FERRY_TYPED_PARAM_STRING)
            g_free(params[i].value.s);
    }
    g_free(params);
}

static const char *type_name(int type)
{
    const char *name = typed_param_type_to_string(type);

    return name ? name : "unknown";
}

/* The first parameter named name: 1 and *found, 0 when absent, -1 (last
 * error set) when its type is not want. */
static int params_find(const FerryTypedParameter *params, int nparams, const char *name, int want,
                       const FerryTypedParameter **found)
{
    libferry_init();
    if (!name || (nparams > 0 && !params))
        return libferry_fail_arg("ferry_typed_params_get", "params or name is NULL");
    for (int i = 0; i < nparams; i++) {
        if (strcmp(params[i].field, name) != 0)
            continue;
        if (params[i].type != want) {
            g_autofree char *msg = g_strdup_printf("parameter '%s' has type %s, expected %s", name,
                                                   type_name(params[i].type), type_name(want));
            ferry_last_error_set_info(FERRY_FROM_LIBFERRY, FERRY_ERR_INVALID_ARG, msg);
            return -1;
        }
        *found = &params[i];
        return 1;
    }
    return 0;
}

int ferry_typed_params_get_int(const FerryTypedParameter *params, int nparams, const char *name,
                               int *value)
{
    const FerryTypedParameter *p = NULL;
    int rc = params_find(params, nparams, name, FERRY_TYPED_PARAM_INT, &p);

    if (rc == 1 && value)
        *value = p->value.i;
    return rc;
}

int ferry_typed_params_get_ullong(const FerryTypedParameter *params, int nparams, const char *name,
                                  unsigned long long *value)
{
    const FerryTypedParameter *p = NULL;
    int rc = params_find(params, nparams, name, FERRY_TYPED_PARAM_ULLONG, &p);

    if (rc == 1 && value)
        *value = p->value.ul;
    return rc;
}

int ferry_typed_params_get_string(const FerryTypedParameter *params, int nparams, const char *name,
                                  const char **value)
{
    const FerryTypedParameter *p = NULL;
    int rc = params_find(params, nparams, name, FERRY_TYPED_PARAM_STRING, &p);

    if (rc == 1 && value)
        *value = p->value.s;
    return rc;
}

/* ---------------------------------------------------------------- building */

/* Room for one more entry in *params; -1 (last error set) when it cannot
 * be had. */
static int params_grow(FerryTypedParameter **params, int *nparams, int *maxparams, const char *func)
{
    if (!params || !nparams || !maxparams || *nparams < 0 || *maxparams < *nparams ||
        (*maxparams > 0 && !*params))
        return libferry_fail_arg(func, "params, nparams or maxparams is invalid");
    if (*nparams < *maxparams)
        return 0;
    if (*maxparams > G_MAXINT / 2 - 1)
        return libferry_fail_arg(func, "too many parameters");
    int grown = *maxparams ? *maxparams * 2 : 8;
    *params = g_renew(FerryTypedParameter, *params, grown);
    memset(*params + *maxparams, 0, sizeof(**params) * (size_t)(grown - *maxparams));
    *maxparams = grown;
    return 0;
}

/* Checks name and takes the next entry; NULL (last error set) on failure. */
static FerryTypedParameter *params_append(FerryTypedParameter **params, int *nparams,
                                          int *maxparams, const char *name, int type,
                                          const char *func)
{
    GError *err = NULL;

    libferry_enter();
    if (!name) {
        libferry_fail_arg(func, "name is NULL");
        return NULL;
    }
    if (typed_param_check_name(name, &err) < 0) {
        libferry_fail_with(err);
        return NULL;
    }
    if (params_grow(params, nparams, maxparams, func) < 0)
        return NULL;
    FerryTypedParameter *p = &(*params)[*nparams];
    memset(p, 0, sizeof(*p));
    g_strlcpy(p->field, name, sizeof(p->field));
    p->type = type;
    return p;
}

int ferry_typed_params_add_int(FerryTypedParameter **params, int *nparams, int *maxparams,
                               const char *name, int value)
{
    FerryTypedParameter *p =
        params_append(params, nparams, maxparams, name, FERRY_TYPED_PARAM_INT, __func__);

    if (!p)
        return -1;
    p->value.i = value;
    (*nparams)++;
    return 0;
}

int ferry_typed_params_add_ullong(FerryTypedParameter **params, int *nparams, int *maxparams,
                                  const char *name, unsigned long long value)
{
    FerryTypedParameter *p =
        params_append(params, nparams, maxparams, name, FERRY_TYPED_PARAM_ULLONG, __func__);

    if (!p)
        return -1;
    p->value.ul = value;
    (*nparams)++;
    return 0;
}

int ferry_typed_params_add_string(FerryTypedParameter **params, int *nparams, int *maxparams,
                                  const char *name, const char *value)
{
    FerryTypedParameter *p;

    if (!value)
        return libferry_fail_arg(__func__, "value is NULL");
    if (!g_utf8_validate(value, -1, NULL)) {
        g_autofree char *msg = g_strdup_printf("the value of '%s' is not UTF-8", name ? name : "?");
        return libferry_fail_arg(__func__, msg);
    }
    p = params_append(params, nparams, maxparams, name, FERRY_TYPED_PARAM_STRING, __func__);
    if (!p)
        return -1;
    p->value.s = g_strdup(value);
    (*nparams)++;
    return 0;
}

/* ---------------------------------------------------------------- import */

TypedParams *libferry_params_import(const FerryTypedParameter *params, int nparams, GError **error)
{
    g_autoptr(TypedParams) out = typed_params_new();

    if (nparams < 0 || (nparams > 0 && !params)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "params is NULL or nparams is negative");
        return NULL;
    }
    for (int i = 0; i < nparams; i++) {
        TypedParam p = { 0 };

        /* typed_params_add_param checks that the name ends in the field */
        memcpy(p.field, params[i].field, sizeof(p.field));
        p.type = params[i].type;
        switch (params[i].type) {
        case FERRY_TYPED_PARAM_INT:
            p.value.i = params[i].value.i;
            break;
        case FERRY_TYPED_PARAM_UINT:
            p.value.ui = params[i].value.ui;
            break;
        case FERRY_TYPED_PARAM_LLONG:
            p.value.l = params[i].value.l;
            break;
        case FERRY_TYPED_PARAM_ULLONG:
            p.value.ul = params[i].value.ul;
            break;
        case FERRY_TYPED_PARAM_DOUBLE:
            p.value.d = params[i].value.d;
            break;
        case FERRY_TYPED_PARAM_BOOLEAN:
            p.value.b = params[i].value.b ? 1 : 0;
            break;
        case FERRY_TYPED_PARAM_STRING:
            /* borrowed: typed_params_add_param copies it */
            p.value.s = params[i].value.s;
            break;
        default:
            ferry_fail(error, FERRY_ERR_INVALID_ARG, "parameter '%.*s' has an unknown type %d",
                       (int)sizeof(p.field) - 1, p.field, params[i].type);
            return NULL;
        }
        if (typed_params_add_param(out, &p, TYPED_PARAMS_ADD_ANOTHER, error) < 0)
            return NULL;
    }
    return g_steal_pointer(&out);
}
