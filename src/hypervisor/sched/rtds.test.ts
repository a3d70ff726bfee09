// SPDX-License-Identifier: GPL-2.0-only
// RTDS on real CPU-bound guests in deterministic virtual time: a feasible set under global EDF on
// 2 pCPUs misses no deadline over 10,000 periods and gets its budget within 1% every period;
// extratime hands idle time out; parameter validation returns EINVAL and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Rtds } from './rtds.ts';
import { EINVAL, SchedError } from './sched-if.ts';
import { flat, runningNs, schedHost, spinDomain } from './test-support.ts';

test('rtds: feasible set (U = 1.4 on 2 pCPUs) misses no deadline over 10,000 periods; budgets within 1%', () => {
  const { hv, ops, loop } = schedHost(flat(2), 'rtds', { nsPerInstr: 100 });
  const rt = ops.pools.pools.get(0)!.sched as Rtds;
  // (period us, budget us): utilisations 0.5, 0.4, 0.5 (global EDF bound: U <= m - (m-1) umax = 1.5).
  const set = [[1000, 500], [2000, 800], [500, 250]] as const;
  const doms = set.map(([period, budget]) => {
    const d = spinDomain(hv);
    rt.adjustDomain(d.domid, { period, budget, extratime: false });
    return d;
  });
  const T = 10_000 * 1000e3; // 10,000 periods of the 1 ms vCPU
  loop.run(T);
  doms.forEach((d, i) => {
    const [period, budget] = set[i]!;
    const st = rt.stats(ops.unitOf(d.vcpus[0]!)!);
    assert.equal(st.misses, 0, `d${d.domid} missed ${st.misses} deadlines`);
    assert.ok(st.periods >= T / (period * 1000) - 2, `periods ${st.periods}`);
    assert.ok(st.maxOverrunNs <= budget * 1000 * 0.01, `overran its budget by ${st.maxOverrunNs} ns`);
    const share = runningNs(d)[0]! / T;
    assert.ok(Math.abs(share - budget / period) <= 0.01 * (budget / period), `d${d.domid} share ${share}`);
  });
});

test('rtds: extratime vCPUs share the slack; without it they idle at their budget', () => {
  const { hv, ops, loop } = schedHost(flat(1), 'rtds', { nsPerInstr: 100 });
  const rt = ops.pools.pools.get(0)!.sched;
  const a = spinDomain(hv), b = spinDomain(hv);
  rt.adjustDomain(a.domid, { period: 1000, budget: 200, extratime: true });
  rt.adjustDomain(b.domid, { period: 1000, budget: 300, extratime: false });
  loop.run(100e6);
  const ta = runningNs(a)[0]! / 100e6, tb = runningNs(b)[0]! / 100e6;
  assert.ok(Math.abs(tb - 0.3) < 0.003, `b ${tb}`);
  assert.ok(Math.abs(ta - 0.7) < 0.007, `a ${ta}`);
});

test('rtds: per-vCPU parameters; invalid periods and budgets fail with EINVAL and change nothing', () => {
  const { hv, ops } = schedHost(flat(2), 'rtds');
  const d = spinDomain(hv, 2);
  const rt = ops.pools.pools.get(0)!.sched;
  assert.deepEqual(rt.getDomain(d.domid), { period: 10000, budget: 4000, extratime: true });
  rt.adjustVcpu!(d.domid, 1, { period: 20000, budget: 5000 });
  assert.deepEqual(rt.getVcpu!(d.domid, 1), { period: 20000, budget: 5000, extratime: true });
  for (const p of [{ period: 1000, budget: 2000 }, { period: 9, budget: 5 }, { period: 100, budget: 9 }, { period: 0, budget: 0 }, { period: 2 ** 62, budget: 100 }]) {
    assert.throws(() => rt.adjustDomain(d.domid, p), (e: unknown) => e instanceof SchedError && e.errno === EINVAL);
    assert.throws(() => rt.adjustVcpu!(d.domid, 0, p), (e: unknown) => e instanceof SchedError && e.errno === EINVAL);
  }
  assert.throws(() => rt.getVcpu!(d.domid, 2), (e: unknown) => e instanceof SchedError && e.errno === EINVAL);
  assert.deepEqual(rt.getVcpu!(d.domid, 0), { period: 10000, budget: 4000, extratime: true });
  assert.deepEqual(rt.getVcpu!(d.domid, 1), { period: 20000, budget: 5000, extratime: true });
});
