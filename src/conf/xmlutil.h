/*
 * xmlutil.h: safe XML parsing and small helpers for reading and writing
 * ferry's XML documents (domain definitions, migration cookies).
 *
 * Parsing never loads a DTD, never touches the network and refuses any
 * document with a DOCTYPE (which is where entity declarations, and so entity
 * expansion and external entities, live).  Every size read from outside has
 * a limit.  Messages name the document, the element and the attribute.
 */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

#include "util/error.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlNode, xmlFreeNode)

typedef char XmlChars; /* a string that libxml2 allocated: free with xmlFree */
static inline void xml_chars_free(XmlChars *s)
{
    if (s)
        xmlFree(s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(XmlChars, xml_chars_free)

/* Parses text (at most max_size bytes) whose root element must be root.
 * what names the document in errors ("domain XML", "migration cookie").
 * Blank text nodes are dropped, so the output can be indented anew. */
xmlDoc *xml_parse(const char *text, size_t max_size, const char *what, const char *root,
                  FerryErrorDomain err_domain, GError **error);

/* Formats a tree, indented by two spaces, without the XML declaration. */
char *xml_format_node(xmlNode *node);

/* The element's children that are elements, in order (NULL-safe). */
xmlNode *xml_first_element(xmlNode *node);
xmlNode *xml_next_element(xmlNode *node);
#define XML_FOR_EACH_ELEMENT(parent, child) \
    for (xmlNode *child = xml_first_element(parent); child; child = xml_next_element(child))

/* The first child element called name, or NULL. */
xmlNode *xml_child(xmlNode *node, const char *name);
gboolean xml_is(const xmlNode *node, const char *name);

/* An attribute's value (g_free it), NULL when absent. */
char *xml_prop(xmlNode *node, const char *name);
/* The element's text content, whitespace-trimmed (g_free it). */
char *xml_text(xmlNode *node);

/* Typed attribute and text readers.  Return 1 when present and valid, 0 when
 * absent (out untouched), -1 with an error naming element and attribute. */
int xml_prop_ullong(xmlNode *node, const char *name, unsigned long long *out,
                    FerryErrorDomain err_domain, GError **error);
int xml_prop_uint(xmlNode *node, const char *name, unsigned int *out, FerryErrorDomain err_domain,
                  GError **error);
int xml_prop_int(xmlNode *node, const char *name, int *out, FerryErrorDomain err_domain,
                 GError **error);
/* "yes"/"no" (and "on"/"off"). */
int xml_prop_yesno(xmlNode *node, const char *name, gboolean *out, FerryErrorDomain err_domain,
                   GError **error);
/* One of the strings in names (NULL-terminated): *out is its index. */
int xml_prop_enum(xmlNode *node, const char *name, const char *const *names, int *out,
                  FerryErrorDomain err_domain, GError **error);
int xml_text_ullong(xmlNode *node, unsigned long long *out, FerryErrorDomain err_domain,
                    GError **error);

/* Writing: thin wrappers that take printf formats for values. */
xmlNode *xml_new_child(xmlNode *parent, const char *name);
xmlNode *xml_new_text_child(xmlNode *parent, const char *name, const char *text);
void xml_set_prop(xmlNode *node, const char *name, const char *value);
void xml_set_propf(xmlNode *node, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
