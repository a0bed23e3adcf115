/*
 * autokill.c: the map from connections to the domains that die with them.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "driver.autokill"

#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"

#include "driver/autokill.h"

typedef struct {
    guint64 conn;
    unsigned char uuid[FERRY_UUID_BUFLEN];
    AutokillFunc func;
    gpointer data;
    GDestroyNotify destroy;
} AutokillEntry;

struct _Autokill {
    GMutex lock;
    /* connection id (guint64 *, owned) -> GPtrArray of AutokillEntry *,
     * in the order added; a connection without entries has no key */
    GHashTable *conns;
};

/* Runs the entry's destroy notify and frees it (never under the lock). */
static void autokill_entry_free(AutokillEntry *entry)
{
    if (!entry)
        return;
    if (entry->destroy)
        entry->destroy(entry->data);
    g_free(entry);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AutokillEntry, autokill_entry_free)

Autokill *autokill_new(void)
{
    Autokill *ak = g_new0(Autokill, 1);

    g_mutex_init(&ak->lock);
    ak->conns = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                      (GDestroyNotify)g_ptr_array_unref);
    return ak;
}

void autokill_free(Autokill *ak)
{
    GHashTableIter iter;
    gpointer value;

    if (!ak)
        return;
    g_hash_table_iter_init(&iter, ak->conns);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        GPtrArray *entries = value;

        for (guint i = 0; i < entries->len; i++)
            autokill_entry_free(g_ptr_array_index(entries, i));
        g_ptr_array_set_size(entries, 0);
    }
    g_hash_table_unref(ak->conns);
    g_mutex_clear(&ak->lock);
    g_free(ak);
}

/* The index of (conn's) entry for uuid in entries, or -1.  Under the lock. */
static int autokill_find(GPtrArray *entries, const unsigned char *uuid)
{
    for (guint i = 0; entries && i < entries->len; i++) {
        AutokillEntry *entry = g_ptr_array_index(entries, i);

        if (ferry_uuid_equal(entry->uuid, uuid))
            return (int)i;
    }
    return -1;
}

/* Removes entry i of conn's list (and the list when it empties); returns
 * the entry.  Under the lock. */
static AutokillEntry *autokill_take(Autokill *ak, guint64 conn, GPtrArray *entries, guint i)
{
    AutokillEntry *entry = g_ptr_array_steal_index(entries, i);

    if (entries->len == 0)
        g_hash_table_remove(ak->conns, &conn);
    return entry;
}

void autokill_add(Autokill *ak, guint64 conn, const unsigned char *uuid, AutokillFunc func,
                  gpointer data, GDestroyNotify destroy)
{
    g_autoptr(AutokillEntry) old = NULL;
    AutokillEntry *entry = g_new0(AutokillEntry, 1);
    char uuidstr[FERRY_UUID_STRING_BUFLEN];

    entry->conn = conn;
    memcpy(entry->uuid, uuid, FERRY_UUID_BUFLEN);
    entry->func = func;
    entry->data = data;
    entry->destroy = destroy;

    g_mutex_lock(&ak->lock);
    GPtrArray *entries = g_hash_table_lookup(ak->conns, &conn);
    if (!entries) {
        entries = g_ptr_array_new();
        g_hash_table_insert(ak->conns, g_memdup2(&conn, sizeof(conn)), entries);
    }
    int i = autokill_find(entries, uuid);
    if (i >= 0) {
        old = g_ptr_array_index(entries, i);
        g_ptr_array_index(entries, i) = entry;
    } else {
        g_ptr_array_add(entries, entry);
    }
    g_mutex_unlock(&ak->lock);

    FLOG_DEBUG("connection %" G_GUINT64_FORMAT ": domain %s is destroyed when it closes%s", conn,
               ferry_uuid_format(uuid, uuidstr), old ? " (replaced)" : "");
}

gboolean autokill_remove(Autokill *ak, guint64 conn, const unsigned char *uuid)
{
    g_autoptr(AutokillEntry) entry = NULL;
    char uuidstr[FERRY_UUID_STRING_BUFLEN];

    g_mutex_lock(&ak->lock);
    GPtrArray *entries = g_hash_table_lookup(ak->conns, &conn);
    int i = autokill_find(entries, uuid);
    if (i >= 0)
        entry = autokill_take(ak, conn, entries, i);
    g_mutex_unlock(&ak->lock);

    if (entry)
        FLOG_DEBUG("connection %" G_GUINT64_FORMAT ": domain %s no longer autokilled", conn,
                   ferry_uuid_format(uuid, uuidstr));
    return entry != NULL;
}

guint autokill_remove_domain(Autokill *ak, const unsigned char *uuid)
{
    g_autoptr(GPtrArray) removed =
        g_ptr_array_new_with_free_func((GDestroyNotify)autokill_entry_free);
    GHashTableIter iter;
    gpointer value;

    g_mutex_lock(&ak->lock);
    g_hash_table_iter_init(&iter, ak->conns);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        GPtrArray *entries = value;
        int i = autokill_find(entries, uuid);

        if (i < 0)
            continue;
        g_ptr_array_add(removed, g_ptr_array_steal_index(entries, i));
        if (entries->len == 0)
            g_hash_table_iter_remove(&iter);
    }
    g_mutex_unlock(&ak->lock);

    return removed->len;
}

guint autokill_run(Autokill *ak, guint64 conn)
{
    gpointer key = NULL;
    gpointer value = NULL;

    g_mutex_lock(&ak->lock);
    if (!g_hash_table_steal_extended(ak->conns, &conn, &key, &value))
        value = NULL;
    g_mutex_unlock(&ak->lock);

    g_free(key);
    if (!value)
        return 0;

    g_autoptr(GPtrArray) entries = value;
    guint n = entries->len;
    FLOG_DEBUG("connection %" G_GUINT64_FORMAT " closed: %u domains to destroy", conn, n);
    for (guint i = 0; i < n; i++) {
        g_autoptr(AutokillEntry) entry = g_ptr_array_index(entries, i);
        char uuidstr[FERRY_UUID_STRING_BUFLEN];

        g_ptr_array_index(entries, i) = NULL;
        FLOG_INFO("connection %" G_GUINT64_FORMAT " closed: destroying domain %s", conn,
                  ferry_uuid_format(entry->uuid, uuidstr));
        entry->func(conn, entry->uuid, entry->data);
    }
    return n;
}

gboolean autokill_contains(Autokill *ak, guint64 conn, const unsigned char *uuid)
{
    g_mutex_lock(&ak->lock);
    gboolean found = autokill_find(g_hash_table_lookup(ak->conns, &conn), uuid) >= 0;
    g_mutex_unlock(&ak->lock);
    return found;
}

guint autokill_count(Autokill *ak, guint64 conn)
{
    g_mutex_lock(&ak->lock);
    GPtrArray *entries = g_hash_table_lookup(ak->conns, &conn);
    guint n = entries ? entries->len : 0;
    g_mutex_unlock(&ak->lock);
    return n;
}
