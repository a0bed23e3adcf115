/*
 * remote_procs.h: the procedures ferry speaks, as data.
 *
 * One hand-written row per procedure in remote_procs.c: its number, its
 * name, the XDR routines and struct sizes of its payloads, and what the
 * dispatcher needs to know about it.  Handlers are not here: the daemon
 * keeps its own table of handler pointers keyed by the same numbers, so
 * that src/rpc knows nothing of domains or drivers.
 *
 *     const RpcProcedure *p = rpc_program_find_proc(&rpc_remote_program, hdr.proc);
 *     if (!p)
 *         ... reply VIR_ERR_NO_SUPPORT "unknown procedure: N" ...
 *     g_autofree void *args = g_malloc0(p->args_size);
 *     if (!rpc_message_decode_payload(msg, p->args, args, error)) ...
 */
#pragma once

#include <stddef.h>

#include <glib.h>

#include "rpc/ferry_net_protocol.h"

typedef enum {
    /* The call or its reply carries file descriptors (CALL_WITH_FDS,
     * REPLY_WITH_FDS).  None of ferry's procedures does yet. */
    RPC_PROC_FDS = 1 << 0,
    /* The call opens a stream keyed by its serial (PREPARE_TUNNEL3_PARAMS:
     * the client writes). */
    RPC_PROC_STREAM = 1 << 1,
    /* May run while a long call (a migration phase, a QEMU start) runs on
     * the same connection: it takes no job, or one that a running async job
     * allows, and never waits for the long call to end.  The dispatcher
     * keeps workers for these so that virsh's job polling and Ctrl-C abort
     * get through during PERFORM3_PARAMS. */
    RPC_PROC_PRIORITY = 1 << 2,
    /* An event the server sends as type MESSAGE, serial 0; "args" is the
     * XXX_msg payload and there is no reply. */
    RPC_PROC_EVENT = 1 << 3,
    /* Answered before CONNECT_OPEN (virsh asks AUTH_LIST and feature 10
     * first). */
    RPC_PROC_BEFORE_OPEN = 1 << 4,
} RpcProcFlags;

typedef struct {
    int number;
    const char *name; /* "DOMAIN_MIGRATE_PREPARE3_PARAMS": REMOTE_PROC_ without the prefix */
    xdrproc_t args; /* the CALL (or MESSAGE) payload; rpc_xdr_void when there is none */
    size_t args_size; /* sizeof the args struct; 0 when there is none */
    xdrproc_t ret; /* the REPLY payload; rpc_xdr_void for none (and for events) */
    size_t ret_size;
    unsigned int flags; /* RpcProcFlags */
} RpcProcedure;

typedef struct {
    guint32 number;
    guint32 version;
    const char *name;
    const RpcProcedure *procs; /* sorted by number */
    size_t nprocs;
} RpcProgram;

/* REMOTE_PROGRAM 0x20008086, version 1. */
extern const RpcProgram rpc_remote_program;
/* FERRY_KEEPALIVE_PROGRAM 0x6b656570, version 1: PING, PONG (events). */
extern const RpcProgram rpc_keepalive_program;

/* An empty payload: encodes and decodes nothing. */
bool_t rpc_xdr_void(XDR *xdrs, void *data);

/* The program with that number (the version is the caller's to check), or
 * NULL. */
const RpcProgram *rpc_program_find(guint32 number);
/* The procedure with that number, or NULL. */
const RpcProcedure *rpc_program_find_proc(const RpcProgram *prog, int number);
/* "DOMAIN_GET_INFO", "PING", or NULL for an unknown program or procedure. */
const char *rpc_proc_name(guint32 prog, int number);
