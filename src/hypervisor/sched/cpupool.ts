// SPDX-License-Identifier: GPL-2.0-only
// cpupools: the host's pCPUs partitioned into pools, each with its own scheduler instance;
// Pool-0 starts with every pCPU and the default scheduler. Domains live in one pool; their
// vCPUs' affinities are kept here. Every operation validates first and fails with Xen's errno
// leaving nothing changed. Xen: xen/common/cpupool.c, schedule.c (sched_move_domain, affinity)
import { Credit2 } from './credit2.ts';
import { NullSched } from './null.ts';
import { Rtds } from './rtds.ts';
import {
  EBUSY, EINVAL, ENODEV, ENOENT, EPERM, SchedError, SchedUnit, inMask, topologyCpus, validateTopology,
} from './sched-if.ts';
import type { CpuMask, Decision, SchedHost, Scheduler, Topology } from './sched-if.ts';

export const EEXIST = 17;
export const SCHEDULERS = ['credit2', 'rtds', 'null'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

export function makeScheduler(name: string): Scheduler {
  switch (name) {
    case 'credit2': return new Credit2();
    case 'rtds': return new Rtds();
    case 'null': return new NullSched();
  }
  throw new SchedError(ENOENT, `unknown scheduler ${name}`);
}

export interface Pool { readonly id: number; readonly name: string; readonly sched: Scheduler; readonly cpus: Set<number>; readonly domains: Set<number> }

/** What `xl cpupool-list` and `vcpu-list` need. */
export interface PoolInfo { id: number; name: string; sched: string; cpus: number[]; domains: number }

export class Cpupools {
  readonly nrCpus: number;
  readonly pools = new Map<number, Pool>();
  readonly free = new Set<number>();
  private readonly units = new Map<number, SchedUnit[]>();
  private readonly domPool = new Map<number, number>();
  private readonly cpuPool = new Map<number, Pool>();

  constructor(readonly topo: Topology, defaultSched: string, private readonly host: SchedHost, private readonly now: () => number = () => 0) {
    validateTopology(topo);
    this.nrCpus = topologyCpus(topo);
    this.createPool('Pool-0', defaultSched, 0);
    for (let c = 0; c < this.nrCpus; c++) this.cpuAdd(0, c);
  }

  private pool(id: number): Pool {
    const p = this.pools.get(id);
    if (p === undefined) throw new SchedError(ENOENT, `no cpupool ${id}`);
    return p;
  }
  poolByName(name: string): Pool | undefined {
    for (const p of this.pools.values()) if (p.name === name) return p;
    return undefined;
  }
  poolOfCpu(cpu: number): Pool | undefined {
    return this.cpuPool.get(cpu);
  }
  poolOfDomain(domid: number): Pool {
    return this.pool(this.domPool.get(domid) ?? 0);
  }
  list(): PoolInfo[] {
    return [...this.pools.values()].sort((a, b) => a.id - b.id).map((p) => ({ id: p.id, name: p.name, sched: p.sched.name, cpus: [...p.cpus].sort((a, b) => a - b), domains: p.domains.size }));
  }

  /** XEN_SYSCTL_CPUPOOL_OP_CREATE (id undefined: the next free, as PAR_ANY). */
  createPool(name: string, schedName: string, id?: number): Pool {
    if (this.poolByName(name) !== undefined) throw new SchedError(EEXIST, `cpupool ${name} exists`);
    if (id === undefined) for (id = 0; this.pools.has(id); id++);
    else if (this.pools.has(id)) throw new SchedError(EEXIST, `cpupool ${id} exists`);
    const sched = makeScheduler(schedName);
    sched.init(this.host, this.topo);
    const p: Pool = { id, name, sched, cpus: new Set(), domains: new Set() };
    this.pools.set(id, p);
    return p;
  }
  /** XEN_SYSCTL_CPUPOOL_OP_DESTROY: only an empty pool (no pCPUs, no domains); Pool-0 never. */
  destroyPool(id: number): void {
    const p = this.pool(id);
    if (id === 0 || p.domains.size > 0 || p.cpus.size > 0) throw new SchedError(EBUSY, `cpupool ${id} is busy`);
    p.sched.deinit();
    this.pools.delete(id);
  }
  /** XEN_SYSCTL_CPUPOOL_OP_ADDCPU: the pCPU must be free (-ENODEV), the pool exist (-ENOENT). */
  cpuAdd(id: number, cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus) throw new SchedError(EINVAL, `no pCPU ${cpu}`);
    if (!this.free.has(cpu) && this.cpuPool.has(cpu)) throw new SchedError(ENODEV, `pCPU ${cpu} is not free`);
    const p = this.pool(id);
    this.free.delete(cpu);
    p.cpus.add(cpu);
    this.cpuPool.set(cpu, p);
    p.sched.addCpu(cpu);
  }
  /** XEN_SYSCTL_CPUPOOL_OP_RMCPU: -EBUSY for the last pCPU of a pool with domains; a pCPU not in the pool is a no-op (as Xen). */
  cpuRemove(id: number, cpu: number): void {
    const p = this.pool(id);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus) throw new SchedError(EINVAL, `no pCPU ${cpu}`);
    if (!p.cpus.has(cpu)) return;
    if (p.domains.size > 0 && p.cpus.size === 1) throw new SchedError(EBUSY, `pCPU ${cpu} is the last of cpupool ${id}, which has domains`);
    p.sched.removeCpu(cpu);
    p.cpus.delete(cpu);
    this.cpuPool.delete(cpu);
    this.free.add(cpu);
    // cpu_disable_scheduler: vCPUs whose hard affinity has no pCPU left in the pool lose it ("breaking affinity").
    const now = this.now();
    for (const d of p.domains) {
      for (const u of this.units.get(d) ?? []) {
        if (![...p.cpus].some((c) => inMask(u.hard, c))) u.hard = null;
        if (u.processor === cpu || u.processor < 0) p.sched.migrate(u, p.sched.pickCpu(u, now), now);
      }
    }
  }

  /** A domain's vCPUs join a pool (domain creation); returns their units. */
  addDomain(domid: number, nvcpus: number, poolId = 0): SchedUnit[] {
    const p = this.pool(poolId);
    if (this.units.has(domid)) throw new SchedError(EEXIST, `domain ${domid} already scheduled`);
    const us: SchedUnit[] = [];
    for (let i = 0; i < nvcpus; i++) us.push(new SchedUnit(domid, i));
    for (const u of us) p.sched.insertUnit(u);
    this.units.set(domid, us);
    this.domPool.set(domid, poolId);
    p.domains.add(domid);
    return us;
  }
  removeDomain(domid: number): void {
    const us = this.units.get(domid);
    if (us === undefined) return;
    const p = this.poolOfDomain(domid);
    for (const u of us) {
      if (u.processor >= 0) this.host.tickle(u.processor);
      p.sched.removeUnit(u);
    }
    p.domains.delete(domid);
    this.units.delete(domid);
    this.domPool.delete(domid);
  }
  unitsOf(domid: number): readonly SchedUnit[] {
    const us = this.units.get(domid);
    if (us === undefined) throw new SchedError(ENOENT, `no domain ${domid}`);
    return us;
  }
  unit(domid: number, vcpu: number): SchedUnit {
    const u = this.unitsOf(domid)[vcpu];
    if (u === undefined) throw new SchedError(EINVAL, `d${domid} has no vCPU ${vcpu}`);
    return u;
  }

  /** XEN_SYSCTL_CPUPOOL_OP_MOVEDOMAIN: dom0 cannot move (-EPERM); the target must exist with pCPUs (-ENOENT). Affinities reset (sched_move_domain). */
  moveDomain(domid: number, poolId: number): void {
    const us = this.unitsOf(domid);
    if (domid === 0) throw new SchedError(EPERM, 'dom0 cannot change cpupool');
    const from = this.poolOfDomain(domid);
    if (from.id === poolId) return;
    const to = this.pools.get(poolId);
    if (to === undefined || to.cpus.size === 0) throw new SchedError(ENOENT, `no cpupool ${poolId} with pCPUs`);
    const now = this.now();
    // Params travel as far as the schedulers share them (same scheduler: weight/cap or period/budget).
    const params = from.sched.name === to.sched.name ? from.sched.getDomain(domid) : null;
    const runnable = us.map((u) => u.runnable);
    for (const u of us) {
      if (u.processor >= 0) this.host.tickle(u.processor); // it may be running there: that pCPU picks again
      from.sched.removeUnit(u);
      u.hard = null;
      u.soft = null;
      u.runnable = false;
      u.priv = null;
      u.processor = -1;
    }
    from.domains.delete(domid);
    for (const u of us) to.sched.insertUnit(u);
    if (params !== null && Object.keys(params).length > 0) to.sched.adjustDomain(domid, params);
    us.forEach((u, i) => { if (runnable[i]) to.sched.wake(u, now); });
    to.domains.add(domid);
    this.domPool.set(domid, poolId);
  }

  /** vcpu_set_hard_affinity / vcpu_set_soft_affinity (xl vcpu-pin). hard ∩ pool empty or an empty mask: -EINVAL, nothing changes. */
  setAffinity(domid: number, vcpu: number, hard: CpuMask | null | undefined, soft: CpuMask | null | undefined): void {
    const u = this.unit(domid, vcpu);
    const p = this.poolOfDomain(domid);
    for (const m of [hard, soft]) {
      if (m === null || m === undefined) continue;
      if (m.size === 0) throw new SchedError(EINVAL, 'empty cpumap');
      for (const c of m) if (!Number.isInteger(c) || c < 0 || c >= this.nrCpus) throw new SchedError(EINVAL, `no pCPU ${c}`);
    }
    if (hard !== undefined && hard !== null && ![...hard].some((c) => p.cpus.has(c))) {
      throw new SchedError(EINVAL, `hard affinity has no pCPU of cpupool ${p.name}`);
    }
    if (hard !== undefined) u.hard = hard === null ? null : new Set(hard);
    if (soft !== undefined) u.soft = soft === null ? null : new Set(soft);
    const now = this.now();
    if (!inMask(u.hard, u.processor) || u.processor < 0 || (u.soft !== null && !u.soft.has(u.processor))) {
      p.sched.migrate(u, p.sched.pickCpu(u, now), now);
    }
    if (u.processor >= 0) this.host.tickle(u.processor);
  }
  getAffinity(domid: number, vcpu: number): { hard: number[]; soft: number[] } {
    const u = this.unit(domid, vcpu);
    const all = [...Array(this.nrCpus).keys()];
    return { hard: u.hard === null ? all : [...u.hard].sort((a, b) => a - b), soft: u.soft === null ? all : [...u.soft].sort((a, b) => a - b) };
  }

  /** The run loop asks what `cpu` runs next. Free pCPUs idle. */
  doSchedule(cpu: number, now: number): Decision {
    const p = this.cpuPool.get(cpu);
    return p === undefined ? { unit: null, sliceNs: Infinity } : p.sched.doSchedule(cpu, now);
  }
  sleep(u: SchedUnit, now: number): void {
    this.poolOfDomain(u.domid).sched.sleep(u, now);
  }
  wake(u: SchedUnit, now: number): void {
    this.poolOfDomain(u.domid).sched.wake(u, now);
  }
  yield(u: SchedUnit): void {
    this.poolOfDomain(u.domid).sched.yield(u);
  }
}
