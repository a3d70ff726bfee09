// SPDX-License-Identifier: GPL-2.0-only
// Test worker for src/hypervisor/smp/locks.test.ts: one pCPU hammering a spinlock, rwlock or
// per-CPU rwlock over shared memory, counting any mutual-exclusion violation it sees. Not a test.
import { parentPort, workerData } from 'node:worker_threads';
import { LockArena, setSmpProcessorId } from '../../src/hypervisor/smp/percpu.ts';
import { PercpuRwLock, PercpuRwlockClass } from '../../src/hypervisor/smp/percpu-rwlock.ts';
import { RwLock } from '../../src/hypervisor/smp/rwlock.ts';
import { Spinlock } from '../../src/hypervisor/smp/spinlock.ts';

interface Job {
  buf: SharedArrayBuffer; cpu: number; kind: 'spin' | 'rw' | 'percpu'; role: 'locker' | 'reader' | 'writer';
  lockAt: number; cls?: { slots: number; nrCpus: number };
  /** Word indexes: counter (plain RMW), x and y (a writer keeps them equal), readers/writers inside, stop flag. */
  w: { counter: number; x: number; y: number; rin: number; win: number; stop: number; go: number };
  /** Workers of this run: each waits at the start until all have arrived (thread start-up under load can take seconds). */
  parties: number;
  /** Lockers and writers: iterations; readers: the number of writers to outlast. */
  iters: number;
}
const j = workerData as Job;
setSmpProcessorId(j.cpu);
const a = new LockArena(0, j.buf);
const m = a.m;
let violations = 0, done = 0;

// Start barrier: no worker begins before every one has started, so readers cannot miss
// writers that finished before the readers' threads were even up.
Atomics.add(m, j.w.go, 1);
while (Atomics.load(m, j.w.go) < j.parties) Atomics.wait(m, j.w.go, Atomics.load(m, j.w.go), 1);
Atomics.notify(m, j.w.go);

function busy(n: number): number { // a little work inside the critical section widens any race window
  let s = 0;
  for (let i = 0; i < n; i++) s += i;
  return s;
}

if (j.kind === 'spin') {
  const l = new Spinlock(m, j.lockAt);
  for (let i = 0; i < j.iters; i++) {
    l.lock();
    if (Atomics.add(m, j.w.rin, 1) !== 0) violations++;
    const c = m[j.w.counter]!;
    busy(20);
    m[j.w.counter] = c + 1; // a plain read-modify-write: only the lock keeps it whole
    Atomics.sub(m, j.w.rin, 1);
    l.unlock();
    done++;
  }
} else {
  const l = j.kind === 'rw' ? new RwLock(m, j.lockAt) : new PercpuRwLock(new PercpuRwlockClass(m, j.cls!.slots, j.cls!.nrCpus), j.lockAt);
  if (j.role === 'writer') {
    for (let i = 0; i < j.iters; i++) {
      l.writeLock();
      if (Atomics.add(m, j.w.win, 1) !== 0) violations++;
      if (Atomics.load(m, j.w.rin) !== 0) violations++;
      m[j.w.x] = m[j.w.x]! + 1;
      busy(50);
      m[j.w.y] = m[j.w.y]! + 1;
      m[j.w.counter] = m[j.w.counter]! + 1;
      Atomics.sub(m, j.w.win, 1);
      l.writeUnlock();
      done++;
    }
    Atomics.add(m, j.w.stop, 1);
  } else {
    // Readers run until every writer is done (writer progress: they must finish while we keep reading).
    while (Atomics.load(m, j.w.stop) < j.iters) {
      l.readLock();
      Atomics.add(m, j.w.rin, 1);
      if (Atomics.load(m, j.w.win) !== 0) violations++;
      const x = m[j.w.x]!;
      busy(20);
      if (m[j.w.y] !== x) violations++;
      Atomics.sub(m, j.w.rin, 1);
      l.readUnlock();
      done++;
    }
  }
}
parentPort!.postMessage({ violations, done });
