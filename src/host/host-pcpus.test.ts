// SPDX-License-Identifier: GPL-2.0-only
// The host's pCPUs as real worker threads (host-pcpus.ts): guests execute on the workers, in
// parallel, while the main thread keeps the scheduler, hypercalls and flushes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A, li } from '../hypervisor/hypercall/test-support.ts';
import { DATA, KERNEL_BASE, peek32 } from '../hypervisor/hypercall/test-support.ts';
import { bringUp } from '../hypervisor/sched/test-support.ts';
import { SBI_HSM_STATE_STARTED } from '../hypervisor/vsbi/sbi-defs.ts';
import { attachEvtchnGnttab } from '../hypervisor/event/attach.ts';
import { EVTCHNOP_send } from '../hypervisor/public/event-channel.ts';
import { HYPERVISOR_event_channel_op, HYPERVISOR_xen_version, XEN_SBI_EID } from '../hypervisor/public/xen.ts';
import { pcpuHost, reg } from './host-pcpus-test-support.ts';

const T0 = 5, T1 = 6, A0 = 10, A6 = 16, A7 = 17, S0 = 8;

const host = (cpus: number) => pcpuHost(cpus);

const COUNT = [A.addi(T0, T0, 1), A.jal(0, -4)];

test('two CPU-bound guests execute on two pCPU threads at once, and go on while the main thread is busy', () => {
  const h = host(2);
  try {
    const a = h.create(COUNT), b = h.create(COUNT);
    // Until both are on a pCPU together with a fresh slice.
    h.driveUntil(() => reg(a, T0) > 0 && reg(b, T0) > 0 && h.pcpus.executing(0) !== null && h.pcpus.executing(1) !== null);
    const a0 = reg(a, T0), b0 = reg(b, T0);
    assert.ok(a0 > 0 && b0 > 0, `both guests ran: ${a0}, ${b0}`);
    assert.notEqual(h.pcpus.executing(0), h.pcpus.executing(1));
    // The main thread blocks for 300 ms without serving anything: both still advance, so each
    // executes on its own thread (one thread taking turns would stop both).
    const until = performance.now() + 300;
    while (performance.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    const a1 = reg(a, T0), b1 = reg(b, T0);
    assert.ok(a1 - a0 > 100_000 && b1 - b0 > 100_000, `both advanced on their own: ${a1 - a0}, ${b1 - b0}`);
    // The main thread's views of the harts are never stepped: the counts are the workers'.
    assert.equal(a.vcpus[0]!.hart.instructions, 0);
    assert.equal(b.vcpus[0]!.hart.instructions, 0);
  } finally {
    h.pcpus.stop();
  }
});

test('a hypercall from a pCPU thread is handled on the main thread and its result reaches the guest', () => {
  const h = host(2);
  try {
    // loop: a0 = 0 (XENVER_version), a6 = xen_version, a7 = Xen's SBI extension; ecall; t0++; t1 = a0
    const loop = [...li(A7, XEN_SBI_EID), ...li(A6, HYPERVISOR_xen_version), A.addi(A0, 0, 0), A.ecall(), A.addi(T0, T0, 1), A.addi(T1, A0, 0)];
    const code = [...loop, A.jal(0, -4 * loop.length)];
    const d = h.create(code);
    h.driveUntil(() => reg(d, T0) > 100);
    assert.equal(reg(d, T1), 0x40007, 'XENVER_version: 4.7');
    assert.ok(reg(d, T0) > 100, `many hypercalls completed: ${reg(d, T0)}`);
    assert.ok(h.pcpus.exits >= reg(d, T0), `each one was an exit to the main thread (${h.pcpus.exits} exits, ${reg(d, T0)} calls)`);
  } finally {
    h.pcpus.stop();
  }
});

test('EVTCHNOP_send runs on the pCPU thread (fast path): the event is pending, no exit to the main thread', () => {
  const h = host(1);
  try {
    const DATA = KERNEL_BASE + 0x100000;
    // loop: a0 = EVTCHNOP_send, a1 = &struct evtchn_send at DATA; ecall; t0++; t1 = a0
    const loop = [...li(A7, XEN_SBI_EID), ...li(A6, HYPERVISOR_event_channel_op), A.addi(A0, 0, EVTCHNOP_send), ...li(A0 + 1, DATA), A.ecall(), A.addi(T0, T0, 1), A.addi(T1, A0, 0)];
    const d = h.create([...loop, A.jal(0, -4 * loop.length)]);
    const ec = attachEvtchnGnttab(h.hv).channels(d);
    const port = ec.bindIpi(0);
    assert.ok(port > 0);
    const mfn = d.p2m.mfnOf(DATA / 4096);
    new DataView(h.hv.pool.memory).setUint32(mfn * 4096, port, true);
    const exits0 = h.pcpus.exits;
    h.driveUntil(() => reg(d, T0) > 5000);
    assert.ok(reg(d, T0) > 5000, `sends completed: ${reg(d, T0)}`);
    assert.equal(reg(d, T1), 0, 'EVTCHNOP_send returned 0');
    assert.ok(h.hv.portPending(d, port), 'the IPI port is pending');
    // The guest counts a send after its ecall returned, the worker before: read the guest first.
    const sends = reg(d, T0), answered = h.pcpus.fastCalls();
    assert.ok(answered >= sends, `answered on the worker: ${answered} of ${sends}`);
    assert.ok(h.pcpus.exits - exits0 < reg(d, T0) / 10, `few exits to the main thread: ${h.pcpus.exits - exits0}`);
  } finally {
    h.pcpus.stop();
  }
});

test('a p2m change reaches a vCPU running on a pCPU thread before the change returns (TLB flush)', () => {
  const h = host(1);
  try {
    const DATA = KERNEL_BASE + 0x100000;
    // loop: t1 = *(u64 *)DATA; t0++
    const code = [...li(S0, DATA), A.ld(T1, S0, 0), A.addi(T0, T0, 1), A.jal(0, -8)];
    const d = h.create(code);
    const gfn = DATA / 4096;
    const old = d.p2m.mfnOf(gfn);
    h.hv.pool.bytes[old * 4096] = 0x11;
    h.driveUntil(() => reg(d, T0) > 1000 && h.pcpus.executing(0) !== null);
    assert.equal(reg(d, T1), 0x11);
    // A fresh frame with another value replaces it while the guest runs.
    const fresh = d.allocFrames(1)![0]!;
    assert.ok(fresh > 0);
    h.hv.pool.bytes[fresh * 4096] = 0x22;
    assert.ok(h.pcpus.executing(0) === d.vcpus[0], 'the vCPU is executing on pCPU 0');
    d.p2m.set(gfn, fresh, d.p2m.typeOf(gfn));
    // The pCPU applied the flush before set() returned (Xen's flush_tlb_mask): nothing pending.
    assert.equal(d.vcpus[0]!.hart.flushPending(), 0);
    const c0 = reg(d, T0);
    h.driveUntil(() => reg(d, T0) - c0 >= 10_000);
    assert.ok(reg(d, T0) - c0 >= 10_000, 'the guest kept running');
    assert.equal(reg(d, T1), 0x22, 'the stale translation was flushed');
  } finally {
    h.pcpus.stop();
  }
});

test('a PV guest with 512 vCPUs brings them all up on 2 pCPU threads and every one runs (then waits in WFI)', () => {
  const h = host(2);
  try {
    const N = 512;
    const d = h.create(bringUp(N, true), N);
    const up = (): number => d.vcpus.filter((v) => peek32(d, DATA + 4 * v.id) === v.id + 1).length;
    h.driveUntil(() => up() === N, 120_000);
    assert.equal(up(), N, 'every vCPU ran its entry code');
    assert.ok(d.vcpus.every((v) => d.vsbi!.harts.status(v.id) === SBI_HSM_STATE_STARTED));
  } finally {
    h.pcpus.stop();
  }
});

test('pausing a domain whose vCPU runs on a pCPU thread stops it before the pause returns; unpause resumes it', () => {
  const h = host(2);
  try {
    const a = h.create(COUNT), b = h.create(COUNT);
    h.driveUntil(() => h.pcpus.executing(0) !== null && h.pcpus.executing(1) !== null);
    h.hv.pauseDomain(a);
    const frozen = reg(a, T0), b0 = reg(b, T0);
    // No main-loop pass in between: the vCPU was off its pCPU when pauseDomain returned.
    const until = performance.now() + 100;
    while (performance.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    assert.equal(reg(a, T0), frozen, 'the paused guest did not run on');
    h.drive(100);
    assert.equal(reg(a, T0), frozen);
    assert.ok(reg(b, T0) > b0, 'the other guest runs');
    h.hv.unpauseDomain(a);
    h.driveUntil(() => reg(a, T0) > frozen);
    assert.ok(reg(a, T0) > frozen, 'unpaused, it runs again');
  } finally {
    h.pcpus.stop();
  }
});

test('destroying a domain whose vCPU runs on a pCPU thread takes it off first; the other guest goes on', () => {
  const h = host(2);
  try {
    const a = h.create(COUNT), b = h.create(COUNT);
    h.driveUntil(() => reg(a, T0) > 0 && reg(b, T0) > 0);
    h.hv.destroyDomain(a);
    assert.equal(a.state, 'destroyed');
    const frozen = reg(a, T0);
    const b0 = reg(b, T0);
    h.drive(200);
    assert.equal(reg(a, T0), frozen, 'the destroyed guest no longer runs');
    assert.ok(reg(b, T0) > b0, 'the other guest still runs');
    assert.equal(h.hv.pool.owner.filter((o) => o === a.domid).length, 0, 'every frame of the destroyed domain was freed');
  } finally {
    h.pcpus.stop();
  }
});
