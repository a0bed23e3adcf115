/*
 * qemu_command_devices.c: the devices of QEMU's command line: implicit
 * controllers, disks (-blockdev + -device), interfaces (-netdev tap with
 * the caller's fds), serial ports and consoles (-chardev + -device),
 * graphics (-vnc, -spice), video and the memory balloon.  Every device
 * gets id=<alias>; the decisions are listed in qemu_command.h.
 */
#include <config.h>

#include <string.h>

#include <json-c/json.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.command"

#include "util/error.h"
#include "util/log.h"

#include "driver/qemu_command_priv.h"

#define QEMU_ISA_SERIAL_PORTS 4
#define QEMU_AHCI_PORTS 6 /* q35's built-in AHCI: ide.0 .. ide.5 */
#define QEMU_VNC_PORT_MIN 5900

static void qemu_cmd_add_json_take(QemuCmd *cmd, const char *opt, json_object *obj)
{
    qemu_cmd_add_pair(cmd, opt,
                      json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
}

/* ---------------------------------------------------------------- disks */

/* Which -device a disk becomes, per bus and device kind. */
typedef struct {
    const char *disk; /* NULL: not supported */
    const char *cdrom;
    gboolean i440fx, q35; /* machine families that have this bus */
} QemuDiskBusInfo;

static const QemuDiskBusInfo disk_buses[] = {
    [DOMAIN_DISK_BUS_VIRTIO] = { "virtio-blk-pci", NULL, TRUE, TRUE },
    [DOMAIN_DISK_BUS_IDE] = { "ide-hd", "ide-cd", TRUE, FALSE },
    [DOMAIN_DISK_BUS_SCSI] = { "scsi-hd", "scsi-cd", TRUE, TRUE },
    [DOMAIN_DISK_BUS_SATA] = { "ide-hd", "ide-cd", FALSE, TRUE },
};
G_STATIC_ASSERT(G_N_ELEMENTS(disk_buses) == DOMAIN_DISK_BUS_LAST);

/* QEMU's cache modes as node and device settings. */
typedef struct {
    gboolean direct, no_flush, write_cache;
} QemuDiskCacheInfo;

static const QemuDiskCacheInfo disk_caches[] = {
    [DOMAIN_DISK_CACHE_DEFAULT] = { FALSE, FALSE, TRUE }, /* not written */
    [DOMAIN_DISK_CACHE_NONE] = { TRUE, FALSE, TRUE },
    [DOMAIN_DISK_CACHE_WRITETHROUGH] = { FALSE, FALSE, FALSE },
    [DOMAIN_DISK_CACHE_WRITEBACK] = { FALSE, FALSE, TRUE },
    [DOMAIN_DISK_CACHE_DIRECTSYNC] = { TRUE, FALSE, FALSE },
    [DOMAIN_DISK_CACHE_UNSAFE] = { FALSE, TRUE, TRUE },
};
G_STATIC_ASSERT(G_N_ELEMENTS(disk_caches) == DOMAIN_DISK_CACHE_LAST);

static const char *const disk_format_drivers[] = {
    [DOMAIN_DISK_FORMAT_DEFAULT] = "raw", [DOMAIN_DISK_FORMAT_RAW] = "raw",
    [DOMAIN_DISK_FORMAT_QCOW2] = "qcow2", [DOMAIN_DISK_FORMAT_QED] = "qed",
    [DOMAIN_DISK_FORMAT_VMDK] = "vmdk",   [DOMAIN_DISK_FORMAT_VDI] = "vdi",
    [DOMAIN_DISK_FORMAT_VPC] = "vpc",
};
G_STATIC_ASSERT(G_N_ELEMENTS(disk_format_drivers) == DOMAIN_DISK_FORMAT_LAST);

/* The protocol driver for the source, per disk type and device kind. */
static const char *const disk_protocols[DOMAIN_DISK_TYPE_LAST][DOMAIN_DISK_DEVICE_LAST] = {
    [DOMAIN_DISK_TYPE_FILE] = { [DOMAIN_DISK_DEVICE_DISK] = "file",
                                [DOMAIN_DISK_DEVICE_CDROM] = "file" },
    [DOMAIN_DISK_TYPE_BLOCK] = { [DOMAIN_DISK_DEVICE_DISK] = "host_device",
                                 [DOMAIN_DISK_DEVICE_CDROM] = "host_cdrom" },
};

/* vda -> 0, hdc -> 2, sdaa -> 26 (libvirt's numbering); -1 if malformed. */
static int qemu_disk_index(const char *dev)
{
    int idx = 0;

    if (!dev || strlen(dev) < 3 || strlen(dev) > 5)
        return -1;
    for (const char *p = dev + 2; *p; p++) {
        if (*p < 'a' || *p > 'z')
            return -1;
        idx = idx * 26 + (*p - 'a' + 1);
    }
    return idx - 1;
}

static void qemu_disk_cache_json(json_object *node, const DomainDiskDef *disk)
{
    const QemuDiskCacheInfo *c = &disk_caches[disk->cache];
    json_object *cache;

    if (disk->cache == DOMAIN_DISK_CACHE_DEFAULT)
        return;
    cache = json_object_new_object();
    json_object_object_add(cache, "direct", json_object_new_boolean(c->direct));
    json_object_object_add(cache, "no-flush", json_object_new_boolean(c->no_flush));
    json_object_object_add(node, "cache", cache);
}

static void qemu_cmd_disk_blockdevs(QemuCmd *cmd, const DomainDiskDef *disk, const char *storage,
                                    const char *format)
{
    json_object *proto = json_object_new_object();
    json_object *fmt = json_object_new_object();

    json_object_object_add(proto, "driver",
                           json_object_new_string(disk_protocols[disk->type][disk->device]));
    json_object_object_add(proto, "filename", json_object_new_string(disk->src));
    json_object_object_add(proto, "node-name", json_object_new_string(storage));
    json_object_object_add(proto, "auto-read-only", json_object_new_boolean(TRUE));
    json_object_object_add(proto, "read-only", json_object_new_boolean(disk->readonly));
    qemu_disk_cache_json(proto, disk);
    qemu_cmd_add_json_take(cmd, "-blockdev", proto);

    json_object_object_add(fmt, "node-name", json_object_new_string(format));
    json_object_object_add(fmt, "read-only", json_object_new_boolean(disk->readonly));
    qemu_disk_cache_json(fmt, disk);
    json_object_object_add(fmt, "driver",
                           json_object_new_string(disk_format_drivers[disk->format]));
    json_object_object_add(fmt, "file", json_object_new_string(storage));
    qemu_cmd_add_json_take(cmd, "-blockdev", fmt);
}

/* Where a non-virtio disk sits: from its drive address, or from its target
 * name as libvirt assigns it. */
static gboolean qemu_cmd_disk_drive_address(QemuCmd *cmd, GString *buf, const char *what,
                                            const DomainDiskDef *disk, GError **error)
{
    const DomainDeviceAddress *a = &disk->info.addr;
    int idx = qemu_disk_index(disk->target_dev);
    unsigned int controller, bus, target, unit;

    if (a->type == DOMAIN_ADDRESS_DRIVE) {
        controller = a->u.drive.controller;
        bus = a->u.drive.bus;
        target = a->u.drive.target;
        unit = a->u.drive.unit;
    } else if (a->type == DOMAIN_ADDRESS_NONE && idx >= 0) {
        controller = 0;
        target = 0;
        bus = disk->bus == DOMAIN_DISK_BUS_IDE ? (unsigned int)idx / 2 : 0;
        unit = disk->bus == DOMAIN_DISK_BUS_IDE ? (unsigned int)idx % 2 : (unsigned int)idx;
        if (disk->bus == DOMAIN_DISK_BUS_SATA) {
            controller = (unsigned int)idx / QEMU_AHCI_PORTS;
            unit = (unsigned int)idx % QEMU_AHCI_PORTS;
        }
    } else {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "%s: address type '%s' is not supported for bus '%s'", what,
                   domain_address_to_string(a->type), domain_disk_bus_to_string(disk->bus));
        return FALSE;
    }
    if (controller != 0 && disk->bus != DOMAIN_DISK_BUS_SCSI) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "%s: controller %u is not supported by ferry's QEMU command line (only the "
                   "built-in controller 0)",
                   what, controller);
        return FALSE;
    }
    switch (disk->bus) {
    case DOMAIN_DISK_BUS_IDE:
        if (bus > 1 || unit > 1 || target != 0) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "%s: IDE bus %u unit %u does not exist (buses 0-1, units 0-1)", what, bus,
                       unit);
            return FALSE;
        }
        g_string_append_printf(buf, ",bus=ide.%u,unit=%u", bus, unit);
        return TRUE;
    case DOMAIN_DISK_BUS_SATA:
        if (bus != 0 || target != 0 || unit >= QEMU_AHCI_PORTS) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "%s: SATA bus %u unit %u does not exist (bus 0, units 0-%d)", what, bus,
                       unit, QEMU_AHCI_PORTS - 1);
            return FALSE;
        }
        g_string_append_printf(buf, ",bus=ide.%u", unit);
        return TRUE;
    case DOMAIN_DISK_BUS_SCSI: {
        g_autofree char *scsi_bus = NULL;

        if (bus != 0 || target > 255 || unit > 16383) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "%s: SCSI bus %u target %u unit %u does not exist on virtio-scsi", what, bus,
                       target, unit);
            return FALSE;
        }
        scsi_bus =
            qemu_cmd_controller_bus(cmd, what, DOMAIN_CONTROLLER_TYPE_SCSI, controller, error);
        if (!scsi_bus)
            return FALSE;
        qemu_opt_str(buf, "bus", scsi_bus);
        g_string_append_printf(buf, ",channel=0,scsi-id=%u,lun=%u", target, unit);
        return TRUE;
    }
    case DOMAIN_DISK_BUS_VIRTIO:
    case DOMAIN_DISK_BUS_LAST:
        break;
    }
    g_assert_not_reached();
}

static gboolean qemu_cmd_build_disk(QemuCmd *cmd, gsize index, const DomainDiskDef *disk,
                                    GError **error)
{
    g_autofree char *what = g_strdup_printf("disk '%s'", disk->target_dev);
    const QemuDiskBusInfo *bus = &disk_buses[disk->bus];
    gboolean cdrom = disk->device == DOMAIN_DISK_DEVICE_CDROM;
    const char *driver = cdrom ? bus->cdrom : bus->disk;
    g_autofree char *storage = g_strdup_printf("ferry-%zu-storage", index);
    g_autofree char *format = g_strdup_printf("ferry-%zu-format", index);
    g_autoptr(GString) buf = g_string_new(NULL);

    if (!qemu_cmd_check_id(what, disk->info.alias, error))
        return FALSE;
    if (!(cmd->family == QEMU_MACHINE_Q35 ? bus->q35 : bus->i440fx)) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "%s: bus '%s' is not supported by ferry's QEMU command line on machine '%s'",
                   what, domain_disk_bus_to_string(disk->bus), cmd->machine);
        return FALSE;
    }
    if (!driver) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "%s: a %s on bus '%s' is not supported by ferry's QEMU command line", what,
                   domain_disk_device_to_string(disk->device),
                   domain_disk_bus_to_string(disk->bus));
        return FALSE;
    }
    if (!disk->src && !cdrom) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s: a disk without a source", what);
        return FALSE;
    }
    if (disk->src)
        qemu_cmd_disk_blockdevs(cmd, disk, storage, format);

    g_string_append(buf, driver);
    if (disk->bus == DOMAIN_DISK_BUS_VIRTIO) {
        if (!qemu_cmd_pci_address(cmd, buf, what, &disk->info, error))
            return FALSE;
    } else if (!qemu_cmd_disk_drive_address(cmd, buf, what, disk, error)) {
        return FALSE;
    }
    if (disk->src)
        qemu_opt_str(buf, "drive", format);
    qemu_opt_str(buf, "id", disk->info.alias);
    if (disk->info.boot_order)
        qemu_opt_uint(buf, "bootindex", disk->info.boot_order);
    if (disk->cache != DOMAIN_DISK_CACHE_DEFAULT)
        qemu_opt_bool(buf, "write-cache", disk_caches[disk->cache].write_cache);
    if (disk->shareable)
        qemu_opt_bool(buf, "share-rw", TRUE);
    qemu_cmd_add_pair(cmd, "-device", buf->str);
    return TRUE;
}

gboolean qemu_cmd_build_disks(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->ndisks; i++) {
        if (!qemu_cmd_build_disk(cmd, i, cmd->def->disks[i], error))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- interfaces */

static const char *const net_model_devices[] = {
    [DOMAIN_NET_MODEL_VIRTIO] = "virtio-net-pci", [DOMAIN_NET_MODEL_E1000] = "e1000",
    [DOMAIN_NET_MODEL_E1000E] = "e1000e",         [DOMAIN_NET_MODEL_RTL8139] = "rtl8139",
    [DOMAIN_NET_MODEL_NE2K_PCI] = "ne2k_pci",     [DOMAIN_NET_MODEL_PCNET] = "pcnet",
    [DOMAIN_NET_MODEL_VMXNET3] = "vmxnet3",
};
G_STATIC_ASSERT(G_N_ELEMENTS(net_model_devices) == DOMAIN_NET_MODEL_LAST);

static const QemuCommandTapFd *qemu_cmd_find_tap(QemuCmd *cmd, const char *alias)
{
    for (gsize i = 0; i < cmd->opts->ntaps; i++) {
        if (cmd->opts->taps[i].alias && g_str_equal(cmd->opts->taps[i].alias, alias))
            return &cmd->opts->taps[i];
    }
    return NULL;
}

static gboolean qemu_cmd_build_net(QemuCmd *cmd, const DomainNetDef *net, GError **error)
{
    g_autofree char *what = g_strdup_printf("interface '%s'", net->info.alias);
    const QemuCommandTapFd *tap;
    g_autofree char *netdev_id = NULL;
    g_autoptr(GString) netdev = g_string_new("tap");
    g_autoptr(GString) dev = g_string_new(net_model_devices[net->model]);
    char mac[DOMAIN_MAC_STRING_BUFLEN];

    if (!qemu_cmd_check_id(what, net->info.alias, error))
        return FALSE;
    tap = qemu_cmd_find_tap(cmd, net->info.alias);
    if (!tap || tap->fd < 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "%s: no tap fd was given (ferry opens the tap of every interface type and "
                   "passes its fd)",
                   what);
        return FALSE;
    }
    netdev_id = g_strdup_printf("host%s", net->info.alias);
    qemu_opt_uint(netdev, "fd", (unsigned int)tap->fd);
    if (tap->vhost_fd >= 0) {
        if (!cmd->kvm) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: vhost-net needs kvm, not tcg", what);
            return FALSE;
        }
        qemu_opt_bool(netdev, "vhost", TRUE);
        qemu_opt_uint(netdev, "vhostfd", (unsigned int)tap->vhost_fd);
    }
    qemu_opt_str(netdev, "id", netdev_id);
    qemu_cmd_add_pair(cmd, "-netdev", netdev->str);

    qemu_opt_str(dev, "netdev", netdev_id);
    qemu_opt_str(dev, "id", net->info.alias);
    qemu_opt_str(dev, "mac", domain_mac_format(net->mac, mac));
    if (!qemu_cmd_pci_address(cmd, dev, what, &net->info, error))
        return FALSE;
    if (net->info.boot_order)
        qemu_opt_uint(dev, "bootindex", net->info.boot_order);
    qemu_cmd_add_pair(cmd, "-device", dev->str);
    return TRUE;
}

gboolean qemu_cmd_build_nets(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->nnets; i++) {
        if (!qemu_cmd_build_net(cmd, cmd->def->nets[i], error))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- chardevs */

static const char *const chr_backends[] = {
    [DOMAIN_CHR_TYPE_NULL] = "null",
    [DOMAIN_CHR_TYPE_PTY] = "pty",
    [DOMAIN_CHR_TYPE_FILE] = "file",
    [DOMAIN_CHR_TYPE_UNIX] = "socket",
};
G_STATIC_ASSERT(G_N_ELEMENTS(chr_backends) == DOMAIN_CHR_TYPE_LAST);

static const QemuCommandChrFd *qemu_cmd_find_chr_fd(QemuCmd *cmd, const char *alias)
{
    for (gsize i = 0; i < cmd->opts->nchr_fds; i++) {
        if (cmd->opts->chr_fds[i].alias && g_str_equal(cmd->opts->chr_fds[i].alias, alias))
            return &cmd->opts->chr_fds[i];
    }
    return NULL;
}

/* -chardev BACKEND,id=char<alias>,... (and -add-fd before it). */
gboolean qemu_cmd_build_chr_backend(QemuCmd *cmd, const char *what, const DomainChrDef *chr,
                                    const char *chardev_id, GError **error)
{
    g_autoptr(GString) buf = g_string_new(chr_backends[chr->type]);
    const QemuCommandChrFd *fd = qemu_cmd_find_chr_fd(cmd, chr->info.alias);

    qemu_opt_str(buf, "id", chardev_id);
    if (fd && chr->type != DOMAIN_CHR_TYPE_FILE) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s: an fd was given, but its type is '%s'", what,
                   domain_chr_type_to_string(chr->type));
        return FALSE;
    }
    if ((chr->type == DOMAIN_CHR_TYPE_FILE || chr->type == DOMAIN_CHR_TYPE_UNIX) && !chr->path &&
        !fd) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s: a '%s' device without a path", what,
                   domain_chr_type_to_string(chr->type));
        return FALSE;
    }
    switch (chr->type) {
    case DOMAIN_CHR_TYPE_NULL:
    case DOMAIN_CHR_TYPE_PTY:
        break;
    case DOMAIN_CHR_TYPE_FILE:
        if (fd) {
            guint set = cmd->next_fdset++;
            g_autofree char *path = g_strdup_printf("/dev/fdset/%u", set);

            qemu_cmd_add_pair_take(
                cmd, "-add-fd",
                g_strdup_printf("set=%u,fd=%d,opaque=%s-source", set, fd->fd, chr->info.alias));
            qemu_opt_str(buf, "path", path);
        } else {
            qemu_opt_str(buf, "path", chr->path);
        }
        if (chr->append != DOMAIN_TRISTATE_ABSENT)
            qemu_opt_bool(buf, "append", chr->append == DOMAIN_TRISTATE_ON);
        break;
    case DOMAIN_CHR_TYPE_UNIX:
        qemu_opt_str(buf, "path", chr->path);
        if (chr->listen) {
            qemu_opt_bool(buf, "server", TRUE);
            qemu_opt_bool(buf, "wait", FALSE);
        }
        break;
    case DOMAIN_CHR_TYPE_LAST:
        g_assert_not_reached();
    }
    qemu_cmd_add_pair(cmd, "-chardev", buf->str);
    return TRUE;
}

static gboolean qemu_cmd_build_serial(QemuCmd *cmd, const DomainChrDef *chr, GError **error)
{
    g_autofree char *what = g_strdup_printf("serial '%s'", chr->info.alias);
    g_autofree char *chardev_id = g_strdup_printf("char%s", chr->info.alias);
    g_autoptr(GString) dev = g_string_new("isa-serial");

    if (!qemu_cmd_check_id(what, chr->info.alias, error))
        return FALSE;
    if (chr->target != DOMAIN_CHR_TARGET_ISA_SERIAL) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "%s: target type '%s' is not supported by ferry's QEMU command line", what,
                   domain_chr_target_to_string(chr->target));
        return FALSE;
    }
    if (chr->port >= QEMU_ISA_SERIAL_PORTS) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: port %u does not exist (isa-serial 0-%d)",
                   what, chr->port, QEMU_ISA_SERIAL_PORTS - 1);
        return FALSE;
    }
    if (chr->info.addr.type != DOMAIN_ADDRESS_NONE) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: an isa-serial port takes no address", what);
        return FALSE;
    }
    if (!qemu_cmd_build_chr_backend(cmd, what, chr, chardev_id, error))
        return FALSE;
    qemu_opt_str(dev, "chardev", chardev_id);
    qemu_opt_str(dev, "id", chr->info.alias);
    qemu_opt_uint(dev, "index", chr->port);
    qemu_cmd_add_pair(cmd, "-device", dev->str);
    return TRUE;
}

static gboolean qemu_cmd_build_console(QemuCmd *cmd, const DomainChrDef *chr, GError **error)
{
    g_autofree char *what = g_strdup_printf("console '%s'", chr->info.alias);
    g_autofree char *chardev_id = g_strdup_printf("char%s", chr->info.alias);
    g_autoptr(GString) dev = g_string_new("virtconsole");

    switch (chr->target) {
    case DOMAIN_CHR_TARGET_SERIAL:
        return TRUE; /* the serial port of the same alias */
    case DOMAIN_CHR_TARGET_VIRTIO:
        break;
    default:
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "%s: target type '%s' is not supported by ferry's QEMU command line", what,
                   domain_chr_target_to_string(chr->target));
        return FALSE;
    }
    if (!qemu_cmd_check_id(what, chr->info.alias, error) ||
        !qemu_cmd_build_chr_backend(cmd, what, chr, chardev_id, error) ||
        !qemu_cmd_virtio_serial_address(cmd, dev, what, &chr->info, chr->port, error))
        return FALSE;
    qemu_opt_str(dev, "chardev", chardev_id);
    qemu_opt_str(dev, "id", chr->info.alias);
    qemu_cmd_add_pair(cmd, "-device", dev->str);
    return TRUE;
}

gboolean qemu_cmd_build_chardevs(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->nserials; i++) {
        if (!qemu_cmd_build_serial(cmd, cmd->def->serials[i], error))
            return FALSE;
    }
    for (gsize i = 0; i < cmd->def->nconsoles; i++) {
        if (!qemu_cmd_build_console(cmd, cmd->def->consoles[i], error))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- graphics */

static gboolean qemu_cmd_build_vnc(QemuCmd *cmd, const DomainGraphicsDef *g, GError **error)
{
    const char *listen = g->listen ? g->listen : QEMU_GRAPHICS_DEFAULT_LISTEN;
    g_autoptr(GString) buf = g_string_new(NULL);

    if (g->port < QEMU_VNC_PORT_MIN || g->port > 65535) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "graphics 'vnc': port %d is not a VNC port (%d-65535); with autoport the "
                   "driver picks one before building the command line",
                   g->port, QEMU_VNC_PORT_MIN);
        return FALSE;
    }
    if (strchr(listen, ':'))
        g_string_append_c(buf, '[');
    qemu_opt_escape_append(buf, listen);
    if (strchr(listen, ':'))
        g_string_append_c(buf, ']');
    g_string_append_printf(buf, ":%d", g->port - QEMU_VNC_PORT_MIN);
    if (g->passwd)
        qemu_opt_bool(buf, "password", TRUE);
    qemu_cmd_add_pair(cmd, "-vnc", buf->str);
    if (g->keymap)
        qemu_cmd_add_pair(cmd, "-k", g->keymap);
    return TRUE;
}

static gboolean qemu_cmd_build_spice(QemuCmd *cmd, const DomainGraphicsDef *g, GError **error)
{
    g_autoptr(GString) buf = g_string_new(NULL);

    if (g->port < 0 && g->tls_port < 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "graphics 'spice': no port was chosen; with autoport the driver picks one "
                   "before building the command line");
        return FALSE;
    }
    if (g->port > 65535 || g->tls_port > 65535) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "graphics 'spice': port %d or %d is not a port",
                   g->port, g->tls_port);
        return FALSE;
    }
    if (g->tls_port >= 0 && !cmd->opts->spice_tls_dir) {
        ferry_fail(error, FERRY_ERR_CONFIG,
                   "graphics 'spice': tlsPort %d needs SPICE over TLS, which is off "
                   "(ferryd.conf's spice_tls)",
                   g->tls_port);
        return FALSE;
    }
    if (g->port >= 0)
        qemu_opt_uint(buf, "port", (unsigned int)g->port);
    if (g->tls_port >= 0) {
        qemu_opt_uint(buf, "tls-port", (unsigned int)g->tls_port);
        qemu_opt_str(buf, "x509-dir", cmd->opts->spice_tls_dir);
    }
    qemu_opt_str(buf, "addr", g->listen ? g->listen : QEMU_GRAPHICS_DEFAULT_LISTEN);
    if (!g->passwd)
        qemu_opt_bool(buf, "disable-ticketing", TRUE);
    if (g->image != DOMAIN_GRAPHICS_IMAGE_DEFAULT)
        qemu_opt_str(buf, "image-compression", domain_graphics_image_to_string(g->image));
    qemu_opt_bool(buf, "seamless-migration", TRUE);
    qemu_cmd_add_pair(cmd, "-spice", buf->str);
    return TRUE;
}

gboolean qemu_cmd_build_graphics(QemuCmd *cmd, GError **error)
{
    gboolean seen[DOMAIN_GRAPHICS_LAST] = { FALSE };

    for (gsize i = 0; i < cmd->def->ngraphics; i++) {
        const DomainGraphicsDef *g = cmd->def->graphics[i];

        if (seen[g->type]) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "graphics '%s': QEMU takes one of each graphics type",
                       domain_graphics_to_string(g->type));
            return FALSE;
        }
        seen[g->type] = TRUE;
        if (!(g->type == DOMAIN_GRAPHICS_VNC ? qemu_cmd_build_vnc : qemu_cmd_build_spice)(cmd, g,
                                                                                          error))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- video */

/* How each video model becomes a device, and which of the sizes it takes
 * (property names and the divisor that turns KiB into their unit). */
typedef struct {
    const char *primary; /* NULL: nothing on the command line */
    const char *secondary; /* NULL: only as the first video device */
    gboolean pci;
    const char *vram_prop;
    unsigned int vram_div; /* KiB per unit; 0: bytes (KiB * 1024) */
    gboolean qxl_sizes; /* ram_size, vgamem_mb */
    gboolean heads; /* max_outputs */
} QemuVideoInfo;

static const QemuVideoInfo video_models[] = {
    [DOMAIN_VIDEO_VGA] = { "VGA", NULL, TRUE, "vgamem_mb", 1024, FALSE, FALSE },
    [DOMAIN_VIDEO_CIRRUS] = { "cirrus-vga", NULL, TRUE, NULL, 0, FALSE, FALSE },
    [DOMAIN_VIDEO_VIRTIO] = { "virtio-vga", "virtio-gpu-pci", TRUE, NULL, 0, FALSE, TRUE },
    [DOMAIN_VIDEO_QXL] = { "qxl-vga", "qxl", TRUE, "vram_size", 0, TRUE, TRUE },
    [DOMAIN_VIDEO_BOCHS] = { "bochs-display", "bochs-display", TRUE, "vgamem", 0, FALSE, FALSE },
    [DOMAIN_VIDEO_RAMFB] = { "ramfb", NULL, FALSE, NULL, 0, FALSE, FALSE },
    [DOMAIN_VIDEO_NONE] = { NULL, NULL, FALSE, NULL, 0, FALSE, FALSE },
};
G_STATIC_ASSERT(G_N_ELEMENTS(video_models) == DOMAIN_VIDEO_LAST);

static void qemu_opt_kib(GString *buf, const char *prop, unsigned int kib, unsigned int div)
{
    if (div)
        qemu_opt_uint(buf, prop, kib / div);
    else
        qemu_opt_uint(buf, prop, (unsigned long long)kib * 1024);
}

static gboolean qemu_cmd_build_video(QemuCmd *cmd, const DomainVideoDef *video, gboolean primary,
                                     GError **error)
{
    g_autofree char *what = g_strdup_printf("video '%s'", video->info.alias);
    const QemuVideoInfo *info = &video_models[video->model];
    const char *device = primary ? info->primary : info->secondary;
    g_autoptr(GString) buf = NULL;

    if (!info->primary)
        return TRUE;
    if (!qemu_cmd_check_id(what, video->info.alias, error))
        return FALSE;
    if (!device) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: model '%s' can only be the first video device",
                   what, domain_video_to_string(video->model));
        return FALSE;
    }
    buf = g_string_new(device);
    qemu_opt_str(buf, "id", video->info.alias);
    if (info->vram_prop && video->vram)
        qemu_opt_kib(buf, info->vram_prop, video->vram, info->vram_div);
    if (info->qxl_sizes && video->ram)
        qemu_opt_kib(buf, "ram_size", video->ram, 0);
    if (info->qxl_sizes && video->vgamem)
        qemu_opt_kib(buf, "vgamem_mb", video->vgamem, 1024);
    if (info->heads && video->heads)
        qemu_opt_uint(buf, "max_outputs", video->heads);
    if (info->pci) {
        if (!qemu_cmd_pci_address(cmd, buf, what, &video->info, error))
            return FALSE;
    } else if (video->info.addr.type != DOMAIN_ADDRESS_NONE) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: model '%s' takes no address", what,
                   domain_video_to_string(video->model));
        return FALSE;
    }
    qemu_cmd_add_pair(cmd, "-device", buf->str);
    return TRUE;
}

gboolean qemu_cmd_build_videos(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->nvideos; i++) {
        if (!qemu_cmd_build_video(cmd, cmd->def->videos[i], i == 0, error))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- balloon */

gboolean qemu_cmd_build_memballoon(QemuCmd *cmd, GError **error)
{
    const DomainMemballoonDef *balloon = cmd->def->memballoon;
    g_autofree char *what = NULL;
    g_autoptr(GString) buf = NULL;

    if (!balloon || balloon->model == DOMAIN_BALLOON_NONE)
        return TRUE;
    what = g_strdup_printf("memballoon '%s'", balloon->info.alias);
    if (!qemu_cmd_check_id(what, balloon->info.alias, error))
        return FALSE;
    buf = g_string_new("virtio-balloon-pci");
    qemu_opt_str(buf, "id", balloon->info.alias);
    if (!qemu_cmd_pci_address(cmd, buf, what, &balloon->info, error))
        return FALSE;
    qemu_cmd_add_pair(cmd, "-device", buf->str);
    return TRUE;
}
