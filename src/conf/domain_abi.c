/*
 * domain_abi.c: would a guest started from one definition see the same
 * machine as one running from another?  Migration refuses a destination
 * definition that changes what the guest sees (machine type, memory, vcpus,
 * CPU, devices and their models, buses, addresses, aliases, MACs) and lets
 * through what it does not (disk source paths, graphics listen addresses,
 * ports and passwords, title, description, metadata, lifecycle actions).
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.domain"

#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"
#include "conf/domain_priv.h"

#define ABI_FAIL(error, ...) (ferry_fail((error), FERRY_ERR_OPERATION_INVALID, __VA_ARGS__), FALSE)

#define ABI_CHECK_STR(error, what, src, dst) \
    do { \
        if (g_strcmp0((src), (dst)) != 0) \
            return ABI_FAIL(error, "target domain %s '%s' does not match source '%s'", (what), \
                            (dst) ? (dst) : "", (src) ? (src) : ""); \
    } while (0)

#define ABI_CHECK_UINT(error, what, src, dst) \
    do { \
        if ((unsigned long long)(src) != (unsigned long long)(dst)) \
            return ABI_FAIL(error, "target domain %s %llu does not match source %llu", (what), \
                            (unsigned long long)(dst), (unsigned long long)(src)); \
    } while (0)

#define ABI_CHECK_ENUM(error, what, to_string, src, dst) \
    do { \
        if ((src) != (dst)) \
            return ABI_FAIL(error, "target domain %s '%s' does not match source '%s'", (what), \
                            to_string(dst), to_string(src)); \
    } while (0)

static char *domain_address_string(const DomainDeviceAddress *addr)
{
    switch (addr->type) {
    case DOMAIN_ADDRESS_PCI:
        return g_strdup_printf("pci %04x:%02x:%02x.%x%s", addr->u.pci.domain, addr->u.pci.bus,
                               addr->u.pci.slot, addr->u.pci.function,
                               addr->u.pci.multifunction == DOMAIN_TRISTATE_ON ? " multifunction"
                                                                               : "");
    case DOMAIN_ADDRESS_DRIVE:
        return g_strdup_printf("drive %u:%u:%u:%u", addr->u.drive.controller, addr->u.drive.bus,
                               addr->u.drive.target, addr->u.drive.unit);
    case DOMAIN_ADDRESS_VIRTIO_SERIAL:
        return g_strdup_printf("virtio-serial %u:%u:%u", addr->u.vioserial.controller,
                               addr->u.vioserial.bus, addr->u.vioserial.port);
    case DOMAIN_ADDRESS_USB:
        return g_strdup_printf("usb %u:%u", addr->u.usb.bus, addr->u.usb.port);
    case DOMAIN_ADDRESS_NONE:
    case DOMAIN_ADDRESS_LAST:
        break;
    }
    return g_strdup("none");
}

static gboolean domain_abi_info(const char *what, const DomainDeviceInfo *src,
                                const DomainDeviceInfo *dst, GError **error)
{
    g_autofree char *what_alias = g_strdup_printf("%s alias", what);
    ABI_CHECK_STR(error, what_alias, src->alias, dst->alias);

    g_autofree char *a = domain_address_string(&src->addr);
    g_autofree char *b = domain_address_string(&dst->addr);
    if (!g_str_equal(a, b))
        return ABI_FAIL(error, "target domain %s '%s' address %s does not match source %s", what,
                        dst->alias ? dst->alias : "", b, a);
    if (src->boot_order != dst->boot_order)
        return ABI_FAIL(error, "target domain %s '%s' boot order %u does not match source %u", what,
                        dst->alias ? dst->alias : "", dst->boot_order, src->boot_order);
    return TRUE;
}

static gboolean domain_abi_cpu(const DomainCpuDef *src, const DomainCpuDef *dst, GError **error)
{
    ABI_CHECK_ENUM(error, "cpu mode", domain_cpu_mode_to_string, src->mode, dst->mode);
    ABI_CHECK_STR(error, "cpu model", src->model, dst->model);
    ABI_CHECK_ENUM(error, "cpu migratable", domain_tristate_to_string, src->migratable,
                   dst->migratable);
    ABI_CHECK_UINT(error, "cpu sockets", src->sockets, dst->sockets);
    ABI_CHECK_UINT(error, "cpu dies", src->dies ? src->dies : 1, dst->dies ? dst->dies : 1);
    ABI_CHECK_UINT(error, "cpu cores", src->cores, dst->cores);
    ABI_CHECK_UINT(error, "cpu threads", src->threads, dst->threads);
    ABI_CHECK_UINT(error, "cpu feature count", src->nfeatures, dst->nfeatures);
    for (size_t i = 0; i < src->nfeatures; i++) {
        const DomainCpuFeature *a = &src->features[i], *b = &dst->features[i];

        if (!g_str_equal(a->name, b->name) || a->policy != b->policy)
            return ABI_FAIL(error,
                            "target domain cpu feature %s='%s' does not match source %s='%s'",
                            domain_cpu_policy_to_string(b->policy), b->name,
                            domain_cpu_policy_to_string(a->policy), a->name);
    }
    return TRUE;
}

static gboolean domain_abi_machine(const DomainDef *src, const DomainDef *dst, GError **error)
{
    char a[FERRY_UUID_STRING_BUFLEN], b[FERRY_UUID_STRING_BUFLEN];

    ABI_CHECK_ENUM(error, "type", domain_virt_to_string, src->virt_type, dst->virt_type);
    if (!ferry_uuid_equal(src->uuid, dst->uuid))
        return ABI_FAIL(error, "target domain uuid %s does not match source %s",
                        ferry_uuid_format(dst->uuid, b), ferry_uuid_format(src->uuid, a));
    ABI_CHECK_STR(error, "os type", src->os.type, dst->os.type);
    ABI_CHECK_STR(error, "architecture", src->os.arch, dst->os.arch);
    ABI_CHECK_STR(error, "machine type", src->os.machine, dst->os.machine);
    ABI_CHECK_UINT(error, "memory size (KiB)", src->memory_kib, dst->memory_kib);
    ABI_CHECK_UINT(error, "vcpu count", src->vcpus, dst->vcpus);
    ABI_CHECK_UINT(error, "current vcpu count", src->current_vcpus, dst->current_vcpus);
    if (src->features.acpi != dst->features.acpi || src->features.apic != dst->features.apic ||
        src->features.pae != dst->features.pae || src->features.vmport != dst->features.vmport)
        return ABI_FAIL(error, "target domain <features> do not match the source's");
    ABI_CHECK_ENUM(error, "suspend-to-mem", domain_tristate_to_string, src->pm.suspend_to_mem,
                   dst->pm.suspend_to_mem);
    ABI_CHECK_ENUM(error, "suspend-to-disk", domain_tristate_to_string, src->pm.suspend_to_disk,
                   dst->pm.suspend_to_disk);
    if (!domain_abi_cpu(&src->cpu, &dst->cpu, error))
        return FALSE;
    ABI_CHECK_ENUM(error, "clock offset", domain_clock_offset_to_string, src->clock.offset,
                   dst->clock.offset);
    ABI_CHECK_UINT(error, "timer count", src->clock.ntimers, dst->clock.ntimers);
    for (size_t i = 0; i < src->clock.ntimers; i++) {
        const DomainTimerDef *x = &src->clock.timers[i], *y = &dst->clock.timers[i];

        if (x->name != y->name || x->tickpolicy != y->tickpolicy || x->present != y->present)
            return ABI_FAIL(error, "target domain timer '%s' does not match source '%s'",
                            domain_timer_name_to_string(y->name),
                            domain_timer_name_to_string(x->name));
    }
    return TRUE;
}

static gboolean domain_abi_disk(const DomainDiskDef *src, const DomainDiskDef *dst, GError **error)
{
    ABI_CHECK_STR(error, "disk target", src->target_dev, dst->target_dev);
    ABI_CHECK_ENUM(error, "disk device", domain_disk_device_to_string, src->device, dst->device);
    ABI_CHECK_ENUM(error, "disk bus", domain_disk_bus_to_string, src->bus, dst->bus);
    if (src->readonly != dst->readonly)
        return ABI_FAIL(error, "target domain disk '%s' is %sread-only, source %sread-only",
                        dst->target_dev, dst->readonly ? "" : "not ", src->readonly ? "" : "not ");
    return domain_abi_info("disk", &src->info, &dst->info, error);
}

static gboolean domain_abi_net(const DomainNetDef *src, const DomainNetDef *dst, GError **error)
{
    char a[DOMAIN_MAC_STRING_BUFLEN], b[DOMAIN_MAC_STRING_BUFLEN];

    if (memcmp(src->mac, dst->mac, sizeof(src->mac)) != 0)
        return ABI_FAIL(error, "target domain interface MAC address %s does not match source %s",
                        domain_mac_format(dst->mac, b), domain_mac_format(src->mac, a));
    ABI_CHECK_ENUM(error, "interface model", domain_net_model_to_string, src->model, dst->model);
    return domain_abi_info("interface", &src->info, &dst->info, error);
}

static gboolean domain_abi_chr(const char *what, const DomainChrDef *src, const DomainChrDef *dst,
                               GError **error)
{
    g_autofree char *target = g_strdup_printf("%s target", what);
    g_autofree char *port = g_strdup_printf("%s port", what);

    ABI_CHECK_ENUM(error, target, domain_chr_target_to_string, src->target, dst->target);
    ABI_CHECK_UINT(error, port, src->port, dst->port);
    return domain_abi_info(what, &src->info, &dst->info, error);
}

static gboolean domain_abi_video(const DomainVideoDef *src, const DomainVideoDef *dst,
                                 GError **error)
{
    ABI_CHECK_ENUM(error, "video model", domain_video_to_string, src->model, dst->model);
    ABI_CHECK_UINT(error, "video vram", src->vram, dst->vram);
    ABI_CHECK_UINT(error, "video ram", src->ram, dst->ram);
    ABI_CHECK_UINT(error, "video vgamem", src->vgamem, dst->vgamem);
    ABI_CHECK_UINT(error, "video heads", src->heads, dst->heads);
    return domain_abi_info("video", &src->info, &dst->info, error);
}

static gboolean domain_abi_controller(const DomainControllerDef *src,
                                      const DomainControllerDef *dst, GError **error)
{
    ABI_CHECK_ENUM(error, "controller type", domain_controller_type_to_string, src->type,
                   dst->type);
    const char *type = domain_controller_type_to_string(src->type);
    g_autofree char *what = g_strdup_printf("controller type='%s'", type);
    g_autofree char *index = g_strdup_printf("%s index", what);
    ABI_CHECK_UINT(error, index, src->index, dst->index);
    g_autofree char *what_index = g_strdup_printf("%s index='%u'", what, src->index);
    if (src->model != dst->model) {
        static const DomainEnumToString names[] = {
            [DOMAIN_CONTROLLER_TYPE_PCI] = domain_pci_model_to_string,
            [DOMAIN_CONTROLLER_TYPE_USB] = domain_usb_model_to_string,
            [DOMAIN_CONTROLLER_TYPE_SCSI] = domain_scsi_model_to_string,
            [DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL] = NULL,
        };
        G_STATIC_ASSERT(G_N_ELEMENTS(names) == DOMAIN_CONTROLLER_TYPE_LAST);
        DomainEnumToString to_string = names[src->type];
        return ABI_FAIL(error, "target domain %s model '%s' does not match source '%s'", what_index,
                        to_string ? to_string(dst->model) : "",
                        to_string ? to_string(src->model) : "");
    }
    g_autofree char *model_name = g_strdup_printf("%s model name", what_index);
    ABI_CHECK_STR(error, model_name, src->model_name, dst->model_name);
    static const char *const fields[] = { "chassisNr",        "chassis", "port",
                                          "master startport", "ports",   "vectors" };
    const long long a[] = { src->chassis_nr,       src->chassis, src->port,
                            src->master_startport, src->ports,   src->vectors };
    const long long b[] = { dst->chassis_nr,       dst->chassis, dst->port,
                            dst->master_startport, dst->ports,   dst->vectors };
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        if (a[i] != b[i])
            return ABI_FAIL(error, "target domain %s %s %lld does not match source %lld",
                            what_index, fields[i], b[i], a[i]);
    }
    g_autofree char *hotplug = g_strdup_printf("%s hotplug", what_index);
    ABI_CHECK_ENUM(error, hotplug, domain_tristate_to_string, src->hotplug, dst->hotplug);
    return domain_abi_info("controller", &src->info, &dst->info, error);
}

/* The devices added after the first version. */
static gboolean domain_abi_other_devices(const DomainDef *src, const DomainDef *dst, GError **error)
{
    ABI_CHECK_UINT(error, "controller count", src->ncontrollers, dst->ncontrollers);
    for (size_t i = 0; i < src->ncontrollers; i++) {
        if (!domain_abi_controller(src->controllers[i], dst->controllers[i], error))
            return FALSE;
    }
    ABI_CHECK_UINT(error, "input count", src->ninputs, dst->ninputs);
    for (size_t i = 0; i < src->ninputs; i++) {
        const DomainInputDef *a = src->inputs[i], *b = dst->inputs[i];

        ABI_CHECK_ENUM(error, "input type", domain_input_type_to_string, a->type, b->type);
        ABI_CHECK_ENUM(error, "input bus", domain_input_bus_to_string, a->bus, b->bus);
        if (!domain_abi_info("input", &a->info, &b->info, error))
            return FALSE;
    }
    ABI_CHECK_UINT(error, "channel count", src->nchannels, dst->nchannels);
    for (size_t i = 0; i < src->nchannels; i++) {
        const DomainChannelDef *a = src->channels[i], *b = dst->channels[i];

        /* The guest sees the port's name, not the host side of it. */
        ABI_CHECK_STR(error, "channel target name", a->target_name, b->target_name);
        if (!domain_abi_info("channel", &a->info, &b->info, error))
            return FALSE;
    }
    ABI_CHECK_UINT(error, "sound count", src->nsounds, dst->nsounds);
    for (size_t i = 0; i < src->nsounds; i++) {
        ABI_CHECK_ENUM(error, "sound model", domain_sound_model_to_string, src->sounds[i]->model,
                       dst->sounds[i]->model);
        if (!domain_abi_info("sound", &src->sounds[i]->info, &dst->sounds[i]->info, error))
            return FALSE;
    }
    ABI_CHECK_UINT(error, "redirdev count", src->nredirdevs, dst->nredirdevs);
    for (size_t i = 0; i < src->nredirdevs; i++) {
        if (!domain_abi_info("redirdev", &src->redirdevs[i]->info, &dst->redirdevs[i]->info, error))
            return FALSE;
    }
    ABI_CHECK_UINT(error, "watchdog count", src->watchdog != NULL, dst->watchdog != NULL);
    if (src->watchdog) {
        ABI_CHECK_ENUM(error, "watchdog model", domain_watchdog_model_to_string,
                       src->watchdog->model, dst->watchdog->model);
        if (!domain_abi_info("watchdog", &src->watchdog->info, &dst->watchdog->info, error))
            return FALSE;
    }
    /* The rng's host device (backend) is not the guest's business. */
    ABI_CHECK_UINT(error, "rng count", src->nrngs, dst->nrngs);
    for (size_t i = 0; i < src->nrngs; i++) {
        if (!domain_abi_info("rng", &src->rngs[i]->info, &dst->rngs[i]->info, error))
            return FALSE;
    }
    return TRUE;
}

gboolean domain_def_check_abi_stability(const DomainDef *src, const DomainDef *dst, GError **error)
{
    if (!domain_abi_machine(src, dst, error) || !domain_abi_other_devices(src, dst, error))
        return FALSE;

    ABI_CHECK_UINT(error, "disk count", src->ndisks, dst->ndisks);
    for (size_t i = 0; i < src->ndisks; i++) {
        if (!domain_abi_disk(src->disks[i], dst->disks[i], error))
            return FALSE;
    }
    ABI_CHECK_UINT(error, "interface count", src->nnets, dst->nnets);
    for (size_t i = 0; i < src->nnets; i++) {
        if (!domain_abi_net(src->nets[i], dst->nets[i], error))
            return FALSE;
    }
    ABI_CHECK_UINT(error, "serial count", src->nserials, dst->nserials);
    for (size_t i = 0; i < src->nserials; i++) {
        if (!domain_abi_chr("serial", src->serials[i], dst->serials[i], error))
            return FALSE;
    }
    ABI_CHECK_UINT(error, "console count", src->nconsoles, dst->nconsoles);
    for (size_t i = 0; i < src->nconsoles; i++) {
        if (!domain_abi_chr("console", src->consoles[i], dst->consoles[i], error))
            return FALSE;
    }
    ABI_CHECK_UINT(error, "graphics count", src->ngraphics, dst->ngraphics);
    for (size_t i = 0; i < src->ngraphics; i++) {
        ABI_CHECK_ENUM(error, "graphics type", domain_graphics_to_string, src->graphics[i]->type,
                       dst->graphics[i]->type);
    }
    ABI_CHECK_UINT(error, "video count", src->nvideos, dst->nvideos);
    for (size_t i = 0; i < src->nvideos; i++) {
        if (!domain_abi_video(src->videos[i], dst->videos[i], error))
            return FALSE;
    }
    ABI_CHECK_ENUM(error, "memballoon model", domain_balloon_to_string, src->memballoon->model,
                   dst->memballoon->model);
    return domain_abi_info("memballoon", &src->memballoon->info, &dst->memballoon->info, error);
}
