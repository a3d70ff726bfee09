// SPDX-License-Identifier: GPL-2.0-only
// The A extension across real threads (issue #7): two harts, each on its own worker thread as
// pCPUs run them, increment shared counters with amoadd.w, amoadd.d (adding 2^32 - 1, so every
// add carries into the high word) and LR/SC loops in both widths; the totals must be exact.
// Spec: riscv-unpriv-20240411 §14 "A" Extension ("AMOs ... atomically", LR/SC "eventually succeed").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { A } from './test-support.ts';

const RAM_BASE = 0x8000_0000;
const DATA = RAM_BASE + 0x1000;
const ITER = 200_000;
/** Word index of the start barrier (both threads spin on it before running). */
const BARRIER = 0x3000 / 4;
/** The threaded-hart AMO path (setSharedAmo); false shows what it fixes (lost .D updates). */
const SHARED = process.env.AMO_THREADS_UNSHARED !== '1';
const LR = 0x02, SC = 0x03, ADD = 0x00;

/** The program: x5 = data, x6 = iterations, x7 = 1, x8 = 2^32 - 1, x13 = 2^32 + 1. */
function program(): number[] {
  return [
    /* 0  loop: */ A.amo(ADD, 2, 0, 5, 7), // amoadd.w x0, x7, (x5)
    /* 4  */ A.addi(10, 5, 8),
    /* 8  */ A.amo(ADD, 3, 0, 10, 8), // amoadd.d x0, x8, 8(x5)
    /* 12 */ A.addi(10, 5, 16),
    /* 16 retry_w: */ A.amo(LR, 2, 9, 10, 0), // lr.w x9, (x10)
    /* 20 */ A.addi(9, 9, 1),
    /* 24 */ A.amo(SC, 2, 11, 10, 9), // sc.w x11, x9, (x10)
    /* 28 */ A.bne(11, 0, -12),
    /* 32 */ A.addi(12, 5, 24),
    /* 36 retry_d: */ A.amo(LR, 3, 9, 12, 0), // lr.d x9, (x12)
    /* 40 */ A.add(9, 9, 13),
    /* 44 */ A.amo(SC, 3, 11, 12, 9), // sc.d x11, x9, (x12)
    /* 48 */ A.bne(11, 0, -12),
    /* 52 */ A.addi(6, 6, -1),
    /* 56 */ A.bne(6, 0, -56),
    /* 60 done: */ A.jal(0, 0),
  ];
}

function runOnThread(memory: SharedArrayBuffer, hartId: number): Promise<number> {
  const entry = new URL('../../../tests/workers/amo-stress.worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  const args: [number, number][] = [[5, DATA], [6, ITER], [7, 1], [8, 0xffff_ffff], [13, 0x1_0000_0001]];
  const w = new Worker(boot, { eval: true, workerData: { memory, ramBase: RAM_BASE, hartId, entry: RAM_BASE, done: RAM_BASE + 60, shared: SHARED, args, barrier: BARRIER, threads: 2 } });
  return new Promise((res, rej) => {
    w.on('message', (n: number) => res(n));
    w.on('error', rej);
    w.on('exit', (c) => { if (c !== 0) rej(new Error(`worker exited with ${c}`)); });
  });
}

test('amoadd.w/.d and LR/SC .w/.d loops on two real threads give exact totals', { timeout: 300_000 }, async () => {
  const memory = new SharedArrayBuffer(1 << 16);
  const m32 = new Uint32Array(memory);
  program().forEach((insn, i) => { m32[i] = insn; });
  const big = new BigUint64Array(memory);
  const counts = await Promise.all([runOnThread(memory, 0), runOnThread(memory, 1)]);
  const n = BigInt(2 * ITER), off = (DATA - RAM_BASE) / 8;
  assert.equal(m32[(DATA - RAM_BASE) / 4], 2 * ITER, 'amoadd.w total');
  assert.equal(big[off + 1], n * 0xffff_ffffn, 'amoadd.d total (every add carries into the high word)');
  assert.equal(m32[(DATA - RAM_BASE) / 4 + 4], 2 * ITER, 'lr.w/sc.w total');
  assert.equal(big[off + 3], n * 0x1_0000_0001n, 'lr.d/sc.d total');
  assert.ok(counts.every((c) => c >= ITER * 15), `instructions ${counts}`);
});
