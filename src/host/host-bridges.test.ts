// SPDX-License-Identifier: GPL-2.0-only
// The host daemon's one bridge registry (src/hardware/net/bridges.ts): an HVM guest's virtio-net
// NIC (hvm-backends.ts) and a PV guest's vif (host-devices.ts plugs netback into
// `devices.bridges`) on the same bridge= name are on one switch, so frames cross both ways.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VirtioNet } from '../hardware/devices/virtio/virtio-net.ts';
import type { SwitchPort } from '../hardware/net/switch.ts';
import type { ResolvedBuild } from '../toolstack/ctrl/build-desc.ts';
import { HostDaemon } from './host-daemon.ts';

test('an HVM NIC and a PV vif on xenbr0 reach each other; another bridge stays apart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-br-'));
  try {
    const hd = new HostDaemon({ runDir: dir, nrCpus: 1, memoryMiB: 64, xenstoredBin: null, log: () => {} });
    const b: ResolvedBuild = {
      name: 'hvm', type: 'hvm', memory: 64, maxmem: 64, vcpus: 1, maxvcpus: 1, kernel: new Uint8Array(1), ramdisk: undefined,
      cmdline: '', uuid: new Uint8Array(16), paused: false, disks: [], vifs: [{ mac: '00:16:3e:00:00:01', bridge: 'xenbr0' }], actions: null, vcpuAffinity: [],
    };
    const hvm = hd.backends.build(b);
    const nic = hvm.devices[0] as VirtioNet;
    // The PV side exactly as HostDevices plugs netback (NetbackOptions.plug).
    const toPv: Uint8Array[] = [];
    const pv = hd.devices.bridges.get('xenbr0').attach((f) => toPv.push(f.slice()), 'pv 00:16:3e:00:00:02');
    const other: Uint8Array[] = [];
    hd.devices.bridges.get('lan1').attach((f) => other.push(f.slice()), 'lan1 port');

    // HVM → PV: a frame the guest's NIC transmits, addressed to the PV vif's MAC (unknown yet: flooded).
    const f1 = new Uint8Array(60);
    f1.set([0x00, 0x16, 0x3e, 0x00, 0x00, 0x02, 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01, 0x08, 0x00]);
    nic.link!.send(f1);
    assert.equal(toPv.length, 1, 'the PV vif got the HVM NIC\'s frame');
    assert.deepEqual(toPv[0], f1);
    // PV → HVM: the reply is unicast to the learned HVM MAC and reaches the virtio-net NIC.
    const f2 = new Uint8Array(60);
    f2.set([0x00, 0x16, 0x3e, 0x00, 0x00, 0x01, 0x00, 0x16, 0x3e, 0x00, 0x00, 0x02, 0x08, 0x00]);
    const hvmPort = nic.link as SwitchPort; // HvmBackends cables the NIC to a switch port
    const before = hvmPort.stats.txFrames;
    pv.send(f2);
    assert.equal(hvmPort.stats.txFrames, before + 1, 'the switch delivered it to the HVM NIC\'s port');
    assert.equal(other.length, 0, 'lan1 is another switch');
    hvm.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
