/* SPDX-License-Identifier: GPL-2.0-only */
/* Interrupts: the Sstc timer (stimecmp drives mip.STIP), supervisor software interrupts,
   delegation with mideleg, global enables by privilege (lower-privilege code cannot mask a
   higher mode's interrupts), priority SSI over STI, and WFI waking on a pending interrupt.
   Spec: riscv-priv-20240411 "Machine Interrupt (mip and mie) Registers",
   "Supervisor Timer (stimecmp) Register", "Wait for Interrupt". */
#include "test.h"

#define MENVCFG_STCE (1UL << 63)
/* The CLINT-compatible ACLINT of QEMU virt (and of tsxen's bare board) */
#define CLINT 0x2000000UL
#define MSIP0 (*(volatile u32 *)(CLINT))
#define MTIMECMP0 (*(volatile u64 *)(CLINT + 0x4000))
#define MTIME (*(volatile u64 *)(CLINT + 0xbff8))
/* Waits are bounded by time, not by iterations: a loaded host may run QEMU's timer thread
   late, but the time CSR keeps counting. 2 s at the 10 MHz timebase. */
#define WAIT_TICKS 20000000UL

static volatile u64 order[4];
static volatile int norder;

static void hook(u64 cause, u64 by) {
  if (norder < 4) order[norder++] = cause;
  if (cause == IRQ_STI) csr_write(stimecmp, ~0UL);
  else if (cause == IRQ_MTI) MTIMECMP0 = ~0UL;
  else if (cause == IRQ_MSI) MSIP0 = 0;
  else if (cause == IRQ_SSI) { if (by == MODE_S) csr_clear(sip, 1UL << IRQ_SSI); else csr_clear(mip, 1UL << IRQ_SSI); }
}

/* Lower-mode bodies: wait (bounded) for the trap count to move. */
static long wait_irq(long n) {
  u64 end = csr_read(time) + WAIT_TICKS;
  while (trap_count == n && csr_read(time) < end) {}
  return trap_count != n;
}
static long s_timer(long delta) {
  long n = trap_count;
  csr_write(stimecmp, csr_read(time) + (u64)delta);
  csr_set(sstatus, MSTATUS_SIE);
  long r = wait_irq(n);
  csr_clear(sstatus, MSTATUS_SIE);
  return r;
}
static long s_self_ipi(long arg) {
  (void)arg;
  long n = trap_count;
  csr_set(sip, 1UL << IRQ_SSI);            /* pending, SIE still 0: not taken */
  for (volatile int i = 0; i < 1000; i++) {}
  if (trap_count != n) return -1;
  csr_set(sstatus, MSTATUS_SIE);
  long r = wait_irq(n);
  csr_clear(sstatus, MSTATUS_SIE);
  return r;
}
static long spin(long n) { return wait_irq(n); }

int main(void) {
  puts_uart("interrupts\n");
  irq_hook = hook;
  csr_write(stvec, (u64)strap_entry);
  csr_set(menvcfg, MENVCFG_STCE);
  csr_write(mcounteren, 7);
  csr_write(scounteren, 7);                      /* U-mode waits read the time CSR */
  CHECK(csr_read(menvcfg) & MENVCFG_STCE);

  section("stimecmp drives mip.STIP; STIP is then read-only");
  csr_write(stimecmp, 0);
  CHECK(csr_read(mip) & (1UL << IRQ_STI));
  csr_write(stimecmp, ~0UL);
  CHECK_EQ(csr_read(mip) & (1UL << IRQ_STI), 0);
  csr_set(mip, 1UL << IRQ_STI);
  CHECK_EQ(csr_read(mip) & (1UL << IRQ_STI), 0);

  section("Sstc timer delegated to S");
  csr_write(mideleg, (1UL << IRQ_STI) | (1UL << IRQ_SSI));
  csr_write(mie, (1UL << IRQ_STI) | (1UL << IRQ_SSI));
  norder = 0;
  CHECK_EQ(run_in_mode(MODE_S, s_timer, 20000), 1);
  CHECK_EQ(last_trap.cause, IRQ_BIT | IRQ_STI);
  CHECK_EQ(last_trap.by, MODE_S);
  CHECK_EQ(norder, 1);

  section("S software interrupt: self-IPI through sip, masked by SIE in S");
  CHECK_EQ(run_in_mode(MODE_S, s_self_ipi, 0), 1);
  CHECK_EQ(last_trap.cause, IRQ_BIT | IRQ_SSI);
  CHECK_EQ(last_trap.by, MODE_S);

  section("U mode cannot mask S interrupts (SIE ignored below S)");
  csr_clear(mstatus, MSTATUS_SIE);
  { long n = trap_count;
    csr_set(mip, 1UL << IRQ_SSI);
    CHECK_EQ(run_in_mode(MODE_U, spin, n), 1);
    CHECK_EQ(last_trap.by, MODE_S); CHECK_EQ(last_trap.from, MODE_U); }

  section("priority: SSI before STI");
  norder = 0;
  csr_write(stimecmp, 0);                        /* STIP now */
  csr_set(mip, 1UL << IRQ_SSI);
  { long n = trap_count; run_in_mode(MODE_U, spin, n); }
  CHECK(norder >= 2);
  CHECK_EQ(order[0], IRQ_SSI);
  CHECK_EQ(order[1], IRQ_STI);

  section("not delegated: taken in M even with MIE = 0 while in S");
  csr_write(mideleg, 0);
  csr_clear(mstatus, MSTATUS_MIE);
  { long n = trap_count;
    csr_set(mip, 1UL << IRQ_SSI);
    CHECK_EQ(run_in_mode(MODE_S, spin, n), 1);
    CHECK_EQ(last_trap.by, MODE_M); CHECK_EQ(last_trap.cause, IRQ_BIT | IRQ_SSI); CHECK_EQ(last_trap.from, MODE_S); }
  { long n = trap_count;
    CHECK_EQ(run_in_mode(MODE_S, s_timer, 20000), 1);
    CHECK_EQ(last_trap.by, MODE_M); CHECK_EQ(last_trap.cause, IRQ_BIT | IRQ_STI);
    (void)n; }

  section("WFI in M wakes on a pending enabled interrupt even with MIE = 0");
  { long n = trap_count;
    u64 t0 = csr_read(time);
    csr_write(stimecmp, t0 + 50000);             /* 5 ms at 10 MHz */
    __asm__ volatile("wfi");
    for (u64 end = t0 + WAIT_TICKS; !(csr_read(mip) & (1UL << IRQ_STI)) && csr_read(time) < end;) __asm__ volatile("wfi");
    CHECK(csr_read(mip) & (1UL << IRQ_STI));
    CHECK(csr_read(time) >= t0 + 50000);
    CHECK_EQ(trap_count, n);                      /* MIE = 0: no trap, just the wake-up */
    csr_write(stimecmp, ~0UL); }
  csr_write(mie, 0);

  section("ACLINT: mtime is the time CSR's counter; mtimecmp drives MTIP; MSIP0 drives MSIP");
  { u64 a = csr_read(time), m = MTIME, b = csr_read(time);
    CHECK(a <= m && m <= b); }
  MTIMECMP0 = ~0UL;
  CHECK_EQ(csr_read(mip) & (1UL << IRQ_MTI), 0);
  csr_set(mip, 1UL << IRQ_MTI);                  /* MTIP is read-only in mip */
  CHECK_EQ(csr_read(mip) & (1UL << IRQ_MTI), 0);
  csr_write(mie, (1UL << IRQ_MTI) | (1UL << IRQ_MSI));
  { long n = trap_count; norder = 0;
    MTIMECMP0 = MTIME + 20000;                   /* 2 ms */
    csr_set(mstatus, MSTATUS_MIE);
    CHECK_EQ(wait_irq(n), 1);
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(last_trap.cause, IRQ_BIT | IRQ_MTI); CHECK_EQ(last_trap.by, MODE_M);
    CHECK_EQ(csr_read(mip) & (1UL << IRQ_MTI), 0); }
  { long n = trap_count;
    MSIP0 = 1;
    CHECK(csr_read(mip) & (1UL << IRQ_MSI));
    CHECK_EQ(MSIP0, 1);
    csr_set(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(trap_count, n + 1);
    CHECK_EQ(last_trap.cause, IRQ_BIT | IRQ_MSI);
    CHECK_EQ(MSIP0, 0); }
  { /* MSI outranks MTI when both are pending */
    long n = trap_count; norder = 0;
    MTIMECMP0 = 0; MSIP0 = 1;
    csr_set(mstatus, MSTATUS_MIE);
    for (u64 end = csr_read(time) + WAIT_TICKS; trap_count < n + 2 && csr_read(time) < end;) {}
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK(norder >= 2); CHECK_EQ(order[0], IRQ_MSI); CHECK_EQ(order[1], IRQ_MTI); }
  csr_write(mie, 0);
  return test_result();
}
