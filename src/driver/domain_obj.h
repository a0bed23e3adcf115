/*
 * domain_obj.h: domain objects and the domain list.
 *
 * A DomainObj is one domain the driver knows: persistent (defined, with a
 * file in the config dir) or transient (exists only while it runs).  It is
 * refcounted (atomically) and locked (a GMutex); jobs (domain_job.h) use the
 * object's GCond.  Lookups in the DomainList hand out a reference and, when
 * asked, the lock:
 *
 *     g_autoptr(DomainObjLocked) obj =
 *         domain_list_find_by_name(list, "web1", DOMAIN_LOOKUP_LOCKED, error);
 *     if (!obj)
 *         return FALSE;                   // FERRY_ERR_NO_DOMAIN
 *     ...                                 // unlocked and unreferenced on scope exit
 *
 * Lock order (checked: breaking it is a g_critical, fatal in tests):
 *   1. the list lock, then 2. an object lock.
 *   Never take the list lock while holding any object lock.  Every
 *   domain_list_* function takes the list lock, so call them with no object
 *   locked; the exceptions, documented below, are domain_list_remove() and
 *   domain_list_add()'s returned object.  Hold one object lock at a time.
 *
 * Fields of DomainObj are guarded by its lock (except refs); read and
 * change them through the functions here, which all expect the object
 * locked unless they say otherwise.
 *
 * On disk (directories are parameters: the driver owns the paths):
 *   CONFIG_DIR/NAME.xml  persistent definitions, written atomically (temp
 *                        file, fsync, rename, fsync of the directory),
 *                        deleted on undefine, loaded at startup (a bad file
 *                        is logged and skipped).
 *   STATE_DIR/NAME.xml   status (<domstatus>) of each running domain, written
 *                        on every state change by domain_obj_save_status(),
 *                        loaded at startup to reconnect to QEMU.  Written
 *                        atomically (temp file, rename) but not synced:
 *                        it must survive a crash of the daemon (the page
 *                        cache does), not one of the host, which takes
 *                        the QEMUs it describes with it (/run is a tmpfs
 *                        there anyway).
 */
#pragma once

#include <glib.h>

#include "conf/domain_conf.h"
#include "driver/domain_job.h"

struct _DomainObj {
    gint refs; /* atomic */
    GMutex lock;
    GCond job_cond; /* broadcast on every job change and on removal */

    DomainDef *def; /* the running definition, or the inactive one */
    DomainDef *new_def; /* running and persistent: the next boot's definition */
    gboolean persistent;
    DomainState state;
    char *reason; /* "booted", "migrated", "crashed", ... or NULL */

    /* runtime: set while running (the id lives in def->id: > 0 running, -1) */
    gint64 pid;
    char *monitor_path;
    gpointer monitor; /* the QMP monitor, owned through monitor_free */
    GDestroyNotify monitor_free;
    gpointer priv; /* the driver's per-domain data */
    GDestroyNotify priv_free;

    gboolean removed; /* removed from the list: waiters learn it went away */
    DomainJobObj job;
};

/* ---------------------------------------------------------------- objects */

/* A new unlocked object with one reference; takes def (and its id). */
DomainObj *domain_obj_new(DomainDef *def);
DomainObj *domain_obj_ref(DomainObj *obj);
/* The last unref frees the object (which must be unlocked), its monitor and
 * private data through their destroy notifies. */
void domain_obj_unref(DomainObj *obj);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainObj, domain_obj_unref)

void domain_obj_lock(DomainObj *obj);
void domain_obj_unlock(DomainObj *obj);
/* Unlocks and unrefs *obj and sets it to NULL (nothing when NULL): the end
 * of every API call that looked a domain up locked. */
void domain_obj_end_api(DomainObj **obj);

/* A locked, referenced object: g_autoptr(DomainObjLocked) unlocks and unrefs. */
typedef DomainObj DomainObjLocked;
void domain_obj_unlock_unref(DomainObjLocked *obj);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainObjLocked, domain_obj_unlock_unref)

/* How many domain object locks the calling thread holds. */
unsigned int domain_obj_locks_held(void);

const char *domain_obj_name(DomainObj *obj);
/* TRUE while running (def->id > 0). */
gboolean domain_obj_is_active(DomainObj *obj);
int domain_obj_get_id(DomainObj *obj);
gboolean domain_obj_is_removed(DomainObj *obj);

DomainState domain_obj_get_state(DomainObj *obj, const char **reason);
/* Sets the state and its reason (copied; NULL for none). */
void domain_obj_set_state(DomainObj *obj, DomainState state, const char *reason);

/* The definition that persists: the next boot's when running and changed,
 * else def.  NULL for a transient domain. */
DomainDef *domain_obj_get_persistent_def(DomainObj *obj);

/* The domain started: gives it an id, the QEMU pid and monitor path; a
 * persistent domain keeps a copy of its definition as the next boot's, so
 * that live changes do not leak into the config. */
void domain_obj_set_active(DomainObj *obj, int id, gint64 pid, const char *monitor_path);
/* The domain stopped: id -1, state shut off with reason, runtime data gone,
 * the next boot's definition becomes the definition.  The monitor slot is
 * left alone (take it first with domain_obj_steal_monitor). */
void domain_obj_set_inactive(DomainObj *obj, const char *reason);

/* The monitor slot: an opaque pointer with a destroy notify (the QMP
 * monitor lives in qemu_monitor.h).  set refuses (g_critical) a full slot.
 * steal empties the slot and returns the monitor: close it without the
 * object lock held (its callbacks take the lock). */
void domain_obj_set_monitor(DomainObj *obj, gpointer monitor, GDestroyNotify monitor_free);
gpointer domain_obj_get_monitor(DomainObj *obj);
gpointer domain_obj_steal_monitor(DomainObj *obj);

void domain_obj_set_private(DomainObj *obj, gpointer priv, GDestroyNotify priv_free);

/* Writes the persistent definition (domain_obj_get_persistent_def, secrets
 * included, runtime data left out) to CONFIG_DIR/NAME.xml atomically; creates
 * the directory.  Refused for a transient domain. */
gboolean domain_obj_save_config(DomainObj *obj, const char *config_dir, GError **error);
/* Removes CONFIG_DIR/NAME.xml (absent is fine). */
gboolean domain_obj_delete_config(DomainObj *obj, const char *config_dir, GError **error);

/* Writes the <domstatus> of a running domain (state, pid, monitor, async
 * job, phase and flags, the live definition) to STATE_DIR/NAME.xml
 * atomically.  Call on every state and phase change. */
gboolean domain_obj_save_status(DomainObj *obj, const char *state_dir, GError **error);
/* DIR/NAME replaced atomically as the status is (for the driver's other
 * files about running QEMUs); creates DIR. */
gboolean domain_state_file_write(const char *dir, const char *name, const char *text,
                                 GError **error);
/* Removes STATE_DIR/NAME.xml (absent is fine); when the domain stopped. */
gboolean domain_obj_delete_status(DomainObj *obj, const char *state_dir, GError **error);

/* ---------------------------------------------------------------- the list */

typedef struct _DomainList DomainList;

DomainList *domain_list_new(void);
/* Removes nothing: drops the list's references.  Objects still referenced
 * elsewhere live on. */
void domain_list_free(DomainList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainList, domain_list_free)

typedef enum {
    /* Return the object locked (else only referenced). */
    DOMAIN_LOOKUP_LOCKED = 1 << 0,
} DomainLookupFlags;

/* A referenced (and with DOMAIN_LOOKUP_LOCKED, locked) object, or NULL with
 * FERRY_ERR_NO_DOMAIN ("no domain with matching name 'web1'").  A locked
 * lookup that finds the object removed by the time it has the lock fails
 * the same way. */
DomainObj *domain_list_find_by_name(DomainList *list, const char *name, unsigned int flags,
                                    GError **error);
DomainObj *domain_list_find_by_uuid(DomainList *list, const unsigned char *uuid, unsigned int flags,
                                    GError **error);
/* Only running domains have ids. */
DomainObj *domain_list_find_by_id(DomainList *list, int id, unsigned int flags, GError **error);

typedef enum {
    /* Replace the definition of an existing domain with the same name and
     * uuid (define over a defined domain): the inactive definition, or the
     * next boot's one when it runs.  Else a same name is refused. */
    DOMAIN_LIST_ADD_UPDATE = 1 << 0,
    /* The domain is to start now (create, incoming migration): refuse when
     * the existing domain with that name and uuid is running. */
    DOMAIN_LIST_ADD_LIVE = 1 << 1,
    /* Mark a new object persistent. */
    DOMAIN_LIST_ADD_PERSISTENT = 1 << 2,
} DomainListAddFlags;

/* Adds a domain for *def (taken on success: *def is set to NULL), or with
 * DOMAIN_LIST_ADD_UPDATE updates the existing one.  Returns it referenced and
 * locked (g_autoptr(DomainObjLocked)).  With old_def, a replaced definition
 * is handed back (for rollback), else freed.  Refused, FERRY_ERR_DOMAIN_EXISTS:
 *   "domain 'web1' already exists with uuid ..."       same name, other uuid
 *   "domain 'web2' is already defined with uuid ..."   same uuid, other name
 *   "domain 'web1' already exists" / "... is already running" */
DomainObj *domain_list_add(DomainList *list, DomainDef **def, unsigned int flags,
                           DomainDef **old_def, GError **error);

/* Removes obj from the list (lookups stop finding it) and marks it removed,
 * waking job waiters, who then fail with "went away".  Called with obj
 * locked (and referenced) and no other object lock: it unlocks obj, takes
 * the list lock, relocks obj (so another thread may run in between: check
 * the state again afterwards if it matters).  Returns with obj still
 * locked. */
void domain_list_remove(DomainList *list, DomainObj *obj);

guint domain_list_count(DomainList *list);

typedef enum {
    DOMAIN_LIST_ACTIVE = 1 << 0,
    DOMAIN_LIST_INACTIVE = 1 << 1,
    DOMAIN_LIST_PERSISTENT = 1 << 2,
    DOMAIN_LIST_TRANSIENT = 1 << 3,
} DomainListFilter;

/* The objects, referenced (not locked): a snapshot taken under the list
 * lock, so work on them runs without it.  Free with g_ptr_array_unref. */
GPtrArray *domain_list_snapshot(DomainList *list);

/* Calls cb on each object of a snapshot, locked, skipping those removed
 * meanwhile; stops when cb returns FALSE.  cb must not call domain_list_*
 * functions except domain_list_remove (the object lock is held). */
typedef gboolean (*DomainListIterFunc)(DomainObj *obj, gpointer opaque);
void domain_list_foreach(DomainList *list, DomainListIterFunc cb, gpointer opaque);

/* Sorted names of the domains matching filter (an OR of ACTIVE/INACTIVE and
 * of PERSISTENT/TRANSIENT; 0 in a pair means both): `list --all` is
 * ACTIVE | INACTIVE. */
GStrv domain_list_get_names(DomainList *list, unsigned int filter);
guint domain_list_count_filtered(DomainList *list, unsigned int filter);

/* The next domain id (1, 2, ...; never reused while the list lives). */
int domain_list_next_id(DomainList *list);

/* Loads every CONFIG_DIR/NAME.xml as an inactive persistent domain.  A file
 * that cannot be read or parsed, whose <name> differs from NAME, or that
 * duplicates a domain is logged (warning) and skipped.  A missing directory
 * loads nothing.  Returns how many were loaded, or -1 when the directory
 * cannot be read. */
int domain_list_load_configs(DomainList *list, const char *config_dir, GError **error);

/* Loads every STATE_DIR/NAME.xml: the domain (a persistent one loaded
 * already, matched by uuid, or a new transient one) becomes running with
 * the status's definition, state, pid, monitor path and async job (with its
 * phase and flags, owned by no thread: the reconnect code resumes or rolls
 * it back).  Bad files are logged and skipped.  hooks as for parsing (NULL
 * for the defaults).  Returns how many were loaded, or -1. */
int domain_list_load_status(DomainList *list, const char *state_dir, const DomainParseHooks *hooks,
                            GError **error);
