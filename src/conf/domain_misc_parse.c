/*
 * domain_misc_parse.c: reading the smaller devices libvirt tools write for
 * every guest (input, channel, sound, audio, rng, watchdog, redirdev) and
 * the top-level <seclabel> and <resource>.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.domain"

#include "util/error.h"
#include "util/log.h"
#include "conf/domain_priv.h"

/* Where libvirt puts the sockets of unix channels it names itself. */
static const char *const domain_channel_generated_dirs[] = {
    "/run/libvirt/qemu/channel/",
    "/var/run/libvirt/qemu/channel/",
    "/var/lib/libvirt/qemu/channel/",
};

gboolean domain_channel_path_is_generated(const char *path)
{
    for (size_t i = 0; path && i < G_N_ELEMENTS(domain_channel_generated_dirs); i++) {
        if (g_str_has_prefix(path, domain_channel_generated_dirs[i]))
            return TRUE;
    }
    return FALSE;
}

/* Reads a required enum attribute: "<what> has no attr" when absent. */
static gboolean domain_xml_enum_required(xmlNode *node, const char *what, const char *attr,
                                         DomainEnumToString to_string, int first, int last,
                                         int *out, GError **error)
{
    int rc = domain_xml_enum_supported(node, what, attr, to_string, first, last, out, error);

    if (rc < 0)
        return FALSE;
    if (rc == 0)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <%s> has no %s", what, attr);
    return TRUE;
}

/* ---------------------------------------------------------------- input */

DomainInputDef *domain_parse_input(xmlNode *node, GError **error)
{
    static const char *const children[] = { "alias", "address", NULL };
    static const DomainAddressType addresses[] = {
        [DOMAIN_INPUT_BUS_PS2] = DOMAIN_ADDRESS_NONE,
        [DOMAIN_INPUT_BUS_USB] = DOMAIN_ADDRESS_USB,
        [DOMAIN_INPUT_BUS_VIRTIO] = DOMAIN_ADDRESS_PCI,
    };
    G_STATIC_ASSERT(G_N_ELEMENTS(addresses) == DOMAIN_INPUT_BUS_LAST);
    g_autoptr(DomainInputDef) input = g_new0(DomainInputDef, 1);
    int type = 0, bus = 0;

    if (!domain_xml_enum_required(node, "input", "type", domain_input_type_to_string, 0,
                                  DOMAIN_INPUT_LAST, &type, error))
        return NULL;
    input->type = type;
    if (!domain_xml_check_children(node, "<input>", children, error))
        return NULL;
    g_autofree char *model = xml_prop(node, "model");
    if (model)
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <input model='%s'> is not supported by ferry", model);
    /* libvirt's default bus on x86: ps2 for mouse and keyboard, usb for a
     * tablet. */
    int rc = domain_xml_enum_supported(node, "input", "bus", domain_input_bus_to_string, 0,
                                       DOMAIN_INPUT_BUS_LAST, &bus, error);
    if (rc < 0)
        return NULL;
    if (rc == 0)
        bus = input->type == DOMAIN_INPUT_TABLET ? DOMAIN_INPUT_BUS_USB : DOMAIN_INPUT_BUS_PS2;
    input->bus = bus;
    if (input->type == DOMAIN_INPUT_TABLET && input->bus == DOMAIN_INPUT_BUS_PS2)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <input type='tablet' bus='ps2'>: a tablet is on usb "
                                           "or virtio");
    if (!domain_parse_info(&input->info, node, "input", addresses[input->bus], FALSE, error))
        return NULL;
    return g_steal_pointer(&input);
}

/* ---------------------------------------------------------------- channel */

static gboolean domain_channel_name_valid(const char *name)
{
    size_t len = strlen(name);

    return len > 0 && len <= 128 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

DomainChannelDef *domain_parse_channel(xmlNode *node, const DomainParseCtx *ctx, GError **error)
{
    static const char *const children[] = { "source", "target", "alias", "address", NULL };
    g_autoptr(DomainChannelDef) channel = g_new0(DomainChannelDef, 1);
    int v = 0;

    if (!domain_xml_enum_required(node, "channel", "type", domain_channel_type_to_string, 0,
                                  DOMAIN_CHANNEL_LAST, &v, error))
        return NULL;
    channel->type = v;
    if (!domain_xml_check_children(node, "<channel>", children, error))
        return NULL;

    xmlNode *source = xml_child(node, "source");
    if (source && channel->type == DOMAIN_CHANNEL_SPICEVMC)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <channel type='spicevmc'> takes no <source>");
    if (source) {
        g_autofree char *mode = xml_prop(source, "mode");

        if (xml_first_element(source))
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <channel><source><%s> is not supported by ferry",
                                    xml_first_element(source)->name);
        if (mode && !g_str_equal(mode, "bind"))
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <channel type='unix'><source mode='%s'> is not "
                                               "supported by ferry (only 'bind': QEMU listens)",
                                    mode);
        channel->path = xml_prop(source, "path");
        if (channel->path && !domain_path_valid(source, "path", channel->path, error))
            return NULL;
        /* A path libvirt generated is the host's business. */
        if ((ctx->flags & DOMAIN_PARSE_INACTIVE) && domain_channel_path_is_generated(channel->path))
            g_clear_pointer(&channel->path, g_free);
    }

    xmlNode *target = xml_child(node, "target");
    if (!target)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <channel> needs <target type='virtio' name=...>");
    g_autofree char *ttype = xml_prop(target, "type");
    if (!ttype || !g_str_equal(ttype, "virtio"))
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <channel><target type='%s'> is not supported by "
                                           "ferry (only 'virtio')",
                                ttype ? ttype : "");
    channel->target_name = xml_prop(target, "name");
    if (!channel->target_name && channel->type == DOMAIN_CHANNEL_SPICEVMC)
        channel->target_name = g_strdup("com.redhat.spice.0"); /* as libvirt */
    if (!channel->target_name)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <channel type='unix'><target type='virtio'> needs a "
                                           "name (org.qemu.guest_agent.0 for the guest agent)");
    if (!domain_channel_name_valid(channel->target_name))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <channel><target name='%s'>: expected 1 to 128 of "
                                           "a-z, A-Z, 0-9, '.', '_', '-'",
                                channel->target_name);
    v = 0;
    if (domain_xml_enum(target, "state", domain_channel_state_to_string, 1,
                        DOMAIN_CHANNEL_STATE_LAST, &v, error) < 0)
        return NULL;
    channel->state = (ctx->flags & DOMAIN_PARSE_INACTIVE) ? DOMAIN_CHANNEL_STATE_DEFAULT : v;
    if (!domain_parse_info(&channel->info, node, "channel", DOMAIN_ADDRESS_VIRTIO_SERIAL, FALSE,
                           error))
        return NULL;
    return g_steal_pointer(&channel);
}

/* ---------------------------------------------------------------- sound, audio */

DomainSoundDef *domain_parse_sound(xmlNode *node, GError **error)
{
    static const char *const children[] = { "alias", "address", NULL };
    g_autoptr(DomainSoundDef) sound = g_new0(DomainSoundDef, 1);
    int v = 0;

    if (!domain_xml_enum_required(node, "sound", "model", domain_sound_model_to_string, 0,
                                  DOMAIN_SOUND_LAST, &v, error))
        return NULL;
    sound->model = v;
    /* <codec> and <audio id> are refused here, by name. */
    if (!domain_xml_check_children(node, "<sound>", children, error))
        return NULL;
    if (!domain_parse_info(&sound->info, node, "sound", DOMAIN_ADDRESS_PCI, FALSE, error))
        return NULL;
    return g_steal_pointer(&sound);
}

DomainAudioDef *domain_parse_audio(xmlNode *node, GError **error)
{
    static const char *const children[] = { NULL };
    g_autoptr(DomainAudioDef) audio = g_new0(DomainAudioDef, 1);
    int v = 0;

    if (!domain_xml_enum_required(node, "audio", "type", domain_audio_type_to_string, 0,
                                  DOMAIN_AUDIO_LAST, &v, error))
        return NULL;
    audio->type = v;
    if (!domain_xml_check_children(node, "<audio>", children, error))
        return NULL;
    int rc = domain_xml_number(node, "id", G_MAXINT32, &audio->id, error);
    if (rc < 0)
        return NULL;
    if (rc == 0 || audio->id == 0)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <audio> needs an id from 1 (libvirt's first is "
                                           "id='1')");
    for (xmlAttr *attr = node->properties; attr; attr = attr->next) {
        if (!g_str_equal((const char *)attr->name, "id") &&
            !g_str_equal((const char *)attr->name, "type"))
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <audio %s=...> is not supported by ferry",
                                    attr->name);
    }
    return g_steal_pointer(&audio);
}

/* ---------------------------------------------------------------- rng, watchdog, redirdev */

DomainRngDef *domain_parse_rng(xmlNode *node, GError **error)
{
    static const char *const children[] = { "backend", "alias", "address", NULL };
    g_autoptr(DomainRngDef) rng = g_new0(DomainRngDef, 1);
    g_autofree char *model = xml_prop(node, "model");

    if (!model)
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": <rng> has no model");
    if (!g_str_equal(model, "virtio"))
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <rng model='%s'> is not supported by ferry (only "
                                           "'virtio')",
                                model);
    if (!domain_xml_check_children(node, "<rng>", children, error))
        return NULL;
    xmlNode *backend = xml_child(node, "backend");
    if (!backend)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <rng> needs <backend model='random'>");
    g_autofree char *bmodel = xml_prop(backend, "model");
    if (g_strcmp0(bmodel, "random") != 0)
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <rng><backend model='%s'> is not supported by ferry "
                                           "(only 'random')",
                                bmodel ? bmodel : "");
    if (xml_first_element(backend))
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <rng><backend><%s> is not supported by ferry",
                                xml_first_element(backend)->name);
    rng->backend = xml_text(backend);
    if (!rng->backend[0])
        g_clear_pointer(&rng->backend, g_free);
    if (!rng->backend)
        rng->backend = g_strdup("/dev/urandom"); /* libvirt's default */
    if (!g_path_is_absolute(rng->backend))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <rng><backend>%s</backend>: expected an absolute "
                                           "path",
                                rng->backend);
    if (!domain_parse_info(&rng->info, node, "rng", DOMAIN_ADDRESS_PCI, FALSE, error))
        return NULL;
    return g_steal_pointer(&rng);
}

DomainWatchdogDef *domain_parse_watchdog(xmlNode *node, GError **error)
{
    static const char *const children[] = { "alias", "address", NULL };
    g_autoptr(DomainWatchdogDef) watchdog = g_new0(DomainWatchdogDef, 1);
    int v = 0;

    if (!domain_xml_enum_required(node, "watchdog", "model", domain_watchdog_model_to_string, 0,
                                  DOMAIN_WATCHDOG_LAST, &v, error))
        return NULL;
    watchdog->model = v;
    if (!domain_xml_check_children(node, "<watchdog>", children, error))
        return NULL;
    v = DOMAIN_WATCHDOG_ACTION_RESET; /* libvirt's default */
    if (domain_xml_enum_supported(node, "watchdog", "action", domain_watchdog_action_to_string, 0,
                                  DOMAIN_WATCHDOG_ACTION_LAST, &v, error) < 0)
        return NULL;
    watchdog->action = v;
    /* i6300esb is a PCI card, ib700 sits on ISA.  (libvirt 9.0's schema
     * has no itco.) */
    if (!domain_parse_info(&watchdog->info, node, "watchdog",
                           watchdog->model == DOMAIN_WATCHDOG_I6300ESB ? DOMAIN_ADDRESS_PCI
                                                                       : DOMAIN_ADDRESS_NONE,
                           FALSE, error))
        return NULL;
    return g_steal_pointer(&watchdog);
}

DomainRedirdevDef *domain_parse_redirdev(xmlNode *node, GError **error)
{
    static const char *const children[] = { "alias", "address", "boot", NULL };
    g_autoptr(DomainRedirdevDef) redirdev = g_new0(DomainRedirdevDef, 1);
    g_autofree char *bus = xml_prop(node, "bus");
    g_autofree char *type = xml_prop(node, "type");

    if (bus && !g_str_equal(bus, "usb"))
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <redirdev bus='%s'> is not supported by ferry (only "
                                           "'usb')",
                                bus);
    if (g_strcmp0(type, "spicevmc") != 0)
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <redirdev type='%s'> is not supported by ferry (only "
                                           "'spicevmc')",
                                type ? type : "");
    if (!domain_xml_check_children(node, "<redirdev>", children, error))
        return NULL;
    if (!domain_parse_info(&redirdev->info, node, "redirdev", DOMAIN_ADDRESS_USB, TRUE, error))
        return NULL;
    return g_steal_pointer(&redirdev);
}

/* ---------------------------------------------------------------- after parsing */

static gboolean domain_has_spice(const DomainDef *def)
{
    for (size_t i = 0; i < def->ngraphics; i++) {
        if (def->graphics[i]->type == DOMAIN_GRAPHICS_SPICE)
            return TRUE;
    }
    return FALSE;
}

/* A device on a bus that the definition lists no controller for. */
static gboolean domain_check_bus(const DomainDef *def, const DomainDeviceInfo *info,
                                 const char *what, GError **error)
{
    const DomainDeviceAddress *a = &info->addr;

    if (a->type == DOMAIN_ADDRESS_PCI &&
        !domain_controller_bus_exists(def, DOMAIN_CONTROLLER_TYPE_PCI, a->u.pci.bus))
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <%s> '%s' is on PCI bus 0x%02x, and there is no "
                                      "<controller type='pci' index='%u'>",
                           what, info->alias, a->u.pci.bus, a->u.pci.bus);
    if (a->type == DOMAIN_ADDRESS_VIRTIO_SERIAL &&
        !domain_controller_bus_exists(def, DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL,
                                      a->u.vioserial.controller))
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <%s> '%s' is on virtio-serial controller %u, and there "
                                      "is no <controller type='virtio-serial' index='%u'>",
                           what, info->alias, a->u.vioserial.controller, a->u.vioserial.controller);
    if (a->type == DOMAIN_ADDRESS_USB &&
        !domain_controller_bus_exists(def, DOMAIN_CONTROLLER_TYPE_USB, a->u.usb.bus))
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <%s> '%s' is on USB bus %u, and there is no "
                                      "<controller type='usb' index='%u'>",
                           what, info->alias, a->u.usb.bus, a->u.usb.bus);
    return TRUE;
}

static gboolean domain_usb_disabled(const DomainDef *def)
{
    for (size_t i = 0; i < def->ncontrollers; i++) {
        if (def->controllers[i]->type == DOMAIN_CONTROLLER_TYPE_USB &&
            def->controllers[i]->model == DOMAIN_USB_MODEL_NONE)
            return TRUE;
    }
    return FALSE;
}

gboolean domain_misc_post_parse(DomainDef *def, GError **error)
{
    gboolean no_usb = domain_usb_disabled(def);

    for (size_t i = 0; i < def->naudios; i++) {
        for (size_t j = 0; j < i; j++) {
            if (def->audios[i]->id == def->audios[j]->id)
                return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": two <audio id='%u'>s",
                                   def->audios[i]->id);
        }
    }
    for (size_t i = 0; i < def->nchannels; i++) {
        const DomainChannelDef *channel = def->channels[i];

        for (size_t j = 0; j < i; j++) {
            if (g_str_equal(channel->target_name, def->channels[j]->target_name))
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": two <channel>s have <target name='%s'>",
                                   channel->target_name);
        }
        if (channel->type == DOMAIN_CHANNEL_SPICEVMC && !domain_has_spice(def))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <channel type='spicevmc'> needs <graphics "
                                          "type='spice'>");
        if (!domain_check_bus(def, &channel->info, "channel", error))
            return FALSE;
    }
    if (def->nredirdevs && !domain_has_spice(def))
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <redirdev type='spicevmc'> needs <graphics type='spice'>");
    for (size_t i = 0; i < def->nredirdevs; i++) {
        if (no_usb)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <redirdev bus='usb'> needs a USB controller, and "
                                          "<controller type='usb' model='none'> has none");
        if (!domain_check_bus(def, &def->redirdevs[i]->info, "redirdev", error))
            return FALSE;
    }
    for (size_t i = 0; i < def->ninputs; i++) {
        const DomainInputDef *input = def->inputs[i];

        if (input->bus == DOMAIN_INPUT_BUS_USB && no_usb)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <input type='%s' bus='usb'> needs a USB controller, "
                                          "and <controller type='usb' model='none'> has none",
                               domain_input_type_to_string(input->type));
        for (size_t j = 0; j < i; j++) {
            if (input->bus == DOMAIN_INPUT_BUS_PS2 && def->inputs[j]->bus == DOMAIN_INPUT_BUS_PS2 &&
                input->type == def->inputs[j]->type)
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": two <input type='%s' bus='ps2'>s (the machine "
                                              "has one PS/2 %s)",
                                   domain_input_type_to_string(input->type),
                                   domain_input_type_to_string(input->type));
        }
        if (!domain_check_bus(def, &input->info, "input", error))
            return FALSE;
    }

    /* Every other device's PCI address against the PCI controllers. */
    static const char *const what[] = { "disk",  "interface", "video",   "memballoon",
                                        "sound", "rng",       "watchdog" };
    for (size_t i = 0; i < def->ndisks; i++) {
        if (!domain_check_bus(def, &def->disks[i]->info, what[0], error))
            return FALSE;
    }
    for (size_t i = 0; i < def->nnets; i++) {
        if (!domain_check_bus(def, &def->nets[i]->info, what[1], error))
            return FALSE;
    }
    for (size_t i = 0; i < def->nvideos; i++) {
        if (!domain_check_bus(def, &def->videos[i]->info, what[2], error))
            return FALSE;
    }
    if (!domain_check_bus(def, &def->memballoon->info, what[3], error))
        return FALSE;
    for (size_t i = 0; i < def->nsounds; i++) {
        if (!domain_check_bus(def, &def->sounds[i]->info, what[4], error))
            return FALSE;
    }
    for (size_t i = 0; i < def->nrngs; i++) {
        if (!domain_check_bus(def, &def->rngs[i]->info, what[5], error))
            return FALSE;
    }
    if (def->watchdog && !domain_check_bus(def, &def->watchdog->info, what[6], error))
        return FALSE;
    return TRUE;
}

/* ---------------------------------------------------------------- top level */

gboolean domain_parse_seclabel(DomainDef *def, xmlNode *root, GError **error)
{
    unsigned int n = 0;

    XML_FOR_EACH_ELEMENT (root, child)
        n += xml_is(child, "seclabel");
    XML_FOR_EACH_ELEMENT (root, child) {
        if (!xml_is(child, "seclabel"))
            continue;
        g_autofree char *type = xml_prop(child, "type");
        g_autofree char *model = xml_prop(child, "model");

        if (g_strcmp0(type, "none") == 0) {
            const char *name = model ? model : "";
            size_t len = strlen(name);

            if (xml_first_element(child))
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": <seclabel type='none'> takes no <%s>",
                                   xml_first_element(child)->name);
            if (len > 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len ||
                (model && len == 0))
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": <seclabel model='%s'>: not a security model "
                                              "name",
                                   name);
            if (!model && n > 1)
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": <seclabel type='none'> needs a model when there "
                                              "are several <seclabel>s (as in libvirt)");
            for (size_t i = 0; i < def->nseclabel_none_models; i++) {
                if (g_str_equal(def->seclabel_none_models[i], name))
                    return domain_fail(error, FERRY_ERR_XML,
                                       DOMAIN_XML ": <seclabel type='none'%s%s%s> given more "
                                                  "than once",
                                       model ? " model='" : "", name, model ? "'" : "");
            }
            DOMAIN_APPEND(def->seclabel_none_models, def->nseclabel_none_models, g_strdup(name));
            continue;
        }
        /* Labels are a promise about confinement: ferry does not apply
         * them, so it does not take them either. */
        return domain_fail(
            error, FERRY_ERR_NO_SUPPORT,
            DOMAIN_XML ": <seclabel type='%s'%s%s%s> is not supported by ferry: it does not apply "
                       "security labels (AppArmor, SELinux, DAC); remove the <seclabel> elements "
                       "(libvirt generates type='dynamic' ones when the domain starts: "
                       "'virsh dumpxml --inactive' leaves them out), or write <seclabel "
                       "type='none'/>",
            type ? type : "", model ? " model='" : "", model ? model : "", model ? "'" : "");
    }
    return TRUE;
}

gboolean domain_parse_resource(DomainDef *def, xmlNode *root, GError **error)
{
    static const char *const children[] = { "partition", NULL };
    xmlNode *resource = xml_child(root, "resource");

    if (!resource)
        return TRUE;
    if (!domain_xml_check_children(resource, "<resource>", children, error))
        return FALSE;
    xmlNode *partition = xml_child(resource, "partition");
    if (!partition)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <resource> needs a <partition>");
    def->resource_partition = xml_text(partition);
    if (!g_path_is_absolute(def->resource_partition) || strlen(def->resource_partition) > 4096)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <resource><partition>%s</partition>: expected an absolute "
                                      "path such as /machine",
                           def->resource_partition);
    return TRUE;
}
