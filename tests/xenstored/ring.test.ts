// SPDX-License-Identifier: GPL-2.0-only
// The ring connection (xen-digest §1.10) against a guest side living in a SharedArrayBuffer:
// INTRODUCE maps the page, requests and replies cross the 1 KiB rings (free-running indexes
// that wrap), watch events, the reconnect handshake, bad indexes and oversized frames set the
// error field, and the outstanding-requests quota holds back a domain that does not read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Xenstored } from '../../src/toolstack/xenstored/core.ts';
import { RingConnection } from '../../src/toolstack/xenstored/ring.ts';
import { MemConn, frame, parseFrames, type Frame } from './harness.ts';

const READ = 2, WATCH = 4, WRITE = 11, INTRODUCE = 8, RELEASE = 9, WATCH_EVENT = 15;

/** The guest's half of the ring protocol (what a PV kernel's xenbus driver does). */
class GuestSide {
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  private rx = Buffer.alloc(0);
  constructor(readonly sab: SharedArrayBuffer, start = 0) {
    this.u8 = new Uint8Array(sab);
    this.i32 = new Int32Array(sab, 2048, 8);
    for (const i of [0, 1, 2, 3]) Atomics.store(this.i32, i, start);
  }
  /** Bytes the request ring can take now. */
  space(): number { return 1024 - ((Atomics.load(this.i32, 1) - Atomics.load(this.i32, 0)) >>> 0); }
  write(b: Uint8Array): number {
    const n = Math.min(b.length, this.space());
    let prod = Atomics.load(this.i32, 1) >>> 0;
    for (let i = 0; i < n; i++) this.u8[(prod + i) & 1023] = b[i]!;
    prod = (prod + n) >>> 0;
    Atomics.store(this.i32, 1, prod | 0);
    return n;
  }
  read(): Frame[] {
    let cons = Atomics.load(this.i32, 2) >>> 0;
    const prod = Atomics.load(this.i32, 3) >>> 0;
    const n = (prod - cons) >>> 0;
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.u8[1024 + ((cons + i) & 1023)]!;
    cons = (cons + n) >>> 0;
    Atomics.store(this.i32, 2, cons | 0);
    this.rx = Buffer.concat([this.rx, b]);
    const fs = parseFrames(this.rx);
    let used = 0;
    for (const f of fs) used += 16 + f.payload.length;
    this.rx = this.rx.subarray(used);
    return fs;
  }
  get features(): number { return Atomics.load(this.i32, 4); }
  get connection(): number { return Atomics.load(this.i32, 5); }
  set connection(v: number) { Atomics.store(this.i32, 5, v); }
  get error(): number { return Atomics.load(this.i32, 6); }
}

function world(start = 0) {
  const pages = new Map<bigint, SharedArrayBuffer>();
  let notifies = 0;
  const core = new Xenstored({
    log: () => {},
    connectRing: (c, domid, gfn, evtchn) => {
      const sab = pages.get(gfn);
      if (!sab) return undefined;
      return new RingConnection(c.newConnId(), domid, new Uint8Array(sab), { evtchn, notify: () => { notifies++; } });
    },
  });
  const dom0 = new MemConn(core);
  const sab = new SharedArrayBuffer(4096);
  const guest = new GuestSide(sab, start);
  pages.set(0x1234n, sab);
  assert.equal(dom0.ask(INTRODUCE, '5\x004660\x0011\0'), 'OK\0');
  dom0.ask(WRITE, '/local/domain/5\0');
  dom0.ask(4 + 10, '/local/domain/5\0n5\0'); // SET_PERMS
  const ring = [...core.conns.values()].find((c) => c instanceof RingConnection) as RingConnection;
  return { core, dom0, guest, ring, notifies: () => notifies };
}

/** Send a whole frame, pumping the server whenever the ring is full. */
function send(g: GuestSide, ring: RingConnection, f: Uint8Array, got: Frame[]): void {
  let off = 0;
  while (off < f.length) {
    off += g.write(f.subarray(off));
    ring.onEvent();
    got.push(...g.read());
  }
}

test('INTRODUCE maps the page: features offered, requests and replies cross the ring', () => {
  const { guest, ring, core } = world();
  assert.equal(guest.features & 3, 3, 'RECONNECTION and ERROR features');
  assert.equal(ring.domid, 5);
  assert.equal(core.conns.get(ring.id), ring);
  const got: Frame[] = [];
  send(guest, ring, frame(WRITE, 1, 0, 'data/x\0hello'), got);
  send(guest, ring, frame(READ, 2, 0, '/local/domain/5/data/x\0'), got);
  assert.deepEqual(got.map((f) => [f.type, f.reqId, f.payload.toString()]), [[WRITE, 1, 'OK\0'], [READ, 2, 'hello']]);
});

test('free-running indexes wrap at 2^32 and frames larger than the ring are split', () => {
  const { guest, ring } = world(0xfffffc00);
  const got: Frame[] = [];
  const big = 'v'.repeat(2000);
  send(guest, ring, frame(WRITE, 1, 0, 'data/big\0' + big), got);
  send(guest, ring, frame(READ, 2, 0, 'data/big\0'), got);
  for (let i = 0; i < 20 && got.length < 2; i++) { ring.onEvent(); got.push(...guest.read()); }
  assert.equal(got[1]!.payload.toString(), big);
  assert.ok((Atomics.load(guest.i32, 1) >>> 0) < 0xfffffc00, 'req_prod wrapped');
});

test('watch events arrive on the ring; the reconnect handshake drops watches', () => {
  const { guest, ring, dom0, core } = world();
  const got: Frame[] = [];
  send(guest, ring, frame(WATCH, 1, 0, 'control\0t\0'), got);
  dom0.ask(WRITE, '/local/domain/5/control/shutdown\0poweroff');
  got.push(...guest.read());
  assert.deepEqual(got.map((f) => f.payload.toString()), ['OK\0', 'control\0t\0', 'control/shutdown\0t\0']);
  guest.connection = 1;
  ring.onEvent();
  assert.equal(guest.connection, 0, 'the server sets connection back to 0');
  assert.equal(core.watches.count, 0);
  dom0.ask(WRITE, '/local/domain/5/control/shutdown\0reboot');
  assert.deepEqual(guest.read(), []);
});

test('a bad ring index sets error RINGIDX and drops only that connection', () => {
  const { guest, ring, core, dom0 } = world();
  Atomics.store(guest.i32, 1, 5000);
  ring.onEvent();
  assert.equal(guest.error, 2);
  assert.equal(core.conns.has(ring.id), false);
  assert.equal(dom0.ask(READ, '/local/domain/5\0'), '');
});

test('an oversized frame sets error PROTO', () => {
  const { guest, ring, core } = world();
  const h = frame(WRITE, 1, 0, '');
  h.writeUInt32LE(5000, 12);
  guest.write(h);
  ring.onEvent();
  assert.equal(guest.error, 3);
  assert.equal(core.conns.has(ring.id), false);
});

test('the outstanding-requests quota holds back a domain that does not read its replies', () => {
  const { guest, ring, dom0, core } = world();
  dom0.ask(WRITE, '/local/domain/5/v\0' + 'x'.repeat(200));
  let sent = 0;
  while (guest.space() >= 20) { guest.write(frame(READ, sent++, 0, 'v\0')); }
  ring.onEvent();
  assert.ok(sent > 40);
  assert.equal(ring.outstanding(), core.quotas.outstanding, 'stalled at the quota');
  const got: Frame[] = [];
  for (let i = 0; i < 200 && got.length < sent; i++) { got.push(...guest.read()); ring.onEvent(); await0(); }
  assert.equal(got.length, sent);
  assert.deepEqual(got.map((f) => f.reqId), Array.from({ length: sent }, (_, i) => i), 'in order, none lost');
});
function await0(): void { /* resume is queued as a microtask; onEvent() also resumes */ }

test('RELEASE drops the ring connection and fires @releaseDomain', () => {
  const { ring, dom0, core } = world();
  dom0.req(WATCH, '@releaseDomain\0r\0');
  assert.deepEqual(dom0.req(RELEASE, '5\0').map((f) => f.type), [WATCH_EVENT, RELEASE]);
  assert.equal(core.conns.has(ring.id), false);
});

test('a guest in a worker thread talks to the daemon over the shared page', async () => {
  const { ring, guest } = world();
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const u8 = new Uint8Array(workerData.sab); const i32 = new Int32Array(workerData.sab, 2048, 8);
    const enc = (t, id, s) => { const p = Buffer.from(s, 'latin1'); const h = Buffer.alloc(16);
      h.writeUInt32LE(t, 0); h.writeUInt32LE(id, 4); h.writeUInt32LE(p.length, 12); return Buffer.concat([h, p]); };
    let rx = Buffer.alloc(0); const replies = [];
    function put(b) { let prod = Atomics.load(i32, 1) >>> 0; for (const x of b) u8[(prod++) & 1023] = x; Atomics.store(i32, 1, prod | 0); parentPort.postMessage('evt'); }
    function pull() { let c = Atomics.load(i32, 2) >>> 0; const p = Atomics.load(i32, 3) >>> 0; const out = [];
      while (c !== p) out.push(u8[1024 + (c++ & 1023)]); Atomics.store(i32, 2, c | 0); rx = Buffer.concat([rx, Buffer.from(out)]);
      while (rx.length >= 16 && rx.length >= 16 + rx.readUInt32LE(12)) { const n = rx.readUInt32LE(12);
        replies.push([rx.readUInt32LE(4), rx.subarray(16, 16 + n).toString('latin1')]); rx = rx.subarray(16 + n); } }
    let i = 0; const N = 200;
    parentPort.on('message', () => { pull(); if (replies.length === 2 * i && i < N) { put(enc(11, 2 * i, 'data/k' + (i % 7) + '\\0v' + i)); put(enc(2, 2 * i + 1, 'data/k' + (i % 7) + '\\0')); i++; }
      if (replies.length === 2 * N) { parentPort.postMessage({ done: replies }); } });
    parentPort.postMessage('evt'); put(enc(11, 2 * i, 'data/k0\\0v0')); put(enc(2, 2 * i + 1, 'data/k0\\0')); i++;
  `;
  const w = new Worker(src, { eval: true, workerData: { sab: guest.sab } });
  Object.assign(ring.port, {});
  (ring as unknown as { port: { notify: () => void; evtchn: number } }).port.notify = () => w.postMessage('evtchn');
  const replies = await new Promise<[number, string][]>((res, rej) => {
    w.on('message', (m) => { if (m === 'evt') ring.onEvent(); else res(m.done); });
    w.on('error', rej);
  });
  await w.terminate();
  assert.equal(replies.length, 400);
  for (let i = 0; i < 200; i++) {
    assert.deepEqual(replies[2 * i], [2 * i, 'OK\0']);
    assert.deepEqual(replies[2 * i + 1], [2 * i + 1, 'v' + i]);
  }
});

test('SET_TARGET applies to the domain\'s ring connection (a device model acting for its guest)', () => {
  const { guest, ring, dom0 } = world();
  dom0.ask(WRITE, '/local/domain/7/secret\0s');
  dom0.ask(14, '/local/domain/7/secret\0n7\0');
  const got: Frame[] = [];
  send(guest, ring, frame(READ, 1, 0, '/local/domain/7/secret\0'), got);
  assert.equal(got.pop()!.payload.toString(), 'EACCES\0');
  assert.equal(dom0.ask(19, '5\x007\0'), 'OK\0');
  assert.equal(ring.target, 7);
  send(guest, ring, frame(READ, 2, 0, '/local/domain/7/secret\0'), got);
  assert.equal(got.pop()!.payload.toString(), 's');
});
