// SPDX-License-Identifier: GPL-2.0-only
// The direct Linux boot without M-mode firmware (the vSBI is the firmware): from RAM, a kernel
// Image, an optional initrd and a DTB builder to the list of (address, bytes) to load and the
// boot hart's entry state: pc = kernel, a0 = hart id, a1 = DTB, S-mode, MMU off. Placement
// follows QEMU's hw/riscv/boot.c (riscv_load_initrd, riscv_compute_fdt_addr, as in the
// qemu-system-riscv64 7.2 that tests compare against); docs/design/vsbi.md has the details.

import { BootImageError, parseLinuxImage, placeKernel, type LinuxImageHeader } from './linux-image.ts';

const MiB = 1024 * 1024;
const PAGE = 4096;
/** QEMU keeps the DTB below 3 GiB so that 32-bit code can reach it (riscv_compute_fdt_addr). */
const FDT_LIMIT = 3072 * MiB;
/** The DTB's alignment (2 MiB, as QEMU). */
const FDT_ALIGN = 2 * MiB;
/** FDT header magic 0xd00dfeed (big endian). Spec: devicetree-0.4 §5.2 "Header" */
const FDT_MAGIC = 0xd00dfeed;

export interface BootFile {
  /** The name used in error messages (the path the user gave). */
  name: string;
  bytes: Uint8Array;
}

export interface MemRange {
  start: number;
  /** Exclusive end. */
  end: number;
}

export interface BootPlanInput {
  ramBase: number;
  ramSize: number;
  kernel: BootFile;
  initrd?: BootFile;
  /** The hart that boots (a0); the others wait in HSM STOPPED for hart_start. Default 0. */
  bootHartId?: number;
  /**
   * Builds the flattened device tree once the initrd's place is known (for /chosen
   * linux,initrd-start and linux,initrd-end). Called exactly once.
   */
  buildDtb(initrd: MemRange | undefined): Uint8Array;
}

export interface BootLoad {
  what: 'kernel' | 'initrd' | 'dtb';
  address: number;
  bytes: Uint8Array;
}

/**
 * The boot hart's state at the kernel entry (Linux's RISC-V boot protocol and the SBI
 * convention): privilege S, satp = 0 (MMU off), sstatus.SIE = 0, pc = kernel start,
 * a0 = hart id, a1 = DTB physical address.
 */
export interface BootEntry {
  hartId: number;
  pc: number;
  a0: number;
  a1: number;
}

export interface BootPlan {
  header: LinuxImageHeader;
  kernel: MemRange;
  initrd?: MemRange;
  dtb: MemRange;
  /** In load order: kernel, initrd, DTB. */
  loads: BootLoad[];
  entry: BootEntry;
}

/** Where the boot loader writes: guest RAM by physical address. */
export interface RamWriter {
  write(address: number, bytes: Uint8Array): void;
}

/** Something with the vSBI hart view's entry operations (VsbiHart satisfies it). */
export interface EntryHart {
  readonly x: Int32Array;
  enterSupervisor(pc: number): void;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Plan a direct kernel boot. Throws BootImageError (one line, naming the file) when something does not fit. */
export function planLinuxBoot(input: BootPlanInput): BootPlan {
  const { ramBase, ramSize, kernel } = input;
  const ramEnd = ramBase + ramSize;
  const header = parseLinuxImage(kernel.bytes, kernel.name);
  const k = placeKernel(header, kernel.bytes.length, ramBase, ramSize, kernel.name);
  const loads: BootLoad[] = [{ what: 'kernel', address: k.start, bytes: kernel.bytes }];

  let initrd: MemRange | undefined;
  if (input.initrd !== undefined) {
    // QEMU riscv_load_initrd: "far enough into RAM that when the kernel is uncompressed it will
    // not clobber the initrd": kernel entry + min(RAM / 2, 128 MiB). Never inside the running
    // kernel's image_size (a big kernel in small RAM), so at least the kernel's end, page aligned.
    const size = input.initrd.bytes.length;
    const start = Math.max(k.start + Math.min(Math.floor(ramSize / 2), 128 * MiB), Math.ceil(k.end / PAGE) * PAGE);
    if (start + size > ramEnd) {
      throw new BootImageError(
        `initrd '${input.initrd.name}' (${size} bytes) does not fit in RAM: it would end at ${hex(start + size)}, RAM ends at ${hex(ramEnd)}`,
      );
    }
    initrd = { start, end: start + size };
    loads.push({ what: 'initrd', address: start, bytes: input.initrd.bytes });
  }

  const dtbBytes = input.buildDtb(initrd);
  if (dtbBytes.length < 40 || new DataView(dtbBytes.buffer, dtbBytes.byteOffset, 4).getUint32(0) !== FDT_MAGIC) {
    throw new BootImageError(`device tree is not a flattened device tree (no 0xd00dfeed magic)`);
  }
  // QEMU riscv_compute_fdt_addr: 2 MiB aligned, just below the end of RAM or 3 GiB, whichever
  // is lower, "as far as possible to avoid kernel/initrd overwriting its content".
  const top = ramBase < FDT_LIMIT ? Math.min(ramEnd, FDT_LIMIT) : ramEnd;
  const dtbStart = Math.floor((top - dtbBytes.length) / FDT_ALIGN) * FDT_ALIGN;
  const below = initrd !== undefined ? initrd.end : k.end;
  if (dtbStart < below) {
    const who = initrd !== undefined ? `initrd '${input.initrd!.name}'` : `kernel '${kernel.name}'`;
    throw new BootImageError(
      `${who} leaves no room for the device tree: it ends at ${hex(below)}, the DTB (${dtbBytes.length} bytes) must start at ${hex(dtbStart)}; give more RAM`,
    );
  }
  const dtb = { start: dtbStart, end: dtbStart + dtbBytes.length };
  loads.push({ what: 'dtb', address: dtbStart, bytes: dtbBytes });

  const hartId = input.bootHartId ?? 0;
  return { header, kernel: k, initrd, dtb, loads, entry: { hartId, pc: k.start, a0: hartId, a1: dtbStart } };
}

/** Write every load of `plan` into guest RAM. */
export function loadBootPlan(plan: BootPlan, ram: RamWriter): void {
  for (const l of plan.loads) ram.write(l.address, l.bytes);
}

/** Put the boot hart at the kernel entry: S-mode, MMU off, SIE = 0, pc, a0 = hart id, a1 = DTB. */
export function enterKernel(hart: EntryHart, entry: BootEntry): void {
  hart.enterSupervisor(entry.pc);
  const x = hart.x;
  x[20] = entry.a0 | 0;
  x[21] = 0;
  x[22] = entry.a1 % 4294967296 | 0;
  x[23] = Math.floor(entry.a1 / 4294967296) | 0;
}
