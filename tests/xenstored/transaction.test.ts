// SPDX-License-Identifier: GPL-2.0-only
// Transactions fail with EAGAIN only on a real conflict (see transaction.ts for the rule), are
// invisible until commit, fire watches only on commit, and are dropped by abort.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemConn, newCore } from './harness.ts';

const DIRECTORY = 1, READ = 2, GET_PERMS = 3, WATCH = 4, TX_START = 6, TX_END = 7, WRITE = 11, MKDIR = 12, RM = 13, SET_PERMS = 14;

function setup() {
  const { core } = newCore();
  const a = new MemConn(core);
  const b = new MemConn(core);
  a.ask(WRITE, '/x/a\x001');
  a.ask(WRITE, '/x/b\x002');
  const start = (c: MemConn): number => Number(c.ask(TX_START, '\0').slice(0, -1));
  return { core, a, b, start };
}

test('a write elsewhere does not abort a transaction (R47 would: any write -> EAGAIN)', () => {
  const { a, b, start } = setup();
  const t = start(a);
  assert.equal(a.ask(READ, '/x/a\0', t), '1');
  assert.equal(a.ask(WRITE, '/x/c\0new', t), 'OK\0');
  b.ask(WRITE, '/x/b\0other');
  b.ask(WRITE, '/x/d\0sibling');
  assert.equal(a.ask(TX_END, 'T\0', t), 'OK\0');
  assert.equal(b.ask(READ, '/x/c\0'), 'new');
  assert.equal(b.ask(DIRECTORY, '/x\0'), 'a\0b\0d\0c\0', 'both siblings kept');
});

test('a changed read is a real conflict: EAGAIN, nothing applied', () => {
  const { a, b, start } = setup();
  const t = start(a);
  assert.equal(a.ask(READ, '/x/a\0', t), '1');
  a.ask(WRITE, '/x/b\0from-tx', t);
  b.ask(WRITE, '/x/a\0changed');
  assert.equal(a.ask(TX_END, 'T\0', t), 'ERROR:EAGAIN\0');
  assert.equal(b.ask(READ, '/x/b\0'), '2');
  assert.equal(a.ask(READ, '/x/a\0', t), 'ERROR:ENOENT\0', 'the transaction is gone');
});

test('conflicts on existence, children lists and permissions', () => {
  const { a, b, start } = setup();
  let t = start(a);
  assert.equal(a.ask(READ, '/x/none\0', t), 'ERROR:ENOENT\0');
  a.ask(WRITE, '/x/z\0z', t);
  b.ask(WRITE, '/x/none\0now');
  assert.equal(a.ask(TX_END, 'T\0', t), 'ERROR:EAGAIN\0', 'a node it saw missing now exists');
  t = start(a);
  a.ask(DIRECTORY, '/x\0', t);
  a.ask(WRITE, '/y\0y', t);
  b.ask(WRITE, '/x/e\0e');
  assert.equal(a.ask(TX_END, 'T\0', t), 'ERROR:EAGAIN\0', 'a listed directory gained a child');
  t = start(a);
  a.ask(WRITE, '/x/a\0blind', t);
  b.ask(SET_PERMS, '/x/a\0n0\0r1\0');
  assert.equal(a.ask(TX_END, 'T\0', t), 'ERROR:EAGAIN\0', 'the permissions its write was checked against changed');
  t = start(a);
  a.ask(WRITE, '/x/a\0blind', t);
  b.ask(WRITE, '/x/a\0concurrent');
  assert.equal(a.ask(TX_END, 'T\0', t), 'OK\0', 'two blind writes do not conflict: the commit is last');
  assert.equal(b.ask(READ, '/x/a\0'), 'blind');
});

test('isolation, abort, rm and re-create inside a transaction', () => {
  const { a, b, start } = setup();
  let t = start(a);
  a.ask(RM, '/x\0', t);
  assert.equal(a.ask(READ, '/x/a\0', t), 'ERROR:ENOENT\0');
  assert.equal(b.ask(READ, '/x/a\0'), '1', 'invisible outside');
  a.ask(WRITE, '/x/new\0n', t);
  assert.equal(a.ask(DIRECTORY, '/x\0', t), 'new\0');
  assert.equal(a.ask(GET_PERMS, '/x/new\0', t), 'n0\0');
  assert.equal(a.ask(TX_END, 'F\0', t), 'OK\0');
  assert.equal(b.ask(DIRECTORY, '/x\0'), 'a\0b\0', 'abort discards');
  t = start(a);
  a.ask(RM, '/x\0', t);
  a.ask(WRITE, '/x/new\0n', t);
  a.ask(MKDIR, '/x/dir\0', t);
  assert.equal(a.ask(TX_END, 'T\0', t), 'OK\0');
  assert.equal(b.ask(DIRECTORY, '/x\0'), 'new\0dir\0');
  assert.equal(b.ask(READ, '/x/a\0'), 'ERROR:ENOENT\0');
});

test('watches fire at commit only, once per changed node', () => {
  const { a, b, start } = setup();
  b.req(WATCH, '/x\0w\0');
  const t = start(a);
  a.ask(WRITE, '/x/a\0t1', t);
  a.ask(WRITE, '/x/q\0t2', t);
  assert.deepEqual(b.take(), []);
  a.ask(TX_END, 'T\0', t);
  assert.deepEqual(b.take().map((f) => f.payload.toString()).sort(), ['/x/a\0w\0', '/x/q\0w\0']);
});

test('many transactions interleaved on disjoint keys all commit', () => {
  const { core } = setup();
  const conns = Array.from({ length: 5 }, () => new MemConn(core));
  conns[0]!.ask(MKDIR, '/k\0');
  const ids = conns.map((c) => Number(c.ask(TX_START, '\0').slice(0, -1)));
  conns.forEach((c, i) => { c.ask(READ, '/x/a\0', ids[i]); c.ask(WRITE, `/k/${i}\0v${i}`, ids[i]); });
  conns.forEach((c, i) => assert.equal(c.ask(TX_END, 'T\0', ids[i]), 'OK\0'));
  assert.equal(conns[0]!.ask(DIRECTORY, '/k\0'), '0\x001\x002\x003\x004\0');
  assert.equal(core.store.check().length, 0);
});
