/*
 * qmp-mock.h: a scripted QMP server for tests.
 *
 * The mock runs in its own thread and serves one connection, over a
 * socketpair (the client takes the other end) or a UNIX socket in a temp
 * dir.  It sends a greeting, then follows a script, step by step, in order:
 *
 *     g_autoptr(QmpMock) mock = qmp_mock_new(QMP_MOCK_SOCKETPAIR);
 *     qmp_mock_expect_return(mock, "qmp_capabilities", NULL, "{}");
 *     qmp_mock_expect_hang(mock, "query-status", NULL);    // no reply (yet)
 *     qmp_mock_event(mock, "STOP", NULL);                  // between the two
 *     qmp_mock_reply_hung(mock, "{\"running\":false,\"status\":\"paused\"}");
 *     qmp_mock_start(mock);
 *     ... client: qemu_monitor_open_fd(qmp_mock_take_client_fd(mock), ...) ...
 *     g_autofree char *report = qmp_mock_finish(mock);
 *     g_assert_cmpstr(report, ==, NULL);                   // the script ran, nothing unexpected
 *
 * An "expect" step reads the next command.  A command whose "execute"
 * differs is unexpected: the mock records a failure, answers it with a
 * CommandNotFound error, and keeps waiting for the expected one.  When the
 * step has args (JSON text), the command's "arguments" must equal them.
 * Commands arriving after the script ended are unexpected too.
 * qmp_mock_finish() waits for the script to end (10 s safety net) and
 * returns NULL or a report of everything that went wrong.
 *
 * Fds that arrive with SCM_RIGHTS are kept, with the name of the command
 * whose bytes carried them.
 */
#pragma once

#include <glib.h>

typedef enum {
    QMP_MOCK_SOCKETPAIR,
    QMP_MOCK_UNIX,
} QmpMockTransport;

typedef struct _QmpMock QmpMock;

QmpMock *qmp_mock_new(QmpMockTransport transport);
/* Stops the thread, closes everything, removes the temp dir. */
void qmp_mock_free(QmpMock *mock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpMock, qmp_mock_free)

/* Before start.  text is sent as one line ("\r\n" appended): any text, a
 * malformed greeting or garbage.  NULL: no greeting at all.  The default
 * is QEMU 7.2.0's. */
void qmp_mock_set_greeting(QmpMock *mock, const char *text);

/* Script steps (before start).  args, ret and data are JSON text; args
 * NULL accepts any arguments, data NULL sends an event without "data". */
void qmp_mock_expect_return(QmpMock *mock, const char *execute, const char *args, const char *ret);
void qmp_mock_expect_error(QmpMock *mock, const char *execute, const char *args, const char *klass,
                           const char *desc);
/* No reply now; qmp_mock_reply_hung() may answer it later. */
void qmp_mock_expect_hang(QmpMock *mock, const char *execute, const char *args);
/* The mock closes the connection once the command arrived (EOF mid-command). */
void qmp_mock_expect_close(QmpMock *mock, const char *execute, const char *args);
/* count commands named execute, then answers them in reverse order, each
 * with its own arguments as the return value. */
void qmp_mock_expect_batch_echo(QmpMock *mock, const char *execute, guint count);
/* Answers the oldest hung command not answered yet. */
void qmp_mock_reply_hung(QmpMock *mock, const char *ret);
void qmp_mock_event(QmpMock *mock, const char *name, const char *data);
/* Sends bytes as they are (garbage, half a message, ...). */
void qmp_mock_raw(QmpMock *mock, const char *bytes);
/* Sends one reply line of about size bytes (a huge "return" string). */
void qmp_mock_oversize(QmpMock *mock, gsize size);
/* Closes the connection. */
void qmp_mock_close(QmpMock *mock);
/* Reads nothing (the client's writes back up) until qmp_mock_release(). */
void qmp_mock_stall(QmpMock *mock);
void qmp_mock_release(QmpMock *mock);
/* What the steps between these two send goes out in one send() at the
 * end: several replies and events that the client finds in one read. */
void qmp_mock_burst_begin(QmpMock *mock);
void qmp_mock_burst_end(QmpMock *mock);

/* Starts serving.  For QMP_MOCK_UNIX the socket listens before this
 * returns. */
void qmp_mock_start(QmpMock *mock);
/* The client's end of the socketpair (the caller owns it). */
int qmp_mock_take_client_fd(QmpMock *mock);
/* The UNIX socket's path. */
const char *qmp_mock_get_path(QmpMock *mock);

/* Waits for the script to end; NULL when all went as scripted, else a
 * report (free it). */
char *qmp_mock_finish(QmpMock *mock);

/* Fds received so far (owned by the mock) and the commands they came with. */
guint qmp_mock_n_fds(QmpMock *mock);
int qmp_mock_get_fd(QmpMock *mock, guint i, const char **execute);
/* How many commands the mock has read. */
guint qmp_mock_n_commands(QmpMock *mock);
