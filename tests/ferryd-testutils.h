/*
 * ferryd-testutils.h: a real daemon/ferryd for client tests (the remote
 * driver's): a temporary --root, --listen-tcp 127.0.0.1:0 (and
 * --listen-tls 127.0.0.1:0 when asked), the bound ports read from
 * ROOT/run/ferry/ferryd.addr, and cleanup on every path: clearing the
 * fixture stops ferryd (SIGTERM, which must exit 0), kills whatever still
 * names the root (QEMU) and removes the root; a SIGABRT or SIGTRAP
 * (g_error) on the way kills ferryd and those processes first.  Up to
 * FERRYD_FIXTURE_MAX fixtures may be live at once (two "hosts" for a
 * migration test: give them different host_uuid values).
 */
#pragma once

#include <glib.h>

#include "util/spawn.h"

typedef struct {
    char *root;
    char *log; /* ferryd's stdout and stderr */
    Spawn *ferryd;
    guint port; /* plain TCP on 127.0.0.1 */
    guint tls_port; /* 0: no TLS listener */
    char *tcp_uri; /* qemu+tcp://127.0.0.1:PORT/system */
    char *unix_uri; /* qemu+unix:///system?socket=ROOT/run/ferry/ferryd-sock */
    const char *host_uuid; /* --host-uuid; NULL: the tests' default (set before starting) */
    int slot; /* in the abort handler's table */
} FerrydFixture;

#define FERRYD_FIXTURE_MAX 4

/* A new root (named after prefix) and the abort handlers; no ferryd yet. */
void ferryd_fixture_init(FerrydFixture *fx, const char *prefix);
/* Starts ferryd and waits until it listens. */
void ferryd_fixture_start(FerrydFixture *fx, gboolean tls);
/* SIGTERM; ferryd must exit 0.  No-op without a ferryd. */
void ferryd_fixture_stop(FerrydFixture *fx);
/* SIGKILL to ferryd (a crash: nothing of it runs any more), reaped; the
 * root stays, for ferryd_fixture_start to start it again.  No-op without
 * a ferryd. */
void ferryd_fixture_kill(FerrydFixture *fx);
/* Stops ferryd, kills leftovers, removes the root. */
void ferryd_fixture_clear(FerrydFixture *fx);
/* Writes ROOT/etc/ferry/ferryd.conf (before ferryd_fixture_start). */
void ferryd_fixture_write_config(FerrydFixture *fx, const char *text);
/* Logs ferryd's output as test messages. */
void ferryd_fixture_dump_log(FerrydFixture *fx);

/* The running QEMUs of this root (not zombies). */
guint ferryd_fixture_count_qemus(FerrydFixture *fx);
/* Waits (30 s at most) until there are want of them. */
gboolean ferryd_fixture_wait_qemus(FerrydFixture *fx, guint want);
/* The test guest's XML for name written to ROOT/name.xml (g_free). */
char *ferryd_fixture_write_guest(FerrydFixture *fx, const char *name, const char *uuid);

/* BUILDDIR/dir/name (g_free). */
char *ferryd_fixture_build_path(const char *dir, const char *name);
