// SPDX-License-Identifier: GPL-2.0-only
// Guest images of the CPU benchmark beyond the cpu-bench recipe itself: minimark entered in
// S-mode under Sv39 with 4 KiB pages (bench/mm-sv39-start.S + cpu-bench's bare.c/minimark.c),
// shared with the conformance test that checks its checksum against QEMU; and a loop of trap
// round trips (bench/trap-loop.S).
import { join } from 'node:path';
import { CPU_BENCH, ROOT, crossBuild, minimarkBareFlags } from '../tests/conformance/toolchain.ts';

export function buildMinimarkSv39(iters: number): string {
  return crossBuild(`cpu-bench/mm-sv39-${iters}.elf`,
    [join(ROOT, 'bench/mm-sv39-start.S'), join(CPU_BENCH, 'bare.c'), join(CPU_BENCH, 'minimark.c')], minimarkBareFlags(iters));
}

export function buildTrapLoop(iters: number): string {
  return crossBuild(`cpu-bench/trap-loop-${iters}.elf`, [join(ROOT, 'bench/trap-loop.S')],
    ['-march=rv64gc', '-mabi=lp64d', '-nostdlib', '-static', `-DITERS=${iters}`, '-Wl,--build-id=none',
      '-Wl,--defsym=BASE=0x80000000', '-T', join(CPU_BENCH, 'link.ld')]);
}
