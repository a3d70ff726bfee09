// SPDX-License-Identifier: GPL-2.0-only
// The C extension for RV64: every 16-bit instruction expanded once, at load time, to the
// 32-bit instruction it stands for, so the interpreter executes one decoder (a table hit).
// Spec: riscv-unpriv-20240411 §26 "C" Extension for Compressed Instructions (RVC tables).
// Reserved encodings expand to 0, which the interpreter treats as an illegal instruction.
// HINT encodings expand to their no-op base forms. Leaves out: Zcb/Zcmp/Zcmt.

const OP_LOAD = 0x03, OP_LOAD_FP = 0x07, OP_IMM = 0x13, OP_IMM32 = 0x1b, OP_STORE = 0x23;
const OP_STORE_FP = 0x27, OP = 0x33, OP_LUI = 0x37, OP_32 = 0x3b, OP_BRANCH = 0x63;
const OP_JALR = 0x67, OP_JAL = 0x6f;

const iType = (op: number, rd: number, f3: number, rs1: number, imm: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) | 0;
const sType = (op: number, f3: number, rs1: number, rs2: number, imm: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | op) | 0;
const rType = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) | 0;
const bType = (f3: number, rs1: number, rs2: number, imm: number) =>
  ((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
    (((imm >> 1) & 0xf) << 8) | (((imm >> 11) & 1) << 7) | OP_BRANCH) | 0;
const jType = (rd: number, imm: number) =>
  ((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) |
    (((imm >> 12) & 0xff) << 12) | (rd << 7) | OP_JAL) | 0;

const bit = (v: number, n: number) => (v >> n) & 1;
/** Sign-extend the low `bits` bits of v. */
const sext = (v: number, bits: number) => (v << (32 - bits)) >> (32 - bits);

/** Expand one 16-bit instruction (low two bits != 3) to its 32-bit form, or 0 if reserved. */
export function expandCompressed(c: number): number {
  const op = c & 3, f3 = (c >> 13) & 7;
  const rdp = 8 + ((c >> 2) & 7), rs1p = 8 + ((c >> 7) & 7);
  const rd = (c >> 7) & 31, rs2 = (c >> 2) & 31;
  const imm6 = sext((bit(c, 12) << 5) | ((c >> 2) & 31), 6);
  const uimm6 = (bit(c, 12) << 5) | ((c >> 2) & 31);
  // Offsets of the CL/CS double-word forms (C.LD, C.SD, C.FLD, C.FSD): uimm[5:3|7:6].
  const dOff = (((c >> 10) & 7) << 3) | (((c >> 5) & 3) << 6);
  const wOff = (((c >> 10) & 7) << 3) | (bit(c, 6) << 2) | (bit(c, 5) << 6);
  if (op === 0) {
    switch (f3) {
      case 0: { // C.ADDI4SPN
        const nz = (((c >> 11) & 3) << 4) | (((c >> 7) & 15) << 6) | (bit(c, 6) << 2) | (bit(c, 5) << 3);
        return nz === 0 ? 0 : iType(OP_IMM, rdp, 0, 2, nz);
      }
      case 1: return iType(OP_LOAD_FP, rdp, 3, rs1p, dOff); // C.FLD
      case 2: return iType(OP_LOAD, rdp, 2, rs1p, wOff); // C.LW
      case 3: return iType(OP_LOAD, rdp, 3, rs1p, dOff); // C.LD
      case 5: return sType(OP_STORE_FP, 3, rs1p, rdp, dOff); // C.FSD
      case 6: return sType(OP_STORE, 2, rs1p, rdp, wOff); // C.SW
      case 7: return sType(OP_STORE, 3, rs1p, rdp, dOff); // C.SD
      default: return 0;
    }
  }
  if (op === 1) {
    switch (f3) {
      case 0: return iType(OP_IMM, rd, 0, rd, imm6); // C.ADDI / C.NOP
      case 1: return rd === 0 ? 0 : iType(OP_IMM32, rd, 0, rd, imm6); // C.ADDIW
      case 2: return iType(OP_IMM, rd, 0, 0, imm6); // C.LI
      case 3: {
        if (rd === 2) { // C.ADDI16SP
          const nz = sext((bit(c, 12) << 9) | (bit(c, 6) << 4) | (bit(c, 5) << 6) | (((c >> 3) & 3) << 7) | (bit(c, 2) << 5), 10);
          return nz === 0 ? 0 : iType(OP_IMM, 2, 0, 2, nz);
        }
        if (imm6 === 0) return 0; // C.LUI with nzimm = 0 is reserved
        return ((imm6 << 12) | (rd << 7) | OP_LUI) | 0; // C.LUI
      }
      case 4: {
        const f2 = (c >> 10) & 3;
        if (f2 === 0) return iType(OP_IMM, rs1p, 5, rs1p, uimm6); // C.SRLI
        if (f2 === 1) return iType(OP_IMM, rs1p, 5, rs1p, 0x400 | uimm6); // C.SRAI
        if (f2 === 2) return iType(OP_IMM, rs1p, 7, rs1p, imm6); // C.ANDI
        const sub = (c >> 5) & 3;
        if (bit(c, 12) === 0) {
          if (sub === 0) return rType(0x20, rdp, rs1p, 0, rs1p, OP); // C.SUB
          if (sub === 1) return rType(0, rdp, rs1p, 4, rs1p, OP); // C.XOR
          if (sub === 2) return rType(0, rdp, rs1p, 6, rs1p, OP); // C.OR
          return rType(0, rdp, rs1p, 7, rs1p, OP); // C.AND
        }
        if (sub === 0) return rType(0x20, rdp, rs1p, 0, rs1p, OP_32); // C.SUBW
        if (sub === 1) return rType(0, rdp, rs1p, 0, rs1p, OP_32); // C.ADDW
        return 0;
      }
      case 5: { // C.J
        const off = sext((bit(c, 12) << 11) | (bit(c, 11) << 4) | (((c >> 9) & 3) << 8) | (bit(c, 8) << 10) |
          (bit(c, 7) << 6) | (bit(c, 6) << 7) | (((c >> 3) & 7) << 1) | (bit(c, 2) << 5), 12);
        return jType(0, off);
      }
      default: { // C.BEQZ (6) / C.BNEZ (7)
        const off = sext((bit(c, 12) << 8) | (((c >> 10) & 3) << 3) | (((c >> 5) & 3) << 6) |
          (((c >> 3) & 3) << 1) | (bit(c, 2) << 5), 9);
        return bType(f3 === 6 ? 0 : 1, rs1p, 0, off);
      }
    }
  }
  if (op === 2) {
    switch (f3) {
      case 0: return iType(OP_IMM, rd, 1, rd, uimm6); // C.SLLI
      case 1: // C.FLDSP
        return iType(OP_LOAD_FP, rd, 3, 2, (bit(c, 12) << 5) | (((c >> 5) & 3) << 3) | (((c >> 2) & 7) << 6));
      case 2: // C.LWSP
        return rd === 0 ? 0 : iType(OP_LOAD, rd, 2, 2, (bit(c, 12) << 5) | (((c >> 4) & 7) << 2) | (((c >> 2) & 3) << 6));
      case 3: // C.LDSP
        return rd === 0 ? 0 : iType(OP_LOAD, rd, 3, 2, (bit(c, 12) << 5) | (((c >> 5) & 3) << 3) | (((c >> 2) & 7) << 6));
      case 4:
        if (bit(c, 12) === 0) {
          if (rs2 === 0) return rd === 0 ? 0 : iType(OP_JALR, 0, 0, rd, 0); // C.JR
          return rType(0, rs2, 0, 0, rd, OP); // C.MV
        }
        if (rs2 === 0) {
          if (rd === 0) return 0x00100073; // C.EBREAK
          return iType(OP_JALR, 1, 0, rd, 0); // C.JALR
        }
        return rType(0, rs2, rd, 0, rd, OP); // C.ADD
      case 5: // C.FSDSP
        return sType(OP_STORE_FP, 3, 2, rs2, (((c >> 10) & 7) << 3) | (((c >> 7) & 7) << 6));
      case 6: // C.SWSP
        return sType(OP_STORE, 2, 2, rs2, (((c >> 9) & 15) << 2) | (((c >> 7) & 3) << 6));
      default: // C.SDSP
        return sType(OP_STORE, 3, 2, rs2, (((c >> 10) & 7) << 3) | (((c >> 7) & 7) << 6));
    }
  }
  return 0;
}

/** All 2^16 expansions (entries with low bits 11 are unused and 0). Built once: 256 KiB. */
export const RVC_TABLE: Int32Array = (() => {
  const t = new Int32Array(65536);
  for (let c = 0; c < 65536; c++) if ((c & 3) !== 3) t[c] = expandCompressed(c);
  return t;
})();
