// SPDX-License-Identifier: GPL-2.0-only
// The scheduler half of domctl/sysctl for the toolstack (dom0 ctrl -> xl sched-credit2,
// sched-rtds [-v], vcpu-pin, vcpu-list, cpupool-*): plain methods over cpupools that throw
// SchedError (errno) on bad input and change nothing. Xen: common/domctl.c (SCHEDOP,
// setvcpuaffinity), common/sysctl.c (cpupool_op, scheduler_op), common/schedule.c (sched_adjust)
import type { Cpupools, PoolInfo } from './cpupool.ts';
import { EINVAL, ENOENT, SchedError } from './sched-if.ts';
import type { SchedUnit } from './sched-if.ts';

export interface VcpuListEntry { domid: number; vcpu: number; cpu: number; state: string; runnable: boolean; hard: number[]; soft: number[] }

export class SchedControl {
  constructor(readonly pools: Cpupools, private readonly currentOn: (cpu: number) => SchedUnit | null = () => null) {}

  /** sched_adjust: the request names a scheduler; a domain in a pool with another one is -EINVAL (as Xen). */
  private schedFor(domid: number, sched: string) {
    const s = this.pools.poolOfDomain(this.checkDomain(domid)).sched;
    if (s.name !== sched) throw new SchedError(EINVAL, `domain ${domid} is in a ${s.name} cpupool, not ${sched}`);
    return s;
  }
  private checkDomain(domid: number): number {
    this.pools.unitsOf(domid);
    return domid;
  }
  /** xl sched-credit2 -d D / sched-rtds -d D: {weight, cap} or {period, budget, extratime} (us). */
  getDomainParams(domid: number, sched: string): Record<string, number | boolean> {
    return this.schedFor(domid, sched).getDomain(domid);
  }
  setDomainParams(domid: number, sched: string, p: Record<string, number | boolean>): void {
    this.schedFor(domid, sched).adjustDomain(domid, p);
  }
  /** xl sched-rtds -d D -v V|all: per-vCPU period/budget/extratime. */
  getVcpuParams(domid: number, sched: string, vcpu: number): Record<string, number | boolean> {
    const s = this.schedFor(domid, sched);
    if (s.getVcpu === undefined) throw new SchedError(EINVAL, `${sched} has no per-vCPU parameters`);
    return s.getVcpu(domid, vcpu);
  }
  setVcpuParams(domid: number, sched: string, vcpu: number, p: Record<string, number | boolean>): void {
    const s = this.schedFor(domid, sched);
    if (s.adjustVcpu === undefined) throw new SchedError(EINVAL, `${sched} has no per-vCPU parameters`);
    s.adjustVcpu(domid, vcpu, p);
  }
  /** xl sched-credit2 -p POOL [-s -r RATELIMIT]: pool parameters of the named pool. */
  getPoolParams(pool: string): Record<string, number | string> {
    return this.pool(pool).sched.getGlobal();
  }
  setPoolParams(pool: string, p: Record<string, number | string>): void {
    this.pool(pool).sched.adjustGlobal(p);
  }
  private pool(name: string) {
    const p = this.pools.poolByName(name);
    if (p === undefined) throw new SchedError(ENOENT, `no cpupool ${name}`);
    return p;
  }
  /** xl vcpu-pin D V HARD [SOFT] (null: all; undefined: unchanged). */
  setAffinity(domid: number, vcpu: number, hard: number[] | null | undefined, soft?: number[] | null): void {
    this.pools.setAffinity(domid, vcpu, hard === null || hard === undefined ? hard : new Set(hard), soft === null || soft === undefined ? soft : new Set(soft));
  }
  getAffinity(domid: number, vcpu: number): { hard: number[]; soft: number[] } {
    return this.pools.getAffinity(domid, vcpu);
  }
  /** xl vcpu-list: pCPU (-1 when not running), state r (running) / - (runnable or blocked), affinities. */
  vcpuList(domid: number): VcpuListEntry[] {
    return this.pools.unitsOf(domid).map((u) => {
      let cpu = -1;
      for (let c = 0; c < this.pools.nrCpus; c++) if (this.currentOn(c) === u) cpu = c;
      const a = this.pools.getAffinity(domid, u.vcpuId);
      return { domid, vcpu: u.vcpuId, cpu, state: cpu >= 0 ? 'r' : u.runnable ? '-' : 'b', runnable: u.runnable, hard: a.hard, soft: a.soft };
    });
  }
  /** Per-pCPU current vCPU ([domid, vcpu] or null: idle). */
  pcpuCurrent(): Array<[number, number] | null> {
    return Array.from({ length: this.pools.nrCpus }, (_, c) => {
      const u = this.currentOn(c);
      return u === null ? null : [u.domid, u.vcpuId];
    });
  }
  /** xl cpupool-list (formatCpupoolList) and cpupool-create/destroy/cpu-add/cpu-remove/migrate. */
  cpupoolList(): PoolInfo[] {
    return this.pools.list();
  }
  cpupoolCreate(name: string, sched: string, cpus: number[] = []): number {
    for (const c of cpus) if (!this.pools.free.has(c)) throw new SchedError(this.pools.poolOfCpu(c) ? 19 /* ENODEV */ : EINVAL, `pCPU ${c} is not free`);
    const p = this.pools.createPool(name, sched);
    for (const c of cpus) this.pools.cpuAdd(p.id, c);
    return p.id;
  }
  cpupoolDestroy(name: string): void {
    this.pools.destroyPool(this.pool(name).id);
  }
  cpupoolCpuAdd(name: string, cpu: number): void {
    this.pools.cpuAdd(this.pool(name).id, cpu);
  }
  cpupoolCpuRemove(name: string, cpu: number): void {
    this.pools.cpuRemove(this.pool(name).id, cpu);
  }
  cpupoolMigrate(domid: number, name: string): void {
    this.pools.moveDomain(domid, this.pool(name).id);
  }
}
