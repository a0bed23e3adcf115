/*
 * rpc-toy.c: the toy RPC program and the server fixture of the transport
 * tests.
 */
#include <config.h>

#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "util/error.h"
#include "util/iothread.h"
#include "rpc/message.h"
#include "rpc/remote_procs.h"
#include "rpc-toy.h"

/* ---------------------------------------------------------------- the toy program */

static const RpcProcedure toy_procs[] = {
    { TOY_ECHO, "ECHO", (xdrproc_t)xdr_ferry_net_nonnull_string, sizeof(char *),
      (xdrproc_t)xdr_ferry_net_nonnull_string, sizeof(char *), RPC_PROC_PRIORITY },
    { TOY_ECHO_NORMAL, "ECHO_NORMAL", (xdrproc_t)xdr_ferry_net_nonnull_string, sizeof(char *),
      (xdrproc_t)xdr_ferry_net_nonnull_string, sizeof(char *), 0 },
    { TOY_SLEEP, "SLEEP", (xdrproc_t)xdr_int, sizeof(int), (xdrproc_t)rpc_xdr_void, 0, 0 },
    { TOY_WAIT, "WAIT", (xdrproc_t)rpc_xdr_void, 0, (xdrproc_t)rpc_xdr_void, 0, 0 },
    { TOY_RAISE, "RAISE", (xdrproc_t)xdr_int, sizeof(int), (xdrproc_t)rpc_xdr_void, 0, 0 },
    { TOY_STREAM_ECHO, "STREAM_ECHO", (xdrproc_t)rpc_xdr_void, 0, (xdrproc_t)rpc_xdr_void, 0,
      RPC_PROC_STREAM },
    { TOY_STREAM_ABORT, "STREAM_ABORT", (xdrproc_t)rpc_xdr_void, 0, (xdrproc_t)rpc_xdr_void, 0,
      RPC_PROC_STREAM },
    { TOY_FDS, "FDS", (xdrproc_t)rpc_xdr_void, 0, (xdrproc_t)rpc_xdr_void, 0, RPC_PROC_FDS },
    { TOY_EVENTS, "EVENTS", (xdrproc_t)xdr_int, sizeof(int), (xdrproc_t)rpc_xdr_void, 0, 0 },
    { TOY_SILENT, "SILENT", (xdrproc_t)rpc_xdr_void, 0, (xdrproc_t)rpc_xdr_void, 0, 0 },
    { TOY_STREAM_SINK, "STREAM_SINK", (xdrproc_t)rpc_xdr_void, 0, (xdrproc_t)rpc_xdr_void, 0,
      RPC_PROC_STREAM },
    { TOY_EVENT, "EVENT", (xdrproc_t)xdr_ferry_net_nonnull_string, sizeof(char *),
      (xdrproc_t)rpc_xdr_void, 0, RPC_PROC_EVENT },
};

static const RpcProgram toy_program = { TOY_PROGRAM, TOY_VERSION, "TOY", toy_procs,
                                        G_N_ELEMENTS(toy_procs) };

ToyState toy;

void toy_reset(void)
{
    g_mutex_lock(&toy.lock);
    toy.gate_open = FALSE;
    toy.waiting = 0;
    toy.max_outstanding = 0;
    g_clear_error(&toy.stream_error);
    memset(&toy.stream_stats, 0, sizeof(toy.stream_stats));
    toy.stream_done = FALSE;
    g_clear_pointer(&toy.peer_dn, g_free);
    toy.closed_clients = 0;
    g_clear_pointer(&toy.sink_sum, g_free);
    toy.sink_bytes = 0;
    toy.sink_refusals = 0;
    g_mutex_unlock(&toy.lock);
}

void toy_open_gate(void)
{
    g_mutex_lock(&toy.lock);
    toy.gate_open = TRUE;
    g_cond_broadcast(&toy.cond);
    g_mutex_unlock(&toy.lock);
}

void toy_wait_for_waiting(guint n)
{
    gint64 end = g_get_monotonic_time() + SAFETY_US;

    g_mutex_lock(&toy.lock);
    while (toy.waiting < n)
        g_assert_true(g_cond_wait_until(&toy.cond, &toy.lock, end));
    g_mutex_unlock(&toy.lock);
}

static gboolean toy_echo_handler(RpcServerClient *client, RpcMessage *call, void *args, void *ret,
                                 gpointer opaque, GError **error)
{
    char **in = args;
    char **out = ret;

    g_mutex_lock(&toy.lock);
    if (rpc_server_client_get_peer_dn(client) && !toy.peer_dn)
        toy.peer_dn = g_strdup(rpc_server_client_get_peer_dn(client));
    g_mutex_unlock(&toy.lock);
    *out = g_strdup(*in);
    return TRUE;
}

static void toy_stream_echo(RpcServerClient *client, RpcMessage *call)
{
    g_autoptr(RpcStream) st = rpc_server_client_open_stream(client, call);
    g_autoptr(GError) err = NULL;
    g_autofree guint8 *buf = g_malloc(64 * 1024);
    gboolean ok = TRUE;

    rpc_stream_set_window(st, 1024 * 1024);
    rpc_server_client_reply(client, call, NULL, NULL);
    for (;;) {
        gssize n = rpc_stream_recv(st, buf, 64 * 1024, SAFETY_MS, &err);

        if (n < 0) {
            ok = FALSE;
            break;
        }
        if (n == 0)
            break;
        g_usleep(100); /* the slow consumer */
        if (!rpc_stream_send(st, buf, (size_t)n, &err)) {
            ok = FALSE;
            break;
        }
    }
    if (ok)
        ok = rpc_stream_finish(st, &err);
    g_mutex_lock(&toy.lock);
    rpc_stream_get_stats(st, &toy.stream_stats);
    if (!ok)
        toy.stream_error = g_steal_pointer(&err);
    toy.stream_done = TRUE;
    g_cond_broadcast(&toy.cond);
    g_mutex_unlock(&toy.lock);
}

static void toy_stream_abort(RpcServerClient *client, RpcMessage *call)
{
    g_autoptr(RpcStream) st = rpc_server_client_open_stream(client, call);
    g_autoptr(GError) err = NULL;
    guint8 data[1000];

    memset(data, 'a', sizeof(data));
    rpc_server_client_reply(client, call, NULL, NULL);
    g_assert_true(rpc_stream_send(st, data, sizeof(data), NULL));
    g_set_error(&err, ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_OPERATION_FAILED,
                "the toy gave up after %zu bytes", sizeof(data));
    rpc_stream_abort(st, err);
}

typedef struct {
    GChecksum *sum;
    guint64 bytes;
    guint offers;
    guint refusals;
} SinkState;

static void sink_state_free(gpointer p)
{
    SinkState *ss = p;

    g_checksum_free(ss->sum);
    g_free(ss);
}

/* On the I/O thread: refuses every third offer (then resumes itself). */
static gboolean toy_sink_consume(RpcStream *st, const guint8 *data, size_t len, const GError *err,
                                 gpointer opaque)
{
    SinkState *ss = opaque;

    g_assert_true(iothread_is_current());
    if (data) {
        if (++ss->offers % 3 == 0) {
            ss->refusals++;
            rpc_stream_resume(st);
            return FALSE;
        }
        g_checksum_update(ss->sum, data, len);
        ss->bytes += len;
        return TRUE;
    }
    g_mutex_lock(&toy.lock);
    if (err)
        toy.stream_error = g_error_copy(err);
    toy.sink_sum = g_strdup(g_checksum_get_string(ss->sum));
    toy.sink_bytes = ss->bytes;
    toy.sink_refusals = ss->refusals;
    g_mutex_unlock(&toy.lock);
    /* On the I/O thread finish sends the confirming OK without waiting. */
    if (!err)
        g_assert_true(rpc_stream_finish(st, NULL));
    g_mutex_lock(&toy.lock);
    rpc_stream_get_stats(st, &toy.stream_stats);
    toy.stream_done = TRUE;
    g_cond_broadcast(&toy.cond);
    g_mutex_unlock(&toy.lock);
    return TRUE;
}

static void toy_dispatch(RpcServerClient *client, RpcMessage *call, gpointer opaque)
{
    g_autoptr(GError) err = NULL;
    int arg = 0;
    guint outstanding = rpc_server_client_get_outstanding(client);

    g_mutex_lock(&toy.lock);
    toy.max_outstanding = MAX(toy.max_outstanding, outstanding);
    g_mutex_unlock(&toy.lock);

    switch (call->header.proc) {
    case TOY_ECHO_NORMAL: {
        char *in = NULL;

        if (!rpc_message_decode_payload(call, (xdrproc_t)xdr_ferry_net_nonnull_string, &in, &err)) {
            rpc_server_client_reply_error(client, call, err);
            rpc_server_client_close(client);
            return;
        }
        rpc_server_client_reply(client, call, (xdrproc_t)xdr_ferry_net_nonnull_string, &in);
        xdr_free((xdrproc_t)xdr_ferry_net_nonnull_string, (char *)&in);
        return;
    }
    case TOY_SLEEP:
        g_assert_true(rpc_message_decode_payload(call, (xdrproc_t)xdr_int, &arg, NULL));
        g_usleep((gulong)arg * 1000);
        rpc_server_client_reply(client, call, NULL, NULL);
        return;
    case TOY_WAIT: {
        gint64 end = g_get_monotonic_time() + SAFETY_US;

        g_mutex_lock(&toy.lock);
        toy.waiting++;
        g_cond_broadcast(&toy.cond);
        while (!toy.gate_open && g_cond_wait_until(&toy.cond, &toy.lock, end))
            ;
        toy.waiting--;
        g_mutex_unlock(&toy.lock);
        rpc_server_client_reply(client, call, NULL, NULL);
        return;
    }
    case TOY_RAISE:
        g_assert_true(rpc_message_decode_payload(call, (xdrproc_t)xdr_int, &arg, NULL));
        g_set_error(&err, ferry_error_quark(FERRY_FROM_QEMU), arg, "raised error %d", arg);
        rpc_server_client_reply_error(client, call, err);
        return;
    case TOY_STREAM_ECHO:
        toy_stream_echo(client, call);
        return;
    case TOY_STREAM_ABORT:
        toy_stream_abort(client, call);
        return;
    case TOY_STREAM_SINK: {
        g_autoptr(RpcStream) st = rpc_server_client_open_stream(client, call);
        SinkState *ss = g_new0(SinkState, 1);

        ss->sum = g_checksum_new(G_CHECKSUM_SHA256);
        rpc_stream_set_window(st, 512 * 1024);
        rpc_stream_set_consumer(st, toy_sink_consume, ss, sink_state_free);
        rpc_server_client_reply(client, call, NULL, NULL);
        return;
    }
    case TOY_FDS:
        g_assert_cmpuint(call->nfds, ==, 1);
        g_assert_cmpint(write(call->fds[0], "srv", 3), ==, 3);
        rpc_server_client_reply_fds(client, call, NULL, NULL, call->fds, call->nfds);
        return;
    case TOY_EVENTS:
        g_assert_true(rpc_message_decode_payload(call, (xdrproc_t)xdr_int, &arg, NULL));
        for (int i = 0; i < arg; i++) {
            g_autofree char *text = g_strdup_printf("event %d", i);
            g_assert_true(rpc_server_client_send_event(client, TOY_PROGRAM, TOY_VERSION, TOY_EVENT,
                                                       (xdrproc_t)xdr_ferry_net_nonnull_string,
                                                       &text, NULL));
        }
        rpc_server_client_reply(client, call, NULL, NULL);
        return;
    default:
        /* TOY_SILENT goes nowhere: the server must answer NO_SUPPORT first. */
        g_assert_not_reached();
    }
}

static const RpcServerHandler toy_handlers[] = {
    { TOY_ECHO, toy_echo_handler },
};

/* The real remote program: CONNECT_SUPPORTS_FEATURE only. */
static gboolean remote_supports_feature(RpcServerClient *client, RpcMessage *call, void *args,
                                        void *ret, gpointer opaque, GError **error)
{
    remote_connect_supports_feature_args *a = args;
    remote_connect_supports_feature_ret *r = ret;

    r->supported = a->feature == 10;
    if (a->feature == 10)
        return rpc_server_client_start_keepalive(client, 1, 2, error);
    return TRUE;
}

static const RpcServerHandler remote_handlers[] = {
    { REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, remote_supports_feature },
};

static void toy_client_closed(RpcServerClient *client, gpointer opaque)
{
    g_mutex_lock(&toy.lock);
    toy.closed_clients++;
    g_cond_broadcast(&toy.cond);
    g_mutex_unlock(&toy.lock);
}

/* ---------------------------------------------------------------- fixture */

TestServer *test_server_new_full(const RpcServerConfig *cfg, TlsContext *tls)
{
    TestServer *ts = g_new0(TestServer, 1);
    g_autoptr(GError) err = NULL;
    RpcServerProgramSpec toy_spec = { .number = TOY_PROGRAM,
                                      .version = TOY_VERSION,
                                      .procs = &toy_program,
                                      .handlers = toy_handlers,
                                      .nhandlers = G_N_ELEMENTS(toy_handlers),
                                      .dispatch = toy_dispatch };
    RpcServerProgramSpec remote_spec = { .number = REMOTE_PROGRAM,
                                         .version = REMOTE_PROTOCOL_VERSION,
                                         .procs = &rpc_remote_program,
                                         .handlers = remote_handlers,
                                         .nhandlers = G_N_ELEMENTS(remote_handlers) };

    toy_reset();
    ts->srv = rpc_server_new(cfg, &err);
    g_assert_no_error(err);
    g_assert_true(rpc_server_add_program(ts->srv, &toy_spec, &err));
    g_assert_true(rpc_server_add_program(ts->srv, &remote_spec, &err));
    rpc_server_set_client_callbacks(ts->srv, NULL, toy_client_closed, NULL);
    ts->dir = g_dir_make_tmp("ferry-rpc-XXXXXX", &err);
    g_assert_no_error(err);
    ts->sock_path = g_build_filename(ts->dir, "run", "sock", NULL);
    g_assert_true(rpc_server_listen_unix(ts->srv, ts->sock_path, 0600, NULL, &err));
    g_assert_no_error(err);
    g_assert_true(rpc_server_listen_tcp(ts->srv, "127.0.0.1", 0, tls, &ts->port, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(ts->port, >, 0);
    return ts;
}

TestServer *test_server_new(void)
{
    RpcServerConfig cfg = RPC_SERVER_CONFIG_INIT;

    return test_server_new_full(&cfg, NULL);
}

void test_server_free(TestServer *ts)
{
    rpc_server_shutdown(ts->srv);
    rpc_server_unref(ts->srv);
    g_assert_false(g_file_test(ts->sock_path, G_FILE_TEST_EXISTS));
    g_autofree char *run = g_path_get_dirname(ts->sock_path);
    g_rmdir(run);
    g_rmdir(ts->dir);
    g_free(ts->sock_path);
    g_free(ts->dir);
    g_free(ts);
}

RpcClient *connect_tcp(TestServer *ts)
{
    g_autoptr(GError) err = NULL;
    RpcClient *c = rpc_client_new_tcp("127.0.0.1", ts->port, &err);

    g_assert_no_error(err);
    return c;
}

RpcClient *connect_unix(TestServer *ts)
{
    g_autoptr(GError) err = NULL;
    RpcClient *c = rpc_client_new_unix(ts->sock_path, &err);

    g_assert_no_error(err);
    return c;
}

char *echo(RpcClient *c, int proc, const char *text, GError **error)
{
    char *out = NULL;

    if (!rpc_client_call(c, TOY_PROGRAM, TOY_VERSION, proc, (xdrproc_t)xdr_ferry_net_nonnull_string,
                         &text, (xdrproc_t)xdr_ferry_net_nonnull_string, &out, SAFETY_MS, error))
        return NULL;
    return out;
}

void assert_echo(RpcClient *c, const char *text)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *out = echo(c, TOY_ECHO, text, &err);

    g_assert_no_error(err);
    g_assert_cmpstr(out, ==, text);
}

gboolean call_int(RpcClient *c, int proc, int arg, GError **error)
{
    return rpc_client_call(c, TOY_PROGRAM, TOY_VERSION, proc, (xdrproc_t)xdr_int, &arg, NULL, NULL,
                           SAFETY_MS, error);
}

gboolean call_void(RpcClient *c, int proc, GError **error)
{
    return rpc_client_call(c, TOY_PROGRAM, TOY_VERSION, proc, NULL, NULL, NULL, NULL, SAFETY_MS,
                           error);
}
