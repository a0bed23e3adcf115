/*
 * remote_driver_domain.c: the remote driver's lookups, lists, definitions,
 * lifecycle and state: one RPC each, in the procedures libvirt's client
 * uses for the same API.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.remote"

#include "rpc/remote_driver_priv.h"
#include "util/error.h"
#include "util/log.h"

/* Calls proc, whose ret is { remote_nonnull_domain dom; }, into *dom. */
static gboolean remote_call_dom(DriverConn *conn, int proc, const void *args,
                                remote_nonnull_domain *ret_dom, DriverDomain *dom, GError **error)
{
    gboolean ok;

    if (!remote_call(remote_conn(conn), proc, args, ret_dom, error))
        return FALSE;
    ok = remote_dom_from_wire(dom, ret_dom, error);
    remote_ret_free(proc, ret_dom);
    return ok;
}

/* ---------------------------------------------------------------- lookups and lists */

gboolean remote_lookup_by_name(DriverConn *conn, const char *name, DriverDomain *dom,
                               GError **error)
{
    remote_domain_lookup_by_name_args args = { .name = (char *)name };
    remote_domain_lookup_by_name_ret ret = { 0 };

    return remote_call_dom(conn, REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, &args, &ret.dom, dom, error);
}

gboolean remote_lookup_by_uuid(DriverConn *conn, const unsigned char *uuid, DriverDomain *dom,
                               GError **error)
{
    remote_domain_lookup_by_uuid_args args;
    remote_domain_lookup_by_uuid_ret ret = { 0 };

    memcpy(args.uuid, uuid, sizeof(args.uuid));
    return remote_call_dom(conn, REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID, &args, &ret.dom, dom, error);
}

gboolean remote_lookup_by_id(DriverConn *conn, int id, DriverDomain *dom, GError **error)
{
    remote_domain_lookup_by_id_args args = { .id = id };
    remote_domain_lookup_by_id_ret ret = { 0 };

    return remote_call_dom(conn, REMOTE_PROC_DOMAIN_LOOKUP_BY_ID, &args, &ret.dom, dom, error);
}

GArray *remote_list_all_domains(DriverConn *conn, unsigned int flags, GError **error)
{
    remote_connect_list_all_domains_args args = { .need_results = 1, .flags = flags };
    remote_connect_list_all_domains_ret ret = { 0 };
    GArray *out;

    if (!remote_call(remote_conn(conn), REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &args, &ret, error))
        return NULL;
    out = g_array_sized_new(FALSE, TRUE, sizeof(DriverDomain), ret.domains.domains_len);
    for (u_int i = 0; i < ret.domains.domains_len; i++) {
        DriverDomain d = DRIVER_DOMAIN_INIT;

        if (!remote_dom_from_wire(&d, &ret.domains.domains_val[i], error)) {
            driver_domain_array_free(out);
            remote_ret_free(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &ret);
            return NULL;
        }
        g_array_append_val(out, d);
    }
    remote_ret_free(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &ret);
    return out;
}

/* ---------------------------------------------------------------- definitions */

gboolean remote_define_xml(DriverConn *conn, const char *xml, unsigned int flags, DriverDomain *dom,
                           GError **error)
{
    if (flags) {
        remote_domain_define_xml_flags_args args = { .xml = (char *)xml, .flags = flags };
        remote_domain_define_xml_flags_ret ret = { 0 };

        return remote_call_dom(conn, REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS, &args, &ret.dom, dom,
                               error);
    }
    remote_domain_define_xml_args args = { .xml = (char *)xml };
    remote_domain_define_xml_ret ret = { 0 };

    return remote_call_dom(conn, REMOTE_PROC_DOMAIN_DEFINE_XML, &args, &ret.dom, dom, error);
}

gboolean remote_undefine(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                         GError **error)
{
    if (flags) {
        remote_domain_undefine_flags_args args = { .flags = flags };

        remote_dom_borrow(&args.dom, dom);
        return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS, &args, NULL,
                           error);
    }
    remote_domain_undefine_args args;

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_UNDEFINE, &args, NULL, error);
}

/* ---------------------------------------------------------------- lifecycle */

/* CREATE_WITH_FLAGS (also without flags): its reply carries the new id,
 * which plain CREATE does not. */
gboolean remote_create(DriverConn *conn, DriverDomain *dom, unsigned int flags, GError **error)
{
    remote_domain_create_with_flags_args args = { .flags = flags };
    remote_domain_create_with_flags_ret ret = { 0 };
    g_auto(DriverDomain) started = DRIVER_DOMAIN_INIT;

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call_dom(conn, REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, &args, &ret.dom, &started,
                         error))
        return FALSE;
    dom->id = started.id;
    return TRUE;
}

gboolean remote_create_xml(DriverConn *conn, const char *xml, unsigned int flags, DriverDomain *dom,
                           GError **error)
{
    remote_domain_create_xml_args args = { .xml_desc = (char *)xml, .flags = flags };
    remote_domain_create_xml_ret ret = { 0 };

    return remote_call_dom(conn, REMOTE_PROC_DOMAIN_CREATE_XML, &args, &ret.dom, dom, error);
}

gboolean remote_destroy(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                        GError **error)
{
    if (flags) {
        remote_domain_destroy_flags_args args = { .flags = flags };

        remote_dom_borrow(&args.dom, dom);
        return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_DESTROY_FLAGS, &args, NULL, error);
    }
    remote_domain_destroy_args args;

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_DESTROY, &args, NULL, error);
}

gboolean remote_shutdown(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                         GError **error)
{
    if (flags) {
        remote_domain_shutdown_flags_args args = { .flags = flags };

        remote_dom_borrow(&args.dom, dom);
        return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS, &args, NULL,
                           error);
    }
    remote_domain_shutdown_args args;

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_SHUTDOWN, &args, NULL, error);
}

gboolean remote_suspend(DriverConn *conn, const DriverDomain *dom, GError **error)
{
    remote_domain_suspend_args args;

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_SUSPEND, &args, NULL, error);
}

gboolean remote_resume(DriverConn *conn, const DriverDomain *dom, GError **error)
{
    remote_domain_resume_args args;

    remote_dom_borrow(&args.dom, dom);
    return remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_RESUME, &args, NULL, error);
}

/* ---------------------------------------------------------------- state */

gboolean remote_get_state(DriverConn *conn, const DriverDomain *dom, int *state, int *reason,
                          unsigned int flags, GError **error)
{
    remote_domain_get_state_args args = { .flags = flags };
    remote_domain_get_state_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_GET_STATE, &args, &ret, error))
        return FALSE;
    if (state)
        *state = ret.state;
    if (reason)
        *reason = ret.reason;
    return TRUE;
}

gboolean remote_get_info(DriverConn *conn, const DriverDomain *dom, DriverDomainInfo *info,
                         GError **error)
{
    remote_domain_get_info_args args;
    remote_domain_get_info_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_GET_INFO, &args, &ret, error))
        return FALSE;
    info->state = ret.state;
    info->max_mem_kib = ret.maxMem;
    info->memory_kib = ret.memory;
    info->nr_virt_cpu = ret.nrVirtCpu;
    info->cpu_time_ns = ret.cpuTime;
    return TRUE;
}

char *remote_get_os_type(DriverConn *conn, const DriverDomain *dom, GError **error)
{
    remote_domain_get_os_type_args args;
    remote_domain_get_os_type_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_GET_OS_TYPE, &args, &ret, error))
        return NULL;
    return ret.type; /* the only allocation in ret: now the caller's */
}

gboolean remote_get_max_memory(DriverConn *conn, const DriverDomain *dom, unsigned long long *kib,
                               GError **error)
{
    remote_domain_get_max_memory_args args;
    remote_domain_get_max_memory_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_GET_MAX_MEMORY, &args, &ret, error))
        return FALSE;
    *kib = ret.memory;
    return TRUE;
}

char *remote_get_xml_desc(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                          GError **error)
{
    remote_domain_get_xml_desc_args args = { .flags = flags };
    remote_domain_get_xml_desc_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_GET_XML_DESC, &args, &ret, error))
        return NULL;
    return ret.xml;
}

gboolean remote_is_active(DriverConn *conn, const DriverDomain *dom, gboolean *active,
                          GError **error)
{
    remote_domain_is_active_args args;
    remote_domain_is_active_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_IS_ACTIVE, &args, &ret, error))
        return FALSE;
    *active = ret.active != 0;
    return TRUE;
}

gboolean remote_is_persistent(DriverConn *conn, const DriverDomain *dom, gboolean *persistent,
                              GError **error)
{
    remote_domain_is_persistent_args args;
    remote_domain_is_persistent_ret ret = { 0 };

    remote_dom_borrow(&args.dom, dom);
    if (!remote_call(remote_conn(conn), REMOTE_PROC_DOMAIN_IS_PERSISTENT, &args, &ret, error))
        return FALSE;
    *persistent = ret.persistent != 0;
    return TRUE;
}
