// SPDX-License-Identifier: GPL-2.0-only
// The M extension against BigInt reference arithmetic: full 64x64 products (low and the
// three high forms), signed/unsigned division and remainder including divide-by-zero and
// overflow results, and the W forms. Random operands from a fixed-seed generator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A, makeHart, RAM_BASE, setx, xr } from './test-support.ts';

const u = (v: bigint) => BigInt.asUintN(64, v);
const s = (v: bigint) => BigInt.asIntN(64, v);
const sx32 = (v: bigint) => u(BigInt.asIntN(32, v));

function run(enc: (rd: number, rs1: number, rs2: number) => number, pairs: [bigint, bigint][]): bigint[] {
  const { hart, phys } = makeHart();
  const out: bigint[] = [];
  phys.put(RAM_BASE, enc(7, 5, 6));
  for (const [a, b] of pairs) {
    hart.setPc(RAM_BASE);
    setx(hart, 5, a); setx(hart, 6, b);
    hart.step(1);
    out.push(xr(hart, 7));
  }
  return out;
}

let seed = 0x2545f4914f6cdd1dn;
function rnd(): bigint {
  seed ^= seed << 13n; seed = u(seed); seed ^= seed >> 7n; seed ^= seed << 17n; seed = u(seed);
  // mix in small, 32-bit and 53-bit magnitudes so each division path is exercised
  const k = seed & 7n;
  if (k === 0n) return seed & 0xffn;
  if (k === 1n) return seed & 0xffffffffn;
  if (k === 2n) return seed & ((1n << 53n) - 1n);
  if (k === 3n) return u(-(seed & 0xffffn));
  return seed;
}

const edge = [0n, 1n, 2n, 3n, u(-1n), u(-2n), 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffn, 0x100000000n,
  0x1fffffffffffffn, 0x20000000000000n, 0xfffffffffffffn, 0x123456789n, u(-0x123456789n)];
const pairs: [bigint, bigint][] = [];
for (const a of edge) for (const b of edge) pairs.push([a, b]);
for (let i = 0; i < 3000; i++) pairs.push([rnd(), rnd()]);

test('mul, mulh, mulhsu, mulhu give the low and high halves of the 128-bit product', () => {
  const check = (enc: Parameters<typeof run>[0], f: (a: bigint, b: bigint) => bigint, name: string) => {
    const got = run(enc, pairs);
    pairs.forEach(([a, b], i) => assert.equal(got[i], u(f(a, b)), `${name} ${a.toString(16)} ${b.toString(16)}`));
  };
  check(A.mul, (a, b) => a * b, 'mul');
  check(A.mulh, (a, b) => (s(a) * s(b)) >> 64n, 'mulh');
  check(A.mulhsu, (a, b) => (s(a) * b) >> 64n, 'mulhsu');
  check(A.mulhu, (a, b) => (a * b) >> 64n, 'mulhu');
});

// Spec: riscv-unpriv-20240411 "Division Operations": x/0 = all ones (quotient), x (remainder);
// signed overflow -2^63 / -1 = -2^63 with remainder 0.
function divRef(a: bigint, b: bigint, signed: boolean, rem: boolean): bigint {
  if (b === 0n) return rem ? a : u(-1n);
  if (signed) {
    const sa = s(a), sb = s(b);
    if (sa === -(1n << 63n) && sb === -1n) return rem ? 0n : a;
    return u(rem ? sa % sb : sa / sb); // BigInt division truncates toward zero
  }
  return rem ? a % b : a / b;
}

test('div, divu, rem, remu including divide by zero and overflow', () => {
  for (const [enc, signed, rem, name] of [[A.div, true, false, 'div'], [A.divu, false, false, 'divu'],
    [A.rem, true, true, 'rem'], [A.remu, false, true, 'remu']] as const) {
    const got = run(enc, pairs);
    pairs.forEach(([a, b], i) => assert.equal(got[i], divRef(a, b, signed, rem), `${name} ${a.toString(16)} ${b.toString(16)}`));
  }
});

test('W forms: mulw, divw, divuw, remw, remuw on the low 32 bits', () => {
  const lo = (v: bigint) => v & 0xffffffffn, slo = (v: bigint) => BigInt.asIntN(32, v);
  const ref: [Parameters<typeof run>[0], (a: bigint, b: bigint) => bigint][] = [
    [A.mulw, (a, b) => sx32(a * b)],
    [A.divw, (a, b) => slo(b) === 0n ? u(-1n) : slo(a) === -(1n << 31n) && slo(b) === -1n ? sx32(a) : sx32(slo(a) / slo(b))],
    [A.divuw, (a, b) => lo(b) === 0n ? u(-1n) : sx32(lo(a) / lo(b))],
    [A.remw, (a, b) => slo(b) === 0n ? sx32(a) : slo(a) === -(1n << 31n) && slo(b) === -1n ? 0n : sx32(slo(a) % slo(b))],
    [A.remuw, (a, b) => lo(b) === 0n ? sx32(a) : sx32(lo(a) % lo(b))],
  ];
  for (const [enc, f] of ref) {
    const got = run(enc, pairs);
    pairs.forEach(([a, b], i) => assert.equal(got[i], f(a, b), `${a.toString(16)} ${b.toString(16)}`));
  }
});
