/*
 * iothread.c: the process's one I/O thread.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "util.iothread"

#include "error.h"
#include "log.h"
#include "iothread.h"

/* Set on the I/O thread for its whole life. */
static _Thread_local gboolean iothread_self;

/* The thread, its loop and context, and how many users it has.  Changes
 * only under iothread_lock; iothread_ctx is read under it too, so that a
 * source is never attached to a context being freed. */
static GMutex iothread_lock;
static guint iothread_users;
static GThread *iothread_thread;
static GMainContext *iothread_ctx;

/* What the thread runs.  quit is set (atomically) by the last stop, which
 * then wakes the context: unlike g_main_loop_quit(), this cannot be lost
 * when it comes before the thread started iterating. */
typedef struct {
    GMainContext *ctx;
    gint quit;
} IOThreadLoop;

static IOThreadLoop *iothread_loop;

static gpointer iothread_main(gpointer opaque)
{
    IOThreadLoop *loop = opaque;

    iothread_self = TRUE;
    g_main_context_push_thread_default(loop->ctx);
    FLOG_DEBUG("I/O thread running");
    while (!g_atomic_int_get(&loop->quit))
        g_main_context_iteration(loop->ctx, TRUE);
    g_main_context_pop_thread_default(loop->ctx);
    FLOG_DEBUG("I/O thread leaving");
    iothread_self = FALSE;
    return NULL;
}

gboolean iothread_start(GError **error)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&iothread_lock);

    if (iothread_users > 0) {
        iothread_users++;
        return TRUE;
    }

    g_autoptr(GError) err = NULL;
    IOThreadLoop *loop = g_new0(IOThreadLoop, 1);
    GThread *thread;

    loop->ctx = g_main_context_new();
    thread = g_thread_try_new("ferry-io", iothread_main, loop, &err);
    if (!thread) {
        g_main_context_unref(loop->ctx);
        g_free(loop);
        ferry_fail(error, FERRY_ERR_SYSTEM, "cannot start the I/O thread: %s", err->message);
        return FALSE;
    }

    iothread_thread = thread;
    iothread_ctx = loop->ctx;
    iothread_loop = loop;
    iothread_users = 1;
    return TRUE;
}

void iothread_stop(void)
{
    GThread *thread;
    IOThreadLoop *loop;

    if (iothread_self) {
        FLOG_ERROR("BUG: iothread_stop() called on the I/O thread; ignored");
        return;
    }

    g_mutex_lock(&iothread_lock);
    if (iothread_users == 0) {
        g_mutex_unlock(&iothread_lock);
        FLOG_ERROR("BUG: iothread_stop() without a matching iothread_start()");
        return;
    }
    if (--iothread_users > 0) {
        g_mutex_unlock(&iothread_lock);
        return;
    }
    thread = g_steal_pointer(&iothread_thread);
    loop = g_steal_pointer(&iothread_loop);
    iothread_ctx = NULL;
    g_mutex_unlock(&iothread_lock);

    g_atomic_int_set(&loop->quit, TRUE);
    g_main_context_wakeup(loop->ctx);
    g_thread_join(thread);
    /* Destroys whatever is still attached; destroy notifies run here. */
    g_main_context_unref(loop->ctx);
    g_free(loop);
}

gboolean iothread_is_running(void)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&iothread_lock);

    return iothread_users > 0;
}

GMainContext *iothread_context(void)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&iothread_lock);

    return iothread_ctx;
}

gboolean iothread_is_current(void)
{
    return iothread_self;
}

/* ---------------------------------------------------------------- invoke */

typedef struct {
    IOThreadFunc func;
    gpointer data;
    GDestroyNotify destroy;
} IOThreadCall;

static gboolean iothread_call_dispatch(gpointer opaque)
{
    IOThreadCall *call = opaque;

    call->func(call->data);
    return G_SOURCE_REMOVE;
}

static void iothread_call_free(gpointer opaque)
{
    IOThreadCall *call = opaque;

    if (call->destroy)
        call->destroy(call->data);
    g_free(call);
}

/* Attaches an idle source running func; FALSE (nothing attached, nothing
 * freed) when the thread is not running. */
static gboolean iothread_attach_idle(GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&iothread_lock);
    GSource *src;

    if (!iothread_ctx)
        return FALSE;
    src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, func, data, destroy);
    g_source_set_static_name(src, "ferry-iothread-invoke");
    g_source_attach(src, iothread_ctx);
    g_source_unref(src);
    return TRUE;
}

gboolean iothread_invoke(IOThreadFunc func, gpointer data, GDestroyNotify destroy)
{
    IOThreadCall *call = g_new0(IOThreadCall, 1);

    call->func = func;
    call->data = data;
    call->destroy = destroy;
    if (!iothread_attach_idle(iothread_call_dispatch, call, iothread_call_free)) {
        FLOG_WARN("I/O thread not running: queued function dropped");
        iothread_call_free(call);
        return FALSE;
    }
    return TRUE;
}

/* A synchronous call: shared by the waiter and the source, freed by the
 * last of them. */
typedef struct {
    gint refs;
    IOThreadFunc func;
    gpointer data;
    GMutex lock;
    GCond cond;
    gboolean ran;
    gboolean done;
} IOThreadSyncCall;

static void iothread_sync_call_unref(IOThreadSyncCall *call)
{
    if (!g_atomic_int_dec_and_test(&call->refs))
        return;
    g_mutex_clear(&call->lock);
    g_cond_clear(&call->cond);
    g_free(call);
}

static gboolean iothread_sync_dispatch(gpointer opaque)
{
    IOThreadSyncCall *call = opaque;

    call->func(call->data);
    g_mutex_lock(&call->lock);
    call->ran = TRUE;
    g_mutex_unlock(&call->lock);
    return G_SOURCE_REMOVE;
}

/* Runs when the source goes, after dispatch or instead of it. */
static void iothread_sync_done(gpointer opaque)
{
    IOThreadSyncCall *call = opaque;

    g_mutex_lock(&call->lock);
    call->done = TRUE;
    g_cond_signal(&call->cond);
    g_mutex_unlock(&call->lock);
    iothread_sync_call_unref(call);
}

gboolean iothread_invoke_sync(IOThreadFunc func, gpointer data, GError **error)
{
    IOThreadSyncCall *call;
    gboolean ran;

    if (iothread_self) {
        func(data);
        return TRUE;
    }

    call = g_new0(IOThreadSyncCall, 1);
    call->refs = 2;
    call->func = func;
    call->data = data;
    g_mutex_init(&call->lock);
    g_cond_init(&call->cond);

    if (!iothread_attach_idle(iothread_sync_dispatch, call, iothread_sync_done)) {
        call->refs = 1;
        iothread_sync_call_unref(call);
        ferry_fail(error, FERRY_ERR_INTERNAL, "the I/O thread is not running");
        return FALSE;
    }

    g_mutex_lock(&call->lock);
    while (!call->done)
        g_cond_wait(&call->cond, &call->lock);
    ran = call->ran;
    g_mutex_unlock(&call->lock);
    iothread_sync_call_unref(call);

    if (!ran) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "the I/O thread stopped before running the function");
        return FALSE;
    }
    return TRUE;
}
