/*
 * test-ferry-locks.c: the lockd lease state across two hosts.  Two real
 * daemon/ferryd ("hosts" A and B, each its own temporary --root and host
 * UUID) share one lease directory (ferryd.conf: lock_manager = "lockd",
 * file_lockspace_dir) and one disk, both in a temporary directory that
 * neither root names (so that the fixtures count and kill each host's
 * QEMU by its root alone).  Real QEMU runs the test guest.
 *
 * The v3 phases are driven here through the remote driver's ops table
 * (driver.h), as a client would, so that a case can stop after Perform3
 * and then misbehave: Finish3 on B and Confirm3 on A at once from two
 * threads, with opposite outcomes.  Whatever the order, the lease decides:
 * never both guests running, never none, and the loser says why.
 *
 * Who holds the lease is read from the kernel, as lockd lays it out
 * (lock_manager.h): the lease file is DIR/<sha256 of the disk's path>, and
 * a QEMU holds it when one of its fds on that file carries an OFD lock
 * (/proc/PID/fdinfo/FD shows it).  Whether a guest's CPUs ran is read from
 * its serial file (a tick line every 100 ms): the loser's never moves on.
 *
 * Each ferryd marks itself in its lease directory (hosts/<host-uuid>), and
 * Confirm3 checks the lease only for a destination marked in its own: the
 * unshared-dirs case gives B a lease directory of its own, where the lease
 * tells A nothing.
 *
 * FERRY_TEST_LOCK_ROUNDS (default 3) sets how many times each race runs
 * each of its timings.
 */
#include <config.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "driver/driver_registry.h"
#include "migration/migration.h"
#include "rpc/remote_driver.h"
#include "tests/libferry-testutils.h"
#include "tests/migrate-testutils.h"
#include "tests/testproc.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/typedparams.h"

#define GUEST "locked"

typedef struct {
    MigrateFixture m;
    char *shared; /* temporary: leases/ and disk.img */
    char *lease_dir;
    char *lease_dir_b; /* B's: lease_dir, or leases-b when unshared */
    char *disk;
    char *lease_file; /* lease_dir/sha256(disk) */
    char *lease_hash;
    DriverConn *ra; /* remote driver on A and B */
    DriverConn *rb;
} Fixture;

/* ---------------------------------------------------------------- fixture */

/* data of the cases whose hosts do not share the lease directory */
static const gboolean unshared = TRUE;

/* lockd on dir; info logs tell which way Confirm3 went */
static void configure_host(FerrydFixture *f, const char *dir)
{
    g_autofree char *conf = g_strdup_printf(
        "lock_manager = \"lockd\"\nfile_lockspace_dir = \"%s\"\nlog_level = 2\n", dir);

    ferryd_fixture_write_config(f, conf);
}

static DriverConn *open_remote(FerrydFixture *f)
{
    g_autoptr(GError) err = NULL;
    DriverConn *conn = driver_registry_open(f->tcp_uri, 0, &err);

    if (!conn)
        g_error("open %s: %s", f->tcp_uri, err->message);
    return conn;
}

/* A failing case (g_error, a failed assertion) aborts: the fixture of the
 * case running then is cleaned up first (both ferryd and every QEMU
 * killed, both roots and the shared directory removed), then the
 * handler ferryd-testutils installed runs. */
static Fixture *abort_fixture;
static void (*abort_next_abrt)(int);
static void (*abort_next_trap)(int);

static void on_abort(int sig)
{
    Fixture *fx = abort_fixture;
    void (*next)(int) = sig == SIGABRT ? abort_next_abrt : abort_next_trap;

    abort_fixture = NULL;
    if (fx) {
        FerrydFixture *hosts[] = { &fx->m.a, &fx->m.b };

        for (gsize i = 0; i < G_N_ELEMENTS(hosts); i++) {
            if (hosts[i]->ferryd)
                kill(spawn_get_pid(hosts[i]->ferryd), SIGKILL);
            test_kill_processes_naming(hosts[i]->root);
        }
        for (gsize i = 0; i < G_N_ELEMENTS(hosts); i++) {
            ferryd_fixture_dump_log(hosts[i]);
            lft_remove_tree(hosts[i]->root);
        }
        lft_remove_tree(fx->shared);
    }
    if (next != SIG_DFL && next != SIG_IGN && next != SIG_ERR && next)
        next(sig);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *real = NULL;

    migrate_fixture_init(&fx->m, "ferry-locksA", "ferry-locksB");
    fx->shared = g_dir_make_tmp("ferry-locks-shared-XXXXXX", &err);
    g_assert_no_error(err);
    abort_fixture = fx;
    abort_next_abrt = signal(SIGABRT, on_abort);
    abort_next_trap = signal(SIGTRAP, on_abort);
    fx->lease_dir = g_build_filename(fx->shared, "leases", NULL);
    fx->disk = g_build_filename(fx->shared, "disk.img", NULL);
    g_assert_cmpint(g_mkdir(fx->lease_dir, 0700), ==, 0);
    {
        g_auto(FerryFd) fd = open(fx->disk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, 1024 * 1024), ==, 0);
    }
    real = realpath(fx->disk, NULL);
    g_assert_nonnull(real);
    fx->lease_hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, real, -1);
    fx->lease_file = g_build_filename(fx->lease_dir, fx->lease_hash, NULL);
    if (data && *(const gboolean *)data) {
        fx->lease_dir_b = g_build_filename(fx->shared, "leases-b", NULL);
        g_assert_cmpint(g_mkdir(fx->lease_dir_b, 0700), ==, 0);
    } else {
        fx->lease_dir_b = g_strdup(fx->lease_dir);
    }
    configure_host(&fx->m.a, fx->lease_dir);
    configure_host(&fx->m.b, fx->lease_dir_b);
    ferryd_fixture_start(&fx->m.a, FALSE);
    ferryd_fixture_start(&fx->m.b, FALSE);
    /* each host marked itself where it keeps its leases */
    {
        g_autofree char *marker_a = g_build_filename(fx->lease_dir, "hosts", HOST_A_UUID, NULL);
        g_autofree char *marker_b = g_build_filename(fx->lease_dir_b, "hosts", HOST_B_UUID, NULL);
        g_autofree char *b_in_a = g_build_filename(fx->lease_dir, "hosts", HOST_B_UUID, NULL);

        g_assert_true(g_file_test(marker_a, G_FILE_TEST_IS_REGULAR));
        g_assert_true(g_file_test(marker_b, G_FILE_TEST_IS_REGULAR));
        g_assert_cmpint(g_file_test(b_in_a, G_FILE_TEST_EXISTS), ==,
                        g_str_equal(fx->lease_dir, fx->lease_dir_b));
    }
    fx->ra = open_remote(&fx->m.a);
    fx->rb = open_remote(&fx->m.b);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    abort_fixture = NULL;
    g_clear_pointer(&fx->ra, driver_conn_unref);
    g_clear_pointer(&fx->rb, driver_conn_unref);
    /* destroys what runs, stops both ferryd, kills what names a root */
    migrate_fixture_teardown(&fx->m, NULL);
    lft_remove_tree(fx->shared);
    g_free(fx->shared);
    g_free(fx->lease_dir);
    g_free(fx->lease_dir_b);
    g_free(fx->disk);
    g_free(fx->lease_file);
    g_free(fx->lease_hash);
}

/* ---------------------------------------------------------------- leases */

/* TRUE when the process pid has an fd on file that holds an OFD lock (its
 * description's lock, as /proc/PID/fdinfo shows it). */
static gboolean pid_holds_file(const char *file, pid_t pid)
{
    g_autofree char *fddir = g_strdup_printf("/proc/%d/fd", (int)pid);
    g_autoptr(GDir) dir = g_dir_open(fddir, 0, NULL);
    const char *ent;

    if (!dir)
        return FALSE; /* gone meanwhile */
    while ((ent = g_dir_read_name(dir))) {
        g_autofree char *link = g_build_filename(fddir, ent, NULL);
        g_autofree char *target = g_file_read_link(link, NULL);
        g_autofree char *info_path = NULL;
        g_autofree char *info = NULL;

        if (g_strcmp0(target, file) != 0)
            continue;
        info_path = g_strdup_printf("/proc/%d/fdinfo/%s", (int)pid, ent);
        if (g_file_get_contents(info_path, &info, NULL, NULL) && strstr(info, "OFDLCK"))
            return TRUE;
    }
    return FALSE;
}

/* Whether some QEMU of host f holds the lease file file. */
static gboolean host_holds_file(FerrydFixture *f, const char *file)
{
    g_autoptr(GArray) pids = test_processes_naming(f->root);

    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);

        if (test_process_cmdline_has(pid, "qemu-system-x86_64") && pid_holds_file(file, pid))
            return TRUE;
    }
    return FALSE;
}

/* Whether some QEMU of host f holds the lease (in A's directory). */
static gboolean host_holds_lease(Fixture *fx, FerrydFixture *f)
{
    return host_holds_file(f, fx->lease_file);
}

/* Whether ferryd's log of host f has text. */
static gboolean log_has(FerrydFixture *f, const char *text)
{
    g_autofree char *log = NULL;

    return g_file_get_contents(f->log, &log, NULL, NULL) && strstr(log, text);
}

/* Whether anybody at all holds the lease (F_OFD_GETLK: asks, takes
 * nothing). */
static gboolean lease_locked(Fixture *fx)
{
    g_auto(FerryFd) fd = open(fx->lease_file, O_RDWR | O_CLOEXEC);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

    if (fd < 0)
        return FALSE; /* never created: never taken */
    g_assert_cmpint(fcntl(fd, F_OFD_GETLK, &fl), ==, 0);
    return fl.l_type != F_UNLCK;
}

/* 'A', 'B' or 0: the host whose QEMU holds the lease.  Never both, and
 * nobody else (a lock no QEMU holds would be a leak). */
static char lease_holder(Fixture *fx)
{
    gboolean a = host_holds_lease(fx, &fx->m.a);
    gboolean b = host_holds_lease(fx, &fx->m.b);

    if (a && b)
        g_error("both hosts hold lease %s", fx->lease_file);
    g_assert_cmpint(lease_locked(fx), ==, a || b);
    return a ? 'A' : b ? 'B' : 0;
}

/* ---------------------------------------------------------------- guest and state */

static char *locked_guest_xml(Fixture *fx, FerrydFixture *host)
{
    g_autofree char *serial = serial_path(host, GUEST);

    return g_strdup_printf("<domain type='%s'>\n"
                           "  <name>" GUEST "</name>\n"
                           "  <uuid>" UUID1 "</uuid>\n"
                           "  <memory unit='MiB'>64</memory>\n"
                           "  <vcpu>1</vcpu>\n"
                           "  <os>\n"
                           "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                           "    <kernel>%s</kernel>\n"
                           "    <cmdline>mem=8 rate=%d seed=7</cmdline>\n"
                           "  </os>\n"
                           "  <devices>\n"
                           "    <disk type='file' device='disk'>\n"
                           "      <driver name='qemu' type='raw'/>\n"
                           "      <source file='%s'/>\n"
                           "      <target dev='vda' bus='virtio'/>\n"
                           "    </disk>\n"
                           "    <serial type='file'><source path='%s'/></serial>\n"
                           "    <memballoon model='none'/>\n"
                           "  </devices>\n"
                           "</domain>\n",
                           fx->m.kvm ? "kvm" : "qemu", fx->m.kernel, fx->m.kvm ? 50 : 0, fx->disk,
                           serial);
}

/* Starts the guest on A (defined first when persistent) and waits until
 * it ticks; dom gets it. */
static void start_locked_guest(Fixture *fx, gboolean persistent, DriverDomain *dom)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = locked_guest_xml(fx, &fx->m.a);
    g_autofree char *serial_a = serial_path(&fx->m.a, GUEST);
    g_autofree char *serial_b = serial_path(&fx->m.b, GUEST);
    gboolean ok;

    g_unlink(serial_a);
    g_unlink(serial_b);
    if (persistent)
        ok = fx->ra->ops->define_xml(fx->ra, xml, 0, dom, &err) &&
             fx->ra->ops->create(fx->ra, dom, 0, &err);
    else
        ok = fx->ra->ops->create_xml(fx->ra, xml, 0, dom, &err);
    if (!ok)
        g_error("start '%s' on A: %s", GUEST, err->message);
    wait_serial(serial_a, 1, -1, NULL, NULL);
    g_assert_cmpint(lease_holder(fx), ==, 'A');
}

/* The state of the guest on a host; -1 when the host has no such domain. */
static int state_on(DriverConn *conn)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(GError) err = NULL;
    int state = -1, reason = -1;

    if (!conn->ops->lookup_by_name(conn, GUEST, &dom, &err))
        return -1;
    if (!conn->ops->get_state(conn, &dom, &state, &reason, 0, &err))
        return -1; /* gone since the lookup */
    return state;
}

/* The last tick of a serial file; 0 when it has none (yet). */
static guint serial_tick(FerrydFixture *host)
{
    g_autofree char *path = serial_path(host, GUEST);
    guint tick = 0, checks = 0;

    return serial_last(path, &tick, &checks) ? tick : 0;
}

/* Exactly one host runs the guest, and it holds the lease: its guest
 * counts on while the other's stays where it stopped (at most stopped_at:
 * the tick where the source paused for the switchover).  Returns the
 * winner. */
static char check_one_runs(Fixture *fx, guint stopped_at)
{
    int sa = state_on(fx->ra), sb = state_on(fx->rb);
    char holder = lease_holder(fx);
    FerrydFixture *winner, *loser;
    guint loser_tick, tick = 0;

    g_test_message("state on A %d, on B %d; lease held by %c", sa, sb, holder ? holder : '-');
    if (sa == DRIVER_STATE_RUNNING && sb == DRIVER_STATE_RUNNING)
        g_error("the guest runs on both hosts");
    if (sa != DRIVER_STATE_RUNNING && sb != DRIVER_STATE_RUNNING)
        g_error("the guest runs on neither host (A %d, B %d)", sa, sb);
    g_assert_cmpint(holder, ==, sa == DRIVER_STATE_RUNNING ? 'A' : 'B');
    winner = holder == 'A' ? &fx->m.a : &fx->m.b;
    loser = holder == 'A' ? &fx->m.b : &fx->m.a;
    /* B's guest continues the count where A's stopped; the loser's file
     * never shows a tick past that */
    loser_tick = serial_tick(loser);
    g_assert_cmpuint(loser_tick, <=, stopped_at);
    {
        g_autofree char *path = serial_path(winner, GUEST);

        wait_serial(path, MAX(serial_tick(winner), stopped_at) + 3, -1, &tick, NULL);
    }
    g_assert_cmpuint(serial_tick(loser), ==, loser_tick);
    return holder;
}

/* Destroys the guest wherever it is active; both hosts end without QEMU
 * and the lease is free. */
static void destroy_guest(Fixture *fx)
{
    DriverConn *conns[] = { fx->ra, fx->rb };

    for (gsize i = 0; i < G_N_ELEMENTS(conns); i++) {
        g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;

        if (conns[i]->ops->lookup_by_name(conns[i], GUEST, &dom, NULL) && dom.id > 0)
            (void)conns[i]->ops->destroy(conns[i], &dom, 0, NULL);
    }
    g_assert_true(ferryd_fixture_wait_qemus(&fx->m.a, 0));
    g_assert_true(ferryd_fixture_wait_qemus(&fx->m.b, 0));
    g_assert_cmpint(lease_holder(fx), ==, 0);
}

/* ---------------------------------------------------------------- phases */

typedef struct {
    DriverDomain dom; /* on A */
    GBytes *cookie3;
    TypedParams *params; /* what Begin3 and Confirm3 get */
    guint stopped_at; /* A's last tick after Perform3 */
} Performed;

static void performed_clear(Performed *p)
{
    driver_domain_clear(&p->dom);
    g_clear_pointer(&p->cookie3, g_bytes_unref);
    g_clear_pointer(&p->params, typed_params_free);
}

#define MIG_FLAGS (MIGRATION_LIVE | MIGRATION_CHANGE_PROTECTION)

/* Begin3, Prepare3 and Perform3 of the running guest, A to B, checking
 * the lease on the way: A holds it until the switchover, B's incoming
 * QEMU never does, and after Perform3 nobody does. */
static void migrate_to_performed(Fixture *fx, unsigned int flags, Performed *p)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) cookie1 = NULL, cookie2 = NULL;
    g_autofree char *xml = NULL, *uri = NULL;
    g_autoptr(TypedParams) pparams = typed_params_new();
    g_autoptr(TypedParams) sparams = typed_params_new();
    g_autofree char *serial_a = serial_path(&fx->m.a, GUEST);
    g_autofree char *serial_b = serial_path(&fx->m.b, GUEST);

    g_assert_true(fx->ra->ops->lookup_by_name(fx->ra, GUEST, &p->dom, &err));
    p->params = typed_params_new();
    if (!fx->ra->ops->migrate_begin3(fx->ra, &p->dom, p->params, flags, &cookie1, &xml, &err))
        g_error("begin3: %s", err->message);
    /* the lock state travels in the cookie; the opaque bytes say so */
    g_assert_nonnull(
        g_strstr_len(g_bytes_get_data(cookie1, NULL), g_bytes_get_size(cookie1), fx->lease_hash));

    g_autoptr(GString) dxml = g_string_new(xml);
    g_assert_cmpuint(g_string_replace(dxml, serial_a, serial_b, 0), ==, 1);
    g_assert_cmpint(typed_params_add_string(pparams, MIGRATION_PARAM_DEST_XML, dxml->str, &err), ==,
                    0);
    g_assert_cmpint(
        typed_params_add_string(pparams, MIGRATION_PARAM_URI, migrate_uri(&fx->m), &err), ==, 0);
    if (!fx->rb->ops->migrate_prepare3(fx->rb, pparams, cookie1, flags, &cookie2, &uri, &err))
        g_error("prepare3: %s", err->message);
    /* prepared: B's QEMU waits for the guest and holds nothing */
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->m.b), ==, 1);
    g_assert_cmpint(lease_holder(fx), ==, 'A');
    g_assert_cmpint(state_on(fx->rb), !=, DRIVER_STATE_RUNNING);

    g_assert_cmpint(
        typed_params_add_string(sparams, MIGRATION_PARAM_URI, uri ? uri : fx->m.muri, &err), ==, 0);
    if (!fx->ra->ops->migrate_perform3(fx->ra, &p->dom, NULL, sparams, cookie2, flags, &p->cookie3,
                                       &err))
        g_error("perform3: %s", err->message);
    /* switched over: A paused without the lease, B not yet running */
    g_assert_cmpint(state_on(fx->ra), ==, DRIVER_STATE_PAUSED);
    g_assert_cmpint(state_on(fx->rb), !=, DRIVER_STATE_RUNNING);
    g_assert_cmpint(lease_holder(fx), ==, 0);
    p->stopped_at = serial_tick(&fx->m.a);
    g_assert_cmpuint(serial_tick(&fx->m.b), ==, 0);
}

/* Finish3 on B or Confirm3 on A, in a thread of its own. */
typedef struct {
    Fixture *fx;
    Performed *p;
    gboolean finish; /* else confirm */
    gboolean cancelled;
    gulong delay_us;
    gint *go; /* both threads wait for it */
    gboolean ok;
    GError *err;
    DriverDomain arrived;
    GBytes *cookie4;
} Phase;

static gpointer phase_thread(gpointer opaque)
{
    Phase *ph = opaque;
    Fixture *fx = ph->fx;

    while (!g_atomic_int_get(ph->go))
        g_thread_yield();
    if (ph->delay_us)
        g_usleep(ph->delay_us);
    if (ph->finish) {
        g_autoptr(TypedParams) fparams = typed_params_new();

        g_assert_cmpint(typed_params_add_string(fparams, MIGRATION_PARAM_DEST_NAME, GUEST, NULL),
                        ==, 0);
        ph->ok = fx->rb->ops->migrate_finish3(fx->rb, fparams, ph->p->cookie3, MIG_FLAGS,
                                              ph->cancelled, &ph->arrived, &ph->cookie4, &ph->err);
    } else {
        ph->ok = fx->ra->ops->migrate_confirm3(fx->ra, &ph->p->dom, ph->p->params, NULL, MIG_FLAGS,
                                               ph->cancelled, &ph->err);
    }
    return NULL;
}

static void phase_clear(Phase *ph)
{
    g_clear_error(&ph->err);
    driver_domain_clear(&ph->arrived);
    g_clear_pointer(&ph->cookie4, g_bytes_unref);
}

/* Samples both hosts' state while the phases race: never both running. */
typedef struct {
    Fixture *fx;
    DriverConn *a, *b;
    gint stop;
    guint samples;
    guint both;
} Watch;

static gpointer watch_thread(gpointer opaque)
{
    Watch *w = opaque;

    while (!g_atomic_int_get(&w->stop)) {
        int sa = state_on(w->a), sb = state_on(w->b);

        w->samples++;
        if (sa == DRIVER_STATE_RUNNING && sb == DRIVER_STATE_RUNNING)
            w->both++;
        g_usleep(2000);
    }
    return NULL;
}

/* Runs Finish3 (finish_cancelled) on B and Confirm3 (confirm_cancelled) on
 * A at once, Confirm3 delayed by skew_us (negative: Finish3 delayed). */
static void race(Fixture *fx, Performed *p, gboolean finish_cancelled, gboolean confirm_cancelled,
                 long skew_us, Phase *fin, Phase *conf)
{
    gint go = 0;
    Watch w = { .fx = fx, .a = open_remote(&fx->m.a), .b = open_remote(&fx->m.b) };
    GThread *watcher = g_thread_new("watch", watch_thread, &w);

    *fin = (Phase){ .fx = fx,
                    .p = p,
                    .finish = TRUE,
                    .cancelled = finish_cancelled,
                    .go = &go,
                    .delay_us = skew_us < 0 ? (gulong)-skew_us : 0,
                    .arrived = DRIVER_DOMAIN_INIT };
    *conf = (Phase){ .fx = fx,
                     .p = p,
                     .finish = FALSE,
                     .cancelled = confirm_cancelled,
                     .go = &go,
                     .delay_us = skew_us > 0 ? (gulong)skew_us : 0,
                     .arrived = DRIVER_DOMAIN_INIT };
    GThread *tf = g_thread_new("finish3", phase_thread, fin);
    GThread *tc = g_thread_new("confirm3", phase_thread, conf);

    g_atomic_int_set(&go, 1);
    g_thread_join(tf);
    g_thread_join(tc);
    g_atomic_int_set(&w.stop, 1);
    g_thread_join(watcher);
    driver_conn_unref(w.a);
    driver_conn_unref(w.b);
    g_test_message("finish3%s: %s; confirm3%s: %s (%u state samples)",
                   finish_cancelled ? " (cancelled)" : "", fin->ok ? "ok" : fin->err->message,
                   confirm_cancelled ? " (cancelled)" : "", conf->ok ? "ok" : conf->err->message,
                   w.samples);
    g_assert_cmpuint(w.both, ==, 0);
}

static guint rounds(void)
{
    const char *env = g_getenv("FERRY_TEST_LOCK_ROUNDS");
    guint n = env ? (guint)g_ascii_strtoull(env, NULL, 10) : 0;

    return n ? n : 3;
}

/* The skews a race runs with: at once, Confirm3 a little later or much
 * later, Finish3 a little later or much later. */
static const long race_skews_us[] = { 0, 2000, 200000, -2000, -200000 };

/* ---------------------------------------------------------------- cases */

/* A live migration with the lease: A holds it until the switchover, B's
 * incoming QEMU never before Finish3; then B holds it and only B's guest
 * runs.  The same persistent domain started again on A is refused with an
 * error naming the lease, and stays shut off there. */
static void test_live(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) fparams = typed_params_new();
    g_autoptr(GBytes) cookie4 = NULL;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    Performed p = { .dom = DRIVER_DOMAIN_INIT };

    if (!lft_have_guest())
        return;
    start_locked_guest(fx, TRUE, &dom);
    migrate_to_performed(fx, MIG_FLAGS, &p);

    g_assert_cmpint(typed_params_add_string(fparams, MIGRATION_PARAM_DEST_NAME, GUEST, &err), ==,
                    0);
    if (!fx->rb->ops->migrate_finish3(fx->rb, fparams, p.cookie3, MIG_FLAGS, FALSE, &arrived,
                                      &cookie4, &err))
        g_error("finish3: %s", err->message);
    g_assert_cmpint(lease_holder(fx), ==, 'B');
    if (!fx->ra->ops->migrate_confirm3(fx->ra, &p.dom, p.params, cookie4, MIG_FLAGS, FALSE, &err))
        g_error("confirm3: %s", err->message);
    g_assert_cmpint(check_one_runs(fx, p.stopped_at), ==, 'B');
    g_assert_cmpint(state_on(fx->ra), ==, DRIVER_STATE_SHUTOFF);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->m.a, 0));
    /* Confirm3 knew B shares the directory, and checked the lease */
    g_assert_true(log_has(&fx->m.a, "destination host " HOST_B_UUID " shares this host's lease "
                                    "directory: checking that it holds the leases"));

    /* the persistent definition stayed on A: starting it is refused */
    g_assert_false(fx->ra->ops->create(fx->ra, &dom, 0, &err));
    g_assert_nonnull(err);
    g_test_message("start on A: %s", err->message);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_DENIED));
    g_assert_nonnull(strstr(err->message, fx->lease_hash));
    g_assert_nonnull(strstr(err->message, fx->disk));
    g_clear_error(&err);
    g_assert_cmpint(state_on(fx->ra), ==, DRIVER_STATE_SHUTOFF);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->m.a, 0));
    g_assert_cmpint(check_one_runs(fx, p.stopped_at), ==, 'B');
    performed_clear(&p);
    destroy_guest(fx);
}

/* A client that calls Finish3 (not cancelled) on B and Confirm3
 * (cancelled) on A at once: one of them takes the lease first and its
 * host runs the guest; the other fails, naming the lease. */
static void test_race_finish_confirm_cancelled(Fixture *fx, gconstpointer data)
{
    guint won_a = 0, won_b = 0;

    if (!lft_have_guest())
        return;
    for (guint r = 0; r < rounds(); r++) {
        for (gsize s = 0; s < G_N_ELEMENTS(race_skews_us); s++) {
            g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
            Performed p = { .dom = DRIVER_DOMAIN_INIT };
            Phase fin, conf;
            char winner;

            g_test_message("round %u, confirm3 skew %ld us", r, race_skews_us[s]);
            start_locked_guest(fx, FALSE, &dom);
            migrate_to_performed(fx, MIG_FLAGS, &p);
            race(fx, &p, FALSE, TRUE, race_skews_us[s], &fin, &conf);
            winner = check_one_runs(fx, p.stopped_at);
            /* the loser failed and says why: the lease */
            if (winner == 'B') {
                won_b++;
                g_assert_true(fin.ok);
                g_assert_false(conf.ok);
                g_assert_true(ferry_error_is(conf.err, FERRY_ERR_OPERATION_DENIED));
                g_assert_nonnull(strstr(conf.err->message, fx->lease_hash));
                /* A's guest stays paused: no second copy, no lease */
                g_assert_cmpint(state_on(fx->ra), ==, DRIVER_STATE_PAUSED);
            } else {
                won_a++;
                g_assert_false(fin.ok);
                g_assert_true(conf.ok);
                g_assert_true(ferry_error_is(fin.err, FERRY_ERR_OPERATION_DENIED));
                g_assert_nonnull(strstr(fin.err->message, fx->lease_hash));
                /* B's incoming guest is gone */
                g_assert_cmpint(state_on(fx->rb), ==, -1);
                g_assert_true(ferryd_fixture_wait_qemus(&fx->m.b, 0));
            }
            phase_clear(&fin);
            phase_clear(&conf);
            performed_clear(&p);
            destroy_guest(fx);
        }
    }
    g_test_message("the guest ended on A %u times, on B %u times", won_a, won_b);
}

/* The other way round: Finish3 cancelled on B, Confirm3 (success) on A at
 * once.  B never runs the guest, so A must not let it go: Confirm3 finds
 * the lease free, refuses and resumes the guest on A. */
static void test_race_finish_cancelled_confirm(Fixture *fx, gconstpointer data)
{
    if (!lft_have_guest())
        return;
    for (guint r = 0; r < rounds(); r++) {
        for (gsize s = 0; s < G_N_ELEMENTS(race_skews_us); s++) {
            g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
            Performed p = { .dom = DRIVER_DOMAIN_INIT };
            Phase fin, conf;

            g_test_message("round %u, confirm3 skew %ld us", r, race_skews_us[s]);
            start_locked_guest(fx, FALSE, &dom);
            migrate_to_performed(fx, MIG_FLAGS, &p);
            race(fx, &p, TRUE, FALSE, race_skews_us[s], &fin, &conf);
            g_assert_cmpint(check_one_runs(fx, p.stopped_at), ==, 'A');
            g_assert_false(fin.ok);
            g_assert_true(ferry_error_is(fin.err, FERRY_ERR_OPERATION_ABORTED));
            g_assert_false(conf.ok);
            g_assert_nonnull(strstr(conf.err->message, fx->lease_hash));
            g_assert_nonnull(strstr(conf.err->message, "does not run"));
            g_assert_cmpint(state_on(fx->rb), ==, -1);
            g_assert_true(ferryd_fixture_wait_qemus(&fx->m.b, 0));
            phase_clear(&fin);
            phase_clear(&conf);
            performed_clear(&p);
            destroy_guest(fx);
        }
    }
}

/* Each host keeps its leases in a directory of its own (the disk is
 * shared, the lease directories are not): a plain live migration ends
 * with the guest on B only.  B holds the lease in its directory; A's lease
 * is free after the switchover, which tells Confirm3 nothing about B, so
 * it must not resume the guest on A (ferry before it checked markers did:
 * two copies); A's QEMU ends. */
static void test_unshared_dirs(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) fparams = typed_params_new();
    g_autoptr(GBytes) cookie4 = NULL;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autofree char *lease_file_b = g_build_filename(fx->lease_dir_b, fx->lease_hash, NULL);
    g_autofree char *serial_b = serial_path(&fx->m.b, GUEST);
    Performed p = { .dom = DRIVER_DOMAIN_INIT };
    guint tick = 0;

    if (!lft_have_guest())
        return;
    g_assert_cmpstr(fx->lease_dir, !=, fx->lease_dir_b);
    start_locked_guest(fx, TRUE, &dom);
    migrate_to_performed(fx, MIG_FLAGS, &p);

    g_assert_cmpint(typed_params_add_string(fparams, MIGRATION_PARAM_DEST_NAME, GUEST, &err), ==,
                    0);
    if (!fx->rb->ops->migrate_finish3(fx->rb, fparams, p.cookie3, MIG_FLAGS, FALSE, &arrived,
                                      &cookie4, &err))
        g_error("finish3: %s", err->message);
    /* B took the lease in its own directory; A's is free */
    g_assert_true(host_holds_file(&fx->m.b, lease_file_b));
    g_assert_cmpint(lease_holder(fx), ==, 0);
    if (!fx->ra->ops->migrate_confirm3(fx->ra, &p.dom, p.params, cookie4, MIG_FLAGS, FALSE, &err))
        g_error("confirm3: %s", err->message);
    g_assert_true(log_has(&fx->m.a, "destination host " HOST_B_UUID " does not share this host's "
                                    "lease directory: not checking its leases"));

    /* the guest runs on B only: A's QEMU is gone, its guest never ticked
     * again, B's counts on */
    g_assert_cmpint(state_on(fx->rb), ==, DRIVER_STATE_RUNNING);
    g_assert_cmpint(state_on(fx->ra), ==, DRIVER_STATE_SHUTOFF);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->m.a, 0));
    wait_serial(serial_b, p.stopped_at + 3, -1, &tick, NULL);
    g_assert_cmpuint(serial_tick(&fx->m.a), <=, p.stopped_at);
    g_assert_true(host_holds_file(&fx->m.b, lease_file_b));
    g_assert_cmpint(lease_holder(fx), ==, 0);
    g_assert_cmpint(state_on(fx->ra), ==, DRIVER_STATE_SHUTOFF);
    g_test_message("guest on B at tick %u, A stopped at %u", tick, p.stopped_at);
    performed_clear(&p);
    destroy_guest(fx);
    g_assert_false(host_holds_file(&fx->m.b, lease_file_b));
}

/* A's ferryd dies after Perform3 (the lease released at the switchover)
 * and starts again while B's Finish3 runs: B takes the lease and runs the
 * guest; A, recovering, keeps its copy paused, and resuming it there is
 * refused, naming the lease. */
static void test_source_restart(Fixture *fx, gconstpointer data)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(GError) err = NULL;
    Performed p = { .dom = DRIVER_DOMAIN_INIT };
    gint go = 1;
    Phase fin = { .fx = fx, .p = &p, .finish = TRUE, .go = &go, .arrived = DRIVER_DOMAIN_INIT };
    GThread *tf;

    if (!lft_have_guest())
        return;
    start_locked_guest(fx, TRUE, &dom);
    migrate_to_performed(fx, MIG_FLAGS, &p);
    ferryd_fixture_kill(&fx->m.a);
    g_clear_pointer(&fx->ra, driver_conn_unref);
    if (fx->m.ca) {
        ferry_connect_close(fx->m.ca);
        fx->m.ca = NULL;
    }
    g_assert_cmpuint(ferryd_fixture_count_qemus(&fx->m.a), ==, 1);

    tf = g_thread_new("finish3", phase_thread, &fin);
    ferryd_fixture_start(&fx->m.a, FALSE);
    fx->ra = open_remote(&fx->m.a);
    g_thread_join(tf);
    if (!fin.ok)
        g_error("finish3 while A restarted: %s", fin.err->message);

    g_assert_cmpint(check_one_runs(fx, p.stopped_at), ==, 'B');
    g_assert_cmpint(state_on(fx->ra), ==, DRIVER_STATE_PAUSED);
    g_assert_false(fx->ra->ops->resume(fx->ra, &dom, &err));
    g_assert_nonnull(err);
    g_test_message("resume on A: %s", err->message);
    g_assert_nonnull(strstr(err->message, fx->lease_hash));
    g_clear_error(&err);
    g_assert_cmpint(check_one_runs(fx, p.stopped_at), ==, 'B');
    phase_clear(&fin);
    performed_clear(&p);
    destroy_guest(fx);
}

/* Defined on both hosts (PERSIST_DEST), running on B with the lease:
 * `ferry start` on A is refused with one error line naming the lease, and
 * nothing starts there. */
static void test_start_while_away(Fixture *fx, gconstpointer data)
{
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(GError) err = NULL;
    g_autoptr(TypedParams) fparams = typed_params_new();
    g_autoptr(GBytes) cookie4 = NULL;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    Performed p = { .dom = DRIVER_DOMAIN_INIT };
    const unsigned int flags = MIG_FLAGS | MIGRATION_PERSIST_DEST;
    gboolean persistent = FALSE;

    if (!lft_have_guest())
        return;
    start_locked_guest(fx, TRUE, &dom);
    migrate_to_performed(fx, flags, &p);
    g_assert_cmpint(typed_params_add_string(fparams, MIGRATION_PARAM_DEST_NAME, GUEST, &err), ==,
                    0);
    if (!fx->rb->ops->migrate_finish3(fx->rb, fparams, p.cookie3, flags, FALSE, &arrived, &cookie4,
                                      &err) ||
        !fx->ra->ops->migrate_confirm3(fx->ra, &p.dom, p.params, cookie4, flags, FALSE, &err))
        g_error("finish3 or confirm3: %s", err->message);
    g_assert_true(fx->rb->ops->is_persistent(fx->rb, &arrived, &persistent, &err));
    g_assert_true(persistent);
    g_assert_true(fx->ra->ops->is_persistent(fx->ra, &dom, &persistent, &err));
    g_assert_true(persistent);
    g_assert_cmpint(check_one_runs(fx, p.stopped_at), ==, 'B');
    g_assert_true(ferryd_fixture_wait_qemus(&fx->m.a, 0));

    g_autoptr(Run) start = FERRY(fx->m.a.tcp_uri, "start", GUEST);
    assert_run_error(start, "ferry start on A", fx->lease_hash);
    g_test_message("ferry start on A: %s", start->err);
    assert_has(start->err, "is locked by another domain");
    g_assert_cmpint(state_on(fx->ra), ==, DRIVER_STATE_SHUTOFF);
    g_assert_true(ferryd_fixture_wait_qemus(&fx->m.a, 0));
    g_assert_cmpint(check_one_runs(fx, p.stopped_at), ==, 'B');
    performed_clear(&p);
    destroy_guest(fx);
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
#define ADD_DATA(path, data, fn) \
    g_test_add("/ferry-locks/" path, Fixture, data, fixture_setup, fn, fixture_teardown)
#define ADD(path, fn) ADD_DATA(path, NULL, fn)
    ADD("live", test_live);
    ADD("race-finish-confirm-cancelled", test_race_finish_confirm_cancelled);
    ADD("race-finish-cancelled-confirm", test_race_finish_cancelled_confirm);
    ADD_DATA("unshared-dirs", &unshared, test_unshared_dirs);
    ADD("source-restart", test_source_restart);
    ADD("start-while-away", test_start_while_away);
#undef ADD
#undef ADD_DATA
    return g_test_run();
}
