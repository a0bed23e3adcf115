/*
 * stream_driver.c: a DriverStream over an RpcStream.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_RPC
#define FERRY_LOG_MODULE "rpc.stream"

#include "rpc/stream_driver.h"
#include "util/error.h"
#include "util/log.h"

static gboolean sd_send(gpointer impl, const void *data, size_t len, GError **error)
{
    return rpc_stream_send(impl, data, len, error);
}

static gssize sd_send_from_fd(gpointer impl, int fd, GError **error)
{
    return rpc_stream_send_from_fd(impl, fd, error);
}

static gssize sd_recv(gpointer impl, void *buf, size_t len, int timeout_ms, GError **error)
{
    return rpc_stream_recv(impl, buf, len, timeout_ms, error);
}

static gssize sd_recv_to_fd(gpointer impl, int fd, int timeout_ms, GError **error)
{
    return rpc_stream_recv_to_fd(impl, fd, timeout_ms, error);
}

static gboolean sd_finish(gpointer impl, GError **error)
{
    return rpc_stream_finish(impl, error);
}

static void sd_abort(gpointer impl, const GError *reason)
{
    rpc_stream_abort(impl, reason);
}

static void sd_free(gpointer impl)
{
    RpcStream *st = impl;
    RpcStreamStats stats;

    rpc_stream_get_stats(st, &stats);
    if (!stats.finished && !stats.aborted) {
        g_autoptr(GError) why = NULL;

        ferry_fail(&why, FERRY_ERR_OPERATION_ABORTED,
                   "stream of procedure %d dropped before its end", rpc_stream_get_proc(st));
        FLOG_DEBUG("%s", why->message);
        /* a no-op when it failed already (its connection closed) */
        rpc_stream_abort(st, why);
    }
    rpc_stream_unref(st);
}

static const DriverStreamOps rpc_stream_driver_ops = {
    .send = sd_send,
    .send_from_fd = sd_send_from_fd,
    .recv = sd_recv,
    .recv_to_fd = sd_recv_to_fd,
    .finish = sd_finish,
    .abort = sd_abort,
    .free = sd_free,
};

gboolean rpc_stream_driver_open(DriverStream *ds, RpcStream *st, GError **error)
{
    /* checked first: a second backend's free would abort st */
    if (driver_stream_is_open(ds)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID, "the stream is open already");
        return FALSE;
    }
    return driver_stream_open(ds, &rpc_stream_driver_ops, rpc_stream_ref(st), error);
}

DriverStream *rpc_stream_driver_new(RpcStream *st)
{
    DriverStream *ds = driver_stream_new();

    driver_stream_open(ds, &rpc_stream_driver_ops, rpc_stream_ref(st), NULL);
    return ds;
}

RpcStream *rpc_stream_driver_get_rpc(DriverStream *ds)
{
    return ds->ops == &rpc_stream_driver_ops ? ds->impl : NULL;
}
