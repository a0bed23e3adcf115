/*
 * test-lock-manager.c: disk leases (nop and lockd).
 *
 * OFD locks conflict between open file descriptions even within one
 * process, so two handles here are two "hosts" sharing a lease directory.
 * The QEMU that keeps a copy of the lease fds is this program re-executed
 * with --helper: it sleeps holding whatever fds it was given.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LOCK
#define FERRY_LOG_MODULE "tests.lock"

#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/spawn.h"

#include "conf/cookie.h"
#include "conf/domain_conf.h"
#include "driver/lock_manager.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* Where the helper keeps the lease fds it is given. */
#define HELPER_FD_BASE 10

static char *self_exe;

typedef struct {
    char *dir; /* the test's temporary directory */
    char *leases; /* dir/leases: the shared lease directory */
    char *disk1, *disk2, *disk3; /* files in dir/disks */
    LockManager *mgr; /* lockd on leases */
    int nfds; /* open fds before the test */
} LockFixture;

static int count_open_fds(void)
{
    GDir *dir = g_dir_open("/proc/self/fd", 0, NULL);
    int n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir))
        n++;
    g_dir_close(dir);
    return n;
}

static void touch(const char *path)
{
    g_autoptr(GError) err = NULL;

    g_file_set_contents(path, "", 0, &err);
    g_assert_no_error(err);
}

static void rm_rf(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);

    if (dir) {
        const char *name;

        while ((name = g_dir_read_name(dir))) {
            g_autofree char *child = g_build_filename(path, name, NULL);

            rm_rf(child);
        }
        g_dir_close(dir);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static void fixture_setup(LockFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *tmp = g_dir_make_tmp("ferry-lock-XXXXXX", NULL);
    g_autofree char *disks = NULL;

    g_assert_nonnull(tmp);
    fx->nfds = count_open_fds();
    /* Canonical, so that expected lease names can be computed from it. */
    fx->dir = realpath(tmp, NULL);
    g_assert_nonnull(fx->dir);
    fx->leases = g_build_filename(fx->dir, "leases", NULL);
    disks = g_build_filename(fx->dir, "disks", NULL);
    g_assert_cmpint(g_mkdir(fx->leases, 0700), ==, 0);
    g_assert_cmpint(g_mkdir(disks, 0700), ==, 0);
    fx->disk1 = g_build_filename(disks, "one.img", NULL);
    fx->disk2 = g_build_filename(disks, "two.img", NULL);
    fx->disk3 = g_build_filename(disks, "three.img", NULL);
    touch(fx->disk1);
    touch(fx->disk2);
    touch(fx->disk3);

    LockManagerConfig config = { .lease_dir = fx->leases };
    fx->mgr = lock_manager_new(LOCK_MANAGER_LOCKD, &config, &err);
    g_assert_no_error(err);
    g_assert_nonnull(fx->mgr);
}

static void fixture_teardown(LockFixture *fx, gconstpointer data)
{
    lock_manager_unref(fx->mgr);
    /* Every handle, lease fd and child's pidfd is gone. */
    g_assert_cmpint(count_open_fds(), ==, fx->nfds);
    rm_rf(fx->dir);
    free(fx->dir);
    g_free(fx->leases);
    g_free(fx->disk1);
    g_free(fx->disk2);
    g_free(fx->disk3);
}

/* A definition with the given disks: "PATH", "PATH|ro" (readonly) or
 * "PATH|share" (shareable); NULL-terminated. */
static DomainDef *make_def(const char *name, ...) G_GNUC_NULL_TERMINATED;

static DomainDef *make_def(const char *name, ...)
{
    g_autoptr(GString) xml = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    va_list ap;
    int n = 0;

    g_string_append_printf(xml,
                           "<domain type='qemu'><name>%s</name>"
                           "<memory unit='MiB'>64</memory>"
                           "<os><type>hvm</type></os><devices>",
                           name);
    va_start(ap, name);
    for (const char *spec = va_arg(ap, const char *); spec; spec = va_arg(ap, const char *)) {
        g_auto(GStrv) parts = g_strsplit(spec, "|", 2);
        const char *flag = parts[1] ? parts[1] : "";

        g_string_append_printf(xml,
                               "<disk type='file' device='disk'><source file='%s'/>"
                               "<target dev='vd%c' bus='virtio'/>%s%s</disk>",
                               parts[0], 'a' + n, g_str_equal(flag, "ro") ? "<readonly/>" : "",
                               g_str_equal(flag, "share") ? "<shareable/>" : "");
        n++;
    }
    va_end(ap);
    g_string_append(xml, "</devices></domain>");

    DomainDef *def = domain_def_parse(xml->str, 0, &err);
    g_assert_no_error(err);
    g_assert_nonnull(def);
    return def;
}

static LockHandle *make_handle(LockManager *mgr, const DomainDef *def)
{
    g_autoptr(GError) err = NULL;
    LockHandle *h = lock_manager_handle_new(mgr, def, &err);

    g_assert_no_error(err);
    g_assert_nonnull(h);
    return h;
}

static void acquire_ok(LockHandle *h)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(lock_manager_acquire(h, NULL, NULL, &err));
    g_assert_no_error(err);
    g_assert_true(lock_manager_handle_is_held(h));
}

static void release_ok(LockHandle *h)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(lock_manager_release(h, &err));
    g_assert_no_error(err);
    g_assert_false(lock_manager_handle_is_held(h));
}

/* Acquiring fails because disk path is locked; the handle holds nothing. */
static void acquire_locked(LockFixture *fx, LockHandle *h, const char *domain, const char *path)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, path, -1);
    g_autofree char *want =
        g_strdup_printf("domain '%s': disk '%s' is locked by another domain (lease %s in %s)",
                        domain, path, hash, fx->leases);

    g_assert_false(lock_manager_acquire(h, NULL, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_DENIED));
    g_assert_cmpint(ferry_error_domain_of(err), ==, FERRY_FROM_LOCK);
    g_assert_cmpstr(err->message, ==, want);
    g_assert_false(lock_manager_handle_is_held(h));
}

/* ------------------------------------------------------------ nop */

static void test_nop(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LockManager) mgr = lock_manager_new(LOCK_MANAGER_NOP, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(lock_manager_get_name(mgr), ==, "nop");

    g_autoptr(DomainDef) def = make_def("a", "/nonexistent/disk.img", NULL);
    g_autoptr(LockHandle) a = make_handle(mgr, def);
    g_autoptr(LockHandle) b = make_handle(mgr, def);

    /* The same disk twice: nop never refuses. */
    acquire_ok(a);
    acquire_ok(b);
    g_auto(GStrv) state = lock_manager_inquire(a);
    g_assert_cmpuint(g_strv_length(state), ==, 0);
    g_autoptr(GArray) fds = lock_manager_get_fds(a);
    g_assert_cmpuint(fds->len, ==, 0);
    release_ok(a);
    release_ok(b);

    /* Its own (empty) state is fine; another driver's is not. */
    const char *const empty[] = { NULL };
    g_assert_true(lock_manager_acquire(a, "nop", empty, &err));
    g_assert_no_error(err);
    release_ok(a);
    const char *const some[] = { "abc:excl", NULL };
    g_assert_false(lock_manager_acquire(a, "lockd", some, &err));
    g_assert_cmpstr(err->message, ==,
                    "domain 'a': the lock state comes from lock manager 'lockd', this host "
                    "uses 'nop'");
    g_clear_error(&err);
    g_assert_false(lock_manager_acquire(a, "nop", some, &err));
    g_assert_nonnull(strstr(err->message, "'nop' keeps no leases"));
    g_clear_error(&err);
    g_assert_false(lock_manager_handle_is_held(a));

    /* Through a cookie. */
    g_autoptr(MigrationCookie) cookie = cookie_new();
    g_assert_true(lock_manager_inquire_cookie(a, cookie, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(cookie->lockstate->driver, ==, "nop");
    g_assert_cmpuint(cookie->lockstate->leases->len, ==, 0);
    g_assert_true(lock_manager_acquire_cookie(b, cookie, &err));
    g_assert_no_error(err);
    g_assert_true(lock_manager_adopt(a, -1, NULL, 0, TRUE, &err));
    g_assert_no_error(err);
    g_assert_true(lock_manager_handle_is_held(a));
}

static void test_config(void)
{
    g_autoptr(GError) err = NULL;
    LockManagerConfig rel = { .lease_dir = "var/lib/ferry/leases" };
    LockManagerConfig none = { .lease_dir = NULL };

    g_assert_null(lock_manager_new("sanlock", NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_CONFIG));
    g_assert_cmpstr(err->message, ==, "unknown lock manager 'sanlock' (known: nop, lockd)");
    g_clear_error(&err);

    g_assert_null(lock_manager_new("lockd", &none, &err));
    g_assert_cmpstr(err->message, ==, "lock manager 'lockd' needs a lease directory");
    g_clear_error(&err);
    g_assert_null(lock_manager_new("lockd", NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_CONFIG));
    g_clear_error(&err);

    g_assert_null(lock_manager_new("lockd", &rel, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_CONFIG));
    g_assert_nonnull(strstr(err->message, "'var/lib/ferry/leases' is not an absolute path"));
}

/* ------------------------------------------------------------ lockd */

static void test_exclusive(LockFixture *fx, gconstpointer data)
{
    g_autoptr(DomainDef) def_a = make_def("a", fx->disk1, NULL);
    g_autoptr(DomainDef) def_b = make_def("b", fx->disk1, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def_a);
    g_autoptr(LockHandle) b = make_handle(fx->mgr, def_b);

    acquire_ok(a);
    acquire_locked(fx, b, "b", fx->disk1);
    /* Acquiring again while held changes nothing. */
    acquire_ok(a);

    /* The lease file carries the hash of the path. */
    g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, fx->disk1, -1);
    g_autofree char *file = g_build_filename(fx->leases, hash, NULL);
    g_assert_true(g_file_test(file, G_FILE_TEST_IS_REGULAR));
    g_auto(GStrv) state = lock_manager_inquire(a);
    g_autofree char *lease = g_strdup_printf("%s:excl", hash);
    g_assert_cmpuint(g_strv_length(state), ==, 1);
    g_assert_cmpstr(state[0], ==, lease);

    release_ok(a);
    acquire_ok(b);
    acquire_locked(fx, a, "a", fx->disk1);
    release_ok(b);
    /* Releasing twice is fine. */
    release_ok(b);
    acquire_ok(a);

    /* Freeing a held handle that no QEMU shares drops its locks. */
    g_clear_pointer(&a, lock_manager_handle_free);
    acquire_ok(b);
}

static void test_symlink_same_lease(LockFixture *fx, gconstpointer data)
{
    g_autofree char *link = g_build_filename(fx->dir, "link.img", NULL);
    g_autofree char *dotted = g_build_filename(fx->dir, "disks", "..", "disks", "one.img", NULL);
    g_assert_cmpint(symlink(fx->disk1, link), ==, 0);

    g_autoptr(DomainDef) def_a = make_def("a", link, NULL);
    g_autoptr(DomainDef) def_b = make_def("b", fx->disk1, NULL);
    g_autoptr(DomainDef) def_c = make_def("c", dotted, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def_a);
    g_autoptr(LockHandle) b = make_handle(fx->mgr, def_b);
    g_autoptr(LockHandle) c = make_handle(fx->mgr, def_c);

    acquire_ok(a);
    acquire_locked(fx, b, "b", fx->disk1);
    acquire_locked(fx, c, "c", fx->disk1);

    /* A disk that does not exist is named by its normalized path. */
    g_autofree char *missing = g_build_filename(fx->dir, "nowhere", "x.img", NULL);
    g_autofree char *missing_dotted =
        g_build_filename(fx->dir, "nowhere", ".", "y", "..", "x.img", NULL);
    g_autoptr(DomainDef) def_d = make_def("d", missing, NULL);
    g_autoptr(DomainDef) def_e = make_def("e", missing_dotted, NULL);
    g_autoptr(LockHandle) d = make_handle(fx->mgr, def_d);
    g_autoptr(LockHandle) e = make_handle(fx->mgr, def_e);
    acquire_ok(d);
    acquire_locked(fx, e, "e", missing);
}

static void test_all_or_nothing(LockFixture *fx, gconstpointer data)
{
    g_autoptr(DomainDef) def_a = make_def("a", fx->disk2, NULL);
    /* b's first disk is free, its second is a's. */
    g_autoptr(DomainDef) def_b = make_def("b", fx->disk1, fx->disk3, fx->disk2, NULL);
    g_autoptr(DomainDef) def_c = make_def("c", fx->disk1, fx->disk3, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def_a);
    g_autoptr(LockHandle) b = make_handle(fx->mgr, def_b);
    g_autoptr(LockHandle) c = make_handle(fx->mgr, def_c);

    acquire_ok(a);
    acquire_locked(fx, b, "b", fx->disk2);
    /* b gave disk1 and disk3 back. */
    acquire_ok(c);
    release_ok(c);
    release_ok(a);
    acquire_ok(b);
    g_auto(GStrv) state = lock_manager_inquire(b);
    g_assert_cmpuint(g_strv_length(state), ==, 3);
}

static void test_readonly_shareable(LockFixture *fx, gconstpointer data)
{
    g_autofree char *ro = g_strdup_printf("%s|ro", fx->disk1);
    g_autofree char *share = g_strdup_printf("%s|share", fx->disk2);
    g_autoptr(DomainDef) def_r1 = make_def("r1", ro, NULL);
    g_autoptr(DomainDef) def_r2 = make_def("r2", ro, NULL);
    g_autoptr(DomainDef) def_w1 = make_def("w1", fx->disk1, NULL);
    g_autoptr(DomainDef) def_s1 = make_def("s1", share, NULL);
    g_autoptr(DomainDef) def_s2 = make_def("s2", share, fx->disk3, NULL);
    g_autoptr(DomainDef) def_w2 = make_def("w2", fx->disk2, NULL);
    g_autoptr(LockHandle) r1 = make_handle(fx->mgr, def_r1);
    g_autoptr(LockHandle) r2 = make_handle(fx->mgr, def_r2);
    g_autoptr(LockHandle) w1 = make_handle(fx->mgr, def_w1);
    g_autoptr(LockHandle) s1 = make_handle(fx->mgr, def_s1);
    g_autoptr(LockHandle) s2 = make_handle(fx->mgr, def_s2);
    g_autoptr(LockHandle) w2 = make_handle(fx->mgr, def_w2);

    /* Readers share; a writer waits for all of them, and they for it. */
    acquire_ok(r1);
    acquire_ok(r2);
    acquire_locked(fx, w1, "w1", fx->disk1);
    release_ok(r1);
    acquire_locked(fx, w1, "w1", fx->disk1);
    release_ok(r2);
    acquire_ok(w1);
    acquire_locked(fx, r1, "r1", fx->disk1);

    /* Shareable disks: shared leases too. */
    acquire_ok(s1);
    acquire_ok(s2);
    acquire_locked(fx, w2, "w2", fx->disk2);
    g_auto(GStrv) state = lock_manager_inquire(s2);
    g_assert_cmpuint(g_strv_length(state), ==, 2);
    g_assert_true(g_str_has_suffix(state[0], ":shared"));
    g_assert_true(g_str_has_suffix(state[1], ":excl"));
    release_ok(s1);
    release_ok(s2);
    acquire_ok(w2);
    acquire_locked(fx, s1, "s1", fx->disk2);
}

static void test_same_disk_twice(LockFixture *fx, gconstpointer data)
{
    g_autofree char *share = g_strdup_printf("%s|share", fx->disk1);
    g_autoptr(DomainDef) def_a = make_def("a", share, fx->disk1, NULL);
    g_autoptr(DomainDef) def_b = make_def("b", share, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def_a);
    g_autoptr(LockHandle) b = make_handle(fx->mgr, def_b);

    /* One lease, exclusive since one of the two disks is writable. */
    g_auto(GStrv) state = lock_manager_inquire(a);
    g_assert_cmpuint(g_strv_length(state), ==, 1);
    g_assert_true(g_str_has_suffix(state[0], ":excl"));
    acquire_ok(a);
    acquire_locked(fx, b, "b", fx->disk1);
}

static void test_no_source(LockFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def = domain_def_parse(
        "<domain type='qemu'><name>cd</name><memory unit='MiB'>64</memory>"
        "<os><type>hvm</type></os><devices>"
        "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>"
        "</devices></domain>",
        0, &err);
    g_assert_no_error(err);
    g_autoptr(LockHandle) h = make_handle(fx->mgr, def);
    g_auto(GStrv) state = lock_manager_inquire(h);

    g_assert_cmpuint(g_strv_length(state), ==, 0);
    acquire_ok(h);
}

static void test_stale_lease(LockFixture *fx, gconstpointer data)
{
    g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, fx->disk1, -1);
    g_autofree char *file = g_build_filename(fx->leases, hash, NULL);
    g_autoptr(DomainDef) def = make_def("a", fx->disk1, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def);

    /* A crashed host's lease file, with something in it, locked by nobody. */
    g_assert_true(g_file_set_contents(file, "left behind", -1, NULL));
    acquire_ok(a);
    release_ok(a);
    /* Leases are never deleted. */
    g_assert_true(g_file_test(file, G_FILE_TEST_IS_REGULAR));
}

static void test_missing_dir(LockFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *missing = g_build_filename(fx->dir, "not-mounted", NULL);
    LockManagerConfig config = { .lease_dir = missing };
    g_autoptr(LockManager) mgr = lock_manager_new(LOCK_MANAGER_LOCKD, &config, &err);
    g_assert_no_error(err);
    g_autoptr(DomainDef) def = make_def("a", fx->disk1, NULL);
    g_autoptr(LockHandle) h = make_handle(mgr, def);
    g_autofree char *want = g_strdup_printf("lease directory '%s' does not exist (it must be "
                                            "the directory that every host shares; ferry does "
                                            "not create it)",
                                            missing);

    g_assert_false(lock_manager_acquire(h, NULL, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_CONFIG));
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
    g_assert_false(lock_manager_register(h, &err));
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
    g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));

    /* A file where the directory should be. */
    touch(missing);
    g_assert_false(lock_manager_acquire(h, NULL, NULL, &err));
    g_assert_nonnull(strstr(err->message, "is not a directory"));
}

/* lockd on dir, marking the host whose UUID is all 'byte' */
static LockManager *make_lockd_host(const char *dir, unsigned char byte, unsigned char *uuid)
{
    g_autoptr(GError) err = NULL;
    LockManagerConfig config = { .lease_dir = dir, .host_uuid = uuid };
    LockManager *mgr;

    memset(uuid, byte, FERRY_UUID_BUFLEN);
    mgr = lock_manager_new(LOCK_MANAGER_LOCKD, &config, &err);
    g_assert_no_error(err);
    g_assert_nonnull(mgr);
    return mgr;
}

static char *marker_path(const char *dir, const unsigned char *uuid)
{
    char str[FERRY_UUID_STRING_BUFLEN];

    return g_build_filename(dir, "hosts", ferry_uuid_format(uuid, str), NULL);
}

/* Each lockd host marks itself in its lease directory (hosts/<uuid>,
 * locked while its manager lives): hosts that share the directory see
 * each other; a host with a directory of its own, a marker left behind
 * (not locked), itself, nop and unknown hosts share nothing.  A directory
 * missing at start is not created; the marker follows at the first
 * register that finds it. */
static void test_hosts_marker(LockFixture *fx, gconstpointer data)
{
    unsigned char ua[FERRY_UUID_BUFLEN], ub[FERRY_UUID_BUFLEN], uc[FERRY_UUID_BUFLEN];
    unsigned char ud[FERRY_UUID_BUFLEN], ue[FERRY_UUID_BUFLEN];
    static const unsigned char zero[FERRY_UUID_BUFLEN] = { 0 };
    g_autofree char *other = g_build_filename(fx->dir, "other-leases", NULL);
    g_autofree char *late = g_build_filename(fx->dir, "late-leases", NULL);
    g_autoptr(GError) err = NULL;
    struct stat st;
    mode_t mask = umask(0);

    umask(mask);
    g_assert_cmpint(g_mkdir(other, 0700), ==, 0);
    g_autoptr(LockManager) a = make_lockd_host(fx->leases, 0xa1, ua);
    g_autoptr(LockManager) b = make_lockd_host(fx->leases, 0xb2, ub);
    g_autoptr(LockManager) c = make_lockd_host(other, 0xc3, uc);
    g_autoptr(LockManager) nop = lock_manager_new(LOCK_MANAGER_NOP, NULL, &err);
    g_assert_no_error(err);
    g_autofree char *marker_a = marker_path(fx->leases, ua);
    g_autofree char *marker_b = marker_path(fx->leases, ub);
    g_autofree char *marker_c = marker_path(other, uc);

    g_assert_cmpint(lstat(marker_a, &st), ==, 0);
    g_assert_true(S_ISREG(st.st_mode));
    g_assert_cmpint(st.st_mode & 07777, ==, 0644 & ~mask);
    g_assert_true(g_file_test(marker_b, G_FILE_TEST_IS_REGULAR));
    g_assert_true(g_file_test(marker_c, G_FILE_TEST_IS_REGULAR));

    g_assert_true(lock_manager_shares_with(a, ub));
    g_assert_true(lock_manager_shares_with(b, ua));
    /* a manager without a UUID of its own still sees the others */
    g_assert_true(lock_manager_shares_with(fx->mgr, ua));
    g_assert_false(lock_manager_shares_with(a, uc));
    g_assert_false(lock_manager_shares_with(c, ua));
    g_assert_false(lock_manager_shares_with(a, ua));
    g_assert_false(lock_manager_shares_with(a, NULL));
    g_assert_false(lock_manager_shares_with(a, zero));
    g_assert_false(lock_manager_shares_with(nop, ub));

    /* b goes: its marker stays, unlocked, and counts no more */
    g_clear_pointer(&b, lock_manager_unref);
    g_assert_true(g_file_test(marker_b, G_FILE_TEST_IS_REGULAR));
    g_assert_false(lock_manager_shares_with(a, ub));
    /* it comes back */
    b = make_lockd_host(fx->leases, 0xb2, ub);
    g_assert_true(lock_manager_shares_with(a, ub));

    /* a directory missing at start */
    g_autoptr(LockManager) d = make_lockd_host(late, 0xd4, ud);
    g_assert_false(g_file_test(late, G_FILE_TEST_EXISTS));
    g_assert_cmpint(g_mkdir(late, 0700), ==, 0);
    g_autoptr(LockManager) e = make_lockd_host(late, 0xe5, ue);
    g_assert_false(lock_manager_shares_with(e, ud));
    g_assert_true(lock_manager_shares_with(d, ue));
    {
        g_autoptr(DomainDef) def = make_def("late", fx->disk1, NULL);
        g_autoptr(LockHandle) h = make_handle(d, def);

        g_assert_true(lock_manager_register(h, &err));
        g_assert_no_error(err);
    }
    g_assert_true(lock_manager_shares_with(e, ud));
}

static void test_migration(LockFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *share = g_strdup_printf("%s|share", fx->disk2);
    /* The same definition on both "hosts". */
    g_autoptr(DomainDef) def = make_def("web1", fx->disk1, share, NULL);
    g_autoptr(LockHandle) src = make_handle(fx->mgr, def);
    g_autoptr(LockHandle) dst = make_handle(fx->mgr, def);

    acquire_ok(src);

    /* Prepare: the target registers (its QEMU gets the fds), locks nothing. */
    g_assert_true(lock_manager_register(dst, &err));
    g_assert_no_error(err);
    g_autoptr(GArray) dst_fds = lock_manager_get_fds(dst);
    g_assert_cmpuint(dst_fds->len, ==, 2);
    g_assert_false(lock_manager_handle_is_held(dst));

    /* The state travels in the cookie. */
    CookieHost host = { .hostname = "hosta" };
    g_autoptr(MigrationCookie) out = cookie_new();
    g_assert_cmpint(cookie_set_identity(out, def->name, def->uuid, &host, &err), ==, 0);
    g_assert_true(lock_manager_inquire_cookie(src, out, &err));
    g_assert_no_error(err);
    g_autofree char *xml = cookie_format(out, &err);
    g_assert_no_error(err);
    g_assert_true(strstr(xml, "<lockstate driver=\"lockd\">") ||
                  strstr(xml, "<lockstate driver='lockd'>"));
    g_autoptr(MigrationCookie) in = cookie_parse(xml, strlen(xml), NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(in->lockstate->leases->len, ==, 2);

    /* Before the source pauses, the target cannot have the disks. */
    g_assert_false(lock_manager_acquire_cookie(dst, in, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_DENIED));
    g_clear_error(&err);
    g_assert_false(lock_manager_handle_is_held(dst));

    /* Switchover: the source pauses and releases; the target acquires. */
    release_ok(src);
    g_assert_true(lock_manager_acquire_cookie(dst, in, &err));
    g_assert_no_error(err);
    g_assert_true(lock_manager_handle_is_held(dst));
    /* The target locked through the fds it registered (its QEMU's). */
    g_autoptr(GArray) dst_fds2 = lock_manager_get_fds(dst);
    for (guint i = 0; i < dst_fds->len; i++)
        g_assert_cmpint(g_array_index(dst_fds2, LockManagerFd, i).fd, ==,
                        g_array_index(dst_fds, LockManagerFd, i).fd);

    /* Confirm(cancelled) racing a Finish that won: the source cannot
     * resume. */
    acquire_locked(fx, src, "web1", fx->disk1);
}

static void test_state_mismatch(LockFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *share = g_strdup_printf("%s|share", fx->disk2);
    g_autoptr(DomainDef) def = make_def("web1", fx->disk1, share, NULL);
    g_autoptr(DomainDef) def_other = make_def("web1", fx->disk1, fx->disk3, NULL);
    g_autoptr(LockHandle) src = make_handle(fx->mgr, def);
    g_autoptr(LockHandle) dst = make_handle(fx->mgr, def);
    g_autoptr(LockHandle) other = make_handle(fx->mgr, def_other);
    g_auto(GStrv) state = lock_manager_inquire(src);
    g_auto(GStrv) other_state = lock_manager_inquire(other);
    g_autofree char *h1 = g_compute_checksum_for_string(G_CHECKSUM_SHA256, fx->disk1, -1);
    g_autofree char *h2 = g_compute_checksum_for_string(G_CHECKSUM_SHA256, fx->disk2, -1);
    g_autofree char *h3 = g_compute_checksum_for_string(G_CHECKSUM_SHA256, fx->disk3, -1);
    g_autofree char *msg = NULL;

    g_autofree char *lease1 = g_strdup_printf("%s:excl", h1);
    g_assert_cmpuint(g_strv_length(state), ==, 2);
    g_assert_cmpstr(state[0], ==, lease1);

    /* The exact state: fine. */
    g_assert_true(lock_manager_acquire(dst, "lockd", (const char *const *)state, &err));
    g_assert_no_error(err);
    release_ok(dst);
    /* In another order: fine too. */
    const char *const swapped[] = { state[1], state[0], NULL };
    g_assert_true(lock_manager_acquire(dst, "lockd", swapped, &err));
    g_assert_no_error(err);
    release_ok(dst);

    /* Another driver. */
    g_assert_false(lock_manager_acquire(dst, "nop", NULL, &err));
    g_assert_cmpstr(err->message, ==,
                    "domain 'web1': the lock state comes from lock manager 'nop', this host uses "
                    "'lockd'");
    g_clear_error(&err);

    /* A lease none of our disks has (disk3 instead of disk2). */
    g_assert_false(lock_manager_acquire(dst, "lockd", (const char *const *)other_state, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    msg = g_strdup_printf("domain 'web1': the lock state names lease '%s:excl', which is not the "
                          "lease of any of its disks here",
                          h3);
    g_assert_cmpstr(err->message, ==, msg);
    g_clear_error(&err);
    g_clear_pointer(&msg, g_free);

    /* A lease missing. */
    const char *const partial[] = { state[0], NULL };
    g_assert_false(lock_manager_acquire(dst, "lockd", partial, &err));
    msg = g_strdup_printf("domain 'web1': disk '%s' (lease '%s:shared') is missing from the lock "
                          "state",
                          fx->disk2, h2);
    g_assert_cmpstr(err->message, ==, msg);
    g_clear_error(&err);
    g_clear_pointer(&msg, g_free);

    /* An empty state for a domain with disks. */
    g_assert_false(lock_manager_acquire(dst, "lockd", NULL, &err));
    g_assert_nonnull(strstr(err->message, "is missing from the lock state"));
    g_clear_error(&err);

    /* The same disk in another mode. */
    g_autofree char *wrong_mode = g_strdup_printf("%s:excl", h2);
    const char *const modes[] = { state[0], wrong_mode, NULL };
    g_assert_false(lock_manager_acquire(dst, "lockd", modes, &err));
    msg = g_strdup_printf("domain 'web1': disk '%s' takes lease '%s:shared' here, but the lock "
                          "state has '%s:excl'",
                          fx->disk2, h2, h2);
    g_assert_cmpstr(err->message, ==, msg);
    g_clear_error(&err);
    g_clear_pointer(&msg, g_free);

    /* Twice, and garbage. */
    const char *const twice[] = { state[0], state[1], state[0], NULL };
    g_assert_false(lock_manager_acquire(dst, "lockd", twice, &err));
    g_assert_nonnull(strstr(err->message, "names lease"));
    g_assert_nonnull(strstr(err->message, "twice"));
    g_clear_error(&err);
    const char *const garbage[] = { "sanlock-lease", NULL };
    g_assert_false(lock_manager_acquire(dst, "lockd", garbage, &err));
    g_assert_cmpstr(err->message, ==,
                    "domain 'web1': lock state lease 'sanlock-lease' is not a lockd lease "
                    "('<sha256>:excl' or '<sha256>:shared')");
    g_clear_error(&err);

    /* None of the refusals took anything. */
    g_assert_false(lock_manager_handle_is_held(dst));
    acquire_ok(other);
}

/* ------------------------------------------------------------ fds and QEMU */

static int helper_main(const char *parent)
{
    /* Never outlive a test that failed an assertion (and so never reaped
     * us): die with the test program. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)g_ascii_strtoll(parent, NULL, 10))
        return 1;
    for (;;)
        pause();
    return 0;
}

/* The helper "QEMU", holding copies of h's lease fds at HELPER_FD_BASE+i. */
static Spawn *start_qemu(LockHandle *h)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) fds = lock_manager_get_fds(h);
    g_autofree char *parent = g_strdup_printf("%d", (int)getpid());
    Spawn *spawn = spawn_new((const char *const[]){ self_exe, "--helper", parent, NULL });

    g_assert_cmpuint(fds->len, >, 0);
    for (guint i = 0; i < fds->len; i++)
        spawn_pass_fd(spawn, g_array_index(fds, LockManagerFd, i).fd, HELPER_FD_BASE + (int)i);
    g_assert_true(spawn_start(spawn, &err));
    g_assert_no_error(err);
    return spawn;
}

static void stop_qemu(Spawn *spawn)
{
    g_autoptr(GError) err = NULL;
    SpawnStatus st;

    g_assert_true(spawn_kill_and_reap(spawn, SPAWN_DEFAULT_KILL_GRACE_MS, &st, &err));
    g_assert_no_error(err);
    g_assert_false(spawn_is_running(spawn));
}

static void test_fd_handover(LockFixture *fx, gconstpointer data)
{
    g_autoptr(DomainDef) def_a = make_def("a", fx->disk1, fx->disk2, NULL);
    g_autoptr(DomainDef) def_b = make_def("b", fx->disk2, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def_a);
    g_autoptr(LockHandle) b = make_handle(fx->mgr, def_b);

    acquire_ok(a);
    g_autoptr(Spawn) qemu = start_qemu(a);
    acquire_locked(fx, b, "b", fx->disk2);

    /* Released through ferryd's fd: gone for QEMU's copies as well. */
    release_ok(a);
    acquire_ok(b);
    release_ok(b);

    /* Acquired again (resume) through the same descriptions. */
    acquire_ok(a);
    acquire_locked(fx, b, "b", fx->disk2);

    /* ferryd closes its fds (it shuts down): QEMU keeps the leases. */
    g_clear_pointer(&a, lock_manager_handle_free);
    acquire_locked(fx, b, "b", fx->disk2);

    /* QEMU ends: the leases end with it. */
    stop_qemu(qemu);
    acquire_ok(b);
}

static void test_qemu_dies_ferryd_holds(LockFixture *fx, gconstpointer data)
{
    g_autoptr(DomainDef) def_a = make_def("a", fx->disk1, NULL);
    g_autoptr(DomainDef) def_b = make_def("b", fx->disk1, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def_a);
    g_autoptr(LockHandle) b = make_handle(fx->mgr, def_b);

    acquire_ok(a);
    g_autoptr(Spawn) qemu = start_qemu(a);
    /* A crashed guest's disks stay locked until ferryd releases them. */
    stop_qemu(qemu);
    acquire_locked(fx, b, "b", fx->disk1);
    release_ok(a);
    acquire_ok(b);
}

/* Skips (returning FALSE) unless pidfd_getfd works on the helper. */
static gboolean can_adopt(Spawn *qemu)
{
    int fd = (int)syscall(SYS_pidfd_getfd, spawn_get_pidfd(qemu), HELPER_FD_BASE, 0);

    if (fd < 0) {
        g_autofree char *why =
            g_strdup_printf("pidfd_getfd does not work here: %s", g_strerror(errno));
        g_test_skip(why);
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* The status XML's record: each lease with its fd number in QEMU. */
static GArray *qemu_fd_record(LockHandle *h)
{
    GArray *fds = lock_manager_get_fds(h);

    for (guint i = 0; i < fds->len; i++)
        g_array_index(fds, LockManagerFd, i).fd = HELPER_FD_BASE + (int)i;
    return fds;
}

static void test_adopt(LockFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def_a = make_def("a", fx->disk1, fx->disk2, NULL);
    g_autoptr(DomainDef) def_b = make_def("b", fx->disk2, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def_a);
    g_autoptr(LockHandle) b = make_handle(fx->mgr, def_b);

    acquire_ok(a);
    g_autoptr(Spawn) qemu = start_qemu(a);
    if (!can_adopt(qemu)) {
        stop_qemu(qemu);
        return;
    }
    /* Leases strings are kept: the status XML has them; the handle goes. */
    g_auto(GStrv) leases = lock_manager_inquire(a);
    g_autoptr(GArray) record = qemu_fd_record(a);
    for (guint i = 0; i < record->len; i++)
        g_array_index(record, LockManagerFd, i).lease = leases[i];

    /* ferryd restarts: its fds are gone, QEMU's hold the leases. */
    g_clear_pointer(&a, lock_manager_handle_free);
    acquire_locked(fx, b, "b", fx->disk2);

    /* The new ferryd adopts them. */
    g_autoptr(LockHandle) a2 = make_handle(fx->mgr, def_a);
    g_assert_true(lock_manager_adopt(a2, spawn_get_pidfd(qemu), (LockManagerFd *)record->data,
                                     record->len, TRUE, &err));
    g_assert_no_error(err);
    g_assert_true(lock_manager_handle_is_held(a2));
    g_autoptr(GArray) adopted = lock_manager_get_fds(a2);
    g_assert_cmpuint(adopted->len, ==, 2);
    acquire_locked(fx, b, "b", fx->disk2);

    /* And controls them: release (pause) frees the disks for others... */
    release_ok(a2);
    acquire_ok(b);
    release_ok(b);
    /* ...and acquire (resume) takes them through QEMU's descriptions. */
    acquire_ok(a2);
    acquire_locked(fx, b, "b", fx->disk2);

    /* Adopting twice into one handle is refused. */
    g_assert_false(lock_manager_adopt(a2, spawn_get_pidfd(qemu), (LockManagerFd *)record->data,
                                      record->len, TRUE, &err));
    g_assert_nonnull(strstr(err->message, "has its own already"));
    g_clear_error(&err);

    /* QEMU ends: ferryd's adopted fds still hold the leases until it
     * releases. */
    stop_qemu(qemu);
    acquire_locked(fx, b, "b", fx->disk2);
    release_ok(a2);
    acquire_ok(b);
}

static void test_adopt_paused_and_lost(LockFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def_a = make_def("a", fx->disk1, NULL);
    g_autoptr(DomainDef) def_b = make_def("b", fx->disk1, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def_a);
    g_autoptr(LockHandle) b = make_handle(fx->mgr, def_b);

    acquire_ok(a);
    g_autoptr(Spawn) qemu = start_qemu(a);
    if (!can_adopt(qemu)) {
        stop_qemu(qemu);
        return;
    }
    g_auto(GStrv) leases = lock_manager_inquire(a);
    LockManagerFd record[] = { { leases[0], HELPER_FD_BASE } };

    /* The domain was paused (released) when ferryd went away, and another
     * domain took the disk meanwhile. */
    release_ok(a);
    g_clear_pointer(&a, lock_manager_handle_free);
    acquire_ok(b);

    /* Adopting as held fails, and takes nothing from b. */
    g_autoptr(LockHandle) a2 = make_handle(fx->mgr, def_a);
    g_assert_false(lock_manager_adopt(a2, spawn_get_pidfd(qemu), record, 1, TRUE, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_DENIED));
    g_assert_nonnull(strstr(err->message, "is locked by another domain"));
    g_clear_error(&err);
    g_assert_false(lock_manager_handle_is_held(a2));
    g_autoptr(GArray) none = lock_manager_get_fds(a2);
    g_assert_cmpuint(none->len, ==, 0);

    /* As not held (paused) it works; resuming is then refused while b
     * runs, and works once b is gone. */
    g_assert_true(lock_manager_adopt(a2, spawn_get_pidfd(qemu), record, 1, FALSE, &err));
    g_assert_no_error(err);
    g_assert_false(lock_manager_handle_is_held(a2));
    acquire_locked(fx, a2, "a", fx->disk1);
    release_ok(b);
    acquire_ok(a2);
    /* ...and that lock lives in QEMU's description: ferryd's copy closed,
     * b still cannot have the disk. */
    g_clear_pointer(&a2, lock_manager_handle_free);
    acquire_locked(fx, b, "b", fx->disk1);
    stop_qemu(qemu);
    acquire_ok(b);
}

static void test_adopt_errors(LockFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def_a = make_def("a", fx->disk1, fx->disk2, NULL);
    g_autoptr(LockHandle) a = make_handle(fx->mgr, def_a);

    acquire_ok(a);
    g_autoptr(Spawn) qemu = start_qemu(a);
    if (!can_adopt(qemu)) {
        stop_qemu(qemu);
        return;
    }
    g_auto(GStrv) leases = lock_manager_inquire(a);
    int pidfd = spawn_get_pidfd(qemu);
    g_autoptr(LockHandle) a2 = make_handle(fx->mgr, def_a);

    /* A lease missing from the record. */
    LockManagerFd one[] = { { leases[0], HELPER_FD_BASE } };
    g_assert_false(lock_manager_adopt(a2, pidfd, one, 1, TRUE, &err));
    g_assert_nonnull(strstr(err->message, "has no fd to adopt"));
    g_clear_error(&err);

    /* A lease the domain does not have; one listed twice. */
    LockManagerFd unknown[] = { { leases[0], HELPER_FD_BASE }, { "abc:excl", 11 } };
    g_assert_false(lock_manager_adopt(a2, pidfd, unknown, 2, TRUE, &err));
    g_assert_nonnull(strstr(err->message, "cannot adopt lease 'abc:excl'"));
    g_clear_error(&err);
    LockManagerFd twice[] = { { leases[0], HELPER_FD_BASE }, { leases[0], HELPER_FD_BASE } };
    g_assert_false(lock_manager_adopt(a2, pidfd, twice, 2, TRUE, &err));
    g_assert_nonnull(strstr(err->message, "listed twice"));
    g_clear_error(&err);

    /* The fds swapped: each is the other lease's file. */
    LockManagerFd swapped[] = { { leases[0], HELPER_FD_BASE + 1 }, { leases[1], HELPER_FD_BASE } };
    g_assert_false(lock_manager_adopt(a2, pidfd, swapped, 2, TRUE, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_FAILED));
    g_assert_nonnull(strstr(err->message, "is not lease file"));
    g_clear_error(&err);

    /* An fd that QEMU does not have open (its stdin is /dev/null). */
    LockManagerFd closed[] = { { leases[0], 40 }, { leases[1], HELPER_FD_BASE + 1 } };
    g_assert_false(lock_manager_adopt(a2, pidfd, closed, 2, TRUE, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_SYSTEM));
    g_assert_nonnull(strstr(err->message, "cannot take fd 40 of QEMU"));
    g_clear_error(&err);
    LockManagerFd devnull[] = { { leases[0], 0 }, { leases[1], HELPER_FD_BASE + 1 } };
    g_assert_false(lock_manager_adopt(a2, pidfd, devnull, 2, TRUE, &err));
    g_assert_nonnull(strstr(err->message, "fd 0 of QEMU is not lease file"));
    g_clear_error(&err);

    /* After all that, nothing was taken or broken: the right record works. */
    g_autoptr(GArray) none = lock_manager_get_fds(a2);
    g_assert_cmpuint(none->len, ==, 0);
    g_assert_false(lock_manager_handle_is_held(a2));
    g_autoptr(GArray) record = qemu_fd_record(a);
    g_assert_true(
        lock_manager_adopt(a2, pidfd, (LockManagerFd *)record->data, record->len, TRUE, &err));
    g_assert_no_error(err);
    g_assert_true(lock_manager_handle_is_held(a2));
    stop_qemu(qemu);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && g_str_equal(argv[1], "--helper"))
        return helper_main(argv[2]);

    g_test_init(&argc, &argv, NULL);

    self_exe = g_file_read_link("/proc/self/exe", NULL);
    g_assert_nonnull(self_exe);

    g_test_add_func("/lock/nop", test_nop);
    g_test_add_func("/lock/config", test_config);
#define ADD(path, fn) g_test_add(path, LockFixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/lock/lockd/exclusive", test_exclusive);
    ADD("/lock/lockd/symlink-same-lease", test_symlink_same_lease);
    ADD("/lock/lockd/all-or-nothing", test_all_or_nothing);
    ADD("/lock/lockd/readonly-shareable", test_readonly_shareable);
    ADD("/lock/lockd/same-disk-twice", test_same_disk_twice);
    ADD("/lock/lockd/no-source", test_no_source);
    ADD("/lock/lockd/stale-lease", test_stale_lease);
    ADD("/lock/lockd/missing-dir", test_missing_dir);
    ADD("/lock/lockd/hosts-marker", test_hosts_marker);
    ADD("/lock/lockd/migration", test_migration);
    ADD("/lock/lockd/state-mismatch", test_state_mismatch);
    ADD("/lock/lockd/fd-handover", test_fd_handover);
    ADD("/lock/lockd/qemu-dies-ferryd-holds", test_qemu_dies_ferryd_holds);
    ADD("/lock/lockd/adopt", test_adopt);
    ADD("/lock/lockd/adopt-paused-and-lost", test_adopt_paused_and_lost);
    ADD("/lock/lockd/adopt-errors", test_adopt_errors);

    int ret = g_test_run();
    g_free(self_exe);
    return ret;
}
