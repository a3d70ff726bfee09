// SPDX-License-Identifier: GPL-2.0-only
// xenconsoled's pure parts over a real ring page: struct xencons_interface indexes (wrap at
// 2^32, out[] masking, a lying producer), in[] filling up, and a Console's history, clients and
// queued input as a guest consumes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Console, HISTORY_BYTES } from '../../src/toolstack/console/consoled.ts';
import {
  readOut, writeIn, XENCONS_IN, XENCONS_IN_CONS, XENCONS_IN_PROD, XENCONS_IN_SIZE, XENCONS_OUT, XENCONS_OUT_CONS, XENCONS_OUT_PROD,
} from '../../src/toolstack/console/ring.ts';

/** The guest side: produce into out[] as the PV kernel's console.c does. */
function guestWrite(page: Uint8Array, s: string): void {
  const dv = new DataView(page.buffer, page.byteOffset);
  let prod = dv.getUint32(XENCONS_OUT_PROD, true);
  for (const b of Buffer.from(s)) {
    page[XENCONS_OUT + (prod & 2047)] = b;
    prod = (prod + 1) >>> 0;
  }
  dv.setUint32(XENCONS_OUT_PROD, prod, true);
}
function guestRead(page: Uint8Array): string {
  const dv = new DataView(page.buffer, page.byteOffset);
  let cons = dv.getUint32(XENCONS_IN_CONS, true);
  const prod = dv.getUint32(XENCONS_IN_PROD, true);
  let s = '';
  while (cons !== prod) {
    s += String.fromCharCode(page[XENCONS_IN + (cons & (XENCONS_IN_SIZE - 1))]!);
    cons = (cons + 1) >>> 0;
  }
  dv.setUint32(XENCONS_IN_CONS, cons, true);
  return s;
}

test('out[]: read what the guest produced, across the 2^32 index wrap', () => {
  const page = new Uint8Array(4096);
  const dv = new DataView(page.buffer);
  dv.setUint32(XENCONS_OUT_CONS, 0xfffffffe, true);
  dv.setUint32(XENCONS_OUT_PROD, 0xfffffffe, true);
  assert.equal(readOut(page), null);
  guestWrite(page, 'hello\n');
  assert.equal(Buffer.from(readOut(page)!).toString(), 'hello\n');
  assert.equal(dv.getUint32(XENCONS_OUT_CONS, true), 4);
  assert.equal(readOut(page), null);
});

test('out[]: a producer more than a ring ahead is skipped, never read past the ring', () => {
  const page = new Uint8Array(4096);
  const dv = new DataView(page.buffer);
  dv.setUint32(XENCONS_OUT_PROD, 5000, true);
  assert.equal(readOut(page), null);
  assert.equal(dv.getUint32(XENCONS_OUT_CONS, true), 5000);
  guestWrite(page, 'ok');
  assert.equal(Buffer.from(readOut(page)!).toString(), 'ok');
});

test('in[]: fills up to 1024 bytes, then takes more as the guest consumes', () => {
  const page = new Uint8Array(4096);
  assert.equal(writeIn(page, new Uint8Array(1000).fill(65)), 1000);
  assert.equal(writeIn(page, new Uint8Array(100).fill(66)), 24);
  assert.equal(guestRead(page).length, 1024);
  assert.equal(writeIn(page, Buffer.from('xy')), 2);
  assert.equal(guestRead(page), 'xy');
});

test('Console: history (bounded), attach replays it, queued input reaches the guest as it drains', () => {
  const page = new Uint8Array(4096);
  const logged: string[] = [];
  let notified = 0;
  const c = new Console(3, 'g', { read: () => readOut(page), write: (b) => { const n = writeIn(page, b); if (n > 0) notified++; return n; } }, (b) => logged.push(Buffer.from(b).toString()));
  guestWrite(page, 'boot\n');
  assert.equal(c.poll(), true);
  const seen: string[] = [];
  let closedWhy = '';
  const detach = c.attach({ write: (b) => seen.push(Buffer.from(b).toString()), closed: (r) => (closedWhy = r) }, true);
  assert.deepEqual(seen, ['boot\n']);
  guestWrite(page, 'more');
  c.poll();
  assert.deepEqual(seen, ['boot\n', 'more']);
  assert.deepEqual(logged, ['boot\n', 'more']);
  c.input(new Uint8Array(1500).fill(97));
  assert.equal(guestRead(page).length, 1024);
  c.poll();
  assert.equal(guestRead(page).length, 476);
  assert.equal(notified, 2);
  detach();
  assert.equal(c.attached, 0);
  c.output(new Uint8Array(HISTORY_BYTES + 10).fill(120));
  assert.equal(c.history().length, HISTORY_BYTES);
  c.attach({ write: () => {}, closed: (r) => (closedWhy = r) }, false);
  c.close('domain 3 destroyed');
  assert.equal(closedWhy, 'domain 3 destroyed');
});
