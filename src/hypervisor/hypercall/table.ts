// SPDX-License-Identifier: GPL-2.0-only
// The one patchable hypercall dispatch table (docs/design/hypervisor.md §1, §6): indexed by
// xen.h hypercall number, entries registered by modules (this directory for the core, event/
// and grant/ for event_channel_op and grant_table_op). Live patching swaps entries. Unknown
// numbers return -ENOSYS (Xen: xen/arch/arm/traps.c do_trap_hypercall).
import { ENOSYS } from '../public/errno.ts';
import type { Vcpu } from '../domain/vcpu.ts';

const TWO32 = 4294967296;
/** Xen's NR_hypercalls (xen/include/public/xen.h reserves 0..63). */
export const NR_HYPERCALLS = 64;

/**
 * The six 64-bit arguments of one hypercall as int32 halves (a<n> low at 2n, high at 2n+1), so
 * guest handles above 2^53 (Sv39 kernel addresses) stay exact. One object per caller, reused.
 */
export class HcArgs {
  readonly w = new Int32Array(12);

  lo(n: number): number { return this.w[2 * n]!; }
  hi(n: number): number { return this.w[2 * n + 1]!; }
  /** Low 32 bits unsigned (for `unsigned int` parameters: the upper half is ignored, as C does). */
  u32(n: number): number { return this.w[2 * n]! >>> 0; }
  /** Unsigned 64-bit value; exact below 2^53 (check fits53 where it matters). */
  u64(n: number): number { return (this.w[2 * n + 1]! >>> 0) * TWO32 + (this.w[2 * n]! >>> 0); }
  fits53(n: number): boolean { return this.w[2 * n + 1]! >>> 0 < 0x200000; }
  isZero(n: number): boolean { return (this.w[2 * n]! | this.w[2 * n + 1]!) === 0; }
  /** Signed 64-bit value as a number (exact within ±2^53). */
  i64(n: number): number { return this.w[2 * n + 1]! * TWO32 + (this.w[2 * n]! >>> 0); }
  /** Load from a register file (x[i] low at 2i): a0..a5 are x10..x15. */
  fromRegs(x: Int32Array): this {
    for (let i = 0; i < 12; i++) this.w[i] = x[20 + i]!;
    return this;
  }
  set(n: number, lo: number, hi: number): this {
    this.w[2 * n] = lo;
    this.w[2 * n + 1] = hi;
    return this;
  }
  setNum(n: number, v: number): this {
    return this.set(n, v % TWO32 | 0, Math.floor(v / TWO32) | 0);
  }
}

/**
 * A hypercall handler: returns the result for a0 (>= 0, or a negated Xen errno), within ±2^53.
 * It never throws because of guest input; a throw is a hypervisor bug.
 */
export type HypercallHandler = (v: Vcpu, a: HcArgs) => number;

/**
 * Xen's hypercall_create_continuation: a handler that has done a bounded amount of work stores
 * the arguments that describe the rest in `a` and returns this. From a guest, the ecall is then
 * re-executed with those arguments when the vCPU next runs (preemption without losing state);
 * a host caller of dispatch() sees 0 and v.continuation = true.
 */
export function hypercallContinuation(v: Vcpu): number {
  v.continuation = true;
  return 0;
}

/** Iterations a handler does before it offers the pCPU back (Xen's hypercall_preempt_check). */
export const PREEMPT_BATCH = 256;

export class HypercallTable {
  private readonly handlers: Array<HypercallHandler | undefined> = new Array(NR_HYPERCALLS).fill(undefined);
  /** Calls per number (a cheap statistic; xentrace-like). */
  readonly counts = new Float64Array(NR_HYPERCALLS);

  /** Register (or live-patch) the handler of hypercall `nr`; returns the previous one. */
  register(nr: number, h: HypercallHandler): HypercallHandler | undefined {
    if (!Number.isInteger(nr) || nr < 0 || nr >= NR_HYPERCALLS) throw new RangeError(`hypercall number ${nr} out of range`);
    const old = this.handlers[nr];
    this.handlers[nr] = h;
    return old;
  }
  get(nr: number): HypercallHandler | undefined {
    return this.handlers[nr];
  }
  /** Dispatch number (lo, hi) (a6's halves). */
  dispatch(v: Vcpu, nrLo: number, nrHi: number, a: HcArgs): number {
    if (nrHi !== 0 || nrLo >>> 0 >= NR_HYPERCALLS) return -ENOSYS;
    const h = this.handlers[nrLo];
    if (h === undefined) return -ENOSYS;
    this.counts[nrLo]!++;
    return h(v, a);
  }
}
