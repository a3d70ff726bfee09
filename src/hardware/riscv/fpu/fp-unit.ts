// SPDX-License-Identifier: GPL-2.0-only
// The RISC-V F and D extensions: decode and execute of OP-FP and the fused multiply-adds for
// binary32 and binary64, over the hart's integer and FP register files (lo/hi int32 halves).
// NaN-boxing, canonical NaNs, FMIN/FMAX, compares, FCLASS and moves live here; the arithmetic in
// arith.ts, conversions in convert.ts, rounding in round.ts. The hart owns FLW/FLD/FSW/FSD, fcsr,
// mstatus.FS.
// Spec: riscv-unpriv-20240411 §20 "F Extension for Single-Precision Floating-Point"
// Spec: riscv-unpriv-20240411 §21 "D Extension for Double-Precision Floating-Point"

import { add, div, fma, mul, sqrt } from './arith.ts';
import { fromInt, f64ToF32, ir, toInt } from './convert.ts';
import { F32, F64, NV, OPD, RES, st } from './round.ts';

/** execute() result for a reserved encoding or an invalid rounding mode. */
export const FP_ILLEGAL = -1;
/** execute() result bit: an f register was written (the hart sets mstatus.FS dirty). */
export const FP_WROTE_F = 0x100;

const OP_FP = 0x53;
const OP_FMADD = 0x43;
const OP_FMSUB = 0x47;
const OP_FNMSUB = 0x4b;
const OP_FNMADD = 0x4f;

// Spec: riscv-unpriv-20240411 §21.2 "NaN Boxing of Narrower Values":
// a binary32 operand whose upper 32 bits are not all ones reads as the canonical NaN.
const CANON_S = 0x7fc00000;
const CANON_D_HI = 0x7ff80000;

export class FpUnit {
  private readonly x: Int32Array;
  private readonly f: Int32Array;
  private readonly fd: Float64Array;
  private readonly fs: Float32Array;
  // Operand decode state (the values themselves go to OPD): which are NaNs, any signaling.
  private nan = 0; // bit 0/1/2: operand a/b/c is a NaN
  private snan = false;

  /** x and f: 64-element Int32Array views, register i at [2i] (low) and [2i+1] (high). */
  constructor(x: Int32Array, f: Int32Array) {
    if (f.length < 64 || x.length < 64 || f.byteOffset % 8 !== 0) throw new Error('FpUnit: bad register file views');
    this.x = x;
    this.f = f;
    this.fd = new Float64Array(f.buffer, f.byteOffset, 32);
    this.fs = new Float32Array(f.buffer, f.byteOffset, 64);
  }

  /** Executes one F/D instruction; frm is fcsr.frm. Returns FP_ILLEGAL or fflags | FP_WROTE_F. */
  execute(insn: number, frm: number): number {
    const opcode = insn & 0x7f;
    const rd = (insn >>> 7) & 31;
    const rm = (insn >>> 12) & 7;
    const rs1 = (insn >>> 15) & 31;
    const rs2 = (insn >>> 20) & 31;
    // Spec: riscv-unpriv-20240411 §20.2 "Floating-Point Control and Status Register": rm 5 and 6
    // are reserved; DYN (7) selects frm, and frm values 5..7 make the instruction illegal.
    const mode = rm === 7 ? frm : rm;
    st.fl = 0;
    if (opcode !== OP_FP) {
      const fmt = (insn >>> 25) & 3;
      if (fmt > 1 || mode > 4 || (opcode & 0x73) !== 0x43) return FP_ILLEGAL;
      const rs3 = insn >>> 27;
      this.load3(fmt, rs1, rs2, rs3);
      // Spec: riscv-unpriv-20240411 §20.6 "Single-Precision Floating-Point Computational
      // Instructions": FMSUB = a*b - c, FNMSUB = -(a*b) + c, FNMADD = -(a*b) - c (negating the
      // operands, so exact zeros get their signs as in softfloat); inf * 0 is invalid even when
      // c is a quiet NaN.
      if (opcode === OP_FNMSUB || opcode === OP_FNMADD) OPD[0] = -OPD[0];
      if (opcode === OP_FMSUB || opcode === OP_FNMADD) OPD[2] = -OPD[2];
      if (this.nan !== 0) {
        const a = OPD[0];
        const b = OPD[1];
        if (this.snan || ((a === 0 || b === 0) && (a - a !== 0 || b - b !== 0) && (this.nan & 3) === 0)) st.fl |= NV;
        RES[0] = NaN;
      } else fma(fmt, mode);
      return this.putF(fmt, rd);
    }
    const funct7 = insn >>> 25;
    const fmt = funct7 & 3;
    if (fmt > 1) return FP_ILLEGAL;
    switch (funct7 >>> 2) {
      case 0x00: // FADD
      case 0x01: // FSUB
      case 0x02: // FMUL
      case 0x03: {
        // FDIV
        if (mode > 4) return FP_ILLEGAL;
        this.load2(fmt, rs1, rs2);
        if (this.nan !== 0) {
          if (this.snan) st.fl |= NV;
          RES[0] = NaN;
        } else {
          const op = funct7 >>> 2;
          if (op === 1) OPD[1] = -OPD[1];
          if (op <= 1) add(fmt, mode);
          else if (op === 2) mul(fmt, mode);
          else div(fmt, mode);
        }
        return this.putF(fmt, rd);
      }
      case 0x0b: // FSQRT
        if (rs2 !== 0 || mode > 4) return FP_ILLEGAL;
        this.load1(fmt, rs1);
        if (this.nan !== 0) {
          if (this.snan) st.fl |= NV;
          RES[0] = NaN;
        } else sqrt(fmt, mode);
        return this.putF(fmt, rd);
      case 0x04: // FSGNJ, FSGNJN, FSGNJX
        if (rm > 2) return FP_ILLEGAL;
        return this.sgnj(fmt, rd, rs1, rs2, rm);
      case 0x05: // FMIN, FMAX
        if (rm > 1) return FP_ILLEGAL;
        return this.minMax(fmt, rd, rs1, rs2, rm);
      case 0x08: {
        // FCVT.S.D (fmt S, rs2 = 1) and FCVT.D.S (fmt D, rs2 = 0)
        if (rs2 !== (fmt ^ 1) || mode > 4) return FP_ILLEGAL;
        this.load1(fmt ^ 1, rs1);
        if (this.nan !== 0) {
          if (this.snan) st.fl |= NV;
          RES[0] = NaN;
        } else if (fmt === F32) f64ToF32(mode);
        else RES[0] = OPD[0]; // binary32 to binary64 is exact
        return this.putF(fmt, rd);
      }
      case 0x14: // FLE, FLT, FEQ
        if (rm > 2) return FP_ILLEGAL;
        return this.compare(fmt, rd, rs1, rs2, rm);
      case 0x18: {
        // FCVT.{W,WU,L,LU}.fmt
        if (rs2 > 3 || mode > 4) return FP_ILLEGAL;
        this.load1(fmt, rs1);
        toInt(rs2, mode);
        if (rd !== 0) {
          this.x[2 * rd] = ir.lo;
          this.x[2 * rd + 1] = ir.hi;
        }
        return st.fl;
      }
      case 0x1a: // FCVT.fmt.{W,WU,L,LU}
        if (rs2 > 3 || mode > 4) return FP_ILLEGAL;
        fromInt(this.x[2 * rs1], this.x[2 * rs1 + 1], rs2, fmt, mode);
        return this.putF(fmt, rd);
      case 0x1c: // FMV.X.W / FMV.X.D (rm 0), FCLASS (rm 1)
        if (rs2 !== 0 || rm > 1) return FP_ILLEGAL;
        if (rd !== 0) {
          if (rm === 1) {
            this.x[2 * rd] = this.fclass(fmt, rs1);
            this.x[2 * rd + 1] = 0;
          } else if (fmt === F32) {
            const w = this.f[2 * rs1];
            this.x[2 * rd] = w;
            this.x[2 * rd + 1] = w >> 31;
          } else {
            this.x[2 * rd] = this.f[2 * rs1];
            this.x[2 * rd + 1] = this.f[2 * rs1 + 1];
          }
        }
        return 0;
      case 0x1e: // FMV.W.X / FMV.D.X
        if (rs2 !== 0 || rm !== 0) return FP_ILLEGAL;
        this.f[2 * rd] = this.x[2 * rs1];
        this.f[2 * rd + 1] = fmt === F32 ? -1 : this.x[2 * rs1 + 1];
        return FP_WROTE_F;
      default:
        return FP_ILLEGAL;
    }
  }

  /** Reads f[r] as fmt into OPD[slot] (binary32 widened exactly); sets NaN bit 1 << slot, snan. */
  private read(fmt: number, r: number, slot: number): void {
    const bit = 1 << slot;
    const f = this.f;
    const hi = f[2 * r + 1];
    if (fmt === F64) {
      if ((hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | f[2 * r]) !== 0) {
        this.nan |= bit;
        if ((hi & 0x80000) === 0) this.snan = true;
      }
      OPD[slot] = this.fd[r];
      return;
    }
    if (hi !== -1) {
      this.nan |= bit; // improperly NaN-boxed: the canonical (quiet) NaN
      OPD[slot] = NaN;
      return;
    }
    const w = f[2 * r];
    if ((w & 0x7f800000) === 0x7f800000 && (w & 0x7fffff) !== 0) {
      this.nan |= bit;
      if ((w & 0x400000) === 0) this.snan = true;
    }
    OPD[slot] = this.fs[2 * r];
  }

  private load1(fmt: number, r1: number): void {
    this.nan = 0;
    this.snan = false;
    this.read(fmt, r1, 0);
  }

  private load2(fmt: number, r1: number, r2: number): void {
    this.load1(fmt, r1);
    this.read(fmt, r2, 1);
  }

  private load3(fmt: number, r1: number, r2: number, r3: number): void {
    this.load2(fmt, r1, r2);
    this.read(fmt, r3, 2);
  }

  /** Writes RES[0] to f[rd] (NaN -> the canonical NaN; binary32 NaN-boxed); flags | FP_WROTE_F. */
  private putF(fmt: number, rd: number): number {
    const f = this.f;
    const v = RES[0];
    if (v !== v) {
      if (fmt === F64) {
        f[2 * rd] = 0;
        f[2 * rd + 1] = CANON_D_HI;
      } else {
        f[2 * rd] = CANON_S;
        f[2 * rd + 1] = -1;
      }
    } else if (fmt === F64) this.fd[rd] = v;
    else {
      this.fs[2 * rd] = v;
      f[2 * rd + 1] = -1;
    }
    return st.fl | FP_WROTE_F;
  }

  /** The sign/low word of operand r as fmt bits (binary32 unboxed -> canonical NaN). */
  private bitsLo(fmt: number, r: number): number {
    if (fmt === F64) return this.f[2 * r];
    return this.f[2 * r + 1] === -1 ? this.f[2 * r] : CANON_S;
  }

  private sgnj(fmt: number, rd: number, rs1: number, rs2: number, rm: number): number {
    const f = this.f;
    // Sign source: the high word for D, the single's own word for S.
    const a = fmt === F64 ? f[2 * rs1 + 1] : this.bitsLo(F32, rs1);
    const b = fmt === F64 ? f[2 * rs2 + 1] : this.bitsLo(F32, rs2);
    const sign = rm === 0 ? b & 0x80000000 : rm === 1 ? ~b & 0x80000000 : (a ^ b) & 0x80000000;
    const r = (a & 0x7fffffff) | sign;
    if (fmt === F64) {
      f[2 * rd] = f[2 * rs1];
      f[2 * rd + 1] = r;
    } else {
      f[2 * rd] = r;
      f[2 * rd + 1] = -1;
    }
    return FP_WROTE_F;
  }

  // Spec: riscv-unpriv-20240411 §20.6 "Single-Precision Floating-Point Computational Instructions":
  // FMIN/FMAX return the canonical NaN only when both inputs are NaNs, treat -0.0
  // as less than +0.0, and signal invalid if either input is a signaling NaN.
  private minMax(fmt: number, rd: number, rs1: number, rs2: number, rm: number): number {
    this.load2(fmt, rs1, rs2);
    const a = OPD[0];
    const b = OPD[1];
    if (this.snan) st.fl |= NV;
    if (this.nan === 3) RES[0] = NaN;
    else if (this.nan === 1) RES[0] = b;
    else if (this.nan === 2) RES[0] = a;
    else if (a === b) RES[0] = a === 0 && (1 / a < 0) !== (rm === 1) ? a : a === 0 ? b : a;
    else RES[0] = (a < b) !== (rm === 1) ? a : b;
    return this.putF(fmt, rd);
  }

  // Spec: riscv-unpriv-20240411 §20.8 "Single-Precision Floating-Point Compare Instructions":
  // FEQ is a quiet comparison (NV only for a signaling NaN); FLT and FLE signal invalid for any NaN.
  private compare(fmt: number, rd: number, rs1: number, rs2: number, rm: number): number {
    this.load2(fmt, rs1, rs2);
    let r = 0;
    if (this.nan !== 0) {
      if (this.snan || rm !== 2) st.fl |= NV;
    } else if (rm === 2) r = OPD[0] === OPD[1] ? 1 : 0;
    else if (rm === 1) r = OPD[0] < OPD[1] ? 1 : 0;
    else r = OPD[0] <= OPD[1] ? 1 : 0;
    if (rd !== 0) {
      this.x[2 * rd] = r;
      this.x[2 * rd + 1] = 0;
    }
    return st.fl;
  }

  // Spec: riscv-unpriv-20240411 §20.9 "Single-Precision Floating-Point Classify Instruction"
  private fclass(fmt: number, r: number): number {
    let sign: number;
    let expAll: boolean;
    let expZero: boolean;
    let fracZero: boolean;
    let quiet: boolean;
    if (fmt === F64) {
      const hi = this.f[2 * r + 1];
      sign = hi >>> 31;
      expAll = (hi & 0x7ff00000) === 0x7ff00000;
      expZero = (hi & 0x7ff00000) === 0;
      fracZero = ((hi & 0xfffff) | this.f[2 * r]) === 0;
      quiet = (hi & 0x80000) !== 0;
    } else {
      const w = this.bitsLo(F32, r);
      sign = w >>> 31;
      expAll = (w & 0x7f800000) === 0x7f800000;
      expZero = (w & 0x7f800000) === 0;
      fracZero = (w & 0x7fffff) === 0;
      quiet = (w & 0x400000) !== 0;
    }
    if (expAll) return fracZero ? (sign ? 1 << 0 : 1 << 7) : quiet ? 1 << 9 : 1 << 8;
    if (expZero) return fracZero ? (sign ? 1 << 3 : 1 << 4) : sign ? 1 << 2 : 1 << 5;
    return sign ? 1 << 1 : 1 << 6;
  }
}

