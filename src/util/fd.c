/*
 * fd.c: file descriptors with an owner.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fd.h"

void ferry_fd_close(int *fd)
{
    int saved = errno;

    if (*fd >= 0) {
        /* Linux frees the descriptor even when close() fails with EINTR,
         * so it is never retried. */
        close(*fd);
        *fd = -1;
    }
    errno = saved;
}

static int fd_toggle_flag(int fd, int getcmd, int setcmd, int flag, gboolean on)
{
    int flags = fcntl(fd, getcmd);

    if (flags < 0)
        return -1;
    int want = on ? (flags | flag) : (flags & ~flag);
    if (want == flags)
        return 0;
    return fcntl(fd, setcmd, want) < 0 ? -1 : 0;
}

int ferry_fd_set_nonblock(int fd, gboolean on)
{
    return fd_toggle_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK, on);
}

int ferry_fd_set_cloexec(int fd, gboolean on)
{
    return fd_toggle_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, on);
}
