// SPDX-License-Identifier: GPL-2.0-only
// Crash recovery under `xenstored --supervise`: the daemon is SIGKILLed between requests and
// the supervisor restarts it from the journal with the same client sockets: every
// acknowledged write, permission, watch and open transaction is still there, and no client
// was disconnected. A live update under the supervisor goes through the same restart path.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, SockClient, frame } from './harness.ts';

const READ = 2, GET_PERMS = 3, WATCH = 4, TX_START = 6, TX_END = 7, WRITE = 11, SET_PERMS = 14, CONTROL = 0;

function daemonOf(supervisor: number): number | undefined {
  for (const t of readdirSync(`/proc/${supervisor}/task`)) {
    for (const c of readFileSync(`/proc/${supervisor}/task/${t}/children`, 'utf8').split(' ').filter(Boolean)) {
      if (readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('--supervised')) return Number(c);
    }
  }
  return undefined;
}

async function until<T>(f: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) { const v = f(); if (v !== undefined) return v; await new Promise((r) => setTimeout(r, 25)); }
  throw new Error(`timed out: ${what}`);
}

test('the supervisor restarts a killed daemon from its journal without losing state or clients', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsd-sup-'));
  const path = join(dir, 'socket');
  const sup = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/host/xenstored-main.ts'), '--supervise', '--socket', path],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sup.stderr!.on('data', (b) => { log += b; });
  try {
    const d1 = await until(() => daemonOf(sup.pid!), 'daemon');
    const a = await connectRetry(path);
    const w = await connectRetry(path);
    for (let i = 0; i < 100; i++) assert.equal(await a.ask(WRITE, `/keep/n${i}\0v${i}`), 'OK\0');
    assert.equal(await a.ask(SET_PERMS, '/keep/n1\0n2\0r3\0'), 'OK\0');
    assert.equal(await w.ask(WATCH, '/keep\0tok\0'), 'OK\0');
    const tx = Number((await a.ask(TX_START, '\0')).slice(0, -1));
    assert.equal(await a.ask(WRITE, '/keep/txnode\0intx', tx), 'OK\0');

    process.kill(d1, 'SIGKILL');
    const d2 = await until(() => { const p = daemonOf(sup.pid!); return p && p !== d1 ? p : undefined; }, 'restarted daemon');
    assert.notEqual(d2, d1);

    for (let i = 0; i < 100; i++) assert.equal(await a.ask(READ, `/keep/n${i}\0`), `v${i}`);
    assert.equal(await a.ask(GET_PERMS, '/keep/n1\0'), 'n2\0r3\0');
    assert.equal(await a.ask(READ, '/keep/txnode\0'), 'ERROR:ENOENT\0');
    assert.equal(await a.ask(READ, '/keep/txnode\0', tx), 'intx');
    const evs = w.events.length;
    assert.equal(await a.ask(TX_END, 'T\0', tx), 'OK\0');
    await until(() => (w.events.length > evs ? true : undefined), 'watch event after restart');
    assert.equal(w.events.at(-1)!.payload.toString(), '/keep/txnode\0tok\0');

    // A live update under the supervisor: the daemon hands its image over and exits.
    assert.equal(await a.ask(CONTROL, `live-update\0-f\0${join(ROOT, 'src/host/xenstored-main.ts')}\0`), 'OK\0');
    assert.equal(await a.ask(CONTROL, 'live-update\0-s\0'), 'OK\0');
    const d3 = await until(() => { const p = daemonOf(sup.pid!); return p && p !== d2 ? p : undefined; }, 'updated daemon');
    assert.notEqual(d3, d2);
    assert.equal(await a.ask(READ, '/keep/txnode\0'), 'intx');
    assert.ok(!a.closed && !w.closed, 'clients stayed connected');
    assert.match(log, /restarting from the last journal/);
    a.close(); w.close();
  } finally {
    const ex = new Promise((r) => sup.on('exit', r));
    sup.kill('SIGTERM');
    await ex;
  }
});

test('a request the daemon dies on is answered by the restarted daemon, and no reply is repeated', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsd-sup-'));
  const path = join(dir, 'socket');
  const once = join(dir, 'fault-fired');
  const sup = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/host/xenstored-main.ts'), '--supervise', '--socket', path],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, XENSTORED_TEST_KILL_ON: `/inflight/node|${once}` } });
  let log = '';
  sup.stderr!.on('data', (b) => { log += b; });
  try {
    const d1 = await until(() => daemonOf(sup.pid!), 'daemon');
    const a = await connectRetry(path);
    const b = await connectRetry(path);
    assert.equal(await a.ask(WRITE, '/keep/a\0one'), 'OK\0');
    // Read-only requests answered after the last image: not to be answered again.
    for (let i = 0; i < 5; i++) assert.equal(await a.ask(READ, '/keep/a\0'), 'one');
    // A frame half received by the daemon that dies: completed after the restart.
    const half = frame(WRITE, 5, 0, '/keep/half\0across-the-crash');
    const bReply = new Promise<string>((res) => { b.sock.once('data', (d) => res(d.subarray(16).toString('latin1'))); });
    b.sock.write(half.subarray(0, 12));
    await new Promise((r) => setTimeout(r, 200));
    // The daemon reads this WRITE and the READ behind it, and dies before answering.
    const w = a.ask(WRITE, '/inflight/node\0in-flight');
    const r = a.ask(READ, '/keep/a\0');
    assert.equal(await w, 'OK\0', 'the request in flight at the crash was answered');
    assert.equal(await r, 'one', 'the request queued behind it too, in order');
    assert.ok(existsSync(once), 'the daemon died on the request');
    const d2 = daemonOf(sup.pid!);
    assert.ok(d2 && d2 !== d1, 'a new daemon serves');
    b.sock.write(half.subarray(12));
    assert.equal(await bReply, 'OK\0');
    // The replies stay in step with the requests (a repeated reply would shift them).
    assert.equal(await a.ask(READ, '/inflight/node\0'), 'in-flight');
    assert.equal(await a.ask(READ, '/keep/half\0'), 'across-the-crash');
    assert.equal(await b.ask(READ, '/keep/a\0'), 'one');
    assert.equal(await a.ask(CONTROL, 'check\0'), 'OK\0');
    assert.ok(!a.closed && !b.closed, 'clients stayed connected');
    assert.match(log, /restarting from the last journal/);
    a.close(); b.close();
  } finally {
    const ex = new Promise((r) => sup.on('exit', r));
    sup.kill('SIGTERM');
    await ex;
  }
});

test('a stalled supervisor: no write is acknowledged before its journal is in the pipe, none lost by a crash', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsd-sup-'));
  const path = join(dir, 'socket');
  const sup = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/host/xenstored-main.ts'), '--supervise', '--socket', path],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
  let stopped = false;
  try {
    const d1 = await until(() => daemonOf(sup.pid!), 'daemon');
    const a = await connectRetry(path);
    assert.equal(await a.ask(WRITE, '/race/warm\0x'), 'OK\0'); // the socket has reached the daemon
    // The supervisor stops reading its pipe; the daemon's journal (an image per write, ~7 KiB
    // and growing) fills it within a few dozen writes. Before the fix the daemon went on
    // acknowledging writes whose journal sat in its own memory, and lost them with it.
    process.kill(sup.pid!, 'SIGSTOP');
    stopped = true;
    let acked = 0;
    const loop = (async () => { for (let i = 0; i < 300; i++) { await a.ask(WRITE, `/race/n${i}\0${'x'.repeat(200)}`); acked = i + 1; } })();
    loop.catch(() => { /* the write in flight at the kill may stay unanswered */ });
    await new Promise((r) => setTimeout(r, 1500));
    const ackedAtKill = acked;
    assert.ok(ackedAtKill < 300, 'the daemon held its replies while the journal could not be written');
    process.kill(d1, 'SIGKILL');
    process.kill(sup.pid!, 'SIGCONT');
    stopped = false;
    await until(() => { const p = daemonOf(sup.pid!); return p && p !== d1 ? p : undefined; }, 'restarted daemon');
    const b = await connectRetry(path);
    for (let i = 0; i < ackedAtKill; i++) assert.equal((await b.ask(READ, `/race/n${i}\0`)).length, 200, `acknowledged write ${i} survived`);
    a.close(); b.close();
  } finally {
    if (stopped) process.kill(sup.pid!, 'SIGCONT');
    const ex = new Promise((r) => sup.on('exit', r));
    sup.kill('SIGTERM');
    await ex;
  }
});

async function connectRetry(path: string): Promise<SockClient> {
  for (let i = 0; ; i++) {
    try { return await SockClient.connect(path); } catch (e) { if (i > 100) throw e; await new Promise((r) => setTimeout(r, 25)); }
  }
}
