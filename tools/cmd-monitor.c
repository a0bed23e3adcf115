/*
 * cmd-monitor.c: list, dominfo, domstate, domjobinfo.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_SHELL
#define FERRY_LOG_MODULE "shell"

#include "tools/shell.h"

/* ---------------------------------------------------------------- list */

/* Prints rows as virsh's tables: a blank, the columns padded to their
 * widest cell and separated by three blanks (the last one unpadded), a
 * dashed rule under the header as wide as the widest line plus two. */
static void print_table(GPtrArray *rows, guint ncols)
{
    g_autofree gsize *width = g_new0(gsize, ncols);
    gsize total = 1;

    for (guint r = 0; r < rows->len; r++) {
        char **row = g_ptr_array_index(rows, r);

        for (guint c = 0; c < ncols; c++)
            width[c] = MAX(width[c], (gsize)g_utf8_strlen(row[c], -1));
    }
    for (guint c = 0; c < ncols; c++)
        total += width[c] + (c ? 3 : 0);
    for (guint r = 0; r < rows->len; r++) {
        char **row = g_ptr_array_index(rows, r);
        g_autoptr(GString) line = g_string_new(" ");

        for (guint c = 0; c < ncols; c++) {
            g_string_append(line, row[c]);
            if (c + 1 < ncols) {
                for (gsize pad = (gsize)g_utf8_strlen(row[c], -1); pad < width[c] + 3; pad++)
                    g_string_append_c(line, ' ');
            }
        }
        printf("%s\n", line->str);
        if (r == 0) {
            for (gsize i = 0; i < total + 2; i++)
                putchar('-');
            putchar('\n');
        }
    }
    printf("\n");
}

static gint compare_domains(gconstpointer a, gconstpointer b)
{
    FerryDomain *da = *(FerryDomain *const *)a;
    FerryDomain *db = *(FerryDomain *const *)b;
    int ia = ferry_domain_get_id(da), ib = ferry_domain_get_id(db);

    /* virsh: running ones by id, then inactive ones by name. */
    if ((ia >= 0) != (ib >= 0))
        return ia >= 0 ? -1 : 1;
    if (ia >= 0)
        return ia < ib ? -1 : ia > ib;
    return strcmp(ferry_domain_get_name(da), ferry_domain_get_name(db));
}

static gboolean cmd_list(Shell *sh, const ShellArgs *args)
{
    FerryConnect *conn = shell_conn(sh);
    FerryDomain **doms = NULL;
    unsigned int flags = FERRY_CONNECT_LIST_DOMAINS_ACTIVE;
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    int n;

    if (!conn)
        return FALSE;
    if (shell_flag(args, "all"))
        flags |= FERRY_CONNECT_LIST_DOMAINS_INACTIVE;
    if (shell_flag(args, "inactive"))
        flags = FERRY_CONNECT_LIST_DOMAINS_INACTIVE;
    n = ferry_connect_list_all_domains(conn, &doms, flags);
    if (n < 0) {
        shell_error_cause("failed to list domains");
        return FALSE;
    }
    qsort(doms, (size_t)n, sizeof(*doms), (int (*)(const void *, const void *))compare_domains);
    g_ptr_array_add(rows, g_strsplit("Id Name State", " ", -1));
    for (int i = 0; i < n; i++) {
        int state = FERRY_DOMAIN_NOSTATE;
        int id = ferry_domain_get_id(doms[i]);
        char **row = g_new0(char *, 4);

        /* A domain gone in between shows "no state", as virsh does. */
        if (ferry_domain_get_state(doms[i], &state, NULL, 0) < 0)
            state = FERRY_DOMAIN_NOSTATE;
        row[0] = id >= 0 ? g_strdup_printf("%d", id) : g_strdup("-");
        row[1] = g_strdup(ferry_domain_get_name(doms[i]));
        row[2] = g_strdup(shell_state_name(state));
        g_ptr_array_add(rows, row);
        ferry_domain_free(doms[i]);
    }
    free(doms);
    print_table(rows, 3);
    return TRUE;
}

/* ---------------------------------------------------------------- dominfo */

#define FIELD(label, ...) \
    do { \
        g_autofree char *v_ = g_strdup_printf(__VA_ARGS__); \
        printf("%-15s %s\n", label, v_); \
    } while (0)

static gboolean cmd_dominfo(Shell *sh, const ShellArgs *args)
{
    FerryDomain *dom = shell_domain(sh, args);
    FerryDomainInfo info = { 0 };
    char uuid[FERRY_UUID_STRING_BUFLEN];
    g_autofree char *os = NULL;
    int persistent;
    int id;

    if (!dom)
        return FALSE;
    if (ferry_domain_get_info(dom, &info) < 0 || !(os = ferry_domain_get_os_type(dom)) ||
        (persistent = ferry_domain_is_persistent(dom)) < 0) {
        shell_error_cause("failed to get information on domain '%s'", ferry_domain_get_name(dom));
        ferry_domain_free(dom);
        return FALSE;
    }
    id = ferry_domain_get_id(dom);
    ferry_domain_get_uuid_string(dom, uuid);
    if (id >= 0)
        FIELD("Id:", "%d", id);
    else
        FIELD("Id:", "-");
    FIELD("Name:", "%s", ferry_domain_get_name(dom));
    FIELD("UUID:", "%s", uuid);
    FIELD("OS Type:", "%s", os);
    FIELD("State:", "%s", shell_state_name(info.state));
    FIELD("CPU(s):", "%u", info.nr_virt_cpu);
    if (info.cpu_time_ns)
        FIELD("CPU time:", "%.1lfs", (double)info.cpu_time_ns / 1e9);
    FIELD("Max memory:", "%llu KiB", info.max_mem_kib);
    FIELD("Used memory:", "%llu KiB", info.memory_kib);
    FIELD("Persistent:", "%s", persistent ? "yes" : "no");
    FIELD("Autostart:", "disable");
    FIELD("Managed save:", "no");
    /* ferry has no security driver: libvirt's "none" model. */
    FIELD("Security model:", "none");
    FIELD("Security DOI:", "0");
    printf("\n");
    ferry_domain_free(dom);
    return TRUE;
}

/* ---------------------------------------------------------------- domstate */

static gboolean cmd_domstate(Shell *sh, const ShellArgs *args)
{
    FerryDomain *dom = shell_domain(sh, args);
    int state = 0, reason = 0;

    if (!dom)
        return FALSE;
    if (ferry_domain_get_state(dom, &state, &reason, 0) < 0) {
        shell_error_cause("failed to get the state of domain '%s'", ferry_domain_get_name(dom));
        ferry_domain_free(dom);
        return FALSE;
    }
    if (shell_flag(args, "reason"))
        printf("%s (%s)\n\n", shell_state_name(state), shell_state_reason_name(state, reason));
    else
        printf("%s\n\n", shell_state_name(state));
    ferry_domain_free(dom);
    return TRUE;
}

/* ---------------------------------------------------------------- domjobinfo */

static const char *job_type_name(int type)
{
    static const char *const names[] = { "None",      "Bounded", "Unbounded",
                                         "Completed", "Failed",  "Cancelled" };
    G_STATIC_ASSERT(G_N_ELEMENTS(names) == FERRY_DOMAIN_JOB_LAST);

    return type >= 0 && type < (int)G_N_ELEMENTS(names) ? names[type] : "Unknown";
}

/* virDomainJobOperation */
static const char *job_operation_name(int op)
{
    static const char *const names[] = {
        "Unknown",
        "Start",
        "Save",
        "Restore",
        "Incoming migration",
        "Outgoing migration",
        "Snapshot",
        "Snapshot revert",
        "Dump",
        "Backup",
        "Snapshot delete",
    };

    return op >= 0 && op < (int)G_N_ELEMENTS(names) ? names[op] : "Unknown";
}

/* Bytes as virsh shows them: "%.3lf %s" in the largest unit below 1024. */
static void print_bytes(const char *label, unsigned long long bytes, const char *suffix)
{
    const char *unit = NULL;
    double v = shell_pretty_bytes(bytes, &unit);

    printf("%-17s %-.3lf %s%s\n", label, v, unit, suffix);
}

static gboolean cmd_domjobinfo(Shell *sh, const ShellArgs *args)
{
    FerryDomain *dom = shell_domain(sh, args);
    FerryTypedParameter *params = NULL;
    int nparams = 0, type = 0, op = 0;
    unsigned long long v;
    unsigned int flags = 0;
    static const struct {
        const char *name;
        const char *label;
        gboolean bytes;
        const char *unit;
    } stats[] = {
        { FERRY_DOMAIN_JOB_TIME_ELAPSED, "Time elapsed:", FALSE, "ms" },
        { FERRY_DOMAIN_JOB_DATA_PROCESSED, "Data processed:", TRUE, NULL },
        { FERRY_DOMAIN_JOB_DATA_REMAINING, "Data remaining:", TRUE, NULL },
        { FERRY_DOMAIN_JOB_DATA_TOTAL, "Data total:", TRUE, NULL },
        { FERRY_DOMAIN_JOB_MEMORY_PROCESSED, "Memory processed:", TRUE, NULL },
        { FERRY_DOMAIN_JOB_MEMORY_REMAINING, "Memory remaining:", TRUE, NULL },
        { FERRY_DOMAIN_JOB_MEMORY_TOTAL, "Memory total:", TRUE, NULL },
        { FERRY_DOMAIN_JOB_MEMORY_BPS, "Memory bandwidth:", TRUE, "/s" },
        { FERRY_DOMAIN_JOB_MEMORY_DIRTY_RATE, "Dirty rate:", FALSE, "pages/s" },
        { FERRY_DOMAIN_JOB_MEMORY_ITERATION, "Iteration:", FALSE, "" },
        { FERRY_DOMAIN_JOB_SETUP_TIME, "Setup time:", FALSE, "ms" },
    };

    if (!dom)
        return FALSE;
    if (shell_flag(args, "completed"))
        flags |= FERRY_DOMAIN_JOB_STATS_COMPLETED;
    if (shell_flag(args, "keep-completed"))
        flags |= FERRY_DOMAIN_JOB_STATS_KEEP_COMPLETED;
    if (ferry_domain_get_job_stats(dom, &type, &params, &nparams, flags) < 0) {
        shell_error_cause("failed to get job information for domain '%s'",
                          ferry_domain_get_name(dom));
        ferry_domain_free(dom);
        return FALSE;
    }
    printf("%-17s %-12s\n", "Job type:", job_type_name(type));
    if (type != FERRY_DOMAIN_JOB_NONE) {
        if (ferry_typed_params_get_int(params, nparams, FERRY_DOMAIN_JOB_OPERATION, &op) == 1)
            printf("%-17s %-12s\n", "Operation:", job_operation_name(op));
        for (gsize i = 0; i < G_N_ELEMENTS(stats); i++) {
            if (ferry_typed_params_get_ullong(params, nparams, stats[i].name, &v) != 1)
                continue;
            if (stats[i].bytes) {
                print_bytes(stats[i].label, v, stats[i].unit ? stats[i].unit : "");
            } else {
                printf("%-17s %-12llu %s\n", stats[i].label, v, stats[i].unit);
            }
        }
        if (ferry_typed_params_get_ullong(params, nparams, FERRY_DOMAIN_JOB_DOWNTIME, &v) == 1)
            printf(
                "%-17s %-12llu ms\n",
                type == FERRY_DOMAIN_JOB_COMPLETED ? "Total downtime:" : "Expected downtime:", v);
    }
    printf("\n");
    ferry_typed_params_free(params, nparams);
    ferry_reset_last_error();
    ferry_domain_free(dom);
    return TRUE;
}

static const ShellOpt list_opts[] = {
    { "inactive", SHELL_OPT_BOOL, FALSE, "list inactive domains" },
    { "all", SHELL_OPT_BOOL, FALSE, "list inactive & active domains" },
    { NULL },
};
static const ShellOpt domain_opt[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { NULL },
};
static const ShellOpt domstate_opts[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { "reason", SHELL_OPT_BOOL, FALSE, "also print reason for the state" },
    { NULL },
};
static const ShellOpt domjobinfo_opts[] = {
    { "domain", SHELL_OPT_ARG, TRUE, "domain name, id or uuid" },
    { "completed", SHELL_OPT_BOOL, FALSE, "return statistics of a recently completed job" },
    { "keep-completed", SHELL_OPT_BOOL, FALSE,
      "don't destroy statistics of a recently "
      "completed job when reading" },
    { NULL },
};

const ShellCmd shell_monitor_cmds[] = {
    { "list", "list domains", "Returns list of domains (running ones only without --all).",
      list_opts, cmd_list },
    { "dominfo", "domain information", "Returns basic information about the domain.", domain_opt,
      cmd_dominfo },
    { "domstate", "domain state", "Returns state about a domain.", domstate_opts, cmd_domstate },
    { "domjobinfo", "domain job information", "Returns information about jobs running on a domain.",
      domjobinfo_opts, cmd_domjobinfo },
    { NULL },
};
