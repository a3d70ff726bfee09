// SPDX-License-Identifier: GPL-2.0-only
// Grant copy from two pCPU worker threads on the same grant tables over shared memory, while
// the main thread takes the table's write lock (setup_table growth): every copy succeeds with
// the right bytes, and pins, GTF_reading and frame pins balance back to zero (the active-entry
// locks and the per-CPU rwlock at work). Both table locks are exercised. The worker reads the
// domains' live p2m (P2mView): a mapping made or removed after it started counts at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { attachEvtchnGnttab } from '../event/attach.ts';
import { makeHv, pvDomain } from '../hypercall/test-support.ts';
import { GTF_readonly, GTF_permit_access } from '../public/grant-table.ts';
import { P2M_INVALID, P2M_RAM_RW } from '../mm/p2m.ts';
import type { GrantLockKind } from './grant-table.ts';
import { grantSmpDesc } from './smp-view.ts';
import { assertCopiesSettled } from './smp-test-support.ts';

const entry = new URL('../../../tests/workers/grant-copy.worker.ts', import.meta.url).href;
const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
const PAGE = 4096, SRC = 0x80180, DST = [0x80190, 0x80191];

for (const kind of ['percpu', 'rwlock'] as GrantLockKind[]) {
  test(`grant copy on 2 worker pCPUs, same grant ref, with a writer on the main thread (${kind} table lock)`, async () => {
    const { hv } = makeHv();
    const x = attachEvtchnGnttab(hv);
    x.grants.lockKind = kind;
    const a = pvDomain(hv), b = pvDomain(hv);
    const ta = x.grants.get(a.domid)!;
    ta.seedEntry(8, b.domid, SRC, GTF_permit_access | GTF_readonly);
    const srcMfn = a.p2m.mfnOf(SRC);
    for (let i = 0; i < PAGE; i++) hv.pool.bytes[srcMfn * PAGE + i] = (i * 7 + 3) & 0xff;
    const desc = grantSmpDesc(x.grants, [a.domid, b.domid]);
    const go = new Int32Array(new SharedArrayBuffer(4));
    const ws = [1, 2].map((cpu) => new Worker(boot, { eval: true, workerData: { desc, cpu, go } }));
    try {
      await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))));
      const iters = 4000;
      const done = ws.map((w, i) => new Promise<{ bad: number }>((r, j) => { w.once('message', r); w.once('error', j); w.postMessage({ mode: 'grant', caller: b.domid, srcDom: a.domid, srcRef: 8, dstGfn: DST[i], len: PAGE, iters }); }));
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
      let finished = false;
      const all = Promise.all(done).finally(() => { finished = true; });
      let grows = 0;
      for (let n = 2; !finished; n = n === 4 ? 2 : n + 1) { // writers: setup_table under the write lock
        assert.equal(ta.setup(n).status, 0);
        grows++;
        await new Promise((r) => setImmediate(r));
      }
      const rs = await all;
      assert.deepEqual(rs.map((r) => r.bad), [0, 0], 'a copy failed');
      assert.ok(grows > 0);
      assertCopiesSettled(x.grants, a, 8, srcMfn, b, DST);
    } finally {
      await Promise.all(ws.map((w) => w.terminate()));
    }
  });
}

test('grant copy on a worker pCPU reads the live p2m: a frame mapped after the worker started is the destination, and unmapped it is refused', async () => {
  const { hv } = makeHv();
  const x = attachEvtchnGnttab(hv);
  const a = pvDomain(hv), b = pvDomain(hv);
  x.grants.get(a.domid)!.seedEntry(8, b.domid, SRC, GTF_permit_access | GTF_readonly);
  const srcMfn = a.p2m.mfnOf(SRC);
  for (let i = 0; i < PAGE; i++) hv.pool.bytes[srcMfn * PAGE + i] = (i * 5 + 1) & 0xff;
  const desc = grantSmpDesc(x.grants, [a.domid, b.domid]);
  const go = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(go, 0, 1);
  const w = new Worker(boot, { eval: true, workerData: { desc, cpu: 1, go } });
  const copy = (dstGfn: number) => new Promise<{ bad: number }>((r, j) => {
    w.once('message', r); w.once('error', j);
    w.postMessage({ mode: 'grant', caller: b.domid, srcDom: a.domid, srcRef: 8, dstGfn, len: PAGE, iters: 1 });
  });
  try {
    await new Promise((r) => w.once('message', r));
    const NEW = 0x9f000; // beyond b's RAM: no entry when the worker started
    assert.equal(b.p2m.typeOf(NEW), P2M_INVALID);
    const [m] = hv.pool.alloc(b.domid, 1)!;
    b.p2m.set(NEW, m!, P2M_RAM_RW);
    assert.equal((await copy(NEW)).bad, 0, 'copy into a frame mapped after the worker started');
    assert.deepEqual(hv.pool.bytes.subarray(m! * PAGE, m! * PAGE + PAGE), hv.pool.bytes.subarray(srcMfn * PAGE, srcMfn * PAGE + PAGE));
    b.p2m.clear(NEW);
    assert.equal((await copy(NEW)).bad, 1, 'copy into a gfn unmapped since is refused');
  } finally {
    await w.terminate();
  }
});
