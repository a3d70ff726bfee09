// SPDX-License-Identifier: GPL-2.0-only
// A slow, exact reference for the F/D instructions, written from the specs and independent of
// src/hardware/riscv/fpu: operands decode to exact rationals (BigInt significand * 2^exponent),
// results are computed exactly (quotients and square roots with a sticky bit), then rounded with
// integer arithmetic in each mode, with RISC-V's flags (tininess after rounding).
// Spec: ieee754-2008 §4.3 "Rounding-direction attributes"; §7 "Default exception handling"
// Spec: riscv-unpriv-20240411 §20 "F Extension for Single-Precision Floating-Point"; §21 (D)

export const FLAG_NX = 1;
export const FLAG_UF = 2;
export const FLAG_OF = 4;
export const FLAG_DZ = 8;
export const FLAG_NV = 16;

interface Fmt {
  p: number;
  ebits: number;
  bias: number;
  emin: number;
  emax: number;
}
const FMTS: Fmt[] = [
  { p: 24, ebits: 8, bias: 127, emin: -126, emax: 127 },
  { p: 53, ebits: 11, bias: 1023, emin: -1022, emax: 1023 },
];

export type Num =
  | { cls: 'nan'; snan: boolean; sign: number }
  | { cls: 'inf'; sign: number }
  | { cls: 'zero'; sign: number }
  | { cls: 'fin'; sign: number; M: bigint; X: number }; // value (-1)^sign * M * 2^X, M > 0

export type Result = [bigint, number]; // register bits, fflags

const bitlen = (v: bigint): number => v.toString(2).length;

/** Decodes a register value as fmt (binary32 must be NaN-boxed, else it is the canonical NaN). */
export function decode(fmt: 0 | 1, reg: bigint): Num {
  const F = FMTS[fmt];
  if (fmt === 0 && reg >> 32n !== 0xffffffffn) return { cls: 'nan', snan: false, sign: 0 };
  const width = fmt ? 64 : 32;
  const bits = reg & ((1n << BigInt(width)) - 1n);
  const m = BigInt(F.p - 1);
  const sign = Number(bits >> BigInt(width - 1));
  const e = Number((bits >> m) & BigInt((1 << F.ebits) - 1));
  const frac = bits & ((1n << m) - 1n);
  if (e === (1 << F.ebits) - 1) {
    if (frac === 0n) return { cls: 'inf', sign };
    return { cls: 'nan', snan: (frac >> (m - 1n)) === 0n, sign };
  }
  if (e === 0 && frac === 0n) return { cls: 'zero', sign };
  if (e === 0) return { cls: 'fin', sign, M: frac, X: F.emin - F.p + 1 };
  return { cls: 'fin', sign, M: frac | (1n << m), X: e - F.bias - F.p + 1 };
}

function pack(fmt: 0 | 1, sign: number, biased: number, frac: bigint): bigint {
  const F = FMTS[fmt];
  const width = fmt ? 64 : 32;
  const v = (BigInt(sign) << BigInt(width - 1)) | (BigInt(biased) << BigInt(F.p - 1)) | frac;
  return fmt ? v : 0xffffffff00000000n | v;
}
export const canonicalNaN = (fmt: 0 | 1): bigint => (fmt ? 0x7ff8000000000000n : 0xffffffff7fc00000n);
const inf = (fmt: 0 | 1, sign: number): bigint => pack(fmt, sign, (1 << FMTS[fmt].ebits) - 1, 0n);
const zero = (fmt: 0 | 1, sign: number): bigint => pack(fmt, sign, 0, 0n);

/** Does the mode round this sign's magnitude up on an inexact result (ignoring ties)? */
function directedUp(mode: number, sign: number): boolean {
  return (mode === 2 && sign === 1) || (mode === 3 && sign === 0);
}

/** Rounds M * 2^X (plus a non-zero tail below 2^X if sticky) to an integer multiple of 2^Q. */
function roundTo(M: bigint, X: number, sticky: boolean, Q: number, mode: number, sign: number): [bigint, boolean] {
  if (Q <= X) {
    if (sticky) throw new Error('reference: not enough significand bits for a sticky value');
    return [M << BigInt(X - Q), false];
  }
  const s = BigInt(Q - X);
  const K = M >> s;
  const R = M & ((1n << s) - 1n);
  const half = 1n << (s - 1n);
  const inexact = R !== 0n || sticky;
  const above = R > half || (R === half && sticky);
  const tie = R === half && !sticky;
  let up = false;
  if (mode === 0) up = above || (tie && (K & 1n) === 1n);
  else if (mode === 4) up = above || tie;
  else if (mode !== 1) up = inexact && directedUp(mode, sign);
  return [up ? K + 1n : K, inexact];
}

/** Rounds (-1)^sign * (M * 2^X + tail) to fmt in mode; M > 0 with >= p + 3 bits when sticky. */
export function roundRef(fmt: 0 | 1, sign: number, M: bigint, X: number, sticky: boolean, mode: number): Result {
  const F = FMTS[fmt];
  const eV = X + bitlen(M) - 1;
  // Rounded as if the exponent range were unbounded: decides overflow and tininess.
  const Qn = eV - F.p + 1;
  const [Ku] = roundTo(M, X, sticky, Qn, mode, sign);
  const eU = bitlen(Ku) - 1 + Qn;
  if (eU > F.emax) {
    // Spec: ieee754-2008 §7.4 "Overflow": round toward zero gives the largest finite number.
    const toMax = mode === 1 || (mode === 2 && sign === 0) || (mode === 3 && sign === 1);
    const big = toMax ? pack(fmt, sign, (1 << F.ebits) - 2, (1n << BigInt(F.p - 1)) - 1n) : inf(fmt, sign);
    return [big, FLAG_OF | FLAG_NX];
  }
  const tiny = eU < F.emin;
  const Q = Math.max(Qn, F.emin - F.p + 1);
  const [K, inexact] = roundTo(M, X, sticky, Q, mode, sign);
  let flags = inexact ? FLAG_NX : 0;
  if (tiny && inexact) flags |= FLAG_UF; // Spec: riscv-unpriv-20240411 §20.4 "Subnormal Arithmetic"
  if (K === 0n) return [zero(fmt, sign), flags];
  const bl = bitlen(K);
  const e = bl - 1 + Q;
  if (e < F.emin) return [pack(fmt, sign, 0, K << BigInt(Q - (F.emin - F.p + 1))), flags];
  const norm = bl > F.p ? K >> BigInt(bl - F.p) : K << BigInt(F.p - bl);
  return [pack(fmt, sign, e + F.bias, norm & ((1n << BigInt(F.p - 1)) - 1n)), flags];
}

const nanResult = (fmt: 0 | 1, nv: boolean): Result => [canonicalNaN(fmt), nv ? FLAG_NV : 0];
const anySnan = (...xs: Num[]): boolean => xs.some((x) => x.cls === 'nan' && x.snan);
const anyNan = (...xs: Num[]): boolean => xs.some((x) => x.cls === 'nan');

/** Exact sum of two finite-or-zero values as a signed (significand, exponent). */
function exactSum(sa: number, Ma: bigint, Xa: number, sb: number, Mb: bigint, Xb: number): [bigint, number] {
  const X = Math.min(Xa, Xb);
  const A = (Ma << BigInt(Xa - X)) * (sa ? -1n : 1n);
  const B = (Mb << BigInt(Xb - X)) * (sb ? -1n : 1n);
  return [A + B, X];
}

function finishSum(fmt: 0 | 1, S: bigint, X: number, mode: number, zeroSign: number): Result {
  // Spec: ieee754-2008 §6.3 "The sign bit": an exact zero sum of opposite signs is +0 (-0 in RDN).
  if (S === 0n) return [zero(fmt, zeroSign), 0];
  return roundRef(fmt, S < 0n ? 1 : 0, S < 0n ? -S : S, X, false, mode);
}

const parts = (x: Num): [number, bigint, number] => (x.cls === 'fin' ? [x.sign, x.M, x.X] : [x.sign, 0n, 0]);

export function refAdd(fmt: 0 | 1, a: Num, b: Num, mode: number): Result {
  if (anyNan(a, b)) return nanResult(fmt, anySnan(a, b));
  if (a.cls === 'inf' || b.cls === 'inf') {
    if (a.cls === 'inf' && b.cls === 'inf' && a.sign !== b.sign) return nanResult(fmt, true);
    return [inf(fmt, a.cls === 'inf' ? a.sign : b.sign), 0];
  }
  const [sa, Ma, Xa] = parts(a);
  const [sb, Mb, Xb] = parts(b);
  const [S, X] = exactSum(sa, Ma, Xa, sb, Mb, Xb);
  const zs = a.sign === b.sign ? a.sign : mode === 2 ? 1 : 0;
  return finishSum(fmt, S, X, mode, zs);
}

export function refMul(fmt: 0 | 1, a: Num, b: Num, mode: number): Result {
  if (anyNan(a, b)) return nanResult(fmt, anySnan(a, b));
  const sign = a.sign ^ b.sign;
  if (a.cls === 'inf' || b.cls === 'inf') {
    if (a.cls === 'zero' || b.cls === 'zero') return nanResult(fmt, true);
    return [inf(fmt, sign), 0];
  }
  if (a.cls !== 'fin' || b.cls !== 'fin') return [zero(fmt, sign), 0];
  return roundRef(fmt, sign, a.M * b.M, a.X + b.X, false, mode);
}

export function refDiv(fmt: 0 | 1, a: Num, b: Num, mode: number): Result {
  if (anyNan(a, b)) return nanResult(fmt, anySnan(a, b));
  const sign = a.sign ^ b.sign;
  if (a.cls === 'inf') return b.cls === 'inf' ? nanResult(fmt, true) : [inf(fmt, sign), 0];
  if (b.cls === 'inf') return [zero(fmt, sign), 0];
  if (b.cls === 'zero') return a.cls === 'zero' ? nanResult(fmt, true) : [inf(fmt, sign), FLAG_DZ];
  if (a.cls !== 'fin' || b.cls !== 'fin') return [zero(fmt, sign), 0];
  const s = Math.max(0, FMTS[fmt].p + 4 + bitlen(b.M) - bitlen(a.M));
  const N = a.M << BigInt(s);
  return roundRef(fmt, sign, N / b.M, a.X - b.X - s, N % b.M !== 0n, mode);
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitlen(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function refSqrt(fmt: 0 | 1, a: Num, mode: number): Result {
  if (a.cls === 'nan') return nanResult(fmt, a.snan);
  if (a.cls === 'zero') return [zero(fmt, a.sign), 0];
  if (a.sign === 1) return nanResult(fmt, true);
  if (a.cls === 'inf') return [inf(fmt, 0), 0];
  let k = Math.max(0, 2 * (FMTS[fmt].p + 4) - bitlen(a.M));
  if ((a.X - k) % 2 !== 0) k++;
  const N = a.M << BigInt(k);
  const r = isqrt(N);
  return roundRef(fmt, 0, r, (a.X - k) / 2, r * r !== N, mode);
}

/** a*b + c with the signs of the product and addend already negated as the opcode asks. */
export function refFma(fmt: 0 | 1, a: Num, b: Num, c: Num, mode: number): Result {
  const infZero = (a.cls === 'inf' && b.cls === 'zero') || (a.cls === 'zero' && b.cls === 'inf');
  if (infZero) return nanResult(fmt, true); // invalid even when c is a quiet NaN
  if (anyNan(a, b, c)) return nanResult(fmt, anySnan(a, b, c));
  const ps = a.sign ^ b.sign;
  if (a.cls === 'inf' || b.cls === 'inf') {
    if (c.cls === 'inf' && c.sign !== ps) return nanResult(fmt, true);
    return [inf(fmt, ps), 0];
  }
  if (c.cls === 'inf') return [inf(fmt, c.sign), 0];
  const Mp = a.cls === 'fin' && b.cls === 'fin' ? a.M * b.M : 0n;
  const Xp = a.cls === 'fin' && b.cls === 'fin' ? a.X + b.X : 0;
  const [sc, Mc, Xc] = parts(c);
  const [S, X] = exactSum(ps, Mp, Xp, sc, Mc, Xc);
  const productZero = Mp === 0n;
  const zs = productZero && c.cls === 'zero' && ps === c.sign ? ps : mode === 2 ? 1 : 0;
  return finishSum(fmt, S, X, mode, zs);
}

export function negate(x: Num): Num {
  return { ...x, sign: x.sign ^ 1 } as Num;
}

/** FCVT.{W,WU,L,LU}: kind 0..3; returns the 64-bit x register value. */
export function refToInt(x: Num, kind: number, mode: number): Result {
  const lo = [-(1n << 31n), 0n, -(1n << 63n), 0n][kind];
  const hi = [(1n << 31n) - 1n, (1n << 32n) - 1n, (1n << 63n) - 1n, (1n << 64n) - 1n][kind];
  const reg = (n: bigint): bigint => (kind < 2 ? BigInt.asUintN(64, BigInt.asIntN(32, n)) : BigInt.asUintN(64, n));
  if (x.cls === 'nan') return [reg(hi), FLAG_NV];
  if (x.cls === 'inf') return [reg(x.sign ? lo : hi), FLAG_NV];
  if (x.cls === 'zero') return [0n, 0];
  let n: bigint;
  let inexact: boolean;
  if (x.X >= 0) {
    n = x.M << BigInt(x.X);
    inexact = false;
  } else {
    [n, inexact] = roundTo(x.M, x.X, false, 0, mode, x.sign);
  }
  if (x.sign) n = -n;
  if (n < lo || n > hi) return [reg(x.sign ? lo : hi), FLAG_NV];
  return [reg(n), inexact ? FLAG_NX : 0];
}

/** FCVT.fmt.{W,WU,L,LU} from the 64-bit x register value. */
export function refFromInt(fmt: 0 | 1, reg: bigint, kind: number, mode: number): Result {
  const n = [BigInt.asIntN(32, reg), BigInt.asUintN(32, reg), BigInt.asIntN(64, reg), BigInt.asUintN(64, reg)][kind];
  if (n === 0n) return [zero(fmt, 0), 0];
  return roundRef(fmt, n < 0n ? 1 : 0, n < 0n ? -n : n, 0, false, mode);
}

/** FCVT.S.D (to = 0) and FCVT.D.S (to = 1). */
export function refCvtFF(to: 0 | 1, x: Num, mode: number): Result {
  if (x.cls === 'nan') return nanResult(to, x.snan);
  if (x.cls === 'inf') return [inf(to, x.sign), 0];
  if (x.cls === 'zero') return [zero(to, x.sign), 0];
  return roundRef(to, x.sign, x.M, x.X, false, mode);
}
