// SPDX-License-Identifier: GPL-2.0-only
// Guest MIPS on minimark (the team's cpu-bench workload, bare-metal build) for tsxen's bare
// board and for QEMU TCG (`qemu-system-riscv64 -machine virt -bios none -kernel mm-bare.elf`),
// measured in the same run on the same machine, and their ratio. Variants:
//   M-mode  the cpu-bench recipe as is (physical addresses, no translation);
//   Sv39    the same minimark and bare.c entered in S-mode through bench/mm-sv39-start.S, with
//           RAM mapped by 4 KiB pages, so every access goes through the TLB.
//   tsxen: `bin/tsxen machine --kernel IMAGE --stats` (the built bundle, as users run it):
//          instructions executed / time of the run loop.
//   QEMU:  time of the whole process for ITERS minus that of a 0-iteration build (QEMU's
//          start-up), best of RUNS each. QEMU's instruction count is the same program's count
//          on our hart, extrapolated linearly from two tsxen runs (instructions per iteration).
// Both are reported per wall-clock second and per CPU second (user + system of the process):
// on a shared, loaded machine the CPU-second figures and their ratio are the stable ones.
//   traps   a U-mode loop of ecalls into an M-mode handler that returns with mret
//           (bench/trap-loop.S): the cost of every syscall, SBI call and timer tick.
// Environment: BENCH_ITERS (tsxen, default 1500), BENCH_QEMU_ITERS (default 30000), BENCH_RUNS (3),
// BENCH_TRAP_ITERS (100000; QEMU runs 20x as many), BENCH_CPU_VARIANTS (mmode,sv39,traps).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QEMU, ROOT, buildMinimarkBare } from '../tests/conformance/toolchain.ts';
import { buildMinimarkSv39, buildTrapLoop } from './cpu-images.ts';

const ITERS = Number(process.env.BENCH_ITERS ?? 1500);
const QITERS = Number(process.env.BENCH_QEMU_ITERS ?? 30000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SMALL = 20;
const TRAP_ITERS = Number(process.env.BENCH_TRAP_ITERS ?? 100000);

interface Timed { insns: number; s: number; cpu: number }

function tsxen(elf: string): Timed {
  const bundle = join(ROOT, 'dist', 'tsxen.cjs');
  if (!existsSync(bundle)) throw new Error('dist/tsxen.cjs missing: run node scripts/build.mjs (npm run bench does)');
  const r = spawnSync(process.execPath, [bundle, 'machine', '--kernel', elf, '--stats'], { encoding: 'utf8', timeout: 600_000 });
  const m = /(\d+) instructions in ([\d.]+) s .*\(([\d.]+) s CPU/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m) throw new Error(`tsxen run failed (exit ${r.status}): ${r.stderr}`);
  return { insns: Number(m[1]), s: Number(m[2]), cpu: Number(m[3]) };
}

/** QEMU's wall and CPU seconds (bash's `times` reports the child's user and system time). */
function qemuTimes(elf: string): { s: number; cpu: number } {
  let best = { s: Infinity, cpu: Infinity };
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync('bash', ['-c', '"$@" >/dev/null </dev/null; times', 'bench', QEMU, '-machine', 'virt', '-display', 'none',
      '-monitor', 'none', '-serial', 'stdio', '-bios', 'none', '-kernel', elf], { encoding: 'utf8', timeout: 300_000 });
    const s = (performance.now() - t0) / 1000;
    const t = [...(r.stdout ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    if (r.status !== 0 || t.length < 4) throw new Error(`QEMU run of ${elf} failed (exit ${r.status}): ${r.stderr}`);
    best = { s: Math.min(best.s, s), cpu: Math.min(best.cpu, t[2] + t[3]) };
  }
  return best;
}

const fmt = (n: number, d = 1) => n.toFixed(d);

function measure(variant: string, build: (iters: number) => string, ITERS: number, QITERS: number, unit?: string): void {
  const small = tsxen(build(SMALL));
  let best: Timed = { insns: 0, s: Infinity, cpu: Infinity };
  for (let i = 0; i < RUNS; i++) {
    const r = tsxen(build(ITERS));
    if (r.cpu < best.cpu) best = r;
  }
  const perIter = (best.insns - small.insns) / (ITERS - SMALL);
  const fixed = small.insns - SMALL * perIter;
  const tWall = best.insns / best.s / 1e6, tCpu = best.insns / best.cpu / 1e6;
  console.log(`[${variant}] tsxen: ${ITERS} iterations, ${best.insns} instructions in ${fmt(best.s, 2)} s wall / ` +
    `${fmt(best.cpu, 2)} s CPU = ${fmt(tWall)} MIPS wall, ${fmt(tCpu)} MIPS per CPU second (best of ${RUNS})`);
  const q0 = qemuTimes(build(0));
  const q1 = qemuTimes(build(QITERS));
  const qInsns = Math.round(fixed + QITERS * perIter);
  const qs = Math.max(q1.s - q0.s, 1e-3), qc = Math.max(q1.cpu - q0.cpu, 1e-3);
  const qWall = qInsns / qs / 1e6, qCpu = qInsns / qc / 1e6;
  console.log(`[${variant}] QEMU TCG: ${QITERS} iterations, ~${qInsns} instructions (${fmt(perIter, 0)} per iteration, ` +
    `from tsxen) in ${fmt(qs, 3)} s wall / ${fmt(qc, 3)} s CPU after start-up (${fmt(q0.s, 3)} s / ${fmt(q0.cpu, 3)} s) = ` +
    `${fmt(qWall, 0)} MIPS wall, ${fmt(qCpu, 0)} MIPS per CPU second`);
  console.log(`[${variant}] cpu: tsxen/QEMU = ${(tCpu / qCpu).toFixed(4)} per CPU second (QEMU ${fmt(qCpu / tCpu)}x faster), ` +
    `${(tWall / qWall).toFixed(4)} wall (QEMU ${fmt(qWall / tWall)}x faster)`);
  if (unit) {
    console.log(`[${variant}] per ${unit}: tsxen ${fmt((best.cpu / ITERS) * 1e6, 2)} us, QEMU ${fmt((qc / QITERS) * 1e6, 3)} us (CPU time)`);
  }
}

const only = process.env.BENCH_CPU_VARIANTS?.split(',');
const want = (v: string) => !only || only.includes(v);
if (want('mmode')) measure('M-mode', buildMinimarkBare, ITERS, QITERS);
if (want('sv39')) measure('S-mode Sv39 4K', buildMinimarkSv39, ITERS, QITERS);
if (want('traps')) measure('trap round trips', buildTrapLoop, TRAP_ITERS, TRAP_ITERS * 20, 'ecall/mret round trip');
