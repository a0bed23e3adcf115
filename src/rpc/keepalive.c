/*
 * keepalive.c: libvirt's keepalive program over a NetSocket.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.keepalive"

#include "util/error.h"
#include "util/log.h"
#include "util/iothread.h"
#include "rpc/keepalive.h"
#include "rpc/remote_procs.h"

struct _RpcKeepalive {
    gint refs;
    GMutex lock;
    NetSocket *sock;
    int interval;
    guint count;
    guint missed; /* PINGs sent since the peer last said anything */
    gint64 last_rx; /* monotonic, us */
    gboolean dead;
    GSource *timer;
};

RpcMessage *rpc_keepalive_message_new(int proc)
{
    g_autoptr(RpcMessage) msg = rpc_message_new();
    RpcHeader hdr = { FERRY_KEEPALIVE_PROGRAM,
                      FERRY_KEEPALIVE_PROTOCOL_VERSION,
                      proc,
                      RPC_MESSAGE,
                      0,
                      RPC_STATUS_OK };

    if (!rpc_message_encode(msg, &hdr, (xdrproc_t)rpc_xdr_void, NULL, NULL))
        return NULL;
    return g_steal_pointer(&msg);
}

static void keepalive_unref(RpcKeepalive *ka)
{
    if (!g_atomic_int_dec_and_test(&ka->refs))
        return;
    netsocket_unref(ka->sock);
    g_mutex_clear(&ka->lock);
    g_free(ka);
}

void rpc_keepalive_touch(RpcKeepalive *ka)
{
    if (!ka)
        return;
    g_mutex_lock(&ka->lock);
    ka->missed = 0;
    ka->last_rx = g_get_monotonic_time();
    g_mutex_unlock(&ka->lock);
}

gboolean rpc_keepalive_handle_message(NetSocket *sock, RpcKeepalive *ka, const RpcMessage *msg)
{
    rpc_keepalive_touch(ka);
    if (msg->header.prog != FERRY_KEEPALIVE_PROGRAM)
        return FALSE;
    if (msg->header.vers != FERRY_KEEPALIVE_PROTOCOL_VERSION || msg->header.type != RPC_MESSAGE) {
        FLOG_DEBUG("ignoring keepalive %s version %u from %s",
                   rpc_message_type_to_string(msg->header.type), msg->header.vers,
                   netsocket_get_peer(sock));
        return TRUE;
    }
    if (msg->header.proc == FERRY_KEEPALIVE_PROC_PING) {
        RpcMessage *pong = rpc_keepalive_message_new(FERRY_KEEPALIVE_PROC_PONG);

        FLOG_DEBUG("PING from %s", netsocket_get_peer(sock));
        if (pong)
            netsocket_send(sock, pong, NULL);
    } else if (msg->header.proc == FERRY_KEEPALIVE_PROC_PONG) {
        FLOG_DEBUG("PONG from %s", netsocket_get_peer(sock));
    }
    return TRUE;
}

static gboolean keepalive_tick(gpointer opaque)
{
    RpcKeepalive *ka = opaque;
    gint64 now = g_get_monotonic_time();
    gint64 idle;
    gboolean ping = FALSE;
    g_autoptr(GError) err = NULL;

    g_mutex_lock(&ka->lock);
    idle = now - ka->last_rx;
    if (ka->dead) {
        g_mutex_unlock(&ka->lock);
        return G_SOURCE_REMOVE;
    }
    /* A little slack: ticks and arrivals are not aligned. */
    if (idle + G_USEC_PER_SEC / 10 >= (gint64)ka->interval * G_USEC_PER_SEC) {
        if (ka->missed >= ka->count) {
            ka->dead = TRUE;
            ferry_fail(&err, FERRY_ERR_NO_CONNECT,
                       "connection to %s closed: no keepalive response in %" G_GINT64_FORMAT " s",
                       netsocket_get_peer(ka->sock), idle / G_USEC_PER_SEC);
        } else {
            ka->missed++;
            ping = TRUE;
        }
    }
    g_mutex_unlock(&ka->lock);

    if (err) {
        FLOG_WARN("%s", err->message);
        netsocket_close(ka->sock, err);
        return G_SOURCE_REMOVE;
    }
    if (ping) {
        RpcMessage *msg = rpc_keepalive_message_new(FERRY_KEEPALIVE_PROC_PING);

        FLOG_DEBUG("PING to %s", netsocket_get_peer(ka->sock));
        if (msg)
            netsocket_send(ka->sock, msg, NULL);
    }
    return G_SOURCE_CONTINUE;
}

RpcKeepalive *rpc_keepalive_start(NetSocket *sock, int interval, guint count, GError **error)
{
    GMainContext *ctx = iothread_context();
    RpcKeepalive *ka;

    if (interval < 1 || count < 1) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "keepalive interval %d s and count %u must both be at least 1", interval, count);
        return NULL;
    }
    if (!ctx) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "the I/O thread is not running");
        return NULL;
    }
    ka = g_new0(RpcKeepalive, 1);
    ka->refs = 2; /* the caller's and the timer's */
    g_mutex_init(&ka->lock);
    ka->sock = netsocket_ref(sock);
    ka->interval = interval;
    ka->count = count;
    ka->last_rx = g_get_monotonic_time();
    ka->timer = g_timeout_source_new((guint)interval * 1000);
    g_source_set_callback(ka->timer, keepalive_tick, ka, (GDestroyNotify)keepalive_unref);
    g_source_set_name(ka->timer, "ferry-keepalive");
    g_source_attach(ka->timer, ctx);
    return ka;
}

gboolean rpc_keepalive_is_dead(RpcKeepalive *ka)
{
    g_autoptr(GMutexLocker) locker = NULL;

    if (!ka)
        return FALSE;
    locker = g_mutex_locker_new(&ka->lock);
    return ka->dead;
}

void rpc_keepalive_stop(RpcKeepalive *ka)
{
    if (!ka)
        return;
    g_source_destroy(ka->timer);
    g_source_unref(ka->timer);
    ka->timer = NULL;
    keepalive_unref(ka);
}
