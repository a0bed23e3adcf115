/*
 * libferry.c: initialization, the public last error, and connections.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LIBFERRY
#define FERRY_LOG_MODULE "libferry"

#include "libferry/libferry_priv.h"
#include "rpc/remote_driver.h"
#include "util/error.h"
#include "util/log.h"

/* The public enums mirror the internal ones number for number. */
G_STATIC_ASSERT((int)FERRY_ERROR_FROM_LAST == (int)FERRY_FROM_LAST);
G_STATIC_ASSERT((int)FERRY_ERROR_FROM_LIBFERRY == (int)FERRY_FROM_LIBFERRY);
G_STATIC_ASSERT((int)FERRY_ERROR_FROM_SHELL == (int)FERRY_FROM_SHELL);
G_STATIC_ASSERT((int)FERRY_ERROR_FROM_QEMU == (int)FERRY_FROM_QEMU);
G_STATIC_ASSERT((int)FERRY_ERROR_NUMBER_LAST == (int)FERRY_ERR_LAST);
G_STATIC_ASSERT((int)FERRY_ERROR_NO_DOMAIN == (int)FERRY_ERR_NO_DOMAIN);
G_STATIC_ASSERT((int)FERRY_ERROR_NO_CONNECT == (int)FERRY_ERR_NO_CONNECT);
G_STATIC_ASSERT((int)FERRY_ERROR_PARSE == (int)FERRY_ERR_PARSE);
G_STATIC_ASSERT((int)FERRY_CONNECT_LIST_DOMAINS_OTHER == (int)DRIVER_LIST_OTHER);
G_STATIC_ASSERT((int)FERRY_DOMAIN_START_AUTODESTROY == (int)DRIVER_START_AUTODESTROY);
G_STATIC_ASSERT((int)FERRY_DOMAIN_XML_MIGRATABLE == (int)DRIVER_XML_MIGRATABLE);
G_STATIC_ASSERT((int)FERRY_DOMAIN_JOB_STATS_KEEP_COMPLETED == (int)DRIVER_JOB_STATS_KEEP_COMPLETED);
G_STATIC_ASSERT((int)FERRY_DOMAIN_JOB_CANCELLED == (int)DRIVER_JOB_CANCELLED);
G_STATIC_ASSERT((int)FERRY_DOMAIN_PMSUSPENDED == (int)DRIVER_STATE_PMSUSPENDED);
G_STATIC_ASSERT(FERRY_UUID_STRING_BUFLEN == 37);

/* ---------------------------------------------------------------- init */

void libferry_init(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        g_autoptr(GError) err = NULL;

        if (!ferry_log_init_from_env(&err))
            fprintf(stderr, "libferry: ignoring the log settings: %s\n", err->message);
        driver_registry_add(&libferry_embed_registration);
        /* The remote driver (src/rpc): every URI but embed ones. */
        remote_driver_register();
        g_once_init_leave(&done, 1);
    }
}

/* ---------------------------------------------------------------- errors */

typedef struct {
    FerryError pub;
    char *message;
} PublicError;

static void public_error_free(gpointer data)
{
    PublicError *pe = data;

    g_free(pe->message);
    g_free(pe);
}

static GPrivate public_error = G_PRIVATE_INIT(public_error_free);

void libferry_enter(void)
{
    libferry_init();
    ferry_last_error_reset();
}

int libferry_fail_with(GError *err)
{
    if (!err)
        ferry_last_error_set_info(FERRY_FROM_LIBFERRY, FERRY_ERR_INTERNAL,
                                  "an operation failed without saying why");
    else
        ferry_last_error_set(err);
    g_clear_error(&err);
    return -1;
}

int libferry_fail_arg(const char *func, const char *what)
{
    g_autofree char *msg = g_strdup_printf("%s: %s", func, what);

    libferry_init();
    ferry_last_error_set_info(FERRY_FROM_LIBFERRY, FERRY_ERR_INVALID_ARG, msg);
    return -1;
}

const FerryError *ferry_get_last_error(void)
{
    const FerryErrorInfo *info = ferry_last_error_get();
    PublicError *pe = g_private_get(&public_error);

    if (!info)
        return NULL;
    if (!pe) {
        pe = g_new0(PublicError, 1);
        g_private_set(&public_error, pe);
    }
    const char *msg = info->message ? info->message : "unknown error";
    /* A copy that stays put while the record is the same, so that pointers
     * handed out earlier stay valid until the next call that fails. */
    if (!pe->message || !g_str_equal(pe->message, msg)) {
        g_free(pe->message);
        pe->message = g_strdup(msg);
    }
    pe->pub.code = (FerryErrorNumber)info->code;
    pe->pub.domain = (FerryErrorFrom)info->domain;
    pe->pub.message = pe->message;
    return &pe->pub;
}

const char *ferry_get_last_error_message(void)
{
    const FerryError *err = ferry_get_last_error();

    return err ? err->message : "no error";
}

void ferry_reset_last_error(void)
{
    ferry_last_error_reset();
}

const char *ferry_error_number_name(int code)
{
    const char *name =
        code >= 0 && code < FERRY_ERR_LAST ? ferry_error_code_name((FerryErrorCode)code) : NULL;

    return name ? name : "UNKNOWN";
}

const char *ferry_error_from_name(int domain)
{
    const char *name = domain >= 0 && domain < FERRY_FROM_LAST
                           ? ferry_error_domain_name((FerryErrorDomain)domain)
                           : NULL;

    return name ? name : "unknown";
}

/* ---------------------------------------------------------------- versions */

int ferry_get_version(unsigned long long *lib_version)
{
    unsigned int major = 0, minor = 0, micro = 0;

    libferry_enter();
    if (!lib_version)
        return libferry_fail_arg(__func__, "lib_version is NULL");
    if (sscanf(PACKAGE_VERSION, "%u.%u.%u", &major, &minor, &micro) < 2) {
        ferry_last_error_set_info(FERRY_FROM_LIBFERRY, FERRY_ERR_INTERNAL,
                                  "bad package version '" PACKAGE_VERSION "'");
        return -1;
    }
    *lib_version = major * 1000000ULL + minor * 1000ULL + micro;
    return 0;
}

/* ---------------------------------------------------------------- connections */

FerryConnect *ferry_connect_open(const char *uri, unsigned int flags)
{
    GError *err = NULL;
    FerryConnect *conn;
    DriverConn *driver;

    libferry_enter();
    if (flags) {
        g_autofree char *msg = g_strdup_printf("unsupported flags 0x%x", flags);
        libferry_fail_arg(__func__, msg);
        return NULL;
    }
    driver = driver_registry_open(uri, 0, &err);
    if (!driver) {
        libferry_fail_with(err);
        return NULL;
    }
    conn = g_new0(FerryConnect, 1);
    conn->refs = 1;
    conn->driver = driver;
    g_mutex_init(&conn->lock);
    FLOG_DEBUG("connection %p open on '%s' (%s driver)", (void *)conn, driver->uri,
               driver->ops->name);
    return conn;
}

int ferry_connect_ref(FerryConnect *conn)
{
    libferry_init();
    if (!conn)
        return libferry_fail_arg(__func__, "connection is NULL");
    g_atomic_int_inc(&conn->refs);
    return 0;
}

int libferry_connect_unref(FerryConnect *conn)
{
    int left = g_atomic_int_add(&conn->refs, -1) - 1;

    if (left > 0)
        return left;
    FLOG_DEBUG("connection %p closed", (void *)conn);
    driver_conn_unref(conn->driver);
    g_mutex_clear(&conn->lock);
    g_free(conn->type);
    g_free(conn);
    return 0;
}

/* Leaves the last error alone: callers read it after cleaning up. */
int ferry_connect_close(FerryConnect *conn)
{
    libferry_init();
    if (!conn)
        return libferry_fail_arg(__func__, "connection is NULL");
    return libferry_connect_unref(conn);
}

char *ferry_connect_get_uri(FerryConnect *conn)
{
    GError *err = NULL;
    char *uri;

    LIBFERRY_CHECK_CONN(conn, NULL);
    LIBFERRY_NEED_OP(conn, get_uri, "getting the URI", NULL);
    uri = conn->driver->ops->get_uri(conn->driver, &err);
    if (!uri)
        libferry_fail_with(err);
    return uri;
}

char *ferry_connect_get_hostname(FerryConnect *conn)
{
    GError *err = NULL;
    char *host;

    LIBFERRY_CHECK_CONN(conn, NULL);
    LIBFERRY_NEED_OP(conn, get_hostname, "getting the hostname", NULL);
    host = conn->driver->ops->get_hostname(conn->driver, &err);
    if (!host)
        libferry_fail_with(err);
    return host;
}

int ferry_node_get_info(FerryConnect *conn, FerryNodeInfo *info)
{
    GError *err = NULL;
    HostInfo host;

    LIBFERRY_CHECK_CONN(conn, -1);
    if (!info)
        return libferry_fail_arg(__func__, "info is NULL");
    LIBFERRY_NEED_OP(conn, node_get_info, "getting the host's information", -1);
    if (!conn->driver->ops->node_get_info(conn->driver, &host, &err))
        return libferry_fail_with(err);
    G_STATIC_ASSERT(sizeof(info->model) == sizeof(host.model));
    memset(info, 0, sizeof(*info));
    memcpy(info->model, host.model, sizeof(info->model));
    info->model[sizeof(info->model) - 1] = '\0';
    info->memory = host.memory_kib;
    info->cpus = host.cpus;
    info->mhz = host.mhz;
    info->nodes = host.nodes;
    info->sockets = host.sockets;
    info->cores = host.cores;
    info->threads = host.threads;
    return 0;
}

const char *ferry_connect_get_type(FerryConnect *conn)
{
    GError *err = NULL;
    const char *type;

    LIBFERRY_CHECK_CONN(conn, NULL);
    LIBFERRY_NEED_OP(conn, get_type, "getting the hypervisor type", NULL);
    g_mutex_lock(&conn->lock);
    if (!conn->type)
        conn->type = conn->driver->ops->get_type(conn->driver, &err);
    type = conn->type;
    g_mutex_unlock(&conn->lock);
    if (!type)
        libferry_fail_with(err);
    return type;
}

int ferry_connect_get_version(FerryConnect *conn, unsigned long long *hv_version)
{
    GError *err = NULL;

    LIBFERRY_CHECK_CONN(conn, -1);
    if (!hv_version)
        return libferry_fail_arg(__func__, "hv_version is NULL");
    LIBFERRY_NEED_OP(conn, get_version, "getting the hypervisor version", -1);
    if (!conn->driver->ops->get_version(conn->driver, hv_version, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_connect_get_lib_version(FerryConnect *conn, unsigned long long *lib_version)
{
    GError *err = NULL;

    LIBFERRY_CHECK_CONN(conn, -1);
    if (!lib_version)
        return libferry_fail_arg(__func__, "lib_version is NULL");
    LIBFERRY_NEED_OP(conn, get_lib_version, "getting the library version", -1);
    if (!conn->driver->ops->get_lib_version(conn->driver, lib_version, &err))
        return libferry_fail_with(err);
    return 0;
}

int ferry_connect_list_all_domains(FerryConnect *conn, FerryDomain ***domains, unsigned int flags)
{
    GError *err = NULL;
    GArray *found;
    int n;

    LIBFERRY_CHECK_CONN(conn, -1);
    LIBFERRY_NEED_OP(conn, list_all_domains, "listing domains", -1);
    found = conn->driver->ops->list_all_domains(conn->driver, flags, &err);
    if (!found)
        return libferry_fail_with(err);
    n = (int)found->len;
    if (domains) {
        FerryDomain **out = g_new0(FerryDomain *, found->len + 1);

        for (guint i = 0; i < found->len; i++)
            out[i] = libferry_domain_new(conn, &g_array_index(found, DriverDomain, i));
        *domains = out;
    }
    driver_domain_array_free(found);
    return n;
}
