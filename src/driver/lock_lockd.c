/*
 * lock_lockd.c: the "lockd" lock manager: a lease per disk, held as an OFD
 * lock on a file in a directory every host shares (see lock_manager.h).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LOCK
#define FERRY_LOG_MODULE "driver.lock"

#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/uuid.h"

#include "driver/lock_manager.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define LOCKD_MODE_EXCL "excl"
#define LOCKD_MODE_SHARED "shared"

/* The hosts' markers: <dir>/hosts/<host-uuid> (lock_manager_shares_with). */
#define LOCKD_HOSTS_DIR "hosts"

typedef struct {
    char *dir;
    gboolean have_uuid; /* host_uuid given (not all zero) */
    unsigned char host_uuid[FERRY_UUID_BUFLEN];
    GMutex mark_lock; /* guards marker_fd */
    int marker_fd; /* our marker, shared-locked; -1 until marked */
} Lockd;

typedef struct {
    char *path; /* the disk's canonical path */
    char *hash; /* SHA-256 hex of path: the lease file's name */
    char *lease; /* "<hash>:excl" or "<hash>:shared" */
    gboolean shared;
    int fd; /* -1 until registered */
    gboolean locked;
} LockdLease;

typedef struct {
    Lockd *lockd; /* the handle's manager keeps it alive */
    char *domain;
    GPtrArray *leases; /* LockdLease *, in disk order */
} LockdHandle;

static void lockd_lease_free(LockdLease *lease)
{
    if (!lease)
        return;
    ferry_fd_close(&lease->fd);
    g_free(lease->path);
    g_free(lease->hash);
    g_free(lease->lease);
    g_free(lease);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LockdLease, lockd_lease_free)

static void lockd_handle_free(gpointer h_priv)
{
    LockdHandle *h = h_priv;

    if (!h)
        return;
    g_ptr_array_unref(h->leases);
    g_free(h->domain);
    g_free(h);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LockdHandle, lockd_handle_free)

/* ------------------------------------------------------------ the manager */

static gboolean lockd_check_dir(const Lockd *lockd, GError **error);
static int lockd_setlk(int fd, short type);
static void lockd_mark_try(Lockd *lockd);

static gboolean lockd_open(const LockManagerConfig *config, gpointer *mgr_priv, GError **error)
{
    if (!config->lease_dir || !*config->lease_dir) {
        ferry_fail(error, FERRY_ERR_CONFIG, "lock manager 'lockd' needs a lease directory");
        return FALSE;
    }
    if (!g_path_is_absolute(config->lease_dir)) {
        ferry_fail(error, FERRY_ERR_CONFIG,
                   "lock manager 'lockd': lease directory '%s' is not an absolute path",
                   config->lease_dir);
        return FALSE;
    }
    Lockd *lockd = g_new0(Lockd, 1);
    lockd->dir = g_canonicalize_filename(config->lease_dir, NULL);
    lockd->marker_fd = -1;
    g_mutex_init(&lockd->mark_lock);
    if (config->host_uuid && !ferry_uuid_is_null(config->host_uuid)) {
        lockd->have_uuid = TRUE;
        memcpy(lockd->host_uuid, config->host_uuid, FERRY_UUID_BUFLEN);
    }
    /* a missing directory is reported when a domain needs it; the marker
     * follows then (lockd_register) */
    lockd_mark_try(lockd);
    *mgr_priv = lockd;
    return TRUE;
}

static void lockd_close(gpointer mgr_priv)
{
    Lockd *lockd = mgr_priv;

    /* our marker's lock goes with the fd: peers no longer rely on us */
    ferry_fd_close(&lockd->marker_fd);
    g_mutex_clear(&lockd->mark_lock);
    g_free(lockd->dir);
    g_free(lockd);
}

/* ------------------------------------------------------------ host markers */

static char *lockd_marker_path(const Lockd *lockd, const unsigned char *host_uuid)
{
    char uuidstr[FERRY_UUID_STRING_BUFLEN];

    return g_build_filename(lockd->dir, LOCKD_HOSTS_DIR, ferry_uuid_format(host_uuid, uuidstr),
                            NULL);
}

/* Our marker, created when missing and shared-locked through an fd the
 * manager keeps (lockd->mark_lock held).  0 or -1. */
static int lockd_mark(Lockd *lockd, GError **error)
{
    g_autofree char *hosts = g_build_filename(lockd->dir, LOCKD_HOSTS_DIR, NULL);
    g_autofree char *file = lockd_marker_path(lockd, lockd->host_uuid);
    g_auto(FerryFd) fd = -1;
    struct stat st;

    if (!lockd_check_dir(lockd, error))
        return -1;
    if (mkdir(hosts, 0755) < 0 && errno != EEXIST)
        return ferry_fail_errno(error, errno, "cannot create '%s'", hosts);
    if (lstat(hosts, &st) < 0)
        return ferry_fail_errno(error, errno, "'%s'", hosts);
    if (!S_ISDIR(st.st_mode))
        return ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "'%s' is not a directory", hosts);
    do {
        fd = open(file, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return ferry_fail_errno(error, errno, "cannot open host marker '%s'", file);
    if (fstat(fd, &st) < 0)
        return ferry_fail_errno(error, errno, "host marker '%s'", file);
    if (!S_ISREG(st.st_mode))
        return ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                          "host marker '%s' is not a regular file", file);
    if (lockd_setlk(fd, F_RDLCK) < 0)
        return ferry_fail_errno(error, errno, "cannot lock host marker '%s'", file);
    lockd->marker_fd = ferry_fd_steal(&fd);
    FLOG_INFO("lease directory '%s': this host is marked in '%s'", lockd->dir, file);
    return 0;
}

/* Marks this host unless done (or it has no UUID); a failure is logged:
 * peers then do not rely on our leases. */
static void lockd_mark_try(Lockd *lockd)
{
    g_autoptr(GError) err = NULL;
    gboolean ok;

    if (!lockd->have_uuid)
        return;
    g_mutex_lock(&lockd->mark_lock);
    ok = lockd->marker_fd >= 0 || lockd_mark(lockd, &err) == 0;
    g_mutex_unlock(&lockd->mark_lock);
    if (!ok)
        FLOG_WARN("lock manager 'lockd': cannot mark this host in the lease directory (other "
                  "hosts will not rely on its leases to tell where a guest runs): %s",
                  err->message);
}

/* The host shares our directory when its marker is there and some ferryd
 * holds its lock (lock_manager.h). */
static gboolean lockd_shares_with(gpointer mgr_priv, const unsigned char *host_uuid)
{
    Lockd *lockd = mgr_priv;
    g_autofree char *file = lockd_marker_path(lockd, host_uuid);
    struct flock fl;
    g_auto(FerryFd) fd = -1;
    struct stat st;

    if (lockd->have_uuid && ferry_uuid_equal(host_uuid, lockd->host_uuid))
        return FALSE;
    do {
        fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        FLOG_DEBUG("host marker '%s': %s", file, g_strerror(errno));
        return FALSE;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return FALSE;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK; /* what would conflict with it: any lock */
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        FLOG_WARN("host marker '%s': cannot query its lock: %s", file, g_strerror(errno));
        return FALSE;
    }
    if (fl.l_type == F_UNLCK) {
        FLOG_DEBUG("host marker '%s' is not locked: that host does not use this directory now",
                   file);
        return FALSE;
    }
    return TRUE;
}

/* The directory must be there: see lock_manager.h for why ferry never
 * creates it. */
static gboolean lockd_check_dir(const Lockd *lockd, GError **error)
{
    struct stat st;

    if (stat(lockd->dir, &st) < 0) {
        if (errno == ENOENT) {
            ferry_fail(error, FERRY_ERR_CONFIG,
                       "lease directory '%s' does not exist (it must be the directory that "
                       "every host shares; ferry does not create it)",
                       lockd->dir);
            return FALSE;
        }
        ferry_fail_errno(error, errno, "lease directory '%s'", lockd->dir);
        return FALSE;
    }
    if (!S_ISDIR(st.st_mode)) {
        ferry_fail(error, FERRY_ERR_CONFIG, "lease directory '%s' is not a directory", lockd->dir);
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------ leases */

/* The path that names the disk on every host (lock_manager.h). */
static char *lockd_canonical_path(const char *domain, const DomainDiskDef *disk, GError **error)
{
    if (!g_path_is_absolute(disk->src)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': disk '%s' has a relative path: it cannot have a lease", domain,
                   disk->src);
        return NULL;
    }
    if (disk->type == DOMAIN_DISK_TYPE_FILE) {
        char *real = realpath(disk->src, NULL);

        if (real)
            return real;
        if (errno != ENOENT) {
            ferry_fail_errno(error, errno, "domain '%s': disk '%s': cannot resolve its path",
                             domain, disk->src);
            return NULL;
        }
    }
    return g_canonicalize_filename(disk->src, NULL);
}

static LockdLease *lockd_find_hash(LockdHandle *h, const char *hash, gsize hash_len)
{
    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);

        if (strlen(lease->hash) == hash_len && strncmp(lease->hash, hash, hash_len) == 0)
            return lease;
    }
    return NULL;
}

static LockdLease *lockd_find_lease(LockdHandle *h, const char *lease_str)
{
    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);

        if (g_str_equal(lease->lease, lease_str))
            return lease;
    }
    return NULL;
}

static gboolean lockd_handle_new(gpointer mgr_priv, const DomainDef *def, gpointer *h_priv,
                                 GError **error)
{
    g_autoptr(LockdHandle) h = g_new0(LockdHandle, 1);

    h->lockd = mgr_priv;
    h->domain = g_strdup(def->name ? def->name : "");
    h->leases = g_ptr_array_new_with_free_func((GDestroyNotify)lockd_lease_free);

    for (size_t i = 0; i < def->ndisks; i++) {
        const DomainDiskDef *disk = def->disks[i];
        gboolean shared = disk->shareable || disk->readonly;

        if (!disk->src || !*disk->src)
            continue;
        g_autofree char *path = lockd_canonical_path(h->domain, disk, error);
        if (!path)
            return FALSE;
        g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, path, -1);

        LockdLease *same = lockd_find_hash(h, hash, strlen(hash));
        if (same) {
            /* One path, two disks: one lease, exclusive if either is. */
            if (same->shared && !shared) {
                same->shared = FALSE;
                g_free(same->lease);
                same->lease = g_strdup_printf("%s:%s", same->hash, LOCKD_MODE_EXCL);
            }
            continue;
        }
        LockdLease *lease = g_new0(LockdLease, 1);
        lease->fd = -1;
        lease->shared = shared;
        lease->path = g_steal_pointer(&path);
        lease->hash = g_steal_pointer(&hash);
        lease->lease =
            g_strdup_printf("%s:%s", lease->hash, shared ? LOCKD_MODE_SHARED : LOCKD_MODE_EXCL);
        g_ptr_array_add(h->leases, lease);
        FLOG_DEBUG("domain '%s': disk '%s' -> lease %s", h->domain, lease->path, lease->lease);
    }
    *h_priv = g_steal_pointer(&h);
    return TRUE;
}

/* fcntl(F_OFD_SETLK) on the whole file; type F_RDLCK, F_WRLCK or F_UNLCK.
 * Returns 0 or -1 with errno (EAGAIN or EACCES: someone else holds it). */
static int lockd_setlk(int fd, short type)
{
    struct flock fl;
    int rc;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0; /* to the end, however long the file grows */
    fl.l_pid = 0; /* required for OFD locks */
    do {
        rc = fcntl(fd, F_OFD_SETLK, &fl);
    } while (rc < 0 && errno == EINTR);
    return rc;
}

static gboolean lockd_lock(LockdHandle *h, LockdLease *lease, GError **error)
{
    if (lockd_setlk(lease->fd, lease->shared ? F_RDLCK : F_WRLCK) < 0) {
        if (errno == EAGAIN || errno == EACCES) {
            ferry_fail(error, FERRY_ERR_OPERATION_DENIED,
                       "domain '%s': disk '%s' is locked by another domain (lease %s in %s)",
                       h->domain, lease->path, lease->hash, h->lockd->dir);
            return FALSE;
        }
        ferry_fail_errno(error, errno, "domain '%s': disk '%s': cannot lock lease %s in %s",
                         h->domain, lease->path, lease->hash, h->lockd->dir);
        return FALSE;
    }
    lease->locked = TRUE;
    return TRUE;
}

static gboolean lockd_unlock(LockdHandle *h, LockdLease *lease, GError **error)
{
    if (lockd_setlk(lease->fd, F_UNLCK) < 0) {
        ferry_fail_errno(error, errno, "domain '%s': disk '%s': cannot unlock lease %s in %s",
                         h->domain, lease->path, lease->hash, h->lockd->dir);
        return FALSE;
    }
    lease->locked = FALSE;
    return TRUE;
}

static int lockd_open_lease(LockdHandle *h, LockdLease *lease, GError **error)
{
    g_autofree char *file = g_build_filename(h->lockd->dir, lease->hash, NULL);
    g_auto(FerryFd) fd = -1;
    struct stat st;

    do {
        fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return ferry_fail_errno(error, errno, "domain '%s': disk '%s': cannot open lease file '%s'",
                                h->domain, lease->path, file);
    if (fstat(fd, &st) < 0)
        return ferry_fail_errno(error, errno, "lease file '%s'", file);
    if (!S_ISREG(st.st_mode))
        return ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                          "lease file '%s' is not a regular file", file);
    return ferry_fd_steal(&fd);
}

/* ------------------------------------------------------------ operations */

static gboolean lockd_register(gpointer h_priv, GError **error)
{
    LockdHandle *h = h_priv;
    gboolean any_missing = FALSE;

    for (guint i = 0; i < h->leases->len; i++)
        if (((LockdLease *)g_ptr_array_index(h->leases, i))->fd < 0)
            any_missing = TRUE;
    if (!any_missing)
        return TRUE;
    if (!lockd_check_dir(h->lockd, error))
        return FALSE;
    lockd_mark_try(h->lockd);

    g_autoptr(GArray) opened = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);

        if (lease->fd >= 0)
            continue;
        lease->fd = lockd_open_lease(h, lease, error);
        if (lease->fd < 0) {
            for (guint k = 0; k < opened->len; k++) {
                LockdLease *undo = g_ptr_array_index(h->leases, g_array_index(opened, guint, k));

                ferry_fd_close(&undo->fd);
            }
            return FALSE;
        }
        g_array_append_val(opened, i);
    }
    return TRUE;
}

/* A state token "<hash>:<mode>": the hash's length, and the mode. */
static gboolean lockd_parse_token(const char *token, gsize *hash_len, const char **mode)
{
    const char *colon = strchr(token, ':');

    if (!colon || colon == token)
        return FALSE;
    *hash_len = colon - token;
    *mode = colon + 1;
    return g_str_equal(*mode, LOCKD_MODE_EXCL) || g_str_equal(*mode, LOCKD_MODE_SHARED);
}

/* The state must name exactly the domain's leases, with the same modes. */
static gboolean lockd_check_state(LockdHandle *h, const char *const *state, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);

    for (const char *const *t = state; *t; t++) {
        gsize hash_len;
        const char *mode;

        if (!lockd_parse_token(*t, &hash_len, &mode)) {
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "domain '%s': lock state lease '%s' is not a lockd lease "
                       "('<sha256>:excl' or '<sha256>:shared')",
                       h->domain, *t);
            return FALSE;
        }
        LockdLease *lease = lockd_find_hash(h, *t, hash_len);
        if (!lease) {
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "domain '%s': the lock state names lease '%s', which is not the lease of "
                       "any of its disks here",
                       h->domain, *t);
            return FALSE;
        }
        if (!g_str_equal(lease->lease, *t)) {
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "domain '%s': disk '%s' takes lease '%s' here, but the lock state has '%s'",
                       h->domain, lease->path, lease->lease, *t);
            return FALSE;
        }
        if (!g_hash_table_add(seen, lease)) {
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "domain '%s': the lock state names lease '%s' twice", h->domain, *t);
            return FALSE;
        }
    }
    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);

        if (!g_hash_table_contains(seen, lease)) {
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "domain '%s': disk '%s' (lease '%s') is missing from the lock state",
                       h->domain, lease->path, lease->lease);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean lockd_acquire(gpointer h_priv, const char *const *state, GError **error)
{
    LockdHandle *h = h_priv;

    if (state && !lockd_check_state(h, state, error))
        return FALSE;
    if (!lockd_register(h, error))
        return FALSE;

    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);

        if (lease->locked)
            continue;
        if (lockd_lock(h, lease, error))
            continue;
        /* All or nothing: the handle was not held, so whatever is locked
         * now was taken by this call; give it back. */
        for (guint k = 0; k < i; k++) {
            LockdLease *undo = g_ptr_array_index(h->leases, k);
            g_autoptr(GError) undo_err = NULL;

            if (undo->locked && !lockd_unlock(h, undo, &undo_err))
                FLOG_WARN("%s", undo_err->message);
        }
        return FALSE;
    }
    return TRUE;
}

static gboolean lockd_release(gpointer h_priv, GError **error)
{
    LockdHandle *h = h_priv;
    g_autoptr(GError) first = NULL;

    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);
        GError *err = NULL;

        if (lease->locked && !lockd_unlock(h, lease, &err))
            ferry_error_keep_first(&first, err);
    }
    if (first) {
        g_propagate_error(error, g_steal_pointer(&first));
        return FALSE;
    }
    return TRUE;
}

static GStrv lockd_inquire(gpointer h_priv)
{
    LockdHandle *h = h_priv;
    GStrv leases = g_new0(char *, h->leases->len + 1);

    for (guint i = 0; i < h->leases->len; i++)
        leases[i] = g_strdup(((LockdLease *)g_ptr_array_index(h->leases, i))->lease);
    return leases;
}

static GArray *lockd_get_fds(gpointer h_priv)
{
    LockdHandle *h = h_priv;
    GArray *fds = g_array_new(FALSE, FALSE, sizeof(LockManagerFd));

    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);
        LockManagerFd entry = { lease->lease, lease->fd };

        if (lease->fd >= 0)
            g_array_append_val(fds, entry);
    }
    return fds;
}

/* A copy of the fd numbered target in the process behind pidfd, checked to
 * be the lease's file, opened read-write. */
static int lockd_adopt_fd(LockdHandle *h, LockdLease *lease, int pidfd, int target, GError **error)
{
    g_autofree char *file = g_build_filename(h->lockd->dir, lease->hash, NULL);
    g_auto(FerryFd) fd = -1;
    struct stat got, want;
    int flags;

    fd = syscall(SYS_pidfd_getfd, pidfd, target, 0);
    if (fd < 0) {
        if (errno == ENOSYS)
            return ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                              "domain '%s': cannot adopt lease fds: this kernel has no "
                              "pidfd_getfd (Linux 5.6 or newer is needed)",
                              h->domain);
        return ferry_fail_errno(error, errno,
                                "domain '%s': disk '%s': cannot take fd %d of QEMU (lease %s)",
                                h->domain, lease->path, target, lease->hash);
    }
    if (fstat(fd, &got) < 0)
        return ferry_fail_errno(error, errno, "domain '%s': adopted fd %d", h->domain, target);
    if (lstat(file, &want) < 0)
        return ferry_fail_errno(error, errno, "domain '%s': disk '%s': lease file '%s'", h->domain,
                                lease->path, file);
    if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
        return ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                          "domain '%s': fd %d of QEMU is not lease file '%s' (disk '%s')",
                          h->domain, target, file, lease->path);
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) != O_RDWR)
        return ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                          "domain '%s': fd %d of QEMU (lease file '%s') is not open read-write",
                          h->domain, target, file);
    return ferry_fd_steal(&fd);
}

static gboolean lockd_adopt(gpointer h_priv, int pidfd, const LockManagerFd *fds, gsize nfds,
                            gboolean held, GError **error)
{
    LockdHandle *h = h_priv;
    g_autofree int *got = g_new(int, h->leases->len + 1);
    gboolean ok = TRUE;

    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);

        if (lease->fd >= 0) {
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "domain '%s': cannot adopt lease fds: the handle has its own already",
                       h->domain);
            return FALSE;
        }
        got[i] = -1;
    }

    /* Every lease once, and nothing else. */
    for (gsize k = 0; k < nfds; k++) {
        LockdLease *lease = fds[k].lease ? lockd_find_lease(h, fds[k].lease) : NULL;

        if (!lease) {
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "domain '%s': cannot adopt lease '%s': none of its disks has it", h->domain,
                       fds[k].lease ? fds[k].lease : "(null)");
            return FALSE;
        }
        for (gsize j = 0; j < k; j++) {
            if (g_str_equal(fds[j].lease, fds[k].lease)) {
                ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                           "domain '%s': lease '%s' is listed twice for adoption", h->domain,
                           fds[k].lease);
                return FALSE;
            }
        }
    }
    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);
        gboolean listed = FALSE;

        for (gsize k = 0; k < nfds && !listed; k++)
            listed = g_str_equal(fds[k].lease, lease->lease);
        if (!listed) {
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "domain '%s': disk '%s' (lease '%s') has no fd to adopt", h->domain,
                       lease->path, lease->lease);
            return FALSE;
        }
    }
    if (nfds > 0 && !lockd_check_dir(h->lockd, error))
        return FALSE;

    for (gsize k = 0; k < nfds && ok; k++) {
        LockdLease *lease = lockd_find_lease(h, fds[k].lease);
        guint i;

        g_ptr_array_find(h->leases, lease, &i);
        got[i] = lockd_adopt_fd(h, lease, pidfd, fds[k].fd, error);
        ok = got[i] >= 0;
    }
    if (ok && held) {
        /* Asserting a lock that the description holds changes nothing; a
         * lease another domain took meanwhile fails here. */
        for (guint i = 0; i < h->leases->len && ok; i++) {
            LockdLease *lease = g_ptr_array_index(h->leases, i);

            lease->fd = got[i];
            ok = lockd_lock(h, lease, error);
        }
    }
    if (!ok) {
        /* Close our copies only: unlocking would take the lease from QEMU.
         * A lease asserted above that QEMU's description did not hold
         * before stays locked through it until QEMU ends: the safe side. */
        for (guint i = 0; i < h->leases->len; i++) {
            LockdLease *lease = g_ptr_array_index(h->leases, i);

            lease->fd = -1;
            lease->locked = FALSE;
            ferry_fd_close(&got[i]);
        }
        return FALSE;
    }
    for (guint i = 0; i < h->leases->len; i++) {
        LockdLease *lease = g_ptr_array_index(h->leases, i);

        lease->fd = got[i];
        lease->locked = held;
    }
    return TRUE;
}

const LockDriver lock_driver_lockd = {
    .name = LOCK_MANAGER_LOCKD,
    .open = lockd_open,
    .close = lockd_close,
    .handle_new = lockd_handle_new,
    .handle_free = lockd_handle_free,
    .register_fds = lockd_register,
    .acquire = lockd_acquire,
    .release = lockd_release,
    .inquire = lockd_inquire,
    .get_fds = lockd_get_fds,
    .adopt = lockd_adopt,
    .shares_with = lockd_shares_with,
};
