/*
 * uuid.c: UUIDs (RFC 4122) as 16 raw bytes.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "util.uuid"

#include "error.h"
#include "fd.h"
#include "log.h"
#include "uuid.h"

/* How much of a bad input an error message quotes. */
#define UUID_QUOTE_MAX 48
/* The largest file ferry_uuid_read_file accepts. */
#define UUID_FILE_MAX 4096

#define UUID_HEX_DIGITS (2 * FERRY_UUID_BUFLEN)
#define UUID_CANONICAL_LEN (FERRY_UUID_STRING_BUFLEN - 1)

G_STATIC_ASSERT(UUID_HEX_DIGITS == 32);
G_STATIC_ASSERT(UUID_CANONICAL_LEN == 36);

/* Offsets of the hyphens in the canonical form 8-4-4-4-12. */
static const size_t uuid_hyphens[] = { 8, 13, 18, 23 };

/* The input as an error message shows it: escaped and cut short. */
static char *uuid_quote(const char *str)
{
    size_t len = strlen(str);
    g_autofree char *head = g_strndup(str, MIN(len, UUID_QUOTE_MAX));
    g_autofree char *escaped = g_strescape(head, NULL);

    if (len > UUID_QUOTE_MAX)
        return g_strconcat(escaped, "...", NULL);
    return g_steal_pointer(&escaped);
}

/* One character as an error message shows it. */
static char *uuid_quote_char(char c)
{
    if (g_ascii_isprint(c))
        return g_strdup_printf("'%c'", c);
    return g_strdup_printf("byte 0x%02x", (unsigned char)c);
}

static gboolean uuid_is_hyphen_pos(size_t pos)
{
    for (size_t i = 0; i < G_N_ELEMENTS(uuid_hyphens); i++) {
        if (uuid_hyphens[i] == pos)
            return TRUE;
    }
    return FALSE;
}

int ferry_uuid_parse(const char *str, unsigned char *uuid, GError **error)
{
    unsigned char out[FERRY_UUID_BUFLEN] = { 0 };
    gboolean hyphens;
    size_t len;
    size_t digit = 0;

    if (!str)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "no UUID given");

    g_autofree char *quoted = uuid_quote(str);

    len = strlen(str);
    if (len == 0)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "invalid UUID '': empty string");
    if (g_ascii_isspace(str[0]) || g_ascii_isspace(str[len - 1]))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "invalid UUID '%s': leading or trailing whitespace", quoted);
    if (len == UUID_CANONICAL_LEN) {
        hyphens = TRUE;
    } else if (len == UUID_HEX_DIGITS) {
        hyphens = FALSE;
    } else {
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "invalid UUID '%s': expected 32 hex digits, bare or as "
                          "8-4-4-4-12 with hyphens, got %zu characters",
                          quoted, len);
    }

    for (size_t pos = 0; pos < len; pos++) {
        char c = str[pos];

        if (hyphens && uuid_is_hyphen_pos(pos)) {
            if (c != '-') {
                g_autofree char *what = uuid_quote_char(c);
                return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                                  "invalid UUID '%s': expected '-' at character %zu, found %s",
                                  quoted, pos + 1, what);
            }
            continue;
        }
        if (c == '-')
            return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                              "invalid UUID '%s': misplaced '-' at character %zu "
                              "(expected 8-4-4-4-12)",
                              quoted, pos + 1);

        int value = g_ascii_xdigit_value(c);
        if (value < 0) {
            g_autofree char *what = uuid_quote_char(c);
            return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                              "invalid UUID '%s': character %zu (%s) is not a hex digit", quoted,
                              pos + 1, what);
        }
        if (digit % 2 == 0)
            out[digit / 2] = (unsigned char)(value << 4);
        else
            out[digit / 2] |= (unsigned char)value;
        digit++;
    }
    g_assert(digit == UUID_HEX_DIGITS);

    memcpy(uuid, out, FERRY_UUID_BUFLEN);
    return 0;
}

const char *ferry_uuid_format(const unsigned char *uuid, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    size_t pos = 0;

    for (size_t i = 0; i < FERRY_UUID_BUFLEN; i++) {
        if (uuid_is_hyphen_pos(pos))
            buf[pos++] = '-';
        buf[pos++] = hex[uuid[i] >> 4];
        buf[pos++] = hex[uuid[i] & 0xf];
    }
    g_assert(pos == UUID_CANONICAL_LEN);
    buf[pos] = '\0';
    return buf;
}

void ferry_uuid_from_random(unsigned char *uuid, const unsigned char *random)
{
    memmove(uuid, random, FERRY_UUID_BUFLEN);
    /* RFC 4122 4.4: version 4 in the high nibble of time_hi_and_version
     * (byte 6), variant 10 in the high bits of clock_seq_hi (byte 8). */
    uuid[6] = (unsigned char)((uuid[6] & 0x0f) | 0x40);
    uuid[8] = (unsigned char)((uuid[8] & 0x3f) | 0x80);
}

int ferry_random_bytes_from_file(const char *path, void *buf, size_t len, GError **error)
{
    unsigned char *p = buf;
    size_t done = 0;
    g_auto(FerryFd) fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return ferry_fail_errno(error, errno, "cannot open '%s'", path);
    while (done < len) {
        ssize_t n = read(fd, p + done, len - done);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ferry_fail_errno(error, errno, "cannot read '%s'", path);
        }
        if (n == 0)
            return ferry_fail(error, FERRY_ERR_SYSTEM,
                              "cannot read '%s': it ended after %zu of %zu bytes", path, done, len);
        done += (size_t)n;
    }
    return 0;
}

int ferry_random_bytes(void *buf, size_t len, GError **error)
{
    unsigned char *p = buf;
    size_t done = 0;

    while (done < len) {
        ssize_t n = getrandom(p + done, len - done, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOSYS) {
                FLOG_DEBUG("getrandom() is not available; reading /dev/urandom");
                return ferry_random_bytes_from_file("/dev/urandom", p + done, len - done, error);
            }
            return ferry_fail_errno(error, errno, "cannot get %zu random bytes", len);
        }
        done += (size_t)n;
    }
    return 0;
}

int ferry_uuid_generate(unsigned char *uuid, GError **error)
{
    unsigned char random[FERRY_UUID_BUFLEN];

    if (ferry_random_bytes(random, sizeof(random), error) < 0)
        return -1;
    ferry_uuid_from_random(uuid, random);
    return 0;
}

gboolean ferry_uuid_is_null(const unsigned char *uuid)
{
    for (size_t i = 0; i < FERRY_UUID_BUFLEN; i++) {
        if (uuid[i] != 0)
            return FALSE;
    }
    return TRUE;
}

gboolean ferry_uuid_is_degenerate(const unsigned char *uuid)
{
    for (size_t i = 1; i < FERRY_UUID_BUFLEN; i++) {
        if (uuid[i] != uuid[0])
            return FALSE;
    }
    return TRUE;
}

int ferry_uuid_compare(const unsigned char *a, const unsigned char *b)
{
    int r = memcmp(a, b, FERRY_UUID_BUFLEN);

    return (r > 0) - (r < 0);
}

gboolean ferry_uuid_equal(const unsigned char *a, const unsigned char *b)
{
    return memcmp(a, b, FERRY_UUID_BUFLEN) == 0;
}

int ferry_uuid_read_file(const char *path, unsigned char *uuid, GError **error)
{
    /* One byte more than allowed, to tell "full" from "too big". */
    g_autofree char *text = g_malloc(UUID_FILE_MAX + 2);
    size_t len = 0;
    g_auto(FerryFd) fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return ferry_fail_errno(error, errno, "cannot open UUID file '%s'", path);
    while (len <= UUID_FILE_MAX) {
        ssize_t n = read(fd, text + len, UUID_FILE_MAX + 1 - len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ferry_fail_errno(error, errno, "cannot read UUID file '%s'", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > UUID_FILE_MAX)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "UUID file '%s' is larger than %d bytes",
                          path, UUID_FILE_MAX);
    text[len] = '\0';
    if (memchr(text, '\0', len))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG, "UUID file '%s' contains a NUL byte", path);

    if (ferry_uuid_parse(g_strstrip(text), uuid, error) < 0) {
        g_prefix_error(error, "UUID file '%s': ", path);
        return -1;
    }
    return 0;
}
