// SPDX-License-Identifier: GPL-2.0-only
// Queue read-write lock over shared memory, as Xen 4.7's rwlock_t (xen/include/xen/rwlock.h,
// xen/common/rwlock.c): one counter word whose low byte is the writer state (_QW_WAITING 1,
// _QW_LOCKED 0xff) and whose upper bits count readers (_QR_BIAS 256), plus a spinlock that
// queues slow-path readers and writers. Readers that find no writer take the lock with one
// atomic add; a waiting writer stops new readers, so writers are not starved.
import { relaxWait, wakeSleepers, type LockArena } from './percpu.ts';
import { SPINLOCK_WORDS, Spinlock } from './spinlock.ts';

export const _QW_WAITING = 1;
export const _QW_LOCKED = 0xff;
export const _QW_WMASK = 0xff;
export const _QR_SHIFT = 8;
export const _QR_BIAS = 1 << _QR_SHIFT;

/** Words: cnts, sleepers, then the queue spinlock. */
export const RWLOCK_WORDS = 2 + SPINLOCK_WORDS;
const CNTS = 0, SLEEPERS = 1;

export class RwLock {
  private readonly queue: Spinlock;
  constructor(readonly m: Int32Array, readonly at: number) {
    this.queue = new Spinlock(m, at + 2);
  }
  static alloc(a: LockArena): RwLock {
    return new RwLock(a.m, a.alloc(RWLOCK_WORDS));
  }

  /** Wait while cnts satisfies `busy` (cpu_relax loop); returns the last value seen. */
  private waitWhile(busy: (c: number) => boolean): number {
    const m = this.m, i = this.at + CNTS;
    let spins = 0;
    for (;;) {
      const c = Atomics.load(m, i);
      if (!busy(c)) return c;
      spins = relaxWait(m, i, c, this.at + SLEEPERS, spins);
    }
  }
  private changed(): void {
    wakeSleepers(this.m, this.at + CNTS, this.at + SLEEPERS);
  }

  readTrylock(): boolean {
    const m = this.m, i = this.at + CNTS;
    if ((Atomics.load(m, i) & _QW_WMASK) !== 0) return false;
    if (((Atomics.add(m, i, _QR_BIAS) + _QR_BIAS) & _QW_WMASK) === 0) return true;
    Atomics.sub(m, i, _QR_BIAS);
    this.changed();
    return false;
  }
  readLock(): void {
    const m = this.m, i = this.at + CNTS;
    if (((Atomics.add(m, i, _QR_BIAS) + _QR_BIAS) & _QW_WMASK) === 0) return;
    // queue_read_lock_slowpath: back out, queue behind the spinlock, wait for the writer.
    Atomics.sub(m, i, _QR_BIAS);
    this.changed();
    this.queue.lock();
    this.waitWhile((c) => (c & _QW_WMASK) !== 0);
    const c = Atomics.add(m, i, _QR_BIAS);
    if ((c & _QW_WMASK) === _QW_LOCKED) this.waitWhile((x) => (x & _QW_WMASK) === _QW_LOCKED); // rspin_until_writer_unlock
    this.queue.unlock();
  }
  readUnlock(): void {
    Atomics.sub(this.m, this.at + CNTS, _QR_BIAS);
    this.changed();
  }

  writeTrylock(): boolean {
    const m = this.m, i = this.at + CNTS;
    return Atomics.load(m, i) === 0 && Atomics.compareExchange(m, i, 0, _QW_LOCKED) === 0;
  }
  writeLock(): void {
    const m = this.m, i = this.at + CNTS;
    if (Atomics.compareExchange(m, i, 0, _QW_LOCKED) === 0) return;
    // queue_write_lock_slowpath: queue, announce _QW_WAITING (new readers back off), wait for readers to drain.
    this.queue.lock();
    if (!(Atomics.load(m, i) === 0 && Atomics.compareExchange(m, i, 0, _QW_LOCKED) === 0)) {
      for (;;) {
        const c = this.waitWhile((x) => (x & _QW_WMASK) !== 0);
        if (Atomics.compareExchange(m, i, c, c | _QW_WAITING) === c) break;
      }
      for (;;) {
        this.waitWhile((x) => x !== _QW_WAITING);
        if (Atomics.compareExchange(m, i, _QW_WAITING, _QW_LOCKED) === _QW_WAITING) break;
      }
    }
    this.queue.unlock();
  }
  writeUnlock(): void {
    Atomics.sub(this.m, this.at + CNTS, _QW_LOCKED);
    this.changed();
  }

  isLocked(): boolean {
    return Atomics.load(this.m, this.at + CNTS) !== 0;
  }
  isWriteLocked(): boolean {
    return (Atomics.load(this.m, this.at + CNTS) & _QW_WMASK) === _QW_LOCKED;
  }
}
