/*
 * qemu_command.c: the machine, CPU, memory, boot and monitor parts of
 * QEMU's command line, and the options that drive it.  Devices are in
 * qemu_command_devices.c.  The decisions are listed in qemu_command.h.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.command"

#include "util/error.h"
#include "util/log.h"

#include "driver/qemu_command_priv.h"

/* ---------------------------------------------------------------- helpers */

void qemu_cmd_add(QemuCmd *cmd, const char *arg)
{
    g_ptr_array_add(cmd->argv, g_strdup(arg));
}

void qemu_cmd_add_pair(QemuCmd *cmd, const char *opt, const char *arg)
{
    qemu_cmd_add(cmd, opt);
    qemu_cmd_add(cmd, arg);
}

void qemu_cmd_add_pair_take(QemuCmd *cmd, const char *opt, char *arg)
{
    qemu_cmd_add(cmd, opt);
    g_ptr_array_add(cmd->argv, arg);
}

void qemu_opt_escape_append(GString *buf, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == ',')
            g_string_append_c(buf, ',');
        g_string_append_c(buf, *p);
    }
}

char *qemu_command_escape_opt(const char *value)
{
    GString *buf = g_string_new(NULL);

    qemu_opt_escape_append(buf, value);
    return g_string_free(buf, FALSE);
}

void qemu_opt_str(GString *buf, const char *key, const char *value)
{
    if (buf->len)
        g_string_append_c(buf, ',');
    g_string_append_printf(buf, "%s=", key);
    qemu_opt_escape_append(buf, value);
}

void qemu_opt_uint(GString *buf, const char *key, unsigned long long value)
{
    if (buf->len)
        g_string_append_c(buf, ',');
    g_string_append_printf(buf, "%s=%llu", key, value);
}

void qemu_opt_bool(GString *buf, const char *key, gboolean value)
{
    qemu_opt_str(buf, key, value ? "on" : "off");
}

static gboolean qemu_id_char(char c, gboolean first)
{
    if (g_ascii_isalpha(c))
        return TRUE;
    return !first && (g_ascii_isdigit(c) || c == '-' || c == '.' || c == '_');
}

gboolean qemu_cmd_check_id(const char *what, const char *id, GError **error)
{
    if (!id || !*id) {
        ferry_fail(error, FERRY_ERR_INTERNAL, "%s has no alias", what);
        return FALSE;
    }
    for (const char *p = id; *p; p++) {
        if (!qemu_id_char(*p, p == id)) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG,
                       "%s: alias '%s' is not a valid QEMU id (a letter, then letters, digits, "
                       "'-', '.' or '_')",
                       what, id);
            return FALSE;
        }
    }
    return TRUE;
}

/* Names that QEMU takes as they are (machine types, CPU models, features). */
static gboolean qemu_name_valid(const char *name)
{
    if (!*name)
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p))
            return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- machine */
/* ---------------------------------------------------------------- machine */

typedef struct {
    const char *exact; /* a machine type that is this family */
    const char *prefix; /* versioned types */
    QemuMachineFamily family;
} QemuMachineMatch;

static const QemuMachineMatch machine_matches[] = {
    { "pc", "pc-i440fx-", QEMU_MACHINE_I440FX },
    { "q35", "pc-q35-", QEMU_MACHINE_Q35 },
};

typedef struct {
    const char *root_bus;
    const char *pm_device; /* the device with disable_s3/disable_s4 */
    guint32 builtin_slots; /* slots of the machine's own devices */
} QemuMachineInfo;

static const QemuMachineInfo machine_infos[] = {
    /* host bridge at 0, PIIX3 (ISA, IDE, USB, PM) at 1 */
    [QEMU_MACHINE_I440FX] = { "pci.0", "PIIX4_PM", (1u << 0) | (1u << 1) },
    /* host bridge at 0, ICH9 (LPC, AHCI, SMBus) at 0x1f */
    [QEMU_MACHINE_Q35] = { "pcie.0", "ICH9-LPC", (1u << 0) | (1u << 0x1f) },
};
G_STATIC_ASSERT(G_N_ELEMENTS(machine_infos) == QEMU_MACHINE_LAST);

#define QEMU_DEFAULT_MACHINE "pc"

static gboolean qemu_cmd_pick_machine(QemuCmd *cmd, GError **error)
{
    const char *machine = cmd->def->os.machine ? cmd->def->os.machine : QEMU_DEFAULT_MACHINE;

    for (gsize i = 0; i < G_N_ELEMENTS(machine_matches); i++) {
        if (g_str_equal(machine, machine_matches[i].exact) ||
            g_str_has_prefix(machine, machine_matches[i].prefix)) {
            if (!qemu_name_valid(machine))
                break;
            cmd->machine = machine;
            cmd->family = machine_matches[i].family;
            cmd->root_bus = machine_infos[cmd->family].root_bus;
            cmd->builtin_slots = machine_infos[cmd->family].builtin_slots;
            return TRUE;
        }
    }
    ferry_fail(error, FERRY_ERR_NO_SUPPORT,
               "domain '%s': machine type '%s' is not supported by ferry's QEMU command line "
               "(pc, pc-i440fx-*, q35, pc-q35-*)",
               cmd->def->name, machine);
    return FALSE;
}

static const DomainTimerDef *qemu_cmd_find_timer(const DomainDef *def, DomainTimerName name)
{
    for (gsize i = 0; i < def->clock.ntimers; i++) {
        if (def->clock.timers[i].name == name)
            return &def->clock.timers[i];
    }
    return NULL;
}

static void qemu_cmd_build_machine(QemuCmd *cmd)
{
    const DomainDef *def = cmd->def;
    const DomainTimerDef *hpet = qemu_cmd_find_timer(def, DOMAIN_TIMER_HPET);
    GString *buf = g_string_new(NULL);

    g_string_append(buf, cmd->machine);
    qemu_opt_bool(buf, "usb", FALSE);
    qemu_opt_bool(buf, "dump-guest-core", FALSE);
    if (def->features.vmport != DOMAIN_TRISTATE_ABSENT)
        qemu_opt_bool(buf, "vmport", def->features.vmport == DOMAIN_TRISTATE_ON);
    if (hpet && hpet->present != DOMAIN_TRISTATE_ABSENT)
        qemu_opt_bool(buf, "hpet", hpet->present == DOMAIN_TRISTATE_ON);
    qemu_cmd_add_pair_take(cmd, "-machine", g_string_free(buf, FALSE));
    qemu_cmd_add_pair(cmd, "-accel", cmd->kvm ? "kvm" : "tcg");
}

/* ---------------------------------------------------------------- cpu */

/* libvirt's CPU feature names that QEMU spells differently, beyond '_'
 * becoming '-'. */
static const struct {
    const char *libvirt;
    const char *qemu;
} cpu_feature_renames[] = {
    { "pclmuldq", "pclmulqdq" },
};

static const char *const cpu_policy_values[] = {
    [DOMAIN_CPU_POLICY_FORCE] = "on",    [DOMAIN_CPU_POLICY_REQUIRE] = "on",
    [DOMAIN_CPU_POLICY_OPTIONAL] = "on", [DOMAIN_CPU_POLICY_DISABLE] = "off",
    [DOMAIN_CPU_POLICY_FORBID] = "off",
};
G_STATIC_ASSERT(G_N_ELEMENTS(cpu_policy_values) == DOMAIN_CPU_POLICY_LAST);

static gboolean qemu_cmd_cpu_features(QemuCmd *cmd, GString *buf, GError **error)
{
    const DomainCpuDef *cpu = &cmd->def->cpu;

    for (gsize i = 0; i < cpu->nfeatures; i++) {
        const DomainCpuFeature *f = &cpu->features[i];
        g_autofree char *name = g_strdup(f->name);

        for (gsize j = 0; j < G_N_ELEMENTS(cpu_feature_renames); j++) {
            if (g_str_equal(name, cpu_feature_renames[j].libvirt)) {
                g_free(name);
                name = g_strdup(cpu_feature_renames[j].qemu);
            }
        }
        g_strdelimit(name, "_", '-');
        if (!qemu_name_valid(name)) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG,
                       "domain '%s': CPU feature '%s' is not a name QEMU accepts", cmd->def->name,
                       f->name);
            return FALSE;
        }
        qemu_opt_str(buf, name, cpu_policy_values[f->policy]);
    }
    return TRUE;
}

static gboolean qemu_cmd_build_cpu(QemuCmd *cmd, GError **error)
{
    const DomainDef *def = cmd->def;
    const DomainCpuDef *cpu = &def->cpu;
    const DomainTimerDef *kvmclock = qemu_cmd_find_timer(def, DOMAIN_TIMER_KVMCLOCK);
    g_autoptr(GString) buf = g_string_new(NULL);

    if (kvmclock && kvmclock->present == DOMAIN_TRISTATE_ABSENT)
        kvmclock = NULL;
    switch (cpu->mode) {
    case DOMAIN_CPU_MODE_NONE:
        /* QEMU's default model, named when something must be added to it
         * or when it differs by guest arch (qemu-system-i386's is qemu32) */
        if (!kvmclock && !g_strcmp0(def->os.arch, "x86_64"))
            return TRUE;
        g_string_append(buf, g_strcmp0(def->os.arch, "i686") ? "qemu64" : "qemu32");
        break;
    case DOMAIN_CPU_MODE_CUSTOM:
        if (!cpu->model || !qemu_name_valid(cpu->model)) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG,
                       "domain '%s': CPU model '%s' is not a name QEMU accepts", def->name,
                       cpu->model ? cpu->model : "");
            return FALSE;
        }
        g_string_append(buf, cpu->model);
        break;
    case DOMAIN_CPU_MODE_HOST_PASSTHROUGH:
        if (!cmd->kvm) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "domain '%s': CPU mode 'host-passthrough' needs kvm, not tcg (use "
                       "'maximum' or a custom model)",
                       def->name);
            return FALSE;
        }
        g_string_append(buf, "host");
        break;
    case DOMAIN_CPU_MODE_HOST_MODEL:
        g_string_append(buf, cmd->kvm ? "host" : "max");
        break;
    case DOMAIN_CPU_MODE_MAXIMUM:
        g_string_append(buf, "max");
        break;
    case DOMAIN_CPU_MODE_LAST:
        g_assert_not_reached();
    }
    if (cpu->migratable == DOMAIN_TRISTATE_OFF) {
        if (cmd->opts->migratable) {
            ferry_fail(error, FERRY_ERR_MIGRATE_UNSAFE,
                       "domain '%s': a CPU with migratable='off' cannot migrate", def->name);
            return FALSE;
        }
        qemu_opt_bool(buf, "migratable", FALSE);
    }
    if (!qemu_cmd_cpu_features(cmd, buf, error))
        return FALSE;
    if (kvmclock)
        qemu_opt_bool(buf, "kvmclock", kvmclock->present == DOMAIN_TRISTATE_ON);
    qemu_cmd_add_pair(cmd, "-cpu", buf->str);
    return TRUE;
}

/* ---------------------------------------------------------------- memory, smp */

static void qemu_cmd_build_memory(QemuCmd *cmd)
{
    unsigned long long mib = (cmd->def->memory_kib + 1023) / 1024;

    qemu_cmd_add_pair_take(cmd, "-m", g_strdup_printf("%llu", mib));
}

static void qemu_cmd_build_smp(QemuCmd *cmd)
{
    const DomainDef *def = cmd->def;
    const DomainCpuDef *cpu = &def->cpu;
    unsigned int current = def->current_vcpus ? def->current_vcpus : def->vcpus;
    GString *buf = g_string_new(NULL);

    g_string_append_printf(buf, "%u", current);
    if (current != def->vcpus)
        qemu_opt_uint(buf, "maxcpus", def->vcpus);
    if (cpu->sockets) {
        qemu_opt_uint(buf, "sockets", cpu->sockets);
        if (cpu->dies)
            qemu_opt_uint(buf, "dies", cpu->dies);
        qemu_opt_uint(buf, "cores", cpu->cores);
        qemu_opt_uint(buf, "threads", cpu->threads);
    } else {
        qemu_opt_uint(buf, "sockets", def->vcpus);
        qemu_opt_uint(buf, "cores", 1);
        qemu_opt_uint(buf, "threads", 1);
    }
    qemu_cmd_add_pair_take(cmd, "-smp", g_string_free(buf, FALSE));
}

/* ---------------------------------------------------------------- clock */

/* What each timer and tick policy becomes; combos not listed are refused. */
typedef enum {
    QEMU_TIMER_NOTHING, /* QEMU's default behaviour */
    QEMU_TIMER_RTC_SLEW, /* -rtc driftfix=slew */
    QEMU_TIMER_PIT_DELAY, /* kvm-pit.lost_tick_policy=delay */
    QEMU_TIMER_PIT_DISCARD, /* kvm-pit.lost_tick_policy=discard */
} QemuTimerEffect;

static const struct {
    DomainTimerName name;
    DomainTickPolicy tickpolicy;
    QemuTimerEffect effect;
} timer_map[] = {
    { DOMAIN_TIMER_RTC, DOMAIN_TICKPOLICY_DEFAULT, QEMU_TIMER_NOTHING },
    { DOMAIN_TIMER_RTC, DOMAIN_TICKPOLICY_DELAY, QEMU_TIMER_NOTHING },
    { DOMAIN_TIMER_RTC, DOMAIN_TICKPOLICY_CATCHUP, QEMU_TIMER_RTC_SLEW },
    { DOMAIN_TIMER_PIT, DOMAIN_TICKPOLICY_DEFAULT, QEMU_TIMER_NOTHING },
    { DOMAIN_TIMER_PIT, DOMAIN_TICKPOLICY_DELAY, QEMU_TIMER_PIT_DELAY },
    { DOMAIN_TIMER_PIT, DOMAIN_TICKPOLICY_DISCARD, QEMU_TIMER_PIT_DISCARD },
    { DOMAIN_TIMER_HPET, DOMAIN_TICKPOLICY_DEFAULT, QEMU_TIMER_NOTHING }, /* -machine hpet= */
    { DOMAIN_TIMER_KVMCLOCK, DOMAIN_TICKPOLICY_DEFAULT, QEMU_TIMER_NOTHING }, /* -cpu kvmclock= */
};

static gboolean qemu_cmd_build_clock(QemuCmd *cmd, GError **error)
{
    const DomainDef *def = cmd->def;
    g_autoptr(GString) rtc = g_string_new(NULL);
    const char *pit_policy = NULL;

    qemu_opt_str(rtc, "base", def->clock.offset == DOMAIN_CLOCK_LOCALTIME ? "localtime" : "utc");
    for (gsize i = 0; i < def->clock.ntimers; i++) {
        const DomainTimerDef *t = &def->clock.timers[i];
        gboolean found = FALSE;
        QemuTimerEffect effect = QEMU_TIMER_NOTHING;

        for (gsize j = 0; j < G_N_ELEMENTS(timer_map) && !found; j++) {
            if (timer_map[j].name == t->name && timer_map[j].tickpolicy == t->tickpolicy) {
                found = TRUE;
                effect = timer_map[j].effect;
            }
        }
        if (!found || (t->name != DOMAIN_TIMER_HPET && t->name != DOMAIN_TIMER_KVMCLOCK &&
                       t->present != DOMAIN_TRISTATE_ABSENT)) {
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "domain '%s': timer '%s'%s%s%s is not supported by ferry's QEMU command "
                       "line",
                       def->name, domain_timer_name_to_string(t->name),
                       t->tickpolicy ? " with tickpolicy '" : "",
                       t->tickpolicy ? domain_tickpolicy_to_string(t->tickpolicy) : "",
                       t->tickpolicy ? "'" : (t->present ? " with present" : ""));
            return FALSE;
        }
        if (effect == QEMU_TIMER_RTC_SLEW)
            qemu_opt_str(rtc, "driftfix", "slew");
        else if (effect == QEMU_TIMER_PIT_DELAY)
            pit_policy = "delay";
        else if (effect == QEMU_TIMER_PIT_DISCARD)
            pit_policy = "discard";
    }
    qemu_cmd_add_pair(cmd, "-rtc", rtc->str);
    /* The in-kernel PIT exists only under kvm; tcg's PIT has no policy. */
    if (pit_policy && cmd->kvm)
        qemu_cmd_add_pair_take(cmd, "-global",
                               g_strdup_printf("kvm-pit.lost_tick_policy=%s", pit_policy));
    return TRUE;
}

/* ---------------------------------------------------------------- lifecycle, pm */

static gboolean qemu_cmd_build_lifecycle(QemuCmd *cmd, GError **error)
{
    const DomainDef *def = cmd->def;

    if (def->on_poweroff == DOMAIN_LIFECYCLE_PRESERVE)
        qemu_cmd_add(cmd, "-no-shutdown");
    switch (def->on_reboot) {
    case DOMAIN_LIFECYCLE_RESTART:
        break;
    case DOMAIN_LIFECYCLE_DESTROY:
        qemu_cmd_add(cmd, "-no-reboot");
        break;
    default:
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "domain '%s': on_reboot '%s' is not supported by ferry's QEMU command line",
                   def->name, domain_lifecycle_to_string(def->on_reboot));
        return FALSE;
    }
    return TRUE;
}

static void qemu_cmd_build_pm(QemuCmd *cmd)
{
    const DomainPmDef *pm = &cmd->def->pm;
    const char *dev = machine_infos[cmd->family].pm_device;

    if (pm->suspend_to_mem != DOMAIN_TRISTATE_ABSENT)
        qemu_cmd_add_pair_take(
            cmd, "-global",
            g_strdup_printf("%s.disable_s3=%d", dev, pm->suspend_to_mem == DOMAIN_TRISTATE_OFF));
    if (pm->suspend_to_disk != DOMAIN_TRISTATE_ABSENT)
        qemu_cmd_add_pair_take(
            cmd, "-global",
            g_strdup_printf("%s.disable_s4=%d", dev, pm->suspend_to_disk == DOMAIN_TRISTATE_OFF));
}

/* ---------------------------------------------------------------- boot */

static const char boot_letters[] = {
    [DOMAIN_BOOT_FD] = 'a',
    [DOMAIN_BOOT_CDROM] = 'd',
    [DOMAIN_BOOT_HD] = 'c',
    [DOMAIN_BOOT_NETWORK] = 'n',
};
G_STATIC_ASSERT(G_N_ELEMENTS(boot_letters) == DOMAIN_BOOT_LAST);

static gboolean qemu_cmd_has_boot_index(const DomainDef *def)
{
    for (gsize i = 0; i < def->ndisks; i++) {
        if (def->disks[i]->info.boot_order)
            return TRUE;
    }
    for (gsize i = 0; i < def->nnets; i++) {
        if (def->nets[i]->info.boot_order)
            return TRUE;
    }
    return FALSE;
}

static gboolean qemu_cmd_build_boot(QemuCmd *cmd, GError **error)
{
    const DomainDef *def = cmd->def;
    gboolean indexes = qemu_cmd_has_boot_index(def);

    if (indexes && def->os.nboot) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': <os><boot dev=...> and per-device <boot order=...> cannot be "
                   "mixed",
                   def->name);
        return FALSE;
    }
    if (def->os.nboot) {
        GString *buf = g_string_new("order=");

        for (gsize i = 0; i < def->os.nboot; i++)
            g_string_append_c(buf, boot_letters[def->os.boot[i]]);
        qemu_cmd_add_pair_take(cmd, "-boot", g_string_free(buf, FALSE));
    } else if (indexes) {
        qemu_cmd_add_pair(cmd, "-boot", "strict=on");
    }
    /* Not key=value options: QEMU takes each argument whole. */
    if (def->os.kernel)
        qemu_cmd_add_pair(cmd, "-kernel", def->os.kernel);
    if (def->os.initrd)
        qemu_cmd_add_pair(cmd, "-initrd", def->os.initrd);
    if (def->os.cmdline)
        qemu_cmd_add_pair(cmd, "-append", def->os.cmdline);
    return TRUE;
}

/* ---------------------------------------------------------------- monitor */

static gboolean qemu_cmd_build_monitor(QemuCmd *cmd, GError **error)
{
    const QemuCommandOptions *opts = cmd->opts;
    g_autoptr(GString) buf = g_string_new("socket,id=charmonitor");

    if (opts->qmp_fd >= 0 && opts->qmp_path) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': both a QMP socket path and a QMP fd were given", cmd->def->name);
        return FALSE;
    }
    if (opts->qmp_fd >= 0) {
        qemu_opt_uint(buf, "fd", (unsigned int)opts->qmp_fd);
    } else if (opts->qmp_path && *opts->qmp_path) {
        qemu_opt_str(buf, "path", opts->qmp_path);
    } else {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': no QMP socket (a path or a listening fd) was given",
                   cmd->def->name);
        return FALSE;
    }
    qemu_opt_bool(buf, "server", TRUE);
    qemu_opt_bool(buf, "wait", FALSE);
    qemu_cmd_add_pair(cmd, "-chardev", buf->str);
    qemu_cmd_add_pair(cmd, "-mon", "chardev=charmonitor,id=monitor,mode=control");
    return TRUE;
}

/* ---------------------------------------------------------------- the whole */

static gboolean qemu_cmd_pick_accel(QemuCmd *cmd, GError **error)
{
    const char *accel = cmd->opts->accel;

    if (!accel) {
        cmd->kvm = cmd->def->virt_type == DOMAIN_VIRT_KVM;
        return TRUE;
    }
    if (g_str_equal(accel, "kvm") || g_str_equal(accel, "tcg")) {
        cmd->kvm = g_str_equal(accel, "kvm");
        return TRUE;
    }
    ferry_fail(error, FERRY_ERR_INVALID_ARG,
               "domain '%s': accelerator '%s' is not one of 'kvm' and 'tcg'", cmd->def->name,
               accel);
    return FALSE;
}

static gboolean qemu_cmd_build_all(QemuCmd *cmd, GError **error)
{
    const DomainDef *def = cmd->def;
    const QemuCommandOptions *opts = cmd->opts;
    const char *emulator = opts->emulator ? opts->emulator : def->emulator;
    g_autoptr(GString) name = g_string_new(NULL);

    if (!qemu_cmd_pick_accel(cmd, error) || !qemu_cmd_pick_machine(cmd, error))
        return FALSE;
    qemu_cmd_add(cmd, emulator ? emulator : QEMU_SYSTEM_X86_64);

    qemu_opt_str(name, "guest", def->name);
    qemu_opt_bool(name, "debug-threads", TRUE);
    qemu_cmd_add_pair(cmd, "-name", name->str);
    qemu_cmd_add(cmd, "-S");
    qemu_cmd_build_machine(cmd);
    if (!qemu_cmd_build_cpu(cmd, error))
        return FALSE;
    qemu_cmd_build_memory(cmd);
    qemu_cmd_build_smp(cmd);
    {
        char uuid[FERRY_UUID_STRING_BUFLEN];

        ferry_uuid_format(def->uuid, uuid);
        qemu_cmd_add_pair(cmd, "-uuid", uuid);
    }
    qemu_cmd_add(cmd, "-no-user-config");
    qemu_cmd_add(cmd, "-nodefaults");
    if (def->ngraphics == 0)
        qemu_cmd_add_pair(cmd, "-display", "none");
    if (!qemu_cmd_build_monitor(cmd, error) || !qemu_cmd_build_clock(cmd, error) ||
        !qemu_cmd_build_lifecycle(cmd, error))
        return FALSE;
    qemu_cmd_build_pm(cmd);
    if (!qemu_cmd_build_boot(cmd, error))
        return FALSE;

    /* Devices: controllers first (their buses), then by kind, in the
     * definition's order within a kind. */
    if (!qemu_cmd_reserve_pci_slots(cmd, error) || !qemu_cmd_build_controllers(cmd, error) ||
        !qemu_cmd_build_disks(cmd, error) || !qemu_cmd_build_nets(cmd, error) ||
        !qemu_cmd_build_chardevs(cmd, error) || !qemu_cmd_build_channels(cmd, error) ||
        !qemu_cmd_build_graphics(cmd, error) || !qemu_cmd_build_audio(cmd, error) ||
        !qemu_cmd_build_videos(cmd, error) || !qemu_cmd_build_inputs(cmd, error) ||
        !qemu_cmd_build_sounds(cmd, error) || !qemu_cmd_build_watchdog(cmd, error) ||
        !qemu_cmd_build_rngs(cmd, error) || !qemu_cmd_build_redirdevs(cmd, error) ||
        !qemu_cmd_build_memballoon(cmd, error))
        return FALSE;

    if (opts->incoming) {
        if (!*opts->incoming) {
            ferry_fail(error, FERRY_ERR_INVALID_ARG, "domain '%s': the incoming URI is empty",
                       def->name);
            return FALSE;
        }
        qemu_cmd_add_pair(cmd, "-incoming", opts->incoming);
    }
    if (opts->sandbox)
        qemu_cmd_add_pair(
            cmd, "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    qemu_cmd_add_pair(cmd, "-msg", "timestamp=on");
    return TRUE;
}

char **qemu_command_build(const DomainDef *def, const QemuCommandOptions *opts, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    QemuCmd cmd = { .def = def, .opts = opts, .argv = argv };

    if (!qemu_cmd_build_all(&cmd, error))
        return NULL;
    FLOG_DEBUG("domain '%s': %u QEMU arguments", def->name, argv->len);
    g_ptr_array_add(argv, NULL);
    g_ptr_array_set_free_func(argv, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

/* ---------------------------------------------------------------- env */

#define QEMU_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

char **qemu_command_build_env(const char *domain_dir)
{
    const char *path = g_getenv("PATH");
    GPtrArray *env = g_ptr_array_new();

    g_ptr_array_add(env, g_strdup("LC_ALL=C"));
    g_ptr_array_add(env, g_strdup_printf("PATH=%s", path && *path ? path : QEMU_DEFAULT_PATH));
    g_ptr_array_add(env, g_strdup_printf("HOME=%s", domain_dir));
    g_ptr_array_add(env, g_strdup_printf("XDG_DATA_HOME=%s/.local/share", domain_dir));
    g_ptr_array_add(env, g_strdup_printf("XDG_CACHE_HOME=%s/.cache", domain_dir));
    g_ptr_array_add(env, g_strdup_printf("XDG_CONFIG_HOME=%s/.config", domain_dir));
    g_ptr_array_add(env, NULL);
    return (char **)g_ptr_array_free(env, FALSE);
}

void qemu_command_env_apply(Spawn *spawn, const char *const *env)
{
    spawn_clear_env(spawn);
    for (gsize i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        g_autofree char *name = NULL;

        if (!eq)
            continue;
        name = g_strndup(env[i], (gsize)(eq - env[i]));
        spawn_set_env(spawn, name, eq + 1);
    }
}

static gboolean qemu_shell_safe(const char *s)
{
    if (!*s)
        return FALSE;
    for (const char *p = s; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-_./=:,+@%", *p))
            return FALSE;
    }
    return TRUE;
}

static void qemu_append_quoted(GString *out, const char *s)
{
    if (out->len)
        g_string_append_c(out, ' ');
    if (qemu_shell_safe(s)) {
        g_string_append(out, s);
    } else {
        g_autofree char *q = g_shell_quote(s);
        g_string_append(out, q);
    }
}

char *qemu_command_to_string(const char *const *env, const char *const *argv)
{
    GString *out = g_string_new(NULL);

    for (gsize i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        g_autofree char *name = NULL;
        g_autoptr(GString) value = g_string_new(NULL);

        if (!eq)
            continue;
        name = g_strndup(env[i], (gsize)(eq - env[i]));
        qemu_append_quoted(value, eq + 1);
        g_string_append_printf(out, "%s%s=%s", out->len ? " " : "", name, value->str);
    }
    for (gsize i = 0; argv && argv[i]; i++)
        qemu_append_quoted(out, argv[i]);
    return g_string_free(out, FALSE);
}
