// SPDX-License-Identifier: GPL-2.0-only
// Scheduler figures (docs/design/schedulers.md §7), all in deterministic virtual time except (3):
//   (1) Credit2 fairness: two spinning PV guests, weights 256 and 512, one pCPU; hard affinity checked at every decision on 4 pCPUs
//   (2) RTDS: a feasible set (U = 1.4 on 2 pCPUs) over 10,000 periods: deadline misses and budget overrun
//   (3) decision cost: ns per do_schedule of credit2, rtds, null vs the round-robin pick, same run, 64 runnable vCPUs, 4 pCPUs
// Run: npx tsx bench/sched.bench.ts   (BENCH_DECISIONS, default 200000)
import { RoundRobin } from '../src/hypervisor/sched/round-robin.ts';
import type { Rtds } from '../src/hypervisor/sched/rtds.ts';
import { Cpupools } from '../src/hypervisor/sched/cpupool.ts';
import { inMask } from '../src/hypervisor/sched/sched-if.ts';
import type { Vcpu } from '../src/hypervisor/domain/vcpu.ts';
import { flat, runningNs, schedHost, spinDomain } from '../src/hypervisor/sched/test-support.ts';

const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 200_000);

function fairness(): void {
  const { hv, loop } = schedHost(flat(1), 'credit2');
  const a = spinDomain(hv), b = spinDomain(hv);
  loop.control.setDomainParams(b.domid, 'credit2', { weight: 512 });
  const T = 1000e6;
  loop.run(T);
  const ta = runningNs(a)[0]!, tb = runningNs(b)[0]!;
  console.log(`(1) credit2 fairness, 1 pCPU, ${T / 1e6} ms virtual: weight 256 ran ${(ta / 1e6).toFixed(3)} ms, weight 512 ran ${(tb / 1e6).toFixed(3)} ms, ratio ${(tb / ta).toFixed(4)} (target 2, error ${((Math.abs(tb / ta - 2) / 2) * 100).toFixed(2)}%)`);
  const h = schedHost({ sockets: 2, coresPerSocket: 2, threadsPerCore: 1, nodes: 2 }, 'credit2');
  const d = spinDomain(h.hv, 6);
  for (let i = 1; i < 6; i++) h.hv.startVcpu(d.vcpus[i]!, 0x80000000);
  [[0], [3], [1, 2], null, null, [2]].forEach((m, i) => h.loop.control.setAffinity(d.domid, i, m));
  let decisions = 0, violations = 0;
  h.loop.onDecision = (cpu, u) => { if (u) { decisions++; if (!inMask(u.hard, cpu)) violations++; } };
  h.loop.run(T);
  console.log(`    hard affinity, 6 vCPUs (4 pinned) on 4 pCPUs in 2 runqueues, ${T / 1e6} ms: ${decisions} decisions, ${violations} violations; CPU ms per vCPU ${runningNs(d).map((x) => (x / 1e6).toFixed(1)).join(' ')}`);
}

function rtds(): void {
  const { hv, ops, loop } = schedHost(flat(2), 'rtds', { nsPerInstr: 100 });
  const rt = ops.pools.pools.get(0)!.sched as Rtds;
  const set = [[1000, 500], [2000, 800], [500, 250]] as const;
  const doms = set.map(([period, budget]) => {
    const d = spinDomain(hv);
    rt.adjustDomain(d.domid, { period, budget, extratime: false });
    return d;
  });
  const T = 10_000 * 1000e3;
  loop.run(T);
  console.log(`(2) rtds, 2 pCPUs, U = 1.4, ${T / 1e6} ms virtual (10,000 periods of the 1 ms vCPU):`);
  doms.forEach((d, i) => {
    const [period, budget] = set[i]!;
    const st = rt.stats(ops.unitOf(d.vcpus[0]!)!);
    const share = runningNs(d)[0]! / T;
    console.log(`    (${period} us, ${budget} us): ${st.periods} periods, ${st.misses} deadline misses, max overrun ${st.maxOverrunNs} ns (${((st.maxOverrunNs / (budget * 1000)) * 100).toFixed(2)}% of budget), share ${share.toFixed(4)} (budget/period ${(budget / period).toFixed(4)})`);
  });
}

function cost(): void {
  const results: string[] = [];
  // Round-robin baseline on the same shape: 64 runnable vCPU stand-ins.
  const rr = new RoundRobin();
  const fake = Array.from({ length: 64 }, () => ({ queued: false }) as unknown as Vcpu);
  for (const v of fake) rr.wake(v);
  let t0 = performance.now();
  for (let i = 0; i < DECISIONS; i++) rr.pick();
  const rrNs = ((performance.now() - t0) * 1e6) / DECISIONS;
  results.push(`round-robin pick ${rrNs.toFixed(0)} ns`);
  for (const name of ['credit2', 'rtds', 'null']) {
    const host = { tickle: () => {}, now: () => 0 };
    const pools = new Cpupools(flat(4), name, host);
    const us = pools.addDomain(1, 64);
    let now = 0;
    for (const u of us) pools.wake(u, now);
    for (let i = 0; i < 4000; i++) pools.doSchedule(i & 3, (now += 250_000)); // warm up
    t0 = performance.now();
    for (let i = 0; i < DECISIONS; i++) pools.doSchedule(i & 3, (now += 250_000));
    const ns = ((performance.now() - t0) * 1e6) / DECISIONS;
    results.push(`${name} ${ns.toFixed(0)} ns (${(ns / rrNs).toFixed(1)}x)`);
  }
  console.log(`(3) decision cost, 64 runnable vCPUs on 4 pCPUs, ${DECISIONS} decisions: ${results.join(', ')}`);
}

fairness();
rtds();
cost();
console.log('(4) Debian boot 1 vs 2 pCPUs: through the host daemon, bench/host-boot.bench.ts (docs/design/schedulers.md §9)');
