/*
 * stream_driver.h: a DriverStream (driver.h) over an RpcStream, at either
 * end of the connection: the remote driver's migrate_prepare_tunnel3 (the
 * client end, which sends) and ferryd's dispatch of
 * PREPARE_TUNNEL3_PARAMS (the server end, which the local driver reads).
 *
 * The DriverStream's calls are the RpcStream's (stream.h): send_from_fd is
 * rpc_stream_send_from_fd, recv_to_fd rpc_stream_recv_to_fd, and so on.
 * The DriverStream holds a reference on the RpcStream; its last reference
 * aborts an RpcStream that has not ended ("stream dropped"), so that a
 * stream nobody uses any more leaves its connection's table.
 */
#pragma once

#include <glib.h>

#include "driver/driver.h"
#include "rpc/stream.h"

/* Opens ds (driver_stream_new()'s) over st (a reference is taken). */
gboolean rpc_stream_driver_open(DriverStream *ds, RpcStream *st, GError **error);

/* A new open DriverStream over st. */
DriverStream *rpc_stream_driver_new(RpcStream *st);

/* The RpcStream behind ds, or NULL when ds is not one of these (for
 * statistics in tests and benchmarks). */
RpcStream *rpc_stream_driver_get_rpc(DriverStream *ds);
