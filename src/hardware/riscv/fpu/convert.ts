// SPDX-License-Identifier: GPL-2.0-only
// FCVT between binary32/binary64 and the 32- and 64-bit integers (W, WU, L, LU), and
// FCVT.S.D. 64-bit integers travel as two int32 halves; every step is exact double arithmetic,
// no BigInt. NaN and range rules follow the RISC-V table of conversion results.
// Spec: riscv-unpriv-20240411 §20.7 "Single-Precision Floating-Point Conversion and Move Instructions"
// Spec: riscv-unpriv-20240411 §21.5 "Double-Precision Floating-Point Conversion and Move Instructions"

import { F32, NV, NX, RDN, RMM, RNE, RTZ, RUP, fr, roundPack, split, st } from './round.ts';

/** Integer kinds, numbered as the rs2 field of FCVT encodes them. */
export const CVT_W = 0;
export const CVT_WU = 1;
export const CVT_L = 2;
export const CVT_LU = 3;

const TWO32 = 4294967296;
const TWO52 = 4503599627370496;
const TWO63 = 9223372036854775808;
const TWO64 = 18446744073709551616;

/** Result of toInt(): the 64-bit integer register value as two int32 halves. */
export const ir = { lo: 0, hi: 0 };

/** Rounds a finite double to an integer (as a double) in mode `mode`, exactly. */
function roundInt(x: number, mode: number): number {
  if (x >= TWO52 || x <= -TWO52) return x; // already an integer
  const t = Math.trunc(x);
  const f = x - t; // exact
  if (f === 0) return t;
  const s = x < 0 ? -1 : 1;
  switch (mode) {
    case RTZ:
      return t;
    case RDN:
      return s < 0 ? t - 1 : t;
    case RUP:
      return s > 0 ? t + 1 : t;
    case RMM:
      return Math.abs(f) >= 0.5 ? t + s : t;
    default: {
      const af = Math.abs(f);
      if (af > 0.5 || (af === 0.5 && t % 2 !== 0)) return t + s;
      return t;
    }
  }
}

/**
 * FCVT.{W,WU,L,LU}.{S,D}: converts x (NaN allowed) to an integer of `kind`, writing the
 * sign-extended 64-bit register value to ir. Out of range and NaN saturate and raise NV only.
 */
export function toInt(x: number, kind: number, mode: number): void {
  let n = 0;
  let bad = x !== x;
  let high = bad; // NaN saturates to the largest value
  if (!bad) {
    n = x === Infinity || x === -Infinity ? x : roundInt(x, mode);
    high = n > 0;
    if (kind === CVT_W) bad = n < -2147483648 || n > 2147483647;
    else if (kind === CVT_WU) bad = n < 0 || n > 4294967295;
    else if (kind === CVT_L) bad = n < -TWO63 || n >= TWO63;
    else bad = n < 0 || n >= TWO64;
  }
  if (bad) {
    st.fl |= NV;
    if (kind === CVT_W) ir.lo = high ? 0x7fffffff : -0x80000000;
    else if (kind === CVT_WU) ir.lo = high ? -1 : 0;
    else if (kind === CVT_L) {
      ir.lo = high ? -1 : 0;
      ir.hi = high ? 0x7fffffff : -0x80000000;
      return;
    } else {
      ir.lo = high ? -1 : 0;
      ir.hi = ir.lo;
      return;
    }
    ir.hi = ir.lo >> 31;
    return;
  }
  if (n !== x) st.fl |= NX;
  if (kind <= CVT_WU) {
    ir.lo = n | 0; // WU results are sign-extended from bit 31 too
    ir.hi = ir.lo >> 31;
    return;
  }
  const h = Math.floor(n / TWO32);
  ir.lo = (n - h * TWO32) | 0;
  ir.hi = h | 0;
}

/** FCVT.{S,D}.{W,WU,L,LU}: the integer in (lo, hi) rounded to fmt; 0 converts to +0. */
export function fromInt(lo: number, hi: number, kind: number, fmt: number, mode: number): number {
  let v: number;
  let e = 0;
  if (kind === CVT_W) v = lo | 0;
  else if (kind === CVT_WU) v = lo >>> 0;
  else {
    // hi * 2^32 is exact; TwoSum gives the 64-bit value exactly as v + e.
    const h = (kind === CVT_L ? hi | 0 : hi >>> 0) * TWO32;
    const l = lo >>> 0;
    v = h + l;
    const bb = v - h;
    e = h - (v - bb) + (l - bb);
  }
  if (v === 0) return 0;
  if (e === 0 && (fmt !== F32 || Math.fround(v) === v)) return v;
  return v < 0 ? roundPack(true, -v, -e, 0, 0, fmt, mode) : roundPack(false, v, e, 0, 0, fmt, mode);
}

/** FCVT.S.D on a finite non-zero or infinite double (NaNs are handled by the caller). */
export function f64ToF32(x: number, mode: number): number {
  if (x === 0 || x - x !== 0) return x;
  if (mode === RNE) {
    const r = Math.fround(x);
    const ar = Math.abs(r);
    if (ar > 1.1754943508222875e-38 && ar !== Infinity) {
      if (r !== x) st.fl |= NX;
      return r;
    }
  }
  split(x);
  const m = fr.m;
  return m < 0 ? roundPack(true, -m, 0, 0, fr.k, F32, mode) : roundPack(false, m, 0, 0, fr.k, F32, mode);
}
