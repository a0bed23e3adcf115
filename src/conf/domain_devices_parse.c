/*
 * domain_devices_parse.c: reading <devices>, and what parsing fills in
 * afterwards (MAC addresses, aliases, the implicit memory balloon) and
 * checks across devices (unique aliases, targets, addresses, ports).
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.domain"

#include "util/error.h"
#include "util/log.h"
#include "conf/domain_priv.h"

/* ---------------------------------------------------------------- common */

/* A number in decimal or, with 0x, in hex (PCI addresses are written in
 * hex).  Returns 1, 0 when absent, -1. */
int domain_xml_number(xmlNode *node, const char *attr, unsigned int max, unsigned int *out,
                      GError **error)
{
    g_autofree char *text = xml_prop(node, attr);
    char *end = NULL;
    unsigned long long v = 0;

    if (!text)
        return 0;
    errno = 0;
    if (g_str_has_prefix(text, "0x") && g_ascii_isxdigit(text[2]) && !strchr(text + 2, 'x') &&
        !strchr(text + 2, 'X'))
        v = g_ascii_strtoull(text + 2, &end, 16);
    else if (g_ascii_isdigit(text[0]))
        v = g_ascii_strtoull(text, &end, 10);
    else
        end = text;
    if (errno || !end || *end || v > max)
        return ferry_fail(error, FERRY_ERR_XML,
                          DOMAIN_XML ": <%s %s='%s'>: expected a number from 0 to %u", node->name,
                          attr, text, max);
    *out = (unsigned int)v;
    return 1;
}

gboolean domain_path_valid(xmlNode *node, const char *attr, const char *path, GError **error)
{
    if (!path || !g_path_is_absolute(path))
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <%s %s='%s'>: expected an absolute path", node->name, attr,
                           path ? path : "");
    return TRUE;
}

static gboolean domain_parse_address(DomainDeviceAddress *addr, xmlNode *node, GError **error)
{
    g_autofree char *type = xml_prop(node, "type");

    if (!type)
        return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <address> has no type");
    if (g_str_equal(type, "pci")) {
        static const char *const attrs[] = { "domain", "bus", "slot", "function" };
        static const unsigned int max[] = { 0xffff, 0xff, 0x1f, 7 };
        unsigned int *values[] = { &addr->u.pci.domain, &addr->u.pci.bus, &addr->u.pci.slot,
                                   &addr->u.pci.function };
        int v = 0;

        addr->type = DOMAIN_ADDRESS_PCI;
        for (size_t i = 0; i < G_N_ELEMENTS(attrs); i++) {
            if (domain_xml_number(node, attrs[i], max[i], values[i], error) < 0)
                return FALSE;
        }
        if (domain_xml_enum(node, "multifunction", domain_tristate_to_string, 1,
                            DOMAIN_TRISTATE_LAST, &v, error) < 0)
            return FALSE;
        addr->u.pci.multifunction = v;
        /* All zeros is libvirt's "not assigned yet" (0000:00:00.0 is the
         * host bridge). */
        if (!addr->u.pci.domain && !addr->u.pci.bus && !addr->u.pci.slot && !addr->u.pci.function &&
            !addr->u.pci.multifunction)
            addr->type = DOMAIN_ADDRESS_NONE;
        return TRUE;
    }
    if (g_str_equal(type, "drive")) {
        static const char *const attrs[] = { "controller", "bus", "target", "unit" };
        unsigned int *values[] = { &addr->u.drive.controller, &addr->u.drive.bus,
                                   &addr->u.drive.target, &addr->u.drive.unit };

        addr->type = DOMAIN_ADDRESS_DRIVE;
        /* libvirt's limits: two digits, and five for the unit. */
        static const unsigned int max[] = { 99, 99, 99, 65535 };

        for (size_t i = 0; i < G_N_ELEMENTS(attrs); i++) {
            if (domain_xml_number(node, attrs[i], max[i], values[i], error) < 0)
                return FALSE;
        }
        return TRUE;
    }
    if (g_str_equal(type, "virtio-serial")) {
        static const char *const attrs[] = { "controller", "bus", "port" };
        static const unsigned int max[] = { 255, 255, 65535 };
        unsigned int *values[] = { &addr->u.vioserial.controller, &addr->u.vioserial.bus,
                                   &addr->u.vioserial.port };

        addr->type = DOMAIN_ADDRESS_VIRTIO_SERIAL;
        for (size_t i = 0; i < G_N_ELEMENTS(attrs); i++) {
            if (domain_xml_number(node, attrs[i], max[i], values[i], error) < 0)
                return FALSE;
        }
        return TRUE;
    }
    if (g_str_equal(type, "usb")) {
        g_autofree char *port = xml_prop(node, "port");

        addr->type = DOMAIN_ADDRESS_USB;
        if (domain_xml_number(node, "bus", 255, &addr->u.usb.bus, error) < 0)
            return FALSE;
        if (port && strchr(port, '.'))
            return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                               DOMAIN_XML ": <address type='usb' port='%s'>: ports behind USB "
                                          "hubs are not supported by ferry",
                               port);
        if (domain_xml_number(node, "port", 255, &addr->u.usb.port, error) < 0)
            return FALSE;
        if (port && addr->u.usb.port == 0)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <address type='usb' port='0'>: USB ports start at 1");
        return TRUE;
    }
    return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                       DOMAIN_XML ": <address type='%s'> is not supported by ferry "
                                  "(only 'pci', 'drive', 'virtio-serial' and 'usb')",
                       type);
}

static gboolean domain_alias_valid(const char *alias, GError **error)
{
    size_t len = strlen(alias);

    if (len == 0 || len > DOMAIN_ALIAS_MAX ||
        strspn(alias, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != len)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <alias name='%s'>: expected 1 to %d of a-z, A-Z, 0-9, "
                                      "'_', '-', '.'",
                           alias, DOMAIN_ALIAS_MAX);
    return TRUE;
}

gboolean domain_parse_info(DomainDeviceInfo *info, xmlNode *node, const char *what,
                           DomainAddressType address, gboolean bootable, GError **error)
{
    xmlNode *alias = xml_child(node, "alias");
    xmlNode *addr = xml_child(node, "address");
    xmlNode *boot = xml_child(node, "boot");

    if (alias) {
        info->alias = xml_prop(alias, "name");
        if (!info->alias)
            return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <%s><alias> has no name", what);
        if (!domain_alias_valid(info->alias, error))
            return FALSE;
    }
    if (addr) {
        if (!domain_parse_address(&info->addr, addr, error))
            return FALSE;
        if (info->addr.type != address && info->addr.type != DOMAIN_ADDRESS_NONE) {
            if (address == DOMAIN_ADDRESS_NONE)
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": <%s><address type='%s'>: this device takes no "
                                              "address",
                                   what, domain_address_to_string(info->addr.type));
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <%s><address type='%s'>: this device takes a '%s' "
                                          "address",
                               what, domain_address_to_string(info->addr.type),
                               domain_address_to_string(address));
        }
    }
    if (boot) {
        int rc = xml_prop_uint(boot, "order", &info->boot_order, FERRY_FROM_XML, error);
        if (rc < 0) {
            domain_xml_prefix_error(error);
            return FALSE;
        }
        if (!bootable || rc == 0 || info->boot_order == 0)
            return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": <%s><boot>: %s", what,
                               bootable ? "expected order='N' with N > 0"
                                        : "this device cannot boot");
    }
    return TRUE;
}

/* ---------------------------------------------------------------- disk */

/* vda -> 0, vdz -> 25, vdaa -> 26 (libvirt's numbering); -1 if malformed. */
static int domain_disk_index(const char *dev)
{
    static const char *const prefixes[] = { "vd", "hd", "sd" };
    const char *p = NULL;
    int idx = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
        if (g_str_has_prefix(dev, prefixes[i]))
            p = dev + 2;
    }
    if (!p || !*p || strlen(p) > 3)
        return -1;
    for (; *p; p++) {
        if (*p < 'a' || *p > 'z')
            return -1;
        idx = idx * 26 + (*p - 'a' + 1);
    }
    return idx - 1;
}

static DomainDiskDef *domain_parse_disk(xmlNode *node, GError **error)
{
    static const char *const children[] = { "driver",       "source", "target",  "readonly",
                                            "shareable",    "alias",  "address", "boot",
                                            "backingStore", NULL };
    g_autoptr(DomainDiskDef) disk = g_new0(DomainDiskDef, 1);
    int v = 0;

    if (!domain_xml_check_children(node, "<disk>", children, error))
        return NULL;
    g_autofree char *type = xml_prop(node, "type");
    if (type && domain_disk_type_from_string(type) < 0)
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <disk type='%s'> is not supported by ferry "
                                           "(only 'file' and 'block')",
                                type);
    disk->type = type ? domain_disk_type_from_string(type) : DOMAIN_DISK_TYPE_FILE;
    g_autofree char *device = xml_prop(node, "device");
    if (device && domain_disk_device_from_string(device) < 0)
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <disk device='%s'> is not supported by ferry "
                                           "(only 'disk' and 'cdrom')",
                                device);
    disk->device = device ? domain_disk_device_from_string(device) : DOMAIN_DISK_DEVICE_DISK;
    /* libvirt writes <backingStore/> for "no backing chain"; a chain is
     * QEMU's business (it reads the image headers), but ferry does not
     * take one from the XML. */
    xmlNode *backing = xml_child(node, "backingStore");
    if (backing && (backing->properties || xml_first_element(backing)))
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML
                                ": <disk><backingStore> with a chain is not supported by "
                                "ferry");

    xmlNode *driver = xml_child(node, "driver");
    if (driver) {
        disk->driver_name = xml_prop(driver, "name");
        if (disk->driver_name && !g_str_equal(disk->driver_name, "qemu"))
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML
                                    ": <disk><driver name='%s'> is not supported by ferry "
                                    "(only 'qemu')",
                                    disk->driver_name);
        if (domain_xml_enum(driver, "type", domain_disk_format_to_string, 1,
                            DOMAIN_DISK_FORMAT_LAST, &v, error) < 0)
            return NULL;
        disk->format = v;
        v = 0;
        if (domain_xml_enum(driver, "cache", domain_disk_cache_to_string, 1, DOMAIN_DISK_CACHE_LAST,
                            &v, error) < 0)
            return NULL;
        disk->cache = v;
        v = 0;
        if (domain_xml_enum(driver, "discard", domain_disk_discard_to_string, 1,
                            DOMAIN_DISK_DISCARD_LAST, &v, error) < 0)
            return NULL;
        disk->discard = v;
    }

    xmlNode *source = xml_child(node, "source");
    const char *src_attr = disk->type == DOMAIN_DISK_TYPE_FILE ? "file" : "dev";
    if (source) {
        disk->src = xml_prop(source, src_attr);
        if (disk->src && !domain_path_valid(source, src_attr, disk->src, error))
            return NULL;
    }
    if (!disk->src && disk->device != DOMAIN_DISK_DEVICE_CDROM)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <disk type='%s'> needs <source %s='...'>",
                                domain_disk_type_to_string(disk->type), src_attr);

    xmlNode *target = xml_child(node, "target");
    disk->target_dev = target ? xml_prop(target, "dev") : NULL;
    if (!disk->target_dev)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <disk> needs <target dev='...'>");
    if (domain_disk_index(disk->target_dev) < 0)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <disk><target dev='%s'>: expected vd, hd or sd and "
                                           "1 to 3 letters",
                                disk->target_dev);
    v = -1;
    g_autofree char *bus = xml_prop(target, "bus");
    if (bus && (v = domain_disk_bus_from_string(bus)) < 0)
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <disk><target bus='%s'> is not supported by ferry",
                                bus);
    if (v < 0) {
        if (g_str_has_prefix(disk->target_dev, "vd"))
            v = DOMAIN_DISK_BUS_VIRTIO;
        else if (g_str_has_prefix(disk->target_dev, "hd"))
            v = DOMAIN_DISK_BUS_IDE;
        else
            v = DOMAIN_DISK_BUS_SCSI;
    }
    disk->bus = v;
    if (disk->device == DOMAIN_DISK_DEVICE_CDROM && disk->bus == DOMAIN_DISK_BUS_VIRTIO)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <disk device='cdrom'> cannot use bus 'virtio'");

    disk->readonly =
        xml_child(node, "readonly") != NULL || disk->device == DOMAIN_DISK_DEVICE_CDROM;
    disk->shareable = xml_child(node, "shareable") != NULL;
    if (!domain_parse_info(&disk->info, node, "disk",
                           disk->bus == DOMAIN_DISK_BUS_VIRTIO ? DOMAIN_ADDRESS_PCI
                                                               : DOMAIN_ADDRESS_DRIVE,
                           TRUE, error))
        return NULL;
    return g_steal_pointer(&disk);
}

/* ---------------------------------------------------------------- interface */

static gboolean domain_mac_parse(const char *text, unsigned char *mac)
{
    if (strlen(text) != 17)
        return FALSE;
    for (int i = 0; i < 6; i++) {
        const char *p = text + 3 * i;

        if (!g_ascii_isxdigit(p[0]) || !g_ascii_isxdigit(p[1]) || (i < 5 && p[2] != ':'))
            return FALSE;
        mac[i] = (unsigned char)(g_ascii_xdigit_value(p[0]) * 16 + g_ascii_xdigit_value(p[1]));
    }
    return TRUE;
}

static gboolean domain_ifname_valid(const char *name)
{
    size_t len = strlen(name);

    return len > 0 && len < 16 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == len;
}

static DomainNetDef *domain_parse_net(xmlNode *node, const DomainParseCtx *ctx, gboolean *mac_given,
                                      GError **error)
{
    static const char *const children[] = { "mac",   "source",  "target", "model",
                                            "alias", "address", "boot",   NULL };
    g_autoptr(DomainNetDef) net = g_new0(DomainNetDef, 1);

    g_autofree char *type = xml_prop(node, "type");
    if (!type)
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": <interface> has no type");
    if (domain_net_type_from_string(type) < 0)
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <interface type='%s'> is not supported by ferry "
                                           "(only 'network', 'bridge' and 'ethernet')",
                                type);
    net->type = domain_net_type_from_string(type);
    if (!domain_xml_check_children(node, "<interface>", children, error))
        return NULL;

    xmlNode *mac = xml_child(node, "mac");
    *mac_given = mac != NULL;
    if (mac) {
        g_autofree char *address = xml_prop(mac, "address");

        if (!address || !domain_mac_parse(address, net->mac))
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <interface><mac address='%s'>: expected six "
                                               "hex bytes separated by ':'",
                                    address ? address : "");
        if (net->mac[0] & 1)
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <interface><mac address='%s'>: a multicast "
                                               "address",
                                    address);
    }

    xmlNode *source = xml_child(node, "source");
    if (net->type != DOMAIN_NET_TYPE_ETHERNET) {
        const char *attr = net->type == DOMAIN_NET_TYPE_NETWORK ? "network" : "bridge";

        net->source = source ? xml_prop(source, attr) : NULL;
        if (!net->source || !net->source[0])
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <interface type='%s'> needs <source %s='...'>",
                                    type, attr);
        if (net->type == DOMAIN_NET_TYPE_BRIDGE && !domain_ifname_valid(net->source))
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML
                                    ": <interface><source bridge='%s'>: not an interface "
                                    "name",
                                    net->source);
    } else if (source) {
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <interface type='ethernet'><source> is not supported "
                                           "by ferry");
    }

    xmlNode *target = xml_child(node, "target");
    net->target_dev = target ? xml_prop(target, "dev") : NULL;
    if (net->target_dev && !domain_ifname_valid(net->target_dev))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <interface><target dev='%s'>: not an interface name",
                                net->target_dev);
    if ((ctx->flags & DOMAIN_PARSE_INACTIVE) && net->target_dev &&
        (net->type != DOMAIN_NET_TYPE_ETHERNET || g_str_has_prefix(net->target_dev, "vnet")))
        g_clear_pointer(&net->target_dev, g_free);

    xmlNode *model = xml_child(node, "model");
    net->model = DOMAIN_NET_MODEL_RTL8139; /* libvirt's default on x86 */
    if (model) {
        int v = 0;
        int rc = domain_xml_enum(model, "type", domain_net_model_to_string, 0,
                                 DOMAIN_NET_MODEL_LAST, &v, error);
        if (rc < 0)
            return NULL;
        if (rc == 0)
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <interface><model> has no type");
        net->model = v;
    }
    if (!domain_parse_info(&net->info, node, "interface", DOMAIN_ADDRESS_PCI, TRUE, error))
        return NULL;
    return g_steal_pointer(&net);
}

/* ---------------------------------------------------------------- serial, console */

static DomainChrDef *domain_parse_chr(xmlNode *node, const DomainParseCtx *ctx, gboolean console,
                                      GError **error)
{
    static const char *const children[] = { "source", "target", "alias", NULL };
    const char *what = console ? "console" : "serial";
    g_autoptr(DomainChrDef) chr = g_new0(DomainChrDef, 1);

    g_autofree char *type = xml_prop(node, "type");
    if (!type)
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": <%s> has no type", what);
    if (domain_chr_type_from_string(type) < 0)
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <%s type='%s'> is not supported by ferry "
                                           "(only 'null', 'pty', 'file' and 'unix')",
                                what, type);
    chr->type = domain_chr_type_from_string(type);
    if (!domain_xml_check_children(node, console ? "<console>" : "<serial>", children, error))
        return NULL;

    xmlNode *source = xml_child(node, "source");
    switch (chr->type) {
    case DOMAIN_CHR_TYPE_NULL:
        break;
    case DOMAIN_CHR_TYPE_PTY:
        chr->path = source ? xml_prop(source, "path") : NULL;
        if (ctx->flags & DOMAIN_PARSE_INACTIVE)
            g_clear_pointer(&chr->path, g_free);
        if (chr->path && !domain_path_valid(source, "path", chr->path, error))
            return NULL;
        break;
    case DOMAIN_CHR_TYPE_FILE: {
        int v = 0;

        chr->path = source ? xml_prop(source, "path") : NULL;
        if (!source || !domain_path_valid(source, "path", chr->path, error)) {
            g_clear_error(error);
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <%s type='file'> needs <source path='...'> "
                                               "with an absolute path",
                                    what);
        }
        if (domain_xml_enum(source, "append", domain_tristate_to_string, 1, DOMAIN_TRISTATE_LAST,
                            &v, error) < 0)
            return NULL;
        chr->append = v;
        break;
    }
    case DOMAIN_CHR_TYPE_UNIX: {
        chr->path = source ? xml_prop(source, "path") : NULL;
        if (!source || !domain_path_valid(source, "path", chr->path, error)) {
            g_clear_error(error);
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <%s type='unix'> needs <source path='...'> "
                                               "with an absolute path",
                                    what);
        }
        g_autofree char *mode = xml_prop(source, "mode");
        if (mode && !g_str_equal(mode, "bind") && !g_str_equal(mode, "connect"))
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <%s><source mode='%s'>: expected 'bind' or "
                                               "'connect'",
                                    what, mode);
        chr->listen = mode && g_str_equal(mode, "bind");
        break;
    }
    case DOMAIN_CHR_TYPE_LAST:
        g_assert_not_reached();
    }

    xmlNode *target = xml_child(node, "target");
    chr->target = console ? DOMAIN_CHR_TARGET_SERIAL : DOMAIN_CHR_TARGET_ISA_SERIAL;
    chr->port = DOMAIN_PORT_UNSET;
    if (target) {
        g_autofree char *ttype = xml_prop(target, "type");
        int v = ttype ? domain_chr_target_from_string(ttype) : (int)chr->target;

        if (v < 0 || (console && v == DOMAIN_CHR_TARGET_ISA_SERIAL) ||
            (!console && v != DOMAIN_CHR_TARGET_ISA_SERIAL))
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <%s><target type='%s'> is not supported by ferry "
                                               "(only %s)",
                                    what, ttype,
                                    console ? "'serial' and 'virtio'" : "'isa-serial'");
        chr->target = v;
        if (domain_xml_number(target, "port", 255, &chr->port, error) < 0)
            return NULL;
        XML_FOR_EACH_ELEMENT (target, child) {
            g_autofree char *model = xml_prop(child, "name");
            if (console || !xml_is(child, "model") || g_strcmp0(model, "isa-serial") != 0)
                return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                        DOMAIN_XML ": <%s><target><%s name='%s'> is not supported "
                                                   "by ferry",
                                        what, child->name, model ? model : "");
        }
    }
    if (!domain_parse_info(&chr->info, node, what, DOMAIN_ADDRESS_NONE, FALSE, error))
        return NULL;
    return g_steal_pointer(&chr);
}

/* ---------------------------------------------------------------- graphics */

/* An IP address or a DNS name (what libvirt's schema accepts). */
static gboolean domain_listen_valid(const char *addr)
{
    size_t len = strlen(addr);

    if (len == 0 || len > 253)
        return FALSE;
    if (g_hostname_is_ip_address(addr))
        return TRUE;
    g_auto(GStrv) labels = g_strsplit(addr, ".", -1);
    for (size_t i = 0; labels[i]; i++) {
        size_t n = strlen(labels[i]);

        if (n == 0 && !labels[i + 1] && i > 0)
            break; /* a trailing dot */
        if (n == 0 || n > 63 || labels[i][0] == '-' || labels[i][n - 1] == '-' ||
            strspn(labels[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
                n)
            return FALSE;
    }
    return TRUE;
}

static DomainGraphicsDef *domain_parse_graphics(xmlNode *node, const DomainParseCtx *ctx,
                                                GError **error)
{
    static const char *const children[] = { "listen*", "image", NULL };
    static const char *const refused[] = { "socket",      "websocket",   "passwdValidTo",
                                           "sharePolicy", "defaultMode", NULL };
    g_autoptr(DomainGraphicsDef) graphics = g_new0(DomainGraphicsDef, 1);
    gboolean autoport = FALSE;

    g_autofree char *type = xml_prop(node, "type");
    if (!type)
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": <graphics> has no type");
    if (domain_graphics_from_string(type) < 0)
        return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                DOMAIN_XML ": <graphics type='%s'> is not supported by ferry "
                                           "(only 'vnc' and 'spice')",
                                type);
    graphics->type = domain_graphics_from_string(type);
    if (!domain_xml_check_children(node, "<graphics>", children, error))
        return NULL;
    for (size_t i = 0; refused[i]; i++) {
        g_autofree char *value = xml_prop(node, refused[i]);
        if (value)
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <graphics %s=...> is not supported by ferry",
                                    refused[i]);
    }

    graphics->port = -1;
    graphics->tls_port = -1;
    int rc = xml_prop_int(node, "port", &graphics->port, FERRY_FROM_XML, error);
    int rc_auto = rc < 0 ? -1 : xml_prop_yesno(node, "autoport", &autoport, FERRY_FROM_XML, error);
    int rc_tls = 0;
    if (rc_auto >= 0 && graphics->type == DOMAIN_GRAPHICS_SPICE)
        rc_tls = xml_prop_int(node, "tlsPort", &graphics->tls_port, FERRY_FROM_XML, error);
    if (rc < 0 || rc_auto < 0 || rc_tls < 0) {
        domain_xml_prefix_error(error);
        return NULL;
    }
    if (graphics->port < -1 || graphics->port > 65535 || graphics->tls_port < -1 ||
        graphics->tls_port > 65535)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <graphics type='%s'>: ports go from -1 (automatic) "
                                           "to 65535",
                                type);
    /* No port, or port -1, means an automatic one. */
    if (rc_auto == 0)
        autoport = graphics->port == -1;
    else if (!autoport && graphics->port == -1)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <graphics type='%s' autoport='no'> needs a port",
                                type);
    if (!autoport && graphics->type == DOMAIN_GRAPHICS_VNC && graphics->port < 5900)
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <graphics type='vnc' port='%d'>: VNC ports start at "
                                           "5900",
                                graphics->port);
    graphics->autoport = autoport;
    if (autoport && (ctx->flags & DOMAIN_PARSE_INACTIVE)) {
        graphics->port = -1;
        graphics->tls_port = -1;
    }

    graphics->listen = xml_prop(node, "listen");
    xmlNode *image = xml_child(node, "image");
    if (image) {
        int v = 0;

        if (graphics->type != DOMAIN_GRAPHICS_SPICE)
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <graphics type='%s'><image> is for spice only",
                                    type);
        int rc_image = domain_xml_enum(image, "compression", domain_graphics_image_to_string, 1,
                                       DOMAIN_GRAPHICS_IMAGE_LAST, &v, error);
        if (rc_image < 0)
            return NULL;
        if (rc_image == 0)
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <graphics><image> has no compression");
        graphics->image = v;
    }
    XML_FOR_EACH_ELEMENT (node, child) {
        if (!xml_is(child, "listen"))
            continue;
        g_autofree char *ltype = xml_prop(child, "type");
        g_autofree char *address = xml_prop(child, "address");

        if (child != xml_child(node, "listen"))
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML
                                    ": more than one <graphics><listen> is not supported "
                                    "by ferry");
        if (g_strcmp0(ltype, "address") != 0)
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <graphics><listen type='%s'> is not supported by "
                                               "ferry (only 'address')",
                                    ltype ? ltype : "");
        if (address && graphics->listen && !g_str_equal(address, graphics->listen))
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <graphics listen='%s'> and <listen address='%s'> "
                                               "differ",
                                    graphics->listen, address);
        if (address && !graphics->listen)
            graphics->listen = g_steal_pointer(&address);
    }
    if (graphics->listen && !domain_listen_valid(graphics->listen))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <graphics listen='%s'>: not an address or host name",
                                graphics->listen);
    graphics->passwd = xml_prop(node, "passwd");
    graphics->keymap = xml_prop(node, "keymap");
    if (graphics->keymap &&
        (!graphics->keymap[0] || strlen(graphics->keymap) > 32 ||
         strspn(graphics->keymap, "abcdefghijklmnopqrstuvwxyz-_") != strlen(graphics->keymap)))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <graphics keymap='%s'>: not a keymap name",
                                graphics->keymap);
    return g_steal_pointer(&graphics);
}

/* ---------------------------------------------------------------- video, balloon */

static DomainVideoDef *domain_parse_video(xmlNode *node, gboolean first, GError **error)
{
    static const char *const children[] = { "model", "alias", "address", NULL };
    g_autoptr(DomainVideoDef) video = g_new0(DomainVideoDef, 1);
    xmlNode *model = xml_child(node, "model");
    int v = DOMAIN_VIDEO_VGA;

    if (!domain_xml_check_children(node, "<video>", children, error))
        return NULL;
    if (model) {
        static const char *const attrs[] = { "vram", "heads", "ram", "vgamem" };
        unsigned int *values[] = { &video->vram, &video->heads, &video->ram, &video->vgamem };
        gboolean primary = FALSE;

        if (xml_first_element(model))
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <video><model><%s> is not supported by ferry",
                                    xml_first_element(model)->name);
        int rc =
            domain_xml_enum(model, "type", domain_video_to_string, 0, DOMAIN_VIDEO_LAST, &v, error);
        if (rc < 0)
            return NULL;
        if (rc == 0)
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <video><model> has no type");
        for (size_t i = 0; i < G_N_ELEMENTS(attrs); i++) {
            rc = xml_prop_uint(model, attrs[i], values[i], FERRY_FROM_XML, error);
            if (rc < 0) {
                domain_xml_prefix_error(error);
                return NULL;
            }
            if (rc == 1 && i >= 2 && v != DOMAIN_VIDEO_QXL)
                return domain_fail_null(error, FERRY_ERR_XML,
                                        DOMAIN_XML ": <video><model %s=...> is only for qxl",
                                        attrs[i]);
        }
        if (xml_prop_yesno(model, "primary", &primary, FERRY_FROM_XML, error) < 0) {
            domain_xml_prefix_error(error);
            return NULL;
        }
        if (primary && !first)
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <video><model primary='yes'> is supported on the "
                                               "first <video> only");
        video->primary = primary;
    }
    video->model = v;
    if (!domain_parse_info(&video->info, node, "video", DOMAIN_ADDRESS_PCI, FALSE, error))
        return NULL;
    return g_steal_pointer(&video);
}

static DomainMemballoonDef *domain_parse_memballoon(xmlNode *node, GError **error)
{
    static const char *const children[] = { "stats", "alias", "address", NULL };
    g_autoptr(DomainMemballoonDef) balloon = g_new0(DomainMemballoonDef, 1);
    int v = 0;

    if (!domain_xml_check_children(node, "<memballoon>", children, error))
        return NULL;
    int rc =
        domain_xml_enum(node, "model", domain_balloon_to_string, 0, DOMAIN_BALLOON_LAST, &v, error);
    if (rc < 0)
        return NULL;
    if (rc == 0)
        return domain_fail_null(error, FERRY_ERR_XML, DOMAIN_XML ": <memballoon> has no model");
    balloon->model = v;
    static const char *const refused[] = { "autodeflate", "freePageReporting" };
    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_autofree char *value = xml_prop(node, refused[i]);
        if (value)
            return domain_fail_null(error, FERRY_ERR_NO_SUPPORT,
                                    DOMAIN_XML ": <memballoon %s=...> is not supported by ferry",
                                    refused[i]);
    }
    xmlNode *stats = xml_child(node, "stats");
    if (stats) {
        int rc_stats = domain_xml_number(stats, "period", 86400, &balloon->stats_period, error);
        if (rc_stats < 0)
            return NULL;
        if (rc_stats == 0)
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <memballoon><stats> has no period");
        if (balloon->model == DOMAIN_BALLOON_NONE)
            return domain_fail_null(error, FERRY_ERR_XML,
                                    DOMAIN_XML ": <memballoon model='none'> takes no <stats>");
    }
    if (!domain_parse_info(&balloon->info, node, "memballoon", DOMAIN_ADDRESS_PCI, FALSE, error))
        return NULL;
    if (balloon->model == DOMAIN_BALLOON_NONE && (balloon->info.alias || balloon->info.addr.type))
        return domain_fail_null(error, FERRY_ERR_XML,
                                DOMAIN_XML ": <memballoon model='none'> takes no alias or address");
    return g_steal_pointer(&balloon);
}

/* ---------------------------------------------------------------- devices */

/* The devices added after the first version (domain_misc_parse.c,
 * domain_controller_parse.c). */
static gboolean domain_devices_parse_other(DomainDef *def, xmlNode *child,
                                           const DomainParseCtx *ctx, GError **error)
{
#define DOMAIN_PARSE_INTO(items, n, expr) \
    do { \
        __typeof__(*(items)) item_ = (expr); \
        if (!item_) \
            return FALSE; \
        DOMAIN_APPEND(items, n, item_); \
    } while (0)
    if (xml_is(child, "controller")) {
        DomainControllerDef *controller = domain_parse_controller(child, error);
        if (!controller)
            return FALSE;
        domain_controller_insert(def, controller);
    } else if (xml_is(child, "input")) {
        DOMAIN_PARSE_INTO(def->inputs, def->ninputs, domain_parse_input(child, error));
    } else if (xml_is(child, "channel")) {
        DOMAIN_PARSE_INTO(def->channels, def->nchannels, domain_parse_channel(child, ctx, error));
    } else if (xml_is(child, "sound")) {
        DOMAIN_PARSE_INTO(def->sounds, def->nsounds, domain_parse_sound(child, error));
    } else if (xml_is(child, "audio")) {
        DOMAIN_PARSE_INTO(def->audios, def->naudios, domain_parse_audio(child, error));
    } else if (xml_is(child, "rng")) {
        DOMAIN_PARSE_INTO(def->rngs, def->nrngs, domain_parse_rng(child, error));
    } else if (xml_is(child, "redirdev")) {
        DOMAIN_PARSE_INTO(def->redirdevs, def->nredirdevs, domain_parse_redirdev(child, error));
    } else if (xml_is(child, "watchdog")) {
        def->watchdog = domain_parse_watchdog(child, error);
        if (!def->watchdog)
            return FALSE;
    }
#undef DOMAIN_PARSE_INTO
    return TRUE;
}

gboolean domain_devices_parse(DomainDef *def, xmlNode *devices, const DomainParseCtx *ctx,
                              GError **error)
{
    static const char *const children[] = { "emulator",  "disk*",    "controller*", "interface*",
                                            "serial*",   "console*", "channel*",    "input*",
                                            "graphics*", "sound*",   "audio*",      "video*",
                                            "redirdev*", "watchdog", "memballoon",  "rng*",
                                            NULL };

    if (!domain_xml_check_children(devices, "<devices>", children, error))
        return FALSE;
    xmlNode *emulator = xml_child(devices, "emulator");
    if (emulator) {
        def->emulator = xml_text(emulator);
        if (!g_path_is_absolute(def->emulator))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <emulator>%s</emulator>: expected an absolute path",
                               def->emulator);
    }

    XML_FOR_EACH_ELEMENT (devices, child) {
        size_t total = def->ndisks + def->nnets + def->nserials + def->nconsoles + def->ngraphics +
                       def->nvideos + def->ncontrollers + def->ninputs + def->nchannels +
                       def->nsounds + def->naudios + def->nrngs + def->nredirdevs;

        if (total >= DOMAIN_DEVICES_MAX)
            return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": more than %d devices",
                               DOMAIN_DEVICES_MAX);
        if (xml_is(child, "disk")) {
            DomainDiskDef *disk = domain_parse_disk(child, error);
            if (!disk)
                return FALSE;
            DOMAIN_APPEND(def->disks, def->ndisks, disk);
        } else if (xml_is(child, "interface")) {
            gboolean mac_given = FALSE;
            DomainNetDef *net = domain_parse_net(child, ctx, &mac_given, error);
            if (!net)
                return FALSE;
            DOMAIN_APPEND(def->nets, def->nnets, net);
            if (!mac_given) {
                unsigned char random[3];

                if (domain_random_bytes(ctx, random, sizeof(random), error) < 0) {
                    g_prefix_error(error, DOMAIN_XML ": cannot generate a MAC address: ");
                    return FALSE;
                }
                /* QEMU's OUI, as libvirt uses. */
                net->mac[0] = 0x52;
                net->mac[1] = 0x54;
                net->mac[2] = 0x00;
                memcpy(net->mac + 3, random, sizeof(random));
            }
        } else if (xml_is(child, "serial") || xml_is(child, "console")) {
            gboolean console = xml_is(child, "console");
            DomainChrDef *chr = domain_parse_chr(child, ctx, console, error);
            if (!chr)
                return FALSE;
            if (console)
                DOMAIN_APPEND(def->consoles, def->nconsoles, chr);
            else
                DOMAIN_APPEND(def->serials, def->nserials, chr);
        } else if (xml_is(child, "graphics")) {
            DomainGraphicsDef *graphics = domain_parse_graphics(child, ctx, error);
            if (!graphics)
                return FALSE;
            DOMAIN_APPEND(def->graphics, def->ngraphics, graphics);
        } else if (xml_is(child, "video")) {
            DomainVideoDef *video = domain_parse_video(child, def->nvideos == 0, error);
            if (!video)
                return FALSE;
            DOMAIN_APPEND(def->videos, def->nvideos, video);
        } else if (xml_is(child, "memballoon")) {
            def->memballoon = domain_parse_memballoon(child, error);
            if (!def->memballoon)
                return FALSE;
        } else if (!domain_devices_parse_other(def, child, ctx, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* ---------------------------------------------------------------- after parsing */

/* Ports given are unique per target type; ports not given get the lowest
 * free number (a console on a serial port: port 0). */
static gboolean domain_chr_assign_ports(DomainChrDef **list, size_t n, const char *what,
                                        GError **error)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i]->port == DOMAIN_PORT_UNSET || list[i]->target == DOMAIN_CHR_TARGET_SERIAL)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (list[j]->target == list[i]->target && list[j]->port == list[i]->port)
                return domain_fail(error, FERRY_ERR_XML, DOMAIN_XML ": two <%s>s use port %u", what,
                                   list[i]->port);
        }
    }
    for (size_t i = 0; i < n; i++) {
        DomainChrDef *chr = list[i];

        if (chr->port != DOMAIN_PORT_UNSET)
            continue;
        if (chr->target == DOMAIN_CHR_TARGET_SERIAL) {
            chr->port = 0;
            continue;
        }
        for (unsigned int port = 0; chr->port == DOMAIN_PORT_UNSET; port++) {
            gboolean taken = FALSE;

            for (size_t j = 0; j < n; j++)
                taken |= list[j]->target == chr->target && list[j]->port == port;
            if (!taken)
                chr->port = port;
        }
    }
    return TRUE;
}

/* Serial ports not given get the lowest free number; ports are unique among
 * serials and among virtio consoles.  A console on serial port N is that
 * serial port: it shares its source and alias (libvirt writes both). */
static gboolean domain_chr_post_parse(DomainDef *def, GError **error)
{
    if (!domain_chr_assign_ports(def->serials, def->nserials, "serial", error) ||
        !domain_chr_assign_ports(def->consoles, def->nconsoles, "console", error))
        return FALSE;

    for (size_t i = 0; i < def->nconsoles; i++) {
        DomainChrDef *console = def->consoles[i];
        DomainChrDef *serial = NULL;

        if (console->target != DOMAIN_CHR_TARGET_SERIAL)
            continue;
        for (size_t j = 0; j < def->nserials; j++) {
            if (def->serials[j]->port == console->port)
                serial = def->serials[j];
        }
        for (size_t j = 0; j < i; j++) {
            if (def->consoles[j]->target == DOMAIN_CHR_TARGET_SERIAL &&
                def->consoles[j]->port == console->port)
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": two <console>s on serial port %u", console->port);
        }
        if (!serial) {
            /* As libvirt does: the console makes the serial port. */
            serial = g_new0(DomainChrDef, 1);
            *serial = *console;
            serial->target = DOMAIN_CHR_TARGET_ISA_SERIAL;
            serial->path = g_strdup(console->path);
            serial->info.alias = g_strdup(console->info.alias);
            DOMAIN_APPEND(def->serials, def->nserials, serial);
        }
        if (serial->type != console->type)
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <console type='%s'> on serial port %u, whose "
                                          "<serial> has type '%s'",
                               domain_chr_type_to_string(console->type), console->port,
                               domain_chr_type_to_string(serial->type));
        if (console->info.alias && serial->info.alias &&
            !g_str_equal(console->info.alias, serial->info.alias))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": <console> on serial port %u has alias '%s', its "
                                          "<serial> '%s'",
                               console->port, console->info.alias, serial->info.alias);
        if (!serial->info.alias && console->info.alias)
            serial->info.alias = g_strdup(console->info.alias);
        g_free(console->path);
        console->path = g_strdup(serial->path);
        console->listen = serial->listen;
        console->append = serial->append;
    }
    return TRUE;
}

typedef struct {
    DomainDeviceInfo *info;
    const char *kind; /* the alias prefix when none was given */
    DomainControllerDef *controller; /* set for controllers: libvirt's own names */
} DomainInfoRef;

static void domain_add_ref(GArray *refs, DomainDeviceInfo *info, const char *kind)
{
    DomainInfoRef ref = { info, kind, NULL };

    g_array_append_val(refs, ref);
}

/* Every device that has an alias of its own.  A console on a serial port
 * shares that port's alias and is left out. */
static GArray *domain_collect_infos(DomainDef *def)
{
    GArray *refs = g_array_new(FALSE, FALSE, sizeof(DomainInfoRef));

    for (size_t i = 0; i < def->ndisks; i++)
        domain_add_ref(refs, &def->disks[i]->info, "disk");
    for (size_t i = 0; i < def->nnets; i++)
        domain_add_ref(refs, &def->nets[i]->info, "net");
    for (size_t i = 0; i < def->nserials; i++)
        domain_add_ref(refs, &def->serials[i]->info, "serial");
    for (size_t i = 0; i < def->nconsoles; i++) {
        if (def->consoles[i]->target != DOMAIN_CHR_TARGET_SERIAL)
            domain_add_ref(refs, &def->consoles[i]->info, "console");
    }
    for (size_t i = 0; i < def->nvideos; i++)
        domain_add_ref(refs, &def->videos[i]->info, "video");
    if (def->memballoon->model != DOMAIN_BALLOON_NONE)
        domain_add_ref(refs, &def->memballoon->info, "balloon");
    /* USB companions share their master's alias and are left out, as is
     * "no USB" (model='none'). */
    for (size_t i = 0; i < def->ncontrollers; i++) {
        if (domain_controller_has_own_alias(def->controllers[i])) {
            DomainInfoRef ref = { &def->controllers[i]->info, "controller", def->controllers[i] };
            g_array_append_val(refs, ref);
        }
    }
    for (size_t i = 0; i < def->ninputs; i++)
        domain_add_ref(refs, &def->inputs[i]->info, "input");
    for (size_t i = 0; i < def->nchannels; i++)
        domain_add_ref(refs, &def->channels[i]->info, "channel");
    for (size_t i = 0; i < def->nsounds; i++)
        domain_add_ref(refs, &def->sounds[i]->info, "sound");
    for (size_t i = 0; i < def->nredirdevs; i++)
        domain_add_ref(refs, &def->redirdevs[i]->info, "redir");
    if (def->watchdog)
        domain_add_ref(refs, &def->watchdog->info, "watchdog");
    for (size_t i = 0; i < def->nrngs; i++)
        domain_add_ref(refs, &def->rngs[i]->info, "rng");
    return refs;
}

static char *domain_alias_pick(GHashTable *taken, const char *wanted, const char *fallback)
{
    if (wanted && !g_hash_table_contains(taken, wanted))
        return g_strdup(wanted);
    for (unsigned int n = 0;; n++) {
        g_autofree char *alias = g_strdup_printf("%s%u", fallback, n);
        if (!g_hash_table_contains(taken, alias))
            return g_steal_pointer(&alias);
    }
}

static char *domain_disk_alias_wanted(const DomainDiskDef *disk)
{
    int idx = domain_disk_index(disk->target_dev);
    const DomainDeviceAddress *a = &disk->info.addr;
    gboolean drive = a->type == DOMAIN_ADDRESS_DRIVE;

    switch (disk->bus) {
    case DOMAIN_DISK_BUS_VIRTIO:
        return g_strdup_printf("virtio-disk%d", idx);
    case DOMAIN_DISK_BUS_IDE:
        return drive ? g_strdup_printf("ide%u-%u-%u", a->u.drive.controller, a->u.drive.bus,
                                       a->u.drive.unit)
                     : g_strdup_printf("ide0-%d-%d", idx / 2, idx % 2);
    case DOMAIN_DISK_BUS_SATA:
        return drive ? g_strdup_printf("sata%u-%u-%u", a->u.drive.controller, a->u.drive.bus,
                                       a->u.drive.unit)
                     : g_strdup_printf("sata0-0-%d", idx);
    case DOMAIN_DISK_BUS_SCSI:
        return drive ? g_strdup_printf("scsi%u-%u-%u-%u", a->u.drive.controller, a->u.drive.bus,
                                       a->u.drive.target, a->u.drive.unit)
                     : g_strdup_printf("scsi0-0-0-%d", idx);
    case DOMAIN_DISK_BUS_LAST:
        break;
    }
    g_assert_not_reached();
}

static gboolean domain_aliases_post_parse(DomainDef *def, GError **error)
{
    g_autoptr(GArray) refs = domain_collect_infos(def);
    g_autoptr(GHashTable) taken = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < refs->len; i++) {
        DomainDeviceInfo *info = g_array_index(refs, DomainInfoRef, i).info;

        if (info->alias && !g_hash_table_add(taken, info->alias))
            return domain_fail(error, FERRY_ERR_XML,
                               DOMAIN_XML ": two devices have <alias name='%s'>", info->alias);
    }
    /* Controllers first, with libvirt's names (pci.1, usb, ide, ...): other
     * devices' default names never look like them. */
    for (guint i = 0; i < refs->len; i++) {
        DomainInfoRef *ref = &g_array_index(refs, DomainInfoRef, i);

        if (ref->controller && !ref->info->alias) {
            g_autofree char *wanted = domain_controller_alias_wanted(def, ref->controller);
            ref->info->alias = domain_alias_pick(taken, wanted, "controller");
            g_hash_table_add(taken, ref->info->alias);
        }
    }
    /* Disks next, with libvirt's names (virtio-disk0, ide0-0-1, ...). */
    for (size_t i = 0; i < def->ndisks; i++) {
        DomainDiskDef *disk = def->disks[i];

        if (!disk->info.alias) {
            g_autofree char *wanted = domain_disk_alias_wanted(disk);
            disk->info.alias = domain_alias_pick(taken, wanted, "disk");
            g_hash_table_add(taken, disk->info.alias);
        }
    }
    /* Then net0, serial0, console0, video0, balloon0: the lowest free. */
    for (guint i = 0; i < refs->len; i++) {
        DomainInfoRef *ref = &g_array_index(refs, DomainInfoRef, i);

        if (!ref->info->alias) {
            ref->info->alias = domain_alias_pick(taken, NULL, ref->kind);
            g_hash_table_add(taken, ref->info->alias);
        }
    }

    /* Consoles on serial ports take their port's alias. */
    for (size_t i = 0; i < def->nconsoles; i++) {
        DomainChrDef *console = def->consoles[i];

        if (console->target != DOMAIN_CHR_TARGET_SERIAL || console->info.alias)
            continue;
        for (size_t j = 0; j < def->nserials; j++) {
            if (def->serials[j]->port == console->port)
                console->info.alias = g_strdup(def->serials[j]->info.alias);
        }
    }

    /* USB companions take their master's alias (libvirt writes it on each). */
    for (size_t i = 0; i < def->ncontrollers; i++) {
        DomainControllerDef *companion = def->controllers[i];

        if (!domain_controller_is_companion(companion))
            continue;
        for (size_t j = 0; j < def->ncontrollers; j++) {
            DomainControllerDef *master = def->controllers[j];

            if (master->type != DOMAIN_CONTROLLER_TYPE_USB ||
                domain_controller_is_companion(master) || master->index != companion->index)
                continue;
            if (companion->info.alias && !g_str_equal(companion->info.alias, master->info.alias))
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": <controller type='usb' model='%s'> has alias "
                                              "'%s', its master '%s'",
                                   domain_usb_model_to_string(companion->model),
                                   companion->info.alias, master->info.alias);
            g_free(companion->info.alias);
            companion->info.alias = g_strdup(master->info.alias);
        }
    }
    return TRUE;
}

gboolean domain_address_equal(const DomainDeviceAddress *a, const DomainDeviceAddress *b)
{
    if (a->type != b->type)
        return FALSE;
    if (a->type == DOMAIN_ADDRESS_PCI)
        return a->u.pci.domain == b->u.pci.domain && a->u.pci.bus == b->u.pci.bus &&
               a->u.pci.slot == b->u.pci.slot && a->u.pci.function == b->u.pci.function;
    if (a->type == DOMAIN_ADDRESS_DRIVE)
        return a->u.drive.controller == b->u.drive.controller && a->u.drive.bus == b->u.drive.bus &&
               a->u.drive.target == b->u.drive.target && a->u.drive.unit == b->u.drive.unit;
    if (a->type == DOMAIN_ADDRESS_VIRTIO_SERIAL)
        return a->u.vioserial.controller == b->u.vioserial.controller &&
               a->u.vioserial.bus == b->u.vioserial.bus &&
               a->u.vioserial.port == b->u.vioserial.port;
    if (a->type == DOMAIN_ADDRESS_USB)
        return a->u.usb.bus == b->u.usb.bus && a->u.usb.port == b->u.usb.port && a->u.usb.port != 0;
    return FALSE;
}

static gboolean domain_devices_check(DomainDef *def, GError **error)
{
    g_autoptr(GArray) refs = domain_collect_infos(def);

    for (size_t i = 0; i < def->ndisks; i++) {
        for (size_t j = 0; j < i; j++) {
            if (g_str_equal(def->disks[i]->target_dev, def->disks[j]->target_dev))
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": two disks have <target dev='%s'>",
                                   def->disks[i]->target_dev);
            if (def->disks[i]->bus == def->disks[j]->bus &&
                domain_address_equal(&def->disks[i]->info.addr, &def->disks[j]->info.addr))
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": disks '%s' and '%s' have the same address",
                                   def->disks[j]->target_dev, def->disks[i]->target_dev);
        }
    }
    for (size_t i = 0; i < def->ngraphics; i++) {
        for (size_t j = 0; j < i; j++) {
            if (def->graphics[i]->type == def->graphics[j]->type)
                return domain_fail(error, FERRY_ERR_NO_SUPPORT,
                                   DOMAIN_XML ": more than one <graphics type='%s'> is not "
                                              "supported by ferry",
                                   domain_graphics_to_string(def->graphics[i]->type));
        }
    }

    gboolean per_device_boot = FALSE;
    for (guint i = 0; i < refs->len; i++) {
        DomainDeviceInfo *a = g_array_index(refs, DomainInfoRef, i).info;

        per_device_boot |= a->boot_order > 0;
        for (guint j = 0; j < i; j++) {
            DomainDeviceInfo *b = g_array_index(refs, DomainInfoRef, j).info;

            if (a->addr.type == DOMAIN_ADDRESS_PCI && domain_address_equal(&a->addr, &b->addr))
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": devices '%s' and '%s' have the same PCI "
                                              "address %04x:%02x:%02x.%x",
                                   b->alias, a->alias, a->addr.u.pci.domain, a->addr.u.pci.bus,
                                   a->addr.u.pci.slot, a->addr.u.pci.function);
            if ((a->addr.type == DOMAIN_ADDRESS_VIRTIO_SERIAL ||
                 a->addr.type == DOMAIN_ADDRESS_USB) &&
                domain_address_equal(&a->addr, &b->addr))
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": devices '%s' and '%s' have the same %s address",
                                   b->alias, a->alias, domain_address_to_string(a->addr.type));
            if (a->boot_order && a->boot_order == b->boot_order)
                return domain_fail(error, FERRY_ERR_XML,
                                   DOMAIN_XML ": devices '%s' and '%s' have <boot order='%u'>",
                                   b->alias, a->alias, a->boot_order);
        }
    }
    if (per_device_boot && def->os.nboot > 0)
        return domain_fail(error, FERRY_ERR_XML,
                           DOMAIN_XML ": <os><boot> and per-device <boot order> cannot be "
                                      "mixed");
    return TRUE;
}

gboolean domain_devices_post_parse(DomainDef *def, const DomainParseCtx *ctx, GError **error)
{
    (void)ctx;
    if (!def->memballoon) {
        /* libvirt adds a virtio balloon when none is given. */
        def->memballoon = g_new0(DomainMemballoonDef, 1);
        def->memballoon->model = DOMAIN_BALLOON_VIRTIO;
    }
    return domain_chr_post_parse(def, error) && domain_controllers_post_parse(def, error) &&
           domain_aliases_post_parse(def, error) && domain_devices_check(def, error) &&
           domain_misc_post_parse(def, error);
}
