/*
 * qemu_capabilities_schema.c: QEMU's QMP introspection (query-qmp-schema)
 * held as plain C data, and path queries over it.
 *
 * Each entry has a name and a meta-type: command (arg-type, ret-type),
 * event (arg-type), object (members, and for unions a tag and variants),
 * enum (values), array (element-type), alternate (member types), builtin
 * (json-type).  Apart from commands, events and builtins, names are masked
 * as numbers, so queries walk from a command or an event through the type
 * references (see qemu_capabilities.h).
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.caps"

#include "util/error.h"
#include "util/log.h"
#include "driver/qemu_capabilities.h"

/* Deeper than any real path: guards against self-referencing types. */
#define SCHEMA_MAX_DEPTH 32
/* Far more than any real query takes. */
#define SCHEMA_MAX_STEPS 100000

typedef enum {
    SCHEMA_META_BUILTIN,
    SCHEMA_META_ENUM,
    SCHEMA_META_ARRAY,
    SCHEMA_META_OBJECT,
    SCHEMA_META_ALTERNATE,
    SCHEMA_META_COMMAND,
    SCHEMA_META_EVENT,
    SCHEMA_META_OTHER, /* a meta-type newer than ferry: kept by name only */
    SCHEMA_META_LAST
} SchemaMeta;

static const char *const schema_meta_names[] = {
    "builtin", "enum", "array", "object", "alternate", "command", "event", "other",
};
G_STATIC_ASSERT(G_N_ELEMENTS(schema_meta_names) == SCHEMA_META_LAST);

typedef struct {
    char *name; /* NULL for alternate members */
    char *type; /* NULL for enum values */
    gboolean optional; /* had "default" */
    GStrv features;
} SchemaMember;

typedef struct {
    char *tag_value; /* "case" */
    char *type;
} SchemaVariant;

typedef struct {
    char *name;
    char *meta_name; /* as QEMU wrote it */
    SchemaMeta meta;
    char *arg_type; /* command, event */
    char *ret_type; /* command */
    gboolean allow_oob; /* command */
    char *element_type; /* array */
    char *json_type; /* builtin */
    char *tag; /* object (union) */
    GArray *members; /* SchemaMember: object, alternate, enum */
    GArray *variants; /* SchemaVariant: object (union) */
    GStrv features;
} SchemaEntry;

struct _QemuCapsSchema {
    GPtrArray *entries; /* SchemaEntry, in QEMU's order */
    GHashTable *by_name; /* name -> SchemaEntry (borrowed) */
};

static void schema_member_clear(gpointer p)
{
    SchemaMember *m = p;

    g_free(m->name);
    g_free(m->type);
    g_strfreev(m->features);
}

static void schema_variant_clear(gpointer p)
{
    SchemaVariant *v = p;

    g_free(v->tag_value);
    g_free(v->type);
}

static void schema_entry_free(gpointer p)
{
    SchemaEntry *e = p;

    g_free(e->name);
    g_free(e->meta_name);
    g_free(e->arg_type);
    g_free(e->ret_type);
    g_free(e->element_type);
    g_free(e->json_type);
    g_free(e->tag);
    if (e->members)
        g_array_unref(e->members);
    if (e->variants)
        g_array_unref(e->variants);
    g_strfreev(e->features);
    g_free(e);
}

void qemu_caps_schema_free(QemuCapsSchema *schema)
{
    if (!schema)
        return;
    g_hash_table_unref(schema->by_name);
    g_ptr_array_unref(schema->entries);
    g_free(schema);
}

/* ---------------------------------------------------------------- parsing */

/* obj[key] as a new string; NULL when absent.  Fails when present but not
 * a string. */
static gboolean schema_get_str(json_object *obj, const char *key, gboolean required, char **out,
                               const char *where, GError **error)
{
    json_object *val = NULL;

    if (!json_object_object_get_ex(obj, key, &val) || json_object_is_type(val, json_type_null)) {
        if (!required)
            return TRUE;
        ferry_fail(error, FERRY_ERR_PARSE, "query-qmp-schema: %s has no '%s'", where, key);
        return FALSE;
    }
    if (!json_object_is_type(val, json_type_string)) {
        ferry_fail(error, FERRY_ERR_PARSE, "query-qmp-schema: %s: '%s' is not a string", where,
                   key);
        return FALSE;
    }
    *out = g_strdup(json_object_get_string(val));
    return TRUE;
}

/* An optional array of strings ("features"). */
static gboolean schema_get_strv(json_object *obj, const char *key, GStrv *out, const char *where,
                                GError **error)
{
    json_object *val = NULL;
    g_autoptr(GStrvBuilder) builder = NULL;

    if (!json_object_object_get_ex(obj, key, &val))
        return TRUE;
    if (!json_object_is_type(val, json_type_array)) {
        ferry_fail(error, FERRY_ERR_PARSE, "query-qmp-schema: %s: '%s' is not an array", where,
                   key);
        return FALSE;
    }
    builder = g_strv_builder_new();
    for (size_t i = 0; i < json_object_array_length(val); i++) {
        json_object *item = json_object_array_get_idx(val, i);

        if (!json_object_is_type(item, json_type_string)) {
            ferry_fail(error, FERRY_ERR_PARSE,
                       "query-qmp-schema: %s: '%s' holds something other than strings", where, key);
            return FALSE;
        }
        g_strv_builder_add(builder, json_object_get_string(item));
    }
    *out = g_strv_builder_end(builder);
    return TRUE;
}

/* The array obj[key], or NULL when absent (not an error) or not an array
 * (an error). */
static gboolean schema_get_array(json_object *obj, const char *key, json_object **out,
                                 const char *where, GError **error)
{
    json_object *val = NULL;

    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &val))
        return TRUE;
    if (!json_object_is_type(val, json_type_array)) {
        ferry_fail(error, FERRY_ERR_PARSE, "query-qmp-schema: %s: '%s' is not an array", where,
                   key);
        return FALSE;
    }
    *out = val;
    return TRUE;
}

/* Members of an object or alternate (type required), or of an enum (name
 * only). */
static gboolean schema_parse_members(SchemaEntry *e, json_object *arr, const char *where,
                                     GError **error)
{
    e->members = g_array_new(FALSE, TRUE, sizeof(SchemaMember));
    g_array_set_clear_func(e->members, schema_member_clear);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *item = json_object_array_get_idx(arr, i);
        SchemaMember m = { NULL, NULL, FALSE, NULL };

        if (!json_object_is_type(item, json_type_object)) {
            ferry_fail(error, FERRY_ERR_PARSE, "query-qmp-schema: %s: member %zu is not an object",
                       where, i);
            return FALSE;
        }
        g_array_append_val(e->members, m);
        SchemaMember *mp = &g_array_index(e->members, SchemaMember, e->members->len - 1);
        if (!schema_get_str(item, "name", e->meta != SCHEMA_META_ALTERNATE, &mp->name, where,
                            error) ||
            !schema_get_str(item, "type", e->meta != SCHEMA_META_ENUM, &mp->type, where, error) ||
            !schema_get_strv(item, "features", &mp->features, where, error))
            return FALSE;
        mp->optional = json_object_object_get_ex(item, "default", NULL);
    }
    return TRUE;
}

static gboolean schema_parse_variants(SchemaEntry *e, json_object *arr, const char *where,
                                      GError **error)
{
    e->variants = g_array_new(FALSE, TRUE, sizeof(SchemaVariant));
    g_array_set_clear_func(e->variants, schema_variant_clear);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *item = json_object_array_get_idx(arr, i);
        SchemaVariant v = { NULL, NULL };

        if (!json_object_is_type(item, json_type_object)) {
            ferry_fail(error, FERRY_ERR_PARSE, "query-qmp-schema: %s: variant %zu is not an object",
                       where, i);
            return FALSE;
        }
        g_array_append_val(e->variants, v);
        SchemaVariant *vp = &g_array_index(e->variants, SchemaVariant, e->variants->len - 1);
        if (!schema_get_str(item, "case", TRUE, &vp->tag_value, where, error) ||
            !schema_get_str(item, "type", TRUE, &vp->type, where, error))
            return FALSE;
    }
    return TRUE;
}

/* Enum values: "members" ({"name", "features"}) when QEMU sends them,
 * else "values" (plain strings). */
static gboolean schema_parse_enum(SchemaEntry *e, json_object *item, const char *where,
                                  GError **error)
{
    json_object *arr = NULL;
    g_auto(GStrv) values = NULL;

    if (!schema_get_array(item, "members", &arr, where, error))
        return FALSE;
    if (arr)
        return schema_parse_members(e, arr, where, error);
    if (!schema_get_strv(item, "values", &values, where, error))
        return FALSE;
    e->members = g_array_new(FALSE, TRUE, sizeof(SchemaMember));
    g_array_set_clear_func(e->members, schema_member_clear);
    for (guint i = 0; values && values[i]; i++) {
        SchemaMember m = { g_strdup(values[i]), NULL, FALSE, NULL };

        g_array_append_val(e->members, m);
    }
    return TRUE;
}

static SchemaEntry *schema_parse_entry(json_object *item, size_t idx, GError **error)
{
    g_autofree char *where = g_strdup_printf("entry %zu", idx);
    SchemaEntry *e;
    json_object *arr = NULL;

    if (!json_object_is_type(item, json_type_object)) {
        ferry_fail(error, FERRY_ERR_PARSE, "query-qmp-schema: %s is not an object", where);
        return NULL;
    }
    e = g_new0(SchemaEntry, 1);
    if (!schema_get_str(item, "name", TRUE, &e->name, where, error) ||
        !schema_get_str(item, "meta-type", TRUE, &e->meta_name, where, error)) {
        schema_entry_free(e);
        return NULL;
    }
    g_free(where);
    where = g_strdup_printf("entry %zu ('%s')", idx, e->name);

    e->meta = SCHEMA_META_OTHER;
    for (int m = 0; m < SCHEMA_META_OTHER; m++)
        if (strcmp(e->meta_name, schema_meta_names[m]) == 0)
            e->meta = m;

    gboolean ok = schema_get_strv(item, "features", &e->features, where, error);
    switch (e->meta) {
    case SCHEMA_META_COMMAND:
        ok = ok && schema_get_str(item, "arg-type", TRUE, &e->arg_type, where, error) &&
             schema_get_str(item, "ret-type", TRUE, &e->ret_type, where, error);
        if (ok) {
            json_object *oob = NULL;

            e->allow_oob =
                json_object_object_get_ex(item, "allow-oob", &oob) && json_object_get_boolean(oob);
        }
        break;
    case SCHEMA_META_EVENT:
        ok = ok && schema_get_str(item, "arg-type", TRUE, &e->arg_type, where, error);
        break;
    case SCHEMA_META_ARRAY:
        ok = ok && schema_get_str(item, "element-type", TRUE, &e->element_type, where, error);
        break;
    case SCHEMA_META_BUILTIN:
        ok = ok && schema_get_str(item, "json-type", FALSE, &e->json_type, where, error);
        break;
    case SCHEMA_META_ENUM:
        ok = ok && schema_parse_enum(e, item, where, error);
        break;
    case SCHEMA_META_ALTERNATE:
        ok = ok && schema_get_array(item, "members", &arr, where, error) &&
             schema_parse_members(e, arr, where, error);
        break;
    case SCHEMA_META_OBJECT:
        ok = ok && schema_get_array(item, "members", &arr, where, error) &&
             schema_parse_members(e, arr, where, error) &&
             schema_get_str(item, "tag", FALSE, &e->tag, where, error) &&
             schema_get_array(item, "variants", &arr, where, error) &&
             schema_parse_variants(e, arr, where, error);
        break;
    case SCHEMA_META_OTHER:
    case SCHEMA_META_LAST:
        break;
    }
    if (!ok) {
        schema_entry_free(e);
        return NULL;
    }
    return e;
}

QemuCapsSchema *qemu_caps_schema_new(json_object *reply, GError **error)
{
    g_autoptr(QemuCapsSchema) schema = g_new0(QemuCapsSchema, 1);

    schema->entries = g_ptr_array_new_with_free_func(schema_entry_free);
    schema->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    if (!json_object_is_type(reply, json_type_array)) {
        ferry_fail(error, FERRY_ERR_PARSE, "query-qmp-schema: the reply is not an array");
        return NULL;
    }
    for (size_t i = 0; i < json_object_array_length(reply); i++) {
        SchemaEntry *e = schema_parse_entry(json_object_array_get_idx(reply, i), i, error);

        if (!e)
            return NULL;
        g_ptr_array_add(schema->entries, e);
        /* The first of duplicate names wins (QEMU sends none). */
        if (!g_hash_table_contains(schema->by_name, e->name))
            g_hash_table_insert(schema->by_name, e->name, e);
    }
    return g_steal_pointer(&schema);
}

guint qemu_caps_schema_size(const QemuCapsSchema *schema)
{
    return schema ? schema->entries->len : 0;
}

/* ---------------------------------------------------------------- formatting */

static void schema_add_str(json_object *obj, const char *key, const char *val)
{
    if (val)
        json_object_object_add(obj, key, json_object_new_string(val));
}

static json_object *schema_strv_to_json(const char *const *strv)
{
    json_object *arr = json_object_new_array();

    for (guint i = 0; strv && strv[i]; i++)
        json_object_array_add(arr, json_object_new_string(strv[i]));
    return arr;
}

static json_object *schema_members_to_json(const SchemaEntry *e)
{
    json_object *arr = json_object_new_array();

    for (guint i = 0; i < e->members->len; i++) {
        const SchemaMember *m = &g_array_index(e->members, SchemaMember, i);
        json_object *obj = json_object_new_object();

        schema_add_str(obj, "name", m->name);
        schema_add_str(obj, "type", m->type);
        if (m->optional)
            json_object_object_add(obj, "default", NULL);
        if (m->features)
            json_object_object_add(obj, "features",
                                   schema_strv_to_json((const char *const *)m->features));
        json_object_array_add(arr, obj);
    }
    return arr;
}

static json_object *schema_entry_to_json(const SchemaEntry *e)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "name", json_object_new_string(e->name));
    json_object_object_add(obj, "meta-type", json_object_new_string(e->meta_name));
    schema_add_str(obj, "arg-type", e->arg_type);
    schema_add_str(obj, "ret-type", e->ret_type);
    if (e->allow_oob)
        json_object_object_add(obj, "allow-oob", json_object_new_boolean(TRUE));
    schema_add_str(obj, "element-type", e->element_type);
    schema_add_str(obj, "json-type", e->json_type);
    schema_add_str(obj, "tag", e->tag);
    if (e->meta == SCHEMA_META_ENUM) {
        json_object *values = json_object_new_array();

        for (guint i = 0; i < e->members->len; i++)
            json_object_array_add(
                values, json_object_new_string(g_array_index(e->members, SchemaMember, i).name));
        json_object_object_add(obj, "values", values);
    }
    if (e->members)
        json_object_object_add(obj, "members", schema_members_to_json(e));
    if (e->variants && e->variants->len) {
        json_object *arr = json_object_new_array();

        for (guint i = 0; i < e->variants->len; i++) {
            const SchemaVariant *v = &g_array_index(e->variants, SchemaVariant, i);
            json_object *vo = json_object_new_object();

            json_object_object_add(vo, "case", json_object_new_string(v->tag_value));
            json_object_object_add(vo, "type", json_object_new_string(v->type));
            json_object_array_add(arr, vo);
        }
        json_object_object_add(obj, "variants", arr);
    }
    if (e->features)
        json_object_object_add(obj, "features",
                               schema_strv_to_json((const char *const *)e->features));
    return obj;
}

json_object *qemu_caps_schema_to_json(const QemuCapsSchema *schema)
{
    json_object *arr = json_object_new_array();

    for (guint i = 0; i < schema->entries->len; i++)
        json_object_array_add(arr, schema_entry_to_json(schema->entries->pdata[i]));
    return arr;
}

/* ---------------------------------------------------------------- queries */

/* What must hold where a path ends; value is the enum value asked for. */
typedef gboolean (*SchemaLeafFunc)(const SchemaEntry *e, const char *value);

/* One query.  steps bounds the work a hostile schema (types that refer
 * to themselves through several variants) could make it do. */
typedef struct {
    const QemuCapsSchema *schema;
    char **segs;
    SchemaLeafFunc leaf;
    const char *value;
    guint steps;
} SchemaWalk;

static const SchemaEntry *schema_lookup(const QemuCapsSchema *schema, const char *name)
{
    return name ? g_hash_table_lookup(schema->by_name, name) : NULL;
}

static gboolean schema_walk(SchemaWalk *w, const char *type, guint i, guint depth);

/* Counts a step; FALSE once the query has done too much. */
static gboolean schema_step(SchemaWalk *w, guint depth)
{
    return depth <= SCHEMA_MAX_DEPTH && ++w->steps <= SCHEMA_MAX_STEPS;
}

/* segs[i] applied to object e: a member (also in variants), or "+CASE". */
static gboolean schema_object_step(SchemaWalk *w, const SchemaEntry *e, guint i, guint depth)
{
    const char *seg = w->segs[i];

    if (!schema_step(w, depth))
        return FALSE;
    if (seg[0] == '+') {
        for (guint v = 0; e->variants && v < e->variants->len; v++) {
            const SchemaVariant *var = &g_array_index(e->variants, SchemaVariant, v);

            if (strcmp(var->tag_value, seg + 1) == 0)
                return schema_walk(w, var->type, i + 1, depth + 1);
        }
        return FALSE;
    }
    for (guint m = 0; m < e->members->len; m++) {
        const SchemaMember *mem = &g_array_index(e->members, SchemaMember, m);

        if (g_strcmp0(mem->name, seg) == 0 && schema_walk(w, mem->type, i + 1, depth + 1))
            return TRUE;
    }
    for (guint v = 0; e->variants && v < e->variants->len; v++) {
        const SchemaEntry *ve =
            schema_lookup(w->schema, g_array_index(e->variants, SchemaVariant, v).type);

        if (ve && ve->meta == SCHEMA_META_OBJECT && schema_object_step(w, ve, i, depth + 1))
            return TRUE;
    }
    return FALSE;
}

/* Applies segs[i..] to the type named type. */
static gboolean schema_walk(SchemaWalk *w, const char *type, guint i, guint depth)
{
    const SchemaEntry *e = schema_lookup(w->schema, type);
    const char *seg;

    if (!e || !schema_step(w, depth))
        return FALSE;
    /* Arrays and alternates are passed through. */
    if (e->meta == SCHEMA_META_ARRAY)
        return schema_walk(w, e->element_type, i, depth + 1);
    if (e->meta == SCHEMA_META_ALTERNATE) {
        for (guint m = 0; m < e->members->len; m++)
            if (schema_walk(w, g_array_index(e->members, SchemaMember, m).type, i, depth + 1))
                return TRUE;
        return FALSE;
    }
    seg = w->segs[i];
    if (!seg)
        return w->leaf ? w->leaf(e, w->value) : TRUE;
    switch (e->meta) {
    case SCHEMA_META_COMMAND:
        if (strcmp(seg, "ret-type") == 0)
            return schema_walk(w, e->ret_type, i + 1, depth + 1);
        G_GNUC_FALLTHROUGH;
    case SCHEMA_META_EVENT:
        if (strcmp(seg, "arg-type") == 0)
            return schema_walk(w, e->arg_type, i + 1, depth + 1);
        return FALSE;
    case SCHEMA_META_OBJECT:
        return schema_object_step(w, e, i, depth);
    default:
        return FALSE;
    }
}

/* Splits path and walks it from its first segment. */
static gboolean schema_query(const QemuCapsSchema *schema, const char *path, SchemaLeafFunc leaf,
                             const char *value)
{
    g_auto(GStrv) segs = NULL;
    SchemaWalk w = { schema, NULL, leaf, value, 0 };

    if (!schema || !path || !*path)
        return FALSE;
    segs = g_strsplit(path, "/", -1);
    for (guint i = 0; segs[i]; i++)
        if (!*segs[i])
            return FALSE;
    w.segs = segs;
    return schema_walk(&w, segs[0], 1, 0);
}

static gboolean schema_leaf_is_command(const SchemaEntry *e, const char *value)
{
    return e->meta == SCHEMA_META_COMMAND;
}

static gboolean schema_leaf_is_event(const SchemaEntry *e, const char *value)
{
    return e->meta == SCHEMA_META_EVENT;
}

static gboolean schema_leaf_enum_has(const SchemaEntry *e, const char *value)
{
    if (e->meta != SCHEMA_META_ENUM)
        return FALSE;
    for (guint i = 0; i < e->members->len; i++)
        if (g_strcmp0(g_array_index(e->members, SchemaMember, i).name, value) == 0)
            return TRUE;
    return FALSE;
}

gboolean qemu_caps_schema_has_command(const QemuCapsSchema *schema, const char *command)
{
    const SchemaEntry *e = schema && command ? schema_lookup(schema, command) : NULL;

    return e && schema_leaf_is_command(e, NULL);
}

gboolean qemu_caps_schema_has_event(const QemuCapsSchema *schema, const char *event)
{
    const SchemaEntry *e = schema && event ? schema_lookup(schema, event) : NULL;

    return e && schema_leaf_is_event(e, NULL);
}

gboolean qemu_caps_schema_command_has_arg(const QemuCapsSchema *schema, const char *command,
                                          const char *arg)
{
    g_autofree char *path = NULL;

    if (!qemu_caps_schema_has_command(schema, command) || !arg)
        return FALSE;
    path = g_strdup_printf("%s/arg-type/%s", command, arg);
    return schema_query(schema, path, NULL, NULL);
}

gboolean qemu_caps_schema_enum_has_value(const QemuCapsSchema *schema, const char *path,
                                         const char *value)
{
    return value && schema_query(schema, path, schema_leaf_enum_has, value);
}

gboolean qemu_caps_schema_has_path(const QemuCapsSchema *schema, const char *path)
{
    return schema_query(schema, path, NULL, NULL);
}
