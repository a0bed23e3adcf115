/*
 * test-iothread.c: the process's I/O thread: start/stop counting, the
 * context, "am I on it", invoking functions there.
 */
#include <config.h>

#include <unistd.h>

#include <glib-unix.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "util.iothread"

#include "util/error.h"
#include "util/log.h"
#include "util/iothread.h"

/* Safety net only: no test asserts a duration. */
#define SAFETY_NET_US (10 * G_USEC_PER_SEC)

typedef struct {
    GMutex lock;
    GCond cond;
    int count;
    gboolean on_iothread;
    GThread *thread;
} Probe;

static void probe_init(Probe *p)
{
    g_mutex_init(&p->lock);
    g_cond_init(&p->cond);
    p->count = 0;
    p->on_iothread = FALSE;
    p->thread = NULL;
}

static void probe_clear(Probe *p)
{
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->cond);
}

static void probe_hit(gpointer data)
{
    Probe *p = data;

    g_mutex_lock(&p->lock);
    p->count++;
    p->on_iothread = iothread_is_current();
    p->thread = g_thread_self();
    g_cond_broadcast(&p->cond);
    g_mutex_unlock(&p->lock);
}

static void probe_wait(Probe *p, int count)
{
    gint64 deadline = g_get_monotonic_time() + SAFETY_NET_US;

    g_mutex_lock(&p->lock);
    while (p->count < count) {
        if (!g_cond_wait_until(&p->cond, &p->lock, deadline))
            break;
    }
    g_assert_cmpint(p->count, >=, count);
    g_mutex_unlock(&p->lock);
}

static void test_start_stop(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(iothread_is_running());
    g_assert_null(iothread_context());
    g_assert_true(iothread_start(&err));
    g_assert_no_error(err);
    g_assert_true(iothread_is_running());
    g_assert_nonnull(iothread_context());
    g_assert_false(iothread_is_current());
    iothread_stop();
    g_assert_false(iothread_is_running());
    g_assert_null(iothread_context());

    /* Again, and right away: a stop racing the thread's start is fine. */
    for (int i = 0; i < 20; i++) {
        g_assert_true(iothread_start(NULL));
        iothread_stop();
    }
    g_assert_false(iothread_is_running());
}

static void test_counted(void)
{
    GMainContext *ctx;

    g_assert_true(iothread_start(NULL));
    ctx = iothread_context();
    g_assert_true(iothread_start(NULL));
    g_assert_true(iothread_context() == ctx);
    iothread_stop();
    g_assert_true(iothread_is_running());
    g_assert_true(iothread_context() == ctx);
    iothread_stop();
    g_assert_false(iothread_is_running());
}

static void test_invoke(void)
{
    Probe p;

    probe_init(&p);
    g_assert_true(iothread_start(NULL));
    g_assert_true(iothread_invoke(probe_hit, &p, NULL));
    probe_wait(&p, 1);
    g_assert_true(p.on_iothread);
    g_assert_true(p.thread != g_thread_self());
    g_assert_false(iothread_is_current());
    iothread_stop();
    probe_clear(&p);
}

typedef struct {
    Probe *probe;
    int seq;
    int *seen;
} OrderItem;

static void order_item_run(gpointer data)
{
    OrderItem *it = data;

    g_mutex_lock(&it->probe->lock);
    it->seen[it->probe->count++] = it->seq;
    g_cond_broadcast(&it->probe->cond);
    g_mutex_unlock(&it->probe->lock);
}

static void test_invoke_order(void)
{
    Probe p;
    int seen[16];
    OrderItem items[16];

    probe_init(&p);
    g_assert_true(iothread_start(NULL));
    for (int i = 0; i < 16; i++) {
        items[i] = (OrderItem){ .probe = &p, .seq = i, .seen = seen };
        g_assert_true(iothread_invoke(order_item_run, &items[i], NULL));
    }
    probe_wait(&p, 16);
    for (int i = 0; i < 16; i++)
        g_assert_cmpint(seen[i], ==, i);
    iothread_stop();
    probe_clear(&p);
}

static void count_destroy(gpointer data)
{
    g_atomic_int_inc((gint *)data);
}

static void noop(gpointer data)
{
}

static void test_invoke_destroy(void)
{
    gint destroyed = 0;
    Probe p;

    probe_init(&p);
    g_assert_true(iothread_start(NULL));
    g_assert_true(iothread_invoke(noop, &destroyed, count_destroy));
    g_assert_true(iothread_invoke(probe_hit, &p, NULL));
    probe_wait(&p, 1);
    /* Queued in order: the first one ran (and was destroyed) before. */
    g_assert_cmpint(g_atomic_int_get(&destroyed), ==, 1);
    iothread_stop();

    /* Not running: refused, data destroyed at once. */
    g_assert_false(iothread_invoke(noop, &destroyed, count_destroy));
    g_assert_cmpint(g_atomic_int_get(&destroyed), ==, 2);
    probe_clear(&p);
}

static void sync_target(gpointer data)
{
    gboolean *flag = data;

    g_assert_true(iothread_is_current());
    *flag = TRUE;
}

static void test_invoke_sync(void)
{
    g_autoptr(GError) err = NULL;
    gboolean flag = FALSE;

    g_assert_true(iothread_start(NULL));
    g_assert_true(iothread_invoke_sync(sync_target, &flag, &err));
    g_assert_no_error(err);
    g_assert_true(flag);
    iothread_stop();

    flag = FALSE;
    g_assert_false(iothread_invoke_sync(sync_target, &flag, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_UTIL), FERRY_ERR_INTERNAL);
    g_assert_false(flag);
}

/* invoke_sync from the I/O thread runs inline instead of deadlocking. */
static void nested_sync(gpointer data)
{
    Probe *p = data;
    gboolean flag = FALSE;

    g_assert_true(iothread_invoke_sync(sync_target, &flag, NULL));
    g_assert_true(flag);
    probe_hit(p);
}

static void test_invoke_sync_on_iothread(void)
{
    Probe p;

    probe_init(&p);
    g_assert_true(iothread_start(NULL));
    g_assert_true(iothread_invoke(nested_sync, &p, NULL));
    probe_wait(&p, 1);
    iothread_stop();
    probe_clear(&p);
}

/* Many workers invoking synchronously at once. */
static gpointer sync_worker(gpointer data)
{
    gint *counter = data;

    for (int i = 0; i < 200; i++) {
        gboolean flag = FALSE;

        g_assert_true(iothread_invoke_sync(sync_target, &flag, NULL));
        g_assert_true(flag);
        g_atomic_int_inc(counter);
    }
    return NULL;
}

static void test_invoke_sync_concurrent(void)
{
    GThread *threads[8];
    gint counter = 0;

    g_assert_true(iothread_start(NULL));
    for (int i = 0; i < 8; i++)
        threads[i] = g_thread_new("worker", sync_worker, &counter);
    for (int i = 0; i < 8; i++)
        g_thread_join(threads[i]);
    g_assert_cmpint(counter, ==, 8 * 200);
    iothread_stop();
}

/* A function queued but not yet run when the thread stops: its destroy
 * notify runs, and a synchronous waiter gets an error instead of hanging. */
typedef struct {
    GMutex lock;
    GCond cond;
    gboolean entered;
    gboolean release;
} Gate;

static void gate_block(gpointer data)
{
    Gate *g = data;

    g_mutex_lock(&g->lock);
    g->entered = TRUE;
    g_cond_broadcast(&g->cond);
    while (!g->release)
        g_cond_wait(&g->cond, &g->lock);
    g_mutex_unlock(&g->lock);
}

static void gate_open_later(gpointer data)
{
    /* Runs on the stopping thread as a destroy notify: nothing to do. */
}

typedef struct {
    gboolean ok;
    GError *err;
} SyncResult;

static gpointer sync_after_gate(gpointer data)
{
    SyncResult *r = data;
    gboolean flag = FALSE;

    r->ok = iothread_invoke_sync(sync_target, &flag, &r->err);
    return NULL;
}

static gpointer stopper(gpointer data)
{
    iothread_stop();
    return NULL;
}

static void test_stop_drops_queued(void)
{
    Gate g = { .entered = FALSE, .release = FALSE };
    gint destroyed = 0;
    SyncResult r = { FALSE, NULL };
    GThread *waiter;
    GThread *stop;

    g_mutex_init(&g.lock);
    g_cond_init(&g.cond);
    g_assert_true(iothread_start(NULL));

    /* Hold the I/O thread inside a function... */
    g_assert_true(iothread_invoke(gate_block, &g, gate_open_later));
    g_mutex_lock(&g.lock);
    while (!g.entered)
        g_cond_wait(&g.cond, &g.lock);
    g_mutex_unlock(&g.lock);

    /* ...queue behind it... */
    g_assert_true(iothread_invoke(noop, &destroyed, count_destroy));
    waiter = g_thread_new("sync-waiter", sync_after_gate, &r);

    /* ...and stop while those are queued (the stop waits for the gate).
     * The sleeps only make it likely that the waiter queued its call and
     * the stopper began before the gate opens; either order is checked
     * below, and nothing about time is asserted. */
    g_usleep(50 * 1000);
    stop = g_thread_new("stopper", stopper, NULL);
    g_usleep(50 * 1000);
    g_mutex_lock(&g.lock);
    g.release = TRUE;
    g_cond_broadcast(&g.cond);
    g_mutex_unlock(&g.lock);

    g_thread_join(stop);
    g_thread_join(waiter);
    g_assert_false(iothread_is_running());
    g_assert_cmpint(g_atomic_int_get(&destroyed), ==, 1);
    if (r.ok) {
        /* The waiter came late enough to run before the stop: allowed. */
        g_assert_no_error(r.err);
    } else {
        g_assert_error(r.err, ferry_error_quark(FERRY_FROM_UTIL), FERRY_ERR_INTERNAL);
        g_error_free(r.err);
    }
    g_mutex_clear(&g.lock);
    g_cond_clear(&g.cond);
}

/* Sources attached to the context run on the I/O thread. */
static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
    Probe *p = data;
    char c;

    g_assert_cmpint(read(fd, &c, 1), ==, 1);
    probe_hit(p);
    return G_SOURCE_CONTINUE;
}

static void test_fd_source(void)
{
    int fds[2];
    Probe p;
    GSource *src;

    probe_init(&p);
    g_assert_true(g_unix_open_pipe(fds, FD_CLOEXEC, NULL));
    g_assert_true(iothread_start(NULL));
    src = g_unix_fd_source_new(fds[0], G_IO_IN);
    g_source_set_callback(src, G_SOURCE_FUNC(on_readable), &p, NULL);
    g_source_attach(src, iothread_context());
    g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
    probe_wait(&p, 1);
    g_assert_true(p.on_iothread);
    g_source_destroy(src);
    g_source_unref(src);
    iothread_stop();
    close(fds[0]);
    close(fds[1]);
    probe_clear(&p);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/iothread/start-stop", test_start_stop);
    g_test_add_func("/iothread/counted", test_counted);
    g_test_add_func("/iothread/invoke", test_invoke);
    g_test_add_func("/iothread/invoke-order", test_invoke_order);
    g_test_add_func("/iothread/invoke-destroy", test_invoke_destroy);
    g_test_add_func("/iothread/invoke-sync", test_invoke_sync);
    g_test_add_func("/iothread/invoke-sync-on-iothread", test_invoke_sync_on_iothread);
    g_test_add_func("/iothread/invoke-sync-concurrent", test_invoke_sync_concurrent);
    g_test_add_func("/iothread/stop-drops-queued", test_stop_drops_queued);
    g_test_add_func("/iothread/fd-source", test_fd_source);
    return g_test_run();
}
