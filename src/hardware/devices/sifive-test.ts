// SPDX-License-Identifier: GPL-2.0-only
// The SiFive test/finisher device of QEMU's virt board (compatible "sifive,test1"), at
// 0x10_0000 there; Linux's syscon-poweroff/-reboot nodes point at it too.
//
//   off  0x0  FINISHER (write, 32-bit; reads as 0)
//        bits 15:0   0x5555 pass / power off     0x3333 fail     0x7777 reset
//        bits 31:16  exit code (fail only)
//
// Other status values are ignored, as QEMU does. The device only reports; the board decides
// what "finish" means (stop the harts, set the process exit status).
import type { MmioDevice } from '../bus/mmio.ts';

export const FINISHER_FAIL = 0x3333;
export const FINISHER_PASS = 0x5555;
export const FINISHER_RESET = 0x7777;

export type FinisherEvent =
  | { kind: 'pass' }
  | { kind: 'fail'; code: number }
  | { kind: 'reset' };

export class SifiveTest implements MmioDevice {
  readonly name = 'test';
  constructor(private readonly onFinish: (ev: FinisherEvent) => void) {}

  read(_offset: number, _size: number): number {
    return 0;
  }

  write(offset: number, size: number, value: number): void {
    if (offset !== 0 || size < 2) return;
    const status = value & 0xffff;
    if (status === FINISHER_PASS) this.onFinish({ kind: 'pass' });
    else if (status === FINISHER_FAIL) this.onFinish({ kind: 'fail', code: size === 4 ? value >>> 16 : 0 });
    else if (status === FINISHER_RESET) this.onFinish({ kind: 'reset' });
  }
}
