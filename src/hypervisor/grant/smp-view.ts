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

/**
 * One domain for a worker's view. `instance` is the domain's event-channel instance
 * (EventHost.directory): with a directory, the view answers for the domid only while that
 * instance is live (a domid is reused after destruction); absent, while the domid is live at all.
 */
export interface GrantSmpDomain { domid: number; table: GrantTableShared; p2m: P2mShare; instance?: number }
export interface GrantSmpDesc { nrFrames: number; memory: SharedArrayBuffer; owner: Int32Array; maxGrantFrames: number; host: GrantHostShared; domains: GrantSmpDomain[] }

/** Grant copy touches RAM only (__get_paged_frame); emulated MMIO has no device model on a pCPU thread. */
const NO_DEVICE_MODEL = {
  read(pa: number): number { throw new Error(`gnttab smp: MMIO read at ${pa.toString(16)} on a pCPU thread`); },
  write(pa: number): void { throw new Error(`gnttab smp: MMIO write at ${pa.toString(16)} on a pCPU thread`); },
};

/**
 * One domain's table and p2m for a worker, or null when it has none to share (dom0: the host
 * process has no guest-physical space; copies that involve it stay the main thread's).
 * A table never replaces its buffers: they are sized for maxFrames at creation and growing
 * (gnttab_grow_table) only fills `frames` and the shared nr_frames word, so one description
 * stays valid for the table's life.
 */
export function grantSmpDomain(host: GrantHost, domid: number, instance?: number): GrantSmpDomain | null {
  const t = host.get(domid);
  const p2m = host.lookup.domain(domid)?.p2m;
  if (t === undefined || !(p2m instanceof P2m)) return null;
  return instance === undefined ? { domid, table: t.shared, p2m: p2m.share() } : { domid, table: t.shared, p2m: p2m.share(), instance };
}

/**
 * Describe `domids`' tables and p2ms for a worker (structured-clone-able: SABs and numbers).
 * `_gfns` is ignored: it named the p2m entries to replicate before the p2m was shared; kept so
 * callers written for the replica still compile.
 */
export function grantSmpDesc(host: GrantHost, domids: number[], _gfns?: (domid: number) => number[]): GrantSmpDesc {
  const pool = host.lookup.pool;
  return {
    nrFrames: pool.nrFrames, memory: pool.memory, owner: pool.owner, maxGrantFrames: host.maxGrantFrames, host: host.shared,
    domains: domids.map((domid) => grantSmpDomain(host, domid) ?? (() => { throw new Error(`gnttab smp: d${domid} has no table or p2m`); })()),
  };
}

/** Thrown by a GrantView's domain lookup for a live domain it has no (current) description of: the answer is the main thread's. */
export const GRANT_VIEW_MISS: unique symbol = Symbol('grant view miss');

/**
 * A worker's grant tables over the host's shared memory: domains come with the description and
 * later with add() (a domain created after the worker started), and go with drop(). With the
 * host's EventHost.directory, a lookup of a domid that is gone answers "no such domain" (the
 * main thread would: GNTST_bad_domain), and one of a live domid this view does not know (yet),
 * or knows an older instance of, throws GRANT_VIEW_MISS before anything changed, so the
 * caller hands the call to the main thread instead of answering it wrongly.
 */
export class GrantView {
  readonly host: GrantHost;
  private readonly doms = new Map<number, { view: EvtchnDomain; instance: number }>();
  constructor(private readonly desc: GrantSmpDesc, private readonly directory?: Int32Array) {
    const pool = new FramePool(desc.nrFrames, { memory: desc.memory, owner: desc.owner });
    this.host = new GrantHost({ pool, domain: (id) => this.domain(id) }, desc.maxGrantFrames, desc.host);
    for (const d of desc.domains) this.add(d);
  }
  /** Domain `d` (new, or a reused domid's new instance: replaces the old one). */
  add(d: GrantSmpDomain): void {
    const p2m = new P2mView(d.p2m, this.desc.memory, NO_DEVICE_MODEL);
    const view: EvtchnDomain = { domid: d.domid, vcpus: [], sharedInfoOffset: -1, p2m, isPrivileged: false, isDying: false };
    this.doms.set(d.domid, { view, instance: d.instance ?? 0 });
    this.host.tables.delete(d.domid);
    this.host.attach(view, d.table);
  }
  drop(domid: number): void {
    this.doms.delete(domid);
    this.host.tables.delete(domid);
  }
  /** Does this view know domid (any instance)? */
  has(domid: number): boolean {
    return this.doms.has(domid);
  }
  private domain(id: number): EvtchnDomain | undefined {
    const e = this.doms.get(id), dir = this.directory;
    if (dir === undefined) return e?.view;
    const live = id >= 0 && id < dir.length ? Atomics.load(dir, id) : 0;
    if (live === 0) return undefined;
    if (e !== undefined && (e.instance === 0 || e.instance === live)) return e.view;
    throw GRANT_VIEW_MISS;
  }
}

/** Rebuild the host's grant tables in this thread over the same shared memory. */
export function attachGrantView(desc: GrantSmpDesc): GrantHost {
  return new GrantView(desc).host;
}
