/*
 * typedparams.h: lists of named, typed values, like libvirt's
 * virTypedParameter arrays (migration parameters, job statistics).
 *
 * The type numbers, the field length and the value union are the ones on
 * libvirt's wire (remote_typed_param), so that the RPC layer converts a
 * TypedParam to and from the wire entry field by field.
 *
 *     g_autoptr(TypedParams) params = typed_params_new();
 *     unsigned long long bw;
 *
 *     if (typed_params_add_ullong(params, "bandwidth", 100, error) < 0 ||
 *         typed_params_add_string_another(params, "migrate_disks", "vda", error) < 0)
 *         return -1;
 *     if (typed_params_validate(params, spec, G_N_ELEMENTS(spec), error) < 0)
 *         return -1;
 *     switch (typed_params_get_ullong(params, "bandwidth", &bw, error)) {
 *     case -1: return -1;          // present with another type
 *     case 0: bw = default; break; // absent
 *     }
 */
#pragma once

#include <stddef.h>

#include <glib.h>

/* libvirt's VIR_TYPED_PARAM_FIELD_LENGTH: a name has at most 79 bytes. */
#define TYPED_PARAM_FIELD_LENGTH 80
/* The longest string value, in bytes without the NUL. */
#define TYPED_PARAM_STRING_MAX (1024 * 1024)

/* libvirt's virTypedParameterType numbers; they travel on the wire. */
typedef enum {
    TYPED_PARAM_INT = 1,
    TYPED_PARAM_UINT = 2,
    TYPED_PARAM_LLONG = 3,
    TYPED_PARAM_ULLONG = 4,
    TYPED_PARAM_DOUBLE = 5,
    TYPED_PARAM_BOOLEAN = 6,
    TYPED_PARAM_STRING = 7,
    TYPED_PARAM_LAST
} TypedParamType;

typedef union {
    int i; /* TYPED_PARAM_INT */
    unsigned int ui; /* TYPED_PARAM_UINT */
    long long l; /* TYPED_PARAM_LLONG */
    unsigned long long ul; /* TYPED_PARAM_ULLONG */
    double d; /* TYPED_PARAM_DOUBLE */
    int b; /* TYPED_PARAM_BOOLEAN: 0 or 1 */
    char *s; /* TYPED_PARAM_STRING: owned, UTF-8 */
} TypedParamValue;

typedef struct {
    char field[TYPED_PARAM_FIELD_LENGTH];
    int type; /* a TypedParamType */
    TypedParamValue value;
} TypedParam;

/* Frees a string value and zeroes the parameter. */
void typed_param_clear(TypedParam *param);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TypedParam, typed_param_clear)

/* "int", "uint", "llong", "ullong", "double", "boolean", "string"; NULL for
 * a number that is not a type. */
const char *typed_param_type_to_string(int type);
/* The type with that name, or -1. */
int typed_param_type_from_string(const char *name);
gboolean typed_param_type_is_valid(int type);

/* A name is valid when it is non-empty, shorter than
 * TYPED_PARAM_FIELD_LENGTH bytes, UTF-8 and free of control characters.
 * Returns 0 or -1. */
int typed_param_check_name(const char *name, GError **error);

/* Parses str as a value of the given type, strictly: decimal integers only
 * (no blanks, no trailing garbage, no '-' for unsigned types, range checked),
 * finite doubles in the C locale, booleans yes/no/true/false/1/0 (any case),
 * strings as given (length and UTF-8 checked, copied into value->s).  name,
 * when not NULL, is quoted in messages.  On success the caller owns value
 * (typed_param_value_clear).  Returns 0 or -1. */
int typed_param_parse_value(const char *name, int type, const char *str, TypedParamValue *value,
                            GError **error);
/* Frees value->s when type is TYPED_PARAM_STRING, and zeroes the value. */
void typed_param_value_clear(int type, TypedParamValue *value);

/* The value as text, in the form typed_param_parse_value reads back
 * (booleans as "yes"/"no", doubles round-trip exactly).  Caller frees. */
char *typed_param_format_value(const TypedParam *param);

/* ---- lists ---- */

typedef struct _TypedParams TypedParams;

typedef enum {
    /* Adds an entry even when the name is already present (with the same
     * type): multi-value parameters such as migrate_disks, and the wire
     * decoder, which keeps whatever arrived and leaves it to validate. */
    TYPED_PARAMS_ADD_ANOTHER = 1 << 0,
} TypedParamsAddFlags;

TypedParams *typed_params_new(void);
void typed_params_free(TypedParams *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TypedParams, typed_params_free)

/* A deep copy (strings duplicated).  NULL copies as an empty list. */
TypedParams *typed_params_copy(const TypedParams *list);

/* A NULL list reads as empty everywhere below. */
size_t typed_params_count(const TypedParams *list);
/* Entry i (0 <= i < count) in insertion order, or NULL.  Iterate with
 *     for (size_t i = 0; i < typed_params_count(list); i++)
 *         use(typed_params_nth(list, i));
 * The pointer stays valid until the list is next modified. */
const TypedParam *typed_params_nth(const TypedParams *list, size_t i);
/* The first entry with that name, or NULL. */
const TypedParam *typed_params_find(const TypedParams *list, const char *name);

/* Add one entry.  The name is checked (typed_param_check_name), strings are
 * checked (NULL, longer than TYPED_PARAM_STRING_MAX, not UTF-8) and copied.
 * A name that is already present is refused ("parameter 'x' is already
 * set"); typed_params_add_string_another adds one more value for a
 * multi-value parameter.  Return 0 or -1; on failure the list is unchanged. */
int typed_params_add_int(TypedParams *list, const char *name, int value, GError **error);
int typed_params_add_uint(TypedParams *list, const char *name, unsigned int value, GError **error);
int typed_params_add_llong(TypedParams *list, const char *name, long long value, GError **error);
int typed_params_add_ullong(TypedParams *list, const char *name, unsigned long long value,
                            GError **error);
/* Any double, NaN and infinities included, as the wire may carry them. */
int typed_params_add_double(TypedParams *list, const char *name, double value, GError **error);
/* Stored as 0 or 1. */
int typed_params_add_boolean(TypedParams *list, const char *name, gboolean value, GError **error);
int typed_params_add_string(TypedParams *list, const char *name, const char *value, GError **error);
int typed_params_add_string_another(TypedParams *list, const char *name, const char *value,
                                    GError **error);
/* Adds each string of the NULL-terminated values as another entry; on
 * failure none is added. */
int typed_params_add_strings(TypedParams *list, const char *name, const char *const *values,
                             GError **error);
/* Adds a copy of param (its type is checked too); flags are
 * TypedParamsAddFlags.  For the wire decoder. */
int typed_params_add_param(TypedParams *list, const TypedParam *param, unsigned int flags,
                           GError **error);
/* Parses str as typed_param_parse_value does and adds it.  For the CLI's
 * "--param name=value" once the name's type is known. */
int typed_params_add_from_string(TypedParams *list, const char *name, int type, const char *str,
                                 unsigned int flags, GError **error);

/* Get the first entry with that name.  Return 1 and set *value when found,
 * 0 (value untouched) when absent, -1 when present with another type
 * ("parameter 'x' has type string, expected ullong"). */
int typed_params_get_int(const TypedParams *list, const char *name, int *value, GError **error);
int typed_params_get_uint(const TypedParams *list, const char *name, unsigned int *value,
                          GError **error);
int typed_params_get_llong(const TypedParams *list, const char *name, long long *value,
                           GError **error);
int typed_params_get_ullong(const TypedParams *list, const char *name, unsigned long long *value,
                            GError **error);
int typed_params_get_double(const TypedParams *list, const char *name, double *value,
                            GError **error);
int typed_params_get_boolean(const TypedParams *list, const char *name, gboolean *value,
                             GError **error);
/* *value is borrowed from the list. */
int typed_params_get_string(const TypedParams *list, const char *name, const char **value,
                            GError **error);
/* Every string value with that name, in order, as a new NULL-terminated
 * vector (g_strfreev; empty, not NULL, when there is none).  Returns how many,
 * or -1 when one of them is not a string. */
int typed_params_get_strings(const TypedParams *list, const char *name, char ***values,
                             GError **error);

/* Removes every entry with that name; returns how many there were. */
size_t typed_params_remove(TypedParams *list, const char *name);

/* What a caller accepts. */
typedef enum {
    TYPED_PARAM_MULTIPLE = 1 << 0, /* the name may appear more than once */
} TypedParamSpecFlags;

typedef struct {
    const char *name;
    int type; /* a TypedParamType */
    unsigned int flags; /* TypedParamSpecFlags */
} TypedParamSpec;

/* Checks every entry against spec: an unknown name fails with
 * FERRY_ERR_NO_SUPPORT ("parameter 'x' is not supported"), a wrong type or a
 * repeated name without TYPED_PARAM_MULTIPLE with FERRY_ERR_INVALID_ARG.
 * The first offending entry is reported.  Returns 0 or -1. */
int typed_params_validate(const TypedParams *list, const TypedParamSpec *spec, size_t nspec,
                          GError **error);
