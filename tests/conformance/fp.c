/* SPDX-License-Identifier: GPL-2.0-only */
/* F and D basics (the FPU's own suite covers them exhaustively): exceptions in fflags,
   canonical NaNs, NaN-boxing, conversions under all five rounding modes, min/max and compares
   with NaNs and signed zeros, fused multiply-add, fcsr/frm/fflags aliasing, mstatus.FS.
   Spec: riscv-unpriv-20240411 "\"F\" Extension for Single-Precision Floating-Point",
   "\"D\" Extension for Double-Precision Floating-Point"; ieee754-2008. */
#include "test.h"

#define NV 0x10
#define DZ 0x08
#define OF 0x04
#define UF 0x02
#define NX 0x01

static u64 flags_clear(void) { u64 v; __asm__ volatile("csrrw %0, fflags, x0" : "=r"(v)); return v; }
static u64 flags(void) { u64 v; __asm__ volatile("csrr %0, fflags" : "=r"(v)); return v; }

#define F2(op, a, b) ({ u64 _r; __asm__ volatile("fmv.w.x ft0, %1\n fmv.w.x ft1, %2\n " op " ft2, ft0, ft1\n fmv.x.w %0, ft2" \
  : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1", "ft2"); _r & 0xffffffffUL; })
#define D2(op, a, b) ({ u64 _r; __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n " op " ft2, ft0, ft1\n fmv.x.d %0, ft2" \
  : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1", "ft2"); _r; })
#define CVT_WS(rm, a) ({ u64 _r; __asm__ volatile("fmv.w.x ft0, %1\n fcvt.w.s %0, ft0, " rm : "=r"(_r) : "r"((u64)(a)) : "ft0"); _r; })
#define CMP_S(op, a, b) ({ u64 _r; __asm__ volatile("fmv.w.x ft0, %1\n fmv.w.x ft1, %2\n " op " %0, ft0, ft1" : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1"); _r; })

#define S_ONE 0x3f800000UL
#define S_TWO 0x40000000UL
#define S_THREE 0x40400000UL
#define S_NEG1 0xbf800000UL
#define S_INF 0x7f800000UL
#define S_QNAN 0x7fc00000UL
#define S_SNAN 0x7fa00000UL
#define S_MAX 0x7f7fffffUL
#define S_2_5 0x40200000UL
#define S_M2_5 0xc0200000UL
#define S_PZ 0x00000000UL
#define S_NZ 0x80000000UL

static long fp_op(long a) { (void)a; __asm__ volatile("fmv.w.x ft0, zero" ::: "ft0"); return 0; }

int main(void) {
  puts_uart("fp\n");
  section("exceptions and canonical NaN");
  flags_clear();
  CHECK_EQ(F2("fadd.s", S_ONE, S_TWO), S_THREE); CHECK_EQ(flags(), 0);
  CHECK_EQ(F2("fdiv.s", S_ONE, S_PZ), S_INF);    CHECK_EQ(flags_clear(), DZ);
  CHECK_EQ(F2("fdiv.s", S_ONE, S_THREE), 0x3eaaaaabUL); CHECK_EQ(flags_clear(), NX);  /* 1/3 rounded to nearest */
  CHECK_EQ(F2("fmul.s", S_MAX, S_TWO), S_INF);   CHECK_EQ(flags_clear(), OF | NX);
  CHECK_EQ(F2("fmul.s", 0x0d000000UL, 0x0d000000UL), 0); CHECK_EQ(flags_clear(), UF | NX); /* 2^-101 squared */
  CHECK_EQ(F2("fsub.s", S_INF, S_INF), S_QNAN);  CHECK_EQ(flags_clear(), NV);
  { u64 r; __asm__ volatile("fmv.w.x ft0, %1\n fsqrt.s ft1, ft0\n fmv.x.w %0, ft1" : "=r"(r) : "r"(S_NEG1) : "ft0", "ft1");
    CHECK_EQ(r & 0xffffffffUL, S_QNAN); CHECK_EQ(flags_clear(), NV); }
  CHECK_EQ(F2("fadd.s", S_SNAN, S_ONE), S_QNAN); CHECK_EQ(flags_clear(), NV);          /* sNaN input: NV, canonical result */
  CHECK_EQ(F2("fadd.s", 0x7fc12345UL, S_ONE), S_QNAN); CHECK_EQ(flags_clear(), 0);     /* qNaN payload not propagated */
  CHECK_EQ(D2("fdiv.d", 0x3ff0000000000000UL, 0), 0x7ff0000000000000UL); CHECK_EQ(flags_clear(), DZ);
  CHECK_EQ(D2("fsub.d", 0x7ff0000000000000UL, 0x7ff0000000000000UL), 0x7ff8000000000000UL); CHECK_EQ(flags_clear(), NV);

  section("NaN-boxing");
  { u64 r; __asm__ volatile("fmv.w.x ft0, %1\n fmv.x.d %0, ft0" : "=r"(r) : "r"(S_ONE) : "ft0");
    CHECK_EQ(r, 0xffffffff3f800000UL); }
  { u64 r; /* an improperly boxed single (upper bits not all ones) reads as the canonical NaN */
    __asm__ volatile("fmv.d.x ft0, %1\n fmv.w.x ft1, %2\n fadd.s ft2, ft0, ft1\n fmv.x.w %0, ft2" : "=r"(r) : "r"(0x000000003f800000UL), "r"(S_ONE) : "ft0", "ft1", "ft2");
    CHECK_EQ(r & 0xffffffffUL, S_QNAN); }
  flags_clear();

  section("fcvt.w.s under each rounding mode");
  CHECK_EQ(CVT_WS("rne", S_2_5), 2);  CHECK_EQ(CVT_WS("rtz", S_2_5), 2); CHECK_EQ(CVT_WS("rdn", S_2_5), 2);
  CHECK_EQ(CVT_WS("rup", S_2_5), 3);  CHECK_EQ(CVT_WS("rmm", S_2_5), 3);
  CHECK_EQ(CVT_WS("rne", S_M2_5), (u64)-2L); CHECK_EQ(CVT_WS("rtz", S_M2_5), (u64)-2L); CHECK_EQ(CVT_WS("rdn", S_M2_5), (u64)-3L);
  CHECK_EQ(CVT_WS("rup", S_M2_5), (u64)-2L); CHECK_EQ(CVT_WS("rmm", S_M2_5), (u64)-3L);
  CHECK_EQ(flags_clear(), NX);
  CHECK_EQ(CVT_WS("rtz", S_QNAN), 0x7fffffffUL); CHECK_EQ(flags_clear(), NV);           /* NaN converts to the max */
  CHECK_EQ(CVT_WS("rtz", 0xcf800000UL), 0xffffffff80000000UL); CHECK_EQ(flags_clear(), NV); /* -2^32 saturates */
  /* dynamic rounding from frm */
  __asm__ volatile("fsrmi 3");                                                            /* RUP */
  CHECK_EQ(CVT_WS("dyn", S_2_5), 3);
  CHECK_EQ(csr_read(fcsr), (3 << 5) | NX);
  __asm__ volatile("fsrmi 0");
  flags_clear();

  section("min/max and compares");
  CHECK_EQ(F2("fmin.s", S_NZ, S_PZ), S_NZ);
  CHECK_EQ(F2("fmax.s", S_NZ, S_PZ), S_PZ);
  CHECK_EQ(F2("fmin.s", S_QNAN, S_ONE), S_ONE); CHECK_EQ(flags_clear(), 0);
  CHECK_EQ(F2("fmin.s", S_SNAN, S_ONE), S_ONE); CHECK_EQ(flags_clear(), NV);
  CHECK_EQ(F2("fmax.s", S_QNAN, S_QNAN), S_QNAN);
  CHECK_EQ(CMP_S("feq.s", S_QNAN, S_ONE), 0); CHECK_EQ(flags_clear(), 0);                /* quiet compare */
  CHECK_EQ(CMP_S("flt.s", S_QNAN, S_ONE), 0); CHECK_EQ(flags_clear(), NV);               /* signaling compare */
  CHECK_EQ(CMP_S("fle.s", S_NZ, S_PZ), 1);
  CHECK_EQ(CMP_S("feq.s", S_NZ, S_PZ), 1);
  { u64 r; __asm__ volatile("fmv.w.x ft0, %1\n fclass.s %0, ft0" : "=r"(r) : "r"(S_NZ) : "ft0"); CHECK_EQ(r, 1 << 3); }
  { u64 r; __asm__ volatile("fmv.w.x ft0, %1\n fclass.s %0, ft0" : "=r"(r) : "r"(S_SNAN) : "ft0"); CHECK_EQ(r, 1 << 8); }

  section("fused multiply-add rounds once");
  { /* x = 1 + 2^-27: x*x = 1 + 2^-26 + 2^-54 exactly; fl(x*x) = 1 + 2^-26; fma(x, x, -fl(x*x)) = 2^-54 */
    u64 x = 0x3ff0000002000000UL, p = 0xbff0000004000000UL, r;
    __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n fmadd.d ft2, ft0, ft0, ft1\n fmv.x.d %0, ft2" : "=r"(r) : "r"(x), "r"(p) : "ft0", "ft1", "ft2");
    CHECK_EQ(r, 0x3c90000000000000UL);
    CHECK_EQ(D2("fmul.d", x, x), 0x3ff0000004000000UL); }
  flags_clear();

  section("mstatus.FS: Off makes FP illegal; a write makes it Dirty");
  csr_clear(mstatus, MSTATUS_FS);
  EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile("fmv.w.x ft0, zero" ::: "ft0"));
  EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile("csrr t0, fcsr" ::: "t0"));
  csr_set(mstatus, 1UL << 13);                       /* Initial */
  fp_op(0);
  CHECK_EQ(csr_read(mstatus) & MSTATUS_FS, MSTATUS_FS);
  CHECK(csr_read(mstatus) >> 63);                    /* SD summarises a dirty FS */
  return test_result();
}
