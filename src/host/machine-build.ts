// SPDX-License-Identifier: GPL-2.0-only
// Building guest programs with Debian's RISC-V cross compiler (riscv64-linux-gnu-gcc) into
// build/: a content stamp skips the compiler when nothing changed. Used by `tsxen demo`, the
// conformance tests and the benchmarks. The minimark sources are the team's shared recipe in
// ../shared/peers/cpu-bench (TSXEN_CPU_BENCH overrides the path); they are never copied here.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository: TSXEN_ROOT, else the first folder above the command or cwd with scripts/build.mjs. */
function findRoot(): string {
  const starts = [process.env.TSXEN_ROOT, process.argv[1] && dirname(resolve(process.argv[1])), process.cwd()];
  for (const s of starts) {
    if (!s) continue;
    for (let d = s; ; d = dirname(d)) {
      if (existsSync(join(d, 'scripts', 'build.mjs')) && existsSync(join(d, 'package.json'))) return d;
      if (dirname(d) === d) break;
    }
  }
  return process.cwd();
}

export const ROOT = findRoot();
export const BUILD = join(ROOT, 'build');
export const CROSS_GCC = 'riscv64-linux-gnu-gcc';
/** The team's shared cpu-bench recipe: shared/ sits beside the repository (in CI too). */
export const CPU_BENCH = process.env.TSXEN_CPU_BENCH ?? join(ROOT, '..', 'shared', 'peers', 'cpu-bench');

export function haveTool(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Compile `sources` with riscv64-linux-gnu-gcc and `flags` into build/<out>. Skips the
 * compiler when a stamp of (flags, sources' and `headers`' contents) matches the last build.
 * Returns the path; throws an Error with the compiler's message on failure.
 */
export function crossBuild(out: string, sources: string[], flags: string[], headers: string[] = []): string {
  const outPath = join(BUILD, out);
  mkdirSync(dirname(outPath), { recursive: true });
  const h = createHash('sha256').update(JSON.stringify(flags));
  for (const s of [...sources, ...headers]) h.update(s).update(readFileSync(s));
  const stamp = h.digest('hex');
  const stampPath = `${outPath}.stamp`;
  if (existsSync(outPath) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp) return outPath;
  const r = spawnSync(CROSS_GCC, [...flags, '-o', outPath, ...sources], { encoding: 'utf8' });
  if (r.error) throw new Error(`${CROSS_GCC} is not installed (apt-get install gcc-riscv64-linux-gnu)`);
  if (r.status !== 0) throw new Error(`${CROSS_GCC} failed for ${out}:\n${r.stderr}`);
  writeFileSync(stampPath, stamp);
  return outPath;
}

/** The cpu-bench recipe's flags for the bare-metal M-mode image, powered off via 0x10_0000. */
export function minimarkBareFlags(iters: number, base = 0x8000_0000): string[] {
  return ['-O2', '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany', '-ffreestanding', '-nostdlib', '-static',
    '-DEXIT_SYSCON', '-DSYSCON_ADDR=0x100000UL', `-DITERS=${iters}`, '-Wl,--build-id=none',
    `-Wl,--defsym=BASE=0x${base.toString(16)}`, '-T', join(CPU_BENCH, 'link.ld')];
}

/** Build minimark's bare-metal image (cpu-bench's start.S + bare.c + minimark.c) for `iters`. */
export function buildMinimarkBare(iters: number): string {
  if (!existsSync(join(CPU_BENCH, 'minimark.c')))
    throw new Error(`minimark sources not found in ${CPU_BENCH} (set TSXEN_CPU_BENCH)`);
  return crossBuild(`cpu-bench/mm-bare-${iters}.elf`,
    ['start.S', 'bare.c', 'minimark.c'].map((f) => join(CPU_BENCH, f)), minimarkBareFlags(iters));
}
