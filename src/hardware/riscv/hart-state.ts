// SPDX-License-Identifier: GPL-2.0-only
// The one shared-memory layout of a hart's architectural state: integer and FP registers,
// pc, privilege, CSRs, LR/SC reservation, interrupt inputs and exit details, all in one
// SharedArrayBuffer so that save/restore, a debugger or another thread read the same words.
// Spec: riscv-priv-20240411 "Machine-Level ISA" (CSR fields); riscv-unpriv-20240411 (registers).
// Leaves out: vector state, H-extension CSRs, PMU event counters (hpmcounters read zero).
//
// Layout (Int32 word index; every 64-bit value is two words, low word first):
//
//   [0 .. 63]    x0..x31      x[i] low at 2i, high at 2i+1; x0's words are always zero
//   [64 .. 127]  f0..f31      raw IEEE 754 bits, same pairing; singles NaN-boxed (high = -1)
//   [128..129]   pc
//   [130]        priv         0 = U, 1 = S, 3 = M
//   [131]        fcsr         frm in bits 7:5, fflags in bits 4:0
//   [132]        irq lines    [Atomics] level inputs from devices: MSIP, MTIP, MEIP, SEIP wires
//   [133]        mip          [Atomics] software-writable pending bits (SSIP, STIP, SEIP) and
//                             the owner's injections in guest mode
//   [134]        exit request [Atomics] bit 0: step() returns EXIT_REQUESTED soon; bit 1: a
//                             flush request is pending in [343] (applied without exiting)
//   [135]        run state    0 = running, 1 = stopped (HSM: the owner does not step it)
//   [136..]      exit details and CSRs, named below
//
// Ownership: the hart thread writes everything except the [Atomics] words, which devices and
// the owner update with Atomics.or / Atomics.and from any thread.

export const X = 0;
export const F = 64;
export const PC = 128;
export const PRIV = 130;
export const FCSR = 131;
export const IRQ_LINES = 132;
export const MIP_SW = 133;
export const EXIT_REQ = 134;
export const RUN_STATE = 135;

// Exit details (valid after step() returned the matching EXIT_*).
/** Exception cause for EXIT_TRAP_M (mcause value). */
export const EXIT_CAUSE = 136;
/** tval for EXIT_TRAP_M (64-bit). */
export const EXIT_TVAL = 138;
/** EXIT_PHYS_FAULT: the guest-physical address that faulted (64-bit). */
export const EXIT_GPA = 140;
/** EXIT_PHYS_FAULT: ACCESS_R / ACCESS_W / ACCESS_X. ACCESS_R|0x10 for a page-table read. */
export const EXIT_ACCESS = 142;
/** EXIT_PHYS_FAULT / EXIT_TRAP_M: the instruction's bits (0 for a fetch fault), zero-extended C. */
export const EXIT_INSN = 143;
/** Length of that instruction in bytes (2 or 4; 0 for a fetch fault). */
export const EXIT_INSN_LEN = 144;
/** LR/SC reservation: 1 = valid. */
export const RESV_VALID = 145;
/** Reservation: machine-memory byte offset of the reserved word (-1 = none). */
export const RESV_OFF = 146;
/** Reservation: the value LR loaded (64-bit); SC succeeds only if memory still holds it. */
export const RESV_VAL = 148;

// CSRs, 64-bit each (2 words). Counters hold the value at the last sync point.
export const MSTATUS = 150;
export const MEDELEG = 152;
export const MIDELEG = 154;
export const MIE = 156;
export const MTVEC = 158;
export const MCOUNTEREN = 160;
export const MSCRATCH = 162;
export const MEPC = 164;
export const MCAUSE = 166;
export const MTVAL = 168;
export const MENVCFG = 170;
export const MCOUNTINHIBIT = 172;
export const STVEC = 174;
export const SCOUNTEREN = 176;
export const SSCRATCH = 178;
export const SEPC = 180;
export const SCAUSE = 182;
export const STVAL = 184;
export const SENVCFG = 186;
export const SATP = 188;
export const STIMECMP = 190;
export const MCYCLE = 192;
export const MINSTRET = 194;
export const MHARTID = 196;
/** pmpcfg0, 2, ..., 14 as 64 bytes: byte i is pmp{i}cfg (16 words). */
export const PMPCFG = 198;
/** pmpaddr0..63, 64-bit each (128 words). */
export const PMPADDR = 214;

/**
 * Guest mode: an interrupt source sampled from memory (docs/abi.md §6, the Xen event upcall):
 * machine-memory byte offset + 1 of a byte; while that byte is non-zero, SEIP is pending.
 * 0 = none. Set by the owner (the hypervisor: vcpu_info.evtchn_upcall_pending).
 */
export const UPCALL_BYTE = 342;

/**
 * [Atomics] Cross-thread flush requests (FLUSH_TLB | FLUSH_ICACHE): any thread ORs bits in
 * (Hart.requestFlush); the thread running the hart applies them at its next EXIT_REQ poll and
 * clears exactly the bits it applied, which is the requester's acknowledgement.
 */
export const FLUSH_REQ = 343;
/** Instructions executed by this hart over every Hart object that ran it (64-bit). */
export const ICOUNT = 344;
/** [Atomics] The Hart object that last ran (or changed through its owner API) this block. */
export const RUNNER = 346;
/** [Atomics] Hart objects created over this block so far (their numbers for RUNNER). */
export const OBJ_SEQ = 347;

/** Total Int32 words in a hart's state block. */
export const HART_STATE_WORDS = 348;
export const HART_STATE_BYTES = HART_STATE_WORDS * 4;

/** EXIT_REQ bits: exit now; a flush request is pending. */
export const EXIT_REQ_EXIT = 1;
export const EXIT_REQ_FLUSH = 2;
/** FLUSH_REQ bits: drop cached translations (TLB, fetch page); revalidate translated code. */
export const FLUSH_TLB = 1;
export const FLUSH_ICACHE = 2;

// ─── Privilege levels ──────────────────────────────────────────────────────────────────
export const PRV_U = 0;
export const PRV_S = 1;
export const PRV_M = 3;

// ─── mstatus bits (low word unless noted) ──────────────────────────────────────────────
// Spec: riscv-priv-20240411 §3.1.6 "Machine Status (mstatus and mstatush) Registers"
export const MSTATUS_SIE = 1 << 1;
export const MSTATUS_MIE = 1 << 3;
export const MSTATUS_SPIE = 1 << 5;
export const MSTATUS_UBE = 1 << 6;
export const MSTATUS_MPIE = 1 << 7;
export const MSTATUS_SPP = 1 << 8;
export const MSTATUS_VS = 3 << 9;
export const MSTATUS_MPP = 3 << 11;
export const MSTATUS_FS = 3 << 13;
export const MSTATUS_XS = 3 << 15;
export const MSTATUS_MPRV = 1 << 17;
export const MSTATUS_SUM = 1 << 18;
export const MSTATUS_MXR = 1 << 19;
export const MSTATUS_TVM = 1 << 20;
export const MSTATUS_TW = 1 << 21;
export const MSTATUS_TSR = 1 << 22;
/** High word: UXL = 2 (bits 33:32) and SXL = 2 (bits 35:34), both XLEN 64, read-only. */
export const MSTATUS_HI_XL = 0x2 | (0x2 << 2);
/** High word: SD (bit 63). */
export const MSTATUS_HI_SD = 1 << 31;
export const FS_OFF = 0;
export const FS_DIRTY = 3 << 13;

// ─── Interrupt bits (mip / mie) ───────────────────────────────────────────────────────
// Spec: riscv-priv-20240411 §3.1.9 "Machine Interrupt (mip and mie) Registers"
export const IRQ_SSI = 1;
export const IRQ_MSI = 3;
export const IRQ_STI = 5;
export const IRQ_MTI = 7;
export const IRQ_SEI = 9;
export const IRQ_MEI = 11;
export const MIP_SSIP = 1 << IRQ_SSI;
export const MIP_MSIP = 1 << IRQ_MSI;
export const MIP_STIP = 1 << IRQ_STI;
export const MIP_MTIP = 1 << IRQ_MTI;
export const MIP_SEIP = 1 << IRQ_SEI;
export const MIP_MEIP = 1 << IRQ_MEI;
/** Supervisor-level interrupt bits (the only delegable ones here). */
export const S_INTS = MIP_SSIP | MIP_STIP | MIP_SEIP;
export const ALL_INTS = S_INTS | MIP_MSIP | MIP_MTIP | MIP_MEIP;

// ─── Exception causes ─────────────────────────────────────────────────────────────────
// Spec: riscv-priv-20240411 §3.1.15 "Machine Cause (mcause) Register"
export const CAUSE_MISALIGNED_FETCH = 0;
export const CAUSE_FETCH_ACCESS = 1;
export const CAUSE_ILLEGAL_INSN = 2;
export const CAUSE_BREAKPOINT = 3;
export const CAUSE_MISALIGNED_LOAD = 4;
export const CAUSE_LOAD_ACCESS = 5;
export const CAUSE_MISALIGNED_STORE = 6;
export const CAUSE_STORE_ACCESS = 7;
export const CAUSE_ECALL_U = 8;
export const CAUSE_ECALL_S = 9;
export const CAUSE_ECALL_M = 11;
export const CAUSE_FETCH_PAGE_FAULT = 12;
export const CAUSE_LOAD_PAGE_FAULT = 13;
export const CAUSE_STORE_PAGE_FAULT = 15;
/** Exceptions medeleg can delegate: all implemented causes except ecall from M (11). */
export const MEDELEG_MASK = 0xb3ff;

/** Creates a zeroed state block (the hart fills reset values). */
export function newHartState(): SharedArrayBuffer {
  return new SharedArrayBuffer(HART_STATE_BYTES);
}
