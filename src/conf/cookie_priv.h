/*
 * cookie_priv.h: what cookie.c shares with cookie_parse.c and
 * cookie_format.c.  Not for use outside src/conf/cookie*.c.
 */
#pragma once

#include <stddef.h>

#include <glib.h>
#include <libxml/tree.h>

#include "conf/cookie.h"

typedef struct {
    const char *name; /* the element name in <statistics> */
    size_t offset; /* of the guint64 (gint64 for delta) field */
} CookieStatInfo;

extern const CookieStatInfo cookie_stat_info[];
/* NULL-terminated, for xml_prop_enum. */
extern const char *const cookie_graphics_type_names[];
extern const char *const cookie_vport_type_names[];

typedef enum {
    COOKIE_TEXT_TOKEN, /* letters, digits and -_.:+ */
    COOKIE_TEXT_WORD, /* no blanks, no control characters */
    COOKIE_TEXT_LINE, /* no control characters */
} CookieTextKind;

/* A value for messages: at most 64 bytes, then "...". */
char *cookie_quote(const char *value);

/* Refuses an empty, too long or ill-formed value; the message names
 * <element attr='value'>, or <element>value</element> when attr is NULL. */
int cookie_check_text(const char *value, CookieTextKind kind, size_t max, const char *element,
                      const char *attr, GError **error);

/* Stores a <domain> (PERSISTENT) or <cpu> (CPU) element as canonical text. */
int cookie_set_element_text(MigrationCookie *cookie, CookieFeature feature, xmlNode *element,
                            GError **error);

/* Refuses a cookie whose hostuuid is local's (local may be NULL). */
int cookie_check_same_host(const MigrationCookie *cookie, const CookieHost *local, GError **error);
