// SPDX-License-Identifier: GPL-2.0-only
// Spike's host-target interface (HTIF) as riscv-tests and small bare-metal programs use it:
// two 64-bit words in RAM, found through the ELF symbols `tohost` and `fromhost`. The bare
// board overlays a device on each word (PhysBus.addMmio(..., overRam)), so a store to tohost
// is seen at once instead of by polling.
//
//   tohost = dev << 56 | cmd << 48 | payload      (written by the guest; the host clears it)
//     dev 0, cmd 0, payload odd       exit: code = payload >> 1 (0 = pass)
//     dev 0, cmd 0, payload even      syscall: payload = address of magic_mem[8] (u64):
//                                       [0] = number, [1..3] = args; [0] gets the result.
//                                       write (64) to fd 1/2 and exit (93) are served,
//                                       others return -ENOSYS (-38)
//     dev 1, cmd 1                    console putchar (payload & 0xff)
//   fromhost = the host's response (dev/cmd echoed, payload 1 or the echoed character);
//              the guest writes 0 to acknowledge
// A 64-bit store arrives as two 4-byte stores, low word first: the command runs on the high
// word's store. Leaves out: console input (dev 1, cmd 0) and the other Spike devices.
import type { MmioDevice } from '../bus/mmio.ts';
import type { PhysBus } from '../bus/phys-bus.ts';

const TWO32 = 0x1_0000_0000;
const SYS_WRITE = 64;
const SYS_EXIT = 93;
const ENOSYS = 38;

export interface HtifHost {
  /** The guest asked to stop: code 0 = pass, else fail with that code. */
  exit(code: number): void;
  /** A console byte from the guest. */
  putchar(byte: number): void;
}

/** One 64-bit word of shadowed RAM, seen as two 32-bit halves. */
class HtifWord implements MmioDevice {
  lo = 0;
  hi = 0;
  constructor(readonly name: string, private readonly onHighWrite: (() => void) | null) {}

  read(offset: number, size: number): number {
    const word = offset < 4 ? this.lo : this.hi;
    const shift = (offset & 3) * 8;
    return size === 4 ? word >>> 0 : (word >>> shift) & (size === 2 ? 0xffff : 0xff);
  }

  write(offset: number, size: number, value: number): void {
    const shift = (offset & 3) * 8;
    const mask = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    const merge = (old: number) => ((old & ~(mask << shift)) | ((value & mask) << shift)) >>> 0;
    if (offset < 4) this.lo = merge(this.lo);
    else {
      this.hi = merge(this.hi);
      this.onHighWrite?.();
    }
  }
}

export class Htif {
  private readonly tohost: HtifWord;
  private readonly fromhost: HtifWord;

  constructor(private readonly bus: PhysBus, tohostPa: number, fromhostPa: number | undefined, private readonly host: HtifHost) {
    this.tohost = new HtifWord('htif-tohost', () => this.command());
    this.fromhost = new HtifWord('htif-fromhost', null);
    bus.addMmio(tohostPa, 8, this.tohost, true);
    if (fromhostPa !== undefined && fromhostPa !== tohostPa) bus.addMmio(fromhostPa, 8, this.fromhost, true);
  }

  private respond(dev: number, cmd: number, payload: number): void {
    this.fromhost.hi = ((dev << 24) | (cmd << 16)) >>> 0;
    this.fromhost.lo = payload >>> 0;
  }

  private command(): void {
    const hi = this.tohost.hi, lo = this.tohost.lo;
    if (hi === 0 && lo === 0) return;
    const dev = hi >>> 24, cmd = (hi >>> 16) & 0xff;
    const payload = (hi & 0xffff) * TWO32 + lo;
    this.tohost.hi = 0;
    this.tohost.lo = 0;
    if (dev === 0 && cmd === 0) {
      if (payload % 2 === 1) { this.host.exit(Math.floor(payload / 2)); return; }
      this.syscall(payload);
      this.respond(0, 0, 1);
    } else if (dev === 1 && cmd === 1) {
      this.host.putchar(lo & 0xff);
      this.respond(1, 1, 0x100 | (lo & 0xff));
    }
    // Unknown devices/commands are dropped, as Spike does for absent devices.
  }

  private u64(pa: number): number {
    const b = this.bus;
    return b.inRam(pa, 8) ? b.ramRead(pa - b.ramBase + 4, 4) * TWO32 + b.ramRead(pa - b.ramBase, 4) : 0;
  }

  private setU64(pa: number, v: number): void {
    const b = this.bus;
    if (!b.inRam(pa, 8)) return;
    // v is a byte count or a small negative errno: two's complement through 32-bit halves.
    b.ramWrite(pa - b.ramBase, 4, v < 0 ? (v | 0) >>> 0 : v % TWO32);
    b.ramWrite(pa - b.ramBase + 4, 4, v < 0 ? 0xffffffff : Math.floor(v / TWO32));
  }

  private syscall(magic: number): void {
    const num = this.u64(magic), a0 = this.u64(magic + 8), a1 = this.u64(magic + 16), a2 = this.u64(magic + 24);
    if (num === SYS_EXIT) { this.host.exit(a0 % 65536); return; }
    if (num === SYS_WRITE && (a0 === 1 || a0 === 2) && this.bus.inRam(a1, a2)) {
      const off = a1 - this.bus.ramBase;
      for (let i = 0; i < a2; i++) this.host.putchar(this.bus.ram[off + i]);
      this.setU64(magic, a2);
      return;
    }
    this.setU64(magic, -ENOSYS);
  }
}
