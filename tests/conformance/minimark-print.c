/* SPDX-License-Identifier: GPL-2.0-only */
/* A second bare-metal wrapper around the team's minimark (../shared/peers/cpu-bench): prints
   the checksum through the ns16550a UART and powers off, so QEMU's answer can be read from
   its console and compared with result_slot of the cpu-bench image run on tsxen. */
#include <stdint.h>
uint64_t minimark_run(long iters);
static void putc_(int c) {
  volatile unsigned char *u = (volatile unsigned char *)0x10000000UL;
  while ((u[5] & 0x20) == 0) {}
  u[0] = (unsigned char)c;
}
static void puts_(const char *s) { while (*s) putc_(*s++); }
void bare_main(void) {
  uint64_t r = minimark_run(ITERS);
  puts_("minimark result=");
  for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(r >> i) & 15]);
  putc_('\n');
  *(volatile uint32_t *)0x100000UL = 0x5555;
  for (;;) {}
}
