// SPDX-License-Identifier: GPL-2.0-only
// Debian's real clients against the real daemon process on a temp socket: xenstore-utils
// (write/read/ls/list/exists/rm/chmod/watch/control) and pyxs (transactions, watches) with
// Debian's /usr/bin/python3. A recording proxy checks the exact frames exchanged.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, startDaemon, type Daemon } from './harness.ts';
import { frames, recordingProxy } from './proxy.ts';

const run = promisify(execFile);
let d: Daemon;
let env: NodeJS.ProcessEnv;
const xs = async (cmd: string, ...args: string[]): Promise<string> => (await run(cmd, args, { env })).stdout;
const xsFail = async (cmd: string, ...args: string[]): Promise<{ code: number; stderr: string }> => {
  try { await run(cmd, args, { env }); return { code: 0, stderr: '' }; } catch (e) {
    const x = e as { code: number; stderr: string };
    return { code: x.code, stderr: x.stderr };
  }
};
const py = async (src: string): Promise<string> =>
  (await run('/usr/bin/python3', ['-c', `import pyxs, sys\nc = pyxs.Client(unix_socket_path=${JSON.stringify(d.path)})\nc.connect()\n${src}`], { env })).stdout;

before(async () => {
  d = await startDaemon();
  env = { ...process.env, XENSTORED_PATH: d.path };
});
after(async () => { await d.stop(); });

test('xenstore-write / read / ls / list / exists / rm', async () => {
  await xs('xenstore-write', '/vm/1/name', 'guest one', '/vm/1/uuid', 'abc');
  assert.equal(await xs('xenstore-read', '/vm/1/name'), 'guest one\n');
  assert.equal(await xs('xenstore-ls', '/vm'), '1 = ""\n name = "guest one"\n uuid = "abc"\n');
  assert.equal(await xs('xenstore-list', '/vm/1'), 'name\nuuid\n');
  assert.equal((await xsFail('xenstore-exists', '/vm/1/name')).code, 0);
  assert.equal((await xsFail('xenstore-exists', '/vm/2')).code, 1);
  await xs('xenstore-rm', '/vm/1/uuid');
  assert.equal(await xs('xenstore-list', '/vm/1'), 'name\n');
  const miss = await xsFail('xenstore-read', '/vm/none');
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /couldn't read path/);
});

test('xenstore-chmod and xenstore-ls -p show the permissions', async () => {
  await xs('xenstore-write', '/perm/node', 'v');
  await xs('xenstore-chmod', '/perm/node', 'n1', 'r2', 'w3');
  assert.match(await xs('xenstore-ls', '-p', '/perm'), /node = "v" .*\(n1,r2,w3\)/);
  await xs('xenstore-chmod', '-r', '/perm', 'b0');
  assert.match(await xs('xenstore-ls', '-p', '/perm'), /node = "v" .*\(b0\)/);
});

test('xenstore-watch prints the initial event and then each change', async () => {
  await xs('xenstore-write', '/w/x', '0');
  const w = spawn('xenstore-watch', ['-n', '3', '/w'], { env });
  const exited = new Promise((r) => w.on('exit', r));
  let out = '';
  w.stdout.on('data', (b) => { out += b; });
  for (let i = 0; i < 100 && !out.includes('/w'); i++) await new Promise((r) => setTimeout(r, 20));
  await xs('xenstore-write', '/w/x', '1');
  await xs('xenstore-rm', '/w/x');
  const code = await exited;
  assert.equal(code, 0);
  assert.equal(out, '/w\n/w/x\n/w/x\n');
});

test('xenstore-control (the 4.17 binary) drives CONTROL', async () => {
  const ctl = '/usr/lib/xen-4.17/bin/xenstore-control';
  if (!existsSync(ctl)) assert.fail(`${ctl} missing: apt-get install xen-utils-4.17`);
  assert.match(await xs(ctl, 'help'), /live-update/);
  assert.match(await xs(ctl, 'quota'), /transactions     :       10 Transactions per domain/);
  assert.equal(await xs(ctl, 'check'), 'OK\n');
});

test('pyxs: reads, writes, transactions (commit, abort, EAGAIN on a real conflict) and watches', async () => {
  const out = await py(`
c[b"/py/a"] = b"1"
c.transaction(); c[b"/py/b"] = b"2"; print(c.exists(b"/py/b")); print(c.commit())
c.transaction(); c[b"/py/c"] = b"3"; c.rollback(); print(c.exists(b"/py/c"))
o = pyxs.Client(unix_socket_path=${JSON.stringify('__P__')}); o.connect()
c.transaction(); v = c[b"/py/a"]; o[b"/py/other"] = b"x"; c[b"/py/d"] = v; print(c.commit())
c.transaction(); v = c[b"/py/a"]; o[b"/py/a"] = b"changed"; c[b"/py/e"] = v; print(c.commit(), c.exists(b"/py/e"))
print(sorted(c.list(b"/py")), c.get_perms(b"/py/a"), c.get_domain_path(3), c.is_domain_introduced(0))
m = c.monitor(); m.watch(b"/py", b"tk"); w = m.wait()
print(next(w)); o[b"/py/z"] = b"z"; print(next(w))
`.replace('__P__', d.path));
  assert.equal(out, [
    'True', 'True', 'False', 'True', 'False False',
    "[b'a', b'b', b'd', b'other'] [b'n0'] b'/local/domain/3' True",
    "Event(path=b'/py', token=b'tk')", "Event(path=b'/py/z', token=b'tk')", '',
  ].join('\n'));
});

test('exact bytes: the frames xenstore-utils send and the frames we answer', async () => {
  const proxyPath = join(d.dir, 'proxy');
  const p = await recordingProxy(proxyPath, d.path);
  const penv = { ...env, XENSTORED_PATH: proxyPath };
  await run('xenstore-write', ['/bytes/a', 'hello'], { env: penv });
  await run('xenstore-read', ['/bytes/a'], { env: penv });
  await run('xenstore-rm', ['/bytes/a'], { env: penv });
  await run('xenstore-read', ['/bytes/a'], { env: penv }).catch(() => {});
  await new Promise((r) => setTimeout(r, 50));
  p.close();
  const hex = (b: Buffer): string => b.toString('hex');
  const [w, r, rm, miss] = p.rec;
  assert.equal(hex(w!.toServer), '0b000000' + '00000000' + '00000000' + '0e000000' + hex(Buffer.from('/bytes/a\0hello')));
  assert.equal(hex(w!.toClient), '0b000000' + '00000000' + '00000000' + '03000000' + hex(Buffer.from('OK\0')));
  assert.equal(hex(r!.toServer), '02000000' + '00000000' + '00000000' + '09000000' + hex(Buffer.from('/bytes/a\0')));
  assert.equal(hex(r!.toClient), '02000000' + '00000000' + '00000000' + '05000000' + hex(Buffer.from('hello')));
  // xenstore-rm runs in a transaction: START "\0" -> "<id>\0", RM with tx_id, END "T\0".
  const f = frames(rm!.toServer);
  const g = frames(rm!.toClient);
  const tx = Number(g[0]!.payload.toString().slice(0, -1));
  assert.deepEqual(f.map((x) => [x.type, x.txId, x.payload.toString()]), [[6, 0, '\0'], [13, tx, '/bytes/a\0'], [7, tx, 'T\0']]);
  assert.deepEqual(g.map((x) => [x.type, x.txId, x.payload.toString()]), [[6, 0, `${tx}\0`], [13, tx, 'OK\0'], [7, tx, 'OK\0']]);
  assert.equal(hex(miss!.toClient), '10000000' + '00000000' + '00000000' + '07000000' + hex(Buffer.from('ENOENT\0')));
});

test('socket path rules: XENSTORED_RUNDIR/socket, and --help documents them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsd-rundir-'));
  const rundir = join(dir, 'run', 'xenstored');
  const e2: NodeJS.ProcessEnv = { ...process.env, XENSTORED_RUNDIR: rundir };
  delete e2.XENSTORED_PATH;
  const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/host/xenstored-main.ts')], { cwd: ROOT, env: e2, stdio: 'ignore' });
  try {
    for (let i = 0; i < 200 && !existsSync(join(rundir, 'socket')); i++) await new Promise((r) => setTimeout(r, 25));
    await run('xenstore-write', ['/rundir', 'ok'], { env: e2 });
    assert.equal((await run('xenstore-read', ['/rundir'], { env: e2 })).stdout, 'ok\n');
  } finally { const ex = new Promise((r) => p.on('exit', r)); p.kill('SIGTERM'); await ex; }
  assert.equal(existsSync(join(rundir, 'socket')), false, 'the socket is removed on SIGTERM');
  const help = (await run(process.execPath, ['--import', 'tsx', join(ROOT, 'src/host/xenstored-main.ts'), '--help'], { cwd: ROOT })).stdout;
  assert.match(help, /XENSTORED_PATH/);
  assert.match(help, /XENSTORED_RUNDIR=DIR/);
  assert.match(help, /\/var\/run\/xenstored\/socket/);
});

test('quota flags: -E and -Q set the limits xenstore-control reports', async () => {
  const q = await startDaemon(['-E', '77', '-Q', 'outstanding=9', '-W', '5']);
  try {
    const out = (await run('/usr/lib/xen-4.17/bin/xenstore-control', ['quota'], { env: { ...process.env, XENSTORED_PATH: q.path } })).stdout;
    assert.match(out, /nodes            :       77/);
    assert.match(out, /outstanding      :        9/);
    assert.match(out, /watches          :        5/);
  } finally { await q.stop(); }
});
