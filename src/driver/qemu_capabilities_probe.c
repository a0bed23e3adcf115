/*
 * qemu_capabilities_probe.c: asking a QEMU what it can do (over QMP, and
 * by starting the binary), and the cache of the answers, in memory and on
 * disk.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.caps"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/iothread.h"
#include "util/spawn.h"
#include "driver/qemu_capabilities.h"
#include "driver/qemu_capabilities_priv.h"

/* Time QEMU gets between SIGTERM and SIGKILL once probed. */
#define PROBE_KILL_GRACE_MS 1000
/* How long a QEMU that closed its monitor gets to be seen exiting. */
#define PROBE_EXIT_WAIT_MS 1000
/* How much of QEMU's stderr goes into an error message. */
#define PROBE_STDERR_MAX 512

static int probe_timeout(int timeout_ms)
{
    return timeout_ms > 0 ? timeout_ms : QEMU_CAPS_PROBE_TIMEOUT_MS;
}

static int probe_ms_left(gint64 deadline)
{
    gint64 left = (deadline - g_get_monotonic_time() + 999) / 1000;

    return (int)CLAMP(left, 0, G_MAXINT);
}

static gboolean probe_kvm_device_rw(const char *path)
{
    g_auto(FerryFd) fd = open(path ? path : "/dev/kvm", O_RDWR | O_CLOEXEC);

    return fd >= 0;
}

/* ---------------------------------------------------------------- QMP part */

/* Runs one command within the probe's deadline.  An optional command that
 * QEMU answers with an error gives NULL with *error unset (logged). */
static json_object *probe_call(QemuMonitor *mon, gint64 deadline, const char *execute,
                               json_object *args, gboolean optional, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *error_class = NULL;
    int left = probe_ms_left(deadline);
    json_object *ret;

    if (left <= 0) {
        ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                   "probing QEMU capabilities: no time left for QMP command '%s'", execute);
        return NULL;
    }
    ret = qmp_call_full(mon, execute, args, NULL, 0, left, &error_class, &err);
    if (ret)
        return ret;
    if (optional && error_class) {
        FLOG_INFO("probing QEMU capabilities: ignoring %s", err->message);
        return NULL;
    }
    g_propagate_error(error, g_steal_pointer(&err));
    return NULL;
}

static gboolean probe_bad_reply(const char *execute, const char *what, GError **error)
{
    ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "QMP command '%s': %s", execute, what);
    return FALSE;
}

static gboolean probe_version(QemuCaps *caps, QemuMonitor *mon, gint64 deadline, GError **error)
{
    g_autoptr(json_object) ret = probe_call(mon, deadline, "query-version", NULL, FALSE, error);
    json_object *qemu = NULL, *val = NULL;
    static const char *const keys[] = { "major", "minor", "micro" };
    int *parts[] = { &caps->major, &caps->minor, &caps->micro };

    if (!ret)
        return FALSE;
    if (!json_object_object_get_ex(ret, "qemu", &qemu) ||
        !json_object_is_type(qemu, json_type_object))
        return probe_bad_reply("query-version", "reply has no object 'qemu'", error);
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (!json_object_object_get_ex(qemu, keys[i], &val) ||
            !json_object_is_type(val, json_type_int))
            return probe_bad_reply("query-version", "reply has no version numbers", error);
        *parts[i] = json_object_get_int(val);
    }
    if (json_object_object_get_ex(ret, "package", &val) &&
        json_object_is_type(val, json_type_string)) {
        g_free(caps->package);
        caps->package = g_strdup(json_object_get_string(val));
    }
    return TRUE;
}

static gboolean probe_schema(QemuCaps *caps, QemuMonitor *mon, gint64 deadline, GError **error)
{
    g_autoptr(json_object) ret = probe_call(mon, deadline, "query-qmp-schema", NULL, FALSE, error);

    if (!ret)
        return FALSE;
    caps->schema = qemu_caps_schema_new(ret, error);
    return caps->schema != NULL;
}

static gboolean probe_target(QemuCaps *caps, QemuMonitor *mon, gint64 deadline, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = probe_call(mon, deadline, "query-target", NULL, TRUE, &err);
    json_object *arch = NULL;

    if (!ret) {
        if (!err)
            return TRUE; /* refused: left empty */
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    if (json_object_object_get_ex(ret, "arch", &arch) &&
        json_object_is_type(arch, json_type_string)) {
        g_free(caps->arch);
        caps->arch = g_strdup(json_object_get_string(arch));
    }
    return TRUE;
}

static gboolean probe_machines(QemuCaps *caps, QemuMonitor *mon, gint64 deadline, GError **error)
{
    g_autoptr(json_object) ret = probe_call(mon, deadline, "query-machines", NULL, FALSE, error);

    if (!ret)
        return FALSE;
    if (!json_object_is_type(ret, json_type_array))
        return probe_bad_reply("query-machines", "reply is not an array", error);
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *m = json_object_array_get_idx(ret, i);
        json_object *name = NULL, *alias = NULL, *val = NULL;
        gboolean is_default = FALSE, deprecated = FALSE;
        int cpu_max = 0;

        if (!json_object_is_type(m, json_type_object) ||
            !json_object_object_get_ex(m, "name", &name) ||
            !json_object_is_type(name, json_type_string)) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "QMP command 'query-machines': entry %zu has no 'name'", i);
            return FALSE;
        }
        if (json_object_object_get_ex(m, "alias", &alias) &&
            !json_object_is_type(alias, json_type_string))
            alias = NULL;
        if (json_object_object_get_ex(m, "is-default", &val))
            is_default = json_object_get_boolean(val);
        if (json_object_object_get_ex(m, "deprecated", &val))
            deprecated = json_object_get_boolean(val);
        if (json_object_object_get_ex(m, "cpu-max", &val))
            cpu_max = json_object_get_int(val);
        qemu_caps_add_machine(caps, json_object_get_string(name),
                              alias ? json_object_get_string(alias) : NULL, is_default, deprecated,
                              cpu_max);
    }
    return TRUE;
}

static gboolean probe_kvm(QemuCaps *caps, QemuMonitor *mon, gint64 deadline, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = probe_call(mon, deadline, "query-kvm", NULL, TRUE, &err);
    json_object *val = NULL;

    if (!ret) {
        if (!err)
            return TRUE; /* refused: left empty */
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    if (json_object_object_get_ex(ret, "present", &val))
        caps->kvm_present = json_object_get_boolean(val);
    if (json_object_object_get_ex(ret, "enabled", &val))
        caps->kvm_enabled = json_object_get_boolean(val);
    return TRUE;
}

static int probe_name_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names of the items of an array reply: item[key] for each object item,
 * sorted, or the keys of an object reply (key NULL). */
static GStrv probe_names(json_object *ret, const char *key, const char *strip_suffix)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

    if (!key && json_object_is_type(ret, json_type_object)) {
        json_object_object_foreach(ret, k, v)
        {
            (void)v;
            g_ptr_array_add(names, g_strdup(k));
        }
    }
    for (size_t i = 0;
         key && json_object_is_type(ret, json_type_array) && i < json_object_array_length(ret);
         i++) {
        json_object *item = json_object_array_get_idx(ret, i);
        json_object *val = NULL;
        const char *name;

        if (!json_object_object_get_ex(item, key, &val) ||
            !json_object_is_type(val, json_type_string))
            continue;
        name = json_object_get_string(val);
        if (strip_suffix) {
            if (!g_str_has_suffix(name, strip_suffix))
                continue;
            g_ptr_array_add(names, g_strndup(name, strlen(name) - strlen(strip_suffix)));
        } else {
            g_ptr_array_add(names, g_strdup(name));
        }
    }
    g_ptr_array_sort(names, probe_name_cmp);
    g_ptr_array_add(names, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

/* A command whose reply is a list of names.  Optional ones that QEMU
 * refuses leave *out as it was. */
static gboolean probe_list(QemuMonitor *mon, gint64 deadline, const char *execute,
                           json_object *args, gboolean optional, const char *key,
                           const char *strip_suffix, GStrv *out, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = probe_call(mon, deadline, execute, args, optional, &err);

    if (!ret) {
        if (!err)
            return TRUE; /* refused: left empty */
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    if (!json_object_is_type(ret, key ? json_type_array : json_type_object))
        return probe_bad_reply(execute, key ? "reply is not an array" : "reply is not an object",
                               error);
    g_strfreev(*out);
    *out = probe_names(ret, key, strip_suffix);
    return TRUE;
}

QemuCaps *qemu_caps_probe_monitor(QemuMonitor *mon, int timeout_ms, const char *kvm_device,
                                  GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)probe_timeout(timeout_ms) * 1000;
    g_autoptr(QemuCaps) caps = qemu_caps_new_empty();
    g_autoptr(json_object) accel_args = json_object_new_object();
    const QemuCapsSchema *schema;

    json_object_object_add(accel_args, "implements", json_object_new_string("accel"));
    json_object_object_add(accel_args, "abstract", json_object_new_boolean(FALSE));

    if (!probe_version(caps, mon, deadline, error) || !probe_schema(caps, mon, deadline, error))
        return NULL;
    schema = caps->schema;
#define HAS(cmd) qemu_caps_schema_has_command(schema, cmd)
    if ((HAS("query-target") && !probe_target(caps, mon, deadline, error)) ||
        (HAS("query-machines") && !probe_machines(caps, mon, deadline, error)) ||
        (HAS("query-kvm") && !probe_kvm(caps, mon, deadline, error)) ||
        (HAS("qom-list-types") && !probe_list(mon, deadline, "qom-list-types", accel_args, TRUE,
                                              "name", "-accel", &caps->accels, error)) ||
        (HAS("query-migrate-capabilities") &&
         !probe_list(mon, deadline, "query-migrate-capabilities", NULL, FALSE, "capability", NULL,
                     &caps->mig_caps, error)) ||
        (HAS("query-migrate-parameters") &&
         !probe_list(mon, deadline, "query-migrate-parameters", NULL, FALSE, NULL, NULL,
                     &caps->mig_params, error)) ||
        (HAS("query-cpu-definitions") && !probe_list(mon, deadline, "query-cpu-definitions", NULL,
                                                     TRUE, "name", NULL, &caps->cpu_models, error)))
        return NULL;
#undef HAS
    caps->kvm_device_rw = probe_kvm_device_rw(kvm_device);
    qemu_caps_decide_flags(caps);
    return g_steal_pointer(&caps);
}

/* ---------------------------------------------------------------- the binary */

/* The private directory of one probe, removed with what is in it. */
typedef struct {
    char *dir;
    char *sock;
    char *log;
} ProbeDir;

static void probe_dir_free(ProbeDir *pd)
{
    if (!pd)
        return;
    if (pd->sock)
        g_unlink(pd->sock);
    if (pd->log)
        g_unlink(pd->log);
    if (pd->dir && g_rmdir(pd->dir) < 0)
        FLOG_WARN("cannot remove '%s': %s", pd->dir, g_strerror(errno));
    g_free(pd->dir);
    g_free(pd->sock);
    g_free(pd->log);
    g_free(pd);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ProbeDir, probe_dir_free)

/* The start of QEMU's stderr, on one line, for messages. */
static char *probe_read_stderr(const ProbeDir *pd)
{
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!g_file_get_contents(pd->log, &text, &len, NULL) || len == 0)
        return g_strdup("(nothing on stderr)");
    if (len > PROBE_STDERR_MAX)
        text[PROBE_STDERR_MAX] = '\0';
    g_strstrip(text);
    g_strdelimit(text, "\r\n", ' ');
    return g_steal_pointer(&text);
}

/* When QEMU has exited: reports that, with its stderr, and returns TRUE. */
static gboolean probe_check_exited(Spawn *qemu, const ProbeDir *pd, const char *binary,
                                   GError **error)
{
    SpawnStatus st = { 0 };
    g_autofree char *desc = NULL;
    g_autofree char *stderr_text = NULL;

    if (!spawn_wait(qemu, 0, &st, NULL))
        return FALSE;
    desc = spawn_status_describe(&st);
    stderr_text = probe_read_stderr(pd);
    ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
               "QEMU binary '%s' %s while probing its capabilities: %s", binary, desc, stderr_text);
    return TRUE;
}

/* Waits until QEMU created its QMP socket, exited, or the deadline. */
static gboolean probe_wait_socket(Spawn *qemu, const ProbeDir *pd, const char *binary,
                                  gint64 deadline, int timeout_ms, GError **error)
{
    for (;;) {
        struct pollfd pfd = { .fd = spawn_get_pidfd(qemu), .events = POLLIN };
        int left;

        if (g_file_test(pd->sock, G_FILE_TEST_EXISTS))
            return TRUE;
        if (probe_check_exited(qemu, pd, binary, error))
            return FALSE;
        left = probe_ms_left(deadline);
        if (left <= 0) {
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "QEMU binary '%s' did not open its QMP socket within %d ms", binary,
                       timeout_ms);
            return FALSE;
        }
        /* Wakes at once when QEMU exits; the socket is looked for often. */
        if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, MIN(left, 10)) < 0 && errno != EINTR) {
            ferry_fail_errno(error, errno, "waiting for QEMU binary '%s'", binary);
            return FALSE;
        }
    }
}

/* The part of a probe while QEMU runs; the caller kills and reaps it. */
static QemuCaps *probe_running(Spawn *qemu, const ProbeDir *pd, const char *binary, gint64 deadline,
                               int timeout_ms, const char *kvm_device, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuMonitor) mon = NULL;
    QemuCaps *caps;

    if (!probe_wait_socket(qemu, pd, binary, deadline, timeout_ms, error))
        return NULL;
    mon = qemu_monitor_open_path(pd->sock, MAX(probe_ms_left(deadline), 1), NULL, NULL, &err);
    if (mon)
        caps = qemu_caps_probe_monitor(mon, MAX(probe_ms_left(deadline), 1), kvm_device, &err);
    else
        caps = NULL;
    if (mon)
        qemu_monitor_close(mon);
    if (caps)
        return caps;
    /* QEMU's exit explains more than an end of file on the monitor; unless
     * it is QEMU that stopped answering, give it a moment to be seen. */
    if (!ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT))
        spawn_wait(qemu, MIN(probe_ms_left(deadline), PROBE_EXIT_WAIT_MS), NULL, NULL);
    if (probe_check_exited(qemu, pd, binary, error)) {
        FLOG_DEBUG("probing '%s': %s", binary, err->message);
        return NULL;
    }
    ferry_fail(error, ferry_error_code_of(err), "QEMU binary '%s': %s", binary, err->message);
    return NULL;
}

QemuCaps *qemu_caps_probe_binary(const char *binary, int timeout_ms, const char *kvm_device,
                                 GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(ProbeDir) pd = g_new0(ProbeDir, 1);
    g_autoptr(Spawn) qemu = NULL;
    g_autofree char *qmp_arg = NULL;
    QemuCapsIdentity identity;
    QemuCaps *caps;
    struct stat st;
    gint64 deadline;

    timeout_ms = probe_timeout(timeout_ms);
    deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    if (stat(binary, &st) < 0) {
        ferry_fail_errno(error, errno, "QEMU binary '%s'", binary);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || access(binary, X_OK) < 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "QEMU binary '%s' is not an executable file",
                   binary);
        return NULL;
    }
    qemu_caps_identity_from_stat(&identity, &st);

    if (!(pd->dir = g_dir_make_tmp("ferry-caps-XXXXXX", &err))) {
        ferry_fail(error, FERRY_ERR_SYSTEM, "probing QEMU binary '%s': %s", binary, err->message);
        return NULL;
    }
    pd->sock = g_build_filename(pd->dir, "qmp.sock", NULL);
    pd->log = g_build_filename(pd->dir, "qemu.log", NULL);
    qmp_arg = g_strdup_printf("unix:%s,server=on,wait=off", pd->sock);
    qemu = spawn_new((const char *const[]){ binary, "-machine", "none", "-nodefaults", "-nographic",
                                            "-display", "none", "-S", "-no-user-config", "-qmp",
                                            qmp_arg, NULL });
    spawn_set_cwd(qemu, pd->dir);
    spawn_set_log_file(qemu, pd->log);
    spawn_set_env(qemu, "LC_ALL", "C");
    spawn_set_new_session(qemu, TRUE);
    /* this thread kills and reaps it; if we die first, it goes too */
    spawn_set_die_with_thread(qemu, TRUE);
    spawn_set_kill_grace(qemu, PROBE_KILL_GRACE_MS);
    if (!iothread_start(error))
        return NULL;
    if (!spawn_start(qemu, error)) {
        iothread_stop();
        return NULL;
    }
    FLOG_DEBUG("probing QEMU binary '%s' (pid %d)", binary, (int)spawn_get_pid(qemu));

    caps = probe_running(qemu, pd, binary, deadline, timeout_ms, kvm_device, &err);

    /* Whatever happened: QEMU goes, and is reaped. */
    g_autoptr(GError) kill_err = NULL;
    if (!spawn_kill_and_reap(qemu, PROBE_KILL_GRACE_MS, NULL, &kill_err))
        ferry_error_keep_first(&err, g_steal_pointer(&kill_err));
    iothread_stop();
    if (caps && err)
        FLOG_WARN("probing QEMU binary '%s': %s", binary, err->message);
    if (!caps) {
        g_propagate_error(error, g_steal_pointer(&err));
        return NULL;
    }
    caps->binary = g_strdup(binary);
    caps->identity = identity;
    return caps;
}

/* ---------------------------------------------------------------- the cache */

typedef struct {
    GMutex lock; /* held while probing this binary */
    QemuCaps *caps;
} CacheEntry;

struct _QemuCapsCache {
    GMutex lock; /* entries */
    GHashTable *entries; /* binary path -> CacheEntry */
    char *dir;
    char *kvm_device;
    int timeout_ms;
    guint probes; /* atomic */
};

static void cache_entry_free(gpointer p)
{
    CacheEntry *e = p;

    qemu_caps_unref(e->caps);
    g_mutex_clear(&e->lock);
    g_free(e);
}

QemuCapsCache *qemu_caps_cache_new(const char *dir)
{
    QemuCapsCache *cache = g_new0(QemuCapsCache, 1);

    g_mutex_init(&cache->lock);
    cache->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cache_entry_free);
    cache->dir = g_strdup(dir);
    cache->kvm_device = g_strdup("/dev/kvm");
    cache->timeout_ms = QEMU_CAPS_PROBE_TIMEOUT_MS;
    return cache;
}

void qemu_caps_cache_free(QemuCapsCache *cache)
{
    if (!cache)
        return;
    g_hash_table_unref(cache->entries);
    g_mutex_clear(&cache->lock);
    g_free(cache->dir);
    g_free(cache->kvm_device);
    g_free(cache);
}

void qemu_caps_cache_set_timeout(QemuCapsCache *cache, int timeout_ms)
{
    g_atomic_int_set(&cache->timeout_ms, probe_timeout(timeout_ms));
}

void qemu_caps_cache_set_kvm_device(QemuCapsCache *cache, const char *path)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&cache->lock);

    g_free(cache->kvm_device);
    cache->kvm_device = g_strdup(path ? path : "/dev/kvm");
}

guint qemu_caps_cache_get_probe_count(QemuCapsCache *cache)
{
    return (guint)g_atomic_int_get(&cache->probes);
}

char *qemu_caps_cache_get_file(QemuCapsCache *cache, const char *binary)
{
    g_autofree char *hash = NULL;
    g_autofree char *name = NULL;

    if (!cache->dir)
        return NULL;
    hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, binary, -1);
    name = g_strdup_printf("%s.json", hash);
    return g_build_filename(cache->dir, name, NULL);
}

/* Whether caps still describe binary as it is now. */
static gboolean cache_caps_valid(const QemuCaps *caps, const char *binary,
                                 const QemuCapsIdentity *now, gboolean kvm_rw)
{
    return g_strcmp0(caps->binary, binary) == 0 && qemu_caps_identity_equal(&caps->identity, now) &&
           caps->kvm_device_rw == kvm_rw;
}

/* The on-disk entry, when there is one and it is still valid. */
static QemuCaps *cache_load(QemuCapsCache *cache, const char *binary, const QemuCapsIdentity *now,
                            gboolean kvm_rw)
{
    g_autofree char *path = qemu_caps_cache_get_file(cache, binary);
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) obj = NULL;
    g_autoptr(QemuCaps) caps = NULL;
    enum json_tokener_error jerr = json_tokener_success;

    if (!path || !g_file_get_contents(path, &text, NULL, &err)) {
        if (err && !g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            FLOG_WARN("ignoring QEMU capabilities cache '%s': %s", path, err->message);
        return NULL;
    }
    if (!(obj = json_tokener_parse_verbose(text, &jerr))) {
        FLOG_WARN("ignoring QEMU capabilities cache '%s': not JSON: %s", path,
                  json_tokener_error_desc(jerr));
        return NULL;
    }
    if (!(caps = qemu_caps_from_json(obj, &err))) {
        FLOG_WARN("ignoring QEMU capabilities cache '%s': %s", path, err->message);
        return NULL;
    }
    if (!cache_caps_valid(caps, binary, now, kvm_rw)) {
        FLOG_INFO("QEMU capabilities cache '%s' is out of date for '%s'", path, binary);
        return NULL;
    }
    return g_steal_pointer(&caps);
}

static void cache_save(QemuCapsCache *cache, const QemuCaps *caps)
{
    g_autofree char *path = qemu_caps_cache_get_file(cache, caps->binary);
    g_autoptr(json_object) obj = NULL;
    g_autoptr(GError) err = NULL;
    const char *text;

    if (!path)
        return;
    if (g_mkdir_with_parents(cache->dir, 0700) < 0) {
        FLOG_WARN("cannot create QEMU capabilities cache directory '%s': %s", cache->dir,
                  g_strerror(errno));
        return;
    }
    obj = qemu_caps_to_json(caps);
    text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &err))
        FLOG_WARN("cannot write QEMU capabilities cache '%s': %s", path, err->message);
}

QemuCaps *qemu_caps_get(QemuCapsCache *cache, const char *binary, GError **error)
{
    QemuCapsIdentity now;
    CacheEntry *entry;
    g_autofree char *kvm_device = NULL;
    g_autofree char *resolved = NULL;
    g_autoptr(GMutexLocker) entry_locker = NULL;
    QemuCaps *caps;
    struct stat st;
    gboolean kvm_rw;

    if (!binary || !*binary) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "no QEMU binary given");
        return NULL;
    }
    /* A bare name is looked up in PATH once, here: the cache is by path. */
    if (!strchr(binary, '/')) {
        if (!(resolved = g_find_program_in_path(binary))) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG, "QEMU binary '%s' is not in PATH", binary);
            return NULL;
        }
        binary = resolved;
    }
    g_mutex_lock(&cache->lock);
    if (!(entry = g_hash_table_lookup(cache->entries, binary))) {
        entry = g_new0(CacheEntry, 1);
        g_mutex_init(&entry->lock);
        g_hash_table_insert(cache->entries, g_strdup(binary), entry);
    }
    kvm_device = g_strdup(cache->kvm_device);
    g_mutex_unlock(&cache->lock);

    /* Entries are never removed before the cache is freed. */
    entry_locker = g_mutex_locker_new(&entry->lock);
    if (stat(binary, &st) < 0) {
        ferry_fail_errno(error, errno, "QEMU binary '%s'", binary);
        return NULL;
    }
    qemu_caps_identity_from_stat(&now, &st);
    kvm_rw = probe_kvm_device_rw(kvm_device);

    if (entry->caps && cache_caps_valid(entry->caps, binary, &now, kvm_rw))
        return qemu_caps_ref(entry->caps);
    if ((caps = cache_load(cache, binary, &now, kvm_rw))) {
        FLOG_DEBUG("QEMU capabilities of '%s' from the cache on disk", binary);
    } else {
        g_atomic_int_inc(&cache->probes);
        if (!(caps = qemu_caps_probe_binary(binary, g_atomic_int_get(&cache->timeout_ms),
                                            kvm_device, error)))
            return NULL;
        cache_save(cache, caps);
    }
    qemu_caps_unref(entry->caps);
    entry->caps = caps;
    return qemu_caps_ref(caps);
}
