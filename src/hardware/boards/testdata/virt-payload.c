// SPDX-License-Identifier: GPL-2.0-only
// An S-mode payload for the virt board's OpenSBI test: everything it does goes through a
// board device, either directly or through OpenSBI's drivers for them.
//   - prints through the SBI console (OpenSBI's uart8250 driver -> our ns16550a)
//   - PLIC: routes the UART's THR-empty interrupt to hart 0's S context, waits for sip.SEIP,
//     claims and completes it
//   - HSM hart_start of hart 1 (OpenSBI wakes it with an ACLINT MSWI IPI)
//   - SBI set_timer, waits for sip.STIP
//   - reads the Goldfish RTC
//   - SRST shutdown (OpenSBI's sifive_test driver -> the test device, 0x5555)
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define PLIC 0x0c000000UL
#define UART 0x10000000UL
#define RTC 0x00101000UL
#define SIE_SEIE (1UL << 9)
#define SIE_STIE (1UL << 5)

struct sbiret { long error; long value; };

static struct sbiret sbi(long eid, long fid, long a0, long a1, long a2) {
  register long r0 asm("a0") = a0;
  register long r1 asm("a1") = a1;
  register long r2 asm("a2") = a2;
  register long r6 asm("a6") = fid;
  register long r7 asm("a7") = eid;
  asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
  return (struct sbiret){ r0, r1 };
}

static void out(const char *s) {
  while (*s) sbi(1, 0, *s++, 0, 0); // legacy console putchar (OpenSBI 1.1 has no DBCN)
}

static void outhex(u64 v) {
  char b[19];
  b[0] = '0';
  b[1] = 'x';
  for (int i = 0; i < 16; i++) b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
  b[18] = 0;
  out(b);
}

static volatile u32 *w32(u64 a) { return (volatile u32 *)a; }
static volatile u8 *w8(u64 a) { return (volatile u8 *)a; }
static u64 sip(void) { u64 v; asm volatile("csrr %0, sip" : "=r"(v)); return v; }
static u64 rdtime(void) { u64 v; asm volatile("rdtime %0" : "=r"(v)); return v; }

volatile int hart1_up;
void _start(void);

void payload_main(u64 hartid) {
  if (hartid != 0) {
    hart1_up = 1;
    for (;;) asm volatile("wfi");
  }
  out("payload: hart 0 in S-mode\n");

  // PLIC: source 10 (UART) at priority 1, enabled for context 1 (hart 0, S), threshold 0.
  *w32(PLIC + 4 * 10) = 1;
  *w32(PLIC + 0x2000 + 0x80 * 1) = 1u << 10;
  *w32(PLIC + 0x200000 + 0x1000 * 1) = 0;
  asm volatile("csrs sie, %0" :: "r"(SIE_SEIE));
  *w8(UART + 1) = 0x02; // IER: THR empty
  long spins = 0;
  while (!(sip() & SIE_SEIE) && ++spins < 1000000) {}
  u32 claim = *w32(PLIC + 0x200000 + 0x1000 * 1 + 4);
  *w8(UART + 1) = 0;
  *w32(PLIC + 0x200000 + 0x1000 * 1 + 4) = claim;
  out("plic claim ");
  outhex(claim);
  out(sip() & SIE_SEIE ? " seip still set\n" : " seip clear\n");

  struct sbiret r = sbi(0x48534D, 0, 1, (long)&_start, 0); // HSM hart_start(1)
  if (r.error == 0) {
    spins = 0;
    while (!hart1_up && ++spins < 10000000) {}
    out(hart1_up ? "hart 1 up\n" : "hart 1 did not start\n");
  } else {
    out("hart_start(1): error ");
    outhex(r.error);
    out("\n");
  }

  asm volatile("csrs sie, %0" :: "r"(SIE_STIE));
  u64 t0 = rdtime();
  sbi(0x54494D45, 0, t0 + 10000, 0, 0); // TIME set_timer: 1 ms ahead
  while (!(sip() & SIE_STIE)) asm volatile("wfi");
  out("timer fired after ");
  outhex(rdtime() - t0 >= 10000 ? 1 : 0);
  out("\n");

  u32 lo = *w32(RTC + 0), hi = *w32(RTC + 4);
  out("rtc ");
  outhex(((u64)hi << 32) | lo);
  out("\n");

  sbi(0x53525354, 0, 0, 0, 0); // SRST: shutdown
  out("still running after shutdown\n");
  for (;;) asm volatile("wfi");
}

__attribute__((naked, section(".text.entry"))) void _start(void) {
  asm volatile(
    "la sp, stack_top\n"
    "slli t0, a0, 12\n" // 4 KiB of stack per hart
    "sub sp, sp, t0\n"
    "j payload_main\n");
}
