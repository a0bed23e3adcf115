/*
 * domain_format.c: writing <domain> (everything but <devices>) and the
 * <domstatus> wrapper, as a libxml2 tree formatted by xml_format_node.
 *
 * Canonical: defaults that parsing fills in are written out, values that
 * mean "not given" are not, and the order is fixed (libvirt's).
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.domain"

#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"
#include "conf/domain_priv.h"

static void domain_format_memory(xmlNode *root, const char *name, unsigned long long kib)
{
    g_autofree char *text = g_strdup_printf("%llu", kib);
    xmlNode *node = xml_new_text_child(root, name, text);

    xml_set_prop(node, "unit", "KiB");
}

static void domain_format_os(const DomainDef *def, xmlNode *root)
{
    xmlNode *os = xml_new_child(root, "os");
    xmlNode *type = xml_new_text_child(os, "type", def->os.type);

    xml_set_prop(type, "arch", def->os.arch);
    xml_set_prop(type, "machine", def->os.machine);
    if (def->os.kernel)
        xml_new_text_child(os, "kernel", def->os.kernel);
    if (def->os.initrd)
        xml_new_text_child(os, "initrd", def->os.initrd);
    if (def->os.cmdline)
        xml_new_text_child(os, "cmdline", def->os.cmdline);
    for (size_t i = 0; i < def->os.nboot; i++)
        xml_set_prop(xml_new_child(os, "boot"), "dev", domain_boot_to_string(def->os.boot[i]));
}

static void domain_format_features(const DomainDef *def, xmlNode *root)
{
    const DomainFeaturesDef *f = &def->features;

    if (!f->acpi && !f->apic && !f->pae && f->vmport == DOMAIN_TRISTATE_ABSENT)
        return;
    xmlNode *features = xml_new_child(root, "features");
    if (f->acpi)
        xml_new_child(features, "acpi");
    if (f->apic)
        xml_new_child(features, "apic");
    if (f->pae)
        xml_new_child(features, "pae");
    if (f->vmport != DOMAIN_TRISTATE_ABSENT)
        xml_set_prop(xml_new_child(features, "vmport"), "state",
                     domain_tristate_to_string(f->vmport));
}

static void domain_format_pm(const DomainDef *def, xmlNode *root)
{
    static const char *const names[] = { "suspend-to-mem", "suspend-to-disk" };
    const DomainTristate states[] = { def->pm.suspend_to_mem, def->pm.suspend_to_disk };

    if (!states[0] && !states[1])
        return;
    xmlNode *pm = xml_new_child(root, "pm");
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (states[i] != DOMAIN_TRISTATE_ABSENT)
            xml_set_prop(xml_new_child(pm, names[i]), "enabled",
                         states[i] == DOMAIN_TRISTATE_ON ? "yes" : "no");
    }
}

static void domain_format_cpu(const DomainDef *def, xmlNode *root)
{
    const DomainCpuDef *cpu = &def->cpu;

    if (cpu->mode == DOMAIN_CPU_MODE_NONE && cpu->sockets == 0)
        return;
    xmlNode *node = xml_new_child(root, "cpu");
    if (cpu->mode != DOMAIN_CPU_MODE_NONE)
        xml_set_prop(node, "mode", domain_cpu_mode_to_string(cpu->mode));
    if (cpu->match != DOMAIN_CPU_MATCH_DEFAULT)
        xml_set_prop(node, "match", domain_cpu_match_to_string(cpu->match));
    if (cpu->check != DOMAIN_CPU_CHECK_DEFAULT)
        xml_set_prop(node, "check", domain_cpu_check_to_string(cpu->check));
    if (cpu->migratable != DOMAIN_TRISTATE_ABSENT)
        xml_set_prop(node, "migratable", domain_tristate_to_string(cpu->migratable));
    if (cpu->model) {
        xmlNode *model = xml_new_text_child(node, "model", cpu->model);
        if (cpu->fallback != DOMAIN_CPU_FALLBACK_DEFAULT)
            xml_set_prop(model, "fallback", domain_cpu_fallback_to_string(cpu->fallback));
    }
    if (cpu->sockets) {
        xmlNode *topology = xml_new_child(node, "topology");

        xml_set_propf(topology, "sockets", "%u", cpu->sockets);
        if (cpu->dies)
            xml_set_propf(topology, "dies", "%u", cpu->dies);
        xml_set_propf(topology, "cores", "%u", cpu->cores);
        xml_set_propf(topology, "threads", "%u", cpu->threads);
    }
    for (size_t i = 0; i < cpu->nfeatures; i++) {
        xmlNode *feature = xml_new_child(node, "feature");

        xml_set_prop(feature, "policy", domain_cpu_policy_to_string(cpu->features[i].policy));
        xml_set_prop(feature, "name", cpu->features[i].name);
    }
}

static void domain_format_clock(const DomainDef *def, xmlNode *root)
{
    xmlNode *clock = xml_new_child(root, "clock");

    xml_set_prop(clock, "offset", domain_clock_offset_to_string(def->clock.offset));
    for (size_t i = 0; i < def->clock.ntimers; i++) {
        const DomainTimerDef *t = &def->clock.timers[i];
        xmlNode *timer = xml_new_child(clock, "timer");

        xml_set_prop(timer, "name", domain_timer_name_to_string(t->name));
        if (t->tickpolicy != DOMAIN_TICKPOLICY_DEFAULT)
            xml_set_prop(timer, "tickpolicy", domain_tickpolicy_to_string(t->tickpolicy));
        if (t->present != DOMAIN_TRISTATE_ABSENT)
            xml_set_prop(timer, "present", t->present == DOMAIN_TRISTATE_ON ? "yes" : "no");
    }
}

static gboolean domain_format_metadata(const DomainDef *def, xmlNode *root, GError **error)
{
    if (!def->metadata)
        return TRUE;
    g_autoptr(xmlDoc) doc = xml_parse(def->metadata, DOMAIN_XML_MAX, DOMAIN_XML " <metadata>",
                                      "metadata", FERRY_FROM_XML, error);
    if (!doc)
        return FALSE;
    xmlNode *copy = xmlDocCopyNode(xmlDocGetRootElement(doc), root->doc, 1);
    xmlAddChild(root, copy);
    return TRUE;
}

xmlNode *domain_def_format_xml_node(const DomainDef *def, xmlDoc *doc, unsigned int flags,
                                    GError **error)
{
    char uuid[FERRY_UUID_STRING_BUFLEN];

    if (!def->name || !def->os.type || !def->memballoon)
        return domain_fail_null(error, FERRY_ERR_INTERNAL,
                                DOMAIN_XML ": cannot format a definition that parsing did not fill "
                                           "in");
    g_autoptr(xmlNode) root = xmlNewDocNode(doc, NULL, (const xmlChar *)"domain", NULL);
    xml_set_prop(root, "type", domain_virt_to_string(def->virt_type));
    if (def->id > 0 && !(flags & DOMAIN_FORMAT_MIGRATABLE))
        xml_set_propf(root, "id", "%d", def->id);
    xml_new_text_child(root, "name", def->name);
    xml_new_text_child(root, "uuid", ferry_uuid_format(def->uuid, uuid));
    if (def->title)
        xml_new_text_child(root, "title", def->title);
    if (def->description)
        xml_new_text_child(root, "description", def->description);
    if (!domain_format_metadata(def, root, error))
        return NULL;
    domain_format_memory(root, "memory", def->memory_kib);
    domain_format_memory(root, "currentMemory", def->current_memory_kib);
    g_autofree char *vcpus = g_strdup_printf("%u", def->vcpus);
    xmlNode *vcpu = xml_new_text_child(root, "vcpu", vcpus);
    xml_set_prop(vcpu, "placement", "static");
    if (def->current_vcpus != def->vcpus)
        xml_set_propf(vcpu, "current", "%u", def->current_vcpus);
    if (def->resource_partition)
        xml_new_text_child(xml_new_child(root, "resource"), "partition", def->resource_partition);
    domain_format_os(def, root);
    domain_format_features(def, root);
    domain_format_cpu(def, root);
    domain_format_clock(def, root);
    xml_new_text_child(root, "on_poweroff", domain_lifecycle_to_string(def->on_poweroff));
    xml_new_text_child(root, "on_reboot", domain_lifecycle_to_string(def->on_reboot));
    xml_new_text_child(root, "on_crash", domain_lifecycle_to_string(def->on_crash));
    domain_format_pm(def, root);
    domain_devices_format(def, root, flags);
    for (size_t i = 0; i < def->nseclabel_none_models; i++) {
        xmlNode *seclabel = xml_new_child(root, "seclabel");

        xml_set_prop(seclabel, "type", "none");
        if (def->seclabel_none_models[i][0])
            xml_set_prop(seclabel, "model", def->seclabel_none_models[i]);
    }
    return g_steal_pointer(&root);
}

char *domain_def_format(const DomainDef *def, unsigned int flags, GError **error)
{
    if (flags & DOMAIN_FORMAT_STATUS)
        return domain_fail_null(error, FERRY_ERR_INTERNAL,
                                DOMAIN_XML ": the status form is written by domain_status_format");
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *root = domain_def_format_xml_node(def, doc, flags, error);

    if (!root)
        return NULL;
    xmlDocSetRootElement(doc, root);
    return xml_format_node(root);
}

char *domain_status_format(const DomainStatus *status, GError **error)
{
    unsigned int flags = DOMAIN_FORMAT_STATUS | DOMAIN_FORMAT_SECURE;
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *root = xmlNewNode(NULL, (const xmlChar *)"domstatus");

    xmlDocSetRootElement(doc, root);
    if (!status->def || status->pid <= 0 || !status->monitor_path || status->def->id <= 0)
        return domain_fail_null(error, FERRY_ERR_INTERNAL,
                                DOMAIN_XML ": a status needs a domain with an id, a pid and a "
                                           "monitor path");
    xml_set_prop(root, "state", domain_state_to_string(status->state));
    xml_set_prop(root, "reason", status->reason);
    xml_set_propf(root, "pid", "%" G_GINT64_FORMAT, status->pid);
    xmlNode *monitor = xml_new_child(root, "monitor");
    xml_set_prop(monitor, "path", status->monitor_path);
    xml_set_prop(monitor, "type", "unix");
    if (status->async_job != DOMAIN_ASYNC_JOB_NONE) {
        xmlNode *job = xml_new_child(root, "job");

        xml_set_prop(job, "async", domain_async_job_to_string(status->async_job));
        if (status->phase != DOMAIN_MIGRATION_PHASE_NONE)
            xml_set_prop(job, "phase", domain_migration_phase_to_string(status->phase));
        if (status->job_flags)
            xml_set_propf(job, "flags", "0x%llx", status->job_flags);
    }
    xmlNode *domain = domain_def_format_xml_node(status->def, doc, flags, error);
    if (!domain)
        return NULL;
    xmlAddChild(root, domain);
    return xml_format_node(root);
}
