/*
 * error.c: ferry's errors and the public API's thread-local last error.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

/* For GIO's error codes only: ferry does not link GIO (loading it and
 * what it pulls in costs every client process time), but a program using
 * libferry may hand in a GIO error. */
#include <gio/gio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "util.error"

#include "error.h"
#include "log.h"

static const char *const error_domain_names[] = {
    [FERRY_FROM_NONE] = "none",
    [FERRY_FROM_UTIL] = "util",
    [FERRY_FROM_CONF] = "conf",
    [FERRY_FROM_XML] = "xml",
    [FERRY_FROM_COOKIE] = "cookie",
    [FERRY_FROM_RPC] = "rpc",
    [FERRY_FROM_TLS] = "tls",
    [FERRY_FROM_DRIVER] = "driver",
    [FERRY_FROM_QEMU] = "qemu",
    [FERRY_FROM_MONITOR] = "monitor",
    [FERRY_FROM_MIGRATION] = "migration",
    [FERRY_FROM_LOCK] = "lock",
    [FERRY_FROM_LIBFERRY] = "libferry",
    [FERRY_FROM_DAEMON] = "daemon",
    [FERRY_FROM_SHELL] = "shell",
};
G_STATIC_ASSERT(G_N_ELEMENTS(error_domain_names) == FERRY_FROM_LAST);

/* GError domains must be static strings; "ferry-<name>" for each subsystem. */
static const char *const error_quark_names[] = {
    [FERRY_FROM_NONE] = "ferry-none",
    [FERRY_FROM_UTIL] = "ferry-util",
    [FERRY_FROM_CONF] = "ferry-conf",
    [FERRY_FROM_XML] = "ferry-xml",
    [FERRY_FROM_COOKIE] = "ferry-cookie",
    [FERRY_FROM_RPC] = "ferry-rpc",
    [FERRY_FROM_TLS] = "ferry-tls",
    [FERRY_FROM_DRIVER] = "ferry-driver",
    [FERRY_FROM_QEMU] = "ferry-qemu",
    [FERRY_FROM_MONITOR] = "ferry-monitor",
    [FERRY_FROM_MIGRATION] = "ferry-migration",
    [FERRY_FROM_LOCK] = "ferry-lock",
    [FERRY_FROM_LIBFERRY] = "ferry-libferry",
    [FERRY_FROM_DAEMON] = "ferry-daemon",
    [FERRY_FROM_SHELL] = "ferry-shell",
};
G_STATIC_ASSERT(G_N_ELEMENTS(error_quark_names) == FERRY_FROM_LAST);

static const char *const error_code_names[] = {
    [FERRY_ERR_OK] = "ok",
    [FERRY_ERR_INTERNAL] = "internal-error",
    [FERRY_ERR_NO_SUPPORT] = "no-support",
    [FERRY_ERR_INVALID_ARG] = "invalid-argument",
    [FERRY_ERR_OPERATION_FAILED] = "operation-failed",
    [FERRY_ERR_OPERATION_INVALID] = "operation-invalid",
    [FERRY_ERR_OPERATION_DENIED] = "operation-denied",
    [FERRY_ERR_OPERATION_TIMEOUT] = "operation-timeout",
    [FERRY_ERR_OPERATION_ABORTED] = "operation-aborted",
    [FERRY_ERR_SYSTEM] = "system-error",
    [FERRY_ERR_XML] = "xml-error",
    [FERRY_ERR_CONFIG] = "config-error",
    [FERRY_ERR_NO_DOMAIN] = "no-domain",
    [FERRY_ERR_DOMAIN_EXISTS] = "domain-exists",
    [FERRY_ERR_RPC] = "rpc-error",
    [FERRY_ERR_AUTH_FAILED] = "auth-failed",
    [FERRY_ERR_TLS] = "tls-error",
    [FERRY_ERR_NO_CONNECT] = "no-connect",
    [FERRY_ERR_MIGRATE_UNSAFE] = "migrate-unsafe",
    [FERRY_ERR_OVERFLOW] = "overflow",
    [FERRY_ERR_PARSE] = "parse-error",
};
G_STATIC_ASSERT(G_N_ELEMENTS(error_code_names) == FERRY_ERR_LAST);

GQuark ferry_error_quark(FerryErrorDomain domain)
{
    if ((unsigned)domain >= FERRY_FROM_LAST)
        domain = FERRY_FROM_NONE;
    return g_quark_from_static_string(error_quark_names[domain]);
}

const char *ferry_error_domain_name(FerryErrorDomain domain)
{
    if ((unsigned)domain >= FERRY_FROM_LAST)
        return "unknown";
    return error_domain_names[domain];
}

const char *ferry_error_code_name(FerryErrorCode code)
{
    if ((unsigned)code >= FERRY_ERR_LAST)
        return "unknown";
    return error_code_names[code];
}

FerryErrorDomain ferry_error_domain_of(const GError *err)
{
    if (!err)
        return FERRY_FROM_NONE;
    for (int d = FERRY_FROM_NONE + 1; d < FERRY_FROM_LAST; d++) {
        if (err->domain == ferry_error_quark(d))
            return d;
    }
    return FERRY_FROM_NONE;
}

FerryErrorCode ferry_error_code_of(const GError *err)
{
    if (!err)
        return FERRY_ERR_OK;
    if (ferry_error_domain_of(err) != FERRY_FROM_NONE) {
        if (err->code <= FERRY_ERR_OK || err->code >= FERRY_ERR_LAST)
            return FERRY_ERR_INTERNAL;
        return err->code;
    }
    /* GIO's domain, by name: 0 (no domain) unless GIO is loaded */
    if (err->domain == g_quark_try_string("g-io-error-quark")) {
        switch (err->code) {
        case G_IO_ERROR_TIMED_OUT:
            return FERRY_ERR_OPERATION_TIMEOUT;
        case G_IO_ERROR_CANCELLED:
            return FERRY_ERR_OPERATION_ABORTED;
        case G_IO_ERROR_INVALID_ARGUMENT:
            return FERRY_ERR_INVALID_ARG;
        case G_IO_ERROR_NOT_SUPPORTED:
            return FERRY_ERR_NO_SUPPORT;
        case G_IO_ERROR_PERMISSION_DENIED:
            return FERRY_ERR_OPERATION_DENIED;
        default:
            return FERRY_ERR_SYSTEM;
        }
    }
    if (err->domain == G_FILE_ERROR || err->domain == G_SPAWN_ERROR)
        return FERRY_ERR_SYSTEM;
    return FERRY_ERR_INTERNAL;
}

static int error_set_valist(GError **error, FerryErrorDomain domain, FerryErrorCode code,
                            const char *suffix, const char *fmt, va_list ap) G_GNUC_PRINTF(5, 0);

static int error_set_valist(GError **error, FerryErrorDomain domain, FerryErrorCode code,
                            const char *suffix, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);

    if (suffix) {
        char *full = g_strconcat(msg, ": ", suffix, NULL);
        g_free(msg);
        msg = full;
    }
    FLOG_DEBUG("%s error (%s): %s", ferry_error_domain_name(domain), ferry_error_code_name(code),
               msg);
    if (error) {
        /* Reporting twice is a bug: the first error is the one that counts. */
        if (*error) {
            FLOG_WARN("error reported over an earlier one, kept the earlier: %s", msg);
            return -1;
        }
        *error = g_error_new_literal(ferry_error_quark(domain), code, msg);
    }
    return -1;
}

int ferry_error_set(GError **error, FerryErrorDomain domain, FerryErrorCode code, const char *fmt,
                    ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_set_valist(error, domain, code, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int ferry_error_set_errno(GError **error, FerryErrorDomain domain, int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_set_valist(error, domain, FERRY_ERR_SYSTEM, g_strerror(errnum), fmt, ap);
    va_end(ap);
    return -1;
}

gboolean ferry_error_is(const GError *err, FerryErrorCode code)
{
    return err && ferry_error_code_of(err) == code;
}

void ferry_error_keep_first(GError **first, GError *later)
{
    if (!later)
        return;
    if (!first) {
        g_error_free(later);
        return;
    }
    if (!*first) {
        *first = later;
        return;
    }
    FLOG_WARN("while handling an earlier error (%s): %s", (*first)->message, later->message);
    g_error_free(later);
}

/* ------------------------------------------------------------ last error */

static void last_error_free(gpointer data)
{
    FerryErrorInfo *info = data;

    if (info) {
        g_free(info->message);
        g_free(info);
    }
}

static GPrivate last_error_key = G_PRIVATE_INIT(last_error_free);

void ferry_last_error_set_info(FerryErrorDomain domain, FerryErrorCode code, const char *message)
{
    FerryErrorInfo *info = g_new0(FerryErrorInfo, 1);

    info->domain = domain;
    info->code = code;
    info->message = g_strdup(message ? message : ferry_error_code_name(code));
    g_private_replace(&last_error_key, info);
}

void ferry_last_error_set(const GError *err)
{
    if (!err) {
        ferry_last_error_reset();
        return;
    }
    ferry_last_error_set_info(ferry_error_domain_of(err), ferry_error_code_of(err), err->message);
}

const FerryErrorInfo *ferry_last_error_get(void)
{
    return g_private_get(&last_error_key);
}

void ferry_last_error_reset(void)
{
    g_private_replace(&last_error_key, NULL);
}
