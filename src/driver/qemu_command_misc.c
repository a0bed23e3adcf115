/*
 * qemu_command_misc.c: the smaller devices of QEMU's command line: audio
 * backends and sound cards, input devices, virtio-serial channels, RNGs,
 * the watchdog and SPICE USB redirection.  Every device gets id=<alias>.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.command"

#include "util/error.h"
#include "util/log.h"

#include "driver/qemu_command_priv.h"

/* SPICE backends (audio, spicevmc channels, USB redirection) exist only
 * with SPICE graphics: say so rather than let QEMU fail to start. */
static gboolean qemu_cmd_need_spice(QemuCmd *cmd, const char *what, GError **error)
{
    for (gsize i = 0; i < cmd->def->ngraphics; i++) {
        if (cmd->def->graphics[i]->type == DOMAIN_GRAPHICS_SPICE)
            return TRUE;
    }
    ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s: needs <graphics type='spice'>", what);
    return FALSE;
}

/* ",bus=<usb alias>.0[,port=N]" for a device on a USB controller. */
static gboolean qemu_cmd_usb_address(QemuCmd *cmd, GString *buf, const char *what,
                                     const DomainDeviceInfo *info, GError **error)
{
    const DomainDeviceAddress *a = &info->addr;
    unsigned int index = a->type == DOMAIN_ADDRESS_USB ? a->u.usb.bus : 0;
    const DomainControllerDef *usb;

    if (a->type != DOMAIN_ADDRESS_NONE && a->type != DOMAIN_ADDRESS_USB) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: address type '%s' is not a USB port", what,
                   domain_address_to_string(a->type));
        return FALSE;
    }
    usb = qemu_cmd_find_controller(cmd, DOMAIN_CONTROLLER_TYPE_USB, index);
    if (!usb || usb->model == DOMAIN_USB_MODEL_NONE) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG, "%s: there is no USB controller with index %u",
                   what, index);
        return FALSE;
    }
    g_string_append_printf(buf, ",bus=");
    qemu_opt_escape_append(buf, usb->info.alias);
    g_string_append(buf, ".0");
    if (a->type == DOMAIN_ADDRESS_USB && a->u.usb.port)
        qemu_opt_uint(buf, "port", a->u.usb.port);
    return TRUE;
}

/* ---------------------------------------------------------------- audio, sound */

static const char *const audio_drivers[] = {
    [DOMAIN_AUDIO_NONE] = "none",
    [DOMAIN_AUDIO_SPICE] = "spice",
};
G_STATIC_ASSERT(G_N_ELEMENTS(audio_drivers) == DOMAIN_AUDIO_LAST);

gboolean qemu_cmd_build_audio(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->naudios; i++) {
        const DomainAudioDef *audio = cmd->def->audios[i];

        if (audio->type == DOMAIN_AUDIO_SPICE) {
            g_autofree char *what = g_strdup_printf("audio 'audio%u'", audio->id);
            if (!qemu_cmd_need_spice(cmd, what, error))
                return FALSE;
        }

        qemu_cmd_add_pair_take(
            cmd, "-audiodev",
            g_strdup_printf("%s,id=audio%u", audio_drivers[audio->type], audio->id));
    }
    return TRUE;
}

/* Sound models: the card, and whether it is an HDA controller that needs a
 * codec on its bus. */
static const struct {
    const char *device;
    gboolean hda;
} sound_models[] = {
    [DOMAIN_SOUND_ICH6] = { "intel-hda", TRUE },
    [DOMAIN_SOUND_ICH9] = { "ich9-intel-hda", TRUE },
    [DOMAIN_SOUND_AC97] = { "AC97", FALSE },
};
G_STATIC_ASSERT(G_N_ELEMENTS(sound_models) == DOMAIN_SOUND_LAST);

static gboolean qemu_cmd_build_sound(QemuCmd *cmd, const DomainSoundDef *sound, GError **error)
{
    g_autofree char *what = g_strdup_printf("sound '%s'", sound->info.alias);
    g_autofree char *audiodev = NULL;
    g_autoptr(GString) dev = g_string_new(sound_models[sound->model].device);

    if (!qemu_cmd_check_id(what, sound->info.alias, error))
        return FALSE;
    if (cmd->def->naudios == 0) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "%s: no <audio> backend (ferry does not let QEMU pick the host's)", what);
        return FALSE;
    }
    audiodev = g_strdup_printf("audio%u", cmd->def->audios[0]->id);
    qemu_opt_str(dev, "id", sound->info.alias);
    if (!sound_models[sound->model].hda)
        qemu_opt_str(dev, "audiodev", audiodev);
    if (!qemu_cmd_pci_address(cmd, dev, what, &sound->info, error))
        return FALSE;
    qemu_cmd_add_pair(cmd, "-device", dev->str);
    if (sound_models[sound->model].hda) {
        g_autoptr(GString) codec = g_string_new("hda-duplex");
        g_autofree char *id = g_strdup_printf("%s-codec0", sound->info.alias);
        g_autofree char *bus = g_strdup_printf("%s.0", sound->info.alias);

        qemu_opt_str(codec, "id", id);
        qemu_opt_str(codec, "bus", bus);
        qemu_opt_uint(codec, "cad", 0);
        qemu_opt_str(codec, "audiodev", audiodev);
        qemu_cmd_add_pair(cmd, "-device", codec->str);
    }
    return TRUE;
}

gboolean qemu_cmd_build_sounds(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->nsounds; i++) {
        if (!qemu_cmd_build_sound(cmd, cmd->def->sounds[i], error))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- inputs */

/* The device per input type and bus; "": built in (the PS/2 controller),
 * NULL: does not exist. */
static const char *const input_devices[DOMAIN_INPUT_BUS_LAST][DOMAIN_INPUT_LAST] = {
    [DOMAIN_INPUT_BUS_PS2] = { [DOMAIN_INPUT_MOUSE] = "",
                               [DOMAIN_INPUT_KEYBOARD] = "",
                               [DOMAIN_INPUT_TABLET] = NULL },
    [DOMAIN_INPUT_BUS_USB] = { [DOMAIN_INPUT_MOUSE] = "usb-mouse",
                               [DOMAIN_INPUT_KEYBOARD] = "usb-kbd",
                               [DOMAIN_INPUT_TABLET] = "usb-tablet" },
    [DOMAIN_INPUT_BUS_VIRTIO] = { [DOMAIN_INPUT_MOUSE] = "virtio-mouse-pci",
                                  [DOMAIN_INPUT_KEYBOARD] = "virtio-keyboard-pci",
                                  [DOMAIN_INPUT_TABLET] = "virtio-tablet-pci" },
};

static gboolean qemu_cmd_build_input(QemuCmd *cmd, const DomainInputDef *input, GError **error)
{
    g_autofree char *what = g_strdup_printf("input '%s'", input->info.alias);
    const char *device = input_devices[input->bus][input->type];
    g_autoptr(GString) dev = NULL;

    if (!device) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: a %s on bus '%s' does not exist", what,
                   domain_input_type_to_string(input->type),
                   domain_input_bus_to_string(input->bus));
        return FALSE;
    }
    if (!*device)
        return TRUE;
    if (!qemu_cmd_check_id(what, input->info.alias, error))
        return FALSE;
    dev = g_string_new(device);
    qemu_opt_str(dev, "id", input->info.alias);
    if (!(input->bus == DOMAIN_INPUT_BUS_USB
              ? qemu_cmd_usb_address(cmd, dev, what, &input->info, error)
              : qemu_cmd_pci_address(cmd, dev, what, &input->info, error)))
        return FALSE;
    qemu_cmd_add_pair(cmd, "-device", dev->str);
    return TRUE;
}

gboolean qemu_cmd_build_inputs(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->ninputs; i++) {
        if (!qemu_cmd_build_input(cmd, cmd->def->inputs[i], error))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- channels */

static gboolean qemu_cmd_build_channel(QemuCmd *cmd, const DomainChannelDef *channel,
                                       GError **error)
{
    g_autofree char *what = g_strdup_printf("channel '%s'", channel->info.alias);
    g_autofree char *chardev_id = g_strdup_printf("char%s", channel->info.alias);
    g_autoptr(GString) chr = NULL;
    g_autoptr(GString) dev = g_string_new("virtserialport");

    if (!qemu_cmd_check_id(what, channel->info.alias, error))
        return FALSE;
    switch (channel->type) {
    case DOMAIN_CHANNEL_UNIX:
        if (!channel->path) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG,
                       "%s: no socket path (the driver chooses one before building the command "
                       "line)",
                       what);
            return FALSE;
        }
        chr = g_string_new("socket");
        qemu_opt_str(chr, "id", chardev_id);
        qemu_opt_str(chr, "path", channel->path);
        qemu_opt_bool(chr, "server", TRUE);
        qemu_opt_bool(chr, "wait", FALSE);
        break;
    case DOMAIN_CHANNEL_SPICEVMC:
        if (!qemu_cmd_need_spice(cmd, what, error))
            return FALSE;
        chr = g_string_new("spicevmc");
        qemu_opt_str(chr, "id", chardev_id);
        qemu_opt_str(chr, "name", "vdagent");
        break;
    case DOMAIN_CHANNEL_LAST:
        g_assert_not_reached();
    }
    qemu_cmd_add_pair(cmd, "-chardev", chr->str);
    if (!qemu_cmd_virtio_serial_address(cmd, dev, what, &channel->info, -1, error))
        return FALSE;
    qemu_opt_str(dev, "chardev", chardev_id);
    qemu_opt_str(dev, "id", channel->info.alias);
    if (channel->target_name)
        qemu_opt_str(dev, "name", channel->target_name);
    qemu_cmd_add_pair(cmd, "-device", dev->str);
    return TRUE;
}

gboolean qemu_cmd_build_channels(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->nchannels; i++) {
        if (!qemu_cmd_build_channel(cmd, cmd->def->channels[i], error))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- rng */

#define QEMU_DEFAULT_RNG "/dev/urandom"

gboolean qemu_cmd_build_rngs(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->nrngs; i++) {
        const DomainRngDef *rng = cmd->def->rngs[i];
        g_autofree char *what = g_strdup_printf("rng '%s'", rng->info.alias);
        g_autofree char *obj_id = g_strdup_printf("obj%s", rng->info.alias);
        g_autoptr(GString) obj = g_string_new("rng-random");
        g_autoptr(GString) dev = g_string_new("virtio-rng-pci");

        if (!qemu_cmd_check_id(what, rng->info.alias, error))
            return FALSE;
        qemu_opt_str(obj, "id", obj_id);
        qemu_opt_str(obj, "filename", rng->backend ? rng->backend : QEMU_DEFAULT_RNG);
        qemu_cmd_add_pair(cmd, "-object", obj->str);
        qemu_opt_str(dev, "rng", obj_id);
        qemu_opt_str(dev, "id", rng->info.alias);
        if (!qemu_cmd_pci_address(cmd, dev, what, &rng->info, error))
            return FALSE;
        qemu_cmd_add_pair(cmd, "-device", dev->str);
    }
    return TRUE;
}

/* ---------------------------------------------------------------- watchdog */

/* QEMU's -action watchdog= values; NULL: ferry cannot ask QEMU for it. */
static const char *const watchdog_actions[] = {
    [DOMAIN_WATCHDOG_ACTION_RESET] = "reset",
    [DOMAIN_WATCHDOG_ACTION_SHUTDOWN] = "shutdown",
    [DOMAIN_WATCHDOG_ACTION_POWEROFF] = "poweroff",
    [DOMAIN_WATCHDOG_ACTION_PAUSE] = "pause",
    [DOMAIN_WATCHDOG_ACTION_NONE] = "none",
    [DOMAIN_WATCHDOG_ACTION_DUMP] = NULL,
    [DOMAIN_WATCHDOG_ACTION_INJECT_NMI] = "inject-nmi",
};
G_STATIC_ASSERT(G_N_ELEMENTS(watchdog_actions) == DOMAIN_WATCHDOG_ACTION_LAST);

static const struct {
    const char *device;
    gboolean pci; /* FALSE: an ISA device */
} watchdog_models[] = {
    [DOMAIN_WATCHDOG_I6300ESB] = { "i6300esb", TRUE },
    [DOMAIN_WATCHDOG_IB700] = { "ib700", FALSE },
};
G_STATIC_ASSERT(G_N_ELEMENTS(watchdog_models) == DOMAIN_WATCHDOG_LAST);

gboolean qemu_cmd_build_watchdog(QemuCmd *cmd, GError **error)
{
    const DomainWatchdogDef *wd = cmd->def->watchdog;
    g_autofree char *what = NULL;
    g_autoptr(GString) dev = NULL;

    if (!wd)
        return TRUE;
    what = g_strdup_printf("watchdog '%s'", wd->info.alias);
    if (!watchdog_actions[wd->action]) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "%s: action '%s' is not supported by ferry's QEMU command line", what,
                   domain_watchdog_action_to_string(wd->action));
        return FALSE;
    }
    if (!qemu_cmd_check_id(what, wd->info.alias, error))
        return FALSE;
    dev = g_string_new(watchdog_models[wd->model].device);
    qemu_opt_str(dev, "id", wd->info.alias);
    if (watchdog_models[wd->model].pci) {
        if (!qemu_cmd_pci_address(cmd, dev, what, &wd->info, error))
            return FALSE;
    } else if (wd->info.addr.type != DOMAIN_ADDRESS_NONE) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT, "%s: model '%s' takes no address", what,
                   domain_watchdog_model_to_string(wd->model));
        return FALSE;
    }
    qemu_cmd_add_pair(cmd, "-device", dev->str);
    qemu_cmd_add_pair_take(cmd, "-action",
                           g_strdup_printf("watchdog=%s", watchdog_actions[wd->action]));
    return TRUE;
}

/* ---------------------------------------------------------------- redirdev */

gboolean qemu_cmd_build_redirdevs(QemuCmd *cmd, GError **error)
{
    for (gsize i = 0; i < cmd->def->nredirdevs; i++) {
        const DomainRedirdevDef *redir = cmd->def->redirdevs[i];
        g_autofree char *what = g_strdup_printf("redirdev '%s'", redir->info.alias);
        g_autofree char *chardev_id = g_strdup_printf("char%s", redir->info.alias);
        g_autoptr(GString) chr = g_string_new("spicevmc");
        g_autoptr(GString) dev = g_string_new("usb-redir");

        if (!qemu_cmd_check_id(what, redir->info.alias, error) ||
            !qemu_cmd_need_spice(cmd, what, error))
            return FALSE;
        qemu_opt_str(chr, "id", chardev_id);
        qemu_opt_str(chr, "name", "usbredir");
        qemu_cmd_add_pair(cmd, "-chardev", chr->str);
        qemu_opt_str(dev, "chardev", chardev_id);
        qemu_opt_str(dev, "id", redir->info.alias);
        if (!qemu_cmd_usb_address(cmd, dev, what, &redir->info, error))
            return FALSE;
        qemu_cmd_add_pair(cmd, "-device", dev->str);
    }
    return TRUE;
}
