// SPDX-License-Identifier: GPL-2.0-only
// The device model of an HVM domain, assembled from the virt board's pieces (the same devices
// and memory map the bare `virt` board uses): NS16550A UART, PLIC (one S-mode context per vCPU,
// driving its SEIP), Goldfish RTC, virtio-mmio slots, the SiFive test/finisher (poweroff/reboot shut the domain
// down) and the device tree for the guest. The domain's p2m marks these ranges
// P2M_MMIO_EMUL; the hart calls the router synchronously (docs/design/hypervisor.md §2).
// Xen: an ioreq server per device model (xen/arch/x86/hvm/ioreq.c); QEMU's hw/riscv/virt.c
import type { MmioDevice } from '../../hardware/bus/mmio.ts';
import { virtFdt } from '../../hardware/boards/virt-fdt.ts';
import { VIRT_IRQ, VIRT_MEMMAP, VIRT_PLIC_MAX_PRIORITY, VIRT_PLIC_NUM_SOURCES, VIRT_VIRTIO_COUNT, virtioSlotBase } from '../../hardware/boards/virt-memmap.ts';
import { GoldfishRtc } from '../../hardware/devices/goldfish-rtc.ts';
import { Ns16550a } from '../../hardware/devices/ns16550a.ts';
import { Plic, plicHartContexts } from '../../hardware/devices/plic.ts';
import { GuestMemory } from '../../hardware/devices/virtio/guest-memory.ts';
import type { VirtioDevice } from '../../hardware/devices/virtio/virtio-device.ts';
import { VirtioMmio } from '../../hardware/devices/virtio/virtio-mmio.ts';
import { SifiveTest } from '../../hardware/devices/sifive-test.ts';
import { IRQ_SEI } from '../../hardware/riscv/hart-state.ts';
import type { Domain } from '../domain/domain.ts';
import type { IoreqRouter } from '../mm/p2m.ts';
import { SHUTDOWN_crash, SHUTDOWN_poweroff, SHUTDOWN_reboot } from '../public/xen.ts';
import type { HvmDeviceModel } from './hvm-builder.ts';

const PAGE = 4096;

/**
 * A virtio-mmio slot with no device, as QEMU's virt board has them: magic "virt", version 2,
 * DeviceID 0 (Linux skips it). The device tree lists all 8 slots, so they must not fault.
 */
const EMPTY_VIRTIO: MmioDevice = {
  name: 'virtio-empty',
  read: (off) => (off === 0 ? 0x74726976 : off === 4 ? 2 : off === 0xc ? 0x554d4551 : 0),
  write: () => {},
};

export interface VirtDeviceModelOptions {
  /** Bytes the guest writes to its UART (xenconsoled's HVM console). */
  uartTx: (byte: number) => void;
  /** Host wall time for the RTC (ns since the epoch). */
  wallclockNs?: () => bigint;
  /** Kernel command line for /chosen/bootargs (default: the domain's cmdline). */
  bootargs?: string;
  /**
   * virtio devices for the guest (blk, net, console, rng), each behind a virtio-mmio
   * transport over the domain's p2m. They fill the slots from the highest down, as QEMU's
   * `-device` does, so the first device is the guest's virtio0... in Linux's probe order.
   */
  virtio?: readonly VirtioDevice[];
}

export interface VirtDeviceModel extends HvmDeviceModel {
  readonly uart: Ns16550a;
  readonly plic: Plic;
  readonly rtc: GoldfishRtc;
}

/** Build the virt device model for domain d (its vCPUs exist; RAM size from its config). */
export function virtDeviceModel(d: Domain, o: VirtDeviceModelOptions): VirtDeviceModel {
  const n = d.vcpus.length;
  const contexts = plicHartContexts(n, 'S');
  const plic = new Plic({
    numSources: VIRT_PLIC_NUM_SOURCES, maxPriority: VIRT_PLIC_MAX_PRIORITY, contexts,
    outputs: contexts.map((c) => {
      const line = d.vcpus[c.hartId]!.hart.irqLine(IRQ_SEI);
      // A device interrupt also ends a WFI block at once (Xen's vcpu_kick).
      return { set: (level: boolean) => { line.set(level); if (level) d.hv.kick(d.vcpus[c.hartId]!); } };
    }),
  });
  const uart = new Ns16550a({ irq: plic.source(VIRT_IRQ.uart0), onTransmit: o.uartTx });
  const rtc = new GoldfishRtc({ wallclockNs: o.wallclockNs ?? (() => BigInt(Math.floor(d.hv.clock.wallNs()))), irq: plic.source(VIRT_IRQ.rtc) });
  const test = new SifiveTest((ev) => {
    d.hv.shutdownDomain(d, ev.kind === 'pass' ? SHUTDOWN_poweroff : ev.kind === 'reset' ? SHUTDOWN_reboot : SHUTDOWN_crash);
  });
  const m = VIRT_MEMMAP;
  const devs: Array<{ base: number; size: number; dev: MmioDevice }> = [
    { base: m.test.base, size: m.test.size, dev: test },
    { base: m.rtc.base, size: m.rtc.size, dev: rtc },
    { base: m.plic.base, size: m.plic.size, dev: plic },
    { base: m.uart0.base, size: m.uart0.size, dev: uart },
  ];
  const extra = o.virtio ?? [];
  if (extra.length > VIRT_VIRTIO_COUNT) throw new RangeError(`an HVM domain has ${VIRT_VIRTIO_COUNT} virtio slots, ${extra.length} devices given`);
  const guestMem = new GuestMemory(d.p2m);
  for (let i = 0; i < VIRT_VIRTIO_COUNT; i++) {
    const dev = extra[VIRT_VIRTIO_COUNT - 1 - i];
    const slot = dev === undefined ? EMPTY_VIRTIO : new VirtioMmio(guestMem, plic.source(VIRT_IRQ.virtio + i), dev);
    devs.push({ base: virtioSlotBase(i), size: m.virtio.size, dev: slot });
  }
  const find = (pa: number) => {
    for (const r of devs) if (pa >= r.base && pa < r.base + r.size) return r;
    return undefined;
  };
  const router: IoreqRouter = {
    read: (pa, size) => { const r = find(pa); return r === undefined ? 0 : r.dev.read(pa - r.base, size); },
    write: (pa, size, value) => { const r = find(pa); if (r !== undefined) r.dev.write(pa - r.base, size, value); },
  };
  const ramSize = (d.config?.memoryPages ?? 0) * PAGE;
  const bootargs = o.bootargs ?? d.config?.cmdline;
  return {
    mmio: devs.map((r) => ({ base: r.base, size: Math.ceil(r.size / PAGE) * PAGE })),
    router, uart, plic, rtc,
    buildDtb: (initrd) => virtFdt({ hartCount: n, ramSize, mode: 'vsbi', bootargs: bootargs || undefined, initrd }),
  };
}
