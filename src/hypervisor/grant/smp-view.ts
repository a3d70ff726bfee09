// SPDX-License-Identifier: GPL-2.0-only
// A pCPU worker's view of the host's grant tables (issue 7): the frame pool, frame pins, lock
// arena and tables are the host's own shared memory, so the worker runs the real GrantTable
// code (GNTTABOP_copy: read lock, active-entry locks, GTF_reading/writing, pins) on them.
// Limit: the core's P2m keeps its leaves in per-thread Maps, so the view carries a replica of
// the p2m entries it is given (the granted GFNs); a worker design with a shared p2m removes it.
import type { EvtchnDomain } from '../event/types.ts';
import { FramePool } from '../mm/frame-pool.ts';
import { P2m } from '../mm/p2m.ts';
import { GrantHost, type GrantHostShared, type GrantTableShared } from './grant-table.ts';

export interface GrantSmpDomain { domid: number; table: GrantTableShared; p2m: Array<[gfn: number, mfn: number, type: number]> }
export interface GrantSmpDesc { nrFrames: number; memory: SharedArrayBuffer; owner: Int32Array; maxGrantFrames: number; host: GrantHostShared; domains: GrantSmpDomain[] }

/** Describe `domids`' tables for a worker; `gfns(domid)` are the p2m entries it may need (granted frames). */
export function grantSmpDesc(host: GrantHost, domids: number[], gfns: (domid: number) => number[]): GrantSmpDesc {
  const pool = host.lookup.pool;
  return {
    nrFrames: pool.nrFrames, memory: pool.memory, owner: pool.owner, maxGrantFrames: host.maxGrantFrames, host: host.shared,
    domains: domids.map((domid) => {
      const t = host.get(domid);
      const p2m = host.lookup.domain(domid)?.p2m;
      if (t === undefined || p2m === undefined || p2m === null) throw new Error(`gnttab smp: d${domid} has no table or p2m`);
      return { domid, table: t.shared, p2m: gfns(domid).map((g) => [g, p2m.mfnOf(g), p2m.typeOf(g)] as [number, number, number]) };
    }),
  };
}

/** Rebuild the host's grant tables in this thread over the same shared memory. */
export function attachGrantView(desc: GrantSmpDesc): GrantHost {
  const pool = new FramePool(desc.nrFrames, { memory: desc.memory, owner: desc.owner });
  const doms = new Map<number, EvtchnDomain>();
  const host = new GrantHost({ pool, domain: (id) => doms.get(id) }, desc.maxGrantFrames, desc.host);
  for (const d of desc.domains) {
    const p2m = new P2m(pool);
    for (const [gfn, mfn, type] of d.p2m) p2m.set(gfn, mfn, type);
    const view: EvtchnDomain = { domid: d.domid, vcpus: [], sharedInfoOffset: -1, p2m, isPrivileged: false, isDying: false };
    doms.set(d.domid, view);
    host.attach(view, d.table);
  }
  return host;
}
