/*
 * daemon_config.h: ferryd's configuration file, ferryd.conf.
 *
 * The file uses libvirtd.conf's `key = value` form, so that libvirt users
 * feel at home (daemon/ferryd.conf is the commented example):
 *
 *     # a comment, to the end of the line
 *     listen_tls = 1                      # booleans are 0 or 1
 *     tls_port = "16514"                  # strings in double quotes
 *     max_clients = 5000                  # decimal integers
 *     tls_allowed_dn_list = [ "C=GB,O=Example,CN=*",
 *                             "C=GB,O=Example,OU=ops,CN=*" ]
 *
 * Decisions, where libvirt leaves a choice:
 * - Booleans are 0 and 1 only, as in libvirt; "true", "yes" and the like
 *   are refused with a hint to write 1 or 0.
 * - Strings take double quotes, with \" and \\ as the only escapes (any
 *   other backslash sequence is an error), or single quotes with no escapes
 *   at all (libvirt accepts those too).  Strings stay on one line; lists may
 *   span lines and may end with a comma.  Lists hold strings only.
 * - A key set twice in one file is an error naming both lines (libvirt
 *   silently keeps the first, which surprises people editing a long file).
 *   Loading a second file over a config replaces what it sets (layering).
 * - An empty string for a key whose default is "unset" (listen_addr,
 *   unix_sock_dir, ca_file, host_uuid, ...) means unset.
 * - auth_unix_rw, auth_tcp and auth_tls know libvirt's values "none", "sasl"
 *   and "polkit"; ferryd supports only "none" and refuses the others with a
 *   message saying why.  On the TLS listener "none" still means that the
 *   client's x509 certificate is verified and its DN checked against
 *   tls_allowed_dn_list (what libvirt does for auth_tls = "none").
 * - Settings of libvirtd.conf that ferryd does not have
 *   (unix_sock_ro_perms, mdns_adv, ...) are refused by name, not as
 *   typos.  Unknown keys get a "did you mean" for close misspellings.
 * - The loader checks syntax, types, ranges and what one setting implies
 *   about another (port ranges, min_workers <= max_workers, tcp_port !=
 *   tls_port when both listen).  What depends on the machine when ferryd
 *   starts is the daemon's to check: that TLS files exist and parse, that
 *   unix_sock_group names a group, that addresses can be bound, that
 *   tls_priority is a valid GnuTLS priority string.
 *
 * Every error names the file and line:
 *     ferryd.conf:12: unknown key 'listen_tcpp' (did you mean 'listen_tcp'?)
 *     ferryd.conf:7: 'max_clients' expects an integer, got a string
 * Limits: the file is at most 1 MiB, a line 8192 bytes, a string 4096
 * bytes, a list 1024 items.  The file is UTF-8 text without NUL bytes.
 *
 * Usage (the daemon at start; a failed load leaves cfg as it was):
 *     g_autoptr(DaemonConfig) cfg = daemon_config_new_defaults();
 *     g_autofree char *path = daemon_config_default_file(root);
 *     if (!daemon_config_load_file(cfg, path, error))
 *         return FALSE;
 */
#pragma once

#include <glib.h>

#include "util/uuid.h"

#define DAEMON_CONFIG_MAX_FILE (1024 * 1024)
#define DAEMON_CONFIG_MAX_LINE 8192
#define DAEMON_CONFIG_MAX_STRING 4096
#define DAEMON_CONFIG_MAX_LIST 1024

#define DAEMON_CONFIG_DEFAULT_TCP_PORT 16509
#define DAEMON_CONFIG_DEFAULT_TLS_PORT 16514
#define DAEMON_CONFIG_DEFAULT_TLS_PRIORITY "NORMAL"
#define DAEMON_CONFIG_UNIX_SOCK_NAME "ferryd-sock"
/* spice_tls_x509_cert_dir's default, relative to the config directory. */
#define DAEMON_CONFIG_SPICE_TLS_DIR "pki/spice"

/* How clients on a transport authenticate (libvirt's auth_* values). */
typedef enum {
    DAEMON_AUTH_NONE,
    DAEMON_AUTH_SASL, /* known, refused: ferryd has no SASL */
    DAEMON_AUTH_POLKIT, /* known, refused: ferryd has no polkit */
    DAEMON_AUTH_LAST
} DaemonAuth;

const char *daemon_auth_to_string(DaemonAuth auth);

/* The directories of DESIGN.md's "State on disk", under state_root. */
typedef enum {
    DAEMON_DIR_CONFIG, /* ROOT/etc/ferry */
    DAEMON_DIR_STATE, /* ROOT/var/lib/ferry */
    DAEMON_DIR_RUN, /* ROOT/run/ferry */
    DAEMON_DIR_LOG, /* ROOT/var/log/ferry */
    DAEMON_DIR_LAST
} DaemonDir;

/* The TLS files of the TLS listener. */
typedef enum {
    DAEMON_TLS_CA, /* default CONFIG_DIR/pki/cacert.pem */
    DAEMON_TLS_CERT, /* default CONFIG_DIR/pki/servercert.pem */
    DAEMON_TLS_KEY, /* default CONFIG_DIR/pki/serverkey.pem */
    DAEMON_TLS_CRL, /* no default: no revocation list */
    DAEMON_TLS_LAST
} DaemonTlsFile;

typedef struct _DaemonConfig DaemonConfig;
struct _DaemonConfig {
    /* Listeners.  Ports are 1..65535; perms are mode bits (0700). */
    gboolean listen_unix; /* default TRUE */
    char *unix_sock_dir; /* NULL: ROOT/run/ferry; absolute */
    char *unix_sock_group; /* NULL: the daemon's own group */
    guint unix_sock_rw_perms; /* default 0700 */
    gboolean listen_tcp; /* default FALSE */
    guint tcp_port; /* default 16509 */
    gboolean listen_tls; /* default FALSE */
    guint tls_port; /* default 16514 */
    char *listen_addr; /* NULL: every address, IPv4 and IPv6 */
    DaemonAuth auth_unix_rw; /* default NONE */
    DaemonAuth auth_tcp; /* default NONE */
    DaemonAuth auth_tls; /* default NONE (certificate checks apply) */

    /* TLS.  NULL files take the defaults of daemon_config_tls_file(). */
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *crl_file;
    gboolean tls_no_verify_certificate; /* default FALSE */
    char **tls_allowed_dn_list; /* NULL-terminated; NULL: any DN the CA signed */
    char *tls_priority; /* default "NORMAL" */

    /* Identity: all zero (the null UUID) means unset, derive it. */
    unsigned char host_uuid[FERRY_UUID_BUFLEN];

    /* Incoming migrations (qemu.conf's names): the ports QEMU listens on,
     * inclusive; the address it listens on when the migration names none
     * (an IP address; NULL: every address); the host name or address
     * Prepare puts in the URI it answers (NULL: the host's name). */
    guint migration_port_min; /* default 49152 */
    guint migration_port_max; /* default 49215 */
    char *migration_address;
    char *migration_host;

    /* Disk leases (qemu.conf's lock_manager, lockd.conf's
     * file_lockspace_dir): "nop" or "lockd" (NULL: nop), and the lease
     * directory that every host shares (absolute; lockd needs it). */
    char *lock_manager;
    char *file_lockspace_dir;

    /* SPICE over TLS (qemu.conf's names): the SPICE graphics of domains
     * get a TLS port too, and QEMU the x509 directory, which holds
     * ca-cert.pem, server-cert.pem and server-key.pem (absolute; NULL:
     * CONFIG_DIR/pki/spice, see daemon_config_spice_tls_dir()). */
    gboolean spice_tls; /* default FALSE */
    char *spice_tls_x509_cert_dir;

    /* Limits. */
    guint max_clients; /* default 5000 */
    guint max_anonymous_clients; /* default 20: not yet authenticated */
    guint min_workers; /* default 5 */
    guint max_workers; /* default 20 */
    guint max_client_requests; /* default 5: concurrent calls per client */
    int keepalive_interval; /* seconds, default 5; -1: send no pings */
    guint keepalive_count; /* default 5 unanswered pings */

    /* Logging, in util/log.h's syntax; NULL filters/outputs: none/default. */
    int log_level; /* 1 debug .. 4 error, default 3 */
    char *log_filters;
    char *log_outputs;

    /* The --root directory: NULL means the system paths. */
    char *state_root;
};

DaemonConfig *daemon_config_new_defaults(void);
void daemon_config_free(DaemonConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DaemonConfig, daemon_config_free)

/* A deep copy. */
DaemonConfig *daemon_config_copy(const DaemonConfig *cfg);

/* Applies the settings of a file (or of text, whose errors say name) over
 * cfg.  On failure cfg is unchanged and *error says file:line: what.  A
 * missing or unreadable file is an error naming it. */
gboolean daemon_config_load_file(DaemonConfig *cfg, const char *path, GError **error);
gboolean daemon_config_load_string(DaemonConfig *cfg, const char *text, gssize len,
                                   const char *name, GError **error);

/* Every setting in the file's syntax, one per line in the order of the
 * example file; loading it gives back an equal config (strings that a
 * caller stored in the fields must then hold no control characters). */
char *daemon_config_dump(const DaemonConfig *cfg);

/* TRUE when a and b hold the same settings. */
gboolean daemon_config_equal(const DaemonConfig *a, const DaemonConfig *b);

/* The known keys, in the order daemon_config_dump writes them. */
guint daemon_config_n_keys(void);
const char *daemon_config_key_name(guint i);

/* ROOT/etc/ferry/ferryd.conf, or /etc/ferry/ferryd.conf when root is NULL
 * or empty: where ferryd looks without --config. */
char *daemon_config_default_file(const char *root);

/* A directory of DESIGN.md's layout under cfg->state_root. */
char *daemon_config_dir(const DaemonConfig *cfg, DaemonDir which);

/* The UNIX socket: unix_sock_dir (default the RUN dir) + "/ferryd-sock". */
char *daemon_config_unix_sock_path(const DaemonConfig *cfg);

/* A TLS file as configured, or its default; NULL for an unset CRL. */
char *daemon_config_tls_file(const DaemonConfig *cfg, DaemonTlsFile which);

/* spice_tls_x509_cert_dir as configured, or its default
 * ROOT/etc/ferry/pki/spice. */
char *daemon_config_spice_tls_dir(const DaemonConfig *cfg);

/* TRUE when a client certificate's DN is allowed: the list is unset or
 * empty, or a pattern matches the whole DN ('*' matches any run of
 * characters, '?' one character; no bracket expressions). */
gboolean daemon_config_dn_allowed(const DaemonConfig *cfg, const char *dn);
