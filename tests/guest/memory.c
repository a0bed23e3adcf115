/*
 * ferry test guest: where the filled memory lives and what it holds.
 *
 * Layout from GUEST_BASE (4 MiB) up:
 *   bookkeeping: one uint32_t generation number per data page, page aligned
 *   data:        mem= MiB of 4 KiB pages
 *
 * Word w of data page p at generation g holds
 *   page_key(seed, p, g) + w * WORD_STEP
 * so a page that is lost (zero), stale (an older generation's content),
 * moved (another page's content) or damaged in any word differs from what
 * its bookkeeping entry says it should hold. No two words of a page are
 * equal, so not even a page of one repeated value passes.
 */
#include "guest.h"

/* odd, so w * WORD_STEP differs for every word index of a page. The
 * pattern is additive so that the loops below are a store (or a compare)
 * and an add per word: under this machine's kvm (PVM) the guest runs
 * through KVM's instruction emulator and every instruction counts. */
#define WORD_STEP 0x2545F491u

/* A 32-bit integer hash with good avalanche (every input bit flips about
 * half the output bits), so neighbouring pages and generations get
 * unrelated keys. */
static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

static uint32_t page_key(uint32_t seed, uint32_t page, uint32_t gen)
{
    return mix32(seed ^ mix32(page ^ mix32(gen + 0x9e3779b9u)));
}

static uint32_t *page_words(const GuestMemory *mem, uint32_t page)
{
    return (uint32_t *)(mem->data + (uintptr_t)page * GUEST_PAGE_SIZE);
}

/* End (exclusive) of the usable RAM region that contains GUEST_BASE, from
 * the loader's memory map, or from mem_upper when there is no map. */
static uint64_t usable_ram_end(const MultibootInfo *mbi)
{
    uint64_t end = 0;

    if (mbi->flags & MULTIBOOT_INFO_MMAP) {
        uint32_t off = 0;
        while (off + sizeof(MultibootMmapEntry) <= mbi->mmap_length) {
            const MultibootMmapEntry *e =
                (const MultibootMmapEntry *)(uintptr_t)(mbi->mmap_addr + off);
            if (e->type == MULTIBOOT_MEMORY_AVAILABLE && e->addr <= GUEST_BASE &&
                e->addr + e->len > GUEST_BASE && e->addr + e->len > end)
                end = e->addr + e->len;
            off += e->size + 4u;
        }
        return end;
    }
    if (mbi->flags & MULTIBOOT_INFO_MEMORY)
        return 0x100000ull + (uint64_t)mbi->mem_upper * 1024u;
    return 0;
}

bool memory_layout(const MultibootInfo *mbi, const GuestArgs *args, GuestMemory *mem)
{
    uint64_t need_end;
    uint64_t have_end;

    mem->npages = args->mem_mib * (0x100000u / GUEST_PAGE_SIZE);
    mem->book_pages = (mem->npages + GUEST_GENS_PER_PAGE - 1) / GUEST_GENS_PER_PAGE;
    mem->gens = (uint32_t *)(uintptr_t)GUEST_BASE;
    mem->data = (uint8_t *)(uintptr_t)(GUEST_BASE + mem->book_pages * GUEST_PAGE_SIZE);

    if (!(mbi->flags & (MULTIBOOT_INFO_MMAP | MULTIBOOT_INFO_MEMORY))) {
        console_puts("ferry-guest: error: the boot loader passed no memory information\n");
        return false;
    }
    need_end = (uint64_t)(uintptr_t)mem->data + (uint64_t)mem->npages * GUEST_PAGE_SIZE;
    have_end = usable_ram_end(mbi);
    if (have_end < need_end) {
        uint32_t need_mib = (uint32_t)((need_end + 0xfffff) >> 20);
        console_puts("ferry-guest: error: not enough RAM for mem=");
        console_put_u32(args->mem_mib);
        console_puts(": it needs usable RAM up to ");
        console_put_u32(need_mib);
        console_puts(" MiB but usable RAM ends at ");
        console_put_u32((uint32_t)(have_end >> 20));
        /* firmware keeps a little at the top of RAM, hence the margin */
        console_puts(" MiB (give the VM at least ");
        console_put_u32(need_mib + 2);
        console_puts(" MiB, e.g. QEMU -m ");
        console_put_u32(need_mib + 2);
        console_puts(")\n");
        return false;
    }
    return true;
}

void memory_write_page(const GuestMemory *mem, uint32_t seed, uint32_t page, uint32_t gen)
{
    uint32_t *w = page_words(mem, page);
    uint32_t v = page_key(seed, page, gen);

#pragma GCC unroll 16
    for (uint32_t i = 0; i < GUEST_PAGE_WORDS; i++) {
        w[i] = v;
        v += WORD_STEP;
    }
}

bool memory_verify_page(const GuestMemory *mem, uint32_t seed, uint32_t page, uint32_t gen)
{
    /* not volatile: the compiler cannot know what this page holds (it is
     * written from another file), and a compare straight from memory is
     * one instruction fewer per word */
    const uint32_t *w = page_words(mem, page);
    uint32_t v = page_key(seed, page, gen);

#pragma GCC unroll 16
    for (uint32_t i = 0; i < GUEST_PAGE_WORDS; i++) {
        if (w[i] != v)
            return false;
        v += WORD_STEP;
    }
    return true;
}

void memory_damage_page(const GuestMemory *mem, uint32_t page)
{
    volatile uint32_t *w = page_words(mem, page);

    /* one bit in the middle of the page: the check must read every word */
    w[GUEST_PAGE_WORDS / 2 + 5] ^= 0x00010000u;
}

uint32_t memory_book_sum(const GuestMemory *mem, uint32_t book_page)
{
    const volatile uint32_t *g = mem->gens + book_page * GUEST_GENS_PER_PAGE;
    uint32_t first = book_page * GUEST_GENS_PER_PAGE;
    uint32_t n = mem->npages - first;
    uint32_t sum = 0;

    if (n > GUEST_GENS_PER_PAGE)
        n = GUEST_GENS_PER_PAGE;
    for (uint32_t i = 0; i < n; i++)
        sum += g[i];
    return sum;
}
