/*
 * dispatch_domain.c: lookups, lists, and what one domain is.
 *
 * virsh looks a domain up by id, uuid, then name (wire.md section 3) and
 * needs NO_DOMAIN for a miss; `list` uses CONNECT_LIST_ALL_DOMAINS and
 * DOMAIN_GET_STATE; `dominfo` asks os type, info, persistence, autostart,
 * managed save, the security model and the messages.  What ferry does not
 * have (autostart, managed save, security labels, taint messages) is
 * answered as "none" once the domain is known to exist.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DAEMON
#define FERRY_LOG_MODULE "daemon.dispatch"

#include "daemon/dispatch_priv.h"
#include "util/log.h"

/* virConnectListAllDomainsFlags that are not driver.h's: the groups of
 * things ferry's domains never have. */
#define LIST_MANAGEDSAVE (1 << 8)
#define LIST_NO_MANAGEDSAVE (1 << 9)
#define LIST_AUTOSTART (1 << 10)
#define LIST_NO_AUTOSTART (1 << 11)
#define LIST_HAS_SNAPSHOT (1 << 12)
#define LIST_NO_SNAPSHOT (1 << 13)
#define LIST_HAS_CHECKPOINT (1 << 14)
#define LIST_NO_CHECKPOINT (1 << 15)

/* ---------------------------------------------------------------- lookups */

static gboolean dispatch_domain_lookup_by_id(DaemonClient *client,
                                             const remote_domain_lookup_by_id_args *args,
                                             remote_domain_lookup_by_id_ret *ret, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, lookup_by_id, error);
    if (!conn->ops->lookup_by_id(conn, args->id, &dom, error))
        return FALSE;
    dispatch_domain_to_wire(&dom, &ret->dom);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_lookup_by_id)

static gboolean dispatch_domain_lookup_by_name(DaemonClient *client,
                                               const remote_domain_lookup_by_name_args *args,
                                               remote_domain_lookup_by_name_ret *ret,
                                               GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, lookup_by_name, error);
    if (!conn->ops->lookup_by_name(conn, args->name, &dom, error))
        return FALSE;
    dispatch_domain_to_wire(&dom, &ret->dom);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_lookup_by_name)

static gboolean dispatch_domain_lookup_by_uuid(DaemonClient *client,
                                               const remote_domain_lookup_by_uuid_args *args,
                                               remote_domain_lookup_by_uuid_ret *ret,
                                               GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, lookup_by_uuid, error);
    if (!conn->ops->lookup_by_uuid(conn, (const unsigned char *)args->uuid, &dom, error))
        return FALSE;
    dispatch_domain_to_wire(&dom, &ret->dom);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_lookup_by_uuid)

/* ---------------------------------------------------------------- lists */

/* The domains matching flags (driver.h's DRIVER_LIST_*). */
static GArray *list_domains(DaemonClient *client, unsigned int flags, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);

    if (!conn)
        return NULL;
    if (!conn->ops->list_all_domains) {
        driver_no_support(conn, "list_all_domains", error);
        return NULL;
    }
    return conn->ops->list_all_domains(conn, flags, error);
}

static gboolean list_check_max(int max, const char *what, GError **error)
{
    if (max < 0 || max > REMOTE_DOMAIN_LIST_MAX) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s %d is out of range 0..%d", what, max,
                   REMOTE_DOMAIN_LIST_MAX);
        return FALSE;
    }
    return TRUE;
}

static gboolean dispatch_connect_list_all_domains(DaemonClient *client,
                                                  const remote_connect_list_all_domains_args *args,
                                                  remote_connect_list_all_domains_ret *ret,
                                                  GError **error)
{
    const unsigned int groups[][2] = {
        { LIST_MANAGEDSAVE, LIST_NO_MANAGEDSAVE },
        { LIST_AUTOSTART, LIST_NO_AUTOSTART },
        { LIST_HAS_SNAPSHOT, LIST_NO_SNAPSHOT },
        { LIST_HAS_CHECKPOINT, LIST_NO_CHECKPOINT },
    };
    unsigned int flags = args->flags;
    gboolean none = FALSE;
    GArray *doms;

    /* No domain has a managed save image, autostart, a snapshot or a
     * checkpoint: asking for only those that do matches none, asking for
     * only those that do not changes nothing. */
    for (gsize i = 0; i < G_N_ELEMENTS(groups); i++) {
        if ((flags & groups[i][0]) && !(flags & groups[i][1]))
            none = TRUE;
        flags &= ~(groups[i][0] | groups[i][1]);
    }

    doms = list_domains(client, flags, error);
    if (!doms)
        return FALSE;
    if (none) {
        driver_domain_array_free(doms);
        doms = g_array_new(FALSE, TRUE, sizeof(DriverDomain));
    }
    if (doms->len > REMOTE_DOMAIN_LIST_MAX) {
        ferry_fail(error, FERRY_ERR_OVERFLOW, "%u domains, at most %d can be listed", doms->len,
                   REMOTE_DOMAIN_LIST_MAX);
        driver_domain_array_free(doms);
        return FALSE;
    }
    if (args->need_results && doms->len) {
        ret->domains.domains_val = g_new0(remote_nonnull_domain, doms->len);
        ret->domains.domains_len = doms->len;
        for (guint i = 0; i < doms->len; i++)
            dispatch_domain_to_wire(&g_array_index(doms, DriverDomain, i),
                                    &ret->domains.domains_val[i]);
    }
    ret->ret = doms->len;
    driver_domain_array_free(doms);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_list_all_domains)

static gint compare_int(gconstpointer a, gconstpointer b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

static gboolean dispatch_connect_list_domains(DaemonClient *client,
                                              const remote_connect_list_domains_args *args,
                                              remote_connect_list_domains_ret *ret, GError **error)
{
    GArray *doms;
    guint n;

    if (!list_check_max(args->maxids, "maxids", error))
        return FALSE;
    doms = list_domains(client, DRIVER_LIST_ACTIVE, error);
    if (!doms)
        return FALSE;
    n = MIN(doms->len, (guint)args->maxids);
    if (n) {
        g_autoptr(GArray) ids = g_array_sized_new(FALSE, FALSE, sizeof(int), doms->len);

        for (guint i = 0; i < doms->len; i++)
            g_array_append_val(ids, g_array_index(doms, DriverDomain, i).id);
        g_array_sort(ids, compare_int);
        ret->ids.ids_val = g_new0(int, n);
        ret->ids.ids_len = n;
        memcpy(ret->ids.ids_val, ids->data, n * sizeof(int));
    }
    driver_domain_array_free(doms);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_list_domains)

static gboolean dispatch_connect_num_of_domains(DaemonClient *client, const void *args,
                                                remote_connect_num_of_domains_ret *ret,
                                                GError **error)
{
    GArray *doms = list_domains(client, DRIVER_LIST_ACTIVE, error);

    if (!doms)
        return FALSE;
    ret->num = doms->len;
    driver_domain_array_free(doms);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_num_of_domains)

static gboolean
dispatch_connect_list_defined_domains(DaemonClient *client,
                                      const remote_connect_list_defined_domains_args *args,
                                      remote_connect_list_defined_domains_ret *ret, GError **error)
{
    GArray *doms;
    guint n;

    if (!list_check_max(args->maxnames, "maxnames", error))
        return FALSE;
    doms = list_domains(client, DRIVER_LIST_INACTIVE, error);
    if (!doms)
        return FALSE;
    n = MIN(doms->len, (guint)args->maxnames);
    if (n) {
        ret->names.names_val = g_new0(remote_nonnull_string, n);
        ret->names.names_len = n;
        for (guint i = 0; i < n; i++)
            ret->names.names_val[i] = g_strdup(g_array_index(doms, DriverDomain, i).name);
    }
    driver_domain_array_free(doms);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_list_defined_domains)

static gboolean
dispatch_connect_num_of_defined_domains(DaemonClient *client, const void *args,
                                        remote_connect_num_of_defined_domains_ret *ret,
                                        GError **error)
{
    GArray *doms = list_domains(client, DRIVER_LIST_INACTIVE, error);

    if (!doms)
        return FALSE;
    ret->num = doms->len;
    driver_domain_array_free(doms);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_connect_num_of_defined_domains)

/* ---------------------------------------------------------------- one domain */

static gboolean dispatch_domain_get_state(DaemonClient *client,
                                          const remote_domain_get_state_args *args,
                                          remote_domain_get_state_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    int state = 0, reason = 0;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, get_state, error);
    if (!conn->ops->get_state(conn, &dom, &state, &reason, args->flags, error))
        return FALSE;
    ret->state = state;
    ret->reason = reason;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_get_state)

static gboolean dispatch_domain_get_info(DaemonClient *client,
                                         const remote_domain_get_info_args *args,
                                         remote_domain_get_info_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    DriverDomainInfo info = { 0 };

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, get_info, error);
    if (!conn->ops->get_info(conn, &dom, &info, error))
        return FALSE;
    /* unsigned char and unsigned short on the wire (4 bytes each). */
    ret->state = (u_char)info.state;
    ret->maxMem = info.max_mem_kib;
    ret->memory = info.memory_kib;
    ret->nrVirtCpu = (u_short)MIN(info.nr_virt_cpu, G_MAXUSHORT);
    ret->cpuTime = info.cpu_time_ns;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_get_info)

static gboolean dispatch_domain_get_os_type(DaemonClient *client,
                                            const remote_domain_get_os_type_args *args,
                                            remote_domain_get_os_type_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, get_os_type, error);
    ret->type = conn->ops->get_os_type(conn, &dom, error);
    return ret->type != NULL;
}
DISPATCH_ENTRY(dispatch_domain_get_os_type)

static gboolean dispatch_domain_get_max_memory(DaemonClient *client,
                                               const remote_domain_get_max_memory_args *args,
                                               remote_domain_get_max_memory_ret *ret,
                                               GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    unsigned long long kib = 0;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, get_max_memory, error);
    if (!conn->ops->get_max_memory(conn, &dom, &kib, error))
        return FALSE;
    ret->memory = kib;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_get_max_memory)

static gboolean dispatch_domain_get_xml_desc(DaemonClient *client,
                                             const remote_domain_get_xml_desc_args *args,
                                             remote_domain_get_xml_desc_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    g_autofree char *xml = NULL;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, get_xml_desc, error);
    xml = conn->ops->get_xml_desc(conn, &dom, args->flags, error);
    if (!xml)
        return FALSE;
    if (strlen(xml) > REMOTE_STRING_MAX) {
        ferry_fail(error, FERRY_ERR_OVERFLOW,
                   "domain '%s': its XML has %zu bytes, more than the %d a reply can carry",
                   dom.name, strlen(xml), REMOTE_STRING_MAX);
        return FALSE;
    }
    ret->xml = g_steal_pointer(&xml);
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_get_xml_desc)

static gboolean dispatch_domain_is_active(DaemonClient *client,
                                          const remote_domain_is_active_args *args,
                                          remote_domain_is_active_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    gboolean active = FALSE;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, is_active, error);
    if (!conn->ops->is_active(conn, &dom, &active, error))
        return FALSE;
    ret->active = active ? 1 : 0;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_is_active)

static gboolean dispatch_domain_is_persistent(DaemonClient *client,
                                              const remote_domain_is_persistent_args *args,
                                              remote_domain_is_persistent_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);
    gboolean persistent = FALSE;

    if (!conn)
        return FALSE;
    DISPATCH_NEED_OP(conn, is_persistent, error);
    if (!conn->ops->is_persistent(conn, &dom, &persistent, error))
        return FALSE;
    ret->persistent = persistent ? 1 : 0;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_is_persistent)

static gboolean dispatch_domain_get_autostart(DaemonClient *client,
                                              const remote_domain_get_autostart_args *args,
                                              remote_domain_get_autostart_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    /* ferryd starts no domain by itself. */
    if (!conn || !dispatch_domain_refresh(conn, &dom, error))
        return FALSE;
    ret->autostart = 0;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_get_autostart)

static gboolean dispatch_domain_has_managed_save_image(
    DaemonClient *client, const remote_domain_has_managed_save_image_args *args,
    remote_domain_has_managed_save_image_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    if (args->flags) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "managed save image: unsupported flags 0x%x",
                   args->flags);
        return FALSE;
    }
    /* ferry has no managed save. */
    if (!conn || !dispatch_domain_refresh(conn, &dom, error))
        return FALSE;
    ret->result = 0;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_has_managed_save_image)

static gboolean
dispatch_domain_get_security_label(DaemonClient *client,
                                   const remote_domain_get_security_label_args *args,
                                   remote_domain_get_security_label_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    /* No security driver (NODE_GET_SECURITY_MODEL says so): no label. */
    if (!conn || !dispatch_domain_refresh(conn, &dom, error))
        return FALSE;
    ret->label.label_len = 0;
    ret->label.label_val = NULL;
    ret->enforcing = 0;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_get_security_label)

static gboolean dispatch_domain_get_messages(DaemonClient *client,
                                             const remote_domain_get_messages_args *args,
                                             remote_domain_get_messages_ret *ret, GError **error)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(DriverConn) conn = dispatch_conn_domain(client, &args->dom, &dom, error);

    /* VIR_DOMAIN_MESSAGE_DEPRECATION (1), TAINTING (2): ferry records
     * neither, so there is never a message. */
    if (args->flags & ~3u) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain messages: unsupported flags 0x%x",
                   args->flags & ~3u);
        return FALSE;
    }
    if (!conn || !dispatch_domain_refresh(conn, &dom, error))
        return FALSE;
    ret->msgs.msgs_len = 0;
    ret->msgs.msgs_val = NULL;
    return TRUE;
}
DISPATCH_ENTRY(dispatch_domain_get_messages)
