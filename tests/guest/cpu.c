/*
 * ferry test guest: interrupts and time.
 *
 * Time comes from the PIT's IRQ0 through the 8259 PIC, both of which QEMU
 * migrates (in the kernel under kvm, emulated under tcg), so the guest's
 * clock keeps running on the destination. The TSC or the CMOS clock would
 * not do: the TSC may jump or differ between hosts and the RTC's one-second
 * resolution is too coarse for 100 ms lines.
 */
#include "guest.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI 0x20
#define PIC_READ_ISR 0x0B
#define IRQ_BASE 32u /* vectors 0..31 belong to CPU exceptions */
#define IRQ_COUNT 16u
#define IDT_ENTRIES (IRQ_BASE + IRQ_COUNT)

#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182u

/* QEMU's pc and q35 firmware put the ACPI PM registers at 0x600; writing
 * SLP_EN with sleep type 0 (S5 in QEMU's tables) to PM1a_CNT powers off. */
#define ACPI_PM1A_CNT 0x604
#define ACPI_SLP_EN 0x2000

typedef struct __attribute__((packed)) {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attr;
    uint16_t offset_hi;
} IdtEntry;

typedef struct __attribute__((packed)) {
    uint16_t limit;
    uint32_t base;
} IdtPointer;

extern const uint32_t cpu_isr_stubs[IDT_ENTRIES];

static IdtEntry idt[IDT_ENTRIES] __attribute__((aligned(8)));
/* where PIT interrupts are counted: main.c keeps it with its own state */
static volatile uint32_t *jiffies;

static const char *const exception_names[32] = {
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
    "reserved",
    "x87 error",
    "alignment check",
    "machine check",
    "SIMD error",
    "virtualization",
    "control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "VMM communication",
    "security",
    "reserved",
};

static void pic_remap(void)
{
    /* ICW1: edge triggered, cascade, ICW4 follows */
    cpu_outb(PIC1_CMD, 0x11);
    cpu_outb(PIC2_CMD, 0x11);
    /* ICW2: vector bases, away from the CPU exceptions */
    cpu_outb(PIC1_DATA, IRQ_BASE);
    cpu_outb(PIC2_DATA, IRQ_BASE + 8);
    /* ICW3: slave on IRQ2 */
    cpu_outb(PIC1_DATA, 0x04);
    cpu_outb(PIC2_DATA, 0x02);
    /* ICW4: 8086 mode */
    cpu_outb(PIC1_DATA, 0x01);
    cpu_outb(PIC2_DATA, 0x01);
    /* only IRQ0, the PIT */
    cpu_outb(PIC1_DATA, 0xFE);
    cpu_outb(PIC2_DATA, 0xFF);
}

static void pit_start(void)
{
    uint32_t divisor = (PIT_HZ + GUEST_HZ / 2) / GUEST_HZ;

    /* channel 0, low then high byte, mode 2 (rate generator) */
    cpu_outb(PIT_CMD, 0x34);
    cpu_outb(PIT_CH0, (uint8_t)(divisor & 0xff));
    cpu_outb(PIT_CH0, (uint8_t)(divisor >> 8));
}

static void idt_load(void)
{
    IdtPointer ptr = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };

    for (uint32_t i = 0; i < IDT_ENTRIES; i++) {
        uint32_t addr = cpu_isr_stubs[i];
        idt[i].offset_lo = (uint16_t)(addr & 0xffff);
        idt[i].selector = 0x08; /* boot.S's code segment */
        idt[i].zero = 0;
        idt[i].type_attr = 0x8E; /* present, ring 0, 32-bit interrupt gate */
        idt[i].offset_hi = (uint16_t)(addr >> 16);
    }
    __asm__ volatile("lidt %0" : : "m"(ptr));
}

void cpu_start_timer(volatile uint32_t *counter)
{
    jiffies = counter;
    idt_load();
    pic_remap();
    pit_start();
    __asm__ volatile("sti" ::: "memory");
}

void cpu_stop(void)
{
    __asm__ volatile("cli");
    console_puts("ferry-guest: stopped\n");
    cpu_outw(ACPI_PM1A_CNT, ACPI_SLP_EN);
    for (;;)
        __asm__ volatile("cli; hlt");
}

static void cpu_exception(const InterruptFrame *frame)
{
    console_puts("ferry-guest: fatal: CPU exception ");
    console_put_u32(frame->vector);
    console_puts(" (");
    console_puts(exception_names[frame->vector]);
    console_puts(") error=");
    console_put_hex(frame->error);
    console_puts(" eip=");
    console_put_hex(frame->eip);
    console_puts("\n");
    cpu_stop();
}

void cpu_interrupt(InterruptFrame *frame)
{
    uint32_t irq;

    if (frame->vector < IRQ_BASE) {
        cpu_exception(frame);
        return;
    }
    irq = frame->vector - IRQ_BASE;
    if (irq == 7 || irq == 15) {
        /* A spurious interrupt (masked lines only show up this way) has
         * its in-service bit clear and must not be acknowledged, except
         * that a spurious IRQ15 still came through the master's IRQ2. */
        uint16_t cmd = irq == 7 ? PIC1_CMD : PIC2_CMD;
        cpu_outb(cmd, PIC_READ_ISR);
        if (!(cpu_inb(cmd) & 0x80)) {
            if (irq == 15)
                cpu_outb(PIC1_CMD, PIC_EOI);
            return;
        }
    }
    if (irq == 0 && jiffies)
        (*jiffies)++;
    if (irq >= 8)
        cpu_outb(PIC2_CMD, PIC_EOI);
    cpu_outb(PIC1_CMD, PIC_EOI);
}
