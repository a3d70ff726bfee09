// SPDX-License-Identifier: GPL-2.0-only
// A domain's memory as an ELF64 core file (the on_*=coredump-* actions, xl dump-core's
// format family): ET_CORE for EM_RISCV, one PT_LOAD per run of contiguous guest frames with
// p_paddr = the guest-physical address. Xen's xc_core adds .xen_p2m/.xen_pages sections and
// vCPU contexts; this keeps to the program headers any ELF reader understands.
// Spec: System V gABI ELF-64 (e_ident, Elf64_Ehdr, Elf64_Phdr); Xen: tools/libxc/xc_core.c
import type { Ctrl } from '../toolstack/ctrl/ctrl.ts';
import { P2M_RAM_RO, P2M_RAM_RW } from '../hypervisor/mm/p2m.ts';

const PAGE = 4096;
const EHDR = 64;
const PHDR = 56;
const ET_CORE = 4;
const EM_RISCV = 243;
const PT_LOAD = 1;

export function elfCore(ctrl: Ctrl, domid: number): Uint8Array {
  const d = ctrl.domain(domid);
  const frames: Array<[number, number]> = [];
  d.p2m.forEach((gfn, mfn, type) => {
    if (type === P2M_RAM_RW || type === P2M_RAM_RO) frames.push([gfn, mfn]);
  });
  frames.sort((a, b) => a[0] - b[0]);
  const runs: Array<{ gfn: number; mfns: number[] }> = [];
  for (const [gfn, mfn] of frames) {
    const last = runs.at(-1);
    if (last !== undefined && last.gfn + last.mfns.length === gfn) last.mfns.push(mfn);
    else runs.push({ gfn, mfns: [mfn] });
  }
  const dataOff = Math.ceil((EHDR + PHDR * runs.length) / PAGE) * PAGE;
  const out = new Uint8Array(dataOff + frames.length * PAGE);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* LSB */, 1 /* EV_CURRENT */], 0);
  v.setUint16(16, ET_CORE, true);
  v.setUint16(18, EM_RISCV, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(32, BigInt(EHDR), true); // e_phoff
  v.setUint16(52, EHDR, true);
  v.setUint16(54, PHDR, true);
  v.setUint16(56, runs.length, true);
  const mem = ctrl.hv.pool.bytes;
  let off = dataOff;
  runs.forEach((r, i) => {
    const p = EHDR + i * PHDR;
    const size = BigInt(r.mfns.length * PAGE);
    v.setUint32(p, PT_LOAD, true);
    v.setUint32(p + 4, 6, true); // PF_R | PF_W
    v.setBigUint64(p + 8, BigInt(off), true);
    v.setBigUint64(p + 16, BigInt(r.gfn * PAGE), true);
    v.setBigUint64(p + 24, BigInt(r.gfn * PAGE), true);
    v.setBigUint64(p + 32, size, true);
    v.setBigUint64(p + 40, size, true);
    v.setBigUint64(p + 48, BigInt(PAGE), true);
    for (const mfn of r.mfns) {
      out.set(mem.subarray(mfn * PAGE, mfn * PAGE + PAGE), off);
      off += PAGE;
    }
  });
  return out;
}
