// SPDX-License-Identifier: GPL-2.0-only
// An HVM domain's virtio devices are emulated for it in dom0 (issue 4: "HVM guests from the
// board issue run as domains too, their devices emulated for them in dom0"): Debian's kernel,
// running as a domain over its p2m, probes a virtio-blk disk and a virtio-rng behind the
// device model's virtio-mmio slots, then powers the domain off through the test device.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { test } from 'node:test';
import { RamBlockBackend, VirtioBlk } from '../../hardware/devices/virtio/virtio-blk.ts';
import { VirtioRng } from '../../hardware/devices/virtio/virtio-rng.ts';
import { ensureGuestAssets } from '../../host/assets/index.ts';
import { Hypervisor } from '../xen.ts';
import { virtDeviceModel } from './hvm-devices.ts';

const LIMIT = 4_000_000_000;

test('a Debian HVM domain drives virtio-blk and virtio-rng emulated in dom0, then powers off', { timeout: 900_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const tb = { t: 0, now: () => tb.t, frequency: 10_000_000 };
  const hv = new Hypervisor({ frames: (300 << 20) / 4096, timebase: tb, wall: () => 1_764_000_000_000_000_000 });
  const disk = new RamBlockBackend(8 << 20);
  let entropyBytes = 0;
  const rng = new VirtioRng({ entropy: (b) => { entropyBytes += b.length; webcrypto.getRandomValues(b); } });
  let out = '';
  const d = hv.createDomain({
    type: 'hvm', name: 'debian', memoryMiB: 256, vcpus: 1,
    kernel: new Uint8Array(readFileSync(assets.kernel)), ramdisk: new Uint8Array(readFileSync(assets.initrd)),
    cmdline: 'console=ttyS0 cryptomgr.notests tsxen.init=poweroff',
  }, {
    deviceModel: (dom) => virtDeviceModel(dom, {
      uartTx: (b) => { out += String.fromCharCode(b); },
      virtio: [new VirtioBlk({ backend: disk, serial: 'hvm-disk' }), rng],
    }),
  });
  let last = 0;
  while (d.vcpus[0]!.hart.instructions < LIMIT && d.state === 'running') {
    const r = hv.run(4);
    const now = d.vcpus[0]!.hart.instructions;
    tb.t += Math.ceil((now - last) / 10);
    last = now;
    if (r === 'idle') {
      const next = hv.nextWakeNs();
      tb.t = Number.isFinite(next) ? Math.max(tb.t + 1, Math.ceil((next * tb.frequency) / 1e9)) : tb.t + 1000;
    }
  }
  const tail = `\n--- output tail ---\n${out.slice(-3000)}\n--- crash: ${d.crashReason}`;
  // Linux's virtio_blk prints the disk it found: 8 MiB = 16384 512-byte sectors.
  assert.match(out, /virtio_blk virtio\d+: \[vda\] 16384 512-byte logical blocks/, tail);
  assert.match(out, /TSXEN-BOOT-OK/, tail);
  assert.ok(entropyBytes > 0, 'the guest pulled entropy from virtio-rng');
  assert.equal(d.state, 'shutdown', `the guest powered the domain off${tail}`);
});
