/*
 * ferry test guest: the main loop.
 *
 * Every 100 ms (10 PIT jiffies) the guest prints exactly one of
 *   tick=<n> dirtied=<n> checks=<n> status=ok
 *   tick=<n> dirtied=<n> checks=<n> status=FAIL page=<p>
 * where tick counts these lines (from 1), dirtied counts page rewrites since
 * boot and checks counts completed self-check passes over all pages. Lines
 * starting "ferry-guest: " come only before the first tick line, or on a
 * fatal error after which the guest powers off.
 *
 * One loop does everything, a bounded amount per iteration so that lines
 * stay on time: rewrite the pages owed by the rate, print a line when due,
 * then fill (at boot) or check one chunk of pages. Filling is part of the
 * loop rather than done before it so that lines keep coming while a large
 * mem= is filled (900 MiB takes seconds under tcg and minutes under this
 * machine's kvm); checks stay 0 until the fill is done.
 *
 * How lost or stale memory shows, given that the bookkeeping (generation
 * numbers) migrates with the data it describes:
 *  - a data page that is lost, stale or damaged differs from the content
 *    its bookkeeping entry names (memory_verify_page);
 *  - a stale bookkeeping page names older generations than the data holds,
 *    which the same check finds, unless the data pages are stale too; that
 *    case is caught at the end of each pass, where each bookkeeping page's
 *    sum of generations must equal the running sum kept in GuestState;
 *  - a stale GuestState page fails that comparison the other way, as soon
 *    as any page was rewritten in between.
 * The reported page is the first bad data page, or for a bookkeeping
 * mismatch the first data page that bookkeeping page covers.
 *
 * Everything the guest changes as it runs (the clock, the counters, the
 * loop's own position and pacing) lives in that one GuestState page and not
 * in stack variables or other pages. Losing a page's last updates is a real
 * failure mode: QEMU 7.2's tcg misses writes through warm TLB entries after
 * a dirty-bitmap sync (fixed upstream in QEMU 9.0, "physmem: Fix migration
 * dirty bitmap coherency with TCG memory access"), and the pages it loses
 * are the hottest ones. With the state on one page, a lost update turns the
 * whole guest back to one consistent earlier moment: tick goes backwards
 * (which a test comparing the last source line with the first destination
 * line sees) and, once anything was rewritten in between, the bookkeeping
 * sums fail. State scattered over several pages could instead go stale
 * piecemeal and silently. The stack can still lose updates; at worst that
 * crashes the guest, which then prints a fatal line and powers off.
 */
#include "guest.h"

#define LINE_JIFFIES (GUEST_HZ / 10u) /* a line every 100 ms */
/* After a long pause (a stopped VM, a slow host, the kvm PIT re-injecting
 * missed ticks) catch up at most this much time, not in one huge burst. */
#define MAX_CATCHUP_JIFFIES (GUEST_HZ / 10u)
#define DIRTY_BATCH 256u /* most page rewrites per loop iteration */
#define FILL_CHUNK 64u /* pages filled per loop iteration */
#define CHECK_CHUNK 64u /* pages checked per loop iteration */
#define CMDLINE_MAX 512u

/* All mutable state, on one page (see above). */
typedef struct __attribute__((aligned(4096))) {
    volatile uint32_t jiffies; /* PIT interrupts, counted by cpu.c */
    uint32_t tick; /* lines printed */
    uint64_t dirtied; /* page rewrites since boot */
    uint32_t checks; /* completed self-check passes */
    uint32_t fail_page; /* first bad page, GUEST_NO_PAGE while ok */
    uint32_t rng; /* xorshift32 state for picking pages */
    uint32_t fill_next; /* pages below this have been filled */
    uint32_t check_next; /* next page the self-check looks at */
    uint32_t last_jiffy; /* jiffies already turned into owed pages */
    uint32_t next_line; /* jiffy at which the next line is due */
    uint32_t owed; /* page rewrites due but not done yet */
    uint32_t owed_frac; /* remainder of rate / GUEST_HZ, in 1/HZ */
    uint32_t owed_cap; /* at most this many may be owed */
    bool corrupt_pending; /* corrupt= given and not yet done */
    bool corrupt_armed; /* ... and the current pass will do it */
    /* running sum of the generations on each bookkeeping page */
    uint32_t book_sums[GUEST_MAX_BOOK_PAGES];
} GuestState;

_Static_assert(sizeof(GuestState) == GUEST_PAGE_SIZE, "GuestState must fit one page");

/* Set up at boot and never changed afterwards. */
typedef struct {
    GuestArgs args;
    GuestMemory mem;
} GuestConfig;

void guest_main(uint32_t magic, const MultibootInfo *mbi);

static GuestState state;
static GuestConfig config;
static char cmdline[CMDLINE_MAX];

static uint32_t rng_next(void)
{
    uint32_t x = state.rng;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    state.rng = x;
    return x;
}

static void guest_fail(uint32_t page)
{
    /* the first failure is the one worth reporting */
    if (state.fail_page == GUEST_NO_PAGE)
        state.fail_page = page;
}

/* Work loops end early when a jiffy passes, so that a slow host (this
 * machine's kvm emulates every instruction, at a few MB/s) still gets its
 * line out on time; on a fast one a chunk takes well under a jiffy. */
static bool chunk_over(uint32_t start, uint32_t done)
{
    return done > 0 && state.jiffies != start;
}

static void guest_dirty_one(const GuestConfig *c)
{
    uint32_t page = rng_next() % c->mem.npages;
    uint32_t gen = c->mem.gens[page] + 1;

    /* the page is only checked between loop steps, so the order of these
     * writes does not matter to the guest itself */
    c->mem.gens[page] = gen;
    state.book_sums[page / GUEST_GENS_PER_PAGE]++;
    state.dirtied++;
    memory_write_page(&c->mem, c->args.seed, page, gen);
}

static void guest_fill_chunk(const GuestConfig *c)
{
    uint32_t start = state.jiffies;
    uint32_t first = state.fill_next;
    uint32_t end = first + FILL_CHUNK;

    if (end > c->mem.npages)
        end = c->mem.npages;
    /* a page the dirtier reached first already has a later generation;
     * writing that generation again is harmless */
    for (uint32_t p = first; p < end && !chunk_over(start, p - first); p++) {
        memory_write_page(&c->mem, c->args.seed, p, c->mem.gens[p]);
        state.fill_next = p + 1;
    }
}

static void guest_check_bookkeeping(const GuestConfig *c)
{
    for (uint32_t b = 0; b < c->mem.book_pages; b++) {
        if (memory_book_sum(&c->mem, b) != state.book_sums[b]) {
            guest_fail(b * GUEST_GENS_PER_PAGE);
            return;
        }
    }
}

static void guest_check_chunk(const GuestConfig *c)
{
    uint32_t start = state.jiffies;
    uint32_t first = state.check_next;
    uint32_t end = first + CHECK_CHUNK;

    if (end > c->mem.npages)
        end = c->mem.npages;
    /* corrupt= strikes in the first pass that starts after the first line
     * is out (so an ok line comes before the FAIL ones), just before the
     * check reaches the page, so no rewrite can heal it first */
    if (state.corrupt_pending && first == 0 && state.tick > 0)
        state.corrupt_armed = true;
    for (uint32_t p = first; p < end && !chunk_over(start, p - first); p++) {
        if (state.corrupt_armed && p == c->args.corrupt_page) {
            memory_damage_page(&c->mem, p);
            state.corrupt_armed = false;
            state.corrupt_pending = false;
        }
        if (!memory_verify_page(&c->mem, c->args.seed, p, c->mem.gens[p]))
            guest_fail(p);
        state.check_next = p + 1;
    }
    if (state.check_next == c->mem.npages) {
        guest_check_bookkeeping(c);
        state.checks++;
        state.check_next = 0;
    }
}

static void guest_print_line(void)
{
    state.tick++;
    console_puts("tick=");
    console_put_u32(state.tick);
    console_puts(" dirtied=");
    console_put_u64(state.dirtied);
    console_puts(" checks=");
    console_put_u32(state.checks);
    if (state.fail_page == GUEST_NO_PAGE) {
        console_puts(" status=ok\n");
    } else {
        console_puts(" status=FAIL page=");
        console_put_u32(state.fail_page);
        console_puts("\n");
    }
}

/* Pages owed for `slots` jiffies at `rate` pages per second, spread evenly:
 * rate / HZ per jiffy, with the remainder carried in *frac. */
static uint32_t pages_owed(uint32_t rate, uint32_t slots, uint32_t *frac)
{
    uint32_t owed = 0;

    while (slots--) {
        owed += rate / GUEST_HZ;
        *frac += rate % GUEST_HZ;
        if (*frac >= GUEST_HZ) {
            *frac -= GUEST_HZ;
            owed++;
        }
    }
    return owed;
}

static void guest_step(const GuestConfig *c)
{
    uint32_t now = state.jiffies;
    uint32_t elapsed = now - state.last_jiffy;

    if (elapsed) {
        state.last_jiffy = now;
        if (elapsed > MAX_CATCHUP_JIFFIES)
            elapsed = MAX_CATCHUP_JIFFIES;
        state.owed += pages_owed(c->args.rate, elapsed, &state.owed_frac);
        if (state.owed > state.owed_cap)
            state.owed = state.owed_cap;
    }
    for (uint32_t n = 0; state.owed && n < DIRTY_BATCH && !chunk_over(now, n); n++) {
        guest_dirty_one(c);
        state.owed--;
    }

    now = state.jiffies;
    if ((int32_t)(now - state.next_line) >= 0) {
        guest_print_line();
        state.next_line += LINE_JIFFIES;
        /* after a pause, resume the 100 ms rhythm instead of printing the
         * missed lines back to back */
        if ((int32_t)(now - state.next_line) >= 0)
            state.next_line = now + LINE_JIFFIES;
    }

    if (state.fill_next < c->mem.npages)
        guest_fill_chunk(c);
    else
        guest_check_chunk(c);
}

static void copy_cmdline(const MultibootInfo *mbi)
{
    const char *src;
    uint32_t i;

    if (!(mbi->flags & MULTIBOOT_INFO_CMDLINE) || !mbi->cmdline)
        return;
    /* copied before anything is written: the loader put it somewhere in
     * RAM we did not choose */
    src = (const char *)(uintptr_t)mbi->cmdline;
    for (i = 0; i + 1 < CMDLINE_MAX && src[i]; i++)
        cmdline[i] = src[i];
    cmdline[i] = '\0';
}

static void print_banner(const GuestConfig *c)
{
    console_puts("ferry-guest: mem=");
    console_put_u32(c->args.mem_mib);
    console_puts(" rate=");
    console_put_u32(c->args.rate);
    console_puts(" seed=");
    console_put_u32(c->args.seed);
    if (c->args.corrupt_page != GUEST_NO_PAGE) {
        console_puts(" corrupt=");
        console_put_u32(c->args.corrupt_page);
    }
    console_puts(" pages=");
    console_put_u32(c->mem.npages);
    console_puts(" data=");
    console_put_hex((uint32_t)(uintptr_t)c->mem.data);
    console_puts("\n");
}

void guest_main(uint32_t magic, const MultibootInfo *mbi)
{
    GuestConfig *c = &config;
    uint32_t unused_frac = 0;

    console_init();
    console_puts("ferry-guest: booting\n");
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
        console_puts("ferry-guest: error: not started by a multiboot loader (eax=");
        console_put_hex(magic);
        console_puts(")\n");
        cpu_stop();
    }
    copy_cmdline(mbi);
    if (!args_parse(cmdline, &c->args))
        cpu_stop();
    if (!memory_layout(mbi, &c->args, &c->mem))
        cpu_stop();
    if (c->args.corrupt_page != GUEST_NO_PAGE && c->args.corrupt_page >= c->mem.npages) {
        console_puts("ferry-guest: error: bad argument 'corrupt=");
        console_put_u32(c->args.corrupt_page);
        console_puts("': the last page of mem=");
        console_put_u32(c->args.mem_mib);
        console_puts(" is ");
        console_put_u32(c->mem.npages - 1);
        console_puts("\n");
        cpu_stop();
    }
    print_banner(c);

    /* all generations start at 0, matching the zero book_sums in .bss */
    memset(c->mem.gens, 0, c->mem.book_pages * GUEST_PAGE_SIZE);
    state.fail_page = GUEST_NO_PAGE;
    state.rng = c->args.seed ^ 0x6d2b79f5u;
    if (!state.rng)
        state.rng = 1; /* xorshift's one fixed point */
    state.corrupt_pending = c->args.corrupt_page != GUEST_NO_PAGE;
    state.owed_cap = pages_owed(c->args.rate, MAX_CATCHUP_JIFFIES, &unused_frac) + 1;
    state.next_line = LINE_JIFFIES;

    cpu_start_timer(&state.jiffies);
    for (;;)
        guest_step(c);
}
