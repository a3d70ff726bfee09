// SPDX-License-Identifier: GPL-2.0-only
// vCPU affinities for the control interface: the host's pCPUs as cpupools (Pool-0, credit2)
// behind the scheduler control API, every guest's vCPUs in them from creation to destruction;
// XEN_DOMCTL_setvcpuaffinity with Xen's checks (masks meet the online pCPUs and the domain's
// pool, the vCPU exists; all checked before any vCPU changes) and the masks as xl prints them.
// Xen: xen/common/domctl.c (XEN_DOMCTL_setvcpuaffinity), xen/common/schedule.c (vcpu_set_*_affinity)
import { Cpupools } from '../../hypervisor/sched/cpupool.ts';
import { SchedControl } from '../../hypervisor/sched/control.ts';
import { SchedError } from '../../hypervisor/sched/sched-if.ts';
import { CtrlError } from './protocol.ts';

/** print_bitmap(): 'all' when every pCPU is set, 'none' for none, else ranges like 0-3,5. */
export function cpuListString(cpus: readonly number[], nrCpus: number): string {
  if (cpus.length >= nrCpus) return 'all';
  if (cpus.length === 0) return 'none';
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(j === i ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export class VcpuAffinity {
  readonly pools: Cpupools;
  readonly sched: SchedControl;

  /** Whether the pools are Ctrl's own (it adds and removes domains) or the scheduler's. */
  private readonly own: boolean;

  /**
   * With `shared` (the host's scheduler control), affinities go to the pools the run loop
   * schedules from; the scheduler adds and removes domains itself. Without, one socket of
   * nrCpus cores in a Pool-0 of Ctrl's own that records them (tests of Ctrl alone).
   */
  constructor(private readonly nrCpus: number, now: () => number, shared?: SchedControl) {
    this.own = shared === undefined;
    this.sched = shared ?? new SchedControl(new Cpupools({ sockets: 1, coresPerSocket: nrCpus, threadsPerCore: 1, nodes: 1 }, 'credit2', { tickle: () => {}, now }, now));
    this.pools = this.sched.pools;
  }

  addDomain(domid: number, nrVcpus: number): void {
    if (this.own) this.pools.addDomain(domid, nrVcpus);
  }

  removeDomain(domid: number): void {
    if (this.own) this.pools.removeDomain(domid);
  }

  /** Each vCPU's hard and soft affinity as xl prints them; [] for a domain not in a pool. */
  strings(domid: number): Array<{ hard: string; soft: string }> {
    let n: number;
    try {
      n = this.pools.unitsOf(domid).length;
    } catch {
      return [];
    }
    const out: Array<{ hard: string; soft: string }> = [];
    for (let i = 0; i < n; i++) {
      const a = this.sched.getAffinity(domid, i);
      out.push({ hard: cpuListString(a.hard, this.nrCpus), soft: cpuListString(a.soft, this.nrCpus) });
    }
    return out;
  }

  /**
   * Where each vCPU of the domain is (XEN_DOMCTL_getvcpuinfo's cpu = v->processor and running =
   * v->is_running): the pCPU the host's scheduler runs it on now, else the one it last ran on or
   * is assigned to. null without the host's scheduler (Ctrl's own pools schedule nothing).
   */
  placement(domid: number): Array<{ cpu: number; running: boolean }> | null {
    if (this.own) return null;
    let rows;
    try {
      rows = this.sched.vcpuList(domid);
    } catch {
      return null;
    }
    const units = this.pools.unitsOf(domid);
    return rows.map((r, i) => ({ cpu: r.cpu >= 0 ? r.cpu : Math.max(0, units[i]!.processor), running: r.cpu >= 0 }));
  }

  /** vCPU `vcpu` (-1: all of the domain's `n`) gets hard/soft (pCPU lists, null = unchanged). */
  pin(domid: number, n: number, vcpu: unknown, hard: unknown, soft: unknown): void {
    if (typeof vcpu !== 'number' || !Number.isInteger(vcpu) || vcpu < -1 || vcpu >= n)
      throw new CtrlError('EINVAL', `d${domid} has no vCPU ${JSON.stringify(vcpu)} (it has ${n})`, 'vcpu');
    const mask = (m: unknown, f: string): number[] | null => {
      if (m === null || m === undefined) return null;
      if (!Array.isArray(m) || !m.every((c) => Number.isInteger(c))) throw new CtrlError('EINVAL', `${f}: need a list of pCPU numbers or null`, f);
      // Xen intersects the map with the online pCPUs: bits beyond them are ignored, but a map
      // with none of them is -EINVAL (vcpu_set_hard_affinity / cpumask_intersects).
      const cpus = [...new Set(m as number[])].filter((c) => c >= 0 && c < this.nrCpus).sort((a, b) => a - b);
      if (cpus.length === 0) throw new CtrlError('EINVAL', `${f} affinity ${JSON.stringify(m)} has no pCPU of this host (pCPUs 0-${this.nrCpus - 1})`, f);
      return cpus;
    };
    const h = mask(hard, 'hard');
    const s = mask(soft, 'soft');
    const pool = this.pools.poolOfDomain(domid);
    if (h !== null && !h.some((c) => pool.cpus.has(c))) throw new CtrlError('EINVAL', `hard: no pCPU of cpupool ${pool.name} in it`, 'hard');
    // A full mask is stored as null ("all"), as Xen's cpumask_full.
    const hv = h === null ? undefined : h.length === this.nrCpus ? null : h;
    const sv = s === null ? undefined : s.length === this.nrCpus ? null : s;
    for (let i = vcpu === -1 ? 0 : vcpu; i < (vcpu === -1 ? n : vcpu + 1); i++) {
      try {
        this.sched.setAffinity(domid, i, hv, sv);
      } catch (e) {
        throw new CtrlError('EINVAL', e instanceof SchedError ? e.message : String(e));
      }
    }
  }
}
