// SPDX-License-Identifier: GPL-2.0-only
// Guest handles (docs/abi.md §3, docs/design/hypervisor.md §3): copy_from_guest/copy_to_guest
// for a vCPU. A handle is a guest-virtual address of the calling vCPU, translated as an S-mode
// access with SUM = 1 through its satp (translateGva) and then through the domain's p2m, RAM
// only. Each page is translated on its own; a copy is all-or-nothing: every page is checked
// before a byte moves, and any failure is -EFAULT for the caller.
// Xen: xen/arch/arm/guestcopy.c (raw_copy_to_guest: translate_get_page per page)
import { ACCESS_R, ACCESS_W } from '../../hardware/riscv/hart-api.ts';
import { GVA_FAULT, translateGva } from '../../hardware/riscv/gva.ts';
import type { Vcpu } from '../domain/vcpu.ts';
import { P2M_GRANT_RW, P2M_RAM_RO, P2M_RAM_RW, P2M_GRANT_RO, type P2m } from '../mm/p2m.ts';

const PAGE = 4096;
const TWO32 = 4294967296;
/** Longest single copy a handler asks for (bounded so a hostile length cannot allocate much). */
export const MAX_COPY = 1 << 20;

/** Machine offset of guest-physical page `gfn` for an access, RAM (or granted RAM) only; -1 otherwise. */
export function ramOffset(p2m: P2m, gfn: number, access: number): number {
  const t = p2m.typeOf(gfn);
  if (t !== P2M_RAM_RW && t !== P2M_RAM_RO && t !== P2M_GRANT_RW && t !== P2M_GRANT_RO) return -1;
  const off = p2m.lookup(gfn, access);
  return off >= 0 && off + PAGE <= p2m.memory.byteLength ? off : -1;
}

export class GuestAccess {
  /** Machine offsets of the pages of the range being copied (reused). */
  private readonly offs: number[] = [];

  constructor(private readonly vcpu: Vcpu) {}

  /**
   * Translate [va, va + len) (va as int32 halves) for an access; fills this.offs with the
   * machine offset of each page's first byte of the range. False if any page fails.
   */
  private walk(vlo: number, vhi: number, len: number, access: number): boolean {
    const offs = this.offs;
    offs.length = 0;
    if (len === 0) return true;
    const h = this.vcpu.hart, p2m = this.vcpu.domain.p2m;
    let lo = vlo >>> 0, hi = vhi >>> 0, left = len;
    while (left > 0) {
      const gpa = translateGva(h, lo | 0, hi | 0, access);
      if (gpa === GVA_FAULT) return false;
      const off = ramOffset(p2m, Math.floor(gpa / PAGE), access);
      if (off < 0) return false;
      offs.push(off + (gpa % PAGE));
      const n = Math.min(left, PAGE - (lo % PAGE));
      left -= n;
      lo += n;
      if (lo >= TWO32) { lo -= TWO32; hi = (hi + 1) >>> 0; if (hi === 0 && left > 0) return false; }
    }
    return true;
  }

  /** Read `len` bytes at guest-virtual (vlo, vhi); null (-EFAULT) if any page does not translate. */
  copyFrom(vlo: number, vhi: number, len: number): Uint8Array | null {
    if (!(len >= 0 && len <= MAX_COPY)) return null;
    if (!this.walk(vlo, vhi, len, ACCESS_R)) return null;
    const out = new Uint8Array(len);
    const mem = this.vcpu.domain.hv.pool.bytes;
    let done = 0;
    for (let i = 0; i < this.offs.length; i++) {
      const off = this.offs[i]!;
      const n = Math.min(len - done, PAGE - (off % PAGE));
      out.set(mem.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /** Write `bytes` at guest-virtual (vlo, vhi); false (-EFAULT, nothing written) if any page fails. */
  copyTo(vlo: number, vhi: number, bytes: Uint8Array): boolean {
    if (bytes.length > MAX_COPY) return false;
    if (!this.walk(vlo, vhi, bytes.length, ACCESS_W)) return false;
    const mem = this.vcpu.domain.hv.pool.bytes;
    let done = 0;
    for (let i = 0; i < this.offs.length; i++) {
      const off = this.offs[i]!;
      const n = Math.min(bytes.length - done, PAGE - (off % PAGE));
      mem.set(bytes.subarray(done, done + n), off);
      done += n;
    }
    return true;
  }

  /** True when the whole range is accessible (Xen's guest_handle_okay). */
  okay(vlo: number, vhi: number, len: number, access: number): boolean {
    return this.walk(vlo, vhi, len, access);
  }
}

/** (lo, hi) + byte offset, as int32 halves: for element i of a guest array. */
export function gvaAdd(lo: number, hi: number, add: number): [number, number] {
  const s = (lo >>> 0) + add;
  const carry = Math.floor(s / TWO32);
  return [(s % TWO32) | 0, (hi + carry) | 0];
}
