// SPDX-License-Identifier: GPL-2.0-only
// dom0 end to end: a real `tsxen host` daemon in a temp run dir, driven over its control socket
// by the client xl uses. Three PV domains at once (an event-channel ping-pong pair, a grant pair,
// a crashing one), consoles through xenconsoled (log files and live attach), xenstore nodes,
// pause/unpause, destroy, bad input leaving the host unchanged, and a clean stop.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { CtrlClient, CtrlClientError, NoHostError } from '../../src/host/ctrl-client.ts';
import { XenstoreClient } from '../../src/host/host-xenstore.ts';
import type { DomainInfo } from '../../src/toolstack/ctrl/protocol.ts';
import { startHost, tsxen, until, type TestHost } from './host-harness.ts';

let h: TestHost;
let kernel: string;

before(async () => {
  kernel = buildPvKernel();
  h = await startHost(['--memory', '256', '--cpus', '2']);
});
after(() => h?.cleanup());

const pv = (name: string, cmdline: string, extra: Record<string, unknown> = {}) =>
  h.client.call('domain.create', { name, type: 'pv', memory: 4, maxmem: 5, kernel, cmdline, ...extra });
const log = (name: string): string => {
  const f = join(h.runDir, 'console', `guest-${name}.log`);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
};
const waitLog = async (name: string, re: RegExp, ms = 60_000): Promise<RegExpExecArray> => {
  await until(() => re.test(log(name)), ms);
  const m = re.exec(log(name));
  assert.ok(m, `${name} never printed ${re}; console log:\n${log(name)}`);
  return m;
};
const info = async (domid: number): Promise<DomainInfo> => (await h.client.call('domain.list', { domid }))[0]!;
const errOf = async (p: Promise<unknown>): Promise<CtrlClientError> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CtrlClientError, String(e));
    return e;
  }
  assert.fail('expected an error');
};

test('status, physinfo, Domain-0 and the dmesg ring', async () => {
  const st = await h.client.call('host.status', {});
  assert.equal(st.pid, h.pid);
  assert.equal(st.runDir, h.runDir);
  assert.ok(st.xenstoredSocket !== null && existsSync(st.xenstoredSocket));
  const pi = await h.client.call('host.physinfo', {});
  assert.equal(pi.nrCpus, 2);
  assert.equal(pi.totalMemoryMiB, 256);
  assert.ok(pi.freeMemoryMiB <= 256 && pi.freeMemoryMiB > 200, String(pi.freeMemoryMiB));
  assert.equal(`${pi.xenMajor}.${pi.xenMinor}`, '4.7');
  const [d0] = await h.client.call('domain.list', {});
  assert.equal(d0!.name, 'Domain-0');
  assert.equal(d0!.domid, 0);
  assert.match((await h.client.call('host.dmesg', {})).text, /^\(XEN\) Xen version 4\.7-tsxen/);
  const s = tsxen(['host', '--status', '--rundir', h.runDir]);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, new RegExp(`pid ${h.pid}`));
});

test('bad input over the socket: clear errors naming the field, the host unchanged', async () => {
  const before = await h.client.call('domain.list', {});
  const free = (await h.client.call('host.physinfo', {})).freeMemoryMiB;
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ name: 'x', type: 'pv', memory: 0, kernel }, 'memory', /memory: 0: need a whole number/],
    [{ name: 'x', type: 'pvh', memory: 4, kernel }, 'type', /type: "pvh": need "pv" or "hvm"/],
    [{ name: 'x', type: 'pv', memory: 4 }, 'kernel', /kernel: missing/],
    [{ name: 'x', type: 'pv', memory: 4, kernel: '/nonexistent/vmlinux' }, 'kernel', /kernel: cannot read \/nonexistent\/vmlinux/],
    [{ name: 'x', type: 'pv', memory: 4, kernel: { base64: 'AAAA' } }, 'kernel', /not an ELF|ELF|kernel/],
    [{ name: 'x', type: 'pv', memory: 4, maxmem: 2, kernel }, 'maxmem', /maxmem: 2 is below memory=4/],
    [{ name: 'x', type: 'pv', memory: 4, vcpus: 999, kernel }, 'vcpus', /vcpus: 999/],
    [{ name: '', type: 'pv', memory: 4, kernel }, 'name', /name: ""/],
    [{ name: 'x', type: 'pv', memory: 4, kernel, colour: 'red' }, 'colour', /colour: unknown field/],
    [{ name: 'x', type: 'pv', memory: 100000, kernel }, 'memory', /memory: 100000/],
    [{ name: 'x', type: 'pv', memory: 1024, kernel }, '', /out of memory/],
  ];
  for (const [desc, field, re] of cases) {
    const e = await errOf(h.client.call('domain.create', desc as never));
    assert.match(e.message, re, JSON.stringify(desc));
    if (field !== '') assert.equal(e.field, field, e.message);
  }
  let r = await h.client.rawRequest('this is not json');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error.code === 'EPROTO');
  r = await h.client.rawRequest('{"id": 7, "method": "domain.frobnicate"}');
  assert.ok(!r.ok && r.id === 7 && r.error.code === 'ENOSYS', JSON.stringify(r));
  assert.equal((await errOf(h.client.call('domain.destroy', { domid: 999 }))).code, 'ESRCH');
  assert.equal((await errOf(h.client.call('domain.pause', { domid: 0 }))).code, 'EINVAL');
  assert.equal((await errOf(h.client.call('domain.shutdown', { domid: 0, reason: 'poweroff' }))).code, 'EINVAL');
  assert.deepEqual((await h.client.call('domain.list', {})).map((d) => d.domid), before.map((d) => d.domid));
  assert.equal((await h.client.call('host.physinfo', {})).freeMemoryMiB, free, 'no memory leaked by failed builds');
});

test('three PV domains at once: ping-pong over an event channel, grants, and a crash that spares the others', async () => {
  // Failed builds above used up domids (Xen's rover moves on too): peers are "the next domid".
  const probe = await pv('probe', 'xs_timeout_ms=0');
  await h.client.call('domain.destroy', { domid: probe.domid });
  const first = probe.domid + 1;
  const ping = await pv('ping', `test=pingpong role=ping peer=${first + 1} rounds=300 xs_timeout_ms=0`);
  assert.equal(ping.domid, first);
  const port = (await waitLog('ping', /pingpong: port=(\d+)/))[1];
  const pong = await pv('pong', `test=pingpong role=pong peer=${ping.domid} port=${port} rounds=300 xs_timeout_ms=0`);
  assert.equal(pong.domid, first + 1);
  const granter = await pv('granter', `test=grant role=granter peer=${first + 3} xs_timeout_ms=0`);
  const g = await waitLog('granter', /grant: ref=(\d+) roref=(\d+) port=(\d+)/);
  const mapper = await pv('mapper', `test=grant role=mapper peer=${granter.domid} ref=${g[1]} roref=${g[2]} port=${g[3]} xs_timeout_ms=0`);
  assert.equal(mapper.domid, first + 3);
  const crash = await pv('crasher', 'test=crash mode=fault after_ms=20 xs_timeout_ms=0');
  const list = await h.client.call('domain.list', {});
  assert.deepEqual(list.map((d) => d.name), ['Domain-0', 'ping', 'pong', 'granter', 'mapper', 'crasher']);
  assert.ok(list.slice(1).every((d) => d.type === 'pv' && d.vcpus === 1 && d.memKiB >= 4096 && /^[0-9a-f-]{36}$/.test(d.uuid)));
  // The crash is reported by getinfo with its reason; the others carry on.
  await until(async () => (await info(crash.domid)).crashed, 60_000);
  const c = await info(crash.domid);
  assert.equal(c.state, '----c-');
  assert.equal(c.shutdownReasonName, 'crash');
  assert.match(c.crashWhy ?? '', /second-stage fault at gpa 0x10000000/);
  assert.match((await h.client.call('host.dmesg', {})).text, new RegExp(`\\(d${crash.domid}\\) \\(XEN\\) domain_crash called for d${crash.domid}`));
  await waitLog('ping', /pingpong: done rounds=300 /, 180_000);
  await waitLog('pong', /pingpong: pong done rounds=300 events=301/, 60_000);
  await waitLog('granter', /^grant: ok$/m, 120_000);
  await waitLog('mapper', /^grant: mapper ok$/m, 60_000);
  for (const d of [ping, pong, granter, mapper]) {
    const i = await until(async () => ((await info(d.domid)).shutdown ? info(d.domid) : null), 30_000);
    assert.ok(i, `${d.name} did not shut down`);
    assert.equal(i.shutdownReasonName, 'poweroff', d.name);
    assert.equal(i.state, '---s--');
  }
  for (const d of [ping, pong, granter, mapper, crash]) await h.client.call('domain.destroy', { domid: d.domid });
  assert.deepEqual((await h.client.call('domain.list', {})).map((d) => d.domid), [0]);
});

test('console: log file, live attach with history, xenstore nodes, pause/unpause, destroy ends the attach', async () => {
  const d = await pv('sleeper', 'test=time sleeps=60 sleep_ms=50 xs_timeout_ms=0');
  await waitLog('sleeper', /pv: tsxen PV kernel on vcpu 0/);
  // xenstore: the nodes the toolstack writes for a domain and its console.
  const xs = await XenstoreClient.connect(join(h.runDir, 'xenstored', 'socket'));
  try {
    const home = `/local/domain/${d.domid}`;
    assert.equal(await xs.read(`${home}/name`), 'sleeper');
    assert.equal(await xs.read(`${home}/domid`), String(d.domid));
    assert.equal(await xs.read(`${home}/vm`), `/vm/${d.uuid}`);
    assert.equal(await xs.read(`${home}/console/type`), 'xenconsoled');
    const ci = await h.client.call('console.info', { domid: d.domid });
    assert.equal(await xs.read(`${home}/console/ring-ref`), String(ci.ringRef));
    assert.equal(await xs.read(`${home}/console/port`), String(ci.port));
    assert.equal(ci.logFile, join(h.runDir, 'console', 'guest-sleeper.log'));
  } finally {
    xs.close();
  }
  // Attach: history first (the banner), then live output.
  const con = await CtrlClient.connect(h.sock);
  let seen = '';
  const att = await con.attachConsole(d.domid, (b) => (seen += Buffer.from(b).toString('utf8')));
  await until(() => seen.includes('pv: tsxen PV kernel'), 10_000);
  assert.match(seen, /pv: tsxen PV kernel on vcpu 0/);
  // Pause: no progress while paused; unpause: it finishes.
  await h.client.call('domain.pause', { domid: d.domid });
  const p = await info(d.domid);
  assert.equal(p.paused, true);
  assert.match(p.state, /^--p---$/);
  const cpu0 = p.cpuTimeSec;
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await info(d.domid)).cpuTimeSec, cpu0, 'no CPU time while paused');
  assert.equal((await errOf(h.client.call('domain.unpause', { domid: 1234 }))).code, 'ESRCH');
  await h.client.call('domain.unpause', { domid: d.domid });
  assert.equal((await info(d.domid)).paused, false);
  await until(() => /time: ok/.test(seen), 60_000);
  assert.match(seen, /^time: ok\r?$/m, 'live output reached the attached client');
  const vl = await h.client.call('vcpu.list', { domid: d.domid });
  assert.equal(vl.length, 1);
  assert.equal(vl[0]!.vcpu, 0);
  // Destroy: the attached console is closed by the host; the log stays.
  await h.client.call('domain.destroy', { domid: d.domid });
  assert.equal(await att.closed, 'closed by the host');
  assert.match(log('sleeper'), /time: ok/);
  assert.equal((await errOf(h.client.call('domain.list', { domid: d.domid }))).code, 'ESRCH');
  con.close();
});

test('Ctrl-] detaches a console client; the domain keeps running', async () => {
  const d = await pv('detach', 'test=time sleeps=40 sleep_ms=50 xs_timeout_ms=0');
  const con = await CtrlClient.connect(h.sock);
  const att = await con.attachConsole(d.domid, () => {});
  assert.equal(att.info.type, 'xenconsole');
  assert.equal(att.input(new Uint8Array([0x61, 0x1d, 0x62])), false);
  assert.equal(await att.closed, 'detached');
  assert.equal((await info(d.domid)).dying, false);
  await h.client.call('domain.shutdown', { domid: d.domid, reason: 'poweroff' });
  assert.equal((await info(d.domid)).shutdownReasonName, 'poweroff');
  await h.client.call('domain.destroy', { domid: d.domid });
});

test('stop: domains destroyed, xenstored stopped, sockets and pid file removed; then "no host running"', async () => {
  await pv('left-running', 'test=time sleeps=1000 sleep_ms=50 xs_timeout_ms=0');
  const xsPid = Number(readFileSync(join(h.runDir, 'xenstored', 'pid'), 'utf8'));
  const s = h.stop();
  assert.equal(s.code, 0, s.err);
  assert.ok(!existsSync(h.sock), 'control socket removed');
  assert.ok(!existsSync(join(h.runDir, 'xenstored', 'socket')), 'xenstored socket removed');
  assert.ok(!existsSync(join(h.runDir, 'host.pid')), 'pid file removed');
  assert.throws(() => process.kill(h.pid, 0), 'host process gone');
  assert.throws(() => process.kill(xsPid, 0), 'xenstored gone');
  await assert.rejects(CtrlClient.connect(h.sock), (e: unknown) => e instanceof NoHostError && e.message === `no tsxen host running at ${h.sock} (start one with \`tsxen host\`)`);
  const st = tsxen(['host', '--status', '--rundir', h.runDir]);
  assert.notEqual(st.code, 0);
  assert.equal(st.err, `tsxen host: no tsxen host running at ${h.sock} (start one with \`tsxen host\`)\n`);
});
