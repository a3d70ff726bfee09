// SPDX-License-Identifier: GPL-2.0-only
// Event channels per Xen 4.7 (xen/common/event_channel.c, public/event_channel.h): the port
// table of each domain and the operations on it, with Xen's errno for every bad argument.
// Port state, port locks and the event lock live in Int32Arrays over SharedArrayBuffers
// (shared.ts) so issue 7's pCPU workers run send/unmask on them (smp/fast-path.ts) with the
// same code as this thread; delivery is the 2-level ABI of two-level.ts.
//
// Locks (Xen 4.7, shared.ts): every operation that changes ports takes the domain's event lock
// (two domains: the lower domid's first, as Xen orders by domain pointer) and the port locks of
// the ports it changes ((domid, port) order); send takes the sending port's lock. Port locks are
// released before a vCPU is kicked. docs/design/evtchn-gnttab.md §4 and "Fast paths on pCPU workers".
import { EINVAL, ENOENT, ENOSPC, EPERM, ESRCH, EEXIST } from '../public/errno.ts';
import {
  DEFAULT_MAX_EVENT_CHANNELS, EVTCHN_2L_NR_CHANNELS, EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_ipi,
  EVTCHNSTAT_unbound, EVTCHNSTAT_virq,
} from '../public/event-channel.ts';
import { DOMID_FIRST_RESERVED, DOMID_SELF, NR_VIRQS, VIRQ_DEBUG, VIRQ_TIMER, VIRQ_XENOPROF, VIRQ_XENPMU } from '../public/xen.ts';
import {
  allocEvtchnShared, ECS_FREE, ECS_INTERDOMAIN, ECS_IPI, ECS_RESERVED, ECS_UNBOUND, ECS_VIRQ, eventLock, eventLock2, eventUnlock,
  eventUnlock2, evtchnSend, evtchnUnmask, F_RDOM, F_RPORT, F_STATE, F_VCPU, HOW_NONE, HOW_UPCALL, I_INSTANCE, I_NR_VI, I_SI, I_VALID,
  I_VI, lockPort, lockPorts, MAX_SHARED_VCPUS, NOT_HERE, OUT_DOMID, OUT_HOW, OUT_PORT, OUT_VCPU, STRIDE, unlockPort, unlockPorts,
  type EvtchnShared,
} from './shared.ts';
import { clearPending2l, isMasked2l, isPending2l, setPending2l } from './two-level.ts';
import type { DomainLookup, EvtchnDomain } from './types.ts';

// Port states (Xen's ECS_*; internal, status() maps them to EVTCHNSTAT_*).
export { ECS_FREE, ECS_INTERDOMAIN, ECS_IPI, ECS_PIRQ, ECS_RESERVED, ECS_UNBOUND, ECS_VIRQ } from './shared.ts';
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
  /**
   * Instance (> 0) of each live domid's channels, 0 when none: a pCPU worker's view of a domain
   * is current only while its instance is the one here (a domid can be reused after destruction).
   */
  readonly directory = new Int32Array(new SharedArrayBuffer(DOMID_FIRST_RESERVED * 4));
  private instances = 0;
  constructor(readonly lookup: DomainLookup) {}

  /** Create a domain's event channels (at domain creation; port 0 is reserved as in Xen). */
  create(d: EvtchnDomain, maxEventChannels = DEFAULT_MAX_EVENT_CHANNELS): EventChannels {
    if (this.byDomid.has(d.domid)) throw new Error(`evtchn: domain ${d.domid} already has event channels`);
    if (!(d.domid >= 0 && d.domid < DOMID_FIRST_RESERVED)) throw new Error(`evtchn: domid ${d.domid} is not a real domid`);
    const ec = new EventChannels(this, d, maxEventChannels, ++this.instances);
    this.byDomid.set(d.domid, ec);
    Atomics.store(this.directory, d.domid, ec.shared.info[I_INSTANCE]!);
    return ec;
  }
  /** Every live domain's channels (the kick-queue drain rescans them after an overflow). */
  all(): IterableIterator<EventChannels> {
    return this.byDomid.values();
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
    Atomics.store(this.directory, domid, 0);
  }
}

export class EventChannels {
  /** The shared words a pCPU worker runs send/unmask on (shared.ts). */
  readonly shared: EvtchnShared;
  /** Port state, STRIDE words a port, over shared memory. */
  readonly ports: Int32Array;
  /** VIRQ → port per vCPU (vcpu * NR_VIRQS + virq); 0 = unbound. */
  virqToPort: Int32Array;
  /** Ports below this are valid (allocated buckets), as Xen's d->valid_evtchns (a shared word). */
  get validPorts(): number {
    return Atomics.load(this.shared.info, I_VALID);
  }
  set validPorts(n: number) {
    Atomics.store(this.shared.info, I_VALID, n);
  }
  /** The largest port the domain may use (max_event_channels, d->max_evtchn_port). */
  maxPort: number;
  /** Int32 view holding shared_info, and shared_info's int32 index in it (see bitmaps()). */
  mem: Int32Array;
  si = 0;
  /** The shared_info offset mem/si were derived from (-2: not yet). */
  private siOffset = -2;
  private readonly poolMem: Int32Array;
  /** dom0 (the host process) has no shared_info: its bitmaps are private shared memory. */
  private readonly privateMem: Int32Array;
  /** What the last send/unmask delivered (shared.ts OUT_*). */
  private readonly out = new Int32Array(4);
  /**
   * Called after a port became pending (for SCHEDOP_poll wakeups and, for dom0, the host
   * process's backends, which have no vcpu_info to be kicked through).
   */
  onPending: ((port: number) => void) | null = null;

  constructor(readonly host: EventHost, readonly d: EvtchnDomain, maxEventChannels: number, instance = 1) {
    this.shared = allocEvtchnShared(d.domid, instance);
    this.ports = this.shared.ports;
    this.privateMem = this.shared.priv;
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
    this.publish();
  }

  /**
   * Publish shared_info and every vCPU's vcpu_info into the shared words (send/unmask deliver
   * through them, here and on pCPU workers). vCPU 0's vcpu_info is placed with shared_info (the
   * builders: bitmaps() sees shared_info change); others only by VCPUOP_register_vcpu_info,
   * which calls vcpuInfoMoved before the guest is told to rescan. A vCPU beyond I_NR_VI has
   * no vcpu_info (its events stay pending, as before registration).
   */
  publish(): void {
    const info = this.shared.info, vs = this.d.vcpus;
    const si = this.siOffset >= 0 ? this.siOffset >> 2 : -1;
    if (info[I_SI] !== si) Atomics.store(info, I_SI, si);
    const n = Math.min(vs.length, MAX_SHARED_VCPUS);
    for (let i = 0; i < n; i++) {
      const vi = this.vi(i);
      if (info[I_VI + i] !== vi) Atomics.store(info, I_VI + i, vi);
    }
    if (info[I_NR_VI] !== n) Atomics.store(info, I_NR_VI, n);
  }
  /** EvtchnOps.vcpuInfoMoved: VCPUOP_register_vcpu_info gave the vCPU a new vcpu_info. */
  vcpuInfoMoved(): void {
    this.bitmaps();
    this.publish();
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
    this.bitmaps(); // a port is about to exist: workers must deliver through the current shared_info

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

  /** setState under the port's lock (a state change a worker's send must not see half-done). */
  private setStateLocked(port: number, state: number, vcpu: number, rdom: number, rport: number): void {
    lockPort(this.shared, port);
    this.setState(port, state, vcpu, rdom, rport);
    unlockPort(this.shared, port);
  }

  /** free_evtchn: clear pending, back to free, notify vCPU 0. Called with the port locked. */
  private freePort(port: number): void {
    this.bitmaps();
    clearPending2l(this.mem, this.si, port);
    this.setState(port, ECS_FREE, 0, 0, 0);
  }

  /** evtchn_port_set_pending through the 2-level ABI, then the kick and the pending hook. */
  setPending(vcpuId: number, port: number): void {
    this.bitmaps();
    this.notified(vcpuId, port, setPending2l(this.mem, this.si, this.vi(vcpuId), port) ? HOW_UPCALL : HOW_NONE);
  }

  /**
   * After `port` was set pending for `vcpuId` (here or on a pCPU worker, then through the kick
   * queue): kick the vCPU if its upcall was raised (vcpu_mark_events_pending: it wakes if
   * blocked), then the pending hook (SCHEDOP_poll wake-ups, dom0's backends).
   */
  notified(vcpuId: number, port: number, how: number): void {
    if ((how & HOW_UPCALL) !== 0) this.d.vcpus[vcpuId]?.kick();
    this.onPending?.(port);
  }

  // ─── operations (arguments already decoded; DOMID_SELF resolved here) ──────────────
  /** EVTCHNOP_alloc_unbound, made by `caller`: a port in `dom` that `remoteDom` may bind. */
  allocUnboundOp(caller: EvtchnDomain, dom: number, remoteDom: number): number {
    const target = dom === DOMID_SELF ? this.host.get(caller.domid) : this.host.get(dom);
    if (target === undefined) return -ESRCH;
    eventLock(target.shared);
    try {
      const port = target.getFreePort();
      if (port < 0) return port;
      if (target.d !== caller && !caller.isPrivileged) return -EPERM; // xsm_evtchn_unbound (XSM_TARGET)
      target.setStateLocked(port, ECS_UNBOUND, 0, remoteDom === DOMID_SELF ? caller.domid : remoteDom, 0);
      return port;
    } finally {
      eventUnlock(target.shared);
    }
  }

  /** EVTCHNOP_bind_interdomain on this (the caller's) domain. Lock order: lower domid first. */
  bindInterdomain(remoteDom: number, remotePort: number): number {
    const rdom = remoteDom === DOMID_SELF ? this.d.domid : remoteDom;
    const r = this.host.get(rdom);
    if (r === undefined || this.host.lookup.domain(rdom) === undefined) return -ESRCH;
    eventLock2(this.shared, r.shared);
    try {
      const lport = this.getFreePort();
      if (lport < 0) return lport;
      if (!r.portIsValid(remotePort)) return -EINVAL;
      const rb = remotePort * STRIDE;
      if (r.ports[rb + F_STATE] !== ECS_UNBOUND || r.ports[rb + F_RDOM] !== this.d.domid) return -EINVAL;
      lockPorts(this.shared, lport, r.shared, remotePort); // double_evtchn_lock
      this.setState(lport, ECS_INTERDOMAIN, 0, rdom, remotePort);
      r.setState(remotePort, ECS_INTERDOMAIN, r.ports[rb + F_VCPU], this.d.domid, lport);
      unlockPorts(this.shared, lport, r.shared, remotePort);
      // Sends to the unbound remote port were dropped: always notify the new local port.
      this.setPending(this.ports[lport * STRIDE + F_VCPU], lport);
      return lport;
    } finally {
      eventUnlock2(this.shared, r.shared);
    }
  }

  /** EVTCHNOP_bind_virq. */
  bindVirq(virq: number, vcpu: number): number {
    if (!(Number.isInteger(virq) && virq >= 0 && virq < NR_VIRQS)) return -EINVAL;
    if (virqIsGlobal(virq) && vcpu !== 0) return -EINVAL;
    if (!this.vcpuExists(vcpu)) return -ENOENT;
    eventLock(this.shared);
    try {
      this.growVirqTable();
      if (this.virqToPort[vcpu * NR_VIRQS + virq] !== 0) return -EEXIST;
      const port = this.getFreePort();
      if (port < 0) return port;
      this.setStateLocked(port, ECS_VIRQ, vcpu, 0, virq);
      this.virqToPort[vcpu * NR_VIRQS + virq] = port;
      return port;
    } finally {
      eventUnlock(this.shared);
    }
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
    eventLock(this.shared);
    try {
      const port = this.getFreePort();
      if (port < 0) return port;
      this.setStateLocked(port, ECS_IPI, vcpu, 0, 0);
      return port;
    } finally {
      eventUnlock(this.shared);
    }
  }

  /** EVTCHNOP_bind_vcpu: only global VIRQs, unbound and interdomain ports move. */
  bindVcpu(port: number, vcpu: number): number {
    if (!this.vcpuExists(vcpu)) return -ENOENT;
    if (!this.portIsValid(port)) return -EINVAL;
    const b = port * STRIDE;
    eventLock(this.shared); // Xen 4.7: the event lock only; a send reads notify_vcpu_id once
    try {
      switch (this.ports[b + F_STATE]) {
        case ECS_VIRQ:
          if (!virqIsGlobal(this.ports[b + F_RPORT]!)) return -EINVAL;
          break;
        case ECS_UNBOUND:
        case ECS_INTERDOMAIN:
          break;
        default:
          return -EINVAL;
      }
      Atomics.store(this.ports, b + F_VCPU, vcpu);
      return 0;
    } finally {
      eventUnlock(this.shared);
    }
  }

  /**
   * EVTCHNOP_close (evtchn_close): an interdomain peer goes back to unbound. Event locks: this
   * domain's, and for an interdomain port the peer's, lower domid first (Xen drops d1's lock and
   * takes d2's first when d2 is lower, then re-checks the port: -EINVAL if it changed meanwhile).
   * The port (and its peer's) lock is held while the state changes, so a send that got the
   * sender's lock first completes before, and one after sees the port closed.
   */
  close(port: number): number {
    const me = this.shared;
    eventLock(me);
    let peer: EventChannels | undefined;
    try {
      if (!this.portIsValid(port)) return -EINVAL;
      const b = port * STRIDE;
      switch (this.ports[b + F_STATE]) {
        case ECS_FREE:
        case ECS_RESERVED:
          return -EINVAL;
        case ECS_VIRQ: {
          const virq = this.ports[b + F_RPORT]!;
          for (let v = 0; v * NR_VIRQS < this.virqToPort.length; v++) {
            if (this.virqToPort[v * NR_VIRQS + virq] === port) this.virqToPort[v * NR_VIRQS + virq] = 0;
          }
          break;
        }
        case ECS_INTERDOMAIN: {
          const r = this.host.get(this.ports[b + F_RDOM]!);
          if (r === undefined) throw new Error(`evtchn: peer of ${this.d.domid}:${port} is gone`); // BUG (get_domain)
          if (r !== this) {
            if (this.d.domid < r.d.domid) eventLock(r.shared);
            else {
              eventUnlock(me);
              eventLock(r.shared);
              eventLock(me);
            }
            peer = r;
            if (this.ports[b + F_STATE] !== ECS_INTERDOMAIN || this.ports[b + F_RDOM] !== r.d.domid) return -EINVAL; // closed and re-bound meanwhile
          }
          const rport = this.ports[b + F_RPORT]!;
          if (r.state(rport) !== ECS_INTERDOMAIN) throw new Error(`evtchn: peer of ${this.d.domid}:${port} is gone`); // BUG_ON
          lockPorts(me, port, r.shared, rport); // double_evtchn_lock
          this.freePort(port);
          r.setState(rport, ECS_UNBOUND, r.ports[rport * STRIDE + F_VCPU]!, this.d.domid, 0);
          unlockPorts(me, port, r.shared, rport);
          return 0;
        }
        default:
          break;
      }
      lockPort(me, port);
      this.freePort(port);
      unlockPort(me, port);
      return 0;
    } finally {
      if (peer !== undefined) eventUnlock(peer.shared);
      eventUnlock(me);
    }
  }

  /** The peer lookup of send (bitmaps published first, as the delivery reads them). */
  private readonly peerShared = (domid: number): EvtchnShared | undefined => {
    const r = this.host.get(domid);
    r?.bitmaps();
    return r?.shared;
  };

  /**
   * EVTCHNOP_send (evtchn_send, shared.ts: under the sending port's lock): unbound ports drop the
   * event silently. The kick and the pending hook run after the lock is released.
   */
  send(port: number): number {
    this.bitmaps();
    const out = this.out;
    const rc = evtchnSend(this.shared, port, this.peerShared, this.poolMem, false, out);
    if (rc === NOT_HERE) return -EINVAL; // a peer without channels: cannot happen while the port is bound
    if (out[OUT_HOW] !== HOW_NONE) this.host.get(out[OUT_DOMID]!)?.notified(out[OUT_VCPU]!, out[OUT_PORT]!, out[OUT_HOW]!);
    return rc;
  }

  /** EVTCHNOP_unmask: re-delivers to the port's vCPU if it is pending. */
  unmask(port: number): number {
    this.bitmaps();
    const out = this.out;
    const rc = evtchnUnmask(this.shared, port, this.poolMem, false, out);
    if (out[OUT_HOW] === HOW_UPCALL) this.d.vcpus[out[OUT_VCPU]!]?.kick();
    return rc;
  }

  /** EVTCHNOP_status of one of this domain's ports (the caller's right to ask is checked by the caller). */
  status(port: number): EvtchnStatus | number {
    eventLock(this.shared);
    try {
      return this.statusLocked(port);
    } finally {
      eventUnlock(this.shared);
    }
  }
  private statusLocked(port: number): EvtchnStatus | number {
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
    eventLock(this.shared);
    try {
      const port = this.getFreePort();
      if (port < 0) return port;
      this.setStateLocked(port, ECS_UNBOUND, 0, remoteDomid, 0);
      return port;
    } finally {
      eventUnlock(this.shared);
    }
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
