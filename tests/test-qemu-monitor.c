/*
 * test-qemu-monitor.c: the QMP client against a scripted mock QMP server
 * (tests/qmp-mock.h) and against real QEMU.
 */
#include <config.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MONITOR
#define FERRY_LOG_MODULE "tests.monitor"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/iothread.h"
#include "util/spawn.h"
#include "driver/qemu_monitor.h"
#include "qmp-mock.h"

/* Safety nets only: no test asserts a duration. */
#define SAFETY_NET_MS 10000
#define SAFETY_NET_US ((gint64)SAFETY_NET_MS * 1000)

#define MON_ERROR ferry_error_quark(FERRY_FROM_MONITOR)

/* What the callbacks saw. */
typedef struct {
    GMutex lock;
    GCond cond;
    GPtrArray *events; /* "NAME {data}" */
    gint64 last_timestamp;
    int eofs;
    int errors;
    GError *error;
    gboolean close_on_event; /* the event callback closes the monitor */
    gboolean on_iothread; /* every callback ran on the I/O thread */
    gboolean close_returned; /* qemu_monitor_close() has returned */
    int late_callbacks; /* callbacks that ran after that */
} Recorder;

typedef struct {
    Recorder rec;
    QmpMock *mock;
    QemuMonitor *mon;
} Fixture;

static void on_event(QemuMonitor *mon, const char *name, json_object *data, gint64 timestamp_us,
                     gpointer opaque)
{
    Recorder *rec = opaque;

    g_mutex_lock(&rec->lock);
    g_ptr_array_add(rec->events,
                    g_strdup_printf("%s %s", name,
                                    json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN)));
    rec->last_timestamp = timestamp_us;
    if (rec->close_returned)
        rec->late_callbacks++;
    rec->on_iothread &= iothread_is_current();
    g_cond_broadcast(&rec->cond);
    g_mutex_unlock(&rec->lock);
    if (rec->close_on_event)
        qemu_monitor_close(mon);
}

static void on_eof(QemuMonitor *mon, gpointer opaque)
{
    Recorder *rec = opaque;

    g_mutex_lock(&rec->lock);
    rec->eofs++;
    rec->on_iothread &= iothread_is_current();
    g_cond_broadcast(&rec->cond);
    g_mutex_unlock(&rec->lock);
}

static void on_error(QemuMonitor *mon, const GError *err, gpointer opaque)
{
    Recorder *rec = opaque;

    g_mutex_lock(&rec->lock);
    rec->errors++;
    if (!rec->error)
        rec->error = g_error_copy(err);
    rec->on_iothread &= iothread_is_current();
    g_cond_broadcast(&rec->cond);
    g_mutex_unlock(&rec->lock);
}

static const QemuMonitorCallbacks callbacks = {
    .event = on_event,
    .eof = on_eof,
    .error = on_error,
};

/* Waits (safety net) until *counter reaches n. */
static void rec_wait(Recorder *rec, const int *counter, int n)
{
    gint64 deadline = g_get_monotonic_time() + SAFETY_NET_US;

    g_mutex_lock(&rec->lock);
    while (*counter < n && g_cond_wait_until(&rec->cond, &rec->lock, deadline))
        ;
    g_mutex_unlock(&rec->lock);
}

static void rec_wait_events(Recorder *rec, guint n)
{
    gint64 deadline = g_get_monotonic_time() + SAFETY_NET_US;

    g_mutex_lock(&rec->lock);
    while (rec->events->len < n && g_cond_wait_until(&rec->cond, &rec->lock, deadline))
        ;
    g_mutex_unlock(&rec->lock);
}

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    g_mutex_init(&fx->rec.lock);
    g_cond_init(&fx->rec.cond);
    fx->rec.events = g_ptr_array_new_with_free_func(g_free);
    fx->rec.on_iothread = TRUE;
    g_assert_true(iothread_start(NULL));
    fx->mock = qmp_mock_new(QMP_MOCK_SOCKETPAIR);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    if (fx->mon) {
        qemu_monitor_close(fx->mon);
        qemu_monitor_unref(fx->mon);
    }
    qmp_mock_free(fx->mock);
    iothread_stop();
    g_assert_true(fx->rec.on_iothread);
    g_ptr_array_unref(fx->rec.events);
    g_clear_error(&fx->rec.error);
    g_mutex_clear(&fx->rec.lock);
    g_cond_clear(&fx->rec.cond);
}

/* Starts the mock (its script written) and opens the monitor on it. */
static void open_monitor(Fixture *fx)
{
    g_autoptr(GError) err = NULL;

    qmp_mock_start(fx->mock);
    fx->mon = qemu_monitor_open_fd(qmp_mock_take_client_fd(fx->mock), "mock", SAFETY_NET_MS,
                                   &callbacks, &fx->rec, &err);
    g_assert_no_error(err);
    g_assert_nonnull(fx->mon);
}

static void assert_mock_done(Fixture *fx)
{
    g_autofree char *report = qmp_mock_finish(fx->mock);

    g_assert_cmpstr(report, ==, NULL);
}

static void expect_capabilities(Fixture *fx)
{
    qmp_mock_expect_return(fx->mock, "qmp_capabilities", NULL, "{}");
}

/* ---------------------------------------------------------------- handshake */

static void test_handshake(Fixture *fx, gconstpointer data)
{
    int major = 0, minor = 0, micro = 0;

    expect_capabilities(fx);
    open_monitor(fx);
    qemu_monitor_get_version(fx->mon, &major, &minor, &micro);
    g_assert_cmpint(major, ==, 7);
    g_assert_cmpint(minor, ==, 2);
    g_assert_cmpint(micro, ==, 0);
    g_assert_cmpstr(qemu_monitor_get_package(fx->mon), ==, "Debian 1:7.2+dfsg-7");
    g_assert_cmpstr(qemu_monitor_get_name(fx->mon), ==, "mock");
    g_assert_false(qemu_monitor_is_closed(fx->mon, NULL));
    assert_mock_done(fx);
    g_assert_cmpuint(qmp_mock_n_commands(fx->mock), ==, 1);

    /* Closing ourselves runs no callback. */
    qemu_monitor_close(fx->mon);
    g_assert_true(qemu_monitor_is_closed(fx->mon, NULL));
    qemu_monitor_close(fx->mon);
    g_assert_cmpint(fx->rec.eofs, ==, 0);
    g_assert_cmpint(fx->rec.errors, ==, 0);
}

static void test_handshake_path(Fixture *fx, gconstpointer data)
{
    g_autoptr(QmpMock) mock = qmp_mock_new(QMP_MOCK_UNIX);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuMonitor) mon = NULL;
    g_autoptr(json_object) ret = NULL;

    qmp_mock_expect_return(mock, "qmp_capabilities", NULL, "{}");
    qmp_mock_expect_return(mock, "query-name", NULL, "{\"name\": \"web1\"}");
    qmp_mock_start(mock);
    mon =
        qemu_monitor_open_path(qmp_mock_get_path(mock), SAFETY_NET_MS, &callbacks, &fx->rec, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(qemu_monitor_get_name(mon), ==, qmp_mock_get_path(mock));
    ret = qmp_call(mon, "query-name", NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_object_get_string(json_object_object_get(ret, "name")), ==, "web1");
    qemu_monitor_close(mon);

    g_autofree char *report = qmp_mock_finish(mock);
    g_assert_cmpstr(report, ==, NULL);
}

static void test_connect_timeout(Fixture *fx, gconstpointer data)
{
    g_autofree char *dir = g_dir_make_tmp("ferry-qmp-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "absent.sock", NULL);
    g_autoptr(GError) err = NULL;
    QemuMonitor *mon;

    mon = qemu_monitor_open_path(path, 100, &callbacks, &fx->rec, &err);
    g_assert_null(mon);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_nonnull(strstr(err->message, path));
    g_rmdir(dir);
}

static void test_bad_greeting(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    QemuMonitor *mon;

    qmp_mock_set_greeting(fx->mock, "Welcome to something that is not QMP");
    qmp_mock_start(fx->mock);
    mon = qemu_monitor_open_fd(qmp_mock_take_client_fd(fx->mock), "mock", SAFETY_NET_MS, &callbacks,
                               &fx->rec, &err);
    g_assert_null(mon);
    g_assert_error(err, MON_ERROR, FERRY_ERR_PARSE);
    g_assert_nonnull(strstr(err->message, "QMP monitor 'mock'"));
    g_assert_nonnull(strstr(err->message, "invalid JSON"));
    /* A monitor that never opened calls nobody. */
    g_assert_cmpint(fx->rec.errors, ==, 0);
    assert_mock_done(fx);
}

static void test_malformed_greeting(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    QemuMonitor *mon;

    qmp_mock_set_greeting(fx->mock, "{\"QMP\": {\"capabilities\": []}}");
    qmp_mock_start(fx->mock);
    mon = qemu_monitor_open_fd(qmp_mock_take_client_fd(fx->mock), "mock", SAFETY_NET_MS, &callbacks,
                               &fx->rec, &err);
    g_assert_null(mon);
    g_assert_error(err, MON_ERROR, FERRY_ERR_PARSE);
    g_assert_nonnull(strstr(err->message, "malformed greeting"));
}

static void test_no_greeting(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    QemuMonitor *mon;

    qmp_mock_set_greeting(fx->mock, NULL);
    qmp_mock_start(fx->mock);
    mon = qemu_monitor_open_fd(qmp_mock_take_client_fd(fx->mock), "mock", 200, &callbacks, &fx->rec,
                               &err);
    g_assert_null(mon);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_nonnull(strstr(err->message, "no greeting"));
}

/* ---------------------------------------------------------------- commands */

static void test_command(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *status = NULL;
    gboolean running = FALSE;
    g_autoptr(json_object) ret = NULL;
    g_autoptr(json_object) args = json_object_new_object();

    expect_capabilities(fx);
    qmp_mock_expect_return(
        fx->mock, "query-status", NULL,
        "{\"running\": false, \"singlestep\": false, \"status\": \"prelaunch\"}");
    qmp_mock_expect_return(fx->mock, "qom-list", "{\"path\": \"/machine/peripheral\"}",
                           "[{\"name\": \"type\", \"type\": \"string\"}]");
    qmp_mock_expect_return(fx->mock, "migrate", "{\"uri\": \"fd:migrate\"}", "{}");
    qmp_mock_expect_return(fx->mock, "cont", NULL, "{}");
    open_monitor(fx);

    g_assert_true(qmp_query_status(fx->mon, &running, &status, &err));
    g_assert_no_error(err);
    g_assert_false(running);
    g_assert_cmpstr(status, ==, "prelaunch");

    json_object_object_add(args, "path", json_object_new_string("/machine/peripheral"));
    ret = qmp_call(fx->mon, "qom-list", args, &err);
    g_assert_no_error(err);
    g_assert_true(json_object_is_type(ret, json_type_array));
    g_assert_cmpuint(json_object_array_length(ret), ==, 1);

    g_assert_true(qmp_migrate(fx->mon, "fd:migrate", &err));
    g_assert_true(qmp_cont(fx->mon, &err));
    g_assert_no_error(err);
    assert_mock_done(fx);
}

static void test_error_reply(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *klass = NULL;
    g_autoptr(json_object) args = json_object_new_object();
    json_object *ret;

    expect_capabilities(fx);
    qmp_mock_expect_error(fx->mock, "migrate", "{\"uri\": \"tcp:192.0.2.1:49152\"}", "GenericError",
                          "Failed to connect socket: Connection refused");
    qmp_mock_expect_error(fx->mock, "migrate-continue", NULL, "CommandNotFound",
                          "The command migrate-continue has not been found");
    open_monitor(fx);

    json_object_object_add(args, "uri", json_object_new_string("tcp:192.0.2.1:49152"));
    ret = qmp_call_full(fx->mon, "migrate", args, NULL, 0, 0, &klass, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_assert_cmpstr(err->message, ==,
                    "QMP command 'migrate' failed: GenericError: "
                    "Failed to connect socket: Connection refused");
    g_assert_cmpstr(klass, ==, "GenericError");
    g_clear_error(&err);

    g_assert_false(qmp_migrate_continue(fx->mon, "pre-switchover", &err));
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_assert_nonnull(strstr(err->message, "CommandNotFound"));
    /* An error reply leaves the monitor open. */
    g_assert_false(qemu_monitor_is_closed(fx->mon, NULL));
    assert_mock_done(fx);
}

/* client_migrate_info: the ports given, the absent ones left out, the
 * certificate subject only when there is one; QEMU's error comes back. */
static void test_client_migrate_info(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_return(fx->mock, "client_migrate_info",
                           "{\"protocol\": \"spice\", \"hostname\": \"192.0.2.7\", "
                           "\"port\": 5901}",
                           "{}");
    qmp_mock_expect_return(fx->mock, "client_migrate_info",
                           "{\"protocol\": \"spice\", \"hostname\": \"hostB\", "
                           "\"port\": 5902, \"tls-port\": 5903, "
                           "\"cert-subject\": \"C=GB,O=Example,CN=hostB\"}",
                           "{}");
    qmp_mock_expect_error(fx->mock, "client_migrate_info",
                          "{\"protocol\": \"spice\", \"hostname\": \"hostB\", "
                          "\"tls-port\": 5903}",
                          "GenericError", "Could not set up display for migration");
    open_monitor(fx);

    g_assert_true(qmp_client_migrate_info(fx->mon, "spice", "192.0.2.7", 5901, -1, NULL, &err));
    g_assert_no_error(err);
    g_assert_true(qmp_client_migrate_info(fx->mon, "spice", "hostB", 5902, 5903,
                                          "C=GB,O=Example,CN=hostB", &err));
    g_assert_no_error(err);
    g_assert_false(qmp_client_migrate_info(fx->mon, "spice", "hostB", -1, 5903, NULL, &err));
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_assert_nonnull(strstr(err->message, "Could not set up display for migration"));
    assert_mock_done(fx);
}

/* QEMU answers a request it could not parse without an id: the answer
 * goes to the oldest command sent. */
static void test_reply_without_id(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_hang(fx->mock, "query-status", NULL);
    qmp_mock_raw(fx->mock, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                           "\"JSON parse error, invalid keyword 'x'\"}}\r\n");
    qmp_mock_expect_return(fx->mock, "query-name", NULL, "{\"name\": \"web1\"}");
    open_monitor(fx);

    ret = qmp_call(fx->mon, "query-status", NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_assert_cmpstr(err->message, ==,
                    "QMP command 'query-status' failed: GenericError: "
                    "JSON parse error, invalid keyword 'x'");
    g_clear_error(&err);
    ret = qmp_call(fx->mon, "query-name", NULL, &err);
    g_assert_no_error(err);
    assert_mock_done(fx);
}

/* ---------------------------------------------------------------- events */

static void test_event_between(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *status = NULL;
    gboolean running = TRUE;

    expect_capabilities(fx);
    qmp_mock_expect_hang(fx->mock, "query-status", NULL);
    qmp_mock_event(fx->mock, "STOP", NULL);
    qmp_mock_reply_hung(fx->mock, "{\"running\": false, \"status\": \"paused\"}");
    open_monitor(fx);

    g_assert_true(qmp_query_status(fx->mon, &running, &status, &err));
    g_assert_no_error(err);
    g_assert_false(running);
    g_assert_cmpstr(status, ==, "paused");
    /* The event came first, so it has been dispatched already. */
    g_mutex_lock(&fx->rec.lock);
    g_assert_cmpuint(fx->rec.events->len, ==, 1);
    g_assert_cmpstr(fx->rec.events->pdata[0], ==, "STOP {}");
    g_mutex_unlock(&fx->rec.lock);
    assert_mock_done(fx);
}

static void test_events(Fixture *fx, gconstpointer data)
{
    static const char *const want[] = {
        "MIGRATION {\"status\":\"setup\"}",
        "MIGRATION_PASS {\"pass\":1}",
        "MIGRATION {\"status\":\"active\"}",
        "STOP {}",
        "RESUME {}",
        "SHUTDOWN {\"guest\":true,\"reason\":\"guest-shutdown\"}",
        "X_FERRY_UNKNOWN {\"what\":[1,2]}",
    };

    expect_capabilities(fx);
    qmp_mock_event(fx->mock, "MIGRATION", "{\"status\": \"setup\"}");
    qmp_mock_event(fx->mock, "MIGRATION_PASS", "{\"pass\": 1}");
    qmp_mock_event(fx->mock, "MIGRATION", "{\"status\": \"active\"}");
    qmp_mock_event(fx->mock, "STOP", NULL);
    qmp_mock_event(fx->mock, "RESUME", NULL);
    qmp_mock_event(fx->mock, "SHUTDOWN", "{\"guest\": true, \"reason\": \"guest-shutdown\"}");
    qmp_mock_event(fx->mock, "X_FERRY_UNKNOWN", "{\"what\": [1, 2]}");
    open_monitor(fx);

    rec_wait_events(&fx->rec, G_N_ELEMENTS(want));
    g_mutex_lock(&fx->rec.lock);
    g_assert_cmpuint(fx->rec.events->len, ==, G_N_ELEMENTS(want));
    for (guint i = 0; i < G_N_ELEMENTS(want); i++)
        g_assert_cmpstr(fx->rec.events->pdata[i], ==, want[i]);
    g_assert_cmpint(fx->rec.last_timestamp, >, 0);
    g_mutex_unlock(&fx->rec.lock);
    assert_mock_done(fx);
}

/* Events and a reply that arrive in one read are all handled, in order:
 * the monitor reads in chunks and parses every message a chunk holds. */
static void test_burst(Fixture *fx, gconstpointer data)
{
    static const char *const want[] = {
        "STOP {}",
        "MIGRATION {\"status\":\"completed\"}",
        "RESUME {}",
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;
    g_autofree char *status = NULL;
    gboolean running = FALSE;

    expect_capabilities(fx);
    qmp_mock_expect_hang(fx->mock, "query-status", NULL);
    qmp_mock_burst_begin(fx->mock);
    qmp_mock_event(fx->mock, "STOP", NULL);
    qmp_mock_event(fx->mock, "MIGRATION", "{\"status\": \"completed\"}");
    qmp_mock_reply_hung(fx->mock, "{\"running\": true, \"status\": \"running\"}");
    qmp_mock_event(fx->mock, "RESUME", NULL);
    qmp_mock_burst_end(fx->mock);
    /* and the next reply comes alone: nothing of the burst is left over */
    qmp_mock_expect_return(fx->mock, "query-name", NULL, "{\"name\": \"vm1\"}");
    open_monitor(fx);

    g_assert_true(qmp_query_status(fx->mon, &running, &status, &err));
    g_assert_no_error(err);
    g_assert_true(running);
    g_assert_cmpstr(status, ==, "running");
    rec_wait_events(&fx->rec, G_N_ELEMENTS(want));
    g_mutex_lock(&fx->rec.lock);
    g_assert_cmpuint(fx->rec.events->len, ==, G_N_ELEMENTS(want));
    for (guint i = 0; i < G_N_ELEMENTS(want); i++)
        g_assert_cmpstr(fx->rec.events->pdata[i], ==, want[i]);
    g_mutex_unlock(&fx->rec.lock);
    ret = qmp_call(fx->mon, "query-name", NULL, &err);
    g_assert_no_error(err);
    g_assert_nonnull(ret);
    assert_mock_done(fx);
}

static void nothing(gpointer data)
{
}

/* A callback that closes the monitor is the last callback. */
static void test_close_in_callback(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    /* The events come once open has returned (else the close would make
     * the open fail, which is fine but not what this tests). */
    qmp_mock_expect_return(fx->mock, "query-name", NULL, "{}");
    qmp_mock_event(fx->mock, "STOP", NULL);
    qmp_mock_event(fx->mock, "RESUME", NULL);
    qmp_mock_event(fx->mock, "STOP", NULL);
    open_monitor(fx);
    fx->rec.close_on_event = TRUE;
    ret = qmp_call(fx->mon, "query-name", NULL, &err);
    g_assert_no_error(err);
    g_clear_pointer(&ret, json_object_put);

    assert_mock_done(fx);
    rec_wait_events(&fx->rec, 1);
    /* Wait for the close to be visible, then for any stray dispatch: a
     * synchronous no-op on the I/O thread runs after whatever is queued. */
    g_assert_true(iothread_invoke_sync(nothing, NULL, NULL));
    g_assert_true(qemu_monitor_is_closed(fx->mon, NULL));
    g_mutex_lock(&fx->rec.lock);
    g_assert_cmpuint(fx->rec.events->len, ==, 1);
    g_mutex_unlock(&fx->rec.lock);
    ret = qmp_call(fx->mon, "query-status", NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_assert_nonnull(strstr(err->message, "QMP command 'query-status' failed"));
}

/* A worker closes the monitor while events pour in: once close returns,
 * no callback runs. */
static void test_close_during_events(Fixture *fx, gconstpointer data)
{
    guint seen;

    expect_capabilities(fx);
    for (int i = 0; i < 2000; i++)
        qmp_mock_event(fx->mock, "MIGRATION_PASS", "{\"pass\": 1}");
    open_monitor(fx);

    rec_wait_events(&fx->rec, 1);
    qemu_monitor_close(fx->mon);
    g_mutex_lock(&fx->rec.lock);
    fx->rec.close_returned = TRUE;
    seen = fx->rec.events->len;
    g_mutex_unlock(&fx->rec.lock);

    /* Whatever was queued on the I/O thread has run after this. */
    g_assert_true(iothread_invoke_sync(nothing, NULL, NULL));
    g_mutex_lock(&fx->rec.lock);
    g_assert_cmpint(fx->rec.late_callbacks, ==, 0);
    g_assert_cmpuint(fx->rec.events->len, ==, seen);
    g_mutex_unlock(&fx->rec.lock);
    g_assert_cmpint(fx->rec.eofs, ==, 0);
    g_assert_cmpint(fx->rec.errors, ==, 0);
}

/* ---------------------------------------------------------------- failures */

static void test_garbage(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) reason = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_hang(fx->mock, "query-status", NULL);
    qmp_mock_raw(fx->mock, "this is not JSON\r\n");
    open_monitor(fx);

    ret = qmp_call(fx->mon, "query-status", NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_PARSE);
    g_assert_nonnull(strstr(err->message, "QMP command 'query-status' failed"));
    g_assert_nonnull(strstr(err->message, "QMP monitor 'mock'"));
    g_assert_nonnull(strstr(err->message, "invalid JSON"));
    g_assert_nonnull(strstr(err->message, "this is not"));

    rec_wait(&fx->rec, &fx->rec.errors, 1);
    g_assert_true(qemu_monitor_is_closed(fx->mon, &reason));
    g_assert_error(reason, MON_ERROR, FERRY_ERR_PARSE);
    g_mutex_lock(&fx->rec.lock);
    g_assert_cmpint(fx->rec.errors, ==, 1);
    g_assert_cmpint(fx->rec.eofs, ==, 0);
    g_assert_cmpstr(fx->rec.error->message, ==, reason->message);
    g_mutex_unlock(&fx->rec.lock);

    /* Later commands fail at once with the reason. */
    g_clear_error(&err);
    g_assert_false(qmp_cont(fx->mon, &err));
    g_assert_error(err, MON_ERROR, FERRY_ERR_PARSE);
    g_assert_nonnull(strstr(err->message, "QMP command 'cont' failed"));
    assert_mock_done(fx);
}

static void test_not_an_object(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_hang(fx->mock, "query-status", NULL);
    qmp_mock_raw(fx->mock, "[1, 2, 3]\r\n");
    open_monitor(fx);

    ret = qmp_call(fx->mon, "query-status", NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_PARSE);
    g_assert_nonnull(strstr(err->message, "not a JSON object"));
    rec_wait(&fx->rec, &fx->rec.errors, 1);
    g_assert_cmpint(fx->rec.errors, ==, 1);
    assert_mock_done(fx);
}

static void test_oversize(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_hang(fx->mock, "query-qmp-schema", NULL);
    qmp_mock_oversize(fx->mock, QEMU_MONITOR_MAX_MESSAGE + 1024 * 1024);
    open_monitor(fx);

    ret = qmp_call(fx->mon, "query-qmp-schema", NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OVERFLOW);
    g_assert_nonnull(strstr(err->message, "QMP command 'query-qmp-schema' failed"));
    g_assert_nonnull(strstr(err->message, "16777216 bytes"));
    rec_wait(&fx->rec, &fx->rec.errors, 1);
    g_assert_cmpint(fx->rec.errors, ==, 1);
    g_assert_error(fx->rec.error, MON_ERROR, FERRY_ERR_OVERFLOW);
    assert_mock_done(fx);
}

/* A lower limit, set per monitor. */
static void test_oversize_custom_limit(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_return(fx->mock, "query-name", NULL, "{\"name\": \"small\"}");
    qmp_mock_expect_hang(fx->mock, "query-qmp-schema", NULL);
    qmp_mock_oversize(fx->mock, 8192);
    open_monitor(fx);

    qemu_monitor_set_max_message(fx->mon, 4096);
    ret = qmp_call(fx->mon, "query-name", NULL, &err);
    g_assert_no_error(err);
    g_clear_pointer(&ret, json_object_put);
    ret = qmp_call(fx->mon, "query-qmp-schema", NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OVERFLOW);
    g_assert_nonnull(strstr(err->message, "4096 bytes"));
    assert_mock_done(fx);
}

static void test_timeout(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_hang(fx->mock, "query-status", NULL);
    qmp_mock_expect_hang(fx->mock, "query-name", NULL);
    /* The late answer to query-status comes before query-name's. */
    qmp_mock_reply_hung(fx->mock, "{\"running\": true, \"status\": \"running\"}");
    qmp_mock_reply_hung(fx->mock, "{\"name\": \"web1\"}");
    qmp_mock_expect_return(fx->mock, "query-name", NULL, "{\"name\": \"again\"}");
    open_monitor(fx);

    ret = qmp_call_full(fx->mon, "query-status", NULL, NULL, 0, 200, NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_cmpstr(err->message, ==, "QMP command 'query-status' timed out after 200 ms");
    g_clear_error(&err);
    g_assert_false(qemu_monitor_is_closed(fx->mon, NULL));

    /* The stale reply is dropped; this command gets its own. */
    ret = qmp_call(fx->mon, "query-name", NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_object_get_string(json_object_object_get(ret, "name")), ==, "web1");
    g_clear_pointer(&ret, json_object_put);

    /* The default timeout applies when none is given. */
    qemu_monitor_set_default_timeout(fx->mon, 5000);
    ret = qmp_call(fx->mon, "query-name", NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_object_get_string(json_object_object_get(ret, "name")), ==, "again");
    assert_mock_done(fx);
}

static void test_default_timeout(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_hang(fx->mock, "query-migrate", NULL);
    open_monitor(fx);

    qemu_monitor_set_default_timeout(fx->mon, 150);
    ret = qmp_query_migrate(fx->mon, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_cmpstr(err->message, ==, "QMP command 'query-migrate' timed out after 150 ms");
    assert_mock_done(fx);
}

/* A command that timed out before a byte of it was written is withdrawn:
 * QEMU never sees it. */
static void test_timeout_withdraws(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;
    g_autoptr(json_object) args = json_object_new_object();
    g_autofree char *blob = g_malloc(8 * 1024 * 1024 + 1);

    expect_capabilities(fx);
    qmp_mock_stall(fx->mock);
    qmp_mock_expect_hang(fx->mock, "x-big", NULL);
    qmp_mock_expect_return(fx->mock, "query-name", NULL, "{\"name\": \"web1\"}");
    open_monitor(fx);

    /* Far more than the socket buffers hold while nobody reads. */
    memset(blob, 'b', 8 * 1024 * 1024);
    blob[8 * 1024 * 1024] = '\0';
    json_object_object_add(args, "blob", json_object_new_string(blob));
    ret = qmp_call_full(fx->mon, "x-big", args, NULL, 0, 300, NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_TIMEOUT);
    g_clear_error(&err);

    /* Queued behind what is left of x-big: never started, withdrawn. */
    ret = qmp_call_full(fx->mon, "x-withdrawn", NULL, NULL, 0, 100, NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_TIMEOUT);
    g_clear_error(&err);

    /* The mock reads again: x-big (whole), then query-name, nothing else. */
    qmp_mock_release(fx->mock);
    ret = qmp_call(fx->mon, "query-name", NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_object_get_string(json_object_object_get(ret, "name")), ==, "web1");
    assert_mock_done(fx);
}

static void test_eof_mid_command(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_close(fx->mock, "query-status", NULL);
    open_monitor(fx);

    ret = qmp_call(fx->mon, "query-status", NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_assert_nonnull(strstr(err->message, "QMP command 'query-status' failed"));
    g_assert_nonnull(strstr(err->message, "end of file"));
    g_assert_nonnull(strstr(err->message, "'mock'"));

    rec_wait(&fx->rec, &fx->rec.eofs, 1);
    g_clear_error(&err);
    g_assert_false(qmp_stop(fx->mon, &err));
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_assert_nonnull(strstr(err->message, "end of file"));
    qemu_monitor_close(fx->mon);
    g_mutex_lock(&fx->rec.lock);
    g_assert_cmpint(fx->rec.eofs, ==, 1);
    g_assert_cmpint(fx->rec.errors, ==, 0);
    g_mutex_unlock(&fx->rec.lock);
    assert_mock_done(fx);
}

/* The connection ends in the middle of a message. */
static void test_eof_partial_message(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) ret = NULL;

    expect_capabilities(fx);
    qmp_mock_expect_hang(fx->mock, "query-status", NULL);
    qmp_mock_raw(fx->mock, "{\"return\": {\"running\": tr");
    qmp_mock_close(fx->mock);
    open_monitor(fx);

    ret = qmp_call(fx->mon, "query-status", NULL, &err);
    g_assert_null(ret);
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_assert_nonnull(strstr(err->message, "end of file"));
    rec_wait(&fx->rec, &fx->rec.eofs, 1);
    g_assert_cmpint(fx->rec.eofs, ==, 1);
    assert_mock_done(fx);
}

/* ---------------------------------------------------------------- threads */

typedef struct {
    QemuMonitor *mon;
    int index;
    int rounds;
    int ok;
} Worker;

static gpointer worker_run(gpointer data)
{
    Worker *w = data;

    for (int r = 0; r < w->rounds; r++) {
        g_autoptr(json_object) args = json_object_new_object();
        g_autoptr(json_object) ret = NULL;
        g_autoptr(GError) err = NULL;
        int tag = w->index * 1000 + r;

        json_object_object_add(args, "tag", json_object_new_int(tag));
        ret = qmp_call(w->mon, "x-echo", args, &err);
        if (ret && json_object_get_int(json_object_object_get(ret, "tag")) == tag)
            w->ok++;
        else
            g_printerr("worker %d round %d: %s\n", w->index, r,
                       err ? err->message : json_object_to_json_string(ret));
    }
    return NULL;
}

static void run_workers(QemuMonitor *mon, int nthreads, int rounds)
{
    g_autofree GThread **threads = g_new0(GThread *, nthreads);
    g_autofree Worker *workers = g_new0(Worker, nthreads);

    for (int i = 0; i < nthreads; i++) {
        workers[i] = (Worker){ .mon = mon, .index = i, .rounds = rounds };
        threads[i] = g_thread_new("qmp-worker", worker_run, &workers[i]);
    }
    for (int i = 0; i < nthreads; i++) {
        g_thread_join(threads[i]);
        g_assert_cmpint(workers[i].ok, ==, rounds);
    }
}

static void test_concurrent(Fixture *fx, gconstpointer data)
{
    expect_capabilities(fx);
    /* All 16 outstanding at once, answered in reverse order. */
    qmp_mock_expect_batch_echo(fx->mock, "x-echo", 16);
    /* Then 8 threads x 25 commands, each answered as it arrives. */
    for (int i = 0; i < 8 * 25; i++)
        qmp_mock_expect_batch_echo(fx->mock, "x-echo", 1);
    open_monitor(fx);

    run_workers(fx->mon, 16, 1);
    run_workers(fx->mon, 8, 25);
    assert_mock_done(fx);
}

/* ---------------------------------------------------------------- fds */

static void assert_same_file(int a, int b)
{
    struct stat sa, sb;

    g_assert_cmpint(fstat(a, &sa), ==, 0);
    g_assert_cmpint(fstat(b, &sb), ==, 0);
    g_assert_cmpuint(sa.st_dev, ==, sb.st_dev);
    g_assert_cmpuint(sa.st_ino, ==, sb.st_ino);
}

static void test_fd_passing(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(FerryFd) rd = -1;
    g_auto(FerryFd) wr = -1;
    int pipefd[2];
    gint64 fdset = -1, qfd = -1;
    const char *cmd = NULL;

    g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
    rd = pipefd[0];
    wr = pipefd[1];

    expect_capabilities(fx);
    qmp_mock_expect_return(fx->mock, "query-status", NULL,
                           "{\"running\": true, \"status\": \"running\"}");
    qmp_mock_expect_return(fx->mock, "getfd", "{\"fdname\": \"migrate\"}", "{}");
    qmp_mock_expect_return(fx->mock, "add-fd", "{\"fdset-id\": 3, \"opaque\": \"disk\"}",
                           "{\"fdset-id\": 3, \"fd\": 42}");
    open_monitor(fx);

    /* A command without fds first, so that the fds are not the first bytes. */
    g_assert_true(qmp_query_status(fx->mon, NULL, NULL, &err));
    g_assert_true(qmp_getfd(fx->mon, wr, "migrate", &err));
    g_assert_no_error(err);
    g_assert_true(qmp_add_fd(fx->mon, rd, 3, "disk", &fdset, &qfd, &err));
    g_assert_no_error(err);
    g_assert_cmpint(fdset, ==, 3);
    g_assert_cmpint(qfd, ==, 42);
    assert_mock_done(fx);

    g_assert_cmpuint(qmp_mock_n_fds(fx->mock), ==, 2);
    assert_same_file(qmp_mock_get_fd(fx->mock, 0, &cmd), wr);
    g_assert_cmpstr(cmd, ==, "getfd");
    assert_same_file(qmp_mock_get_fd(fx->mock, 1, &cmd), rd);
    g_assert_cmpstr(cmd, ==, "add-fd");
}

/* ---------------------------------------------------------------- misuse */

typedef struct {
    QemuMonitor *mon;
    json_object *ret;
    GError *err;
} IOThreadAttempt;

static void call_on_iothread(gpointer data)
{
    IOThreadAttempt *a = data;

    a->ret = qmp_call(a->mon, "query-status", NULL, &a->err);
}

static void test_refused_on_iothread(Fixture *fx, gconstpointer data)
{
    IOThreadAttempt a = { NULL, NULL, NULL };

    expect_capabilities(fx);
    open_monitor(fx);
    a.mon = fx->mon;
    g_assert_true(iothread_invoke_sync(call_on_iothread, &a, NULL));
    g_assert_null(a.ret);
    g_assert_error(a.err, MON_ERROR, FERRY_ERR_INTERNAL);
    g_assert_nonnull(strstr(a.err->message, "QMP command 'query-status'"));
    g_assert_nonnull(strstr(a.err->message, "I/O thread"));
    g_error_free(a.err);
    assert_mock_done(fx);
    g_assert_cmpuint(qmp_mock_n_commands(fx->mock), ==, 1);
}

/* Dropping the last reference closes; no callback afterwards. */
static void test_unref_closes(Fixture *fx, gconstpointer data)
{
    expect_capabilities(fx);
    open_monitor(fx);
    qemu_monitor_unref(g_steal_pointer(&fx->mon));
    assert_mock_done(fx);
    g_assert_cmpint(fx->rec.eofs, ==, 0);
    g_assert_cmpint(fx->rec.errors, ==, 0);
}

/* ---------------------------------------------------------------- real QEMU */

typedef struct {
    char *dir;
    char *path;
    Spawn *qemu;
} RealQemu;

static void real_qemu_clear(RealQemu *rq)
{
    g_autoptr(GError) err = NULL;

    if (rq->qemu) {
        /* Kill and reap on every path. */
        if (!spawn_kill_and_reap(rq->qemu, 2000, NULL, &err))
            g_printerr("# cannot reap QEMU: %s\n", err->message);
        spawn_free(rq->qemu);
    }
    if (rq->path)
        g_unlink(rq->path);
    if (rq->dir)
        g_rmdir(rq->dir);
    g_free(rq->path);
    g_free(rq->dir);
}

/* Starts QEMU with its QMP socket at rq->path, the chardev way or the -qmp
 * way.  FALSE (reported) on failure; rq is cleared by the caller. */
static gboolean real_qemu_start(RealQemu *rq, gboolean chardev)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *qemu_path = g_find_program_in_path(QEMU_SYSTEM_X86_64);
    g_autofree char *timeout_path = g_find_program_in_path("timeout");
    g_autofree char *sock_arg = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    static const char *const qemu_args[] = {
        "-machine", "none", "-nodefaults", "-display", "none", "-S",
    };

    rq->dir = g_dir_make_tmp("ferry-qemu-XXXXXX", NULL);
    rq->path = g_build_filename(rq->dir, "qmp.sock", NULL);
    if (timeout_path) {
        /* coreutils' timeout is a last resort should this process die
         * without its cleanup (a crash): QEMU goes after two minutes in any
         * case.  It passes our SIGTERM on to QEMU. */
        g_ptr_array_add(argv, timeout_path);
        g_ptr_array_add(argv, (gpointer) "--kill-after=5");
        g_ptr_array_add(argv, (gpointer) "120");
    }
    g_ptr_array_add(argv, qemu_path);
    for (guint i = 0; i < G_N_ELEMENTS(qemu_args); i++)
        g_ptr_array_add(argv, (gpointer)qemu_args[i]);
    if (chardev) {
        sock_arg = g_strdup_printf("socket,id=mon,path=%s,server=on,wait=off", rq->path);
        g_ptr_array_add(argv, (gpointer) "-chardev");
        g_ptr_array_add(argv, sock_arg);
        g_ptr_array_add(argv, (gpointer) "-mon");
        g_ptr_array_add(argv, (gpointer) "chardev=mon,mode=control");
    } else {
        sock_arg = g_strdup_printf("unix:%s,server=on,wait=off", rq->path);
        g_ptr_array_add(argv, (gpointer) "-qmp");
        g_ptr_array_add(argv, sock_arg);
    }
    g_ptr_array_add(argv, NULL);
    rq->qemu = spawn_new((const char *const *)argv->pdata);
    spawn_set_kill_grace(rq->qemu, 2000);
    if (!spawn_start(rq->qemu, &err)) {
        g_assert_no_error(err);
        return FALSE;
    }
    return TRUE;
}

/* Asks QEMU to quit; checks the eof callback and QEMU's exit status. */
static void real_qemu_quit(Fixture *fx, RealQemu *rq, QemuMonitor *mon)
{
    g_autoptr(GError) err = NULL;
    SpawnStatus st = { 0 };

    g_assert_true(qmp_quit(mon, &err));
    g_assert_no_error(err);
    g_clear_error(&err);
    rec_wait(&fx->rec, &fx->rec.eofs, 1);
    g_assert_cmpint(fx->rec.eofs, ==, 1);
    g_assert_cmpint(fx->rec.errors, ==, 0);
    qemu_monitor_close(mon);

    g_assert_true(spawn_wait(rq->qemu, SAFETY_NET_MS, &st, &err));
    g_assert_no_error(err);
    g_assert_true(spawn_status_success(&st));
}

static gboolean real_qemu_skip(void)
{
    g_autofree char *qemu_path = g_find_program_in_path(QEMU_SYSTEM_X86_64);

    if (qemu_path)
        return FALSE;
    g_test_skip("qemu-system-x86_64 is not installed (" QEMU_SYSTEM_X86_64 ")");
    return TRUE;
}

static void test_real_qemu(Fixture *fx, gconstpointer data)
{
    RealQemu rq = { NULL, NULL, NULL };
    g_autoptr(GError) err = NULL;
    g_autofree char *status = NULL;
    g_autofree char *package = NULL;
    g_autoptr(json_object) schema = NULL;
    g_autoptr(QemuMonitor) mon = NULL;
    int major = 0, minor = 0, micro = 0;
    gboolean running = TRUE;

    if (real_qemu_skip())
        return;
    /* From here on a failed check must not leave QEMU running: keep going
     * to the cleanup instead of aborting. */
    g_test_set_nonfatal_assertions();
    if (!real_qemu_start(&rq, FALSE)) {
        real_qemu_clear(&rq);
        return;
    }

    mon = qemu_monitor_open_path(rq.path, SAFETY_NET_MS, &callbacks, &fx->rec, &err);
    g_assert_no_error(err);
    if (!mon) {
        real_qemu_clear(&rq);
        return;
    }
    qemu_monitor_get_version(mon, &major, &minor, &micro);
    g_assert_cmpint(major, >=, 7);

    if (qmp_query_version(mon, &major, &minor, &micro, &package, &err)) {
        int gmajor, gminor, gmicro;

        qemu_monitor_get_version(mon, &gmajor, &gminor, &gmicro);
        g_assert_cmpint(major, ==, gmajor);
        g_assert_cmpint(minor, ==, gminor);
        g_assert_cmpint(micro, ==, gmicro);
        g_assert_cmpstr(package, ==, qemu_monitor_get_package(mon));
    }
    g_assert_no_error(err);
    g_clear_error(&err);

    g_assert_true(qmp_query_status(mon, &running, &status, &err));
    g_assert_no_error(err);
    g_clear_error(&err);
    g_assert_false(running);
    g_assert_cmpstr(status, ==, "prelaunch");

    /* A big reply, well within the limit. */
    schema = qmp_call(mon, "query-qmp-schema", NULL, &err);
    g_assert_no_error(err);
    g_clear_error(&err);
    if (schema) {
        const char *text = json_object_to_json_string_ext(schema, JSON_C_TO_STRING_PLAIN);

        g_assert_true(json_object_is_type(schema, json_type_array));
        g_assert_cmpuint(json_object_array_length(schema), >, 100);
        g_test_message("query-qmp-schema: %zu entries, %zu bytes", json_object_array_length(schema),
                       strlen(text));
    }

    /* An error from QEMU itself. */
    g_assert_false(qmp_migrate_continue(mon, "pre-switchover", &err));
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_clear_error(&err);

    real_qemu_quit(fx, &rq, mon);
    real_qemu_clear(&rq);
}

/* The -chardev/-mon way; fds handed to QEMU; events from QEMU. */
static void test_real_qemu_fds_events(Fixture *fx, gconstpointer data)
{
    RealQemu rq = { NULL, NULL, NULL };
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuMonitor) mon = NULL;
    g_autoptr(json_object) fdsets = NULL;
    g_auto(FerryFd) rd = -1;
    g_auto(FerryFd) wr = -1;
    int pipefd[2];
    gint64 fdset = -1, qfd = -1;

    if (real_qemu_skip())
        return;
    g_test_set_nonfatal_assertions();
    g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
    rd = pipefd[0];
    wr = pipefd[1];
    if (!real_qemu_start(&rq, TRUE)) {
        real_qemu_clear(&rq);
        return;
    }
    mon = qemu_monitor_open_path(rq.path, SAFETY_NET_MS, &callbacks, &fx->rec, &err);
    g_assert_no_error(err);
    if (!mon) {
        real_qemu_clear(&rq);
        return;
    }

    /* getfd then closefd: closefd fails unless QEMU holds the fd. */
    g_assert_true(qmp_getfd(mon, wr, "migrate", &err));
    g_assert_no_error(err);
    g_clear_error(&err);
    g_assert_true(qmp_closefd(mon, "migrate", &err));
    g_assert_no_error(err);
    g_clear_error(&err);
    g_assert_false(qmp_closefd(mon, "migrate", &err));
    g_assert_error(err, MON_ERROR, FERRY_ERR_OPERATION_FAILED);
    g_clear_error(&err);

    /* add-fd into a new fdset, seen by query-fdsets, then removed. */
    g_assert_true(qmp_add_fd(mon, rd, -1, "ferry-test", &fdset, &qfd, &err));
    g_assert_no_error(err);
    g_clear_error(&err);
    g_assert_cmpint(fdset, >=, 0);
    g_assert_cmpint(qfd, >=, 0);
    fdsets = qmp_call(mon, "query-fdsets", NULL, &err);
    g_assert_no_error(err);
    g_clear_error(&err);
    if (fdsets) {
        const char *text = json_object_to_json_string_ext(fdsets, JSON_C_TO_STRING_PLAIN);

        g_assert_nonnull(strstr(text, "\"opaque\":\"ferry-test\""));
    }
    g_assert_true(qmp_remove_fd(mon, fdset, &err));
    g_assert_no_error(err);
    g_clear_error(&err);

    /* cont and stop: RESUME and STOP arrive before the replies. */
    g_assert_true(qmp_cont(mon, &err));
    g_assert_no_error(err);
    g_clear_error(&err);
    g_assert_true(qmp_stop(mon, &err));
    g_assert_no_error(err);
    g_clear_error(&err);
    rec_wait_events(&fx->rec, 2);
    g_mutex_lock(&fx->rec.lock);
    g_assert_cmpuint(fx->rec.events->len, >=, 2);
    if (fx->rec.events->len >= 2) {
        g_assert_cmpstr(fx->rec.events->pdata[0], ==, "RESUME {}");
        g_assert_cmpstr(fx->rec.events->pdata[1], ==, "STOP {}");
    }
    g_mutex_unlock(&fx->rec.lock);

    real_qemu_quit(fx, &rq, mon);
    real_qemu_clear(&rq);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) \
    g_test_add("/qemu-monitor/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("handshake", test_handshake);
    ADD("handshake-path", test_handshake_path);
    ADD("connect-timeout", test_connect_timeout);
    ADD("bad-greeting", test_bad_greeting);
    ADD("malformed-greeting", test_malformed_greeting);
    ADD("no-greeting", test_no_greeting);
    ADD("command", test_command);
    ADD("error-reply", test_error_reply);
    ADD("client-migrate-info", test_client_migrate_info);
    ADD("reply-without-id", test_reply_without_id);
    ADD("event-between", test_event_between);
    ADD("events", test_events);
    ADD("burst", test_burst);
    ADD("close-in-callback", test_close_in_callback);
    ADD("close-during-events", test_close_during_events);
    ADD("garbage", test_garbage);
    ADD("not-an-object", test_not_an_object);
    ADD("oversize", test_oversize);
    ADD("oversize-custom-limit", test_oversize_custom_limit);
    ADD("timeout", test_timeout);
    ADD("default-timeout", test_default_timeout);
    ADD("timeout-withdraws", test_timeout_withdraws);
    ADD("eof-mid-command", test_eof_mid_command);
    ADD("eof-partial-message", test_eof_partial_message);
    ADD("concurrent", test_concurrent);
    ADD("fd-passing", test_fd_passing);
    ADD("refused-on-iothread", test_refused_on_iothread);
    ADD("unref-closes", test_unref_closes);
    /* Last: they make assertions non-fatal for the rest of the run. */
    ADD("real-qemu", test_real_qemu);
    ADD("real-qemu-fds-events", test_real_qemu_fds_events);
#undef ADD
    return g_test_run();
}
