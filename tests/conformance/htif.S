# SPDX-License-Identifier: GPL-2.0-only
# The Spike HTIF convention riscv-tests use: console output through dev 1 / cmd 1 and the
# exit word (code << 1) | 1 in `tohost`. EXIT_CODE (0 = pass) is set at build time.
# Runs on tsxen's bare board and on QEMU's spike machine (QEMU's virt has no HTIF).
  .section .text.init, "ax"
  .globl _start
_start:
  csrr t0, mhartid
  bnez t0, park
  la s0, tohost
  la s1, fromhost
  la s2, msg
1:lbu a0, 0(s2)
  beqz a0, 3f
  li t1, 0x0101
  slli t1, t1, 48
  or t1, t1, a0
  sd t1, 0(s0)              # console putchar
2:ld t2, 0(s1)              # wait for the host's answer, then acknowledge it
  beqz t2, 2b
  sd zero, 0(s1)
  addi s2, s2, 1
  j 1b
3:li t1, (EXIT_CODE << 1) | 1
  sw t1, 0(s0)              # riscv-tests style: low word, then high word
  sw zero, 4(s0)
park:
  wfi
  j park

  .data
msg: .asciz "htif console ok\n"

  .section .tohost, "aw", @progbits
  .balign 64
  .globl tohost
  .type tohost, @object
  .size tohost, 8
tohost: .dword 0
  .balign 64
  .globl fromhost
  .type fromhost, @object
  .size fromhost, 8
fromhost: .dword 0
