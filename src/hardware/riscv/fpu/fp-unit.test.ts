// SPDX-License-Identifier: GPL-2.0-only
// FpUnit unit tests for the rules the spec states in words: reserved encodings and rounding
// modes, NaN-boxing, canonical NaNs, FMIN/FMAX, quiet vs signaling compares, FCLASS, conversion
// saturation, DZ, the FMA invalid case, x0 and the FP_WROTE_F bit. Expected values are worked
// out by hand from riscv-unpriv-20240411 "F"/"D" and IEEE 754-2008.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FP_ILLEGAL, FP_WROTE_F } from './fp-unit.ts';
import { Harness, op } from '../../../../tests/fpu/fp-cases.ts';

const NX = 1;
const DZ = 8;
const NV = 16;
const S = (w: number): bigint => 0xffffffff00000000n | BigInt(w >>> 0); // NaN-boxed single
const CANON_S = S(0x7fc00000);
const CANON_D = 0x7ff8000000000000n;
const D_ONE = 0x3ff0000000000000n;
const D_NEG_ZERO = 0x8000000000000000n;
const D_QNAN = 0x7ff8000000000123n;
const D_SNAN = 0x7ff0000000000001n;
const S_ONE = S(0x3f800000);
const S_SNAN = S(0x7f800001);
const S_QNAN = S(0x7fc00001);

function run(name: string, ops: bigint[], mode = 0): [bigint, number] {
  const r = new Harness().run(op(name), mode, ops);
  assert.ok(r !== null, `${name} is legal`);
  return r;
}
const f64 = (v: number): bigint => {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v, true);
  return b.getBigUint64(0, true);
};

test('reserved rounding modes: rm 5/6, or rm 7 with frm 5..7, are illegal and change nothing', () => {
  const h = new Harness();
  const fadd = op('fadd.d').encode(0) & ~(7 << 12);
  h.set('f', 1, D_ONE);
  h.set('f', 4, 0x1234n);
  for (const rm of [5, 6]) assert.equal(h.unit.execute((fadd | (rm << 12)) >>> 0, 0), FP_ILLEGAL);
  for (const frm of [5, 6, 7]) assert.equal(h.unit.execute((fadd | (7 << 12)) >>> 0, frm), FP_ILLEGAL);
  assert.equal(h.get('f', 4), 0x1234n);
  // The same holds for conversions whose result cannot depend on the mode (fcvt.d.w).
  assert.equal(h.unit.execute((op('fcvt.d.w').encode(0) | (5 << 12)) >>> 0, 0), FP_ILLEGAL);
  assert.equal(h.unit.execute(op('fmadd.s').encode(6), 0), FP_ILLEGAL);
});

test('reserved encodings are illegal: H/Q formats, bad rs2 or funct3, unknown funct5', () => {
  const h = new Harness();
  const ill = (insn: number, why: string) => assert.equal(h.unit.execute(insn >>> 0, 0), FP_ILLEGAL, why);
  const base = (f7: number, rs2: number, rm: number) => (f7 << 25) | (rs2 << 20) | (1 << 15) | (rm << 12) | (4 << 7) | 0x53;
  ill(base(0x02, 2, 0), 'fadd.h (fmt 2)');
  ill(base(0x03, 2, 0), 'fadd.q (fmt 3)');
  ill(base(0x2d, 1, 0), 'fsqrt.d with rs2 != 0');
  ill(base(0x11, 2, 3), 'fsgnj.d with funct3 3');
  ill(base(0x15, 2, 2), 'fmin/fmax.d with funct3 2');
  ill(base(0x20, 0, 0), 'fcvt.s.s (rs2 0 under fmt S)');
  ill(base(0x21, 1, 0), 'fcvt.d.d (rs2 1 under fmt D)');
  ill(base(0x60, 4, 0), 'fcvt.?.s with rs2 4');
  ill(base(0x68, 5, 0), 'fcvt.s.? with rs2 5');
  ill(base(0x70, 0, 2), 'fmv.x.w/fclass with funct3 2');
  ill(base(0x70, 1, 0), 'fmv.x.w with rs2 1');
  ill(base(0x78, 0, 1), 'fmv.w.x with funct3 1');
  ill(base(0x51, 2, 3), 'feq/flt/fle.d with funct3 3');
  ill(base(0x18, 2, 0), 'funct5 00110 is not assigned');
  ill((3 << 27) | (2 << 25) | (2 << 20) | (1 << 15) | (4 << 7) | 0x43, 'fmadd.h');
  ill(0x00000033, 'an integer opcode');
  // Zfa is not implemented; its encodings reuse values these checks reject.
  ill(base(0x79, 1, 0), 'fli.d');
  ill(base(0x15, 2, 2), 'fminm.d');
  ill(base(0x21, 4, 0), 'fround.d');
  ill(base(0x61, 8, 1), 'fcvtmod.w.d');
  ill(base(0x71, 1, 0), 'fmvh.x.d');
  ill(base(0x51, 2, 4), 'fleq.d');
});

test('a static rm overrides frm; rm 7 uses frm (1/3 in RUP vs RDN)', () => {
  const h = new Harness();
  h.set('f', 1, D_ONE);
  h.set('f', 2, f64(3));
  const fdiv = op('fdiv.d');
  assert.equal(h.unit.execute(fdiv.encode(3), 2) & 0x1f, NX);
  const up = h.get('f', 4);
  h.unit.execute(fdiv.encode(7), 2);
  const down = h.get('f', 4);
  assert.equal(up, 0x3fd5555555555556n);
  assert.equal(down, 0x3fd5555555555555n);
});

test('NaN-boxing: an improperly boxed single reads as the canonical NaN (quietly)', () => {
  const unboxed = 0x000000003f800000n; // 1.0f without the upper ones
  assert.deepEqual(run('fadd.s', [unboxed, S_ONE]), [CANON_S, 0]);
  assert.deepEqual(run('fsgnjn.s', [unboxed, S_ONE]), [S(0xffc00000), 0]);
  assert.deepEqual(run('fclass.s', [unboxed]), [1n << 9n, 0]);
  assert.deepEqual(run('fcvt.d.s', [unboxed]), [CANON_D, 0]);
  // FMV.X.W is a transfer: it moves the low 32 bits without checking the box (sign-extended).
  assert.deepEqual(run('fmv.x.w', [0x12345678bf800000n]), [0xffffffffbf800000n, 0]);
  // Results are boxed: FMV.W.X and arithmetic write all ones above bit 31.
  assert.deepEqual(run('fmv.w.x', [0x1234567800000001n]), [S(1), 0]);
});

test('every NaN result is the canonical NaN; a signaling NaN operand raises NV', () => {
  assert.deepEqual(run('fmul.d', [D_QNAN, D_ONE]), [CANON_D, 0]);
  assert.deepEqual(run('fmul.d', [D_SNAN, D_ONE]), [CANON_D, NV]);
  assert.deepEqual(run('fsqrt.s', [S_SNAN]), [CANON_S, NV]);
  assert.deepEqual(run('fcvt.s.d', [D_SNAN]), [CANON_S, NV]);
  assert.deepEqual(run('fcvt.d.s', [S_QNAN]), [CANON_D, 0]);
  assert.deepEqual(run('fsqrt.d', [f64(-1)]), [CANON_D, NV]);
  assert.deepEqual(run('fsqrt.d', [D_NEG_ZERO]), [D_NEG_ZERO, 0]);
  assert.deepEqual(run('fsub.d', [f64(Infinity), f64(Infinity)]), [CANON_D, NV]);
});

test('FMIN/FMAX: -0 < +0, one NaN gives the other operand, two give the canonical NaN, sNaN raises NV', () => {
  assert.deepEqual(run('fmin.d', [0n, D_NEG_ZERO]), [D_NEG_ZERO, 0]);
  assert.deepEqual(run('fmax.d', [D_NEG_ZERO, 0n]), [0n, 0]);
  assert.deepEqual(run('fmin.d', [D_QNAN, D_ONE]), [D_ONE, 0]);
  assert.deepEqual(run('fmax.d', [D_ONE, D_SNAN]), [D_ONE, NV]);
  assert.deepEqual(run('fmin.d', [D_QNAN, D_SNAN]), [CANON_D, NV]);
  assert.deepEqual(run('fmin.s', [S(0x00000000), S(0x80000000)]), [S(0x80000000), 0]);
  assert.deepEqual(run('fmax.s', [S_QNAN, S(0xc0000000)]), [S(0xc0000000), 0]);
  assert.deepEqual(run('fmax.s', [S_SNAN, S_QNAN]), [CANON_S, NV]);
});

test('FEQ is quiet (NV only for sNaN); FLT and FLE signal on any NaN; -0 == +0', () => {
  assert.deepEqual(run('feq.d', [D_QNAN, D_ONE]), [0n, 0]);
  assert.deepEqual(run('feq.d', [D_SNAN, D_ONE]), [0n, NV]);
  assert.deepEqual(run('flt.d', [D_QNAN, D_ONE]), [0n, NV]);
  assert.deepEqual(run('fle.s', [S_ONE, S_QNAN]), [0n, NV]);
  assert.deepEqual(run('feq.d', [D_NEG_ZERO, 0n]), [1n, 0]);
  assert.deepEqual(run('fle.d', [D_NEG_ZERO, 0n]), [1n, 0]);
  assert.deepEqual(run('flt.d', [D_NEG_ZERO, 0n]), [0n, 0]);
  assert.deepEqual(run('flt.s', [S(0xbf800000), S_ONE]), [1n, 0]);
});

test('FCLASS sets exactly one of the ten class bits', () => {
  const d: [bigint, number][] = [
    [0xfff0000000000000n, 0], // -inf
    [0xbff0000000000000n, 1], // -normal
    [0x800fffffffffffffn, 2], // -subnormal
    [D_NEG_ZERO, 3],
    [0n, 4],
    [0x0000000000000001n, 5], // +subnormal
    [D_ONE, 6],
    [0x7ff0000000000000n, 7], // +inf
    [D_SNAN, 8],
    [D_QNAN, 9],
  ];
  for (const [v, bit] of d) assert.deepEqual(run('fclass.d', [v]), [1n << BigInt(bit), 0], v.toString(16));
  const s: [number, number][] = [
    [0xff800000, 0],
    [0xc0000000, 1],
    [0x80000001, 2],
    [0x80000000, 3],
    [0, 4],
    [0x007fffff, 5],
    [0x3f800000, 6],
    [0x7f800000, 7],
    [0x7f800001, 8],
    [0x7fc00000, 9],
  ];
  for (const [v, bit] of s) assert.deepEqual(run('fclass.s', [S(v)]), [1n << BigInt(bit), 0], v.toString(16));
});

test('FCVT to integer: the spec table of saturated results with NV, NX for inexact, W results sign-extended', () => {
  const nan = D_QNAN;
  const pinf = f64(Infinity);
  const ninf = f64(-Infinity);
  assert.deepEqual(run('fcvt.w.d', [nan]), [0x7fffffffn, NV]);
  assert.deepEqual(run('fcvt.w.d', [pinf]), [0x7fffffffn, NV]);
  assert.deepEqual(run('fcvt.w.d', [ninf]), [0xffffffff80000000n, NV]);
  assert.deepEqual(run('fcvt.w.d', [f64(2147483647.5)], 1), [0x7fffffffn, NX]); // RTZ: in range
  assert.deepEqual(run('fcvt.w.d', [f64(2147483647.5)], 0), [0x7fffffffn, NV]); // RNE: 2^31
  assert.deepEqual(run('fcvt.wu.d', [nan]), [0xffffffffffffffffn, NV]);
  assert.deepEqual(run('fcvt.wu.d', [f64(3e9)]), [0xffffffffb2d05e00n, 0]);
  assert.deepEqual(run('fcvt.wu.d', [f64(-1)]), [0n, NV]);
  assert.deepEqual(run('fcvt.wu.d', [f64(-0.5)], 1), [0n, NX]); // rounds to 0: valid
  assert.deepEqual(run('fcvt.wu.d', [f64(-0.5)], 2), [0n, NV]); // rounds to -1
  assert.deepEqual(run('fcvt.l.d', [nan]), [0x7fffffffffffffffn, NV]);
  assert.deepEqual(run('fcvt.l.d', [f64(-(2 ** 63))]), [0x8000000000000000n, 0]);
  assert.deepEqual(run('fcvt.l.d', [f64(2 ** 63)]), [0x7fffffffffffffffn, NV]);
  assert.deepEqual(run('fcvt.lu.d', [ninf]), [0n, NV]);
  assert.deepEqual(run('fcvt.lu.d', [f64(2 ** 64 - 2048)]), [0xfffffffffffff800n, 0]);
  assert.deepEqual(run('fcvt.lu.s', [S(0x5f800000)]), [0xffffffffffffffffn, NV]); // 2^64
  assert.deepEqual(run('fcvt.w.s', [S(0xc0200000)], 4), [0xfffffffffffffffdn, NX]); // -2.5 RMM -> -3
  assert.deepEqual(run('fcvt.w.s', [S(0xc0200000)], 0), [0xfffffffffffffffen, NX]); // -2.5 RNE -> -2
});

test('FCVT from 64-bit integers rounds in the mode: 2^63 - 1 to double', () => {
  assert.deepEqual(run('fcvt.d.l', [0x7fffffffffffffffn], 0), [f64(2 ** 63), NX]);
  assert.deepEqual(run('fcvt.d.l', [0x7fffffffffffffffn], 1), [f64(2 ** 63 - 1024), NX]);
  assert.deepEqual(run('fcvt.d.lu', [0xffffffffffffffffn], 3), [f64(2 ** 64), NX]);
  assert.deepEqual(run('fcvt.s.l', [0x8000000000000000n], 0), [S(0xdf000000), 0]); // -2^63 exact
  assert.deepEqual(run('fcvt.s.w', [0n], 2), [S(0), 0]); // zero is +0 in every mode
});

test('division by zero raises DZ with a signed infinity; 0/0 is invalid', () => {
  assert.deepEqual(run('fdiv.d', [D_ONE, 0n]), [f64(Infinity), DZ]);
  assert.deepEqual(run('fdiv.d', [f64(-1), 0n]), [f64(-Infinity), DZ]);
  assert.deepEqual(run('fdiv.s', [S(0), S(0x80000000)]), [CANON_S, NV]);
  assert.deepEqual(run('fdiv.d', [f64(Infinity), 0n]), [f64(Infinity), 0]);
});

test('FMA is fused: 0.1 * 10 - 1 = 2^-54 (unfused gives 0); inf * 0 + qNaN raises NV', () => {
  assert.deepEqual(run('fmadd.d', [f64(0.1), f64(10), f64(-1)]), [f64(2 ** -54), 0]);
  assert.deepEqual(run('fmsub.d', [f64(0.1), f64(10), D_ONE]), [f64(2 ** -54), 0]);
  assert.deepEqual(run('fmadd.d', [f64(Infinity), 0n, D_QNAN]), [CANON_D, NV]);
  assert.deepEqual(run('fmadd.s', [S(0x7f800000), S(0), S_QNAN]), [CANON_S, NV]);
  // FNMADD = -(a*b) - c: -(1 * +0) - (-0) = -0 + +0 = +0, or -0 when rounding down.
  assert.deepEqual(run('fnmadd.d', [D_ONE, 0n, D_NEG_ZERO], 0), [0n, 0]);
  assert.deepEqual(run('fnmadd.d', [D_ONE, 0n, D_NEG_ZERO], 2), [D_NEG_ZERO, 0]);
});

test('FP_WROTE_F reports f writes only; x0 is never written', () => {
  const h = new Harness();
  h.set('f', 1, D_ONE);
  h.set('f', 2, D_ONE);
  assert.equal(h.unit.execute(op('fadd.d').encode(0), 0), FP_WROTE_F);
  assert.equal(h.unit.execute(op('fsgnj.d').encode(0), 0), FP_WROTE_F);
  assert.equal(h.unit.execute(op('fmv.w.x').encode(0), 0), FP_WROTE_F);
  assert.equal(h.unit.execute(op('feq.d').encode(0), 0), 0);
  assert.equal(h.unit.execute(op('fcvt.w.d').encode(0), 0), 0);
  const toX0 = op('feq.d').encode(0) & ~(31 << 7);
  assert.equal(h.unit.execute(toX0 >>> 0, 0), 0);
  assert.equal(h.get('x', 0), 0n);
  h.set('f', 1, D_SNAN);
  assert.equal(h.unit.execute(toX0 >>> 0, 0), NV, 'flags are raised even when rd is x0');
  assert.equal(h.get('x', 0), 0n);
});

// Spec: riscv-unpriv-20240411 §20.4 "Subnormal Arithmetic": "In the parlance of the IEEE
// standard, tininess is detected after rounding."
test('"tininess is detected after rounding": a product just below 2^-1022 that rounds to it', () => {
  // Exact products built from integer factors, scaled by 2^-500 and 2^-577 (both normal):
  //   5 * 7205759403792793 = 2^55 - 3, so v1 = (2^55 - 3) * 2^-1077 = 2^-1022 - 3 * 2^-1077;
  //   63457 * 567767102431 = 2^55 - 1, so v2 = 2^-1022 - 2^-1077.
  // With an unbounded exponent the quantum below 2^-1022 is 2^-1075: v1 rounds to
  // 2^-1022 - 2^-1075 (tiny), v2 rounds to 2^-1022 (not tiny). Both round to 2^-1022 at the
  // subnormal quantum 2^-1074. So both results are 2^-1022, but only v1 raises UF.
  const scaled = (n: number, e: number) => f64(n * 2 ** e);
  const MIN_NORMAL = 0x0010000000000000n;
  assert.deepEqual(run('fmul.d', [scaled(5, -500), scaled(7205759403792793, -577)]), [MIN_NORMAL, 2 | NX]);
  assert.deepEqual(run('fmul.d', [scaled(63457, -500), scaled(567767102431, -577)]), [MIN_NORMAL, NX]);
});
