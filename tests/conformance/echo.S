# SPDX-License-Identifier: GPL-2.0-only
# Console input check: prints "ready", then echoes each byte received on the UART as
# "<byte>" until 'q', then powers off (pass). Polls LSR.DR; the bare board does not wire the
# UART interrupt.
  .section .text.init, "ax"
  .globl _start
_start:
  li s0, 0x10000000
  la s1, ready
0:lbu a0, 0(s1)
  beqz a0, 1f
  call putc
  addi s1, s1, 1
  j 0b
1:lbu t0, 5(s0)
  andi t0, t0, 1
  beqz t0, 1b
  lbu t1, 0(s0)
  li t2, 'q'
  beq t1, t2, 9f
  li a0, '<'
  call putc
  mv a0, t1
  call putc
  li a0, '>'
  call putc
  j 1b
9:li t0, 0x100000
  li t1, 0x5555
  sw t1, 0(t0)
8:j 8b
putc:
  lbu t3, 5(s0)
  andi t3, t3, 0x20
  beqz t3, putc
  sb a0, 0(s0)
  ret
ready: .asciz "ready\n"
