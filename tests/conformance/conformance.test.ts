// SPDX-License-Identifier: GPL-2.0-only
// Differential ISA conformance: each program in this folder is built with Debian's RISC-V
// cross compiler and run on QEMU (virt, -bios none) and on tsxen's bare board. Both must
// report PASS through the SiFive test device; QEMU passing shows the program itself is right.
// Also: the HTIF convention (against QEMU's spike machine) and minimark's checksum (the
// expected value read from QEMU's console, never written down here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildMinimarkSv39 } from '../../bench/cpu-images.ts';
import { driveMachines, readBootFile, VirtMachine } from '../../src/host/virt-runner.ts';
import { CPU_BENCH, CROSS_GCC, QEMU, ROOT, buildMinimarkBare, crossBuild, haveTool, runQemu, runTsxen } from './toolchain.ts';

const DIR = join(ROOT, 'tests/conformance');
const COMMON = join(DIR, 'common');
const FLAGS = ['-O2', '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany', '-nostdlib', '-static', '-ffreestanding',
  '-fno-builtin', '-Wall', '-Werror', '-Wl,--build-id=none', `-I${COMMON}`, '-T', join(COMMON, 'link.ld')];
const PROGRAMS = ['rv64i', 'rv64m', 'rv64a', 'rv64c', 'zicsr', 'traps', 'mmu-sv39', 'mmu-sv48', 'mmu-sv57', 'pmp', 'interrupts', 'fp', 'uart'];

test('the cross compiler and QEMU are installed (npm test installs them)', () => {
  assert.ok(haveTool(CROSS_GCC), `${CROSS_GCC} missing: apt-get install gcc-riscv64-linux-gnu`);
  assert.ok(haveTool(QEMU), `${QEMU} missing: apt-get install qemu-system-misc`);
});

const HEADERS = readdirSync(COMMON).filter((f) => f.endsWith('.h') || f.endsWith('.ld')).map((f) => join(COMMON, f));

function build(name: string, flags = FLAGS): string {
  const src = [join(COMMON, 'crt.S'), join(COMMON, 'lib.c'), join(DIR, name + (name === 'rv64c' ? '.S' : '.c'))];
  return crossBuild(`conformance/${name}.elf`, src, flags, HEADERS);
}

for (const name of PROGRAMS) {
  test(`${name}: passes on QEMU and on tsxen`, () => {
    const elf = build(name);
    const q = runQemu(elf);
    assert.equal(q.status, 0, `QEMU: the program itself fails (exit ${q.status}):\n${q.stdout}`);
    assert.match(q.stdout, /PASS\n$/);
    const t = runTsxen(elf);
    assert.deepEqual(t.stop, { kind: 'pass' }, `tsxen:\n${t.out}`);
    assert.match(t.out, /PASS\n$/);
    if (name === 'interrupts') {
      // the timer checks once more against the host's clock instead of virtual time
      const r = runTsxen(elf, { clock: 'realtime' });
      assert.deepEqual(r.stop, { kind: 'pass' }, `tsxen (realtime clock):\n${r.out}`);
    }
  });
}

test('bitmanip: Zba/Zbb/Zbc/Zbs pass on QEMU and on tsxen, and print the same results for an operand grid', () => {
  const elf = build('bitmanip', FLAGS.map((f) => (f === '-march=rv64gc' ? '-march=rv64gc_zba_zbb_zbc_zbs' : f)));
  const q = runQemu(elf);
  assert.equal(q.status, 0, `QEMU: the program itself fails (exit ${q.status}):\n${q.stdout}`);
  assert.match(q.stdout, /PASS\n$/);
  assert.equal(q.stdout.split('\n').filter((l) => /^[a-z0-9.]+ 0x[0-9a-f]{16}$/.test(l)).length, 43, 'one grid line per instruction');
  const t = runTsxen(elf);
  assert.deepEqual(t.stop, { kind: 'pass' }, `tsxen:\n${t.out}`);
  assert.equal(t.out, q.stdout);
});

test('smp: two harts race AMOs and LR/SC, pass messages and IPIs, on QEMU -smp 2 and tsxen', () => {
  const elf = build('smp');
  const q = runQemu(elf, { extra: ['-smp', '2'] });
  assert.equal(q.status, 0, `QEMU: the program itself fails (exit ${q.status}):\n${q.stdout}`);
  // default slices, then 3-instruction slices so the harts interleave inside LR/SC sequences
  for (const slice of [undefined, 3]) {
    const t = runTsxen(elf, { harts: 2, slice });
    assert.deepEqual(t.stop, { kind: 'pass' }, `tsxen (slice ${slice ?? 'default'}):\n${t.out}`);
    assert.equal(t.out, q.stdout);
  }
});

test('smp on real threads: the program as -bios firmware of the virt board, 2 harts on 2 pCPU worker threads', async () => {
  const elf = build('smp');
  const q = runQemu(elf, { extra: ['-smp', '2'] });
  assert.equal(q.status, 0, `QEMU: the program itself fails (exit ${q.status}):\n${q.stdout}`);
  let out = '';
  const m = new VirtMachine({
    smp: 2, pcpus: 2, memBytes: 128 << 20, bios: readBootFile('firmware', elf), append: '',
    output: (b) => { out += String.fromCharCode(b); },
  });
  try {
    assert.equal(m.pcpuThreads, 2);
    const t0 = performance.now();
    await driveMachines([m], { until: () => performance.now() - t0 > 120_000 });
    assert.deepEqual(m.stopped, { kind: 'poweroff' }, out);
    assert.equal(out, q.stdout);
  } finally {
    m.close();
  }
});

test('HTIF tohost/fromhost: console and exit codes agree with QEMU spike', () => {
  for (const code of [0, 7]) {
    const elf = crossBuild(`conformance/htif-${code}.elf`, [join(DIR, 'htif.S')],
      ['-march=rv64gc', '-mabi=lp64d', '-nostdlib', '-static', '-Wl,--build-id=none', `-DEXIT_CODE=${code}`, '-T', join(COMMON, 'htif.ld')], HEADERS);
    const q = runQemu(elf, { machine: 'spike' });
    assert.equal(q.status, code);
    const t = runTsxen(elf);
    assert.deepEqual(t.stop, code === 0 ? { kind: 'pass' } : { kind: 'fail', code });
    assert.equal(t.out, q.stdout);
    assert.equal(t.out, 'htif console ok\n');
  }
});

test('minimark (cpu-bench, bare-metal build) reaches the checksum QEMU computes', () => {
  const iters = 20;
  const printer = crossBuild(`cpu-bench/mm-print-${iters}.elf`,
    [join(CPU_BENCH, 'start.S'), join(DIR, 'minimark-print.c'), join(CPU_BENCH, 'minimark.c')],
    ['-O2', '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany', '-ffreestanding', '-nostdlib', '-static', `-DITERS=${iters}`,
      '-Wl,--build-id=none', '-Wl,--defsym=BASE=0x80000000', '-T', join(CPU_BENCH, 'link.ld')]);
  const q = runQemu(printer);
  assert.equal(q.status, 0);
  const want = /minimark result=([0-9a-f]{16})\n/.exec(q.stdout)?.[1];
  assert.ok(want, `no result line from QEMU: ${q.stdout}`);
  // the same printer on tsxen
  const tp = runTsxen(printer);
  assert.deepEqual(tp.stop, { kind: 'pass' });
  assert.equal(tp.out, q.stdout);
  // the cpu-bench recipe's own image: result_slot in RAM after the poweroff write
  const t = runTsxen(buildMinimarkBare(iters));
  assert.deepEqual(t.stop, { kind: 'pass' });
  const slot = t.board.elf?.symbol('result_slot');
  assert.ok(slot !== undefined, 'result_slot symbol');
  assert.equal(t.board.readU64(slot).toString(16).padStart(16, '0'), want);
  // and entered in S-mode under Sv39 with 4 KiB pages (the benchmark's second variant)
  const v = runTsxen(buildMinimarkSv39(iters));
  assert.deepEqual(v.stop, { kind: 'pass' });
  const vslot = v.board.elf?.symbol('result_slot');
  assert.ok(vslot !== undefined);
  assert.equal(v.board.readU64(vslot).toString(16).padStart(16, '0'), want);
});
