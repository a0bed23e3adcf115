/*
 * test-dispatch.c: ferryd's dispatch table without sockets.
 *
 * Each case calls table entries with args structs, as the server would
 * after decoding, against the local QEMU driver on a temporary root (real
 * QEMU and the test guest for the start/stop cases), and checks the ret
 * structs and the errors (code and libvirt-style message) that would go
 * on the wire.  No QEMU may be left behind (checked after every case).
 */
#include <config.h>

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "daemon/dispatch.h"
#include "driver/qemu_driver_ops.h"
#include "rpc/message.h"
#include "rpc/remote_procs.h"
#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"
#include "tests/testproc.h"

#define UUID_STR "6a1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0c"

typedef struct {
    char *root;
    char *kernel;
    QemuDriver *drv;
    DaemonClient *client;
    /* the fake transport */
    guint keepalive_starts;
    int keepalive_interval;
    guint keepalive_count;
    guint events_sent;
    int event_proc;
    int event_callback_id;
    char *event_domain;
    int event_type;
    guint streams_opened;
    guint streams_aborted;
} Fixture;

static void remove_tree(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *entry;

    while (dir && (entry = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, entry, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
            remove_tree(child);
        else
            g_unlink(child);
    }
    g_rmdir(path);
}

static gboolean fake_start_keepalive(gpointer transport, int interval, guint count, GError **error)
{
    Fixture *fx = transport;

    fx->keepalive_starts++;
    fx->keepalive_interval = interval;
    fx->keepalive_count = count;
    return TRUE;
}

static gboolean fake_send_event(gpointer transport, int proc, xdrproc_t xdrproc, const void *msg,
                                GError **error)
{
    Fixture *fx = transport;
    const remote_domain_event_callback_lifecycle_msg *m = msg;

    g_assert_cmpint(proc, ==, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE);
    fx->events_sent++;
    fx->event_proc = proc;
    fx->event_callback_id = m->callbackID;
    g_free(fx->event_domain);
    fx->event_domain = g_strdup(m->msg.dom.name);
    fx->event_type = m->msg.event;
    return TRUE;
}

/* A stream that counts its aborts (the transport's open_stream). */
static void fake_stream_abort(gpointer impl, const GError *reason)
{
    Fixture *fx = impl;

    fx->streams_aborted++;
}

static void fake_stream_free(gpointer impl)
{
}

static const DriverStreamOps fake_stream_ops = {
    .abort = fake_stream_abort,
    .free = fake_stream_free,
};

static DriverStream *fake_open_stream(gpointer transport, GError **error)
{
    Fixture *fx = transport;
    DriverStream *st = driver_stream_new();

    g_assert_true(driver_stream_open(st, &fake_stream_ops, fx, NULL));
    fx->streams_opened++;
    return st;
}

static const DaemonClientTransport fake_transport = {
    .start_keepalive = fake_start_keepalive,
    .send_event = fake_send_event,
    .open_stream = fake_open_stream,
};

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");
    g_autoptr(GError) err = NULL;
    QemuDriverConfig cfg = QEMU_DRIVER_CONFIG_INIT;
    unsigned char host_uuid[FERRY_UUID_BUFLEN];

    fx->kernel =
        g_build_filename(top ? top : FERRY_TOP_BUILDDIR, "tests", "guest", "ferry-guest", NULL);
    fx->root = g_dir_make_tmp("ferry-dispatch-XXXXXX", NULL);
    g_assert_nonnull(fx->root);
    g_assert_cmpint(ferry_uuid_parse("aaaaaaaa-0000-4000-8000-00000000000b", host_uuid, NULL), ==,
                    0);
    cfg.root = fx->root;
    cfg.accel = QEMU_DRIVER_ACCEL_TCG;
    cfg.host_uuid = host_uuid;
    cfg.hostname = "hostA";
    fx->drv = qemu_driver_open(&cfg, &err);
    g_assert_no_error(err);
    fx->client = daemon_client_new(fx->drv, 1);
    daemon_client_set_transport(fx->client, &fake_transport, fx);
    daemon_client_set_keepalive(fx->client, 5, 6);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    daemon_client_free(fx->client);
    qemu_driver_close(fx->drv);
    /* No process may name the root (QEMU's HOME is under it). */
    guint left = test_kill_processes_naming(fx->root);
    remove_tree(fx->root);
    g_free(fx->root);
    g_free(fx->kernel);
    g_free(fx->event_domain);
    g_assert_cmpuint(left, ==, 0);
}

static gboolean have_guest(Fixture *fx)
{
    if (!g_file_test(fx->kernel, G_FILE_TEST_EXISTS)) {
        g_test_skip("the test guest was not built");
        return FALSE;
    }
    return TRUE;
}

static char *guest_xml(Fixture *fx, const char *name)
{
    g_autofree char *serial = g_strdup_printf("%s/%s-serial.log", fx->root, name);

    return g_strdup_printf("<domain type='qemu'>\n"
                           "  <name>%s</name>\n"
                           "  <uuid>" UUID_STR "</uuid>\n"
                           "  <memory unit='MiB'>64</memory>\n"
                           "  <vcpu>1</vcpu>\n"
                           "  <os>\n"
                           "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                           "    <kernel>%s</kernel>\n"
                           "    <cmdline>mem=16 rate=100 seed=1</cmdline>\n"
                           "  </os>\n"
                           "  <devices>\n"
                           "    <serial type='file'><source path='%s'/></serial>\n"
                           "    <memballoon model='none'/>\n"
                           "  </devices>\n"
                           "</domain>\n",
                           name, fx->kernel, serial);
}

/* ---------------------------------------------------------------- calling */

/* Frees what a ret struct of proc holds (as the server does) and zeroes
 * it for the next call. */
static void ret_free(int proc, void *ret)
{
    const RpcProcedure *p = rpc_program_find_proc(&rpc_remote_program, proc);

    /* An unknown procedure has nothing to free. */
    if (p && p->ret_size) {
        xdr_free(p->ret, ret);
        memset(ret, 0, p->ret_size);
    }
}

/* Calls proc and expects success. */
static void call_ok(Fixture *fx, int proc, const void *args, void *ret)
{
    g_autoptr(GError) err = NULL;
    gboolean ok = dispatch_call(fx->client, proc, args, ret, &err);

    g_assert_no_error(err);
    g_assert_true(ok);
}

/* Calls proc (ret is freed) and expects an error with that code whose
 * message contains text. */
static void call_fail(Fixture *fx, int proc, const void *args, size_t ret_size, FerryErrorCode code,
                      const char *text)
{
    g_autoptr(GError) err = NULL;
    g_autofree void *ret = g_malloc0(MAX(ret_size, 1));
    gboolean ok = dispatch_call(fx->client, proc, args, ret, &err);

    ret_free(proc, ret);
    g_assert_false(ok);
    g_assert_nonnull(err);
    if (ferry_error_code_of(err) != code || (text && !strstr(err->message, text)))
        g_error("procedure %d: expected %s '%s', got %s '%s'", proc, ferry_error_code_name(code),
                text ? text : "", ferry_error_code_name(ferry_error_code_of(err)), err->message);
}

static void open_conn(Fixture *fx, const char *name, unsigned int flags)
{
    char *uri = (char *)name;
    remote_connect_open_args args = { .name = name ? &uri : NULL, .flags = flags };

    call_ok(fx, REMOTE_PROC_CONNECT_OPEN, &args, NULL);
}

static int feature(Fixture *fx, int number)
{
    remote_connect_supports_feature_args args = { .feature = number };
    remote_connect_supports_feature_ret ret = { 0 };

    call_ok(fx, REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, &args, &ret);
    return ret.supported;
}

/* Defines the guest through DOMAIN_DEFINE_XML into *dom (cleared by the
 * caller with rpc_nonnull_domain_clear). */
static void define(Fixture *fx, const char *name, remote_nonnull_domain *dom)
{
    g_autofree char *xml = guest_xml(fx, name);
    remote_domain_define_xml_args args = { .xml = xml };
    remote_domain_define_xml_ret ret = { 0 };

    call_ok(fx, REMOTE_PROC_DOMAIN_DEFINE_XML, &args, &ret);
    *dom = ret.dom;
}

static int get_state(Fixture *fx, const remote_nonnull_domain *dom, int *reason)
{
    remote_domain_get_state_args args = { .dom = *dom };
    remote_domain_get_state_ret ret = { 0 };

    call_ok(fx, REMOTE_PROC_DOMAIN_GET_STATE, &args, &ret);
    if (reason)
        *reason = ret.reason;
    return ret.state;
}

/* ---------------------------------------------------------------- the table */

static void test_table(Fixture *fx, gconstpointer data)
{
    size_t n = 0;
    const DispatchEntry *rows = dispatch_table(&n);
    /* In remote_procs.c but not served yet: the capabilities XML.
     * NO_SUPPORT for it is what a client expects from a driver without it. */
    static const int unserved[] = {
        REMOTE_PROC_CONNECT_GET_CAPABILITIES,
    };

    g_assert_cmpuint(n, >, 40);
    for (size_t i = 0; i < n; i++) {
        const RpcProcedure *p = rpc_program_find_proc(&rpc_remote_program, rows[i].proc);

        if (i > 0)
            g_assert_cmpint(rows[i - 1].proc, <, rows[i].proc);
        g_assert_nonnull(p);
        g_assert_cmpstr(p->name, ==, rows[i].name);
        g_assert_false(p->flags & RPC_PROC_EVENT);
        /* The table and remote_procs.c agree on what runs before open. */
        g_assert_cmpint(!!(p->flags & RPC_PROC_BEFORE_OPEN), ==,
                        !!(rows[i].flags & DISPATCH_BEFORE_OPEN) &&
                            rows[i].proc != REMOTE_PROC_CONNECT_CLOSE);
        g_assert_true(dispatch_find(rows[i].proc) == &rows[i]);
    }
    /* Every call of remote_procs.c is served or deliberately not. */
    for (size_t i = 0; i < rpc_remote_program.nprocs; i++) {
        const RpcProcedure *p = &rpc_remote_program.procs[i];
        gboolean listed = FALSE;

        if (p->flags & RPC_PROC_EVENT)
            continue;
        for (size_t j = 0; j < G_N_ELEMENTS(unserved); j++)
            listed |= unserved[j] == p->number;
        if (!dispatch_find(p->number) && !listed)
            g_error("procedure %d (%s) has no handler", p->number, p->name);
    }
    g_assert_null(dispatch_find(0));
    g_assert_null(dispatch_find(100000));
}

/* ---------------------------------------------------------------- handshake */

static void test_handshake(Fixture *fx, gconstpointer data)
{
    remote_auth_list_ret auth = { 0 };
    remote_connect_get_uri_ret uri = { 0 };

    /* virsh's order (wire-captures/rpc-sequence-virsh-list.txt). */
    call_ok(fx, REMOTE_PROC_AUTH_LIST, NULL, &auth);
    g_assert_cmpuint(auth.types.types_len, ==, 1);
    g_assert_cmpint(auth.types.types_val[0], ==, REMOTE_AUTH_NONE);
    ret_free(REMOTE_PROC_AUTH_LIST, &auth);

    g_assert_cmpint(feature(fx, DRIVER_FEATURE_PROGRAM_KEEPALIVE), ==, 1);
    g_assert_cmpuint(fx->keepalive_starts, ==, 1);
    g_assert_cmpint(fx->keepalive_interval, ==, 5);
    g_assert_cmpuint(fx->keepalive_count, ==, 6);
    /* Asked again: answered, not started twice. */
    g_assert_cmpint(feature(fx, DRIVER_FEATURE_PROGRAM_KEEPALIVE), ==, 1);
    g_assert_cmpuint(fx->keepalive_starts, ==, 1);
    /* Migration features are the driver's, also before open. */
    g_assert_cmpint(feature(fx, DRIVER_FEATURE_MIGRATION_PARAMS), ==, 0);

    call_fail(fx, REMOTE_PROC_CONNECT_GET_URI, NULL, sizeof(uri), FERRY_ERR_OPERATION_INVALID,
              "Requested operation is not valid: connection not open");
    call_fail(fx, REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS,
              &(remote_connect_list_all_domains_args){ 1, 3 },
              sizeof(remote_connect_list_all_domains_ret), FERRY_ERR_OPERATION_INVALID,
              "connection not open");

    open_conn(fx, "qemu:///system", 0);
    g_assert_true(daemon_client_is_open(fx->client));
    g_assert_false(daemon_client_is_readonly(fx->client));
    g_assert_cmpint(feature(fx, DRIVER_FEATURE_REMOTE_EVENT_CALLBACK), ==, 1);
    g_assert_cmpint(feature(fx, DRIVER_FEATURE_REMOTE_CLOSE_CALLBACK), ==, 1);
    g_assert_cmpint(feature(fx, DRIVER_FEATURE_TYPED_PARAM_STRING), ==, 1);
    g_assert_cmpint(feature(fx, DRIVER_FEATURE_XML_MIGRATABLE), ==, 1);
    g_assert_cmpint(feature(fx, DRIVER_FEATURE_FD_PASSING), ==, 0);
    g_assert_cmpint(feature(fx, 9999), ==, 0);
    call_ok(fx, REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK, NULL, NULL);
    g_assert_true(daemon_client_has_close_callback(fx->client));

    /* A second open is refused; the first stays. */
    {
        char *name = "qemu:///system";
        remote_connect_open_args args = { .name = &name };

        call_fail(fx, REMOTE_PROC_CONNECT_OPEN, &args, 0, FERRY_ERR_OPERATION_INVALID,
                  "already open");
    }

    call_ok(fx, REMOTE_PROC_CONNECT_GET_URI, NULL, &uri);
    g_assert_cmpstr(uri.uri, ==, "qemu:///system");
    ret_free(REMOTE_PROC_CONNECT_GET_URI, &uri);

    remote_connect_get_hostname_ret host = { 0 };
    call_ok(fx, REMOTE_PROC_CONNECT_GET_HOSTNAME, NULL, &host);
    g_assert_cmpstr(host.hostname, ==, "hostA");
    ret_free(REMOTE_PROC_CONNECT_GET_HOSTNAME, &host);

    /* `virsh nodeinfo`: this host, as util/hostinfo.c reads it. */
    remote_node_get_info_ret node = { 0 };
    call_ok(fx, REMOTE_PROC_NODE_GET_INFO, NULL, &node);
    g_assert_cmpint(node.cpus, ==, (int)sysconf(_SC_NPROCESSORS_ONLN));
    g_assert_cmpint(node.nodes * node.sockets * node.cores * node.threads, ==, node.cpus);
    g_assert_cmpuint(node.memory, >, 0);
    g_assert_cmpuint(strnlen(node.model, sizeof(node.model)), <, sizeof(node.model));
    g_assert_cmpuint(strlen(node.model), >, 0);

    /* The fixture's client has no transport that says it is secure. */
    remote_connect_is_secure_ret secure = { .secure = 7 };
    call_ok(fx, REMOTE_PROC_CONNECT_IS_SECURE, NULL, &secure);
    g_assert_cmpint(secure.secure, ==, 0);
    daemon_client_set_secure(fx->client, TRUE);
    call_ok(fx, REMOTE_PROC_CONNECT_IS_SECURE, NULL, &secure);
    g_assert_cmpint(secure.secure, ==, 1);

    remote_connect_get_type_ret type = { 0 };
    call_ok(fx, REMOTE_PROC_CONNECT_GET_TYPE, NULL, &type);
    g_assert_cmpstr(type.type, ==, "QEMU");
    ret_free(REMOTE_PROC_CONNECT_GET_TYPE, &type);

    remote_connect_get_lib_version_ret lib = { 0 };
    call_ok(fx, REMOTE_PROC_CONNECT_GET_LIB_VERSION, NULL, &lib);
    g_assert_cmpuint(lib.lib_ver, >, 0);

    remote_connect_get_version_ret hv = { 0 };
    call_ok(fx, REMOTE_PROC_CONNECT_GET_VERSION, NULL, &hv);
    /* Debian 12's QEMU is 7.2.x. */
    g_assert_cmpuint(hv.hv_ver / 1000, ==, 7002);

    remote_node_get_security_model_ret model = { 0 };
    call_ok(fx, REMOTE_PROC_NODE_GET_SECURITY_MODEL, NULL, &model);
    g_assert_cmpuint(model.model.model_len, ==, 0);
    g_assert_cmpuint(model.doi.doi_len, ==, 0);
    ret_free(REMOTE_PROC_NODE_GET_SECURITY_MODEL, &model);

    /* What virsh sends on exit. */
    call_ok(fx, REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK, NULL, NULL);
    g_assert_false(daemon_client_has_close_callback(fx->client));
    call_ok(fx, REMOTE_PROC_CONNECT_CLOSE, NULL, NULL);
    g_assert_false(daemon_client_is_open(fx->client));
    call_fail(fx, REMOTE_PROC_CONNECT_GET_URI, NULL, sizeof(uri), FERRY_ERR_OPERATION_INVALID,
              "connection not open");
}

static void test_open_names(Fixture *fx, gconstpointer data)
{
    const char *refused[] = {
        "qemu:///session", "qemu+tcp://elsewhere/system",
        "xen:///system",   "qemu:///embed?root=/tmp",
        "not a uri",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
        char *name = (char *)refused[i];
        remote_connect_open_args args = { .name = &name };

        call_fail(fx, REMOTE_PROC_CONNECT_OPEN, &args, 0, FERRY_ERR_NO_CONNECT,
                  "ferryd serves only qemu:///system");
        g_assert_false(daemon_client_is_open(fx->client));
    }
    {
        char *name = "qemu:///system";
        remote_connect_open_args args = { .name = &name, .flags = 1 << 5 };

        call_fail(fx, REMOTE_PROC_CONNECT_OPEN, &args, 0, FERRY_ERR_INVALID_ARG,
                  "unsupported flags 0x20");
    }
    /* No name: the default, which is qemu:///system. */
    open_conn(fx, NULL, 0);
    g_assert_true(daemon_client_is_open(fx->client));
}

static void test_unsupported(Fixture *fx, gconstpointer data)
{
    /* Not in remote_procs.c (DOMAIN_SNAPSHOT_NUM, which `virsh undefine`
     * asks) and a number nobody knows. */
    call_fail(fx, 152, NULL, 0, FERRY_ERR_NO_SUPPORT,
              "this function is not supported by the connection driver: procedure 152");
    call_fail(fx, 100000, NULL, 0, FERRY_ERR_NO_SUPPORT, "procedure 100000 is not supported");
    /* Known, not served. */
    open_conn(fx, "qemu:///system", 0);
    call_fail(fx, REMOTE_PROC_CONNECT_GET_CAPABILITIES, NULL,
              sizeof(remote_connect_get_capabilities_ret), FERRY_ERR_NO_SUPPORT,
              "(CONNECT_GET_CAPABILITIES)");
    /* The local driver has lifecycle (0), migration iteration (20) and job
     * completed (21) events; reboot (1) is refused, naming those. */
    remote_connect_domain_event_callback_register_any_args ev = { .eventID = 1 };
    remote_connect_domain_event_callback_register_any_ret evret = { .callbackID = -1 };
    call_fail(fx, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, &ev,
              sizeof(remote_connect_domain_event_callback_register_any_ret), FERRY_ERR_NO_SUPPORT,
              "domain event id 1 is not supported; ferry has lifecycle (0), "
              "migration-iteration (20), job-completed (21)");
    static const int have[] = { 0, 20, 21 };

    for (gsize i = 0; i < G_N_ELEMENTS(have); i++) {
        ev.eventID = have[i];
        call_ok(fx, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, &ev, &evret);
        g_assert_cmpint(evret.callbackID, >=, 0);
        remote_connect_domain_event_callback_deregister_any_args evd = { .callbackID =
                                                                             evret.callbackID };
        call_ok(fx, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, &evd, NULL);
    }
}

/* ---------------------------------------------------------------- domains */

static void test_inactive_domain(Fixture *fx, gconstpointer data)
{
    remote_nonnull_domain dom = { 0 };

    if (!have_guest(fx))
        return;
    open_conn(fx, "qemu:///system", 0);
    define(fx, "disp1", &dom);
    g_assert_cmpstr(dom.name, ==, "disp1");
    g_assert_cmpint(dom.id, ==, -1);

    /* Lookups, and the misses virsh turns into "failed to get domain". */
    {
        remote_domain_lookup_by_name_args args = { .name = "disp1" };
        remote_domain_lookup_by_name_ret ret = { 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, &args, &ret);
        g_assert_cmpmem(ret.dom.uuid, 16, dom.uuid, 16);
        g_assert_cmpint(ret.dom.id, ==, -1);
        ret_free(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, &ret);

        args.name = "nope";
        call_fail(fx, REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, &args,
                  sizeof(remote_domain_lookup_by_name_ret), FERRY_ERR_NO_DOMAIN,
                  "Domain not found: no domain with matching name 'nope'");
    }
    {
        remote_domain_lookup_by_uuid_args args;
        remote_domain_lookup_by_uuid_ret ret = { 0 };

        memcpy(args.uuid, dom.uuid, 16);
        call_ok(fx, REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID, &args, &ret);
        g_assert_cmpstr(ret.dom.name, ==, "disp1");
        ret_free(REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID, &ret);
        memset(args.uuid, 0x42, 16);
        call_fail(fx, REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID, &args,
                  sizeof(remote_domain_lookup_by_uuid_ret), FERRY_ERR_NO_DOMAIN,
                  "Domain not found");
    }
    {
        remote_domain_lookup_by_id_args args = { .id = 7 };

        call_fail(fx, REMOTE_PROC_DOMAIN_LOOKUP_BY_ID, &args,
                  sizeof(remote_domain_lookup_by_id_ret), FERRY_ERR_NO_DOMAIN,
                  "Domain not found: no domain with matching id 7");
    }

    /* Lists: `virsh list --all` and the old procedures. */
    {
        remote_connect_list_all_domains_args args = { .need_results = 1, .flags = 3 };
        remote_connect_list_all_domains_ret ret = { 0 };

        call_ok(fx, REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &args, &ret);
        g_assert_cmpuint(ret.ret, ==, 1);
        g_assert_cmpuint(ret.domains.domains_len, ==, 1);
        g_assert_cmpstr(ret.domains.domains_val[0].name, ==, "disp1");
        g_assert_cmpint(ret.domains.domains_val[0].id, ==, -1);
        ret_free(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &ret);

        /* Count only. */
        args.need_results = 0;
        call_ok(fx, REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &args, &ret);
        g_assert_cmpuint(ret.ret, ==, 1);
        g_assert_cmpuint(ret.domains.domains_len, ==, 0);
        ret_free(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &ret);

        /* `virsh list` (running only), --autostart, --no-autostart. */
        args.need_results = 1;
        const struct {
            unsigned int flags;
            guint count;
        } cases[] = { { 1, 0 }, { 3 | (1 << 10), 0 }, { 3 | (1 << 11), 1 }, { 1 << 6, 1 } };
        for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
            args.flags = cases[i].flags;
            call_ok(fx, REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &args, &ret);
            g_assert_cmpuint(ret.ret, ==, cases[i].count);
            ret_free(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &ret);
        }
    }
    {
        remote_connect_num_of_domains_ret num = { 0 };
        remote_connect_num_of_defined_domains_ret ndef = { 0 };
        remote_connect_list_defined_domains_args largs = { .maxnames = 10 };
        remote_connect_list_defined_domains_ret lret = { 0 };
        remote_connect_list_domains_args iargs = { .maxids = 10 };
        remote_connect_list_domains_ret iret = { 0 };

        call_ok(fx, REMOTE_PROC_CONNECT_NUM_OF_DOMAINS, NULL, &num);
        g_assert_cmpint(num.num, ==, 0);
        call_ok(fx, REMOTE_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS, NULL, &ndef);
        g_assert_cmpint(ndef.num, ==, 1);
        call_ok(fx, REMOTE_PROC_CONNECT_LIST_DEFINED_DOMAINS, &largs, &lret);
        g_assert_cmpuint(lret.names.names_len, ==, 1);
        g_assert_cmpstr(lret.names.names_val[0], ==, "disp1");
        ret_free(REMOTE_PROC_CONNECT_LIST_DEFINED_DOMAINS, &lret);
        call_ok(fx, REMOTE_PROC_CONNECT_LIST_DOMAINS, &iargs, &iret);
        g_assert_cmpuint(iret.ids.ids_len, ==, 0);
        ret_free(REMOTE_PROC_CONNECT_LIST_DOMAINS, &iret);
        iargs.maxids = -1;
        call_fail(fx, REMOTE_PROC_CONNECT_LIST_DOMAINS, &iargs,
                  sizeof(remote_connect_list_domains_ret), FERRY_ERR_INVALID_ARG, "maxids -1");
    }

    /* What `virsh dominfo` and `domstate` ask. */
    int reason = -1;
    g_assert_cmpint(get_state(fx, &dom, &reason), ==, DRIVER_STATE_SHUTOFF);
    {
        remote_domain_get_info_args args = { .dom = dom };
        remote_domain_get_info_ret ret = { 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_GET_INFO, &args, &ret);
        g_assert_cmpuint(ret.state, ==, DRIVER_STATE_SHUTOFF);
        g_assert_cmpuint(ret.maxMem, ==, 64 * 1024);
        g_assert_cmpuint(ret.nrVirtCpu, ==, 1);
        g_assert_cmpuint(ret.cpuTime, ==, 0);
    }
    {
        remote_domain_get_max_memory_args args = { .dom = dom };
        remote_domain_get_max_memory_ret ret = { 0 };

        /* <memory unit='MiB'>64</memory>, in KiB. */
        call_ok(fx, REMOTE_PROC_DOMAIN_GET_MAX_MEMORY, &args, &ret);
        g_assert_cmpuint(ret.memory, ==, 64 * 1024);
        memset(args.dom.uuid, 0x42, sizeof(args.dom.uuid));
        call_fail(fx, REMOTE_PROC_DOMAIN_GET_MAX_MEMORY, &args,
                  sizeof(remote_domain_get_max_memory_ret), FERRY_ERR_NO_DOMAIN,
                  "Domain not found");
    }
    {
        remote_domain_get_os_type_args args = { .dom = dom };
        remote_domain_get_os_type_ret ret = { 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_GET_OS_TYPE, &args, &ret);
        g_assert_cmpstr(ret.type, ==, "hvm");
        ret_free(REMOTE_PROC_DOMAIN_GET_OS_TYPE, &ret);
    }
    {
        remote_domain_get_xml_desc_args args = { .dom = dom, .flags = 0 };
        remote_domain_get_xml_desc_ret ret = { 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_GET_XML_DESC, &args, &ret);
        g_assert_nonnull(strstr(ret.xml, "<name>disp1</name>"));
        g_assert_nonnull(strstr(ret.xml, UUID_STR));
        ret_free(REMOTE_PROC_DOMAIN_GET_XML_DESC, &ret);
        args.flags = 1 << 10;
        call_fail(fx, REMOTE_PROC_DOMAIN_GET_XML_DESC, &args,
                  sizeof(remote_domain_get_xml_desc_ret), FERRY_ERR_INVALID_ARG,
                  "invalid argument: dumpxml: unsupported flags 0x400");
    }
    {
        remote_domain_is_active_args a1 = { .dom = dom };
        remote_domain_is_active_ret r1 = { .active = 7 };
        remote_domain_is_persistent_args a2 = { .dom = dom };
        remote_domain_is_persistent_ret r2 = { 0 };
        remote_domain_get_autostart_args a3 = { .dom = dom };
        remote_domain_get_autostart_ret r3 = { .autostart = 7 };
        remote_domain_has_managed_save_image_args a4 = { .dom = dom };
        remote_domain_has_managed_save_image_ret r4 = { .result = 7 };
        remote_domain_get_security_label_args a5 = { .dom = dom };
        remote_domain_get_security_label_ret r5 = { .enforcing = 7 };
        remote_domain_get_messages_args a6 = { .dom = dom };
        remote_domain_get_messages_ret r6 = { 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_IS_ACTIVE, &a1, &r1);
        g_assert_cmpint(r1.active, ==, 0);
        call_ok(fx, REMOTE_PROC_DOMAIN_IS_PERSISTENT, &a2, &r2);
        g_assert_cmpint(r2.persistent, ==, 1);
        call_ok(fx, REMOTE_PROC_DOMAIN_GET_AUTOSTART, &a3, &r3);
        g_assert_cmpint(r3.autostart, ==, 0);
        call_ok(fx, REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, &a4, &r4);
        g_assert_cmpint(r4.result, ==, 0);
        call_ok(fx, REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL, &a5, &r5);
        g_assert_cmpuint(r5.label.label_len, ==, 0);
        g_assert_cmpint(r5.enforcing, ==, 0);
        call_ok(fx, REMOTE_PROC_DOMAIN_GET_MESSAGES, &a6, &r6);
        g_assert_cmpuint(r6.msgs.msgs_len, ==, 0);
    }
    {
        remote_domain_get_job_stats_args args = { .dom = dom };
        remote_domain_get_job_stats_ret ret = { .type = 7 };
        remote_domain_get_job_info_args iargs = { .dom = dom };
        remote_domain_get_job_info_ret iret = { .type = 7 };

        call_ok(fx, REMOTE_PROC_DOMAIN_GET_JOB_STATS, &args, &ret);
        g_assert_cmpint(ret.type, ==, DRIVER_JOB_NONE);
        g_assert_cmpuint(ret.params.params_len, ==, 0);
        ret_free(REMOTE_PROC_DOMAIN_GET_JOB_STATS, &ret);
        call_ok(fx, REMOTE_PROC_DOMAIN_GET_JOB_INFO, &iargs, &iret);
        g_assert_cmpint(iret.type, ==, DRIVER_JOB_NONE);
        g_assert_cmpuint(iret.timeElapsed, ==, 0);
    }
    /* Not running: destroy and suspend say so, as libvirt does. */
    {
        remote_domain_destroy_args args = { .dom = dom };
        remote_domain_suspend_args sargs = { .dom = dom };

        call_fail(fx, REMOTE_PROC_DOMAIN_DESTROY, &args, 0, FERRY_ERR_OPERATION_INVALID,
                  "Requested operation is not valid: ");
        call_fail(fx, REMOTE_PROC_DOMAIN_SUSPEND, &sargs, 0, FERRY_ERR_OPERATION_INVALID,
                  "not running");
    }
    /* A malformed domain on the wire. */
    {
        remote_domain_get_state_args args = { .dom = { .name = "", .id = -1 } };

        call_fail(fx, REMOTE_PROC_DOMAIN_GET_STATE, &args, sizeof(remote_domain_get_state_ret),
                  FERRY_ERR_INVALID_ARG, "without a name");
    }

    /* Undefine: gone, and later calls say NO_DOMAIN. */
    {
        remote_domain_undefine_flags_args args = { .dom = dom, .flags = 0 };
        remote_domain_get_state_args sargs = { .dom = dom };

        call_ok(fx, REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS, &args, NULL);
        call_fail(fx, REMOTE_PROC_DOMAIN_GET_STATE, &sargs, sizeof(remote_domain_get_state_ret),
                  FERRY_ERR_NO_DOMAIN, "Domain not found: no domain with matching uuid '" UUID_STR);
    }
    rpc_nonnull_domain_clear(&dom);
}

static void test_readonly(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = NULL;

    if (!have_guest(fx))
        return;
    xml = guest_xml(fx, "ro1");
    open_conn(fx, "qemu:///system", 1);
    g_assert_true(daemon_client_is_readonly(fx->client));

    remote_domain_define_xml_args args = { .xml = xml };
    call_fail(fx, REMOTE_PROC_DOMAIN_DEFINE_XML, &args, sizeof(remote_domain_define_xml_ret),
              FERRY_ERR_OPERATION_DENIED,
              "operation forbidden: read only access prevents DOMAIN_DEFINE_XML");
    /* Reading is fine. */
    remote_connect_list_all_domains_args largs = { .need_results = 1, .flags = 3 };
    remote_connect_list_all_domains_ret lret = { 0 };
    call_ok(fx, REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &largs, &lret);
    g_assert_cmpuint(lret.ret, ==, 0);
    ret_free(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, &lret);
}

/* ---------------------------------------------------------------- with QEMU */

static void test_lifecycle(Fixture *fx, gconstpointer data)
{
    remote_nonnull_domain dom = { 0 };
    int reason = -1;

    if (!have_guest(fx))
        return;
    open_conn(fx, "qemu:///system", 0);
    define(fx, "disp2", &dom);

    /* virsh start: CREATE_WITH_FLAGS returns the domain with its id. */
    {
        remote_domain_create_with_flags_args args = { .dom = dom, .flags = 0 };
        remote_domain_create_with_flags_ret ret = { 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, &args, &ret);
        g_assert_cmpint(ret.dom.id, >, 0);
        dom.id = ret.dom.id;
        ret_free(REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, &ret);
        /* Again: already running. */
        call_fail(fx, REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, &args,
                  sizeof(remote_domain_create_with_flags_ret), FERRY_ERR_OPERATION_INVALID,
                  "already running");
    }
    g_assert_cmpint(get_state(fx, &dom, &reason), ==, DRIVER_STATE_RUNNING);
    g_assert_cmpint(reason, ==, 1); /* booted */
    {
        remote_domain_lookup_by_id_args args = { .id = dom.id };
        remote_domain_lookup_by_id_ret ret = { 0 };
        remote_connect_list_domains_args largs = { .maxids = 5 };
        remote_connect_list_domains_ret lret = { 0 };
        remote_domain_is_active_args aargs = { .dom = dom };
        remote_domain_is_active_ret aret = { 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_LOOKUP_BY_ID, &args, &ret);
        g_assert_cmpstr(ret.dom.name, ==, "disp2");
        ret_free(REMOTE_PROC_DOMAIN_LOOKUP_BY_ID, &ret);
        call_ok(fx, REMOTE_PROC_CONNECT_LIST_DOMAINS, &largs, &lret);
        g_assert_cmpuint(lret.ids.ids_len, ==, 1);
        g_assert_cmpint(lret.ids.ids_val[0], ==, dom.id);
        ret_free(REMOTE_PROC_CONNECT_LIST_DOMAINS, &lret);
        call_ok(fx, REMOTE_PROC_DOMAIN_IS_ACTIVE, &aargs, &aret);
        g_assert_cmpint(aret.active, ==, 1);
    }
    {
        remote_domain_get_info_args args = { .dom = dom };
        remote_domain_get_info_ret ret = { 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_GET_INFO, &args, &ret);
        g_assert_cmpuint(ret.state, ==, DRIVER_STATE_RUNNING);
    }

    /* suspend / resume */
    {
        remote_domain_suspend_args sargs = { .dom = dom };
        remote_domain_resume_args rargs = { .dom = dom };

        call_ok(fx, REMOTE_PROC_DOMAIN_SUSPEND, &sargs, NULL);
        g_assert_cmpint(get_state(fx, &dom, NULL), ==, DRIVER_STATE_PAUSED);
        call_ok(fx, REMOTE_PROC_DOMAIN_RESUME, &rargs, NULL);
        g_assert_cmpint(get_state(fx, &dom, NULL), ==, DRIVER_STATE_RUNNING);
    }

    /* destroy; then the old CREATE and DESTROY_FLAGS */
    {
        remote_domain_destroy_args args = { .dom = dom };
        remote_domain_create_args cargs = { .dom = dom };
        remote_domain_destroy_flags_args fargs = { .dom = dom, .flags = 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_DESTROY, &args, NULL);
        g_assert_cmpint(get_state(fx, &dom, &reason), ==, DRIVER_STATE_SHUTOFF);
        g_assert_cmpint(reason, ==, 2); /* destroyed */
        call_ok(fx, REMOTE_PROC_DOMAIN_CREATE, &cargs, NULL);
        g_assert_cmpint(get_state(fx, &dom, NULL), ==, DRIVER_STATE_RUNNING);
        call_ok(fx, REMOTE_PROC_DOMAIN_DESTROY_FLAGS, &fargs, NULL);
        g_assert_cmpint(get_state(fx, &dom, NULL), ==, DRIVER_STATE_SHUTOFF);
    }

    remote_domain_undefine_args uargs = { .dom = dom };
    call_ok(fx, REMOTE_PROC_DOMAIN_UNDEFINE, &uargs, NULL);
    rpc_nonnull_domain_clear(&dom);
}

/* start --autodestroy: the domain lives as long as the client's
 * connection; CONNECT_CLOSE or the client going away ends it. */
static void test_autodestroy(Fixture *fx, gconstpointer data)
{
    remote_nonnull_domain dom = { 0 };
    gboolean via_close = GPOINTER_TO_INT(data);
    DomainState state = DOMAIN_STATE_NOSTATE;
    g_autofree char *why = NULL;
    g_autoptr(GError) err = NULL;

    if (!have_guest(fx))
        return;
    open_conn(fx, "qemu:///system", 0);
    define(fx, "disp3", &dom);
    {
        remote_domain_create_with_flags_args args = { .dom = dom, .flags = 2 };
        remote_domain_create_with_flags_ret ret = { 0 };

        call_ok(fx, REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, &args, &ret);
        g_assert_cmpint(ret.dom.id, >, 0);
        ret_free(REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, &ret);
    }
    /* Another client coming and going leaves it alone. */
    daemon_client_free(daemon_client_new(fx->drv, 2));
    g_assert_cmpint(get_state(fx, &dom, NULL), ==, DRIVER_STATE_RUNNING);

    if (via_close) {
        call_ok(fx, REMOTE_PROC_CONNECT_CLOSE, NULL, NULL);
    } else {
        daemon_client_free(fx->client);
        fx->client = daemon_client_new(fx->drv, 3);
    }
    g_assert_true(
        qemu_driver_domain_get_state(fx->drv, (const unsigned char *)dom.uuid, &state, &why, &err));
    g_assert_no_error(err);
    g_assert_cmpint(state, ==, DOMAIN_STATE_SHUTOFF);
    g_assert_true(qemu_driver_undefine(fx->drv, (const unsigned char *)dom.uuid, &err));
    rpc_nonnull_domain_clear(&dom);
}

/* ---------------------------------------------------------------- migration */

/* A driver with only the migration phases, to check the conversions. */
#define FAKE_COOKIE "<qemu-migration><name>mig1</name></qemu-migration>"

static void fake_close(DriverConn *conn)
{
    g_free(conn);
}

static gboolean fake_cookie_is(GBytes *cookie, const char *text)
{
    gsize len = 0;
    const char *data = cookie ? g_bytes_get_data(cookie, &len) : NULL;

    /* NUL-terminated, the NUL counted (wire.md 4.6). */
    return data && len == strlen(text) + 1 && memcmp(data, text, len) == 0;
}

static gboolean fake_begin3(DriverConn *conn, const DriverDomain *dom, const TypedParams *params,
                            unsigned int flags, GBytes **cookie_out, char **xml_out, GError **error)
{
    const char *name = NULL;

    g_assert_cmpstr(dom->name, ==, "mig1");
    g_assert_cmpint(typed_params_get_string(params, "destination_name", &name, NULL), ==, 1);
    g_assert_cmpstr(name, ==, "mig2");
    g_assert_cmpuint(flags, ==, 1);
    *cookie_out = g_bytes_new_static(FAKE_COOKIE, sizeof(FAKE_COOKIE));
    *xml_out = g_strdup("<domain type='qemu'/>");
    return TRUE;
}

static gboolean fake_prepare3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                              unsigned int flags, GBytes **cookie_out, char **uri_out,
                              GError **error)
{
    g_assert_true(fake_cookie_is(cookie_in, FAKE_COOKIE));
    g_assert_cmpuint(typed_params_count(params), ==, 0);
    *cookie_out = g_bytes_ref(cookie_in);
    *uri_out = g_strdup("tcp:127.0.0.1:49152");
    return TRUE;
}

static gboolean fake_perform3(DriverConn *conn, const DriverDomain *dom, const char *dconnuri,
                              const TypedParams *params, GBytes *cookie_in, unsigned int flags,
                              GBytes **cookie_out, GError **error)
{
    g_assert_null(dconnuri);
    g_assert_true(fake_cookie_is(cookie_in, FAKE_COOKIE));
    *cookie_out = NULL; /* an empty cookie is fine */
    return TRUE;
}

static gboolean fake_finish3(DriverConn *conn, const TypedParams *params, GBytes *cookie_in,
                             unsigned int flags, gboolean cancelled, DriverDomain *dom,
                             GBytes **cookie_out, GError **error)
{
    g_assert_null(cookie_in);
    if (cancelled) {
        ferry_error_set(error, FERRY_FROM_MIGRATION, FERRY_ERR_OPERATION_FAILED,
                        "migration of domain 'mig1' was cancelled");
        return FALSE;
    }
    dom->name = g_strdup("mig1");
    memset(dom->uuid, 0x11, sizeof(dom->uuid));
    dom->id = 5;
    *cookie_out = g_bytes_new_static(FAKE_COOKIE, sizeof(FAKE_COOKIE));
    return TRUE;
}

static gboolean fake_confirm3(DriverConn *conn, const DriverDomain *dom, const TypedParams *params,
                              GBytes *cookie_in, unsigned int flags, gboolean cancelled,
                              GError **error)
{
    g_assert_true(fake_cookie_is(cookie_in, FAKE_COOKIE));
    g_assert_true(cancelled);
    return TRUE;
}

static const DriverOps fake_ops = {
    .name = "fake",
    .close = fake_close,
    .migrate_begin3 = fake_begin3,
    .migrate_prepare3 = fake_prepare3,
    .migrate_perform3 = fake_perform3,
    .migrate_finish3 = fake_finish3,
    .migrate_confirm3 = fake_confirm3,
};

static void test_migration(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    remote_nonnull_domain dom = { .name = "mig1", .id = 3 };
    char *dname = "mig2";
    remote_typed_param param = { .field = "destination_name" };

    /* The QEMU driver has no migration yet: NO_SUPPORT. */
    open_conn(fx, "qemu:///system", 0);
    {
        remote_domain_migrate_begin3_params_args args = { .dom = dom };

        call_fail(fx, REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS, &args,
                  sizeof(remote_domain_migrate_begin3_params_ret), FERRY_ERR_NO_SUPPORT,
                  "does not support migrate_begin3");
    }
    call_ok(fx, REMOTE_PROC_CONNECT_CLOSE, NULL, NULL);

    DriverConn *fake = g_new0(DriverConn, 1);
    driver_conn_init(fake, &fake_ops, "fake:///");
    g_assert_true(daemon_client_open(fx->client, fake, FALSE, &err));

    param.value.type = REMOTE_TYPED_PARAM_STRING;
    param.value.remote_typed_param_value_u.s = dname;
    remote_domain_migrate_begin3_params_args bargs = { .dom = dom,
                                                       .params = { 1, &param },
                                                       .flags = 1 };
    remote_domain_migrate_begin3_params_ret bret = { 0 };
    call_ok(fx, REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS, &bargs, &bret);
    g_assert_cmpuint(bret.cookie_out.cookie_out_len, ==, sizeof(FAKE_COOKIE));
    g_assert_cmpstr(bret.xml, ==, "<domain type='qemu'/>");

    remote_domain_migrate_prepare3_params_args pargs = {
        .cookie_in = { bret.cookie_out.cookie_out_len, bret.cookie_out.cookie_out_val }
    };
    remote_domain_migrate_prepare3_params_ret pret = { 0 };
    call_ok(fx, REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS, &pargs, &pret);
    g_assert_nonnull(pret.uri_out);
    g_assert_cmpstr(*pret.uri_out, ==, "tcp:127.0.0.1:49152");
    ret_free(REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS, &pret);

    remote_domain_migrate_perform3_params_args fargs = { .dom = dom };
    fargs.cookie_in.cookie_in_len = pargs.cookie_in.cookie_in_len;
    fargs.cookie_in.cookie_in_val = pargs.cookie_in.cookie_in_val;
    remote_domain_migrate_perform3_params_ret fret = { 0 };
    call_ok(fx, REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS, &fargs, &fret);
    g_assert_cmpuint(fret.cookie_out.cookie_out_len, ==, 0);
    ret_free(REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS, &fret);

    remote_domain_migrate_finish3_params_args nargs = { .cancelled = 0 };
    remote_domain_migrate_finish3_params_ret nret = { 0 };
    call_ok(fx, REMOTE_PROC_DOMAIN_MIGRATE_FINISH3_PARAMS, &nargs, &nret);
    g_assert_cmpstr(nret.dom.name, ==, "mig1");
    g_assert_cmpint(nret.dom.id, ==, 5);
    g_assert_cmpuint(nret.cookie_out.cookie_out_len, ==, sizeof(FAKE_COOKIE));
    ret_free(REMOTE_PROC_DOMAIN_MIGRATE_FINISH3_PARAMS, &nret);
    /* Cancelled: an error, and no domain. */
    nargs.cancelled = 1;
    call_fail(fx, REMOTE_PROC_DOMAIN_MIGRATE_FINISH3_PARAMS, &nargs,
              sizeof(remote_domain_migrate_finish3_params_ret), FERRY_ERR_OPERATION_FAILED,
              "operation failed: migration of domain 'mig1' was cancelled");

    remote_domain_migrate_confirm3_params_args cargs = { .dom = dom, .cancelled = 1 };
    cargs.cookie_in.cookie_in_len = pargs.cookie_in.cookie_in_len;
    cargs.cookie_in.cookie_in_val = pargs.cookie_in.cookie_in_val;
    call_ok(fx, REMOTE_PROC_DOMAIN_MIGRATE_CONFIRM3_PARAMS, &cargs, NULL);
    ret_free(REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS, &bret);

    /* Over the parameter limit, and a bad parameter name: refused before
     * the driver sees them. */
    {
        g_autofree remote_typed_param *many = g_new0(remote_typed_param, 65);
        g_autofree char *names = g_malloc0(65 * 8);

        for (int i = 0; i < 65; i++) {
            g_snprintf(names + i * 8, 8, "p%d", i);
            many[i].field = names + i * 8;
            many[i].value.type = REMOTE_TYPED_PARAM_INT;
        }
        bargs.params.params_len = 65;
        bargs.params.params_val = many;
        call_fail(fx, REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS, &bargs,
                  sizeof(remote_domain_migrate_begin3_params_ret), FERRY_ERR_OVERFLOW, "65");
        many[0].field = "";
        bargs.params.params_len = 1;
        call_fail(fx, REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS, &bargs,
                  sizeof(remote_domain_migrate_begin3_params_ret), FERRY_ERR_RPC, NULL);
    }
}

/* ---------------------------------------------------------------- events */

/* A driver with lifecycle events only: one registration at a time. */
static DriverLifecycleCb fake_event_cb;
static gpointer fake_event_opaque;
static int fake_event_registrations;

static int fake_event_register(DriverConn *conn, const DriverDomain *dom, DriverLifecycleCb cb,
                               gpointer opaque, GDestroyNotify free_opaque, GError **error)
{
    g_assert_null(fake_event_cb);
    fake_event_cb = cb;
    fake_event_opaque = opaque;
    fake_event_registrations++;
    return 17;
}

static gboolean fake_event_deregister(DriverConn *conn, int callback_id, GError **error)
{
    g_assert_cmpint(callback_id, ==, 17);
    fake_event_cb = NULL;
    fake_event_registrations--;
    return TRUE;
}

static const DriverOps fake_event_ops = {
    .name = "fake",
    .close = fake_close,
    .event_register_lifecycle = fake_event_register,
    .event_deregister = fake_event_deregister,
};

static void test_events(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    DriverConn *fake = g_new0(DriverConn, 1);
    DriverDomain dom = { .name = "ev1", .id = 4 };
    remote_connect_domain_event_callback_register_any_args args = { .eventID = 0 };
    remote_connect_domain_event_callback_register_any_ret ret = { .callbackID = -1 };
    remote_connect_domain_event_callback_deregister_any_args dargs = { 0 };

    driver_conn_init(fake, &fake_event_ops, "fake:///");
    g_assert_true(daemon_client_open(fx->client, fake, FALSE, &err));

    /* Only lifecycle events (0): the fake driver has no event_register_any. */
    args.eventID = 21;
    call_fail(fx, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, &args, sizeof(ret),
              FERRY_ERR_NO_SUPPORT, "does not support job-completed events");
    args.eventID = 0;
    call_ok(fx, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, &args, &ret);
    g_assert_cmpint(ret.callbackID, >=, 0);
    g_assert_nonnull(fake_event_cb);

    /* The driver's event reaches the client as a message with the
     * client's callback id. */
    memset(dom.uuid, 0x22, sizeof(dom.uuid));
    fake_event_cb(fake, &dom, 2 /* STARTED */, 0, fake_event_opaque);
    g_assert_cmpuint(fx->events_sent, ==, 1);
    g_assert_cmpint(fx->event_callback_id, ==, ret.callbackID);
    g_assert_cmpstr(fx->event_domain, ==, "ev1");
    g_assert_cmpint(fx->event_type, ==, 2);

    dargs.callbackID = ret.callbackID + 100;
    call_fail(fx, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, &dargs, 0,
              FERRY_ERR_INVALID_ARG, "no event callback");
    dargs.callbackID = ret.callbackID;
    call_ok(fx, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, &dargs, NULL);
    g_assert_cmpint(fake_event_registrations, ==, 0);

    /* Registrations left behind go with the connection. */
    call_ok(fx, REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, &args, &ret);
    g_assert_cmpint(fake_event_registrations, ==, 1);
    call_ok(fx, REMOTE_PROC_CONNECT_CLOSE, NULL, NULL);
    g_assert_cmpint(fake_event_registrations, ==, 0);
}

/* PREPARE_TUNNEL3_PARAMS: a write (refused read-only); without the
 * migration phases installed the driver cannot prepare, and a stream the
 * handler opened for it is aborted, not left open. */
static void test_prepare_tunnel(Fixture *fx, gconstpointer data)
{
    remote_domain_migrate_prepare_tunnel3_params_args args = { .flags = 1 | 2 | 4 };
    const size_t ret_size = sizeof(remote_domain_migrate_prepare_tunnel3_params_ret);

    open_conn(fx, "qemu:///system", 1);
    call_fail(fx, REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS, &args, ret_size,
              FERRY_ERR_OPERATION_DENIED, "DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS");
    g_assert_cmpuint(fx->streams_opened, ==, 0);
    call_ok(fx, REMOTE_PROC_CONNECT_CLOSE, NULL, NULL);

    open_conn(fx, "qemu:///system", 0);
    call_fail(fx, REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS, &args, ret_size,
              FERRY_ERR_NO_SUPPORT, NULL);
    g_assert_cmpuint(fx->streams_aborted, ==, fx->streams_opened);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("3:stderr", NULL);
#define ADD(path, fn, data) g_test_add(path, Fixture, data, fixture_setup, fn, fixture_teardown)
    ADD("/dispatch/table", test_table, NULL);
    ADD("/dispatch/handshake", test_handshake, NULL);
    ADD("/dispatch/open-names", test_open_names, NULL);
    ADD("/dispatch/unsupported", test_unsupported, NULL);
    ADD("/dispatch/inactive-domain", test_inactive_domain, NULL);
    ADD("/dispatch/readonly", test_readonly, NULL);
    ADD("/dispatch/lifecycle", test_lifecycle, NULL);
    ADD("/dispatch/autodestroy/close", test_autodestroy, GINT_TO_POINTER(TRUE));
    ADD("/dispatch/autodestroy/client-gone", test_autodestroy, GINT_TO_POINTER(FALSE));
    ADD("/dispatch/migration", test_migration, NULL);
    ADD("/dispatch/prepare-tunnel", test_prepare_tunnel, NULL);
    ADD("/dispatch/events", test_events, NULL);
    return g_test_run();
}
