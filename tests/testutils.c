/*
 * testutils.c: the data-driven golden-file harness the tests share.
 */
#include <config.h>

#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "testutils.h"

const char *test_top_srcdir(void)
{
    const char *top = g_getenv("FERRY_TOP_SRCDIR");

    return top && *top ? top : FERRY_TOP_SRCDIR;
}

char *test_data_path(const char *subdir, const char *name)
{
    return g_build_filename(test_top_srcdir(), "tests", "data", subdir, name, NULL);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *test_data_list(const char *subdir, const char *suffix)
{
    g_autofree char *dir = test_data_path(subdir, NULL);
    g_autofree char *golden = g_strconcat(".out", suffix, NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) gdir = g_dir_open(dir, 0, &err);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;

    if (!gdir)
        g_error("cannot list %s: %s", dir, err->message);
    while ((entry = g_dir_read_name(gdir))) {
        if (g_str_has_suffix(entry, suffix) && !g_str_has_suffix(entry, golden))
            g_ptr_array_add(names, g_strndup(entry, strlen(entry) - strlen(suffix)));
    }
    g_ptr_array_sort(names, compare_names);
    return g_steal_pointer(&names);
}

char *test_data_read(const char *subdir, const char *name)
{
    g_autofree char *path = test_data_path(subdir, name);
    g_autoptr(GError) err = NULL;
    char *text = NULL;

    if (g_file_get_contents(path, &text, NULL, &err))
        return text;
    if (!g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_error("cannot read %s: %s", path, err->message);
    return NULL;
}

char *test_data_read_required(const char *subdir, const char *name)
{
    char *text = test_data_read(subdir, name);

    if (!text)
        g_error("tests/data/%s/%s is missing", subdir, name);
    return text;
}

gboolean test_data_exists(const char *subdir, const char *name)
{
    g_autofree char *path = test_data_path(subdir, name);

    return g_file_test(path, G_FILE_TEST_EXISTS);
}

char *test_data_expected_error(const char *subdir, const char *stem)
{
    g_autofree char *name = g_strconcat(stem, ".err", NULL);
    char *text = test_data_read(subdir, name);

    return text ? g_strstrip(text) : NULL;
}

gboolean test_regenerate(void)
{
    return g_strcmp0(g_getenv("FERRY_TEST_REGENERATE"), "1") == 0 ||
           g_strcmp0(g_getenv("FERRY_TEST_REGENERATE_OUTPUT"), "1") == 0;
}

/* `diff -u` of the two texts (run without a shell), or NULL when diff
 * cannot run. */
static char *unified_diff(const char *what, const char *expected, const char *actual)
{
    g_autofree char *dir = g_dir_make_tmp("ferry-test-diff-XXXXXX", NULL);
    g_autofree char *a_path = NULL;
    g_autofree char *b_path = NULL;
    g_autofree char *a_label = NULL;
    g_autofree char *out = NULL;
    int status = 0;

    if (!dir)
        return NULL;
    a_path = g_build_filename(dir, "expected", NULL);
    b_path = g_build_filename(dir, "actual", NULL);
    a_label = g_strdup_printf("%s (expected)", what);
    if (g_file_set_contents(a_path, expected, -1, NULL) &&
        g_file_set_contents(b_path, actual, -1, NULL)) {
        const char *argv[] = { "diff",   "-u",   "--label", a_label, "--label",
                               "actual", a_path, b_path,    NULL };

        /* diff exits 1 when the files differ, 2 on trouble. */
        if (!g_spawn_sync(NULL, (char **)argv, NULL,
                          G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                          &status, NULL) ||
            !WIFEXITED(status) || WEXITSTATUS(status) != 1 || !out || !*out)
            g_clear_pointer(&out, g_free);
    }
    g_unlink(a_path);
    g_unlink(b_path);
    g_rmdir(dir);
    return g_steal_pointer(&out);
}

static void report_difference(const char *what, const char *expected, const char *actual)
{
    g_autofree char *diff = unified_diff(what, expected, actual);
    g_auto(GStrv) a = NULL;
    g_auto(GStrv) b = NULL;
    gsize i = 0;

    if (diff) {
        g_test_message("%s: diff -u expected actual\n%s", what, diff);
        return;
    }
    a = g_strsplit(expected, "\n", -1);
    b = g_strsplit(actual, "\n", -1);
    while (a[i] && b[i] && g_str_equal(a[i], b[i]))
        i++;
    g_test_message("%s: first difference at line %zu:\n-%s\n+%s", what, i + 1,
                   a[i] ? a[i] : "(end)", b[i] ? b[i] : "(end)");
    g_test_message("%s: expected:\n%s\nactual:\n%s", what, expected, actual);
}

gboolean test_compare_text(const char *what, const char *expected, const char *actual)
{
    if (g_strcmp0(expected, actual) == 0)
        return TRUE;
    report_difference(what, expected ? expected : "", actual ? actual : "");
    g_test_fail_printf("%s: the text differs from what was expected (see the diff)", what);
    return FALSE;
}

gboolean test_compare_golden(const char *subdir, const char *name, const char *actual)
{
    g_autofree char *path = test_data_path(subdir, name);
    g_autofree char *expected = NULL;
    g_autoptr(GError) err = NULL;

    if (test_regenerate()) {
        g_assert_true(g_file_set_contents(path, actual, -1, &err));
        g_assert_no_error(err);
        g_test_message("regenerated %s", path);
        return TRUE;
    }
    expected = test_data_read(subdir, name);
    if (!expected) {
        g_test_message("%s is missing; the actual output:\n%s", path, actual);
        g_test_fail_printf("%s: missing (FERRY_TEST_REGENERATE=1 writes it)", path);
        return FALSE;
    }
    if (g_str_equal(expected, actual))
        return TRUE;
    report_difference(path, expected, actual);
    g_test_fail_printf("%s differs from the actual output (see the diff; "
                       "FERRY_TEST_REGENERATE=1 rewrites it)",
                       path);
    return FALSE;
}

gboolean test_check_error_contains(const char *what, const GError *err, const char *expected)
{
    if (!err) {
        g_test_fail_printf("%s: succeeded, expected an error containing '%s'", what, expected);
        return FALSE;
    }
    if (!strstr(err->message, expected)) {
        g_test_fail_printf("%s: error '%s' lacks '%s'", what, err->message, expected);
        return FALSE;
    }
    return TRUE;
}

void test_assert_error_contains_at(const char *file, int line, const char *func, const GError *err,
                                   const char *expected)
{
    g_autofree char *msg = NULL;

    if (err && strstr(err->message, expected))
        return;
    if (err)
        msg = g_strdup_printf("error '%s' lacks '%s'", err->message, expected);
    else
        msg = g_strdup_printf("no error, expected one containing '%s'", expected);
    g_assertion_message(G_LOG_DOMAIN, file, line, func, msg);
}
