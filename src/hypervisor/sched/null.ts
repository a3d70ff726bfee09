// SPDX-License-Identifier: GPL-2.0-only
// The null scheduler: each vCPU is assigned one pCPU of its hard affinity (soft preferred) and
// is the only thing that pCPU ever runs, with no time slice: the latency reference. vCPUs that
// find no free pCPU wait in a FIFO waitqueue until one is freed (vCPU removed, pCPU added).
// Xen: xen/common/sched/null.c (4.10+)
import { EINVAL, SchedError, XEN_SCHEDULER_NULL, inMask } from './sched-if.ts';
import type { Decision, SchedHost, SchedUnit, Scheduler, Topology } from './sched-if.ts';

export class NullSched implements Scheduler {
  readonly name = 'null';
  readonly id = XEN_SCHEDULER_NULL;
  private host: SchedHost = { tickle: () => {}, now: () => 0 };
  /** pCPU -> the unit assigned to it (null: free). */
  private readonly assigned = new Map<number, SchedUnit | null>();
  readonly waitq: SchedUnit[] = [];

  init(host: SchedHost, _topo: Topology): void {
    this.host = host;
  }
  deinit(): void {}
  addCpu(cpu: number): void {
    this.assigned.set(cpu, null);
    this.fill(cpu);
  }
  removeCpu(cpu: number): void {
    const u = this.assigned.get(cpu);
    this.assigned.delete(cpu);
    if (u) this.place(u);
  }
  /** The unit assigned to cpu (xl vcpu-list shows it there). */
  assignedTo(cpu: number): SchedUnit | null {
    return this.assigned.get(cpu) ?? null;
  }

  private freeCpuFor(u: SchedUnit): number {
    const free = [...this.assigned.keys()].filter((c) => this.assigned.get(c) === null && inMask(u.hard, c)).sort((a, b) => a - b);
    return free.find((c) => inMask(u.soft, c)) ?? free[0] ?? -1;
  }
  private place(u: SchedUnit): void {
    const c = this.freeCpuFor(u);
    if (c < 0) {
      if (!this.waitq.includes(u)) this.waitq.push(u);
      u.processor = -1;
      return;
    }
    this.assigned.set(c, u);
    u.processor = c;
    this.host.tickle(c);
  }
  /** A pCPU became free: the first waiter allowed on it takes it. */
  private fill(cpu: number): void {
    const i = this.waitq.findIndex((u) => inMask(u.hard, cpu));
    if (i < 0) return;
    const [u] = this.waitq.splice(i, 1);
    this.assigned.set(cpu, u!);
    u!.processor = cpu;
    this.host.tickle(cpu);
  }

  insertUnit(u: SchedUnit): void {
    this.place(u);
  }
  removeUnit(u: SchedUnit): void {
    const wi = this.waitq.indexOf(u);
    if (wi >= 0) this.waitq.splice(wi, 1);
    const c = u.processor;
    if (c >= 0 && this.assigned.get(c) === u) {
      this.assigned.set(c, null);
      this.fill(c);
    }
  }
  sleep(u: SchedUnit, _now: number): void {
    u.runnable = false;
    if (u.processor >= 0) this.host.tickle(u.processor);
  }
  wake(u: SchedUnit, _now: number): void {
    if (u.runnable) return;
    u.runnable = true;
    if (u.processor >= 0) this.host.tickle(u.processor);
  }
  yield(_u: SchedUnit): void {}
  doSchedule(cpu: number, _now: number): Decision {
    const u = this.assigned.get(cpu) ?? null;
    return u !== null && u.runnable ? { unit: u, sliceNs: Infinity } : { unit: null, sliceNs: Infinity };
  }
  pickCpu(u: SchedUnit, _now: number): number {
    return u.processor >= 0 ? u.processor : this.freeCpuFor(u);
  }
  /** Hard affinity changed: leave a pCPU it may no longer use. */
  migrate(u: SchedUnit, _cpu: number, _now: number): void {
    if (u.processor >= 0 && !inMask(u.hard, u.processor)) {
      const c = u.processor;
      this.assigned.set(c, null);
      this.place(u);
      this.fill(c);
    } else if (u.processor < 0) {
      const wi = this.waitq.indexOf(u);
      if (wi >= 0) this.waitq.splice(wi, 1);
      this.place(u);
    }
  }
  getDomain(_domid: number): Record<string, number | boolean> {
    return {};
  }
  adjustDomain(_domid: number, _p: Record<string, number | boolean>): void {
    throw new SchedError(EINVAL, 'null has no domain parameters');
  }
  getGlobal(): Record<string, number | string> {
    return {};
  }
  adjustGlobal(_p: Record<string, number | string>): void {
    throw new SchedError(EINVAL, 'null has no pool parameters');
  }
  dump(): string {
    const out = ['Scheduler: null Scheduler (null)'];
    for (const [c, u] of [...this.assigned].sort((a, b) => a[0] - b[0])) out.push(`CPU[${String(c).padStart(2, '0')}] ${u ? `d${u.domid}v${u.vcpuId}` : '-'}`);
    out.push(`Waitqueue: ${this.waitq.map((u) => `d${u.domid}v${u.vcpuId}`).join(' ')}`);
    return out.join('\n') + '\n';
  }
}
