// SPDX-License-Identifier: GPL-2.0-only
// Instruction-level micro-benchmark of the hart loop, in process (no build, no QEMU): guest MIPS
// per CPU second of two small bare M-mode loops, with block translation on (the default) and off:
//   alu   add/xor/shift/compare and a backward branch (the dispatcher and translated ALU code);
//   mem   ld/sd/lw/sw over a 2 KiB array plus address arithmetic (the TLB-hit load/store paths,
//         where aligned 64-bit accesses are single-copy atomic, docs/design/hart.md);
//   trap  ecall / mret round trips in M-mode (trap entry and return, privilege bookkeeping).
// One hart per configuration, warmed up, then BENCH_HART_ROUNDS (default 9) runs of
// BENCH_HART_INSNS instructions (default 5 M); prints min / median / max.
// BENCH_HART_BASE=/path/to/another/checkout: paired A/B against that tree's hart in the same
// process, alternating runs, and the median of the per-pair ratios (this tree / that one): on a
// shared, noisy machine the paired ratio is the figure to trust, not two separate runs.
// `node --import tsx bench/hart.bench.ts` (or `npm run bench -- hart`).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as Here from '../src/hardware/riscv/test-support.ts';

type Support = typeof Here;
const ROUNDS = Number(process.env.BENCH_HART_ROUNDS ?? 9);
const INSNS = Number(process.env.BENCH_HART_INSNS ?? 5e6);
const BASE = process.env.BENCH_HART_BASE;
const { A, RAM_BASE } = Here;
const DATA = RAM_BASE + 0x4000;

const programs: Record<string, number[]> = {
  // x5 counter, x6..x10 scratch; an endless loop.
  alu: [
    A.addi(5, 5, 1), A.add(6, 6, 5), A.xor(7, 7, 6), A.slli(8, 7, 3), A.srli(9, 8, 5),
    A.sltu(10, 9, 6), A.or(6, 6, 10), A.sub(7, 7, 9), A.jal(0, -32),
  ],
  // x5 = DATA; x6 byte offset (wraps at 2 KiB); loads and stores of both widths.
  mem: [
    A.add(7, 5, 6), A.ld(8, 7, 0), A.addi(8, 8, 1), A.sd(8, 7, 0), A.lw(9, 7, 8), A.add(9, 9, 8),
    A.sw(9, 7, 8), A.ld(10, 7, 16), A.sd(10, 7, 24), A.addi(6, 6, 32), A.andi(6, 6, 2047), A.jal(0, -44),
  ],
  // M-mode ecall round trips: mtvec = 16 (set by setUp); loop: ecall; j loop. Handler: mepc += 4; mret.
  trap: [
    A.ecall(), A.jal(0, -4), A.jal(0, 0), A.jal(0, 0),
    A.csrrs(10, 0x341, 0), A.addi(10, 10, 4), A.csrrw(0, 0x341, 10), A.mret(),
  ],
};

type H = ReturnType<Support['makeHart']>['hart'];
function setUp(S: Support, name: string, jit: boolean): H {
  const { hart, phys } = S.makeHart({ jit });
  phys.put(RAM_BASE, ...programs[name]!);
  hart.setXNum(5, DATA);
  hart.s[158] = RAM_BASE + 16; hart.s[159] = 0; // mtvec (hart-state.ts MTVEC) for `trap`
  hart.step(3_000_000); // warm-up (and translation)
  return hart;
}
function run(h: H): number {
  const n0 = h.instructions, t0 = process.cpuUsage();
  while (h.instructions - n0 < INSNS) h.step(1_000_000);
  const t = process.cpuUsage(t0);
  return (h.instructions - n0) / ((t.user + t.system) / 1e6) / 1e6;
}
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const med = (a: number[]) => sorted(a)[a.length >> 1]!;
const f = (n: number, d = 1) => n.toFixed(d);

const base = BASE === undefined ? null
  : await import(pathToFileURL(resolve(BASE, 'src/hardware/riscv/test-support.ts')).href) as Support;
for (const name of Object.keys(programs)) {
  for (const jit of [true, false]) {
    const label = `[hart ${name}${jit ? '' : ' interp'}]`;
    const here = setUp(Here, name, jit), other = base && setUp(base, name, jit);
    const mh: number[] = [], mo: number[] = [], ratio: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const a = run(here);
      mh.push(a);
      if (other) { const b = run(other); mo.push(b); ratio.push(a / b); }
    }
    const s = sorted(mh);
    console.log(`${label} MIPS per CPU s: min ${f(s[0]!)} median ${f(med(mh))} max ${f(s[s.length - 1]!)} ` +
      `(${ROUNDS} runs of ${INSNS / 1e6} M)`);
    if (other) {
      const r = sorted(ratio);
      console.log(`${label} base median ${f(med(mo))}; this/base per pair: median ${f(med(ratio), 3)} ` +
        `(quartiles ${f(r[ROUNDS >> 2]!, 3)} .. ${f(r[(3 * ROUNDS) >> 2]!, 3)})`);
    }
  }
}
