/*
 * cookie.h: the migration cookie, libvirt's <qemu-migration> document.
 *
 * Every phase of a v3 migration hands the peer a cookie: who sent it (the
 * domain's name and uuid, the sending host's hostname and host uuid) and the
 * parts that phase needs.  The element names and layout are libvirt's (as
 * libvirt 9.0 writes them, see ../shared/wire-captures/cookie-*.xml), so a
 * libvirt peer and ferry understand each other:
 *
 *   <qemu-migration>
 *     <name>web1</name>
 *     <uuid>...</uuid>
 *     <hostname>hostA</hostname>
 *     <hostuuid>...</hostuuid>
 *     <feature name='lockstate'/>          mandatory features, see below
 *     <graphics type='spice' port='5901' listen='10.0.0.1' tlsPort='5902'>
 *       <cert info='subject' value='CN=hostB'/>
 *     </graphics>
 *     <lockstate driver='sanlock'>
 *       <leases>LEASE1 LEASE2</leases>     whitespace-separated lease strings
 *     </lockstate>
 *     <domain>...</domain>                 the persistent definition
 *     <network>
 *       <interface index='0' vporttype='openvswitch'>
 *         <portdata>...</portdata>
 *       </interface>
 *     </network>
 *     <nbd port='49153'>
 *       <disk target='vda' capacity='10737418240'/>
 *     </nbd>
 *     <statistics>
 *       <started>...</started> ...        the completed job
 *     </statistics>
 *     <cpu mode='custom' ...>...</cpu>     the guest CPU the source runs
 *     <allowReboot value='yes'/>
 *     <capabilities>
 *       <cap name='multifd' auto='no'/>
 *     </capabilities>
 *     <backendTransfer>                    ferry's own
 *       <backend type='virtio-net-tap' alias='net0'>
 *         <require name='vhost' value='on'/>
 *       </backend>
 *     </backendTransfer>
 *   </qemu-migration>
 *
 * The persistent definition: libvirt writes the <domain> element directly
 * inside <qemu-migration> (there is no <persistent> wrapper on the wire; the
 * feature is called "persistent"), and so does ferry.
 *
 * Features.  `flags` says which parts a cookie carries (and which parts
 * cookie_format writes).  `mandatory` lists the features the receiver must
 * understand: each is written as <feature name='...'/> (libvirt writes no
 * other kind of <feature>; a part present without a <feature> line is
 * optional).  A mandatory feature may come without its element: libvirt
 * 9.0's Begin3 cookie says <feature name='lockstate'/> and, with no lock
 * manager, carries no <lockstate>.
 *
 * Forward compatibility: a <feature> whose name ferry does not know is
 * refused (the sender says the receiver must understand it).  Any other
 * element or attribute that ferry does not know, at any level, is skipped,
 * so newer peers may add optional parts.
 *
 * Limits: a cookie is at most COOKIE_MAX_SIZE (16 KiB) bytes, unless it
 * carries a persistent <domain>, in which case the whole cookie may be up to
 * COOKIE_MAX_SIZE_PERSISTENT (1 MiB).  A domain definition with many disks
 * and a long description easily passes 16 KiB, and libvirt's wire allows
 * 4 MiB opaque cookies; 1 MiB leaves room for any sane definition while
 * bounding what a hostile peer can make us parse.  Counts of leases,
 * interfaces, NBD disks, capabilities, backends and requirements, and the
 * length of every string, have limits too (below).  DOCTYPEs (and so
 * entities), and nesting deeper than libxml2's 256 levels, are refused.
 */
#pragma once

#include <stddef.h>

#include <glib.h>

#include "util/error.h"
#include "util/uuid.h"

#define COOKIE_MAX_SIZE 16384 /* bytes, without <domain> */
#define COOKIE_MAX_SIZE_PERSISTENT (1024 * 1024) /* bytes, with <domain> */

#define COOKIE_NAME_MAX 1024 /* <name>, bytes */
#define COOKIE_HOSTNAME_MAX 255 /* <hostname>, bytes */
#define COOKIE_TOKEN_MAX 64 /* driver, capability, backend type, alias, ... */
#define COOKIE_VALUE_MAX 1024 /* lease, listen, subject, requirement value */
#define COOKIE_PORTDATA_MAX 4096 /* <portdata> */

#define COOKIE_LEASES_MAX 64
#define COOKIE_INTERFACES_MAX 128
#define COOKIE_NBD_DISKS_MAX 128
#define COOKIE_CAPABILITIES_MAX 64
#define COOKIE_BACKENDS_MAX 64
#define COOKIE_REQUIREMENTS_MAX 16 /* per backend */

/* In libvirt's order (its feature names, written in this order). */
typedef enum {
    COOKIE_FEATURE_GRAPHICS,
    COOKIE_FEATURE_LOCKSTATE,
    COOKIE_FEATURE_PERSISTENT,
    COOKIE_FEATURE_NETWORK,
    COOKIE_FEATURE_NBD,
    COOKIE_FEATURE_STATISTICS,
    COOKIE_FEATURE_MEMORY_HOTPLUG, /* a flag only: no element */
    COOKIE_FEATURE_CPU_HOTPLUG, /* a flag only: no element */
    COOKIE_FEATURE_CPU,
    COOKIE_FEATURE_ALLOW_REBOOT,
    COOKIE_FEATURE_CAPABILITIES,
    COOKIE_FEATURE_BACKEND_TRANSFER, /* ferry's: "backend-transfer" */
    COOKIE_FEATURE_LAST
} CookieFeature;

#define COOKIE_FLAG(feature) (1u << (feature))
#define COOKIE_FLAGS_ALL (COOKIE_FLAG(COOKIE_FEATURE_LAST) - 1)

const char *cookie_feature_name(CookieFeature feature);
/* The feature called name, or -1. */
int cookie_feature_from_name(const char *name);

/* Who we are: fills a cookie's hostname and hostuuid and is compared with
 * a received cookie's hostuuid (tests inject their own). */
typedef struct {
    const char *hostname;
    unsigned char uuid[FERRY_UUID_BUFLEN];
} CookieHost;

typedef enum {
    COOKIE_GRAPHICS_VNC,
    COOKIE_GRAPHICS_SPICE,
    COOKIE_GRAPHICS_LAST
} CookieGraphicsType;

const char *cookie_graphics_type_name(CookieGraphicsType type);

/* Where the destination's display listens, so the source can tell its
 * clients to reconnect there.  Ports are -1 when absent. */
typedef struct {
    CookieGraphicsType type;
    int port; /* -1 or 0..65535 */
    int tls_port; /* -1 or 0..65535; spice only (always written for spice) */
    char *listen; /* required: libvirt refuses <graphics> without it */
    char *tls_subject; /* <cert info='subject' value='...'/>, or NULL */
} CookieGraphics;

/* The lock manager's state: its driver name and the leases it holds, as
 * whitespace-free strings written space-separated in <leases> (the text
 * libvirt's lock drivers produce and consume). */
typedef struct {
    char *driver;
    GPtrArray *leases; /* char * */
} CookieLockstate;

/* libvirt's virtual port types (virNetDevVPortProfileType). */
typedef enum {
    COOKIE_VPORT_NONE,
    COOKIE_VPORT_8021QBG,
    COOKIE_VPORT_8021QBH,
    COOKIE_VPORT_OPENVSWITCH,
    COOKIE_VPORT_MIDONET,
    COOKIE_VPORT_LAST
} CookieVportType;

const char *cookie_vport_type_name(CookieVportType type);

/* Per-interface network data (the domain's index-th <interface>). */
typedef struct {
    unsigned int index;
    CookieVportType vporttype;
    char *portdata; /* opaque, NULL when absent */
} CookieInterface;

/* The destination's NBD server for storage migration. */
typedef struct {
    char *target; /* the disk's target dev, "vda" */
    unsigned long long capacity; /* bytes (always written: libvirt needs it) */
} CookieNbdDisk;

typedef struct {
    int port; /* 1..65535, or 0 for none (not written, as libvirt) */
    GPtrArray *disks; /* CookieNbdDisk * */
} CookieNbd;

/* The completed job's statistics, element names as libvirt writes them
 * (written in this order).  started, stopped and sent are milliseconds
 * since the epoch; delta is the clock difference between the hosts in
 * milliseconds (signed); times are milliseconds, sizes bytes. */
typedef enum {
    COOKIE_STAT_STARTED,
    COOKIE_STAT_STOPPED,
    COOKIE_STAT_SENT,
    COOKIE_STAT_DELTA,
    COOKIE_STAT_TIME_ELAPSED,
    COOKIE_STAT_TIME_ELAPSED_NET,
    COOKIE_STAT_TIME_REMAINING,
    COOKIE_STAT_DOWNTIME,
    COOKIE_STAT_DOWNTIME_NET,
    COOKIE_STAT_SETUP_TIME,
    COOKIE_STAT_DATA_TOTAL,
    COOKIE_STAT_DATA_PROCESSED,
    COOKIE_STAT_DATA_REMAINING,
    COOKIE_STAT_MEMORY_TOTAL,
    COOKIE_STAT_MEMORY_PROCESSED,
    COOKIE_STAT_MEMORY_REMAINING,
    COOKIE_STAT_MEMORY_BPS,
    COOKIE_STAT_MEMORY_CONSTANT,
    COOKIE_STAT_MEMORY_NORMAL,
    COOKIE_STAT_MEMORY_NORMAL_BYTES,
    COOKIE_STAT_MEMORY_DIRTY_RATE,
    COOKIE_STAT_MEMORY_ITERATION,
    COOKIE_STAT_MEMORY_POSTCOPY_REQUESTS,
    COOKIE_STAT_MEMORY_PAGE_SIZE,
    COOKIE_STAT_DISK_TOTAL,
    COOKIE_STAT_DISK_PROCESSED,
    COOKIE_STAT_DISK_REMAINING,
    COOKIE_STAT_DISK_BPS,
    COOKIE_STAT_COMPRESSION_CACHE,
    COOKIE_STAT_COMPRESSION_BYTES,
    COOKIE_STAT_COMPRESSION_PAGES,
    COOKIE_STAT_COMPRESSION_CACHE_MISSES,
    COOKIE_STAT_COMPRESSION_OVERFLOW,
    COOKIE_STAT_AUTO_CONVERGE_THROTTLE,
    COOKIE_STAT_LAST
} CookieStat;

#define COOKIE_STAT_FLAG(stat) (G_GUINT64_CONSTANT(1) << (stat))

/* The element name of a statistic ("memory_bps"), and back (-1 when
 * unknown). */
const char *cookie_stat_name(CookieStat stat);
int cookie_stat_from_name(const char *name);

typedef struct {
    guint64 present; /* COOKIE_STAT_FLAG()s of the fields given */
    guint64 started;
    guint64 stopped;
    guint64 sent;
    gint64 delta;
    guint64 time_elapsed;
    guint64 time_elapsed_net;
    guint64 time_remaining;
    guint64 downtime;
    guint64 downtime_net;
    guint64 setup_time;
    guint64 data_total;
    guint64 data_processed;
    guint64 data_remaining;
    guint64 memory_total;
    guint64 memory_processed;
    guint64 memory_remaining;
    guint64 memory_bps;
    guint64 memory_constant;
    guint64 memory_normal;
    guint64 memory_normal_bytes;
    guint64 memory_dirty_rate;
    guint64 memory_iteration;
    guint64 memory_postcopy_requests;
    guint64 memory_page_size;
    guint64 disk_total;
    guint64 disk_processed;
    guint64 disk_remaining;
    guint64 disk_bps;
    guint64 compression_cache;
    guint64 compression_bytes;
    guint64 compression_pages;
    guint64 compression_cache_misses;
    guint64 compression_overflow;
    guint64 auto_converge_throttle;
} CookieStatistics;

/* Sets a field and marks it present (for COOKIE_STAT_DELTA the value is
 * taken as a gint64). */
void cookie_stats_set(CookieStatistics *stats, CookieStat stat, guint64 value);
/* TRUE and *value when the field is present (delta: cast to gint64). */
gboolean cookie_stats_get(const CookieStatistics *stats, CookieStat stat, guint64 *value);

/* A migration capability a side supports, and whether that side turns it
 * on by itself (auto='yes') whatever the user asked for. */
typedef struct {
    char *name; /* QEMU's name: "multifd", "postcopy-ram" */
    gboolean auto_on;
} CookieCapability;

/* One thing a backend needs for the hand-over: <require name= value=/>. */
typedef struct {
    char *name;
    char *value;
} CookieRequirement;

/* A device backend the sender can hand over instead of recreating (QEMU's
 * backend-transfer): its type ("virtio-net-tap"), the device alias and what
 * the receiver must provide or agree to. */
typedef struct {
    char *type;
    char *alias;
    GPtrArray *requirements; /* CookieRequirement * */
} CookieBackend;

typedef struct _MigrationCookie MigrationCookie;
struct _MigrationCookie {
    unsigned int flags; /* COOKIE_FLAG()s: the parts present / to write */
    unsigned int mandatory; /* COOKIE_FLAG()s: written as <feature name=/> */

    char *name;
    unsigned char uuid[FERRY_UUID_BUFLEN];
    char *hostname;
    unsigned char hostuuid[FERRY_UUID_BUFLEN];

    CookieGraphics *graphics; /* GRAPHICS */
    CookieLockstate *lockstate; /* LOCKSTATE */
    char *persistent; /* PERSISTENT: formatted <domain> element */
    GPtrArray *interfaces; /* NETWORK: CookieInterface *, as given */
    CookieNbd *nbd; /* NBD */
    CookieStatistics *stats; /* STATISTICS */
    char *cpu; /* CPU: formatted <cpu> element */
    gboolean allow_reboot; /* ALLOW_REBOOT */
    GPtrArray *capabilities; /* CAPABILITIES: CookieCapability * */
    GPtrArray *backends; /* BACKEND_TRANSFER: CookieBackend * */
};

/* An empty cookie: no flags, empty lists. */
MigrationCookie *cookie_new(void);
void cookie_free(MigrationCookie *cookie);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationCookie, cookie_free)

/* Parses a cookie as it comes off the wire: len bytes, which may end with
 * a NUL (libvirt sends strlen+1) or not; a NUL anywhere else is refused.
 * When local is not NULL, a cookie whose hostuuid equals local->uuid is
 * refused (migrating to the same host); pass NULL to allow it.  Refuses
 * unknown mandatory features, malformed or oversized cookies and invalid
 * values, with a message that starts "migration cookie: " and names the
 * element, attribute and value. */
MigrationCookie *cookie_parse(const char *xml, size_t len, const CookieHost *local, GError **error);

/* Formats the parts in cookie->flags (and the mandatory features), two-space
 * indented, ending with a newline, without a NUL (the wire adds it).  Fails
 * when the identity is missing or the result exceeds the size limit. */
char *cookie_format(const MigrationCookie *cookie, GError **error);

/* Setters.  Each validates what it stores like the parser does, sets the
 * part's flag and returns 0, or returns -1 with an error and leaves the
 * cookie unchanged. */
int cookie_set_identity(MigrationCookie *cookie, const char *name, const unsigned char *uuid,
                        const CookieHost *host, GError **error);
void cookie_set_mandatory(MigrationCookie *cookie, CookieFeature feature);

/* tls_subject may be NULL; ports are -1 when absent; only spice has a
 * tls_port. */
int cookie_set_graphics(MigrationCookie *cookie, CookieGraphicsType type, int port, int tls_port,
                        const char *listen, const char *tls_subject, GError **error);
/* Sets the lock driver (dropping any leases); cookie_add_lease needs it. */
int cookie_set_lockstate(MigrationCookie *cookie, const char *driver, GError **error);
int cookie_add_lease(MigrationCookie *cookie, const char *lease, GError **error);
/* domain_xml: one <domain> element; stored reformatted. */
int cookie_set_persistent(MigrationCookie *cookie, const char *domain_xml, GError **error);
/* portdata may be NULL.  Indexes are unique. */
int cookie_add_interface(MigrationCookie *cookie, unsigned int index, CookieVportType vporttype,
                         const char *portdata, GError **error);
int cookie_set_nbd(MigrationCookie *cookie, int port, GError **error);
/* Needs cookie_set_nbd first.  Targets are unique. */
int cookie_add_nbd_disk(MigrationCookie *cookie, const char *target, unsigned long long capacity,
                        GError **error);
/* The statistics part, created empty (and flagged) on first use. */
CookieStatistics *cookie_statistics(MigrationCookie *cookie);
/* cpu_xml: one <cpu> element; stored reformatted. */
int cookie_set_cpu(MigrationCookie *cookie, const char *cpu_xml, GError **error);
void cookie_set_allow_reboot(MigrationCookie *cookie, gboolean allow);
/* Names are unique. */
int cookie_add_capability(MigrationCookie *cookie, const char *name, gboolean auto_on,
                          GError **error);
const CookieCapability *cookie_find_capability(const MigrationCookie *cookie, const char *name);
/* Aliases are unique.  Returns the new backend (owned by the cookie) or NULL. */
CookieBackend *cookie_add_backend(MigrationCookie *cookie, const char *type, const char *alias,
                                  GError **error);
/* Requirement names are unique per backend. */
int cookie_backend_add_requirement(CookieBackend *backend, const char *name, const char *value,
                                   GError **error);
const CookieBackend *cookie_find_backend(const MigrationCookie *cookie, const char *alias);
/* The requirement's value, or NULL. */
const char *cookie_backend_requirement(const CookieBackend *backend, const char *name);

/* Checks a received cookie against the domain it should describe: the name
 * and uuid must match (expected_uuid may be NULL to skip that check), and
 * the hostuuid must not be ours (local may be NULL to skip that check). */
int cookie_check_identity(const MigrationCookie *cookie, const char *expected_name,
                          const unsigned char *expected_uuid, const CookieHost *local,
                          GError **error);

/* Refuses a cookie whose mandatory features are not all in accepted (the
 * COOKIE_FLAG()s this phase and host can honour): libvirt's "Unsupported
 * migration cookie feature". */
int cookie_check_features(const MigrationCookie *cookie, unsigned int accepted, GError **error);
