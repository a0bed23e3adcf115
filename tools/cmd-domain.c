/*
 * cmd-domain.c: define, undefine, create, start, destroy, shutdown,
 * suspend, resume, dumpxml, domjobabort.
 */
#include <config.h>

#include <stdlib.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_SHELL
#define FERRY_LOG_MODULE "shell"

#include "tools/shell.h"

static char *read_xml_file(const char *path)
{
    g_autoptr(GError) err = NULL;
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, &err)) {
        shell_error("failed to read file '%s': %s", path, err->message);
        return NULL;
    }
    return text;
}

static gboolean cmd_define(Shell *sh, const ShellArgs *args)
{
    const char *file = shell_arg(args, "file");
    FerryConnect *conn = shell_conn(sh);
    g_autofree char *xml = NULL;
    FerryDomain *dom;

    if (!conn || !(xml = read_xml_file(file)))
        return FALSE;
    dom = ferry_domain_define_xml(conn, xml, 0);
    if (!dom) {
        shell_error_cause("failed to define domain from %s", file);
        return FALSE;
    }
    printf("Domain '%s' defined from %s\n\n", ferry_domain_get_name(dom), file);
    ferry_domain_free(dom);
    return TRUE;
}

static gboolean cmd_create(Shell *sh, const ShellArgs *args)
{
    const char *file = shell_arg(args, "file");
    FerryConnect *conn = shell_conn(sh);
    g_autofree char *xml = NULL;
    unsigned int flags = 0;
    FerryDomain *dom;

    if (!conn || !(xml = read_xml_file(file)))
        return FALSE;
    if (shell_flag(args, "paused"))
        flags |= FERRY_DOMAIN_START_PAUSED;
    if (shell_flag(args, "autodestroy"))
        flags |= FERRY_DOMAIN_START_AUTODESTROY;
    dom = ferry_domain_create_xml(conn, xml, flags);
    if (!dom) {
        shell_error_cause("failed to create domain from %s", file);
        return FALSE;
    }
    printf("Domain '%s' created from %s\n\n", ferry_domain_get_name(dom), file);
    ferry_domain_free(dom);
    return TRUE;
}

static gboolean cmd_start(Shell *sh, const ShellArgs *args)
{
    FerryDomain *dom = shell_domain(sh, args);
    unsigned int flags = 0;

    if (!dom)
        return FALSE;
    if (shell_flag(args, "paused"))
        flags |= FERRY_DOMAIN_START_PAUSED;
    if (shell_flag(args, "autodestroy"))
        flags |= FERRY_DOMAIN_START_AUTODESTROY;
    if (ferry_domain_create(dom, flags) < 0) {
        shell_error_cause("failed to start domain '%s'", ferry_domain_get_name(dom));
        ferry_domain_free(dom);
        return FALSE;
    }
    printf("Domain '%s' started\n\n", ferry_domain_get_name(dom));
    ferry_domain_free(dom);
    return TRUE;
}

/* The commands that call one function on one domain and say so. */
typedef enum {
    SIMPLE_UNDEFINE,
    SIMPLE_DESTROY,
    SIMPLE_SHUTDOWN,
    SIMPLE_SUSPEND,
    SIMPLE_RESUME,
    SIMPLE_ABORT,
    SIMPLE_LAST
} SimpleOp;

static const struct {
    const char *verb; /* in "failed to VERB domain 'x'" */
    const char *done; /* "Domain 'x' DONE"; NULL: silent */
} simple_ops[] = {
    [SIMPLE_UNDEFINE] = { "undefine", "has been undefined" },
    [SIMPLE_DESTROY] = { "destroy", "destroyed" },
    [SIMPLE_SHUTDOWN] = { "shutdown", "is being shutdown" },
    [SIMPLE_SUSPEND] = { "suspend", "suspended" },
    [SIMPLE_RESUME] = { "resume", "resumed" },
    [SIMPLE_ABORT] = { "abort the job of", NULL },
};
G_STATIC_ASSERT(G_N_ELEMENTS(simple_ops) == SIMPLE_LAST);

static gboolean run_simple(Shell *sh, const ShellArgs *args, SimpleOp op)
{
    FerryDomain *dom = shell_domain(sh, args);
    int rc = -1;

    if (!dom)
        return FALSE;
    switch (op) {
    case SIMPLE_UNDEFINE:
        rc = ferry_domain_undefine(dom, 0);
        break;
    case SIMPLE_DESTROY:
        rc = ferry_domain_destroy(dom, 0);
        break;
    case SIMPLE_SHUTDOWN:
        rc = ferry_domain_shutdown(dom, 0);
        break;
    case SIMPLE_SUSPEND:
        rc = ferry_domain_suspend(dom);
        break;
    case SIMPLE_RESUME:
        rc = ferry_domain_resume(dom);
        break;
    case SIMPLE_ABORT:
        rc = ferry_domain_abort_job(dom, 0);
        break;
    case SIMPLE_LAST:
        break;
    }
    if (rc < 0)
        shell_error_cause("failed to %s domain '%s'", simple_ops[op].verb,
                          ferry_domain_get_name(dom));
    else if (simple_ops[op].done)
        printf("Domain '%s' %s\n\n", ferry_domain_get_name(dom), simple_ops[op].done);
    ferry_domain_free(dom);
    return rc == 0;
}

static gboolean cmd_undefine(Shell *sh, const ShellArgs *args)
{
    return run_simple(sh, args, SIMPLE_UNDEFINE);
}

static gboolean cmd_destroy(Shell *sh, const ShellArgs *args)
{
    return run_simple(sh, args, SIMPLE_DESTROY);
}

static gboolean cmd_shutdown(Shell *sh, const ShellArgs *args)
{
    return run_simple(sh, args, SIMPLE_SHUTDOWN);
}

static gboolean cmd_suspend(Shell *sh, const ShellArgs *args)
{
    return run_simple(sh, args, SIMPLE_SUSPEND);
}

static gboolean cmd_resume(Shell *sh, const ShellArgs *args)
{
    return run_simple(sh, args, SIMPLE_RESUME);
}

static gboolean cmd_domjobabort(Shell *sh, const ShellArgs *args)
{
    return run_simple(sh, args, SIMPLE_ABORT);
}

static gboolean cmd_dumpxml(Shell *sh, const ShellArgs *args)
{
    FerryDomain *dom = shell_domain(sh, args);
    unsigned int flags = 0;
    g_autofree char *xml = NULL;

    if (!dom)
        return FALSE;
    if (shell_flag(args, "inactive"))
        flags |= FERRY_DOMAIN_XML_INACTIVE;
    if (shell_flag(args, "security-info"))
        flags |= FERRY_DOMAIN_XML_SECURE;
    if (shell_flag(args, "update-cpu"))
        flags |= FERRY_DOMAIN_XML_UPDATE_CPU;
    if (shell_flag(args, "migratable"))
        flags |= FERRY_DOMAIN_XML_MIGRATABLE;
    xml = ferry_domain_get_xml_desc(dom, flags);
    if (!xml) {
        shell_error_cause("failed to get the XML of domain '%s'", ferry_domain_get_name(dom));
        ferry_domain_free(dom);
        return FALSE;
    }
    printf("%s%s\n", xml, g_str_has_suffix(xml, "\n") ? "" : "\n");
    ferry_domain_free(dom);
    return TRUE;
}

static const ShellOpt file_opt[] = {
    { "file", SHELL_OPT_ARG, TRUE, "file containing an XML domain description" },
    { NULL },
};
static const ShellOpt create_opts[] = {
    { "file", SHELL_OPT_ARG, TRUE, "file containing an XML domain description" },
    { "paused", SHELL_OPT_BOOL, FALSE, "leave the guest paused after creation" },
    { "autodestroy", SHELL_OPT_BOOL, FALSE,
      "automatically destroy the guest when the "
      "connection is closed" },
    { NULL },
};
static const ShellOpt domain_opt[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { NULL },
};
static const ShellOpt start_opts[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "name or uuid of the inactive domain" },
    { "paused", SHELL_OPT_BOOL, FALSE, "leave the guest paused after creation" },
    { "autodestroy", SHELL_OPT_BOOL, FALSE,
      "automatically destroy the guest when the "
      "connection is closed" },
    { NULL },
};
static const ShellOpt dumpxml_opts[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { "inactive", SHELL_OPT_BOOL, FALSE, "show inactive defined XML" },
    { "security-info", SHELL_OPT_BOOL, FALSE,
      "include security sensitive information in XML "
      "dump" },
    { "update-cpu", SHELL_OPT_BOOL, FALSE, "update guest CPU according to host CPU" },
    { "migratable", SHELL_OPT_BOOL, FALSE, "provide XML suitable for migrations" },
    { NULL },
};

const ShellCmd shell_domain_cmds[] = {
    { "define", "define (but don't start) a domain from an XML file",
      "Define a domain from an XML file.", file_opt, cmd_define },
    { "undefine", "undefine a domain",
      "Undefine an inactive domain, or convert persistent to transient.", domain_opt,
      cmd_undefine },
    { "create", "create a domain from an XML file", "Create a domain from an XML file.",
      create_opts, cmd_create },
    { "start", "start a (previously defined) inactive domain",
      "Start a domain, either from the last managedsave state, or via a fresh boot if no "
      "managedsave state is present.",
      start_opts, cmd_start },
    { "destroy", "destroy (stop) a domain", "Forcefully stop a given domain.", domain_opt,
      cmd_destroy },
    { "shutdown", "gracefully shutdown a domain", "Run shutdown in the target domain.", domain_opt,
      cmd_shutdown },
    { "suspend", "suspend a domain", "Suspend a running domain.", domain_opt, cmd_suspend },
    { "resume", "resume a domain", "Resume a previously suspended domain.", domain_opt,
      cmd_resume },
    { "dumpxml", "domain information in XML",
      "Output the domain information as an XML dump "
      "to stdout.",
      dumpxml_opts, cmd_dumpxml },
    { "domjobabort", "abort active domain job", "Aborts the currently running domain job.",
      domain_opt, cmd_domjobabort },
    { NULL },
};
