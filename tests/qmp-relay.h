/*
 * qmp-relay.h: a QMP relay for tests, between a driver and a real QEMU.
 *
 * It listens on a UNIX socket path (where the driver expects the QMP
 * monitor) and, once the driver connected, connects to the real QEMU's
 * socket and passes every line both ways, fds included (SCM_RIGHTS, for
 * getfd and add-fd), except the commands named `fail`: those never reach
 * QEMU and get an error reply (class and desc as given) with their id.
 * The scripted fake of qmp-mock.h for a single command, with a real QEMU
 * for everything else: how a test makes one command fail in a real
 * migration.
 *
 * One connection; the thread ends when either side closes (the QEMU
 * quits) or the relay is freed.
 */
#pragma once

#include <glib.h>

typedef struct _QmpRelay QmpRelay;

/* Listens on path (removed first if it exists) before returning. */
QmpRelay *qmp_relay_new(const char *path, const char *real_path, const char *fail,
                        const char *klass, const char *desc);
/* Stops the thread and closes everything. */
void qmp_relay_free(QmpRelay *relay);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpRelay, qmp_relay_free)

/* How many commands were failed so far; *last_args (may be NULL) gets the
 * last one's "arguments" as JSON text (free it; NULL when none). */
guint qmp_relay_failed(QmpRelay *relay, char **last_args);
