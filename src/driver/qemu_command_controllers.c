/*
 * qemu_command_controllers.c: controllers on QEMU's command line, and
 * where devices sit: PCI buses (the root bus and the buses of PCI
 * controllers), root bus slot assignment, and the buses of SCSI, USB and
 * virtio-serial controllers.
 *
 * Built-in controllers (pci-root / pcie-root, the IDE controller of
 * i440fx and the AHCI controller of q35, index 0) add nothing.  A SCSI or
 * virtio-serial controller that disks or consoles need but the definition
 * does not list is added with libvirt's alias ("scsi0", "virtio-serial0").
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.command"

#include "util/error.h"
#include "util/log.h"

#include "driver/qemu_command_priv.h"

#define QEMU_PCI_SLOTS 32

/* ---------------------------------------------------------------- lookups */

/* A USB companion controller (UHCI behind an EHCI master). */
static gboolean qemu_controller_is_companion(const DomainControllerDef *c)
{
    return c->type == DOMAIN_CONTROLLER_TYPE_USB && c->master_startport >= 0;
}

const DomainControllerDef *qemu_cmd_find_controller(QemuCmd *cmd, DomainControllerType type,
                                                    unsigned int index)
{
    for (gsize i = 0; i < cmd->def->ncontrollers; i++) {
        const DomainControllerDef *c = cmd->def->controllers[i];

        if (c->type == type && c->index == index && !qemu_controller_is_companion(c))
            return c;
    }
    return NULL;
}

/* The implicit controllers: type, the alias and device they get. */
static const struct {
    DomainControllerType type;
    const char *alias;
    const char *device;
} implicit_controllers[] = {
    { DOMAIN_CONTROLLER_TYPE_SCSI, "scsi0", "virtio-scsi-pci" },
    { DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL, "virtio-serial0", "virtio-serial-pci" },
};

char *qemu_cmd_controller_bus(QemuCmd *cmd, const char *what, DomainControllerType type,
                              unsigned int index, GError **error)
{
    const DomainControllerDef *c = qemu_cmd_find_controller(cmd, type, index);

    if (c)
        return g_strdup_printf("%s.0", c->info.alias);
    for (gsize i = 0; i < G_N_ELEMENTS(implicit_controllers) && index == 0; i++) {
        if (implicit_controllers[i].type == type)
            return g_strdup_printf("%s.0", implicit_controllers[i].alias);
    }
    ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s: there is no %s controller with index %u", what,
               domain_controller_type_to_string(type), index);
    return NULL;
}

#define QEMU_VIRTIO_SERIAL_PORTS 64

gboolean qemu_cmd_virtio_serial_address(QemuCmd *cmd, GString *buf, const char *what,
                                        const DomainDeviceInfo *info, int want_nr, GError **error)
{
    const DomainDeviceAddress *a = &info->addr;
    unsigned int controller = 0, nr;
    g_autofree char *bus = NULL;

    if (a->type == DOMAIN_ADDRESS_VIRTIO_SERIAL) {
        if (a->u.vioserial.bus != 0) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "%s: virtio-serial bus %u does not exist (a controller has bus 0)", what,
                       a->u.vioserial.bus);
            return FALSE;
        }
        controller = a->u.vioserial.controller;
        nr = a->u.vioserial.port;
    } else if (a->type != DOMAIN_ADDRESS_NONE) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: address type '%s' is not a virtio-serial port",
                   what, domain_address_to_string(a->type));
        return FALSE;
    } else if (want_nr >= 0) {
        nr = (unsigned int)want_nr;
    } else {
        for (nr = 1; nr < QEMU_VIRTIO_SERIAL_PORTS; nr++) {
            if (!(cmd->used_vioserial_ports & (G_GUINT64_CONSTANT(1) << nr)))
                break;
        }
    }
    if (nr >= QEMU_VIRTIO_SERIAL_PORTS) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: virtio-serial port %u is out of range (0-%d)",
                   what, nr, QEMU_VIRTIO_SERIAL_PORTS - 1);
        return FALSE;
    }
    bus =
        qemu_cmd_controller_bus(cmd, what, DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL, controller, error);
    if (!bus)
        return FALSE;
    if (controller == 0)
        cmd->used_vioserial_ports |= G_GUINT64_CONSTANT(1) << nr;
    qemu_opt_str(buf, "bus", bus);
    qemu_opt_uint(buf, "nr", nr);
    return TRUE;
}

/* ---------------------------------------------------------------- PCI */

static gboolean qemu_cmd_check_pci(QemuCmd *cmd, const char *what, const DomainDeviceAddress *a,
                                   const char **bus_name, GError **error)
{
    if (a->type != DOMAIN_ADDRESS_PCI) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "%s: address type '%s' is not supported by ferry's QEMU command line", what,
                   domain_address_to_string(a->type));
        return FALSE;
    }
    if (a->u.pci.slot >= QEMU_PCI_SLOTS || a->u.pci.function > 7) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s: PCI slot 0x%x function 0x%x is out of range",
                   what, a->u.pci.slot, a->u.pci.function);
        return FALSE;
    }
    if (a->u.pci.domain == 0 && a->u.pci.bus == 0) {
        *bus_name = cmd->root_bus;
        return TRUE;
    }
    if (a->u.pci.domain == 0) {
        const DomainControllerDef *c =
            qemu_cmd_find_controller(cmd, DOMAIN_CONTROLLER_TYPE_PCI, a->u.pci.bus);

        if (c) {
            *bus_name = c->info.alias;
            return TRUE;
        }
    }
    ferry_fail(error, FERRY_ERR_NO_SUPPORT,
               "%s: PCI address %04x:%02x:%02x.%x is on a bus that no PCI controller provides",
               what, a->u.pci.domain, a->u.pci.bus, a->u.pci.slot, a->u.pci.function);
    return FALSE;
}

gboolean qemu_cmd_pci_address(QemuCmd *cmd, GString *buf, const char *what,
                              const DomainDeviceInfo *info, GError **error)
{
    const DomainDeviceAddress *a = &info->addr;
    const char *bus = NULL;
    unsigned int slot = 0;

    if (a->type == DOMAIN_ADDRESS_NONE) {
        while (slot < QEMU_PCI_SLOTS && (cmd->used_slots & (1u << slot)))
            slot++;
        if (slot == QEMU_PCI_SLOTS) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: no free PCI slot left on the root bus",
                       what);
            return FALSE;
        }
        cmd->used_slots |= 1u << slot;
        qemu_opt_str(buf, "bus", cmd->root_bus);
        g_string_append_printf(buf, ",addr=0x%x", slot);
        return TRUE;
    }
    if (!qemu_cmd_check_pci(cmd, what, a, &bus, error))
        return FALSE;
    qemu_opt_str(buf, "bus", bus);
    if (a->u.pci.function)
        g_string_append_printf(buf, ",addr=0x%x.0x%x", a->u.pci.slot, a->u.pci.function);
    else
        g_string_append_printf(buf, ",addr=0x%x", a->u.pci.slot);
    if (a->u.pci.multifunction != DOMAIN_TRISTATE_ABSENT)
        qemu_opt_bool(buf, "multifunction", a->u.pci.multifunction == DOMAIN_TRISTATE_ON);
    return TRUE;
}

/* Marks an explicit root bus address's slot as taken; refuses one that the
 * machine uses itself unless the device is part of it. */
static gboolean qemu_cmd_reserve_one(QemuCmd *cmd, const char *kind, const char *alias,
                                     const DomainDeviceInfo *info, gboolean builtin_ok,
                                     GError **error)
{
    const DomainDeviceAddress *a = &info->addr;
    g_autofree char *what = g_strdup_printf("%s '%s'", kind, alias ? alias : "?");
    const char *bus = NULL;

    if (a->type != DOMAIN_ADDRESS_PCI)
        return TRUE;
    if (!qemu_cmd_check_pci(cmd, what, a, &bus, error))
        return FALSE;
    if (a->u.pci.bus != 0)
        return TRUE;
    if (!builtin_ok && (cmd->builtin_slots & (1u << a->u.pci.slot))) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "%s: PCI slot 0x%x belongs to a built-in device of machine '%s'", what,
                   a->u.pci.slot, cmd->machine);
        return FALSE;
    }
    cmd->used_slots |= 1u << a->u.pci.slot;
    return TRUE;
}

#define RESERVE(kind, alias, info, builtin_ok) \
    do { \
        if (!qemu_cmd_reserve_one(cmd, (kind), (alias), (info), (builtin_ok), error)) \
            return FALSE; \
    } while (0)

gboolean qemu_cmd_reserve_pci_slots(QemuCmd *cmd, GError **error)
{
    const DomainDef *def = cmd->def;

    cmd->used_slots = cmd->builtin_slots;
    for (gsize i = 0; i < def->ncontrollers; i++) {
        const DomainControllerDef *c = def->controllers[i];
        gboolean builtin = c->type == DOMAIN_CONTROLLER_TYPE_USB ||
                           c->type == DOMAIN_CONTROLLER_TYPE_IDE ||
                           c->type == DOMAIN_CONTROLLER_TYPE_SATA;
        RESERVE("controller", c->info.alias, &c->info, builtin);
    }
    for (gsize i = 0; i < def->ndisks; i++)
        RESERVE("disk", def->disks[i]->target_dev, &def->disks[i]->info, FALSE);
    for (gsize i = 0; i < def->nnets; i++)
        RESERVE("interface", def->nets[i]->info.alias, &def->nets[i]->info, FALSE);
    for (gsize i = 0; i < def->nvideos; i++)
        RESERVE("video", def->videos[i]->info.alias, &def->videos[i]->info, FALSE);
    for (gsize i = 0; i < def->ninputs; i++)
        RESERVE("input", def->inputs[i]->info.alias, &def->inputs[i]->info, FALSE);
    for (gsize i = 0; i < def->nsounds; i++)
        RESERVE("sound", def->sounds[i]->info.alias, &def->sounds[i]->info, FALSE);
    for (gsize i = 0; i < def->nrngs; i++)
        RESERVE("rng", def->rngs[i]->info.alias, &def->rngs[i]->info, FALSE);
    if (def->watchdog)
        RESERVE("watchdog", def->watchdog->info.alias, &def->watchdog->info, FALSE);
    if (def->memballoon)
        RESERVE("memballoon", def->memballoon->info.alias, &def->memballoon->info, FALSE);
    return TRUE;
}

#undef RESERVE

/* ---------------------------------------------------------------- controllers */

/* PCI controller models: the QEMU device and which <target> values it
 * takes.  NULL device: built in (the root bus), nothing to add. */
typedef struct {
    const char *device;
    gboolean chassis_nr; /* pci-bridge: chassis_nr= */
    gboolean chassis_port; /* PCIe ports: chassis=, port= */
} QemuPciModelInfo;

static const QemuPciModelInfo pci_models[] = {
    [DOMAIN_PCI_MODEL_DEFAULT] = { NULL, FALSE, FALSE },
    [DOMAIN_PCI_MODEL_PCI_ROOT] = { NULL, FALSE, FALSE },
    [DOMAIN_PCI_MODEL_PCIE_ROOT] = { NULL, FALSE, FALSE },
    [DOMAIN_PCI_MODEL_PCI_BRIDGE] = { "pci-bridge", TRUE, FALSE },
    [DOMAIN_PCI_MODEL_DMI_TO_PCI_BRIDGE] = { "i82801b11-bridge", FALSE, FALSE },
    [DOMAIN_PCI_MODEL_PCIE_ROOT_PORT] = { "pcie-root-port", FALSE, TRUE },
    [DOMAIN_PCI_MODEL_PCIE_SWITCH_UPSTREAM_PORT] = { "x3130-upstream", FALSE, FALSE },
    [DOMAIN_PCI_MODEL_PCIE_SWITCH_DOWNSTREAM_PORT] = { "xio3130-downstream", FALSE, TRUE },
    [DOMAIN_PCI_MODEL_PCIE_TO_PCI_BRIDGE] = { "pcie-pci-bridge", FALSE, FALSE },
};
G_STATIC_ASSERT(G_N_ELEMENTS(pci_models) == DOMAIN_PCI_MODEL_LAST);

/* USB controller models ferry builds; NULL: refused (EHCI with its UHCI
 * companions is not built yet). */
static const char *const usb_models[] = {
    [DOMAIN_USB_MODEL_DEFAULT] = NULL,
    [DOMAIN_USB_MODEL_PIIX3_UHCI] = "piix3-usb-uhci",
    [DOMAIN_USB_MODEL_PIIX4_UHCI] = "piix4-usb-uhci",
    [DOMAIN_USB_MODEL_EHCI] = NULL,
    [DOMAIN_USB_MODEL_ICH9_EHCI1] = NULL,
    [DOMAIN_USB_MODEL_ICH9_UHCI1] = NULL,
    [DOMAIN_USB_MODEL_ICH9_UHCI2] = NULL,
    [DOMAIN_USB_MODEL_ICH9_UHCI3] = NULL,
    [DOMAIN_USB_MODEL_NEC_XHCI] = "nec-usb-xhci",
    [DOMAIN_USB_MODEL_QEMU_XHCI] = "qemu-xhci",
    [DOMAIN_USB_MODEL_NONE] = NULL,
};
G_STATIC_ASSERT(G_N_ELEMENTS(usb_models) == DOMAIN_USB_MODEL_LAST);

static const char *const scsi_models[] = {
    [DOMAIN_SCSI_MODEL_DEFAULT] = "virtio-scsi-pci",
    [DOMAIN_SCSI_MODEL_VIRTIO_SCSI] = "virtio-scsi-pci",
    [DOMAIN_SCSI_MODEL_LSILOGIC] = NULL,
    [DOMAIN_SCSI_MODEL_LSISAS1068] = NULL,
    [DOMAIN_SCSI_MODEL_LSISAS1078] = NULL,
};
G_STATIC_ASSERT(G_N_ELEMENTS(scsi_models) == DOMAIN_SCSI_MODEL_LAST);

static gboolean qemu_cmd_controller_unsupported(const char *what, const char *model, GError **error)
{
    ferry_fail(error, FERRY_ERR_NO_SUPPORT,
               "%s: model '%s' is not supported by ferry's QEMU command line", what, model);
    return FALSE;
}

/* The device and its properties for one controller; *device NULL: nothing
 * to add. */
static gboolean qemu_cmd_controller_device(QemuCmd *cmd, const DomainControllerDef *c,
                                           const char *what, GString *buf, GError **error)
{
    switch (c->type) {
    case DOMAIN_CONTROLLER_TYPE_PCI: {
        const QemuPciModelInfo *m = &pci_models[c->model];
        gboolean root = c->model == DOMAIN_PCI_MODEL_PCI_ROOT ||
                        c->model == DOMAIN_PCI_MODEL_PCIE_ROOT ||
                        (c->model == DOMAIN_PCI_MODEL_DEFAULT && c->index == 0);

        if (root) {
            gboolean pcie = cmd->family == QEMU_MACHINE_Q35;
            if (c->index != 0 || (c->model == DOMAIN_PCI_MODEL_PCI_ROOT && pcie) ||
                (c->model == DOMAIN_PCI_MODEL_PCIE_ROOT && !pcie)) {
                ferry_fail(error, FERRY_ERR_INVALID_ARG,
                           "%s: model '%s' index %u is not the root bus of machine '%s'", what,
                           domain_pci_model_to_string(c->model), c->index, cmd->machine);
                return FALSE;
            }
            return TRUE;
        }
        if (!m->device)
            return qemu_cmd_controller_unsupported(what, domain_pci_model_to_string(c->model),
                                                   error);
        g_string_append(buf, c->model_name ? c->model_name : m->device);
        if (m->chassis_nr)
            qemu_opt_uint(buf, "chassis_nr", c->chassis_nr >= 0 ? (guint)c->chassis_nr : c->index);
        if (m->chassis_port) {
            if (c->port >= 0)
                g_string_append_printf(buf, ",port=0x%x", (guint)c->port);
            qemu_opt_uint(buf, "chassis", c->chassis >= 0 ? (guint)c->chassis : c->index);
        }
        if (c->hotplug != DOMAIN_TRISTATE_ABSENT)
            qemu_opt_bool(buf, "hotplug", c->hotplug == DOMAIN_TRISTATE_ON);
        return TRUE;
    }
    case DOMAIN_CONTROLLER_TYPE_USB:
        if (c->model == DOMAIN_USB_MODEL_NONE)
            return TRUE;
        if (!usb_models[c->model])
            return qemu_cmd_controller_unsupported(what, domain_usb_model_to_string(c->model),
                                                   error);
        g_string_append(buf, usb_models[c->model]);
        if (c->ports &&
            (c->model == DOMAIN_USB_MODEL_QEMU_XHCI || c->model == DOMAIN_USB_MODEL_NEC_XHCI)) {
            qemu_opt_uint(buf, "p2", c->ports);
            qemu_opt_uint(buf, "p3", c->ports);
        }
        return TRUE;
    case DOMAIN_CONTROLLER_TYPE_IDE:
    case DOMAIN_CONTROLLER_TYPE_SATA: {
        gboolean ide = c->type == DOMAIN_CONTROLLER_TYPE_IDE;

        if (c->index != 0 || ide != (cmd->family == QEMU_MACHINE_I440FX)) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "%s: only the built-in %s controller (index 0) of machine '%s' is "
                       "supported by ferry's QEMU command line",
                       what, cmd->family == QEMU_MACHINE_I440FX ? "IDE" : "SATA", cmd->machine);
            return FALSE;
        }
        return TRUE; /* part of the chipset */
    }
    case DOMAIN_CONTROLLER_TYPE_SCSI:
        if (!scsi_models[c->model])
            return qemu_cmd_controller_unsupported(what, domain_scsi_model_to_string(c->model),
                                                   error);
        g_string_append(buf, scsi_models[c->model]);
        return TRUE;
    case DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL:
        g_string_append(buf, "virtio-serial-pci");
        if (c->ports)
            qemu_opt_uint(buf, "max_ports", c->ports);
        if (c->vectors)
            qemu_opt_uint(buf, "vectors", c->vectors);
        return TRUE;
    case DOMAIN_CONTROLLER_TYPE_LAST:
        break;
    }
    g_assert_not_reached();
}

static gboolean qemu_cmd_build_controller(QemuCmd *cmd, const DomainControllerDef *c,
                                          GError **error)
{
    g_autofree char *what = g_strdup_printf("controller '%s'", c->info.alias);
    g_autoptr(GString) buf = g_string_new(NULL);
    DomainDeviceInfo info = c->info;

    if (qemu_controller_is_companion(c)) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "%s: USB companion controllers are not supported by ferry's QEMU command line",
                   what);
        return FALSE;
    }
    if (!qemu_cmd_controller_device(cmd, c, what, buf, error))
        return FALSE;
    if (!buf->len)
        return TRUE;
    if (!qemu_cmd_check_id(what, c->info.alias, error))
        return FALSE;
    qemu_opt_str(buf, "id", c->info.alias);
    /* libvirt's place for the PIIX3 UHCI: function 2 of the PIIX3 slot. */
    if (info.addr.type == DOMAIN_ADDRESS_NONE && c->type == DOMAIN_CONTROLLER_TYPE_USB &&
        c->model == DOMAIN_USB_MODEL_PIIX3_UHCI && cmd->family == QEMU_MACHINE_I440FX) {
        info.addr.type = DOMAIN_ADDRESS_PCI;
        info.addr.u.pci.slot = 1;
        info.addr.u.pci.function = 2;
    }
    if (!qemu_cmd_pci_address(cmd, buf, what, &info, error))
        return FALSE;
    qemu_cmd_add_pair(cmd, "-device", buf->str);
    return TRUE;
}

static gboolean qemu_cmd_needs_controller(const DomainDef *def, DomainControllerType type)
{
    if (type == DOMAIN_CONTROLLER_TYPE_SCSI) {
        for (gsize i = 0; i < def->ndisks; i++) {
            if (def->disks[i]->bus == DOMAIN_DISK_BUS_SCSI)
                return TRUE;
        }
        return FALSE;
    }
    for (gsize i = 0; i < def->nconsoles; i++) {
        if (def->consoles[i]->target == DOMAIN_CHR_TARGET_VIRTIO)
            return TRUE;
    }
    return def->nchannels > 0;
}

gboolean qemu_cmd_build_controllers(QemuCmd *cmd, GError **error)
{
    /* PCI controllers first: the others may sit on their buses. */
    for (int pass = 0; pass < 2; pass++) {
        for (gsize i = 0; i < cmd->def->ncontrollers; i++) {
            const DomainControllerDef *c = cmd->def->controllers[i];

            if ((c->type == DOMAIN_CONTROLLER_TYPE_PCI) != (pass == 0))
                continue;
            if (!qemu_cmd_build_controller(cmd, c, error))
                return FALSE;
        }
    }
    for (gsize i = 0; i < G_N_ELEMENTS(implicit_controllers); i++) {
        g_autofree char *what = NULL;
        g_autoptr(GString) buf = NULL;
        DomainDeviceInfo none = { 0 };

        if (!qemu_cmd_needs_controller(cmd->def, implicit_controllers[i].type) ||
            qemu_cmd_find_controller(cmd, implicit_controllers[i].type, 0))
            continue;
        what = g_strdup_printf("controller '%s'", implicit_controllers[i].alias);
        buf = g_string_new(implicit_controllers[i].device);
        qemu_opt_str(buf, "id", implicit_controllers[i].alias);
        if (!qemu_cmd_pci_address(cmd, buf, what, &none, error))
            return FALSE;
        qemu_cmd_add_pair(cmd, "-device", buf->str);
    }
    return TRUE;
}
