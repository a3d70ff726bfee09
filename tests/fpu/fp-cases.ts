// SPDX-License-Identifier: GPL-2.0-only
// Shared by the FPU tests: the F/D instruction encodings (written from the opcode map of the
// unprivileged spec, independently of fp-unit.ts), a seeded operand generator biased toward the
// edges of each format, and a harness that runs one instruction through FpUnit.
// Spec: riscv-unpriv-20240411 "RV32/64G Instruction Set Listings"

import { FP_ILLEGAL, FpUnit } from '../../src/hardware/riscv/fpu/fp-unit.ts';

export type Kind = 'f' | 'x';
export interface OpSpec {
  name: string;
  fmt: 0 | 1; // precision of the f operands (S = 0, D = 1); for fcvt.s.d / d.s the source's
  srcs: Kind[]; // operand register files, in order rs1, rs2, rs3
  dst: Kind;
  rounds: boolean; // uses the rounding mode
  encode: (rm: number) => number; // rd = 4, rs1 = 1, rs2 = 2, rs3 = 3
}

const RD = 4;
function r(f7: number, rs2: number, rm: number): number {
  return ((f7 << 25) | (rs2 << 20) | (1 << 15) | (rm << 12) | (RD << 7) | 0x53) >>> 0;
}
function r4(opcode: number, fmt: number, rm: number): number {
  return ((3 << 27) | (fmt << 25) | (2 << 20) | (1 << 15) | (rm << 12) | (RD << 7) | opcode) >>> 0;
}

export const OPS: OpSpec[] = [];
function add(name: string, fmt: 0 | 1, srcs: Kind[], dst: Kind, rounds: boolean, encode: (rm: number) => number): void {
  OPS.push({ name, fmt, srcs, dst, rounds, encode });
}
for (const fmt of [0, 1] as const) {
  const S = fmt ? 'd' : 's';
  const ff: Kind[] = ['f', 'f'];
  add(`fadd.${S}`, fmt, ff, 'f', true, (rm) => r(0x00 | fmt, 2, rm));
  add(`fsub.${S}`, fmt, ff, 'f', true, (rm) => r(0x04 | fmt, 2, rm));
  add(`fmul.${S}`, fmt, ff, 'f', true, (rm) => r(0x08 | fmt, 2, rm));
  add(`fdiv.${S}`, fmt, ff, 'f', true, (rm) => r(0x0c | fmt, 2, rm));
  add(`fsqrt.${S}`, fmt, ['f'], 'f', true, (rm) => r(0x2c | fmt, 0, rm));
  add(`fsgnj.${S}`, fmt, ff, 'f', false, () => r(0x10 | fmt, 2, 0));
  add(`fsgnjn.${S}`, fmt, ff, 'f', false, () => r(0x10 | fmt, 2, 1));
  add(`fsgnjx.${S}`, fmt, ff, 'f', false, () => r(0x10 | fmt, 2, 2));
  add(`fmin.${S}`, fmt, ff, 'f', false, () => r(0x14 | fmt, 2, 0));
  add(`fmax.${S}`, fmt, ff, 'f', false, () => r(0x14 | fmt, 2, 1));
  add(`feq.${S}`, fmt, ff, 'x', false, () => r(0x50 | fmt, 2, 2));
  add(`flt.${S}`, fmt, ff, 'x', false, () => r(0x50 | fmt, 2, 1));
  add(`fle.${S}`, fmt, ff, 'x', false, () => r(0x50 | fmt, 2, 0));
  add(`fclass.${S}`, fmt, ['f'], 'x', false, () => r(0x70 | fmt, 0, 1));
  ['w', 'wu', 'l', 'lu'].forEach((t, i) => {
    add(`fcvt.${t}.${S}`, fmt, ['f'], 'x', true, (rm) => r(0x60 | fmt, i, rm));
    add(`fcvt.${S}.${t}`, fmt, ['x'], 'f', true, (rm) => r(0x68 | fmt, i, rm));
  });
  add(`fmadd.${S}`, fmt, ['f', 'f', 'f'], 'f', true, (rm) => r4(0x43, fmt, rm));
  add(`fmsub.${S}`, fmt, ['f', 'f', 'f'], 'f', true, (rm) => r4(0x47, fmt, rm));
  add(`fnmsub.${S}`, fmt, ['f', 'f', 'f'], 'f', true, (rm) => r4(0x4b, fmt, rm));
  add(`fnmadd.${S}`, fmt, ['f', 'f', 'f'], 'f', true, (rm) => r4(0x4f, fmt, rm));
}
add('fcvt.s.d', 1, ['f'], 'f', true, (rm) => r(0x20, 1, rm));
add('fcvt.d.s', 0, ['f'], 'f', true, (rm) => r(0x21, 0, rm));
add('fmv.x.w', 0, ['f'], 'x', false, () => r(0x70, 0, 0));
add('fmv.x.d', 1, ['f'], 'x', false, () => r(0x71, 0, 0));
add('fmv.w.x', 0, ['x'], 'f', false, () => r(0x78, 0, 0));
add('fmv.d.x', 1, ['x'], 'f', false, () => r(0x79, 0, 0));

export function op(name: string): OpSpec {
  const o = OPS.find((p) => p.name === name);
  if (!o) throw new Error(`no op ${name}`);
  return o;
}

/** xorshift128+ over BigInt-free 32-bit state: deterministic operands for reproducible runs. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: number) {
    this.s0 = seed | 1;
    this.s1 = 0x9e3779b9;
    this.s2 = 0x243f6a88;
    this.s3 = 0xb7e15162;
    for (let i = 0; i < 16; i++) this.u32();
  }
  u32(): number {
    const t = this.s0 ^ (this.s0 << 11);
    this.s0 = this.s1;
    this.s1 = this.s2;
    this.s2 = this.s3;
    this.s3 = (this.s3 ^ (this.s3 >>> 19) ^ t ^ (t >>> 8)) >>> 0;
    return this.s3;
  }
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  bits(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i += 32) v = (v << 32n) | BigInt(this.u32());
    return v & ((1n << BigInt(n)) - 1n);
  }
}

const BOX = 0xffffffff00000000n;
export const FMT = [
  { p: 24, ebits: 8, bias: 127, width: 32 },
  { p: 53, ebits: 11, bias: 1023, width: 64 },
] as const;

/** A significand field with structure: random, runs of ones/zeros, near-halfway tails. */
function mantissa(rng: Rng, m: number): bigint {
  const k = rng.below(6);
  const all = (1n << BigInt(m)) - 1n;
  if (k === 0) return rng.bits(m);
  if (k === 1) return all ^ ((1n << BigInt(rng.below(m + 1))) - 1n); // ones then zeros
  if (k === 2) return (1n << BigInt(rng.below(m + 1))) - 1n; // zeros then ones
  if (k === 3) return rng.bits(m) & ~((1n << BigInt(rng.below(m))) - 1n); // short significand
  if (k === 4) return 1n << BigInt(rng.below(m));
  return rng.bits(m) | 1n;
}

/** Raw bits of a value of format fmt (binary32 values NaN-boxed), biased toward edge cases. */
export function randFloat(rng: Rng, fmt: 0 | 1, nearExp?: number): bigint {
  const F = FMT[fmt];
  const m = F.p - 1;
  const emax = (1 << F.ebits) - 1;
  const sign = BigInt(rng.below(2));
  let e: number;
  const k = rng.below(100);
  if (nearExp !== undefined && k < 40) e = Math.min(emax - 1, Math.max(0, nearExp + rng.below(9) - 4));
  else if (k < 12) {
    // special values
    const pick = rng.below(8);
    e = pick < 2 ? 0 : pick < 4 ? emax : pick < 6 ? 1 : emax - 1;
    let mant = pick === 0 ? 0n : mantissa(rng, m);
    if (pick === 2) mant = 0n; // infinity
    if (pick === 3 && mant === 0n) mant = 1n; // NaN (signaling or quiet)
    if (pick === 3 && rng.chance(0.5)) mant |= 1n << BigInt(m - 1);
    return box(fmt, rng, (sign << BigInt(F.width - 1)) | (BigInt(e) << BigInt(m)) | mant);
  } else if (k < 30) e = rng.below(emax); // anywhere, subnormals included
  else if (k < 38) e = rng.chance(0.5) ? rng.below(F.p + 4) : emax - 1 - rng.below(F.p + 4); // extremes
  else e = F.bias - 20 + rng.below(41); // ordinary magnitudes
  return box(fmt, rng, (sign << BigInt(F.width - 1)) | (BigInt(e) << BigInt(m)) | mantissa(rng, m));
}

function box(fmt: 0 | 1, rng: Rng, bits: bigint): bigint {
  if (fmt === 1) return bits;
  if (rng.chance(0.02)) return (rng.bits(32) << 32n) | bits; // usually not a valid box
  return BOX | bits;
}

export function expOf(fmt: 0 | 1, bits: bigint): number {
  const F = FMT[fmt];
  return Number((bits >> BigInt(F.p - 1)) & BigInt((1 << F.ebits) - 1));
}

/** A 64-bit integer register value biased toward conversion edge cases. */
export function randInt(rng: Rng): bigint {
  const k = rng.below(8);
  const M = (1n << 64n) - 1n;
  if (k === 0) return BigInt.asUintN(64, BigInt(rng.below(2001) - 1000));
  if (k === 1) {
    // around a power of two, either sign
    const p = [24, 25, 31, 32, 53, 54, 63, 64][rng.below(8)];
    return BigInt.asUintN(64, (1n << BigInt(p)) + BigInt(rng.below(9) - 4)) * (rng.chance(0.3) ? M : 1n) & M;
  }
  if (k === 2) {
    // a short odd significand shifted: exact, halfway or just-off-halfway conversions
    const w = 24 + rng.below(32);
    const v = (rng.bits(w) | 1n | (1n << BigInt(w - 1))) << BigInt(rng.below(64 - w + 1));
    return (rng.chance(0.5) ? -v : v) & M;
  }
  if (k === 3) return BigInt.asUintN(64, BigInt.asIntN(32, rng.bits(32))); // sign-extended word
  return rng.bits(64);
}

/** A float near an integer-conversion boundary (for FCVT to integer). */
export function randCvtSource(rng: Rng, fmt: 0 | 1): bigint {
  if (rng.chance(0.4)) return randFloat(rng, fmt);
  const bases = [0, 1, 2, 3, 2 ** 23, 2 ** 31, 2 ** 32, 2 ** 52, 2 ** 63, 2 ** 64, 2 ** 31 - 1, 2 ** 32 - 1];
  const base = rng.chance(0.5) ? bases[rng.below(bases.length)] : rng.below(1000);
  const frac = [0, 0.25, 0.5, 0.75, -0.25, -0.5, -0.75, 1, -1][rng.below(9)];
  let v = base + frac * (base >= 2 ** 52 ? base / 2 ** 51 : 1);
  if (rng.chance(0.5)) v = -v;
  const buf = new DataView(new ArrayBuffer(8));
  if (fmt === 1) {
    buf.setFloat64(0, v, true);
    return buf.getBigUint64(0, true);
  }
  buf.setFloat32(0, v, true);
  return BOX | BigInt(buf.getUint32(0, true));
}

/** Runs FpUnit on one instruction: operands as raw 64-bit register values. */
export class Harness {
  readonly x: Int32Array;
  readonly f: Int32Array;
  readonly unit: FpUnit;
  constructor() {
    const sab = new SharedArrayBuffer(1024);
    this.x = new Int32Array(sab, 0, 64);
    this.f = new Int32Array(sab, 512, 64);
    this.unit = new FpUnit(this.x, this.f);
  }
  set(kind: Kind, reg: number, v: bigint): void {
    const a = kind === 'f' ? this.f : this.x;
    a[2 * reg] = Number(BigInt.asIntN(32, v));
    a[2 * reg + 1] = Number(BigInt.asIntN(32, v >> 32n));
  }
  get(kind: Kind, reg: number): bigint {
    const a = kind === 'f' ? this.f : this.x;
    return (BigInt(a[2 * reg + 1] >>> 0) << 32n) | BigInt(a[2 * reg] >>> 0);
  }
  /** Returns [result, fflags] or null when FpUnit reports an illegal instruction. */
  run(o: OpSpec, mode: number, ops: bigint[]): [bigint, number] | null {
    o.srcs.forEach((k, i) => this.set(k, i + 1, ops[i]));
    this.set(o.dst, RD, 0x5a5a5a5a5a5a5a5an);
    const rc = this.unit.execute(o.encode(7), mode);
    if (rc === FP_ILLEGAL) return null;
    return [this.get(o.dst, RD), rc & 0x1f];
  }
}

const dv = new DataView(new ArrayBuffer(8));
/** The value of a register holding fmt bits (binary32 boxing ignored). */
export function valueOf(fmt: 0 | 1, bits: bigint): number {
  if (fmt === 1) {
    dv.setBigUint64(0, BigInt.asUintN(64, bits), true);
    return dv.getFloat64(0, true);
  }
  dv.setUint32(0, Number(bits & 0xffffffffn), true);
  return dv.getFloat32(0, true);
}
/** The register value of a double rounded (to nearest) to fmt, binary32 NaN-boxed. */
export function bitsOf(fmt: 0 | 1, v: number): bigint {
  if (fmt === 1) {
    dv.setFloat64(0, v, true);
    return dv.getBigUint64(0, true);
  }
  dv.setFloat32(0, v, true);
  return BOX | BigInt(dv.getUint32(0, true));
}

/**
 * Replaces the last operand so that the result lands near a hard boundary of fmt: just below
 * 2^emin (tininess after rounding), half the smallest subnormal, or the overflow threshold.
 * Random operands almost never hit these.
 */
export function steer(rng: Rng, fmt: 0 | 1, name: string, ops: bigint[]): void {
  const F = FMT[fmt];
  const emin = 1 - F.bias;
  const ulp = 2 ** -F.p;
  const targets = [
    2 ** emin * (1 - ulp),
    2 ** emin * (1 - ulp / 2),
    2 ** emin,
    2 ** (emin - F.p),
    3 * 2 ** (emin - F.p),
    (2 - 2 * ulp) * 2 ** F.bias,
    (2 - ulp) * 2 ** F.bias,
  ];
  const t = targets[rng.below(targets.length)] * (rng.chance(0.5) ? -1 : 1);
  const a = valueOf(fmt, ops[0]);
  const b = ops.length > 1 ? valueOf(fmt, ops[1]) : 0;
  let v: number;
  if (name.startsWith('fmul')) v = t / a;
  else if (name.startsWith('fdiv')) v = a / t;
  else if (name.startsWith('fadd')) v = t - a;
  else if (name.startsWith('fsub')) v = a - t;
  else if (ops.length === 3) {
    // result = sp*a*b + sc*c for fmadd (+,+), fmsub (+,-), fnmsub (-,+), fnmadd (-,-).
    const sp = name.startsWith('fn') ? -1 : 1;
    const sc = name.startsWith('fmsub') || name.startsWith('fnmadd') ? -1 : 1;
    let bb = b;
    if (rng.chance(0.5)) {
      // Product and addend each near half the target: both large, the sum at the boundary.
      bb = valueOf(fmt, bitsOf(fmt, (sp * t) / 2 / a) + BigInt(rng.below(5) - 2));
      if (!Number.isFinite(bb)) return;
      ops[1] = bitsOf(fmt, bb);
    }
    v = (t - sp * a * bb) * sc;
  } else return;
  if (!Number.isFinite(v) || v === 0) return;
  const last = ops.length - 1;
  ops[last] = bitsOf(fmt, v) + BigInt(rng.below(5) - 2);
  if (fmt === 0) ops[last] = BOX | (ops[last] & 0xffffffffn);
  else ops[last] = BigInt.asUintN(64, ops[last]);
}

export const hex = (v: bigint): string => BigInt.asUintN(64, v).toString(16).padStart(16, "0");
