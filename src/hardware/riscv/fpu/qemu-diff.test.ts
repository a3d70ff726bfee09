// SPDX-License-Identifier: GPL-2.0-only
// Differential test of FpUnit against QEMU's softfloat: tests/fpu/fpu-ref.c, cross-compiled here
// with Debian's riscv64-linux-gnu-gcc and run under qemu-riscv64, executes every F/D instruction in
// every rounding mode on the same edge-biased operands; result bits and fflags must match exactly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Harness, OPS, Rng, expOf, hex, randCvtSource, randFloat, randInt, steer, valueOf, bitsOf, type OpSpec } from '../../../../tests/fpu/fp-cases.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const src = join(root, 'tests', 'fpu', 'fpu-ref.c');
const bin = join(root, 'build', 'fpu', 'fpu-ref');
// Per rounding op and mode (non-rounding ops get 5x this in one mode). FPU_DIFF_CASES and
// FPU_DIFF_SEED override them for longer soak runs.
const CASES_PER_MODE = Number(process.env.FPU_DIFF_CASES ?? 2000);
const SEED = Number(process.env.FPU_DIFF_SEED ?? 0x5eed1);

function need(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    assert.fail(`${cmd} is missing: run \`npm test\`, whose setup installs the Debian packages gcc-riscv64-linux-gnu and qemu-user (scripts/deps.json)`);
  }
}

function build(): void {
  need('riscv64-linux-gnu-gcc', ['--version']);
  need('qemu-riscv64', ['--version']);
  if (existsSync(bin) && statSync(bin).mtimeMs > statSync(src).mtimeMs) return;
  mkdirSync(dirname(bin), { recursive: true });
  const cc = spawnSync('riscv64-linux-gnu-gcc', ['-static', '-nostdlib', '-ffreestanding', '-fno-builtin', '-O2', '-march=rv64gc', '-mabi=lp64d', '-o', bin, src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `building ${src} failed:\n${cc.stderr}`);
}

function operands(rng: Rng, o: OpSpec): bigint[] {
  const ops = operands0(rng, o);
  if (o.srcs[0] === 'f' && o.srcs.length > 1 && rng.chance(0.2)) steer(rng, o.fmt, o.name, ops);
  return ops;
}

function operands0(rng: Rng, o: OpSpec): bigint[] {
  const fmt = o.fmt;
  if (o.srcs[0] === 'x') return [randInt(rng)];
  if (o.name.startsWith('fcvt.w') || o.name.startsWith('fcvt.l')) return [randCvtSource(rng, fmt)];
  if (o.name === 'fcvt.s.d') return [randFloat(rng, 1, 1023 - 160 + rng.below(300))];
  const a = randFloat(rng, fmt);
  if (o.srcs.length === 1) return [a];
  const b = randFloat(rng, fmt, expOf(fmt, a));
  if (o.srcs.length === 2) return [a, b];
  const bias = fmt ? 1023 : 127;
  const p = valueOf(fmt, a) * valueOf(fmt, b);
  if (rng.chance(0.35) && Number.isFinite(p) && p !== 0) {
    // Cancellation: c close to -(a*b), a few ulps either way.
    const c = BigInt.asUintN(64, bitsOf(fmt, fmt ? -p : Math.fround(-p)) + BigInt(rng.below(9) - 4));
    return [a, b, c];
  }
  return [a, b, randFloat(rng, fmt, expOf(fmt, a) + expOf(fmt, b) - bias + rng.below(120) - 60)];
}

test('FpUnit matches QEMU softfloat bit for bit (results and fflags) on every F/D instruction', { timeout: 120_000 }, () => {
  build();
  const rng = new Rng(SEED);
  const cases: { o: OpSpec; mode: number; ops: bigint[] }[] = [];
  for (const o of OPS) {
    const modes = o.rounds ? [0, 1, 2, 3, 4] : [0];
    const n = o.rounds ? CASES_PER_MODE : CASES_PER_MODE * 5;
    for (const mode of modes) for (let i = 0; i < n; i++) cases.push({ o, mode, ops: operands(rng, o) });
  }
  const lines: string[] = [];
  for (let at = 0; at < cases.length; at += 150_000) {
    // Batches keep each input under the reference program's 48 MiB buffer.
    const input = cases
      .slice(at, at + 150_000)
      .map((c) => `${c.o.name} ${c.mode} ${hex(c.ops[0])} ${hex(c.ops[1] ?? 0n)} ${hex(c.ops[2] ?? 0n)}\n`)
      .join('');
    const run = spawnSync('qemu-riscv64', [bin], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(run.status, 0, `qemu-riscv64 failed: ${run.stderr}`);
    for (const l of run.stdout.trim().split('\n')) lines.push(l);
  }
  assert.equal(lines.length, cases.length, 'the reference answered every case');
  const h = new Harness();
  const bad: string[] = [];
  const perOp = new Map<string, number>();
  cases.forEach((c, i) => {
    const [rs, fs] = lines[i].split(' ');
    const want = BigInt('0x' + rs);
    const wantFl = parseInt(fs, 16);
    const got = h.run(c.o, c.mode, c.ops);
    if (got === null || got[0] !== want || got[1] !== wantFl) {
      perOp.set(c.o.name, (perOp.get(c.o.name) ?? 0) + 1);
      if (bad.length < 25) {
        const g = got === null ? 'ILLEGAL' : `${hex(got[0])} fl=${got[1].toString(16)}`;
        bad.push(`${c.o.name} rm=${c.mode} ${c.ops.map(hex).join(' ')}: qemu ${rs} fl=${wantFl.toString(16)}, ours ${g}`);
      }
    }
  });
  assert.equal(bad.length, 0, `${[...perOp].map(([k, v]) => `${k}:${v}`).join(' ')}\n${bad.join('\n')}`);
  assert.ok(cases.length >= CASES_PER_MODE * 5 * OPS.length * 0.9, `${cases.length} cases compared`);
});
