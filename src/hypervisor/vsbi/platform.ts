// SPDX-License-Identifier: GPL-2.0-only
// What the vSBI asks of its owner. A bare board runner (`bin/tsxen machine` without --bios) and
// the hypervisor's domains both implement VsbiPlatform; the vSBI never reaches a device, a
// scheduler or a thread itself. Hart ids are hart indices 0..hartCount-1 (the device tree's
// cpu@N reg and Xen's vcpu_id follow the same numbering).

import type { PhysTranslation } from '../../hardware/riscv/hart-api.ts';
import type { VsbiCall } from './core.ts';

/**
 * The part of a hart the vSBI touches: the integer register file (the hart contract: an
 * Int32Array of 64, x[i] low word at 2i, high word at 2i+1), the pc, and the SBI entry state
 * that HSM start, non-retentive resume and system resume put a hart in. `hartView()` in
 * hart-view.ts builds one from a real Hart.
 */
export interface VsbiHart {
  readonly x: Int32Array;
  /** pc += `bytes` (modulo 2^64): step over the 4-byte `ecall` once a call has returned. */
  advancePc(bytes: number): void;
  /**
   * Enter supervisor mode with the MMU off at physical address `pc` (below 2^53): privilege S,
   * satp = 0, sstatus.SIE = 0. Registers other than pc are left alone; the caller sets a0/a1.
   * Spec: riscv-sbi-2.0 §9.1 "Function: Hart start (FID #0)" (table "HSM Hart Start Register State")
   */
  enterSupervisor(pc: number): void;
  /** The hart left STARTED (hart_stop, system suspend): it must not run until entered again. */
  stop(): void;
}

/** Console input/output for DBCN. Both are non-blocking. */
export interface VsbiConsole {
  /** Write bytes to the console; returns how many were accepted (0..bytes.length), or -1 on an I/O error. */
  write(bytes: Uint8Array): number;
  /** Fill `into` with up to into.length available input bytes; returns the count (0 when none), or -1 on an I/O error. */
  read?(into: Uint8Array): number;
}

export interface VsbiPlatform {
  /** Number of harts (vCPUs); valid hart ids are 0..hartCount-1. */
  readonly hartCount: number;
  hart(index: number): VsbiHart;
  /**
   * Guest-physical memory as the guest sees it (identity over the bus on a bare board, the
   * domain's p2m under the hypervisor). DBCN reads and writes guest buffers only through it,
   * and HSM checks start addresses with it (ACCESS_X).
   */
  readonly phys: PhysTranslation;
  /**
   * Optional: resolve a PHYS_FAULT the vSBI met while accessing guest memory on the guest's
   * behalf (the p2m fault handler: log-dirty marks the page and makes it writable, PoD
   * populates it). Returns true if the access may be retried. Without it such pages are
   * simply invalid for the call.
   */
  resolvePhysFault?(gppn: number, access: number): boolean;
  /** The debug console; absent means DBCN calls get SBI_ERR_DENIED. */
  readonly console?: VsbiConsole;

  /**
   * Program hart `index`'s supervisor timer: sip.STIP is pending exactly while time >= `when`
   * (timebase ticks; Infinity = never). Must clear a pending STIP if time < `when`.
   * Spec: riscv-sbi-2.0 §6.1 "Function: Set Timer (FID #0)"
   */
  setTimer(index: number, when: number): void;
  /** Make sip.SSIP pending on hart `index` (an IPI). Spec: riscv-sbi-2.0 §7.1 "Function: Send IPI (FID #0)" */
  sendIpi(index: number): void;
  /** Invalidate hart `index`'s cached translations (TLB), as SFENCE.VMA with no arguments would. */
  flushTlb(index: number): void;
  /** Invalidate hart `index`'s decoded-instruction cache, as FENCE.I would. */
  flushIcache(index: number): void;
  /** True when hart `index` has an interrupt that would wake WFI (sip & sie != 0): ends a hart suspend. */
  interruptPending(index: number): boolean;

  /** Hart `index` left the STOPPED/SUSPENDED state and may be scheduled (wake its runner). Optional. */
  hartRunnable?(index: number): void;

  /**
   * System reset requested by hart `caller` (SRST). `type`: 0 shutdown, 1 cold reboot, 2 warm
   * reboot; `reason`: 0 none, 1 system failure. Returns false if the platform cannot do it
   * (the guest then gets SBI_ERR_NOT_SUPPORTED). On true the call does not return to the guest.
   */
  systemReset(caller: number, type: number, reason: number): boolean;

  /**
   * Optional system suspend (SUSP). When present the vSBI offers the SUSP extension with
   * SUSPEND_TO_RAM. Called once every other hart is STOPPED; the platform later calls
   * vsbi.systemResume() when a wake-up event arrives. Returns false to refuse (SBI_ERR_FAILED).
   */
  systemSuspend?(caller: number): boolean;

  /**
   * Optional Xen hypercall handler for `ecall` with a7 = SBI_EXT_XEN: a6 = hypercall number,
   * a0-a5 = arguments (call.arg*). Returns the result for a0 (a value or a Xen -errno, within
   * ±2^53); a1 is preserved. A handler that blocks the vCPU sets call.outcome.
   */
  hypercall?(call: VsbiCall): number;
}
