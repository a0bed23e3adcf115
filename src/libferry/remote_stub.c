/*
 * remote_stub.c: the "remote" driver's place in the registry until the
 * remote driver (src/rpc) registers itself under the same name: it takes
 * every URI but embed ones, and refuses to connect.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LIBFERRY
#define FERRY_LOG_MODULE "libferry"

#include "libferry/libferry_priv.h"
#include "util/error.h"

static gboolean remote_stub_handles(const DriverUri *uri)
{
    return uri->path != DRIVER_URI_PATH_EMBED;
}

static DriverConn *remote_stub_open(const DriverUri *uri, unsigned int flags, GError **error)
{
    ferry_fail(error, FERRY_ERR_NO_CONNECT,
               "cannot connect to '%s': the remote driver is not available in this build",
               uri->text);
    return NULL;
}

const DriverRegistration libferry_remote_stub_registration = {
    .name = "remote",
    .handles = remote_stub_handles,
    .open = remote_stub_open,
};
