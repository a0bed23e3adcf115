/*
 * qemu_graphics.h: the host side of a domain's graphics: the ports that
 * autoport chooses (taken while QEMU runs, free again when it ends) and
 * SPICE over TLS (ferryd.conf's spice_tls and spice_tls_x509_cert_dir).
 *
 * With SPICE TLS on, a SPICE graphics with autoport gets a TLS port as
 * well, and QEMU the x509 directory, which must hold the files of
 * QEMU_GRAPHICS_SPICE_TLS_FILES; a domain with a tlsPort does not start
 * without them (nor with SPICE TLS off).  The subject of server-cert.pem,
 * in the form SPICE clients take for host-subject (the certificate's
 * order, most significant first: "C=GB,L=London,O=Example,CN=host", a
 * comma in a value escaped as "\,"), is what a migration's destination
 * puts in its cookie for the source's clients.
 */
#pragma once

#include <glib.h>

#include "conf/domain_conf.h"
#include "driver/qemu_driver.h"

/* The files QEMU's -spice x509-dir= reads. */
#define QEMU_GRAPHICS_SPICE_TLS_CA "ca-cert.pem"
#define QEMU_GRAPHICS_SPICE_TLS_CERT "server-cert.pem"
#define QEMU_GRAPHICS_SPICE_TLS_KEY "server-key.pem"
/* The most of server-cert.pem that is read. */
#define QEMU_GRAPHICS_CERT_MAX (64 * 1024)

/* Autoport graphics get free ports (and SPICE a TLS port with SPICE TLS
 * on); then a SPICE TLS port needs SPICE TLS on and its files.  Errors
 * name the domain, the setting or the file.  Ports chosen before a
 * failure stay in def, for qemu_graphics_release_ports(). */
gboolean qemu_graphics_prepare(QemuDriver *drv, const char *name, DomainDef *def, GError **error);

/* The autoport ports of a running definition: taken (reconnect), or free
 * again (QEMU ended). */
void qemu_graphics_claim_ports(QemuDriver *drv, const DomainDef *def);
void qemu_graphics_release_ports(QemuDriver *drv, const DomainDef *def);
/* The same ports, appended to an array of int. */
void qemu_graphics_list_ports(const DomainDef *def, GArray *ports);

/* The subject of the SPICE TLS server certificate (new string), or NULL
 * with an error naming the file; SPICE TLS must be on. */
char *qemu_graphics_spice_tls_subject(QemuDriver *drv, GError **error);
