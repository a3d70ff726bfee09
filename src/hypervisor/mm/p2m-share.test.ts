// SPDX-License-Identifier: GPL-2.0-only
// The shared p2m (docs/design/hypervisor.md "Shared p2m"): P2mView answers exactly as P2m
// does, picks up leaves created after it was built, and on a real worker thread sees every
// published mapping and never an entry that was not written while the main thread maps new
// leaves (up to MAX_GFN), remaps, changes mem_access and clears.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ACCESS_R, ACCESS_W, ACCESS_X, EXIT_ECALL, EXIT_PHYS_FAULT, PHYS_FAULT, PHYS_MMIO } from '../../hardware/riscv/hart-api.ts';
import { A } from '../../hardware/riscv/test-support.ts';
import type { HartExit, HartRun } from '../../../tests/workers/p2m-hart.worker.ts';
import { CTL_ACK, CTL_BATCHES, CTL_EPOCH, CTL_STOP, OP_ACCESS, OP_CLEAR, OP_SET, type P2mOp, type P2mViewResult } from '../../../tests/workers/p2m-view.worker.ts';
import { FramePool, PAGE_SIZE } from './frame-pool.ts';
import {
  MAX_GFN, P2M_GRANT_RO, P2M_GRANT_RW, P2M_INVALID, P2M_MMIO_EMUL, P2M_POD, P2M_RAM_LOGDIRTY, P2M_RAM_RO, P2M_RAM_RW, P2m,
} from './p2m.ts';
import { P2mView } from './p2m-view.ts';

const bootOf = (worker: string) => {
  const entry = new URL(`../../../tests/workers/${worker}`, import.meta.url).href;
  return `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
};
const boot = bootOf('p2m-view.worker.ts');
const NO_MMIO = { read: () => 0, write: () => {} };
const TYPES = [P2M_RAM_RW, P2M_RAM_RO, P2M_GRANT_RW, P2M_GRANT_RO, P2M_RAM_LOGDIRTY, P2M_MMIO_EMUL, P2M_POD];
const ACCS = [ACCESS_R, ACCESS_W, ACCESS_X];

test('P2mView.lookup/typeOf/mfnOf answer as P2m does for every type and access, and find leaves made after the view', () => {
  const pool = new FramePool(64);
  const p2m = new P2m(pool);
  const view = new P2mView(p2m.share(), pool.memory, NO_MMIO);
  const gfns: number[] = [];
  let g = 0x80000;
  for (const type of [...TYPES, P2M_INVALID]) {
    for (let access = 0; access < 8; access++) {
      p2m.set(g, type === P2M_MMIO_EMUL || type === P2M_POD ? -1 : 3 + (g & 31), type, access);
      gfns.push(g++);
    }
  }
  const far = [2 ** 32, 2 ** 32 + 1, 2 ** 40 + 7, MAX_GFN]; // leaves made after the view, far apart
  far.forEach((f, i) => p2m.set(f, 40 + i, P2M_RAM_RW, i === 1 ? ACCESS_R : 7));
  assert.equal(view.leafCount, 0, 'the view was built before any leaf');
  for (const x of [...gfns, ...far, 0x80000 + 600, 2 ** 33, -1, 2 ** 47, 2 ** 52]) {
    for (const acc of ACCS) assert.equal(view.lookup(x, acc), p2m.lookup(x, acc), `lookup(${x}, ${acc})`);
    assert.equal(view.typeOf(x), p2m.typeOf(x), `typeOf(${x})`);
    assert.equal(view.mfnOf(x), p2m.mfnOf(x), `mfnOf(${x})`);
  }
  assert.equal(view.lookup(0x80000 + 5 * 8 + 3, ACCESS_R), PHYS_MMIO);
  assert.equal(view.lookup(MAX_GFN, ACCESS_W), 43 * PAGE_SIZE);
  assert.equal(view.leafCount, p2m.leafCount);
  // Changes after the view learned a leaf show at once (same memory).
  p2m.setAccess(2 ** 32, ACCESS_X);
  assert.equal(view.lookup(2 ** 32, ACCESS_R), PHYS_FAULT);
  assert.equal(view.lookup(2 ** 32, ACCESS_X), 40 * PAGE_SIZE);
  assert.equal(p2m.clear(MAX_GFN), 43);
  assert.equal(view.lookup(MAX_GFN, ACCESS_R), PHYS_FAULT);
  assert.throws(() => view.set(5), /main thread/);
  assert.throws(() => view.clear(5), /main thread/);
});

test('the leaf buffer grows in place: a view keeps working across growth to hundreds of leaves', () => {
  const pool = new FramePool(8);
  const p2m = new P2m(pool, 1024);
  const view = new P2mView(p2m.share(), pool.memory, NO_MMIO);
  const before = p2m.share().leaves.byteLength;
  for (let k = 0; k < 700; k++) p2m.set(k * 512 * 1001 + (k & 511), 1 + (k % 7), P2M_RAM_RW);
  assert.ok(p2m.share().leaves.byteLength > before);
  for (let k = 0; k < 700; k++) assert.equal(view.lookup(k * 512 * 1001 + (k & 511), ACCESS_R), (1 + (k % 7)) * PAGE_SIZE);
  assert.equal(view.leafCount, 700);
  const small = new P2m(pool, 2);
  small.set(0, 1, P2M_RAM_RW);
  small.set(512, 1, P2M_RAM_RW);
  assert.throws(() => small.set(1024, 1, P2M_RAM_RW), /out of leaf space/);
});

/** The main thread's operations: new leaves over the run (dense, beyond 2^32, near MAX_GFN), then remaps, mem_access changes and clears. */
function schedule(): { ops: P2mOp[]; pre: number; gfns: number[] } {
  let seed = 12345;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const tops = [0x400, 0x401, 0x80]; // RAM at 0x8000_0000, a device page at 0x1000_0000
  for (let k = 0; k < 300; k++) tops.push(k < 100 ? 0x1000 + 3 * k : k < 200 ? 2 ** 23 + 1000 * k : 2 ** 37 + 7777 * k);
  tops.push(2 ** 31, 2 ** 31 + 1, Math.floor(MAX_GFN / 512)); // gfn 2^40 and the last leaf
  const gfnsOf = (top: number) => [0, 1, 257, 511].map((i) => top * 512 + i);
  const ops: P2mOp[] = [];
  const live = new Set<number>();
  const cur: number[] = [];
  let mfn = 1;
  const set = (g: number) => {
    const type = TYPES[rnd(TYPES.length)]!;
    ops.push([OP_SET, g, type === P2M_MMIO_EMUL || type === P2M_POD ? -1 : mfn++, type, rnd(8)]);
    live.add(g);
  };
  const activate = (top: number) => { cur.push(...gfnsOf(top)); set(gfnsOf(top)[rnd(4)]!); };
  tops.slice(0, 3).forEach(activate);
  for (let i = 0; i < 40; i++) set(cur[rnd(cur.length)]!);
  const pre = ops.length; // applied before the worker starts
  let next = 3;
  while (ops.length < pre + 30_000) {
    if (ops.length % 90 === 0 && next < tops.length) activate(tops[next++]!);
    const g = cur[rnd(cur.length)]!, r = rnd(100);
    if (!live.has(g) || r < 45) set(g);
    else if (r < 75) ops.push([OP_ACCESS, g, 0, 0, rnd(8)]);
    else { ops.push([OP_CLEAR, g, 0, 0, 0]); live.delete(g); }
  }
  while (next < tops.length) activate(tops[next++]!);
  return { ops, pre, gfns: tops.flatMap(gfnsOf) };
}

function apply(p2m: P2m, [op, gfn, mfn, type, access]: P2mOp): void {
  if (op === OP_SET) p2m.set(gfn, mfn, type, access);
  else if (op === OP_ACCESS) p2m.setAccess(gfn, access);
  else p2m.clear(gfn);
}

/** Wait (blocking this thread, as a test may) until ctl[i] !== v or ms pass; false on timeout. */
function waitChange(ctl: Int32Array, i: number, v: number, ms: number): boolean {
  const end = performance.now() + ms;
  while (Atomics.load(ctl, i) === v) {
    if (performance.now() > end) return false;
    Atomics.wait(ctl, i, v, Math.max(1, end - performance.now()));
  }
  return true;
}

test('a worker thread looks up through P2mView while the main thread maps new leaves (to MAX_GFN), remaps, restricts and clears', async () => {
  const pool = new FramePool(16);
  const p2m = new P2m(pool);
  const { ops, pre, gfns } = schedule();
  for (const op of ops.slice(0, pre)) apply(p2m, op);
  const checkpoints = [pre];
  for (let n = pre + 500; n < ops.length; n += 500) checkpoints.push(n);
  checkpoints.push(ops.length);
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  ctl[CTL_ACK] = -1;
  const w = new Worker(boot, { eval: true, workerData: { share: p2m.share(), memory: pool.memory, ctl, ops, checkpoints, gfns } });
  try {
    await new Promise((r, j) => { w.once('message', r); w.once('error', j); });
    const done = new Promise<P2mViewResult>((r, j) => { w.once('message', r); w.once('error', j); });
    const leavesAtStart = p2m.leafCount;
    let paced = 0;
    for (let k = 0; k < checkpoints.length; k++) {
      for (let i = checkpoints[k - 1] ?? pre; i < checkpoints[k]!; i++) {
        apply(p2m, ops[i]!);
        // Let the worker run a batch of lookups between every few changes (a loaded host may not schedule it otherwise).
        if (i % 16 === 0 && waitChange(ctl, CTL_BATCHES, Atomics.load(ctl, CTL_BATCHES), 20)) paced++;
      }
      Atomics.store(ctl, CTL_EPOCH, k);
      Atomics.notify(ctl, CTL_EPOCH);
      assert.ok(waitChange(ctl, CTL_ACK, k - 1, 60_000), `worker did not check checkpoint ${k}`);
      assert.equal(Atomics.load(ctl, CTL_ACK), k);
    }
    Atomics.store(ctl, CTL_STOP, 1);
    const res = await done;
    assert.deepEqual(res.bad, [], 'the worker saw an entry that was never written or missed a published one');
    assert.equal(res.checked, checkpoints.length * gfns.length * 3);
    assert.ok(leavesAtStart <= 3 && p2m.leafCount === gfns.length / 4, `leaves ${leavesAtStart} -> ${p2m.leafCount}`);
    assert.equal(res.leaves, p2m.leafCount, 'the view learned every leaf made after it');
    assert.ok(paced > 100, `only ${paced} lookup batches interleaved with the changes`);
    assert.ok(res.mapped > 0 && res.mmio > 0, `lookups ${res.lookups}: ${res.mapped} mapped, ${res.mmio} MMIO`);
  } finally {
    await w.terminate();
  }
});

test('P2mView never sees half an update: one gfn flipped between two entries as fast as the main thread can, read as fast as a worker can', async () => {
  const pool = new FramePool(16);
  const p2m = new P2m(pool);
  const G = 2 ** 32 + 77;
  // A grants only reads of frame 5, B only execution of frame 9: an mfn with the other's rights would grant what neither does.
  // A2 is A after setAccess(X): frame 5 executable but not readable.
  const A = { type: P2M_RAM_RW, access: ACCESS_R, mfn: 5 }, B = { type: P2M_RAM_RO, access: ACCESS_X, mfn: 9 }, A2 = { ...A, access: ACCESS_X };
  p2m.set(G, A.mfn, A.type, A.access);
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const w = new Worker(boot, { eval: true, workerData: { mode: 'hot', share: p2m.share(), memory: pool.memory, ctl, hotGfn: G, hotStates: [A, B, A2] } });
  try {
    await new Promise((r, j) => { w.once('message', r); w.once('error', j); });
    const done = new Promise<P2mViewResult>((r, j) => { w.once('message', r); w.once('error', j); });
    assert.ok(waitChange(ctl, CTL_BATCHES, 0, 30_000), 'the worker never ran');
    const t0 = performance.now(), b0 = Atomics.load(ctl, CTL_BATCHES);
    let flips = 0; // at least 300 ms, and 300 worker batches (230k reads) meanwhile unless 3 s pass
    while ((performance.now() < t0 + 300 || Atomics.load(ctl, CTL_BATCHES) < b0 + 300) && performance.now() < t0 + 3000) {
      for (let i = 0; i < 1000; i++, flips++) {
        p2m.set(G, B.mfn, B.type, B.access);
        if (i % 3 === 0) p2m.clear(G);
        p2m.set(G, A.mfn, A.type, A.access);
        if (i % 5 === 0) { p2m.setAccess(G, ACCESS_X); p2m.setAccess(G, ACCESS_R); } // A2, then A again
      }
    }
    Atomics.store(ctl, CTL_STOP, 1);
    const res = await done;
    assert.deepEqual(res.bad, [], 'a torn entry');
    assert.ok(flips > 0 && res.seen![0]! > 0 && res.seen![1]! > 0, `flips ${flips}, lookups ${res.lookups}, saw A ${res.seen![0]} B ${res.seen![1]}`);
  } finally {
    await w.terminate();
  }
});

test('a guest hart on a worker thread runs with P2mView as its PhysTranslation: RAM, MMIO, remap, mem_access and a leaf made later', async () => {
  const pool = new FramePool(16);
  const p2m = new P2m(pool);
  const [code, data, data2, far] = pool.alloc(1, 4)!;
  const CODE = 0x80000, DATA = 0x80001, DEV = 0x10000, FAR = 2 ** 33; // gfns
  p2m.set(CODE, code!, P2M_RAM_RW, ACCESS_R | ACCESS_X);
  p2m.set(DATA, data!, P2M_RAM_RW);
  p2m.set(DEV, -1, P2M_MMIO_EMUL);
  // ld x7, 0(x5); addi x7, x7, 1; sd x7, 0(x5); sw x7, 0(x6); ecall
  [A.ld(7, 5, 0), A.addi(7, 7, 1), A.sd(7, 5, 0), A.sw(7, 6, 0), A.ecall()].forEach((w, i) => pool.view.setUint32(code! * PAGE_SIZE + 4 * i, w, true));
  pool.view.setBigUint64(data! * PAGE_SIZE, 41n, true);
  const w = new Worker(bootOf('p2m-hart.worker.ts'), { eval: true, workerData: { share: p2m.share(), memory: pool.memory } });
  const run = (x5: number, flush = true) => new Promise<HartExit>((r, j) => {
    w.once('message', r); w.once('error', j);
    w.postMessage({ pc: CODE * PAGE_SIZE, x5: x5 * PAGE_SIZE, x6: DEV * PAGE_SIZE, flush } satisfies HartRun);
  });
  try {
    await new Promise((r, j) => { w.once('message', r); w.once('error', j); });
    let x = await run(DATA, false);
    assert.deepEqual([x.exit, x.x7, x.mmio], [EXIT_ECALL, '42', [[DEV * PAGE_SIZE, 4, 42]]]);
    assert.equal(pool.view.getBigUint64(data! * PAGE_SIZE, true), 42n, 'the store reached the frame the p2m maps');
    // Remap DATA to another frame (the main thread's onChange would flush the vCPU's TLB).
    pool.view.setBigUint64(data2! * PAGE_SIZE, 100n, true);
    p2m.set(DATA, data2!, P2M_RAM_RW);
    x = await run(DATA);
    assert.deepEqual([x.exit, x.x7], [EXIT_ECALL, '101']);
    assert.equal(pool.view.getBigUint64(data2! * PAGE_SIZE, true), 101n);
    assert.equal(pool.view.getBigUint64(data! * PAGE_SIZE, true), 42n, 'the old frame is no longer written');
    // mem_access: reads only; the store is a second-stage fault.
    p2m.setAccess(DATA, ACCESS_R);
    x = await run(DATA);
    assert.deepEqual([x.exit, x.gpa, x.access], [EXIT_PHYS_FAULT, DATA * PAGE_SIZE, ACCESS_W]);
    // A leaf made after the worker built its view (gfn 2^33, GPA 2^45).
    pool.view.setBigUint64(far! * PAGE_SIZE, 7n, true);
    p2m.set(FAR, far!, P2M_RAM_RW);
    x = await run(FAR);
    assert.deepEqual([x.exit, x.x7], [EXIT_ECALL, '8']);
    assert.equal(pool.view.getBigUint64(far! * PAGE_SIZE, true), 8n);
    p2m.clear(FAR);
    x = await run(FAR);
    assert.deepEqual([x.exit, x.gpa, x.access], [EXIT_PHYS_FAULT, FAR * PAGE_SIZE, ACCESS_R]);
  } finally {
    await w.terminate();
  }
});
