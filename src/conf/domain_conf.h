/*
 * domain_conf.h: domain definitions in libvirt's domain XML schema.
 *
 * ferry reads and writes the same <domain> documents libvirt does, so users
 * keep their files.  It understands the subset it can run (listed below):
 * anything else is refused with an error naming the element, never dropped
 * silently.
 *
 *     g_autoptr(DomainDef) def = domain_def_parse(xml, 0, error);
 *     g_autofree char *out = domain_def_format(def, DOMAIN_FORMAT_MIGRATABLE, error);
 *
 * Formatting is canonical: parse(format(def)) formats to the same text.
 * Parsing fills in what libvirt fills in (a UUID, MAC addresses, device
 * aliases), so what is formatted is complete and stable.
 *
 * The status form (<domstatus>) wraps a definition with the runtime data the
 * daemon needs to reconnect to a running QEMU after a restart.
 *
 * What ferry reads (libvirt's names):
 *   <domain type='kvm|qemu' id=N>, name, uuid, title, description, metadata
 *   (a copy of the subtree, round-tripped), memory and currentMemory (any libvirt unit,
 *   stored in KiB, rounded up), vcpu (placement='static', current), resource
 *   (partition only: metadata, round-tripped; ferry does not place guests in
 *   cgroups), os (type hvm with arch x86_64|i686 and machine; kernel, initrd,
 *   cmdline; boot dev), features (acpi, apic, pae, vmport), cpu (mode custom,
 *   host-model, host-passthrough, maximum; match, check, migratable; model
 *   with fallback; topology; features), clock (offset utc|localtime; timers
 *   with tickpolicy and present), on_poweroff, on_reboot, on_crash, pm
 *   (suspend-to-mem, suspend-to-disk), seclabel type='none' (see below), and
 *   in <devices>: emulator, disk (file|block, disk|cdrom, driver name/type/
 *   cache/discard, source, target dev/bus, readonly, shareable, an empty
 *   backingStore), controller (below), interface (network|bridge|ethernet:
 *   mac, source, target, model), serial (isa-serial) and console
 *   (serial|virtio) of type null, pty, file, unix; channel (below), input
 *   (mouse|keyboard|tablet on ps2|usb|virtio), graphics (vnc|spice: port,
 *   tlsPort, autoport, listen and one <listen type='address'>, passwd,
 *   keymap; spice <image compression>), sound (ich6|ich9|ac97), audio
 *   (id, type none|spice), video (model type, vram, heads, primary; ram and
 *   vgamem for qxl), redirdev (bus usb, type spicevmc), watchdog
 *   (i6300esb|ib700, action), memballoon (virtio|none, stats period), rng
 *   (virtio, backend model='random' with a device path).  Devices take
 *   <alias> and the <address> of their bus: pci, drive (non-virtio disks),
 *   virtio-serial (channels), usb (usb inputs, redirdevs; no hub ports);
 *   disks, interfaces and redirdevs take <boot order>.  Parsing names every
 *   device as libvirt does (virtio-disk0, net0, pci.1, pcie.0, usb, ide,
 *   channel0, input0, redir0, ...).
 *
 * Controllers: type pci (model pci-root, pcie-root, pci-bridge,
 * dmi-to-pci-bridge, pcie-root-port, pcie-switch-upstream-port,
 * pcie-switch-downstream-port, pcie-to-pci-bridge; <model name> among the
 * QEMU devices libvirt allows for the model, filled in when absent;
 * <target chassisNr|chassis|port|hotplug> where the model takes them),
 * usb (piix3-uhci, piix4-uhci, ehci, ich9-ehci1, ich9-uhci1..3 with
 * <master startport>, nec-xhci and qemu-xhci with ports, none), ide, sata,
 * scsi (virtio-scsi, lsilogic, lsisas1068, lsisas1078; lsilogic when not
 * given, as libvirt), virtio-serial (ports, vectors).  Kept in libvirt's
 * order (sorted by index within a type).  Indexes are unique per type (USB
 * companions share their master's index and alias); a pcie-root needs a
 * q35 machine, a pci-root any other; when a definition lists controllers of
 * a type, every address on that bus must name one of them.  ferry does not
 * add the controllers libvirt adds implicitly.
 *
 * Channels: type unix (<source mode='bind'>, path optional: without one the
 * host picks it at start; a path in libvirt's channel directories counts as
 * host-chosen and is left out of the migratable form) and spicevmc (needs
 * spice graphics), with <target type='virtio' name=...> (required for unix,
 * com.redhat.spice.0 by default for spicevmc) and a runtime state.
 *
 * Security labels: ferry runs QEMU without AppArmor, SELinux or DAC
 * labelling.  <seclabel type='none'> (any model) says exactly that and is
 * round-tripped; type='dynamic' and 'static' (what libvirt adds to a running
 * guest on Debian: apparmor and dac) are refused, relabel='no' or not, with
 * an error that says to remove them ('virsh dumpxml --inactive' leaves out
 * the ones libvirt generated).  Accepting them would drop a confinement
 * promise silently.
 *
 * Refused, with an error naming the element or attribute: every other
 * element (hostdev, filesystem, tpm, smartcard, numatune, memoryBacking,
 * qemu:commandline, ...), other device, controller, channel, input, audio
 * and source types and models, controller <driver>, sound <codec>, rng
 * <rate> and egd backends, os firmware and loader, vcpu cpuset and
 * placement='auto', cpu vendor/numa/cache, timer track/frequency/mode,
 * graphics socket/websocket/passwdValidTo/sharePolicy/defaultMode,
 * memballoon autodeflate/freePageReporting, and disk backing chains.
 * Attributes that only tune the host side or are runtime data (disk driver
 * io, disk source index, interface source portid/bridge, interface target
 * managed, console tty) are ignored; so is a <listen type='address'/>
 * without an address (the default listen address either way).
 */
#pragma once

#include <glib.h>

#include "util/uuid.h"

#define DOMAIN_XML_MAX (1024 * 1024) /* bytes of domain or status XML */
#define DOMAIN_NAME_MAX 200 /* bytes */
#define DOMAIN_TITLE_MAX 1024 /* bytes */
#define DOMAIN_ALIAS_MAX 64 /* bytes */
#define DOMAIN_MEMORY_MIN_KIB 1024ULL /* 1 MiB */
#define DOMAIN_MEMORY_MAX_KIB (1ULL << 36) /* 64 TiB */
#define DOMAIN_VCPUS_MAX 4096
#define DOMAIN_DEVICES_MAX 256 /* devices in <devices>, all kinds together */

/* domain_def_parse flags */
typedef enum {
    /* The document is a <domstatus>: domain_def_parse returns the <domain>
     * inside (domain_status_parse returns all of it). */
    DOMAIN_PARSE_STATUS = 1 << 0,
    /* Drop runtime data (id, pty paths, automatic ports, automatic tap names),
     * as when defining a domain from a live domain's XML. */
    DOMAIN_PARSE_INACTIVE = 1 << 1,
} DomainParseFlags;

/* domain_def_format flags */
typedef enum {
    /* Include secrets (graphics passwords). */
    DOMAIN_FORMAT_SECURE = 1 << 0,
    /* For another host: no id, no live ports or pty paths, no tap names that
     * the host chose. */
    DOMAIN_FORMAT_MIGRATABLE = 1 << 1,
    /* Wrap in <domstatus> (only domain_status_format sets this). */
    DOMAIN_FORMAT_STATUS = 1 << 2,
} DomainFormatFlags;

/* Enums: each has a string table (the XML value) checked against _LAST at
 * compile time, and <name>_to_string / <name>_from_string (-1 if unknown).
 * A _DEFAULT value (0) means "not given" and is never written. */
#define DOMAIN_ENUM_DECL(name, type) \
    const char *name##_to_string(int value); \
    int name##_from_string(const char *str)

typedef enum { DOMAIN_VIRT_QEMU, DOMAIN_VIRT_KVM, DOMAIN_VIRT_LAST } DomainVirtType;
DOMAIN_ENUM_DECL(domain_virt, DomainVirtType);

typedef enum {
    DOMAIN_LIFECYCLE_DESTROY,
    DOMAIN_LIFECYCLE_RESTART,
    DOMAIN_LIFECYCLE_PRESERVE,
    DOMAIN_LIFECYCLE_RENAME_RESTART,
    DOMAIN_LIFECYCLE_COREDUMP_DESTROY, /* on_crash only */
    DOMAIN_LIFECYCLE_COREDUMP_RESTART, /* on_crash only */
    DOMAIN_LIFECYCLE_LAST
} DomainLifecycleAction;
DOMAIN_ENUM_DECL(domain_lifecycle, DomainLifecycleAction);

typedef enum {
    DOMAIN_BOOT_FD,
    DOMAIN_BOOT_CDROM,
    DOMAIN_BOOT_HD,
    DOMAIN_BOOT_NETWORK,
    DOMAIN_BOOT_LAST
} DomainBootDev;
DOMAIN_ENUM_DECL(domain_boot, DomainBootDev);
#define DOMAIN_BOOT_DEVS_MAX 4

typedef enum {
    DOMAIN_TRISTATE_ABSENT,
    DOMAIN_TRISTATE_ON,
    DOMAIN_TRISTATE_OFF,
    DOMAIN_TRISTATE_LAST
} DomainTristate;
DOMAIN_ENUM_DECL(domain_tristate, DomainTristate); /* "absent", "on", "off" */

typedef enum {
    DOMAIN_CPU_MODE_NONE, /* no <cpu> element: QEMU's default model */
    DOMAIN_CPU_MODE_CUSTOM,
    DOMAIN_CPU_MODE_HOST_MODEL,
    DOMAIN_CPU_MODE_HOST_PASSTHROUGH,
    DOMAIN_CPU_MODE_MAXIMUM,
    DOMAIN_CPU_MODE_LAST
} DomainCpuMode;
DOMAIN_ENUM_DECL(domain_cpu_mode, DomainCpuMode);

typedef enum {
    DOMAIN_CPU_MATCH_DEFAULT,
    DOMAIN_CPU_MATCH_MINIMUM,
    DOMAIN_CPU_MATCH_EXACT,
    DOMAIN_CPU_MATCH_STRICT,
    DOMAIN_CPU_MATCH_LAST
} DomainCpuMatch;
DOMAIN_ENUM_DECL(domain_cpu_match, DomainCpuMatch);

typedef enum {
    DOMAIN_CPU_CHECK_DEFAULT,
    DOMAIN_CPU_CHECK_NONE,
    DOMAIN_CPU_CHECK_PARTIAL,
    DOMAIN_CPU_CHECK_FULL,
    DOMAIN_CPU_CHECK_LAST
} DomainCpuCheck;
DOMAIN_ENUM_DECL(domain_cpu_check, DomainCpuCheck);

typedef enum {
    DOMAIN_CPU_FALLBACK_DEFAULT,
    DOMAIN_CPU_FALLBACK_ALLOW,
    DOMAIN_CPU_FALLBACK_FORBID,
    DOMAIN_CPU_FALLBACK_LAST
} DomainCpuFallback;
DOMAIN_ENUM_DECL(domain_cpu_fallback, DomainCpuFallback);

typedef enum {
    DOMAIN_CPU_POLICY_FORCE,
    DOMAIN_CPU_POLICY_REQUIRE,
    DOMAIN_CPU_POLICY_OPTIONAL,
    DOMAIN_CPU_POLICY_DISABLE,
    DOMAIN_CPU_POLICY_FORBID,
    DOMAIN_CPU_POLICY_LAST
} DomainCpuPolicy;
DOMAIN_ENUM_DECL(domain_cpu_policy, DomainCpuPolicy);

typedef enum { DOMAIN_CLOCK_UTC, DOMAIN_CLOCK_LOCALTIME, DOMAIN_CLOCK_LAST } DomainClockOffset;
DOMAIN_ENUM_DECL(domain_clock_offset, DomainClockOffset);

typedef enum {
    DOMAIN_TIMER_PLATFORM,
    DOMAIN_TIMER_RTC,
    DOMAIN_TIMER_PIT,
    DOMAIN_TIMER_HPET,
    DOMAIN_TIMER_TSC,
    DOMAIN_TIMER_KVMCLOCK,
    DOMAIN_TIMER_HYPERVCLOCK,
    DOMAIN_TIMER_LAST
} DomainTimerName;
DOMAIN_ENUM_DECL(domain_timer_name, DomainTimerName);

typedef enum {
    DOMAIN_TICKPOLICY_DEFAULT,
    DOMAIN_TICKPOLICY_DELAY,
    DOMAIN_TICKPOLICY_CATCHUP,
    DOMAIN_TICKPOLICY_MERGE,
    DOMAIN_TICKPOLICY_DISCARD,
    DOMAIN_TICKPOLICY_LAST
} DomainTickPolicy;
DOMAIN_ENUM_DECL(domain_tickpolicy, DomainTickPolicy);

typedef enum {
    DOMAIN_ADDRESS_NONE,
    DOMAIN_ADDRESS_PCI,
    DOMAIN_ADDRESS_DRIVE,
    DOMAIN_ADDRESS_VIRTIO_SERIAL,
    DOMAIN_ADDRESS_USB,
    DOMAIN_ADDRESS_LAST
} DomainAddressType;
DOMAIN_ENUM_DECL(domain_address, DomainAddressType);

typedef enum {
    DOMAIN_DISK_TYPE_FILE,
    DOMAIN_DISK_TYPE_BLOCK,
    DOMAIN_DISK_TYPE_LAST
} DomainDiskType;
DOMAIN_ENUM_DECL(domain_disk_type, DomainDiskType);

typedef enum {
    DOMAIN_DISK_DEVICE_DISK,
    DOMAIN_DISK_DEVICE_CDROM,
    DOMAIN_DISK_DEVICE_LAST
} DomainDiskDevice;
DOMAIN_ENUM_DECL(domain_disk_device, DomainDiskDevice);

typedef enum {
    DOMAIN_DISK_BUS_VIRTIO,
    DOMAIN_DISK_BUS_IDE,
    DOMAIN_DISK_BUS_SCSI,
    DOMAIN_DISK_BUS_SATA,
    DOMAIN_DISK_BUS_LAST
} DomainDiskBus;
DOMAIN_ENUM_DECL(domain_disk_bus, DomainDiskBus);

typedef enum {
    DOMAIN_DISK_FORMAT_DEFAULT, /* not given: raw for the driver, as in libvirt */
    DOMAIN_DISK_FORMAT_RAW,
    DOMAIN_DISK_FORMAT_QCOW2,
    DOMAIN_DISK_FORMAT_QED,
    DOMAIN_DISK_FORMAT_VMDK,
    DOMAIN_DISK_FORMAT_VDI,
    DOMAIN_DISK_FORMAT_VPC,
    DOMAIN_DISK_FORMAT_LAST
} DomainDiskFormat;
DOMAIN_ENUM_DECL(domain_disk_format, DomainDiskFormat);

typedef enum {
    DOMAIN_DISK_CACHE_DEFAULT,
    DOMAIN_DISK_CACHE_NONE,
    DOMAIN_DISK_CACHE_WRITETHROUGH,
    DOMAIN_DISK_CACHE_WRITEBACK,
    DOMAIN_DISK_CACHE_DIRECTSYNC,
    DOMAIN_DISK_CACHE_UNSAFE,
    DOMAIN_DISK_CACHE_LAST
} DomainDiskCache;
DOMAIN_ENUM_DECL(domain_disk_cache, DomainDiskCache);

typedef enum {
    DOMAIN_DISK_DISCARD_DEFAULT,
    DOMAIN_DISK_DISCARD_UNMAP,
    DOMAIN_DISK_DISCARD_IGNORE,
    DOMAIN_DISK_DISCARD_LAST
} DomainDiskDiscard;
DOMAIN_ENUM_DECL(domain_disk_discard, DomainDiskDiscard);

typedef enum {
    DOMAIN_NET_TYPE_NETWORK,
    DOMAIN_NET_TYPE_BRIDGE,
    DOMAIN_NET_TYPE_ETHERNET,
    DOMAIN_NET_TYPE_LAST
} DomainNetType;
DOMAIN_ENUM_DECL(domain_net_type, DomainNetType);

typedef enum {
    DOMAIN_NET_MODEL_VIRTIO,
    DOMAIN_NET_MODEL_E1000,
    DOMAIN_NET_MODEL_E1000E,
    DOMAIN_NET_MODEL_RTL8139,
    DOMAIN_NET_MODEL_NE2K_PCI,
    DOMAIN_NET_MODEL_PCNET,
    DOMAIN_NET_MODEL_VMXNET3,
    DOMAIN_NET_MODEL_LAST
} DomainNetModel;
DOMAIN_ENUM_DECL(domain_net_model, DomainNetModel);

typedef enum {
    DOMAIN_CHR_TYPE_NULL,
    DOMAIN_CHR_TYPE_PTY,
    DOMAIN_CHR_TYPE_FILE,
    DOMAIN_CHR_TYPE_UNIX,
    DOMAIN_CHR_TYPE_LAST
} DomainChrType;
DOMAIN_ENUM_DECL(domain_chr_type, DomainChrType);

typedef enum {
    DOMAIN_CHR_TARGET_ISA_SERIAL, /* <serial> */
    DOMAIN_CHR_TARGET_SERIAL, /* <console> that is serial port N */
    DOMAIN_CHR_TARGET_VIRTIO, /* <console> on virtio-serial */
    DOMAIN_CHR_TARGET_LAST
} DomainChrTarget;
DOMAIN_ENUM_DECL(domain_chr_target, DomainChrTarget);

typedef enum {
    DOMAIN_GRAPHICS_VNC,
    DOMAIN_GRAPHICS_SPICE,
    DOMAIN_GRAPHICS_LAST
} DomainGraphicsType;
DOMAIN_ENUM_DECL(domain_graphics, DomainGraphicsType);

typedef enum {
    DOMAIN_VIDEO_VGA,
    DOMAIN_VIDEO_CIRRUS,
    DOMAIN_VIDEO_VIRTIO,
    DOMAIN_VIDEO_QXL,
    DOMAIN_VIDEO_BOCHS,
    DOMAIN_VIDEO_RAMFB,
    DOMAIN_VIDEO_NONE,
    DOMAIN_VIDEO_LAST
} DomainVideoModel;
DOMAIN_ENUM_DECL(domain_video, DomainVideoModel);

typedef enum { DOMAIN_BALLOON_VIRTIO, DOMAIN_BALLOON_NONE, DOMAIN_BALLOON_LAST } DomainBalloonModel;
DOMAIN_ENUM_DECL(domain_balloon, DomainBalloonModel);

typedef enum {
    DOMAIN_CONTROLLER_TYPE_PCI,
    DOMAIN_CONTROLLER_TYPE_USB,
    DOMAIN_CONTROLLER_TYPE_IDE,
    DOMAIN_CONTROLLER_TYPE_SATA,
    DOMAIN_CONTROLLER_TYPE_SCSI,
    DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL,
    DOMAIN_CONTROLLER_TYPE_LAST
} DomainControllerType;
DOMAIN_ENUM_DECL(domain_controller_type, DomainControllerType);

/* <controller type='pci' model=...> */
typedef enum {
    DOMAIN_PCI_MODEL_DEFAULT,
    DOMAIN_PCI_MODEL_PCI_ROOT,
    DOMAIN_PCI_MODEL_PCIE_ROOT,
    DOMAIN_PCI_MODEL_PCI_BRIDGE,
    DOMAIN_PCI_MODEL_DMI_TO_PCI_BRIDGE,
    DOMAIN_PCI_MODEL_PCIE_ROOT_PORT,
    DOMAIN_PCI_MODEL_PCIE_SWITCH_UPSTREAM_PORT,
    DOMAIN_PCI_MODEL_PCIE_SWITCH_DOWNSTREAM_PORT,
    DOMAIN_PCI_MODEL_PCIE_TO_PCI_BRIDGE,
    DOMAIN_PCI_MODEL_LAST
} DomainPciModel;
DOMAIN_ENUM_DECL(domain_pci_model, DomainPciModel);

/* <controller type='usb' model=...> */
typedef enum {
    DOMAIN_USB_MODEL_DEFAULT,
    DOMAIN_USB_MODEL_PIIX3_UHCI,
    DOMAIN_USB_MODEL_PIIX4_UHCI,
    DOMAIN_USB_MODEL_EHCI,
    DOMAIN_USB_MODEL_ICH9_EHCI1,
    DOMAIN_USB_MODEL_ICH9_UHCI1,
    DOMAIN_USB_MODEL_ICH9_UHCI2,
    DOMAIN_USB_MODEL_ICH9_UHCI3,
    DOMAIN_USB_MODEL_NEC_XHCI,
    DOMAIN_USB_MODEL_QEMU_XHCI,
    DOMAIN_USB_MODEL_NONE,
    DOMAIN_USB_MODEL_LAST
} DomainUsbModel;
DOMAIN_ENUM_DECL(domain_usb_model, DomainUsbModel);

/* <controller type='scsi' model=...> */
typedef enum {
    DOMAIN_SCSI_MODEL_DEFAULT,
    DOMAIN_SCSI_MODEL_VIRTIO_SCSI,
    DOMAIN_SCSI_MODEL_LSILOGIC,
    DOMAIN_SCSI_MODEL_LSISAS1068,
    DOMAIN_SCSI_MODEL_LSISAS1078,
    DOMAIN_SCSI_MODEL_LAST
} DomainScsiModel;
DOMAIN_ENUM_DECL(domain_scsi_model, DomainScsiModel);

typedef enum {
    DOMAIN_INPUT_MOUSE,
    DOMAIN_INPUT_KEYBOARD,
    DOMAIN_INPUT_TABLET,
    DOMAIN_INPUT_LAST
} DomainInputType;
DOMAIN_ENUM_DECL(domain_input_type, DomainInputType);

typedef enum {
    DOMAIN_INPUT_BUS_PS2,
    DOMAIN_INPUT_BUS_USB,
    DOMAIN_INPUT_BUS_VIRTIO,
    DOMAIN_INPUT_BUS_LAST
} DomainInputBus;
DOMAIN_ENUM_DECL(domain_input_bus, DomainInputBus);

/* <channel type=...>: a virtio-serial port (not DomainChrType: a channel
 * has backends a serial port has not). */
typedef enum {
    DOMAIN_CHANNEL_UNIX,
    DOMAIN_CHANNEL_SPICEVMC,
    DOMAIN_CHANNEL_LAST
} DomainChannelType;
DOMAIN_ENUM_DECL(domain_channel_type, DomainChannelType);

/* <channel><target state=...>: runtime, what the guest agent side did. */
typedef enum {
    DOMAIN_CHANNEL_STATE_DEFAULT,
    DOMAIN_CHANNEL_STATE_CONNECTED,
    DOMAIN_CHANNEL_STATE_DISCONNECTED,
    DOMAIN_CHANNEL_STATE_LAST
} DomainChannelState;
DOMAIN_ENUM_DECL(domain_channel_state, DomainChannelState);

typedef enum {
    DOMAIN_SOUND_ICH6,
    DOMAIN_SOUND_ICH9,
    DOMAIN_SOUND_AC97,
    DOMAIN_SOUND_LAST
} DomainSoundModel;
DOMAIN_ENUM_DECL(domain_sound_model, DomainSoundModel);

typedef enum { DOMAIN_AUDIO_NONE, DOMAIN_AUDIO_SPICE, DOMAIN_AUDIO_LAST } DomainAudioType;
DOMAIN_ENUM_DECL(domain_audio_type, DomainAudioType);

typedef enum {
    DOMAIN_WATCHDOG_I6300ESB,
    DOMAIN_WATCHDOG_IB700,
    DOMAIN_WATCHDOG_LAST
} DomainWatchdogModel;
DOMAIN_ENUM_DECL(domain_watchdog_model, DomainWatchdogModel);

typedef enum {
    DOMAIN_WATCHDOG_ACTION_RESET,
    DOMAIN_WATCHDOG_ACTION_SHUTDOWN,
    DOMAIN_WATCHDOG_ACTION_POWEROFF,
    DOMAIN_WATCHDOG_ACTION_PAUSE,
    DOMAIN_WATCHDOG_ACTION_NONE,
    DOMAIN_WATCHDOG_ACTION_DUMP,
    DOMAIN_WATCHDOG_ACTION_INJECT_NMI,
    DOMAIN_WATCHDOG_ACTION_LAST
} DomainWatchdogAction;
DOMAIN_ENUM_DECL(domain_watchdog_action, DomainWatchdogAction);

typedef enum {
    DOMAIN_GRAPHICS_IMAGE_DEFAULT,
    DOMAIN_GRAPHICS_IMAGE_AUTO_GLZ,
    DOMAIN_GRAPHICS_IMAGE_AUTO_LZ,
    DOMAIN_GRAPHICS_IMAGE_QUIC,
    DOMAIN_GRAPHICS_IMAGE_GLZ,
    DOMAIN_GRAPHICS_IMAGE_LZ,
    DOMAIN_GRAPHICS_IMAGE_OFF,
    DOMAIN_GRAPHICS_IMAGE_LAST
} DomainGraphicsImageCompression;
DOMAIN_ENUM_DECL(domain_graphics_image, DomainGraphicsImageCompression);

/* Where a device sits on its bus, and its name in QEMU (-device id=). */
typedef struct {
    DomainAddressType type;
    union {
        struct {
            unsigned int domain, bus, slot, function;
            DomainTristate multifunction;
        } pci;
        struct {
            unsigned int controller, bus, target, unit;
        } drive;
        struct {
            unsigned int controller, bus, port;
        } vioserial;
        struct {
            unsigned int bus, port; /* port 0: not given; no ports behind hubs */
        } usb;
    } u;
} DomainDeviceAddress;

typedef struct {
    char *alias; /* always set after parsing */
    DomainDeviceAddress addr;
    unsigned int boot_order; /* <boot order='N'/>, 0 when absent */
} DomainDeviceInfo;

typedef struct {
    DomainDiskType type;
    DomainDiskDevice device;
    char *driver_name; /* "qemu" or NULL */
    DomainDiskFormat format; /* <driver type=...> */
    DomainDiskCache cache;
    char *src; /* file or block device path; NULL: empty cdrom */
    char *target_dev; /* vda, sdb, hdc */
    DomainDiskBus bus;
    gboolean readonly;
    gboolean shareable;
    DomainDeviceInfo info;
    DomainDiskDiscard discard; /* <driver discard=...>: virt-install writes 'unmap' */
} DomainDiskDef;

typedef struct {
    DomainNetType type;
    char *source; /* network name (network) or bridge name (bridge) */
    unsigned char mac[6]; /* always set after parsing */
    char *target_dev; /* tap device; for network/bridge chosen at start */
    DomainNetModel model;
    DomainDeviceInfo info;
} DomainNetDef;

typedef struct {
    DomainChrType type;
    char *path; /* file, socket, or the pty the host allocated */
    gboolean listen; /* unix: mode='bind' */
    DomainTristate append; /* file */
    DomainChrTarget target;
    unsigned int port;
    DomainDeviceInfo info;
} DomainChrDef;

typedef struct {
    DomainGraphicsType type;
    int port; /* -1: not chosen yet */
    int tls_port; /* spice; -1: none / not chosen yet */
    gboolean autoport;
    char *listen; /* an address, or NULL */
    char *passwd; /* secret: formatted only with DOMAIN_FORMAT_SECURE */
    char *keymap; /* "en-us", or NULL */
    DomainGraphicsImageCompression image; /* spice <image compression=...> */
} DomainGraphicsDef;

typedef struct {
    DomainVideoModel model;
    unsigned int vram; /* KiB, 0 when not given */
    unsigned int ram, vgamem; /* qxl only, KiB, 0 when not given */
    unsigned int heads; /* 0 when not given */
    DomainDeviceInfo info;
    gboolean primary; /* <model primary='yes'>: the first video only */
} DomainVideoDef;

typedef struct {
    DomainBalloonModel model;
    DomainDeviceInfo info;
    unsigned int stats_period; /* <stats period='N'/> in seconds, 0 when absent */
} DomainMemballoonDef;

/* <controller>.  Controllers are kept as libvirt keeps them: in document
 * order of their types, sorted by index within a type. */
typedef struct {
    DomainControllerType type;
    unsigned int index;
    int model; /* by type: DomainPciModel, DomainUsbModel, DomainScsiModel; 0: none */
    char *model_name; /* pci: <model name=...>, the QEMU device; NULL when absent */
    /* pci: <target chassisNr= chassis= port=>; -1 when absent */
    int chassis_nr, chassis, port;
    DomainTristate hotplug;
    int master_startport; /* usb companions: <master startport=>; -1 when absent */
    unsigned int ports; /* usb, virtio-serial: ports=; 0 when absent */
    unsigned int vectors; /* virtio-serial: vectors=; 0 when absent */
    DomainDeviceInfo info;
} DomainControllerDef;

typedef struct {
    DomainInputType type;
    DomainInputBus bus;
    DomainDeviceInfo info;
} DomainInputDef;

typedef struct {
    DomainChannelType type;
    char *path; /* unix: the socket, NULL: the host picks one at start */
    char *target_name; /* org.qemu.guest_agent.0, com.redhat.spice.0 */
    DomainChannelState state; /* runtime */
    DomainDeviceInfo info; /* a virtio-serial address */
} DomainChannelDef;

typedef struct {
    DomainSoundModel model;
    DomainDeviceInfo info;
} DomainSoundDef;

typedef struct {
    unsigned int id; /* > 0 */
    DomainAudioType type;
} DomainAudioDef;

typedef struct {
    char *backend; /* <backend model='random'>: the host's device, /dev/urandom */
    DomainDeviceInfo info; /* model virtio, the only one */
} DomainRngDef;

typedef struct {
    DomainWatchdogModel model;
    DomainWatchdogAction action;
    DomainDeviceInfo info;
} DomainWatchdogDef;

/* <redirdev bus='usb' type='spicevmc'>: a USB device the SPICE client
 * redirects into the guest. */
typedef struct {
    DomainDeviceInfo info;
} DomainRedirdevDef;

typedef struct {
    DomainCpuPolicy policy;
    char *name;
} DomainCpuFeature;

typedef struct {
    DomainCpuMode mode;
    DomainCpuMatch match;
    DomainCpuCheck check;
    DomainTristate migratable; /* host-passthrough / maximum */
    char *model; /* custom (and optional for host-model) */
    DomainCpuFallback fallback;
    unsigned int sockets, dies, cores, threads; /* 0: no <topology> (dies 0: not given) */
    DomainCpuFeature *features;
    size_t nfeatures;
} DomainCpuDef;

typedef struct {
    DomainTimerName name;
    DomainTickPolicy tickpolicy;
    DomainTristate present;
} DomainTimerDef;

typedef struct {
    DomainClockOffset offset;
    DomainTimerDef *timers;
    size_t ntimers;
} DomainClockDef;

typedef struct {
    char *type; /* "hvm" */
    char *arch; /* always set after parsing */
    char *machine; /* NULL: the hypervisor's default */
    char *kernel, *initrd, *cmdline;
    DomainBootDev boot[DOMAIN_BOOT_DEVS_MAX];
    size_t nboot;
} DomainOsDef;

typedef struct {
    gboolean acpi, apic, pae;
    DomainTristate vmport;
} DomainFeaturesDef;

/* <pm><suspend-to-mem enabled=.../><suspend-to-disk .../></pm>: the ACPI
 * sleep states offered to the guest (ABSENT: QEMU's default). */
typedef struct {
    DomainTristate suspend_to_mem;
    DomainTristate suspend_to_disk;
} DomainPmDef;

typedef struct _DomainDef DomainDef;
struct _DomainDef {
    DomainVirtType virt_type;
    int id; /* -1 when not running */
    char *name;
    unsigned char uuid[FERRY_UUID_BUFLEN];
    char *title;
    char *description;
    char *metadata; /* the whole <metadata> element as text, or NULL */

    unsigned long long memory_kib;
    unsigned long long current_memory_kib;
    unsigned int vcpus; /* maximum */
    unsigned int current_vcpus; /* online at boot, <= vcpus */

    DomainOsDef os;
    DomainFeaturesDef features;
    DomainPmDef pm;
    DomainCpuDef cpu;
    DomainClockDef clock;
    DomainLifecycleAction on_poweroff, on_reboot, on_crash;

    char *emulator;
    DomainDiskDef **disks;
    size_t ndisks;
    DomainNetDef **nets;
    size_t nnets;
    DomainChrDef **serials;
    size_t nserials;
    DomainChrDef **consoles;
    size_t nconsoles;
    DomainGraphicsDef **graphics;
    size_t ngraphics;
    DomainVideoDef **videos;
    size_t nvideos;
    DomainMemballoonDef *memballoon; /* always set after parsing (model may be none) */

    /* Added after the first version: readers that predate them ignore them. */
    char *resource_partition; /* <resource><partition>, metadata only, or NULL */
    /* <seclabel type='none' model=...>s: the security models ("" when no
     * model was given) told to label nothing, which ferry honours as it
     * labels nothing.  Other seclabels are refused. */
    char **seclabel_none_models;
    size_t nseclabel_none_models;
    DomainControllerDef **controllers;
    size_t ncontrollers;
    DomainInputDef **inputs;
    size_t ninputs;
    DomainChannelDef **channels;
    size_t nchannels;
    DomainSoundDef **sounds;
    size_t nsounds;
    DomainAudioDef **audios;
    size_t naudios;
    DomainRngDef **rngs;
    size_t nrngs;
    DomainWatchdogDef *watchdog; /* NULL when absent */
    DomainRedirdevDef **redirdevs;
    size_t nredirdevs;
};

/* Randomness for what parsing generates (UUID, MAC addresses), injected so
 * tests get stable output.  NULL hooks: the system's random source. */
typedef struct {
    int (*random_bytes)(void *buf, size_t len, gpointer opaque, GError **error);
    gpointer opaque;
} DomainParseHooks;

DomainDef *domain_def_new(void);
void domain_def_free(DomainDef *def);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainDef, domain_def_free)

/* Parses a <domain> document (at most DOMAIN_XML_MAX bytes). */
DomainDef *domain_def_parse(const char *xml, unsigned int flags, GError **error);
DomainDef *domain_def_parse_full(const char *xml, unsigned int flags, const DomainParseHooks *hooks,
                                 GError **error);

/* Formats a definition; DOMAIN_FORMAT_STATUS is refused here (use
 * domain_status_format). */
char *domain_def_format(const DomainDef *def, unsigned int flags, GError **error);

/* For documents that embed a <domain> (the migration cookie's <persistent>):
 * parse that element, or format a new, unlinked <domain> element of doc. */
struct _xmlNode;
struct _xmlDoc;
DomainDef *domain_def_parse_xml_node(struct _xmlNode *node, unsigned int flags,
                                     const DomainParseHooks *hooks, GError **error);
struct _xmlNode *domain_def_format_xml_node(const DomainDef *def, struct _xmlDoc *doc,
                                            unsigned int flags, GError **error);

/* A deep copy, field by field (runtime data and secrets included). */
DomainDef *domain_def_copy(const DomainDef *def);

/* Refuses, naming the first difference, when a guest started from dst would
 * see a different machine than one running from src. */
gboolean domain_def_check_abi_stability(const DomainDef *src, const DomainDef *dst, GError **error);

/* Lookups (NULL when absent). */
DomainDiskDef *domain_def_find_disk(const DomainDef *def, const char *target_or_alias);
DomainNetDef *domain_def_find_net_by_mac(const DomainDef *def, const unsigned char *mac);
/* TRUE when some device carries this alias. */
gboolean domain_def_has_alias(const DomainDef *def, const char *alias);

/* "52:54:00:12:34:56" into buf (18 bytes). */
const char *domain_mac_format(const unsigned char *mac, char *buf);
#define DOMAIN_MAC_STRING_BUFLEN 18

/* ---------------------------------------------------------------- status */

typedef enum {
    DOMAIN_STATE_NOSTATE,
    DOMAIN_STATE_RUNNING,
    DOMAIN_STATE_BLOCKED,
    DOMAIN_STATE_PAUSED,
    DOMAIN_STATE_SHUTDOWN,
    DOMAIN_STATE_SHUTOFF,
    DOMAIN_STATE_CRASHED,
    DOMAIN_STATE_PMSUSPENDED,
    DOMAIN_STATE_LAST
} DomainState;
DOMAIN_ENUM_DECL(domain_state, DomainState);

typedef enum {
    DOMAIN_ASYNC_JOB_NONE,
    DOMAIN_ASYNC_JOB_MIGRATION_OUT,
    DOMAIN_ASYNC_JOB_MIGRATION_IN,
    DOMAIN_ASYNC_JOB_SAVE,
    DOMAIN_ASYNC_JOB_RESTORE,
    DOMAIN_ASYNC_JOB_LAST
} DomainAsyncJob;
DOMAIN_ENUM_DECL(domain_async_job, DomainAsyncJob);

/* The migration phase, persisted so that it never goes backwards. */
typedef enum {
    DOMAIN_MIGRATION_PHASE_NONE,
    DOMAIN_MIGRATION_PHASE_BEGIN3,
    DOMAIN_MIGRATION_PHASE_PERFORM3,
    DOMAIN_MIGRATION_PHASE_PERFORM3_DONE,
    DOMAIN_MIGRATION_PHASE_CONFIRM3_CANCELLED,
    DOMAIN_MIGRATION_PHASE_CONFIRM3,
    DOMAIN_MIGRATION_PHASE_PREPARE,
    DOMAIN_MIGRATION_PHASE_FINISH3,
    DOMAIN_MIGRATION_PHASE_LAST
} DomainMigrationPhase;
DOMAIN_ENUM_DECL(domain_migration_phase, DomainMigrationPhase);

typedef struct _DomainStatus DomainStatus;
struct _DomainStatus {
    DomainState state;
    char *reason; /* "booted", "migrated", ...: [a-z0-9-] */
    gint64 pid; /* QEMU's pid, > 0 */
    char *monitor_path; /* the QMP socket */
    DomainAsyncJob async_job;
    DomainMigrationPhase phase; /* NONE unless async_job is a migration */
    unsigned long long job_flags; /* the migration API flags */
    DomainDef *def;
};

DomainStatus *domain_status_new(void);
void domain_status_free(DomainStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainStatus, domain_status_free)

/* <domstatus state= reason= pid=><monitor path= type='unix'/><job .../>
 * <domain>...</domain></domstatus>.  Formatting always includes secrets. */
char *domain_status_format(const DomainStatus *status, GError **error);
DomainStatus *domain_status_parse(const char *xml, const DomainParseHooks *hooks, GError **error);
