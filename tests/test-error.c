/*
 * test-error.c: ferry's error values and the thread-local last error.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "tests.error"

#include "util/error.h"
#include "util/log.h"

static int fail_with_arg(const char *name, GError **error)
{
    return ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain '%s': bad name", name);
}

static void test_set_one_line(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(fail_with_arg("web1", &err), ==, -1);
    g_assert_nonnull(err);
    g_assert_true(err->domain == ferry_error_quark(FERRY_FROM_MIGRATION));
    g_assert_cmpint(err->code, ==, FERRY_ERR_INVALID_ARG);
    g_assert_cmpstr(err->message, ==, "domain 'web1': bad name");
    g_assert_cmpint(ferry_error_domain_of(err), ==, FERRY_FROM_MIGRATION);
    g_assert_cmpint(ferry_error_code_of(err), ==, FERRY_ERR_INVALID_ARG);
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
    g_assert_false(ferry_error_is(err, FERRY_ERR_INTERNAL));
}

static void test_null_error_pointer(void)
{
    /* Callers that do not care pass NULL; reporting must still return -1. */
    g_assert_cmpint(fail_with_arg("x", NULL), ==, -1);
}

static void test_errno_suffix(void)
{
    g_autoptr(GError) err = NULL;

    ferry_fail_errno(&err, ENOENT, "cannot open '%s'", "/nonexistent");
    g_assert_cmpint(err->code, ==, FERRY_ERR_SYSTEM);
    g_assert_cmpstr(err->message, ==, "cannot open '/nonexistent': No such file or directory");
}

static void test_first_error_kept(void)
{
    g_autoptr(GError) err = NULL;

    ferry_fail(&err, FERRY_ERR_OPERATION_FAILED, "first");
    /* A second report into the same GError keeps the first. */
    ferry_fail(&err, FERRY_ERR_INTERNAL, "second");
    g_assert_cmpstr(err->message, ==, "first");

    GError *later =
        g_error_new_literal(ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_SYSTEM, "cleanup failed");
    ferry_error_keep_first(&err, later);
    g_assert_cmpstr(err->message, ==, "first");
    g_assert_cmpint(err->code, ==, FERRY_ERR_OPERATION_FAILED);

    g_autoptr(GError) none = NULL;
    ferry_error_keep_first(
        &none, g_error_new_literal(ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_SYSTEM, "only"));
    g_assert_cmpstr(none->message, ==, "only");
    ferry_error_keep_first(NULL, g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, "x"));
}

static void test_names_are_stable(void)
{
    g_assert_cmpstr(ferry_error_domain_name(FERRY_FROM_RPC), ==, "rpc");
    g_assert_cmpstr(ferry_error_domain_name(FERRY_FROM_LAST), ==, "unknown");
    g_assert_cmpstr(ferry_error_code_name(FERRY_ERR_NO_DOMAIN), ==, "no-domain");
    g_assert_cmpstr(ferry_error_code_name(FERRY_ERR_LAST), ==, "unknown");
    g_assert_cmpstr(ferry_error_code_name((FerryErrorCode)-3), ==, "unknown");
    /* Every domain has its own quark. */
    for (int a = 0; a < FERRY_FROM_LAST; a++)
        for (int b = a + 1; b < FERRY_FROM_LAST; b++)
            g_assert_true(ferry_error_quark(a) != ferry_error_quark(b));
}

static void test_foreign_errors_map(void)
{
    g_autoptr(GError) timeout = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "t");
    g_autoptr(GError) denied = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "d");
    g_autoptr(GError) file = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_NOENT, "f");
    g_autoptr(GError) other = g_error_new_literal(g_quark_from_static_string("x"), 7, "o");
    g_autoptr(GError) bogus = g_error_new_literal(ferry_error_quark(FERRY_FROM_RPC), 999, "b");

    g_assert_cmpint(ferry_error_domain_of(timeout), ==, FERRY_FROM_NONE);
    g_assert_cmpint(ferry_error_code_of(timeout), ==, FERRY_ERR_OPERATION_TIMEOUT);
    g_assert_cmpint(ferry_error_code_of(denied), ==, FERRY_ERR_OPERATION_DENIED);
    g_assert_cmpint(ferry_error_code_of(file), ==, FERRY_ERR_SYSTEM);
    g_assert_cmpint(ferry_error_code_of(other), ==, FERRY_ERR_INTERNAL);
    /* A ferry domain with an out-of-range code is a bug, reported as internal. */
    g_assert_cmpint(ferry_error_domain_of(bogus), ==, FERRY_FROM_RPC);
    g_assert_cmpint(ferry_error_code_of(bogus), ==, FERRY_ERR_INTERNAL);
    g_assert_cmpint(ferry_error_code_of(NULL), ==, FERRY_ERR_OK);
}

static gpointer last_error_thread(gpointer data)
{
    const char *name = data;
    g_autoptr(GError) err = NULL;

    /* Another thread sees none of the main thread's last error. */
    if (ferry_last_error_get() != NULL)
        return g_strdup("saw another thread's error");
    ferry_error_set(&err, FERRY_FROM_RPC, FERRY_ERR_RPC, "thread %s", name);
    ferry_last_error_set(err);
    const FerryErrorInfo *info = ferry_last_error_get();
    if (!info || info->code != FERRY_ERR_RPC || info->domain != FERRY_FROM_RPC)
        return g_strdup("last error not kept");
    return g_strdup(info->message);
}

static void test_last_error_thread_local(void)
{
    g_autoptr(GError) err = NULL;

    ferry_last_error_reset();
    g_assert_null(ferry_last_error_get());
    ferry_error_set(&err, FERRY_FROM_DRIVER, FERRY_ERR_NO_DOMAIN, "no domain 'a'");
    ferry_last_error_set(err);

    GThread *t = g_thread_new("last-error", last_error_thread, (gpointer) "b");
    g_autofree char *result = g_thread_join(t);
    g_assert_cmpstr(result, ==, "thread b");

    const FerryErrorInfo *info = ferry_last_error_get();
    g_assert_nonnull(info);
    g_assert_cmpint(info->domain, ==, FERRY_FROM_DRIVER);
    g_assert_cmpint(info->code, ==, FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(info->message, ==, "no domain 'a'");

    ferry_last_error_set(NULL);
    g_assert_null(ferry_last_error_get());
    ferry_last_error_set_info(FERRY_FROM_RPC, FERRY_ERR_AUTH_FAILED, NULL);
    g_assert_cmpstr(ferry_last_error_get()->message, ==, "auth-failed");
    ferry_last_error_reset();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("4:stderr", NULL);
    g_test_add_func("/error/set-one-line", test_set_one_line);
    g_test_add_func("/error/null-error-pointer", test_null_error_pointer);
    g_test_add_func("/error/errno-suffix", test_errno_suffix);
    g_test_add_func("/error/first-error-kept", test_first_error_kept);
    g_test_add_func("/error/names-are-stable", test_names_are_stable);
    g_test_add_func("/error/foreign-errors-map", test_foreign_errors_map);
    g_test_add_func("/error/last-error-thread-local", test_last_error_thread_local);
    return g_test_run();
}
