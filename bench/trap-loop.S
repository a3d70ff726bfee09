# SPDX-License-Identifier: GPL-2.0-only
# Trap round trips: U-mode executes ITERS ecalls; each goes to an M-mode handler that reads
# mcause, advances mepc and returns with mret (what every syscall, SBI call and timer tick
# costs a guest). A final ecall with a7 = 1 powers off through the test device.
  .section .text.start, "ax"
  .globl _start
_start:
  la sp, stack_top
  la t0, handler
  csrw mtvec, t0
  li t0, -1                   # PMP: everything for U
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  li t0, 0x1800               # MPP = U
  csrc mstatus, t0
  la t0, user
  csrw mepc, t0
  mret

user:
  li s0, ITERS
  li a7, 0
1:beqz s0, 2f
  ecall
  addi s0, s0, -1
  j 1b
2:li a7, 1
  ecall

  .balign 4
handler:
  csrrw sp, mscratch, sp
  csrr t0, mcause
  csrr t1, mepc
  addi t1, t1, 4
  csrw mepc, t1
  bnez a7, 3f
  csrrw sp, mscratch, sp
  mret
3:li t0, 0x100000
  li t1, 0x5555
  sw t1, 0(t0)
4:j 4b

  .bss
  .balign 16
  .space 4096
stack_top:
