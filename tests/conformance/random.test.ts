// SPDX-License-Identifier: GPL-2.0-only
// Differential random testing: seeded random straight-line programs (random-program.ts) run on
// QEMU and on tsxen must dump identical registers, fcsr, FP registers and memory. A mismatch
// names the first differing register or buffer word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD, ROOT, crossBuild, runQemu, runTsxen } from './toolchain.ts';
import { randomProgram } from './random-program.ts';
import { randomDecodeProgram } from './random-decode.ts';

const SEEDS = (process.env.RANDOM_SEEDS ?? '1,2,3,4,5,6,7,8').split(',').map(Number);
/** Seeds run in S-mode under Sv39 (the buffer through a three-level walk). */
const PAGED_SEEDS = (process.env.RANDOM_PAGED_SEEDS ?? '101,102,103,104').split(',').map(Number);
/** Seeds run with timer interrupts every 10 us, in M-mode (odd seeds) or S-mode under Sv39 (even). */
const IRQ_SEEDS = (process.env.RANDOM_IRQ_SEEDS ?? '201,202,203,204').split(',').map(Number);
const LENGTH = Number(process.env.RANDOM_LENGTH ?? 1500);
const LD = join(ROOT, 'tests/conformance/common/htif.ld');

function slotName(i: number): string {
  if (i < 32) return `x${i}`;
  if (i === 32) return 'fcsr';
  if (i < 65) return `f${i - 33}`;
  if (i === 65) return '(pad)';
  return `buf[${i - 66}]`;
}

const cases = [
  ...SEEDS.map((seed) => ({ seed, paging: false, interrupts: false })),
  ...PAGED_SEEDS.map((seed) => ({ seed, paging: true, interrupts: false })),
  ...IRQ_SEEDS.map((seed) => ({ seed, paging: seed % 2 === 0, interrupts: true })),
];
for (const { seed, paging, interrupts } of cases) {
  const what = `${paging ? ', S-mode under Sv39' : ''}${interrupts ? ', timer interrupts' : ''}`;
  test(`random program, seed ${seed}${what}: QEMU and tsxen agree on every register and memory word`, () => {
    const dir = join(BUILD, 'conformance', 'random');
    mkdirSync(dir, { recursive: true });
    const name = `random-${seed}-${LENGTH}${paging ? '-sv39' : ''}${interrupts ? '-irq' : ''}`;
    const src = join(dir, `${name}.S`);
    writeFileSync(src, randomProgram(seed, LENGTH, { paging, interrupts }));
    const elf = crossBuild(`conformance/random/${name}.elf`, [src],
      ['-march=rv64gc', '-mabi=lp64d', '-nostdlib', '-static', '-Wl,--build-id=none', '-T', LD]);
    // With timer interrupts, QEMU's time follows its instruction count (-icount): on real time a
    // loaded host can starve QEMU between interrupts 10 us apart, and the run flakes.
    const q = runQemu(elf, interrupts ? { extra: ['-icount', 'shift=0'] } : {});
    assert.equal(q.status, 0, 'QEMU runs the program to the finisher');
    // default slices, then 7-instruction slices: execution must not depend on where step() stops
    const t = runTsxen(elf);
    assert.deepEqual(t.stop, { kind: 'pass' });
    const t7 = runTsxen(elf, { slice: 7 });
    assert.deepEqual(t7.stop, { kind: 'pass' });
    assert.equal(t7.out, t.out, 'same dump with 7-instruction slices');
    if (interrupts) {
      const count = t.board.readU64(t.board.elf!.symbol('irqcount')!);
      assert.ok(count > 5n, `the timer interrupted the code (${count} times on tsxen)`);
      if (process.env.RANDOM_VERBOSE) console.log(`seed ${seed}: ${count} timer interrupts on tsxen`);
    }
    const ql = q.stdout.trimEnd().split('\n'), tl = t.out.trimEnd().split('\n');
    assert.equal(ql.length, 66 + 256);
    const diffs: string[] = [];
    for (let i = 0; i < ql.length; i++) if (ql[i] !== tl[i]) diffs.push(`${slotName(i)}: QEMU ${ql[i]} tsxen ${tl[i]}`);
    assert.deepEqual(diffs, [], `source: ${src}`);
  });
}

/** Seeds of random encodings (random-decode.ts): every word either executes or traps, as on QEMU. */
const DECODE_SEEDS = (process.env.RANDOM_DECODE_SEEDS ?? '1,2,3,4').split(',').map(Number);
const DECODE_LENGTH = Number(process.env.RANDOM_DECODE_LENGTH ?? 2000);
const RV64GCB_QEMU = ['-cpu', 'rv64,zba=true,zbb=true,zbc=true,zbs=true'];

function decodeSlot(i: number): string {
  if (i < 66) return slotName(i);
  if (i === 66) return 'trap count';
  const k = i - 67;
  return `trap ${k >> 1} ${k & 1 ? 'mtval' : 'mcause'}`;
}

for (const seed of DECODE_SEEDS) {
  test(`random encodings, seed ${seed}: the same words execute or trap (cause, mtval) as on QEMU, same results`, () => {
    const dir = join(BUILD, 'conformance', 'random');
    mkdirSync(dir, { recursive: true });
    const name = `decode-${seed}-${DECODE_LENGTH}`;
    const src = join(dir, `${name}.S`);
    writeFileSync(src, randomDecodeProgram(seed, DECODE_LENGTH));
    const elf = crossBuild(`conformance/random/${name}.elf`, [src],
      ['-march=rv64gc', '-mabi=lp64d', '-nostdlib', '-static', '-Wl,--build-id=none', '-T', LD]);
    const q = runQemu(elf, { extra: RV64GCB_QEMU });
    assert.equal(q.status, 0, 'QEMU runs the program to the finisher');
    const t = runTsxen(elf);
    assert.deepEqual(t.stop, { kind: 'pass' });
    const ql = q.stdout.trimEnd().split('\n'), tl = t.out.trimEnd().split('\n');
    const diffs: string[] = [];
    for (let i = 0; i < Math.max(ql.length, tl.length); i++) if (ql[i] !== tl[i]) diffs.push(`${decodeSlot(i)}: QEMU ${ql[i]} tsxen ${tl[i]}`);
    assert.deepEqual(diffs.slice(0, 12), [], `source: ${src}`);
    assert.ok(Number.parseInt(ql[66], 16) > 0, 'some encodings trapped');
  });
}
