/*
 * libferry-testutils.c: temp roots, the test guest, leftover QEMUs.
 */
#include <config.h>

#include <string.h>

#include <glib/gstdio.h>

#include "tests/libferry-testutils.h"
#include "tests/testproc.h"

char *lft_make_root(const char *prefix)
{
    g_autofree char *tmpl = g_strdup_printf("%s-XXXXXX", prefix);
    char *root = g_dir_make_tmp(tmpl, NULL);

    g_assert_nonnull(root);
    return root;
}

void lft_remove_tree(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *entry;

    while (dir && (entry = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, entry, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
            lft_remove_tree(child);
        else
            g_unlink(child);
    }
    g_rmdir(path);
}

guint lft_kill_leftovers(const char *needle)
{
    return test_kill_processes_naming(needle);
}

char *lft_guest_kernel(void)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");

    return g_build_filename(top ? top : FERRY_TOP_BUILDDIR, "tests", "guest", "ferry-guest", NULL);
}

gboolean lft_have_guest(void)
{
    g_autofree char *kernel = lft_guest_kernel();

    if (!g_file_test(kernel, G_FILE_TEST_EXISTS)) {
        g_test_skip("the test guest was not built");
        return FALSE;
    }
    return TRUE;
}

char *lft_guest_xml(const char *root, const char *name, const char *uuid)
{
    g_autofree char *kernel = lft_guest_kernel();
    g_autofree char *serial_name = g_strdup_printf("serial-%s.log", name);
    g_autofree char *serial = g_build_filename(root, serial_name, NULL);

    return g_strdup_printf("<domain type='qemu'>\n"
                           "  <name>%s</name>\n"
                           "  <uuid>%s</uuid>\n"
                           "  <memory unit='MiB'>64</memory>\n"
                           "  <vcpu>1</vcpu>\n"
                           "  <os>\n"
                           "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                           "    <kernel>%s</kernel>\n"
                           "    <cmdline>mem=16 rate=100 seed=1</cmdline>\n"
                           "  </os>\n"
                           "  <devices>\n"
                           "    <serial type='file'><source path='%s'/></serial>\n"
                           "    <memballoon model='none'/>\n"
                           "  </devices>\n"
                           "</domain>\n",
                           name, uuid, kernel, serial);
}
