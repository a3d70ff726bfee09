// SPDX-License-Identifier: GPL-2.0-only
// The 2-level event-channel ABI over shared_info in guest memory (docs/abi.md §5-§6; Xen's
// xen/common/event_2l.c). Pure functions over an Int32Array view of machine memory, so a pCPU
// worker can run them on shared memory (issue 7): on a little-endian host the guest's u64
// bitmaps have the same bit layout as an Int32Array bitmap (port p: int32 p >> 5, bit p & 31).
// The order of the atomic steps is Xen's: pending, then mask, then selector, then upcall.
import { SHINFO_EVTCHN_MASK, SHINFO_EVTCHN_PENDING, VCPUINFO_PENDING_SEL, VCPUINFO_UPCALL_PENDING } from '../public/event-channel.ts';

const PENDING = SHINFO_EVTCHN_PENDING >> 2;
const MASK = SHINFO_EVTCHN_MASK >> 2;
const SEL = VCPUINFO_PENDING_SEL >> 2;
const UPCALL = VCPUINFO_UPCALL_PENDING >> 2;

/**
 * Set `port` pending ([HV sets, GUEST clears] evtchn_pending). `si` is shared_info's int32
 * index, `vi` the target vcpu_info's int32 index or -1 (no vcpu_info: the bit stays pending
 * until one is registered). Returns true when evtchn_upcall_pending went 0 → 1: the caller
 * kicks the vCPU (vcpu_mark_events_pending).
 */
export function setPending2l(m: Int32Array, si: number, vi: number, port: number): boolean {
  return setPending2lHow(m, si, vi, port) === 2;
}

/**
 * setPending2l telling what happened: 0 the port was already pending, 1 it turned pending (Xen
 * checks pollers then), 2 and evtchn_upcall_pending went 0 → 1 (kick the vCPU).
 */
export function setPending2lHow(m: Int32Array, si: number, vi: number, port: number): 0 | 1 | 2 {
  const w = port >>> 5, bit = 1 << (port & 31);
  if ((Atomics.or(m, si + PENDING + w, bit) & bit) !== 0) return 0;
  if ((Atomics.load(m, si + MASK + w) & bit) !== 0 || vi < 0) return 1;
  return raiseSelector(m, vi, port) ? 2 : 1;
}

/** Selector bit of the port's word, then the upcall byte; true if the upcall was newly raised. */
function raiseSelector(m: Int32Array, vi: number, port: number): boolean {
  const word = port >>> 6, sbit = 1 << (word & 31);
  if ((Atomics.or(m, vi + SEL + (word >>> 5), sbit) & sbit) !== 0) return false;
  // evtchn_upcall_pending is byte 0 of the vcpu_info: bit 0 of its (little-endian) int32.
  return (Atomics.or(m, vi + UPCALL, 1) & 0xff) === 0;
}

export function clearPending2l(m: Int32Array, si: number, port: number): void {
  Atomics.and(m, si + PENDING + (port >>> 5), ~(1 << (port & 31)));
}

/** EVTCHNOP_unmask: clear the mask bit; if it was masked and is pending, re-deliver. */
export function unmask2l(m: Int32Array, si: number, vi: number, port: number): boolean {
  const w = port >>> 5, bit = 1 << (port & 31);
  if ((Atomics.and(m, si + MASK + w, ~bit) & bit) === 0) return false;
  if ((Atomics.load(m, si + PENDING + w) & bit) === 0 || vi < 0) return false;
  return raiseSelector(m, vi, port);
}

export function isPending2l(m: Int32Array, si: number, port: number): boolean {
  return (Atomics.load(m, si + PENDING + (port >>> 5)) & (1 << (port & 31))) !== 0;
}

export function isMasked2l(m: Int32Array, si: number, port: number): boolean {
  return (Atomics.load(m, si + MASK + (port >>> 5)) & (1 << (port & 31))) !== 0;
}
