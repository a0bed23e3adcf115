/*
 * autokill.h: domains that die with a client connection.
 *
 * `start --autodestroy` ties a domain to the connection that started it, and
 * an incoming migration's domain belongs to the client's connection from
 * Prepare until Finish: when that connection closes first, the domain is
 * destroyed.  The map says which:
 *
 *     autokill_add(ak, conn_id, def->uuid, destroy_domain, domain_obj_ref(obj),
 *                  (GDestroyNotify)domain_obj_unref);
 *     ...
 *     autokill_remove(ak, conn_id, def->uuid);     Finish: the domain stays
 *     ...
 *     autokill_run(ak, conn_id);                   the connection closed
 *
 * Connections are opaque 64-bit ids that the daemon never reuses.  A
 * domain may be registered with several connections (it is destroyed when
 * the first of them closes); registering the same (connection, domain)
 * again replaces the callback.
 *
 * Every entry ends exactly once: its callback runs (autokill_run) or it is
 * removed (autokill_remove, autokill_remove_domain, autokill_free), and
 * then its data's destroy notify runs.  Callbacks and destroy notifies run
 * in the calling thread without the map's lock held, so they may take
 * other locks and call back into the map (a callback destroying its domain
 * typically calls autokill_remove_domain).  All functions are thread-safe.
 */
#pragma once

#include <glib.h>

typedef struct _Autokill Autokill;

/* Runs when conn closes; uuid is the domain's (16 bytes, valid during the
 * call). */
typedef void (*AutokillFunc)(guint64 conn, const unsigned char *uuid, gpointer data);

Autokill *autokill_new(void);
/* Forgets every entry without running its callback (destroy notifies run).
 * No other thread may be using the map.  NULL is fine. */
void autokill_free(Autokill *ak);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Autokill, autokill_free)

/* Destroys the domain uuid when conn closes: func(conn, uuid, data), then
 * destroy(data) (destroy may be NULL).  Replaces an earlier entry for the
 * same connection and domain (whose data is destroyed, its callback not
 * run). */
void autokill_add(Autokill *ak, guint64 conn, const unsigned char *uuid, AutokillFunc func,
                  gpointer data, GDestroyNotify destroy);

/* Forgets the entry of (conn, uuid) without running its callback.  TRUE
 * when there was one: its callback will not run.  FALSE when there was
 * none, or when autokill_run has already taken it (its callback runs or
 * has run). */
gboolean autokill_remove(Autokill *ak, guint64 conn, const unsigned char *uuid);

/* Forgets the domain's entries under every connection (the domain went
 * away).  Returns how many there were. */
guint autokill_remove_domain(Autokill *ak, const unsigned char *uuid);

/* The connection closed: takes all its entries out of the map and runs
 * their callbacks, in the order they were added, each once.  Returns how
 * many ran.  A concurrent or later run for the same connection finds
 * nothing. */
guint autokill_run(Autokill *ak, guint64 conn);

/* Inspection (for tests and debugging). */
gboolean autokill_contains(Autokill *ak, guint64 conn, const unsigned char *uuid);
guint autokill_count(Autokill *ak, guint64 conn);
