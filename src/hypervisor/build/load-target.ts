// SPDX-License-Identifier: GPL-2.0-only
// A LoadTarget (src/hardware/loader/elf.ts) over a domain's RAM: the ELF loader writes the
// kernel through the domain's p2m into frames the domain owns, never anywhere else.
import type { LoadTarget } from '../../hardware/loader/elf.ts';
import type { Domain } from '../domain/domain.ts';

export class DomainBuildError extends Error {
  constructor(readonly domid: number, message: string) {
    super(`building d${domid}: ${message}`);
    this.name = 'DomainBuildError';
  }
}

export function domainRam(d: Domain, ramBase: number, ramSize: number): LoadTarget {
  const mem = d.hv.pool.bytes;
  const each = (pa: number, len: number, fn: (off: number, done: number, n: number) => void): boolean => {
    let done = 0;
    while (done < len) {
      const a = pa + done;
      const off = d.ownRamOffset(a);
      if (off < 0) return false;
      const n = Math.min(len - done, 4096 - (a % 4096));
      fn(off, done, n);
      done += n;
    }
    return true;
  };
  return {
    ramBase,
    ramSize,
    writePhys: (pa, bytes) => each(pa, bytes.length, (off, done, n) => mem.set(bytes.subarray(done, done + n), off)),
    zeroPhys: (pa, len) => each(pa, len, (off, _d, n) => mem.fill(0, off, off + n)),
  };
}
