/*
 * domain_priv.h: what the domain_*.c files share; not for other modules.
 */
#pragma once

#include <libxml/tree.h>

#include "conf/domain_conf.h"
#include "conf/xmlutil.h"

#define DOMAIN_XML "domain XML"

/* ferry_fail for functions that return a gboolean or a pointer. */
#define domain_fail(error, code, ...) (ferry_fail((error), (code), __VA_ARGS__), FALSE)
#define domain_fail_null(error, code, ...) (ferry_fail((error), (code), __VA_ARGS__), NULL)

typedef const char *(*DomainEnumToString)(int value);

typedef struct {
    unsigned int flags; /* DomainParseFlags */
    const DomainParseHooks *hooks;
} DomainParseCtx;

/* Reads attribute attr of node as one of the values of an enum, from first
 * (1 for enums whose 0 means "not given") to last - 1.  Returns 1, 0 when
 * absent (out untouched), -1 with "domain XML: <node attr='v'>: expected one
 * of ...". */
int domain_xml_enum(xmlNode *node, const char *attr, DomainEnumToString to_string, int first,
                    int last, int *out, GError **error);
/* "'a', 'b', 'c'": the values of an enum from first to last - 1. */
char *domain_enum_allowed(DomainEnumToString to_string, int first, int last);
/* As domain_xml_enum, but a value outside the list is refused as not
 * supported: "domain XML: <what attr='v'> is not supported by ferry (only
 * ...)". */
int domain_xml_enum_supported(xmlNode *node, const char *what, const char *attr,
                              DomainEnumToString to_string, int first, int last, int *out,
                              GError **error);
/* As domain_xml_enum for the element's text. */
int domain_xml_text_enum(xmlNode *node, DomainEnumToString to_string, int first, int last, int *out,
                         GError **error);

/* Refuses children of node not in allowed (names; a trailing '*' allows the
 * element more than once) with "domain XML: <path><child> is not supported
 * by ferry", and repeated ones with "... given more than once". */
gboolean domain_xml_check_children(xmlNode *node, const char *path, const char *const *allowed,
                                   GError **error);

/* Adds "domain XML: " in front of an error from xmlutil or util. */
void domain_xml_prefix_error(GError **error);

/* Random bytes through the hooks, or the system's source. */
int domain_random_bytes(const DomainParseCtx *ctx, void *buf, size_t len, GError **error);

/* Shared by the device parsers (domain_devices_parse.c). */
#define DOMAIN_PORT_UNSET G_MAXUINT
/* A number in decimal or, with 0x, in hex.  Returns 1, 0 when absent, -1. */
int domain_xml_number(xmlNode *node, const char *attr, unsigned int max, unsigned int *out,
                      GError **error);
gboolean domain_path_valid(xmlNode *node, const char *attr, const char *path, GError **error);
/* <alias>, <address>, <boot> of a device; address is the allowed type
 * (NONE: no address allowed). */
gboolean domain_parse_info(DomainDeviceInfo *info, xmlNode *node, const char *what,
                           DomainAddressType address, gboolean bootable, GError **error);
gboolean domain_address_equal(const DomainDeviceAddress *a, const DomainDeviceAddress *b);

/* Controllers (domain_controller_parse.c). */
DomainControllerDef *domain_parse_controller(xmlNode *node, GError **error);
/* Inserts as libvirt does: after the last controller of its type, before
 * the first of its type with a higher index. */
void domain_controller_insert(DomainDef *def, DomainControllerDef *controller);
/* Checks what depends on the whole definition: unique indexes, companions
 * and their masters, the PCI root against the machine. */
gboolean domain_controllers_post_parse(DomainDef *def, GError **error);
/* libvirt's alias for a controller: pci.N, pcie.0, usb, ide, sata0, ... */
char *domain_controller_alias_wanted(const DomainDef *def, const DomainControllerDef *controller);
/* A USB companion controller (with <master>), sharing its master's alias. */
gboolean domain_controller_is_companion(const DomainControllerDef *controller);
/* FALSE for companions and <controller type='usb' model='none'>. */
gboolean domain_controller_has_own_alias(const DomainControllerDef *controller);
/* Is there a controller of this type with this index?  (TRUE as well when
 * the definition lists none of this type: libvirt adds them.) */
gboolean domain_controller_bus_exists(const DomainDef *def, DomainControllerType type,
                                      unsigned int index);

/* The other devices (domain_misc_parse.c).  Each returns NULL with an
 * error. */
DomainInputDef *domain_parse_input(xmlNode *node, GError **error);
DomainChannelDef *domain_parse_channel(xmlNode *node, const DomainParseCtx *ctx, GError **error);
DomainSoundDef *domain_parse_sound(xmlNode *node, GError **error);
DomainAudioDef *domain_parse_audio(xmlNode *node, GError **error);
DomainRngDef *domain_parse_rng(xmlNode *node, GError **error);
DomainWatchdogDef *domain_parse_watchdog(xmlNode *node, GError **error);
DomainRedirdevDef *domain_parse_redirdev(xmlNode *node, GError **error);
/* Cross-device checks for them: audio ids, spicevmc needs spice, USB
 * devices need a USB controller. */
gboolean domain_misc_post_parse(DomainDef *def, GError **error);
/* <seclabel> and <resource> (top level). */
gboolean domain_parse_seclabel(DomainDef *def, xmlNode *root, GError **error);
gboolean domain_parse_resource(DomainDef *def, xmlNode *root, GError **error);

/* Formatting the devices above (domain_misc_format.c). */
void domain_format_address(const DomainDeviceAddress *addr, xmlNode *parent);
void domain_format_info(const DomainDeviceInfo *info, xmlNode *parent);
void domain_format_controller(const DomainControllerDef *controller, xmlNode *devices);
void domain_format_channel(const DomainChannelDef *channel, xmlNode *devices, unsigned int flags);
void domain_format_input(const DomainInputDef *input, xmlNode *devices);
void domain_format_sound(const DomainSoundDef *sound, xmlNode *devices);
void domain_format_audio(const DomainAudioDef *audio, xmlNode *devices);
void domain_format_redirdev(const DomainRedirdevDef *redirdev, xmlNode *devices);
void domain_format_watchdog(const DomainWatchdogDef *watchdog, xmlNode *devices);
void domain_format_rng(const DomainRngDef *rng, xmlNode *devices);
/* A path the host generated for a unix channel (libvirt's channel
 * directories): runtime data, left out of the migratable form. */
gboolean domain_channel_path_is_generated(const char *path);

/* Devices (domain_devices_parse.c, domain_devices_format.c). */
gboolean domain_devices_parse(DomainDef *def, xmlNode *devices, const DomainParseCtx *ctx,
                              GError **error);
gboolean domain_devices_post_parse(DomainDef *def, const DomainParseCtx *ctx, GError **error);
void domain_devices_format(const DomainDef *def, xmlNode *domain, unsigned int flags);

/* Frees (domain_conf.c). */
void domain_device_info_clear(DomainDeviceInfo *info);
void domain_disk_def_free(DomainDiskDef *disk);
void domain_net_def_free(DomainNetDef *net);
void domain_chr_def_free(DomainChrDef *chr);
void domain_graphics_def_free(DomainGraphicsDef *graphics);
void domain_video_def_free(DomainVideoDef *video);
void domain_memballoon_def_free(DomainMemballoonDef *balloon);
void domain_controller_def_free(DomainControllerDef *controller);
void domain_input_def_free(DomainInputDef *input);
void domain_channel_def_free(DomainChannelDef *channel);
void domain_sound_def_free(DomainSoundDef *sound);
void domain_audio_def_free(DomainAudioDef *audio);
void domain_rng_def_free(DomainRngDef *rng);
void domain_watchdog_def_free(DomainWatchdogDef *watchdog);
void domain_redirdev_def_free(DomainRedirdevDef *redirdev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainDiskDef, domain_disk_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainNetDef, domain_net_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainChrDef, domain_chr_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainGraphicsDef, domain_graphics_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainVideoDef, domain_video_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainMemballoonDef, domain_memballoon_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainControllerDef, domain_controller_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainInputDef, domain_input_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainChannelDef, domain_channel_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainSoundDef, domain_sound_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainAudioDef, domain_audio_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainRngDef, domain_rng_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainWatchdogDef, domain_watchdog_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainRedirdevDef, domain_redirdev_def_free)

/* Appends item to a NULL-free array of pointers (*items, *n). */
#define DOMAIN_APPEND(items, n, item) \
    do { \
        (items) = g_renew(__typeof__(*(items)), (items), (n) + 1); \
        (items)[(n)++] = (item); \
    } while (0)
