// SPDX-License-Identifier: GPL-2.0-only
// xl shutdown / reboot / sysrq of a PV guest end to end: the PV kernel (test=idle, or control=1
// after its test) advertises ~/control/feature-poweroff and feature-reboot, watches
// control/shutdown and control/sysrq, clears a request and acts on it as Linux's
// drivers/xen/manage.c does; xl writes the request as libxl__domain_pvcontrol does (for a PV
// guest always, without looking at the feature nodes) and `-w` waits for the shutdown.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startPvGuests, stopPvGuests, type PvGuests } from './pv-guest-harness.ts';
import type { XlHost } from './xl-harness.ts';

let h: XlHost;
let dir: string;
let g: PvGuests;

before(() => ({ h, dir, g } = startPvGuests('pvctl')));
after(() => stopPvGuests(h, dir));

const exists = (name: string): boolean => h.xl('domid', name).code === 0;
async function until(f: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('xl shutdown -w: the guest sees control/shutdown, clears it and powers off (on_poweroff=destroy)', async () => {
  const r = h.xl('create', g.cfg('ctl-off', 'test=idle', 'on_poweroff = "destroy"\n'));
  assert.equal(r.code, 0, r.err);
  const id = g.domid('ctl-off');
  await g.wait('ctl-off', /idle: waiting for control requests/);
  assert.equal(await h.xsRead(`/local/domain/${id}/control/feature-poweroff`), '1');
  assert.equal(await h.xsRead(`/local/domain/${id}/control/feature-reboot`), '1');
  const s = h.xl('shutdown', '-w', 'ctl-off');
  assert.deepEqual([s.code, s.err], [0, `Shutting down domain ${id}\nWaiting for 1 domains\nDomain ${id} has been shut down, reason code 0\n`]);
  assert.match(g.console('ctl-off'), /control: shutdown request, powering off\n/);
  await until(() => !exists('ctl-off'), 'on_poweroff=destroy');
});

test('xl reboot: SHUTDOWN_reboot, on_reboot=restart builds it again under a new domid, which answers too', async () => {
  const r = h.xl('create', g.cfg('ctl-rb', 'test=idle', 'on_reboot = "restart"\non_poweroff = "preserve"\n'));
  assert.equal(r.code, 0, r.err);
  const old = g.domid('ctl-rb');
  await g.wait('ctl-rb', /idle: waiting for control requests/);
  const rb = h.xl('reboot', 'ctl-rb');
  assert.deepEqual([rb.code, rb.err], [0, `Rebooting domain ${old}\n`]);
  await until(() => exists('ctl-rb') && g.domid('ctl-rb') !== old, 'the restarted domain');
  const fresh = g.domid('ctl-rb');
  assert.match(g.hostLog(), new RegExp(`Domain ${old} has shut down, reason code 1 0x1\n.*Action for shutdown reason code 1 is restart\n`));
  // The new domain's control node starts empty and it advertises again.
  await until(async () => (await h.xsRead(`/local/domain/${fresh}/control/feature-poweroff`)) === '1', 'feature-poweroff of the new domain');
  const s = h.xl('shutdown', '-w', 'ctl-rb');
  assert.deepEqual([s.code, s.err], [0, `Shutting down domain ${fresh}\nWaiting for 1 domains\nDomain ${fresh} has been shut down, reason code 0\n`]);
  assert.equal(h.xl('list', 'ctl-rb').out.split('\n')[1]?.trim().split(/\s+/)[4], '---s--');
  assert.equal(await h.xsRead(`/local/domain/${fresh}/control/shutdown`), '', 'the guest cleared the request');
  assert.equal(h.xl('destroy', 'ctl-rb').code, 0);
});

test('xl sysrq: the key is printed and cleared; o powers off; control=1 answers after its test', async () => {
  const r = h.xl('create', g.cfg('ctl-rq', 'test=time sleeps=1 control=1', 'on_poweroff = "preserve"\n'));
  assert.equal(r.code, 0, r.err);
  const id = g.domid('ctl-rq');
  await g.wait('ctl-rq', /pv: test done; serving control requests/);
  assert.equal(h.xl('sysrq', 'ctl-rq', 'h').code, 0);
  await g.wait('ctl-rq', /control: sysrq 'h'\n/);
  assert.equal(await h.xsRead(`/local/domain/${id}/control/sysrq`), '');
  assert.equal(h.xl('sysrq', 'ctl-rq', 'o').code, 0);
  await g.wait('ctl-rq', /control: sysrq o, powering off\n/);
  await until(() => /---s--/.test(h.xl('list', 'ctl-rq').out), 'shut down');
  assert.equal(h.xl('destroy', 'ctl-rq').code, 0);
});

test('a PV guest that does not answer: xl shutdown still writes the request (4.7 never checks feature-poweroff for PV)', async () => {
  const r = h.xl('create', g.cfg('ctl-deaf', 'test=pingpong role=ping peer=999 xs_timeout_ms=0'));
  assert.equal(r.code, 0, r.err);
  const id = g.domid('ctl-deaf');
  assert.equal(await h.xsRead(`/local/domain/${id}/control/feature-poweroff`), null);
  const s = h.xl('shutdown', 'ctl-deaf');
  assert.deepEqual([s.code, s.err], [0, `Shutting down domain ${id}\n`]);
  assert.equal(await h.xsRead(`/local/domain/${id}/control/shutdown`), 'poweroff');
  assert.equal(h.xl('destroy', 'ctl-deaf').code, 0);
});

test('xl list -l prints the on_* actions the domain was created with (also under create -e), in libxl JSON names', () => {
  const cfg = g.cfg('ctl-acts', 'test=idle', 'on_poweroff = "preserve"\non_reboot = "rename-restart"\non_crash = "coredump-destroy"\non_watchdog = "restart"\n');
  for (const [name, extra] of [['ctl-acts', []], ['ctl-acts-e', ['-e']]] as const) {
    const r = h.xl('create', ...extra, cfg, `name="${name}"`);
    assert.equal(r.code, 0, r.err);
    const l = h.xl('list', '-l', name);
    assert.equal(l.code, 0, l.err);
    const c = (JSON.parse(l.out) as Array<{ config: Record<string, unknown> }>)[0]!.config;
    assert.deepEqual([c.on_poweroff, c.on_reboot, c.on_watchdog, c.on_crash, c.on_soft_reset],
      ['preserve', 'restart_rename', 'restart', 'coredump_destroy', 'soft_reset'], name);
  }
  // Defaults when the config names none (xl.cfg(5)).
  assert.equal(h.xl('create', g.cfg('ctl-dflt', 'test=idle')).code, 0);
  const c = (JSON.parse(h.xl('list', '-l', 'ctl-dflt').out) as Array<{ config: Record<string, unknown> }>)[0]!.config;
  assert.deepEqual([c.on_poweroff, c.on_reboot, c.on_watchdog, c.on_crash], ['destroy', 'restart', 'destroy', 'destroy']);
  for (const n of ['ctl-acts', 'ctl-acts-e', 'ctl-dflt']) assert.equal(h.xl('destroy', n).code, 0);
});
