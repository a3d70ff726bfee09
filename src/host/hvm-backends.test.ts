// SPDX-License-Identifier: GPL-2.0-only
// The host's HVM backends from a resolved build: disks become virtio-blk on their raw files
// (read-only for access=ro), vifs virtio-net NICs on the named bridge (one switch per name,
// shared), libxl's 00:16:3e default MACs; a failure releases what was taken; dispose detaches.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { VirtioBlk } from '../hardware/devices/virtio/virtio-blk.ts';
import { VirtioNet } from '../hardware/devices/virtio/virtio-net.ts';
import type { ResolvedBuild } from '../toolstack/ctrl/build-desc.ts';
import { HvmBackends } from './hvm-backends.ts';

const build = (o: Partial<ResolvedBuild>): ResolvedBuild => ({
  name: 'g', type: 'hvm', memory: 64, maxmem: 64, vcpus: 1, maxvcpus: 1, kernel: new Uint8Array(1), ramdisk: undefined,
  cmdline: '', uuid: new Uint8Array(16), paused: false, disks: [], vifs: [], actions: null, vcpuAffinity: [], ...o,
});

test('disks and vifs become virtio devices in order; bridges are shared; dispose releases them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-hvmbe-'));
  try {
    writeFileSync(join(dir, 'a.img'), new Uint8Array(1 << 20));
    writeFileSync(join(dir, 'b.img'), new Uint8Array(4096));
    let kicks = 0;
    const be = new HvmBackends((n) => new Uint8Array(n).fill(0xff), () => kicks++);
    const one = be.build(build({
      disks: [{ target: join(dir, 'a.img'), format: 'raw', vdev: 'xvda', access: 'rw' }, { target: join(dir, 'b.img'), format: 'raw', vdev: 'xvdb', access: 'ro' }],
      vifs: [{ mac: '00:16:3e:00:00:01', bridge: 'xenbr0' }, { bridge: 'xenbr0' }],
    }));
    assert.deepEqual(one.devices.map((d) => d.name), ['virtio-blk', 'virtio-blk', 'virtio-net', 'virtio-net']);
    const [a, b] = one.devices as [VirtioBlk, VirtioBlk];
    assert.deepEqual([a.capacityBytes, a.readOnly, b.capacityBytes, b.readOnly], [1 << 20, false, 4096, true]);
    const mac = (n: VirtioNet): string => Array.from({ length: 6 }, (_, i) => n.readConfig(i, 1).toString(16).padStart(2, '0')).join(':');
    assert.equal(mac(one.devices[2] as VirtioNet), '00:16:3e:00:00:01');
    assert.equal(mac(one.devices[3] as VirtioNet), '00:16:3e:7f:ff:ff', "libxl's OUI, the top bit of the 4th byte clear");
    const two = be.build(build({ name: 'h', vifs: [{ bridge: 'xenbr0' }, { bridge: 'lan1' }] }));
    assert.deepEqual(be.bridges.names(), ['xenbr0', 'lan1']);
    // A broadcast from the second domain's NIC reaches both NICs of the first on xenbr0.
    const frame = new Uint8Array(60).fill(0xff, 0, 6);
    (two.devices[0] as VirtioNet).link!.send(frame);
    assert.equal(be.bridges.get('xenbr0')!.flooded, 1);
    assert.equal(kicks, 2, 'each receiving NIC kicks the run loop');
    one.dispose();
    (two.devices[0] as VirtioNet).link!.send(frame);
    assert.equal(kicks, 2, 'disposed NICs are off the bridge');
    two.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a disk that cannot be opened names itself and leaves nothing open or cabled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-hvmbe-'));
  try {
    writeFileSync(join(dir, 'a.img'), new Uint8Array(4096));
    const be = new HvmBackends((n) => new Uint8Array(n), () => {});
    assert.throws(() => be.build(build({
      disks: [{ target: join(dir, 'a.img'), format: 'raw', vdev: 'xvda', access: 'rw' }, { target: join(dir, 'nope.img'), format: 'raw', vdev: 'xvdb', access: 'rw' }],
    })), /^Error: disks\[1\] \(vdev xvdb\): disk image .*nope\.img: no such file$/);
    assert.throws(() => be.build(build({ disks: [{ target: dir, format: 'raw', vdev: 'xvda', access: 'ro' }] })), /is a directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
