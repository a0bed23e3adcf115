/*
 * qemu_process.h: one QEMU process per running domain: start, stop,
 * events, suspend and resume, detach and reconnect.
 *
 * The per-domain QemuProcess is the domain object's private data
 * (domain_obj_set_private) while it runs; the QMP monitor sits in the
 * object's monitor slot.  Every function here expects the object locked
 * and, where it says so, a job held by the caller.
 *
 * Events.  The monitor's callbacks and the pidfd watch run on the I/O
 * thread and only queue what happened; the driver's worker pool handles
 * the queue of each process in order, taking the domain lock (and, for an
 * exit, a DESTROY job):
 *   STOP / RESUME   state paused (reason "unknown" unless an API call set
 *                   it) / running ("unpaused"), saved in the status XML;
 *   SHUTDOWN        remembered: the exit that follows is a "shutdown";
 *   MIGRATION       (the "events" capability on) counted in the job and
 *                   job_cond broadcast: a migration phase waiting for
 *                   QEMU's status wakes at once (domain_job.h);
 *   exit (pidfd)    QEMU reaped, leases released, status deleted, shut off
 *                   with reason "destroyed" (ferry killed it), "shutdown"
 *                   (a SHUTDOWN event came first: the guest powered off, or
 *                   someone sent QEMU SIGTERM or QMP quit, as libvirt
 *                   counts it) or "crashed" (no SHUTDOWN: SIGKILL, a
 *                   crash), autokill entries dropped,
 *                   transient domains removed.
 * An exit found for a process that is no longer the domain's (destroy got
 * there first) is ignored.
 */
#pragma once

#include <glib.h>

#include "driver/domain_obj.h"
#include "driver/qemu_driver.h"

typedef struct _QemuProcess QemuProcess;

typedef enum {
    QEMU_PROCESS_START_PAUSED = 1 << 0,
    QEMU_PROCESS_START_AUTODESTROY = 1 << 1,
} QemuProcessStartFlags;

/* Starts QEMU for an inactive domain (obj locked, MODIFY job held): caps,
 * accelerator, machine type made canonical in the running definition,
 * leases acquired (registered only when paused), the interfaces' taps
 * opened (qemu_interface.h; their names written into the running
 * definition), QEMU spawned with its QMP socket already listening and the
 * taps' fds (ferry keeps no copy: a tap lives as long as its QEMU), its
 * log in ROOT/var/log/ferry/qemu, the monitor connected, the CPUs started
 * unless paused, the status written.
 * With AUTODESTROY the domain is destroyed when conn closes.  On failure
 * no QEMU is left, the leases are released and the domain is inactive
 * with its previous state (the caller removes a transient one); the first
 * error is reported, with the tail of QEMU's log when QEMU exited. */
gboolean qemu_process_start(QemuDriver *drv, DomainObj *obj, unsigned int flags, guint64 conn,
                            GError **error);

/* The same for the destination of a migration: QEMU starts with
 * "-incoming INCOMING" ("defer": migrate-incoming comes later over QMP),
 * its CPUs stay stopped (state paused, reason "migration"), its leases
 * are registered but not acquired (Finish acquires them). */
gboolean qemu_process_start_incoming(QemuDriver *drv, DomainObj *obj, const char *incoming,
                                     unsigned int flags, guint64 conn, GError **error);

/* Sends sig to QEMU now, without waiting (destroy's first step, so that a
 * job stuck on the monitor ends).  Marks the process as being destroyed. */
void qemu_process_kill_early(DomainObj *obj, int sig);

/* Destroy's start (obj locked): SIGTERM to QEMU, then the DESTROY job;
 * when another job still holds the domain after the grace period (its
 * holder waits on a QEMU that does not end), SIGKILL, then the job with the
 * usual wait.  FALSE with the job's error. */
gboolean qemu_process_kill_begin_job(QemuDriver *drv, DomainObj *obj, const char *api,
                                     GError **error);

/* Stops a running domain (obj locked, DESTROY job held): QEMU killed
 * (SIGTERM, SIGKILL after the grace period) and reaped, monitor closed,
 * leases released, status deleted, shut off with reason, autokill entries
 * dropped.  Does not remove a transient domain (the caller does, through
 * qemu_driver_remove_inactive). */
void qemu_process_stop(QemuDriver *drv, DomainObj *obj, const char *reason);

/* Shuts a running domain off without waiting for its QEMU (obj locked, a
 * job held), for a QEMU whose guest must never run again (the source of
 * a completed migration): the monitor closed, QEMU sent SIGTERM (SIGKILL
 * after the grace period), the domain shut off with reason, autokill
 * entries dropped, the process no longer the domain's.  The rest happens
 * when QEMU has exited (qemu_process_retire.c): reaped, its lease handle,
 * status file, run directory and graphics ports freed.  Until then a
 * start of the same domain, or of one with its name, waits
 * (qemu_process_wait_retired).  Does not remove a transient domain. */
void qemu_process_retire(QemuDriver *drv, DomainObj *obj, const char *reason);
/* Waits until no QEMU of obj's uuid or name is still ending (obj locked,
 * a job held: the lock is dropped while waiting).  FALSE with an error
 * when one outlived the grace period and SIGKILL. */
gboolean qemu_process_wait_retired(QemuDriver *drv, DomainObj *obj, GError **error);
/* The driver closes: every QEMU still ending is killed and reaped. */
void qemu_process_retire_flush(QemuDriver *drv);

/* The driver closes: stops watching and closes the monitor; QEMU keeps
 * running and keeps its leases (obj locked). */
void qemu_process_detach(QemuDriver *drv, DomainObj *obj);

/* Reconnects to the QEMU of a domain loaded from its status XML (obj
 * locked, no job): checks that the pid is still that QEMU, reconnects the
 * monitor, refreshes the state, adopts the lease fds and watches the
 * pidfd.  A QEMU that is gone leaves the domain shut off ("crashed"); one
 * that cannot be controlled, or whose start never completed (state
 * paused, "starting-up": its caller got no answer), is killed ("failed").  FALSE when the domain
 * is no longer running afterwards (the caller removes a transient one). */
gboolean qemu_process_reconnect(QemuDriver *drv, DomainObj *obj);

/* Suspend and resume (obj locked, a SUSPEND job held, running). */
gboolean qemu_process_suspend(QemuDriver *drv, DomainObj *obj, GError **error);
gboolean qemu_process_resume(QemuDriver *drv, DomainObj *obj, GError **error);
/* system_powerdown (obj locked, MODIFY job held, running). */
gboolean qemu_process_powerdown(QemuDriver *drv, DomainObj *obj, GError **error);

/* The domain's process (NULL when not running here): for identity checks. */
QemuProcess *qemu_process_get(DomainObj *obj);
/* The migration capabilities ferry last set in the domain's QEMU (obj
 * locked; params.c sends only what changes).  known: TRUE with *on for a
 * QEMU ferry started (QEMU's defaults at first: all off); FALSE when
 * unknown (a QEMU found by reconnect, or after forget). */
gboolean qemu_process_migration_cap_known(QemuProcess *proc, const char *cap, gboolean *on);
/* QEMU took migrate-set-capabilities with these n states. */
void qemu_process_note_migration_caps(QemuProcess *proc, const char *const *caps,
                                      const gboolean *on, guint n);
/* migrate-set-capabilities failed or may have half-applied: unknown. */
void qemu_process_forget_migration_caps(QemuProcess *proc);
/* How many stop/cont commands a user's suspend or resume sent to this
 * QEMU (counted before each goes; a resume in the same lock hold as its
 * check of domain_job_resume_refused): a migration that saw no change in
 * it from before `migrate` to its switchover knows QEMU's stop was not
 * undone. */
guint qemu_process_user_runs(QemuProcess *proc);
/* TRUE when the domain was started with AUTODESTROY. */
gboolean qemu_process_is_autodestroy(QemuProcess *proc);
/* The disk leases of a running domain (NULL when not running): the
 * migration code inquires them (cookie), releases them at switchover and
 * acquires them with the source's lock state (Finish). */
struct _LockHandle *qemu_process_get_lock(QemuProcess *proc);
/* An incoming migration arrived (Finish): the domain no longer dies with
 * the connection that prepared it (obj locked, a job held): autodestroy
 * cleared, its autokill entries dropped, the process file rewritten. */
gboolean qemu_process_clear_autodestroy(QemuDriver *drv, DomainObj *obj, GError **error);
/* User + system CPU time of QEMU in ns (0 when unknown). */
unsigned long long qemu_process_cpu_time_ns(QemuProcess *proc);

/* ---- shared by qemu_process.c and qemu_process_reconnect.c */

/* A new process record for a domain (refcounted; the domain's priv holds
 * one reference). */
QemuProcess *qemu_process_new(QemuDriver *drv, DomainObj *obj);
QemuProcess *qemu_process_ref(QemuProcess *proc);
void qemu_process_unref(QemuProcess *proc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuProcess, qemu_process_unref)

/* Opens the monitor at path, on proc's callbacks (obj locked, a job held:
 * the lock is dropped meanwhile), and puts it in the object's slot. */
gboolean qemu_process_connect_monitor(QemuDriver *drv, DomainObj *obj, QemuProcess *proc,
                                      const char *path, int timeout_ms, GError **error);
/* Watches proc's pidfd on the I/O thread. */
void qemu_process_watch(QemuProcess *proc);
/* The process file ROOT/run/ferry/qemu/NAME/process: lease fd numbers
 * inside QEMU and the autodestroy flag. */
gboolean qemu_process_write_file(QemuDriver *drv, DomainObj *obj, QemuProcess *proc,
                                 GError **error);
/* Reconnect's side of the record: pidfd (taken) and the process file's
 * content. */
void qemu_process_set_pidfd(QemuProcess *proc, int pidfd, gint64 pid);
gboolean qemu_process_read_file(QemuDriver *drv, DomainObj *obj, QemuProcess *proc, GError **error);
/* Adopts the leases recorded in the process file (held: the domain runs). */
gboolean qemu_process_adopt_leases(QemuDriver *drv, DomainObj *obj, QemuProcess *proc,
                                   gboolean held, GError **error);

/* The driver's event pool function (data: a QemuProcess reference). */
void qemu_process_event_worker(gpointer data, gpointer user_data);
