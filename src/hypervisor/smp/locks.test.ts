// SPDX-License-Identifier: GPL-2.0-only
// The SMP locks on real worker threads over shared memory: the ticket spinlock keeps a plain
// read-modify-write whole, the rwlock and Xen 4.7's per-CPU rwlock exclude writers from readers
// and each other, and writers make progress while readers keep re-taking the lock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { LockArena, setSmpProcessorId, smpProcessorId } from './percpu.ts';
import { PercpuRwLock, PercpuRwlockClass } from './percpu-rwlock.ts';
import { RwLock } from './rwlock.ts';
import { Spinlock } from './spinlock.ts';

const entry = new URL('../../../tests/workers/smp-locks.worker.ts', import.meta.url).href;
const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;

function run(job: Record<string, unknown>): Promise<{ violations: number; done: number }> {
  return new Promise((res, rej) => {
    const w = new Worker(boot, { eval: true, workerData: job });
    w.once('message', res);
    w.once('error', rej);
  });
}
function words(a: LockArena) {
  const b = a.alloc(16);
  return { counter: b, x: b + 1, y: b + 2, rin: b + 3, win: b + 4, stop: b + 5, go: b + 6 };
}

test('ticket spinlock: 3 threads x 20000 plain increments, none lost, never two inside', async () => {
  const a = new LockArena(1024);
  const l = Spinlock.alloc(a), w = words(a);
  const iters = 20_000;
  const rs = await Promise.all([1, 2, 3].map((cpu) => run({ buf: a.buffer, cpu, kind: 'spin', role: 'locker', lockAt: l.at, w, iters, parties: 3 })));
  assert.deepEqual(rs.map((r) => r.violations), [0, 0, 0]);
  assert.equal(a.m[w.counter], 3 * iters);
  assert.equal(l.isLocked(), false);
  assert.equal(l.trylock(), true);
  assert.equal(l.trylock(), false, 'held');
  l.unlock();
});

for (const kind of ['rw', 'percpu'] as const) {
  test(`${kind === 'rw' ? 'rwlock' : 'per-CPU rwlock'}: 2 writers and 2 readers on 4 threads: exclusion holds, writers finish, no update lost`, async () => {
    const a = new LockArena(1024);
    const cls = PercpuRwlockClass.alloc(a, 8);
    const lockAt = kind === 'rw' ? RwLock.alloc(a).at : PercpuRwLock.alloc(a, cls).at;
    const w = words(a);
    const iters = 3000;
    const base = { buf: a.buffer, kind, lockAt, cls: cls.desc, w, iters: 2 /* readers: until both writers are done */, parties: 4 };
    const rs = await Promise.all([
      run({ ...base, cpu: 1, role: 'reader' }), run({ ...base, cpu: 2, role: 'reader' }),
      run({ ...base, cpu: 3, role: 'writer', iters }), run({ ...base, cpu: 4, role: 'writer', iters }),
    ]);
    assert.deepEqual(rs.map((r) => r.violations), [0, 0, 0, 0]);
    assert.equal(a.m[w.counter], 2 * iters, 'writer updates lost');
    assert.equal(a.m[w.x], 2 * iters);
    assert.ok(rs[0]!.done + rs[1]!.done > 0, 'readers never got in');
  });
}

test('per-CPU rwlock: readers touch only their own slot; a second lock of the class falls back to the rwlock', () => {
  const a = new LockArena(1024);
  const cls = PercpuRwlockClass.alloc(a, 4);
  const l1 = PercpuRwLock.alloc(a, cls), l2 = PercpuRwLock.alloc(a, cls);
  assert.notEqual(l1.id, l2.id);
  const before = smpProcessorId();
  setSmpProcessorId(2);
  try {
    l1.readLock();
    assert.equal(a.m[cls.slotOf(2)], l1.id, 'fast path: the slot names the lock');
    assert.equal(l1.rwlock.isLocked(), false, 'fast path: the shared counter is untouched');
    l2.readLock();
    assert.equal(l2.rwlock.isLocked(), true, 'second lock of the class: read_lock');
    assert.throws(() => l1.readLock(), /recursive/);
    assert.throws(() => l1.writeLock(), /while this pCPU reads/);
    l2.readUnlock();
    l1.readUnlock();
    assert.equal(a.m[cls.slotOf(2)], 0);
    assert.equal(l2.rwlock.isLocked(), false);
    l1.writeLock();
    assert.equal(l1.isWriteLocked(), true);
    l1.writeUnlock();
    assert.equal(l1.rwlock.isLocked(), false);
  } finally {
    setSmpProcessorId(before);
  }
});
