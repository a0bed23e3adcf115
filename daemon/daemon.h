/*
 * daemon.h: ferryd as an object: configuration, identity, the QEMU
 * driver, the RPC server and its listeners, the pidfile.
 *
 *     DaemonOptions opts = DAEMON_OPTIONS_INIT;
 *     opts.root = "/tmp/ferry-test";
 *     g_autoptr(Daemon) d = daemon_new(&opts, error);   // listening
 *     daemon_run(d);                                    // until SIGTERM/SIGINT
 *     // daemon_free: clients closed (their autodestroy domains destroyed),
 *     // the driver closed (running domains keep running), pidfile removed
 *
 * Settings, lowest first: the defaults; ferryd.conf (--config FILE, else
 * ROOT/etc/ferry/ferryd.conf when it exists); the command line; for
 * logging, FERRY_LOG_LEVEL / FERRY_LOG_FILTERS / FERRY_LOG_OUTPUTS.
 *
 * Host UUID: --host-uuid, else ferryd.conf's host_uuid, else the one kept
 * in ROOT/var/lib/ferry/host-uuid (generated on the first start, so that
 * it stays the same across restarts).
 *
 * Where it listens: the UNIX socket ROOT/run/ferry/ferryd-sock (unless
 * listen_unix = 0), --listen-tcp / --listen-tls HOST:PORT (or the config's
 * listen_tcp / listen_tls on listen_addr).  Port 0 picks a free port.
 * Once listening, the bound addresses are written to
 * ROOT/run/ferry/ferryd.addr, one listener a line, and printed on stdout:
 *     unix /tmp/root/run/ferry/ferryd-sock
 *     tcp 127.0.0.1:40521
 *     tls 127.0.0.1:40522
 * The file is removed at exit.  Tests read it to learn ephemeral ports.
 */
#pragma once

#include <glib.h>

typedef struct _Daemon Daemon;

typedef struct {
    const char *root; /* --root: NULL, the system paths */
    const char *config_file; /* --config */
    const char *listen_tcp; /* --listen-tcp HOST:PORT */
    const char *listen_tls; /* --listen-tls HOST:PORT */
    const char *host_uuid; /* --host-uuid */
    const char *pidfile; /* --pidfile; NULL: RUN_DIR/ferryd.pid */
    gboolean verbose; /* --verbose: log level info */
} DaemonOptions;

#define DAEMON_OPTIONS_INIT \
    { \
        NULL \
    }

/* The name of the address file in the RUN directory. */
#define DAEMON_ADDR_FILE "ferryd.addr"

/* Splits "HOST:PORT" ("[::1]:PORT" for IPv6; an empty HOST means every
 * address).  *host is new (NULL for every address). */
gboolean daemon_parse_host_port(const char *text, char **host, guint *port, GError **error);

/* Everything up to listening; NULL with *error (nothing left behind). */
Daemon *daemon_new(const DaemonOptions *opts, GError **error);
/* Runs until SIGTERM or SIGINT (or daemon_quit); the I/O runs on the I/O
 * thread, calls on workers: this thread only waits. */
void daemon_run(Daemon *d);
/* Makes daemon_run return (any thread). */
void daemon_quit(Daemon *d);
/* Stops serving and cleans up; running domains keep running. */
void daemon_free(Daemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Daemon, daemon_free)
