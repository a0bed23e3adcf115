/*
 * tls.h: TLS for the RPC transports (gnutls, x509 certificates).
 *
 * A TlsContext holds what one side of many connections shares: the CA (and
 * an optional CRL), our own certificate and key, the priority string and the
 * checks to make on the peer.  It is immutable once made, refcounted, and
 * may be used from any thread.  A TlsSession is one connection over a
 * connected, non-blocking socket; it belongs to one thread at a time (the
 * I/O thread) and never closes the fd, which stays the caller's.
 *
 *     TlsContextConfig cfg = {
 *         .ca_file = "/etc/pki/CA/cacert.pem",
 *         .cert_file = "/etc/pki/libvirt/servercert.pem",
 *         .key_file = "/etc/pki/libvirt/private/serverkey.pem",
 *         .allowed_dn_list = (const char *const *)dn_patterns,
 *     };
 *     g_autoptr(TlsContext) ctx = tls_context_new(TLS_ROLE_SERVER, &cfg, error);
 *     ...
 *     g_autoptr(TlsSession) sess = tls_session_new(ctx, fd, NULL, error);
 *     // on each event for the fd:
 *     switch (tls_session_handshake(sess, error)) {
 *     case TLS_STATUS_NEED_READ:  watch G_IO_IN;  break;
 *     case TLS_STATUS_NEED_WRITE: watch G_IO_OUT; break;
 *     case TLS_STATUS_DONE:       the peer is verified: read and write;
 *     case TLS_STATUS_ERROR:      log *error, close the fd;
 *     }
 *
 * Checks (what libvirt checks, so that the same certificates work):
 * - Loading: every file exists and parses; the CA file holds CA
 *   certificates (basic constraints CA:TRUE) that are in their validity
 *   period; our certificate is in its validity period, is not a CA, has key
 *   usage and extended key usage allowing the role (TLS WWW Server or TLS WWW
 *   Client, when those extensions are present), is signed by the CA and not
 *   revoked by the CRL, and the key matches it.  Errors name the file.
 * - After the handshake, on the peer's certificate: signed by the CA, not
 *   revoked, in its validity period, usage allowing its role, not a CA.  The
 *   server also requires a certificate and checks its DN against the allowed
 *   patterns; the client checks that the certificate matches the host name
 *   (or IP address) it connected to.  Refusals are FERRY_ERR_AUTH_FAILED;
 *   other TLS failures FERRY_ERR_TLS.
 *
 * Verification off (verify_peer FALSE; ferryd.conf's
 * tls_no_verify_certificate = 1 on the server): the server still asks for a
 * client certificate but accepts a client without one, or with one that
 * fails the checks (a warning is logged naming why), and the DN list is not
 * enforced; the client accepts any server certificate.  For tests and
 * trusted networks only: the connection is encrypted but nobody is
 * authenticated.
 *
 * libvirt's access confirmation is part of the handshake here: once the
 * server has accepted the client, it sends one byte, 1, as the first
 * application data, and the client's handshake finishes only when it has
 * read that byte (libvirt's clients, virsh among them, wait for it).  A
 * server that refuses the client sends a TLS close_notify instead, which
 * libvirt clients report as "server verification (of our certificate or IP
 * address) failed".  Callers of tls_session_handshake() neither send nor
 * expect that byte themselves.
 */
#pragma once

#include <glib.h>

typedef enum { TLS_ROLE_SERVER, TLS_ROLE_CLIENT, TLS_ROLE_LAST } TlsRole;

const char *tls_role_to_string(TlsRole role);

/* The files of libvirt's layout. */
typedef enum {
    TLS_FILE_CA, /* cacert.pem */
    TLS_FILE_CERT, /* servercert.pem, clientcert.pem */
    TLS_FILE_KEY, /* serverkey.pem, clientkey.pem */
    TLS_FILE_LAST
} TlsFile;

/* Where libvirt keeps a file.  With pki_dir NULL, the system paths:
 * /etc/pki/CA/cacert.pem, /etc/pki/libvirt/{server,client}cert.pem and
 * /etc/pki/libvirt/private/{server,client}key.pem.  With a pki_dir (libvirt's
 * pkipath=DIR), all three files directly in it: DIR/cacert.pem,
 * DIR/clientcert.pem, DIR/clientkey.pem. */
char *tls_file_path(TlsRole role, TlsFile which, const char *pki_dir);

/* A client file for a user: HOME/.pki/libvirt/{cacert,clientcert,clientkey}.pem
 * when that file exists, else the system path (libvirt's lookup for a client
 * not running as root).  home NULL: the system path. */
char *tls_client_file_path(TlsFile which, const char *home);

/* TRUE when dn is allowed by patterns: patterns is NULL or empty, or one of
 * them matches the whole DN ('*' any run of characters, '?' one character;
 * no bracket expressions), as ferryd.conf's tls_allowed_dn_list says. */
gboolean tls_dn_allowed(const char *const *patterns, const char *dn);

typedef struct {
    const char *ca_file; /* required */
    const char *crl_file; /* NULL: no revocation list */
    const char *cert_file; /* required for a server; a client may go without */
    const char *key_file; /* with cert_file */
    const char *priority; /* NULL: "NORMAL" */
    /* FALSE turns the peer checks off (see above).  Only TRUE is safe. */
    gboolean verify_peer;
    /* Server: DN patterns for client certificates (tls_dn_allowed()); NULL
     * or empty allows any DN the CA signed.  Copied. */
    const char *const *allowed_dn_list;
} TlsContextConfig;

typedef struct _TlsContext TlsContext;

/* Loads and checks the files for the role (see above).  Fails with
 * FERRY_ERR_TLS and a message naming the file:
 *     cannot read CA certificate '/etc/pki/CA/cacert.pem': No such file or directory
 *     server certificate '/x/servercert.pem' is not valid for a TLS server
 *       (extended key usage lacks TLS WWW Server)
 */
TlsContext *tls_context_new(TlsRole role, const TlsContextConfig *config, GError **error);
TlsContext *tls_context_ref(TlsContext *ctx);
void tls_context_unref(TlsContext *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsContext, tls_context_unref)

TlsRole tls_context_get_role(const TlsContext *ctx);
/* Our own certificate's DN, or NULL for a client without a certificate. */
const char *tls_context_get_dn(const TlsContext *ctx);

/* What a step of the handshake or of bye returned. */
typedef enum {
    TLS_STATUS_ERROR = -1, /* *error is set; the session is finished */
    TLS_STATUS_DONE = 0,
    TLS_STATUS_NEED_READ, /* call again once the fd is readable */
    TLS_STATUS_NEED_WRITE, /* call again once the fd is writable */
} TlsStatus;

/* tls_session_read()/_write() returned: nothing could be done without
 * blocking; wait for tls_session_get_blocked_condition(), then call again. */
#define TLS_IO_AGAIN ((gssize)-2)

typedef struct _TlsSession TlsSession;

/* A session over fd, which must be a connected, non-blocking stream socket
 * (borrowed: it stays open after tls_session_free()); a blocking fd is
 * refused (FERRY_ERR_INVALID_ARG).  A client names the
 * host it connected to (a DNS name or an IP address, as in the URI): the
 * server's certificate must match it.  A server passes NULL. */
TlsSession *tls_session_new(TlsContext *ctx, int fd, const char *hostname, GError **error);
/* Frees the session without sending anything (see tls_session_bye()). */
void tls_session_free(TlsSession *sess);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsSession, tls_session_free)

/* One step of the handshake, verification and confirmation; never blocks.
 * DONE when the session is ready for data (again DONE if called after).
 * A refused peer is FERRY_ERR_AUTH_FAILED:
 *     client certificate DN 'C=GB,O=ferry,CN=eve' is not in tls_allowed_dn_list
 *     server certificate does not match host '127.0.0.1'
 * After ERROR the session is finished: free it and close the fd. */
TlsStatus tls_session_handshake(TlsSession *sess, GError **error);

/* TRUE once tls_session_handshake() returned DONE. */
gboolean tls_session_is_ready(const TlsSession *sess);

/* Reads up to len bytes of application data: > 0 bytes read, 0 at the end
 * of the stream (the peer's close_notify, or the connection closed without
 * one), TLS_IO_AGAIN, or -1 with *error set. */
gssize tls_session_read(TlsSession *sess, void *buf, gsize len, GError **error);

/* Writes up to len bytes (at most one TLS record, 16 KiB): > 0 bytes
 * written, TLS_IO_AGAIN, or -1 with *error set.  After TLS_IO_AGAIN the
 * data is already encrypted and queued: the next call must pass the same
 * bytes again (at least as many, from the same position); it reports them
 * written once they are sent. */
gssize tls_session_write(TlsSession *sess, const void *buf, gsize len, GError **error);

/* Bytes already decrypted and buffered in the session.  An event loop must
 * read these before waiting for the fd to become readable (also right after
 * the handshake is DONE): they will not make the fd readable again. */
gsize tls_session_pending(TlsSession *sess);

/* What the last NEED_*, or TLS_IO_AGAIN, waits for: G_IO_IN or G_IO_OUT.
 * A read may need to write (and a write to read) during TLS housekeeping. */
GIOCondition tls_session_get_blocked_condition(const TlsSession *sess);

/* Sends close_notify (does not wait for the peer's).  NEED_WRITE means call
 * again once writable.  The fd stays open. */
TlsStatus tls_session_bye(TlsSession *sess, GError **error);

/* The peer certificate's DN ("C=GB,O=ferry,CN=client1"), for logs, once
 * the handshake has passed it; NULL when the peer sent no certificate. */
const char *tls_session_get_peer_dn(const TlsSession *sess);
/* "TLS1.3", ...; NULL before the handshake. */
const char *tls_session_get_protocol(const TlsSession *sess);
TlsRole tls_session_get_role(const TlsSession *sess);

/* Blocking helpers for tests and tools, over the same non-blocking fd,
 * waiting with poll().  timeout_ms -1: no limit; otherwise running out
 * fails with FERRY_ERR_OPERATION_TIMEOUT. */
gboolean tls_session_handshake_sync(TlsSession *sess, int timeout_ms, GError **error);
/* Writes all of buf. */
gboolean tls_session_write_all(TlsSession *sess, const void *buf, gsize len, int timeout_ms,
                               GError **error);
/* Reads what is there, at least 1 byte: > 0 bytes, 0 at the end of the
 * stream, -1 with *error set. */
gssize tls_session_read_sync(TlsSession *sess, void *buf, gsize len, int timeout_ms,
                             GError **error);
/* bye until done. */
gboolean tls_session_bye_sync(TlsSession *sess, int timeout_ms, GError **error);
