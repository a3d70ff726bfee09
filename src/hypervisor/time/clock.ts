// SPDX-License-Identifier: GPL-2.0-only
// Time for the hypervisor: system time in ns from the board timebase (the `time` CSR every
// vCPU reads), the pvclock scale that lets a guest do the same conversion (vcpu_time_info's
// tsc_to_system_mul/tsc_shift), and the host's wallclock, which dom0 (the host) may set.
// Xen: xen/arch/x86/time.c (set_time_scale, do_settime), xen/include/public/xen.h (vcpu_time_info)
import type { HartClock } from '../../hardware/riscv/hart-api.ts';

const TWO32 = 4294967296;

export interface TimeScale {
  /** 32.32 fixed-point multiplier. */
  mul: number;
  /** Shift applied to the tick delta before multiplying (negative: right shift). */
  shift: number;
}

/**
 * The pvclock scale for a tick frequency: ns = ((ticks << shift) * mul) >> 32, with mul < 2^32.
 * Follows the method of Xen's set_time_scale: normalise the ratio 1e9/hz into [2^31, 2^32).
 */
export function timeScale(hz: number): TimeScale {
  if (!(hz > 0 && Number.isFinite(hz))) throw new RangeError(`timebase frequency ${hz} Hz`);
  let ratio = 1e9 / hz; // ns per tick
  let shift = 0;
  while (ratio >= 1) { ratio /= 2; shift++; }
  while (ratio < 0.5) { ratio *= 2; shift--; }
  return { mul: Math.min(TWO32 - 1, Math.round(ratio * TWO32)), shift };
}

/** ns for a tick delta with a scale, exactly as the guest computes it (BigInt-free, 2^53-safe). */
export function scaleDelta(ticks: number, s: TimeScale): number {
  const shifted = s.shift >= 0 ? ticks * 2 ** s.shift : Math.floor(ticks / 2 ** -s.shift);
  // (shifted * mul) >> 32 without losing precision: split mul into 16-bit halves.
  const hi = Math.floor(s.mul / 65536), lo = s.mul % 65536;
  return Math.floor((shifted * hi) / 65536 + Math.floor((shifted * lo) / 65536) / 65536);
}

/** Host wall time source: ns since the Unix epoch (the host process: Date.now() * 1e6 or a test clock). */
export type WallSource = () => number;

export class SystemClock {
  readonly scale: TimeScale;
  /** Added to the wall source by settime (dom0). */
  private wallOffsetNs = 0;

  constructor(
    readonly timebase: HartClock,
    private readonly wallSource: WallSource = () => Date.now() * 1e6,
  ) {
    this.scale = timeScale(timebase.frequency);
  }

  /** The time CSR now (ticks). */
  ticks(): number {
    return this.timebase.now();
  }
  /** Host system time in ns (since the timebase's zero). */
  nowNs(): number {
    return Math.floor((this.timebase.now() * 1e9) / this.timebase.frequency);
  }
  /** The timebase tick at which host system time reaches `ns` (rounded up). */
  ticksAt(ns: number): number {
    return Math.ceil((ns * this.timebase.frequency) / 1e9);
  }
  /** Wall time (ns since the epoch) now. */
  wallNs(): number {
    return this.wallSource() + this.wallOffsetNs;
  }
  /** dom0's settime: the wall time is now `sec` s + `nsec` ns since the epoch. */
  setWall(sec: number, nsec: number): void {
    this.wallOffsetNs = sec * 1e9 + nsec - this.wallSource();
  }
}
