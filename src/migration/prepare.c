/*
 * prepare.c: Prepare3 on the destination.  Reads cookie 1 (refusing a
 * migration from this very host), defines the incoming domain (transient,
 * or over an inactive persistent one with the same name and uuid), starts
 * its QEMU with -incoming defer (CPUs stopped, leases only registered),
 * sets the destination's migration capabilities and parameters, and
 * listens with migrate-incoming on a TCP port: the user's migrate_uri or
 * listen_address, else ferryd.conf's migration_address and the first free
 * port of its migration port range (prepare_addr says which wins; QEMU's
 * bind says which port is free, prepare_listen).  Cookie 2 says where
 * the destination's SPICE display listens (for Perform3's
 * client_migrate_info) and which migration capabilities its QEMU has.  The
 * domain belongs to the calling connection until Finish (autodestroy).  On
 * failure the destination QEMU is gone and the domain with it.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.prepare"

#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

/* Where to listen and what to tell the source. */
typedef struct {
    char *listen; /* the address QEMU binds */
    char *host; /* the address the source connects to */
    int port;
    gboolean reserved; /* port reserved in the driver's set */
} PrepareAddr;

static void prepare_addr_clear(PrepareAddr *a)
{
    g_free(a->listen);
    g_free(a->host);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PrepareAddr, prepare_addr_clear)

static gboolean is_wildcard(const char *addr)
{
    return g_str_equal(addr, "0.0.0.0") || g_str_equal(addr, "::") || g_str_equal(addr, "[::]");
}

static gboolean is_numeric(const char *addr)
{
    return g_hostname_is_ip_address(addr);
}

/* Where QEMU listens: the user's listen_address, else the migrate_uri's
 * address, else migration_address (ferryd.conf), else every address.
 * What the source is told: the migrate_uri's host, else a listen address
 * the user named, else migration_host, else a migration_address that
 * names one address, else the host's name.  The port: the migrate_uri's,
 * else the first free one of the migration port range. */
static gboolean prepare_addr(QemuDriver *drv, const char *name, const TypedParams *params,
                             PrepareAddr *a, GError **error)
{
    const char *uri = NULL, *listen = NULL;
    const char *conf_listen = qemu_driver_get_migration_address(drv);
    const char *conf_host = qemu_driver_get_migration_host(drv);
    g_autofree char *uri_host = NULL;
    int port = 0;

    if (typed_params_get_string(params, MIGRATION_PARAM_URI, &uri, error) < 0 ||
        typed_params_get_string(params, MIGRATION_PARAM_LISTEN_ADDRESS, &listen, error) < 0)
        return FALSE;
    if (uri && !migration_parse_tcp_uri(name, "prepare", uri, &uri_host, &port, error))
        return FALSE;
    if (listen)
        a->listen = g_strdup(listen);
    else if (uri_host && is_numeric(uri_host))
        a->listen = g_strdup(uri_host);
    else
        a->listen = g_strdup(conf_listen ? conf_listen : "0.0.0.0");
    if (uri_host)
        a->host = g_strdup(uri_host);
    else if (listen && !is_wildcard(listen))
        a->host = g_strdup(listen);
    else if (conf_host)
        a->host = g_strdup(conf_host);
    else if (!is_wildcard(a->listen))
        a->host = g_strdup(a->listen);
    else
        a->host = g_strdup(qemu_driver_get_hostname(drv));
    /* else a port of the range, right before QEMU listens (prepare_listen) */
    a->port = port;
    return TRUE;
}

static gboolean incoming_cb(QemuMonitor *mon, gpointer opaque, GError **error)
{
    return qmp_migrate_incoming(mon, opaque, error);
}

/* QEMU could not bind the port: another process has it.  QEMU's message
 * has strerror(EADDRINUSE) (QEMU runs with LC_ALL=C). */
static gboolean prepare_port_taken(const GError *err)
{
    return err && strstr(err->message, "Address already in use") != NULL;
}

/* Reserves the next port of the range in the driver after `after` (0:
 * from the start; wrapping around once), so that no other Prepare of this
 * driver tries it meanwhile; FALSE when every port is reserved or was
 * tried. */
static gboolean prepare_reserve_port(QemuDriver *drv, PrepareAddr *addr, int after, int first)
{
    int min = 0, max = 0;
    int port = -1;

    qemu_driver_get_migration_ports(drv, &min, &max);
    if (!after) {
        port = qemu_driver_reserve_port(drv, NULL, min, max);
    } else {
        /* first: where this Prepare began; stop before it comes round */
        if (after < max)
            port = qemu_driver_reserve_port(drv, NULL, after + 1, first > after ? first - 1 : max);
        if (port < 0 && first <= after && first > min)
            port = qemu_driver_reserve_port(drv, NULL, min, first - 1);
    }
    if (port < 0)
        return FALSE;
    addr->port = port;
    addr->reserved = TRUE;
    return TRUE;
}

/* migrate-incoming on addr.  Without a port from the user, the first port
 * of the migration range that no other Prepare of this driver holds, and
 * QEMU's bind decides whether it is free: a port another process has is
 * given up for the next one (QEMU 7.2 takes migrate-incoming again after
 * one that failed).  No check-then-bind: two daemons on one host, or any
 * process taking ports meanwhile, cannot make a migration fail while the
 * range has a free port. */
static gboolean prepare_listen(QemuDriver *drv, DomainObj *obj, PrepareAddr *addr, GError **error)
{
    const char *name = domain_obj_name(obj);
    int first = 0;
    int min = 0, max = 0;

    if (!addr->port) {
        qemu_driver_get_migration_ports(drv, &min, &max);
        if (!prepare_reserve_port(drv, addr, 0, 0)) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': prepare: no free migration port in %d-%d on %s", name, min,
                       max, addr->listen);
            return FALSE;
        }
        first = addr->port;
    }
    for (;;) {
        g_autofree char *hostport = migration_format_hostport(addr->listen, addr->port);
        g_autofree char *incoming = g_strdup_printf("tcp:%s", hostport);
        g_autoptr(GError) err = NULL;
        int taken = addr->port;

        if (migration_monitor_run(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, incoming_cb, incoming, &err))
            return TRUE;
        if (addr->reserved && prepare_port_taken(err)) {
            qemu_driver_release_port(drv, taken);
            addr->reserved = FALSE;
            if (prepare_reserve_port(drv, addr, taken, first)) {
                FLOG_INFO("domain '%s': prepare: port %d is taken; trying %d", name, taken,
                          addr->port);
                continue;
            }
            addr->port = taken;
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': prepare: no free migration port in %d-%d on %s (%s)", name,
                       min, max, addr->listen, err->message);
            return FALSE;
        }
        ferry_fail(error, ferry_error_code_of(err), "domain '%s': prepare: cannot listen on %s: %s",
                   name, incoming, err->message);
        return FALSE;
    }
}

DomainDef *migration_dst_prepare_def(MigrationCookie *cookie, const TypedParams *params,
                                     GError **error)
{
    const char *xml = NULL, *dname = NULL;
    g_autoptr(GError) err = NULL;

    if (typed_params_get_string(params, MIGRATION_PARAM_DEST_XML, &xml, error) < 0 ||
        typed_params_get_string(params, MIGRATION_PARAM_DEST_NAME, &dname, error) < 0)
        return NULL;
    if (!xml) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain '%s': prepare: no destination XML",
                   cookie->name);
        return NULL;
    }
    g_autoptr(DomainDef) def = domain_def_parse(xml, DOMAIN_PARSE_INACTIVE, &err);
    if (!def) {
        ferry_fail(error, FERRY_ERR_XML, "domain '%s': prepare: destination XML: %s", cookie->name,
                   err->message);
        return NULL;
    }
    if (memcmp(def->uuid, cookie->uuid, FERRY_UUID_BUFLEN) != 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': prepare: the destination XML's uuid is not the cookie's",
                   cookie->name);
        return NULL;
    }
    if (dname && *dname) {
        g_free(def->name);
        def->name = g_strdup(dname);
    }
    return g_steal_pointer(&def);
}

/* Starts the incoming QEMU and listens (obj locked, MIGRATION_IN owned). */
static gboolean prepare_start(QemuDriver *drv, guint64 conn_id, DomainObj *obj,
                              const TypedParams *params, unsigned int flags, PrepareAddr *addr,
                              GError **error)
{
    gboolean ok;

    /* the phase first: the start's status file has it */
    if (!migration_set_phase(drv, obj, DOMAIN_MIGRATION_PHASE_PREPARE, error) ||
        !domain_job_begin_nested(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, error))
        return FALSE;
    ok = qemu_process_start_incoming(drv, obj, "defer", QEMU_PROCESS_START_AUTODESTROY, conn_id,
                                     error);
    domain_job_end(obj);
    if (!ok)
        return FALSE;
    if (!migration_params_apply(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, params, flags,
                                MIGRATION_SIDE_DST, error))
        return FALSE;
    return prepare_listen(drv, obj, addr, error);
}

MigrationCookie *migration_prepare_cookie(QemuDriver *drv, DomainObj *obj, const char *name,
                                          const char *host, const TypedParams *params,
                                          unsigned int flags, GError **error)
{
    g_autoptr(MigrationCookie) reply = migration_cookie_new(drv, name, obj->def->uuid, error);
    g_autoptr(QemuCaps) caps = NULL;

    if (!reply || !migration_cookie_dst_graphics(drv, reply, obj->def, host, error) ||
        !(caps = migration_get_caps(drv, obj, error)) ||
        !migration_params_cookie_caps(reply, caps, params, flags, MIGRATION_SIDE_DST, error))
        return NULL;
    return g_steal_pointer(&reply);
}

gboolean migration_dst_prepare(QemuDriver *drv, guint64 conn_id, const TypedParams *params,
                               GBytes *cookie_in, unsigned int flags, GBytes **cookie_out,
                               char **uri_out, GError **error)
{
    g_autoptr(MigrationCookie) cookie =
        migration_cookie_eat(drv, NULL, "prepare", cookie_in, FALSE, error);
    g_autoptr(DomainDef) def = NULL;
    g_autoptr(DomainObjLocked) obj = NULL;
    g_autoptr(MigrationCookie) reply = NULL;
    g_autoptr(GBytes) baked = NULL;
    g_auto(PrepareAddr) addr = { 0 };
    g_autofree char *name = NULL;
    gboolean ok;

    if (!cookie)
        return FALSE;
    if (!migration_params_check(cookie->name, "prepare", params, flags, error))
        return FALSE;
    if (flags & MIGRATION_OFFLINE) {
        /* Nothing listens and no port is taken; but libvirt's client wants
         * a URI from every Prepare3 (it checks before it skips Perform for
         * an offline migration): the host a live one would go to. */
        if (!prepare_addr(drv, cookie->name, params, &addr, error) ||
            !migration_dst_prepare_offline(drv, cookie, params, flags, cookie_out, error))
            return FALSE;
        if (addr.port > 0) {
            g_autofree char *hostport = migration_format_hostport(addr.host, addr.port);

            *uri_out = g_strdup_printf("tcp:%s", hostport);
        } else {
            gboolean v6 = strchr(addr.host, ':') && addr.host[0] != '[';

            *uri_out = g_strdup_printf(v6 ? "tcp:[%s]" : "tcp:%s", addr.host);
        }
        return TRUE;
    }
    if (!(def = migration_dst_prepare_def(cookie, params, error)))
        return FALSE;
    name = g_strdup(def->name);
    if (!prepare_addr(drv, name, params, &addr, error))
        return FALSE;

    obj = domain_list_add(drv->domains, &def, DOMAIN_LIST_ADD_LIVE | DOMAIN_LIST_ADD_UPDATE, NULL,
                          error);
    if (!obj) {
        if (addr.reserved)
            qemu_driver_release_port(drv, addr.port);
        return FALSE;
    }
    if (!domain_job_begin_async(obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, "domainMigratePrepare3Params",
                                flags, error)) {
        if (addr.reserved)
            qemu_driver_release_port(drv, addr.port);
        qemu_driver_remove_inactive(drv, obj);
        return FALSE;
    }
    domain_job_set_mask(obj, DOMAIN_JOB_DEFAULT_MASK | DOMAIN_JOB_MASK(DOMAIN_JOB_ABORT) |
                                 DOMAIN_JOB_MASK(DOMAIN_JOB_MIGRATION_OP));

    ok = prepare_start(drv, conn_id, obj, params, flags, &addr, error) &&
         (reply = migration_prepare_cookie(drv, obj, name, addr.host, params, flags, error)) &&
         (baked = migration_cookie_bake(reply, error));
    /* QEMU listens on the port now (or nobody does): others see it taken */
    if (addr.reserved)
        qemu_driver_release_port(drv, addr.port);
    if (!ok) {
        migration_stop_qemu(drv, obj, DOMAIN_ASYNC_JOB_MIGRATION_IN, "failed");
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);
        qemu_driver_remove_inactive(drv, obj);
        return FALSE;
    }
    g_autofree char *hostport = migration_format_hostport(addr.host, addr.port);
    FLOG_INFO("domain '%s': incoming migration prepared on tcp:%s", name, hostport);
    domain_job_async_continue(obj);
    *uri_out = g_strdup_printf("tcp:%s", hostport);
    *cookie_out = g_steal_pointer(&baked);
    return TRUE;
}
