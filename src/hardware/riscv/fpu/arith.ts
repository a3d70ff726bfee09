// SPDX-License-Identifier: GPL-2.0-only
// FADD/FSUB/FMUL/FDIV/FSQRT and the fused multiply-adds for binary32/binary64 on non-NaN operands:
// each finds the exact result as hi + tail with error-free transformations (TwoSum, Dekker's
// TwoProduct, exact remainders), scaling extreme binary64 operands into a safe exponent frame,
// and hands it to roundPack. Operands come in OPD, the result goes to RES (round.ts says why).
// Spec: riscv-unpriv-20240411 §20.6 "Single-Precision Floating-Point Computational Instructions"
// Spec: riscv-unpriv-20240411 §21.4 "Double-Precision Floating-Point Computational Instructions"

import { F32, F64, FR, NV, DZ, NX, OPD, PK, POW2, RDN, RES, RNE, roundPack, split, st } from './round.ts';

const SPLITTER = 134217729; // 2^27 + 1
const TWO_M60 = 8.673617379884035e-19; // 2^-60: scales a stand-in tail far below ulp/4
const TWO_M120 = 7.52316384526264e-37; // 2^-120
const TWO_M180 = 6.525304467998525e-55; // 2^-180
const BIG = 1.1235582092889474e307; // 2^1020
const TINY = 1.0261342003245941e-289; // 2^-960
const SPLIT_MAX = 3.3484643974570854e299; // 2^995: Veltkamp splitting cannot overflow below it
const F32_MIN_NORMAL = 1.1754943508222875e-38; // 2^-126
const HI_MIN = 1.1830521861667747e-271; // 2^-900

// Outputs of the error-free transformations: T[0] = rounded result, T[1] = its exact error.
const T = new Float64Array(2);
const C = new Float64Array(1); // the addend handed to threeSum

/** TwoSum (Knuth): T[0] + T[1] = a + b exactly, T[0] = RN(a + b). Exact unless a + b overflows. */
function twoSum(a: number, b: number): void {
  const s = a + b;
  const bb = s - a;
  T[1] = a - (s - bb) + (b - bb);
  T[0] = s;
}

/** Dekker's TwoProduct: T[0] + T[1] = a * b exactly when |a|, |b| < 2^995 and e_a + e_b >= -970. */
function twoProd(a: number, b: number): void {
  const p = a * b;
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  T[1] = ah * bh - p + ah * bl + al * bh + al * bl;
  T[0] = p;
}

/** Rounds the signed exact value T[0] + T[1] (in frame 2^E) with roundPack. */
function packT(E: number, fmt: number, mode: number): void {
  const s = T[0];
  const e = T[1];
  if (s < 0) {
    PK[0] = -s;
    PK[1] = -e;
  } else {
    PK[0] = s;
    PK[1] = e;
  }
  PK[2] = 0;
  roundPack(s < 0, E, fmt, mode);
}

/** Rounds q = T[0] > 0 with a stand-in tail of the sign of r = T[1] (docs/design/fpu.md). */
function packStandIn(neg: boolean, E: number, fmt: number, mode: number): void {
  const q = T[0];
  const r = T[1];
  PK[0] = q;
  PK[1] = r === 0 ? 0 : r > 0 ? q * TWO_M60 : -q * TWO_M60;
  PK[2] = 0;
  roundPack(neg, E, fmt, mode);
}

/** RES = OPD[0] + OPD[1] rounded to fmt (FSUB negates OPD[1] first). */
export function add(fmt: number, mode: number): void {
  const a = OPD[0];
  const b = OPD[1];
  // Spec: ieee754-2008 §6.3 "The sign bit": x + (-x) is +0, or -0 when rounding toward -inf.
  if (a === 0 || b === 0) {
    if (a !== 0) RES[0] = a;
    else if (b !== 0) RES[0] = b;
    else RES[0] = Object.is(a, b) ? a : mode === RDN ? -0 : 0;
    return;
  }
  if (a - a !== 0 || b - b !== 0) {
    // An infinity: inf + (-inf) is invalid.
    const s = a + b;
    if (s !== s) st.fl |= NV;
    RES[0] = s;
    return;
  }
  if (fmt === F64 && (a >= BIG || a <= -BIG || b >= BIG || b <= -BIG)) {
    addFramed(mode);
    return;
  }
  twoSum(a, b);
  const s = T[0];
  const e = T[1];
  if (s === 0) {
    RES[0] = mode === RDN ? -0 : 0;
    return;
  }
  if (fmt === F64) {
    // Sums below 2^-1022 are exact (both operands are multiples of 2^-1074).
    if (e === 0 || mode === RNE) {
      if (e !== 0) st.fl |= NX;
      RES[0] = s;
      return;
    }
  } else if (mode === RNE) {
    // RN24(RN53(x)) = RN24(x) for sums of binary32 values (53 >= 2*24 + 2).
    const r = Math.fround(s);
    const ar = Math.abs(r);
    if (ar > F32_MIN_NORMAL && ar !== Infinity) {
      if (r !== s || e !== 0) st.fl |= NX;
      RES[0] = r;
      return;
    }
  }
  packT(0, fmt, mode);
}

/** binary64 add when an operand is near overflow: scale both by 2^-max(ka, kb). */
function addFramed(mode: number): void {
  const ka = split(OPD, 0);
  const ma = FR[0];
  const kb = split(OPD, 1);
  const mb = FR[0];
  const big = kb > ka ? mb : ma;
  const small = kb > ka ? ma : mb;
  const k = kb > ka ? kb : ka;
  const d = (kb > ka ? ka : kb) - k;
  // The smaller operand below 2^-100 in the frame only acts as a sticky bit.
  const mo = d < -100 ? (small < 0 ? -TWO_M120 : TWO_M120) : small * POW2[d + 1074];
  twoSum(big, mo);
  if (T[0] === 0) {
    RES[0] = mode === RDN ? -0 : 0;
    return;
  }
  packT(k, F64, mode);
}

/** RES = OPD[0] * OPD[1] rounded to fmt. NaN for 0 * inf. */
export function mul(fmt: number, mode: number): void {
  const a = OPD[0];
  const b = OPD[1];
  const p = a * b;
  if (a === 0 || b === 0 || a - a !== 0 || b - b !== 0) {
    if (p !== p) st.fl |= NV;
    RES[0] = p; // zeros and infinities: exact, sign is the xor of the operands' signs
    return;
  }
  const neg = a < 0 !== b < 0; // not p < 0: p may have underflowed to -0
  const ap = Math.abs(p);
  if (fmt === F32) {
    // binary32 products have at most 48 significant bits: p is exact.
    if (mode === RNE) {
      const r = Math.fround(p);
      const ar = Math.abs(r);
      if (ar > F32_MIN_NORMAL && ar !== Infinity) {
        if (r !== p) st.fl |= NX;
        RES[0] = r;
        return;
      }
    }
    T[0] = p;
    T[1] = 0;
    packT(0, F32, mode);
    return;
  }
  if (ap > TINY && ap < BIG && Math.abs(a) < SPLIT_MAX && Math.abs(b) < SPLIT_MAX) {
    twoProd(a, b);
    const e = T[1];
    if (e === 0 || mode === RNE) {
      if (e !== 0) st.fl |= NX;
      RES[0] = p;
      return;
    }
    packT(0, F64, mode);
    return;
  }
  const ka = split(OPD, 0);
  const ma = Math.abs(FR[0]);
  const kb = split(OPD, 1);
  twoProd(ma, Math.abs(FR[0]));
  PK[0] = T[0];
  PK[1] = T[1];
  PK[2] = 0;
  roundPack(neg, ka + kb, F64, mode);
}

/** RES = OPD[0] / OPD[1] rounded to fmt. NaN for 0/0 and inf/inf; DZ for finite / 0. */
export function div(fmt: number, mode: number): void {
  const a = OPD[0];
  const b = OPD[1];
  const q = a / b;
  if (a === 0 || b === 0 || a - a !== 0 || b - b !== 0) {
    if (q !== q) st.fl |= NV;
    else if (b === 0 && a - a === 0) st.fl |= DZ; // finite non-zero / 0
    RES[0] = q;
    return;
  }
  const neg = a < 0 !== b < 0; // not q < 0: q may have underflowed to -0
  const aq = Math.abs(q);
  const aa = Math.abs(a);
  const ab = Math.abs(b);
  if (fmt === F32 || (aa > TINY && aa < SPLIT_MAX && ab < SPLIT_MAX && aq > TINY && aq < SPLIT_MAX)) {
    // r = a - q*b is representable and computed exactly; a/b = q + r/b.
    twoProd(aq, ab);
    const r = aa - T[0] - T[1];
    if (fmt === F64) {
      if (r === 0 || mode === RNE) {
        if (r !== 0) st.fl |= NX;
        RES[0] = q;
        return;
      }
    } else {
      const rr = Math.fround(aq);
      if (r === 0 && rr === aq) {
        RES[0] = q;
        return;
      }
      // RN24(RN53(a/b)) = RN24(a/b) for binary32 operands.
      if (mode === RNE && rr > F32_MIN_NORMAL && rr !== Infinity) {
        st.fl |= NX;
        RES[0] = neg ? -rr : rr;
        return;
      }
    }
    // a/b has <= 53 bits (r = 0) or is not dyadic: never a midpoint, a stand-in tail is exact.
    T[0] = aq;
    T[1] = r;
    packStandIn(neg, 0, fmt, mode);
    return;
  }
  const ka = split(OPD, 0);
  const ma = Math.abs(FR[0]);
  const kb = split(OPD, 1);
  const mb = Math.abs(FR[0]);
  const qm = ma / mb;
  twoProd(qm, mb);
  T[1] = ma - T[0] - T[1];
  T[0] = qm;
  packStandIn(neg, ka - kb, F64, mode);
}

/** RES = sqrt(OPD[0]) rounded to fmt. NaN for a < 0; sqrt(-0) = -0. */
export function sqrt(fmt: number, mode: number): void {
  const a = OPD[0];
  if (a === 0 || a === Infinity) {
    RES[0] = a;
    return;
  }
  if (a < 0) {
    st.fl |= NV;
    RES[0] = NaN;
    return;
  }
  let m = a;
  let E = 0;
  if (fmt === F64 && (a < TINY || a > BIG)) {
    const k = split(OPD, 0);
    m = FR[0];
    E = k >> 1;
    if (k & 1) m *= 2; // m in [1, 4), a = m * 2^(2E)
  }
  const s = Math.sqrt(m);
  // r = m - s*s is representable and computed exactly; sqrt(m) - s has the sign of r.
  twoProd(s, s);
  const r = m - T[0] - T[1];
  if (fmt === F32) {
    const rr = Math.fround(s);
    if (mode === RNE || (r === 0 && rr === s)) {
      // Innocuous double rounding for sqrt (53 >= 2*24 + 2); results are never tiny.
      if (rr !== s || r !== 0) st.fl |= NX;
      RES[0] = rr;
      return;
    }
  } else if (E === 0 && (r === 0 || mode === RNE)) {
    if (r !== 0) st.fl |= NX;
    RES[0] = s;
    return;
  }
  T[0] = s;
  T[1] = r;
  packStandIn(false, E, fmt, mode);
}

/** RES = OPD[0] * OPD[1] + OPD[2] with one rounding (FpUnit negates for FMSUB/FNMSUB/FNMADD). */
export function fma(fmt: number, mode: number): void {
  const a = OPD[0];
  const b = OPD[1];
  const c = OPD[2];
  const p0 = a * b;
  if (p0 !== p0) {
    // 0 * inf: invalid even when c is a quiet NaN (the caller checked that case before NaNs).
    st.fl |= NV;
    RES[0] = NaN;
    return;
  }
  if (a - a !== 0 || b - b !== 0 || c - c !== 0) {
    // An infinite operand (a finite a*b that overflows is handled by the exact path).
    const pinf = a - a !== 0 || b - b !== 0 ? p0 : 0;
    const s = pinf + c;
    if (s !== s) st.fl |= NV;
    RES[0] = pinf !== 0 ? s : c;
    return;
  }
  if (a === 0 || b === 0) {
    // Exact zero product: p0 carries its sign.
    RES[0] = c !== 0 ? c : Object.is(p0, c) ? c : mode === RDN ? -0 : 0;
    return;
  }
  if (c === 0) {
    mul(fmt, mode);
    return;
  }
  if (fmt === F32) {
    twoSum(p0, c); // p0 is exact: the sum is exactly T[0] + T[1]
    const s = T[0];
    const e = T[1];
    if (s === 0) {
      RES[0] = mode === RDN ? -0 : 0;
      return;
    }
    if (mode === RNE) {
      // RN24(s) = RN24(s + e) unless s is a binary32 midpoint (then double rounding could err):
      // s = RN53(s + e) leaves no binary32 midpoint strictly between them. r + 2d is the
      // neighbour on s's side exactly when s is a midpoint (computed conservatively).
      const r = Math.fround(s);
      const ar = Math.abs(r);
      const d = s - r;
      if (ar > F32_MIN_NORMAL && ar !== Infinity && (e === 0 || d === 0 || Math.fround(r + 2 * d) !== r + 2 * d)) {
        if (d !== 0 || e !== 0) st.fl |= NX;
        RES[0] = r;
        return;
      }
    }
    packT(0, F32, mode);
    return;
  }
  const ap = Math.abs(p0);
  if (ap > TINY && ap < BIG && Math.abs(a) < SPLIT_MAX && Math.abs(b) < SPLIT_MAX && Math.abs(c) < BIG) {
    // Unscaled: TwoProduct is exact here and TwoSum always is.
    twoProd(a, b);
    C[0] = c;
    threeSum();
    const h = PK[0];
    if (PK[1] === 0) {
      RES[0] = h === 0 ? (mode === RDN ? -0 : 0) : h; // exact
      return;
    }
    if (h > HI_MIN || h < -HI_MIN) {
      if (mode === RNE && h + 2 * PK[1] === h) {
        // |l1| is at most a quarter of the spacing next to h on its side and |l2| is far
        // smaller, so h is the nearest double to the exact sum (never a tie).
        st.fl |= NX;
        RES[0] = h;
        return;
      }
      // |h| > 2^-900: roundPack's comparisons cannot underflow.
      packThree(0, mode);
      return;
    }
  }
  fmaFramed(mode);
}

/**
 * PK = ph + pl + c exactly, as h + l1 + l2 with |l1| < ulp(h), |l2| <= ulp(l1)/2, where
 * ph + pl = T[0] + T[1] (an exact product) and c = C[0].
 */
function threeSum(): void {
  const pl = T[1];
  twoSum(T[0], C[0]);
  const s = T[0];
  twoSum(T[1], pl);
  const w = T[1];
  twoSum(s, T[0]);
  PK[0] = T[0];
  twoSum(T[1], w);
  PK[1] = T[0];
  PK[2] = T[1];
}

/** roundPack of the signed PK (from threeSum) in frame 2^E. */
function packThree(E: number, mode: number): void {
  const neg = PK[0] < 0;
  if (neg) {
    PK[0] = -PK[0];
    PK[1] = -PK[1];
    PK[2] = -PK[2];
  }
  roundPack(neg, E, F64, mode);
}

/** binary64 fused multiply-add on finite non-zero operands, in the product's exponent frame. */
function fmaFramed(mode: number): void {
  const ka = split(OPD, 0);
  const ma = FR[0];
  const kb = split(OPD, 1);
  const mb = FR[0];
  const Ep = ka + kb;
  const kc = split(OPD, 2);
  const mc = FR[0];
  const dk = kc - Ep;
  const pneg = ma < 0 !== mb < 0;
  if (dk > 200) {
    // The product is below ulp(c) * 2^-150: only its sign matters (a stand-in tail).
    const amc = Math.abs(mc);
    PK[0] = amc;
    PK[1] = pneg === mc < 0 ? amc * TWO_M60 : -amc * TWO_M60;
    PK[2] = 0;
    roundPack(mc < 0, kc, F64, mode);
    return;
  }
  twoProd(Math.abs(ma), Math.abs(mb));
  if (pneg) {
    T[0] = -T[0];
    T[1] = -T[1];
  }
  // The addend in the product frame; below 2^-200 it only acts as a sticky bit.
  C[0] = dk < -200 ? (mc < 0 ? -TWO_M180 : TWO_M180) : mc * POW2[dk + 1074];
  threeSum();
  if (PK[0] === 0) {
    if (PK[1] === 0) {
      RES[0] = mode === RDN ? -0 : 0;
      return;
    }
    PK[0] = PK[1];
    PK[1] = PK[2];
    PK[2] = 0;
  }
  packThree(Ep, mode);
}
