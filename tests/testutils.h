/*
 * testutils.h: the data-driven golden-file harness the tests share.
 *
 * Test data lives in tests/data/SUBDIR of the source tree (FERRY_TOP_SRCDIR
 * from the environment, else the one configure saw).  A test lists the
 * inputs of a folder, reads them, and compares what it made with a golden
 * file beside them, or checks an error against NAME.err:
 *
 *     g_autoptr(GPtrArray) names = test_data_list("cookie", ".xml");
 *     ...
 *     g_autofree char *want = test_data_expected_error("cookie", name);
 *     if (want) { ...; test_assert_error_contains(err, want); return; }
 *     g_autofree char *golden = g_strconcat(name, ".out.xml", NULL);
 *     test_compare_golden("cookie", golden, actual);
 *
 * FERRY_TEST_REGENERATE=1 (or FERRY_TEST_REGENERATE_OUTPUT=1, libvirt's
 * spelling) rewrites the golden files instead of comparing.  A mismatch
 * prints `diff -u expected actual` (both texts when diff cannot run) and
 * fails the test case without stopping the program.
 */
#pragma once

#include <glib.h>

/* The source tree's top directory (not to be freed). */
const char *test_top_srcdir(void);

/* tests/data/SUBDIR/NAME in the source tree; NAME may be NULL (the folder)
 * and may contain a '/'. */
char *test_data_path(const char *subdir, const char *name);

/* The names in tests/data/SUBDIR ending in SUFFIX, without it, sorted
 * (strcmp).  Golden outputs, names ending in ".out" SUFFIX, are left out.
 * An unreadable folder ends the program. */
GPtrArray *test_data_list(const char *subdir, const char *suffix);

/* tests/data/SUBDIR/NAME's text, or NULL when there is no such file; any
 * other failure to read it ends the program. */
char *test_data_read(const char *subdir, const char *name);

/* The same for a file the test cannot do without: a missing one ends the
 * program. */
char *test_data_read_required(const char *subdir, const char *name);

/* Whether tests/data/SUBDIR/NAME exists. */
gboolean test_data_exists(const char *subdir, const char *name);

/* The text of tests/data/SUBDIR/STEM.err without surrounding blanks: what
 * the error of input STEM must contain; NULL when STEM must succeed. */
char *test_data_expected_error(const char *subdir, const char *stem);

/* FERRY_TEST_REGENERATE=1 or FERRY_TEST_REGENERATE_OUTPUT=1. */
gboolean test_regenerate(void);

/* TRUE when expected equals actual; otherwise prints a unified diff
 * (labelled with WHAT), fails the test case and returns FALSE. */
gboolean test_compare_text(const char *what, const char *expected, const char *actual);

/* Compares actual with the golden file tests/data/SUBDIR/NAME (as
 * test_compare_text does; a missing golden file fails too), or, when
 * test_regenerate(), writes actual to it.  TRUE when the case may go on. */
gboolean test_compare_golden(const char *subdir, const char *name, const char *actual);

/* Non-fatal: TRUE when err is set and its message contains expected;
 * otherwise fails the test case (its messages start with WHAT). */
gboolean test_check_error_contains(const char *what, const GError *err, const char *expected);

/* As g_assert: err is set and its message contains expected. */
#define test_assert_error_contains(err, expected) \
    test_assert_error_contains_at(__FILE__, __LINE__, G_STRFUNC, (err), (expected))
void test_assert_error_contains_at(const char *file, int line, const char *func, const GError *err,
                                   const char *expected);
