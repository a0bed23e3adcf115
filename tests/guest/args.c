/*
 * ferry test guest: the multiboot command line (QEMU's -append).
 *
 *   mem=<MiB to fill>  rate=<pages rewritten per second, 0 = idle>
 *   seed=<pattern seed>  corrupt=<page index to damage once>
 *
 * A guest that silently ran with defaults after a typo would make a
 * migration test pass for the wrong reason, so every unknown or malformed
 * token gets its own error line and the guest then stops.
 */
#include "guest.h"

#define ARG_ECHO_MAX 64u

typedef struct {
    const char *key;
    size_t offset; /* of the uint32_t in GuestArgs */
    uint32_t min;
    uint32_t max;
    const char *what;
} ArgSpec;

/* The arguments are data: one row each, parsed by one loop. */
static const ArgSpec arg_specs[] = {
    { "mem", offsetof(GuestArgs, mem_mib), 1, GUEST_MAX_MEM_MIB, "MiB of memory to fill" },
    { "rate", offsetof(GuestArgs, rate), 0, GUEST_MAX_RATE, "pages rewritten per second" },
    { "seed", offsetof(GuestArgs, seed), 0, 0xffffffffu, "pattern seed" },
    { "corrupt", offsetof(GuestArgs, corrupt_page), 0, GUEST_NO_PAGE - 1,
      "page index to damage once" },
};
#define N_ARG_SPECS (sizeof(arg_specs) / sizeof(arg_specs[0]))

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Does token [tok, tok+len) start with "key="? */
static bool token_has_key(const char *tok, size_t len, const char *key)
{
    size_t i;

    for (i = 0; key[i]; i++) {
        if (i >= len || tok[i] != key[i])
            return false;
    }
    return i < len && tok[i] == '=';
}

static const ArgSpec *arg_spec_find(const char *tok, size_t len)
{
    for (size_t i = 0; i < N_ARG_SPECS; i++) {
        if (token_has_key(tok, len, arg_specs[i].key))
            return &arg_specs[i];
    }
    return NULL;
}

/* Strict decimal: digits only, at least one, no overflow past max. */
static bool parse_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out)
{
    uint32_t v = 0;

    if (len == 0 || len > 10)
        return false;
    for (size_t i = 0; i < len; i++) {
        uint32_t d;
        if (s[i] < '0' || s[i] > '9')
            return false;
        d = (uint32_t)(s[i] - '0');
        if (v > (0xffffffffu - d) / 10u)
            return false;
        v = v * 10u + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Echo a token from the command line, bounded and printable, so that the
 * error stays one readable line whatever the input holds. */
static void put_token(const char *tok, size_t len)
{
    size_t n = len < ARG_ECHO_MAX ? len : ARG_ECHO_MAX;

    for (size_t i = 0; i < n; i++)
        console_putc(tok[i] >= 0x20 && tok[i] < 0x7f ? tok[i] : '?');
    if (len > n)
        console_puts("...");
}

static void report_unknown(const char *tok, size_t len)
{
    console_puts("ferry-guest: error: unknown argument '");
    put_token(tok, len);
    console_puts("' (known:");
    for (size_t i = 0; i < N_ARG_SPECS; i++) {
        console_puts(" ");
        console_puts(arg_specs[i].key);
        console_puts("=");
    }
    console_puts(")\n");
}

static void report_malformed(const char *tok, size_t len, const ArgSpec *spec)
{
    console_puts("ferry-guest: error: bad argument '");
    put_token(tok, len);
    console_puts("': ");
    console_puts(spec->key);
    console_puts(" wants a whole number from ");
    console_put_u32(spec->min);
    console_puts(" to ");
    console_put_u32(spec->max);
    console_puts(" (");
    console_puts(spec->what);
    console_puts(")\n");
}

bool args_parse(const char *cmdline, GuestArgs *args)
{
    const char *p = cmdline;
    bool first = true;
    bool ok = true;

    args->mem_mib = 16;
    args->rate = 0;
    args->seed = 1;
    args->corrupt_page = GUEST_NO_PAGE;

    for (;;) {
        const char *tok;
        size_t len;
        const ArgSpec *spec;

        while (is_space(*p))
            p++;
        if (!*p)
            break;
        tok = p;
        while (*p && !is_space(*p))
            p++;
        len = (size_t)(p - tok);

        spec = arg_spec_find(tok, len);
        /* QEMU and GRUB put the kernel's path first; other loaders may
         * not, so only a first token that is none of ours is skipped. */
        if (first) {
            first = false;
            if (!spec)
                continue;
        }
        if (!spec) {
            report_unknown(tok, len);
            ok = false;
            continue;
        }
        {
            size_t klen = 0;
            while (spec->key[klen])
                klen++;
            if (!parse_u32(tok + klen + 1, len - klen - 1, spec->min, spec->max,
                           (uint32_t *)((char *)args + spec->offset))) {
                report_malformed(tok, len, spec);
                ok = false;
            }
        }
    }
    return ok;
}
