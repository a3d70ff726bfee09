// SPDX-License-Identifier: GPL-2.0-only
// Address translation: the Sv39/Sv48/Sv57 page walk, PMP and the owner's PhysTranslation,
// filling the software TLB. Called only on a TLB miss (the hit path is inline in hart.ts).
// Spec: riscv-priv-20240411 §10.3.2 "Virtual Address Translation Process", §10.5 "Sv48",
// §10.6 "Sv57"; A/D bits: hardware update while menvcfg.ADUE = 1 (the reset value, as QEMU
// does), Svade page faults when software clears ADUE. Leaves out: Svpbmt, Svnapot (PTEs that
// use them fault, as the spec requires when the extension is absent), ASID-tagged entries.
import { ACCESS_R as ACCESS_R_, ACCESS_W as ACCESS_W_, ACCESS_X as ACCESS_X_, EXIT_PHYS_FAULT as EXIT_PHYS_FAULT_, PHYS_FAULT as PHYS_FAULT_, PHYS_MMIO as PHYS_MMIO_ } from './hart-api.ts';
import * as HS from './hart-state.ts';
import type { Hart } from './hart.ts';
import { F64_EXACT as F64_EXACT_, SCRATCH_F64, SCRATCH_I32 } from './mem64.ts';
import { pcHi as pcHi_, pcLo as pcLo_, takeTrap as takeTrap_ } from './trap.ts';
// Module-local copies of imports: a loader (tsx) may turn imported bindings into getters.
const ACCESS_R = ACCESS_R_;
const ACCESS_W = ACCESS_W_;
const ACCESS_X = ACCESS_X_;
const EXIT_PHYS_FAULT = EXIT_PHYS_FAULT_;
const PHYS_FAULT = PHYS_FAULT_;
const PHYS_MMIO = PHYS_MMIO_;
const S = { ...HS };
const pcHi = pcHi_;
const pcLo = pcLo_;
const takeTrap = takeTrap_;
const F64_EXACT = F64_EXACT_;

const TWO32 = 4294967296;
/** Direct-mapped TLB entries per (context, access type). */
export const TLB_N = 512;
export const TLB_MASK = TLB_N - 1;
/** Contexts: 0 = U, 1 = S, 2 = S with SUM, 3 = M (no translation). */
export const CTX_U = 0, CTX_S = 1, CTX_SUM = 2, CTX_M = 3;
/** Access types (TLB sets): fetch, load, store. */
export const T_FETCH = 0, T_LOAD = 1, T_STORE = 2;
export const TLB_ENTRIES = 4 * 3 * TLB_N;

/** Result of translate(): an MMIO access, the physical address is in h.mmioPa. */
export const XL_MMIO = -1;
/** Result of translate(): a trap was taken or the hart must exit (h.exitCode). */
export const XL_TRAP = -2;

const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_A = 64, PTE_D = 128;

function faultCause(acc: number, page: boolean): number {
  if (acc === ACCESS_X) return page ? S.CAUSE_FETCH_PAGE_FAULT : S.CAUSE_FETCH_ACCESS;
  if (acc === ACCESS_R) return page ? S.CAUSE_LOAD_PAGE_FAULT : S.CAUSE_LOAD_ACCESS;
  return page ? S.CAUSE_STORE_PAGE_FAULT : S.CAUSE_STORE_ACCESS;
}

/** Raise a page fault (page = true) or access fault for virtual address (vlo, vhi). */
export function memFault(h: Hart, acc: number, page: boolean, vlo: number, vhi: number): number {
  takeTrap(h, false, faultCause(acc, page), vlo, vhi);
  return XL_TRAP;
}

/** Guest mode: the owner's translation refused guest-physical address `gpa`. */
function physExit(h: Hart, gpa: number, acc: number): number {
  const s = h.s;
  s[S.EXIT_GPA] = pcLo(gpa); s[S.EXIT_GPA + 1] = pcHi(gpa);
  s[S.EXIT_ACCESS] = acc;
  s[S.EXIT_INSN] = h.curInsn; s[S.EXIT_INSN_LEN] = h.curLen;
  h.exitCode = EXIT_PHYS_FAULT;
  return XL_TRAP;
}

/**
 * Read (and maybe update) the PTE at physical address pa for a walk. Returns the machine
 * offset of the PTE or XL_TRAP. acc is the original access (for the fault type).
 */
function pteOffset(h: Hart, pa: number, acc: number, vlo: number, vhi: number, write: boolean): number {
  const ppn = Math.floor(pa / 4096);
  const r = h.phys.lookup(ppn, write ? ACCESS_W : ACCESS_R);
  if (r === PHYS_FAULT) {
    if (h.guestMode) return physExit(h, pa, (write ? ACCESS_W : ACCESS_R) | 0x10);
    return memFault(h, acc, false, vlo, vhi);
  }
  // Page tables in device memory: an access fault (we do not walk through MMIO).
  if (r === PHYS_MMIO || r < 0) return memFault(h, acc, false, vlo, vhi);
  // Spec: riscv-priv-20240411 §3.7 "Physical Memory Protection": implicit page-table accesses are checked
  // with S-mode privilege.
  if (h.pmp !== null && !h.pmp.check(pa, 8, write ? ACCESS_W : ACCESS_R, S.PRV_S)) return memFault(h, acc, false, vlo, vhi);
  return r + (pa % 4096);
}

/**
 * Translate the access of `size` bytes at virtual address (vlo, vhi) in TLB context ctx.
 * Returns the machine-memory byte offset, XL_MMIO (h.mmioPa set) or XL_TRAP.
 * Fills the TLB when the page is RAM with uniform PMP permission.
 */
export function translate(h: Hart, vlo: number, vhi: number, acc: number, ctx: number, size: number): number {
  const s = h.s;
  const mode = s[S.SATP + 1] >>> 28;
  let ppn: number; // physical page number of the access
  let superPage = 0; // log2 of the number of 4 KiB pages the leaf maps (0 for a 4 KiB leaf)
  if (ctx === CTX_M || mode === 0) {
    // Bare: the address is physical; physical addresses have 56 bits.
    if ((vhi >>> 24) !== 0) return memFault(h, acc, false, vlo, vhi);
    ppn = (vhi >>> 0) * 1048576 + (vlo >>> 12);
  } else {
    const levels = mode - 5; // Sv39 (8) = 3, Sv48 (9) = 4, Sv57 (10) = 5
    // Spec: riscv-priv-20240411 §10.3.2 step 1: bits 63..VALEN-1 must all equal bit VALEN-1, else a page fault.
    const vaBits = 12 + 9 * levels;
    const top = vaBits - 32; // sign bit position inside vhi
    const ext = vhi >> (top - 1); // the bits from VALEN-1 up, arithmetic
    if (ext !== 0 && ext !== -1) return memFault(h, acc, true, vlo, vhi);
    const vpnAll = (vhi & 0x1ffffff) * 1048576 + (vlo >>> 12); // VA bits 56..12
    const adue = (s[S.MENVCFG + 1] & (1 << 29)) !== 0;
    const priv = ctx === CTX_U ? S.PRV_U : S.PRV_S;
    for (;;) {
      let a = ((s[S.SATP + 1] & 0xfff) * TWO32 + (s[S.SATP] >>> 0)) * 4096;
      let i = levels - 1;
      let pteLo = 0, pteHi = 0, off = 0, pteAddr = 0;
      for (;;) {
        const vpn = Math.floor(vpnAll / Math.pow(2, 9 * i)) % 512;
        pteAddr = a + vpn * 8;
        off = pteOffset(h, pteAddr, acc, vlo, vhi, false);
        if (off < 0) return XL_TRAP;
        // One single-copy atomic read of the PTE (mem64.ts): another hart may be rewriting it.
        if (F64_EXACT) { SCRATCH_F64[0] = h.m64[off >> 3]; pteLo = SCRATCH_I32[0]; pteHi = SCRATCH_I32[1]; }
        else { pteLo = Atomics.load(h.m32, off >> 2); pteHi = Atomics.load(h.m32, (off >> 2) + 1); }
        // Spec: step 3: V = 0, or R = 0 with W = 1, or reserved bits set: page fault.
        // Bits 63..54 (N, PBMT, reserved) must be zero: Svnapot and Svpbmt are absent.
        if ((pteLo & PTE_V) === 0 || (pteLo & (PTE_R | PTE_W)) === PTE_W || (pteHi & ~0x3fffff) !== 0)
          return memFault(h, acc, true, vlo, vhi);
        if ((pteLo & (PTE_R | PTE_X)) !== 0) break; // leaf
        if (i === 0) return memFault(h, acc, true, vlo, vhi);
        i--;
        a = ((pteHi & 0x3fffff) * 4194304 + (pteLo >>> 10)) * 4096;
      }
      // Leaf: permission checks. Spec: riscv-priv-20240411 §10.3.2 step 5.
      if (priv === S.PRV_U) {
        if ((pteLo & PTE_U) === 0) return memFault(h, acc, true, vlo, vhi);
      } else if ((pteLo & PTE_U) !== 0) {
        // S-mode may touch U pages only with SUM, and never execute them.
        if (ctx !== CTX_SUM || acc === ACCESS_X) return memFault(h, acc, true, vlo, vhi);
      }
      if (acc === ACCESS_X) { if ((pteLo & PTE_X) === 0) return memFault(h, acc, true, vlo, vhi); }
      else if (acc === ACCESS_R) {
        const mxr = (s[S.MSTATUS] & S.MSTATUS_MXR) !== 0;
        if ((pteLo & PTE_R) === 0 && !(mxr && (pteLo & PTE_X) !== 0)) return memFault(h, acc, true, vlo, vhi);
      } else if ((pteLo & PTE_W) === 0) return memFault(h, acc, true, vlo, vhi);
      const leafPpn = (pteHi & 0x3fffff) * 4194304 + (pteLo >>> 10);
      const span = Math.pow(2, 9 * i);
      // Spec: step 6: a misaligned superpage is a page fault.
      if (i > 0 && leafPpn % span !== 0) return memFault(h, acc, true, vlo, vhi);
      // Spec: step 7: A = 0, or a store with D = 0.
      const need = PTE_A | (acc === ACCESS_W ? PTE_D : 0);
      if ((pteLo & need) !== need) {
        if (!adue) return memFault(h, acc, true, vlo, vhi);
        // Hardware update, atomic with the check: the PTE must still hold what we checked.
        const w = pteOffset(h, pteAddr, acc, vlo, vhi, true);
        if (w < 0) return XL_TRAP;
        if (Atomics.compareExchange(h.m32, w >> 2, pteLo, pteLo | need) !== pteLo) continue; // raced: walk again
        // The CAS covers the low word: if another hart rewrote the high word (PPN bits 53:22)
        // meanwhile, the bits went onto the new PTE; walk again and use that one.
        if (Atomics.load(h.m32, (w >> 2) + 1) !== pteHi) continue;
      }
      ppn = leafPpn + (vpnAll % span);
      superPage = i;
      break;
    }
  }
  const pa = ppn * 4096 + (vlo & 4095);
  const r = h.phys.lookup(ppn, acc);
  if (r === PHYS_FAULT) {
    if (h.guestMode) return physExit(h, pa, acc);
    return memFault(h, acc, false, vlo, vhi);
  }
  const pmp = h.pmp;
  const pprivEff = ctx === CTX_M ? S.PRV_M : ctx === CTX_U ? S.PRV_U : S.PRV_S;
  if (pmp !== null && !pmp.check(pa, size, acc, pprivEff)) return memFault(h, acc, false, vlo, vhi);
  if (r === PHYS_MMIO || r < 0) {
    h.mmioPa = pa;
    return XL_MMIO;
  }
  if (pmp === null || pmp.pageUniform(ppn * 4096)) {
    const t = acc === ACCESS_X ? T_FETCH : acc === ACCESS_R ? T_LOAD : T_STORE;
    const idx = (ctx * 3 + t) * TLB_N + ((vlo >>> 12) & TLB_MASK);
    h.tlbTag[idx] = vhi * 1048576 + (vlo >>> 12);
    h.tlbOff[idx] = r;
    if (superPage > 0) h.noteSuperpage(vhi * 1048576 + (vlo >>> 12), superPage);
  }
  return r + (vlo & 4095);
}
