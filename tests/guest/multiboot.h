/*
 * ferry test guest: the parts of the multiboot (version 1) boot protocol the
 * guest uses: the header it carries and the information the loader hands
 * over in %ebx.
 */
#pragma once

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
/* bit 0: align modules on pages, bit 1: pass memory information */
#define MULTIBOOT_HEADER_FLAGS 0x00000003
/* what the loader puts in %eax */
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002

#ifndef __ASSEMBLER__
#include <stdint.h>

#define MULTIBOOT_INFO_MEMORY (1u << 0) /* mem_lower, mem_upper valid */
#define MULTIBOOT_INFO_CMDLINE (1u << 2) /* cmdline valid */
#define MULTIBOOT_INFO_MMAP (1u << 6) /* mmap_* valid */

#define MULTIBOOT_MEMORY_AVAILABLE 1u

typedef struct __attribute__((packed)) {
    uint32_t flags;
    uint32_t mem_lower; /* KiB below 640 KiB */
    uint32_t mem_upper; /* KiB of contiguous RAM from 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
} MultibootInfo;

/* `size` does not count itself: the next entry is size + 4 bytes on. */
typedef struct __attribute__((packed)) {
    uint32_t size;
    uint64_t addr;
    uint64_t len;
    uint32_t type;
} MultibootMmapEntry;
#endif
