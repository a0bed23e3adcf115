/*
 * cmd-host.c: version, uri, hostname, nodeinfo.
 */
#include <config.h>

#include <stdlib.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_SHELL
#define FERRY_LOG_MODULE "shell"

#include "tools/shell.h"

static void print_version(const char *label, const char *what, unsigned long long v)
{
    printf("%s: %s %llu.%llu.%llu\n", label, what, v / 1000000, (v / 1000) % 1000, v % 1000);
}

static gboolean cmd_version(Shell *sh, const ShellArgs *args)
{
    FerryConnect *conn = shell_conn(sh);
    unsigned long long lib = 0, api = 0, hv = 0;
    const char *type;

    if (!conn)
        return FALSE;
    print_version("Compiled against library", "ferry", FERRY_VERSION_NUMBER);
    if (ferry_get_version(&lib) < 0) {
        shell_error_cause("failed to get the library version");
        return FALSE;
    }
    print_version("Using library", "ferry", lib);
    type = ferry_connect_get_type(conn);
    if (!type) {
        shell_error_cause("failed to get the hypervisor type");
        return FALSE;
    }
    if (ferry_connect_get_lib_version(conn, &api) < 0) {
        shell_error_cause("failed to get the library version of the connection");
        return FALSE;
    }
    print_version("Using API", type, api);
    if (ferry_connect_get_version(conn, &hv) < 0) {
        shell_error_cause("failed to get the hypervisor version");
        return FALSE;
    }
    print_version("Running hypervisor", type, hv);
    printf("\n");
    return TRUE;
}

static gboolean cmd_uri(Shell *sh, const ShellArgs *args)
{
    FerryConnect *conn = shell_conn(sh);
    g_autofree char *uri = NULL;

    if (!conn)
        return FALSE;
    uri = ferry_connect_get_uri(conn);
    if (!uri) {
        shell_error_cause("failed to get the URI");
        return FALSE;
    }
    printf("%s\n\n", uri);
    return TRUE;
}

static gboolean cmd_hostname(Shell *sh, const ShellArgs *args)
{
    FerryConnect *conn = shell_conn(sh);
    g_autofree char *host = NULL;

    if (!conn)
        return FALSE;
    host = ferry_connect_get_hostname(conn);
    if (!host) {
        shell_error_cause("failed to get the hostname");
        return FALSE;
    }
    printf("%s\n\n", host);
    return TRUE;
}

/* virsh's layout, line for line. */
static gboolean cmd_nodeinfo(Shell *sh, const ShellArgs *args)
{
    FerryConnect *conn = shell_conn(sh);
    FerryNodeInfo info;

    if (!conn)
        return FALSE;
    if (ferry_node_get_info(conn, &info) < 0) {
        shell_error_cause("failed to get node information");
        return FALSE;
    }
    printf("%-20s %s\n", "CPU model:", info.model);
    printf("%-20s %u\n", "CPU(s):", info.cpus);
    printf("%-20s %u MHz\n", "CPU frequency:", info.mhz);
    printf("%-20s %u\n", "CPU socket(s):", info.sockets);
    printf("%-20s %u\n", "Core(s) per socket:", info.cores);
    printf("%-20s %u\n", "Thread(s) per core:", info.threads);
    printf("%-20s %u\n", "NUMA cell(s):", info.nodes);
    printf("%-20s %llu KiB\n\n", "Memory size:", info.memory);
    return TRUE;
}

static const ShellOpt no_opts[] = { { NULL } };

const ShellCmd shell_host_cmds[] = {
    { "version", "show version",
      "Prints the versions of the shell's library, of the library that serves the "
      "connection, and of the hypervisor.",
      no_opts, cmd_version },
    { "uri", "print the hypervisor canonical URI", "Prints the URI of the connection.", no_opts,
      cmd_uri },
    { "hostname", "print the hypervisor hostname",
      "Prints the host name of the host the connection is to.", no_opts, cmd_hostname },
    { "nodeinfo", "node information",
      "Prints the host's CPU model, CPUs, frequency, topology and memory, as virsh does.", no_opts,
      cmd_nodeinfo },
    { NULL },
};
