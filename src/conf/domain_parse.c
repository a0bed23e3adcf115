/*
 * domain_parse.c: reading <domain> (everything but <devices>) and the
 * <domstatus> wrapper.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.domain"

#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"
#include "conf/domain_priv.h"

/* ---------------------------------------------------------------- memory */

typedef struct {
    const char *name;
    unsigned long long bytes;
} DomainMemoryUnit;

/* libvirt's units; compared without regard to case, as libvirt does. */
static const DomainMemoryUnit domain_memory_units[] = {
    { "b", 1ULL },       { "bytes", 1ULL },     { "KB", 1000ULL },
    { "k", 1024ULL },    { "KiB", 1024ULL },    { "MB", 1000ULL * 1000 },
    { "M", 1ULL << 20 }, { "MiB", 1ULL << 20 }, { "GB", 1000ULL * 1000 * 1000 },
    { "G", 1ULL << 30 }, { "GiB", 1ULL << 30 }, { "TB", 1000ULL * 1000 * 1000 * 1000 },
    { "T", 1ULL << 40 }, { "TiB", 1ULL << 40 },
};

/* Reads <name unit='...'>N</name> into KiB (rounded up, as libvirt does).
 * Returns 1, 0 when the element is absent, -1 on error. */
static int domain_parse_memory(xmlNode *root, const char *name, unsigned long long *kib,
                               GError **error)
{
    xmlNode *node = xml_child(root, name);
    unsigned long long value = 0, scale = 1024;

    if (!node)
        return 0;
    g_autofree char *unit = xml_prop(node, "unit");
    if (unit) {
        size_t i;

        for (i = 0; i < G_N_ELEMENTS(domain_memory_units); i++) {
            if (g_ascii_strcasecmp(unit, domain_memory_units[i].name) == 0)
                break;
        }
        if (i == G_N_ELEMENTS(domain_memory_units))
            return ferry_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <%s unit='%s'>: unknown unit",
                              name, unit);
        scale = domain_memory_units[i].bytes;
    }
    g_autofree char *text = xml_text(node);
    if (text[0] == '-')
        return ferry_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <%s>%s</%s>: negative size", name,
                          text, name);
    if (xml_text_ullong(node, &value, FERRY_FROM_XML, error) < 0) {
        domain_xml_prefix_error(error);
        return -1;
    }
    if (value > (DOMAIN_MEMORY_MAX_KIB * 1024) / scale)
        return ferry_fail(error, FERRY_ERR_XML,
                          DOMAIN_XML ": <%s>%s</%s>: larger than the limit of %llu KiB", name, text,
                          name, DOMAIN_MEMORY_MAX_KIB);
    *kib = (value * scale + 1023) / 1024;
    if (*kib < DOMAIN_MEMORY_MIN_KIB)
        return ferry_fail(error, FERRY_ERR_XML,
                          DOMAIN_XML ": <%s>%s</%s>: smaller than the minimum of %llu KiB", name,
                          text, name, DOMAIN_MEMORY_MIN_KIB);
    return 1;
}

/* ---------------------------------------------------------------- identity */

static gboolean domain_name_valid(const char *name, GError **error)
{
    size_t len = strlen(name);

    if (len == 0)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <name> is empty");
    if (len > DOMAIN_NAME_MAX)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <name> is %zu bytes long, more than the limit of %d", len,
                           DOMAIN_NAME_MAX);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p == '/' || *p < 0x20 || *p == 0x7f) {
            g_autofree char *escaped = g_strescape(name, NULL);
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <name> '%s' contains '/' or a control character",
                               escaped);
        }
    }
    return TRUE;
}

static gboolean domain_parse_identity(DomainDef *def, xmlNode *root, const DomainParseCtx *ctx,
                                      GError **error)
{
    int virt = 0;

    int rc =
        domain_xml_enum(root, "type", domain_virt_to_string, 0, DOMAIN_VIRT_LAST, &virt, error);
    if (rc < 0)
        return FALSE;
    if (rc == 0)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <domain> has no type attribute");
    def->virt_type = virt;

    if (xml_prop_int(root, "id", &def->id, FERRY_FROM_XML, error) < 0) {
        domain_xml_prefix_error(error);
        return FALSE;
    }
    if (def->id == 0 || def->id < -1)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <domain id='%d'>: expected a positive id", def->id);
    if (ctx->flags & DOMAIN_PARSE_INACTIVE)
        def->id = -1;

    xmlNode *name = xml_child(root, "name");
    if (!name)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": no <name>");
    def->name = xml_text(name);
    if (!domain_name_valid(def->name, error))
        return FALSE;

    xmlNode *uuid = xml_child(root, "uuid");
    if (uuid) {
        g_autofree char *text = xml_text(uuid);
        g_autoptr(GError) uuid_err = NULL;
        if (ferry_uuid_parse(text, def->uuid, &uuid_err) < 0)
            return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <uuid>: %s", uuid_err->message);
    } else {
        unsigned char random[FERRY_UUID_BUFLEN];

        if (domain_random_bytes(ctx, random, sizeof(random), error) < 0) {
            g_prefix_error(error, DOMAIN_XML ": cannot generate a UUID: ");
            return FALSE;
        }
        ferry_uuid_from_random(def->uuid, random);
    }

    xmlNode *title = xml_child(root, "title");
    g_autofree char *title_text = title ? xml_text(title) : NULL;
    if (title_text && title_text[0]) {
        /* An empty title is no title, as in libvirt. */
        def->title = g_steal_pointer(&title_text);
        if (strchr(def->title, '\n'))
            return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <title> must be one line");
        if (strlen(def->title) > DOMAIN_TITLE_MAX)
            return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <title> is longer than %d bytes",
                               DOMAIN_TITLE_MAX);
    }

    xmlNode *description = xml_child(root, "description");
    if (description) {
        /* Untouched: no trimming. */
        g_autoptr(XmlChars) text = (XmlChars *)xmlNodeGetContent(description);
        def->description = g_strdup(text ? text : "");
    }

    xmlNode *metadata = xml_child(root, "metadata");
    if (metadata) {
        if (metadata->properties)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <metadata %s=...>: <metadata> takes no attributes",
                               metadata->properties->name);
        for (xmlNode *child = metadata->children; child; child = child->next) {
            if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE)
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": <metadata> takes elements only, not text");
        }
        /* A copy in a document of its own: copying declares the namespaces
         * that were declared further up on the copy's root. */
        g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
        xmlNode *copy = xmlDocCopyNode(metadata, doc, 1);

        xmlDocSetRootElement(doc, copy);
        def->metadata = xml_format_node(copy);
    }
    return TRUE;
}

/* ---------------------------------------------------------------- resources */

static gboolean domain_parse_vcpu(DomainDef *def, xmlNode *vcpu, GError **error)
{
    unsigned long long n = 0;

    def->vcpus = def->current_vcpus = 1;
    if (!vcpu)
        return TRUE;
    g_autofree char *text = xml_text(vcpu);
    if (text[0] == '-' || xml_text_ullong(vcpu, &n, FERRY_FROM_XML, NULL) < 0 || n < 1 ||
        n > DOMAIN_VCPUS_MAX)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <vcpu>%s</vcpu>: expected a count from 1 to %d", text,
                           DOMAIN_VCPUS_MAX);
    def->vcpus = def->current_vcpus = (unsigned int)n;

    g_autofree char *placement = xml_prop(vcpu, "placement");
    if (placement && !g_str_equal(placement, "static"))
        return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                           DOMAIN_XML ": <vcpu placement='%s'> is not supported by ferry "
                                      "(only 'static')",
                           placement);
    g_autofree char *cpuset = xml_prop(vcpu, "cpuset");
    if (cpuset)
        return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                           DOMAIN_XML ": <vcpu cpuset='%s'> is not supported by ferry", cpuset);
    if (xml_prop_uint(vcpu, "current", &def->current_vcpus, FERRY_FROM_XML, error) < 0) {
        domain_xml_prefix_error(error);
        return FALSE;
    }
    if (def->current_vcpus < 1 || def->current_vcpus > def->vcpus)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <vcpu current='%u'>: expected 1 to %u", def->current_vcpus,
                           def->vcpus);
    return TRUE;
}

static gboolean domain_parse_resources(DomainDef *def, xmlNode *root, GError **error)
{
    int rc = domain_parse_memory(root, "memory", &def->memory_kib, error);
    if (rc < 0)
        return FALSE;
    if (rc == 0)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": no <memory>");
    rc = domain_parse_memory(root, "currentMemory", &def->current_memory_kib, error);
    if (rc < 0)
        return FALSE;
    if (rc == 0)
        def->current_memory_kib = def->memory_kib;
    if (def->current_memory_kib > def->memory_kib)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <currentMemory> %llu KiB is more than <memory> %llu KiB",
                           def->current_memory_kib, def->memory_kib);

    return domain_parse_vcpu(def, xml_child(root, "vcpu"), error);
}

/* ---------------------------------------------------------------- os */

static gboolean domain_parse_os(DomainDef *def, xmlNode *root, GError **error)
{
    static const char *const children[] = { "type", "kernel", "initrd", "cmdline", "boot*", NULL };
    xmlNode *os = xml_child(root, "os");

    if (!os)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": no <os>");
    if (!domain_xml_check_children(os, "<os>", children, error))
        return FALSE;
    g_autofree char *firmware = xml_prop(os, "firmware");
    if (firmware)
        return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                           DOMAIN_XML ": <os firmware='%s'> is not supported by ferry", firmware);
    xmlNode *type = xml_child(os, "type");
    if (!type)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": no <os><type>");
    def->os.type = xml_text(type);
    if (!g_str_equal(def->os.type, "hvm"))
        return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                           DOMAIN_XML ": <os><type>%s</type> is not supported by ferry "
                                      "(only 'hvm')",
                           def->os.type);
    def->os.arch = xml_prop(type, "arch");
    if (!def->os.arch)
        def->os.arch = g_strdup("x86_64");
    if (!g_str_equal(def->os.arch, "x86_64") && !g_str_equal(def->os.arch, "i686"))
        return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                           DOMAIN_XML ": <os><type arch='%s'> is not supported by ferry "
                                      "(x86_64 and i686 only)",
                           def->os.arch);
    def->os.machine = xml_prop(type, "machine");
    if (def->os.machine) {
        if (!def->os.machine[0] ||
            strspn(def->os.machine, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789._-") != strlen(def->os.machine))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <os><type machine='%s'>: not a machine type name",
                               def->os.machine);
    }

    if (xml_child(os, "kernel"))
        def->os.kernel = xml_text(xml_child(os, "kernel"));
    if (xml_child(os, "initrd"))
        def->os.initrd = xml_text(xml_child(os, "initrd"));
    if (xml_child(os, "cmdline"))
        def->os.cmdline = xml_text(xml_child(os, "cmdline"));
    if ((def->os.initrd || def->os.cmdline) && !def->os.kernel)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <os><%s> needs <os><kernel>",
                           def->os.initrd ? "initrd" : "cmdline");
    const char *const paths[] = { def->os.kernel, def->os.initrd };
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
        if (paths[i] && !g_path_is_absolute(paths[i]))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <os><%s>%s</%s>: expected an absolute path",
                               i ? "initrd" : "kernel", paths[i], i ? "initrd" : "kernel");
    }

    XML_FOR_EACH_ELEMENT (os, child) {
        int dev = 0;

        if (!xml_is(child, "boot"))
            continue;
        if (def->os.nboot == DOMAIN_BOOT_DEVS_MAX)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": more than %d <os><boot> elements",
                               DOMAIN_BOOT_DEVS_MAX);
        int rc =
            domain_xml_enum(child, "dev", domain_boot_to_string, 0, DOMAIN_BOOT_LAST, &dev, error);
        if (rc < 0)
            return FALSE;
        if (rc == 0)
            return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <os><boot> has no dev");
        def->os.boot[def->os.nboot++] = dev;
    }
    return TRUE;
}

static gboolean domain_parse_features(DomainDef *def, xmlNode *root, GError **error)
{
    static const char *const children[] = { "acpi", "apic", "pae", "vmport", NULL };
    xmlNode *features = xml_child(root, "features");

    if (!features)
        return TRUE;
    if (!domain_xml_check_children(features, "<features>", children, error))
        return FALSE;
    def->features.acpi = xml_child(features, "acpi") != NULL;
    def->features.apic = xml_child(features, "apic") != NULL;
    def->features.pae = xml_child(features, "pae") != NULL;
    xmlNode *vmport = xml_child(features, "vmport");
    if (vmport) {
        int state = 0;
        int rc = domain_xml_enum(vmport, "state", domain_tristate_to_string, 1,
                                 DOMAIN_TRISTATE_LAST, &state, error);
        if (rc < 0)
            return FALSE;
        if (rc == 0)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <features><vmport> has no state");
        def->features.vmport = state;
    }
    return TRUE;
}

static gboolean domain_parse_pm(DomainDef *def, xmlNode *root, GError **error)
{
    static const char *const children[] = { "suspend-to-mem", "suspend-to-disk", NULL };
    xmlNode *pm = xml_child(root, "pm");
    DomainTristate *states[] = { &def->pm.suspend_to_mem, &def->pm.suspend_to_disk };

    if (!pm)
        return TRUE;
    if (!domain_xml_check_children(pm, "<pm>", children, error))
        return FALSE;
    for (size_t i = 0; i < G_N_ELEMENTS(states); i++) {
        xmlNode *node = xml_child(pm, children[i]);
        gboolean enabled = FALSE;
        int rc = xml_prop_yesno(node, "enabled", &enabled, FERRY_FROM_XML, error);

        if (rc < 0) {
            domain_xml_prefix_error(error);
            return FALSE;
        }
        if (rc == 1)
            *states[i] = enabled ? DOMAIN_TRISTATE_ON : DOMAIN_TRISTATE_OFF;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- cpu */

static gboolean domain_parse_cpu_topology(DomainDef *def, xmlNode *topology, GError **error)
{
    DomainCpuDef *cpu = &def->cpu;
    static const char *const attrs[] = { "sockets", "cores", "threads" };
    unsigned int *values[] = { &cpu->sockets, &cpu->cores, &cpu->threads };

    for (size_t i = 0; i < G_N_ELEMENTS(attrs); i++) {
        int rc = xml_prop_uint(topology, attrs[i], values[i], FERRY_FROM_XML, error);
        if (rc < 0) {
            domain_xml_prefix_error(error);
            return FALSE;
        }
        if (rc == 0 || *values[i] == 0)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <cpu><topology> needs a positive %s", attrs[i]);
    }
    if (xml_prop_uint(topology, "dies", &cpu->dies, FERRY_FROM_XML, error) < 0) {
        domain_xml_prefix_error(error);
        return FALSE;
    }
    g_autofree char *dies = xml_prop(topology, "dies");
    if (dies && cpu->dies == 0)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <cpu><topology> needs a positive dies");
    unsigned long long total =
        (unsigned long long)cpu->sockets * (cpu->dies ? cpu->dies : 1) * cpu->cores * cpu->threads;
    if (cpu->sockets > DOMAIN_VCPUS_MAX || cpu->cores > DOMAIN_VCPUS_MAX ||
        cpu->threads > DOMAIN_VCPUS_MAX || cpu->dies > DOMAIN_VCPUS_MAX || total != def->vcpus)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <cpu><topology> gives %llu vcpus, <vcpu> %u", total,
                           def->vcpus);
    return TRUE;
}

static gboolean domain_parse_cpu(DomainDef *def, xmlNode *root, GError **error)
{
    static const char *const children[] = { "model", "topology", "feature*", NULL };
    DomainCpuDef *cpu = &def->cpu;
    xmlNode *node = xml_child(root, "cpu");
    int v = 0;

    if (!node)
        return TRUE;
    if (!domain_xml_check_children(node, "<cpu>", children, error))
        return FALSE;
    int rc = domain_xml_enum(node, "mode", domain_cpu_mode_to_string, 1, DOMAIN_CPU_MODE_LAST, &v,
                             error);
    if (rc < 0)
        return FALSE;
    xmlNode *model = xml_child(node, "model");
    g_autofree char *model_text = model ? xml_text(model) : NULL;
    if (model_text && !model_text[0])
        g_clear_pointer(&model_text, g_free);
    if (rc == 1)
        cpu->mode = v;
    else if (model_text || xml_child(node, "feature"))
        cpu->mode = DOMAIN_CPU_MODE_CUSTOM;
    else
        cpu->mode = DOMAIN_CPU_MODE_NONE; /* only a topology */

    v = 0; /* still the mode otherwise */
    if (domain_xml_enum(node, "match", domain_cpu_match_to_string, 1, DOMAIN_CPU_MATCH_LAST, &v,
                        error) < 0)
        return FALSE;
    cpu->match = v;
    v = 0;
    if (domain_xml_enum(node, "check", domain_cpu_check_to_string, 1, DOMAIN_CPU_CHECK_LAST, &v,
                        error) < 0)
        return FALSE;
    cpu->check = v;
    v = 0;
    if (domain_xml_enum(node, "migratable", domain_tristate_to_string, 1, DOMAIN_TRISTATE_LAST, &v,
                        error) < 0)
        return FALSE;
    cpu->migratable = v;
    if (cpu->migratable && cpu->mode != DOMAIN_CPU_MODE_HOST_PASSTHROUGH &&
        cpu->mode != DOMAIN_CPU_MODE_MAXIMUM)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <cpu migratable=...> is only for host-passthrough "
                                      "and maximum");

    if (model_text) {
        if (cpu->mode != DOMAIN_CPU_MODE_CUSTOM && cpu->mode != DOMAIN_CPU_MODE_HOST_MODEL)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <cpu mode='%s'> takes no <model>",
                               domain_cpu_mode_to_string(cpu->mode));
        if (strspn(model_text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789._-") != strlen(model_text))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <cpu><model>%s</model>: not a CPU model name",
                               model_text);
        cpu->model = g_steal_pointer(&model_text);
        v = 0;
        if (domain_xml_enum(model, "fallback", domain_cpu_fallback_to_string, 1,
                            DOMAIN_CPU_FALLBACK_LAST, &v, error) < 0)
            return FALSE;
        cpu->fallback = v;
        g_autofree char *vendor_id = xml_prop(model, "vendor_id");
        if (vendor_id)
            return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                               DOMAIN_XML ": <cpu><model vendor_id=...> is not supported by "
                                          "ferry");
    } else if (cpu->mode == DOMAIN_CPU_MODE_CUSTOM) {
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <cpu mode='custom'> needs a <model>");
    }

    xmlNode *topology = xml_child(node, "topology");
    if (topology && !domain_parse_cpu_topology(def, topology, error))
        return FALSE;

    XML_FOR_EACH_ELEMENT (node, child) {
        if (!xml_is(child, "feature"))
            continue;
        int policy = DOMAIN_CPU_POLICY_REQUIRE;
        g_autofree char *name = xml_prop(child, "name");

        if (cpu->mode == DOMAIN_CPU_MODE_NONE)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <cpu><feature> needs a CPU mode");
        if (!name || !name[0] ||
            strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(name))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <cpu><feature name='%s'>: not a feature name",
                               name ? name : "");
        if (domain_xml_enum(child, "policy", domain_cpu_policy_to_string, 0, DOMAIN_CPU_POLICY_LAST,
                            &policy, error) < 0)
            return FALSE;
        for (size_t i = 0; i < cpu->nfeatures; i++) {
            if (g_str_equal(cpu->features[i].name, name))
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": <cpu><feature name='%s'> given twice", name);
        }
        if (cpu->nfeatures == DOMAIN_DEVICES_MAX)
            return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": too many <cpu><feature>s");
        cpu->features = g_renew(DomainCpuFeature, cpu->features, cpu->nfeatures + 1);
        cpu->features[cpu->nfeatures].policy = policy;
        cpu->features[cpu->nfeatures].name = g_steal_pointer(&name);
        cpu->nfeatures++;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- clock */

static gboolean domain_parse_clock(DomainDef *def, xmlNode *root, GError **error)
{
    static const char *const children[] = { "timer*", NULL };
    xmlNode *clock = xml_child(root, "clock");
    int v = DOMAIN_CLOCK_UTC;

    def->clock.offset = DOMAIN_CLOCK_UTC;
    if (!clock)
        return TRUE;
    if (!domain_xml_check_children(clock, "<clock>", children, error))
        return FALSE;
    if (domain_xml_enum(clock, "offset", domain_clock_offset_to_string, 0, DOMAIN_CLOCK_LAST, &v,
                        error) < 0)
        return FALSE;
    def->clock.offset = v;

    XML_FOR_EACH_ELEMENT (clock, child) {
        DomainTimerDef timer = { 0 };
        int name = 0, tick = 0;
        gboolean present = TRUE;

        if (child->children)
            return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                               DOMAIN_XML ": <clock><timer> children (<catchup>) are not "
                                          "supported by ferry");
        int rc = domain_xml_enum(child, "name", domain_timer_name_to_string, 0, DOMAIN_TIMER_LAST,
                                 &name, error);
        if (rc < 0)
            return FALSE;
        if (rc == 0)
            return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <clock><timer> has no name");
        timer.name = name;
        static const char *const refused[] = { "track", "frequency", "mode" };
        for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
            g_autofree char *value = xml_prop(child, refused[i]);
            if (value)
                return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                                   DOMAIN_XML ": <clock><timer %s='%s'> is not supported by "
                                              "ferry",
                                   refused[i], value);
        }
        rc = domain_xml_enum(child, "tickpolicy", domain_tickpolicy_to_string, 1,
                             DOMAIN_TICKPOLICY_LAST, &tick, error);
        if (rc < 0)
            return FALSE;
        if (rc == 1 &&
            (timer.name == DOMAIN_TIMER_KVMCLOCK || timer.name == DOMAIN_TIMER_HYPERVCLOCK))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <clock><timer name='%s'> takes no tickpolicy",
                               domain_timer_name_to_string(timer.name));
        timer.tickpolicy = tick;
        rc = xml_prop_yesno(child, "present", &present, FERRY_FROM_XML, error);
        if (rc < 0) {
            domain_xml_prefix_error(error);
            return FALSE;
        }
        if (rc == 1)
            timer.present = present ? DOMAIN_TRISTATE_ON : DOMAIN_TRISTATE_OFF;
        for (size_t i = 0; i < def->clock.ntimers; i++) {
            if (def->clock.timers[i].name == timer.name)
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": <clock><timer name='%s'> given twice",
                                   domain_timer_name_to_string(timer.name));
        }
        def->clock.timers = g_renew(DomainTimerDef, def->clock.timers, def->clock.ntimers + 1);
        def->clock.timers[def->clock.ntimers++] = timer;
    }
    return TRUE;
}

static gboolean domain_parse_lifecycle(DomainDef *def, xmlNode *root, GError **error)
{
    static const char *const names[] = { "on_poweroff", "on_reboot", "on_crash" };
    DomainLifecycleAction *actions[] = { &def->on_poweroff, &def->on_reboot, &def->on_crash };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        xmlNode *node = xml_child(root, names[i]);
        int last = i == 2 ? DOMAIN_LIFECYCLE_LAST : DOMAIN_LIFECYCLE_COREDUMP_DESTROY;
        int v = 0;

        if (!node)
            continue;
        if (domain_xml_text_enum(node, domain_lifecycle_to_string, 0, last, &v, error) < 0)
            return FALSE;
        *actions[i] = v;
    }
    return TRUE;
}

/* ---------------------------------------------------------------- domain */

static DomainDef *domain_def_parse_node(xmlNode *root, const DomainParseCtx *ctx, GError **error)
{
    static const char *const children[] = {
        "name",     "uuid", "title",    "description", "metadata",  "memory",      "currentMemory",
        "vcpu",     "os",   "features", "cpu",         "clock",     "on_poweroff", "on_reboot",
        "on_crash", "pm",   "devices",  "resource",    "seclabel*", NULL
    };
    g_autoptr(DomainDef) def = domain_def_new();

    if (!domain_xml_check_children(root, "", children, error) ||
        !domain_parse_identity(def, root, ctx, error) ||
        !domain_parse_resources(def, root, error) || !domain_parse_os(def, root, error) ||
        !domain_parse_features(def, root, error) || !domain_parse_pm(def, root, error) ||
        !domain_parse_cpu(def, root, error) || !domain_parse_clock(def, root, error) ||
        !domain_parse_lifecycle(def, root, error) || !domain_parse_resource(def, root, error) ||
        !domain_parse_seclabel(def, root, error))
        return NULL;
    xmlNode *devices = xml_child(root, "devices");
    if (devices && !domain_devices_parse(def, devices, ctx, error))
        return NULL;
    if (!domain_devices_post_parse(def, ctx, error))
        return NULL;
    return g_steal_pointer(&def);
}

static DomainStatus *domain_status_parse_node(xmlNode *root, const DomainParseCtx *ctx,
                                              GError **error);

DomainDef *domain_def_parse_full(const char *xml, unsigned int flags, const DomainParseHooks *hooks,
                                 GError **error)
{
    DomainParseCtx ctx = { flags & ~DOMAIN_PARSE_STATUS, hooks };
    gboolean status = (flags & DOMAIN_PARSE_STATUS) != 0;
    g_autoptr(xmlDoc) doc = xml_parse(xml, DOMAIN_XML_MAX, DOMAIN_XML,
                                      status ? "domstatus" : "domain", FERRY_FROM_XML, error);

    if (!doc)
        return NULL;
    if (status) {
        g_autoptr(DomainStatus) st =
            domain_status_parse_node(xmlDocGetRootElement(doc), &ctx, error);
        return st ? g_steal_pointer(&st->def) : NULL;
    }
    return domain_def_parse_node(xmlDocGetRootElement(doc), &ctx, error);
}

DomainDef *domain_def_parse_xml_node(xmlNode *node, unsigned int flags,
                                     const DomainParseHooks *hooks, GError **error)
{
    DomainParseCtx ctx = { flags & ~DOMAIN_PARSE_STATUS, hooks };

    if (!xml_is(node, "domain"))
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": expected <domain>, got <%s>",
                                node ? (const char *)node->name : "");
    return domain_def_parse_node(node, &ctx, error);
}

DomainDef *domain_def_parse(const char *xml, unsigned int flags, GError **error)
{
    return domain_def_parse_full(xml, flags, NULL, error);
}

/* ---------------------------------------------------------------- status */

static DomainStatus *domain_status_parse_node(xmlNode *root, const DomainParseCtx *ctx,
                                              GError **error)
{
    static const char *const children[] = { "monitor", "job", "domain", NULL };
    g_autoptr(DomainStatus) st = domain_status_new();
    unsigned long long pid = 0;
    int v = 0;

    if (!domain_xml_check_children(root, "<domstatus>", children, error))
        return NULL;
    int rc =
        domain_xml_enum(root, "state", domain_state_to_string, 0, DOMAIN_STATE_LAST, &v, error);
    if (rc < 0)
        return NULL;
    if (rc == 0)
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": <domstatus> has no state");
    st->state = v;
    st->reason = xml_prop(root, "reason");
    if (st->reason &&
        (!st->reason[0] ||
         strspn(st->reason, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(st->reason)))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <domstatus reason='%s'>: not a reason name",
                                st->reason);
    rc = xml_prop_ullong(root, "pid", &pid, FERRY_FROM_XML, error);
    if (rc < 0) {
        domain_xml_prefix_error(error);
        return NULL;
    }
    if (rc == 0 || pid == 0 || pid > G_MAXINT32)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <domstatus> needs a pid from 1 to %d", G_MAXINT32);
    st->pid = (gint64)pid;

    xmlNode *monitor = xml_child(root, "monitor");
    st->monitor_path = monitor ? xml_prop(monitor, "path") : NULL;
    if (!st->monitor_path || !g_path_is_absolute(st->monitor_path))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <domstatus> needs <monitor path='...'> "
                                           "with an absolute path");
    g_autofree char *montype = xml_prop(monitor, "type");
    if (montype && !g_str_equal(montype, "unix"))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <monitor type='%s'>: expected 'unix'", montype);

    xmlNode *job = xml_child(root, "job");
    if (job) {
        v = 0;
        if (domain_xml_enum(job, "async", domain_async_job_to_string, 0, DOMAIN_ASYNC_JOB_LAST, &v,
                            error) < 0)
            return NULL;
        st->async_job = v;
        v = 0;
        if (domain_xml_enum(job, "phase", domain_migration_phase_to_string, 0,
                            DOMAIN_MIGRATION_PHASE_LAST, &v, error) < 0)
            return NULL;
        st->phase = v;
        g_autofree char *flags = xml_prop(job, "flags");
        if (flags) {
            char *end = NULL;

            if (!g_str_has_prefix(flags, "0x") || !g_ascii_isxdigit(flags[2]) || strlen(flags) > 18)
                return domain_fail_null(error, FERRY_ERR_XML,
                                        DOMAIN_XML ": <job flags='%s'>: expected 0x and hex digits",
                                        flags);
            st->job_flags = g_ascii_strtoull(flags + 2, &end, 16);
            if (!end || *end)
                return domain_fail_null(error, FERRY_ERR_XML,
                                        DOMAIN_XML ": <job flags='%s'>: expected 0x and hex digits",
                                        flags);
        }
    }
    gboolean migration = st->async_job == DOMAIN_ASYNC_JOB_MIGRATION_OUT ||
                         st->async_job == DOMAIN_ASYNC_JOB_MIGRATION_IN;
    if (!migration && (st->phase != DOMAIN_MIGRATION_PHASE_NONE || st->job_flags))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <job>: a phase and flags need a migration job");

    xmlNode *domain = xml_child(root, "domain");
    if (!domain)
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": <domstatus> has no <domain>");
    st->def = domain_def_parse_node(domain, ctx, error);
    if (!st->def)
        return NULL;
    if (st->def->id < 0)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <domstatus><domain> of a running domain needs an id");
    return g_steal_pointer(&st);
}

DomainStatus *domain_status_parse(const char *xml, const DomainParseHooks *hooks, GError **error)
{
    DomainParseCtx ctx = { 0, hooks };
    g_autoptr(xmlDoc) doc =
        xml_parse(xml, DOMAIN_XML_MAX, DOMAIN_XML, "domstatus", FERRY_FROM_XML, error);

    if (!doc)
        return NULL;
    return domain_status_parse_node(xmlDocGetRootElement(doc), &ctx, error);
}
