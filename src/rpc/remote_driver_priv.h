/*
 * remote_driver_priv.h: what the files of the remote driver share.
 *
 * remote_driver.c: connecting, the handshake, the connection's own ops,
 * events, close and the registration.  remote_driver_domain.c: lookups,
 * lists, lifecycle and state.  remote_driver_job.c: jobs, migration
 * tuning and the v3 migration phases.
 */
#pragma once

#include <glib.h>

#include "driver/driver.h"
#include "rpc/client.h"
#include "rpc/message.h"
#include "rpc/remote_driver.h"

typedef struct {
    DriverConn parent; /* first: a DriverConn * is a RemoteConn * */
    RpcClient *client;
    char *uri; /* as the caller gave it (DriverConn's is gone at close) */

    GMutex lock; /* guards what follows */
    guint64 features_known; /* bit N: feature N was asked (remote_feature) */
    guint64 features_supported; /* bit N: and the answer was yes */
    GHashTable *events; /* server callbackID -> RemoteEventReg */
    gboolean event_handlers; /* the events' MESSAGE handlers are installed */
} RemoteConn;

/* Features below this number have their answers cached per connection. */
#define REMOTE_FEATURE_CACHE_MAX 64

static inline RemoteConn *remote_conn(DriverConn *conn)
{
    return (RemoteConn *)conn;
}

/* One call of REMOTE_PROGRAM procedure proc: args and ret are that
 * procedure's structs (remote_procs.c's row gives their XDR routines); ret
 * must be zeroed and is freed with remote_ret_free() after a success.  On
 * failure nothing needs freeing. */
gboolean remote_call(RemoteConn *rc, int proc, const void *args, void *ret, GError **error);
void remote_ret_free(int proc, void *ret);

/* Points w at dom's name and uuid (no copy: w lives as long as dom). */
void remote_dom_borrow(remote_nonnull_domain *w, const DriverDomain *dom);
/* Checks w and copies it into dom. */
gboolean remote_dom_from_wire(DriverDomain *dom, const remote_nonnull_domain *w, GError **error);

/* ---- remote_driver_domain.c */
gboolean remote_lookup_by_name(DriverConn *conn, const char *name, DriverDomain *dom,
                               GError **error);
gboolean remote_lookup_by_uuid(DriverConn *conn, const unsigned char *uuid, DriverDomain *dom,
                               GError **error);
gboolean remote_lookup_by_id(DriverConn *conn, int id, DriverDomain *dom, GError **error);
GArray *remote_list_all_domains(DriverConn *conn, unsigned int flags, GError **error);
gboolean remote_define_xml(DriverConn *conn, const char *xml, unsigned int flags, DriverDomain *dom,
                           GError **error);
gboolean remote_undefine(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                         GError **error);
gboolean remote_create(DriverConn *conn, DriverDomain *dom, unsigned int flags, GError **error);
gboolean remote_create_xml(DriverConn *conn, const char *xml, unsigned int flags, DriverDomain *dom,
                           GError **error);
gboolean remote_destroy(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                        GError **error);
gboolean remote_shutdown(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                         GError **error);
gboolean remote_suspend(DriverConn *conn, const DriverDomain *dom, GError **error);
gboolean remote_resume(DriverConn *conn, const DriverDomain *dom, GError **error);
gboolean remote_get_state(DriverConn *conn, const DriverDomain *dom, int *state, int *reason,
                          unsigned int flags, GError **error);
gboolean remote_get_info(DriverConn *conn, const DriverDomain *dom, DriverDomainInfo *info,
                         GError **error);
char *remote_get_os_type(DriverConn *conn, const DriverDomain *dom, GError **error);
gboolean remote_get_max_memory(DriverConn *conn, const DriverDomain *dom, unsigned long long *kib,
                               GError **error);
char *remote_get_xml_desc(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                          GError **error);
gboolean remote_is_active(DriverConn *conn, const DriverDomain *dom, gboolean *active,
                          GError **error);
gboolean remote_is_persistent(DriverConn *conn, const DriverDomain *dom, gboolean *persistent,
                              GError **error);

/* ---- remote_driver_job.c */
gboolean remote_get_job_stats(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                              int *type, TypedParams **params, GError **error);
gboolean remote_abort_job(DriverConn *conn, const DriverDomain *dom, unsigned int flags,
                          GError **error);
gboolean remote_migrate_set_max_speed(DriverConn *conn, const DriverDomain *dom,
                                      unsigned long long mib_per_s, unsigned int flags,
                                      GError **error);
gboolean remote_migrate_get_max_speed(DriverConn *conn, const DriverDomain *dom,
                                      unsigned long long *mib_per_s, unsigned int flags,
                                      GError **error);
gboolean remote_migrate_set_compression_cache(DriverConn *conn, const DriverDomain *dom,
                                              unsigned long long bytes, unsigned int flags,
                                              GError **error);
gboolean remote_migrate_get_compression_cache(DriverConn *conn, const DriverDomain *dom,
                                              unsigned long long *bytes, unsigned int flags,
                                              GError **error);
gboolean remote_migrate_set_max_downtime(DriverConn *conn, const DriverDomain *dom,
                                         unsigned long long ms, unsigned int flags, GError **error);
gboolean remote_migrate_get_max_downtime(DriverConn *conn, const DriverDomain *dom,
                                         unsigned long long *ms, unsigned int flags,
                                         GError **error);
gboolean remote_migrate_start_postcopy(DriverConn *conn, const DriverDomain *dom,
                                       unsigned int flags, GError **error);
gboolean remote_migrate_begin3(DriverConn *conn, const DriverDomain *dom, const TypedParams *params,
                               unsigned int flags, GBytes **cookie_out, char **xml_out,
                               GError **error);
gboolean remote_migrate_prepare3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                 unsigned int flags, GBytes **cookie_out, char **uri_out,
                                 GError **error);
gboolean remote_migrate_prepare_tunnel3(DriverConn *conn, DriverStream *stream,
                                        const TypedParams *params, GBytes *cookie_in,
                                        unsigned int flags, GBytes **cookie_out, GError **error);
gboolean remote_migrate_perform3(DriverConn *conn, const DriverDomain *dom, const char *dconnuri,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 GBytes **cookie_out, GError **error);
gboolean remote_migrate_finish3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                                unsigned int flags, gboolean cancelled, DriverDomain *dom,
                                GBytes **cookie_out, GError **error);
gboolean remote_migrate_confirm3(DriverConn *conn, const DriverDomain *dom,
                                 const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                                 gboolean cancelled, GError **error);
