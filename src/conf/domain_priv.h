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
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainDiskDef, domain_disk_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainNetDef, domain_net_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainChrDef, domain_chr_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainGraphicsDef, domain_graphics_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainVideoDef, domain_video_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainMemballoonDef, domain_memballoon_def_free)

/* Appends item to a NULL-free array of pointers (*items, *n). */
#define DOMAIN_APPEND(items, n, item) \
    do { \
        (items) = g_renew(__typeof__(*(items)), (items), (n) + 1); \
        (items)[(n)++] = (item); \
    } while (0)
