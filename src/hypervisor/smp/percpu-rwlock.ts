// SPDX-License-Identifier: GPL-2.0-only
// Xen 4.7's per-CPU read-write lock (xen/include/xen/rwlock.h _percpu_read_lock & co.,
// xen/common/rwlock.c _percpu_write_lock; xen-digest §9.4). A lock *class* (Xen's
// DEFINE_PERCPU_RWLOCK_GLOBAL, e.g. grant_rwlock) has one owner slot per pCPU saying which lock
// of the class that pCPU is reading. A reader only writes its own slot (no shared cache line
// is written, so readers on different pCPUs do not bounce a line); a writer takes the
// underlying rwlock, raises writer_activating and waits until no pCPU's slot names the lock.
// Readers that see writer_activating, or already read another lock of the class, fall back to
// the underlying rwlock. No recursion on one lock; one reader per lock per pCPU at a time.
import { NR_CPUS, SPINS_BEFORE_SLEEP, smpProcessorId, type LockArena } from './percpu.ts';
import { RWLOCK_WORDS, RwLock } from './rwlock.ts';

/** Words between two pCPUs' owner slots: one 64-byte line each, as Xen's per-CPU areas are apart (no false sharing). */
export const SLOT_STRIDE = 16;

/** A lock class: NR_CPUS owner slots (0 = none, else the id of the lock being read) and the next id. */
export class PercpuRwlockClass {
  /**
   * This thread's copy of its pCPU's slot. Only that pCPU writes its slot, so the copy is exact and
   * the read path checks it without a shared-memory load (each thread builds its own class object).
   */
  readonly mine: Int32Array;
  constructor(readonly m: Int32Array, readonly slots: number, readonly nrCpus = NR_CPUS) {
    this.mine = new Int32Array(nrCpus);
  }
  static alloc(a: LockArena, nrCpus = NR_CPUS): PercpuRwlockClass {
    const at = a.alloc(nrCpus * SLOT_STRIDE + 1);
    Atomics.store(a.m, at + nrCpus * SLOT_STRIDE, 1); // next lock id (ids start at 1: 0 = no lock)
    return new PercpuRwlockClass(a.m, at, nrCpus);
  }
  /** Word index of pCPU `cpu`'s owner slot. */
  slotOf(cpu: number): number {
    return this.slots + cpu * SLOT_STRIDE;
  }
  /** Transferable description (for a worker: rebuild with the arena's buffer). */
  get desc(): { slots: number; nrCpus: number } {
    return { slots: this.slots, nrCpus: this.nrCpus };
  }
  nextId(): number {
    return Atomics.add(this.m, this.slots + this.nrCpus * SLOT_STRIDE, 1);
  }
}

function badCpu(cpu: number, nr: number): never {
  throw new RangeError(`percpu rwlock: pCPU ${cpu} >= ${nr}`);
}
function recursion(): never {
  throw new Error('percpu rwlock: recursive read lock');
}

/** Words: the rwlock, writer_activating, the lock's id in its class, the writer's sleep counter. */
export const PERCPU_RWLOCK_WORDS = RWLOCK_WORDS + 3;

export class PercpuRwLock {
  readonly rwlock: RwLock;
  private readonly wa: number;
  readonly id: number;
  private readonly slots: number;
  private readonly nrCpus: number;
  private readonly m: Int32Array;
  private readonly mine: Int32Array;

  constructor(readonly cls: PercpuRwlockClass, readonly at: number) {
    this.m = cls.m;
    this.mine = cls.mine;
    this.rwlock = new RwLock(cls.m, at);
    this.wa = at + RWLOCK_WORDS;
    this.id = Atomics.load(cls.m, at + RWLOCK_WORDS + 1);
    this.slots = cls.slots;
    this.nrCpus = cls.nrCpus;
    if (this.id <= 0) throw new Error('percpu rwlock: not initialised (use PercpuRwLock.alloc)');
  }
  /** percpu_rwlock_resource_init: a new lock of class `cls` in arena `a`. */
  static alloc(a: LockArena, cls: PercpuRwlockClass): PercpuRwLock {
    const at = a.alloc(PERCPU_RWLOCK_WORDS);
    Atomics.store(a.m, at + RWLOCK_WORDS + 1, cls.nextId());
    return new PercpuRwLock(cls, at);
  }

  readLock(): void {
    const cpu = smpProcessorId(), mine = this.mine, id = this.id;
    if (cpu >= this.nrCpus) badCpu(cpu, this.nrCpus);
    const cur = mine[cpu]!;
    if (cur === id) recursion();
    if (cur !== 0) { // reading another lock of this class: the plain rwlock
      this.rwlock.readLock();
      return;
    }
    const m = this.m, s = this.slots + cpu * SLOT_STRIDE;
    mine[cpu] = id;
    Atomics.store(m, s, id); // seq-cst store: smp_mb() before the writer_activating check
    if (Atomics.load(m, this.wa) !== 0) {
      Atomics.store(m, s, 0); // let the writer see we are not reading
      this.rwlock.readLock(); // wait behind the writer (fair)
      Atomics.store(m, s, id);
      this.rwlock.readUnlock();
    }
  }

  readUnlock(): void {
    const cpu = smpProcessorId(), mine = this.mine;
    if (mine[cpu] !== this.id) {
      this.rwlock.readUnlock();
      return;
    }
    mine[cpu] = 0;
    Atomics.store(this.m, this.slots + cpu * SLOT_STRIDE, 0); // the writer polls the slot (no wake-up: writers are rare)
  }

  writeLock(): void {
    const m = this.m, id = this.id;
    if (this.cls.mine[smpProcessorId()] === id) throw new Error('percpu rwlock: write lock while this pCPU reads it');
    this.rwlock.writeLock();
    Atomics.store(m, this.wa, 1); // seq-cst: smp_mb() before scanning the slots
    for (let cpu = 0; cpu < this.nrCpus; cpu++) {
      let spins = 0;
      for (;;) {
        const s = this.slots + cpu * SLOT_STRIDE;
        const v = Atomics.load(m, s);
        if (v !== id) break;
        if (++spins > SPINS_BEFORE_SLEEP) Atomics.wait(m, this.wa + 2, 0, 0.05); // readers do not notify: poll every 50 us
      }
    }
  }

  writeUnlock(): void {
    Atomics.store(this.m, this.wa, 0);
    this.rwlock.writeUnlock();
  }

  isWriteLocked(): boolean {
    return this.rwlock.isWriteLocked();
  }
}
