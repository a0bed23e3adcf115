/*
 * lock_manager.h: disk leases, so that a guest never runs on two hosts.
 *
 * A lock manager is a plugin (a LockDriver) chosen by name in the daemon's
 * configuration.  Each running domain has a LockHandle that holds the
 * leases of its disks.  The driver calls it at fixed points:
 *
 *     start       lock_manager_acquire(h, NULL, NULL)       before QEMU runs
 *                 lock_manager_get_fds(h)                   passed to QEMU
 *     pause       lock_manager_release(h)                   also at migration
 *                                                           switchover
 *     resume      lock_manager_acquire(h, NULL, NULL)
 *     stop        lock_manager_release(h); lock_manager_handle_free(h)
 *
 *     migration source   lock_manager_inquire_cookie(h, cookie)  the leases
 *     migration target   lock_manager_register(h) before spawning QEMU
 *                        -incoming (opens the leases' fds, takes no lock);
 *                        lock_manager_acquire_cookie(h, cookie) when the
 *                        guest is about to run there (Finish), after the
 *                        source released at switchover.
 *     daemon restart     a new handle, then lock_manager_adopt() with the
 *                        running QEMU's pidfd and the fd numbers recorded
 *                        in the status XML.
 *
 * Lock state.  What the source sends in the cookie's <lockstate
 * driver='NAME'><leases>...</leases> is the driver's name and its lease
 * strings (inquire).  Acquiring with a state acquires exactly those leases:
 * a state from another driver, or one that names leases other than the
 * domain's disks give here, is refused with a message naming the disk or
 * the lease.  Without a state (NULL driver) a handle acquires the leases of
 * its own disks.
 *
 * Drivers:
 *
 *   "nop"    always succeeds; its state has no leases; no fds.
 *
 *   "lockd"  one lease per disk: an OFD lock (fcntl F_OFD_SETLK) on the
 *            whole of a file in a lease directory that every host mounts
 *            (LockManagerConfig.lease_dir, the same files on every host).
 *            The file's name is the lowercase SHA-256 hex of the disk's
 *            canonical path, so every host names a disk the same way:
 *              - a file disk: its realpath() (symlinks and ".." resolved;
 *                a file that does not exist yet: the path made absolute
 *                and normalized without looking at the filesystem);
 *              - a block disk: the path normalized without resolving
 *                symlinks, because /dev/disk/by-id/wwn-... names the same
 *                LUN on every host and /dev/sdb need not.  Shared block
 *                devices must be named by a stable path on every host.
 *            Modes: a writable disk takes an exclusive (write) lock; a
 *            shareable disk a shared (read) lock; a readonly disk a shared
 *            (read) lock as well, so that readers and one writer never
 *            overlap (many guests may read one ISO; none can read it while
 *            another writes it).  A disk without a source (an empty
 *            cdrom) has no lease.  Two disks on one path share one lease
 *            (exclusive if either is).
 *            A lease string is "<sha256hex>:excl" or "<sha256hex>:shared".
 *            Lease files are never deleted: unlinking one while another
 *            host opens it would let two hosts lock two different files.
 *            A file left behind with no lock on it (a crashed host's)
 *            blocks nobody.  The directory must exist: ferry never creates
 *            it (creating it on a local disk when the shared mount is
 *            missing would silently end the mutual exclusion).
 *
 * OFD locks belong to the open file description, not to a process: they are
 * not dropped when some other fd of the process closes, they are shared by
 * every fd that refers to the description (dup, fork, SCM_RIGHTS, exec), and
 * they go away when the last of those fds closes or when any of them
 * unlocks.  Two descriptions of one file conflict even within one process.
 * ferry uses this so that the leases live exactly as long as the guest:
 *   - the handle owns one fd per lease (close-on-exec);
 *   - lock_manager_get_fds() lists them, to hand to QEMU at spawn
 *     (spawn_pass_fd): QEMU never uses them, it only keeps them open.  If
 *     ferryd dies, QEMU's copies keep the leases; if QEMU dies, ferryd
 *     still holds them until it releases (a crashed guest's disks stay
 *     locked until ferryd has seen it end);
 *   - release unlocks through ferryd's fd, which releases the lock for the
 *     description QEMU shares: the paused source no longer holds its disks
 *     although its QEMU keeps the fds; acquire locks through the same fds
 *     again (resume after a failed migration);
 *   - after a ferryd restart, lock_manager_adopt() copies QEMU's fds back
 *     with pidfd_getfd(2) (this needs ptrace access to QEMU: the same user
 *     with CAP_SYS_PTRACE, or Yama's ptrace_scope 0).
 *
 * Threads: a LockManager is immutable and refcounted; any thread may use
 * it.  A LockHandle belongs to its domain and is used under the domain's
 * lock (one thread at a time).
 */
#pragma once

#include <glib.h>

#include "conf/cookie.h"
#include "conf/domain_conf.h"

#define LOCK_MANAGER_NOP "nop"
#define LOCK_MANAGER_LOCKD "lockd"

typedef struct {
    /* lockd: the shared lease directory (absolute).  Ignored by nop. */
    const char *lease_dir;
    /* lockd: this host's UUID (FERRY_UUID_BUFLEN bytes), marked in the
     * lease directory (see lock_manager_shares_with); NULL or all zero: no
     * marker.  Ignored by nop. */
    const unsigned char *host_uuid;
} LockManagerConfig;

typedef struct _LockManager LockManager;
typedef struct _LockHandle LockHandle;

/* A lease and an fd: ferryd's fd (lock_manager_get_fds) or the fd's number
 * inside QEMU (lock_manager_adopt). */
typedef struct {
    const char *lease; /* a lease string, as inquire gives it */
    int fd;
} LockManagerFd;

/* ------------------------------------------------------------ the manager */

/* The driver called name with its configuration (FERRY_ERR_CONFIG for an
 * unknown name or a bad setting). */
LockManager *lock_manager_new(const char *name, const LockManagerConfig *config, GError **error);
LockManager *lock_manager_ref(LockManager *mgr);
void lock_manager_unref(LockManager *mgr);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LockManager, lock_manager_unref)

/* "nop", "lockd": the driver attribute of the cookie's <lockstate>. */
const char *lock_manager_get_name(const LockManager *mgr);

/* Whether the host called host_uuid keeps its leases where this one does,
 * so that a lease this host can take is one that host does not hold.
 * Only then may a free lease say that the guest does not run there.
 *
 * lockd: each ferryd marks its presence in its lease directory, at start
 * (and again at each register until that worked): the file
 * <lease_dir>/hosts/<host-uuid> (mode 0644, created when missing, never
 * removed), on which it holds a shared OFD lock for as long as its
 * manager lives.  A host shares the directory when its marker is there
 * and locked: a marker left by a host that no longer uses the directory
 * (or no longer runs) is not locked, and a host with its own local
 * directory has no marker in ours.  Failing to mark is logged (peers then
 * do not rely on the leases of this host).
 *
 * nop: never (it keeps no leases).  FALSE as well for a NULL or all-zero
 * UUID, or this host's own. */
gboolean lock_manager_shares_with(LockManager *mgr, const unsigned char *host_uuid);

/* ------------------------------------------------------------ handles */

/* The handle of a domain: computes the leases of def's disks (lockd:
 * resolves their paths now).  Holds nothing yet. */
LockHandle *lock_manager_handle_new(LockManager *mgr, const DomainDef *def, GError **error);
/* Closes the handle's fds without unlocking: leases whose fds QEMU shares
 * stay held (a daemon shutting down); the others are dropped by the close.
 * NULL is fine. */
void lock_manager_handle_free(LockHandle *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LockHandle, lock_manager_handle_free)

/* TRUE between a successful acquire (or adopt with held) and release. */
gboolean lock_manager_handle_is_held(const LockHandle *h);

/* Opens the lease fds without locking anything, so that they can be handed
 * to a QEMU started paused (the migration target).  Acquire does it too.
 * Idempotent. */
gboolean lock_manager_register(LockHandle *h, GError **error);

/* Takes every lease, or none: on failure whatever this call took is
 * released again, and the error names the disk:
 *     "domain 'web2': disk '/var/lib/x.img' is locked by another domain
 *      (lease <hash> in <dir>)"  (FERRY_ERR_OPERATION_DENIED).
 * With state_driver NULL: the leases of the domain's disks.  Otherwise the
 * lock state received from the source (state_leases NULL-terminated, may be
 * NULL when empty): refused unless state_driver is this manager's name and
 * the leases are exactly those of the domain's disks.  Acquiring a handle
 * that is held succeeds without change. */
gboolean lock_manager_acquire(LockHandle *h, const char *state_driver,
                              const char *const *state_leases, GError **error);

/* Releases every lease (unlocking through ferryd's fds, whoever else
 * shares them); the fds stay open for a later acquire.  Releasing a handle
 * that is not held succeeds without change. */
gboolean lock_manager_release(LockHandle *h, GError **error);

/* The lock state: the domain's lease strings, in disk order (empty for
 * nop), whether held or not.  Free with g_strfreev. */
GStrv lock_manager_inquire(LockHandle *h);

/* Cookie helpers: write the state as <lockstate driver=...> (fails with
 * FERRY_ERR_OVERFLOW past COOKIE_LEASES_MAX leases); acquire with the
 * cookie's <lockstate>, or with the domain's own leases when the cookie
 * has none. */
gboolean lock_manager_inquire_cookie(LockHandle *h, MigrationCookie *cookie, GError **error);
gboolean lock_manager_acquire_cookie(LockHandle *h, const MigrationCookie *cookie, GError **error);

/* The handle's open lease fds (after register, acquire or adopt), one per
 * lease in inquire order; empty before, and always for nop.  The strings
 * and fds are borrowed from the handle.  Free with g_array_unref. */
GArray *lock_manager_get_fds(LockHandle *h);

/* After a daemon restart: takes copies of QEMU's lease fds (fds[i].fd is
 * the fd number inside the process behind pidfd, fds[i].lease its lease)
 * with pidfd_getfd(2).  Every lease of the handle must be listed once.
 * Each fd is checked to be the lease's file, opened for reading and
 * writing.  With held, the locks are asserted again through the adopted
 * fds (a no-op for a description that holds them; a lease that someone
 * else took meanwhile fails the adoption); without, the handle is
 * registered but not held (a paused domain).  All or nothing; a failure
 * closes the copies it took and unlocks nothing.  The handle must have no
 * fds yet. */
gboolean lock_manager_adopt(LockHandle *h, int pidfd, const LockManagerFd *fds, gsize nfds,
                            gboolean held, GError **error);

/* ------------------------------------------------------------ drivers */

/* The plugin interface.  The dispatch in lock_manager.c checks the
 * driver's name against a state, keeps the held flag and logs; drivers do
 * the rest.  mgr_priv is what open gave, h_priv what handle_new gave. */
typedef struct {
    const char *name;
    gboolean (*open)(const LockManagerConfig *config, gpointer *mgr_priv, GError **error);
    void (*close)(gpointer mgr_priv);
    gboolean (*handle_new)(gpointer mgr_priv, const DomainDef *def, gpointer *h_priv,
                           GError **error);
    void (*handle_free)(gpointer h_priv);
    gboolean (*register_fds)(gpointer h_priv, GError **error);
    /* leases: NULL for the domain's own set; else the state (checked by
     * the driver against the domain's disks). */
    gboolean (*acquire)(gpointer h_priv, const char *const *leases, GError **error);
    gboolean (*release)(gpointer h_priv, GError **error);
    GStrv (*inquire)(gpointer h_priv);
    GArray *(*get_fds)(gpointer h_priv);
    gboolean (*adopt)(gpointer h_priv, int pidfd, const LockManagerFd *fds, gsize nfds,
                      gboolean held, GError **error);
    /* NULL: shares with nobody.  host_uuid is neither NULL nor zero. */
    gboolean (*shares_with)(gpointer mgr_priv, const unsigned char *host_uuid);
} LockDriver;

extern const LockDriver lock_driver_nop;
extern const LockDriver lock_driver_lockd;
