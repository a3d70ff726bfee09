// SPDX-License-Identifier: GPL-2.0-only
// qtest-style ACLINT tests: a fake timebase that the test advances, registers driven by
// offset, MSIP/MTIP wires observed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Aclint, ACLINT_MTIME, ACLINT_MTIMECMP_BASE } from './aclint.ts';

function wire() {
  const w = { level: false, set(l: boolean) { w.level = l; } };
  return w;
}

function setup(harts = 2, start = 1000) {
  const tb = { t: start, now: () => tb.t, frequency: 10_000_000 };
  const msip = Array.from({ length: harts }, wire);
  const mtip = Array.from({ length: harts }, wire);
  const clint = new Aclint({ hartCount: harts, timebase: tb, msip, mtip });
  /** A 64-bit store as the bus delivers it: low word, then high word. */
  const write64 = (off: number, v: bigint) => {
    clint.write(off, 4, Number(v & 0xffff_ffffn));
    clint.write(off + 4, 4, Number(v >> 32n));
  };
  const read64 = (off: number) => BigInt(clint.read(off, 4)) | (BigInt(clint.read(off + 4, 4)) << 32n);
  return { tb, msip, mtip, clint, write64, read64 };
}

test('MSIP: bit 0 drives the hart\'s MSIP wire; upper bits are wired to zero', () => {
  const t = setup();
  t.clint.write(4, 4, 0xffff_ffff);
  assert.equal(t.clint.read(4, 4), 1);
  assert.deepEqual(t.msip.map((w) => w.level), [false, true]);
  t.clint.write(4, 4, 2);
  assert.equal(t.msip[1].level, false);
  t.clint.write(8, 4, 1); // hart 2 does not exist
  assert.equal(t.clint.read(8, 4), 0);
});

test('MTIME reads the timebase; a 64-bit read is one atomic sample across a carry', () => {
  const t = setup(1, 0xffff_fffe);
  assert.equal(t.read64(ACLINT_MTIME), 0xffff_fffen);
  // The counter carries between the two halves: the latched high word keeps the pair whole.
  assert.equal(t.clint.read(ACLINT_MTIME, 4), 0xffff_fffe);
  t.tb.t = 0x1_0000_0005;
  assert.equal(t.clint.read(ACLINT_MTIME + 4, 4), 0);
  // A lone high-word read sees the current value.
  assert.equal(t.clint.read(ACLINT_MTIME + 4, 4), 1);
  assert.equal(t.clint.clock.now(), 0x1_0000_0005);
});

test('MTIP is pending whenever MTIME >= MTIMECMP and cleared when MTIME < MTIMECMP (Spec: riscv-aclint-1.0 "MTIMECMP Registers")', () => {
  const t = setup();
  assert.equal(t.mtip[0].level, false, 'reset compare value is all-ones');
  t.write64(ACLINT_MTIMECMP_BASE, 1500n);
  assert.equal(t.mtip[0].level, false);
  assert.equal(t.clint.nextDeadline(), 1500);
  t.tb.t = 1499;
  t.clint.tick();
  assert.equal(t.mtip[0].level, false);
  t.tb.t = 1500;
  t.clint.tick();
  assert.equal(t.mtip[0].level, true, 'equal counts as reached');
  assert.equal(t.mtip[1].level, false, 'other harts unaffected');
  assert.equal(t.clint.nextDeadline(), Infinity, 'nothing else armed');
  // Writing a later compare value clears it at once (what a timer handler does).
  t.write64(ACLINT_MTIMECMP_BASE, 2000n);
  assert.equal(t.mtip[0].level, false);
  assert.equal(t.read64(ACLINT_MTIMECMP_BASE), 2000n);
  // Disarm with all-ones, as OpenSBI and Linux do.
  t.write64(ACLINT_MTIMECMP_BASE, 0xffff_ffff_ffff_ffffn);
  t.tb.t = 1e12;
  t.clint.tick();
  assert.equal(t.mtip[0].level, false);
});

test('per-hart compare registers are 8 bytes apart; nextDeadline is the earliest armed one', () => {
  const t = setup(2);
  t.write64(ACLINT_MTIMECMP_BASE + 8, 1200n);
  t.write64(ACLINT_MTIMECMP_BASE, 5000n);
  assert.equal(t.clint.nextDeadline(), 1200);
  t.tb.t = 1200;
  t.clint.tick();
  assert.deepEqual(t.mtip.map((w) => w.level), [false, true]);
  assert.equal(t.clint.nextDeadline(), 5000);
});

test('compare values above 2^32 compare on both halves', () => {
  const t = setup(1, 0x1_0000_0000);
  t.write64(ACLINT_MTIMECMP_BASE, 0x2_0000_0000n);
  t.tb.t = 0x1_ffff_ffff;
  t.clint.tick();
  assert.equal(t.mtip[0].level, false);
  t.tb.t = 0x2_0000_0000;
  t.clint.tick();
  assert.equal(t.mtip[0].level, true);
});

test('writing MTIME moves the harts\' clock too and re-evaluates MTIP', () => {
  const t = setup(1, 1000);
  t.write64(ACLINT_MTIMECMP_BASE, 50_000n);
  t.write64(ACLINT_MTIME, 60_000n);
  assert.equal(t.clint.clock.now(), 60_000);
  assert.equal(t.mtip[0].level, true);
  t.tb.t += 10;
  assert.equal(t.read64(ACLINT_MTIME), 60_010n);
  t.clint.write(ACLINT_MTIME, 4, 0); // low word only
  assert.equal(t.clint.clock.now(), 0);
  assert.equal(t.mtip[0].level, false);
});

test('hostile accesses read 0 and change nothing', () => {
  const t = setup(2);
  const before = JSON.stringify(t.clint.saveState());
  for (const off of [0x3ffc, 0x4010, 0x4014, 0xbff0, 0xc000, 0xfffc, 0x10000, -4, 1, 0x4001]) {
    assert.equal(t.clint.read(off, 4), 0, `read 0x${off.toString(16)}`);
    t.clint.write(off, 4, 0xffff_ffff);
  }
  t.clint.write(0, 1, 1);
  t.clint.write(ACLINT_MTIMECMP_BASE, 2, 0);
  assert.equal(t.clint.read(ACLINT_MTIME, 8), 0);
  assert.equal(JSON.stringify(t.clint.saveState()), before);
  assert.equal(t.msip[0].level || t.mtip[0].level, false);
});

test('save/restore: mtime continues from the saved value on another timebase', () => {
  const a = setup(1, 5000);
  a.write64(ACLINT_MTIMECMP_BASE, 7000n);
  a.clint.write(0, 4, 1);
  const s = a.clint.saveState();
  const b = setup(1, 123);
  assert.equal(b.clint.restoreState(s), true);
  assert.equal(b.clint.clock.now(), 5000);
  assert.equal(b.msip[0].level, true);
  b.tb.t += 2000;
  b.clint.tick();
  assert.equal(b.mtip[0].level, true);
  assert.equal(setup(2).clint.restoreState(s), false);
});

test('reading MTIME brings MTIP up to date without a tick()', () => {
  const t = setup(1, 0);
  t.write64(ACLINT_MTIMECMP_BASE, 100n);
  t.tb.t = 100;
  assert.equal(t.mtip[0].level, false, 'nothing re-evaluated yet');
  assert.equal(t.clint.read(ACLINT_MTIME, 4), 100);
  assert.equal(t.mtip[0].level, true);
});
