/*
 * fdpass.c: file descriptors over UNIX sockets (SCM_RIGHTS).
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "util.fdpass"

#include "error.h"
#include "fd.h"
#include "log.h"
#include "fdpass.h"

/* Control buffer for the most fds a message may carry, aligned for
 * struct cmsghdr. */
typedef union {
    char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
    struct cmsghdr align;
} FdpassControl;

static gboolean fdpass_errno_peer_closed(int err)
{
    return err == EPIPE || err == ECONNRESET;
}

/* Reports a failed send or receive.  Always -1. */
static int fdpass_fail_errno(GError **error, int err, const char *verb, int sock, gsize nfds)
{
    if (fdpass_errno_peer_closed(err))
        return ferry_fail(error, FERRY_ERR_NO_CONNECT,
                          "cannot %s %" G_GSIZE_FORMAT " fds over socket %d: "
                          "peer closed the connection",
                          verb, nfds, sock);
    return ferry_fail_errno(error, err, "cannot %s %" G_GSIZE_FORMAT " fds over socket %d", verb,
                            nfds, sock);
}

/* Waits until sock can take more data. */
static int fdpass_wait_writable(int sock, GError **error)
{
    struct pollfd pfd = { .fd = sock, .events = POLLOUT };

    for (;;) {
        int n = poll(&pfd, 1, -1);

        if (n > 0)
            return 0; /* POLLERR and POLLHUP show up in the next send() */
        if (n < 0 && errno != EINTR)
            return ferry_fail_errno(error, errno, "cannot wait for socket %d", sock);
    }
}

int fdpass_send(int sock, const void *buf, gsize len, const int *fds, gsize nfds, GError **error)
{
    FdpassControl control;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    if (len == 0 || !buf)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "passing fds over socket %d needs at least one byte of data", sock);
    if (nfds > FDPASS_MAX_FDS)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "cannot pass %" G_GSIZE_FORMAT " fds in one message over "
                          "socket %d: at most %d",
                          nfds, sock, FDPASS_MAX_FDS);
    if (nfds > 0 && !fds)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "no fd array for %" G_GSIZE_FORMAT " fds over socket %d", nfds, sock);

    if (nfds > 0) {
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);

        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
    }

    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return FDPASS_WOULD_BLOCK;
        return fdpass_fail_errno(error, errno, "send", sock, nfds);
    }

    /* The fds went with the first bytes: the rest must follow, whatever
     * it takes, or the peer sees half a message. */
    for (gsize done = (gsize)n; done < len;) {
        n = send(sock, (const char *)buf + done, len - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (fdpass_wait_writable(sock, error) < 0)
                    return -1;
                continue;
            }
            return fdpass_fail_errno(error, errno, "send", sock, nfds);
        }
        done += (gsize)n;
    }

    FLOG_DEBUG("sent %" G_GSIZE_FORMAT " bytes and %" G_GSIZE_FORMAT " fds over socket %d", len,
               nfds, sock);
    return 0;
}

static void fdpass_close_all(int *fds, gsize nfds)
{
    for (gsize i = 0; i < nfds; i++)
        ferry_fd_close(&fds[i]);
}

gssize fdpass_recv(int sock, void *buf, gsize len, int *fds, gsize max_fds, gsize *nfds,
                   GError **error)
{
    FdpassControl control;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    int got[FDPASS_MAX_FDS];
    gsize ngot = 0;
    ssize_t n;

    if (nfds)
        *nfds = 0;
    if (len == 0 || !buf)
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "receiving fds over socket %d needs room for at least one byte", sock);
    if (max_fds > 0 && (!fds || !nfds))
        return ferry_fail(error, FERRY_ERR_INVALID_ARG,
                          "no fd array for receiving fds over socket %d", sock);

    memset(&control, 0, sizeof(control));
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return FDPASS_WOULD_BLOCK;
        if (fdpass_errno_peer_closed(errno))
            return ferry_fail(error, FERRY_ERR_NO_CONNECT,
                              "cannot receive fds over socket %d: peer closed the connection",
                              sock);
        return ferry_fail_errno(error, errno, "cannot receive fds over socket %d", sock);
    }

    /* Collect every fd that arrived before judging the message, so that
     * none leaks whatever is wrong with it. */
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
            cmsg->cmsg_len < CMSG_LEN(0))
            continue;

        gsize count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *data = CMSG_DATA(cmsg);

        for (gsize i = 0; i < count; i++) {
            int fd;

            memcpy(&fd, data + i * sizeof(int), sizeof(int));
            if (ngot < G_N_ELEMENTS(got))
                got[ngot++] = fd;
            else
                ferry_fd_close(&fd); /* cannot happen: the buffer fits no more */
        }
    }

    if (n == 0) {
        fdpass_close_all(got, ngot);
        return ferry_fail(error, FERRY_ERR_NO_CONNECT,
                          "cannot receive fds over socket %d: peer closed the connection", sock);
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        fdpass_close_all(got, ngot);
        return ferry_fail(
            error, FERRY_ERR_OVERFLOW,
            "fds received over socket %d were cut off (more than %d in "
            "one message, or this process ran out of fds); closed the %" G_GSIZE_FORMAT
            " that arrived",
            sock, FDPASS_MAX_FDS, ngot);
    }
    if (msg.msg_flags & MSG_TRUNC) {
        fdpass_close_all(got, ngot);
        return ferry_fail(error, FERRY_ERR_OVERFLOW,
                          "message received over socket %d is longer than the %" G_GSIZE_FORMAT
                          "-byte buffer",
                          sock, len);
    }
    if (ngot > max_fds) {
        fdpass_close_all(got, ngot);
        return ferry_fail(error, FERRY_ERR_OVERFLOW,
                          "received %" G_GSIZE_FORMAT " fds over socket %d, more than "
                          "the %" G_GSIZE_FORMAT " expected; closed them",
                          ngot, sock, max_fds);
    }

    if (ngot > 0) {
        memcpy(fds, got, ngot * sizeof(int));
        *nfds = ngot;
    }
    FLOG_DEBUG("received %zd bytes and %" G_GSIZE_FORMAT " fds over socket %d", n, ngot, sock);
    return n;
}

int fdpass_send_fd(int sock, int fd, GError **error)
{
    const char byte = 'F';

    return fdpass_send(sock, &byte, 1, &fd, 1, error);
}

int fdpass_recv_fd(int sock, GError **error)
{
    char byte;
    int fd = -1;
    gsize nfds = 0;
    gssize n = fdpass_recv(sock, &byte, 1, &fd, 1, &nfds, error);

    if (n < 0)
        return (int)n;
    if (nfds == 0)
        return ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                          "received a message without an fd over socket %d", sock);
    return fd;
}
