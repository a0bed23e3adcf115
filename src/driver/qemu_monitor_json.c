/*
 * qemu_monitor_json.c: typed helpers for the QMP commands the driver uses,
 * one command each, on top of qmp_call().
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MONITOR
#define FERRY_LOG_MODULE "qemu.monitor"

#include "util/error.h"
#include "util/log.h"
#include "driver/qemu_monitor.h"

/* A command whose answer does not matter beyond success. */
static gboolean qmp_simple(QemuMonitor *mon, const char *execute, json_object *args, GError **error)
{
    g_autoptr(json_object) ret = qmp_call(mon, execute, args, error);

    return ret != NULL;
}

/* The member key of reply, of type type, or NULL with an error naming the
 * command. */
static json_object *qmp_member(json_object *reply, const char *execute, const char *key,
                               json_type type, GError **error)
{
    json_object *val = NULL;

    if (!json_object_object_get_ex(reply, key, &val) || !json_object_is_type(val, type)) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED, "QMP command '%s': reply has no %s '%s'",
                   execute, json_type_to_name(type), key);
        return NULL;
    }
    return val;
}

gboolean qmp_query_status(QemuMonitor *mon, gboolean *running, char **status, GError **error)
{
    g_autoptr(json_object) ret = qmp_call(mon, "query-status", NULL, error);
    json_object *run;
    json_object *st;

    if (!ret)
        return FALSE;
    if (!(run = qmp_member(ret, "query-status", "running", json_type_boolean, error)) ||
        !(st = qmp_member(ret, "query-status", "status", json_type_string, error)))
        return FALSE;
    if (running)
        *running = json_object_get_boolean(run);
    if (status)
        *status = g_strdup(json_object_get_string(st));
    return TRUE;
}

gboolean qmp_query_version(QemuMonitor *mon, int *major, int *minor, int *micro, char **package,
                           GError **error)
{
    g_autoptr(json_object) ret = qmp_call(mon, "query-version", NULL, error);
    json_object *qemu;
    json_object *parts[3];
    json_object *pkg = NULL;
    static const char *const names[3] = { "major", "minor", "micro" };
    int *out[3] = { major, minor, micro };

    if (!ret)
        return FALSE;
    if (!(qemu = qmp_member(ret, "query-version", "qemu", json_type_object, error)))
        return FALSE;
    for (int i = 0; i < 3; i++) {
        if (!(parts[i] = qmp_member(qemu, "query-version", names[i], json_type_int, error)))
            return FALSE;
    }
    for (int i = 0; i < 3; i++) {
        if (out[i])
            *out[i] = json_object_get_int(parts[i]);
    }
    json_object_object_get_ex(ret, "package", &pkg);
    if (package)
        *package = g_strdup(pkg ? json_object_get_string(pkg) : "");
    return TRUE;
}

gboolean qmp_cont(QemuMonitor *mon, GError **error)
{
    return qmp_simple(mon, "cont", NULL, error);
}

gboolean qmp_stop(QemuMonitor *mon, GError **error)
{
    return qmp_simple(mon, "stop", NULL, error);
}

gboolean qmp_system_powerdown(QemuMonitor *mon, GError **error)
{
    return qmp_simple(mon, "system_powerdown", NULL, error);
}

gboolean qmp_quit(QemuMonitor *mon, GError **error)
{
    return qmp_simple(mon, "quit", NULL, error);
}

json_object *qmp_query_migrate(QemuMonitor *mon, GError **error)
{
    return qmp_call(mon, "query-migrate", NULL, error);
}

gboolean qmp_migrate_set_capabilities(QemuMonitor *mon, const char *const *names,
                                      const gboolean *states, gsize n, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();
    json_object *caps = json_object_new_array_ext((int)n);

    json_object_object_add(args, "capabilities", caps);
    for (gsize i = 0; i < n; i++) {
        json_object *cap = json_object_new_object();

        json_object_object_add(cap, "capability", json_object_new_string(names[i]));
        json_object_object_add(cap, "state", json_object_new_boolean(states[i]));
        json_object_array_add(caps, cap);
    }
    return qmp_simple(mon, "migrate-set-capabilities", args, error);
}

gboolean qmp_migrate_set_parameters(QemuMonitor *mon, json_object *params, GError **error)
{
    return qmp_simple(mon, "migrate-set-parameters", params, error);
}

static gboolean qmp_with_string(QemuMonitor *mon, const char *execute, const char *key,
                                const char *value, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();

    json_object_object_add(args, key, json_object_new_string(value));
    return qmp_simple(mon, execute, args, error);
}

gboolean qmp_migrate(QemuMonitor *mon, const char *uri, GError **error)
{
    return qmp_with_string(mon, "migrate", "uri", uri, error);
}

gboolean qmp_migrate_incoming(QemuMonitor *mon, const char *uri, GError **error)
{
    return qmp_with_string(mon, "migrate-incoming", "uri", uri, error);
}

gboolean qmp_migrate_cancel(QemuMonitor *mon, GError **error)
{
    return qmp_simple(mon, "migrate_cancel", NULL, error);
}

gboolean qmp_migrate_start_postcopy(QemuMonitor *mon, GError **error)
{
    return qmp_simple(mon, "migrate-start-postcopy", NULL, error);
}

gboolean qmp_client_migrate_info(QemuMonitor *mon, const char *protocol, const char *hostname,
                                 int port, int tls_port, const char *cert_subject, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) ret = NULL;

    json_object_object_add(args, "protocol", json_object_new_string(protocol));
    json_object_object_add(args, "hostname", json_object_new_string(hostname));
    if (port >= 0)
        json_object_object_add(args, "port", json_object_new_int(port));
    if (tls_port >= 0)
        json_object_object_add(args, "tls-port", json_object_new_int(tls_port));
    if (cert_subject)
        json_object_object_add(args, "cert-subject", json_object_new_string(cert_subject));
    ret = qmp_call(mon, "client_migrate_info", args, error);
    return ret != NULL;
}

gboolean qmp_migrate_continue(QemuMonitor *mon, const char *state, GError **error)
{
    return qmp_with_string(mon, "migrate-continue", "state", state, error);
}

gboolean qmp_getfd(QemuMonitor *mon, int fd, const char *fdname, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) ret = NULL;

    json_object_object_add(args, "fdname", json_object_new_string(fdname));
    ret = qmp_call_full(mon, "getfd", args, &fd, 1, 0, NULL, error);
    return ret != NULL;
}

gboolean qmp_closefd(QemuMonitor *mon, const char *fdname, GError **error)
{
    return qmp_with_string(mon, "closefd", "fdname", fdname, error);
}

gboolean qmp_add_fd(QemuMonitor *mon, int fd, gint64 fdset_id, const char *opaque,
                    gint64 *fdset_out, gint64 *fd_out, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) ret = NULL;
    json_object *set;
    json_object *qfd;

    if (fdset_id >= 0)
        json_object_object_add(args, "fdset-id", json_object_new_int64(fdset_id));
    if (opaque)
        json_object_object_add(args, "opaque", json_object_new_string(opaque));
    ret = qmp_call_full(mon, "add-fd", args, &fd, 1, 0, NULL, error);
    if (!ret)
        return FALSE;
    if (!(set = qmp_member(ret, "add-fd", "fdset-id", json_type_int, error)) ||
        !(qfd = qmp_member(ret, "add-fd", "fd", json_type_int, error)))
        return FALSE;
    if (fdset_out)
        *fdset_out = json_object_get_int64(set);
    if (fd_out)
        *fd_out = json_object_get_int64(qfd);
    return TRUE;
}

gboolean qmp_remove_fd(QemuMonitor *mon, gint64 fdset_id, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();

    json_object_object_add(args, "fdset-id", json_object_new_int64(fdset_id));
    return qmp_simple(mon, "remove-fd", args, error);
}
