/*
 * test-remote-driver-ops.c: the remote driver's ops table (driver.h)
 * called directly, against the real daemon/ferryd: what libferry's public
 * API does not reach yet (events, migration tuning, the v3 migration
 * phases, feature probes, flags variants of the calls).
 *
 * ferryd and QEMU are started and stopped as in test-remote-driver
 * (tests/ferryd-testutils.h).  The guest cases skip without the test guest.
 * An in-process server (src/rpc/server.h) plays what ferryd does not: an
 * older server (no GET_JOB_STATS, no AUTH_LIST), one that wants SASL.
 */
#include <config.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "driver/driver_registry.h"
#include "rpc/remote_driver.h"
#include "rpc/server.h"
#include "tests/ferryd-testutils.h"
#include "tests/libferry-testutils.h"
#include "util/error.h"
#include "util/uuid.h"

#define UUID1 "3f0c2a4e-9d1b-4c7e-8a55-0e1f2a3b4c11"
#define WAIT_MS 30000

typedef FerrydFixture Fixture;

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    ferryd_fixture_init(fx, "ferry-remote-ops");
    ferryd_fixture_start(fx, FALSE);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    ferryd_fixture_clear(fx);
}

static DriverConn *open_ok(const char *uri)
{
    g_autoptr(GError) err = NULL;
    DriverConn *conn = driver_registry_open(uri, 0, &err);

    g_assert_no_error(err);
    g_assert_nonnull(conn);
    g_assert_cmpstr(conn->ops->name, ==, "remote");
    return conn;
}

/* Defines the test guest (not started) into *dom. */
static void define_guest(Fixture *fx, DriverConn *conn, DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = lft_guest_xml(fx->root, "web1", UUID1);

    g_assert_true(conn->ops->define_xml(conn, xml, 0, dom, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(dom->name, ==, "web1");
    g_assert_cmpint(dom->id, ==, -1);
}

/* ---------------------------------------------------------------- connection */

static void test_connection(Fixture *fx, gconstpointer data)
{
    g_autoptr(DriverConn) conn = open_ok(fx->tcp_uri);
    g_autoptr(GError) err = NULL;
    gboolean yes = FALSE;
    unsigned long long ver = 0;

    /* Answered locally, and by the server. */
    g_assert_true(conn->ops->supports_feature(conn, DRIVER_FEATURE_REMOTE, &yes, &err));
    g_assert_true(yes);
    g_assert_true(conn->ops->supports_feature(conn, DRIVER_FEATURE_PROGRAM_KEEPALIVE, &yes, &err));
    g_assert_true(yes);
    g_assert_true(conn->ops->supports_feature(conn, 9999, &yes, &err));
    g_assert_false(yes);
    g_assert_no_error(err);

    g_autofree char *uri = conn->ops->get_uri(conn, &err);
    g_assert_cmpstr(uri, ==, fx->tcp_uri);
    g_autofree char *type = conn->ops->get_type(conn, &err);
    g_assert_cmpstr(type, ==, "QEMU");
    g_autofree char *host = conn->ops->get_hostname(conn, &err);
    g_assert_nonnull(host);
    g_assert_true(conn->ops->get_version(conn, &ver, &err));
    g_assert_cmpuint(ver, >=, 1000000);
    g_assert_true(conn->ops->get_lib_version(conn, &ver, &err));
    g_assert_no_error(err);

    /* NODE_GET_INFO: ferryd's host is this one. */
    HostInfo node = { 0 };
    g_assert_true(conn->ops->node_get_info(conn, &node, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(node.cpus, ==, (unsigned int)sysconf(_SC_NPROCESSORS_ONLN));
    g_assert_cmpuint(node.nodes * node.sockets * node.cores * node.threads, ==, node.cpus);
    g_assert_cmpuint(node.memory_kib, >, 0);
    g_assert_cmpuint(strlen(node.model), >, 0);

    /* CONNECT_IS_SECURE: TCP is not, a UNIX socket is. */
    g_autoptr(DriverConn) local = open_ok(fx->unix_uri);
    gboolean secure = TRUE;
    g_assert_true(conn->ops->is_secure(conn, &secure, &err));
    g_assert_false(secure);
    g_assert_true(local->ops->is_secure(local, &secure, &err));
    g_assert_true(secure);
    g_assert_no_error(err);

    /* Flags other than read-only are refused before connecting. */
    g_autoptr(DriverUri) parsed = driver_uri_parse(fx->unix_uri, &err);
    g_assert_no_error(err);
    g_assert_null(remote_driver_open(parsed, 2, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
}

/* ---------------------------------------------------------------- domains */

static void test_domain(Fixture *fx, gconstpointer data)
{
    g_autoptr(DriverConn) conn = open_ok(fx->unix_uri);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;
    g_autoptr(GError) err = NULL;
    int state = -1, reason = -1;
    gboolean b = TRUE;

    define_guest(fx, conn, &dom);
    g_assert_true(conn->ops->lookup_by_uuid(conn, dom.uuid, &found, &err));
    g_assert_cmpstr(found.name, ==, "web1");
    g_assert_true(conn->ops->lookup_by_name(conn, "web1", &found, &err));
    g_assert_cmpmem(found.uuid, sizeof(found.uuid), dom.uuid, sizeof(dom.uuid));
    g_assert_true(conn->ops->get_state(conn, &dom, &state, &reason, 0, &err));
    g_assert_cmpint(state, ==, DRIVER_STATE_SHUTOFF);
    g_assert_true(conn->ops->is_active(conn, &dom, &b, &err));
    g_assert_false(b);
    g_assert_true(conn->ops->is_persistent(conn, &dom, &b, &err));
    g_assert_true(b);
    g_autofree char *xml = conn->ops->get_xml_desc(conn, &dom, DRIVER_XML_INACTIVE, &err);
    g_assert_nonnull(strstr(xml, UUID1));
    g_autofree char *os = conn->ops->get_os_type(conn, &dom, &err);
    g_assert_cmpstr(os, ==, "hvm");
    g_assert_no_error(err);
    /* DOMAIN_GET_MAX_MEMORY: lft_guest_xml's <memory unit='MiB'>64</memory>. */
    unsigned long long max_kib = 0;
    g_assert_true(conn->ops->get_max_memory(conn, &dom, &max_kib, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(max_kib, ==, 64 * 1024);

    GArray *all = conn->ops->list_all_domains(conn, DRIVER_LIST_INACTIVE, &err);
    g_assert_nonnull(all);
    g_assert_cmpuint(all->len, ==, 1);
    g_assert_cmpint(g_array_index(all, DriverDomain, 0).id, ==, -1);
    driver_domain_array_free(all);
    all = conn->ops->list_all_domains(conn, DRIVER_LIST_ACTIVE, &err);
    g_assert_cmpuint(all->len, ==, 0);
    driver_domain_array_free(all);

    /* Errors come back with the server's code and message. */
    g_assert_false(conn->ops->lookup_by_id(conn, 4242, &found, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_DOMAIN));
    g_clear_error(&err);
    g_assert_false(conn->ops->destroy(conn, &dom, 0, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    g_test_message("destroy of an inactive domain: %s", err->message);
    g_clear_error(&err);
    /* The inactive domain has no job: the v3 phases refuse it, over the
     * wire, with the driver's error (not an RPC one). */
    g_autoptr(GBytes) cookie = NULL;
    g_autofree char *mxml = NULL;
    g_assert_false(conn->ops->migrate_begin3(conn, &dom, NULL, 1, &cookie, &mxml, &err));
    g_test_message("begin3 on an inactive domain: %s", err->message);
    g_assert_false(ferry_error_is(err, FERRY_ERR_RPC));
    g_clear_error(&err);
    /* Confirm3(cancelled) after a Perform that already rolled back is a
     * no-op by design (libvirt's clients skip Confirm after a failed
     * Perform; ferry's source undoes everything there): without a
     * migration it changes nothing. */
    gboolean active = TRUE;
    g_assert_true(conn->ops->migrate_confirm3(conn, &dom, NULL, NULL, 1, TRUE, &err));
    g_assert_no_error(err);
    g_assert_true(conn->ops->is_active(conn, &dom, &active, &err));
    g_assert_false(active);
    g_assert_false(conn->ops->migrate_finish3(conn, NULL, NULL, 1, TRUE, &found, &cookie, &err));
    g_test_message("finish3 without a migration: %s", err->message);
    g_assert_false(ferry_error_is(err, FERRY_ERR_RPC));
    g_clear_error(&err);
    /* PREPARE_TUNNEL3_PARAMS: without a cookie there is nothing to
     * prepare; the server's error comes back (not an RPC one), the stream
     * stays closed and the connection serves on. */
    {
        g_autoptr(DriverStream) stream = driver_stream_new();
        g_autoptr(GBytes) tcookie = NULL;

        g_assert_nonnull(conn->ops->migrate_prepare_tunnel3);
        g_assert_false(
            conn->ops->migrate_prepare_tunnel3(conn, stream, NULL, NULL, 1 | 4, &tcookie, &err));
        g_test_message("prepare_tunnel3 without a cookie: %s", err->message);
        g_assert_false(ferry_error_is(err, FERRY_ERR_RPC));
        g_assert_false(driver_stream_is_open(stream));
        g_assert_null(tcookie);
        g_clear_error(&err);
    }

    /* undefine with flags goes as UNDEFINE_FLAGS. */
    g_assert_true(conn->ops->undefine(conn, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_false(conn->ops->lookup_by_name(conn, "web1", &found, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_DOMAIN));
}

/* ---------------------------------------------------------------- events, jobs */

typedef struct {
    GMutex lock;
    GCond cond;
    GArray *events; /* int: event */
    char *last_name;
} Events;

static void on_lifecycle(DriverConn *conn, const DriverDomain *dom, int event, int detail,
                         gpointer opaque)
{
    Events *ev = opaque;

    g_mutex_lock(&ev->lock);
    g_array_append_val(ev->events, event);
    g_free(ev->last_name);
    ev->last_name = g_strdup(dom->name);
    g_cond_broadcast(&ev->cond);
    g_mutex_unlock(&ev->lock);
}

static gboolean wait_event(Events *ev, int event)
{
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;
    gboolean seen = FALSE;

    g_mutex_lock(&ev->lock);
    while (!seen) {
        for (guint i = 0; i < ev->events->len; i++)
            seen = seen || g_array_index(ev->events, int, i) == event;
        if (!seen && !g_cond_wait_until(&ev->cond, &ev->lock, end))
            break;
    }
    g_mutex_unlock(&ev->lock);
    return seen;
}

static void test_running(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    g_autoptr(DriverConn) conn = open_ok(fx->unix_uri);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(GError) err = NULL;
    Events ev = { .events = g_array_new(FALSE, FALSE, sizeof(int)) };

    g_mutex_init(&ev.lock);
    g_cond_init(&ev.cond);
    /* ferryd forwards events only when its driver has them: the call must
     * get through either way. */
    int id = conn->ops->event_register_lifecycle(conn, NULL, on_lifecycle, &ev, NULL, &err);
    if (id < 0) {
        g_test_message("no lifecycle events: %s", err->message);
        g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
        g_clear_error(&err);
    }

    define_guest(fx, conn, &dom);
    g_assert_true(conn->ops->create(conn, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_cmpint(dom.id, >, 0);
    g_assert_true(ferryd_fixture_wait_qemus(fx, 1));
    /* VIR_DOMAIN_EVENT_STARTED */
    g_assert_true(id < 0 || wait_event(&ev, 2));

    DriverDomainInfo info = { 0 };
    g_assert_true(conn->ops->get_info(conn, &dom, &info, &err));
    g_assert_cmpint(info.state, ==, DRIVER_STATE_RUNNING);

    int type = -1;
    g_autoptr(TypedParams) params = NULL;
    g_assert_true(conn->ops->get_job_stats(conn, &dom, 0, &type, &params, &err));
    g_assert_no_error(err);
    g_assert_cmpint(type, ==, DRIVER_JOB_NONE);

    unsigned long long v = 0;
    if (conn->ops->migrate_set_max_speed(conn, &dom, 64, 0, &err)) {
        g_assert_true(conn->ops->migrate_get_max_speed(conn, &dom, &v, 0, &err));
        g_assert_cmpuint(v, ==, 64);
    } else {
        g_test_message("migrate_set_max_speed: %s", err->message);
        g_assert_false(ferry_error_is(err, FERRY_ERR_RPC));
        g_clear_error(&err);
    }
    if (conn->ops->migrate_set_max_downtime(conn, &dom, 250, 0, &err)) {
        g_assert_true(conn->ops->migrate_get_max_downtime(conn, &dom, &v, 0, &err));
        g_assert_cmpuint(v, ==, 250);
    } else {
        g_test_message("migrate_set_max_downtime: %s", err->message);
        g_assert_false(ferry_error_is(err, FERRY_ERR_RPC));
        g_clear_error(&err);
    }
    /* No job to abort. */
    g_assert_false(conn->ops->abort_job(conn, &dom, 0, &err));
    g_test_message("abort_job without a job: %s", err->message);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    g_clear_error(&err);

    g_assert_true(conn->ops->suspend(conn, &dom, &err));
    int state = -1;
    g_assert_true(conn->ops->get_state(conn, &dom, &state, NULL, 0, &err));
    g_assert_cmpint(state, ==, DRIVER_STATE_PAUSED);
    g_assert_true(conn->ops->resume(conn, &dom, &err));
    g_assert_true(conn->ops->destroy(conn, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_true(ferryd_fixture_wait_qemus(fx, 0));
    if (id >= 0) {
        /* VIR_DOMAIN_EVENT_STOPPED */
        g_assert_true(wait_event(&ev, 5));
        g_mutex_lock(&ev.lock);
        g_assert_cmpstr(ev.last_name, ==, "web1");
        g_mutex_unlock(&ev.lock);
        g_assert_true(conn->ops->event_deregister(conn, id, &err));
        g_assert_no_error(err);
    }
    g_assert_false(conn->ops->event_deregister(conn, 4242, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));

    g_clear_pointer(&conn, driver_conn_unref);
    g_array_unref(ev.events);
    g_free(ev.last_name);
    g_mutex_clear(&ev.lock);
    g_cond_clear(&ev.cond);
}

/* ---------------------------------------------------------------- an in-process server */

/* A server of our own (src/rpc/server.h) for what ferryd does not do: an
 * old server without GET_JOB_STATS, one that wants SASL, one without
 * AUTH_LIST, errors from another subsystem. */
enum { TOY_AUTH_NONE, TOY_AUTH_SASL, TOY_AUTH_UNSUPPORTED };
static int toy_auth = TOY_AUTH_NONE;
static char *toy_open_name;

static gboolean toy_auth_list(RpcServerClient *client, RpcMessage *call, void *args, void *ret,
                              gpointer opaque, GError **error)
{
    remote_auth_list_ret *r = ret;

    if (toy_auth == TOY_AUTH_UNSUPPORTED) {
        ferry_error_set(error, FERRY_FROM_RPC, FERRY_ERR_NO_SUPPORT,
                        "procedure 66 is not supported");
        return FALSE;
    }
    r->types.types_len = 1;
    r->types.types_val = g_new0(remote_auth_type, 1);
    r->types.types_val[0] = toy_auth == TOY_AUTH_SASL ? REMOTE_AUTH_SASL : REMOTE_AUTH_NONE;
    return TRUE;
}

static gboolean toy_supports_feature(RpcServerClient *client, RpcMessage *call, void *args,
                                     void *ret, gpointer opaque, GError **error)
{
    const remote_connect_supports_feature_args *a = args;
    remote_connect_supports_feature_ret *r = ret;

    r->supported = a->feature == DRIVER_FEATURE_PROGRAM_KEEPALIVE;
    return TRUE;
}

static gboolean toy_open(RpcServerClient *client, RpcMessage *call, void *args, void *ret,
                         gpointer opaque, GError **error)
{
    const remote_connect_open_args *a = args;

    g_free(toy_open_name);
    toy_open_name = g_strdup(a->name ? *a->name : "(null)");
    return TRUE;
}

static gboolean toy_void(RpcServerClient *client, RpcMessage *call, void *args, void *ret,
                         gpointer opaque, GError **error)
{
    return TRUE;
}

static gboolean toy_job_info(RpcServerClient *client, RpcMessage *call, void *args, void *ret,
                             gpointer opaque, GError **error)
{
    remote_domain_get_job_info_ret *r = ret;

    r->type = DRIVER_JOB_UNBOUNDED;
    r->timeElapsed = 1234;
    r->memTotal = 4096;
    r->memRemaining = 1024;
    return TRUE;
}

static gboolean toy_lookup(RpcServerClient *client, RpcMessage *call, void *args, void *ret,
                           gpointer opaque, GError **error)
{
    const remote_domain_lookup_by_name_args *a = args;

    ferry_error_set(error, FERRY_FROM_QEMU, FERRY_ERR_NO_DOMAIN, "domain '%s' is nowhere", a->name);
    return FALSE;
}

static const RpcServerHandler toy_handlers[] = {
    { REMOTE_PROC_CONNECT_OPEN, toy_open },
    { REMOTE_PROC_CONNECT_CLOSE, toy_void },
    { REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, toy_lookup },
    { REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, toy_supports_feature },
    { REMOTE_PROC_AUTH_LIST, toy_auth_list },
    { REMOTE_PROC_DOMAIN_GET_JOB_INFO, toy_job_info },
};

static RpcServer *toy_server(char **dir, char **uri)
{
    RpcServerConfig cfg = RPC_SERVER_CONFIG_INIT;
    RpcServerProgramSpec spec = { .number = REMOTE_PROGRAM,
                                  .version = REMOTE_PROTOCOL_VERSION,
                                  .procs = &rpc_remote_program,
                                  .handlers = toy_handlers,
                                  .nhandlers = G_N_ELEMENTS(toy_handlers) };
    g_autoptr(GError) err = NULL;
    RpcServer *srv = rpc_server_new(&cfg, &err);

    g_assert_no_error(err);
    g_assert_true(rpc_server_add_program(srv, &spec, &err));
    *dir = g_dir_make_tmp("ferry-remote-toy-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *path = g_build_filename(*dir, "sock", NULL);
    g_assert_true(rpc_server_listen_unix(srv, path, 0600, NULL, &err));
    g_assert_no_error(err);
    *uri = g_strdup_printf("qemu+unix:///system?socket=%s", path);
    return srv;
}

static void test_toy_server(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *uri = NULL;
    g_autoptr(RpcServer) srv = toy_server(&dir, &uri);
    g_autoptr(GError) err = NULL;

    /* Without GET_JOB_STATS: GET_JOB_INFO's fields as statistics. */
    toy_auth = TOY_AUTH_NONE;
    g_autoptr(DriverConn) conn = open_ok(uri);
    g_assert_cmpstr(toy_open_name, ==, "qemu:///system");
    DriverDomain dom = { .name = (char *)"web1", .id = 1 };
    int type = -1;
    g_autoptr(TypedParams) params = NULL;
    unsigned long long v = 0;
    g_assert_true(conn->ops->get_job_stats(conn, &dom, 0, &type, &params, &err));
    g_assert_no_error(err);
    g_assert_cmpint(type, ==, DRIVER_JOB_UNBOUNDED);
    g_assert_cmpint(typed_params_get_ullong(params, "time_elapsed", &v, NULL), ==, 1);
    g_assert_cmpuint(v, ==, 1234);
    g_assert_cmpint(typed_params_get_ullong(params, "memory_remaining", &v, NULL), ==, 1);
    g_assert_cmpuint(v, ==, 1024);
    /* ... which has no completed job to tell about. */
    g_clear_pointer(&params, typed_params_free);
    g_assert_false(
        conn->ops->get_job_stats(conn, &dom, DRIVER_JOB_STATS_COMPLETED, &type, &params, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
    g_clear_error(&err);

    /* The error's domain, code and message survive the wire. */
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;
    g_assert_false(conn->ops->lookup_by_name(conn, "ghost", &found, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(err->message, ==, "domain 'ghost' is nowhere");
    g_clear_error(&err);

    /* No feature 14: no events. */
    g_assert_cmpint(conn->ops->event_register_lifecycle(conn, NULL, on_lifecycle, NULL, NULL, &err),
                    ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
    g_clear_error(&err);
    g_clear_pointer(&conn, driver_conn_unref);

    /* An old server without AUTH_LIST needs no authentication. */
    toy_auth = TOY_AUTH_UNSUPPORTED;
    conn = open_ok(uri);
    g_clear_pointer(&conn, driver_conn_unref);

    /* SASL is not something ferry does. */
    toy_auth = TOY_AUTH_SASL;
    g_assert_null(driver_registry_open(uri, 0, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_AUTH_FAILED));
    g_assert_nonnull(strstr(err->message, "SASL"));
    g_test_message("%s", err->message);

    rpc_server_shutdown(srv);
    lft_remove_tree(dir);
    g_clear_pointer(&toy_open_name, g_free);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);

    g_autofree char *ferryd = ferryd_fixture_build_path("daemon", "ferryd");
    if (!g_file_test(ferryd, G_FILE_TEST_IS_EXECUTABLE)) {
        g_print("1..0 # SKIP daemon/ferryd was not built\n");
        return 77;
    }
    remote_driver_register();
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/remote-driver-ops/connection", test_connection);
    ADD("/remote-driver-ops/domain", test_domain);
    ADD("/remote-driver-ops/running", test_running);
    g_test_add_func("/remote-driver-ops/toy-server", test_toy_server);
    return g_test_run();
}
