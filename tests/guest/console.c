/*
 * ferry test guest: output on COM1, a polled 16550 UART.
 *
 * Polling (no UART interrupts) keeps the guest simple and means a line is
 * complete on the wire when console_puts() returns. If the host side stops
 * reading, QEMU keeps the transmitter busy and the guest waits here, which
 * is what we want: lines are never dropped.
 */
#include "guest.h"

#define COM1 0x3F8
#define UART_DATA 0
#define UART_IER 1
#define UART_DIVISOR_LO 0
#define UART_DIVISOR_HI 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_LSR_THRE 0x20

void console_init(void)
{
    cpu_outb(COM1 + UART_IER, 0x00); /* no UART interrupts */
    cpu_outb(COM1 + UART_LCR, UART_LCR_DLAB);
    cpu_outb(COM1 + UART_DIVISOR_LO, 0x01); /* 115200 baud */
    cpu_outb(COM1 + UART_DIVISOR_HI, 0x00);
    cpu_outb(COM1 + UART_LCR, UART_LCR_8N1);
    cpu_outb(COM1 + UART_FCR, 0xC7); /* FIFOs on and cleared */
    cpu_outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

void console_putc(char c)
{
    while (!(cpu_inb(COM1 + UART_LSR) & UART_LSR_THRE))
        cpu_relax();
    cpu_outb(COM1 + UART_DATA, (uint8_t)c);
}

void console_puts(const char *s)
{
    while (*s)
        console_putc(*s++);
}

void console_put_u32(uint32_t v)
{
    char buf[11];
    int i = (int)sizeof(buf);

    buf[--i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    console_puts(&buf[i]);
}

/* 64-bit division would need libgcc's __udivdi3, which a freestanding build
 * does not have: divide by 10 as long division over 16-bit digits, where
 * every step fits in 32 bits. */
static uint32_t u64_divmod10(uint64_t *v)
{
    uint32_t digits[4] = {
        (uint32_t)(*v >> 48) & 0xffffu,
        (uint32_t)(*v >> 32) & 0xffffu,
        (uint32_t)(*v >> 16) & 0xffffu,
        (uint32_t)*v & 0xffffu,
    };
    uint32_t rem = 0;
    uint64_t q = 0;

    for (int i = 0; i < 4; i++) {
        uint32_t cur = (rem << 16) | digits[i];
        q = (q << 16) | (cur / 10u);
        rem = cur % 10u;
    }
    *v = q;
    return rem;
}

void console_put_u64(uint64_t v)
{
    char buf[21];
    int i = (int)sizeof(buf);

    buf[--i] = '\0';
    do {
        buf[--i] = (char)('0' + u64_divmod10(&v));
    } while (v);
    console_puts(&buf[i]);
}

void console_put_hex(uint32_t v)
{
    static const char hex[] = "0123456789abcdef";

    console_puts("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        console_putc(hex[(v >> shift) & 0xfu]);
}
