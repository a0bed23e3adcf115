/*
 * migration_priv.h: what the files of src/migration share.
 *
 * Every phase runs on a worker thread, never on the I/O thread, and talks
 * to QEMU only through migration_monitor_run (the domain lock dropped,
 * an ASYNC_NESTED job held by the migration job's owner).
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

#include "conf/cookie.h"
#include "driver/domain_obj.h"
#include "driver/qemu_capabilities.h"
#include "driver/qemu_driver_ops.h"
#include "driver/qemu_driver_priv.h"
#include "driver/qemu_monitor.h"
#include "migration/migration.h"

/* The source guest should run if the migration is undone: it was running
 * when Begin took the job and the user has not paused it since (a user's
 * suspend during the migration clears it, a resume sets it again; see
 * domain_job.h).  A cancelled migration resumes the source only with it. */
#define MIGRATION_JOB_SRC_WAS_RUNNING DOMAIN_JOB_FLAG_GUEST_RUNS
/* Perform3 returned in post-copy: the destination may run the guest, and
 * nothing undoes the migration any more (postcopy.c). */
#define MIGRATION_JOB_POSTCOPY_BEGUN (1ULL << 41)

/* Flags each phase accepts. */
#define MIGRATION_FLAGS_SUPPORTED \
    (MIGRATION_LIVE | MIGRATION_PEER2PEER | MIGRATION_TUNNELLED | MIGRATION_PERSIST_DEST | \
     MIGRATION_UNDEFINE_SOURCE | MIGRATION_PAUSED | MIGRATION_CHANGE_PROTECTION | \
     MIGRATION_UNSAFE | MIGRATION_OFFLINE | MIGRATION_COMPRESSED | MIGRATION_ABORT_ON_ERROR | \
     MIGRATION_AUTO_CONVERGE | MIGRATION_POSTCOPY | MIGRATION_PARALLEL)

/* How long Perform3 waits for the destination to accept the migration's
 * connection (connect.c). */
#define MIGRATION_CONNECT_TIMEOUT_MS 30000

/* How long Finish waits for QEMU to finish loading what the source sent
 * once the source reported completion (a safety bound, not a timing). */
#define MIGRATION_FINISH_WAIT_MS 60000

/* ---------------------------------------------------------------- params.c */

typedef enum {
    MIGRATION_SIDE_SRC = 1 << 0,
    MIGRATION_SIDE_DST = 1 << 1,
    MIGRATION_SIDE_BOTH = MIGRATION_SIDE_SRC | MIGRATION_SIDE_DST,
} MigrationSide;

/* Checks the typed parameters (names, types) and the flags against what
 * ferry supports; "phase" names the caller in messages. */
gboolean migration_params_check(const char *name, const char *phase, const TypedParams *params,
                                unsigned int flags, GError **error);

/* Sets the QEMU migration capabilities and parameters the flags and typed
 * parameters ask for, on one side (obj locked, the async job owned).
 * The capabilities of the table that QEMU has are set on or off as this
 * migration wants them, sending only those whose state in that QEMU
 * differs from what ferry last set (all of them when that is unknown), so
 * that nothing left from an earlier migration leaks in.  On the source
 * max-bandwidth is always set: the user's, or unlimited (QEMU's default is
 * a limit: 128 MiB/s in 7.2). */
gboolean migration_params_apply(QemuDriver *drv, DomainObj *obj, DomainAsyncJob job,
                                const TypedParams *params, unsigned int flags, MigrationSide side,
                                GError **error);

/* Cookie 1 and 2's <capabilities>: every capability of the table that
 * caps (this side's QEMU) has, auto='yes' when this migration turns it on
 * on side.  The part is flagged even when empty. */
gboolean migration_params_cookie_caps(MigrationCookie *cookie, const QemuCaps *caps,
                                      const TypedParams *params, unsigned int flags,
                                      MigrationSide side, GError **error);
/* Perform3: refuses a capability this migration turns on at the
 * destination that the destination's cookie 2 lacks (a cookie without
 * <capabilities>, from an older peer, is accepted).  name names the
 * domain. */
gboolean migration_params_check_peer_caps(const char *name, const MigrationCookie *cookie,
                                          const TypedParams *params, unsigned int flags,
                                          GError **error);

/* ---------------------------------------------------------------- common.c */

/* The domain, locked and referenced (g_autoptr(DomainObjLocked)). */
DomainObj *migration_find(QemuDriver *drv, const unsigned char *uuid, GError **error);
/* Sets the job's phase (never backwards) and persists it in the status
 * XML. */
gboolean migration_set_phase(QemuDriver *drv, DomainObj *obj, DomainMigrationPhase phase,
                             GError **error);
/* Writes the status XML, logging a failure (for cleanup paths). */
void migration_save_status(QemuDriver *drv, DomainObj *obj);
/* The capabilities of the domain's QEMU binary. */
QemuCaps *migration_get_caps(QemuDriver *drv, DomainObj *obj, GError **error);

/* Runs fn with the domain's monitor, the object unlocked, an ASYNC_NESTED
 * job of job held (job DOMAIN_ASYNC_JOB_NONE: the caller holds a sync
 * job). */
typedef gboolean (*MigrationMonitorFunc)(QemuMonitor *mon, gpointer opaque, GError **error);
gboolean migration_monitor_run(DomainObj *obj, DomainAsyncJob job, MigrationMonitorFunc fn,
                               gpointer opaque, GError **error);
/* query-migrate through migration_monitor_run. */
json_object *migration_query(DomainObj *obj, DomainAsyncJob job, GError **error);
/* The "status" of a query-migrate answer ("" when absent). */
const char *migration_query_status(json_object *q);
/* Progress and statistics from a query-migrate answer. */
void migration_progress_from_query(json_object *q, DomainJobProgress *progress);
void migration_stats_from_query(json_object *q, gint64 started_ms, CookieStatistics *stats);

/* Stops the domain's QEMU (obj locked, the async job owned: a nested job
 * is taken for it) and removes a transient domain. */
void migration_stop_qemu(QemuDriver *drv, DomainObj *obj, DomainAsyncJob job, const char *reason);

/* ---------------------------------------------------------------- connect.c */

/* "tcp:HOST[:PORT]" or "tcp://HOST[:PORT]" (HOST may be [v6]); *port 0
 * when the URI has none.  Other schemes: FERRY_ERR_NO_SUPPORT. */
gboolean migration_parse_tcp_uri(const char *name, const char *phase, const char *uri, char **host,
                                 int *port, GError **error);
/* host:port in URI form (v6 in brackets). */
char *migration_format_hostport(const char *host, int port);
/* Perform3 connects for QEMU (fd:migrate): a tcp: URI, no multifd. */
gboolean migration_uri_ferry_connects(const char *uri, unsigned int flags);
/* Resolves host and connects to the first address that answers within
 * timeout_ms (blocking the caller: a worker thread, the domain unlocked);
 * a blocking, close-on-exec socket, or -1 with an error naming host:port
 * ("name" names the domain). */
int migration_connect(const char *name, const char *host, int port, int timeout_ms, GError **error);

/* ---------------------------------------------------------------- cookie_use.c */

void migration_cookie_host(QemuDriver *drv, CookieHost *host);
/* A cookie with the identity (domain name and uuid, our host). */
MigrationCookie *migration_cookie_new(QemuDriver *drv, const char *name, const unsigned char *uuid,
                                      GError **error);
/* Formatted, NUL-terminated (the wire's length includes the NUL). */
GBytes *migration_cookie_bake(MigrationCookie *cookie, GError **error);
/* Parses what the peer sent; name (may be NULL) names the domain in
 * messages.  Refuses a cookie from this very host ("migrating to the same
 * host").  A NULL or empty cookie is refused unless optional, in which
 * case NULL is returned without an error. */
MigrationCookie *migration_cookie_eat(QemuDriver *drv, const char *name, const char *phase,
                                      GBytes *bytes, gboolean optional, GError **error);

/* The domain has <graphics type='spice'>. */
gboolean migration_has_spice(const DomainDef *def);
/* Cookie 1's <graphics>: the source's first SPICE graphics, else its
 * first VNC, as they listen (type, listen address, port, tls port). */
gboolean migration_cookie_src_graphics(MigrationCookie *cookie, const DomainDef *def,
                                       GError **error);
/* Cookie 2's <graphics>: the destination's SPICE graphics (def of the
 * started QEMU) as a viewer reaches them: the listen address, or host when
 * it is a wildcard, and the ports QEMU got; with SPICE over TLS on and a
 * TLS port, the subject of its server certificate.  Nothing without
 * SPICE. */
gboolean migration_cookie_dst_graphics(QemuDriver *drv, MigrationCookie *cookie,
                                       const DomainDef *def, const char *host, GError **error);
/* The host name this destination advertises without a migrate_uri or
 * listen address (ferryd.conf's migration_host, a specific
 * migration_address, else the host's name). */
const char *migration_advertised_host(QemuDriver *drv);

/* ---------------------------------------------------------------- the phases */

gboolean migration_src_begin(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                             const TypedParams *params, unsigned int flags, GBytes **cookie_out,
                             char **xml_out, GError **error);
/* Cookie 2 (prepare.c; tunnel_dst.c too): who, the destination's SPICE
 * graphics (a wildcard listen address replaced by host, the address the
 * source is told) and its QEMU's migration capabilities (obj locked, its
 * QEMU started). */
MigrationCookie *migration_prepare_cookie(QemuDriver *drv, DomainObj *obj, const char *name,
                                          const char *host, const TypedParams *params,
                                          unsigned int flags, GError **error);
/* The incoming definition, for Prepare3 and its tunnelled variant: the
 * parameters' destination_xml (with cookie 1's uuid), renamed to
 * destination_name when given. */
DomainDef *migration_dst_prepare_def(MigrationCookie *cookie, const TypedParams *params,
                                     GError **error);
gboolean migration_dst_prepare(QemuDriver *drv, guint64 conn_id, const TypedParams *params,
                               GBytes *cookie_in, unsigned int flags, GBytes **cookie_out,
                               char **uri_out, GError **error);
gboolean migration_src_perform(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                               const char *dconnuri, const TypedParams *params, GBytes *cookie_in,
                               unsigned int flags, GBytes **cookie_out, GError **error);
gboolean migration_dst_finish(QemuDriver *drv, guint64 conn_id, const TypedParams *params,
                              GBytes *cookie_in, unsigned int flags, gboolean cancelled,
                              DriverDomain *dom, GBytes **cookie_out, GError **error);
gboolean migration_src_confirm(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                               const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                               gboolean cancelled, GError **error);

/* graphics.c: before `migrate` (obj locked, the migration-out job
 * owned): when the domain has SPICE graphics and cookie 2 (may be NULL)
 * says where the destination's SPICE listens, client_migrate_info tells
 * QEMU, so that connected viewers follow the guest.  A failure is logged
 * as a warning: the migration goes on (always TRUE). */
gboolean migration_src_graphics_relocate(DomainObj *obj, const MigrationCookie *cookie);

/* offline.c: VIR_MIGRATE_OFFLINE, the definition only. */
gboolean migration_src_begin_offline(QemuDriver *drv, DomainObj *obj, const TypedParams *params,
                                     unsigned int flags, GBytes **cookie_out, char **xml_out,
                                     GError **error);
gboolean migration_dst_prepare_offline(QemuDriver *drv, MigrationCookie *cookie,
                                       const TypedParams *params, unsigned int flags,
                                       GBytes **cookie_out, GError **error);
gboolean migration_dst_finish_offline(QemuDriver *drv, const TypedParams *params, GBytes *cookie_in,
                                      unsigned int flags, gboolean cancelled, DriverDomain *dom,
                                      GBytes **cookie_out, GError **error);
gboolean migration_src_confirm_offline(QemuDriver *drv, const DriverDomain *dom, unsigned int flags,
                                       gboolean cancelled, GError **error);

/* After a failed or cancelled migration, on the source (obj locked, the
 * migration-out job owned): the migration in QEMU cancelled and ended;
 * then, if the guest should run (MIGRATION_JOB_SRC_WAS_RUNNING: it ran
 * when the migration began and the user did not pause it meanwhile), the
 * leases taken again and its CPUs started.  A guest the user paused
 * during the migration stays paused (and holds no leases, as after any
 * suspend), whether or not the migration had paused it too.  Errors are
 * kept behind any already in *error. */
void migration_src_rollback(QemuDriver *drv, DomainObj *obj, GError **error);
gboolean migration_src_perform_offline(QemuDriver *drv, DomainObj *obj, GBytes **cookie_out,
                                       GError **error);

/* postcopy.c (see there for what post-copy means on each side). */
gboolean migration_src_start_postcopy(QemuDriver *drv, const DriverDomain *dom, unsigned int flags,
                                      GError **error);
/* MIGRATION_JOB_POSTCOPY_BEGUN is set (obj locked). */
gboolean migration_postcopy_begun(DomainObj *obj);
/* Perform3 saw postcopy-active (obj locked, the job owned): marks the job,
 * refuses resume and abort from now on, and says the source is paused
 * for post-copy. */
void migration_src_postcopy_switched(QemuDriver *drv, DomainObj *obj);
/* A failure after post-copy began, on the source: left paused (reason
 * postcopy-failed), the error (kept behind an earlier one) says why. */
void migration_src_postcopy_failed(QemuDriver *drv, DomainObj *obj, GError **error);
/* Confirm3: waits (bounded) for the source QEMU to complete. */
gboolean migration_src_postcopy_wait(DomainObj *obj, GError **error);
/* Finish3: *loaded once the incoming QEMU has the device state (no
 * longer "inmigrate"); then waits for the incoming migration to complete. */
gboolean migration_dst_postcopy_loaded(DomainObj *obj, gboolean *loaded, GError **error);
gboolean migration_dst_postcopy_wait(DomainObj *obj, GError **error);
/* A failure of Finish3 after post-copy began (error set, not NULL): the
 * incoming QEMU is kept as it is (reason postcopy-failed), no longer
 * autodestroyed, and *error rewritten to say so. */
void migration_dst_postcopy_failed(QemuDriver *drv, DomainObj *obj, GError **error);

/* owner.c: the connection that began an outgoing migration (Begin3
 * adds, the end of the job removes; a closing connection ends the
 * migrations it left between phases). */
void migration_owner_add(QemuDriver *drv, guint64 conn, const unsigned char *uuid);
void migration_owner_remove(QemuDriver *drv, const unsigned char *uuid);
void migration_connection_closed(QemuDriver *drv, guint64 conn);

/* ------------------------------------------------- performance and recovery
 * (issue 6: the phases' critical path; destination job statistics; ports
 * of concurrent Prepares; a daemon restart mid-migration) */

/* As migration_stop_qemu, without waiting for QEMU to exit: for a source
 * whose migration completed (its CPUs never run again).  QEMU is reaped
 * in the background; a new start of the domain waits for that
 * (qemu_process_retire). */
void migration_retire_qemu(QemuDriver *drv, DomainObj *obj, DomainAsyncJob job, const char *reason);

/* Waits (obj locked) until QEMU reported a migration status change after
 * `seen` (a domain_job_migration_events() taken before the caller's last
 * query-migrate: one that came meanwhile ends the wait at once), or at
 * most interval_ms (QEMU without MIGRATION events, or a safety net). */
void migration_wait_event(DomainObj *obj, guint seen, int interval_ms);
