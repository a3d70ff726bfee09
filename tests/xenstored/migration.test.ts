// SPDX-License-Identifier: GPL-2.0-only
// The xenstore migration record (xen-digest §1.12): header bytes, record framing, and a full
// dump -> restore round trip with nodes, perms, watches, open transactions and pending input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Connection } from '../../src/toolstack/xenstored/connection.ts';
import { dumpState, restoreState } from '../../src/toolstack/xenstored/lu.ts';
import { MemConn, frame, newCore } from './harness.ts';

const READ = 2, WATCH = 4, TX_START = 6, TX_END = 7, WRITE = 11, SET_PERMS = 14, DIRECTORY = 1, GET_PERMS = 3;

test('the stream starts with "xenstore", version 1 and flags 0 (big-endian), and ends with END', () => {
  const { core } = newCore();
  const d = dumpState(core, { rwSocketFd: -1 });
  assert.deepEqual([...d.subarray(0, 16)], [...Buffer.from('xenstore'), 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual([...d.subarray(d.length - 8)], [0, 0, 0, 0, 0, 0, 0, 0], 'END: type 0, len 0');
  let off = 16;
  const types: number[] = [];
  while (off < d.length) {
    const type = Buffer.from(d).readUInt32LE(off);
    const len = Buffer.from(d).readUInt32LE(off + 4);
    types.push(type);
    off += 8 + len + ((8 - (len % 8)) % 8);
  }
  assert.equal(off, d.length, 'records are padded to 8 bytes');
  assert.deepEqual(types.slice(0, 2), [1, 6]);
  assert.equal(types.filter((t) => t === 5).length, 3 + 2, '/, /tool, /tool/xenstored and the two @ nodes');
});

test('round trip: nodes, perms, watches, transactions and unprocessed input survive', () => {
  const { core } = newCore();
  const a = new MemConn(core);
  const b = new MemConn(core);
  a.ask(WRITE, '/local/domain/1/name\0guest');
  a.ask(WRITE, '/bin\0\x00\x01\x02');
  a.ask(SET_PERMS, '/local/domain/1\0n1\0r0\0');
  b.req(WATCH, '/local\0tok\0');
  a.ask(SET_PERMS, '@releaseDomain\0n0\0r1\0');
  const tx = Number(a.ask(TX_START, '\0').slice(0, -1));
  a.ask(READ, '/bin\0', tx);
  a.ask(WRITE, '/local/domain/1/pending\0p', tx);
  core.quotas.nodes = 77;
  // A request that arrived but was not processed (the daemon is frozen for the update).
  core.frozen = true;
  b.feed(frame(READ, 5, 0, '/local/domain/1/name\0'));
  assert.deepEqual(b.take(), []);
  const dump = dumpState(core, { rwSocketFd: -1, extraOut: new Map([[a.id, frame(0, 1, 0, 'OK\0')]]) });

  const { core: core2 } = newCore();
  const made = new Map<number, MemConn>();
  const pending = restoreState(core2, dump, {
    socket: (id) => { const c = new MemConn(core2); made.set(id, c); core2.conns.delete(c.id); return c; },
  });
  const a2 = made.get(a.id)!;
  const b2 = made.get(b.id)!;
  assert.equal(a2.id, a.id);
  assert.deepEqual([...pending.get(a2)!], [...frame(0, 1, 0, 'OK\0')], 'the live-update reply is pending output');
  assert.equal(core2.quotas.nodes, 77);
  core2.frozen = false;
  core2.resumeAll();
  assert.deepEqual(b2.take().map((f) => [f.reqId, f.payload.toString()]), [[5, 'guest']], 'pending input is processed');
  assert.deepEqual(a2.req(READ, '/bin\0')[0]!.payload, Buffer.from([0, 1, 2]));
  assert.equal(a2.ask(GET_PERMS, '/local/domain/1\0'), 'n1\0r0\0');
  assert.deepEqual(core2.special.get('@releaseDomain'), [{ id: 0, p: 0 }, { id: 1, p: 1 }], 'special node perms');
  assert.equal(a2.ask(DIRECTORY, '/local/domain/1\0'), 'name\0');
  assert.equal(a2.ask(READ, '/local/domain/1/pending\0', tx), 'p', 'the transaction is still open with its write');
  a2.ask(WRITE, '/local/domain/1/name\0changed');
  assert.deepEqual(b2.take().map((f) => f.payload.toString()), ['/local/domain/1/name\0tok\0'], 'the watch survived');
  assert.equal(a2.ask(TX_END, 'T\0', tx), 'OK\0', 'its read (/bin) is unchanged: commit succeeds');
  assert.equal(a2.ask(READ, '/local/domain/1/pending\0'), 'p');
  assert.deepEqual(core2.store.check(), []);
});

test('a transaction whose read went stale before the dump still fails after restore', () => {
  const { core } = newCore();
  const a = new MemConn(core);
  a.ask(WRITE, '/v\0one');
  const tx = Number(a.ask(TX_START, '\0').slice(0, -1));
  a.ask(READ, '/v\0', tx);
  a.ask(WRITE, '/w\0from-tx', tx);
  a.ask(WRITE, '/v\0two');
  const dump = dumpState(core, { rwSocketFd: -1 });
  const { core: core2 } = newCore();
  let a2!: MemConn;
  restoreState(core2, dump, { socket: () => { a2 = new MemConn(core2); core2.conns.delete(a2.id); return a2; } });
  core2.frozen = false;
  assert.equal(a2.ask(TX_END, 'T\0', tx), 'ERROR:EAGAIN\0');
  assert.equal(a2.ask(READ, '/w\0'), 'ERROR:ENOENT\0');
});

test('restore rejects garbage', () => {
  const { core } = newCore();
  assert.throws(() => restoreState(core, new Uint8Array(40), { socket: () => undefined as Connection | undefined }), /not a xenstore/);
  const d = dumpState(newCore().core, { rwSocketFd: -1 });
  assert.throws(() => restoreState(newCore().core, d.subarray(0, 40), { socket: () => undefined }), /truncated/);
});
