/*
 * domain_controller_parse.c: reading <controller>: the PCI topology (roots,
 * root ports, bridges), USB (with ich9 companions), IDE, SATA, SCSI and
 * virtio-serial controllers, and the checks across them.
 */
#include <config.h>

#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.domain"

#include "util/error.h"
#include "util/log.h"
#include "conf/domain_priv.h"

#define DOMAIN_CONTROLLER_INDEX_MAX 255

/* <target> attributes of PCI controllers. */
enum {
    PCI_TARGET_CHASSIS_NR = 1 << 0,
    PCI_TARGET_CHASSIS = 1 << 1,
    PCI_TARGET_PORT = 1 << 2,
    PCI_TARGET_HOTPLUG = 1 << 3,
};

/* What each PCI controller model takes: the QEMU devices libvirt allows in
 * <model name=...> (the first is the default libvirt fills in), and the
 * <target> attributes. */
typedef struct {
    const char *names[3];
    unsigned int target;
} DomainPciModelInfo;

static const DomainPciModelInfo domain_pci_models[] = {
    [DOMAIN_PCI_MODEL_DEFAULT] = { { NULL }, 0 },
    [DOMAIN_PCI_MODEL_PCI_ROOT] = { { NULL }, 0 },
    [DOMAIN_PCI_MODEL_PCIE_ROOT] = { { NULL }, 0 },
    [DOMAIN_PCI_MODEL_PCI_BRIDGE] = { { "pci-bridge", NULL }, PCI_TARGET_CHASSIS_NR },
    [DOMAIN_PCI_MODEL_DMI_TO_PCI_BRIDGE] = { { "i82801b11-bridge", NULL }, 0 },
    [DOMAIN_PCI_MODEL_PCIE_ROOT_PORT] = { { "pcie-root-port", "ioh3420", NULL },
                                          PCI_TARGET_CHASSIS | PCI_TARGET_PORT |
                                              PCI_TARGET_HOTPLUG },
    [DOMAIN_PCI_MODEL_PCIE_SWITCH_UPSTREAM_PORT] = { { "x3130-upstream", NULL }, 0 },
    [DOMAIN_PCI_MODEL_PCIE_SWITCH_DOWNSTREAM_PORT] = { { "xio3130-downstream", NULL },
                                                       PCI_TARGET_CHASSIS | PCI_TARGET_PORT |
                                                           PCI_TARGET_HOTPLUG },
    [DOMAIN_PCI_MODEL_PCIE_TO_PCI_BRIDGE] = { { "pcie-pci-bridge", NULL }, 0 },
};
G_STATIC_ASSERT(G_N_ELEMENTS(domain_pci_models) == DOMAIN_PCI_MODEL_LAST);

static const struct {
    const char *attr;
    unsigned int bit;
    unsigned int max;
} domain_pci_target_attrs[] = {
    { "chassisNr", PCI_TARGET_CHASSIS_NR, 255 },
    { "chassis", PCI_TARGET_CHASSIS, 255 },
    { "port", PCI_TARGET_PORT, 255 },
    { "hotplug", PCI_TARGET_HOTPLUG, 0 },
};

static gboolean domain_pci_model_is_root(int model)
{
    return model == DOMAIN_PCI_MODEL_PCI_ROOT || model == DOMAIN_PCI_MODEL_PCIE_ROOT;
}

static gboolean domain_usb_model_is_companion(int model)
{
    return model == DOMAIN_USB_MODEL_ICH9_UHCI1 || model == DOMAIN_USB_MODEL_ICH9_UHCI2 ||
           model == DOMAIN_USB_MODEL_ICH9_UHCI3;
}

gboolean domain_controller_is_companion(const DomainControllerDef *controller)
{
    return controller->type == DOMAIN_CONTROLLER_TYPE_USB && controller->master_startport >= 0;
}

gboolean domain_controller_has_own_alias(const DomainControllerDef *controller)
{
    return !domain_controller_is_companion(controller) &&
           !(controller->type == DOMAIN_CONTROLLER_TYPE_USB &&
             controller->model == DOMAIN_USB_MODEL_NONE);
}

static gboolean domain_machine_is_q35(const DomainDef *def)
{
    return def->os.machine && strstr(def->os.machine, "q35") != NULL;
}

/* ---------------------------------------------------------------- one controller */

static gboolean domain_parse_pci_target(DomainControllerDef *controller, xmlNode *target,
                                        GError **error)
{
    unsigned int allowed = domain_pci_models[controller->model].target;
    const char *model = domain_pci_model_to_string(controller->model);
    int *values[] = { &controller->chassis_nr, &controller->chassis, &controller->port };

    for (xmlAttr *attr = target->properties; attr; attr = attr->next) {
        size_t i;

        for (i = 0; i < G_N_ELEMENTS(domain_pci_target_attrs); i++) {
            if (g_str_equal((const char *)attr->name, domain_pci_target_attrs[i].attr))
                break;
        }
        if (i == G_N_ELEMENTS(domain_pci_target_attrs))
            return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                               DOMAIN_XML ": <controller type='pci'><target %s=...> is not "
                                          "supported by ferry",
                               attr->name);
        if (!(allowed & domain_pci_target_attrs[i].bit))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <controller type='pci' model='%s'> takes no "
                                          "<target %s=...>",
                               model, attr->name);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
        unsigned int v = 0;
        int rc = domain_xml_number(target, domain_pci_target_attrs[i].attr,
                                   domain_pci_target_attrs[i].max, &v, error);

        if (rc < 0)
            return FALSE;
        if (rc == 1)
            *values[i] = (int)v;
    }
    if (controller->chassis_nr == 0)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <controller type='pci'><target chassisNr='0'>: "
                                      "expected 1 to 255");
    int v = 0;
    if (domain_xml_enum(target, "hotplug", domain_tristate_to_string, 1, DOMAIN_TRISTATE_LAST, &v,
                        error) < 0)
        return FALSE;
    controller->hotplug = v;
    return TRUE;
}

static gboolean domain_parse_pci_controller(DomainControllerDef *controller, xmlNode *node,
                                            GError **error)
{
    xmlNode *model = xml_child(node, "model");
    xmlNode *target = xml_child(node, "target");

    /* libvirt's schema requires it too. */
    if (!controller->model)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <controller type='pci' index='%u'> needs a model",
                           controller->index);
    const char *model_str = domain_pci_model_to_string(controller->model);
    if (domain_pci_model_is_root(controller->model) && controller->index != 0)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <controller type='pci' model='%s' index='%u'>: the root "
                                      "has index 0",
                           model_str, controller->index);
    if (!domain_pci_model_is_root(controller->model) && controller->index == 0)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <controller type='pci' model='%s' index='0'>: index 0 "
                                      "is the root (pci-root or pcie-root)",
                           model_str);
    if (model) {
        const char *const *names = domain_pci_models[controller->model].names;
        g_autofree char *name = xml_prop(model, "name");
        size_t i;

        if (!names[0])
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <controller type='pci' model='%s'> takes no "
                                          "<model>",
                               model_str);
        for (i = 0; names[i]; i++) {
            if (g_strcmp0(name, names[i]) == 0)
                break;
        }
        if (!names[i])
            return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                               DOMAIN_XML ": <controller type='pci' model='%s'><model name='%s'> "
                                          "is not supported by ferry",
                               model_str, name ? name : "");
        controller->model_name = g_steal_pointer(&name);
    } else if (domain_pci_models[controller->model].names[0]) {
        /* libvirt fills in the default device. */
        controller->model_name = g_strdup(domain_pci_models[controller->model].names[0]);
    }
    if (target) {
        if (xml_first_element(target))
            return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                               DOMAIN_XML ": <controller type='pci'><target><%s> is not "
                                          "supported by ferry",
                               xml_first_element(target)->name);
        if (!domain_parse_pci_target(controller, target, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean domain_parse_usb_controller(DomainControllerDef *controller, xmlNode *node,
                                            GError **error)
{
    xmlNode *master = xml_child(node, "master");
    const char *model_str =
        controller->model ? domain_usb_model_to_string(controller->model) : "default";

    if (domain_usb_model_is_companion(controller->model) != (master != NULL))
        return domain_fail(error, FERRY_ERR_XML,
                           master ? DOMAIN_XML ": <controller type='usb' model='%s'> takes no "
                                               "<master> (only ich9-uhci1, 2 and 3)"
                                  : DOMAIN_XML ": <controller type='usb' model='%s'> needs "
                                               "<master startport=...>",
                           model_str);
    if (master) {
        unsigned int startport = 0;
        int rc = domain_xml_number(master, "startport", 255, &startport, error);

        if (rc < 0)
            return FALSE;
        if (rc == 0)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <controller type='usb'><master> has no startport");
        controller->master_startport = (int)startport;
    }
    if (controller->ports && controller->model != DOMAIN_USB_MODEL_QEMU_XHCI &&
        controller->model != DOMAIN_USB_MODEL_NEC_XHCI)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <controller type='usb' model='%s' ports=...>: only "
                                      "the xhci models take ports",
                           model_str);
    if (controller->ports > 15)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <controller type='usb' ports='%u'>: expected 1 to 15",
                           controller->ports);
    return TRUE;
}

DomainControllerDef *domain_parse_controller(xmlNode *node, GError **error)
{
    static const char *const children[] = { "model", "target", "master", "alias", "address", NULL };
    g_autoptr(DomainControllerDef) controller = g_new0(DomainControllerDef, 1);
    int v = 0;

    controller->chassis_nr = controller->chassis = controller->port = -1;
    controller->master_startport = -1;
    int rc = domain_xml_enum_supported(node, "controller", "type", domain_controller_type_to_string,
                                       0, DOMAIN_CONTROLLER_TYPE_LAST, &v, error);
    if (rc < 0)
        return NULL;
    if (rc == 0)
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": <controller> has no type");
    controller->type = v;
    const char *type = domain_controller_type_to_string(controller->type);
    g_autofree char *path = g_strdup_printf("<controller type='%s'>", type);
    g_autofree char *what = g_strdup_printf("controller type='%s'", type);
    if (!domain_xml_check_children(node, path, children, error))
        return NULL;

    rc = domain_xml_number(node, "index", DOMAIN_CONTROLLER_INDEX_MAX, &controller->index, error);
    if (rc < 0)
        return NULL;
    if (rc == 0)
        controller->index = DOMAIN_PORT_UNSET;

    /* model=: an enum per type, none for the others. */
    static const DomainEnumToString models[] = {
        [DOMAIN_CONTROLLER_TYPE_PCI] = domain_pci_model_to_string,
        [DOMAIN_CONTROLLER_TYPE_USB] = domain_usb_model_to_string,
        [DOMAIN_CONTROLLER_TYPE_IDE] = NULL,
        [DOMAIN_CONTROLLER_TYPE_SATA] = NULL,
        [DOMAIN_CONTROLLER_TYPE_SCSI] = domain_scsi_model_to_string,
        [DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL] = NULL,
    };
    static const int model_last[] = {
        [DOMAIN_CONTROLLER_TYPE_PCI] = DOMAIN_PCI_MODEL_LAST,
        [DOMAIN_CONTROLLER_TYPE_USB] = DOMAIN_USB_MODEL_LAST,
        [DOMAIN_CONTROLLER_TYPE_IDE] = 0,
        [DOMAIN_CONTROLLER_TYPE_SATA] = 0,
        [DOMAIN_CONTROLLER_TYPE_SCSI] = DOMAIN_SCSI_MODEL_LAST,
        [DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL] = 0,
    };
    G_STATIC_ASSERT(G_N_ELEMENTS(models) == DOMAIN_CONTROLLER_TYPE_LAST);
    G_STATIC_ASSERT(G_N_ELEMENTS(model_last) == DOMAIN_CONTROLLER_TYPE_LAST);
    if (models[controller->type]) {
        v = 0;
        if (domain_xml_enum_supported(node, what, "model", models[controller->type], 1,
                                      model_last[controller->type], &v, error) < 0)
            return NULL;
        controller->model = v;
    } else {
        g_autofree char *model = xml_prop(node, "model");
        if (model)
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <controller type='%s' model='%s'> is not "
                                               "supported by ferry (ferry takes no model here)",
                                    type, model);
    }

    /* Children and attributes that belong to one type only. */
    static const struct {
        const char *name;
        DomainControllerType type;
        gboolean element;
    } only[] = {
        { "model", DOMAIN_CONTROLLER_TYPE_PCI, TRUE },
        { "target", DOMAIN_CONTROLLER_TYPE_PCI, TRUE },
        { "master", DOMAIN_CONTROLLER_TYPE_USB, TRUE },
        { "vectors", DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL, FALSE },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(only); i++) {
        gboolean present = only[i].element
                               ? xml_child(node, only[i].name) != NULL
                               : xmlHasProp(node, (const xmlChar *)only[i].name) != NULL;
        if (present && controller->type != only[i].type)
            return domain_fail_null(error, FERRY_ERR_XML,
                                    only[i].element ? DOMAIN_XML ": %s takes no <%s>"
                                                    : DOMAIN_XML ": %s takes no %s=...",
                                    path, only[i].name);
    }
    g_autofree char *ports = xml_prop(node, "ports");
    if (ports && controller->type != DOMAIN_CONTROLLER_TYPE_USB &&
        controller->type != DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL)
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": %s takes no ports=...", path);
    if (domain_xml_number(node, "ports", 511, &controller->ports, error) < 0 ||
        domain_xml_number(node, "vectors", 1024, &controller->vectors, error) < 0)
        return NULL;
    if (ports && controller->ports == 0)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": %s ports='0': expected 1 or more", path);

    switch (controller->type) {
    case DOMAIN_CONTROLLER_TYPE_PCI:
        if (!domain_parse_pci_controller(controller, node, error))
            return NULL;
        break;
    case DOMAIN_CONTROLLER_TYPE_USB:
        if (!domain_parse_usb_controller(controller, node, error))
            return NULL;
        break;
    case DOMAIN_CONTROLLER_TYPE_SCSI:
        /* libvirt's default on x86. */
        if (!controller->model)
            controller->model = DOMAIN_SCSI_MODEL_LSILOGIC;
        break;
    case DOMAIN_CONTROLLER_TYPE_IDE:
    case DOMAIN_CONTROLLER_TYPE_SATA:
    case DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL:
        break;
    case DOMAIN_CONTROLLER_TYPE_LAST:
        g_assert_not_reached();
    }

    gboolean no_address = (controller->type == DOMAIN_CONTROLLER_TYPE_PCI &&
                           domain_pci_model_is_root(controller->model)) ||
                          (controller->type == DOMAIN_CONTROLLER_TYPE_USB &&
                           controller->model == DOMAIN_USB_MODEL_NONE);
    if (!domain_parse_info(&controller->info, node, "controller",
                           no_address ? DOMAIN_ADDRESS_NONE : DOMAIN_ADDRESS_PCI, FALSE, error))
        return NULL;
    if (controller->type == DOMAIN_CONTROLLER_TYPE_USB &&
        controller->model == DOMAIN_USB_MODEL_NONE && controller->info.alias)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <controller type='usb' model='none'> takes no alias");
    return g_steal_pointer(&controller);
}

/* ---------------------------------------------------------------- the list */

void domain_controller_insert(DomainDef *def, DomainControllerDef *controller)
{
    size_t at = def->ncontrollers;
    gboolean same_type = FALSE;

    if (controller->index == DOMAIN_PORT_UNSET) {
        /* The lowest free index of its type (libvirt's choice). */
        for (unsigned int index = 0; controller->index == DOMAIN_PORT_UNSET; index++) {
            gboolean taken = FALSE;

            for (size_t i = 0; i < def->ncontrollers; i++)
                taken |= def->controllers[i]->type == controller->type &&
                         def->controllers[i]->index == index;
            if (!taken)
                controller->index = index;
        }
    }
    /* From the back: the earliest of its type with a higher index (or its
     * companion, for a master), else just past the last of its type. */
    for (size_t i = def->ncontrollers; i-- > 0;) {
        const DomainControllerDef *c = def->controllers[i];

        if (c->type != controller->type)
            continue;
        if (c->index > controller->index ||
            (c->index == controller->index && domain_controller_is_companion(c) &&
             !domain_controller_is_companion(controller))) {
            at = i;
        } else if (!same_type) {
            at = i + 1;
        }
        same_type = TRUE;
    }
    def->controllers = g_renew(DomainControllerDef *, def->controllers, def->ncontrollers + 1);
    memmove(def->controllers + at + 1, def->controllers + at,
            (def->ncontrollers - at) * sizeof(*def->controllers));
    def->controllers[at] = controller;
    def->ncontrollers++;
}

gboolean domain_controller_bus_exists(const DomainDef *def, DomainControllerType type,
                                      unsigned int index)
{
    gboolean any = FALSE;

    for (size_t i = 0; i < def->ncontrollers; i++) {
        const DomainControllerDef *c = def->controllers[i];

        if (c->type != type)
            continue;
        any = TRUE;
        if (c->index == index &&
            !(type == DOMAIN_CONTROLLER_TYPE_USB && c->model == DOMAIN_USB_MODEL_NONE))
            return TRUE;
    }
    return !any;
}

char *domain_controller_alias_wanted(const DomainDef *def, const DomainControllerDef *controller)
{
    const char *type = domain_controller_type_to_string(controller->type);
    gboolean q35 = domain_machine_is_q35(def);

    switch (controller->type) {
    case DOMAIN_CONTROLLER_TYPE_PCI:
        if (controller->model == DOMAIN_PCI_MODEL_PCIE_ROOT)
            return g_strdup("pcie.0");
        return g_strdup_printf("pci.%u", controller->index);
    case DOMAIN_CONTROLLER_TYPE_USB:
        if (controller->index == 0)
            return g_strdup("usb");
        break;
    case DOMAIN_CONTROLLER_TYPE_IDE:
        /* The IDE built into i440fx machines is QEMU's "ide". */
        if (controller->index == 0 && !q35)
            return g_strdup("ide");
        break;
    case DOMAIN_CONTROLLER_TYPE_SATA:
        /* As is the AHCI built into q35 machines. */
        if (controller->index == 0 && q35)
            return g_strdup("ide");
        break;
    case DOMAIN_CONTROLLER_TYPE_SCSI:
    case DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL:
        break;
    case DOMAIN_CONTROLLER_TYPE_LAST:
        g_assert_not_reached();
    }
    return g_strdup_printf("%s%u", type, controller->index);
}

gboolean domain_controllers_post_parse(DomainDef *def, GError **error)
{
    gboolean q35 = domain_machine_is_q35(def);

    for (size_t i = 0; i < def->ncontrollers; i++) {
        DomainControllerDef *c = def->controllers[i];
        const char *type = domain_controller_type_to_string(c->type);

        if (def->os.machine && c->type == DOMAIN_CONTROLLER_TYPE_PCI &&
            domain_pci_model_is_root(c->model) && (c->model == DOMAIN_PCI_MODEL_PCIE_ROOT) != q35)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <controller type='pci' model='%s'> does not fit "
                                          "machine '%s' (%s)",
                               domain_pci_model_to_string(c->model), def->os.machine,
                               q35 ? "q35 has a pcie-root" : "only q35 has a pcie-root");

        for (size_t j = 0; j < i; j++) {
            DomainControllerDef *d = def->controllers[j];

            if (d->type != c->type || d->index != c->index)
                continue;
            if (c->type == DOMAIN_CONTROLLER_TYPE_USB &&
                (domain_controller_is_companion(c) || domain_controller_is_companion(d)))
                continue;
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": two <controller type='%s' index='%u'>s", type,
                               c->index);
        }
        if (domain_controller_is_companion(c)) {
            gboolean master = FALSE;

            for (size_t j = 0; j < def->ncontrollers; j++) {
                const DomainControllerDef *d = def->controllers[j];

                master |= d->type == DOMAIN_CONTROLLER_TYPE_USB && d->index == c->index &&
                          !domain_controller_is_companion(d) && d->model != DOMAIN_USB_MODEL_NONE;
            }
            if (!master)
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": <controller type='usb' model='%s' index='%u'> "
                                              "has <master>, but there is no USB controller "
                                              "with index %u to be its master",
                                   domain_usb_model_to_string(c->model), c->index, c->index);
        }
        if (c->type == DOMAIN_CONTROLLER_TYPE_USB && c->model == DOMAIN_USB_MODEL_NONE &&
            def->ncontrollers > 1) {
            for (size_t j = 0; j < def->ncontrollers; j++) {
                if (j != i && def->controllers[j]->type == DOMAIN_CONTROLLER_TYPE_USB)
                    return domain_fail(error, FERRY_ERR_XML,
                                       DOMAIN_XML ": <controller type='usb' model='none'> "
                                                  "cannot be combined with other USB "
                                                  "controllers");
            }
        }
        /* A controller plugged into a PCI bus that is not there. */
        if (c->info.addr.type == DOMAIN_ADDRESS_PCI &&
            !domain_controller_bus_exists(def, DOMAIN_CONTROLLER_TYPE_PCI, c->info.addr.u.pci.bus))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <controller type='%s' index='%u'> is on PCI bus "
                                          "0x%02x, and there is no <controller type='pci' "
                                          "index='%u'>",
                               type, c->index, c->info.addr.u.pci.bus, c->info.addr.u.pci.bus);
    }
    return TRUE;
}
