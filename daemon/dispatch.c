/*
 * dispatch.c: ferryd's table of remote procedures, one row each.
 *
 * grep a procedure's name (DOMAIN_GET_STATE) here for its handler
 * (dispatch_domain_get_state), then that name in daemon/ for its code.
 * Rows are sorted by number; tests/test-dispatch.c checks the order and
 * that every row is a procedure of src/rpc/remote_procs.c.  A procedure
 * of remote_procs.c without a row here (CONNECT_GET_CAPABILITIES) gets
 * NO_SUPPORT, as does any number nobody knows.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DAEMON
#define FERRY_LOG_MODULE "daemon.dispatch"

#include "daemon/dispatch_priv.h"
#include "rpc/remote_procs.h"
#include "util/log.h"

#define ROW(name, fn, flags) \
    { \
        REMOTE_PROC_##name, #name, fn##_entry, (flags) \
    }
#define OPEN DISPATCH_BEFORE_OPEN
#define WRITE DISPATCH_WRITE

static const DispatchEntry dispatch_rows[] = {
    /* 1 */ ROW(CONNECT_OPEN, dispatch_connect_open, OPEN),
    /* 2 */ ROW(CONNECT_CLOSE, dispatch_connect_close, OPEN),
    /* 3 */ ROW(CONNECT_GET_TYPE, dispatch_connect_get_type, 0),
    /* 4 */ ROW(CONNECT_GET_VERSION, dispatch_connect_get_version, 0),
    /* 6 */ ROW(NODE_GET_INFO, dispatch_node_get_info, 0),
    /* 9 */ ROW(DOMAIN_CREATE, dispatch_domain_create, WRITE),
    /* 10 */ ROW(DOMAIN_CREATE_XML, dispatch_domain_create_xml, WRITE),
    /* 11 */ ROW(DOMAIN_DEFINE_XML, dispatch_domain_define_xml, WRITE),
    /* 12 */ ROW(DOMAIN_DESTROY, dispatch_domain_destroy, WRITE),
    /* 14 */ ROW(DOMAIN_GET_XML_DESC, dispatch_domain_get_xml_desc, 0),
    /* 15 */ ROW(DOMAIN_GET_AUTOSTART, dispatch_domain_get_autostart, 0),
    /* 16 */ ROW(DOMAIN_GET_INFO, dispatch_domain_get_info, 0),
    /* 17 */ ROW(DOMAIN_GET_MAX_MEMORY, dispatch_domain_get_max_memory, 0),
    /* 19 */ ROW(DOMAIN_GET_OS_TYPE, dispatch_domain_get_os_type, 0),
    /* 21 */ ROW(CONNECT_LIST_DEFINED_DOMAINS, dispatch_connect_list_defined_domains, 0),
    /* 22 */ ROW(DOMAIN_LOOKUP_BY_ID, dispatch_domain_lookup_by_id, 0),
    /* 23 */ ROW(DOMAIN_LOOKUP_BY_NAME, dispatch_domain_lookup_by_name, 0),
    /* 24 */ ROW(DOMAIN_LOOKUP_BY_UUID, dispatch_domain_lookup_by_uuid, 0),
    /* 25 */ ROW(CONNECT_NUM_OF_DEFINED_DOMAINS, dispatch_connect_num_of_defined_domains, 0),
    /* 28 */ ROW(DOMAIN_RESUME, dispatch_domain_resume, WRITE),
    /* 33 */ ROW(DOMAIN_SHUTDOWN, dispatch_domain_shutdown, WRITE),
    /* 34 */ ROW(DOMAIN_SUSPEND, dispatch_domain_suspend, WRITE),
    /* 35 */ ROW(DOMAIN_UNDEFINE, dispatch_domain_undefine, WRITE),
    /* 37 */ ROW(CONNECT_LIST_DOMAINS, dispatch_connect_list_domains, 0),
    /* 51 */ ROW(CONNECT_NUM_OF_DOMAINS, dispatch_connect_num_of_domains, 0),
    /* 59 */ ROW(CONNECT_GET_HOSTNAME, dispatch_connect_get_hostname, 0),
    /* 60 */ ROW(CONNECT_SUPPORTS_FEATURE, dispatch_connect_supports_feature, OPEN),
    /* 66 */ ROW(AUTH_LIST, dispatch_auth_list, OPEN),
    /* 110 */ ROW(CONNECT_GET_URI, dispatch_connect_get_uri, 0),
    /* 121 */ ROW(DOMAIN_GET_SECURITY_LABEL, dispatch_domain_get_security_label, 0),
    /* 122 */ ROW(NODE_GET_SECURITY_MODEL, dispatch_node_get_security_model, 0),
    /* 149 */ ROW(CONNECT_IS_SECURE, dispatch_connect_is_secure, 0),
    /* 150 */ ROW(DOMAIN_IS_ACTIVE, dispatch_domain_is_active, 0),
    /* 151 */ ROW(DOMAIN_IS_PERSISTENT, dispatch_domain_is_persistent, 0),
    /* 157 */ ROW(CONNECT_GET_LIB_VERSION, dispatch_connect_get_lib_version, 0),
    /* 163 */ ROW(DOMAIN_GET_JOB_INFO, dispatch_domain_get_job_info, 0),
    /* 164 */ ROW(DOMAIN_ABORT_JOB, dispatch_domain_abort_job, WRITE),
    /* 166 */
    ROW(DOMAIN_MIGRATE_SET_MAX_DOWNTIME, dispatch_domain_migrate_set_max_downtime, WRITE),
    /* 183 */ ROW(DOMAIN_HAS_MANAGED_SAVE_IMAGE, dispatch_domain_has_managed_save_image, 0),
    /* 196 */ ROW(DOMAIN_CREATE_WITH_FLAGS, dispatch_domain_create_with_flags, WRITE),
    /* 207 */ ROW(DOMAIN_MIGRATE_SET_MAX_SPEED, dispatch_domain_migrate_set_max_speed, WRITE),
    /* 212 */ ROW(DOMAIN_GET_STATE, dispatch_domain_get_state, 0),
    /* 231 */ ROW(DOMAIN_UNDEFINE_FLAGS, dispatch_domain_undefine_flags, WRITE),
    /* 234 */ ROW(DOMAIN_DESTROY_FLAGS, dispatch_domain_destroy_flags, WRITE),
    /* 242 */ ROW(DOMAIN_MIGRATE_GET_MAX_SPEED, dispatch_domain_migrate_get_max_speed, 0),
    /* 258 */ ROW(DOMAIN_SHUTDOWN_FLAGS, dispatch_domain_shutdown_flags, WRITE),
    /* 273 */ ROW(CONNECT_LIST_ALL_DOMAINS, dispatch_connect_list_all_domains, 0),
    /* 298 */ ROW(DOMAIN_GET_JOB_STATS, dispatch_domain_get_job_stats, 0),
    /* 299 */
    ROW(DOMAIN_MIGRATE_GET_COMPRESSION_CACHE, dispatch_domain_migrate_get_compression_cache, 0),
    /* 300 */
    ROW(DOMAIN_MIGRATE_SET_COMPRESSION_CACHE, dispatch_domain_migrate_set_compression_cache, WRITE),
    /* 302 */ ROW(DOMAIN_MIGRATE_BEGIN3_PARAMS, dispatch_domain_migrate_begin3_params, WRITE),
    /* 303 */
    ROW(DOMAIN_MIGRATE_PREPARE3_PARAMS, dispatch_domain_migrate_prepare3_params, WRITE),
    /* 304 */
    ROW(DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS, dispatch_domain_migrate_prepare_tunnel3_params,
        WRITE),
    /* 305 */
    ROW(DOMAIN_MIGRATE_PERFORM3_PARAMS, dispatch_domain_migrate_perform3_params, WRITE),
    /* 306 */ ROW(DOMAIN_MIGRATE_FINISH3_PARAMS, dispatch_domain_migrate_finish3_params, WRITE),
    /* 307 */
    ROW(DOMAIN_MIGRATE_CONFIRM3_PARAMS, dispatch_domain_migrate_confirm3_params, WRITE),
    /* 316 */
    ROW(CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
        dispatch_connect_domain_event_callback_register_any, 0),
    /* 317 */
    ROW(CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
        dispatch_connect_domain_event_callback_deregister_any, 0),
    /* 350 */ ROW(DOMAIN_DEFINE_XML_FLAGS, dispatch_domain_define_xml_flags, WRITE),
    /* 360 */ ROW(CONNECT_REGISTER_CLOSE_CALLBACK, dispatch_connect_register_close_callback, 0),
    /* 361 */
    ROW(CONNECT_UNREGISTER_CLOSE_CALLBACK, dispatch_connect_unregister_close_callback, 0),
    /* 364 */
    ROW(DOMAIN_MIGRATE_START_POST_COPY, dispatch_domain_migrate_start_post_copy, WRITE),
    /* 387 */ ROW(DOMAIN_MIGRATE_GET_MAX_DOWNTIME, dispatch_domain_migrate_get_max_downtime, 0),
    /* 426 */ ROW(DOMAIN_GET_MESSAGES, dispatch_domain_get_messages, 0),
    /* 442 */ ROW(DOMAIN_ABORT_JOB_FLAGS, dispatch_domain_abort_job_flags, WRITE),
};

const DispatchEntry *dispatch_table(size_t *n)
{
    *n = G_N_ELEMENTS(dispatch_rows);
    return dispatch_rows;
}

static int entry_compare(const void *key, const void *elem)
{
    int proc = *(const int *)key;
    const DispatchEntry *e = elem;

    return (proc > e->proc) - (proc < e->proc);
}

const DispatchEntry *dispatch_find(int proc)
{
    return bsearch(&proc, dispatch_rows, G_N_ELEMENTS(dispatch_rows), sizeof(DispatchEntry),
                   entry_compare);
}

/* ---------------------------------------------------------------- errors */

/* What libvirt's daemon puts before the message of an error with this
 * code (its generic text for the error number), so that virsh users read
 * what they know.  Codes missing here go as they are. */
static const struct {
    FerryErrorCode code;
    const char *prefix;
} error_prefixes[] = {
    { FERRY_ERR_INTERNAL, "internal error" },
    { FERRY_ERR_NO_SUPPORT, "this function is not supported by the connection driver" },
    { FERRY_ERR_INVALID_ARG, "invalid argument" },
    { FERRY_ERR_OPERATION_FAILED, "operation failed" },
    { FERRY_ERR_OPERATION_INVALID, "Requested operation is not valid" },
    { FERRY_ERR_OPERATION_DENIED, "operation forbidden" },
    { FERRY_ERR_OPERATION_TIMEOUT, "Timed out during operation" },
    { FERRY_ERR_OPERATION_ABORTED, "operation aborted" },
    { FERRY_ERR_XML, "XML error" },
    { FERRY_ERR_NO_DOMAIN, "Domain not found" },
    { FERRY_ERR_AUTH_FAILED, "authentication failed" },
    { FERRY_ERR_NO_CONNECT, "no connection driver available" },
    { FERRY_ERR_MIGRATE_UNSAFE, "Unsafe migration" },
};

const char *dispatch_error_prefix(FerryErrorCode code)
{
    for (gsize i = 0; i < G_N_ELEMENTS(error_prefixes); i++) {
        if (error_prefixes[i].code == code)
            return error_prefixes[i].prefix;
    }
    return NULL;
}

void dispatch_error_decorate(GError *err)
{
    const char *prefix;

    if (!err)
        return;
    prefix = dispatch_error_prefix(ferry_error_code_of(err));
    if (!prefix || g_str_has_prefix(err->message, prefix))
        return;
    char *message = g_strdup_printf("%s: %s", prefix, err->message);
    g_free(err->message);
    err->message = message;
}

/* ---------------------------------------------------------------- calls */

static gboolean dispatch_run(DaemonClient *client, const DispatchEntry *entry, const void *args,
                             void *ret, GError **error)
{
    if (!(entry->flags & DISPATCH_BEFORE_OPEN) && !daemon_client_is_open(client)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "connection not open");
        return FALSE;
    }
    if ((entry->flags & DISPATCH_WRITE) && daemon_client_is_readonly(client)) {
        ferry_fail(error, FERRY_ERR_OPERATION_DENIED, "read only access prevents %s", entry->name);
        return FALSE;
    }
    return entry->func(client, args, ret, error);
}

gboolean dispatch_call(DaemonClient *client, int proc, const void *args, void *ret, GError **error)
{
    const DispatchEntry *entry = dispatch_find(proc);
    g_autoptr(GError) err = NULL;

    /* One line per call: with FERRY_LOG_FILTERS=1:daemon.dispatch the log
     * shows the sequence a client sends (tests/test-ferryd.c compares
     * virsh's with the capture of libvirt 9.0's). */
    FLOG_DEBUG("client %" G_GUINT64_FORMAT ": call %s", daemon_client_get_id(client),
               entry ? entry->name : "(unknown)");
    if (!entry) {
        const char *name = rpc_proc_name(REMOTE_PROGRAM, proc);

        if (name)
            ferry_fail(&err, FERRY_ERR_NO_SUPPORT, "ferryd does not implement procedure %d (%s)",
                       proc, name);
        else
            ferry_fail(&err, FERRY_ERR_NO_SUPPORT, "procedure %d is not supported", proc);
    } else if (dispatch_run(client, entry, args, ret, &err)) {
        return TRUE;
    } else if (!err) {
        /* A handler that fails must say why; this is ferry's bug. */
        ferry_fail(&err, FERRY_ERR_INTERNAL, "%s failed without an error", entry->name);
    }

    FLOG_DEBUG("client %" G_GUINT64_FORMAT ": procedure %d (%s) failed: %s",
               daemon_client_get_id(client), proc, entry ? entry->name : "unknown", err->message);
    dispatch_error_decorate(err);
    g_propagate_error(error, g_steal_pointer(&err));
    return FALSE;
}

/* ---------------------------------------------------------------- helpers */

gboolean dispatch_domain_from_wire(const remote_nonnull_domain *wire, DriverDomain *dom,
                                   GError **error)
{
    /* A malformed domain is the caller's mistake, not the wire's. */
    if (!wire->name || !*wire->name) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "a domain without a name");
        return FALSE;
    }
    if (wire->id < -1) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain '%s' has id %d", wire->name, wire->id);
        return FALSE;
    }
    g_free(dom->name);
    dom->name = g_strdup(wire->name);
    memcpy(dom->uuid, wire->uuid, sizeof(dom->uuid));
    dom->id = wire->id;
    return TRUE;
}

void dispatch_domain_to_wire(const DriverDomain *dom, remote_nonnull_domain *wire)
{
    rpc_nonnull_domain_set(wire, dom->name, dom->uuid, dom->id);
}

DriverConn *dispatch_conn_domain(DaemonClient *client, const remote_nonnull_domain *wire,
                                 DriverDomain *dom, GError **error)
{
    g_autoptr(DriverConn) conn = daemon_client_get_conn(client, error);

    if (!conn || !dispatch_domain_from_wire(wire, dom, error))
        return NULL;
    return g_steal_pointer(&conn);
}

gboolean dispatch_domain_refresh(DriverConn *conn, DriverDomain *dom, GError **error)
{
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;

    if (!conn->ops->lookup_by_uuid)
        return driver_no_support(conn, "lookup_by_uuid", error);
    if (!conn->ops->lookup_by_uuid(conn, dom->uuid, &found, error))
        return FALSE;
    driver_domain_copy(dom, &found);
    return TRUE;
}
