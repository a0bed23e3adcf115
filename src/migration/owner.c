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

static void owner_cleanup(QemuDriver *drv, const unsigned char *uuid)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj = migration_find(drv, uuid, &err);
    DomainMigrationPhase phase;

    if (!obj)
        return;
    if (domain_job_get_async(obj) != DOMAIN_ASYNC_JOB_MIGRATION_OUT)
        return;
    if (obj->job.async_owner != 0) {
        FLOG_WARN("domain '%s': its migration's client went away during a phase; the phase "
                  "finishes on its own",
                  domain_obj_name(obj));
        return;
    }
    phase = domain_job_get_phase(obj);
    if (phase == DOMAIN_MIGRATION_PHASE_PERFORM3_DONE)
        FLOG_WARN("domain '%s': the client went away after the migration completed and before "
                  "it was confirmed: the guest stays paused here",
                  domain_obj_name(obj));
    else
        FLOG_INFO("domain '%s': the client went away in phase '%s': migration cancelled",
                  domain_obj_name(obj), domain_migration_phase_to_string(phase));
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
        owner_cleanup(drv, g_array_index(mine, MigrationOwner, i).uuid);
}
