// SPDX-License-Identifier: GPL-2.0-only
// xl vcpu-list against an in-process host (the real Ctrl given HostSched's control, as the host
// daemon builds it; requests through JSON as over the socket): the CPU column is the pCPU the
// host's scheduler runs the vCPU on (v->processor), State 'r' only while it is on a pCPU, and
// Time(s) its running time. A vCPU hard-pinned to pCPU 1 is only ever seen there while
// CPU-bound guests contend for the pCPUs; re-pinning moves it. Xen 4.7: xl_cmdimpl.c
// print_vcpuinfo, common/domctl.c XEN_DOMCTL_getvcpuinfo.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostSched } from '../../src/host/host-sched.ts';
import { makeElf } from '../../src/hypervisor/hypercall/test-support.ts';
import { Ctrl } from '../../src/toolstack/ctrl/ctrl.ts';
import { inProcessXl } from './xl-inproc.ts';

const KERNEL = { base64: Buffer.from(makeElf([0x0000006f])).toString('base64') }; // jal x0, 0: CPU-bound spin

function host(cpus: number) {
  const hs = new HostSched({ sockets: 1, coresPerSocket: cpus, threadsPerCore: 1, nodes: 1 }, '', () => {});
  let t = 0;
  const ctrl = new Ctrl({
    memoryMiB: 64, nrCpus: cpus, timebase: { frequency: 10_000_000, now: () => (t += 100) }, scheduler: hs.ops, schedControl: hs.control,
    loadFile: () => { throw new Error('ENOENT'); }, random: (n) => new Uint8Array(n).fill(1),
  });
  hs.attach(ctrl.hv);
  const call = async (m: string, p: unknown): Promise<unknown> => {
    const q = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
    let r: unknown;
    if (m === 'domain.list') r = ctrl.list(q.domid);
    else if (m === 'domain.lookup') r = { domid: ctrl.lookup(q.name) };
    else if (m === 'host.physinfo') r = ctrl.physinfo();
    else if (m === 'vcpu.list') r = ctrl.vcpus(q.domid);
    else if (m === 'vcpu.pin') r = (ctrl.pin(q.domid, q.vcpu, q.hard, q.soft), {});
    else throw new Error(`test host: ${m}`);
    return JSON.parse(JSON.stringify(r));
  };
  const xl = inProcessXl(call);
  const create = (name: string) => ctrl.create({ name, type: 'pv', memory: 2, vcpus: 1, maxvcpus: 1, kernel: KERNEL }).domid;
  return { hs, ctrl, xl, create };
}

/** One vcpu-list row of `name` (its only vCPU): CPU column, State, Time(s). */
async function row(h: ReturnType<typeof host>, name: string): Promise<{ cpu: string; state: string; time: number; line: string }> {
  const r = await h.xl('vcpu-list', name);
  assert.equal(r.code, 0, r.err);
  const line = r.out.split('\n')[1]!;
  const m = /^(\S+) +(\d+) +0 +(\d+|-) +([-r][-b][-p]) +(\d+\.\d)  /.exec(line);
  assert.ok(m, `vcpu-list row layout: ${JSON.stringify(line)}`);
  return { cpu: m[3]!, state: m[4]!, time: Number(m[5]), line };
}

test('vcpu-list: a vCPU pinned to pCPU 1 is only ever seen on pCPU 1 while 6 spinning guests share 4 pCPUs; re-pinning moves it', async () => {
  const h = host(4);
  const names = ['pinned', 'a', 'b', 'c', 'd', 'e'];
  for (const n of names) h.create(n);
  assert.equal((await h.xl('vcpu-pin', 'pinned', '0', '1')).code, 0);
  const seenOn = (cpus: Map<string, number>, c: string) => cpus.set(c, (cpus.get(c) ?? 0) + 1);
  const pinnedAt = new Map<string, number>(), others = new Map<string, number>();
  let running = 0;
  for (let i = 0; i < 200; i++) {
    h.hs.run(3);
    const r = await row(h, 'pinned');
    seenOn(pinnedAt, r.cpu);
    if (r.state === 'r--') running++;
    for (const n of names.slice(1)) seenOn(others, (await row(h, n)).cpu);
  }
  assert.deepEqual([...pinnedAt.keys()], ['1'], `pinned vCPU seen on pCPUs ${JSON.stringify([...pinnedAt])}`);
  assert.ok(running > 0 && running < 200, `a contended pinned vCPU is sometimes running, sometimes waiting: ${running}/200`);
  assert.deepEqual([...others.keys()].sort(), ['0', '1', '2', '3'], `the unpinned vCPUs spread over all pCPUs: ${JSON.stringify([...others])}`);
  const pinnedId = h.ctrl.lookup('pinned');
  const cpuTime = () => h.ctrl.vcpus(pinnedId)[0]!.cpuTimeSec;
  const before = cpuTime();
  assert.ok((await row(h, 'pinned')).time > 0 && before > 0, 'Time(s) counts its running time');

  // Re-pin to pCPU 3: from then on only pCPU 3.
  assert.equal((await h.xl('vcpu-pin', 'pinned', '0', '3')).code, 0);
  h.hs.run(3);
  const moved = new Set<string>();
  for (let i = 0; i < 100; i++) {
    h.hs.run(3);
    moved.add((await row(h, 'pinned')).cpu);
  }
  assert.deepEqual([...moved], ['3']);
  assert.ok(cpuTime() > before, 'it kept running on pCPU 3');
  assert.match((await row(h, 'pinned')).line, / 3 \/ all$/, 'the hard affinity column shows the pin');
});

test('vcpu-list: a paused domain\'s vCPU is not running, its CPU column keeps the pCPU it last ran on; alone and re-pinned it moves', async () => {
  const h = host(2);
  h.create('x');
  assert.equal((await h.xl('vcpu-pin', 'x', '0', '1')).code, 0);
  h.hs.run(5);
  assert.deepEqual([(await row(h, 'x')).cpu, (await row(h, 'x')).state], ['1', 'r--']);
  h.ctrl.pause(h.ctrl.lookup('x'));
  h.hs.run(2);
  assert.deepEqual([(await row(h, 'x')).cpu, (await row(h, 'x')).state], ['1', '---']);
  h.ctrl.unpause(h.ctrl.lookup('x'));
  h.hs.run(2);
  assert.deepEqual([(await row(h, 'x')).cpu, (await row(h, 'x')).state], ['1', 'r--']);
  // Alone on the host, re-pinned away from its pCPU: credit2 tickles the idle pCPU 0 for it
  // (csched2_context_saved's runq_tickle), which would otherwise sleep until something woke it.
  assert.equal((await h.xl('vcpu-pin', 'x', '0', '0')).code, 0);
  h.hs.run(5);
  assert.deepEqual([(await row(h, 'x')).cpu, (await row(h, 'x')).state], ['0', 'r--']);
});
