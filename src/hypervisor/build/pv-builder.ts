// SPDX-License-Identifier: GPL-2.0-only
// The PV domain builder (docs/abi.md §4), pure over bytes: RAM at 0x8000_0000 populated from the
// pool, the ELF kernel's PT_LOAD segments loaded, the ramdisk placed after the kernel, the magic
// pages (start_info, shared_info, xenstore ring, console ring) allocated and mapped, start_info
// filled, vCPU 0 at the ELF entry with a0 = 0 and a1 = the start_info address.
// Xen: tools/libxc/xc_dom_core.c, xc_dom_arm.c (the same steps for ARM guests), public/xen.h (start_info)
import { LoadError, loadElf, parseElf } from '../../hardware/loader/elf.ts';
import type { ValidConfig } from '../domain/config.ts';
import type { Domain } from '../domain/domain.ts';
import { P2M_RAM_RW } from '../mm/p2m.ts';
import {
  GUEST_MAGIC_BASE, GUEST_RAM_BASE, MAGIC_CONSOLE, MAGIC_SHARED_INFO, MAGIC_START_INFO, MAGIC_XENSTORE,
  MAX_GUEST_CMDLINE, STI_CMD_LINE, STI_CONSOLE_EVTCHN, STI_CONSOLE_MFN, STI_MAGIC, STI_MOD_LEN, STI_MOD_START,
  STI_NR_PAGES, STI_SHARED_INFO, STI_STORE_EVTCHN, STI_STORE_MFN,
} from '../public/shared-info.ts';
import { START_INFO_MAGIC } from '../public/xen.ts';
import { DomainBuildError, domainRam } from './load-target.ts';

const PAGE = 4096;
/** Pages of the magic region the builder fills (start_info, shared_info, xenstore, console). */
export const MAGIC_PAGES = 4;

function put64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % 4294967296, true);
  dv.setUint32(off + 4, Math.floor(v / 4294967296), true);
}

export function buildPvDomain(d: Domain, c: ValidConfig): void {
  const ramPages = c.memoryPages;
  const ramGfn = GUEST_RAM_BASE / PAGE;
  if (!d.populate(ramGfn, ramPages, P2M_RAM_RW)) throw new DomainBuildError(d.domid, `out of memory for ${ramPages} RAM pages (pool has ${d.hv.pool.freeFrames} free frames)`);
  const magicGfn = GUEST_MAGIC_BASE / PAGE;
  if (!d.populate(magicGfn, MAGIC_PAGES, P2M_RAM_RW)) throw new DomainBuildError(d.domid, 'out of memory for the special pages');
  d.sharedInfoGfn = magicGfn + MAGIC_SHARED_INFO;
  d.sharedInfoMfn = d.p2m.mfnOf(d.sharedInfoGfn);
  // vCPU 0's vcpu_info lives in shared_info (XEN_LEGACY_MAX_VCPUS = 1).
  d.vcpus[0]!.vcpuInfoOff = d.sharedInfoMfn * PAGE;

  const ram = domainRam(d, GUEST_RAM_BASE, ramPages * PAGE);
  let entry: number, kernelEnd = GUEST_RAM_BASE;
  try {
    const img = parseElf(c.kernel);
    entry = loadElf(c.kernel, img, ram);
    for (const s of img.segments) if (s.memsz > 0) kernelEnd = Math.max(kernelEnd, s.paddr + s.memsz);
  } catch (e) {
    if (e instanceof LoadError) throw new DomainBuildError(d.domid, `kernel: ${e.message}`);
    throw e;
  }
  let modStart = 0;
  if (c.ramdisk !== undefined) {
    modStart = Math.ceil(kernelEnd / PAGE) * PAGE;
    if (modStart + c.ramdisk.length > GUEST_RAM_BASE + ramPages * PAGE || !ram.writePhys(modStart, c.ramdisk))
      throw new DomainBuildError(d.domid, `ramdisk of ${c.ramdisk.length} bytes does not fit after the kernel in ${ramPages / 256} MiB`);
  }
  const cmd = new TextEncoder().encode(c.cmdline);
  if (cmd.length >= MAX_GUEST_CMDLINE) throw new DomainBuildError(d.domid, `command line is ${cmd.length} bytes, at most ${MAX_GUEST_CMDLINE - 1}`);

  // Event channels for xenstore and the console: part B's allocUnbound (remote end dom0).
  const storeEvtchn = Math.max(0, d.evtchn?.allocUnbound?.(0) ?? 0);
  const consoleEvtchn = Math.max(0, d.evtchn?.allocUnbound?.(0) ?? 0);

  const si = d.p2m.mfnOf(magicGfn + MAGIC_START_INFO) * PAGE;
  const dv = d.hv.pool.view;
  const magic = new TextEncoder().encode(START_INFO_MAGIC);
  d.hv.pool.bytes.set(magic, si + STI_MAGIC);
  put64(dv, si + STI_NR_PAGES, ramPages);
  put64(dv, si + STI_SHARED_INFO, d.sharedInfoGfn * PAGE);
  put64(dv, si + STI_STORE_MFN, magicGfn + MAGIC_XENSTORE);
  dv.setUint32(si + STI_STORE_EVTCHN, storeEvtchn, true);
  put64(dv, si + STI_CONSOLE_MFN, magicGfn + MAGIC_CONSOLE);
  dv.setUint32(si + STI_CONSOLE_EVTCHN, consoleEvtchn, true);
  put64(dv, si + STI_MOD_START, modStart);
  put64(dv, si + STI_MOD_LEN, c.ramdisk?.length ?? 0);
  d.hv.pool.bytes.set(cmd, si + STI_CMD_LINE);

  d.entry = entry;
  d.startInfoGpa = GUEST_MAGIC_BASE + MAGIC_START_INFO * PAGE;
  const h = d.vcpus[0]!.hart;
  h.start(entry, 0);
  h.setX(10, 0, 0);
  h.setXNum(11, d.startInfoGpa);
  d.vcpus[0]!.initialised = true;
}
