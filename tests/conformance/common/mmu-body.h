/* SPDX-License-Identifier: GPL-2.0-only */
/* The page-based virtual memory checks shared by mmu-sv39.c, mmu-sv48.c and mmu-sv57.c
   (which define SV = 39, 48 or 57 first). The test builds its own page tables: an identity gigapage for the
   program (S-only, or U for the U-mode checks) and test mappings under VA 0x4000_0000.
   Page faults go to M (nothing delegated); fetch faults resume at lower_return.
   Spec: riscv-priv-20240411 "Supervisor-Level ISA" / "Sv39: Page-Based 39-bit Virtual-Memory
   System", "Sv48: Page-Based 48-bit Virtual-Memory System", "Sv57: Page-Based 57-bit
   Virtual-Memory System", "Virtual Address Translation
   Process", "Supervisor Address Translation and Protection (satp) Register". */
#include "test.h"

#if SV == 39
#define LEVELS 3
#define SATP_MODE 8UL
#define VA_BITS 39
#elif SV == 48
#define LEVELS 4
#define SATP_MODE 9UL
#define VA_BITS 48
#elif SV == 57
#define LEVELS 5
#define SATP_MODE 10UL
#define VA_BITS 57
#endif

#define PTE_V 1UL
#define PTE_R 2UL
#define PTE_W 4UL
#define PTE_X 8UL
#define PTE_U 16UL
#define PTE_G 32UL
#define PTE_A 64UL
#define PTE_D 128UL
#define PG 4096UL
#define TVA 0x40000000UL        /* test mappings live in the gigabyte at 1 GiB */

static u64 pool[32][512] __attribute__((aligned(4096)));
static int pool_used;
static u64 page_a[512] __attribute__((aligned(4096)));
static u64 page_b[512] __attribute__((aligned(4096)));
static unsigned int code_page[1024] __attribute__((aligned(4096)));
static u64 *root_s, *root_u;

static u64 *new_table(void) {
  u64 *t = pool[pool_used++];
  for (int i = 0; i < 512; i++) t[i] = 0;
  return t;
}
static u64 pte_to(u64 pa, u64 flags) { return ((pa >> 12) << 10) | flags; }
static unsigned vpn(u64 va, int level) { return (va >> (12 + 9 * level)) & 511; }

/* Install a leaf for `va` at `level` (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB); returns the PTE's address. */
static volatile u64 *map(u64 *root, u64 va, u64 pa, int level, u64 flags) {
  u64 *t = root;
  for (int l = LEVELS - 1; l > level; l--) {
    u64 e = t[vpn(va, l)];
    if (!(e & PTE_V)) { u64 *n = new_table(); t[vpn(va, l)] = pte_to((u64)n, PTE_V); t = n; }
    else t = (u64 *)((e >> 10) << 12);
  }
  t[vpn(va, level)] = pte_to(pa, flags);
  return &t[vpn(va, level)];
}

static void use(u64 *root) {
  csr_write(satp, (SATP_MODE << 60) | ((u64)root >> 12));
  __asm__ volatile("sfence.vma" ::: "memory");
}

static long s_load(long va) { u64 v; __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(va) : "memory"); return (long)v; }
static long s_store(long va) { __asm__ volatile("sd %0, 0(%0)" :: "r"(va) : "memory"); return 0; }
static long s_exec(long va) { return ((long (*)(void))va)(); }
static long s_sfence(long va) { (void)va; __asm__ volatile("sfence.vma" ::: "memory"); return 0; }

/* Run fn(va) in `mode`; return the exception cause it raised, or -1 if none. */
static long fault_of(long mode, long (*fn)(long), u64 va) {
  long n = trap_count;
  trap_expected = 1;
  if (fn == s_exec) trap_resume = (u64)lower_return;
  run_in_mode(mode, fn, (long)va);
  trap_expected = 0;
  trap_resume = 0;
  if (trap_count == n) return -1;
  if (last_trap.tval != va) { puts_uart("  tval "); puthex(last_trap.tval); puts_uart(" != va "); puthex(va); puts_uart("\n"); return -2; }
  return (long)last_trap.cause;
}

static void setup(void) {
  root_s = new_table();
  root_u = new_table();
  /* identity map for the program: the 1 GiB page containing 0x8000_0000 */
  map(root_s, 0x80000000UL, 0x80000000UL, 2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
  map(root_u, 0x80000000UL, 0x80000000UL, 2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D);
}

#define RWAD (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

static void test_basic(void) {
  section("4 KiB and 2 MiB leaves translate; sfence.vma picks up a changed PTE");
  volatile u64 *pte = map(root_s, TVA, (u64)page_a, 0, RWAD);
  use(root_s);
  page_a[3] = 0x1111;
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 24), -1);
  CHECK_EQ(run_in_mode(MODE_S, s_load, TVA + 24), 0x1111);
  run_in_mode(MODE_S, s_store, TVA + 8);
  CHECK_EQ(page_a[1], TVA + 8);
  *pte = pte_to((u64)page_b, RWAD);
  page_b[3] = 0x2222;
  run_in_mode(MODE_S, s_sfence, 0);
  CHECK_EQ(run_in_mode(MODE_S, s_load, TVA + 24), 0x2222);
  /* a 2 MiB page onto a 2 MiB-aligned physical region (inside RAM at +4 MiB) */
  map(root_s, TVA + 0x200000, 0x80400000UL, 1, RWAD);
  __asm__ volatile("sfence.vma" ::: "memory");
  *(volatile u64 *)(0x80400000UL + 0x12340) = 0x3333;
  CHECK_EQ(run_in_mode(MODE_S, s_load, TVA + 0x200000 + 0x12340), 0x3333);
  /* a misaligned superpage (PPN[0] != 0) is a page fault */
  map(root_s, TVA + 0x400000, 0x80401000UL, 1, RWAD);
  __asm__ volatile("sfence.vma" ::: "memory");
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 0x400000), CAUSE_LOAD_PAGE);
}

static void test_permissions(void) {
  section("R/W/X permissions, reserved encodings, invalid PTEs");
  map(root_s, TVA + 1 * PG, (u64)page_a, 0, PTE_V | PTE_R | PTE_A | PTE_D);               /* read-only */
  map(root_s, TVA + 2 * PG, (u64)page_a, 0, PTE_V | PTE_X | PTE_A);                       /* execute-only */
  map(root_s, TVA + 3 * PG, (u64)page_a, 0, PTE_V | PTE_W | PTE_A | PTE_D);               /* W without R: reserved */
  map(root_s, TVA + 4 * PG, (u64)page_a, 0, PTE_R | PTE_W | PTE_A | PTE_D);               /* V = 0 */
  map(root_s, TVA + 5 * PG, (u64)code_page, 0, PTE_V | PTE_R | PTE_X | PTE_A);            /* code */
  map(root_s, TVA + 6 * PG, (u64)code_page, 0, PTE_V | PTE_R | PTE_A);                    /* same code, no X */
  code_page[0] = 0x07b00513u;   /* addi a0, zero, 123 */
  code_page[1] = 0x00008067u;   /* jalr zero, 0(ra) */
  __asm__ volatile("fence.i\n sfence.vma" ::: "memory");
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 1 * PG), -1);
  CHECK_EQ(fault_of(MODE_S, s_store, TVA + 1 * PG), CAUSE_STORE_PAGE);
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 2 * PG), CAUSE_LOAD_PAGE);
  csr_set(mstatus, MSTATUS_MXR);           /* make executable readable */
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 2 * PG), -1);
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 4 * PG), CAUSE_LOAD_PAGE); /* MXR does not help invalid PTEs */
  csr_clear(mstatus, MSTATUS_MXR);
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 3 * PG), CAUSE_LOAD_PAGE);
  CHECK_EQ(fault_of(MODE_S, s_store, TVA + 3 * PG), CAUSE_STORE_PAGE);
  CHECK_EQ(fault_of(MODE_S, s_store, TVA + 4 * PG), CAUSE_STORE_PAGE);
  CHECK_EQ(run_in_mode(MODE_S, s_exec, TVA + 5 * PG), 123);
  CHECK_EQ(fault_of(MODE_S, s_exec, TVA + 6 * PG), CAUSE_FETCH_PAGE);
  CHECK_EQ(fault_of(MODE_S, s_exec, TVA + 1 * PG), CAUSE_FETCH_PAGE);
  CHECK_EQ(fault_of(MODE_S, s_exec, TVA + 4 * PG), CAUSE_FETCH_PAGE);
  /* a non-leaf PTE at the last level is a page fault */
  { volatile u64 *pte = map(root_s, TVA + 7 * PG, (u64)page_a, 0, PTE_V);
    (void)pte; __asm__ volatile("sfence.vma" ::: "memory");
    CHECK_EQ(fault_of(MODE_S, s_load, TVA + 7 * PG), CAUSE_LOAD_PAGE); }
}

static void test_user(void) {
  section("U pages: S needs SUM for data and may never execute them; U needs the U bit");
  map(root_s, TVA + 8 * PG, (u64)page_a, 0, RWAD | PTE_U);
  map(root_s, TVA + 9 * PG, (u64)code_page, 0, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A);
  __asm__ volatile("sfence.vma" ::: "memory");
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 8 * PG), CAUSE_LOAD_PAGE);
  CHECK_EQ(fault_of(MODE_S, s_store, TVA + 8 * PG), CAUSE_STORE_PAGE);
  csr_set(mstatus, MSTATUS_SUM);
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 8 * PG), -1);
  CHECK_EQ(fault_of(MODE_S, s_store, TVA + 8 * PG), -1);
  CHECK_EQ(fault_of(MODE_S, s_exec, TVA + 9 * PG), CAUSE_FETCH_PAGE);
  csr_clear(mstatus, MSTATUS_SUM);
  /* U mode runs on root_u (identity gigapage with U set) */
  map(root_u, TVA, (u64)page_a, 0, RWAD);                                     /* no U */
  map(root_u, TVA + 1 * PG, (u64)page_a, 0, RWAD | PTE_U);
  map(root_u, TVA + 2 * PG, (u64)code_page, 0, PTE_V | PTE_X | PTE_U | PTE_A);
  use(root_u);
  CHECK_EQ(fault_of(MODE_U, s_load, TVA), CAUSE_LOAD_PAGE);
  CHECK_EQ(fault_of(MODE_U, s_store, TVA), CAUSE_STORE_PAGE);
  CHECK_EQ(fault_of(MODE_U, s_load, TVA + 1 * PG), -1);
  CHECK_EQ(fault_of(MODE_U, s_store, TVA + 1 * PG), -1);
  CHECK_EQ(run_in_mode(MODE_U, s_exec, TVA + 2 * PG), 123);
  use(root_s);
}

static void test_mprv_and_canonical(void) {
  section("MPRV translates M-mode loads; non-canonical addresses fault");
  page_a[5] = 0x5555;
  map(root_s, TVA + 10 * PG, (u64)page_a, 0, RWAD);
  __asm__ volatile("sfence.vma" ::: "memory");
  { u64 v, mpp = (u64)MODE_S << 11;
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, mpp | MSTATUS_MPRV);
    __asm__ volatile("ld %0, 40(%1)" : "=r"(v) : "r"(TVA + 10 * PG) : "memory");
    csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_MPP);
    CHECK_EQ(v, 0x5555); }
  /* bits 63:VA_BITS must all equal bit VA_BITS-1 */
  { u64 bad = (1UL << VA_BITS) | (TVA + 10 * PG);
    CHECK_EQ(fault_of(MODE_S, s_load, bad), CAUSE_LOAD_PAGE);
    CHECK_EQ(fault_of(MODE_S, s_store, bad), CAUSE_STORE_PAGE); }
  /* a high (negative) canonical address works when mapped */
  { u64 hi = ~0UL << (VA_BITS - 1);
    map(root_s, hi, (u64)page_a, 0, RWAD);
    __asm__ volatile("sfence.vma" ::: "memory");
    CHECK_EQ(run_in_mode(MODE_S, s_load, hi + 40), 0x5555); }
}

/* A/D: Spec: riscv-priv-20240411 "Virtual Address Translation Process" step 7 and the Svade /
   Svadu text: with A = 0 (or a store with D = 0) the implementation either raises the page
   fault (Svade) or sets the bits in the PTE itself. Both are allowed; whichever happens must
   happen exactly, and a load must never set D. */
static void test_ad(void) {
  section("A/D bits: fault (Svade) or hardware update (Svadu), never D on a load");
  volatile u64 *p = map(root_s, TVA + 11 * PG, (u64)page_a, 0, PTE_V | PTE_R | PTE_W);
  __asm__ volatile("sfence.vma" ::: "memory");
  long c = fault_of(MODE_S, s_load, TVA + 11 * PG);
  if (c == -1) { CHECK((*p & PTE_A) != 0); CHECK_EQ(*p & PTE_D, 0); puts_uart("  (A updated by hardware)\n"); }
  else CHECK_EQ(c, CAUSE_LOAD_PAGE);
  *p = pte_to((u64)page_a, PTE_V | PTE_R | PTE_W | PTE_A);
  __asm__ volatile("sfence.vma" ::: "memory");
  CHECK_EQ(fault_of(MODE_S, s_load, TVA + 11 * PG), -1);
  CHECK_EQ(*p & PTE_D, 0);
  c = fault_of(MODE_S, s_store, TVA + 11 * PG);
  if (c == -1) { CHECK((*p & PTE_D) != 0); puts_uart("  (D updated by hardware)\n"); }
  else CHECK_EQ(c, CAUSE_STORE_PAGE);
  /* store to a page with neither bit: both get set, or a store page fault */
  *p = pte_to((u64)page_a, PTE_V | PTE_R | PTE_W);
  __asm__ volatile("sfence.vma" ::: "memory");
  c = fault_of(MODE_S, s_store, TVA + 11 * PG);
  if (c == -1) CHECK_EQ(*p & (PTE_A | PTE_D), PTE_A | PTE_D);
  else CHECK_EQ(c, CAUSE_STORE_PAGE);
}

static void test_satp(void) {
  section("satp: an unsupported MODE leaves the register unchanged; Bare turns translation off");
  use(root_s);
  u64 before = csr_read(satp);
  CHECK_EQ(before >> 60, SATP_MODE);
  csr_write(satp, (13UL << 60) | 5);       /* MODE 13: reserved */
  CHECK_EQ(csr_read(satp), before);
  csr_write(satp, 0);
  CHECK_EQ(csr_read(satp), 0);
  page_a[0] = 0x7777;
  CHECK_EQ(run_in_mode(MODE_S, s_load, (long)page_a), 0x7777);   /* physical again */
}

int main(void) {
  puts_uart(SV == 39 ? "mmu-sv39\n" : SV == 48 ? "mmu-sv48\n" : "mmu-sv57\n");
  setup();
  test_basic();
  test_permissions();
  test_user();
  test_mprv_and_canonical();
  test_ad();
#if SV >= 48
  section("Sv48/Sv57: a 512 GiB leaf (level 3)");
  map(root_s, 0x8000000000UL, 0, 3, RWAD);  /* VA 512 GiB -> PA 0 */
  __asm__ volatile("sfence.vma" ::: "memory");
  page_a[2] = 0x4848;
  CHECK_EQ(run_in_mode(MODE_S, s_load, 0x8000000000UL + (u64)page_a + 16), 0x4848);
#endif
  test_satp();
  return test_result();
}
