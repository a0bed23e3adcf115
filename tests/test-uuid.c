/*
 * test-uuid.c: parsing, formatting and generating UUIDs.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "util/error.h"
#include "util/uuid.h"

#define UTIL_ERROR ferry_error_quark(FERRY_FROM_UTIL)

/* ---- parse and format ---- */

typedef struct {
    const char *input;
    const char *canonical; /* what ferry_uuid_format prints back */
} UuidGoodCase;

static const UuidGoodCase good_cases[] = {
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" },
    { "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" },
    { "0f1E2d3C-4b5A-6978-8796-a5B4c3D2e1F0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" },
    { "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" },
    { "0F1E2D3C4B5A69788796A5B4C3D2E1F0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" },
    { "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000" },
    { "ffffffff-ffff-ffff-ffff-ffffffffffff", "ffffffff-ffff-ffff-ffff-ffffffffffff" },
    { "c7a5fdbd-cdaf-9455-926a-d65c16db1809", "c7a5fdbd-cdaf-9455-926a-d65c16db1809" },
};

static void test_parse_good(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(good_cases); i++) {
        const UuidGoodCase *c = &good_cases[i];
        unsigned char uuid[FERRY_UUID_BUFLEN];
        char buf[FERRY_UUID_STRING_BUFLEN];
        g_autoptr(GError) err = NULL;

        g_test_message("parse '%s'", c->input);
        g_assert_cmpint(ferry_uuid_parse(c->input, uuid, &err), ==, 0);
        g_assert_no_error(err);
        g_assert_cmpstr(ferry_uuid_format(uuid, buf), ==, c->canonical);
        g_assert_cmpuint(strlen(buf), ==, FERRY_UUID_STRING_BUFLEN - 1);
    }
}

static void test_parse_bytes(void)
{
    static const unsigned char want[FERRY_UUID_BUFLEN] = {
        0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
        0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
    };
    unsigned char uuid[FERRY_UUID_BUFLEN];

    g_assert_cmpint(ferry_uuid_parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", uuid, NULL), ==, 0);
    g_assert_cmpmem(uuid, sizeof(uuid), want, sizeof(want));
}

typedef struct {
    const char *input;
    const char *message; /* a substring of the error message */
} UuidBadCase;

static const UuidBadCase bad_cases[] = {
    { NULL, "no UUID given" },
    { "", "invalid UUID '': empty string" },
    { "xyz", "invalid UUID 'xyz': expected 32 hex digits" },
    { "xyz", "got 3 characters" },
    /* one digit short, one digit long, with and without hyphens */
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f", "got 35 characters" },
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f00", "got 37 characters" },
    { "0f1e2d3c4b5a69788796a5b4c3d2e1f", "got 31 characters" },
    { "0f1e2d3c4b5a69788796a5b4c3d2e1f00", "got 33 characters" },
    /* not hex */
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg", "character 36 ('g') is not a hex digit" },
    { "gf1e2d3c4b5a69788796a5b4c3d2e1f0", "character 1 ('g') is not a hex digit" },
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1\0010", "character 35 (byte 0x01)" },
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1+0", "character 35 ('+') is not a hex digit" },
    /* hyphens in the wrong places */
    { "0f1e2d3-c4b5a-6978-8796-a5b4c3d2e1f0", "misplaced '-' at character 8" },
    { "0f1e2d3c4-b5a-6978-8796-a5b4c3d2e1f0", "expected '-' at character 9, found '4'" },
    { "0f1e2d3c-4b5a-6978-8796a-5b4c3d2e1f0", "expected '-' at character 24, found 'a'" },
    { "0f1e-2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "got 37 characters" },
    { "0f1e2d3c-4b5a69788796a5b4c3d2e1f0", "got 33 characters" },
    { "0f1e2d3c4b5a69788796a5b4c3d2e1-0", "misplaced '-' at character 31" },
    { "0f1e2d3c4b5a69788796a5b4c3d2e1f0----", "expected '-' at character 9, found '4'" },
    { "------------------------------------", "misplaced '-' at character 1" },
    /* whitespace is not trimmed */
    { " 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "leading or trailing whitespace" },
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n", "leading or trailing whitespace" },
    { "0f1e2d3c4b5a69788796a5b4c3d2e1f0 ", "leading or trailing whitespace" },
    { "0f1e2d3c-4b5a-6978-8796 a5b4c3d2e1f0", "expected '-' at character 24, found ' '" },
    /* other spellings of a UUID */
    { "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}", "got 38 characters" },
    { "urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "got 45 characters" },
    { "0x0f1e2d3c4b5a69788796a5b4c3d2e1f0", "got 34 characters" },
};

static void test_parse_bad(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        const UuidBadCase *c = &bad_cases[i];
        unsigned char uuid[FERRY_UUID_BUFLEN];
        unsigned char before[FERRY_UUID_BUFLEN];
        g_autoptr(GError) err = NULL;

        g_test_message("case %zu: expect '%s'", i, c->message);
        memset(uuid, 0xaa, sizeof(uuid));
        memcpy(before, uuid, sizeof(before));
        g_assert_cmpint(ferry_uuid_parse(c->input, uuid, &err), ==, -1);
        g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
        g_assert_nonnull(strstr(err->message, c->message));
        g_assert_true(g_utf8_validate(err->message, -1, NULL));
        /* a failed parse leaves the output alone */
        g_assert_cmpmem(uuid, sizeof(uuid), before, sizeof(before));
        /* and a NULL error is allowed */
        g_assert_cmpint(ferry_uuid_parse(c->input, uuid, NULL), ==, -1);
    }
}

static void test_parse_huge(void)
{
    const size_t len = 1024 * 1024;
    g_autofree char *huge = g_malloc(len + 1);
    unsigned char uuid[FERRY_UUID_BUFLEN];
    g_autoptr(GError) err = NULL;

    memset(huge, 'a', len);
    huge[len] = '\0';
    g_assert_cmpint(ferry_uuid_parse(huge, uuid, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
    g_assert_nonnull(strstr(err->message, "got 1048576 characters"));
    g_assert_nonnull(strstr(err->message, "aaaa...'"));
    /* the quote is cut short: the message stays small */
    g_assert_cmpuint(strlen(err->message), <, 256);
}

static void test_parse_nonprintable_quoted(void)
{
    /* invalid UTF-8 and control characters are escaped in the message */
    unsigned char uuid[FERRY_UUID_BUFLEN];
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(ferry_uuid_parse("\xff\xfe\n\x1b[31m", uuid, &err), ==, -1);
    g_assert_true(g_utf8_validate(err->message, -1, NULL));
    g_assert_null(strchr(err->message, '\x1b'));
    g_assert_null(strchr(err->message, '\n'));
    g_assert_nonnull(strstr(err->message, "\\377\\376\\n\\033[31m"));
}

/* ---- generate ---- */

static void assert_v4(const unsigned char *uuid)
{
    char buf[FERRY_UUID_STRING_BUFLEN];

    g_assert_cmphex(uuid[6] >> 4, ==, 4);
    g_assert_cmphex(uuid[8] >> 6, ==, 2);
    ferry_uuid_format(uuid, buf);
    g_assert_cmpint(buf[14], ==, '4');
    g_assert_nonnull(strchr("89ab", buf[19]));
}

static void test_generate(void)
{
    unsigned char a[FERRY_UUID_BUFLEN];
    unsigned char b[FERRY_UUID_BUFLEN];
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(ferry_uuid_generate(a, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(ferry_uuid_generate(b, &err), ==, 0);
    g_assert_no_error(err);
    assert_v4(a);
    assert_v4(b);
    g_assert_false(ferry_uuid_is_null(a));
    g_assert_false(ferry_uuid_equal(a, b));
    g_assert_cmpint(ferry_uuid_compare(a, b), !=, 0);
}

static void test_generate_many(void)
{
    /* 122 random bits: 1000 UUIDs never collide, all are v4, and every one
     * survives format -> parse unchanged. */
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (int i = 0; i < 1000; i++) {
        unsigned char uuid[FERRY_UUID_BUFLEN];
        unsigned char back[FERRY_UUID_BUFLEN];
        char buf[FERRY_UUID_STRING_BUFLEN];

        g_assert_cmpint(ferry_uuid_generate(uuid, NULL), ==, 0);
        assert_v4(uuid);
        ferry_uuid_format(uuid, buf);
        g_assert_cmpint(ferry_uuid_parse(buf, back, NULL), ==, 0);
        g_assert_true(ferry_uuid_equal(uuid, back));
        g_assert_true(g_hash_table_add(seen, g_strdup(buf)));
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, 1000);
}

typedef struct {
    unsigned char fill;
    const char *expected;
} UuidFromRandomCase;

static const UuidFromRandomCase from_random_cases[] = {
    { 0x00, "00000000-0000-4000-8000-000000000000" },
    { 0xff, "ffffffff-ffff-4fff-bfff-ffffffffffff" },
    { 0x5a, "5a5a5a5a-5a5a-4a5a-9a5a-5a5a5a5a5a5a" },
    { 0xc3, "c3c3c3c3-c3c3-43c3-83c3-c3c3c3c3c3c3" },
};

static void test_from_random(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(from_random_cases); i++) {
        const UuidFromRandomCase *c = &from_random_cases[i];
        unsigned char random[FERRY_UUID_BUFLEN];
        unsigned char uuid[FERRY_UUID_BUFLEN];
        char buf[FERRY_UUID_STRING_BUFLEN];

        memset(random, c->fill, sizeof(random));
        ferry_uuid_from_random(uuid, random);
        g_assert_cmpstr(ferry_uuid_format(uuid, buf), ==, c->expected);
        /* in place works too */
        ferry_uuid_from_random(random, random);
        g_assert_cmpmem(random, sizeof(random), uuid, sizeof(uuid));
    }
}

/* ---- random bytes ---- */

static char *make_tmpdir(void)
{
    g_autoptr(GError) err = NULL;
    char *dir = g_dir_make_tmp("ferry-test-uuid-XXXXXX", &err);

    g_assert_no_error(err);
    return dir;
}

static char *write_tmpfile(const char *dir, const char *name, const char *data, gssize len)
{
    g_autoptr(GError) err = NULL;
    char *path = g_build_filename(dir, name, NULL);

    g_assert_true(g_file_set_contents(path, data, len, &err));
    g_assert_no_error(err);
    return path;
}

static void test_random_bytes(void)
{
    unsigned char a[64] = { 0 };
    unsigned char b[64] = { 0 };
    unsigned char zero[64] = { 0 };

    g_assert_cmpint(ferry_random_bytes(a, sizeof(a), NULL), ==, 0);
    g_assert_cmpint(ferry_random_bytes(b, sizeof(b), NULL), ==, 0);
    g_assert_true(memcmp(a, b, sizeof(a)) != 0);
    g_assert_true(memcmp(a, zero, sizeof(a)) != 0);
    /* zero bytes is a no-op */
    g_assert_cmpint(ferry_random_bytes(a, 0, NULL), ==, 0);
}

static void test_random_bytes_from_file(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *shortfile = write_tmpfile(dir, "short", "abc", 3);
    g_autofree char *missing = g_build_filename(dir, "missing", NULL);
    unsigned char buf[16] = { 0 };
    unsigned char zero[16] = { 0 };
    g_autoptr(GError) err = NULL;

    /* the /dev/urandom fallback path */
    g_assert_cmpint(ferry_random_bytes_from_file("/dev/urandom", buf, sizeof(buf), &err), ==, 0);
    g_assert_no_error(err);
    g_assert_true(memcmp(buf, zero, sizeof(buf)) != 0);

    /* a file that ends early is an error that says how far it got */
    g_assert_cmpint(ferry_random_bytes_from_file(shortfile, buf, sizeof(buf), &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_SYSTEM);
    g_assert_nonnull(strstr(err->message, shortfile));
    g_assert_nonnull(strstr(err->message, "ended after 3 of 16 bytes"));
    g_clear_error(&err);

    g_assert_cmpint(ferry_random_bytes_from_file(missing, buf, sizeof(buf), &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_SYSTEM);
    g_assert_nonnull(strstr(err->message, missing));
    g_assert_nonnull(strstr(err->message, g_strerror(ENOENT)));

    g_assert_cmpint(g_unlink(shortfile), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* ---- helpers ---- */

typedef struct {
    const char *a;
    const char *b;
    int compare;
    gboolean a_null;
    gboolean a_degenerate;
} UuidCompareCase;

static const UuidCompareCase compare_cases[] = {
    { "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000", 0, TRUE,
      TRUE },
    { "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000001", -1, TRUE,
      TRUE },
    { "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000000", 1, FALSE,
      FALSE },
    { "ffffffff-ffff-ffff-ffff-ffffffffffff", "00000000-0000-0000-0000-000000000000", 1, FALSE,
      TRUE },
    { "03000200-0400-0500-0006-000700080009", "03000200-0400-0500-0006-000700080009", 0, FALSE,
      FALSE },
    { "80000000-0000-0000-0000-000000000000", "7fffffff-ffff-ffff-ffff-ffffffffffff", 1, FALSE,
      FALSE },
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f1", -1, FALSE,
      FALSE },
    { "10000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000", 1, FALSE,
      FALSE },
    { "11111111-1111-1111-1111-111111111111", "11111111-1111-1111-1111-111111111111", 0, FALSE,
      TRUE },
};

static void test_compare(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(compare_cases); i++) {
        const UuidCompareCase *c = &compare_cases[i];
        unsigned char a[FERRY_UUID_BUFLEN];
        unsigned char b[FERRY_UUID_BUFLEN];

        g_test_message("compare %s %s", c->a, c->b);
        g_assert_cmpint(ferry_uuid_parse(c->a, a, NULL), ==, 0);
        g_assert_cmpint(ferry_uuid_parse(c->b, b, NULL), ==, 0);
        g_assert_cmpint(ferry_uuid_compare(a, b), ==, c->compare);
        g_assert_cmpint(ferry_uuid_compare(b, a), ==, -c->compare);
        g_assert_cmpint(ferry_uuid_equal(a, b), ==, c->compare == 0);
        g_assert_cmpint(ferry_uuid_is_null(a), ==, c->a_null);
        g_assert_cmpint(ferry_uuid_is_degenerate(a), ==, c->a_degenerate);
    }
}

/* ---- reading a file ---- */

typedef struct {
    const char *contents;
    gssize len; /* -1: strlen */
    const char *expected; /* canonical, or NULL for an error */
    const char *message; /* substring of the error */
} UuidFileCase;

static const UuidFileCase file_cases[] = {
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", -1, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", NULL },
    { "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\n", -1, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", NULL },
    /* /etc/machine-id style */
    { "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n", -1, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", NULL },
    { "  \t0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 \r\n\n", -1, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
      NULL },
    { "", -1, NULL, "invalid UUID '': empty string" },
    { "\n\n", -1, NULL, "invalid UUID '': empty string" },
    { "not a uuid\n", -1, NULL, "invalid UUID 'not a uuid'" },
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n", -1, NULL,
      "got 73 characters" },
    { "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\0junk", 41, NULL, "contains a NUL byte" },
};

static void test_read_file(void)
{
    g_autofree char *dir = make_tmpdir();

    for (size_t i = 0; i < G_N_ELEMENTS(file_cases); i++) {
        const UuidFileCase *c = &file_cases[i];
        g_autofree char *name = g_strdup_printf("case%zu", i);
        g_autofree char *path = write_tmpfile(dir, name, c->contents, c->len);
        unsigned char uuid[FERRY_UUID_BUFLEN];
        char buf[FERRY_UUID_STRING_BUFLEN];
        g_autoptr(GError) err = NULL;

        g_test_message("file case %zu", i);
        if (c->expected) {
            g_assert_cmpint(ferry_uuid_read_file(path, uuid, &err), ==, 0);
            g_assert_no_error(err);
            g_assert_cmpstr(ferry_uuid_format(uuid, buf), ==, c->expected);
        } else {
            g_assert_cmpint(ferry_uuid_read_file(path, uuid, &err), ==, -1);
            g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
            g_assert_nonnull(strstr(err->message, path));
            g_assert_nonnull(strstr(err->message, c->message));
        }
        g_assert_cmpint(g_unlink(path), ==, 0);
    }
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_read_file_limits(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *missing = g_build_filename(dir, "missing", NULL);
    unsigned char uuid[FERRY_UUID_BUFLEN];
    char buf[FERRY_UUID_STRING_BUFLEN];
    g_autoptr(GError) err = NULL;

    /* 4096 bytes (a UUID padded with blanks) is the most accepted */
    g_autofree char *padded = g_malloc(4096 + 1);
    memset(padded, ' ', 4096);
    memcpy(padded, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", 36);
    padded[4096] = '\0';
    g_autofree char *fits = write_tmpfile(dir, "fits", padded, 4096);
    g_assert_cmpint(ferry_uuid_read_file(fits, uuid, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpstr(ferry_uuid_format(uuid, buf), ==, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");

    /* one byte more is refused, however the rest looks */
    g_autofree char *big = g_malloc(4097);
    memcpy(big, padded, 4096);
    big[4096] = ' ';
    g_autofree char *toobig = write_tmpfile(dir, "toobig", big, 4097);
    g_assert_cmpint(ferry_uuid_read_file(toobig, uuid, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
    g_assert_nonnull(strstr(err->message, "is larger than 4096 bytes"));
    g_clear_error(&err);

    /* a device that never ends is refused too, not read forever */
    g_assert_cmpint(ferry_uuid_read_file("/dev/zero", uuid, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_INVALID_ARG);
    g_assert_nonnull(strstr(err->message, "/dev/zero"));
    g_clear_error(&err);

    g_assert_cmpint(ferry_uuid_read_file(missing, uuid, &err), ==, -1);
    g_assert_error(err, UTIL_ERROR, FERRY_ERR_SYSTEM);
    g_assert_nonnull(strstr(err->message, missing));

    g_assert_cmpint(g_unlink(fits), ==, 0);
    g_assert_cmpint(g_unlink(toobig), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/uuid/parse/good", test_parse_good);
    g_test_add_func("/uuid/parse/bytes", test_parse_bytes);
    g_test_add_func("/uuid/parse/bad", test_parse_bad);
    g_test_add_func("/uuid/parse/huge", test_parse_huge);
    g_test_add_func("/uuid/parse/nonprintable-quoted", test_parse_nonprintable_quoted);
    g_test_add_func("/uuid/generate/v4", test_generate);
    g_test_add_func("/uuid/generate/many", test_generate_many);
    g_test_add_func("/uuid/generate/from-random", test_from_random);
    g_test_add_func("/uuid/random/bytes", test_random_bytes);
    g_test_add_func("/uuid/random/from-file", test_random_bytes_from_file);
    g_test_add_func("/uuid/compare", test_compare);
    g_test_add_func("/uuid/read-file/cases", test_read_file);
    g_test_add_func("/uuid/read-file/limits", test_read_file_limits);

    return g_test_run();
}
