/* SPDX-License-Identifier: GPL-2.0-only */
/* Zba, Zbb, Zbc, Zbs (built with -march=rv64gc_zba_zbb_zbc_zbs): known results of each
   instruction on chosen operands, then every instruction over a grid of operands printed as
   a checksum line per instruction (the test compares the lines with QEMU's, so the program
   needs no reference of its own there), rd = rs1 aliasing, near-miss encodings that must
   raise illegal-instruction with mtval = the word, and cbo.* (Zicbom/Zicboz, not announced by
   QEMU 7.2 nor by us) trapping while the prefetch hints (ORI, rd = x0) execute.
   Spec: riscv-unpriv-20240411 §28 "B" Extension for Bit Manipulation; its "CMO" chapter
   (Zicbom/Zicboz/Zicbop). */
#include "test.h"

#define RR(op, a, b) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b))); _r; })
#define R1(op, a) ({ u64 _r; __asm__ volatile(op " %0, %1" : "=r"(_r) : "r"((u64)(a))); _r; })
#define RI(op, a, i) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "i"(i)); _r; })
#define ALL1 0xffffffffffffffffUL
#define MIN64 0x8000000000000000UL

static const u64 vals[] = { 0, 1, 2, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000UL,
  0x7fffffffffffffffUL, MIN64, ALL1, ALL1 - 1, 0x0123456789abcdefUL, 0x00ff000000ff0000UL, 0xdeadbeefcafebabeUL,
  63, 64, 0x8000000000000001UL, 0xfffffffff0000000UL };
#define NV (sizeof vals / sizeof vals[0])

/* Mix one result into a running checksum (not linear, so swapped or dropped results show). */
static u64 mix(u64 h, u64 v) { h ^= v; h *= 0x100000001b3UL; return h ^ (h >> 29); }

#define GRID2(op) do { u64 h = 0; \
  for (unsigned i = 0; i < NV; i++) { for (unsigned j = 0; j < NV; j++) { h = mix(h, RR(op, vals[i], vals[j])); } } \
  report(op, h); } while (0)
#define GRID1(op) do { u64 h = 0; for (unsigned i = 0; i < NV; i++) { h = mix(h, R1(op, vals[i])); } report(op, h); } while (0)
#define GRIDI(op, i1, i2, i3) do { u64 h = 0; for (unsigned i = 0; i < NV; i++) { \
  h = mix(mix(mix(h, RI(op, vals[i], i1)), RI(op, vals[i], i2)), RI(op, vals[i], i3)); } report(op, h); } while (0)

/* A word that must raise illegal-instruction with mtval = the word (a0 is its rd). */
#define BAD(w) do { EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile(".4byte " #w ::: "a0")); CHECK_EQ(last_trap.tval, w); } while (0)

static void report(const char *op, u64 h) { puts_uart(op); puts_uart(" "); puthex(h); puts_uart("\n"); }

int main(void) {
  puts_uart("bitmanip\n");
  section("Zba");
  CHECK_EQ(RR("add.uw", 0xffffffff00000005UL, 10), 15);
  CHECK_EQ(RR("sh1add", 3, 100), 106);
  CHECK_EQ(RR("sh2add", MIN64 | 1, 0), 4);
  CHECK_EQ(RR("sh3add", ALL1, 8), 0);
  CHECK_EQ(RR("sh1add.uw", 0xffffffff80000000UL, 1), 0x100000001UL);
  CHECK_EQ(RR("sh3add.uw", 0x1ffffffffUL, 0), 0x7fffffff8UL);
  CHECK_EQ(RI("slli.uw", 0xdeadbeef80000001UL, 32), 0x8000000100000000UL);
  CHECK_EQ(RI("slli.uw", ALL1, 0), 0xffffffff);
  section("Zbb");
  CHECK_EQ(RR("andn", 0xff0f, 0x0f00), 0xf00f);
  CHECK_EQ(RR("orn", 0, ALL1 - 1), 1);
  CHECK_EQ(RR("xnor", 0x5555, 0x5555), ALL1);
  CHECK_EQ(R1("clz", 0), 64);
  CHECK_EQ(R1("clz", 1), 63);
  CHECK_EQ(R1("clz", MIN64), 0);
  CHECK_EQ(R1("ctz", 0), 64);
  CHECK_EQ(R1("ctz", MIN64), 63);
  CHECK_EQ(R1("ctz", 0x100000000UL), 32);
  CHECK_EQ(R1("cpop", ALL1), 64);
  CHECK_EQ(R1("cpop", 0xdeadbeefcafebabeUL), 46);
  CHECK_EQ(R1("clzw", 0xffffffff00000000UL), 32);
  CHECK_EQ(R1("clzw", 0x8000), 16);
  CHECK_EQ(R1("ctzw", 0xffffffff00000000UL), 32);
  CHECK_EQ(R1("cpopw", 0xffffffff0000000fUL), 4);
  CHECK_EQ(RR("max", ALL1, 1), 1);
  CHECK_EQ(RR("maxu", ALL1, 1), ALL1);
  CHECK_EQ(RR("min", MIN64, 0), MIN64);
  CHECK_EQ(RR("minu", MIN64, 0), 0);
  CHECK_EQ(R1("sext.b", 0x180), 0xffffffffffffff80UL);
  CHECK_EQ(R1("sext.h", 0x17fff), 0x7fff);
  CHECK_EQ(R1("zext.h", ALL1), 0xffff);
  CHECK_EQ(RR("rol", MIN64 | 1, 1), 3);
  CHECK_EQ(RR("ror", 3, 65), MIN64 | 1);          /* only rs2[5:0] counts */
  CHECK_EQ(RR("rolw", 0x80000001, 1), 3);
  CHECK_EQ(RR("rorw", 1, 1), 0xffffffff80000000UL); /* sign-extended word */
  CHECK_EQ(RI("rori", 0x0123456789abcdefUL, 8), 0xef0123456789abcdUL);
  CHECK_EQ(RI("roriw", 0x12345678, 4), 0xffffffff81234567UL);
  CHECK_EQ(R1("orc.b", 0x0100200000ff0000UL), 0xff00ff0000ff0000UL);
  CHECK_EQ(R1("rev8", 0x0123456789abcdefUL), 0xefcdab8967452301UL);
  section("Zbc");
  CHECK_EQ(RR("clmul", 3, 3), 5);
  CHECK_EQ(RR("clmul", MIN64, 2), 0);
  CHECK_EQ(RR("clmulh", MIN64, 2), 1);
  CHECK_EQ(RR("clmulr", MIN64, 2), 2);
  CHECK_EQ(RR("clmulh", ALL1, ALL1), 0x5555555555555555UL);
  section("Zbs");
  CHECK_EQ(RR("bclr", ALL1, 63), 0x7fffffffffffffffUL);
  CHECK_EQ(RR("bext", MIN64, 127), 1);              /* index rs2 & 63 */
  CHECK_EQ(RR("binv", 0, 32), 0x100000000UL);
  CHECK_EQ(RR("bset", 0, 31), 0x80000000);
  CHECK_EQ(RI("bclri", ALL1, 0), ALL1 - 1);
  CHECK_EQ(RI("bexti", 0x100000000UL, 32), 1);
  CHECK_EQ(RI("binvi", MIN64, 63), 0);
  CHECK_EQ(RI("bseti", 0, 40), 0x10000000000UL);
  section("rd = rs1");
  { u64 v = 0x0123456789abcdefUL; __asm__ volatile("rev8 %0, %0" : "+r"(v)); CHECK_EQ(v, 0xefcdab8967452301UL); }
  { u64 v = 5; __asm__ volatile("sh3add %0, %0, %0" : "+r"(v)); CHECK_EQ(v, 45); }

  section("operand grid (compared with QEMU line by line)");
  GRID2("add.uw"); GRID2("sh1add"); GRID2("sh2add"); GRID2("sh3add");
  GRID2("sh1add.uw"); GRID2("sh2add.uw"); GRID2("sh3add.uw"); GRIDI("slli.uw", 0, 31, 63);
  GRID2("andn"); GRID2("orn"); GRID2("xnor");
  GRID1("clz"); GRID1("ctz"); GRID1("cpop"); GRID1("clzw"); GRID1("cpopw");
  /* QEMU 7.2 computes ctzw of a value whose low word is zero as ctz of all 64 bits (63 for
     0x8000000000000000, 33 for 0x200000000); the spec counts in the low word only: 32. Those
     operands are left out here and checked on tsxen by src/hardware/riscv/bitmanip.test.ts. */
  { u64 h = 0;
    for (unsigned i = 0; i < NV; i++) { if ((u32)vals[i] != 0 || vals[i] == 0) h = mix(h, R1("ctzw", vals[i])); }
    report("ctzw", h); }
  GRID2("max"); GRID2("maxu"); GRID2("min"); GRID2("minu");
  GRID1("sext.b"); GRID1("sext.h"); GRID1("zext.h");
  GRID2("rol"); GRID2("ror"); GRID2("rolw"); GRID2("rorw"); GRIDI("rori", 1, 32, 63); GRIDI("roriw", 0, 1, 31);
  GRID1("orc.b"); GRID1("rev8");
  GRID2("clmul"); GRID2("clmulh"); GRID2("clmulr");
  GRID2("bclr"); GRID2("bext"); GRID2("binv"); GRID2("bset");
  GRIDI("bclri", 0, 31, 63); GRIDI("bexti", 1, 32, 62); GRIDI("binvi", 5, 33, 63); GRIDI("bseti", 0, 32, 63);

  section("near-miss encodings raise illegal-instruction");
  BAD(0x0ac58533); /* OP funct7 0000101 funct3 000 (no such op) */
  BAD(0x60359513); /* clz group, imm[4:0] = 3 */
  BAD(0x6985d513); /* RV32's rev8 encoding */
  BAD(0x2885d513); /* orc.b's neighbour */
  BAD(0x0815c53b); /* zext.h with rs2 != 0 */
  BAD(0x6205d51b); /* roriw with shamt[5] set */

  section("CMO: cbo.* are not implemented (illegal), prefetch hints execute");
  { static u64 line[8] __attribute__((aligned(64)));
    u64 a = (u64)line;
    EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile(".4byte 0x0045200f" ::: "memory")); /* cbo.zero (a0) */
    EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile(".4byte 0x0015200f" ::: "memory")); /* cbo.clean (a0) */
    EXPECT_NO_TRAP(__asm__ volatile("ori x0, %0, 1" :: "r"(a)));                 /* prefetch.r 0(rs1) */
    EXPECT_NO_TRAP(__asm__ volatile("ori x0, %0, 3" :: "r"(a)));                 /* prefetch.w 0(rs1) */
  }
  return test_result();
}
