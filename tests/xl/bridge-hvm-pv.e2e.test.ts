// SPDX-License-Identifier: GPL-2.0-only
// An HVM guest and a PV guest on one bridge (bridge=xenbr0): the host has one bridge registry
// for both kinds of NIC, so a Debian HVM guest's virtio-net eth0 and our PV kernel's netfront
// vif (through netback) are on one switch. Debian's ARP broadcasts reach the PV guest (its
// console prints them as other frames) and the PV guest's PING broadcasts reach Debian (eth0's
// rx_packets grow).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureGuestAssets } from '../../src/host/assets/index.ts';
import { startPvGuests, stopPvGuests, type PvGuests } from './pv-guest-harness.ts';
import { xlConsole, type XlHost } from './xl-harness.ts';

let h: XlHost;
let dir: string;
let g: PvGuests;

before(() => ({ h, dir, g } = startPvGuests('br-e2e')));
after(() => stopPvGuests(h, dir));

test('Debian HVM (virtio-net) and a PV guest (netfront/netback) on xenbr0 see each other\'s frames', { timeout: 20 * 60_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const img = join(dir, 'disk.img');
  writeFileSync(img, new Uint8Array(1 << 20));
  const c = h.xl('create', 'examples/debian-hvm.cfg', `kernel="${assets.kernel}"`, `ramdisk="${assets.initrd}"`,
    `disk=["format=raw, vdev=xvda, access=rw, target=${img}"]`);
  assert.equal(c.code, 0, c.err);
  const con = xlConsole(h, 'debian-hvm');
  assert.ok(await con.wait(/TSXEN-BOOT-OK[\s\S]*# /, 15 * 60_000), con.out.slice(-2000));
  con.type('ip link set eth0 up; echo RX0=$(cat /sys/class/net/eth0/statistics/rx_packets)\n');
  assert.ok(await con.wait(/RX0=\d+/, 120_000), con.out.slice(-2000));
  const rx0 = Number(/RX0=(\d+)/.exec(con.out)![1]);

  // The PV guest broadcasts PINGs (ethertype 0x88b5) on xenbr0 until someone answers.
  const r = h.xl('create', g.cfg('pv-br', 'test=net net_role=ping net_count=1', 'vif = [ "mac=00:16:3e:00:00:0c, bridge=xenbr0" ]\n'));
  assert.equal(r.code, 0, r.err);
  await g.wait('pv-br', /netfront: vif 0 connected: mac 00:16:3e:00:00:0c/);
  // HVM → PV: Debian's ARP requests for a neighbour (broadcast, ethertype 0x0806).
  con.type('ip addr add 10.9.0.1/24 dev eth0; ping -c 2 -W 1 10.9.0.2 >/dev/null 2>&1; echo RX1=$(cat /sys/class/net/eth0/statistics/rx_packets)\n');
  assert.ok(await con.wait(/RX1=\d+/, 120_000), con.out.slice(-2000));
  const rx1 = Number(/RX1=(\d+)/.exec(con.out)![1]);
  await g.wait('pv-br', /netfront: other frame from 00:16:3e:00:00:01 type 0x0806/, 60_000);
  // PV → HVM: the PINGs reached eth0.
  assert.ok(rx1 > rx0, `eth0 rx_packets ${rx0} → ${rx1}`);
  con.type(Uint8Array.of(0x1d));
  assert.equal(await con.exited, 0);
  assert.equal(h.xl('destroy', 'pv-br').code, 0);
  assert.equal(h.xl('destroy', 'debian-hvm').code, 0);
});
