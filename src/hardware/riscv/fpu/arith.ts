// SPDX-License-Identifier: GPL-2.0-only
// FADD/FSUB/FMUL/FDIV/FSQRT and the fused multiply-adds for binary32/binary64 on non-NaN operands:
// each finds the exact result as hi + tail with error-free transformations (TwoSum, Dekker's
// TwoProduct, exact remainders), scaling extreme binary64 operands into a safe exponent frame,
// and hands it to roundPack. NaNs are the caller's (fp-unit.ts); proofs in docs/design/fpu.md.
// Spec: riscv-unpriv-20240411 §20.6 "Single-Precision Floating-Point Computational Instructions"
// Spec: riscv-unpriv-20240411 §21.4 "Double-Precision Floating-Point Computational Instructions"

import { F32, F64, NV, DZ, NX, RDN, RNE, fr, pow2, roundPack, split, st } from './round.ts';

const SPLITTER = 134217729; // 2^27 + 1
const TWO_M60 = 8.673617379884035e-19; // 2^-60: scales a stand-in tail far below ulp/4
const BIG = 8.98846567431158e307; // 2^1020
const TINY = 1.0020841800044864e-289; // 2^-960
const SPLIT_MAX = 2.0240225330731144e299; // 2^995: Veltkamp splitting cannot overflow below it
const F32_MIN_NORMAL = 1.1754943508222875e-38; // 2^-126

// Outputs of the error-free transformations (module scratch: no allocation per instruction).
let tH = 0;
let tL = 0;

/** TwoSum (Knuth): tH + tL = a + b exactly, tH = RN(a + b). Exact unless a + b overflows. */
function twoSum(a: number, b: number): void {
  const s = a + b;
  const bb = s - a;
  tL = a - (s - bb) + (b - bb);
  tH = s;
}

/** Dekker's TwoProduct: tH + tL = a * b exactly when |a|, |b| < 2^995 and e_a + e_b >= -970. */
function twoProd(a: number, b: number): void {
  const p = a * b;
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  tL = ah * bh - p + ah * bl + al * bh + al * bl;
  tH = p;
}

/** The sign of an exact zero sum of operands of different signs (IEEE 754 §6.3). */
function zeroSum(mode: number): number {
  return mode === RDN ? -0 : 0;
}

/** a + b rounded to fmt (binary32 operands are exact doubles). Returns NaN for inf - inf. */
export function add(a: number, b: number, fmt: number, mode: number): number {
  // Spec: ieee754-2008 §6.3 "The sign bit": x + (-x) is +0, or -0 when rounding toward -inf.
  if (a === 0 || b === 0) {
    if (a !== 0) return a;
    if (b !== 0) return b;
    return Object.is(a, b) ? a : zeroSum(mode);
  }
  if (a - a !== 0 || b - b !== 0) {
    // An infinity: inf + (-inf) is invalid.
    if (a + b !== a + b) {
      st.fl |= NV;
      return NaN;
    }
    return a + b;
  }
  const aa = Math.abs(a);
  const ab = Math.abs(b);
  if (fmt === F64 && (aa >= BIG || ab >= BIG)) return addFramed(a, b, mode);
  twoSum(a, b);
  const s = tH;
  const e = tL;
  if (s === 0) return zeroSum(mode);
  if (fmt === F64) {
    // Sums below 2^-1022 are exact (both operands are multiples of 2^-1074).
    if (e === 0) return s;
    if (mode === RNE) {
      st.fl |= NX;
      return s;
    }
    return s < 0 ? roundPack(true, -s, -e, 0, 0, F64, mode) : roundPack(false, s, e, 0, 0, F64, mode);
  }
  if (mode === RNE) {
    // RN24(RN53(x)) = RN24(x) for sums of binary32 values (53 >= 2*24 + 2).
    const r = Math.fround(s);
    const ar = Math.abs(r);
    if (ar > F32_MIN_NORMAL && ar !== Infinity) {
      if (r !== s || e !== 0) st.fl |= NX;
      return r;
    }
  }
  return s < 0 ? roundPack(true, -s, -e, 0, 0, F32, mode) : roundPack(false, s, e, 0, 0, F32, mode);
}

/** binary64 a + b when an operand is near overflow: scale both by 2^-max(ka, kb). */
function addFramed(a: number, b: number, mode: number): number {
  split(a);
  const ma = fr.m;
  const ka = fr.k;
  split(b);
  let mb = fr.m;
  const kb = fr.k;
  let ms = ma;
  let k = ka;
  if (kb > ka) {
    ms = mb;
    mb = ma;
    k = kb;
  }
  const d = (kb > ka ? ka : kb) - k;
  // The smaller operand below 2^-100 in the frame only acts as a sticky bit.
  const mo = d < -100 ? (mb < 0 ? -TWO_M60 * TWO_M60 : TWO_M60 * TWO_M60) : mb * pow2(d);
  twoSum(ms, mo);
  const s = tH;
  const e = tL;
  if (s === 0) return zeroSum(mode);
  return s < 0 ? roundPack(true, -s, -e, 0, k, F64, mode) : roundPack(false, s, e, 0, k, F64, mode);
}

/** a * b rounded to fmt. Returns NaN for 0 * inf. */
export function mul(a: number, b: number, fmt: number, mode: number): number {
  const p = a * b;
  if (a === 0 || b === 0 || a - a !== 0 || b - b !== 0) {
    if (p !== p) st.fl |= NV;
    return p; // zeros and infinities: exact, sign is the xor of the operands' signs
  }
  const neg = a < 0 !== b < 0; // not p < 0: p may have underflowed to -0
  if (fmt === F32) {
    // binary32 products have at most 48 significant bits: p is exact.
    if (mode === RNE) {
      const r = Math.fround(p);
      const ar = Math.abs(r);
      if (ar > F32_MIN_NORMAL && ar !== Infinity) {
        if (r !== p) st.fl |= NX;
        return r;
      }
    }
    return roundPack(neg, Math.abs(p), 0, 0, 0, F32, mode);
  }
  const ap = Math.abs(p);
  if (ap > TINY && ap < BIG && Math.abs(a) < SPLIT_MAX && Math.abs(b) < SPLIT_MAX) {
    twoProd(a, b);
    const e = tL;
    if (e === 0) return p;
    if (mode === RNE) {
      st.fl |= NX;
      return p;
    }
    return neg ? roundPack(true, ap, -e, 0, 0, F64, mode) : roundPack(false, ap, e, 0, 0, F64, mode);
  }
  split(a);
  const ma = Math.abs(fr.m);
  const ka = fr.k;
  split(b);
  twoProd(ma, Math.abs(fr.m));
  return roundPack(neg, tH, tL, 0, ka + fr.k, F64, mode);
}

/** a / b rounded to fmt. Returns NaN for 0/0 and inf/inf; raises DZ for x/0. */
export function div(a: number, b: number, fmt: number, mode: number): number {
  const q = a / b;
  if (a === 0 || b === 0 || a - a !== 0 || b - b !== 0) {
    if (q !== q) st.fl |= NV;
    else if (b === 0 && a - a === 0) st.fl |= DZ; // finite non-zero / 0
    return q;
  }
  const neg = a < 0 !== b < 0; // not q < 0: q may have underflowed to -0
  const aq = Math.abs(q);
  const aa = Math.abs(a);
  const ab = Math.abs(b);
  if (fmt === F32 || (aa > TINY && aa < SPLIT_MAX && ab < SPLIT_MAX && aq > TINY && aq < SPLIT_MAX)) {
    // r = a - q*b is representable and computed exactly; a/b = q + r/b.
    twoProd(aq, ab);
    const r = aa - tH - tL;
    if (r === 0 && (fmt === F64 || Math.fround(aq) === aq)) return q;
    if (fmt === F32 && mode === RNE) {
      // RN24(RN53(a/b)) = RN24(a/b) for binary32 operands.
      const rr = Math.fround(aq);
      if (rr > F32_MIN_NORMAL && rr !== Infinity) {
        if (rr !== aq || r !== 0) st.fl |= NX;
        return neg ? -rr : rr;
      }
    } else if (fmt === F64 && mode === RNE) {
      st.fl |= NX;
      return q;
    }
    // Not a midpoint at any precision (a/b has <= 53 bits or is not dyadic): a stand-in tail.
    const t = r === 0 ? 0 : r > 0 ? aq * TWO_M60 : -aq * TWO_M60;
    return roundPack(neg, aq, t, 0, 0, fmt, mode);
  }
  split(a);
  const ma = Math.abs(fr.m);
  const ka = fr.k;
  split(b);
  const mb = Math.abs(fr.m);
  const qm = ma / mb;
  twoProd(qm, mb);
  const r = ma - tH - tL;
  const t = r === 0 ? 0 : r > 0 ? qm * TWO_M60 : -qm * TWO_M60;
  return roundPack(neg, qm, t, 0, ka - fr.k, F64, mode);
}

/** sqrt(a) rounded to fmt. Returns NaN for a < 0; sqrt(-0) = -0. */
export function sqrt(a: number, fmt: number, mode: number): number {
  if (a === 0 || a === Infinity) return a;
  if (a < 0) {
    st.fl |= NV;
    return NaN;
  }
  let m = a;
  let E = 0;
  if (fmt === F64 && (a < TINY || a > BIG)) {
    split(a);
    m = fr.m;
    E = fr.k >> 1;
    if (fr.k & 1) m *= 2; // m in [1, 4), a = m * 2^(2E)
  }
  const s = Math.sqrt(m);
  // r = m - s*s is representable and computed exactly; sqrt(m) - s has the sign of r.
  twoProd(s, s);
  const r = m - tH - tL;
  if (fmt === F32) {
    if (mode === RNE) {
      const rr = Math.fround(s); // innocuous double rounding for sqrt (53 >= 2*24 + 2)
      if (rr !== s || r !== 0) st.fl |= NX;
      return rr;
    }
    if (r === 0 && Math.fround(s) === s) return s;
  } else if (r === 0) {
    return E === 0 ? s : roundPack(false, s, 0, 0, E, F64, mode);
  } else if (mode === RNE && E === 0) {
    st.fl |= NX;
    return s;
  }
  return roundPack(false, s, r === 0 ? 0 : r > 0 ? s * TWO_M60 : -s * TWO_M60, 0, E, fmt, mode);
}

/** a * b + c with a single rounding (signs already negated for FMSUB/FNMSUB/FNMADD). */
export function fma(a: number, b: number, c: number, fmt: number, mode: number): number {
  const p0 = a * b;
  if (p0 !== p0) {
    // 0 * inf: invalid even when c is a quiet NaN (checked by the caller before NaN handling).
    st.fl |= NV;
    return NaN;
  }
  if (p0 - p0 !== 0 || c - c !== 0) {
    // An infinite product or addend (finite operands only overflow inside the exact sum).
    if (a - a !== 0 || b - b !== 0 || c - c !== 0) {
      const pinf = a - a !== 0 || b - b !== 0 ? p0 : 0;
      if (pinf + c !== pinf + c) {
        st.fl |= NV;
        return NaN;
      }
      return pinf !== 0 ? pinf : c;
    }
  }
  if (a === 0 || b === 0) {
    // Exact zero product: p0 carries its sign.
    if (c !== 0) return c;
    return Object.is(p0, c) ? c : zeroSum(mode);
  }
  if (c === 0) return mul(a, b, fmt, mode);
  if (fmt === F32) {
    twoSum(p0, c); // p0 is exact: the sum is exactly tH + tL
    const s = tH;
    const e = tL;
    if (s === 0) return zeroSum(mode);
    if (mode === RNE) {
      // RN24(s) = RN24(s + e) unless s is a binary32 midpoint (then double rounding could err):
      // s = RN53(s + e) leaves no binary32 midpoint strictly between them. r + 2d is the
      // neighbour on s's side exactly when s is a midpoint (computed conservatively).
      const r = Math.fround(s);
      const ar = Math.abs(r);
      const d = s - r;
      if (ar > F32_MIN_NORMAL && ar !== Infinity && (e === 0 || d === 0 || Math.fround(r + 2 * d) !== r + 2 * d)) {
        if (d !== 0 || e !== 0) st.fl |= NX;
        return r;
      }
    }
    return s < 0 ? roundPack(true, -s, -e, 0, 0, F32, mode) : roundPack(false, s, e, 0, 0, F32, mode);
  }
  return fma64(a, b, c, mode);
}

/** binary64 fused multiply-add on finite non-zero operands, in the product's exponent frame. */
function fma64(a: number, b: number, c: number, mode: number): number {
  const ap = Math.abs(a * b);
  if (ap > TINY && ap < BIG && Math.abs(a) < SPLIT_MAX && Math.abs(b) < SPLIT_MAX && Math.abs(c) < BIG) {
    // Unscaled: TwoProduct is exact here and TwoSum always is.
    twoProd(a, b);
    const pl = tL;
    twoSum(tH, c);
    const s = tH;
    twoSum(tL, pl);
    const w = tL;
    twoSum(s, tH);
    const h = tH;
    twoSum(tL, w);
    if (tH === 0) return h === 0 ? zeroSum(mode) : h; // exact
    if (h > 1e-271 || h < -1e-271) {
      // |h| > 2^-900: roundPack's comparisons cannot underflow.
      return h < 0 ? roundPack(true, -h, -tH, -tL, 0, F64, mode) : roundPack(false, h, tH, tL, 0, F64, mode);
    }
  }
  split(a);
  const ma = fr.m;
  const ka = fr.k;
  split(b);
  const mb = fr.m;
  const Ep = ka + fr.k;
  split(c);
  const mc = fr.m;
  const dk = fr.k - Ep;
  const pneg = ma < 0 !== mb < 0;
  if (dk > 200) {
    // The product is below ulp(c) * 2^-150: only its sign matters.
    const t = pneg === mc < 0 ? Math.abs(mc) * TWO_M60 : -Math.abs(mc) * TWO_M60;
    return roundPack(mc < 0, Math.abs(mc), t, 0, fr.k, F64, mode);
  }
  twoProd(Math.abs(ma), Math.abs(mb));
  const ph = pneg ? -tH : tH;
  const pl = pneg ? -tL : tL;
  // The addend in the product frame; below 2^-200 it only acts as a sticky bit.
  const cf = dk < -200 ? (mc < 0 ? -TWO_M60 * TWO_M60 * TWO_M60 : TWO_M60 * TWO_M60 * TWO_M60) : mc * pow2(dk);
  twoSum(ph, cf);
  const s = tH;
  twoSum(tL, pl);
  const u = tH;
  const w = tL;
  twoSum(s, u);
  let h = tH;
  twoSum(tL, w);
  let l1 = tH;
  let l2 = tL;
  if (h === 0) {
    if (l1 === 0) return zeroSum(mode);
    h = l1;
    l1 = l2;
    l2 = 0;
  }
  return h < 0 ? roundPack(true, -h, -l1, -l2, Ep, F64, mode) : roundPack(false, h, l1, l2, Ep, F64, mode);
}
