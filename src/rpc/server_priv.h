/*
 * server_priv.h: what server.c and server_listen.c share.
 */
#pragma once

#include "rpc/server.h"
#include "rpc/netsocket.h"

typedef struct {
    RpcServerProgramSpec spec;
    GHashTable *handlers; /* proc -> RpcServerHandlerFunc */
} RpcServerProgram;

struct _RpcServer {
    gint refs;
    GMutex lock;
    GCond cond; /* a client left the table */
    RpcServerConfig cfg;
    GPtrArray *programs; /* RpcServerProgram; fixed once serving */
    GPtrArray *listeners; /* RpcServerListener, I/O thread after start */
    GHashTable *clients; /* RpcServerClient set, each a reference */
    GThreadPool *workers;
    GThreadPool *prio_workers;
    GThreadPool *close_pool;
    gboolean shutdown;
    gboolean iothread;
    RpcServerClientFunc new_client_cb;
    RpcServerClientFunc closed_cb;
    gpointer cb_opaque;
    RpcServerStats stats;
    gint64 refusal_logged; /* when the last max_clients warning went out */
    guint64 refused_unlogged;
};

void rpc_server_program_free(gpointer p);

/* server.c: a connection was accepted on the I/O thread (fd taken). */
void rpc_server_accept(RpcServer *srv, int fd, gboolean is_unix, const char *peer, TlsContext *tls);

/* server_listen.c: stops and frees every listener (on the I/O thread),
 * removing UNIX socket files. */
void rpc_server_close_listeners(RpcServer *srv);
