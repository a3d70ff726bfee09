// SPDX-License-Identifier: GPL-2.0-only
// Wires event channels and grant tables into the core (src/hypervisor/xen.ts): a structural
// view of each Domain/Vcpu (event/types.ts), domain.evtchn / domain.gnttab attached when a
// domain is created (domain/hooks.ts), and hypercalls 32 (event_channel_op) and 20
// (grant_table_op) registered in the patchable table.
import type { Domain } from '../domain/domain.ts';
import { BLOCK_POLL, type Vcpu } from '../domain/vcpu.ts';
import { GrantHost } from '../grant/grant-table.ts';
import { grantElementSize, grantTableOp } from '../grant/hypercall.ts';
import { hypercallContinuation, PREEMPT_BATCH } from '../hypercall/table.ts';
import type { P2m } from '../mm/p2m.ts';
import { HYPERVISOR_event_channel_op, HYPERVISOR_grant_table_op } from '../public/xen.ts';
import type { Hypervisor } from '../xen.ts';
import { EventChannels, EventHost } from './event-channels.ts';
import { eventChannelOp } from './hypercall.ts';
import { gvaAdd, type DomainLookup, type EvtchnDomain, type EvtchnVcpu, type GuestCopy } from './types.ts';

class VcpuView implements EvtchnVcpu {
  constructor(private readonly v: Vcpu) {}
  get id(): number {
    return this.v.id;
  }
  get vcpuInfoOffset(): number {
    return this.v.vcpuInfoOff;
  }
  kick(): void {
    this.v.domain.hv.kick(this.v);
  }
}

class DomainView implements EvtchnDomain {
  private views: VcpuView[] = [];
  constructor(readonly dom: Domain) {}
  get domid(): number {
    return this.dom.domid;
  }
  get vcpus(): ReadonlyArray<EvtchnVcpu | undefined> {
    const vs = this.dom.vcpus;
    while (this.views.length < vs.length) this.views.push(new VcpuView(vs[this.views.length]!));
    return this.views;
  }
  get sharedInfoOffset(): number {
    return this.dom.sharedInfoMfn >= 0 ? this.dom.sharedInfoMfn * 4096 : -1;
  }
  /** dom0 is the host process: no guest-physical space (its backends use dev_bus_addr). */
  get p2m(): P2m | null {
    return this.dom.domid === 0 ? null : this.dom.p2m;
  }
  get isPrivileged(): boolean {
    return this.dom.privileged;
  }
  get isDying(): boolean {
    return this.dom.state === 'dying' || this.dom.state === 'destroyed';
  }
  /** Hypervisor.softResetDomain runs the destroy hooks of a shut-down domain; teardown of a failed build or a destroy does not. */
  get softResetting(): boolean {
    return this.dom.state === 'shutdown';
  }
  get controllerPaused(): boolean {
    return this.dom.pauseCount > 0;
  }
}

const GUEST: GuestCopy<Vcpu> = {
  copyFromGuest: (v, lo, hi, len) => v.guest.copyFrom(lo, hi, len),
  copyToGuest: (v, lo, hi, bytes) => v.guest.copyTo(lo, hi, bytes),
};

export interface EvtchnGnttab {
  events: EventHost;
  grants: GrantHost;
  view(d: Domain): EvtchnDomain;
  channels(d: Domain): EventChannels;
}

const attached = new WeakMap<Hypervisor, EvtchnGnttab>();

/** Attach event channels and grant tables to `hv` (dom0 now, every later domain at creation); once per hypervisor. */
export function attachEvtchnGnttab(hv: Hypervisor): EvtchnGnttab {
  const done = attached.get(hv);
  if (done !== undefined) return done;
  const views = new Map<number, DomainView>();
  const lookup: DomainLookup = {
    pool: hv.pool,
    domain: (id) => (hv.domains.has(id) ? views.get(id) : undefined),
  };
  const events = new EventHost(lookup);
  const grants = new GrantHost(lookup);
  const attach = (d: Domain): void => {
    const view = new DomainView(d);
    views.set(d.domid, view);
    const ec = events.create(view); // max_event_channels: the default 1023 (the config has no such key yet)
    // evtchn_check_pollers: a vCPU in SCHEDOP_poll re-checks its ports when one turns pending.
    ec.onPending = () => {
      for (const v of d.vcpus) if (v.blocked === BLOCK_POLL) hv.kick(v);
    };
    d.evtchn = ec;
    d.gnttab = grants.create(view);
  };
  for (const d of hv.domains.values()) attach(d);
  hv.createdHooks.push(attach);
  const viewOf = (d: Domain): DomainView => views.get(d.domid) ?? (() => { throw new Error(`evtchn: d${d.domid} not attached`); })();
  hv.hypercalls.register(HYPERVISOR_event_channel_op, (v, a) => eventChannelOp(events, GUEST, viewOf(v.domain), v, a.u32(0), a.lo(1), a.hi(1)));
  hv.hypercalls.register(HYPERVISOR_grant_table_op, (v, a) => {
    const rc = grantTableOp(grants, GUEST, viewOf(v.domain), v, a.u32(0), a.lo(1), a.hi(1), a.u32(2), PREEMPT_BATCH);
    if (rc <= 0) return rc;
    // Preempted after rc elements: continue with the rest (Xen's hypercall_create_continuation).
    const [lo, hi] = gvaAdd(a.lo(1), a.hi(1), rc * grantElementSize(a.u32(0)));
    a.set(1, lo, hi);
    a.setNum(2, a.u32(2) - rc);
    return hypercallContinuation(v);
  });
  const x: EvtchnGnttab = {
    events,
    grants,
    view: viewOf,
    channels: (d) => events.get(d.domid) ?? (() => { throw new Error(`evtchn: d${d.domid} has no event channels`); })(),
  };
  attached.set(hv, x);
  return x;
}
