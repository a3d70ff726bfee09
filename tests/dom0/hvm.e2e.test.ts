// SPDX-License-Identifier: GPL-2.0-only
// Issue 4's host test: one `tsxen host` runs a Debian HVM domain (the asset builder's kernel and
// initramfs on part A's virt device model) and PV domains at once: a ping-pong pair over an
// event channel and a domain that crashes. The crash spares the others, the pair finishes, and
// Debian's boot log arrives through xenconsoled (log file and an attached console).
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
  h = await startHost(['--memory', '512']);
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
  // An attached console gets the boot log as history.
  const con = await CtrlClient.connect(host.sock);
  let seen = '';
  const att = await con.attachConsole(deb.domid, (b) => (seen += Buffer.from(b).toString('latin1')));
  assert.equal(att.info.type, 'ioemu');
  assert.ok(await until(() => seen.includes('Linux version'), 10_000));
  att.detach();
  assert.equal(await att.closed, 'detached');
  process.stdout.write(`# debian after the test: ${d.state}, ${d.cpuTimeSec.toFixed(1)} s CPU; console tail:\n# ${log('debian').slice(-300).split('\n').join('\n# ')}\n`);
  const s = host.stop();
  assert.equal(s.code, 0, s.err);
});
