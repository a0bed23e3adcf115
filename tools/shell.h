/*
 * shell.h: what the files of the ferry shell share.
 *
 * A command is data: its name, help and options (ShellOpt), and a run
 * function.  Options are virsh's: boolean flags ("--all") and arguments
 * given by position or by name ("dominfo web1" or "dominfo --domain web1").
 * The shell uses libferry's public API only.
 */
#pragma once

#include <stdio.h>

#include <glib.h>

#include "ferry/ferry.h"

typedef struct {
    char *uri; /* -c URI, or NULL for libferry's default */
    FerryConnect *conn; /* opened on first use */
} Shell;

typedef enum {
    SHELL_OPT_BOOL, /* --name */
    SHELL_OPT_ARG, /* a positional argument, or --name VALUE */
    SHELL_OPT_STRING, /* --name VALUE only (virsh's VSH_OT_STRING) */
    SHELL_OPT_NUMBER, /* --name N only (virsh's VSH_OT_INT); checked by the command */
} ShellOptType;

typedef struct {
    const char *name;
    ShellOptType type;
    gboolean required;
    const char *help;
} ShellOpt;

#define SHELL_MAX_OPTS 32

typedef struct _ShellCmd ShellCmd;

typedef struct {
    const ShellCmd *cmd;
    const char *values[SHELL_MAX_OPTS]; /* NULL: not given; "" for a set flag */
} ShellArgs;

struct _ShellCmd {
    const char *name;
    const char *summary;
    const char *description;
    const ShellOpt *opts; /* ends with { NULL } */
    gboolean (*run)(Shell *sh, const ShellArgs *args);
};

/* The command groups (each table ends with { NULL }). */
extern const ShellCmd shell_domain_cmds[];
extern const ShellCmd shell_monitor_cmds[];
extern const ShellCmd shell_host_cmds[];
extern const ShellCmd shell_event_cmds[];
extern const ShellCmd shell_migrate_tune_cmds[];
extern const ShellCmd shell_migrate_cmds[];

/* shell.c: arguments, connection, domain lookup, messages. */
const ShellCmd *shell_find_command(const char *name);
void shell_print_help(FILE *out, const ShellCmd *cmd);
void shell_print_command_list(FILE *out);
/* Parses argv (after the command name) into args.  Prints the usage and
 * sets *help_only when --help is among them.  FALSE after an error. */
gboolean shell_parse_args(const ShellCmd *cmd, int argc, char **argv, ShellArgs *args,
                          gboolean *help_only);
gboolean shell_flag(const ShellArgs *args, const char *name);
/* The value of an argument, string or number option; NULL when not given. */
const char *shell_arg(const ShellArgs *args, const char *name);
/* Whether option name (of any type) was given. */
gboolean shell_given(const ShellArgs *args, const char *name);

/* The connection, opened on first use; NULL after reporting. */
FerryConnect *shell_conn(Shell *sh);
/* The domain named by the "domain" argument, looked up as virsh does: as
 * an id when it is an integer >= 0, else as a uuid when it parses, else as
 * a name.  NULL after reporting. */
FerryDomain *shell_domain(Shell *sh, const ShellArgs *args);

/* "error: <message>" on stderr, one line. */
void shell_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "error: <message>: <libferry's last error>", one line. */
void shell_error_cause(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* The same with a cause given (another thread's last error). */
void shell_error_with_cause(const char *cause, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* bytes in the largest binary unit that keeps the value at least 1 (B,
 * KiB, ... EiB, named in *unit), for virsh's "%.3lf %s". */
double shell_pretty_bytes(unsigned long long bytes, const char **unit);
/* Names as virsh prints them. */
const char *shell_state_name(int state);
const char *shell_state_reason_name(int state, int reason);
