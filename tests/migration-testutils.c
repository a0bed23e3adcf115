/*
 * migration-testutils.c: the two-host fixture of the migration tests
 * (migration-testutils.h).
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
#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"
#include "tests/migration-testutils.h"
#include "tests/testproc.h"

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

QemuDriver *open_driver(const char *root, const char *host_uuid, const char *hostname, gboolean kvm,
                        const char *lease_dir, const FixtureOpts *opts)
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
    if (opts) {
        cfg.migration_port_min = opts->port_min;
        cfg.migration_port_max = opts->port_max;
        cfg.migration_address = opts->mig_address;
        cfg.migration_host = opts->mig_host;
        cfg.spice_tls = opts->spice_tls;
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

void fixture_setup(Fixture *fx, gconstpointer data)
{
    const FixtureOpts *opts = data;
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");

    fx->kernel =
        g_build_filename(top ? top : FERRY_TOP_BUILDDIR, "tests", "guest", "ferry-guest", NULL);
    /* FERRY_TEST_ACCEL=tcg: the idle tcg guest even where kvm works */
    fx->kvm = kvm_usable() && g_strcmp0(g_getenv("FERRY_TEST_ACCEL"), "tcg") != 0;
    fx->rate = !fx->kvm ? 0 : opts && opts->rate ? opts->rate : 200;
    fx->fill_mib = opts && opts->fill_mib ? opts->fill_mib : 8;
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
    fx->a = open_driver(fx->root_a, HOST_A_UUID, "hostA", fx->kvm, fx->lease_dir, NULL);
    fx->b = open_driver(fx->root_b, opts && opts->same_host ? HOST_A_UUID : HOST_B_UUID, "hostB",
                        fx->kvm, fx->lease_dir, opts);
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

void fixture_teardown(Fixture *fx, gconstpointer data)
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

gboolean have_guest(Fixture *fx)
{
    if (!g_file_test(fx->kernel, G_FILE_TEST_EXISTS)) {
        g_test_skip("the test guest was not built");
        return FALSE;
    }
    return TRUE;
}

char *serial_path(const char *root)
{
    return g_build_filename(root, "serial.log", NULL);
}

/* The guest's XML with its serial output under root.  Under kvm the guest
 * dirties memory; under tcg it is idle. */
char *guest_xml_disk(Fixture *fx, const char *root, const char *name, const char *uuid,
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
                           "    <cmdline>mem=%u rate=%u seed=7</cmdline>\n"
                           "  </os>\n"
                           "  <devices>\n"
                           "%s"
                           "    <serial type='file'><source path='%s'/></serial>\n"
                           "    <memballoon model='none'/>\n"
                           "  </devices>\n"
                           "</domain>\n",
                           fx->kvm ? "kvm" : "qemu", name, uuid, memory_mib, fx->kernel,
                           fx->fill_mib, fx->rate, disk_xml ? disk_xml : "", serial);
}

char *guest_xml(Fixture *fx, const char *root, const char *name, int memory_mib)
{
    return guest_xml_disk(fx, root, name, UUID_STR, memory_mib, NULL);
}

/* The last "tick=" line of a serial file: its tick and checks; FALSE when
 * there is none.  A FAIL line fails the test at once. */
gboolean serial_last(const char *path, guint *tick, guint *checks)
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
void wait_serial(const char *path, guint min_tick, guint min_checks, guint *tick, guint *checks)
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
char *disk_path(Fixture *fx)
{
    return fx->lease_dir ? g_build_filename(fx->root_a, "disk.img", NULL) : NULL;
}

void start_guest(Fixture *fx, DriverDomain *dom, gboolean persistent)
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
char *dest_xml(Fixture *fx, const DriverDomain *dom)
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
TypedParams *mig_params(Fixture *fx, const DriverDomain *dom)
{
    g_autoptr(TypedParams) params = typed_params_new();
    g_autofree char *dxml = dest_xml(fx, dom);

    g_assert_cmpint(typed_params_add_string(params, MIGRATION_PARAM_DEST_XML, dxml, NULL), ==, 0);
    g_assert_cmpint(
        typed_params_add_string(params, MIGRATION_PARAM_LISTEN_ADDRESS, "127.0.0.1", NULL), ==, 0);
    return g_steal_pointer(&params);
}

int state_of(DriverConn *conn, const DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    int state = -1, reason = -1;

    g_assert_true(conn->ops->get_state(conn, dom, &state, &reason, 0, &err));
    g_assert_no_error(err);
    return state;
}

gboolean domain_exists(DriverConn *conn, const char *name)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

    return conn->ops->lookup_by_name(conn, name, &dom, NULL);
}

guint processes_naming(const char *root)
{
    g_autoptr(GArray) pids = test_processes_naming(root);

    return pids->len;
}

void wait_processes_gone(const char *root)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    while (processes_naming(root) > 0) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(5000);
    }
}

/* The guest keeps counting on the destination, past the source's last
 * tick, and completes new self-checks there. */
void check_guest_moved(Fixture *fx)
{
    g_autofree char *src_serial = serial_path(fx->root_a);
    g_autofree char *dst_serial = serial_path(fx->root_b);
    guint src_tick = 0, src_checks = 0, dst_tick = 0, dst_checks = 0;

    g_assert_true(serial_last(src_serial, &src_tick, &src_checks));
    wait_serial(dst_serial, src_tick, 0, &dst_tick, &dst_checks);
    /* and a self-check that started on the destination completes */
    wait_serial(dst_serial, dst_tick, MAX(dst_checks, src_checks), NULL, NULL);
}

/* The source guest is untouched: running, no job left (suspend and resume
 * work at once). */
void check_source_untouched(Fixture *fx, const DriverDomain *dom)
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

/* The same for a guest the user paused: no job left, and resume works (the
 * guest runs afterwards). */
void check_source_untouched_paused(Fixture *fx, const DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    int type = -1;
    g_autoptr(TypedParams) stats = NULL;

    g_assert_cmpint(state_of(fx->src, dom), ==, DRIVER_STATE_PAUSED);
    g_assert_true(fx->src->ops->get_job_stats(fx->src, dom, 0, &type, &stats, &err));
    g_assert_no_error(err);
    g_assert_cmpint(type, ==, DRIVER_JOB_NONE);
    g_assert_true(fx->src->ops->resume(fx->src, dom, &err));
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->src, dom), ==, DRIVER_STATE_RUNNING);
}

/* A TCP port on 127.0.0.1 that this process listens on (fd returned). */
int listen_any(int *port)
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

gpointer sequence_thread(gpointer data)
{
    SequenceRun *run = data;

    run->ok = migration_sequence(run->fx->src, run->fx->dst, run->dom, run->params,
                                 MIGRATION_LIVE | run->flags, run->arrived, &run->err);
    g_atomic_int_set(&run->done, 1);
    return NULL;
}

/* Waits until the source's migration moves data (job stats). */
void wait_migrating(Fixture *fx, const DriverDomain *dom)
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

void event_log_cb(DriverConn *conn, const DriverDomain *dom, int event, int detail, gpointer opaque)
{
    EventLog *log = opaque;

    g_mutex_lock(&log->lock);
    g_ptr_array_add(log->seen, g_strdup_printf("%d/%d", event, detail));
    g_mutex_unlock(&log->lock);
}

/* The events so far (after flushing drv's queue), joined with " ". */
char *event_log_text(EventLog *log, QemuDriver *drv)
{
    g_autoptr(GString) out = g_string_new(NULL);

    qemu_driver_event_flush(drv);
    g_mutex_lock(&log->lock);
    for (guint i = 0; i < log->seen->len; i++)
        g_string_append_printf(out, "%s%s", i ? " " : "", (char *)log->seen->pdata[i]);
    g_mutex_unlock(&log->lock);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Waits until the source's migration has gone through `passes` passes
 * over memory (job stats): with a guest dirtying faster than the
 * bandwidth, it does not converge by itself. */
void wait_iterations(Fixture *fx, const DriverDomain *dom, unsigned long long passes)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    for (;;) {
        g_autoptr(TypedParams) stats = NULL;
        unsigned long long iteration = 0;
        int type = -1;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (fx->src->ops->get_job_stats(fx->src, dom, 0, &type, &stats, NULL) &&
            type == DRIVER_JOB_UNBOUNDED &&
            typed_params_get_ullong(stats, "memory_iteration", &iteration, NULL) == 1 &&
            iteration >= passes)
            return;
        g_usleep(20000);
    }
}

gboolean need_kvm(Fixture *fx)
{
    if (!have_guest(fx))
        return FALSE;
    if (!fx->kvm) {
        g_test_skip("a guest that dirties memory needs kvm (QEMU 7.2's tcg loses dirty pages)");
        return FALSE;
    }
    return TRUE;
}

void migration_test_init(int *argc, char ***argv)
{
    g_test_init(argc, argv, NULL);
    ferry_log_init_from_env(NULL);
    migration_init();
    signal(SIGABRT, on_abort);
    signal(SIGTRAP, on_abort); /* g_error() */
}

/* ---------------------------------------------------------------- QMP trace */

char *trace_path(Fixture *fx)
{
    return g_build_filename(fx->root_a, "qmp-trace.log", NULL);
}

void trace_start(Fixture *fx)
{
    g_autofree char *path = trace_path(fx);
    g_autofree char *outputs = g_strdup_printf("1:file:%s", path);
    g_autoptr(GError) err = NULL;

    g_assert_true(ferry_log_set_filters("1:qemu.monitor 3:migration", &err));
    g_assert_true(ferry_log_set_outputs(outputs, &err));
    g_assert_no_error(err);
}

char *trace_grep(Fixture *fx, const char *what)
{
    g_autofree char *path = trace_path(fx);
    g_autofree char *text = NULL;
    g_autoptr(GString) out = g_string_new(NULL);

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (strstr(*l, what))
            g_string_append_printf(out, "%s%s", out->len ? "\n" : "", *l);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

char *trace_source_commands(Fixture *fx)
{
    g_autofree char *lines = trace_grep(fx, fx->root_a);
    g_auto(GStrv) each = g_strsplit(lines, "\n", -1);
    GString *out = g_string_new(" ");

    for (char **l = each; *l; l++) {
        const char *cmd = strstr(*l, "send {\"execute\":\"");

        if (!cmd)
            continue;
        cmd += strlen("send {\"execute\":\"");
        g_string_append_len(out, cmd, (gssize)strcspn(cmd, "\""));
        g_string_append_c(out, ' ');
    }
    return g_string_free(out, FALSE);
}

void trace_stop(void)
{
    ferry_log_reset();
    ferry_log_init_from_env(NULL);
}
