// SPDX-License-Identifier: GPL-2.0-only
// The host's schedulers (issue 7): the Xen boot parameters sched= and credit2_runqueue= pick
// Pool-0's scheduler (credit2 by default), the host's pCPUs form the cpupools, and the daemon's
// run loop gives every pCPU in turn the vCPU its pool's scheduler chose (one thread, real
// time; docs/design/schedulers.md §9 has the pCPU worker design). Also the control methods of
// sched-protocol.ts over SchedControl. Xen: common/schedule.c (scheduler_init, sched_adjust),
// common/cpupool.c, common/domctl.c / sysctl.c (scheduler_op, cpupool_op).
import type { Vcpu } from '../hypervisor/domain/vcpu.ts';
import type { Hypervisor } from '../hypervisor/xen.ts';
import { SCHEDULERS } from '../hypervisor/sched/cpupool.ts';
import { SchedControl } from '../hypervisor/sched/control.ts';
import { SchedError, type SchedUnit, type Topology } from '../hypervisor/sched/sched-if.ts';
import { PoolSchedulerOps } from '../hypervisor/sched/vloop.ts';
import { CtrlError, type ErrorCode } from '../toolstack/ctrl/protocol.ts';
import type { SchedMethods } from '../toolstack/ctrl/sched-protocol.ts';

const ERRNO_NAMES: Record<number, ErrorCode> = { 1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 12: 'ENOMEM', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL' };

/** Xen's boot parameters for the scheduler: sched= (unknown: "Could not find scheduler", then the default) and credit2_runqueue=. */
export function schedBootParams(commandLine: string, log: (s: string) => void): { sched: string; runqueue?: string } {
  let sched = 'credit2', runqueue: string | undefined;
  for (const w of commandLine.split(/\s+/)) {
    const [k, v] = w.split(/=(.*)/s, 2) as [string, string | undefined];
    if (k === 'sched' && v !== undefined) {
      if ((SCHEDULERS as readonly string[]).includes(v)) sched = v;
      else log(`Could not find scheduler: ${v}`);
    } else if (k === 'credit2_runqueue' && v !== undefined) runqueue = v;
  }
  return { sched, runqueue };
}

interface Pcpu { unit: SchedUnit | null; end: number }

export class HostSched {
  readonly ops: PoolSchedulerOps;
  readonly control: SchedControl;
  private hv: Hypervisor | null = null;
  private readonly pcpus: Pcpu[];
  /** Instructions a pCPU runs per turn of the loop before the next pCPU gets the thread. */
  quantum = 20_000;

  constructor(topo: Topology, commandLine: string, log: (s: string) => void) {
    const p = schedBootParams(commandLine, log);
    this.ops = new PoolSchedulerOps(topo, p.sched, 10);
    if (p.runqueue !== undefined && p.sched === 'credit2') {
      // credit2_runqueue= applies at boot: rebuild Pool-0's runqueues with the arrangement.
      const pool0 = this.ops.pools.pools.get(0)!;
      const cpus = [...pool0.cpus];
      try {
        for (const c of cpus) pool0.sched.removeCpu(c);
        pool0.sched.adjustGlobal({ runqueue: p.runqueue });
      } catch (e) {
        log(`credit2_runqueue=${p.runqueue}: ${e instanceof Error ? e.message : String(e)}`);
      }
      for (const c of cpus) pool0.sched.addCpu(c);
    }
    log(`Using scheduler: ${p.sched}`);
    this.pcpus = Array.from({ length: this.ops.pools.nrCpus }, () => ({ unit: null, end: 0 }));
    this.control = new SchedControl(this.ops.pools, (c: number) => this.pcpus[c]?.unit ?? null);
  }

  /** The Hypervisor is built with `ops` as its scheduler; then the clock is its own. */
  attach(hv: Hypervisor): void {
    this.hv = hv;
    this.ops.now = () => hv.clock.nowNs();
  }

  private decide(c: number, now: number): void {
    const d = this.ops.pools.doSchedule(c, now);
    this.ops.tickled.delete(c);
    const p = this.pcpus[c]!;
    p.unit = d.unit;
    p.end = d.sliceNs === Infinity ? Infinity : now + d.sliceNs;
  }

  get nrCpus(): number {
    return this.pcpus.length;
  }

  /** Must pCPU c decide again (tickled, slice over, its unit no longer runnable)? */
  stale(c: number, now: number): boolean {
    const p = this.pcpus[c]!;
    return this.ops.tickled.has(c) || now >= p.end || (p.unit !== null && !p.unit.runnable);
  }

  /** The vCPU pCPU c runs now (its scheduler decides again if stale), or null: idle. For host-pcpus.ts. */
  next(c: number, now: number): Vcpu | null {
    if (this.stale(c, now)) this.decide(c, now);
    const u = this.pcpus[c]!.unit;
    if (u === null) return null;
    const v = this.ops.vcpuOf(u);
    return v !== undefined && v.queued ? v : null;
  }

  /** Host ns at which pCPU c's slice ends (Infinity: none). */
  sliceEnd(c: number): number {
    return this.pcpus[c]!.end;
  }

  /** Up to `rounds` turns over every pCPU; 'idle' when no pCPU had a vCPU to run. */
  run(rounds: number): 'idle' | 'budget' {
    const hv = this.hv!;
    for (let r = 0; r < rounds; r++) {
      hv.tick();
      let ran = false;
      for (let c = 0; c < this.pcpus.length; c++) {
        const p = this.pcpus[c]!;
        let now = hv.clock.nowNs();
        if (this.ops.tickled.has(c) || now >= p.end || (p.unit !== null && !p.unit.runnable)) this.decide(c, now);
        if (p.unit === null) continue;
        const v = this.ops.vcpuOf(p.unit);
        if (v === undefined || !v.queued) continue;
        const left = p.end === Infinity ? this.quantum : Math.ceil((p.end - now) / this.ops.nsPerInstr);
        hv.runVcpu(v, Math.max(1, Math.min(this.quantum, left)));
        ran = true;
        now = hv.clock.nowNs();
        if (!v.queued) this.decide(c, now); // it blocked: the pCPU picks again
      }
      // A pCPU tickled after its turn in this round (a vCPU re-pinned or requeued onto it) decides in the next.
      if (!ran && this.ops.tickled.size === 0) return 'idle';
    }
    return 'budget';
  }

  /** The control methods (sched-protocol.ts); undefined: not ours. */
  dispatch(method: string, params: unknown): unknown {
    if (!method.startsWith('sched.') && !method.startsWith('cpupool.')) return undefined;
    const p = params as Record<string, unknown>;
    const s = this.control;
    try {
      switch (method as keyof SchedMethods) {
        case 'sched.domain-get': return s.getDomainParams(num(p, 'domid'), str(p, 'sched'));
        case 'sched.domain-set': s.setDomainParams(num(p, 'domid'), str(p, 'sched'), obj(p, 'params') as Record<string, number | boolean>); this.kick(); return {};
        case 'sched.vcpu-get': {
          const domid = num(p, 'domid'), sched = str(p, 'sched');
          const ids = Array.isArray(p.vcpus) ? (p.vcpus as unknown[]).map((v) => Number(v)) : s.pools.unitsOf(domid).map((u) => u.vcpuId);
          return ids.map((vcpu) => ({ vcpu, ...s.getVcpuParams(domid, sched, vcpu) }));
        }
        case 'sched.vcpu-set': {
          const domid = num(p, 'domid'), sched = str(p, 'sched');
          if (!Array.isArray(p.vcpus)) throw new CtrlError('EINVAL', 'vcpus: need an array');
          // Validate every element before changing any (nothing changes on error).
          const n = s.pools.unitsOf(domid).length;
          for (const v of p.vcpus as Array<Record<string, unknown>>) {
            const id = v.vcpu;
            if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= n) throw new CtrlError('EINVAL', `vCPU ${String(id)} of domain ${domid} does not exist`);
            const per = v.period, bud = v.budget;
            if (typeof per !== 'number' || typeof bud !== 'number' || !(bud >= 10 && per >= 10 && bud <= per)) throw new CtrlError('EINVAL', `d${domid}v${id}: period ${String(per)} budget ${String(bud)}`);
          }
          for (const v of p.vcpus as Array<Record<string, number | boolean>>) {
            const { vcpu, ...rest } = v;
            s.setVcpuParams(domid, sched, vcpu as number, rest);
          }
          this.kick();
          return {};
        }
        case 'sched.pool-get': {
          const pool = s.pools.poolByName(str(p, 'pool'));
          if (pool === undefined) throw new CtrlError('ENOENT', `no cpupool ${String(p.pool)}`);
          return { sched: pool.sched.name, params: pool.sched.getGlobal() };
        }
        case 'sched.pool-set': s.setPoolParams(str(p, 'pool'), obj(p, 'params') as Record<string, number | string>); return {};
        case 'cpupool.list': {
          const pools = s.cpupoolList().map((i) => ({ poolid: i.id, name: i.name, sched: i.sched, cpus: i.cpus, domids: [...s.pools.pools.get(i.id)!.domains].sort((a, b) => a - b) }));
          return { pools, free: [...s.pools.free].sort((a, b) => a - b), nrCpus: s.pools.nrCpus, defaultSched: this.ops.name };
        }
        case 'cpupool.create': {
          const cpus = Array.isArray(p.cpus) ? (p.cpus as unknown[]).map(Number) : [];
          return { poolid: s.cpupoolCreate(str(p, 'name'), str(p, 'sched'), cpus) };
        }
        case 'cpupool.destroy': s.cpupoolDestroy(str(p, 'pool')); return {};
        case 'cpupool.cpu-add': s.cpupoolCpuAdd(str(p, 'pool'), num(p, 'cpu')); this.kick(); return {};
        case 'cpupool.cpu-remove': s.cpupoolCpuRemove(str(p, 'pool'), num(p, 'cpu')); this.kick(); return {};
        case 'cpupool.migrate': s.cpupoolMigrate(num(p, 'domid'), str(p, 'pool')); this.kick(); return {};
      }
    } catch (e) {
      if (e instanceof SchedError) throw new CtrlError(ERRNO_NAMES[e.errno] ?? 'EINVAL', e.message);
      throw e;
    }
    throw new CtrlError('ENOSYS', `method ${method} not implemented`);
  }

  /** Every pCPU decides again (parameters or pools changed). */
  private kick(): void {
    for (let c = 0; c < this.pcpus.length; c++) this.ops.tickle(c);
  }
}

function num(p: Record<string, unknown>, k: string): number {
  const v = p[k];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new CtrlError('EINVAL', `${k}: need an integer`, k);
  return v;
}
function str(p: Record<string, unknown>, k: string): string {
  const v = p[k];
  if (typeof v !== 'string') throw new CtrlError('EINVAL', `${k}: need a string`, k);
  return v;
}
function obj(p: Record<string, unknown>, k: string): Record<string, unknown> {
  const v = p[k];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CtrlError('EINVAL', `${k}: need an object`, k);
  return v as Record<string, unknown>;
}
