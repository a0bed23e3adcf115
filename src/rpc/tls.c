/*
 * tls.c: TLS for the RPC transports (gnutls, x509 certificates).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_TLS
#define FERRY_LOG_MODULE "rpc.tls"

#include "util/error.h"
#include "util/log.h"
#include "util/fd.h"
#include "rpc/tls.h"

#define TLS_DEFAULT_PRIORITY "NORMAL"
/* Certificates, keys and CRLs are small; a bigger file is a mistake. */
#define TLS_MAX_FILE (1024 * 1024)

#define TLS_SYSTEM_CA_DIR "/etc/pki/CA"
#define TLS_SYSTEM_PKI_DIR "/etc/pki/libvirt"
#define TLS_USER_PKI_DIR ".pki/libvirt"

/* The confirmation byte a libvirt server sends once it accepts a client. */
#define TLS_CONFIRM_BYTE 1

static const char *const tls_role_names[] = {
    [TLS_ROLE_SERVER] = "server",
    [TLS_ROLE_CLIENT] = "client",
};
G_STATIC_ASSERT(G_N_ELEMENTS(tls_role_names) == TLS_ROLE_LAST);

const char *tls_role_to_string(TlsRole role)
{
    if ((guint)role >= TLS_ROLE_LAST)
        return "unknown";
    return tls_role_names[role];
}

/* ------------------------------------------------------------ gnutls owners */

typedef struct gnutls_x509_crt_int TlsX509Crt;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsX509Crt, gnutls_x509_crt_deinit)
typedef struct gnutls_x509_privkey_int TlsX509Privkey;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsX509Privkey, gnutls_x509_privkey_deinit)

static void tls_datum_clear(gnutls_datum_t *d)
{
    if (d->data)
        gnutls_free(d->data);
    d->size = 0;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(gnutls_datum_t, tls_datum_clear)

/* The certificates of one PEM file, as gnutls allocated them. */
typedef struct {
    gnutls_x509_crt_t *crts;
    unsigned int n;
} TlsCrtList;

static void tls_crt_list_free(TlsCrtList *list)
{
    if (!list)
        return;
    for (unsigned int i = 0; i < list->n; i++)
        gnutls_x509_crt_deinit(list->crts[i]);
    if (list->crts)
        gnutls_free(list->crts);
    g_free(list);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsCrtList, tls_crt_list_free)

typedef struct {
    gnutls_x509_crl_t *crls;
    unsigned int n;
} TlsCrlList;

static void tls_crl_list_free(TlsCrlList *list)
{
    if (!list)
        return;
    for (unsigned int i = 0; i < list->n; i++)
        gnutls_x509_crl_deinit(list->crls[i]);
    if (list->crls)
        gnutls_free(list->crls);
    g_free(list);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsCrlList, tls_crl_list_free)

/* ------------------------------------------------------------ file paths */

static const char *const tls_file_names[TLS_ROLE_LAST][TLS_FILE_LAST] = {
    [TLS_ROLE_SERVER] = { "cacert.pem", "servercert.pem", "serverkey.pem" },
    [TLS_ROLE_CLIENT] = { "cacert.pem", "clientcert.pem", "clientkey.pem" },
};

char *tls_file_path(TlsRole role, TlsFile which, const char *pki_dir)
{
    g_return_val_if_fail((guint)role < TLS_ROLE_LAST, NULL);
    g_return_val_if_fail((guint)which < TLS_FILE_LAST, NULL);

    const char *name = tls_file_names[role][which];

    if (pki_dir && *pki_dir)
        return g_build_filename(pki_dir, name, NULL);
    switch (which) {
    case TLS_FILE_CA:
        return g_build_filename(TLS_SYSTEM_CA_DIR, name, NULL);
    case TLS_FILE_CERT:
        return g_build_filename(TLS_SYSTEM_PKI_DIR, name, NULL);
    case TLS_FILE_KEY:
    case TLS_FILE_LAST:
        break;
    }
    return g_build_filename(TLS_SYSTEM_PKI_DIR, "private", name, NULL);
}

char *tls_client_file_path(TlsFile which, const char *home)
{
    g_return_val_if_fail((guint)which < TLS_FILE_LAST, NULL);

    if (home && *home) {
        g_autofree char *user_path =
            g_build_filename(home, TLS_USER_PKI_DIR, tls_file_names[TLS_ROLE_CLIENT][which], NULL);
        if (access(user_path, F_OK) == 0)
            return g_steal_pointer(&user_path);
    }
    return tls_file_path(TLS_ROLE_CLIENT, which, NULL);
}

gboolean tls_dn_allowed(const char *const *patterns, const char *dn)
{
    if (!patterns || !patterns[0])
        return TRUE;
    if (!dn)
        return FALSE;
    for (const char *const *p = patterns; *p; p++) {
        if (g_pattern_match_simple(*p, dn))
            return TRUE;
    }
    return FALSE;
}

/* ------------------------------------------------------------ loading */

/* The whole file, NUL-terminated; what says what it is ("CA certificate"). */
static char *tls_read_file(const char *path, const char *what, gsize *len_out, GError **error)
{
    g_auto(FerryFd) fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot read %s '%s': %s", what, path, g_strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot read %s '%s': not a regular file", what, path);
        return NULL;
    }
    if (st.st_size > TLS_MAX_FILE) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot read %s '%s': larger than %d bytes", what, path,
                   TLS_MAX_FILE);
        return NULL;
    }

    g_autofree char *buf = g_malloc(TLS_MAX_FILE + 1);
    gsize len = 0;

    for (;;) {
        ssize_t n = read(fd, buf + len, TLS_MAX_FILE + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ferry_fail(error, FERRY_ERR_TLS, "cannot read %s '%s': %s", what, path,
                       g_strerror(errno));
            return NULL;
        }
        if (n == 0)
            break;
        len += (gsize)n;
        if (len > TLS_MAX_FILE) {
            ferry_fail(error, FERRY_ERR_TLS, "cannot read %s '%s': larger than %d bytes", what,
                       path, TLS_MAX_FILE);
            return NULL;
        }
    }
    if (len == 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot read %s '%s': the file is empty", what, path);
        return NULL;
    }
    buf[len] = '\0';
    *len_out = len;
    return g_realloc(g_steal_pointer(&buf), len + 1);
}

static TlsCrtList *tls_crt_list_load(const char *path, const char *what, GError **error)
{
    gsize len = 0;
    g_autofree char *data = tls_read_file(path, what, &len, error);
    if (!data)
        return NULL;

    g_autoptr(TlsCrtList) list = g_new0(TlsCrtList, 1);
    gnutls_datum_t datum = { (unsigned char *)data, (unsigned int)len };
    int rc = gnutls_x509_crt_list_import2(&list->crts, &list->n, &datum, GNUTLS_X509_FMT_PEM, 0);

    if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND || (rc >= 0 && list->n == 0)) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot parse %s '%s': it holds no PEM certificate", what,
                   path);
        return NULL;
    }
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot parse %s '%s': %s", what, path,
                   gnutls_strerror(rc));
        return NULL;
    }
    return g_steal_pointer(&list);
}

static TlsCrlList *tls_crl_list_load(const char *path, GError **error)
{
    const char *what = "certificate revocation list";
    gsize len = 0;
    g_autofree char *data = tls_read_file(path, what, &len, error);
    if (!data)
        return NULL;

    g_autoptr(TlsCrlList) list = g_new0(TlsCrlList, 1);
    gnutls_datum_t datum = { (unsigned char *)data, (unsigned int)len };
    int rc = gnutls_x509_crl_list_import2(&list->crls, &list->n, &datum, GNUTLS_X509_FMT_PEM, 0);

    if (rc >= 0 && list->n == 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot parse %s '%s': it holds no PEM CRL", what, path);
        return NULL;
    }
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot parse %s '%s': %s", what, path,
                   gnutls_strerror(rc));
        return NULL;
    }
    return g_steal_pointer(&list);
}

static TlsX509Privkey *tls_key_load(const char *path, GError **error)
{
    const char *what = "private key";
    gsize len = 0;
    g_autofree char *data = tls_read_file(path, what, &len, error);
    if (!data)
        return NULL;

    g_autoptr(TlsX509Privkey) key = NULL;
    int rc = gnutls_x509_privkey_init(&key);
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot load %s '%s': %s", what, path,
                   gnutls_strerror(rc));
        return NULL;
    }

    gnutls_datum_t datum = { (unsigned char *)data, (unsigned int)len };
    rc = gnutls_x509_privkey_import2(key, &datum, GNUTLS_X509_FMT_PEM, NULL, 0);
    /* The PEM data is a secret: do not leave it in freed memory. */
    memset(data, 0, len);
    if (rc == GNUTLS_E_DECRYPTION_FAILED) {
        ferry_fail(error, FERRY_ERR_TLS,
                   "cannot load %s '%s': it is encrypted (a key without a passphrase is needed)",
                   what, path);
        return NULL;
    }
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot parse %s '%s': %s", what, path,
                   gnutls_strerror(rc));
        return NULL;
    }
    return g_steal_pointer(&key);
}

/* "2026-11-22 00:25:13 UTC" */
static char *tls_format_time(time_t t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc((gint64)t);

    if (!dt)
        return g_strdup_printf("%lld", (long long)t);
    return g_date_time_format(dt, "%Y-%m-%d %H:%M:%S UTC");
}

/* The certificate's subject, as libvirt matches it: "C=GB,O=ferry,CN=x". */
static char *tls_crt_get_dn(gnutls_x509_crt_t crt)
{
    g_auto(gnutls_datum_t) dn = { NULL, 0 };

    if (gnutls_x509_crt_get_dn2(crt, &dn) < 0 || !dn.data)
        return g_strdup("");
    return g_strndup((const char *)dn.data, dn.size);
}

static gboolean tls_check_times(gnutls_x509_crt_t crt, const char *what, FerryErrorCode code,
                                GError **error)
{
    time_t now = time(NULL);
    time_t activation = gnutls_x509_crt_get_activation_time(crt);
    time_t expiration = gnutls_x509_crt_get_expiration_time(crt);

    if (activation == (time_t)-1 || expiration == (time_t)-1) {
        ferry_fail(error, code, "%s has no valid activation or expiration time", what);
        return FALSE;
    }
    if (expiration < now) {
        g_autofree char *when = tls_format_time(expiration);
        ferry_fail(error, code, "%s has expired (on %s)", what, when);
        return FALSE;
    }
    if (activation > now) {
        g_autofree char *when = tls_format_time(activation);
        ferry_fail(error, code, "%s is not active yet (from %s)", what, when);
        return FALSE;
    }
    return TRUE;
}

/* Key usage, extended key usage and basic constraints allow crt to act as
 * a TLS role (when those extensions are there: no extension, no limit). */
static gboolean tls_check_purpose(gnutls_x509_crt_t crt, TlsRole role, const char *what,
                                  FerryErrorCode code, GError **error)
{
    const char *role_name = tls_role_to_string(role);
    const char *wanted_oid =
        role == TLS_ROLE_SERVER ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT;
    const char *wanted_name = role == TLS_ROLE_SERVER ? "TLS WWW Server" : "TLS WWW Client";
    unsigned int critical = 0;
    unsigned int usage = 0;
    int rc;

    if (gnutls_x509_crt_get_ca_status(crt, &critical) > 0) {
        ferry_fail(error, code, "%s is a CA certificate, not one for a TLS %s", what, role_name);
        return FALSE;
    }

    rc = gnutls_x509_crt_get_key_usage(crt, &usage, &critical);
    if (rc < 0 && rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        ferry_fail(error, code, "%s: cannot read its key usage: %s", what, gnutls_strerror(rc));
        return FALSE;
    }
    if (rc >= 0 && !(usage & GNUTLS_KEY_DIGITAL_SIGNATURE)) {
        ferry_fail(error, code, "%s is not valid for a TLS %s (key usage lacks digital signature)",
                   what, role_name);
        return FALSE;
    }
    /* libvirt (virsh, libvirtd) refuses a certificate whose critical key
     * usage lacks key encipherment, whatever its key type, and warns when
     * the extension is not critical: say so here rather than at connect. */
    if (rc >= 0 && !(usage & GNUTLS_KEY_KEY_ENCIPHERMENT)) {
        if (critical) {
            ferry_fail(error, code,
                       "%s is not valid for a TLS %s (its critical key usage lacks key "
                       "encipherment, which libvirt requires)",
                       what, role_name);
            return FALSE;
        }
        FLOG_WARN("%s: key usage lacks key encipherment (libvirt warns about it too)", what);
    }

    gboolean have_eku = FALSE;
    for (unsigned int i = 0;; i++) {
        char oid[256];
        size_t size = sizeof(oid);

        rc = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &size, &critical);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (rc < 0) {
            ferry_fail(error, code, "%s: cannot read its extended key usage: %s", what,
                       gnutls_strerror(rc));
            return FALSE;
        }
        have_eku = TRUE;
        if (g_str_equal(oid, wanted_oid) || g_str_equal(oid, GNUTLS_KP_ANY))
            return TRUE;
    }
    if (have_eku) {
        ferry_fail(error, code, "%s is not valid for a TLS %s (extended key usage lacks %s)", what,
                   role_name, wanted_name);
        return FALSE;
    }
    return TRUE;
}

/* Why a chain verification failed, from gnutls's status bits. */
static char *tls_verify_status_reason(unsigned int status, const char *ca_file,
                                      const char *crl_file)
{
    if (status & GNUTLS_CERT_REVOKED)
        return g_strdup_printf("has been revoked (certificate revocation list '%s')",
                               crl_file ? crl_file : "?");
    if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
        return g_strdup_printf("is not signed by the CA in '%s'", ca_file);
    if (status & GNUTLS_CERT_EXPIRED)
        return g_strdup("has expired (or a certificate in its chain has)");
    if (status & GNUTLS_CERT_NOT_ACTIVATED)
        return g_strdup("is not active yet (or a certificate in its chain is not)");
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
        return g_strdup("is signed with an insecure algorithm");
    if (status & GNUTLS_CERT_SIGNATURE_FAILURE)
        return g_strdup("has an invalid signature");

    g_auto(gnutls_datum_t) out = { NULL, 0 };
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) < 0 ||
        !out.data)
        return g_strdup_printf("failed verification (status 0x%x)", status);
    return g_strdup_printf("failed verification: %.*s", (int)out.size, (const char *)out.data);
}

struct _TlsContext {
    gatomicrefcount ref;
    TlsRole role;
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    char *priority;
    char *ca_file;
    char *crl_file;
    char *cert_file;
    char *dn; /* ours */
    gboolean verify_peer;
    char **allowed_dn_list;
};

static void tls_context_free(TlsContext *ctx)
{
    if (ctx->prio)
        gnutls_priority_deinit(ctx->prio);
    if (ctx->cred)
        gnutls_certificate_free_credentials(ctx->cred);
    g_free(ctx->priority);
    g_free(ctx->ca_file);
    g_free(ctx->crl_file);
    g_free(ctx->cert_file);
    g_free(ctx->dn);
    g_strfreev(ctx->allowed_dn_list);
    g_free(ctx);
}

/* The CA file: parsed, CA certificates only, in their validity period. */
static TlsCrtList *tls_context_load_ca(TlsContext *ctx, GError **error)
{
    g_autoptr(TlsCrtList) ca = tls_crt_list_load(ctx->ca_file, "CA certificate", error);
    if (!ca)
        return NULL;

    for (unsigned int i = 0; i < ca->n; i++) {
        unsigned int critical = 0;
        g_autofree char *dn = tls_crt_get_dn(ca->crts[i]);
        g_autofree char *what = g_strdup_printf("CA certificate '%s' (DN '%s')", ctx->ca_file, dn);

        if (gnutls_x509_crt_get_ca_status(ca->crts[i], &critical) <= 0) {
            ferry_fail(error, FERRY_ERR_TLS,
                       "%s is not a CA certificate (its basic constraints lack CA:TRUE)", what);
            return NULL;
        }
        unsigned int usage = 0;
        if (gnutls_x509_crt_get_key_usage(ca->crts[i], &usage, &critical) >= 0 &&
            !(usage & GNUTLS_KEY_KEY_CERT_SIGN)) {
            ferry_fail(error, FERRY_ERR_TLS,
                       "%s is not valid for a CA (key usage lacks certificate signing)", what);
            return NULL;
        }
        if (!tls_check_times(ca->crts[i], what, FERRY_ERR_TLS, error))
            return NULL;
    }

    int rc = gnutls_certificate_set_x509_trust(ctx->cred, ca->crts, (int)ca->n);
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot use CA certificate '%s': %s", ctx->ca_file,
                   gnutls_strerror(rc));
        return NULL;
    }
    return g_steal_pointer(&ca);
}

/* Our certificate chain and key: valid for the role, signed by the CA. */
static gboolean tls_context_load_identity(TlsContext *ctx, const char *key_file,
                                          const TlsCrtList *ca, const TlsCrlList *crl,
                                          GError **error)
{
    const char *role_name = tls_role_to_string(ctx->role);
    g_autofree char *cert_what = g_strdup_printf("%s certificate", role_name);
    g_autoptr(TlsCrtList) chain = tls_crt_list_load(ctx->cert_file, cert_what, error);
    if (!chain)
        return FALSE;

    g_autofree char *what = g_strdup_printf("%s certificate '%s'", role_name, ctx->cert_file);
    gnutls_x509_crt_t leaf = chain->crts[0];

    if (!tls_check_times(leaf, what, FERRY_ERR_TLS, error))
        return FALSE;
    if (!tls_check_purpose(leaf, ctx->role, what, FERRY_ERR_TLS, error))
        return FALSE;

    unsigned int status = 0;
    int rc = gnutls_x509_crt_list_verify(chain->crts, chain->n, ca->crts, ca->n,
                                         crl ? crl->crls : NULL, crl ? crl->n : 0, 0, &status);
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot verify %s: %s", what, gnutls_strerror(rc));
        return FALSE;
    }
    if (status) {
        g_autofree char *reason = tls_verify_status_reason(status, ctx->ca_file, ctx->crl_file);
        ferry_fail(error, FERRY_ERR_TLS, "%s %s", what, reason);
        return FALSE;
    }

    g_autoptr(TlsX509Privkey) key = tls_key_load(key_file, error);
    if (!key)
        return FALSE;
    rc = gnutls_certificate_set_x509_key(ctx->cred, chain->crts, chain->n, key);
    if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
        ferry_fail(error, FERRY_ERR_TLS, "private key '%s' does not match %s", key_file, what);
        return FALSE;
    }
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot use %s with private key '%s': %s", what, key_file,
                   gnutls_strerror(rc));
        return FALSE;
    }

    ctx->dn = tls_crt_get_dn(leaf);
    return TRUE;
}

TlsContext *tls_context_new(TlsRole role, const TlsContextConfig *config, GError **error)
{
    g_return_val_if_fail((guint)role < TLS_ROLE_LAST, NULL);
    g_return_val_if_fail(config != NULL, NULL);

    const char *role_name = tls_role_to_string(role);

    if (!config->ca_file || !*config->ca_file) {
        ferry_fail(error, FERRY_ERR_TLS, "a TLS %s needs a CA certificate file", role_name);
        return NULL;
    }
    if (role == TLS_ROLE_SERVER && (!config->cert_file || !*config->cert_file)) {
        ferry_fail(error, FERRY_ERR_TLS, "a TLS server needs a certificate file");
        return NULL;
    }
    if (config->cert_file && *config->cert_file && (!config->key_file || !*config->key_file)) {
        ferry_fail(error, FERRY_ERR_TLS, "%s certificate '%s' has no private key file", role_name,
                   config->cert_file);
        return NULL;
    }

    g_autoptr(TlsContext) ctx = g_new0(TlsContext, 1);
    g_atomic_ref_count_init(&ctx->ref);
    ctx->role = role;
    ctx->ca_file = g_strdup(config->ca_file);
    ctx->crl_file = config->crl_file && *config->crl_file ? g_strdup(config->crl_file) : NULL;
    ctx->cert_file = config->cert_file && *config->cert_file ? g_strdup(config->cert_file) : NULL;
    ctx->verify_peer = config->verify_peer;
    ctx->priority =
        g_strdup(config->priority && *config->priority ? config->priority : TLS_DEFAULT_PRIORITY);
    if (config->allowed_dn_list && config->allowed_dn_list[0])
        ctx->allowed_dn_list = g_strdupv((char **)config->allowed_dn_list);

    int rc = gnutls_certificate_allocate_credentials(&ctx->cred);
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot allocate TLS credentials: %s",
                   gnutls_strerror(rc));
        return NULL;
    }

    g_autoptr(TlsCrtList) ca = tls_context_load_ca(ctx, error);
    if (!ca)
        return NULL;

    g_autoptr(TlsCrlList) crl = NULL;
    if (ctx->crl_file) {
        crl = tls_crl_list_load(ctx->crl_file, error);
        if (!crl)
            return NULL;
        rc = gnutls_certificate_set_x509_crl(ctx->cred, crl->crls, (int)crl->n);
        if (rc < 0) {
            ferry_fail(error, FERRY_ERR_TLS, "cannot use certificate revocation list '%s': %s",
                       ctx->crl_file, gnutls_strerror(rc));
            return NULL;
        }
    }

    if (ctx->cert_file && !tls_context_load_identity(ctx, config->key_file, ca, crl, error))
        return NULL;

    const char *err_pos = NULL;
    rc = gnutls_priority_init(&ctx->prio, ctx->priority, &err_pos);
    if (rc < 0) {
        ctx->prio = NULL;
        if (rc == GNUTLS_E_INVALID_REQUEST && err_pos)
            ferry_fail(error, FERRY_ERR_TLS, "invalid TLS priority string '%s' (error at '%s')",
                       ctx->priority, err_pos);
        else
            ferry_fail(error, FERRY_ERR_TLS, "invalid TLS priority string '%s': %s", ctx->priority,
                       gnutls_strerror(rc));
        return NULL;
    }

    if (!ctx->verify_peer)
        FLOG_WARN("TLS %s: peer certificates are not verified (verification is off)", role_name);
    FLOG_DEBUG("TLS %s context: CA '%s', certificate '%s' (DN '%s'), priority '%s'", role_name,
               ctx->ca_file, ctx->cert_file ? ctx->cert_file : "none", ctx->dn ? ctx->dn : "",
               ctx->priority);
    return g_steal_pointer(&ctx);
}

TlsContext *tls_context_ref(TlsContext *ctx)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    g_atomic_ref_count_inc(&ctx->ref);
    return ctx;
}

void tls_context_unref(TlsContext *ctx)
{
    if (ctx && g_atomic_ref_count_dec(&ctx->ref))
        tls_context_free(ctx);
}

TlsRole tls_context_get_role(const TlsContext *ctx)
{
    return ctx->role;
}

const char *tls_context_get_dn(const TlsContext *ctx)
{
    return ctx->dn;
}

/* ------------------------------------------------------------ sessions */

typedef enum {
    TLS_SESSION_HANDSHAKE, /* gnutls_handshake() */
    TLS_SESSION_CONFIRM, /* server: send the confirmation byte; client: read it */
    TLS_SESSION_READY,
    TLS_SESSION_FAILED,
} TlsSessionState;

struct _TlsSession {
    TlsContext *ctx;
    gnutls_session_t session;
    int fd;
    char *hostname; /* client: the host the certificate must match */
    char *peer_name; /* "client", "server 'hostb'": for messages */
    TlsSessionState state;
    GIOCondition blocked;
    int io_errno; /* errno of the last failed send or recv */
    gsize write_queued; /* bytes of a send that returned EAGAIN, or 0 */
    gboolean peer_checked; /* client: the verify callback ran */
    GError *verify_error; /* client: what the verify callback refused */
    char *peer_dn;
};

void tls_session_free(TlsSession *sess)
{
    if (!sess)
        return;
    if (sess->session)
        gnutls_deinit(sess->session);
    g_clear_error(&sess->verify_error);
    g_free(sess->hostname);
    g_free(sess->peer_name);
    g_free(sess->peer_dn);
    tls_context_unref(sess->ctx);
    g_free(sess);
}

static ssize_t tls_transport_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
    TlsSession *sess = ptr;
    ssize_t n;

    do {
        n = recv(sess->fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        sess->io_errno = errno;
        gnutls_transport_set_errno(sess->session, errno);
    }
    return n;
}

static ssize_t tls_transport_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
    TlsSession *sess = ptr;
    struct msghdr msg = { 0 };
    ssize_t n;

    /* giovec_t has struct iovec's layout (gnutls documents it). */
    msg.msg_iov = (struct iovec *)(uintptr_t)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    do {
        n = sendmsg(sess->fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        sess->io_errno = errno;
        gnutls_transport_set_errno(sess->session, errno);
    }
    return n;
}

static int tls_transport_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    TlsSession *sess = ptr;
    struct pollfd pfd = { .fd = sess->fd, .events = POLLIN };
    int rc;

    do {
        rc = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
    } while (rc < 0 && errno == EINTR);
    return rc;
}

static gboolean tls_session_verify_peer(TlsSession *sess, GError **error);

/* Client: checks the server's certificate while the handshake runs, so that
 * a refused server gets an alert and no further data. */
static int tls_client_verify_cb(gnutls_session_t session)
{
    TlsSession *sess = gnutls_session_get_ptr(session);
    g_autoptr(GError) err = NULL;

    sess->peer_checked = TRUE;
    if (tls_session_verify_peer(sess, &err))
        return 0;
    if (!sess->ctx->verify_peer) {
        FLOG_WARN("accepting the %s although verification is off: %s", sess->peer_name,
                  err->message);
        return 0;
    }
    g_clear_error(&sess->verify_error);
    sess->verify_error = g_steal_pointer(&err);
    return GNUTLS_E_CERTIFICATE_ERROR;
}

TlsSession *tls_session_new(TlsContext *ctx, int fd, const char *hostname, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    g_return_val_if_fail(fd >= 0, NULL);

    gboolean server = ctx->role == TLS_ROLE_SERVER;

    if (!server && ctx->verify_peer && (!hostname || !*hostname)) {
        ferry_fail(error, FERRY_ERR_TLS,
                   "a TLS client needs the server's host name to check its certificate");
        return NULL;
    }

    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || !(fl & O_NONBLOCK)) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "a TLS session needs a non-blocking socket (fd %d)", fd);
        return NULL;
    }

    g_autoptr(TlsSession) sess = g_new0(TlsSession, 1);
    sess->ctx = tls_context_ref(ctx);
    sess->fd = fd;
    sess->state = TLS_SESSION_HANDSHAKE;
    sess->blocked = G_IO_IN;
    if (server) {
        sess->peer_name = g_strdup("client");
    } else {
        sess->hostname = g_strdup(hostname && *hostname ? hostname : NULL);
        sess->peer_name =
            sess->hostname ? g_strdup_printf("server '%s'", sess->hostname) : g_strdup("server");
    }

    unsigned int flags =
        (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL;
    int rc = gnutls_init(&sess->session, flags);
    if (rc < 0) {
        sess->session = NULL;
        ferry_fail(error, FERRY_ERR_TLS, "cannot start a TLS session: %s", gnutls_strerror(rc));
        return NULL;
    }
    rc = gnutls_priority_set(sess->session, ctx->prio);
    if (rc >= 0)
        rc = gnutls_credentials_set(sess->session, GNUTLS_CRD_CERTIFICATE, ctx->cred);
    if (rc >= 0 && !server && sess->hostname && !g_hostname_is_ip_address(sess->hostname))
        rc = gnutls_server_name_set(sess->session, GNUTLS_NAME_DNS, sess->hostname,
                                    strlen(sess->hostname));
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_TLS, "cannot set up a TLS session: %s", gnutls_strerror(rc));
        return NULL;
    }

    if (server) {
        gnutls_certificate_server_set_request(sess->session, GNUTLS_CERT_REQUEST);
        /* Do not name our CAs in the request: a client then sends its
         * certificate even when another CA signed it, and the refusal says
         * so, instead of "no certificate". */
        gnutls_certificate_send_x509_rdn_sequence(sess->session, 1);
    } else {
        gnutls_session_set_verify_function(sess->session, tls_client_verify_cb);
    }
    gnutls_session_set_ptr(sess->session, sess);
    gnutls_transport_set_ptr(sess->session, sess);
    gnutls_transport_set_pull_function(sess->session, tls_transport_pull);
    gnutls_transport_set_vec_push_function(sess->session, tls_transport_push);
    gnutls_transport_set_pull_timeout_function(sess->session, tls_transport_pull_timeout);
    gnutls_handshake_set_timeout(sess->session, 0);
    return g_steal_pointer(&sess);
}

/* Checks the peer's certificate (see tls.h) and remembers its DN. */
static gboolean tls_session_verify_peer(TlsSession *sess, GError **error)
{
    TlsContext *ctx = sess->ctx;
    TlsRole peer_role = ctx->role == TLS_ROLE_SERVER ? TLS_ROLE_CLIENT : TLS_ROLE_SERVER;
    const char *peer_role_name = tls_role_to_string(peer_role);
    unsigned int n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(sess->session, &n);

    if (gnutls_certificate_type_get(sess->session) != GNUTLS_CRT_X509 || !certs || n == 0) {
        ferry_fail(error, FERRY_ERR_AUTH_FAILED,
                   "the %s did not present a certificate (an x509 %s certificate is required)",
                   peer_role_name, peer_role_name);
        return FALSE;
    }

    g_autoptr(TlsX509Crt) crt = NULL;
    int rc = gnutls_x509_crt_init(&crt);
    if (rc >= 0)
        rc = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_AUTH_FAILED, "cannot parse the %s certificate: %s",
                   peer_role_name, gnutls_strerror(rc));
        return FALSE;
    }

    g_free(sess->peer_dn);
    sess->peer_dn = tls_crt_get_dn(crt);
    g_autofree char *what =
        g_strdup_printf("%s certificate DN '%s'", peer_role_name, sess->peer_dn);

    unsigned int status = 0;
    rc = gnutls_certificate_verify_peers2(sess->session, &status);
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_AUTH_FAILED, "cannot verify %s: %s", what, gnutls_strerror(rc));
        return FALSE;
    }
    /* The dates first: the leaf's own say exactly what is wrong. */
    if (!tls_check_times(crt, what, FERRY_ERR_AUTH_FAILED, error))
        return FALSE;
    if (status) {
        g_autofree char *reason = tls_verify_status_reason(status, ctx->ca_file, ctx->crl_file);
        ferry_fail(error, FERRY_ERR_AUTH_FAILED, "%s %s", what, reason);
        return FALSE;
    }
    if (!tls_check_purpose(crt, peer_role, what, FERRY_ERR_AUTH_FAILED, error))
        return FALSE;

    if (ctx->role == TLS_ROLE_SERVER) {
        if (!tls_dn_allowed((const char *const *)ctx->allowed_dn_list, sess->peer_dn)) {
            ferry_fail(error, FERRY_ERR_AUTH_FAILED,
                       "client certificate DN '%s' is not in tls_allowed_dn_list", sess->peer_dn);
            return FALSE;
        }
    } else if (sess->hostname && !gnutls_x509_crt_check_hostname2(crt, sess->hostname, 0)) {
        ferry_fail(error, FERRY_ERR_AUTH_FAILED,
                   "server certificate does not match host '%s' (its DN is '%s')", sess->hostname,
                   sess->peer_dn);
        return FALSE;
    }
    return TRUE;
}

static void tls_session_set_blocked(TlsSession *sess)
{
    sess->blocked = gnutls_record_get_direction(sess->session) ? G_IO_OUT : G_IO_IN;
}

static TlsStatus tls_session_status_blocked(TlsSession *sess)
{
    tls_session_set_blocked(sess);
    return sess->blocked == G_IO_OUT ? TLS_STATUS_NEED_WRITE : TLS_STATUS_NEED_READ;
}

/* Reports a failed gnutls call: rc, with the alert or errno behind it. */
static void tls_session_report(TlsSession *sess, int rc, const char *doing, GError **error)
{
    if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        const char *alert = gnutls_alert_get_name(gnutls_alert_get(sess->session));
        ferry_fail(error, FERRY_ERR_TLS, "%s with the %s failed: it sent the alert '%s'", doing,
                   sess->peer_name, alert ? alert : "unknown");
    } else if ((rc == GNUTLS_E_PUSH_ERROR || rc == GNUTLS_E_PULL_ERROR) && sess->io_errno) {
        ferry_fail(error, FERRY_ERR_TLS, "%s with the %s failed: %s", doing, sess->peer_name,
                   g_strerror(sess->io_errno));
    } else if (rc == GNUTLS_E_PREMATURE_TERMINATION || rc == GNUTLS_E_UNEXPECTED_PACKET_LENGTH) {
        ferry_fail(error, FERRY_ERR_TLS, "%s with the %s failed: it closed the connection", doing,
                   sess->peer_name);
    } else {
        ferry_fail(error, FERRY_ERR_TLS, "%s with the %s failed: %s", doing, sess->peer_name,
                   gnutls_strerror(rc));
    }
}

/* Server side: the client was refused.  close_notify, best effort. */
static void tls_session_refuse(TlsSession *sess)
{
    int rc = gnutls_bye(sess->session, GNUTLS_SHUT_WR);

    if (rc < 0)
        FLOG_DEBUG("close_notify to the refused %s not sent: %s", sess->peer_name,
                   gnutls_strerror(rc));
}

static TlsStatus tls_session_fail(TlsSession *sess)
{
    sess->state = TLS_SESSION_FAILED;
    return TLS_STATUS_ERROR;
}

/* gnutls_handshake() finished: check the peer, move on to the confirmation. */
static TlsStatus tls_session_handshake_done(TlsSession *sess, GError **error)
{
    TlsContext *ctx = sess->ctx;
    g_autoptr(GError) err = NULL;

    if (ctx->role == TLS_ROLE_CLIENT && sess->peer_checked) {
        /* the callback checked it */
    } else if (!tls_session_verify_peer(sess, &err)) {
        if (ctx->verify_peer) {
            if (ctx->role == TLS_ROLE_SERVER)
                tls_session_refuse(sess);
            g_propagate_error(error, g_steal_pointer(&err));
            return tls_session_fail(sess);
        }
        FLOG_WARN("accepting the %s although verification is off: %s", sess->peer_name,
                  err->message);
    }

    char *desc = gnutls_session_get_desc(sess->session);
    FLOG_DEBUG("TLS handshake with the %s done (%s), peer DN '%s'", sess->peer_name,
               desc ? desc : "?", sess->peer_dn ? sess->peer_dn : "none");
    if (desc)
        gnutls_free(desc);
    sess->state = TLS_SESSION_CONFIRM;
    return TLS_STATUS_DONE;
}

/* The server sends the confirmation byte, the client reads it. */
static TlsStatus tls_session_confirm(TlsSession *sess, GError **error)
{
    if (sess->ctx->role == TLS_ROLE_SERVER) {
        static const guint8 confirm = TLS_CONFIRM_BYTE;
        ssize_t rc = sess->write_queued ? gnutls_record_send(sess->session, NULL, 0)
                                        : gnutls_record_send(sess->session, &confirm, 1);

        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            sess->write_queued = 1;
            return tls_session_status_blocked(sess);
        }
        sess->write_queued = 0;
        if (rc < 0) {
            tls_session_report(sess, (int)rc, "sending the TLS confirmation", error);
            return tls_session_fail(sess);
        }
        sess->state = TLS_SESSION_READY;
        return TLS_STATUS_DONE;
    }

    for (int tries = 0; tries < 64; tries++) {
        guint8 byte = 0;
        ssize_t rc = gnutls_record_recv(sess->session, &byte, 1);

        if (rc == 1 && byte == TLS_CONFIRM_BYTE) {
            sess->state = TLS_SESSION_READY;
            return TLS_STATUS_DONE;
        }
        if (rc == 1) {
            ferry_fail(error, FERRY_ERR_AUTH_FAILED,
                       "the %s refused us after the TLS handshake (confirmation byte %u)",
                       sess->peer_name, byte);
            return tls_session_fail(sess);
        }
        if (rc == 0 || rc == GNUTLS_E_PREMATURE_TERMINATION ||
            (rc == GNUTLS_E_PULL_ERROR && sess->io_errno == ECONNRESET)) {
            if (sess->ctx->dn)
                ferry_fail(error, FERRY_ERR_AUTH_FAILED,
                           "the %s closed the connection after the TLS handshake: it did not "
                           "accept our certificate (DN '%s') or address",
                           sess->peer_name, sess->ctx->dn);
            else
                ferry_fail(error, FERRY_ERR_AUTH_FAILED,
                           "the %s closed the connection after the TLS handshake: it did not "
                           "accept us without a client certificate",
                           sess->peer_name);
            return tls_session_fail(sess);
        }
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
            return tls_session_status_blocked(sess);
        if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
            const char *alert = gnutls_alert_get_name(gnutls_alert_get(sess->session));
            ferry_fail(error, FERRY_ERR_AUTH_FAILED,
                       "the %s refused us after the TLS handshake with the alert '%s'",
                       sess->peer_name, alert ? alert : "unknown");
            return tls_session_fail(sess);
        }
        if (gnutls_error_is_fatal((int)rc)) {
            tls_session_report(sess, (int)rc, "reading the TLS confirmation", error);
            return tls_session_fail(sess);
        }
        FLOG_DEBUG("TLS confirmation from the %s: %s, reading on", sess->peer_name,
                   gnutls_strerror((int)rc));
    }
    ferry_fail(error, FERRY_ERR_TLS, "the %s sent no TLS confirmation", sess->peer_name);
    return tls_session_fail(sess);
}

TlsStatus tls_session_handshake(TlsSession *sess, GError **error)
{
    g_return_val_if_fail(sess != NULL, TLS_STATUS_ERROR);

    if (sess->state == TLS_SESSION_READY)
        return TLS_STATUS_DONE;
    if (sess->state == TLS_SESSION_FAILED) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "the TLS session with the %s has failed already",
                   sess->peer_name);
        return TLS_STATUS_ERROR;
    }

    while (sess->state == TLS_SESSION_HANDSHAKE) {
        int rc = gnutls_handshake(sess->session);

        if (rc == GNUTLS_E_SUCCESS) {
            if (tls_session_handshake_done(sess, error) == TLS_STATUS_ERROR)
                return TLS_STATUS_ERROR;
            break;
        }
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
            return tls_session_status_blocked(sess);
        if (!gnutls_error_is_fatal(rc)) {
            FLOG_DEBUG("TLS handshake with the %s: %s, going on", sess->peer_name,
                       gnutls_strerror(rc));
            continue;
        }

        if (sess->verify_error) {
            g_propagate_error(error, g_steal_pointer(&sess->verify_error));
        } else {
            tls_session_report(sess, rc, "TLS handshake", error);
        }
        if (rc != GNUTLS_E_FATAL_ALERT_RECEIVED && rc != GNUTLS_E_PUSH_ERROR &&
            rc != GNUTLS_E_PULL_ERROR && rc != GNUTLS_E_PREMATURE_TERMINATION)
            (void)gnutls_alert_send_appropriate(sess->session, rc);
        return tls_session_fail(sess);
    }
    return tls_session_confirm(sess, error);
}

gboolean tls_session_is_ready(const TlsSession *sess)
{
    return sess->state == TLS_SESSION_READY;
}

static gboolean tls_session_check_ready(TlsSession *sess, GError **error)
{
    if (sess->state == TLS_SESSION_READY)
        return TRUE;
    ferry_fail(error, FERRY_ERR_INTERNAL, "TLS session with the %s: %s", sess->peer_name,
               sess->state == TLS_SESSION_FAILED ? "it has failed"
                                                 : "the handshake is not done yet");
    return FALSE;
}

gssize tls_session_read(TlsSession *sess, void *buf, gsize len, GError **error)
{
    g_return_val_if_fail(sess != NULL, -1);

    if (!tls_session_check_ready(sess, error))
        return -1;
    if (len == 0)
        return 0;

    for (int tries = 0; tries < 64; tries++) {
        ssize_t rc = gnutls_record_recv(sess->session, buf, len);

        if (rc >= 0)
            return rc;
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            tls_session_set_blocked(sess);
            return TLS_IO_AGAIN;
        }
        if (rc == GNUTLS_E_PREMATURE_TERMINATION) {
            FLOG_DEBUG("the %s closed the connection without a TLS close_notify", sess->peer_name);
            return 0;
        }
        if (rc == GNUTLS_E_REHANDSHAKE) {
            /* Renegotiation is not something the RPC protocol needs. */
            FLOG_DEBUG("refusing a TLS renegotiation asked by the %s", sess->peer_name);
            (void)gnutls_alert_send(sess->session, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
            continue;
        }
        if (gnutls_error_is_fatal((int)rc)) {
            tls_session_report(sess, (int)rc, "TLS read", error);
            sess->state = TLS_SESSION_FAILED;
            return -1;
        }
        FLOG_DEBUG("TLS read from the %s: %s, reading on", sess->peer_name,
                   gnutls_strerror((int)rc));
    }
    tls_session_set_blocked(sess);
    return TLS_IO_AGAIN;
}

gssize tls_session_write(TlsSession *sess, const void *buf, gsize len, GError **error)
{
    g_return_val_if_fail(sess != NULL, -1);

    if (!tls_session_check_ready(sess, error))
        return -1;
    if (sess->write_queued && len < sess->write_queued) {
        ferry_fail(error, FERRY_ERR_INTERNAL,
                   "TLS write to the %s: %" G_GSIZE_FORMAT " bytes retried, %" G_GSIZE_FORMAT
                   " were queued",
                   sess->peer_name, len, sess->write_queued);
        return -1;
    }
    if (len == 0)
        return 0;

    ssize_t rc = sess->write_queued ? gnutls_record_send(sess->session, NULL, 0)
                                    : gnutls_record_send(sess->session, buf, len);
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
        if (!sess->write_queued)
            sess->write_queued = MIN(len, gnutls_record_get_max_size(sess->session));
        tls_session_set_blocked(sess);
        return TLS_IO_AGAIN;
    }
    sess->write_queued = 0;
    if (rc < 0) {
        tls_session_report(sess, (int)rc, "TLS write", error);
        sess->state = TLS_SESSION_FAILED;
        return -1;
    }
    return rc;
}

gsize tls_session_pending(TlsSession *sess)
{
    if (sess->state != TLS_SESSION_READY)
        return 0;
    return gnutls_record_check_pending(sess->session);
}

GIOCondition tls_session_get_blocked_condition(const TlsSession *sess)
{
    return sess->blocked;
}

TlsStatus tls_session_bye(TlsSession *sess, GError **error)
{
    g_return_val_if_fail(sess != NULL, TLS_STATUS_ERROR);

    if (sess->state != TLS_SESSION_READY) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "TLS session with the %s: nothing to close",
                   sess->peer_name);
        return TLS_STATUS_ERROR;
    }

    int rc = gnutls_bye(sess->session, GNUTLS_SHUT_WR);
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
        return tls_session_status_blocked(sess);
    if (rc < 0) {
        tls_session_report(sess, rc, "TLS close", error);
        sess->state = TLS_SESSION_FAILED;
        return TLS_STATUS_ERROR;
    }
    return TLS_STATUS_DONE;
}

const char *tls_session_get_peer_dn(const TlsSession *sess)
{
    return sess->peer_dn;
}

const char *tls_session_get_protocol(const TlsSession *sess)
{
    if (sess->state == TLS_SESSION_HANDSHAKE || sess->state == TLS_SESSION_FAILED)
        return NULL;
    return gnutls_protocol_get_name(gnutls_protocol_get_version(sess->session));
}

TlsRole tls_session_get_role(const TlsSession *sess)
{
    return sess->ctx->role;
}

/* ------------------------------------------------------------ blocking helpers */

/* Waits with poll() until the fd is ready for cond, or the deadline (a
 * monotonic time; -1 none) passes. */
static gboolean tls_session_wait(TlsSession *sess, GIOCondition cond, gint64 deadline,
                                 const char *doing, int timeout_ms, GError **error)
{
    struct pollfd pfd = { .fd = sess->fd, .events = cond == G_IO_OUT ? POLLOUT : POLLIN };

    for (;;) {
        int wait_ms = -1;

        if (deadline >= 0) {
            gint64 left = deadline - g_get_monotonic_time();
            if (left <= 0) {
                ferry_fail(error, FERRY_ERR_OPERATION_TIMEOUT,
                           "%s with the %s timed out after %d ms", doing, sess->peer_name,
                           timeout_ms);
                return FALSE;
            }
            wait_ms = (int)MIN((left + 999) / 1000, G_MAXINT);
        }
        int rc = poll(&pfd, 1, wait_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            ferry_fail(error, FERRY_ERR_TLS, "%s with the %s: poll failed: %s", doing,
                       sess->peer_name, g_strerror(errno));
            return FALSE;
        }
        if (rc > 0)
            return TRUE; /* ready, or an error/hangup the next call reports */
    }
}

static gint64 tls_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
}

gboolean tls_session_handshake_sync(TlsSession *sess, int timeout_ms, GError **error)
{
    gint64 deadline = tls_deadline(timeout_ms);

    for (;;) {
        switch (tls_session_handshake(sess, error)) {
        case TLS_STATUS_DONE:
            return TRUE;
        case TLS_STATUS_ERROR:
            return FALSE;
        case TLS_STATUS_NEED_READ:
            if (!tls_session_wait(sess, G_IO_IN, deadline, "TLS handshake", timeout_ms, error))
                return FALSE;
            break;
        case TLS_STATUS_NEED_WRITE:
            if (!tls_session_wait(sess, G_IO_OUT, deadline, "TLS handshake", timeout_ms, error))
                return FALSE;
            break;
        }
    }
}

gboolean tls_session_write_all(TlsSession *sess, const void *buf, gsize len, int timeout_ms,
                               GError **error)
{
    gint64 deadline = tls_deadline(timeout_ms);
    const char *p = buf;

    while (len > 0) {
        gssize n = tls_session_write(sess, p, len, error);

        if (n == TLS_IO_AGAIN) {
            if (!tls_session_wait(sess, sess->blocked, deadline, "TLS write", timeout_ms, error))
                return FALSE;
            continue;
        }
        if (n < 0)
            return FALSE;
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}

gssize tls_session_read_sync(TlsSession *sess, void *buf, gsize len, int timeout_ms, GError **error)
{
    gint64 deadline = tls_deadline(timeout_ms);

    for (;;) {
        gssize n = tls_session_read(sess, buf, len, error);

        if (n != TLS_IO_AGAIN)
            return n;
        if (!tls_session_wait(sess, sess->blocked, deadline, "TLS read", timeout_ms, error))
            return -1;
    }
}

gboolean tls_session_bye_sync(TlsSession *sess, int timeout_ms, GError **error)
{
    gint64 deadline = tls_deadline(timeout_ms);

    for (;;) {
        TlsStatus st = tls_session_bye(sess, error);

        if (st == TLS_STATUS_DONE)
            return TRUE;
        if (st == TLS_STATUS_ERROR)
            return FALSE;
        if (!tls_session_wait(sess, st == TLS_STATUS_NEED_WRITE ? G_IO_OUT : G_IO_IN, deadline,
                              "TLS close", timeout_ms, error))
            return FALSE;
    }
}
