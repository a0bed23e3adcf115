/*
 * ferry.h: libferry, the client library of ferry.
 *
 * The API follows libvirt's shape with ferry's own names: a connection
 * (FerryConnect) opened by URI, domains (FerryDomain) looked up on it, and
 * a thread-local last error.
 *
 *     FerryConnect *conn = ferry_connect_open("qemu:///system", 0);
 *     if (!conn) {
 *         fprintf(stderr, "error: %s\n", ferry_get_last_error()->message);
 *         return 1;
 *     }
 *     FerryDomain *dom = ferry_domain_lookup_by_name(conn, "web1");
 *     if (dom && ferry_domain_create(dom, 0) == 0)
 *         printf("started, id %d\n", ferry_domain_get_id(dom));
 *     ferry_domain_free(dom);
 *     ferry_connect_close(conn);
 *
 * URIs (libvirt's form): qemu:///system, qemu+unix:///system?socket=PATH,
 * qemu+tcp://HOST[:PORT]/system, qemu+tls://HOST[:PORT]/system (also
 * qemu://HOST/system), and qemu:///embed?root=DIR, which runs the QEMU
 * driver inside the calling process on the state directory DIR (no daemon;
 * connections of one process to the same DIR share it).  Query parameters:
 * socket, no_verify, pkipath, keepalive_interval, keepalive_count, root.
 * qemu:///session is refused.  A NULL URI means $FERRY_DEFAULT_URI when set
 * and not empty, else qemu:///system ($LIBVIRT_DEFAULT_URI is not read: it
 * names a libvirt daemon).
 *
 * Conventions:
 *   - Calls return -1 or NULL on failure and set this thread's last error
 *     (ferry_get_last_error); a successful call resets it.  Except: the
 *     accessors (ferry_domain_get_name/uuid/uuid_string/id/connect,
 *     ferry_typed_params_get_*), ferry_*_ref, ferry_domain_free and
 *     ferry_connect_close leave it alone unless they fail themselves, so
 *     that it can be read after naming the domain and cleaning up.
 *   - Flags are libvirt's numbers; unknown flags are refused.
 *   - Strings and arrays returned to the caller are freed with free();
 *     const char * results are owned by the object they came from.
 *   - FerryConnect and FerryDomain are reference counted; a domain keeps a
 *     reference on its connection.  Any call may come from any thread.
 *
 * Only the functions declared here are exported (libferry.sym).
 */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header: major * 1000000 + minor * 1000 + micro. */
#define FERRY_VERSION_MAJOR 0
#define FERRY_VERSION_MINOR 4
#define FERRY_VERSION_MICRO 0
#define FERRY_VERSION_NUMBER \
    (FERRY_VERSION_MAJOR * 1000000 + FERRY_VERSION_MINOR * 1000 + FERRY_VERSION_MICRO)

#define FERRY_UUID_BUFLEN 16
#define FERRY_UUID_STRING_BUFLEN 37

typedef struct _FerryConnect FerryConnect;
typedef struct _FerryDomain FerryDomain;

/* ---------------------------------------------------------------- errors */

/* Where an error comes from (append only). */
typedef enum {
    FERRY_ERROR_FROM_NONE = 0,
    FERRY_ERROR_FROM_UTIL,
    FERRY_ERROR_FROM_CONF,
    FERRY_ERROR_FROM_XML,
    FERRY_ERROR_FROM_COOKIE,
    FERRY_ERROR_FROM_RPC,
    FERRY_ERROR_FROM_TLS,
    FERRY_ERROR_FROM_DRIVER,
    FERRY_ERROR_FROM_QEMU,
    FERRY_ERROR_FROM_MONITOR,
    FERRY_ERROR_FROM_MIGRATION,
    FERRY_ERROR_FROM_LOCK,
    FERRY_ERROR_FROM_LIBFERRY,
    FERRY_ERROR_FROM_DAEMON,
    FERRY_ERROR_FROM_SHELL,
    FERRY_ERROR_FROM_LAST
} FerryErrorFrom;

/* What went wrong (stable numbers, append only). */
typedef enum {
    FERRY_ERROR_OK = 0,
    FERRY_ERROR_INTERNAL,
    FERRY_ERROR_NO_SUPPORT,
    FERRY_ERROR_INVALID_ARG,
    FERRY_ERROR_OPERATION_FAILED,
    FERRY_ERROR_OPERATION_INVALID,
    FERRY_ERROR_OPERATION_DENIED,
    FERRY_ERROR_OPERATION_TIMEOUT,
    FERRY_ERROR_OPERATION_ABORTED,
    FERRY_ERROR_SYSTEM,
    FERRY_ERROR_XML,
    FERRY_ERROR_CONFIG,
    FERRY_ERROR_NO_DOMAIN,
    FERRY_ERROR_DOMAIN_EXISTS,
    FERRY_ERROR_RPC,
    FERRY_ERROR_AUTH_FAILED,
    FERRY_ERROR_TLS,
    FERRY_ERROR_NO_CONNECT,
    FERRY_ERROR_MIGRATE_UNSAFE,
    FERRY_ERROR_OVERFLOW,
    FERRY_ERROR_PARSE,
    FERRY_ERROR_NUMBER_LAST
} FerryErrorNumber;

typedef struct {
    FerryErrorNumber code;
    FerryErrorFrom domain;
    const char *message;
} FerryError;

/* This thread's last error, or NULL when the last call succeeded.  Valid
 * until this thread's next libferry call. */
const FerryError *ferry_get_last_error(void);
/* Its message, or "no error". */
const char *ferry_get_last_error_message(void);
void ferry_reset_last_error(void);
/* Names for logs: "NO_DOMAIN", "qemu" (never NULL). */
const char *ferry_error_number_name(int code);
const char *ferry_error_from_name(int domain);

/* ---------------------------------------------------------------- versions */

/* The library's version (major * 1000000 + minor * 1000 + micro). */
int ferry_get_version(unsigned long long *lib_version);

/* ---------------------------------------------------------------- connections */

FerryConnect *ferry_connect_open(const char *uri, unsigned int flags);
/* Drops the caller's reference.  Returns the references left (domains
 * hold one each), 0 when the connection was closed, -1 for NULL. */
int ferry_connect_close(FerryConnect *conn);
int ferry_connect_ref(FerryConnect *conn);

char *ferry_connect_get_uri(FerryConnect *conn);
char *ferry_connect_get_hostname(FerryConnect *conn);
/* "QEMU" (owned by conn). */
const char *ferry_connect_get_type(FerryConnect *conn);
/* The hypervisor's version (QEMU 7.2.0 is 7002000). */
int ferry_connect_get_version(FerryConnect *conn, unsigned long long *hv_version);
/* The version of the library that serves the connection (the daemon's). */
int ferry_connect_get_lib_version(FerryConnect *conn, unsigned long long *lib_version);

/* The host's CPUs, memory and topology (virNodeInfo, `virsh nodeinfo`). */
typedef struct {
    char model[32]; /* the machine type, "x86_64", NUL-terminated */
    unsigned long long memory; /* KiB */
    unsigned int cpus; /* online */
    unsigned int mhz; /* 0: unknown */
    unsigned int nodes; /* NUMA nodes */
    unsigned int sockets; /* per node */
    unsigned int cores; /* per socket */
    unsigned int threads; /* per core */
} FerryNodeInfo;
int ferry_node_get_info(FerryConnect *conn, FerryNodeInfo *info);

/* virConnectListAllDomainsFlags; none: all of them. */
typedef enum {
    FERRY_CONNECT_LIST_DOMAINS_ACTIVE = 1 << 0,
    FERRY_CONNECT_LIST_DOMAINS_INACTIVE = 1 << 1,
    FERRY_CONNECT_LIST_DOMAINS_PERSISTENT = 1 << 2,
    FERRY_CONNECT_LIST_DOMAINS_TRANSIENT = 1 << 3,
    FERRY_CONNECT_LIST_DOMAINS_RUNNING = 1 << 4,
    FERRY_CONNECT_LIST_DOMAINS_PAUSED = 1 << 5,
    FERRY_CONNECT_LIST_DOMAINS_SHUTOFF = 1 << 6,
    FERRY_CONNECT_LIST_DOMAINS_OTHER = 1 << 7,
} FerryConnectListAllDomainsFlags;

/* Stores a NULL-terminated array in *domains (when domains is not NULL;
 * free each with ferry_domain_free, the array with free()) and returns how
 * many, or -1. */
int ferry_connect_list_all_domains(FerryConnect *conn, FerryDomain ***domains, unsigned int flags);

/* ---------------------------------------------------------------- domains */

/* virDomainState */
typedef enum {
    FERRY_DOMAIN_NOSTATE = 0,
    FERRY_DOMAIN_RUNNING = 1,
    FERRY_DOMAIN_BLOCKED = 2,
    FERRY_DOMAIN_PAUSED = 3,
    FERRY_DOMAIN_SHUTDOWN = 4,
    FERRY_DOMAIN_SHUTOFF = 5,
    FERRY_DOMAIN_CRASHED = 6,
    FERRY_DOMAIN_PMSUSPENDED = 7,
    FERRY_DOMAIN_STATE_LAST
} FerryDomainState;

FerryDomain *ferry_domain_lookup_by_name(FerryConnect *conn, const char *name);
FerryDomain *ferry_domain_lookup_by_uuid(FerryConnect *conn, const unsigned char *uuid);
FerryDomain *ferry_domain_lookup_by_uuid_string(FerryConnect *conn, const char *uuidstr);
FerryDomain *ferry_domain_lookup_by_id(FerryConnect *conn, int id);

int ferry_domain_ref(FerryDomain *dom);
/* Drops a reference; 0, or -1 for NULL. */
int ferry_domain_free(FerryDomain *dom);

/* The identity: name (owned by dom), uuid (FERRY_UUID_BUFLEN bytes or a
 * FERRY_UUID_STRING_BUFLEN string), id (-1 when not running; it follows
 * create and destroy made through this object). */
const char *ferry_domain_get_name(FerryDomain *dom);
int ferry_domain_get_uuid(FerryDomain *dom, unsigned char *uuid);
int ferry_domain_get_uuid_string(FerryDomain *dom, char *buf);
int ferry_domain_get_id(FerryDomain *dom);
/* Borrowed. */
FerryConnect *ferry_domain_get_connect(FerryDomain *dom);

/* virDomainDefineFlags: VALIDATE (ferry always validates). */
typedef enum {
    FERRY_DOMAIN_DEFINE_VALIDATE = 1 << 0,
} FerryDomainDefineFlags;
FerryDomain *ferry_domain_define_xml(FerryConnect *conn, const char *xml, unsigned int flags);
int ferry_domain_undefine(FerryDomain *dom, unsigned int flags);

/* virDomainCreateFlags */
typedef enum {
    FERRY_DOMAIN_START_PAUSED = 1 << 0,
    FERRY_DOMAIN_START_AUTODESTROY = 1 << 1, /* destroyed when conn closes */
} FerryDomainCreateFlags;
int ferry_domain_create(FerryDomain *dom, unsigned int flags);
FerryDomain *ferry_domain_create_xml(FerryConnect *conn, const char *xml, unsigned int flags);
int ferry_domain_destroy(FerryDomain *dom, unsigned int flags);
/* Asks the guest to power off; returns before it has. */
int ferry_domain_shutdown(FerryDomain *dom, unsigned int flags);
int ferry_domain_suspend(FerryDomain *dom);
int ferry_domain_resume(FerryDomain *dom);

/* *state a FerryDomainState, *reason libvirt's reason number for it
 * (virDomainRunningReason, virDomainShutoffReason, ...; reason may be
 * NULL).  flags must be 0. */
int ferry_domain_get_state(FerryDomain *dom, int *state, int *reason, unsigned int flags);

typedef struct {
    int state; /* FerryDomainState */
    unsigned long long max_mem_kib;
    unsigned long long memory_kib;
    unsigned int nr_virt_cpu;
    unsigned long long cpu_time_ns;
} FerryDomainInfo;
int ferry_domain_get_info(FerryDomain *dom, FerryDomainInfo *info);
/* "hvm"; free(). */
char *ferry_domain_get_os_type(FerryDomain *dom);

/* virDomainXMLFlags */
typedef enum {
    FERRY_DOMAIN_XML_SECURE = 1 << 0,
    FERRY_DOMAIN_XML_INACTIVE = 1 << 1,
    FERRY_DOMAIN_XML_UPDATE_CPU = 1 << 2,
    FERRY_DOMAIN_XML_MIGRATABLE = 1 << 3,
} FerryDomainXMLFlags;
char *ferry_domain_get_xml_desc(FerryDomain *dom, unsigned int flags);

/* 1, 0, or -1 on error. */
int ferry_domain_is_active(FerryDomain *dom);
int ferry_domain_is_persistent(FerryDomain *dom);

/* ---------------------------------------------------------------- typed parameters */

/* libvirt's virTypedParameterType numbers. */
typedef enum {
    FERRY_TYPED_PARAM_INT = 1,
    FERRY_TYPED_PARAM_UINT = 2,
    FERRY_TYPED_PARAM_LLONG = 3,
    FERRY_TYPED_PARAM_ULLONG = 4,
    FERRY_TYPED_PARAM_DOUBLE = 5,
    FERRY_TYPED_PARAM_BOOLEAN = 6,
    FERRY_TYPED_PARAM_STRING = 7,
} FerryTypedParameterType;

#define FERRY_TYPED_PARAM_FIELD_LENGTH 80

typedef struct {
    char field[FERRY_TYPED_PARAM_FIELD_LENGTH];
    int type; /* FerryTypedParameterType */
    union {
        int i;
        unsigned int ui;
        long long l;
        unsigned long long ul;
        double d;
        int b; /* 0 or 1 */
        char *s; /* owned by the array */
    } value;
} FerryTypedParameter;

/* Frees the strings and the array; NULL is fine. */
void ferry_typed_params_free(FerryTypedParameter *params, int nparams);
/* The first parameter with that name: 1 and *value set when found, 0 when
 * absent, -1 (last error set) when it has another type.  *value of
 * get_string is borrowed from the array. */
int ferry_typed_params_get_int(const FerryTypedParameter *params, int nparams, const char *name,
                               int *value);
int ferry_typed_params_get_ullong(const FerryTypedParameter *params, int nparams, const char *name,
                                  unsigned long long *value);
int ferry_typed_params_get_string(const FerryTypedParameter *params, int nparams, const char *name,
                                  const char **value);

/* ---------------------------------------------------------------- jobs */

/* virDomainJobType */
typedef enum {
    FERRY_DOMAIN_JOB_NONE = 0,
    FERRY_DOMAIN_JOB_BOUNDED = 1,
    FERRY_DOMAIN_JOB_UNBOUNDED = 2,
    FERRY_DOMAIN_JOB_COMPLETED = 3,
    FERRY_DOMAIN_JOB_FAILED = 4,
    FERRY_DOMAIN_JOB_CANCELLED = 5,
    FERRY_DOMAIN_JOB_LAST
} FerryDomainJobType;

/* virDomainGetJobStatsFlags */
typedef enum {
    FERRY_DOMAIN_JOB_STATS_COMPLETED = 1 << 0,
    FERRY_DOMAIN_JOB_STATS_KEEP_COMPLETED = 1 << 1,
} FerryDomainGetJobStatsFlags;

/* Statistic names (libvirt's VIR_DOMAIN_JOB_*). */
#define FERRY_DOMAIN_JOB_OPERATION "operation"
#define FERRY_DOMAIN_JOB_TIME_ELAPSED "time_elapsed"
#define FERRY_DOMAIN_JOB_DATA_TOTAL "data_total"
#define FERRY_DOMAIN_JOB_DATA_PROCESSED "data_processed"
#define FERRY_DOMAIN_JOB_DATA_REMAINING "data_remaining"
#define FERRY_DOMAIN_JOB_MEMORY_TOTAL "memory_total"
#define FERRY_DOMAIN_JOB_MEMORY_PROCESSED "memory_processed"
#define FERRY_DOMAIN_JOB_MEMORY_REMAINING "memory_remaining"
#define FERRY_DOMAIN_JOB_MEMORY_BPS "memory_bps"
#define FERRY_DOMAIN_JOB_MEMORY_DIRTY_RATE "memory_dirty_rate"
#define FERRY_DOMAIN_JOB_MEMORY_ITERATION "memory_iteration"
#define FERRY_DOMAIN_JOB_SETUP_TIME "setup_time"
#define FERRY_DOMAIN_JOB_DOWNTIME "downtime"

/* *type a FerryDomainJobType; *params (free with ferry_typed_params_free)
 * and *nparams the statistics (none when *type is NONE). */
int ferry_domain_get_job_stats(FerryDomain *dom, int *type, FerryTypedParameter **params,
                               int *nparams, unsigned int flags);
int ferry_domain_abort_job(FerryDomain *dom, unsigned int flags);

/* ---------------------------------------------------------------- migration tuning */

/* The bandwidth a migration of dom may use, in MiB/s (virsh
 * migrate-setspeed).  Set outside a migration, it applies to the next one;
 * during one, at once.  Unset it is FERRY_DOMAIN_MIGRATE_MAX_SPEED_UNLIMITED.
 * flags must be 0. */
#define FERRY_DOMAIN_MIGRATE_MAX_SPEED_UNLIMITED 8796093022207ULL
int ferry_domain_migrate_set_max_speed(FerryDomain *dom, unsigned long long mib_per_s,
                                       unsigned int flags);
int ferry_domain_migrate_get_max_speed(FerryDomain *dom, unsigned long long *mib_per_s,
                                       unsigned int flags);
/* The longest pause a live migration may make at switchover, in ms (virsh
 * migrate-setmaxdowntime); QEMU's default is 300.  Same rules. */
int ferry_domain_migrate_set_max_downtime(FerryDomain *dom, unsigned long long ms,
                                          unsigned int flags);
int ferry_domain_migrate_get_max_downtime(FerryDomain *dom, unsigned long long *ms,
                                          unsigned int flags);
/* The size of the cache, in bytes, that XBZRLE compression of repeatedly
 * sent pages uses (virsh migrate-compcache; migrations with
 * FERRY_MIGRATE_COMPRESSED and method "xbzrle").  QEMU keeps it, so dom must
 * be running; set during a migration, it applies at once, else to the next
 * migration.  QEMU's default is 64 MiB; a size must be a power of two, at
 * least QEMU's page size (FERRY_ERROR_INVALID_ARG otherwise).  flags must
 * be 0. */
int ferry_domain_migrate_set_compression_cache(FerryDomain *dom, unsigned long long cache_size,
                                               unsigned int flags);
int ferry_domain_migrate_get_compression_cache(FerryDomain *dom, unsigned long long *cache_size,
                                               unsigned int flags);

/* ---------------------------------------------------------------- migration */

/* virDomainMigrateFlags, number for number. */
typedef enum {
    FERRY_MIGRATE_LIVE = 1 << 0, /* the guest runs while its memory moves */
    FERRY_MIGRATE_PEER2PEER = 1 << 1, /* the source daemon drives */
    FERRY_MIGRATE_TUNNELLED = 1 << 2, /* data over the RPC link (needs PEER2PEER; not yet) */
    FERRY_MIGRATE_PERSIST_DEST = 1 << 3, /* define it on the destination */
    FERRY_MIGRATE_UNDEFINE_SOURCE = 1 << 4, /* undefine it on the source */
    FERRY_MIGRATE_PAUSED = 1 << 5, /* leave it paused on the destination */
    FERRY_MIGRATE_NON_SHARED_DISK = 1 << 6,
    FERRY_MIGRATE_NON_SHARED_INC = 1 << 7,
    FERRY_MIGRATE_CHANGE_PROTECTION = 1 << 8, /* implied where supported */
    FERRY_MIGRATE_UNSAFE = 1 << 9,
    FERRY_MIGRATE_OFFLINE = 1 << 10, /* only the definition moves */
    FERRY_MIGRATE_COMPRESSED = 1 << 11,
    FERRY_MIGRATE_ABORT_ON_ERROR = 1 << 12,
    FERRY_MIGRATE_AUTO_CONVERGE = 1 << 13,
    FERRY_MIGRATE_RDMA_PIN_ALL = 1 << 14,
    FERRY_MIGRATE_POSTCOPY = 1 << 15, /* allow ferry_domain_migrate_start_post_copy */
    FERRY_MIGRATE_TLS = 1 << 16,
    FERRY_MIGRATE_PARALLEL = 1 << 17,
    FERRY_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES = 1 << 18,
    FERRY_MIGRATE_POSTCOPY_RESUME = 1 << 19,
    FERRY_MIGRATE_ZEROCOPY = 1 << 20,
} FerryDomainMigrateFlags;

/* Migration parameters (libvirt's VIR_MIGRATE_PARAM_* names and types). */
#define FERRY_MIGRATE_PARAM_URI "migrate_uri" /* string */
#define FERRY_MIGRATE_PARAM_DEST_NAME "destination_name" /* string */
#define FERRY_MIGRATE_PARAM_DEST_XML "destination_xml" /* string */
#define FERRY_MIGRATE_PARAM_PERSIST_XML "persistent_xml" /* string */
#define FERRY_MIGRATE_PARAM_BANDWIDTH "bandwidth" /* ullong, MiB/s */
#define FERRY_MIGRATE_PARAM_BANDWIDTH_POSTCOPY "bandwidth.postcopy" /* ullong, MiB/s */
#define FERRY_MIGRATE_PARAM_GRAPHICS_URI "graphics_uri" /* string */
#define FERRY_MIGRATE_PARAM_LISTEN_ADDRESS "listen_address" /* string */
#define FERRY_MIGRATE_PARAM_MIGRATE_DISKS "migrate_disks" /* string, repeated */
#define FERRY_MIGRATE_PARAM_DISKS_PORT "disks_port" /* int */
#define FERRY_MIGRATE_PARAM_DISKS_URI "disks_uri" /* string */
#define FERRY_MIGRATE_PARAM_COMPRESSION "compression" /* string, repeated */
#define FERRY_MIGRATE_PARAM_COMPRESSION_MT_LEVEL "compression.mt.level" /* int */
#define FERRY_MIGRATE_PARAM_COMPRESSION_MT_THREADS "compression.mt.threads" /* int */
#define FERRY_MIGRATE_PARAM_COMPRESSION_MT_DTHREADS "compression.mt.dthreads" /* int */
#define FERRY_MIGRATE_PARAM_COMPRESSION_XBZRLE_CACHE "compression.xbzrle.cache" /* ullong */
#define FERRY_MIGRATE_PARAM_COMPRESSION_ZLIB_LEVEL "compression.zlib.level" /* int */
#define FERRY_MIGRATE_PARAM_COMPRESSION_ZSTD_LEVEL "compression.zstd.level" /* int */
#define FERRY_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL "auto_converge.initial" /* int */
#define FERRY_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT "auto_converge.increment" /* int */
#define FERRY_MIGRATE_PARAM_PARALLEL_CONNECTIONS "parallel.connections" /* int */
#define FERRY_MIGRATE_PARAM_TLS_DESTINATION "tls.destination" /* string */

/* Appends a parameter to *params (grown as needed; *maxparams is its
 * capacity, 0 for a new array, which *params NULL starts).  0, or -1 (last
 * error set; the array unchanged) for a bad name or value.  Free the array
 * with ferry_typed_params_free.  A name may be added more than once (for
 * the repeated parameters above). */
int ferry_typed_params_add_int(FerryTypedParameter **params, int *nparams, int *maxparams,
                               const char *name, int value);
int ferry_typed_params_add_ullong(FerryTypedParameter **params, int *nparams, int *maxparams,
                                  const char *name, unsigned long long value);
int ferry_typed_params_add_string(FerryTypedParameter **params, int *nparams, int *maxparams,
                                  const char *name, const char *value);

/* Migrates dom to the host of dconn (virDomainMigrate3): this library runs
 * the v3 sequence (Begin on the source, Prepare on the destination,
 * Perform, Finish, Confirm) over the two connections and unwinds it after
 * a failure, so that exactly one copy of the guest runs.  params are the
 * FERRY_MIGRATE_PARAM_* above (NULL/0 for none), flags FERRY_MIGRATE_*.
 * With FERRY_MIGRATE_PEER2PEER the source's daemon runs the sequence
 * itself, to dconn's URI (ferry_connect_get_uri), as
 * ferry_domain_migrate_to_uri3 does; dconn then only finds the domain
 * that arrived.
 *
 * Returns the domain on the destination (a new object of dconn; free it
 * with ferry_domain_free), or NULL with the first error of the sequence as
 * the last error (FERRY_ERROR_OPERATION_ABORTED after an abort).
 *
 * Blocks for the whole migration.  Meanwhile other threads may use both
 * connections: ferry_domain_get_job_stats and ferry_domain_abort_job on
 * dom, ferry_domain_migrate_set_max_speed, ferry_domain_suspend (the guest
 * then moves paused and runs again on the destination) and
 * ferry_domain_migrate_start_post_copy. */
FerryDomain *ferry_domain_migrate3(FerryDomain *dom, FerryConnect *dconn,
                                   FerryTypedParameter *params, int nparams, unsigned int flags);

/* Migrates dom to the host dconnuri names (virDomainMigrateToURI3).  With
 * FERRY_MIGRATE_PEER2PEER ("peer-to-peer", `ferry migrate --p2p`) this is
 * one call to the source's daemon, which connects to the destination
 * itself (as its own client: its TLS certificate, its keepalive) and runs
 * the whole sequence; the migration then belongs to that daemon: it goes
 * on to its end if the caller goes away, ferry_domain_get_job_stats on
 * dom shows its progress and ferry_domain_abort_job cancels it.  If the
 * source loses the destination meanwhile, the migration is cancelled and
 * the guest runs on at the source.  FERRY_MIGRATE_TUNNELLED (needs
 * PEER2PEER) is refused by today's ferryd.  Without PEER2PEER this library
 * opens dconnuri itself and runs ferry_domain_migrate3.
 *
 * Returns 0, or -1 with the migration's first error as the last error. */
int ferry_domain_migrate_to_uri3(FerryDomain *dom, const char *dconnuri,
                                 FerryTypedParameter *params, int nparams, unsigned int flags);

/* Switches the running migration of dom (started with
 * FERRY_MIGRATE_POSTCOPY) to post-copy: the guest runs on the destination
 * from now on and its remaining memory follows on demand
 * (virDomainMigrateStartPostCopy).  flags must be 0. */
int ferry_domain_migrate_start_post_copy(FerryDomain *dom, unsigned int flags);

/* ---------------------------------------------------------------- events */

/* Lifecycle events: libvirt's virDomainEventType and details, number for
 * number. */
typedef enum {
    FERRY_DOMAIN_EVENT_DEFINED = 0,
    FERRY_DOMAIN_EVENT_UNDEFINED = 1,
    FERRY_DOMAIN_EVENT_STARTED = 2,
    FERRY_DOMAIN_EVENT_SUSPENDED = 3,
    FERRY_DOMAIN_EVENT_RESUMED = 4,
    FERRY_DOMAIN_EVENT_STOPPED = 5,
    FERRY_DOMAIN_EVENT_SHUTDOWN = 6,
    FERRY_DOMAIN_EVENT_PMSUSPENDED = 7,
    FERRY_DOMAIN_EVENT_CRASHED = 8,
    FERRY_DOMAIN_EVENT_LAST
} FerryDomainEventType;

typedef enum {
    FERRY_DOMAIN_EVENT_DEFINED_ADDED = 0,
    FERRY_DOMAIN_EVENT_DEFINED_UPDATED = 1,
    FERRY_DOMAIN_EVENT_DEFINED_RENAMED = 2,
    FERRY_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT = 3,
} FerryDomainEventDefinedDetailType;

typedef enum {
    FERRY_DOMAIN_EVENT_UNDEFINED_REMOVED = 0,
    FERRY_DOMAIN_EVENT_UNDEFINED_RENAMED = 1,
} FerryDomainEventUndefinedDetailType;

typedef enum {
    FERRY_DOMAIN_EVENT_STARTED_BOOTED = 0,
    FERRY_DOMAIN_EVENT_STARTED_MIGRATED = 1,
    FERRY_DOMAIN_EVENT_STARTED_RESTORED = 2,
    FERRY_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT = 3,
    FERRY_DOMAIN_EVENT_STARTED_WAKEUP = 4,
} FerryDomainEventStartedDetailType;

typedef enum {
    FERRY_DOMAIN_EVENT_SUSPENDED_PAUSED = 0,
    FERRY_DOMAIN_EVENT_SUSPENDED_MIGRATED = 1,
    FERRY_DOMAIN_EVENT_SUSPENDED_IOERROR = 2,
    FERRY_DOMAIN_EVENT_SUSPENDED_WATCHDOG = 3,
    FERRY_DOMAIN_EVENT_SUSPENDED_RESTORED = 4,
    FERRY_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT = 5,
    FERRY_DOMAIN_EVENT_SUSPENDED_API_ERROR = 6,
    FERRY_DOMAIN_EVENT_SUSPENDED_POSTCOPY = 7,
    FERRY_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED = 8,
} FerryDomainEventSuspendedDetailType;

typedef enum {
    FERRY_DOMAIN_EVENT_RESUMED_UNPAUSED = 0,
    FERRY_DOMAIN_EVENT_RESUMED_MIGRATED = 1,
    FERRY_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT = 2,
    FERRY_DOMAIN_EVENT_RESUMED_POSTCOPY = 3,
    FERRY_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED = 4,
} FerryDomainEventResumedDetailType;

typedef enum {
    FERRY_DOMAIN_EVENT_STOPPED_SHUTDOWN = 0,
    FERRY_DOMAIN_EVENT_STOPPED_DESTROYED = 1,
    FERRY_DOMAIN_EVENT_STOPPED_CRASHED = 2,
    FERRY_DOMAIN_EVENT_STOPPED_MIGRATED = 3,
    FERRY_DOMAIN_EVENT_STOPPED_SAVED = 4,
    FERRY_DOMAIN_EVENT_STOPPED_FAILED = 5,
    FERRY_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT = 6,
} FerryDomainEventStoppedDetailType;

typedef enum {
    FERRY_DOMAIN_EVENT_SHUTDOWN_FINISHED = 0,
    FERRY_DOMAIN_EVENT_SHUTDOWN_GUEST = 1,
    FERRY_DOMAIN_EVENT_SHUTDOWN_HOST = 2,
} FerryDomainEventShutdownDetailType;

/* A lifecycle event: event a FerryDomainEventType, detail its detail.
 * dom is valid for the call only (ferry_domain_ref it to keep it); conn is
 * the connection the callback was registered on.
 *
 * Threads: callbacks run on a thread of the library (the connection's
 * event thread), one event at a time and in order, never on the thread
 * that registered them.  A callback may call libferry (other calls on the
 * same connection included) but must not close the connection it was
 * registered on, nor deregister callbacks of it, and should return soon:
 * later events wait for it. */
typedef void (*FerryDomainEventCallback)(FerryConnect *conn, FerryDomain *dom, int event,
                                         int detail, void *opaque);

/* Calls cb for the lifecycle events of dom (NULL: of every domain) until
 * deregistered or conn is closed.  Returns the callback id (>= 0), or -1.
 * free_opaque (may be NULL) runs on opaque once the callback is gone (after
 * deregistering or closing, and after its last call). */
int ferry_connect_domain_event_register(FerryConnect *conn, FerryDomain *dom,
                                        FerryDomainEventCallback cb, void *opaque,
                                        void (*free_opaque)(void *opaque));
/* When it returns 0 the callback is not running and will not run again.
 * -1 for an id that conn does not have. */
int ferry_connect_domain_event_deregister(FerryConnect *conn, int callback_id);
/* Names as virsh prints them: "Started", "Booted" (never NULL). */
const char *ferry_domain_event_type_name(int event);
const char *ferry_domain_event_detail_name(int event, int detail);

/* Domain event ids (libvirt's virDomainEventID, number for number): the
 * ones ferry delivers. */
typedef enum {
    FERRY_DOMAIN_EVENT_ID_LIFECYCLE = 0, /* FerryDomainEventCallback */
    FERRY_DOMAIN_EVENT_ID_MIGRATION_ITERATION = 20, /* ...MigrationIterationCallback */
    FERRY_DOMAIN_EVENT_ID_JOB_COMPLETED = 21, /* ...JobCompletedCallback */
} FerryDomainEventID;

/* What ferry_connect_domain_event_register_any takes: the callback of the
 * event id's type, cast with FERRY_DOMAIN_EVENT_CALLBACK(). */
typedef void (*FerryDomainEventGenericCallback)(void);
#define FERRY_DOMAIN_EVENT_CALLBACK(cb) ((FerryDomainEventGenericCallback)(void (*)(void))(cb))

/* An outgoing migration's memory pass began: iteration is 1 for the first
 * pass, 2 once the first has ended (when virsh switches to post-copy with
 * --postcopy-after-precopy), and so on.  Sent by the source. */
typedef void (*FerryDomainEventMigrationIterationCallback)(FerryConnect *conn, FerryDomain *dom,
                                                           int iteration, void *opaque);
/* A job (a migration) completed: params are its statistics, as
 * ferry_domain_get_job_stats with the completed flag gives them, valid
 * for the call only.  Sent by the source when Confirm ends it and by the
 * destination when Finish does. */
typedef void (*FerryDomainEventJobCompletedCallback)(FerryConnect *conn, FerryDomain *dom,
                                                     FerryTypedParameter *params, int nparams,
                                                     void *opaque);

/* As ferry_connect_domain_event_register for the event id event_id (a
 * FerryDomainEventID); cb must have that id's type.  An id ferry does not
 * deliver is refused (-1, last error NO_SUPPORT naming the ids it has).
 * Deregister with ferry_connect_domain_event_deregister. */
int ferry_connect_domain_event_register_any(FerryConnect *conn, FerryDomain *dom, int event_id,
                                            FerryDomainEventGenericCallback cb, void *opaque,
                                            void (*free_opaque)(void *opaque));
/* virsh's name of an event id ("migration-iteration"), NULL if unknown. */
const char *ferry_domain_event_id_name(int event_id);

#ifdef __cplusplus
}
#endif
