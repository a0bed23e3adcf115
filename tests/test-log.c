/*
 * test-log.c: levels, per-module filters, outputs and their parsing.
 */
#include <config.h>

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "migration.begin"

#include "util/error.h"
#include "util/log.h"

typedef struct {
    char *dir;
    char *path;
} LogFixture;

static void fixture_setup(LogFixture *fx, gconstpointer data)
{
    fx->dir = g_dir_make_tmp("ferry-log-XXXXXX", NULL);
    g_assert_nonnull(fx->dir);
    fx->path = g_build_filename(fx->dir, "out.log", NULL);
    ferry_log_reset();
}

static void fixture_teardown(LogFixture *fx, gconstpointer data)
{
    ferry_log_reset();
    g_unlink(fx->path);
    g_rmdir(fx->dir);
    g_free(fx->path);
    g_free(fx->dir);
}

static char *read_log(LogFixture *fx)
{
    char *text = NULL;

    if (!g_file_get_contents(fx->path, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

static void set_file_output(LogFixture *fx, const char *level)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = g_strdup_printf("%s:file:%s", level, fx->path);

    g_assert_true(ferry_log_set_outputs(spec, &err));
    g_assert_no_error(err);
}

/* Log from a module other than this file's. */
#undef FERRY_LOG_MODULE
#define FERRY_LOG_MODULE "rpc.server"
static void log_from_rpc(const char *msg)
{
    FLOG_DEBUG("%s", msg);
    FLOG_WARN("%s", msg);
}
#undef FERRY_LOG_MODULE
#define FERRY_LOG_MODULE "migration.begin"

static void test_line_format(LogFixture *fx, gconstpointer data)
{
    set_file_output(fx, "1");
    g_assert_true(ferry_log_set_default_level("1", NULL));
    FLOG_INFO("hello %d", 42);
    g_autofree char *text = read_log(fx);
    g_autoptr(GRegex) re =
        g_regex_new("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\+0000: \\d+: info : "
                    "migration\\.begin : test_line_format:\\d+ : hello 42\n$",
                    0, 0, NULL);
    g_assert_true(g_regex_match(re, text, 0, NULL));
}

static void test_default_level_filters(LogFixture *fx, gconstpointer data)
{
    set_file_output(fx, "1");
    FLOG_DEBUG("debug-hidden");
    FLOG_INFO("info-hidden");
    FLOG_WARN("warn-shown");
    FLOG_ERROR("error-shown");
    g_autofree char *text = read_log(fx);
    g_assert_null(strstr(text, "debug-hidden"));
    g_assert_null(strstr(text, "info-hidden"));
    g_assert_nonnull(strstr(text, "warn-shown"));
    g_assert_nonnull(strstr(text, "error-shown"));
}

static void test_module_filters(LogFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;

    set_file_output(fx, "1");
    g_assert_true(ferry_log_set_filters("1:migration 4:rpc", &err));
    g_assert_no_error(err);
    FLOG_DEBUG("migration-debug");
    log_from_rpc("rpc-msg");
    g_autofree char *text = read_log(fx);
    g_assert_nonnull(strstr(text, "migration-debug"));
    /* rpc is at 4 (error): neither its debug nor its warning is written. */
    g_assert_null(strstr(text, "rpc-msg"));

    g_assert_cmpint(ferry_log_module_level("migration.perform"), ==, FERRY_LOG_DEBUG);
    g_assert_cmpint(ferry_log_module_level("rpc.client"), ==, FERRY_LOG_ERROR);
    g_assert_cmpint(ferry_log_module_level("util.spawn"), ==, FERRY_LOG_WARNING);

    /* The longest matching filter wins, whatever the order. */
    g_assert_true(ferry_log_set_filters("4:rpc.tls 1:rpc", NULL));
    g_assert_cmpint(ferry_log_module_level("rpc.tls"), ==, FERRY_LOG_ERROR);
    g_assert_cmpint(ferry_log_module_level("rpc.server"), ==, FERRY_LOG_DEBUG);
}

static void test_output_levels(LogFixture *fx, gconstpointer data)
{
    /* The file only takes errors, though debug is on for the module. */
    set_file_output(fx, "4");
    g_assert_true(ferry_log_set_filters("1:migration", NULL));
    FLOG_DEBUG("below-output");
    FLOG_ERROR("at-output");
    g_autofree char *text = read_log(fx);
    g_assert_null(strstr(text, "below-output"));
    g_assert_nonnull(strstr(text, "at-output"));
    g_assert_cmpint(ferry_log_module_level("migration.x"), ==, FERRY_LOG_ERROR);
}

static void emit_from_site(int i)
{
    FLOG_DEBUG("site message %d", i);
}

static void test_site_cache_follows_config(LogFixture *fx, gconstpointer data)
{
    set_file_output(fx, "1");
    emit_from_site(1); /* filtered: default level is warning */
    g_assert_true(ferry_log_set_default_level("debug", NULL));
    emit_from_site(2); /* the same call site now logs */
    g_assert_true(ferry_log_set_default_level("error", NULL));
    emit_from_site(3);
    g_autofree char *text = read_log(fx);
    g_assert_null(strstr(text, "site message 1"));
    g_assert_nonnull(strstr(text, "site message 2"));
    g_assert_null(strstr(text, "site message 3"));
}

typedef struct {
    const char *spec;
    const char *error; /* substring of the expected message, NULL = valid */
} SpecCase;

static void test_filter_specs(LogFixture *fx, gconstpointer data)
{
    static const SpecCase cases[] = {
        { "1:migration 3:rpc", NULL },
        { "  2:util.spawn\t4:qemu  ", NULL },
        { "", NULL },
        { "debug:rpc", NULL },
        { "7:rpc", "level '7' must be 1 (debug) to 4 (error)" },
        { "0:rpc", "level '0'" },
        { "rpc", "log filter 'rpc': expected LEVEL:MODULE" },
        { "1:", "module '' must be" },
        { "1:rpc/evil", "module 'rpc/evil' must be" },
        { ":rpc", "level ''" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        gboolean ok = ferry_log_set_filters(cases[i].spec, &err);

        g_test_message("filters '%s'", cases[i].spec);
        if (!cases[i].error) {
            g_assert_no_error(err);
            g_assert_true(ok);
        } else {
            g_assert_false(ok);
            g_assert_nonnull(err);
            g_assert_cmpint(err->code, ==, FERRY_ERR_PARSE);
            g_assert_nonnull(strstr(err->message, cases[i].error));
        }
    }
}

static void test_output_specs(LogFixture *fx, gconstpointer data)
{
    static const SpecCase cases[] = {
        { "2:stderr", NULL },
        { "1:file:relative.log", "file path 'relative.log' must be absolute" },
        { "1:syslog", "destination 'syslog' must be 'stderr' or 'file:PATH'" },
        { "9:stderr", "level '9'" },
        { "1:file:/nonexistent-dir/x.log", "cannot open '/nonexistent-dir/x.log'" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        gboolean ok = ferry_log_set_outputs(cases[i].spec, &err);

        g_test_message("outputs '%s'", cases[i].spec);
        if (!cases[i].error) {
            g_assert_true(ok);
        } else {
            g_assert_false(ok);
            g_assert_nonnull(strstr(err->message, cases[i].error));
        }
    }

    /* An overlong spec is refused before it is parsed. */
    g_autofree char *huge = g_strnfill(10000, 'a');
    g_autoptr(GError) err = NULL;
    g_assert_false(ferry_log_set_filters(huge, &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_OVERFLOW);
}

static void test_bad_spec_keeps_config(LogFixture *fx, gconstpointer data)
{
    g_assert_true(ferry_log_set_filters("1:migration", NULL));
    g_assert_false(ferry_log_set_filters("1:rpc 9:bad", NULL));
    g_assert_cmpint(ferry_log_module_level("migration.x"), ==, FERRY_LOG_DEBUG);
    g_assert_cmpint(ferry_log_module_level("rpc.x"), ==, FERRY_LOG_WARNING);
}

static void test_env(LogFixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *outputs = g_strdup_printf("2:stderr 1:file:%s", fx->path);

    g_setenv("FERRY_LOG_FILTERS", "1:migration 3:rpc", TRUE);
    g_setenv("FERRY_LOG_OUTPUTS", outputs, TRUE);
    g_setenv("FERRY_LOG_LEVEL", "4", TRUE);
    g_assert_true(ferry_log_init_from_env(&err));
    g_assert_no_error(err);
    g_assert_cmpint(ferry_log_module_level("migration.confirm"), ==, FERRY_LOG_DEBUG);
    g_assert_cmpint(ferry_log_module_level("rpc.client"), ==, FERRY_LOG_WARNING);
    g_assert_cmpint(ferry_log_module_level("util.uuid"), ==, FERRY_LOG_ERROR);
    FLOG_DEBUG("from-env");
    g_autofree char *text = read_log(fx);
    g_assert_nonnull(strstr(text, "from-env"));

    g_setenv("FERRY_LOG_FILTERS", "x:migration", TRUE);
    g_assert_false(ferry_log_init_from_env(&err));
    g_assert_nonnull(strstr(err->message, "FERRY_LOG_FILTERS: log filter 'x:migration'"));
    g_unsetenv("FERRY_LOG_FILTERS");
    g_unsetenv("FERRY_LOG_OUTPUTS");
    g_unsetenv("FERRY_LOG_LEVEL");
}

static void test_long_message_cut(LogFixture *fx, gconstpointer data)
{
    g_autofree char *big = g_strnfill(100000, 'z');

    set_file_output(fx, "1");
    FLOG_ERROR("%s", big);
    g_autofree char *text = read_log(fx);
    gsize len = strlen(text);
    g_assert_cmpuint(len, >, 1000);
    g_assert_cmpuint(len, <=, 16384);
    g_assert_cmpint(text[len - 1], ==, '\n');
}

#define THREADS 4
#define PER_THREAD 500

static gpointer log_thread(gpointer data)
{
    for (int i = 0; i < PER_THREAD; i++)
        FLOG_ERROR("thread %d line %d end", GPOINTER_TO_INT(data), i);
    return NULL;
}

static void test_threads_whole_lines(LogFixture *fx, gconstpointer data)
{
    GThread *threads[THREADS];

    set_file_output(fx, "1");
    for (int t = 0; t < THREADS; t++)
        threads[t] = g_thread_new("log", log_thread, GINT_TO_POINTER(t));
    for (int t = 0; t < THREADS; t++)
        g_thread_join(threads[t]);

    g_autofree char *text = read_log(fx);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint n = 0;
    for (char **l = lines; *l; l++) {
        if (!**l)
            continue;
        g_assert_true(g_str_has_suffix(*l, " end"));
        n++;
    }
    g_assert_cmpuint(n, ==, THREADS * PER_THREAD);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, LogFixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/log/line-format", test_line_format);
    ADD("/log/default-level-filters", test_default_level_filters);
    ADD("/log/module-filters", test_module_filters);
    ADD("/log/output-levels", test_output_levels);
    ADD("/log/site-cache-follows-config", test_site_cache_follows_config);
    ADD("/log/filter-specs", test_filter_specs);
    ADD("/log/output-specs", test_output_specs);
    ADD("/log/bad-spec-keeps-config", test_bad_spec_keeps_config);
    ADD("/log/env", test_env);
    ADD("/log/long-message-cut", test_long_message_cut);
    ADD("/log/threads-whole-lines", test_threads_whole_lines);
    return g_test_run();
}
