// SPDX-License-Identifier: GPL-2.0-only
// Test-time helpers around Debian's RISC-V cross toolchain and QEMU: the build helpers of
// src/host/machine-build.ts, plus running a bare-metal ELF on qemu-system-riscv64. Used by
// the conformance, loader and bench code.
import { spawnSync } from 'node:child_process';

export { BUILD, CPU_BENCH, CROSS_GCC, ROOT, buildMinimarkBare, crossBuild, haveTool, minimarkBareFlags } from '../../src/host/machine-build.ts';
export const QEMU = 'qemu-system-riscv64';

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
