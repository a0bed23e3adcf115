/*
 * connect.c: the source's own connection for a tcp: migration, and the
 * tcp: URI both sides parse.
 *
 * For a plain tcp:HOST:PORT URI without PARALLEL, Perform3 does not let
 * QEMU connect: it resolves HOST, connects (non-blocking, bounded by
 * MIGRATION_CONNECT_TIMEOUT_MS, on its worker thread with the domain
 * unlocked, never on the I/O thread), hands the socket to QEMU with getfd
 * under the name "migrate" and starts `migrate` with "fd:migrate".  So a
 * destination that cannot be reached fails before QEMU starts anything,
 * with an error that names the address, and the source runs on untouched.
 * multifd (PARALLEL) opens further connections of QEMU's own in 7.2, and
 * unix:, rdma: and the like stay QEMU's: those keep the URI.
 */
#include <config.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.connect"

#include "migration/migration_priv.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"

gboolean migration_parse_tcp_uri(const char *name, const char *phase, const char *uri, char **host,
                                 int *port, GError **error)
{
    const char *rest;
    g_autofree char *h = NULL;
    const char *colon;

    if (g_str_has_prefix(uri, "tcp://"))
        rest = uri + 6;
    else if (g_str_has_prefix(uri, "tcp:"))
        rest = uri + 4;
    else {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "domain '%s': %s: migration URI '%s' is not supported (only tcp:)", name, phase,
                   uri);
        return FALSE;
    }
    if (rest[0] == '[') {
        const char *end = strchr(rest, ']');

        if (!end)
            goto bad;
        h = g_strndup(rest + 1, end - rest - 1);
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] && !colon)
            goto bad;
    } else {
        colon = strrchr(rest, ':');
        h = colon ? g_strndup(rest, colon - rest) : g_strdup(rest);
    }
    *port = 0;
    if (colon) {
        char *end = NULL;
        long p = strtol(colon + 1, &end, 10);

        if (!colon[1] || *end || p < 1 || p > 65535)
            goto bad;
        *port = (int)p;
    }
    if (!*h)
        goto bad;
    *host = g_steal_pointer(&h);
    return TRUE;

bad:
    ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain '%s': %s: bad migration URI '%s'", name, phase,
               uri);
    return FALSE;
}

char *migration_format_hostport(const char *host, int port)
{
    if (strchr(host, ':') && host[0] != '[')
        return g_strdup_printf("[%s]:%d", host, port);
    return g_strdup_printf("%s:%d", host, port);
}

/* One address: 0 and the connected socket in *fd, or an errno. */
static int connect_one(const struct addrinfo *ai, gint64 deadline, int *fd)
{
    g_auto(FerryFd) s =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    int err = 0;
    socklen_t len = sizeof(err);

    if (s < 0)
        return errno;
    if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS)
            return errno;
        for (;;) {
            struct pollfd pfd = { .fd = s, .events = POLLOUT };
            gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
            int n;

            if (left_ms <= 0)
                return ETIMEDOUT;
            n = poll(&pfd, 1, (int)MIN(left_ms, G_MAXINT));
            if (n > 0)
                break;
            if (n < 0 && errno != EINTR)
                return errno;
        }
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            return errno;
        if (err)
            return err;
    }
    /* QEMU gets it as a socket of its own would be: blocking */
    if (ferry_fd_set_nonblock(s, FALSE) < 0)
        return errno;
    *fd = ferry_fd_steal(&s);
    return 0;
}

int migration_connect(const char *name, const char *host, int port, int timeout_ms, GError **error)
{
    /* no AI_ADDRCONFIG: a host with loopback only must still reach
     * 127.0.0.1; an address family that cannot connect just fails over */
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    g_autofree char *service = g_strdup_printf("%d", port);
    g_autofree char *where = migration_format_hostport(host, port);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    int rc, err = 0;
    int fd = -1;

    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                   "domain '%s': cannot resolve '%s' to send the migration to %s: %s", name, host,
                   where, rc == EAI_SYSTEM ? g_strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        err = connect_one(ai, deadline, &fd);
        if (err == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (err == ETIMEDOUT)
            ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                       "domain '%s': cannot connect to %s for the migration: no answer in %d ms",
                       name, where, timeout_ms);
        else
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': cannot connect to %s for the migration: %s", name, where,
                       g_strerror(err ? err : EHOSTUNREACH));
        return -1;
    }
    FLOG_DEBUG("domain '%s': connected to %s for the migration", name, where);
    return fd;
}

gboolean migration_uri_ferry_connects(const char *uri, unsigned int flags)
{
    return !(flags & MIGRATION_PARALLEL) && g_str_has_prefix(uri, "tcp:");
}
