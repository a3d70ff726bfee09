// SPDX-License-Identifier: GPL-2.0-only
// The HVM domain builder: RAM at 0x8000_0000 (the virt board's memory map) from the pool, the
// device model's MMIO ranges mapped P2M_MMIO_EMUL so the hart sends them to its ioreq router,
// and the kernel loaded: a RISC-V Linux Image through the same boot plan the bare virt board
// uses (boot/boot-plan.ts: kernel at its text offset, initrd, device tree from the device
// model with the initrd range), an ELF at its PT_LOAD addresses, or anything else raw at
// RAM + 2 MiB. vCPU 0 starts at the entry with a0 = 0 and a1 = the device tree.
// Xen: tools/libxc/xc_dom_arm.c; xen/arch/x86/hvm/ioreq.c (ioreq servers)
import { isElf, LoadError, loadElf, loadRaw, parseElf } from '../../hardware/loader/elf.ts';
import { loadBootPlan, planLinuxBoot, type MemRange } from '../boot/boot-plan.ts';
import { BootImageError } from '../boot/linux-image.ts';
import type { ValidConfig } from '../domain/config.ts';
import type { Domain } from '../domain/domain.ts';
import { P2M_MMIO_EMUL, P2M_RAM_RW, type IoreqRouter } from '../mm/p2m.ts';
import { GUEST_RAM_BASE } from '../public/shared-info.ts';
import { DomainBuildError, domainRam } from './load-target.ts';

const PAGE = 4096;
/** RISC-V Linux Image magic2 "RSC\x05" at offset 0x38. */
const IMAGE_MAGIC2 = 0x05435352;

/** What the toolstack's device model provides for an HVM domain. */
export interface HvmDeviceModel {
  /** Emulated MMIO ranges (page-aligned). */
  mmio: ReadonlyArray<{ base: number; size: number }>;
  router: IoreqRouter;
  /** The flattened device tree for the guest, given where the initrd lies (optional). */
  buildDtb?(initrd: MemRange | undefined): Uint8Array;
}

function isLinuxImage(b: Uint8Array): boolean {
  return b.length >= 64 && new DataView(b.buffer, b.byteOffset, b.length).getUint32(0x38, true) === IMAGE_MAGIC2;
}

export function buildHvmDomain(d: Domain, c: ValidConfig, dm: HvmDeviceModel | undefined): void {
  const ramPages = c.memoryPages;
  if (!d.populate(GUEST_RAM_BASE / PAGE, ramPages, P2M_RAM_RW))
    throw new DomainBuildError(d.domid, `out of memory for ${ramPages} RAM pages`);
  // shared_info exists for HVM guests too, unmapped until XENMEM_add_to_physmap places it
  // (Xen's HVM/ARM guests map it themselves); vCPU 0's vcpu_info lives in it.
  const si = d.allocFrames(1);
  if (si === null) throw new DomainBuildError(d.domid, 'out of memory for shared_info');
  d.sharedInfoMfn = si[0]!;
  d.sharedInfoGfn = -1;
  d.vcpus[0]!.vcpuInfoOff = d.sharedInfoMfn * PAGE;
  const ramSize = ramPages * PAGE;
  const ramEnd = GUEST_RAM_BASE + ramSize;
  if (dm !== undefined) {
    for (const r of dm.mmio) {
      if (r.base % PAGE !== 0 || r.size % PAGE !== 0 || (r.base < ramEnd && r.base + r.size > GUEST_RAM_BASE))
        throw new DomainBuildError(d.domid, `device-model range 0x${r.base.toString(16)}+0x${r.size.toString(16)} is unaligned or overlaps RAM`);
      for (let g = r.base / PAGE; g < (r.base + r.size) / PAGE; g++) d.p2m.set(g, -1, P2M_MMIO_EMUL);
    }
    d.p2m.ioreq = dm.router;
  }
  const ram = domainRam(d, GUEST_RAM_BASE, ramSize);
  let entry = GUEST_RAM_BASE + 0x200000;
  let dtbAt = 0;
  try {
    if (isLinuxImage(c.kernel)) {
      const plan = planLinuxBoot({
        ramBase: GUEST_RAM_BASE, ramSize,
        kernel: { name: c.name || 'kernel', bytes: c.kernel },
        initrd: c.ramdisk !== undefined ? { name: 'ramdisk', bytes: c.ramdisk } : undefined,
        buildDtb: (initrd) => {
          if (dm?.buildDtb === undefined) throw new BootImageError('a Linux kernel needs a device model that supplies a device tree');
          return dm.buildDtb(initrd);
        },
      });
      loadBootPlan(plan, { write: (pa, bytes) => void ram.writePhys(pa, bytes) });
      entry = plan.entry.pc;
      dtbAt = plan.entry.a1;
    } else {
      if (isElf(c.kernel)) entry = loadElf(c.kernel, parseElf(c.kernel), ram);
      else loadRaw(c.kernel, entry, ram);
      let top = ramEnd;
      const dtb = dm?.buildDtb?.(undefined);
      if (dtb !== undefined) {
        top = Math.floor((top - dtb.length) / PAGE) * PAGE;
        loadRaw(dtb, top, ram);
        dtbAt = top;
      }
      if (c.ramdisk !== undefined) loadRaw(c.ramdisk, Math.floor((top - c.ramdisk.length) / PAGE) * PAGE, ram);
    }
  } catch (e) {
    if (e instanceof LoadError || e instanceof BootImageError) throw new DomainBuildError(d.domid, e.message);
    throw e;
  }
  const h = d.vcpus[0]!.hart;
  h.start(entry, 0);
  h.setX(10, 0, 0);
  h.setXNum(11, dtbAt);
  d.entry = entry;
  d.vcpus[0]!.initialised = true;
}
