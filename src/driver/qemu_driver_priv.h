/*
 * qemu_driver_priv.h: what the QEMU driver's files share (qemu_driver.c,
 * qemu_driver_domain.c, qemu_process.c, qemu_process_reconnect.c).
 */
#pragma once

#include <glib.h>

#include "driver/autokill.h"
#include "driver/domain_obj.h"
#include "driver/lock_manager.h"
#include "driver/qemu_capabilities.h"
#include "driver/qemu_driver.h"

struct _QemuDriver {
    char *root; /* NULL: system paths */
    char *config_dir; /* ROOT/etc/ferry/qemu */
    char *lib_dir; /* ROOT/var/lib/ferry/qemu */
    char *caps_dir;
    char *state_dir; /* ROOT/run/ferry/qemu */
    char *log_dir; /* ROOT/var/log/ferry/qemu */
    char *qemu_binary;
    char *hostname;
    unsigned char host_uuid[FERRY_UUID_BUFLEN];
    QemuDriverAccel accel;
    int start_timeout_ms;
    int kill_grace_ms;
    int monitor_timeout_ms;
    int migration_port_min;
    int migration_port_max;
    char *migration_address;
    char *migration_host;
    char *spice_tls_dir; /* NULL: spice_tls off */

    DomainList *domains;
    QemuCapsCache *caps;
    LockManager *lockmgr;
    Autokill *autokill;
    /* Runs QEMU events (STOP, RESUME, SHUTDOWN, exit) off the I/O thread. */
    GThreadPool *events;
    gboolean iothread_started;
    int lock_fd; /* ROOT/run/ferry/qemu/driver.lock, flock()ed: one driver per root */
    /* Graphics ports chosen for autoport domains (so that two starts never
     * pick the same one), guarded by ports_lock. */
    GMutex ports_lock;
    GHashTable *ports; /* GINT_TO_POINTER(port) set */
    /* Domain events: queue, callbacks, dispatcher (qemu_driver_event.c). */
    struct _QemuDriverEvents *lifecycle;
    /* Migration speed and downtime per domain (qemu_driver_migtune.c),
     * guarded by tune_lock: uuid string -> QemuMigrateTuning. */
    GMutex tune_lock;
    GHashTable *tune;
    /* QEMUs of domains shut off without waiting for their exit
     * (qemu_process_retire), guarded by retire_lock; retire_cond is
     * broadcast whenever one is gone.  Lock order: a domain's lock, then
     * retire_lock. */
    GMutex retire_lock;
    GCond retire_cond;
    GPtrArray *retiring; /* QemuProcess references */
    /* The capabilities probe begun at open (probe_in_background). */
    GThread *caps_probe;
};

typedef struct _QemuDriverEvents QemuDriverEvents;

/* Starts the event dispatcher thread / stops it after delivering what is
 * queued (then no callback runs any more). */
gboolean qemu_driver_events_init(QemuDriver *drv, GError **error);
void qemu_driver_events_free(QemuDriver *drv);
/* Queues one lifecycle event for obj (locked): name, uuid and id as they
 * are now. */
void qemu_driver_event_queue(QemuDriver *drv, DomainObj *obj, int event, int detail);
/* MIGRATION_ITERATION for obj (locked): QEMU's MIGRATION_PASS during an
 * outgoing migration (pass is the event's number). */
void qemu_driver_event_queue_iteration(QemuDriver *drv, DomainObj *obj, int pass);
/* JOB_COMPLETED for obj (locked): a migration job completed (the source at
 * Confirm, the destination at Finish); the statistics are those of the
 * domain's completed job now, as domjobinfo --completed shows them. */
void qemu_driver_event_queue_job_completed(QemuDriver *drv, DomainObj *obj);
/* Every state change of a domain goes through these two (obj locked):
 * domain_obj_set_state / domain_obj_set_inactive, plus the lifecycle
 * event(s) the change from the old state and reason means (none for the
 * driver's own "starting-up", nor when nothing changed). */
void qemu_driver_set_state(QemuDriver *drv, DomainObj *obj, DomainState state, const char *reason);
void qemu_driver_set_inactive(QemuDriver *drv, DomainObj *obj, const char *reason);

/* Migration tuning of a domain the driver forgets (removed). */
void qemu_driver_forget_migrate_tuning(QemuDriver *drv, const unsigned char *uuid);

/* Reserves the first port in [min, max] that is neither reserved nor
 * bound on addr (NULL: not looked at: the caller's bind decides, and
 * moves on when it fails); -1 when none is free. */
int qemu_driver_reserve_port(QemuDriver *drv, const char *addr, int min, int max);
/* Marks a port taken (reconnect) or free again (stop, failed start). */
void qemu_driver_claim_port(QemuDriver *drv, int port);
void qemu_driver_release_port(QemuDriver *drv, int port);

/* ROOT/run/ferry/qemu/NAME (the QMP socket and the process file). */
char *qemu_driver_run_dir(QemuDriver *drv, const char *name);
/* ROOT/var/lib/ferry/qemu/domain-NAME (QEMU's HOME). */
char *qemu_driver_domain_dir(QemuDriver *drv, const char *name);

/* obj locked, inactive, transient: removes it from the list (returns with
 * obj still locked). */
void qemu_driver_remove_inactive(QemuDriver *drv, DomainObj *obj);
