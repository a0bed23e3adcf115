/*
 * rpc-toy.h: the toy RPC program (0x1234 version 1) and a server fixture
 * for the transport tests: a server on a UNIX socket in a temporary
 * directory and on loopback TCP (optionally TLS), serving the toy program
 * through a test dispatcher and the real remote program's
 * CONNECT_SUPPORTS_FEATURE through a typed handler.
 */
#pragma once

#include <glib.h>

#include "rpc/client.h"
#include "rpc/server.h"
#include "rpc/stream.h"
#include "rpc/tls.h"

/* Waits have these as safety timeouts only. */
#define SAFETY_MS 30000
#define SAFETY_US ((gint64)SAFETY_MS * 1000)

#define TOY_PROGRAM 0x1234
#define TOY_VERSION 1

enum {
    TOY_ECHO = 1, /* string -> string, priority, typed handler */
    TOY_ECHO_NORMAL = 2, /* string -> string, normal pool, dispatcher */
    TOY_SLEEP = 3, /* int ms -> void */
    TOY_WAIT = 4, /* void -> void: waits for the test's gate */
    TOY_RAISE = 5, /* int code -> error in FERRY_FROM_QEMU */
    TOY_STREAM_ECHO = 6, /* opens a stream and echoes it, slowly */
    TOY_STREAM_ABORT = 7, /* opens a stream, sends 1000 bytes, aborts */
    TOY_FDS = 8, /* fds -> the same fds back, "srv" written into the first */
    TOY_EVENTS = 9, /* int n -> sends n events, then replies */
    TOY_SILENT = 10, /* in the table, no handler: NO_SUPPORT */
    TOY_STREAM_SINK = 11, /* a stream consumed on the I/O thread by a callback */
    TOY_EVENT = 100, /* the event: string */
};

/* What the server side saw, for the assertions. */
typedef struct {
    GMutex lock;
    GCond cond;
    gboolean gate_open;
    guint waiting; /* WAIT calls inside the handler */
    guint max_outstanding;
    GError *stream_error; /* how a server stream ended badly */
    RpcStreamStats stream_stats;
    gboolean stream_done;
    char *peer_dn;
    guint closed_clients;
    char *sink_sum; /* SHA-256 of what the sink consumed */
    guint64 sink_bytes;
    guint sink_refusals;
} ToyState;

extern ToyState toy;

/* Clears what the last test left in toy. */
void toy_reset(void);
void toy_open_gate(void);
void toy_wait_for_waiting(guint n);

typedef struct {
    RpcServer *srv;
    char *dir;
    char *sock_path;
    guint port;
} TestServer;

TestServer *test_server_new_full(const RpcServerConfig *cfg, TlsContext *tls);
TestServer *test_server_new(void);
void test_server_free(TestServer *ts);
RpcClient *connect_tcp(TestServer *ts);
RpcClient *connect_unix(TestServer *ts);
char *echo(RpcClient *c, int proc, const char *text, GError **error);
void assert_echo(RpcClient *c, const char *text);
gboolean call_int(RpcClient *c, int proc, int arg, GError **error);
gboolean call_void(RpcClient *c, int proc, GError **error);
