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
  call putc
  addi s1, s1, 1
  j 1b
2:addi t0, s2, '0'
  call putc
  li t0, '\n'
  call putc
  mv a0, s2
  mv a1, s3
  li t0, 0x80200000
  jr t0
putc:                       # t0 -> THR once the transmitter has room (QEMU drops overwritten bytes)
  lbu t1, 5(s0)
  andi t1, t1, 0x20
  beqz t1, putc
  sb t0, 0(s0)
  ret
msg: .asciz "fw a0="
