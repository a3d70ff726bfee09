# SPDX-License-Identifier: GPL-2.0-only
# Start-up and trap plumbing shared by the conformance programs (M-mode, hart 0 only).
# _start: stack, M trap vector, FS=Initial, main(), exit(main's result). Other harts park
# (see park) until hart 0 starts them; the trap stacks are hart 0's only.
# mtrap_entry / strap_entry save all registers on their own stacks (mscratch / sscratch)
# and call the C handlers in lib.c. run_in_mode(mode, fn, arg) drops to U or S at fn(arg);
# when fn returns, an ecall with a7 = MAGIC_RETURN brings its a0 back to the M-mode caller.
#include "test.h"

  .section .text.init, "ax"
  .globl _start
_start:
  csrr t0, mhartid
  bnez t0, park
  la sp, stack_top
  la t0, mtrap_stack_top
  csrw mscratch, t0
  la t0, mtrap_entry
  csrw mtvec, t0
  li t0, (1 << 13)          # mstatus.FS = Initial: C code may touch FP registers
  csrs mstatus, t0
  li t0, -1                 # PMP entry 0: NAPOT over all of memory, RWX, so S and U may run
  csrw pmpaddr0, t0         # (with PMP present and no matching entry, S/U accesses fail)
  li t0, 0x1f
  csrw pmpcfg0, t0
  call main
  call exit
# Harts other than 0 sleep until hart 0 publishes secondary_entry and sends them a machine
# software interrupt (ACLINT MSIP); they then run secondary_entry(hartid) on their own stack.
park:
  li t0, (1 << 3)           # mie.MSIE: WFI wakes on MSIP (mstatus.MIE stays 0: no trap)
  csrw mie, t0
1:wfi
  la t0, secondary_entry
  ld t1, 0(t0)
  beqz t1, 1b
  csrr a0, mhartid
  slli t2, a0, 2
  li t3, 0x2000000          # clear our own MSIP
  add t2, t2, t3
  sw zero, 0(t2)
  la sp, secondary_stacks
  addi t2, a0, 1
  slli t2, t2, 12
  add sp, sp, t2
  jalr t1
2:wfi
  j 2b

  .macro SAVE_ALL
  addi sp, sp, -256
  .irp n,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  sd x\n, (\n*8)(sp)
  .endr
  .endm

  .macro RESTORE_ALL
  .irp n,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  ld x\n, (\n*8)(sp)
  .endr
  ld sp, 16(sp)
  .endm

  .text
  .balign 256                # also usable as a vectored mtvec base (all entries jump here)
  .globl mtrap_entry
mtrap_entry:
  csrrw sp, mscratch, sp
  SAVE_ALL
  csrr t0, mscratch
  sd t0, 16(sp)
  csrr t0, mcause
  li t1, 8
  beq t0, t1, 1f
  li t1, 9
  beq t0, t1, 1f
  li t1, 11
  bne t0, t1, 2f
1:li t1, MAGIC_RETURN
  beq a7, t1, resume_m
2:mv a0, sp
  call mtrap_handler
  addi t0, sp, 256
  csrw mscratch, t0
  RESTORE_ALL
  mret

# Back to the M-mode caller of run_in_mode with the lower mode's a0.
resume_m:
  addi t0, sp, 256
  csrw mscratch, t0
  la t0, strap_stack_top
  csrw sscratch, t0
  la t0, m_ctx
  ld ra, 0(t0)
  ld sp, 8(t0)
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11
  ld s\n, (16+\n*8)(t0)
  .endr
  ret

  .balign 4
  .globl strap_entry
strap_entry:
  csrrw sp, sscratch, sp
  SAVE_ALL
  csrr t0, sscratch
  sd t0, 16(sp)
  csrr t0, scause
  li t1, 8
  bne t0, t1, 2f
  li t1, MAGIC_RETURN
  bne a7, t1, 2f
  ecall                      # a U-mode return request delegated to S: pass it on to M
2:mv a0, sp
  call strap_handler
  addi t0, sp, 256
  csrw sscratch, t0
  RESTORE_ALL
  sret

# long run_in_mode(long mode, long (*fn)(long), long arg)
  .globl run_in_mode
run_in_mode:
  la t0, m_ctx
  sd ra, 0(t0)
  sd sp, 8(t0)
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11
  sd s\n, (16+\n*8)(t0)
  .endr
  la t0, strap_stack_top
  csrw sscratch, t0
  li t1, (3 << 11)
  csrc mstatus, t1
  slli t1, a0, 11
  csrs mstatus, t1
  csrw mepc, a1
  mv a0, a2
  la ra, lower_return
  mret
  .globl lower_return
lower_return:
  li a7, MAGIC_RETURN
  ecall
1:j 1b

  .data
  .balign 8
  .globl secondary_entry
secondary_entry: .dword 0

  .bss
  .balign 16
secondary_stacks: .space 4096 * 8
m_ctx: .space 128
  .space 8192
  .globl stack_top
stack_top:
  .space 4096
mtrap_stack_top:
  .space 4096
  .globl strap_stack_top
strap_stack_top:
