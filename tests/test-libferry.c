/*
 * test-libferry.c: libferry's public API from outside (it links only
 * libferry.so), over qemu:///embed?root=TMP with real QEMU and the test
 * guest.  Every case has its own root and ends with no QEMU left.
 */
#include <config.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "ferry/ferry.h"
#include "tests/libferry-testutils.h"

#define UUID1 "5f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
#define UUID2 "5f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a02"

typedef struct {
    char *root;
    char *uri;
} Fixture;

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    fx->root = lft_make_root("ferry-lib");
    fx->uri = g_strdup_printf("qemu:///embed?root=%s", fx->root);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    guint left = lft_kill_leftovers(fx->root);

    lft_remove_tree(fx->root);
    g_free(fx->root);
    g_free(fx->uri);
    g_assert_cmpuint(left, ==, 0);
}

/* The last error is code/domain, and its message contains part. */
static void assert_last_error(FerryErrorNumber code, FerryErrorFrom domain, const char *part)
{
    const FerryError *err = ferry_get_last_error();

    g_assert_nonnull(err);
    if (err->code != code || err->domain != domain || !strstr(err->message, part))
        g_error("last error: %s/%s \"%s\"; expected %s/%s containing \"%s\"",
                ferry_error_number_name(err->code), ferry_error_from_name(err->domain),
                err->message, ferry_error_number_name(code), ferry_error_from_name(domain), part);
}

static FerryConnect *open_ok(const char *uri)
{
    FerryConnect *conn = ferry_connect_open(uri, 0);

    if (!conn)
        g_error("cannot open '%s': %s", uri, ferry_get_last_error_message());
    g_assert_null(ferry_get_last_error());
    return conn;
}

/* ---------------------------------------------------------------- no QEMU */

static void test_version(void)
{
    unsigned long long v = 0;

    g_assert_cmpint(ferry_get_version(&v), ==, 0);
    g_assert_cmpuint(v, ==, FERRY_VERSION_NUMBER);
    g_assert_cmpint(ferry_get_version(NULL), ==, -1);
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_LIBFERRY, "lib_version is NULL");
}

/* libferry.so exports its API and nothing of util's ferry_* internals. */
static void test_exports(void)
{
    g_assert_nonnull(dlsym(RTLD_DEFAULT, "ferry_connect_open"));
    g_assert_nonnull(dlsym(RTLD_DEFAULT, "ferry_get_last_error"));
    g_assert_nonnull(dlsym(RTLD_DEFAULT, "ferry_connect_domain_event_register"));
    g_assert_nonnull(dlsym(RTLD_DEFAULT, "ferry_domain_migrate_set_max_speed"));
    g_assert_nonnull(dlsym(RTLD_DEFAULT, "ferry_domain_migrate_set_compression_cache"));
    g_assert_nonnull(dlsym(RTLD_DEFAULT, "ferry_domain_migrate_get_compression_cache"));
    g_assert_null(dlsym(RTLD_DEFAULT, "ferry_error_set"));
    g_assert_null(dlsym(RTLD_DEFAULT, "ferry_uuid_parse"));
    g_assert_null(dlsym(RTLD_DEFAULT, "ferry_log_message"));
    g_assert_null(dlsym(RTLD_DEFAULT, "ferry_last_error_set"));
    g_assert_null(dlsym(RTLD_DEFAULT, "driver_uri_parse"));
    g_assert_null(dlsym(RTLD_DEFAULT, "qemu_driver_open"));
}

static void test_refused_uris(void)
{
    g_assert_null(ferry_connect_open("xen:///system", 0));
    assert_last_error(FERRY_ERROR_PARSE, FERRY_ERROR_FROM_DRIVER,
                      "URI 'xen:///system': unknown scheme 'xen'");
    g_assert_null(ferry_connect_open("qemu:///session", 0));
    assert_last_error(FERRY_ERROR_NO_SUPPORT, FERRY_ERROR_FROM_DRIVER, "'/session'");
    g_assert_null(ferry_connect_open("qemu:///embed", 0));
    assert_last_error(FERRY_ERROR_PARSE, FERRY_ERROR_FROM_DRIVER, "needs root=DIR");
    g_assert_null(ferry_connect_open("qemu:///embed?root=/tmp", 1));
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_LIBFERRY,
                      "ferry_connect_open: unsupported flags 0x1");

    /* The remote driver: nothing listens there, so each fails to connect,
     * saying which URI (the reason is the transport's: no socket, no CA
     * certificate, a refused connection). */
    static const char *const remote[] = { "qemu+tcp://127.0.0.1:1/system",
                                          "qemu+unix:///system?socket=/nonexistent/sock" };
    for (gsize i = 0; i < G_N_ELEMENTS(remote); i++) {
        g_autofree char *msg = g_strdup_printf("cannot connect to '%s': ", remote[i]);

        g_assert_null(ferry_connect_open(remote[i], 0));
        assert_last_error(FERRY_ERROR_NO_CONNECT, FERRY_ERROR_FROM_RPC, msg);
        g_assert_true(g_str_has_prefix(ferry_get_last_error()->message, msg));
    }
    ferry_reset_last_error();
    g_assert_null(ferry_get_last_error());
    g_assert_cmpstr(ferry_get_last_error_message(), ==, "no error");
}

static void test_default_uri(Fixture *fx, gconstpointer data)
{
    /* Empty is unset; LIBVIRT_DEFAULT_URI (set in main) is not read. */
    g_setenv("FERRY_DEFAULT_URI", "", TRUE);
    g_assert_null(ferry_connect_open(NULL, 0));
    assert_last_error(FERRY_ERROR_NO_CONNECT, FERRY_ERROR_FROM_RPC,
                      "cannot connect to 'qemu:///system': ");

    g_setenv("FERRY_DEFAULT_URI", fx->uri, TRUE);
    FerryConnect *conn = open_ok(NULL);
    g_autofree char *uri = ferry_connect_get_uri(conn);
    g_assert_cmpstr(uri, ==, fx->uri);
    g_assert_cmpint(ferry_connect_close(conn), ==, 0);
    g_setenv("FERRY_DEFAULT_URI", "", TRUE);
}

static void test_null_arguments(void)
{
    g_assert_null(ferry_connect_get_uri(NULL));
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_LIBFERRY,
                      "ferry_connect_get_uri: connection is NULL");
    g_assert_cmpint(ferry_domain_create(NULL, 0), ==, -1);
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_LIBFERRY, "domain is NULL");
    g_assert_cmpint(ferry_connect_close(NULL), ==, -1);
    g_assert_cmpint(ferry_domain_free(NULL), ==, -1);
}

static void test_typed_params(void)
{
    FerryTypedParameter *p = g_new0(FerryTypedParameter, 3);
    unsigned long long ul = 0;
    const char *s = NULL;
    int i = 0;

    ferry_reset_last_error();
    g_strlcpy(p[0].field, "operation", sizeof(p[0].field));
    p[0].type = FERRY_TYPED_PARAM_INT;
    p[0].value.i = 5;
    g_strlcpy(p[1].field, "data_total", sizeof(p[1].field));
    p[1].type = FERRY_TYPED_PARAM_ULLONG;
    p[1].value.ul = 1ULL << 40;
    g_strlcpy(p[2].field, "name", sizeof(p[2].field));
    p[2].type = FERRY_TYPED_PARAM_STRING;
    p[2].value.s = g_strdup("web1");

    g_assert_cmpint(ferry_typed_params_get_int(p, 3, "operation", &i), ==, 1);
    g_assert_cmpint(i, ==, 5);
    g_assert_cmpint(ferry_typed_params_get_ullong(p, 3, "data_total", &ul), ==, 1);
    g_assert_cmpuint(ul, ==, 1ULL << 40);
    g_assert_cmpint(ferry_typed_params_get_string(p, 3, "name", &s), ==, 1);
    g_assert_cmpstr(s, ==, "web1");
    g_assert_cmpint(ferry_typed_params_get_ullong(p, 3, "absent", &ul), ==, 0);
    g_assert_null(ferry_get_last_error());
    g_assert_cmpint(ferry_typed_params_get_ullong(p, 3, "operation", &ul), ==, -1);
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_LIBFERRY,
                      "parameter 'operation' has type int, expected ullong");
    ferry_typed_params_free(p, 3);
    ferry_typed_params_free(NULL, 0);
}

/* ---------------------------------------------------------------- embed */

static void test_connection_facts(Fixture *fx, gconstpointer data)
{
    FerryConnect *conn = open_ok(fx->uri);
    unsigned long long v = 0;

    g_autofree char *uri = ferry_connect_get_uri(conn);
    g_assert_cmpstr(uri, ==, fx->uri);
    g_autofree char *host = ferry_connect_get_hostname(conn);
    g_assert_cmpstr(host, ==, g_get_host_name());
    g_assert_cmpstr(ferry_connect_get_type(conn), ==, "QEMU");
    g_assert_cmpint(ferry_connect_get_version(conn, &v), ==, 0);
    g_assert_cmpuint(v / 1000, ==, 7002); /* Debian 12's QEMU 7.2.x */
    g_assert_cmpint(ferry_connect_get_lib_version(conn, &v), ==, 0);
    g_assert_cmpuint(v, ==, FERRY_VERSION_NUMBER);
    g_assert_cmpint(ferry_connect_list_all_domains(conn, NULL, 0), ==, 0);

    FerryNodeInfo node;
    g_assert_cmpint(ferry_node_get_info(conn, &node), ==, 0);
    g_assert_cmpuint(node.cpus, ==, (guint)sysconf(_SC_NPROCESSORS_ONLN));
    g_assert_cmpuint((guint64)node.nodes * node.sockets * node.cores * node.threads, ==, node.cpus);
    g_assert_cmpuint(node.memory, >, 0);
    g_assert_cmpuint(strlen(node.model), >, 0);
    g_assert_cmpint(ferry_node_get_info(conn, NULL), ==, -1);
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_LIBFERRY, "info is NULL");
    g_assert_cmpint(ferry_node_get_info(NULL, &node), ==, -1);
    g_assert_cmpint(ferry_connect_close(conn), ==, 0);
}

static gboolean list_has(FerryConnect *conn, unsigned int flags, const char *name)
{
    FerryDomain **doms = NULL;
    gboolean found = FALSE;
    int n = ferry_connect_list_all_domains(conn, &doms, flags);

    g_assert_cmpint(n, >=, 0);
    g_assert_null(doms[n]);
    for (int i = 0; i < n; i++) {
        if (g_str_equal(ferry_domain_get_name(doms[i]), name))
            found = TRUE;
        ferry_domain_free(doms[i]);
    }
    free(doms);
    return found;
}

static void test_lifecycle(Fixture *fx, gconstpointer data)
{
    int state = -1, reason = -1, type = -1, nparams = -1;
    FerryTypedParameter *params = NULL;
    FerryDomainInfo info = { 0 };
    unsigned char raw[FERRY_UUID_BUFLEN];
    char uuid[FERRY_UUID_STRING_BUFLEN];

    if (!lft_have_guest())
        return;
    FerryConnect *conn = open_ok(fx->uri);
    g_autofree char *xml = lft_guest_xml(fx->root, "lib1", UUID1);
    FerryDomain *dom = ferry_domain_define_xml(conn, xml, 0);
    g_assert_nonnull(dom);
    g_assert_cmpstr(ferry_domain_get_name(dom), ==, "lib1");
    g_assert_cmpint(ferry_domain_get_id(dom), ==, -1);
    g_assert_cmpint(ferry_domain_get_uuid_string(dom, uuid), ==, 0);
    g_assert_cmpstr(uuid, ==, UUID1);
    g_assert_cmpint(ferry_domain_get_uuid(dom, raw), ==, 0);
    g_assert_true(ferry_domain_get_connect(dom) == conn);

    /* Three lookups. */
    FerryDomain *by_name = ferry_domain_lookup_by_name(conn, "lib1");
    FerryDomain *by_uuid = ferry_domain_lookup_by_uuid(conn, raw);
    FerryDomain *by_str = ferry_domain_lookup_by_uuid_string(conn, UUID1);
    g_assert_nonnull(by_name);
    g_assert_nonnull(by_uuid);
    g_assert_nonnull(by_str);
    g_assert_cmpstr(ferry_domain_get_name(by_uuid), ==, "lib1");
    g_assert_cmpstr(ferry_domain_get_name(by_str), ==, "lib1");
    ferry_domain_free(by_uuid);
    ferry_domain_free(by_str);

    g_assert_true(list_has(conn, FERRY_CONNECT_LIST_DOMAINS_INACTIVE, "lib1"));
    g_assert_false(list_has(conn, FERRY_CONNECT_LIST_DOMAINS_ACTIVE, "lib1"));
    g_assert_true(list_has(conn, 0, "lib1"));
    g_assert_cmpint(ferry_domain_is_active(dom), ==, 0);
    g_assert_cmpint(ferry_domain_is_persistent(dom), ==, 1);

    /* Start: the id follows, on this object. */
    g_assert_cmpint(ferry_domain_create(dom, 0), ==, 0);
    int id = ferry_domain_get_id(dom);
    g_assert_cmpint(id, >, 0);
    g_assert_cmpint(ferry_domain_get_id(by_name), ==, -1); /* a snapshot, as in libvirt */
    FerryDomain *by_id = ferry_domain_lookup_by_id(conn, id);
    g_assert_nonnull(by_id);
    g_assert_cmpstr(ferry_domain_get_name(by_id), ==, "lib1");
    g_assert_cmpint(ferry_domain_get_id(by_id), ==, id);
    g_assert_true(list_has(conn, FERRY_CONNECT_LIST_DOMAINS_ACTIVE, "lib1"));
    g_assert_true(list_has(conn, FERRY_CONNECT_LIST_DOMAINS_RUNNING, "lib1"));
    g_assert_cmpint(ferry_domain_is_active(dom), ==, 1);

    g_assert_cmpint(ferry_domain_get_state(dom, &state, &reason, 0), ==, 0);
    g_assert_cmpint(state, ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpint(reason, ==, 1); /* booted */
    g_assert_cmpint(ferry_domain_get_info(dom, &info), ==, 0);
    g_assert_cmpint(info.state, ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpuint(info.max_mem_kib, ==, 64 * 1024);
    g_assert_cmpuint(info.nr_virt_cpu, ==, 1);
    g_autofree char *os = ferry_domain_get_os_type(dom);
    g_assert_cmpstr(os, ==, "hvm");

    g_autofree char *live = ferry_domain_get_xml_desc(dom, 0);
    g_assert_nonnull(strstr(live, "<name>lib1</name>"));
    g_assert_nonnull(strstr(live, " id="));
    g_autofree char *mig = ferry_domain_get_xml_desc(dom, FERRY_DOMAIN_XML_MIGRATABLE);
    g_assert_null(strstr(mig, " id="));
    g_autofree char *inactive = ferry_domain_get_xml_desc(dom, FERRY_DOMAIN_XML_INACTIVE);
    g_assert_null(strstr(inactive, " id="));

    g_assert_cmpint(ferry_domain_get_job_stats(dom, &type, &params, &nparams, 0), ==, 0);
    g_assert_cmpint(type, ==, FERRY_DOMAIN_JOB_NONE);
    g_assert_cmpint(nparams, ==, 0);
    ferry_typed_params_free(params, nparams);
    g_assert_cmpint(ferry_domain_abort_job(dom, 0), ==, -1);
    g_assert_nonnull(ferry_get_last_error());

    g_assert_cmpint(ferry_domain_suspend(dom), ==, 0);
    g_assert_cmpint(ferry_domain_get_state(by_id, &state, &reason, 0), ==, 0);
    g_assert_cmpint(state, ==, FERRY_DOMAIN_PAUSED);
    g_assert_cmpint(reason, ==, 1); /* user */
    g_assert_true(list_has(conn, FERRY_CONNECT_LIST_DOMAINS_PAUSED, "lib1"));
    g_assert_cmpint(ferry_domain_resume(dom), ==, 0);
    g_assert_cmpint(ferry_domain_get_state(dom, &state, NULL, 0), ==, 0);
    g_assert_cmpint(state, ==, FERRY_DOMAIN_RUNNING);

    /* Destroy: the id goes back to -1; another object learns it from a
     * state query. */
    g_assert_cmpint(ferry_domain_destroy(dom, 0), ==, 0);
    g_assert_cmpint(ferry_domain_get_id(dom), ==, -1);
    g_assert_cmpint(ferry_domain_get_state(by_id, &state, &reason, 0), ==, 0);
    g_assert_cmpint(state, ==, FERRY_DOMAIN_SHUTOFF);
    g_assert_cmpint(reason, ==, 2); /* destroyed */
    g_assert_cmpint(ferry_domain_get_id(by_id), ==, -1);
    g_assert_cmpint(ferry_domain_is_active(by_name), ==, 0);

    g_assert_cmpint(ferry_domain_undefine(dom, 0), ==, 0);
    g_assert_null(ferry_domain_lookup_by_name(conn, "lib1"));
    assert_last_error(FERRY_ERROR_NO_DOMAIN, FERRY_ERROR_FROM_DRIVER, "'lib1'");

    /* Three domains hold the connection. */
    g_assert_cmpint(ferry_connect_close(conn), ==, 3);
    ferry_domain_free(by_name);
    ferry_domain_free(by_id);
    g_assert_cmpint(ferry_domain_free(dom), ==, 0);
}

static void test_errors(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    FerryConnect *conn = open_ok(fx->uri);

    g_assert_null(ferry_domain_lookup_by_name(conn, "nosuch"));
    assert_last_error(FERRY_ERROR_NO_DOMAIN, FERRY_ERROR_FROM_DRIVER,
                      "no domain with matching name 'nosuch'");
    g_assert_null(ferry_domain_lookup_by_uuid_string(conn, UUID2));
    assert_last_error(FERRY_ERROR_NO_DOMAIN, FERRY_ERROR_FROM_DRIVER, UUID2);
    g_assert_null(ferry_domain_lookup_by_uuid_string(conn, "not-a-uuid"));
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_UTIL, "not-a-uuid");
    g_assert_null(ferry_domain_lookup_by_id(conn, 4242));
    assert_last_error(FERRY_ERROR_NO_DOMAIN, FERRY_ERROR_FROM_DRIVER, "4242");
    g_assert_null(ferry_domain_lookup_by_id(conn, -1));
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_LIBFERRY, "id is negative");
    g_assert_null(ferry_domain_define_xml(conn, "<domain>", 0));
    g_assert_cmpint(ferry_get_last_error()->code, ==, FERRY_ERROR_XML);

    g_autofree char *xml = lft_guest_xml(fx->root, "err1", UUID1);
    FerryDomain *dom = ferry_domain_define_xml(conn, xml, 0);
    g_assert_nonnull(dom);
    g_assert_cmpint(ferry_domain_suspend(dom), ==, -1);
    assert_last_error(FERRY_ERROR_OPERATION_INVALID, ferry_get_last_error()->domain,
                      "is not running");
    /* The error survives the accessors and the pointer stays put... */
    const FerryError *err = ferry_get_last_error();
    g_assert_cmpstr(ferry_domain_get_name(dom), ==, "err1");
    g_assert_cmpint(ferry_domain_get_id(dom), ==, -1);
    g_assert_true(ferry_domain_get_connect(dom) == conn);
    g_assert_true(ferry_get_last_error() == err);
    g_autofree char *saved = g_strdup(err->message);
    g_assert_cmpstr(ferry_get_last_error_message(), ==, saved);
    g_assert_true(ferry_get_last_error() == err);
    g_assert_cmpstr(err->message, ==, saved);
    g_assert_cmpint(ferry_domain_create(dom, 1 << 10), ==, -1);
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_DRIVER, "unsupported flags 0x400");
    /* ...and a call that succeeds resets it. */
    g_assert_cmpint(ferry_domain_is_persistent(dom), ==, 1);
    g_assert_null(ferry_get_last_error());
    g_assert_cmpint(ferry_domain_undefine(dom, 0), ==, 0);
    g_assert_cmpint(ferry_domain_suspend(dom), ==, -1);
    ferry_domain_free(dom);
    ferry_connect_close(conn);
    assert_last_error(FERRY_ERROR_NO_DOMAIN, FERRY_ERROR_FROM_DRIVER, "");
}

/* Two connections to one root share one QEMU driver (a second driver on
 * the root would be refused: the root is locked); it closes with the last
 * connection, and opens again. */
static void test_shared_driver(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    g_autofree char *other_spelling = g_strdup_printf("qemu:///embed?root=%s/.", fx->root);
    FerryConnect *a = open_ok(fx->uri);
    FerryConnect *b = open_ok(other_spelling);
    g_autofree char *xml = lft_guest_xml(fx->root, "shared1", UUID1);
    FerryDomain *dom = ferry_domain_define_xml(a, xml, 0);
    g_assert_nonnull(dom);
    ferry_domain_free(dom);

    FerryDomain *seen = ferry_domain_lookup_by_name(b, "shared1");
    g_assert_nonnull(seen);
    g_assert_cmpint(ferry_connect_close(a), ==, 0);
    g_assert_cmpint(ferry_domain_create(seen, 0), ==, 0);
    g_assert_cmpint(ferry_domain_destroy(seen, 0), ==, 0);
    ferry_domain_free(seen);
    g_assert_cmpint(ferry_connect_close(b), ==, 0);

    FerryConnect *c = open_ok(fx->uri);
    g_assert_true(list_has(c, FERRY_CONNECT_LIST_DOMAINS_INACTIVE, "shared1"));
    ferry_connect_close(c);
}

/* A running domain outlives its connection and is found by the next one
 * (the QEMU driver reconnects); an autodestroy one dies with its own
 * connection only. */
static void test_autodestroy_on_close(Fixture *fx, gconstpointer data)
{
    int state = -1;

    if (!lft_have_guest())
        return;
    FerryConnect *a = open_ok(fx->uri);
    FerryConnect *b = open_ok(fx->uri);
    g_autofree char *xml = lft_guest_xml(fx->root, "auto1", UUID1);
    FerryDomain *dom = ferry_domain_create_xml(a, xml, FERRY_DOMAIN_START_AUTODESTROY);
    g_assert_nonnull(dom);
    g_assert_cmpint(ferry_domain_get_id(dom), >, 0);
    ferry_domain_free(dom);

    FerryDomain *seen = ferry_domain_lookup_by_name(b, "auto1");
    g_assert_nonnull(seen);
    g_assert_cmpint(ferry_domain_get_state(seen, &state, NULL, 0), ==, 0);
    g_assert_cmpint(state, ==, FERRY_DOMAIN_RUNNING);
    g_assert_cmpint(ferry_connect_close(a), ==, 0);

    /* Transient and autodestroyed: gone, and so is its QEMU. */
    g_assert_cmpint(ferry_domain_get_state(seen, &state, NULL, 0), ==, -1);
    assert_last_error(FERRY_ERROR_NO_DOMAIN, FERRY_ERROR_FROM_DRIVER, "");
    g_assert_cmpuint(lft_kill_leftovers(fx->root), ==, 0);
    ferry_domain_free(seen);

    /* A plain one keeps running across close and open. */
    g_autofree char *xml2 = lft_guest_xml(fx->root, "keep1", UUID2);
    dom = ferry_domain_create_xml(b, xml2, 0);
    g_assert_nonnull(dom);
    int id = ferry_domain_get_id(dom);
    ferry_domain_free(dom);
    g_assert_cmpint(ferry_connect_close(b), ==, 0);

    FerryConnect *c = open_ok(fx->uri);
    dom = ferry_domain_lookup_by_id(c, id);
    g_assert_nonnull(dom);
    g_assert_cmpstr(ferry_domain_get_name(dom), ==, "keep1");
    g_assert_cmpint(ferry_domain_destroy(dom, 0), ==, 0);
    ferry_domain_free(dom);
    ferry_connect_close(c);
}

/* ---------------------------------------------------------------- events and tuning */

typedef struct {
    GMutex lock;
    GPtrArray *seen; /* "NAME Event Detail" */
    guint freed;
} EventLog;

static void event_log_cb(FerryConnect *conn, FerryDomain *dom, int event, int detail, void *opaque)
{
    EventLog *log = opaque;

    g_mutex_lock(&log->lock);
    g_ptr_array_add(log->seen, g_strdup_printf("%s %s %s", ferry_domain_get_name(dom),
                                               ferry_domain_event_type_name(event),
                                               ferry_domain_event_detail_name(event, detail)));
    g_mutex_unlock(&log->lock);
}

static void event_log_freed(void *opaque)
{
    EventLog *log = opaque;

    g_mutex_lock(&log->lock);
    log->freed++;
    g_mutex_unlock(&log->lock);
}

static char *event_log_wait(EventLog *log, guint want)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;

    for (;;) {
        g_mutex_lock(&log->lock);
        if (log->seen->len >= want || g_get_monotonic_time() > deadline) {
            g_ptr_array_add(log->seen, NULL);
            char *joined = g_strjoinv(", ", (char **)log->seen->pdata);
            g_ptr_array_remove_index(log->seen, log->seen->len - 1);
            g_mutex_unlock(&log->lock);
            return joined;
        }
        g_mutex_unlock(&log->lock);
        g_usleep(20 * 1000);
    }
}

/* Over embed: one connection hears what another one of the same process
 * does to the shared driver; closing a connection drops its callbacks. */
static void test_events(Fixture *fx, gconstpointer data)
{
    EventLog log = { .seen = g_ptr_array_new_with_free_func(g_free) };

    g_mutex_init(&log.lock);
    FerryConnect *watch = open_ok(fx->uri);
    FerryConnect *act = open_ok(fx->uri);
    int id = ferry_connect_domain_event_register(watch, NULL, event_log_cb, &log, event_log_freed);
    g_assert_cmpint(id, >=, 0);
    g_assert_cmpint(ferry_connect_domain_event_register(watch, NULL, NULL, NULL, NULL), ==, -1);
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_LIBFERRY, "callback is NULL");

    g_autofree char *xml = lft_guest_xml(fx->root, "web1", UUID1);
    FerryDomain *dom = ferry_domain_define_xml(act, xml, 0);
    g_assert_nonnull(dom);
    /* Another connection's domain is no filter for this one. */
    g_assert_cmpint(ferry_connect_domain_event_register(watch, dom, event_log_cb, &log, NULL), ==,
                    -1);
    if (lft_have_guest()) {
        g_assert_cmpint(ferry_domain_create(dom, FERRY_DOMAIN_START_PAUSED), ==, 0);
        g_assert_cmpint(ferry_domain_resume(dom), ==, 0);
        g_assert_cmpint(ferry_domain_destroy(dom, 0), ==, 0);
    }
    g_assert_cmpint(ferry_domain_undefine(dom, 0), ==, 0);
    ferry_domain_free(dom);
    if (lft_have_guest()) {
        g_autofree char *seen = event_log_wait(&log, 6);
        g_assert_cmpstr(seen, ==,
                        "web1 Defined Added, web1 Started Booted, web1 Suspended Paused, "
                        "web1 Resumed Unpaused, web1 Stopped Destroyed, web1 Undefined Removed");
    } else {
        g_autofree char *seen = event_log_wait(&log, 2);
        g_assert_cmpstr(seen, ==, "web1 Defined Added, web1 Undefined Removed");
    }
    g_assert_cmpint(ferry_connect_domain_event_deregister(act, id), ==, -1);
    g_assert_cmpuint(log.freed, ==, 0);
    /* Closing drops the registration: its free function runs. */
    g_assert_cmpint(ferry_connect_close(watch), ==, 0);
    g_assert_cmpuint(log.freed, ==, 1);
    g_assert_cmpint(ferry_connect_close(act), ==, 0);
    g_ptr_array_unref(log.seen);
    g_mutex_clear(&log.lock);
}

static void test_event_names(void)
{
    g_assert_cmpstr(ferry_domain_event_type_name(FERRY_DOMAIN_EVENT_STARTED), ==, "Started");
    g_assert_cmpstr(ferry_domain_event_detail_name(FERRY_DOMAIN_EVENT_STARTED,
                                                   FERRY_DOMAIN_EVENT_STARTED_BOOTED),
                    ==, "Booted");
    g_assert_cmpstr(ferry_domain_event_detail_name(FERRY_DOMAIN_EVENT_STOPPED,
                                                   FERRY_DOMAIN_EVENT_STOPPED_FAILED),
                    ==, "Failed");
    g_assert_cmpstr(ferry_domain_event_type_name(99), ==, "unknown");
    g_assert_cmpstr(ferry_domain_event_detail_name(FERRY_DOMAIN_EVENT_CRASHED, 7), ==, "unknown");
}

/* migrate-setspeed & co over embed: stored per domain. */
static void test_migrate_tuning(Fixture *fx, gconstpointer data)
{
    FerryConnect *conn = open_ok(fx->uri);
    g_autofree char *xml = lft_guest_xml(fx->root, "web1", UUID1);
    FerryDomain *dom = ferry_domain_define_xml(conn, xml, 0);
    unsigned long long v = 0;

    g_assert_nonnull(dom);
    g_assert_cmpint(ferry_domain_migrate_get_max_speed(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, FERRY_DOMAIN_MIGRATE_MAX_SPEED_UNLIMITED);
    g_assert_cmpint(ferry_domain_migrate_set_max_speed(dom, 10, 0), ==, 0);
    g_assert_cmpint(ferry_domain_migrate_get_max_speed(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 10);
    g_assert_cmpint(ferry_domain_migrate_get_max_downtime(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 300);
    g_assert_cmpint(ferry_domain_migrate_set_max_downtime(dom, 20, 0), ==, 0);
    g_assert_cmpint(ferry_domain_migrate_get_max_downtime(dom, &v, 0), ==, 0);
    g_assert_cmpuint(v, ==, 20);
    g_assert_cmpint(ferry_domain_migrate_get_max_downtime(dom, NULL, 0), ==, -1);
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_LIBFERRY, "ms is NULL");
    g_assert_cmpint(ferry_domain_migrate_set_max_downtime(dom, 20, 1), ==, -1);
    assert_last_error(FERRY_ERROR_INVALID_ARG, FERRY_ERROR_FROM_DRIVER, "unsupported flags 0x1");
    g_assert_cmpint(ferry_domain_undefine(dom, 0), ==, 0);
    g_assert_cmpint(ferry_domain_migrate_get_max_speed(dom, &v, 0), ==, -1);
    assert_last_error(FERRY_ERROR_NO_DOMAIN, FERRY_ERROR_FROM_DRIVER, "");
    ferry_domain_free(dom);
    g_assert_cmpint(ferry_connect_close(conn), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_setenv("FERRY_LOG_OUTPUTS", "3:stderr", TRUE);
    g_setenv("LIBVIRT_DEFAULT_URI", "qemu+tcp://libvirt-host/system", TRUE);
    g_test_add_func("/libferry/version", test_version);
    g_test_add_func("/libferry/exports", test_exports);
    g_test_add_func("/libferry/refused-uris", test_refused_uris);
    g_test_add_func("/libferry/null-arguments", test_null_arguments);
    g_test_add_func("/libferry/typed-params", test_typed_params);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/libferry/default-uri", test_default_uri);
    ADD("/libferry/connection-facts", test_connection_facts);
    ADD("/libferry/lifecycle", test_lifecycle);
    ADD("/libferry/errors", test_errors);
    ADD("/libferry/shared-driver", test_shared_driver);
    ADD("/libferry/autodestroy-on-close", test_autodestroy_on_close);
    ADD("/libferry/events", test_events);
    ADD("/libferry/migrate-tuning", test_migrate_tuning);
    g_test_add_func("/libferry/event-names", test_event_names);
    return g_test_run();
}
