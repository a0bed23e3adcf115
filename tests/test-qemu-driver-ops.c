/*
 * test-qemu-driver-ops.c: the QEMU driver behind driver.h's ops table,
 * with real QEMU and the test guest.
 */
#include <config.h>

#include <stdio.h>

#include <string.h>

#include <glib/gstdio.h>

#include "driver/domain_obj.h"
#include "driver/qemu_driver_ops.h"
#include "driver/qemu_monitor.h"
#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"
#include "tests/testproc.h"

#define UUID_STR "5f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"

typedef struct {
    char *root;
    char *kernel;
    QemuDriver *drv;
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

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");
    g_autoptr(GError) err = NULL;
    QemuDriverConfig cfg = QEMU_DRIVER_CONFIG_INIT;
    unsigned char host_uuid[FERRY_UUID_BUFLEN];

    fx->kernel =
        g_build_filename(top ? top : FERRY_TOP_BUILDDIR, "tests", "guest", "ferry-guest", NULL);
    fx->root = g_dir_make_tmp("ferry-ops-XXXXXX", NULL);
    g_assert_nonnull(fx->root);
    g_assert_cmpint(ferry_uuid_parse("aaaaaaaa-0000-4000-8000-00000000000a", host_uuid, NULL), ==,
                    0);
    cfg.root = fx->root;
    cfg.accel = QEMU_DRIVER_ACCEL_TCG;
    cfg.host_uuid = host_uuid;
    cfg.hostname = "hostA";
    fx->drv = qemu_driver_open(&cfg, &err);
    g_assert_no_error(err);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    qemu_driver_close(fx->drv);
    /* After every case, no process may name the root (QEMU's HOME is
     * under it): any found is killed, and the case fails. */
    guint left = test_kill_processes_naming(fx->root);
    remove_tree(fx->root);
    g_free(fx->root);
    g_free(fx->kernel);
    g_assert_cmpuint(left, ==, 0);
}

static char *guest_xml(Fixture *fx)
{
    g_autofree char *serial = g_build_filename(fx->root, "serial.log", NULL);

    return g_strdup_printf("<domain type='qemu'>\n"
                           "  <name>ops1</name>\n"
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
                           fx->kernel, serial);
}

static gboolean have_guest(Fixture *fx)
{
    if (!g_file_test(fx->kernel, G_FILE_TEST_EXISTS)) {
        g_test_skip("the test guest was not built");
        return FALSE;
    }
    return TRUE;
}

static gboolean list_has(GArray *doms, const char *name)
{
    for (guint i = 0; i < doms->len; i++) {
        if (g_str_equal(g_array_index(doms, DriverDomain, i).name, name))
            return TRUE;
    }
    return FALSE;
}

static void test_connection_facts(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverConn) conn = qemu_driver_conn_open(fx->drv, 1, "qemu:///system");
    unsigned long long version = 0;
    gboolean supported = TRUE;

    g_autofree char *uri = conn->ops->get_uri(conn, &err);
    g_assert_cmpstr(uri, ==, "qemu:///system");
    g_autofree char *host = conn->ops->get_hostname(conn, &err);
    g_assert_cmpstr(host, ==, "hostA");
    g_autofree char *type = conn->ops->get_type(conn, &err);
    g_assert_cmpstr(type, ==, "QEMU");
    g_assert_true(conn->ops->get_version(conn, &version, &err));
    g_assert_no_error(err);
    /* Debian 12's QEMU is 7.2.x. */
    g_assert_cmpuint(version / 1000, ==, 7002);
    g_assert_true(conn->ops->get_lib_version(conn, &version, &err));
    {
        /* libvirt's encoding of the package's version: 0.3.0 -> 3000 */
        unsigned int major = 0, minor = 0, micro = 0;

        g_assert_cmpint(sscanf(PACKAGE_VERSION, "%u.%u.%u", &major, &minor, &micro), ==, 3);
        g_assert_cmpuint(version, ==, major * 1000000ULL + minor * 1000ULL + micro);
        g_assert_cmpuint(version, !=, 0);
    }
    g_assert_true(
        conn->ops->supports_feature(conn, DRIVER_FEATURE_XML_MIGRATABLE, &supported, &err));
    g_assert_true(supported);
    g_assert_true(conn->ops->supports_feature(conn, 9999, &supported, &err));
    g_assert_false(supported);
    g_assert_true(qemu_driver_conn_get_driver(conn) == fx->drv);
}

static void test_lifecycle(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverConn) conn = qemu_driver_conn_open(fx->drv, 2, NULL);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;
    int state = -1, reason = -1, type = -1;
    gboolean flag = FALSE;

    if (!have_guest(fx))
        return;
    g_autofree char *xml = guest_xml(fx);
    g_assert_true(conn->ops->define_xml(conn, xml, 0, &dom, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(dom.name, ==, "ops1");
    g_assert_cmpint(dom.id, ==, -1);

    g_assert_true(conn->ops->lookup_by_name(conn, "ops1", &found, &err));
    g_assert_cmpmem(found.uuid, 16, dom.uuid, 16);
    g_assert_true(conn->ops->lookup_by_uuid(conn, dom.uuid, &found, &err));
    g_assert_cmpstr(found.name, ==, "ops1");
    g_assert_false(conn->ops->lookup_by_name(conn, "nope", &found, &err));
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_NO_DOMAIN);
    g_clear_error(&err);

    GArray *inactive = conn->ops->list_all_domains(conn, DRIVER_LIST_INACTIVE, &err);
    g_assert_true(list_has(inactive, "ops1"));
    driver_domain_array_free(inactive);
    GArray *active = conn->ops->list_all_domains(conn, DRIVER_LIST_ACTIVE, &err);
    g_assert_false(list_has(active, "ops1"));
    driver_domain_array_free(active);
    g_assert_null(conn->ops->list_all_domains(conn, 1 << 20, &err));
    g_assert_nonnull(strstr(err->message, "unsupported flags 0x100000"));
    g_clear_error(&err);

    g_assert_true(conn->ops->create(conn, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_cmpint(dom.id, >, 0);
    g_assert_true(conn->ops->lookup_by_id(conn, dom.id, &found, &err));
    g_assert_cmpstr(found.name, ==, "ops1");
    g_assert_true(conn->ops->get_state(conn, &dom, &state, &reason, 0, &err));
    g_assert_cmpint(state, ==, DRIVER_STATE_RUNNING);
    g_assert_cmpint(reason, ==, 1); /* VIR_DOMAIN_RUNNING_BOOTED */
    g_assert_false(conn->ops->get_state(conn, &dom, &state, &reason, 1, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_INVALID_ARG);
    g_clear_error(&err);

    DriverDomainInfo info = { 0 };
    g_assert_true(conn->ops->get_info(conn, &dom, &info, &err));
    g_assert_cmpint(info.state, ==, DRIVER_STATE_RUNNING);
    g_assert_cmpuint(info.max_mem_kib, ==, 64 * 1024);
    g_assert_cmpuint(info.nr_virt_cpu, ==, 1);
    g_autofree char *os = conn->ops->get_os_type(conn, &dom, &err);
    g_assert_cmpstr(os, ==, "hvm");
    g_autofree char *live = conn->ops->get_xml_desc(conn, &dom, 0, &err);
    g_assert_nonnull(strstr(live, " id=\""));
    g_autofree char *mig = conn->ops->get_xml_desc(conn, &dom, DRIVER_XML_MIGRATABLE, &err);
    g_assert_null(strstr(mig, " id=\""));
    g_assert_true(conn->ops->is_active(conn, &dom, &flag, &err));
    g_assert_true(flag);
    g_assert_true(conn->ops->is_persistent(conn, &dom, &flag, &err));
    g_assert_true(flag);

    g_autoptr(TypedParams) stats = NULL;
    g_assert_true(conn->ops->get_job_stats(conn, &dom, 0, &type, &stats, &err));
    g_assert_cmpint(type, ==, DRIVER_JOB_NONE);
    g_assert_cmpuint(typed_params_count(stats), ==, 0);

    g_assert_true(conn->ops->suspend(conn, &dom, &err));
    g_assert_true(conn->ops->get_state(conn, &dom, &state, &reason, 0, &err));
    g_assert_cmpint(state, ==, DRIVER_STATE_PAUSED);
    g_assert_true(conn->ops->resume(conn, &dom, &err));
    g_assert_true(conn->ops->destroy(conn, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_true(conn->ops->get_state(conn, &dom, &state, &reason, 0, &err));
    g_assert_cmpint(state, ==, DRIVER_STATE_SHUTOFF);
    g_assert_cmpint(reason, ==, 2); /* VIR_DOMAIN_SHUTOFF_DESTROYED */

    g_assert_true(conn->ops->undefine(conn, &dom, 0, &err));
    g_assert_false(conn->ops->lookup_by_uuid(conn, dom.uuid, &found, &err));
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_NO_DOMAIN);
}

static void test_autodestroy_on_close(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    int state = -1, reason = -1;

    if (!have_guest(fx))
        return;
    g_autofree char *xml = guest_xml(fx);
    DriverConn *conn = qemu_driver_conn_open(fx->drv, 3, NULL);
    g_assert_true(conn->ops->create_xml(conn, xml, DRIVER_START_AUTODESTROY, &dom, &err));
    g_assert_no_error(err);
    g_assert_cmpint(dom.id, >, 0);

    /* Another client's connection closing leaves it alone. */
    driver_conn_unref(qemu_driver_conn_open(fx->drv, 4, NULL));
    g_autoptr(DriverConn) other = qemu_driver_conn_open(fx->drv, 5, NULL);
    g_assert_true(other->ops->get_state(other, &dom, &state, &reason, 0, &err));
    g_assert_cmpint(state, ==, DRIVER_STATE_RUNNING);

    /* Its own connection closing destroys it; a transient domain is gone. */
    driver_conn_unref(conn);
    g_auto(DriverDomain) found = DRIVER_DOMAIN_INIT;
    g_assert_false(other->ops->lookup_by_uuid(other, dom.uuid, &found, &err));
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_NO_DOMAIN);
}

/* What lifecycle callbacks saw: "event/detail" per call, in order. */
typedef struct {
    GMutex lock;
    GPtrArray *seen;
    DriverConn *conn;
    gboolean conn_ok;
    guint freed;
} EventLog;

static void event_log_cb(DriverConn *conn, const DriverDomain *dom, int event, int detail,
                         gpointer opaque)
{
    EventLog *log = opaque;

    g_mutex_lock(&log->lock);
    g_ptr_array_add(log->seen, g_strdup_printf("%s %d/%d", dom->name, event, detail));
    if (conn != log->conn)
        log->conn_ok = FALSE;
    g_mutex_unlock(&log->lock);
}

static void event_log_freed(gpointer opaque)
{
    EventLog *log = opaque;

    g_mutex_lock(&log->lock);
    log->freed++;
    g_mutex_unlock(&log->lock);
}

/* The events seen so far, joined with ", ", and forgotten. */
static char *event_log_take(Fixture *fx, EventLog *log)
{
    qemu_driver_event_flush(fx->drv);
    g_mutex_lock(&log->lock);
    g_ptr_array_add(log->seen, NULL);
    char *joined = g_strjoinv(", ", (char **)log->seen->pdata);
    g_ptr_array_set_size(log->seen, 0);
    g_mutex_unlock(&log->lock);
    return joined;
}

static void test_lifecycle_events(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverConn) conn = qemu_driver_conn_open(fx->drv, 6, NULL);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    EventLog all = { .seen = g_ptr_array_new_with_free_func(g_free), .conn_ok = TRUE };
    EventLog one = { .seen = g_ptr_array_new_with_free_func(g_free), .conn_ok = TRUE };
    int id_all, id_one;

    if (!have_guest(fx)) {
        g_ptr_array_unref(all.seen);
        g_ptr_array_unref(one.seen);
        return;
    }
    g_mutex_init(&all.lock);
    g_mutex_init(&one.lock);
    all.conn = one.conn = conn;
    id_all =
        conn->ops->event_register_lifecycle(conn, NULL, event_log_cb, &all, event_log_freed, &err);
    g_assert_no_error(err);
    g_assert_cmpint(id_all, >=, 0);

    g_autofree char *xml = guest_xml(fx);
    g_assert_true(conn->ops->define_xml(conn, xml, 0, &dom, &err));
    g_assert_no_error(err);
    /* A filter on one domain (it must exist). */
    id_one = conn->ops->event_register_lifecycle(conn, &dom, event_log_cb, &one, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(id_one, !=, id_all);
    g_assert_true(conn->ops->define_xml(conn, xml, 0, &dom, &err)); /* again: updated */
    g_assert_true(conn->ops->create(conn, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_true(conn->ops->suspend(conn, &dom, &err));
    g_assert_true(conn->ops->resume(conn, &dom, &err));
    g_assert_true(conn->ops->destroy(conn, &dom, 0, &err));
    g_assert_no_error(err);
    /* Started paused: Started Booted, then Suspended Paused, as libvirt. */
    g_assert_true(conn->ops->create(conn, &dom, DRIVER_START_PAUSED, &err));
    g_assert_true(conn->ops->destroy(conn, &dom, 0, &err));
    g_assert_true(conn->ops->undefine(conn, &dom, 0, &err));
    g_assert_no_error(err);

    /* DEFINED 0 (ADDED 0 / UPDATED 1), STARTED 2 BOOTED 0, SUSPENDED 3
     * PAUSED 0, RESUMED 4 UNPAUSED 0, STOPPED 5 DESTROYED 1, UNDEFINED 1
     * REMOVED 0. */
    g_autofree char *seen_all = event_log_take(fx, &all);
    g_assert_cmpstr(seen_all, ==,
                    "ops1 0/0, ops1 0/1, ops1 2/0, ops1 3/0, ops1 4/0, ops1 5/1, ops1 2/0, "
                    "ops1 3/0, ops1 5/1, ops1 1/0");
    g_autofree char *seen_one = event_log_take(fx, &one);
    g_assert_cmpstr(seen_one, ==,
                    "ops1 0/1, ops1 2/0, ops1 3/0, ops1 4/0, ops1 5/1, ops1 2/0, ops1 3/0, "
                    "ops1 5/1, ops1 1/0");
    g_assert_true(all.conn_ok && one.conn_ok);

    /* Deregistered: nothing more, the free function ran once; an unknown
     * id (or one of another connection) is refused. */
    g_assert_true(conn->ops->event_deregister(conn, id_all, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(all.freed, ==, 1);
    g_assert_false(conn->ops->event_deregister(conn, id_all, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_INVALID_ARG);
    g_clear_error(&err);
    g_autoptr(DriverConn) other = qemu_driver_conn_open(fx->drv, 7, NULL);
    g_assert_false(other->ops->event_deregister(other, id_one, &err));
    g_clear_error(&err);
    g_assert_true(conn->ops->define_xml(conn, xml, 0, &dom, &err));
    g_autofree char *after = event_log_take(fx, &all);
    g_assert_cmpstr(after, ==, "");
    g_assert_true(conn->ops->undefine(conn, &dom, 0, &err));

    /* A filter on a domain that does not exist is refused. */
    g_assert_cmpint(conn->ops->event_register_lifecycle(conn, &dom, event_log_cb, &one, NULL, &err),
                    ==, -1);
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_NO_DOMAIN);
    g_clear_error(&err);

    /* Closing the connection drops its callbacks. */
    g_clear_pointer(&conn, driver_conn_unref);
    g_ptr_array_unref(all.seen);
    g_ptr_array_unref(one.seen);
    g_mutex_clear(&all.lock);
    g_mutex_clear(&one.lock);
}

/* QEMU's max-bandwidth, downtime-limit and xbzrle-cache-size, read within
 * the async job. */
static void query_migrate_params(DomainObj *obj, unsigned long long *bandwidth,
                                 unsigned long long *downtime, unsigned long long *xbzrle)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuMonitor) mon = qemu_monitor_ref(domain_obj_get_monitor(obj));
    g_autoptr(json_object) ret = NULL;
    json_object *v = NULL;

    g_assert_true(domain_obj_enter_monitor_async(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, &err));
    ret = qmp_call(mon, "query-migrate-parameters", NULL, &err);
    g_assert_true(domain_obj_exit_monitor(obj, &err));
    g_assert_no_error(err);
    g_assert_true(json_object_object_get_ex(ret, "max-bandwidth", &v));
    *bandwidth = json_object_get_uint64(v);
    g_assert_true(json_object_object_get_ex(ret, "downtime-limit", &v));
    *downtime = json_object_get_uint64(v);
    g_assert_true(json_object_object_get_ex(ret, "xbzrle-cache-size", &v));
    *xbzrle = json_object_get_uint64(v);
}

/* While a migration-out job runs, the values go to QEMU at once. */
static void test_migrate_tuning_live(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverConn) conn = qemu_driver_conn_open(fx->drv, 9, NULL);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    unsigned long long bw = 0, dt = 0, xc = 0, v = 0;

    if (!have_guest(fx))
        return;
    g_autofree char *xml = guest_xml(fx);
    g_assert_true(conn->ops->create_xml(conn, xml, DRIVER_START_PAUSED, &dom, &err));
    g_assert_no_error(err);

    /* What Begin3 does: the async job, then no thread owns it. */
    DomainObj *obj = domain_list_find_by_uuid(qemu_driver_get_domains(fx->drv), dom.uuid,
                                              DOMAIN_LOOKUP_LOCKED, &err);
    g_assert_nonnull(obj);
    g_assert_true(domain_job_begin_async(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "test", 0, &err));
    domain_job_async_continue(obj);
    domain_obj_unlock(obj);

    g_assert_true(conn->ops->migrate_set_max_speed(conn, &dom, 42, 0, &err));
    g_assert_no_error(err);
    g_assert_true(conn->ops->migrate_set_max_downtime(conn, &dom, 123, 0, &err));
    g_assert_no_error(err);
    g_assert_true(conn->ops->migrate_get_max_speed(conn, &dom, &v, 0, &err));
    g_assert_cmpuint(v, ==, 42);
    /* The compression cache too (a MIGRATION_OP job, then a QUERY job). */
    g_assert_true(conn->ops->migrate_set_compression_cache(conn, &dom, 32ULL << 20, 0, &err));
    g_assert_no_error(err);
    g_assert_true(conn->ops->migrate_get_compression_cache(conn, &dom, &v, 0, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(v, ==, 32ULL << 20);

    domain_obj_lock(obj);
    g_assert_true(domain_job_async_resume(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "test", &err));
    query_migrate_params(obj, &bw, &dt, &xc);
    g_assert_cmpuint(bw, ==, 42ULL * 1024 * 1024);
    g_assert_cmpuint(dt, ==, 123);
    g_assert_cmpuint(xc, ==, 32ULL << 20);
    domain_job_end_async(obj, DOMAIN_JOB_STATUS_CANCELED);
    domain_obj_unlock(obj);
    domain_obj_unref(obj);

    g_assert_true(conn->ops->destroy(conn, &dom, 0, &err));
    g_assert_no_error(err);
}

/* migrate-setspeed & co outside a migration: stored per domain. */
static void test_migrate_tuning(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverConn) conn = qemu_driver_conn_open(fx->drv, 8, NULL);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    unsigned long long v = 0;
    QemuMigrateTuning t;

    g_autofree char *xml = guest_xml(fx);
    g_assert_true(conn->ops->define_xml(conn, xml, 0, &dom, &err));
    g_assert_no_error(err);
    qemu_driver_get_migrate_tuning(fx->drv, dom.uuid, &t);
    g_assert_false(t.max_speed_set || t.max_downtime_set);
    g_assert_true(conn->ops->migrate_get_max_speed(conn, &dom, &v, 0, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(v, ==, 8796093022207ULL); /* libvirt's "unlimited" */
    g_assert_true(conn->ops->migrate_get_max_downtime(conn, &dom, &v, 0, &err));
    g_assert_cmpuint(v, ==, 300);

    g_assert_true(conn->ops->migrate_set_max_speed(conn, &dom, 100, 0, &err));
    g_assert_true(conn->ops->migrate_set_max_downtime(conn, &dom, 50, 0, &err));
    g_assert_no_error(err);
    g_assert_true(conn->ops->migrate_get_max_speed(conn, &dom, &v, 0, &err));
    g_assert_cmpuint(v, ==, 100);
    g_assert_true(conn->ops->migrate_get_max_downtime(conn, &dom, &v, 0, &err));
    g_assert_cmpuint(v, ==, 50);
    qemu_driver_get_migrate_tuning(fx->drv, dom.uuid, &t);
    g_assert_true(t.max_speed_set && t.max_downtime_set);
    g_assert_cmpuint(t.max_speed_mib, ==, 100);
    g_assert_cmpuint(t.max_downtime_ms, ==, 50);

    g_assert_false(conn->ops->migrate_set_max_speed(conn, &dom, 8796093022208ULL, 0, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_OVERFLOW);
    g_clear_error(&err);
    g_assert_false(conn->ops->migrate_set_max_speed(conn, &dom, 1, 1, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_INVALID_ARG);
    g_clear_error(&err);

    /* Running (no migration): still only stored. */
    if (have_guest(fx)) {
        g_assert_true(conn->ops->create(conn, &dom, DRIVER_START_PAUSED, &err));
        g_assert_no_error(err);
        g_assert_true(conn->ops->migrate_set_max_speed(conn, &dom, 200, 0, &err));
        g_assert_true(conn->ops->migrate_get_max_speed(conn, &dom, &v, 0, &err));
        g_assert_cmpuint(v, ==, 200);
        g_assert_true(conn->ops->destroy(conn, &dom, 0, &err));
        g_assert_no_error(err);
    }
    g_assert_true(conn->ops->undefine(conn, &dom, 0, &err));
    g_assert_false(conn->ops->migrate_get_max_speed(conn, &dom, &v, 0, &err));
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_NO_DOMAIN);
}

/* QEMU's xbzrle-cache-size as QEMU itself reports it (a QUERY job of our
 * own, no async job). */
static unsigned long long query_xbzrle_cache(Fixture *fx, const DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj = domain_list_find_by_uuid(
        qemu_driver_get_domains(fx->drv), dom->uuid, DOMAIN_LOOKUP_LOCKED, &err);
    g_autoptr(json_object) ret = NULL;
    json_object *v = NULL;

    g_assert_nonnull(obj);
    g_assert_true(domain_job_begin(obj, DOMAIN_JOB_QUERY, "test", &err));
    g_autoptr(QemuMonitor) mon = qemu_monitor_ref(domain_obj_get_monitor(obj));
    domain_obj_enter_monitor(obj);
    ret = qmp_call(mon, "query-migrate-parameters", NULL, &err);
    g_assert_true(domain_obj_exit_monitor(obj, &err));
    domain_job_end(obj);
    g_assert_no_error(err);
    g_assert_true(json_object_object_get_ex(ret, "xbzrle-cache-size", &v));
    return json_object_get_uint64(v);
}

/* Expects a failed call's error: its code and a piece of its message. */
static void assert_error(GError **err, int code, const char *needle)
{
    g_assert_nonnull(*err);
    g_test_message("expected error: %s", (*err)->message);
    g_assert_cmpint(ferry_error_code_of(*err), ==, code);
    g_assert_nonnull(strstr((*err)->message, needle));
    g_clear_error(err);
}

/* migrate-compcache: QEMU's xbzrle-cache-size, set and read in the running
 * QEMU; bad sizes are refused with the value named and change nothing. */
static void test_migrate_compcache(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DriverConn) conn = qemu_driver_conn_open(fx->drv, 10, NULL);
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    unsigned long long v = 0;
    const unsigned long long mib128 = 128ULL << 20;

    g_autofree char *xml = guest_xml(fx);
    g_assert_true(conn->ops->define_xml(conn, xml, 0, &dom, &err));
    g_assert_no_error(err);

    /* Defined, not running: nothing to ask. */
    g_assert_false(conn->ops->migrate_get_compression_cache(conn, &dom, &v, 0, &err));
    assert_error(&err, FERRY_ERR_OPERATION_INVALID, "domain 'ops1' is not running");
    g_assert_false(conn->ops->migrate_set_compression_cache(conn, &dom, mib128, 0, &err));
    assert_error(&err, FERRY_ERR_OPERATION_INVALID, "domain 'ops1' is not running");

    if (have_guest(fx)) {
        g_assert_true(conn->ops->create(conn, &dom, DRIVER_START_PAUSED, &err));
        g_assert_no_error(err);
        /* QEMU's default, 64 MiB. */
        g_assert_true(conn->ops->migrate_get_compression_cache(conn, &dom, &v, 0, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(v, ==, 64ULL << 20);

        g_assert_true(conn->ops->migrate_set_compression_cache(conn, &dom, mib128, 0, &err));
        g_assert_no_error(err);
        g_assert_true(conn->ops->migrate_get_compression_cache(conn, &dom, &v, 0, &err));
        g_assert_cmpuint(v, ==, mib128);
        g_assert_cmpuint(query_xbzrle_cache(fx, &dom), ==, mib128);

        /* Not a power of two: ours to say; below a page: QEMU's. */
        g_assert_false(conn->ops->migrate_set_compression_cache(conn, &dom, 12288, 0, &err));
        assert_error(&err, FERRY_ERR_INVALID_ARG, "size 12288 bytes is not a power of two");
        g_assert_false(conn->ops->migrate_set_compression_cache(conn, &dom, 0, 0, &err));
        assert_error(&err, FERRY_ERR_INVALID_ARG, "size 0 bytes is not a power of two");
        g_assert_false(conn->ops->migrate_set_compression_cache(conn, &dom, 1024, 0, &err));
        assert_error(&err, FERRY_ERR_INVALID_ARG,
                     "domain 'ops1': QEMU refused compression cache size 1024 bytes: ");
        g_assert_false(conn->ops->migrate_set_compression_cache(conn, &dom, mib128, 1, &err));
        assert_error(&err, FERRY_ERR_INVALID_ARG, "flags");
        g_assert_false(conn->ops->migrate_get_compression_cache(conn, &dom, &v, 2, &err));
        assert_error(&err, FERRY_ERR_INVALID_ARG, "flags");
        /* The old value stays. */
        g_assert_true(conn->ops->migrate_get_compression_cache(conn, &dom, &v, 0, &err));
        g_assert_cmpuint(v, ==, mib128);
        g_assert_cmpuint(query_xbzrle_cache(fx, &dom), ==, mib128);

        g_assert_true(conn->ops->destroy(conn, &dom, 0, &err));
        g_assert_no_error(err);
        g_assert_false(conn->ops->migrate_get_compression_cache(conn, &dom, &v, 0, &err));
        assert_error(&err, FERRY_ERR_OPERATION_INVALID, "is not running");
    }
    g_assert_true(conn->ops->undefine(conn, &dom, 0, &err));
    g_assert_false(conn->ops->migrate_get_compression_cache(conn, &dom, &v, 0, &err));
    assert_error(&err, FERRY_ERR_NO_DOMAIN, "");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("3:stderr", NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/qemu-driver-ops/connection-facts", test_connection_facts);
    ADD("/qemu-driver-ops/lifecycle", test_lifecycle);
    ADD("/qemu-driver-ops/autodestroy-on-close", test_autodestroy_on_close);
    ADD("/qemu-driver-ops/lifecycle-events", test_lifecycle_events);
    ADD("/qemu-driver-ops/migrate-tuning", test_migrate_tuning);
    ADD("/qemu-driver-ops/migrate-tuning-live", test_migrate_tuning_live);
    ADD("/qemu-driver-ops/migrate-compcache", test_migrate_compcache);
    return g_test_run();
}
