#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-only
// Builds the PV kernel (guests/pv) with Debian's RISC-V cross compiler into
// build/pv/pv-kernel.elf. Freestanding: no libc, our own link script (link.ld, 0x8020_0000).
// Rebuilds only when a source, header, the link script or this script is newer than the ELF.
// Usage: node guests/pv/build.mjs [--force]   (prints the ELF's path)
// From code: import { buildPvKernel } from '../../guests/pv/build.mjs'; buildPvKernel() → path.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const PV_KERNEL_ELF = join(root, 'build', 'pv', 'pv-kernel.elf');
export const CROSS = process.env.CROSS_COMPILE ?? 'riscv64-linux-gnu-';

export const CFLAGS = [
  '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany',
  '-ffreestanding', '-nostdlib', '-nostartfiles', '-static', '-fno-pic', '-fno-pie', '-no-pie',
  '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-fno-unwind-tables',
  '-O2', '-g', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter', '-std=gnu11',
];

function sources() {
  const src = join(here, 'src');
  return readdirSync(src).filter((f) => f.endsWith('.c') || f.endsWith('.S')).sort().map((f) => join(src, f));
}

function inputs() {
  const inc = join(here, 'include');
  return [...sources(), ...readdirSync(inc).map((f) => join(inc, f)), join(here, 'link.ld'), fileURLToPath(import.meta.url)];
}

/** Build if needed; returns the ELF's path. Throws with the compiler's output on failure. */
export function buildPvKernel({ force = false, out = PV_KERNEL_ELF } = {}) {
  if (!force && existsSync(out)) {
    const t = statSync(out).mtimeMs;
    if (inputs().every((f) => statSync(f).mtimeMs <= t)) return out;
  }
  mkdirSync(dirname(out), { recursive: true });
  const args = [...CFLAGS, '-I', join(here, 'include'), '-T', join(here, 'link.ld'), '-Wl,--build-id=none', '-Wl,-z,noexecstack',
    '-o', `${out}.${process.pid}.tmp`, ...sources(), '-lgcc'];
  try {
    execFileSync(`${CROSS}gcc`, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    // Atomic: a concurrent test process never reads a half-written ELF.
    renameSync(`${out}.${process.pid}.tmp`, out);
  } catch (e) {
    rmSync(`${out}.${process.pid}.tmp`, { force: true });
    const err = /** @type {{ stderr?: Buffer, message: string }} */ (e);
    throw new Error(`PV kernel build failed: ${CROSS}gcc ${args.map((a) => relative(root, a) || a).join(' ')}\n${err.stderr?.toString() ?? err.message}`);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(buildPvKernel({ force: process.argv.includes('--force') }) + '\n');
}
