// SPDX-License-Identifier: GPL-2.0-only
// The hypervisor: the frame pool, the clock, the domains (dom0 = the host process: a record with
// domid 0 and no vCPUs), domid allocation, the patchable hypercall table, the scheduler and the
// run loop of one pCPU (docs/design/hypervisor.md §1-§2). Toolstack operations (domctl/sysctl
// equivalents) are plain methods here; guests cannot reach them.
// Xen: xen/common/domain.c, xen/common/domctl.c (domid rover), xen/common/schedule.c
import type { HartClock } from '../hardware/riscv/hart-api.ts';
import type { Hart, HartOptions } from '../hardware/riscv/hart.ts';
import { EXIT_ECALL, EXIT_PHYS_FAULT, EXIT_TRAP_M, EXIT_WFI } from '../hardware/riscv/hart-api.ts';
import { EXIT_CAUSE, EXIT_GPA } from '../hardware/riscv/hart-state.ts';
import { buildPvDomain } from './build/pv-builder.ts';
import { bundledBuildId } from './build-id.ts';
import { buildHvmDomain, type HvmDeviceModel } from './build/hvm-builder.ts';
import { validateConfig, type DomainConfig } from './domain/config.ts';
import { Domain } from './domain/domain.ts';
import type { DomainEvent } from './domain/hooks.ts';
import { BLOCK_EVENT, BLOCK_POLL, BLOCK_WFI, Vcpu } from './domain/vcpu.ts';
import { registerCoreHypercalls } from './hypercall/register.ts';
import { attachEvtchnGnttab } from './event/attach.ts';
import { HypercallTable } from './hypercall/table.ts';
import { FramePool } from './mm/frame-pool.ts';
import { DOMID_FIRST_RESERVED, SHUTDOWN_crash, SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_suspend, VIRQ_DOM_EXC, VIRQ_TIMER } from './public/xen.ts';
import { SI_EVTCHN_PENDING } from './public/shared-info.ts';
import { RoundRobin } from './sched/round-robin.ts';
import type { SchedulerOps } from './sched/ops.ts';
import { SystemClock, type WallSource } from './time/clock.ts';
import { hartPlatform } from './vsbi/hart-view.ts';
import { createVsbi } from './vsbi/vsbi.ts';
import { HartStates } from './vsbi/hart-states.ts';
import { VSBI_BLOCKED, VSBI_HART_STOPPED, VSBI_HART_SUSPENDED } from './vsbi/outcome.ts';
import { SBI_HSM_STATE_STOPPED } from './vsbi/sbi-defs.ts';

export interface HypervisorOptions {
  /** Machine memory in 4 KiB frames. */
  frames: number;
  /** The board timebase every vCPU's `time` CSR reads. */
  timebase: HartClock;
  /** Host wall time in ns since the epoch (default Date.now()). */
  wall?: WallSource;
  /** The build id xen_version(XENVER_build_id) reports; default: the bundle's (build-id.ts). */
  buildId?: Uint8Array;
  /** Xen's command line (XENVER_commandline). */
  commandLine?: string;
  scheduler?: SchedulerOps;
}

export interface CreateOptions {
  /**
   * HVM only: builds the device model (the toolstack's, e.g. build/hvm-devices.ts
   * virtDeviceModel) once the domain's vCPUs exist; it emulates the domain's MMIO.
   */
  deviceModel?: (d: Domain) => HvmDeviceModel;
}

export interface DomainInfo {
  domid: number; name: string; type: 'hvm' | 'pv'; state: string; paused: boolean; shutdownCode: number;
  crashReason: string; totPages: number; maxPages: number; vcpus: number; vcpusOnline: number; cpuTimeNs: number;
  handle: Uint8Array;
}

/** What one run() call ended with. */
export type RunResult = 'budget' | 'idle';

export class Hypervisor {
  readonly pool: FramePool;
  readonly clock: SystemClock;
  readonly domains = new Map<number, Domain>();
  readonly hypercalls = new HypercallTable();
  readonly scheduler: SchedulerOps;
  readonly dom0: Domain;
  readonly buildId: Uint8Array;
  readonly commandLine: string;
  /** Last allocated domid (Xen's rover in XEN_DOMCTL_createdomain). */
  private domidRover = 0;
  /** The vCPU being run (Xen's `current`), or null. */
  current: Vcpu | null = null;
  /** Listeners: part B attaches event channels / grant tables; the toolstack hears domain events. */
  readonly createdHooks: Array<(d: Domain) => void> = [];
  readonly eventHooks: Array<(e: DomainEvent) => void> = [];
  onConsole: ((d: Domain, bytes: Uint8Array) => void) | null = null;
  /** Builds each vCPU's hart (null: a plain Hart stepped on this thread). pCPU worker threads set it. */
  vcpuHart: ((o: HartOptions) => Hart) | null = null;
  /**
   * Called before d's memory is torn down or its vCPUs reset (destroy, soft reset): a threaded
   * run loop returns every vCPU of d from its pCPU first (Xen's vcpu_sleep_sync).
   */
  quiesce: ((d: Domain) => void) | null = null;

  constructor(o: HypervisorOptions) {
    this.pool = new FramePool(o.frames);
    this.clock = new SystemClock(o.timebase, o.wall);
    this.scheduler = o.scheduler ?? new RoundRobin();
    this.buildId = o.buildId ?? bundledBuildId();
    this.commandLine = o.commandLine ?? '';
    this.dom0 = new Domain(this, 0, null);
    this.dom0.privileged = true;
    this.domains.set(0, this.dom0);
    registerCoreHypercalls(this);
    attachEvtchnGnttab(this); // event channels and grant tables (event/, grant/): hooks and hypercalls 32, 20
  }

  notify(e: DomainEvent): void {
    for (const h of this.eventHooks) h(e);
    if (e.kind === 'shutdown' || e.kind === 'crashed' || e.kind === 'destroyed') {
      // On Xen: VIRQ_DOM_EXC to dom0, whose xenstored/xl then read the new state.
      this.dom0.evtchn?.sendGlobalVirq?.(VIRQ_DOM_EXC);
    }
  }

  /** Next free domid after the last allocated one, wrapping below DOMID_FIRST_RESERVED (never 0). */
  private allocDomid(): number {
    let d = this.domidRover;
    for (let i = 0; i < DOMID_FIRST_RESERVED; i++) {
      d = d + 1 >= DOMID_FIRST_RESERVED ? 1 : d + 1;
      if (!this.domains.has(d)) return (this.domidRover = d);
    }
    return -1;
  }

  // ─── toolstack operations (domctl equivalents) ─────────────────────────────────────────
  /** Create and build a domain; throws DomainConfigError (bad description) or DomainBuildError. */
  createDomain(cfg: DomainConfig, opts: CreateOptions = {}): Domain {
    const vc = validateConfig(cfg);
    const domid = this.allocDomid();
    if (domid < 0) throw new Error('no free domain id');
    const d = new Domain(this, domid, vc);
    this.domains.set(domid, d);
    try {
      d.addVcpus(vc.maxVcpus);
      for (const h of this.createdHooks) h(d);
      if (vc.type === 'pv') buildPvDomain(d, vc);
      else buildHvmDomain(d, vc, opts.deviceModel?.(d));
      for (const v of d.vcpus) this.scheduler.insert(v);
      this.attachVsbi(d);
    } catch (e) {
      this.teardown(d);
      throw e;
    }
    d.updateWallclock();
    for (const v of d.vcpus) d.updateVcpuTime(v);
    d.emit({ kind: 'created', domid });
    for (const v of d.vcpus) this.wakeVcpu(v);
    return d;
  }

  private attachVsbi(d: Domain): void {
    const harts = d.vcpus.map((v) => v.hart);
    const hv = this;
    const platform = hartPlatform(harts, {
      phys: d.p2m,
      systemReset(_caller, type, reason) {
        // SRST: shutdown (0) or reboot (1 cold, 2 warm); reason 1 = system failure → crash.
        hv.shutdownDomain(d, reason === 1 ? SHUTDOWN_crash : type === 0 ? SHUTDOWN_poweroff : SHUTDOWN_reboot);
        return true;
      },
      systemSuspend() {
        hv.shutdownDomain(d, SHUTDOWN_suspend);
        return true;
      },
      console: { write: (b) => (d.consoleWrite(b), b.length) },
      hartRunnable: (i) => {
        const v = d.vcpus[i];
        if (v !== undefined) this.wakeVcpu(v);
      },
      hypercall(call) {
        const v = d.vcpus[call.hartIndex]!;
        const a = v.args.fromRegs(call.x);
        v.continuation = false;
        const r = hv.hypercalls.dispatch(v, call.x[32]!, call.x[33]!, a);
        v.syncUpcall();
        if (v.continuation) {
          // Xen's hypercall_create_continuation: the handler stopped part-way and rewrote its
          // arguments; they go back to a0-a5 and pc stays on the ecall, so the guest re-issues
          // the rest of the call the next time this vCPU runs (after others have had the pCPU).
          for (let i = 0; i < 12; i++) call.x[20 + i] = a.w[i]!;
          call.complete = false;
          v.continuation = false;
          return 0;
        }
        if (v.isBlocked || !v.queued) call.outcome = VSBI_BLOCKED;
        return r;
      },
    });
    // The HSM state words in shared memory: a pCPU worker's SBI fast path (smp/sbi-fast.ts)
    // reads them to skip STOPPED harts, as the vSBI does here.
    const hsmBuffer = new Int32Array(new SharedArrayBuffer(HartStates.wordsFor(harts.length) * 4));
    d.vsbi = createVsbi(platform, { bootHart: 0, hsmBuffer });
  }

  getDomain(domid: number): Domain | undefined {
    return this.domains.get(domid);
  }

  /** XEN_DOMCTL_getdomaininfo's answer (what `xl list` shows). */
  domainInfo(d: Domain): DomainInfo {
    let cpuNs = 0, online = 0;
    for (const v of d.vcpus) {
      v.syncRunstate();
      cpuNs += v.runstateTime[0]!;
      if (d.vsbi?.harts.status(v.id) !== SBI_HSM_STATE_STOPPED) online++;
    }
    return {
      domid: d.domid, name: d.name, type: d.config?.type ?? 'pv', state: d.state, paused: d.pauseCount > 0,
      shutdownCode: d.shutdownCode, crashReason: d.crashReason, totPages: d.totPages, maxPages: d.maxPages,
      vcpus: d.vcpus.length, vcpusOnline: online, cpuTimeNs: cpuNs, handle: d.handle.slice(),
    };
  }

  /** XEN_DOMCTL_max_mem: a new max_pages; below tot_pages is allowed (Xen: the guest must balloon down). */
  setMaxPages(d: Domain, pages: number): void {
    if (!Number.isInteger(pages) || pages < 0) throw new RangeError(`max_pages ${pages}`);
    d.maxPages = pages;
  }

  /** Xen's domain_pause_by_systemcontroller: counted; returns when no pCPU runs the domain's vCPUs. */
  pauseDomain(d: Domain): void {
    d.pauseCount++;
    for (const v of d.vcpus) this.refresh(v);
    this.quiesce?.(d); // domain_pause waits until no pCPU runs its vCPUs (vcpu_sleep_sync)
    d.emit({ kind: 'paused', domid: d.domid });
  }
  /** Returns false if the domain was not paused. */
  unpauseDomain(d: Domain): boolean {
    if (d.pauseCount === 0) return false;
    d.pauseCount--;
    for (const v of d.vcpus) this.refresh(v);
    d.emit({ kind: 'unpaused', domid: d.domid });
    return true;
  }

  /** Xen's domain_shutdown: a second shutdown of a domain already shutting down is ignored. */
  shutdownDomain(d: Domain, reason: number): void {
    if (d.state !== 'running' || d.domid === 0) return;
    d.state = 'shutdown';
    d.shutdownCode = reason;
    for (const v of d.vcpus) this.refresh(v);
    d.emit({ kind: 'shutdown', domid: d.domid, reason });
  }

  /** Xen's domain_crash: log why, then shut the domain down with SHUTDOWN_crash. Others are untouched. */
  domainCrash(d: Domain, why: string): void {
    if (d.state !== 'running') return;
    d.crashReason = why;
    d.consoleWrite(new TextEncoder().encode(`(XEN) domain_crash called for d${d.domid}: ${why}\n`));
    this.shutdownDomain(d, SHUTDOWN_crash);
    d.emit({ kind: 'crashed', domid: d.domid, why });
  }

  /** xc_domain_resume: a suspended (or shut down) domain runs again where it stopped. */
  resumeDomain(d: Domain): void {
    if (d.state !== 'shutdown') return;
    d.state = 'running';
    d.shutdownCode = -1;
    for (const v of d.vcpus) this.refresh(v);
  }

  /**
   * Soft reset (SHUTDOWN_soft_reset, then XEN_DOMCTL_soft_reset): event channels closed, grants
   * unmapped, every vCPU down and uninitialised, memory kept; the domain is left paused for the
   * toolstack to load a new kernel and start vCPU 0.
   */
  softResetDomain(d: Domain): void {
    this.quiesce?.(d);
    d.evtchn?.destroy?.();
    d.gnttab?.destroy?.();
    d.pauseCount++;
    for (const v of d.vcpus) {
      d.vsbi?.harts.stop(v.id);
      v.hart.stop();
      v.initialised = false;
      v.timerNs = Infinity;
      v.blocked = 0;
    }
    d.state = 'running';
    d.shutdownCode = -1;
    for (const v of d.vcpus) this.refresh(v);
  }

  /** Toolstack: start vCPU v (stopped) at pc in S-mode with a0 = its id, a1 (after a soft reset, a restore). */
  startVcpu(v: Vcpu, pc: number, a1 = 0): boolean {
    const ok = v.domain.vsbi?.harts.requestStart(v.id, pc, a1 % 4294967296 | 0, Math.floor(a1 / 4294967296) | 0) ?? false;
    if (ok) {
      v.initialised = true;
      this.refresh(v);
    }
    return ok;
  }

  /** Destroy: every frame returned (scrubbed before reuse), the p2m dropped, the domid freed. */
  destroyDomain(d: Domain): void {
    if (d.domid === 0 || d.state === 'destroyed') return;
    d.state = 'dying';
    this.quiesce?.(d);
    this.teardown(d);
    d.emit({ kind: 'destroyed', domid: d.domid });
  }

  private teardown(d: Domain): void {
    for (const v of d.vcpus) {
      this.scheduler.remove(v);
      v.hart.stop();
    }
    d.evtchn?.destroy?.();
    d.gnttab?.destroy?.();
    const owner = this.pool.owner;
    for (let f = 1; f < owner.length; f++) if (owner[f] === d.domid) d.freeFrame(f);
    d.p2m.forEach((gfn) => d.p2m.clear(gfn));
    d.state = 'destroyed';
    this.domains.delete(d.domid);
  }

  /** Settime (dom0 = the host): every domain's wallclock follows. Xen: do_settime */
  setWallclock(sec: number, nsec: number): void {
    this.clock.setWall(sec, nsec);
    for (const d of this.domains.values()) d.updateWallclock();
  }

  // ─── vCPU state ────────────────────────────────────────────────────────────────────────
  /** May v run now (ignoring blocks)? */
  private mayRun(v: Vcpu): boolean {
    const d = v.domain;
    if (d.state !== 'running' || d.pauseCount > 0) return false;
    const hsm = d.vsbi?.harts.status(v.id);
    return hsm === undefined ? v.id === 0 : hsm !== SBI_HSM_STATE_STOPPED;
  }

  /** Re-evaluate v: on the run queue exactly when it may run and is not blocked. */
  refresh(v: Vcpu): void {
    if (this.mayRun(v) && !v.isBlocked) {
      this.scheduler.wake(v);
      if (v !== this.current && !v.onCpu) v.markRunnable();
    } else {
      this.scheduler.sleep(v);
      if (v.isBlocked && this.mayRun(v)) return; // stays blocked
      if (v.domain.state !== 'destroyed') v.markOffline();
    }
  }

  wakeVcpu(v: Vcpu): void {
    this.refresh(v);
  }

  /**
   * For part B: an event became pending for v (Xen's vcpu_kick / vcpu_mark_events_pending).
   * Re-samples the upcall level and wakes v if it was blocked waiting for one.
   */
  kick(v: Vcpu): void {
    v.syncUpcall();
    this.checkWake(v, v.domain.systemTimeNs());
  }

  /** Is event-channel port `port` pending in d's shared_info (2-level ABI)? */
  portPending(d: Domain, port: number): boolean {
    if (d.evtchn?.isPending) return d.evtchn.isPending(port);
    if (d.sharedInfoMfn < 0 || port >= 4096) return false;
    const byte = this.pool.bytes[d.sharedInfoMfn * 4096 + SI_EVTCHN_PENDING + (port >> 3)]!;
    return ((byte >> (port & 7)) & 1) !== 0;
  }

  private checkWake(v: Vcpu, now: number): void {
    if (!v.isBlocked) return;
    switch (v.blocked) {
      case BLOCK_EVENT:
        if (v.upcallPending()) v.unblock();
        break;
      case BLOCK_POLL: {
        const ports = v.pollPorts;
        let hit = now >= v.pollDeadlineNs;
        if (ports !== null) for (let i = 0; !hit && i < ports.length; i++) hit = this.portPending(v.domain, ports[i]!);
        if (hit) v.unblock();
        break;
      }
      case BLOCK_WFI:
        v.syncUpcall();
        if (v.interruptPending()) v.unblock();
        break;
    }
  }

  /** Fire expired singleshot timers and wake blocked vCPUs whose condition holds (run loops call it: run(), sched/vloop.ts). */
  tick(): void {
    for (const d of this.domains.values()) {
      if (d.vcpus.length === 0) continue;
      const now = d.systemTimeNs();
      for (const v of d.vcpus) {
        if (v.timer.expire(now)) { // check and stop in one locked step: a pCPU may be setting it (smp/vcpu-timer.ts)
          v.timerFires++;
          d.sendVirq(v, VIRQ_TIMER);
          if (v.blocked === BLOCK_EVENT) v.unblock(); // the timer event ends SCHEDOP_block
        }
        this.checkWake(v, now);
      }
    }
  }

  /** Host ns of the earliest timer, poll timeout or Sstc deadline of a blocked vCPU (Infinity: none). */
  nextWakeNs(): number {
    let t = Infinity;
    for (const d of this.domains.values()) {
      for (const v of d.vcpus) {
        if (v.timerNs < Infinity) t = Math.min(t, v.timerNs + d.bootNs);
        if (v.pollDeadlineNs < Infinity) t = Math.min(t, v.pollDeadlineNs + d.bootNs);
        const dl = v.hart.timerDeadline();
        if (v.blocked === BLOCK_WFI && dl < Infinity) t = Math.min(t, Math.floor((dl * 1e9) / this.clock.timebase.frequency));
      }
    }
    return t;
  }

  // ─── the run loop of one pCPU ──────────────────────────────────────────────────────────
  /** Run up to `slices` scheduling slices; 'idle' as soon as nothing is runnable. */
  run(slices: number): RunResult {
    for (let i = 0; i < slices; i++) {
      this.tick();
      const v = this.scheduler.pick();
      if (v === null) return 'idle';
      this.runVcpu(v, this.scheduler.sliceInstructions);
    }
    return 'budget';
  }

  /** One slice of v: step the hart and handle exits (docs/design/hypervisor.md §2). */
  runVcpu(v: Vcpu, budget: number): void {
    if (!this.enterVcpu(v)) return;
    const start = v.hart.instructions;
    let left = budget;
    try {
      while (left > 0 && this.mayContinue(v)) {
        const why = v.hart.step(left);
        left = budget - (v.hart.instructions - start);
        if (why === EXIT_ECALL) left--; // an ecall is an instruction that the hart did not count
        if (!this.handleExit(v, why)) break;
      }
    } finally {
      this.current = null;
    }
    this.leaveVcpu(v);
  }

  /**
   * Before v's hart runs (on this thread or a pCPU worker): HSM entry, the context a
   * VCPUOP_initialise left, runstate and time. False: v may not run (it was re-evaluated).
   */
  enterVcpu(v: Vcpu): boolean {
    const d = v.domain;
    if (!d.vsbi!.prepareToRun(v.id)) {
      this.refresh(v);
      return false;
    }
    if (v.pendingSp !== null) {
      v.hart.setX(2, v.pendingSp[0], v.pendingSp[1]);
      v.pendingSp = null;
    }
    if (v.pendingSatp !== null) {
      v.hart.s[188] = v.pendingSatp[0]; // SATP
      v.hart.s[189] = v.pendingSatp[1];
      v.hart.flushTlb();
      v.pendingSatp = null;
    }
    this.current = v;
    v.markRunning();
    d.updateVcpuTime(v);
    v.syncUpcall();
    return true;
  }

  /** May v keep its pCPU (still queued, its domain running and unpaused)? */
  mayContinue(v: Vcpu): boolean {
    const d = v.domain;
    return v.queued && d.state === 'running' && d.pauseCount === 0;
  }

  /**
   * Handle why v's hart stopped (an EXIT_* code; `current` must be v). True: v may go on
   * running its slice; false: the slice ends (budget, exit request, block, crash).
   */
  handleExit(v: Vcpu, why: number): boolean {
    const d = v.domain;
    if (why === EXIT_ECALL) {
      const out = d.vsbi!.handleEcall(v.id);
      if (out === VSBI_HART_STOPPED) this.refresh(v);
      else if (out === VSBI_HART_SUSPENDED) v.block(BLOCK_WFI);
      else if (out === VSBI_BLOCKED) { /* state already set by the hypercall */ }
    } else if (why === EXIT_WFI) {
      v.syncUpcall();
      if (!v.interruptPending()) v.block(BLOCK_WFI);
    } else if (why === EXIT_PHYS_FAULT) {
      const gpa = (v.hart.s[EXIT_GPA + 1]! >>> 0) * 4294967296 + (v.hart.s[EXIT_GPA]! >>> 0);
      this.domainCrash(d, `vcpu ${v.id}: second-stage fault at gpa 0x${gpa.toString(16)} (pc 0x${v.hart.getPc().toString(16)})`);
    } else if (why === EXIT_TRAP_M) {
      this.domainCrash(d, `vcpu ${v.id}: trap cause ${v.hart.s[EXIT_CAUSE]} with nowhere to go (pc 0x${v.hart.getPc().toString(16)})`);
    } else return false; // EXIT_BUDGET, EXIT_REQUESTED
    return this.mayContinue(v);
  }

  /** After v's slice: back on the run queue, or re-evaluated (blocked, stopped, paused). */
  leaveVcpu(v: Vcpu): void {
    if (v.queued) v.markRunnable();
    else this.refresh(v);
  }
}
