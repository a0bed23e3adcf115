/*
 * tls-certs.c: a throwaway PKI for TLS tests, made with certtool.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_TLS
#define FERRY_LOG_MODULE "tests.tls-certs"

#include "util/error.h"
#include "util/log.h"
#include "util/spawn.h"
#include "tls-certs.h"

#define CERTTOOL "certtool"
#define CERTTOOL_TIMEOUT_MS 60000
#define CERTTOOL_MAX_OUTPUT (1024 * 1024)

struct _TlsCerts {
    char *dir;
    GHashTable *paths; /* name -> DIR/name */
    gboolean have_expired;
};

/* One identity: a key and a certificate signed by issuer (NULL: self-signed). */
typedef struct {
    const char *name;
    const char *issuer;
    const char *template_text;
    gboolean optional; /* may fail (dates certtool might refuse) */
    gboolean ecdsa; /* an ECDSA key: its key usage lacks key encipherment */
} CertSpec;

static const CertSpec cert_specs[] = {
    { "ca", NULL,
      "cn = \"ferry test CA\"\n"
      "ca\n"
      "cert_signing_key\n"
      "crl_signing_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "ca2", NULL,
      "cn = \"ferry other CA\"\n"
      "ca\n"
      "cert_signing_key\n"
      "crl_signing_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "server", "ca",
      "organization = \"ferry\"\n"
      "cn = \"localhost\"\n"
      "dns_name = \"localhost\"\n"
      "ip_address = \"127.0.0.1\"\n"
      "tls_www_server\n"
      "signing_key\n"
      "encryption_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "spice", "ca",
      "country = GB\n"
      "locality = \"London\"\n"
      "organization = \"ferry\"\n"
      "cn = \"localhost\"\n"
      "dns_name = \"localhost\"\n"
      "ip_address = \"127.0.0.1\"\n"
      "tls_www_server\n"
      "signing_key\n"
      "encryption_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "server-wrong", "ca",
      "organization = \"ferry\"\n"
      "cn = \"wrong.example\"\n"
      "dns_name = \"wrong.example\"\n"
      "tls_www_server\n"
      "signing_key\n"
      "encryption_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "server-ca2", "ca2",
      "organization = \"ferry\"\n"
      "cn = \"localhost\"\n"
      "dns_name = \"localhost\"\n"
      "ip_address = \"127.0.0.1\"\n"
      "tls_www_server\n"
      "signing_key\n"
      "encryption_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "server-ec", "ca",
      "organization = \"ferry\"\n"
      "cn = \"localhost\"\n"
      "dns_name = \"localhost\"\n"
      "tls_www_server\n"
      "signing_key\n"
      "encryption_key\n"
      "expiration_days = 30\n",
      FALSE, TRUE },
    { "client1", "ca",
      "country = GB\n"
      "organization = \"ferry\"\n"
      "cn = \"client1\"\n"
      "tls_www_client\n"
      "signing_key\n"
      "encryption_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "eve", "ca",
      "country = GB\n"
      "organization = \"ferry\"\n"
      "cn = \"eve\"\n"
      "tls_www_client\n"
      "signing_key\n"
      "encryption_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "client1-ca2", "ca2",
      "country = GB\n"
      "organization = \"ferry\"\n"
      "cn = \"client1\"\n"
      "tls_www_client\n"
      "signing_key\n"
      "encryption_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "revoked", "ca",
      "country = GB\n"
      "organization = \"ferry\"\n"
      "cn = \"revoked\"\n"
      "tls_www_client\n"
      "signing_key\n"
      "encryption_key\n"
      "expiration_days = 30\n",
      FALSE },
    { "expired", "ca",
      "country = GB\n"
      "organization = \"ferry\"\n"
      "cn = \"expired\"\n"
      "tls_www_client\n"
      "signing_key\n"
      "encryption_key\n"
      "activation_date = \"2001-01-01 00:00:00\"\n"
      "expiration_date = \"2002-01-01 00:00:00\"\n",
      TRUE },
};

static const char crl_template[] = "crl_next_update = 30\n"
                                   "crl_number = 1\n";

const char *tls_certs_dir(const TlsCerts *certs)
{
    return certs->dir;
}

const char *tls_certs_path(TlsCerts *certs, const char *name)
{
    const char *path = g_hash_table_lookup(certs->paths, name);

    if (!path) {
        char *built = g_build_filename(certs->dir, name, NULL);
        g_hash_table_insert(certs->paths, g_strdup(name), built);
        path = built;
    }
    return path;
}

gboolean tls_certs_have_expired(const TlsCerts *certs)
{
    return certs->have_expired;
}

/* Removes path and, for a directory, everything below it (no symlinks
 * are followed: lstat). */
static void certs_remove_tree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *entry;

        while (dir && (entry = g_dir_read_name(dir))) {
            g_autofree char *child = g_build_filename(path, entry, NULL);
            certs_remove_tree(child);
        }
        if (g_rmdir(path) < 0)
            FLOG_WARN("cannot remove '%s': %s", path, g_strerror(errno));
        return;
    }
    if (g_unlink(path) < 0)
        FLOG_WARN("cannot remove '%s': %s", path, g_strerror(errno));
}

void tls_certs_free(TlsCerts *certs)
{
    if (!certs)
        return;
    if (certs->dir)
        certs_remove_tree(certs->dir);
    g_clear_pointer(&certs->paths, g_hash_table_unref);
    g_free(certs->dir);
    g_free(certs);
}

static gboolean certs_copy(const char *from, const char *to, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(from, &data, &len, error))
        return FALSE;
    return g_file_set_contents(to, data, (gssize)len, error);
}

const char *tls_certs_libvirt_pki_dir(TlsCerts *certs, const char *client, const char *ca,
                                      GError **error)
{
    g_autofree char *name = g_strdup_printf("pki-%s-%s", client ? client : "nocert", ca);
    const char *dir = tls_certs_path(certs, name);
    g_autofree char *ca_src = g_strdup_printf("%s-cert.pem", ca);
    g_autofree char *ca_dst = g_build_filename(dir, "cacert.pem", NULL);

    if (g_mkdir_with_parents(dir, 0700) < 0) {
        ferry_fail_errno(error, errno, "cannot create '%s'", dir);
        return NULL;
    }
    if (!certs_copy(tls_certs_path(certs, ca_src), ca_dst, error))
        return NULL;
    if (client) {
        g_autofree char *cert_src = g_strdup_printf("%s-cert.pem", client);
        g_autofree char *key_src = g_strdup_printf("%s-key.pem", client);
        g_autofree char *cert_dst = g_build_filename(dir, "clientcert.pem", NULL);
        g_autofree char *key_dst = g_build_filename(dir, "clientkey.pem", NULL);

        if (!certs_copy(tls_certs_path(certs, cert_src), cert_dst, error) ||
            !certs_copy(tls_certs_path(certs, key_src), key_dst, error))
            return NULL;
    }
    return dir;
}

static gboolean certtool_run(const char *const *argv, GError **error)
{
    return spawn_run(argv, CERTTOOL_TIMEOUT_MS, CERTTOOL_MAX_OUTPUT, NULL, NULL, NULL, error);
}

static gboolean certs_write(TlsCerts *certs, const char *name, const char *text, GError **error)
{
    return g_file_set_contents(tls_certs_path(certs, name), text, -1, error);
}

/* RSA keys by default: for those certtool's "encryption_key" sets key
 * encipherment in the key usage, which libvirt (virsh) insists on. */
static gboolean certs_make_key(TlsCerts *certs, const char *name, gboolean ecdsa, GError **error)
{
    g_autofree char *key = g_strdup_printf("%s-key.pem", name);
    const char *const argv[] = {
        CERTTOOL,
        "--generate-privkey",
        ecdsa ? "--key-type=ecdsa" : "--key-type=rsa",
        ecdsa ? "--curve=secp256r1" : "--bits=2048",
        "--no-text",
        "--outfile",
        tls_certs_path(certs, key),
        NULL,
    };

    return certtool_run(argv, error);
}

static gboolean certs_make_cert(TlsCerts *certs, const CertSpec *spec, GError **error)
{
    g_autofree char *key = g_strdup_printf("%s-key.pem", spec->name);
    g_autofree char *cert = g_strdup_printf("%s-cert.pem", spec->name);
    g_autofree char *tmpl = g_strdup_printf("%s.tmpl", spec->name);

    if (!certs_make_key(certs, spec->name, spec->ecdsa, error))
        return FALSE;
    if (!certs_write(certs, tmpl, spec->template_text, error))
        return FALSE;

    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)CERTTOOL);
    if (spec->issuer) {
        g_autofree char *ca_key = g_strdup_printf("%s-key.pem", spec->issuer);
        g_autofree char *ca_cert = g_strdup_printf("%s-cert.pem", spec->issuer);
        g_ptr_array_add(argv, (gpointer) "--generate-certificate");
        g_ptr_array_add(argv, (gpointer) "--load-ca-privkey");
        g_ptr_array_add(argv, (gpointer)tls_certs_path(certs, ca_key));
        g_ptr_array_add(argv, (gpointer) "--load-ca-certificate");
        g_ptr_array_add(argv, (gpointer)tls_certs_path(certs, ca_cert));
    } else {
        g_ptr_array_add(argv, (gpointer) "--generate-self-signed");
    }
    g_ptr_array_add(argv, (gpointer) "--load-privkey");
    g_ptr_array_add(argv, (gpointer)tls_certs_path(certs, key));
    g_ptr_array_add(argv, (gpointer) "--template");
    g_ptr_array_add(argv, (gpointer)tls_certs_path(certs, tmpl));
    g_ptr_array_add(argv, (gpointer) "--no-text");
    g_ptr_array_add(argv, (gpointer) "--outfile");
    g_ptr_array_add(argv, (gpointer)tls_certs_path(certs, cert));
    g_ptr_array_add(argv, NULL);

    return certtool_run((const char *const *)argv->pdata, error);
}

static gboolean certs_make_crl(TlsCerts *certs, GError **error)
{
    if (!certs_write(certs, "crl.tmpl", crl_template, error))
        return FALSE;

    const char *const argv[] = { CERTTOOL,
                                 "--generate-crl",
                                 "--load-ca-privkey",
                                 tls_certs_path(certs, "ca-key.pem"),
                                 "--load-ca-certificate",
                                 tls_certs_path(certs, "ca-cert.pem"),
                                 "--load-certificate",
                                 tls_certs_path(certs, "revoked-cert.pem"),
                                 "--template",
                                 tls_certs_path(certs, "crl.tmpl"),
                                 "--no-text",
                                 "--outfile",
                                 tls_certs_path(certs, "crl.pem"),
                                 NULL };

    return certtool_run(argv, error);
}

TlsCerts *tls_certs_new(GError **error)
{
    g_autofree char *certtool = g_find_program_in_path(CERTTOOL);
    if (!certtool) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "'" CERTTOOL "' is not installed (Debian: apt-get install gnutls-bin)");
        return NULL;
    }

    g_autoptr(TlsCerts) certs = g_new0(TlsCerts, 1);
    certs->paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    certs->dir = g_dir_make_tmp("ferry-tls-XXXXXX", error);
    if (!certs->dir)
        return NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(cert_specs); i++) {
        const CertSpec *spec = &cert_specs[i];
        g_autoptr(GError) err = NULL;

        if (certs_make_cert(certs, spec, &err)) {
            if (g_str_equal(spec->name, "expired"))
                certs->have_expired = TRUE;
            continue;
        }
        if (!spec->optional) {
            g_propagate_error(error, g_steal_pointer(&err));
            return NULL;
        }
        FLOG_INFO("certtool did not make '%s': %s", spec->name, err->message);
    }

    if (!certs_make_crl(certs, error))
        return NULL;
    if (!certs_write(certs, "garbage.pem", "this is not a PEM file\n", error))
        return NULL;
    return g_steal_pointer(&certs);
}
