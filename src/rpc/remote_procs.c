/*
 * remote_procs.c: every procedure ferry speaks, one row each.
 *
 * To find "the code for procedure 303": grep 303 here, then the name
 * (DOMAIN_MIGRATE_PREPARE3_PARAMS) in daemon/ for its handler.  Rows are
 * sorted by number (the lookup is a binary search; the test checks the
 * order).  Layouts live in ferry_remote_protocol.x.
 *
 * RPC_PROC_PRIORITY (see remote_procs.h) is ferry's choice, close to
 * libvirt's "priority:high" annotations: connection management, lookups,
 * and queries answered from the domain object; destroy (an operator must be
 * able to kill a stuck domain); and job control during a migration (job
 * info and stats, abort, speed, downtime, compression cache, post-copy),
 * which libvirt leaves low but virsh sends on the connection that runs
 * PERFORM3_PARAMS.
 * Starting, stopping, changing a domain and the migration phases are not
 * priority calls.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.message"

#include <stdlib.h>

#include "util/error.h"
#include "util/log.h"
#include "rpc/ferry_keepalive_protocol.h"
#include "rpc/ferry_remote_protocol.h"
#include "rpc/remote_procs.h"

bool_t rpc_xdr_void(XDR *xdrs, void *data)
{
    return TRUE;
}

/* The procedure's number and its name, both from one token. */
#define P(name) REMOTE_PROC_##name, #name
/* A payload struct: its XDR routine and its size. */
#define X(type) (xdrproc_t) xdr_##type, sizeof(type)
/* No payload. */
#define NONE (xdrproc_t) rpc_xdr_void, 0

#define PRIO RPC_PROC_PRIORITY
#define EVENT RPC_PROC_EVENT

static const RpcProcedure remote_procs[] = {
    /* 1 */ { P(CONNECT_OPEN), X(remote_connect_open_args), NONE, PRIO | RPC_PROC_BEFORE_OPEN },
    /* 2 */ { P(CONNECT_CLOSE), NONE, NONE, PRIO },
    /* 3 */ { P(CONNECT_GET_TYPE), NONE, X(remote_connect_get_type_ret), PRIO },
    /* 4 */ { P(CONNECT_GET_VERSION), NONE, X(remote_connect_get_version_ret), PRIO },
    /* 6 */ { P(NODE_GET_INFO), NONE, X(remote_node_get_info_ret), PRIO },
    /* 7 */ { P(CONNECT_GET_CAPABILITIES), NONE, X(remote_connect_get_capabilities_ret), 0 },
    /* 9 */ { P(DOMAIN_CREATE), X(remote_domain_create_args), NONE, 0 },
    /* 10 */
    { P(DOMAIN_CREATE_XML), X(remote_domain_create_xml_args), X(remote_domain_create_xml_ret), 0 },
    /* 11 */
    { P(DOMAIN_DEFINE_XML), X(remote_domain_define_xml_args), X(remote_domain_define_xml_ret),
      PRIO },
    /* 12 */ { P(DOMAIN_DESTROY), X(remote_domain_destroy_args), NONE, PRIO },
    /* 14 */
    { P(DOMAIN_GET_XML_DESC), X(remote_domain_get_xml_desc_args), X(remote_domain_get_xml_desc_ret),
      PRIO },
    /* 15 */
    { P(DOMAIN_GET_AUTOSTART), X(remote_domain_get_autostart_args),
      X(remote_domain_get_autostart_ret), PRIO },
    /* 16 */
    { P(DOMAIN_GET_INFO), X(remote_domain_get_info_args), X(remote_domain_get_info_ret), PRIO },
    /* 17 */
    { P(DOMAIN_GET_MAX_MEMORY), X(remote_domain_get_max_memory_args),
      X(remote_domain_get_max_memory_ret), PRIO },
    /* 19 */
    { P(DOMAIN_GET_OS_TYPE), X(remote_domain_get_os_type_args), X(remote_domain_get_os_type_ret),
      PRIO },
    /* 21 */
    { P(CONNECT_LIST_DEFINED_DOMAINS), X(remote_connect_list_defined_domains_args),
      X(remote_connect_list_defined_domains_ret), PRIO },
    /* 22 */
    { P(DOMAIN_LOOKUP_BY_ID), X(remote_domain_lookup_by_id_args), X(remote_domain_lookup_by_id_ret),
      PRIO },
    /* 23 */
    { P(DOMAIN_LOOKUP_BY_NAME), X(remote_domain_lookup_by_name_args),
      X(remote_domain_lookup_by_name_ret), PRIO },
    /* 24 */
    { P(DOMAIN_LOOKUP_BY_UUID), X(remote_domain_lookup_by_uuid_args),
      X(remote_domain_lookup_by_uuid_ret), PRIO },
    /* 25 */
    { P(CONNECT_NUM_OF_DEFINED_DOMAINS), NONE, X(remote_connect_num_of_defined_domains_ret), PRIO },
    /* 28 */ { P(DOMAIN_RESUME), X(remote_domain_resume_args), NONE, 0 },
    /* 33 */ { P(DOMAIN_SHUTDOWN), X(remote_domain_shutdown_args), NONE, 0 },
    /* 34 */ { P(DOMAIN_SUSPEND), X(remote_domain_suspend_args), NONE, 0 },
    /* 35 */ { P(DOMAIN_UNDEFINE), X(remote_domain_undefine_args), NONE, PRIO },
    /* 37 */
    { P(CONNECT_LIST_DOMAINS), X(remote_connect_list_domains_args),
      X(remote_connect_list_domains_ret), PRIO },
    /* 51 */ { P(CONNECT_NUM_OF_DOMAINS), NONE, X(remote_connect_num_of_domains_ret), PRIO },
    /* 59 */ { P(CONNECT_GET_HOSTNAME), NONE, X(remote_connect_get_hostname_ret), PRIO },
    /* 60 */
    { P(CONNECT_SUPPORTS_FEATURE), X(remote_connect_supports_feature_args),
      X(remote_connect_supports_feature_ret), PRIO | RPC_PROC_BEFORE_OPEN },
    /* 66 */ { P(AUTH_LIST), NONE, X(remote_auth_list_ret), PRIO | RPC_PROC_BEFORE_OPEN },
    /* 110 */ { P(CONNECT_GET_URI), NONE, X(remote_connect_get_uri_ret), PRIO },
    /* 121 */
    { P(DOMAIN_GET_SECURITY_LABEL), X(remote_domain_get_security_label_args),
      X(remote_domain_get_security_label_ret), PRIO },
    /* 122 */ { P(NODE_GET_SECURITY_MODEL), NONE, X(remote_node_get_security_model_ret), PRIO },
    /* 149 */ { P(CONNECT_IS_SECURE), NONE, X(remote_connect_is_secure_ret), PRIO },
    /* 150 */
    { P(DOMAIN_IS_ACTIVE), X(remote_domain_is_active_args), X(remote_domain_is_active_ret), PRIO },
    /* 151 */
    { P(DOMAIN_IS_PERSISTENT), X(remote_domain_is_persistent_args),
      X(remote_domain_is_persistent_ret), PRIO },
    /* 157 */ { P(CONNECT_GET_LIB_VERSION), NONE, X(remote_connect_get_lib_version_ret), PRIO },
    /* 163 */
    { P(DOMAIN_GET_JOB_INFO), X(remote_domain_get_job_info_args), X(remote_domain_get_job_info_ret),
      PRIO },
    /* 164 */ { P(DOMAIN_ABORT_JOB), X(remote_domain_abort_job_args), NONE, PRIO },
    /* 166 */
    { P(DOMAIN_MIGRATE_SET_MAX_DOWNTIME), X(remote_domain_migrate_set_max_downtime_args), NONE,
      PRIO },
    /* 183 */
    { P(DOMAIN_HAS_MANAGED_SAVE_IMAGE), X(remote_domain_has_managed_save_image_args),
      X(remote_domain_has_managed_save_image_ret), PRIO },
    /* 196 */
    { P(DOMAIN_CREATE_WITH_FLAGS), X(remote_domain_create_with_flags_args),
      X(remote_domain_create_with_flags_ret), 0 },
    /* 207 */
    { P(DOMAIN_MIGRATE_SET_MAX_SPEED), X(remote_domain_migrate_set_max_speed_args), NONE, PRIO },
    /* 212 */
    { P(DOMAIN_GET_STATE), X(remote_domain_get_state_args), X(remote_domain_get_state_ret), PRIO },
    /* 231 */ { P(DOMAIN_UNDEFINE_FLAGS), X(remote_domain_undefine_flags_args), NONE, PRIO },
    /* 234 */ { P(DOMAIN_DESTROY_FLAGS), X(remote_domain_destroy_flags_args), NONE, PRIO },
    /* 242 */
    { P(DOMAIN_MIGRATE_GET_MAX_SPEED), X(remote_domain_migrate_get_max_speed_args),
      X(remote_domain_migrate_get_max_speed_ret), PRIO },
    /* 258 */ { P(DOMAIN_SHUTDOWN_FLAGS), X(remote_domain_shutdown_flags_args), NONE, 0 },
    /* 273 */
    { P(CONNECT_LIST_ALL_DOMAINS), X(remote_connect_list_all_domains_args),
      X(remote_connect_list_all_domains_ret), PRIO },
    /* 298 */
    { P(DOMAIN_GET_JOB_STATS), X(remote_domain_get_job_stats_args),
      X(remote_domain_get_job_stats_ret), PRIO },
    /* 299 */
    { P(DOMAIN_MIGRATE_GET_COMPRESSION_CACHE), X(remote_domain_migrate_get_compression_cache_args),
      X(remote_domain_migrate_get_compression_cache_ret), PRIO },
    /* 300 */
    { P(DOMAIN_MIGRATE_SET_COMPRESSION_CACHE), X(remote_domain_migrate_set_compression_cache_args),
      NONE, PRIO },
    /* 302 */
    { P(DOMAIN_MIGRATE_BEGIN3_PARAMS), X(remote_domain_migrate_begin3_params_args),
      X(remote_domain_migrate_begin3_params_ret), 0 },
    /* 303 */
    { P(DOMAIN_MIGRATE_PREPARE3_PARAMS), X(remote_domain_migrate_prepare3_params_args),
      X(remote_domain_migrate_prepare3_params_ret), 0 },
    /* 304 */
    { P(DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS),
      X(remote_domain_migrate_prepare_tunnel3_params_args),
      X(remote_domain_migrate_prepare_tunnel3_params_ret), RPC_PROC_STREAM },
    /* 305 */
    { P(DOMAIN_MIGRATE_PERFORM3_PARAMS), X(remote_domain_migrate_perform3_params_args),
      X(remote_domain_migrate_perform3_params_ret), 0 },
    /* 306 */
    { P(DOMAIN_MIGRATE_FINISH3_PARAMS), X(remote_domain_migrate_finish3_params_args),
      X(remote_domain_migrate_finish3_params_ret), 0 },
    /* 307 */
    { P(DOMAIN_MIGRATE_CONFIRM3_PARAMS), X(remote_domain_migrate_confirm3_params_args), NONE, 0 },
    /* 316 */
    { P(CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY),
      X(remote_connect_domain_event_callback_register_any_args),
      X(remote_connect_domain_event_callback_register_any_ret), PRIO },
    /* 317 */
    { P(CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY),
      X(remote_connect_domain_event_callback_deregister_any_args), NONE, PRIO },
    /* 318 */
    { P(DOMAIN_EVENT_CALLBACK_LIFECYCLE), X(remote_domain_event_callback_lifecycle_msg), NONE,
      EVENT },
    /* 350 */
    { P(DOMAIN_DEFINE_XML_FLAGS), X(remote_domain_define_xml_flags_args),
      X(remote_domain_define_xml_flags_ret), PRIO },
    /* 359 */
    { P(DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION),
      X(remote_domain_event_callback_migration_iteration_msg), NONE, EVENT },
    /* 360 */ { P(CONNECT_REGISTER_CLOSE_CALLBACK), NONE, NONE, PRIO },
    /* 361 */ { P(CONNECT_UNREGISTER_CLOSE_CALLBACK), NONE, NONE, PRIO },
    /* 362 */
    { P(CONNECT_EVENT_CONNECTION_CLOSED), X(remote_connect_event_connection_closed_msg), NONE,
      EVENT },
    /* 363 */
    { P(DOMAIN_EVENT_CALLBACK_JOB_COMPLETED), X(remote_domain_event_callback_job_completed_msg),
      NONE, EVENT },
    /* 364 */
    { P(DOMAIN_MIGRATE_START_POST_COPY), X(remote_domain_migrate_start_post_copy_args), NONE,
      PRIO },
    /* 387 */
    { P(DOMAIN_MIGRATE_GET_MAX_DOWNTIME), X(remote_domain_migrate_get_max_downtime_args),
      X(remote_domain_migrate_get_max_downtime_ret), PRIO },
    /* 426 */
    { P(DOMAIN_GET_MESSAGES), X(remote_domain_get_messages_args), X(remote_domain_get_messages_ret),
      PRIO },
    /* 442 */ { P(DOMAIN_ABORT_JOB_FLAGS), X(remote_domain_abort_job_flags_args), NONE, PRIO },
};

static const RpcProcedure keepalive_procs[] = {
    { FERRY_KEEPALIVE_PROC_PING, "PING", NONE, NONE, EVENT | PRIO },
    { FERRY_KEEPALIVE_PROC_PONG, "PONG", NONE, NONE, EVENT | PRIO },
};

const RpcProgram rpc_remote_program = {
    REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, "REMOTE", remote_procs, G_N_ELEMENTS(remote_procs),
};

const RpcProgram rpc_keepalive_program = {
    FERRY_KEEPALIVE_PROGRAM, FERRY_KEEPALIVE_PROTOCOL_VERSION, "KEEPALIVE",
    keepalive_procs,         G_N_ELEMENTS(keepalive_procs),
};

const RpcProgram *rpc_program_find(guint32 number)
{
    if (number == rpc_remote_program.number)
        return &rpc_remote_program;
    if (number == rpc_keepalive_program.number)
        return &rpc_keepalive_program;
    return NULL;
}

static int proc_compare(const void *key, const void *elem)
{
    int number = *(const int *)key;
    const RpcProcedure *proc = elem;

    return (number > proc->number) - (number < proc->number);
}

const RpcProcedure *rpc_program_find_proc(const RpcProgram *prog, int number)
{
    if (!prog)
        return NULL;
    return bsearch(&number, prog->procs, prog->nprocs, sizeof(RpcProcedure), proc_compare);
}

const char *rpc_proc_name(guint32 prog, int number)
{
    const RpcProcedure *proc = rpc_program_find_proc(rpc_program_find(prog), number);

    return proc ? proc->name : NULL;
}
