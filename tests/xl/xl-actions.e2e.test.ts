// SPDX-License-Identifier: GPL-2.0-only
// The on_poweroff / on_reboot / on_crash / on_watchdog / on_soft_reset actions, carried out by
// the host daemon's monitor for domains `xl create` made (xl.cfg(5) at 4.7): restart keeps the
// name and UUID under a new domid, rename-restart keeps the old domain under a time-stamped
// name, coredump-destroy writes an ELF core, preserve keeps the shut-down domain, soft-reset
// rebuilds it, `create -e` leaves it alone. Shutdown reasons come from the guest (test=crash,
// the PV kernel's own poweroff) or, for reboot/watchdog/soft_reset, the hypervisor's shutdown
// operation over the control socket (what SCHEDOP_shutdown with that reason does).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { CtrlClient } from '../../src/host/ctrl-client.ts';
import type { DomainInfo } from '../../src/toolstack/ctrl/protocol.ts';
import { startXlHost, type XlHost } from './xl-harness.ts';

let h: XlHost;
let c: CtrlClient;
/** A PV guest that stays up: a ping waiting for a peer that never comes. */
const WAITER = 'extra="test=pingpong role=ping peer=999 xs_timeout_ms=0"';

before(async () => {
  buildPvKernel();
  h = startXlHost();
  c = await CtrlClient.connect(join(h.runDir, 'ctrl.sock'));
});
after(() => {
  c?.close();
  h?.stop();
});

const doms = async (): Promise<DomainInfo[]> => (await c.call('domain.list', {})).filter((d) => d.domid !== 0);
const byName = async (name: string): Promise<DomainInfo | undefined> => (await doms()).find((d) => d.name === name);
async function until<T>(f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
const hostLog = (): string => readFileSync(join(h.runDir, 'host.log'), 'utf8');
function create(name: string, ...kv: string[]): void {
  const r = h.xl('create', 'examples/pv-guest.cfg', `name="${name}"`, ...kv);
  assert.equal(r.code, 0, r.err);
}

test('on_reboot=restart: same name, UUID and cpus= pinning, a new domid; the old one is gone', async () => {
  create('rb', WAITER, 'on_reboot="restart"', 'cpus="1"', 'cpus_soft="0"');
  const old = (await byName('rb'))!;
  const pins = async (domid: number) => (await c.call('vcpu.list', { domid })).map((v) => `${v.affinityHard}/${v.affinitySoft}`);
  assert.deepEqual(await pins(old.domid), ['1/0']);
  await c.call('domain.shutdown', { domid: old.domid, reason: 'reboot' });
  const fresh = await until(async () => { const d = await byName('rb'); return d && d.domid !== old.domid && d; });
  assert.equal(fresh.uuid, old.uuid);
  assert.deepEqual(await pins(fresh.domid), ['1/0']);
  assert.equal((await doms()).some((d) => d.domid === old.domid), false);
  assert.match(hostLog(), new RegExp(`Domain ${old.domid} has shut down, reason code 1 0x1\n.*Action for shutdown reason code 1 is restart\n.*Domain ${old.domid} needs to be cleaned up: destroying the domain\n`));
  assert.equal(h.xl('destroy', 'rb').code, 0);
});

test('on_watchdog=rename-restart: the old domain stays, renamed with the UTC time, under a new UUID', async () => {
  create('wd', WAITER, 'on_watchdog="rename-restart"');
  const old = (await byName('wd'))!;
  await c.call('domain.shutdown', { domid: old.domid, reason: 'watchdog' });
  const fresh = await until(async () => { const d = await byName('wd'); return d && d.domid !== old.domid && d; });
  const kept = (await doms()).find((d) => d.domid === old.domid)!;
  assert.match(kept.name, /^wd-\d{8}T\d{4}Z$/);
  assert.equal(kept.shutdownReasonName, 'watchdog');
  assert.equal(fresh.uuid, old.uuid);
  assert.notEqual(kept.uuid, old.uuid);
  assert.equal(h.xl('list', kept.name).code, 0, 'xl finds it by the new name');
  assert.equal(h.xl('destroy', kept.name).code, 0);
  assert.equal(h.xl('destroy', 'wd').code, 0);
});

test('on_crash=coredump-destroy: an ELF core of its memory in <rundir>/dump, then destroyed', async () => {
  create('cr', 'extra="test=crash mode=trap after_ms=50"', 'on_crash="coredump-destroy"');
  const id = (await byName('cr'))?.domid;
  await until(async () => !(await byName('cr')));
  const core = readFileSync(join(h.runDir, 'dump', 'cr'));
  assert.deepEqual([...core.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  assert.equal(core.readUInt16LE(16), 4, 'ET_CORE');
  assert.equal(core.readUInt16LE(18), 243, 'EM_RISCV');
  assert.ok(core.length >= 16 << 20, `all 16 MiB of guest RAM: ${core.length}`);
  assert.match(hostLog(), new RegExp(`Domain ${id} has shut down, reason code 3 0x3\n.*Action for shutdown reason code 3 is coredump-destroy\n.*dumping core to ${join(h.runDir, 'dump', 'cr')}\n`));
});

test('on_poweroff=preserve keeps it; create -e runs no monitor; soft-reset rebuilds', async () => {
  // No test=: the PV kernel powers off at once, maybe before create has returned; destroy still runs.
  create('gone');
  await until(async () => !(await byName('gone')));
  create('keep', 'on_poweroff="preserve"');
  const kept = await until(async () => { const d = await byName('keep'); return d?.shutdown && d; });
  assert.equal(kept.shutdownReasonName, 'poweroff');
  assert.equal(h.xl('destroy', 'keep').code, 0);

  const e = h.xl('create', '-e', 'examples/pv-guest.cfg', 'name="nomon"', 'on_crash="destroy"', 'extra="test=crash mode=trap after_ms=10"');
  assert.equal(e.code, 0, e.err);
  const crashed = await until(async () => { const d = await byName('nomon'); return d?.crashed && d; });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await byName('nomon'))?.domid, crashed.domid, 'no monitor: the crashed domain stays');
  assert.equal(h.xl('destroy', 'nomon').code, 0);

  create('sr', WAITER);
  const old = (await byName('sr'))!;
  await c.call('domain.shutdown', { domid: old.domid, reason: 'soft_reset' });
  const fresh = await until(async () => { const d = await byName('sr'); return d && d.domid !== old.domid && d; });
  assert.equal(fresh.shutdown, false);
  assert.match(hostLog(), /Action for shutdown reason code 5 is soft-reset\n/);
  assert.equal(h.xl('destroy', 'sr').code, 0);
  assert.deepEqual(await doms(), []);
  assert.ok(!existsSync(join(h.runDir, 'dump')) || readdirSync(join(h.runDir, 'dump')).every((f) => f === 'cr'));
});
