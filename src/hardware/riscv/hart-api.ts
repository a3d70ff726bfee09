// SPDX-License-Identifier: GPL-2.0-only
// The contract between a hart and whoever runs it (a bare board, or the hypervisor running a
// vCPU). The hart never calls upward: it reaches memory only through a PhysTranslation that
// its owner supplies, reads time through a HartClock, and returns an ExitReason from step().
//
//   owner (board / hypervisor)                     hart
//   ──────────────────────────  lookup(gppn, acc) ─────────────►  offset | PHYS_MMIO | PHYS_FAULT
//                               mmioRead / mmioWrite (PHYS_MMIO only, same thread)
//                               ◄──── step(budget) returns EXIT_* with details in hart state
//
// Physical addresses fit in a JS number: RISC-V physical addresses are at most 56 bits
// (Spec: riscv-priv-20240411 "Sv57: Page-Based 57-bit Virtual-Memory System", PPN fields),
// and page numbers (address / 4096) at most 44 bits.

/** Access kinds, also used as permission bits. */
export const ACCESS_R = 1;
export const ACCESS_W = 2;
export const ACCESS_X = 4;

/** lookup() result: the page is not RAM; the access goes to mmioRead/mmioWrite. */
export const PHYS_MMIO = -1;
/**
 * lookup() result: no mapping, or the access is not permitted. On a bare board this is an
 * access-fault exception inside the hart (Spec: riscv-priv-20240411 "Physical Memory
 * Attributes"); in guest mode (a domain's vCPU) it is a
 * second-stage fault and step() returns EXIT_PHYS_FAULT so the hypervisor can emulate MMIO,
 * log dirty pages, or report a mem_access event.
 */
export const PHYS_FAULT = -2;

export interface PhysTranslation {
  /** The machine memory that every offset returned by lookup() indexes (one pool of 4 KiB frames). */
  readonly memory: SharedArrayBuffer;
  /**
   * Translate guest-physical page number `gppn` for one access kind (ACCESS_R, _W or _X).
   * Returns the byte offset of the backing 4 KiB frame in `memory` (>= 0, a multiple of 4096),
   * PHYS_MMIO or PHYS_FAULT. The hart may cache a result >= 0 in its TLB until its owner
   * calls hart.flushTlb() (the owner must do so whenever a mapping or permission changes).
   */
  lookup(gppn: number, access: number): number;
  /** MMIO load of 1, 2 or 4 bytes at physical address `pa`; returns the unsigned value. */
  mmioRead(pa: number, size: number): number;
  /** MMIO store of the low `size` (1, 2 or 4) bytes of `value` at physical address `pa`. */
  mmioWrite(pa: number, size: number, value: number): void;
}

/** The platform timebase the `time` CSR, Sstc and the ACLINT MTIMER all read. */
export interface HartClock {
  /** Current value of mtime, in timebase ticks (fits a JS number for centuries). */
  now(): number;
  /** Timebase frequency in Hz (device-tree `timebase-frequency`; QEMU virt uses 10 MHz). */
  readonly frequency: number;
}

// ─── Exit reasons: what step(budget) returns ───────────────────────────────────────────
/** The instruction budget is spent (or 0 was given). */
export const EXIT_BUDGET = 0;
/** WFI executed with no interrupt pending: the owner may sleep until an interrupt or timer. */
export const EXIT_WFI = 1;
/** Guest mode only: `ecall` from S-mode (SBI call or Xen hypercall); pc still points at the ecall. */
export const EXIT_ECALL = 2;
/** Guest mode only: lookup() said PHYS_FAULT; fault address, access kind and the instruction are in hart state. */
export const EXIT_PHYS_FAULT = 3;
/** The owner asked the hart to stop (hart.requestExit()), e.g. a poweroff write or a pause. */
export const EXIT_REQUESTED = 4;
/** Guest mode only: a trap that would go to M-mode, which a guest does not have. */
export const EXIT_TRAP_M = 5;
