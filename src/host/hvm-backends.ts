// SPDX-License-Identifier: GPL-2.0-only
// The host's backends for HVM domains' disk= and vif= entries (the device model's half of
// QEMU on Xen: `-drive file=...,format=raw` and `-netdev bridge,br=...`): a raw image file
// behind virtio-blk per disk, a virtio-net NIC per vif cabled to an in-process Ethernet switch
// per bridge name (xenbr0 ...), shared by every domain on that bridge, HVM or PV (the host's
// one BridgeRegistry, which netback's vifs join too). Disks fill the virtio-mmio
// slots first, in disk= order (the first is the guest's vda), then the vifs (eth0 ...).
// Xen: tools/libxl/libxl_dm.c (libxl__build_device_model_args_new: -drive, -netdev/-device)
import type { ResolvedBuild } from '../toolstack/ctrl/build-desc.ts';
import type { HvmDevices } from '../toolstack/ctrl/ctrl.ts';
import type { VirtioDevice } from '../hardware/devices/virtio/virtio-device.ts';
import { VirtioBlk } from '../hardware/devices/virtio/virtio-blk.ts';
import { VirtioNet } from '../hardware/devices/virtio/virtio-net.ts';
import { BridgeRegistry } from '../hardware/net/bridges.ts';
import type { EthernetSwitch, SwitchPort } from '../hardware/net/switch.ts';
import { BlockFile } from './block-file.ts';

export class HvmBackends {
  /**
   * @param random   bytes for libxl's default MACs (00:16:3e + 3 random bytes)
   * @param kick     a NIC received a frame (the guest may have been idle: run the loop)
   * @param bridges  the host's software bridges by name (xl's bridge=), shared with netback
   */
  constructor(private readonly random: (n: number) => Uint8Array, private readonly kick: () => void,
    readonly bridges: BridgeRegistry = new BridgeRegistry()) {}

  bridge(name: string): EthernetSwitch {
    return this.bridges.get(name);
  }

  /** Open every disk and cable every NIC; on any failure release what was taken and throw. */
  build(b: ResolvedBuild): HvmDevices {
    const files: BlockFile[] = [];
    const ports: SwitchPort[] = [];
    const devices: VirtioDevice[] = [];
    const dispose = (): void => {
      for (const f of files) f.close();
      for (const p of ports) p.detach();
      files.length = 0;
      ports.length = 0;
    };
    try {
      b.disks.forEach((d, i) => {
        let f: BlockFile;
        try {
          f = BlockFile.open(d.target, { readOnly: d.access === 'ro' });
        } catch (e) {
          throw new Error(`disks[${i}] (vdev ${d.vdev}): ${e instanceof Error ? e.message : String(e)}`);
        }
        files.push(f);
        devices.push(new VirtioBlk({ backend: f, serial: d.vdev }));
      });
      for (const v of b.vifs) {
        const mac = v.mac !== undefined ? Uint8Array.from(v.mac.split(':'), (x) => parseInt(x, 16)) : this.defaultMac();
        const nic = new VirtioNet({ mac });
        const name = `${b.name} ${Array.from(mac, (x) => x.toString(16).padStart(2, '0')).join(':')}`;
        const port = this.bridge(v.bridge).attach((frame) => {
          nic.receive(frame);
          this.kick();
        }, name);
        nic.link = port;
        ports.push(port);
        devices.push(nic);
      }
    } catch (e) {
      dispose();
      throw e;
    }
    return { devices, dispose };
  }

  /** libxl__device_nic_setdefault: 00:16:3e (Xen's OUI) and three random bytes, top bit clear. */
  private defaultMac(): Uint8Array {
    const r = this.random(3);
    return Uint8Array.of(0x00, 0x16, 0x3e, r[0]! & 0x7f, r[1]!, r[2]!);
  }
}
