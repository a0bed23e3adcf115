/*
 * event.c: domain event callbacks of the public API.
 *
 * A registration goes to the connection's driver (event_register_lifecycle
 * or, for the other event ids, event_register_any:
 * the remote driver runs callbacks on its RPC client's event thread, the
 * embedded QEMU driver on its event dispatcher).  On each event the
 * callback gets a FerryDomain made for the call.
 *
 * The connection during a callback: the callback's FerryConnect is
 * borrowed by the registration (a registration does not keep a connection
 * open: closing it drops its callbacks, as the drivers' close waits for a
 * running callback).  So an event first takes a reference only if the
 * connection is still alive; should that reference turn out to be the last
 * one (the user closed the connection meanwhile), the close runs on a
 * thread of its own, since a driver cannot close from its own event
 * thread.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LIBFERRY
#define FERRY_LOG_MODULE "libferry.event"

#include "libferry/libferry_priv.h"
#include "util/error.h"
#include "util/log.h"

typedef struct {
    FerryConnect *conn; /* borrowed, see above */
    FerryDomainEventCallback cb; /* lifecycle */
    int event_id; /* FerryDomainEventID */
    FerryDomainEventGenericCallback any_cb; /* of event_id's type */
    void *opaque;
    void (*free_opaque)(void *opaque);
} EventReg;

static void event_reg_free(gpointer data)
{
    EventReg *reg = data;

    if (reg->free_opaque)
        reg->free_opaque(reg->opaque);
    g_free(reg);
}

/* A reference on conn unless it is already closing (refs 0). */
static gboolean connect_ref_if_alive(FerryConnect *conn)
{
    int refs = g_atomic_int_get(&conn->refs);

    while (refs > 0) {
        if (g_atomic_int_compare_and_exchange(&conn->refs, refs, refs + 1))
            return TRUE;
        refs = g_atomic_int_get(&conn->refs);
    }
    return FALSE;
}

static gpointer connect_close_thread(gpointer data)
{
    libferry_connect_unref(data);
    return NULL;
}

/* Drops the reference an event took on conn (connect_ref_if_alive). */
static void connect_unref_from_event(FerryConnect *conn)
{
    /* Drops our reference unless it is the last one. */
    for (;;) {
        int refs = g_atomic_int_get(&conn->refs);

        if (refs > 1) {
            if (g_atomic_int_compare_and_exchange(&conn->refs, refs, refs - 1))
                return;
            continue;
        }
        /* Ours is the last reference: close elsewhere. */
        GThread *t = g_thread_try_new("ferry-close", connect_close_thread, conn, NULL);

        if (t) {
            g_thread_unref(t);
            return;
        }
        FLOG_WARN("closing connection %p from its event thread", (void *)conn);
        libferry_connect_unref(conn);
        return;
    }
}

static void event_lifecycle(DriverConn *driver, const DriverDomain *ident, int event, int detail,
                            gpointer opaque)
{
    EventReg *reg = opaque;
    FerryConnect *conn = reg->conn;
    FerryDomain *dom;

    if (!connect_ref_if_alive(conn))
        return;
    dom = libferry_domain_new(conn, ident);
    reg->cb(conn, dom, event, detail, reg->opaque);
    ferry_domain_free(dom);
    connect_unref_from_event(conn);
}

/* The other event ids: reg->any_cb has the type of reg->event_id. */
static void event_any(DriverConn *driver, const DriverDomain *ident, const DriverEvent *ev,
                      gpointer opaque)
{
    EventReg *reg = opaque;
    FerryConnect *conn = reg->conn;
    FerryDomain *dom;

    if ((int)ev->id != reg->event_id || !connect_ref_if_alive(conn))
        return;
    dom = libferry_domain_new(conn, ident);
    switch (ev->id) {
    case DRIVER_EVENT_LIFECYCLE:
        ((FerryDomainEventCallback)reg->any_cb)(conn, dom, ev->event, ev->detail, reg->opaque);
        break;
    case DRIVER_EVENT_MIGRATION_ITERATION:
        ((FerryDomainEventMigrationIterationCallback)reg->any_cb)(conn, dom, ev->iteration,
                                                                  reg->opaque);
        break;
    case DRIVER_EVENT_JOB_COMPLETED: {
        int n = 0;
        FerryTypedParameter *params = libferry_params_export(ev->stats, &n);

        ((FerryDomainEventJobCompletedCallback)reg->any_cb)(conn, dom, params, n, reg->opaque);
        ferry_typed_params_free(params, n);
        break;
    }
    }
    ferry_domain_free(dom);
    connect_unref_from_event(conn);
}

/* Registers reg (filled but for conn) for dom; frees it on failure. */
static int event_register(FerryConnect *conn, FerryDomain *dom, EventReg *reg)
{
    g_auto(DriverDomain) ident = DRIVER_DOMAIN_INIT;
    GError *err = NULL;
    int id;

    if (dom) {
        g_mutex_lock(&dom->lock);
        driver_domain_copy(&ident, &dom->ident);
        g_mutex_unlock(&dom->lock);
    }
    reg->conn = conn;
    if (reg->cb)
        id = conn->driver->ops->event_register_lifecycle(
            conn->driver, dom ? &ident : NULL, event_lifecycle, reg, event_reg_free, &err);
    else
        id = conn->driver->ops->event_register_any(conn->driver, reg->event_id, dom ? &ident : NULL,
                                                   event_any, reg, event_reg_free, &err);
    if (id < 0) {
        /* Not registered: the caller keeps opaque. */
        g_free(reg);
        return libferry_fail_with(err);
    }
    return id;
}

int ferry_connect_domain_event_register(FerryConnect *conn, FerryDomain *dom,
                                        FerryDomainEventCallback cb, void *opaque,
                                        void (*free_opaque)(void *opaque))
{
    EventReg *reg;

    LIBFERRY_CHECK_CONN(conn, -1);
    if (!cb)
        return libferry_fail_arg(__func__, "callback is NULL");
    if (dom && dom->conn != conn)
        return libferry_fail_arg(__func__, "the domain belongs to another connection");
    LIBFERRY_NEED_OP(conn, event_register_lifecycle, "domain events", -1);
    reg = g_new0(EventReg, 1);
    reg->cb = cb;
    reg->event_id = FERRY_DOMAIN_EVENT_ID_LIFECYCLE;
    reg->opaque = opaque;
    reg->free_opaque = free_opaque;
    return event_register(conn, dom, reg);
}

int ferry_connect_domain_event_register_any(FerryConnect *conn, FerryDomain *dom, int event_id,
                                            FerryDomainEventGenericCallback cb, void *opaque,
                                            void (*free_opaque)(void *opaque))
{
    GError *err = NULL;
    EventReg *reg;

    LIBFERRY_CHECK_CONN(conn, -1);
    if (!cb)
        return libferry_fail_arg(__func__, "callback is NULL");
    if (dom && dom->conn != conn)
        return libferry_fail_arg(__func__, "the domain belongs to another connection");
    if (!driver_event_id_check(event_id, &err))
        return libferry_fail_with(err);
    LIBFERRY_NEED_OP(conn, event_register_any, "domain events", -1);
    reg = g_new0(EventReg, 1);
    reg->event_id = event_id;
    reg->any_cb = cb;
    reg->opaque = opaque;
    reg->free_opaque = free_opaque;
    return event_register(conn, dom, reg);
}

const char *ferry_domain_event_id_name(int event_id)
{
    return driver_event_id_to_string(event_id);
}

int ferry_connect_domain_event_deregister(FerryConnect *conn, int callback_id)
{
    GError *err = NULL;

    LIBFERRY_CHECK_CONN(conn, -1);
    LIBFERRY_NEED_OP(conn, event_deregister, "domain events", -1);
    if (!conn->driver->ops->event_deregister(conn->driver, callback_id, &err))
        return libferry_fail_with(err);
    return 0;
}

/* ---------------------------------------------------------------- names */

/* virsh's words, per event type and detail. */
static const char *const event_names[] = {
    "Defined", "Undefined", "Started",     "Suspended", "Resumed",
    "Stopped", "Shutdown",  "PMSuspended", "Crashed",
};
G_STATIC_ASSERT(G_N_ELEMENTS(event_names) == FERRY_DOMAIN_EVENT_LAST);

static const char *const defined_details[] = { "Added", "Updated", "Renamed", "Snapshot" };
static const char *const undefined_details[] = { "Removed", "Renamed" };
static const char *const started_details[] = { "Booted", "Migrated", "Restored", "Snapshot",
                                               "Event wakeup" };
static const char *const suspended_details[] = {
    "Paused",   "Migrated",  "I/O Error", "Watchdog",        "Restored",
    "Snapshot", "API error", "Post-copy", "Post-copy Error",
};
static const char *const resumed_details[] = { "Unpaused", "Migrated", "Snapshot", "Post-copy",
                                               "Post-copy Error" };
static const char *const stopped_details[] = { "Shutdown", "Destroyed", "Crashed", "Migrated",
                                               "Saved",    "Failed",    "Snapshot" };
static const char *const shutdown_details[] = { "Finished", "Finished after guest request",
                                                "Finished after host request" };
static const char *const pmsuspended_details[] = { "Memory", "Disk" };
static const char *const crashed_details[] = { "Panicked", "Crashloaded" };

typedef struct {
    const char *const *names;
    int n;
} DetailTable;

#define DETAILS(tbl) \
    { \
        tbl, (int)G_N_ELEMENTS(tbl) \
    }
static const DetailTable detail_tables[] = {
    DETAILS(defined_details),   DETAILS(undefined_details),   DETAILS(started_details),
    DETAILS(suspended_details), DETAILS(resumed_details),     DETAILS(stopped_details),
    DETAILS(shutdown_details),  DETAILS(pmsuspended_details), DETAILS(crashed_details),
};
G_STATIC_ASSERT(G_N_ELEMENTS(detail_tables) == FERRY_DOMAIN_EVENT_LAST);

const char *ferry_domain_event_type_name(int event)
{
    if (event < 0 || event >= FERRY_DOMAIN_EVENT_LAST)
        return "unknown";
    return event_names[event];
}

const char *ferry_domain_event_detail_name(int event, int detail)
{
    if (event < 0 || event >= FERRY_DOMAIN_EVENT_LAST || detail < 0 ||
        detail >= detail_tables[event].n)
        return "unknown";
    return detail_tables[event].names[detail];
}
