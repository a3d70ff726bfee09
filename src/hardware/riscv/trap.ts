// SPDX-License-Identifier: GPL-2.0-only
// Trap entry (exceptions and interrupts, with medeleg/mideleg delegation), interrupt selection
// by priority, and the MRET/SRET returns. In guest mode there is no M-mode: a trap that would
// enter M becomes EXIT_TRAP_M and an ecall from S becomes EXIT_ECALL (pc left at the ecall).
// Spec: riscv-priv-20240411 §3.1.8 "Machine Trap Delegation (medeleg and mideleg) Registers",
// §3.1.9 "Machine Interrupt (mip and mie) Registers", §3.3.2 "Trap-Return Instructions".
// Leaves out: the H extension (no VS traps), Smrnmi, double-trap (Ssdbltrp).
import { EXIT_ECALL as EXIT_ECALL_, EXIT_TRAP_M as EXIT_TRAP_M_ } from './hart-api.ts';
import * as HS from './hart-state.ts';
import type { Hart } from './hart.ts';
// Module-local copies of imports: a loader (tsx) may turn imported bindings into getters.
const EXIT_ECALL = EXIT_ECALL_;
const EXIT_TRAP_M = EXIT_TRAP_M_;
const S = { ...HS };

const TWO32 = 4294967296;

/** pc (a double holding the signed 64-bit value) to its low / high words. */
export const pcLo = (pc: number): number => pc % TWO32 | 0;
export const pcHi = (pc: number): number => Math.floor(pc / TWO32) | 0;
/** A 64-bit value from its words, as a double; exact while it fits in 53 bits signed. */
export const toPc = (lo: number, hi: number): number => hi * TWO32 + (lo >>> 0);
/** Does the signed 64-bit value (lo, hi) fit a double exactly (|v| < 2^53)? */
export const pcFits = (hi: number): boolean => hi >= -0x200000 && hi < 0x200000;

/**
 * Take a trap at the instruction h.pcCur (epc). Updates privilege, CSRs and h.pcCur (the
 * handler address) or sets h.exitCode in guest mode. tval is given as two words.
 */
export function takeTrap(h: Hart, isInt: boolean, cause: number, tvalLo: number, tvalHi: number): void {
  const s = h.s;
  const priv = h.priv;
  if (!isInt) h.notRetired++;
  if (h.guestMode && !isInt && cause === S.CAUSE_ECALL_S) {
    h.exitCode = EXIT_ECALL;
    return;
  }
  let toS = false;
  if (priv <= S.PRV_S) {
    const deleg = isInt ? s[S.MIDELEG] : s[S.MEDELEG];
    toS = ((deleg >>> cause) & 1) !== 0;
  }
  const epcLo = h.farPc ? h.farLo : pcLo(h.pcCur);
  const epcHi = h.farPc ? h.farHi : pcHi(h.pcCur);
  h.farPc = false;
  if (h.guestMode && !toS) {
    s[S.EXIT_CAUSE] = cause | (isInt ? 0x80000000 : 0);
    s[S.EXIT_CAUSE + 1] = 0;
    s[S.EXIT_TVAL] = tvalLo;
    s[S.EXIT_TVAL + 1] = tvalHi;
    h.exitCode = EXIT_TRAP_M;
    return;
  }
  let ms = s[S.MSTATUS];
  let tvec: number, tvecHi: number;
  if (toS) {
    s[S.SEPC] = epcLo; s[S.SEPC + 1] = epcHi;
    s[S.SCAUSE] = cause; s[S.SCAUSE + 1] = isInt ? 0x80000000 | 0 : 0;
    s[S.STVAL] = tvalLo; s[S.STVAL + 1] = tvalHi;
    ms = (ms & ~(S.MSTATUS_SPIE | S.MSTATUS_SIE | S.MSTATUS_SPP)) |
      ((ms & S.MSTATUS_SIE) ? S.MSTATUS_SPIE : 0) | (priv === S.PRV_S ? S.MSTATUS_SPP : 0);
    tvec = s[S.STVEC]; tvecHi = s[S.STVEC + 1];
    s[S.MSTATUS] = ms;
    h.setPriv(S.PRV_S);
  } else {
    s[S.MEPC] = epcLo; s[S.MEPC + 1] = epcHi;
    s[S.MCAUSE] = cause; s[S.MCAUSE + 1] = isInt ? 0x80000000 | 0 : 0;
    s[S.MTVAL] = tvalLo; s[S.MTVAL + 1] = tvalHi;
    ms = (ms & ~(S.MSTATUS_MPIE | S.MSTATUS_MIE | S.MSTATUS_MPP)) |
      ((ms & S.MSTATUS_MIE) ? S.MSTATUS_MPIE : 0) | (priv << 11);
    tvec = s[S.MTVEC]; tvecHi = s[S.MTVEC + 1];
    s[S.MSTATUS] = ms;
    h.setPriv(S.PRV_M);
  }
  // Spec: riscv-priv-20240411 §3.1.7 "Machine Trap-Vector Base-Address (mtvec) Register":
  // vectored mode sends interrupts to BASE + 4 * cause, exceptions to BASE.
  const sum = ((tvec & ~3) >>> 0) + ((isInt && (tvec & 3) === 1) ? 4 * cause : 0);
  h.jumpTo(sum | 0, (tvecHi + (sum >= TWO32 ? 1 : 0)) | 0);
}

/** The effective mip value: software bits, device lines, and the Sstc comparison. */
export function effectiveMip(h: Hart): number {
  const s = h.s;
  let mip = Atomics.load(s, S.MIP_SW) | Atomics.load(s, S.IRQ_LINES);
  // A memory-sampled SEIP source (hart-state.ts UPCALL_BYTE; the hypervisor's event upcall).
  const ub = s[S.UPCALL_BYTE];
  if (ub !== 0 && ((h.m32[(ub - 1) >> 2] >>> (((ub - 1) & 3) * 8)) & 0xff) !== 0) mip |= S.MIP_SEIP;
  // Spec: riscv-priv-20240411 §11 "Sstc" Extension for Supervisor-mode Timer Interrupts: with menvcfg.STCE set, STIP reflects
  // time >= stimecmp and is read-only in mip/sip.
  if (s[S.MENVCFG + 1] < 0) {
    const sw = Atomics.load(s, S.MIP_SW) & S.MIP_STIP;
    mip &= ~sw;
    const cmp = (s[S.STIMECMP + 1] >>> 0) * TWO32 + (s[S.STIMECMP] >>> 0);
    if (h.clock.now() >= cmp) mip |= S.MIP_STIP;
  }
  return mip;
}

/** The cause of the interrupt to take now, or -1. Priority: MEI, MSI, MTI, SEI, SSI, STI. */
export function pendingInterrupt(h: Hart): number {
  const s = h.s;
  const pend = effectiveMip(h) & s[S.MIE];
  if (pend === 0) return -1;
  const priv = h.priv, ms = s[S.MSTATUS], deleg = s[S.MIDELEG];
  let m = pend & ~deleg;
  if (h.guestMode || (priv === S.PRV_M && (ms & S.MSTATUS_MIE) === 0)) m = 0;
  let sp = pend & deleg;
  if (priv === S.PRV_M || (priv === S.PRV_S && (ms & S.MSTATUS_SIE) === 0)) sp = 0;
  const p = m !== 0 ? m : sp;
  if (p === 0) return -1;
  if (p & S.MIP_MEIP) return S.IRQ_MEI;
  if (p & S.MIP_MSIP) return S.IRQ_MSI;
  if (p & S.MIP_MTIP) return S.IRQ_MTI;
  if (p & S.MIP_SEIP) return S.IRQ_SEI;
  if (p & S.MIP_SSIP) return S.IRQ_SSI;
  if (p & S.MIP_STIP) return S.IRQ_STI;
  return -1;
}

/** MRET (from M) or SRET (from S/M). Caller has checked privilege, TSR. */
export function trapReturn(h: Hart, isMret: boolean): void {
  const s = h.s;
  let ms = s[S.MSTATUS];
  let np: number, lo: number, hi: number;
  if (isMret) {
    np = (ms >> 11) & 3;
    ms = (ms & ~(S.MSTATUS_MIE | S.MSTATUS_MPP)) | ((ms & S.MSTATUS_MPIE) ? S.MSTATUS_MIE : 0) | S.MSTATUS_MPIE;
    lo = s[S.MEPC]; hi = s[S.MEPC + 1];
  } else {
    np = (ms >> 8) & 1;
    ms = (ms & ~(S.MSTATUS_SIE | S.MSTATUS_SPP)) | ((ms & S.MSTATUS_SPIE) ? S.MSTATUS_SIE : 0) | S.MSTATUS_SPIE;
    lo = s[S.SEPC]; hi = s[S.SEPC + 1];
  }
  // Spec: riscv-priv-20240411 §3.1.6.3 "Memory Privilege in mstatus Register": an xRET to a
  // privilege other than M clears MPRV.
  if (np !== S.PRV_M) ms &= ~S.MSTATUS_MPRV;
  s[S.MSTATUS] = ms;
  h.setPriv(np);
  h.jumpTo(lo, hi);
}
