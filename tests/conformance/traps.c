/* SPDX-License-Identifier: GPL-2.0-only */
/* Exceptions and delegation: ecall from U/S/M, illegal instructions, ebreak, misaligned
   loads/stores (handled or trapped, both allowed), medeleg routing to S, what a trap does to
   mstatus/sstatus, xRET rules, TW/TSR/TVM, and a vectored mtvec.
   Spec: riscv-priv-20240411 "Machine Trap Vector Base-Address Register (mtvec)",
   "Machine Trap Delegation (medeleg and mideleg) Registers", "Machine Status (mstatus and
   mstatush) Registers", "Machine Cause (mcause) Register". */
#include "test.h"

static volatile u64 ecall_pc;
static long do_ecall(long arg) {
  u64 pc;
  __asm__ volatile("li a7, 0\n auipc %0, 0\n ecall" : "=r"(pc) :: "a7", "memory");
  ecall_pc = pc + 4;   /* the ecall itself */
  return arg + 1;
}
static long do_illegal(long arg) { __asm__ volatile(".word 0xc0001073"); return arg; } /* csrrw x0, cycle, x0 */
static long do_sret(long arg) { __asm__ volatile("sret"); return arg; }
static long do_mret(long arg) { __asm__ volatile("mret"); return arg; }
static long do_wfi(long arg) { __asm__ volatile("wfi"); return arg; }
static long do_satp(long arg) { u64 v; __asm__ volatile("csrr %0, satp" : "=r"(v)); return (long)v + arg; }
static long do_sfence(long arg) { __asm__ volatile("sfence.vma"); return arg; }
static long read_sstatus(long arg) { (void)arg; return (long)csr_read(sstatus); }

static int traps(long mode, long (*fn)(long), u64 cause) {
  long n = trap_count;
  trap_expected = 1;
  run_in_mode(mode, fn, 0);
  trap_expected = 0;
  if (trap_count != n + 1) return 0;
  return last_trap.cause == cause;
}

extern char vtable[];
volatile u64 vec_hits;

int main(void) {
  puts_uart("traps\n");
  section("ecall from M, S and U");
  { u64 pc; EXPECT_TRAP(CAUSE_ECALL_M, __asm__ volatile("auipc %0, 0\n ecall" : "=r"(pc)));
    CHECK_EQ(last_trap.epc, pc + 4); CHECK_EQ(last_trap.tval, 0); }
  trap_expected = 1;
  { long n = trap_count;
    CHECK_EQ(run_in_mode(MODE_S, do_ecall, 41), 42);
    CHECK_EQ(trap_count, n + 1); CHECK_EQ(last_trap.cause, CAUSE_ECALL_S); CHECK_EQ(last_trap.from, MODE_S);
    CHECK_EQ(last_trap.epc, ecall_pc);
    CHECK_EQ(run_in_mode(MODE_U, do_ecall, 1), 2);
    CHECK_EQ(trap_count, n + 2); CHECK_EQ(last_trap.cause, CAUSE_ECALL_U); CHECK_EQ(last_trap.from, MODE_U); }
  trap_expected = 0;

  section("illegal instruction and ebreak");
  EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile(".word 0xc0001073"));
  CHECK(last_trap.tval == 0 || last_trap.tval == 0xc0001073UL);
  EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile(".word 0xffffffff"));   /* reserved (>32-bit) encoding space */
  EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile(".word 0x0000007f"));
  { u64 pc; EXPECT_TRAP(CAUSE_BREAKPOINT, __asm__ volatile(".option push\n .option norvc\n auipc %0, 0\n ebreak\n .option pop" : "=r"(pc)));
    CHECK_EQ(last_trap.epc, pc + 4);
    CHECK(last_trap.tval == 0 || last_trap.tval == pc + 4); }
  CHECK_EQ(traps(MODE_S, do_illegal, CAUSE_ILLEGAL), 1);
  CHECK_EQ(traps(MODE_U, do_sret, CAUSE_ILLEGAL), 1);
  CHECK_EQ(traps(MODE_S, do_mret, CAUSE_ILLEGAL), 1);
  CHECK_EQ(traps(MODE_U, do_satp, CAUSE_ILLEGAL), 1);

  section("misaligned loads and stores: done in hardware or trapped with the address");
  { static volatile u64 buf[2] = { 0x0706050403020100UL, 0x0f0e0d0c0b0a0908UL };
    u64 a = (u64)buf + 3, v = 0; long n = trap_count;
    trap_expected = 1;
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(a) : "memory");
    trap_expected = 0;
    if (trap_count == n) CHECK_EQ(v, 0x0a09080706050403UL);
    else { CHECK_EQ(last_trap.cause, CAUSE_MISALIGNED_LOAD); CHECK_EQ(last_trap.tval, a); }
    n = trap_count; trap_expected = 1;
    __asm__ volatile("sw %1, 0(%0)" :: "r"(a), "r"(0xaabbccddUL) : "memory");
    trap_expected = 0;
    if (trap_count == n) CHECK_EQ(buf[0], 0x07aabbccdd020100UL);
    else { CHECK_EQ(last_trap.cause, CAUSE_MISALIGNED_STORE); CHECK_EQ(last_trap.tval, a); } }

  section("medeleg sends S/U exceptions to S; M-mode exceptions stay in M");
  csr_write(stvec, (u64)strap_entry);
  csr_write(medeleg, (1UL << CAUSE_ILLEGAL) | (1UL << CAUSE_ECALL_U) | (1UL << CAUSE_BREAKPOINT));
  CHECK_EQ(traps(MODE_S, do_illegal, CAUSE_ILLEGAL), 1); CHECK_EQ(last_trap.by, MODE_S); CHECK_EQ(last_trap.from, MODE_S);
  CHECK_EQ(traps(MODE_U, do_illegal, CAUSE_ILLEGAL), 1); CHECK_EQ(last_trap.by, MODE_S); CHECK_EQ(last_trap.from, MODE_U);
  trap_expected = 1;
  { long n = trap_count; CHECK_EQ(run_in_mode(MODE_U, do_ecall, 5), 6);
    CHECK_EQ(trap_count, n + 1); CHECK_EQ(last_trap.by, MODE_S); CHECK_EQ(last_trap.cause, CAUSE_ECALL_U);
    CHECK_EQ(run_in_mode(MODE_S, do_ecall, 7), 8);   /* ecall from S not delegated */
    CHECK_EQ(last_trap.by, MODE_M); CHECK_EQ(last_trap.cause, CAUSE_ECALL_S); }
  trap_expected = 0;
  EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile(".word 0xc0001073"));
  CHECK_EQ(last_trap.by, MODE_M);
  CHECK(csr_read(medeleg) & (1UL << CAUSE_ILLEGAL));
  csr_set(medeleg, 1UL << CAUSE_ECALL_M);
  /* medeleg[11] is read-only zero; QEMU 7.x lets it be set (known deviation: tsxen only) */
  if (!qemu_version()) CHECK_EQ(csr_read(medeleg) & (1UL << CAUSE_ECALL_M), 0);
  csr_write(medeleg, 0);

  section("trap entry and xRET update the status stacks");
  csr_set(mstatus, MSTATUS_MIE);
  EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile("csrr t0, mstatus\n .word 0xc0001073\n csrr t1, mstatus" ::: "t0", "t1"));
  CHECK(csr_read(mstatus) & MSTATUS_MIE);          /* MIE went to MPIE on entry, came back on mret */
  CHECK(csr_read(mstatus) & MSTATUS_MPIE);         /* mret sets MPIE = 1 */
  CHECK_EQ(csr_read(mstatus) & MSTATUS_MPP, 0);    /* mret leaves MPP = U (the least privileged mode) */
  csr_clear(mstatus, MSTATUS_MIE);
  csr_set(mstatus, MSTATUS_SIE);
  { u64 s = (u64)run_in_mode(MODE_S, read_sstatus, 0);
    CHECK(s & MSTATUS_SIE); }
  csr_clear(mstatus, MSTATUS_SIE);

  section("TW, TSR, TVM");
  csr_set(mstatus, MSTATUS_TW);
  CHECK_EQ(traps(MODE_S, do_wfi, CAUSE_ILLEGAL), 1);
  csr_clear(mstatus, MSTATUS_TW);
  csr_set(mstatus, MSTATUS_TSR);
  CHECK_EQ(traps(MODE_S, do_sret, CAUSE_ILLEGAL), 1);
  csr_clear(mstatus, MSTATUS_TSR);
  csr_set(mstatus, MSTATUS_TVM);
  CHECK_EQ(traps(MODE_S, do_satp, CAUSE_ILLEGAL), 1);
  CHECK_EQ(traps(MODE_S, do_sfence, CAUSE_ILLEGAL), 1);
  csr_clear(mstatus, MSTATUS_TVM);
  { long n = trap_count; run_in_mode(MODE_S, do_satp, 0); run_in_mode(MODE_S, do_sfence, 0); CHECK_EQ(trap_count, n); }

  section("vectored mtvec: interrupts at base + 4 * cause, exceptions at base");
  { u64 old = csr_read(mtvec);
    csr_write(mtvec, (u64)vtable | 1);
    CHECK_EQ(csr_read(mtvec), (u64)vtable | 1);
    vec_hits = 0;
    csr_set(mie, 1UL << IRQ_SSI);
    csr_set(mip, 1UL << IRQ_SSI);                   /* pending, but MIE = 0: not taken */
    CHECK_EQ(vec_hits, 0);
    csr_set(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(vec_hits, 1 << IRQ_SSI);
    CHECK_EQ(csr_read(mip) & (1UL << IRQ_SSI), 0);
    vec_hits = 0;
    EXPECT_TRAP(CAUSE_ILLEGAL, __asm__ volatile(".word 0xc0001073"));
    CHECK_EQ(vec_hits, 1UL << 63);                 /* through entry 0 */
    csr_clear(mie, 1UL << IRQ_SSI);
    csr_write(mtvec, old); }
  return test_result();
}

/* The vector table: entry 1 (SSI) records bit 1 in vec_hits and clears mip.SSIP; entry 0
   (exceptions) records bit 63 and continues in the common handler; the rest go there too.
   t0/t1 are parked just below the M trap stack top (mscratch). */
__asm__(
  "  .text\n  .option push\n  .option norvc\n  .balign 256\n  .globl vtable\nvtable:\n"
  "  j vec_exc\n  j vec_ssi\n  j vec_bad\n  j vec_bad\n  j vec_bad\n  j vec_bad\n  j vec_bad\n  j vec_bad\n"
  "  j vec_bad\n  j vec_bad\n  j vec_bad\n  j vec_bad\n  .option pop\n"
  "vec_ssi:\n"
  "  csrrw sp, mscratch, sp\n  sd t0, -8(sp)\n  sd t1, -16(sp)\n"
  "  li t0, 2\n  csrc mip, t0\n"
  "  la t0, vec_hits\n  ld t1, 0(t0)\n  ori t1, t1, 2\n  sd t1, 0(t0)\n"
  "  ld t0, -8(sp)\n  ld t1, -16(sp)\n  csrrw sp, mscratch, sp\n  mret\n"
  "vec_exc:\n"
  "  csrrw sp, mscratch, sp\n  sd t0, -8(sp)\n  sd t1, -16(sp)\n"
  "  la t0, vec_hits\n  li t1, 1\n  slli t1, t1, 63\n  sd t1, 0(t0)\n"
  "  ld t0, -8(sp)\n  ld t1, -16(sp)\n  csrrw sp, mscratch, sp\n"
  "vec_bad:\n  j mtrap_entry\n"
);
