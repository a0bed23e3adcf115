/*
 * migrate.c: ferry_domain_migrate3 and ferry_domain_migrate_to_uri3.
 *
 * Client-managed ("direct") v3 migration: this library drives the five
 * phases over the caller's two connections with src/migration's
 * migration_sequence(), the same code a source ferryd runs for
 * peer-to-peer.
 *
 * Peer-to-peer (FERRY_MIGRATE_PEER2PEER): one call, Perform3 with the
 * destination's URI, on the source, whose daemon runs the sequence
 * itself (src/migration/p2p.c); as libvirt's client, we first ask the
 * source whether it can (MIGRATION_P2P, MIGRATION_PARAMS).
 *
 * Nothing here holds a lock across the sequence: the FerryDomain and both
 * FerryConnects stay usable from other threads while it blocks (job
 * statistics, abort, speed, suspend, post-copy), and the driver (the
 * remote driver's RPC client) carries such calls next to the running
 * Perform3.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LIBFERRY
#define FERRY_LOG_MODULE "libferry.migrate"

#include "libferry/libferry_priv.h"
#include "migration/migration.h"
#include "util/error.h"
#include "util/log.h"

/* The public flags are the sequence's, bit for bit. */
G_STATIC_ASSERT((int)FERRY_MIGRATE_LIVE == (int)MIGRATION_LIVE);
G_STATIC_ASSERT((int)FERRY_MIGRATE_PEER2PEER == (int)MIGRATION_PEER2PEER);
G_STATIC_ASSERT((int)FERRY_MIGRATE_TUNNELLED == (int)MIGRATION_TUNNELLED);
G_STATIC_ASSERT((int)FERRY_MIGRATE_PERSIST_DEST == (int)MIGRATION_PERSIST_DEST);
G_STATIC_ASSERT((int)FERRY_MIGRATE_UNDEFINE_SOURCE == (int)MIGRATION_UNDEFINE_SOURCE);
G_STATIC_ASSERT((int)FERRY_MIGRATE_PAUSED == (int)MIGRATION_PAUSED);
G_STATIC_ASSERT((int)FERRY_MIGRATE_NON_SHARED_DISK == (int)MIGRATION_NON_SHARED_DISK);
G_STATIC_ASSERT((int)FERRY_MIGRATE_NON_SHARED_INC == (int)MIGRATION_NON_SHARED_INC);
G_STATIC_ASSERT((int)FERRY_MIGRATE_CHANGE_PROTECTION == (int)MIGRATION_CHANGE_PROTECTION);
G_STATIC_ASSERT((int)FERRY_MIGRATE_UNSAFE == (int)MIGRATION_UNSAFE);
G_STATIC_ASSERT((int)FERRY_MIGRATE_OFFLINE == (int)MIGRATION_OFFLINE);
G_STATIC_ASSERT((int)FERRY_MIGRATE_COMPRESSED == (int)MIGRATION_COMPRESSED);
G_STATIC_ASSERT((int)FERRY_MIGRATE_ABORT_ON_ERROR == (int)MIGRATION_ABORT_ON_ERROR);
G_STATIC_ASSERT((int)FERRY_MIGRATE_AUTO_CONVERGE == (int)MIGRATION_AUTO_CONVERGE);
G_STATIC_ASSERT((int)FERRY_MIGRATE_RDMA_PIN_ALL == (int)MIGRATION_RDMA_PIN_ALL);
G_STATIC_ASSERT((int)FERRY_MIGRATE_POSTCOPY == (int)MIGRATION_POSTCOPY);
G_STATIC_ASSERT((int)FERRY_MIGRATE_TLS == (int)MIGRATION_TLS);
G_STATIC_ASSERT((int)FERRY_MIGRATE_PARALLEL == (int)MIGRATION_PARALLEL);
G_STATIC_ASSERT((int)FERRY_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES ==
                (int)MIGRATION_NON_SHARED_SYNCHRONOUS_WRITES);
G_STATIC_ASSERT((int)FERRY_MIGRATE_POSTCOPY_RESUME == (int)MIGRATION_POSTCOPY_RESUME);
G_STATIC_ASSERT((int)FERRY_MIGRATE_ZEROCOPY == (int)MIGRATION_ZEROCOPY);

/* The checks that need no daemon (libvirt's virDomainMigrate3 makes the
 * same ones); the phases check the rest on each side. */
static gboolean migrate_check_flags(const char *name, unsigned int flags, GError **error)
{
    if ((flags & FERRY_MIGRATE_TUNNELLED) && !(flags & FERRY_MIGRATE_PEER2PEER)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': a tunnelled migration needs the PEER2PEER flag", name);
        return FALSE;
    }
    if ((flags & FERRY_MIGRATE_NON_SHARED_DISK) && (flags & FERRY_MIGRATE_NON_SHARED_INC)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': the flags NON_SHARED_DISK and NON_SHARED_INC are mutually "
                   "exclusive",
                   name);
        return FALSE;
    }
    if ((flags & FERRY_MIGRATE_OFFLINE) && (flags & FERRY_MIGRATE_LIVE)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': the flags OFFLINE and LIVE are mutually exclusive", name);
        return FALSE;
    }
    return TRUE;
}

/* The source can run a peer-to-peer migration with parameters. */
static gboolean migrate_check_p2p(DriverConn *src, const char *name, GError **error)
{
    static const struct {
        DriverFeature feature;
        const char *what;
    } needed[] = {
        { DRIVER_FEATURE_MIGRATION_P2P, "peer-to-peer migration" },
        { DRIVER_FEATURE_MIGRATION_PARAMS, "migration with parameters (v3)" },
    };

    if (!src->ops->migrate_perform3 || !src->ops->supports_feature)
        return driver_no_support(src, "peer-to-peer migration", error);
    for (gsize i = 0; i < G_N_ELEMENTS(needed); i++) {
        gboolean supported = FALSE;

        if (!src->ops->supports_feature(src, needed[i].feature, &supported, error))
            return FALSE;
        if (!supported) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "domain '%s': the source host does not support %s", name, needed[i].what);
            return FALSE;
        }
    }
    return TRUE;
}

/* Perform3 with PEER2PEER and dconnuri on dom's host: its daemon runs the
 * whole migration. */
static gboolean migrate_p2p(FerryDomain *dom, const DriverDomain *ident, const char *dconnuri,
                            const TypedParams *params, unsigned int flags, GError **error)
{
    DriverConn *src = dom->conn->driver;
    g_autoptr(GBytes) cookie = NULL;
    gint64 started = g_get_monotonic_time();

    if (!migrate_check_p2p(src, ident->name, error))
        return FALSE;
    FLOG_INFO("domain '%s': peer-to-peer migration from %s to %s (flags 0x%x)", ident->name,
              src->uri, dconnuri, flags);
    if (!src->ops->migrate_perform3(src, ident, dconnuri, params, NULL, flags, &cookie, error)) {
        FLOG_INFO("domain '%s': peer-to-peer migration failed after %.3f s", ident->name,
                  (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC);
        return FALSE;
    }
    FLOG_INFO("domain '%s': migrated (peer-to-peer) in %.3f s", ident->name,
              (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC);
    return TRUE;
}

/* After a peer-to-peer migration: the domain on the destination, by the
 * name it has there. */
static FerryDomain *migrate_lookup_arrived(FerryConnect *dconn, const char *name,
                                           const TypedParams *params, GError **error)
{
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    const char *dname = NULL;

    if (typed_params_get_string(params, MIGRATION_PARAM_DEST_NAME, &dname, error) < 0)
        return NULL;
    if (!dconn->driver->ops->lookup_by_name) {
        driver_no_support(dconn->driver, "looking up domains", error);
        return NULL;
    }
    if (!dconn->driver->ops->lookup_by_name(dconn->driver, dname ? dname : name, &arrived, error))
        return NULL;
    return libferry_domain_new(dconn, &arrived);
}

FerryDomain *ferry_domain_migrate3(FerryDomain *dom, FerryConnect *dconn,
                                   FerryTypedParameter *params, int nparams, unsigned int flags)
{
    g_auto(DriverDomain) ident = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) tparams = NULL;
    GError *err = NULL;
    gint64 started;

    libferry_enter();
    if (!dom) {
        libferry_fail_arg(__func__, "domain is NULL");
        return NULL;
    }
    if (!dconn) {
        libferry_fail_arg(__func__, "destination connection is NULL");
        return NULL;
    }
    libferry_domain_ident(dom, &ident);
    if (!migrate_check_flags(ident.name, flags, &err) ||
        !(tparams = libferry_params_import(params, nparams, &err))) {
        libferry_fail_with(err);
        return NULL;
    }

    if (flags & FERRY_MIGRATE_PEER2PEER) {
        g_autofree char *dconnuri = NULL;
        FerryDomain *ddom;

        if (!dconn->driver->ops->get_uri) {
            driver_no_support(dconn->driver, "getting the URI", &err);
            libferry_fail_with(err);
            return NULL;
        }
        if (!(dconnuri = dconn->driver->ops->get_uri(dconn->driver, &err)) ||
            !migrate_p2p(dom, &ident, dconnuri, tparams, flags, &err) ||
            !(ddom = migrate_lookup_arrived(dconn, ident.name, tparams, &err))) {
            libferry_fail_with(err);
            return NULL;
        }
        return ddom;
    }

    started = g_get_monotonic_time();
    FLOG_INFO("domain '%s': migrating from %s to %s (flags 0x%x)", ident.name,
              dom->conn->driver->uri, dconn->driver->uri, flags);
    if (!migration_sequence(dom->conn->driver, dconn->driver, &ident, tparams, flags, &arrived,
                            &err)) {
        FLOG_INFO("domain '%s': migration failed after %.3f s: %s", ident.name,
                  (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC, err->message);
        libferry_fail_with(err);
        return NULL;
    }
    FLOG_INFO("domain '%s': migrated as '%s' in %.3f s", ident.name, arrived.name,
              (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC);
    return libferry_domain_new(dconn, &arrived);
}

int ferry_domain_migrate_to_uri3(FerryDomain *dom, const char *dconnuri,
                                 FerryTypedParameter *params, int nparams, unsigned int flags)
{
    g_auto(DriverDomain) ident = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) tparams = NULL;
    FerryConnect *dconn;
    FerryDomain *ddom;
    GError *err = NULL;
    gboolean ok;

    libferry_enter();
    if (!dom)
        return libferry_fail_arg(__func__, "domain is NULL");
    if (!dconnuri)
        return libferry_fail_arg(__func__, "destination URI is NULL");
    libferry_domain_ident(dom, &ident);
    if (!migrate_check_flags(ident.name, flags, &err) ||
        !(tparams = libferry_params_import(params, nparams, &err)))
        return libferry_fail_with(err);

    if (flags & FERRY_MIGRATE_PEER2PEER) {
        ok = migrate_p2p(dom, &ident, dconnuri, tparams, flags, &err);
        return ok ? 0 : libferry_fail_with(err);
    }
    /* this library drives it, over a connection of its own */
    if (!(dconn = ferry_connect_open(dconnuri, 0)))
        return -1;
    ddom = ferry_domain_migrate3(dom, dconn, params, nparams, flags);
    if (ddom)
        ferry_domain_free(ddom);
    /* keeps the migration's error as the last one */
    libferry_connect_unref(dconn);
    return ddom ? 0 : -1;
}
