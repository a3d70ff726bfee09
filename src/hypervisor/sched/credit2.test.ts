// SPDX-License-Identifier: GPL-2.0-only
// Credit2 on real CPU-bound guests in deterministic virtual time: weights 256:512 share a
// contended pCPU 1:2 within 2%, hard affinity is never violated, caps limit a domain to its
// budget, and bad parameters fail with EINVAL changing nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EINVAL, SchedError, inMask } from './sched-if.ts';
import { flat, runningNs, schedHost, spinDomain } from './test-support.ts';

test('credit2: weights 256 and 512 on one pCPU share it 1:2 within 2%', () => {
  const { hv, ops, loop } = schedHost(flat(1), 'credit2');
  const a = spinDomain(hv), b = spinDomain(hv);
  ops.pools.poolOfDomain(b.domid).sched.adjustDomain(b.domid, { weight: 512 });
  loop.run(300e6);
  const [ta] = runningNs(a), [tb] = runningNs(b);
  const ratio = tb! / ta!;
  assert.ok(Math.abs(ratio - 2) / 2 < 0.02, `ratio ${ratio}`);
  assert.ok(ta! + tb! > 0.99 * 300e6, `pCPU busy ${ta! + tb!}`);
});

test('credit2: hard affinity is never violated on 4 pCPUs with 6 pinned and free vCPUs', () => {
  const { hv, ops, loop } = schedHost({ sockets: 2, coresPerSocket: 2, threadsPerCore: 1, nodes: 2 }, 'credit2');
  const d = spinDomain(hv, 6);
  for (let i = 1; i < 6; i++) assert.ok(hv.startVcpu(d.vcpus[i]!, 0x80000000));
  const pins = [new Set([0]), new Set([3]), new Set([1, 2]), null, null, new Set([2])];
  pins.forEach((m, i) => ops.pools.setAffinity(d.domid, i, m, undefined));
  let checked = 0;
  loop.onDecision = (cpu, u) => {
    if (u === null) return;
    checked++;
    assert.ok(inMask(u.hard, cpu), `d${u.domid}v${u.vcpuId} on pCPU ${cpu}`);
  };
  loop.run(100e6);
  assert.ok(checked > 100);
  const t = runningNs(d);
  for (const x of t) assert.ok(x > 5e6, `every vCPU ran: ${t}`);
});

test('credit2: cap 25% holds a CPU-bound domain to a quarter of a pCPU', () => {
  const { hv, ops, loop } = schedHost(flat(1), 'credit2');
  const a = spinDomain(hv), b = spinDomain(hv);
  ops.pools.poolOfDomain(a.domid).sched.adjustDomain(a.domid, { cap: 25 });
  loop.run(200e6);
  const [ta] = runningNs(a), [tb] = runningNs(b);
  assert.ok(Math.abs(ta! / 200e6 - 0.25) < 0.01, `capped share ${ta! / 200e6}`);
  assert.ok(tb! > 0.74 * 200e6);
});

test('credit2: invalid weight, cap and ratelimit fail with EINVAL and change nothing', () => {
  const { hv, ops } = schedHost(flat(2), 'credit2');
  const a = spinDomain(hv);
  const s = ops.pools.poolOfDomain(a.domid).sched;
  s.adjustDomain(a.domid, { weight: 300 });
  for (const p of <Array<Record<string, number>>>[{ weight: 65536 }, { weight: -1 }, { weight: 1.5 }, { cap: 101 }, { weight: 100, cap: -1 }]) {
    assert.throws(() => s.adjustDomain(a.domid, p), (e: unknown) => e instanceof SchedError && e.errno === EINVAL);
  }
  assert.deepEqual(s.getDomain(a.domid), { weight: 300, cap: 0 });
  s.adjustDomain(a.domid, { weight: 0 }); // 0: unchanged, as Xen
  assert.deepEqual(s.getDomain(a.domid), { weight: 300, cap: 0 });
  for (const r of [99, 500001]) assert.throws(() => s.adjustGlobal({ ratelimit: r }), (e: unknown) => e instanceof SchedError && e.errno === EINVAL);
  assert.throws(() => s.adjustGlobal({ runqueue: 'core' }), (e: unknown) => e instanceof SchedError && e.errno === EINVAL);
  assert.deepEqual(s.getGlobal(), { ratelimit: 1000, runqueue: 'socket' });
});

test('credit2: soft affinity is preferred when its pCPU is free, never at the cost of hard affinity', () => {
  const { hv, loop } = schedHost(flat(2), 'credit2');
  const d = spinDomain(hv, 2);
  hv.startVcpu(d.vcpus[1]!, 0x80000000);
  loop.control.setAffinity(d.domid, 0, null, [1]);
  loop.control.setAffinity(d.domid, 1, null, [0]);
  const on = [[0, 0], [0, 0]];
  loop.onDecision = (cpu, u) => { if (u) on[u.vcpuId]![cpu]!++; };
  loop.run(20e6);
  assert.ok(on[0]![1]! > 0 && on[0]![0] === 0, `vCPU 0 decisions per pCPU ${on[0]}`);
  assert.ok(on[1]![0]! > 0 && on[1]![1] === 0, `vCPU 1 decisions per pCPU ${on[1]}`);
  // With hard affinity on pCPU 0 only, soft affinity for pCPU 1 cannot move it there.
  loop.control.setAffinity(d.domid, 0, [0], [1]);
  on.forEach((r) => r.fill(0));
  loop.run(40e6);
  assert.equal(on[0]![1], 0);
  assert.ok(on[0]![0]! > 0);
});
