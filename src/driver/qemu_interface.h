/*
 * qemu_interface.h: the host side of a domain's interfaces: the taps that
 * ferry opens and hands to QEMU as fds (-netdev tap,fd=N).
 *
 *     if (!qemu_interface_check(def, name, error))        // nothing opened yet
 *         return FALSE;
 *     g_autoptr(GArray) taps = qemu_interface_open_all(def, name, kvm, error);
 *     // pass each tap_fd (and vhost_fd) to QEMU, spawn, then free taps:
 *     // from then on QEMU holds the only fds and the taps live as long as
 *     // QEMU does.
 *
 * Decisions (each documented here once):
 *   - Every interface is a tap opened on /dev/net/tun with IFF_TAP and
 *     IFF_NO_PI; IFF_VNET_HDR for the virtio model when the kernel offers
 *     it (virtio-net uses the header for checksum and segmentation
 *     offloads; QEMU reads the flag back from the fd).  The tap is not
 *     persistent: it disappears when its last fd closes, that is when
 *     QEMU exits.  Nothing is left to clean up on stop.
 *   - The tap's name is <target dev='...'/> when given (at most 15 bytes,
 *     no '/', ':', '%' or blank, not "." or ".."), else the kernel's
 *     choice from "vnet%d"; the chosen name is written back into the
 *     (running) definition, so the live XML shows it.  A name that the
 *     kernel already has for a tap in use fails with "busy"; for
 *     something that is not a tap, with "exists and is not a tap".
 *   - The host side's MAC is the guest's with the first byte 0xFE, so the
 *     tap never wins a bridge's MAC election against a physical port and
 *     never equals the guest's own address.
 *   - type='bridge': the tap takes the bridge's MTU and is attached to it
 *     (a missing bridge fails, naming it); type='ethernet': the tap is left
 *     alone after it is up (the user manages it); type='network' (libvirt's
 *     virtual networks) is refused: ferry has no network driver.
 *   - The tap is brought up (IFF_UP) through an ioctl socket; no ip(8), no
 *     shell.
 *   - vhost-net: for the virtio model under kvm, /dev/vhost-net is opened
 *     when it can be (QEMU gets vhost=on,vhostfd=N); when it cannot, the
 *     interface runs without it (logged at debug level).  Never under tcg
 *     (ferry's command line refuses vhost-net there).
 */
#pragma once

#include <glib.h>

#include "conf/domain_conf.h"

/* Interface names are at most this long (IFNAMSIZ - 1). */
#define QEMU_INTERFACE_NAME_MAX 15
/* The template for taps without a target dev. */
#define QEMU_INTERFACE_NAME_TEMPLATE "vnet%d"

/* What ferry opened for one interface. */
typedef struct {
    const char *alias; /* the interface's alias, borrowed from the definition */
    char *ifname; /* the tap's name */
    int tap_fd; /* ours until QEMU has it */
    int vhost_fd; /* an open /dev/vhost-net, or -1 */
} QemuInterfaceTap;

/* Closes what tap holds and frees its name (a GArray clear function). */
void qemu_interface_tap_clear(gpointer tap);

/* The host side's MAC for a guest MAC: the first byte becomes 0xFE. */
void qemu_interface_host_mac(const unsigned char *guest, unsigned char *host);

/* Checks that name may be the tap of net (domain: the domain's name, for
 * messages). */
gboolean qemu_interface_check_name(const char *domain, const DomainNetDef *net, const char *name,
                                   GError **error);

/* Checks every interface of def before anything is opened: type
 * 'network' refused, target dev names valid. */
gboolean qemu_interface_check(const DomainDef *def, const char *domain, GError **error);

/* Opens, names, configures and brings up the tap of net (and, with vhost,
 * /dev/vhost-net when possible) into *tap.  On failure nothing stays open
 * (the tap is gone) and *tap is cleared. */
gboolean qemu_interface_open(const char *domain, const DomainNetDef *net, gboolean vhost,
                             QemuInterfaceTap *tap, GError **error);

/* The taps of every interface of def, in the order of def->nets (a GArray
 * of QemuInterfaceTap whose clear function closes them), with the chosen
 * names written back to def's target devs.  kvm: vhost-net may be used.
 * NULL with an error naming the interface, with nothing left open and
 * def unchanged, when one fails. */
GArray *qemu_interface_open_all(DomainDef *def, const char *domain, gboolean kvm, GError **error);
