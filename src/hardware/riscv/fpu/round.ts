// SPDX-License-Identifier: GPL-2.0-only
// The FPU's rounding core: rounds an exact value, given as an unevaluated sum of doubles scaled by
// a power of two, to binary32 or binary64 in any RISC-V rounding mode, and raises NX, UF and OF as
// RISC-V specifies (underflow tininess is detected after rounding). docs/design/fpu.md has the proof.
// Spec: riscv-unpriv-20240411 §20.2 "Floating-Point Control and Status Register"
// Spec: riscv-unpriv-20240411 §20.4 "Subnormal Arithmetic" (tininess is detected after rounding)
// Spec: ieee754-2008 §4.3 "Rounding-direction attributes"; §7.4 "Overflow"; §7.5 "Underflow"

/** Rounding modes, numbered as the rm field and fcsr.frm encode them. */
export const RNE = 0;
export const RTZ = 1;
export const RDN = 2;
export const RUP = 3;
export const RMM = 4;

/** fflags bits. */
export const NX = 1;
export const UF = 2;
export const OF = 4;
export const DZ = 8;
export const NV = 16;

/** Format selectors (the fmt field: 0 = S, 1 = D). */
export const F32 = 0;
export const F64 = 1;

/** Accrued exception flags of the instruction being executed (reset by FpUnit per instruction). */
export const st = { fl: 0 };

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('fpu: little-endian host required');

const scratch = new Float64Array(1);
const sw = new Int32Array(scratch.buffer);

// POW2[k + 1074] = 2^k for k in [-1074, 1023], built from bit patterns (exact by construction).
const POW2 = new Float64Array(2098);
for (let k = -1022; k <= 1023; k++) {
  sw[0] = 0;
  sw[1] = (k + 1023) << 20;
  POW2[k + 1074] = scratch[0];
}
for (let k = -1074; k < -1022; k++) {
  sw[0] = k + 1074 < 32 ? 1 << (k + 1074) : 0;
  sw[1] = k + 1074 < 32 ? 0 : 1 << (k + 1074 - 32);
  POW2[k + 1074] = scratch[0];
}

/** 2^k for k in [-1074, 1023]. */
export function pow2(k: number): number {
  return POW2[k + 1074];
}

/**
 * x * 2^e, exact whenever the result is representable: each factor keeps the intermediate
 * product at least 2^100 times the final value (so normal) and finite.
 */
export function ldexp(x: number, e: number): number {
  if (e >= -1000 && e <= 1000) return x * POW2[e + 1074];
  if (e > 0) return x * POW2[1000 + 1074] * POW2[e - 1000 + 1074];
  const a = e + 100 < -1000 ? -1000 : e + 100;
  const b = e + 100 - a;
  if (x === 0 || b < -1074) return x * 0;
  return x * POW2[a + 1074] * POW2[b + 1074] * POW2[-100 + 1074];
}

/** Result of split(): x = fr.m * 2^fr.k with |fr.m| in [1, 2), sign kept in m. */
export const fr = { m: 0, k: 0 };

/** Splits a finite non-zero double (subnormals included) into mantissa and exponent. */
export function split(x: number): void {
  scratch[0] = x;
  let hw = sw[1];
  let e = (hw >>> 20) & 0x7ff;
  let adj = 0;
  if (e === 0) {
    scratch[0] = x * 18446744073709551616; // 2^64: makes a subnormal normal, exactly
    hw = sw[1];
    e = (hw >>> 20) & 0x7ff;
    adj = 64;
  }
  sw[1] = (hw & 0x800fffff) | 0x3ff00000;
  fr.m = scratch[0];
  fr.k = e - 1023 - adj;
}

// Magnitude rounding: the mode applied to |value| once the sign is known.
const NEAR_EVEN = 0;
const DOWN = 1;
const UP = 2;
const NEAR_MAX = 3;

let inexact = false;

/**
 * Rounds the positive value v = hi + lo1 + lo2 to a multiple of q = 2^qf. Preconditions (see
 * docs/design/fpu.md): hi > 0 normal; ulp(hi)/2 <= q <= 2^53 ulp(hi); |lo1| < ulp(hi),
 * |lo2| < ulp(lo1) (lo2 = 0 if lo1 = 0); lo1 may be a stand-in with the sign of the true tail
 * when v is not a midpoint at any quantum >= ulp(hi)/2. Sets `inexact`.
 */
function roundAt(hi: number, lo1: number, lo2: number, qf: number, mm: number): number {
  const q = POW2[qf + 1074];
  let lower = Math.floor(hi / q) * q;
  let a = hi - lower; // exact: a multiple of ulp(hi) below q
  if (a === 0 && (lo1 < 0 || (lo1 === 0 && lo2 < 0))) {
    lower -= q;
    a = q;
  }
  // Now v = lower + r with r = a + lo1 + lo2 in [0, q).
  inexact = a !== 0 || lo1 !== 0 || lo2 !== 0;
  if (!inexact || mm === DOWN) return lower;
  if (mm === UP) return lower + q;
  // sign(r - q/2): a - q/2 is exact and a multiple of ulp(lo1), so RN(d + lo1) has the sign of
  // d + lo1, which decides unless it is exactly zero; then lo2 decides.
  const y = a - q * 0.5 + lo1;
  const c = y !== 0 ? y : lo2;
  if (c > 0) return lower + q;
  if (c < 0) return lower;
  if (mm === NEAR_MAX) return lower + q;
  return (lower / q) % 2 === 0 ? lower : lower + q;
}

/**
 * Rounds (-1)^neg * (hi + lo1 + lo2) * 2^E to format fmt in rounding mode `mode`, raising
 * NX/UF/OF in st.fl, and returns the result as a double (exactly representable in fmt).
 * hi > 0 must satisfy roundAt's preconditions and be at least 2^-1000 (no underflow inside).
 */
export function roundPack(neg: boolean, hi: number, lo1: number, lo2: number, E: number, fmt: number, mode: number): number {
  const p = fmt === F64 ? 53 : 24;
  const emin = fmt === F64 ? -1022 : -126;
  const emax = fmt === F64 ? 1023 : 127;
  let mm = NEAR_EVEN;
  if (mode === RTZ) mm = DOWN;
  else if (mode === RDN) mm = neg ? UP : DOWN;
  else if (mode === RUP) mm = neg ? DOWN : UP;
  else if (mode === RMM) mm = NEAR_MAX;
  scratch[0] = hi;
  const hw = sw[1];
  const e = ((hw >>> 20) & 0x7ff) - 1023;
  let eV = e + E; // exponent of v: one less when hi is a power of two and the tail is negative
  if ((hw & 0xfffff) === 0 && sw[0] === 0 && (lo1 < 0 || (lo1 === 0 && lo2 < 0))) eV--;
  const qe = (eV < emin ? emin : eV) - p + 1;
  const qf = qe - E;
  let M: number;
  if (qf > e + 1) {
    // v < 2^(e+1) <= q/2: far below the smallest subnormal's half.
    st.fl |= UF | NX;
    const v = mm === UP ? POW2[qe + 1074] : 0;
    return neg ? -v : v;
  }
  M = roundAt(hi, lo1, lo2, qf, mm);
  const nx = inexact;
  if (nx) st.fl |= NX;
  if (eV >= emin) {
    if (eV >= emax && (eV > emax || M >= POW2[emax + 1 - E + 1074])) {
      st.fl |= OF | NX;
      const big = mm === DOWN ? (fmt === F64 ? Number.MAX_VALUE : 3.4028234663852886e38) : Infinity;
      return neg ? -big : big;
    }
  } else if (nx) {
    // Tiny unless v rounds up to 2^emin at precision p with an unbounded exponent.
    let tiny = true;
    if (eV === emin - 1) tiny = roundAt(hi, lo1, lo2, qf - 1, mm) < POW2[emin - E + 1074];
    if (tiny) st.fl |= UF;
  }
  M = ldexp(M, E);
  return neg ? -M : M;
}
