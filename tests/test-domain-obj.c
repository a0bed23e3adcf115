/*
 * test-domain-obj.c: domain objects and the domain list: lookups,
 * duplicates, definitions and status on disk, iteration, the lock order.
 */
#include <config.h>

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "driver.domain"

#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"
#include "driver/domain_obj.h"

#define UUID_A "10111213-1415-4617-9819-1a1b1c1d1e1f"
#define UUID_B "20212223-2425-4627-a829-2a2b2c2d2e2f"
#define UUID_C "30313233-3435-4637-b839-3a3b3c3d3e3f"

typedef struct {
    char *dir;
    char *config_dir;
    char *state_dir;
    DomainList *list;
} ObjFixture;

static void remove_tree(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *entry;

    if (dir) {
        while ((entry = g_dir_read_name(dir))) {
            g_autofree char *child = g_build_filename(path, entry, NULL);
            remove_tree(child);
        }
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static void fixture_setup(ObjFixture *fx, gconstpointer data)
{
    fx->dir = g_dir_make_tmp("ferry-domain-obj-XXXXXX", NULL);
    g_assert_nonnull(fx->dir);
    fx->config_dir = g_build_filename(fx->dir, "etc", "qemu", NULL);
    fx->state_dir = g_build_filename(fx->dir, "run", NULL);
    fx->list = domain_list_new();
    ferry_log_reset();
}

static void fixture_teardown(ObjFixture *fx, gconstpointer data)
{
    ferry_log_reset();
    domain_list_free(fx->list);
    remove_tree(fx->dir);
    g_free(fx->state_dir);
    g_free(fx->config_dir);
    g_free(fx->dir);
}

static char *domain_xml(const char *name, const char *uuid, unsigned int memory_kib)
{
    return g_strdup_printf("<domain type='kvm'>\n"
                           "  <name>%s</name>\n"
                           "  <uuid>%s</uuid>\n"
                           "  <memory>%u</memory>\n"
                           "  <os><type>hvm</type></os>\n"
                           "</domain>\n",
                           name, uuid, memory_kib);
}

static DomainDef *make_def(const char *name, const char *uuid)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(name, uuid, 1048576);
    DomainDef *def = domain_def_parse(xml, 0, &err);

    g_assert_no_error(err);
    g_assert_nonnull(def);
    return def;
}

/* Adds a domain; returns it referenced, unlocked. */
static DomainObj *add_domain(DomainList *list, const char *name, const char *uuid,
                             unsigned int flags)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def = make_def(name, uuid);
    DomainObj *obj = domain_list_add(list, &def, flags, NULL, &err);

    g_assert_no_error(err);
    g_assert_nonnull(obj);
    g_assert_null(def);
    domain_obj_unlock(obj);
    return obj;
}

static void parse_uuid(const char *str, unsigned char *uuid)
{
    g_assert_cmpint(ferry_uuid_parse(str, uuid, NULL), ==, 0);
}

static void test_add_lookup_remove(ObjFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    unsigned char uuid[FERRY_UUID_BUFLEN];
    g_autoptr(DomainObj) web1 = add_domain(fx->list, "web1", UUID_A, DOMAIN_LIST_ADD_PERSISTENT);
    g_autoptr(DomainObj) web2 = add_domain(fx->list, "web2", UUID_B, 0);

    g_assert_cmpuint(domain_list_count(fx->list), ==, 2);

    {
        g_autoptr(DomainObjLocked) obj =
            domain_list_find_by_name(fx->list, "web1", DOMAIN_LOOKUP_LOCKED, &err);
        g_assert_no_error(err);
        g_assert_true(obj == web1);
        g_assert_cmpuint(domain_obj_locks_held(), ==, 1);
        g_assert_true(obj->persistent);
        g_assert_false(domain_obj_is_active(obj));
        g_assert_cmpint(domain_obj_get_id(obj), ==, -1);
    }
    g_assert_cmpuint(domain_obj_locks_held(), ==, 0);

    parse_uuid(UUID_B, uuid);
    {
        g_autoptr(DomainObj) obj = domain_list_find_by_uuid(fx->list, uuid, 0, &err);
        g_assert_no_error(err);
        g_assert_true(obj == web2);
        g_assert_cmpuint(domain_obj_locks_held(), ==, 0);
        domain_obj_lock(obj);
        g_assert_false(obj->persistent);
        g_assert_cmpstr(domain_obj_name(obj), ==, "web2");
        domain_obj_unlock(obj);
    }

    /* Remove web1: lookups stop finding it; our reference stays valid. */
    domain_obj_lock(web1);
    domain_list_remove(fx->list, web1);
    g_assert_true(domain_obj_is_removed(web1));
    g_assert_cmpstr(domain_obj_name(web1), ==, "web1");
    domain_obj_unlock(web1);
    g_assert_cmpuint(domain_list_count(fx->list), ==, 1);

    g_assert_null(domain_list_find_by_name(fx->list, "web1", 0, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(err->message, ==, "no domain with matching name 'web1'");
    g_clear_error(&err);

    parse_uuid(UUID_A, uuid);
    g_assert_null(domain_list_find_by_uuid(fx->list, uuid, DOMAIN_LOOKUP_LOCKED, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(err->message, ==, "no domain with matching uuid '" UUID_A "'");
    g_clear_error(&err);

    /* Removing twice is harmless; the name can be used again. */
    domain_obj_lock(web1);
    domain_list_remove(fx->list, web1);
    domain_obj_unlock(web1);
    g_autoptr(DomainObj) again = add_domain(fx->list, "web1", UUID_C, 0);
    g_assert_true(again != web1);
    g_assert_cmpuint(domain_list_count(fx->list), ==, 2);
}

static void test_find_by_id(ObjFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObj) web1 = add_domain(fx->list, "web1", UUID_A, 0);
    g_autoptr(DomainObj) web2 = add_domain(fx->list, "web2", UUID_B, 0);
    int id = domain_list_next_id(fx->list);

    g_assert_cmpint(id, ==, 1);
    g_assert_cmpint(domain_list_next_id(fx->list), ==, 2);
    domain_obj_lock(web2);
    domain_obj_set_active(web2, id, 4242, "/run/web2.qmp");
    domain_obj_unlock(web2);

    {
        g_autoptr(DomainObjLocked) obj =
            domain_list_find_by_id(fx->list, id, DOMAIN_LOOKUP_LOCKED, &err);
        g_assert_no_error(err);
        g_assert_true(obj == web2);
        g_assert_cmpint(obj->pid, ==, 4242);
    }
    g_assert_null(domain_list_find_by_id(fx->list, 2, 0, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(err->message, ==, "no domain with matching id 2");
    g_clear_error(&err);
    g_assert_null(domain_list_find_by_id(fx->list, -1, 0, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_NO_DOMAIN);
}

static void test_duplicates(ObjFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObj) web1 = add_domain(fx->list, "web1", UUID_A, DOMAIN_LIST_ADD_PERSISTENT);

    /* Same name, another uuid. */
    g_autoptr(DomainDef) def = make_def("web1", UUID_B);
    g_assert_null(domain_list_add(fx->list, &def, DOMAIN_LIST_ADD_UPDATE, NULL, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_DOMAIN_EXISTS);
    g_assert_cmpstr(err->message, ==, "domain 'web1' already exists with uuid " UUID_A);
    g_assert_nonnull(def); /* not taken */
    g_clear_error(&err);
    g_clear_pointer(&def, domain_def_free);

    /* Same uuid, another name. */
    def = make_def("web2", UUID_A);
    g_assert_null(domain_list_add(fx->list, &def, DOMAIN_LIST_ADD_UPDATE, NULL, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_DOMAIN_EXISTS);
    g_assert_cmpstr(err->message, ==, "domain 'web1' is already defined with uuid " UUID_A);
    g_clear_error(&err);
    g_clear_pointer(&def, domain_def_free);

    /* Same name and uuid, without UPDATE. */
    def = make_def("web1", UUID_A);
    g_assert_null(domain_list_add(fx->list, &def, 0, NULL, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_DOMAIN_EXISTS);
    g_assert_cmpstr(err->message, ==, "domain 'web1' already exists with uuid " UUID_A);
    g_clear_error(&err);
    g_assert_cmpuint(domain_list_count(fx->list), ==, 1);

    /* With UPDATE: the inactive definition is replaced and handed back. */
    DomainDef *first = web1->def;
    DomainDef *second = def;
    DomainDef *old = NULL;
    {
        g_autoptr(DomainObjLocked) obj =
            domain_list_add(fx->list, &def, DOMAIN_LIST_ADD_UPDATE, &old, &err);
        g_assert_no_error(err);
        g_assert_true(obj == web1);
        g_assert_null(def);
        g_assert_true(old == first);
        g_assert_true(obj->def == second);
    }
    domain_def_free(old);

    /* Running: an update becomes the next boot's definition; LIVE refuses. */
    domain_obj_lock(web1);
    domain_obj_set_active(web1, 3, 100, "/run/web1.qmp");
    g_assert_nonnull(web1->new_def);
    g_assert_true(domain_obj_get_persistent_def(web1) == web1->new_def);
    domain_obj_unlock(web1);

    def = make_def("web1", UUID_A);
    g_assert_null(
        domain_list_add(fx->list, &def, DOMAIN_LIST_ADD_UPDATE | DOMAIN_LIST_ADD_LIVE, NULL, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_DOMAIN_EXISTS);
    g_assert_cmpstr(err->message, ==, "domain 'web1' is already running");
    g_clear_error(&err);

    second = def;
    {
        g_autoptr(DomainObjLocked) obj =
            domain_list_add(fx->list, &def, DOMAIN_LIST_ADD_UPDATE, NULL, &err);
        g_assert_no_error(err);
        g_assert_true(obj->new_def == second);
        g_assert_true(obj->def != second);
        g_assert_cmpint(domain_obj_get_id(obj), ==, 3);

        /* Stopping: the next boot's definition takes over. */
        domain_obj_set_inactive(obj, "destroyed");
        g_assert_true(obj->def == second);
        g_assert_null(obj->new_def);
        g_assert_cmpint(domain_obj_get_id(obj), ==, -1);
        const char *reason = NULL;
        g_assert_cmpint(domain_obj_get_state(obj, &reason), ==, DOMAIN_STATE_SHUTOFF);
        g_assert_cmpstr(reason, ==, "destroyed");
    }
}

static char *read_file(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return text;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static guint count_files(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;

    while (d && g_dir_read_name(d))
        n++;
    return n;
}

static char *format_def(const DomainDef *def)
{
    g_autoptr(GError) err = NULL;
    char *xml = domain_def_format(def, DOMAIN_FORMAT_SECURE | DOMAIN_FORMAT_MIGRATABLE, &err);

    g_assert_no_error(err);
    return xml;
}

static void test_config_roundtrip(ObjFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObj) web1 = add_domain(fx->list, "web1", UUID_A, DOMAIN_LIST_ADD_PERSISTENT);
    g_autoptr(DomainObj) web2 = add_domain(fx->list, "web2", UUID_B, DOMAIN_LIST_ADD_PERSISTENT);
    g_autoptr(DomainObj) tmp = add_domain(fx->list, "tmp", UUID_C, 0);

    domain_obj_lock(web1);
    g_assert_true(domain_obj_save_config(web1, fx->config_dir, &err));
    g_assert_no_error(err);
    /* Saving again replaces the file. */
    g_assert_true(domain_obj_save_config(web1, fx->config_dir, &err));
    g_autofree char *xml1 = format_def(web1->def);
    domain_obj_unlock(web1);
    domain_obj_lock(web2);
    g_assert_true(domain_obj_save_config(web2, fx->config_dir, &err));
    g_assert_no_error(err);
    g_autofree char *xml2 = format_def(web2->def);
    domain_obj_unlock(web2);

    /* A transient domain has no config. */
    domain_obj_lock(tmp);
    g_assert_false(domain_obj_save_config(tmp, fx->config_dir, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_OPERATION_INVALID);
    g_assert_cmpstr(err->message, ==, "domain 'tmp' is transient: it has no definition to save");
    g_clear_error(&err);
    domain_obj_unlock(tmp);

    /* Exactly the two files: no temporary file is left behind. */
    g_assert_cmpuint(count_files(fx->config_dir), ==, 2);
    g_autofree char *on_disk = read_file(fx->config_dir, "web1.xml");
    g_assert_cmpstr(on_disk, ==, xml1);

    g_autoptr(DomainList) list = domain_list_new();
    g_assert_cmpint(domain_list_load_configs(list, fx->config_dir, &err), ==, 2);
    g_assert_no_error(err);
    g_auto(GStrv) names = domain_list_get_names(list, 0);
    g_assert_cmpuint(g_strv_length(names), ==, 2);
    g_assert_cmpstr(names[0], ==, "web1");
    g_assert_cmpstr(names[1], ==, "web2");
    {
        g_autoptr(DomainObjLocked) obj =
            domain_list_find_by_name(list, "web2", DOMAIN_LOOKUP_LOCKED, &err);
        g_assert_no_error(err);
        g_assert_true(obj->persistent);
        g_assert_false(domain_obj_is_active(obj));
        g_assert_cmpint(domain_obj_get_state(obj, NULL), ==, DOMAIN_STATE_SHUTOFF);
        g_autofree char *loaded = format_def(obj->def);
        g_assert_cmpstr(loaded, ==, xml2);

        /* Undefine deletes the file; deleting again is fine. */
        g_assert_true(domain_obj_delete_config(obj, fx->config_dir, &err));
        g_assert_true(domain_obj_delete_config(obj, fx->config_dir, &err));
        g_assert_no_error(err);
    }
    g_assert_cmpuint(count_files(fx->config_dir), ==, 1);

    /* A missing directory loads nothing. */
    g_autofree char *none = g_build_filename(fx->dir, "none", NULL);
    g_autoptr(DomainList) empty = domain_list_new();
    g_assert_cmpint(domain_list_load_configs(empty, none, &err), ==, 0);
    g_assert_no_error(err);
}

static void test_config_bad_files_skipped(ObjFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *log_path = g_build_filename(fx->dir, "warn.log", NULL);
    g_autofree char *spec = g_strdup_printf("3:file:%s", log_path);
    g_autofree char *good = domain_xml("good", UUID_A, 524288);
    g_autofree char *wrong_name = domain_xml("other", UUID_B, 524288);
    g_autofree char *dup_uuid = domain_xml("same-uuid", UUID_A, 524288);

    write_file(fx->config_dir, "good.xml", good);
    write_file(fx->config_dir, "corrupt.xml", "<domain type='kvm'><name>corrupt</name");
    write_file(fx->config_dir, "notmine.xml", wrong_name);
    write_file(fx->config_dir, "same-uuid.xml", dup_uuid);
    write_file(fx->config_dir, "README", "not a definition");
    write_file(fx->config_dir, ".good.xml.ABC123", "a left-over temp file");

    g_assert_true(ferry_log_set_outputs(spec, &err));
    g_assert_no_error(err);
    g_assert_cmpint(domain_list_load_configs(fx->list, fx->config_dir, &err), ==, 1);
    g_assert_no_error(err);
    ferry_log_reset();

    g_auto(GStrv) names = domain_list_get_names(fx->list, 0);
    g_assert_cmpuint(g_strv_length(names), ==, 1);
    g_assert_cmpstr(names[0], ==, "good");

    g_autofree char *log = read_file(fx->dir, "warn.log");
    g_assert_nonnull(log);
    g_assert_nonnull(strstr(log, "warning"));
    g_assert_nonnull(strstr(log, "corrupt.xml"));
    g_assert_nonnull(strstr(log, "notmine.xml': the file defines domain 'other', not 'notmine'"));
    g_assert_nonnull(strstr(log, "same-uuid.xml': domain 'good' is already defined with uuid"));
    g_assert_null(strstr(log, "README"));
    g_assert_null(strstr(log, "ABC123"));
}

static void test_status_roundtrip(ObjFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObj) web1 = add_domain(fx->list, "web1", UUID_A, DOMAIN_LIST_ADD_PERSISTENT);
    g_autoptr(DomainObj) tmp = add_domain(fx->list, "tmp", UUID_B, 0);
    g_autoptr(DomainObj) off = add_domain(fx->list, "off", UUID_C, DOMAIN_LIST_ADD_PERSISTENT);

    domain_obj_lock(off);
    g_assert_true(domain_obj_save_config(off, fx->config_dir, &err));
    g_assert_false(domain_obj_save_status(off, fx->state_dir, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_DRIVER), FERRY_ERR_OPERATION_INVALID);
    g_clear_error(&err);
    domain_obj_unlock(off);

    domain_obj_lock(web1);
    g_assert_true(domain_obj_save_config(web1, fx->config_dir, &err));
    g_autofree char *persistent_xml = format_def(web1->def);
    domain_obj_set_active(web1, 7, 1234, "/run/ferry/web1.qmp");
    domain_obj_set_state(web1, DOMAIN_STATE_RUNNING, "booted");
    g_assert_true(domain_job_begin_async(web1, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "test", 0x42, &err));
    g_assert_true(domain_job_set_phase(web1, DOMAIN_MIGRATION_PHASE_PERFORM3, &err));
    /* A live change that must not reach the config. */
    web1->def->memory_kib = 2 * 1048576;
    web1->def->current_memory_kib = 2 * 1048576;
    g_assert_true(domain_obj_save_status(web1, fx->state_dir, &err));
    g_assert_no_error(err);
    /* Saving the config of a running domain writes the next boot's. */
    g_assert_true(domain_obj_save_config(web1, fx->config_dir, &err));
    g_autofree char *config = read_file(fx->config_dir, "web1.xml");
    g_assert_cmpstr(config, ==, persistent_xml);
    domain_obj_unlock(web1);

    domain_obj_lock(tmp);
    domain_obj_set_active(tmp, 3, 999, "/run/ferry/tmp.qmp");
    domain_obj_set_state(tmp, DOMAIN_STATE_PAUSED, "user");
    g_assert_true(domain_obj_save_status(tmp, fx->state_dir, &err));
    g_assert_no_error(err);
    domain_obj_unlock(tmp);
    g_assert_cmpuint(count_files(fx->state_dir), ==, 2);

    /* A restarted daemon. */
    g_autoptr(DomainList) list = domain_list_new();
    g_assert_cmpint(domain_list_load_configs(list, fx->config_dir, &err), ==, 2);
    g_assert_cmpint(domain_list_load_status(list, fx->state_dir, NULL, &err), ==, 2);
    g_assert_no_error(err);
    g_assert_cmpint(domain_list_next_id(list), ==, 8);

    {
        g_autoptr(DomainObjLocked) obj =
            domain_list_find_by_name(list, "web1", DOMAIN_LOOKUP_LOCKED, &err);
        const char *reason = NULL;

        g_assert_no_error(err);
        g_assert_true(obj->persistent);
        g_assert_true(domain_obj_is_active(obj));
        g_assert_cmpint(domain_obj_get_id(obj), ==, 7);
        g_assert_cmpint(obj->pid, ==, 1234);
        g_assert_cmpstr(obj->monitor_path, ==, "/run/ferry/web1.qmp");
        g_assert_cmpint(domain_obj_get_state(obj, &reason), ==, DOMAIN_STATE_RUNNING);
        g_assert_cmpstr(reason, ==, "booted");
        g_assert_cmpuint(obj->def->memory_kib, ==, 2 * 1048576);
        /* The job is back, owned by no thread, in its phase. */
        g_assert_cmpint(domain_job_get_async(obj), ==, DOMAIN_ASYNC_JOB_MIGRATION_OUT);
        g_assert_cmpint(domain_job_get_phase(obj), ==, DOMAIN_MIGRATION_PHASE_PERFORM3);
        g_assert_cmpint(obj->job.async_owner, ==, 0);
        g_assert_cmphex(obj->job.flags, ==, 0x42);
        /* The config is still the persistent definition. */
        g_autofree char *next = format_def(domain_obj_get_persistent_def(obj));
        g_assert_cmpstr(next, ==, persistent_xml);

        g_assert_true(
            domain_job_async_resume(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "reconnect", &err));
        g_assert_no_error(err);
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);

        /* Stopped: the status goes, the definition is the persistent one. */
        domain_obj_set_inactive(obj, "shutdown");
        g_assert_true(domain_obj_delete_status(obj, fx->state_dir, &err));
        g_autofree char *now = format_def(obj->def);
        g_assert_cmpstr(now, ==, persistent_xml);
    }
    {
        g_autoptr(DomainObjLocked) obj =
            domain_list_find_by_name(list, "tmp", DOMAIN_LOOKUP_LOCKED, &err);
        g_assert_no_error(err);
        g_assert_false(obj->persistent);
        g_assert_cmpint(domain_obj_get_id(obj), ==, 3);
        g_assert_cmpint(domain_obj_get_state(obj, NULL), ==, DOMAIN_STATE_PAUSED);
        g_assert_cmpint(domain_job_get_async(obj), ==, DOMAIN_ASYNC_JOB_NONE);
    }
    g_assert_cmpuint(domain_list_count_filtered(list, DOMAIN_LIST_ACTIVE), ==, 1);
    g_assert_cmpuint(count_files(fx->state_dir), ==, 1);

    /* The original list's web1 still holds its async job. */
    domain_obj_lock(web1);
    domain_job_end_async(web1, DOMAIN_JOB_STATUS_CANCELED);
    domain_obj_unlock(web1);
}

static void test_status_bad_file_skipped(ObjFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    write_file(fx->state_dir, "broken.xml", "<domstatus state='running'>");
    g_assert_cmpint(domain_list_load_status(fx->list, fx->state_dir, NULL, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpuint(domain_list_count(fx->list), ==, 0);
}

static void test_names_and_filters(ObjFixture *fx, gconstpointer data)
{
    g_autoptr(DomainObj) a =
        add_domain(fx->list, "a-run-persistent", UUID_A, DOMAIN_LIST_ADD_PERSISTENT);
    g_autoptr(DomainObj) b = add_domain(fx->list, "b-off", UUID_B, DOMAIN_LIST_ADD_PERSISTENT);
    g_autoptr(DomainObj) c = add_domain(fx->list, "c-run-transient", UUID_C, 0);

    domain_obj_lock(a);
    domain_obj_set_active(a, 1, 10, "/run/a");
    domain_obj_unlock(a);
    domain_obj_lock(c);
    domain_obj_set_active(c, 2, 11, "/run/c");
    domain_obj_unlock(c);

    g_auto(GStrv) all = domain_list_get_names(fx->list, DOMAIN_LIST_ACTIVE | DOMAIN_LIST_INACTIVE);
    g_auto(GStrv) active = domain_list_get_names(fx->list, DOMAIN_LIST_ACTIVE);
    g_auto(GStrv) inactive = domain_list_get_names(fx->list, DOMAIN_LIST_INACTIVE);
    g_auto(GStrv) transient = domain_list_get_names(fx->list, DOMAIN_LIST_TRANSIENT);
    g_auto(GStrv) active_persistent =
        domain_list_get_names(fx->list, DOMAIN_LIST_ACTIVE | DOMAIN_LIST_PERSISTENT);

    g_assert_cmpuint(g_strv_length(all), ==, 3);
    g_assert_cmpstr(all[0], ==, "a-run-persistent");
    g_assert_cmpstr(all[1], ==, "b-off");
    g_assert_cmpstr(all[2], ==, "c-run-transient");
    g_assert_cmpuint(g_strv_length(active), ==, 2);
    g_assert_cmpuint(g_strv_length(inactive), ==, 1);
    g_assert_cmpstr(inactive[0], ==, "b-off");
    g_assert_cmpuint(g_strv_length(transient), ==, 1);
    g_assert_cmpstr(transient[0], ==, "c-run-transient");
    g_assert_cmpuint(g_strv_length(active_persistent), ==, 1);
    g_assert_cmpstr(active_persistent[0], ==, "a-run-persistent");
    g_assert_cmpuint(domain_list_count_filtered(fx->list, DOMAIN_LIST_INACTIVE), ==, 1);
    g_assert_cmpuint(domain_list_count_filtered(fx->list, 0), ==, 3);
}

static int destroyed_monitors;
static int destroyed_privs;

static void monitor_free(gpointer p)
{
    g_assert_cmpstr(p, ==, "monitor");
    destroyed_monitors++;
}

static void priv_free(gpointer p)
{
    destroyed_privs++;
    g_free(p);
}

static void test_refcounts(ObjFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    DomainObj *obj = add_domain(fx->list, "web1", UUID_A, 0);
    static char monitor[] = "monitor";

    destroyed_monitors = destroyed_privs = 0;
    domain_obj_lock(obj);
    domain_obj_set_monitor(obj, monitor, monitor_free);
    g_assert_true(domain_obj_get_monitor(obj) == monitor);
    g_assert_true(domain_obj_steal_monitor(obj) == monitor);
    g_assert_null(domain_obj_get_monitor(obj));
    domain_obj_set_monitor(obj, monitor, monitor_free);
    domain_obj_set_private(obj, g_strdup("priv"), priv_free);
    domain_obj_unlock(obj);

    /* Lookups add references, end_api drops them. */
    DomainObj *found = domain_list_find_by_name(fx->list, "web1", DOMAIN_LOOKUP_LOCKED, &err);
    g_assert_no_error(err);
    g_assert_cmpint(g_atomic_int_get(&obj->refs), ==, 3);
    domain_obj_end_api(&found);
    g_assert_null(found);
    domain_obj_end_api(&found); /* NULL is fine */
    g_assert_cmpint(g_atomic_int_get(&obj->refs), ==, 2);

    /* Freeing the list keeps the objects others hold. */
    domain_list_free(g_steal_pointer(&fx->list));
    fx->list = domain_list_new();
    g_assert_cmpint(g_atomic_int_get(&obj->refs), ==, 1);
    g_assert_cmpint(destroyed_monitors, ==, 0);
    domain_obj_lock(obj);
    g_assert_cmpstr(domain_obj_name(obj), ==, "web1");
    domain_obj_unlock(obj);
    domain_obj_unref(obj);
    g_assert_cmpint(destroyed_monitors, ==, 1);
    g_assert_cmpint(destroyed_privs, ==, 1);
}

/* Iteration works on a snapshot while another thread removes domains. */
#define ITER_DOMAINS 64

typedef struct {
    DomainList *list;
    gint done;
} RemoverData;

static gpointer remover_thread(gpointer opaque)
{
    RemoverData *rd = opaque;

    for (int i = 0; i < ITER_DOMAINS; i++) {
        g_autofree char *name = g_strdup_printf("dom%02d", i);
        g_autoptr(DomainObjLocked) obj =
            domain_list_find_by_name(rd->list, name, DOMAIN_LOOKUP_LOCKED, NULL);

        g_assert_nonnull(obj);
        domain_list_remove(rd->list, obj);
        if (i % 8 == 0)
            g_thread_yield();
    }
    g_atomic_int_set(&rd->done, 1);
    return NULL;
}

static gboolean count_visible(DomainObj *obj, gpointer opaque)
{
    guint *n = opaque;

    /* Called locked, never for a removed object. */
    g_assert_cmpuint(domain_obj_locks_held(), ==, 1);
    g_assert_false(domain_obj_is_removed(obj));
    (*n)++;
    return TRUE;
}

static gboolean stop_after_one(DomainObj *obj, gpointer opaque)
{
    guint *n = opaque;

    (*n)++;
    return FALSE;
}

static void test_iterate_while_removing(ObjFixture *fx, gconstpointer data)
{
    RemoverData rd = { fx->list, 0 };
    guint prev = ITER_DOMAINS;

    for (int i = 0; i < ITER_DOMAINS; i++) {
        g_autofree char *name = g_strdup_printf("dom%02d", i);
        g_autofree char *uuid = g_strdup_printf("%08x-0000-4000-8000-000000000000", i + 1);
        g_autoptr(DomainObj) obj = add_domain(fx->list, name, uuid, 0);
    }
    guint n = 0;
    domain_list_foreach(fx->list, stop_after_one, &n);
    g_assert_cmpuint(n, ==, 1);

    GThread *thread = g_thread_new("remover", remover_thread, &rd);
    while (!g_atomic_int_get(&rd.done)) {
        g_autoptr(GPtrArray) snap = domain_list_snapshot(fx->list);
        n = 0;
        domain_list_foreach(fx->list, count_visible, &n);
        /* Domains only go away. */
        g_assert_cmpuint(n, <=, prev);
        g_assert_cmpuint(snap->len, <=, ITER_DOMAINS);
        prev = n;
    }
    g_thread_join(thread);
    n = 0;
    domain_list_foreach(fx->list, count_visible, &n);
    g_assert_cmpuint(n, ==, 0);
    g_assert_cmpuint(domain_list_count(fx->list), ==, 0);
}

/* Taking the list lock while holding an object lock is a bug: critical. */
static void test_lock_order(ObjFixture *fx, gconstpointer data)
{
    if (g_test_subprocess()) {
        g_autoptr(DomainObj) obj = add_domain(fx->list, "web1", UUID_A, 0);

        /* this process aborts below, before its teardown could remove it */
        remove_tree(fx->dir);
        domain_obj_lock(obj);
        domain_list_count(fx->list);
        domain_obj_unlock(obj);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*domain list locked while this thread holds 1 domain object "
                              "lock(s)*list lock, then object lock*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) \
    g_test_add("/domain-obj/" path, ObjFixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("add-lookup-remove", test_add_lookup_remove);
    ADD("find-by-id", test_find_by_id);
    ADD("duplicates", test_duplicates);
    ADD("config-roundtrip", test_config_roundtrip);
    ADD("config-bad-files-skipped", test_config_bad_files_skipped);
    ADD("status-roundtrip", test_status_roundtrip);
    ADD("status-bad-file-skipped", test_status_bad_file_skipped);
    ADD("names-and-filters", test_names_and_filters);
    ADD("refcounts", test_refcounts);
    ADD("iterate-while-removing", test_iterate_while_removing);
    ADD("lock-order", test_lock_order);
#undef ADD
    return g_test_run();
}
