// SPDX-License-Identifier: GPL-2.0-only
// Binds the vSBI to real harts (src/hardware/riscv/hart.ts) through their owner API only:
// hartView() is the VsbiHart of one Hart, HartPlatformOps the timer/IPI/fence/interrupt part of
// a VsbiPlatform for an array of Harts in guest mode, and hartPlatform() a whole VsbiPlatform
// once the runner adds guest memory, reset and (optionally) console, suspend and hypercalls.
// Cross-thread use (issue 7) needs the flushes to run on the hart's own pCPU; this is the
// single-thread form.

import type { IrqLine } from '../../hardware/bus/mmio.ts';
import type { Hart } from '../../hardware/riscv/hart.ts';
import { IRQ_SSI, MIE, STIMECMP } from '../../hardware/riscv/hart-state.ts';
import type { VsbiHart, VsbiPlatform } from './platform.ts';

const TWO32 = 4294967296;

/** The VsbiHart of a real Hart. */
export function hartView(h: Hart): VsbiHart {
  return {
    x: h.x,
    advancePc(bytes: number): void {
      const lo = (h.getPcLo() >>> 0) + bytes;
      h.setPcWords(lo | 0, (h.getPcHi() + (lo >= TWO32 ? 1 : 0)) | 0);
    },
    // Hart.start is the hart's HSM entry: S-mode, satp = 0, sstatus.SIE = 0, pc, and it clears
    // the hart's stopped flag. It also sets a0/a1 (opaque as a JS number); the vSBI then writes
    // both words of a0/a1 exactly.
    enterSupervisor(pc: number): void {
      h.start(pc, 0);
    },
    stop(): void {
      h.stop();
    },
  };
}

/** Timer, IPI, fence and wake-up operations of a VsbiPlatform over real harts (index = hart id). */
export class HartPlatformOps {
  readonly views: VsbiHart[];
  private readonly ssi: IrqLine[];

  constructor(readonly harts: readonly Hart[]) {
    this.views = harts.map(hartView);
    this.ssi = harts.map((h) => h.irqLine(IRQ_SSI));
  }

  get hartCount(): number {
    return this.harts.length;
  }
  hart(i: number): VsbiHart {
    return this.views[i]!;
  }
  /**
   * A guest-mode hart has Sstc enabled (menvcfg.STCE, set by Hart.reset in guest mode), so
   * sip.STIP is time >= stimecmp: writing stimecmp both arms the timer and clears a pending
   * STIP. "Never" is stimecmp = 2^64 - 1.
   */
  setTimer(i: number, when: number): void {
    const s = this.harts[i]!.s;
    if (when === Infinity) {
      s[STIMECMP] = -1;
      s[STIMECMP + 1] = -1;
    } else {
      s[STIMECMP] = when % TWO32 | 0;
      s[STIMECMP + 1] = Math.floor(when / TWO32) | 0;
    }
  }
  sendIpi(i: number): void {
    this.ssi[i]!.set(true);
  }
  flushTlb(i: number): void {
    this.harts[i]!.flushTlb();
  }
  /** Remote FENCE.I: start a new JIT epoch on the hart, so translated blocks are re-checked against memory. */
  flushIcache(i: number): void {
    this.harts[i]!.flushICache();
  }
  interruptPending(i: number): boolean {
    const h = this.harts[i]!;
    return (h.mipValue() & h.s[MIE]!) !== 0;
  }
}

/** What a runner adds to HartPlatformOps to make a VsbiPlatform. */
export type HartPlatformExtras = Pick<VsbiPlatform, 'phys' | 'systemReset'> &
  Partial<Pick<VsbiPlatform, 'console' | 'hartRunnable' | 'systemSuspend' | 'hypercall' | 'resolvePhysFault'>>;

/** A complete VsbiPlatform for real harts (hart id = index in `harts`). */
export function hartPlatform(harts: readonly Hart[], extras: HartPlatformExtras): VsbiPlatform {
  const ops = new HartPlatformOps(harts);
  return {
    hartCount: harts.length,
    hart: (i) => ops.hart(i),
    setTimer: (i, when) => ops.setTimer(i, when),
    sendIpi: (i) => ops.sendIpi(i),
    flushTlb: (i) => ops.flushTlb(i),
    flushIcache: (i) => ops.flushIcache(i),
    interruptPending: (i) => ops.interruptPending(i),
    ...extras,
  };
}
