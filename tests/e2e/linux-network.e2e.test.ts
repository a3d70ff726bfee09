// SPDX-License-Identifier: GPL-2.0-only
// End to end: two virt machines in one process, each booting Debian's kernel with one hart on
// the vSBI, plugged into one in-process Ethernet switch through virtio-net. Each reports one
// hart in /proc/cpuinfo; the guests configure their addresses with busybox `ip` and ping each
// other both ways; the switch learned both MACs on their own ports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EthernetSwitch } from '../../src/hardware/net/switch.ts';
import { assets, Guest, sh, waitFor } from './linux-harness.ts';

test('two Debian guests (1 hart each) on the software switch ping each other', { timeout: 1_200_000 }, async () => {
  const a = await assets();
  const sw = new EthernetSwitch();
  const g1 = new Guest(a, { smp: 1, sw, mac: new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x01]) });
  const g2 = new Guest(a, { smp: 1, sw, mac: new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x02]) });
  const all = [g1, g2];
  try {
    await waitFor(all, g1, /TSXEN-BOOT-OK[\s\S]*tsxen:[^\n]*# /, 0, 900_000);
    await waitFor(all, g2, /TSXEN-BOOT-OK[\s\S]*tsxen:[^\n]*# /, 0, 900_000);
    for (const [g, ip] of [[g1, '10.0.2.1'], [g2, '10.0.2.2']] as const) {
      const c = await sh(all, g, 'grep -c "^processor" /proc/cpuinfo');
      assert.equal(c.out.trim(), '1', g.tail());
      const u = await sh(all, g, 'uname -r');
      assert.equal(u.out.trim(), a.version);
      const r = await sh(all, g, `ip link set eth0 up && ip addr add ${ip}/24 dev eth0 && ip -o addr show eth0`);
      assert.equal(r.status, 0, g.tail());
      assert.match(r.out, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
    }
    const p12 = await sh(all, g1, 'ping -c 3 -W 5 10.0.2.2', 300_000);
    assert.equal(p12.status, 0, g1.tail());
    assert.match(p12.out, /3 packets transmitted, 3 packets received, 0% packet loss/, g1.tail());
    const p21 = await sh(all, g2, 'ping -c 3 -W 5 10.0.2.1', 300_000);
    assert.match(p21.out, /3 packets transmitted, 3 packets received, 0% packet loss/, g2.tail());
    const arp = await sh(all, g2, 'cat /proc/net/arp');
    assert.match(arp.out, /10\.0\.2\.1\s+0x1\s+0x2\s+52:54:00:12:34:01/);
  } finally {
    g1.machine.close();
    g2.machine.close();
  }
});
