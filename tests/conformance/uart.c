/* SPDX-License-Identifier: GPL-2.0-only */
/* The ns16550a UART at 0x1000_0000 as a driver probes it (the checks Linux's 8250 autoconfig
   makes, and more): scratch, divisor latch, FIFO bits in IIR, loopback data and modem lines,
   interrupt identification (THRE, received data, line status) and overrun. Run on QEMU this
   checks tsxen's model against QEMU's. Timing differs (QEMU paces the line), so every wait for
   received data polls LSR with a bound. While MCR.LOOP is set our own console output would
   loop back too, so those parts print nothing (a failure still exits with its line number).
   PC16550D data sheet register definitions. */
#include "test.h"

#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

static volatile unsigned char *const U = (volatile unsigned char *)UART_BASE;
static unsigned rd(int r) { return U[r]; }
static void wr(int r, unsigned v) { U[r] = (unsigned char)v; }
/* Waits are bounded by time (QEMU paces the line by the divisor, and its timers may run late
   on a loaded host): 2 s of the 10 MHz timebase. */
static int wait_lsr(unsigned bits) {
  for (u64 end = csr_read(time) + 20000000UL; csr_read(time) < end;) if ((rd(LSR) & bits) == bits) return 1;
  return 0;
}
static void pause_ticks(u64 ticks) {
  for (u64 end = csr_read(time) + ticks; csr_read(time) < end;) for (volatile int i = 0; i < 256; i++) {}
}

int main(void) {
  puts_uart("uart\n");
  wait_lsr(0x60);                                   /* our own output drained */
  section("scratch and divisor latch");
  wr(SCR, 0xa5); CHECK_EQ(rd(SCR), 0xa5);
  wr(SCR, 0x5a); CHECK_EQ(rd(SCR), 0x5a);
  wr(IER, 0);
  wr(LCR, 0x83);
  wr(DLL, 0x0c); wr(DLM, 0x01);
  CHECK_EQ(rd(DLL), 0x0c); CHECK_EQ(rd(DLM), 0x01);
  wr(LCR, 0x03);
  CHECK_EQ(rd(LCR), 0x03);
  CHECK_EQ(rd(IER), 0);

  section("FIFO enable shows in IIR[7:6]; nothing pending reads IIR[0] = 1");
  wr(FCR, 0x07);
  CHECK_EQ(rd(IIR), 0xc1);
  wr(FCR, 0x00);
  CHECK_EQ(rd(IIR), 0x01);
  CHECK_EQ(rd(LSR) & 0x60, 0x60);                   /* THRE and TEMT when idle */

  section("loopback: modem lines, data in order, IIR (THRE, received data), overrun");
  wait_lsr(0x60);
  /* modem lines mirror MCR (Linux's probe expects MSR[7:4] = 0x9 for RTS|OUT2) */
  wr(MCR, 0x10 | 0x0a);
  CHECK_EQ(rd(MSR) & 0xf0, 0x90);
  wr(MCR, 0x1f);
  CHECK_EQ(rd(MSR) & 0xf0, 0xf0);
  wr(MCR, 0x10);
  CHECK_EQ(rd(MSR) & 0xf0, 0x00);
  rd(MSR);

  /* data through the FIFO, in order */
  wr(FCR, 0x07);
  wr(THR, 'A'); wr(THR, 'B'); wr(THR, 'C');
  { char got[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < 3; i++) { CHECK(wait_lsr(0x01)); got[i] = (char)rd(RBR); }
    CHECK_EQ(got[0], 'A'); CHECK_EQ(got[1], 'B'); CHECK_EQ(got[2], 'C');
    CHECK_EQ(rd(LSR) & 0x01, 0); }

  /* interrupt identification: THRE, then received data over THRE */
  wait_lsr(0x60);
  wr(IER, 0x02);
  CHECK_EQ(rd(IIR) & 0x0f, 0x02);
  CHECK_EQ(rd(IIR) & 0x0f, 0x01);                   /* reading IIR cleared THRE */
  wr(IER, 0x03);
  wr(THR, 'x');
  CHECK(wait_lsr(0x01));
  CHECK_EQ(rd(IIR) & 0x0f, 0x04);                   /* trigger level 1: data available */
  CHECK_EQ(rd(RBR), 'x');
  wait_lsr(0x60);
  CHECK_EQ(rd(IIR) & 0x0f, 0x02);                   /* the byte's THRE is still there */
  wr(IER, 0);

  /* overrun without FIFO: the new byte replaces the unread one ("thereby destroying the
     previous character"), OE is reported once. Reading LSR clears OE, so wait by spinning. */
  wr(FCR, 0x00);
  wr(THR, '1');
  CHECK(wait_lsr(0x01));
  wait_lsr(0x60);
  wr(THR, '2');
  pause_ticks(200000);                              /* 20 ms: the byte has arrived by then */
  unsigned lsr1 = rd(LSR), lsr2 = rd(LSR), rbr = rd(RBR);
  wr(MCR, 0x00);
  CHECK_EQ(lsr1 & 0x03, 0x03);                      /* DR and OE */
  CHECK_EQ(lsr2 & 0x02, 0);                         /* OE clears on read */
  CHECK_EQ(rbr, '2');
  wr(FCR, 0x07);
  return test_result();
}
