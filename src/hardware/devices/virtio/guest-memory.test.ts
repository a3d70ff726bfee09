// SPDX-License-Identifier: GPL-2.0-only
// The guest-memory accessor: little-endian scalars, page-crossing copies over a translation
// whose frames are not contiguous, permission and bounds failures (never an exception), and
// hostOffset() contiguity.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GM_ACCESS_R, GM_ACCESS_W, GuestMemory } from './guest-memory.ts';
import { RAM_BASE, TestRam } from './test-driver.ts';

test('scalars are little-endian and round-trip', () => {
  const ram = new TestRam(1 << 16);
  const m = ram.mem;
  assert.ok(m.writeU32(RAM_BASE + 8, 0x11223344));
  assert.deepEqual([...ram.bytes(RAM_BASE + 8, 4)], [0x44, 0x33, 0x22, 0x11]);
  assert.equal(m.readU16(RAM_BASE + 8), 0x3344);
  assert.equal(m.readU8(RAM_BASE + 11), 0x11);
  assert.ok(m.writeU64(RAM_BASE + 16, 2 ** 52 + 5));
  assert.equal(m.readU64(RAM_BASE + 16), 2 ** 52 + 5);
  assert.ok(m.storeU16Release(RAM_BASE + 2, 0xbeef));
  assert.equal(m.loadU16Acquire(RAM_BASE + 2), 0xbeef);
});

test('a u64 that is not an exact JS integer (>= 2^53) reads as a failure', () => {
  const ram = new TestRam(1 << 16);
  ram.w32(RAM_BASE + 4, 0x0020_0000);
  assert.equal(ram.mem.readU64(RAM_BASE), -1);
});

test('accesses outside RAM, across its end, at odd addresses or without permission fail without throwing', () => {
  const ram = new TestRam(1 << 16);
  const m = ram.mem;
  const end = RAM_BASE + (1 << 16);
  for (const gpa of [0, RAM_BASE - 4, end, end - 2, -1, 0.5, NaN, 2 ** 60, Infinity]) {
    assert.equal(m.readU32(gpa), -1, `readU32 ${gpa}`);
    assert.equal(m.writeU32(gpa, 1), false, `writeU32 ${gpa}`);
  }
  assert.equal(m.read(end - 8, new Uint8Array(16)), false);
  assert.equal(m.write(RAM_BASE - 8, new Uint8Array(16)), false);
  assert.equal(m.read(RAM_BASE, new Uint8Array(4), 2, 4), false, 'destination too small');
  assert.equal(m.loadU16Acquire(RAM_BASE + 1), -1, 'unaligned atomic');
  ram.readOnlyPages.add(RAM_BASE / 4096 + 1);
  assert.equal(m.writeU8(RAM_BASE + 4096, 1), false);
  assert.equal(m.readU8(RAM_BASE + 4096), 0, 'readable still');
  assert.equal(m.checkRange(RAM_BASE, 8192, GM_ACCESS_W), false);
  assert.equal(m.checkRange(RAM_BASE, 8192, GM_ACCESS_R), true);
  assert.equal(m.checkRange(end - 1, 2, GM_ACCESS_R), false);
  assert.equal(m.checkRange(end, 0, GM_ACCESS_R), true, 'an empty range is always fine');
  assert.ok(ram.guardsIntact());
});

test('copies cross page boundaries correctly when frames are not contiguous', () => {
  const ram = new TestRam(1 << 16, true);
  const m = ram.mem;
  const src = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7) & 0xff);
  assert.ok(m.write(RAM_BASE + 100, src));
  assert.deepEqual(ram.bytes(RAM_BASE + 100, 10000), src);
  const back = new Uint8Array(10000);
  assert.ok(m.read(RAM_BASE + 100, back));
  assert.deepEqual(back, src);
  assert.ok(m.fill(RAM_BASE + 4000, 200, 0xee));
  assert.ok(ram.bytes(RAM_BASE + 4000, 200).every((b) => b === 0xee));
  assert.equal(m.readU32(RAM_BASE + 4094), -1, 'a scalar straddling pages fails');
});

test('hostOffset: contiguous ranges get an offset, discontiguous or unmapped ones -1', () => {
  const flat = new TestRam(1 << 16);
  assert.ok(flat.mem.hostOffset(RAM_BASE + 100, 9000, GM_ACCESS_W) >= 0);
  const scrambled = new TestRam(1 << 16, true);
  assert.equal(scrambled.mem.hostOffset(RAM_BASE + 100, 9000, GM_ACCESS_W), -1);
  const inPage = scrambled.mem.hostOffset(RAM_BASE + 100, 100, GM_ACCESS_W);
  assert.ok(inPage >= 0);
  scrambled.mem.bytes[inPage] = 0x5a;
  assert.equal(scrambled.r8(RAM_BASE + 100), 0x5a, 'the offset is where the guest sees the byte');
  assert.equal(flat.mem.hostOffset(RAM_BASE + (1 << 16) - 10, 20, GM_ACCESS_R), -1);
});

test('a translation returning a bad frame offset is treated as unmapped', () => {
  const memory = new SharedArrayBuffer(8192);
  const m = new GuestMemory({ memory, lookup: (gppn) => (gppn === 0 ? 4096 + 8 : gppn === 1 ? 8192 : -1) });
  assert.equal(m.readU8(0), -1, 'not page aligned');
  assert.equal(m.readU8(4096), -1, 'beyond the memory');
});
