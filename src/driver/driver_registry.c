/*
 * driver_registry.c: which driver serves which URI.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "driver.registry"

#include "driver/driver_registry.h"
#include "util/error.h"
#include "util/log.h"

static GMutex registry_lock;
static GPtrArray *registry; /* of const DriverRegistration * */

void driver_registry_add(const DriverRegistration *reg)
{
    g_return_if_fail(reg && reg->name && reg->handles && reg->open);

    g_mutex_lock(&registry_lock);
    if (!registry)
        registry = g_ptr_array_new();
    for (guint i = 0; i < registry->len; i++) {
        const DriverRegistration *old = g_ptr_array_index(registry, i);

        if (g_str_equal(old->name, reg->name)) {
            registry->pdata[i] = (gpointer)reg;
            g_mutex_unlock(&registry_lock);
            FLOG_DEBUG("driver '%s' registered again (replaces the earlier one)", reg->name);
            return;
        }
    }
    g_ptr_array_add(registry, (gpointer)reg);
    g_mutex_unlock(&registry_lock);
    FLOG_DEBUG("driver '%s' registered", reg->name);
}

const DriverRegistration *driver_registry_find_by_name(const char *name)
{
    const DriverRegistration *found = NULL;

    g_mutex_lock(&registry_lock);
    for (guint i = 0; registry && i < registry->len && !found; i++) {
        const DriverRegistration *reg = g_ptr_array_index(registry, i);

        if (g_str_equal(reg->name, name))
            found = reg;
    }
    g_mutex_unlock(&registry_lock);
    return found;
}

const DriverRegistration *driver_registry_find(const DriverUri *uri, GError **error)
{
    const DriverRegistration *found = NULL;

    g_mutex_lock(&registry_lock);
    for (guint i = 0; registry && i < registry->len && !found; i++) {
        const DriverRegistration *reg = g_ptr_array_index(registry, i);

        if (reg->handles(uri))
            found = reg;
    }
    g_mutex_unlock(&registry_lock);
    if (!found)
        ferry_fail(error, FERRY_ERR_NO_CONNECT, "no driver for URI '%s'", uri->text);
    return found;
}

DriverConn *driver_registry_open(const char *text, unsigned int flags, GError **error)
{
    g_autoptr(DriverUri) uri = driver_uri_parse(text ? text : driver_uri_default(), error);
    const DriverRegistration *reg;

    if (!uri)
        return NULL;
    reg = driver_registry_find(uri, error);
    if (!reg)
        return NULL;
    FLOG_DEBUG("URI '%s': driver '%s'", uri->text, reg->name);
    return reg->open(uri, flags, error);
}

void driver_registry_clear(void)
{
    g_mutex_lock(&registry_lock);
    g_clear_pointer(&registry, g_ptr_array_unref);
    g_mutex_unlock(&registry_lock);
}
