// SPDX-License-Identifier: GPL-2.0-only
// FCVT between binary32/binary64 and the 32- and 64-bit integers (W, WU, L, LU), and
// FCVT.S.D. 64-bit integers travel as two int32 halves; every step is exact double arithmetic,
// no BigInt. NaN and range rules follow the RISC-V table of conversion results.
// Spec: riscv-unpriv-20240411 §20.7 "Single-Precision Floating-Point Conversion and Move Instructions"
// Spec: riscv-unpriv-20240411 §21.5 "Double-Precision Floating-Point Conversion and Move Instructions"

import { F32, FR, NV, NX, OPD, PK, RDN, RES, RMM, RNE, RUP, roundPack, split, st } from './round.ts';

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

/**
 * FCVT.{W,WU,L,LU}.{S,D}: converts OPD[0] (NaN allowed) to an integer of `kind`, writing the
 * sign-extended 64-bit register value to ir. Out of range and NaN saturate and raise NV only.
 */
export function toInt(kind: number, mode: number): void {
  const x = OPD[0];
  let n = x;
  let bad = x !== x;
  let high = bad; // NaN saturates to the largest value
  if (!bad) {
    if (x < TWO52 && x > -TWO52) {
      // Round to an integer in the mode: t and f = x - t are exact.
      const t = Math.trunc(x);
      const f = x - t;
      n = t;
      if (f !== 0) {
        const af = f < 0 ? -f : f;
        const s = x < 0 ? -1 : 1;
        if (mode === RDN) n = s < 0 ? t - 1 : t;
        else if (mode === RUP) n = s > 0 ? t + 1 : t;
        else if (mode === RMM) n = af >= 0.5 ? t + s : t;
        else if (mode === RNE) n = af > 0.5 || (af === 0.5 && t % 2 !== 0) ? t + s : t;
      }
    }
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

/** FCVT.{S,D}.{W,WU,L,LU}: RES = the integer in (lo, hi) rounded to fmt; 0 converts to +0. */
export function fromInt(lo: number, hi: number, kind: number, fmt: number, mode: number): void {
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
  if (e === 0 && (v === 0 || fmt !== F32 || Math.fround(v) === v)) {
    RES[0] = v;
    return;
  }
  PK[0] = v < 0 ? -v : v;
  PK[1] = v < 0 ? -e : e;
  PK[2] = 0;
  roundPack(v < 0, 0, fmt, mode);
}

/** FCVT.S.D: RES = OPD[0] rounded to binary32 (NaNs are handled by the caller). */
export function f64ToF32(mode: number): void {
  const x = OPD[0];
  if (x === 0 || x - x !== 0) {
    RES[0] = x;
    return;
  }
  if (mode === RNE) {
    const r = Math.fround(x);
    const ar = Math.abs(r);
    if (ar > 1.1754943508222875e-38 && ar !== Infinity) {
      if (r !== x) st.fl |= NX;
      RES[0] = r;
      return;
    }
  }
  const k = split(OPD, 0);
  const m = FR[0];
  PK[0] = m < 0 ? -m : m;
  PK[1] = 0;
  PK[2] = 0;
  roundPack(m < 0, k, F32, mode);
}
