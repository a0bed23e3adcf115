/*
 * ferry test guest: declarations shared by the guest kernel's files.
 *
 * The guest is a freestanding 32-bit multiboot kernel: flat protected mode,
 * paging off, one CPU, no libc. It fills memory with a verifiable pattern,
 * keeps rewriting pages at a given rate and checks all of its memory in the
 * background, reporting on COM1 (see main.c for the exact line format).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "multiboot.h"

#define GUEST_PAGE_SIZE 4096u
#define GUEST_PAGE_WORDS (GUEST_PAGE_SIZE / 4u)

/* Everything the guest fills starts here, well above the kernel image and
 * the boot loader's multiboot info (the linker script asserts the image
 * ends below it). */
#define GUEST_BASE 0x00400000u

/* mem= is limited so that the bookkeeping sums fit in one page (see
 * GuestState) and the data stays below the PCI hole of QEMU's pc machine. */
#define GUEST_MAX_MEM_MIB 3072u
#define GUEST_MAX_PAGES (GUEST_MAX_MEM_MIB * 256u)
/* One bookkeeping page holds the generation numbers of this many pages. */
#define GUEST_GENS_PER_PAGE GUEST_PAGE_WORDS
#define GUEST_MAX_BOOK_PAGES (GUEST_MAX_PAGES / GUEST_GENS_PER_PAGE)

/* 40 GB/s of rewrites is far beyond anything a VM does; the limit keeps
 * the per-slot arithmetic comfortably inside 32 bits. */
#define GUEST_MAX_RATE 10000000u

/* PIT interrupts per second; one interrupt is one "jiffy". */
#define GUEST_HZ 100u

/* "no page": corrupt= not given, no failure seen */
#define GUEST_NO_PAGE 0xffffffffu

/* ------------------------------------------------------------ libc.c */
/* gcc may emit calls to these even in freestanding code. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* ------------------------------------------------------------ console.c */
void console_init(void);
void console_putc(char c);
void console_puts(const char *s);
void console_put_u32(uint32_t v);
void console_put_u64(uint64_t v);
void console_put_hex(uint32_t v);

/* ------------------------------------------------------------ cpu.c */
static inline void cpu_outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void cpu_outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t cpu_inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* The register frame boot.S builds before calling cpu_interrupt(). */
typedef struct {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax; /* pusha */
    uint32_t vector;
    uint32_t error;
    uint32_t eip, cs, eflags; /* pushed by the CPU */
} InterruptFrame;

void cpu_interrupt(InterruptFrame *frame);
/* IDT, 8259 PIC remapped to vectors 32..47, PIT at GUEST_HZ counting
 * into *counter; enables interrupts. */
void cpu_start_timer(volatile uint32_t *counter);
/* Print "ferry-guest: stopped", power the VM off (QEMU exits), and halt
 * if that did not work. Used on every fatal path so a broken guest ends
 * its QEMU instead of hanging it. */
void cpu_stop(void) __attribute__((noreturn));

/* ------------------------------------------------------------ args.c */
typedef struct {
    uint32_t mem_mib;
    uint32_t rate;
    uint32_t seed;
    uint32_t corrupt_page; /* GUEST_NO_PAGE when not given */
} GuestArgs;

/* Parse the multiboot command line; prints an error line per bad token and
 * returns false if there was any. */
bool args_parse(const char *cmdline, GuestArgs *args);

/* ------------------------------------------------------------ memory.c */
typedef struct {
    uint32_t npages;
    /* Per-page generation numbers (the bookkeeping), page aligned so that
     * bookkeeping page k covers data pages k*1024 .. k*1024+1023. */
    uint32_t *gens;
    uint32_t book_pages;
    uint8_t *data;
} GuestMemory;

/* Work out where the bookkeeping and data go and check that the machine
 * has RAM there; prints an error line and returns false if not. */
bool memory_layout(const MultibootInfo *mbi, const GuestArgs *args, GuestMemory *mem);
/* Write page `page` with the content of generation `gen`. */
void memory_write_page(const GuestMemory *mem, uint32_t seed, uint32_t page, uint32_t gen);
/* True if page `page` holds exactly the content of generation `gen`. */
bool memory_verify_page(const GuestMemory *mem, uint32_t seed, uint32_t page, uint32_t gen);
/* Flip bits in one word of the page, leaving its bookkeeping alone. */
void memory_damage_page(const GuestMemory *mem, uint32_t page);
/* Sum of the generation numbers held on bookkeeping page `book_page`. */
uint32_t memory_book_sum(const GuestMemory *mem, uint32_t book_page);
