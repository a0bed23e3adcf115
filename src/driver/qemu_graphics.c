/*
 * qemu_graphics.c: graphics ports and SPICE over TLS for a starting
 * domain, and the TLS subject its SPICE server shows (qemu_graphics.h).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.graphics"

#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "driver/qemu_command.h"
#include "driver/qemu_driver_priv.h"
#include "driver/qemu_graphics.h"

/* Where autoport looks for a graphics port (plain and TLS). */
#define QEMU_GRAPHICS_PORT_MIN 5900
#define QEMU_GRAPHICS_PORT_MAX 6900

static const char *const spice_tls_files[] = {
    QEMU_GRAPHICS_SPICE_TLS_CA,
    QEMU_GRAPHICS_SPICE_TLS_CERT,
    QEMU_GRAPHICS_SPICE_TLS_KEY,
};

/* ---------------------------------------------------------------- ports */

static gboolean qemu_graphics_reserve(QemuDriver *drv, const char *name, const DomainGraphicsDef *g,
                                      const char *what, int *port, GError **error)
{
    const char *addr = g->listen ? g->listen : QEMU_GRAPHICS_DEFAULT_LISTEN;

    *port = qemu_driver_reserve_port(drv, addr, QEMU_GRAPHICS_PORT_MIN, QEMU_GRAPHICS_PORT_MAX);
    if (*port >= 0)
        return TRUE;
    ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
               "domain '%s': no free %s for %s graphics on %s between %d and %d", name, what,
               domain_graphics_to_string(g->type), addr, QEMU_GRAPHICS_PORT_MIN,
               QEMU_GRAPHICS_PORT_MAX);
    return FALSE;
}

void qemu_graphics_list_ports(const DomainDef *def, GArray *ports)
{
    for (size_t i = 0; i < def->ngraphics; i++) {
        const DomainGraphicsDef *g = def->graphics[i];

        if (!g->autoport)
            continue;
        if (g->port >= 0)
            g_array_append_val(ports, g->port);
        if (g->tls_port >= 0)
            g_array_append_val(ports, g->tls_port);
    }
}

void qemu_graphics_claim_ports(QemuDriver *drv, const DomainDef *def)
{
    g_autoptr(GArray) ports = g_array_new(FALSE, FALSE, sizeof(int));

    qemu_graphics_list_ports(def, ports);
    for (guint i = 0; i < ports->len; i++)
        qemu_driver_claim_port(drv, g_array_index(ports, int, i));
}

void qemu_graphics_release_ports(QemuDriver *drv, const DomainDef *def)
{
    g_autoptr(GArray) ports = g_array_new(FALSE, FALSE, sizeof(int));

    qemu_graphics_list_ports(def, ports);
    for (guint i = 0; i < ports->len; i++)
        qemu_driver_release_port(drv, g_array_index(ports, int, i));
}

/* ---------------------------------------------------------------- SPICE TLS */

/* The x509 directory holds readable regular files for QEMU. */
static gboolean qemu_graphics_check_spice_tls(QemuDriver *drv, const char *name,
                                              const DomainGraphicsDef *g, GError **error)
{
    if (!drv->spice_tls_dir) {
        ferry_fail(error, FERRY_ERR_CONFIG,
                   "domain '%s': graphics 'spice' has tlsPort %d, but SPICE over TLS is off "
                   "(ferryd.conf's spice_tls)",
                   name, g->tls_port);
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(spice_tls_files); i++) {
        g_autofree char *path = g_build_filename(drv->spice_tls_dir, spice_tls_files[i], NULL);
        struct stat st;
        const char *why = NULL;

        if (stat(path, &st) < 0 || access(path, R_OK) < 0)
            why = g_strerror(errno);
        else if (!S_ISREG(st.st_mode))
            why = "not a regular file";
        if (why) {
            ferry_fail(error, FERRY_ERR_CONFIG,
                       "domain '%s': SPICE over TLS needs '%s' (%s; ferryd.conf's "
                       "spice_tls_x509_cert_dir holds %s, %s and %s)",
                       name, path, why, QEMU_GRAPHICS_SPICE_TLS_CA, QEMU_GRAPHICS_SPICE_TLS_CERT,
                       QEMU_GRAPHICS_SPICE_TLS_KEY);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean qemu_graphics_prepare(QemuDriver *drv, const char *name, DomainDef *def, GError **error)
{
    for (size_t i = 0; i < def->ngraphics; i++) {
        DomainGraphicsDef *g = def->graphics[i];
        gboolean spice = g->type == DOMAIN_GRAPHICS_SPICE;

        if (g->autoport || g->port < 0) {
            if (!qemu_graphics_reserve(drv, name, g, "port", &g->port, error))
                return FALSE;
        }
        if (spice && g->autoport && drv->spice_tls_dir) {
            if (!qemu_graphics_reserve(drv, name, g, "TLS port", &g->tls_port, error))
                return FALSE;
        }
        if (spice && g->tls_port >= 0 && !qemu_graphics_check_spice_tls(drv, name, g, error))
            return FALSE;
    }
    return TRUE;
}

/* At most QEMU_GRAPHICS_CERT_MAX bytes of path. */
static gboolean qemu_graphics_read_cert(const char *path, GByteArray *out, GError **error)
{
    g_auto(FerryFd) fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    guint8 buf[4096];

    if (fd < 0 || fstat(fd, &st) < 0) {
        ferry_fail_errno(error, errno, "cannot read SPICE TLS certificate '%s'", path);
        return FALSE;
    }
    if (!S_ISREG(st.st_mode)) {
        ferry_fail(error, FERRY_ERR_CONFIG,
                   "cannot read SPICE TLS certificate '%s': not a regular file", path);
        return FALSE;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ferry_fail_errno(error, errno, "cannot read SPICE TLS certificate '%s'", path);
            return FALSE;
        }
        if (n == 0)
            return TRUE;
        if (out->len + (gsize)n > QEMU_GRAPHICS_CERT_MAX) {
            ferry_fail(error, FERRY_ERR_CONFIG,
                       "cannot read SPICE TLS certificate '%s': larger than %d bytes", path,
                       QEMU_GRAPHICS_CERT_MAX);
            return FALSE;
        }
        g_byte_array_append(out, buf, (guint)n);
    }
}

static void qemu_graphics_crt_free(gnutls_x509_crt_t crt)
{
    if (crt)
        gnutls_x509_crt_deinit(crt);
}

char *qemu_graphics_spice_tls_subject(QemuDriver *drv, GError **error)
{
    g_autoptr(GByteArray) pem = g_byte_array_new();
    g_autofree char *path = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t datum;
    gnutls_datum_t dn = { NULL, 0 };
    char *subject = NULL;
    int rc;

    if (!drv->spice_tls_dir) {
        ferry_fail(error, FERRY_ERR_CONFIG, "SPICE over TLS is off (ferryd.conf's spice_tls)");
        return NULL;
    }
    path = g_build_filename(drv->spice_tls_dir, QEMU_GRAPHICS_SPICE_TLS_CERT, NULL);
    if (!qemu_graphics_read_cert(path, pem, error))
        return NULL;
    datum.data = pem->data;
    datum.size = pem->len;
    rc = gnutls_x509_crt_init(&crt);
    if (rc >= 0)
        rc = gnutls_x509_crt_import(crt, &datum, GNUTLS_X509_FMT_PEM);
    /* COMPAT: the certificate's order (RFC 4514's is the reverse), which
     * is how SPICE clients compare host-subject */
    if (rc >= 0)
        rc = gnutls_x509_crt_get_dn3(crt, &dn, GNUTLS_X509_DN_FLAG_COMPAT);
    if (rc >= 0) {
        subject = g_strndup((const char *)dn.data, dn.size);
        gnutls_free(dn.data);
    }
    qemu_graphics_crt_free(crt);
    if (rc < 0) {
        ferry_fail(error, FERRY_ERR_CONFIG, "cannot parse SPICE TLS certificate '%s': %s", path,
                   gnutls_strerror(rc));
        return NULL;
    }
    if (!*subject) {
        g_free(subject);
        ferry_fail(error, FERRY_ERR_CONFIG, "SPICE TLS certificate '%s' has an empty subject",
                   path);
        return NULL;
    }
    FLOG_DEBUG("SPICE TLS certificate '%s': subject '%s'", path, subject);
    return subject;
}
