/*
 * qemu_driver.h: the QEMU driver: domains, their QEMU processes, and the
 * operations a libvirt user knows (virsh's names).
 *
 *     QemuDriverConfig cfg = QEMU_DRIVER_CONFIG_INIT;
 *     cfg.root = "/tmp/ferry-test";               // NULL: the system paths
 *     g_autoptr(QemuDriver) drv = qemu_driver_open(&cfg, error);
 *     QemuDomainRef dom = QEMU_DOMAIN_REF_INIT;
 *     if (!qemu_driver_define_xml(drv, xml, &dom, error) ||
 *         !qemu_driver_domain_create(drv, dom.uuid, QEMU_DRIVER_START_PAUSED, 0, error))
 *         ...
 *     qemu_domain_ref_clear(&dom);
 *     qemu_driver_close(drv);                     // running QEMUs keep running
 *
 * State on disk (ROOT is cfg.root, or "/" for the system paths):
 *   ROOT/etc/ferry/qemu/NAME.xml          persistent definitions
 *   ROOT/var/lib/ferry/qemu/caps/         the capabilities cache
 *   ROOT/var/lib/ferry/qemu/domain-NAME/  QEMU's HOME (and XDG dirs)
 *   ROOT/run/ferry/qemu/NAME.xml          status of a running domain
 *   ROOT/run/ferry/qemu/NAME/             its QMP socket (qmp.sock) and the
 *                                         process file (lease fd numbers
 *                                         inside QEMU, autodestroy)
 *   ROOT/var/log/ferry/qemu/NAME.log      QEMU's command line and stderr
 *
 * Domains are named by their UUID (16 raw bytes, as on libvirt's wire) in
 * every operation; the lookups turn a name or an id into one.
 *
 * Lifetime of QEMU: QEMU runs in its own session and outlives the driver.
 * qemu_driver_close() leaves running domains running, and a later
 * qemu_driver_open() on the same root reconnects to them (status XML, QMP
 * socket, pidfd, lease fds).  Exception: domains started with
 * QEMU_DRIVER_START_AUTODESTROY are destroyed by close, because they live
 * only as long as the connection that started them and every connection
 * ends with the daemon (libvirt's daemon kills them the same way when its
 * clients are closed at shutdown).  One found by reconnect (a daemon that
 * died without closing) is destroyed then, for the same reason.
 *
 * Errors (docs/errors.md), domain FERRY_FROM_DRIVER or FERRY_FROM_QEMU:
 *   FERRY_ERR_NO_DOMAIN          no domain with that name/uuid/id
 *   FERRY_ERR_OPERATION_INVALID  "domain 'web1' is not running", "... is
 *                                already running", "... is not paused"
 *   FERRY_ERR_DOMAIN_EXISTS      define/create clashing with another domain
 *   FERRY_ERR_OPERATION_FAILED   QEMU failed to start (its log's tail is
 *                                in the message) or a QMP command failed
 *   FERRY_ERR_OPERATION_DENIED   a disk lease is held by another domain
 *   FERRY_ERR_OPERATION_TIMEOUT  a job or QEMU did not answer in time; the
 *                                guest did not shut down in time
 *   FERRY_ERR_NO_SUPPORT         what ferry cannot run yet (interfaces)
 *
 * Threads: every function may be called from any worker thread (never the
 * I/O thread), concurrently; each takes the right job on the domain.
 */
#pragma once

#include <glib.h>

#include "conf/domain_conf.h"
#include "driver/domain_job.h"
#include "driver/driver.h"
#include "util/uuid.h"

typedef struct _QemuDriver QemuDriver;

typedef enum {
    QEMU_DRIVER_ACCEL_AUTO, /* <domain type='kvm'>: kvm if usable, else tcg;
                             * type='qemu': tcg */
    QEMU_DRIVER_ACCEL_KVM, /* always kvm */
    QEMU_DRIVER_ACCEL_TCG, /* always tcg */
    QEMU_DRIVER_ACCEL_LAST
} QemuDriverAccel;

const char *qemu_driver_accel_to_string(QemuDriverAccel accel);
int qemu_driver_accel_from_string(const char *str);

typedef struct {
    /* Everything under this directory (created); NULL: the system paths. */
    const char *root;
    /* The QEMU binary for domains without <emulator>; NULL:
     * QEMU_SYSTEM_X86_64. */
    const char *qemu_binary;
    /* The lock manager ("nop" when NULL) and lockd's lease directory. */
    const char *lock_manager;
    const char *lease_dir;
    /* The host's identity (injected by tests); NULL host_uuid: all zero,
     * NULL hostname: g_get_host_name(). */
    const unsigned char *host_uuid;
    const char *hostname;
    QemuDriverAccel accel;
    /* Caps cache directory; NULL: ROOT/var/lib/ferry/qemu/caps. */
    const char *caps_dir;
    /* Bounds (ms; <= 0: the defaults below). */
    int start_timeout_ms; /* QMP greeting after spawn */
    int kill_grace_ms; /* SIGTERM -> SIGKILL */
    int monitor_timeout_ms; /* each QMP command */
    /* Incoming migrations (ferryd.conf's migration_* keys, libvirt's
     * qemu.conf names): the port range (0: QEMU_DRIVER_MIGRATION_PORT_MIN
     * / _MAX), the address QEMU listens on when the migration names none
     * (an IP address; NULL: every address), the host name or address
     * Prepare answers in its URI (NULL: see qemu_driver_get_migration_host). */
    int migration_port_min;
    int migration_port_max;
    const char *migration_address;
    const char *migration_host;
    /* SPICE over TLS (ferryd.conf's spice_tls, qemu.conf's names): SPICE
     * graphics with autoport get a TLS port too, and QEMU the x509
     * directory (ca-cert.pem, server-cert.pem, server-key.pem; NULL:
     * ROOT/etc/ferry/pki/spice).  Off: a domain with a tlsPort does not
     * start. */
    gboolean spice_tls;
    const char *spice_tls_x509_dir;
    /* Probe the default QEMU binary's capabilities (or load them from the
     * cache) on a thread of its own as the driver opens, so that the first
     * start, the first incoming migration above all, does not wait for
     * it; close waits for the probe.  On in QEMU_DRIVER_CONFIG_INIT. */
    gboolean probe_in_background;
} QemuDriverConfig;

#define QEMU_DRIVER_CONFIG_INIT \
    { \
        .accel = QEMU_DRIVER_ACCEL_AUTO, .probe_in_background = TRUE \
    }
#define QEMU_DRIVER_START_TIMEOUT_MS 30000
/* libvirt's default range for incoming migrations. */
#define QEMU_DRIVER_MIGRATION_PORT_MIN 49152
#define QEMU_DRIVER_MIGRATION_PORT_MAX 49215
#define QEMU_DRIVER_KILL_GRACE_MS 5000

/* Creates the directories, starts (counts one more user of) the I/O
 * thread, loads the persistent definitions, then the status XML of the
 * domains that ran, and reconnects to their QEMUs (a QEMU that is gone
 * leaves its domain shut off, reason "crashed"). */
QemuDriver *qemu_driver_open(const QemuDriverConfig *cfg, GError **error);
/* Stops watching QEMUs and closes the monitors; running domains keep
 * running (autodestroy ones excepted, see above).  NULL is fine. */
void qemu_driver_close(QemuDriver *drv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuDriver, qemu_driver_close)

/* Borrowed, for the migration code and the daemon. */
const char *qemu_driver_get_root(QemuDriver *drv); /* NULL: system paths */
const char *qemu_driver_get_hostname(QemuDriver *drv);
const unsigned char *qemu_driver_get_host_uuid(QemuDriver *drv);
/* Incoming migrations: the port range; the configured listen address
 * (NULL: none); the configured host for URIs (NULL: none). */
void qemu_driver_get_migration_ports(QemuDriver *drv, int *min, int *max);
const char *qemu_driver_get_migration_address(QemuDriver *drv);
const char *qemu_driver_get_migration_host(QemuDriver *drv);
/* The x509 directory of SPICE over TLS, NULL when spice_tls is off. */
const char *qemu_driver_get_spice_tls_dir(QemuDriver *drv);
/* The domain list (for the migration code). */
struct _DomainList;
struct _DomainList *qemu_driver_get_domains(QemuDriver *drv);
/* The version of the default QEMU binary (probed once, then cached). */
gboolean qemu_driver_get_qemu_version(QemuDriver *drv, int *major, int *minor, int *micro,
                                      GError **error);

/* ROOT/var/log/ferry/qemu/NAME.log (new string). */
char *qemu_driver_get_log_path(QemuDriver *drv, const char *name);

/* ---------------------------------------------------------------- lookups */

/* What names a domain to a client (libvirt's virDomainPtr): name, uuid and
 * id (-1 when not running). */
typedef struct {
    char *name;
    unsigned char uuid[FERRY_UUID_BUFLEN];
    int id;
} QemuDomainRef;

#define QEMU_DOMAIN_REF_INIT \
    { \
        .id = -1 \
    }
void qemu_domain_ref_clear(QemuDomainRef *ref);

gboolean qemu_driver_lookup_by_name(QemuDriver *drv, const char *name, QemuDomainRef *ref,
                                    GError **error);
gboolean qemu_driver_lookup_by_uuid(QemuDriver *drv, const unsigned char *uuid, QemuDomainRef *ref,
                                    GError **error);
gboolean qemu_driver_lookup_by_id(QemuDriver *drv, int id, QemuDomainRef *ref, GError **error);

/* Sorted names of the domains matching filter (DomainListFilter from
 * domain_obj.h; DOMAIN_LIST_ACTIVE | DOMAIN_LIST_INACTIVE is `list --all`). */
GStrv qemu_driver_list_names(QemuDriver *drv, unsigned int filter);
/* The ids of the running domains, ascending (GArray of int). */
GArray *qemu_driver_list_ids(QemuDriver *drv);
guint qemu_driver_count(QemuDriver *drv, unsigned int filter);

/* ---------------------------------------------------------------- definitions */

/* Defines (or redefines) a persistent domain from XML.  Redefining a
 * running domain sets the definition of its next boot.  ref (may be NULL)
 * receives the domain. */
gboolean qemu_driver_define_xml(QemuDriver *drv, const char *xml, QemuDomainRef *ref,
                                GError **error);
/* Forgets the persistent definition; a running domain becomes transient
 * (it goes away when it stops). */
gboolean qemu_driver_undefine(QemuDriver *drv, const unsigned char *uuid, GError **error);

/* ---------------------------------------------------------------- lifecycle */

/* Start flags, libvirt's numbers (VIR_DOMAIN_START_*). */
typedef enum {
    QEMU_DRIVER_START_PAUSED = 1 << 0,
    QEMU_DRIVER_START_AUTODESTROY = 1 << 1, /* destroyed when conn closes */
} QemuDriverStartFlags;

/* Starts a defined domain.  conn is the connection for AUTODESTROY. */
gboolean qemu_driver_domain_create(QemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                                   guint64 conn, GError **error);
/* Starts a transient domain from XML (or an inactive persistent one with
 * the same name and uuid, with this definition until it stops). */
gboolean qemu_driver_create_xml(QemuDriver *drv, const char *xml, unsigned int flags, guint64 conn,
                                QemuDomainRef *ref, GError **error);
/* Kills QEMU (SIGTERM, then SIGKILL after the grace period): shut off,
 * reason "destroyed". */
gboolean qemu_driver_domain_destroy(QemuDriver *drv, const unsigned char *uuid, GError **error);
/* Asks the guest to power off (ACPI power button: system_powerdown).  The
 * domain becomes shut off (reason "shutdown") when QEMU exits. */
gboolean qemu_driver_domain_shutdown(QemuDriver *drv, const unsigned char *uuid, GError **error);
/* The same, then waits up to timeout_ms for the domain to shut off:
 * FERRY_ERR_OPERATION_TIMEOUT when the guest did not (it keeps running). */
gboolean qemu_driver_domain_shutdown_wait(QemuDriver *drv, const unsigned char *uuid,
                                          int timeout_ms, GError **error);
/* Pauses the vCPUs (QMP stop; the disk leases are released) and resumes
 * them (leases acquired again; QMP cont).  Both work while the domain
 * migrates out (a SUSPEND job, domain_job.h): the migration goes on, and
 * undoing it keeps what the user asked for last.  Resuming is refused
 * ("cannot be resumed now: ...") while the migration owns the stopped
 * CPUs: from its switchover on, and in post-copy. */
gboolean qemu_driver_domain_suspend(QemuDriver *drv, const unsigned char *uuid, GError **error);
gboolean qemu_driver_domain_resume(QemuDriver *drv, const unsigned char *uuid, GError **error);

/* Waits (up to timeout_ms) until the domain is no longer running: for
 * tests and for callers that killed QEMU some other way.  TRUE when it is
 * shut off (or gone). */
gboolean qemu_driver_domain_wait_inactive(QemuDriver *drv, const unsigned char *uuid,
                                          int timeout_ms, GError **error);

/* The daemon's client connection conn closed: its autodestroy domains are
 * destroyed.  Returns how many. */
guint qemu_driver_connection_closed(QemuDriver *drv, guint64 conn);

/* ---------------------------------------------------------------- state */

/* The state and its reason (a string such as "booted"; NULL: unknown), as
 * `domstate --reason` shows them.  *reason is a new string. */
gboolean qemu_driver_domain_get_state(QemuDriver *drv, const unsigned char *uuid,
                                      DomainState *state, char **reason, GError **error);

/* libvirt's reason number (virDomainRunningReason, virDomainPausedReason,
 * virDomainShutoffReason, ...) for a state and reason string: 0 (unknown)
 * for NULL or a string libvirt has no number for. */
int qemu_driver_state_reason_to_number(DomainState state, const char *reason);
/* The reverse: NULL for 0 or an unknown number (static string). */
const char *qemu_driver_state_reason_from_number(DomainState state, int number);

/* What `dominfo` shows (libvirt's virDomainInfo). */
typedef struct {
    DomainState state;
    unsigned long long max_mem_kib;
    unsigned long long memory_kib;
    unsigned int vcpus;
    unsigned long long cpu_time_ns; /* QEMU's user + system time; 0 when off */
} QemuDomainInfo;

gboolean qemu_driver_domain_get_info(QemuDriver *drv, const unsigned char *uuid,
                                     QemuDomainInfo *info, GError **error);

/* dumpxml flags, libvirt's numbers (VIR_DOMAIN_XML_*). */
typedef enum {
    QEMU_DRIVER_XML_SECURE = 1 << 0,
    QEMU_DRIVER_XML_INACTIVE = 1 << 1,
    QEMU_DRIVER_XML_MIGRATABLE = 1 << 3,
} QemuDriverXmlFlags;

char *qemu_driver_domain_get_xml(QemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                                 GError **error);

/* domjobinfo [--completed] and domjobabort. */
gboolean qemu_driver_domain_get_job_info(QemuDriver *drv, const unsigned char *uuid,
                                         gboolean completed, DomainJobInfo *info, GError **error);
gboolean qemu_driver_domain_abort_job(QemuDriver *drv, const unsigned char *uuid, GError **error);
/* The typed parameters of job stats (DOMAIN_GET_JOB_STATS, JOB_COMPLETED)
 * for info (qemu_driver_ops.c); *type is its DriverJobType. */
TypedParams *qemu_driver_job_info_params(const DomainJobInfo *info, int *type, GError **error);

/* *persistent: the domain has a persistent definition. */
gboolean qemu_driver_domain_is_persistent(QemuDriver *drv, const unsigned char *uuid,
                                          gboolean *persistent, GError **error);

/* ---------------------------------------------------------------- lifecycle events */

/* libvirt's virDomainEventType and the details of each (the numbers travel
 * on the wire unchanged). */
typedef enum {
    QEMU_LIFECYCLE_DEFINED = 0,
    QEMU_LIFECYCLE_UNDEFINED = 1,
    QEMU_LIFECYCLE_STARTED = 2,
    QEMU_LIFECYCLE_SUSPENDED = 3,
    QEMU_LIFECYCLE_RESUMED = 4,
    QEMU_LIFECYCLE_STOPPED = 5,
    QEMU_LIFECYCLE_SHUTDOWN = 6,
    QEMU_LIFECYCLE_PMSUSPENDED = 7,
    QEMU_LIFECYCLE_CRASHED = 8,
} QemuLifecycleEvent;

enum {
    QEMU_LIFECYCLE_DEFINED_ADDED = 0,
    QEMU_LIFECYCLE_DEFINED_UPDATED = 1,
    QEMU_LIFECYCLE_UNDEFINED_REMOVED = 0,
    QEMU_LIFECYCLE_STARTED_BOOTED = 0,
    QEMU_LIFECYCLE_STARTED_MIGRATED = 1,
    QEMU_LIFECYCLE_STARTED_RESTORED = 2,
    QEMU_LIFECYCLE_STARTED_FROM_SNAPSHOT = 3,
    QEMU_LIFECYCLE_STARTED_WAKEUP = 4,
    QEMU_LIFECYCLE_SUSPENDED_PAUSED = 0,
    QEMU_LIFECYCLE_SUSPENDED_MIGRATED = 1,
    QEMU_LIFECYCLE_SUSPENDED_IOERROR = 2,
    QEMU_LIFECYCLE_SUSPENDED_WATCHDOG = 3,
    QEMU_LIFECYCLE_SUSPENDED_RESTORED = 4,
    QEMU_LIFECYCLE_SUSPENDED_FROM_SNAPSHOT = 5,
    QEMU_LIFECYCLE_SUSPENDED_API_ERROR = 6,
    QEMU_LIFECYCLE_SUSPENDED_POSTCOPY = 7,
    QEMU_LIFECYCLE_SUSPENDED_POSTCOPY_FAILED = 8,
    QEMU_LIFECYCLE_RESUMED_UNPAUSED = 0,
    QEMU_LIFECYCLE_RESUMED_MIGRATED = 1,
    QEMU_LIFECYCLE_RESUMED_FROM_SNAPSHOT = 2,
    QEMU_LIFECYCLE_RESUMED_POSTCOPY = 3,
    QEMU_LIFECYCLE_RESUMED_POSTCOPY_FAILED = 4,
    QEMU_LIFECYCLE_STOPPED_SHUTDOWN = 0,
    QEMU_LIFECYCLE_STOPPED_DESTROYED = 1,
    QEMU_LIFECYCLE_STOPPED_CRASHED = 2,
    QEMU_LIFECYCLE_STOPPED_MIGRATED = 3,
    QEMU_LIFECYCLE_STOPPED_SAVED = 4,
    QEMU_LIFECYCLE_STOPPED_FAILED = 5,
    QEMU_LIFECYCLE_STOPPED_FROM_SNAPSHOT = 6,
    QEMU_LIFECYCLE_SHUTDOWN_FINISHED = 0,
    QEMU_LIFECYCLE_SHUTDOWN_GUEST = 1,
    QEMU_LIFECYCLE_SHUTDOWN_HOST = 2,
};

/* An event callback: dom and ev are borrowed for the call.  It runs on
 * the driver's event thread, one event at a time, in the order they
 * happened, with no driver or domain lock held: it may call the driver
 * (but must not close it). */
typedef void (*QemuEventFunc)(QemuDriver *drv, const QemuDomainRef *dom, const DriverEvent *ev,
                              gpointer opaque);

/* Registers cb for the events event_id (a DriverEventId) of the domain
 * uuid (NULL: every domain) on behalf of owner (any pointer: a
 * connection).  Returns the callback id (> 0; one series for every
 * event id).  free_opaque (may be NULL) runs on opaque once the
 * registration is gone and no call of cb runs any more. */
int qemu_driver_event_register(QemuDriver *drv, gpointer owner, int event_id,
                               const unsigned char *uuid, QemuEventFunc cb, gpointer opaque,
                               GDestroyNotify free_opaque);
/* Removes owner's callback id; when it returns, cb is not running and will
 * not run again (unless called from cb itself).  FERRY_ERR_INVALID_ARG for
 * an id owner does not have. */
gboolean qemu_driver_event_deregister(QemuDriver *drv, gpointer owner, int id, GError **error);
/* Removes every callback of owner (its connection closes); how many. */
guint qemu_driver_event_deregister_owner(QemuDriver *drv, gpointer owner);
/* Waits until every event queued so far was delivered (tests). */
void qemu_driver_event_flush(QemuDriver *drv);

/* ---------------------------------------------------------------- migration tuning */

/* migrate-setspeed / migrate-setmaxdowntime: libvirt's defaults and
 * units.  Without a migration running the values are only stored (per
 * domain, kept while the driver knows the domain); while a migration-out
 * job runs they are also set in QEMU at once (migrate-set-parameters
 * max-bandwidth / downtime-limit, under a MIGRATION_OP job). */
#define QEMU_DRIVER_MIGRATE_SPEED_MAX (G_MAXINT64 / (1024 * 1024)) /* MiB/s: unlimited */
#define QEMU_DRIVER_MIGRATE_DOWNTIME_DEFAULT 300 /* ms: QEMU's default */

gboolean qemu_driver_domain_migrate_set_max_speed(QemuDriver *drv, const unsigned char *uuid,
                                                  unsigned long long mib_per_s, GError **error);
gboolean qemu_driver_domain_migrate_get_max_speed(QemuDriver *drv, const unsigned char *uuid,
                                                  unsigned long long *mib_per_s, GError **error);
gboolean qemu_driver_domain_migrate_set_max_downtime(QemuDriver *drv, const unsigned char *uuid,
                                                     unsigned long long ms, GError **error);
gboolean qemu_driver_domain_migrate_get_max_downtime(QemuDriver *drv, const unsigned char *uuid,
                                                     unsigned long long *ms, GError **error);

/* migrate-compcache: QEMU's xbzrle-cache-size in bytes, read from and set
 * in the running domain's QEMU (OPERATION_INVALID when it is not running).
 * The size must be a power of two (INVALID_ARG, as is a size QEMU refuses:
 * below its page size); set works during a migration too (MIGRATION_OP
 * job). */
gboolean qemu_driver_domain_migrate_set_compression_cache(QemuDriver *drv,
                                                          const unsigned char *uuid,
                                                          unsigned long long bytes, GError **error);
gboolean qemu_driver_domain_migrate_get_compression_cache(QemuDriver *drv,
                                                          const unsigned char *uuid,
                                                          unsigned long long *bytes,
                                                          GError **error);

/* What the migration code applies when a migration starts: the stored
 * values, and whether the user set each (unset: speed is
 * QEMU_DRIVER_MIGRATE_SPEED_MAX, downtime QEMU's default; the migration
 * leaves QEMU's downtime alone then).  Never fails: a domain never tuned
 * has the defaults.  Any lock state. */
typedef struct {
    unsigned long long max_speed_mib; /* MiB/s */
    gboolean max_speed_set;
    unsigned long long max_downtime_ms;
    gboolean max_downtime_set;
} QemuMigrateTuning;

void qemu_driver_get_migrate_tuning(QemuDriver *drv, const unsigned char *uuid,
                                    QemuMigrateTuning *tuning);
