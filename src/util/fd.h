/*
 * fd.h: file descriptors with an owner.
 *
 *     g_auto(FerryFd) fd = open(path, O_RDONLY | O_CLOEXEC);
 *     ...
 *     return ferry_fd_steal(&fd);    // hand ownership to the caller
 *
 * GLib's g_autofd arrived in 2.76; Debian 12 has 2.74, so ferry has its own.
 */
#pragma once

#include <glib.h>

typedef int FerryFd;

/* Closes *fd when it is open and sets it to -1; keeps errno. */
void ferry_fd_close(int *fd);

static inline void ferry_fd_cleanup(FerryFd fd)
{
    ferry_fd_close(&fd);
}
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(FerryFd, ferry_fd_cleanup, -1)

static inline int ferry_fd_steal(int *fd)
{
    int ret = *fd;
    *fd = -1;
    return ret;
}

/* Turn O_NONBLOCK / FD_CLOEXEC on or off.  Return -1 with errno set. */
int ferry_fd_set_nonblock(int fd, gboolean on);
int ferry_fd_set_cloexec(int fd, gboolean on);
