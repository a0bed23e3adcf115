/*
 * ferry.c: the ferry shell: `ferry [-c URI] COMMAND [ARGS]`, or commands
 * read from stdin one per line (with a prompt when stdin is a terminal).
 *
 * Exit status: 0 when the command succeeded, 1 after an error (reported
 * on stderr in one line).  Read from stdin: the status of the last command.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_SHELL
#define FERRY_LOG_MODULE "shell"

#include "tools/shell.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: ferry [-c URI] [COMMAND [ARGS]]\n\n"
                 "  -c, --connect URI   the connection URI (default: $FERRY_DEFAULT_URI,\n"
                 "                      else qemu:///system)\n"
                 "  -h, --help          this help\n"
                 "  -v, --version       the version\n\n"
                 "Without COMMAND, commands are read from stdin.  'ferry help' lists\n"
                 "the commands, 'ferry help COMMAND' or 'ferry COMMAND --help' explains one.\n");
}

/* help [COMMAND] */
static gboolean run_help(int argc, char **argv)
{
    const ShellCmd *cmd;

    if (argc == 0) {
        shell_print_command_list(stdout);
        return TRUE;
    }
    if (argc > 1) {
        shell_error("unexpected data '%s'", argv[1]);
        return FALSE;
    }
    if (g_str_equal(argv[0], "help")) {
        printf("  NAME\n    help - print help\n\n  SYNOPSIS\n    help [<command>]\n\n");
        return TRUE;
    }
    cmd = shell_find_command(argv[0]);
    if (!cmd) {
        shell_error("command or command group '%s' doesn't exist", argv[0]);
        return FALSE;
    }
    shell_print_help(stdout, cmd);
    return TRUE;
}

/* Runs one command (argv[0] is its name). */
static gboolean run_command(Shell *sh, int argc, char **argv)
{
    const ShellCmd *cmd;
    ShellArgs args;
    gboolean help_only = FALSE;

    if (g_str_equal(argv[0], "help"))
        return run_help(argc - 1, argv + 1);
    cmd = shell_find_command(argv[0]);
    if (!cmd) {
        shell_error("unknown command: '%s'", argv[0]);
        return FALSE;
    }
    if (!shell_parse_args(cmd, argc - 1, argv + 1, &args, &help_only))
        return FALSE;
    if (help_only)
        return TRUE;
    gboolean ok = cmd->run(sh, &args);
    fflush(stdout);
    return ok;
}

/* ---------------------------------------------------------------- interactive */

/* Splits a line into words: blanks separate, '...' and "..." quote, a
 * backslash escapes the next character (not inside '...'), '#' at the
 * start of a word begins a comment.  NULL (after reporting) for an
 * unterminated quote. */
static GStrv tokenize(const char *line)
{
    g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) word = NULL;
    char quote = 0;

    for (const char *p = line;; p++) {
        char c = *p;

        if (!c) {
            if (quote) {
                shell_error("unterminated %s quote", quote == '\'' ? "single" : "double");
                return NULL;
            }
            break;
        }
        if (quote) {
            if (c == quote)
                quote = 0;
            else if (c == '\\' && quote == '"' && p[1])
                g_string_append_c(word, *++p);
            else
                g_string_append_c(word, c);
            continue;
        }
        if (g_ascii_isspace(c)) {
            if (word)
                g_ptr_array_add(words, g_string_free(g_steal_pointer(&word), FALSE));
            continue;
        }
        if (c == '#' && !word)
            break;
        if (!word)
            word = g_string_new(NULL);
        if (c == '\'' || c == '"')
            quote = c;
        else if (c == '\\' && p[1])
            g_string_append_c(word, *++p);
        else
            g_string_append_c(word, c);
    }
    if (word)
        g_ptr_array_add(words, g_string_free(g_steal_pointer(&word), FALSE));
    g_ptr_array_add(words, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&words), FALSE);
}

static int run_interactive(Shell *sh)
{
    gboolean tty = isatty(STDIN_FILENO);
    gboolean ok = TRUE;
    char *line = NULL;
    size_t cap = 0;

    if (tty)
        printf("Welcome to ferry, the shell of ferry " PACKAGE_VERSION ".\n\n"
               "Type:  'help' for help with commands\n"
               "       'quit' to quit\n\n");
    for (;;) {
        if (tty) {
            printf("ferry # ");
            fflush(stdout);
        }
        if (getline(&line, &cap, stdin) < 0)
            break;
        g_auto(GStrv) words = tokenize(line);
        if (!words) {
            ok = FALSE;
            continue;
        }
        if (!words[0])
            continue;
        if (g_str_equal(words[0], "quit") || g_str_equal(words[0], "exit"))
            break;
        ok = run_command(sh, (int)g_strv_length(words), words);
    }
    free(line);
    if (tty)
        printf("\n");
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    Shell sh = { 0 };
    int i;
    int status;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (g_str_equal(a, "-c") || g_str_equal(a, "--connect")) {
            if (i + 1 >= argc) {
                shell_error("option '%s' needs a URI", a);
                return EXIT_FAILURE;
            }
            g_free(sh.uri);
            sh.uri = g_strdup(argv[++i]);
        } else if (g_str_has_prefix(a, "--connect=")) {
            g_free(sh.uri);
            sh.uri = g_strdup(a + strlen("--connect="));
        } else if (g_str_equal(a, "-h") || g_str_equal(a, "--help")) {
            usage(stdout);
            g_free(sh.uri);
            return EXIT_SUCCESS;
        } else if (g_str_equal(a, "-v") || g_str_equal(a, "--version")) {
            printf("%s\n", PACKAGE_VERSION);
            g_free(sh.uri);
            return EXIT_SUCCESS;
        } else if (g_str_equal(a, "--")) {
            i++;
            break;
        } else if (a[0] == '-') {
            shell_error("unknown option '%s' (see ferry --help)", a);
            g_free(sh.uri);
            return EXIT_FAILURE;
        } else {
            break;
        }
    }
    if (i < argc)
        status = run_command(&sh, argc - i, argv + i) ? EXIT_SUCCESS : EXIT_FAILURE;
    else
        status = run_interactive(&sh);
    if (sh.conn)
        ferry_connect_close(sh.conn);
    g_free(sh.uri);
    return status;
}
