// SPDX-License-Identifier: GPL-2.0-only
// The core's protocol, driven directly (no sockets): reply bytes, errors by name, path limits,
// permissions, relative paths, watches, domain requests, quotas and CONTROL. xen-digest §1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemConn, frame, newCore } from './harness.ts';

const [CONTROL, DIRECTORY, READ, GET_PERMS, WATCH, UNWATCH, TX_START, TX_END, INTRODUCE, RELEASE,
  GET_DOMAIN_PATH, WRITE, MKDIR, RM, SET_PERMS, WATCH_EVENT, ERROR, IS_DOMAIN_INTRODUCED, RESUME,
  SET_TARGET, RESTRICT, RESET_WATCHES, DIRECTORY_PART] = Array.from({ length: 23 }, (_, i) => i) as number[] as [
  number, number, number, number, number, number, number, number, number, number, number, number, number,
  number, number, number, number, number, number, number, number, number, number];

test('replies echo type, req_id and tx_id; READ has no trailing NUL, WRITE acks "OK\\0"', () => {
  const { core } = newCore();
  const c = new MemConn(core);
  c.feed(frame(WRITE, 0xdeadbeef, 0, '/a/b\0hello'));
  const [w] = c.take();
  assert.deepEqual([w!.type, w!.reqId, w!.txId, w!.payload.toString('latin1')], [WRITE, 0xdeadbeef, 0, 'OK\0']);
  c.feed(frame(READ, 42, 0, '/a/b\0'));
  const [r] = c.take();
  assert.deepEqual([r!.type, r!.reqId, r!.payload.toString('latin1')], [READ, 42, 'hello']);
  assert.equal(c.ask(READ, '/a\0'), '', 'missing parents are created with empty values');
  assert.equal(c.ask(DIRECTORY, '/\0'), 'tool\0a\0');
  assert.equal(c.ask(DIRECTORY, '/a/b\0'), '');
  const tx = Number.parseInt(c.ask(TX_START, '\0'), 10);
  c.feed(frame(READ, 9, tx, '/a/b\0'));
  assert.equal(c.take()[0]!.txId, tx);
  c.feed(frame(ERROR, 3, 0, 'x\0'));
  assert.deepEqual(c.take().map((f) => [f.type, f.reqId, f.payload.toString()]), [[ERROR, 3, 'ENOSYS\0']]);
});

test('binary values round-trip and MKDIR leaves existing values alone', () => {
  const { core } = newCore();
  const c = new MemConn(core);
  const v = Buffer.from([0, 1, 2, 255, 0]);
  assert.equal(c.ask(WRITE, Buffer.concat([Buffer.from('/bin\0'), v])), 'OK\0');
  assert.deepEqual(c.req(READ, '/bin\0')[0]!.payload, v);
  assert.equal(c.ask(MKDIR, '/bin\0'), 'OK\0');
  assert.deepEqual(c.req(READ, '/bin\0')[0]!.payload, v);
});

test('errors are sent by name', () => {
  const { core } = newCore();
  const c = new MemConn(core);
  assert.equal(c.ask(READ, '/nope\0'), 'ERROR:ENOENT\0');
  assert.equal(c.ask(READ, '/nope'), 'ERROR:EINVAL\0', 'missing NUL');
  assert.equal(c.ask(READ, '/a//b\0'), 'ERROR:EINVAL\0');
  assert.equal(c.ask(READ, '/a/\0'), 'ERROR:EINVAL\0');
  assert.equal(c.ask(READ, '/a b\0'), 'ERROR:EINVAL\0');
  assert.equal(c.ask(READ, '\0'), 'ERROR:EINVAL\0');
  assert.equal(c.ask(READ, '@introduceDomain\0'), 'ERROR:EINVAL\0');
  assert.equal(c.ask(WRITE, '/novalue'), 'ERROR:EINVAL\0');
  assert.equal(c.ask(99, 'x\0'), 'ERROR:ENOSYS\0');
  assert.equal(c.ask(WATCH_EVENT, 'x\0t\0'), 'ERROR:ENOSYS\0');
  assert.equal(c.ask(RESTRICT, '1\0'), 'ERROR:ENOSYS\0');
  assert.equal(c.ask(READ, '/tool\0', 12345), 'ERROR:ENOENT\0', 'unknown tx_id');
  assert.equal(c.ask(RM, '/\0'), 'ERROR:EINVAL\0');
  assert.equal(c.ask(RM, '/x/y\0'), 'ERROR:ENOENT\0', 'rm with a missing parent');
  assert.equal(c.ask(RM, '/tool/nothing\0'), 'OK\0', 'rm of a missing node under an existing parent');
  assert.equal(c.ask(TX_END, 'T\0'), 'ERROR:ENOENT\0');
  const tx = c.ask(TX_START, '\0').slice(0, -1);
  assert.equal(c.ask(TX_END, 'X\0', Number(tx)), 'ERROR:EINVAL\0');
  assert.equal(c.ask(TX_START, '\0', Number(tx)), 'ERROR:EBUSY\0');
  assert.equal(c.ask(TX_START, '\0', 777), 'ERROR:ENOENT\0');
});

test('path limits: 2048 characters, or 2048 after /local/domain/<id>/ (3072 in all)', () => {
  const { core } = newCore();
  const c = new MemConn(core);
  const long = (n: number, pre: string): string => pre + 'a'.repeat(n - pre.length);
  assert.equal(c.ask(WRITE, long(2048, '/') + '\0v'), 'OK\0');
  assert.equal(c.ask(WRITE, long(2049, '/') + '\0v'), 'ERROR:EINVAL\0');
  assert.equal(c.ask(WRITE, long(3073, '/local/domain/1/') + '\0v'), 'ERROR:EINVAL\0');
  const dom = '/local/domain/1/';
  assert.equal(c.ask(WRITE, dom + 'b'.repeat(2048) + '\0v'), 'OK\0');
  assert.equal(c.ask(WRITE, dom + 'b'.repeat(2049) + '\0v'), 'ERROR:EINVAL\0');
  const d1 = new MemConn(core, 1);
  assert.equal(d1.ask(READ, 'c'.repeat(2049) + '\0'), 'ERROR:EINVAL\0', 'relative path over 2048');
});

test('a payload over 4096 bytes drops the connection; 4096 is fine', () => {
  const { core, logs } = newCore();
  const c = new MemConn(core);
  assert.equal(c.ask(WRITE, '/x\0' + 'v'.repeat(4093)), 'OK\0');
  c.feed(frame(WRITE, 1, 0, '/x\0' + 'v'.repeat(4094)));
  assert.equal(c.closed, true);
  assert.equal(core.conns.has(c.id), false);
  assert.match(logs.join('\n'), /XENSTORE_PAYLOAD_MAX/);
});

test('relative paths resolve under /local/domain/<domid>', () => {
  const { core } = newCore();
  const d0 = new MemConn(core);
  d0.ask(MKDIR, '/local/domain/3\0');
  d0.ask(SET_PERMS, '/local/domain/3\0n3\0');
  const d3 = new MemConn(core, 3);
  assert.equal(d3.ask(WRITE, 'data/x\0hi'), 'OK\0');
  assert.equal(d0.ask(READ, '/local/domain/3/data/x\0'), 'hi');
  assert.equal(d0.ask(READ, 'name\0'), 'ERROR:ENOENT\0');
  d0.ask(WRITE, '/local/domain/0/name\0Domain-0');
  assert.equal(d0.ask(READ, 'name\0'), 'Domain-0', 'socket (dom0) connections resolve under /local/domain/0');
});

test('permissions: owner, default entry, listed domains, dom0 bypass, EACCES vs ENOENT', () => {
  const { core } = newCore();
  const d0 = new MemConn(core);
  const d1 = new MemConn(core, 1);
  const d2 = new MemConn(core, 2);
  d0.ask(WRITE, '/p/node\0secret');
  assert.equal(d0.ask(GET_PERMS, '/p/node\0'), 'n0\0', 'inherited from the root');
  assert.equal(d1.ask(READ, '/p/node\0'), 'ERROR:EACCES\0');
  assert.equal(d1.ask(READ, '/p/none\0'), 'ERROR:EACCES\0', 'no knowing what exists under an unreadable node');
  assert.equal(d0.ask(SET_PERMS, '/p\0n0\0r1\0'), 'OK\0');
  assert.equal(d1.ask(READ, '/p/none\0'), 'ERROR:ENOENT\0');
  assert.equal(d0.ask(SET_PERMS, '/p/node\0r2\0w1\0'), 'OK\0');
  assert.equal(d0.ask(GET_PERMS, '/p/node\0'), 'r2\0w1\0');
  assert.equal(d1.ask(READ, '/p/node\0'), 'ERROR:EACCES\0', 'w only');
  assert.equal(d1.ask(WRITE, '/p/node\0x'), 'OK\0');
  assert.equal(d2.ask(READ, '/p/node\0'), 'x', 'the owner reads');
  assert.equal(d2.ask(SET_PERMS, '/p/node\0r2\0b1\0'), 'OK\0', 'the owner changes perms');
  assert.equal(d2.ask(SET_PERMS, '/p/node\0r1\0'), 'ERROR:EPERM\0', 'only dom0 changes the owner');
  assert.equal(d1.ask(SET_PERMS, '/p/node\0b1\0'), 'ERROR:EACCES\0', 'not the owner');
  assert.equal(d1.ask(SET_PERMS, '/p/node\0q1\0'), 'ERROR:EINVAL\0');
  assert.equal(d1.ask(WRITE, '/p/new\0v'), 'ERROR:EACCES\0', 'create needs write on the parent');
  d0.ask(SET_PERMS, '/p\0n0\0b1\0');
  assert.equal(d1.ask(WRITE, '/p/new/deep\0v'), 'OK\0');
  assert.equal(d0.ask(GET_PERMS, '/p/new/deep\0'), 'n1\0b1\0', 'an unprivileged creator owns the new nodes');
  assert.equal(d0.ask(GET_PERMS, '/p/new\0'), 'n1\0b1\0');
});

test('SET_TARGET: a domain acts with its target\'s rights', () => {
  const { core } = newCore();
  const d0 = new MemConn(core);
  d0.ask(WRITE, '/t/guest\0g');
  d0.ask(SET_PERMS, '/t/guest\0n5\0');
  const dm = new MemConn(core, 9);
  assert.equal(dm.ask(READ, '/t/guest\0'), 'ERROR:EACCES\0');
  assert.equal(d0.ask(SET_TARGET, '9\x005\0'), 'ERROR:ENOENT\0', 'domain 9 not introduced');
  d0.ask(INTRODUCE, '9\x00100\x001\0');
  assert.equal(d0.ask(SET_TARGET, '9\x005\0'), 'OK\0');
  dm.target = 5; // the core sets it on the domain's ring connection; this test conn stands in for it
  assert.equal(dm.ask(READ, '/t/guest\0'), 'g');
  assert.equal(dm.ask(SET_TARGET, '9\x005\0'), 'ERROR:EACCES\0');
});

test('watches: initial event, changes below, relative paths, recursive delete, EEXIST/ENOENT', () => {
  const { core } = newCore();
  const d0 = new MemConn(core);
  d0.ask(MKDIR, '/local/domain/4\0');
  d0.ask(SET_PERMS, '/local/domain/4\0n4\0');
  const d4 = new MemConn(core, 4);
  const r = d4.req(WATCH, 'device\0tok\0');
  assert.deepEqual(r.map((f) => [f.type, f.reqId, f.txId, f.payload.toString()]),
    [[WATCH, 7, 0, 'OK\0'], [WATCH_EVENT, 0, 0, 'device\0tok\0']], 'ack first, then the initial event');
  assert.equal(d4.ask(WATCH, 'device\0tok\0'), 'ERROR:EEXIST\0');
  d0.ask(WRITE, '/local/domain/4/device/vif/0\0x');
  assert.deepEqual(d4.take().map((f) => f.payload.toString()), ['device/vif/0\0tok\0'], 'relative event path');
  const w = d0.req(WATCH, '/local/domain/4/device/vif/0/state\0deep\0');
  assert.equal(w.length, 2);
  assert.deepEqual(d0.req(RM, '/local/domain/4/device\0').filter((f) => f.type === WATCH_EVENT).map((f) => f.payload.toString()), ['/local/domain/4/device/vif/0/state\0deep\0'],
    'a recursive delete fires watches below with their own path');
  assert.deepEqual(d4.take().map((f) => f.payload.toString()), ['device\0tok\0']);
  assert.equal(d4.ask(UNWATCH, 'device\0tok\0'), 'OK\0');
  assert.equal(d4.ask(UNWATCH, 'device\0tok\0'), 'ERROR:ENOENT\0');
  d0.ask(WRITE, '/local/domain/4/device\0y');
  assert.deepEqual(d4.take(), []);
});

test('watch events respect read permission', () => {
  const { core } = newCore();
  const d0 = new MemConn(core);
  const d1 = new MemConn(core, 1);
  d1.req(WATCH, '/\0all\0');
  d0.ask(WRITE, '/hidden\0x');
  assert.deepEqual(d1.take(), [], 'dom1 cannot read /hidden');
  d0.ask(SET_PERMS, '/hidden\0r0\0');
  assert.equal(d1.take().length, 1, 'perm change to readable fires');
});

test('@introduceDomain, @releaseDomain, GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED, RESUME, RESET_WATCHES', () => {
  const { core } = newCore();
  const d0 = new MemConn(core);
  d0.req(WATCH, '@introduceDomain\0i\0');
  d0.req(WATCH, '@releaseDomain\0r\0');
  assert.equal(d0.ask(IS_DOMAIN_INTRODUCED, '7\0'), 'F\0');
  assert.equal(d0.ask(IS_DOMAIN_INTRODUCED, '0\0'), 'T\0');
  const intro = d0.req(INTRODUCE, '7\x00-1\x003\0');
  assert.deepEqual(intro.map((f) => f.payload.toString()), ['@introduceDomain\0i\0', 'OK\0']);
  assert.equal(d0.ask(IS_DOMAIN_INTRODUCED, '7\0'), 'T\0');
  assert.equal(d0.ask(INTRODUCE, '7\x0099\x003\0'), 'ERROR:EINVAL\0', 'same domain, another page');
  assert.equal(d0.ask(GET_DOMAIN_PATH, '7\0'), '/local/domain/7\0');
  assert.equal(d0.ask(GET_DOMAIN_PATH, 'x\0'), '/local/domain/0\0', 'atoi(), as cxenstored');
  assert.equal(d0.ask(RESUME, '8\0'), 'ERROR:ENOENT\0');
  assert.equal(d0.ask(RESUME, '7\0'), 'OK\0');
  const rel = d0.req(RELEASE, '7\0');
  assert.deepEqual(rel.map((f) => f.payload.toString()), ['@releaseDomain\0r\0', 'OK\0']);
  assert.equal(d0.ask(RELEASE, '7\0'), 'ERROR:ENOENT\0');
  const d1 = new MemConn(core, 1);
  assert.equal(d1.ask(INTRODUCE, '8\x001\x001\0'), 'ERROR:EACCES\0');
  assert.equal(d1.ask(RELEASE, '8\0'), 'ERROR:EACCES\0');
  assert.equal(d1.req(WATCH, '@releaseDomain\0r\0').length, 2);
  assert.equal(d1.ask(RESET_WATCHES, '\0'), 'OK\0');
  d0.ask(INTRODUCE, '8\x001\x001\0');
  d0.take();
  d0.ask(RELEASE, '8\0');
  assert.deepEqual(d1.take(), [], 'RESET_WATCHES dropped it');
});

test('RELEASE cleans up after the domain: its nodes deleted (or -K: given to dom0), its perm entries struck', () => {
  for (const keep of [false, true]) {
    const { core } = newCore();
    core.keepOrphans = keep;
    const d0 = new MemConn(core);
    d0.ask(INTRODUCE, '5\x001\x001\0');
    // The home as libxl makes it: dom0's, readable by the guest; writable subdirectories the guest's.
    d0.ask(WRITE, '/local/domain/5/name\0guest');
    d0.ask(SET_PERMS, '/local/domain/5\0n0\0r5\0');
    d0.ask(MKDIR, '/local/domain/5/data\0');
    d0.ask(SET_PERMS, '/local/domain/5/data\0n5\0');
    d0.ask(MKDIR, '/local/domain/0/backend/vif/5\0');
    d0.ask(SET_PERMS, '/local/domain/0/backend/vif/5\0n0\0r5\0w7\0');
    d0.ask(SET_PERMS, '@releaseDomain\0n0\0r5\0');
    const g = new MemConn(core, 5);
    assert.equal(g.ask(WRITE, 'data/x\0from-guest'), 'OK\0');
    assert.equal(g.ask(WRITE, 'data/y/z\0deeper'), 'OK\0');
    assert.equal(core.store.ownedBy(5), 4);
    d0.req(WATCH, '/local/domain/5\0home\0');
    d0.take();
    const rel = d0.req(RELEASE, '5\0').map((f) => f.payload.toString());
    assert.equal(rel.at(-1), 'OK\0');
    assert.equal(d0.ask(READ, '/local/domain/5/name\0'), 'guest', 'the dom0-owned home stays (the toolstack removes it)');
    assert.equal(d0.ask(GET_PERMS, '/local/domain/5\0'), 'n0\0');
    assert.equal(d0.ask(GET_PERMS, '/local/domain/0/backend/vif/5\0'), 'n0\0w7\0');
    assert.equal(d0.ask(GET_PERMS, '@releaseDomain\0'), 'ERROR:EINVAL\0'); // GET_PERMS refuses @ names
    assert.equal(core.special.get('@releaseDomain')!.length, 1);
    if (!keep) {
      assert.equal(d0.ask(READ, '/local/domain/5/data/x\0'), 'ERROR:ENOENT\0');
      assert.equal(d0.ask(DIRECTORY, '/local/domain/5\0'), 'name\0');
      assert.equal(core.store.ownedBy(5), 0);
      assert.deepEqual(rel.filter((f) => f.startsWith('/')), ['/local/domain/5/data\0home\0'], 'RM-like watch event');
    } else {
      assert.equal(d0.ask(READ, '/local/domain/5/data/y/z\0'), 'deeper');
      assert.equal(d0.ask(GET_PERMS, '/local/domain/5/data/x\0'), 'n0\0');
      assert.equal(core.store.ownedBy(5), 0);
    }
    assert.equal(d0.ask(CONTROL, 'check\0'), 'OK\0');
  }
});

test('quotas: Xen defaults for domains, configurable, dom0 exempt', () => {
  const { core } = newCore();
  assert.deepEqual({ ...core.quotas }, { nodes: 1000, watches: 128, transactions: 10, 'node-size': 2048, outstanding: 20, permissions: 5, 'transaction-nodes': 1024, memory: 2621440 });
  assert.deepEqual({ ...core.softQuotas }, { memory: 2097152 });
  const d0 = new MemConn(core);
  d0.ask(MKDIR, '/local/domain/2\0');
  d0.ask(SET_PERMS, '/local/domain/2\0n2\0');
  const d2 = new MemConn(core, 2);
  core.quotas.nodes = 5;
  for (let i = 0; i < 4; i++) assert.equal(d2.ask(WRITE, `n${i}\0v`), 'OK\0');
  assert.equal(d2.ask(WRITE, 'n4\0v'), 'ERROR:ENOSPC\0', 'dom2 owns 5 nodes (its home + 4)');
  assert.equal(d0.ask(WRITE, '/local/domain/2/byd0\0v'), 'OK\0', 'dom0 is exempt');
  assert.equal(d2.ask(WRITE, 'big\0' + 'x'.repeat(3000)), 'ERROR:ENOSPC\0', 'node-size');
  core.quotas.watches = 2;
  d2.req(WATCH, 'a\0t\0'); d2.req(WATCH, 'b\0t\0');
  assert.equal(d2.ask(WATCH, 'c\0t\0'), 'ERROR:E2BIG\0');
  for (let i = 0; i < 10; i++) assert.match(d2.ask(TX_START, '\0'), /^\d+\0$/);
  assert.equal(d2.ask(TX_START, '\0'), 'ERROR:ENOSPC\0');
  for (let i = 0; i < 12; i++) assert.match(d0.ask(TX_START, '\0'), /^\d+\0$/);
  assert.equal(d2.ask(SET_PERMS, 'n0\0n2\0r1\0r3\0r4\0r5\0r6\0'), 'ERROR:ENOSPC\0', 'permissions');
});

test('memory quota: ENOMEM past the hard limit, the soft one logged, usage accounted through every change', () => {
  const { core, logs } = newCore();
  const d0 = new MemConn(core);
  d0.ask(MKDIR, '/local/domain/2\0');
  d0.ask(SET_PERMS, '/local/domain/2\0n2\0');
  const d2 = new MemConn(core, 2);
  const used = (): number => Number(/memory\s*:\s*(\d+)/.exec(d0.ask(CONTROL, 'quota\x002\0'))![1]);
  const home = used();
  assert.equal(home, 12 + 8 + '/local/domain/2'.length, 'the home node record plus its path');
  assert.equal(d2.ask(WRITE, 'a\0' + 'x'.repeat(1000)), 'OK\0');
  assert.equal(used(), home + 2 + 12 + 8 + 1000 + '/local/domain/2/a'.length, 'child name in the parent + the new node');
  assert.equal(d0.ask(CONTROL, 'quota-soft\0'), 'Quota settings:\nmemory           :  2097152 Total Xenstore memory per domain (warning level)\n\0');
  assert.match(d0.ask(CONTROL, 'quota\0'), /\nmemory           :  2621440 Total Xenstore memory per domain \(error level\)\n/);
  assert.equal(d0.ask(CONTROL, 'quota-soft\0set\0memory\x003000\0'), 'OK\0');
  assert.equal(d0.ask(CONTROL, 'quota\0set\0memory\x004000\0'), 'OK\0');
  assert.equal(d2.ask(WRITE, 'b\0' + 'y'.repeat(1000)), 'OK\0');
  assert.equal(d2.ask(WRITE, 'c\0' + 'z'.repeat(1000)), 'OK\0', 'past the soft quota: allowed, logged');
  assert.equal(logs.filter((l) => l === 'Domain 2 exceeds soft memory quota').length, 1);
  assert.equal(d2.ask(WRITE, 'd\0' + 'w'.repeat(1000)), 'ERROR:ENOMEM\0', 'past the hard quota');
  assert.equal(d2.ask(WRITE, 'a\0' + 'x'.repeat(1900)), 'ERROR:ENOMEM\0', 'growing a value counts too');
  assert.equal(d0.ask(WRITE, '/local/domain/2/d\0' + 'w'.repeat(1000)), 'OK\0', 'dom0 is exempt');
  assert.equal(d0.ask(RM, '/local/domain/2/d\0'), 'OK\0');
  assert.equal(d2.ask(RM, 'c\0'), 'OK\0');
  assert.equal(d2.ask(WRITE, 'a\0short'), 'OK\0');
  assert.equal(logs.filter((l) => l === 'Domain 2 below soft memory quota again').length, 1);
  assert.equal(d0.ask(SET_PERMS, '/local/domain/2/b\0n0\0'), 'OK\0', 'a change of owner moves the bytes');
  assert.equal(d0.ask(CONTROL, 'check\0'), 'OK\0', 'the accounting matches a recount');
  assert.equal(d0.ask(CONTROL, 'quota-soft\0set\0nodes\x001\0'), 'ERROR:EINVAL\0');
});

test('DIRECTORY over 4096 bytes is E2BIG; DIRECTORY_PART lists it in chunks', () => {
  const { core } = newCore();
  const c = new MemConn(core);
  const names: string[] = [];
  for (let i = 0; i < 400; i++) { names.push(`child-number-${i}`); c.ask(WRITE, `/big/child-number-${i}\0`); }
  assert.equal(c.ask(DIRECTORY, '/big\0'), 'ERROR:E2BIG\0');
  const got: string[] = [];
  let off = 0;
  let gen = '';
  for (;;) {
    const r = c.req(DIRECTORY_PART, `/big\0${off}\0`)[0]!;
    assert.equal(r.type, DIRECTORY_PART);
    assert.ok(r.payload.length <= 4096);
    const parts = r.payload.toString('latin1').split('\0');
    if (gen) assert.equal(parts[0], gen); else gen = parts[0]!;
    const body = parts.slice(1);
    const end = body.length >= 2 && body[body.length - 1] === '' && body[body.length - 2] === '';
    const kids = body.filter((s) => s !== '');
    got.push(...kids);
    off += kids.reduce((n, k) => n + k.length + 1, 0);
    if (end) break;
  }
  assert.deepEqual(got, names);
  assert.equal(c.ask(DIRECTORY_PART, '/big\x009999999\0').split('\0').length, 3, 'past the end: gen and an empty string');
});

test('CONTROL: help, quota, check, print, log; dom0 only', () => {
  const { core, logs } = newCore();
  const c = new MemConn(core);
  assert.match(c.ask(CONTROL, 'help\0'), /live-update/);
  assert.match(c.ask(CONTROL, 'quota\0'), /^Quota settings:\nnodes            :     1000 Nodes per domain\n/);
  assert.equal(c.ask(CONTROL, 'quota\0set\0nodes\x0050\0'), 'OK\0');
  assert.equal(core.quotas.nodes, 50);
  assert.equal(c.ask(CONTROL, 'check\0'), 'OK\0');
  assert.equal(c.ask(CONTROL, 'print\0hello log\0'), 'OK\0');
  assert.ok(logs.includes('hello log'));
  assert.equal(c.ask(CONTROL, 'log\0on\0'), 'OK\0');
  c.ask(READ, '/tool\0');
  assert.ok(logs.some((l) => l.includes('IN  conn') && l.includes('READ')));
  assert.equal(c.ask(CONTROL, 'frobnicate\0'), 'ERROR:EINVAL\0');
  assert.equal(c.ask(CONTROL, 'live-update\0-s\0'), 'Not in live-update session.\0');
  assert.equal(c.ask(CONTROL, 'live-update\0-f\0/some/xenstored\0'), 'OK\0');
  assert.equal(c.ask(CONTROL, 'live-update\0-s\0'), 'Live update not supported by this host\0');
  assert.equal(c.ask(CONTROL, 'live-update\0-a\0'), 'OK\0');
  assert.equal(c.ask(CONTROL, 'check\0x\0'), 'ERROR:EINVAL\0');
  assert.equal(new MemConn(core, 3).ask(CONTROL, 'help\0'), 'ERROR:EACCES\0');
});

test('@releaseDomain fires once when a domain shuts down, again only after RESUME', async () => {
  const { domainShutdown } = await import('../../src/toolstack/xenstored/domain-ops.ts');
  const { core } = newCore();
  const d0 = new MemConn(core);
  d0.ask(INTRODUCE, '3\x001\x001\0');
  d0.req(WATCH, '@releaseDomain\0r\0');
  domainShutdown(core, 3);
  domainShutdown(core, 3);
  assert.equal(d0.take().length, 1, 'state-sensitive: once per shutdown');
  assert.equal(d0.ask(RESUME, '3\0'), 'OK\0');
  domainShutdown(core, 3);
  assert.equal(d0.take().length, 1);
});

test('the path cache (canonicalizeBytes): same string for the same bytes, invalid paths never cached, relative ones per domain', async () => {
  const { canonicalizeBytes } = await import('../../src/toolstack/xenstored/paths.ts');
  const enc = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  const a = canonicalizeBytes(enc('x/local/domain/0/k1y'), 1, 19, 0);
  assert.equal(a, '/local/domain/0/k1');
  assert.equal(canonicalizeBytes(enc('/local/domain/0/k1'), 0, 18, 5), a, 'a hit, whatever the domain');
  // An invalid path is rejected every time, before and after a valid one of the same length.
  for (let i = 0; i < 2; i++) {
    assert.throws(() => canonicalizeBytes(enc('/local//domain/k1'), 0, 17, 0), { name: 'EINVAL' });
    assert.throws(() => canonicalizeBytes(enc('/local/domain/0/'), 0, 16, 0), { name: 'EINVAL' });
    assert.throws(() => canonicalizeBytes(enc('/a b'), 0, 4, 0), { name: 'EINVAL' });
    assert.equal(canonicalizeBytes(enc('/a_b'), 0, 4, 0), '/a_b');
  }
  // Many paths (more than the cache holds, so slots are reused): each maps to its own string.
  for (let i = 0; i < 10000; i++) assert.equal(canonicalizeBytes(enc(`/p/${i}`), 0, `/p/${i}`.length, 0), `/p/${i}`);
  for (let i = 0; i < 10000; i += 7) assert.equal(canonicalizeBytes(enc(`/p/${i}`), 0, `/p/${i}`.length, 0), `/p/${i}`);
  // Relative paths depend on the connection's domain and are never served from the cache.
  assert.equal(canonicalizeBytes(enc('k'), 0, 1, 3), '/local/domain/3/k');
  assert.equal(canonicalizeBytes(enc('k'), 0, 1, 4), '/local/domain/4/k');
});
