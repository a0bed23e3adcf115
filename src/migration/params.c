/*
 * params.c: from ferry's (libvirt's) migration flags and typed parameters
 * to QEMU's migration capabilities and parameters, as data: one table per
 * kind, each entry saying on which side it applies and in which unit.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.params"

#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

/* Every typed parameter a v3 phase accepts. */
static const TypedParamSpec migration_param_spec[] = {
    { MIGRATION_PARAM_URI, TYPED_PARAM_STRING, 0 },
    { MIGRATION_PARAM_DEST_NAME, TYPED_PARAM_STRING, 0 },
    { MIGRATION_PARAM_DEST_XML, TYPED_PARAM_STRING, 0 },
    { MIGRATION_PARAM_PERSIST_XML, TYPED_PARAM_STRING, 0 },
    { MIGRATION_PARAM_BANDWIDTH, TYPED_PARAM_ULLONG, 0 },
    { MIGRATION_PARAM_BANDWIDTH_POSTCOPY, TYPED_PARAM_ULLONG, 0 },
    { MIGRATION_PARAM_GRAPHICS_URI, TYPED_PARAM_STRING, 0 },
    { MIGRATION_PARAM_LISTEN_ADDRESS, TYPED_PARAM_STRING, 0 },
    { MIGRATION_PARAM_COMPRESSION, TYPED_PARAM_STRING, TYPED_PARAM_MULTIPLE },
    { MIGRATION_PARAM_COMPRESSION_MT_LEVEL, TYPED_PARAM_INT, 0 },
    { MIGRATION_PARAM_COMPRESSION_MT_THREADS, TYPED_PARAM_INT, 0 },
    { MIGRATION_PARAM_COMPRESSION_MT_DTHREADS, TYPED_PARAM_INT, 0 },
    { MIGRATION_PARAM_COMPRESSION_XBZRLE_CACHE, TYPED_PARAM_ULLONG, 0 },
    { MIGRATION_PARAM_COMPRESSION_ZLIB_LEVEL, TYPED_PARAM_INT, 0 },
    { MIGRATION_PARAM_COMPRESSION_ZSTD_LEVEL, TYPED_PARAM_INT, 0 },
    { MIGRATION_PARAM_AUTO_CONVERGE_INITIAL, TYPED_PARAM_INT, 0 },
    { MIGRATION_PARAM_AUTO_CONVERGE_INCREMENT, TYPED_PARAM_INT, 0 },
    { MIGRATION_PARAM_PARALLEL_CONNECTIONS, TYPED_PARAM_INT, 0 },
};

/* ---- capabilities: a flag (or a compression method) turns one on */

typedef enum {
    MIGRATION_CAP_NEVER, /* always set off (left from an earlier run) */
    MIGRATION_CAP_FLAG, /* on when the flag is given */
    MIGRATION_CAP_COMPRESSION, /* on when the compression method is asked */
    MIGRATION_CAP_ALWAYS, /* ferry's own: on whenever QEMU has it */
} MigrationCapWhen;

typedef struct {
    const char *capability; /* QEMU's name */
    MigrationSide side;
    MigrationCapWhen when;
    unsigned int flag; /* MIGRATION_CAP_FLAG */
    /* MIGRATION_CAP_COMPRESSION: the method; MIGRATION_CAP_FLAG: the flag (messages) */
    const char *asked_by;
} MigrationCapMap;

static const MigrationCapMap migration_caps[] = {
    { "xbzrle", MIGRATION_SIDE_BOTH, MIGRATION_CAP_COMPRESSION, 0, "xbzrle" },
    { "compress", MIGRATION_SIDE_BOTH, MIGRATION_CAP_COMPRESSION, 0, "mt" },
    { "auto-converge", MIGRATION_SIDE_SRC, MIGRATION_CAP_FLAG, MIGRATION_AUTO_CONVERGE,
      "auto-converge" },
    { "rdma-pin-all", MIGRATION_SIDE_SRC, MIGRATION_CAP_NEVER, 0, NULL },
    { "postcopy-ram", MIGRATION_SIDE_BOTH, MIGRATION_CAP_FLAG, MIGRATION_POSTCOPY, "postcopy" },
    { "multifd", MIGRATION_SIDE_BOTH, MIGRATION_CAP_FLAG, MIGRATION_PARALLEL, "parallel" },
    /* the source stops before the switchover: ferry releases the leases
     * there, then lets QEMU continue */
    { "pause-before-switchover", MIGRATION_SIDE_SRC, MIGRATION_CAP_ALWAYS, 0, NULL },
    /* the incoming QEMU opens the disks for writing (QEMU's own image
     * locks) at cont only, which Finish3 sends after taking the leases;
     * else it does so once the data arrived, and a source that resumes
     * instead (a Confirm3 cancelled while Finish3 fails) finds its disks
     * locked by a QEMU that is about to be killed */
    { "late-block-activate", MIGRATION_SIDE_DST, MIGRATION_CAP_ALWAYS, 0, NULL },
    /* MIGRATION events: a phase waiting for QEMU's status wakes at once */
    { "events", MIGRATION_SIDE_BOTH, MIGRATION_CAP_ALWAYS, 0, NULL },
    { "dirty-bitmaps", MIGRATION_SIDE_BOTH, MIGRATION_CAP_NEVER, 0, NULL },
    { "zero-copy-send", MIGRATION_SIDE_SRC, MIGRATION_CAP_NEVER, 0, NULL },
};

/* ---- parameters: a typed parameter sets one QEMU parameter */

typedef struct {
    const char *param; /* typed parameter name */
    const char *qemu; /* QEMU's parameter */
    MigrationSide side;
    unsigned long long unit; /* QEMU value = value * unit */
} MigrationParamMap;

static const MigrationParamMap migration_params[] = {
    { MIGRATION_PARAM_BANDWIDTH, "max-bandwidth", MIGRATION_SIDE_SRC, 1024 * 1024 },
    { MIGRATION_PARAM_BANDWIDTH_POSTCOPY, "max-postcopy-bandwidth", MIGRATION_SIDE_SRC,
      1024 * 1024 },
    { MIGRATION_PARAM_COMPRESSION_MT_LEVEL, "compress-level", MIGRATION_SIDE_SRC, 1 },
    { MIGRATION_PARAM_COMPRESSION_MT_THREADS, "compress-threads", MIGRATION_SIDE_SRC, 1 },
    { MIGRATION_PARAM_COMPRESSION_MT_DTHREADS, "decompress-threads", MIGRATION_SIDE_DST, 1 },
    { MIGRATION_PARAM_COMPRESSION_XBZRLE_CACHE, "xbzrle-cache-size", MIGRATION_SIDE_SRC, 1 },
    { MIGRATION_PARAM_COMPRESSION_ZLIB_LEVEL, "multifd-zlib-level", MIGRATION_SIDE_SRC, 1 },
    { MIGRATION_PARAM_COMPRESSION_ZSTD_LEVEL, "multifd-zstd-level", MIGRATION_SIDE_SRC, 1 },
    { MIGRATION_PARAM_AUTO_CONVERGE_INITIAL, "cpu-throttle-initial", MIGRATION_SIDE_SRC, 1 },
    { MIGRATION_PARAM_AUTO_CONVERGE_INCREMENT, "cpu-throttle-increment", MIGRATION_SIDE_SRC, 1 },
    { MIGRATION_PARAM_PARALLEL_CONNECTIONS, "multifd-channels", MIGRATION_SIDE_BOTH, 1 },
};

/* Compression methods: a capability (above) or multifd's own. */
static const struct {
    const char *method;
    const char *multifd; /* multifd-compression value, or NULL */
} migration_methods[] = {
    { "xbzrle", NULL },
    { "mt", NULL },
    { "zlib", "zlib" },
    { "zstd", "zstd" },
};

/* QEMU's max-bandwidth for "unlimited": INT64_MAX rounded down to MiB, as
 * libvirt sends it. */
#define MIGRATION_BANDWIDTH_UNLIMITED (G_MAXINT64 / (1024 * 1024) * (1024 * 1024))

/* The flags ferry does not support, by the virsh option that sets them,
 * and what to do instead. */
static const struct {
    unsigned int flag;
    const char *option;
    const char *hint;
} migration_unsupported[] = {
    { MIGRATION_NON_SHARED_DISK, "--copy-storage-all",
      "ferry does not copy disks: they must be on storage both hosts share" },
    { MIGRATION_NON_SHARED_INC, "--copy-storage-inc",
      "ferry does not copy disks: they must be on storage both hosts share" },
    { MIGRATION_NON_SHARED_SYNCHRONOUS_WRITES, "--copy-storage-synchronous-writes",
      "ferry does not copy disks: they must be on storage both hosts share" },
    { MIGRATION_TLS, "--tls",
      "for an encrypted migration, use --p2p --tunnelled over a qemu+tls:// connection" },
    { MIGRATION_RDMA_PIN_ALL, "--rdma-pin-all", "ferry migrates over TCP only" },
    { MIGRATION_POSTCOPY_RESUME, "--postcopy-resume",
      "a failed post-copy migration cannot be resumed" },
    { MIGRATION_ZEROCOPY, "--zerocopy", "QEMU sends without zero-copy" },
};

gboolean migration_params_check(const char *name, const char *phase, const TypedParams *params,
                                unsigned int flags, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) methods = NULL;
    unsigned int unknown = flags & ~(unsigned int)MIGRATION_FLAGS_SUPPORTED;

    for (guint i = 0; i < G_N_ELEMENTS(migration_unsupported); i++) {
        if (unknown & migration_unsupported[i].flag) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT, "domain '%s': %s: %s is not supported: %s",
                       name ? name : "?", phase, migration_unsupported[i].option,
                       migration_unsupported[i].hint);
            return FALSE;
        }
    }
    if (unknown) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "domain '%s': %s: unsupported flags 0x%x",
                   name ? name : "?", phase, unknown);
        return FALSE;
    }
    if ((flags & MIGRATION_OFFLINE) && (flags & (MIGRATION_LIVE | MIGRATION_POSTCOPY))) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': %s: an offline migration cannot be live", name ? name : "?",
                   phase);
        return FALSE;
    }
    if (typed_params_validate(params, migration_param_spec, G_N_ELEMENTS(migration_param_spec),
                              &err) < 0) {
        ferry_fail(error, ferry_error_code_of(err), "domain '%s': %s: %s", name ? name : "?", phase,
                   err->message);
        return FALSE;
    }
    if (typed_params_get_strings(params, MIGRATION_PARAM_COMPRESSION, &methods, NULL) < 0)
        return FALSE;
    for (char **m = methods; m && *m; m++) {
        gboolean known = FALSE;

        for (gsize i = 0; i < G_N_ELEMENTS(migration_methods); i++)
            known = known || g_str_equal(*m, migration_methods[i].method);
        if (!known) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG,
                       "domain '%s': %s: unknown compression method '%s'", name ? name : "?", phase,
                       *m);
            return FALSE;
        }
        if (!(flags & MIGRATION_COMPRESSED)) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG,
                       "domain '%s': %s: compression methods need the COMPRESSED flag",
                       name ? name : "?", phase);
            return FALSE;
        }
    }
    return TRUE;
}

/* Is the compression method asked for?  COMPRESSED without methods means
 * xbzrle, as libvirt has it. */
static gboolean method_asked(GStrv methods, unsigned int flags, const char *method)
{
    if (!(flags & MIGRATION_COMPRESSED))
        return FALSE;
    if (!methods || !methods[0])
        return g_str_equal(method, "xbzrle");
    return g_strv_contains((const char *const *)methods, method);
}

/* Does this migration turn the capability on, on side? */
static gboolean cap_on(const MigrationCapMap *m, GStrv methods, unsigned int flags,
                       MigrationSide side)
{
    if (!(m->side & side))
        return FALSE;
    switch (m->when) {
    case MIGRATION_CAP_NEVER:
        return FALSE;
    case MIGRATION_CAP_FLAG:
        return (flags & m->flag) != 0;
    case MIGRATION_CAP_COMPRESSION:
        return method_asked(methods, flags, m->asked_by);
    case MIGRATION_CAP_ALWAYS:
        return TRUE;
    }
    return FALSE;
}

gboolean migration_params_cookie_caps(MigrationCookie *cookie, const QemuCaps *caps,
                                      const TypedParams *params, unsigned int flags,
                                      MigrationSide side, GError **error)
{
    g_auto(GStrv) methods = NULL;

    if (typed_params_get_strings(params, MIGRATION_PARAM_COMPRESSION, &methods, error) < 0)
        return FALSE;
    /* an empty <capabilities/> still says "this QEMU has none of them" */
    cookie->flags |= COOKIE_FLAG(COOKIE_FEATURE_CAPABILITIES);
    for (gsize i = 0; i < G_N_ELEMENTS(migration_caps); i++) {
        const MigrationCapMap *m = &migration_caps[i];

        if (!qemu_caps_has_migration_capability(caps, m->capability))
            continue;
        if (cookie_add_capability(cookie, m->capability, cap_on(m, methods, flags, side), error) <
            0)
            return FALSE;
    }
    return TRUE;
}

gboolean migration_params_check_peer_caps(const char *name, const MigrationCookie *cookie,
                                          const TypedParams *params, unsigned int flags,
                                          GError **error)
{
    g_auto(GStrv) methods = NULL;

    if (!(cookie->flags & COOKIE_FLAG(COOKIE_FEATURE_CAPABILITIES)))
        return TRUE; /* an older peer: its Prepare3 checked its QEMU */
    if (typed_params_get_strings(params, MIGRATION_PARAM_COMPRESSION, &methods, error) < 0)
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(migration_caps); i++) {
        const MigrationCapMap *m = &migration_caps[i];

        /* ALWAYS: ferry's own, set only where QEMU has them */
        if (m->when == MIGRATION_CAP_ALWAYS || !cap_on(m, methods, flags, MIGRATION_SIDE_DST) ||
            cookie_find_capability(cookie, m->capability))
            continue;
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "domain '%s': perform: the destination's QEMU has no migration capability "
                   "'%s' (needed for %s '%s'); not migrating",
                   name, m->capability,
                   m->when == MIGRATION_CAP_FLAG ? "the migration flag" : "the compression method",
                   m->asked_by);
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    GPtrArray *names;
    GArray *states;
    json_object *params;
    gboolean caps_set; /* QEMU took migrate-set-capabilities */
} ApplyData;

static gboolean apply_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    ApplyData *d = opaque;

    if (d->names->len && !qmp_migrate_set_capabilities(mon, (const char *const *)d->names->pdata,
                                                       (const gboolean *)(void *)d->states->data,
                                                       d->names->len, error))
        return FALSE;
    d->caps_set = TRUE;
    if (json_object_object_length(d->params) > 0 &&
        !qmp_migrate_set_parameters(mon, d->params, error))
        return FALSE;
    return TRUE;
}

gboolean migration_params_apply(QemuDriver *drv, DomainObj *obj, DomainAsyncJob job,
                                const TypedParams *params, unsigned int flags, MigrationSide side,
                                GError **error)
{
    const char *name = domain_obj_name(obj);
    g_autoptr(QemuCaps) caps = migration_get_caps(drv, obj, error);
    g_auto(GStrv) methods = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    g_autoptr(GArray) states = g_array_new(FALSE, TRUE, sizeof(gboolean));
    g_autoptr(json_object) qparams = json_object_new_object();
    const char *multifd_method = NULL;
    QemuProcess *proc = qemu_process_get(obj);
    gboolean ok;

    if (!caps)
        return FALSE;
    if (typed_params_get_strings(params, MIGRATION_PARAM_COMPRESSION, &methods, error) < 0)
        return FALSE;

    for (gsize i = 0; i < G_N_ELEMENTS(migration_caps); i++) {
        const MigrationCapMap *m = &migration_caps[i];
        gboolean on = cap_on(m, methods, flags, side);
        gboolean was_on;

        if (!qemu_caps_has_migration_capability(caps, m->capability)) {
            if (on && m->when != MIGRATION_CAP_ALWAYS) {
                ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                           "domain '%s': this QEMU has no migration capability '%s' (needed for "
                           "%s '%s')",
                           name, m->capability,
                           m->when == MIGRATION_CAP_FLAG ? "the migration flag"
                                                         : "the compression method",
                           m->asked_by);
                return FALSE;
            }
            continue;
        }
        /* QEMU has it so already: every byte sent costs (QEMU's monitor
         * reads its input one byte per main-loop iteration) */
        if (qemu_process_migration_cap_known(proc, m->capability, &was_on) && was_on == on)
            continue;
        g_ptr_array_add(names, (gpointer)m->capability);
        g_array_append_val(states, on);
    }

    for (gsize i = 0; i < G_N_ELEMENTS(migration_methods); i++) {
        if (migration_methods[i].multifd &&
            method_asked(methods, flags, migration_methods[i].method))
            multifd_method = migration_methods[i].multifd;
    }
    if (multifd_method) {
        if (!(flags & MIGRATION_PARALLEL)) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG,
                       "domain '%s': compression '%s' needs a parallel migration", name,
                       multifd_method);
            return FALSE;
        }
        json_object_object_add(qparams, "multifd-compression",
                               json_object_new_string(multifd_method));
    }

    for (gsize i = 0; i < G_N_ELEMENTS(migration_params); i++) {
        const MigrationParamMap *m = &migration_params[i];
        const TypedParam *p = typed_params_find(params, m->param);
        unsigned long long value;

        if (!p || !(m->side & side))
            continue;
        if (p->type == TYPED_PARAM_ULLONG) {
            if (p->value.ul > G_MAXINT64 / m->unit) {
                ferry_fail(error, FERRY_ERR_INVALID_ARG,
                           "domain '%s': parameter '%s' value %llu is too big", name, m->param,
                           p->value.ul);
                return FALSE;
            }
            value = p->value.ul * m->unit;
        } else {
            if (p->value.i < 0) {
                ferry_fail(error, FERRY_ERR_INVALID_ARG,
                           "domain '%s': parameter '%s' must not be negative (%d)", name, m->param,
                           p->value.i);
                return FALSE;
            }
            value = (unsigned long long)p->value.i * m->unit;
        }
        if (!qemu_caps_has_migration_parameter(caps, m->qemu)) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "domain '%s': this QEMU has no migration parameter '%s' (for '%s')", name,
                       m->qemu, m->param);
            return FALSE;
        }
        json_object_object_add(qparams, m->qemu, json_object_new_int64((int64_t)value));
    }
    if (side & MIGRATION_SIDE_SRC) {
        QemuMigrateTuning tuning;

        /* migrate-setspeed / migrate-setmaxdowntime given before */
        qemu_driver_get_migrate_tuning(drv, obj->def->uuid, &tuning);
        /* QEMU's default max-bandwidth is a limit (7.2: 128 MiB/s): unlimited unless asked */
        if (!json_object_object_get_ex(qparams, "max-bandwidth", NULL)) {
            long long bw = MIGRATION_BANDWIDTH_UNLIMITED;

            if (tuning.max_speed_set &&
                tuning.max_speed_mib < (unsigned long long)bw / (1024 * 1024))
                bw = (long long)tuning.max_speed_mib * 1024 * 1024;
            json_object_object_add(qparams, "max-bandwidth", json_object_new_int64(bw));
        }
        if (tuning.max_downtime_set)
            json_object_object_add(qparams, "downtime-limit",
                                   json_object_new_int64((int64_t)tuning.max_downtime_ms));
    }

    ApplyData d = { names, states, qparams, FALSE };
    FLOG_DEBUG("domain '%s': %u migration capabilities to change, parameters %s", name, names->len,
               json_object_to_json_string(qparams));
    ok = migration_monitor_run(obj, job, apply_cb, &d, error);
    /* the monitor dropped the lock: the process may have gone meanwhile */
    proc = qemu_process_get(obj);
    if (d.caps_set)
        qemu_process_note_migration_caps(proc, (const char *const *)names->pdata,
                                         (const gboolean *)(void *)states->data, names->len);
    else if (names->len)
        qemu_process_forget_migration_caps(proc); /* failed, or timed out half-way */
    return ok;
}
