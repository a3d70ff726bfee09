// SPDX-License-Identifier: GPL-2.0-only
// The A extension: LR/SC reservations (success, failure after another store, failure with
// no reservation), every AMO in .W and .D width against BigInt references, and the
// misaligned / MMIO exceptions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setSharedAmo } from './amo.ts';
import { CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, MCAUSE, MTVAL } from './hart-state.ts';
import { A, makeHart, RAM_BASE, setx, xr } from './test-support.ts';

const u = (v: bigint) => BigInt.asUintN(64, v);
const s = (v: bigint) => BigInt.asIntN(64, v);
const D = RAM_BASE + 0x3000;

const LR = 0x02, SC = 0x03;
const OPS: [string, number, (a: bigint, b: bigint, w: boolean) => bigint][] = [
  ['amoswap', 0x01, (_a, b) => b],
  ['amoadd', 0x00, (a, b) => a + b],
  ['amoxor', 0x04, (a, b) => a ^ b],
  ['amoand', 0x0c, (a, b) => a & b],
  ['amoor', 0x08, (a, b) => a | b],
  ['amomin', 0x10, (a, b, w) => (w ? BigInt.asIntN(32, a) < BigInt.asIntN(32, b) : s(a) < s(b)) ? a : b],
  ['amomax', 0x14, (a, b, w) => (w ? BigInt.asIntN(32, a) > BigInt.asIntN(32, b) : s(a) > s(b)) ? a : b],
  ['amominu', 0x18, (a, b, w) => (w ? BigInt.asUintN(32, a) < BigInt.asUintN(32, b) : a < b) ? a : b],
  ['amomaxu', 0x1c, (a, b, w) => (w ? BigInt.asUintN(32, a) > BigInt.asUintN(32, b) : a > b) ? a : b],
];
const VALS = [0n, 1n, u(-1n), 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x8000000000000000n, 0x123456789abcdef0n, u(-5n)];

for (const shared of [false, true]) test(`every AMO.D and AMO.W returns the old value and stores op(old, rs2)${shared ? ' (threaded harts: 64-bit Atomics)' : ''}`, () => {
  setSharedAmo(shared);
  try { everyAmo(); } finally { setSharedAmo(false); }
});

function everyAmo(): void {
  for (const [name, f5, f] of OPS) for (const w of [false, true]) for (const a of VALS) for (const b of VALS) {
    const { hart, phys } = makeHart();
    phys.write64(D, a);
    phys.put(RAM_BASE, A.amo(f5, w ? 2 : 3, 7, 5, 6));
    setx(hart, 5, BigInt(D)); setx(hart, 6, b);
    hart.step(1);
    const old = w ? u(BigInt.asIntN(32, a)) : a;
    assert.equal(xr(hart, 7), old, `${name}.${w ? 'w' : 'd'} old`);
    const res = u(f(a, b, w));
    const expect = w ? (a & ~0xffffffffn) | (res & 0xffffffffn) : res;
    assert.equal(phys.read64(D), expect, `${name}.${w ? 'w' : 'd'} ${a.toString(16)} ${b.toString(16)}`);
  }
}

for (const shared of [false, true]) test(`lr/sc succeeds on an untouched reservation and writes 0 to rd${shared ? ' (64-bit Atomics)' : ''}`, () => {
  setSharedAmo(shared);
  try {
    const { hart, phys } = makeHart();
    phys.write64(D, 0xffffffffn);
    phys.put(RAM_BASE, A.amo(LR, 3, 7, 5, 0), A.addi(7, 7, 1), A.amo(SC, 3, 8, 5, 7));
    setx(hart, 5, BigInt(D));
    hart.step(3);
    assert.equal(xr(hart, 8), 0n);
    assert.equal(phys.read64(D), 0x100000000n);
  } finally { setSharedAmo(false); }
});

test('sc fails (rd = 1, no store) when another store changed the word, or with no reservation', () => {
  const { hart, phys } = makeHart();
  phys.write64(D, 41n);
  // lr.w; sw x9 (another agent's store, modelled by this hart); sc.w; then a second sc.w
  phys.put(RAM_BASE, A.amo(LR, 2, 7, 5, 0), A.sw(9, 5, 0), A.amo(SC, 2, 8, 5, 7), A.amo(SC, 2, 10, 5, 7));
  setx(hart, 5, BigInt(D)); setx(hart, 9, 99n);
  hart.step(4);
  assert.equal(xr(hart, 8), 1n);
  assert.equal(xr(hart, 10), 1n, 'a second sc without lr fails');
  assert.equal(phys.read32(D), 99);
});

test('misaligned lr and amo raise address-misaligned; an amo on MMIO is a store access fault', () => {
  const cases: [number, number, bigint, number][] = [
    [A.amo(LR, 3, 7, 5, 0), CAUSE_MISALIGNED_LOAD, BigInt(D + 4), D + 4],
    [A.amo(0x00, 2, 7, 5, 6), CAUSE_MISALIGNED_STORE, BigInt(D + 2), D + 2],
    [A.amo(SC, 3, 7, 5, 6), CAUSE_MISALIGNED_STORE, BigInt(D + 1), D + 1],
    [A.amo(0x00, 2, 7, 5, 6), CAUSE_STORE_ACCESS, 0x10000000n, 0x10000000],
  ];
  for (const [insn, cause, addr, tval] of cases) {
    const { hart, phys } = makeHart();
    phys.mmioPages.add(0x10000);
    phys.put(RAM_BASE, insn);
    setx(hart, 5, addr);
    hart.step(1);
    assert.equal(hart.s[MCAUSE], cause);
    assert.equal(hart.s[MTVAL] >>> 0, tval);
    assert.equal(phys.log.length, 0, 'no MMIO access was made');
  }
});
