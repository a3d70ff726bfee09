// SPDX-License-Identifier: GPL-2.0-only
// The host's software bridges by name (xl's `bridge=`, xenbr0 by default): one learning switch
// per name, created on first use and shared by every NIC the host cables to that name, whatever
// its kind: HVM virtio-net NICs (src/host/hvm-backends.ts) and PV vifs served by netback
// (src/host/host-devices.ts), as dom0's Linux bridge joins QEMU's taps and netback's vifs.
import { EthernetSwitch } from './switch.ts';

export class BridgeRegistry {
  private readonly switches = new Map<string, EthernetSwitch>();

  /** The switch named `name`, created on first use. */
  get(name: string): EthernetSwitch {
    let s = this.switches.get(name);
    if (s === undefined) this.switches.set(name, (s = new EthernetSwitch()));
    return s;
  }

  has(name: string): boolean {
    return this.switches.has(name);
  }

  names(): string[] {
    return [...this.switches.keys()];
  }
}
