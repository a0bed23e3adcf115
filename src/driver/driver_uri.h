/*
 * driver_uri.h: connection URIs in libvirt's form, parsed strictly.
 *
 *     qemu:///system                         the local ferryd (UNIX socket)
 *     qemu+unix:///system?socket=PATH        the same, on another socket
 *     qemu+tcp://HOST[:PORT]/system          plain TCP (default port 16509)
 *     qemu+tls://HOST[:PORT]/system          TLS (default port 16514)
 *     qemu://HOST[:PORT]/system              TLS, as libvirt reads it
 *     qemu:///embed?root=/ABS/DIR            the QEMU driver in-process on DIR
 *
 * Query parameters (each at most once; %XX escapes are decoded in names and
 * values, '+' is a plain '+'):
 *     socket=PATH               unix only; an absolute path
 *     no_verify=0|1             tls only; 1: do not check the server's cert
 *     pkipath=DIR               tls only; an absolute directory
 *     keepalive_interval=SECS   remote only; 0 disables keepalive
 *     keepalive_count=N         remote only; unanswered pings before close
 *     root=DIR                  embed only (required); an absolute directory
 *
 * Refused, with a message naming the part: other schemes, other transports
 * (ssh, libssh, ext are known but not supported), a missing or other path,
 * qemu:///session (ferry has no per-user daemon: use qemu:///system or
 * qemu:///embed?root=DIR), user names, fragments, bad ports, a host with
 * unix or embed, unknown or repeated query parameters, bad escapes.
 *
 * Errors: FERRY_ERR_PARSE for malformed URIs, FERRY_ERR_NO_SUPPORT for
 * well-formed ones ferry does not support (session, ssh).
 */
#pragma once

#include <glib.h>

#define DRIVER_URI_TCP_PORT 16509
#define DRIVER_URI_TLS_PORT 16514
/* The URI used when none is given and FERRY_DEFAULT_URI is unset or empty. */
#define DRIVER_URI_DEFAULT "qemu:///system"

typedef enum {
    DRIVER_URI_TRANSPORT_NONE, /* embed: no transport, in-process */
    DRIVER_URI_TRANSPORT_UNIX,
    DRIVER_URI_TRANSPORT_TCP,
    DRIVER_URI_TRANSPORT_TLS,
    DRIVER_URI_TRANSPORT_LAST
} DriverUriTransport;

typedef enum { DRIVER_URI_PATH_SYSTEM, DRIVER_URI_PATH_EMBED, DRIVER_URI_PATH_LAST } DriverUriPath;

typedef struct {
    char *text; /* the URI as given */
    char *scheme; /* "qemu" */
    DriverUriTransport transport;
    gboolean transport_explicit; /* "+unix" etc. was written */
    char *host; /* NULL for unix and embed; brackets of IPv6 removed */
    int port; /* 0: not given (driver_uri_port gives the default) */
    DriverUriPath path;
    /* query parameters; NULL / -1 when not given */
    char *socket;
    int no_verify; /* -1, 0 or 1 */
    char *pkipath;
    int keepalive_interval; /* -1 or seconds */
    int keepalive_count; /* -1 or a count */
    char *root;
} DriverUri;

const char *driver_uri_transport_to_string(DriverUriTransport transport);
const char *driver_uri_path_to_string(DriverUriPath path);

/* Parses text; NULL with FERRY_ERR_PARSE / FERRY_ERR_NO_SUPPORT. */
DriverUri *driver_uri_parse(const char *text, GError **error);
void driver_uri_free(DriverUri *uri);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DriverUri, driver_uri_free)

/* The port to connect to: the one given, else the transport's default
 * (0 for unix and embed). */
int driver_uri_port(const DriverUri *uri);

/* The URI to open when the caller gives none: FERRY_DEFAULT_URI when set
 * and not empty, else DRIVER_URI_DEFAULT.  LIBVIRT_DEFAULT_URI is not read:
 * it names a libvirt daemon, not a ferryd.  Borrowed from the environment
 * or static. */
const char *driver_uri_default(void);
