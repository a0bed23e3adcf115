/*
 * iothread.h: the process's one I/O thread.
 *
 * A dedicated thread runs a GMainContext; everything that does socket I/O
 * (listeners, client connections, QMP monitors, stream relays, timers)
 * attaches its sources to iothread_context().  Nothing on that thread ever
 * blocks: workers block, waiting on condition variables for what the I/O
 * thread hands them.
 *
 *     if (!iothread_start(error))          // counted: every start has a stop
 *         return FALSE;
 *     GSource *src = g_unix_fd_source_new(fd, G_IO_IN);
 *     g_source_set_callback(src, (GSourceFunc)on_readable, obj, NULL);
 *     g_source_attach(src, iothread_context());
 *     ...
 *     iothread_invoke_sync(do_something_there, obj, error);  // from a worker
 *     ...
 *     iothread_stop();                     // the last stop joins the thread
 *
 * Starts and stops are counted, so that independent users in one process
 * (the daemon, the client library, a test) share the thread: the first
 * iothread_start() creates it, the matching last iothread_stop() quits its
 * loop, joins it and frees the context.  Sources still attached then are
 * destroyed (their destroy notifies run on the stopping thread); functions
 * queued with iothread_invoke() that did not run yet are dropped the same
 * way, and a worker waiting in iothread_invoke_sync() gets an error.  Stop
 * the users of the thread (close the monitors, ...) before the last stop.
 *
 * Starting again after the last stop creates a new thread and context.
 * Do not keep references of your own to the context: the last stop relies
 * on freeing it to drop what was still queued.
 */
#pragma once

#include <glib.h>

typedef void (*IOThreadFunc)(gpointer data);

/* Starts the I/O thread, or counts one more user of the running one. */
gboolean iothread_start(GError **error);

/* Counts one user less; the last one quits the loop, joins the thread and
 * frees the context.  Must not be called on the I/O thread itself (that is
 * a bug, logged as such, and ignored). */
void iothread_stop(void);

/* TRUE between the first start and the last stop. */
gboolean iothread_is_running(void);

/* The I/O thread's context (borrowed: valid until the last stop), or NULL
 * when the thread is not running. */
GMainContext *iothread_context(void);

/* TRUE when the caller runs on the I/O thread. */
gboolean iothread_is_current(void);

/* Queues func(data) to run on the I/O thread, always later (never inline,
 * even when called on the I/O thread), in the order queued.  destroy (may
 * be NULL) is called on data afterwards, or instead when func never runs
 * (the thread stopped first).  Returns FALSE, having called destroy, when
 * the thread is not running. */
gboolean iothread_invoke(IOThreadFunc func, gpointer data, GDestroyNotify destroy);

/* Runs func(data) on the I/O thread and waits until it has returned.  On
 * the I/O thread itself it runs func directly.  Fails (FERRY_ERR_INTERNAL)
 * when the thread is not running or stopped before running func.  func
 * must not wait for the caller: the caller waits for it. */
gboolean iothread_invoke_sync(IOThreadFunc func, gpointer data, GError **error);
