/*
 * server_listen.c: the server's listening sockets (UNIX, TCP, TLS).
 *
 * Listeners are created on the caller's thread and then belong to the I/O
 * thread: accepting runs there, and closing is done there too (through
 * iothread_invoke_sync) so that no accept races with the close.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.server"

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/iothread.h"
#include "rpc/server_priv.h"

/* Connections accepted per wakeup before other sources get a turn. */
#define LISTENER_ACCEPT_BUDGET 32

typedef struct {
    RpcServer *srv;
    int fd;
    gboolean is_unix;
    char *path; /* UNIX: removed at close */
    TlsContext *tls;
    GSource *source;
} RpcServerListener;

static void listener_free(RpcServerListener *l)
{
    if (l->source) {
        g_source_destroy(l->source);
        g_source_unref(l->source);
    }
    ferry_fd_close(&l->fd);
    if (l->path && g_unlink(l->path) < 0 && errno != ENOENT)
        FLOG_WARN("cannot remove socket '%s': %s", l->path, g_strerror(errno));
    g_free(l->path);
    if (l->tls)
        tls_context_unref(l->tls);
    g_free(l);
}

static char *peer_name(const struct sockaddr_storage *ss, socklen_t len, gboolean is_unix,
                       const char *path)
{
    char host[NI_MAXHOST];
    char serv[NI_MAXSERV];

    if (is_unix)
        return g_strdup_printf("UNIX socket %s", path);
    if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return g_strdup("unknown peer");
    if (ss->ss_family == AF_INET6)
        return g_strdup_printf("[%s]:%s", host, serv);
    return g_strdup_printf("%s:%s", host, serv);
}

static gboolean listener_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    RpcServerListener *l = opaque;

    for (int i = 0; i < LISTENER_ACCEPT_BUDGET; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                FLOG_WARN("accept on %s failed: %s", l->path ? l->path : "TCP listener",
                          g_strerror(errno));
            break;
        }
        g_autofree char *peer = peer_name(&ss, len, l->is_unix, l->path);
        rpc_server_accept(l->srv, cfd, l->is_unix, peer, l->tls);
    }
    return G_SOURCE_CONTINUE;
}

static void listener_start_io(gpointer opaque)
{
    RpcServerListener *l = opaque;

    l->source = g_unix_fd_source_new(l->fd, G_IO_IN);
    g_source_set_callback(l->source, (GSourceFunc)(void (*)(void))listener_accept, l, NULL);
    g_source_set_name(l->source, "ferry-listener");
    g_source_attach(l->source, iothread_context());
    g_ptr_array_add(l->srv->listeners, l);
}

static gboolean listener_start(RpcServer *srv, RpcServerListener *l, GError **error)
{
    gboolean shutdown;

    g_mutex_lock(&srv->lock);
    shutdown = srv->shutdown;
    g_mutex_unlock(&srv->lock);
    if (shutdown) {
        listener_free(l);
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "the server is shutting down");
        return FALSE;
    }
    if (listen(l->fd, 128) < 0) {
        ferry_fail_errno(error, errno, "cannot listen on %s", l->path ? l->path : "TCP socket");
        listener_free(l);
        return FALSE;
    }
    if (!iothread_invoke_sync(listener_start_io, l, error)) {
        listener_free(l);
        return FALSE;
    }
    return TRUE;
}

static void listeners_close_io(gpointer opaque)
{
    RpcServer *srv = opaque;

    for (guint i = 0; i < srv->listeners->len; i++)
        listener_free(g_ptr_array_index(srv->listeners, i));
    g_ptr_array_set_size(srv->listeners, 0);
}

void rpc_server_close_listeners(RpcServer *srv)
{
    g_autoptr(GError) err = NULL;

    if (!iothread_invoke_sync(listeners_close_io, srv, &err))
        FLOG_ERROR("cannot stop the listeners: %s", err->message);
}

/* ---------------------------------------------------------------- UNIX */

/* TRUE when something accepts connections on path. */
static gboolean unix_socket_answers(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    g_auto(FerryFd) fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return FALSE;
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    return connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
}

static gboolean resolve_group(const char *group, gid_t *gid, GError **error)
{
    struct group grbuf;
    struct group *gr = NULL;
    char buf[4096];
    char *end = NULL;
    unsigned long n;

    errno = 0;
    n = strtoul(group, &end, 10);
    if (*group && end && *end == '\0' && errno == 0) {
        *gid = (gid_t)n;
        return TRUE;
    }
    if (getgrnam_r(group, &grbuf, buf, sizeof(buf), &gr) != 0 || !gr) {
        ferry_fail(error, FERRY_ERR_CONFIG, "unknown group '%s' for the UNIX socket", group);
        return FALSE;
    }
    *gid = gr->gr_gid;
    return TRUE;
}

gboolean rpc_server_listen_unix(RpcServer *srv, const char *path, mode_t mode, const char *group,
                                GError **error)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    g_autofree char *dir = g_path_get_dirname(path);
    g_auto(FerryFd) fd = -1;
    gid_t gid = (gid_t)-1;
    struct stat st;
    RpcServerListener *l;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        ferry_fail(error, FERRY_ERR_CONFIG, "UNIX socket path '%s' is longer than %zu bytes", path,
                   sizeof(addr.sun_path) - 1);
        return FALSE;
    }
    if (group && !resolve_group(group, &gid, error))
        return FALSE;
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        ferry_fail_errno(error, errno, "cannot create directory '%s' for the socket", dir);
        return FALSE;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "cannot listen on '%s': it exists and is not a socket", path);
            return FALSE;
        }
        if (unix_socket_answers(path)) {
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "cannot listen on '%s': the socket is in use (another daemon runs?)", path);
            return FALSE;
        }
        FLOG_INFO("removing stale socket '%s'", path);
        if (unlink(path) < 0 && errno != ENOENT) {
            ferry_fail_errno(error, errno, "cannot remove stale socket '%s'", path);
            return FALSE;
        }
    }

    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        ferry_fail_errno(error, errno, "cannot create a UNIX socket");
        return FALSE;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        ferry_fail_errno(error, errno, "cannot bind UNIX socket '%s'", path);
        return FALSE;
    }
    if (chmod(path, mode) < 0) {
        ferry_fail_errno(error, errno, "cannot set mode %04o on '%s'", (unsigned)mode, path);
        unlink(path);
        return FALSE;
    }
    if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) {
        ferry_fail_errno(error, errno, "cannot set group %s on '%s'", group, path);
        unlink(path);
        return FALSE;
    }
    l = g_new0(RpcServerListener, 1);
    l->srv = srv;
    l->fd = ferry_fd_steal(&fd);
    l->is_unix = TRUE;
    l->path = g_strdup(path);
    return listener_start(srv, l, error);
}

/* ---------------------------------------------------------------- TCP */

gboolean rpc_server_listen_tcp(RpcServer *srv, const char *host, guint port, TlsContext *tls,
                               guint *bound_port, GError **error)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    g_autofree char *service = g_strdup_printf("%u", port);
    guint nbound = 0;
    guint actual = port;
    int saved = 0;
    int rc;

    if (tls && tls_context_get_role(tls) != TLS_ROLE_SERVER) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "a TLS listener needs a server TLS context");
        return FALSE;
    }
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        ferry_fail(error, FERRY_ERR_CONFIG, "cannot resolve listen address '%s': %s",
                   host ? host : "*", gai_strerror(rc));
        return FALSE;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        g_auto(FerryFd) fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        int one = 1;
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        RpcServerListener *l;

        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        /* Every address on the same port, the first one's when port is 0. */
        if (nbound > 0 && port == 0) {
            if (ai->ai_family == AF_INET)
                ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons(actual);
            else if (ai->ai_family == AF_INET6)
                ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons(actual);
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            saved = errno;
            continue;
        }
        if (nbound == 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
            actual = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                              : ntohs(((struct sockaddr_in *)&ss)->sin_port);
        l = g_new0(RpcServerListener, 1);
        l->srv = srv;
        l->fd = ferry_fd_steal(&fd);
        l->tls = tls ? tls_context_ref(tls) : NULL;
        if (!listener_start(srv, l, error)) {
            freeaddrinfo(res);
            return FALSE;
        }
        nbound++;
    }
    freeaddrinfo(res);
    if (bound_port && nbound > 0)
        *bound_port = actual;
    if (nbound == 0) {
        ferry_fail(error, FERRY_ERR_SYSTEM, "cannot listen on %s:%u: %s", host ? host : "*", port,
                   g_strerror(saved ? saved : EADDRNOTAVAIL));
        return FALSE;
    }
    return TRUE;
}
