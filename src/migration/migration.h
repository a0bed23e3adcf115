/*
 * migration.h: live migration, v3 protocol (Begin, Prepare, Perform,
 * Finish, Confirm), for the embedders of the QEMU driver and for the
 * client-side sequence.
 *
 * Installing the phases.  src/driver cannot call up into this folder; an
 * embedder of the QEMU driver (ferryd at startup, libferry's embedded
 * driver) calls migration_init() once, before serving connections.  It
 * installs the phases into the QEMU driver (qemu_driver_set_migration_ops)
 * and from then on the driver's migrate_* ops work and its
 * supports_feature announces MIGRATION_V3, MIGRATION_PARAMS,
 * MIGRATE_CHANGE_PROTECTION and MIGRATION_OFFLINE.
 *
 * The sequence.  migration_sequence() runs the five phases across two
 * driver connections (any DriverConn: local QEMU driver or remote):
 *
 *     Begin3 (src) -> Prepare3 (dst) -> Perform3 (src) -> Finish3 (dst)
 *     -> Confirm3 (src)
 *
 * After a failure it still runs what unwinds: Prepare failed -> Confirm
 * (cancelled) on the source; Perform failed -> Finish (cancelled) on the
 * destination, then Confirm (cancelled) on the source; Finish failed ->
 * Confirm (cancelled).  The first error is the one reported; the errors of
 * the unwinding are logged.
 */
#pragma once

#include <glib.h>

#include "driver/driver.h"
#include "util/typedparams.h"

/* libvirt's virDomainMigrateFlags (the numbers travel on the wire). */
typedef enum {
    MIGRATION_LIVE = 1 << 0,
    MIGRATION_PEER2PEER = 1 << 1,
    MIGRATION_TUNNELLED = 1 << 2,
    MIGRATION_PERSIST_DEST = 1 << 3,
    MIGRATION_UNDEFINE_SOURCE = 1 << 4,
    MIGRATION_PAUSED = 1 << 5,
    MIGRATION_NON_SHARED_DISK = 1 << 6,
    MIGRATION_NON_SHARED_INC = 1 << 7,
    MIGRATION_CHANGE_PROTECTION = 1 << 8,
    MIGRATION_UNSAFE = 1 << 9,
    MIGRATION_OFFLINE = 1 << 10,
    MIGRATION_COMPRESSED = 1 << 11,
    MIGRATION_ABORT_ON_ERROR = 1 << 12,
    MIGRATION_AUTO_CONVERGE = 1 << 13,
    MIGRATION_RDMA_PIN_ALL = 1 << 14,
    MIGRATION_POSTCOPY = 1 << 15,
    MIGRATION_TLS = 1 << 16,
    MIGRATION_PARALLEL = 1 << 17,
    MIGRATION_NON_SHARED_SYNCHRONOUS_WRITES = 1 << 18,
    MIGRATION_POSTCOPY_RESUME = 1 << 19,
    MIGRATION_ZEROCOPY = 1 << 20,
} MigrationFlags;

/* libvirt's VIR_MIGRATE_PARAM_* names. */
#define MIGRATION_PARAM_URI "migrate_uri"
#define MIGRATION_PARAM_DEST_NAME "destination_name"
#define MIGRATION_PARAM_DEST_XML "destination_xml"
#define MIGRATION_PARAM_PERSIST_XML "persistent_xml"
#define MIGRATION_PARAM_BANDWIDTH "bandwidth"
#define MIGRATION_PARAM_BANDWIDTH_POSTCOPY "bandwidth.postcopy"
#define MIGRATION_PARAM_GRAPHICS_URI "graphics_uri"
#define MIGRATION_PARAM_LISTEN_ADDRESS "listen_address"
#define MIGRATION_PARAM_MIGRATE_DISKS "migrate_disks"
#define MIGRATION_PARAM_DISKS_PORT "disks_port"
#define MIGRATION_PARAM_DISKS_URI "disks_uri"
#define MIGRATION_PARAM_COMPRESSION "compression"
#define MIGRATION_PARAM_COMPRESSION_MT_LEVEL "compression.mt.level"
#define MIGRATION_PARAM_COMPRESSION_MT_THREADS "compression.mt.threads"
#define MIGRATION_PARAM_COMPRESSION_MT_DTHREADS "compression.mt.dthreads"
#define MIGRATION_PARAM_COMPRESSION_XBZRLE_CACHE "compression.xbzrle.cache"
#define MIGRATION_PARAM_COMPRESSION_ZLIB_LEVEL "compression.zlib.level"
#define MIGRATION_PARAM_COMPRESSION_ZSTD_LEVEL "compression.zstd.level"
#define MIGRATION_PARAM_AUTO_CONVERGE_INITIAL "auto_converge.initial"
#define MIGRATION_PARAM_AUTO_CONVERGE_INCREMENT "auto_converge.increment"
#define MIGRATION_PARAM_PARALLEL_CONNECTIONS "parallel.connections"
#define MIGRATION_PARAM_TLS_DESTINATION "tls.destination"

/* Installs the v3 phases into the QEMU driver (idempotent, thread-safe). */
void migration_init(void);

/* Runs a whole v3 migration of dom from src to dst (see above).  params
 * are the user's (VIR_MIGRATE_PARAM_*), flags MigrationFlags.  On success
 * *dom_out (may be NULL) names the domain on the destination. */
gboolean migration_sequence(DriverConn *src, DriverConn *dst, const DriverDomain *dom,
                            const TypedParams *params, unsigned int flags, DriverDomain *dom_out,
                            GError **error);

/* ---------------------------------------------------------------- peer-to-peer (p2p.c) */

/*
 * Peer-to-peer migration: Perform3 with MIGRATION_PEER2PEER and a
 * destination URI (dconnuri) makes this host's daemon run the whole
 * sequence above itself, its local QEMU driver as the source and the
 * remote driver (which the embedder registers: driver_registry.h) to the
 * destination.  migration_init() installs it with the other phases.
 * PEER2PEER|TUNNELLED is refused ("tunnelled migration is not supported
 * yet").
 *
 * How the source reaches destinations, set by the embedder (ferryd from
 * its --root and ferryd.conf) before serving; what the destination URI
 * gives itself wins:
 *   pki_dir             TLS (qemu+tls://): the directory with cacert.pem,
 *                       clientcert.pem and clientkey.pem (the remote
 *                       driver's ?pkipath= layout); NULL: the remote
 *                       driver's defaults (~/.pki/libvirt, /etc/pki)
 *   keepalive_interval  seconds between pings to an idle destination; 0:
 *                       none; -1: the remote driver's default
 *   keepalive_count     unanswered pings before the connection is given
 *                       up (and the migration cancelled); -1: default
 */
typedef struct {
    const char *pki_dir;
    int keepalive_interval;
    int keepalive_count;
} MigrationP2pConfig;

#define MIGRATION_P2P_CONFIG_INIT \
    { \
        .pki_dir = NULL, .keepalive_interval = -1, .keepalive_count = -1 \
    }

/* Copies cfg (process-wide; for the migrations that start afterwards). */
void migration_p2p_configure(const MigrationP2pConfig *cfg);

/* After qemu_driver_open(), before serving: ends the outgoing migrations
 * a daemon that died left behind (their jobs come back from the status
 * files with no owner): undone up to Perform3, left paused after it
 * (owner.c). */
struct _QemuDriver;
void migration_recover(struct _QemuDriver *drv);

/* Internal to src/migration (init.c, owner.c, p2p.c). */
/* Runs the sequence from this host to dconnuri (see p2p.c). */
gboolean migration_src_perform_p2p(struct _QemuDriver *drv, const DriverDomain *dom,
                                   const char *dconnuri, const TypedParams *params,
                                   unsigned int flags, GError **error);
/* A connection id for a migration the daemon runs itself (owner.c): never
 * a client's. */
guint64 migration_owner_daemon_conn_id(void);
gboolean migration_owner_is_daemon(guint64 conn);

/* The end of a v3 sequence, shared by the direct and the tunnelled one:
 * Finish3 on dst (cancelled unless performed) and Confirm3 on src
 * (cancelled when Finish3 gave no domain).  first (taken) is the error so
 * far, reported ahead of later ones. */
gboolean migration_sequence_end(DriverConn *src, DriverConn *dst, const DriverDomain *dom,
                                const TypedParams *params, GBytes *cookie3, unsigned int flags,
                                gboolean performed, GError *first, DriverDomain *dom_out,
                                GError **error);
