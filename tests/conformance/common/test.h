/* SPDX-License-Identifier: GPL-2.0-only */
/* The conformance programs' tiny runtime: checks that print through the ns16550a UART and
   report through the SiFive test device (0x5555 pass, 0x3333 | first failing line << 16),
   CSR accessors, and trap recording (see crt.S and lib.c). */
#ifndef TEST_H
#define TEST_H

#define MAGIC_RETURN 0x7e57
#define UART_BASE 0x10000000UL
#define TEST_BASE 0x100000UL

#define MODE_U 0
#define MODE_S 1
#define MODE_M 3

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_ECALL_M 11
#define CAUSE_FETCH_PAGE 12
#define CAUSE_LOAD_PAGE 13
#define CAUSE_STORE_PAGE 15
#define IRQ_BIT (1UL << 63)
#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9

#define MSTATUS_SIE (1UL << 1)
#define MSTATUS_MIE (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP (1UL << 8)
#define MSTATUS_MPP (3UL << 11)
#define MSTATUS_FS (3UL << 13)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM (1UL << 18)
#define MSTATUS_MXR (1UL << 19)
#define MSTATUS_TVM (1UL << 20)
#define MSTATUS_TW (1UL << 21)
#define MSTATUS_TSR (1UL << 22)

#ifndef __ASSEMBLER__
typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;

#define csr_read(csr) ({ u64 __v; __asm__ volatile("csrr %0, " #csr : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" :: "r"((u64)(v)) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" :: "r"((u64)(v)) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" :: "r"((u64)(v)) : "memory")
#define csr_swap(csr, v) ({ u64 __v; __asm__ volatile("csrrw %0, " #csr ", %1" : "=r"(__v) : "r"((u64)(v)) : "memory"); __v; })

struct trap_record {
  u64 cause, tval, epc;
  u64 by;       /* MODE_M or MODE_S: which handler took it */
  u64 from;     /* privilege the trap came from (MPP / SPP) */
};
extern volatile struct trap_record last_trap;
extern volatile long trap_count;
/* Set before an instruction expected to trap: the handler resumes here instead of at epc + len. */
extern volatile u64 trap_resume;
/* Nonzero while a test expects an exception; an exception without it fails the program. */
extern volatile int trap_expected;
/* Called for interrupts (cause without IRQ_BIT); must quiet the source. */
extern void (*volatile irq_hook)(u64 cause, u64 by);

void putc_uart(int c);
void puts_uart(const char *s);
void puthex(u64 v);
void putdec(long v);
void exit(int code) __attribute__((noreturn));
long run_in_mode(long mode, long (*fn)(long), long arg);
void strap_entry(void);
void lower_return(void);
void mtrap_entry(void);
void check_failed(int line, const char *expr);
void check_eq_failed(int line, const char *expr, u64 got, u64 want);
int test_result(void);
void section(const char *name);
u64 qemu_version(void);

#define CHECK(c) do { if (!(c)) check_failed(__LINE__, #c); } while (0)
#define CHECK_EQ(a, b) do { u64 _a = (u64)(a), _b = (u64)(b); if (_a != _b) check_eq_failed(__LINE__, #a, _a, _b); } while (0)

/* Run `stmt`, expecting exactly one exception with cause `c`; fails the program otherwise. */
#define EXPECT_TRAP(c, stmt) do { long _n = trap_count; trap_expected = 1; stmt; trap_expected = 0; \
  if (trap_count != _n + 1) check_failed(__LINE__, "trap taken: " #stmt); \
  else CHECK_EQ(last_trap.cause, (c)); } while (0)
#define EXPECT_NO_TRAP(stmt) do { long _n = trap_count; trap_expected = 1; stmt; trap_expected = 0; \
  if (trap_count != _n) { check_failed(__LINE__, "no trap: " #stmt); puts_uart("  cause "); puthex(last_trap.cause); puts_uart("\n"); } } while (0)
#endif
#endif
