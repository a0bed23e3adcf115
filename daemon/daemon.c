/*
 * daemon.c: ferryd as an object (see daemon.h).
 *
 * Threads: the main thread only loads, starts, waits for a signal and
 * stops.  Sockets live on the I/O thread (src/util/iothread.h), calls run
 * on the RPC server's workers, and a client's teardown (which may destroy
 * its autodestroy domains) on the server's close pool.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DAEMON
#define FERRY_LOG_MODULE "daemon.main"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "conf/daemon_config.h"
#include "daemon/daemon.h"
#include "daemon/daemon_client.h"
#include "daemon/dispatch.h"
#include "driver/qemu_driver.h"
#include "migration/migration.h"
#include "rpc/remote_driver.h"
#include "rpc/server.h"
#include "rpc/tls.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/uuid.h"

#define HOST_UUID_FILE "host-uuid"
#define PID_FILE "ferryd.pid"

struct _Daemon {
    DaemonConfig *cfg;
    unsigned char host_uuid[FERRY_UUID_BUFLEN];
    char *pidfile;
    int pidfile_fd;
    char *addr_file;
    gboolean quit_requested; /* a signal came before daemon_run */
    QemuDriver *drv;
    RpcServer *srv;
    RpcServerHandler *handlers;
    guint64 next_client_id; /* atomic */
    GMainLoop *loop;
    guint signal_sources[3];
};

/* ---------------------------------------------------------------- parsing */

gboolean daemon_parse_host_port(const char *text, char **host, guint *port, GError **error)
{
    g_autofree char *h = NULL;
    const char *colon;
    guint64 p = 0;
    char *end = NULL;

    *host = NULL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');

        if (!close || close[1] != ':') {
            ferry_fail(error, FERRY_ERR_PARSE, "'%s' is not [ADDRESS]:PORT", text);
            return FALSE;
        }
        h = g_strndup(text + 1, close - text - 1);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon || strchr(text, ':') != colon) {
            ferry_fail(error, FERRY_ERR_PARSE,
                       "'%s' is not HOST:PORT (write an IPv6 address as [ADDRESS]:PORT)", text);
            return FALSE;
        }
        h = g_strndup(text, colon - text);
    }
    errno = 0;
    if (g_ascii_isdigit(colon[1]))
        p = g_ascii_strtoull(colon + 1, &end, 10);
    if (!g_ascii_isdigit(colon[1]) || errno || *end || p > 65535) {
        ferry_fail(error, FERRY_ERR_PARSE, "'%s': the port must be a number from 0 to 65535", text);
        return FALSE;
    }
    *port = (guint)p;
    if (*h)
        *host = g_steal_pointer(&h);
    return TRUE;
}

/* ---------------------------------------------------------------- pidfile */

/* Creates and locks path, writes our pid; the fd stays open (the lock)
 * until daemon_free.  Another ferryd holding it is an error naming it. */
static int pidfile_acquire(const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *pid = g_strdup_printf("%ld\n", (long)getpid());

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        ferry_fail_errno(error, errno, "cannot create directory '%s' for the pidfile", dir);
        return -1;
    }
    for (;;) {
        g_auto(FerryFd) fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        struct stat a, b;

        if (fd < 0) {
            ferry_fail_errno(error, errno, "cannot open pidfile '%s'", path);
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            g_autofree char *other = NULL;

            if (errno != EWOULDBLOCK) {
                ferry_fail_errno(error, errno, "cannot lock pidfile '%s'", path);
                return -1;
            }
            g_file_get_contents(path, &other, NULL, NULL);
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "another ferryd (pid %s) holds pidfile '%s'",
                       other ? g_strstrip(other) : "unknown", path);
            return -1;
        }
        /* The file we locked must still be the one at path: a ferryd that
         * was exiting may have removed it between our open and lock. */
        if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
            continue;
        if (ftruncate(fd, 0) < 0 || write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid)) {
            ferry_fail_errno(error, errno, "cannot write pidfile '%s'", path);
            return -1;
        }
        return ferry_fd_steal(&fd);
    }
}

/* ---------------------------------------------------------------- identity */

/* --host-uuid, else the config's, else the one kept in the state dir
 * (made on the first start). */
static gboolean daemon_load_host_uuid(Daemon *d, const char *option, GError **error)
{
    g_autofree char *state_dir = NULL;
    g_autofree char *path = NULL;
    char str[FERRY_UUID_STRING_BUFLEN];

    if (option) {
        g_autoptr(GError) err = NULL;

        if (ferry_uuid_parse(option, d->host_uuid, &err) < 0) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG, "--host-uuid: %s", err->message);
            return FALSE;
        }
    } else if (!ferry_uuid_is_null(d->cfg->host_uuid)) {
        memcpy(d->host_uuid, d->cfg->host_uuid, FERRY_UUID_BUFLEN);
    } else {
        state_dir = daemon_config_dir(d->cfg, DAEMON_DIR_STATE);
        path = g_build_filename(state_dir, HOST_UUID_FILE, NULL);
        if (g_file_test(path, G_FILE_TEST_EXISTS)) {
            if (ferry_uuid_read_file(path, d->host_uuid, error) < 0)
                return FALSE;
        } else {
            g_autofree char *text = NULL;
            g_autoptr(GError) err = NULL;

            if (ferry_uuid_generate(d->host_uuid, error) < 0)
                return FALSE;
            text = g_strdup_printf("%s\n", ferry_uuid_format(d->host_uuid, str));
            if (g_mkdir_with_parents(state_dir, 0755) < 0 ||
                !g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                          &err)) {
                ferry_fail(error, FERRY_ERR_SYSTEM, "cannot keep the host UUID in '%s': %s", path,
                           err ? err->message : g_strerror(errno));
                return FALSE;
            }
            FLOG_INFO("generated host UUID %s, kept in '%s'", str, path);
        }
    }
    if (ferry_uuid_is_degenerate(d->host_uuid)) {
        ferry_fail(error, FERRY_ERR_CONFIG,
                   "host UUID %s cannot tell hosts apart: give another one with --host-uuid",
                   ferry_uuid_format(d->host_uuid, str));
        return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- configuration */

static gboolean daemon_load_config(Daemon *d, const DaemonOptions *opts, GError **error)
{
    g_autofree char *path = NULL;

    d->cfg = daemon_config_new_defaults();
    if (opts->root) {
        g_free(d->cfg->state_root);
        d->cfg->state_root = g_canonicalize_filename(opts->root, NULL);
    }
    if (opts->config_file) {
        path = g_strdup(opts->config_file);
    } else {
        path = daemon_config_default_file(d->cfg->state_root);
        if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
            FLOG_DEBUG("no '%s': the defaults", path);
            g_clear_pointer(&path, g_free);
        }
    }
    if (path) {
        if (!daemon_config_load_file(d->cfg, path, error))
            return FALSE;
        FLOG_INFO("configuration from '%s'", path);
    }
    return TRUE;
}

/* The config's logging, then --verbose, then the environment's. */
static gboolean daemon_setup_logging(Daemon *d, const DaemonOptions *opts, GError **error)
{
    g_autofree char *level =
        g_strdup_printf("%d", opts->verbose ? MIN(d->cfg->log_level, 2) : d->cfg->log_level);

    if (!ferry_log_set_default_level(level, error))
        return FALSE;
    if (d->cfg->log_filters && !ferry_log_set_filters(d->cfg->log_filters, error))
        return FALSE;
    if (d->cfg->log_outputs && !ferry_log_set_outputs(d->cfg->log_outputs, error))
        return FALSE;
    return ferry_log_init_from_env(error);
}

/* ---------------------------------------------------------------- clients */

static gboolean transport_start_keepalive(gpointer transport, int interval, guint count,
                                          GError **error)
{
    return rpc_server_client_start_keepalive(transport, interval, count, error);
}

static gboolean transport_send_event(gpointer transport, int proc, xdrproc_t xdrproc,
                                     const void *msg, GError **error)
{
    return rpc_server_client_send_event(transport, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, proc,
                                        xdrproc, msg, error);
}

static const DaemonClientTransport daemon_transport = {
    .start_keepalive = transport_start_keepalive,
    .send_event = transport_send_event,
    .open_stream = daemon_client_rpc_open_stream,
};

/* On the I/O thread, before the client's first call: cheap only. */
static void daemon_on_new_client(RpcServerClient *rc, gpointer opaque)
{
    Daemon *d = opaque;
    guint64 id = __atomic_add_fetch(&d->next_client_id, 1, __ATOMIC_RELAXED);
    DaemonClient *c = daemon_client_new(d->drv, id);

    daemon_client_set_transport(c, &daemon_transport, rc);
    daemon_client_set_secure(c, rpc_server_client_is_secure(rc));
    daemon_client_set_keepalive(c, d->cfg->keepalive_interval, d->cfg->keepalive_count);
    rpc_server_client_set_private(rc, c, (GDestroyNotify)daemon_client_free);
    FLOG_INFO("client %" G_GUINT64_FORMAT " connected from %s", id, rpc_server_client_get_peer(rc));
}

/* On the close pool (its calls are over): the private data's free
 * function, daemon_client_free, runs next and drops the driver
 * connection (autodestroy). */
static void daemon_on_client_closed(RpcServerClient *rc, gpointer opaque)
{
    DaemonClient *c = rpc_server_client_get_private(rc);

    if (c)
        FLOG_INFO("client %" G_GUINT64_FORMAT " (%s) disconnected", daemon_client_get_id(c),
                  rpc_server_client_get_peer(rc));
}

/* Every procedure of the table: one server handler that finds the
 * client's state and calls dispatch_call. */
static gboolean daemon_handle_call(RpcServerClient *rc, RpcMessage *call, void *args, void *ret,
                                   gpointer opaque, GError **error)
{
    DaemonClient *c = rpc_server_client_get_private(rc);

    if (!c) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "no state for client %s",
                   rpc_server_client_get_peer(rc));
        return FALSE;
    }
    return dispatch_call(c, call->header.proc, args, ret, error);
}

/* ---------------------------------------------------------------- listeners */

static TlsContext *daemon_tls_context(Daemon *d, GError **error)
{
    g_autofree char *ca = daemon_config_tls_file(d->cfg, DAEMON_TLS_CA);
    g_autofree char *cert = daemon_config_tls_file(d->cfg, DAEMON_TLS_CERT);
    g_autofree char *key = daemon_config_tls_file(d->cfg, DAEMON_TLS_KEY);
    g_autofree char *crl = daemon_config_tls_file(d->cfg, DAEMON_TLS_CRL);
    TlsContextConfig tcfg = {
        .ca_file = ca,
        .crl_file = crl,
        .cert_file = cert,
        .key_file = key,
        .priority = d->cfg->tls_priority,
        .verify_peer = !d->cfg->tls_no_verify_certificate,
        .allowed_dn_list = (const char *const *)d->cfg->tls_allowed_dn_list,
    };

    if (d->cfg->tls_no_verify_certificate)
        FLOG_WARN("tls_no_verify_certificate = 1: TLS clients are not authenticated");
    return tls_context_new(TLS_ROLE_SERVER, &tcfg, error);
}

/* "127.0.0.1:40521", "[::1]:40521", "*:16509". */
static char *format_host_port(const char *host, guint port)
{
    if (!host)
        return g_strdup_printf("*:%u", port);
    if (strchr(host, ':'))
        return g_strdup_printf("[%s]:%u", host, port);
    return g_strdup_printf("%s:%u", host, port);
}

static gboolean daemon_listen_tcp(Daemon *d, const char *kind, const char *option,
                                  guint default_port, TlsContext *tls, GString *addrs,
                                  GError **error)
{
    g_autofree char *host = NULL;
    guint port = default_port;
    guint bound = 0;

    if (option) {
        if (!daemon_parse_host_port(option, &host, &port, error))
            return FALSE;
    } else {
        host = g_strdup(d->cfg->listen_addr);
    }
    if (!rpc_server_listen_tcp(d->srv, host, port, tls, &bound, error))
        return FALSE;
    g_autofree char *where = format_host_port(host, bound);
    if (!tls)
        FLOG_WARN("listening on plain TCP %s: no authentication and no encryption, anyone who "
                  "can connect controls every domain; for tests and trusted networks only",
                  where);
    else
        FLOG_INFO("listening on TLS %s", where);
    g_string_append_printf(addrs, "%s %s\n", kind, where);
    return TRUE;
}

static gboolean daemon_listen(Daemon *d, const DaemonOptions *opts, GError **error)
{
    g_autoptr(GString) addrs = g_string_new(NULL);
    g_autofree char *run_dir = daemon_config_dir(d->cfg, DAEMON_DIR_RUN);
    g_autoptr(GError) err = NULL;

    if (d->cfg->listen_unix) {
        g_autofree char *path = daemon_config_unix_sock_path(d->cfg);

        if (!rpc_server_listen_unix(d->srv, path, d->cfg->unix_sock_rw_perms,
                                    d->cfg->unix_sock_group, error))
            return FALSE;
        FLOG_INFO("listening on UNIX socket %s", path);
        g_string_append_printf(addrs, "unix %s\n", path);
    }
    if (opts->listen_tcp || d->cfg->listen_tcp) {
        if (!daemon_listen_tcp(d, "tcp", opts->listen_tcp, d->cfg->tcp_port, NULL, addrs, error))
            return FALSE;
    }
    if (opts->listen_tls || d->cfg->listen_tls) {
        g_autoptr(TlsContext) tls = daemon_tls_context(d, error);

        if (!tls ||
            !daemon_listen_tcp(d, "tls", opts->listen_tls, d->cfg->tls_port, tls, addrs, error))
            return FALSE;
    }
    if (addrs->len == 0) {
        ferry_fail(error, FERRY_ERR_CONFIG,
                   "nothing to listen on (listen_unix = 0 and no TCP or TLS listener)");
        return FALSE;
    }

    d->addr_file = g_build_filename(run_dir, DAEMON_ADDR_FILE, NULL);
    if (!g_file_set_contents_full(d->addr_file, addrs->str, addrs->len,
                                  G_FILE_SET_CONTENTS_CONSISTENT, 0644, &err)) {
        ferry_fail(error, FERRY_ERR_SYSTEM, "cannot write '%s': %s", d->addr_file, err->message);
        g_clear_pointer(&d->addr_file, g_free);
        return FALSE;
    }
    fputs(addrs->str, stdout);
    fflush(stdout);
    return TRUE;
}

/* ---------------------------------------------------------------- peer-to-peer */

/* The source of a peer-to-peer migration is a client of the destination's
 * ferryd (src/migration/p2p.c): through the remote driver, with this
 * daemon's keepalive settings, and for qemu+tls:// destinations with the
 * client certificate beside the server's in CONFIG_DIR/pki
 * (ROOT/etc/ferry/pki/cacert.pem, clientcert.pem, clientkey.pem), unless
 * the destination URI names its own ?pkipath=. */
static void daemon_setup_p2p(Daemon *d)
{
    g_autofree char *config_dir = daemon_config_dir(d->cfg, DAEMON_DIR_CONFIG);
    g_autofree char *pki_dir = g_build_filename(config_dir, "pki", NULL);
    MigrationP2pConfig pcfg = MIGRATION_P2P_CONFIG_INIT;

    remote_driver_register();
    pcfg.pki_dir = pki_dir;
    pcfg.keepalive_interval = d->cfg->keepalive_interval < 0 ? 0 : d->cfg->keepalive_interval;
    pcfg.keepalive_count = (int)d->cfg->keepalive_count;
    migration_p2p_configure(&pcfg);
    FLOG_DEBUG("peer-to-peer migrations: client certificate in '%s', keepalive %d s x %d", pki_dir,
               pcfg.keepalive_interval, pcfg.keepalive_count);
}

/* ---------------------------------------------------------------- lifecycle */

static gboolean daemon_start_server(Daemon *d, GError **error)
{
    RpcServerConfig scfg = RPC_SERVER_CONFIG_INIT;
    size_t n = 0;
    const DispatchEntry *rows = dispatch_table(&n);

    scfg.max_clients = d->cfg->max_clients;
    scfg.max_workers = d->cfg->max_workers;
    scfg.max_client_requests = d->cfg->max_client_requests;
    d->srv = rpc_server_new(&scfg, error);
    if (!d->srv)
        return FALSE;

    d->handlers = g_new0(RpcServerHandler, n);
    for (size_t i = 0; i < n; i++) {
        d->handlers[i].proc = rows[i].proc;
        d->handlers[i].func = daemon_handle_call;
    }
    RpcServerProgramSpec spec = {
        .number = REMOTE_PROGRAM,
        .version = REMOTE_PROTOCOL_VERSION,
        .procs = &rpc_remote_program,
        .handlers = d->handlers,
        .nhandlers = n,
        .opaque = d,
    };
    if (!rpc_server_add_program(d->srv, &spec, error))
        return FALSE;
    rpc_server_set_client_callbacks(d->srv, daemon_on_new_client, daemon_on_client_closed, d);
    return TRUE;
}

static gboolean daemon_on_signal(gpointer opaque)
{
    Daemon *d = opaque;

    FLOG_INFO("signal received: shutting down (running domains keep running)");
    daemon_quit(d);
    return G_SOURCE_CONTINUE;
}

/* libvirtd reloads its configuration on SIGHUP; ferryd does not (yet),
 * and a hangup must not kill it without cleaning up. */
static gboolean daemon_on_sighup(gpointer opaque)
{
    FLOG_WARN("SIGHUP ignored: ferryd does not reload its configuration (restart it: running "
              "domains keep running)");
    return G_SOURCE_CONTINUE;
}

/* Signals are caught from before the first listener exists: a SIGTERM or
 * SIGHUP that comes as soon as the address file is written must not kill
 * ferryd uncleanly. */
static void daemon_catch_signals(Daemon *d)
{
    d->signal_sources[0] = g_unix_signal_add(SIGTERM, daemon_on_signal, d);
    d->signal_sources[1] = g_unix_signal_add(SIGINT, daemon_on_signal, d);
    d->signal_sources[2] = g_unix_signal_add(SIGHUP, daemon_on_sighup, d);
}

Daemon *daemon_new(const DaemonOptions *opts, GError **error)
{
    g_autoptr(Daemon) d = g_new0(Daemon, 1);
    QemuDriverConfig qcfg = QEMU_DRIVER_CONFIG_INIT;
    g_autofree char *spice_tls_dir = NULL;
    g_autofree char *run_dir = NULL;
    char uuid_str[FERRY_UUID_STRING_BUFLEN];

    d->pidfile_fd = -1;
    /* A bad command line fails before anything starts. */
    const char *listen[] = { opts->listen_tcp, opts->listen_tls };
    for (gsize i = 0; i < G_N_ELEMENTS(listen); i++) {
        g_autofree char *host = NULL;
        guint port = 0;

        if (listen[i] && !daemon_parse_host_port(listen[i], &host, &port, error)) {
            g_prefix_error(error, "--listen-%s: ", i ? "tls" : "tcp");
            return NULL;
        }
    }
    if (!daemon_load_config(d, opts, error) || !daemon_setup_logging(d, opts, error))
        return NULL;

    run_dir = daemon_config_dir(d->cfg, DAEMON_DIR_RUN);
    d->pidfile =
        opts->pidfile ? g_strdup(opts->pidfile) : g_build_filename(run_dir, PID_FILE, NULL);
    d->pidfile_fd = pidfile_acquire(d->pidfile, error);
    if (d->pidfile_fd < 0) {
        /* Not ours to remove. */
        g_clear_pointer(&d->pidfile, g_free);
        return NULL;
    }
    /* A stale address file would tell a reader about ports long gone. */
    g_autofree char *stale = g_build_filename(run_dir, DAEMON_ADDR_FILE, NULL);
    g_unlink(stale);

    if (!daemon_load_host_uuid(d, opts->host_uuid, error))
        return NULL;
    FLOG_INFO("host UUID %s, state under '%s'", ferry_uuid_format(d->host_uuid, uuid_str),
              d->cfg->state_root ? d->cfg->state_root : "/");

    qcfg.root = d->cfg->state_root;
    qcfg.host_uuid = d->host_uuid;
    qcfg.migration_port_min = (int)d->cfg->migration_port_min;
    qcfg.migration_port_max = (int)d->cfg->migration_port_max;
    qcfg.migration_address = d->cfg->migration_address;
    qcfg.migration_host = d->cfg->migration_host;
    qcfg.lock_manager = d->cfg->lock_manager;
    qcfg.lease_dir = d->cfg->file_lockspace_dir;
    qcfg.spice_tls = d->cfg->spice_tls;
    spice_tls_dir = daemon_config_spice_tls_dir(d->cfg);
    qcfg.spice_tls_x509_dir = spice_tls_dir;
    /* The v3 migration phases, before any client can ask for them. */
    migration_init();
    daemon_setup_p2p(d);
    d->drv = qemu_driver_open(&qcfg, error);
    if (!d->drv)
        return NULL;
    /* migrations a ferryd that died left behind */
    migration_recover(d->drv);

    daemon_catch_signals(d);
    if (!daemon_start_server(d, error) || !daemon_listen(d, opts, error))
        return NULL;
    return g_steal_pointer(&d);
}

void daemon_run(Daemon *d)
{
    d->loop = g_main_loop_new(NULL, FALSE);
    FLOG_INFO("ferryd %s ready (pid %ld)", PACKAGE_VERSION, (long)getpid());
    if (!d->quit_requested)
        g_main_loop_run(d->loop);
    for (gsize i = 0; i < G_N_ELEMENTS(d->signal_sources); i++) {
        if (d->signal_sources[i])
            g_source_remove(d->signal_sources[i]);
        d->signal_sources[i] = 0;
    }
}

void daemon_quit(Daemon *d)
{
    d->quit_requested = TRUE;
    if (d->loop)
        g_main_loop_quit(d->loop);
}

void daemon_free(Daemon *d)
{
    if (!d)
        return;
    for (gsize i = 0; i < G_N_ELEMENTS(d->signal_sources); i++) {
        if (d->signal_sources[i])
            g_source_remove(d->signal_sources[i]);
        d->signal_sources[i] = 0;
    }
    /* Clients first: each one's autodestroy domains go with it, as they go
     * with libvirtd's clients.  Then the driver, which leaves every other
     * domain running for the next ferryd on this root. */
    if (d->srv) {
        rpc_server_shutdown(d->srv);
        rpc_server_unref(d->srv);
    }
    g_free(d->handlers);
    qemu_driver_close(d->drv);
    if (d->addr_file)
        g_unlink(d->addr_file);
    g_free(d->addr_file);
    if (d->pidfile_fd >= 0) {
        g_unlink(d->pidfile);
        ferry_fd_close(&d->pidfile_fd);
    }
    g_free(d->pidfile);
    if (d->loop)
        g_main_loop_unref(d->loop);
    daemon_config_free(d->cfg);
    g_free(d);
}
