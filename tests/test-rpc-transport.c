/*
 * test-rpc-transport.c: the RPC server, client, keepalive and streams over
 * real sockets (loopback TCP, UNIX sockets in a temporary directory, TLS
 * with certificates made by certtool).
 *
 * A toy program (0x1234 version 1) is served by a test dispatcher, next to
 * the real remote program's CONNECT_SUPPORTS_FEATURE through a typed
 * handler.  No assertion depends on timing: waits have safety timeouts
 * only, and "the short call returned while the long one ran" is checked
 * by ordering (the long call waits on a gate the test opens afterwards).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "util/error.h"
#include "util/fd.h"
#include "util/iothread.h"
#include "rpc/client.h"
#include "rpc/keepalive.h"
#include "rpc/message.h"
#include "rpc/remote_procs.h"
#include "rpc/server.h"
#include "rpc/stream.h"
#include "rpc/tls.h"
#include "tls-certs.h"
#include "rpc-toy.h"

/* ---------------------------------------------------------------- calls */

static void test_calls_unix_tcp(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) cu = connect_unix(ts);
    g_autoptr(RpcClient) ct = connect_tcp(ts);
    g_autoptr(GError) err = NULL;
    g_autofree char *normal = NULL;

    assert_echo(cu, "over UNIX");
    assert_echo(ct, "over TCP");
    normal = echo(ct, TOY_ECHO_NORMAL, "dispatched", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(normal, ==, "dispatched");
    g_assert_true(call_int(cu, TOY_SLEEP, 1, &err));
    g_assert_no_error(err);

    /* The real remote program through the same machinery. */
    remote_connect_supports_feature_args a = { 13 };
    remote_connect_supports_feature_ret r = { -1 };
    g_assert_true(rpc_client_call(
        ct, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
        (xdrproc_t)xdr_remote_connect_supports_feature_args, &a,
        (xdrproc_t)xdr_remote_connect_supports_feature_ret, &r, SAFETY_MS, &err));
    g_assert_no_error(err);
    g_assert_cmpint(r.supported, ==, 0);
    test_server_free(ts);
}

typedef struct {
    RpcClient *client;
    int thread;
    int ncalls;
    guint failures;
} EchoThread;

static gpointer echo_thread(gpointer opaque)
{
    EchoThread *et = opaque;

    for (int i = 0; i < et->ncalls; i++) {
        g_autofree char *text = g_strdup_printf("thread %d call %d", et->thread, i);
        g_autoptr(GError) err = NULL;
        g_autofree char *out = echo(et->client, i % 2 ? TOY_ECHO : TOY_ECHO_NORMAL, text, &err);

        if (!out || strcmp(out, text) != 0)
            et->failures++;
    }
    return NULL;
}

static void test_calls_threads(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) c = connect_tcp(ts);
    EchoThread et[8];
    GThread *threads[8];

    for (int i = 0; i < 8; i++) {
        et[i] = (EchoThread){ c, i, 200, 0 };
        threads[i] = g_thread_new("echo", echo_thread, &et[i]);
    }
    for (int i = 0; i < 8; i++) {
        g_thread_join(threads[i]);
        g_assert_cmpuint(et[i].failures, ==, 0);
    }
    test_server_free(ts);
}

typedef struct {
    RpcClient *client;
    int proc;
    gboolean ok;
    GError *error;
} WaitThread;

static gpointer wait_thread(gpointer opaque)
{
    WaitThread *wt = opaque;

    wt->ok = call_void(wt->client, wt->proc, &wt->error);
    return NULL;
}

static void test_calls_long_and_short(void)
{
    RpcServerConfig cfg = RPC_SERVER_CONFIG_INIT;
    TestServer *ts;
    RpcClient *c;
    WaitThread wt[2];
    GThread *threads[2];

    /* Two normal workers: both held by WAIT calls. */
    cfg.max_workers = 2;
    ts = test_server_new_full(&cfg, NULL);
    c = connect_tcp(ts);

    wt[0] = (WaitThread){ c, TOY_WAIT, FALSE, NULL };
    threads[0] = g_thread_new("wait", wait_thread, &wt[0]);
    toy_wait_for_waiting(1);
    /* A short call on the same connection, on the second normal worker. */
    {
        g_autoptr(GError) err = NULL;
        g_autofree char *out = echo(c, TOY_ECHO_NORMAL, "short", &err);
        g_assert_no_error(err);
        g_assert_cmpstr(out, ==, "short");
    }
    /* Fill the normal pool: a priority call still gets through. */
    wt[1] = (WaitThread){ c, TOY_WAIT, FALSE, NULL };
    threads[1] = g_thread_new("wait", wait_thread, &wt[1]);
    toy_wait_for_waiting(2);
    assert_echo(c, "priority while the normal workers are busy");
    /* The long calls are still inside (the gate is closed): ordering. */
    g_mutex_lock(&toy.lock);
    g_assert_cmpuint(toy.waiting, ==, 2);
    g_mutex_unlock(&toy.lock);

    toy_open_gate();
    for (int i = 0; i < 2; i++) {
        g_thread_join(threads[i]);
        g_assert_no_error(wt[i].error);
        g_assert_true(wt[i].ok);
    }
    rpc_client_free(c);
    test_server_free(ts);
}

static void test_calls_errors(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) c = connect_unix(ts);
    g_autoptr(GError) err = NULL;

    /* An error reply keeps domain, code and message. */
    g_assert_false(call_int(c, TOY_RAISE, FERRY_ERR_NO_DOMAIN, &err));
    g_assert_error(err, ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(err->message, ==, "raised error 12");
    g_clear_error(&err);

    /* Unknown program: an RPC error, the connection stays. */
    g_assert_false(rpc_client_call(c, 0x4321, 1, 1, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_RPC));
    g_assert_nonnull(strstr(err->message, "unknown program 0x4321 version 1"));
    g_clear_error(&err);
    /* Known program, unknown version. */
    g_assert_false(
        rpc_client_call(c, TOY_PROGRAM, 7, TOY_ECHO, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_RPC));
    g_assert_nonnull(strstr(err->message, "unknown program 0x1234 version 7"));
    g_clear_error(&err);
    assert_echo(c, "still usable");

    /* Unknown procedure, and one in the table without a handler. */
    g_assert_false(call_void(c, 99, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
    g_assert_cmpstr(err->message, ==, "procedure 99 is not supported");
    g_clear_error(&err);
    g_assert_false(rpc_client_call(c, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION,
                                   REMOTE_PROC_CONNECT_GET_TYPE, NULL, NULL, NULL, NULL, SAFETY_MS,
                                   &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
    g_assert_cmpstr(err->message, ==, "procedure 3 is not supported");
    g_clear_error(&err);
    assert_echo(c, "still usable after NO_SUPPORT");
    test_server_free(ts);
}

/* ---------------------------------------------------------------- raw wire */

static int raw_connect(guint port)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct timeval tv = { SAFETY_MS / 1000, 0 };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void raw_send(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(send(fd, buf, len, MSG_NOSIGNAL), ==, (gssize)len);
}

static gboolean raw_read_all(int fd, void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        gssize n = recv(fd, (char *)buf + done, len - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        g_assert_cmpint(n, >=, 0); /* not the safety timeout */
        if (n == 0)
            return FALSE;
        done += (size_t)n;
    }
    return TRUE;
}

/* The next frame, skipping keepalive messages; NULL at EOF. */
static RpcMessage *raw_read_frame(int fd)
{
    for (;;) {
        guint8 word[4];
        g_autoptr(GError) err = NULL;

        if (!raw_read_all(fd, word, 4))
            return NULL;
        gssize len = rpc_message_decode_length(word, &err);
        g_assert_no_error(err);
        g_autofree guint8 *frame = g_malloc(len);
        memcpy(frame, word, 4);
        g_assert_true(raw_read_all(fd, frame + 4, len - 4));
        RpcMessage *msg = rpc_message_new_from_frame(frame, len, &err);
        g_assert_no_error(err);
        if (msg->header.prog == FERRY_KEEPALIVE_PROGRAM) {
            rpc_message_free(msg);
            continue;
        }
        return msg;
    }
}

static void raw_assert_eof(int fd)
{
    guint8 buf[4096];

    for (;;) {
        gssize n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        g_assert_cmpint(n, >=, 0); /* closed, not timed out */
        if (n == 0)
            return;
    }
}

static void raw_send_call(int fd, guint32 prog, guint32 vers, int proc, guint32 serial,
                          xdrproc_t xdr, const void *data)
{
    g_autoptr(RpcMessage) msg = rpc_message_new();
    RpcHeader hdr = { prog, vers, proc, RPC_CALL, serial, RPC_STATUS_OK };

    g_assert_true(rpc_message_encode(msg, &hdr, xdr, data, NULL));
    raw_send(fd, msg->buffer, msg->length);
}

static void raw_expect_error_reply(int fd, guint32 serial, FerryErrorCode code, const char *text)
{
    g_autoptr(RpcMessage) reply = raw_read_frame(fd);
    g_autoptr(GError) err = NULL;

    g_assert_nonnull(reply);
    g_assert_cmpint(reply->header.type, ==, RPC_REPLY);
    g_assert_cmpint(reply->header.status, ==, RPC_STATUS_ERROR);
    g_assert_cmpuint(reply->header.serial, ==, serial);
    GError *remote = rpc_message_decode_error(reply, &err);
    g_assert_no_error(err);
    g_assert_true(ferry_error_is(remote, code));
    g_assert_nonnull(strstr(remote->message, text));
    g_error_free(remote);
}

static void raw_expect_echo(int fd, guint32 serial, const char *text)
{
    raw_send_call(fd, TOY_PROGRAM, TOY_VERSION, TOY_ECHO, serial,
                  (xdrproc_t)xdr_ferry_net_nonnull_string, &text);
    g_autoptr(RpcMessage) reply = raw_read_frame(fd);
    char *out = NULL;

    g_assert_nonnull(reply);
    g_assert_cmpint(reply->header.status, ==, RPC_STATUS_OK);
    g_assert_cmpuint(reply->header.serial, ==, serial);
    g_assert_true(
        rpc_message_decode_payload(reply, (xdrproc_t)xdr_ferry_net_nonnull_string, &out, NULL));
    g_assert_cmpstr(out, ==, text);
    xdr_free((xdrproc_t)xdr_ferry_net_nonnull_string, (char *)&out);
}

static void test_wire_bad_input(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) good = connect_tcp(ts);
    int fd;

    /* A truncated frame, then the peer closes its side. */
    fd = raw_connect(ts->port);
    {
        guint8 part[14] = { 0, 0, 0, 100, 0, 0, 0x12, 0x34 };
        raw_send(fd, part, sizeof(part));
        shutdown(fd, SHUT_WR);
        raw_assert_eof(fd);
    }
    close(fd);
    assert_echo(good, "after a truncated frame");

    /* A length under 28. */
    fd = raw_connect(ts->port);
    raw_send(fd, "\0\0\0\x10", 4);
    raw_assert_eof(fd);
    close(fd);
    assert_echo(good, "after a short length");

    /* An oversized length: closed before any body is sent. */
    fd = raw_connect(ts->port);
    raw_send(fd, "\x7f\xff\xff\xff", 4);
    raw_assert_eof(fd);
    close(fd);
    assert_echo(good, "after an oversized length");

    /* Garbage (an HTTP request: "GET " is a huge length). */
    fd = raw_connect(ts->port);
    raw_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    raw_assert_eof(fd);
    close(fd);
    assert_echo(good, "after garbage");

    /* An unknown message type in a well-formed frame. */
    fd = raw_connect(ts->port);
    {
        guint8 frame[28] = { 0, 0, 0, 28, 0, 0, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9 };
        raw_send(fd, frame, sizeof(frame));
    }
    raw_assert_eof(fd);
    close(fd);

    /* Wrong program, wrong version: answered, the connection stays. */
    fd = raw_connect(ts->port);
    raw_send_call(fd, 0x77777777, 1, 1, 1, NULL, NULL);
    raw_expect_error_reply(fd, 1, FERRY_ERR_RPC, "unknown program 0x77777777 version 1");
    raw_send_call(fd, TOY_PROGRAM, 2, TOY_ECHO, 2, NULL, NULL);
    raw_expect_error_reply(fd, 2, FERRY_ERR_RPC, "unknown program 0x1234 version 2");
    raw_expect_echo(fd, 3, "the raw connection still works");

    /* A body that does not decode: an error reply, then the close. */
    {
        int n = 1000000; /* a string length with no bytes behind it */
        raw_send_call(fd, TOY_PROGRAM, TOY_VERSION, TOY_ECHO, 4, (xdrproc_t)xdr_int, &n);
        raw_expect_error_reply(fd, 4, FERRY_ERR_RPC, "malformed");
        raw_assert_eof(fd);
    }
    close(fd);

    /* A REPLY sent to the server is a protocol error. */
    fd = raw_connect(ts->port);
    {
        g_autoptr(RpcMessage) msg = rpc_message_new();
        RpcHeader hdr = { TOY_PROGRAM, TOY_VERSION, TOY_ECHO, RPC_REPLY, 1, RPC_STATUS_OK };
        g_assert_true(rpc_message_encode(msg, &hdr, NULL, NULL, NULL));
        raw_send(fd, msg->buffer, msg->length);
    }
    raw_assert_eof(fd);
    close(fd);

    assert_echo(good, "the server stayed up");
    {
        g_autoptr(RpcClient) later = connect_tcp(ts);
        assert_echo(later, "and serves new clients");
    }
    RpcServerStats stats;
    rpc_server_get_stats(ts->srv, &stats);
    g_assert_cmpuint(stats.protocol_errors, >=, 7);
    test_server_free(ts);
}

static gboolean wait_nclients(RpcServer *srv, guint n)
{
    gint64 end = g_get_monotonic_time() + SAFETY_US;

    while (rpc_server_get_nclients(srv) > n) {
        if (g_get_monotonic_time() > end)
            return FALSE;
        g_usleep(1000);
    }
    return TRUE;
}

static void test_max_clients(void)
{
    RpcServerConfig cfg = RPC_SERVER_CONFIG_INIT;
    TestServer *ts;
    RpcClient *clients[4];
    RpcServerStats stats;

    cfg.max_clients = 4;
    ts = test_server_new_full(&cfg, NULL);
    for (int i = 0; i < 4; i++) {
        clients[i] = connect_tcp(ts);
        assert_echo(clients[i], "one of four");
    }
    /* A flood over the limit: each one is closed at once. */
    for (int i = 0; i < 20; i++) {
        int fd = raw_connect(ts->port);
        raw_assert_eof(fd);
        close(fd);
    }
    for (int i = 0; i < 4; i++)
        assert_echo(clients[i], "still served during the flood");
    rpc_server_get_stats(ts->srv, &stats);
    g_assert_cmpuint(stats.refused, ==, 20);

    /* Two leave; two more get in and are served. */
    rpc_client_free(clients[0]);
    rpc_client_free(clients[1]);
    g_assert_true(wait_nclients(ts->srv, 2));
    clients[0] = connect_unix(ts);
    clients[1] = connect_tcp(ts);
    for (int i = 0; i < 4; i++)
        assert_echo(clients[i], "served after some closed");
    for (int i = 0; i < 4; i++)
        rpc_client_free(clients[i]);
    test_server_free(ts);
}

typedef struct {
    RpcClient *client;
    guint ok;
} SleepThread;

static gpointer sleep_thread(gpointer opaque)
{
    SleepThread *st = opaque;

    for (int i = 0; i < 5; i++) {
        g_autoptr(GError) err = NULL;
        if (call_int(st->client, TOY_SLEEP, 5, &err))
            st->ok++;
    }
    return NULL;
}

static void test_max_requests(void)
{
    RpcServerConfig cfg = RPC_SERVER_CONFIG_INIT;
    TestServer *ts;
    RpcClient *c;
    SleepThread st[10];
    GThread *threads[10];

    cfg.max_client_requests = 2;
    cfg.max_workers = 8;
    ts = test_server_new_full(&cfg, NULL);
    c = connect_tcp(ts);
    for (int i = 0; i < 10; i++) {
        st[i] = (SleepThread){ c, 0 };
        threads[i] = g_thread_new("sleep", sleep_thread, &st[i]);
    }
    for (int i = 0; i < 10; i++) {
        g_thread_join(threads[i]);
        g_assert_cmpuint(st[i].ok, ==, 5);
    }
    /* The server never had more than the limit in flight for the client. */
    g_mutex_lock(&toy.lock);
    g_assert_cmpuint(toy.max_outstanding, <=, 2);
    g_assert_cmpuint(toy.max_outstanding, >=, 1);
    g_mutex_unlock(&toy.lock);
    rpc_client_free(c);
    test_server_free(ts);
}

/* ---------------------------------------------------------------- keepalive */

typedef struct {
    GMutex lock;
    GCond cond;
    gboolean closed;
    RpcClientCloseReason reason;
    GError *error;
    GAsyncQueue *events;
} ClientWatch;

static void watch_close(RpcClient *client, RpcClientCloseReason reason, const GError *err,
                        gpointer opaque)
{
    ClientWatch *w = opaque;

    g_mutex_lock(&w->lock);
    w->closed = TRUE;
    w->reason = reason;
    w->error = err ? g_error_copy(err) : NULL;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

static void watch_wait_closed(ClientWatch *w)
{
    gint64 end = g_get_monotonic_time() + SAFETY_US;

    g_mutex_lock(&w->lock);
    while (!w->closed)
        g_assert_true(g_cond_wait_until(&w->cond, &w->lock, end));
    g_mutex_unlock(&w->lock);
}

static void watch_clear(ClientWatch *w)
{
    g_clear_error(&w->error);
    if (w->events)
        g_async_queue_unref(w->events);
}

/* A fake server that reads and never answers (not even PINGs). */
typedef struct {
    int listen_fd;
    guint port;
    int conn;
    GThread *thread;
} MuteServer;

static gpointer mute_server_run(gpointer opaque)
{
    MuteServer *ms = opaque;
    guint8 buf[4096];

    ms->conn = accept4(ms->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (ms->conn < 0)
        return NULL;
    while (recv(ms->conn, buf, sizeof(buf), 0) > 0)
        ;
    return NULL;
}

static void test_keepalive_client_detects_dead_server(void)
{
    MuteServer ms = { .conn = -1 };
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t len = sizeof(addr);
    ClientWatch w = { 0 };
    g_autoptr(GError) err = NULL;
    RpcClient *c;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ms.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(ms.listen_fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(ms.listen_fd, 4), ==, 0);
    g_assert_cmpint(getsockname(ms.listen_fd, (struct sockaddr *)&addr, &len), ==, 0);
    ms.port = ntohs(addr.sin_port);
    ms.thread = g_thread_new("mute", mute_server_run, &ms);

    c = rpc_client_new_tcp("127.0.0.1", ms.port, &err);
    g_assert_no_error(err);
    rpc_client_set_close_callback(c, watch_close, &w, NULL);
    g_assert_true(rpc_client_start_keepalive(c, 1, 2, &err));
    /* A call that will never be answered: the keepalive fails it. */
    g_assert_false(
        rpc_client_call(c, TOY_PROGRAM, TOY_VERSION, TOY_WAIT, NULL, NULL, NULL, NULL, -1, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_CONNECT));
    g_assert_nonnull(strstr(err->message, "no keepalive response in"));
    g_assert_nonnull(strstr(err->message, "connection to 127.0.0.1:"));
    watch_wait_closed(&w);
    g_assert_cmpint(w.reason, ==, RPC_CLIENT_CLOSE_KEEPALIVE);
    g_assert_nonnull(strstr(w.error->message, "no keepalive response"));
    rpc_client_free(c);

    g_thread_join(ms.thread);
    close(ms.conn);
    close(ms.listen_fd);
    watch_clear(&w);
}

static void test_keepalive_server_detects_dead_client(void)
{
    TestServer *ts = test_server_new();
    int fd = raw_connect(ts->port);
    remote_connect_supports_feature_args a = { 10 };
    guint pings = 0;

    /* Feature 10 makes the server start its keepalive (1 s x 2). */
    raw_send_call(fd, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
                  1, (xdrproc_t)xdr_remote_connect_supports_feature_args, &a);
    /* Read everything without ever answering a PING, until the close. */
    for (;;) {
        guint8 word[4];
        g_autoptr(GError) err = NULL;

        if (!raw_read_all(fd, word, 4))
            break;
        gssize len = rpc_message_decode_length(word, &err);
        g_assert_no_error(err);
        g_autofree guint8 *frame = g_malloc(len);
        memcpy(frame, word, 4);
        g_assert_true(raw_read_all(fd, frame + 4, len - 4));
        g_autoptr(RpcMessage) msg = rpc_message_new_from_frame(frame, len, &err);
        g_assert_no_error(err);
        if (msg->header.prog == FERRY_KEEPALIVE_PROGRAM) {
            g_assert_cmpint(msg->header.proc, ==, FERRY_KEEPALIVE_PROC_PING);
            g_assert_cmpint(msg->header.type, ==, RPC_MESSAGE);
            /* libvirt's PING: 28 bytes, version 1, serial 0, status OK. */
            g_assert_cmpuint(msg->length, ==, 28);
            g_assert_cmpuint(msg->header.vers, ==, 1);
            g_assert_cmpuint(msg->header.serial, ==, 0);
            g_assert_cmpint(msg->header.status, ==, RPC_STATUS_OK);
            pings++;
        } else {
            remote_connect_supports_feature_ret r = { 0 };
            g_assert_cmpint(msg->header.serial, ==, 1);
            g_assert_true(rpc_message_decode_payload(
                msg, (xdrproc_t)xdr_remote_connect_supports_feature_ret, &r, NULL));
            g_assert_cmpint(r.supported, ==, 1);
        }
    }
    g_assert_cmpuint(pings, ==, 2);
    close(fd);
    test_server_free(ts);
}

static void test_keepalive_answered(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) c = connect_tcp(ts);
    g_autoptr(GError) err = NULL;
    remote_connect_supports_feature_args a = { 10 };
    remote_connect_supports_feature_ret r = { 0 };

    /* Both ends ping each other and answer: a call longer than several
     * intervals survives. */
    g_assert_true(rpc_client_call(
        c, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
        (xdrproc_t)xdr_remote_connect_supports_feature_args, &a,
        (xdrproc_t)xdr_remote_connect_supports_feature_ret, &r, SAFETY_MS, &err));
    g_assert_no_error(err);
    g_assert_cmpint(r.supported, ==, 1);
    g_assert_true(rpc_client_start_keepalive(c, 1, 2, &err));
    g_assert_true(call_int(c, TOY_SLEEP, 3500, &err));
    g_assert_no_error(err);
    assert_echo(c, "alive");
    test_server_free(ts);
}

/* ---------------------------------------------------------------- events, fds */

static void on_toy_event(RpcClient *client, const RpcMessage *msg, gpointer opaque)
{
    ClientWatch *w = opaque;
    char *text = NULL;

    g_assert_true(
        rpc_message_decode_payload(msg, (xdrproc_t)xdr_ferry_net_nonnull_string, &text, NULL));
    g_async_queue_push(w->events, g_strdup(text));
    xdr_free((xdrproc_t)xdr_ferry_net_nonnull_string, (char *)&text);
}

static void test_events(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) c = connect_unix(ts);
    g_autoptr(GError) err = NULL;
    ClientWatch w = { 0 };

    w.events = g_async_queue_new_full(g_free);
    rpc_client_add_event_handler(c, TOY_PROGRAM, TOY_VERSION, TOY_EVENT, on_toy_event, &w, NULL);
    g_assert_true(call_int(c, TOY_EVENTS, 3, &err));
    g_assert_no_error(err);
    for (int i = 0; i < 3; i++) {
        g_autofree char *text = g_async_queue_timeout_pop(w.events, SAFETY_US);
        g_autofree char *expected = g_strdup_printf("event %d", i);
        g_assert_cmpstr(text, ==, expected);
    }
    rpc_client_free(g_steal_pointer(&c));
    watch_clear(&w);
    test_server_free(ts);
}

static void test_fd_passing(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) c = connect_unix(ts);
    g_autoptr(RpcClient) t = connect_tcp(ts);
    g_autoptr(GError) err = NULL;
    int pipefd[2];
    int *fds = NULL;
    size_t nfds = 0;
    char buf[8] = { 0 };

    g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
    g_assert_true(rpc_client_call_fds(c, TOY_PROGRAM, TOY_VERSION, TOY_FDS, NULL, NULL, &pipefd[1],
                                      1, NULL, NULL, &fds, &nfds, SAFETY_MS, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(nfds, ==, 1);
    /* The server wrote into the fd it got; we write into the one it sent back. */
    g_assert_cmpint(write(fds[0], "cli", 3), ==, 3);
    g_assert_cmpint(read(pipefd[0], buf, 6), ==, 6);
    g_assert_cmpstr(buf, ==, "srvcli");
    close(fds[0]);
    g_free(fds);

    /* Not over TCP. */
    g_assert_false(rpc_client_call_fds(t, TOY_PROGRAM, TOY_VERSION, TOY_FDS, NULL, NULL, &pipefd[1],
                                       1, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
    close(pipefd[0]);
    close(pipefd[1]);
    assert_echo(c, "after fds");
    test_server_free(ts);
}

/* ---------------------------------------------------------------- streams */

#define STREAM_TOTAL ((size_t)64 * 1024 * 1024)

typedef struct {
    RpcStream *st;
    GChecksum *sum;
    gboolean ok;
    GError *error;
} StreamSender;

static gpointer stream_sender(gpointer opaque)
{
    StreamSender *s = opaque;
    g_autofree guint8 *buf = g_malloc(1024 * 1024);
    guint32 x = 12345;

    s->ok = TRUE;
    for (size_t done = 0; done < STREAM_TOTAL && s->ok; done += 1024 * 1024) {
        for (size_t i = 0; i < 1024 * 1024; i += 4) {
            x = x * 1664525u + 1013904223u;
            memcpy(buf + i, &x, 4);
        }
        g_checksum_update(s->sum, buf, 1024 * 1024);
        s->ok = rpc_stream_send(s->st, buf, 1024 * 1024, &s->error);
    }
    if (s->ok)
        s->ok = rpc_stream_finish(s->st, &s->error);
    return NULL;
}

static void test_stream_echo(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) c = connect_tcp(ts);
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcStream) st = rpc_client_stream_new(c, TOY_PROGRAM, TOY_VERSION, TOY_STREAM_ECHO);
    StreamSender s = { st, g_checksum_new(G_CHECKSUM_SHA256), FALSE, NULL };
    g_autoptr(GChecksum) back = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree guint8 *buf = g_malloc(300 * 1024);
    size_t received = 0;
    GThread *thread;

    g_assert_true(rpc_client_call_stream(c, st, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
    g_assert_no_error(err);
    thread = g_thread_new("sender", stream_sender, &s);
    for (;;) {
        gssize n = rpc_stream_recv(st, buf, 300 * 1024, SAFETY_MS, &err);
        g_assert_no_error(err);
        g_assert_cmpint(n, >=, 0);
        if (n == 0)
            break;
        g_checksum_update(back, buf, (gsize)n);
        received += (size_t)n;
    }
    g_thread_join(thread);
    g_assert_no_error(s.error);
    g_assert_true(s.ok);
    g_assert_cmpuint(received, ==, STREAM_TOTAL);
    g_assert_cmpstr(g_checksum_get_string(back), ==, g_checksum_get_string(s.sum));
    g_checksum_free(s.sum);

    /* The server side: all bytes, and its queue stayed within the window. */
    gint64 end = g_get_monotonic_time() + SAFETY_US;
    g_mutex_lock(&toy.lock);
    while (!toy.stream_done)
        g_assert_true(g_cond_wait_until(&toy.cond, &toy.lock, end));
    g_assert_no_error(toy.stream_error);
    g_assert_cmpuint(toy.stream_stats.rx_bytes, ==, STREAM_TOTAL);
    g_assert_cmpuint(toy.stream_stats.tx_bytes, ==, STREAM_TOTAL);
    g_assert_cmpuint(toy.stream_stats.window, ==, 1024 * 1024);
    g_assert_cmpuint(toy.stream_stats.rx_queued_max, <=,
                     toy.stream_stats.window + RPC_STREAM_CHUNK_MAX);
    g_assert_true(toy.stream_stats.finished);
    if (g_test_verbose())
        g_test_message("server stream: max queued %zu, %u pauses", toy.stream_stats.rx_queued_max,
                       toy.stream_stats.rx_pauses);
    g_mutex_unlock(&toy.lock);
    assert_echo(c, "after the stream");
    test_server_free(ts);
}

static void test_stream_abort(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) c = connect_unix(ts);
    g_autoptr(GError) err = NULL;
    guint8 buf[4096];

    /* The client aborts: the server's recv fails with the reason. */
    {
        g_autoptr(RpcStream) st =
            rpc_client_stream_new(c, TOY_PROGRAM, TOY_VERSION, TOY_STREAM_ECHO);
        g_assert_true(rpc_client_call_stream(c, st, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
        g_assert_true(rpc_stream_send(st, "hello", 5, &err));
        g_assert_cmpint(rpc_stream_recv(st, buf, sizeof(buf), SAFETY_MS, &err), ==, 5);
        rpc_stream_abort(st, NULL);
        g_assert_false(rpc_stream_send(st, "more", 4, &err));
        g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_ABORTED));
        g_clear_error(&err);

        gint64 end = g_get_monotonic_time() + SAFETY_US;
        g_mutex_lock(&toy.lock);
        while (!toy.stream_done)
            g_assert_true(g_cond_wait_until(&toy.cond, &toy.lock, end));
        g_assert_nonnull(toy.stream_error);
        g_assert_nonnull(strstr(toy.stream_error->message, "aborted at client request"));
        g_assert_true(toy.stream_stats.aborted);
        g_mutex_unlock(&toy.lock);
    }
    assert_echo(c, "after a client abort");

    /* The server aborts: the client gets its data, then the error. */
    {
        g_autoptr(RpcStream) st =
            rpc_client_stream_new(c, TOY_PROGRAM, TOY_VERSION, TOY_STREAM_ABORT);
        size_t got = 0;
        gssize n;

        g_assert_true(rpc_client_call_stream(c, st, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
        while ((n = rpc_stream_recv(st, buf, sizeof(buf), SAFETY_MS, &err)) > 0)
            got += (size_t)n;
        g_assert_cmpint(n, ==, -1);
        g_assert_error(err, ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_OPERATION_FAILED);
        g_assert_cmpstr(err->message, ==, "the toy gave up after 1000 bytes");
        /* Data before the abort may or may not be delivered; never more. */
        g_assert_cmpuint(got, <=, 1000);
    }
    assert_echo(c, "after a server abort");
    test_server_free(ts);
}

static void test_stream_consumer(void)
{
    TestServer *ts = test_server_new();
    g_autoptr(RpcClient) c = connect_unix(ts);
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcStream) st = rpc_client_stream_new(c, TOY_PROGRAM, TOY_VERSION, TOY_STREAM_SINK);
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree guint8 *buf = g_malloc(100000);
    const size_t total = (size_t)8 * 1024 * 1024;

    g_assert_true(rpc_client_call_stream(c, st, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
    g_assert_no_error(err);
    for (size_t done = 0; done < total;) {
        size_t n = MIN(total - done, 100000);

        for (size_t i = 0; i < n; i++)
            buf[i] = (guint8)((done + i) * 7 + (done + i) / 251);
        g_checksum_update(sum, buf, n);
        g_assert_true(rpc_stream_send(st, buf, n, &err));
        done += n;
    }
    g_assert_true(rpc_stream_finish(st, &err));
    g_assert_no_error(err);

    gint64 end = g_get_monotonic_time() + SAFETY_US;
    g_mutex_lock(&toy.lock);
    while (!toy.stream_done)
        g_assert_true(g_cond_wait_until(&toy.cond, &toy.lock, end));
    g_assert_no_error(toy.stream_error);
    g_assert_cmpuint(toy.sink_bytes, ==, total);
    g_assert_cmpstr(toy.sink_sum, ==, g_checksum_get_string(sum));
    g_assert_cmpuint(toy.sink_refusals, >, 0);
    g_assert_cmpuint(toy.stream_stats.rx_queued_max, <=,
                     toy.stream_stats.window + RPC_STREAM_CHUNK_MAX);
    g_mutex_unlock(&toy.lock);
    assert_echo(c, "after the sink");
    test_server_free(ts);
}

/* ---------------------------------------------------------------- shutdown */

static void test_shutdown_with_clients(void)
{
    TestServer *ts = test_server_new();
    RpcClient *c1 = connect_tcp(ts);
    RpcClient *c2 = connect_unix(ts);
    ClientWatch w1 = { 0 };
    ClientWatch w2 = { 0 };
    g_autoptr(GError) err = NULL;

    rpc_client_set_close_callback(c1, watch_close, &w1, NULL);
    rpc_client_set_close_callback(c2, watch_close, &w2, NULL);
    assert_echo(c1, "before shutdown");
    assert_echo(c2, "before shutdown");

    test_server_free(ts);
    watch_wait_closed(&w1);
    watch_wait_closed(&w2);
    g_assert_cmpint(w1.reason, ==, RPC_CLIENT_CLOSE_EOF);
    g_assert_cmpint(w2.reason, ==, RPC_CLIENT_CLOSE_EOF);
    g_assert_false(rpc_client_is_open(c1));
    g_assert_false(rpc_client_call(c1, TOY_PROGRAM, TOY_VERSION, TOY_ECHO, NULL, NULL, NULL, NULL,
                                   SAFETY_MS, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_NO_CONNECT));
    g_assert_nonnull(strstr(err->message, "end of file"));
    g_mutex_lock(&toy.lock);
    g_assert_cmpuint(toy.closed_clients, ==, 2);
    g_mutex_unlock(&toy.lock);
    rpc_client_free(c1);
    rpc_client_free(c2);
    watch_clear(&w1);
    watch_clear(&w2);
}

static gpointer gate_opener(gpointer opaque)
{
    watch_wait_closed(opaque);
    toy_open_gate();
    return NULL;
}

static void test_shutdown_inflight(void)
{
    TestServer *ts = test_server_new();
    RpcClient *c = connect_tcp(ts);
    WaitThread wt = { c, TOY_WAIT, FALSE, NULL };
    ClientWatch w = { 0 };
    GThread *thread;
    GThread *opener;

    rpc_client_set_close_callback(c, watch_close, &w, NULL);
    thread = g_thread_new("wait", wait_thread, &wt);
    toy_wait_for_waiting(1);
    /* Shutdown closes the client, then waits for the running call: the
     * gate opens once the client saw its connection close. */
    opener = g_thread_new("opener", gate_opener, &w);
    test_server_free(ts);
    g_thread_join(opener);
    g_thread_join(thread);
    /* The reply was dropped: the call failed with the connection. */
    g_assert_false(wt.ok);
    g_assert_true(ferry_error_is(wt.error, FERRY_ERR_NO_CONNECT));
    g_clear_error(&wt.error);
    rpc_client_free(c);
    watch_clear(&w);
}

static void test_unix_socket_files(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("ferry-rpc-XXXXXX", &err);
    g_autofree char *path = g_build_filename(dir, "a", "b", "sock", NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    g_autofree char *grandparent = g_path_get_dirname(parent);
    RpcServer *srv1 = rpc_server_new(NULL, &err);
    RpcServer *srv2 = rpc_server_new(NULL, &err);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat st;
    int fd;

    g_assert_no_error(err);
    /* A stale socket file (bound, nobody listening) is replaced. */
    g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    close(fd);
    g_assert_true(rpc_server_listen_unix(srv1, path, 0660, NULL, &err));
    g_assert_no_error(err);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0660);
    /* One in use is not. */
    g_assert_false(rpc_server_listen_unix(srv2, path, 0660, NULL, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_FAILED));
    g_assert_nonnull(strstr(err->message, "in use"));
    g_clear_error(&err);
    rpc_server_unref(srv2);
    rpc_server_unref(srv1);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_rmdir(parent);
    g_rmdir(grandparent);
    g_rmdir(dir);
}

/* ---------------------------------------------------------------- TLS */

static void test_tls(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsCerts) certs = tls_certs_new(&err);

    if (!certs) {
        g_test_skip(err->message);
        return;
    }
    TlsContextConfig scfg = {
        .ca_file = tls_certs_path(certs, "ca-cert.pem"),
        .cert_file = tls_certs_path(certs, "server-cert.pem"),
        .key_file = tls_certs_path(certs, "server-key.pem"),
        .verify_peer = TRUE,
    };
    TlsContextConfig ccfg = {
        .ca_file = tls_certs_path(certs, "ca-cert.pem"),
        .cert_file = tls_certs_path(certs, "client1-cert.pem"),
        .key_file = tls_certs_path(certs, "client1-key.pem"),
        .verify_peer = TRUE,
    };
    g_autoptr(TlsContext) sctx = tls_context_new(TLS_ROLE_SERVER, &scfg, &err);
    g_assert_no_error(err);
    g_autoptr(TlsContext) cctx = tls_context_new(TLS_ROLE_CLIENT, &ccfg, &err);
    g_assert_no_error(err);
    RpcServerConfig cfg = RPC_SERVER_CONFIG_INIT;
    cfg.handshake_timeout_ms = 500;
    TestServer *ts = test_server_new_full(&cfg, sctx);

    /* A connection that never starts the handshake is closed. */
    {
        int fd = raw_connect(ts->port);
        raw_assert_eof(fd);
        close(fd);
    }

    {
        g_autoptr(RpcClient) c = rpc_client_new_tls("127.0.0.1", ts->port, cctx, NULL, &err);
        g_assert_no_error(err);
        for (int i = 0; i < 20; i++)
            assert_echo(c, "over TLS");
        /* A bigger reply than one TLS record. */
        g_autofree char *big = g_strnfill(100000, 'x');
        assert_echo(c, big);
        g_mutex_lock(&toy.lock);
        g_assert_nonnull(toy.peer_dn);
        g_assert_nonnull(strstr(toy.peer_dn, "CN=client1"));
        g_mutex_unlock(&toy.lock);
    }
    /* A client without a certificate is refused, the server stays up. */
    {
        TlsContextConfig ncfg = { .ca_file = tls_certs_path(certs, "ca-cert.pem"),
                                  .verify_peer = TRUE };
        g_autoptr(TlsContext) nctx = tls_context_new(TLS_ROLE_CLIENT, &ncfg, &err);
        g_assert_no_error(err);
        g_autoptr(RpcClient) c = rpc_client_new_tls("127.0.0.1", ts->port, nctx, NULL, &err);
        g_assert_null(c);
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    {
        g_autoptr(RpcClient) c = rpc_client_new_tls("127.0.0.1", ts->port, cctx, NULL, &err);
        g_assert_no_error(err);
        assert_echo(c, "TLS still served");
    }
    test_server_free(ts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_mutex_init(&toy.lock);
    g_cond_init(&toy.cond);

    g_test_add_func("/rpc/transport/calls/unix-tcp", test_calls_unix_tcp);
    g_test_add_func("/rpc/transport/calls/threads", test_calls_threads);
    g_test_add_func("/rpc/transport/calls/long-and-short", test_calls_long_and_short);
    g_test_add_func("/rpc/transport/calls/errors", test_calls_errors);
    g_test_add_func("/rpc/transport/wire/bad-input", test_wire_bad_input);
    g_test_add_func("/rpc/transport/limits/max-clients", test_max_clients);
    g_test_add_func("/rpc/transport/limits/max-requests", test_max_requests);
    g_test_add_func("/rpc/transport/keepalive/dead-server",
                    test_keepalive_client_detects_dead_server);
    g_test_add_func("/rpc/transport/keepalive/dead-client",
                    test_keepalive_server_detects_dead_client);
    g_test_add_func("/rpc/transport/keepalive/answered", test_keepalive_answered);
    g_test_add_func("/rpc/transport/events", test_events);
    g_test_add_func("/rpc/transport/fds", test_fd_passing);
    g_test_add_func("/rpc/transport/stream/echo-64MiB", test_stream_echo);
    g_test_add_func("/rpc/transport/stream/abort", test_stream_abort);
    g_test_add_func("/rpc/transport/stream/consumer", test_stream_consumer);
    g_test_add_func("/rpc/transport/shutdown/clients", test_shutdown_with_clients);
    g_test_add_func("/rpc/transport/shutdown/inflight", test_shutdown_inflight);
    g_test_add_func("/rpc/transport/unix-socket-files", test_unix_socket_files);
    g_test_add_func("/rpc/transport/tls", test_tls);
    return g_test_run();
}
