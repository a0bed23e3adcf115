/*
 * test-migration-recovery.c: the source's daemon restarts in the middle
 * of a migration (real QEMU, the fixture of migration-testutils.h).  A
 * crash is played in-process: the source driver forgets who began the
 * migration (a dead daemon's memory), closes (its QEMU keeps running),
 * and a new driver opens on the same root and recovers what the status
 * file says was in flight, as ferryd does at startup (qemu_driver_open,
 * then migration_recover).  QEMU's own migration is driven over its QMP
 * socket meanwhile, as the dead daemon's Perform3 left it.
 *
 *   perform-active     QEMU still migrating: cancelled, the guest runs on
 *                      at the source; the destination's QEMU ends.
 *   perform-completed  QEMU completed and Perform3 had answered: the
 *                      source stays paused (whether the destination runs
 *                      the guest is unknown there); Finish3 starts it on
 *                      the destination: one copy runs.
 *   confirm            Confirm3 had begun (the source QEMU was ending in
 *                      the background): the source QEMU is killed and the
 *                      domain shut off (migrated).
 *   finish             the destination dies inside Finish3, after the
 *                      guest lost its autodestroy: the new daemon kills
 *                      it, Confirm3 (cancelled) resumes the source.
 * The destination's crash is played with qemu_process_detach (closing a
 * driver destroys its autodestroy domains, which a crash does not).
 */
#include <config.h>

#include <string.h>

#include <json-c/json.h>

#include "driver/domain_obj.h"
#include "driver/qemu_monitor.h"
#include "driver/qemu_process.h"
#include "migration/migration_priv.h"
#include "util/error.h"
#include "tests/migration-testutils.h"
#include "tests/testproc.h"

/* Begin3 and Prepare3 by hand: the source's job in phase begin3, the
 * destination listening at *uri. */
static void begin_prepare(Fixture *fx, const DriverDomain *dom, TypedParams **params, GBytes **c1,
                          char **uri)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autoptr(GBytes) c2 = NULL;
    g_autofree char *xml = NULL;

    *params = mig_params(fx, dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, dom, *params, MIGRATION_LIVE, c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(*params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, *c1, MIGRATION_LIVE, &c2, uri, &err));
    g_assert_no_error(err);
}

/* The source's migration job moves to phase (its status file too), as
 * the dead daemon's phases would have left it. */
static void set_phase(Fixture *fx, const DriverDomain *dom, DomainMigrationPhase phase)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *state_dir = g_build_filename(fx->root_a, "run", "ferry", "qemu", NULL);
    g_autoptr(DomainObj) obj = domain_list_find_by_uuid(qemu_driver_get_domains(fx->a), dom->uuid,
                                                        DOMAIN_LOOKUP_LOCKED, &err);

    g_assert_no_error(err);
    g_assert_true(domain_job_set_phase(obj, phase, &err));
    g_assert_no_error(err);
    g_assert_true(domain_obj_save_status(obj, state_dir, &err));
    g_assert_no_error(err);
    domain_obj_unlock(obj);
}

/* The source daemon "dies": it forgets who began the migration, and its
 * driver closes; its QEMU keeps running. */
static void source_dies(Fixture *fx, const DriverDomain *dom)
{
    migration_owner_remove(fx->a, dom->uuid);
    driver_conn_unref(g_steal_pointer(&fx->src));
    qemu_driver_close(g_steal_pointer(&fx->a));
    g_assert_cmpuint(processes_naming(fx->root_a), ==, 1);
}

/* ... and a new one starts on the same root. */
static void source_restarts(Fixture *fx)
{
    fx->a = open_driver(fx->root_a, HOST_A_UUID, "hostA", fx->kvm, fx->lease_dir, NULL);
    migration_recover(fx->a);
    fx->src = qemu_driver_conn_open(fx->a, 11, "qemu:///system");
}

static QemuMonitor *source_qmp(Fixture *fx)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *sock =
        g_build_filename(fx->root_a, "run", "ferry", "qemu", "mig1", "qmp.sock", NULL);
    QemuMonitor *mon = qemu_monitor_open_path(sock, WAIT_MS, NULL, NULL, &err);

    g_assert_no_error(err);
    return mon;
}

static char *qmp_status(QemuMonitor *mon, unsigned long long *transferred)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_object) q = qmp_query_migrate(mon, &err);
    json_object *st = NULL, *ram = NULL, *t = NULL;

    g_assert_no_error(err);
    if (transferred) {
        *transferred = 0;
        if (json_object_object_get_ex(q, "ram", &ram) &&
            json_object_object_get_ex(ram, "transferred", &t))
            *transferred = (unsigned long long)json_object_get_int64(t);
    }
    return g_strdup(json_object_object_get_ex(q, "status", &st) ? json_object_get_string(st) : "");
}

/* What the dead daemon's Perform3 had started: QEMU migrating to uri
 * (bandwidth bytes/s, 0: unlimited); returns once it moves data, or once
 * it completed with wait_completed. */
static void qemu_migrates(Fixture *fx, const char *uri, long long bandwidth,
                          gboolean wait_completed)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QemuMonitor) mon = source_qmp(fx);
    g_autoptr(json_object) p = json_object_new_object();
    gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

    json_object_object_add(p, "max-bandwidth",
                           json_object_new_int64(bandwidth ? bandwidth : G_MAXINT32));
    g_assert_true(qmp_migrate_set_parameters(mon, p, &err));
    g_assert_no_error(err);
    g_assert_true(qmp_migrate(mon, uri, &err));
    g_assert_no_error(err);
    for (;;) {
        unsigned long long transferred = 0;
        g_autofree char *status = qmp_status(mon, &transferred);

        if (wait_completed ? g_str_equal(status, "completed")
                           : g_str_equal(status, "active") && transferred > 0)
            break;
        g_assert_cmpstr(status, !=, "failed");
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10000);
    }
    qemu_monitor_close(mon);
}

static int job_type(DriverConn *conn, const DriverDomain *dom, unsigned int flags)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TypedParams) stats = NULL;
    int type = -1;

    g_assert_true(conn->ops->get_job_stats(conn, dom, flags, &type, &stats, &err));
    g_assert_no_error(err);
    return type;
}

static void state_reason(DriverConn *conn, const DriverDomain *dom, int *state, int *reason)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(conn->ops->get_state(conn, dom, state, reason, 0, &err));
    g_assert_no_error(err);
}

static void test_perform_active(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) none = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) c1 = NULL, c4 = NULL;
    g_autofree char *uri = NULL;
    g_autofree char *serial = serial_path(fx->root_a);
    guint tick = 0, checks = 0;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    begin_prepare(fx, &dom, &params, &c1, &uri);
    set_phase(fx, &dom, DOMAIN_MIGRATION_PHASE_PERFORM3);
    source_dies(fx, &dom);
    qemu_migrates(fx, uri, 1024 * 1024, FALSE);
    source_restarts(fx);

    /* cancelled, the guest runs on here, the job is over */
    g_assert_cmpint(state_of(fx->src, &dom), ==, DRIVER_STATE_RUNNING);
    g_assert_cmpint(job_type(fx->src, &dom, 0), ==, DRIVER_JOB_NONE);
    g_assert_cmpint(job_type(fx->src, &dom, DRIVER_JOB_STATS_COMPLETED), ==, DRIVER_JOB_CANCELLED);
    g_assert_true(serial_last(serial, &tick, &checks));
    wait_serial(serial, tick, checks, NULL, NULL);
    /* suspend and resume work again (no job in the way) */
    g_assert_true(fx->src->ops->suspend(fx->src, &dom, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->resume(fx->src, &dom, &err));
    g_assert_no_error(err);

    /* the client, its Perform3 gone, cancels the destination */
    typed_params_add_string(params, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    (void)fx->dst->ops->migrate_finish3(fx->dst, params, NULL, MIGRATION_LIVE, TRUE, &none, &c4,
                                        NULL);
    g_assert_false(domain_exists(fx->dst, "mig1"));
    wait_processes_gone(fx->root_b);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
}

static void test_perform_completed(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) c1 = NULL, c4 = NULL;
    g_autofree char *uri = NULL;
    int state = -1, reason = -1;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    begin_prepare(fx, &dom, &params, &c1, &uri);
    /* Perform3 had answered (cookie 3 went to the client) */
    set_phase(fx, &dom, DOMAIN_MIGRATION_PHASE_PERFORM3_DONE);
    source_dies(fx, &dom);
    qemu_migrates(fx, uri, 0, TRUE);
    source_restarts(fx);

    /* the migration completed and its Perform3 may have answered: the
     * source stays paused (reason migration), its job is over */
    state_reason(fx->src, &dom, &state, &reason);
    g_assert_cmpint(state, ==, DRIVER_STATE_PAUSED);
    g_assert_cmpint(job_type(fx->src, &dom, 0), ==, DRIVER_JOB_NONE);
    g_assert_cmpuint(processes_naming(fx->root_a), ==, 1);
    g_test_message("source paused, reason %d", reason);

    /* Finish3 on the destination (the client came back with cookie 1:
     * the source's identity and lock state): the guest runs there */
    typed_params_add_string(params, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    g_assert_true(fx->dst->ops->migrate_finish3(fx->dst, params, c1, MIGRATION_LIVE, FALSE,
                                                &arrived, &c4, &err));
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    check_guest_moved(fx);
    /* one copy runs: the source's stays paused until the user destroys it */
    g_assert_cmpint(state_of(fx->src, &dom), ==, DRIVER_STATE_PAUSED);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

static void test_confirm(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) sparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    g_autofree char *xml = NULL, *uri = NULL;
    g_autoptr(TypedParams) dparams = NULL;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    sparams = typed_params_copy(params);
    typed_params_add_string(sparams, MIGRATION_PARAM_URI, uri, NULL);
    g_assert_true(fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, c2, MIGRATION_LIVE,
                                                 &c3, &err));
    g_assert_no_error(err);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_NAME, "mig1", NULL);
    g_assert_true(fx->dst->ops->migrate_finish3(fx->dst, dparams, c3, MIGRATION_LIVE, FALSE,
                                                &arrived, &c4, &err));
    g_assert_no_error(err);
    /* Confirm3 had begun when the daemon died */
    set_phase(fx, &dom, DOMAIN_MIGRATION_PHASE_CONFIRM3);
    source_dies(fx, &dom);
    source_restarts(fx);

    /* the guest runs on the destination: the source QEMU is gone, the
     * transient domain with it */
    g_assert_false(domain_exists(fx->src, "mig1"));
    wait_processes_gone(fx->root_a);
    g_assert_cmpint(state_of(fx->dst, &arrived), ==, DRIVER_STATE_RUNNING);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* The destination's daemon dies inside Finish3, after the guest lost
 * its autodestroy and before the status said the migration was over (the
 * window that matters: nothing else would kill it).  The new daemon kills
 * the incoming guest, and the client, whose Finish3 got no answer,
 * resumes the source with Confirm3 (cancelled): one copy runs. */
static void test_finish(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(TypedParams) sparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL;
    g_autofree char *xml = NULL, *uri = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autofree char *serial = serial_path(fx->root_a);
    guint tick = 0, checks = 0;

    if (!have_guest(fx))
        return;
    start_guest(fx, &dom, FALSE);
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = typed_params_copy(params);
    typed_params_remove(dparams, MIGRATION_PARAM_DEST_XML);
    typed_params_add_string(dparams, MIGRATION_PARAM_DEST_XML, xml, NULL);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    sparams = typed_params_copy(params);
    typed_params_add_string(sparams, MIGRATION_PARAM_URI, uri, NULL);
    g_assert_true(fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, c2, MIGRATION_LIVE,
                                                 &c3, &err));
    g_assert_no_error(err);
    {
        /* Finish3 had cleared autodestroy; the daemon dies (its QEMU
         * stays, the status still has the incoming job) */
        g_autoptr(DomainObj) obj = domain_list_find_by_uuid(qemu_driver_get_domains(fx->b),
                                                            dom.uuid, DOMAIN_LOOKUP_LOCKED, &err);

        g_assert_no_error(err);
        g_assert_true(qemu_process_clear_autodestroy(fx->b, obj, &err));
        g_assert_no_error(err);
        qemu_process_detach(fx->b, obj);
        domain_obj_unlock(obj);
    }
    driver_conn_unref(g_steal_pointer(&fx->dst));
    qemu_driver_close(g_steal_pointer(&fx->b));
    g_assert_cmpuint(processes_naming(fx->root_b), ==, 1);
    fx->b = open_driver(fx->root_b, HOST_B_UUID, "hostB", fx->kvm, fx->lease_dir, NULL);
    migration_recover(fx->b);
    fx->dst = qemu_driver_conn_open(fx->b, 12, "qemu:///system");
    g_assert_false(domain_exists(fx->dst, "mig1"));
    wait_processes_gone(fx->root_b);

    /* the client: Finish3 failed, so Confirm3 (cancelled) */
    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, NULL, NULL, MIGRATION_LIVE, TRUE, &err));
    g_assert_no_error(err);
    g_assert_cmpint(state_of(fx->src, &dom), ==, DRIVER_STATE_RUNNING);
    g_assert_true(serial_last(serial, &tick, &checks));
    wait_serial(serial, tick, checks, NULL, NULL);
    g_assert_true(fx->src->ops->destroy(fx->src, &dom, 0, &err));
    g_assert_no_error(err);
}

int main(int argc, char **argv)
{
    migration_test_init(&argc, &argv);
#define ADD(path, fn) \
    g_test_add("/migration/restart/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("perform-active", test_perform_active);
    ADD("perform-completed", test_perform_completed);
    ADD("confirm", test_confirm);
    ADD("finish", test_finish);
#undef ADD
    return g_test_run();
}
