/*
 * qemu_capabilities.h: what a QEMU binary can do, probed once and cached.
 *
 *     g_autoptr(QemuCapsCache) cache = qemu_caps_cache_new("/var/cache/ferry/qemu");
 *     g_autoptr(QemuCaps) caps = qemu_caps_get(cache, "/usr/bin/qemu-system-x86_64", error);
 *     if (!caps)
 *         return FALSE;
 *     if (qemu_caps_has(caps, QEMU_CAPS_MAPPED_RAM))
 *         ...
 *
 * Probing starts the binary once (argv only: -machine none -nodefaults
 * -display none -S -no-user-config, QMP on a socket in a private temp dir),
 * asks it over QMP (qemu_monitor.h) and kills and reaps it on every path,
 * within a bounded time.  The QMP part, qemu_caps_probe_monitor(), runs on
 * any connected monitor, so a mock QMP server can play a QEMU newer than
 * the installed one.
 *
 * Every feature ferry asks about (QemuCapsFlag) is decided from what QEMU
 * reports: its QMP schema (query-qmp-schema), its migration capabilities
 * and parameters.  Never from the version number.
 *
 * Caching: in memory by binary path, and on disk (when the cache has a
 * directory) as one JSON file per binary named by the SHA-256 of its path.
 * An entry stays valid while the binary's mtime, ctime, size, inode and
 * device are unchanged, the cache format version is ferry's, and whether
 * /dev/kvm opens read-write is unchanged.  A file that cannot be read or
 * parsed is ignored (logged) and rewritten.
 *
 * Threads: a QemuCaps never changes once built and is refcounted
 * atomically, so any thread may read it.  A QemuCapsCache may be used from
 * many threads: concurrent qemu_caps_get() calls for one binary probe it
 * once.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

#include "driver/qemu_monitor.h"

/* Bump whenever what is stored or how flags are decided changes: older
 * on-disk entries are then probed again. */
#define QEMU_CAPS_CACHE_FORMAT_VERSION 1

/* The default bound on one whole probe (start, connect, every command). */
#define QEMU_CAPS_PROBE_TIMEOUT_MS 30000

/* Named features.  The string names (qemu_caps_flag_to_string) appear in
 * logs and in the on-disk cache; keep them stable. */
typedef enum {
    QEMU_CAPS_MIGRATE_INCOMING, /* command migrate-incoming (-incoming defer) */
    QEMU_CAPS_MIGRATE_CHANNELS, /* migrate has argument 'channels' */
    QEMU_CAPS_FILE_URI, /* migration to file: URIs (transport 'file') */
    QEMU_CAPS_GETFD, /* command getfd (fd: URIs) */
    QEMU_CAPS_ADD_FD, /* command add-fd */
    QEMU_CAPS_FDSET, /* add-fd, remove-fd, query-fdsets: /dev/fdset/N paths */
    QEMU_CAPS_MULTIFD, /* capability multifd */
    QEMU_CAPS_MAPPED_RAM, /* capability mapped-ram */
    QEMU_CAPS_FILE_FDSET, /* file: URIs on /dev/fdset/N (needs file-uri, mapped-ram, fdset) */
    QEMU_CAPS_POSTCOPY_RAM, /* capability postcopy-ram */
    QEMU_CAPS_POSTCOPY_RECOVER, /* commands migrate-recover and migrate-pause */
    QEMU_CAPS_AUTO_CONVERGE, /* capability auto-converge */
    QEMU_CAPS_XBZRLE, /* capability xbzrle */
    QEMU_CAPS_RETURN_PATH, /* capability return-path */
    QEMU_CAPS_PAUSE_BEFORE_SWITCHOVER, /* capability and command migrate-continue */
    QEMU_CAPS_ZERO_COPY_SEND, /* capability zero-copy-send */
    QEMU_CAPS_DIRTY_BITMAPS, /* capability dirty-bitmaps */
    QEMU_CAPS_LATE_BLOCK_ACTIVATE, /* capability late-block-activate */
    QEMU_CAPS_SWITCHOVER_ACK, /* capability switchover-ack */
    QEMU_CAPS_MIGRATE_TLS, /* parameter tls-creds */
    QEMU_CAPS_ZERO_PAGE_DETECTION, /* parameter zero-page-detection */
    QEMU_CAPS_DIRECT_IO, /* parameter direct-io */
    QEMU_CAPS_MIGRATION_MODE, /* parameter mode */
    QEMU_CAPS_CPR_REBOOT, /* mode has value cpr-reboot */
    QEMU_CAPS_CPR_TRANSFER, /* mode cpr-transfer and channel type cpr */
    QEMU_CAPS_BACKEND_TRANSFER, /* backends (TAP fds) handed to the new QEMU */
    QEMU_CAPS_BLOCKDEV, /* commands blockdev-add and blockdev-del */
    QEMU_CAPS_MIGRATE_DIRTY_RATE, /* query-migrate reports ram/dirty-pages-rate */
    QEMU_CAPS_QUERY_DIRTY_RATE, /* commands calc-dirty-rate and query-dirty-rate */
    QEMU_CAPS_MIGRATION_EVENT, /* event MIGRATION and capability events */
    QEMU_CAPS_MIGRATION_PASS_EVENT, /* event MIGRATION_PASS and capability events */
    QEMU_CAPS_LAST
} QemuCapsFlag;

const char *qemu_caps_flag_to_string(QemuCapsFlag flag);
/* -1 for an unknown name. */
int qemu_caps_flag_from_string(const char *name);

/* ---------------------------------------------------------------- schema
 * QEMU's introspection (query-qmp-schema) and questions about it.  Type
 * names are masked (numbers) in it, so types are reached by a path from a
 * command or event:
 *
 *     "migrate/arg-type/channels/addr/transport"
 *
 * The first segment names an entity (a command, an event, or a type whose
 * name QEMU shows, such as "str").  Each further segment applies to the
 * type reached so far:
 *   - command: "arg-type" or "ret-type"; event: "arg-type";
 *   - object (struct or union): a member name, looked for in the members
 *     and in every variant's members, or "+CASE": the variant whose tag
 *     value is CASE ("netdev_add/arg-type/+tap/fds");
 *   - array: passed through to its element type;
 *   - alternate: tried on each of its member types.
 * A path holds when any way through it resolves. */

typedef struct _QemuCapsSchema QemuCapsSchema;

/* From query-qmp-schema's reply (an array; borrowed).  Fails on entries
 * that are not objects or lack "name" or "meta-type". */
QemuCapsSchema *qemu_caps_schema_new(json_object *reply, GError **error);
void qemu_caps_schema_free(QemuCapsSchema *schema);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuCapsSchema, qemu_caps_schema_free)

/* Back to the form query-qmp-schema answers with (a new array). */
json_object *qemu_caps_schema_to_json(const QemuCapsSchema *schema);
guint qemu_caps_schema_size(const QemuCapsSchema *schema);

gboolean qemu_caps_schema_has_command(const QemuCapsSchema *schema, const char *command);
gboolean qemu_caps_schema_has_event(const QemuCapsSchema *schema, const char *event);
/* arg may itself be a path below the arguments ("channels/addr"). */
gboolean qemu_caps_schema_command_has_arg(const QemuCapsSchema *schema, const char *command,
                                          const char *arg);
/* path resolves to an enum that has value. */
gboolean qemu_caps_schema_enum_has_value(const QemuCapsSchema *schema, const char *path,
                                         const char *value);
/* path resolves at all (a member of a struct or union exists). */
gboolean qemu_caps_schema_has_path(const QemuCapsSchema *schema, const char *path);

/* ---------------------------------------------------------------- caps */

typedef struct _QemuCaps QemuCaps;

typedef struct {
    char *name;
    char *alias; /* NULL when none ("pc" for "pc-i440fx-7.2") */
    gboolean is_default;
    gboolean deprecated;
    int cpu_max;
} QemuCapsMachine;

QemuCaps *qemu_caps_ref(QemuCaps *caps);
void qemu_caps_unref(QemuCaps *caps);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuCaps, qemu_caps_unref)

gboolean qemu_caps_has(const QemuCaps *caps, QemuCapsFlag flag);

/* The binary probed (NULL for qemu_caps_probe_monitor()). */
const char *qemu_caps_get_binary(const QemuCaps *caps);
void qemu_caps_get_version(const QemuCaps *caps, int *major, int *minor, int *micro);
/* QEMU's "package" string ("" when none). */
const char *qemu_caps_get_package(const QemuCaps *caps);
/* "x86_64" (query-target), or "" when QEMU did not say. */
const char *qemu_caps_get_arch(const QemuCaps *caps);

/* KVM is usable when QEMU has it (query-kvm "present") and /dev/kvm opens
 * read-write for us. */
gboolean qemu_caps_kvm_usable(const QemuCaps *caps);
/* Accelerators QEMU was built with ("kvm", "tcg", ...; NULL-terminated). */
const char *const *qemu_caps_get_accels(const QemuCaps *caps);

guint qemu_caps_get_n_machines(const QemuCaps *caps);
const QemuCapsMachine *qemu_caps_get_machine(const QemuCaps *caps, guint i);
/* The canonical name of the default machine ("pc-i440fx-7.2"), or NULL. */
const char *qemu_caps_get_default_machine(const QemuCaps *caps);
/* The canonical name for a machine name or alias ("pc" -> "pc-i440fx-7.2";
 * a canonical name gives itself), or NULL when QEMU has no such machine. */
const char *qemu_caps_machine_canonical(const QemuCaps *caps, const char *name);

/* Names from query-migrate-capabilities, query-migrate-parameters and
 * query-cpu-definitions (NULL-terminated; empty when not asked). */
const char *const *qemu_caps_get_migration_capabilities(const QemuCaps *caps);
gboolean qemu_caps_has_migration_capability(const QemuCaps *caps, const char *name);
const char *const *qemu_caps_get_migration_parameters(const QemuCaps *caps);
gboolean qemu_caps_has_migration_parameter(const QemuCaps *caps, const char *name);
const char *const *qemu_caps_get_cpu_models(const QemuCaps *caps);

const QemuCapsSchema *qemu_caps_get_schema(const QemuCaps *caps);

/* The on-disk form (a new object), and back.  Parsing checks the format
 * version and the shape, and decides the flags again. */
json_object *qemu_caps_to_json(const QemuCaps *caps);
QemuCaps *qemu_caps_from_json(json_object *obj, GError **error);

/* ---------------------------------------------------------------- probing */

/* Asks a connected monitor (qmp_capabilities done), in this order:
 * query-version, query-qmp-schema, then, each only when the schema has
 * it, query-target, query-machines, query-kvm, qom-list-types
 * (implements "accel"), query-migrate-capabilities,
 * query-migrate-parameters, query-cpu-definitions.  An error reply to
 * query-target, query-kvm, qom-list-types or query-cpu-definitions is
 * logged and that fact left empty; any other failure fails the probe.
 * timeout_ms (<= 0: QEMU_CAPS_PROBE_TIMEOUT_MS) bounds the whole exchange.
 * kvm_device NULL means "/dev/kvm". */
QemuCaps *qemu_caps_probe_monitor(QemuMonitor *mon, int timeout_ms, const char *kvm_device,
                                  GError **error);

/* Starts binary, probes it and kills and reaps it, within timeout_ms. */
QemuCaps *qemu_caps_probe_binary(const char *binary, int timeout_ms, const char *kvm_device,
                                 GError **error);

/* ---------------------------------------------------------------- cache */

typedef struct _QemuCapsCache QemuCapsCache;

/* dir (may be NULL: memory only) is created (0700) when first written. */
QemuCapsCache *qemu_caps_cache_new(const char *dir);
void qemu_caps_cache_free(QemuCapsCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuCapsCache, qemu_caps_cache_free)

/* Bound on each probe (<= 0: QEMU_CAPS_PROBE_TIMEOUT_MS). */
void qemu_caps_cache_set_timeout(QemuCapsCache *cache, int timeout_ms);
/* The KVM device checked for "kvm usable" (tests; default "/dev/kvm"). */
void qemu_caps_cache_set_kvm_device(QemuCapsCache *cache, const char *path);
/* How many times this cache has started a binary to probe it (tests). */
guint qemu_caps_cache_get_probe_count(QemuCapsCache *cache);
/* The on-disk file for binary (NULL without a directory). */
char *qemu_caps_cache_get_file(QemuCapsCache *cache, const char *binary);

/* The capabilities of binary (a path, or a bare name looked up in PATH; a
 * new reference): from memory, from disk, or probed now, whichever is the
 * first still valid.  Fails naming binary
 * when it is missing, cannot be started, exits, or does not answer in
 * time. */
QemuCaps *qemu_caps_get(QemuCapsCache *cache, const char *binary, GError **error);
