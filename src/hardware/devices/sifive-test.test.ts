// SPDX-License-Identifier: GPL-2.0-only
// The finisher's status encoding, as QEMU's virt board defines it (0x5555 pass, 0x3333 | code
// << 16 fail, 0x7777 reset, anything else ignored).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SifiveTest, type FinisherEvent } from './sifive-test.ts';

function dev() {
  const ev: FinisherEvent[] = [];
  return { d: new SifiveTest((e) => ev.push(e)), ev };
}

test('pass, fail with code, reset', () => {
  const { d, ev } = dev();
  d.write(0, 4, 0x5555);
  d.write(0, 4, (42 << 16) | 0x3333);
  d.write(0, 4, 0x7777);
  assert.deepEqual(ev, [{ kind: 'pass' }, { kind: 'fail', code: 42 }, { kind: 'reset' }]);
});

test('fail code uses all 16 high bits', () => {
  const { d, ev } = dev();
  d.write(0, 4, 0xffff3333);
  assert.deepEqual(ev, [{ kind: 'fail', code: 0xffff }]);
});

test('other values, offsets and byte writes are ignored; reads are zero', () => {
  const { d, ev } = dev();
  d.write(0, 4, 0x1234);
  d.write(4, 4, 0x5555);
  d.write(0, 1, 0x55);
  assert.deepEqual(ev, []);
  assert.equal(d.read(0, 4), 0);
});
