/*
 * qemu_driver.c: the QEMU driver object (paths, open and close with
 * reconnect), lookups, lists, definitions, state, info, XML and job info.
 * The lifecycle operations are in qemu_driver_domain.c.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "qemu.driver"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/iothread.h"
#include "driver/qemu_driver_priv.h"
#include "driver/qemu_process.h"

#define QEMU_DRIVER_EVENT_THREADS 4
#define QEMU_DRIVER_MONITOR_TIMEOUT_MS 30000
#define QEMU_DRIVER_LOCK_FILE "driver.lock"

static const char *const qemu_driver_accel_names[] = { "auto", "kvm", "tcg" };
G_STATIC_ASSERT(G_N_ELEMENTS(qemu_driver_accel_names) == QEMU_DRIVER_ACCEL_LAST);

const char *qemu_driver_accel_to_string(QemuDriverAccel accel)
{
    if ((int)accel < 0 || accel >= QEMU_DRIVER_ACCEL_LAST)
        return NULL;
    return qemu_driver_accel_names[accel];
}

int qemu_driver_accel_from_string(const char *str)
{
    for (int i = 0; str && i < QEMU_DRIVER_ACCEL_LAST; i++) {
        if (g_str_equal(str, qemu_driver_accel_names[i]))
            return i;
    }
    return -1;
}

/* ---------------------------------------------------------------- paths */

/* ROOT + an absolute system path. */
static char *qemu_driver_path(const char *root, const char *path)
{
    if (!root)
        return g_strdup(path);
    return g_build_filename(root, path, NULL);
}

char *qemu_driver_run_dir(QemuDriver *drv, const char *name)
{
    return g_build_filename(drv->state_dir, name, NULL);
}

char *qemu_driver_domain_dir(QemuDriver *drv, const char *name)
{
    g_autofree char *base = g_strconcat("domain-", name, NULL);

    return g_build_filename(drv->lib_dir, base, NULL);
}

char *qemu_driver_get_log_path(QemuDriver *drv, const char *name)
{
    g_autofree char *base = g_strconcat(name, ".log", NULL);

    return g_build_filename(drv->log_dir, base, NULL);
}

const char *qemu_driver_get_root(QemuDriver *drv)
{
    return drv->root;
}

const char *qemu_driver_get_hostname(QemuDriver *drv)
{
    return drv->hostname;
}

const unsigned char *qemu_driver_get_host_uuid(QemuDriver *drv)
{
    return drv->host_uuid;
}

void qemu_driver_get_migration_ports(QemuDriver *drv, int *min, int *max)
{
    *min = drv->migration_port_min;
    *max = drv->migration_port_max;
}

const char *qemu_driver_get_migration_address(QemuDriver *drv)
{
    return drv->migration_address;
}

const char *qemu_driver_get_migration_host(QemuDriver *drv)
{
    return drv->migration_host;
}

const char *qemu_driver_get_spice_tls_dir(QemuDriver *drv)
{
    return drv->spice_tls_dir;
}

DomainList *qemu_driver_get_domains(QemuDriver *drv)
{
    return drv->domains;
}

void qemu_driver_remove_inactive(QemuDriver *drv, DomainObj *obj)
{
    if (obj->persistent || domain_obj_is_active(obj) || domain_obj_is_removed(obj))
        return;
    domain_list_remove(drv->domains, obj);
    qemu_driver_forget_migrate_tuning(drv, obj->def->uuid);
}

/* ---------------------------------------------------------------- ports */

/* TRUE when nobody listens on addr:port (a bind test). */
static gboolean qemu_driver_port_free(const char *addr, int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
    gboolean v6 = strchr(addr, ':') != NULL;
    g_auto(FerryFd) fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return FALSE;
    if (v6 ? inet_pton(AF_INET6, addr, &sin6.sin6_addr) != 1
           : inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
        return FALSE;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (v6)
        return bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
    return bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
}

int qemu_driver_reserve_port(QemuDriver *drv, const char *addr, int min, int max)
{
    int found = -1;

    g_mutex_lock(&drv->ports_lock);
    for (int port = min; port <= max && found < 0; port++) {
        if (!g_hash_table_contains(drv->ports, GINT_TO_POINTER(port)) &&
            (!addr || qemu_driver_port_free(addr, port)))
            found = port;
    }
    if (found >= 0)
        g_hash_table_add(drv->ports, GINT_TO_POINTER(found));
    g_mutex_unlock(&drv->ports_lock);
    return found;
}

void qemu_driver_claim_port(QemuDriver *drv, int port)
{
    g_mutex_lock(&drv->ports_lock);
    g_hash_table_add(drv->ports, GINT_TO_POINTER(port));
    g_mutex_unlock(&drv->ports_lock);
}

void qemu_driver_release_port(QemuDriver *drv, int port)
{
    g_mutex_lock(&drv->ports_lock);
    g_hash_table_remove(drv->ports, GINT_TO_POINTER(port));
    g_mutex_unlock(&drv->ports_lock);
}

/* ---------------------------------------------------------------- open */

static void qemu_driver_free(QemuDriver *drv)
{
    if (drv->events)
        g_thread_pool_free(drv->events, FALSE, TRUE);
    qemu_driver_events_free(drv);
    if (drv->tune)
        g_hash_table_destroy(drv->tune);
    g_mutex_clear(&drv->tune_lock);
    autokill_free(drv->autokill);
    domain_list_free(drv->domains);
    qemu_caps_cache_free(drv->caps);
    if (drv->lockmgr)
        lock_manager_unref(drv->lockmgr);
    if (drv->iothread_started)
        iothread_stop();
    ferry_fd_close(&drv->lock_fd);
    g_hash_table_destroy(drv->ports);
    g_mutex_clear(&drv->ports_lock);
    if (drv->retiring)
        g_ptr_array_unref(drv->retiring);
    g_mutex_clear(&drv->retire_lock);
    g_cond_clear(&drv->retire_cond);
    g_free(drv->root);
    g_free(drv->config_dir);
    g_free(drv->lib_dir);
    g_free(drv->caps_dir);
    g_free(drv->state_dir);
    g_free(drv->log_dir);
    g_free(drv->qemu_binary);
    g_free(drv->hostname);
    g_free(drv->migration_address);
    g_free(drv->migration_host);
    g_free(drv->spice_tls_dir);
    g_free(drv);
}

/* Reconnects to one domain loaded from its status (obj locked). */
static gboolean qemu_driver_reconnect_one(DomainObj *obj, gpointer opaque)
{
    QemuDriver *drv = opaque;

    if (!domain_obj_is_active(obj) || qemu_process_get(obj))
        return TRUE;
    if (!qemu_process_reconnect(drv, obj))
        qemu_driver_remove_inactive(drv, obj);
    return TRUE;
}

/* The migration settings make sense (ferryd's config checked them too;
 * embedders may not have). */
static gboolean qemu_driver_check_migration_config(QemuDriver *drv, GError **error)
{
    if (drv->migration_port_max > 65535 || drv->migration_port_min > drv->migration_port_max) {
        ferry_fail(error, FERRY_ERR_CONFIG,
                   "migration port range %d-%d is empty or not within 1-65535",
                   drv->migration_port_min, drv->migration_port_max);
        return FALSE;
    }
    if (drv->migration_address &&
        (!*drv->migration_address || !g_hostname_is_ip_address(drv->migration_address))) {
        ferry_fail(error, FERRY_ERR_CONFIG, "migration address '%s' is not an IP address",
                   drv->migration_address);
        return FALSE;
    }
    if (drv->spice_tls_dir && !g_path_is_absolute(drv->spice_tls_dir)) {
        ferry_fail(error, FERRY_ERR_CONFIG, "spice_tls_x509_cert_dir '%s' is not an absolute path",
                   drv->spice_tls_dir);
        return FALSE;
    }
    if (drv->migration_host && !*drv->migration_host) {
        ferry_fail(error, FERRY_ERR_CONFIG, "the migration host must not be empty");
        return FALSE;
    }
    return TRUE;
}

/* The caps probe's thread: the default binary's capabilities, in the
 * cache (memory and disk) before anybody needs them. */
static gpointer qemu_driver_caps_probe(gpointer data)
{
    QemuDriver *drv = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuCaps) caps = qemu_caps_get(drv->caps, drv->qemu_binary, &err);

    if (!caps)
        FLOG_WARN("probing '%s' in the background: %s", drv->qemu_binary, err->message);
    else
        FLOG_DEBUG("capabilities of '%s' ready", drv->qemu_binary);
    return NULL;
}

QemuDriver *qemu_driver_open(const QemuDriverConfig *cfg, GError **error)
{
    QemuDriver *drv = g_new0(QemuDriver, 1);
    LockManagerConfig lcfg = { .lease_dir = cfg->lease_dir, .host_uuid = cfg->host_uuid };
    g_autofree char *lock_path = NULL;
    const char *dirs[4];
    int n;

    drv->lock_fd = -1;
    g_mutex_init(&drv->ports_lock);
    drv->ports = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_mutex_init(&drv->tune_lock);
    drv->tune = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_mutex_init(&drv->retire_lock);
    g_cond_init(&drv->retire_cond);
    drv->retiring = g_ptr_array_new_with_free_func((GDestroyNotify)qemu_process_unref);
    drv->root = g_strdup(cfg->root);
    drv->config_dir = qemu_driver_path(cfg->root, "/etc/ferry/qemu");
    drv->lib_dir = qemu_driver_path(cfg->root, "/var/lib/ferry/qemu");
    drv->caps_dir =
        cfg->caps_dir ? g_strdup(cfg->caps_dir) : g_build_filename(drv->lib_dir, "caps", NULL);
    drv->state_dir = qemu_driver_path(cfg->root, "/run/ferry/qemu");
    drv->log_dir = qemu_driver_path(cfg->root, "/var/log/ferry/qemu");
    drv->qemu_binary = g_strdup(cfg->qemu_binary ? cfg->qemu_binary : QEMU_SYSTEM_X86_64);
    drv->hostname = g_strdup(cfg->hostname ? cfg->hostname : g_get_host_name());
    if (cfg->host_uuid)
        memcpy(drv->host_uuid, cfg->host_uuid, FERRY_UUID_BUFLEN);
    drv->accel = cfg->accel;
    drv->start_timeout_ms =
        cfg->start_timeout_ms > 0 ? cfg->start_timeout_ms : QEMU_DRIVER_START_TIMEOUT_MS;
    drv->kill_grace_ms = cfg->kill_grace_ms > 0 ? cfg->kill_grace_ms : QEMU_DRIVER_KILL_GRACE_MS;
    drv->monitor_timeout_ms =
        cfg->monitor_timeout_ms > 0 ? cfg->monitor_timeout_ms : QEMU_DRIVER_MONITOR_TIMEOUT_MS;

    drv->migration_port_min =
        cfg->migration_port_min > 0 ? cfg->migration_port_min : QEMU_DRIVER_MIGRATION_PORT_MIN;
    drv->migration_port_max =
        cfg->migration_port_max > 0 ? cfg->migration_port_max : QEMU_DRIVER_MIGRATION_PORT_MAX;
    drv->migration_address = g_strdup(cfg->migration_address);
    drv->migration_host = g_strdup(cfg->migration_host);
    if (cfg->spice_tls)
        drv->spice_tls_dir = cfg->spice_tls_x509_dir
                                 ? g_strdup(cfg->spice_tls_x509_dir)
                                 : qemu_driver_path(cfg->root, "/etc/ferry/pki/spice");

    if ((int)cfg->accel < 0 || cfg->accel >= QEMU_DRIVER_ACCEL_LAST) {
        ferry_fail(error, FERRY_ERR_CONFIG, "unknown accelerator policy %d", (int)cfg->accel);
        qemu_driver_free(drv);
        return NULL;
    }
    if (!qemu_driver_check_migration_config(drv, error)) {
        qemu_driver_free(drv);
        return NULL;
    }
    dirs[0] = drv->config_dir;
    dirs[1] = drv->lib_dir;
    dirs[2] = drv->state_dir;
    dirs[3] = drv->log_dir;
    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        if (g_mkdir_with_parents(dirs[i], 0700) < 0) {
            ferry_fail_errno(error, errno, "cannot create directory '%s'", dirs[i]);
            qemu_driver_free(drv);
            return NULL;
        }
    }
    /* Two drivers on one root would both take over the same QEMUs. */
    lock_path = g_build_filename(drv->state_dir, QEMU_DRIVER_LOCK_FILE, NULL);
    drv->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (drv->lock_fd < 0) {
        ferry_fail_errno(error, errno, "cannot open '%s'", lock_path);
        qemu_driver_free(drv);
        return NULL;
    }
    if (flock(drv->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                       "another QEMU driver uses the state in '%s' (%s is locked)",
                       drv->root ? drv->root : "/", lock_path);
        else
            ferry_fail_errno(error, errno, "cannot lock '%s'", lock_path);
        qemu_driver_free(drv);
        return NULL;
    }
    drv->lockmgr =
        lock_manager_new(cfg->lock_manager ? cfg->lock_manager : LOCK_MANAGER_NOP, &lcfg, error);
    if (!drv->lockmgr) {
        qemu_driver_free(drv);
        return NULL;
    }
    if (!iothread_start(error)) {
        qemu_driver_free(drv);
        return NULL;
    }
    drv->iothread_started = TRUE;
    drv->events =
        g_thread_pool_new(qemu_process_event_worker, drv, QEMU_DRIVER_EVENT_THREADS, FALSE, error);
    if (!drv->events || !qemu_driver_events_init(drv, error)) {
        qemu_driver_free(drv);
        return NULL;
    }
    drv->domains = domain_list_new();
    drv->caps = qemu_caps_cache_new(drv->caps_dir);
    drv->autokill = autokill_new();

    if (domain_list_load_configs(drv->domains, drv->config_dir, error) < 0) {
        qemu_driver_free(drv);
        return NULL;
    }
    n = domain_list_load_status(drv->domains, drv->state_dir, NULL, error);
    if (n < 0) {
        qemu_driver_free(drv);
        return NULL;
    }
    if (cfg->probe_in_background)
        drv->caps_probe = g_thread_new("qemu-caps-probe", qemu_driver_caps_probe, drv);
    if (n > 0)
        domain_list_foreach(drv->domains, qemu_driver_reconnect_one, drv);
    FLOG_INFO("QEMU driver open on '%s': %u domain(s), %u running", drv->root ? drv->root : "/",
              domain_list_count(drv->domains),
              domain_list_count_filtered(drv->domains, DOMAIN_LIST_ACTIVE));
    return drv;
}

/* Leaves one domain running, or destroys it when it is autodestroy. */
static void qemu_driver_close_one(QemuDriver *drv, DomainObj *obj)
{
    g_autoptr(GError) err = NULL;
    QemuProcess *proc;

    domain_obj_lock(obj);
    proc = qemu_process_get(obj);
    if (domain_obj_is_removed(obj) || !proc) {
        domain_obj_unlock(obj);
        return;
    }
    if (!(qemu_process_is_autodestroy(proc)
              ? qemu_process_kill_begin_job(drv, obj, "qemuDriverClose", &err)
              : domain_job_begin(obj, DOMAIN_JOB_DESTROY, "qemuDriverClose", &err))) {
        /* Nobody else may use the driver now: a job still held is a bug
         * of the caller; leave QEMU running but stop watching it. */
        FLOG_WARN("domain '%s': %s", domain_obj_name(obj), err->message);
        qemu_process_detach(drv, obj);
        domain_obj_unlock(obj);
        return;
    }
    if (qemu_process_get(obj) == proc) {
        if (qemu_process_is_autodestroy(proc)) {
            FLOG_INFO("domain '%s': autodestroy: destroyed as the driver closes",
                      domain_obj_name(obj));
            qemu_process_stop(drv, obj, "destroyed");
            qemu_driver_remove_inactive(drv, obj);
        } else {
            qemu_process_detach(drv, obj);
        }
    }
    domain_job_end(obj);
    domain_obj_unlock(obj);
}

void qemu_driver_close(QemuDriver *drv)
{
    if (!drv)
        return;
    /* a probe still running ends within its own time bound */
    if (drv->caps_probe)
        g_thread_join(g_steal_pointer(&drv->caps_probe));
    if (drv->domains) {
        g_autoptr(GPtrArray) objs = domain_list_snapshot(drv->domains);

        for (guint i = 0; i < objs->len; i++)
            qemu_driver_close_one(drv, g_ptr_array_index(objs, i));
    }
    /* QEMUs that were ending in the background are gone when we return */
    qemu_process_retire_flush(drv);
    /* No monitor or watch is left to queue events: finish the queued ones
     * (they find no process and do nothing). */
    if (drv->events)
        g_thread_pool_free(g_steal_pointer(&drv->events), FALSE, TRUE);
    FLOG_INFO("QEMU driver on '%s' closed", drv->root ? drv->root : "/");
    qemu_driver_free(drv);
}

/* ---------------------------------------------------------------- lookups */

void qemu_domain_ref_clear(QemuDomainRef *ref)
{
    if (!ref)
        return;
    g_clear_pointer(&ref->name, g_free);
    memset(ref->uuid, 0, sizeof(ref->uuid));
    ref->id = -1;
}

/* obj locked. */
static void qemu_driver_fill_ref(DomainObj *obj, QemuDomainRef *ref)
{
    if (!ref)
        return;
    g_free(ref->name);
    ref->name = g_strdup(domain_obj_name(obj));
    memcpy(ref->uuid, obj->def->uuid, FERRY_UUID_BUFLEN);
    ref->id = domain_obj_get_id(obj);
}

gboolean qemu_driver_lookup_by_name(QemuDriver *drv, const char *name, QemuDomainRef *ref,
                                    GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_name(drv->domains, name, DOMAIN_LOOKUP_LOCKED, error);

    if (!obj)
        return FALSE;
    qemu_driver_fill_ref(obj, ref);
    return TRUE;
}

gboolean qemu_driver_lookup_by_uuid(QemuDriver *drv, const unsigned char *uuid, QemuDomainRef *ref,
                                    GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);

    if (!obj)
        return FALSE;
    qemu_driver_fill_ref(obj, ref);
    return TRUE;
}

gboolean qemu_driver_lookup_by_id(QemuDriver *drv, int id, QemuDomainRef *ref, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_id(drv->domains, id, DOMAIN_LOOKUP_LOCKED, error);

    if (!obj)
        return FALSE;
    qemu_driver_fill_ref(obj, ref);
    return TRUE;
}

GStrv qemu_driver_list_names(QemuDriver *drv, unsigned int filter)
{
    return domain_list_get_names(drv->domains, filter);
}

static gint compare_ints(gconstpointer a, gconstpointer b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

GArray *qemu_driver_list_ids(QemuDriver *drv)
{
    g_autoptr(GPtrArray) objs = domain_list_snapshot(drv->domains);
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int));

    for (guint i = 0; i < objs->len; i++) {
        DomainObj *obj = g_ptr_array_index(objs, i);

        domain_obj_lock(obj);
        if (!domain_obj_is_removed(obj) && domain_obj_is_active(obj)) {
            int id = domain_obj_get_id(obj);

            g_array_append_val(ids, id);
        }
        domain_obj_unlock(obj);
    }
    g_array_sort(ids, compare_ints);
    return ids;
}

guint qemu_driver_count(QemuDriver *drv, unsigned int filter)
{
    return domain_list_count_filtered(drv->domains, filter);
}

/* ---------------------------------------------------------------- definitions */

gboolean qemu_driver_define_xml(QemuDriver *drv, const char *xml, QemuDomainRef *ref,
                                GError **error)
{
    g_autoptr(DomainDef) def = domain_def_parse(xml, DOMAIN_PARSE_INACTIVE, error);
    gboolean existed = FALSE, was_persistent = FALSE;
    DomainDef *old_def = NULL;

    if (!def)
        return FALSE;
    {
        g_autoptr(DomainObjLocked) old =
            domain_list_find_by_uuid(drv->domains, def->uuid, DOMAIN_LOOKUP_LOCKED, NULL);

        if (old) {
            existed = TRUE;
            was_persistent = old->persistent;
        }
    }
    g_autoptr(DomainObjLocked) obj = domain_list_add(
        drv->domains, &def, DOMAIN_LIST_ADD_UPDATE | DOMAIN_LIST_ADD_PERSISTENT, &old_def, error);
    if (!obj)
        return FALSE;
    if (!domain_obj_save_config(obj, drv->config_dir, error)) {
        /* Put back what was there. */
        if (!existed) {
            obj->persistent = FALSE;
            qemu_driver_remove_inactive(drv, obj);
        } else {
            DomainDef **slot = domain_obj_is_active(obj) ? &obj->new_def : &obj->def;

            if (old_def || !domain_obj_is_active(obj)) {
                domain_def_free(*slot);
                *slot = g_steal_pointer(&old_def);
            } else {
                g_clear_pointer(&obj->new_def, domain_def_free);
            }
            obj->persistent = was_persistent;
        }
        domain_def_free(old_def);
        return FALSE;
    }
    domain_def_free(old_def);
    FLOG_INFO("domain '%s' defined%s", domain_obj_name(obj), existed ? " again" : "");
    qemu_driver_event_queue(drv, obj, QEMU_LIFECYCLE_DEFINED,
                            was_persistent ? QEMU_LIFECYCLE_DEFINED_UPDATED
                                           : QEMU_LIFECYCLE_DEFINED_ADDED);
    qemu_driver_fill_ref(obj, ref);
    return TRUE;
}

gboolean qemu_driver_undefine(QemuDriver *drv, const unsigned char *uuid, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);
    gboolean ok = FALSE;

    if (!obj)
        return FALSE;
    if (!domain_job_begin(obj, DOMAIN_JOB_MODIFY, "domainUndefine", error))
        return FALSE;
    if (!obj->persistent) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "cannot undefine transient domain '%s'",
                   domain_obj_name(obj));
    } else if (domain_obj_delete_config(obj, drv->config_dir, error)) {
        ok = TRUE;
        FLOG_INFO("domain '%s' undefined", domain_obj_name(obj));
        qemu_driver_event_queue(drv, obj, QEMU_LIFECYCLE_UNDEFINED,
                                QEMU_LIFECYCLE_UNDEFINED_REMOVED);
        obj->persistent = FALSE;
        if (domain_obj_is_active(obj))
            g_clear_pointer(&obj->new_def, domain_def_free);
        else
            qemu_driver_remove_inactive(drv, obj);
    }
    domain_job_end(obj);
    return ok;
}

/* ---------------------------------------------------------------- state */

/* libvirt's reason numbers, per state: index = number, entry = ferry's
 * reason string (NULL: a number ferry never reports). */
static const char *const qemu_reasons_running[] = {
    NULL,
    "booted",
    "migrated",
    "restored",
    "from-snapshot",
    "unpaused",
    "migration-canceled",
    "save-canceled",
    "wakeup",
    "crashed",
    "postcopy",
    "postcopy-failed",
};
static const char *const qemu_reasons_paused[] = {
    NULL,
    "user",
    "migration",
    "save",
    "dump",
    "ioerror",
    "watchdog",
    "from-snapshot",
    "shutting-down",
    "snapshot",
    "crashed",
    "starting-up",
    "postcopy",
    "postcopy-failed",
    "api-error",
};
static const char *const qemu_reasons_shutoff[] = {
    NULL,    "shutdown", "destroyed",     "crashed", "migrated",
    "saved", "failed",   "from-snapshot", "daemon",
};
static const char *const qemu_reasons_shutdown[] = { NULL, "user" };
static const char *const qemu_reasons_crashed[] = { NULL, "panicked" };
static const char *const qemu_reasons_pmsuspended[] = { NULL };
static const char *const qemu_reasons_none[] = { NULL };

typedef struct {
    const char *const *names;
    int n;
} QemuReasonTable;

#define QEMU_REASONS(tbl) \
    { \
        tbl, (int)G_N_ELEMENTS(tbl) \
    }
static const QemuReasonTable qemu_reason_tables[] = {
    [DOMAIN_STATE_NOSTATE] = QEMU_REASONS(qemu_reasons_none),
    [DOMAIN_STATE_RUNNING] = QEMU_REASONS(qemu_reasons_running),
    [DOMAIN_STATE_BLOCKED] = QEMU_REASONS(qemu_reasons_none),
    [DOMAIN_STATE_PAUSED] = QEMU_REASONS(qemu_reasons_paused),
    [DOMAIN_STATE_SHUTDOWN] = QEMU_REASONS(qemu_reasons_shutdown),
    [DOMAIN_STATE_SHUTOFF] = QEMU_REASONS(qemu_reasons_shutoff),
    [DOMAIN_STATE_CRASHED] = QEMU_REASONS(qemu_reasons_crashed),
    [DOMAIN_STATE_PMSUSPENDED] = QEMU_REASONS(qemu_reasons_pmsuspended),
};
G_STATIC_ASSERT(G_N_ELEMENTS(qemu_reason_tables) == DOMAIN_STATE_LAST);
/* libvirt's counts (VIR_DOMAIN_*_LAST) */
G_STATIC_ASSERT(G_N_ELEMENTS(qemu_reasons_running) == 12);
G_STATIC_ASSERT(G_N_ELEMENTS(qemu_reasons_paused) == 15);
G_STATIC_ASSERT(G_N_ELEMENTS(qemu_reasons_shutoff) == 9);

int qemu_driver_state_reason_to_number(DomainState state, const char *reason)
{
    if ((int)state < 0 || state >= DOMAIN_STATE_LAST || !reason)
        return 0;
    for (int i = 1; i < qemu_reason_tables[state].n; i++) {
        if (qemu_reason_tables[state].names[i] &&
            g_str_equal(qemu_reason_tables[state].names[i], reason))
            return i;
    }
    return 0;
}

const char *qemu_driver_state_reason_from_number(DomainState state, int number)
{
    if ((int)state < 0 || state >= DOMAIN_STATE_LAST || number <= 0 ||
        number >= qemu_reason_tables[state].n)
        return NULL;
    return qemu_reason_tables[state].names[number];
}

gboolean qemu_driver_domain_get_state(QemuDriver *drv, const unsigned char *uuid,
                                      DomainState *state, char **reason, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);
    const char *r = NULL;

    if (!obj)
        return FALSE;
    *state = domain_obj_get_state(obj, &r);
    if (reason)
        *reason = g_strdup(r);
    return TRUE;
}

gboolean qemu_driver_domain_get_info(QemuDriver *drv, const unsigned char *uuid,
                                     QemuDomainInfo *info, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);
    DomainDef *def;

    if (!obj)
        return FALSE;
    def = obj->def;
    memset(info, 0, sizeof(*info));
    info->state = domain_obj_get_state(obj, NULL);
    info->max_mem_kib = def->memory_kib;
    info->memory_kib = def->current_memory_kib ? def->current_memory_kib : def->memory_kib;
    info->vcpus = def->current_vcpus ? def->current_vcpus : def->vcpus;
    if (domain_obj_is_active(obj))
        info->cpu_time_ns = qemu_process_cpu_time_ns(qemu_process_get(obj));
    return TRUE;
}

char *qemu_driver_domain_get_xml(QemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                                 GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);
    unsigned int fmt = 0;
    DomainDef *def;

    if (!obj)
        return NULL;
    if (flags & ~(unsigned int)(QEMU_DRIVER_XML_SECURE | QEMU_DRIVER_XML_INACTIVE |
                                QEMU_DRIVER_XML_MIGRATABLE)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain '%s': unsupported XML flags 0x%x",
                   domain_obj_name(obj), flags);
        return NULL;
    }
    def = obj->def;
    if ((flags & QEMU_DRIVER_XML_INACTIVE) && obj->new_def && domain_obj_is_active(obj))
        def = obj->new_def;
    if (flags & QEMU_DRIVER_XML_SECURE)
        fmt |= DOMAIN_FORMAT_SECURE;
    if (flags & QEMU_DRIVER_XML_MIGRATABLE)
        fmt |= DOMAIN_FORMAT_MIGRATABLE;
    return domain_def_format(def, fmt, error);
}

gboolean qemu_driver_domain_get_job_info(QemuDriver *drv, const unsigned char *uuid,
                                         gboolean completed, DomainJobInfo *info, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);

    if (!obj)
        return FALSE;
    domain_job_get_info(obj, completed, info);
    return TRUE;
}

gboolean qemu_driver_domain_abort_job(QemuDriver *drv, const unsigned char *uuid, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);
    gboolean ok;

    if (!obj)
        return FALSE;
    if (!domain_job_begin(obj, DOMAIN_JOB_ABORT, "domainAbortJob", error))
        return FALSE;
    ok = domain_job_abort_async(obj, error);
    domain_job_end(obj);
    return ok;
}

gboolean qemu_driver_domain_is_persistent(QemuDriver *drv, const unsigned char *uuid,
                                          gboolean *persistent, GError **error)
{
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_uuid(drv->domains, uuid, DOMAIN_LOOKUP_LOCKED, error);

    if (!obj)
        return FALSE;
    *persistent = obj->persistent;
    return TRUE;
}

gboolean qemu_driver_get_qemu_version(QemuDriver *drv, int *major, int *minor, int *micro,
                                      GError **error)
{
    g_autoptr(QemuCaps) caps = qemu_caps_get(drv->caps, drv->qemu_binary, error);

    if (!caps)
        return FALSE;
    qemu_caps_get_version(caps, major, minor, micro);
    return TRUE;
}
