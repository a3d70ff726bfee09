// SPDX-License-Identifier: GPL-2.0-only
// The read-only socket (R47 xenstored_core.c: `<socket>_ro`, mode 0660, connections with
// can_write = false, so perm_for_conn never grants WRITE): reads, directory listings, watches
// and transactions work; every write fails with EACCES, also through Debian's xenstore-write;
// dom0-only requests are refused. A live update keeps a read-only connection read-only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, SockClient, startDaemon } from './harness.ts';

const run = promisify(execFile);
const CONTROL = 0, DIRECTORY = 1, READ = 2, WATCH = 4, TX_START = 6, TX_END = 7, INTRODUCE = 8, WRITE = 11, MKDIR = 12,
  RM = 13, SET_PERMS = 14;

test('socket_ro: reads and watches work, writes fail with EACCES, also after a live update', { timeout: 60_000 }, async () => {
  const d = await startDaemon();
  try {
    const ro = `${d.path}_ro`;
    assert.equal(statSync(ro).mode & 0o777, 0o660);
    assert.equal(statSync(d.path).mode & 0o777, 0o600);
    const rw = await SockClient.connect(d.path);
    assert.equal(await rw.ask(WRITE, '/ro/a\0one'), 'OK\0');
    const r = await SockClient.connect(ro);
    const check = async (): Promise<void> => {
      assert.equal(await r.ask(READ, '/ro/a\0'), 'one');
      assert.match(await r.ask(DIRECTORY, '/ro\0'), /^a\0/);
      assert.equal(await r.ask(WRITE, '/ro/a\0two'), 'ERROR:EACCES\0');
      assert.equal(await r.ask(WRITE, '/ro/new\0x'), 'ERROR:EACCES\0');
      assert.equal(await r.ask(MKDIR, '/ro/dir\0'), 'ERROR:EACCES\0');
      assert.equal(await r.ask(RM, '/ro/a\0'), 'ERROR:EACCES\0');
      assert.equal(await r.ask(SET_PERMS, '/ro/a\0n0\0'), 'ERROR:EACCES\0');
      assert.equal(await r.ask(SET_PERMS, '@releaseDomain\0n0\0'), 'ERROR:EACCES\0');
      assert.equal(await r.ask(INTRODUCE, '5\x00123\x001\x00'), 'ERROR:EACCES\0');
      assert.equal(await r.ask(CONTROL, 'check\0'), 'ERROR:EACCES\0');
      const tx = Number((await r.ask(TX_START, '\0')).slice(0, -1));
      assert.equal(await r.ask(READ, '/ro/a\0', tx), 'one');
      assert.equal(await r.ask(WRITE, '/ro/a\0three', tx), 'ERROR:EACCES\0');
      assert.equal(await r.ask(TX_END, 'T\0', tx), 'OK\0');
      assert.equal(await rw.ask(READ, '/ro/a\0'), 'one');
    };
    await check();
    // Watches work on the read-only socket.
    assert.equal(await r.ask(WATCH, '/ro\0t\0'), 'OK\0');
    const n = r.events.length;
    assert.equal(await rw.ask(WRITE, '/ro/b\0x'), 'OK\0');
    for (let i = 0; i < 100 && r.events.length === n; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(r.events.at(-1)!.payload.toString(), '/ro/b\0t\0');
    // The real clients: xenstore-read works, xenstore-write is refused.
    const env = { ...process.env, XENSTORED_PATH: ro };
    assert.equal((await run('xenstore-read', ['/ro/a'], { env })).stdout, 'one\n');
    await assert.rejects(run('xenstore-write', ['/ro/a', 'nope'], { env }), /Permission denied|could not write/i);
    // A live update keeps the connection, and it stays read-only.
    assert.equal(await rw.ask(CONTROL, `live-update\0-f\0${join(ROOT, 'src/host/xenstored-main.ts')}\0`), 'OK\0');
    assert.equal(await rw.ask(CONTROL, 'live-update\0-s\0'), 'OK\0');
    await check();
    // A connection made to the read-only socket after the update is read-only too.
    const r2 = await SockClient.connect(ro);
    assert.equal(await r2.ask(WRITE, '/ro/a\0two'), 'ERROR:EACCES\0');
    assert.equal(await r2.ask(READ, '/ro/a\0'), 'one');
    for (const c of [rw, r, r2]) c.close();
  } finally {
    await d.stop();
  }
});
