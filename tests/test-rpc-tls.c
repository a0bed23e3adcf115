/*
 * test-rpc-tls.c: TLS contexts and sessions over real loopback TCP sockets,
 * with real certificates that tls-certs.c makes with certtool.
 *
 * Handshakes run the server in a thread and the client in the test's
 * thread, both with the blocking helper; the bulk data test drives both
 * sides non-blocking from one poll() loop, as the I/O thread will.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <gnutls/gnutls.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_TLS
#define FERRY_LOG_MODULE "tests.rpc-tls"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "util/spawn.h"
#include "rpc/tls.h"
#include "tls-certs.h"

/* Hang guards, not timed assertions. */
#define SAFETY_MS 30000

static TlsCerts *certs;

static const char *P(const char *name)
{
    return tls_certs_path(certs, name);
}

/* ------------------------------------------------------------ sockets */

/* A connected loopback TCP pair, both ends non-blocking. */
static void tcp_pair_open(int *server_fd, int *client_fd)
{
    g_auto(FerryFd) lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { 0 };
    socklen_t addrlen = sizeof(addr);

    g_assert_no_errno(lfd);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_no_errno(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)));
    g_assert_no_errno(listen(lfd, 1));
    g_assert_no_errno(getsockname(lfd, (struct sockaddr *)&addr, &addrlen));

    g_auto(FerryFd) cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_no_errno(cfd);
    g_assert_no_errno(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)));
    g_auto(FerryFd) sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    g_assert_no_errno(sfd);

    g_assert_no_errno(ferry_fd_set_nonblock(sfd, TRUE));
    g_assert_no_errno(ferry_fd_set_nonblock(cfd, TRUE));
    *server_fd = ferry_fd_steal(&sfd);
    *client_fd = ferry_fd_steal(&cfd);
}

/* ------------------------------------------------------------ contexts */

static TlsContext *server_ctx_full(const char *cert, const char *key, const char *crl,
                                   const char *const *dns, gboolean verify, GError **error)
{
    TlsContextConfig cfg = {
        .ca_file = P("ca-cert.pem"),
        .crl_file = crl,
        .cert_file = cert,
        .key_file = key,
        .verify_peer = verify,
        .allowed_dn_list = dns,
    };
    return tls_context_new(TLS_ROLE_SERVER, &cfg, error);
}

static TlsContext *server_ctx(const char *name, const char *const *dns, gboolean verify)
{
    g_autofree char *cert = g_strdup_printf("%s-cert.pem", name);
    g_autofree char *key = g_strdup_printf("%s-key.pem", name);
    g_autoptr(GError) err = NULL;
    TlsContext *ctx = server_ctx_full(P(cert), P(key), NULL, dns, verify, &err);

    g_assert_no_error(err);
    g_assert_nonnull(ctx);
    return ctx;
}

/* name NULL: a client without a certificate. */
static TlsContext *client_ctx(const char *name, gboolean verify)
{
    g_autofree char *cert = name ? g_strdup_printf("%s-cert.pem", name) : NULL;
    g_autofree char *key = name ? g_strdup_printf("%s-key.pem", name) : NULL;
    TlsContextConfig cfg = {
        .ca_file = P("ca-cert.pem"),
        .cert_file = cert ? P(cert) : NULL,
        .key_file = key ? P(key) : NULL,
        .verify_peer = verify,
    };
    g_autoptr(GError) err = NULL;
    TlsContext *ctx = tls_context_new(TLS_ROLE_CLIENT, &cfg, &err);

    g_assert_no_error(err);
    g_assert_nonnull(ctx);
    return ctx;
}

/* ------------------------------------------------------------ handshakes */

typedef struct {
    int fd;
    TlsSession *sess;
    gboolean ok;
    GError *err;
} Side;

/* [0] the server, [1] the client. */
typedef struct {
    Side side[2];
} Conn;

static void conn_clear(Conn *conn)
{
    for (int i = 0; i < 2; i++) {
        g_clear_pointer(&conn->side[i].sess, tls_session_free);
        g_clear_error(&conn->side[i].err);
        ferry_fd_close(&conn->side[i].fd);
    }
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Conn, conn_clear)

static void side_handshake(Side *side)
{
    side->ok = tls_session_handshake_sync(side->sess, SAFETY_MS, &side->err);
    /* A side that gave up ends the connection, so the other one sees it. */
    if (!side->ok)
        shutdown(side->fd, SHUT_RDWR);
}

static gpointer server_thread(gpointer data)
{
    side_handshake(data);
    return NULL;
}

/* Connects a client to a server over loopback TCP and runs both handshakes
 * to their end. */
static void conn_handshake_on(Conn *conn, TlsContext *sctx, TlsContext *cctx, const char *host,
                              gboolean use_unix)
{
    g_autoptr(GError) err = NULL;

    conn->side[0].fd = conn->side[1].fd = -1;
    if (use_unix) {
        int sv[2];
        g_assert_no_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
        conn->side[0].fd = sv[0];
        conn->side[1].fd = sv[1];
    } else {
        tcp_pair_open(&conn->side[0].fd, &conn->side[1].fd);
    }
    conn->side[0].sess = tls_session_new(sctx, conn->side[0].fd, NULL, &err);
    g_assert_no_error(err);
    conn->side[1].sess = tls_session_new(cctx, conn->side[1].fd, host, &err);
    g_assert_no_error(err);

    GThread *thread = g_thread_new("tls-server", server_thread, &conn->side[0]);
    side_handshake(&conn->side[1]);
    g_thread_join(thread);

    for (int i = 0; i < 2; i++) {
        if (conn->side[i].err)
            g_test_message("%s: %s", i ? "client" : "server", conn->side[i].err->message);
    }
}

static void conn_handshake(Conn *conn, TlsContext *sctx, TlsContext *cctx, const char *host)
{
    conn_handshake_on(conn, sctx, cctx, host, FALSE);
}

static void assert_error(const GError *err, FerryErrorCode code, const char *part)
{
    g_assert_nonnull(err);
    if (ferry_error_code_of(err) != code || !strstr(err->message, part))
        g_error("expected %s containing \"%s\", got %s: \"%s\"", ferry_error_code_name(code), part,
                ferry_error_code_name(ferry_error_code_of(err)), err->message);
}

/* The client was refused: the server says why, the client sees the refusal. */
static void assert_refused(Conn *conn, const char *server_says)
{
    g_assert_false(conn->side[0].ok);
    assert_error(conn->side[0].err, FERRY_ERR_AUTH_FAILED, server_says);
    g_assert_false(conn->side[1].ok);
    g_assert_nonnull(conn->side[1].err);
}

static void assert_connected(Conn *conn)
{
    g_assert_no_error(conn->side[0].err);
    g_assert_no_error(conn->side[1].err);
    g_assert_true(conn->side[0].ok && conn->side[1].ok);
    g_assert_true(tls_session_is_ready(conn->side[0].sess));
    g_assert_true(tls_session_is_ready(conn->side[1].sess));
}

/* ------------------------------------------------------------ tests: loading */

static void test_paths(void)
{
    static const struct {
        TlsRole role;
        TlsFile which;
        const char *pki_dir;
        const char *path;
    } cases[] = {
        { TLS_ROLE_SERVER, TLS_FILE_CA, NULL, "/etc/pki/CA/cacert.pem" },
        { TLS_ROLE_SERVER, TLS_FILE_CERT, NULL, "/etc/pki/libvirt/servercert.pem" },
        { TLS_ROLE_SERVER, TLS_FILE_KEY, NULL, "/etc/pki/libvirt/private/serverkey.pem" },
        { TLS_ROLE_CLIENT, TLS_FILE_CA, NULL, "/etc/pki/CA/cacert.pem" },
        { TLS_ROLE_CLIENT, TLS_FILE_CERT, NULL, "/etc/pki/libvirt/clientcert.pem" },
        { TLS_ROLE_CLIENT, TLS_FILE_KEY, NULL, "/etc/pki/libvirt/private/clientkey.pem" },
        { TLS_ROLE_CLIENT, TLS_FILE_KEY, "/p", "/p/clientkey.pem" },
        { TLS_ROLE_SERVER, TLS_FILE_CERT, "/p", "/p/servercert.pem" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = tls_file_path(cases[i].role, cases[i].which, cases[i].pki_dir);
        g_assert_cmpstr(path, ==, cases[i].path);
    }

    /* A user's own files win when they exist. */
    g_autofree char *home = g_dir_make_tmp("ferry-tls-home-XXXXXX", NULL);
    g_autofree char *pki = g_build_filename(home, ".pki", "libvirt", NULL);
    g_autofree char *user_cert = g_build_filename(pki, "clientcert.pem", NULL);
    g_assert_no_errno(g_mkdir_with_parents(pki, 0700));
    g_assert_true(g_file_set_contents(user_cert, "x", 1, NULL));

    g_autofree char *cert = tls_client_file_path(TLS_FILE_CERT, home);
    g_autofree char *key = tls_client_file_path(TLS_FILE_KEY, home);
    g_autofree char *sys = tls_client_file_path(TLS_FILE_CA, NULL);
    g_assert_cmpstr(cert, ==, user_cert);
    g_assert_cmpstr(key, ==, "/etc/pki/libvirt/private/clientkey.pem");
    g_assert_cmpstr(sys, ==, "/etc/pki/CA/cacert.pem");

    g_assert_no_errno(unlink(user_cert));
    g_assert_no_errno(rmdir(pki));
    g_autofree char *dot_pki = g_path_get_dirname(pki);
    g_assert_no_errno(rmdir(dot_pki));
    g_assert_no_errno(rmdir(home));
}

static void test_dn_allowed(void)
{
    const char *const exact[] = { "C=GB,O=ferry,CN=client1", NULL };
    const char *const globs[] = { "C=GB,O=ferry,CN=client?", "C=FR,*", NULL };
    const char *const empty[] = { NULL };

    g_assert_true(tls_dn_allowed(NULL, "C=GB,O=ferry,CN=anyone"));
    g_assert_true(tls_dn_allowed(empty, "C=GB,O=ferry,CN=anyone"));
    g_assert_true(tls_dn_allowed(exact, "C=GB,O=ferry,CN=client1"));
    g_assert_false(tls_dn_allowed(exact, "C=GB,O=ferry,CN=client10"));
    g_assert_false(tls_dn_allowed(exact, "X,C=GB,O=ferry,CN=client1"));
    g_assert_false(tls_dn_allowed(exact, NULL));
    g_assert_true(tls_dn_allowed(globs, "C=GB,O=ferry,CN=client2"));
    g_assert_false(tls_dn_allowed(globs, "C=GB,O=ferry,CN=client22"));
    g_assert_true(tls_dn_allowed(globs, "C=FR,O=x,CN=y"));
    g_assert_false(tls_dn_allowed(globs, "C=GB,O=ferry,CN=eve"));
}

typedef struct {
    const char *name;
    TlsRole role;
    const char *ca, *crl, *cert, *key, *priority;
    FerryErrorCode code;
    const char *message; /* %s: the path of the file named first by FILE */
    const char *file;
} LoadCase;

static void test_load_errors(void)
{
    const char *missing = "/nonexistent/ferry/cacert.pem";
    const LoadCase cases[] = {
        { "missing CA", TLS_ROLE_SERVER, missing, NULL, "server-cert.pem", "server-key.pem", NULL,
          FERRY_ERR_TLS, "cannot read CA certificate '%s': No such file or directory", missing },
        { "garbage CA", TLS_ROLE_SERVER, "garbage.pem", NULL, "server-cert.pem", "server-key.pem",
          NULL, FERRY_ERR_TLS, "cannot parse CA certificate '%s': it holds no PEM certificate",
          "garbage.pem" },
        { "leaf as CA", TLS_ROLE_SERVER, "client1-cert.pem", NULL, "server-cert.pem",
          "server-key.pem", NULL, FERRY_ERR_TLS,
          "CA certificate '%s' (DN 'C=GB,O=ferry,CN=client1') "
          "is not a CA certificate",
          "client1-cert.pem" },
        { "garbage cert", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "garbage.pem", "server-key.pem",
          NULL, FERRY_ERR_TLS, "cannot parse server certificate '%s'", "garbage.pem" },
        { "missing cert", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "nope.pem", "server-key.pem", NULL,
          FERRY_ERR_TLS, "cannot read server certificate '%s': No such file", "nope.pem" },
        { "garbage key", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "server-cert.pem", "garbage.pem",
          NULL, FERRY_ERR_TLS, "cannot parse private key '%s'", "garbage.pem" },
        { "missing key", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "server-cert.pem", "nope.pem", NULL,
          FERRY_ERR_TLS, "cannot read private key '%s': No such file", "nope.pem" },
        { "key mismatch", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "server-cert.pem",
          "client1-key.pem", NULL, FERRY_ERR_TLS,
          "private key '%s' does not match server "
          "certificate",
          "client1-key.pem" },
        { "client cert as server", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "client1-cert.pem",
          "client1-key.pem", NULL, FERRY_ERR_TLS,
          "server certificate '%s' is not valid for a TLS "
          "server (extended key usage lacks TLS WWW Server)",
          "client1-cert.pem" },
        { "server cert as client", TLS_ROLE_CLIENT, "ca-cert.pem", NULL, "server-cert.pem",
          "server-key.pem", NULL, FERRY_ERR_TLS,
          "client certificate '%s' is not valid for a TLS "
          "client (extended key usage lacks TLS WWW Client)",
          "server-cert.pem" },
        { "no key encipherment", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "server-ec-cert.pem",
          "server-ec-key.pem", NULL, FERRY_ERR_TLS,
          "server certificate '%s' is not valid for a TLS server (its critical key usage lacks "
          "key encipherment, which libvirt requires)",
          "server-ec-cert.pem" },
        { "CA as server", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "ca-cert.pem", "ca-key.pem", NULL,
          FERRY_ERR_TLS, "server certificate '%s' is a CA certificate", "ca-cert.pem" },
        { "other CA", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "server-ca2-cert.pem",
          "server-ca2-key.pem", NULL, FERRY_ERR_TLS,
          "server certificate '%s' is not signed by "
          "the CA in",
          "server-ca2-cert.pem" },
        { "revoked own", TLS_ROLE_CLIENT, "ca-cert.pem", "crl.pem", "revoked-cert.pem",
          "revoked-key.pem", NULL, FERRY_ERR_TLS, "client certificate '%s' has been revoked",
          "revoked-cert.pem" },
        { "garbage CRL", TLS_ROLE_SERVER, "ca-cert.pem", "garbage.pem", "server-cert.pem",
          "server-key.pem", NULL, FERRY_ERR_TLS, "certificate revocation list '%s'",
          "garbage.pem" },
        { "bad priority", TLS_ROLE_SERVER, "ca-cert.pem", NULL, "server-cert.pem", "server-key.pem",
          "NORMAL:+NO-SUCH-THING", FERRY_ERR_TLS,
          "invalid TLS priority string 'NORMAL:+NO-SUCH-THING'", NULL },
        { "server without cert", TLS_ROLE_SERVER, "ca-cert.pem", NULL, NULL, NULL, NULL,
          FERRY_ERR_TLS, "a TLS server needs a certificate file", NULL },
        { "cert without key", TLS_ROLE_CLIENT, "ca-cert.pem", NULL, "client1-cert.pem", NULL, NULL,
          FERRY_ERR_TLS, "client certificate '%s' has no private key file", "client1-cert.pem" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const LoadCase *c = &cases[i];
#define PATH_OF(f) ((f) ? ((f)[0] == '/' ? (f) : P(f)) : NULL)
        TlsContextConfig cfg = {
            .ca_file = PATH_OF(c->ca),
            .crl_file = PATH_OF(c->crl),
            .cert_file = PATH_OF(c->cert),
            .key_file = PATH_OF(c->key),
            .priority = c->priority,
            .verify_peer = TRUE,
        };
        g_autoptr(GError) err = NULL;
        g_autoptr(TlsContext) ctx = tls_context_new(c->role, &cfg, &err);
        g_autofree char *expected = NULL;

        G_GNUC_BEGIN_IGNORE_DEPRECATIONS
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        expected = g_strdup_printf(c->message, PATH_OF(c->file));
#pragma GCC diagnostic pop
        G_GNUC_END_IGNORE_DEPRECATIONS
#undef PATH_OF
        g_test_message("case '%s': %s", c->name, err ? err->message : "(no error)");
        g_assert_null(ctx);
        assert_error(err, c->code, expected);
    }
}

static void test_load_expired(void)
{
    if (!tls_certs_have_expired(certs)) {
        g_test_skip("certtool would not make a certificate with past dates");
        return;
    }
    TlsContextConfig cfg = {
        .ca_file = P("ca-cert.pem"),
        .cert_file = P("expired-cert.pem"),
        .key_file = P("expired-key.pem"),
        .verify_peer = TRUE,
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsContext) ctx = tls_context_new(TLS_ROLE_CLIENT, &cfg, &err);
    g_autofree char *expected = g_strdup_printf(
        "client certificate '%s' has expired (on 2002-01-01 00:00:00 UTC)", P("expired-cert.pem"));

    g_assert_null(ctx);
    assert_error(err, FERRY_ERR_TLS, expected);
}

static void test_load_ok(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_autoptr(TlsContext) cctx = client_ctx("client1", TRUE);
    g_autoptr(TlsContext) anon = client_ctx(NULL, TRUE);

    g_assert_cmpint(tls_context_get_role(sctx), ==, TLS_ROLE_SERVER);
    g_assert_cmpint(tls_context_get_role(cctx), ==, TLS_ROLE_CLIENT);
    g_assert_cmpstr(tls_context_get_dn(cctx), ==, "C=GB,O=ferry,CN=client1");
    g_assert_null(tls_context_get_dn(anon));
    g_assert_true(tls_context_ref(sctx) == sctx);
    tls_context_unref(sctx);

    /* A CRL that revokes somebody else changes nothing for us. */
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsContext) with_crl =
        server_ctx_full(P("server-cert.pem"), P("server-key.pem"), P("crl.pem"), NULL, TRUE, &err);
    g_assert_no_error(err);
    g_assert_nonnull(with_crl);
}

/* ------------------------------------------------------------ tests: handshakes */

static void test_connect_ok(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_autoptr(TlsContext) cctx = client_ctx("client1", TRUE);
    const char *const hosts[] = { "localhost", "127.0.0.1" };

    for (gsize i = 0; i < G_N_ELEMENTS(hosts); i++) {
        g_auto(Conn) conn = { 0 };
        g_autoptr(GError) err = NULL;
        char buf[64];

        conn_handshake(&conn, sctx, cctx, hosts[i]);
        assert_connected(&conn);
        g_assert_cmpstr(tls_session_get_peer_dn(conn.side[0].sess), ==, "C=GB,O=ferry,CN=client1");
        g_assert_cmpstr(tls_session_get_peer_dn(conn.side[1].sess), ==, "O=ferry,CN=localhost");
        g_assert_nonnull(tls_session_get_protocol(conn.side[1].sess));
        g_test_message("protocol %s", tls_session_get_protocol(conn.side[1].sess));

        /* Both ways, then the client says goodbye. */
        g_assert_true(tls_session_write_all(conn.side[1].sess, "ping", 4, SAFETY_MS, &err));
        g_assert_no_error(err);
        g_assert_cmpint(tls_session_read_sync(conn.side[0].sess, buf, sizeof(buf), SAFETY_MS, &err),
                        ==, 4);
        g_assert_no_error(err);
        g_assert_cmpmem(buf, 4, "ping", 4);
        g_assert_true(tls_session_write_all(conn.side[0].sess, "pong!", 5, SAFETY_MS, &err));
        g_assert_cmpint(tls_session_read_sync(conn.side[1].sess, buf, sizeof(buf), SAFETY_MS, &err),
                        ==, 5);
        g_assert_no_error(err);
        g_assert_cmpmem(buf, 5, "pong!", 5);

        g_assert_true(tls_session_bye_sync(conn.side[1].sess, SAFETY_MS, &err));
        g_assert_no_error(err);
        g_assert_cmpint(tls_session_read_sync(conn.side[0].sess, buf, sizeof(buf), SAFETY_MS, &err),
                        ==, 0);
        g_assert_no_error(err);
    }
}

static void test_dn_list_allows(void)
{
    const char *const dns[] = { "C=GB,O=ferry,CN=nobody", "C=GB,O=ferry,CN=client*", NULL };
    g_autoptr(TlsContext) sctx = server_ctx("server", dns, TRUE);
    g_autoptr(TlsContext) cctx = client_ctx("client1", TRUE);
    g_auto(Conn) conn = { 0 };

    conn_handshake(&conn, sctx, cctx, "localhost");
    assert_connected(&conn);
}

static void test_refuse_dn(void)
{
    const char *const dns[] = { "C=GB,O=ferry,CN=client1", NULL };
    g_autoptr(TlsContext) sctx = server_ctx("server", dns, TRUE);
    g_autoptr(TlsContext) cctx = client_ctx("eve", TRUE);
    g_auto(Conn) conn = { 0 };

    conn_handshake(&conn, sctx, cctx, "localhost");
    assert_refused(&conn, "client certificate DN 'C=GB,O=ferry,CN=eve' is not in "
                          "tls_allowed_dn_list");
    g_assert_cmpstr(tls_session_get_peer_dn(conn.side[0].sess), ==, "C=GB,O=ferry,CN=eve");
    assert_error(conn.side[1].err, FERRY_ERR_AUTH_FAILED,
                 "closed the connection after the TLS handshake: it did not accept our "
                 "certificate (DN 'C=GB,O=ferry,CN=eve')");
}

static void test_refuse_no_cert(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_autoptr(TlsContext) cctx = client_ctx(NULL, TRUE);
    g_auto(Conn) conn = { 0 };

    conn_handshake(&conn, sctx, cctx, "localhost");
    assert_refused(&conn, "the client did not present a certificate");
    assert_error(conn.side[1].err, FERRY_ERR_AUTH_FAILED,
                 "it did not accept us without a client certificate");
}

static void test_refuse_other_ca(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_autoptr(TlsContext) cctx = NULL;
    TlsContextConfig cfg = {
        /* The client trusts the real CA, but its own certificate is from ca2. */
        .ca_file = P("ca-cert.pem"),
        .cert_file = P("client1-ca2-cert.pem"),
        .key_file = P("client1-ca2-key.pem"),
        .verify_peer = TRUE,
    };
    g_autoptr(GError) err = NULL;

    /* Loading checks our own certificate against our CA. */
    cctx = tls_context_new(TLS_ROLE_CLIENT, &cfg, &err);
    assert_error(err, FERRY_ERR_TLS, "is not signed by the CA in");
    g_clear_error(&err);

    /* A client that trusts both CAs gets as far as the server, which refuses. */
    g_autofree char *both = g_build_filename(tls_certs_dir(certs), "both-ca.pem", NULL);
    g_autofree char *ca1 = NULL, *ca2 = NULL;
    g_assert_true(g_file_get_contents(P("ca-cert.pem"), &ca1, NULL, NULL));
    g_assert_true(g_file_get_contents(P("ca2-cert.pem"), &ca2, NULL, NULL));
    g_autofree char *joined = g_strconcat(ca1, ca2, NULL);
    g_assert_true(g_file_set_contents(both, joined, -1, NULL));
    cfg.ca_file = both;
    cctx = tls_context_new(TLS_ROLE_CLIENT, &cfg, &err);
    g_assert_no_error(err);

    g_auto(Conn) conn = { 0 };
    conn_handshake(&conn, sctx, cctx, "localhost");
    g_autofree char *expected =
        g_strdup_printf("client certificate DN 'C=GB,O=ferry,CN=client1' is not signed by the "
                        "CA in '%s'",
                        P("ca-cert.pem"));
    assert_refused(&conn, expected);
}

/* A plain gnutls client, as libvirt's is (our own contexts refuse to load
 * a certificate that has expired): the handshake, then libvirt's
 * confirmation byte.  Returns the byte (1 when accepted), 0 at the end of
 * the stream, or the negative gnutls error of the failed step. */
typedef struct {
    int fd;
    const char *cert;
    const char *key;
} RawClient;

static int raw_client_run(const RawClient *rc_in)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_session_t session = NULL;
    guint8 byte = 0;
    int rc;

    g_assert_no_errno(ferry_fd_set_nonblock(rc_in->fd, FALSE));
    g_assert_cmpint(gnutls_certificate_allocate_credentials(&cred), ==, 0);
    g_assert_cmpint(
        gnutls_certificate_set_x509_trust_file(cred, P("ca-cert.pem"), GNUTLS_X509_FMT_PEM), ==, 1);
    if (rc_in->cert)
        g_assert_cmpint(gnutls_certificate_set_x509_key_file(cred, rc_in->cert, rc_in->key,
                                                             GNUTLS_X509_FMT_PEM),
                        ==, 0);
    g_assert_cmpint(gnutls_init(&session, GNUTLS_CLIENT), ==, 0);
    g_assert_cmpint(gnutls_set_default_priority(session), ==, 0);
    g_assert_cmpint(gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred), ==, 0);
    gnutls_transport_set_int(session, rc_in->fd);

    do {
        rc = gnutls_handshake(session);
    } while (rc < 0 && !gnutls_error_is_fatal(rc));
    if (rc == 0) {
        do {
            rc = (int)gnutls_record_recv(session, &byte, 1);
        } while (rc < 0 && !gnutls_error_is_fatal(rc));
        if (rc == 1)
            rc = byte;
    }
    g_test_message("plain gnutls client: %d (%s)", rc, rc < 0 ? gnutls_strerror(rc) : "");
    gnutls_deinit(session);
    gnutls_certificate_free_credentials(cred);
    return rc;
}

/* The server side in a thread, a plain gnutls client in this one. */
static int raw_client_connect(Side *server, TlsContext *sctx, const char *cert, const char *key)
{
    g_autoptr(GError) err = NULL;
    g_auto(FerryFd) cfd = -1;

    tcp_pair_open(&server->fd, &cfd);
    server->sess = tls_session_new(sctx, server->fd, NULL, &err);
    g_assert_no_error(err);

    GThread *thread = g_thread_new("tls-server", server_thread, server);
    RawClient raw = { cfd, cert, key };
    int rc = raw_client_run(&raw);
    shutdown(cfd, SHUT_RDWR);
    g_thread_join(thread);
    if (server->err)
        g_test_message("server: %s", server->err->message);
    return rc;
}

/* What libvirt's clients (virsh) see: the byte 1 after the handshake. */
static void test_plain_client_confirm(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_auto(Conn) conn = { 0 };

    conn.side[0].fd = conn.side[1].fd = -1;
    g_assert_cmpint(
        raw_client_connect(&conn.side[0], sctx, P("client1-cert.pem"), P("client1-key.pem")), ==,
        1);
    g_assert_true(conn.side[0].ok);
    g_assert_no_error(conn.side[0].err);
}

static void test_refuse_expired(void)
{
    if (!tls_certs_have_expired(certs)) {
        g_test_skip("certtool would not make a certificate with past dates");
        return;
    }
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_auto(Conn) conn = { 0 };

    conn.side[0].fd = conn.side[1].fd = -1;
    /* Refused after the handshake: the client reads the end, no byte 1. */
    g_assert_cmpint(
        raw_client_connect(&conn.side[0], sctx, P("expired-cert.pem"), P("expired-key.pem")), !=,
        1);
    g_assert_false(conn.side[0].ok);
    assert_error(conn.side[0].err, FERRY_ERR_AUTH_FAILED,
                 "client certificate DN 'C=GB,O=ferry,CN=expired' has expired (on 2002-01-01 "
                 "00:00:00 UTC)");
}

static void test_refuse_revoked(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsContext) sctx =
        server_ctx_full(P("server-cert.pem"), P("server-key.pem"), P("crl.pem"), NULL, TRUE, &err);
    g_assert_no_error(err);
    /* The client does not know about the CRL: its own load passes. */
    g_autoptr(TlsContext) cctx = client_ctx("revoked", TRUE);
    g_auto(Conn) conn = { 0 };

    conn_handshake(&conn, sctx, cctx, "localhost");
    assert_refused(&conn, "client certificate DN 'C=GB,O=ferry,CN=revoked' has been revoked");
}

static void test_refuse_wrong_host(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server-wrong", NULL, TRUE);
    g_autoptr(TlsContext) cctx = client_ctx("client1", TRUE);
    const char *const hosts[] = { "127.0.0.1", "localhost" };

    for (gsize i = 0; i < G_N_ELEMENTS(hosts); i++) {
        g_auto(Conn) conn = { 0 };
        g_autofree char *expected =
            g_strdup_printf("server certificate does not match host '%s'", hosts[i]);

        conn_handshake(&conn, sctx, cctx, hosts[i]);
        g_assert_false(conn.side[1].ok);
        assert_error(conn.side[1].err, FERRY_ERR_AUTH_FAILED, expected);
        /* The server sees the client's alert, or the connection end. */
        g_assert_false(conn.side[0].ok);
        g_assert_nonnull(conn.side[0].err);
    }
}

static void test_refuse_server_other_ca(void)
{
    g_autoptr(GError) err = NULL;
    TlsContextConfig scfg = {
        .ca_file = P("ca2-cert.pem"),
        .cert_file = P("server-ca2-cert.pem"),
        .key_file = P("server-ca2-key.pem"),
        .verify_peer = FALSE,
    };
    g_autoptr(TlsContext) sctx = tls_context_new(TLS_ROLE_SERVER, &scfg, &err);
    g_assert_no_error(err);
    g_autoptr(TlsContext) cctx = client_ctx("client1", TRUE);
    g_auto(Conn) conn = { 0 };

    conn_handshake(&conn, sctx, cctx, "localhost");
    g_assert_false(conn.side[1].ok);
    assert_error(conn.side[1].err, FERRY_ERR_AUTH_FAILED,
                 "server certificate DN 'O=ferry,CN=localhost' is not signed by the CA in");
    g_assert_false(conn.side[0].ok);
}

static void test_verify_off(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, FALSE);

    /* No certificate at all. */
    {
        g_autoptr(TlsContext) cctx = client_ctx(NULL, TRUE);
        g_auto(Conn) conn = { 0 };

        conn_handshake(&conn, sctx, cctx, "localhost");
        assert_connected(&conn);
        g_assert_null(tls_session_get_peer_dn(conn.side[0].sess));
    }
    /* A DN the list would refuse, and nobody checks the server either. */
    {
        const char *const dns[] = { "C=GB,O=ferry,CN=client1", NULL };
        g_autoptr(TlsContext) sctx2 = server_ctx("server-wrong", dns, FALSE);
        g_autoptr(TlsContext) cctx = client_ctx("eve", FALSE);
        g_auto(Conn) conn = { 0 };

        conn_handshake(&conn, sctx2, cctx, "127.0.0.1");
        assert_connected(&conn);
        g_assert_cmpstr(tls_session_get_peer_dn(conn.side[0].sess), ==, "C=GB,O=ferry,CN=eve");
    }
}

/* A client that verifies needs a host name to verify against. */
static void test_client_needs_host(void)
{
    g_autoptr(TlsContext) cctx = client_ctx("client1", TRUE);
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsSession) sess = tls_session_new(cctx, 0, NULL, &err);

    g_assert_null(sess);
    assert_error(err, FERRY_ERR_TLS, "needs the server's host name");
}

/* The event loop never blocks: a blocking fd is a caller's bug. */
static void test_session_needs_nonblocking(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_auto(FerryFd) sfd = -1;
    g_auto(FerryFd) cfd = -1;
    g_autoptr(GError) err = NULL;

    tcp_pair_open(&sfd, &cfd);
    g_assert_no_errno(ferry_fd_set_nonblock(sfd, FALSE));
    g_autoptr(TlsSession) sess = tls_session_new(sctx, sfd, NULL, &err);
    g_assert_null(sess);
    assert_error(err, FERRY_ERR_INVALID_ARG, "needs a non-blocking socket");
}

/* A server that accepts the connection and then says nothing. */
static void test_handshake_timeout(void)
{
    g_autoptr(TlsContext) cctx = client_ctx("client1", TRUE);
    g_auto(FerryFd) sfd = -1;
    g_auto(FerryFd) cfd = -1;
    g_autoptr(GError) err = NULL;

    tcp_pair_open(&sfd, &cfd);
    g_autoptr(TlsSession) sess = tls_session_new(cctx, cfd, "localhost", &err);
    g_assert_no_error(err);
    g_assert_false(tls_session_handshake_sync(sess, 100, &err));
    assert_error(err, FERRY_ERR_OPERATION_TIMEOUT,
                 "TLS handshake with the server 'localhost' "
                 "timed out");
}

/* Garbage instead of a TLS handshake: an error, not a hang. */
static void test_handshake_garbage(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_auto(FerryFd) sfd = -1;
    g_auto(FerryFd) cfd = -1;
    g_autoptr(GError) err = NULL;
    static const char junk[] = "GET / HTTP/1.0\r\n\r\n";

    tcp_pair_open(&sfd, &cfd);
    g_assert_cmpint(write(cfd, junk, sizeof(junk) - 1), ==, (gssize)sizeof(junk) - 1);
    g_autoptr(TlsSession) sess = tls_session_new(sctx, sfd, NULL, &err);
    g_assert_no_error(err);
    g_assert_false(tls_session_handshake_sync(sess, SAFETY_MS, &err));
    assert_error(err, FERRY_ERR_TLS, "TLS handshake with the client failed");
    g_test_message("%s", err->message);
    /* After a failure the session stays failed. */
    g_clear_error(&err);
    g_assert_cmpint(tls_session_handshake(sess, &err), ==, TLS_STATUS_ERROR);
    g_assert_nonnull(err);
}

/* ------------------------------------------------------------ tests: bulk data */

#define BULK_SIZE (1024 * 1024)
#define BULK_CHUNK (64 * 1024)
#define BULK_READ 1000 /* smaller than a record: leaves data pending */
#define BULK_TCP_SOCKBUF (32 * 1024)
#define BULK_UNIX_SOCKBUF (8 * 1024)

typedef struct {
    TlsSession *sess;
    int fd;
    GByteArray *out; /* to write, from the front */
    GByteArray *in;
} Pump;

static guint write_blocked;

/* Writes what it can from the front of out. */
static gboolean pump_write(Pump *p, gsize max)
{
    g_autoptr(GError) err = NULL;
    gboolean progress = FALSE;

    while (p->out->len > 0) {
        gssize n = tls_session_write(p->sess, p->out->data, MIN(p->out->len, max), &err);
        g_assert_no_error(err);
        if (n == TLS_IO_AGAIN) {
            write_blocked++;
            break;
        }
        g_assert_cmpint(n, >, 0);
        g_byte_array_remove_range(p->out, 0, (guint)n);
        progress = TRUE;
    }
    return progress;
}

/* Reads a little at a time; counts the times data was left pending. */
static gboolean pump_read(Pump *p, guint *pending_seen)
{
    g_autoptr(GError) err = NULL;
    guint8 buf[BULK_READ];
    gssize n = tls_session_read(p->sess, buf, sizeof(buf), &err);

    g_assert_no_error(err);
    if (n == TLS_IO_AGAIN)
        return FALSE;
    g_assert_cmpint(n, >, 0);
    g_byte_array_append(p->in, buf, (guint)n);
    if (tls_session_pending(p->sess) > 0)
        (*pending_seen)++;
    return TRUE;
}

static short pump_events(Pump *p)
{
    short ev = POLLIN;

    if (p->out->len > 0 || tls_session_get_blocked_condition(p->sess) == G_IO_OUT)
        ev |= POLLOUT;
    return ev;
}

static void bulk_echo(gboolean use_unix)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_autoptr(TlsContext) cctx = client_ctx("client1", TRUE);
    g_auto(Conn) conn = { 0 };

    write_blocked = 0;
    conn_handshake_on(&conn, sctx, cctx, "localhost", use_unix);
    assert_connected(&conn);
    /* Small socket buffers, so that writes block and get retried.  TCP
     * makes slow progress with windows below its loopback segment size
     * (and Nagle): it gets bigger buffers, and TCP_NODELAY. */
    for (int i = 0; i < 2; i++) {
        int size = use_unix ? BULK_UNIX_SOCKBUF : BULK_TCP_SOCKBUF;
        int one = 1;
        g_assert_no_errno(setsockopt(conn.side[i].fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)));
        g_assert_no_errno(setsockopt(conn.side[i].fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)));
        if (!use_unix)
            g_assert_no_errno(
                setsockopt(conn.side[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
    }

    g_autoptr(GByteArray) src = g_byte_array_sized_new(BULK_SIZE);
    for (guint i = 0; i < BULK_SIZE; i++) {
        guint8 b = (guint8)((i * 7u) ^ (i >> 9));
        g_byte_array_append(src, &b, 1);
    }

    /* The client sends 1 MiB; the server echoes everything back. */
    Pump server = { conn.side[0].sess, conn.side[0].fd, g_byte_array_new(), g_byte_array_new() };
    Pump client = { conn.side[1].sess, conn.side[1].fd, g_byte_array_new(), g_byte_array_new() };
    g_byte_array_append(client.out, src->data, src->len);
    guint pending_seen = 0;
    guint polls = 0;

    while (client.in->len < BULK_SIZE) {
        gboolean progress = FALSE;

        progress |= pump_write(&client, BULK_CHUNK);
        while (pump_read(&server, &pending_seen))
            progress = TRUE;
        /* The echo: what the server read goes back out. */
        g_byte_array_append(server.out, server.in->data, server.in->len);
        g_byte_array_set_size(server.in, 0);
        progress |= pump_write(&server, BULK_CHUNK);
        while (pump_read(&client, &pending_seen))
            progress = TRUE;

        if (progress)
            continue;
        /* Nothing moved.  Buffered plaintext does not make the fd readable:
         * the reads above drained it, so waiting is safe now. */
        g_assert_cmpuint(tls_session_pending(server.sess), ==, 0);
        g_assert_cmpuint(tls_session_pending(client.sess), ==, 0);
        struct pollfd pfd[2] = {
            { .fd = server.fd, .events = pump_events(&server) },
            { .fd = client.fd, .events = pump_events(&client) },
        };
        int rc = poll(pfd, 2, SAFETY_MS);
        g_assert_cmpint(rc, >, 0); /* 0: stalled */
        polls++;
    }

    g_test_message("1 MiB echoed, %u polls, writes blocked %u times, data left pending %u times",
                   polls, write_blocked, pending_seen);
    g_assert_cmpuint(pending_seen, >, 0);
    g_assert_cmpmem(client.in->data, client.in->len, src->data, src->len);
    g_assert_cmpuint(server.out->len, ==, 0);

    g_byte_array_unref(server.out);
    g_byte_array_unref(server.in);
    g_byte_array_unref(client.out);
    g_byte_array_unref(client.in);
}

static void test_bulk_tcp(void)
{
    bulk_echo(FALSE);
}

static void test_bulk_unix(void)
{
    bulk_echo(TRUE);
}

/* A peer that vanishes mid-stream: reads end, writes fail, nothing hangs. */
static void test_peer_vanishes(void)
{
    g_autoptr(TlsContext) sctx = server_ctx("server", NULL, TRUE);
    g_autoptr(TlsContext) cctx = client_ctx("client1", TRUE);
    g_auto(Conn) conn = { 0 };
    g_autoptr(GError) err = NULL;
    char buf[16];

    conn_handshake(&conn, sctx, cctx, "localhost");
    assert_connected(&conn);
    g_clear_pointer(&conn.side[1].sess, tls_session_free);
    ferry_fd_close(&conn.side[1].fd);

    g_assert_cmpint(tls_session_read_sync(conn.side[0].sess, buf, sizeof(buf), SAFETY_MS, &err), ==,
                    0);
    g_assert_no_error(err);

    /* Writing into a closed connection: an error (EPIPE/ECONNRESET), no SIGPIPE. */
    g_autofree char *big = g_malloc0(BULK_CHUNK);
    gboolean ok = TRUE;
    for (int i = 0; i < 64 && ok; i++)
        ok = tls_session_write_all(conn.side[0].sess, big, BULK_CHUNK, SAFETY_MS, &err);
    g_assert_false(ok);
    assert_error(err, FERRY_ERR_TLS, "TLS write with the client failed");
}

/* ------------------------------------------------------------ tests: Debian's virsh */

/* A TLS server for one virsh connection: the handshake, then the start of
 * virsh's first RPC call. */
typedef struct {
    int lfd;
    TlsContext *ctx;
    Side side;
    guint8 first[28]; /* length word + header of the first call */
    gsize first_len;
} VirshServer;

static gpointer virsh_server_thread(gpointer data)
{
    VirshServer *vs = data;
    struct pollfd pfd = { .fd = vs->lfd, .events = POLLIN };

    if (poll(&pfd, 1, SAFETY_MS) != 1) {
        ferry_fail(&vs->side.err, FERRY_ERR_OPERATION_TIMEOUT, "virsh did not connect");
        return NULL;
    }
    vs->side.fd = accept4(vs->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    g_assert_no_errno(vs->side.fd);
    vs->side.sess = tls_session_new(vs->ctx, vs->side.fd, NULL, &vs->side.err);
    g_assert_no_error(vs->side.err);
    side_handshake(&vs->side);
    while (vs->side.ok && vs->first_len < sizeof(vs->first)) {
        gssize n =
            tls_session_read_sync(vs->side.sess, vs->first + vs->first_len,
                                  sizeof(vs->first) - vs->first_len, SAFETY_MS, &vs->side.err);
        if (n <= 0)
            break;
        vs->first_len += (gsize)n;
    }
    if (vs->side.ok)
        (void)tls_session_bye_sync(vs->side.sess, SAFETY_MS, NULL);
    shutdown(vs->side.fd, SHUT_RDWR);
    return NULL;
}

/* Runs "virsh -c qemu+tls://HOST:PORT/system?pkipath=DIR list" against a
 * server with the given certificate; client NULL: virsh has no certificate.
 * Returns virsh's stderr. */
static char *virsh_connect(VirshServer *vs, const char *server_cert, const char *const *dns,
                           const char *client, const char *host)
{
    g_autoptr(GError) err = NULL;
    struct sockaddr_in addr = { 0 };
    socklen_t addrlen = sizeof(addr);

    memset(vs, 0, sizeof(*vs));
    vs->side.fd = -1;
    vs->ctx = server_ctx(server_cert, dns, TRUE);
    vs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_no_errno(vs->lfd);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_no_errno(bind(vs->lfd, (struct sockaddr *)&addr, sizeof(addr)));
    g_assert_no_errno(listen(vs->lfd, 1));
    g_assert_no_errno(getsockname(vs->lfd, (struct sockaddr *)&addr, &addrlen));

    const char *pki = tls_certs_libvirt_pki_dir(certs, client, "ca", &err);
    g_assert_no_error(err);
    const char *home = P("virsh-home");
    g_assert_no_errno(g_mkdir_with_parents(home, 0700));
    g_autofree char *uri = g_strdup_printf("qemu+tls://%s:%u/system?pkipath=%s", host,
                                           (unsigned)ntohs(addr.sin_port), pki);
    const char *const argv[] = { "virsh", "-c", uri, "list", NULL };
    g_autoptr(Spawn) virsh = spawn_new(argv);
    spawn_set_env(virsh, "HOME", home);
    spawn_set_env(virsh, "XDG_CONFIG_HOME", NULL);
    spawn_set_env(virsh, "XDG_CACHE_HOME", NULL);
    spawn_set_env(virsh, "XDG_RUNTIME_DIR", NULL);
    spawn_set_env(virsh, "LIBVIRT_DEFAULT_URI", NULL);

    GThread *thread = g_thread_new("tls-virsh-server", virsh_server_thread, vs);
    g_autofree char *out = NULL;
    char *errout = NULL;
    SpawnStatus status;
    gboolean ran = spawn_run_capture(virsh, SAFETY_MS, 1024 * 1024, &out, &errout, &status, &err);
    g_thread_join(thread);
    g_assert_no_error(err);
    g_assert_true(ran);
    g_test_message("virsh %s: %s", uri, g_strstrip(errout));
    if (vs->side.err)
        g_test_message("server: %s", vs->side.err->message);
    return errout;
}

static void virsh_server_clear(VirshServer *vs)
{
    g_clear_pointer(&vs->side.sess, tls_session_free);
    g_clear_error(&vs->side.err);
    ferry_fd_close(&vs->side.fd);
    ferry_fd_close(&vs->lfd);
    g_clear_pointer(&vs->ctx, tls_context_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(VirshServer, virsh_server_clear)

static gboolean have_virsh(void)
{
    g_autofree char *virsh = g_find_program_in_path("virsh");

    if (!virsh)
        g_test_skip("virsh is not installed (Debian: apt-get install libvirt-clients)");
    return virsh != NULL;
}

#define VIRSH_REFUSED "server verification (of our certificate or IP address) failed"

/* virsh passes the handshake and the confirmation, and sends its first
 * call: AUTH_LIST (66) of the remote program (0x20008086). */
static void test_virsh_accepted(void)
{
    static const guint8 remote_prog[4] = { 0x20, 0x00, 0x80, 0x86 };
    static const guint8 auth_list[4] = { 0, 0, 0, 66 };
    const char *const dns[] = { "C=GB,O=ferry,CN=client*", NULL };
    g_auto(VirshServer) vs = { .lfd = -1 };

    if (!have_virsh())
        return;
    g_autofree char *errout = virsh_connect(&vs, "server", dns, "client1", "localhost");
    g_assert_no_error(vs.side.err);
    g_assert_true(vs.side.ok);
    g_assert_cmpstr(tls_session_get_peer_dn(vs.side.sess), ==, "C=GB,O=ferry,CN=client1");
    g_assert_cmpuint(vs.first_len, ==, sizeof(vs.first));
    g_assert_cmpmem(vs.first + 4, 4, remote_prog, 4);
    g_assert_cmpmem(vs.first + 12, 4, auth_list, 4);
}

static void test_virsh_refused_dn(void)
{
    const char *const dns[] = { "C=GB,O=ferry,CN=client1", NULL };
    g_auto(VirshServer) vs = { .lfd = -1 };

    if (!have_virsh())
        return;
    g_autofree char *errout = virsh_connect(&vs, "server", dns, "eve", "localhost");
    g_assert_false(vs.side.ok);
    assert_error(vs.side.err, FERRY_ERR_AUTH_FAILED,
                 "client certificate DN 'C=GB,O=ferry,CN=eve' is not in tls_allowed_dn_list");
    g_assert_nonnull(strstr(errout, VIRSH_REFUSED));
}

static void test_virsh_refused_no_cert(void)
{
    g_auto(VirshServer) vs = { .lfd = -1 };

    if (!have_virsh())
        return;
    g_autofree char *errout = virsh_connect(&vs, "server", NULL, NULL, "127.0.0.1");
    g_assert_false(vs.side.ok);
    assert_error(vs.side.err, FERRY_ERR_AUTH_FAILED, "the client did not present a certificate");
    g_assert_nonnull(strstr(errout, VIRSH_REFUSED));
}

/* virsh checks our certificate against the host name in the URI.  It does
 * so after the handshake, and then hangs up without a call. */
static void test_virsh_wrong_host(void)
{
    g_auto(VirshServer) vs = { .lfd = -1 };

    if (!have_virsh())
        return;
    g_autofree char *errout = virsh_connect(&vs, "server-wrong", NULL, "client1", "localhost");
    g_assert_cmpuint(vs.first_len, ==, 0);
    g_assert_nonnull(strstr(errout, "Failed to verify peer's certificate"));
}

static const char *skip_reason;

static void test_skipped(void)
{
    g_test_skip(skip_reason);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);

    certs = tls_certs_new(&err);
    if (!certs) {
        if (!ferry_error_is(err, FERRY_ERR_NO_SUPPORT)) {
            g_printerr("cannot make the test certificates: %s\n", err->message);
            return 1;
        }
        skip_reason = err->message;
        g_test_add_func("/rpc/tls/skipped", test_skipped);
        return g_test_run();
    }

    g_test_add_func("/rpc/tls/paths", test_paths);
    g_test_add_func("/rpc/tls/dn-allowed", test_dn_allowed);
    g_test_add_func("/rpc/tls/load/ok", test_load_ok);
    g_test_add_func("/rpc/tls/load/errors", test_load_errors);
    g_test_add_func("/rpc/tls/load/expired", test_load_expired);
    g_test_add_func("/rpc/tls/connect/ok", test_connect_ok);
    g_test_add_func("/rpc/tls/connect/dn-list-allows", test_dn_list_allows);
    g_test_add_func("/rpc/tls/refuse/dn", test_refuse_dn);
    g_test_add_func("/rpc/tls/refuse/no-cert", test_refuse_no_cert);
    g_test_add_func("/rpc/tls/refuse/other-ca", test_refuse_other_ca);
    g_test_add_func("/rpc/tls/connect/plain-gnutls-client", test_plain_client_confirm);
    g_test_add_func("/rpc/tls/refuse/expired", test_refuse_expired);
    g_test_add_func("/rpc/tls/refuse/revoked", test_refuse_revoked);
    g_test_add_func("/rpc/tls/refuse/wrong-host", test_refuse_wrong_host);
    g_test_add_func("/rpc/tls/refuse/server-other-ca", test_refuse_server_other_ca);
    g_test_add_func("/rpc/tls/verify-off", test_verify_off);
    g_test_add_func("/rpc/tls/client-needs-host", test_client_needs_host);
    g_test_add_func("/rpc/tls/session-needs-nonblocking", test_session_needs_nonblocking);
    g_test_add_func("/rpc/tls/handshake/timeout", test_handshake_timeout);
    g_test_add_func("/rpc/tls/handshake/garbage", test_handshake_garbage);
    g_test_add_func("/rpc/tls/data/bulk-tcp", test_bulk_tcp);
    g_test_add_func("/rpc/tls/data/bulk-unix", test_bulk_unix);
    g_test_add_func("/rpc/tls/data/peer-vanishes", test_peer_vanishes);
    g_test_add_func("/rpc/tls/virsh/accepted", test_virsh_accepted);
    g_test_add_func("/rpc/tls/virsh/refused-dn", test_virsh_refused_dn);
    g_test_add_func("/rpc/tls/virsh/refused-no-cert", test_virsh_refused_no_cert);
    g_test_add_func("/rpc/tls/virsh/wrong-host", test_virsh_wrong_host);

    ret = g_test_run();
    tls_certs_free(certs);
    return ret;
}
