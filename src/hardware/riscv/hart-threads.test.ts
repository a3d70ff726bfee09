// SPDX-License-Identifier: GPL-2.0-only
// A hart on a real worker thread (as a pCPU runs a vCPU) driven from the main thread:
//  - a cross-thread TLB flush request (Hart.requestFlush / flushPending): the main thread remaps
//    the page the guest loop reads (a PhysTranslation over shared words), the hart keeps its
//    stale translation until asked, then applies the request without exiting and acknowledges;
//  - 64-bit single-copy atomicity: one thread stores alternating doublewords (including NaN bit
//    patterns) with SD while another loads them with LD; no load may see a mix of two stores.
//    TSXEN_SPLIT_LDSD=1 (the old two-halves path, mem64.ts) makes the same test see torn values.
// Spec: riscv-unpriv-20240411 §2.6 (aligned loads and stores) and §17 RVWMO (single-copy
// atomicity); riscv-priv-20240411 §10.2.1 "Supervisor Memory-Management Fence Instruction".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { FLUSH_TLB } from './hart-state.ts';
import { Hart } from './hart.ts';
import { A, RAM_BASE, SharedMapPhys, setx } from './test-support.ts';

const SPLIT = process.env.TSXEN_SPLIT_LDSD === '1';
const clock = { now: () => 0, frequency: 10_000_000 };

interface Running { control: Int32Array; done: Promise<{ instructions: number; exits: number }> }

function startHart(memory: SharedArrayBuffer, map: SharedArrayBuffer, state: SharedArrayBuffer, jit: boolean): Running {
  const entry = new URL('../../../tests/workers/hart-shared.worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  const control = new Int32Array(new SharedArrayBuffer(8));
  const w = new Worker(boot, { eval: true, workerData: { memory, map, state, control: control.buffer, jit } });
  const done = new Promise<{ instructions: number; exits: number }>((res, rej) => {
    w.on('message', res);
    w.on('error', rej);
    w.on('exit', (c) => { if (c !== 0) rej(new Error(`worker exited with ${c}`)); });
  });
  return { control, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/** A hart over a new state block at `pc` with registers set, for a worker to adopt. */
function setUp(phys: SharedMapPhys, regs: [number, bigint][]): Hart {
  const h = new Hart({ hartId: 0, phys, clock, resetPc: RAM_BASE });
  for (const [r, v] of regs) setx(h, r, v);
  return h;
}

test('a TLB flush requested from another thread reaches the running hart, which acknowledges it', { timeout: 120_000 }, async () => {
  const memory = new SharedArrayBuffer(1 << 20), map = SharedMapPhys.identityMap(memory);
  const phys = new SharedMapPhys(memory, map), big = new BigUint64Array(memory), m32 = new Int32Array(memory);
  const DATA = RAM_BASE + 0x10000, OUT = RAM_BASE + 0x20000, NEW_FRAME = 0x40000;
  big[0x10000 / 8] = 0xaaaa_aaaa_0000_0001n;
  big[NEW_FRAME / 8] = 0xbbbb_bbbb_0000_0002n;
  // loop: ld x10, 0(x5); sd x10, 0(x6); addi x7, x7, 1; sw x7, 8(x6); j loop
  [A.ld(10, 5, 0), A.sd(10, 6, 0), A.addi(7, 7, 1), A.sw(7, 6, 8), A.jal(0, -16)].forEach((w, i) => { m32[i] = w | 0; });
  const owner = setUp(phys, [[5, BigInt(DATA)], [6, BigInt(OUT)]]);
  const run = startHart(memory, map, owner.state, true);
  const result = () => big[0x20000 / 8]!, iters = () => Atomics.load(m32, 0x20008 / 4);
  await until('the guest loop', () => iters() > 1000);
  assert.equal(result(), 0xaaaa_aaaa_0000_0001n);
  // Remap the page behind the hart's back: it may (and does) keep using its TLB entry.
  Atomics.store(phys.map, (DATA - RAM_BASE) / 4096, NEW_FRAME);
  const i0 = iters();
  await until('more loop passes', () => iters() > i0 + 100_000);
  assert.equal(result(), 0xaaaa_aaaa_0000_0001n, 'without a flush the hart still uses its cached translation');
  // The remote flush: no exit requested, the hart applies it at its next poll and acknowledges.
  owner.requestFlush(FLUSH_TLB);
  await until('the flush acknowledgement', () => owner.flushPending() === 0);
  const i1 = iters();
  await until('two passes after the acknowledgement', () => iters() >= i1 + 2);
  assert.equal(result(), 0xbbbb_bbbb_0000_0002n, 'the first load after the acknowledgement reads the new frame');
  Atomics.store(run.control, 0, 1);
  const r = await run.done;
  assert.equal(r.exits, 0, 'the flush needed no exit');
  // The parked state block continues on this thread's hart object, where it left off.
  const n = r.instructions;
  assert.equal(owner.instructions, 0, 'before resuming: this object ran nothing');
  owner.step(5);
  assert.equal(owner.instructions, n + 5, 'the instruction count continues across the hand-off');
});

// Doublewords the writer stores in turn; any mix of two of them (low word of one, high word of
// another) is outside the set, except pairs sharing a half.
const PATTERNS = [
  0x0000_0000_ffff_ffffn, 0xffff_ffff_0000_0000n, 0x7ff0_0000_0000_0001n /* signalling NaN */,
  0xfff8_0000_0000_0000n /* negative quiet NaN */, 0xfff7_ffff_fff7_ffffn /* V8's "hole" NaN */,
];

async function tearRun(jit: boolean): Promise<{ torn: bigint; reads: bigint; writes: number }> {
  const memory = new SharedArrayBuffer(1 << 20), map = SharedMapPhys.identityMap(memory);
  const phys = new SharedMapPhys(memory, map), m32 = new Int32Array(memory);
  const CELL = RAM_BASE + 0x10000, W_CODE = 0, R_CODE = 0x100;
  // Writer (x5 = cell, x10..x14 = patterns): sd each in turn; j back.
  [A.sd(10, 5, 0), A.sd(11, 5, 0), A.sd(12, 5, 0), A.sd(13, 5, 0), A.sd(14, 5, 0), A.jal(0, -20)]
    .forEach((w, i) => { m32[W_CODE / 4 + i] = w | 0; });
  // Reader: ld x15; a match with 0 (initial) or any pattern -> ok; else x20++. x21 counts reads.
  [A.ld(15, 5, 0), A.beq(15, 0, 28), A.beq(15, 10, 24), A.beq(15, 11, 20), A.beq(15, 12, 16), A.beq(15, 13, 12),
    A.beq(15, 14, 8), A.addi(20, 20, 1), A.addi(21, 21, 1), A.jal(0, -36)]
    .forEach((w, i) => { m32[R_CODE / 4 + i] = w | 0; });
  const regs: [number, bigint][] = [[5, BigInt(CELL)], ...PATTERNS.map((p, i): [number, bigint] => [10 + i, p])];
  const writer = setUp(phys, regs), reader = setUp(phys, regs);
  reader.setPc(RAM_BASE + R_CODE);
  const w = startHart(memory, map, writer.state, jit), r = startHart(memory, map, reader.state, jit);
  await until('both threads', () => Atomics.load(w.control, 1) === 1 && Atomics.load(r.control, 1) === 1);
  await sleep(1500);
  Atomics.store(w.control, 0, 1);
  Atomics.store(r.control, 0, 1);
  const [wr] = await Promise.all([w.done, r.done]);
  const x = (i: number) => (BigInt(reader.getXHi(i) >>> 0) << 32n) | BigInt(reader.getXLo(i) >>> 0);
  return { torn: x(20), reads: x(21), writes: Math.floor(wr.instructions * 5 / 6) };
}

for (const jit of [true, false]) {
  test(`aligned SD and LD on two threads are single-copy atomic (${jit ? 'translated blocks' : 'interpreter'})`, { timeout: 120_000 }, async () => {
    const { torn, reads, writes } = await tearRun(jit);
    assert.ok(reads > 50_000n && writes > 50_000, `the loops ran: ${reads} loads, ${writes} stores`);
    if (SPLIT) assert.ok(torn > 0n, `the two-halves path tears (${torn} of ${reads} loads)`);
    else assert.equal(torn, 0n, `${torn} of ${reads} loads saw a torn doubleword`);
    console.log(`# ${jit ? 'jit' : 'interp'}: ${torn} torn of ${reads} loads, ~${writes} stores${SPLIT ? ' (TSXEN_SPLIT_LDSD=1)' : ''}`);
  });
}
