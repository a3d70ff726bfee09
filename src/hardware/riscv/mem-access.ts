// SPDX-License-Identifier: GPL-2.0-only
// The slow paths of data and instruction accesses: TLB misses, MMIO (8-byte accesses split
// into two 4-byte ones, low word first), misaligned accesses done "in hardware" including
// those that cross a page (both pages are translated before any byte is written), and
// instruction fetches that straddle a page. The fast paths (aligned TLB hits) are in hart.ts.
// Spec: riscv-unpriv-20240411 §2.6 "Load and Store Instructions" (misaligned accesses may be
// handled by the execution environment); riscv-priv-20240411 §3.6 "Physical Memory Attributes".
// Misaligned MMIO accesses raise an access fault (the spec allows it for I/O regions).
// Aligned accesses to RAM are one typed-array access of their size, so they are single-copy
// atomic (riscv-unpriv-20240411 §2.6 and the RVWMO "single-copy atomic" rule for aligned
// accesses, which Linux relies on for PTEs, READ_ONCE of u64 and atomic64): 8-byte ones move
// the raw bits through a Float64Array (F64_EXACT below) instead of two 32-bit halves.
import { ACCESS_R as ACCESS_R_, ACCESS_W as ACCESS_W_, ACCESS_X as ACCESS_X_ } from './hart-api.ts';
import * as HS from './hart-state.ts';
import type { Hart } from './hart.ts';
import { memFault as memFault_, T_FETCH as T_FETCH_, T_LOAD as T_LOAD_, T_STORE as T_STORE_, TLB_MASK as TLB_MASK_, TLB_N as TLB_N_, translate as translate_, XL_MMIO as XL_MMIO_, XL_TRAP as XL_TRAP_ } from './mmu.ts';
import { F64_EXACT as F64_EXACT_, SCRATCH_F64, SCRATCH_I32 } from './mem64.ts';
import { takeTrap as takeTrap_ } from './trap.ts';
// Module-local copies of imports: a loader (tsx) may turn imported bindings into getters.
const ACCESS_R = ACCESS_R_;
const ACCESS_W = ACCESS_W_;
const ACCESS_X = ACCESS_X_;
const S = { ...HS };
const memFault = memFault_;
const T_FETCH = T_FETCH_;
const T_LOAD = T_LOAD_;
const T_STORE = T_STORE_;
const TLB_MASK = TLB_MASK_;
const TLB_N = TLB_N_;
const translate = translate_;
const XL_MMIO = XL_MMIO_;
const XL_TRAP = XL_TRAP_;
const takeTrap = takeTrap_;
const F64_EXACT = F64_EXACT_;

const TWO32 = 4294967296;


/** Translate through the TLB first. Same results as translate(). */
export function xlate(h: Hart, vlo: number, vhi: number, acc: number, ctx: number, size: number): number {
  const t = acc === ACCESS_X ? T_FETCH : acc === ACCESS_R ? T_LOAD : T_STORE;
  const idx = (ctx * 3 + t) * TLB_N + ((vlo >>> 12) & TLB_MASK);
  if (h.tlbTag[idx] === vhi * 1048576 + (vlo >>> 12)) return h.tlbOff[idx] + (vlo & 4095);
  return translate(h, vlo, vhi, acc, ctx, size);
}

/** Read `size` bytes (1..8) of machine memory at offset o, little-endian, into h.ldLo/ldHi. */
function readBytes(h: Hart, o: number, n: number, shift: number): void {
  const mu8 = h.mu8;
  for (let i = 0; i < n; i++) {
    const b = mu8[o + i], k = shift + i;
    if (k < 4) h.ldLo |= b << (8 * k); else h.ldHi |= b << (8 * (k - 4));
  }
}

function writeBytes(h: Hart, o: number, n: number, shift: number, lo: number, hi: number): void {
  const mu8 = h.mu8;
  for (let i = 0; i < n; i++) {
    const k = shift + i;
    mu8[o + i] = k < 4 ? lo >>> (8 * k) : hi >>> (8 * (k - 4));
  }
}

/**
 * Load `size` bytes (1, 2, 4, 8) zero-extended into h.ldLo / h.ldHi. Returns false when a
 * trap was taken or the hart must exit.
 */
export function loadValue(h: Hart, vlo: number, vhi: number, size: number): boolean {
  const ctx = h.dCtx;
  h.ldLo = 0; h.ldHi = 0;
  const pgo = vlo & 4095;
  if (pgo + size <= 4096) {
    const o = xlate(h, vlo, vhi, ACCESS_R, ctx, size);
    if (o === XL_TRAP) return false;
    if (o === XL_MMIO) {
      const pa = h.mmioPa;
      if ((vlo & (size - 1)) !== 0) { memFault(h, ACCESS_R, false, vlo, vhi); return false; }
      if (size === 8) { h.ldLo = h.phys.mmioRead(pa, 4) | 0; h.ldHi = h.phys.mmioRead(pa + 4, 4) | 0; }
      else h.ldLo = h.phys.mmioRead(pa, size) | 0;
      return true;
    }
    if ((vlo & (size - 1)) === 0) {
      // Aligned: one access of its size (single-copy atomic).
      if (size === 8) {
        if (F64_EXACT) { SCRATCH_F64[0] = h.m64[o >> 3]; h.ldLo = SCRATCH_I32[0]; h.ldHi = SCRATCH_I32[1]; }
        else { h.ldLo = h.m32[o >> 2]; h.ldHi = h.m32[(o >> 2) + 1]; }
      } else if (size === 4) h.ldLo = h.m32[o >> 2];
      else if (size === 2) h.ldLo = h.mu16[o >> 1];
      else h.ldLo = h.mu8[o];
      return true;
    }
    readBytes(h, o, size, 0);
    return true;
  }
  // Crosses into the next page: translate both halves first.
  const n1 = 4096 - pgo;
  const o1 = xlate(h, vlo, vhi, ACCESS_R, ctx, n1);
  if (o1 === XL_TRAP) return false;
  if (o1 === XL_MMIO) { memFault(h, ACCESS_R, false, vlo, vhi); return false; }
  const s2 = (vlo >>> 0) + n1;
  const v2lo = s2 | 0, v2hi = (vhi + (s2 >= TWO32 ? 1 : 0)) | 0;
  const o2 = xlate(h, v2lo, v2hi, ACCESS_R, ctx, size - n1);
  if (o2 === XL_TRAP) return false;
  if (o2 === XL_MMIO) { memFault(h, ACCESS_R, false, v2lo, v2hi); return false; }
  readBytes(h, o1, n1, 0);
  readBytes(h, o2, size - n1, n1);
  return true;
}

/** Store the low `size` bytes of (lo, hi). Returns false when a trap was taken / exit. */
export function storeValue(h: Hart, vlo: number, vhi: number, size: number, lo: number, hi: number): boolean {
  const ctx = h.dCtx;
  const pgo = vlo & 4095;
  if (pgo + size <= 4096) {
    const o = xlate(h, vlo, vhi, ACCESS_W, ctx, size);
    if (o === XL_TRAP) return false;
    if (o === XL_MMIO) {
      const pa = h.mmioPa;
      if ((vlo & (size - 1)) !== 0) { memFault(h, ACCESS_W, false, vlo, vhi); return false; }
      if (size === 8) { h.phys.mmioWrite(pa, 4, lo >>> 0); h.phys.mmioWrite(pa + 4, 4, hi >>> 0); }
      else h.phys.mmioWrite(pa, size, size === 4 ? lo >>> 0 : lo & (size === 1 ? 0xff : 0xffff));
      return true;
    }
    if ((vlo & (size - 1)) === 0) {
      if (size === 8) {
        if (F64_EXACT) { SCRATCH_I32[0] = lo; SCRATCH_I32[1] = hi; h.m64[o >> 3] = SCRATCH_F64[0]; }
        else { h.m32[o >> 2] = lo; h.m32[(o >> 2) + 1] = hi; }
      } else if (size === 4) h.m32[o >> 2] = lo;
      else if (size === 2) h.m16[o >> 1] = lo;
      else h.mu8[o] = lo;
      return true;
    }
    writeBytes(h, o, size, 0, lo, hi);
    return true;
  }
  const n1 = 4096 - pgo;
  const o1 = xlate(h, vlo, vhi, ACCESS_W, ctx, n1);
  if (o1 === XL_TRAP) return false;
  if (o1 === XL_MMIO) { memFault(h, ACCESS_W, false, vlo, vhi); return false; }
  const s2 = (vlo >>> 0) + n1;
  const v2lo = s2 | 0, v2hi = (vhi + (s2 >= TWO32 ? 1 : 0)) | 0;
  const o2 = xlate(h, v2lo, v2hi, ACCESS_W, ctx, size - n1);
  if (o2 === XL_TRAP) return false;
  if (o2 === XL_MMIO) { memFault(h, ACCESS_W, false, v2lo, v2hi); return false; }
  writeBytes(h, o1, n1, 0, lo, hi);
  writeBytes(h, o2, size - n1, n1, lo, hi);
  return true;
}

/** Integer load for funct3 (LB..LWU) into x[rd] (rd is 2 * register number). */
export function loadSlow(h: Hart, vlo: number, vhi: number, f3: number, rd: number): boolean {
  const size = 1 << (f3 & 3);
  if (!loadValue(h, vlo, vhi, size)) return false;
  let lo = h.ldLo, hi = h.ldHi;
  switch (f3) {
    case 0: lo = (lo << 24) >> 24; hi = lo >> 31; break;
    case 1: lo = (lo << 16) >> 16; hi = lo >> 31; break;
    case 2: hi = lo >> 31; break;
  }
  h.x[rd] = lo; h.x[rd + 1] = hi;
  return true;
}

/**
 * Fetch the instruction at pc the slow way (TLB miss, page-straddling, MMIO, far pc).
 * Returns the raw bits (16-bit instructions zero-extended); sets h.fetchFault on a trap.
 * Sets h.fPage / h.fOff when the page can be cached for the fast fetch path.
 */
export function fetchSlow(h: Hart, pc: number): number {
  h.fetchFault = false;
  h.fPage = NaN;
  if (h.farPc) {
    // The pc does not fit a double: it is outside every address we can map. Spec: fetch
    // from it is a page fault under translation, an access fault otherwise.
    const paged = h.fCtx !== 3 && (h.s[S.SATP + 1] >>> 28) !== 0;
    takeTrap(h, false, paged ? S.CAUSE_FETCH_PAGE_FAULT : S.CAUSE_FETCH_ACCESS, h.farLo, h.farHi);
    h.fetchFault = true;
    return 0;
  }
  const vlo = pc | 0, vhi = Math.floor(pc / TWO32) | 0;
  const ctx = h.fCtx;
  h.curInsn = 0; h.curLen = 0;
  const o = xlate(h, vlo, vhi, ACCESS_X, ctx, 2);
  if (o === XL_TRAP) { h.fetchFault = true; return 0; }
  let low: number;
  if (o === XL_MMIO) low = h.phys.mmioRead(h.mmioPa, 2) & 0xffff;
  else {
    low = h.mu16[o >> 1];
    const idx = (ctx * 3 + T_FETCH) * TLB_N + ((vlo >>> 12) & TLB_MASK);
    if (h.tlbTag[idx] === vhi * 1048576 + (vlo >>> 12)) { h.fPage = pc - (vlo & 4095); h.fOff = o - (vlo & 4095); }
  }
  if ((low & 3) !== 3) return low;
  if ((vlo & 4095) <= 4092) {
    if (o === XL_MMIO) return (low | (h.phys.mmioRead(h.mmioPa + 2, 2) << 16)) | 0;
    return (low | (h.mu16[(o >> 1) + 1] << 16)) | 0;
  }
  // The upper half is on the next page. A fault there reports that page's address.
  const s2 = (vlo >>> 0) + 2;
  const v2lo = s2 | 0, v2hi = (vhi + (s2 >= TWO32 ? 1 : 0)) | 0;
  const o2 = xlate(h, v2lo, v2hi, ACCESS_X, ctx, 2);
  if (o2 === XL_TRAP) { h.fetchFault = true; return 0; }
  const high = o2 === XL_MMIO ? h.phys.mmioRead(h.mmioPa, 2) & 0xffff : h.mu16[o2 >> 1];
  return (low | (high << 16)) | 0;
}

/** FLW / FLD (f3 2 / 3) into f[rd]. FS has been checked. */
export function fpLoad(h: Hart, vlo: number, vhi: number, f3: number, rd: number): boolean {
  if (!loadValue(h, vlo, vhi, f3 === 2 ? 4 : 8)) return false;
  h.f[rd] = h.ldLo;
  h.f[rd + 1] = f3 === 2 ? -1 : h.ldHi; // Spec: "NaN Boxing of Narrower Values"
  h.fsDirty();
  return true;
}

/** FSW / FSD from f[rs2]. */
export function fpStore(h: Hart, vlo: number, vhi: number, f3: number, rs2: number): boolean {
  return storeValue(h, vlo, vhi, f3 === 2 ? 4 : 8, h.f[rs2], h.f[rs2 + 1]);
}

