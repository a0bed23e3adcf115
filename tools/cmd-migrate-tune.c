/*
 * cmd-migrate-tune.c: migrate-setspeed, migrate-getspeed,
 * migrate-setmaxdowntime, migrate-getmaxdowntime, migrate-compcache
 * (virsh's names, options and output).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_SHELL
#define FERRY_LOG_MODULE "shell"

#include "tools/shell.h"

/* A non-negative integer, all of text. */
static gboolean parse_ull(const char *text, unsigned long long *value)
{
    char *end = NULL;

    if (!g_ascii_isdigit(text[0]))
        return FALSE;
    errno = 0;
    *value = g_ascii_strtoull(text, &end, 10);
    return errno == 0 && end && *end == '\0';
}

static gboolean cmd_migrate_setspeed(Shell *sh, const ShellArgs *args)
{
    const char *text = shell_arg(args, "bandwidth");
    unsigned long long mib = 0;
    FerryDomain *dom;
    gboolean ok;

    if (!parse_ull(text, &mib)) {
        shell_error("numerical value of bandwidth is out of range or invalid: '%s'", text);
        return FALSE;
    }
    if (!(dom = shell_domain(sh, args)))
        return FALSE;
    ok = ferry_domain_migrate_set_max_speed(dom, mib, 0) == 0;
    if (!ok)
        shell_error_cause("failed to set the migration speed of domain '%s'",
                          ferry_domain_get_name(dom));
    ferry_domain_free(dom);
    return ok;
}

static gboolean cmd_migrate_getspeed(Shell *sh, const ShellArgs *args)
{
    FerryDomain *dom = shell_domain(sh, args);
    unsigned long long mib = 0;
    gboolean ok;

    if (!dom)
        return FALSE;
    ok = ferry_domain_migrate_get_max_speed(dom, &mib, 0) == 0;
    if (ok)
        printf("%llu\n", mib);
    else
        shell_error_cause("failed to get the migration speed of domain '%s'",
                          ferry_domain_get_name(dom));
    ferry_domain_free(dom);
    return ok;
}

static gboolean cmd_migrate_setmaxdowntime(Shell *sh, const ShellArgs *args)
{
    const char *text = shell_arg(args, "downtime");
    unsigned long long ms = 0;
    FerryDomain *dom;
    gboolean ok;

    if (!parse_ull(text, &ms) || ms < 1) {
        shell_error("migrate: Invalid downtime");
        return FALSE;
    }
    if (!(dom = shell_domain(sh, args)))
        return FALSE;
    ok = ferry_domain_migrate_set_max_downtime(dom, ms, 0) == 0;
    if (!ok)
        shell_error_cause("failed to set the maximum migration downtime of domain '%s'",
                          ferry_domain_get_name(dom));
    ferry_domain_free(dom);
    return ok;
}

static gboolean cmd_migrate_getmaxdowntime(Shell *sh, const ShellArgs *args)
{
    FerryDomain *dom = shell_domain(sh, args);
    unsigned long long ms = 0;
    gboolean ok;

    if (!dom)
        return FALSE;
    ok = ferry_domain_migrate_get_max_downtime(dom, &ms, 0) == 0;
    if (ok)
        printf("%llu\n", ms);
    else
        shell_error_cause("failed to get the maximum migration downtime of domain '%s'",
                          ferry_domain_get_name(dom));
    ferry_domain_free(dom);
    return ok;
}

/* migrate-compcache DOMAIN [--size BYTES]: sets the size when given, then
 * prints the size QEMU has, as virsh does. */
static gboolean cmd_migrate_compcache(Shell *sh, const ShellArgs *args)
{
    const char *text = shell_arg(args, "size");
    unsigned long long size = 0;
    const char *unit = NULL;
    FerryDomain *dom;
    gboolean ok;
    double v;

    if (text && !parse_ull(text, &size)) {
        shell_error("Numeric value '%s' for <size> option is malformed or out of range", text);
        return FALSE;
    }
    if (!(dom = shell_domain(sh, args)))
        return FALSE;
    ok = !text || ferry_domain_migrate_set_compression_cache(dom, size, 0) == 0;
    if (!ok)
        shell_error_cause("failed to set the compression cache of domain '%s' to %llu bytes",
                          ferry_domain_get_name(dom), size);
    else if (ferry_domain_migrate_get_compression_cache(dom, &size, 0) != 0) {
        shell_error_cause("failed to get the compression cache of domain '%s'",
                          ferry_domain_get_name(dom));
        ok = FALSE;
    } else {
        v = shell_pretty_bytes(size, &unit);
        printf("Compression cache: %.3lf %s\n", v, unit);
    }
    ferry_domain_free(dom);
    return ok;
}

static const ShellOpt domain_opt[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { NULL },
};
static const ShellOpt setspeed_opts[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { "bandwidth", SHELL_OPT_ARG, TRUE, "migration bandwidth limit in MiB/s" },
    { NULL },
};
static const ShellOpt setmaxdowntime_opts[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { "downtime", SHELL_OPT_ARG, TRUE,
      "maximum tolerable downtime (in milliseconds) for migration" },
    { NULL },
};

static const ShellOpt compcache_opts[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { "size", SHELL_OPT_NUMBER, FALSE,
      "requested size of the cache (in bytes) used for compression" },
    { NULL },
};

const ShellCmd shell_migrate_tune_cmds[] = {
    { "migrate-setspeed", "Set the maximum migration bandwidth",
      "Set the maximum migration bandwidth (in MiB/s) for a domain which is being migrated to "
      "another host, or for its next migration.",
      setspeed_opts, cmd_migrate_setspeed },
    { "migrate-getspeed", "Get the maximum migration bandwidth",
      "Get the maximum migration bandwidth (in MiB/s) for a domain.", domain_opt,
      cmd_migrate_getspeed },
    { "migrate-setmaxdowntime", "set maximum tolerable downtime",
      "Set maximum tolerable downtime of a domain which is being live-migrated to another host, "
      "or for its next live migration.",
      setmaxdowntime_opts, cmd_migrate_setmaxdowntime },
    { "migrate-getmaxdowntime", "get maximum tolerable downtime",
      "Get maximum tolerable downtime of a domain which is being live-migrated to another host.",
      domain_opt, cmd_migrate_getmaxdowntime },
    { "migrate-compcache", "get/set compression cache size",
      "Get/set size of the cache (in bytes) used for compressing repeatedly transferred memory "
      "pages during live migration (--compressed with the xbzrle method).  QEMU keeps it, so the "
      "domain must be running; the size must be a power of two, at least a page.",
      compcache_opts, cmd_migrate_compcache },
    { NULL },
};
