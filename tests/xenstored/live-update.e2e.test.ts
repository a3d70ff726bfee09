// SPDX-License-Identifier: GPL-2.0-only
// Live update under load: the daemon is replaced by a new process (twice) while clients keep
// writing and reading. Nothing may be lost: nodes, permissions, watches, an open transaction,
// a request split across the update, and every load request gets its reply on the same socket;
// connections opened during the update are served too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, SockClient, frame, startDaemon } from './harness.ts';

const run = promisify(execFile);
const READ = 2, GET_PERMS = 3, WATCH = 4, TX_START = 6, TX_END = 7, WRITE = 11, SET_PERMS = 14, CONTROL = 0;

test('live update under client load loses nothing', async () => {
  const d = await startDaemon();
  try {
    const pid0 = Number(readFileSync(join(d.dir, 'pid'), 'utf8'));
    const admin = await SockClient.connect(d.path);
    for (let i = 0; i < 200; i++) assert.equal(await admin.ask(WRITE, `/static/n${i}\0value-${i}`), 'OK\0');
    assert.equal(await admin.ask(SET_PERMS, '/static/n7\0n3\0r4\0'), 'OK\0');
    const watcher = await SockClient.connect(d.path);
    assert.equal(await watcher.ask(WATCH, '/watched\0tok\0'), 'OK\0');
    const txc = await SockClient.connect(d.path);
    const tx = Number((await txc.ask(TX_START, '\0')).slice(0, -1));
    assert.equal(await txc.ask(WRITE, '/txdata/pending\0in-tx', tx), 'OK\0');

    // Load: 4 clients, one request in flight each, checking every reply.
    let stop = false;
    const errors: string[] = [];
    const counts = [0, 0, 0, 0];
    const loaders = await Promise.all(counts.map(() => SockClient.connect(d.path)));
    const loops = loaders.map(async (c, k) => {
      for (let i = 0; !stop; i++) {
        const key = `/load/c${k}/k${i % 10}`;
        const w = await c.ask(WRITE, `${key}\0v${i}`);
        const r = await c.ask(READ, `${key}\0`);
        if (w !== 'OK\0' || r !== `v${i}`) errors.push(`client ${k} op ${i}: ${w} ${r}`);
        counts[k]!++;
      }
    });
    await new Promise((r) => setTimeout(r, 300));

    // A request whose first half arrives before the update and the rest after it.
    const split = await SockClient.connect(d.path);
    const half = frame(WRITE, 99, 0, '/split/node\0across-the-update');
    const replied = new Promise<string>((res) => {
      split.sock.on('data', (b) => res(b.subarray(16).toString('latin1')));
    });
    split.sock.write(half.subarray(0, 20));

    const ctl = '/usr/lib/xen-4.17/bin/xenstore-control';
    const env = { ...process.env, XENSTORED_PATH: d.path };
    const before = counts.reduce((a, b) => a + b);
    const t0 = Date.now();
    // New connections keep arriving during the update (the old process may accept some).
    let storm = true;
    let stormOk = 0;
    const stormErrors: string[] = [];
    const stormLoop = (async () => {
      while (storm) {
        try {
          const c = await SockClient.connect(d.path);
          const r = await c.ask(READ, '/static/n0\0');
          if (r === 'value-0') stormOk++; else stormErrors.push(r);
          c.close();
        } catch (e) { stormErrors.push(String(e)); }
      }
    })();
    const out = await run(ctl, ['live-update', join(ROOT, 'src/host/xenstored-main.ts')], { env });
    const pause = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 300));
    storm = false;
    await stormLoop;
    assert.deepEqual(stormErrors, [], 'every connection made during the update was served');
    assert.ok(stormOk > 3);
    assert.equal(out.stdout + out.stderr, '', 'xenstore-control reports success silently');
    const pid1 = Number(readFileSync(join(d.dir, 'pid'), 'utf8'));
    assert.notEqual(pid1, pid0, 'a new process serves the socket');
    const gone = async (pid: number): Promise<boolean> => {
      for (let i = 0; i < 200; i++) { try { process.kill(pid, 0); } catch { return true; } await new Promise((r) => setTimeout(r, 10)); }
      return false;
    };
    assert.ok(await gone(pid0), 'the old daemon exited');
    split.sock.write(half.subarray(20));
    assert.equal(await replied, 'OK\0');

    // A second update through our own CONTROL message from a raw client.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await admin.ask(CONTROL, 'live-update\0-s\0'), 'Not in live-update session.\0');
    assert.equal(await admin.ask(CONTROL, `live-update\0-f\0${join(ROOT, 'src/host/xenstored-main.ts')}\0`), 'OK\0');
    assert.equal(await admin.ask(CONTROL, 'live-update\0-s\0'), 'OK\0');
    const pid2 = Number(readFileSync(join(d.dir, 'pid'), 'utf8'));
    assert.notEqual(pid2, pid1);
    assert.ok(await gone(pid1));
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(loops);
    const total = counts.reduce((a, b) => a + b);
    assert.deepEqual(errors, []);
    assert.ok(total > before, `load kept going (${before} -> ${total} pairs)`);
    assert.ok(loaders.every((c) => !c.closed) && !admin.closed && !watcher.closed && !txc.closed, 'no client was disconnected');
    assert.ok(pause < 5000, `pause ${pause} ms`);

    for (let i = 0; i < 200; i++) assert.equal(await admin.ask(READ, `/static/n${i}\0`), `value-${i}`);
    assert.equal(await admin.ask(GET_PERMS, '/static/n7\0'), 'n3\0r4\0');
    assert.equal(await admin.ask(READ, '/split/node\0'), 'across-the-update');
    for (let k = 0; k < 4; k++) assert.match(await admin.ask(READ, `/load/c${k}/k0\0`), /^v\d+$/);
    // The watch survived: a change fires on the same socket.
    const evs = watcher.events.length;
    await admin.ask(WRITE, '/watched/after\0x');
    for (let i = 0; i < 50 && watcher.events.length === evs; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(watcher.events.at(-1)!.payload.toString(), '/watched/after\0tok\0');
    // The transaction survived with its pending write, invisible outside until commit.
    assert.equal(await admin.ask(READ, '/txdata/pending\0'), 'ERROR:ENOENT\0');
    assert.equal(await txc.ask(READ, '/txdata/pending\0', tx), 'in-tx');
    assert.equal(await txc.ask(TX_END, 'T\0', tx), 'OK\0');
    assert.equal(await admin.ask(READ, '/txdata/pending\0'), 'in-tx');
    assert.equal(await admin.ask(CONTROL, 'check\0'), 'OK\0');
    for (const c of [admin, watcher, txc, split, ...loaders]) c.close();
  } finally {
    await d.stop();
  }
});
