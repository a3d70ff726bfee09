// SPDX-License-Identifier: GPL-2.0-only
// A vCPU's singleshot timer deadline in shared memory (issue 7): VCPUOP_set_singleshot_timer /
// _stop_singleshot_timer are answered by the pCPU that runs the vCPU (smp/fast-path.ts), while
// the timer fires on the main thread (Hypervisor.tick: VIRQ_TIMER) and the main thread's run
// loop sleeps until the earliest deadline (Hypervisor.nextWakeNs). Xen 4.7 keeps
// v->singleshot_timer in the per-CPU timer heap under that heap's lock (xen/common/timer.c
// set_timer / stop_timer, the softirq that runs expired timers); here the deadline is one Float64
// under a ticket spinlock (spinlock.ts) in a 24-byte SharedArrayBuffer per vCPU: a Float64Array
// element is not tear-free without a lock (ecma262 IsNoTearConfiguration covers integer
// elements only), and firing must be a compare-and-clear, so a deadline a pCPU sets between
// the main thread's check and its clear is not lost.
//
//   words 0-2  ticket lock (tail, head, sleepers)
//   bytes 16-23  deadline, domain system time ns (Infinity: stopped)
import { SPINLOCK_WORDS, spinLockAt, spinUnlockAt } from './spinlock.ts';

export const VCPU_TIMER_BYTES = 24;
const LOCK = 0, DEADLINE_BYTE = 16;
if (SPINLOCK_WORDS * 4 > DEADLINE_BYTE) throw new Error('vcpu-timer: lock words overlap the deadline');

export class VcpuTimer {
  private readonly m: Int32Array;
  private readonly at: Float64Array;
  /** A new stopped timer, or the view of another thread's (`buffer` from its `buffer`). */
  constructor(readonly buffer: SharedArrayBuffer = VcpuTimer.fresh()) {
    this.m = new Int32Array(buffer, 0, SPINLOCK_WORDS);
    this.at = new Float64Array(buffer, DEADLINE_BYTE, 1);
  }
  private static fresh(): SharedArrayBuffer {
    const b = new SharedArrayBuffer(VCPU_TIMER_BYTES);
    new Float64Array(b, DEADLINE_BYTE, 1)[0] = Infinity;
    return b;
  }

  /** The deadline (domain ns; Infinity: stopped). */
  get(): number {
    spinLockAt(this.m, LOCK);
    const t = this.at[0]!;
    spinUnlockAt(this.m, LOCK);
    return t;
  }
  /** set_timer (any deadline; Infinity = stop_timer). */
  set(ns: number): void {
    spinLockAt(this.m, LOCK);
    this.at[0] = ns;
    spinUnlockAt(this.m, LOCK);
  }
  /** The timer softirq's check: true when the deadline is <= now, and then it is stopped (in one locked step). */
  expire(now: number): boolean {
    spinLockAt(this.m, LOCK);
    const t = this.at[0]!;
    const due = t <= now && t !== Infinity;
    if (due) this.at[0] = Infinity;
    spinUnlockAt(this.m, LOCK);
    return due;
  }
}
