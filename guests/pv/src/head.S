/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Entry and trap vector of the PV kernel. docs/abi.md §4: vCPU 0 starts here in S-mode with
 * the MMU off, sstatus.SIE = 0, a0 = vCPU id, a1 = guest-physical address of start_info.
 * The trap vector (stvec, direct mode) saves every register in a struct trap_frame on the
 * current stack, calls trap_handler() and returns with sret.
 */
	.section .text.head, "ax"
	.globl _start
_start:
	/* gp for -mrelax'd accesses; sp at the top of the boot stack. */
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	la	sp, boot_stack_top
	/* Clear .bss (a0/a1 kept in s0/s1). */
	mv	s0, a0
	mv	s1, a1
	la	t0, _bss_start
	la	t1, _end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	la	t0, trap_entry
	csrw	stvec, t0
	csrw	sscratch, zero
	/* FPU on (sstatus.FS = Initial) so compiler-generated FP code does not trap. */
	li	t0, (1 << 13)
	csrs	sstatus, t0
	mv	a0, s0
	mv	a1, s1
	call	kernel_main
3:	wfi
	j	3b

	/*
	 * Secondary vCPUs (VCPUOP_initialise + VCPUOP_up, docs/abi.md §4): the hypervisor starts
	 * them here with a0 = vCPU id, a1 and sp from the vcpu_guest_context; a1 is the vCPU's
	 * struct pcpu, kept in tp.
	 */
	.globl secondary_entry
secondary_entry:
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	mv	tp, a1
	la	t0, trap_entry
	csrw	stvec, t0
	li	t0, (1 << 13)
	csrs	sstatus, t0
	call	secondary_main
4:	wfi
	j	4b

	.text
	.balign 4
	.globl trap_entry
trap_entry:
	addi	sp, sp, -36*8
	sd	x1, 1*8(sp)
	sd	x3, 3*8(sp)
	sd	x4, 4*8(sp)
	sd	x5, 5*8(sp)
	sd	x6, 6*8(sp)
	sd	x7, 7*8(sp)
	sd	x8, 8*8(sp)
	sd	x9, 9*8(sp)
	sd	x10, 10*8(sp)
	sd	x11, 11*8(sp)
	sd	x12, 12*8(sp)
	sd	x13, 13*8(sp)
	sd	x14, 14*8(sp)
	sd	x15, 15*8(sp)
	sd	x16, 16*8(sp)
	sd	x17, 17*8(sp)
	sd	x18, 18*8(sp)
	sd	x19, 19*8(sp)
	sd	x20, 20*8(sp)
	sd	x21, 21*8(sp)
	sd	x22, 22*8(sp)
	sd	x23, 23*8(sp)
	sd	x24, 24*8(sp)
	sd	x25, 25*8(sp)
	sd	x26, 26*8(sp)
	sd	x27, 27*8(sp)
	sd	x28, 28*8(sp)
	sd	x29, 29*8(sp)
	sd	x30, 30*8(sp)
	sd	x31, 31*8(sp)
	addi	t0, sp, 36*8
	sd	t0, 2*8(sp)		/* the interrupted sp */
	csrr	t0, sepc
	sd	t0, 32*8(sp)
	csrr	t0, sstatus
	sd	t0, 33*8(sp)
	csrr	t0, scause
	sd	t0, 34*8(sp)
	csrr	t0, stval
	sd	t0, 35*8(sp)
	mv	a0, sp
	call	trap_handler
	ld	t0, 32*8(sp)
	csrw	sepc, t0
	ld	t0, 33*8(sp)
	csrw	sstatus, t0
	ld	x1, 1*8(sp)
	ld	x3, 3*8(sp)
	ld	x4, 4*8(sp)
	ld	x5, 5*8(sp)
	ld	x6, 6*8(sp)
	ld	x7, 7*8(sp)
	ld	x8, 8*8(sp)
	ld	x9, 9*8(sp)
	ld	x10, 10*8(sp)
	ld	x11, 11*8(sp)
	ld	x12, 12*8(sp)
	ld	x13, 13*8(sp)
	ld	x14, 14*8(sp)
	ld	x15, 15*8(sp)
	ld	x16, 16*8(sp)
	ld	x17, 17*8(sp)
	ld	x18, 18*8(sp)
	ld	x19, 19*8(sp)
	ld	x20, 20*8(sp)
	ld	x21, 21*8(sp)
	ld	x22, 22*8(sp)
	ld	x23, 23*8(sp)
	ld	x24, 24*8(sp)
	ld	x25, 25*8(sp)
	ld	x26, 26*8(sp)
	ld	x27, 27*8(sp)
	ld	x28, 28*8(sp)
	ld	x29, 29*8(sp)
	ld	x30, 30*8(sp)
	ld	x31, 31*8(sp)
	addi	sp, sp, 36*8
	sret

	.section .bss
	.balign 16
boot_stack:
	.space 64 * 1024
	.globl boot_stack_top
boot_stack_top:
