/*
 * fdpass.h: file descriptors over UNIX sockets (SCM_RIGHTS).
 *
 * One call sends a buffer of at least one byte with up to FDPASS_MAX_FDS
 * fds attached; the peer receives the fds together with the first byte of
 * that buffer.  Works on socketpairs and connected AF_UNIX stream sockets,
 * blocking or not, in either direction.
 *
 *     int fds[2] = { tap, vhost };
 *     if (fdpass_send(sock, "T", 1, fds, 2, error) < 0)   // sent: close ours
 *         return FALSE;
 *
 *     char tag;
 *     int got[FDPASS_MAX_FDS];
 *     gsize ngot;
 *     gssize n = fdpass_recv(sock, &tag, 1, got, G_N_ELEMENTS(got), &ngot, error);
 *
 * Results: the functions return FDPASS_WOULD_BLOCK (without setting *error)
 * when a non-blocking socket has no room or nothing to read (or a socket
 * timeout, SO_SNDTIMEO / SO_RCVTIMEO, expired); nothing was sent or
 * received and no fd changed hands.  EINTR is retried.  A peer that closed the
 * connection is an error with code FERRY_ERR_NO_CONNECT ("peer closed the
 * connection"); sending never raises SIGPIPE.  Received fds are
 * close-on-exec and belong to the caller; on any error every fd that did
 * arrive has been closed.
 */
#pragma once

#include <glib.h>

/* The most fds one message carries. */
#define FDPASS_MAX_FDS 32

/* Returned instead of -1 when a non-blocking socket would block. */
#define FDPASS_WOULD_BLOCK (-2)

/* Sends len (>= 1) bytes of buf and nfds (<= FDPASS_MAX_FDS) fds, which
 * stay open in the sender.  Returns 0 when all of it went out, -1 with
 * *error, or FDPASS_WOULD_BLOCK.  Once the fds and the first bytes are out,
 * the rest of buf is sent too, waiting for room if the socket is
 * non-blocking. */
int fdpass_send(int sock, const void *buf, gsize len, const int *fds, gsize nfds, GError **error);

/* Receives up to len (>= 1) bytes into buf, in one recvmsg() like recv(),
 * and the fds that came with them into fds (room for max_fds; *nfds gets
 * how many, 0 when none).  Returns the number of bytes received (>= 1), -1
 * with *error, or FDPASS_WOULD_BLOCK.  More fds than max_fds (or than
 * FDPASS_MAX_FDS) fail with FERRY_ERR_OVERFLOW, closing all of them. */
gssize fdpass_recv(int sock, void *buf, gsize len, int *fds, gsize max_fds, gsize *nfds,
                   GError **error);

/* One fd with a one-byte message.  fdpass_send_fd() returns as
 * fdpass_send(); fdpass_recv_fd() returns the fd, -1 with *error (also when
 * the byte came without an fd) or FDPASS_WOULD_BLOCK. */
int fdpass_send_fd(int sock, int fd, GError **error);
int fdpass_recv_fd(int sock, GError **error);
