// SPDX-License-Identifier: GPL-2.0-only
// 64-bit multiply and divide on two int32 halves for the M extension, without BigInt and
// without allocation: results land in the exported `r64` scratch words (lo, hi).
// Spec: riscv-unpriv-20240411 §13 "M" Extension for Integer Multiplication and Division
// (division by zero and signed overflow give the spec's fixed results, never a trap).

/** Result words: [0] = low 32 bits, [1] = high 32 bits (of the last mul/div/rem). */
export const r64 = new Int32Array(2);

const TWO32 = 4294967296;

const INV32 = 1 / TWO32;

/**
 * High 32 bits of the unsigned 64-bit product a * b (a, b taken as uint32). Math.imul gives
 * the exact low word; the double product a * b is within 2^12 of the truth, so
 * (a * b - low) / 2^32 lies within 2^-20 of the exact high word and rounds to it.
 */
function mulhi32(a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  return Math.round((a * b - (Math.imul(a, b) >>> 0)) * INV32) | 0;
}

/** Full 64-bit product of two unsigned 32-bit numbers into r64. */
export function mulu32(a: number, b: number): void {
  r64[0] = Math.imul(a, b);
  r64[1] = mulhi32(a, b);
}

/** Low 64 bits of a 64 x 64 product (MUL). */
export function mul64(alo: number, ahi: number, blo: number, bhi: number): void {
  r64[0] = Math.imul(alo, blo);
  r64[1] = (mulhi32(alo, blo) + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
}

/** High 64 bits of the unsigned 128-bit product (MULHU). */
export function mulhu64(alo: number, ahi: number, blo: number, bhi: number): void {
  const p0hi = mulhi32(alo, blo) >>> 0;
  const p1lo = Math.imul(alo, bhi) >>> 0, p1hi = mulhi32(alo, bhi) >>> 0;
  const p2lo = Math.imul(ahi, blo) >>> 0, p2hi = mulhi32(ahi, blo) >>> 0;
  const p3lo = Math.imul(ahi, bhi) >>> 0, p3hi = mulhi32(ahi, bhi) >>> 0;
  // bits 32..63 column: p0hi + p1lo + p2lo (< 3 * 2^32, exact)
  const c1 = p0hi + p1lo + p2lo;
  const carry1 = Math.floor(c1 * INV32);
  const c2 = p1hi + p2hi + p3lo + carry1;
  const carry2 = Math.floor(c2 * INV32);
  r64[0] = c2 >>> 0 | 0;
  r64[1] = (p3hi + carry2) | 0;
}

/** High 64 bits of the signed x signed product (MULH). */
export function mulh64(alo: number, ahi: number, blo: number, bhi: number): void {
  mulhu64(alo, ahi, blo, bhi);
  let lo = r64[0], hi = r64[1];
  if (ahi < 0) { const s = (lo >>> 0) - (blo >>> 0); hi = (hi - bhi - (s < 0 ? 1 : 0)) | 0; lo = s | 0; }
  if (bhi < 0) { const s = (lo >>> 0) - (alo >>> 0); hi = (hi - ahi - (s < 0 ? 1 : 0)) | 0; lo = s | 0; }
  r64[0] = lo;
  r64[1] = hi;
}

/** High 64 bits of signed a x unsigned b (MULHSU). */
export function mulhsu64(alo: number, ahi: number, blo: number, bhi: number): void {
  mulhu64(alo, ahi, blo, bhi);
  if (ahi < 0) {
    const lo = r64[0], s = (lo >>> 0) - (blo >>> 0);
    r64[1] = (r64[1] - bhi - (s < 0 ? 1 : 0)) | 0;
    r64[0] = s | 0;
  }
}

/** Remainder of the last divu64 (lo, hi). */
export const rem64 = new Int32Array(2);

/**
 * Unsigned 64 / 64 division: quotient in r64, remainder in rem64. b must not be zero.
 * Exact: doubles only ever hold values below 2^53, or estimate a quotient that is then
 * corrected with exact 64-bit arithmetic.
 */
export function divu64(alo: number, ahi: number, blo: number, bhi: number): void {
  const au = ahi >>> 0, al = alo >>> 0, bu = bhi >>> 0, bl = blo >>> 0;
  if (au < 0x200000 && bu < 0x200000) {
    // both < 2^53: exact in doubles
    const a = au * TWO32 + al, b = bu * TWO32 + bl;
    const q = Math.floor(a / b), r = a - q * b;
    r64[0] = q % TWO32 | 0; r64[1] = Math.floor(q / TWO32) | 0;
    rem64[0] = r % TWO32 | 0; rem64[1] = Math.floor(r / TWO32) | 0;
    return;
  }
  if (bu === 0) {
    // divisor < 2^32: long division in 32- and 16-bit digits, every partial value < 2^48
    const qh = Math.floor(au / bl);
    let r = au - qh * bl;
    const t1 = r * 65536 + (al >>> 16);
    const q1 = Math.floor(t1 / bl);
    r = t1 - q1 * bl;
    const t2 = r * 65536 + (al & 0xffff);
    const q2 = Math.floor(t2 / bl);
    r = t2 - q2 * bl;
    r64[0] = (q1 * 65536 + q2) | 0; r64[1] = qh | 0;
    rem64[0] = r | 0; rem64[1] = 0;
    return;
  }
  // divisor >= 2^32, so the quotient is < 2^32. Estimate it from doubles (relative error
  // < 2^-51, so the estimate is within 1 of the truth), step one below, then correct upward.
  let q = Math.floor((au * TWO32 + al) / (bu * TWO32 + bl));
  q = q > 0 ? q - 1 : 0;
  mulu32(q, bl);
  let plo = r64[0] >>> 0;
  let phi = (r64[1] + Math.imul(q, bu)) >>> 0;
  // r = a - q*b (q*b <= a)
  let rlo = al - plo, rhi = au - phi;
  if (rlo < 0) { rlo += TWO32; rhi -= 1; }
  while (rhi > bu || (rhi === bu && rlo >= bl)) {
    rlo -= bl; rhi -= bu;
    if (rlo < 0) { rlo += TWO32; rhi -= 1; }
    q++;
  }
  void plo; void phi;
  r64[0] = q | 0; r64[1] = 0;
  rem64[0] = rlo | 0; rem64[1] = rhi | 0;
}

/** DIVU / REMU with the spec's divide-by-zero results. rem selects the remainder into r64. */
export function divuOp(alo: number, ahi: number, blo: number, bhi: number, rem: boolean): void {
  if (blo === 0 && bhi === 0) {
    if (rem) { r64[0] = alo; r64[1] = ahi; } else { r64[0] = -1; r64[1] = -1; }
    return;
  }
  divu64(alo, ahi, blo, bhi);
  if (rem) { r64[0] = rem64[0]; r64[1] = rem64[1]; }
}

/** DIV / REM (signed), including x / 0 and MIN / -1. */
export function divOp(alo: number, ahi: number, blo: number, bhi: number, rem: boolean): void {
  if (blo === 0 && bhi === 0) {
    if (rem) { r64[0] = alo; r64[1] = ahi; } else { r64[0] = -1; r64[1] = -1; }
    return;
  }
  if (blo === -1 && bhi === -1 && alo === 0 && ahi === -0x80000000) {
    if (rem) { r64[0] = 0; r64[1] = 0; } else { r64[0] = alo; r64[1] = ahi; }
    return;
  }
  const an = ahi < 0, bn = bhi < 0;
  if (an) { alo = -alo | 0; ahi = (~ahi + (alo === 0 ? 1 : 0)) | 0; }
  if (bn) { blo = -blo | 0; bhi = (~bhi + (blo === 0 ? 1 : 0)) | 0; }
  divu64(alo, ahi, blo, bhi);
  let lo: number, hi: number, neg: boolean;
  if (rem) { lo = rem64[0]; hi = rem64[1]; neg = an; } else { lo = r64[0]; hi = r64[1]; neg = an !== bn; }
  if (neg) { lo = -lo | 0; hi = (~hi + (lo === 0 ? 1 : 0)) | 0; }
  r64[0] = lo; r64[1] = hi;
}
