// SPDX-License-Identifier: GPL-2.0-only
// The CSR file: one table entry per implemented CSR with its legality predicate, read and
// write (WARL masks and side effects), in the style of QEMU's csr_ops. Zicsr's six
// instructions call csrOp(). An unimplemented CSR or a failed predicate is an illegal
// instruction. Spec: riscv-priv-20240411 §2 "Control and Status Registers (CSRs)",
// §3.1 "Machine-Level CSRs", §10.1 "Supervisor CSRs"; riscv-unpriv-20240411 "Zicntr".
// Leaves out: H, vector, Smstateen, Smcntrpmf, mseccfg, hpm events (counters read zero).
import * as HS from './hart-state.ts';
import type { Hart } from './hart.ts';
import { Pmp as Pmp_ } from './pmp.ts';
// Module-local copies of imports: a loader (tsx) may turn imported bindings into getters.
const S = { ...HS };
const Pmp = Pmp_;

const TWO32 = 4294967296;

// CSR numbers.
export const CSR = {
  fflags: 0x001, frm: 0x002, fcsr: 0x003,
  cycle: 0xc00, time: 0xc01, instret: 0xc02,
  sstatus: 0x100, sie: 0x104, stvec: 0x105, scounteren: 0x106, senvcfg: 0x10a,
  sscratch: 0x140, sepc: 0x141, scause: 0x142, stval: 0x143, sip: 0x144, stimecmp: 0x14d,
  satp: 0x180,
  mvendorid: 0xf11, marchid: 0xf12, mimpid: 0xf13, mhartid: 0xf14, mconfigptr: 0xf15,
  mstatus: 0x300, misa: 0x301, medeleg: 0x302, mideleg: 0x303, mie: 0x304, mtvec: 0x305,
  mcounteren: 0x306, menvcfg: 0x30a, mcountinhibit: 0x320, mscratch: 0x340, mepc: 0x341,
  mcause: 0x342, mtval: 0x343, mip: 0x344, pmpcfg0: 0x3a0, pmpaddr0: 0x3b0,
  mcycle: 0xb00, minstret: 0xb02,
} as const;

/** misa: MXL = 2 (RV64) and extensions A C D F I M S U. */
export const MISA_LO = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);
export const MISA_HI = 0x80000000 | 0;

const MSTATUS_W = S.MSTATUS_SIE | S.MSTATUS_MIE | S.MSTATUS_SPIE | S.MSTATUS_MPIE | S.MSTATUS_SPP |
  S.MSTATUS_MPP | S.MSTATUS_FS | S.MSTATUS_MPRV | S.MSTATUS_SUM | S.MSTATUS_MXR | S.MSTATUS_TVM |
  S.MSTATUS_TW | S.MSTATUS_TSR;
const SSTATUS_MASK = S.MSTATUS_SIE | S.MSTATUS_SPIE | S.MSTATUS_UBE | S.MSTATUS_SPP | S.MSTATUS_VS |
  S.MSTATUS_FS | S.MSTATUS_XS | S.MSTATUS_SUM | S.MSTATUS_MXR;
const SSTATUS_W = S.MSTATUS_SIE | S.MSTATUS_SPIE | S.MSTATUS_SPP | S.MSTATUS_FS | S.MSTATUS_SUM | S.MSTATUS_MXR;
/** menvcfg: FIOM (bit 0); high word: STCE (63), ADUE (61). */
const MENVCFG_HI_W = (1 << 31) | (1 << 29);

/** Scratch: the value a CSR read produced. */
let rdLo = 0, rdHi = 0;

/** Recompute mstatus.SD from FS and XS (VS is not implemented). */
export function fixSd(s: Int32Array): void {
  const ms = s[S.MSTATUS];
  const dirty = (ms & S.MSTATUS_FS) === S.MSTATUS_FS || (ms & S.MSTATUS_XS) === S.MSTATUS_XS;
  s[S.MSTATUS + 1] = S.MSTATUS_HI_XL | (dirty ? S.MSTATUS_HI_SD : 0);
}

/** Counter-enable check for cycle/time/instret/hpmcounterN (index 0..31). */
function counterOk(h: Hart, idx: number): boolean {
  if (h.priv === S.PRV_M) return true;
  const s = h.s;
  if (((s[S.MCOUNTEREN] >>> idx) & 1) === 0) return false;
  if (h.priv === S.PRV_U && ((s[S.SCOUNTEREN] >>> idx) & 1) === 0) return false;
  return true;
}

function setRd(lo: number, hi: number): void { rdLo = lo | 0; rdHi = hi | 0; }
function setRdNum(v: number): void { rdLo = v % TWO32 | 0; rdHi = Math.floor(v / TWO32) | 0; }

/** Reads CSR `csr` into rdLo/rdHi. Returns false if illegal. */
function readCsr(h: Hart, csr: number): boolean {
  const s = h.s;
  switch (csr) {
    case CSR.fflags: if (!fsOn(h)) return false; setRd(s[S.FCSR] & 0x1f, 0); return true;
    case CSR.frm: if (!fsOn(h)) return false; setRd((s[S.FCSR] >> 5) & 7, 0); return true;
    case CSR.fcsr: if (!fsOn(h)) return false; setRd(s[S.FCSR] & 0xff, 0); return true;
    case CSR.cycle: if (!counterOk(h, 0)) return false; h.readCounter(S.MCYCLE); setRd(h.ctrLo, h.ctrHi); return true;
    case CSR.time: if (!counterOk(h, 1)) return false; setRdNum(h.clock.now()); return true;
    case CSR.instret: if (!counterOk(h, 2)) return false; h.readCounter(S.MINSTRET); setRd(h.ctrLo, h.ctrHi); return true;
    case CSR.sstatus: setRd(s[S.MSTATUS] & SSTATUS_MASK, s[S.MSTATUS + 1] & (S.MSTATUS_HI_SD | 0x3)); return true;
    case CSR.sie: setRd(s[S.MIE] & s[S.MIDELEG], 0); return true;
    case CSR.sip: setRd(h.mipValue() & s[S.MIDELEG], 0); return true;
    case CSR.stvec: return pair(s, S.STVEC);
    case CSR.scounteren: return pair(s, S.SCOUNTEREN);
    case CSR.senvcfg: return pair(s, S.SENVCFG);
    case CSR.sscratch: return pair(s, S.SSCRATCH);
    case CSR.sepc: return pair(s, S.SEPC);
    case CSR.scause: return pair(s, S.SCAUSE);
    case CSR.stval: return pair(s, S.STVAL);
    case CSR.stimecmp:
      // Spec: riscv-priv-20240411 §11 "Sstc" Extension for Supervisor-mode Timer Interrupts: below M, stimecmp needs menvcfg.STCE and mcounteren.TM.
      if (h.priv !== S.PRV_M && (s[S.MENVCFG + 1] >= 0 || (s[S.MCOUNTEREN] & 2) === 0)) return false;
      return pair(s, S.STIMECMP);
    case CSR.satp:
      if (h.priv === S.PRV_S && (s[S.MSTATUS] & S.MSTATUS_TVM)) return false;
      return pair(s, S.SATP);
    case CSR.mvendorid: case CSR.marchid: case CSR.mimpid: case CSR.mconfigptr: setRd(0, 0); return true;
    case CSR.mhartid: return pair(s, S.MHARTID);
    case CSR.mstatus: return pair(s, S.MSTATUS);
    case CSR.misa: setRd(MISA_LO, MISA_HI); return true;
    case CSR.medeleg: return pair(s, S.MEDELEG);
    case CSR.mideleg: return pair(s, S.MIDELEG);
    case CSR.mie: return pair(s, S.MIE);
    case CSR.mip: setRd(h.mipValue(), 0); return true;
    case CSR.mtvec: return pair(s, S.MTVEC);
    case CSR.mcounteren: return pair(s, S.MCOUNTEREN);
    case CSR.menvcfg: return pair(s, S.MENVCFG);
    case CSR.mcountinhibit: return pair(s, S.MCOUNTINHIBIT);
    case CSR.mscratch: return pair(s, S.MSCRATCH);
    case CSR.mepc: return pair(s, S.MEPC);
    case CSR.mcause: return pair(s, S.MCAUSE);
    case CSR.mtval: return pair(s, S.MTVAL);
    case CSR.mcycle: h.readCounter(S.MCYCLE); setRd(h.ctrLo, h.ctrHi); return true;
    case CSR.minstret: h.readCounter(S.MINSTRET); setRd(h.ctrLo, h.ctrHi); return true;
  }
  if (csr >= 0x3a0 && csr <= 0x3af) { // pmpcfg: only even ones exist on RV64
    if (csr & 1) return false;
    return pair(s, S.PMPCFG + (csr - 0x3a0)); // pmpcfg(2k) is entries 8k..8k+7 = words 2k, 2k+1
  }
  if (csr >= 0x3b0 && csr <= 0x3ef) return pair(s, S.PMPADDR + 2 * (csr - 0x3b0));
  if (csr >= 0xc03 && csr <= 0xc1f) { if (!counterOk(h, csr - 0xc00)) return false; setRd(0, 0); return true; }
  if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) { setRd(0, 0); return true; }
  return false;
}

function pair(s: Int32Array, i: number): boolean { setRd(s[i], s[i + 1]); return true; }
function fsOn(h: Hart): boolean { return (h.s[S.MSTATUS] & S.MSTATUS_FS) !== 0; }

/** Writes (lo, hi) to CSR `csr` (already known to exist and be writable). */
function writeCsr(h: Hart, csr: number, lo: number, hi: number): void {
  const s = h.s;
  switch (csr) {
    case CSR.fflags: s[S.FCSR] = (s[S.FCSR] & ~0x1f) | (lo & 0x1f); h.fsDirty(); return;
    case CSR.frm: s[S.FCSR] = (s[S.FCSR] & 0x1f) | ((lo & 7) << 5); h.fsDirty(); return;
    case CSR.fcsr: s[S.FCSR] = lo & 0xff; h.fsDirty(); return;
    case CSR.sstatus: writeMstatus(h, (s[S.MSTATUS] & ~SSTATUS_W) | (lo & SSTATUS_W)); return;
    case CSR.sie: { const m = s[S.MIDELEG] & S.S_INTS; s[S.MIE] = (s[S.MIE] & ~m) | (lo & m); return; }
    case CSR.sip: { // only SSIP is writable through sip (when delegated)
      const m = s[S.MIDELEG] & S.MIP_SSIP;
      if (lo & m) Atomics.or(s, S.MIP_SW, m); else Atomics.and(s, S.MIP_SW, ~m);
      return;
    }
    case CSR.stvec: case CSR.mtvec: {
      if ((lo & 3) >= 2) return; // reserved mode: keep the old value (WARL)
      const i = csr === CSR.stvec ? S.STVEC : S.MTVEC;
      s[i] = lo; s[i + 1] = hi; return;
    }
    case CSR.scounteren: s[S.SCOUNTEREN] = lo; s[S.SCOUNTEREN + 1] = 0; return;
    case CSR.senvcfg: s[S.SENVCFG] = lo & 1; return;
    case CSR.sscratch: s[S.SSCRATCH] = lo; s[S.SSCRATCH + 1] = hi; return;
    case CSR.sepc: s[S.SEPC] = lo & ~1; s[S.SEPC + 1] = hi; return;
    case CSR.scause: s[S.SCAUSE] = lo; s[S.SCAUSE + 1] = hi; return;
    case CSR.stval: s[S.STVAL] = lo; s[S.STVAL + 1] = hi; return;
    case CSR.stimecmp: s[S.STIMECMP] = lo; s[S.STIMECMP + 1] = hi; return;
    case CSR.satp: {
      // Spec: riscv-priv-20240411 §10.1.11 "Supervisor Address Translation and Protection (satp) Register":
      // writing an unsupported MODE leaves satp unchanged (WARL). Bare, Sv39, Sv48, Sv57
      // (up to the hart's maxVaBits).
      const mode = hi >>> 28;
      if (mode !== 0 && (mode < 8 || mode > h.maxSatpMode)) return;
      // ASIDs are not implemented (ASIDLEN = 0): the field reads as zero.
      s[S.SATP] = mode === 0 ? 0 : lo; s[S.SATP + 1] = mode === 0 ? 0 : hi & 0xf0000fff;
      h.flushTlb();
      return;
    }
    case CSR.mstatus: writeMstatus(h, lo); return;
    case CSR.misa: return; // fixed
    case CSR.medeleg: s[S.MEDELEG] = lo & S.MEDELEG_MASK; return;
    case CSR.mideleg: s[S.MIDELEG] = lo & S.S_INTS; return;
    case CSR.mie: s[S.MIE] = lo & S.ALL_INTS; return;
    case CSR.mip: {
      let m = S.MIP_SSIP | S.MIP_SEIP;
      if (s[S.MENVCFG + 1] >= 0) m |= S.MIP_STIP; // with Sstc on, STIP is read-only
      Atomics.and(s, S.MIP_SW, ~m | (lo & m));
      Atomics.or(s, S.MIP_SW, lo & m);
      return;
    }
    case CSR.mcounteren: s[S.MCOUNTEREN] = lo; return;
    case CSR.menvcfg: s[S.MENVCFG] = lo & 1; s[S.MENVCFG + 1] = hi & MENVCFG_HI_W; return;
    case CSR.mcountinhibit: h.syncCounters(); s[S.MCOUNTINHIBIT] = lo & ~2; return;
    case CSR.mscratch: s[S.MSCRATCH] = lo; s[S.MSCRATCH + 1] = hi; return;
    case CSR.mepc: s[S.MEPC] = lo & ~1; s[S.MEPC + 1] = hi; return;
    case CSR.mcause: s[S.MCAUSE] = lo; s[S.MCAUSE + 1] = hi; return;
    case CSR.mtval: s[S.MTVAL] = lo; s[S.MTVAL + 1] = hi; return;
    case CSR.mcycle: h.writeCounter(S.MCYCLE, lo, hi); return;
    case CSR.minstret: h.writeCounter(S.MINSTRET, lo, hi); return;
  }
  if (csr >= 0x3a0 && csr <= 0x3af) { writePmpcfg(h, csr - 0x3a0, lo, hi); return; }
  if (csr >= 0x3b0 && csr <= 0x3ef) { writePmpaddr(h, csr - 0x3b0, lo, hi); return; }
  // mhpmcounterN / mhpmeventN: writes ignored (read-only zero counters).
}

function writeMstatus(h: Hart, v: number): void {
  const s = h.s;
  const old = s[S.MSTATUS];
  let nv = (old & ~MSTATUS_W) | (v & MSTATUS_W);
  if (((nv >> 11) & 3) === 2) nv = (nv & ~S.MSTATUS_MPP) | (old & S.MSTATUS_MPP); // MPP WARL
  if (h.guestMode) nv &= ~(S.MSTATUS_MPRV | S.MSTATUS_MPP | S.MSTATUS_MIE | S.MSTATUS_MPIE | S.MSTATUS_TVM | S.MSTATUS_TW | S.MSTATUS_TSR);
  s[S.MSTATUS] = nv;
  fixSd(s);
  if ((old ^ nv) & S.MSTATUS_MXR) h.flushTlb();
  h.updateContexts();
}

function writePmpcfg(h: Hart, n: number, lo: number, hi: number): void {
  const pmp = h.pmp;
  if (pmp === null) return;
  for (let b = 0; b < 8; b++) {
    const i = n * 4 + b; // entry index: pmpcfg(2k) holds entries 8k .. 8k+7 (n = 2k)
    if (i >= pmp.count || pmp.locked(i)) continue;
    const v = ((b < 4 ? lo >>> (8 * b) : hi >>> (8 * (b - 4))) & 0xff);
    pmp.cfg[i] = Pmp.legalCfg(v);
  }
  pmp.rebuild();
  h.flushTlb();
}

function writePmpaddr(h: Hart, i: number, lo: number, hi: number): void {
  const pmp = h.pmp;
  if (pmp === null || i >= pmp.count) return;
  // Spec: riscv-priv-20240411 §3.7.1 "Physical Memory Protection CSRs": a locked entry ignores writes to pmpaddr; so does pmpaddr(i) when entry
  // i+1 is locked TOR.
  if (pmp.locked(i)) return;
  if (i + 1 < pmp.count && pmp.locked(i + 1) && ((pmp.cfg[i + 1] >> 3) & 3) === 1) return;
  h.s[S.PMPADDR + 2 * i] = lo;
  h.s[S.PMPADDR + 2 * i + 1] = hi & 0x3fffff;
  pmp.rebuild();
  h.flushTlb();
}

/**
 * Execute a Zicsr instruction (funct3 1-3, 5-7). Returns true on success (rd written), false
 * for an illegal instruction (the caller raises it).
 */
export function csrOp(h: Hart, insn: number): boolean {
  const csr = insn >>> 20;
  const f3 = (insn >> 12) & 7;
  const rs1 = (insn >> 15) & 31, rd = (insn >> 7) & 31;
  // Spec: §2.1 "CSR Address Mapping Conventions": bits 9:8 give the lowest privilege,
  // bits 11:10 = 3 mark read-only CSRs.
  if (h.priv < ((csr >> 8) & 3)) return false;
  const writes = f3 === 1 || f3 === 5 || rs1 !== 0;
  if (writes && (csr >> 10) === 3) return false;
  const x = h.x;
  let srcLo: number, srcHi: number;
  if (f3 >= 5) { srcLo = rs1; srcHi = 0; } else { srcLo = x[2 * rs1]; srcHi = x[2 * rs1 + 1]; }
  if (!readCsr(h, csr)) return false;
  const oldLo = rdLo, oldHi = rdHi;
  if (writes) {
    let nlo = srcLo, nhi = srcHi;
    const op = f3 & 3;
    if (op === 2) { nlo = oldLo | srcLo; nhi = oldHi | srcHi; }
    else if (op === 3) { nlo = oldLo & ~srcLo; nhi = oldHi & ~srcHi; }
    writeCsr(h, csr, nlo, nhi);
  }
  if (rd !== 0) { x[2 * rd] = oldLo; x[2 * rd + 1] = oldHi; }
  return true;
}
