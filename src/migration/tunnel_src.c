/*
 * tunnel_src.c: the source of a tunnelled migration (tunnel.h): Perform3
 * into a stream, and the v3 sequence a source ferryd runs for
 * --p2p --tunnelled.
 *
 * Perform.  QEMU gets one end of a socketpair (getfd "ferry-tunnel", within
 * the migration-out job), a relay thread reads the other end into the
 * stream, and Perform3 itself is perform.c's (migration_src_perform with
 * migrate_uri "fd:ferry-tunnel"): parameters, following QEMU, the
 * switchover, abort, rollback.  Once QEMU completed, the relay runs to
 * the socketpair's EOF (QEMU closes its end after the last byte) and the
 * stream is finished, which waits until the destination has every byte.
 * If that fails, the source is rolled back as after a failed Perform3
 * (Confirm3, cancelled): the destination's CPUs never started.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.tunnel"

#include "migration/migration_priv.h"
#include "migration/tunnel.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"

/* How long the relay may take to reach QEMU's EOF after QEMU said
 * "completed" (QEMU closes its end right after; a safety bound). */
#define TUNNEL_DRAIN_MS 30000

/* Parameters whose transport a tunnel replaces (libvirt refuses them too). */
static const char *const tunnel_refused_params[] = {
    MIGRATION_PARAM_URI,
    MIGRATION_PARAM_LISTEN_ADDRESS,
    MIGRATION_PARAM_DISKS_PORT,
};

gboolean migration_tunnel_check(const char *name, const char *phase, const TypedParams *params,
                                unsigned int flags, GError **error)
{
    name = name ? name : "?";
    for (gsize i = 0; i < G_N_ELEMENTS(tunnel_refused_params); i++) {
        if (params && typed_params_find(params, tunnel_refused_params[i])) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG,
                       "domain '%s': %s: parameter '%s' is not supported with tunnelled "
                       "migration (the data goes through ferryd's connection)",
                       name, phase, tunnel_refused_params[i]);
            return FALSE;
        }
    }
    if (flags & (MIGRATION_POSTCOPY | MIGRATION_PARALLEL | MIGRATION_OFFLINE)) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "domain '%s': %s: %s migration cannot be tunnelled",
                   name, phase,
                   (flags & MIGRATION_POSTCOPY)   ? "post-copy"
                   : (flags & MIGRATION_PARALLEL) ? "parallel"
                                                  : "offline");
        return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- perform */

static gboolean getfd_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    return qmp_getfd(mon, GPOINTER_TO_INT(opaque), TUNNEL_FD_NAME, error);
}

/* Hands fd to QEMU as TUNNEL_FD_NAME, within the migration-out job that
 * Begin3 took (the job is left for Perform3 to take over). */
static gboolean tunnel_src_pass_fd(QemuDriver *drv, const DriverDomain *dom, int fd, GError **error)
{
    g_autoptr(DomainObjLocked) obj = migration_find(drv, dom->uuid, error);
    gboolean ok;

    if (!obj)
        return FALSE;
    if (!domain_job_async_resume(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "domainMigratePerform3Params",
                                 error))
        return FALSE;
    ok = migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, getfd_cb, GINT_TO_POINTER(fd),
                               error);
    domain_job_async_continue(obj);
    return ok;
}

/* Undoes a migration whose Perform3 had succeeded (as Confirm3,
 * cancelled, would); errors go behind the one in *error. */
static void tunnel_src_unwind(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                              const TypedParams *params, unsigned int flags, GError **error)
{
    g_autoptr(GError) err = NULL;

    if (!migration_src_confirm(drv, conn_id, dom, params, NULL, flags, TRUE, &err))
        ferry_error_keep_first(error, g_steal_pointer(&err));
}

gboolean migration_src_perform_tunnel(QemuDriver *drv, guint64 conn_id, const DriverDomain *dom,
                                      DriverStream *stream, const TypedParams *params,
                                      GBytes *cookie_in, unsigned int flags, GBytes **cookie_out,
                                      GError **error)
{
    unsigned int mflags = flags & ~(unsigned int)MIGRATION_TUNNELLED;
    g_autoptr(TypedParams) pparams = NULL;
    g_autoptr(TunnelRelay) relay = NULL;
    g_autoptr(GBytes) cookie = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *what = g_strdup_printf("domain '%s'", dom->name);
    g_auto(FerryFd) ours = -1;
    g_auto(FerryFd) qemus = -1;
    gint64 started = g_get_monotonic_time();
    double secs;

    if (!migration_tunnel_check(dom->name, "perform", params, flags, &err) ||
        !driver_stream_check_open(stream, &err) || !tunnel_socketpair(&ours, &qemus, &err) ||
        !tunnel_src_pass_fd(drv, dom, qemus, &err)) {
        /* as a failed Perform3: the job ends here */
        tunnel_src_unwind(drv, conn_id, dom, params, mflags, &err);
        driver_stream_abort(stream, err);
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    ferry_fd_close(&qemus);
    pparams = params ? typed_params_copy(params) : typed_params_new();
    typed_params_remove(pparams, MIGRATION_PARAM_URI);
    if (typed_params_add_string(pparams, MIGRATION_PARAM_URI, "fd:" TUNNEL_FD_NAME, &err) < 0 ||
        !(relay = tunnel_relay_start(what, TUNNEL_RELAY_FD_TO_STREAM, ferry_fd_steal(&ours), stream,
                                     &err))) {
        tunnel_src_unwind(drv, conn_id, dom, params, mflags, &err);
        driver_stream_abort(stream, err);
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }

    /* Perform3 as ever; it ends the job itself when it fails */
    if (!migration_src_perform(drv, conn_id, dom, NULL, pparams, cookie_in, mflags, &cookie,
                               &err)) {
        const GError *broke;

        tunnel_relay_cancel(relay);
        tunnel_relay_wait(relay, -1);
        /* QEMU only saw its socket fail: the tunnel's error says why */
        if ((broke = tunnel_relay_get_error(relay))) {
            FLOG_DEBUG("domain '%s': perform: %s", dom->name, err->message);
            g_clear_error(&err);
            ferry_fail(&err, ferry_error_code_of(broke),
                       "domain '%s': migration failed: the tunnel to the destination broke: %s",
                       dom->name, broke->message);
        }
        driver_stream_abort(stream, err);
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }

    /* QEMU completed: the rest of its data, then the end, confirmed */
    if (!tunnel_relay_wait(relay, TUNNEL_DRAIN_MS)) {
        ferry_fail(&err, FERRY_ERR_OPERATION_TIMEOUT,
                   "domain '%s': perform: QEMU did not close the tunnel within %d ms of completing",
                   dom->name, TUNNEL_DRAIN_MS);
    } else if (tunnel_relay_get_error(relay)) {
        err = g_error_copy(tunnel_relay_get_error(relay));
    } else {
        (void)driver_stream_finish(stream, &err);
    }
    if (err) {
        tunnel_relay_cancel(relay);
        driver_stream_abort(stream, err);
        tunnel_src_unwind(drv, conn_id, dom, params, mflags, &err);
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    secs = (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC;
    FLOG_INFO("domain '%s': %" G_GUINT64_FORMAT " bytes went through the tunnel in %.2f s "
              "(%.0f MiB/s)",
              dom->name, tunnel_relay_get_bytes(relay), secs,
              secs > 0 ? (double)tunnel_relay_get_bytes(relay) / secs / (1 << 20) : 0.0);
    *cookie_out = g_steal_pointer(&cookie);
    return TRUE;
}

/* ---------------------------------------------------------------- sequence */

/* A copy of params with name set to value (replacing any). */
static TypedParams *params_with(const TypedParams *params, const char *name, const char *value,
                                GError **error)
{
    g_autoptr(TypedParams) copy = params ? typed_params_copy(params) : typed_params_new();

    if (value) {
        typed_params_remove(copy, name);
        if (typed_params_add_string(copy, name, value, error) < 0)
            return NULL;
    }
    return g_steal_pointer(&copy);
}

static gboolean sequence_check(DriverConn *src, DriverConn *dst, GError **error)
{
    gboolean supported = FALSE;

    if (src->ops != &qemu_driver_ops) {
        ferry_fail(error, FERRY_ERR_INTERNAL,
                   "BUG: a tunnelled migration's source is this process's QEMU driver, not the "
                   "%s driver",
                   src->ops->name);
        return FALSE;
    }
    if (!dst->ops->migrate_prepare_tunnel3 || !dst->ops->migrate_finish3)
        return driver_no_support(dst, "tunnelled migration", error);
    if (!dst->ops->supports_feature)
        return driver_no_support(dst, "migration with parameters", error);
    if (!dst->ops->supports_feature(dst, DRIVER_FEATURE_MIGRATION_PARAMS, &supported, error))
        return FALSE;
    if (!supported) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "the destination host does not support migration with parameters (v3)");
        return FALSE;
    }
    return TRUE;
}

gboolean migration_sequence_tunnelled(DriverConn *src, DriverConn *dst, const DriverDomain *dom,
                                      const TypedParams *params, unsigned int flags,
                                      DriverDomain *dom_out, GError **error)
{
    g_autoptr(GError) first = NULL;
    g_autoptr(GError) later = NULL;
    g_autoptr(GBytes) cookie1 = NULL, cookie2 = NULL, cookie3 = NULL;
    g_autofree char *xml = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(DriverStream) stream = NULL;
    gboolean supported = FALSE;
    gboolean performed;
    /* what the phases here take: the tunnel is this file's business */
    unsigned int pflags;

    if (!sequence_check(src, dst, error) ||
        !migration_tunnel_check(dom->name, "begin", params, flags, error))
        return FALSE;
    flags |= MIGRATION_TUNNELLED;
    if (src->ops->supports_feature(src, DRIVER_FEATURE_MIGRATE_CHANGE_PROTECTION, &supported,
                                   NULL) &&
        supported)
        flags |= MIGRATION_CHANGE_PROTECTION;
    pflags = flags & ~(unsigned int)MIGRATION_TUNNELLED;

    /* Begin: a failure changes nothing */
    FLOG_DEBUG("domain '%s': begin3 (tunnelled)", dom->name);
    if (!src->ops->migrate_begin3(src, dom, params, pflags, &cookie1, &xml, error))
        return FALSE;
    {
        int state = 0, reason = 0;

        if (src->ops->get_state(src, dom, &state, &reason, 0, NULL) &&
            state == DRIVER_STATE_PAUSED) {
            flags |= MIGRATION_PAUSED;
            pflags |= MIGRATION_PAUSED;
        }
    }

    /* Prepare: the destination opens the stream */
    FLOG_DEBUG("domain '%s': prepare_tunnel3", dom->name);
    stream = driver_stream_new();
    if (!(dparams = params_with(params, MIGRATION_PARAM_DEST_XML, xml, &first)) ||
        !dst->ops->migrate_prepare_tunnel3(
            dst, stream, dparams, cookie1,
            flags & ~(unsigned int)(MIGRATION_ABORT_ON_ERROR | MIGRATION_AUTO_CONVERGE), &cookie2,
            &first)) {
        FLOG_DEBUG("domain '%s': prepare_tunnel3 failed; confirm3 (cancelled)", dom->name);
        if (!src->ops->migrate_confirm3(src, dom, params, NULL, pflags, TRUE, &later))
            ferry_error_keep_first(&first, g_steal_pointer(&later));
        g_propagate_error(error, g_steal_pointer(&first));
        return FALSE;
    }

    /* Perform, through the stream */
    FLOG_DEBUG("domain '%s': perform3 through the tunnel", dom->name);
    performed =
        migration_src_perform_tunnel(qemu_driver_conn_get_driver(src), qemu_driver_conn_get_id(src),
                                     dom, stream, params, cookie2, pflags, &cookie3, &first);
    g_clear_pointer(&stream, driver_stream_unref);

    return migration_sequence_end(src, dst, dom, params, cookie3, pflags, performed,
                                  g_steal_pointer(&first), dom_out, error);
}
