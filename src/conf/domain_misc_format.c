/*
 * domain_misc_format.c: writing controllers and the smaller devices
 * (channel, input, sound, audio, redirdev, watchdog, rng), in libvirt's
 * element and attribute order.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.domain"

#include "util/error.h"
#include "util/log.h"
#include "conf/domain_priv.h"

static const char *domain_controller_model_string(const DomainControllerDef *controller)
{
    if (!controller->model)
        return NULL;
    switch (controller->type) {
    case DOMAIN_CONTROLLER_TYPE_PCI:
        return domain_pci_model_to_string(controller->model);
    case DOMAIN_CONTROLLER_TYPE_USB:
        return domain_usb_model_to_string(controller->model);
    case DOMAIN_CONTROLLER_TYPE_SCSI:
        return domain_scsi_model_to_string(controller->model);
    case DOMAIN_CONTROLLER_TYPE_IDE:
    case DOMAIN_CONTROLLER_TYPE_SATA:
    case DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL:
        return NULL;
    case DOMAIN_CONTROLLER_TYPE_LAST:
        break;
    }
    g_assert_not_reached();
}

void domain_format_controller(const DomainControllerDef *controller, xmlNode *devices)
{
    xmlNode *node = xml_new_child(devices, "controller");

    xml_set_prop(node, "type", domain_controller_type_to_string(controller->type));
    xml_set_propf(node, "index", "%u", controller->index);
    xml_set_prop(node, "model", domain_controller_model_string(controller));
    if (controller->ports)
        xml_set_propf(node, "ports", "%u", controller->ports);
    if (controller->vectors)
        xml_set_propf(node, "vectors", "%u", controller->vectors);
    if (controller->model_name)
        xml_set_prop(xml_new_child(node, "model"), "name", controller->model_name);
    if (controller->chassis_nr >= 0 || controller->chassis >= 0 || controller->port >= 0 ||
        controller->hotplug != DOMAIN_TRISTATE_ABSENT) {
        xmlNode *target = xml_new_child(node, "target");

        if (controller->chassis_nr >= 0)
            xml_set_propf(target, "chassisNr", "%d", controller->chassis_nr);
        if (controller->chassis >= 0)
            xml_set_propf(target, "chassis", "%d", controller->chassis);
        if (controller->port >= 0)
            xml_set_propf(target, "port", "0x%x", (unsigned int)controller->port);
        if (controller->hotplug != DOMAIN_TRISTATE_ABSENT)
            xml_set_prop(target, "hotplug", domain_tristate_to_string(controller->hotplug));
    }
    /* libvirt's order: alias, master, address. */
    if (controller->info.alias)
        xml_set_prop(xml_new_child(node, "alias"), "name", controller->info.alias);
    if (controller->master_startport >= 0)
        xml_set_propf(xml_new_child(node, "master"), "startport", "%d",
                      controller->master_startport);
    domain_format_address(&controller->info.addr, node);
}

void domain_format_channel(const DomainChannelDef *channel, xmlNode *devices, unsigned int flags)
{
    xmlNode *node = xml_new_child(devices, "channel");
    gboolean migratable = (flags & DOMAIN_FORMAT_MIGRATABLE) != 0;

    xml_set_prop(node, "type", domain_channel_type_to_string(channel->type));
    if (channel->type == DOMAIN_CHANNEL_UNIX) {
        xmlNode *source = xml_new_child(node, "source");

        xml_set_prop(source, "mode", "bind");
        /* A socket libvirt named itself is chosen again at start. */
        if (channel->path && !(migratable && domain_channel_path_is_generated(channel->path)))
            xml_set_prop(source, "path", channel->path);
    }
    xmlNode *target = xml_new_child(node, "target");
    xml_set_prop(target, "type", "virtio");
    xml_set_prop(target, "name", channel->target_name);
    if (channel->state != DOMAIN_CHANNEL_STATE_DEFAULT && !migratable)
        xml_set_prop(target, "state", domain_channel_state_to_string(channel->state));
    domain_format_info(&channel->info, node);
}

void domain_format_input(const DomainInputDef *input, xmlNode *devices)
{
    xmlNode *node = xml_new_child(devices, "input");

    xml_set_prop(node, "type", domain_input_type_to_string(input->type));
    xml_set_prop(node, "bus", domain_input_bus_to_string(input->bus));
    domain_format_info(&input->info, node);
}

void domain_format_sound(const DomainSoundDef *sound, xmlNode *devices)
{
    xmlNode *node = xml_new_child(devices, "sound");

    xml_set_prop(node, "model", domain_sound_model_to_string(sound->model));
    domain_format_info(&sound->info, node);
}

void domain_format_audio(const DomainAudioDef *audio, xmlNode *devices)
{
    xmlNode *node = xml_new_child(devices, "audio");

    xml_set_propf(node, "id", "%u", audio->id);
    xml_set_prop(node, "type", domain_audio_type_to_string(audio->type));
}

void domain_format_redirdev(const DomainRedirdevDef *redirdev, xmlNode *devices)
{
    xmlNode *node = xml_new_child(devices, "redirdev");

    xml_set_prop(node, "bus", "usb");
    xml_set_prop(node, "type", "spicevmc");
    domain_format_info(&redirdev->info, node);
}

void domain_format_watchdog(const DomainWatchdogDef *watchdog, xmlNode *devices)
{
    xmlNode *node = xml_new_child(devices, "watchdog");

    xml_set_prop(node, "model", domain_watchdog_model_to_string(watchdog->model));
    xml_set_prop(node, "action", domain_watchdog_action_to_string(watchdog->action));
    domain_format_info(&watchdog->info, node);
}

void domain_format_rng(const DomainRngDef *rng, xmlNode *devices)
{
    xmlNode *node = xml_new_child(devices, "rng");

    xml_set_prop(node, "model", "virtio");
    xml_set_prop(xml_new_text_child(node, "backend", rng->backend), "model", "random");
    domain_format_info(&rng->info, node);
}
