// SPDX-License-Identifier: GPL-2.0-only
// The device side of the memory bus: what every memory-mapped device implements, and the
// interrupt line a device raises. Devices never import the CPU or the hypervisor
// (ARCHITECTURE.md §2): they see register offsets and an IrqLine, nothing else.
//
// Access sizes: devices see 1-, 2- and 4-byte accesses at an offset within their region.
// An 8-byte guest access is split by the bus into two 4-byte accesses, low word first
// (offset, then offset + 4). Values are unsigned 32-bit numbers (`>>> 0` for size 4).
// Devices treat every offset, size and value as hostile: an unknown register reads as zero
// and ignores writes; nothing a guest writes may throw.

export interface MmioDevice {
  /** Short name for logs and the device tree ("uart", "plic", "virtio-blk"). */
  readonly name: string;
  /** Load `size` bytes (1, 2 or 4) at byte `offset` inside the device's region. */
  read(offset: number, size: number): number;
  /** Store the low `size` bytes (1, 2 or 4) of `value` at byte `offset`. */
  write(offset: number, size: number, value: number): void;
}

/**
 * A level-triggered interrupt wire from a device to an interrupt controller (PLIC source,
 * or a hart's pending bit). `set(true)` asserts, `set(false)` de-asserts; repeated calls
 * with the same level are harmless.
 */
export interface IrqLine {
  set(level: boolean): void;
}

/** An IrqLine that goes nowhere, for devices that are not wired. */
export const NO_IRQ: IrqLine = { set() {} };
