// SPDX-License-Identifier: GPL-2.0-only
// Throughput of FpUnit.execute() for a few instructions and rounding modes (ops/s), on fixed
// operands that stay normal. Run: node --import tsx tests/fpu/fpu-bench.ts

import { FpUnit } from '../../src/hardware/riscv/fpu/fp-unit.ts';
import { op } from './fp-cases.ts';

const sab = new SharedArrayBuffer(1024);
const x = new Int32Array(sab, 0, 64);
const f = new Int32Array(sab, 512, 64);
const fd = new Float64Array(sab, 512, 32);
const fs = new Float32Array(sab, 512, 64);
const unit = new FpUnit(x, f);

function setup(fmt: number): void {
  const vals = [1.1, 3.7, -0.3];
  vals.forEach((v, i) => {
    if (fmt) fd[i + 1] = v;
    else {
      fs[2 * (i + 1)] = v;
      f[2 * (i + 1) + 1] = -1;
    }
  });
  x[2] = 123456789;
  x[3] = 98765;
}

const rows: string[] = [];
for (const [name, mode] of [
  ['fadd.d', 0],
  ['fadd.d', 2],
  ['fmul.d', 0],
  ['fmul.d', 1],
  ['fdiv.d', 0],
  ['fdiv.d', 3],
  ['fsqrt.d', 0],
  ['fmadd.d', 0],
  ['fmadd.d', 2],
  ['fadd.s', 0],
  ['fmul.s', 0],
  ['fdiv.s', 0],
  ['fmadd.s', 0],
  ['fcvt.l.d', 0],
  ['fcvt.d.l', 0],
  ['fcvt.s.d', 0],
  ['feq.d', 0],
  ['fsgnj.d', 0],
] as [string, number][]) {
  const o = op(name);
  const insn = o.encode(7);
  let best = 0;
  for (let rep = 0; rep < 5; rep++) {
    setup(o.fmt);
    const n = 2_000_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) unit.execute(insn, mode);
    const dt = performance.now() - t0;
    best = Math.max(best, n / (dt / 1000));
  }
  rows.push(`${name.padEnd(9)} ${['RNE', 'RTZ', 'RDN', 'RUP', 'RMM'][mode]}  ${(best / 1e6).toFixed(1).padStart(6)} M ops/s`);
}
console.log(rows.join('\n'));
