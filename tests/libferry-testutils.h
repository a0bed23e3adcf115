/*
 * libferry-testutils.h: what test-libferry and test-shell share: a temp
 * state root per test, the test guest's domain XML, and the check that no
 * QEMU is left behind.  GLib only: these tests see ferry from outside.
 */
#pragma once

#include <glib.h>

/* A new temporary directory (g_free; remove with lft_remove_tree). */
char *lft_make_root(const char *prefix);
void lft_remove_tree(const char *path);
/* Kills (SIGKILL) and counts the live processes whose command line or
 * environment contains needle (the root: QEMU's HOME is under it), as
 * test_kill_processes_naming (testproc.h) does: every test ends with
 * none. */
guint lft_kill_leftovers(const char *needle);
/* tests/guest/ferry-guest in the build tree (g_free). */
char *lft_guest_kernel(void);
/* A domain of the test guest; its serial log goes under root. */
char *lft_guest_xml(const char *root, const char *name, const char *uuid);
/* TRUE when the guest exists; else marks the test skipped. */
gboolean lft_have_guest(void);
