// SPDX-License-Identifier: GPL-2.0-only
// Machine frame pool and p2m: ownership, scrubbing, and the second-stage rights the hart sees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCESS_R, ACCESS_W, ACCESS_X, PHYS_FAULT, PHYS_MMIO } from '../../hardware/riscv/hart-api.ts';
import { FRAME_FREE, FramePool, PAGE_SIZE } from './frame-pool.ts';
import { P2M_GRANT_RO, P2M_MMIO_EMUL, P2M_RAM_LOGDIRTY, P2M_RAM_RO, P2M_RAM_RW, P2m } from './p2m.ts';

test('frames are owned, all-or-nothing, never frame 0', () => {
  const pool = new FramePool(8);
  assert.equal(pool.freeFrames, 7);
  assert.equal(pool.alloc(1, 8), null, 'more than free: nothing allocated');
  assert.equal(pool.freeFrames, 7);
  const f = pool.alloc(1, 7)!;
  assert.equal(f.length, 7);
  assert.ok(!f.includes(0));
  assert.deepEqual([...f].map((x) => pool.owner[x]), Array(7).fill(1));
  assert.equal(pool.alloc(2, 1), null);
  pool.free(f[3]);
  assert.equal(pool.owner[f[3]], FRAME_FREE);
  assert.throws(() => pool.free(f[3]), /not allocated/);
  assert.throws(() => pool.free(0), /not allocated/);
});

test('a freed frame is scrubbed before another domain gets it', () => {
  const pool = new FramePool(4);
  const [a] = pool.alloc(1, 1)!;
  pool.bytes.fill(0xaa, a * PAGE_SIZE, (a + 1) * PAGE_SIZE);
  pool.free(a);
  const got = pool.alloc(2, 3)!;
  assert.ok(got.includes(a), 'the freed frame is reused');
  for (const f of got) assert.ok(pool.bytes.subarray(f * PAGE_SIZE, (f + 1) * PAGE_SIZE).every((b) => b === 0), `frame ${f} is clean`);
});

test('p2m lookups: RAM, read-only, MMIO, holes, and mem_access restrictions', () => {
  const pool = new FramePool(16);
  const p2m = new P2m(pool);
  let changes = 0;
  p2m.onChange = () => changes++;
  const [m0, m1, m2] = pool.alloc(1, 3)!;
  const base = 0x80000; // gfn of 0x8000_0000
  p2m.set(base, m0, P2M_RAM_RW);
  p2m.set(base + 1, m1, P2M_RAM_RO);
  p2m.set(0x10000, -1, P2M_MMIO_EMUL);
  p2m.set(base + 2, m2, P2M_RAM_LOGDIRTY);
  assert.equal(changes, 4);
  assert.equal(p2m.size, 4);
  assert.equal(p2m.lookup(base, ACCESS_W), m0 * PAGE_SIZE);
  assert.equal(p2m.lookup(base + 1, ACCESS_R), m1 * PAGE_SIZE);
  assert.equal(p2m.lookup(base + 1, ACCESS_W), PHYS_FAULT, 'RO RAM refuses writes');
  assert.equal(p2m.lookup(0x10000, ACCESS_R), PHYS_MMIO);
  assert.equal(p2m.lookup(base + 2, ACCESS_R), m2 * PAGE_SIZE);
  assert.equal(p2m.lookup(base + 2, ACCESS_W), PHYS_FAULT, 'log-dirty RAM faults the first write');
  assert.equal(p2m.lookup(base + 3, ACCESS_R), PHYS_FAULT, 'a hole');
  assert.equal(p2m.lookup(2 ** 52, ACCESS_R), PHYS_FAULT, 'beyond any leaf');
  // mem_access: execute-only page.
  assert.ok(p2m.setAccess(base, ACCESS_X));
  assert.equal(p2m.lookup(base, ACCESS_R), PHYS_FAULT);
  assert.equal(p2m.lookup(base, ACCESS_X), m0 * PAGE_SIZE);
  assert.equal(p2m.setAccess(base + 7, ACCESS_R), false, 'no entry');
  // Removal.
  assert.equal(p2m.clear(base + 1), m1);
  assert.equal(p2m.lookup(base + 1, ACCESS_R), PHYS_FAULT);
  assert.equal(p2m.size, 3);
  assert.throws(() => p2m.set(-1, m1, P2M_RAM_RW), /out of range/);
  assert.throws(() => p2m.set(2 ** 47, m1, P2M_RAM_RW), /out of range/);
});

test('p2m: grant mappings are never executable; forEach lists entries', () => {
  const pool = new FramePool(4);
  const p2m = new P2m(pool);
  const [m] = pool.alloc(2, 1)!;
  p2m.set(0x7ff04, m, P2M_GRANT_RO);
  assert.equal(p2m.lookup(0x7ff04, ACCESS_R), m * PAGE_SIZE);
  assert.equal(p2m.lookup(0x7ff04, ACCESS_X), PHYS_FAULT);
  assert.equal(p2m.lookup(0x7ff04, ACCESS_W), PHYS_FAULT);
  const seen: number[][] = [];
  p2m.forEach((g, f, t) => seen.push([g, f, t]));
  assert.deepEqual(seen, [[0x7ff04, m, P2M_GRANT_RO]]);
});

test('p2m routes MMIO to the domain ioreq router', () => {
  const p2m = new P2m(new FramePool(2));
  const log: string[] = [];
  p2m.ioreq = { read: (a, s) => { log.push(`r ${a.toString(16)} ${s}`); return 0x1234; }, write: (a, s, v) => { log.push(`w ${a.toString(16)} ${s} ${v}`); } };
  assert.equal(p2m.mmioRead(0x10000000, 1), 0x1234);
  p2m.mmioWrite(0x10000004, 4, 7);
  assert.deepEqual(log, ['r 10000000 1', 'w 10000004 4 7']);
});

test('p2m: batch() folds change notifications into one (also nested); maxGfn only grows', () => {
  const pool = new FramePool(16);
  const p2m = new P2m(pool);
  let n = 0;
  p2m.onChange = () => n++;
  p2m.set(5, 1, P2M_RAM_RW);
  assert.equal(n, 1);
  p2m.batch(() => {
    p2m.set(6, 2, P2M_RAM_RW);
    p2m.batch(() => p2m.set(900, 3, P2M_RAM_RW));
    p2m.clear(5);
    assert.equal(n, 1);
  });
  assert.equal(n, 2);
  p2m.batch(() => p2m.typeOf(6)); // no change, no notification
  assert.equal(n, 2);
  assert.equal(p2m.maxGfn, 900);
  p2m.clear(900);
  assert.equal(p2m.maxGfn, 900); // Xen's max_mapped_gfn never decreases
  assert.throws(() => p2m.batch(() => { p2m.set(7, 4, P2M_RAM_RW); throw new Error('x'); }), /x/);
  assert.equal(n, 4); // the clear, then the change before the throw is still announced
});
