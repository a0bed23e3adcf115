/*
 * driver_registry.h: which driver serves which URI.
 *
 * Drivers register themselves (libvirt's virRegisterConnectDriver): a name,
 * a function that says whether the driver handles a parsed URI, and an open
 * function.  libferry registers "embed" (qemu:///embed?root=DIR: the QEMU
 * driver in-process) and a placeholder "remote" that refuses; the remote
 * driver in src/rpc replaces the placeholder by registering under the same
 * name:
 *
 *     static const DriverRegistration remote_registration = {
 *         .name = "remote", .handles = remote_handles, .open = remote_open,
 *     };
 *     void remote_driver_register(void)
 *     {
 *         driver_registry_add(&remote_registration);
 *     }
 *
 * The registry lives here, below src/rpc and src/libferry, so that both
 * (and ferryd, for peer-to-peer migration) can use it.
 */
#pragma once

#include <glib.h>

#include "driver/driver.h"
#include "driver/driver_uri.h"

typedef struct {
    const char *name; /* "embed", "remote" */
    /* TRUE when this driver serves uri (it was parsed already). */
    gboolean (*handles)(const DriverUri *uri);
    /* A new connection (refcount 1) for uri; NULL and *error on failure. */
    DriverConn *(*open)(const DriverUri *uri, unsigned int flags, GError **error);
} DriverRegistration;

/* Adds reg (kept by pointer: static storage).  A registration with the
 * same name as an earlier one takes its place (and its turn); otherwise
 * drivers are asked in the order they registered. */
void driver_registry_add(const DriverRegistration *reg);

/* The registration with that name, or NULL. */
const DriverRegistration *driver_registry_find_by_name(const char *name);

/* The first registered driver that handles uri; NULL with
 * FERRY_ERR_NO_CONNECT ("no driver for URI '...'") otherwise. */
const DriverRegistration *driver_registry_find(const DriverUri *uri, GError **error);

/* Parses text (NULL: driver_uri_default()) and opens it with its driver. */
DriverConn *driver_registry_open(const char *text, unsigned int flags, GError **error);

/* Forgets every registration (tests). */
void driver_registry_clear(void);
