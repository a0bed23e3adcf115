/*
 * domain_devices_format.c: writing <devices>, in libvirt's order: emulator,
 * disks, controllers, interfaces, serials, consoles, channels, inputs,
 * graphics, sounds, audios, videos, redirdevs, watchdog, memballoon, rngs
 * (the newer kinds are in domain_misc_format.c).
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.domain"

#include "util/error.h"
#include "util/log.h"
#include "conf/domain_priv.h"

void domain_format_address(const DomainDeviceAddress *addr, xmlNode *parent)
{
    xmlNode *node;

    switch (addr->type) {
    case DOMAIN_ADDRESS_NONE:
        return;
    case DOMAIN_ADDRESS_PCI:
        node = xml_new_child(parent, "address");
        xml_set_prop(node, "type", "pci");
        xml_set_propf(node, "domain", "0x%04x", addr->u.pci.domain);
        xml_set_propf(node, "bus", "0x%02x", addr->u.pci.bus);
        xml_set_propf(node, "slot", "0x%02x", addr->u.pci.slot);
        xml_set_propf(node, "function", "0x%x", addr->u.pci.function);
        if (addr->u.pci.multifunction != DOMAIN_TRISTATE_ABSENT)
            xml_set_prop(node, "multifunction",
                         domain_tristate_to_string(addr->u.pci.multifunction));
        return;
    case DOMAIN_ADDRESS_DRIVE:
        node = xml_new_child(parent, "address");
        xml_set_prop(node, "type", "drive");
        xml_set_propf(node, "controller", "%u", addr->u.drive.controller);
        xml_set_propf(node, "bus", "%u", addr->u.drive.bus);
        xml_set_propf(node, "target", "%u", addr->u.drive.target);
        xml_set_propf(node, "unit", "%u", addr->u.drive.unit);
        return;
    case DOMAIN_ADDRESS_VIRTIO_SERIAL:
        node = xml_new_child(parent, "address");
        xml_set_prop(node, "type", "virtio-serial");
        xml_set_propf(node, "controller", "%u", addr->u.vioserial.controller);
        xml_set_propf(node, "bus", "%u", addr->u.vioserial.bus);
        xml_set_propf(node, "port", "%u", addr->u.vioserial.port);
        return;
    case DOMAIN_ADDRESS_USB:
        node = xml_new_child(parent, "address");
        xml_set_prop(node, "type", "usb");
        xml_set_propf(node, "bus", "%u", addr->u.usb.bus);
        if (addr->u.usb.port)
            xml_set_propf(node, "port", "%u", addr->u.usb.port);
        return;
    case DOMAIN_ADDRESS_LAST:
        break;
    }
    g_assert_not_reached();
}

void domain_format_info(const DomainDeviceInfo *info, xmlNode *parent)
{
    if (info->boot_order)
        xml_set_propf(xml_new_child(parent, "boot"), "order", "%u", info->boot_order);
    if (info->alias)
        xml_set_prop(xml_new_child(parent, "alias"), "name", info->alias);
    domain_format_address(&info->addr, parent);
}

static void domain_format_disk(const DomainDiskDef *disk, xmlNode *devices)
{
    xmlNode *node = xml_new_child(devices, "disk");

    xml_set_prop(node, "type", domain_disk_type_to_string(disk->type));
    xml_set_prop(node, "device", domain_disk_device_to_string(disk->device));
    if (disk->driver_name || disk->format != DOMAIN_DISK_FORMAT_DEFAULT ||
        disk->cache != DOMAIN_DISK_CACHE_DEFAULT || disk->discard != DOMAIN_DISK_DISCARD_DEFAULT) {
        xmlNode *driver = xml_new_child(node, "driver");

        xml_set_prop(driver, "name", disk->driver_name);
        if (disk->format != DOMAIN_DISK_FORMAT_DEFAULT)
            xml_set_prop(driver, "type", domain_disk_format_to_string(disk->format));
        if (disk->cache != DOMAIN_DISK_CACHE_DEFAULT)
            xml_set_prop(driver, "cache", domain_disk_cache_to_string(disk->cache));
        if (disk->discard != DOMAIN_DISK_DISCARD_DEFAULT)
            xml_set_prop(driver, "discard", domain_disk_discard_to_string(disk->discard));
    }
    if (disk->src)
        xml_set_prop(xml_new_child(node, "source"),
                     disk->type == DOMAIN_DISK_TYPE_FILE ? "file" : "dev", disk->src);
    xmlNode *target = xml_new_child(node, "target");
    xml_set_prop(target, "dev", disk->target_dev);
    xml_set_prop(target, "bus", domain_disk_bus_to_string(disk->bus));
    if (disk->readonly)
        xml_new_child(node, "readonly");
    if (disk->shareable)
        xml_new_child(node, "shareable");
    domain_format_info(&disk->info, node);
}

static void domain_format_net(const DomainNetDef *net, xmlNode *devices, unsigned int flags)
{
    xmlNode *node = xml_new_child(devices, "interface");
    char mac[DOMAIN_MAC_STRING_BUFLEN];

    xml_set_prop(node, "type", domain_net_type_to_string(net->type));
    xml_set_prop(xml_new_child(node, "mac"), "address", domain_mac_format(net->mac, mac));
    if (net->type == DOMAIN_NET_TYPE_NETWORK)
        xml_set_prop(xml_new_child(node, "source"), "network", net->source);
    else if (net->type == DOMAIN_NET_TYPE_BRIDGE)
        xml_set_prop(xml_new_child(node, "source"), "bridge", net->source);
    /* A tap the host chose is the host's business, not the guest's. */
    gboolean host_chosen = net->type != DOMAIN_NET_TYPE_ETHERNET ||
                           (net->target_dev && g_str_has_prefix(net->target_dev, "vnet"));
    if (net->target_dev && !(host_chosen && (flags & DOMAIN_FORMAT_MIGRATABLE)))
        xml_set_prop(xml_new_child(node, "target"), "dev", net->target_dev);
    xml_set_prop(xml_new_child(node, "model"), "type", domain_net_model_to_string(net->model));
    domain_format_info(&net->info, node);
}

static void domain_format_chr(const DomainChrDef *chr, xmlNode *devices, unsigned int flags)
{
    gboolean console = chr->target != DOMAIN_CHR_TARGET_ISA_SERIAL;
    xmlNode *node = xml_new_child(devices, console ? "console" : "serial");
    xmlNode *source = NULL;

    xml_set_prop(node, "type", domain_chr_type_to_string(chr->type));
    switch (chr->type) {
    case DOMAIN_CHR_TYPE_NULL:
        break;
    case DOMAIN_CHR_TYPE_PTY:
        /* The pty is allocated at start: runtime data. */
        if (chr->path && !(flags & DOMAIN_FORMAT_MIGRATABLE))
            xml_set_prop(xml_new_child(node, "source"), "path", chr->path);
        break;
    case DOMAIN_CHR_TYPE_FILE:
        source = xml_new_child(node, "source");
        xml_set_prop(source, "path", chr->path);
        if (chr->append != DOMAIN_TRISTATE_ABSENT)
            xml_set_prop(source, "append", domain_tristate_to_string(chr->append));
        break;
    case DOMAIN_CHR_TYPE_UNIX:
        source = xml_new_child(node, "source");
        xml_set_prop(source, "mode", chr->listen ? "bind" : "connect");
        xml_set_prop(source, "path", chr->path);
        break;
    case DOMAIN_CHR_TYPE_LAST:
        g_assert_not_reached();
    }
    xmlNode *target = xml_new_child(node, "target");
    xml_set_prop(target, "type", domain_chr_target_to_string(chr->target));
    xml_set_propf(target, "port", "%u", chr->port);
    if (!console)
        xml_set_prop(xml_new_child(target, "model"), "name", "isa-serial");
    domain_format_info(&chr->info, node);
}

static void domain_format_graphics(const DomainGraphicsDef *graphics, xmlNode *devices,
                                   unsigned int flags)
{
    xmlNode *node = xml_new_child(devices, "graphics");
    /* Automatic ports are chosen at start: runtime data. */
    gboolean ports = !(graphics->autoport && (flags & DOMAIN_FORMAT_MIGRATABLE));

    xml_set_prop(node, "type", domain_graphics_to_string(graphics->type));
    if (ports && graphics->port >= 0)
        xml_set_propf(node, "port", "%d", graphics->port);
    if (ports && graphics->type == DOMAIN_GRAPHICS_SPICE && graphics->tls_port >= 0)
        xml_set_propf(node, "tlsPort", "%d", graphics->tls_port);
    xml_set_prop(node, "autoport", graphics->autoport ? "yes" : "no");
    if (graphics->listen)
        xml_set_prop(node, "listen", graphics->listen);
    if (graphics->passwd && (flags & DOMAIN_FORMAT_SECURE))
        xml_set_prop(node, "passwd", graphics->passwd);
    xml_set_prop(node, "keymap", graphics->keymap);
    if (graphics->listen) {
        xmlNode *listen = xml_new_child(node, "listen");

        xml_set_prop(listen, "type", "address");
        xml_set_prop(listen, "address", graphics->listen);
    }
    if (graphics->image != DOMAIN_GRAPHICS_IMAGE_DEFAULT)
        xml_set_prop(xml_new_child(node, "image"), "compression",
                     domain_graphics_image_to_string(graphics->image));
}

static void domain_format_video(const DomainVideoDef *video, xmlNode *devices)
{
    xmlNode *node = xml_new_child(devices, "video");
    xmlNode *model = xml_new_child(node, "model");

    xml_set_prop(model, "type", domain_video_to_string(video->model));
    if (video->ram)
        xml_set_propf(model, "ram", "%u", video->ram);
    if (video->vram)
        xml_set_propf(model, "vram", "%u", video->vram);
    if (video->vgamem)
        xml_set_propf(model, "vgamem", "%u", video->vgamem);
    if (video->heads)
        xml_set_propf(model, "heads", "%u", video->heads);
    if (video->primary)
        xml_set_prop(model, "primary", "yes");
    domain_format_info(&video->info, node);
}

void domain_devices_format(const DomainDef *def, xmlNode *domain, unsigned int flags)
{
    xmlNode *devices = xml_new_child(domain, "devices");

    if (def->emulator)
        xml_new_text_child(devices, "emulator", def->emulator);
    for (size_t i = 0; i < def->ndisks; i++)
        domain_format_disk(def->disks[i], devices);
    for (size_t i = 0; i < def->ncontrollers; i++)
        domain_format_controller(def->controllers[i], devices);
    for (size_t i = 0; i < def->nnets; i++)
        domain_format_net(def->nets[i], devices, flags);
    for (size_t i = 0; i < def->nserials; i++)
        domain_format_chr(def->serials[i], devices, flags);
    for (size_t i = 0; i < def->nconsoles; i++)
        domain_format_chr(def->consoles[i], devices, flags);
    for (size_t i = 0; i < def->nchannels; i++)
        domain_format_channel(def->channels[i], devices, flags);
    for (size_t i = 0; i < def->ninputs; i++)
        domain_format_input(def->inputs[i], devices);
    for (size_t i = 0; i < def->ngraphics; i++)
        domain_format_graphics(def->graphics[i], devices, flags);
    for (size_t i = 0; i < def->nsounds; i++)
        domain_format_sound(def->sounds[i], devices);
    for (size_t i = 0; i < def->naudios; i++)
        domain_format_audio(def->audios[i], devices);
    for (size_t i = 0; i < def->nvideos; i++)
        domain_format_video(def->videos[i], devices);
    for (size_t i = 0; i < def->nredirdevs; i++)
        domain_format_redirdev(def->redirdevs[i], devices);
    if (def->watchdog)
        domain_format_watchdog(def->watchdog, devices);

    xmlNode *balloon = xml_new_child(devices, "memballoon");
    xml_set_prop(balloon, "model", domain_balloon_to_string(def->memballoon->model));
    if (def->memballoon->stats_period)
        xml_set_propf(xml_new_child(balloon, "stats"), "period", "%u",
                      def->memballoon->stats_period);
    domain_format_info(&def->memballoon->info, balloon);
    for (size_t i = 0; i < def->nrngs; i++)
        domain_format_rng(def->rngs[i], devices);
}
