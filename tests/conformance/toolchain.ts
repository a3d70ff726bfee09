// SPDX-License-Identifier: GPL-2.0-only
// Test-time helpers around Debian's RISC-V cross toolchain and QEMU: build a program into
// build/ (rebuilt only when a source or the flags changed), run readelf, run a bare-metal
// ELF on qemu-system-riscv64's virt board. Used by the conformance, loader and bench code.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD = join(ROOT, 'build');
export const CROSS_GCC = 'riscv64-linux-gnu-gcc';
export const QEMU = 'qemu-system-riscv64';
export const CPU_BENCH = '/work/shared/peers/cpu-bench';

export function haveTool(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Compile `sources` with riscv64-linux-gnu-gcc and `flags` into build/<out>. Skips the
 * compiler when a stamp of (flags, sources' and `headers`' contents) matches the last build.
 * Returns the path.
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
  if (r.status !== 0) throw new Error(`${CROSS_GCC} failed for ${out}:\n${r.stderr}`);
  writeFileSync(stampPath, stamp);
  return outPath;
}

/** Flags for the bare-metal M-mode minimark image (the cpu-bench recipe), powered off via 0x10_0000. */
export function minimarkBareFlags(iters: number): string[] {
  return ['-O2', '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany', '-ffreestanding', '-nostdlib', '-static',
    '-DEXIT_SYSCON', '-DSYSCON_ADDR=0x100000UL', `-DITERS=${iters}`, '-Wl,--build-id=none',
    '-Wl,--defsym=BASE=0x80000000', '-T', join(CPU_BENCH, 'link.ld')];
}

/** Build minimark's bare-metal image for `iters` iterations into build/. */
export function buildMinimarkBare(iters: number): string {
  return crossBuild(`cpu-bench/mm-bare-${iters}.elf`,
    ['start.S', 'bare.c', 'minimark.c'].map((f) => join(CPU_BENCH, f)), minimarkBareFlags(iters));
}

export interface QemuResult {
  status: number | null;
  stdout: string;
  ms: number;
}

/** Run a bare-metal ELF on QEMU's virt board (or `machine`), -bios none, serial on stdout. */
export function runQemu(elf: string, opts: { timeoutMs?: number; extra?: string[]; machine?: string } = {}): QemuResult {
  const t0 = performance.now();
  const r = spawnSync(QEMU, ['-machine', opts.machine ?? 'virt', '-display', 'none', '-bios', 'none', '-kernel', elf,
    '-monitor', 'none', '-serial', 'stdio', ...(opts.extra ?? [])],
  { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, stdout: r.stdout ?? '', ms: performance.now() - t0 };
}
