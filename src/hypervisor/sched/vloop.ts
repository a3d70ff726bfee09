// SPDX-License-Identifier: GPL-2.0-only
// Schedulers wired to the core: PoolSchedulerOps adapts cpupools to the Hypervisor's
// SchedulerOps (wake/sleep/yield from WFI, SCHEDOP_block/yield, pause), and VirtualPcpus runs
// N pCPUs on one thread in deterministic virtual time (1 instruction = nsPerInstr ns): each pCPU
// executes its scheduler's decisions on real harts; timers fire between steps.
import type { Vcpu } from '../domain/vcpu.ts';
import type { Hypervisor } from '../xen.ts';
import { Cpupools } from './cpupool.ts';
import { SchedControl } from './control.ts';
import type { SchedulerOps } from './ops.ts';
import type { SchedHost, SchedUnit, Topology } from './sched-if.ts';

/** The core's SchedulerOps over cpupools: the Hypervisor tells it about vCPUs, pCPU loops ask it for decisions. */
export class PoolSchedulerOps implements SchedulerOps, SchedHost {
  readonly name: string;
  readonly pools: Cpupools;
  private readonly byVcpu = new Map<Vcpu, SchedUnit>();
  private readonly byUnit = new Map<SchedUnit, Vcpu>();
  /** pCPUs whose decision is stale (tickled: a wake, a sleep of what they run, an affinity change). */
  readonly tickled = new Set<number>();
  /** For the compatibility pick() of the single-pCPU Hypervisor.run(). */
  sliceInstructions = 20_000;
  now: () => number = () => 0;
  /** The cpupool the next created domain joins (the toolstack sets it from the config's `pool=`). */
  nextPool = 0;

  constructor(topo: Topology, defaultSched = 'credit2', readonly nsPerInstr = 1) {
    this.pools = new Cpupools(topo, defaultSched, this, () => this.now());
    this.name = defaultSched;
    this.pools.addDomain(0, 0); // dom0 (the host: no vCPUs here) lives in Pool-0 and never moves
  }
  tickle(cpu: number): void {
    this.tickled.add(cpu);
  }
  unitOf(v: Vcpu): SchedUnit | undefined {
    return this.byVcpu.get(v);
  }
  vcpuOf(u: SchedUnit): Vcpu | undefined {
    return this.byUnit.get(u);
  }

  insert(v: Vcpu): void {
    const d = v.domain;
    if (this.byVcpu.has(v)) return;
    const us = this.pools.addDomain(d.domid, d.vcpus.length, this.nextPool);
    d.vcpus.forEach((w, i) => {
      this.byVcpu.set(w, us[i]!);
      this.byUnit.set(us[i]!, w);
    });
  }
  remove(v: Vcpu): void {
    const u = this.byVcpu.get(v);
    if (u === undefined) return;
    this.sleep(v);
    for (const w of v.domain.vcpus) {
      const x = this.byVcpu.get(w);
      if (x !== undefined) this.byUnit.delete(x);
      this.byVcpu.delete(w);
    }
    this.pools.removeDomain(v.domain.domid);
  }
  wake(v: Vcpu): void {
    v.queued = true;
    const u = this.byVcpu.get(v);
    if (u !== undefined && !u.runnable) this.pools.wake(u, this.now());
  }
  sleep(v: Vcpu): void {
    v.queued = false;
    const u = this.byVcpu.get(v);
    if (u !== undefined && u.runnable) this.pools.sleep(u, this.now());
  }
  /** SCHEDOP_yield: the scheduler is told, and the vCPU leaves its pCPU now (Xen raises SCHEDULE_SOFTIRQ). */
  yield(v: Vcpu): void {
    const u = this.byVcpu.get(v);
    if (u === undefined) return;
    this.pools.yield(u);
    v.hart.requestExit();
    if (u.processor >= 0) this.tickle(u.processor);
  }
  /** Single-pCPU compatibility (Hypervisor.run): pCPU 0's decision, its slice in instructions. */
  pick(): Vcpu | null {
    const d = this.pools.doSchedule(0, this.now());
    this.tickled.delete(0);
    if (d.unit === null) return null;
    this.sliceInstructions = Math.max(1, Math.min(1e9, Math.ceil(d.sliceNs / this.nsPerInstr)));
    return this.byUnit.get(d.unit) ?? null;
  }
}

interface Pcpu { unit: SchedUnit | null; end: number; busyNs: number }

/** N pCPUs on one thread in virtual time. Decisions at step boundaries; a step ends at the earliest slice end, timer or quantum. */
export class VirtualPcpus {
  now = 0;
  readonly pcpus: Pcpu[];
  private hart: Vcpu | null = null;
  private hartStart = 0;
  private base = 0;
  /** Called after every decision (tests assert hard affinity here). */
  onDecision: ((cpu: number, u: SchedUnit | null, now: number) => void) | null = null;

  /** The toolstack's view (dom0 ctrl): parameters, affinity, pools, per-pCPU current vCPU. */
  readonly control: SchedControl;

  constructor(readonly hv: Hypervisor, readonly ops: PoolSchedulerOps, readonly quantumNs = 100_000) {
    this.pcpus = Array.from({ length: ops.pools.nrCpus }, () => ({ unit: null, end: 0, busyNs: 0 }));
    ops.now = () => this.clockNs();
    this.control = new SchedControl(ops.pools, (c) => this.pcpus[c]?.unit ?? null);
  }

  /** The virtual clock (the Hypervisor's timebase must read it: virtualTimebase()). */
  clockNs(): number {
    const v = this.hart;
    return v === null ? this.now : this.base + (v.hart.instructions - this.hartStart) * this.ops.nsPerInstr;
  }

  private decide(cpu: number, at: number): void {
    const p = this.pcpus[cpu]!;
    this.now = at;
    const d = this.ops.pools.doSchedule(cpu, at);
    this.ops.tickled.delete(cpu);
    p.unit = d.unit;
    p.end = d.sliceNs === Infinity ? Infinity : at + d.sliceNs;
    this.onDecision?.(cpu, d.unit, at);
  }

  /** Run until virtual time `until` (ns). */
  run(until: number): void {
    const ops = this.ops;
    while (this.now < until) {
      const t0 = this.now;
      this.hv.tick();
      for (let guard = 0; guard < 4 * this.pcpus.length; guard++) {
        let any = false;
        this.pcpus.forEach((p, c) => {
          if (ops.tickled.has(c) || p.end <= t0 || (p.unit !== null && !p.unit.runnable)) { any = true; this.decide(c, t0); }
        });
        if (!any) break;
      }
      let t1 = Math.min(until, t0 + this.quantumNs, this.hv.nextWakeNs());
      for (const p of this.pcpus) t1 = Math.min(t1, p.end);
      if (t1 <= t0) t1 = t0 + this.ops.nsPerInstr;
      this.pcpus.forEach((p, c) => {
        let local = t0;
        while (local < t1 && p.unit !== null) {
          const v = ops.vcpuOf(p.unit);
          if (v === undefined || !v.queued) { this.decide(c, local); continue; }
          const budget = Math.max(1, Math.floor((t1 - local) / ops.nsPerInstr));
          this.hart = v;
          this.hartStart = v.hart.instructions;
          this.base = local;
          try {
            this.hv.runVcpu(v, budget);
          } finally {
            const ran = Math.max(ops.nsPerInstr, (v.hart.instructions - this.hartStart) * ops.nsPerInstr);
            this.hart = null;
            p.busyNs += ran;
            local += ran;
          }
          if (local < t1) this.decide(c, local); // it blocked or slept: the pCPU picks again
        }
      });
      this.now = t1;
    }
  }
}

/** A timebase for the Hypervisor that reads a VirtualPcpus clock (set `loop` once built). */
export function virtualTimebase(): { frequency: number; now(): number; loop: VirtualPcpus | null } {
  return {
    frequency: 1e9,
    loop: null,
    now() {
      return this.loop === null ? 0 : this.loop.clockNs();
    },
  };
}
