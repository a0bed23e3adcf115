/*
 * server.c: the RPC server: programs, clients, calls and workers.
 *
 * Ownership.  The server holds a reference on each client from accept to
 * the end of its close task; the client's socket holds one (its opaque)
 * until the socket closed; each queued call holds one.  A client points at
 * its server only while it is in the server's table: shutdown waits until
 * the table is empty, so a client never outlives that pointer's use.
 * Listeners are in server_listen.c.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.server"

#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"
#include "util/iothread.h"
#include "rpc/keepalive.h"
#include "rpc/server_priv.h"

struct _RpcServerClient {
    gint refs;
    RpcServer *srv; /* see above */
    NetSocket *sock;
    guint max_requests;
    GMutex lock;
    GCond cond; /* jobs reached 0 */
    GHashTable *inflight; /* RpcMessage * of calls not yet answered */
    guint jobs; /* calls queued or running on a worker */
    gboolean paused; /* at max_requests */
    gboolean closed;
    gboolean counted_new; /* new_client callback ran */
    RpcKeepalive *ka; /* I/O thread */
    GSource *handshake_timer; /* I/O thread: TLS clients until ready */
    GHashTable *streams; /* serial -> RpcStream (a reference) */
    gpointer priv;
    GDestroyNotify priv_free;
};

typedef struct {
    RpcServerClient *client;
    RpcMessage *call;
    const RpcServerProgram *prog;
    const RpcProcedure *proc;
} ServerJob;

/* The call a worker thread runs (for rpc_server_client_open_call_stream). */
static GPrivate server_current_job;

/* ---------------------------------------------------------------- server */

static void server_worker(gpointer data, gpointer user_data);
static void server_close_task(gpointer data, gpointer user_data);

RpcServer *rpc_server_new(const RpcServerConfig *config, GError **error)
{
    RpcServerConfig defaults = RPC_SERVER_CONFIG_INIT;
    g_autoptr(GError) err = NULL;
    RpcServer *srv;

    if (!config)
        config = &defaults;
    if (!iothread_start(error))
        return NULL;
    srv = g_new0(RpcServer, 1);
    srv->refs = 1;
    srv->iothread = TRUE;
    g_mutex_init(&srv->lock);
    g_cond_init(&srv->cond);
    srv->cfg = *config;
    if (srv->cfg.max_clients == 0)
        srv->cfg.max_clients = defaults.max_clients;
    if (srv->cfg.max_workers == 0)
        srv->cfg.max_workers = defaults.max_workers;
    if (srv->cfg.max_priority_workers == 0)
        srv->cfg.max_priority_workers = defaults.max_priority_workers;
    if (srv->cfg.max_client_requests == 0)
        srv->cfg.max_client_requests = defaults.max_client_requests;
    if (srv->cfg.handshake_timeout_ms == 0)
        srv->cfg.handshake_timeout_ms = defaults.handshake_timeout_ms;
    if (srv->cfg.max_message == 0 || srv->cfg.max_message > RPC_MESSAGE_FRAME_MAX)
        srv->cfg.max_message = RPC_MESSAGE_FRAME_MAX;
    srv->programs = g_ptr_array_new_with_free_func(rpc_server_program_free);
    srv->listeners = g_ptr_array_new();
    srv->clients = g_hash_table_new(NULL, NULL);

    srv->workers = g_thread_pool_new(server_worker, srv, (gint)srv->cfg.max_workers, FALSE, &err);
    if (srv->workers)
        srv->prio_workers =
            g_thread_pool_new(server_worker, srv, (gint)srv->cfg.max_priority_workers, FALSE, &err);
    if (srv->prio_workers)
        srv->close_pool = g_thread_pool_new(server_close_task, srv, 4, FALSE, &err);
    if (!srv->close_pool) {
        ferry_fail(error, FERRY_ERR_SYSTEM, "cannot start the RPC worker threads: %s",
                   err->message);
        rpc_server_unref(srv);
        return NULL;
    }
    return srv;
}

RpcServer *rpc_server_ref(RpcServer *srv)
{
    g_atomic_int_inc(&srv->refs);
    return srv;
}

void rpc_server_unref(RpcServer *srv)
{
    if (!srv || !g_atomic_int_dec_and_test(&srv->refs))
        return;
    rpc_server_shutdown(srv);
    g_ptr_array_unref(srv->programs);
    g_ptr_array_unref(srv->listeners);
    g_hash_table_unref(srv->clients);
    g_mutex_clear(&srv->lock);
    g_cond_clear(&srv->cond);
    if (srv->iothread)
        iothread_stop();
    g_free(srv);
}

void rpc_server_program_free(gpointer p)
{
    RpcServerProgram *prog = p;

    g_hash_table_unref(prog->handlers);
    g_free(prog);
}

gboolean rpc_server_add_program(RpcServer *srv, const RpcServerProgramSpec *spec, GError **error)
{
    RpcServerProgram *prog;

    if (spec->nhandlers > 0 && !spec->procs) {
        ferry_fail(error, FERRY_ERR_INTERNAL,
                   "program 0x%x: handlers need the program's procedure table", spec->number);
        return FALSE;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&srv->lock);
    for (guint i = 0; i < srv->programs->len; i++) {
        RpcServerProgram *p = g_ptr_array_index(srv->programs, i);
        if (p->spec.number == spec->number && p->spec.version == spec->version) {
            ferry_fail(error, FERRY_ERR_INTERNAL, "program 0x%x version %u is registered twice",
                       spec->number, spec->version);
            return FALSE;
        }
    }
    prog = g_new0(RpcServerProgram, 1);
    prog->spec = *spec;
    prog->handlers = g_hash_table_new(NULL, NULL);
    for (size_t i = 0; i < spec->nhandlers; i++) {
        if (!rpc_program_find_proc(spec->procs, spec->handlers[i].proc)) {
            rpc_server_program_free(prog);
            ferry_fail(error, FERRY_ERR_INTERNAL,
                       "program 0x%x: a handler for procedure %d, which is not in its table",
                       spec->number, spec->handlers[i].proc);
            return FALSE;
        }
        g_hash_table_insert(prog->handlers, GINT_TO_POINTER(spec->handlers[i].proc),
                            (gpointer)spec->handlers[i].func);
    }
    g_ptr_array_add(srv->programs, prog);
    return TRUE;
}

void rpc_server_set_client_callbacks(RpcServer *srv, RpcServerClientFunc new_client,
                                     RpcServerClientFunc closed, gpointer opaque)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&srv->lock);

    srv->new_client_cb = new_client;
    srv->closed_cb = closed;
    srv->cb_opaque = opaque;
}

guint rpc_server_get_nclients(RpcServer *srv)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&srv->lock);

    return g_hash_table_size(srv->clients);
}

void rpc_server_get_stats(RpcServer *srv, RpcServerStats *stats)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&srv->lock);

    *stats = srv->stats;
}

static const RpcServerProgram *server_find_program(RpcServer *srv, guint32 number, guint32 vers,
                                                   gboolean *number_known)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&srv->lock);

    *number_known = FALSE;
    for (guint i = 0; i < srv->programs->len; i++) {
        RpcServerProgram *p = g_ptr_array_index(srv->programs, i);
        if (p->spec.number != number)
            continue;
        *number_known = TRUE;
        if (p->spec.version == vers)
            return p;
    }
    return NULL;
}

void rpc_server_shutdown(RpcServer *srv)
{
    GHashTableIter iter;
    gpointer key;
    g_autoptr(GPtrArray) clients =
        g_ptr_array_new_with_free_func((GDestroyNotify)rpc_server_client_unref);

    if (iothread_is_current()) {
        FLOG_ERROR("BUG: rpc_server_shutdown() on the I/O thread; ignored");
        return;
    }
    g_mutex_lock(&srv->lock);
    if (srv->shutdown) {
        g_mutex_unlock(&srv->lock);
        return;
    }
    srv->shutdown = TRUE;
    g_mutex_unlock(&srv->lock);

    rpc_server_close_listeners(srv);

    g_mutex_lock(&srv->lock);
    g_hash_table_iter_init(&iter, srv->clients);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_ptr_array_add(clients, rpc_server_client_ref(key));
    g_mutex_unlock(&srv->lock);
    FLOG_DEBUG("shutting down: closing %u clients", clients->len);
    for (guint i = 0; i < clients->len; i++)
        rpc_server_client_close(g_ptr_array_index(clients, i));

    /* Each client leaves the table at the end of its close task. */
    g_mutex_lock(&srv->lock);
    while (g_hash_table_size(srv->clients) > 0)
        g_cond_wait(&srv->cond, &srv->lock);
    g_mutex_unlock(&srv->lock);

    if (srv->workers)
        g_thread_pool_free(srv->workers, FALSE, TRUE);
    if (srv->prio_workers)
        g_thread_pool_free(srv->prio_workers, FALSE, TRUE);
    if (srv->close_pool)
        g_thread_pool_free(srv->close_pool, FALSE, TRUE);
    srv->workers = srv->prio_workers = srv->close_pool = NULL;
}

/* ---------------------------------------------------------------- clients */

RpcServerClient *rpc_server_client_ref(RpcServerClient *client)
{
    g_atomic_int_inc(&client->refs);
    return client;
}

void rpc_server_client_unref(RpcServerClient *client)
{
    if (!client || !g_atomic_int_dec_and_test(&client->refs))
        return;
    if (client->priv_free && client->priv)
        client->priv_free(client->priv);
    g_hash_table_unref(client->inflight);
    g_hash_table_unref(client->streams);
    netsocket_unref(client->sock);
    g_mutex_clear(&client->lock);
    g_cond_clear(&client->cond);
    g_free(client);
}

const char *rpc_server_client_get_peer(RpcServerClient *client)
{
    return netsocket_get_peer(client->sock);
}

gboolean rpc_server_client_is_unix(RpcServerClient *client)
{
    return netsocket_is_unix(client->sock);
}

gboolean rpc_server_client_is_secure(RpcServerClient *client)
{
    return netsocket_is_unix(client->sock) || netsocket_has_tls(client->sock);
}

const char *rpc_server_client_get_peer_dn(RpcServerClient *client)
{
    return netsocket_get_peer_dn(client->sock);
}

guint rpc_server_client_get_outstanding(RpcServerClient *client)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&client->lock);

    return g_hash_table_size(client->inflight);
}

void rpc_server_client_close(RpcServerClient *client)
{
    netsocket_close(client->sock, NULL);
}

gboolean rpc_server_client_is_closed(RpcServerClient *client)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&client->lock);

    return client->closed;
}

void rpc_server_client_set_private(RpcServerClient *client, gpointer data, GDestroyNotify free_func)
{
    gpointer old;
    GDestroyNotify old_free;

    g_mutex_lock(&client->lock);
    old = client->priv;
    old_free = client->priv_free;
    client->priv = data;
    client->priv_free = free_func;
    g_mutex_unlock(&client->lock);
    if (old && old_free && old != data)
        old_free(old);
}

gpointer rpc_server_client_get_private(RpcServerClient *client)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&client->lock);

    return client->priv;
}

/* A reply or error frame for call. */
static RpcHeader reply_header(const RpcMessage *call, gboolean fds)
{
    RpcHeader hdr = call->header;

    hdr.type = fds ? RPC_REPLY_WITH_FDS : RPC_REPLY;
    hdr.status = RPC_STATUS_OK;
    return hdr;
}

/* Sends an error reply for a call that is not in flight (answered on the
 * I/O thread). */
static void client_send_error_direct(RpcServerClient *client, const RpcMessage *call,
                                     const GError *err)
{
    g_autoptr(RpcMessage) reply = rpc_message_new();
    RpcHeader hdr = reply_header(call, FALSE);

    if (rpc_message_encode_error(reply, &hdr, err, NULL))
        netsocket_send(client->sock, g_steal_pointer(&reply), NULL);
}

/* The call is answered (or dropped): out of the in-flight set, which may
 * let reading resume.  FALSE when it was not in flight. */
static gboolean client_call_done(RpcServerClient *client, RpcMessage *call)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&client->lock);

    if (!g_hash_table_remove(client->inflight, call))
        return FALSE;
    if (client->paused && g_hash_table_size(client->inflight) < client->max_requests) {
        client->paused = FALSE;
        netsocket_resume_reading(client->sock);
    }
    return TRUE;
}

static gboolean client_send_reply(RpcServerClient *client, RpcMessage *call, RpcMessage *reply)
{
    g_autoptr(RpcMessage) owned = reply;

    if (!client_call_done(client, call)) {
        FLOG_ERROR("BUG: a second reply to call serial %u (procedure %d) from %s; dropped",
                   call->header.serial, call->header.proc, netsocket_get_peer(client->sock));
        return FALSE;
    }
    return netsocket_send(client->sock, g_steal_pointer(&owned), NULL);
}

gboolean rpc_server_client_reply_error(RpcServerClient *client, RpcMessage *call, const GError *err)
{
    g_autoptr(RpcMessage) reply = rpc_message_new();
    g_autoptr(GError) enc_err = NULL;
    RpcHeader hdr = reply_header(call, FALSE);

    if (!rpc_message_encode_error(reply, &hdr, err, &enc_err)) {
        FLOG_ERROR("cannot encode an error reply: %s", enc_err->message);
        client_call_done(client, call);
        return FALSE;
    }
    return client_send_reply(client, call, g_steal_pointer(&reply));
}

gboolean rpc_server_client_reply_fds(RpcServerClient *client, RpcMessage *call, xdrproc_t xdrproc,
                                     const void *ret, const int *fds, size_t nfds)
{
    g_autoptr(RpcMessage) reply = rpc_message_new();
    g_autoptr(GError) err = NULL;
    RpcHeader hdr = reply_header(call, nfds > 0);

    if (nfds > 0 && !netsocket_is_unix(client->sock)) {
        ferry_fail(&err, FERRY_ERR_OPERATION_INVALID,
                   "procedure %d: file descriptors pass over UNIX sockets only", call->header.proc);
        rpc_server_client_reply_error(client, call, err);
        return FALSE;
    }
    for (size_t i = 0; i < nfds; i++) {
        int fd = dup(fds[i]);

        if (fd < 0) {
            ferry_fail_errno(&err, errno, "cannot duplicate fd %d for the reply", fds[i]);
            rpc_server_client_reply_error(client, call, err);
            return FALSE;
        }
        if (!rpc_message_add_fd(reply, fd, &err)) {
            rpc_server_client_reply_error(client, call, err);
            return FALSE;
        }
    }
    if (!rpc_message_encode(reply, &hdr, xdrproc, ret, &err)) {
        FLOG_WARN("reply to %s: %s", netsocket_get_peer(client->sock), err->message);
        rpc_server_client_reply_error(client, call, err);
        return FALSE;
    }
    return client_send_reply(client, call, g_steal_pointer(&reply));
}

gboolean rpc_server_client_reply(RpcServerClient *client, RpcMessage *call, xdrproc_t xdrproc,
                                 const void *ret)
{
    return rpc_server_client_reply_fds(client, call, xdrproc, ret, NULL, 0);
}

gboolean rpc_server_client_send_event(RpcServerClient *client, guint32 prog, guint32 vers, int proc,
                                      xdrproc_t xdrproc, const void *data, GError **error)
{
    g_autoptr(RpcMessage) msg = rpc_message_new();
    RpcHeader hdr = { prog, vers, proc, RPC_MESSAGE, 0, RPC_STATUS_OK };

    if (!rpc_message_encode(msg, &hdr, xdrproc, data, error))
        return FALSE;
    return netsocket_send(client->sock, g_steal_pointer(&msg), error);
}

/* ---------------------------------------------------------------- streams */

static void client_stream_detach(gpointer owner, RpcStream *st)
{
    RpcServerClient *client = owner;
    gpointer key = GUINT_TO_POINTER(rpc_stream_get_serial(st));
    RpcStream *found;

    g_mutex_lock(&client->lock);
    found = g_hash_table_lookup(client->streams, key);
    if (found == st)
        g_hash_table_steal(client->streams, key);
    g_mutex_unlock(&client->lock);
    if (found == st)
        rpc_stream_unref(st);
}

RpcStream *rpc_server_client_open_stream(RpcServerClient *client, RpcMessage *call)
{
    RpcStream *st =
        rpc_stream_new(client->sock, TRUE, &call->header, client_stream_detach,
                       rpc_server_client_ref(client), (GDestroyNotify)rpc_server_client_unref);
    RpcStream *old = NULL;
    gboolean closed;

    g_mutex_lock(&client->lock);
    closed = client->closed;
    if (!closed) {
        gpointer key = GUINT_TO_POINTER(call->header.serial);

        old = g_hash_table_lookup(client->streams, key);
        if (old)
            g_hash_table_steal(client->streams, key);
        g_hash_table_insert(client->streams, key, rpc_stream_ref(st));
    }
    g_mutex_unlock(&client->lock);
    if (old) {
        rpc_stream_connection_closed(old, NULL);
        rpc_stream_unref(old);
    }
    if (closed)
        rpc_stream_connection_closed(st, NULL);
    return st;
}

RpcStream *rpc_server_client_open_call_stream(RpcServerClient *client, GError **error)
{
    ServerJob *job = g_private_get(&server_current_job);

    if (!job || job->client != client) {
        ferry_fail(error, FERRY_ERR_INTERNAL,
                   "BUG: no call of client %s runs on this thread to open a stream for",
                   netsocket_get_peer(client->sock));
        return NULL;
    }
    return rpc_server_client_open_stream(client, job->call);
}

/* ---------------------------------------------------------------- keepalive */

typedef struct {
    RpcServerClient *client;
    int interval;
    guint count;
    GError *error;
    gboolean ok;
} KeepaliveStart;

static void client_keepalive_start_io(gpointer opaque)
{
    KeepaliveStart *ks = opaque;
    RpcServerClient *client = ks->client;

    if (netsocket_is_closed(client->sock)) {
        ferry_fail(&ks->error, FERRY_ERR_NO_CONNECT, "connection to %s is closed",
                   netsocket_get_peer(client->sock));
        return;
    }
    g_clear_pointer(&client->ka, rpc_keepalive_stop);
    client->ka = rpc_keepalive_start(client->sock, ks->interval, ks->count, &ks->error);
    ks->ok = client->ka != NULL;
}

gboolean rpc_server_client_start_keepalive(RpcServerClient *client, int interval, guint count,
                                           GError **error)
{
    KeepaliveStart ks = { client, interval, count, NULL, FALSE };

    if (!iothread_invoke_sync(client_keepalive_start_io, &ks, error))
        return FALSE;
    if (!ks.ok) {
        g_propagate_error(error, ks.error);
        return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- calls */

/* Bad input from the client: close once the replies queued (the error
 * reply among them) are written.  Closing with an RPC error counts it as a
 * protocol error (client_on_closed). */
static void client_protocol_error(RpcServerClient *client, const GError *err)
{
    netsocket_close_after_flush(client->sock, err);
}

/* A CALL, on the I/O thread: answer it here or queue it for a worker. */
static void client_handle_call(RpcServerClient *client, RpcMessage *call)
{
    g_autoptr(RpcMessage) owned = call;
    g_autoptr(GError) err = NULL;
    RpcServer *srv = client->srv;
    const RpcServerProgram *prog;
    const RpcProcedure *proc = NULL;
    gboolean number_known;
    GThreadPool *pool;
    ServerJob *job;

    prog = server_find_program(srv, call->header.prog, call->header.vers, &number_known);
    if (!prog) {
        ferry_fail(&err, FERRY_ERR_RPC, "unknown program 0x%x version %u%s", call->header.prog,
                   call->header.vers, number_known ? " (that version is not served)" : "");
        FLOG_INFO("call from %s: %s", netsocket_get_peer(client->sock), err->message);
        client_send_error_direct(client, call, err);
        return;
    }
    if (prog->spec.procs) {
        proc = rpc_program_find_proc(prog->spec.procs, call->header.proc);
    }
    if ((prog->spec.procs && !proc) ||
        (!prog->spec.dispatch &&
         !g_hash_table_lookup(prog->handlers, GINT_TO_POINTER(call->header.proc)))) {
        ferry_fail(&err, FERRY_ERR_NO_SUPPORT, "procedure %d is not supported", call->header.proc);
        client_send_error_direct(client, call, err);
        return;
    }
    if (proc && (proc->flags & RPC_PROC_EVENT)) {
        ferry_fail(&err, FERRY_ERR_RPC, "procedure %d is an event, not a call", call->header.proc);
        client_send_error_direct(client, call, err);
        return;
    }

    g_mutex_lock(&srv->lock);
    srv->stats.calls++;
    pool = (proc && (proc->flags & RPC_PROC_PRIORITY)) ? srv->prio_workers : srv->workers;
    g_mutex_unlock(&srv->lock);

    g_mutex_lock(&client->lock);
    g_hash_table_add(client->inflight, call);
    client->jobs++;
    if (!client->paused && g_hash_table_size(client->inflight) >= client->max_requests) {
        client->paused = TRUE;
        netsocket_pause_reading(client->sock);
    }
    g_mutex_unlock(&client->lock);

    job = g_new0(ServerJob, 1);
    job->client = rpc_server_client_ref(client);
    job->call = g_steal_pointer(&owned);
    job->prog = prog;
    job->proc = proc;
    g_thread_pool_push(pool, job, NULL);
}

static void server_run_handler(ServerJob *job, RpcServerHandlerFunc func)
{
    RpcServerClient *client = job->client;
    const RpcProcedure *proc = job->proc;
    g_autofree void *args = g_malloc0(MAX(proc->args_size, 1));
    g_autofree void *ret = g_malloc0(MAX(proc->ret_size, 1));
    g_autoptr(GError) err = NULL;

    if (!rpc_message_decode_payload(job->call, proc->args, args, &err)) {
        rpc_server_client_reply_error(client, job->call, err);
        client_protocol_error(client, err);
        return;
    }
    if (func(client, job->call, args, ret, job->prog->spec.opaque, &err))
        rpc_server_client_reply(client, job->call, proc->ret, ret);
    else
        rpc_server_client_reply_error(client, job->call, err);
    xdr_free(proc->ret, ret);
    xdr_free(proc->args, args);
}

static void server_worker(gpointer data, gpointer user_data)
{
    ServerJob *job = data;
    RpcServerClient *client = job->client;
    RpcServer *srv = user_data;
    gboolean skip;
    gboolean unanswered;

    g_mutex_lock(&srv->lock);
    skip = srv->shutdown;
    g_mutex_unlock(&srv->lock);
    skip = skip || netsocket_is_closed(client->sock);

    if (!skip) {
        RpcServerHandlerFunc func =
            g_hash_table_lookup(job->prog->handlers, GINT_TO_POINTER(job->call->header.proc));

        g_private_set(&server_current_job, job);
        if (func)
            server_run_handler(job, func);
        else
            job->prog->spec.dispatch(client, job->call, job->prog->spec.opaque);
        g_private_set(&server_current_job, NULL);
    }

    g_mutex_lock(&client->lock);
    unanswered = g_hash_table_contains(client->inflight, job->call);
    g_mutex_unlock(&client->lock);
    if (unanswered && !skip) {
        g_autoptr(GError) err = NULL;

        ferry_fail(&err, FERRY_ERR_INTERNAL, "procedure %d returned without replying",
                   job->call->header.proc);
        FLOG_ERROR("BUG: %s", err->message);
        rpc_server_client_reply_error(client, job->call, err);
    } else if (unanswered) {
        client_call_done(client, job->call);
    }

    rpc_message_free(job->call);
    g_mutex_lock(&client->lock);
    if (--client->jobs == 0)
        g_cond_broadcast(&client->cond);
    g_mutex_unlock(&client->lock);
    rpc_server_client_unref(client);
    g_free(job);
}

/* ---------------------------------------------------------------- socket events */

static void client_on_message(NetSocket *sock, RpcMessage *msg, gpointer opaque)
{
    RpcServerClient *client = opaque;
    g_autoptr(GError) err = NULL;

    if (rpc_keepalive_handle_message(sock, client->ka, msg)) {
        rpc_message_free(msg);
        return;
    }
    switch (msg->header.type) {
    case RPC_CALL:
    case RPC_CALL_WITH_FDS:
        if (msg->header.status != RPC_STATUS_OK) {
            ferry_fail(&err, FERRY_ERR_RPC, "RPC: a CALL with status %s",
                       rpc_message_status_to_string(msg->header.status));
            rpc_message_free(msg);
            client_protocol_error(client, err);
            return;
        }
        client_handle_call(client, msg);
        return;
    case RPC_STREAM:
    case RPC_STREAM_HOLE: {
        RpcStream *st;

        g_mutex_lock(&client->lock);
        st = g_hash_table_lookup(client->streams, GUINT_TO_POINTER(msg->header.serial));
        if (st && rpc_stream_get_proc(st) == msg->header.proc)
            rpc_stream_ref(st);
        else
            st = NULL;
        g_mutex_unlock(&client->lock);
        if (!st) {
            FLOG_DEBUG("dropping stream message for unknown serial %u from %s", msg->header.serial,
                       netsocket_get_peer(sock));
            rpc_message_free(msg);
            return;
        }
        rpc_stream_deliver(st, msg);
        rpc_stream_unref(st);
        return;
    }
    case RPC_MESSAGE:
        FLOG_DEBUG("ignoring event message (program 0x%x procedure %d) from client %s",
                   msg->header.prog, msg->header.proc, netsocket_get_peer(sock));
        rpc_message_free(msg);
        return;
    default:
        ferry_fail(&err, FERRY_ERR_RPC, "RPC: a client sent a %s message",
                   rpc_message_type_to_string(msg->header.type));
        rpc_message_free(msg);
        client_protocol_error(client, err);
        return;
    }
}

static void client_announce(RpcServerClient *client)
{
    RpcServer *srv = client->srv;
    RpcServerClientFunc cb;
    gpointer opaque;

    g_mutex_lock(&srv->lock);
    cb = srv->new_client_cb;
    opaque = srv->cb_opaque;
    g_mutex_unlock(&srv->lock);
    client->counted_new = TRUE;
    if (cb)
        cb(client, opaque);
}

static void client_stop_handshake_timer(RpcServerClient *client)
{
    if (client->handshake_timer) {
        g_source_destroy(client->handshake_timer);
        g_clear_pointer(&client->handshake_timer, g_source_unref);
    }
}

static gboolean client_handshake_timeout(gpointer opaque)
{
    RpcServerClient *client = opaque;
    g_autoptr(GError) err = NULL;

    ferry_fail(&err, FERRY_ERR_OPERATION_TIMEOUT, "TLS handshake with %s did not finish in time",
               netsocket_get_peer(client->sock));
    FLOG_WARN("%s", err->message);
    g_clear_pointer(&client->handshake_timer, g_source_unref);
    netsocket_close(client->sock, err);
    return G_SOURCE_REMOVE;
}

static void client_on_ready(NetSocket *sock, gpointer opaque)
{
    RpcServerClient *client = opaque;

    client_stop_handshake_timer(client);

    FLOG_INFO("TLS client %s connected (%s)", netsocket_get_peer(sock),
              netsocket_get_peer_dn(sock) ?: "no certificate");
    client_announce(client);
}

static void client_on_closed(NetSocket *sock, const GError *err, gpointer opaque)
{
    RpcServerClient *client = opaque;
    GHashTable *streams;
    GHashTableIter iter;
    gpointer value;

    if (err && (ferry_error_is(err, FERRY_ERR_RPC) || ferry_error_is(err, FERRY_ERR_OVERFLOW))) {
        FLOG_WARN("closed connection from %s: %s", netsocket_get_peer(sock), err->message);
        g_mutex_lock(&client->srv->lock);
        client->srv->stats.protocol_errors++;
        g_mutex_unlock(&client->srv->lock);
    } else if (err)
        FLOG_INFO("client %s closed: %s", netsocket_get_peer(sock), err->message);
    else
        FLOG_DEBUG("client %s closed", netsocket_get_peer(sock));
    g_clear_pointer(&client->ka, rpc_keepalive_stop);
    client_stop_handshake_timer(client);

    g_mutex_lock(&client->lock);
    client->closed = TRUE;
    streams = client->streams;
    client->streams = g_hash_table_new(NULL, NULL);
    g_mutex_unlock(&client->lock);
    g_hash_table_iter_init(&iter, streams);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        rpc_stream_connection_closed(value, err);
        rpc_stream_unref(value);
    }
    g_hash_table_unref(streams);

    g_thread_pool_push(client->srv->close_pool, rpc_server_client_ref(client), NULL);
}

static const NetSocketCallbacks client_socket_callbacks = {
    .message = client_on_message,
    .closed = client_on_closed,
    .ready = client_on_ready,
};

/* On the close pool: wait for the client's calls, then tell the embedder. */
static void server_close_task(gpointer data, gpointer user_data)
{
    RpcServerClient *client = data;
    RpcServer *srv = user_data;
    RpcServerClientFunc cb;
    gpointer opaque;
    gpointer priv;
    GDestroyNotify priv_free;

    g_mutex_lock(&client->lock);
    while (client->jobs > 0)
        g_cond_wait(&client->cond, &client->lock);
    g_mutex_unlock(&client->lock);

    g_mutex_lock(&srv->lock);
    cb = srv->closed_cb;
    opaque = srv->cb_opaque;
    g_mutex_unlock(&srv->lock);
    if (cb && client->counted_new)
        cb(client, opaque);

    g_mutex_lock(&client->lock);
    priv = g_steal_pointer(&client->priv);
    priv_free = client->priv_free;
    client->priv_free = NULL;
    g_mutex_unlock(&client->lock);
    if (priv && priv_free)
        priv_free(priv);

    g_mutex_lock(&srv->lock);
    client->srv = NULL;
    if (g_hash_table_remove(srv->clients, client))
        rpc_server_client_unref(client);
    g_cond_broadcast(&srv->cond);
    g_mutex_unlock(&srv->lock);
    rpc_server_client_unref(client);
}

/* On the I/O thread, for an accepted connection (fd taken). */
void rpc_server_accept(RpcServer *srv, int fd, gboolean is_unix, const char *peer, TlsContext *tls)
{
    g_autoptr(GError) err = NULL;
    RpcServerClient *client;
    NetSocket *sock;

    g_mutex_lock(&srv->lock);
    if (srv->shutdown || g_hash_table_size(srv->clients) >= srv->cfg.max_clients) {
        gboolean shutting = srv->shutdown;
        gint64 now = g_get_monotonic_time();
        guint64 unlogged = 0;

        srv->stats.refused++;
        /* A flood logs one warning per 5 seconds, with a count. */
        if (!shutting) {
            srv->refused_unlogged++;
            if (now - srv->refusal_logged >= 5 * G_USEC_PER_SEC || srv->refusal_logged == 0) {
                unlogged = srv->refused_unlogged;
                srv->refused_unlogged = 0;
                srv->refusal_logged = now;
            }
        }
        g_mutex_unlock(&srv->lock);
        if (unlogged)
            FLOG_WARN(
                "refusing connection from %s: already %u clients (max_clients); %" G_GUINT64_FORMAT
                " refused since the last warning",
                peer, srv->cfg.max_clients, unlogged);
        close(fd);
        return;
    }
    srv->stats.accepted++;
    g_mutex_unlock(&srv->lock);

    sock = netsocket_new_from_fd(fd, is_unix, peer);
    netsocket_set_max_message(sock, srv->cfg.max_message);
    /* Room for a full-size reply to every outstanding call, and events. */
    netsocket_set_max_queue(sock,
                            MAX(RPC_NETSOCKET_QUEUE_MAX,
                                ((size_t)srv->cfg.max_client_requests + 4) * srv->cfg.max_message));
    if (tls && !netsocket_start_tls(sock, tls, NULL, &err)) {
        FLOG_WARN("refusing connection from %s: %s", peer, err->message);
        netsocket_unref(sock);
        return;
    }

    client = g_new0(RpcServerClient, 1);
    client->refs = 1; /* the server table's */
    client->srv = srv;
    client->sock = sock;
    client->max_requests = srv->cfg.max_client_requests;
    g_mutex_init(&client->lock);
    g_cond_init(&client->cond);
    client->inflight = g_hash_table_new(NULL, NULL);
    client->streams = g_hash_table_new(NULL, NULL);

    g_mutex_lock(&srv->lock);
    g_hash_table_add(srv->clients, client);
    g_mutex_unlock(&srv->lock);

    FLOG_DEBUG("accepted %s", peer);
    if (!tls) {
        client_announce(client);
    } else {
        client->handshake_timer = g_timeout_source_new(srv->cfg.handshake_timeout_ms);
        g_source_set_callback(client->handshake_timer, client_handshake_timeout,
                              rpc_server_client_ref(client),
                              (GDestroyNotify)rpc_server_client_unref);
        g_source_attach(client->handshake_timer, iothread_context());
    }
    if (!netsocket_attach(sock, &client_socket_callbacks, rpc_server_client_ref(client),
                          (GDestroyNotify)rpc_server_client_unref, &err)) {
        FLOG_ERROR("cannot serve %s: %s", peer, err->message);
        g_mutex_lock(&srv->lock);
        g_hash_table_remove(srv->clients, client);
        g_cond_broadcast(&srv->cond);
        g_mutex_unlock(&srv->lock);
        rpc_server_client_unref(client);
    }
}
