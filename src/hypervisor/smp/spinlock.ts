// SPDX-License-Identifier: GPL-2.0-only
// Ticket spinlock over shared memory (Xen 4.7's spinlock_t: a head/tail ticket pair, FIFO fair,
// xen/common/spinlock.c _spin_lock: take a ticket with an atomic add, wait until head reaches
// it; unlock advances head). Waiters spin, then sleep on the head word (Atomics.wait) so a
// preempted holder does not burn the other cores; unlock notifies only when someone sleeps.
import { relaxWait, wakeSleepers, type LockArena } from './percpu.ts';

/** Words: tail (next ticket), head (ticket being served), sleepers. */
export const SPINLOCK_WORDS = 3;
const TAIL = 0, HEAD = 1, SLEEPERS = 2;

/** spin_lock on the lock at word `at` of `m` (no object: the grant table's per-entry locks use it directly). */
export function spinLockAt(m: Int32Array, at: number): void {
  const ticket = Atomics.add(m, at + TAIL, 1);
  let spins = 0;
  for (;;) {
    const head = Atomics.load(m, at + HEAD);
    if (head === ticket) return;
    spins = relaxWait(m, at + HEAD, head, at + SLEEPERS, spins);
  }
}
export function spinUnlockAt(m: Int32Array, at: number): void {
  Atomics.add(m, at + HEAD, 1);
  wakeSleepers(m, at + HEAD, at + SLEEPERS);
}

export class Spinlock {
  constructor(readonly m: Int32Array, readonly at: number) {}
  static alloc(a: LockArena): Spinlock {
    return new Spinlock(a.m, a.alloc(SPINLOCK_WORDS));
  }

  lock(): void {
    spinLockAt(this.m, this.at);
  }
  /** _spin_trylock: take the lock only if nobody holds or waits for it. */
  trylock(): boolean {
    const m = this.m, at = this.at;
    const head = Atomics.load(m, at + HEAD);
    return Atomics.compareExchange(m, at + TAIL, head, (head + 1) | 0) === head;
  }
  unlock(): void {
    spinUnlockAt(this.m, this.at);
  }
  isLocked(): boolean {
    return Atomics.load(this.m, this.at + HEAD) !== Atomics.load(this.m, this.at + TAIL);
  }
}
