/*
 * test-migration.c: v3 live migration between two QEMU drivers in one
 * process, each on its own temporary root with its own host identity (two
 * "hosts"), with real QEMU and the test guest.
 *
 * Each side's guest writes its serial output under its own root: the
 * destination's path comes from destination_xml (the same XML with the
 * other path; the path is not part of the guest ABI).  A migration passes
 * when the guest, on the destination, keeps counting past the last tick
 * the source printed and completes new self-checks with status=ok.
 *
 * A guest that dirties memory needs kvm (QEMU 7.2's tcg loses dirty pages
 * during migration); under tcg the guest is idle (rate=0).  No timed
 * assertions: waits have safety deadlines only.
 */
#include <config.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "driver/domain_obj.h"
#include "driver/qemu_driver_ops.h"
#include "migration/migration.h"
#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"
#include "tests/testproc.h"

#define UUID_STR "6a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
#define HOST_A_UUID "aaaaaaaa-0000-4000-8000-00000000000a"
#define HOST_B_UUID "bbbbbbbb-0000-4000-8000-00000000000b"
/* Safety deadline of every wait (not a timing). */
#define WAIT_MS 120000

typedef struct {
    char *root_a;
    char *root_b;
    char *kernel;
    char *lease_dir; /* lockd: shared by both "hosts" */
    gboolean kvm;
    QemuDriver *a;
    QemuDriver *b;
    DriverConn *src;
    DriverConn *dst;
} Fixture;

typedef struct {
    gboolean same_host; /* both drivers claim one host uuid */
    gboolean lockd; /* both use lockd with one lease directory */
    /* test_options: the migration's extra flags and one typed parameter */
    unsigned int flags;
    const char *param;
    int int_value; /* TYPED_PARAM_INT when str_value is NULL */
    const char *str_value;
} FixtureOpts;

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

static gboolean kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return FALSE;
    close(fd);
    return TRUE;
}

static QemuDriver *open_driver(const char *root, const char *host_uuid, const char *hostname,
                               gboolean kvm, const char *lease_dir)
{
    g_autoptr(GError) err = NULL;
    QemuDriverConfig cfg = QEMU_DRIVER_CONFIG_INIT;
    unsigned char uuid[FERRY_UUID_BUFLEN];
    QemuDriver *drv;

    g_assert_cmpint(ferry_uuid_parse(host_uuid, uuid, NULL), ==, 0);
    cfg.root = root;
    cfg.accel = kvm ? QEMU_DRIVER_ACCEL_KVM : QEMU_DRIVER_ACCEL_TCG;
    cfg.host_uuid = uuid;
    cfg.hostname = hostname;
    if (lease_dir) {
        cfg.lock_manager = "lockd";
        cfg.lease_dir = lease_dir;
    }
    drv = qemu_driver_open(&cfg, &err);
    g_assert_no_error(err);
    return drv;
}

/* The roots of the running case: an assertion that aborts the program
 * still kills the QEMUs it started (the teardown does not run then). */
static char *abort_roots[2];

static void on_abort(int sig)
{
    for (gsize i = 0; i < G_N_ELEMENTS(abort_roots); i++) {
        if (abort_roots[i])
            test_kill_processes_naming(abort_roots[i]);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    const FixtureOpts *opts = data;
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");

    fx->kernel =
        g_build_filename(top ? top : FERRY_TOP_BUILDDIR, "tests", "guest", "ferry-guest", NULL);
    /* FERRY_TEST_ACCEL=tcg: the idle tcg guest even where kvm works */
    fx->kvm = kvm_usable() && g_strcmp0(g_getenv("FERRY_TEST_ACCEL"), "tcg") != 0;
    fx->root_a = g_dir_make_tmp("ferry-migA-XXXXXX", NULL);
    fx->root_b = g_dir_make_tmp("ferry-migB-XXXXXX", NULL);
    g_assert_nonnull(fx->root_a);
    g_assert_nonnull(fx->root_b);
    abort_roots[0] = fx->root_a;
    abort_roots[1] = fx->root_b;
    if (opts && opts->lockd) {
        fx->lease_dir = g_build_filename(fx->root_a, "leases", NULL);
        g_assert_cmpint(g_mkdir(fx->lease_dir, 0700), ==, 0);
    }
    fx->a = open_driver(fx->root_a, HOST_A_UUID, "hostA", fx->kvm, fx->lease_dir);
    fx->b = open_driver(fx->root_b, opts && opts->same_host ? HOST_A_UUID : HOST_B_UUID, "hostB",
                        fx->kvm, fx->lease_dir);
    fx->src = qemu_driver_conn_open(fx->a, 1, "qemu:///system");
    fx->dst = qemu_driver_conn_open(fx->b, 2, "qemu:///system");
}

/* Destroys whatever still runs on drv (a test stops what it started; this
 * catches what a failing assertion left). */
static void destroy_all(QemuDriver *drv)
{
    g_auto(GStrv) names = qemu_driver_list_names(drv, DOMAIN_LIST_ACTIVE);

    for (char **n = names; n && *n; n++) {
        QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

        if (qemu_driver_lookup_by_name(drv, *n, &ref, NULL))
            qemu_driver_domain_destroy(drv, ref.uuid, NULL);
        qemu_domain_ref_clear(&ref);
    }
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    driver_conn_unref(fx->src);
    driver_conn_unref(fx->dst);
    destroy_all(fx->a);
    destroy_all(fx->b);
    qemu_driver_close(fx->a);
    qemu_driver_close(fx->b);
    guint left = test_kill_processes_naming(fx->root_a) + test_kill_processes_naming(fx->root_b);
    abort_roots[0] = abort_roots[1] = NULL;
    remove_tree(fx->root_a);
    remove_tree(fx->root_b);
    g_free(fx->root_a);
    g_free(fx->root_b);
    g_free(fx->kernel);
    g_free(fx->lease_dir);
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

static char *serial_path(const char *root)
{
    return g_build_filename(root, "serial.log", NULL);
}

/* The guest's XML with its serial output under root.  Under kvm the guest
 * dirties memory; under tcg it is idle. */
static char *guest_xml_disk(Fixture *fx, const char *root, const char *name, const char *uuid,
                            int memory_mib, const char *disk)
{
    g_autofree char *serial = serial_path(root);
    g_autofree char *disk_xml = NULL;

    if (disk)
        disk_xml = g_strdup_printf("    <disk type='file' device='disk'>\n"
                                   "      <driver name='qemu' type='raw'/>\n"
                                   "      <source file='%s'/>\n"
                                   "      <target dev='vda' bus='virtio'/>\n"
                                   "    </disk>\n",
                                   disk);

    return g_strdup_printf("<domain type='%s'>\n"
                           "  <name>%s</name>\n"
                           "  <uuid>%s</uuid>\n"
                           "  <memory unit='MiB'>%d</memory>\n"
                           "  <vcpu>1</vcpu>\n"
                           "  <os>\n"
                           "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                           "    <kernel>%s</kernel>\n"
                           "    <cmdline>mem=8 rate=%d seed=7</cmdline>\n"
                           "  </os>\n"
                           "  <devices>\n"
                           "%s"
                           "    <serial type='file'><source path='%s'/></serial>\n"
                           "    <memballoon model='none'/>\n"
                           "  </devices>\n"
                           "</domain>\n",
                           fx->kvm ? "kvm" : "qemu", name, uuid, memory_mib, fx->kernel,
                           fx->kvm ? 200 : 0, disk_xml ? disk_xml : "", serial);
}

static char *guest_xml(Fixture *fx, const char *root, const char *name, int memory_mib)
{
    return guest_xml_disk(fx, root, name, UUID_STR, memory_mib, NULL);
}

/* The last "tick=" line of a serial file: its tick and checks; FALSE when
 * there is none.  A FAIL line fails the test at once. */
static gboolean serial_last(const char *path, guint *tick, guint *checks)
{
    g_autofree char *text = NULL;
    gboolean found = FALSE;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        guint t = 0, d = 0, c = 0;

        if (strstr(*l, "status=FAIL"))
            g_error("the guest reports lost memory: %s (%s)", *l, path);
        if (sscanf(*l, "tick=%u dirtied=%u checks=%u status=ok", &t, &d, &c) == 3 &&
            g_str_has_suffix(*l, "status=ok")) {
            *tick = t;
            *checks = c;
            found = TRUE;
        }
    }
    return found;
}

/* Waits until the serial file shows tick > min_tick and checks > min_checks. */
static void wait_serial(const char *path, guint min_tick, guint min_checks, guint *tick,
                        guint *checks)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    guint t = 0, c = 0;

    while (!(serial_last(path, &t, &c) && t > min_tick && c > min_checks)) {
        if (g_get_monotonic_time() > deadline)
            g_error("%s: no tick > %u with checks > %u (last tick %u, checks %u)", path, min_tick,
                    min_checks, t, c);
        g_usleep(20000);
    }
    if (tick)
        *tick = t;
    if (checks)
        *checks = c;
}

/* lockd: a disk on "shared storage" (the same path on both hosts). */
static char *disk_path(Fixture *fx)
{
    return fx->lease_dir ? g_build_filename(fx->root_a, "disk.img", NULL) : NULL;
}

static void start_guest(Fixture *fx, DriverDomain *dom, gboolean persistent)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *disk = disk_path(fx);
    g_autofree char *xml = guest_xml_disk(fx, fx->root_a, "mig1", UUID_STR, 64, disk);
    g_autofree char *serial = serial_path(fx->root_a);

    if (disk && !g_file_test(disk, G_FILE_TEST_EXISTS))
        g_assert_true(g_file_set_contents(disk, "", 0, NULL));
    if (persistent) {
        g_assert_true(fx->src->ops->define_xml(fx->src, xml, 0, dom, &err));
        g_assert_no_error(err);
        g_assert_true(fx->src->ops->create(fx->src, dom, 0, &err));
    } else {
        g_assert_true(fx->src->ops->create_xml(fx->src, xml, 0, dom, &err));
    }
    g_assert_no_error(err);
    /* filled and checked once: the guest is really running */
    wait_serial(serial, 1, 0, NULL, NULL);
}

/* The running guest's migratable XML (as `dumpxml --migratable` gives
 * it) with the serial file under the destination's root. */
static char *dest_xml(Fixture *fx, const DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = fx->src->ops->get_xml_desc(fx->src, dom, DRIVER_XML_MIGRATABLE, &err);
    g_autofree char *from = serial_path(fx->root_a);
    g_autofree char *to = serial_path(fx->root_b);

    g_assert_no_error(err);
    g_assert_nonnull(strstr(xml, from));
    g_autoptr(GString) out = g_string_new(xml);
    g_string_replace(out, from, to, 0);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Typed parameters for a migration between the two local drivers. */
static TypedParams *mig_params(Fixture *fx, const DriverDomain *dom)
{
    g_autoptr(TypedParams) params = typed_params_new();
    g_autofree char *dxml = dest_xml(fx, dom);

    g_assert_cmpint(typed_params_add_string(params, MIGRATION_PARAM_DEST_XML, dxml, NULL), ==, 0);
    g_assert_cmpint(
        typed_params_add_string(params, MIGRATION_PARAM_LISTEN_ADDRESS, "127.0.0.1", NULL), ==, 0);
    return g_steal_pointer(&params);
}

static int state_of(DriverConn *conn, const DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    int state = -1, reason = -1;

    g_assert_true(conn->ops->get_state(conn, dom, &state, &reason, 0, &err));
    g_assert_no_error(err);
    return state;
}

static gboolean domain_exists(DriverConn *conn, const char *name)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

    return conn->ops->lookup_by_name(conn, name, &dom, NULL);
}

static guint processes_naming(const char *root)
{
    g_autoptr(GArray) pids = test_processes_naming(root);

    return pids->len;
}

/* The guest keeps counting on the destination, past the source's last
 * tick, and completes new self-checks there. */
static void check_guest_moved(Fixture *fx)
{
    g_autofree char *src_serial = serial_path(fx->root_a);
    g_autofree char *dst_serial = serial_path(fx->root_b);
    guint src_tick = 0, src_checks = 0, dst_tick = 0, dst_checks = 0;

    g_assert_true(serial_last(src_serial, &src_tick, &src_checks));
    wait_serial(dst_serial, src_tick, 0, &dst_tick, &dst_checks);
    /* and a self-check that started on the destination completes */
    wait_serial(dst_serial, dst_tick, MAX(dst_checks, src_checks), NULL, NULL);
}

/* ---------------------------------------------------------------- cases */

static void test_features(Fixture *fx, gconstpointer data)
{
    const int features[] = {
        DRIVER_FEATURE_MIGRATION_V3,
        DRIVER_FEATURE_MIGRATION_PARAMS,
        DRIVER_FEATURE_MIGRATE_CHANGE_PROTECTION,
        DRIVER_FEATURE_MIGRATION_OFFLINE,
    };

    for (gsize i = 0; i < G_N_ELEMENTS(features); i++) {
        gboolean supported = FALSE;

        g_assert_true(fx->src->ops->supports_feature(fx->src, features[i], &supported, NULL));
        g_assert_true(supported);
    }
}

static void test_live(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, &arrived, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(arrived.name, ==, "mig1");
    g_assert_cmpint(arrived.id, >, 0);

    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_false(domain_exists(fx->src, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_a), ==, 0);
    check_guest_moved(fx);

    /* the destination owns it now: closing the preparing connection
     * leaves it running */
    driver_conn_unref(g_steal_pointer(&fx->dst));
    fx->dst = qemu_driver_conn_open(fx->b, 3, "qemu:///system");
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

static void test_paused_persist_undefine(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    gboolean persistent = FALSE;
    unsigned int flags =
        MIGRATION_LIVE | MIGRATION_PAUSED | MIGRATION_PERSIST_DEST | MIGRATION_UNDEFINE_SOURCE;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, TRUE);
    params = mig_params(fx, &dom);
    g_assert_cmpint(typed_params_add_ullong(params, MIGRATION_PARAM_BANDWIDTH, 1000, NULL), ==, 0);
    migration_sequence(fx->src, fx->dst, &dom, params, flags, &arrived, &err);
    g_assert_no_error(err);

    /* PAUSED: it waits on the destination */
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_PAUSED);
    /* UNDEFINE_SOURCE: gone from the source */
    g_assert_false(domain_exists(fx->src, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_a), ==, 0);
    /* PERSIST_DEST: defined there, and still after a driver restart */
    g_assert_true(fx->dst->ops->is_persistent(fx->dst, &arrived, &persistent, &err));
    g_assert_true(persistent);
    driver_conn_unref(g_steal_pointer(&fx->dst));
    qemu_driver_close(fx->b);
    fx->b = open_driver(fx->root_b, HOST_B_UUID, "hostB", fx->kvm, fx->lease_dir);
    fx->dst = qemu_driver_conn_open(fx->b, 4, "qemu:///system");
    g_assert_true(fx->dst->ops->is_persistent(fx->dst, &arrived, &persistent, &err));
    g_assert_no_error(err);
    g_assert_true(persistent);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_PAUSED);

    /* resumed, it runs on from where it was */
    g_assert_true(fx->dst->ops->resume(fx->dst, &arrived, &err));
    g_assert_no_error(err);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
    g_assert_true(fx->dst->ops->undefine(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

static void test_offline(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autofree char *xml = guest_xml(fx, fx->root_a, "mig1", 64);
    gboolean persistent = FALSE, active = TRUE;

    g_assert_true(fx->src->ops->define_xml(fx->src, xml, 0, &dom, &err));
    g_assert_no_error(err);
    g_assert_true(migration_sequence(
        fx->src, fx->dst, &dom, NULL,
        MIGRATION_OFFLINE | MIGRATION_PERSIST_DEST | MIGRATION_UNDEFINE_SOURCE, &arrived, &err));
    g_assert_no_error(err);
    g_assert_false(domain_exists(fx->src, "mig1"));
    g_assert_true(fx->dst->ops->is_persistent(fx->dst, &arrived, &persistent, &err));
    g_assert_true(persistent);
    g_assert_true(fx->dst->ops->is_active(fx->dst, &arrived, &active, &err));
    g_assert_false(active);
    g_assert_cmpuint(processes_naming(fx->root_a) + processes_naming(fx->root_b), ==, 0);
}

/* The source guest is untouched: running, no job left (suspend and resume
 * work at once). */
static void check_source_untouched(Fixture *fx, const DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    int type = -1;
    g_autoptr(TypedParams) stats = NULL;

    g_assert_cmpint(state_of(fx->src, dom), ==, DRIVER_STATE_RUNNING);
    g_assert_true(fx->src->ops->get_job_stats(fx->src, dom, 0, &type, &stats, &err));
    g_assert_no_error(err);
    g_assert_cmpint(type, ==, DRIVER_JOB_NONE);
    g_assert_true(fx->src->ops->suspend(fx->src, dom, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->resume(fx->src, dom, &err));
    g_assert_no_error(err);
}

static void test_same_host(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, NULL, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "migrating to the same host"));
    g_assert_nonnull(strstr(err->message, "'mig1'"));
    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

static void test_fail_begin(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) bad = NULL;
    g_autofree char *other = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    /* a flag ferry does not do */
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params,
                                      MIGRATION_LIVE | MIGRATION_TUNNELLED, NULL, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_NO_SUPPORT);
    g_assert_nonnull(strstr(err->message, "unsupported flags 0x4"));
    g_clear_error(&err);
    check_source_untouched(fx, &dom);

    /* a destination XML that changes the guest (ABI check) */
    bad = typed_params_new();
    other = guest_xml(fx, fx->root_b, "mig1", 128);
    typed_params_add_string(bad, MIGRATION_PARAM_DEST_XML, other, NULL);
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, bad, MIGRATION_LIVE, NULL, &err));
    g_assert_nonnull(strstr(err->message, "changes the guest"));
    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* A TCP port on 127.0.0.1 that this process listens on (fd returned). */
static int listen_any(int *port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sin, &len), ==, 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

static void test_fail_prepare_port(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *uri = NULL;
    int port = 0;
    int fd;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    fd = listen_any(&port);
    params = mig_params(fx, &dom);
    uri = g_strdup_printf("tcp:127.0.0.1:%d", port);
    typed_params_add_string(params, MIGRATION_PARAM_URI, uri, NULL);
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, NULL, &err));
    g_assert_nonnull(strstr(err->message, "cannot listen"));
    close(fd);
    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* The phases by hand: Perform3 to a port nobody listens on. */
static void test_fail_perform(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(TypedParams) sparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    g_autofree char *xml = NULL, *uri = NULL, *bad_uri = NULL;
    int port = 0;
    int fd;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    g_assert_true(g_str_has_prefix(uri, "tcp:127.0.0.1:"));

    /* a port that was free a moment ago */
    fd = listen_any(&port);
    close(fd);
    bad_uri = g_strdup_printf("tcp:127.0.0.1:%d", port);
    sparams = typed_params_copy(params);
    typed_params_add_string(sparams, MIGRATION_PARAM_URI, bad_uri, NULL);
    g_assert_false(fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, c2, MIGRATION_LIVE,
                                                  &c3, &err));
    g_assert_nonnull(err);
    /* the source runs on already */
    g_assert_cmpint(state_of(fx->src, &dom), ==, DRIVER_STATE_RUNNING);

    typed_params_add_string(params, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    g_assert_false(fx->dst->ops->migrate_finish3(fx->dst, params, c3, MIGRATION_LIVE, TRUE,
                                                 &arrived, &c4, &err2));
    g_assert_nonnull(strstr(err2->message, "cancelled"));
    g_clear_error(&err2);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, NULL, NULL, MIGRATION_LIVE, TRUE, &err2));
    g_assert_no_error(err2);
    check_source_untouched(fx, &dom);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

typedef struct {
    Fixture *fx;
    const DriverDomain *dom;
    TypedParams *params;
    gboolean ok;
    GError *err;
} SequenceRun;

static gpointer sequence_thread(gpointer data)
{
    SequenceRun *run = data;

    run->ok = migration_sequence(run->fx->src, run->fx->dst, run->dom, run->params, MIGRATION_LIVE,
                                 NULL, &run->err);
    return NULL;
}

/* domjobabort during Perform3 (slowed down to 1 MiB/s): the source
 * resumes, the destination is gone, the user sees the abort. */
static void test_abort_perform(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    SequenceRun run = { fx, &dom, NULL, FALSE, NULL };
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    int type = -1;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    run.params = mig_params(fx, &dom);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL);
    GThread *thread = g_thread_new("migrate", sequence_thread, &run);

    /* wait until QEMU migrates and measures its rate: the bandwidth asked
     * for (1 MiB/s; QEMU's own default would be 32 MiB/s, ferry's
     * unlimited) bounds it */
    for (;;) {
        g_autoptr(TypedParams) stats = NULL;
        unsigned long long processed = 0, bps = 0;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (fx->src->ops->get_job_stats(fx->src, &dom, 0, &type, &stats, NULL) &&
            type == DRIVER_JOB_UNBOUNDED &&
            typed_params_get_ullong(stats, "memory_processed", &processed, NULL) == 1 &&
            typed_params_get_ullong(stats, "memory_bps", &bps, NULL) == 1 && processed > 0 &&
            bps > 0) {
            g_assert_cmpuint(bps, <=, 4 * 1024 * 1024);
            break;
        }
        g_usleep(10000);
    }
    g_assert_true(fx->src->ops->abort_job(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    g_thread_join(thread);
    g_assert_false(run.ok);
    g_assert_nonnull(run.err);
    g_assert_nonnull(strstr(run.err->message, "aborted by the user"));
    g_clear_error(&run.err);
    typed_params_free(run.params);

    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    /* the guest kept its memory across the cancelled migration */
    {
        g_autofree char *serial = serial_path(fx->root_a);
        guint tick = 0, checks = 0;

        g_assert_true(serial_last(serial, &tick, &checks));
        wait_serial(serial, tick, checks, NULL, NULL);
    }
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* Finish3 fails (a persistent_xml for another domain): the destination
 * QEMU is killed and Confirm3 (cancelled) resumes the source. */
static void test_fail_finish(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *other =
        guest_xml_disk(fx, fx->root_b, "other", "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", 64, NULL);
    g_autofree char *serial = serial_path(fx->root_a);
    guint tick = 0, checks = 0;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    typed_params_add_string(params, MIGRATION_PARAM_PERSIST_XML, other, NULL);
    g_assert_false(migration_sequence(fx->src, fx->dst, &dom, params,
                                      MIGRATION_LIVE | MIGRATION_PERSIST_DEST, NULL, &err));
    g_assert_nonnull(strstr(err->message, "finish: the persistent XML has another uuid"));
    check_source_untouched(fx, &dom);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_false(domain_exists(fx->dst, "other"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);
    /* the guest runs on at the source, its memory intact */
    g_assert_true(serial_last(serial, &tick, &checks));
    wait_serial(serial, tick, checks, NULL, NULL);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* The running domain's status XML under root contains text. */
static void status_has(const char *root, const char *text)
{
    g_autofree char *path = g_build_filename(root, "run", "ferry", "qemu", "mig1.xml", NULL);
    g_autofree char *xml = NULL;

    g_assert_true(g_file_get_contents(path, &xml, NULL, NULL));
    if (!strstr(xml, text))
        g_error("%s has no %s:\n%s", path, text, xml);
}

/* A live migration with the options of a case (multifd, compression,
 * auto-converge): QEMU takes them on both sides and the guest arrives
 * intact. */
static void test_options(Fixture *fx, gconstpointer data)
{
    const FixtureOpts *opts = data;
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    if (opts->param && opts->str_value)
        g_assert_cmpint(typed_params_add_string(params, opts->param, opts->str_value, NULL), ==, 0);
    else if (opts->param)
        g_assert_cmpint(typed_params_add_int(params, opts->param, opts->int_value, NULL), ==, 0);
    migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE | opts->flags, &arrived,
                       &err);
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    g_assert_false(domain_exists(fx->src, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_a), ==, 0);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* The client that began a migration goes away before Prepare3: the
 * source's migration job ends with its connection. */
static void test_client_vanishes_after_begin(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) c1 = NULL;
    g_autofree char *xml = NULL;
    DriverConn *client = qemu_driver_conn_open(fx->a, 9, "qemu:///system");
    int type = -1;
    g_autoptr(TypedParams) stats = NULL;

    if (!have_guest(fx)) {
        driver_conn_unref(client);
        return;
    }
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(
        client->ops->migrate_begin3(client, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->get_job_stats(fx->src, &dom, 0, &type, &stats, &err));
    g_assert_cmpint(type, ==, DRIVER_JOB_UNBOUNDED);
    driver_conn_unref(client);
    check_source_untouched(fx, &dom);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* The client goes away between Prepare3 and Perform3: the incoming
 * domain dies with its connection; the source, cancelled, runs on. */
static void test_client_vanishes(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL;
    g_autofree char *xml = NULL, *uri = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    g_assert_true(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), >, 0);
    /* each side's phase is in its status XML */
    status_has(fx->root_a, "phase=\"begin3\"");
    status_has(fx->root_b, "phase=\"prepare\"");

    driver_conn_unref(g_steal_pointer(&fx->dst));
    fx->dst = qemu_driver_conn_open(fx->b, 5, "qemu:///system");
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 0);

    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, NULL, NULL, MIGRATION_LIVE, TRUE, &err));
    g_assert_no_error(err);
    check_source_untouched(fx, &dom);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* Waits until the source's migration moves data (job stats). */
static void wait_migrating(Fixture *fx, const DriverDomain *dom)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    for (;;) {
        g_autoptr(TypedParams) stats = NULL;
        unsigned long long processed = 0;
        int type = -1;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (fx->src->ops->get_job_stats(fx->src, dom, 0, &type, &stats, NULL) &&
            type == DRIVER_JOB_UNBOUNDED &&
            typed_params_get_ullong(stats, "memory_processed", &processed, NULL) == 1 &&
            processed > 0)
            return;
        g_usleep(10000);
    }
}

/* The destination QEMU dies in the middle: Perform3 fails, the source
 * resumes, nothing is left on the destination. */
static void test_dst_killed(Fixture *fx, gconstpointer data)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    SequenceRun run = { fx, &dom, NULL, FALSE, NULL };

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    run.params = mig_params(fx, &dom);
    typed_params_add_ullong(run.params, MIGRATION_PARAM_BANDWIDTH, 1, NULL);
    GThread *thread = g_thread_new("migrate", sequence_thread, &run);

    wait_migrating(fx, &dom);
    {
        /* SIGKILL only: the destination driver reaps its own child */
        g_autoptr(GArray) pids = test_processes_naming(fx->root_b);

        g_assert_cmpuint(pids->len, ==, 1);
        g_assert_cmpint(kill(g_array_index(pids, pid_t, 0), SIGKILL), ==, 0);
    }
    g_thread_join(thread);
    g_assert_false(run.ok);
    g_assert_nonnull(run.err);
    g_assert_nonnull(strstr(run.err->message, "migration failed"));
    g_clear_error(&run.err);
    typed_params_free(run.params);

    check_source_untouched(fx, &dom);
    g_assert_true(
        qemu_driver_domain_wait_inactive(fx->b, (const unsigned char *)dom.uuid, WAIT_MS, NULL));
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, NULL));
}

/* lockd, one lease directory for both hosts: the destination holds the
 * disk once the guest arrived, so a second guest on the source host
 * cannot start on it. */
static void test_lockd(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) thief = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autofree char *disk = disk_path(fx);
    g_autofree char *thief_xml = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    /* while the guest runs on the source, nobody else gets its disk */
    thief_xml =
        guest_xml_disk(fx, fx->root_b, "thief", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", 64, disk);
    g_assert_false(fx->src->ops->create_xml(fx->src, thief_xml, 0, &thief, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_OPERATION_DENIED);
    g_clear_error(&err);

    params = mig_params(fx, &dom);
    migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, &arrived, &err);
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    check_guest_moved(fx);

    /* the lease went with it: still refused on the source host */
    g_assert_false(fx->src->ops->create_xml(fx->src, thief_xml, 0, &thief, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_OPERATION_DENIED);
    g_clear_error(&err);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

int main(int argc, char **argv)
{
    static const FixtureOpts same_host = { .same_host = TRUE };
    static const FixtureOpts lockd = { .lockd = TRUE };
    static const FixtureOpts parallel = { .flags = MIGRATION_PARALLEL,
                                          .param = MIGRATION_PARAM_PARALLEL_CONNECTIONS,
                                          .int_value = 3 };
    static const FixtureOpts xbzrle = { .flags = MIGRATION_COMPRESSED };
    static const FixtureOpts mt = { .flags = MIGRATION_COMPRESSED,
                                    .param = MIGRATION_PARAM_COMPRESSION,
                                    .str_value = "mt" };
    static const FixtureOpts autoconv = { .flags = MIGRATION_AUTO_CONVERGE,
                                          .param = MIGRATION_PARAM_AUTO_CONVERGE_INITIAL,
                                          .int_value = 30 };

    g_test_init(&argc, &argv, NULL);
    ferry_log_init_from_env(NULL);
    migration_init();
    signal(SIGABRT, on_abort);
    signal(SIGTRAP, on_abort); /* g_error() */
#define ADD(path, fn, opts) \
    g_test_add("/migration/" path, Fixture, opts, fixture_setup, fn, fixture_teardown)
    ADD("features", test_features, NULL);
    ADD("live", test_live, NULL);
    ADD("paused-persist-undefine", test_paused_persist_undefine, NULL);
    ADD("offline", test_offline, NULL);
    ADD("same-host", test_same_host, &same_host);
    ADD("fail/begin", test_fail_begin, NULL);
    ADD("fail/prepare-port", test_fail_prepare_port, NULL);
    ADD("fail/perform", test_fail_perform, NULL);
    ADD("abort-perform", test_abort_perform, NULL);
    ADD("fail/finish", test_fail_finish, NULL);
    ADD("client-vanishes", test_client_vanishes, NULL);
    ADD("client-vanishes-after-begin", test_client_vanishes_after_begin, NULL);
    ADD("fail/dst-killed", test_dst_killed, NULL);
    ADD("lockd", test_lockd, &lockd);
    ADD("options/parallel", test_options, &parallel);
    ADD("options/xbzrle", test_options, &xbzrle);
    ADD("options/compress-mt", test_options, &mt);
    ADD("options/auto-converge", test_options, &autoconv);
#undef ADD
    return g_test_run();
}
