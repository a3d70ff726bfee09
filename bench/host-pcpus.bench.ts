// SPDX-License-Identifier: GPL-2.0-only
// Issue 7: what the pCPU worker threads buy. The same host (credit2, N pCPUs, N CPU-bound PV
// guests each counting in a register) runs for BENCH_SECONDS of wall time twice in this process:
// once with the pCPUs taking turns on this thread (HostSched.run, `tsxen host` without --threads)
// and once with each pCPU on a worker thread (HostPcpus, `--threads`). Figures: guest
// instructions retired per wall second (the counters' sum x 2: the loop is addi + jal) and
// the process's CPU seconds per wall second; the ratio threads / one thread is the speed-up, bounded
// by the host cores this machine can spare (see the load average printed).
// Environment: BENCH_PCPUS (2), BENCH_SECONDS (3), BENCH_RUNS (3; best of).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { HostPcpus } from '../src/host/host-pcpus.ts';
import { HostSched } from '../src/host/host-sched.ts';
import { A, makeElf } from '../src/hypervisor/hypercall/test-support.ts';
import type { Domain } from '../src/hypervisor/domain/domain.ts';
import { Hypervisor } from '../src/hypervisor/xen.ts';

const N = Number(process.env.BENCH_PCPUS ?? 2);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const T0 = 5;
const COUNT = makeElf([A.addi(T0, T0, 1), A.jal(0, -4)]);

interface Result { mips: number; cpu: number }

function build(): { hv: Hypervisor; sched: HostSched; t0: bigint; doms: Domain[] } {
  const sched = new HostSched({ sockets: 1, coresPerSocket: N, threadsPerCore: 1, nodes: 1 }, '', () => {});
  const t0 = process.hrtime.bigint();
  const timebase = { frequency: 10_000_000, now: (): number => Number((process.hrtime.bigint() - t0) / 100n) };
  const hv = new Hypervisor({ frames: 4096 + 1024 * N, timebase, scheduler: sched.ops });
  sched.attach(hv);
  return { hv, sched, t0, doms: [] };
}

const counted = (doms: Domain[]): number => doms.reduce((n, d) => n + (d.vcpus[0]!.hart.x[2 * T0]! >>> 0), 0);
const cpuSec = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

function oneThread(): Result {
  const b = build();
  for (let i = 0; i < N; i++) b.doms.push(b.hv.createDomain({ type: 'pv', memoryMiB: 2, maxMemoryMiB: 3, vcpus: 1, maxVcpus: 1, kernel: COUNT }));
  b.sched.run(50); // warm up
  const c0 = counted(b.doms), cpu0 = cpuSec(), w0 = performance.now();
  while (performance.now() - w0 < SECONDS * 1000) b.sched.run(4);
  const wall = (performance.now() - w0) / 1000;
  return { mips: ((counted(b.doms) - c0) * 2) / wall / 1e6, cpu: (cpuSec() - cpu0) / wall };
}

function threads(): Result {
  const b = build();
  const p = new HostPcpus(b.hv, b.sched, b.t0);
  try {
    for (let i = 0; i < N; i++) b.doms.push(b.hv.createDomain({ type: 'pv', memoryMiB: 2, maxMemoryMiB: 3, vcpus: 1, maxVcpus: 1, kernel: COUNT }));
    const serve = (ms: number): void => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const seen = p.doorbell();
        if (p.failure !== null) throw new Error(p.failure);
        p.service();
        p.waitDoorbell(seen, 1);
      }
    };
    // Warm up: the workers start (tsx) and every guest has run.
    for (let i = 0; i < 3000 && b.doms.some((d) => (d.vcpus[0]!.hart.x[2 * T0]! >>> 0) === 0); i++) serve(10);
    serve(200);
    const c0 = counted(b.doms), cpu0 = cpuSec(), w0 = performance.now();
    serve(SECONDS * 1000);
    const wall = (performance.now() - w0) / 1000;
    return { mips: ((counted(b.doms) - c0) * 2) / wall / 1e6, cpu: (cpuSec() - cpu0) / wall };
  } finally {
    p.stop();
  }
}

const load = (): string => {
  try { return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '); } catch { return '?'; }
};
console.log(`host-pcpus: ${N} pCPUs, ${N} CPU-bound PV guests, credit2, ${SECONDS} s each, best of ${RUNS}; ${availableParallelism()} host CPUs; load average ${load()}`);
let one: Result | null = null, thr: Result | null = null;
for (let r = 0; r < RUNS; r++) {
  const a = oneThread(), b = threads();
  console.log(`  run ${r + 1}: one thread ${a.mips.toFixed(0)} MIPS (${a.cpu.toFixed(2)} CPU/wall), threads ${b.mips.toFixed(0)} MIPS (${b.cpu.toFixed(2)} CPU/wall)`);
  if (one === null || a.mips > one.mips) one = a;
  if (thr === null || b.mips > thr.mips) thr = b;
}
console.log(`one thread (pCPUs in turn): ${one!.mips.toFixed(0)} MIPS, ${one!.cpu.toFixed(2)} CPU s per s`);
console.log(`worker threads (--threads): ${thr!.mips.toFixed(0)} MIPS, ${thr!.cpu.toFixed(2)} CPU s per s`);
console.log(`threads / one thread = ${(thr!.mips / one!.mips).toFixed(2)}x guest instructions per wall second`);
console.log(`host-pcpus: load average at end ${load()}`);
