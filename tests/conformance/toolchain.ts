// SPDX-License-Identifier: GPL-2.0-only
// Test-time helpers around Debian's RISC-V cross toolchain and QEMU: the build helpers of
// src/host/machine-build.ts, running a bare-metal ELF on qemu-system-riscv64, and running one
// on tsxen's bare board in-process. Used by the conformance, loader and bench code.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BareBoard, type StopReason } from '../../src/hardware/boards/bare.ts';

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

/** Far more than any conformance program needs (the largest runs a few million instructions). */
const MAX_INSNS = 300_000_000;

export interface TsxenRun { stop: StopReason; out: string; insns: number; board: BareBoard }

interface RunOpts { maxInsns?: number; clock?: 'deterministic' | 'realtime'; harts?: number; slice?: number }

/** Run an image on the bare board (deterministic time by default), collecting the console. */
export function runTsxen(elf: string, o: RunOpts = {}): TsxenRun {
  let out = '';
  const board = new BareBoard({ ramSize: 128 << 20, clock: o.clock ?? 'deterministic', hartCount: o.harts,
    onTransmit: (b) => { out += String.fromCharCode(b); } });
  board.load({ kernel: readFileSync(elf) });
  const stop = board.run(o.maxInsns ?? MAX_INSNS, o.slice);
  return { stop, out, insns: board.instructions, board };
}

