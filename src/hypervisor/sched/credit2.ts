// SPDX-License-Identifier: GPL-2.0-only
// Credit2 (Xen 4.7 with the later fixes, docs/design/schedulers.md §3): runqueues per
// cpu/core/socket/node/all, credit burned at max_weight/weight, reset when the best candidate
// has none left, ratelimit, caps as a domain budget per 10 ms period (4.10), load tracking with
// push/pull/swap balancing, hard affinity never violated and soft affinity preferred.
// Xen: xen/common/sched_credit2.c (RELEASE-4.7.0; caps from 4.10's sched/credit2.c)
import {
  EINVAL, MS, SchedError, SchedUnit, US, XEN_SCHEDULER_CREDIT2, XEN_SYSCTL_SCHED_RATELIMIT_MAX,
  XEN_SYSCTL_SCHED_RATELIMIT_MIN, cpuCore, cpuNode, cpuSocket, inMask, removeFrom,
} from './sched-if.ts';
import type { Decision, SchedHost, Scheduler, Topology } from './sched-if.ts';

export const CSCHED2_DEFAULT_WEIGHT = 256;
export const CSCHED2_CREDIT_INIT = 10 * MS;
export const CSCHED2_MIN_TIMER = 500 * US;
export const CSCHED2_CARRYOVER_MAX = CSCHED2_MIN_TIMER;
/** 4.7 had 2 ms; 4.8 raised it to CREDIT_INIT (fewer pointless reschedules). */
export const CSCHED2_MAX_TIMER = CSCHED2_CREDIT_INIT;
export const CSCHED2_MIGRATE_RESIST = 500 * US;
export const CSCHED2_BDGT_REPL_PERIOD = 10 * MS;
/** Load averaging window (Xen: 2^opt_load_window_shift ns, shift 18). */
export const LOAD_WINDOW_NS = 1 << 18;
export const RUNQUEUE_ARRANGEMENTS = ['cpu', 'core', 'socket', 'node', 'all'] as const;
export type Arrangement = (typeof RUNQUEUE_ARRANGEMENTS)[number];

interface Dom { weight: number; cap: number; budget: number; totBudget: number; nextRepl: number; units: Set<C2Vcpu> }
interface C2Vcpu {
  u: SchedUnit; dom: Dom; credit: number; rq: Runqueue | null; onRunq: boolean;
  /** pCPU it is running on now (-1: not running) and since when. */
  running: number; start: number; yielded: boolean;
  /** Start of its current uninterrupted run on the pCPU (ratelimit measures from here, not from the last decision). */
  since: number;
}
class Runqueue {
  readonly cpus = new Set<number>();
  /** Runnable, not running; sorted by credit, highest first. */
  readonly runq: C2Vcpu[] = [];
  /** Every vCPU assigned here (Xen's rqd->svc). */
  readonly svc = new Set<C2Vcpu>();
  maxWeight = 0;
  /** Instantaneous load (runnable + running) and its exponential average (x LOAD_WINDOW scale, as a fraction). */
  load = 0;
  avgload = 0;
  loadLast = 0;
  constructor(readonly id: number) {}
  updateLoad(now: number, change: number): void {
    const dt = Math.max(0, now - this.loadLast);
    const f = Math.min(1, dt / LOAD_WINDOW_NS);
    this.avgload = this.avgload * (1 - f) + this.load * f;
    this.loadLast = now;
    this.load += change;
  }
}

export class Credit2 implements Scheduler {
  readonly name = 'credit2';
  readonly id = XEN_SCHEDULER_CREDIT2;
  ratelimitUs = 1000;
  arrangement: Arrangement;
  private host: SchedHost = { tickle: () => {}, now: () => 0 };
  private topo: Topology = { sockets: 1, coresPerSocket: 1, threadsPerCore: 1, nodes: 1 };
  private readonly rqs = new Map<number, Runqueue>();
  private readonly cpuRq = new Map<number, Runqueue>();
  private readonly curr = new Map<number, C2Vcpu | null>();
  private readonly doms = new Map<number, Dom>();
  private lastBalance = 0;
  /** pCPUs tickled and not yet rescheduled (Xen's rqd->tickled): a second wake picks another idle pCPU. */
  private readonly tickledCpus = new Set<number>();
  /** Statistics: migrations done by the balancer. */
  migrations = 0;

  constructor(o: { arrangement?: Arrangement; ratelimitUs?: number } = {}) {
    this.arrangement = o.arrangement ?? 'socket';
    if (o.ratelimitUs !== undefined) this.adjustGlobal({ ratelimit: o.ratelimitUs });
  }

  init(host: SchedHost, topo: Topology): void {
    this.host = host;
    this.topo = topo;
  }
  deinit(): void {
    this.rqs.clear();
    this.cpuRq.clear();
  }

  private rqIdOf(cpu: number): number {
    switch (this.arrangement) {
      case 'cpu': return cpu;
      case 'core': return cpuCore(this.topo, cpu);
      case 'socket': return cpuSocket(this.topo, cpu);
      case 'node': return cpuNode(this.topo, cpu);
      case 'all': return 0;
    }
  }

  addCpu(cpu: number): void {
    const id = this.rqIdOf(cpu);
    let rq = this.rqs.get(id);
    if (rq === undefined) this.rqs.set(id, (rq = new Runqueue(id)));
    rq.cpus.add(cpu);
    this.cpuRq.set(cpu, rq);
    this.curr.set(cpu, null);
  }
  removeCpu(cpu: number): void {
    const rq = this.cpuRq.get(cpu);
    if (rq === undefined) return;
    const c = this.curr.get(cpu);
    if (c) this.stopRunning(c, 0);
    rq.cpus.delete(cpu);
    this.cpuRq.delete(cpu);
    this.curr.delete(cpu);
    if (rq.cpus.size === 0) {
      // Its vCPUs go to another runqueue (Xen migrates them when the pCPU leaves).
      this.rqs.delete(rq.id);
      for (const s of [...rq.svc]) {
        this.detach(s, 0);
        const to = this.firstRqFor(s);
        if (to) this.attach(s, to, 0);
      }
    }
  }
  get cpus(): number[] {
    return [...this.cpuRq.keys()].sort((a, b) => a - b);
  }

  private dom(domid: number): Dom {
    let d = this.doms.get(domid);
    if (d === undefined) {
      d = { weight: CSCHED2_DEFAULT_WEIGHT, cap: 0, budget: 0, totBudget: 0, nextRepl: 0, units: new Set() };
      this.doms.set(domid, d);
    }
    return d;
  }
  private sv(u: SchedUnit): C2Vcpu {
    return u.priv as C2Vcpu;
  }

  private firstRqFor(s: C2Vcpu): Runqueue | null {
    for (const rq of this.rqs.values()) for (const c of rq.cpus) if (inMask(s.u.hard, c)) return rq;
    return null;
  }
  private attach(s: C2Vcpu, rq: Runqueue, now: number): void {
    s.rq = rq;
    rq.svc.add(s);
    this.updateMaxWeight(rq);
    if (s.u.runnable) {
      rq.updateLoad(now, 1);
      this.runqInsert(s);
    }
    if (!rq.cpus.has(s.u.processor)) s.u.processor = [...rq.cpus].find((c) => inMask(s.u.hard, c)) ?? s.u.processor;
  }
  private detach(s: C2Vcpu, now: number): void {
    const rq = s.rq;
    if (rq === null) return;
    if (s.onRunq) this.runqRemove(s);
    if (s.u.runnable) rq.updateLoad(now, -1);
    rq.svc.delete(s);
    s.rq = null;
    this.updateMaxWeight(rq);
  }
  private updateMaxWeight(rq: Runqueue): void {
    let m = 0;
    for (const s of rq.svc) m = Math.max(m, s.dom.weight);
    rq.maxWeight = m;
  }
  private runqInsert(s: C2Vcpu): void {
    if (s.onRunq || s.rq === null) return;
    const q = s.rq.runq;
    let i = 0;
    while (i < q.length && q[i]!.credit >= s.credit) i++;
    q.splice(i, 0, s);
    s.onRunq = true;
  }
  private runqRemove(s: C2Vcpu): void {
    if (!s.onRunq || s.rq === null) return;
    removeFrom(s.rq.runq, s);
    s.onRunq = false;
  }

  insertUnit(u: SchedUnit): void {
    const d = this.dom(u.domid);
    const s: C2Vcpu = { u, dom: d, credit: CSCHED2_CREDIT_INIT, rq: null, onRunq: false, running: -1, start: 0, yielded: false, since: 0 };
    u.priv = s;
    d.units.add(s);
    const cpu = this.pickCpu(u, 0);
    const rq = this.cpuRq.get(cpu) ?? this.firstRqFor(s);
    u.processor = cpu;
    if (rq) this.attach(s, rq, 0);
  }
  removeUnit(u: SchedUnit): void {
    const s = this.sv(u);
    if (s.running >= 0) this.curr.set(s.running, null);
    s.running = -1;
    this.detach(s, 0);
    s.dom.units.delete(s);
    if (s.dom.units.size === 0) this.doms.delete(u.domid);
  }

  sleep(u: SchedUnit, now: number): void {
    if (!u.runnable) return;
    const s = this.sv(u);
    u.runnable = false;
    s.rq?.updateLoad(now, -1);
    this.runqRemove(s);
    if (s.running >= 0) this.host.tickle(s.running);
  }

  wake(u: SchedUnit, now: number): void {
    if (u.runnable) return;
    const s = this.sv(u);
    u.runnable = true;
    if (s.running >= 0) return; // still on its pCPU (sleep then wake within a slice)
    // Xen's csched2_vcpu_wake + runq_assign: choose a runqueue (affinity/load), queue, tickle.
    const cpu = this.pickCpu(u, now);
    const rq = this.cpuRq.get(cpu);
    if (rq === undefined) return;
    if (s.rq !== rq) {
      u.runnable = false;
      this.detach(s, now);
      u.runnable = true;
      this.attach(s, rq, now);
    } else {
      rq.updateLoad(now, 1);
      this.runqInsert(s);
    }
    u.processor = cpu;
    this.tickle(s, now);
  }

  yield(u: SchedUnit): void {
    this.sv(u).yielded = true;
  }

  /** Xen's runq_tickle: an idle pCPU of the runqueue in hard affinity (soft first), else the one running the lowest credit below ours. */
  private tickle(s: C2Vcpu, now: number): void {
    const rq = s.rq!;
    let best = -1, bestCredit = Infinity;
    for (const pass of [0, 1]) {
      for (const c of rq.cpus) {
        if (!inMask(s.u.hard, c) || (pass === 0 && !inMask(s.u.soft, c))) continue;
        if (this.tickledCpus.has(c)) continue;
        const cur = this.curr.get(c) ?? null;
        if (cur === null) {
          this.tickledCpus.add(c);
          this.host.tickle(c);
          return;
        }
        const credit = cur.credit - this.burn(cur, now);
        if (credit < bestCredit) {
          bestCredit = credit;
          best = c;
        }
      }
    }
    if (best >= 0 && bestCredit < s.credit) {
      this.tickledCpus.add(best);
      this.host.tickle(best);
    }
  }

  /** Credits the running s has burned since its slice began (t2c: ns x max_weight / weight). */
  private burn(s: C2Vcpu, now: number): number {
    if (s.running < 0 || s.rq === null) return 0;
    return ((now - s.start) * s.rq.maxWeight) / s.dom.weight;
  }
  private stopRunning(s: C2Vcpu, now: number): void {
    const ran = Math.max(0, now - s.start);
    s.credit -= this.burn(s, now);
    if (s.dom.cap > 0) s.dom.budget -= ran;
    this.curr.set(s.running, null);
    s.running = -1;
  }

  /** 4.10 caps: refill the domain budget at each period boundary (debt carries over). */
  private replenish(d: Dom, now: number): void {
    if (d.cap === 0 || now < d.nextRepl) return;
    const periods = Math.floor((now - d.nextRepl) / CSCHED2_BDGT_REPL_PERIOD) + 1;
    d.budget = Math.min(d.totBudget, d.budget + periods * d.totBudget);
    d.nextRepl += periods * CSCHED2_BDGT_REPL_PERIOD;
  }
  private capped(d: Dom): boolean {
    return d.cap > 0 && d.budget <= 0;
  }

  /** Xen's reset_credit: every vCPU of the runqueue gets CREDIT_INIT more, carrying at most CARRYOVER_MAX. */
  private resetCredit(rq: Runqueue, now: number): void {
    for (const s of rq.svc) {
      if (s.running >= 0) {
        s.credit -= this.burn(s, now);
        s.start = now;
      }
      s.credit = Math.min(s.credit, CSCHED2_CARRYOVER_MAX) + CSCHED2_CREDIT_INIT;
    }
    rq.runq.sort((a, b) => b.credit - a.credit);
  }

  doSchedule(cpu: number, now: number): Decision {
    const rq = this.cpuRq.get(cpu);
    this.tickledCpus.delete(cpu);
    if (rq === undefined) return { unit: null, sliceNs: Infinity };
    if (now - this.lastBalance >= CSCHED2_MIN_TIMER && this.rqs.size > 1) {
      this.lastBalance = now;
      this.balanceLoad(rq, now);
    }
    const prev = this.curr.get(cpu) ?? null;
    let ranNs = 0;
    if (prev !== null) {
      ranNs = now - prev.since;
      this.stopRunning(prev, now);
    }
    for (const d of this.doms.values()) this.replenish(d, now);
    // Ratelimit: a runnable vCPU that ran less than ratelimit keeps the pCPU (unless it yielded or is capped).
    const prevOk = prev !== null && prev.u.runnable && prev.rq === rq && inMask(prev.u.hard, cpu) && !this.capped(prev.dom);
    if (prevOk && !prev.yielded && this.ratelimitUs > 0 && ranNs < this.ratelimitUs * US) {
      return this.run(prev, cpu, now, this.ratelimitUs * US - ranNs, true);
    }
    // runq_candidate: the highest-credit queued vCPU allowed here (hard affinity, not capped).
    let snext: C2Vcpu | null = null;
    for (const s of rq.runq) {
      if (!inMask(s.u.hard, cpu) || this.capped(s.dom)) continue;
      // Soft affinity: skip one whose soft affinity excludes us while an idle pCPU of it would take it.
      if (s.u.soft !== null && !s.u.soft.has(cpu) && [...s.u.soft].some((c) => rq.cpus.has(c) && inMask(s.u.hard, c) && this.curr.get(c) === null)) continue;
      snext = s;
      break;
    }
    if (prevOk && (snext === null || (!prev.yielded && prev.credit >= snext.credit))) snext = prev;
    let requeued: C2Vcpu | null = null;
    if (prev !== null) {
      prev.yielded = false;
      if (prev !== snext && prev.u.runnable && prev.rq !== null) {
        this.runqInsert(prev);
        requeued = prev;
      }
    }
    if (snext === null) {
      if (requeued !== null) this.tickle(requeued, now);
      return { unit: null, sliceNs: this.nextReplenishment(now) };
    }
    this.runqRemove(snext);
    const continuing = snext === prev;
    if (snext.credit <= 0) this.resetCredit(rq, now);
    // Slice: until snext's credit falls to the next candidate's, in [MIN_TIMER, MAX_TIMER].
    let next: C2Vcpu | null = null;
    for (const s of rq.runq) if (inMask(s.u.hard, cpu)) { next = s; break; }
    const diff = next === null ? CSCHED2_MAX_TIMER : snext.credit - next.credit;
    let slice = Math.min(CSCHED2_MAX_TIMER, Math.max(CSCHED2_MIN_TIMER, (diff * snext.dom.weight) / Math.max(1, rq.maxWeight)));
    if (this.ratelimitUs > 0) slice = Math.max(slice, this.ratelimitUs * US);
    const d = this.run(snext, cpu, now, slice, continuing);
    // csched2_context_saved: a descheduled vCPU that is still runnable goes back on the runqueue
    // and runq_tickle() looks for a pCPU for it (an idle one, or one running less credit). Without
    // it, a vCPU re-pinned away from the pCPU it ran on waited for a pCPU that slept until tickled.
    if (requeued !== null) this.tickle(requeued, now);
    return d;
  }

  private run(s: C2Vcpu, cpu: number, now: number, slice: number, continuing = false): Decision {
    if (!continuing) s.since = now;
    if (s.dom.cap > 0) slice = Math.min(slice, Math.max(1, s.dom.budget), s.dom.nextRepl - now);
    s.running = cpu;
    s.start = now;
    s.u.processor = cpu;
    this.curr.set(cpu, s);
    return { unit: s.u, sliceNs: Math.max(1, slice) };
  }

  private nextReplenishment(now: number): number {
    let t = Infinity;
    for (const d of this.doms.values()) if (d.cap > 0 && d.budget <= 0) t = Math.min(t, d.nextRepl - now);
    return t;
  }

  pickCpu(u: SchedUnit, now: number): number {
    // Prefer the current runqueue's pCPU when allowed; else the least-loaded runqueue with a pCPU in
    // hard ∩ soft affinity, then hard only.
    const s = u.priv as C2Vcpu | null;
    for (const useSoft of [true, false]) {
      let best: Runqueue | null = null, bestLoad = Infinity;
      for (const rq of this.rqs.values()) {
        const ok = [...rq.cpus].some((c) => inMask(u.hard, c) && (!useSoft || inMask(u.soft, c)));
        if (!ok) continue;
        rq.updateLoad(now, 0);
        let load = rq.avgload + rq.load;
        if (s?.rq === rq) load -= 0.5; // migration resistance
        if (load < bestLoad) {
          bestLoad = load;
          best = rq;
        }
      }
      if (best !== null) {
        const cands = [...best.cpus].filter((c) => inMask(u.hard, c) && (!useSoft || inMask(u.soft, c))).sort((a, b) => a - b);
        if (cands.includes(u.processor)) return u.processor;
        return cands.find((c) => this.curr.get(c) === null) ?? cands[0]!;
      }
      if (u.soft === null) break;
    }
    return u.processor >= 0 && this.cpuRq.has(u.processor) ? u.processor : (this.cpus[0] ?? -1);
  }

  migrate(u: SchedUnit, cpu: number, now: number): void {
    const s = this.sv(u);
    const rq = this.cpuRq.get(cpu);
    if (rq === undefined || s.running >= 0) return;
    if (s.rq !== rq) {
      const run = u.runnable;
      this.detach(s, now);
      this.attach(s, rq, now);
      if (run) this.tickle(s, now);
    }
    u.processor = cpu;
  }

  /** Xen's balance_load: between this runqueue and the most differently loaded one, push, pull or swap to minimise |load difference|. */
  private balanceLoad(rq: Runqueue, now: number): void {
    rq.updateLoad(now, 0);
    let other: Runqueue | null = null, maxDelta = 0;
    for (const o of this.rqs.values()) {
      if (o === rq) continue;
      o.updateLoad(now, 0);
      const d = Math.abs(rq.load - o.load);
      if (d > maxDelta) { maxDelta = d; other = o; }
    }
    if (other === null || maxDelta < 2) return; // a difference of one vCPU cannot be improved
    const movable = (s: C2Vcpu, to: Runqueue): boolean =>
      s.running < 0 && s.u.runnable && [...to.cpus].some((c) => inMask(s.u.hard, c));
    let best = maxDelta, push: C2Vcpu | null = null, pull: C2Vcpu | null = null;
    for (const p of [null, ...rq.svc]) {
      if (p !== null && !movable(p, other)) continue;
      for (const q of [null, ...other.svc]) {
        if (p === null && q === null) continue;
        if (q !== null && !movable(q, rq)) continue;
        const move = (p ? 1 : 0) - (q ? 1 : 0);
        const d = Math.abs(rq.load - move - (other.load + move));
        if (d < best) { best = d; push = p; pull = q; }
      }
    }
    for (const [s, to] of [[push, other], [pull, rq]] as const) {
      if (s === null) continue;
      this.detach(s, now);
      this.attach(s, to, now);
      this.migrations++;
      this.tickle(s, now);
    }
  }

  getDomain(domid: number): Record<string, number> {
    const d = this.doms.get(domid);
    return { weight: d?.weight ?? CSCHED2_DEFAULT_WEIGHT, cap: d?.cap ?? 0 };
  }
  /** XEN_DOMCTL_SCHEDOP_putinfo: weight 1..65535 (libxl's range; 0 = unchanged as in Xen), cap 0..100 x vCPUs. */
  adjustDomain(domid: number, p: Record<string, number | boolean>): void {
    const d = this.dom(domid);
    const w = p['weight'], cap = p['cap'];
    if (w !== undefined && (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 65535)) throw new SchedError(EINVAL, `weight ${w} out of range 1..65535`);
    if (cap !== undefined && (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 0 || cap > 100 * Math.max(1, d.units.size))) throw new SchedError(EINVAL, `cap ${cap} out of range`);
    if (typeof w === 'number' && w !== 0) {
      d.weight = w;
      for (const rq of this.rqs.values()) this.updateMaxWeight(rq);
    }
    if (typeof cap === 'number') {
      d.cap = cap;
      d.totBudget = (cap * CSCHED2_BDGT_REPL_PERIOD) / 100;
      d.budget = d.totBudget;
    }
  }
  getGlobal(): Record<string, number | string> {
    return { ratelimit: this.ratelimitUs, runqueue: this.arrangement };
  }
  adjustGlobal(p: Record<string, number | string>): void {
    const r = p['ratelimit'], a = p['runqueue'];
    if (r !== undefined && (typeof r !== 'number' || !Number.isInteger(r) || (r !== 0 && (r < XEN_SYSCTL_SCHED_RATELIMIT_MIN || r > XEN_SYSCTL_SCHED_RATELIMIT_MAX)))) {
      throw new SchedError(EINVAL, `ratelimit ${r} outside [${XEN_SYSCTL_SCHED_RATELIMIT_MIN},${XEN_SYSCTL_SCHED_RATELIMIT_MAX}]`);
    }
    if (a !== undefined && (!(RUNQUEUE_ARRANGEMENTS as readonly unknown[]).includes(a) || this.cpuRq.size > 0)) {
      throw new SchedError(EINVAL, `runqueue arrangement ${a} (only before the pool has pCPUs)`);
    }
    if (typeof r === 'number') this.ratelimitUs = r;
    if (typeof a === 'string') this.arrangement = a as Arrangement;
  }
  dump(): string {
    const out = [`Scheduler: SMP Credit Scheduler rev2 (credit2)`, `Active queues: ${this.rqs.size}`, `\tdefault-weight     = ${CSCHED2_DEFAULT_WEIGHT}`];
    for (const rq of this.rqs.values()) {
      out.push(`Runqueue ${rq.id}:`, `\tncpus              = ${rq.cpus.size}`, `\tmax_weight         = ${rq.maxWeight}`, `\tinstload           = ${rq.load}`);
      for (const s of rq.runq) out.push(`\t  d${s.u.domid}v${s.u.vcpuId} credit=${Math.round(s.credit)}`);
    }
    return out.join('\n') + '\n';
  }
  /** Test/bench inspection: the pCPUs of each runqueue (Xen's rqd->active), by runqueue id. */
  runqueues(): number[][] {
    return [...this.rqs.values()].sort((a, b) => a.id - b.id).map((rq) => [...rq.cpus].sort((a, b) => a - b));
  }
  /** Test/bench inspection: credit of a unit and its runqueue id. */
  inspect(u: SchedUnit): { credit: number; rq: number } {
    const s = this.sv(u);
    return { credit: s.credit, rq: s.rq?.id ?? -1 };
  }
}
