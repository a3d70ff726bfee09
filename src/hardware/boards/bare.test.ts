// SPDX-License-Identifier: GPL-2.0-only
// The bare board with real programs built by the cross compiler: raw images, firmware plus
// kernel (checked against QEMU's -bios/-kernel placement), several harts, deterministic time,
// idle and instruction-limit stops, and load errors naming the image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BareBoard } from './bare.ts';
import { LoadError } from '../loader/elf.ts';
import { CPU_BENCH, ROOT, crossBuild } from '../../../tests/conformance/toolchain.ts';

const CONF = join(ROOT, 'tests/conformance');
const ASM = ['-march=rv64gc', '-mabi=lp64d', '-nostdlib', '-static', '-Wl,--build-id=none', '-T', join(CONF, 'common/htif.ld')];
const conformance = (name: string) => crossBuild(`conformance/${name}.elf`,
  [join(CONF, 'common/crt.S'), join(CONF, 'common/lib.c'), join(CONF, `${name}.c`)],
  ['-O2', '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany', '-nostdlib', '-static', '-ffreestanding', '-fno-builtin',
    '-Wl,--build-id=none', `-I${join(CONF, 'common')}`, '-T', join(CONF, 'common/link.ld')],
  [join(CONF, 'common/test.h'), join(CONF, 'common/link.ld')]);

function objcopy(elf: string): Uint8Array {
  const out = `${elf}.bin`;
  const r = spawnSync('riscv64-linux-gnu-objcopy', ['-O', 'binary', elf, out]);
  assert.equal(r.status, 0);
  return readFileSync(out);
}

function board(opts: { harts?: number; clock?: 'realtime' | 'deterministic'; ram?: number } = {}) {
  const o = { out: '' };
  const b = new BareBoard({ ramSize: opts.ram ?? 128 << 20, hartCount: opts.harts, clock: opts.clock ?? 'deterministic',
    onTransmit: (c) => { o.out += String.fromCharCode(c); } });
  return { b, o };
}

test('a raw image runs from 0x8000_0000 like its ELF', () => {
  const elf = conformance('rv64i');
  const { b, o } = board();
  b.load({ kernel: objcopy(elf) });
  assert.deepEqual(b.run(50_000_000), { kind: 'pass' });
  assert.match(o.out, /^rv64i\n[^]*PASS\n$/);
});

test('--bios: firmware at 0x8000_0000 starts, a raw kernel sits at 0x8020_0000 (as on QEMU)', () => {
  const fw = crossBuild('conformance/jump-fw.elf', [join(CONF, 'jump-fw.S')], ASM);
  const kernel = crossBuild('conformance/mm-print-k.elf',
    [join(CPU_BENCH, 'start.S'), join(CONF, 'minimark-print.c'), join(CPU_BENCH, 'minimark.c')],
    ['-O2', '-march=rv64gc', '-mabi=lp64d', '-mcmodel=medany', '-ffreestanding', '-nostdlib', '-static', '-DITERS=5',
      '-Wl,--build-id=none', '-Wl,--defsym=BASE=0x80200000', '-T', join(CPU_BENCH, 'link.ld')]);
  const raw = objcopy(kernel);
  const qemu = spawnSync('qemu-system-riscv64', ['-machine', 'virt', '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
    '-bios', fw, '-kernel', `${kernel}.bin`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(qemu.status, 0);
  for (const k of [raw, readFileSync(kernel)]) {
    const { b, o } = board();
    b.load({ bios: readFileSync(fw), kernel: k });
    assert.deepEqual(b.run(100_000_000), { kind: 'pass' });
    assert.equal(o.out, qemu.stdout);
    assert.match(o.out, /^fw a0=0\nminimark result=[0-9a-f]{16}\n$/);
  }
});

test('two harts: both start at the entry with a0 = hart id; hart 1 parks while hart 0 passes', () => {
  const { b, o } = board({ harts: 2 });
  b.load({ kernel: readFileSync(conformance('rv64m')) });
  assert.equal(b.harts[1].getX(10), 1);
  assert.equal(b.harts[0].getX(10), 0);
  assert.deepEqual(b.run(50_000_000, 500), { kind: 'pass' }); // small slices: both harts get turns
  assert.match(o.out, /PASS\n$/);
  assert.ok(b.harts[1].instructions > 0, 'hart 1 ran');
  assert.ok(b.harts[0].instructions > 10 * b.harts[1].instructions, 'hart 1 sleeps in WFI instead of spinning');
});

test('deterministic time: two runs of the timer program match instruction for instruction', () => {
  const elf = readFileSync(conformance('interrupts'));
  const runs = [0, 1].map(() => {
    const { b, o } = board();
    b.load({ kernel: elf });
    const stop = b.run(100_000_000);
    return { stop, out: o.out, insns: b.instructions, now: b.now() };
  });
  assert.deepEqual(runs[0].stop, { kind: 'pass' });
  assert.deepEqual(runs[1], runs[0]);
});

test('stops: WFI with nothing enabled is idle; a tight loop hits the instruction limit', () => {
  const words = (ws: number[]) => new Uint8Array(new Uint32Array(ws).buffer);
  const idle = board();
  idle.b.load({ kernel: words([0x10500073, 0xffdff06f]) }); // wfi; j .-4
  assert.deepEqual(idle.b.run(1_000_000), { kind: 'idle' });
  const spin = board();
  spin.b.load({ kernel: words([0x0000006f]) }); // j .
  assert.deepEqual(spin.b.run(5000), { kind: 'limit' });
  assert.equal(spin.b.instructions, 5000);
  const spin2 = board({ harts: 3 });
  spin2.b.load({ kernel: words([0x0000006f]) });
  assert.deepEqual(spin2.b.run(5000, 1000), { kind: 'limit' });
  assert.equal(spin2.b.instructions, 5000, 'the limit counts all harts together, exactly');
});

test('load errors name the image', () => {
  const { b } = board({ ram: 8 << 10 });
  const elf = readFileSync(conformance('rv64i'));
  assert.throws(() => b.load({ kernel: elf, kernelName: "kernel 'rv64i.elf'" }), (e: unknown) =>
    e instanceof LoadError && /^kernel 'rv64i.elf': segment at 0x80000000-0x[0-9a-f]+ lies outside RAM \[0x80000000-0x80002000\)$/.test(e.message));
  assert.throws(() => b.load({}), /nothing to run/);
  assert.throws(() => b.load({ bios: new Uint8Array(9 << 10) }), /^LoadError: firmware: image of 9216 bytes at 0x80000000 does not fit/);
});
