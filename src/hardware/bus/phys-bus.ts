// SPDX-License-Identifier: GPL-2.0-only
// The physical address space of a bare board: one RAM region backed by a SharedArrayBuffer
// plus a short sorted list of MMIO ranges, exposed to a hart as an identity PhysTranslation.
// Devices may also be placed *over* RAM (e.g. the HTIF tohost/fromhost words): their page is
// then reported as PHYS_MMIO for loads and stores, and the bytes of that page that no device
// covers are served from RAM, so only accesses to the device words are intercepted.
// Leaves out: several RAM regions, dirty logging (the hypervisor's p2m does that).
import { ACCESS_X, PHYS_FAULT, PHYS_MMIO, type PhysTranslation } from '../riscv/hart-api.ts';
import type { MmioDevice } from './mmio.ts';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** One device mapping: `size` bytes at physical address `base`. */
export interface MmioRange {
  readonly base: number;
  readonly size: number;
  readonly device: MmioDevice;
}

export class PhysBus implements PhysTranslation {
  readonly memory: SharedArrayBuffer;
  /** A byte view of RAM (offset 0 = physical address ramBase). */
  readonly ram: Uint8Array;
  readonly ramBase: number;
  readonly ramSize: number;
  private readonly ramBasePn: number;
  private readonly ramPages: number;
  /** Sorted by base; few entries, so a linear scan beats anything cleverer. */
  private ranges: MmioRange[] = [];
  /** Page numbers of RAM pages that a device overlays (reported as PHYS_MMIO for R/W). */
  private overlayPages = new Set<number>();

  constructor(ramBase: number, ramSize: number) {
    if (ramBase % PAGE_SIZE !== 0 || ramSize % PAGE_SIZE !== 0 || ramSize <= 0)
      throw new RangeError(`RAM base 0x${ramBase.toString(16)} and size ${ramSize} must be positive multiples of 4 KiB`);
    this.ramBase = ramBase;
    this.ramSize = ramSize;
    this.ramBasePn = ramBase / PAGE_SIZE;
    this.ramPages = ramSize / PAGE_SIZE;
    this.memory = new SharedArrayBuffer(ramSize);
    this.ram = new Uint8Array(this.memory);
  }

  /**
   * Map `device` at [base, base + size). Ranges may not overlap each other; a range inside
   * RAM is allowed only with `overRam` (the device then shadows those RAM bytes).
   * Board set-up only: throws on a conflicting map, which is a bug in the board.
   */
  addMmio(base: number, size: number, device: MmioDevice, overRam = false): void {
    if (size <= 0 || base < 0) throw new RangeError(`bad MMIO range for ${device.name}`);
    for (const r of this.ranges) {
      if (base < r.base + r.size && r.base < base + size)
        throw new RangeError(`MMIO range of ${device.name} overlaps ${r.device.name}`);
    }
    const inRam = base < this.ramBase + this.ramSize && this.ramBase < base + size;
    if (inRam && !overRam) throw new RangeError(`MMIO range of ${device.name} overlaps RAM`);
    if (inRam) {
      for (let pn = Math.floor(base / PAGE_SIZE); pn * PAGE_SIZE < base + size; pn++) this.overlayPages.add(pn);
    }
    this.ranges.push({ base, size, device });
    this.ranges.sort((a, b) => a.base - b.base);
  }

  /** The mapped ranges, sorted by base (for device trees and diagnostics). */
  mmioRanges(): readonly MmioRange[] {
    return this.ranges;
  }

  /** True if [pa, pa + len) lies entirely inside RAM. */
  inRam(pa: number, len: number): boolean {
    return pa >= this.ramBase && len >= 0 && pa + len <= this.ramBase + this.ramSize;
  }

  lookup(gppn: number, access: number): number {
    const rel = gppn - this.ramBasePn;
    if (rel >= 0 && rel < this.ramPages) {
      // Instruction fetch from an overlaid RAM page reads RAM: only loads/stores are intercepted.
      if (access !== ACCESS_X && this.overlayPages.size !== 0 && this.overlayPages.has(gppn)) return PHYS_MMIO;
      return rel * PAGE_SIZE;
    }
    // Spec: riscv-priv-20240411 "Physical Memory Attributes": I/O regions are not executable.
    if (access === ACCESS_X) return PHYS_FAULT;
    const lo = gppn * PAGE_SIZE;
    const hi = lo + PAGE_SIZE;
    for (const r of this.ranges) if (r.base < hi && lo < r.base + r.size) return PHYS_MMIO;
    return PHYS_FAULT;
  }

  private find(pa: number): MmioRange | undefined {
    for (const r of this.ranges) {
      if (pa < r.base) return undefined;
      if (pa < r.base + r.size) return r;
    }
    return undefined;
  }

  mmioRead(pa: number, size: number): number {
    const r = this.find(pa);
    if (r) return r.device.read(pa - r.base, size);
    if (this.inRam(pa, size)) return this.ramRead(pa - this.ramBase, size);
    return 0; // a hole inside an MMIO page reads as zero
  }

  mmioWrite(pa: number, size: number, value: number): void {
    const r = this.find(pa);
    if (r) r.device.write(pa - r.base, size, value);
    else if (this.inRam(pa, size)) this.ramWrite(pa - this.ramBase, size, value);
  }

  /** Little-endian RAM load of 1, 2 or 4 bytes at RAM offset `off` (no alignment needed). */
  ramRead(off: number, size: number): number {
    const m = this.ram;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v * 256) + m[off + i];
    return v;
  }

  /** Little-endian RAM store of the low 1, 2 or 4 bytes of `value` at RAM offset `off`. */
  ramWrite(off: number, size: number, value: number): void {
    const m = this.ram;
    for (let i = 0; i < size; i++) m[off + i] = (value >>> (8 * i)) & 0xff;
  }

  /** Copy `bytes` into RAM at physical address `pa` (loaders); false if it does not fit. */
  writePhys(pa: number, bytes: Uint8Array): boolean {
    if (!this.inRam(pa, bytes.length)) return false;
    this.ram.set(bytes, pa - this.ramBase);
    return true;
  }

  /** Zero `len` bytes of RAM at `pa`; false if the range is not RAM. */
  zeroPhys(pa: number, len: number): boolean {
    if (!this.inRam(pa, len)) return false;
    this.ram.fill(0, pa - this.ramBase, pa - this.ramBase + len);
    return true;
  }
}
