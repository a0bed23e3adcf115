/*
 * uuid.h: UUIDs (RFC 4122) as 16 raw bytes, the way libvirt's wire
 * protocol carries them (remote_uuid is opaque[16]).
 *
 *     unsigned char uuid[FERRY_UUID_BUFLEN];
 *     char str[FERRY_UUID_STRING_BUFLEN];
 *
 *     if (ferry_uuid_parse(text, uuid, error) < 0)
 *         return -1;
 *     FLOG_DEBUG("domain uuid %s", ferry_uuid_format(uuid, str));
 *
 * Named ferry_uuid_* because libuuid owns uuid_*.
 */
#pragma once

#include <stddef.h>

#include <glib.h>

#define FERRY_UUID_BUFLEN 16 /* raw bytes */
#define FERRY_UUID_STRING_BUFLEN 37 /* 8-4-4-4-12 hex digits and a NUL */

/* Parses str into uuid.  Accepted, in either case:
 *     0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0    (canonical 8-4-4-4-12)
 *     0f1e2d3c4b5a69788796a5b4c3d2e1f0        (32 hex digits, no hyphens)
 * Anything else is refused, including leading or trailing whitespace: this
 * parser is strict, and a caller reading a UUID from a file or a command
 * line trims first (ferry_uuid_read_file does).  libvirt is laxer (it skips
 * leading blanks and hyphens between any two bytes); what libvirt formats,
 * ferry parses.  On failure uuid is untouched and the message quotes the
 * input (escaped, and cut short when long).  Returns 0 or -1. */
int ferry_uuid_parse(const char *str, unsigned char *uuid, GError **error);

/* Lowercase canonical form into buf (FERRY_UUID_STRING_BUFLEN bytes);
 * returns buf so that it can be used inside a log or error call. */
const char *ferry_uuid_format(const unsigned char *uuid, char *buf);

/* A random version-4 UUID.  The bytes come from getrandom(), or from
 * /dev/urandom on kernels without getrandom (ENOSYS).  Returns 0 or -1. */
int ferry_uuid_generate(unsigned char *uuid, GError **error);

/* Turns 16 random bytes into a version-4 UUID: sets the version nibble to 4
 * and the RFC 4122 variant bits to 10.  For callers (tests, the daemon's
 * host-identity struct) that bring their own randomness. */
void ferry_uuid_from_random(unsigned char *uuid, const unsigned char *random);

/* Fills buf with len random bytes: getrandom(), or /dev/urandom when the
 * kernel lacks it.  Returns 0 or -1. */
int ferry_random_bytes(void *buf, size_t len, GError **error);

/* Fills buf with exactly len bytes read from the file at path (a character
 * device such as /dev/urandom); a short file is an error.  Returns 0 or -1. */
int ferry_random_bytes_from_file(const char *path, void *buf, size_t len, GError **error);

/* TRUE when all 16 bytes are zero (libvirt's "no UUID"). */
gboolean ferry_uuid_is_null(const unsigned char *uuid);

/* TRUE when all 16 bytes are equal: the null UUID, ffffffff-...-ffffffffffff
 * and the like, which broken firmware reports as a machine's identity and
 * which therefore cannot tell two hosts apart. */
gboolean ferry_uuid_is_degenerate(const unsigned char *uuid);

/* memcmp order: < 0, 0 or > 0. */
int ferry_uuid_compare(const unsigned char *a, const unsigned char *b);
gboolean ferry_uuid_equal(const unsigned char *a, const unsigned char *b);

/* Reads a UUID from a small text file (a --host-uuid file, DMI's
 * /sys/class/dmi/id/product_uuid, /etc/machine-id): surrounding whitespace
 * is trimmed, then the text is parsed as by ferry_uuid_parse.  Files larger
 * than 4 KiB are refused.  Messages name the file.  Returns 0 or -1. */
int ferry_uuid_read_file(const char *path, unsigned char *uuid, GError **error);
