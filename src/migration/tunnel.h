/*
 * tunnel.h: tunnelled migration (VIR_MIGRATE_TUNNELLED, with PEER2PEER):
 * the migration data rides the RPC connection between the two ferryd as
 * a stream instead of a connection of QEMU's own.
 *
 *     source QEMU --migrate fd:--> socketpair --relay--> DriverStream
 *         ==RPC connection (TCP or TLS)==> DriverStream --relay-->
 *         socketpair --migrate-incoming fd:--> destination QEMU
 *
 * Each side gives its QEMU one end of a socketpair with getfd (the other
 * end is ferryd's) and runs one relay thread per tunnel (tunnel_relay.c),
 * never the I/O thread or a worker: the source's reads from its end
 * straight into the outgoing stream messages (at most 262120 bytes each),
 * the destination's writes each received message straight to its end.
 * Flow control is the stream's (a bounded window at each end): a slow
 * destination QEMU backs up its relay, then the RPC connection, then the
 * source's relay and the source QEMU, so neither ferryd holds more than a
 * few MiB whatever the guest's size.
 *
 * The destination (tunnel_dst.c): the QEMU driver's
 * migrate_prepare_tunnel3 gets the stream ferryd's dispatch opened on the
 * client's connection; it prepares as Prepare3 does (prepare.c) with the
 * socketpair instead of a TCP port and starts the relay, which ends with
 * the stream: at its end it closes its end of the socketpair and confirms
 * the end to the source; on an abort or a lost connection it closes it
 * too, so the incoming migration fails and QEMU quits (Finish3, cancelled,
 * then cleans up as usual).
 *
 * The source (tunnel_src.c): migration_src_perform_tunnel() is Perform3
 * (perform.c, through migration_src_perform) with QEMU migrating to its end
 * of the socketpair, and migration_sequence_tunnelled() the whole v3
 * sequence for a source ferryd (peer-to-peer) with its local driver and a
 * remote destination, with sequence.c's rules for the first error and the
 * unwinding.
 */
#pragma once

#include <glib.h>

#include "driver/driver.h"
#include "driver/qemu_driver.h"
#include "util/typedparams.h"

/* The name QEMU knows its end of the socketpair by (getfd), on both
 * sides: "fd:" TUNNEL_FD_NAME is the migration URI. */
#define TUNNEL_FD_NAME "ferry-tunnel"

/* Checks what a tunnelled migration cannot do: the URI, listen address
 * and disk port parameters (the data goes through ferryd), post-copy and
 * parallel connections (one stream, no return path), offline.  "phase"
 * names the caller in messages. */
gboolean migration_tunnel_check(const char *name, const char *phase, const TypedParams *params,
                                unsigned int flags, GError **error);

/* Destination: Prepare3 of a tunnelled migration; the QEMU driver's
 * migrate_prepare_tunnel3 (install it as QemuMigrationOps.prepare_tunnel3).
 * stream must be open (from the client's connection); a reference is kept
 * by the relay until the stream ends. */
gboolean migration_dst_prepare_tunnel(QemuDriver *drv, guint64 conn_id, DriverStream *stream,
                                      const TypedParams *params, GBytes *cookie_in,
                                      unsigned int flags, GBytes **cookie_out, GError **error);

/* Source: Perform3 over stream (open, from the destination's
 * migrate_prepare_tunnel3).  On success the stream was finished: the
 * destination has every byte.  On failure the stream is aborted and, as
 * after a failed Perform3, the migration-out job has ended here with the
 * guest resumed if it ran (Confirm3, cancelled, has nothing left to do). */
gboolean migration_src_perform_tunnel(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                                      DriverStream *stream, const TypedParams *params,
                                      GBytes *cookie_in, unsigned int flags, GBytes **cookie_out,
                                      GError **error);

/* The whole tunnelled v3 migration of dom from src_local (a connection of
 * this process's QEMU driver) to dst (any driver with
 * migrate_prepare_tunnel3: a remote ferryd or libvirtd):
 *
 *     Begin3 (src_local) -> PrepareTunnel3 (dst, opens the stream)
 *     -> the tunnel's Perform (local) -> Finish3 (dst) -> Confirm3 (src_local)
 *
 * with migration_sequence()'s unwinding after a failure.  flags: as for
 * migration_sequence (TUNNELLED is implied). */
gboolean migration_sequence_tunnelled(DriverConn *src_local, DriverConn *dst,
                                      const DriverDomain *dom, const TypedParams *params,
                                      unsigned int flags, DriverDomain *dom_out, GError **error);

/* ---- tunnel_relay.c: the relay threads */

typedef struct _TunnelRelay TunnelRelay;

typedef enum {
    TUNNEL_RELAY_FD_TO_STREAM, /* the source: QEMU's data into the stream */
    TUNNEL_RELAY_STREAM_TO_FD, /* the destination: the stream into QEMU */
} TunnelRelayDirection;

/* Starts a relay thread between fd (taken: the relay's until it ends,
 * then closed) and stream (a reference is taken).  what names it in logs
 * ("domain 'web1'").
 *   FD_TO_STREAM runs until fd's EOF (QEMU closed its end: the migration
 *   ended, well or not, which the caller knows) and leaves the stream as
 *   it is; an error aborts the stream and shuts fd down (QEMU's writes
 *   fail).
 *   STREAM_TO_FD runs until the stream's end, then closes fd and confirms
 *   the end (driver_stream_finish); an abort, a lost connection or a
 *   failed write closes fd (QEMU's incoming migration fails) and aborts the
 *   stream, as does QEMU closing its end. */
TunnelRelay *tunnel_relay_start(const char *what, TunnelRelayDirection dir, int fd,
                                DriverStream *stream, GError **error);
/* Stops the relay early by shutting fd down (any thread). */
void tunnel_relay_cancel(TunnelRelay *relay);
/* Waits for the thread to end (timeout_ms -1: no limit); TRUE when it has. */
gboolean tunnel_relay_wait(TunnelRelay *relay, int timeout_ms);
/* Once ended: bytes moved, and why it stopped early (NULL: it ran to the
 * end; owned by relay). */
guint64 tunnel_relay_get_bytes(TunnelRelay *relay);
const GError *tunnel_relay_get_error(TunnelRelay *relay);
/* Cancels if still running, joins and frees. */
void tunnel_relay_free(TunnelRelay *relay);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TunnelRelay, tunnel_relay_free)
/* Lets the thread run on alone; it frees everything when it ends. */
void tunnel_relay_detach(TunnelRelay *relay);

/* A close-on-exec AF_UNIX stream socketpair with large buffers: *ours for
 * the relay, *qemus for QEMU (getfd; close ours after). */
gboolean tunnel_socketpair(int *ours, int *qemus, GError **error);
