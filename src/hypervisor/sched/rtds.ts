// SPDX-License-Identifier: GPL-2.0-only
// RTDS: global EDF over the pool's pCPUs with per-vCPU period/budget/extratime, event-driven
// (4.7): no tick; a replenishment queue ordered by deadline drives the one timer, and a vCPU
// whose budget runs out is depleted until its next period. Extratime (4.10): a depleted vCPU
// with extratime runs at a lower priority level instead of idling the pCPU.
// Xen: xen/common/sched_rt.c (RELEASE-4.7.0; extratime from 4.10)
import { EINVAL, SchedError, US, XEN_SCHEDULER_RTDS, inMask, removeFrom, sortedInsert } from './sched-if.ts';
import type { Decision, SchedHost, SchedUnit, Scheduler, Topology } from './sched-if.ts';

export const RTDS_DEFAULT_PERIOD = 10000 * US;
export const RTDS_DEFAULT_BUDGET = 4000 * US;
export const RTDS_MIN_PERIOD = 10 * US;
export const RTDS_MIN_BUDGET = 10 * US;
/** STIME_DELTA_MAX in ns, expressed in us as the domctl carries it. */
export const RTDS_MAX_PERIOD = Math.floor(2 ** 62 / 1000) * US;

interface RtVcpu {
  u: SchedUnit; period: number; budget: number; extratime: boolean;
  curBudget: number; curDeadline: number; level: number;
  running: number; start: number; onRunq: boolean; depleted: boolean; inReplq: boolean;
  /** Statistics: periods completed, deadlines missed while runnable, ns run in the current period. */
  periods: number; misses: number; ranThisPeriod: number; maxOverrun: number;
}

export class Rtds implements Scheduler {
  readonly name = 'rtds';
  readonly id = XEN_SCHEDULER_RTDS;
  private host: SchedHost = { tickle: () => {}, now: () => 0 };
  private readonly pcpus = new Set<number>();
  private readonly curr = new Map<number, RtVcpu | null>();
  /** Runnable with budget (or extratime), sorted by (level, deadline). */
  private readonly runq: RtVcpu[] = [];
  /** Replenishment events, sorted by deadline. */
  private readonly replq: RtVcpu[] = [];
  private readonly units = new Map<string, RtVcpu>();
  /** pCPUs tickled and not yet rescheduled (Xen's prv->tickled). */
  private readonly tickledCpus = new Set<number>();

  init(host: SchedHost, _topo: Topology): void {
    this.host = host;
  }
  deinit(): void {}
  addCpu(cpu: number): void {
    this.pcpus.add(cpu);
    this.curr.set(cpu, null);
  }
  removeCpu(cpu: number): void {
    const c = this.curr.get(cpu);
    if (c) this.stop(c, c.start);
    this.pcpus.delete(cpu);
    this.curr.delete(cpu);
  }

  private key = (s: RtVcpu): number => s.level * 1e18 + s.curDeadline;
  private rv(u: SchedUnit): RtVcpu {
    return u.priv as RtVcpu;
  }

  insertUnit(u: SchedUnit): void {
    const s: RtVcpu = {
      u, period: RTDS_DEFAULT_PERIOD, budget: RTDS_DEFAULT_BUDGET, extratime: true, curBudget: 0, curDeadline: 0, level: 0,
      running: -1, start: 0, onRunq: false, depleted: false, inReplq: false, periods: 0, misses: 0, ranThisPeriod: 0, maxOverrun: 0,
    };
    // A new vCPU takes the domain's parameters (those of its first vCPU), as Xen's rt_alloc_vdata.
    for (const o of this.units.values()) if (o.u.domid === u.domid) { s.period = o.period; s.budget = o.budget; s.extratime = o.extratime; break; }
    u.priv = s;
    this.units.set(`${u.domid}.${u.vcpuId}`, s);
    u.processor = this.pickCpu(u, 0);
  }
  removeUnit(u: SchedUnit): void {
    const s = this.rv(u);
    if (s.running >= 0) this.curr.set(s.running, null);
    this.dequeue(s);
    this.units.delete(`${u.domid}.${u.vcpuId}`);
  }
  private dequeue(s: RtVcpu): void {
    if (s.onRunq) removeFrom(this.runq, s);
    s.onRunq = false;
    if (s.inReplq) removeFrom(this.replq, s);
    s.inReplq = false;
  }
  private enqueue(s: RtVcpu): void {
    if (s.onRunq || s.running >= 0 || !s.u.runnable || s.depleted) return;
    sortedInsert(this.runq, s, this.key);
    s.onRunq = true;
  }
  private replqInsert(s: RtVcpu): void {
    if (s.inReplq) removeFrom(this.replq, s);
    sortedInsert(this.replq, s, (x) => x.curDeadline);
    s.inReplq = true;
  }

  /** rt_update_deadline: move to the period containing now; full budget. A CPU-bound vCPU left with budget missed its deadline. */
  private replenish(s: RtVcpu, now: number): void {
    if (s.curDeadline > 0 && s.u.runnable && s.curBudget > 0 && s.level === 0) s.misses++;
    if (s.curDeadline > 0) s.periods++;
    s.maxOverrun = Math.max(s.maxOverrun, s.ranThisPeriod - s.budget);
    if (now < s.curDeadline) return;
    const n = s.curDeadline === 0 ? 1 : Math.floor((now - s.curDeadline) / s.period) + 1;
    s.curDeadline = s.curDeadline === 0 ? now + s.period : s.curDeadline + n * s.period;
    s.curBudget = s.budget;
    s.level = 0;
    s.depleted = false;
    s.ranThisPeriod = 0;
  }

  sleep(u: SchedUnit, now: number): void {
    if (!u.runnable) return;
    const s = this.rv(u);
    u.runnable = false;
    if (s.onRunq) removeFrom(this.runq, s);
    s.onRunq = false;
    if (s.running >= 0) this.host.tickle(s.running);
    void now;
  }

  wake(u: SchedUnit, now: number): void {
    if (u.runnable) return;
    const s = this.rv(u);
    u.runnable = true;
    if (s.running >= 0) return;
    // rt_vcpu_wake: past its deadline it starts a new period; the replenishment event is (re)armed.
    if (now >= s.curDeadline) {
      if (s.curDeadline > 0) { s.periods--; } // not a period of demand: no miss either
      const b = s.curBudget; s.curBudget = 0; this.replenish(s, now); void b;
    }
    this.replqInsert(s);
    this.enqueue(s);
    this.tickle(s);
  }
  yield(_u: SchedUnit): void {}

  /** runq_tickle: an idle pCPU in hard affinity, else the one running the latest deadline later than ours. */
  private tickle(s: RtVcpu): void {
    let victim = -1, latest = -Infinity;
    for (const c of this.pcpus) {
      if (!inMask(s.u.hard, c) || this.tickledCpus.has(c)) continue;
      const cur = this.curr.get(c) ?? null;
      if (cur === null) { this.tickledCpus.add(c); this.host.tickle(c); return; }
      const k = this.key(cur);
      if (k > latest) { latest = k; victim = c; }
    }
    if (victim >= 0 && latest > this.key(s)) { this.tickledCpus.add(victim); this.host.tickle(victim); }
  }

  private stop(s: RtVcpu, now: number): void {
    const ran = Math.max(0, now - s.start);
    s.curBudget -= ran;
    if (s.level === 0) s.ranThisPeriod += ran;
    if (s.curBudget <= 0) {
      if (s.extratime) { s.level++; s.curBudget = s.budget; }
      else { s.curBudget = 0; s.depleted = true; }
    }
    this.curr.set(s.running, null);
    s.running = -1;
  }

  /** The replenishment handler (Xen's repl_timer_handler), run lazily on every decision at time now. */
  private handleReplenishments(now: number): void {
    while (this.replq.length > 0 && this.replq[0]!.curDeadline <= now) {
      const s = this.replq.shift()!;
      s.inReplq = false;
      if (s.onRunq) { removeFrom(this.runq, s); s.onRunq = false; }
      const running = s.running;
      if (running >= 0) { this.stop(s, now); this.curr.set(running, null); }
      this.replenish(s, now);
      if (s.u.runnable) this.replqInsert(s);
      if (running >= 0) { s.running = running; s.start = now; this.curr.set(running, s); this.host.tickle(running); }
      else if (s.u.runnable) { this.enqueue(s); this.tickle(s); }
    }
  }

  doSchedule(cpu: number, now: number): Decision {
    this.tickledCpus.delete(cpu);
    this.handleReplenishments(now);
    const prev = this.curr.get(cpu) ?? null;
    if (prev !== null) {
      this.stop(prev, now);
      this.enqueue(prev);
    }
    let snext: RtVcpu | null = null;
    for (const s of this.runq) if (inMask(s.u.hard, cpu)) { snext = s; break; }
    const nextRepl = this.replq.length > 0 ? this.replq[0]!.curDeadline - now : Infinity;
    if (snext === null) return { unit: null, sliceNs: Math.max(1, nextRepl) };
    removeFrom(this.runq, snext);
    snext.onRunq = false;
    snext.running = cpu;
    snext.start = now;
    snext.u.processor = cpu;
    this.curr.set(cpu, snext);
    // Run until the budget is gone or the next replenishment (which may preempt by EDF).
    return { unit: snext.u, sliceNs: Math.max(1, Math.min(snext.curBudget, nextRepl)) };
  }

  pickCpu(u: SchedUnit, _now: number): number {
    const cands = [...this.pcpus].filter((c) => inMask(u.hard, c)).sort((a, b) => a - b);
    const soft = cands.filter((c) => inMask(u.soft, c));
    const pool = soft.length > 0 ? soft : cands;
    if (pool.includes(u.processor)) return u.processor;
    return pool.find((c) => this.curr.get(c) === null) ?? pool[0] ?? -1;
  }
  migrate(u: SchedUnit, cpu: number, _now: number): void {
    u.processor = cpu;
  }

  private validate(p: Record<string, number | boolean>, cur: { period: number; budget: number }): { period: number; budget: number; extratime?: boolean } {
    const per = p['period'] ?? cur.period / US, bud = p['budget'] ?? cur.budget / US, ex = p['extratime'];
    if (typeof per !== 'number' || typeof bud !== 'number' || !Number.isInteger(per) || !Number.isInteger(bud)) throw new SchedError(EINVAL, 'period/budget must be integers (us)');
    // rt_dom_cntl (4.7 checks period/budget == 0; 4.8+ the full range): EINVAL, nothing changes.
    if (per * US > RTDS_MAX_PERIOD || per * US < RTDS_MIN_PERIOD || bud * US < RTDS_MIN_BUDGET || bud > per) {
      throw new SchedError(EINVAL, `period ${per} us / budget ${bud} us out of range (period ${RTDS_MIN_PERIOD / US}.., budget ${RTDS_MIN_BUDGET / US}..period)`);
    }
    if (ex !== undefined && typeof ex !== 'boolean') throw new SchedError(EINVAL, 'extratime must be a boolean');
    return { period: per * US, budget: bud * US, extratime: ex };
  }
  /**
   * New parameters take effect at once: a new period starts now with the full new budget. (Xen
   * keeps the old deadline until the next replenishment, so shrinking a 10 ms period to 1 ms
   * leaves up to 10 ms under the old one; see docs/design/schedulers.md §4.)
   */
  private apply(s: RtVcpu, v: { period: number; budget: number; extratime?: boolean }): void {
    s.period = v.period;
    s.budget = v.budget;
    if (v.extratime !== undefined) s.extratime = v.extratime;
    if (s.curDeadline === 0) return; // never ran: the first wake starts its first period
    const now = this.host.now();
    if (s.running >= 0) {
      const cpu = s.running;
      this.stop(s, now);
      s.running = cpu;
      s.start = now;
      this.curr.set(cpu, s);
      this.host.tickle(cpu);
    }
    s.curDeadline = now + s.period;
    s.curBudget = s.budget;
    s.level = 0;
    s.depleted = false;
    s.ranThisPeriod = 0;
    if (s.onRunq) { removeFrom(this.runq, s); s.onRunq = false; }
    if (s.u.runnable) { this.replqInsert(s); this.enqueue(s); if (s.running < 0) this.tickle(s); }
  }
  private ofDomain(domid: number): RtVcpu[] {
    return [...this.units.values()].filter((s) => s.u.domid === domid).sort((a, b) => a.u.vcpuId - b.u.vcpuId);
  }
  getDomain(domid: number): Record<string, number | boolean> {
    const s = this.ofDomain(domid)[0];
    return { period: (s?.period ?? RTDS_DEFAULT_PERIOD) / US, budget: (s?.budget ?? RTDS_DEFAULT_BUDGET) / US, extratime: s?.extratime ?? true };
  }
  adjustDomain(domid: number, p: Record<string, number | boolean>): void {
    const vs = this.ofDomain(domid);
    const v = this.validate(p, vs[0] ?? { period: RTDS_DEFAULT_PERIOD, budget: RTDS_DEFAULT_BUDGET });
    for (const s of vs) this.apply(s, v);
  }
  getVcpu(domid: number, vcpu: number): Record<string, number | boolean> {
    const s = this.units.get(`${domid}.${vcpu}`);
    if (s === undefined) throw new SchedError(EINVAL, `d${domid}v${vcpu}: no such vCPU`);
    return { period: s.period / US, budget: s.budget / US, extratime: s.extratime };
  }
  adjustVcpu(domid: number, vcpu: number, p: Record<string, number | boolean>): void {
    const s = this.units.get(`${domid}.${vcpu}`);
    if (s === undefined) throw new SchedError(EINVAL, `d${domid}v${vcpu}: no such vCPU`);
    this.apply(s, this.validate(p, s));
  }
  getGlobal(): Record<string, number | string> {
    return {};
  }
  adjustGlobal(_p: Record<string, number | string>): void {
    throw new SchedError(EINVAL, 'rtds has no pool parameters');
  }
  dump(): string {
    const out = ['Scheduler: SMP RTDS Scheduler (rtds)', 'Global RunQueue info:'];
    for (const s of this.runq) out.push(`\t[${s.u.domid}.${s.u.vcpuId}] cpu ${s.u.processor}, (${s.period}, ${s.budget}), cur_b=${s.curBudget} cur_d=${s.curDeadline}`);
    return out.join('\n') + '\n';
  }
  /** Test/bench statistics for a unit. */
  stats(u: SchedUnit): { periods: number; misses: number; maxOverrunNs: number } {
    const s = this.rv(u);
    return { periods: s.periods, misses: s.misses, maxOverrunNs: s.maxOverrun };
  }
}
