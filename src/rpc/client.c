/*
 * client.c: the RPC client.
 *
 * Ownership.  The socket holds a reference on the client (its opaque)
 * until it closed; streams hold one until they leave the client's table.
 * The event thread is the open client's: rpc_client_free() closes the
 * socket and then drains and joins it, so event tasks need no reference.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.client"

#include <errno.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"
#include "util/iothread.h"
#include "rpc/client.h"
#include "rpc/keepalive.h"
#include "rpc/netsocket.h"
#include "rpc/remote_procs.h"

/* How long a TLS handshake may take when connecting. */
#define RPC_CLIENT_TLS_HANDSHAKE_MS 60000

static const char *const close_reason_names[] = { "eof", "error", "keepalive", "client" };
G_STATIC_ASSERT(G_N_ELEMENTS(close_reason_names) == RPC_CLIENT_CLOSE_LAST);

const char *rpc_client_close_reason_to_string(RpcClientCloseReason reason)
{
    if ((int)reason < 0 || reason >= RPC_CLIENT_CLOSE_LAST)
        return NULL;
    return close_reason_names[reason];
}

typedef struct {
    GCond cond;
    RpcMessage *reply;
    GError *error;
    gboolean done;
} ClientCall;

typedef struct {
    guint32 prog;
    guint32 vers;
    int proc;
    RpcClientEventFunc func;
    gpointer opaque;
    GDestroyNotify destroy;
} ClientEvent;

typedef enum { TASK_EVENT, TASK_CLOSE } ClientTaskKind;

typedef struct {
    ClientTaskKind kind;
    RpcMessage *msg;
    ClientEvent *event;
} ClientTask;

struct _RpcClient {
    gint refs;
    GMutex lock;
    GCond closed_cond;
    NetSocket *sock;
    guint32 next_serial;
    GHashTable *calls; /* serial -> ClientCall (on the caller's stack) */
    GHashTable *streams; /* serial -> RpcStream (a reference) */
    GPtrArray *events; /* ClientEvent */
    RpcKeepalive *ka; /* I/O thread */
    gboolean closed;
    gboolean local_close;
    gboolean free_close; /* rpc_client_free closes: it runs the close callback */
    RpcClientCloseReason reason;
    GError *close_error;
    RpcClientCloseFunc close_cb;
    gpointer close_opaque;
    GDestroyNotify close_destroy;
    GThreadPool *event_pool;
    gboolean iothread;
};

static void client_event_free(gpointer p)
{
    ClientEvent *ev = p;

    if (ev->destroy)
        ev->destroy(ev->opaque);
    g_free(ev);
}

RpcClient *rpc_client_ref(RpcClient *client)
{
    g_atomic_int_inc(&client->refs);
    return client;
}

void rpc_client_unref(RpcClient *client)
{
    if (!client || !g_atomic_int_dec_and_test(&client->refs))
        return;
    if (client->event_pool)
        g_thread_pool_free(client->event_pool, FALSE, TRUE);
    if (client->close_destroy)
        client->close_destroy(client->close_opaque);
    g_ptr_array_unref(client->events);
    g_hash_table_unref(client->calls);
    g_hash_table_unref(client->streams);
    g_clear_error(&client->close_error);
    netsocket_unref(client->sock);
    g_mutex_clear(&client->lock);
    g_cond_clear(&client->closed_cond);
    if (client->iothread) {
        if (iothread_is_current())
            FLOG_ERROR("BUG: last reference to an RPC client dropped on the I/O thread "
                       "without rpc_client_free()");
        else
            iothread_stop();
    }
    g_free(client);
}

const char *rpc_client_get_peer(RpcClient *client)
{
    return netsocket_get_peer(client->sock);
}

gboolean rpc_client_is_secure(RpcClient *client)
{
    return netsocket_is_unix(client->sock) || netsocket_has_tls(client->sock);
}

gboolean rpc_client_is_open(RpcClient *client)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&client->lock);

    return !client->closed && !netsocket_is_closed(client->sock);
}

/* ---------------------------------------------------------------- events */

static void client_run_task(gpointer data, gpointer user_data)
{
    ClientTask *task = data;
    RpcClient *client = user_data;

    if (task->kind == TASK_EVENT) {
        task->event->func(client, task->msg, task->event->opaque);
        rpc_message_free(task->msg);
    } else {
        RpcClientCloseFunc cb;
        gpointer opaque;
        RpcClientCloseReason reason;
        g_autoptr(GError) err = NULL;

        g_mutex_lock(&client->lock);
        cb = client->close_cb;
        opaque = client->close_opaque;
        reason = client->reason;
        err = client->close_error ? g_error_copy(client->close_error) : NULL;
        g_mutex_unlock(&client->lock);
        if (cb)
            cb(client, reason, err, opaque);
    }
    g_free(task);
}

void rpc_client_add_event_handler(RpcClient *client, guint32 prog, guint32 vers, int proc,
                                  RpcClientEventFunc func, gpointer opaque, GDestroyNotify destroy)
{
    ClientEvent *ev = g_new0(ClientEvent, 1);

    ev->prog = prog;
    ev->vers = vers;
    ev->proc = proc;
    ev->func = func;
    ev->opaque = opaque;
    ev->destroy = destroy;
    g_mutex_lock(&client->lock);
    g_ptr_array_add(client->events, ev);
    g_mutex_unlock(&client->lock);
}

void rpc_client_set_close_callback(RpcClient *client, RpcClientCloseFunc func, gpointer opaque,
                                   GDestroyNotify destroy)
{
    GDestroyNotify old_destroy;
    gpointer old_opaque;

    g_mutex_lock(&client->lock);
    old_destroy = client->close_destroy;
    old_opaque = client->close_opaque;
    client->close_cb = func;
    client->close_opaque = opaque;
    client->close_destroy = destroy;
    g_mutex_unlock(&client->lock);
    if (old_destroy)
        old_destroy(old_opaque);
}

/* ---------------------------------------------------------------- socket events */

static void client_stream_message(RpcClient *client, RpcMessage *msg)
{
    RpcStream *st;

    g_mutex_lock(&client->lock);
    st = g_hash_table_lookup(client->streams, GUINT_TO_POINTER(msg->header.serial));
    if (st && rpc_stream_get_proc(st) == msg->header.proc)
        rpc_stream_ref(st);
    else
        st = NULL;
    g_mutex_unlock(&client->lock);
    if (!st) {
        FLOG_DEBUG("dropping stream message for unknown serial %u", msg->header.serial);
        rpc_message_free(msg);
        return;
    }
    rpc_stream_deliver(st, msg);
    rpc_stream_unref(st);
}

static void client_on_message(NetSocket *sock, RpcMessage *msg, gpointer opaque)
{
    RpcClient *client = opaque;

    if (rpc_keepalive_handle_message(sock, client->ka, msg)) {
        rpc_message_free(msg);
        return;
    }
    switch (msg->header.type) {
    case RPC_REPLY:
    case RPC_REPLY_WITH_FDS: {
        ClientCall *call;

        g_mutex_lock(&client->lock);
        call = g_hash_table_lookup(client->calls, GUINT_TO_POINTER(msg->header.serial));
        if (call) {
            g_hash_table_remove(client->calls, GUINT_TO_POINTER(msg->header.serial));
            call->reply = msg;
            call->done = TRUE;
            g_cond_signal(&call->cond);
        }
        g_mutex_unlock(&client->lock);
        if (!call) {
            FLOG_DEBUG("dropping reply with serial %u from %s: no call waits for it",
                       msg->header.serial, netsocket_get_peer(sock));
            rpc_message_free(msg);
        }
        return;
    }
    case RPC_MESSAGE: {
        ClientEvent *ev = NULL;

        g_mutex_lock(&client->lock);
        for (guint i = 0; i < client->events->len; i++) {
            ClientEvent *e = g_ptr_array_index(client->events, i);
            if (e->prog == msg->header.prog && e->vers == msg->header.vers &&
                e->proc == msg->header.proc) {
                ev = e;
                break;
            }
        }
        if (ev && client->event_pool) {
            ClientTask *task = g_new0(ClientTask, 1);

            task->kind = TASK_EVENT;
            task->msg = msg;
            task->event = ev;
            g_thread_pool_push(client->event_pool, task, NULL);
            msg = NULL;
        }
        g_mutex_unlock(&client->lock);
        if (msg) {
            FLOG_DEBUG("dropping event program 0x%x procedure %d: no handler", msg->header.prog,
                       msg->header.proc);
            rpc_message_free(msg);
        }
        return;
    }
    case RPC_STREAM:
    case RPC_STREAM_HOLE:
        client_stream_message(client, msg);
        return;
    default:
        FLOG_DEBUG("ignoring a %s message from server %s",
                   rpc_message_type_to_string(msg->header.type), netsocket_get_peer(sock));
        rpc_message_free(msg);
        return;
    }
}

static void client_on_closed(NetSocket *sock, const GError *err, gpointer opaque)
{
    RpcClient *client = opaque;
    GHashTable *streams;
    GHashTableIter iter;
    gpointer value;
    gboolean dead = rpc_keepalive_is_dead(client->ka);

    g_clear_pointer(&client->ka, rpc_keepalive_stop);
    g_mutex_lock(&client->lock);
    client->closed = TRUE;
    if (client->local_close && !dead) {
        client->reason = RPC_CLIENT_CLOSE_CLIENT;
        ferry_fail(&client->close_error, FERRY_ERR_NO_CONNECT,
                   "connection to %s closed by the client", netsocket_get_peer(sock));
    } else if (err) {
        client->reason = dead ? RPC_CLIENT_CLOSE_KEEPALIVE : RPC_CLIENT_CLOSE_ERROR;
        client->close_error = g_error_copy(err);
    } else {
        client->reason = RPC_CLIENT_CLOSE_EOF;
        ferry_fail(&client->close_error, FERRY_ERR_NO_CONNECT,
                   "connection to %s closed: end of file", netsocket_get_peer(sock));
    }
    FLOG_DEBUG("%s", client->close_error->message);

    /* Fail every pending call. */
    g_hash_table_iter_init(&iter, client->calls);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        ClientCall *call = value;

        call->error = g_error_copy(client->close_error);
        call->done = TRUE;
        g_cond_signal(&call->cond);
    }
    g_hash_table_remove_all(client->calls);
    streams = client->streams;
    client->streams = g_hash_table_new(NULL, NULL);
    if (client->event_pool && !client->free_close) {
        ClientTask *task = g_new0(ClientTask, 1);

        task->kind = TASK_CLOSE;
        g_thread_pool_push(client->event_pool, task, NULL);
    }
    g_cond_broadcast(&client->closed_cond);
    g_autoptr(GError) stream_err = g_error_copy(client->close_error);
    g_mutex_unlock(&client->lock);

    g_hash_table_iter_init(&iter, streams);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        rpc_stream_connection_closed(value, stream_err);
        rpc_stream_unref(value);
    }
    g_hash_table_unref(streams);
}

static const NetSocketCallbacks client_socket_callbacks = {
    .message = client_on_message,
    .closed = client_on_closed,
};

/* ---------------------------------------------------------------- connecting */

static RpcClient *client_new(NetSocket *sock, GError **error)
{
    g_autoptr(GError) err = NULL;
    RpcClient *client;

    if (!iothread_start(error)) {
        netsocket_unref(sock);
        return NULL;
    }
    client = g_new0(RpcClient, 1);
    client->refs = 1;
    client->iothread = TRUE;
    g_mutex_init(&client->lock);
    g_cond_init(&client->closed_cond);
    client->sock = sock;
    client->next_serial = 1;
    client->calls = g_hash_table_new(NULL, NULL);
    client->streams = g_hash_table_new(NULL, NULL);
    client->events = g_ptr_array_new_with_free_func(client_event_free);
    client->event_pool = g_thread_pool_new(client_run_task, client, 1, FALSE, &err);
    if (!client->event_pool) {
        ferry_fail(error, FERRY_ERR_SYSTEM, "cannot start the client's event thread: %s",
                   err->message);
        netsocket_close(sock, NULL);
        rpc_client_unref(client);
        return NULL;
    }
    if (!netsocket_attach(sock, &client_socket_callbacks, rpc_client_ref(client),
                          (GDestroyNotify)rpc_client_unref, error)) {
        netsocket_close(sock, NULL);
        rpc_client_unref(client);
        return NULL;
    }
    return client;
}

RpcClient *rpc_client_new_unix(const char *path, GError **error)
{
    NetSocket *sock = netsocket_connect_unix(path, error);

    return sock ? client_new(sock, error) : NULL;
}

RpcClient *rpc_client_new_tcp(const char *host, guint port, GError **error)
{
    NetSocket *sock = netsocket_connect_tcp(host, port, error);

    return sock ? client_new(sock, error) : NULL;
}

RpcClient *rpc_client_new_tls(const char *host, guint port, TlsContext *ctx, const char *hostname,
                              GError **error)
{
    g_autoptr(NetSocket) sock = netsocket_connect_tcp(host, port, error);

    if (!sock)
        return NULL;
    if (!netsocket_start_tls(sock, ctx, hostname ? hostname : host, error) ||
        !netsocket_handshake_sync(sock, RPC_CLIENT_TLS_HANDSHAKE_MS, error))
        return NULL;
    return client_new(g_steal_pointer(&sock), error);
}

void rpc_client_close(RpcClient *client)
{
    g_mutex_lock(&client->lock);
    if (!client->closed)
        client->local_close = TRUE;
    g_mutex_unlock(&client->lock);
    netsocket_close(client->sock, NULL);
    if (iothread_is_current())
        return;
    g_mutex_lock(&client->lock);
    while (!client->closed)
        g_cond_wait(&client->closed_cond, &client->lock);
    g_mutex_unlock(&client->lock);
}

void rpc_client_free(RpcClient *client)
{
    GThreadPool *pool;
    gboolean run_close;

    if (!client)
        return;
    /* Closing it here, we run the close callback here too, after the events
     * still queued: no event thread has to be started (and waited for) at
     * the end of every connection just for that. */
    g_mutex_lock(&client->lock);
    run_close = !client->closed && !iothread_is_current();
    client->free_close = run_close;
    g_mutex_unlock(&client->lock);
    rpc_client_close(client);
    /* Runs the events (and the close callback) still queued. */
    g_mutex_lock(&client->lock);
    pool = g_steal_pointer(&client->event_pool);
    g_mutex_unlock(&client->lock);
    if (pool)
        g_thread_pool_free(pool, FALSE, TRUE);
    if (run_close) {
        ClientTask *task = g_new0(ClientTask, 1);

        task->kind = TASK_CLOSE;
        client_run_task(task, client);
    }
    /* The I/O thread may drop the socket's reference after we return, so
     * the last reference can go there: stop our use of the thread here. */
    if (client->iothread && !iothread_is_current()) {
        client->iothread = FALSE;
        iothread_stop();
    }
    rpc_client_unref(client);
}

/* ---------------------------------------------------------------- keepalive */

typedef struct {
    RpcClient *client;
    int interval;
    guint count;
    GError *error;
} KeepaliveStart;

static void client_keepalive_start_io(gpointer opaque)
{
    KeepaliveStart *ks = opaque;
    RpcClient *client = ks->client;

    if (netsocket_is_closed(client->sock)) {
        ferry_fail(&ks->error, FERRY_ERR_NO_CONNECT, "connection to %s is closed",
                   netsocket_get_peer(client->sock));
        return;
    }
    g_clear_pointer(&client->ka, rpc_keepalive_stop);
    client->ka = rpc_keepalive_start(client->sock, ks->interval, ks->count, &ks->error);
}

gboolean rpc_client_start_keepalive(RpcClient *client, int interval, guint count, GError **error)
{
    KeepaliveStart ks = { client, interval, count, NULL };

    if (!iothread_invoke_sync(client_keepalive_start_io, &ks, error))
        return FALSE;
    if (ks.error) {
        g_propagate_error(error, ks.error);
        return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- calls */

static gboolean client_call(RpcClient *client, const RpcHeader *hdr_in, xdrproc_t args_xdr,
                            const void *args, const int *fds_in, size_t nfds_in, xdrproc_t ret_xdr,
                            void *ret, int **fds_out, size_t *nfds_out, int timeout_ms,
                            GError **error)
{
    g_autoptr(RpcMessage) msg = rpc_message_new();
    g_autoptr(RpcMessage) reply = NULL;
    RpcHeader hdr = *hdr_in;
    gint64 end = timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gpointer key;
    ClientCall call = { 0 };
    gboolean timed_out = FALSE;

    if (iothread_is_current()) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "BUG: an RPC call (procedure %d) on the I/O thread",
                   hdr.proc);
        return FALSE;
    }
    if (nfds_in > 0 && !netsocket_is_unix(client->sock)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "procedure %d: file descriptors pass over UNIX sockets only", hdr.proc);
        return FALSE;
    }
    for (size_t i = 0; i < nfds_in; i++) {
        int fd = dup(fds_in[i]);

        if (fd < 0) {
            ferry_fail_errno(error, errno, "cannot duplicate fd %d for procedure %d", fds_in[i],
                             hdr.proc);
            return FALSE;
        }
        if (!rpc_message_add_fd(msg, fd, error))
            return FALSE;
    }

    g_mutex_lock(&client->lock);
    if (hdr.serial == 0)
        hdr.serial = client->next_serial++;
    g_mutex_unlock(&client->lock);
    hdr.type = nfds_in > 0 ? RPC_CALL_WITH_FDS : RPC_CALL;
    hdr.status = RPC_STATUS_OK;
    if (!rpc_message_encode(msg, &hdr, args_xdr, args, error))
        return FALSE;

    /* Many threads sending big calls at once wait for room rather than
     * overflow the socket's queue (which would close the connection). */
    size_t max_queue = netsocket_get_max_queue(client->sock);
    g_autoptr(GError) wait_err = NULL;
    if (msg->length < max_queue &&
        !netsocket_wait_queue(client->sock, max_queue - msg->length, end, &wait_err)) {
        g_mutex_lock(&client->lock);
        if (client->closed)
            g_propagate_error(error, g_error_copy(client->close_error));
        else
            g_propagate_error(error, g_steal_pointer(&wait_err));
        g_mutex_unlock(&client->lock);
        return FALSE;
    }

    key = GUINT_TO_POINTER(hdr.serial);
    g_cond_init(&call.cond);
    g_mutex_lock(&client->lock);
    if (client->closed) {
        g_propagate_error(error, g_error_copy(client->close_error));
        g_mutex_unlock(&client->lock);
        g_cond_clear(&call.cond);
        return FALSE;
    }
    g_hash_table_insert(client->calls, key, &call);
    g_mutex_unlock(&client->lock);

    if (!netsocket_send(client->sock, g_steal_pointer(&msg), error)) {
        g_mutex_lock(&client->lock);
        if (g_hash_table_lookup(client->calls, key) == &call)
            g_hash_table_remove(client->calls, key);
        g_mutex_unlock(&client->lock);
        g_clear_error(&call.error);
        rpc_message_free(call.reply);
        g_cond_clear(&call.cond);
        return FALSE;
    }

    g_mutex_lock(&client->lock);
    while (!call.done) {
        if (end < 0) {
            g_cond_wait(&call.cond, &client->lock);
        } else if (!g_cond_wait_until(&call.cond, &client->lock, end) && !call.done) {
            g_hash_table_remove(client->calls, key);
            timed_out = TRUE;
            break;
        }
    }
    g_mutex_unlock(&client->lock);
    g_cond_clear(&call.cond);
    reply = call.reply;

    if (timed_out) {
        ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                   "call of procedure %d on %s timed out after %d ms", hdr.proc,
                   netsocket_get_peer(client->sock), timeout_ms);
        return FALSE;
    }
    if (call.error) {
        g_propagate_error(error, call.error);
        return FALSE;
    }
    if (reply->header.prog != hdr.prog || reply->header.vers != hdr.vers ||
        reply->header.proc != hdr.proc) {
        ferry_fail(error, FERRY_ERR_RPC,
                   "RPC: the reply to serial %u is for program 0x%x procedure %d, the call was "
                   "for program 0x%x procedure %d",
                   hdr.serial, reply->header.prog, reply->header.proc, hdr.prog, hdr.proc);
        return FALSE;
    }
    if (reply->header.status == RPC_STATUS_ERROR) {
        g_autoptr(GError) derr = NULL;
        GError *remote = rpc_message_decode_error(reply, &derr);

        g_propagate_error(error, remote ? remote : g_steal_pointer(&derr));
        return FALSE;
    }
    if (reply->header.status != RPC_STATUS_OK) {
        ferry_fail(error, FERRY_ERR_RPC, "RPC: reply to procedure %d with status %s", hdr.proc,
                   rpc_message_status_to_string(reply->header.status));
        return FALSE;
    }
    if (!rpc_message_decode_payload(reply, ret_xdr, ret, error))
        return FALSE;
    if (fds_out) {
        *fds_out = NULL;
        *nfds_out = reply->nfds;
        if (reply->nfds > 0) {
            *fds_out = g_new(int, reply->nfds);
            for (size_t i = 0; i < reply->nfds; i++)
                (*fds_out)[i] = rpc_message_steal_fd(reply, i);
        }
    }
    return TRUE;
}

gboolean rpc_client_call_fds(RpcClient *client, guint32 prog, guint32 vers, int proc,
                             xdrproc_t args_xdr, const void *args, const int *fds_in,
                             size_t nfds_in, xdrproc_t ret_xdr, void *ret, int **fds_out,
                             size_t *nfds_out, int timeout_ms, GError **error)
{
    RpcHeader hdr = { prog, vers, proc, RPC_CALL, 0, RPC_STATUS_OK };

    return client_call(client, &hdr, args_xdr, args, fds_in, nfds_in, ret_xdr, ret, fds_out,
                       nfds_out, timeout_ms, error);
}

gboolean rpc_client_call(RpcClient *client, guint32 prog, guint32 vers, int proc,
                         xdrproc_t args_xdr, const void *args, xdrproc_t ret_xdr, void *ret,
                         int timeout_ms, GError **error)
{
    return rpc_client_call_fds(client, prog, vers, proc, args_xdr, args, NULL, 0, ret_xdr, ret,
                               NULL, NULL, timeout_ms, error);
}

/* ---------------------------------------------------------------- streams */

static void client_stream_detach(gpointer owner, RpcStream *st)
{
    RpcClient *client = owner;
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

RpcStream *rpc_client_stream_new(RpcClient *client, guint32 prog, guint32 vers, int proc)
{
    RpcHeader hdr = { prog, vers, proc, RPC_STREAM, 0, RPC_STATUS_CONTINUE };
    RpcStream *st;
    gboolean closed;

    g_mutex_lock(&client->lock);
    hdr.serial = client->next_serial++;
    g_mutex_unlock(&client->lock);
    st = rpc_stream_new(client->sock, FALSE, &hdr, client_stream_detach, rpc_client_ref(client),
                        (GDestroyNotify)rpc_client_unref);
    g_mutex_lock(&client->lock);
    closed = client->closed;
    if (!closed)
        g_hash_table_insert(client->streams, GUINT_TO_POINTER(hdr.serial), rpc_stream_ref(st));
    g_mutex_unlock(&client->lock);
    if (closed)
        rpc_stream_connection_closed(st, client->close_error);
    return st;
}

gboolean rpc_client_call_stream(RpcClient *client, RpcStream *st, xdrproc_t args_xdr,
                                const void *args, xdrproc_t ret_xdr, void *ret, int timeout_ms,
                                GError **error)
{
    RpcHeader hdr = *rpc_stream_get_header(st);
    g_autoptr(GError) err = NULL;

    if (!client_call(client, &hdr, args_xdr, args, NULL, 0, ret_xdr, ret, NULL, NULL, timeout_ms,
                     &err)) {
        rpc_stream_abort(st, err);
        g_propagate_error(error, g_steal_pointer(&err));
        return FALSE;
    }
    return TRUE;
}
