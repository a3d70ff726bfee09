# SPDX-License-Identifier: GPL-2.0-only
# A minimal "firmware" for --bios FILE checks: prints "fw a0=<hartid digit>" on the UART and
# jumps to the kernel at 0x8020_0000 in M-mode, keeping a0/a1.
  .section .text.init, "ax"
  .globl _start
_start:
  mv s2, a0
  mv s3, a1
  li s0, 0x10000000
  la s1, msg
1:lbu t0, 0(s1)
  beqz t0, 2f
  sb t0, 0(s0)
  addi s1, s1, 1
  j 1b
2:addi t0, s2, '0'
  sb t0, 0(s0)
  li t0, '\n'
  sb t0, 0(s0)
  mv a0, s2
  mv a1, s3
  li t0, 0x80200000
  jr t0
msg: .asciz "fw a0="
