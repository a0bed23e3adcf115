/*
 * hostinfo.c: the host's CPUs, memory and topology from /proc and /sys.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "util.hostinfo"

#include "error.h"
#include "fd.h"
#include "hostinfo.h"
#include "log.h"

/* How much of /proc/meminfo and /proc/cpuinfo is read: MemTotal is the
 * first line of one, the first CPU's "cpu MHz" within its first 2 KiB of
 * the other. */
#define HOSTINFO_PROC_MAX (64 * 1024)
/* A sysfs attribute holding one number. */
#define HOSTINFO_ATTR_MAX 64
/* CPU and node numbers above this are taken for garbage. */
#define HOSTINFO_ID_MAX 65535

/* ---------------------------------------------------------------- files */

/* The first max bytes of path at most, NUL-terminated (the rest, if any,
 * is not read); NULL with errno set when it cannot be opened or read. */
static char *hostinfo_read_head(const char *path, size_t max)
{
    g_autofree char *buf = g_malloc(max + 1);
    size_t len = 0;
    g_auto(FerryFd) fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return NULL;
    while (len < max) {
        ssize_t n = read(fd, buf + len, max - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return NULL;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return g_steal_pointer(&buf);
}

/* ROOT/REL, ROOT being "/" when unset. */
static char *hostinfo_path(const HostInfoSource *src, const char *rel)
{
    return g_build_filename(src->root && *src->root ? src->root : "/", rel, NULL);
}

/* A sysfs attribute that holds one integer in [min, max]: FALSE when it
 * is missing or anything else. */
static gboolean hostinfo_read_int(const char *path, gint64 min, gint64 max, gint64 *value)
{
    g_autofree char *text = hostinfo_read_head(path, HOSTINFO_ATTR_MAX);

    if (!text)
        return FALSE;
    return g_ascii_string_to_signed(g_strstrip(text), 10, min, max, value, NULL);
}

/* N when name is PREFIX followed by decimal digits only, else -1. */
static gint64 hostinfo_name_number(const char *name, const char *prefix)
{
    guint64 n = 0;

    if (!g_str_has_prefix(name, prefix))
        return -1;
    if (!g_ascii_string_to_unsigned(name + strlen(prefix), 10, 0, HOSTINFO_ID_MAX, &n, NULL))
        return -1;
    return (gint64)n;
}

/* ---------------------------------------------------------------- /proc */

static gboolean hostinfo_read_memory(const HostInfoSource *src, HostInfo *info, GError **error)
{
    g_autofree char *path = hostinfo_path(src, "proc/meminfo");
    g_autofree char *text = hostinfo_read_head(path, HOSTINFO_PROC_MAX);
    g_auto(GStrv) lines = NULL;

    if (!text) {
        ferry_fail_errno(error, errno, "cannot read the host's memory size from '%s'", path);
        return FALSE;
    }
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) words = NULL;
        guint64 kib = 0;

        if (!g_str_has_prefix(*l, "MemTotal:"))
            continue;
        /* "MemTotal:       16318480 kB" */
        words = g_strsplit_set(g_strstrip(*l + strlen("MemTotal:")), " \t", -1);
        if (g_strv_length(words) == 2 && g_str_equal(words[1], "kB") &&
            g_ascii_string_to_unsigned(words[0], 10, 1, G_MAXUINT64 / 1024, &kib, NULL)) {
            info->memory_kib = kib;
            return TRUE;
        }
        break;
    }
    ferry_fail(error, FERRY_ERR_PARSE, "cannot read the host's memory size: '%s' has no valid %s",
               path, "MemTotal line (\"MemTotal: N kB\")");
    return FALSE;
}

/* The first CPU's "cpu MHz : 2399.998", rounded; 0 when there is none. */
static unsigned int hostinfo_read_mhz(const HostInfoSource *src)
{
    g_autofree char *path = hostinfo_path(src, "proc/cpuinfo");
    g_autofree char *text = hostinfo_read_head(path, HOSTINFO_PROC_MAX);
    g_auto(GStrv) lines = NULL;

    if (!text) {
        FLOG_DEBUG("no CPU frequency: cannot read '%s': %s", path, g_strerror(errno));
        return 0;
    }
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        const char *colon;
        char *end = NULL;
        double mhz;

        if (!g_str_has_prefix(*l, "cpu MHz"))
            continue;
        colon = strchr(*l, ':');
        if (!colon)
            break;
        mhz = g_ascii_strtod(colon + 1, &end);
        if (end == colon + 1 || *g_strchug(end) != '\0' || !isfinite(mhz) || mhz < 0 || mhz > 1e6)
            break;
        return (unsigned int)(mhz + 0.5); /* rounded: mhz >= 0 */
    }
    FLOG_DEBUG("no CPU frequency in '%s'", path);
    return 0;
}

/* ---------------------------------------------------------------- /sys */

/* The CPUs of one node, and the largest counts seen in any node. */
typedef struct {
    GHashTable *sockets; /* socket id -> number of its distinct cores */
    GHashTable *cores; /* (socket, core) as gint64 -> number of its threads */
} NodeCpus;

typedef struct {
    unsigned int nodes; /* nodes with online CPUs */
    unsigned int sockets, cores, threads; /* the largest per node, socket, core */
} Topology;

static void node_cpus_clear(NodeCpus *node)
{
    g_clear_pointer(&node->sockets, g_hash_table_unref);
    g_clear_pointer(&node->cores, g_hash_table_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NodeCpus, node_cpus_clear)

/* Adds CPU cpu to node; FALSE when its files are missing or malformed.
 * An offline CPU is skipped. */
static gboolean node_cpus_add(const HostInfoSource *src, NodeCpus *node, gint64 cpu)
{
    g_autofree char *dir = g_strdup_printf("sys/devices/system/cpu/cpu%" G_GINT64_FORMAT, cpu);
    g_autofree char *online_rel = g_build_filename(dir, "online", NULL);
    g_autofree char *online = hostinfo_path(src, online_rel);
    g_autofree char *socket_rel = g_build_filename(dir, "topology", "physical_package_id", NULL);
    g_autofree char *core_rel = g_build_filename(dir, "topology", "core_id", NULL);
    g_autofree char *socket_path = hostinfo_path(src, socket_rel);
    g_autofree char *core_path = hostinfo_path(src, core_rel);
    gint64 on = 1, socket = 0, core = 0, key;
    guint threads;

    /* No "online" file (cpu0 often has none): the CPU cannot go offline. */
    if (g_file_test(online, G_FILE_TEST_EXISTS) && !hostinfo_read_int(online, 0, 1, &on)) {
        FLOG_DEBUG("malformed '%s'", online);
        return FALSE;
    }
    if (!on)
        return TRUE;
    /* physical_package_id is -1 where firmware does not say. */
    if (!hostinfo_read_int(socket_path, -1, G_MAXINT32, &socket) ||
        !hostinfo_read_int(core_path, 0, G_MAXINT32, &core)) {
        FLOG_DEBUG("CPU %" G_GINT64_FORMAT ": no readable socket and core ids", cpu);
        return FALSE;
    }

    key = (gint64)(((guint64)(guint32)socket << 32) | (guint32)core);
    threads = GPOINTER_TO_UINT(g_hash_table_lookup(node->cores, &key));
    if (threads == 0) {
        /* A core not seen before: one more core in its socket. */
        gpointer skey = GINT_TO_POINTER((int)socket);
        guint cores = GPOINTER_TO_UINT(g_hash_table_lookup(node->sockets, skey));

        g_hash_table_insert(node->sockets, skey, GUINT_TO_POINTER(cores + 1));
    }
    g_hash_table_insert(node->cores, g_memdup2(&key, sizeof(key)), GUINT_TO_POINTER(threads + 1));
    return TRUE;
}

/* Folds one node's counts into topo. */
static void node_cpus_fold(NodeCpus *node, Topology *topo)
{
    GHashTableIter iter;
    gpointer value;

    if (g_hash_table_size(node->cores) == 0)
        return; /* memory only, or every CPU offline */
    topo->nodes++;
    topo->sockets = MAX(topo->sockets, g_hash_table_size(node->sockets));
    g_hash_table_iter_init(&iter, node->sockets);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        topo->cores = MAX(topo->cores, GPOINTER_TO_UINT(value));
    g_hash_table_iter_init(&iter, node->cores);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        topo->threads = MAX(topo->threads, GPOINTER_TO_UINT(value));
}

/* The CPUs listed in directory rel (entries cpuN: a NUMA node's, or
 * /sys/devices/system/cpu itself) as one node.  FALSE: inconsistent. */
static gboolean hostinfo_read_node(const HostInfoSource *src, const char *rel, Topology *topo)
{
    g_autofree char *path = hostinfo_path(src, rel);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    g_auto(NodeCpus) node = {
        .sockets = g_hash_table_new(g_direct_hash, g_direct_equal),
        .cores = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL),
    };
    const char *name;

    if (!dir) {
        FLOG_DEBUG("cannot list '%s'", path);
        return FALSE;
    }
    while ((name = g_dir_read_name(dir))) {
        gint64 cpu = hostinfo_name_number(name, "cpu");

        if (cpu >= 0 && !node_cpus_add(src, &node, cpu))
            return FALSE;
    }
    node_cpus_fold(&node, topo);
    return TRUE;
}

/* Every node under /sys/devices/system/node, or the CPUs as one node when
 * the kernel has no NUMA directory.  FALSE: inconsistent. */
static gboolean hostinfo_read_topology(const HostInfoSource *src, Topology *topo)
{
    g_autofree char *path = hostinfo_path(src, "sys/devices/system/node");
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;

    if (!dir)
        return hostinfo_read_node(src, "sys/devices/system/cpu", topo);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *rel = NULL;

        if (hostinfo_name_number(name, "node") < 0)
            continue;
        rel = g_build_filename("sys/devices/system/node", name, NULL);
        if (!hostinfo_read_node(src, rel, topo))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- all */

gboolean hostinfo_read(const HostInfoSource *src, HostInfo *info, GError **error)
{
    static const HostInfoSource host = { 0 };
    Topology topo = { 0 };
    long cpus;
    guint64 product;

    if (!src)
        src = &host;
    memset(info, 0, sizeof(*info));

    if (src->machine) {
        g_strlcpy(info->model, src->machine, sizeof(info->model));
    } else {
        struct utsname uts;

        if (uname(&uts) < 0) {
            ferry_fail_errno(error, errno, "cannot read the host's machine type");
            return FALSE;
        }
        g_strlcpy(info->model, uts.machine, sizeof(info->model));
    }

    cpus = src->online_cpus > 0 ? src->online_cpus : sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus <= 0 || cpus > G_MAXINT) {
        ferry_fail(error, FERRY_ERR_SYSTEM, "cannot count the host's online CPUs (got %ld)", cpus);
        return FALSE;
    }
    info->cpus = (unsigned int)cpus;

    if (!hostinfo_read_memory(src, info, error))
        return FALSE;
    info->mhz = hostinfo_read_mhz(src);

    product = hostinfo_read_topology(src, &topo)
                  ? (guint64)topo.nodes * topo.sockets * topo.cores * topo.threads
                  : 0;
    if (product == info->cpus) {
        info->nodes = topo.nodes;
        info->sockets = topo.sockets;
        info->cores = topo.cores;
        info->threads = topo.threads;
    } else {
        FLOG_DEBUG("topology %u nodes x %u sockets x %u cores x %u threads is not the %u online "
                   "CPUs: reporting them as cores of one socket",
                   topo.nodes, topo.sockets, topo.cores, topo.threads, info->cpus);
        info->nodes = 1;
        info->sockets = 1;
        info->cores = info->cpus;
        info->threads = 1;
    }
    return TRUE;
}
