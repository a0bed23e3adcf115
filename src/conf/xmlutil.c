/*
 * xmlutil.c: safe XML parsing and small readers and writers.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "conf.xml"

#include "util/log.h"
#include "xmlutil.h"

typedef struct {
    GString *message; /* the first error libxml2 reported */
    int line;
    gboolean has_doctype;
} XmlParseState;

static void xml_parse_error(void *data, xmlErrorPtr err)
{
    xmlParserCtxtPtr ctxt = data;
    XmlParseState *state = ctxt->_private;

    if (!state || state->message->len > 0 || !err || err->level < XML_ERR_ERROR)
        return;
    g_string_append(state->message, err->message ? err->message : "malformed XML");
    g_strchomp(state->message->str);
    state->message->len = strlen(state->message->str);
    state->line = err->line;
}

static void xml_refuse_subset(void *data, const xmlChar *name, const xmlChar *external_id,
                              const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = data;
    XmlParseState *state = ctxt->_private;

    state->has_doctype = TRUE;
    xmlStopParser(ctxt);
}

xmlDoc *xml_parse(const char *text, size_t max_size, const char *what, const char *root,
                  FerryErrorDomain err_domain, GError **error)
{
    XmlParseState state = { g_string_new(NULL), 0, FALSE };
    g_autoptr(GString) message = state.message;

    if (!text) {
        ferry_error_set(error, err_domain, FERRY_ERR_XML, "%s: no XML given", what);
        return NULL;
    }
    size_t len = strnlen(text, max_size + 1);
    if (len > max_size) {
        ferry_error_set(error, err_domain, FERRY_ERR_OVERFLOW,
                        "%s: larger than the limit of %zu bytes", what, max_size);
        return NULL;
    }
    if (len == 0) {
        ferry_error_set(error, err_domain, FERRY_ERR_XML, "%s: empty document", what);
        return NULL;
    }

    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        ferry_error_set(error, err_domain, FERRY_ERR_INTERNAL, "%s: cannot create an XML parser",
                        what);
        return NULL;
    }
    ctxt->_private = &state;
    ctxt->sax->serror = xml_parse_error;
    /* A DOCTYPE is where entities are declared: stop at once. */
    ctxt->sax->internalSubset = xml_refuse_subset;
    ctxt->sax->externalSubset = xml_refuse_subset;

    /* No NOENT (no entity substitution), no DTDLOAD, no network. */
    int options = XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, text, (int)len, NULL, NULL, options);
    gboolean well_formed = ctxt->wellFormed;
    xmlFreeParserCtxt(ctxt);
    g_autoptr(xmlDoc) owned = doc;

    if (state.has_doctype) {
        ferry_error_set(error, err_domain, FERRY_ERR_XML,
                        "%s: DOCTYPE declarations are not allowed (no DTDs or entities)", what);
        return NULL;
    }
    if (!doc || !well_formed) {
        if (message->len > 0)
            ferry_error_set(error, err_domain, FERRY_ERR_XML, "%s: malformed XML at line %d: %s",
                            what, state.line, message->str);
        else
            ferry_error_set(error, err_domain, FERRY_ERR_XML, "%s: malformed XML", what);
        return NULL;
    }
    xmlNode *top = xmlDocGetRootElement(doc);
    if (!top || !xml_is(top, root)) {
        ferry_error_set(error, err_domain, FERRY_ERR_XML, "%s: root element is <%s>, expected <%s>",
                        what, top ? (const char *)top->name : "", root);
        return NULL;
    }
    return g_steal_pointer(&owned);
}

char *xml_format_node(xmlNode *node)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);

    xmlSaveTree(save, node);
    xmlSaveClose(save);
    GString *out = g_string_new_len((const char *)xmlBufferContent(buf), xmlBufferLength(buf));
    xmlBufferFree(buf);
    if (out->len == 0 || out->str[out->len - 1] != '\n')
        g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}

gboolean xml_is(const xmlNode *node, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && strcmp((const char *)node->name, name) == 0;
}

static xmlNode *xml_element_from(xmlNode *node)
{
    for (; node; node = node->next) {
        if (node->type == XML_ELEMENT_NODE)
            return node;
    }
    return NULL;
}

xmlNode *xml_first_element(xmlNode *node)
{
    return node ? xml_element_from(node->children) : NULL;
}

xmlNode *xml_next_element(xmlNode *node)
{
    return node ? xml_element_from(node->next) : NULL;
}

xmlNode *xml_child(xmlNode *node, const char *name)
{
    XML_FOR_EACH_ELEMENT (node, child) {
        if (xml_is(child, name))
            return child;
    }
    return NULL;
}

char *xml_prop(xmlNode *node, const char *name)
{
    g_autoptr(XmlChars) value = NULL;

    if (!node)
        return NULL;
    value = (XmlChars *)xmlGetNoNsProp(node, (const xmlChar *)name);
    return value ? g_strdup(value) : NULL;
}

char *xml_text(xmlNode *node)
{
    g_autoptr(XmlChars) value = NULL;

    if (!node)
        return NULL;
    value = (XmlChars *)xmlNodeGetContent(node);
    return g_strstrip(g_strdup(value ? value : ""));
}

static int xml_parse_ullong(const char *text, unsigned long long *out)
{
    char *end = NULL;

    if (!text || !g_ascii_isdigit(text[0]))
        return -1;
    errno = 0;
    unsigned long long v = g_ascii_strtoull(text, &end, 10);
    if (errno != 0 || !end || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int xml_prop_ullong(xmlNode *node, const char *name, unsigned long long *out,
                    FerryErrorDomain err_domain, GError **error)
{
    g_autofree char *text = xml_prop(node, name);

    if (!text)
        return 0;
    if (xml_parse_ullong(text, out) < 0)
        return ferry_error_set(error, err_domain, FERRY_ERR_XML,
                               "<%s %s='%s'>: expected a non-negative integer", node->name, name,
                               text);
    return 1;
}

int xml_prop_uint(xmlNode *node, const char *name, unsigned int *out, FerryErrorDomain err_domain,
                  GError **error)
{
    unsigned long long v;
    int rc = xml_prop_ullong(node, name, &v, err_domain, error);

    if (rc <= 0)
        return rc;
    if (v > G_MAXUINT) {
        g_autofree char *text = xml_prop(node, name);
        return ferry_error_set(error, err_domain, FERRY_ERR_XML, "<%s %s='%s'>: larger than %u",
                               node->name, name, text, G_MAXUINT);
    }
    *out = (unsigned int)v;
    return 1;
}

int xml_prop_int(xmlNode *node, const char *name, int *out, FerryErrorDomain err_domain,
                 GError **error)
{
    g_autofree char *text = xml_prop(node, name);
    char *end = NULL;

    if (!text)
        return 0;
    errno = 0;
    long long v = g_ascii_strtoll(text, &end, 10);
    if (!*text || errno != 0 || !end || *end != '\0' || v < G_MININT || v > G_MAXINT)
        return ferry_error_set(error, err_domain, FERRY_ERR_XML,
                               "<%s %s='%s'>: expected an integer", node->name, name, text);
    *out = (int)v;
    return 1;
}

int xml_prop_yesno(xmlNode *node, const char *name, gboolean *out, FerryErrorDomain err_domain,
                   GError **error)
{
    g_autofree char *text = xml_prop(node, name);

    if (!text)
        return 0;
    if (g_str_equal(text, "yes") || g_str_equal(text, "on")) {
        *out = TRUE;
        return 1;
    }
    if (g_str_equal(text, "no") || g_str_equal(text, "off")) {
        *out = FALSE;
        return 1;
    }
    return ferry_error_set(error, err_domain, FERRY_ERR_XML, "<%s %s='%s'>: expected 'yes' or 'no'",
                           node->name, name, text);
}

int xml_prop_enum(xmlNode *node, const char *name, const char *const *names, int *out,
                  FerryErrorDomain err_domain, GError **error)
{
    g_autofree char *text = xml_prop(node, name);

    if (!text)
        return 0;
    for (int i = 0; names[i]; i++) {
        if (g_str_equal(text, names[i])) {
            *out = i;
            return 1;
        }
    }
    g_autofree char *allowed = g_strjoinv("', '", (char **)names);
    return ferry_error_set(error, err_domain, FERRY_ERR_XML, "<%s %s='%s'>: expected one of '%s'",
                           node->name, name, text, allowed);
}

int xml_text_ullong(xmlNode *node, unsigned long long *out, FerryErrorDomain err_domain,
                    GError **error)
{
    g_autofree char *text = xml_text(node);

    if (!text)
        return 0;
    if (xml_parse_ullong(text, out) < 0)
        return ferry_error_set(error, err_domain, FERRY_ERR_XML,
                               "<%s>%s</%s>: expected a non-negative integer", node->name, text,
                               node->name);
    return 1;
}

xmlNode *xml_new_child(xmlNode *parent, const char *name)
{
    return xmlNewChild(parent, NULL, (const xmlChar *)name, NULL);
}

xmlNode *xml_new_text_child(xmlNode *parent, const char *name, const char *text)
{
    /* xmlNewTextChild escapes the text; xmlNewChild would not. */
    return xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)text);
}

void xml_set_prop(xmlNode *node, const char *name, const char *value)
{
    if (value)
        xmlSetProp(node, (const xmlChar *)name, (const xmlChar *)value);
}

void xml_set_propf(xmlNode *node, const char *name, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *value = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    xml_set_prop(node, name, value);
}
