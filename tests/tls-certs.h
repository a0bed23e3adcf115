/*
 * tls-certs.h: a throwaway PKI for TLS tests, made with certtool (gnutls-bin)
 * in a new temporary directory, removed again by tls_certs_free().
 *
 *     g_autoptr(TlsCerts) certs = tls_certs_new(&err);   // NULL: see err
 *     const char *ca = tls_certs_path(certs, "ca-cert.pem");
 *
 * Files, each *-cert.pem with its *-key.pem (RSA 2048 unless said):
 *   ca            CA "ferry test CA"
 *   ca2           another CA, "ferry other CA"
 *   server        CN=localhost, DNS localhost, IP 127.0.0.1; TLS WWW Server
 *   spice         C=GB,L=London,O=ferry,CN=localhost, DNS localhost, IP
 *                 127.0.0.1; TLS WWW Server (a SPICE server's, with a
 *                 subject of several parts)
 *   server-wrong  CN=wrong.example, DNS wrong.example; TLS WWW Server
 *   server-ca2    as server, signed by ca2
 *   server-ec     as server with an ECDSA key, so its (critical) key usage
 *                 lacks key encipherment, which libvirt refuses
 *   client1       C=GB,O=ferry,CN=client1; TLS WWW Client
 *   eve           C=GB,O=ferry,CN=eve; TLS WWW Client
 *   client1-ca2   C=GB,O=ferry,CN=client1, signed by ca2
 *   revoked       C=GB,O=ferry,CN=revoked, revoked in crl.pem
 *   expired       C=GB,O=ferry,CN=expired, valid 2001-2002 (if certtool
 *                 takes the dates: tls_certs_have_expired())
 * and crl.pem (ca's revocation list), garbage.pem (not PEM).
 */
#pragma once

#include <glib.h>

typedef struct _TlsCerts TlsCerts;

/* Fails with FERRY_ERR_NO_SUPPORT when certtool is not installed (a test
 * then skips), or with what certtool said. */
TlsCerts *tls_certs_new(GError **error);
/* Removes the directory and everything in it. */
void tls_certs_free(TlsCerts *certs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsCerts, tls_certs_free)

const char *tls_certs_dir(const TlsCerts *certs);
/* DIR/name, owned by certs. */
const char *tls_certs_path(TlsCerts *certs, const char *name);
/* A directory laid out as libvirt's ?pkipath=DIR wants it: DIR/cacert.pem
 * (a copy of CA-cert.pem) and, unless client is NULL, DIR/clientcert.pem and
 * DIR/clientkey.pem (copies of CLIENT-cert.pem and CLIENT-key.pem).  Owned
 * by certs, removed with it. */
const char *tls_certs_libvirt_pki_dir(TlsCerts *certs, const char *client, const char *ca,
                                      GError **error);
/* FALSE when certtool would not make a certificate with past dates. */
gboolean tls_certs_have_expired(const TlsCerts *certs);
