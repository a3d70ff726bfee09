// SPDX-License-Identifier: GPL-2.0-only
// Event channels per Xen 4.7 (xen/common/event_channel.c, public/event_channel.h): the port
// table of each domain and the operations on it, with Xen's errno for every bad argument.
// Port state lives in Int32Arrays over SharedArrayBuffers (4 words a port) so issue 7's pCPU
// workers can run send/unmask on it; delivery is the 2-level ABI of two-level.ts.
//
// Lock order when two domains are involved (bind_interdomain, close, send): the lower domid's
// event lock first, as Xen orders by domain pointer. Single-threaded today; the order is
// documented in docs/design/evtchn-gnttab.md for issue 7.
import { EINVAL, ENOENT, ENOSPC, EPERM, ESRCH, EEXIST } from '../public/errno.ts';
import {
  DEFAULT_MAX_EVENT_CHANNELS, EVTCHN_2L_NR_CHANNELS, EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_ipi,
  EVTCHNSTAT_unbound, EVTCHNSTAT_virq, SHINFO_SIZE,
} from '../public/event-channel.ts';
import { DOMID_SELF, NR_VIRQS, VIRQ_DEBUG, VIRQ_TIMER, VIRQ_XENOPROF, VIRQ_XENPMU } from '../public/xen.ts';
import { clearPending2l, isMasked2l, isPending2l, setPending2l, unmask2l } from './two-level.ts';
import type { DomainLookup, EvtchnDomain } from './types.ts';

// Port states (Xen's ECS_*; internal, status() maps them to EVTCHNSTAT_*).
export const ECS_FREE = 0;
export const ECS_RESERVED = 1;
export const ECS_UNBOUND = 2;
export const ECS_INTERDOMAIN = 3;
export const ECS_PIRQ = 4;
export const ECS_VIRQ = 5;
export const ECS_IPI = 6;

// Words of a port in `ports` (stride 4). [HV] all of them.
const F_STATE = 0;
const F_VCPU = 1; // notify_vcpu_id
const F_RDOM = 2; // unbound: remote domid allowed to bind; interdomain: remote domid
const F_RPORT = 3; // interdomain: remote port; virq: the virq number
const STRIDE = 4;
/** Ports are made valid in buckets, as Xen allocates struct evtchn buckets (EVTCHNS_PER_BUCKET). */
export const EVTCHNS_PER_BUCKET = 64;

/** Per-vCPU VIRQs (xen/common/event_channel.c virq_is_global); every other VIRQ is global (bound on vCPU 0). */
export function virqIsGlobal(virq: number): boolean {
  return !(virq === VIRQ_TIMER || virq === VIRQ_DEBUG || virq === VIRQ_XENOPROF || virq === VIRQ_XENPMU);
}

export interface EvtchnStatus {
  status: number;
  vcpu: number;
  /** unbound: the domain that may bind; interdomain: the peer domain; else 0. */
  dom: number;
  /** interdomain: the peer port; virq: the VIRQ; else 0. */
  port: number;
}

/** All domains' event channels on a host: the lookup for remote domains. */
export class EventHost {
  private readonly byDomid = new Map<number, EventChannels>();
  constructor(readonly lookup: DomainLookup) {}

  /** Create a domain's event channels (at domain creation; port 0 is reserved as in Xen). */
  create(d: EvtchnDomain, maxEventChannels = DEFAULT_MAX_EVENT_CHANNELS): EventChannels {
    if (this.byDomid.has(d.domid)) throw new Error(`evtchn: domain ${d.domid} already has event channels`);
    const ec = new EventChannels(this, d, maxEventChannels);
    this.byDomid.set(d.domid, ec);
    return ec;
  }
  get(domid: number): EventChannels | undefined {
    return this.byDomid.get(domid);
  }
  /** Domain destruction (evtchn_destroy): close every port, peers return to unbound. */
  destroy(domid: number): void {
    const ec = this.byDomid.get(domid);
    if (!ec) return;
    ec.closeAll();
    this.byDomid.delete(domid);
  }
}

export class EventChannels {
  /** Port state, STRIDE words a port, over shared memory. */
  readonly ports: Int32Array;
  /** VIRQ → port per vCPU (vcpu * NR_VIRQS + virq); 0 = unbound. */
  virqToPort: Int32Array;
  /** Ports below this are valid (allocated buckets), as Xen's d->valid_evtchns. */
  validPorts = 0;
  /** The largest port the domain may use (max_event_channels, d->max_evtchn_port). */
  maxPort: number;
  /** Int32 view holding shared_info, and shared_info's int32 index in it (see bitmaps()). */
  mem: Int32Array;
  si = 0;
  /** The shared_info offset mem/si were derived from (-2: not yet). */
  private siOffset = -2;
  private readonly poolMem: Int32Array;
  /** dom0 (the host process) has no shared_info: its bitmaps are private shared memory. */
  private readonly privateMem = new Int32Array(new SharedArrayBuffer(SHINFO_SIZE));
  /**
   * Called after a port became pending (for SCHEDOP_poll wakeups and, for dom0, the host
   * process's backends, which have no vcpu_info to be kicked through).
   */
  onPending: ((port: number) => void) | null = null;

  constructor(readonly host: EventHost, readonly d: EvtchnDomain, maxEventChannels: number) {
    this.ports = new Int32Array(new SharedArrayBuffer(EVTCHN_2L_NR_CHANNELS * STRIDE * 4));
    this.virqToPort = new Int32Array(new SharedArrayBuffer(Math.max(1, d.vcpus.length) * NR_VIRQS * 4));
    this.maxPort = Math.min(Math.max(0, maxEventChannels | 0), EVTCHN_2L_NR_CHANNELS - 1);
    this.poolMem = new Int32Array(host.lookup.pool.memory);
    this.mem = this.privateMem;
    this.bitmaps();
    this.validPorts = EVTCHNS_PER_BUCKET;
    this.ports[0 * STRIDE + F_STATE] = ECS_RESERVED; // evtchn_init: port 0 is never handed out
  }

  // ─── helpers ───────────────────────────────────────────────────────────────────────
  /**
   * Follow the domain's shared_info (the builder places it after the domain is created). A
   * domain without one (dom0) uses private bitmaps; so does a guest until it has one.
   */
  bitmaps(): void {
    const off = this.d.sharedInfoOffset;
    if (off === this.siOffset) return;
    if (off >= 0 && off % 4096 !== 0) throw new Error(`evtchn: shared_info offset ${off} is not a frame`);
    this.siOffset = off;
    this.mem = off >= 0 ? this.poolMem : this.privateMem;
    this.si = off >= 0 ? off >> 2 : 0;
  }
  portIsValid(port: number): boolean {
    return Number.isInteger(port) && port >= 0 && port < this.validPorts;
  }
  state(port: number): number {
    return this.portIsValid(port) ? this.ports[port * STRIDE + F_STATE] : ECS_FREE;
  }
  private vcpuExists(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.d.vcpus.length && this.d.vcpus[id] !== undefined;
  }
  private vi(vcpuId: number): number {
    const v = this.d.vcpus[vcpuId];
    return v === undefined || v.vcpuInfoOffset < 0 ? -1 : v.vcpuInfoOffset >> 2;
  }

  /** get_free_port: the lowest free port, growing the valid range a bucket at a time. */
  private getFreePort(): number {
    if (this.d.isDying) return -EINVAL;
    let port = 0;
    for (; port < this.validPorts; port++) {
      if (port > this.maxPort) return -ENOSPC;
      if (this.ports[port * STRIDE + F_STATE] === ECS_FREE) return port;
    }
    if (port >= EVTCHN_2L_NR_CHANNELS || port > this.maxPort) return -ENOSPC;
    this.validPorts = Math.min(EVTCHN_2L_NR_CHANNELS, this.validPorts + EVTCHNS_PER_BUCKET);
    return port;
  }

  private setState(port: number, state: number, vcpu: number, rdom: number, rport: number): void {
    const b = port * STRIDE;
    this.ports[b + F_RDOM] = rdom;
    this.ports[b + F_RPORT] = rport;
    this.ports[b + F_VCPU] = vcpu;
    Atomics.store(this.ports, b + F_STATE, state); // state last: a worker reading it sees the rest
  }

  /** free_evtchn: clear pending, back to free, notify vCPU 0. */
  private freePort(port: number): void {
    this.bitmaps();
    clearPending2l(this.mem, this.si, port);
    this.setState(port, ECS_FREE, 0, 0, 0);
  }

  /** evtchn_port_set_pending through the 2-level ABI, then the kick and the pending hook. */
  setPending(vcpuId: number, port: number): void {
    this.bitmaps();
    if (setPending2l(this.mem, this.si, this.vi(vcpuId), port)) this.d.vcpus[vcpuId]?.kick();
    this.onPending?.(port);
  }

  // ─── operations (arguments already decoded; DOMID_SELF resolved here) ──────────────
  /** EVTCHNOP_alloc_unbound, made by `caller`: a port in `dom` that `remoteDom` may bind. */
  allocUnboundOp(caller: EvtchnDomain, dom: number, remoteDom: number): number {
    const target = dom === DOMID_SELF ? this.host.get(caller.domid) : this.host.get(dom);
    if (target === undefined) return -ESRCH;
    const port = target.getFreePort();
    if (port < 0) return port;
    if (target.d !== caller && !caller.isPrivileged) return -EPERM; // xsm_evtchn_unbound (XSM_TARGET)
    target.setState(port, ECS_UNBOUND, 0, remoteDom === DOMID_SELF ? caller.domid : remoteDom, 0);
    return port;
  }

  /** EVTCHNOP_bind_interdomain on this (the caller's) domain. Lock order: lower domid first. */
  bindInterdomain(remoteDom: number, remotePort: number): number {
    const rdom = remoteDom === DOMID_SELF ? this.d.domid : remoteDom;
    const r = this.host.get(rdom);
    if (r === undefined || this.host.lookup.domain(rdom) === undefined) return -ESRCH;
    const lport = this.getFreePort();
    if (lport < 0) return lport;
    if (!r.portIsValid(remotePort)) return -EINVAL;
    const rb = remotePort * STRIDE;
    if (r.ports[rb + F_STATE] !== ECS_UNBOUND || r.ports[rb + F_RDOM] !== this.d.domid) return -EINVAL;
    this.setState(lport, ECS_INTERDOMAIN, 0, rdom, remotePort);
    r.setState(remotePort, ECS_INTERDOMAIN, r.ports[rb + F_VCPU], this.d.domid, lport);
    // Sends to the unbound remote port were dropped: always notify the new local port.
    this.setPending(this.ports[lport * STRIDE + F_VCPU], lport);
    return lport;
  }

  /** EVTCHNOP_bind_virq. */
  bindVirq(virq: number, vcpu: number): number {
    if (!(Number.isInteger(virq) && virq >= 0 && virq < NR_VIRQS)) return -EINVAL;
    if (virqIsGlobal(virq) && vcpu !== 0) return -EINVAL;
    if (!this.vcpuExists(vcpu)) return -ENOENT;
    this.growVirqTable();
    if (this.virqToPort[vcpu * NR_VIRQS + virq] !== 0) return -EEXIST;
    const port = this.getFreePort();
    if (port < 0) return port;
    this.setState(port, ECS_VIRQ, vcpu, 0, virq);
    this.virqToPort[vcpu * NR_VIRQS + virq] = port;
    return port;
  }

  private growVirqTable(): void {
    const need = this.d.vcpus.length * NR_VIRQS;
    if (this.virqToPort.length >= need) return;
    const t = new Int32Array(new SharedArrayBuffer(need * 4));
    t.set(this.virqToPort);
    this.virqToPort = t;
  }

  /** EVTCHNOP_bind_ipi. */
  bindIpi(vcpu: number): number {
    if (!this.vcpuExists(vcpu)) return -ENOENT;
    const port = this.getFreePort();
    if (port < 0) return port;
    this.setState(port, ECS_IPI, vcpu, 0, 0);
    return port;
  }

  /** EVTCHNOP_bind_vcpu: only global VIRQs, unbound and interdomain ports move. */
  bindVcpu(port: number, vcpu: number): number {
    if (!this.vcpuExists(vcpu)) return -ENOENT;
    if (!this.portIsValid(port)) return -EINVAL;
    const b = port * STRIDE;
    switch (this.ports[b + F_STATE]) {
      case ECS_VIRQ:
        if (!virqIsGlobal(this.ports[b + F_RPORT])) return -EINVAL;
        break;
      case ECS_UNBOUND:
      case ECS_INTERDOMAIN:
        break;
      default:
        return -EINVAL;
    }
    Atomics.store(this.ports, b + F_VCPU, vcpu);
    return 0;
  }

  /** EVTCHNOP_close (evtchn_close): an interdomain peer goes back to unbound. */
  close(port: number): number {
    if (!this.portIsValid(port)) return -EINVAL;
    const b = port * STRIDE;
    switch (this.ports[b + F_STATE]) {
      case ECS_FREE:
      case ECS_RESERVED:
        return -EINVAL;
      case ECS_VIRQ: {
        const virq = this.ports[b + F_RPORT];
        for (let v = 0; v * NR_VIRQS < this.virqToPort.length; v++) {
          if (this.virqToPort[v * NR_VIRQS + virq] === port) this.virqToPort[v * NR_VIRQS + virq] = 0;
        }
        break;
      }
      case ECS_INTERDOMAIN: {
        const r = this.host.get(this.ports[b + F_RDOM]);
        const rport = this.ports[b + F_RPORT];
        if (r === undefined || r.state(rport) !== ECS_INTERDOMAIN) throw new Error(`evtchn: peer of ${this.d.domid}:${port} is gone`); // BUG_ON
        r.setState(rport, ECS_UNBOUND, r.ports[rport * STRIDE + F_VCPU], this.d.domid, 0);
        break;
      }
      default:
        break;
    }
    this.freePort(port);
    return 0;
  }

  /** EVTCHNOP_send (evtchn_send): unbound ports drop the event silently. */
  send(port: number): number {
    if (!this.portIsValid(port)) return -EINVAL;
    const b = port * STRIDE;
    switch (Atomics.load(this.ports, b + F_STATE)) {
      case ECS_INTERDOMAIN: {
        const r = this.host.get(this.ports[b + F_RDOM]);
        if (r === undefined) return -EINVAL;
        const rport = this.ports[b + F_RPORT];
        r.setPending(r.ports[rport * STRIDE + F_VCPU], rport);
        return 0;
      }
      case ECS_IPI:
        this.setPending(this.ports[b + F_VCPU], port);
        return 0;
      case ECS_UNBOUND:
        return 0;
      default:
        return -EINVAL;
    }
  }

  /** EVTCHNOP_unmask: re-delivers to the port's vCPU if it is pending. */
  unmask(port: number): number {
    if (!this.portIsValid(port)) return -EINVAL;
    const v = this.ports[port * STRIDE + F_VCPU];
    this.bitmaps();
    if (unmask2l(this.mem, this.si, this.vi(v), port)) this.d.vcpus[v]?.kick();
    return 0;
  }

  /** EVTCHNOP_status of one of this domain's ports (the caller's right to ask is checked by the caller). */
  status(port: number): EvtchnStatus | number {
    if (!this.portIsValid(port)) return -EINVAL;
    const b = port * STRIDE;
    const out: EvtchnStatus = { status: EVTCHNSTAT_closed, vcpu: this.ports[b + F_VCPU], dom: 0, port: 0 };
    switch (this.ports[b + F_STATE]) {
      case ECS_UNBOUND:
        out.status = EVTCHNSTAT_unbound;
        out.dom = this.ports[b + F_RDOM];
        break;
      case ECS_INTERDOMAIN:
        out.status = EVTCHNSTAT_interdomain;
        out.dom = this.ports[b + F_RDOM];
        out.port = this.ports[b + F_RPORT];
        break;
      case ECS_VIRQ:
        out.status = EVTCHNSTAT_virq;
        out.port = this.ports[b + F_RPORT];
        break;
      case ECS_IPI:
        out.status = EVTCHNSTAT_ipi;
        break;
    }
    return out;
  }

  /** EVTCHNOP_reset (evtchn_reset) by `caller`: close every port. */
  reset(caller: EvtchnDomain): number {
    if (caller !== this.d && !this.d.controllerPaused) return -EINVAL;
    this.closeAll();
    return 0;
  }

  /** EvtchnOps.destroy: teardown drops the table (peers become unbound); soft reset only closes every port. */
  destroy(): void {
    if (this.d.softResetting) this.closeAll();
    else this.host.destroy(this.d.domid);
  }

  closeAll(): void {
    for (let p = 1; p < this.validPorts; p++) {
      const s = this.ports[p * STRIDE + F_STATE];
      if (s !== ECS_FREE && s !== ECS_RESERVED) this.close(p);
    }
  }

  // ─── Xen-internal senders (EvtchnOps for the core) ─────────────────────────────────
  /** send_guest_vcpu_virq / send_guest_global_virq: raise `virq` (timer, console, ...) if bound. */
  sendVirq(vcpu: { readonly id: number } | number, virq: number): void {
    const id = typeof vcpu === 'number' ? vcpu : vcpu.id;
    if (!(virq >= 0 && virq < NR_VIRQS)) throw new Error(`evtchn: VIRQ ${virq} out of range`);
    if (virqIsGlobal(virq)) {
      const port = this.virqToPort[virq]; // global VIRQs live in vCPU 0's table
      if (port !== 0) this.setPending(this.ports[port * STRIDE + F_VCPU], port);
    } else {
      const i = id * NR_VIRQS + virq;
      const port = i < this.virqToPort.length ? this.virqToPort[i] : 0;
      if (port !== 0) this.setPending(id, port);
    }
  }

  /** send_global_virq for a global VIRQ bound in this domain (VIRQ_DOM_EXC on dom0, ...). */
  sendGlobalVirq(virq: number): void {
    if (!virqIsGlobal(virq)) throw new Error(`evtchn: VIRQ ${virq} is per-vCPU`);
    this.sendVirq(0, virq);
  }

  /** The builder/toolstack: an unbound port of this domain for `remoteDomid` (start_info's store/console channels). */
  allocUnbound(remoteDomid: number): number {
    const port = this.getFreePort();
    if (port < 0) return port;
    this.setState(port, ECS_UNBOUND, 0, remoteDomid, 0);
    return port;
  }

  /** The notify vCPU of a port (Xen's notify_vcpu_id). */
  notifyVcpu(port: number): number {
    return this.portIsValid(port) ? this.ports[port * STRIDE + F_VCPU] : -1;
  }
  isPending(port: number): boolean {
    this.bitmaps();
    return this.portIsValid(port) && isPending2l(this.mem, this.si, port);
  }
  isMasked(port: number): boolean {
    this.bitmaps();
    return this.portIsValid(port) && isMasked2l(this.mem, this.si, port);
  }
}
