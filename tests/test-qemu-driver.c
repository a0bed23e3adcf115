/*
 * test-qemu-driver.c: the QEMU driver and its processes, with real QEMU
 * running the test guest (tests/guest/ferry-guest).
 *
 * Every case has its own temporary root and driver.  The fixture's
 * teardown destroys whatever still runs, closes the driver, then looks in
 * /proc for any process whose command line or environment names the
 * case's root (QEMU's HOME is under it; see testproc.h): each one is a
 * leaked QEMU, killed there (so that a failing case leaves nothing
 * behind) and reported as a failure.  Waits are bounded by a
 * safety deadline (a hang guard, never a timed assertion).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU

#include "util/error.h"
#include "util/log.h"
#include "driver/domain_obj.h"
#include "driver/qemu_driver.h"
#include "driver/qemu_process.h"
#include "tests/testproc.h"

#define SAFETY_MS 60000
#define POLL_US (20 * 1000)
#define KILL_GRACE_MS 2000

static char *caps_dir; /* shared by the cases: QEMU is probed once */
/* The running case's root, for the abort handler. */
static char *current_root;

typedef struct {
    gboolean skip;
    char *root;
    char *kernel;
    char *serial;
    const char *lock_manager;
    char *lease_dir;
    QemuDriver *drv;
} Fixture;

/* ---------------------------------------------------------------- helpers */

static char *guest_kernel_path(void)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");

    if (!top || !*top)
        top = FERRY_TOP_BUILDDIR;
    return g_build_filename(top, "tests", "guest", "ferry-guest", NULL);
}

static void rm_rf(const char *path)
{
    g_autoptr(GDir) dir = NULL;
    const char *entry;

    if (g_file_test(path, G_FILE_TEST_IS_SYMLINK) || !g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_unlink(path);
        return;
    }
    dir = g_dir_open(path, 0, NULL);
    while (dir && (entry = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, entry, NULL);

        rm_rf(child);
    }
    g_rmdir(path);
}

static gboolean pid_exists(gint64 pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

static const char domain_template_[] = "<domain type='qemu'>\n"
                                       "  <name>%s</name>\n"
                                       "  <uuid>%s</uuid>\n"
                                       "  <memory unit='MiB'>%u</memory>\n"
                                       "  <vcpu>1</vcpu>\n"
                                       "  <os>\n"
                                       "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                                       "    <kernel>%s</kernel>\n"
                                       "    <cmdline>%s</cmdline>\n"
                                       "  </os>\n"
                                       "  <devices>\n"
                                       "%s"
                                       "    <serial type='file'>\n"
                                       "      <source path='%s'/>\n"
                                       "    </serial>\n"
                                       "    <memballoon model='none'/>\n"
                                       "  </devices>\n"
                                       "</domain>\n";

static char *domain_xml_args(Fixture *fx, const char *name, const char *uuid, guint mem_mib,
                             const char *kernel, const char *args, const char *disk,
                             const char *serial)
{
    g_autofree char *disk_xml = NULL;

    if (disk)
        disk_xml = g_strdup_printf("    <disk type='file' device='disk'>\n"
                                   "      <driver name='qemu' type='raw'/>\n"
                                   "      <source file='%s'/>\n"
                                   "      <target dev='vda' bus='virtio'/>\n"
                                   "    </disk>\n",
                                   disk);
    return g_strdup_printf(domain_template_, name, uuid, mem_mib, kernel ? kernel : fx->kernel,
                           args, disk_xml ? disk_xml : "", serial ? serial : fx->serial);
}

#define GUEST_ARGS "mem=16 rate=100 seed=1"

static char *domain_xml_full(Fixture *fx, const char *name, const char *uuid, guint mem_mib,
                             const char *kernel, const char *disk, const char *serial)
{
    return domain_xml_args(fx, name, uuid, mem_mib, kernel, GUEST_ARGS, disk, serial);
}

static char *domain_xml(Fixture *fx, const char *name, const char *uuid)
{
    return domain_xml_full(fx, name, uuid, 64, NULL, NULL, NULL);
}

#define UUID_A "6b7c0e2a-1f3d-4c5e-8a9b-0c1d2e3f4a01"
#define UUID_B "6b7c0e2a-1f3d-4c5e-8a9b-0c1d2e3f4a02"

static QemuDriver *open_driver(Fixture *fx)
{
    g_autoptr(GError) err = NULL;
    QemuDriverConfig cfg = QEMU_DRIVER_CONFIG_INIT;
    static const unsigned char host_uuid[FERRY_UUID_BUFLEN] = { 0x11, 0x22, 0x33, 0x44 };
    QemuDriver *drv;

    cfg.root = fx->root;
    cfg.hostname = "testhost";
    cfg.host_uuid = host_uuid;
    cfg.caps_dir = caps_dir;
    cfg.kill_grace_ms = KILL_GRACE_MS;
    cfg.lock_manager = fx->lock_manager;
    cfg.lease_dir = fx->lease_dir;
    drv = qemu_driver_open(&cfg, &err);
    g_assert_no_error(err);
    g_assert_nonnull(drv);
    return drv;
}

/* A failed assertion aborts without running the teardown: kill the
 * case's QEMUs on the way out all the same (best effort: a test process
 * that is going down anyway). */
static void on_abort(int sig)
{
    if (current_root)
        test_kill_processes_naming(current_root);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    g_autofree char *qemu = g_find_program_in_path(QEMU_SYSTEM_X86_64);

    memset(fx, 0, sizeof(*fx));
    fx->kernel = guest_kernel_path();
    if (!qemu) {
        g_test_skip("qemu-system-x86_64 is not installed (" QEMU_SYSTEM_X86_64 ")");
        fx->skip = TRUE;
        return;
    }
    if (!g_file_test(fx->kernel, G_FILE_TEST_IS_REGULAR)) {
        g_test_skip("the test guest is not built (run make first)");
        fx->skip = TRUE;
        return;
    }
    fx->root = g_dir_make_tmp("ferry-drv-XXXXXX", NULL);
    g_assert_nonnull(fx->root);
    current_root = fx->root;
    fx->serial = g_build_filename(fx->root, "serial.log", NULL);
    fx->lock_manager = data;
    if (fx->lock_manager && g_str_equal(fx->lock_manager, "lockd")) {
        fx->lease_dir = g_build_filename(fx->root, "leases", NULL);
        g_assert_cmpint(g_mkdir(fx->lease_dir, 0700), ==, 0);
    }
    fx->drv = open_driver(fx);
}

static gboolean destroy_all(QemuDriver *drv)
{
    g_auto(GStrv) names = qemu_driver_list_names(drv, DOMAIN_LIST_ACTIVE);
    gboolean any = FALSE;

    for (guint i = 0; names[i]; i++) {
        QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
        g_autoptr(GError) err = NULL;

        any = TRUE;
        if (qemu_driver_lookup_by_name(drv, names[i], &ref, &err) &&
            !qemu_driver_domain_destroy(drv, ref.uuid, &err))
            g_printerr("# teardown: destroying '%s': %s\n", names[i], err->message);
        qemu_domain_ref_clear(&ref);
    }
    return any;
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    if (fx->drv) {
        destroy_all(fx->drv);
        qemu_driver_close(fx->drv);
    }
    if (fx->root) {
        guint left = test_kill_processes_naming(fx->root);

        rm_rf(fx->root);
        current_root = NULL;
        g_assert_cmpuint(left, ==, 0);
    }
    g_free(fx->root);
    g_free(fx->kernel);
    g_free(fx->serial);
    g_free(fx->lease_dir);
}

/* ---------------------------------------------------------------- the guest */

typedef struct {
    guint64 tick, checks;
    guint ok_lines;
    gboolean fail;
} SerialState;

/* The last tick line of the serial file (ok_lines 0 when none). */
static void serial_read(const char *path, SerialState *st)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    memset(st, 0, sizeof(*st));
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return;
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        guint64 tick, dirtied, checks;
        char status[16] = "";

        if (!g_str_has_suffix(lines[i], "status=ok") && !strstr(lines[i], "status=FAIL"))
            continue; /* an unfinished last line, or a banner */
        if (sscanf(lines[i],
                   "tick=%" G_GUINT64_FORMAT " dirtied=%" G_GUINT64_FORMAT
                   " checks=%" G_GUINT64_FORMAT " status=%15s",
                   &tick, &dirtied, &checks, status) != 4)
            continue;
        if (!g_str_equal(status, "ok"))
            st->fail = TRUE;
        st->tick = tick;
        st->checks = checks;
        st->ok_lines++;
    }
}

/* Waits until the guest's tick passes min_tick and its self-check count
 * passes min_checks. */
static void serial_wait(Fixture *fx, guint64 min_tick, guint64 min_checks, SerialState *out)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)SAFETY_MS * 1000;
    SerialState st;

    for (;;) {
        serial_read(fx->serial, &st);
        g_assert_false(st.fail);
        if (st.ok_lines > 0 && st.tick > min_tick && st.checks >= min_checks)
            break;
        if (g_get_monotonic_time() > deadline)
            g_error("safety deadline: the guest's serial (%s) shows tick %" G_GUINT64_FORMAT
                    " checks %" G_GUINT64_FORMAT ", waiting for tick > %" G_GUINT64_FORMAT
                    " checks >= %" G_GUINT64_FORMAT,
                    fx->serial, st.tick, st.checks, min_tick, min_checks);
        g_usleep(POLL_US);
    }
    if (out)
        *out = st;
}

/* ---------------------------------------------------------------- domain helpers */

static void define(Fixture *fx, const char *xml, QemuDomainRef *ref)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(qemu_driver_define_xml(fx->drv, xml, ref, &err));
    g_assert_no_error(err);
}

static void check_state(QemuDriver *drv, const unsigned char *uuid, DomainState want,
                        const char *want_reason)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *reason = NULL;
    DomainState state = DOMAIN_STATE_NOSTATE;

    g_assert_true(qemu_driver_domain_get_state(drv, uuid, &state, &reason, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(domain_state_to_string(state), ==, domain_state_to_string(want));
    g_assert_cmpstr(reason, ==, want_reason);
}

/* QEMU's pid for a running domain. */
static gint64 domain_pid(QemuDriver *drv, const unsigned char *uuid)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(qemu_driver_get_domains(drv), uuid, DOMAIN_LOOKUP_LOCKED, &err);
    gint64 pid;

    g_assert_no_error(err);
    pid = obj->pid;
    g_assert_cmpint(pid, >, 0);
    return pid;
}

static char *status_path(Fixture *fx, const char *name)
{
    g_autofree char *file = g_strconcat(name, ".xml", NULL);

    return g_build_filename(fx->root, "run", "ferry", "qemu", file, NULL);
}

static void start(Fixture *fx, const unsigned char *uuid, unsigned int flags)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(qemu_driver_domain_create(fx->drv, uuid, flags, 0, &err));
    g_assert_no_error(err);
}

static void destroy(Fixture *fx, const unsigned char *uuid)
{
    g_autoptr(GError) err = NULL;

    qemu_driver_domain_destroy(fx->drv, uuid, &err);
    g_assert_no_error(err);
}

/* ---------------------------------------------------------------- cases */

/* The migration settings an embedder (ferryd) passes: checked at open,
 * defaults when unset. */
static void test_migration_config(void)
{
    static const struct {
        int min, max;
        const char *address;
        const char *host;
        const char *error; /* NULL: opens */
    } cases[] = {
        { 0, 0, NULL, NULL, NULL },
        { 50000, 50010, "::", "hostb.example.com", NULL },
        { 50010, 50000, NULL, NULL, "migration port range 50010-50000 is empty" },
        { 1, 70000, NULL, NULL, "migration port range 1-70000 is empty or not within 1-65535" },
        { 0, 0, "hostb", NULL, "migration address 'hostb' is not an IP address" },
        { 0, 0, NULL, "", "the migration host must not be empty" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *root = g_dir_make_tmp("ferry-drv-migconf-XXXXXX", NULL);
        QemuDriverConfig cfg = QEMU_DRIVER_CONFIG_INIT;
        QemuDriver *drv;
        int min = -1, max = -1;

        cfg.root = root;
        cfg.caps_dir = caps_dir;
        cfg.migration_port_min = cases[i].min;
        cfg.migration_port_max = cases[i].max;
        cfg.migration_address = cases[i].address;
        cfg.migration_host = cases[i].host;
        drv = qemu_driver_open(&cfg, &err);
        if (cases[i].error) {
            g_assert_null(drv);
            g_assert_true(ferry_error_is(err, FERRY_ERR_CONFIG));
            g_assert_nonnull(strstr(err->message, cases[i].error));
        } else {
            g_assert_no_error(err);
            qemu_driver_get_migration_ports(drv, &min, &max);
            g_assert_cmpint(min, ==, cases[i].min ? cases[i].min : QEMU_DRIVER_MIGRATION_PORT_MIN);
            g_assert_cmpint(max, ==, cases[i].max ? cases[i].max : QEMU_DRIVER_MIGRATION_PORT_MAX);
            g_assert_cmpstr(qemu_driver_get_migration_address(drv), ==, cases[i].address);
            g_assert_cmpstr(qemu_driver_get_migration_host(drv), ==, cases[i].host);
            qemu_driver_close(drv);
        }
        rm_rf(root);
    }
}

static void test_reasons(void)
{
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_RUNNING, "booted"), ==, 1);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_RUNNING, "unpaused"), ==, 5);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_PAUSED, "user"), ==, 1);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_PAUSED, "migration"), ==, 2);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_PAUSED, "starting-up"), ==, 11);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_SHUTOFF, "shutdown"), ==, 1);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_SHUTOFF, "destroyed"), ==, 2);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_SHUTOFF, "crashed"), ==, 3);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_SHUTOFF, "failed"), ==, 6);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_SHUTOFF, NULL), ==, 0);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_SHUTOFF, "bogus"), ==, 0);
    g_assert_cmpint(qemu_driver_state_reason_to_number(DOMAIN_STATE_CRASHED, "panicked"), ==, 1);
    g_assert_cmpstr(qemu_driver_state_reason_from_number(DOMAIN_STATE_SHUTOFF, 2), ==, "destroyed");
    g_assert_null(qemu_driver_state_reason_from_number(DOMAIN_STATE_SHUTOFF, 0));
    g_assert_null(qemu_driver_state_reason_from_number(DOMAIN_STATE_SHUTOFF, 99));
    g_assert_cmpint(qemu_driver_accel_from_string("tcg"), ==, QEMU_DRIVER_ACCEL_TCG);
    g_assert_cmpint(qemu_driver_accel_from_string("xen"), ==, -1);
}

/* start: the guest runs and checks itself; info, XML; destroy. */
static void test_start_destroy(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *live = NULL;
    g_autofree char *inactive = NULL;
    g_autofree char *status = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    QemuDomainInfo info;
    SerialState st;
    gint64 pid;

    if (fx->skip)
        return;
    xml = domain_xml(fx, "guest1", UUID_A);
    define(fx, xml, &ref);
    g_assert_cmpstr(ref.name, ==, "guest1");
    g_assert_cmpint(ref.id, ==, -1);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, NULL);

    start(fx, ref.uuid, 0);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_RUNNING, "booted");
    pid = domain_pid(fx->drv, ref.uuid);
    status = status_path(fx, "guest1");
    g_assert_true(g_file_test(status, G_FILE_TEST_EXISTS));

    /* the guest counts and its self-checks pass, again and again */
    serial_wait(fx, 0, 1, &st);
    serial_wait(fx, st.tick, st.checks + 1, NULL);

    g_assert_true(qemu_driver_domain_get_info(fx->drv, ref.uuid, &info, &err));
    g_assert_no_error(err);
    g_assert_cmpint(info.state, ==, DOMAIN_STATE_RUNNING);
    g_assert_cmpuint(info.max_mem_kib, ==, 65536);
    g_assert_cmpuint(info.memory_kib, ==, 65536);
    g_assert_cmpuint(info.vcpus, ==, 1);
    g_assert_cmpuint(info.cpu_time_ns, >, 0);

    /* the running definition has the canonical machine type and an id */
    live = qemu_driver_domain_get_xml(fx->drv, ref.uuid, 0, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(live, "machine=\"pc-i440fx-"));
    g_assert_nonnull(strstr(live, "<domain type=\"qemu\" id=\""));
    inactive = qemu_driver_domain_get_xml(fx->drv, ref.uuid, QEMU_DRIVER_XML_INACTIVE, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(inactive, "machine=\"pc\""));
    g_assert_null(strstr(inactive, " id=\""));

    {
        QemuDomainRef byid = QEMU_DOMAIN_REF_INIT;

        g_assert_true(qemu_driver_lookup_by_name(fx->drv, "guest1", &ref, &err));
        g_assert_cmpint(ref.id, >, 0);
        g_assert_true(qemu_driver_lookup_by_id(fx->drv, ref.id, &byid, &err));
        g_assert_no_error(err);
        g_assert_cmpstr(byid.name, ==, "guest1");
        qemu_domain_ref_clear(&byid);
    }

    /* starting it again is refused */
    g_assert_false(qemu_driver_domain_create(fx->drv, ref.uuid, 0, 0, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    g_clear_error(&err);

    destroy(fx, ref.uuid);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, "destroyed");
    g_assert_false(pid_exists(pid));
    g_assert_false(g_file_test(status, G_FILE_TEST_EXISTS));
    g_assert_true(qemu_driver_domain_get_info(fx->drv, ref.uuid, &info, &err));
    g_assert_cmpuint(info.cpu_time_ns, ==, 0);

    /* destroying it again is refused */
    g_assert_false(qemu_driver_domain_destroy(fx->drv, ref.uuid, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    g_clear_error(&err);
    qemu_domain_ref_clear(&ref);
}

/* suspend: paused, the guest stops; resume: it counts on from there. */
static void test_suspend_resume(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *status = NULL;
    g_autofree char *status_xml = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    SerialState st, paused;

    if (fx->skip)
        return;
    xml = domain_xml(fx, "guest1", UUID_A);
    define(fx, xml, &ref);
    start(fx, ref.uuid, 0);
    serial_wait(fx, 0, 0, &st);

    g_assert_true(qemu_driver_domain_suspend(fx->drv, ref.uuid, &err));
    g_assert_no_error(err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_PAUSED, "user");
    status = status_path(fx, "guest1");
    g_assert_true(g_file_get_contents(status, &status_xml, NULL, NULL));
    g_assert_nonnull(strstr(status_xml, "state=\"paused\""));
    /* suspending a paused domain changes nothing */
    g_assert_true(qemu_driver_domain_suspend(fx->drv, ref.uuid, &err));
    g_assert_no_error(err);

    serial_read(fx->serial, &paused);
    g_assert_cmpuint(paused.tick, >=, st.tick);

    g_assert_true(qemu_driver_domain_resume(fx->drv, ref.uuid, &err));
    g_assert_no_error(err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_RUNNING, "unpaused");
    serial_wait(fx, paused.tick + 1, 0, NULL);

    destroy(fx, ref.uuid);
    g_assert_false(qemu_driver_domain_resume(fx->drv, ref.uuid, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    qemu_domain_ref_clear(&ref);
}

/* start --paused: the CPUs never ran until resume. */
static void test_start_paused(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    SerialState st;

    if (fx->skip)
        return;
    xml = domain_xml(fx, "guest1", UUID_A);
    define(fx, xml, &ref);
    start(fx, ref.uuid, QEMU_DRIVER_START_PAUSED);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_PAUSED, "user");
    serial_read(fx->serial, &st);
    g_assert_cmpuint(st.ok_lines, ==, 0);

    g_assert_true(qemu_driver_domain_resume(fx->drv, ref.uuid, &err));
    g_assert_no_error(err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_RUNNING, "unpaused");
    serial_wait(fx, 0, 0, NULL);
    destroy(fx, ref.uuid);
    qemu_domain_ref_clear(&ref);
}

/* autodestroy: the domain dies with its connection, or with the driver. */
static void test_autodestroy(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    gint64 pid;

    if (fx->skip)
        return;
    g_assert_true(
        qemu_driver_create_xml(fx->drv, xml, QEMU_DRIVER_START_AUTODESTROY, 42, &ref, &err));
    g_assert_no_error(err);
    g_assert_cmpint(ref.id, >, 0);
    pid = domain_pid(fx->drv, ref.uuid);
    g_assert_cmpuint(qemu_driver_connection_closed(fx->drv, 41), ==, 0);
    g_assert_true(pid_exists(pid));
    g_assert_cmpuint(qemu_driver_connection_closed(fx->drv, 42), ==, 1);
    g_assert_false(pid_exists(pid));
    /* transient: gone */
    g_assert_false(qemu_driver_lookup_by_uuid(fx->drv, ref.uuid, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_DOMAIN));
    g_clear_error(&err);

    /* a defined domain started with autodestroy: closing the driver
     * destroys it too (its connection ends with the daemon) */
    define(fx, xml, &ref);
    start(fx, ref.uuid, QEMU_DRIVER_START_AUTODESTROY);
    pid = domain_pid(fx->drv, ref.uuid);
    qemu_driver_close(g_steal_pointer(&fx->drv));
    g_assert_false(pid_exists(pid));
    fx->drv = open_driver(fx);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, NULL);
    qemu_domain_ref_clear(&ref);
}

/* shutdown: the test guest ignores the ACPI power button. */
static void test_shutdown_ignored(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    start(fx, ref.uuid, 0);
    serial_wait(fx, 0, 0, NULL);
    g_assert_false(qemu_driver_domain_shutdown_wait(fx->drv, ref.uuid, 500, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT));
    g_assert_nonnull(strstr(err->message, "did not shut down"));
    g_clear_error(&err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_RUNNING, "booted");
    destroy(fx, ref.uuid);
    g_assert_false(qemu_driver_domain_shutdown(fx->drv, ref.uuid, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    qemu_domain_ref_clear(&ref);
}

/* The guest powers itself off (the test guest does on bad arguments): shut
 * off, reason "shutdown". */
static void test_guest_poweroff(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml_args(fx, "guest1", UUID_A, 64, NULL, "mem=abc", NULL, NULL);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    gint64 pid;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    start(fx, ref.uuid, 0);
    pid = domain_pid(fx->drv, ref.uuid);
    g_assert_true(qemu_driver_domain_wait_inactive(fx->drv, ref.uuid, SAFETY_MS, &err));
    g_assert_no_error(err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, "shutdown");
    g_assert_false(pid_exists(pid));
    qemu_domain_ref_clear(&ref);
}

/* QEMU killed behind ferry's back: shut off (crashed), status gone, a
 * transient domain removed. */
static void test_crash(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    g_autofree char *xml2 = domain_xml(fx, "guest2", UUID_B);
    g_autofree char *status = status_path(fx, "guest1");
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    QemuDomainRef ref2 = QEMU_DOMAIN_REF_INIT;
    gint64 pid;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    start(fx, ref.uuid, 0);
    pid = domain_pid(fx->drv, ref.uuid);
    g_assert_cmpint(kill((pid_t)pid, SIGKILL), ==, 0);
    g_assert_true(qemu_driver_domain_wait_inactive(fx->drv, ref.uuid, SAFETY_MS, &err));
    g_assert_no_error(err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, "crashed");
    g_assert_false(g_file_test(status, G_FILE_TEST_EXISTS));
    g_assert_false(pid_exists(pid));

    /* SIGTERM from someone else: QEMU says SHUTDOWN first, as libvirt
     * counts it a shutdown */
    start(fx, ref.uuid, 0);
    pid = domain_pid(fx->drv, ref.uuid);
    g_assert_cmpint(kill((pid_t)pid, SIGTERM), ==, 0);
    g_assert_true(qemu_driver_domain_wait_inactive(fx->drv, ref.uuid, SAFETY_MS, &err));
    g_assert_no_error(err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, "shutdown");
    g_assert_false(pid_exists(pid));

    g_assert_true(qemu_driver_create_xml(fx->drv, xml2, 0, 0, &ref2, &err));
    g_assert_no_error(err);
    pid = domain_pid(fx->drv, ref2.uuid);
    g_assert_cmpint(kill((pid_t)pid, SIGKILL), ==, 0);
    g_assert_true(qemu_driver_domain_wait_inactive(fx->drv, ref2.uuid, SAFETY_MS, &err));
    g_assert_false(qemu_driver_lookup_by_uuid(fx->drv, ref2.uuid, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_DOMAIN));
    g_assert_false(pid_exists(pid));
    qemu_domain_ref_clear(&ref);
    qemu_domain_ref_clear(&ref2);
}

/* define, redefine while running, undefine; persistence across driver
 * instances. */
static void test_define_undefine(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    g_autofree char *xml96 = domain_xml_full(fx, "guest1", UUID_A, 96, NULL, NULL, NULL);
    g_autofree char *clash = domain_xml(fx, "guest1", UUID_B);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    gboolean persistent = FALSE;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    g_assert_false(qemu_driver_define_xml(fx->drv, clash, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_DOMAIN_EXISTS));
    g_clear_error(&err);
    g_assert_cmpuint(qemu_driver_count(fx->drv, DOMAIN_LIST_INACTIVE), ==, 1);

    /* one driver per root */
    {
        QemuDriverConfig cfg = QEMU_DRIVER_CONFIG_INIT;

        cfg.root = fx->root;
        cfg.caps_dir = caps_dir;
        g_assert_null(qemu_driver_open(&cfg, &err));
        g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
        g_assert_nonnull(strstr(err->message, "another QEMU driver"));
        g_clear_error(&err);
    }

    /* a new driver instance finds the definition */
    qemu_driver_close(g_steal_pointer(&fx->drv));
    fx->drv = open_driver(fx);
    {
        g_auto(GStrv) names = qemu_driver_list_names(fx->drv, DOMAIN_LIST_INACTIVE);

        g_assert_cmpuint(g_strv_length(names), ==, 1);
        g_assert_cmpstr(names[0], ==, "guest1");
    }

    /* redefined while running: the next boot gets it */
    start(fx, ref.uuid, 0);
    define(fx, xml96, NULL);
    {
        g_autofree char *live = qemu_driver_domain_get_xml(fx->drv, ref.uuid, 0, &err);
        g_autofree char *next =
            qemu_driver_domain_get_xml(fx->drv, ref.uuid, QEMU_DRIVER_XML_INACTIVE, &err);

        g_assert_no_error(err);
        g_assert_nonnull(strstr(live, "<memory unit=\"KiB\">65536</memory>"));
        g_assert_nonnull(strstr(next, "<memory unit=\"KiB\">98304</memory>"));
    }
    destroy(fx, ref.uuid);
    {
        QemuDomainInfo info;

        g_assert_true(qemu_driver_domain_get_info(fx->drv, ref.uuid, &info, &err));
        g_assert_cmpuint(info.max_mem_kib, ==, 98304);
    }

    /* undefined while running: transient, gone when it stops */
    start(fx, ref.uuid, 0);
    g_assert_true(qemu_driver_undefine(fx->drv, ref.uuid, &err));
    g_assert_no_error(err);
    g_assert_true(qemu_driver_domain_is_persistent(fx->drv, ref.uuid, &persistent, &err));
    g_assert_false(persistent);
    destroy(fx, ref.uuid);
    g_assert_false(qemu_driver_lookup_by_uuid(fx->drv, ref.uuid, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_DOMAIN));
    g_clear_error(&err);

    /* define and undefine while off; nothing left for the next instance */
    define(fx, xml, &ref);
    g_assert_true(qemu_driver_undefine(fx->drv, ref.uuid, &err));
    g_assert_no_error(err);
    qemu_driver_close(g_steal_pointer(&fx->drv));
    fx->drv = open_driver(fx);
    g_assert_cmpuint(qemu_driver_count(fx->drv, 0), ==, 0);
    qemu_domain_ref_clear(&ref);
}

/* lists, lookups, job info. */
static void test_lists(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    g_autofree char *xml2 = domain_xml(fx, "guest2", UUID_B);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    QemuDomainRef ref2 = QEMU_DOMAIN_REF_INIT;
    DomainJobInfo job;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    define(fx, xml2, &ref2);
    start(fx, ref2.uuid, 0);
    {
        g_auto(GStrv) all = qemu_driver_list_names(fx->drv, 0);
        g_auto(GStrv) active = qemu_driver_list_names(fx->drv, DOMAIN_LIST_ACTIVE);
        g_auto(GStrv) inactive = qemu_driver_list_names(fx->drv, DOMAIN_LIST_INACTIVE);
        g_autoptr(GArray) ids = qemu_driver_list_ids(fx->drv);
        QemuDomainRef byid = QEMU_DOMAIN_REF_INIT;

        g_assert_cmpuint(g_strv_length(all), ==, 2);
        g_assert_cmpstr(active[0], ==, "guest2");
        g_assert_null(active[1]);
        g_assert_cmpstr(inactive[0], ==, "guest1");
        g_assert_null(inactive[1]);
        g_assert_cmpuint(ids->len, ==, 1);
        g_assert_true(qemu_driver_lookup_by_id(fx->drv, g_array_index(ids, int, 0), &byid, &err));
        g_assert_cmpstr(byid.name, ==, "guest2");
        qemu_domain_ref_clear(&byid);
    }
    g_assert_false(qemu_driver_lookup_by_name(fx->drv, "nosuch", NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_DOMAIN));
    g_clear_error(&err);
    g_assert_false(qemu_driver_lookup_by_id(fx->drv, 999, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_DOMAIN));
    g_clear_error(&err);

    g_assert_true(qemu_driver_domain_get_job_info(fx->drv, ref2.uuid, FALSE, &job, &err));
    g_assert_cmpint(job.type, ==, DOMAIN_ASYNC_JOB_NONE);
    g_assert_cmpint(job.status, ==, DOMAIN_JOB_STATUS_NONE);
    g_assert_true(qemu_driver_domain_get_job_info(fx->drv, ref2.uuid, TRUE, &job, &err));
    g_assert_cmpint(job.status, ==, DOMAIN_JOB_STATUS_NONE);
    g_assert_false(qemu_driver_domain_abort_job(fx->drv, ref2.uuid, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    g_clear_error(&err);

    destroy(fx, ref2.uuid);
    qemu_domain_ref_clear(&ref);
    qemu_domain_ref_clear(&ref2);
}

typedef struct {
    QemuDriver *drv;
    const unsigned char *uuid;
    gint calls; /* atomic */
    gint stop; /* atomic */
} Hammer;

/* Suspend, resume, info and state in a loop until the domain stops: every
 * failure must be one that a stopping domain explains. */
static gpointer hammer_thread(gpointer data)
{
    Hammer *h = data;

    while (!g_atomic_int_get(&h->stop)) {
        g_autoptr(GError) err = NULL;
        QemuDomainInfo info;
        gboolean ok;

        switch (g_atomic_int_add(&h->calls, 1) % 3) {
        case 0:
            ok = qemu_driver_domain_suspend(h->drv, h->uuid, &err);
            break;
        case 1:
            ok = qemu_driver_domain_resume(h->drv, h->uuid, &err);
            break;
        default:
            ok = qemu_driver_domain_get_info(h->drv, h->uuid, &info, &err);
            break;
        }
        if (!ok) {
            if (!ferry_error_is(err, FERRY_ERR_OPERATION_INVALID) &&
                !ferry_error_is(err, FERRY_ERR_OPERATION_FAILED) &&
                !ferry_error_is(err, FERRY_ERR_NO_DOMAIN))
                g_error("unexpected failure while the domain stops: %s", err->message);
            if (ferry_error_is(err, FERRY_ERR_NO_DOMAIN) || strstr(err->message, "not running"))
                break;
        }
    }
    return NULL;
}

/* Destroy while other threads use the domain: no deadlock, no QEMU left. */
static void test_concurrent_destroy(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    Hammer h = { 0 };
    GThread *threads[4];
    gint64 deadline;
    gint64 pid;

    if (fx->skip)
        return;
    g_assert_true(qemu_driver_create_xml(fx->drv, xml, 0, 0, &ref, NULL));
    pid = domain_pid(fx->drv, ref.uuid);
    h.drv = fx->drv;
    h.uuid = ref.uuid;
    for (guint i = 0; i < G_N_ELEMENTS(threads); i++)
        threads[i] = g_thread_new("hammer", hammer_thread, &h);
    deadline = g_get_monotonic_time() + (gint64)SAFETY_MS * 1000;
    while (g_atomic_int_get(&h.calls) < 40 && g_get_monotonic_time() < deadline)
        g_usleep(POLL_US / 4);
    destroy(fx, ref.uuid);
    for (guint i = 0; i < G_N_ELEMENTS(threads); i++)
        g_thread_join(threads[i]);
    g_assert_false(pid_exists(pid));
    g_assert_false(qemu_driver_lookup_by_uuid(fx->drv, ref.uuid, NULL, NULL));
    qemu_domain_ref_clear(&ref);
}

typedef struct {
    QemuDriver *drv;
    const unsigned char *uuid;
    gboolean ok;
    GError *err;
} SuspendCall;

static gpointer suspend_thread(gpointer data)
{
    SuspendCall *c = data;

    c->ok = qemu_driver_domain_suspend(c->drv, c->uuid, &c->err);
    return NULL;
}

/* TRUE while some thread holds a sync job of kind job on the domain. */
static gboolean job_held(QemuDriver *drv, const unsigned char *uuid, DomainJob job)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(qemu_driver_get_domains(drv), uuid, DOMAIN_LOOKUP_LOCKED, NULL);

    return obj && obj->job.active == job;
}

/* A QEMU that answers nothing and does not act on SIGTERM (SIGSTOP
 * holds it, as QEMU's own hang in its shutdown would), while a suspend
 * waits on its monitor: destroy sends SIGKILL after the grace period, the
 * suspend then fails as QEMU goes (not by its monitor timeout), and no
 * QEMU is left. */
static void test_destroy_hung(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    SuspendCall call = { 0 };
    GThread *thread;
    gint64 deadline;
    gint64 pid;

    if (fx->skip)
        return;
    g_assert_true(qemu_driver_create_xml(fx->drv, xml, 0, 0, &ref, NULL));
    pid = domain_pid(fx->drv, ref.uuid);
    g_assert_cmpint(kill((pid_t)pid, SIGSTOP), ==, 0);
    call.drv = fx->drv;
    call.uuid = ref.uuid;
    thread = g_thread_new("suspend", suspend_thread, &call);
    deadline = g_get_monotonic_time() + (gint64)SAFETY_MS * 1000;
    while (!job_held(fx->drv, ref.uuid, DOMAIN_JOB_SUSPEND) && g_get_monotonic_time() < deadline)
        g_usleep(POLL_US / 4);
    g_assert_true(job_held(fx->drv, ref.uuid, DOMAIN_JOB_SUSPEND));
    destroy(fx, ref.uuid);
    g_thread_join(thread);
    g_assert_false(call.ok);
    g_assert_nonnull(call.err);
    g_test_message("the suspend: %s", call.err->message);
    g_assert_false(ferry_error_is(call.err, FERRY_ERR_OPERATION_TIMEOUT));
    g_assert_false(pid_exists(pid));
    g_assert_false(qemu_driver_lookup_by_uuid(fx->drv, ref.uuid, NULL, NULL));
    g_clear_error(&call.err);
    qemu_domain_ref_clear(&ref);
}

/* A new driver instance on the same root takes over a running domain. */
static void test_reconnect(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    QemuDomainRef again = QEMU_DOMAIN_REF_INIT;
    SerialState st;
    gint64 pid;
    int id;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    start(fx, ref.uuid, 0);
    serial_wait(fx, 0, 0, &st);
    pid = domain_pid(fx->drv, ref.uuid);
    g_assert_true(qemu_driver_lookup_by_uuid(fx->drv, ref.uuid, &ref, &err));
    id = ref.id;

    qemu_driver_close(g_steal_pointer(&fx->drv));
    g_assert_true(pid_exists(pid)); /* left running */
    fx->drv = open_driver(fx);
    g_assert_true(qemu_driver_lookup_by_uuid(fx->drv, ref.uuid, &again, &err));
    g_assert_no_error(err);
    g_assert_cmpint(again.id, ==, id);
    g_assert_cmpint(domain_pid(fx->drv, ref.uuid), ==, pid);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_RUNNING, "booted");

    /* and controls it */
    g_assert_true(qemu_driver_domain_suspend(fx->drv, ref.uuid, &err));
    g_assert_no_error(err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_PAUSED, "user");
    serial_read(fx->serial, &st);
    g_assert_true(qemu_driver_domain_resume(fx->drv, ref.uuid, &err));
    g_assert_no_error(err);
    serial_wait(fx, st.tick + 1, 0, NULL);

    /* a third instance, the domain paused this time */
    g_assert_true(qemu_driver_domain_suspend(fx->drv, ref.uuid, &err));
    qemu_driver_close(g_steal_pointer(&fx->drv));
    fx->drv = open_driver(fx);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_PAUSED, "user");
    g_assert_true(qemu_driver_domain_resume(fx->drv, ref.uuid, &err));
    g_assert_no_error(err);

    /* it notices QEMU's end although QEMU is not its child */
    destroy(fx, ref.uuid);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, "destroyed");
    g_assert_false(pid_exists(pid));
    qemu_domain_ref_clear(&ref);
    qemu_domain_ref_clear(&again);
}

/* A reconnected QEMU that dies: noticed through its pidfd. */
static void test_reconnect_crash(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    gint64 pid;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    start(fx, ref.uuid, 0);
    pid = domain_pid(fx->drv, ref.uuid);
    qemu_driver_close(g_steal_pointer(&fx->drv));
    fx->drv = open_driver(fx);
    g_assert_cmpint(kill((pid_t)pid, SIGKILL), ==, 0);
    g_assert_true(qemu_driver_domain_wait_inactive(fx->drv, ref.uuid, SAFETY_MS, &err));
    g_assert_no_error(err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, "crashed");
    g_assert_false(pid_exists(pid));

    /* and a QEMU that died while no driver watched */
    start(fx, ref.uuid, 0);
    pid = domain_pid(fx->drv, ref.uuid);
    qemu_driver_close(g_steal_pointer(&fx->drv));
    g_assert_cmpint(kill((pid_t)pid, SIGKILL), ==, 0);
    g_assert_cmpint(waitpid((pid_t)pid, NULL, 0), ==, pid); /* it is this process's child */
    fx->drv = open_driver(fx);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, "crashed");
    qemu_domain_ref_clear(&ref);
}

/* A QEMU that cannot start: its own words in the error, nothing left. */
static void test_start_failure(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *bad = g_build_filename(fx->root ? fx->root : "/", "no-such-kernel", NULL);
    g_autofree char *xml = domain_xml_full(fx, "guest1", UUID_A, 64, bad, NULL, NULL);
    g_autofree char *xml2 = domain_xml_full(fx, "guest2", UUID_B, 64, bad, NULL, NULL);
    g_autofree char *status = status_path(fx, "guest1");
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    g_assert_false(qemu_driver_domain_create(fx->drv, ref.uuid, 0, 0, &err));
    g_assert_nonnull(err);
    g_test_message("start failure: %s", err->message);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_FAILED));
    g_assert_nonnull(strstr(err->message, "no-such-kernel"));
    g_assert_nonnull(strstr(err->message, "guest1"));
    g_clear_error(&err);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, NULL);
    g_assert_false(g_file_test(status, G_FILE_TEST_EXISTS));
    {
        g_autoptr(GArray) left = test_processes_naming(fx->root);

        g_assert_cmpuint(left->len, ==, 0);
    }

    /* transient: gone */
    g_assert_false(qemu_driver_create_xml(fx->drv, xml2, 0, 0, NULL, &err));
    g_assert_nonnull(strstr(err->message, "no-such-kernel"));
    g_clear_error(&err);
    g_assert_false(qemu_driver_lookup_by_name(fx->drv, "guest2", NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_DOMAIN));
    qemu_domain_ref_clear(&ref);
}

/* lockd: two domains on one disk never run together. */
static void test_lockd(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *disk = NULL;
    g_autofree char *serial2 = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *xml2 = NULL;
    QemuDomainRef a = QEMU_DOMAIN_REF_INIT;
    QemuDomainRef b = QEMU_DOMAIN_REF_INIT;

    if (fx->skip)
        return;
    disk = g_build_filename(fx->root, "disk.img", NULL);
    serial2 = g_build_filename(fx->root, "serial2.log", NULL);
    {
        g_autofree char *zeros = g_malloc0(1024 * 1024);

        g_assert_true(g_file_set_contents(disk, zeros, 1024 * 1024, NULL));
    }
    xml = domain_xml_full(fx, "guestA", UUID_A, 64, NULL, disk, NULL);
    xml2 = domain_xml_full(fx, "guestB", UUID_B, 64, NULL, disk, serial2);
    define(fx, xml, &a);
    define(fx, xml2, &b);
    start(fx, a.uuid, 0);
    serial_wait(fx, 0, 0, NULL);

    g_assert_false(qemu_driver_domain_create(fx->drv, b.uuid, 0, 0, &err));
    g_assert_nonnull(err);
    g_test_message("second start: %s", err->message);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_DENIED));
    g_assert_nonnull(strstr(err->message, "locked"));
    g_clear_error(&err);
    check_state(fx->drv, b.uuid, DOMAIN_STATE_SHUTOFF, NULL);
    {
        g_autoptr(GArray) left = test_processes_naming(UUID_B);

        g_assert_cmpuint(left->len, ==, 0);
    }

    /* the leases survive a driver restart with QEMU */
    qemu_driver_close(g_steal_pointer(&fx->drv));
    fx->drv = open_driver(fx);
    g_assert_false(qemu_driver_domain_create(fx->drv, b.uuid, 0, 0, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_DENIED));
    g_clear_error(&err);

    destroy(fx, a.uuid);
    start(fx, b.uuid, 0);
    check_state(fx->drv, b.uuid, DOMAIN_STATE_RUNNING, "booted");
    destroy(fx, b.uuid);
    qemu_domain_ref_clear(&a);
    qemu_domain_ref_clear(&b);
}

/* VNC with autoport and a password: a port chosen at start, shown in the
 * live XML only; the password only with SECURE. */
static void test_graphics(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *base = NULL;
    g_autofree char *live = NULL;
    g_autofree char *secure = NULL;
    g_autofree char *migratable = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (fx->skip)
        return;
    base = domain_xml(fx, "guest1", UUID_A);
    {
        g_auto(GStrv) parts = g_strsplit(base, "    <memballoon", 2);

        xml = g_strconcat(parts[0],
                          "    <graphics type='vnc' autoport='yes' passwd='s3cret'/>\n"
                          "    <memballoon",
                          parts[1], NULL);
    }
    define(fx, xml, &ref);
    start(fx, ref.uuid, 0);
    live = qemu_driver_domain_get_xml(fx->drv, ref.uuid, 0, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(live, "port=\"59"));
    g_assert_null(strstr(live, "s3cret"));
    secure = qemu_driver_domain_get_xml(fx->drv, ref.uuid, QEMU_DRIVER_XML_SECURE, &err);
    g_assert_nonnull(strstr(secure, "s3cret"));
    migratable = qemu_driver_domain_get_xml(fx->drv, ref.uuid, QEMU_DRIVER_XML_MIGRATABLE, &err);
    g_assert_no_error(err);
    g_assert_null(strstr(migratable, "port=\"59"));
    serial_wait(fx, 0, 0, NULL);
    destroy(fx, ref.uuid);
    qemu_domain_ref_clear(&ref);
}

/* create_xml over an inactive persistent domain: it runs with the given
 * definition, and the persistent one comes back when it stops. */
static void test_create_xml_over_defined(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    g_autofree char *xml96 = domain_xml_full(fx, "guest1", UUID_A, 96, NULL, NULL, NULL);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    QemuDomainInfo info;
    gboolean persistent = FALSE;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    g_assert_true(qemu_driver_create_xml(fx->drv, xml96, 0, 0, NULL, &err));
    g_assert_no_error(err);
    g_assert_true(qemu_driver_domain_get_info(fx->drv, ref.uuid, &info, &err));
    g_assert_cmpuint(info.max_mem_kib, ==, 98304);
    g_assert_true(qemu_driver_domain_is_persistent(fx->drv, ref.uuid, &persistent, &err));
    g_assert_true(persistent);
    g_assert_false(qemu_driver_create_xml(fx->drv, xml96, 0, 0, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_DOMAIN_EXISTS));
    g_clear_error(&err);
    destroy(fx, ref.uuid);
    g_assert_true(qemu_driver_domain_get_info(fx->drv, ref.uuid, &info, &err));
    g_assert_cmpuint(info.max_mem_kib, ==, 65536);
    qemu_domain_ref_clear(&ref);
}

/* A transient domain survives a driver restart as a transient one. */
static void test_reconnect_transient(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    gboolean persistent = TRUE;
    gint64 pid;

    if (fx->skip)
        return;
    g_assert_true(qemu_driver_create_xml(fx->drv, xml, 0, 0, &ref, &err));
    g_assert_no_error(err);
    pid = domain_pid(fx->drv, ref.uuid);
    qemu_driver_close(g_steal_pointer(&fx->drv));
    fx->drv = open_driver(fx);
    g_assert_true(qemu_driver_domain_is_persistent(fx->drv, ref.uuid, &persistent, &err));
    g_assert_no_error(err);
    g_assert_false(persistent);
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_RUNNING, "booted");
    destroy(fx, ref.uuid);
    g_assert_false(pid_exists(pid));
    g_assert_false(qemu_driver_lookup_by_uuid(fx->drv, ref.uuid, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_DOMAIN));
    qemu_domain_ref_clear(&ref);
}

/* The destination side of a migration: QEMU waits for the stream with its
 * CPUs stopped (the migration code drives the rest). */
static void test_start_incoming(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, "guest1", UUID_A);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    SerialState st;
    gint64 pid;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    {
        g_autoptr(DomainObjLocked) obj = domain_list_find_by_uuid(
            qemu_driver_get_domains(fx->drv), ref.uuid, DOMAIN_LOOKUP_LOCKED, &err);

        g_assert_no_error(err);
        g_assert_true(domain_job_begin(obj, DOMAIN_JOB_MODIFY, "test", &err));
        g_assert_true(qemu_process_start_incoming(fx->drv, obj, "defer", 0, 0, &err));
        g_assert_no_error(err);
        domain_job_end(obj);
    }
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_PAUSED, "migration");
    pid = domain_pid(fx->drv, ref.uuid);
    g_assert_true(pid_exists(pid));
    serial_read(fx->serial, &st);
    g_assert_cmpuint(st.ok_lines, ==, 0);
    destroy(fx, ref.uuid);
    g_assert_false(pid_exists(pid));
    qemu_domain_ref_clear(&ref);
}

/* libvirt's virtual networks need a network driver that ferry does not
 * have: a clear refusal, before any tap is opened (this test runs in the
 * host's network namespace; the taps are tested in test-qemu-interface). */
static void test_interface_refused(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *base = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (fx->skip)
        return;
    base = domain_xml(fx, "guest1", UUID_A);
    {
        g_auto(GStrv) parts = g_strsplit(base, "    <memballoon", 2);

        xml = g_strconcat(parts[0],
                          "    <interface type='network'><source network='default'/>"
                          "<model type='virtio'/></interface>\n    <memballoon",
                          parts[1], NULL);
    }
    define(fx, xml, &ref);
    g_assert_false(qemu_driver_domain_create(fx->drv, ref.uuid, 0, 0, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
    g_assert_nonnull(strstr(err->message, "domain 'guest1': interface 'net0': libvirt virtual "
                                          "networks (type='network') are not supported"));
    check_state(fx->drv, ref.uuid, DOMAIN_STATE_SHUTOFF, NULL);
    qemu_domain_ref_clear(&ref);
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    ferry_log_init_from_env(NULL);
    caps_dir = g_dir_make_tmp("ferry-drv-caps-XXXXXX", NULL);
    domain_job_set_wait_timeout(SAFETY_MS);
    signal(SIGABRT, on_abort);
    signal(SIGTRAP, on_abort); /* g_error() */

    g_test_add_func("/qemu-driver/reasons", test_reasons);
    g_test_add_func("/qemu-driver/migration-config", test_migration_config);
#define ADD(name, fn, lockmgr) \
    g_test_add("/qemu-driver/" name, Fixture, lockmgr, fixture_setup, fn, fixture_teardown)
    ADD("start-destroy", test_start_destroy, NULL);
    ADD("suspend-resume", test_suspend_resume, NULL);
    ADD("start-paused", test_start_paused, NULL);
    ADD("autodestroy", test_autodestroy, NULL);
    ADD("shutdown-ignored", test_shutdown_ignored, NULL);
    ADD("guest-poweroff", test_guest_poweroff, NULL);
    ADD("crash", test_crash, NULL);
    ADD("define-undefine", test_define_undefine, NULL);
    ADD("lists", test_lists, NULL);
    ADD("concurrent-destroy", test_concurrent_destroy, NULL);
    ADD("destroy-hung", test_destroy_hung, NULL);
    ADD("reconnect", test_reconnect, NULL);
    ADD("reconnect-crash", test_reconnect_crash, NULL);
    ADD("start-failure", test_start_failure, NULL);
    ADD("lockd", test_lockd, "lockd");
    ADD("interface-refused", test_interface_refused, NULL);
    ADD("graphics", test_graphics, NULL);
    ADD("start-incoming", test_start_incoming, NULL);
    ADD("create-xml-over-defined", test_create_xml_over_defined, NULL);
    ADD("reconnect-transient", test_reconnect_transient, NULL);
#undef ADD
    rc = g_test_run();
    if (caps_dir)
        rm_rf(caps_dir);
    g_free(caps_dir);
    return rc;
}
