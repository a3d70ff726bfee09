// SPDX-License-Identifier: GPL-2.0-only
// The pCPU fast paths on real worker threads over the host's shared memory (issue 7): the kick
// queue loses nothing with three producers; EVTCHNOP_send/unmask on a worker answer exactly as
// the main thread does; two workers sending on interdomain and IPI ports while the main thread
// closes and rebinds lose no event on ports that stay bound and deliver none on a port after its
// close returned; a worker's event wakes a blocked vCPU through the kick queue; GNTTABOP_copy
// through fastHypercall while the main thread maps and unmaps the same grant.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { BLOCK_EVENT } from '../domain/vcpu.ts';
import { attachEvtchnGnttab } from '../event/attach.ts';
import { clearPending2l } from '../event/two-level.ts';
import { assertCopiesSettled } from '../grant/smp-test-support.ts';
import { grantSmpDesc } from '../grant/smp-view.ts';
import { DATA, hypercall, makeHv, poke, pvDomain } from '../hypercall/test-support.ts';
import { EINVAL } from '../public/errno.ts';
import { EVTCHNOP_bind_ipi, EVTCHNOP_close, EVTCHNOP_send, EVTCHNOP_unmask, SHINFO_EVTCHN_MASK } from '../public/event-channel.ts';
import { COPY, GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly, GNTST_okay, GNTTABOP_copy, GNTTABOP_map_grant_ref, GTF_permit_access, GTF_readonly } from '../public/grant-table.ts';
import { DOMID_SELF, HYPERVISOR_event_channel_op, HYPERVISOR_grant_table_op, HYPERVISOR_sched_op, VIRQ_TIMER } from '../public/xen.ts';
import type { Hypervisor } from '../xen.ts';
import { drainKicks, fastPathDesc } from './fast-path-host.ts';
import { NOT_FAST, type FastPathDesc } from './fast-path.ts';
import { KickQueue } from './kick-queue.ts';
import type { Job } from '../../../tests/workers/fast-path.worker.ts';

const entry = new URL('../../../tests/workers/fast-path.worker.ts', import.meta.url).href;
const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
const PAGE = 4096;

async function pcpus(desc: FastPathDesc, cpus: number[], go?: Int32Array): Promise<Worker[]> {
  const ws = cpus.map((cpu) => new Worker(boot, { eval: true, workerData: { desc, cpu, go } }));
  await Promise.all(ws.map((w) => new Promise((r, j) => { w.once('message', r); w.once('error', j); })));
  return ws;
}
function run<T>(w: Worker, j: Job): Promise<T> {
  return new Promise((r, f) => {
    w.once('message', r);
    w.once('error', f);
    w.postMessage(j);
  });
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function host(domains = 3) {
  const { hv } = makeHv();
  const x = attachEvtchnGnttab(hv);
  const ds = Array.from({ length: domains }, () => pvDomain(hv));
  return { hv, x, ds, ec: (i: number) => x.channels(ds[i]!) };
}
/** Bind `a`'s new port to a new unbound port of `b`: [a's port, b's port]. */
function bindPair(x: ReturnType<typeof host>['x'], hv: Hypervisor, a: number, b: number): [number, number] {
  const eb = x.events.get(b)!, ea = x.events.get(a)!;
  const pb = eb.allocUnbound(a);
  const pa = ea.bindInterdomain(b, pb);
  assert.ok(pb > 0 && pa > 0, `bind d${a}-d${b}: ${pa} ${pb}`);
  void hv;
  return [pa, pb];
}

test('kick queue: 3 producer threads x 30000 entries, a 256-entry ring drained on the main thread: none lost, each producer in order', async () => {
  const q = new KickQueue(256);
  const { hv } = makeHv(64);
  const desc: FastPathDesc = { memory: hv.pool.memory, directory: new Int32Array(new SharedArrayBuffer(4)), kicks: q.desc, domains: [] };
  const ws = await pcpus(desc, [1, 2, 3]);
  try {
    const n = 30_000;
    const last = [-1, -1, -1, -1], got = [0, 0, 0, 0];
    let finished = false;
    const all = Promise.all(ws.map((w, i) => run<{ full: number }>(w, { mode: 'push', queue: q.desc, tag: i + 1, n }))).finally(() => { finished = true; });
    let overflows = 0;
    const take = (): void => {
      const n = q.drain((tag, i) => {
        assert.ok(i > last[tag]!, `producer ${tag}: entry ${i} after ${last[tag]}`);
        last[tag] = i;
        got[tag]!++;
      });
      if (n < 0) overflows++;
    };
    while (!finished) {
      take();
      await q.wait(5);
    }
    const rs = await all;
    take();
    const full = rs.reduce((s, r) => s + r.full, 0);
    // A full ring refuses the entry and raises the overflow word (the drain then rescans).
    assert.equal(got[1]! + got[2]! + got[3]! + full, 3 * n);
    assert.equal(full > 0, overflows > 0, 'an overflow was reported iff a push was refused');
    assert.equal(q.ready, false);
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
});

test('EVTCHNOP_send/unmask on a worker answer as the main thread: bad ports, states, guest handles; the rest is NOT_FAST', async () => {
  const { hv, x, ds, ec } = host(2);
  const [a, b] = ds as [typeof ds[0], typeof ds[0]];
  const ea = ec(0);
  const [sa] = bindPair(x, hv, a.domid, b.domid);
  const unbound = ea.allocUnbound(b.domid);
  const virq = ea.bindVirq(VIRQ_TIMER, 0);
  const ipi = ea.bindIpi(0);
  const closed = ea.bindIpi(0);
  assert.equal(ea.close(closed), 0);
  const ports = [0, sa, unbound, virq, ipi, closed, 50, 63, 64, 1023, 4095, 4096, 0xffff_ffff];
  const kicks = new KickQueue();
  const [w] = await pcpus(fastPathDesc(x.events, kicks), [1]);
  try {
    for (const op of ['send', 'unmask'] as const) {
      const main = ports.map((p) => (op === 'send' ? ea.send(p) : ea.unmask(p)));
      const r = await run<{ rcs: number[] }>(w!, { mode: 'ops', list: ports.map((p) => [op, a.domid, p]) });
      assert.deepEqual(r.rcs, main, `${op}: worker vs main thread`);
    }
    assert.deepEqual(ports.map((p) => ea.send(p)), [-EINVAL, 0, 0, -EINVAL, 0, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL], 'Xen 4.7 evtchn_send');
    // Through the guest's hypercall: the port at a guest handle (DATA), a0 = sub-op, a1 = handle.
    const dataGfn = DATA / PAGE, vcpu = { domid: a.domid, id: 0, p2m: [[dataGfn, a.p2m.mfnOf(dataGfn)]] as Array<[number, number]> };
    for (const p of [sa, virq, 4096]) {
      poke(a, DATA, [p & 0xff, (p >> 8) & 0xff, 0, 0]);
      const r = await run<{ rcs: Array<{ rc: number }> }>(w!, {
        mode: 'hypercall', vcpu,
        calls: [
          { nr: HYPERVISOR_event_channel_op, args: [EVTCHNOP_send, DATA] },
          { nr: HYPERVISOR_event_channel_op, args: [EVTCHNOP_unmask, DATA] },
          { nr: HYPERVISOR_event_channel_op, args: [EVTCHNOP_close, DATA] },
          { nr: HYPERVISOR_event_channel_op, args: [EVTCHNOP_bind_ipi, DATA] },
          { nr: HYPERVISOR_event_channel_op, args: [EVTCHNOP_send, DATA + 0x10000] }, // handle the worker cannot translate
          { nr: HYPERVISOR_grant_table_op, args: [GNTTABOP_map_grant_ref, DATA, 1] },
          { nr: HYPERVISOR_grant_table_op, args: [GNTTABOP_copy, DATA, 1] }, // no grant view in this worker
          { nr: HYPERVISOR_sched_op, args: [0, 0] },
        ],
      });
      const main = [EVTCHNOP_send, EVTCHNOP_unmask].map((cmd) => Number(hypercall(a.vcpus[0]!, HYPERVISOR_event_channel_op, cmd, DATA)));
      assert.deepEqual(r.rcs.map((c) => c.rc), [...main, NOT_FAST, NOT_FAST, NOT_FAST, NOT_FAST, NOT_FAST, NOT_FAST], `port ${p}`);
    }
    // A domain created after the worker started is NOT_FAST until the worker is told; a destroyed one again.
    const c = pvDomain(hv);
    const ipiC = x.channels(c).bindIpi(0);
    const ops: Job = { mode: 'ops', list: [['send', c.domid, ipiC], ['send', 99, 1]] };
    assert.deepEqual((await run<{ rcs: number[] }>(w!, ops)).rcs, [NOT_FAST, NOT_FAST]);
    await run(w!, { mode: 'add', domain: x.channels(c).shared });
    assert.deepEqual((await run<{ rcs: number[] }>(w!, ops)).rcs, [0, NOT_FAST]);
    hv.destroyDomain(c);
    assert.deepEqual((await run<{ rcs: number[] }>(w!, ops)).rcs, [NOT_FAST, NOT_FAST]);
  } finally {
    await w!.terminate();
  }
});

test('2 workers send on interdomain and IPI ports while the main thread closes and rebinds: no event lost on bound ports, none after close returned', async () => {
  const { hv, x, ds, ec } = host(3);
  const [r, s1, s2] = ds as [typeof ds[0], typeof ds[0], typeof ds[0]];
  const er = ec(0);
  const senders = [s1, s2];
  const stable = senders.map((s) => bindPair(x, hv, s.domid, r.domid)); // [sender port, R's port]
  const churn = senders.map((s) => bindPair(x, hv, s.domid, r.domid));
  const ipi = er.bindIpi(0);
  const targets = [stable[0]![1], stable[1]![1], ipi]; // R's ports whose events are counted
  const kicks = new KickQueue(256);
  const ws = await pcpus(fastPathDesc(x.events, kicks), [1, 2]);
  const produced = new Int32Array(new SharedArrayBuffer(12)), progress = new Int32Array(new SharedArrayBuffer(8));
  const consumed = [0, 0, 0];
  const pending = (p: number): boolean => er.isPending(p);
  const consume = (): void => { // R's guest: clear the pending bit, then take what was produced
    er.bitmaps();
    targets.forEach((p, k) => {
      if (!pending(p)) return;
      clearPending2l(er.mem, er.si, p);
      consumed[k] = Atomics.load(produced, k);
    });
  };
  try {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    let finished = false;
    const all = Promise.all(ws.map((w, i) => run<{ counts: number[]; n: number }>(w, {
      mode: 'send', iters: 1e9 /* until stop */, stop, produced, prodIdx: [i, -1, 2], progress, progressIdx: i,
      pairs: [[senders[i]!.domid, stable[i]![0]], [senders[i]!.domid, churn[i]![0]], [r.domid, ipi]],
    }))).finally(() => { finished = true; });
    const waitProgress = async (i: number, n: number): Promise<void> => {
      const start = Atomics.load(progress, i);
      while (!finished && Atomics.load(progress, i) - start < n) { consume(); await tick(); }
    };
    let rounds = 0, kicked = 0;
    while (!finished && rounds < 400) {
      const i = rounds % 2, s = senders[i]!, es = x.channels(s);
      const [sp, rp] = churn[i]!;
      if (rounds % 4 < 2) {
        // The receiver closes its end: from the moment close returns, nothing is pending on it.
        assert.equal(er.close(rp), 0);
        assert.equal(pending(rp), false, `R port ${rp} pending right after close`);
        await waitProgress(i, 5);
        assert.equal(pending(rp), false, `event delivered on R port ${rp} after close returned`);
        churn[i]![1] = er.bindInterdomain(s.domid, sp);
        assert.ok(churn[i]![1] > 0);
      } else {
        // The sender closes its end: R's end becomes unbound and hears nothing more.
        assert.equal(es.close(sp), 0);
        er.bitmaps();
        clearPending2l(er.mem, er.si, rp);
        await waitProgress(i, 5);
        assert.equal(pending(rp), false, `event delivered on R port ${rp} after the sender's close returned`);
        assert.equal(es.bindInterdomain(r.domid, rp), sp, 'the sender rebinds the same port number');
      }
      consume();
      kicked += drainKicks(x.events, kicks);
      rounds++;
      await tick();
    }
    Atomics.store(stop, 0, 1);
    const rs = await all;
    consume();
    kicked += drainKicks(x.events, kicks);
    for (const [i, { counts, n }] of rs.entries()) {
      assert.deepEqual(counts.slice(0, 4), [n, 0, 0, 0], `worker ${i}: stable interdomain port`);
      assert.deepEqual(counts.slice(8, 12), [n, 0, 0, 0], `worker ${i}: IPI port`);
      assert.equal(counts[4]! + counts[5]!, n, `worker ${i}: churned port answers only 0 or -EINVAL`);
      assert.ok(counts[5]! > 0, `worker ${i}: never saw its port closed`);
    }
    assert.deepEqual([...produced], [rs[0]!.n, rs[1]!.n, rs[0]!.n + rs[1]!.n]);
    assert.deepEqual(consumed, [...produced], 'events lost on ports that stayed bound');
    assert.equal(rounds, 400, `only ${rounds} close/rebind rounds ran`);
    assert.ok(kicked > 0, 'no kick reached the main thread');
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
});

test("a worker's send to a blocked vCPU: upcall set on the worker, the vCPU woken by the main thread's kick-queue drain", async () => {
  const { hv, x, ds } = host(2);
  const [r, s] = ds as [typeof ds[0], typeof ds[0]];
  const [sp, rp] = bindPair(x, hv, s.domid, r.domid);
  const er = x.channels(r), v = r.vcpus[0]!;
  er.bitmaps();
  clearPending2l(er.mem, er.si, rp);
  hv.pool.bytes.fill(0, v.vcpuInfoOff, v.vcpuInfoOff + 16); // upcall_pending, pending_sel
  v.block(BLOCK_EVENT);
  const kicks = new KickQueue();
  const [w] = await pcpus(fastPathDesc(x.events, kicks), [1]);
  try {
    assert.deepEqual((await run<{ rcs: number[] }>(w!, { mode: 'ops', list: [['send', s.domid, sp]] })).rcs, [0]);
    assert.equal(hv.pool.bytes[v.vcpuInfoOff], 1, 'evtchn_upcall_pending set by the worker');
    assert.equal(er.isPending(rp), true);
    assert.equal(v.isBlocked, true, 'only the main thread wakes a vCPU');
    await kicks.wait(1000);
    assert.equal(drainKicks(x.events, kicks), 1);
    assert.equal(v.isBlocked, false, 'the drain woke the vCPU');
  } finally {
    await w!.terminate();
  }
});

test('a full kick queue still wakes a blocked vCPU (overflow: the drain rescans); unmask on a worker re-delivers through the queue', async () => {
  const { hv, x, ds } = host(2);
  const [r, s] = ds as [typeof ds[0], typeof ds[0]];
  const pairs = [0, 1, 2].map(() => bindPair(x, hv, s.domid, r.domid));
  const er = x.channels(r), v = r.vcpus[0]!;
  const maskAll = (): void => {
    er.bitmaps();
    for (const [, rp] of pairs) {
      clearPending2l(er.mem, er.si, rp);
      Atomics.or(er.mem, er.si + SHINFO_EVTCHN_MASK / 4 + (rp >> 5), 1 << (rp & 31));
    }
  };
  const blockQuiet = (): void => {
    hv.pool.bytes.fill(0, v.vcpuInfoOff, v.vcpuInfoOff + 16); // upcall_pending, pending_sel
    v.block(BLOCK_EVENT);
  };
  maskAll();
  blockQuiet();
  const kicks = new KickQueue(2);
  const [w] = await pcpus(fastPathDesc(x.events, kicks), [1]);
  try {
    // Three masked ports turn pending (3 entries for a 2-entry ring), then the last is unmasked: its upcall's entry is refused too.
    const list: Array<['send' | 'unmask', number, number]> = [...pairs.map(([sp]) => ['send', s.domid, sp] as ['send', number, number]), ['unmask', r.domid, pairs[2]![1]]];
    assert.deepEqual((await run<{ rcs: number[] }>(w!, { mode: 'ops', list })).rcs, [0, 0, 0, 0]);
    assert.equal(hv.pool.bytes[v.vcpuInfoOff], 1, 'the unmask raised the upcall');
    assert.equal(v.isBlocked, true);
    assert.equal(drainKicks(x.events, kicks), 0, 'overflow reported');
    assert.equal(v.isBlocked, false, 'the rescan after the overflow woke the vCPU');
    // Port 0 is still pending and masked: unmask on the worker re-delivers, and the queue (now drained) carries the kick.
    blockQuiet();
    assert.deepEqual((await run<{ rcs: number[] }>(w!, { mode: 'ops', list: [['unmask', r.domid, pairs[0]![1]]] })).rcs, [0]);
    assert.equal(v.isBlocked, true);
    await kicks.wait(1000);
    assert.equal(drainKicks(x.events, kicks), 1);
    assert.equal(v.isBlocked, false, 'woken by the unmask');
  } finally {
    await w!.terminate();
  }
});

test('GNTTABOP_copy through fastHypercall on 2 workers while the main thread maps and unmaps the same grant', async () => {
  const { hv, x, ds } = host(2);
  const [a, b] = ds as [typeof ds[0], typeof ds[0]];
  const ta = x.grants.get(a.domid)!, tb = x.grants.get(b.domid)!;
  const SRC = 0x80180, DST = [0x80190, 0x80191], ARG = [0x80170, 0x80174]; // ARG pages: 4 each (a 300-element batch)
  ta.seedEntry(8, b.domid, SRC, GTF_permit_access | GTF_readonly);
  const srcMfn = a.p2m.mfnOf(SRC);
  for (let i = 0; i < PAGE; i++) hv.pool.bytes[srcMfn * PAGE + i] = (i * 7 + 3) & 0xff;
  const elems = 300;
  const args = ARG.map((g, i) => {
    const buf = new Uint8Array(elems * COPY.size), dv = new DataView(buf.buffer);
    for (let k = 0; k < elems; k++) {
      const e = k * COPY.size;
      dv.setUint32(e + COPY.source + COPY.ptr_u, 8, true);
      dv.setUint16(e + COPY.source + COPY.ptr_domid, a.domid, true);
      dv.setBigUint64(e + COPY.dest + COPY.ptr_u, BigInt(DST[i]!), true);
      dv.setUint16(e + COPY.dest + COPY.ptr_domid, DOMID_SELF, true);
      dv.setUint16(e + COPY.len, k % 2 === 0 ? PAGE : 512, true);
      dv.setUint16(e + COPY.flags, GNTCOPY_source_gref, true);
      dv.setInt16(e + COPY.status, 99, true);
    }
    poke(b, g * PAGE, buf);
    return { domid: b.domid, id: 0, p2m: [0, 1, 2, 3].map((k) => [g + k, b.p2m.mfnOf(g + k)]) as Array<[number, number]> };
  });
  const grants = grantSmpDesc(x.grants, [a.domid, b.domid], (d) => (d === a.domid ? [SRC] : DST));
  const ws = await pcpus(fastPathDesc(x.events, new KickQueue(), grants), [1, 2]);
  try {
    let finished = false;
    const all = Promise.all(ws.map((w, i) => run<{ rcs: Record<string, number>; conts: number; n: number }>(w, {
      mode: 'grant', vcpu: args[i]!, iters: 3000, handle: ARG[i]! * PAGE, count: 2,
    }))).finally(() => { finished = true; });
    let maps = 0;
    const HOST = 0x90000000;
    while (!finished) { // the mapper (b) maps the same grant read-only and unmaps it
      const m = tb.map(HOST, GNTMAP_host_map | GNTMAP_readonly, 8, a.domid);
      assert.equal(m.status, GNTST_okay);
      assert.equal(tb.unmap(HOST, 0, m.handle), GNTST_okay);
      maps++;
      await tick();
    }
    const rs = await all;
    assert.deepEqual(rs.map((r) => r.rcs), [{ 0: 3000 }, { 0: 3000 }], 'every copy hypercall returned 0 on the worker');
    assert.ok(maps > 0);
    // One 300-element batch: 256, a continuation, then the rest (Xen's hypercall_create_continuation).
    const big = await run<{ rcs: Record<string, number>; conts: number }>(ws[0]!, { mode: 'grant', vcpu: args[0]!, iters: 1, handle: ARG[0]! * PAGE, count: elems });
    assert.deepEqual(big.rcs, { 0: 1 });
    assert.equal(big.conts, 1);
    const arg0 = new DataView(hv.pool.bytes.buffer);
    for (let k = 0; k < elems; k++) {
      const e = b.p2m.mfnOf(ARG[0]! + Math.floor((k * COPY.size) / PAGE)) * PAGE + ((k * COPY.size) % PAGE);
      assert.equal(arg0.getInt16(e + COPY.status, true), GNTST_okay, `element ${k} status`);
    }
    assertCopiesSettled(x.grants, a, 8, srcMfn, b, DST);
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
});
