/*
 * qemu_command.h: a domain definition to QEMU's argv (never a shell string).
 *
 *     QemuCommandOptions opts = QEMU_COMMAND_OPTIONS_INIT;
 *     opts.accel = "kvm";
 *     opts.qmp_path = "/run/ferry/web1/qmp.sock";
 *     opts.incoming = "defer";                 // destination of a migration
 *     g_auto(GStrv) argv = qemu_command_build(def, &opts, error);
 *     g_auto(GStrv) env = qemu_command_build_env("/var/lib/ferry/web1");
 *     Spawn *qemu = spawn_new((const char *const *)argv);
 *     qemu_command_env_apply(qemu, (const char *const *)env);
 *
 * The argv depends on the definition and the options alone (no host
 * probing, no randomness): the source and the destination of a migration
 * build the same device tree from the same definition.  The options that
 * only exist on one side (-incoming, fd numbers, the QMP socket) never
 * change a guest-visible device.  Every device gets id=<its alias>.
 *
 * Decisions (each documented here once):
 *   - -S always: ferry starts the CPUs with QMP "cont" once set up.
 *   - -machine TYPE,usb=off,dump-guest-core=off[,vmport=][,hpet=] plus
 *     -accel kvm|tcg.  No machine type: "pc" (the driver should store a
 *     versioned type in the definition before a migration).  Machine
 *     families: "pc"/"pc-i440fx-*" and "q35"/"pc-q35-*"; others refused.
 *     ACPI is never turned off: libvirt 9.0 with QEMU 7.2 leaves it on for
 *     a domain without <acpi/> (wire-captures/qemu-cmdline.txt), and the
 *     parsed definition cannot tell "absent" from "off".
 *   - -m in MiB, rounded up to a whole MiB (libvirt aligns x86 memory the
 *     same way); no memory-backend object.  The RAM block is "pc.ram"
 *     either way, so the migration stream matches libvirt's.
 *     currentMemory is a balloon target set over QMP, not here.
 *   - -smp CUR[,maxcpus=MAX],sockets=,[dies=,]cores=,threads= (no
 *     <topology>: one core per socket, as libvirt).
 *   - -cpu: none when there is no <cpu> (qemu32 for an i686 guest, as
 *     qemu-system-i386 would give it; kvmclock present= adds kvmclock=);
 *     custom -> MODEL,feat=on|off
 *     (libvirt's feature names with '_' -> '-'); host-passthrough -> host
 *     (kvm only; migratable='off' -> migratable=off, refused with
 *     opts.migratable); host-model -> host under kvm, max under tcg (ferry
 *     does not expand host-model into a named model); maximum -> max.
 *   - Lifecycle: QEMU exits when the guest powers off (no -no-shutdown),
 *     unless on_poweroff='preserve' (-no-shutdown).  on_reboot='destroy'
 *     -> -no-reboot; 'preserve' is refused.  restart actions on poweroff
 *     are the driver's business (QEMU exits, the driver starts it again).
 *   - Disks: -blockdev in JSON (a protocol node "ferry-N-storage" and a
 *     format node "ferry-N-format", N the disk's index) and -device with
 *     drive=ferry-N-format.  Buses: virtio -> virtio-blk-pci, ide (i440fx
 *     only) -> ide-hd/ide-cd on ide.B unit U, sata (q35 only) -> ide-hd/
 *     ide-cd on the built-in AHCI port ide.U, scsi -> scsi-hd/scsi-cd on
 *     the SCSI controller of its drive address (listed, or for controller
 *     0 an implicit virtio-scsi-pci "scsi0").  An empty cdrom has no
 *     -blockdev and no drive=.  Cache modes as QEMU's: direct/no-flush on
 *     the nodes, write-cache on the device; no cache='...': QEMU's default.
 *   - Interfaces of every type are taps that ferry opened: the caller
 *     gives the fd number per alias (opts.taps); -netdev tap,fd=N,
 *     id=host<alias> and the model's device with netdev=, mac=.
 *   - Serial and console: -chardev (null, pty, file, socket) with id
 *     char<alias>; isa-serial index=port; a <console type='serial'> is the
 *     serial port itself (nothing added); virtio consoles are virtconsole
 *     devices (nr=port) on virtio-serial controller 0 (listed, or an
 *     implicit "virtio-serial0").  A unix chardev in connect mode needs
 *     its peer listening when QEMU starts.  A file chardev may get its
 *     file as an fd (opts.chr_fds: -add-fd and path=/dev/fdset/N).
 *   - Graphics: -vnc ADDR:DISPLAY, -spice port=,tls-port=,x509-dir=,addr=
 *     (a tls-port only with opts.spice_tls_dir, its x509-dir); ports
 *     must be chosen (autoport resolved by the driver) before this runs.
 *     Passwords are never on the command line: without one, VNC has no
 *     auth and SPICE disable-ticketing=on; with one, VNC password=on and
 *     SPICE keeps ticketing on, and the driver sets the password with QMP
 *     set_password after start.  The listen address defaults to
 *     127.0.0.1; a VNC keymap is -k.  -display none without graphics.
 *   - Clock: -rtc base=utc|localtime[,driftfix=slew for rtc catchup]; pit
 *     delay/discard -> kvm-pit.lost_tick_policy (kvm only); hpet present
 *     -> -machine hpet=; kvmclock present -> -cpu kvmclock=; other timers
 *     and policies are refused.  <pm> -> PIIX4_PM / ICH9-LPC disable_s3/s4.
 *   - Boot: <os><boot dev> -> -boot order=...; per-device <boot order> ->
 *     bootindex= and -boot strict=on; both together are refused.
 *   - Last: -incoming when asked, -sandbox with opts.sandbox, -msg
 *     timestamp=on.
 *   - PCI: devices sit on the root bus (pci.0 / pcie.0) or on the bus of a
 *     PCI controller (its alias, libvirt's "pci.N").  A device without an
 *     address gets the lowest free root bus slot, in build order, after
 *     every explicitly addressed slot is reserved: QEMU never picks a slot
 *     that a later device names.  The addresses are a function of the
 *     definition, so both sides of a migration agree without writing them
 *     back (the driver may still do so, as libvirt does).
 *   - Controllers: pci-root/pcie-root and the chipset's IDE (i440fx) or
 *     AHCI (q35) controller are built in; pcie-root-port, pci-bridge and
 *     the other PCI models, qemu-xhci/nec-xhci/piix3-uhci/piix4-uhci USB,
 *     virtio-scsi and virtio-serial are -device'd, PCI ones first.  EHCI
 *     with UHCI companions and LSI SCSI models are refused.
 *   - Also: inputs (PS/2 built in; usb-* on the USB controller; virtio-*),
 *     channels (virtserialport with a unix socket, whose path the driver
 *     chooses, or spicevmc), <audio> as -audiodev audio<id>, sound cards
 *     (intel-hda/ich9-intel-hda with an hda-duplex codec, AC97) on the
 *     first audio backend, virtio RNGs (-object rng-random), the i6300esb
 *     and ib700 watchdogs (-action watchdog=; 'dump' refused) and SPICE
 *     USB redirection.  Not on the command line: the balloon's stats
 *     period and the guest's balloon target (set over QMP), seclabel and
 *     resource partition (host side).
 *   - Escaping: values of key=value options (-name, -chardev, -device,
 *     -machine, -netdev, -vnc, -spice, ...) have ',' doubled.  -kernel,
 *     -initrd, -append and -incoming take their argument raw (QEMU does
 *     not split them), so nothing is escaped there.  -blockdev is JSON.
 *
 * What cannot be built is refused with a message naming the device
 * ("disk 'vdb': bus 'sata' is not supported by ferry's QEMU command line
 * on machine 'pc'"), never dropped.
 */
#pragma once

#include <glib.h>

#include "conf/domain_conf.h"
#include "util/spawn.h"

/* Where -vnc and -spice listen when the graphics name no address. */
#define QEMU_GRAPHICS_DEFAULT_LISTEN "127.0.0.1"

/* A tap that ferry opened for an interface, as fd numbers in QEMU. */
typedef struct {
    const char *alias; /* the interface's alias ("net0") */
    int fd; /* the tap */
    int vhost_fd; /* an open /dev/vhost-net, or -1 for none */
} QemuCommandTapFd;

/* A file opened by ferry for a file chardev (serial or console log). */
typedef struct {
    const char *alias; /* the serial's or console's alias ("serial0") */
    int fd; /* fd number in QEMU */
} QemuCommandChrFd;

typedef struct {
    /* The QEMU binary (argv[0]); NULL: the domain's <emulator>, else
     * QEMU_SYSTEM_X86_64. */
    const char *emulator;
    /* "kvm" or "tcg"; NULL: from <domain type=> (kvm -> kvm, qemu -> tcg). */
    const char *accel;
    /* The QMP socket: a path QEMU listens on, or (qmp_fd >= 0) the fd number
     * of a listening socket the caller created.  Exactly one. */
    const char *qmp_path;
    int qmp_fd;
    /* NULL: a normal start; "defer": -incoming defer (migrate-incoming
     * comes later over QMP); anything else: an incoming URI. */
    const char *incoming;
    /* One entry per interface of the domain. */
    const QemuCommandTapFd *taps;
    gsize ntaps;
    /* Optional, for file chardevs. */
    const QemuCommandChrFd *chr_fds;
    gsize nchr_fds;
    /* Refuse what cannot migrate (host-passthrough with migratable='off'). */
    gboolean migratable;
    /* SPICE over TLS: the x509 directory (ca-cert.pem, server-cert.pem,
     * server-key.pem) for -spice x509-dir=; NULL: no SPICE TLS, and a
     * SPICE tlsPort is refused. */
    const char *spice_tls_dir;
    /* -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,
     * resourcecontrol=deny (QEMU built with seccomp). */
    gboolean sandbox;
} QemuCommandOptions;

#define QEMU_COMMAND_OPTIONS_INIT \
    { \
        .qmp_fd = -1 \
    }

/* The argv (NULL-terminated, argv[0] the binary), or NULL with an error
 * naming what ferry cannot build. */
char **qemu_command_build(const DomainDef *def, const QemuCommandOptions *opts, GError **error);

/* QEMU's environment: LC_ALL=C, PATH (ours, or a default), HOME=domain_dir
 * and XDG_{DATA,CACHE,CONFIG}_HOME below it, as "NAME=VALUE" strings. */
char **qemu_command_build_env(const char *domain_dir);

/* Replaces spawn's environment with env ("NAME=VALUE" strings). */
void qemu_command_env_apply(Spawn *spawn, const char *const *env);

/* "a,b" -> "a,,b": a value inside a key=value option. */
char *qemu_command_escape_opt(const char *value);

/* env and argv as one shell-quoted line, for QEMU's log (env may be NULL). */
char *qemu_command_to_string(const char *const *env, const char *const *argv);
