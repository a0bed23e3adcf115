/*
 * qemu_driver_event.c: the QEMU driver's domain events.
 *
 * Every state change of a domain goes through qemu_driver_set_state() or
 * qemu_driver_set_inactive() (and define/undefine through
 * qemu_driver_event_queue()): they change the state and derive the
 * lifecycle event(s) that the change means from the old and new state and
 * reason, as libvirt names them (virDomainEventType and its details).  An
 * event is only appended to a queue there (the domain lock is held); one
 * dispatcher thread per driver takes them off in order and calls the
 * registered callbacks with no lock held.  The other events (migration
 * iteration, job completed) are queued the same way, by the migration's
 * hooks, and delivered in the same order to their own registrations.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "qemu.event"

#include "driver/qemu_driver_priv.h"
#include "util/error.h"
#include "util/log.h"

/* One registration. */
typedef struct {
    gint refs;
    int id;
    gpointer owner;
    int event_id; /* DriverEventId */
    gboolean all; /* every domain, else uuid's */
    unsigned char uuid[FERRY_UUID_BUFLEN];
    QemuEventFunc cb;
    gpointer opaque;
    GDestroyNotify free_opaque;
    guint64 since; /* events queued before it registered are not its */
} QemuEventReg;

/* One queued event. */
typedef struct {
    QemuDomainRef dom;
    DriverEvent ev; /* ev.stats points at stats */
    TypedParams *stats;
    guint64 seq; /* 1, 2, ... */
} QemuEventItem;

struct _QemuDriverEvents {
    GMutex lock;
    GCond cond; /* queue grew, dispatcher went idle, stop */
    GQueue queue; /* QemuEventItem */
    GPtrArray *regs; /* QemuEventReg */
    int next_id;
    gboolean busy; /* the dispatcher is delivering an item */
    gboolean stop;
    guint64 queued; /* items ever queued */
    guint64 done; /* items delivered */
    GThread *thread;
};

static QemuEventReg *event_reg_ref(QemuEventReg *reg)
{
    g_atomic_int_inc(&reg->refs);
    return reg;
}

static void event_reg_unref(gpointer data)
{
    QemuEventReg *reg = data;

    if (!reg || !g_atomic_int_dec_and_test(&reg->refs))
        return;
    if (reg->free_opaque)
        reg->free_opaque(reg->opaque);
    g_free(reg);
}

static void event_item_free(gpointer data)
{
    QemuEventItem *item = data;

    qemu_domain_ref_clear(&item->dom);
    typed_params_free(item->stats);
    g_free(item);
}

static gpointer event_dispatcher(gpointer data)
{
    QemuDriver *drv = data;
    QemuDriverEvents *ev = drv->lifecycle;

    g_mutex_lock(&ev->lock);
    for (;;) {
        QemuEventItem *item;
        g_autoptr(GPtrArray) targets = NULL;

        while (!ev->stop && g_queue_is_empty(&ev->queue))
            g_cond_wait(&ev->cond, &ev->lock);
        item = g_queue_pop_head(&ev->queue);
        if (!item)
            break; /* stopped and drained */
        /* The callbacks of this moment, referenced: a deregistration
         * meanwhile waits for this item (busy), then frees. */
        targets = g_ptr_array_new_with_free_func(event_reg_unref);
        for (guint i = 0; i < ev->regs->len; i++) {
            QemuEventReg *reg = g_ptr_array_index(ev->regs, i);

            if (item->seq > reg->since && reg->event_id == (int)item->ev.id &&
                (reg->all || memcmp(reg->uuid, item->dom.uuid, FERRY_UUID_BUFLEN) == 0))
                g_ptr_array_add(targets, event_reg_ref(reg));
        }
        ev->busy = TRUE;
        g_mutex_unlock(&ev->lock);

        for (guint i = 0; i < targets->len; i++) {
            QemuEventReg *reg = g_ptr_array_index(targets, i);

            reg->cb(drv, &item->dom, &item->ev, reg->opaque);
        }
        event_item_free(item);
        g_clear_pointer(&targets, g_ptr_array_unref);

        g_mutex_lock(&ev->lock);
        ev->busy = FALSE;
        ev->done++;
        g_cond_broadcast(&ev->cond);
    }
    g_mutex_unlock(&ev->lock);
    return NULL;
}

gboolean qemu_driver_events_init(QemuDriver *drv, GError **error)
{
    QemuDriverEvents *ev = g_new0(QemuDriverEvents, 1);

    g_mutex_init(&ev->lock);
    g_cond_init(&ev->cond);
    g_queue_init(&ev->queue);
    ev->regs = g_ptr_array_new_with_free_func(event_reg_unref);
    ev->next_id = 1;
    drv->lifecycle = ev;
    ev->thread = g_thread_try_new("qemu-events", event_dispatcher, drv, error);
    if (!ev->thread) {
        qemu_driver_events_free(drv);
        return FALSE;
    }
    return TRUE;
}

void qemu_driver_events_free(QemuDriver *drv)
{
    QemuDriverEvents *ev = drv->lifecycle;

    if (!ev)
        return;
    if (ev->thread) {
        /* A callback that closes the driver would wait for itself. */
        g_return_if_fail(g_thread_self() != ev->thread);
        g_mutex_lock(&ev->lock);
        ev->stop = TRUE;
        g_cond_broadcast(&ev->cond);
        g_mutex_unlock(&ev->lock);
        g_thread_join(ev->thread);
    }
    g_queue_clear_full(&ev->queue, event_item_free);
    g_ptr_array_unref(ev->regs);
    g_cond_clear(&ev->cond);
    g_mutex_clear(&ev->lock);
    g_free(ev);
    drv->lifecycle = NULL;
}

/* ---------------------------------------------------------------- registration */

int qemu_driver_event_register(QemuDriver *drv, gpointer owner, int event_id,
                               const unsigned char *uuid, QemuEventFunc cb, gpointer opaque,
                               GDestroyNotify free_opaque)
{
    QemuDriverEvents *ev = drv->lifecycle;
    QemuEventReg *reg = g_new0(QemuEventReg, 1);
    int id;

    reg->refs = 1;
    reg->owner = owner;
    reg->event_id = event_id;
    reg->all = uuid == NULL;
    if (uuid)
        memcpy(reg->uuid, uuid, FERRY_UUID_BUFLEN);
    reg->cb = cb;
    reg->opaque = opaque;
    reg->free_opaque = free_opaque;
    g_mutex_lock(&ev->lock);
    id = reg->id = ev->next_id++;
    reg->since = ev->queued;
    g_ptr_array_add(ev->regs, reg);
    g_mutex_unlock(&ev->lock);
    FLOG_DEBUG("%s callback %d registered", driver_event_id_to_string(event_id), id);
    return id;
}

/* Waits (ev->lock held) until the item being delivered, if any, is done,
 * so that a callback removed now never runs after its removal returns.
 * Not on the dispatcher itself (a callback deregistering). */
static void event_wait_idle(QemuDriverEvents *ev)
{
    if (g_thread_self() == ev->thread)
        return;
    while (ev->busy)
        g_cond_wait(&ev->cond, &ev->lock);
}

gboolean qemu_driver_event_deregister(QemuDriver *drv, gpointer owner, int id, GError **error)
{
    QemuDriverEvents *ev = drv->lifecycle;
    QemuEventReg *found = NULL;

    g_mutex_lock(&ev->lock);
    for (guint i = 0; i < ev->regs->len; i++) {
        QemuEventReg *reg = g_ptr_array_index(ev->regs, i);

        if (reg->id == id && reg->owner == owner) {
            found = g_ptr_array_steal_index(ev->regs, i);
            break;
        }
    }
    if (found)
        event_wait_idle(ev);
    g_mutex_unlock(&ev->lock);
    if (!found) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "could not find event callback %d for deletion",
                   id);
        return FALSE;
    }
    event_reg_unref(found);
    FLOG_DEBUG("event callback %d deregistered", id);
    return TRUE;
}

guint qemu_driver_event_deregister_owner(QemuDriver *drv, gpointer owner)
{
    QemuDriverEvents *ev = drv->lifecycle;
    g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(event_reg_unref);

    g_mutex_lock(&ev->lock);
    for (guint i = 0; i < ev->regs->len;) {
        QemuEventReg *reg = g_ptr_array_index(ev->regs, i);

        if (reg->owner == owner)
            g_ptr_array_add(gone, g_ptr_array_steal_index(ev->regs, i));
        else
            i++;
    }
    if (gone->len)
        event_wait_idle(ev);
    g_mutex_unlock(&ev->lock);
    return gone->len;
}

void qemu_driver_event_flush(QemuDriver *drv)
{
    QemuDriverEvents *ev = drv->lifecycle;
    guint64 want;

    g_mutex_lock(&ev->lock);
    want = ev->queued;
    if (g_thread_self() != ev->thread) {
        while (ev->done < want && !ev->stop)
            g_cond_wait(&ev->cond, &ev->lock);
    }
    g_mutex_unlock(&ev->lock);
}

/* ---------------------------------------------------------------- emitting */

/* Queues item (its ev filled) for obj (locked). */
static void event_queue_item(QemuDriver *drv, DomainObj *obj, QemuEventItem *item)
{
    QemuDriverEvents *ev = drv->lifecycle;

    item->dom.name = g_strdup(domain_obj_name(obj));
    memcpy(item->dom.uuid, obj->def->uuid, FERRY_UUID_BUFLEN);
    item->dom.id = domain_obj_get_id(obj);
    g_mutex_lock(&ev->lock);
    item->seq = ++ev->queued;
    g_queue_push_tail(&ev->queue, item);
    g_cond_broadcast(&ev->cond);
    g_mutex_unlock(&ev->lock);
}

void qemu_driver_event_queue(QemuDriver *drv, DomainObj *obj, int event, int detail)
{
    QemuEventItem *item;

    if (!drv->lifecycle)
        return;
    item = g_new0(QemuEventItem, 1);
    item->ev.id = DRIVER_EVENT_LIFECYCLE;
    item->ev.event = event;
    item->ev.detail = detail;
    FLOG_DEBUG("domain '%s': lifecycle event %d detail %d", domain_obj_name(obj), event, detail);
    event_queue_item(drv, obj, item);
}

void qemu_driver_event_queue_iteration(QemuDriver *drv, DomainObj *obj, int pass)
{
    QemuEventItem *item;

    if (!drv->lifecycle)
        return;
    item = g_new0(QemuEventItem, 1);
    item->ev.id = DRIVER_EVENT_MIGRATION_ITERATION;
    item->ev.iteration = pass;
    FLOG_DEBUG("domain '%s': migration iteration %d", domain_obj_name(obj), pass);
    event_queue_item(drv, obj, item);
}

void qemu_driver_event_queue_job_completed(QemuDriver *drv, DomainObj *obj)
{
    DomainJobInfo info = { 0 };
    g_autoptr(GError) err = NULL;
    g_autoptr(TypedParams) stats = NULL;
    QemuEventItem *item;
    int type;

    if (!drv->lifecycle)
        return;
    domain_job_get_info(obj, TRUE, &info);
    if (!(stats = qemu_driver_job_info_params(&info, &type, &err))) {
        FLOG_WARN("domain '%s': no job-completed event: %s", domain_obj_name(obj), err->message);
        return;
    }
    item = g_new0(QemuEventItem, 1);
    item->ev.id = DRIVER_EVENT_JOB_COMPLETED;
    item->stats = g_steal_pointer(&stats);
    item->ev.stats = item->stats;
    FLOG_DEBUG("domain '%s': job completed (%zu statistics)", domain_obj_name(obj),
               typed_params_count(item->stats));
    event_queue_item(drv, obj, item);
}

/* The detail of a state's reason string, by table: {reason, detail}. */
typedef struct {
    const char *reason;
    int detail;
} QemuEventDetail;

static int event_detail(const QemuEventDetail *tbl, gsize n, const char *reason, int fallback)
{
    for (gsize i = 0; i < n; i++) {
        if (g_strcmp0(tbl[i].reason, reason) == 0)
            return tbl[i].detail;
    }
    return fallback;
}

#define DETAIL(tbl, reason, fallback) event_detail(tbl, G_N_ELEMENTS(tbl), reason, fallback)

static const QemuEventDetail started_details[] = {
    { "booted", QEMU_LIFECYCLE_STARTED_BOOTED },
    { "migration", QEMU_LIFECYCLE_STARTED_MIGRATED },
    { "migrated", QEMU_LIFECYCLE_STARTED_MIGRATED },
    { "restored", QEMU_LIFECYCLE_STARTED_RESTORED },
    { "from-snapshot", QEMU_LIFECYCLE_STARTED_FROM_SNAPSHOT },
    { "wakeup", QEMU_LIFECYCLE_STARTED_WAKEUP },
};
static const QemuEventDetail suspended_details[] = {
    { "user", QEMU_LIFECYCLE_SUSPENDED_PAUSED },
    { "migration", QEMU_LIFECYCLE_SUSPENDED_MIGRATED },
    { "ioerror", QEMU_LIFECYCLE_SUSPENDED_IOERROR },
    { "watchdog", QEMU_LIFECYCLE_SUSPENDED_WATCHDOG },
    { "restored", QEMU_LIFECYCLE_SUSPENDED_RESTORED },
    { "from-snapshot", QEMU_LIFECYCLE_SUSPENDED_FROM_SNAPSHOT },
    { "api-error", QEMU_LIFECYCLE_SUSPENDED_API_ERROR },
    { "postcopy", QEMU_LIFECYCLE_SUSPENDED_POSTCOPY },
    { "postcopy-failed", QEMU_LIFECYCLE_SUSPENDED_POSTCOPY_FAILED },
};
static const QemuEventDetail resumed_details[] = {
    { "unpaused", QEMU_LIFECYCLE_RESUMED_UNPAUSED },
    { "migrated", QEMU_LIFECYCLE_RESUMED_MIGRATED },
    { "migration-canceled", QEMU_LIFECYCLE_RESUMED_MIGRATED },
    { "from-snapshot", QEMU_LIFECYCLE_RESUMED_FROM_SNAPSHOT },
    { "postcopy", QEMU_LIFECYCLE_RESUMED_POSTCOPY },
    { "postcopy-failed", QEMU_LIFECYCLE_RESUMED_POSTCOPY_FAILED },
};
static const QemuEventDetail stopped_details[] = {
    { "shutdown", QEMU_LIFECYCLE_STOPPED_SHUTDOWN },
    { "destroyed", QEMU_LIFECYCLE_STOPPED_DESTROYED },
    { "crashed", QEMU_LIFECYCLE_STOPPED_CRASHED },
    { "migrated", QEMU_LIFECYCLE_STOPPED_MIGRATED },
    { "saved", QEMU_LIFECYCLE_STOPPED_SAVED },
    { "failed", QEMU_LIFECYCLE_STOPPED_FAILED },
    { "from-snapshot", QEMU_LIFECYCLE_STOPPED_FROM_SNAPSHOT },
};

static gboolean state_is_up(DomainState state)
{
    return state != DOMAIN_STATE_SHUTOFF && state != DOMAIN_STATE_NOSTATE;
}

/* The events a change from (old_state, old_reason) to the object's state
 * means (obj locked). */
static void event_for_change(QemuDriver *drv, DomainObj *obj, DomainState old_state,
                             const char *old_reason)
{
    const char *reason = NULL;
    DomainState state = domain_obj_get_state(obj, &reason);
    gboolean starting =
        old_state == DOMAIN_STATE_PAUSED && g_strcmp0(old_reason, "starting-up") == 0;

    /* "starting-up" is the driver's own: nobody has seen the domain run. */
    if (state == DOMAIN_STATE_PAUSED && g_strcmp0(reason, "starting-up") == 0)
        return;
    if (!state_is_up(state)) {
        if (state_is_up(old_state) && !starting)
            qemu_driver_event_queue(drv, obj, QEMU_LIFECYCLE_STOPPED,
                                    DETAIL(stopped_details, reason, QEMU_LIFECYCLE_STOPPED_FAILED));
        return;
    }
    if (starting || !state_is_up(old_state)) {
        qemu_driver_event_queue(drv, obj, QEMU_LIFECYCLE_STARTED,
                                DETAIL(started_details, reason, QEMU_LIFECYCLE_STARTED_BOOTED));
        /* Started paused by request: libvirt says so as well. */
        if (state == DOMAIN_STATE_PAUSED && g_strcmp0(reason, "migration") != 0)
            qemu_driver_event_queue(
                drv, obj, QEMU_LIFECYCLE_SUSPENDED,
                DETAIL(suspended_details, reason, QEMU_LIFECYCLE_SUSPENDED_PAUSED));
        return;
    }
    if (state == old_state)
        return;
    if (state == DOMAIN_STATE_PAUSED)
        qemu_driver_event_queue(drv, obj, QEMU_LIFECYCLE_SUSPENDED,
                                DETAIL(suspended_details, reason, QEMU_LIFECYCLE_SUSPENDED_PAUSED));
    else if (state == DOMAIN_STATE_RUNNING)
        qemu_driver_event_queue(drv, obj, QEMU_LIFECYCLE_RESUMED,
                                DETAIL(resumed_details, reason, QEMU_LIFECYCLE_RESUMED_UNPAUSED));
}

void qemu_driver_set_state(QemuDriver *drv, DomainObj *obj, DomainState state, const char *reason)
{
    const char *r = NULL;
    DomainState old = domain_obj_get_state(obj, &r);
    g_autofree char *old_reason = g_strdup(r);

    domain_obj_set_state(obj, state, reason);
    event_for_change(drv, obj, old, old_reason);
}

void qemu_driver_set_inactive(QemuDriver *drv, DomainObj *obj, const char *reason)
{
    const char *r = NULL;
    DomainState old = domain_obj_get_state(obj, &r);
    g_autofree char *old_reason = g_strdup(r);

    domain_obj_set_inactive(obj, reason);
    event_for_change(drv, obj, old, old_reason);
}
