/*
 * driver.h: the one interface that every ferry driver implements.
 *
 * libferry picks a driver by URI and calls it through this table; the
 * remote driver (src/rpc) implements it with RPC calls to a ferryd, the
 * local QEMU driver (src/driver/qemu_driver*) with QEMU processes.  ferryd
 * dispatches each RPC procedure to the same table of its local driver, so a
 * call means the same thing whichever side of the wire it is made on.  The
 * v3 migration sequence in src/migration is written once against two
 * DriverConn handles (direct mode: two remote ones; peer-to-peer: the local
 * driver and a remote one).
 *
 * Conventions:
 *   - Every op returns FALSE (or NULL) and sets *error on failure; errors
 *     keep their domain, code and message across the wire.
 *   - Flags and numbers are libvirt's (VIR_DOMAIN_*, VIR_MIGRATE_*,
 *     virDomainState, reason numbers, job types), so that the RPC layer
 *     passes them through unchanged.  A driver refuses flags it does not
 *     know with FERRY_ERR_INVALID_ARG ("unsupported flags 0x%x").
 *   - A domain is named by a DriverDomain (libvirt's remote_nonnull_domain):
 *     the driver finds it by uuid; name and id are informative.
 *   - An op a driver does not implement is NULL: callers report
 *     FERRY_ERR_NO_SUPPORT ("this driver does not support ...") through
 *     driver_no_support().
 *   - Ops may be called from any thread, concurrently; a long op (Perform3)
 *     does not block short ones (job info, abort) on the same connection.
 */
#pragma once

#include <glib.h>

#include "util/error.h"
#include "util/hostinfo.h"
#include "util/typedparams.h"
#include "util/uuid.h"

typedef struct _DriverConn DriverConn;
typedef struct _DriverOps DriverOps;

/* What names a domain to a client: name, uuid and id (-1 when inactive). */
typedef struct {
    char *name;
    unsigned char uuid[FERRY_UUID_BUFLEN];
    int id;
} DriverDomain;

#define DRIVER_DOMAIN_INIT \
    { \
        .name = NULL, .id = -1 \
    }
void driver_domain_clear(DriverDomain *dom);
void driver_domain_copy(DriverDomain *dst, const DriverDomain *src);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DriverDomain, driver_domain_clear)

/* virDomainState */
typedef enum {
    DRIVER_STATE_NOSTATE = 0,
    DRIVER_STATE_RUNNING = 1,
    DRIVER_STATE_BLOCKED = 2,
    DRIVER_STATE_PAUSED = 3,
    DRIVER_STATE_SHUTDOWN = 4,
    DRIVER_STATE_SHUTOFF = 5,
    DRIVER_STATE_CRASHED = 6,
    DRIVER_STATE_PMSUSPENDED = 7,
} DriverState;

/* virDomainInfo: what `dominfo` shows. */
typedef struct {
    int state; /* DriverState */
    unsigned long long max_mem_kib;
    unsigned long long memory_kib;
    unsigned int nr_virt_cpu;
    unsigned long long cpu_time_ns;
} DriverDomainInfo;

/* virConnectListAllDomains flags */
enum {
    DRIVER_LIST_ACTIVE = 1 << 0,
    DRIVER_LIST_INACTIVE = 1 << 1,
    DRIVER_LIST_PERSISTENT = 1 << 2,
    DRIVER_LIST_TRANSIENT = 1 << 3,
    DRIVER_LIST_RUNNING = 1 << 4,
    DRIVER_LIST_PAUSED = 1 << 5,
    DRIVER_LIST_SHUTOFF = 1 << 6,
    DRIVER_LIST_OTHER = 1 << 7,
};

/* virDomainCreateFlags */
enum {
    DRIVER_START_PAUSED = 1 << 0,
    DRIVER_START_AUTODESTROY = 1 << 1,
};

/* virDomainXMLFlags */
enum {
    DRIVER_XML_SECURE = 1 << 0,
    DRIVER_XML_INACTIVE = 1 << 1,
    DRIVER_XML_UPDATE_CPU = 1 << 2,
    DRIVER_XML_MIGRATABLE = 1 << 3,
};

/* virDomainGetJobStats flags and virDomainJobType */
enum {
    DRIVER_JOB_STATS_COMPLETED = 1 << 0,
    DRIVER_JOB_STATS_KEEP_COMPLETED = 1 << 1,
};
typedef enum {
    DRIVER_JOB_NONE = 0,
    DRIVER_JOB_BOUNDED = 1,
    DRIVER_JOB_UNBOUNDED = 2,
    DRIVER_JOB_COMPLETED = 3,
    DRIVER_JOB_FAILED = 4,
    DRIVER_JOB_CANCELLED = 5,
} DriverJobType;

/* Features a client asks about with CONNECT_SUPPORTS_FEATURE (virDrvFeature). */
typedef enum {
    DRIVER_FEATURE_MIGRATION_V1 = 1,
    DRIVER_FEATURE_REMOTE = 2,
    DRIVER_FEATURE_MIGRATION_V2 = 3,
    DRIVER_FEATURE_MIGRATION_P2P = 4,
    DRIVER_FEATURE_MIGRATION_DIRECT = 5,
    DRIVER_FEATURE_MIGRATION_V3 = 6,
    DRIVER_FEATURE_MIGRATE_CHANGE_PROTECTION = 7,
    DRIVER_FEATURE_FD_PASSING = 8,
    DRIVER_FEATURE_TYPED_PARAM_STRING = 9,
    DRIVER_FEATURE_PROGRAM_KEEPALIVE = 10,
    DRIVER_FEATURE_XML_MIGRATABLE = 11,
    DRIVER_FEATURE_MIGRATION_OFFLINE = 12,
    DRIVER_FEATURE_MIGRATION_PARAMS = 13,
    DRIVER_FEATURE_REMOTE_EVENT_CALLBACK = 14,
    DRIVER_FEATURE_REMOTE_CLOSE_CALLBACK = 15,
    DRIVER_FEATURE_NETWORK_UPDATE_HAS_CORRECT_ORDER = 16,
} DriverFeature;

/* A stream (tunnelled migration): bytes one way, with flow control; see
 * "Streams" at the end of this file. */
typedef struct _DriverStream DriverStream;

/* Domain events a connection can subscribe to (virDomainEventID). */
typedef enum {
    DRIVER_EVENT_LIFECYCLE = 0,
    DRIVER_EVENT_MIGRATION_ITERATION = 20,
    DRIVER_EVENT_JOB_COMPLETED = 21,
} DriverEventId;

/* A lifecycle event: virDomainEventType and its detail. */
typedef void (*DriverLifecycleCb)(DriverConn *conn, const DriverDomain *dom, int event, int detail,
                                  gpointer opaque);

/* Any domain event: its id and the payload of that id (the other fields
 * are 0 / NULL). */
typedef struct {
    DriverEventId id;
    int event, detail; /* LIFECYCLE: virDomainEventType and its detail */
    int iteration; /* MIGRATION_ITERATION: QEMU's pass number (1, 2, ...) */
    const TypedParams *stats; /* JOB_COMPLETED: the completed job's statistics,
                                 borrowed for the call (job stats' names) */
} DriverEvent;

/* The callback of event_register_any: dom and ev are borrowed for the call. */
typedef void (*DriverEventCb)(DriverConn *conn, const DriverDomain *dom, const DriverEvent *ev,
                              gpointer opaque);

/* The event's name ("migration-iteration"), NULL for an id ferry does not
 * know. */
const char *driver_event_id_to_string(int event_id);
/* Refuses (FERRY_ERR_NO_SUPPORT, naming the ids ferry has) an id that
 * event_register_any does not take. */
gboolean driver_event_id_check(int event_id, GError **error);

struct _DriverOps {
    const char *name; /* "QEMU", "remote" */

    /* ---- the connection */
    /* The URI in libvirt's form ("qemu:///system"). */
    char *(*get_uri)(DriverConn *conn, GError **error);
    char *(*get_hostname)(DriverConn *conn, GError **error);
    /* The hypervisor type ("QEMU") and version (major * 1000000 + minor *
     * 1000 + micro), and the library version likewise. */
    char *(*get_type)(DriverConn *conn, GError **error);
    gboolean (*get_version)(DriverConn *conn, unsigned long long *version, GError **error);
    gboolean (*get_lib_version)(DriverConn *conn, unsigned long long *version, GError **error);
    gboolean (*supports_feature)(DriverConn *conn, int feature, gboolean *supported,
                                 GError **error);
    /* The host's CPUs, memory and topology (virNodeInfo, `virsh nodeinfo`). */
    gboolean (*node_get_info)(DriverConn *conn, HostInfo *info, GError **error);
    /* virConnectIsSecure: whether nobody can listen in between the caller
     * and the hypervisor (in-process, a UNIX socket, TLS: yes; TCP: no). */
    gboolean (*is_secure)(DriverConn *conn, gboolean *secure, GError **error);
    /* Called by driver_conn_close; frees the driver's part. */
    void (*close)(DriverConn *conn);

    /* ---- lookups and lists */
    gboolean (*lookup_by_name)(DriverConn *conn, const char *name, DriverDomain *dom,
                               GError **error);
    gboolean (*lookup_by_uuid)(DriverConn *conn, const unsigned char *uuid, DriverDomain *dom,
                               GError **error);
    gboolean (*lookup_by_id)(DriverConn *conn, int id, DriverDomain *dom, GError **error);
    /* An array of DriverDomain (freed with driver_domain_array_free). */
    GArray *(*list_all_domains)(DriverConn *conn, unsigned int flags, GError **error);

    /* ---- definitions and lifecycle */
    gboolean (*define_xml)(DriverConn *conn, const char *xml, unsigned int flags, DriverDomain *dom,
                           GError **error);
    gboolean (*undefine)(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                         GError **error);
    /* Starts a defined domain; dom->id is updated. */
    gboolean (*create)(DriverConn *conn, DriverDomain *dom, unsigned int flags, GError **error);
    gboolean (*create_xml)(DriverConn *conn, const char *xml, unsigned int flags, DriverDomain *dom,
                           GError **error);
    gboolean (*destroy)(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                        GError **error);
    gboolean (*shutdown)(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                         GError **error);
    gboolean (*suspend)(DriverConn *conn, const DriverDomain *dom, GError **error);
    gboolean (*resume)(DriverConn *conn, const DriverDomain *dom, GError **error);

    /* ---- state */
    gboolean (*get_state)(DriverConn *conn, const DriverDomain *dom, int *state, int *reason,
                          unsigned int flags, GError **error);
    gboolean (*get_info)(DriverConn *conn, const DriverDomain *dom, DriverDomainInfo *info,
                         GError **error);
    char *(*get_os_type)(DriverConn *conn, const DriverDomain *dom, GError **error);
    /* The definition's <memory>, KiB (virDomainGetMaxMemory). */
    gboolean (*get_max_memory)(DriverConn *conn, const DriverDomain *dom, unsigned long long *kib,
                               GError **error);
    char *(*get_xml_desc)(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                          GError **error);
    gboolean (*is_active)(DriverConn *conn, const DriverDomain *dom, gboolean *active,
                          GError **error);
    gboolean (*is_persistent)(DriverConn *conn, const DriverDomain *dom, gboolean *persistent,
                              GError **error);

    /* ---- jobs */
    /* *type is a DriverJobType; *params the job's statistics (libvirt's
     * VIR_DOMAIN_JOB_* typed parameter names). */
    gboolean (*get_job_stats)(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                              int *type, TypedParams **params, GError **error);
    gboolean (*abort_job)(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                          GError **error);
    gboolean (*migrate_set_max_speed)(DriverConn *conn, const DriverDomain *dom,
                                      unsigned long long mib_per_s, unsigned int flags,
                                      GError **error);
    gboolean (*migrate_get_max_speed)(DriverConn *conn, const DriverDomain *dom,
                                      unsigned long long *mib_per_s, unsigned int flags,
                                      GError **error);
    gboolean (*migrate_set_max_downtime)(DriverConn *conn, const DriverDomain *dom,
                                         unsigned long long ms, unsigned int flags, GError **error);
    gboolean (*migrate_get_max_downtime)(DriverConn *conn, const DriverDomain *dom,
                                         unsigned long long *ms, unsigned int flags,
                                         GError **error);
    /* The XBZRLE compression cache of a running domain, in bytes (virsh
     * migrate-compcache): QEMU's xbzrle-cache-size, used by the running
     * migration or the next one. */
    gboolean (*migrate_set_compression_cache)(DriverConn *conn, const DriverDomain *dom,
                                              unsigned long long bytes, unsigned int flags,
                                              GError **error);
    gboolean (*migrate_get_compression_cache)(DriverConn *conn, const DriverDomain *dom,
                                              unsigned long long *bytes, unsigned int flags,
                                              GError **error);
    gboolean (*migrate_start_postcopy)(DriverConn *conn, const DriverDomain *dom,
                                       unsigned int flags, GError **error);

    /* ---- migration v3 with typed parameters (VIR_MIGRATE_PARAM_*).
     * Cookies are opaque bytes to everybody but the two daemons. */
    gboolean (*migrate_begin3)(DriverConn *conn, const DriverDomain *dom, const TypedParams *params,
                               unsigned int flags, GBytes **cookie_out, char **xml_out,
                               GError **error);
    gboolean (*migrate_prepare3)(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                 unsigned int flags, GBytes **cookie_out, char **uri_out,
                                 GError **error);
    /* Prepare3 of a tunnelled migration: the migration data travels in
     * stream, from the source (the caller) to the destination (conn).  The
     * remote driver opens stream (driver_stream_new()'s, not yet open) on
     * its connection, and on success the caller sends the data into it and
     * ends it with driver_stream_finish().  The local driver, the
     * destination itself, gets it open (ferryd's dispatch opened it on the
     * client's connection), keeps a reference and reads the data from it
     * into the incoming QEMU until the end. */
    gboolean (*migrate_prepare_tunnel3)(DriverConn *conn, DriverStream *stream,
                                        const TypedParams *params, GBytes *cookie_in,
                                        unsigned int flags, GBytes **cookie_out, GError **error);
    /* dconnuri: NULL for a client-managed migration, the destination's URI
     * for peer-to-peer. */
    gboolean (*migrate_perform3)(DriverConn *conn, const DriverDomain *dom, const char *dconnuri,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 GBytes **cookie_out, GError **error);
    /* Returns FALSE with an error when the guest was not started (the
     * migration failed or was cancelled). */
    gboolean (*migrate_finish3)(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                unsigned int flags, gboolean cancelled, DriverDomain *dom,
                                GBytes **cookie_out, GError **error);
    gboolean (*migrate_confirm3)(DriverConn *conn, const DriverDomain *dom,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 gboolean cancelled, GError **error);

    /* ---- events */
    /* Returns a callback id (>= 0) or -1.  dom NULL: every domain. */
    int (*event_register_lifecycle)(DriverConn *conn, const DriverDomain *dom, DriverLifecycleCb cb,
                                    gpointer opaque, GDestroyNotify free_opaque, GError **error);
    /* The same for any DriverEventId (LIFECYCLE too): cb gets the event's
     * payload.  An id the driver lacks is refused (driver_event_id_check).
     * Callback ids are one series with the lifecycle ones; event_deregister
     * removes either. */
    int (*event_register_any)(DriverConn *conn, int event_id, const DriverDomain *dom,
                              DriverEventCb cb, gpointer opaque, GDestroyNotify free_opaque,
                              GError **error);
    gboolean (*event_deregister)(DriverConn *conn, int callback_id, GError **error);
};

/* What every driver connection starts with; drivers embed it first. */
struct _DriverConn {
    const DriverOps *ops;
    gint refs;
    char *uri;
};

/* Fills the common part (refcount 1). */
void driver_conn_init(DriverConn *conn, const DriverOps *ops, const char *uri);
DriverConn *driver_conn_ref(DriverConn *conn);
/* The last unref calls ops->close. */
void driver_conn_unref(DriverConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DriverConn, driver_conn_unref)

/* Reports that conn's driver lacks an operation; always FALSE. */
gboolean driver_no_support(DriverConn *conn, const char *op, GError **error);

void driver_domain_array_free(GArray *domains);

/* ---------------------------------------------------------------- streams
 *
 * A DriverStream carries bytes one way, from a sender to a receiver, with
 * flow control: the receiving end queues at most a window, and a sender
 * waits for room, so a slow reader backs up the writer (and whatever feeds
 * it: a source QEMU writing into a socketpair blocks).
 *
 * driver_stream_new() makes an empty stream; a backend opens it once with
 * driver_stream_open() (its ops and its own data): the remote driver's
 * migrate_prepare_tunnel3 over an RPC stream of its connection, ferryd's
 * dispatch of PREPARE_TUNNEL3_PARAMS over the RPC stream of the client's
 * call.  Calls on a stream that is not open fail.
 *
 * Copies.  send_from_fd reads from fd straight into the message that goes
 * out (one chunk, at most the wire's legacy payload size, 262120 bytes);
 * recv_to_fd writes a received message's payload straight to fd.  So a
 * relay (a thread of its own per tunnel, never the I/O thread or a worker)
 * moves fd -> stream or stream -> fd with one copy into and one out of
 * user space, as a plain socket would.
 *
 * Ending.  The sender calls driver_stream_finish() after its last byte; it
 * returns once the receiver has seen the end and called
 * driver_stream_finish() too (the data is where it goes).  Either side may
 * driver_stream_abort() at any time (any thread): what waits on the stream
 * on either side fails with the reason.  Dropping the last reference to an
 * open stream that has not ended aborts it.
 *
 * The blocking calls (all but abort) run on a relay or worker thread,
 * never on the I/O thread.
 */
typedef struct {
    /* Sends len bytes (cut into chunks), waiting for room. */
    gboolean (*send)(gpointer impl, const void *data, size_t len, GError **error);
    /* Waits for room, then reads what fd has (blocking until at least a
     * byte, then no longer than fd has data ready; at most one chunk) into
     * a message and sends it: bytes sent, 0 at fd's EOF (nothing sent), -1
     * on error.  fd may be blocking or not. */
    gssize (*send_from_fd)(gpointer impl, int fd, GError **error);
    /* Waits (timeout_ms, -1: no limit) for data: bytes copied into buf, 0 at
     * the end of the sender's data, -1 on error (abort, lost connection,
     * FERRY_ERR_OPERATION_TIMEOUT). */
    gssize (*recv)(gpointer impl, void *buf, size_t len, int timeout_ms, GError **error);
    /* The same, writing the next received chunk whole to fd: bytes written,
     * 0 at the end, -1 on error (a failed write: FERRY_ERR_SYSTEM, and that
     * chunk is lost).  fd may be blocking or not. */
    gssize (*recv_to_fd)(gpointer impl, int fd, int timeout_ms, GError **error);
    gboolean (*finish)(gpointer impl, GError **error);
    /* reason NULL: "stream aborted". */
    void (*abort)(gpointer impl, const GError *reason);
    /* The last reference went (abort first if the stream has not ended). */
    void (*free)(gpointer impl);
} DriverStreamOps;

struct _DriverStream {
    gint refs;
    const DriverStreamOps *ops; /* NULL until open; set once */
    gpointer impl;
};

static inline DriverStream *driver_stream_new(void)
{
    DriverStream *st = g_new0(DriverStream, 1);

    st->refs = 1;
    return st;
}

static inline DriverStream *driver_stream_ref(DriverStream *st)
{
    g_atomic_int_inc(&st->refs);
    return st;
}

static inline void driver_stream_unref(DriverStream *st)
{
    if (!st || !g_atomic_int_dec_and_test(&st->refs))
        return;
    if (st->ops)
        st->ops->free(st->impl);
    g_free(st);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DriverStream, driver_stream_unref)

/* Opens st with a backend (impl is taken: ops->free releases it, also when
 * opening fails because st is open already).  Before st is shared with
 * another thread. */
static inline gboolean driver_stream_open(DriverStream *st, const DriverStreamOps *ops,
                                          gpointer impl, GError **error)
{
    if (st->ops) {
        ops->free(impl);
        ferry_error_set(error, FERRY_FROM_DRIVER, FERRY_ERR_OPERATION_INVALID,
                        "the stream is open already");
        return FALSE;
    }
    st->impl = impl;
    st->ops = ops;
    return TRUE;
}

static inline gboolean driver_stream_is_open(const DriverStream *st)
{
    return st->ops != NULL;
}

static inline gboolean driver_stream_check_open(const DriverStream *st, GError **error)
{
    if (st->ops)
        return TRUE;
    ferry_error_set(error, FERRY_FROM_DRIVER, FERRY_ERR_OPERATION_INVALID,
                    "the stream is not open");
    return FALSE;
}

static inline gboolean driver_stream_send(DriverStream *st, const void *data, size_t len,
                                          GError **error)
{
    return driver_stream_check_open(st, error) && st->ops->send(st->impl, data, len, error);
}

static inline gssize driver_stream_send_from_fd(DriverStream *st, int fd, GError **error)
{
    if (!driver_stream_check_open(st, error))
        return -1;
    return st->ops->send_from_fd(st->impl, fd, error);
}

static inline gssize driver_stream_recv(DriverStream *st, void *buf, size_t len, int timeout_ms,
                                        GError **error)
{
    if (!driver_stream_check_open(st, error))
        return -1;
    return st->ops->recv(st->impl, buf, len, timeout_ms, error);
}

static inline gssize driver_stream_recv_to_fd(DriverStream *st, int fd, int timeout_ms,
                                              GError **error)
{
    if (!driver_stream_check_open(st, error))
        return -1;
    return st->ops->recv_to_fd(st->impl, fd, timeout_ms, error);
}

static inline gboolean driver_stream_finish(DriverStream *st, GError **error)
{
    return driver_stream_check_open(st, error) && st->ops->finish(st->impl, error);
}

static inline void driver_stream_abort(DriverStream *st, const GError *reason)
{
    if (st->ops)
        st->ops->abort(st->impl, reason);
}
