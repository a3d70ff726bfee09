/* SPDX-License-Identifier: GPL-2.0-only */
/* RV64I: arithmetic with W forms and sign extension, shift-amount masking, comparisons,
   immediates, loads/stores of every width, branches, JAL/JALR, x0, FENCE.I after code writes.
   Expected values are worked out from the instruction definitions in
   Spec: riscv-unpriv-20240411 "RV64I Base Integer Instruction Set". */
#include "test.h"

#define RR(op, a, b) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b))); _r; })
#define RI(op, a, imm) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "i"(imm)); _r; })
#define BR(op, a, b) ({ u64 _r = 1; __asm__ volatile(op " %1, %2, 1f\n li %0, 0\n1:" : "+r"(_r) : "r"((u64)(a)), "r"((u64)(b))); _r; })

static volatile u64 mem[4];
static unsigned int code_buf[8] __attribute__((aligned(64)));

int main(void) {
  puts_uart("rv64i\n");
  section("add/sub and W forms");
  CHECK_EQ(RR("add", 0x7fffffffffffffffUL, 1), 0x8000000000000000UL);
  CHECK_EQ(RR("sub", 0, 1), 0xffffffffffffffffUL);
  CHECK_EQ(RR("addw", 0x7fffffff, 1), 0xffffffff80000000UL);
  CHECK_EQ(RR("addw", 0x1234567800000001UL, 0xffffffffUL), 0);
  CHECK_EQ(RR("subw", 0, 0x80000000UL), 0xffffffff80000000UL);
  CHECK_EQ(RI("addiw", 0xffffffffUL, 0), 0xffffffffffffffffUL);
  CHECK_EQ(RI("addiw", 0x7fffffffUL, 1), 0xffffffff80000000UL);
  CHECK_EQ(RI("addi", 0, -2048), 0xfffffffffffff800UL);
  CHECK_EQ(RI("addi", 0, 2047), 2047);

  section("shifts");
  CHECK_EQ(RR("sll", 1, 64 + 3), 8);                              /* only rs2[5:0] counts */
  CHECK_EQ(RR("sllw", 1, 32 + 31), 0xffffffff80000000UL);         /* rs2[4:0], result sign-extended */
  CHECK_EQ(RR("srl", 0x8000000000000000UL, 63), 1);
  CHECK_EQ(RR("sra", 0x8000000000000000UL, 63), 0xffffffffffffffffUL);
  CHECK_EQ(RR("srlw", 0xffffffff80000000UL, 31), 1);
  CHECK_EQ(RR("sraw", 0x0000000080000000UL, 31), 0xffffffffffffffffUL);
  CHECK_EQ(RR("srlw", 0x0000000080000000UL, 0), 0xffffffff80000000UL);
  CHECK_EQ(RI("slli", 3, 62), 0xc000000000000000UL);
  CHECK_EQ(RI("srai", 0xf000000000000000UL, 60), 0xffffffffffffffffUL);
  CHECK_EQ(RI("srli", 0xf000000000000000UL, 60), 0xf);
  CHECK_EQ(RI("slliw", 0x1, 31), 0xffffffff80000000UL);
  CHECK_EQ(RI("srliw", 0xffffffffffffffffUL, 28), 0xf);
  CHECK_EQ(RI("sraiw", 0x00000000f0000000UL, 28), 0xffffffffffffffffUL);

  section("compare and logic");
  CHECK_EQ(RR("slt", -1L, 0), 1);
  CHECK_EQ(RR("sltu", -1L, 0), 0);
  CHECK_EQ(RI("slti", -5L, -4), 1);
  CHECK_EQ(RI("sltiu", 5, -1), 1);                                /* imm sign-extends, then compares unsigned */
  CHECK_EQ(RI("sltiu", 0, 1), 1);
  CHECK_EQ(RI("andi", 0xffffffffffffffffUL, -2048), 0xfffffffffffff800UL);
  CHECK_EQ(RI("xori", 0x0f0f, -1), 0xfffffffffffff0f0UL);
  CHECK_EQ(RI("ori", 0x100000000UL, 0x7ff), 0x1000007ffUL);
  CHECK_EQ(RR("xor", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xf0f0f0f0f0f0f0f0UL);
  CHECK_EQ(RR("and", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0x0f000f000f000f00UL);
  CHECK_EQ(RR("or", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xfff0fff0fff0fff0UL);

  section("lui/auipc/x0");
  { u64 r; __asm__ volatile("lui %0, 0x80000" : "=r"(r)); CHECK_EQ(r, 0xffffffff80000000UL); }
  { u64 r; __asm__ volatile("lui %0, 0x7ffff" : "=r"(r)); CHECK_EQ(r, 0x7ffff000UL); }
  { u64 a, l; __asm__ volatile("1: auipc %0, 0\n la %1, 1b" : "=r"(a), "=r"(l)); CHECK_EQ(a, l); }
  { u64 r; __asm__ volatile("addi x0, x0, 5\n lui x0, 1\n mv %0, x0" : "=r"(r)); CHECK_EQ(r, 0); }

  section("loads and stores");
  mem[0] = 0x8081828384858687UL;
  { volatile u64 *p = mem; u64 r;
    __asm__ volatile("lb %0, 0(%1)" : "=r"(r) : "r"(p)); CHECK_EQ(r, 0xffffffffffffff87UL);
    __asm__ volatile("lbu %0, 0(%1)" : "=r"(r) : "r"(p)); CHECK_EQ(r, 0x87);
    __asm__ volatile("lb %0, 7(%1)" : "=r"(r) : "r"(p)); CHECK_EQ(r, 0xffffffffffffff80UL);
    __asm__ volatile("lh %0, 0(%1)" : "=r"(r) : "r"(p)); CHECK_EQ(r, 0xffffffffffff8687UL);
    __asm__ volatile("lhu %0, 6(%1)" : "=r"(r) : "r"(p)); CHECK_EQ(r, 0x8081);
    __asm__ volatile("lw %0, 0(%1)" : "=r"(r) : "r"(p)); CHECK_EQ(r, 0xffffffff84858687UL);
    __asm__ volatile("lwu %0, 4(%1)" : "=r"(r) : "r"(p)); CHECK_EQ(r, 0x80818283UL);
    __asm__ volatile("ld %0, 0(%1)" : "=r"(r) : "r"(p)); CHECK_EQ(r, 0x8081828384858687UL);
    __asm__ volatile("ld %0, 8(%1)" : "=r"(r) : "r"(p + 1 - 1)); CHECK_EQ(r, mem[1]);
    __asm__ volatile("sb %1, 1(%0)" :: "r"(p), "r"(0x1234UL) : "memory"); CHECK_EQ(mem[0], 0x8081828384853487UL);
    __asm__ volatile("sh %1, 2(%0)" :: "r"(p), "r"(0xabcdefUL) : "memory"); CHECK_EQ(mem[0], 0x80818283cdef3487UL);
    __asm__ volatile("sw %1, 4(%0)" :: "r"(p), "r"(0x1122334455667788UL) : "memory"); CHECK_EQ(mem[0], 0x55667788cdef3487UL);
    __asm__ volatile("sd %1, -8(%0)" :: "r"(p + 2), "r"(0x0102030405060708UL) : "memory"); CHECK_EQ(mem[1], 0x0102030405060708UL);
  }

  section("branches");
  CHECK_EQ(BR("beq", 5, 5), 1);   CHECK_EQ(BR("beq", 5, 6), 0);
  CHECK_EQ(BR("bne", 5, 6), 1);   CHECK_EQ(BR("bne", 5, 5), 0);
  CHECK_EQ(BR("blt", -1L, 1), 1); CHECK_EQ(BR("blt", 1, -1L), 0);
  CHECK_EQ(BR("bge", 1, -1L), 1); CHECK_EQ(BR("bge", -1L, -1L), 1); CHECK_EQ(BR("bge", -2L, -1L), 0);
  CHECK_EQ(BR("bltu", 1, -1L), 1); CHECK_EQ(BR("bltu", -1L, 1), 0);
  CHECK_EQ(BR("bgeu", -1L, 1), 1); CHECK_EQ(BR("bgeu", 1, -1L), 0);

  section("jal/jalr");
  { u64 link, ret, r;
    __asm__ volatile(
      "  la t0, 2f\n  ori t0, t0, 1\n"      /* jalr clears bit 0 of the target */
      "  li %2, 0\n"
      "1: jalr %0, 0(t0)\n"
      "  li %2, 99\n"
      "2: la %1, 1b\n"
      : "=&r"(link), "=&r"(ret), "=&r"(r) :: "t0");
    CHECK_EQ(link, ret + 4);
    CHECK_EQ(r, 0);
  }
  { u64 rd, l; /* rd == rs1: the target comes from the old value, then rd gets the link */
    __asm__ volatile("la t0, 1f\n jalr t0, 0(t0)\n1: mv %0, t0\n la %1, 1b" : "=r"(rd), "=r"(l) :: "t0");
    CHECK_EQ(rd, l); }
  { u64 link, next; __asm__ volatile("jal %0, 1f\n2: nop\n1: la %1, 2b" : "=r"(link), "=r"(next)); CHECK_EQ(link, next); }

  section("fence.i after writing code");
  /* addi a0, zero, imm ; jalr zero, 0(ra) */
  for (int v = 1; v <= 3; v++) {
    code_buf[0] = 0x00000513u | ((u32)v << 20);
    code_buf[1] = 0x00008067u;
    __asm__ volatile("fence.i" ::: "memory");
    long (*fn)(void) = (long (*)(void))(u64)code_buf;
    CHECK_EQ(fn(), v);
  }
  __asm__ volatile("fence rw, rw\n fence iorw, iorw\n fence.tso" ::: "memory");
  return test_result();
}
