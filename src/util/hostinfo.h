/*
 * hostinfo.h: what `virsh nodeinfo` shows about the host (virNodeInfo),
 * read from /proc and /sys.
 *
 *     HostInfo info;
 *
 *     if (!hostinfo_read(NULL, &info, error))     // the real host
 *         return FALSE;
 *
 * A test reads fixture files instead: HostInfoSource names the directory
 * that stands for "/" and the facts that come from system calls.
 *
 * What comes from where:
 *   model    uname's machine ("x86_64"), cut to 31 bytes
 *   memory   /proc/meminfo MemTotal (KiB); unreadable: an error
 *   cpus     the online CPUs (sysconf)
 *   mhz      /proc/cpuinfo, the first "cpu MHz", rounded; 0 when absent
 *            or unreadable (as on most non-x86 hosts)
 *   nodes, sockets, cores, threads
 *            /sys/devices/system/node/nodeN/cpuM and each online CPU's
 *            topology/{physical_package_id,core_id}: nodes with online
 *            CPUs (a memory-only node is not counted; no node directory:
 *            one node), and the most sockets in a node, cores in a
 *            socket, threads in a core.  When these do not multiply to
 *            cpus, or a file is missing or malformed: 1 node, 1 socket,
 *            cpus cores, 1 thread (libvirt's fallback too).
 *
 * Every file is read up to a bounded size; nothing read can crash it.
 */
#pragma once

#include <glib.h>

#define HOSTINFO_MODEL_BUFLEN 32 /* remote_node_get_info_ret's char model[32] */

typedef struct {
    char model[HOSTINFO_MODEL_BUFLEN]; /* NUL-terminated */
    unsigned long long memory_kib;
    unsigned int cpus;
    unsigned int mhz;
    unsigned int nodes;
    unsigned int sockets; /* per node */
    unsigned int cores; /* per socket */
    unsigned int threads; /* per core */
} HostInfo;

/* Where hostinfo_read looks; NULL or 0 fields mean the real host's. */
typedef struct {
    const char *root; /* stands for "/": ROOT/proc/meminfo, ROOT/sys/... */
    const char *machine; /* instead of uname's */
    long online_cpus; /* > 0: instead of sysconf(_SC_NPROCESSORS_ONLN) */
} HostInfoSource;

/* Fills *info; src NULL: the real host.  FALSE with *error only when the
 * memory size or the CPU count cannot be had. */
gboolean hostinfo_read(const HostInfoSource *src, HostInfo *info, GError **error);
