/*
 * test-rpc-stream.c: RPC streams (src/rpc/stream.h) and the DriverStream
 * over them (src/rpc/stream_driver.h) end to end, against an in-process
 * server on a UNIX socket, loopback TCP and TLS: what a tunnelled
 * migration relies on.
 *
 * The server's program (TEST_PROGRAM) opens a stream per call: SINK reads
 * what the client sends and writes it into a socketpair, whose other end a
 * reader thread drains (at a speed the case sets) and checksums; SOURCE
 * sends the client bytes from a socketpair a writer thread fills.  The
 * client side does the same with its own socketpair: data goes fd -> stream
 * -> fd as in a tunnel (send_from_fd / recv_to_fd), and the checksums on
 * both sides must agree.
 *
 * Cases: the data arrives whole over each transport, in chunks of at most
 * 262120 bytes; a slow reader bounds how far the writer gets ahead (flow
 * control); the end handshake (the sender's finish waits for the
 * receiver's); an abort from either side, also of a sender blocked for
 * room; a lost connection; a frame over the server's limit refused, and a
 * stream chunk larger than the legacy size accepted from a peer (libvirt
 * does the same); the DriverStream's own rules.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "rpc/client.h"
#include "rpc/message.h"
#include "rpc/server.h"
#include "rpc/stream.h"
#include "rpc/stream_driver.h"
#include "rpc/tls.h"
#include "util/error.h"
#include "util/iothread.h"
#include "util/log.h"
#include "tests/tls-certs.h"

#define SAFETY_MS 60000
#define TEST_PROGRAM 0x46535452
#define TEST_VERSION 1

enum {
    PROC_SINK = 1,
    PROC_SOURCE = 2,
    PROC_PING = 3,
};

/* ---------------------------------------------------------------- data */

/* A pattern the writer and both checksums agree on: block i of 64 KiB is
 * filled from a generator seeded with i. */
#define BLOCK (64 * 1024)

static void fill_block(guint8 *buf, guint64 index)
{
    guint64 x = index * 0x9E3779B97F4A7C15ULL + 1;

    for (size_t i = 0; i < BLOCK; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(buf + i, &x, 8);
    }
}

typedef struct {
    int fd; /* written and closed by the thread */
    guint64 total;
    gboolean plain; /* one constant block, no checksum (throughput) */
    char *sum;
} Writer;

static gpointer writer_thread(gpointer data)
{
    Writer *w = data;
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree guint8 *buf = g_malloc(BLOCK);
    guint64 done = 0;

    if (w->plain)
        memset(buf, 0x5a, BLOCK);
    for (guint64 i = 0; done < w->total; i++) {
        size_t n = MIN((guint64)BLOCK, w->total - done);
        size_t off = 0;

        if (!w->plain) {
            fill_block(buf, i);
            g_checksum_update(sum, buf, n);
        }
        while (off < n) {
            gssize k = write(w->fd, buf + off, n - off);

            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                goto out; /* the reader went away: the case says why */
            off += (size_t)k;
        }
        done += n;
    }
out:
    close(w->fd);
    w->sum = g_strdup(g_checksum_get_string(sum));
    return NULL;
}

typedef struct {
    int fd; /* read and closed by the thread */
    gboolean plain; /* no checksum (throughput) */
    guint delay_us; /* after each read */
    gint64 consumed; /* __atomic */
    char *sum;
} Reader;

static gpointer reader_thread(gpointer data)
{
    Reader *r = data;
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree guint8 *buf = g_malloc(BLOCK);

    for (;;) {
        gssize n = read(r->fd, buf, BLOCK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (!r->plain)
            g_checksum_update(sum, buf, (size_t)n);
        __atomic_add_fetch(&r->consumed, (gint64)n, __ATOMIC_RELAXED);
        if (r->delay_us)
            g_usleep(r->delay_us);
    }
    close(r->fd);
    r->sum = g_strdup(g_checksum_get_string(sum));
    return NULL;
}

static void make_pair(int *a, int *b)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    *a = sv[0];
    *b = sv[1];
}

/* ---------------------------------------------------------------- the server's side */

/* What a case asks of the server's stream, and what it saw. */
typedef struct {
    GMutex lock;
    GCond cond;
    /* the case's settings */
    size_t window; /* 0: the default */
    guint reader_delay_us;
    guint64 abort_after; /* SINK aborts after this many bytes (0: never) */
    guint stall_abort_ms; /* SINK reads nothing and aborts after this */
    gboolean drop_client; /* SINK closes the connection after abort_after bytes */
    guint finish_delay_ms;
    guint64 source_bytes; /* what SOURCE sends */
    gboolean plain; /* no checksums (throughput) */
    /* what happened */
    gboolean done;
    guint64 bytes;
    size_t max_chunk;
    char *sum;
    GError *error;
    RpcStreamStats stats;
    gint64 finish_called; /* monotonic, when SINK called finish */
    Reader *reader; /* the SINK's, while it runs */
} Server;

static Server sv;

static void server_reset(void)
{
    g_mutex_lock(&sv.lock);
    sv.window = 0;
    sv.reader_delay_us = 0;
    sv.abort_after = 0;
    sv.stall_abort_ms = 0;
    sv.drop_client = FALSE;
    sv.finish_delay_ms = 0;
    sv.source_bytes = 0;
    sv.plain = FALSE;
    sv.done = FALSE;
    sv.bytes = 0;
    sv.max_chunk = 0;
    g_clear_pointer(&sv.sum, g_free);
    g_clear_error(&sv.error);
    memset(&sv.stats, 0, sizeof(sv.stats));
    sv.finish_called = 0;
    sv.reader = NULL;
    g_mutex_unlock(&sv.lock);
}

static void server_wait_done(void)
{
    gint64 end = g_get_monotonic_time() + (gint64)SAFETY_MS * 1000;

    g_mutex_lock(&sv.lock);
    while (!sv.done)
        g_assert_true(g_cond_wait_until(&sv.cond, &sv.lock, end));
    g_mutex_unlock(&sv.lock);
}

/* The current SINK's consumed count (0 when none runs). */
static gint64 server_consumed(void)
{
    gint64 n = 0;

    g_mutex_lock(&sv.lock);
    if (sv.reader)
        n = __atomic_load_n(&sv.reader->consumed, __ATOMIC_RELAXED);
    g_mutex_unlock(&sv.lock);
    return n;
}

typedef struct {
    RpcServerClient *client;
    DriverStream *ds;
    int proc;
} ServerStream;

static void server_done(ServerStream *ss, guint64 bytes, size_t max_chunk, char *sum, GError *err)
{
    g_mutex_lock(&sv.lock);
    rpc_stream_get_stats(rpc_stream_driver_get_rpc(ss->ds), &sv.stats);
    sv.bytes = bytes;
    sv.max_chunk = max_chunk;
    sv.sum = sum;
    sv.error = err;
    sv.reader = NULL;
    sv.done = TRUE;
    g_cond_broadcast(&sv.cond);
    g_mutex_unlock(&sv.lock);
}

static void server_sink(ServerStream *ss)
{
    g_autoptr(GError) err = NULL;
    Reader reader = { .delay_us = sv.reader_delay_us, .plain = sv.plain };
    GThread *thread;
    guint64 bytes = 0;
    size_t max_chunk = 0;
    int fd;

    if (sv.stall_abort_ms) {
        g_usleep((gulong)sv.stall_abort_ms * 1000);
        ferry_error_set(&err, FERRY_FROM_RPC, FERRY_ERR_OPERATION_FAILED, "sink: disk full");
        driver_stream_abort(ss->ds, err);
        server_done(ss, 0, 0, NULL, g_steal_pointer(&err));
        return;
    }
    make_pair(&fd, &reader.fd);
    g_mutex_lock(&sv.lock);
    sv.reader = &reader;
    g_mutex_unlock(&sv.lock);
    thread = g_thread_new("sink-reader", reader_thread, &reader);
    for (;;) {
        gssize n = driver_stream_recv_to_fd(ss->ds, fd, SAFETY_MS, &err);

        if (n <= 0)
            break;
        bytes += (guint64)n;
        max_chunk = MAX(max_chunk, (size_t)n);
        if (sv.abort_after && bytes >= sv.abort_after) {
            if (sv.drop_client) {
                rpc_server_client_close(ss->client);
            } else {
                ferry_error_set(&err, FERRY_FROM_RPC, FERRY_ERR_OPERATION_FAILED,
                                "sink: disk full");
                driver_stream_abort(ss->ds, err);
            }
            break;
        }
    }
    close(fd);
    g_thread_join(thread);
    if (!err) {
        if (sv.finish_delay_ms)
            g_usleep((gulong)sv.finish_delay_ms * 1000);
        g_mutex_lock(&sv.lock);
        sv.finish_called = g_get_monotonic_time();
        g_mutex_unlock(&sv.lock);
        driver_stream_finish(ss->ds, &err);
    }
    server_done(ss, bytes, max_chunk, g_steal_pointer(&reader.sum), g_steal_pointer(&err));
}

static void server_source(ServerStream *ss)
{
    g_autoptr(GError) err = NULL;
    Writer writer = { .total = sv.source_bytes };
    GThread *thread;
    guint64 bytes = 0;
    int fd;

    make_pair(&fd, &writer.fd);
    thread = g_thread_new("source-writer", writer_thread, &writer);
    for (;;) {
        gssize n = driver_stream_send_from_fd(ss->ds, fd, &err);

        if (n <= 0)
            break;
        bytes += (guint64)n;
    }
    close(fd);
    g_thread_join(thread);
    if (!err)
        driver_stream_finish(ss->ds, &err);
    server_done(ss, bytes, 0, g_steal_pointer(&writer.sum), g_steal_pointer(&err));
}

static gpointer server_stream_thread(gpointer data)
{
    ServerStream *ss = data;

    if (ss->proc == PROC_SINK)
        server_sink(ss);
    else
        server_source(ss);
    driver_stream_unref(ss->ds);
    rpc_server_client_unref(ss->client);
    g_free(ss);
    return NULL;
}

/* On a worker: open the call's stream, reply, and serve it on a thread of
 * its own (as the destination's relay does). */
static void server_dispatch(RpcServerClient *client, RpcMessage *call, gpointer opaque)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcStream) st = NULL;
    ServerStream *ss;

    if (call->header.proc == PROC_PING) {
        rpc_server_client_reply(client, call, NULL, NULL);
        return;
    }
    if (call->header.proc != PROC_SINK && call->header.proc != PROC_SOURCE) {
        ferry_error_set(&err, FERRY_FROM_RPC, FERRY_ERR_NO_SUPPORT, "no procedure %d",
                        call->header.proc);
        rpc_server_client_reply_error(client, call, err);
        return;
    }
    st = rpc_server_client_open_call_stream(client, &err);
    g_assert_no_error(err);
    if (sv.window)
        rpc_stream_set_window(st, sv.window);
    ss = g_new0(ServerStream, 1);
    ss->client = rpc_server_client_ref(client);
    ss->ds = rpc_stream_driver_new(st);
    ss->proc = call->header.proc;
    rpc_server_client_reply(client, call, NULL, NULL);
    g_thread_unref(g_thread_new("server-stream", server_stream_thread, ss));
}

typedef struct {
    RpcServer *srv;
    char *dir;
    char *sock_path;
    guint port;
} TestServer;

static TestServer *test_server_new(const RpcServerConfig *cfg, TlsContext *tls)
{
    TestServer *ts = g_new0(TestServer, 1);
    g_autoptr(GError) err = NULL;
    RpcServerProgramSpec spec = {
        .number = TEST_PROGRAM,
        .version = TEST_VERSION,
        .dispatch = server_dispatch,
    };

    ts->srv = rpc_server_new(cfg, &err);
    g_assert_no_error(err);
    g_assert_true(rpc_server_add_program(ts->srv, &spec, &err));
    ts->dir = g_dir_make_tmp("ferry-rpc-stream-XXXXXX", &err);
    g_assert_no_error(err);
    ts->sock_path = g_build_filename(ts->dir, "sock", NULL);
    g_assert_true(rpc_server_listen_unix(ts->srv, ts->sock_path, 0600, NULL, &err));
    g_assert_true(rpc_server_listen_tcp(ts->srv, "127.0.0.1", 0, tls, &ts->port, &err));
    g_assert_no_error(err);
    return ts;
}

static void test_server_free(TestServer *ts)
{
    rpc_server_shutdown(ts->srv);
    rpc_server_unref(ts->srv);
    g_unlink(ts->sock_path);
    g_rmdir(ts->dir);
    g_free(ts->sock_path);
    g_free(ts->dir);
    g_free(ts);
}

/* ---------------------------------------------------------------- the client's side */

typedef enum { VIA_UNIX, VIA_TCP, VIA_TLS } Via;

typedef struct {
    TestServer *ts;
    TlsCerts *certs;
    TlsContext *client_tls;
} Fixture;

static void fixture_setup(Fixture *fx, gconstpointer data)
{
    gboolean tls = GPOINTER_TO_INT(data) == VIA_TLS;
    g_autoptr(TlsContext) sctx = NULL;
    g_autoptr(GError) err = NULL;

    server_reset();
    if (tls) {
        fx->certs = tls_certs_new(&err);
        if (!fx->certs) {
            g_assert_true(ferry_error_is(err, FERRY_ERR_NO_SUPPORT));
            return;
        }
        TlsContextConfig scfg = {
            .ca_file = tls_certs_path(fx->certs, "ca-cert.pem"),
            .cert_file = tls_certs_path(fx->certs, "server-cert.pem"),
            .key_file = tls_certs_path(fx->certs, "server-key.pem"),
            .verify_peer = TRUE,
        };
        TlsContextConfig ccfg = {
            .ca_file = tls_certs_path(fx->certs, "ca-cert.pem"),
            .cert_file = tls_certs_path(fx->certs, "client1-cert.pem"),
            .key_file = tls_certs_path(fx->certs, "client1-key.pem"),
            .verify_peer = TRUE,
        };
        sctx = tls_context_new(TLS_ROLE_SERVER, &scfg, &err);
        g_assert_no_error(err);
        fx->client_tls = tls_context_new(TLS_ROLE_CLIENT, &ccfg, &err);
        g_assert_no_error(err);
    }
    fx->ts = test_server_new(NULL, sctx);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    if (fx->ts)
        test_server_free(fx->ts);
    g_clear_pointer(&fx->client_tls, tls_context_unref);
    g_clear_pointer(&fx->certs, tls_certs_free);
    server_reset();
}

static gboolean need_tls(Fixture *fx, Via via)
{
    if (via == VIA_TLS && !fx->certs) {
        g_test_skip("certtool (gnutls-bin) is not installed");
        return FALSE;
    }
    return TRUE;
}

static RpcClient *client_connect(Fixture *fx, Via via)
{
    g_autoptr(GError) err = NULL;
    RpcClient *c = NULL;

    switch (via) {
    case VIA_UNIX:
        c = rpc_client_new_unix(fx->ts->sock_path, &err);
        break;
    case VIA_TCP:
        c = rpc_client_new_tcp("127.0.0.1", fx->ts->port, &err);
        break;
    case VIA_TLS:
        c = rpc_client_new_tls("127.0.0.1", fx->ts->port, fx->client_tls, NULL, &err);
        break;
    }
    g_assert_no_error(err);
    return c;
}

/* Opens a stream with a call of proc; the DriverStream over it. */
static DriverStream *client_open(RpcClient *c, int proc, size_t window)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcStream) st = rpc_client_stream_new(c, TEST_PROGRAM, TEST_VERSION, proc);

    if (window)
        rpc_stream_set_window(st, window);
    g_assert_true(rpc_client_call_stream(c, st, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
    g_assert_no_error(err);
    return rpc_stream_driver_new(st);
}

static void client_ping(RpcClient *c)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(rpc_client_call(c, TEST_PROGRAM, TEST_VERSION, PROC_PING, NULL, NULL, NULL, NULL,
                                  SAFETY_MS, &err));
    g_assert_no_error(err);
}

typedef struct {
    guint64 sent;
    gint64 max_lag; /* sent - what the server's reader consumed */
    char *sum;
    double secs;
} SendResult;

/* Sends total bytes of the pattern through ds as a tunnel's source does
 * (a writer thread -> socketpair -> send_from_fd) and finishes; FALSE
 * with *error when the stream failed. */
static gboolean client_send(DriverStream *ds, guint64 total, SendResult *res, GError **error)
{
    Writer writer = { .total = total, .plain = sv.plain };
    gint64 start = g_get_monotonic_time();
    GThread *thread;
    gboolean ok = TRUE;
    int fd;

    make_pair(&fd, &writer.fd);
    thread = g_thread_new("client-writer", writer_thread, &writer);
    for (;;) {
        gssize n = driver_stream_send_from_fd(ds, fd, error);

        if (n == 0)
            break;
        if (n < 0) {
            ok = FALSE;
            break;
        }
        res->sent += (guint64)n;
        res->max_lag = MAX(res->max_lag, (gint64)res->sent - server_consumed());
    }
    close(fd);
    g_thread_join(thread);
    res->sum = g_steal_pointer(&writer.sum);
    ok = ok && driver_stream_finish(ds, error);
    res->secs = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    return ok;
}

static void send_result_clear(SendResult *res)
{
    g_free(res->sum);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SendResult, send_result_clear)

/* ---------------------------------------------------------------- cases */

static const char *via_name(Via via)
{
    return via == VIA_UNIX ? "UNIX" : via == VIA_TCP ? "TCP" : "TLS";
}

/* fd -> stream -> fd: whole, in order, in chunks of at most 262120 bytes,
 * ended with both OKs; the connection serves calls afterwards. */
static void test_relay(Fixture *fx, gconstpointer data)
{
    Via via = GPOINTER_TO_INT(data);
    guint64 total = via == VIA_TLS ? 32 << 20 : 96 << 20;
    g_autoptr(GError) err = NULL;
    g_auto(SendResult) res = { 0 };

    if (!need_tls(fx, via))
        return;
    g_autoptr(RpcClient) c = client_connect(fx, via);
    g_autoptr(DriverStream) ds = client_open(c, PROC_SINK, 0);

    g_assert_true(client_send(ds, total, &res, &err));
    g_assert_no_error(err);
    server_wait_done();
    g_assert_no_error(sv.error);
    g_assert_cmpuint(res.sent, ==, total);
    g_assert_cmpuint(sv.bytes, ==, total);
    g_assert_cmpstr(sv.sum, ==, res.sum);
    g_assert_cmpuint(sv.max_chunk, <=, RPC_STREAM_CHUNK_MAX);
    g_assert_cmpuint(sv.max_chunk, >, 0);
    g_assert_true(sv.stats.finished);
    g_assert_cmpuint(sv.stats.rx_queued_max, <=, sv.stats.window + RPC_STREAM_CHUNK_MAX);

    RpcStreamStats cs;
    rpc_stream_get_stats(rpc_stream_driver_get_rpc(ds), &cs);
    g_assert_true(cs.finished);
    g_assert_cmpuint(cs.tx_bytes, ==, total);
    g_test_message("%s: %" G_GUINT64_FORMAT " MiB in %.2f s: %.0f MiB/s (largest chunk %zu)",
                   via_name(via), total >> 20, res.secs, (double)(total >> 20) / res.secs,
                   sv.max_chunk);
    client_ping(c);
}

/* What the stream path costs: 512 MiB through the relay without
 * checksums, CPU seconds per GiB of this whole process (both ends, the
 * writer and the reader) printed; no timed assertion. */
static void test_throughput(Fixture *fx, gconstpointer data)
{
    const guint64 total = 512 << 20;
    g_autoptr(GError) err = NULL;
    g_auto(SendResult) res = { 0 };
    g_autoptr(RpcClient) c = client_connect(fx, VIA_TCP);
    struct rusage r0, r1;

    sv.plain = TRUE;
    g_autoptr(DriverStream) ds = client_open(c, PROC_SINK, 0);
    getrusage(RUSAGE_SELF, &r0);
    g_assert_true(client_send(ds, total, &res, &err));
    g_assert_no_error(err);
    server_wait_done();
    getrusage(RUSAGE_SELF, &r1);
    g_assert_no_error(sv.error);
    g_assert_cmpuint(sv.bytes, ==, total);
    double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec -
                          r0.ru_stime.tv_sec) +
                 (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec -
                          r0.ru_stime.tv_usec) /
                     1e6;
    g_test_message("TCP, no checksums: %" G_GUINT64_FORMAT " MiB in %.2f s (%.0f MiB/s); %.2f CPU "
                   "s per GiB (writer, both relays, reader); %ld page faults",
                   total >> 20, res.secs, (double)(total >> 20) / res.secs,
                   cpu / ((double)total / (1 << 30)), r1.ru_minflt - r0.ru_minflt);
}

/* A slow reader: the writer gets no further ahead than the two windows
 * and the sockets' buffers, however much there is to send; the server's
 * queue stays within its window and it paused reading. */
static void test_flow_control(Fixture *fx, gconstpointer data)
{
    const size_t window = 1 << 20;
    const guint64 total = 48 << 20;
    g_autoptr(GError) err = NULL;
    g_auto(SendResult) res = { 0 };
    g_autoptr(RpcClient) c = client_connect(fx, VIA_UNIX);

    sv.window = window;
    sv.reader_delay_us = 1000; /* at most 64 MiB/s */
    g_autoptr(DriverStream) ds = client_open(c, PROC_SINK, window);

    g_assert_true(client_send(ds, total, &res, &err));
    g_assert_no_error(err);
    server_wait_done();
    g_assert_no_error(sv.error);
    g_assert_cmpstr(sv.sum, ==, res.sum);
    g_test_message("writer ahead of the reader by %" G_GINT64_FORMAT " KiB at most; server queue "
                   "%zu KiB at most, %u pauses",
                   res.max_lag >> 10, sv.stats.rx_queued_max >> 10, sv.stats.rx_pauses);
    g_assert_cmpuint(sv.stats.rx_queued_max, <=, window + RPC_STREAM_CHUNK_MAX);
    g_assert_cmpuint(sv.stats.rx_pauses, >, 0);
    /* windows, chunks in flight and kernel buffers: a few MiB, not 48 */
    g_assert_cmpint(res.max_lag, <, 8 << 20);
}

/* The sender's finish returns only after the receiver's (its OK). */
static void test_end_handshake(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(SendResult) res = { 0 };
    g_autoptr(RpcClient) c = client_connect(fx, VIA_TCP);

    sv.finish_delay_ms = 300;
    g_autoptr(DriverStream) ds = client_open(c, PROC_SINK, 0);
    g_assert_true(client_send(ds, 1 << 20, &res, &err));
    g_assert_no_error(err);
    gint64 returned = g_get_monotonic_time();
    server_wait_done();
    g_assert_no_error(sv.error);
    g_assert_cmpint(sv.finish_called, >, 0);
    g_assert_cmpint(returned, >=, sv.finish_called);
    /* ended: sending more, or finishing again, fails; the connection is fine */
    g_assert_false(driver_stream_send(ds, "x", 1, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    client_ping(c);

    /* an empty stream ends the same way */
    server_reset();
    g_autoptr(DriverStream) empty = client_open(c, PROC_SINK, 0);
    g_assert_true(driver_stream_finish(empty, &err));
    g_assert_no_error(err);
    server_wait_done();
    g_assert_no_error(sv.error);
    g_assert_cmpuint(sv.bytes, ==, 0);
    g_assert_true(sv.stats.finished);
}

/* A peer that does not confirm the end: finish gives up after the stream's
 * finish timeout instead of holding the caller until the connection goes.
 * The peer had everything and this end's OK: it still ends the stream on
 * its side (the ERROR that follows an OK is dropped, as libvirt does). */
static void test_finish_timeout(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcClient) c = client_connect(fx, VIA_TCP);
    g_autoptr(RpcStream) st = rpc_client_stream_new(c, TEST_PROGRAM, TEST_VERSION, PROC_SINK);
    gint64 peer_finished;

    /* the server confirms only after 3 s; the client waits 200 ms */
    sv.finish_delay_ms = 3000;
    rpc_stream_set_finish_timeout(st, 200);
    g_assert_true(rpc_client_call_stream(c, st, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
    g_assert_no_error(err);
    g_autoptr(DriverStream) ds = rpc_stream_driver_new(st);
    g_assert_true(driver_stream_send(ds, "hello", 5, &err));
    g_assert_no_error(err);
    g_assert_false(driver_stream_finish(ds, &err));
    g_mutex_lock(&sv.lock);
    peer_finished = sv.finish_called;
    g_mutex_unlock(&sv.lock);
    /* it gave up before the peer even tried to confirm */
    g_assert_cmpint(peer_finished, ==, 0);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_TIMEOUT));
    g_assert_nonnull(strstr(err->message, "did not confirm the end within 200 ms"));
    g_clear_error(&err);
    /* the stream is over; the connection is not */
    g_assert_false(driver_stream_send(ds, "x", 1, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    client_ping(c);
    server_wait_done();
    g_assert_no_error(sv.error);
    g_assert_cmpint(sv.finish_called, >, 0);
    g_assert_cmpuint(sv.bytes, ==, 5);
}

/* Server to client: SOURCE sends, the client receives with recv (a copy)
 * and confirms the end. */
static void test_server_sends(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcClient) c = client_connect(fx, VIA_TCP);
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree guint8 *buf = g_malloc(300 * 1024);
    guint64 got = 0;
    gssize n;

    sv.source_bytes = (16 << 20) + 12345;
    g_autoptr(DriverStream) ds = client_open(c, PROC_SOURCE, 0);
    while ((n = driver_stream_recv(ds, buf, 300 * 1024, SAFETY_MS, &err)) > 0) {
        g_checksum_update(sum, buf, (size_t)n);
        got += (guint64)n;
    }
    g_assert_no_error(err);
    g_assert_cmpint(n, ==, 0);
    g_assert_true(driver_stream_finish(ds, &err));
    g_assert_no_error(err);
    server_wait_done();
    g_assert_no_error(sv.error);
    g_assert_cmpuint(got, ==, sv.source_bytes);
    g_assert_cmpstr(g_checksum_get_string(sum), ==, sv.sum);
    g_assert_true(sv.stats.finished);
}

/* The client aborts: the server's receive fails with "aborted at client
 * request"; the connection goes on. */
static void test_abort_client(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcClient) c = client_connect(fx, VIA_TCP);
    g_autofree guint8 *buf = g_malloc0(1 << 20);
    g_autoptr(DriverStream) ds = client_open(c, PROC_SINK, 0);

    g_assert_true(driver_stream_send(ds, buf, 1 << 20, &err));
    driver_stream_abort(ds, NULL);
    g_assert_false(driver_stream_send(ds, buf, 1, &err));
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_ABORTED));
    g_clear_error(&err);
    g_assert_false(driver_stream_finish(ds, &err));
    g_clear_error(&err);
    server_wait_done();
    g_assert_nonnull(sv.error);
    g_assert_nonnull(strstr(sv.error->message, "aborted at client request"));
    g_assert_true(sv.stats.aborted);
    client_ping(c);
}

/* The server aborts with a reason: the client's next send fails with it
 * (code and message); also a sender blocked waiting for room (the server
 * reads nothing) wakes up. */
static void test_abort_server(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcClient) c = client_connect(fx, VIA_TCP);
    g_autofree guint8 *buf = g_malloc0(1 << 20);

    {
        sv.abort_after = 4 << 20;
        g_autoptr(DriverStream) ds = client_open(c, PROC_SINK, 0);
        gboolean ok = TRUE;

        for (int i = 0; i < 1000 && ok; i++)
            ok = driver_stream_send(ds, buf, 1 << 20, &err);
        g_assert_false(ok);
        g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_FAILED));
        g_assert_nonnull(strstr(err->message, "sink: disk full"));
        g_clear_error(&err);
        server_wait_done();
        client_ping(c);
    }
    {
        server_reset();
        sv.window = 1 << 20;
        sv.stall_abort_ms = 1000;
        g_autoptr(DriverStream) ds = client_open(c, PROC_SINK, 1 << 20);
        gint64 start = g_get_monotonic_time();
        gboolean ok = TRUE;

        for (int i = 0; i < 1000 && ok; i++)
            ok = driver_stream_send(ds, buf, 1 << 20, &err);
        g_assert_false(ok);
        g_assert_nonnull(strstr(err->message, "sink: disk full"));
        /* it had blocked (far less than 1000 MiB went) and woke up */
        g_test_message("blocked sender woke after %.2f s: %s",
                       (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC, err->message);
        server_wait_done();
        client_ping(c);
    }
}

/* A lost connection fails the stream at both ends: the client closes, or
 * the server drops the client. */
static void test_connection_lost(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree guint8 *buf = g_malloc0(1 << 20);

    {
        g_autoptr(RpcClient) c = client_connect(fx, VIA_TCP);
        g_autoptr(DriverStream) ds = client_open(c, PROC_SINK, 0);

        g_assert_true(driver_stream_send(ds, buf, 1 << 20, &err));
        rpc_client_close(c);
        g_assert_false(driver_stream_send(ds, buf, 1 << 20, &err));
        g_assert_true(ferry_error_is(err, FERRY_ERR_NO_CONNECT));
        g_clear_error(&err);
        server_wait_done();
        g_assert_true(ferry_error_is(sv.error, FERRY_ERR_NO_CONNECT));
    }
    {
        server_reset();
        sv.abort_after = 2 << 20;
        sv.drop_client = TRUE;
        g_autoptr(RpcClient) c = client_connect(fx, VIA_TCP);
        g_autoptr(DriverStream) ds = client_open(c, PROC_SINK, 0);
        gboolean ok = TRUE;

        for (int i = 0; i < 1000 && ok; i++)
            ok = driver_stream_send(ds, buf, 1 << 20, &err);
        g_assert_false(ok);
        g_assert_true(ferry_error_is(err, FERRY_ERR_NO_CONNECT));
        server_wait_done();
    }
}

/* Raw frames to a server: a stream chunk larger than the legacy size is
 * taken (as libvirt takes it), a frame over the server's limit closes the
 * connection; the encoder refuses a chunk over the payload maximum. */
static int raw_connect(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    return fd;
}

static void raw_send(int fd, RpcMessage *msg)
{
    size_t off = 0;

    while (off < msg->length) {
        gssize n = send(fd, msg->buffer + off, msg->length - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return; /* the server closed: the case checks that */
        g_assert_cmpint(n, >, 0);
        off += (size_t)n;
    }
}

/* Reads one frame; NULL at EOF. */
static RpcMessage *raw_recv(int fd)
{
    guint8 word[4];
    size_t off = 0;

    while (off < 4) {
        gssize n = read(fd, word + off, 4 - off);

        if (n <= 0)
            return NULL;
        off += (size_t)n;
    }
    gssize len = rpc_message_decode_length(word, NULL);
    g_assert_cmpint(len, >, 0);
    g_autofree guint8 *frame = g_malloc((size_t)len);
    memcpy(frame, word, 4);
    while (off < (size_t)len) {
        gssize n = read(fd, frame + off, (size_t)len - off);

        if (n <= 0)
            return NULL;
        off += (size_t)n;
    }
    return rpc_message_new_from_frame(frame, (size_t)len, NULL);
}

static void raw_stream(int fd, guint32 serial, RpcMessageStatus status, const void *data,
                       size_t len)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcMessage) msg = rpc_message_new();
    RpcHeader hdr = { TEST_PROGRAM, TEST_VERSION, PROC_SINK, RPC_STREAM, serial, status };

    g_assert_true(rpc_message_encode_stream(msg, &hdr, data, len, &err));
    raw_send(fd, msg);
}

static void raw_open_sink(int fd, guint32 serial)
{
    g_autoptr(RpcMessage) call = rpc_message_new();
    g_autoptr(RpcMessage) reply = NULL;
    RpcHeader hdr = { TEST_PROGRAM, TEST_VERSION, PROC_SINK, RPC_CALL, serial, RPC_STATUS_OK };

    g_assert_true(rpc_message_encode(call, &hdr, NULL, NULL, NULL));
    raw_send(fd, call);
    reply = raw_recv(fd);
    g_assert_nonnull(reply);
    g_assert_cmpint(reply->header.type, ==, RPC_REPLY);
    g_assert_cmpint(reply->header.status, ==, RPC_STATUS_OK);
}

static void test_chunk_limits(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    const size_t big = 2 << 20;
    g_autofree guint8 *buf = g_malloc(big);

    memset(buf, 0xa5, big);
    /* the encoder: up to the payload maximum, not beyond */
    {
        g_autoptr(RpcMessage) msg = rpc_message_new();
        RpcHeader hdr = {
            TEST_PROGRAM, TEST_VERSION, PROC_SINK, RPC_STREAM, 1, RPC_STATUS_CONTINUE
        };
        g_autofree guint8 *huge = g_malloc0((size_t)RPC_MESSAGE_PAYLOAD_MAX + 1);

        g_assert_false(
            rpc_message_encode_stream(msg, &hdr, huge, (size_t)RPC_MESSAGE_PAYLOAD_MAX + 1, &err));
        g_assert_true(ferry_error_is(err, FERRY_ERR_OVERFLOW));
        g_clear_error(&err);
    }
    /* a 2 MiB chunk from a peer is taken whole, and the end confirmed */
    {
        int fd = raw_connect(fx->ts->sock_path);
        g_autoptr(RpcMessage) ok = NULL;

        raw_open_sink(fd, 7);
        raw_stream(fd, 7, RPC_STATUS_CONTINUE, buf, big);
        raw_stream(fd, 7, RPC_STATUS_OK, NULL, 0);
        ok = raw_recv(fd);
        g_assert_nonnull(ok);
        g_assert_cmpint(ok->header.type, ==, RPC_STREAM);
        g_assert_cmpint(ok->header.status, ==, RPC_STATUS_OK);
        g_assert_cmpuint(ok->header.serial, ==, 7);
        server_wait_done();
        g_assert_no_error(sv.error);
        g_assert_cmpuint(sv.bytes, ==, big);
        close(fd);
    }
    /* a server that takes frames of 1 MiB at most: closed on a bigger one */
    {
        RpcServerConfig cfg = RPC_SERVER_CONFIG_INIT;
        RpcServerStats stats;
        TestServer *small;
        int fd;

        cfg.max_message = 1 << 20;
        small = test_server_new(&cfg, NULL);
        server_reset();
        fd = raw_connect(small->sock_path);
        raw_open_sink(fd, 9);
        raw_stream(fd, 9, RPC_STATUS_CONTINUE, buf, big);
        /* no more frames: the connection is closed */
        g_assert_null(raw_recv(fd));
        close(fd);
        server_wait_done();
        g_assert_true(ferry_error_is(sv.error, FERRY_ERR_NO_CONNECT) ||
                      ferry_error_is(sv.error, FERRY_ERR_OVERFLOW));
        rpc_server_get_stats(small->srv, &stats);
        g_assert_cmpuint(stats.protocol_errors, ==, 1);
        test_server_free(small);
    }
}

/* The DriverStream's own rules: nothing works before it is open, it opens
 * once, and dropping an open stream that has not ended aborts it. */
static void test_driver_stream(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcClient) c = client_connect(fx, VIA_UNIX);
    char byte;

    {
        g_autoptr(DriverStream) ds = driver_stream_new();
        g_autoptr(RpcStream) st = rpc_client_stream_new(c, TEST_PROGRAM, TEST_VERSION, PROC_SINK);

        g_assert_false(driver_stream_is_open(ds));
        g_assert_false(driver_stream_send(ds, "x", 1, &err));
        g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
        g_clear_error(&err);
        g_assert_cmpint(driver_stream_recv(ds, &byte, 1, 0, &err), ==, -1);
        g_clear_error(&err);
        g_assert_cmpint(driver_stream_send_from_fd(ds, 0, &err), ==, -1);
        g_clear_error(&err);
        g_assert_false(driver_stream_finish(ds, &err));
        g_clear_error(&err);
        driver_stream_abort(ds, NULL); /* a no-op */
        g_assert_true(rpc_stream_driver_open(ds, st, &err));
        g_assert_false(rpc_stream_driver_open(ds, st, &err));
        g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_INVALID));
        g_clear_error(&err);
        g_assert_true(rpc_stream_driver_get_rpc(ds) == st);
        g_assert_true(rpc_client_call_stream(c, st, NULL, NULL, NULL, NULL, SAFETY_MS, &err));
        g_assert_true(driver_stream_send(ds, "hello", 5, &err));
        g_assert_no_error(err);
        /* dropped here, unfinished */
    }
    server_wait_done();
    g_assert_nonnull(sv.error);
    g_assert_nonnull(strstr(sv.error->message, "aborted at client request"));
    g_assert_cmpuint(sv.bytes, <=, 5); /* queued data goes with the abort */
    client_ping(c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_init_from_env(NULL);
    /* raw writes to a server that closed must not kill the test */
    signal(SIGPIPE, SIG_IGN);
    g_mutex_init(&sv.lock);
    g_cond_init(&sv.cond);

#define ADD(path, via, fn) \
    g_test_add(path, Fixture, GINT_TO_POINTER(via), fixture_setup, fn, fixture_teardown)
    ADD("/rpc-stream/relay/unix", VIA_UNIX, test_relay);
    ADD("/rpc-stream/relay/tcp", VIA_TCP, test_relay);
    ADD("/rpc-stream/relay/tls", VIA_TLS, test_relay);
    ADD("/rpc-stream/throughput", VIA_TCP, test_throughput);
    ADD("/rpc-stream/flow-control", VIA_UNIX, test_flow_control);
    ADD("/rpc-stream/end-handshake", VIA_TCP, test_end_handshake);
    ADD("/rpc-stream/finish-timeout", VIA_TCP, test_finish_timeout);
    ADD("/rpc-stream/server-sends", VIA_TCP, test_server_sends);
    ADD("/rpc-stream/abort/client", VIA_TCP, test_abort_client);
    ADD("/rpc-stream/abort/server", VIA_TCP, test_abort_server);
    ADD("/rpc-stream/connection-lost", VIA_TCP, test_connection_lost);
    ADD("/rpc-stream/chunk-limits", VIA_UNIX, test_chunk_limits);
    ADD("/rpc-stream/driver-stream", VIA_UNIX, test_driver_stream);
#undef ADD
    return g_test_run();
}
