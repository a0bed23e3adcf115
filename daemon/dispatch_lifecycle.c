/*
 * dispatch_lifecycle.c: define, undefine, start, stop, pause, resume.
 *
 * Each handler hands the domain and the flags to the driver unchanged
 * (libvirt's numbers are driver.h's); the driver refuses flags it does
 * not know.  Domains started with AUTODESTROY belong to this client's
 * connection: its DriverConn carries the connection id.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DAEMON
#define FERRY_LOG_MODULE "daemon.dispatch"

#include "daemon/dispatch_priv.h"
#include "util/log.h"

/* virDomainCreateFlags that only concern a managed save image, which
 * ferry never has: without one, they change nothing. */
#define START_BYPASS_CACHE (1 << 2)
#define START_FORCE_BOOT (1 << 3)

/* ---------------------------------------------------------------- definitions */

static gboolean define_xml(DaemonClient *client, const char *xml, unsigned int flags,
                           remote_nonnull_domain *ret_dom, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, define_xml, error);
    if (!conn->ops->define_xml(conn, xml, flags, &dom, error))
        return FALSE;
    FLOG_INFO("client %" G_GUINT64_FORMAT ": defined domain '%s'", daemon_client_get_id(client),
              dom.name);
    dispatch_domain_to_wire(&dom, ret_dom);
    return TRUE;
}

static gboolean dispatch_domain_define_xml(DaemonClient *client,
                                           const remote_domain_define_xml_args *args,
                                           remote_domain_define_xml_ret *ret, GError **error)
{
    return define_xml(client, args->xml, 0, &ret->dom, error);
}
DISPATCH_ENTRY(dispatch_domain_define_xml)

static gboolean dispatch_domain_define_xml_flags(DaemonClient *client,
                                                 const remote_domain_define_xml_flags_args *args,
                                                 remote_domain_define_xml_flags_ret *ret,
                                                 GError **error)
{
    return define_xml(client, args->xml, args->flags, &ret->dom, error);
}
DISPATCH_ENTRY(dispatch_domain_define_xml_flags)

static gboolean undefine(DaemonClient *client, const remote_nonnull_domain *wire,
                         unsigned int flags, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, wire, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, undefine, error);
    if (!conn->ops->undefine(conn, &dom, flags, error))
        return FALSE;
    FLOG_INFO("client %" G_GUINT64_FORMAT ": undefined domain '%s'", daemon_client_get_id(client),
              dom.name);
    return TRUE;
}

static gboolean dispatch_domain_undefine(DaemonClient *client,
                                         const remote_domain_undefine_args *args, void *ret,
                                         GError **error)
{
    return undefine(client, &args->dom, 0, error);
}
DISPATCH_ENTRY(dispatch_domain_undefine)

static gboolean dispatch_domain_undefine_flags(DaemonClient *client,
                                               const remote_domain_undefine_flags_args *args,
                                               void *ret, GError **error)
{
    return undefine(client, &args->dom, args->flags, error);
}
DISPATCH_ENTRY(dispatch_domain_undefine_flags)

/* ---------------------------------------------------------------- start */

/* Starts the defined domain wire; its name, uuid and new id into *dom. */
static gboolean create(DaemonClient *client, const remote_nonnull_domain *wire, unsigned int flags,
                       DriverDomain *dom, GError **error)
{
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, wire, dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, create, error);
    if (!conn->ops->create(conn, dom, flags & ~(START_BYPASS_CACHE | START_FORCE_BOOT), error))
        return FALSE;
    FLOG_INFO("client %" G_GUINT64_FORMAT ": started domain '%s' (id %d)",
              daemon_client_get_id(client), dom->name, dom->id);
    return TRUE;
}

static gboolean dispatch_domain_create(DaemonClient *client, const remote_domain_create_args *args,
                                       void *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

    return create(client, &args->dom, 0, &dom, error);
}
DISPATCH_ENTRY(dispatch_domain_create)

static gboolean dispatch_domain_create_with_flags(DaemonClient *client,
                                                  const remote_domain_create_with_flags_args *args,
                                                  remote_domain_create_with_flags_ret *ret,
                                                  GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

    if (!create(client, &args->dom, args->flags, &dom, error))
        return FALSE;
    dispatch_domain_to_wire(&dom, &ret->dom);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_create_with_flags)

static gboolean dispatch_domain_create_xml(DaemonClient *client,
                                           const remote_domain_create_xml_args *args,
                                           remote_domain_create_xml_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, create_xml, error);
    if (!conn->ops->create_xml(conn, args->xml_desc, args->flags, &dom, error))
        return FALSE;
    FLOG_INFO("client %" G_GUINT64_FORMAT ": created domain '%s' (id %d)",
              daemon_client_get_id(client), dom.name, dom.id);
    dispatch_domain_to_wire(&dom, &ret->dom);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_create_xml)

/* ---------------------------------------------------------------- stop */

static gboolean destroy(DaemonClient *client, const remote_nonnull_domain *wire, unsigned int flags,
                        GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, wire, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, destroy, error);
    if (!conn->ops->destroy(conn, &dom, flags, error))
        return FALSE;
    FLOG_INFO("client %" G_GUINT64_FORMAT ": destroyed domain '%s'", daemon_client_get_id(client),
              dom.name);
    return TRUE;
}

static gboolean dispatch_domain_destroy(DaemonClient *client,
                                        const remote_domain_destroy_args *args, void *ret,
                                        GError **error)
{
    return destroy(client, &args->dom, 0, error);
}
DISPATCH_ENTRY(dispatch_domain_destroy)

static gboolean dispatch_domain_destroy_flags(DaemonClient *client,
                                              const remote_domain_destroy_flags_args *args,
                                              void *ret, GError **error)
{
    return destroy(client, &args->dom, args->flags, error);
}
DISPATCH_ENTRY(dispatch_domain_destroy_flags)

static gboolean shutdown_domain(DaemonClient *client, const remote_nonnull_domain *wire,
                                unsigned int flags, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, wire, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, shutdown, error);
    return conn->ops->shutdown(conn, &dom, flags, error);
}

static gboolean dispatch_domain_shutdown(DaemonClient *client,
                                         const remote_domain_shutdown_args *args, void *ret,
                                         GError **error)
{
    return shutdown_domain(client, &args->dom, 0, error);
}
DISPATCH_ENTRY(dispatch_domain_shutdown)

static gboolean dispatch_domain_shutdown_flags(DaemonClient *client,
                                               const remote_domain_shutdown_flags_args *args,
                                               void *ret, GError **error)
{
    return shutdown_domain(client, &args->dom, args->flags, error);
}
DISPATCH_ENTRY(dispatch_domain_shutdown_flags)

/* ---------------------------------------------------------------- pause */

static gboolean dispatch_domain_suspend(DaemonClient *client,
                                        const remote_domain_suspend_args *args, void *ret,
                                        GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, suspend, error);
    return conn->ops->suspend(conn, &dom, error);
}
DISPATCH_ENTRY(dispatch_domain_suspend)

static gboolean dispatch_domain_resume(DaemonClient *client, const remote_domain_resume_args *args,
                                       void *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, resume, error);
    return conn->ops->resume(conn, &dom, error);
}
DISPATCH_ENTRY(dispatch_domain_resume)
