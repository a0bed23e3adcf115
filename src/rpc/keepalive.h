/*
 * keepalive.h: libvirt's keepalive program over a NetSocket.
 *
 * KEEPALIVE_PROGRAM 0x6b656570 version 1: PING (1) and PONG (2), each a
 * MESSAGE with serial 0, status OK and no payload.  Every peer answers a
 * PING with a PONG (rpc_keepalive_handle_message(), on the I/O thread,
 * whether or not a keepalive is running on its side).
 *
 * A running keepalive (rpc_keepalive_start) watches one socket: whenever
 * nothing has arrived from the peer for `interval` seconds it sends a PING;
 * after `count` PINGs in a row without anything coming back it closes the
 * socket with FERRY_ERR_NO_CONNECT "connection to PEER closed: no keepalive
 * response in N s".  Any message from the peer counts as an answer
 * (rpc_keepalive_touch), as in libvirt.  The timer runs on the I/O thread.
 */
#pragma once

#include <glib.h>

#include "rpc/netsocket.h"

typedef struct _RpcKeepalive RpcKeepalive;

/* A PING or PONG message (FERRY_KEEPALIVE_PROC_*). */
RpcMessage *rpc_keepalive_message_new(int proc);

/* TRUE when msg belongs to the keepalive program: it was handled (a PING
 * answered on sock) and is not for the caller.  Does not take msg. */
gboolean rpc_keepalive_handle_message(NetSocket *sock, RpcKeepalive *ka, const RpcMessage *msg);

/* interval >= 1 s, count >= 1. */
RpcKeepalive *rpc_keepalive_start(NetSocket *sock, int interval, guint count, GError **error);
/* Something arrived from the peer; any thread, ka may be NULL. */
void rpc_keepalive_touch(RpcKeepalive *ka);
/* TRUE once the keepalive gave up on the peer. */
gboolean rpc_keepalive_is_dead(RpcKeepalive *ka);
/* Stops the timer and drops the caller's reference. */
void rpc_keepalive_stop(RpcKeepalive *ka);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RpcKeepalive, rpc_keepalive_stop)
