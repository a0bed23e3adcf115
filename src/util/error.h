/*
 * error.h: ferry's errors.
 *
 * Internal functions take a GError ** (GLib's convention) whose domain is a
 * ferry subsystem and whose code is a FerryErrorCode: a stable number, one
 * per kind of failure, that the RPC layer maps onto libvirt's error numbers.
 * They return -1, FALSE or NULL and report once.  The public API keeps a
 * thread-local "last error" copied from the GError that ended a call.
 *
 * In a .c file:
 *     #define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
 *     ...
 *     if (len > MAX)
 *         return ferry_fail(error, FERRY_ERR_INVALID_ARG,
 *                           "name '%s' is longer than %d bytes", name, MAX);
 */
#pragma once

#include <glib.h>

typedef enum {
    FERRY_FROM_NONE = 0, /* not a ferry error (a GIO error, say) */
    FERRY_FROM_UTIL,
    FERRY_FROM_CONF, /* daemon configuration */
    FERRY_FROM_XML, /* domain XML */
    FERRY_FROM_COOKIE, /* migration cookie */
    FERRY_FROM_RPC,
    FERRY_FROM_TLS,
    FERRY_FROM_DRIVER,
    FERRY_FROM_QEMU,
    FERRY_FROM_MONITOR,
    FERRY_FROM_MIGRATION,
    FERRY_FROM_LOCK,
    FERRY_FROM_LIBFERRY,
    FERRY_FROM_DAEMON,
    FERRY_FROM_SHELL,
    FERRY_FROM_LAST
} FerryErrorDomain;

/* Stable: append only, never renumber. */
typedef enum {
    FERRY_ERR_OK = 0,
    FERRY_ERR_INTERNAL, /* a bug in ferry */
    FERRY_ERR_NO_SUPPORT, /* not implemented, or not by this QEMU */
    FERRY_ERR_INVALID_ARG, /* a caller passed something invalid */
    FERRY_ERR_OPERATION_FAILED,
    FERRY_ERR_OPERATION_INVALID, /* not valid in the object's current state */
    FERRY_ERR_OPERATION_DENIED,
    FERRY_ERR_OPERATION_TIMEOUT,
    FERRY_ERR_OPERATION_ABORTED,
    FERRY_ERR_SYSTEM, /* a system call failed; errno in the message */
    FERRY_ERR_XML, /* malformed or invalid XML */
    FERRY_ERR_CONFIG, /* bad configuration */
    FERRY_ERR_NO_DOMAIN,
    FERRY_ERR_DOMAIN_EXISTS,
    FERRY_ERR_RPC, /* wire protocol error */
    FERRY_ERR_AUTH_FAILED,
    FERRY_ERR_TLS,
    FERRY_ERR_NO_CONNECT,
    FERRY_ERR_MIGRATE_UNSAFE,
    FERRY_ERR_OVERFLOW, /* something read from outside is too big */
    FERRY_ERR_PARSE, /* malformed text: a URI, a number, a spec */
    FERRY_ERR_LAST
} FerryErrorCode;

/* The GError domain for a ferry subsystem. */
GQuark ferry_error_quark(FerryErrorDomain domain);

const char *ferry_error_domain_name(FerryErrorDomain domain);
const char *ferry_error_code_name(FerryErrorCode code);

/* Which ferry subsystem and code a GError carries.  A GError from another
 * domain (GIO, GLib's file or convert errors) maps to FERRY_FROM_NONE and,
 * for its code, FERRY_ERR_SYSTEM or FERRY_ERR_INTERNAL. */
FerryErrorDomain ferry_error_domain_of(const GError *err);
FerryErrorCode ferry_error_code_of(const GError *err);

/* Sets *error (when error is not NULL) and logs the message at debug level.
 * Always returns -1, so that "report and return -1" is one line. */
int ferry_error_set(GError **error, FerryErrorDomain domain, FerryErrorCode code, const char *fmt,
                    ...) G_GNUC_PRINTF(4, 5);

/* As ferry_error_set with FERRY_ERR_SYSTEM, appending ": <strerror(errnum)>". */
int ferry_error_set_errno(GError **error, FerryErrorDomain domain, int errnum, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

#define ferry_fail(error, code, ...) \
    ferry_error_set((error), FERRY_ERROR_DOMAIN, (code), __VA_ARGS__)
#define ferry_fail_errno(error, errnum, ...) \
    ferry_error_set_errno((error), FERRY_ERROR_DOMAIN, (errnum), __VA_ARGS__)

gboolean ferry_error_is(const GError *err, FerryErrorCode code);

/* Keeps the first error: when *first is unset, later becomes it; otherwise
 * later is logged as a warning (a cleanup error) and freed.  Takes later. */
void ferry_error_keep_first(GError **first, GError *later);

/* The thread-local last error of the public API. */
typedef struct {
    FerryErrorDomain domain;
    FerryErrorCode code;
    char *message;
} FerryErrorInfo;

/* Copies err into this thread's last error (err NULL resets it). */
void ferry_last_error_set(const GError *err);
void ferry_last_error_set_info(FerryErrorDomain domain, FerryErrorCode code, const char *message);
/* This thread's last error, or NULL when the last call succeeded. */
const FerryErrorInfo *ferry_last_error_get(void);
void ferry_last_error_reset(void);
