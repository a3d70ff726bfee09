# SPDX-License-Identifier: GPL-2.0-only
# RV64C: each compressed instruction written explicitly (c.* mnemonics) and its result
# checked, including the RV64-only forms (c.addiw, c.addw, c.subw, c.ld/c.sd, c.ldsp/c.sdsp),
# sign extension of immediates, compressed control flow and link values, c.ebreak, and the
# all-zero halfword being illegal. On a mismatch main returns the test number.
# Spec: riscv-unpriv-20240411 "\"C\" Extension for Compressed Instructions"
#include "test.h"

#define CHECK_REG(n, reg, val) li t6, val; li t5, n; bne reg, t6, fail

  .option rvc
  .text
  .globl main
main:
  addi sp, sp, -64
  sd ra, 56(sp)
  sd s0, 48(sp)
  sd s1, 40(sp)
  la a0, msg
  call puts_uart

  # --- constants and immediates ---
  c.li a0, -32
  CHECK_REG(1, a0, -32)
  c.li a1, 31
  CHECK_REG(2, a1, 31)
  c.lui a2, 0xfffe0          # nzimm[17:12] = 0b100000: sign-extends to 0xfffffffffffe0000
  CHECK_REG(3, a2, 0xfffffffffffe0000)
  c.lui a3, 1
  CHECK_REG(4, a3, 0x1000)
  li a0, 0x7fffffff
  c.addiw a0, 1              # 32-bit add, result sign-extended
  CHECK_REG(5, a0, 0xffffffff80000000)
  li a0, 0x100000000
  c.addiw a0, 0              # sext.w
  CHECK_REG(6, a0, 0)
  li a0, 10
  c.addi a0, -11
  CHECK_REG(7, a0, -1)
  mv t0, sp
  c.addi16sp sp, -64
  sub t1, t0, sp
  CHECK_REG(8, t1, 64)
  c.addi16sp sp, 64
  c.addi4spn a0, sp, 1020
  sub t1, a0, sp
  CHECK_REG(9, t1, 1020)

  # --- shifts and ALU ---
  li a0, 1
  c.slli a0, 63
  CHECK_REG(10, a0, 0x8000000000000000)
  c.srai a0, 3
  CHECK_REG(11, a0, 0xf000000000000000)
  c.srli a0, 60
  CHECK_REG(12, a0, 0xf)
  li a0, 0xff
  c.andi a0, -16             # imm sign-extends
  CHECK_REG(13, a0, 0xf0)
  li s0, 0xf0f0
  li s1, 0x0ff0
  mv a0, s0
  c.xor a0, s1
  CHECK_REG(14, a0, 0xff00)
  mv a0, s0
  c.or a0, s1
  CHECK_REG(15, a0, 0xfff0)
  mv a0, s0
  c.and a0, s1
  CHECK_REG(16, a0, 0x00f0)
  mv a0, s0
  c.sub a0, s1
  CHECK_REG(17, a0, 0xe100)
  li a0, 0x7fffffff
  li a1, 1
  c.addw a0, a1
  CHECK_REG(18, a0, 0xffffffff80000000)
  li a0, 0
  li a1, 1
  c.subw a0, a1
  CHECK_REG(19, a0, -1)
  li a1, 0x123456789
  c.mv a2, a1
  CHECK_REG(20, a2, 0x123456789)
  li a2, 1
  c.add a2, a1
  CHECK_REG(21, a2, 0x12345678a)

  # --- loads and stores ---
  la s0, buf
  li a0, 0x8877665544332211
  c.sd a0, 8(s0)
  c.ld a1, 8(s0)
  CHECK_REG(22, a1, 0x8877665544332211)
  c.lw a1, 12(s0)            # 0x88776655 sign-extended
  CHECK_REG(23, a1, 0xffffffff88776655)
  li a0, 0x12345678
  c.sw a0, 0(s0)
  ld a1, 0(s0)
  li t0, 0xffffffff
  and a1, a1, t0
  CHECK_REG(24, a1, 0x12345678)
  li a0, 0x0102030405060708
  c.sdsp a0, 16(sp)
  c.ldsp a1, 16(sp)
  CHECK_REG(25, a1, 0x0102030405060708)
  li a0, 0xfffffffe
  c.swsp a0, 24(sp)
  c.lwsp a1, 24(sp)
  CHECK_REG(26, a1, -2)
  li a0, 0x400921fb54442d18  # pi as a double
  sd a0, 16(s0)
  c.fld fa0, 16(s0)
  c.fsd fa0, 24(s0)
  ld a1, 24(s0)
  CHECK_REG(27, a1, 0x400921fb54442d18)
  c.fsdsp fa0, 32(sp)
  c.fldsp fa1, 32(sp)
  fmv.x.d a1, fa1
  CHECK_REG(28, a1, 0x400921fb54442d18)

  # --- control flow ---
  li a0, 0
  c.beqz a0, 1f
  j fail_29
1:li a0, 5
  c.bnez a0, 2f
  j fail_29
2:c.beqz a0, fail_29
  li a0, 0
  c.bnez a0, fail_29
  c.j 3f
  j fail_29
3:la t0, 4f
  c.jr t0
  j fail_29
4:la t0, 5f
  c.jalr t0                  # ra = address of the next (2-byte) instruction
6:c.nop
  j fail_29
5:la t1, 6b
  li t5, 30
  bne ra, t1, fail

  # --- c.ebreak: breakpoint, and the trap sees a 2-byte instruction ---
  li t0, 1
  la t1, trap_expected
  sw t0, 0(t1)
  la t2, trap_count
  ld s1, 0(t2)
7:c.ebreak
  sw zero, 0(t1)
  ld t3, 0(t2)
  addi s1, s1, 1
  li t5, 31
  bne t3, s1, fail
  la t0, last_trap
  ld t3, 0(t0)               # cause
  CHECK_REG(32, t3, CAUSE_BREAKPOINT)
  ld t3, 16(t0)              # epc
  la t4, 7b
  li t5, 33
  bne t3, t4, fail

  # --- the all-zero halfword is an illegal instruction ---
  li t0, 1
  sw t0, 0(t1)
  ld s1, 0(t2)
8:.2byte 0x0000
  sw zero, 0(t1)
  ld t3, 0(t2)
  addi s1, s1, 1
  li t5, 34
  bne t3, s1, fail
  la t0, last_trap
  ld t3, 0(t0)
  CHECK_REG(35, t3, CAUSE_ILLEGAL)
  ld t3, 8(t0)               # mtval: 0 (the instruction bits, or zero)
  CHECK_REG(36, t3, 0)

  li a0, 0
  j out
fail_29:
  li t5, 29
fail:
  mv s0, t5
  la a0, failmsg
  call puts_uart
  mv a0, s0
  call putdec
  li a0, 10
  call putc_uart
  mv a0, s0
out:
  ld ra, 56(sp)
  ld s0, 48(sp)
  ld s1, 40(sp)
  addi sp, sp, 64
  ret

  .data
msg: .asciz "rv64c\n"
failmsg: .asciz "FAILED test "
  .balign 16
buf: .space 64
