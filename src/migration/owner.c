/*
 * owner.c: which client connection began each outgoing migration, so that
 * a client that goes away between phases does not leave the source's
 * migration-out job (held from Begin3 to Confirm3) behind.
 *
 * Begin3 records (driver, connection, domain); the end of the job (a
 * failed Perform3, Confirm3) forgets it.  When the connection closes, each
 * migration it left between phases ends: in phase begin3 nothing happened
 * yet, the job simply ends; in perform3_done QEMU completed but nobody
 * confirmed, so whether the guest runs on the destination is unknown: the
 * source stays paused (never two running copies) and the job ends, for the
 * user to decide (libvirt does the same).  A phase in progress on another
 * thread is left to that thread.
 *
 * Peer-to-peer migrations (p2p.c) belong to the daemon, not to the client
 * that asked for them: the source daemon runs Begin3 to Confirm3 on a
 * private QEMU driver connection whose id comes from
 * migration_owner_daemon_conn_id(), a range no client connection gets.
 * The client's own connection owns nothing, so its going away ends
 * nothing; the private connection is closed when the sequence is over,
 * which ends a job the sequence could not end itself (as above).
 *
 * A daemon that died leaves no owner at all: the status XML gives the
 * next daemon the job back (domain_job_restore_async) with nobody to end
 * it.  migration_recover() ends such jobs at startup, by phase: up to
 * Perform3 the migration is undone (QEMU's migration cancelled if it
 * still runs, the guest resumed if it ran; the destination's incoming
 * QEMU went with the connection that prepared it); once QEMU completed,
 * whether the destination runs the guest is unknown: it stays paused
 * here, as above.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.owner"

#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/log.h"

typedef struct {
    QemuDriver *drv;
    guint64 conn;
    unsigned char uuid[FERRY_UUID_BUFLEN];
} MigrationOwner;

static GMutex owners_lock;
static GArray *owners; /* MigrationOwner */

/* The daemon's own connection ids: far above any client's (clients count
 * up from 1). */
#define MIGRATION_OWNER_DAEMON_BASE (G_GUINT64_CONSTANT(1) << 62)
static guint64 daemon_conn_next; /* atomic */

guint64 migration_owner_daemon_conn_id(void)
{
    return MIGRATION_OWNER_DAEMON_BASE + __atomic_add_fetch(&daemon_conn_next, 1, __ATOMIC_RELAXED);
}

gboolean migration_owner_is_daemon(guint64 conn)
{
    return conn >= MIGRATION_OWNER_DAEMON_BASE;
}

void migration_owner_add(QemuDriver *drv, guint64 conn, const unsigned char *uuid)
{
    MigrationOwner o = { .drv = drv, .conn = conn };

    memcpy(o.uuid, uuid, FERRY_UUID_BUFLEN);
    g_mutex_lock(&owners_lock);
    if (!owners)
        owners = g_array_new(FALSE, TRUE, sizeof(MigrationOwner));
    g_array_append_val(owners, o);
    g_mutex_unlock(&owners_lock);
}

void migration_owner_remove(QemuDriver *drv, const unsigned char *uuid)
{
    g_mutex_lock(&owners_lock);
    for (guint i = 0; owners && i < owners->len;) {
        MigrationOwner *o = &g_array_index(owners, MigrationOwner, i);

        if (o->drv == drv && memcmp(o->uuid, uuid, FERRY_UUID_BUFLEN) == 0)
            g_array_remove_index_fast(owners, i);
        else
            i++;
    }
    g_mutex_unlock(&owners_lock);
}

static void owner_cleanup(QemuDriver *drv, guint64 conn, const unsigned char *uuid)
{
    const char *who = migration_owner_is_daemon(conn) ? "peer-to-peer sequence" : "client";
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj = migration_find(drv, uuid, &err);
    DomainMigrationPhase phase;

    if (!obj)
        return;
    if (domain_job_get_async(obj) != DOMAIN_ASYNC_JOB_MIGRATION_OUT)
        return;
    if (obj->job.async_owner != 0) {
        FLOG_WARN("domain '%s': its migration's %s went away during a phase; the phase "
                  "finishes on its own",
                  domain_obj_name(obj), who);
        return;
    }
    phase = domain_job_get_phase(obj);
    if (phase == DOMAIN_MIGRATION_PHASE_PERFORM3_DONE)
        FLOG_WARN("domain '%s': the %s went away after the migration completed and before "
                  "it was confirmed: the guest stays paused here",
                  domain_obj_name(obj), who);
    else
        FLOG_INFO("domain '%s': the %s went away in phase '%s': migration cancelled",
                  domain_obj_name(obj), who, domain_migration_phase_to_string(phase));
    domain_job_end_async(obj, DOMAIN_JOB_STATUS_CANCELED);
    migration_save_status(drv, obj);
}

void migration_connection_closed(QemuDriver *drv, guint64 conn)
{
    g_autoptr(GArray) mine = g_array_new(FALSE, TRUE, sizeof(MigrationOwner));

    g_mutex_lock(&owners_lock);
    for (guint i = 0; owners && i < owners->len;) {
        MigrationOwner *o = &g_array_index(owners, MigrationOwner, i);

        if (o->drv == drv && o->conn == conn) {
            g_array_append_val(mine, *o);
            g_array_remove_index_fast(owners, i);
        } else {
            i++;
        }
    }
    g_mutex_unlock(&owners_lock);
    for (guint i = 0; i < mine->len; i++)
        owner_cleanup(drv, conn, g_array_index(mine, MigrationOwner, i).uuid);
}

/* ---------------------------------------------------------------- after a restart */

static gboolean recover_collect(DomainObj *obj, gpointer opaque)
{
    GArray *uuids = opaque;

    if (domain_job_get_async(obj) == DOMAIN_ASYNC_JOB_MIGRATION_OUT && obj->job.async_owner == 0)
        g_array_append_vals(uuids, obj->def->uuid, 1);
    return TRUE;
}

static void recover_one(QemuDriver *drv, const unsigned char *uuid)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj = migration_find(drv, uuid, &err);
    DomainMigrationPhase phase;
    const char *name;

    if (!obj || domain_job_get_async(obj) != DOMAIN_ASYNC_JOB_MIGRATION_OUT ||
        obj->job.async_owner != 0)
        return;
    name = domain_obj_name(obj);
    phase = domain_job_get_phase(obj);
    if (!domain_job_async_resume(obj, DOMAIN_ASYNC_JOB_MIGRATION_OUT, "migrationRecover", &err)) {
        FLOG_WARN("domain '%s': cannot recover its migration: %s", name, err->message);
        return;
    }
    switch (phase) {
    case DOMAIN_MIGRATION_PHASE_NONE:
    case DOMAIN_MIGRATION_PHASE_BEGIN3:
    case DOMAIN_MIGRATION_PHASE_PERFORM3:
    case DOMAIN_MIGRATION_PHASE_CONFIRM3_CANCELLED:
        FLOG_WARN("domain '%s': a migration in phase '%s' was left by a daemon that ended: "
                  "undoing it",
                  name, domain_migration_phase_to_string(phase));
        migration_src_rollback(drv, obj, &err);
        if (err)
            FLOG_WARN("domain '%s': %s", name, err->message);
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_CANCELED);
        break;
    default:
        FLOG_WARN("domain '%s': a migration in phase '%s' was left by a daemon that ended; "
                  "whether the destination runs the guest is unknown: it stays paused here",
                  name, domain_migration_phase_to_string(phase));
        domain_job_end_async(obj, DOMAIN_JOB_STATUS_FAILED);
        break;
    }
    migration_save_status(drv, obj);
}

void migration_recover(QemuDriver *drv)
{
    g_autoptr(GArray) uuids = g_array_new(FALSE, FALSE, FERRY_UUID_BUFLEN);

    domain_list_foreach(drv->domains, recover_collect, uuids);
    for (guint i = 0; i < uuids->len; i++)
        recover_one(drv, (const unsigned char *)uuids->data + (gsize)i * FERRY_UUID_BUFLEN);
}
