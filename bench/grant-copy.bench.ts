// SPDX-License-Identifier: GPL-2.0-only
// Issue 7's inter-domain throughput: grant copy (GNTTABOP_copy, the real GrantTable.copy with
// its table read lock, active-entry lock, GTF_reading and pins) between two PV domains'
// memories in shared memory, run by 1 and 2 pCPU worker threads, with the grant table under
// Xen 4.7's per-CPU rwlock versus the plain rwlock, against host memcpy (Uint8Array.set of the
// same sizes) on the same workers in the same run. Each pCPU copies its own grant (its own
// page) from the same granter's table: the table lock is what the pCPUs share.
// Run alone: node --import tsx --import ./scripts/kconfig-defaults.mjs bench/grant-copy.bench.ts
//   env BENCH_N (copies per pCPU per run, default 200000), BENCH_RUNS (best of, 3), BENCH_LEN (bytes, "4096,256")
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { attachEvtchnGnttab } from '../src/hypervisor/event/attach.ts';
import type { GrantLockKind } from '../src/hypervisor/grant/grant-table.ts';
import { grantSmpDesc } from '../src/hypervisor/grant/smp-view.ts';
import { makeHv, pvDomain } from '../src/hypervisor/hypercall/test-support.ts';
import { GTF_permit_access, GTF_readonly } from '../src/hypervisor/public/grant-table.ts';
import type { CopyJob } from '../tests/workers/grant-copy.worker.ts';

const N = Number(process.env.BENCH_N ?? 200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LENS = (process.env.BENCH_LEN ?? '4096,256').split(',').map(Number);
// Per pCPU its own grant, page and destination, 64 entries / 32 frames apart so no two pCPUs share a
// cache line of active entries, entry locks or frame pins: only the table lock is shared.
const PAGE = 4096, SRC = [0x80180, 0x801a0], DST = [0x80140, 0x80160], REFS = [8, 72];

const { hv } = makeHv(8192);
const x = attachEvtchnGnttab(hv);
const pairs = new Map<GrantLockKind, { a: number; b: number }>();
for (const kind of ['rwlock', 'percpu'] as GrantLockKind[]) {
  x.grants.lockKind = kind;
  const a = pvDomain(hv), b = pvDomain(hv);
  const t = x.grants.get(a.domid)!;
  SRC.forEach((g, i) => {
    t.seedEntry(REFS[i]!, b.domid, g, GTF_permit_access | GTF_readonly);
    const m = a.p2m.mfnOf(g) * PAGE;
    for (let k = 0; k < PAGE; k++) hv.pool.bytes[m + k] = (k * 7 + i) & 0xff;
  });
  pairs.set(kind, { a: a.domid, b: b.domid });
}
const doms = [...pairs.values()].flatMap((p) => [p.a, p.b]);
const desc = grantSmpDesc(x.grants, doms, (d) => ([...pairs.values()].some((p) => p.a === d) ? SRC : DST));
const mOff = (domid: number, gfn: number) => hv.domains.get(domid)!.p2m.mfnOf(gfn) * PAGE;

const entry = fileURLToPath(new URL('../tests/workers/grant-copy.worker.ts', import.meta.url));
const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(new URL(`file://${entry}`).href)}); });`;
const go = new Int32Array(new SharedArrayBuffer(4));
const workers = [1, 2].map((cpu) => new Worker(boot, { eval: true, workerData: { desc, cpu, go } }));
await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));

/** One run on `p` pCPUs: Gbit/s over all of them (bytes copied / the slowest pCPU's time). */
async function run(p: number, mode: CopyJob['mode'], kind: GrantLockKind, len: number): Promise<number> {
  const { a, b } = pairs.get(kind)!;
  Atomics.store(go, 0, 0);
  const rs = workers.slice(0, p).map((w, i) => new Promise<{ ms: number; bad: number }>((res) => {
    w.once('message', res);
    const j: CopyJob = { mode, caller: b, srcDom: a, srcRef: REFS[i]!, dstGfn: DST[i]!, srcOff: mOff(a, SRC[i]!), dstOff: mOff(b, DST[i]!), len, iters: mode === 'lock' ? 10 * N : N };
    w.postMessage(j);
  }));
  await new Promise((r) => setTimeout(r, 5));
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  const out = await Promise.all(rs);
  if (out.some((o) => o.bad !== 0)) throw new Error(`${mode}/${kind}: failed copies`);
  return (p * (mode === 'lock' ? 10 * N : N) * len * 8) / (Math.max(...out.map((o) => o.ms)) * 1e6);
}
async function best(p: number, mode: CopyJob['mode'], kind: GrantLockKind, len: number): Promise<number> {
  let b = 0;
  for (let i = 0; i < RUNS; i++) b = Math.max(b, await run(p, mode, kind, len));
  return b;
}

console.log(`grant copy between two PV domains on pCPU worker threads, ${N} copies per pCPU, best of ${RUNS} (Gbit/s)`);
for (const len of LENS) {
  for (const p of [1, 2]) {
    const mc = await best(p, 'memcpy', 'percpu', len);
    const rw = await best(p, 'grant', 'rwlock', len);
    const pc = await best(p, 'grant', 'percpu', len);
    console.log(`  ${len} B, ${p} pCPU${p > 1 ? 's' : ' '}: memcpy ${mc.toFixed(2)}  grant/rwlock ${rw.toFixed(2)}  grant/percpu ${pc.toFixed(2)}` +
      `  | grant/memcpy: rwlock ${(rw / mc).toFixed(3)} percpu ${(pc / mc).toFixed(3)}  | percpu/rwlock ${(pc / rw).toFixed(2)}`);
  }
}
// The table lock alone: read lock + unlock pairs per second and pCPU (len 1 turns Gbit/s back into pairs).
console.log(`table read lock+unlock alone, ${10 * N} pairs per pCPU (M pairs/s per pCPU):`);
for (const p of [1, 2]) {
  const rw = (await best(p, 'lock', 'rwlock', 1)) * 1e9 / 8 / p / 1e6, pc = (await best(p, 'lock', 'percpu', 1)) * 1e9 / 8 / p / 1e6;
  console.log(`  ${p} pCPU${p > 1 ? 's' : ' '}: rwlock ${rw.toFixed(1)}  percpu ${pc.toFixed(1)}  | percpu/rwlock ${(pc / rw).toFixed(2)}`);
}
await Promise.all(workers.map((w) => w.terminate()));
