/*
 * qemu_capabilities.c: the capabilities of a QEMU binary: the flags ferry
 * asks about, decided from QEMU's answers by one table, and the object
 * that holds them with its on-disk (JSON) form.
 *
 * Probing is in qemu_capabilities_probe.c, the schema in
 * qemu_capabilities_schema.c.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.caps"

#include "util/error.h"
#include "util/log.h"
#include "driver/qemu_capabilities.h"
#include "driver/qemu_capabilities_priv.h"

static const char *const qemu_caps_flag_names[] = {
    "migrate-incoming",
    "migrate-channels",
    "file-uri",
    "getfd",
    "add-fd",
    "fdset",
    "multifd",
    "mapped-ram",
    "file-fdset",
    "postcopy-ram",
    "postcopy-recover",
    "auto-converge",
    "xbzrle",
    "return-path",
    "pause-before-switchover",
    "zero-copy-send",
    "dirty-bitmaps",
    "late-block-activate",
    "switchover-ack",
    "migrate-tls",
    "zero-page-detection",
    "direct-io",
    "migration-mode",
    "cpr-reboot",
    "cpr-transfer",
    "backend-transfer",
    "blockdev",
    "migrate-dirty-rate",
    "query-dirty-rate",
    "migration-event",
    "migration-pass-event",
};
G_STATIC_ASSERT(G_N_ELEMENTS(qemu_caps_flag_names) == QEMU_CAPS_LAST);

const char *qemu_caps_flag_to_string(QemuCapsFlag flag)
{
    if ((int)flag < 0 || flag >= QEMU_CAPS_LAST)
        return NULL;
    return qemu_caps_flag_names[flag];
}

int qemu_caps_flag_from_string(const char *name)
{
    for (int i = 0; name && i < QEMU_CAPS_LAST; i++)
        if (strcmp(qemu_caps_flag_names[i], name) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- the table
 * How each flag is decided.  Rows of one flag with the same alternative
 * number must all hold; any one alternative that holds sets the flag.
 * A FLAG row refers to a flag decided earlier (lower in the enum). */

typedef enum {
    CHECK_COMMAND, /* the schema has command what */
    CHECK_EVENT, /* the schema has event what */
    CHECK_PATH, /* the schema path what resolves */
    CHECK_ENUM, /* the enum at schema path what has value */
    CHECK_MIG_CAP, /* query-migrate-capabilities lists what */
    CHECK_MIG_PARAM, /* query-migrate-parameters or migrate-set-parameters has what */
    CHECK_FLAG, /* flag dep is set */
} QemuCapsCheckKind;

typedef struct {
    QemuCapsFlag flag;
    int alt;
    QemuCapsCheckKind kind;
    const char *what;
    const char *value;
    QemuCapsFlag dep;
} QemuCapsCheck;

static const QemuCapsCheck qemu_caps_checks[] = {
    { QEMU_CAPS_MIGRATE_INCOMING, 0, CHECK_COMMAND, "migrate-incoming", NULL, 0 },
    { QEMU_CAPS_MIGRATE_CHANNELS, 0, CHECK_PATH, "migrate/arg-type/channels", NULL, 0 },
    /* MigrationAddressType 'file', on both sides (QEMU 8.2). */
    { QEMU_CAPS_FILE_URI, 0, CHECK_ENUM, "migrate/arg-type/channels/addr/transport", "file", 0 },
    { QEMU_CAPS_FILE_URI, 0, CHECK_ENUM, "migrate-incoming/arg-type/channels/addr/transport",
      "file", 0 },
    { QEMU_CAPS_GETFD, 0, CHECK_COMMAND, "getfd", NULL, 0 },
    { QEMU_CAPS_ADD_FD, 0, CHECK_COMMAND, "add-fd", NULL, 0 },
    { QEMU_CAPS_FDSET, 0, CHECK_COMMAND, "add-fd", NULL, 0 },
    { QEMU_CAPS_FDSET, 0, CHECK_COMMAND, "remove-fd", NULL, 0 },
    { QEMU_CAPS_FDSET, 0, CHECK_COMMAND, "query-fdsets", NULL, 0 },
    { QEMU_CAPS_MULTIFD, 0, CHECK_MIG_CAP, "multifd", NULL, 0 },
    { QEMU_CAPS_MAPPED_RAM, 0, CHECK_MIG_CAP, "mapped-ram", NULL, 0 },
    /* file: migration onto fdsets came with mapped-ram (QEMU 9.0): the
     * schema cannot say more than that all the parts are there. */
    { QEMU_CAPS_FILE_FDSET, 0, CHECK_FLAG, NULL, NULL, QEMU_CAPS_FILE_URI },
    { QEMU_CAPS_FILE_FDSET, 0, CHECK_FLAG, NULL, NULL, QEMU_CAPS_MAPPED_RAM },
    { QEMU_CAPS_FILE_FDSET, 0, CHECK_FLAG, NULL, NULL, QEMU_CAPS_MULTIFD },
    { QEMU_CAPS_FILE_FDSET, 0, CHECK_FLAG, NULL, NULL, QEMU_CAPS_FDSET },
    { QEMU_CAPS_POSTCOPY_RAM, 0, CHECK_MIG_CAP, "postcopy-ram", NULL, 0 },
    { QEMU_CAPS_POSTCOPY_RECOVER, 0, CHECK_FLAG, NULL, NULL, QEMU_CAPS_POSTCOPY_RAM },
    { QEMU_CAPS_POSTCOPY_RECOVER, 0, CHECK_COMMAND, "migrate-recover", NULL, 0 },
    { QEMU_CAPS_POSTCOPY_RECOVER, 0, CHECK_COMMAND, "migrate-pause", NULL, 0 },
    { QEMU_CAPS_AUTO_CONVERGE, 0, CHECK_MIG_CAP, "auto-converge", NULL, 0 },
    { QEMU_CAPS_XBZRLE, 0, CHECK_MIG_CAP, "xbzrle", NULL, 0 },
    { QEMU_CAPS_RETURN_PATH, 0, CHECK_MIG_CAP, "return-path", NULL, 0 },
    { QEMU_CAPS_PAUSE_BEFORE_SWITCHOVER, 0, CHECK_MIG_CAP, "pause-before-switchover", NULL, 0 },
    { QEMU_CAPS_PAUSE_BEFORE_SWITCHOVER, 0, CHECK_COMMAND, "migrate-continue", NULL, 0 },
    { QEMU_CAPS_ZERO_COPY_SEND, 0, CHECK_MIG_CAP, "zero-copy-send", NULL, 0 },
    { QEMU_CAPS_DIRTY_BITMAPS, 0, CHECK_MIG_CAP, "dirty-bitmaps", NULL, 0 },
    { QEMU_CAPS_LATE_BLOCK_ACTIVATE, 0, CHECK_MIG_CAP, "late-block-activate", NULL, 0 },
    { QEMU_CAPS_SWITCHOVER_ACK, 0, CHECK_MIG_CAP, "switchover-ack", NULL, 0 },
    { QEMU_CAPS_MIGRATE_TLS, 0, CHECK_MIG_PARAM, "tls-creds", NULL, 0 },
    { QEMU_CAPS_ZERO_PAGE_DETECTION, 0, CHECK_MIG_PARAM, "zero-page-detection", NULL, 0 },
    { QEMU_CAPS_DIRECT_IO, 0, CHECK_MIG_PARAM, "direct-io", NULL, 0 },
    { QEMU_CAPS_MIGRATION_MODE, 0, CHECK_MIG_PARAM, "mode", NULL, 0 },
    /* MigMode's values (QEMU 8.2 and 10.0); cpr-transfer also needs the
     * 'cpr' channel type to pass its state. */
    { QEMU_CAPS_CPR_REBOOT, 0, CHECK_FLAG, NULL, NULL, QEMU_CAPS_MIGRATION_MODE },
    { QEMU_CAPS_CPR_REBOOT, 0, CHECK_ENUM, "migrate-set-parameters/arg-type/mode", "cpr-reboot",
      0 },
    { QEMU_CAPS_CPR_TRANSFER, 0, CHECK_FLAG, NULL, NULL, QEMU_CAPS_MIGRATION_MODE },
    { QEMU_CAPS_CPR_TRANSFER, 0, CHECK_ENUM, "migrate-set-parameters/arg-type/mode", "cpr-transfer",
      0 },
    { QEMU_CAPS_CPR_TRANSFER, 0, CHECK_ENUM, "migrate/arg-type/channels/channel-type", "cpr", 0 },
    /* Backends handed over: either the migration parameter
     * 'backend-transfer', or TAP netdevs preserved across cpr-transfer
     * (NetdevTapOptions 'cpr'). */
    { QEMU_CAPS_BACKEND_TRANSFER, 0, CHECK_MIG_PARAM, "backend-transfer", NULL, 0 },
    { QEMU_CAPS_BACKEND_TRANSFER, 1, CHECK_FLAG, NULL, NULL, QEMU_CAPS_CPR_TRANSFER },
    { QEMU_CAPS_BACKEND_TRANSFER, 1, CHECK_PATH, "netdev_add/arg-type/+tap/cpr", NULL, 0 },
    { QEMU_CAPS_BLOCKDEV, 0, CHECK_COMMAND, "blockdev-add", NULL, 0 },
    { QEMU_CAPS_BLOCKDEV, 0, CHECK_COMMAND, "blockdev-del", NULL, 0 },
    { QEMU_CAPS_MIGRATE_DIRTY_RATE, 0, CHECK_PATH, "query-migrate/ret-type/ram/dirty-pages-rate",
      NULL, 0 },
    { QEMU_CAPS_QUERY_DIRTY_RATE, 0, CHECK_COMMAND, "calc-dirty-rate", NULL, 0 },
    { QEMU_CAPS_QUERY_DIRTY_RATE, 0, CHECK_COMMAND, "query-dirty-rate", NULL, 0 },
    { QEMU_CAPS_MIGRATION_EVENT, 0, CHECK_EVENT, "MIGRATION", NULL, 0 },
    { QEMU_CAPS_MIGRATION_EVENT, 0, CHECK_MIG_CAP, "events", NULL, 0 },
    { QEMU_CAPS_MIGRATION_PASS_EVENT, 0, CHECK_EVENT, "MIGRATION_PASS", NULL, 0 },
    { QEMU_CAPS_MIGRATION_PASS_EVENT, 0, CHECK_MIG_CAP, "events", NULL, 0 },
};

#define QEMU_CAPS_MAX_ALT 2

static gboolean qemu_caps_strv_has(char *const *strv, const char *name)
{
    return strv && g_strv_contains((const char *const *)strv, name);
}

static gboolean qemu_caps_check_holds(const QemuCaps *caps, const QemuCapsCheck *check)
{
    const QemuCapsSchema *schema = caps->schema;

    switch (check->kind) {
    case CHECK_COMMAND:
        return qemu_caps_schema_has_command(schema, check->what);
    case CHECK_EVENT:
        return qemu_caps_schema_has_event(schema, check->what);
    case CHECK_PATH:
        return qemu_caps_schema_has_path(schema, check->what);
    case CHECK_ENUM:
        return qemu_caps_schema_enum_has_value(schema, check->what, check->value);
    case CHECK_MIG_CAP:
        return qemu_caps_strv_has(caps->mig_caps, check->what);
    case CHECK_MIG_PARAM:
        return qemu_caps_strv_has(caps->mig_params, check->what) ||
               qemu_caps_schema_command_has_arg(schema, "migrate-set-parameters", check->what);
    case CHECK_FLAG:
        if (check->dep >= check->flag) {
            FLOG_ERROR("capability '%s' depends on '%s', which is decided later",
                       qemu_caps_flag_names[check->flag], qemu_caps_flag_names[check->dep]);
            return FALSE;
        }
        return caps->flags[check->dep];
    }
    return FALSE;
}

void qemu_caps_decide_flags(QemuCaps *caps)
{
    for (int flag = 0; flag < QEMU_CAPS_LAST; flag++) {
        gboolean set = FALSE;

        for (int alt = 0; alt < QEMU_CAPS_MAX_ALT && !set; alt++) {
            gboolean any = FALSE;
            gboolean all = TRUE;

            for (gsize i = 0; i < G_N_ELEMENTS(qemu_caps_checks) && all; i++) {
                const QemuCapsCheck *check = &qemu_caps_checks[i];

                if ((int)check->flag != flag || check->alt != alt)
                    continue;
                any = TRUE;
                all = qemu_caps_check_holds(caps, check);
            }
            set = any && all;
        }
        caps->flags[flag] = set;
    }
}

/* ---------------------------------------------------------------- the object */

static void qemu_caps_machine_free(gpointer p)
{
    QemuCapsMachine *m = p;

    g_free(m->name);
    g_free(m->alias);
    g_free(m);
}

QemuCaps *qemu_caps_new_empty(void)
{
    QemuCaps *caps = g_new0(QemuCaps, 1);
    char *none[] = { NULL };

    caps->refs = 1;
    caps->package = g_strdup("");
    caps->arch = g_strdup("");
    caps->machines = g_ptr_array_new_with_free_func(qemu_caps_machine_free);
    caps->accels = g_strdupv(none);
    caps->mig_caps = g_strdupv(none);
    caps->mig_params = g_strdupv(none);
    caps->cpu_models = g_strdupv(none);
    return caps;
}

void qemu_caps_add_machine(QemuCaps *caps, const char *name, const char *alias, gboolean is_default,
                           gboolean deprecated, int cpu_max)
{
    QemuCapsMachine *m = g_new0(QemuCapsMachine, 1);

    m->name = g_strdup(name);
    m->alias = g_strdup(alias);
    m->is_default = is_default;
    m->deprecated = deprecated;
    m->cpu_max = cpu_max;
    g_ptr_array_add(caps->machines, m);
}

QemuCaps *qemu_caps_ref(QemuCaps *caps)
{
    g_atomic_int_inc(&caps->refs);
    return caps;
}

void qemu_caps_unref(QemuCaps *caps)
{
    if (!caps || !g_atomic_int_dec_and_test(&caps->refs))
        return;
    g_free(caps->binary);
    g_free(caps->package);
    g_free(caps->arch);
    g_ptr_array_unref(caps->machines);
    g_strfreev(caps->accels);
    g_strfreev(caps->mig_caps);
    g_strfreev(caps->mig_params);
    g_strfreev(caps->cpu_models);
    qemu_caps_schema_free(caps->schema);
    g_free(caps);
}

gboolean qemu_caps_has(const QemuCaps *caps, QemuCapsFlag flag)
{
    if (!caps || (int)flag < 0 || flag >= QEMU_CAPS_LAST)
        return FALSE;
    return caps->flags[flag];
}

const char *qemu_caps_get_binary(const QemuCaps *caps)
{
    return caps->binary;
}

void qemu_caps_get_version(const QemuCaps *caps, int *major, int *minor, int *micro)
{
    if (major)
        *major = caps->major;
    if (minor)
        *minor = caps->minor;
    if (micro)
        *micro = caps->micro;
}

const char *qemu_caps_get_package(const QemuCaps *caps)
{
    return caps->package;
}

const char *qemu_caps_get_arch(const QemuCaps *caps)
{
    return caps->arch;
}

gboolean qemu_caps_kvm_usable(const QemuCaps *caps)
{
    return caps->kvm_present && caps->kvm_device_rw;
}

const char *const *qemu_caps_get_accels(const QemuCaps *caps)
{
    return (const char *const *)caps->accels;
}

guint qemu_caps_get_n_machines(const QemuCaps *caps)
{
    return caps->machines->len;
}

const QemuCapsMachine *qemu_caps_get_machine(const QemuCaps *caps, guint i)
{
    return i < caps->machines->len ? caps->machines->pdata[i] : NULL;
}

const char *qemu_caps_get_default_machine(const QemuCaps *caps)
{
    for (guint i = 0; i < caps->machines->len; i++) {
        const QemuCapsMachine *m = caps->machines->pdata[i];

        if (m->is_default)
            return m->name;
    }
    return NULL;
}

const char *qemu_caps_machine_canonical(const QemuCaps *caps, const char *name)
{
    if (!name)
        return NULL;
    for (guint i = 0; i < caps->machines->len; i++) {
        const QemuCapsMachine *m = caps->machines->pdata[i];

        if (strcmp(m->name, name) == 0 || g_strcmp0(m->alias, name) == 0)
            return m->name;
    }
    return NULL;
}

const char *const *qemu_caps_get_migration_capabilities(const QemuCaps *caps)
{
    return (const char *const *)caps->mig_caps;
}

gboolean qemu_caps_has_migration_capability(const QemuCaps *caps, const char *name)
{
    return name && qemu_caps_strv_has(caps->mig_caps, name);
}

const char *const *qemu_caps_get_migration_parameters(const QemuCaps *caps)
{
    return (const char *const *)caps->mig_params;
}

gboolean qemu_caps_has_migration_parameter(const QemuCaps *caps, const char *name)
{
    return name && qemu_caps_strv_has(caps->mig_params, name);
}

const char *const *qemu_caps_get_cpu_models(const QemuCaps *caps)
{
    return (const char *const *)caps->cpu_models;
}

const QemuCapsSchema *qemu_caps_get_schema(const QemuCaps *caps)
{
    return caps->schema;
}

gboolean qemu_caps_identity_equal(const QemuCapsIdentity *a, const QemuCapsIdentity *b)
{
    return a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns && a->size == b->size &&
           a->inode == b->inode && a->device == b->device;
}

void qemu_caps_identity_from_stat(QemuCapsIdentity *id, const struct stat *st)
{
    id->mtime_ns = (gint64)st->st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) + st->st_mtim.tv_nsec;
    id->ctime_ns = (gint64)st->st_ctim.tv_sec * G_GINT64_CONSTANT(1000000000) + st->st_ctim.tv_nsec;
    id->size = (gint64)st->st_size;
    id->inode = (gint64)st->st_ino;
    id->device = (gint64)st->st_dev;
}

/* ---------------------------------------------------------------- JSON */

static json_object *qemu_caps_strv_to_json(char *const *strv)
{
    json_object *arr = json_object_new_array();

    for (guint i = 0; strv && strv[i]; i++)
        json_object_array_add(arr, json_object_new_string(strv[i]));
    return arr;
}

json_object *qemu_caps_to_json(const QemuCaps *caps)
{
    json_object *obj = json_object_new_object();
    json_object *id = json_object_new_object();
    json_object *version = json_object_new_object();
    json_object *kvm = json_object_new_object();
    json_object *machines = json_object_new_array();
    json_object *flags = json_object_new_array();

    json_object_object_add(obj, "format", json_object_new_int(QEMU_CAPS_CACHE_FORMAT_VERSION));
    if (caps->binary)
        json_object_object_add(obj, "binary", json_object_new_string(caps->binary));
    json_object_object_add(id, "mtime-ns", json_object_new_int64(caps->identity.mtime_ns));
    json_object_object_add(id, "ctime-ns", json_object_new_int64(caps->identity.ctime_ns));
    json_object_object_add(id, "size", json_object_new_int64(caps->identity.size));
    json_object_object_add(id, "inode", json_object_new_int64(caps->identity.inode));
    json_object_object_add(id, "device", json_object_new_int64(caps->identity.device));
    json_object_object_add(obj, "binary-identity", id);

    json_object_object_add(version, "major", json_object_new_int(caps->major));
    json_object_object_add(version, "minor", json_object_new_int(caps->minor));
    json_object_object_add(version, "micro", json_object_new_int(caps->micro));
    json_object_object_add(version, "package", json_object_new_string(caps->package));
    json_object_object_add(obj, "version", version);
    json_object_object_add(obj, "arch", json_object_new_string(caps->arch));

    json_object_object_add(kvm, "present", json_object_new_boolean(caps->kvm_present));
    json_object_object_add(kvm, "enabled", json_object_new_boolean(caps->kvm_enabled));
    json_object_object_add(kvm, "device-rw", json_object_new_boolean(caps->kvm_device_rw));
    json_object_object_add(obj, "kvm", kvm);
    json_object_object_add(obj, "accels", qemu_caps_strv_to_json(caps->accels));

    for (guint i = 0; i < caps->machines->len; i++) {
        const QemuCapsMachine *m = caps->machines->pdata[i];
        json_object *mo = json_object_new_object();

        json_object_object_add(mo, "name", json_object_new_string(m->name));
        if (m->alias)
            json_object_object_add(mo, "alias", json_object_new_string(m->alias));
        json_object_object_add(mo, "is-default", json_object_new_boolean(m->is_default));
        json_object_object_add(mo, "deprecated", json_object_new_boolean(m->deprecated));
        json_object_object_add(mo, "cpu-max", json_object_new_int(m->cpu_max));
        json_object_array_add(machines, mo);
    }
    json_object_object_add(obj, "machines", machines);
    json_object_object_add(obj, "migration-capabilities", qemu_caps_strv_to_json(caps->mig_caps));
    json_object_object_add(obj, "migration-parameters", qemu_caps_strv_to_json(caps->mig_params));
    json_object_object_add(obj, "cpu-models", qemu_caps_strv_to_json(caps->cpu_models));

    /* For people reading the file; parsing decides the flags again. */
    for (int f = 0; f < QEMU_CAPS_LAST; f++)
        if (caps->flags[f])
            json_object_array_add(flags, json_object_new_string(qemu_caps_flag_names[f]));
    json_object_object_add(obj, "flags", flags);
    if (caps->schema)
        json_object_object_add(obj, "schema", qemu_caps_schema_to_json(caps->schema));
    return obj;
}

/* obj[key] of type type, or an error naming key. */
static json_object *qemu_caps_json_member(json_object *obj, const char *key, json_type type,
                                          GError **error)
{
    json_object *val = NULL;

    if (!json_object_object_get_ex(obj, key, &val) || !json_object_is_type(val, type)) {
        ferry_fail(error, FERRY_ERR_PARSE, "QEMU capabilities: no %s '%s'", json_type_to_name(type),
                   key);
        return NULL;
    }
    return val;
}

static gboolean qemu_caps_json_int64(json_object *obj, const char *key, gint64 *out, GError **error)
{
    json_object *val = qemu_caps_json_member(obj, key, json_type_int, error);

    if (!val)
        return FALSE;
    *out = json_object_get_int64(val);
    return TRUE;
}

static gboolean qemu_caps_json_bool(json_object *obj, const char *key, gboolean *out,
                                    GError **error)
{
    json_object *val = qemu_caps_json_member(obj, key, json_type_boolean, error);

    if (!val)
        return FALSE;
    *out = json_object_get_boolean(val);
    return TRUE;
}

static gboolean qemu_caps_json_str(json_object *obj, const char *key, char **out, GError **error)
{
    json_object *val = qemu_caps_json_member(obj, key, json_type_string, error);

    if (!val)
        return FALSE;
    g_free(*out);
    *out = g_strdup(json_object_get_string(val));
    return TRUE;
}

static gboolean qemu_caps_json_strv(json_object *obj, const char *key, GStrv *out, GError **error)
{
    json_object *arr = qemu_caps_json_member(obj, key, json_type_array, error);
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

    if (!arr)
        return FALSE;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *item = json_object_array_get_idx(arr, i);

        if (!json_object_is_type(item, json_type_string)) {
            ferry_fail(error, FERRY_ERR_PARSE, "QEMU capabilities: '%s' item %zu is not a string",
                       key, i);
            return FALSE;
        }
        g_strv_builder_add(builder, json_object_get_string(item));
    }
    g_strfreev(*out);
    *out = g_strv_builder_end(builder);
    return TRUE;
}

static gboolean qemu_caps_json_machines(QemuCaps *caps, json_object *obj, GError **error)
{
    json_object *arr = qemu_caps_json_member(obj, "machines", json_type_array, error);

    if (!arr)
        return FALSE;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *mo = json_object_array_get_idx(arr, i);
        g_autofree char *name = NULL;
        g_autofree char *alias = NULL;
        json_object *val = NULL;
        gboolean is_default = FALSE, deprecated = FALSE;
        gint64 cpu_max = 0;

        if (!json_object_is_type(mo, json_type_object)) {
            ferry_fail(error, FERRY_ERR_PARSE, "QEMU capabilities: machine %zu is not an object",
                       i);
            return FALSE;
        }
        if (!qemu_caps_json_str(mo, "name", &name, error) ||
            !qemu_caps_json_bool(mo, "is-default", &is_default, error) ||
            !qemu_caps_json_bool(mo, "deprecated", &deprecated, error) ||
            !qemu_caps_json_int64(mo, "cpu-max", &cpu_max, error))
            return FALSE;
        if (json_object_object_get_ex(mo, "alias", &val) &&
            !qemu_caps_json_str(mo, "alias", &alias, error))
            return FALSE;
        qemu_caps_add_machine(caps, name, alias, is_default, deprecated, (int)cpu_max);
    }
    return TRUE;
}

QemuCaps *qemu_caps_from_json(json_object *obj, GError **error)
{
    g_autoptr(QemuCaps) caps = qemu_caps_new_empty();
    json_object *id, *version, *kvm, *schema, *val = NULL;
    gint64 format = 0, major = 0, minor = 0, micro = 0;

    if (!json_object_is_type(obj, json_type_object)) {
        ferry_fail(error, FERRY_ERR_PARSE, "QEMU capabilities: not a JSON object");
        return NULL;
    }
    if (!qemu_caps_json_int64(obj, "format", &format, error))
        return NULL;
    if (format != QEMU_CAPS_CACHE_FORMAT_VERSION) {
        ferry_fail(error, FERRY_ERR_PARSE,
                   "QEMU capabilities: format %" G_GINT64_FORMAT " is not ferry's (%d)", format,
                   QEMU_CAPS_CACHE_FORMAT_VERSION);
        return NULL;
    }
    if (json_object_object_get_ex(obj, "binary", &val) &&
        !qemu_caps_json_str(obj, "binary", &caps->binary, error))
        return NULL;
    if (!(id = qemu_caps_json_member(obj, "binary-identity", json_type_object, error)) ||
        !qemu_caps_json_int64(id, "mtime-ns", &caps->identity.mtime_ns, error) ||
        !qemu_caps_json_int64(id, "ctime-ns", &caps->identity.ctime_ns, error) ||
        !qemu_caps_json_int64(id, "size", &caps->identity.size, error) ||
        !qemu_caps_json_int64(id, "inode", &caps->identity.inode, error) ||
        !qemu_caps_json_int64(id, "device", &caps->identity.device, error))
        return NULL;
    if (!(version = qemu_caps_json_member(obj, "version", json_type_object, error)) ||
        !qemu_caps_json_int64(version, "major", &major, error) ||
        !qemu_caps_json_int64(version, "minor", &minor, error) ||
        !qemu_caps_json_int64(version, "micro", &micro, error) ||
        !qemu_caps_json_str(version, "package", &caps->package, error))
        return NULL;
    caps->major = (int)major;
    caps->minor = (int)minor;
    caps->micro = (int)micro;
    if (!qemu_caps_json_str(obj, "arch", &caps->arch, error) ||
        !(kvm = qemu_caps_json_member(obj, "kvm", json_type_object, error)) ||
        !qemu_caps_json_bool(kvm, "present", &caps->kvm_present, error) ||
        !qemu_caps_json_bool(kvm, "enabled", &caps->kvm_enabled, error) ||
        !qemu_caps_json_bool(kvm, "device-rw", &caps->kvm_device_rw, error) ||
        !qemu_caps_json_strv(obj, "accels", &caps->accels, error) ||
        !qemu_caps_json_machines(caps, obj, error) ||
        !qemu_caps_json_strv(obj, "migration-capabilities", &caps->mig_caps, error) ||
        !qemu_caps_json_strv(obj, "migration-parameters", &caps->mig_params, error) ||
        !qemu_caps_json_strv(obj, "cpu-models", &caps->cpu_models, error) ||
        !(schema = qemu_caps_json_member(obj, "schema", json_type_array, error)))
        return NULL;
    if (!(caps->schema = qemu_caps_schema_new(schema, error)))
        return NULL;
    qemu_caps_decide_flags(caps);
    return g_steal_pointer(&caps);
}
