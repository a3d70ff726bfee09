// SPDX-License-Identifier: GPL-2.0-only
// A pCPU worker's view of the host's grant tables (issue 7): the frame pool, frame pins, lock
// arena, tables and p2m leaves are the host's own shared memory, so the worker runs the real
// GrantTable code (GNTTABOP_copy: read lock, active-entry locks, GTF_reading/writing, pins) on
// them. Each domain's p2m is a P2mView of the live p2m (mm/p2m-view.ts): the worker sees
// the main thread's later mappings and never writes one (a p2m change is the main thread's).
import type { EvtchnDomain } from '../event/types.ts';
import { FramePool } from '../mm/frame-pool.ts';
import { P2m, type P2mShare } from '../mm/p2m.ts';
import { P2mView } from '../mm/p2m-view.ts';
import { GrantHost, type GrantHostShared, type GrantTableShared } from './grant-table.ts';

export interface GrantSmpDomain { domid: number; table: GrantTableShared; p2m: P2mShare }
export interface GrantSmpDesc { nrFrames: number; memory: SharedArrayBuffer; owner: Int32Array; maxGrantFrames: number; host: GrantHostShared; domains: GrantSmpDomain[] }

/** Grant copy touches RAM only (__get_paged_frame); emulated MMIO has no device model on a pCPU thread. */
const NO_DEVICE_MODEL = {
  read(pa: number): number { throw new Error(`gnttab smp: MMIO read at ${pa.toString(16)} on a pCPU thread`); },
  write(pa: number): void { throw new Error(`gnttab smp: MMIO write at ${pa.toString(16)} on a pCPU thread`); },
};

/**
 * Describe `domids`' tables and p2ms for a worker (structured-clone-able: SABs and numbers).
 * `_gfns` is ignored: it named the p2m entries to replicate before the p2m was shared; kept so
 * callers written for the replica still compile.
 */
export function grantSmpDesc(host: GrantHost, domids: number[], _gfns?: (domid: number) => number[]): GrantSmpDesc {
  const pool = host.lookup.pool;
  return {
    nrFrames: pool.nrFrames, memory: pool.memory, owner: pool.owner, maxGrantFrames: host.maxGrantFrames, host: host.shared,
    domains: domids.map((domid) => {
      const t = host.get(domid);
      const p2m = host.lookup.domain(domid)?.p2m;
      if (t === undefined || !(p2m instanceof P2m)) throw new Error(`gnttab smp: d${domid} has no table or p2m`);
      return { domid, table: t.shared, p2m: p2m.share() };
    }),
  };
}

/** Rebuild the host's grant tables in this thread over the same shared memory. */
export function attachGrantView(desc: GrantSmpDesc): GrantHost {
  const pool = new FramePool(desc.nrFrames, { memory: desc.memory, owner: desc.owner });
  const doms = new Map<number, EvtchnDomain>();
  const host = new GrantHost({ pool, domain: (id) => doms.get(id) }, desc.maxGrantFrames, desc.host);
  for (const d of desc.domains) {
    const p2m = new P2mView(d.p2m, desc.memory, NO_DEVICE_MODEL);
    const view: EvtchnDomain = { domid: d.domid, vcpus: [], sharedInfoOffset: -1, p2m, isPrivileged: false, isDying: false };
    doms.set(d.domid, view);
    host.attach(view, d.table);
  }
  return host;
}
