/*
 * domain_conf.c: domain definition types: enum tables, allocation, copy,
 * lookups and the helpers the parser and formatter share.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.domain"

#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"
#include "conf/domain_priv.h"

/* One string table per enum, its size checked against _LAST. */
#define DOMAIN_ENUM_IMPL(name, last, ...) \
    static const char *const name##_names[] = { __VA_ARGS__ }; \
    G_STATIC_ASSERT(G_N_ELEMENTS(name##_names) == (last)); \
    const char *name##_to_string(int value) \
    { \
        return value >= 0 && value < (int)(last) ? name##_names[value] : NULL; \
    } \
    int name##_from_string(const char *str) \
    { \
        for (int i = 0; str && i < (int)(last); i++) { \
            if (g_str_equal(str, name##_names[i])) \
                return i; \
        } \
        return -1; \
    }

DOMAIN_ENUM_IMPL(domain_virt, DOMAIN_VIRT_LAST, "qemu", "kvm")
DOMAIN_ENUM_IMPL(domain_lifecycle, DOMAIN_LIFECYCLE_LAST, "destroy", "restart", "preserve",
                 "rename-restart", "coredump-destroy", "coredump-restart")
DOMAIN_ENUM_IMPL(domain_boot, DOMAIN_BOOT_LAST, "fd", "cdrom", "hd", "network")
DOMAIN_ENUM_IMPL(domain_tristate, DOMAIN_TRISTATE_LAST, "absent", "on", "off")
DOMAIN_ENUM_IMPL(domain_cpu_mode, DOMAIN_CPU_MODE_LAST, "none", "custom", "host-model",
                 "host-passthrough", "maximum")
DOMAIN_ENUM_IMPL(domain_cpu_match, DOMAIN_CPU_MATCH_LAST, "default", "minimum", "exact", "strict")
DOMAIN_ENUM_IMPL(domain_cpu_check, DOMAIN_CPU_CHECK_LAST, "default", "none", "partial", "full")
DOMAIN_ENUM_IMPL(domain_cpu_fallback, DOMAIN_CPU_FALLBACK_LAST, "default", "allow", "forbid")
DOMAIN_ENUM_IMPL(domain_cpu_policy, DOMAIN_CPU_POLICY_LAST, "force", "require", "optional",
                 "disable", "forbid")
DOMAIN_ENUM_IMPL(domain_clock_offset, DOMAIN_CLOCK_LAST, "utc", "localtime")
DOMAIN_ENUM_IMPL(domain_timer_name, DOMAIN_TIMER_LAST, "platform", "rtc", "pit", "hpet", "tsc",
                 "kvmclock", "hypervclock")
DOMAIN_ENUM_IMPL(domain_tickpolicy, DOMAIN_TICKPOLICY_LAST, "default", "delay", "catchup", "merge",
                 "discard")
DOMAIN_ENUM_IMPL(domain_address, DOMAIN_ADDRESS_LAST, "none", "pci", "drive", "virtio-serial",
                 "usb")
DOMAIN_ENUM_IMPL(domain_disk_type, DOMAIN_DISK_TYPE_LAST, "file", "block")
DOMAIN_ENUM_IMPL(domain_disk_device, DOMAIN_DISK_DEVICE_LAST, "disk", "cdrom")
DOMAIN_ENUM_IMPL(domain_disk_bus, DOMAIN_DISK_BUS_LAST, "virtio", "ide", "scsi", "sata")
DOMAIN_ENUM_IMPL(domain_disk_format, DOMAIN_DISK_FORMAT_LAST, "default", "raw", "qcow2", "qed",
                 "vmdk", "vdi", "vpc")
DOMAIN_ENUM_IMPL(domain_disk_cache, DOMAIN_DISK_CACHE_LAST, "default", "none", "writethrough",
                 "writeback", "directsync", "unsafe")
DOMAIN_ENUM_IMPL(domain_disk_discard, DOMAIN_DISK_DISCARD_LAST, "default", "unmap", "ignore")
DOMAIN_ENUM_IMPL(domain_net_type, DOMAIN_NET_TYPE_LAST, "network", "bridge", "ethernet")
DOMAIN_ENUM_IMPL(domain_net_model, DOMAIN_NET_MODEL_LAST, "virtio", "e1000", "e1000e", "rtl8139",
                 "ne2k_pci", "pcnet", "vmxnet3")
DOMAIN_ENUM_IMPL(domain_chr_type, DOMAIN_CHR_TYPE_LAST, "null", "pty", "file", "unix")
DOMAIN_ENUM_IMPL(domain_chr_target, DOMAIN_CHR_TARGET_LAST, "isa-serial", "serial", "virtio")
DOMAIN_ENUM_IMPL(domain_graphics, DOMAIN_GRAPHICS_LAST, "vnc", "spice")
DOMAIN_ENUM_IMPL(domain_video, DOMAIN_VIDEO_LAST, "vga", "cirrus", "virtio", "qxl", "bochs",
                 "ramfb", "none")
DOMAIN_ENUM_IMPL(domain_balloon, DOMAIN_BALLOON_LAST, "virtio", "none")
DOMAIN_ENUM_IMPL(domain_controller_type, DOMAIN_CONTROLLER_TYPE_LAST, "pci", "usb", "ide", "sata",
                 "scsi", "virtio-serial")
DOMAIN_ENUM_IMPL(domain_pci_model, DOMAIN_PCI_MODEL_LAST, "default", "pci-root", "pcie-root",
                 "pci-bridge", "dmi-to-pci-bridge", "pcie-root-port", "pcie-switch-upstream-port",
                 "pcie-switch-downstream-port", "pcie-to-pci-bridge")
DOMAIN_ENUM_IMPL(domain_usb_model, DOMAIN_USB_MODEL_LAST, "default", "piix3-uhci", "piix4-uhci",
                 "ehci", "ich9-ehci1", "ich9-uhci1", "ich9-uhci2", "ich9-uhci3", "nec-xhci",
                 "qemu-xhci", "none")
DOMAIN_ENUM_IMPL(domain_scsi_model, DOMAIN_SCSI_MODEL_LAST, "default", "virtio-scsi", "lsilogic",
                 "lsisas1068", "lsisas1078")
DOMAIN_ENUM_IMPL(domain_input_type, DOMAIN_INPUT_LAST, "mouse", "keyboard", "tablet")
DOMAIN_ENUM_IMPL(domain_input_bus, DOMAIN_INPUT_BUS_LAST, "ps2", "usb", "virtio")
DOMAIN_ENUM_IMPL(domain_channel_type, DOMAIN_CHANNEL_LAST, "unix", "spicevmc")
DOMAIN_ENUM_IMPL(domain_channel_state, DOMAIN_CHANNEL_STATE_LAST, "default", "connected",
                 "disconnected")
DOMAIN_ENUM_IMPL(domain_sound_model, DOMAIN_SOUND_LAST, "ich6", "ich9", "ac97")
DOMAIN_ENUM_IMPL(domain_audio_type, DOMAIN_AUDIO_LAST, "none", "spice")
DOMAIN_ENUM_IMPL(domain_watchdog_model, DOMAIN_WATCHDOG_LAST, "i6300esb", "ib700")
DOMAIN_ENUM_IMPL(domain_watchdog_action, DOMAIN_WATCHDOG_ACTION_LAST, "reset", "shutdown",
                 "poweroff", "pause", "none", "dump", "inject-nmi")
DOMAIN_ENUM_IMPL(domain_graphics_image, DOMAIN_GRAPHICS_IMAGE_LAST, "default", "auto_glz",
                 "auto_lz", "quic", "glz", "lz", "off")
DOMAIN_ENUM_IMPL(domain_state, DOMAIN_STATE_LAST, "nostate", "running", "blocked", "paused",
                 "shutdown", "shutoff", "crashed", "pmsuspended")
DOMAIN_ENUM_IMPL(domain_async_job, DOMAIN_ASYNC_JOB_LAST, "none", "migration-out", "migration-in",
                 "save", "restore")
DOMAIN_ENUM_IMPL(domain_migration_phase, DOMAIN_MIGRATION_PHASE_LAST, "none", "begin3", "perform3",
                 "perform3-done", "confirm3-cancelled", "confirm3", "prepare", "finish3")

/* ---------------------------------------------------------------- helpers */

char *domain_enum_allowed(DomainEnumToString to_string, int first, int last)
{
    g_autoptr(GString) out = g_string_new(NULL);

    for (int i = first; i < last; i++)
        g_string_append_printf(out, "%s'%s'", i > first ? ", " : "", to_string(i));
    return g_string_free(g_steal_pointer(&out), FALSE);
}

int domain_xml_enum(xmlNode *node, const char *attr, DomainEnumToString to_string, int first,
                    int last, int *out, GError **error)
{
    g_autofree char *text = xml_prop(node, attr);

    if (!text)
        return 0;
    for (int i = first; i < last; i++) {
        if (g_str_equal(text, to_string(i))) {
            *out = i;
            return 1;
        }
    }
    g_autofree char *allowed = domain_enum_allowed(to_string, first, last);
    return ferry_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <%s %s='%s'>: expected one of %s",
                      node->name, attr, text, allowed);
}

int domain_xml_enum_supported(xmlNode *node, const char *what, const char *attr,
                              DomainEnumToString to_string, int first, int last, int *out,
                              GError **error)
{
    g_autofree char *text = xml_prop(node, attr);

    if (!text)
        return 0;
    for (int i = first; i < last; i++) {
        if (g_str_equal(text, to_string(i))) {
            *out = i;
            return 1;
        }
    }
    g_autofree char *allowed = domain_enum_allowed(to_string, first, last);
    return ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                      DOMAIN_XML ": <%s %s='%s'> is not supported by ferry (only %s)", what, attr,
                      text, allowed);
}

int domain_xml_text_enum(xmlNode *node, DomainEnumToString to_string, int first, int last, int *out,
                         GError **error)
{
    g_autofree char *text = xml_text(node);

    if (!node)
        return 0;
    for (int i = first; i < last; i++) {
        if (g_str_equal(text, to_string(i))) {
            *out = i;
            return 1;
        }
    }
    g_autofree char *allowed = domain_enum_allowed(to_string, first, last);
    return ferry_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <%s>%s</%s>: expected one of %s",
                      node->name, text, node->name, allowed);
}

gboolean domain_xml_check_children(xmlNode *node, const char *path, const char *const *allowed,
                                   GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    XML_FOR_EACH_ELEMENT (node, child) {
        const char *name = (const char *)child->name;
        gboolean ok = FALSE, many = FALSE;

        for (size_t i = 0; allowed[i]; i++) {
            size_t len = strlen(allowed[i]);
            gboolean star = len > 0 && allowed[i][len - 1] == '*';

            if (star)
                len--;
            if (strlen(name) == len && strncmp(name, allowed[i], len) == 0) {
                ok = TRUE;
                many = star;
                break;
            }
        }
        if (!ok || child->ns) {
            const char *prefix =
                child->ns && child->ns->prefix ? (const char *)child->ns->prefix : NULL;
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       DOMAIN_XML ": %s<%s%s%s> is not supported by ferry", path,
                       prefix ? prefix : "", prefix ? ":" : "", name);
            return FALSE;
        }
        if (!many && !g_hash_table_add(seen, (gpointer)name)) {
            ferry_fail(error, FERRY_ERR_XML, DOMAIN_XML ": %s<%s> given more than once", path,
                       name);
            return FALSE;
        }
    }
    return TRUE;
}

void domain_xml_prefix_error(GError **error)
{
    if (error && *error && !g_str_has_prefix((*error)->message, DOMAIN_XML ": "))
        g_prefix_error(error, DOMAIN_XML ": ");
}

int domain_random_bytes(const DomainParseCtx *ctx, void *buf, size_t len, GError **error)
{
    if (ctx->hooks && ctx->hooks->random_bytes)
        return ctx->hooks->random_bytes(buf, len, ctx->hooks->opaque, error);
    return ferry_random_bytes(buf, len, error);
}

const char *domain_mac_format(const unsigned char *mac, char *buf)
{
    snprintf(buf, DOMAIN_MAC_STRING_BUFLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
             mac[3], mac[4], mac[5]);
    return buf;
}

/* ---------------------------------------------------------------- free */

void domain_device_info_clear(DomainDeviceInfo *info)
{
    g_clear_pointer(&info->alias, g_free);
}

void domain_disk_def_free(DomainDiskDef *disk)
{
    if (!disk)
        return;
    g_free(disk->driver_name);
    g_free(disk->src);
    g_free(disk->target_dev);
    domain_device_info_clear(&disk->info);
    g_free(disk);
}

void domain_net_def_free(DomainNetDef *net)
{
    if (!net)
        return;
    g_free(net->source);
    g_free(net->target_dev);
    domain_device_info_clear(&net->info);
    g_free(net);
}

void domain_chr_def_free(DomainChrDef *chr)
{
    if (!chr)
        return;
    g_free(chr->path);
    domain_device_info_clear(&chr->info);
    g_free(chr);
}

void domain_graphics_def_free(DomainGraphicsDef *graphics)
{
    if (!graphics)
        return;
    g_free(graphics->listen);
    g_free(graphics->keymap);
    if (graphics->passwd)
        memset(graphics->passwd, 0, strlen(graphics->passwd));
    g_free(graphics->passwd);
    g_free(graphics);
}

void domain_video_def_free(DomainVideoDef *video)
{
    if (!video)
        return;
    domain_device_info_clear(&video->info);
    g_free(video);
}

void domain_memballoon_def_free(DomainMemballoonDef *balloon)
{
    if (!balloon)
        return;
    domain_device_info_clear(&balloon->info);
    g_free(balloon);
}

void domain_controller_def_free(DomainControllerDef *controller)
{
    if (!controller)
        return;
    g_free(controller->model_name);
    domain_device_info_clear(&controller->info);
    g_free(controller);
}

void domain_input_def_free(DomainInputDef *input)
{
    if (!input)
        return;
    domain_device_info_clear(&input->info);
    g_free(input);
}

void domain_channel_def_free(DomainChannelDef *channel)
{
    if (!channel)
        return;
    g_free(channel->path);
    g_free(channel->target_name);
    domain_device_info_clear(&channel->info);
    g_free(channel);
}

void domain_sound_def_free(DomainSoundDef *sound)
{
    if (!sound)
        return;
    domain_device_info_clear(&sound->info);
    g_free(sound);
}

void domain_audio_def_free(DomainAudioDef *audio)
{
    g_free(audio);
}

void domain_rng_def_free(DomainRngDef *rng)
{
    if (!rng)
        return;
    g_free(rng->backend);
    domain_device_info_clear(&rng->info);
    g_free(rng);
}

void domain_watchdog_def_free(DomainWatchdogDef *watchdog)
{
    if (!watchdog)
        return;
    domain_device_info_clear(&watchdog->info);
    g_free(watchdog);
}

void domain_redirdev_def_free(DomainRedirdevDef *redirdev)
{
    if (!redirdev)
        return;
    domain_device_info_clear(&redirdev->info);
    g_free(redirdev);
}

#define DOMAIN_FREE_ARRAY(items, n, free_fn) \
    do { \
        for (size_t i_ = 0; i_ < (n); i_++) \
            free_fn((items)[i_]); \
        g_free(items); \
    } while (0)

DomainDef *domain_def_new(void)
{
    DomainDef *def = g_new0(DomainDef, 1);

    def->id = -1;
    def->on_poweroff = DOMAIN_LIFECYCLE_DESTROY;
    def->on_reboot = DOMAIN_LIFECYCLE_RESTART;
    def->on_crash = DOMAIN_LIFECYCLE_DESTROY;
    return def;
}

void domain_def_free(DomainDef *def)
{
    if (!def)
        return;
    g_free(def->name);
    g_free(def->title);
    g_free(def->description);
    g_free(def->metadata);
    g_free(def->os.type);
    g_free(def->os.arch);
    g_free(def->os.machine);
    g_free(def->os.kernel);
    g_free(def->os.initrd);
    g_free(def->os.cmdline);
    g_free(def->cpu.model);
    for (size_t i = 0; i < def->cpu.nfeatures; i++)
        g_free(def->cpu.features[i].name);
    g_free(def->cpu.features);
    g_free(def->clock.timers);
    g_free(def->emulator);
    DOMAIN_FREE_ARRAY(def->disks, def->ndisks, domain_disk_def_free);
    DOMAIN_FREE_ARRAY(def->nets, def->nnets, domain_net_def_free);
    DOMAIN_FREE_ARRAY(def->serials, def->nserials, domain_chr_def_free);
    DOMAIN_FREE_ARRAY(def->consoles, def->nconsoles, domain_chr_def_free);
    DOMAIN_FREE_ARRAY(def->graphics, def->ngraphics, domain_graphics_def_free);
    DOMAIN_FREE_ARRAY(def->videos, def->nvideos, domain_video_def_free);
    domain_memballoon_def_free(def->memballoon);
    g_free(def->resource_partition);
    DOMAIN_FREE_ARRAY(def->seclabel_none_models, def->nseclabel_none_models, g_free);
    DOMAIN_FREE_ARRAY(def->controllers, def->ncontrollers, domain_controller_def_free);
    DOMAIN_FREE_ARRAY(def->inputs, def->ninputs, domain_input_def_free);
    DOMAIN_FREE_ARRAY(def->channels, def->nchannels, domain_channel_def_free);
    DOMAIN_FREE_ARRAY(def->sounds, def->nsounds, domain_sound_def_free);
    DOMAIN_FREE_ARRAY(def->audios, def->naudios, domain_audio_def_free);
    DOMAIN_FREE_ARRAY(def->rngs, def->nrngs, domain_rng_def_free);
    domain_watchdog_def_free(def->watchdog);
    DOMAIN_FREE_ARRAY(def->redirdevs, def->nredirdevs, domain_redirdev_def_free);
    g_free(def);
}

DomainStatus *domain_status_new(void)
{
    return g_new0(DomainStatus, 1);
}

void domain_status_free(DomainStatus *status)
{
    if (!status)
        return;
    g_free(status->reason);
    g_free(status->monitor_path);
    domain_def_free(status->def);
    g_free(status);
}

/* ---------------------------------------------------------------- copy */

static void domain_device_info_copy(DomainDeviceInfo *dst, const DomainDeviceInfo *src)
{
    *dst = *src;
    dst->alias = g_strdup(src->alias);
}

static DomainDiskDef *domain_disk_def_copy(const DomainDiskDef *src)
{
    DomainDiskDef *dst = g_memdup2(src, sizeof(*src));

    dst->driver_name = g_strdup(src->driver_name);
    dst->src = g_strdup(src->src);
    dst->target_dev = g_strdup(src->target_dev);
    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainNetDef *domain_net_def_copy(const DomainNetDef *src)
{
    DomainNetDef *dst = g_memdup2(src, sizeof(*src));

    dst->source = g_strdup(src->source);
    dst->target_dev = g_strdup(src->target_dev);
    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainChrDef *domain_chr_def_copy(const DomainChrDef *src)
{
    DomainChrDef *dst = g_memdup2(src, sizeof(*src));

    dst->path = g_strdup(src->path);
    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainGraphicsDef *domain_graphics_def_copy(const DomainGraphicsDef *src)
{
    DomainGraphicsDef *dst = g_memdup2(src, sizeof(*src));

    dst->listen = g_strdup(src->listen);
    dst->passwd = g_strdup(src->passwd);
    dst->keymap = g_strdup(src->keymap);
    return dst;
}

static DomainVideoDef *domain_video_def_copy(const DomainVideoDef *src)
{
    DomainVideoDef *dst = g_memdup2(src, sizeof(*src));

    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainMemballoonDef *domain_memballoon_def_copy(const DomainMemballoonDef *src)
{
    DomainMemballoonDef *dst = g_memdup2(src, sizeof(*src));

    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainControllerDef *domain_controller_def_copy(const DomainControllerDef *src)
{
    DomainControllerDef *dst = g_memdup2(src, sizeof(*src));

    dst->model_name = g_strdup(src->model_name);
    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainInputDef *domain_input_def_copy(const DomainInputDef *src)
{
    DomainInputDef *dst = g_memdup2(src, sizeof(*src));

    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainChannelDef *domain_channel_def_copy(const DomainChannelDef *src)
{
    DomainChannelDef *dst = g_memdup2(src, sizeof(*src));

    dst->path = g_strdup(src->path);
    dst->target_name = g_strdup(src->target_name);
    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainSoundDef *domain_sound_def_copy(const DomainSoundDef *src)
{
    DomainSoundDef *dst = g_memdup2(src, sizeof(*src));

    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainAudioDef *domain_audio_def_copy(const DomainAudioDef *src)
{
    return g_memdup2(src, sizeof(*src));
}

static DomainRngDef *domain_rng_def_copy(const DomainRngDef *src)
{
    DomainRngDef *dst = g_memdup2(src, sizeof(*src));

    dst->backend = g_strdup(src->backend);
    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainWatchdogDef *domain_watchdog_def_copy(const DomainWatchdogDef *src)
{
    DomainWatchdogDef *dst = g_memdup2(src, sizeof(*src));

    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

static DomainRedirdevDef *domain_redirdev_def_copy(const DomainRedirdevDef *src)
{
    DomainRedirdevDef *dst = g_memdup2(src, sizeof(*src));

    domain_device_info_copy(&dst->info, &src->info);
    return dst;
}

#define DOMAIN_COPY_ARRAY(dst, src, field, n, copy_fn) \
    do { \
        (dst)->field = g_new0(__typeof__(*(src)->field), (src)->n); \
        for (size_t i_ = 0; i_ < (src)->n; i_++) \
            (dst)->field[i_] = copy_fn((src)->field[i_]); \
    } while (0)

DomainDef *domain_def_copy(const DomainDef *def)
{
    DomainDef *copy = g_memdup2(def, sizeof(*def));

    copy->name = g_strdup(def->name);
    copy->title = g_strdup(def->title);
    copy->description = g_strdup(def->description);
    copy->metadata = g_strdup(def->metadata);
    copy->os.type = g_strdup(def->os.type);
    copy->os.arch = g_strdup(def->os.arch);
    copy->os.machine = g_strdup(def->os.machine);
    copy->os.kernel = g_strdup(def->os.kernel);
    copy->os.initrd = g_strdup(def->os.initrd);
    copy->os.cmdline = g_strdup(def->os.cmdline);
    copy->cpu.model = g_strdup(def->cpu.model);
    copy->cpu.features = g_new0(DomainCpuFeature, def->cpu.nfeatures);
    for (size_t i = 0; i < def->cpu.nfeatures; i++) {
        copy->cpu.features[i].policy = def->cpu.features[i].policy;
        copy->cpu.features[i].name = g_strdup(def->cpu.features[i].name);
    }
    copy->clock.timers = g_memdup2(def->clock.timers, def->clock.ntimers * sizeof(DomainTimerDef));
    copy->emulator = g_strdup(def->emulator);
    DOMAIN_COPY_ARRAY(copy, def, disks, ndisks, domain_disk_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, nets, nnets, domain_net_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, serials, nserials, domain_chr_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, consoles, nconsoles, domain_chr_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, graphics, ngraphics, domain_graphics_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, videos, nvideos, domain_video_def_copy);
    copy->memballoon = def->memballoon ? domain_memballoon_def_copy(def->memballoon) : NULL;
    copy->resource_partition = g_strdup(def->resource_partition);
    DOMAIN_COPY_ARRAY(copy, def, seclabel_none_models, nseclabel_none_models, g_strdup);
    DOMAIN_COPY_ARRAY(copy, def, controllers, ncontrollers, domain_controller_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, inputs, ninputs, domain_input_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, channels, nchannels, domain_channel_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, sounds, nsounds, domain_sound_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, audios, naudios, domain_audio_def_copy);
    DOMAIN_COPY_ARRAY(copy, def, rngs, nrngs, domain_rng_def_copy);
    copy->watchdog = def->watchdog ? domain_watchdog_def_copy(def->watchdog) : NULL;
    DOMAIN_COPY_ARRAY(copy, def, redirdevs, nredirdevs, domain_redirdev_def_copy);
    return copy;
}

/* ---------------------------------------------------------------- lookups */

DomainDiskDef *domain_def_find_disk(const DomainDef *def, const char *target_or_alias)
{
    for (size_t i = 0; i < def->ndisks; i++) {
        DomainDiskDef *disk = def->disks[i];

        if (g_strcmp0(disk->target_dev, target_or_alias) == 0 ||
            g_strcmp0(disk->info.alias, target_or_alias) == 0)
            return disk;
    }
    return NULL;
}

DomainNetDef *domain_def_find_net_by_mac(const DomainDef *def, const unsigned char *mac)
{
    for (size_t i = 0; i < def->nnets; i++) {
        if (memcmp(def->nets[i]->mac, mac, sizeof(def->nets[i]->mac)) == 0)
            return def->nets[i];
    }
    return NULL;
}

gboolean domain_def_has_alias(const DomainDef *def, const char *alias)
{
    for (size_t i = 0; i < def->ndisks; i++) {
        if (g_strcmp0(def->disks[i]->info.alias, alias) == 0)
            return TRUE;
    }
    for (size_t i = 0; i < def->nnets; i++) {
        if (g_strcmp0(def->nets[i]->info.alias, alias) == 0)
            return TRUE;
    }
    for (size_t i = 0; i < def->nserials; i++) {
        if (g_strcmp0(def->serials[i]->info.alias, alias) == 0)
            return TRUE;
    }
    for (size_t i = 0; i < def->nconsoles; i++) {
        if (g_strcmp0(def->consoles[i]->info.alias, alias) == 0)
            return TRUE;
    }
    for (size_t i = 0; i < def->nvideos; i++) {
        if (g_strcmp0(def->videos[i]->info.alias, alias) == 0)
            return TRUE;
    }
#define DOMAIN_HAS_ALIAS(items, n) \
    do { \
        for (size_t i_ = 0; i_ < (n); i_++) { \
            if (g_strcmp0((items)[i_]->info.alias, alias) == 0) \
                return TRUE; \
        } \
    } while (0)
    DOMAIN_HAS_ALIAS(def->controllers, def->ncontrollers);
    DOMAIN_HAS_ALIAS(def->inputs, def->ninputs);
    DOMAIN_HAS_ALIAS(def->channels, def->nchannels);
    DOMAIN_HAS_ALIAS(def->sounds, def->nsounds);
    DOMAIN_HAS_ALIAS(def->rngs, def->nrngs);
    DOMAIN_HAS_ALIAS(def->redirdevs, def->nredirdevs);
#undef DOMAIN_HAS_ALIAS
    if (def->watchdog && g_strcmp0(def->watchdog->info.alias, alias) == 0)
        return TRUE;
    return def->memballoon && g_strcmp0(def->memballoon->info.alias, alias) == 0;
}
