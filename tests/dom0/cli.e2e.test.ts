// SPDX-License-Identifier: GPL-2.0-only
// `tsxen host` as a command: two hosts side by side in two run dirs, a second start on a live
// run dir refused, bad options, --status/--stop without a host, TSXEN_RUNDIR; runConsole.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { runConsole } from '../../src/host/ctrl-console.ts';
import { ctrlCall } from '../../src/host/ctrl-client.ts';
import { startHost, tsxen, type TestHost } from './host-harness.ts';

test('two hosts in two run dirs; a second start on a live run dir is refused', async () => {
  const hosts: TestHost[] = [];
  try {
    hosts.push(await startHost(['--cpus', '3', '--memory', '64']));
    hosts.push(await startHost(['--cpus', '1', '--memory', '32', '--no-xenstored']));
    const [a, b] = hosts as [TestHost, TestHost];
    assert.notEqual(a.pid, b.pid);
    assert.equal((await a.client.call('host.physinfo', {})).nrCpus, 3);
    assert.equal((await b.client.call('host.physinfo', {})).totalMemoryMiB, 32);
    assert.equal((await b.client.call('host.status', {})).xenstoredSocket, null);
    const again = tsxen(['host', '--rundir', a.runDir]);
    assert.equal(again.code, 1);
    assert.equal(again.err, `tsxen host: a host is already running at ${a.sock}\n`);
    assert.equal((await ctrlCall(a.sock, 'host.status', {})).pid, a.pid, 'the running host is untouched');
    assert.match(readFileSync(join(a.runDir, 'host.log'), 'utf8'), /host ready: pid \d+, 3 pCPU\(s\), 64 MiB/);
    for (const h of hosts) assert.equal(h.stop().code, 0);
  } finally {
    for (const h of hosts) h.cleanup();
  }
});

test('bad options, and --status/--stop with no host (TSXEN_RUNDIR)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-dom0-none-'));
  try {
    let r = tsxen(['host', '--cpus', '0', '--rundir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^tsxen host: --cpus: need a whole number from 1 to 256, got "0"\n/);
    r = tsxen(['host', '--bogus']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^tsxen host: unknown option '--bogus'/);
    for (const m of ['--status', '--stop']) {
      r = tsxen(['host', m], { TSXEN_RUNDIR: dir });
      assert.equal(r.code, 3);
      assert.equal(r.err, `tsxen host: no tsxen host running at ${join(dir, 'ctrl.sock')} (start one with \`tsxen host\`)\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("runConsole (xl console's terminal side): history to stdout, Ctrl-] on stdin detaches", async () => {
  const h = await startHost(['--memory', '64', '--no-xenstored']);
  try {
    const d = await h.client.call('domain.create', { name: 'c', type: 'pv', memory: 4, kernel: buildPvKernel(), cmdline: 'test=time sleeps=100 sleep_ms=50 xs_timeout_ms=0' });
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('pv: tsxen PV kernel')) stdin.write(Buffer.from([0x1d]));
    });
    assert.equal(await runConsole(h.sock, d.domid, { stdin, stdout }), 'detached');
    assert.match(out, /pv: tsxen PV kernel on vcpu 0/);
    assert.equal((await h.client.call('domain.list', { domid: d.domid }))[0]!.state.includes('c'), false);
    assert.equal(h.stop().code, 0);
  } finally {
    h.cleanup();
  }
});
