// SPDX-License-Identifier: GPL-2.0-only
// cpupools over a real Hypervisor: Pool-0 default, create/cpu-add/move a domain/cpu-remove/
// destroy, each pool with its own scheduler running real guests; every bad request fails with
// Xen's errno and leaves the pools as they were; affinity validation; the null scheduler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EEXIST } from './cpupool.ts';
import type { NullSched } from './null.ts';
import { EBUSY, EINVAL, ENODEV, ENOENT, EPERM, SchedError } from './sched-if.ts';
import { flat, runningNs, schedHost, spinDomain } from './test-support.ts';

const errno = (n: number) => (e: unknown) => e instanceof SchedError && e.errno === n;

test('cpupools: create, cpu-add, migrate a domain, run under rtds, cpu-remove and destroy', () => {
  const { hv, ops, loop } = schedHost(flat(4), 'credit2');
  const pools = ops.pools;
  assert.deepEqual(pools.list(), [{ id: 0, name: 'Pool-0', sched: 'credit2', cpus: [0, 1, 2, 3], domains: 1 }]);
  const a = spinDomain(hv), b = spinDomain(hv);
  pools.cpuRemove(0, 3);
  pools.cpuRemove(0, 2);
  const rt = pools.createPool('rt', 'rtds');
  assert.equal(rt.id, 1);
  pools.cpuAdd(1, 2);
  pools.cpuAdd(1, 3);
  pools.moveDomain(b.domid, 1);
  rt.sched.adjustDomain(b.domid, { period: 1000, budget: 300, extratime: false });
  assert.deepEqual(pools.list().map((p) => [p.name, p.sched, p.cpus, p.domains]), [['Pool-0', 'credit2', [0, 1], 2], ['rt', 'rtds', [2, 3], 1]]);
  let wrong = 0;
  loop.onDecision = (cpu, u) => { if (u && pools.poolOfDomain(u.domid) !== pools.poolOfCpu(cpu)) wrong++; };
  loop.run(50e6);
  assert.equal(wrong, 0);
  const tb = runningNs(b)[0]!, ta = runningNs(a)[0]!;
  assert.ok(Math.abs(tb / 50e6 - 0.3) < 0.02, `b under rtds ${tb / 50e6}`);
  assert.ok(ta > 0.95 * 50e6, `a alone on Pool-0 ${ta / 50e6}`);
  // Back, then the empty pool goes.
  assert.throws(() => pools.destroyPool(1), errno(EBUSY));
  pools.moveDomain(b.domid, 0);
  assert.throws(() => pools.destroyPool(1), errno(EBUSY)); // still has pCPUs
  pools.cpuRemove(1, 2);
  pools.cpuRemove(1, 3);
  pools.destroyPool(1);
  assert.deepEqual(pools.list().map((p) => p.name), ['Pool-0']);
  const before = runningNs(b)[0]!;
  loop.run(60e6);
  assert.ok(runningNs(b)[0]! - before > 4e6, 'b runs again in Pool-0');
});

test('cpupools: bad requests fail with Xen errnos and change nothing', () => {
  const { hv, ops } = schedHost(flat(2), 'credit2');
  const pools = ops.pools;
  const d = spinDomain(hv);
  pools.cpuRemove(0, 1);
  const p = pools.createPool('p1', 'null');
  pools.cpuAdd(p.id, 1);
  pools.moveDomain(d.domid, p.id);
  const snapshot = JSON.stringify(pools.list());
  assert.throws(() => pools.cpuRemove(p.id, 1), errno(EBUSY)); // last pCPU of a pool with a domain
  assert.throws(() => pools.cpuRemove(7, 0), errno(ENOENT));
  assert.throws(() => pools.cpuRemove(0, 9), errno(EINVAL));
  assert.throws(() => pools.cpuAdd(0, 1), errno(ENODEV)); // not free
  assert.throws(() => pools.cpuAdd(0, 2), errno(EINVAL));
  assert.throws(() => pools.createPool('p1', 'credit2'), errno(EEXIST));
  assert.throws(() => pools.createPool('p2', 'credit'), errno(ENOENT)); // unknown scheduler
  assert.throws(() => pools.destroyPool(0), errno(EBUSY));
  assert.throws(() => pools.destroyPool(5), errno(ENOENT));
  assert.throws(() => pools.moveDomain(0, p.id), errno(EPERM));
  assert.throws(() => pools.moveDomain(d.domid, 5), errno(ENOENT));
  assert.throws(() => pools.moveDomain(99, 0), errno(ENOENT));
  assert.throws(() => pools.setAffinity(d.domid, 0, new Set(), undefined), errno(EINVAL));
  assert.throws(() => pools.setAffinity(d.domid, 0, new Set([0]), undefined), errno(EINVAL)); // pCPU 0 is not in its pool
  assert.throws(() => pools.setAffinity(d.domid, 0, undefined, new Set()), errno(EINVAL));
  assert.throws(() => pools.setAffinity(d.domid, 3, new Set([1]), undefined), errno(EINVAL));
  assert.equal(JSON.stringify(pools.list()), snapshot);
  assert.deepEqual(pools.getAffinity(d.domid, 0), { hard: [0, 1], soft: [0, 1] });
  pools.cpuRemove(0, 1); // not in Pool-0: a no-op, as Xen
  assert.equal(JSON.stringify(pools.list()), snapshot);
});

test('null: one vCPU per pCPU, the rest wait and take a pCPU when one is freed', () => {
  const { hv, ops, loop } = schedHost(flat(2), 'null');
  const ns = ops.pools.pools.get(0)!.sched as NullSched;
  const a = spinDomain(hv), b = spinDomain(hv), c = spinDomain(hv);
  assert.deepEqual([a, b, c].map((d) => ops.unitOf(d.vcpus[0]!)!.processor), [0, 1, -1]);
  assert.equal(ns.waitq.length, 1);
  let switches = 0;
  loop.onDecision = (cpu, u) => { if (u && u.processor !== cpu) assert.fail('ran off its pCPU'); switches++; };
  loop.run(20e6);
  assert.ok(runningNs(a)[0]! > 19e6 && runningNs(b)[0]! > 19e6);
  assert.equal(runningNs(c)[0]!, 0);
  hv.destroyDomain(a);
  assert.equal(ops.unitOf(c.vcpus[0]!)!.processor, 0);
  loop.run(40e6);
  assert.ok(runningNs(c)[0]! > 19e6, `c ${runningNs(c)[0]}`);
  assert.ok(switches < 50, `null never time-slices (${switches} decisions)`);
});

test('SchedControl (the toolstack API): parameters by scheduler name, vcpu-pin, vcpu-list, cpupool ops by name', () => {
  const { hv, loop } = schedHost(flat(4), 'credit2');
  const ctl = loop.control;
  const d = spinDomain(hv, 2);
  hv.startVcpu(d.vcpus[1]!, 0x80000000);
  ctl.setDomainParams(d.domid, 'credit2', { weight: 512 });
  assert.deepEqual(ctl.getDomainParams(d.domid, 'credit2'), { weight: 512, cap: 0 });
  assert.throws(() => ctl.getDomainParams(d.domid, 'rtds'), errno(EINVAL)); // wrong scheduler for its pool
  assert.throws(() => ctl.getVcpuParams(d.domid, 'credit2', 0), errno(EINVAL));
  ctl.setAffinity(d.domid, 1, [3], [3]);
  loop.run(5e6);
  const vl = ctl.vcpuList(d.domid);
  assert.deepEqual(vl.map((e) => [e.vcpu, e.hard, e.soft]), [[0, [0, 1, 2, 3], [0, 1, 2, 3]], [1, [3], [3]]]);
  assert.equal(vl[1]!.cpu, 3);
  assert.deepEqual(ctl.pcpuCurrent()[3], [d.domid, 1]);
  const id = ctl.cpupoolCreate('rt', 'rtds', []);
  ctl.cpupoolCpuRemove('Pool-0', 2);
  ctl.cpupoolCpuAdd('rt', 2);
  ctl.cpupoolMigrate(d.domid, 'rt');
  ctl.setVcpuParams(d.domid, 'rtds', 1, { period: 2000, budget: 1000 });
  assert.deepEqual(ctl.getVcpuParams(d.domid, 'rtds', 1), { period: 2000, budget: 1000, extratime: true });
  assert.deepEqual(ctl.getAffinity(d.domid, 1).hard, [0, 1, 2, 3]); // a move resets affinity (sched_move_domain)
  assert.throws(() => ctl.cpupoolDestroy('nope'), errno(ENOENT));
  assert.deepEqual(ctl.cpupoolList().map((p) => [p.id, p.name, p.cpus]), [[0, 'Pool-0', [0, 1, 3]], [id, 'rt', [2]]]);
  loop.run(10e6);
  assert.deepEqual(ctl.vcpuList(d.domid).map((e) => e.cpu === -1 || e.cpu === 2), [true, true]);
  assert.deepEqual(ctl.getPoolParams('Pool-0'), { ratelimit: 1000, runqueue: 'socket' });
  ctl.setPoolParams('Pool-0', { ratelimit: 500 });
  assert.equal(ctl.getPoolParams('Pool-0')['ratelimit'], 500);
});
