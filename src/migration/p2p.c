/*
 * p2p.c: peer-to-peer migration on the source (libvirt's
 * VIR_MIGRATE_PEER2PEER, `virsh migrate --p2p`).
 *
 * The client makes one call: Perform3 with the PEER2PEER flag and the
 * destination's URI (dconnuri).  This host then acts as the client of the
 * destination and runs the whole v3 sequence itself, the same
 * migration_sequence() that libferry runs in direct mode:
 *
 *     Begin3    here, through a connection of this daemon's own
 *     Prepare3  on the destination, over the remote driver (TCP or TLS)
 *     Perform3  here: QEMU migrates straight to the destination's QEMU
 *     Finish3   on the destination
 *     Confirm3  here
 *
 * Who owns what:
 *   - The migration-out job belongs to the daemon, not to the client's
 *     connection: Begin3 runs on a private QEMU driver connection whose id
 *     no client has (owner.c), so a client that goes away mid-migration
 *     ends nothing; its Perform3 call runs to the end of the sequence
 *     (the RPC server lets a closed client's calls finish) and the answer
 *     is dropped.  While it runs, any client sees the job's statistics on
 *     this host and can abort it (domjobabort).
 *   - The destination's incoming QEMU belongs to our connection to the
 *     destination daemon from Prepare3 until Finish3: when that connection
 *     closes, the destination autodestroys it; a destination daemon that
 *     died cannot, and a restarted one destroys it when it reconnects (a
 *     domain that was to die with its connection, qemu_driver.h).
 *
 * Losing the destination: a watchdog thread probes the destination's
 * connection every P2P_WATCH_INTERVAL_MS (a cheap feature query; the
 * remote driver's keepalive closes a connection to a peer that stopped
 * answering).  When a probe fails the migration is aborted as domjobabort
 * would: during Perform3 QEMU's migration is cancelled and the guest
 * resumes here; before it, Perform3 is not started; after it, Finish3 on
 * the dead connection fails and Confirm3 (cancelled) resumes the guest.
 * A call to the destination (Prepare3, Finish3) that fails because the
 * connection is gone counts the same.  The error names the lost
 * destination.
 *
 * An abort between the phases (while the destination prepares) is noted
 * (the job's abort flag) and Perform3 then does not start.  After
 * Perform3 the guest is the destination's to take over: an abort is
 * refused.
 *
 * Tunnelled migration (PEER2PEER|TUNNELLED) runs the tunnel's sequence
 * (tunnel_src.c) with the private QEMU driver connection and the
 * destination daemon's connection: the data goes through an RPC stream.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.p2p"

#include "driver/driver_registry.h"
#include "migration/migration_priv.h"
#include "migration/tunnel.h"
#include "util/error.h"
#include "util/log.h"

/* How often the watchdog probes the destination. */
#define P2P_WATCH_INTERVAL_MS 500

/* ---------------------------------------------------------------- configuration */

static GMutex p2p_config_lock;
static char *p2p_pki_dir;
static int p2p_keepalive_interval = -1;
static int p2p_keepalive_count = -1;

void migration_p2p_configure(const MigrationP2pConfig *cfg)
{
    g_mutex_lock(&p2p_config_lock);
    g_free(p2p_pki_dir);
    p2p_pki_dir = g_strdup(cfg->pki_dir);
    p2p_keepalive_interval = cfg->keepalive_interval;
    p2p_keepalive_count = cfg->keepalive_count;
    g_mutex_unlock(&p2p_config_lock);
}

/* Fills in what the URI leaves to us: the TLS files and the keepalive. */
static void p2p_config_apply(DriverUri *uri)
{
    g_mutex_lock(&p2p_config_lock);
    if (uri->transport == DRIVER_URI_TRANSPORT_TLS && !uri->pkipath && p2p_pki_dir)
        uri->pkipath = g_strdup(p2p_pki_dir);
    if (uri->keepalive_interval < 0 && p2p_keepalive_interval >= 0)
        uri->keepalive_interval = p2p_keepalive_interval;
    if (uri->keepalive_count < 0 && p2p_keepalive_count >= 0)
        uri->keepalive_count = p2p_keepalive_count;
    g_mutex_unlock(&p2p_config_lock);
}

/* ---------------------------------------------------------------- one migration */

typedef struct {
    QemuDriver *drv;
    DriverDomain dom;
    char *dconnuri;
    DriverConn *dst; /* the destination daemon */

    GMutex lock; /* guards what follows */
    GCond cond;
    gboolean done; /* the sequence is over: the watchdog stops */
    gboolean lost; /* the watchdog lost the destination */
    GError *lost_error; /* why */
} P2pRun;

/* The error for a migration cancelled because the destination went
 * (run->lock held). */
static void p2p_fail_lost(P2pRun *run, GError **error)
{
    ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
               "domain '%s': lost the connection to the destination '%s' (%s): migration "
               "cancelled",
               run->dom.name, run->dconnuri,
               run->lost_error ? run->lost_error->message : "no answer");
}

/* A call to the destination failed with *error: when the connection is
 * gone (the remote driver's NO_CONNECT), the destination is lost, and the
 * error says so. */
static void p2p_check_lost(P2pRun *run, GError **error)
{
    if (!error || !*error || !ferry_error_is(*error, FERRY_ERR_NO_CONNECT))
        return;
    g_mutex_lock(&run->lock);
    if (!run->lost) {
        run->lost = TRUE;
        run->lost_error = g_error_copy(*error);
    }
    g_clear_error(error);
    p2p_fail_lost(run, error);
    g_mutex_unlock(&run->lock);
}

static gboolean p2p_is_lost(P2pRun *run, GError **error)
{
    gboolean lost;

    g_mutex_lock(&run->lock);
    lost = run->lost;
    if (lost && error)
        p2p_fail_lost(run, error);
    g_mutex_unlock(&run->lock);
    return lost;
}

static gpointer p2p_watchdog(gpointer data)
{
    P2pRun *run = data;

    g_mutex_lock(&run->lock);
    while (!run->done) {
        gint64 until = g_get_monotonic_time() + (gint64)P2P_WATCH_INTERVAL_MS * 1000;
        g_autoptr(GError) err = NULL;
        gboolean supported = FALSE;
        gboolean ok;

        while (!run->done && g_cond_wait_until(&run->cond, &run->lock, until))
            ;
        if (run->done)
            break;
        g_mutex_unlock(&run->lock);
        ok = run->dst->ops->supports_feature(run->dst, DRIVER_FEATURE_MIGRATION_PARAMS, &supported,
                                             &err);
        g_mutex_lock(&run->lock);
        if (ok || run->done)
            continue;

        if (!run->lost) {
            run->lost = TRUE;
            run->lost_error = g_steal_pointer(&err);
        }
        FLOG_WARN("domain '%s': lost the destination '%s': %s; cancelling the migration",
                  run->dom.name, run->dconnuri, run->lost_error->message);
        g_clear_error(&err);
        g_mutex_unlock(&run->lock);
        /* as domjobabort: cancels QEMU's migration in Perform3, marks the
         * job between phases (the sequence checks run->lost as well) */
        if (!qemu_driver_domain_abort_job(run->drv, run->dom.uuid, &err))
            FLOG_DEBUG("domain '%s': abort after losing the destination: %s", run->dom.name,
                       err->message);
        g_mutex_lock(&run->lock);
        break;
    }
    g_mutex_unlock(&run->lock);
    return NULL;
}

/* ---------------------------------------------------------------- abort hooks */

/* Between Begin3 and Perform3: the abort flag is all it takes (Perform3
 * checks it before QEMU migrates). */
static gboolean p2p_abort_before_perform(DomainObj *obj, gpointer opaque, GError **error)
{
    FLOG_INFO("domain '%s': peer-to-peer migration aborted before QEMU migrates",
              domain_obj_name(obj));
    return TRUE;
}

/* After Perform3: the destination has the guest. */
static gboolean p2p_abort_after_perform(DomainObj *obj, gpointer opaque, GError **error)
{
    ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
               "domain '%s': the migration has reached the destination, which is taking the "
               "guest over: it can no longer be aborted",
               domain_obj_name(obj));
    return FALSE;
}

/* Sets the hook while the migration-out job runs (between phases: no
 * thread owns it, and nobody else sets hooks then). */
static void p2p_set_abort_hook(P2pRun *run, DomainJobAbortHook hook)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj = migration_find(run->drv, run->dom.uuid, &err);

    if (obj && domain_job_get_async(obj) == DOMAIN_ASYNC_JOB_MIGRATION_OUT)
        domain_job_set_abort_hook(obj, hook, NULL);
}

static gboolean p2p_abort_requested(P2pRun *run)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj = migration_find(run->drv, run->dom.uuid, &err);

    return obj && domain_job_get_async(obj) == DOMAIN_ASYNC_JOB_MIGRATION_OUT &&
           domain_job_abort_requested(obj);
}

/* ---------------------------------------------------------------- the source connection */

/* What migration_sequence() gets as the source: the daemon's private QEMU
 * driver connection, with the checks and hooks of peer-to-peer between
 * the phases. */
typedef struct {
    DriverConn parent;
    DriverConn *local;
    P2pRun *run;
} P2pSrcConn;

static P2pSrcConn *p2p_src(DriverConn *conn)
{
    return (P2pSrcConn *)conn;
}

static gboolean p2p_src_supports_feature(DriverConn *conn, int feature, gboolean *supported,
                                         GError **error)
{
    DriverConn *local = p2p_src(conn)->local;

    return local->ops->supports_feature(local, feature, supported, error);
}

static gboolean p2p_src_get_state(DriverConn *conn, const DriverDomain *dom, int *state,
                                  int *reason, unsigned int flags, GError **error)
{
    DriverConn *local = p2p_src(conn)->local;

    return local->ops->get_state(local, dom, state, reason, flags, error);
}

static gboolean p2p_src_begin3(DriverConn *conn, const DriverDomain *dom, const TypedParams *params,
                               unsigned int flags, GBytes **cookie_out, char **xml_out,
                               GError **error)
{
    P2pSrcConn *sc = p2p_src(conn);

    if (!sc->local->ops->migrate_begin3(sc->local, dom, params, flags, cookie_out, xml_out, error))
        return FALSE;
    if (!(flags & MIGRATION_OFFLINE))
        p2p_set_abort_hook(sc->run, p2p_abort_before_perform);
    return TRUE;
}

static gboolean p2p_src_prepare3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                 unsigned int flags, GBytes **cookie_out, char **uri_out,
                                 GError **error)
{
    return driver_no_support(conn, "preparing an incoming migration", error);
}

static gboolean p2p_src_perform3(DriverConn *conn, const DriverDomain *dom, const char *dconnuri,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 GBytes **cookie_out, GError **error)
{
    P2pSrcConn *sc = p2p_src(conn);
    g_autoptr(GError) err = NULL;

    /* the job stays for Confirm3 (cancelled) to end */
    if (p2p_is_lost(sc->run, error))
        return FALSE;
    if (!(flags & MIGRATION_OFFLINE) && p2p_abort_requested(sc->run)) {
        ferry_fail(error, FERRY_ERR_OPERATION_ABORTED, "domain '%s': migration aborted by the user",
                   dom->name);
        return FALSE;
    }
    if (!sc->local->ops->migrate_perform3(sc->local, dom, NULL, params, cookie_in, flags,
                                          cookie_out, &err)) {
        /* "aborted by the user" was the watchdog's doing: say why */
        if (!p2p_is_lost(sc->run, error))
            g_propagate_error(error, g_steal_pointer(&err));
        else
            FLOG_DEBUG("domain '%s': perform3: %s", dom->name, err->message);
        return FALSE;
    }
    if (!(flags & MIGRATION_OFFLINE))
        p2p_set_abort_hook(sc->run, p2p_abort_after_perform);
    return TRUE;
}

static gboolean p2p_src_finish3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                unsigned int flags, gboolean cancelled, DriverDomain *dom,
                                GBytes **cookie_out, GError **error)
{
    return driver_no_support(conn, "finishing an incoming migration", error);
}

static gboolean p2p_src_confirm3(DriverConn *conn, const DriverDomain *dom,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 gboolean cancelled, GError **error)
{
    DriverConn *local = p2p_src(conn)->local;

    return local->ops->migrate_confirm3(local, dom, params, cookie_in, flags, cancelled, error);
}

static void p2p_src_close(DriverConn *conn)
{
    P2pSrcConn *sc = p2p_src(conn);

    /* closing the private connection ends a migration it left between
     * phases (owner.c) */
    driver_conn_unref(sc->local);
    g_free(sc);
}

static const DriverOps p2p_src_ops = {
    .name = "peer-to-peer source",
    .supports_feature = p2p_src_supports_feature,
    .close = p2p_src_close,
    .get_state = p2p_src_get_state,
    .migrate_begin3 = p2p_src_begin3,
    .migrate_prepare3 = p2p_src_prepare3,
    .migrate_perform3 = p2p_src_perform3,
    .migrate_finish3 = p2p_src_finish3,
    .migrate_confirm3 = p2p_src_confirm3,
};

static DriverConn *p2p_src_conn_new(QemuDriver *drv, P2pRun *run)
{
    P2pSrcConn *sc = g_new0(P2pSrcConn, 1);
    guint64 id = migration_owner_daemon_conn_id();

    driver_conn_init(&sc->parent, &p2p_src_ops, "qemu:///system");
    sc->local = qemu_driver_conn_open(drv, id, "qemu:///system");
    sc->run = run;
    FLOG_DEBUG("domain '%s': the migration runs on the daemon's connection %" G_GUINT64_FORMAT,
               run->dom.name, id);
    return &sc->parent;
}

/* ---------------------------------------------------------------- the destination */

/* What migration_sequence() gets as the destination: the remote
 * connection, its errors telling when the destination is lost. */
typedef struct {
    DriverConn parent;
    P2pRun *run; /* run->dst: the remote connection */
} P2pDstConn;

static P2pRun *p2p_dst_run(DriverConn *conn)
{
    return ((P2pDstConn *)conn)->run;
}

static gboolean p2p_dst_supports_feature(DriverConn *conn, int feature, gboolean *supported,
                                         GError **error)
{
    DriverConn *dst = p2p_dst_run(conn)->dst;
    gboolean ok = dst->ops->supports_feature(dst, feature, supported, error);

    if (!ok)
        p2p_check_lost(p2p_dst_run(conn), error);
    return ok;
}

static gboolean p2p_dst_no_source(DriverConn *conn, GError **error)
{
    return driver_no_support(conn, "outgoing migrations", error);
}

static gboolean p2p_dst_begin3(DriverConn *conn, const DriverDomain *dom, const TypedParams *params,
                               unsigned int flags, GBytes **cookie_out, char **xml_out,
                               GError **error)
{
    return p2p_dst_no_source(conn, error);
}

static gboolean p2p_dst_prepare3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                 unsigned int flags, GBytes **cookie_out, char **uri_out,
                                 GError **error)
{
    P2pRun *run = p2p_dst_run(conn);
    gboolean ok;

    if (p2p_is_lost(run, error))
        return FALSE;
    ok = run->dst->ops->migrate_prepare3(run->dst, params, cookie_in, flags, cookie_out, uri_out,
                                         error);
    if (!ok)
        p2p_check_lost(run, error);
    return ok;
}

static gboolean p2p_dst_perform3(DriverConn *conn, const DriverDomain *dom, const char *dconnuri,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 GBytes **cookie_out, GError **error)
{
    return p2p_dst_no_source(conn, error);
}

static gboolean p2p_dst_finish3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                unsigned int flags, gboolean cancelled, DriverDomain *dom,
                                GBytes **cookie_out, GError **error)
{
    P2pRun *run = p2p_dst_run(conn);
    gboolean ok = run->dst->ops->migrate_finish3(run->dst, params, cookie_in, flags, cancelled, dom,
                                                 cookie_out, error);

    if (!ok)
        p2p_check_lost(run, error);
    return ok;
}

static gboolean p2p_dst_confirm3(DriverConn *conn, const DriverDomain *dom,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 gboolean cancelled, GError **error)
{
    return p2p_dst_no_source(conn, error);
}

static void p2p_dst_close(DriverConn *conn)
{
    g_free(conn);
}

static const DriverOps p2p_dst_ops = {
    .name = "peer-to-peer destination",
    .supports_feature = p2p_dst_supports_feature,
    .close = p2p_dst_close,
    .migrate_begin3 = p2p_dst_begin3,
    .migrate_prepare3 = p2p_dst_prepare3,
    .migrate_perform3 = p2p_dst_perform3,
    .migrate_finish3 = p2p_dst_finish3,
    .migrate_confirm3 = p2p_dst_confirm3,
};

static DriverConn *p2p_dst_conn_new(P2pRun *run)
{
    P2pDstConn *dc = g_new0(P2pDstConn, 1);

    driver_conn_init(&dc->parent, &p2p_dst_ops, run->dconnuri);
    dc->run = run;
    return &dc->parent;
}

static DriverConn *p2p_open_dest(const char *name, const char *dconnuri, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverUri) uri = driver_uri_parse(dconnuri, &err);
    const DriverRegistration *reg;
    DriverConn *conn;

    if (!uri) {
        ferry_fail(error, ferry_error_code_of(err), "domain '%s': destination URI: %s", name,
                   err->message);
        return NULL;
    }
    p2p_config_apply(uri);
    if (!(reg = driver_registry_find(uri, &err)) || !(conn = reg->open(uri, 0, &err))) {
        ferry_fail(error, ferry_error_code_of(err),
                   "domain '%s': peer-to-peer migration cannot reach the destination: %s", name,
                   err->message);
        return NULL;
    }
    return conn;
}

/* ---------------------------------------------------------------- Perform3 with PEER2PEER */

static void p2p_run_clear(P2pRun *run)
{
    driver_domain_clear(&run->dom);
    g_free(run->dconnuri);
    g_clear_pointer(&run->dst, driver_conn_unref);
    g_clear_error(&run->lost_error);
    g_cond_clear(&run->cond);
    g_mutex_clear(&run->lock);
}

gboolean migration_src_perform_p2p(QemuDriver *drv, const DriverDomain *dom, const char *dconnuri,
                                   const TypedParams *params, unsigned int flags, GError **error)
{
    P2pRun run = { .drv = drv };
    g_autoptr(DriverConn) src = NULL;
    g_autoptr(DriverConn) dst = NULL;
    g_autoptr(GError) err = NULL;
    GThread *watchdog;
    gint64 started = g_get_monotonic_time();
    gboolean ok;

    {
        /* the domain exists, and what was asked for can run */
        g_autoptr(DomainObjLocked) obj = migration_find(drv, dom->uuid, error);

        if (!obj || !migration_params_check(domain_obj_name(obj), "perform", params, flags, error))
            return FALSE;
        driver_domain_copy(&run.dom, dom);
        g_free(run.dom.name);
        run.dom.name = g_strdup(domain_obj_name(obj));
    }
    g_mutex_init(&run.lock);
    g_cond_init(&run.cond);
    run.dconnuri = g_strdup(dconnuri);
    FLOG_INFO("domain '%s': peer-to-peer migration to '%s' (flags 0x%x)", run.dom.name, dconnuri,
              flags);
    if (!(run.dst = p2p_open_dest(run.dom.name, dconnuri, error))) {
        p2p_run_clear(&run);
        return FALSE;
    }
    src = p2p_src_conn_new(drv, &run);
    dst = p2p_dst_conn_new(&run);

    watchdog = g_thread_new("p2p-watchdog", p2p_watchdog, &run);
    if (flags & MIGRATION_TUNNELLED)
        ok = migration_sequence_tunnelled(p2p_src(src)->local, run.dst, &run.dom, params, flags,
                                          NULL, &err);
    else
        ok = migration_sequence(src, dst, &run.dom, params, flags, NULL, &err);
    g_mutex_lock(&run.lock);
    run.done = TRUE;
    g_cond_broadcast(&run.cond);
    g_mutex_unlock(&run.lock);
    g_thread_join(watchdog);

    /* the private connection first: it ends a job left between phases */
    g_clear_pointer(&src, driver_conn_unref);
    g_clear_pointer(&dst, driver_conn_unref);
    if (ok)
        FLOG_INFO("domain '%s': migrated to '%s' (peer-to-peer) in %.3f s", run.dom.name, dconnuri,
                  (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC);
    else
        FLOG_INFO("domain '%s': peer-to-peer migration to '%s' failed: %s", run.dom.name, dconnuri,
                  err->message);
    p2p_run_clear(&run);
    if (!ok)
        g_propagate_error(error, g_steal_pointer(&err));
    return ok;
}
