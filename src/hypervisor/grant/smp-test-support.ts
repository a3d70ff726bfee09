// SPDX-License-Identifier: GPL-2.0-only
// Tests only: what every concurrent GNTTABOP_copy test checks once its workers are done (throws
// an Error naming what is left; no node:assert below host/, tests/arch/layering).
import type { Domain } from '../domain/domain.ts';
import { GTF_reading } from '../public/grant-table.ts';
import type { GrantHost } from './grant-table.ts';

const PAGE = 4096;

/**
 * Copies of grant ref `ref` of `granter` (frame srcMfn) into b's frames `dst` left nothing
 * behind: no active-entry pin or use, no GTF_reading, no frame pin, and each destination holds
 * the source page.
 */
export function assertCopiesSettled(grants: GrantHost, granter: Domain, ref: number, srcMfn: number, b: Domain, dst: readonly number[]): void {
  const ta = grants.get(granter.domid)!, hv = granter.hv;
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(`grant copies not settled: ${what}`);
  };
  check(ta.actPin[ref] === 0, `pins unbalanced (${ta.actPin[ref]})`);
  check(ta.activeCount === 0, `${ta.activeCount} active entries`);
  check((new Int32Array(hv.pool.memory)[ta.entryIndex(ref)]! & GTF_reading) === 0, 'GTF_reading left set');
  check(grants.framePins[srcMfn] === 0, `frame pin left (${grants.framePins[srcMfn]})`);
  const bytes = hv.pool.bytes, src = srcMfn * PAGE;
  for (const g of dst) {
    const d = b.p2m.mfnOf(g) * PAGE;
    for (let i = 0; i < PAGE; i++) check(bytes[d + i] === bytes[src + i], `gfn 0x${g.toString(16)} byte ${i} differs from the source`);
  }
}
