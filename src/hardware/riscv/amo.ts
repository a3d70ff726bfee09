// SPDX-License-Identifier: GPL-2.0-only
// The A extension: LR/SC with a reservation and every AMO in .W and .D widths (aq/rl are
// accepted; one hart's accesses are already in program order).
// Spec: riscv-unpriv-20240411 §14 "A" Extension for Atomic Instructions ("Zalrsc", "Zaamo").
// SC succeeds when the reservation is valid for the same word and memory still holds the
// value LR read (a compare-and-swap, as QEMU implements it). .W operations use Atomics on
// the shared memory. .D ones are read-modify-write on two words while every hart runs on one
// thread (the default, deterministic mode); a thread whose harts share memory with harts on
// other threads (pCPU workers, src/host/pcpu-worker.ts) calls setSharedAmo(true) once, and its
// .D AMOs and SC.D then use Atomics on a BigInt64Array view: one 64-bit atomic operation (or a
// compare-and-swap loop for min/max), lock-free, so a preempted thread never blocks another.
// Misaligned addresses raise the address-misaligned exception; AMOs on MMIO raise a store/AMO
// access fault.
import { ACCESS_R as ACCESS_R_, ACCESS_W as ACCESS_W_ } from './hart-api.ts';
import * as HS from './hart-state.ts';
import type { Hart } from './hart.ts';
import { xlate as xlate_ } from './mem-access.ts';
import { F64_EXACT as F64_EXACT_, SCRATCH_F64, SCRATCH_I32 } from './mem64.ts';
import { memFault as memFault_, XL_MMIO as XL_MMIO_, XL_TRAP as XL_TRAP_ } from './mmu.ts';
import { takeTrap as takeTrap_ } from './trap.ts';
// Module-local copies of imports: a loader (tsx) may turn imported bindings into getters.
const ACCESS_R = ACCESS_R_;
const ACCESS_W = ACCESS_W_;
const S = { ...HS };
const xlate = xlate_;
const memFault = memFault_;
const XL_MMIO = XL_MMIO_;
const XL_TRAP = XL_TRAP_;
const takeTrap = takeTrap_;
const F64_EXACT = F64_EXACT_;

/** This thread's harts share memory with harts on other threads: .D AMOs and SC.D go 64-bit atomic. */
let sharedAmo = false;
/** The BigInt64Array view of the machine memory last used by a 64-bit atomic AMO. */
let view64: BigInt64Array | null = null;

/**
 * Per thread (module state is per worker): make .D AMOs and SC.D single 64-bit atomic
 * operations, as harts on other threads may touch the same doubleword at the same time.
 */
export function setSharedAmo(on: boolean): void {
  sharedAmo = on;
}

function big64(h: Hart): BigInt64Array {
  const mem = h.m32.buffer;
  if (view64 === null || view64.buffer !== mem) view64 = new BigInt64Array(mem, 0, mem.byteLength >> 3);
  return view64;
}

const M32 = 0xffffffffn;
const toBig = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo >>> 0);

/** Execute an AMO-major-opcode instruction. Returns false on trap / exit / illegal (raised). */
export function amo(h: Hart, insn: number): boolean {
  const f3 = (insn >> 12) & 7, f5 = insn >>> 27;
  const rd = (insn >> 6) & 62, rs1 = (insn >> 14) & 62, rs2 = (insn >> 19) & 62;
  const x = h.x, s = h.s;
  if (f3 !== 2 && f3 !== 3) return illegal(h, insn);
  const dbl = f3 === 3;
  const vlo = x[rs1], vhi = x[rs1 + 1];
  const isLr = f5 === 0x02;
  if (isLr && rs2 !== 0) return illegal(h, insn);
  if (!isLr && f5 !== 0x03 && f5 !== 0x01 && f5 !== 0x00 && f5 !== 0x04 && f5 !== 0x0c && f5 !== 0x08 &&
    f5 !== 0x10 && f5 !== 0x14 && f5 !== 0x18 && f5 !== 0x1c) return illegal(h, insn);
  const acc = isLr ? ACCESS_R : ACCESS_W;
  if ((vlo & (dbl ? 7 : 3)) !== 0) {
    takeTrap(h, false, isLr ? S.CAUSE_MISALIGNED_LOAD : S.CAUSE_MISALIGNED_STORE, vlo, vhi);
    return false;
  }
  const o = xlate(h, vlo, vhi, acc, h.dCtx, dbl ? 8 : 4);
  if (o === XL_TRAP) return false;
  if (o === XL_MMIO) { memFault(h, acc, false, vlo, vhi); return false; }
  const m = h.m32, w = o >> 2;
  if (isLr) {
    let lo: number, hi: number;
    if (!dbl) { lo = Atomics.load(m, w); hi = lo >> 31; }
    else if (F64_EXACT) { SCRATCH_F64[0] = h.m64[o >> 3]; lo = SCRATCH_I32[0]; hi = SCRATCH_I32[1]; } // single-copy atomic
    else if (sharedAmo) { const v = Atomics.load(big64(h), o >> 3); lo = Number(v & M32) | 0; hi = Number((v >> 32n) & M32) | 0; }
    else { lo = m[w]; hi = m[w + 1]; }
    s[S.RESV_VALID] = 1; s[S.RESV_OFF] = o; s[S.RESV_OFF + 1] = dbl ? 1 : 0;
    s[S.RESV_VAL] = lo; s[S.RESV_VAL + 1] = dbl ? hi : 0;
    x[rd] = lo; x[rd + 1] = hi;
    return true;
  }
  const blo = x[rs2], bhi = x[rs2 + 1];
  if (f5 === 0x03) { // SC
    let ok = s[S.RESV_VALID] === 1 && s[S.RESV_OFF] === o && s[S.RESV_OFF + 1] === (dbl ? 1 : 0);
    s[S.RESV_VALID] = 0;
    if (ok) {
      if (dbl && sharedAmo) {
        const e = toBig(s[S.RESV_VAL], s[S.RESV_VAL + 1]);
        ok = Atomics.compareExchange(big64(h), o >> 3, e, toBig(blo, bhi)) === e;
      } else if (!dbl) ok = Atomics.compareExchange(m, w, s[S.RESV_VAL], blo) === s[S.RESV_VAL];
      else if (m[w] === s[S.RESV_VAL] && m[w + 1] === s[S.RESV_VAL + 1]) { m[w] = blo; m[w + 1] = bhi; }
      else ok = false;
    }
    x[rd] = ok ? 0 : 1; x[rd + 1] = 0;
    return true;
  }
  if (!dbl) {
    let old: number;
    switch (f5) {
      case 0x01: old = Atomics.exchange(m, w, blo); break;
      case 0x00: old = Atomics.add(m, w, blo); break;
      case 0x04: old = Atomics.xor(m, w, blo); break;
      case 0x0c: old = Atomics.and(m, w, blo); break;
      case 0x08: old = Atomics.or(m, w, blo); break;
      default: {
        for (;;) {
          old = Atomics.load(m, w);
          let nv: number;
          if (f5 === 0x10) nv = old < blo ? old : blo;
          else if (f5 === 0x14) nv = old > blo ? old : blo;
          else if (f5 === 0x18) nv = (old >>> 0) < (blo >>> 0) ? old : blo;
          else nv = (old >>> 0) > (blo >>> 0) ? old : blo;
          if (Atomics.compareExchange(m, w, old, nv) === old) break;
        }
      }
    }
    x[rd] = old; x[rd + 1] = old >> 31;
    return true;
  }
  if (sharedAmo) return amo64Atomic(h, f5, o >> 3, blo, bhi, rd);
  const alo = m[w], ahi = m[w + 1];
  let nlo = blo, nhi = bhi;
  switch (f5) {
    case 0x00: { const sum = (alo >>> 0) + (blo >>> 0); nlo = sum | 0; nhi = (ahi + bhi + (sum > 0xffffffff ? 1 : 0)) | 0; break; }
    case 0x04: nlo = alo ^ blo; nhi = ahi ^ bhi; break;
    case 0x0c: nlo = alo & blo; nhi = ahi & bhi; break;
    case 0x08: nlo = alo | blo; nhi = ahi | bhi; break;
    case 0x10: case 0x14: case 0x18: case 0x1c: {
      const unsigned = f5 >= 0x18;
      const ah = unsigned ? ahi >>> 0 : ahi, bh = unsigned ? bhi >>> 0 : bhi;
      const less = ah < bh || (ahi === bhi && (alo >>> 0) < (blo >>> 0));
      const takeA = (f5 === 0x10 || f5 === 0x18) ? less : !less;
      if (takeA) { nlo = alo; nhi = ahi; }
      break;
    }
  }
  m[w] = nlo; m[w + 1] = nhi;
  x[rd] = alo; x[rd + 1] = ahi;
  return true;
}

/**
 * A .D AMO as one atomic operation on the 64-bit word `i` of machine memory (threaded harts).
 * Spec: riscv-unpriv-20240411 §14.4 "Atomic Memory Operations": the read-modify-write is atomic
 * with respect to every other hart's accesses to that doubleword.
 */
function amo64Atomic(h: Hart, f5: number, i: number, blo: number, bhi: number, rd: number): boolean {
  const v = big64(h), b = toBig(blo, bhi);
  let old: bigint;
  switch (f5) {
    case 0x01: old = Atomics.exchange(v, i, b); break;
    case 0x00: old = Atomics.add(v, i, b); break;
    case 0x04: old = Atomics.xor(v, i, b); break;
    case 0x0c: old = Atomics.and(v, i, b); break;
    case 0x08: old = Atomics.or(v, i, b); break;
    default: {
      const unsigned = f5 >= 0x18, bu = BigInt.asUintN(64, b);
      for (;;) {
        old = Atomics.load(v, i);
        const less = unsigned ? BigInt.asUintN(64, old) < bu : old < b;
        const takeOld = (f5 === 0x10 || f5 === 0x18) ? less : !less && old !== b;
        if (takeOld || old === b) break;
        if (Atomics.compareExchange(v, i, old, b) === old) break;
      }
    }
  }
  h.x[rd] = Number(old & M32) | 0; h.x[rd + 1] = Number((old >> 32n) & M32) | 0;
  return true;
}

function illegal(h: Hart, insn: number): boolean {
  takeTrap(h, false, S.CAUSE_ILLEGAL_INSN, insn, 0);
  return false;
}
