// SPDX-License-Identifier: GPL-2.0-only
// The 2-level ABI across threads: a worker sets ports pending with setPending2l (the hypervisor
// on a pCPU) while this thread drains them as a guest's upcall handler does (clear the upcall
// byte, swap the selector to 0, swap each named word to 0). No event may be lost: at the end,
// every port the worker sent was seen, and whenever a port is pending and unmasked, its
// selector bit and the upcall byte are set.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SHINFO_EVTCHN_MASK, SHINFO_EVTCHN_PENDING, VCPUINFO_PENDING_SEL } from '../public/event-channel.ts';
import { isPending2l, setPending2l, unmask2l } from './two-level.ts';

const PORTS = 300;

function drain(m: Int32Array, si: number, vi: number, seen: Uint8Array): number {
  let got = 0;
  Atomics.and(m, vi, ~0xff); // evtchn_upcall_pending = 0
  for (let half = 0; half < 2; half++) {
    let sel = Atomics.exchange(m, vi + VCPUINFO_PENDING_SEL / 4 + half, 0);
    while (sel !== 0) {
      const b = 31 - Math.clz32(sel);
      sel &= ~(1 << b);
      const word = half * 32 + b; // u64 word index
      for (let k = 0; k < 2; k++) {
        const i = si + SHINFO_EVTCHN_PENDING / 4 + word * 2 + k;
        const mask = Atomics.load(m, si + SHINFO_EVTCHN_MASK / 4 + word * 2 + k);
        const bits = Atomics.and(m, i, mask) & ~mask; // take the unmasked pending bits
        for (let p = 0; p < 32; p++) if (bits & (1 << p)) { seen[word * 64 + k * 32 + p] = 1; got++; }
      }
    }
  }
  return got;
}

/** No lost event: every pending unmasked port has its selector bit, and the upcall is raised. */
function consistent(m: Int32Array, si: number, vi: number): boolean {
  for (let p = 0; p < 4096; p++) {
    if (!isPending2l(m, si, p) || (Atomics.load(m, si + SHINFO_EVTCHN_MASK / 4 + (p >> 5)) & (1 << (p & 31)))) continue;
    const w = p >> 6;
    if ((Atomics.load(m, vi + VCPUINFO_PENDING_SEL / 4 + (w >> 5)) & (1 << (w & 31))) === 0) return false;
    if ((Atomics.load(m, vi) & 0xff) === 0) return false;
  }
  return true;
}

test('a worker thread sends while this thread drains: no event lost, invariants hold', async () => {
  const memory = new SharedArrayBuffer(8192);
  const m = new Int32Array(memory);
  const si = 4096 / 4, vi = 0; // shared_info in the second page, vcpu_info at the start of the first
  const seen = new Uint8Array(4096);
  // The worker registers tsx itself (a Worker's own entry module does not pass through the parent's loader hooks).
  const entry = new URL('../../../tests/workers/two-level-sender.worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  const w = new Worker(boot, { eval: true, workerData: { memory, si, vi, sends: 400_000, ports: PORTS } });
  let done = false, raised = 0, drained = 0;
  w.on('message', (r: number) => { raised = r; done = true; });
  const exited = new Promise((res, rej) => { w.on('exit', res); w.on('error', rej); });
  while (!done) {
    if (Atomics.load(m, vi) & 0xff) drained += drain(m, si, vi, seen);
    await new Promise((r) => setImmediate(r));
  }
  await exited;
  assert.ok(consistent(m, si, vi), 'a pending port without its selector bit or upcall: an event was lost');
  drained += drain(m, si, vi, seen);
  for (let p = 1; p <= PORTS; p++) assert.equal(seen[p], 1, `port ${p} never seen`);
  assert.ok(raised >= 1 && drained >= PORTS, `raised ${raised}, drained ${drained}`);
  for (let p = 0; p < 4096; p++) assert.equal(isPending2l(m, si, p), false);
});

test('masked ports: pending without selector or upcall; unmask raises them exactly once', () => {
  const m = new Int32Array(new SharedArrayBuffer(8192));
  const si = 1024, vi = 0;
  Atomics.or(m, si + SHINFO_EVTCHN_MASK / 4 + 2, 1 << 3); // port 67
  assert.equal(setPending2l(m, si, vi, 67), false);
  assert.ok(isPending2l(m, si, 67));
  assert.equal(Atomics.load(m, vi + VCPUINFO_PENDING_SEL / 4), 0);
  assert.equal(unmask2l(m, si, vi, 67), true, 'pending and was masked: upcall raised');
  assert.equal(Atomics.load(m, vi + VCPUINFO_PENDING_SEL / 4), 1 << 1, 'selector bit of word 1');
  assert.equal(unmask2l(m, si, vi, 67), false, 'not masked any more');
  assert.equal(setPending2l(m, si, -1, 5), false, 'no vcpu_info: pending only');
  assert.ok(isPending2l(m, si, 5));
});
