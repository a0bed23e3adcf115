/*
 * remote_driver.h: the remote driver: driver.h's ops table over an RPC
 * connection to a ferryd (or anything else that speaks libvirt's remote
 * protocol).
 *
 * It serves every URI but qemu:///embed:
 *
 *     qemu:///system, qemu+unix:///system    the UNIX socket: ?socket=PATH,
 *                                            else REMOTE_DRIVER_SYSTEM_SOCKET
 *     qemu+tcp://HOST[:PORT]/system          plain TCP, port 16509
 *     qemu+tls://HOST[:PORT]/system,         TLS, port 16514; the client's
 *     qemu://HOST[:PORT]/system              certificate as libvirt finds it
 *
 * System socket.  ferryd's socket without --root is RUN/ferryd-sock, RUN
 * being /run/ferry (DESIGN.md, "State on disk"), so qemu:///system goes to
 * /run/ferry/ferryd-sock.  It is ferry's own path on purpose, not libvirt's
 * /var/run/libvirt/libvirt-sock: a host may run both daemons, and
 * qemu:///system through libferry must reach ferryd.  (Debian's virsh
 * reaches ferryd with qemu+unix:///system?socket=/run/ferry/ferryd-sock.)
 *
 * TLS files.  With ?pkipath=DIR: DIR/cacert.pem, DIR/clientcert.pem and
 * DIR/clientkey.pem.  Otherwise, for root, libvirt's system paths
 * (/etc/pki/CA/cacert.pem, /etc/pki/libvirt/clientcert.pem,
 * /etc/pki/libvirt/private/clientkey.pem); for anybody else each file from
 * ~/.pki/libvirt/ when it exists there, else the system path.  A missing
 * client certificate or key is not an error here: the client then offers
 * none, and a server that requires one (ferryd always does) refuses it.
 * The server's certificate must match the URI's host unless ?no_verify=1.
 *
 * Opening does the part of what libvirt's remote driver does (wire.md
 * section 3) that ferry needs, in three round trips: AUTH_LIST (only
 * "none" is supported: a server that asks for SASL or polkit is refused),
 * SUPPORTS_FEATURE(PROGRAM_KEEPALIVE), then the keepalive
 * (?keepalive_interval=SECS, 0 for none, default 5; ?keepalive_count=N,
 * default 6), and CONNECT_OPEN with "qemu:///system".  Unlike libvirt it
 * asks SUPPORTS_FEATURE(REMOTE_EVENT_CALLBACK) only when an event callback
 * is registered, and registers no close callback (the socket's end tells
 * the same).  Feature answers are cached per connection: each feature is
 * asked at most once.  Closing sends CONNECT_CLOSE, then drops the
 * connection.  Once the connection is lost (the server went away, the
 * keepalive gave up), every call fails with FERRY_ERR_NO_CONNECT
 * "connection to PEER closed: REASON".
 *
 * Errors the server reports keep its domain, code and message.  The
 * driver's own (connecting, malformed replies) are FERRY_FROM_RPC.
 */
#pragma once

#include <glib.h>

#include "driver/driver.h"
#include "driver/driver_uri.h"

/* Where qemu:///system connects without ?socket= (see above). */
#define REMOTE_DRIVER_SYSTEM_SOCKET "/run/ferry/ferryd-sock"

/* Defaults as virsh's (virConnectSetKeepAlive(conn, 5, 6)). */
#define REMOTE_DRIVER_KEEPALIVE_INTERVAL 5
#define REMOTE_DRIVER_KEEPALIVE_COUNT 6

/* The ops table (name "remote"). */
extern const DriverOps remote_driver_ops;

/* Connects and runs the handshake.  flags: 1 (VIR_CONNECT_RO) asks for a
 * read-only connection; nothing else is accepted. */
DriverConn *remote_driver_open(const DriverUri *uri, unsigned int flags, GError **error);

/* TRUE when uri is one the remote driver serves (everything but embed). */
gboolean remote_driver_handles(const DriverUri *uri);

/* Registers "remote" in the driver registry (driver_registry.h). */
void remote_driver_register(void);
