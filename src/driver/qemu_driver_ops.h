/*
 * qemu_driver_ops.h: the QEMU driver behind driver.h's ops table.
 *
 * ferryd opens one DriverConn per client connection; the connection id is
 * what autodestroy domains (start --autodestroy, incoming migrations) are
 * tied to, and closing the DriverConn destroys them.
 */
#pragma once

#include "driver/driver.h"
#include "driver/qemu_driver.h"

extern const DriverOps qemu_driver_ops;

/* A connection to drv (which must outlive it) for client conn_id. */
DriverConn *qemu_driver_conn_open(QemuDriver *drv, guint64 conn_id, const char *uri);

/* The driver behind a connection made by qemu_driver_conn_open. */
QemuDriver *qemu_driver_conn_get_driver(DriverConn *conn);
