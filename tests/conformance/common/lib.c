/* SPDX-License-Identifier: GPL-2.0-only */
/* Runtime of the conformance programs: UART output, check bookkeeping, the exit path through
   the SiFive test device, and the C halves of the M and S trap handlers. */
#include "test.h"

volatile struct trap_record last_trap;
volatile long trap_count;
volatile u64 trap_resume;
volatile int trap_expected;
void (*volatile irq_hook)(u64 cause, u64 by);
static int first_failure;
static int failures;

void putc_uart(int c) {
  volatile unsigned char *u = (volatile unsigned char *)UART_BASE;
  while ((u[5] & 0x20) == 0) {}
  u[0] = (unsigned char)c;
}
void puts_uart(const char *s) { while (*s) putc_uart(*s++); }
void puthex(u64 v) {
  puts_uart("0x");
  for (int i = 60; i >= 0; i -= 4) putc_uart("0123456789abcdef"[(v >> i) & 15]);
}
void putdec(long v) {
  char b[24]; int n = 0; u64 u = v < 0 ? -(u64)v : (u64)v;
  if (v < 0) putc_uart('-');
  do { b[n++] = '0' + u % 10; u /= 10; } while (u);
  while (n) putc_uart(b[--n]);
}
void section(const char *name) { puts_uart("  "); puts_uart(name); puts_uart("\n"); }

void exit(int code) {
  volatile u32 *t = (volatile u32 *)TEST_BASE;
  if (code == 0) { puts_uart("PASS\n"); *t = 0x5555; }
  else { puts_uart("FAIL "); putdec(code); puts_uart("\n"); *t = ((u32)code << 16) | 0x3333; }
  for (;;) __asm__ volatile("wfi");
}

void check_failed(int line, const char *expr) {
  puts_uart("FAILED line "); putdec(line); puts_uart(": "); puts_uart(expr); puts_uart("\n");
  if (!first_failure) first_failure = line;
  failures++;
}
void check_eq_failed(int line, const char *expr, u64 got, u64 want) {
  check_failed(line, expr);
  puts_uart("  got "); puthex(got); puts_uart(" want "); puthex(want); puts_uart("\n");
}
int test_result(void) { return failures ? (first_failure & 0xffff ? first_failure : 1) : 0; }

/* QEMU's version (as in marchid == mimpid, mvendorid 0), or 0 when not on QEMU. Used only
   to accept QEMU's documented deviations from the spec, never to relax checks on tsxen. */
u64 qemu_version(void) {
  u64 a = csr_read(marchid), i = csr_read(mimpid);
  return csr_read(mvendorid) == 0 && a == i && a >= 0x050000 && a < 0x200000 ? a : 0;
}

static u64 insn_len(u64 pc) { return (*(volatile unsigned short *)pc & 3) == 3 ? 4 : 2; }

static u64 handle(u64 cause, u64 tval, u64 epc, u64 by, u64 from) {
  if (cause & IRQ_BIT) {
    last_trap.cause = cause; last_trap.tval = tval; last_trap.epc = epc; last_trap.by = by; last_trap.from = from;
    trap_count++;
    if (irq_hook) irq_hook(cause & ~IRQ_BIT, by);
    return epc;
  }
  if (!trap_expected) {
    puts_uart("unexpected trap in "); putc_uart(by == MODE_M ? 'M' : 'S'); puts_uart(": cause "); puthex(cause);
    puts_uart(" epc "); puthex(epc); puts_uart(" tval "); puthex(tval); puts_uart("\n");
    exit(0xeeee);
  }
  last_trap.cause = cause; last_trap.tval = tval; last_trap.epc = epc; last_trap.by = by; last_trap.from = from;
  trap_count++;
  if (trap_resume) { u64 r = trap_resume; trap_resume = 0; return r; }
  return epc + insn_len(epc);
}

void mtrap_handler(u64 *regs) {
  (void)regs;
  u64 st = csr_read(mstatus);
  csr_write(mepc, handle(csr_read(mcause), csr_read(mtval), csr_read(mepc), MODE_M, (st >> 11) & 3));
}
void strap_handler(u64 *regs) {
  (void)regs;
  u64 st = csr_read(sstatus);
  csr_write(sepc, handle(csr_read(scause), csr_read(stval), csr_read(sepc), MODE_S, (st >> 8) & 1));
}
