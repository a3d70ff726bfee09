// SPDX-License-Identifier: GPL-2.0-only
// Crash recovery under `xenstored --supervise`: the daemon is SIGKILLed between requests and
// the supervisor restarts it from the journal with the same client sockets: every
// acknowledged write, permission, watch and open transaction is still there, and no client
// was disconnected. A live update under the supervisor goes through the same restart path.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, SockClient } from './harness.ts';

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

async function connectRetry(path: string): Promise<SockClient> {
  for (let i = 0; ; i++) {
    try { return await SockClient.connect(path); } catch (e) { if (i > 100) throw e; await new Promise((r) => setTimeout(r, 25)); }
  }
}
