/*
 * qemu_monitor.h: an asynchronous QMP client.
 *
 * The monitor's socket lives on the I/O thread (util/iothread.h): it reads
 * and parses there, matches replies to commands by their "id", and
 * dispatches events to a callback.  Commands are issued from worker
 * threads, which wait (GCond, with a timeout) for their reply:
 *
 *     static const QemuMonitorCallbacks cbs = { .event = on_event, .eof = on_eof };
 *     g_autoptr(QemuMonitor) mon = qemu_monitor_open_path(sock, 10000, &cbs, dom, error);
 *     if (!mon)
 *         return FALSE;                       // greeting and qmp_capabilities done
 *     g_autoptr(json_object) ret = qmp_call(mon, "query-status", NULL, error);
 *     ...
 *     qemu_monitor_close(mon);                // no callback runs after this
 *
 * Protocol: one JSON object per line in each direction (QEMU ends lines
 * with "\r\n"; we send "\n").  Every command carries a unique id
 * ("ferry-N"); replies are matched by it, so commands from many threads may
 * be outstanding at once.  A reply without an id (QEMU could not parse a
 * request) goes to the oldest command sent.
 *
 * Failures, each reported once, with messages naming the command:
 *   - QMP "error" reply: FERRY_ERR_OPERATION_FAILED,
 *     "QMP command 'migrate' failed: GenericError: <desc>" (the class is
 *     also available through qmp_call_full()).
 *   - no reply in time: FERRY_ERR_OPERATION_TIMEOUT,
 *     "QMP command 'query-status' timed out after 30000 ms".  The monitor
 *     stays open; a command not yet written is withdrawn, and a late reply
 *     to a timed-out id is dropped.
 *   - the monitor closes: every outstanding command fails with the reason,
 *     and so does every later one.  Reasons: end of file (QEMU exited or
 *     closed the socket: FERRY_ERR_OPERATION_FAILED, the eof callback runs
 *     once), a message longer than the limit (FERRY_ERR_OVERFLOW), text that
 *     is not JSON or a message that is not an object or a bad greeting
 *     (FERRY_ERR_PARSE), a socket error (FERRY_ERR_SYSTEM): the error
 *     callback runs once with it.  Closing ourselves runs no callback.
 *
 * Message size limit: QEMU_MONITOR_MAX_MESSAGE (16 MiB) per message by
 * default.  The biggest reply ferry asks for is query-qmp-schema (about
 * 200 KiB on QEMU 7.2, growing slowly with each release); 16 MiB leaves
 * room for big query-block/query-named-block-nodes answers on hosts with
 * many disks, while a runaway or hostile QEMU cannot make us buffer more.
 *
 * Threads: callbacks run on the I/O thread, in the order QEMU sent the
 * messages, without any monitor lock held; an event that QEMU sends before
 * a reply has been dispatched when the command returns.  Callbacks may
 * close the monitor or drop references, but must not issue commands (those
 * are refused on the I/O thread: they would wait for the thread they run
 * on).  qemu_monitor_close() from a worker waits for a callback that is
 * running: do not call it while holding a lock that a callback takes.
 *
 * json-c objects are not thread-safe (their reference counts are not
 * atomic): a reply belongs to the calling thread alone; args must not be
 * used by another thread during the call; event data is borrowed for the
 * callback's duration (copy it with json_object_deep_copy() to hand it
 * to another thread).
 *
 * The object is refcounted; the last unref closes it.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

#define QEMU_MONITOR_MAX_MESSAGE (16 * 1024 * 1024)
#define QEMU_MONITOR_DEFAULT_TIMEOUT_MS 30000

typedef struct _QemuMonitor QemuMonitor;

typedef struct {
    /* An event: its name, its "data" (borrowed, never NULL: an empty object
     * when QEMU sent none) and its timestamp in microseconds since the
     * epoch (0 when absent). */
    void (*event)(QemuMonitor *mon, const char *name, json_object *data, gint64 timestamp_us,
                  gpointer opaque);
    /* QEMU closed the connection (it exited, most likely). */
    void (*eof)(QemuMonitor *mon, gpointer opaque);
    /* The monitor closed itself because of err (garbage, oversize, ...). */
    void (*error)(QemuMonitor *mon, const GError *err, gpointer opaque);
} QemuMonitorCallbacks;

/* Connects to the QMP socket at path (retrying while it does not exist yet
 * or refuses connections, as while QEMU starts), reads the greeting and
 * sends qmp_capabilities, all within timeout_ms (<= 0: the default).  The
 * I/O thread must be running; not callable on it.  callbacks is copied and
 * may be NULL; opaque is passed to them. */
QemuMonitor *qemu_monitor_open_path(const char *path, int timeout_ms,
                                    const QemuMonitorCallbacks *callbacks, gpointer opaque,
                                    GError **error);

/* The same over a connected socket, which the monitor takes (closed on
 * failure too).  name is used in messages (the socket path, say). */
QemuMonitor *qemu_monitor_open_fd(int fd, const char *name, int timeout_ms,
                                  const QemuMonitorCallbacks *callbacks, gpointer opaque,
                                  GError **error);

QemuMonitor *qemu_monitor_ref(QemuMonitor *mon);
void qemu_monitor_unref(QemuMonitor *mon);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuMonitor, qemu_monitor_unref)

/* Closes the socket: outstanding commands fail, no callback runs once this
 * returns.  Idempotent; callable from any thread, callbacks included. */
void qemu_monitor_close(QemuMonitor *mon);

/* TRUE once closed (by either side).  *reason (may be NULL) gets a copy of
 * why: end of file, garbage, ..., or "QMP monitor 'x' was closed" when we
 * closed it ourselves. */
gboolean qemu_monitor_is_closed(QemuMonitor *mon, GError **reason);

const char *qemu_monitor_get_name(QemuMonitor *mon);

/* QEMU's version from the greeting, and its "package" string ("" when it
 * sent none). */
void qemu_monitor_get_version(QemuMonitor *mon, int *major, int *minor, int *micro);
const char *qemu_monitor_get_package(QemuMonitor *mon);

/* Timeout for commands issued without one (<= 0 restores
 * QEMU_MONITOR_DEFAULT_TIMEOUT_MS). */
void qemu_monitor_set_default_timeout(QemuMonitor *mon, int timeout_ms);
/* Largest message accepted from QEMU (0 restores QEMU_MONITOR_MAX_MESSAGE). */
void qemu_monitor_set_max_message(QemuMonitor *mon, gsize max_bytes);

/* Runs a command and returns its "return" value (a new reference; {} for
 * commands that return nothing), or NULL with *error.  args (borrowed, may
 * be NULL) is the "arguments" object.  The fds (borrowed; duplicated, so
 * they may be closed once this returns) travel with the command over
 * SCM_RIGHTS.  timeout_ms <= 0 means the monitor's default.  When QEMU
 * answers with an error, *error_class (may be NULL) gets its class
 * ("GenericError", "CommandNotFound", ...).  Refused on the I/O thread. */
json_object *qmp_call_full(QemuMonitor *mon, const char *execute, json_object *args, const int *fds,
                           gsize nfds, int timeout_ms, char **error_class, GError **error);
json_object *qmp_call(QemuMonitor *mon, const char *execute, json_object *args, GError **error);

/* ---------------------------------------------------------------- typed
 * helpers (qemu_monitor_json.c).  Each is one command; errors as above. */

/* *running, and QEMU's run state ("running", "paused", "prelaunch",
 * "inmigrate", "postmigrate", "shutdown", "io-error", ...) which says why
 * it is not running. */
gboolean qmp_query_status(QemuMonitor *mon, gboolean *running, char **status, GError **error);
gboolean qmp_query_version(QemuMonitor *mon, int *major, int *minor, int *micro, char **package,
                           GError **error);
gboolean qmp_cont(QemuMonitor *mon, GError **error);
gboolean qmp_stop(QemuMonitor *mon, GError **error);
gboolean qmp_system_powerdown(QemuMonitor *mon, GError **error);
/* QEMU answers, then exits: the eof callback follows. */
gboolean qmp_quit(QemuMonitor *mon, GError **error);

/* The migration's state as QEMU reports it ({"status": ..., "ram": ...}). */
json_object *qmp_query_migrate(QemuMonitor *mon, GError **error);
/* names[i] set to states[i]; n entries. */
gboolean qmp_migrate_set_capabilities(QemuMonitor *mon, const char *const *names,
                                      const gboolean *states, gsize n, GError **error);
/* params: {"max-bandwidth": ..., "multifd-channels": ...} (borrowed). */
gboolean qmp_migrate_set_parameters(QemuMonitor *mon, json_object *params, GError **error);
gboolean qmp_migrate(QemuMonitor *mon, const char *uri, GError **error);
gboolean qmp_migrate_incoming(QemuMonitor *mon, const char *uri, GError **error);
gboolean qmp_migrate_cancel(QemuMonitor *mon, GError **error);
gboolean qmp_migrate_continue(QemuMonitor *mon, const char *state, GError **error);
/* Asks a migration started with the postcopy-ram capability to switch to
 * post-copy (QEMU does it at its next iteration). */
gboolean qmp_migrate_start_postcopy(QemuMonitor *mon, GError **error);
/* client_migrate_info: tells the display server (protocol "spice") where
 * its clients reconnect once the migration completes.  port and tls_port
 * are left out when < 0 (QEMU wants at least one); cert_subject may be
 * NULL. */
gboolean qmp_client_migrate_info(QemuMonitor *mon, const char *protocol, const char *hostname,
                                 int port, int tls_port, const char *cert_subject, GError **error);

/* getfd: QEMU keeps a copy of fd under fdname (for "fd:NAME" URIs). */
gboolean qmp_getfd(QemuMonitor *mon, int fd, const char *fdname, GError **error);
gboolean qmp_closefd(QemuMonitor *mon, const char *fdname, GError **error);
/* add-fd: adds a copy of fd to fdset fdset_id (< 0: QEMU picks a new set);
 * *fdset_out and *fd_out (may be NULL) get the set and QEMU's fd number,
 * for "/dev/fdset/N" paths.  opaque (may be NULL) is stored with it. */
gboolean qmp_add_fd(QemuMonitor *mon, int fd, gint64 fdset_id, const char *opaque,
                    gint64 *fdset_out, gint64 *fd_out, GError **error);
gboolean qmp_remove_fd(QemuMonitor *mon, gint64 fdset_id, GError **error);
