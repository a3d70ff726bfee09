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

// The FPU passes doubles through these typed-array slots, never as arguments or return values
// of calls that may stay out of line: V8 boxes such doubles in fresh heap numbers, and the hot
// path must not allocate.
/** Operands a, b, c of the instruction (binary32 values widened exactly). */
export const OPD = new Float64Array(3);
/** The result of an operation. */
export const RES = new Float64Array(1);
/** roundPack's input: v = PK[0] + PK[1] + PK[2] (hi, lo1, lo2). */
export const PK = new Float64Array(3);
/** split()'s mantissa output. */
export const FR = new Float64Array(1);

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('fpu: little-endian host required');

const scratch = new Float64Array(1);
const sw = new Int32Array(scratch.buffer);

// POW2[k + 1074] = 2^k for k in [-1074, 1023], built from bit patterns (exact by construction).
export const POW2 = new Float64Array(2098);
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

/**
 * RES[0] = x * 2^e, exact whenever the result is representable: each factor keeps the
 * intermediate product at least 2^100 times the final value (so normal) and finite.
 */
function ldexpToRes(x: number, e: number): void {
  if (e >= -1000 && e <= 1000) RES[0] = x * POW2[e + 1074];
  else if (e > 0) RES[0] = x * POW2[1000 + 1074] * POW2[e - 1000 + 1074];
  else {
    const a = e + 100 < -1000 ? -1000 : e + 100;
    const b = e + 100 - a;
    RES[0] = x === 0 || b < -1074 ? 0 : x * POW2[a + 1074] * POW2[b + 1074] * POW2[-100 + 1074];
  }
}

/**
 * Splits the finite non-zero double src[i] (subnormals included): src[i] = FR[0] * 2^k with
 * |FR[0]| in [1, 2) carrying the sign; returns k.
 */
export function split(src: Float64Array, i: number): number {
  scratch[0] = src[i];
  let hw = sw[1];
  let e = (hw >>> 20) & 0x7ff;
  let adj = 0;
  if (e === 0) {
    scratch[0] = src[i] * 18446744073709551616; // 2^64: makes a subnormal normal, exactly
    hw = sw[1];
    e = (hw >>> 20) & 0x7ff;
    adj = 64;
  }
  sw[1] = (hw & 0x800fffff) | 0x3ff00000;
  FR[0] = scratch[0];
  return e - 1023 - adj;
}

// Magnitude rounding: the mode applied to |value| once the sign is known.
const NEAR_EVEN = 0;
const DOWN = 1;
const UP = 2;
const NEAR_MAX = 3;

let inexact = false;
const RA = new Float64Array(1); // roundAt's result

/**
 * Rounds the positive value v = hi + lo1 + lo2 to a multiple of q = 2^qf. Preconditions (see
 * docs/design/fpu.md): hi > 0 normal; ulp(hi)/2 <= q <= 2^53 ulp(hi); |lo1| < ulp(hi),
 * |lo2| < ulp(lo1) (lo2 = 0 if lo1 = 0); lo1 may be a stand-in with the sign of the true tail
 * when v is not a midpoint at any quantum >= ulp(hi)/2. v is PK; writes RA[0], sets `inexact`.
 */
function roundAt(qf: number, mm: number): void {
  const hi = PK[0];
  const lo1 = PK[1];
  const lo2 = PK[2];
  const q = POW2[qf + 1074];
  let lower = Math.floor(hi / q) * q;
  let a = hi - lower; // exact: a multiple of ulp(hi) below q
  if (a === 0 && (lo1 < 0 || (lo1 === 0 && lo2 < 0))) {
    lower -= q;
    a = q;
  }
  // Now v = lower + r with r = a + lo1 + lo2 in [0, q).
  inexact = a !== 0 || lo1 !== 0 || lo2 !== 0;
  let up = false;
  if (inexact && mm !== DOWN) {
    if (mm === UP) up = true;
    else {
      // sign(r - q/2): a - q/2 is exact and a multiple of ulp(lo1), so RN(d + lo1) has the sign
      // of d + lo1, which decides unless it is exactly zero; then lo2 decides.
      const y = a - q * 0.5 + lo1;
      const c = y !== 0 ? y : lo2;
      up = c > 0 || (c === 0 && (mm === NEAR_MAX || (lower / q) % 2 !== 0));
    }
  }
  RA[0] = up ? lower + q : lower;
}

/**
 * Rounds (-1)^neg * (PK[0] + PK[1] + PK[2]) * 2^E to format fmt in rounding mode `mode`,
 * raising NX/UF/OF in st.fl; RES[0] = the result (a double exactly representable in fmt).
 * PK[0] > 0 must satisfy roundAt's preconditions and be at least 2^-1000 (no underflow inside).
 */
export function roundPack(neg: boolean, E: number, fmt: number, mode: number): void {
  const hi = PK[0];
  const lo1 = PK[1];
  const lo2 = PK[2];
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
  if (qf > e + 1) {
    // v < 2^(e+1) <= q/2: far below the smallest subnormal's half.
    st.fl |= UF | NX;
    const v = mm === UP ? POW2[qe + 1074] : 0;
    RES[0] = neg ? -v : v;
    return;
  }
  roundAt(qf, mm);
  const M = RA[0];
  const nx = inexact;
  if (nx) st.fl |= NX;
  if (eV >= emin) {
    if (eV >= emax && (eV > emax || M >= POW2[emax + 1 - E + 1074])) {
      st.fl |= OF | NX;
      const big = mm === DOWN ? (fmt === F64 ? Number.MAX_VALUE : 3.4028234663852886e38) : Infinity;
      RES[0] = neg ? -big : big;
      return;
    }
  } else if (nx) {
    // Tiny unless v rounds up to 2^emin at precision p with an unbounded exponent.
    let tiny = true;
    if (eV === emin - 1) {
      roundAt(qf - 1, mm);
      tiny = RA[0] < POW2[emin - E + 1074];
    }
    if (tiny) st.fl |= UF;
  }
  ldexpToRes(M, E);
  if (neg) RES[0] = -RES[0];
}
