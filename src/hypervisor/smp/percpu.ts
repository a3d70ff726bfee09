// SPDX-License-Identifier: GPL-2.0-only
// This thread's pCPU number (Xen's smp_processor_id()) and the shared word arena the SMP locks
// live in. Each worker thread has its own copy of this module, so the module-level pCPU number
// is naturally per thread; a pCPU worker sets it once at start. Xen: xen/include/xen/smp.h.

let thisCpu = 0;

/** smp_processor_id(): the pCPU this thread plays (0 on the main thread unless set). */
export function smpProcessorId(): number {
  return thisCpu;
}
export function setSmpProcessorId(cpu: number): void {
  if (!Number.isInteger(cpu) || cpu < 0) throw new RangeError(`pCPU id ${cpu}`);
  thisCpu = cpu;
}

/** Xen's NR_CPUS for per-CPU lock slots (a host may have fewer pCPUs online). */
export const NR_CPUS = 64;

/**
 * Words of shared memory for locks, handed out by the main thread (bump allocation) and sent
 * to workers as the SharedArrayBuffer plus word offsets. Each lock starts on its own 64-byte
 * line, as Xen keeps hot locks apart, so two locks never share a cache line.
 */
export class LockArena {
  readonly m: Int32Array;
  private next = 0;
  constructor(words = 1 << 16, buffer?: SharedArrayBuffer) {
    this.m = new Int32Array(buffer ?? new SharedArrayBuffer(words * 4));
  }
  get buffer(): SharedArrayBuffer {
    return this.m.buffer as SharedArrayBuffer;
  }
  /** `n` zeroed words on a fresh 16-word line; returns the word index. */
  alloc(n: number): number {
    const at = (this.next + 15) & ~15;
    if (at + n > this.m.length) throw new RangeError(`lock arena full (${this.m.length} words)`);
    this.next = at + n;
    return at;
  }
}

/** cpu_relax() for a spinning waiter: spin a while, then sleep on `idx` while it still holds `seen`. */
export const SPINS_BEFORE_SLEEP = 200;
export function relaxWait(m: Int32Array, idx: number, seen: number, sleepers: number, spins: number): number {
  if (spins < SPINS_BEFORE_SLEEP) return spins + 1;
  Atomics.add(m, sleepers, 1);
  Atomics.wait(m, idx, seen, 1); // 1 ms at most: a waker notifies `idx` after changing it
  Atomics.sub(m, sleepers, 1);
  return 0;
}
/** Wake the sleepers of `idx` after changing it (only when someone sleeps: no syscall on the fast path). */
export function wakeSleepers(m: Int32Array, idx: number, sleepers: number): void {
  if (Atomics.load(m, sleepers) > 0) Atomics.notify(m, idx);
}
