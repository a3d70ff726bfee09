// SPDX-License-Identifier: GPL-2.0-only
// For the vSBI's tests: a small domain built from real parts (FramePool + P2m for guest RAM,
// real Harts in guest mode, HartPlatformOps, createVsbi) with a console and reset log, and
// helpers that make an SBI call the way a guest does: registers set, an `ecall` (or a
// hand-assembled `li a7; li a6; ...; ecall` program) in guest RAM, step() until EXIT_ECALL,
// then vsbi.handleEcall(). It is also the smallest example of a runner's VsbiPlatform.

import { EXIT_ECALL } from '../../hardware/riscv/hart-api.ts';
import { Hart } from '../../hardware/riscv/hart.ts';
import { A, ManualClock, setx, xr } from '../../hardware/riscv/test-support.ts';
import { FramePool } from '../mm/frame-pool.ts';
import { P2M_MMIO_EMUL, P2M_RAM_RO, P2M_RAM_RW, P2m } from '../mm/p2m.ts';
import type { Vsbi, VsbiCall } from './core.ts';
import { HartPlatformOps } from './hart-view.ts';
import type { VsbiPlatform } from './platform.ts';
import { createVsbi } from './vsbi.ts';

export const RAM_BASE = 0x80000000;
export const RAM_PAGES = 1024; // 4 MiB
export const RAM_END = RAM_BASE + RAM_PAGES * 4096;
/** A guest page that is emulated MMIO, and one that is read-only RAM (just above RAM). */
export const MMIO_PAGE_PA = 0x10000000;
export const RO_PAGE_PA = RAM_END;
/** Where hart i's code starts (64 KiB each). */
export const codeBase = (i: number): number => RAM_BASE + i * 0x10000;

export interface MachineOptions {
  harts?: number;
  bootHart?: number;
  /** Offer SUSP (platform.systemSuspend accepts). */
  suspend?: boolean;
  /** Offer the Xen hypercall EID with this handler. */
  hypercall?: (call: VsbiCall) => number;
  /** Console: how many bytes write() accepts per call (default all); -1 = I/O error. */
  consoleAccept?: number;
  /** No console at all. */
  noConsole?: boolean;
}

export interface CallResult {
  /** a0 and a1 after the call, as signed 64-bit values. */
  a0: bigint;
  a1: bigint;
  outcome: number;
}

export class TestMachine {
  readonly pool: FramePool;
  readonly p2m: P2m;
  readonly clock = new ManualClock();
  readonly harts: Hart[];
  readonly ops: HartPlatformOps;
  readonly platform: VsbiPlatform;
  readonly vsbi: Vsbi;
  readonly out: number[] = [];
  readonly input: number[] = [];
  readonly resets: Array<[number, number, number]> = [];
  readonly suspends: number[] = [];
  readonly runnable: number[] = [];
  /** Counters of the platform's fence operations per hart. */
  readonly tlbFlushes: number[];
  readonly icacheFlushes: number[];

  constructor(o: MachineOptions = {}) {
    const n = o.harts ?? 2;
    this.pool = new FramePool(RAM_PAGES + 8);
    this.p2m = new P2m(this.pool);
    const frames = this.pool.alloc(1, RAM_PAGES + 1)!;
    for (let i = 0; i < RAM_PAGES; i++) this.p2m.set(RAM_BASE / 4096 + i, frames[i]!, P2M_RAM_RW);
    this.p2m.set(RO_PAGE_PA / 4096, frames[RAM_PAGES]!, P2M_RAM_RO);
    this.p2m.set(MMIO_PAGE_PA / 4096, -1, P2M_MMIO_EMUL);
    this.harts = [];
    for (let i = 0; i < n; i++) {
      this.harts.push(new Hart({ hartId: i, phys: this.p2m, clock: this.clock, guestMode: true, resetPc: codeBase(i) }));
    }
    this.ops = new HartPlatformOps(this.harts);
    this.tlbFlushes = new Array<number>(n).fill(0);
    this.icacheFlushes = new Array<number>(n).fill(0);
    const ops = this.ops;
    const accept = o.consoleAccept ?? Infinity;
    const self = this;
    const platform: VsbiPlatform = {
      hartCount: n,
      phys: this.p2m,
      hart: (i) => ops.hart(i),
      setTimer: (i, when) => ops.setTimer(i, when),
      sendIpi: (i) => ops.sendIpi(i),
      flushTlb: (i) => {
        self.tlbFlushes[i]!++;
        ops.flushTlb(i);
      },
      flushIcache: (i) => {
        self.icacheFlushes[i]!++;
        ops.flushIcache(i);
      },
      interruptPending: (i) => ops.interruptPending(i),
      hartRunnable: (i) => void self.runnable.push(i),
      systemReset: (caller, type, reason) => {
        self.resets.push([caller, type, reason]);
        return true;
      },
      console: o.noConsole
        ? undefined
        : {
            write(bytes: Uint8Array): number {
              if (accept < 0) return -1;
              const k = Math.min(accept, bytes.length);
              for (let j = 0; j < k; j++) self.out.push(bytes[j]!);
              return k;
            },
            read(into: Uint8Array): number {
              const k = Math.min(into.length, self.input.length);
              for (let j = 0; j < k; j++) into[j] = self.input.shift()!;
              return k;
            },
          },
    };
    if (o.suspend) platform.systemSuspend = (caller) => (self.suspends.push(caller), true);
    if (o.hypercall) platform.hypercall = o.hypercall;
    this.platform = platform;
    this.vsbi = createVsbi(platform, { bootHart: o.bootHart ?? 0 });
  }

  /** Guest-physical RAM as bytes (offset = pa - RAM_BASE; frames are contiguous here). */
  ramOffset(pa: number): number {
    return this.p2m.lookup(Math.floor(pa / 4096), 1) + (pa % 4096);
  }
  writeRam(pa: number, bytes: Uint8Array | number[]): void {
    for (let i = 0; i < bytes.length; i++) this.pool.bytes[this.ramOffset(pa + i)] = bytes[i]!;
  }
  readRam(pa: number, len: number): number[] {
    return Array.from({ length: len }, (_, i) => this.pool.bytes[this.ramOffset(pa + i)]!);
  }
  /** Write 32-bit instruction words at pa. */
  putCode(pa: number, words: number[]): void {
    words.forEach((w, k) => this.writeRam(pa + 4 * k, [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24]));
  }

  /**
   * Make an SBI call from hart i: a0..a5 = args, a6 = fid, a7 = eid; an `ecall` at the hart's
   * pc; step until EXIT_ECALL; handleEcall. Throws (a test failure) if the hart does not exit.
   */
  call(i: number, eid: bigint | number, fid: bigint | number, ...args: Array<bigint | number>): CallResult {
    const h = this.harts[i]!;
    for (let k = 0; k < 6; k++) setx(h, 10 + k, BigInt(args[k] ?? 0));
    setx(h, 16, BigInt(fid));
    setx(h, 17, BigInt(eid));
    this.putCode(h.getPc(), [A.ecall()]);
    return this.runToEcall(i);
  }

  /** Step hart i until it exits with EXIT_ECALL (at most `budget` instructions), then dispatch. */
  runToEcall(i: number, budget = 64): CallResult {
    const h = this.harts[i]!;
    const r = h.step(budget);
    if (r !== EXIT_ECALL) throw new Error(`hart ${i} exited with ${r}, not EXIT_ECALL (pc 0x${h.getPc().toString(16)})`);
    const outcome = this.vsbi.handleEcall(i);
    return { a0: BigInt.asIntN(64, xr(h, 10)), a1: BigInt.asIntN(64, xr(h, 11)), outcome };
  }
}

/**
 * `li rd, imm` for an immediate in [-2^31, 2^32): addi, or lui + addiw (sign-extending), and
 * for values >= 2^31 a zero-extension (slli 32; srli 32) as RV64 needs for 0x8000_0000 and up.
 */
export function li(rd: number, imm: number): number[] {
  const v = imm | 0;
  let out: number[];
  if (v >= -2048 && v < 2048) out = [A.addi(rd, 0, v)];
  else {
    const lo = (v << 20) >> 20;
    const hi = ((v - lo) >>> 12) & 0xfffff;
    out = [A.lui(rd, hi), A.addiw(rd, rd, lo)];
  }
  if (imm > 0x7fffffff) out.push(A.slli(rd, rd, 32), A.srli(rd, rd, 32));
  return out;
}
