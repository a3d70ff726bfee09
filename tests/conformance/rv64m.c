/* SPDX-License-Identifier: GPL-2.0-only */
/* RV64M: products (low and all three high forms), division and remainder including the
   divide-by-zero and overflow results, which never trap.
   Spec: riscv-unpriv-20240411 "M Extension for Integer Multiplication and Division"
   (table "Semantics for division by zero and division overflow"). */
#include "test.h"

#define RR(op, a, b) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b))); _r; })
#define MIN64 0x8000000000000000UL
#define ALL1 0xffffffffffffffffUL

/* Reference 64x64->128 product from 32-bit halves (independent of the instructions under test). */
static void mul128(u64 a, u64 b, u64 *hi, u64 *lo) {
  u64 a0 = a & 0xffffffff, a1 = a >> 32, b0 = b & 0xffffffff, b1 = b >> 32;
  u64 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  u64 mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  *lo = (p00 & 0xffffffff) | (mid << 32);
  *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

static const u64 vals[] = { 0, 1, 2, 3, 7, 0x7fffffffffffffffUL, MIN64, ALL1, ALL1 - 1, 0x123456789abcdef0UL,
  0xfedcba9876543210UL, 0xffffffff, 0x80000000, 0x100000000UL, 0xdeadbeefcafebabeUL };
#define NV (sizeof vals / sizeof vals[0])

int main(void) {
  puts_uart("rv64m\n");
  section("mul/mulh/mulhu/mulhsu against a 32-bit-limb reference");
  for (unsigned i = 0; i < NV; i++) for (unsigned j = 0; j < NV; j++) {
    u64 a = vals[i], b = vals[j], hi, lo;
    mul128(a, b, &hi, &lo);
    CHECK_EQ(RR("mul", a, b), lo);
    CHECK_EQ(RR("mulhu", a, b), hi);
    /* signed corrections: hi(s*s) = hiu - (a<0 ? b : 0) - (b<0 ? a : 0); hi(s*u) = hiu - (a<0 ? b : 0) */
    u64 hs = hi - ((i64)a < 0 ? b : 0) - ((i64)b < 0 ? a : 0);
    u64 hsu = hi - ((i64)a < 0 ? b : 0);
    CHECK_EQ(RR("mulh", a, b), hs);
    CHECK_EQ(RR("mulhsu", a, b), hsu);
    CHECK_EQ(RR("mulw", a, b), (u64)(i64)(i32)(u32)(lo & 0xffffffff));
  }
  section("division by zero and overflow");
  CHECK_EQ(RR("div", 7, 0), ALL1);
  CHECK_EQ(RR("divu", 7, 0), ALL1);
  CHECK_EQ(RR("rem", 7, 0), 7);
  CHECK_EQ(RR("remu", 7, 0), 7);
  CHECK_EQ(RR("div", MIN64, ALL1), MIN64);
  CHECK_EQ(RR("rem", MIN64, ALL1), 0);
  CHECK_EQ(RR("divw", 0x80000000UL, ALL1), 0xffffffff80000000UL);
  CHECK_EQ(RR("remw", 0x80000000UL, ALL1), 0);
  CHECK_EQ(RR("divw", 5, 0x100000000UL), ALL1);        /* only the low 32 bits of rs2 count: /0 */
  CHECK_EQ(RR("divuw", 5, 0), ALL1);
  CHECK_EQ(RR("remw", 0x1fffffffbUL, 0), ALL1 - 4);    /* remainder is sext(rs1[31:0]) = -5 */
  CHECK_EQ(RR("remuw", 0x1fffffffbUL, 0), ALL1 - 4);
  section("signs of quotient and remainder (round toward zero)");
  CHECK_EQ(RR("div", -7L, 2), (u64)-3L);
  CHECK_EQ(RR("rem", -7L, 2), (u64)-1L);
  CHECK_EQ(RR("div", 7, -2L), (u64)-3L);
  CHECK_EQ(RR("rem", 7, -2L), 1);
  CHECK_EQ(RR("divu", -7L, 2), 0x7ffffffffffffffcUL);
  CHECK_EQ(RR("remu", -7L, 2), 1);
  CHECK_EQ(RR("divw", 0xfffffff9UL, 2), (u64)-3L);
  CHECK_EQ(RR("divuw", 0xfffffff9UL, 2), 0x7ffffffcUL);
  CHECK_EQ(RR("remuw", 0xfffffff9UL, 2), 1);
  CHECK_EQ(RR("divuw", 0xffffffff00000010UL, 3), 5);
  CHECK_EQ(RR("divu", 0xfedcba9876543210UL, 0x10), 0x0fedcba987654321UL);
  return test_result();
}
