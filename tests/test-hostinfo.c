/*
 * test-hostinfo.c: hostinfo_read on fixture roots (tests/data/hostinfo/NAME
 * stands for "/"), one line per case: what it shows, or the error.
 */
#include <config.h>

#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "tests/testutils.h"
#include "util/error.h"
#include "util/hostinfo.h"
#include "util/log.h"

typedef struct {
    const char *root; /* under tests/data/hostinfo */
    const char *machine;
    long online_cpus;
    const char *expected; /* hostinfo_format's, or NULL */
    const char *error; /* a substring of the error, or NULL */
} HostInfoCase;

static const HostInfoCase cases[] = {
    { "two-socket", "x86_64", 8,
      "model=x86_64 memory=16318480 cpus=8 mhz=2400 nodes=1 sockets=2 cores=2 threads=2" },
    /* Not the 8 CPUs the topology has: one socket of 6 cores. */
    { "two-socket", "x86_64", 6,
      "model=x86_64 memory=16318480 cpus=6 mhz=2400 nodes=1 sockets=1 cores=6 threads=1" },
    /* An offline CPU and a memory-only node do not count; no "cpu MHz". */
    { "numa", "aarch64", 4,
      "model=aarch64 memory=65536000 cpus=4 mhz=0 nodes=2 sockets=1 cores=2 threads=1" },
    { "no-numa", "x86_64", 4,
      "model=x86_64 memory=16318480 cpus=4 mhz=1000 nodes=1 sockets=1 cores=4 threads=1" },
    /* No cpuinfo, a CPU without topology files. */
    { "missing", "x86_64", 4,
      "model=x86_64 memory=16318480 cpus=4 mhz=0 nodes=1 sockets=1 cores=4 threads=1" },
    /* "cpu MHz : fast", core_id "banana", binary "online". */
    { "garbage", "x86_64", 4,
      "model=x86_64 memory=16318480 cpus=4 mhz=0 nodes=1 sockets=1 cores=4 threads=1" },
    /* model is char[32] on the wire: cut to 31 bytes. */
    { "no-numa", "a-machine-name-longer-than-31-bytes", 4,
      "model=a-machine-name-longer-than-31-b memory=16318480 cpus=4 mhz=1000 nodes=1 sockets=1 "
      "cores=4 threads=1" },
    { "bad-meminfo", "x86_64", 4, NULL, "has no valid MemTotal line" },
    { "no-meminfo", "x86_64", 4, NULL, "cannot read the host's memory size from '" },
};

static char *hostinfo_format(const HostInfo *info)
{
    return g_strdup_printf("model=%s memory=%llu cpus=%u mhz=%u nodes=%u sockets=%u cores=%u "
                           "threads=%u",
                           info->model, info->memory_kib, info->cpus, info->mhz, info->nodes,
                           info->sockets, info->cores, info->threads);
}

static void test_cases(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const HostInfoCase *c = &cases[i];
        g_autofree char *root = test_data_path("hostinfo", c->root);
        HostInfoSource src = { .root = root, .machine = c->machine, .online_cpus = c->online_cpus };
        g_autoptr(GError) err = NULL;
        HostInfo info;
        gboolean ok = hostinfo_read(&src, &info, &err);

        g_test_message("case %s (%s, %ld CPUs)", c->root, c->machine, c->online_cpus);
        if (c->error) {
            g_assert_false(ok);
            test_check_error_contains(c->root, err, c->error);
            continue;
        }
        g_assert_no_error(err);
        g_assert_true(ok);
        g_autofree char *actual = hostinfo_format(&info);
        test_compare_text(c->root, c->expected, actual);
    }
}

/* Files far larger than what is read: only their heads are looked at. */
static void test_large_files(void)
{
    g_autofree char *root = g_dir_make_tmp("ferry-hostinfo-XXXXXX", NULL);
    g_autofree char *proc = g_build_filename(root, "proc", NULL);
    g_autofree char *meminfo = g_build_filename(proc, "meminfo", NULL);
    g_autofree char *cpuinfo = g_build_filename(proc, "cpuinfo", NULL);
    GString *big = g_string_new("MemTotal:        2048 kB\n");
    HostInfoSource src = { .root = root, .machine = "x86_64", .online_cpus = 2 };
    g_autoptr(GError) err = NULL;
    HostInfo info;

    g_assert_nonnull(root);
    g_assert_cmpint(g_mkdir(proc, 0700), ==, 0);
    /* 4 MiB: MemTotal first, the first "cpu MHz" after what is read. */
    while (big->len < 4 * 1024 * 1024)
        g_string_append(big, "filler: 0123456789abcdefghijklmnopqrstuvwxyz 0123456789 kB\n");
    g_string_append(big, "cpu MHz\t\t: 1234.5\n");
    g_assert_true(g_file_set_contents(meminfo, big->str, (gssize)big->len, NULL));
    g_assert_true(g_file_set_contents(cpuinfo, big->str, (gssize)big->len, NULL));
    g_string_free(big, TRUE);

    g_assert_true(hostinfo_read(&src, &info, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(info.memory_kib, ==, 2048);
    g_assert_cmpuint(info.mhz, ==, 0);
    /* No /sys at all: the fallback topology. */
    g_assert_cmpuint(info.nodes, ==, 1);
    g_assert_cmpuint(info.sockets, ==, 1);
    g_assert_cmpuint(info.cores, ==, 2);
    g_assert_cmpuint(info.threads, ==, 1);

    g_assert_cmpint(g_unlink(meminfo), ==, 0);
    g_assert_cmpint(g_unlink(cpuinfo), ==, 0);
    g_assert_cmpint(g_rmdir(proc), ==, 0);
    g_assert_cmpint(g_rmdir(root), ==, 0);
}

/* The real host: what nodeinfo would show here. */
static void test_this_host(void)
{
    g_autoptr(GError) err = NULL;
    HostInfo info;

    g_assert_true(hostinfo_read(NULL, &info, &err));
    g_assert_no_error(err);
    g_autofree char *text = hostinfo_format(&info);
    g_test_message("this host: %s", text);
    g_assert_cmpuint(info.cpus, ==, (unsigned int)sysconf(_SC_NPROCESSORS_ONLN));
    g_assert_cmpuint((guint64)info.nodes * info.sockets * info.cores * info.threads, ==, info.cpus);
    g_assert_cmpuint(info.memory_kib, >, 0);
    g_assert_cmpuint(strlen(info.model), >, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("3:stderr", NULL);
    g_test_add_func("/hostinfo/cases", test_cases);
    g_test_add_func("/hostinfo/large-files", test_large_files);
    g_test_add_func("/hostinfo/this-host", test_this_host);
    return g_test_run();
}
