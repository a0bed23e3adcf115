/*
 * migration-testutils.h: two QEMU drivers in one process, each on its own
 * temporary root with its own host identity (two "hosts"), real QEMU and
 * the test guest: the fixture of test-migration and
 * test-migration-control.
 *
 * Each side's guest writes its serial output under its own root: the
 * destination's path comes from destination_xml (the same XML with the
 * other path; the path is not part of the guest ABI).  A migration passes
 * when the guest, on the destination, keeps counting past the last tick
 * the source printed and completes new self-checks with status=ok.
 *
 * A guest that dirties memory needs kvm (QEMU 7.2's tcg loses dirty pages
 * during migration); under tcg the guest is idle (rate=0).  No timed
 * assertions: waits have safety deadlines only.  An assertion that aborts
 * still kills the QEMUs of the running case (migration_test_init installs
 * the handler); the teardown kills and counts leftovers.
 */
#pragma once

#include <glib.h>

#include "driver/qemu_driver.h"
#include "driver/qemu_driver_ops.h"
#include "migration/migration.h"

#define UUID_STR "6a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
#define HOST_A_UUID "aaaaaaaa-0000-4000-8000-00000000000a"
#define HOST_B_UUID "bbbbbbbb-0000-4000-8000-00000000000b"
/* Safety deadline of every wait (not a timing). */
#define WAIT_MS 120000

typedef struct {
    char *root_a;
    char *root_b;
    char *kernel;
    char *lease_dir; /* lockd: shared by both "hosts" */
    gboolean kvm;
    guint rate; /* the guest's dirty rate, pages/s (0 under tcg) */
    guint fill_mib; /* what the guest fills and checks */
    QemuDriver *a;
    QemuDriver *b;
    DriverConn *src;
    DriverConn *dst;
} Fixture;

typedef struct {
    gboolean same_host; /* both drivers claim one host uuid */
    gboolean lockd; /* both use lockd with one lease directory */
    /* test_options: the migration's extra flags and one typed parameter */
    unsigned int flags;
    const char *param;
    int int_value; /* TYPED_PARAM_INT when str_value is NULL */
    const char *str_value;
    /* a guest that dirties faster (kvm only) or fills other than 8 MiB */
    guint rate;
    guint fill_mib;
    /* the destination's migration settings (ferryd.conf's migration_*) */
    int port_min;
    int port_max;
    const char *mig_address;
    const char *mig_host;
    /* SPICE over TLS, its x509 directory the default
     * ROOT/etc/ferry/pki/spice (which the test fills) */
    gboolean spice_tls;
} FixtureOpts;

/* g_test_init, logging from the environment, migration_init, and the
 * abort handler that kills the running case's QEMUs. */
void migration_test_init(int *argc, char ***argv);

/* opts (may be NULL): its migration settings apply. */
QemuDriver *open_driver(const char *root, const char *host_uuid, const char *hostname, gboolean kvm,
                        const char *lease_dir, const FixtureOpts *opts);
/* The fixture: drivers a (source, "hostA") and b (destination, "hostB"),
 * connections src (id 1) and dst (id 2); data is a FixtureOpts or NULL. */
void fixture_setup(Fixture *fx, gconstpointer data);
void fixture_teardown(Fixture *fx, gconstpointer data);

/* FALSE (the case skipped, saying why) without the test guest / without
 * kvm for a guest that dirties memory. */
gboolean have_guest(Fixture *fx);
gboolean need_kvm(Fixture *fx);

/* ROOT/serial.log */
char *serial_path(const char *root);
/* The guest's XML with its serial output under root. */
char *guest_xml_disk(Fixture *fx, const char *root, const char *name, const char *uuid,
                     int memory_mib, const char *disk);
char *guest_xml(Fixture *fx, const char *root, const char *name, int memory_mib);
/* The last "tick=" line of a serial file: its tick and checks; FALSE when
 * there is none.  A FAIL line fails the test at once. */
gboolean serial_last(const char *path, guint *tick, guint *checks);
/* Waits until the serial file shows tick > min_tick and checks >
 * min_checks. */
void wait_serial(const char *path, guint min_tick, guint min_checks, guint *tick, guint *checks);
/* lockd: a disk on "shared storage" (NULL without lockd). */
char *disk_path(Fixture *fx);
/* Starts "mig1" on the source and waits until it filled and checked. */
void start_guest(Fixture *fx, DriverDomain *dom, gboolean persistent);
/* The running guest's migratable XML with the serial file under the
 * destination's root. */
char *dest_xml(Fixture *fx, const DriverDomain *dom);
/* Typed parameters for a migration between the two local drivers. */
TypedParams *mig_params(Fixture *fx, const DriverDomain *dom);
int state_of(DriverConn *conn, const DriverDomain *dom);
gboolean domain_exists(DriverConn *conn, const char *name);
guint processes_naming(const char *root);
/* Waits until no process names root (the source QEMU of a completed
 * migration ends in the background, after Confirm3 answered). */
void wait_processes_gone(const char *root);
/* The guest keeps counting on the destination, past the source's last
 * tick, and completes new self-checks there. */
void check_guest_moved(Fixture *fx);
/* The source guest is untouched: running (or paused by the user), no job
 * left, suspend and resume work at once. */
void check_source_untouched(Fixture *fx, const DriverDomain *dom);
void check_source_untouched_paused(Fixture *fx, const DriverDomain *dom);
/* A TCP port on 127.0.0.1 that this process listens on (fd returned). */
int listen_any(int *port);

/* migration_sequence on a thread. */
typedef struct {
    Fixture *fx;
    const DriverDomain *dom;
    TypedParams *params;
    gboolean ok;
    GError *err;
    unsigned int flags; /* besides LIVE */
    DriverDomain *arrived; /* may be NULL */
    gint done;
} SequenceRun;
gpointer sequence_thread(gpointer data);
/* Waits until the source's migration moves data / has gone through
 * `passes` passes over memory (job stats). */
void wait_migrating(Fixture *fx, const DriverDomain *dom);
void wait_iterations(Fixture *fx, const DriverDomain *dom, unsigned long long passes);

/* What lifecycle callbacks saw on a connection: "event/detail" each. */
typedef struct {
    GMutex lock;
    GPtrArray *seen;
} EventLog;
void event_log_cb(DriverConn *conn, const DriverDomain *dom, int event, int detail,
                  gpointer opaque);
/* The events so far (after flushing drv's queue), joined with " ". */
char *event_log_text(EventLog *log, QemuDriver *drv);

/* The driver's QMP trace: qemu.monitor logs every command it sends (both
 * drivers of this process) to a file in root_a until trace_stop(). */
void trace_start(Fixture *fx);
/* The trace's file. */
char *trace_path(Fixture *fx);
/* The trace's lines that contain what, joined with "\n". */
char *trace_grep(Fixture *fx, const char *what);
/* The commands sent to the source's QEMU so far, in order:
 * " cmd1 cmd2 ... ". */
char *trace_source_commands(Fixture *fx);
void trace_stop(void);
