// SPDX-License-Identifier: GPL-2.0-only
// A side-effect-free software page walk for the hart's owner: translate a guest-virtual address
// as an S-mode access with sstatus.SUM = 1 and MXR = 0 would be, through the hart's current
// satp (Bare, Sv39, Sv48, Sv57) and its PhysTranslation for the page-table reads. The
// hypervisor uses it for guest handles (docs/abi.md §3 "Guest handles"). Unlike the hart's own
// walk it never traps, never fills the TLB and never sets A/D bits (like Xen's gva_to_ipa on
// ARM, which uses AT and leaves the access flag alone).
// Spec: riscv-priv-20240411 §10.3.2 "Virtual Address Translation Process".
import { ACCESS_R, ACCESS_W, ACCESS_X } from './hart-api.ts';
import * as S from './hart-state.ts';
import type { Hart } from './hart.ts';

/**
 * What the walk reads: the hart state (satp), machine memory as int32 words and a lookup for
 * the page-table pages. A Hart is one; a pCPU worker's view of a vCPU (satp copy plus a shared
 * p2m view) is another.
 */
export type GvaWalker = Pick<Hart, 's' | 'm32'> & { readonly phys: { lookup(gppn: number, access: number): number } };

/** translateGva() result when the address does not translate. */
export const GVA_FAULT = -1;

const TWO32 = 4294967296;
const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16;

/**
 * Guest-physical address of the virtual address (vlo, vhi) (two int32 halves) for one access
 * (ACCESS_R, ACCESS_W or ACCESS_X), or GVA_FAULT. Page-table pages must be RAM that the
 * PhysTranslation lets the guest read.
 */
export function translateGva(h: GvaWalker, vlo: number, vhi: number, access: number): number {
  const s = h.s;
  const mode = s[S.SATP + 1]! >>> 28;
  if (mode === 0) {
    // Bare: the address is physical (below 2^53 for a JS number; RISC-V's have 56 bits, ours fewer).
    if ((vhi >>> 0) >= 0x200000) return GVA_FAULT;
    return (vhi >>> 0) * TWO32 + (vlo >>> 0);
  }
  if (mode < 8 || mode > 10) return GVA_FAULT;
  const levels = mode - 5;
  const top = 12 + 9 * levels - 32;
  const ext = vhi >> (top - 1);
  if (ext !== 0 && ext !== -1) return GVA_FAULT; // not canonical: a page fault on hardware
  const vpnAll = (vhi & 0x1ffffff) * 1048576 + (vlo >>> 12);
  const mem = h.m32;
  let a = ((s[S.SATP + 1]! & 0xfff) * TWO32 + (s[S.SATP]! >>> 0)) * 4096;
  for (let i = levels - 1; i >= 0; i--) {
    const vpn = Math.floor(vpnAll / Math.pow(2, 9 * i)) % 512;
    const pteAddr = a + vpn * 8;
    const off = h.phys.lookup(Math.floor(pteAddr / 4096), ACCESS_R);
    if (off < 0 || off + 4096 > mem.length * 4) return GVA_FAULT;
    const w = (off + (pteAddr % 4096)) >> 2;
    const lo = Atomics.load(mem, w), hi = Atomics.load(mem, w + 1);
    if ((lo & PTE_V) === 0 || (lo & (PTE_R | PTE_W)) === PTE_W || (hi & ~0x3fffff) !== 0) return GVA_FAULT;
    const ppn = (hi & 0x3fffff) * 4194304 + (lo >>> 10);
    if ((lo & (PTE_R | PTE_X)) === 0) {
      a = ppn * 4096;
      continue;
    }
    // Leaf. S-mode with SUM = 1: U pages readable/writable, never executable.
    if ((lo & PTE_U) !== 0 && access === ACCESS_X) return GVA_FAULT;
    if (access === ACCESS_X && (lo & PTE_X) === 0) return GVA_FAULT;
    if (access === ACCESS_R && (lo & PTE_R) === 0) return GVA_FAULT;
    if (access === ACCESS_W && (lo & PTE_W) === 0) return GVA_FAULT;
    const span = Math.pow(2, 9 * i);
    if (i > 0 && ppn % span !== 0) return GVA_FAULT; // misaligned superpage
    return (ppn + (vpnAll % span)) * 4096 + (vlo & 4095);
  }
  return GVA_FAULT;
}
