// SPDX-License-Identifier: GPL-2.0-only
// Differential reference for tsxen's FPU: runs one RISC-V F/D instruction per input line on the
// machine executing this program (qemu-riscv64, i.e. QEMU's softfloat) and prints the result bits
// and fflags. Input lines: "<mnemonic> <frm> <a> <b> <c>" (operands as 64-bit hex register values,
// f operands loaded with fmv.d.x so NaN-boxing is under the test's control); output: "<hex> <flags>".
// Built by src/hardware/riscv/fpu/qemu-diff.test.ts into build/, freestanding (raw Linux
// syscalls, -nostdlib), so it needs no RISC-V libc headers.
typedef unsigned long uint64_t;

typedef uint64_t (*op_fn)(uint64_t a, uint64_t b, uint64_t c, unsigned *fl);

#define DYN ",dyn"
#define NORM ""
/* The assembler takes no rm operand on the exact conversions fcvt.d.w/wu and fcvt.d.s. */
#define RMW_s DYN
#define RMW_d NORM

/* f = op(f, f) */
#define FFF(fn, ins, RM)                                                                        \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) {                      \
    uint64_t r; unsigned f; (void)c;                                                             \
    __asm__ volatile("fmv.d.x ft0,%2\n\tfmv.d.x ft1,%3\n\tfsflags x0\n\t" ins " ft2,ft0,ft1" RM \
                     "\n\tfrflags %1\n\tfmv.x.d %0,ft2"                                          \
                     : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1", "ft2", "memory");    \
    *fl = f; return r;                                                                           \
  }
/* f = op(f) */
#define FF(fn, ins, RM)                                                                         \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) {                      \
    uint64_t r; unsigned f; (void)b; (void)c;                                                    \
    __asm__ volatile("fmv.d.x ft0,%2\n\tfsflags x0\n\t" ins " ft2,ft0" RM                      \
                     "\n\tfrflags %1\n\tfmv.x.d %0,ft2"                                          \
                     : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "ft2", "memory");                   \
    *fl = f; return r;                                                                           \
  }
/* f = op(f, f, f) */
#define FFFF(fn, ins)                                                                           \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) {                      \
    uint64_t r; unsigned f;                                                                      \
    __asm__ volatile("fmv.d.x ft0,%2\n\tfmv.d.x ft1,%3\n\tfmv.d.x ft3,%4\n\tfsflags x0\n\t" ins \
                     " ft2,ft0,ft1,ft3,dyn\n\tfrflags %1\n\tfmv.x.d %0,ft2"                     \
                     : "=&r"(r), "=&r"(f) : "r"(a), "r"(b), "r"(c)                               \
                     : "ft0", "ft1", "ft2", "ft3", "memory");                                    \
    *fl = f; return r;                                                                           \
  }
/* x = op(f, f) */
#define XFF(fn, ins)                                                                            \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) {                      \
    uint64_t r; unsigned f; (void)c;                                                             \
    __asm__ volatile("fmv.d.x ft0,%2\n\tfmv.d.x ft1,%3\n\tfsflags x0\n\t" ins " %0,ft0,ft1"    \
                     "\n\tfrflags %1"                                                            \
                     : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1", "memory");           \
    *fl = f; return r;                                                                           \
  }
/* x = op(f) */
#define XF(fn, ins, RM)                                                                         \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) {                      \
    uint64_t r; unsigned f; (void)b; (void)c;                                                    \
    __asm__ volatile("fmv.d.x ft0,%2\n\tfsflags x0\n\t" ins " %0,ft0" RM "\n\tfrflags %1"       \
                     : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "memory");                           \
    *fl = f; return r;                                                                           \
  }
/* f = op(x) */
#define FX(fn, ins, RM)                                                                         \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) {                      \
    uint64_t r; unsigned f; (void)b; (void)c;                                                    \
    __asm__ volatile("fsflags x0\n\t" ins " ft2,%2" RM "\n\tfrflags %1\n\tfmv.x.d %0,ft2"       \
                     : "=&r"(r), "=&r"(f) : "r"(a) : "ft2", "memory");                           \
    *fl = f; return r;                                                                           \
  }

#define ARITH(P, S)                                                                             \
  FFF(fadd_##P, "fadd." S, DYN) FFF(fsub_##P, "fsub." S, DYN) FFF(fmul_##P, "fmul." S, DYN)     \
  FFF(fdiv_##P, "fdiv." S, DYN) FF(fsqrt_##P, "fsqrt." S, DYN) FFF(fmin_##P, "fmin." S, NORM)   \
  FFF(fmax_##P, "fmax." S, NORM) FFF(fsgnj_##P, "fsgnj." S, NORM)                                \
  FFF(fsgnjn_##P, "fsgnjn." S, NORM) FFF(fsgnjx_##P, "fsgnjx." S, NORM)                          \
  XFF(feq_##P, "feq." S) XFF(flt_##P, "flt." S) XFF(fle_##P, "fle." S)                           \
  XF(fclass_##P, "fclass." S, NORM) XF(fcvt_w_##P, "fcvt.w." S, DYN)                             \
  XF(fcvt_wu_##P, "fcvt.wu." S, DYN) XF(fcvt_l_##P, "fcvt.l." S, DYN)                            \
  XF(fcvt_lu_##P, "fcvt.lu." S, DYN) FX(fcvt_##P##_w, "fcvt." S ".w", RMW_##P)                       \
  FX(fcvt_##P##_wu, "fcvt." S ".wu", RMW_##P) FX(fcvt_##P##_l, "fcvt." S ".l", DYN)                  \
  FX(fcvt_##P##_lu, "fcvt." S ".lu", DYN) FFFF(fmadd_##P, "fmadd." S)                            \
  FFFF(fmsub_##P, "fmsub." S) FFFF(fnmsub_##P, "fnmsub." S) FFFF(fnmadd_##P, "fnmadd." S)

ARITH(s, "s")
ARITH(d, "d")
FF(fcvt_s_d, "fcvt.s.d", DYN)
FF(fcvt_d_s, "fcvt.d.s", NORM)
XF(fmv_x_w, "fmv.x.w", NORM)
XF(fmv_x_d, "fmv.x.d", NORM)
FX(fmv_w_x, "fmv.w.x", NORM)
FX(fmv_d_x, "fmv.d.x", NORM)

#define ENT(P, S)                                                                               \
  {"fadd." S, fadd_##P}, {"fsub." S, fsub_##P}, {"fmul." S, fmul_##P}, {"fdiv." S, fdiv_##P},   \
  {"fsqrt." S, fsqrt_##P}, {"fmin." S, fmin_##P}, {"fmax." S, fmax_##P},                         \
  {"fsgnj." S, fsgnj_##P}, {"fsgnjn." S, fsgnjn_##P}, {"fsgnjx." S, fsgnjx_##P},                 \
  {"feq." S, feq_##P}, {"flt." S, flt_##P}, {"fle." S, fle_##P}, {"fclass." S, fclass_##P},     \
  {"fcvt.w." S, fcvt_w_##P}, {"fcvt.wu." S, fcvt_wu_##P}, {"fcvt.l." S, fcvt_l_##P},            \
  {"fcvt.lu." S, fcvt_lu_##P}, {"fcvt." S ".w", fcvt_##P##_w}, {"fcvt." S ".wu", fcvt_##P##_wu}, \
  {"fcvt." S ".l", fcvt_##P##_l}, {"fcvt." S ".lu", fcvt_##P##_lu}, {"fmadd." S, fmadd_##P},    \
  {"fmsub." S, fmsub_##P}, {"fnmsub." S, fnmsub_##P}, {"fnmadd." S, fnmadd_##P}

static const struct { const char *name; op_fn fn; } ops[] = {
  ENT(s, "s"), ENT(d, "d"),
  {"fcvt.s.d", fcvt_s_d}, {"fcvt.d.s", fcvt_d_s}, {"fmv.x.w", fmv_x_w},
  {"fmv.x.d", fmv_x_d}, {"fmv.w.x", fmv_w_x}, {"fmv.d.x", fmv_d_x},
};

static long sys3(long n, long a, long b, long c) {
  register long a0 __asm__("a0") = a;
  register long a1 __asm__("a1") = b;
  register long a2 __asm__("a2") = c;
  register long a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

static char in[48 << 20];
static char out[1 << 16];
static unsigned long outn;

static void flush(void) {
  unsigned long off = 0;
  while (off < outn) {
    long w = sys3(64, 1, (long)(out + off), (long)(outn - off));
    if (w <= 0) break;
    off += (unsigned long)w;
  }
  outn = 0;
}

static void put(const char *s, unsigned long n) {
  if (outn + n > sizeof out) flush();
  for (unsigned long i = 0; i < n; i++) out[outn++] = s[i];
}

static void puthex(uint64_t v, int digits) {
  char t[16];
  for (int i = digits - 1; i >= 0; i--, v >>= 4) t[i] = "0123456789abcdef"[v & 15];
  put(t, (unsigned long)digits);
}

static int streq(const char *a, const char *b, unsigned long n) {
  for (unsigned long i = 0; i < n; i++)
    if (a[i] != b[i] || b[i] == 0) return 0;
  return b[n] == 0;
}

static const char *p, *end;

static void skipsp(void) { while (p < end && (*p == ' ' || *p == '\n')) p++; }

static uint64_t hexnum(void) {
  uint64_t v = 0;
  skipsp();
  for (; p < end; p++) {
    char ch = *p;
    int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (d < 0) break;
    v = v << 4 | (uint64_t)d;
  }
  return v;
}

__attribute__((used)) int run(void);
__attribute__((used)) int run(void) {
  unsigned long n = 0;
  for (;;) {
    long r = sys3(63, 0, (long)(in + n), (long)(sizeof in - n));
    if (r <= 0) break;
    n += (unsigned long)r;
  }
  p = in;
  end = in + n;
  for (;;) {
    skipsp();
    if (p >= end) break;
    const char *name = p;
    while (p < end && *p != ' ') p++;
    unsigned long len = (unsigned long)(p - name);
    uint64_t rm = hexnum(), a = hexnum(), b = hexnum(), c = hexnum();
    op_fn fn = 0;
    for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++)
      if (streq(name, ops[i].name, len)) { fn = ops[i].fn; break; }
    if (!fn) { put("unknown\n", 8); continue; }
    unsigned fl;
    __asm__ volatile("fsrm %0" : : "r"(rm));
    uint64_t res = fn(a, b, c, &fl);
    puthex(res, 16);
    put(" ", 1);
    puthex(fl, 2);
    put("\n", 1);
  }
  flush();
  return 0;
}

void _start(void) __attribute__((naked, noreturn));
void _start(void) {
  __asm__ volatile(".option push\n.option norelax\nla gp, __global_pointer$\n.option pop\n"
                   "call run\nli a7, 93\necall\n");
}
