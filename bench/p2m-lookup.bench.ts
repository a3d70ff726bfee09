// SPDX-License-Identifier: GPL-2.0-only
// p2m lookup cost (the hart's TLB-miss path): ns per lookup over a 256 MiB RAM guest's gfns,
// sequential and random, and random over the same RAM mapped again at gfn 2^32 ("far": the
// top indices a dense array does not cover), on the main thread, for
//   baseline  a plain Map<top, Int32Array> of machine offsets: one Map.get + one typed-array read, no decode
//   before    the p2m as it was before the shared p2m (f1f896f: Map<top, {mfn1, type, access}>, three arrays)
//   P2m       the shared p2m's writer-side lookup (plain reads of the packed entry word)
//   P2mView   the worker-side view of the same p2m (Atomics.load of the entry word), run here on the main thread
// Each lookup loop is its own function (new Function), so no call site sees two classes.
// Time is the process's CPU time (getrusage; the loops run on this thread alone). Several rounds,
// interleaved; figures are min / median / max ns per lookup and the median's ratio to baseline.
// Run alone: node --import tsx --import ./scripts/kconfig-defaults.mjs bench/p2m-lookup.bench.ts
//   env BENCH_N (lookups per measurement, default 4000000), BENCH_RUNS (rounds, default 7)
import { ACCESS_R, ACCESS_W, ACCESS_X, PHYS_FAULT, PHYS_MMIO } from '../src/hardware/riscv/hart-api.ts';
import { FramePool, PAGE_SHIFT } from '../src/hypervisor/mm/frame-pool.ts';
import { P2M_MMIO_EMUL, P2M_RAM_RW, P2m } from '../src/hypervisor/mm/p2m.ts';
import { P2mView } from '../src/hypervisor/mm/p2m-view.ts';

const N = Number(process.env.BENCH_N ?? 4_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const RAM_PAGES = (256 << 20) >> PAGE_SHIFT, BASE = 0x80000; // 256 MiB at 0x8000_0000
/** The same frames mapped again far up (GPA 2^44): tops beyond DENSE_TOPS take the Map path. */
const FAR = 2 ** 32;

/** The p2m before the shared p2m (its lookup and storage, copied from p2m.ts at f1f896f). */
class BeforeP2m {
  private readonly leaves = new Map<number, { mfn1: Int32Array; type: Uint8Array; access: Uint8Array }>();
  private static readonly RIGHTS = Uint8Array.of(0, 7, 5, 0, 3, 1, 5, 0);
  set(gfn: number, mfn: number, type: number): void {
    const top = Math.floor(gfn / 512);
    let l = this.leaves.get(top);
    if (!l) this.leaves.set(top, (l = { mfn1: new Int32Array(512), type: new Uint8Array(512), access: new Uint8Array(512) }));
    l.mfn1[gfn & 511] = mfn + 1; l.type[gfn & 511] = type; l.access[gfn & 511] = 7;
  }
  lookup(gppn: number, access: number): number {
    const l = this.leaves.get(Math.floor(gppn / 512));
    if (l === undefined) return PHYS_FAULT;
    const i = gppn & 511;
    const type = l.type[i];
    if (type === P2M_MMIO_EMUL) return PHYS_MMIO;
    if ((BeforeP2m.RIGHTS[type] & l.access[i] & access) === 0) return PHYS_FAULT;
    return (l.mfn1[i] - 1) * (1 << PAGE_SHIFT);
  }
}

/** The floor: Map.get + one Int32Array read of a ready machine offset. */
class Baseline {
  private readonly leaves = new Map<number, Int32Array>();
  set(gfn: number, mfn: number): void {
    const top = Math.floor(gfn / 512);
    let l = this.leaves.get(top);
    if (!l) this.leaves.set(top, (l = new Int32Array(512).fill(PHYS_FAULT)));
    l[gfn & 511] = mfn * 4096;
  }
  lookup(gppn: number, _access: number): number {
    const l = this.leaves.get(Math.floor(gppn / 512));
    return l === undefined ? PHYS_FAULT : l[gppn & 511];
  }
}

const pool = new FramePool(RAM_PAGES + 16);
const frames = pool.alloc(1, RAM_PAGES)!;
const p2m = new P2m(pool), before = new BeforeP2m(), base = new Baseline();
p2m.batch(() => {
  for (const at of [BASE, FAR]) {
    for (let i = 0; i < RAM_PAGES; i++) { p2m.set(at + i, frames[i], P2M_RAM_RW); before.set(at + i, frames[i], P2M_RAM_RW); base.set(at + i, frames[i]); }
  }
  p2m.set(0x10000, -1, P2M_MMIO_EMUL); before.set(0x10000, -1, P2M_MMIO_EMUL);
});
const view = new P2mView(p2m.share(), pool.memory, { read: () => 0, write: () => {} });

// Inputs: gfns (sequential sweep, or random over the RAM) and access kinds (mostly reads, as a TLB-miss mix).
const seqGfns = new Float64Array(N), rndGfns = new Float64Array(N), farGfns = new Float64Array(N), accs = new Uint8Array(N);
let seed = 0x2545f491;
const rnd = () => ((seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) ^ (seed + 0x6d2b79f5)) >>> 0) / 2 ** 32;
for (let i = 0; i < N; i++) {
  seqGfns[i] = BASE + (i % RAM_PAGES);
  rndGfns[i] = BASE + Math.floor(rnd() * RAM_PAGES);
  farGfns[i] = FAR + Math.floor(rnd() * RAM_PAGES);
  const r = rnd();
  accs[i] = r < 0.6 ? ACCESS_R : r < 0.85 ? ACCESS_X : ACCESS_W;
}

type Lookup = { lookup(gppn: number, access: number): number };
/** A fresh lookup loop per implementation: a distinct function literal, so its call site stays monomorphic. */
const loopFor = (): ((t: Lookup, gfns: Float64Array, accs: Uint8Array) => number) =>
  new Function('t', 'gfns', 'accs', 'let s = 0; for (let i = 0; i < gfns.length; i++) s += t.lookup(gfns[i], accs[i]); return s;') as never;

/**
 * CPU time of the process in ns (getrusage: brought up to date when read, so exact to the us;
 * Linux's per-thread schedstat is only updated at ticks and switches, 4 ms steps here). The
 * other threads are idle while a loop runs: it allocates nothing.
 */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e3;
}

const impls: Array<[string, Lookup]> = [['baseline', base], ['before', before], ['P2m', p2m], ['P2mView', view]];
const cases: Array<[string, Float64Array]> = [['sequential', seqGfns], ['random', rndGfns], ['far', farGfns]];
const loops = new Map<string, ReturnType<typeof loopFor>>(impls.flatMap(([n]) => cases.map(([c]) => [`${n}/${c}`, loopFor()] as const)));
const ns = new Map<string, number[]>([...loops.keys()].map((k) => [k, []]));
const sums = new Map<string, number>();

for (let run = -1; run < RUNS; run++) { // run -1 warms up (tiers up every loop)
  for (const [c, gfns] of cases) {
    for (const [n, t] of impls) {
      const k = `${n}/${c}`, f = loops.get(k)!;
      const c0 = cpuNs();
      const s = f(t, gfns, accs);
      const dt = cpuNs() - c0;
      if (run >= 0) ns.get(k)!.push(dt / N);
      if (n !== 'baseline') { // every p2m must give the same answers
        if (sums.has(c) && sums.get(c) !== s) throw new Error(`${k}: checksum ${s} != ${sums.get(c)}`);
        sums.set(c, s);
      }
    }
  }
}

console.log(`p2m lookup, 256 MiB RAM guest (${RAM_PAGES} gfns at ${BASE.toString(16)} and at ${FAR.toString(16)}, ${p2m.leafCount} leaves), ${N} lookups x ${RUNS} runs, ns/lookup (CPU time)`);
for (const [c] of cases) {
  const med = (k: string) => { const a = [...ns.get(k)!].sort((x, y) => x - y); return a[a.length >> 1]; };
  const b = med(`baseline/${c}`);
  for (const [n] of impls) {
    const a = [...ns.get(`${n}/${c}`)!].sort((x, y) => x - y);
    console.log(`  ${c.padEnd(10)} ${n.padEnd(8)} min ${a[0].toFixed(2)}  median ${med(`${n}/${c}`).toFixed(2)}  max ${a[a.length - 1].toFixed(2)}  ${(med(`${n}/${c}`) / b).toFixed(2)}x baseline`);
  }
}
