/*
 * ferry test guest: multiboot header, entry point and interrupt stubs.
 *
 * A multiboot loader enters _start in 32-bit protected mode with paging
 * off, %eax = 0x2BADB002 and %ebx = the multiboot info, but with a GDT we
 * must not rely on and no stack. We load our own flat GDT, zero .bss, set
 * up a stack and call guest_main(magic, info).
 */
#include "multiboot.h"

#define CODE_SEL 0x08
#define DATA_SEL 0x10

    .section .multiboot, "a"
    .align 4
    .long MULTIBOOT_HEADER_MAGIC
    .long MULTIBOOT_HEADER_FLAGS
    .long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

    .section .bss
    .align 16
boot_stack:
    .skip 16384
boot_stack_top:

    .section .data
    .align 8
    /* null, then flat 4 GiB code and data (accessed bits preset) */
gdt:
    .quad 0
    .quad 0x00CF9B000000FFFF
    .quad 0x00CF93000000FFFF
gdt_end:
    .align 4
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt

    .text
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    lgdt gdt_ptr
    ljmp $CODE_SEL, $1f
1:
    movw $DATA_SEL, %cx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    movw %cx, %ss
    /* Loaders should zero .bss, but a stale one would be a silent bug in a
     * guest whose job is to find silent bugs. The stack lives in .bss, so
     * this comes before anything is pushed. */
    movl %eax, %edx
    movl $__bss_start, %edi
    movl $_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb
    movl $boot_stack_top, %esp
    pushl %ebx
    pushl %edx
    call guest_main
2:
    cli
    hlt
    jmp 2b
    .size _start, . - _start

/*
 * Interrupt stubs for vectors 0..47: each pushes an error code (a dummy 0
 * where the CPU pushes none, so the frame has one shape) and its vector,
 * then isr_common saves the registers and calls cpu_interrupt(frame).
 */
    .macro ISR_NOERR n
isr\n:
    pushl $0
    pushl $\n
    jmp isr_common
    .endm

    .macro ISR_ERR n
isr\n:
    pushl $\n
    jmp isr_common
    .endm

    .irp n, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
    ISR_NOERR \n
    .endr
    .irp n, 8,10,11,12,13,14,17,21,29,30
    ISR_ERR \n
    .endr
    .irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    ISR_NOERR \n
    .endr

isr_common:
    pushal
    cld
    pushl %esp
    call cpu_interrupt
    addl $4, %esp
    popal
    addl $8, %esp
    /*
     * Return without iret. The "kvm" on the machines ferry is developed on
     * is PVM, which runs a 32-bit guest through KVM's instruction emulator,
     * and that emulator only implements iret in real mode (the guest dies
     * with "KVM internal error. Suberror: 1"). Interrupts here never change
     * privilege level, so the frame is just eip, cs, eflags, and
     * "popf; ret" does the same job once eflags sits below eip:
     *   before: [esp] eip, [esp+4] cs, [esp+8] eflags
     *   after:  [esp+4] eflags, [esp+8] eip; skip one word, popf, ret
     * leaving esp where it was before the interrupt. An interrupt taken
     * between popf and ret nests harmlessly below the remaining word.
     */
    pushl %eax
    movl 4(%esp), %eax      /* eip */
    xchgl %eax, 12(%esp)    /* eip into the eflags slot, eflags out */
    movl %eax, 8(%esp)      /* eflags into the cs slot */
    popl %eax
    addl $4, %esp
    popfl
    ret

    .section .rodata
    .align 4
    .globl cpu_isr_stubs
cpu_isr_stubs:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .long isr\n
    .endr

    .section .note.GNU-stack, "", @progbits
