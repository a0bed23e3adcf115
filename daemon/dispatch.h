/*
 * dispatch.h: ferryd's table of remote procedures and their handlers.
 *
 * To find the code for procedure N: its name is in src/rpc/remote_procs.c
 * (say 212, DOMAIN_GET_STATE); the row with that name in daemon/dispatch.c
 * names the handler, dispatch_domain_get_state(), which lives in the file
 * of its group:
 *     dispatch_connect.c    handshake, connection facts, close callback, events
 *     dispatch_domain.c     lookups, lists, queries of one domain
 *     dispatch_lifecycle.c  define, undefine, start, stop, suspend, resume
 *     dispatch_job.c        job statistics, abort, migration tuning
 *     dispatch_migration.c  the v3 migration phases with typed parameters
 *
 * A handler gets the decoded `remote_*_args` (NULL for a procedure without
 * arguments) and fills the zeroed `remote_*_ret` (freed by the caller with
 * xdr_free and the table's ret routine, also after a failure): it decodes
 * and encodes nothing itself, so a test calls it with structs, no sockets.
 *
 *     remote_domain_get_state_args args = { .dom = ..., .flags = 0 };
 *     remote_domain_get_state_ret ret = { 0 };
 *     if (!dispatch_call(client, REMOTE_PROC_DOMAIN_GET_STATE, &args, &ret, error))
 *         ...
 *
 * dispatch_call applies the rules every procedure shares:
 *   - not in the table: FERRY_ERR_NO_SUPPORT (virsh falls back on it, e.g.
 *     from CONNECT_LIST_ALL_DOMAINS, or skips snapshots in `undefine`);
 *   - before CONNECT_OPEN only AUTH_LIST, CONNECT_SUPPORTS_FEATURE,
 *     CONNECT_OPEN and CONNECT_CLOSE: others fail "connection not open";
 *   - on a read-only connection (virsh -r) procedures that change something
 *     fail with FERRY_ERR_OPERATION_DENIED;
 *   - an error's message gets libvirt's prefix for its code, as libvirt's
 *     daemon sends it ("Domain not found: no domain with matching name
 *     'web1'"), so that virsh prints what its users know; domain and code
 *     are kept (the message layer maps them onto libvirt's numbers).
 */
#pragma once

#include <glib.h>

#include "daemon/daemon_client.h"

typedef gboolean (*DispatchFunc)(DaemonClient *client, const void *args, void *ret, GError **error);

typedef enum {
    /* May run before CONNECT_OPEN. */
    DISPATCH_BEFORE_OPEN = 1 << 0,
    /* Changes something: refused on a read-only connection. */
    DISPATCH_WRITE = 1 << 1,
} DispatchFlags;

typedef struct {
    int proc; /* REMOTE_PROC_* */
    const char *name; /* "DOMAIN_GET_STATE" */
    DispatchFunc func;
    unsigned int flags; /* DispatchFlags */
} DispatchEntry;

/* The table, sorted by procedure number. */
const DispatchEntry *dispatch_table(size_t *n);
/* The entry for proc, or NULL when ferryd does not implement it. */
const DispatchEntry *dispatch_find(int proc);

/* Runs procedure proc for client (see above).  ret must be zeroed; the
 * caller frees what it holds afterwards, success or not. */
gboolean dispatch_call(DaemonClient *client, int proc, const void *args, void *ret, GError **error);

/* libvirt's message prefix for an error code ("Domain not found"), or
 * NULL for codes libvirt sends without one. */
const char *dispatch_error_prefix(FerryErrorCode code);
/* Puts that prefix before err's message, unless it is there already. */
void dispatch_error_decorate(GError *err);
