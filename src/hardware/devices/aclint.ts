// SPDX-License-Identifier: GPL-2.0-only
// The ACLINT MSWI (machine software interrupts) and MTIMER (machine timer) devices in the
// SiFive-CLINT-compatible layout QEMU's virt machine maps at 0x0200_0000. Follows
// riscv-aclint-1.0 ("Backward Compatibility With SiFive CLINT"). mtime is the platform
// timebase: the same clock the harts' `time` CSR and Sstc read (`Aclint.clock`).
// Leaves out: SSWI (QEMU maps it only with aclint=on), multiple MTIMER devices.
//
//   base + 0x0000  MSIP0    RW  bit 0 = hart 0's mip.MSIP (upper 31 bits wired to 0)
//   base + 0x0004  MSIP1    RW  ... 4 bytes per hart
//   base + 0x4000  MTIMECMP0 lo | 0x4004 hi   RW  hart 0's compare value
//   base + 0x4008  MTIMECMP1 lo | 0x400c hi   RW  ... 8 bytes per hart
//   base + 0xbff8  MTIME lo  |   0xbffc hi    RW  the timebase counter
//   everything else (and any access that is not 4 bytes, 4-aligned) reads 0, ignores writes
// A 64-bit access reaches us as two 4-byte accesses, low word first: reading MTIME's low
// word latches the high word for an immediately following high-word read, so the pair is
// one atomic sample of the counter.
import { NO_IRQ, type IrqLine, type MmioDevice } from '../bus/mmio.ts';

export const ACLINT_MSWI_BASE = 0x0;
export const ACLINT_MTIMECMP_BASE = 0x4000;
export const ACLINT_MTIME = 0xbff8;
/** The whole CLINT-compatible window (QEMU virt: 0x10000). */
export const ACLINT_CLINT_SIZE = 0x10000;
/** Spec: riscv-aclint-1.0 "Machine-level Timer Device (MTIMER)": at most 4095 harts. */
export const ACLINT_MAX_HARTS = 4095;

const TWO32 = 0x1_0000_0000;

/**
 * A monotonic tick source (the host side of the timebase). Structurally the same as the
 * hart's HartClock, which devices may not import.
 */
export interface TimeBase {
  now(): number;
  readonly frequency: number;
}

export interface AclintConfig {
  readonly hartCount: number;
  /** Host timebase ticks (for instance 10 MHz derived from a monotonic host clock). */
  readonly timebase: TimeBase;
  /** Per hart: the wire to mip.MSIP and to mip.MTIP. */
  readonly msip?: readonly IrqLine[];
  readonly mtip?: readonly IrqLine[];
}

export interface AclintState {
  readonly version: 1;
  readonly mtime: number;
  readonly msip: number[];
  readonly mtimecmpLo: number[];
  readonly mtimecmpHi: number[];
}

export class Aclint implements MmioDevice {
  readonly name = 'clint';
  readonly hartCount: number;
  /** mtime as harts see it (`time` CSR, Sstc): host timebase plus what the guest wrote. */
  readonly clock: TimeBase;
  private readonly timebase: TimeBase;
  /** mtime = timebase.now() + offset (MTIME is writable). */
  private offset = 0;
  private readonly msipBits: Uint8Array;
  private readonly cmpLo: Uint32Array;
  private readonly cmpHi: Uint32Array;
  private readonly mtipLevel: Uint8Array;
  private readonly msipOut: IrqLine[];
  private readonly mtipOut: IrqLine[];
  /** High word of the last MTIME low-word read, valid for the next access only. */
  private latchedHi = -1;

  constructor(cfg: AclintConfig) {
    if (!Number.isInteger(cfg.hartCount) || cfg.hartCount < 1 || cfg.hartCount > ACLINT_MAX_HARTS)
      throw new RangeError(`aclint: ${cfg.hartCount} harts`);
    this.hartCount = cfg.hartCount;
    this.timebase = cfg.timebase;
    const tb = cfg.timebase;
    this.clock = { now: () => this.mtime(), frequency: tb.frequency };
    this.msipBits = new Uint8Array(cfg.hartCount);
    // Spec: riscv-aclint-1.0 "MTIMECMP Registers": "On MTIMER device reset, the MTIMECMP
    // registers are in unknown state." We choose all-ones: no timer interrupt until set.
    this.cmpLo = new Uint32Array(cfg.hartCount).fill(0xffff_ffff);
    this.cmpHi = new Uint32Array(cfg.hartCount).fill(0xffff_ffff);
    this.mtipLevel = new Uint8Array(cfg.hartCount);
    this.msipOut = Array.from({ length: cfg.hartCount }, (_, h) => cfg.msip?.[h] ?? NO_IRQ);
    this.mtipOut = Array.from({ length: cfg.hartCount }, (_, h) => cfg.mtip?.[h] ?? NO_IRQ);
  }

  /** Wire hart `hart`'s MSIP and MTIP inputs (board set-up) and drive their current levels. */
  connect(hart: number, msip: IrqLine, mtip: IrqLine): void {
    if (!Number.isInteger(hart) || hart < 0 || hart >= this.hartCount) throw new RangeError(`aclint: no hart ${hart}`);
    this.msipOut[hart] = msip;
    this.mtipOut[hart] = mtip;
    msip.set(this.msipBits[hart] !== 0);
    mtip.set(this.mtipLevel[hart] !== 0);
  }

  /** The current mtime value (timebase ticks). */
  mtime(): number {
    return Math.floor(this.timebase.now() + this.offset);
  }

  /**
   * Re-evaluate every hart's MTIP against mtime (call after the clock moved: between
   * instruction slices, after a WFI sleep). Spec: riscv-aclint-1.0 "MTIMECMP Registers":
   * "pending whenever MTIME is greater than or equal to the value in the corresponding
   * MTIMECMP register" and "cleared whenever MTIME is less than" it.
   */
  tick(): void {
    const now = this.mtime();
    const hi = Math.floor(now / TWO32), lo = now - hi * TWO32;
    for (let h = 0; h < this.hartCount; h++) this.evalMtip(h, hi, lo);
  }

  private evalMtip(h: number, hi: number, lo: number): void {
    const ch = this.cmpHi[h];
    const on = hi > ch || (hi === ch && lo >= this.cmpLo[h]) ? 1 : 0;
    if (on !== this.mtipLevel[h]) {
      this.mtipLevel[h] = on;
      this.mtipOut[h].set(on !== 0);
    }
  }

  private evalOne(h: number): void {
    const now = this.mtime();
    const hi = Math.floor(now / TWO32);
    this.evalMtip(h, hi, now - hi * TWO32);
  }

  /**
   * The earliest mtime at which a hart's MTIP will rise (Infinity if none is armed, or a
   * compare value beyond 2^53): the runner may sleep a WFI until then.
   */
  nextDeadline(): number {
    let best = Infinity;
    for (let h = 0; h < this.hartCount; h++) {
      if (this.mtipLevel[h]) continue;
      const v = this.cmpHi[h] * TWO32 + this.cmpLo[h];
      if (v <= Number.MAX_SAFE_INTEGER && v < best) best = v;
    }
    return best;
  }

  /** The current mtimecmp of `hart` as a number (may round above 2^53). */
  mtimecmp(hart: number): number {
    return this.cmpHi[hart] * TWO32 + this.cmpLo[hart];
  }

  read(offset: number, size: number): number {
    const latched = this.latchedHi;
    this.latchedHi = -1;
    if (size !== 4 || (offset & 3) !== 0 || offset < 0) return 0;
    if (offset < ACLINT_MTIMECMP_BASE) {
      const h = offset >>> 2;
      return h < this.hartCount ? this.msipBits[h] : 0;
    }
    if (offset === ACLINT_MTIME || offset === ACLINT_MTIME + 4) {
      if (offset === ACLINT_MTIME + 4 && latched >= 0) return latched;
      const now = this.mtime();
      const hi = Math.floor(now / TWO32), lo = now - hi * TWO32;
      // A guest polling the counter sees MTIP consistent with what it read.
      for (let h = 0; h < this.hartCount; h++) this.evalMtip(h, hi, lo);
      if (offset === ACLINT_MTIME) {
        this.latchedHi = hi;
        return lo;
      }
      return hi;
    }
    if (offset < ACLINT_MTIME) {
      const rel = offset - ACLINT_MTIMECMP_BASE, h = rel >>> 3;
      if (h >= this.hartCount) return 0;
      return (rel & 4) ? this.cmpHi[h] : this.cmpLo[h];
    }
    return 0;
  }

  write(offset: number, size: number, value: number): void {
    this.latchedHi = -1;
    if (size !== 4 || (offset & 3) !== 0 || offset < 0) return;
    value >>>= 0;
    if (offset < ACLINT_MTIMECMP_BASE) {
      // Spec: riscv-aclint-1.0 "MSIP Registers (Offsets: 0x00000000 - 0x00003FF8)": a WARL
      // register whose upper 31 bits are wired to zero.
      const h = offset >>> 2;
      if (h >= this.hartCount) return;
      const bit = value & 1;
      if (bit !== this.msipBits[h]) {
        this.msipBits[h] = bit;
        this.msipOut[h].set(bit !== 0);
      }
      return;
    }
    if (offset === ACLINT_MTIME || offset === ACLINT_MTIME + 4) {
      // Spec: riscv-aclint-1.0 "MTIME Register (Offset: 0x00000000)": read-write.
      const now = this.mtime();
      const hi = Math.floor(now / TWO32), lo = now - hi * TWO32;
      const next = offset === ACLINT_MTIME ? hi * TWO32 + value : value * TWO32 + lo;
      this.offset += Math.min(next, Number.MAX_SAFE_INTEGER) - now;
      this.tick();
      return;
    }
    if (offset < ACLINT_MTIME) {
      const rel = offset - ACLINT_MTIMECMP_BASE, h = rel >>> 3;
      if (h >= this.hartCount) return;
      if (rel & 4) this.cmpHi[h] = value;
      else this.cmpLo[h] = value;
      this.evalOne(h);
    }
  }

  saveState(): AclintState {
    return { version: 1, mtime: this.mtime(), msip: Array.from(this.msipBits), mtimecmpLo: Array.from(this.cmpLo),
      mtimecmpHi: Array.from(this.cmpHi) };
  }

  /** Restore a snapshot: mtime continues from the saved value. False if it does not fit. */
  restoreState(s: AclintState): boolean {
    if (s.version !== 1 || s.msip.length !== this.hartCount || s.mtimecmpLo.length !== this.hartCount ||
      s.mtimecmpHi.length !== this.hartCount || !Number.isSafeInteger(s.mtime) || s.mtime < 0) return false;
    this.offset = s.mtime - this.timebase.now();
    this.cmpLo.set(s.mtimecmpLo);
    this.cmpHi.set(s.mtimecmpHi);
    for (let h = 0; h < this.hartCount; h++) {
      const bit = s.msip[h] & 1;
      this.msipBits[h] = bit;
      this.msipOut[h].set(bit !== 0);
    }
    this.tick();
    return true;
  }
}
