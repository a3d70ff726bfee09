# SPDX-License-Identifier: GPL-2.0-only
# Prints a line through the UART, then writes FINISHER_VALUE to the SiFive test device
# (0x5555 pass, 0x3333 | code << 16 fail, 0x7777 reset): exit-status checks for the runner.
  .section .text.init, "ax"
  .globl _start
_start:
  li s0, 0x10000000
  la s1, msg
1:lbu t0, 0(s1)
  beqz t0, 2f
3:lbu t1, 5(s0)
  andi t1, t1, 0x20
  beqz t1, 3b
  sb t0, 0(s0)
  addi s1, s1, 1
  j 1b
2:li t0, 0x100000
  li t1, FINISHER_VALUE
  sw t1, 0(t0)
4:wfi
  j 4b
msg: .asciz "finisher\n"
