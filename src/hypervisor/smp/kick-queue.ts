// SPDX-License-Identifier: GPL-2.0-only
// The kick queue (issue 7): pCPU workers that raised an event for a vCPU hand the wake-up to
// the main thread, which owns the scheduler (Xen's vcpu_mark_events_pending → vcpu_kick and
// evtchn_check_pollers run on the pCPU; here a blocked vCPU is woken by the main thread).
// A bounded multi-producer, single-consumer ring in shared memory: each slot carries a sequence
// word that says whose turn it is (a producer claims position `pos` by compare-and-swap of the
// tail, fills the slot, then publishes seq = pos + 1; the consumer frees it with pos + size), so
// producers never take a lock and the consumer never sees a half-written entry. A full ring
// never loses a wake-up: the producer raises the overflow word instead, and the consumer then
// rescans everything (kicks every vCPU) — slow, but exact.
//
// Words: [TAIL] producers' next position, [HEAD] consumer's next position, [DOORBELL] bumped
// after every push (the main thread waits on it with Atomics.waitAsync), [SLEEPING] 1 while the
// consumer waits (the first producer to clear it notifies: one wake-up per wait), [OVERFLOW], then
// SLOT words per entry from BASE.

const TAIL = 0, HEAD = 16, DOORBELL = 32, SLEEPING = 33, OVERFLOW = 34;
const BASE = 48;
const SLOT = 4;

type WaitAsync = (m: Int32Array, i: number, v: number, t?: number) => { async: boolean; value: Promise<string> | string };

export class KickQueue {
  readonly m: Int32Array;
  readonly size: number;
  private readonly mask: number;

  /** A new queue of `size` entries (a power of two), or this thread's view of `m` (from `desc`). */
  constructor(sizeOrDesc: number | Int32Array = 1024) {
    if (typeof sizeOrDesc === 'number') {
      const size = sizeOrDesc;
      if (!(size >= 2 && (size & (size - 1)) === 0)) throw new RangeError(`kick queue: size ${size} is not a power of two`);
      this.m = new Int32Array(new SharedArrayBuffer((BASE + size * SLOT) * 4));
      for (let i = 0; i < size; i++) this.m[BASE + i * SLOT] = i;
    } else this.m = sizeOrDesc;
    this.size = (this.m.length - BASE) / SLOT;
    this.mask = this.size - 1;
  }
  /** Transferable description (a worker rebuilds the queue with `new KickQueue(desc)`). */
  get desc(): Int32Array {
    return this.m;
  }

  /** Producer (any thread): queue (a, b, c) and ring the doorbell; false if the ring was full (overflow raised). */
  push(a: number, b: number, c: number): boolean {
    const m = this.m;
    for (;;) {
      const pos = Atomics.load(m, TAIL);
      const s = BASE + (pos & this.mask) * SLOT;
      const d = (Atomics.load(m, s) - pos) | 0;
      if (d === 0) {
        if (Atomics.compareExchange(m, TAIL, pos, (pos + 1) | 0) !== pos) continue;
        m[s + 1] = a;
        m[s + 2] = b;
        m[s + 3] = c;
        Atomics.store(m, s, (pos + 1) | 0); // publish (seq-cst: the fields are visible first)
        this.ring();
        return true;
      }
      if (d < 0) { // the consumer has not freed this slot yet: full
        Atomics.store(m, OVERFLOW, 1);
        this.ring();
        return false;
      }
      // d > 0: another producer took pos; reload the tail
    }
  }

  private ring(): void {
    const m = this.m;
    Atomics.add(m, DOORBELL, 1);
    // One notify per wait: the first producer to find the consumer asleep wakes it.
    if (Atomics.load(m, SLEEPING) !== 0 && Atomics.exchange(m, SLEEPING, 0) !== 0) Atomics.notify(m, DOORBELL);
  }

  /**
   * Consumer (one thread): call `fn` for each queued entry in order. Returns the number drained,
   * or -1 when the ring overflowed since the last drain (the caller must rescan every target).
   */
  drain(fn: (a: number, b: number, c: number) => void): number {
    const m = this.m;
    let pos = m[HEAD]!, n = 0;
    for (;;) {
      const s = BASE + (pos & this.mask) * SLOT;
      if (Atomics.load(m, s) !== ((pos + 1) | 0)) break;
      const a = m[s + 1]!, b = m[s + 2]!, c = m[s + 3]!;
      Atomics.store(m, s, (pos + this.size) | 0); // free the slot for the producer one lap later
      pos = (pos + 1) | 0;
      n++;
      fn(a, b, c);
    }
    Atomics.store(m, HEAD, pos);
    return Atomics.exchange(m, OVERFLOW, 0) !== 0 ? -1 : n;
  }

  /** True when an entry or an overflow is waiting. */
  get ready(): boolean {
    const m = this.m, pos = m[HEAD]!;
    return Atomics.load(m, BASE + (pos & this.mask) * SLOT) === ((pos + 1) | 0) || Atomics.load(m, OVERFLOW) !== 0;
  }

  /** The consumer waits (without blocking its event loop) until a producer rings or `timeoutMs` passes. */
  async wait(timeoutMs = Infinity): Promise<void> {
    const m = this.m, seen = Atomics.load(m, DOORBELL);
    Atomics.store(m, SLEEPING, 1);
    try {
      if (this.ready) return;
      const r = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(m, DOORBELL, seen, timeoutMs);
      if (r.async) await r.value;
    } finally {
      Atomics.store(m, SLEEPING, 0);
    }
  }
}
