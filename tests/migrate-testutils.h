/*
 * migrate-testutils.h: migrations between two real daemon/ferryd on one
 * machine, each on its own temporary root with its own host UUID (two
 * "hosts" A and B), with real QEMU and the test guest; shared by
 * test-ferry-migrate (direct) and test-ferry-p2p (peer-to-peer).
 *
 * Programs run from an argv (util/spawn.h), never through a shell.  The
 * guest's serial file starts under A's root; dest_xml_file() gives the
 * destination the guest's XML with it under B's root, so that each QEMU
 * names only its own root: the fixtures find and kill them by root, on
 * every path (ferryd-testutils.h).  A migration passes when the guest, on
 * B, keeps counting past the last tick A's serial file shows and, where a
 * case says so, completes a new self-check there (status=ok).
 *
 * The guest dirties memory under kvm only (QEMU 7.2's tcg loses dirty
 * pages during migration); FERRY_TEST_ACCEL=tcg forces the idle tcg
 * guest.  Waits have safety deadlines (WAIT_MS) only.
 */
#pragma once

#include <glib.h>

#include "ferry/ferry.h"
#include "tests/ferryd-testutils.h"
#include "util/spawn.h"

#define VIRSH "/usr/bin/virsh"
#define HOST_A_UUID "aaaaaaaa-0000-4000-8000-00000000000a"
#define HOST_B_UUID "bbbbbbbb-0000-4000-8000-00000000000b"
#define UUID1 "6a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c01"
/* Safety deadline of every wait (not a timing). */
#define WAIT_MS 120000

typedef struct {
    FerrydFixture a;
    FerrydFixture b;
    gboolean kvm;
    char *kernel;
    FerryConnect *ca; /* libferry on A and B, opened on first use */
    FerryConnect *cb;
    char *muri; /* the last migrate_uri() */
} MigrateFixture;

/* ---------------------------------------------------------------- programs */

typedef struct {
    int status; /* exit status, 128 + signal when killed */
    char *out;
    char *err;
} Run;

void run_free(Run *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Run, run_free)

/* Runs argv to its end (WAIT_MS at most), capturing its output. */
Run *run_argv(const char *const *argv);

/* ferry -c URI ARGS... */
#define FERRY(uri, ...) ferry_run((uri), (const char *const[]){ __VA_ARGS__, NULL })
Run *ferry_run(const char *uri, const char *const *args);

void assert_run_ok(const Run *run, const char *what);
/* Exit status 1, nothing on stdout, one line "error: ...part..." on
 * stderr. */
void assert_run_error(const Run *run, const char *what, const char *part);
void assert_has(const char *text, const char *part);
/* FALSE (the case skipped) without Debian's virsh. */
gboolean have_virsh(void);

/* A program running in the background, its stdout and stderr in files. */
typedef struct {
    Spawn *sp;
    char *out_path;
    char *err_path;
} Background;

/* Kills it when still running. */
void background_free(Background *bg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Background, background_free)

/* argv in the background; its output in dir/TAG-bg.{out,err}. */
Background *background_start(const char *dir, const char *tag, const char *const *argv);

/* ferry -c URI ARGS... in the background; its files go under dir. */
#define FERRY_BG(dir, uri, ...) \
    ferry_background((dir), (uri), (const char *const[]){ __VA_ARGS__, NULL })
Background *ferry_background(const char *dir, const char *uri, const char *const *args);
/* Waits for it to end; its exit status and output. */
Run *background_wait(Background *bg);

/* ferry_domain_migrate3(dom, dconn, params, FERRY_MIGRATE_LIVE) on a
 * thread of its own (migrate3_thread): ddom, or error, when it returned. */
typedef struct {
    FerryDomain *dom;
    FerryConnect *dconn;
    FerryTypedParameter *params;
    int nparams;
    FerryDomain *ddom;
    char *error;
} Migrate3Run;

gpointer migrate3_thread(gpointer data);

/* ---------------------------------------------------------------- fixture */

gboolean kvm_usable(void);
/* The guest kernel, kvm or not, A and B initialized (host UUIDs
 * HOST_A_UUID and HOST_B_UUID) but not started. */
void migrate_fixture_init(MigrateFixture *fx, const char *prefix_a, const char *prefix_b);
/* Destroys what still runs, closes the connections, clears both ferryd
 * fixtures (stops them, kills what names their roots). */
void migrate_fixture_teardown(MigrateFixture *fx, gconstpointer data);

/* The cached libferry connection to f's TCP URI. */
FerryConnect *conn_of(FerrydFixture *f, FerryConnect **cache);
#define CONN_A(fx) conn_of(&(fx)->a, &(fx)->ca)
#define CONN_B(fx) conn_of(&(fx)->b, &(fx)->cb)

/* "tcp:127.0.0.1:PORT" with a port free a moment ago, for --migrateuri
 * (valid until the next call). */
const char *migrate_uri(MigrateFixture *fx);
/* Destroys every running domain of a host. */
void destroy_all(FerryConnect *conn);

/* ---------------------------------------------------------------- the guest */

/* ROOT/serial-NAME.log of a host. */
char *serial_path(FerrydFixture *f, const char *name);
/* The guest's XML: mem MiB filled and checked, rate pages rewritten per
 * second (kvm only), its serial file under A's root. */
char *guest_xml(MigrateFixture *fx, const char *name, const char *uuid, int mem, int rate);
/* The last "tick=" line of a serial file: its tick and checks; FALSE when
 * there is none.  A FAIL line fails the test at once. */
gboolean serial_last(const char *path, guint *tick, guint *checks);
/* Waits until the serial file shows tick > min_tick and checks >
 * min_checks (min_checks -1: any). */
void wait_serial(const char *path, guint min_tick, int min_checks, guint *tick, guint *checks);
/* Starts the guest name (UUID1) on A and waits until it runs; filled:
 * until it has filled and checked its memory once. */
void start_guest(MigrateFixture *fx, const char *name, int mem, int rate, gboolean persistent,
                 gboolean filled);
/* A file under A's root with the running guest's migratable XML, its
 * serial file moved under B's root: what --xml gets. */
char *dest_xml_file(MigrateFixture *fx, const char *name);
/* The guest keeps counting on B past the last tick A's file shows; with
 * check, it also completes a self-check that started on B. */
void check_guest_moved(MigrateFixture *fx, const char *src_name, const char *dst_name,
                       gboolean check);
/* The state of name on a host, or -1 when it has no such domain (also
 * when it goes away during the call). */
int state_of(FerryConnect *conn, const char *name, int *reason);
/* name runs on A as before: running, no job, and its guest goes on. */
void check_source_untouched(MigrateFixture *fx, const char *name);
/* B has nothing: no domain name, no QEMU. */
void check_dest_empty(MigrateFixture *fx, const char *name);
/* Waits until name's migration on A moves data; its rate then (bps may be
 * NULL). */
void wait_migrating(MigrateFixture *fx, const char *name, unsigned long long *bps);
