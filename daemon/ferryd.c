/*
 * ferryd.c: the daemon's command line.
 *
 *     ferryd [--root DIR] [--config FILE] [--listen-tcp HOST:PORT]
 *            [--listen-tls HOST:PORT] [--host-uuid UUID] [--pidfile FILE]
 *            [--verbose]
 *
 * Exit status: 0 after a clean shutdown (SIGTERM, SIGINT), 1 when it could
 * not start (the reason on stderr, a bad option value included), 2 for an
 * unknown option or a stray argument.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DAEMON
#define FERRY_LOG_MODULE "daemon.main"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/daemon.h"
#include "util/error.h"
#include "util/log.h"

int main(int argc, char **argv)
{
    g_autofree char *root = NULL;
    g_autofree char *config_file = NULL;
    g_autofree char *listen_tcp = NULL;
    g_autofree char *listen_tls = NULL;
    g_autofree char *host_uuid = NULL;
    g_autofree char *pidfile = NULL;
    gboolean verbose = FALSE;
    gboolean version = FALSE;
    GOptionEntry entries[] = {
        { "root", 0, 0, G_OPTION_ARG_FILENAME, &root,
          "Keep all state (config, domains, sockets, logs) under DIR", "DIR" },
        { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file,
          "Read FILE instead of ROOT/etc/ferry/ferryd.conf", "FILE" },
        { "listen-tcp", 0, 0, G_OPTION_ARG_STRING, &listen_tcp,
          "Listen on plain TCP (no authentication, no encryption: tests and trusted networks "
          "only); port 0 picks one",
          "HOST:PORT" },
        { "listen-tls", 0, 0, G_OPTION_ARG_STRING, &listen_tls,
          "Listen on TLS with the certificates of the config", "HOST:PORT" },
        { "host-uuid", 0, 0, G_OPTION_ARG_STRING, &host_uuid,
          "This host's UUID (default: the config's, else one generated and kept)", "UUID" },
        { "pidfile", 0, 0, G_OPTION_ARG_FILENAME, &pidfile,
          "Write and lock FILE (default ROOT/run/ferry/ferryd.pid)", "FILE" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log informational messages", NULL },
        { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(Daemon) d = NULL;

    g_option_context_set_summary(ctx, "ferry's daemon: runs QEMU domains and migrates them; "
                                      "speaks libvirt's remote protocol (virsh -c "
                                      "qemu+unix:///system?socket=ROOT/run/ferry/ferryd-sock).");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "ferryd: %s (see --help)\n", err->message);
        return 2;
    }
    if (version) {
        printf("ferryd (ferry) %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "ferryd: unexpected argument '%s' (see --help)\n", argv[1]);
        return 2;
    }

    /* Writes to a vanished client must fail, not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    /* Early messages (a bad config) follow the environment's settings. */
    if (!ferry_log_init_from_env(&err)) {
        fprintf(stderr, "ferryd: %s\n", err->message);
        return 2;
    }

    DaemonOptions opts = {
        .root = root,
        .config_file = config_file,
        .listen_tcp = listen_tcp,
        .listen_tls = listen_tls,
        .host_uuid = host_uuid,
        .pidfile = pidfile,
        .verbose = verbose,
    };
    d = daemon_new(&opts, &err);
    if (!d) {
        fprintf(stderr, "ferryd: %s\n", err->message);
        return 1;
    }
    daemon_run(d);
    return 0;
}
