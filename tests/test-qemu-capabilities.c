/*
 * test-qemu-capabilities.c: QEMU capabilities: the schema queries, the
 * probe against a scripted mock QMP server (QEMUs newer than the installed
 * one, failures), and against real QEMU with the caches.
 *
 * tests/data/qemucaps/NAME.replies holds, in probe order, each command the
 * probe sends and QEMU's answer; NAME.caps is what the probe makes of them.
 * FERRY_TEST_REGENERATE=1 rewrites the .caps files in the source tree.
 *
 * No test leaves a child process behind: each ends by checking that this
 * process has no children left (waitpid gives ECHILD).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "tests.qemu.caps"

#include "util/error.h"
#include "util/log.h"
#include "util/iothread.h"
#include "driver/qemu_monitor.h"
#include "driver/qemu_capabilities.h"
#include "qmp-mock.h"
#include "testutils.h"

/* Safety nets only: no test asserts a duration. */
#define SAFETY_NET_MS 10000
/* What the hang tests give the probe before it must give up. */
#define SHORT_TIMEOUT_MS 500

#define QEMU_ERROR ferry_error_quark(FERRY_FROM_QEMU)

static json_object *load_json(const char *name)
{
    g_autofree char *path = test_data_path("qemucaps", name);
    json_object *obj = json_object_from_file(path);

    if (!obj)
        g_error("%s: %s", path, json_util_get_last_err());
    return obj;
}

static void assert_no_children(void)
{
    errno = 0;
    g_assert_cmpint(waitpid(-1, NULL, WNOHANG), ==, -1);
    g_assert_cmpint(errno, ==, ECHILD);
}

static gboolean have_qemu(void)
{
    if (g_file_test(QEMU_SYSTEM_X86_64, G_FILE_TEST_IS_EXECUTABLE))
        return TRUE;
    g_test_skip("qemu-system-x86_64 is not installed (" QEMU_SYSTEM_X86_64 ")");
    return FALSE;
}

static gboolean kvm_device_opens(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return FALSE;
    close(fd);
    return TRUE;
}

/* ---------------------------------------------------------------- dumping */

static void dump_strv(GString *out, const char *label, const char *const *strv)
{
    g_string_append(out, label);
    for (guint i = 0; strv[i]; i++)
        g_string_append_printf(out, " %s", strv[i]);
    g_string_append_c(out, '\n');
}

/* What the probe made of QEMU's answers, one fact a line; host facts
 * (whether /dev/kvm opens) stay out. */
static char *dump_caps(const QemuCaps *caps)
{
    GString *out = g_string_new(NULL);
    int major, minor, micro;
    const char *const *cpus = qemu_caps_get_cpu_models(caps);

    qemu_caps_get_version(caps, &major, &minor, &micro);
    g_string_append_printf(out, "version %d.%d.%d (%s)\n", major, minor, micro,
                           qemu_caps_get_package(caps));
    g_string_append_printf(out, "arch %s\n", qemu_caps_get_arch(caps));
    dump_strv(out, "accels", qemu_caps_get_accels(caps));
    g_string_append_printf(out, "machines %u, default %s\n", qemu_caps_get_n_machines(caps),
                           qemu_caps_get_default_machine(caps));
    for (guint i = 0; i < qemu_caps_get_n_machines(caps); i++) {
        const QemuCapsMachine *m = qemu_caps_get_machine(caps, i);

        if (m->alias)
            g_string_append_printf(out, "machine %s -> %s\n", m->alias,
                                   qemu_caps_machine_canonical(caps, m->alias));
    }
    dump_strv(out, "migration-capabilities", qemu_caps_get_migration_capabilities(caps));
    dump_strv(out, "migration-parameters", qemu_caps_get_migration_parameters(caps));
    g_string_append_printf(out, "cpu-models %u\n", g_strv_length((char **)cpus));
    g_string_append_printf(out, "schema %u entries\n",
                           qemu_caps_schema_size(qemu_caps_get_schema(caps)));
    for (int f = 0; f < QEMU_CAPS_LAST; f++)
        g_string_append_printf(out, "flag %s %s\n", qemu_caps_flag_to_string(f),
                               qemu_caps_has(caps, f) ? "yes" : "no");
    return g_string_free(out, FALSE);
}

/* ---------------------------------------------------------------- flags */

static void test_flag_names(void)
{
    for (int f = 0; f < QEMU_CAPS_LAST; f++) {
        const char *name = qemu_caps_flag_to_string(f);

        g_assert_nonnull(name);
        g_assert_cmpint(qemu_caps_flag_from_string(name), ==, f);
    }
    g_assert_null(qemu_caps_flag_to_string(QEMU_CAPS_LAST));
    g_assert_cmpint(qemu_caps_flag_from_string("no-such-flag"), ==, -1);
    g_assert_cmpint(qemu_caps_flag_from_string(NULL), ==, -1);
    g_assert_cmpstr(qemu_caps_flag_to_string(QEMU_CAPS_FILE_URI), ==, "file-uri");
    g_assert_cmpstr(qemu_caps_flag_to_string(QEMU_CAPS_MAPPED_RAM), ==, "mapped-ram");
}

/* ---------------------------------------------------------------- schema */

/* The schema reply inside a .replies file (a new reference). */
static json_object *replies_schema(const char *name)
{
    g_autoptr(json_object) replies = load_json(name);

    for (size_t i = 0; i < json_object_array_length(replies); i++) {
        json_object *step = json_object_array_get_idx(replies, i);
        json_object *val = NULL;

        json_object_object_get_ex(step, "execute", &val);
        if (g_strcmp0(json_object_get_string(val), "query-qmp-schema") == 0 &&
            json_object_object_get_ex(step, "return", &val))
            return json_object_get(val);
    }
    g_error("%s has no query-qmp-schema", name);
}

static QemuCapsSchema *schema_from_replies(const char *name)
{
    g_autoptr(json_object) reply = replies_schema(name);
    g_autoptr(GError) err = NULL;
    QemuCapsSchema *schema = qemu_caps_schema_new(reply, &err);

    g_assert_no_error(err);
    g_assert_nonnull(schema);
    return schema;
}

static void test_schema_queries(void)
{
    g_autoptr(QemuCapsSchema) s = schema_from_replies("mock-newer.replies");

    g_assert_true(qemu_caps_schema_has_command(s, "migrate"));
    g_assert_false(qemu_caps_schema_has_command(s, "MIGRATION"));
    g_assert_false(qemu_caps_schema_has_command(s, "no-such-command"));
    g_assert_false(qemu_caps_schema_has_command(s, "str"));
    g_assert_true(qemu_caps_schema_has_event(s, "MIGRATION"));
    g_assert_false(qemu_caps_schema_has_event(s, "migrate"));

    /* Arguments, also below an array and a union. */
    g_assert_true(qemu_caps_schema_command_has_arg(s, "migrate", "uri"));
    g_assert_true(qemu_caps_schema_command_has_arg(s, "migrate", "channels"));
    g_assert_true(qemu_caps_schema_command_has_arg(s, "migrate", "channels/addr/transport"));
    g_assert_true(qemu_caps_schema_command_has_arg(s, "migrate", "channels/addr/filename"));
    g_assert_false(qemu_caps_schema_command_has_arg(s, "migrate", "channels/addr/nope"));
    g_assert_false(qemu_caps_schema_command_has_arg(s, "migrate", "blk"));
    g_assert_false(qemu_caps_schema_command_has_arg(s, "MIGRATION", "status"));
    g_assert_false(qemu_caps_schema_command_has_arg(s, "no-such-command", "uri"));

    /* Enums reached through arrays, unions and alternates. */
    g_assert_true(
        qemu_caps_schema_enum_has_value(s, "migrate/arg-type/channels/addr/transport", "file"));
    g_assert_false(
        qemu_caps_schema_enum_has_value(s, "migrate/arg-type/channels/addr/transport", "tape"));
    g_assert_true(
        qemu_caps_schema_enum_has_value(s, "migrate/arg-type/channels/channel-type", "cpr"));
    g_assert_true(
        qemu_caps_schema_enum_has_value(s, "migrate-set-parameters/arg-type/mode", "cpr-transfer"));
    g_assert_true(qemu_caps_schema_enum_has_value(s, "query-migrate/ret-type/status", "active"));
    g_assert_true(qemu_caps_schema_enum_has_value(s, "MIGRATION/arg-type/status", "completed"));
    g_assert_false(qemu_caps_schema_enum_has_value(s, "migrate/arg-type/uri", "file"));
    g_assert_false(
        qemu_caps_schema_enum_has_value(s, "migrate-set-parameters/arg-type/mode", NULL));

    /* Members of unions: any variant, or one by "+CASE". */
    g_assert_true(qemu_caps_schema_has_path(s, "netdev_add/arg-type/+tap/cpr"));
    g_assert_true(qemu_caps_schema_has_path(s, "netdev_add/arg-type/cpr"));
    g_assert_false(qemu_caps_schema_has_path(s, "netdev_add/arg-type/+user/cpr"));
    g_assert_false(qemu_caps_schema_has_path(s, "netdev_add/arg-type/+vde/cpr"));
    g_assert_true(qemu_caps_schema_has_path(s, "netdev_add/arg-type/+user/hostname"));
    g_assert_true(qemu_caps_schema_has_path(s, "query-migrate/ret-type/ram/dirty-pages-rate"));
    g_assert_true(qemu_caps_schema_has_path(s, "migrate-set-parameters/arg-type/tls-creds"));

    /* Bad paths. */
    g_assert_true(qemu_caps_schema_has_path(s, "migrate"));
    g_assert_false(qemu_caps_schema_has_path(s, ""));
    g_assert_false(qemu_caps_schema_has_path(s, NULL));
    g_assert_false(qemu_caps_schema_has_path(s, "migrate//uri"));
    g_assert_false(qemu_caps_schema_has_path(s, "migrate/arg-type/"));
    g_assert_false(qemu_caps_schema_has_path(s, "migrate/uri"));
    g_assert_false(qemu_caps_schema_has_path(s, "MIGRATION/ret-type"));
    g_assert_false(qemu_caps_schema_has_path(s, "10/uri/x"));
    g_assert_false(qemu_caps_schema_has_path(NULL, "migrate"));
}

/* Types that refer to themselves end the walk instead of looping. */
static void test_schema_recursive(void)
{
    static const char *const text =
        "[{\"name\":\"cmd\",\"meta-type\":\"command\",\"arg-type\":\"1\",\"ret-type\":\"4\"},"
        "{\"name\":\"1\",\"meta-type\":\"object\",\"members\":["
        "{\"name\":\"self\",\"type\":\"1\"},{\"name\":\"alt\",\"type\":\"2\"},"
        "{\"name\":\"list\",\"type\":\"[1]\"}]},"
        "{\"name\":\"[1]\",\"meta-type\":\"array\",\"element-type\":\"[1]\"},"
        "{\"name\":\"2\",\"meta-type\":\"alternate\",\"members\":[{\"type\":\"1\"},{\"type\":\"3\"}"
        "]},"
        "{\"name\":\"3\",\"meta-type\":\"enum\",\"values\":[\"a\",\"b\"]},"
        "{\"name\":\"4\",\"meta-type\":\"object\",\"members\":[],\"tag\":\"t\",\"variants\":["
        "{\"case\":\"x\",\"type\":\"4\"},{\"case\":\"y\",\"type\":\"4\"},"
        "{\"case\":\"z\",\"type\":\"4\"}]}]";
    g_autoptr(json_object) reply = json_tokener_parse(text);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCapsSchema) s = qemu_caps_schema_new(reply, &err);

    g_assert_no_error(err);
    g_assert_true(qemu_caps_schema_has_path(s, "cmd/arg-type/self/self/self/alt"));
    g_assert_true(qemu_caps_schema_has_path(s, "cmd/arg-type/alt/self"));
    g_assert_true(qemu_caps_schema_enum_has_value(s, "cmd/arg-type/alt", "b"));
    g_assert_false(qemu_caps_schema_enum_has_value(s, "cmd/arg-type/alt", "c"));
    g_assert_false(qemu_caps_schema_has_path(s, "cmd/arg-type/list/self"));
    g_assert_false(qemu_caps_schema_has_path(s, "cmd/arg-type/self/nothere"));
    g_assert_false(qemu_caps_schema_has_path(s, "cmd/ret-type/nothere"));
    g_assert_false(qemu_caps_schema_has_path(s, "cmd/ret-type/+x/+y/+z/nothere"));
}

static void test_schema_roundtrip(gconstpointer data)
{
    const char *name = data;
    g_autoptr(QemuCapsSchema) s = schema_from_replies(name);
    g_autoptr(json_object) first = qemu_caps_schema_to_json(s);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCapsSchema) again = qemu_caps_schema_new(first, &err);
    g_autoptr(json_object) second = NULL;
    g_autoptr(json_object) original = replies_schema(name);

    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_schema_size(again), ==, json_object_array_length(original));
    second = qemu_caps_schema_to_json(again);
    g_assert_cmpstr(json_object_to_json_string_ext(first, JSON_C_TO_STRING_PLAIN), ==,
                    json_object_to_json_string_ext(second, JSON_C_TO_STRING_PLAIN));
}

static void test_schema_malformed(void)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        { "{}", "the reply is not an array" },
        { "[1]", "entry 0 is not an object" },
        { "[{\"meta-type\":\"command\"}]", "entry 0 has no 'name'" },
        { "[{\"name\":\"x\"}]", "entry 0 has no 'meta-type'" },
        { "[{\"name\":\"x\",\"meta-type\":\"command\",\"arg-type\":\"0\"}]",
          "entry 0 ('x') has no 'ret-type'" },
        { "[{\"name\":\"x\",\"meta-type\":\"object\",\"members\":{}}]",
          "'members' is not an array" },
        { "[{\"name\":\"x\",\"meta-type\":\"object\",\"members\":[{\"name\":\"m\"}]}]",
          "has no 'type'" },
        { "[{\"name\":\"x\",\"meta-type\":\"enum\",\"values\":[1]}]",
          "'values' holds something other than strings" },
        { "[{\"name\":\"x\",\"meta-type\":\"object\",\"members\":[],\"variants\":[{\"case\":\"a\"}]"
          "}]",
          "has no 'type'" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(json_object) reply = json_tokener_parse(cases[i].text);
        g_autoptr(GError) err = NULL;
        g_autoptr(QemuCapsSchema) s = qemu_caps_schema_new(reply, &err);

        g_assert_null(s);
        g_test_message("case %u", i);
        g_assert_error(err, QEMU_ERROR, FERRY_ERR_PARSE);
        test_assert_error_contains(err, cases[i].message);
    }

    /* A meta-type newer than ferry is kept, not refused. */
    g_autoptr(json_object) reply = json_tokener_parse(
        "[{\"name\":\"x\",\"meta-type\":\"future\"},{\"name\":\"y\",\"meta-type\":\"event\","
        "\"arg-type\":\"x\"}]");
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCapsSchema) s = qemu_caps_schema_new(reply, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_schema_size(s), ==, 2);
    g_assert_true(qemu_caps_schema_has_event(s, "y"));
    g_assert_false(qemu_caps_schema_has_path(s, "y/arg-type/z"));
}

/* ---------------------------------------------------------------- mock */

typedef struct {
    QmpMock *mock;
    QemuMonitor *mon;
} Fixture;

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    g_assert_true(iothread_start(NULL));
    fx->mock = qmp_mock_new(QMP_MOCK_SOCKETPAIR);
    qmp_mock_expect_return(fx->mock, "qmp_capabilities", NULL, "{}");
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    if (fx->mon) {
        qemu_monitor_close(fx->mon);
        qemu_monitor_unref(fx->mon);
    }
    qmp_mock_free(fx->mock);
    iothread_stop();
    assert_no_children();
}

static void open_monitor(Fixture *fx)
{
    g_autoptr(GError) err = NULL;

    qmp_mock_start(fx->mock);
    fx->mon = qemu_monitor_open_fd(qmp_mock_take_client_fd(fx->mock), "mock", SAFETY_NET_MS, NULL,
                                   NULL, &err);
    g_assert_no_error(err);
    g_assert_nonnull(fx->mon);
}

static void assert_mock_done(Fixture *fx)
{
    g_autofree char *report = qmp_mock_finish(fx->mock);

    g_assert_cmpstr(report, ==, NULL);
}

/* Scripts the mock from a .replies file: each step is expected with its
 * arguments, and answered with its "return" or "error". */
static void script_replies(QmpMock *mock, const char *name)
{
    g_autoptr(json_object) replies = load_json(name);

    for (size_t i = 0; i < json_object_array_length(replies); i++) {
        json_object *step = json_object_array_get_idx(replies, i);
        json_object *execute = NULL, *args = NULL, *ret = NULL, *error = NULL;
        const char *args_text = NULL;

        g_assert_true(json_object_object_get_ex(step, "execute", &execute));
        if (json_object_object_get_ex(step, "arguments", &args))
            args_text = json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN);
        if (json_object_object_get_ex(step, "error", &error)) {
            json_object *klass = NULL, *desc = NULL;

            json_object_object_get_ex(error, "class", &klass);
            json_object_object_get_ex(error, "desc", &desc);
            qmp_mock_expect_error(mock, json_object_get_string(execute), args_text,
                                  json_object_get_string(klass), json_object_get_string(desc));
        } else {
            g_assert_true(json_object_object_get_ex(step, "return", &ret));
            qmp_mock_expect_return(mock, json_object_get_string(execute), args_text,
                                   json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN));
        }
    }
}

/* Probes the mock playing NAME.replies; checks NAME.caps. */
static QemuCaps *probe_replies(Fixture *fx, const char *name)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *replies = g_strdup_printf("%s.replies", name);
    g_autofree char *golden = g_strdup_printf("%s.caps", name);
    g_autofree char *dump = NULL;
    QemuCaps *caps;

    script_replies(fx->mock, replies);
    open_monitor(fx);
    caps = qemu_caps_probe_monitor(fx->mon, SAFETY_NET_MS, NULL, &err);
    g_assert_no_error(err);
    g_assert_nonnull(caps);
    assert_mock_done(fx);
    g_assert_null(qemu_caps_get_binary(caps));
    dump = dump_caps(caps);
    test_compare_golden("qemucaps", golden, dump);
    return caps;
}

static void test_mock_newer(Fixture *fx, gconstpointer data)
{
    g_autoptr(QemuCaps) caps = probe_replies(fx, "mock-newer");
    static const QemuCapsFlag on[] = {
        QEMU_CAPS_FILE_URI,
        QEMU_CAPS_MAPPED_RAM,
        QEMU_CAPS_FILE_FDSET,
        QEMU_CAPS_CPR_REBOOT,
        QEMU_CAPS_CPR_TRANSFER,
        QEMU_CAPS_ZERO_PAGE_DETECTION,
        QEMU_CAPS_DIRECT_IO,
        QEMU_CAPS_BACKEND_TRANSFER,
        QEMU_CAPS_MIGRATE_CHANNELS,
        QEMU_CAPS_MULTIFD,
        QEMU_CAPS_ADD_FD,
        QEMU_CAPS_FDSET,
        QEMU_CAPS_MIGRATION_EVENT,
        QEMU_CAPS_MIGRATION_PASS_EVENT,
        QEMU_CAPS_MIGRATE_DIRTY_RATE,
        QEMU_CAPS_SWITCHOVER_ACK,
    };
    int major;

    for (guint i = 0; i < G_N_ELEMENTS(on); i++)
        if (!qemu_caps_has(caps, on[i]))
            g_error("flag '%s' is off", qemu_caps_flag_to_string(on[i]));
    qemu_caps_get_version(caps, &major, NULL, NULL);
    g_assert_cmpint(major, ==, 10);
    g_assert_cmpstr(qemu_caps_get_default_machine(caps), ==, "pc-i440fx-10.1");
    g_assert_cmpstr(qemu_caps_machine_canonical(caps, "q35"), ==, "pc-q35-10.1");
    g_assert_cmpstr(qemu_caps_machine_canonical(caps, "pc-q35-10.1"), ==, "pc-q35-10.1");
    g_assert_null(qemu_caps_machine_canonical(caps, "pc-q35-99.0"));
    g_assert_true(qemu_caps_has_migration_capability(caps, "mapped-ram"));
    g_assert_true(qemu_caps_has_migration_parameter(caps, "direct-io"));
    /* query-cpu-definitions was refused: no models, no failure. */
    g_assert_cmpuint(g_strv_length((char **)qemu_caps_get_cpu_models(caps)), ==, 0);
}

/* A QEMU with some of the newer parts only: each flag needs all of its. */
static void test_mock_partial(Fixture *fx, gconstpointer data)
{
    g_autoptr(QemuCaps) caps = probe_replies(fx, "mock-partial");

    /* migrate has transport 'file', migrate-incoming does not. */
    g_assert_true(qemu_caps_has(caps, QEMU_CAPS_MIGRATE_CHANNELS));
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_FILE_URI));
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_MAPPED_RAM));
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_FILE_FDSET));
    g_assert_true(qemu_caps_has(caps, QEMU_CAPS_CPR_REBOOT));
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_CPR_TRANSFER));
    /* The 'backend-transfer' parameter suffices. */
    g_assert_true(qemu_caps_has(caps, QEMU_CAPS_BACKEND_TRANSFER));
    /* In migrate-set-parameters, not in query-migrate-parameters. */
    g_assert_true(qemu_caps_has(caps, QEMU_CAPS_ZERO_PAGE_DETECTION));
    g_assert_false(qemu_caps_has_migration_parameter(caps, "zero-page-detection"));
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_DIRECT_IO));
    /* The event exists, the 'events' capability does not. */
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_MIGRATION_EVENT));
    /* No query-kvm in the schema: not asked, so not present. */
    g_assert_false(qemu_caps_kvm_usable(caps));
}

static void test_mock_7_2(Fixture *fx, gconstpointer data)
{
    g_autoptr(QemuCaps) caps = probe_replies(fx, "qemu-7.2-x86_64");

    g_assert_true(qemu_caps_has(caps, QEMU_CAPS_MULTIFD));
    g_assert_true(qemu_caps_has(caps, QEMU_CAPS_ADD_FD));
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_FILE_URI));
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_MAPPED_RAM));
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_CPR_TRANSFER));
    g_assert_false(qemu_caps_has(caps, QEMU_CAPS_BACKEND_TRANSFER));
    g_assert_cmpstr(qemu_caps_machine_canonical(caps, "pc"), ==, "pc-i440fx-7.2");
}

/* The JSON form gives back the same facts; other format versions are
 * refused. */
static void test_mock_json(Fixture *fx, gconstpointer data)
{
    g_autoptr(QemuCaps) caps = probe_replies(fx, "mock-newer");
    g_autoptr(json_object) obj = qemu_caps_to_json(caps);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) again = qemu_caps_from_json(obj, &err);
    g_autofree char *dump1 = dump_caps(caps);
    g_autofree char *dump2 = NULL;
    g_autoptr(QemuCaps) refused = NULL;

    g_assert_no_error(err);
    g_assert_nonnull(again);
    dump2 = dump_caps(again);
    g_assert_cmpstr(dump1, ==, dump2);
    g_assert_cmpint(qemu_caps_kvm_usable(caps), ==, qemu_caps_kvm_usable(again));

    json_object_object_add(obj, "format", json_object_new_int(QEMU_CAPS_CACHE_FORMAT_VERSION + 1));
    refused = qemu_caps_from_json(obj, &err);
    g_assert_null(refused);
    g_assert_error(err, QEMU_ERROR, FERRY_ERR_PARSE);
    g_clear_error(&err);

    json_object_object_add(obj, "format", json_object_new_int(QEMU_CAPS_CACHE_FORMAT_VERSION));
    json_object_object_del(obj, "machines");
    refused = qemu_caps_from_json(obj, &err);
    g_assert_null(refused);
    g_assert_error(err, QEMU_ERROR, FERRY_ERR_PARSE);
    test_assert_error_contains(err, "'machines'");
}

/* A KVM device that does not open: KVM is not usable. */
static void test_mock_no_kvm_device(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;

    script_replies(fx->mock, "mock-newer.replies");
    open_monitor(fx);
    caps = qemu_caps_probe_monitor(fx->mon, SAFETY_NET_MS, "/nonexistent/kvm", &err);
    g_assert_no_error(err);
    assert_mock_done(fx);
    g_assert_false(qemu_caps_kvm_usable(caps));
    g_assert_true(g_strv_contains(qemu_caps_get_accels(caps), "kvm"));
    g_assert_true(g_strv_contains(qemu_caps_get_accels(caps), "tcg"));
    g_assert_false(g_strv_contains(qemu_caps_get_accels(caps), ""));
}

/* A QEMU that stops answering: the probe times out, it does not hang. */
static void test_mock_hang(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;

    qmp_mock_expect_return(fx->mock, "query-version", NULL,
                           "{\"qemu\":{\"major\":10,\"minor\":1,\"micro\":0},\"package\":\"\"}");
    qmp_mock_expect_hang(fx->mock, "query-qmp-schema", NULL);
    open_monitor(fx);
    caps = qemu_caps_probe_monitor(fx->mon, SHORT_TIMEOUT_MS, NULL, &err);
    g_assert_null(caps);
    g_assert_error(err, ferry_error_quark(FERRY_FROM_MONITOR), FERRY_ERR_OPERATION_TIMEOUT);
    test_assert_error_contains(err, "query-qmp-schema");
    qemu_monitor_close(fx->mon);
    assert_mock_done(fx);
}

/* QEMU goes away in the middle. */
static void test_mock_eof(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;

    qmp_mock_expect_return(fx->mock, "query-version", NULL,
                           "{\"qemu\":{\"major\":10,\"minor\":1,\"micro\":0},\"package\":\"\"}");
    qmp_mock_expect_close(fx->mock, "query-qmp-schema", NULL);
    open_monitor(fx);
    caps = qemu_caps_probe_monitor(fx->mon, SAFETY_NET_MS, NULL, &err);
    g_assert_null(caps);
    g_assert_nonnull(err);
    test_assert_error_contains(err, "query-qmp-schema");
    assert_mock_done(fx);
}

/* A schema that is not one; a required command refused. */
static void test_mock_bad_replies(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;

    qmp_mock_expect_return(fx->mock, "query-version", NULL,
                           "{\"qemu\":{\"major\":10,\"minor\":1,\"micro\":0},\"package\":\"\"}");
    qmp_mock_expect_return(fx->mock, "query-qmp-schema", NULL,
                           "[{\"name\":\"query-machines\",\"meta-type\":\"command\","
                           "\"arg-type\":\"0\",\"ret-type\":\"0\"},{\"meta-type\":\"object\"}]");
    open_monitor(fx);
    caps = qemu_caps_probe_monitor(fx->mon, SAFETY_NET_MS, NULL, &err);
    g_assert_null(caps);
    g_assert_error(err, QEMU_ERROR, FERRY_ERR_PARSE);
    test_assert_error_contains(err, "entry 1 has no 'name'");
    assert_mock_done(fx);
}

static void test_mock_refused(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;

    qmp_mock_expect_return(fx->mock, "query-version", NULL,
                           "{\"qemu\":{\"major\":10,\"minor\":1,\"micro\":0},\"package\":\"\"}");
    qmp_mock_expect_return(fx->mock, "query-qmp-schema", NULL,
                           "[{\"name\":\"query-machines\",\"meta-type\":\"command\","
                           "\"arg-type\":\"0\",\"ret-type\":\"0\"}]");
    qmp_mock_expect_error(fx->mock, "query-machines", NULL, "GenericError", "mock says no");
    open_monitor(fx);
    caps = qemu_caps_probe_monitor(fx->mon, SAFETY_NET_MS, NULL, &err);
    g_assert_null(caps);
    g_assert_error(err, ferry_error_quark(FERRY_FROM_MONITOR), FERRY_ERR_OPERATION_FAILED);
    test_assert_error_contains(err, "mock says no");
    assert_mock_done(fx);
}

/* ---------------------------------------------------------------- binaries */

static void test_binary_missing(void)
{
    g_autoptr(QemuCapsCache) cache = qemu_caps_cache_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = qemu_caps_get(cache, "/nonexistent/qemu-system-x86_64", &err);

    g_assert_null(caps);
    g_assert_error(err, QEMU_ERROR, FERRY_ERR_SYSTEM);
    test_assert_error_contains(err, "'/nonexistent/qemu-system-x86_64'");
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 0);
    g_clear_error(&err);

    caps = qemu_caps_get(cache, "", &err);
    g_assert_null(caps);
    g_assert_error(err, QEMU_ERROR, FERRY_ERR_INVALID_ARG);
    assert_no_children();
}

static void test_binary_not_executable(void)
{
    g_autofree char *dir = g_dir_make_tmp("ferry-caps-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "qemu", NULL);
    g_autoptr(QemuCapsCache) cache = qemu_caps_cache_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;

    g_assert_true(g_file_set_contents(path, "not a program\n", -1, NULL));
    g_assert_cmpint(g_chmod(path, 0644), ==, 0);
    caps = qemu_caps_get(cache, path, &err);
    g_assert_null(caps);
    g_assert_error(err, QEMU_ERROR, FERRY_ERR_INVALID_ARG);
    test_assert_error_contains(err, path);
    g_unlink(path);
    g_rmdir(dir);
    assert_no_children();
}

/* A "QEMU" that exits at once: the error names it and says how it ended. */
static void test_binary_exits(void)
{
    g_autoptr(QemuCapsCache) cache = qemu_caps_cache_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;
    g_autofree char *prog = g_find_program_in_path("false");

    if (!prog) {
        g_test_skip("no 'false' program");
        return;
    }
    caps = qemu_caps_get(cache, prog, &err);
    g_assert_null(caps);
    g_assert_error(err, QEMU_ERROR, FERRY_ERR_OPERATION_FAILED);
    test_assert_error_contains(err, prog);
    test_assert_error_contains(err, "exited with status 1");
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 1);
    assert_no_children();
}

/* A "QEMU" that never opens its socket: a timeout, and it is reaped. */
static void test_binary_hangs(void)
{
    g_autofree char *dir = g_dir_make_tmp("ferry-caps-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "qemu-never-answers", NULL);
    g_autofree char *sleep_prog = g_find_program_in_path("sleep");
    g_autofree char *script = NULL;
    g_autoptr(QemuCapsCache) cache = qemu_caps_cache_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;

    if (!sleep_prog) {
        g_test_skip("no 'sleep' program");
        return;
    }
    script = g_strdup_printf("#!/bin/sh\nexec %s 60\n", sleep_prog);
    g_assert_true(g_file_set_contents(path, script, -1, NULL));
    g_assert_cmpint(g_chmod(path, 0755), ==, 0);
    qemu_caps_cache_set_timeout(cache, SHORT_TIMEOUT_MS);
    caps = qemu_caps_get(cache, path, &err);
    g_assert_null(caps);
    g_assert_error(err, QEMU_ERROR, FERRY_ERR_OPERATION_TIMEOUT);
    test_assert_error_contains(err, path);
    g_unlink(path);
    g_rmdir(dir);
    assert_no_children();
}

/* ---------------------------------------------------------------- real QEMU */

static void test_real_probe(void)
{
    g_autoptr(QemuCapsCache) cache = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;
    g_autoptr(QemuCaps) again = NULL;
    g_autoptr(QemuCaps) nokvm = NULL;
    int major = 0, minor = 0, micro = -1;
    static const char *const mig_caps[] = { "xbzrle", "auto-converge", "postcopy-ram", "multifd" };
    static const QemuCapsFlag on[] = {
        QEMU_CAPS_MULTIFD,
        QEMU_CAPS_POSTCOPY_RAM,
        QEMU_CAPS_AUTO_CONVERGE,
        QEMU_CAPS_XBZRLE,
        QEMU_CAPS_ADD_FD,
        QEMU_CAPS_FDSET,
        QEMU_CAPS_GETFD,
        QEMU_CAPS_MIGRATE_INCOMING,
        QEMU_CAPS_BLOCKDEV,
        QEMU_CAPS_RETURN_PATH,
        QEMU_CAPS_PAUSE_BEFORE_SWITCHOVER,
        QEMU_CAPS_MIGRATION_EVENT,
        QEMU_CAPS_MIGRATION_PASS_EVENT,
        QEMU_CAPS_MIGRATE_DIRTY_RATE,
    };
    static const QemuCapsFlag off[] = {
        QEMU_CAPS_FILE_URI,         QEMU_CAPS_MAPPED_RAM,          QEMU_CAPS_CPR_TRANSFER,
        QEMU_CAPS_CPR_REBOOT,       QEMU_CAPS_ZERO_PAGE_DETECTION, QEMU_CAPS_DIRECT_IO,
        QEMU_CAPS_BACKEND_TRANSFER, QEMU_CAPS_MIGRATE_CHANNELS,    QEMU_CAPS_FILE_FDSET,
    };

    if (!have_qemu())
        return;
    cache = qemu_caps_cache_new(NULL);
    caps = qemu_caps_get(cache, QEMU_SYSTEM_X86_64, &err);
    g_assert_no_error(err);
    g_assert_nonnull(caps);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 1);
    g_assert_cmpstr(qemu_caps_get_binary(caps), ==, QEMU_SYSTEM_X86_64);

    qemu_caps_get_version(caps, &major, &minor, &micro);
    g_test_message("QEMU %d.%d.%d (%s)", major, minor, micro, qemu_caps_get_package(caps));
    g_assert_cmpint(major, ==, 7);
    g_assert_cmpint(minor, ==, 2);
    g_assert_cmpint(micro, >=, 0);
    g_assert_cmpstr(qemu_caps_get_arch(caps), ==, "x86_64");
    g_assert_nonnull(qemu_caps_machine_canonical(caps, "pc"));
    g_assert_nonnull(qemu_caps_machine_canonical(caps, "q35"));
    g_assert_cmpstr(qemu_caps_get_default_machine(caps), ==, "pc-i440fx-7.2");
    g_assert_cmpstr(qemu_caps_machine_canonical(caps, "pc"), ==, "pc-i440fx-7.2");
    g_assert_cmpstr(qemu_caps_machine_canonical(caps, "q35"), ==, "pc-q35-7.2");
    for (guint i = 0; i < G_N_ELEMENTS(mig_caps); i++)
        g_assert_true(qemu_caps_has_migration_capability(caps, mig_caps[i]));
    g_assert_true(qemu_caps_has_migration_parameter(caps, "multifd-channels"));
    for (guint i = 0; i < G_N_ELEMENTS(on); i++)
        if (!qemu_caps_has(caps, on[i]))
            g_error("flag '%s' is off on QEMU 7.2", qemu_caps_flag_to_string(on[i]));
    for (guint i = 0; i < G_N_ELEMENTS(off); i++)
        if (qemu_caps_has(caps, off[i]))
            g_error("flag '%s' is on on QEMU 7.2", qemu_caps_flag_to_string(off[i]));
    g_assert_true(g_strv_contains(qemu_caps_get_accels(caps), "tcg"));
    g_assert_cmpint(qemu_caps_kvm_usable(caps), ==, kvm_device_opens());
    g_assert_true(qemu_caps_schema_has_command(qemu_caps_get_schema(caps), "query-qmp-schema"));
    g_assert_true(g_strv_contains(qemu_caps_get_cpu_models(caps), "qemu64"));

    /* The second ask is answered from memory: the same object, no probe. */
    again = qemu_caps_get(cache, QEMU_SYSTEM_X86_64, &err);
    g_assert_no_error(err);
    g_assert_true(again == caps);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 1);

    /* A bare name is looked up in PATH: the same entry. */
    g_autofree char *in_path = g_find_program_in_path("qemu-system-x86_64");
    if (g_strcmp0(in_path, QEMU_SYSTEM_X86_64) == 0) {
        g_autoptr(QemuCaps) by_name = qemu_caps_get(cache, "qemu-system-x86_64", &err);

        g_assert_no_error(err);
        g_assert_true(by_name == caps);
        g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 1);
    }
    g_autoptr(QemuCaps) not_in_path = qemu_caps_get(cache, "ferry-no-such-qemu", &err);
    g_assert_null(not_in_path);
    g_assert_error(err, QEMU_ERROR, FERRY_ERR_INVALID_ARG);
    test_assert_error_contains(err, "'ferry-no-such-qemu'");
    g_clear_error(&err);

    /* Whether the KVM device opens is part of what the entry depends on. */
    qemu_caps_cache_set_kvm_device(cache, "/nonexistent/kvm");
    nokvm = qemu_caps_get(cache, QEMU_SYSTEM_X86_64, &err);
    g_assert_no_error(err);
    g_assert_nonnull(nokvm);
    g_assert_false(qemu_caps_kvm_usable(nokvm));
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, kvm_device_opens() ? 2 : 1);
    assert_no_children();
}

/* Copies the QEMU binary into dir/bin (a binary whose times the test
 * owns), with dir/lib and dir/share linked to the real ones: QEMU finds
 * its modules relative to its own path. */
static char *copy_qemu(const char *dir)
{
    g_autofree char *contents = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *bindir = g_path_get_dirname(QEMU_SYSTEM_X86_64);
    g_autofree char *prefix = g_path_get_dirname(bindir);
    g_autofree char *newbin = g_build_filename(dir, "bin", NULL);
    static const char *const links[] = { "lib", "share" };
    gsize len = 0;
    char *path = g_build_filename(newbin, "qemu-system-x86_64", NULL);

    g_assert_cmpint(g_mkdir(newbin, 0700), ==, 0);
    for (guint i = 0; i < G_N_ELEMENTS(links); i++) {
        g_autofree char *target = g_build_filename(prefix, links[i], NULL);
        g_autofree char *link = g_build_filename(dir, links[i], NULL);

        g_assert_cmpint(symlink(target, link), ==, 0);
    }
    g_assert_true(g_file_get_contents(QEMU_SYSTEM_X86_64, &contents, &len, &err));
    g_assert_no_error(err);
    g_assert_true(g_file_set_contents_full(path, contents, (gssize)len, G_FILE_SET_CONTENTS_NONE,
                                           0755, &err));
    g_assert_no_error(err);
    return path;
}

static void remove_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
            remove_tree(path);
        else
            g_unlink(path);
    }
    g_rmdir(dir);
}

/* A changed binary (its mtime) is probed again, from memory and from disk. */
static void test_real_cache_mtime(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *bin = NULL;
    g_autofree char *cachedir = NULL;
    g_autoptr(QemuCapsCache) cache = NULL;
    g_autoptr(QemuCapsCache) cache2 = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) first = NULL;
    g_autoptr(QemuCaps) second = NULL;
    g_autoptr(QemuCaps) third = NULL;
    struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

    if (!have_qemu())
        return;
    dir = g_dir_make_tmp("ferry-caps-test-XXXXXX", NULL);
    bin = copy_qemu(dir);
    cachedir = g_build_filename(dir, "cache", NULL);
    cache = qemu_caps_cache_new(cachedir);

    first = qemu_caps_get(cache, bin, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 1);

    g_assert_cmpint(utimensat(AT_FDCWD, bin, times, 0), ==, 0);
    second = qemu_caps_get(cache, bin, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 2);
    g_assert_true(second != first);
    g_assert_cmpstr(qemu_caps_get_binary(second), ==, bin);

    /* The file on disk was rewritten for the new binary: a new cache
     * takes it as it is. */
    cache2 = qemu_caps_cache_new(cachedir);
    third = qemu_caps_get(cache2, bin, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache2), ==, 0);

    /* Changed again behind the new cache's back: its disk entry is stale. */
    times[0].tv_sec = times[1].tv_sec = 1100000000;
    g_assert_cmpint(utimensat(AT_FDCWD, bin, times, 0), ==, 0);
    g_clear_pointer(&third, qemu_caps_unref);
    qemu_caps_cache_free(g_steal_pointer(&cache2));
    cache2 = qemu_caps_cache_new(cachedir);
    third = qemu_caps_get(cache2, bin, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache2), ==, 1);

    remove_tree(dir);
    assert_no_children();
}

/* The on-disk cache outlives the cache object; a corrupt file is ignored
 * and rewritten. */
static void test_real_cache_disk(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    g_autofree char *dump1 = NULL;
    g_autofree char *dump2 = NULL;
    g_autofree char *text = NULL;
    g_autoptr(QemuCapsCache) cache = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = NULL;
    g_autoptr(json_object) obj = NULL;
    struct stat st;

    if (!have_qemu())
        return;
    dir = g_dir_make_tmp("ferry-caps-test-XXXXXX", NULL);

    cache = qemu_caps_cache_new(dir);
    caps = qemu_caps_get(cache, QEMU_SYSTEM_X86_64, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 1);
    file = qemu_caps_cache_get_file(cache, QEMU_SYSTEM_X86_64);
    g_assert_true(g_str_has_prefix(file, dir));
    g_assert_cmpint(stat(file, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    dump1 = dump_caps(caps);
    g_clear_pointer(&caps, qemu_caps_unref);
    qemu_caps_cache_free(g_steal_pointer(&cache));

    /* A new cache object: from disk, no probe, the same facts. */
    cache = qemu_caps_cache_new(dir);
    caps = qemu_caps_get(cache, QEMU_SYSTEM_X86_64, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 0);
    dump2 = dump_caps(caps);
    g_assert_cmpstr(dump1, ==, dump2);
    g_assert_cmpint(qemu_caps_kvm_usable(caps), ==, kvm_device_opens());
    g_clear_pointer(&caps, qemu_caps_unref);
    qemu_caps_cache_free(g_steal_pointer(&cache));

    /* Corrupt: ignored, probed again, rewritten. */
    g_assert_true(g_file_set_contents(file, "{\"format\": 1, \"binary\": [garbage", -1, NULL));
    cache = qemu_caps_cache_new(dir);
    caps = qemu_caps_get(cache, QEMU_SYSTEM_X86_64, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 1);
    g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
    obj = json_tokener_parse(text);
    g_assert_nonnull(obj);
    g_clear_pointer(&caps, qemu_caps_unref);
    caps = qemu_caps_from_json(obj, &err);
    g_assert_no_error(err);
    g_assert_nonnull(caps);
    g_clear_pointer(&caps, qemu_caps_unref);
    qemu_caps_cache_free(g_steal_pointer(&cache));

    /* Valid JSON of the wrong shape: the same. */
    g_assert_true(g_file_set_contents(file, "[1, 2, 3]", -1, NULL));
    cache = qemu_caps_cache_new(dir);
    caps = qemu_caps_get(cache, QEMU_SYSTEM_X86_64, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 1);

    remove_tree(dir);
    assert_no_children();
}

typedef struct {
    QemuCapsCache *cache;
    QemuCaps *caps;
    GError *error;
} GetThread;

static gpointer get_thread(gpointer data)
{
    GetThread *t = data;

    t->caps = qemu_caps_get(t->cache, QEMU_SYSTEM_X86_64, &t->error);
    return NULL;
}

/* Threads asking at once for one binary: one probe, one object. */
static void test_real_cache_threads(void)
{
    g_autoptr(QemuCapsCache) cache = NULL;
    GetThread t[4];
    GThread *threads[G_N_ELEMENTS(t)];

    if (!have_qemu())
        return;
    cache = qemu_caps_cache_new(NULL);
    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        t[i] = (GetThread){ cache, NULL, NULL };
        threads[i] = g_thread_new("caps-get", get_thread, &t[i]);
    }
    for (guint i = 0; i < G_N_ELEMENTS(t); i++)
        g_thread_join(threads[i]);
    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        g_assert_no_error(t[i].error);
        g_assert_nonnull(t[i].caps);
        g_assert_true(t[i].caps == t[0].caps);
    }
    for (guint i = 0; i < G_N_ELEMENTS(t); i++)
        qemu_caps_unref(t[i].caps);
    g_assert_cmpuint(qemu_caps_cache_get_probe_count(cache), ==, 1);
    assert_no_children();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-caps/flag-names", test_flag_names);
    g_test_add_func("/qemu-caps/schema/queries", test_schema_queries);
    g_test_add_func("/qemu-caps/schema/recursive", test_schema_recursive);
    g_test_add_data_func("/qemu-caps/schema/roundtrip/mock-newer", "mock-newer.replies",
                         test_schema_roundtrip);
    g_test_add_data_func("/qemu-caps/schema/roundtrip/qemu-7.2", "qemu-7.2-x86_64.replies",
                         test_schema_roundtrip);
    g_test_add_func("/qemu-caps/schema/malformed", test_schema_malformed);
#define ADD(path, fn) \
    g_test_add("/qemu-caps/mock/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("newer", test_mock_newer);
    ADD("partial", test_mock_partial);
    ADD("qemu-7.2", test_mock_7_2);
    ADD("json", test_mock_json);
    ADD("no-kvm-device", test_mock_no_kvm_device);
    ADD("hang", test_mock_hang);
    ADD("eof", test_mock_eof);
    ADD("bad-replies", test_mock_bad_replies);
    ADD("refused", test_mock_refused);
#undef ADD
    g_test_add_func("/qemu-caps/binary/missing", test_binary_missing);
    g_test_add_func("/qemu-caps/binary/not-executable", test_binary_not_executable);
    g_test_add_func("/qemu-caps/binary/exits", test_binary_exits);
    g_test_add_func("/qemu-caps/binary/hangs", test_binary_hangs);
    g_test_add_func("/qemu-caps/real/probe", test_real_probe);
    g_test_add_func("/qemu-caps/real/cache-mtime", test_real_cache_mtime);
    g_test_add_func("/qemu-caps/real/cache-disk", test_real_cache_disk);
    g_test_add_func("/qemu-caps/real/cache-threads", test_real_cache_threads);
    return g_test_run();
}
