/*
 * embed_driver.c: qemu:///embed?root=DIR, the QEMU driver inside the
 * calling process (libvirt's embedded driver URI).
 *
 * Connections of one process to the same root share one QemuDriver: the
 * first opens it (qemu_driver_open, which reconnects to the QEMUs that run
 * on that root), the last closes it (running domains keep running, those
 * started with AUTODESTROY are destroyed).  Each connection has its own
 * connection id, so closing one destroys only its own autodestroy domains.
 *
 * The connection is the QEMU driver's own (qemu_driver_conn_open) with one
 * difference: its ops table is a copy of qemu_driver_ops whose close also
 * releases the shared driver.  (So qemu_driver_conn_get_driver(), which
 * checks for &qemu_driver_ops, does not accept an embed connection; nobody
 * needs it to yet.)
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LIBFERRY
#define FERRY_LOG_MODULE "libferry.embed"

#include "libferry/libferry_priv.h"
#include "driver/qemu_driver_ops.h"
#include "migration/migration.h"
#include "util/error.h"
#include "util/log.h"

typedef struct {
    char *root;
    QemuDriver *drv;
    guint users;
} EmbedRoot;

static GMutex embed_lock;
static GHashTable *embed_roots; /* root -> EmbedRoot */
static GHashTable *embed_conns; /* DriverConn * -> EmbedRoot */
static guint64 embed_next_conn_id = 1;
static DriverOps embed_ops;

static void embed_root_release(EmbedRoot *er)
{
    if (--er->users > 0)
        return;
    FLOG_DEBUG("closing the QEMU driver on '%s'", er->root);
    g_hash_table_remove(embed_roots, er->root);
    qemu_driver_close(er->drv);
    g_free(er->root);
    g_free(er);
}

static void embed_close(DriverConn *conn)
{
    EmbedRoot *er;

    g_mutex_lock(&embed_lock);
    er = g_hash_table_lookup(embed_conns, conn);
    g_hash_table_remove(embed_conns, conn);
    /* The QEMU driver's close destroys this connection's autodestroy
     * domains and frees it. */
    qemu_driver_ops.close(conn);
    if (er)
        embed_root_release(er);
    g_mutex_unlock(&embed_lock);
}

static gboolean embed_handles(const DriverUri *uri)
{
    return uri->path == DRIVER_URI_PATH_EMBED;
}

static DriverConn *embed_open(const DriverUri *uri, unsigned int flags, GError **error)
{
    g_autofree char *root = g_canonicalize_filename(uri->root, NULL);
    EmbedRoot *er;
    DriverConn *conn;

    g_mutex_lock(&embed_lock);
    if (!embed_roots) {
        embed_roots = g_hash_table_new(g_str_hash, g_str_equal);
        embed_conns = g_hash_table_new(g_direct_hash, g_direct_equal);
        embed_ops = qemu_driver_ops;
        embed_ops.close = embed_close;
    }
    er = g_hash_table_lookup(embed_roots, root);
    if (!er) {
        QemuDriverConfig cfg = QEMU_DRIVER_CONFIG_INIT;
        g_autoptr(GError) err = NULL;
        QemuDriver *drv;

        cfg.root = root;
        migration_init();
        drv = qemu_driver_open(&cfg, &err);
        if (!drv) {
            g_mutex_unlock(&embed_lock);
            ferry_fail(error, FERRY_ERR_NO_CONNECT, "cannot open '%s': %s", uri->text,
                       err->message);
            return NULL;
        }
        /* migrations a process that died left behind on this root */
        migration_recover(drv);
        er = g_new0(EmbedRoot, 1);
        er->root = g_steal_pointer(&root);
        er->drv = drv;
        g_hash_table_insert(embed_roots, er->root, er);
        FLOG_DEBUG("QEMU driver open on '%s'", er->root);
    }
    er->users++;
    conn = qemu_driver_conn_open(er->drv, embed_next_conn_id++, uri->text);
    conn->ops = &embed_ops;
    g_hash_table_insert(embed_conns, conn, er);
    g_mutex_unlock(&embed_lock);
    return conn;
}

const DriverRegistration libferry_embed_registration = {
    .name = "embed",
    .handles = embed_handles,
    .open = embed_open,
};
