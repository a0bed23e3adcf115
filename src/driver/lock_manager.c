/*
 * lock_manager.c: the lock manager's dispatch, and the nop driver.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_LOCK
#define FERRY_LOG_MODULE "driver.lock"

#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"

#include "driver/lock_manager.h"

struct _LockManager {
    gint refs;
    const LockDriver *driver;
    gpointer priv;
};

struct _LockHandle {
    LockManager *mgr;
    char *domain; /* the domain's name, for messages */
    gpointer priv;
    gboolean held;
};

static const LockDriver *const lock_drivers[] = {
    &lock_driver_nop,
    &lock_driver_lockd,
};

/* ------------------------------------------------------------ the manager */

LockManager *lock_manager_new(const char *name, const LockManagerConfig *config, GError **error)
{
    const LockDriver *driver = NULL;
    static const LockManagerConfig empty = { NULL };

    for (gsize i = 0; i < G_N_ELEMENTS(lock_drivers); i++)
        if (name && g_str_equal(lock_drivers[i]->name, name))
            driver = lock_drivers[i];
    if (!driver) {
        ferry_fail(error, FERRY_ERR_CONFIG, "unknown lock manager '%s' (known: %s, %s)",
                   name ? name : "(null)", LOCK_MANAGER_NOP, LOCK_MANAGER_LOCKD);
        return NULL;
    }

    gpointer priv = NULL;
    if (driver->open && !driver->open(config ? config : &empty, &priv, error))
        return NULL;

    LockManager *mgr = g_new0(LockManager, 1);
    mgr->refs = 1;
    mgr->driver = driver;
    mgr->priv = priv;
    FLOG_DEBUG("lock manager '%s' opened", driver->name);
    return mgr;
}

LockManager *lock_manager_ref(LockManager *mgr)
{
    g_atomic_int_inc(&mgr->refs);
    return mgr;
}

void lock_manager_unref(LockManager *mgr)
{
    if (!mgr || !g_atomic_int_dec_and_test(&mgr->refs))
        return;
    if (mgr->driver->close)
        mgr->driver->close(mgr->priv);
    g_free(mgr);
}

const char *lock_manager_get_name(const LockManager *mgr)
{
    return mgr->driver->name;
}

gboolean lock_manager_shares_with(LockManager *mgr, const unsigned char *host_uuid)
{
    if (!host_uuid || ferry_uuid_is_null(host_uuid) || !mgr->driver->shares_with)
        return FALSE;
    return mgr->driver->shares_with(mgr->priv, host_uuid);
}

/* ------------------------------------------------------------ handles */

LockHandle *lock_manager_handle_new(LockManager *mgr, const DomainDef *def, GError **error)
{
    gpointer priv = NULL;

    if (!mgr->driver->handle_new(mgr->priv, def, &priv, error))
        return NULL;

    LockHandle *h = g_new0(LockHandle, 1);
    h->mgr = lock_manager_ref(mgr);
    h->domain = g_strdup(def->name ? def->name : "");
    h->priv = priv;
    return h;
}

void lock_manager_handle_free(LockHandle *h)
{
    if (!h)
        return;
    if (h->held)
        FLOG_DEBUG("domain '%s': closing lock handle while held (leases stay with QEMU's fds)",
                   h->domain);
    h->mgr->driver->handle_free(h->priv);
    lock_manager_unref(h->mgr);
    g_free(h->domain);
    g_free(h);
}

gboolean lock_manager_handle_is_held(const LockHandle *h)
{
    return h->held;
}

gboolean lock_manager_register(LockHandle *h, GError **error)
{
    return h->mgr->driver->register_fds(h->priv, error);
}

gboolean lock_manager_acquire(LockHandle *h, const char *state_driver,
                              const char *const *state_leases, GError **error)
{
    const LockDriver *driver = h->mgr->driver;
    static const char *const no_leases[] = { NULL };

    if (state_driver && !g_str_equal(state_driver, driver->name)) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "domain '%s': the lock state comes from lock manager '%s', this host uses '%s'",
                   h->domain, state_driver, driver->name);
        return FALSE;
    }
    if (!state_driver && state_leases && state_leases[0]) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': lock state leases given without their lock manager", h->domain);
        return FALSE;
    }
    if (h->held) {
        FLOG_DEBUG("domain '%s': leases already held", h->domain);
        return TRUE;
    }
    if (!driver->acquire(h->priv, state_driver ? (state_leases ? state_leases : no_leases) : NULL,
                         error))
        return FALSE;
    h->held = TRUE;
    FLOG_INFO("domain '%s': leases acquired (%s)", h->domain, driver->name);
    return TRUE;
}

gboolean lock_manager_release(LockHandle *h, GError **error)
{
    if (!h->held)
        return TRUE;
    if (!h->mgr->driver->release(h->priv, error))
        return FALSE;
    h->held = FALSE;
    FLOG_INFO("domain '%s': leases released (%s)", h->domain, h->mgr->driver->name);
    return TRUE;
}

GStrv lock_manager_inquire(LockHandle *h)
{
    return h->mgr->driver->inquire(h->priv);
}

gboolean lock_manager_inquire_cookie(LockHandle *h, MigrationCookie *cookie, GError **error)
{
    g_auto(GStrv) leases = lock_manager_inquire(h);

    if (cookie_set_lockstate(cookie, h->mgr->driver->name, error) < 0)
        return FALSE;
    for (char **l = leases; *l; l++) {
        if (cookie_add_lease(cookie, *l, error) < 0)
            return FALSE;
    }
    return TRUE;
}

gboolean lock_manager_acquire_cookie(LockHandle *h, const MigrationCookie *cookie, GError **error)
{
    const CookieLockstate *state = cookie ? cookie->lockstate : NULL;

    if (!state)
        return lock_manager_acquire(h, NULL, NULL, error);

    g_autoptr(GPtrArray) leases = g_ptr_array_new();
    for (guint i = 0; state->leases && i < state->leases->len; i++)
        g_ptr_array_add(leases, g_ptr_array_index(state->leases, i));
    g_ptr_array_add(leases, NULL);
    return lock_manager_acquire(h, state->driver, (const char *const *)leases->pdata, error);
}

GArray *lock_manager_get_fds(LockHandle *h)
{
    return h->mgr->driver->get_fds(h->priv);
}

gboolean lock_manager_adopt(LockHandle *h, int pidfd, const LockManagerFd *fds, gsize nfds,
                            gboolean held, GError **error)
{
    if (!h->mgr->driver->adopt(h->priv, pidfd, fds, nfds, held, error))
        return FALSE;
    h->held = held;
    FLOG_INFO("domain '%s': %zu lease fds adopted from QEMU (%s)", h->domain, nfds,
              held ? "held" : "not held");
    return TRUE;
}

/* ------------------------------------------------------------ nop */

static gboolean nop_handle_new(gpointer mgr_priv, const DomainDef *def, gpointer *h_priv,
                               GError **error)
{
    *h_priv = NULL;
    return TRUE;
}

static void nop_handle_free(gpointer h_priv)
{
}

static gboolean nop_register(gpointer h_priv, GError **error)
{
    return TRUE;
}

static gboolean nop_acquire(gpointer h_priv, const char *const *leases, GError **error)
{
    if (leases && leases[0]) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "lock manager 'nop' keeps no leases, but the lock state names '%s'", leases[0]);
        return FALSE;
    }
    return TRUE;
}

static gboolean nop_release(gpointer h_priv, GError **error)
{
    return TRUE;
}

static GStrv nop_inquire(gpointer h_priv)
{
    return g_new0(char *, 1);
}

static GArray *nop_get_fds(gpointer h_priv)
{
    return g_array_new(FALSE, FALSE, sizeof(LockManagerFd));
}

static gboolean nop_adopt(gpointer h_priv, int pidfd, const LockManagerFd *fds, gsize nfds,
                          gboolean held, GError **error)
{
    if (nfds > 0) {
        ferry_fail(error, FERRY_ERR_OPERATION_INVALID,
                   "lock manager 'nop' keeps no leases, but lease '%s' was to be adopted",
                   fds[0].lease);
        return FALSE;
    }
    return TRUE;
}

const LockDriver lock_driver_nop = {
    .name = LOCK_MANAGER_NOP,
    .handle_new = nop_handle_new,
    .handle_free = nop_handle_free,
    .register_fds = nop_register,
    .acquire = nop_acquire,
    .release = nop_release,
    .inquire = nop_inquire,
    .get_fds = nop_get_fds,
    .adopt = nop_adopt,
};
