// SPDX-License-Identifier: GPL-2.0-only
// Hypercall fast paths on a pCPU worker (issue 7; docs/design/evtchn-gnttab.md "Fast paths on
// pCPU workers"). A pCPU that traps a guest's hypercall (docs/abi.md §3: a7 = XEN_SBI_EID,
// a6 = number, a0-a5 = arguments, result in a0) runs it here when it is one of:
//
//   hypercall              sub-op               here      why
//   event_channel_op (32)  EVTCHNOP_send        yes       port words + 2-level bits, the port lock (shared.ts)
//   event_channel_op (32)  EVTCHNOP_unmask     yes       2-level bits only (no lock in Xen 4.7)
//   grant_table_op (20)    GNTTABOP_copy        yes       grant tables over shared memory (grant/smp-view.ts)
//   vcpu_op (24)           set/stop_singleshot  yes       the caller's own timer word (vcpu-timer.ts); fires on the main thread
//   event_channel_op       any other            main      bind/close/status change port tables, per-domain state
//   grant_table_op         any other            main      map/unmap need the maptrack and p2m writers
//   vcpu_op                any other            main      (initialise, up/down, runstate, vcpu_info)
//   anything else          (sched_op, ...)      main      the scheduler, domains, memory are main-thread state
//
// and answers NOT_FAST otherwise, having changed nothing: the caller forwards the call to the
// main thread. The answer is the main thread's (same code: shared.ts, grant/hypercall.ts). A
// vCPU whose event was raised is woken by the main thread through the kick queue
// (kick-queue.ts, drained by fast-path-host.ts). Guest handles are translated through the
// calling vCPU's satp and any p2m view with lookup(gfn, access) (a shared P2mView later); a
// handle that does not translate here is NOT_FAST too, so the main thread gives the
// authoritative -EFAULT (a copy batch that faults after some elements continues from there).
import { ACCESS_R, ACCESS_W } from '../../hardware/riscv/hart-api.ts';
import { GVA_FAULT, translateGva, type GvaWalker } from '../../hardware/riscv/gva.ts';
import { evtchnSend, evtchnUnmask, HOW_AGAIN, HOW_NONE, I_INSTANCE, NOT_HERE, OUT_DOMID, OUT_HOW, OUT_PORT, OUT_VCPU, type EvtchnShared } from '../event/shared.ts';
import { gvaAdd, type GuestCopy } from '../event/types.ts';
import type { GrantHost } from '../grant/grant-table.ts';
import { grantElementSize, grantTableOp } from '../grant/hypercall.ts';
import { GRANT_VIEW_MISS, GrantView, type GrantSmpDesc, type GrantSmpDomain } from '../grant/smp-view.ts';
import { PREEMPT_BATCH, type HcArgs } from '../hypercall/table.ts';
import { EFAULT, ETIME } from '../public/errno.ts';
import { SINGLESHOT_TIMER_SIZE, SST_FLAGS, SST_TIMEOUT_ABS_NS, VCPU_SSHOTTMR_future, VCPUOP_set_singleshot_timer, VCPUOP_stop_singleshot_timer } from '../public/vcpu.ts';
import { EVTCHNOP_send, EVTCHNOP_unmask } from '../public/event-channel.ts';
import { GNTTABOP_copy } from '../public/grant-table.ts';
import { HYPERVISOR_event_channel_op, HYPERVISOR_grant_table_op, HYPERVISOR_vcpu_op } from '../public/xen.ts';
import { KickQueue } from './kick-queue.ts';
import type { VcpuTimer } from './vcpu-timer.ts';

/** fastHypercall: not run here, nothing changed; forward the call to the main thread. */
export const NOT_FAST = -Infinity;
/** fastHypercall: did part of a batch and rewrote the arguments; re-execute the ecall (Xen's continuation). */
export const CONTINUE = Infinity;
/** grantCopyOnce: a domain the grant view does not describe (yet); nothing changed. */
const MISSED = Number.MIN_SAFE_INTEGER;

/** What a worker needs (structured-clonable; every array shares its buffer with the host). */
export interface FastPathDesc {
  /** Machine memory (the frame pool). */
  memory: SharedArrayBuffer;
  /** EventHost.directory: the live instance per domid. */
  directory: Int32Array;
  /** KickQueue.desc */
  kicks: Int32Array;
  /** Every domain's event-channel words at describe time (later ones: FastPath.addDomain). */
  domains: EvtchnShared[];
  /** The grant tables (grant/smp-view.ts), when the worker runs grant copy (later domains: FastPath.addGrantDomain). */
  grants?: GrantSmpDesc;
}

/** A vCPU as its pCPU sees it: the hart state (satp), machine memory, and the domain's p2m lookup. */
export interface FastVcpu extends GvaWalker {
  readonly domid: number;
  readonly id: number;
  /** Its singleshot timer and its domain's boot time (host ns: domain system time = host ns - bootNs), when timers run here. */
  readonly timer?: VcpuTimer;
  readonly bootNs?: number;
}

const PAGE = 4096;

/** Guest handles of a FastVcpu (GuestCopy for grant/hypercall.ts); counts writes so a fault mid-batch can continue. */
class FastGuest implements GuestCopy<FastVcpu> {
  writes = 0;
  private readonly offs: number[] = [];
  constructor(private readonly bytes: Uint8Array) {}

  private walk(v: FastVcpu, vlo: number, vhi: number, len: number, access: number): boolean {
    const offs = this.offs;
    offs.length = 0;
    let lo = vlo, hi = vhi, left = len;
    while (left > 0) {
      const gpa = translateGva(v, lo, hi, access);
      if (gpa === GVA_FAULT) return false;
      const off = v.phys.lookup(Math.floor(gpa / PAGE), access);
      if (!(off >= 0 && off + PAGE <= this.bytes.length)) return false;
      offs.push(off + (gpa % PAGE));
      const n = Math.min(left, PAGE - (gpa % PAGE));
      left -= n;
      [lo, hi] = gvaAdd(lo, hi, n);
    }
    return true;
  }
  copyFromGuest(v: FastVcpu, lo: number, hi: number, len: number): Uint8Array | null {
    if (!this.walk(v, lo, hi, len, ACCESS_R)) return null;
    const out = new Uint8Array(len);
    let done = 0;
    for (const off of this.offs) {
      const n = Math.min(len - done, PAGE - (off % PAGE));
      out.set(this.bytes.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }
  copyToGuest(v: FastVcpu, lo: number, hi: number, b: Uint8Array): boolean {
    if (!this.walk(v, lo, hi, b.length, ACCESS_W)) return false;
    let done = 0;
    for (const off of this.offs) {
      const n = Math.min(b.length - done, PAGE - (off % PAGE));
      this.bytes.set(b.subarray(done, done + n), off);
      done += n;
    }
    this.writes++;
    return true;
  }
  /** The u32 at a guest handle (the port of send/unmask) without allocating; -1 if it does not translate. */
  readU32(v: FastVcpu, lo: number, hi: number): number {
    const gpa = translateGva(v, lo, hi, ACCESS_R);
    if (gpa === GVA_FAULT) return -1;
    const off = v.phys.lookup(Math.floor(gpa / PAGE), ACCESS_R);
    if (!(off >= 0 && off + PAGE <= this.bytes.length)) return -1;
    const at = off + (gpa % PAGE), b = this.bytes;
    if (gpa % PAGE <= PAGE - 4) return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
    const r = this.copyFromGuest(v, lo, hi, 4); // straddles a page
    return r === null ? -1 : (r[0]! | (r[1]! << 8) | (r[2]! << 16) | (r[3]! << 24)) >>> 0;
  }
}

/** One pCPU worker's fast-path state over the host's shared memory. */
export class FastPath {
  readonly pool: Int32Array;
  readonly bytes: Uint8Array;
  readonly kicks: KickQueue;
  /** This worker's grant tables (grant/smp-view.ts), or null: grant copy is the main thread's. */
  readonly grantView: GrantView | null;
  get grants(): GrantHost | null {
    return this.grantView?.host ?? null;
  }
  /**
   * Called once when a grant copy names a live domain this worker has no description of yet
   * (the host worker drains its message port: the description may be waiting there).
   */
  refresh: (() => void) | null = null;
  /** Host system time in ns, as the main thread's SystemClock.nowNs computes it; null: the singleshot timer ops are the main thread's. */
  nowNs: (() => number) | null = null;
  private readonly directory: Int32Array;
  private readonly doms = new Map<number, EvtchnShared>();
  private readonly out = new Int32Array(4);
  private readonly guest: FastGuest;
  /** The peer lookup of evtchnSend: only the live instance of a domid. */
  private readonly peer = (domid: number): EvtchnShared | undefined => this.evtchn(domid);

  constructor(desc: FastPathDesc) {
    this.pool = new Int32Array(desc.memory);
    this.bytes = new Uint8Array(desc.memory);
    this.kicks = new KickQueue(desc.kicks);
    this.directory = desc.directory;
    for (const d of desc.domains) this.addDomain(d);
    this.grantView = desc.grants !== undefined ? new GrantView(desc.grants, desc.directory) : null;
    this.guest = new FastGuest(this.bytes);
  }

  /** A domain created after the worker started (or re-created with a reused domid). */
  addDomain(s: EvtchnShared): void {
    this.doms.set(s.domid, s);
  }
  /** A domain's grant table and p2m (created after the worker started, or its domid reused); ignored without grant copy. */
  addGrantDomain(d: GrantSmpDomain): void {
    this.grantView?.add(d);
  }
  /** A domain destroyed: forget its grant table (its channels go with the directory's instance). */
  dropDomain(domid: number): void {
    this.grantView?.drop(domid);
  }
  /** This thread's view of `domid`'s channels, if it is the live instance. */
  evtchn(domid: number): EvtchnShared | undefined {
    const s = this.doms.get(domid);
    return s !== undefined && domid >= 0 && domid < this.directory.length && Atomics.load(this.directory, domid) === s.info[I_INSTANCE] ? s : undefined;
  }

  /** EVTCHNOP_send by `domid` on its port: 0 / -errno as the main thread answers, or NOT_FAST. */
  send(domid: number, port: number): number {
    const d = this.evtchn(domid);
    if (d === undefined) return NOT_FAST;
    const rc = evtchnSend(d, port, this.peer, this.pool, true, this.out);
    if (rc === NOT_HERE) return NOT_FAST;
    this.kick();
    return rc;
  }
  /** EVTCHNOP_unmask by `domid`: 0 / -EINVAL, or NOT_FAST. */
  unmask(domid: number, port: number): number {
    const d = this.evtchn(domid);
    if (d === undefined) return NOT_FAST;
    const rc = evtchnUnmask(d, port, this.pool, true, this.out);
    if (rc === NOT_HERE) return NOT_FAST;
    this.kick();
    return rc;
  }

  /**
   * Hand what the delivery in `out` needs to the main thread: a newly pending port (pollers) and
   * a raised upcall (wake a blocked vCPU; a running one samples the byte itself). An already
   * pending port matters only to dom0, the host process, whose backends hear every notification.
   */
  private kick(): void {
    const out = this.out, how = out[OUT_HOW]!;
    if (how === HOW_NONE || (how === HOW_AGAIN && out[OUT_DOMID] !== 0)) return;
    this.kicks.push(out[OUT_DOMID]!, out[OUT_VCPU]!, out[OUT_PORT]! | (how << 16));
  }

  /** GNTTABOP_copy batch of `v` at handle (lo, hi), `count` elements; a domain not described here yet: refresh once, then NOT_FAST. */
  private grantCopy(v: FastVcpu, a: HcArgs): number {
    const r = this.grantCopyOnce(v, a);
    if (r !== MISSED || this.refresh === null) return r === MISSED ? NOT_FAST : r;
    this.refresh();
    const again = this.grantCopyOnce(v, a);
    return again === MISSED ? NOT_FAST : again;
  }
  private grantCopyOnce(v: FastVcpu, a: HcArgs): number {
    const host = this.grants;
    if (host === null || host.get(v.domid) === undefined) return MISSED;
    const g = this.guest;
    g.writes = 0;
    const count = a.u32(2);
    let rc: number;
    try {
      const caller = host.lookup.domain(v.domid);
      if (caller === undefined) return NOT_FAST;
      rc = grantTableOp(host, g, caller, v, GNTTABOP_copy, a.lo(1), a.hi(1), count, PREEMPT_BATCH);
    } catch (e) {
      // A live domain this view has no current description of: raised before the element changed
      // anything (grant-table.ts copyDomain runs before any claim), so the elements done so far stand.
      if (e !== GRANT_VIEW_MISS) throw e;
      if (g.writes === 0) return MISSED;
      rc = -EFAULT;
    }
    let done: number;
    if (rc === -EFAULT) {
      if (g.writes === 0) return NOT_FAST; // nothing done: the main thread answers
      done = g.writes;
    } else if (rc > 0) done = rc;
    else return rc;
    const [lo, hi] = gvaAdd(a.lo(1), a.hi(1), done * grantElementSize(GNTTABOP_copy));
    a.set(1, lo, hi);
    a.setNum(2, count - done);
    return CONTINUE;
  }

  /**
   * VCPUOP_set_singleshot_timer / _stop_singleshot_timer on the caller's own vCPU, as
   * hypercall/vcpu-op.ts answers them (Xen 4.7 xen/common/domain.c do_vcpu_op): a past deadline
   * with VCPU_SSHOTTMR_future is -ETIME, else the deadline is set (any value, a past one fires at
   * the main thread's next tick). Another vCPU's id (-EINVAL/-ENOENT), a command with a7's upper
   * half set (-ENOSYS) and an argument that does not translate (-EFAULT) are NOT_FAST: the main
   * thread gives those answers. The timer fires on the main thread (Hypervisor.tick).
   */
  private vcpuOp(v: FastVcpu, a: HcArgs): number {
    const t = v.timer, now = this.nowNs, boot = v.bootNs;
    if (t === undefined || now === null || boot === undefined || a.hi(0) !== 0 || a.u32(1) !== v.id) return NOT_FAST;
    const cmd = a.lo(0);
    if (cmd === VCPUOP_stop_singleshot_timer) {
      t.set(Infinity);
      return 0;
    }
    if (cmd !== VCPUOP_set_singleshot_timer) return NOT_FAST;
    // struct vcpu_set_singleshot_timer { uint64_t timeout_abs_ns; uint32_t flags; }
    const g = this.guest, [lo, hi] = [a.lo(2), a.hi(2)];
    const [fLo, fHi] = gvaAdd(lo, hi, SST_FLAGS), [tHiLo, tHiHi] = gvaAdd(lo, hi, SST_TIMEOUT_ABS_NS + 4);
    const [pLo, pHi] = gvaAdd(lo, hi, SINGLESHOT_TIMER_SIZE - 4); // the tail padding: the main thread copies all 16 bytes
    const tLo = g.readU32(v, lo, hi), tHi = g.readU32(v, tHiLo, tHiHi), flags = g.readU32(v, fLo, fHi);
    if (tLo < 0 || tHi < 0 || flags < 0 || g.readU32(v, pLo, pHi) < 0) return NOT_FAST;
    const timeout = tHi * 4294967296 + tLo;
    if ((flags & VCPU_SSHOTTMR_future) !== 0 && timeout < now() - boot) return -ETIME;
    t.set(timeout);
    return 0;
  }

  /**
   * The pCPU's hypercall entry: number (nrLo, nrHi) from a6, arguments in `a` (a0-a5). Returns
   * the value for a0, NOT_FAST (forward to the main thread; nothing changed), or CONTINUE (`a`
   * rewritten: re-execute the ecall).
   */
  hypercall(v: FastVcpu, nrLo: number, nrHi: number, a: HcArgs): number {
    if (nrHi !== 0) return NOT_FAST;
    if (nrLo === HYPERVISOR_event_channel_op) {
      const cmd = a.u32(0);
      if (cmd !== EVTCHNOP_send && cmd !== EVTCHNOP_unmask) return NOT_FAST;
      const port = this.guest.readU32(v, a.lo(1), a.hi(1));
      if (port < 0) return NOT_FAST;
      return cmd === EVTCHNOP_send ? this.send(v.domid, port) : this.unmask(v.domid, port);
    }
    if (nrLo === HYPERVISOR_grant_table_op && a.u32(0) === GNTTABOP_copy) return this.grantCopy(v, a);
    if (nrLo === HYPERVISOR_vcpu_op) return this.vcpuOp(v, a);
    return NOT_FAST;
  }
}

/** fastHypercall(ctx, vcpu, nr, args): see FastPath.hypercall. */
export function fastHypercall(fp: FastPath, v: FastVcpu, nrLo: number, nrHi: number, a: HcArgs): number {
  return fp.hypercall(v, nrLo, nrHi, a);
}
