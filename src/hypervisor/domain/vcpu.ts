// SPDX-License-Identifier: GPL-2.0-only
// A virtual CPU: a Hart in guest mode whose physical memory is the domain's p2m, plus what Xen
// keeps in struct vcpu: runstate with time accounting, the vcpu_info location, the singleshot
// timer, the poll set and the blocked reason. The scheduler (sched/) decides when it runs.
// Xen: xen/include/xen/sched.h (struct vcpu), xen/common/schedule.c (vcpu_runstate_change),
// xen/include/public/vcpu.h (runstates)
import { Hart, hartBlockCache, type HartOptions } from '../../hardware/riscv/hart.ts';
import { MIE, UPCALL_BYTE } from '../../hardware/riscv/hart-state.ts';
import { GuestAccess } from '../hypercall/guest-access.ts';
import { HcArgs } from '../hypercall/table.ts';
import { RUNSTATE_blocked, RUNSTATE_offline, RUNSTATE_runnable, RUNSTATE_running } from '../public/vcpu.ts';
import { SI_VCPU_INFO, VCPU_INFO_SIZE, VI_EVTCHN_UPCALL_PENDING } from '../public/shared-info.ts';
import type { Domain } from './domain.ts';
import { VcpuTimer } from '../smp/vcpu-timer.ts';

/**
 * One translation cache per domain, shared by its vCPUs: each block of the guest's code is
 * compiled once, not once per vCPU (a 512-vCPU guest would otherwise compile its kernel 512
 * times). A FENCE.I on any of them makes the others recheck (jit.ts BlockCache).
 */
const blockCaches = new WeakMap<Domain, ReturnType<typeof hartBlockCache>>();
function domainBlockCache(d: Domain): ReturnType<typeof hartBlockCache> {
  let c = blockCaches.get(d);
  if (c === undefined) blockCaches.set(d, (c = hartBlockCache(d.p2m.memory)));
  return c;
}

/** Why a vCPU is blocked (none: it is not). */
export const BLOCK_NONE = 0;
/** SCHEDOP_block: until an event is pending for it or its timer fires. */
export const BLOCK_EVENT = 1;
/** SCHEDOP_poll: until one of its poll ports is pending, or the poll timeout. */
export const BLOCK_POLL = 2;
/** WFI: until the hart has an enabled interrupt pending (timer, IPI, upcall). */
export const BLOCK_WFI = 3;

export class Vcpu {
  readonly hart: Hart;
  readonly guest: GuestAccess;
  /** Scratch arguments for hypercalls from this vCPU (reused: no allocation per call). */
  readonly args = new HcArgs();

  runstate = RUNSTATE_offline;
  /** Domain system time (ns) of the last runstate change. */
  stateEntryNs = 0;
  /** ns spent in each runstate (running, runnable, blocked, offline). */
  readonly runstateTime = new Float64Array(4);

  /** Machine byte offset of this vCPU's vcpu_info, or -1 (not placed yet: no events, no time). */
  vcpuInfoOff = -1;
  /** True once VCPUOP_register_vcpu_info has moved it (it cannot move again). */
  vcpuInfoRegistered = false;
  /** VCPUOP_initialise has given it a context (vCPU 0: the builder). */
  initialised = false;
  /** Context set by VCPUOP_initialise applied when HSM starts the hart (sp, satp as halves). */
  pendingSp: [number, number] | null = null;
  pendingSatp: [number, number] | null = null;
  /** Entry pc and a1 from VCPUOP_initialise (VCPUOP_up starts the hart there). */
  entryPc = 0;
  entryA1: [number, number] = [0, 0];

  /**
   * Singleshot timer deadline in domain system time ns (Infinity: stopped), in shared memory so
   * that the pCPU running this vCPU on a worker thread sets and stops it (smp/vcpu-timer.ts).
   */
  readonly timer = new VcpuTimer();
  get timerNs(): number {
    return this.timer.get();
  }
  set timerNs(ns: number) {
    this.timer.set(ns);
  }
  /** VIRQ_TIMER deliveries (also counted when the event-channel layer is absent). */
  timerFires = 0;

  blocked = BLOCK_NONE;
  /** SCHEDOP_poll: the ports polled and the timeout (domain ns; Infinity = none). */
  pollPorts: Uint32Array | null = null;
  pollDeadlineNs = Infinity;

  /** Set by a handler through hypercallContinuation(): re-issue the call with the rewritten args. */
  continuation = false;

  /** Scheduler bookkeeping (sched/): on the run queue. */
  queued = false;
  /** Being run by a pCPU worker thread right now (src/host/host-pcpus.ts). */
  onCpu = false;

  constructor(readonly domain: Domain, readonly id: number) {
    const hv = domain.hv;
    const o: HartOptions = { hartId: id, phys: domain.p2m, clock: hv.clock.timebase, guestMode: true, resetPc: 0 };
    // With pCPU worker threads (src/host/host-pcpus.ts) the hart here is only the owner's view of
    // the shared state block; the workers step their own Hart objects over it.
    this.hart = hv.vcpuHart !== null ? hv.vcpuHart(o) : new Hart({ ...o, blockCache: domainBlockCache(domain) });
    this.guest = new GuestAccess(this);
    if (id < 1 /* XEN_LEGACY_MAX_VCPUS */ && domain.sharedInfoMfn >= 0) {
      this.vcpuInfoOff = domain.sharedInfoMfn * 4096 + SI_VCPU_INFO + id * VCPU_INFO_SIZE;
    }
  }

  /** Change runstate, accounting the time spent in the old one (Xen's vcpu_runstate_change). */
  setRunstate(state: number): void {
    if (state === this.runstate) return;
    this.syncRunstate();
    this.runstate = state;
  }

  /** Account the time spent in the current runstate up to now (readers: getdomaininfo, VCPUOP_get_runstate_info). */
  syncRunstate(): void {
    const now = this.domain.systemTimeNs();
    const delta = now - this.stateEntryNs;
    if (delta > 0) this.runstateTime[this.runstate]! += delta;
    this.stateEntryNs = now;
  }

  /** evtchn_upcall_pending of its vcpu_info (0 when it has none). */
  upcallPending(): boolean {
    const o = this.vcpuInfoOff;
    return o >= 0 && this.domain.hv.pool.bytes[o + VI_EVTCHN_UPCALL_PENDING] !== 0;
  }

  /**
   * The event upcall (docs/abi.md §6): SEIP follows evtchn_upcall_pending. The hart samples the
   * byte itself (hart-state.ts UPCALL_BYTE) at every interrupt check, so clearing it in the
   * guest drops the interrupt at once; this points the hart at the current vcpu_info.
   */
  syncUpcall(): void {
    this.hart.s[UPCALL_BYTE] = this.vcpuInfoOff >= 0 ? this.vcpuInfoOff + VI_EVTCHN_UPCALL_PENDING + 1 : 0;
  }

  /** True when the hart has an interrupt it would take or wake from WFI for (mip & mie). */
  interruptPending(): boolean {
    return (this.hart.mipValue() & this.hart.s[MIE]!) !== 0;
  }

  get isBlocked(): boolean {
    return this.blocked !== BLOCK_NONE;
  }

  /** Block: leaves the run queue until wake(). */
  block(reason: number): void {
    this.blocked = reason;
    this.domain.hv.scheduler.sleep(this);
    this.setRunstate(RUNSTATE_blocked);
  }

  /** End a block (event, timer, kick); the scheduler makes it runnable if it may run. */
  unblock(): void {
    if (this.blocked === BLOCK_NONE) return;
    this.blocked = BLOCK_NONE;
    this.pollPorts = null;
    this.pollDeadlineNs = Infinity;
    this.domain.hv.wakeVcpu(this);
  }

  /** Mark runnable/running for the scheduler's accounting. */
  markRunnable(): void {
    this.setRunstate(RUNSTATE_runnable);
  }
  markRunning(): void {
    this.setRunstate(RUNSTATE_running);
  }
  markOffline(): void {
    this.setRunstate(RUNSTATE_offline);
  }
}
