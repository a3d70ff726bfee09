/* SPDX-License-Identifier: GPL-2.0-only */
/* PMP: NAPOT and TOR regions, R/W/X checks for S and U, priority by entry index, no match
   means no access for S/U, M unaffected unless the entry is locked, and locked entries
   ignoring writes (including the TOR base in the previous pmpaddr).
   Spec: riscv-priv-20240411 "Physical Memory Protection", "Address Matching",
   "Locking and Privilege Mode", "Priority and Matching Logic". */
#include "test.h"

#define P_R 1
#define P_W 2
#define P_X 4
#define A_TOR (1 << 3)
#define A_NAPOT (3 << 3)
#define P_L 0x80

/* A = pages[0], B = pages[2]; pages[1] and pages[3] are plain RAM around B */
static u64 pages[4][512] __attribute__((aligned(4096)));
#define page_a pages[0]
#define page_b pages[2]
static unsigned int code_c[1024] __attribute__((aligned(4096)));

static u64 napot(u64 base, u64 size) { return (base >> 2) | ((size >> 3) - 1); }
static void pmp_cfg(u64 cfg0) { csr_write(pmpcfg0, cfg0); __asm__ volatile("sfence.vma" ::: "memory"); }

static long do_load(long a) { u64 v; __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(a) : "memory"); return (long)v; }
static long do_loadb(long a) { u64 v; __asm__ volatile("lbu %0, 0(%1)" : "=r"(v) : "r"(a) : "memory"); return (long)v; }
static long do_store(long a) { __asm__ volatile("sd %0, 0(%0)" :: "r"(a) : "memory"); return 0; }
static long do_exec(long a) { return ((long (*)(void))a)(); }

static long fault_of(long mode, long (*fn)(long), u64 a) {
  long n = trap_count;
  trap_expected = 1;
  if (fn == do_exec) trap_resume = (u64)lower_return;
  run_in_mode(mode, fn, (long)a);
  trap_expected = 0;
  trap_resume = 0;
  if (trap_count == n) return -1;
  if (last_trap.tval != a) { puts_uart("  tval "); puthex(last_trap.tval); puts_uart("\n"); return -2; }
  return (long)last_trap.cause;
}

int main(void) {
  puts_uart("pmp\n");
  u64 A = (u64)page_a, B = (u64)page_b, C = (u64)code_c;
  code_c[0] = 0x02a00513u;   /* addi a0, zero, 42 */
  code_c[1] = 0x00008067u;   /* ret */
  __asm__ volatile("fence.i" ::: "memory");

  section("NAPOT and TOR regions for S and U");
  /* 0: page A read-only   1: (TOR base = B)   2: TOR [B, B+4K) no access
     3: page C execute-only   4: RAM's 2 GiB window 0x8000_0000.. RWX (program, stack) */
  csr_write(pmpaddr0, napot(A, 4096));
  csr_write(pmpaddr1, B >> 2);
  csr_write(pmpaddr2, (B + 4096) >> 2);
  csr_write(pmpaddr3, napot(C, 4096));
  csr_write(pmpaddr4, napot(0x80000000UL, 0x80000000UL));
  pmp_cfg(((u64)(A_NAPOT | P_R) << 0) | ((u64)0 << 8) | ((u64)A_TOR << 16) | ((u64)(A_NAPOT | P_X) << 24) |
          ((u64)(A_NAPOT | P_R | P_W | P_X) << 32));
  CHECK_EQ(csr_read(pmpaddr2), (B + 4096) >> 2);
  page_a[0] = 0xa0a0;
  for (long m = MODE_U; m <= MODE_S; m++) {
    CHECK_EQ(fault_of(m, do_load, A), -1);
    CHECK_EQ(run_in_mode(m, do_load, (long)A), 0xa0a0);
    CHECK_EQ(fault_of(m, do_store, A + 8), CAUSE_STORE_ACCESS);
    CHECK_EQ(fault_of(m, do_exec, A), CAUSE_FETCH_ACCESS);
    CHECK_EQ(fault_of(m, do_load, B + 16), CAUSE_LOAD_ACCESS);
    CHECK_EQ(fault_of(m, do_store, B + 4088), CAUSE_STORE_ACCESS);
    CHECK_EQ(fault_of(m, do_load, B - 8), -1);              /* just below the TOR region */
    CHECK_EQ(fault_of(m, do_load, B + 4096), -1);           /* the TOR top is exclusive */
    CHECK_EQ(run_in_mode(m, do_exec, (long)C), 42);
    CHECK_EQ(fault_of(m, do_load, C), CAUSE_LOAD_ACCESS);
    CHECK_EQ(fault_of(m, do_loadb, UART_BASE + 5), CAUSE_LOAD_ACCESS);   /* no entry matches */
  }
  CHECK_EQ(page_a[1], 0);

  section("M-mode ignores unlocked entries");
  { long n = trap_count; page_b[2] = 0xbbbb; page_a[1] = 1; CHECK_EQ(page_b[2], 0xbbbb); CHECK_EQ(page_a[1], 1); CHECK_EQ(trap_count, n); }

  section("the lowest-numbered matching entry wins");
  /* entry 0 now gives B read/write and outranks entry 2 (TOR, no access) over the same bytes */
  csr_write(pmpaddr0, napot(B, 4096));
  pmp_cfg(((u64)(A_NAPOT | P_R | P_W) << 0) | ((u64)A_TOR << 16) | ((u64)(A_NAPOT | P_X) << 24) |
          ((u64)(A_NAPOT | P_R | P_W | P_X) << 32));
  CHECK_EQ(fault_of(MODE_U, do_load, B + 16), -1);

  section("a locked entry binds M-mode and ignores writes");
  csr_write(pmpaddr0, napot(A, 4096));
  pmp_cfg(((u64)(A_NAPOT | P_R) << 0) | ((u64)0 << 8) | ((u64)(A_TOR | P_L) << 16) | ((u64)(A_NAPOT | P_X) << 24) |
          ((u64)(A_NAPOT | P_R | P_W | P_X) << 32));
  { long n = trap_count; u64 v;
    trap_expected = 1;
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(B + 24) : "memory");
    trap_expected = 0;
    CHECK_EQ(trap_count, n + 1);
    CHECK_EQ(last_trap.cause, CAUSE_LOAD_ACCESS);
    CHECK_EQ(last_trap.tval, B + 24); (void)v; }
  csr_write(pmpaddr2, 0);                                    /* locked: ignored */
  CHECK_EQ(csr_read(pmpaddr2), (B + 4096) >> 2);
  csr_write(pmpaddr1, 0);                                    /* TOR base of a locked TOR entry: ignored */
  CHECK_EQ(csr_read(pmpaddr1), B >> 2);
  csr_clear(pmpcfg0, (u64)P_L << 16);                        /* cannot unlock */
  CHECK_EQ((csr_read(pmpcfg0) >> 16) & 0xff, A_TOR | P_L);
  return test_result();
}
