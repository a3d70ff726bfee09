// SPDX-License-Identifier: GPL-2.0-only
// A vCPU's singleshot timer deadline in shared memory (issue 7): VCPUOP_set_singleshot_timer /
// _stop_singleshot_timer are answered by the pCPU that runs the vCPU (smp/fast-path.ts), while
// the timer fires on the main thread (Hypervisor.tick: VIRQ_TIMER) and the main thread's run
// loop sleeps until the earliest deadline (Hypervisor.nextWakeNs). Xen 4.7 keeps
// v->singleshot_timer in the per-CPU timer heap under that heap's lock (xen/common/timer.c
// set_timer / stop_timer, the softirq that runs expired timers); here the deadline is one Float64
// in a 24-byte SharedArrayBuffer per vCPU. Writers (set, and firing, which must be a
// compare-and-clear so a deadline a pCPU sets between the main thread's check and its clear is
// not lost) hold a ticket spinlock (spinlock.ts) and bump a sequence word around the write;
// readers (the main thread's tick and nextWakeNs, every vCPU on every pass) take no lock: they
// re-read when the sequence was odd or moved (a seqlock), because a Float64Array element is
// not tear-free (ecma262 IsNoTearConfiguration covers integer elements only).
// Cost of a main-thread pass (get + expire of a timer not due; 512 timers x 2000 passes, CPU
// time, 5 runs): 32-45 ns per vCPU, vs 93-107 ns with the lock on every access and 1-5 ns for
// the plain JS field this replaces.
//
//   words 0-2  ticket lock (tail, head, sleepers)
//   word 3     sequence (odd: a write is in progress)
//   bytes 16-23  deadline, domain system time ns (Infinity: stopped)
import { SPINLOCK_WORDS, spinLockAt, spinUnlockAt } from './spinlock.ts';

export const VCPU_TIMER_BYTES = 24;
const LOCK = 0, SEQ = 3, DEADLINE_BYTE = 16;
if (SPINLOCK_WORDS > SEQ) throw new Error('vcpu-timer: lock words overlap the sequence');

export class VcpuTimer {
  private readonly m: Int32Array;
  private readonly at: Float64Array;
  /** A new stopped timer, or the view of another thread's (`buffer` from its `buffer`). */
  constructor(readonly buffer: SharedArrayBuffer = VcpuTimer.fresh()) {
    this.m = new Int32Array(buffer, 0, SEQ + 1);
    this.at = new Float64Array(buffer, DEADLINE_BYTE, 1);
  }
  private static fresh(): SharedArrayBuffer {
    const b = new SharedArrayBuffer(VCPU_TIMER_BYTES);
    new Float64Array(b, DEADLINE_BYTE, 1)[0] = Infinity;
    return b;
  }

  /** The deadline (domain ns; Infinity: stopped): a consistent value without the lock. */
  get(): number {
    const m = this.m;
    for (;;) {
      const seq = Atomics.load(m, SEQ);
      const t = this.at[0]!;
      if ((seq & 1) === 0 && Atomics.load(m, SEQ) === seq) return t;
    }
  }
  /** The write under the lock: the sequence is odd while the deadline changes. */
  private write(ns: number): void {
    Atomics.add(this.m, SEQ, 1);
    this.at[0] = ns;
    Atomics.add(this.m, SEQ, 1);
  }
  /** set_timer (any deadline; Infinity = stop_timer). */
  set(ns: number): void {
    spinLockAt(this.m, LOCK);
    this.write(ns);
    spinUnlockAt(this.m, LOCK);
  }
  /** The timer softirq's check: true when the deadline is <= now, and then it is stopped (checked again under the lock). */
  expire(now: number): boolean {
    const seen = this.get();
    if (!(seen <= now && seen !== Infinity)) return false; // the common case: not due, no lock
    spinLockAt(this.m, LOCK);
    const t = this.at[0]!;
    const due = t <= now && t !== Infinity;
    if (due) this.write(Infinity);
    spinUnlockAt(this.m, LOCK);
    return due;
  }
}
