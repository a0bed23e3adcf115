/*
 * driver.c: the common part of every driver connection.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "driver.core"

#include "driver/driver.h"
#include "util/error.h"
#include "util/log.h"

void driver_domain_clear(DriverDomain *dom)
{
    g_clear_pointer(&dom->name, g_free);
    memset(dom->uuid, 0, sizeof(dom->uuid));
    dom->id = -1;
}

void driver_domain_copy(DriverDomain *dst, const DriverDomain *src)
{
    g_free(dst->name);
    dst->name = g_strdup(src->name);
    memcpy(dst->uuid, src->uuid, sizeof(dst->uuid));
    dst->id = src->id;
}

void driver_conn_init(DriverConn *conn, const DriverOps *ops, const char *uri)
{
    conn->ops = ops;
    conn->refs = 1;
    conn->uri = g_strdup(uri);
}

DriverConn *driver_conn_ref(DriverConn *conn)
{
    g_atomic_int_inc(&conn->refs);
    return conn;
}

void driver_conn_unref(DriverConn *conn)
{
    if (!conn || !g_atomic_int_dec_and_test(&conn->refs))
        return;
    /* The driver frees its whole connection, common part included, after
     * it has used it; uri is ours. */
    char *uri = g_steal_pointer(&conn->uri);
    conn->ops->close(conn);
    g_free(uri);
}

gboolean driver_no_support(DriverConn *conn, const char *op, GError **error)
{
    ferry_fail(error, FERRY_ERR_NO_SUPPORT, "the %s driver does not support %s",
               conn && conn->ops ? conn->ops->name : "unknown", op);
    return FALSE;
}

static void driver_domain_array_clear_elem(gpointer data)
{
    driver_domain_clear(data);
}

void driver_domain_array_free(GArray *domains)
{
    if (!domains)
        return;
    g_array_set_clear_func(domains, driver_domain_array_clear_elem);
    g_array_unref(domains);
}

/* The domain events ferry delivers, by virsh's names for them. */
static const struct {
    DriverEventId id;
    const char *name;
} driver_event_names[] = {
    { DRIVER_EVENT_LIFECYCLE, "lifecycle" },
    { DRIVER_EVENT_MIGRATION_ITERATION, "migration-iteration" },
    { DRIVER_EVENT_JOB_COMPLETED, "job-completed" },
};

const char *driver_event_id_to_string(int event_id)
{
    for (gsize i = 0; i < G_N_ELEMENTS(driver_event_names); i++) {
        if ((int)driver_event_names[i].id == event_id)
            return driver_event_names[i].name;
    }
    return NULL;
}

gboolean driver_event_id_check(int event_id, GError **error)
{
    g_autoptr(GString) known = NULL;

    if (driver_event_id_to_string(event_id))
        return TRUE;
    known = g_string_new(NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(driver_event_names); i++)
        g_string_append_printf(known, "%s%s (%d)", i ? ", " : "", driver_event_names[i].name,
                               (int)driver_event_names[i].id);
    ferry_fail(error, FERRY_ERR_NO_SUPPORT, "domain event id %d is not supported; ferry has %s",
               event_id, known->str);
    return FALSE;
}
