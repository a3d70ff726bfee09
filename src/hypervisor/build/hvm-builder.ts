// SPDX-License-Identifier: GPL-2.0-only
// The HVM domain builder: RAM at 0x8000_0000 (the virt board's memory map) from the pool, the
// kernel (ELF or a raw image at RAM + 2 MiB, as on the virt board) and ramdisk loaded, the
// device model's MMIO ranges mapped as P2M_MMIO_EMUL so the hart sends them to its ioreq
// router, and vCPU 0 started at the kernel with a0 = 0, a1 = the device tree the device model
// supplies (placed at the top of RAM, as QEMU's virt board does).
// Xen: tools/libxc/xc_dom_arm.c; xen/arch/x86/hvm/ioreq.c (ioreq servers)
import { isElf, LoadError, loadElf, loadRaw, parseElf } from '../../hardware/loader/elf.ts';
import type { ValidConfig } from '../domain/config.ts';
import type { Domain } from '../domain/domain.ts';
import { P2M_MMIO_EMUL, P2M_RAM_RW, type IoreqRouter } from '../mm/p2m.ts';
import { GUEST_RAM_BASE } from '../public/shared-info.ts';
import { DomainBuildError, domainRam } from './load-target.ts';

const PAGE = 4096;

/** What the toolstack's device model provides for an HVM domain. */
export interface HvmDeviceModel {
  /** Emulated MMIO ranges (page-aligned). */
  mmio: ReadonlyArray<{ base: number; size: number }>;
  router: IoreqRouter;
  /** The flattened device tree for the guest (optional). */
  dtb?: Uint8Array;
}

export function buildHvmDomain(d: Domain, c: ValidConfig, dm: HvmDeviceModel | undefined): void {
  const ramPages = c.memoryPages;
  if (!d.populate(GUEST_RAM_BASE / PAGE, ramPages, P2M_RAM_RW))
    throw new DomainBuildError(d.domid, `out of memory for ${ramPages} RAM pages`);
  const ramEnd = GUEST_RAM_BASE + ramPages * PAGE;
  if (dm !== undefined) {
    for (const r of dm.mmio) {
      if (r.base % PAGE !== 0 || r.size % PAGE !== 0 || (r.base < ramEnd && r.base + r.size > GUEST_RAM_BASE))
        throw new DomainBuildError(d.domid, `device-model range 0x${r.base.toString(16)}+0x${r.size.toString(16)} is unaligned or overlaps RAM`);
      for (let g = r.base / PAGE; g < (r.base + r.size) / PAGE; g++) d.p2m.set(g, -1, P2M_MMIO_EMUL);
    }
    d.p2m.ioreq = dm.router;
  }
  const ram = domainRam(d, GUEST_RAM_BASE, ramPages * PAGE);
  let entry = GUEST_RAM_BASE + 0x200000;
  try {
    if (isElf(c.kernel)) entry = loadElf(c.kernel, parseElf(c.kernel), ram);
    else loadRaw(c.kernel, entry, ram);
    let top = ramEnd;
    if (dm?.dtb !== undefined) {
      top = Math.floor((top - dm.dtb.length) / PAGE) * PAGE;
      loadRaw(dm.dtb, top, ram);
    }
    if (c.ramdisk !== undefined) loadRaw(c.ramdisk, Math.floor((top - c.ramdisk.length) / PAGE) * PAGE, ram);
    const h = d.vcpus[0]!.hart;
    h.start(entry, 0);
    h.setXNum(11, dm?.dtb !== undefined ? top : 0);
  } catch (e) {
    if (e instanceof LoadError) throw new DomainBuildError(d.domid, e.message);
    throw e;
  }
  d.entry = entry;
  d.vcpus[0]!.initialised = true;
}
