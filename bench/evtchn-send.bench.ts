// SPDX-License-Identifier: GPL-2.0-only
// Issue 7: EVTCHNOP_send on a pCPU worker (smp/fast-path.ts over the shared port words, the
// sending port's lock, the 2-level bits, a kick-queue entry when the port turns pending) versus
// the main thread's EventChannels.send (same code, plus the in-thread kick/onPending), in the
// same run, between real PV domains. Three shapes:
//   pending   the target port stays pending (a hot sender: lock, state, one atomic or)
//   deliver   the receiver's bit is cleared after every send (port masked: no upcall), so every
//             send turns it pending: the worker queues a kick (drained by the main thread), the
//             main thread runs its onPending hook
//   hypercall event_channel_op(EVTCHNOP_send, handle) with the port in guest memory
//             (main: hv.hypercalls.dispatch; worker: fastHypercall)
// and contention at 2 workers: both on one port (port lock and pending word shared) or each on
// its own domains' port (nothing shared). Time is each thread's own CPU time (Linux schedstat),
// best of BENCH_RUNS, with the spread (worst/best) — the machine is shared.
// Run alone: node --import tsx --import ./scripts/kconfig-defaults.mjs bench/evtchn-send.bench.ts  (env BENCH_N, BENCH_RUNS)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Domain } from '../src/hypervisor/domain/domain.ts';
import { attachEvtchnGnttab } from '../src/hypervisor/event/attach.ts';
import { HcArgs } from '../src/hypervisor/hypercall/table.ts';
import { DATA, makeHv, pvDomain } from '../src/hypervisor/hypercall/test-support.ts';
import { EVTCHNOP_send, SHINFO_EVTCHN_MASK, SHINFO_EVTCHN_PENDING } from '../src/hypervisor/public/event-channel.ts';
import { HYPERVISOR_event_channel_op } from '../src/hypervisor/public/xen.ts';
import { fastPathDesc, KickDrainer } from '../src/hypervisor/smp/fast-path-host.ts';
import { KickQueue } from '../src/hypervisor/smp/kick-queue.ts';
import type { Job } from '../tests/workers/fast-path.worker.ts';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PAGE = 4096;

const { hv } = makeHv(8192);
const x = attachEvtchnGnttab(hv);
const [a, b, c, d] = [pvDomain(hv), pvDomain(hv), pvDomain(hv), pvDomain(hv)] as Domain[];
const i32 = new Int32Array(hv.pool.memory);
/** Bind sender s's new port to receiver r: [s's port, r's port]. */
function pair(s: Domain, r: Domain): [number, number] {
  const rp = x.channels(r).allocUnbound(s.domid);
  return [x.channels(s).bindInterdomain(r.domid, rp), rp];
}
const [pa, pb] = pair(a!, b!), [pd, pc] = pair(d!, c!);
const word = (r: Domain, base: number, p: number) => (r.sharedInfoMfn * PAGE + base) / 4 + (p >> 5);
for (const [r, p] of [[b!, pb], [c!, pc]] as const) Atomics.or(i32, word(r, SHINFO_EVTCHN_MASK, p), 1 << (p & 31)); // no upcalls: the guest is not running
const clearB: [number, number] = [word(b!, SHINFO_EVTCHN_PENDING, pb), 1 << (pb & 31)];
const clearC: [number, number] = [word(c!, SHINFO_EVTCHN_PENDING, pc), 1 << (pc & 31)];
for (const [s, p] of [[a!, pa], [d!, pd]] as const) new DataView(hv.pool.memory, s.p2m.mfnOf(DATA / PAGE) * PAGE, 4).setUint32(0, p, true);

function threadCpuNs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return performance.now() * 1e6;
  }
}
type Shape = 'pending' | 'deliver' | 'hypercall';
function mainNs(shape: Shape): number {
  const ea = x.channels(a!), args = new HcArgs(), v = a!.vcpus[0]!;
  const [idx, mask] = clearB;
  const t0 = threadCpuNs();
  if (shape === 'pending') for (let i = 0; i < N; i++) ea.send(pa);
  else if (shape === 'deliver') for (let i = 0; i < N; i++) { ea.send(pa); Atomics.and(i32, idx, ~mask); }
  else for (let i = 0; i < N; i++) { args.setNum(0, EVTCHNOP_send).setNum(1, DATA); hv.hypercalls.dispatch(v, HYPERVISOR_event_channel_op, 0, args); }
  return (threadCpuNs() - t0) / N;
}

const kicks = new KickQueue();
const entry = fileURLToPath(new URL('../tests/workers/fast-path.worker.ts', import.meta.url));
const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(new URL(`file://${entry}`).href)}); });`;
const go = new Int32Array(new SharedArrayBuffer(4));
const desc = fastPathDesc(x.events, kicks);
const ws = [1, 2].map((cpu) => new Worker(boot, { eval: true, workerData: { desc, cpu, go } }));
await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))));

/** One run on p workers; `own`: worker 2 sends d→c instead of a→b. Returns ns/op per worker (CPU time). */
async function workersNs(shape: Shape, p: number, own: boolean): Promise<number[]> {
  Atomics.store(go, 0, 0);
  const job = (i: number): Job => {
    const other = own && i === 1;
    const [s, port, clear] = other ? [d!, pd, clearC] : [a!, pa, clearB];
    if (shape === 'hypercall') return { mode: 'benchHc', vcpu: { domid: s.domid, id: 0, p2m: [[DATA / PAGE, s.p2m.mfnOf(DATA / PAGE)]] }, handle: DATA, iters: N };
    return { mode: 'bench', domid: s.domid, port, iters: N, clear: shape === 'deliver' ? clear : undefined };
  };
  const rs = ws.slice(0, p).map((w, i) => new Promise<{ cpuMs: number; bad: number }>((res) => { w.once('message', res); w.postMessage(job(i)); }));
  await new Promise((r) => setTimeout(r, 5));
  const drain = new KickDrainer(x.events, kicks);
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  const out = await Promise.all(rs);
  await drain.stop();
  if (out.some((o) => o.bad !== 0)) throw new Error(`${shape}: a send failed`);
  return out.map((o) => (o.cpuMs * 1e6) / N);
}

const spread = (xs: number[]) => ({ best: Math.min(...xs), worst: Math.max(...xs) });
const fmt = (s: { best: number; worst: number }) => `${s.best.toFixed(0).padStart(5)} (${(s.worst / s.best).toFixed(2)})`;
console.log(`EVTCHNOP_send, ${N} sends per thread, best of ${RUNS}: ns/op of thread CPU time (worst/best spread)`);
console.log('  shape       main thread    1 worker     worker/main   2 workers, one port   2 workers, own ports');
for (const shape of ['pending', 'deliver', 'hypercall'] as Shape[]) {
  const m = spread(Array.from({ length: RUNS }, () => mainNs(shape)));
  const w1: number[] = [], w2same: number[] = [], w2own: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    w1.push(...(await workersNs(shape, 1, false)));
    w2same.push(Math.max(...(await workersNs(shape, 2, false))));
    w2own.push(Math.max(...(await workersNs(shape, 2, true))));
  }
  const s1 = spread(w1);
  console.log(`  ${shape.padEnd(10)}  ${fmt(m)}   ${fmt(s1)}   ${(s1.best / m.best).toFixed(2).padStart(6)}        ${fmt(spread(w2same))}         ${fmt(spread(w2own))}`);
}
await Promise.all(ws.map((w) => w.terminate()));
