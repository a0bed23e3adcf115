/*
 * qemu_process_priv.h: what the files of the QEMU process share
 * (qemu_process.c, qemu_process_retire.c): the process record and the
 * steps of stopping one.
 */
#pragma once

#include <glib.h>

#include "driver/lock_manager.h"
#include "driver/qemu_driver_priv.h"
#include "driver/qemu_process.h"
#include "util/spawn.h"

/* How long a SIGKILLed QEMU may take to vanish before we give up waiting
 * (it is stuck in the kernel; logged). */
#define QEMU_PROCESS_KILL_WAIT_MS 60000
#define QEMU_PROCESS_FILE "process"
#define QEMU_PROCESS_QMP_SOCKET "qmp.sock"

/* One lease fd inside QEMU. */
typedef struct {
    char *lease;
    int fd;
} QemuLeaseFd;

struct _QemuProcess {
    gint refs;
    QemuDriver *drv; /* outlives every process: close detaches them first */
    unsigned char uuid[FERRY_UUID_BUFLEN];
    char *name;

    /* Guarded by the domain lock (a retiring process: by its claimant). */
    Spawn *spawn; /* our child; NULL for a QEMU found by reconnect */
    int pidfd; /* reconnect's pidfd (owned); -1 with spawn */
    gint64 pid;
    GSource *watch; /* pidfd watch on the I/O thread */
    LockHandle *lock;
    GArray *lease_fds; /* QemuLeaseFd: the numbers inside QEMU */
    gboolean autodestroy;
    guint64 conn;
    gboolean destroying; /* ferry is killing it */
    gboolean shutdown_seen; /* SHUTDOWN: the guest, a signal or QMP quit asked */
    /* The migration capabilities ferry turned on in this QEMU (their
     * names); NULL when unknown: a QEMU found by reconnect, or one whose
     * migrate-set-capabilities failed. */
    GHashTable *migration_caps_on;
    /* stop and cont commands of a user's suspend or resume, counted
     * before each is sent (atomic: the monitor's thread reads it to date
     * QEMU's events) */
    gint user_runs;

    /* Retiring (qemu_process_retire): guarded by the driver's
     * retire_lock. */
    gboolean retiring; /* in drv->retiring, not yet reaped */
    gboolean retire_claimed; /* someone reaps it now */
    GSource *kill_timer; /* SIGKILL after the grace period */
    GArray *retire_ports; /* int: graphics ports freed once it is gone */

    /* The event queue and the end flags, guarded by ev_lock (never held
     * with the domain lock taken after it). */
    GMutex ev_lock;
    gboolean exited; /* the pidfd said so */
    gboolean mon_open; /* a monitor is (being) connected */
    gboolean exit_queued;
    GQueue events;
    gboolean ev_scheduled;
};

/* The pidfd of the process (ours or reconnect's), -1 when none. */
int qemu_process_pidfd(QemuProcess *proc);
/* QEMU exited (pidfd) and/or its monitor closed: once both, the exit
 * event is queued (after every event QEMU sent). */
void qemu_process_note_end(QemuProcess *proc, gboolean exited, gboolean mon_closed);
/* Removes the pidfd watch (synchronously, on the I/O thread). */
void qemu_process_unwatch(QemuProcess *proc);
/* Closes the monitor in obj's slot (no callback runs afterwards). */
void qemu_process_close_monitor(DomainObj *obj);
/* Kills (SIGTERM, SIGKILL after the grace period) and reaps QEMU. */
void qemu_process_kill(QemuDriver *drv, QemuProcess *proc);
/* ROOT/run/ferry/qemu/NAME and what is in it, removed. */
void qemu_process_remove_run_dir(QemuDriver *drv, const char *name);

/* qemu_process_retire.c: an exit event for proc (the event worker, no
 * lock held): reaps a retiring process and frees what it held. */
void qemu_process_retire_collect(QemuProcess *proc);

/* qemu_process_recover.c: the migration (async job) a status file says
 * was in flight when the previous daemon ended (obj locked, no job held,
 * the monitor connected): what the driver settles (a confirmed source, an
 * incoming guest) ends its job there; the other outgoing phases are left
 * to migration_recover().  FALSE when the domain is no longer running
 * afterwards. */
gboolean qemu_process_recover_job(QemuDriver *drv, DomainObj *obj);
