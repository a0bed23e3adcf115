/*
 * dispatch_priv.h: what the dispatch_*.c files share.
 *
 * A handler is a plain, typed, static function:
 *
 *     static gboolean dispatch_domain_get_state(DaemonClient *client,
 *                                               const remote_domain_get_state_args *args,
 *                                               remote_domain_get_state_ret *ret,
 *                                               GError **error)
 *     { ... }
 *     DISPATCH_ENTRY(dispatch_domain_get_state)
 *
 * DISPATCH_ENTRY makes dispatch_domain_get_state_entry(), the untyped
 * DispatchFunc that dispatch.c's table points to; DISPATCH_DECLARE below
 * declares it.
 */
#pragma once

#include "daemon/dispatch.h"
#include "rpc/ferry_remote_protocol.h"
#include "rpc/message.h"
#include "util/error.h"

#define DISPATCH_DECLARE(fn) \
    gboolean fn##_entry(DaemonClient *client, const void *args, void *ret, GError **error)

#define DISPATCH_ENTRY(fn) \
    DISPATCH_DECLARE(fn) \
    { \
        return fn(client, args, ret, error); \
    }

/* A domain from the wire (checked: a name, an id of -1 or more) into dom,
 * which the caller clears. */
gboolean dispatch_domain_from_wire(const remote_nonnull_domain *wire, DriverDomain *dom,
                                   GError **error);
/* A domain onto the wire (copied). */
void dispatch_domain_to_wire(const DriverDomain *dom, remote_nonnull_domain *wire);

/* What most domain handlers start with: the open connection (a new
 * reference) and the domain named on the wire (into dom); NULL with
 * *error when either is missing or malformed. */
DriverConn *dispatch_conn_domain(DaemonClient *client, const remote_nonnull_domain *wire,
                                 DriverDomain *dom, GError **error);

/* Refreshes dom from the driver by uuid: NO_DOMAIN when it is gone.  For
 * procedures that ferry answers without asking the driver (autostart,
 * managed save, labels), which must still report a missing domain. */
gboolean dispatch_domain_refresh(DriverConn *conn, DriverDomain *dom, GError **error);

/* Reports a missing driver op (FERRY_ERR_NO_SUPPORT) and returns FALSE. */
#define DISPATCH_NEED_OP(conn, op, error) \
    do { \
        if (!(conn)->ops->op) \
            return driver_no_support((conn), #op, (error)); \
    } while (0)

/* ---- dispatch_connect.c */
DISPATCH_DECLARE(dispatch_connect_open);
DISPATCH_DECLARE(dispatch_connect_close);
DISPATCH_DECLARE(dispatch_connect_get_type);
DISPATCH_DECLARE(dispatch_connect_get_version);
DISPATCH_DECLARE(dispatch_connect_get_hostname);
DISPATCH_DECLARE(dispatch_node_get_info);
DISPATCH_DECLARE(dispatch_connect_is_secure);
DISPATCH_DECLARE(dispatch_connect_supports_feature);
DISPATCH_DECLARE(dispatch_auth_list);
DISPATCH_DECLARE(dispatch_connect_get_uri);
DISPATCH_DECLARE(dispatch_node_get_security_model);
DISPATCH_DECLARE(dispatch_connect_get_lib_version);
DISPATCH_DECLARE(dispatch_connect_domain_event_callback_register_any);
DISPATCH_DECLARE(dispatch_connect_domain_event_callback_deregister_any);
DISPATCH_DECLARE(dispatch_connect_register_close_callback);
DISPATCH_DECLARE(dispatch_connect_unregister_close_callback);

/* ---- dispatch_domain.c */
DISPATCH_DECLARE(dispatch_domain_get_xml_desc);
DISPATCH_DECLARE(dispatch_domain_get_autostart);
DISPATCH_DECLARE(dispatch_domain_get_info);
DISPATCH_DECLARE(dispatch_domain_get_os_type);
DISPATCH_DECLARE(dispatch_domain_get_max_memory);
DISPATCH_DECLARE(dispatch_connect_list_defined_domains);
DISPATCH_DECLARE(dispatch_domain_lookup_by_id);
DISPATCH_DECLARE(dispatch_domain_lookup_by_name);
DISPATCH_DECLARE(dispatch_domain_lookup_by_uuid);
DISPATCH_DECLARE(dispatch_connect_num_of_defined_domains);
DISPATCH_DECLARE(dispatch_connect_list_domains);
DISPATCH_DECLARE(dispatch_connect_num_of_domains);
DISPATCH_DECLARE(dispatch_domain_get_security_label);
DISPATCH_DECLARE(dispatch_domain_is_active);
DISPATCH_DECLARE(dispatch_domain_is_persistent);
DISPATCH_DECLARE(dispatch_domain_has_managed_save_image);
DISPATCH_DECLARE(dispatch_domain_get_state);
DISPATCH_DECLARE(dispatch_connect_list_all_domains);
DISPATCH_DECLARE(dispatch_domain_get_messages);

/* ---- dispatch_lifecycle.c */
DISPATCH_DECLARE(dispatch_domain_create);
DISPATCH_DECLARE(dispatch_domain_create_xml);
DISPATCH_DECLARE(dispatch_domain_define_xml);
DISPATCH_DECLARE(dispatch_domain_destroy);
DISPATCH_DECLARE(dispatch_domain_resume);
DISPATCH_DECLARE(dispatch_domain_shutdown);
DISPATCH_DECLARE(dispatch_domain_suspend);
DISPATCH_DECLARE(dispatch_domain_undefine);
DISPATCH_DECLARE(dispatch_domain_create_with_flags);
DISPATCH_DECLARE(dispatch_domain_undefine_flags);
DISPATCH_DECLARE(dispatch_domain_destroy_flags);
DISPATCH_DECLARE(dispatch_domain_shutdown_flags);
DISPATCH_DECLARE(dispatch_domain_define_xml_flags);

/* ---- dispatch_job.c */
DISPATCH_DECLARE(dispatch_domain_get_job_info);
DISPATCH_DECLARE(dispatch_domain_abort_job);
DISPATCH_DECLARE(dispatch_domain_migrate_set_max_downtime);
DISPATCH_DECLARE(dispatch_domain_migrate_set_max_speed);
DISPATCH_DECLARE(dispatch_domain_migrate_get_max_speed);
DISPATCH_DECLARE(dispatch_domain_migrate_get_compression_cache);
DISPATCH_DECLARE(dispatch_domain_migrate_set_compression_cache);
DISPATCH_DECLARE(dispatch_domain_get_job_stats);
DISPATCH_DECLARE(dispatch_domain_migrate_start_post_copy);
DISPATCH_DECLARE(dispatch_domain_migrate_get_max_downtime);
DISPATCH_DECLARE(dispatch_domain_abort_job_flags);

/* ---- dispatch_migration.c */
DISPATCH_DECLARE(dispatch_domain_migrate_begin3_params);
DISPATCH_DECLARE(dispatch_domain_migrate_prepare3_params);
DISPATCH_DECLARE(dispatch_domain_migrate_prepare_tunnel3_params);
DISPATCH_DECLARE(dispatch_domain_migrate_perform3_params);
DISPATCH_DECLARE(dispatch_domain_migrate_finish3_params);
DISPATCH_DECLARE(dispatch_domain_migrate_confirm3_params);
