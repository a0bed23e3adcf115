/*
 * domain.c: FerryDomain: identity, lookups, lifecycle, state, XML, jobs.
 *
 * A FerryDomain is what a lookup returned (libvirt's virDomainPtr): name,
 * uuid and id.  The driver finds the domain by uuid; the id follows the
 * create and destroy calls made through the object (and a state query that
 * finds it shut off), as it does with libvirt.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LIBFERRY
#define FERRY_LOG_MODULE "libferry"

#include "libferry/libferry_priv.h"
#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"

FerryDomain *libferry_domain_new(FerryConnect *conn, const DriverDomain *ident)
{
    FerryDomain *dom = g_new0(FerryDomain, 1);

    dom->refs = 1;
    g_atomic_int_inc(&conn->refs);
    dom->conn = conn;
    g_mutex_init(&dom->lock);
    dom->ident.id = -1;
    driver_domain_copy(&dom->ident, ident);
    return dom;
}

int ferry_domain_ref(FerryDomain *dom)
{
    libferry_init();
    if (!dom)
        return libferry_fail_arg(__func__, "domain is NULL");
    g_atomic_int_inc(&dom->refs);
    return 0;
}

/* Leaves the last error alone: callers read it after cleaning up. */
int ferry_domain_free(FerryDomain *dom)
{
    libferry_init();
    if (!dom)
        return libferry_fail_arg(__func__, "domain is NULL");
    if (!g_atomic_int_dec_and_test(&dom->refs))
        return 0;
    FerryConnect *conn = dom->conn;
    driver_domain_clear(&dom->ident);
    g_mutex_clear(&dom->lock);
    g_free(dom);
    libferry_connect_unref(conn);
    return 0;
}

#define CHECK_DOM(dom, ret) \
    do { \
        libferry_enter(); \
        if (!(dom)) { \
            libferry_fail_arg(__func__, "domain is NULL"); \
            return ret; \
        } \
    } while (0)

/* The same for the accessors, which leave the last error alone (so that
 * "failed to start '%s'", ferry_domain_get_name(dom) keeps the cause). */
#define CHECK_DOM_QUIET(dom, ret) \
    do { \
        libferry_init(); \
        if (!(dom)) { \
            libferry_fail_arg(__func__, "domain is NULL"); \
            return ret; \
        } \
    } while (0)

void libferry_domain_ident(FerryDomain *dom, DriverDomain *out)
{
    g_mutex_lock(&dom->lock);
    driver_domain_copy(out, &dom->ident);
    g_mutex_unlock(&dom->lock);
}

static void domain_set_id(FerryDomain *dom, int id)
{
    g_mutex_lock(&dom->lock);
    dom->ident.id = id;
    g_mutex_unlock(&dom->lock);
}

const char *ferry_domain_get_name(FerryDomain *dom)
{
    CHECK_DOM_QUIET(dom, NULL);
    return dom->ident.name;
}

int ferry_domain_get_uuid(FerryDomain *dom, unsigned char *uuid)
{
    CHECK_DOM_QUIET(dom, -1);
    if (!uuid)
        return libferry_fail_arg(__func__, "uuid is NULL");
    memcpy(uuid, dom->ident.uuid, FERRY_UUID_BUFLEN);
    return 0;
}

int ferry_domain_get_uuid_string(FerryDomain *dom, char *buf)
{
    CHECK_DOM_QUIET(dom, -1);
    if (!buf)
        return libferry_fail_arg(__func__, "buf is NULL");
    ferry_uuid_format(dom->ident.uuid, buf);
    return 0;
}

int ferry_domain_get_id(FerryDomain *dom)
{
    int id;

    CHECK_DOM_QUIET(dom, -1);
    g_mutex_lock(&dom->lock);
    id = dom->ident.id;
    g_mutex_unlock(&dom->lock);
    return id;
}

FerryConnect *ferry_domain_get_connect(FerryDomain *dom)
{
    CHECK_DOM_QUIET(dom, NULL);
    return dom->conn;
}

/* ---------------------------------------------------------------- lookups */

static FerryDomain *lookup_done(FerryConnect *conn, gboolean ok, DriverDomain *found, GError *err)
{
    if (!ok) {
        libferry_fail_with(err);
        return NULL;
    }
    return libferry_domain_new(conn, found);
}

FerryDomain *ferry_domain_lookup_by_name(FerryConnect *conn, const char *name)
{
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;
    GError *err = NULL;

    LIBFERRY_CHECK_CONN(conn, NULL);
    if (!name) {
        libferry_fail_arg(__func__, "name is NULL");
        return NULL;
    }
    LIBFERRY_NEED_OP(conn, lookup_by_name, "looking up domains by name", NULL);
    gboolean ok = conn->driver->ops->lookup_by_name(conn->driver, name, &found, &err);
    return lookup_done(conn, ok, &found, err);
}

FerryDomain *ferry_domain_lookup_by_uuid(FerryConnect *conn, const unsigned char *uuid)
{
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;
    GError *err = NULL;

    LIBFERRY_CHECK_CONN(conn, NULL);
    if (!uuid) {
        libferry_fail_arg(__func__, "uuid is NULL");
        return NULL;
    }
    LIBFERRY_NEED_OP(conn, lookup_by_uuid, "looking up domains by uuid", NULL);
    gboolean ok = conn->driver->ops->lookup_by_uuid(conn->driver, uuid, &found, &err);
    return lookup_done(conn, ok, &found, err);
}

FerryDomain *ferry_domain_lookup_by_uuid_string(FerryConnect *conn, const char *uuidstr)
{
    unsigned char uuid[FERRY_UUID_BUFLEN];
    GError *err = NULL;

    LIBFERRY_CHECK_CONN(conn, NULL);
    if (!uuidstr) {
        libferry_fail_arg(__func__, "uuidstr is NULL");
        return NULL;
    }
    if (ferry_uuid_parse(uuidstr, uuid, &err) < 0) {
        libferry_fail_with(err);
        return NULL;
    }
    return ferry_domain_lookup_by_uuid(conn, uuid);
}

FerryDomain *ferry_domain_lookup_by_id(FerryConnect *conn, int id)
{
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;
    GError *err = NULL;

    LIBFERRY_CHECK_CONN(conn, NULL);
    if (id < 0) {
        libferry_fail_arg(__func__, "id is negative");
        return NULL;
    }
    LIBFERRY_NEED_OP(conn, lookup_by_id, "looking up domains by id", NULL);
    gboolean ok = conn->driver->ops->lookup_by_id(conn->driver, id, &found, &err);
    return lookup_done(conn, ok, &found, err);
}

/* ---------------------------------------------------------------- definitions */

FerryDomain *ferry_domain_define_xml(FerryConnect *conn, const char *xml, unsigned int flags)
{
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;
    GError *err = NULL;

    LIBFERRY_CHECK_CONN(conn, NULL);
    if (!xml) {
        libferry_fail_arg(__func__, "xml is NULL");
        return NULL;
    }
    LIBFERRY_NEED_OP(conn, define_xml, "defining domains", NULL);
    gboolean ok = conn->driver->ops->define_xml(conn->driver, xml, flags, &found, &err);
    return lookup_done(conn, ok, &found, err);
}

FerryDomain *ferry_domain_create_xml(FerryConnect *conn, const char *xml, unsigned int flags)
{
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;
    GError *err = NULL;

    LIBFERRY_CHECK_CONN(conn, NULL);
    if (!xml) {
        libferry_fail_arg(__func__, "xml is NULL");
        return NULL;
    }
    LIBFERRY_NEED_OP(conn, create_xml, "creating domains from XML", NULL);
    gboolean ok = conn->driver->ops->create_xml(conn->driver, xml, flags, &found, &err);
    return lookup_done(conn, ok, &found, err);
}

/* A call on one domain: the identity copy, the driver op, the error. */
#define DOMAIN_CALL_BEGIN(dom, op, what) \
    g_auto(DriverDomain) ident = DRIVER_DOMAIN_INIT; \
    GError *err = NULL; \
    CHECK_DOM(dom, -1); \
    LIBFERRY_NEED_OP((dom)->conn, op, what, -1); \
    libferry_domain_ident((dom), &ident); \
    DriverConn *drv = (dom)->conn->driver

int ferry_domain_undefine(FerryDomain *dom, unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, undefine, "undefining domains");
    if (!drv->ops->undefine(drv, &ident, flags, &err))
        return libferry_fail_with(err);
    return 0;
}

/* ---------------------------------------------------------------- lifecycle */

int ferry_domain_create(FerryDomain *dom, unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, create, "starting domains");
    if (!drv->ops->create(drv, &ident, flags, &err))
        return libferry_fail_with(err);
    domain_set_id(dom, ident.id);
    return 0;
}

int ferry_domain_destroy(FerryDomain *dom, unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, destroy, "destroying domains");
    if (!drv->ops->destroy(drv, &ident, flags, &err))
        return libferry_fail_with(err);
    domain_set_id(dom, -1);
    return 0;
}

int ferry_domain_shutdown(FerryDomain *dom, unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, shutdown, "shutting domains down");
    if (!drv->ops->shutdown(drv, &ident, flags, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_domain_suspend(FerryDomain *dom)
{
    DOMAIN_CALL_BEGIN(dom, suspend, "suspending domains");
    if (!drv->ops->suspend(drv, &ident, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_domain_resume(FerryDomain *dom)
{
    DOMAIN_CALL_BEGIN(dom, resume, "resuming domains");
    if (!drv->ops->resume(drv, &ident, &err))
        return libferry_fail_with(err);
    return 0;
}

/* ---------------------------------------------------------------- state */

int ferry_domain_get_state(FerryDomain *dom, int *state, int *reason, unsigned int flags)
{
    int st = 0, why = 0;

    DOMAIN_CALL_BEGIN(dom, get_state, "getting the domain state");
    if (!state)
        return libferry_fail_arg(__func__, "state is NULL");
    if (!drv->ops->get_state(drv, &ident, &st, &why, flags, &err))
        return libferry_fail_with(err);
    if (st == FERRY_DOMAIN_SHUTOFF)
        domain_set_id(dom, -1);
    *state = st;
    if (reason)
        *reason = why;
    return 0;
}

int ferry_domain_get_info(FerryDomain *dom, FerryDomainInfo *info)
{
    DriverDomainInfo di = { 0 };

    DOMAIN_CALL_BEGIN(dom, get_info, "getting domain information");
    if (!info)
        return libferry_fail_arg(__func__, "info is NULL");
    if (!drv->ops->get_info(drv, &ident, &di, &err))
        return libferry_fail_with(err);
    info->state = di.state;
    info->max_mem_kib = di.max_mem_kib;
    info->memory_kib = di.memory_kib;
    info->nr_virt_cpu = di.nr_virt_cpu;
    info->cpu_time_ns = di.cpu_time_ns;
    return 0;
}

char *ferry_domain_get_os_type(FerryDomain *dom)
{
    g_auto(DriverDomain) ident = DRIVER_DOMAIN_INIT;
    GError *err = NULL;
    char *os;

    CHECK_DOM(dom, NULL);
    LIBFERRY_NEED_OP(dom->conn, get_os_type, "getting the OS type", NULL);
    libferry_domain_ident(dom, &ident);
    os = dom->conn->driver->ops->get_os_type(dom->conn->driver, &ident, &err);
    if (!os)
        libferry_fail_with(err);
    return os;
}

char *ferry_domain_get_xml_desc(FerryDomain *dom, unsigned int flags)
{
    g_auto(DriverDomain) ident = DRIVER_DOMAIN_INIT;
    GError *err = NULL;
    char *xml;

    CHECK_DOM(dom, NULL);
    LIBFERRY_NEED_OP(dom->conn, get_xml_desc, "getting the domain XML", NULL);
    libferry_domain_ident(dom, &ident);
    xml = dom->conn->driver->ops->get_xml_desc(dom->conn->driver, &ident, flags, &err);
    if (!xml)
        libferry_fail_with(err);
    return xml;
}

int ferry_domain_is_active(FerryDomain *dom)
{
    gboolean active = FALSE;

    DOMAIN_CALL_BEGIN(dom, is_active, "asking whether a domain is active");
    if (!drv->ops->is_active(drv, &ident, &active, &err))
        return libferry_fail_with(err);
    if (!active)
        domain_set_id(dom, -1);
    return active ? 1 : 0;
}

int ferry_domain_is_persistent(FerryDomain *dom)
{
    gboolean persistent = FALSE;

    DOMAIN_CALL_BEGIN(dom, is_persistent, "asking whether a domain is persistent");
    if (!drv->ops->is_persistent(drv, &ident, &persistent, &err))
        return libferry_fail_with(err);
    return persistent ? 1 : 0;
}

/* ---------------------------------------------------------------- jobs */

int ferry_domain_get_job_stats(FerryDomain *dom, int *type, FerryTypedParameter **params,
                               int *nparams, unsigned int flags)
{
    g_autoptr(TypedParams) stats = NULL;
    int jt = 0;

    DOMAIN_CALL_BEGIN(dom, get_job_stats, "job statistics");
    if (!type || !params || !nparams)
        return libferry_fail_arg(__func__, "type, params or nparams is NULL");
    if (!drv->ops->get_job_stats(drv, &ident, flags, &jt, &stats, &err))
        return libferry_fail_with(err);
    *type = jt;
    *params = libferry_params_export(stats, nparams);
    return 0;
}

int ferry_domain_abort_job(FerryDomain *dom, unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, abort_job, "aborting jobs");
    if (!drv->ops->abort_job(drv, &ident, flags, &err))
        return libferry_fail_with(err);
    return 0;
}

/* ---------------------------------------------------------------- migration tuning */

int ferry_domain_migrate_set_max_speed(FerryDomain *dom, unsigned long long mib_per_s,
                                       unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, migrate_set_max_speed, "migration speed");
    if (!drv->ops->migrate_set_max_speed(drv, &ident, mib_per_s, flags, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_domain_migrate_get_max_speed(FerryDomain *dom, unsigned long long *mib_per_s,
                                       unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, migrate_get_max_speed, "migration speed");
    if (!mib_per_s)
        return libferry_fail_arg(__func__, "mib_per_s is NULL");
    if (!drv->ops->migrate_get_max_speed(drv, &ident, mib_per_s, flags, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_domain_migrate_set_max_downtime(FerryDomain *dom, unsigned long long ms,
                                          unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, migrate_set_max_downtime, "migration downtime");
    if (!drv->ops->migrate_set_max_downtime(drv, &ident, ms, flags, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_domain_migrate_get_max_downtime(FerryDomain *dom, unsigned long long *ms,
                                          unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, migrate_get_max_downtime, "migration downtime");
    if (!ms)
        return libferry_fail_arg(__func__, "ms is NULL");
    if (!drv->ops->migrate_get_max_downtime(drv, &ident, ms, flags, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_domain_migrate_set_compression_cache(FerryDomain *dom, unsigned long long cache_size,
                                               unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, migrate_set_compression_cache, "migration compression cache");
    if (!drv->ops->migrate_set_compression_cache(drv, &ident, cache_size, flags, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_domain_migrate_get_compression_cache(FerryDomain *dom, unsigned long long *cache_size,
                                               unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, migrate_get_compression_cache, "migration compression cache");
    if (!cache_size)
        return libferry_fail_arg(__func__, "cache_size is NULL");
    if (!drv->ops->migrate_get_compression_cache(drv, &ident, cache_size, flags, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_domain_migrate_start_post_copy(FerryDomain *dom, unsigned int flags)
{
    DOMAIN_CALL_BEGIN(dom, migrate_start_postcopy, "post-copy migration");
    if (!drv->ops->migrate_start_postcopy(drv, &ident, flags, &err))
        return libferry_fail_with(err);
    return 0;
}
