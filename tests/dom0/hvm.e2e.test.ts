// SPDX-License-Identifier: GPL-2.0-only
// Issue 4's host test: one `tsxen host` runs a Debian HVM domain (the asset builder's kernel and
// initramfs on part A's virt device model) and PV domains at once: a ping-pong pair over an
// event channel and a domain that crashes. The crash spares the others, the pair finishes, and
// Debian boots to its shell through xenconsoled (log file, attached console, typed input).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { ensureGuestAssets } from '../../src/host/assets/index.ts';
import { CtrlClient } from '../../src/host/ctrl-client.ts';
import { startHost, until, type TestHost } from './host-harness.ts';

let h: TestHost | undefined;
after(() => h?.cleanup());

test('a Debian HVM domain and PV domains on one host; a crash leaves the others running', { timeout: 15 * 60_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const kernel = buildPvKernel();
  h = await startHost(['--memory', '512', '--no-xenstored']); // xenstore is covered by host.e2e
  const host = h;
  const log = (name: string): string => {
    const f = join(host.runDir, 'console', `guest-${name}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  };
  const info = async (domid: number) => (await host.client.call('domain.list', { domid }))[0]!;
  const deb = await host.client.call('domain.create', {
    name: 'debian', type: 'hvm', memory: 256, vcpus: 1, kernel: assets.kernel, ramdisk: assets.initrd, cmdline: 'console=ttyS0 cryptomgr.notests',
  });
  const pv = (name: string, cmdline: string) => host.client.call('domain.create', { name, type: 'pv', memory: 4, kernel, cmdline: `${cmdline} xs_timeout_ms=0` });
  const ping = await pv('ping', `test=pingpong role=ping peer=${deb.domid + 2} rounds=2000`);
  assert.ok(await until(() => /pingpong: port=\d+/.test(log('ping')), 60_000), log('ping'));
  const port = /pingpong: port=(\d+)/.exec(log('ping'))![1];
  const pong = await pv('pong', `test=pingpong role=pong peer=${ping.domid} port=${port} rounds=2000`);
  assert.equal(pong.domid, deb.domid + 2);
  const crasher = await pv('crasher', 'test=crash mode=trap after_ms=100');
  const list = await host.client.call('domain.list', {});
  assert.deepEqual(list.map((d) => `${d.name}:${d.type}`), ['Domain-0:dom0', 'debian:hvm', 'ping:pv', 'pong:pv', 'crasher:pv']);

  assert.ok(await until(async () => (await info(crasher.domid)).crashed, 120_000), 'the crasher crashed');
  assert.match(log('crasher'), /pv: crash: fatal trap: illegal instruction/);
  assert.ok(await until(() => /pingpong: done rounds=2000 /.test(log('ping')), 600_000), log('ping'));
  assert.match(log('pong'), /pingpong: pong done rounds=2000 events=2001/);
  // Debian boots on through all of this, its UART logged by xenconsoled.
  assert.ok(await until(() => /Run \/init as init process/.test(log('debian')), 600_000), log('debian').slice(-2000));
  assert.match(log('debian'), /Linux version \S+/);
  const d = await info(deb.domid);
  assert.equal(d.shutdown || d.crashed, false, JSON.stringify(d));
  assert.ok(d.memKiB >= 256 * 1024);
  // Init reaches its shell; an attached console gets the boot log as history, and typed input
  // goes through the UART's receive FIFO to the shell.
  assert.ok(await until(() => /TSXEN-BOOT-OK/.test(log('debian')) && /tsxen:[^\n]*# /.test(log('debian')), 600_000), log('debian').slice(-2000));
  const con = await CtrlClient.connect(host.sock);
  let seen = '';
  const att = await con.attachConsole(deb.domid, (b) => (seen += Buffer.from(b).toString('latin1')));
  assert.equal(att.info.type, 'ioemu');
  assert.ok(await until(() => seen.includes('Linux version'), 10_000));
  att.input(Buffer.from('uname -r; echo MARK$((6*7))\n'));
  assert.ok(await until(() => seen.includes('MARK42'), 120_000), seen.slice(-1000));
  assert.ok(seen.includes(assets.version), `uname -r printed ${assets.version}`);
  att.input(Buffer.from([0x1d]));
  assert.equal(await att.closed, 'detached');
  const d2 = await info(deb.domid);
  assert.equal(d2.shutdown || d2.crashed, false, JSON.stringify(d2));
  process.stdout.write(`# debian: ${d2.state}, ${d2.cpuTimeSec.toFixed(1)} s CPU at its shell\n`);
  const s = host.stop();
  assert.equal(s.code, 0, s.err);
});
