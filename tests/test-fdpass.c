/*
 * test-fdpass.c: passing fds over UNIX sockets.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_UTIL
#define FERRY_LOG_MODULE "tests.fdpass"

#include "util/error.h"
#include "util/fd.h"
#include "util/fdpass.h"
#include "util/log.h"

/* A socketpair and a pipe, closed on scope exit. */
typedef struct {
    int sv[2];
} SockPair;

static void sock_pair_close(SockPair *sp)
{
    ferry_fd_close(&sp->sv[0]);
    ferry_fd_close(&sp->sv[1]);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SockPair, sock_pair_close)

static void sock_pair_open(SockPair *sp)
{
    g_assert_no_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp->sv));
}

typedef struct {
    int fd[2];
} Pipe;

static void pipe_close(Pipe *p)
{
    ferry_fd_close(&p->fd[0]);
    ferry_fd_close(&p->fd[1]);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Pipe, pipe_close)

static void pipe_open(Pipe *p)
{
    g_assert_no_errno(pipe2(p->fd, O_CLOEXEC));
}

static int count_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *ent;
    int n = 0;

    g_assert_nonnull(dir);
    while ((ent = readdir(dir)))
        if (ent->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1; /* the directory's own fd */
}

/* Writes text through fd and checks that it comes out of the pipe's read
 * end: fd is (a copy of) that pipe's write end. */
static void assert_pipe_carries(int fd, int read_end, const char *text)
{
    char buf[128];
    gsize len = strlen(text);

    g_assert_cmpint(write(fd, text, len), ==, (gssize)len);
    g_assert_cmpint(read(read_end, buf, sizeof(buf)), ==, (gssize)len);
    g_assert_cmpmem(buf, len, text, len);
}

static void test_one_fd(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_auto(Pipe) p = { { -1, -1 } };
    g_autoptr(GError) err = NULL;

    sock_pair_open(&sp);
    pipe_open(&p);

    g_assert_cmpint(fdpass_send_fd(sp.sv[0], p.fd[1], &err), ==, 0);
    g_assert_no_error(err);

    g_auto(FerryFd) got = fdpass_recv_fd(sp.sv[1], &err);
    g_assert_no_error(err);
    g_assert_cmpint(got, >=, 0);
    g_assert_cmpint(got, !=, p.fd[1]);
    /* received close-on-exec */
    g_assert_cmpint(fcntl(got, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);

    assert_pipe_carries(got, p.fd[0], "through the passed fd");

    /* Once both copies of the write end are closed the reader sees EOF:
     * the passed fd is that write end, not some other file. */
    char c;
    ferry_fd_close(&got);
    ferry_fd_close(&p.fd[1]);
    g_assert_cmpint(read(p.fd[0], &c, 1), ==, 0);
}

static void test_many_fds_one_message(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    Pipe pipes[FDPASS_MAX_FDS];
    int send_fds[FDPASS_MAX_FDS];
    int got[FDPASS_MAX_FDS];
    g_autoptr(GError) err = NULL;
    char buf[64];
    gsize ngot = 0;

    sock_pair_open(&sp);
    for (gsize i = 0; i < FDPASS_MAX_FDS; i++) {
        pipe_open(&pipes[i]);
        send_fds[i] = pipes[i].fd[1];
    }

    g_assert_cmpint(fdpass_send(sp.sv[0], "hdr!", 4, send_fds, FDPASS_MAX_FDS, &err), ==, 0);
    g_assert_no_error(err);
    /* the message after it, with no fds, must not be confused with it */
    g_assert_cmpint(fdpass_send(sp.sv[0], "tail", 4, NULL, 0, &err), ==, 0);

    gssize n = fdpass_recv(sp.sv[1], buf, 4, got, G_N_ELEMENTS(got), &ngot, &err);
    g_assert_no_error(err);
    g_assert_cmpint(n, ==, 4);
    g_assert_cmpmem(buf, 4, "hdr!", 4);
    g_assert_cmpuint(ngot, ==, FDPASS_MAX_FDS);

    /* each fd arrives in its place */
    for (gsize i = 0; i < FDPASS_MAX_FDS; i++) {
        g_autofree char *text = g_strdup_printf("pipe %" G_GSIZE_FORMAT, i);

        assert_pipe_carries(got[i], pipes[i].fd[0], text);
        ferry_fd_close(&got[i]);
        pipe_close(&pipes[i]);
    }

    n = fdpass_recv(sp.sv[1], buf, sizeof(buf), got, G_N_ELEMENTS(got), &ngot, &err);
    g_assert_no_error(err);
    g_assert_cmpint(n, ==, 4);
    g_assert_cmpmem(buf, 4, "tail", 4);
    g_assert_cmpuint(ngot, ==, 0);
}

static void test_both_directions(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_auto(Pipe) a = { { -1, -1 } };
    g_auto(Pipe) b = { { -1, -1 } };
    g_autoptr(GError) err = NULL;

    sock_pair_open(&sp);
    pipe_open(&a);
    pipe_open(&b);

    g_assert_cmpint(fdpass_send_fd(sp.sv[0], a.fd[1], &err), ==, 0);
    g_assert_cmpint(fdpass_send_fd(sp.sv[1], b.fd[1], &err), ==, 0);
    g_assert_no_error(err);

    g_auto(FerryFd) at_1 = fdpass_recv_fd(sp.sv[1], &err);
    g_assert_no_error(err);
    g_auto(FerryFd) at_0 = fdpass_recv_fd(sp.sv[0], &err);
    g_assert_no_error(err);

    assert_pipe_carries(at_1, a.fd[0], "0 -> 1");
    assert_pipe_carries(at_0, b.fd[0], "1 -> 0");
}

static void test_connected_stream_socket(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("ferry-fdpass-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    g_auto(FerryFd) listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_auto(FerryFd) client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_auto(FerryFd) server = -1;
    g_auto(Pipe) a = { { -1, -1 } };
    g_auto(Pipe) b = { { -1, -1 } };

    g_assert_nonnull(dir);
    g_assert_cmpuint(strlen(path), <, sizeof(addr.sun_path));
    strcpy(addr.sun_path, path);
    g_assert_no_errno(bind(listener, (struct sockaddr *)&addr, sizeof(addr)));
    g_assert_no_errno(listen(listener, 1));
    g_assert_no_errno(connect(client, (struct sockaddr *)&addr, sizeof(addr)));
    server = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint(server, >=, 0);

    pipe_open(&a);
    pipe_open(&b);
    int two[2] = { a.fd[1], b.fd[1] };
    int got[4] = { -1, -1, -1, -1 };
    gsize ngot = 0;
    char buf[16];

    /* client -> server, two fds */
    g_assert_cmpint(fdpass_send(client, "AB", 2, two, 2, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(fdpass_recv(server, buf, sizeof(buf), got, 4, &ngot, &err), ==, 2);
    g_assert_no_error(err);
    g_assert_cmpuint(ngot, ==, 2);
    assert_pipe_carries(got[0], a.fd[0], "a via server");
    assert_pipe_carries(got[1], b.fd[0], "b via server");

    /* server -> client, the fds it just got */
    g_assert_cmpint(fdpass_send_fd(server, got[1], &err), ==, 0);
    g_assert_no_error(err);
    g_auto(FerryFd) back = fdpass_recv_fd(client, &err);
    g_assert_no_error(err);
    assert_pipe_carries(back, b.fd[0], "b back at the client");

    ferry_fd_close(&got[0]);
    ferry_fd_close(&got[1]);
    g_unlink(path);
    g_rmdir(dir);
}

static void test_data_without_fds(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_autoptr(GError) err = NULL;
    int got[2];
    gsize ngot = 99;
    char buf[8];

    sock_pair_open(&sp);
    g_assert_cmpint(fdpass_send(sp.sv[0], "abc", 3, NULL, 0, &err), ==, 0);
    g_assert_cmpint(fdpass_recv(sp.sv[1], buf, sizeof(buf), got, 2, &ngot, &err), ==, 3);
    g_assert_no_error(err);
    g_assert_cmpuint(ngot, ==, 0);
    g_assert_cmpmem(buf, 3, "abc", 3);

    /* expecting an fd and getting none is an error */
    g_assert_cmpint(fdpass_send(sp.sv[0], "x", 1, NULL, 0, &err), ==, 0);
    g_assert_cmpint(fdpass_recv_fd(sp.sv[1], &err), ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_FAILED));
    g_assert_nonnull(strstr(err->message, "without an fd"));
}

static void test_more_fds_than_allowed(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_auto(Pipe) p = { { -1, -1 } };
    g_autoptr(GError) err = NULL;
    int got[2] = { -1, -1 };
    gsize ngot = 99;
    char buf[8];

    sock_pair_open(&sp);
    pipe_open(&p);
    int four[4] = { p.fd[0], p.fd[1], p.fd[0], p.fd[1] };
    int before = count_open_fds();

    g_assert_cmpint(fdpass_send(sp.sv[0], "4", 1, four, 4, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(fdpass_recv(sp.sv[1], buf, sizeof(buf), got, 2, &ngot, &err), ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OVERFLOW));
    g_assert_nonnull(strstr(err->message, "received 4 fds"));
    g_assert_cmpuint(ngot, ==, 0);
    g_assert_cmpint(got[0], ==, -1);
    /* none of the four stayed open */
    g_assert_cmpint(count_open_fds(), ==, before);
    g_clear_error(&err);

    /* the connection still works */
    g_assert_cmpint(fdpass_send_fd(sp.sv[0], p.fd[1], &err), ==, 0);
    g_auto(FerryFd) one = fdpass_recv_fd(sp.sv[1], &err);
    g_assert_no_error(err);
    assert_pipe_carries(one, p.fd[0], "after the refused message");
}

static void test_control_truncated(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_autoptr(GError) err = NULL;
    enum { N = FDPASS_MAX_FDS + 8 };
    int fds[N];
    union {
        char buf[CMSG_SPACE(sizeof(int) * N)];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = (void *)"T", .iov_len = 1 };
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    int got[FDPASS_MAX_FDS];
    gsize ngot = 99;
    char buf[4];

    sock_pair_open(&sp);
    g_auto(FerryFd) null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(null_fd, >=, 0);
    for (int i = 0; i < N; i++)
        fds[i] = null_fd;

    /* more fds than fdpass sends or expects, as a foreign peer could */
    memset(&control, 0, sizeof(control));
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * N);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
    g_assert_cmpint(sendmsg(sp.sv[0], &msg, 0), ==, 1);

    int before = count_open_fds();
    g_assert_cmpint(fdpass_recv(sp.sv[1], buf, sizeof(buf), got, G_N_ELEMENTS(got), &ngot, &err),
                    ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OVERFLOW));
    g_assert_nonnull(strstr(err->message, "cut off"));
    g_assert_cmpuint(ngot, ==, 0);
    g_assert_cmpint(count_open_fds(), ==, before);
}

static void test_send_to_closed_peer(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_auto(Pipe) p = { { -1, -1 } };
    g_autoptr(GError) err = NULL;
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    struct sigaction old;

    /* With SIGPIPE at its default, a send without MSG_NOSIGNAL would kill
     * this test. */
    g_assert_no_errno(sigaction(SIGPIPE, &dfl, &old));

    sock_pair_open(&sp);
    pipe_open(&p);
    ferry_fd_close(&sp.sv[1]);

    g_assert_cmpint(fdpass_send_fd(sp.sv[0], p.fd[1], &err), ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_CONNECT));
    g_assert_nonnull(strstr(err->message, "peer closed the connection"));

    g_assert_no_errno(sigaction(SIGPIPE, &old, NULL));
}

static void test_peer_closes_with_fds_in_flight(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_auto(Pipe) p = { { -1, -1 } };
    g_autoptr(GError) err = NULL;
    char c;

    sock_pair_open(&sp);
    pipe_open(&p);

    g_assert_cmpint(fdpass_send_fd(sp.sv[0], p.fd[1], &err), ==, 0);
    g_assert_no_error(err);
    /* The receiver goes away without taking the fd: the kernel drops it,
     * so once our own copy is closed the pipe has no writer left. */
    ferry_fd_close(&sp.sv[1]);
    ferry_fd_close(&p.fd[1]);
    g_assert_no_errno(ferry_fd_set_nonblock(p.fd[0], TRUE));
    g_assert_cmpint(read(p.fd[0], &c, 1), ==, 0);
}

static void test_recv_from_closed_peer(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_autoptr(GError) err = NULL;
    int got[1];
    gsize ngot = 99;
    char buf[4];

    sock_pair_open(&sp);
    ferry_fd_close(&sp.sv[0]);

    g_assert_cmpint(fdpass_recv(sp.sv[1], buf, sizeof(buf), got, 1, &ngot, &err), ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_CONNECT));
    g_assert_nonnull(strstr(err->message, "peer closed the connection"));
    g_assert_cmpuint(ngot, ==, 0);
    g_clear_error(&err);

    g_assert_cmpint(fdpass_recv_fd(sp.sv[1], &err), ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_CONNECT));
}

static void test_nonblocking_would_block(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_auto(Pipe) p = { { -1, -1 } };
    g_autoptr(GError) err = NULL;
    char chunk[4096];
    int got[1];
    gsize ngot = 99;

    sock_pair_open(&sp);
    pipe_open(&p);
    g_assert_no_errno(ferry_fd_set_nonblock(sp.sv[0], TRUE));
    g_assert_no_errno(ferry_fd_set_nonblock(sp.sv[1], TRUE));

    /* nothing to read */
    g_assert_cmpint(fdpass_recv(sp.sv[1], chunk, 1, got, 1, &ngot, &err), ==, FDPASS_WOULD_BLOCK);
    g_assert_no_error(err);
    g_assert_cmpuint(ngot, ==, 0);
    g_assert_cmpint(fdpass_recv_fd(sp.sv[1], &err), ==, FDPASS_WOULD_BLOCK);
    g_assert_no_error(err);

    /* no room to write */
    memset(chunk, 'f', sizeof(chunk));
    gsize filled = 0;
    for (;;) {
        ssize_t n = send(sp.sv[0], chunk, sizeof(chunk), MSG_DONTWAIT);

        if (n < 0) {
            g_assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            break;
        }
        filled += (gsize)n;
    }
    int before = count_open_fds();
    g_assert_cmpint(fdpass_send_fd(sp.sv[0], p.fd[1], &err), ==, FDPASS_WOULD_BLOCK);
    g_assert_no_error(err);

    /* drain: only the filler comes out, no fd went with a refused send */
    gsize drained = 0;
    for (;;) {
        gssize n = fdpass_recv(sp.sv[1], chunk, sizeof(chunk), got, 1, &ngot, &err);

        g_assert_no_error(err);
        if (n == FDPASS_WOULD_BLOCK)
            break;
        g_assert_cmpint(n, >, 0);
        g_assert_cmpuint(ngot, ==, 0);
        drained += (gsize)n;
    }
    g_assert_cmpuint(drained, ==, filled);
    g_assert_cmpint(count_open_fds(), ==, before);

    /* with room again, it goes through */
    g_assert_cmpint(fdpass_send_fd(sp.sv[0], p.fd[1], &err), ==, 0);
    g_auto(FerryFd) one = fdpass_recv_fd(sp.sv[1], &err);
    g_assert_no_error(err);
    assert_pipe_carries(one, p.fd[0], "after would-block");
}

typedef struct {
    int sock;
    gsize expect;
    int fd; /* received */
    gsize received;
    gboolean intact;
} BigReader;

static gpointer big_reader_thread(gpointer data)
{
    BigReader *r = data;
    g_autofree guint8 *buf = g_malloc(r->expect);
    gsize ngot = 0;

    r->intact = TRUE;
    while (r->received < r->expect) {
        int fd = -1;
        g_autoptr(GError) err = NULL;
        gssize n =
            fdpass_recv(r->sock, buf + r->received, r->expect - r->received, &fd, 1, &ngot, &err);

        if (n <= 0)
            break;
        if (ngot == 1) {
            if (r->fd >= 0)
                r->intact = FALSE; /* fds came twice */
            r->fd = fd;
        }
        r->received += (gsize)n;
    }
    for (gsize i = 0; i < r->received; i++)
        if (buf[i] != (guint8)(i * 7 + i / 251))
            r->intact = FALSE;
    return NULL;
}

static void test_short_writes_completed(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_auto(Pipe) p = { { -1, -1 } };
    g_autoptr(GError) err = NULL;
    const gsize size = 1024 * 1024;
    g_autofree guint8 *data = g_malloc(size);
    int sndbuf = 4096;
    BigReader reader = { .expect = size, .fd = -1 };

    for (gsize i = 0; i < size; i++)
        data[i] = (guint8)(i * 7 + i / 251);
    sock_pair_open(&sp);
    pipe_open(&p);
    /* a small, non-blocking send buffer: sendmsg() takes a part only */
    g_assert_no_errno(setsockopt(sp.sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
    g_assert_no_errno(ferry_fd_set_nonblock(sp.sv[0], TRUE));

    reader.sock = sp.sv[1];
    GThread *thread = g_thread_new("fdpass-reader", big_reader_thread, &reader);

    g_assert_cmpint(fdpass_send(sp.sv[0], data, size, &p.fd[1], 1, &err), ==, 0);
    g_assert_no_error(err);
    g_thread_join(thread);

    g_assert_cmpuint(reader.received, ==, size);
    g_assert_true(reader.intact);
    g_assert_cmpint(reader.fd, >=, 0);
    assert_pipe_carries(reader.fd, p.fd[0], "after a megabyte");
    ferry_fd_close(&reader.fd);
}

static void test_invalid_arguments(void)
{
    g_auto(SockPair) sp = { { -1, -1 } };
    g_autoptr(GError) err = NULL;
    int fds[FDPASS_MAX_FDS + 1] = { 0 };
    int bad = 987;
    char buf[1];
    gsize ngot;

    sock_pair_open(&sp);
    g_assert_cmpint(fdpass_send(sp.sv[0], "", 0, fds, 1, &err), ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
    g_clear_error(&err);

    g_assert_cmpint(fdpass_send(sp.sv[0], "x", 1, fds, FDPASS_MAX_FDS + 1, &err), ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
    g_assert_nonnull(strstr(err->message, "at most 32"));
    g_clear_error(&err);

    g_assert_cmpint(fdpass_recv(sp.sv[1], buf, 0, fds, 1, &ngot, &err), ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
    g_clear_error(&err);

    /* a closed fd is the kernel's to refuse */
    g_assert_cmpint(fcntl(bad, F_GETFD), ==, -1);
    g_assert_cmpint(fdpass_send_fd(sp.sv[0], bad, &err), ==, -1);
    g_assert_true(ferry_error_is(err, FERRY_ERR_SYSTEM));
    g_assert_nonnull(strstr(err->message, "Bad file descriptor"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/fdpass/one-fd", test_one_fd);
    g_test_add_func("/fdpass/many-fds-one-message", test_many_fds_one_message);
    g_test_add_func("/fdpass/both-directions", test_both_directions);
    g_test_add_func("/fdpass/connected-stream-socket", test_connected_stream_socket);
    g_test_add_func("/fdpass/data-without-fds", test_data_without_fds);
    g_test_add_func("/fdpass/more-fds-than-allowed", test_more_fds_than_allowed);
    g_test_add_func("/fdpass/control-truncated", test_control_truncated);
    g_test_add_func("/fdpass/send-to-closed-peer", test_send_to_closed_peer);
    g_test_add_func("/fdpass/peer-closes-with-fds-in-flight", test_peer_closes_with_fds_in_flight);
    g_test_add_func("/fdpass/recv-from-closed-peer", test_recv_from_closed_peer);
    g_test_add_func("/fdpass/nonblocking-would-block", test_nonblocking_would_block);
    g_test_add_func("/fdpass/short-writes-completed", test_short_writes_completed);
    g_test_add_func("/fdpass/invalid-arguments", test_invalid_arguments);

    return g_test_run();
}
