// SPDX-License-Identifier: GPL-2.0-only
// The machine command's pieces without a child process: the argument parser (sizes, QEMU
// spellings, defaults) and the console's escape handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMachineArgs, parseSize } from './machine-args.ts';
import { ConsoleIn } from './machine.ts';

test('argument parser: sizes, defaults and aliases', () => {
  assert.equal(parseSize('128M'), 128 << 20);
  assert.equal(parseSize('1G'), 1 << 30);
  assert.equal(parseSize('256'), 256 << 20);
  assert.equal(parseSize('64k'), 64 << 10);
  assert.throws(() => parseSize('3G'), /out of range/);
  assert.throws(() => parseSize('6001K'), /not a multiple of 4K/);
  const a = parseMachineArgs(['-kernel', 'k', '-bios', 'fw.bin', '-m', '1G', '-smp', '4', '--clock', 'deterministic']);
  assert.deepEqual(a, { bios: 'fw.bin', kernel: 'k', memBytes: 1 << 30, smp: 4, maxInsns: Infinity, clock: 'deterministic', stats: false });
});

test('console escapes: Ctrl-] and Ctrl-A x quit, Ctrl-A Ctrl-A sends one Ctrl-A', () => {
  const c = new ConsoleIn();
  c.feedHost(Uint8Array.of(0x61, 0x01, 0x01, 0x62, 0x03));
  assert.deepEqual(c.queue, [0x61, 0x01, 0x62, 0x03]);
  assert.equal(c.quit, false);
  c.feedHost(Uint8Array.of(0x01));
  c.feedHost(Uint8Array.of(0x78));
  assert.equal(c.quit, true, 'Ctrl-A x across two reads');
  const d = new ConsoleIn();
  d.feedHost(Uint8Array.of(0x7a, 0x1d, 0x7a));
  assert.deepEqual(d.queue, [0x7a]);
  assert.equal(d.quit, true);
});

