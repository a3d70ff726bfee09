// SPDX-License-Identifier: GPL-2.0-only
// Bounded copies between guest-physical memory and hypervisor buffers, page by page through the
// guest's PhysTranslation (so the p2m sees every access: permissions, dirty logging for
// migration, mem_access). A range is all-or-nothing: every page is checked before a byte moves.
// MMIO pages are refused: SBI shared memory must be RAM.

import { ACCESS_R, ACCESS_W, PHYS_FAULT, type PhysTranslation } from '../../hardware/riscv/hart-api.ts';

const PAGE = 4096;
/** Addresses at or beyond 2^53 are not physical addresses (RISC-V's are at most 56 bits, ours < 2^53). */
const MAX_PA = 2 ** 53;

export class GuestMemory {
  private bytes: Uint8Array | undefined;

  /**
   * `resolveFault`, if given, is asked once per faulting page (the p2m fault handler:
   * log-dirty, populate-on-demand); the lookup is retried when it returns true.
   */
  constructor(
    private readonly phys: PhysTranslation,
    private readonly resolveFault?: (gppn: number, access: number) => boolean,
  ) {}

  private lookup(page: number, access: number): number {
    let off = this.phys.lookup(page, access);
    if (off === PHYS_FAULT && this.resolveFault !== undefined && this.resolveFault(page, access)) {
      off = this.phys.lookup(page, access);
    }
    return off;
  }

  private view(): Uint8Array {
    if (this.bytes === undefined || this.bytes.buffer !== this.phys.memory) this.bytes = new Uint8Array(this.phys.memory);
    return this.bytes;
  }

  /** True when [pa, pa + len) is RAM the guest may access with `access` (ACCESS_R or ACCESS_W). */
  check(pa: number, len: number, access: number): boolean {
    if (!(pa >= 0 && len >= 0 && pa + len <= MAX_PA)) return false;
    if (len === 0) return true;
    const limit = this.view().length;
    const last = Math.floor((pa + len - 1) / PAGE);
    for (let page = Math.floor(pa / PAGE); page <= last; page++) {
      const off = this.lookup(page, access);
      // A negative result is PHYS_MMIO or PHYS_FAULT; an offset past the pool would be a p2m bug,
      // but a guest must not be able to turn it into a host exception.
      if (off < 0 || off + PAGE > limit) return false;
    }
    return true;
  }

  /** Copy guest [pa, pa + into.length) into `into`. False (and nothing copied) if any page is not readable RAM. */
  read(pa: number, into: Uint8Array): boolean {
    if (!this.check(pa, into.length, ACCESS_R)) return false;
    const mem = this.view();
    let done = 0;
    while (done < into.length) {
      const a = pa + done;
      const inPage = a % PAGE;
      const n = Math.min(PAGE - inPage, into.length - done);
      const off = this.lookup(Math.floor(a / PAGE), ACCESS_R) + inPage;
      into.set(mem.subarray(off, off + n), done);
      done += n;
    }
    return true;
  }

  /** Copy `from` to guest [pa, pa + from.length). False (and nothing written) if any page is not writable RAM. */
  write(pa: number, from: Uint8Array): boolean {
    if (!this.check(pa, from.length, ACCESS_W)) return false;
    const mem = this.view();
    let done = 0;
    while (done < from.length) {
      const a = pa + done;
      const inPage = a % PAGE;
      const n = Math.min(PAGE - inPage, from.length - done);
      const off = this.lookup(Math.floor(a / PAGE), ACCESS_W) + inPage;
      mem.set(from.subarray(done, done + n), off);
      done += n;
    }
    return true;
  }
}
