// SPDX-License-Identifier: GPL-2.0-only
// The xenstore ring relay (src/host/xenstore-relay.ts + src/toolstack/xenstored/relay.ts)
// against the real xenstored process: a guest's ring page (a SharedArrayBuffer here, guest
// memory in the host daemon) pumped to a socket that xenstored treats as that domain's ring
// connection: its permissions, relative paths, watches into the ring, dom0-only requests
// refused; it survives a live update; a hostile ring (bad indexes, oversized frame) drops only
// the relay; RELEASE closes it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { StoreRelay } from '../../src/host/xenstore-relay.ts';
import type { Dom0Port } from '../../src/toolstack/ctrl/dom0-dev.ts';
import { XENSTORE_ERROR_COMM, XENSTORE_ERROR_PROTO, XENSTORE_ERROR_RINGIDX } from '../../src/toolstack/xenstored/ring.ts';
import { ROOT, SockClient, frame, parseFrames, startDaemon, type Daemon, type Frame } from './harness.ts';

const READ = 2, WATCH = 4, INTRODUCE = 8, RELEASE = 9, WRITE = 11, SET_PERMS = 14, CONTROL = 0;

/** The guest's side of struct xenstore_domain_interface over a SharedArrayBuffer page. */
class Guest {
  readonly page = new Uint8Array(new SharedArrayBuffer(4096));
  readonly idx = new Uint32Array(this.page.buffer, 2048, 7);
  private got = Buffer.alloc(0);
  readonly events: Frame[] = [];
  notifies = 0;
  relay!: StoreRelay;
  readonly port: Dom0Port = { local: 1, notify: () => { this.notifies++; }, close: () => {} };
  get error(): number { return this.idx[6]!; }
  send(type: number, payload: string, reqId = 1): void {
    const f = frame(type, reqId, 0, payload);
    let prod = this.idx[1]!;
    for (const b of f) this.page[prod++ & 1023] = b;
    this.idx[1] = prod;
    this.relay.onEvent(); // the guest's EVTCHNOP_send
  }
  /** Next reply (not a watch event) from the response ring. */
  async reply(ms = 10_000): Promise<Frame> {
    const end = Date.now() + ms;
    for (;;) {
      let cons = this.idx[2]!;
      const prod = this.idx[3]!;
      const bytes: number[] = [];
      while (cons !== prod) bytes.push(this.page[1024 + (cons++ & 1023)]!);
      this.idx[2] = cons;
      if (bytes.length) { this.got = Buffer.concat([this.got, Buffer.from(bytes)]); this.relay.onEvent(); }
      const fs = parseFrames(this.got);
      let used = 0;
      for (const f of fs) {
        used += 16 + f.payload.length;
        if (f.type === 15) { this.events.push(f); continue; }
        this.got = this.got.subarray(used); // later frames stay for the next call
        return f;
      }
      this.got = this.got.subarray(used);
      if (Date.now() > end) throw new Error('no reply through the relay');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  async ask(type: number, payload: string): Promise<string> {
    this.send(type, payload);
    const f = await this.reply();
    return (f.type === 16 ? 'ERROR:' : '') + f.payload.toString('latin1');
  }
  async event(ms = 10_000): Promise<string> {
    const end = Date.now() + ms;
    while (this.events.length === 0) {
      if (Date.now() > end) throw new Error('no watch event through the relay');
      await this.reply(50).catch(() => {});
    }
    return this.events.shift()!.payload.toString('latin1');
  }
}

let d: Daemon;
let admin: SockClient;
const logs: string[] = [];

async function guestFor(domid: number): Promise<Guest> {
  assert.equal(await admin.ask(WRITE, `/local/domain/${domid}/domid\0${domid}`), 'OK\0');
  assert.equal(await admin.ask(SET_PERMS, `/local/domain/${domid}\0n${domid}\0`), 'OK\0');
  assert.equal(await admin.ask(INTRODUCE, `${domid}\0${4096 + domid}\0${domid + 1}\0`), 'OK\0');
  const g = new Guest();
  g.relay = new StoreRelay({ socketPath: d.path, domid, page: g.page, log: (l) => logs.push(l), wake: () => {} });
  g.relay.port = g.port;
  await g.relay.open();
  return g;
}

before(async () => {
  d = await startDaemon();
  admin = await SockClient.connect(d.path);
  assert.equal(await admin.ask(WRITE, '/local/domain/0/secret\0dom0 only'), 'OK\0');
});
after(async () => { admin?.close(); await d?.stop(); });

test('a relayed ring is the domain: relative paths, its permissions, watches into the ring, dom0 requests refused', async () => {
  const g = await guestFor(7);
  assert.equal(await g.ask(WRITE, 'data/x\0hello'), 'OK\0');
  assert.equal(await admin.ask(READ, '/local/domain/7/data/x\0'), 'hello');
  assert.equal(await g.ask(READ, '/local/domain/7/data/x\0'), 'hello');
  assert.equal(await g.ask(READ, '/local/domain/0/secret\0'), 'ERROR:EACCES\0');
  assert.equal(await g.ask(INTRODUCE, '9\x00100\x001\0'), 'ERROR:EACCES\0');
  assert.equal(await g.ask(CONTROL, 'ring-relay\x008\0'), 'ERROR:EACCES\0');
  assert.equal(await g.ask(WATCH, 'data\0tok\0'), 'OK\0');
  assert.equal(await g.event(), 'data\0tok\0'); // the initial event
  assert.equal(await admin.ask(WRITE, '/local/domain/7/data/y\0from dom0'), 'OK\0');
  assert.equal(await g.event(), 'data/y\0tok\0'); // relative, as on a real ring
  assert.ok(g.notifies > 0, 'the guest was notified');
  // Nodes the domain creates are its own (quota accounting by owner).
  assert.match(await admin.ask(CONTROL, 'quota\x007\0'), /nodes\s+:\s+[1-9]/);
});

test('only a fresh dom0 socket may become a relay, and only for an introduced domain', async () => {
  const c = await SockClient.connect(d.path);
  try {
    assert.equal(await c.ask(CONTROL, 'ring-relay\x0099\0'), 'ERROR:ENOENT\0');
    assert.equal(await c.ask(WATCH, '/local\0t\0'), 'OK\0');
    await new Promise((r) => setTimeout(r, 50)); // the initial event
    assert.equal(await c.ask(CONTROL, 'ring-relay\x007\0'), 'ERROR:EBUSY\0');
  } finally {
    c.close();
  }
  const g = new Guest();
  g.relay = new StoreRelay({ socketPath: d.path, domid: 98, page: g.page, log: () => {}, wake: () => {} });
  await assert.rejects(g.relay.open(), /xenstored answered ENOENT/);
});

test('the relay survives a live update of xenstored (connection and watch handed over)', async () => {
  const g = await guestFor(11);
  assert.equal(await g.ask(WATCH, 'data\0lu\0'), 'OK\0');
  assert.equal(await g.event(), 'data\0lu\0');
  assert.equal(await admin.ask(CONTROL, `live-update\0-f\0${join(ROOT, 'src/host/xenstored-main.ts')}\0`), 'OK\0');
  assert.equal(await admin.ask(CONTROL, 'live-update\0-s\0'), 'OK\0');
  assert.equal(await g.ask(WRITE, 'data/after\0lu'), 'OK\0');
  assert.equal(await g.event(), 'data/after\0lu\0');
  assert.equal(await g.ask(READ, '/local/domain/0/secret\0'), 'ERROR:EACCES\0');
  assert.equal(await admin.ask(READ, '/local/domain/11/data/after\0'), 'lu');
});

test('a hostile ring drops its relay only: bad index (RINGIDX), oversized frame (PROTO)', async () => {
  const g = await guestFor(21);
  g.idx[1] = g.idx[0]! + 5000; // req_prod a ring and more ahead
  g.relay.onEvent();
  assert.equal(g.relay.broken, true);
  assert.equal(g.error, XENSTORE_ERROR_RINGIDX);
  const h = await guestFor(22);
  const big = Buffer.alloc(16);
  big.writeUInt32LE(WRITE, 0);
  big.writeUInt32LE(5000, 12); // more than XENSTORE_PAYLOAD_MAX
  for (let i = 0; i < 16; i++) h.page[i] = big[i]!;
  h.idx[1] = 16;
  h.relay.onEvent();
  assert.equal(h.relay.broken, true);
  assert.equal(h.error, XENSTORE_ERROR_PROTO);
  assert.ok(logs.some((l) => /d21: xenstore ring dropped: request ring indexes/.test(l)), logs.join('\n'));
  // Everyone else carries on.
  assert.equal(await admin.ask(READ, '/local/domain/0/secret\0'), 'dom0 only');
  const ok = await guestFor(23);
  assert.equal(await ok.ask(WRITE, 'data/z\0fine'), 'OK\0');
});

test('RELEASE closes the relay and the guest sees error COMM', async () => {
  const g = await guestFor(31);
  assert.equal(await g.ask(WRITE, 'data/a\x001'), 'OK\0');
  assert.equal(await admin.ask(RELEASE, '31\0'), 'OK\0');
  const end = Date.now() + 5000;
  while (!g.relay.broken && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  assert.equal(g.relay.broken, true);
  assert.equal(g.error, XENSTORE_ERROR_COMM);
});
