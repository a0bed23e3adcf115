/*
 * shell.c: the ferry shell's arguments, connection, domain lookup and
 * messages.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_SHELL
#define FERRY_LOG_MODULE "shell"

#include "tools/shell.h"

/* The help's sections: a title and the command tables listed under it. */
static const struct {
    const char *title;
    const ShellCmd *tables[2];
} shell_groups[] = {
    { "Domain Management", { shell_domain_cmds } },
    { "Domain Monitoring", { shell_monitor_cmds } },
    { "Domain Events", { shell_event_cmds } },
    { "Domain Migration", { shell_migrate_cmds, shell_migrate_tune_cmds } },
    { "Host and Connection", { shell_host_cmds } },
};

const ShellCmd *shell_find_command(const char *name)
{
    for (gsize g = 0; g < G_N_ELEMENTS(shell_groups); g++) {
        for (gsize t = 0; t < G_N_ELEMENTS(shell_groups[g].tables); t++) {
            for (const ShellCmd *cmd = shell_groups[g].tables[t]; cmd && cmd->name; cmd++) {
                if (g_str_equal(cmd->name, name))
                    return cmd;
            }
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- messages */

void shell_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "error: %s\n", msg);
    fflush(stderr);
}

static void shell_error_line(const char *cause, const char *msg)
{
    /* One line: a cause with newlines (QEMU's log tail) is joined. */
    g_autofree char *line = g_strdup(cause ? cause : "unknown error");

    g_strdelimit(line, "\n\r", ' ');
    fprintf(stderr, "error: %s: %s\n", msg, g_strstrip(line));
    fflush(stderr);
}

void shell_error_cause(const char *fmt, ...)
{
    va_list ap;
    const char *cause = ferry_get_last_error_message();

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    shell_error_line(cause, msg);
}

void shell_error_with_cause(const char *cause, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    shell_error_line(cause, msg);
}

/* ---------------------------------------------------------------- help */

/* What an option's value is, in the help. */
static const char *opt_value_name(const ShellOpt *opt)
{
    return opt->type == SHELL_OPT_NUMBER ? "<number>" : "<string>";
}

static void opt_usage(GString *out, const ShellOpt *opt)
{
    if (opt->type == SHELL_OPT_BOOL)
        g_string_append_printf(out, " [--%s]", opt->name);
    else if (opt->type != SHELL_OPT_ARG)
        g_string_append_printf(out, " [--%s %s]", opt->name, opt_value_name(opt));
    else if (opt->required)
        g_string_append_printf(out, " <%s>", opt->name);
    else
        g_string_append_printf(out, " [<%s>]", opt->name);
}

void shell_print_help(FILE *out, const ShellCmd *cmd)
{
    g_autoptr(GString) synopsis = g_string_new(cmd->name);

    for (const ShellOpt *opt = cmd->opts; opt && opt->name; opt++)
        opt_usage(synopsis, opt);
    fprintf(out, "  NAME\n    %s - %s\n\n", cmd->name, cmd->summary);
    fprintf(out, "  SYNOPSIS\n    %s\n\n", synopsis->str);
    fprintf(out, "  DESCRIPTION\n    %s\n\n", cmd->description);
    if (cmd->opts && cmd->opts->name) {
        fprintf(out, "  OPTIONS\n");
        for (const ShellOpt *opt = cmd->opts; opt->name; opt++) {
            g_autofree char *left =
                opt->type == SHELL_OPT_BOOL ? g_strdup_printf("--%s", opt->name)
                : opt->type == SHELL_OPT_ARG
                    ? g_strdup_printf("[--%s] <string>", opt->name)
                    : g_strdup_printf("--%s %s", opt->name, opt_value_name(opt));
            fprintf(out, "    %-20s %s\n", left, opt->help);
        }
        fprintf(out, "\n");
    }
}

void shell_print_command_list(FILE *out)
{
    fprintf(out, "Usage: ferry [-c URI] COMMAND [ARGS]    (no COMMAND: read commands "
                 "from stdin)\n\n");
    for (gsize g = 0; g < G_N_ELEMENTS(shell_groups); g++) {
        fprintf(out, " %s:\n", shell_groups[g].title);
        for (gsize t = 0; t < G_N_ELEMENTS(shell_groups[g].tables); t++) {
            for (const ShellCmd *cmd = shell_groups[g].tables[t]; cmd && cmd->name; cmd++)
                fprintf(out, "    %-14s %s\n", cmd->name, cmd->summary);
        }
        fprintf(out, "\n");
    }
    fprintf(out, " Shell:\n    %-14s %s\n    %-14s %s\n\n", "help", "print help (help COMMAND)",
            "quit, exit", "leave the interactive shell");
}

/* ---------------------------------------------------------------- arguments */

static int opt_index(const ShellCmd *cmd, const char *name)
{
    for (int i = 0; cmd->opts && cmd->opts[i].name; i++) {
        if (g_str_equal(cmd->opts[i].name, name))
            return i;
    }
    return -1;
}

gboolean shell_parse_args(const ShellCmd *cmd, int argc, char **argv, ShellArgs *args,
                          gboolean *help_only)
{
    gboolean options_done = FALSE;

    memset(args, 0, sizeof(*args));
    args->cmd = cmd;
    *help_only = FALSE;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (!options_done && g_str_equal(a, "--")) {
            options_done = TRUE;
            continue;
        }
        if (!options_done && g_str_has_prefix(a, "--")) {
            g_autofree char *name = g_strdup(a + 2);
            char *eq = strchr(name, '=');
            const char *inline_value = NULL;

            if (eq) {
                *eq = '\0';
                inline_value = eq + 1;
            }
            if (g_str_equal(name, "help")) {
                *help_only = TRUE;
                shell_print_help(stdout, cmd);
                return TRUE;
            }
            int idx = opt_index(cmd, name);
            if (idx < 0) {
                shell_error("command '%s' doesn't support option --%s", cmd->name, name);
                return FALSE;
            }
            if (cmd->opts[idx].type == SHELL_OPT_BOOL) {
                if (inline_value) {
                    shell_error("option --%s of command '%s' takes no value", name, cmd->name);
                    return FALSE;
                }
                args->values[idx] = "";
                continue;
            }
            if (!inline_value && i + 1 >= argc) {
                shell_error("option --%s of command '%s' needs a value", name, cmd->name);
                return FALSE;
            }
            if (args->values[idx]) {
                shell_error("option --%s of command '%s' was given twice", name, cmd->name);
                return FALSE;
            }
            args->values[idx] = inline_value ? argv[i] + 2 + strlen(name) + 1 : argv[++i];
            continue;
        }
        /* A positional argument fills the first argument option not set. */
        int idx = -1;
        for (int j = 0; cmd->opts && cmd->opts[j].name; j++) {
            if (cmd->opts[j].type == SHELL_OPT_ARG && !args->values[j]) {
                idx = j;
                break;
            }
        }
        if (idx < 0) {
            shell_error("unexpected data '%s'", a);
            return FALSE;
        }
        args->values[idx] = a;
    }
    for (int j = 0; cmd->opts && cmd->opts[j].name; j++) {
        if (cmd->opts[j].required && !args->values[j]) {
            shell_error("command '%s' requires <%s> option", cmd->name, cmd->opts[j].name);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean shell_flag(const ShellArgs *args, const char *name)
{
    int idx = opt_index(args->cmd, name);

    g_assert(idx >= 0 && args->cmd->opts[idx].type == SHELL_OPT_BOOL);
    return args->values[idx] != NULL;
}

const char *shell_arg(const ShellArgs *args, const char *name)
{
    int idx = opt_index(args->cmd, name);

    g_assert(idx >= 0 && args->cmd->opts[idx].type != SHELL_OPT_BOOL);
    return args->values[idx];
}

gboolean shell_given(const ShellArgs *args, const char *name)
{
    int idx = opt_index(args->cmd, name);

    g_assert(idx >= 0);
    return args->values[idx] != NULL;
}

/* ---------------------------------------------------------------- connection */

FerryConnect *shell_conn(Shell *sh)
{
    if (sh->conn)
        return sh->conn;
    sh->conn = ferry_connect_open(sh->uri, 0);
    if (!sh->conn)
        shell_error_cause("failed to connect to the hypervisor");
    return sh->conn;
}

static gboolean parse_id(const char *text, int *id)
{
    char *end = NULL;
    long long v;

    if (!g_ascii_isdigit(text[0]))
        return FALSE;
    errno = 0;
    v = g_ascii_strtoll(text, &end, 10);
    if (errno || *end || v < 0 || v > G_MAXINT)
        return FALSE;
    *id = (int)v;
    return TRUE;
}

FerryDomain *shell_domain(Shell *sh, const ShellArgs *args)
{
    const char *name = shell_arg(args, "domain");
    FerryConnect *conn = shell_conn(sh);
    FerryDomain *dom = NULL;
    int id;

    if (!conn)
        return NULL;
    if (parse_id(name, &id))
        dom = ferry_domain_lookup_by_id(conn, id);
    if (!dom && strlen(name) >= 32) {
        dom = ferry_domain_lookup_by_uuid_string(conn, name);
    }
    if (!dom)
        dom = ferry_domain_lookup_by_name(conn, name);
    if (!dom)
        shell_error_cause("failed to get domain '%s'", name);
    return dom;
}

/* ---------------------------------------------------------------- names */

double shell_pretty_bytes(unsigned long long bytes, const char **unit)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double v = (double)bytes;
    gsize u = 0;

    while (v >= 1024 && u + 1 < G_N_ELEMENTS(units)) {
        v /= 1024;
        u++;
    }
    *unit = units[u];
    return v;
}

const char *shell_state_name(int state)
{
    static const char *const names[] = { "no state",    "running",  "idle",    "paused",
                                         "in shutdown", "shut off", "crashed", "pmsuspended" };
    G_STATIC_ASSERT(G_N_ELEMENTS(names) == FERRY_DOMAIN_STATE_LAST);

    if (state < 0 || state >= (int)G_N_ELEMENTS(names))
        return "no state";
    return names[state];
}

/* virsh's words for libvirt's reason numbers, per state. */
static const char *const reasons_running[] = {
    "unknown",       "booted",   "migrated",           "restored",
    "from snapshot", "unpaused", "migration canceled", "save canceled",
    "event wakeup",  "crashed",  "post-copy",          "post-copy failed",
};
static const char *const reasons_paused[] = {
    "unknown",   "user",        "migrating",     "saving",           "dumping",
    "I/O error", "watchdog",    "from snapshot", "shutting down",    "creating snapshot",
    "crashed",   "starting up", "post-copy",     "post-copy failed", "api error",
};
static const char *const reasons_shutdown[] = { "unknown", "user" };
static const char *const reasons_shutoff[] = {
    "unknown", "shutdown", "destroyed",     "crashed", "migrated",
    "saved",   "failed",   "from snapshot", "daemon",
};
static const char *const reasons_crashed[] = { "unknown", "panicked" };

const char *shell_state_reason_name(int state, int reason)
{
    const char *const *tbl = NULL;
    int n = 0;

#define PICK(t) (tbl = (t), n = (int)G_N_ELEMENTS(t))
    switch (state) {
    case FERRY_DOMAIN_RUNNING:
        PICK(reasons_running);
        break;
    case FERRY_DOMAIN_PAUSED:
        PICK(reasons_paused);
        break;
    case FERRY_DOMAIN_SHUTDOWN:
        PICK(reasons_shutdown);
        break;
    case FERRY_DOMAIN_SHUTOFF:
        PICK(reasons_shutoff);
        break;
    case FERRY_DOMAIN_CRASHED:
        PICK(reasons_crashed);
        break;
    default:
        break;
    }
#undef PICK
    if (!tbl || reason < 0 || reason >= n)
        return "unknown";
    return tbl[reason];
}
