/*
 * domain_obj.c: domain objects, the domain list, definitions and status on
 * disk.  The lock order and the rules are in domain_obj.h.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "driver.domain"

#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/uuid.h"
#include "driver/domain_obj.h"

/* How many domain object locks this thread holds (lock order check). */
static _Thread_local unsigned int domain_obj_thread_locks;

/* ---------------------------------------------------------------- objects */

DomainObj *domain_obj_new(DomainDef *def)
{
    DomainObj *obj = g_new0(DomainObj, 1);

    g_atomic_int_set(&obj->refs, 1);
    g_mutex_init(&obj->lock);
    g_cond_init(&obj->job_cond);
    obj->def = def;
    obj->state = DOMAIN_STATE_SHUTOFF;
    obj->job.mask = DOMAIN_JOB_DEFAULT_MASK;
    return obj;
}

DomainObj *domain_obj_ref(DomainObj *obj)
{
    g_atomic_int_inc(&obj->refs);
    return obj;
}

void domain_obj_unref(DomainObj *obj)
{
    if (!obj || !g_atomic_int_dec_and_test(&obj->refs))
        return;
    if (obj->monitor && obj->monitor_free)
        obj->monitor_free(obj->monitor);
    if (obj->priv && obj->priv_free)
        obj->priv_free(obj->priv);
    domain_def_free(obj->def);
    domain_def_free(obj->new_def);
    g_free(obj->reason);
    g_free(obj->monitor_path);
    g_free(obj->job.owner_api);
    g_free(obj->job.async_owner_api);
    g_cond_clear(&obj->job_cond);
    g_mutex_clear(&obj->lock);
    g_free(obj);
}

void domain_obj_lock(DomainObj *obj)
{
    g_mutex_lock(&obj->lock);
    domain_obj_thread_locks++;
}

void domain_obj_unlock(DomainObj *obj)
{
    g_assert(domain_obj_thread_locks > 0);
    domain_obj_thread_locks--;
    g_mutex_unlock(&obj->lock);
}

unsigned int domain_obj_locks_held(void)
{
    return domain_obj_thread_locks;
}

void domain_obj_unlock_unref(DomainObjLocked *obj)
{
    if (!obj)
        return;
    domain_obj_unlock(obj);
    domain_obj_unref(obj);
}

void domain_obj_end_api(DomainObj **obj)
{
    domain_obj_unlock_unref(g_steal_pointer(obj));
}

const char *domain_obj_name(DomainObj *obj)
{
    return obj->def->name;
}

gboolean domain_obj_is_active(DomainObj *obj)
{
    return obj->def->id > 0;
}

int domain_obj_get_id(DomainObj *obj)
{
    return obj->def->id;
}

gboolean domain_obj_is_removed(DomainObj *obj)
{
    return obj->removed;
}

DomainState domain_obj_get_state(DomainObj *obj, const char **reason)
{
    if (reason)
        *reason = obj->reason;
    return obj->state;
}

void domain_obj_set_state(DomainObj *obj, DomainState state, const char *reason)
{
    FLOG_DEBUG("domain '%s': state %s (%s) -> %s (%s)", obj->def->name,
               domain_state_to_string(obj->state), obj->reason ? obj->reason : "-",
               domain_state_to_string(state), reason ? reason : "-");
    obj->state = state;
    g_free(obj->reason);
    obj->reason = g_strdup(reason);
}

DomainDef *domain_obj_get_persistent_def(DomainObj *obj)
{
    if (!obj->persistent)
        return NULL;
    if (domain_obj_is_active(obj) && obj->new_def)
        return obj->new_def;
    return obj->def;
}

void domain_obj_set_active(DomainObj *obj, int id, gint64 pid, const char *monitor_path)
{
    g_return_if_fail(id > 0);
    if (obj->persistent && !obj->new_def)
        obj->new_def = domain_def_copy(obj->def);
    obj->def->id = id;
    obj->pid = pid;
    g_free(obj->monitor_path);
    obj->monitor_path = g_strdup(monitor_path);
}

void domain_obj_set_inactive(DomainObj *obj, const char *reason)
{
    obj->def->id = -1;
    obj->pid = 0;
    g_clear_pointer(&obj->monitor_path, g_free);
    if (obj->new_def) {
        domain_def_free(obj->def);
        obj->def = g_steal_pointer(&obj->new_def);
        obj->def->id = -1;
    }
    domain_obj_set_state(obj, DOMAIN_STATE_SHUTOFF, reason);
}

void domain_obj_set_monitor(DomainObj *obj, gpointer monitor, GDestroyNotify monitor_free)
{
    if (obj->monitor) {
        g_critical("domain '%s': the monitor slot is already full", obj->def->name);
        return;
    }
    obj->monitor = monitor;
    obj->monitor_free = monitor_free;
}

gpointer domain_obj_get_monitor(DomainObj *obj)
{
    return obj->monitor;
}

gpointer domain_obj_steal_monitor(DomainObj *obj)
{
    obj->monitor_free = NULL;
    return g_steal_pointer(&obj->monitor);
}

void domain_obj_set_private(DomainObj *obj, gpointer priv, GDestroyNotify priv_free)
{
    if (obj->priv && obj->priv_free)
        obj->priv_free(obj->priv);
    obj->priv = priv;
    obj->priv_free = priv_free;
}

/* ---------------------------------------------------------------- files */

static gboolean write_all_and_sync(int fd, const char *path, const char *text, gboolean durable,
                                   GError **error)
{
    size_t len = strlen(text);

    while (len > 0) {
        ssize_t n = write(fd, text, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ferry_fail_errno(error, errno, "cannot write '%s'", path);
            return FALSE;
        }
        text += n;
        len -= (size_t)n;
    }
    if (durable && fsync(fd) < 0) {
        ferry_fail_errno(error, errno, "cannot sync '%s'", path);
        return FALSE;
    }
    return TRUE;
}

/* DIR/NAME written atomically: a hidden temp file in DIR, rename.  A
 * crash of the writer leaves the old file or the new one, never half.
 * durable: also fsync the file before the rename and DIR after it, so
 * that a crash of the host keeps the new one (definitions); without it a
 * host crash may lose the change (status files, which describe QEMUs that
 * die with the host: they only need to survive the daemon). */
static gboolean write_file_atomic(const char *dir, const char *name, const char *text,
                                  gboolean durable, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, name);

    if (g_mkdir_with_parents(dir, 0700) < 0) {
        ferry_fail_errno(error, errno, "cannot create directory '%s'", dir);
        return FALSE;
    }
    g_auto(FerryFd) fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        ferry_fail_errno(error, errno, "cannot create a temporary file in '%s'", dir);
        return FALSE;
    }
    if (!write_all_and_sync(fd, tmp, text, durable, error)) {
        g_unlink(tmp);
        return FALSE;
    }
    if (close(ferry_fd_steal(&fd)) < 0) {
        ferry_fail_errno(error, errno, "cannot close '%s'", tmp);
        g_unlink(tmp);
        return FALSE;
    }
    if (rename(tmp, path) < 0) {
        ferry_fail_errno(error, errno, "cannot rename '%s' to '%s'", tmp, path);
        g_unlink(tmp);
        return FALSE;
    }
    if (!durable)
        return TRUE;
    g_auto(FerryFd) dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || (fsync(dirfd) < 0 && errno != EINVAL)) {
        ferry_fail_errno(error, errno, "cannot sync directory '%s'", dir);
        return FALSE;
    }
    return TRUE;
}

static gboolean delete_file(const char *dir, const char *name, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    if (g_unlink(path) < 0 && errno != ENOENT) {
        ferry_fail_errno(error, errno, "cannot delete '%s'", path);
        return FALSE;
    }
    return TRUE;
}

static char *domain_file_name(DomainObj *obj)
{
    return g_strconcat(obj->def->name, ".xml", NULL);
}

gboolean domain_obj_save_config(DomainObj *obj, const char *config_dir, GError **error)
{
    DomainDef *def = domain_obj_get_persistent_def(obj);
    g_autofree char *file = domain_file_name(obj);

    if (!def) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s' is transient: it has no definition to save", obj->def->name);
        return FALSE;
    }
    g_autofree char *xml =
        domain_def_format(def, DOMAIN_FORMAT_SECURE | DOMAIN_FORMAT_MIGRATABLE, error);
    if (!xml)
        return FALSE;
    if (!write_file_atomic(config_dir, file, xml, TRUE, error))
        return FALSE;
    FLOG_DEBUG("domain '%s': saved definition in '%s'", obj->def->name, config_dir);
    return TRUE;
}

gboolean domain_obj_delete_config(DomainObj *obj, const char *config_dir, GError **error)
{
    g_autofree char *file = domain_file_name(obj);

    return delete_file(config_dir, file, error);
}

gboolean domain_obj_save_status(DomainObj *obj, const char *state_dir, GError **error)
{
    g_autofree char *file = domain_file_name(obj);

    if (!domain_obj_is_active(obj)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s' is not running: it has no status to save", obj->def->name);
        return FALSE;
    }
    /* Borrowed fields: not freed. */
    DomainStatus status = {
        .state = obj->state,
        .reason = obj->reason,
        .pid = obj->pid,
        .monitor_path = obj->monitor_path,
        .async_job = obj->job.async_job,
        .phase = obj->job.phase,
        .def = obj->def,
    };
    /* The status keeps a phase and flags for migrations only. */
    if (status.async_job == DOMAIN_ASYNC_JOB_MIGRATION_OUT ||
        status.async_job == DOMAIN_ASYNC_JOB_MIGRATION_IN)
        status.job_flags = obj->job.flags;
    else
        status.phase = DOMAIN_MIGRATION_PHASE_NONE;
    g_autofree char *xml = domain_status_format(&status, error);
    if (!xml)
        return FALSE;
    return write_file_atomic(state_dir, file, xml, FALSE, error);
}

gboolean domain_state_file_write(const char *dir, const char *name, const char *text,
                                 GError **error)
{
    return write_file_atomic(dir, name, text, FALSE, error);
}

gboolean domain_obj_delete_status(DomainObj *obj, const char *state_dir, GError **error)
{
    g_autofree char *file = domain_file_name(obj);

    return delete_file(state_dir, file, error);
}

/* ---------------------------------------------------------------- the list */

struct _DomainList {
    GMutex lock;
    GHashTable *by_uuid; /* uuid string -> DomainObj (a reference) */
    GHashTable *by_name; /* name -> DomainObj (borrowed from by_uuid) */
    gint last_id;
};

DomainList *domain_list_new(void)
{
    DomainList *list = g_new0(DomainList, 1);

    g_mutex_init(&list->lock);
    list->by_uuid =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)domain_obj_unref);
    list->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return list;
}

void domain_list_free(DomainList *list)
{
    if (!list)
        return;
    g_hash_table_destroy(list->by_name);
    g_hash_table_destroy(list->by_uuid);
    g_mutex_clear(&list->lock);
    g_free(list);
}

/* Takes the list lock, checking the lock order. */
static void domain_list_lock(DomainList *list)
{
    if (domain_obj_thread_locks > 0)
        g_critical("domain list locked while this thread holds %u domain object lock(s): "
                   "the order is list lock, then object lock",
                   domain_obj_thread_locks);
    g_mutex_lock(&list->lock);
}

static void domain_list_unlock(DomainList *list)
{
    g_mutex_unlock(&list->lock);
}

/* Locks a referenced object found in the list; fails when it was removed
 * meanwhile (the reference is then dropped). */
static DomainObj *domain_list_lock_found(DomainObj *obj, unsigned int flags)
{
    if (!(flags & DOMAIN_LOOKUP_LOCKED))
        return obj;
    domain_obj_lock(obj);
    if (obj->removed) {
        domain_obj_unlock_unref(obj);
        return NULL;
    }
    return obj;
}

DomainObj *domain_list_find_by_name(DomainList *list, const char *name, unsigned int flags,
                                    GError **error)
{
    DomainObj *obj;

    domain_list_lock(list);
    obj = g_hash_table_lookup(list->by_name, name);
    if (obj)
        domain_obj_ref(obj);
    domain_list_unlock(list);
    if (obj)
        obj = domain_list_lock_found(obj, flags);
    if (!obj)
        ferry_fail(error, FERRY_ERR_NO_DOMAIN, "no domain with matching name '%s'", name);
    return obj;
}

DomainObj *domain_list_find_by_uuid(DomainList *list, const unsigned char *uuid, unsigned int flags,
                                    GError **error)
{
    char uuidstr[FERRY_UUID_STRING_BUFLEN];
    DomainObj *obj;

    ferry_uuid_format(uuid, uuidstr);
    domain_list_lock(list);
    obj = g_hash_table_lookup(list->by_uuid, uuidstr);
    if (obj)
        domain_obj_ref(obj);
    domain_list_unlock(list);
    if (obj)
        obj = domain_list_lock_found(obj, flags);
    if (!obj)
        ferry_fail(error, FERRY_ERR_NO_DOMAIN, "no domain with matching uuid '%s'", uuidstr);
    return obj;
}

DomainObj *domain_list_find_by_id(DomainList *list, int id, unsigned int flags, GError **error)
{
    g_autoptr(GPtrArray) objs = domain_list_snapshot(list);

    for (guint i = 0; id > 0 && i < objs->len; i++) {
        DomainObj *obj = g_ptr_array_index(objs, i);
        gboolean match;

        domain_obj_lock(obj);
        match = !obj->removed && obj->def->id == id;
        if (match && (flags & DOMAIN_LOOKUP_LOCKED))
            return domain_obj_ref(obj);
        domain_obj_unlock(obj);
        if (match)
            return domain_obj_ref(obj);
    }
    ferry_fail(error, FERRY_ERR_NO_DOMAIN, "no domain with matching id %d", id);
    return NULL;
}

/* Puts def into an existing object (locked): live means the domain starts
 * with def now; else def is its new persistent definition. */
static void domain_obj_assign_def(DomainObj *obj, DomainDef *def, gboolean live,
                                  DomainDef **old_def)
{
    DomainDef *old = NULL;

    if (domain_obj_is_active(obj)) {
        /* Running: the definition applies from the next boot. */
        old = obj->new_def;
        obj->new_def = def;
    } else if (live) {
        /* Starting with def; a persistent domain keeps its definition for
         * the next boot. */
        if (obj->persistent && !obj->new_def)
            obj->new_def = obj->def;
        else
            old = obj->def;
        obj->def = def;
    } else {
        old = obj->def;
        obj->def = def;
    }
    if (old_def)
        *old_def = old;
    else
        domain_def_free(old);
}

/* The list lock is held. */
static DomainObj *domain_list_add_locked(DomainList *list, DomainDef **def, unsigned int flags,
                                         DomainDef **old_def, GError **error)
{
    char uuidstr[FERRY_UUID_STRING_BUFLEN];
    DomainObj *obj;

    ferry_uuid_format((*def)->uuid, uuidstr);
    obj = g_hash_table_lookup(list->by_uuid, uuidstr);
    if (obj) {
        domain_obj_lock(obj);
        if (!g_str_equal(obj->def->name, (*def)->name)) {
            ferry_fail(error, FERRY_ERR_DOMAIN_EXISTS,
                       "domain '%s' is already defined with uuid %s", obj->def->name, uuidstr);
            domain_obj_unlock(obj);
            return NULL;
        }
        if ((flags & DOMAIN_LIST_ADD_LIVE) && domain_obj_is_active(obj)) {
            ferry_fail(error, FERRY_ERR_DOMAIN_EXISTS, "domain '%s' is already running",
                       obj->def->name);
            domain_obj_unlock(obj);
            return NULL;
        }
        if (!(flags & DOMAIN_LIST_ADD_UPDATE)) {
            ferry_fail(error, FERRY_ERR_DOMAIN_EXISTS, "domain '%s' already exists with uuid %s",
                       obj->def->name, uuidstr);
            domain_obj_unlock(obj);
            return NULL;
        }
        domain_obj_assign_def(obj, g_steal_pointer(def), (flags & DOMAIN_LIST_ADD_LIVE) != 0,
                              old_def);
        if (flags & DOMAIN_LIST_ADD_PERSISTENT)
            obj->persistent = TRUE;
        return domain_obj_ref(obj);
    }

    obj = g_hash_table_lookup(list->by_name, (*def)->name);
    if (obj) {
        char other[FERRY_UUID_STRING_BUFLEN];

        domain_obj_lock(obj);
        ferry_uuid_format(obj->def->uuid, other);
        domain_obj_unlock(obj);
        ferry_fail(error, FERRY_ERR_DOMAIN_EXISTS, "domain '%s' already exists with uuid %s",
                   (*def)->name, other);
        return NULL;
    }

    obj = domain_obj_new(g_steal_pointer(def));
    obj->persistent = (flags & DOMAIN_LIST_ADD_PERSISTENT) != 0;
    g_hash_table_insert(list->by_uuid, g_strdup(uuidstr), obj);
    g_hash_table_insert(list->by_name, g_strdup(obj->def->name), obj);
    if (old_def)
        *old_def = NULL;
    domain_obj_lock(obj);
    FLOG_DEBUG("domain '%s' (%s) added, %s", obj->def->name, uuidstr,
               obj->persistent ? "persistent" : "transient");
    return domain_obj_ref(obj);
}

DomainObj *domain_list_add(DomainList *list, DomainDef **def, unsigned int flags,
                           DomainDef **old_def, GError **error)
{
    DomainObj *obj;

    g_return_val_if_fail(def && *def, NULL);
    domain_list_lock(list);
    obj = domain_list_add_locked(list, def, flags, old_def, error);
    domain_list_unlock(list);
    return obj;
}

void domain_list_remove(DomainList *list, DomainObj *obj)
{
    char uuidstr[FERRY_UUID_STRING_BUFLEN];

    domain_obj_ref(obj);
    domain_obj_unlock(obj);
    domain_list_lock(list);
    domain_obj_lock(obj);
    if (!obj->removed) {
        ferry_uuid_format(obj->def->uuid, uuidstr);
        if (g_hash_table_lookup(list->by_name, obj->def->name) == obj)
            g_hash_table_remove(list->by_name, obj->def->name);
        if (g_hash_table_lookup(list->by_uuid, uuidstr) == obj)
            g_hash_table_remove(list->by_uuid, uuidstr);
        obj->removed = TRUE;
        g_cond_broadcast(&obj->job_cond);
        FLOG_DEBUG("domain '%s' (%s) removed", obj->def->name, uuidstr);
    }
    domain_list_unlock(list);
    domain_obj_unref(obj); /* not the last: the caller holds one */
}

guint domain_list_count(DomainList *list)
{
    guint n;

    domain_list_lock(list);
    n = g_hash_table_size(list->by_uuid);
    domain_list_unlock(list);
    return n;
}

GPtrArray *domain_list_snapshot(DomainList *list)
{
    GPtrArray *objs;
    GHashTableIter iter;
    gpointer value;

    domain_list_lock(list);
    objs = g_ptr_array_new_full(g_hash_table_size(list->by_uuid), (GDestroyNotify)domain_obj_unref);
    g_hash_table_iter_init(&iter, list->by_uuid);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        g_ptr_array_add(objs, domain_obj_ref(value));
    domain_list_unlock(list);
    return objs;
}

void domain_list_foreach(DomainList *list, DomainListIterFunc cb, gpointer opaque)
{
    g_autoptr(GPtrArray) objs = domain_list_snapshot(list);

    for (guint i = 0; i < objs->len; i++) {
        DomainObj *obj = g_ptr_array_index(objs, i);
        gboolean more = TRUE;

        domain_obj_lock(obj);
        if (!obj->removed)
            more = cb(obj, opaque);
        domain_obj_unlock(obj);
        if (!more)
            break;
    }
}

/* obj is locked. */
static gboolean domain_obj_matches(DomainObj *obj, unsigned int filter)
{
    unsigned int activity = filter & (DOMAIN_LIST_ACTIVE | DOMAIN_LIST_INACTIVE);
    unsigned int persistence = filter & (DOMAIN_LIST_PERSISTENT | DOMAIN_LIST_TRANSIENT);
    gboolean active = domain_obj_is_active(obj);

    if (obj->removed)
        return FALSE;
    if (activity && !(activity & (active ? DOMAIN_LIST_ACTIVE : DOMAIN_LIST_INACTIVE)))
        return FALSE;
    if (persistence &&
        !(persistence & (obj->persistent ? DOMAIN_LIST_PERSISTENT : DOMAIN_LIST_TRANSIENT)))
        return FALSE;
    return TRUE;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GStrv domain_list_get_names(DomainList *list, unsigned int filter)
{
    g_autoptr(GPtrArray) objs = domain_list_snapshot(list);
    GPtrArray *names = g_ptr_array_new();

    for (guint i = 0; i < objs->len; i++) {
        DomainObj *obj = g_ptr_array_index(objs, i);

        domain_obj_lock(obj);
        if (domain_obj_matches(obj, filter))
            g_ptr_array_add(names, g_strdup(obj->def->name));
        domain_obj_unlock(obj);
    }
    g_ptr_array_sort(names, compare_names);
    g_ptr_array_add(names, NULL);
    return (GStrv)g_ptr_array_free(names, FALSE);
}

guint domain_list_count_filtered(DomainList *list, unsigned int filter)
{
    g_autoptr(GPtrArray) objs = domain_list_snapshot(list);
    guint n = 0;

    for (guint i = 0; i < objs->len; i++) {
        DomainObj *obj = g_ptr_array_index(objs, i);

        domain_obj_lock(obj);
        if (domain_obj_matches(obj, filter))
            n++;
        domain_obj_unlock(obj);
    }
    return n;
}

int domain_list_next_id(DomainList *list)
{
    return g_atomic_int_add(&list->last_id, 1) + 1;
}

/* Ids from status files are not handed out again. */
static void domain_list_note_id(DomainList *list, int id)
{
    int last = g_atomic_int_get(&list->last_id);

    while (last < id && !g_atomic_int_compare_and_exchange(&list->last_id, last, id))
        last = g_atomic_int_get(&list->last_id);
}

/* ---------------------------------------------------------------- loading */

/* The NAME.xml files in dir, sorted; NULL with an error when dir cannot be
 * read; an empty array when it does not exist. */
static GPtrArray *list_xml_files(const char *dir, GError **error)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &err);
    const char *entry;

    if (!d) {
        if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return g_steal_pointer(&files);
        ferry_fail(error, FERRY_ERR_SYSTEM, "cannot read directory '%s': %s", dir, err->message);
        return NULL;
    }
    while ((entry = g_dir_read_name(d))) {
        /* Temporary files (.NAME.xml.XXXXXX) do not end in .xml. */
        if (!g_str_has_suffix(entry, ".xml") || strlen(entry) == 4)
            continue;
        g_ptr_array_add(files, g_strdup(entry));
    }
    g_ptr_array_sort(files, compare_names);
    return g_steal_pointer(&files);
}

/* The text of DIR/FILE and the name FILE stands for (FILE without .xml). */
static char *read_domain_file(const char *dir, const char *file, char **name, GError **error)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    GStatBuf st;
    gsize len = 0;

    if (g_stat(path, &st) < 0) {
        ferry_fail_errno(error, errno, "cannot stat '%s'", path);
        return NULL;
    }
    if (st.st_size > DOMAIN_XML_MAX) {
        ferry_fail(error, FERRY_ERR_OVERFLOW, "'%s' is larger than %d bytes", path, DOMAIN_XML_MAX);
        return NULL;
    }
    if (!g_file_get_contents(path, &text, &len, &err)) {
        ferry_fail(error, FERRY_ERR_SYSTEM, "%s", err->message);
        return NULL;
    }
    *name = g_strndup(file, strlen(file) - 4);
    return g_steal_pointer(&text);
}

/* Adds one definition file; a failure is the caller's warning. */
static gboolean load_config_file(DomainList *list, const char *dir, const char *file,
                                 GError **error)
{
    g_autofree char *name = NULL;
    g_autofree char *text = read_domain_file(dir, file, &name, error);

    if (!text)
        return FALSE;
    g_autoptr(DomainDef) def = domain_def_parse(text, DOMAIN_PARSE_INACTIVE, error);
    if (!def)
        return FALSE;
    if (!g_str_equal(def->name, name)) {
        ferry_fail(error, FERRY_ERR_CONFIG, "the file defines domain '%s', not '%s'", def->name,
                   name);
        return FALSE;
    }
    g_autoptr(DomainObjLocked) obj =
        domain_list_add(list, &def, DOMAIN_LIST_ADD_PERSISTENT, NULL, error);
    if (!obj)
        return FALSE;
    domain_obj_set_state(obj, DOMAIN_STATE_SHUTOFF, NULL);
    return TRUE;
}

int domain_list_load_configs(DomainList *list, const char *config_dir, GError **error)
{
    g_autoptr(GPtrArray) files = list_xml_files(config_dir, error);
    int loaded = 0;

    if (!files)
        return -1;
    for (guint i = 0; i < files->len; i++) {
        const char *file = g_ptr_array_index(files, i);
        g_autoptr(GError) err = NULL;

        if (load_config_file(list, config_dir, file, &err))
            loaded++;
        else
            FLOG_WARN("skipping domain definition '%s/%s': %s", config_dir, file, err->message);
    }
    FLOG_INFO("loaded %d domain definition(s) from '%s'", loaded, config_dir);
    return loaded;
}

static gboolean load_status_file(DomainList *list, const char *dir, const char *file,
                                 const DomainParseHooks *hooks, GError **error)
{
    g_autofree char *name = NULL;
    g_autofree char *text = read_domain_file(dir, file, &name, error);

    if (!text)
        return FALSE;
    g_autoptr(DomainStatus) status = domain_status_parse(text, hooks, error);
    if (!status)
        return FALSE;
    if (!g_str_equal(status->def->name, name)) {
        ferry_fail(error, FERRY_ERR_CONFIG, "the file is the status of domain '%s', not '%s'",
                   status->def->name, name);
        return FALSE;
    }
    int id = status->def->id;
    g_autoptr(DomainObjLocked) obj = domain_list_add(
        list, &status->def, DOMAIN_LIST_ADD_LIVE | DOMAIN_LIST_ADD_UPDATE, NULL, error);
    if (!obj)
        return FALSE;
    domain_list_note_id(list, id);
    domain_obj_set_active(obj, id, status->pid, status->monitor_path);
    domain_obj_set_state(obj, status->state, status->reason);
    if (status->async_job != DOMAIN_ASYNC_JOB_NONE)
        domain_job_restore_async(obj, status->async_job, status->phase, status->job_flags);
    return TRUE;
}

int domain_list_load_status(DomainList *list, const char *state_dir, const DomainParseHooks *hooks,
                            GError **error)
{
    g_autoptr(GPtrArray) files = list_xml_files(state_dir, error);
    int loaded = 0;

    if (!files)
        return -1;
    for (guint i = 0; i < files->len; i++) {
        const char *file = g_ptr_array_index(files, i);
        g_autoptr(GError) err = NULL;

        if (load_status_file(list, state_dir, file, hooks, &err))
            loaded++;
        else
            FLOG_WARN("skipping domain status '%s/%s': %s", state_dir, file, err->message);
    }
    FLOG_INFO("loaded the status of %d running domain(s) from '%s'", loaded, state_dir);
    return loaded;
}
