// SPDX-License-Identifier: GPL-2.0-only
// Guest MIPS on minimark (the team's cpu-bench workload, bare-metal build) for tsxen's bare
// board and for QEMU TCG (`qemu-system-riscv64 -machine virt -bios none -kernel mm-bare.elf`),
// measured in the same run on the same machine, and their ratio.
//   tsxen: `bin/tsxen machine --kernel mm-bare-N.elf --stats` (the built bundle, as users run
//          it): instructions retired / wall time of the run loop.
//   QEMU:  wall time of the whole process for ITERS minus that of a 0-iteration build (QEMU's
//          start-up), best of RUNS each. QEMU's instruction count is the same program's count
//          on our hart, extrapolated linearly from two tsxen runs (instructions per iteration).
// Environment: BENCH_ITERS (tsxen, default 1500), BENCH_QEMU_ITERS (default 30000), BENCH_RUNS (3).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, buildMinimarkBare, runQemu } from '../tests/conformance/toolchain.ts';

const ITERS = Number(process.env.BENCH_ITERS ?? 1500);
const QITERS = Number(process.env.BENCH_QEMU_ITERS ?? 30000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SMALL = 20;

function tsxen(elf: string): { insns: number; s: number } {
  const bundle = join(ROOT, 'dist', 'tsxen.cjs');
  if (!existsSync(bundle)) throw new Error('dist/tsxen.cjs missing: run node scripts/build.mjs (npm run bench does)');
  const r = spawnSync(process.execPath, [bundle, 'machine', '--kernel', elf, '--stats'], { encoding: 'utf8', timeout: 600_000 });
  const m = /(\d+) instructions in ([\d.]+) s/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m) throw new Error(`tsxen run failed (exit ${r.status}): ${r.stderr}`);
  return { insns: Number(m[1]), s: Number(m[2]) };
}

function qemuSeconds(elf: string): number {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const q = runQemu(elf, { timeoutMs: 300_000 });
    if (q.status !== 0) throw new Error(`QEMU run of ${elf} failed (exit ${q.status})`);
    best = Math.min(best, q.ms / 1000);
  }
  return best;
}

const fmt = (n: number, d = 1) => n.toFixed(d);
const small = tsxen(buildMinimarkBare(SMALL));
let best = { insns: 0, s: Infinity };
for (let i = 0; i < RUNS; i++) {
  const r = tsxen(buildMinimarkBare(ITERS));
  if (r.s < best.s) best = r;
}
const perIter = (best.insns - small.insns) / (ITERS - SMALL);
const fixed = small.insns - SMALL * perIter;
const tsxenMips = best.insns / best.s / 1e6;
console.log(`minimark ${ITERS} iterations on tsxen: ${best.insns} instructions in ${fmt(best.s, 2)} s = ${fmt(tsxenMips)} MIPS (best of ${RUNS})`);

const qStart = qemuSeconds(buildMinimarkBare(0));
const qFull = qemuSeconds(buildMinimarkBare(QITERS));
const qInsns = Math.round(fixed + QITERS * perIter);
const qMips = qInsns / Math.max(qFull - qStart, 1e-3) / 1e6;
console.log(`minimark ${QITERS} iterations on QEMU ${'TCG'}: ~${qInsns} instructions (${fmt(perIter, 0)}/iteration from tsxen) in ` +
  `${fmt(qFull - qStart, 3)} s (${fmt(qFull, 3)} s minus ${fmt(qStart, 3)} s start-up) = ${fmt(qMips, 0)} MIPS`);
console.log(`cpu: tsxen ${fmt(tsxenMips)} MIPS, QEMU ${fmt(qMips, 0)} MIPS, tsxen/QEMU = ${(tsxenMips / qMips).toFixed(4)} (QEMU ${fmt(qMips / tsxenMips)}x faster)`);
