// SPDX-License-Identifier: GPL-2.0-only
// Tests only: a Hypervisor on a manual clock, a minimal ELF64 writer for hand-assembled PV
// kernels, and helpers that make a hypercall the way a guest does (registers set, an `ecall`
// at the vCPU's pc, one run of the vCPU through the real exit path), plus guest-memory pokes
// through the domain's p2m.
import { A, ManualClock, setx, xr } from '../../hardware/riscv/test-support.ts';
import type { Domain } from '../domain/domain.ts';
import type { Vcpu } from '../domain/vcpu.ts';
import { XEN_SBI_EID } from '../public/xen.ts';
import { li } from '../vsbi/test-support.ts';
import { Hypervisor } from '../xen.ts';

export { A, li };
export const KERNEL_BASE = 0x80000000;
/** A scratch data area in every test domain's RAM (guest-physical = guest-virtual, satp = 0). */
export const DATA = 0x80100000;

/** An ET_EXEC RISC-V ELF64 with one RWX PT_LOAD of `code` (32-bit words) at `paddr`, entry there. */
export function makeElf(code: number[], paddr = KERNEL_BASE, bss = 0): Uint8Array {
  const off = 0x78;
  const b = new Uint8Array(off + code.length * 4);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 243, true); // EM_RISCV
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, BigInt(paddr), true); // e_entry
  dv.setBigUint64(32, 64n, true); // e_phoff
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 1, true);
  dv.setUint32(64, 1, true); // PT_LOAD
  dv.setUint32(68, 7, true);
  dv.setBigUint64(72, BigInt(off), true);
  dv.setBigUint64(80, BigInt(paddr), true);
  dv.setBigUint64(88, BigInt(paddr), true);
  dv.setBigUint64(96, BigInt(code.length * 4), true);
  dv.setBigUint64(104, BigInt(code.length * 4 + bss), true);
  code.forEach((w, i) => dv.setUint32(off + 4 * i, w >>> 0, true));
  return b;
}

export function makeHv(frames = 4096, opts: { buildId?: Uint8Array; wallNs?: number } = {}): { hv: Hypervisor; clock: ManualClock } {
  const clock = new ManualClock();
  let wall = opts.wallNs ?? 1_700_000_000_000_000_000;
  const hv = new Hypervisor({ frames, timebase: clock, wall: () => wall + (clock.t * 100), buildId: opts.buildId });
  void wall;
  return { hv, clock };
}

/** A PV domain whose kernel is `code` (default: a spin loop). */
export function pvDomain(hv: Hypervisor, code: number[] = [A.jal(0, 0)], o: { memoryMiB?: number; maxMemoryMiB?: number; vcpus?: number; cmdline?: string; ramdisk?: Uint8Array } = {}): Domain {
  return hv.createDomain({ type: 'pv', memoryMiB: o.memoryMiB ?? 2, maxMemoryMiB: o.maxMemoryMiB ?? (o.memoryMiB ?? 2) + 1, vcpus: o.vcpus ?? 1, maxVcpus: o.vcpus ?? 1, kernel: makeElf(code), cmdline: o.cmdline, ramdisk: o.ramdisk });
}

/** Machine offset of guest-physical `gpa` in d (RAM only); throws in tests if unmapped. */
export function moff(d: Domain, gpa: number): number {
  const mfn = d.p2m.mfnOf(Math.floor(gpa / 4096));
  if (mfn < 0) throw new Error(`gpa 0x${gpa.toString(16)} is not mapped`);
  return mfn * 4096 + (gpa % 4096);
}
export function poke(d: Domain, gpa: number, bytes: Uint8Array | number[]): void {
  for (let i = 0; i < bytes.length; i++) d.hv.pool.bytes[moff(d, gpa + i)] = bytes[i]!;
}
export function peek(d: Domain, gpa: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = d.hv.pool.bytes[moff(d, gpa + i)]!;
  return out;
}
export function poke64(d: Domain, gpa: number, v: bigint | number): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
  poke(d, gpa, b);
}
export function peek64(d: Domain, gpa: number): bigint {
  return new DataView(peek(d, gpa, 8).buffer).getBigUint64(0, true);
}
export function peek32(d: Domain, gpa: number): number {
  return new DataView(peek(d, gpa, 4).buffer).getUint32(0, true);
}

/**
 * Make hypercall `nr` from vCPU v as its guest would: a0..a5 = args, a6 = nr, a7 = the Xen EID,
 * an `ecall` (and a `j .` after it) written at its pc, one run through Hypervisor.runVcpu (the real exit path).
 * Returns a0 as a signed bigint.
 */
export function hypercall(v: Vcpu, nr: number | bigint, ...args: Array<number | bigint>): bigint {
  const h = v.hart;
  for (let k = 0; k < 6; k++) setx(h, 10 + k, BigInt(args[k] ?? 0));
  setx(h, 16, BigInt(nr));
  setx(h, 17, BigInt(XEN_SBI_EID));
  // ecall, then a spin (`j .`) so that later runs of the vCPU stay put after the call.
  poke(v.domain, h.getPc(), [0x73, 0, 0, 0, 0x6f, 0, 0, 0]);
  // Code written behind the hart's back: drop translated blocks (the hart's FENCE.I, when it has a JIT).
  (h as { flushICache?: () => void }).flushICache?.();
  const before = h.getPc();
  // A continuation leaves pc on the ecall: run again, as the guest re-issues the call.
  for (let i = 0; i < 1_000_000; i++) {
    v.domain.hv.runVcpu(v, 1);
    if (h.getPc() !== before || !v.queued || v.domain.state !== 'running') break;
  }
  if (h.getPc() !== before + 4) throw new Error(`vCPU did not complete the ecall (pc 0x${h.getPc().toString(16)})`);
  return BigInt.asIntN(64, xr(h, 10));
}

/** Code that makes hypercall `nr` with immediate args (each in [-2^31, 2^32)). */
export function hcCode(nr: number, ...args: number[]): number[] {
  const out: number[] = [];
  args.forEach((v, i) => out.push(...li(10 + i, v)));
  out.push(...li(16, nr), ...li(17, XEN_SBI_EID), A.ecall());
  return out;
}
