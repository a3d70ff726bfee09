/* SPDX-License-Identifier: GPL-2.0-only */
/* Two harts (run with -smp 2): AMOs and LR/SC loops racing on shared counters (no update may
   be lost: an SC must fail once another hart has stored to the reservation set), message
   passing with fences, and inter-processor interrupts through the ACLINT's MSIP registers.
   Spec: riscv-unpriv-20240411 "A Extension for Atomic Instructions" (LR/SC reservation
   rules), "RVWMO Memory Consistency Model"; ACLINT MSWI as on QEMU virt. */
#include "test.h"

#define NHARTS 2
#define ROUNDS 20000
#define CLINT 0x2000000UL
#define MSIP(h) (*(volatile u32 *)(CLINT + 4 * (h)))

extern void (*volatile secondary_entry)(long hartid);

static volatile u32 amo_counter;
static volatile u64 lrsc_counter;
static volatile u64 plain_mailbox[4];
static volatile u32 mailbox_flag;
static volatile u32 started, finished;
static volatile u64 ipi_seen;

static void work(void) {
  for (int i = 0; i < ROUNDS; i++) {
    __asm__ volatile("amoadd.w zero, %1, (%0)" :: "r"(&amo_counter), "r"(1) : "memory");
    __asm__ volatile("1: lr.d t0, (%0)\n addi t0, t0, 1\n sc.d t1, t0, (%0)\n bnez t1, 1b" :: "r"(&lrsc_counter) : "t0", "t1", "memory");
  }
}

static void worker(long hartid) {
  __asm__ volatile("amoadd.w zero, %1, (%0)" :: "r"(&started), "r"(1) : "memory");
  work();
  /* publish a message: data first, then the flag, ordered by a fence */
  plain_mailbox[0] = 0x1111 * (u64)hartid; plain_mailbox[1] = 0x2222; plain_mailbox[2] = 0x3333;
  __asm__ volatile("fence w, w" ::: "memory");
  mailbox_flag = 1;
  MSIP(0) = 1;                                        /* and poke hart 0 */
  __asm__ volatile("amoadd.w zero, %1, (%0)" :: "r"(&finished), "r"(1) : "memory");
  for (;;) __asm__ volatile("wfi");
}

/* Bounded by time (10 s at 10 MHz), not iterations: the other hart may be descheduled. */
static int spin_until(volatile u32 *p, u32 v) {
  u64 end = csr_read(time) + 100000000UL;
  while (csr_read(time) < end) if (*p >= v) return 1;
  return 0;
}

int main(void) {
  puts_uart("smp\n");
  section("secondary hart starts on an IPI");
  secondary_entry = worker;
  __asm__ volatile("fence rw, rw" ::: "memory");
  for (int h = 1; h < NHARTS; h++) MSIP(h) = 1;
  CHECK(spin_until(&started, NHARTS - 1));

  section("AMOs and LR/SC from both harts: no lost updates");
  work();
  CHECK(spin_until(&finished, NHARTS - 1));
  CHECK_EQ(amo_counter, NHARTS * ROUNDS);
  CHECK_EQ(lrsc_counter, NHARTS * ROUNDS);

  section("message passing: the flag implies the data");
  CHECK_EQ(mailbox_flag, 1);
  __asm__ volatile("fence r, r" ::: "memory");
  CHECK_EQ(plain_mailbox[0], 0x1111);
  CHECK_EQ(plain_mailbox[2], 0x3333);

  section("IPI from hart 1 is pending at hart 0 and clears through MSIP");
  CHECK(csr_read(mip) & (1UL << IRQ_MSI));
  MSIP(0) = 0;
  CHECK_EQ(csr_read(mip) & (1UL << IRQ_MSI), 0);
  return test_result();
}
