// SPDX-License-Identifier: GPL-2.0-only
// HYPERVISOR_memory_op (12): populate_physmap, decrease_reservation, add_to_physmap (shared_info,
// grant_table), current_reservation, maximum_reservation, maximum_gpfn. The domain is
// auto-translated (like ARM): extents are GFNs, nothing is written back for populate.
// Reservation ops return the number of extents done (fewer than asked on the first failure).
// Xen: xen/common/memory.c (do_memory_op, populate_physmap, decrease_reservation,
// xenmem_add_to_physmap), xen/arch/arm/mm.c (xenmem_add_to_physmap_one), public/memory.h
import type { Domain } from '../domain/domain.ts';
import type { Vcpu } from '../domain/vcpu.ts';
import { P2M_INVALID, P2M_RAM_RO, P2M_RAM_RW } from '../mm/p2m.ts';
import { EFAULT, EINVAL, ENOSYS, EPERM, ESRCH } from '../public/errno.ts';
import * as M from '../public/memory.ts';
import { DOMID_SELF } from '../public/xen.ts';
import { gvaAdd } from './guest-access.ts';
import { hypercallContinuation, PREEMPT_BATCH, type HcArgs } from './table.ts';

/** Largest extent_order a guest may use (Xen's domu_max_order: 2 MiB extents). */
export const DOMU_MAX_ORDER = 9;
/** Guest-physical addresses have at most 56 bits (the hart's physical address width). */
export const GFN_LIMIT = 2 ** 44;

/** Resolve a domid argument: self (DOMID_SELF or its own id) or, for a privileged caller, any. */
function targetDomain(v: Vcpu, domid: number): Domain | number {
  const d = v.domain;
  if (domid === DOMID_SELF || domid === d.domid) return d;
  const t = d.hv.getDomain(domid);
  if (t === undefined) return -ESRCH;
  return d.privileged ? t : -EPERM;
}

function reservation(v: Vcpu, a: HcArgs, op: number, startExtent: number): number {
  const b = v.guest.copyFrom(a.lo(1), a.hi(1), M.MEMORY_RESERVATION_SIZE);
  if (b === null) return -EFAULT;
  const dv = new DataView(b.buffer);
  const esLo = dv.getInt32(M.MR_EXTENT_START, true), esHi = dv.getInt32(M.MR_EXTENT_START + 4, true);
  const nrHi = dv.getUint32(M.MR_NR_EXTENTS + 4, true);
  const nr = nrHi >= 0x200000 ? Infinity : nrHi * 4294967296 + dv.getUint32(M.MR_NR_EXTENTS, true);
  const order = dv.getUint32(M.MR_EXTENT_ORDER, true);
  const domid = dv.getUint16(M.MR_DOMID, true);
  // Xen: a continuation start beyond the list, or a list the extent shift cannot address, is -EINVAL.
  if (nr > 2 ** 53 / 2 ** M.MEMOP_EXTENT_SHIFT) return -EINVAL;
  if (startExtent >= nr) return startExtent;
  const t = targetDomain(v, domid);
  if (typeof t === 'number') return t;
  if (order > DOMU_MAX_ORDER) return startExtent;
  // guest_handle_subrange_okay: the whole remaining array must be accessible.
  const [sLo, sHi] = gvaAdd(esLo, esHi, startExtent * 8);
  if (!v.guest.okay(sLo, sHi, (nr - startExtent) * 8, 1)) return -EFAULT;
  const count = 2 ** order;
  for (let i = startExtent; i < nr; i++) {
    if (i - startExtent >= PREEMPT_BATCH) {
      // Continue from extent i later: the start extent rides in cmd's upper bits (MEMOP_EXTENT_SHIFT).
      a.setNum(0, op + i * 2 ** M.MEMOP_EXTENT_SHIFT);
      return hypercallContinuation(v);
    }
    const [lo, hi] = gvaAdd(esLo, esHi, i * 8);
    const e = v.guest.copyFrom(lo, hi, 8);
    if (e === null) return i;
    const edv = new DataView(e.buffer);
    const gHi = edv.getUint32(4, true);
    if (gHi >= 0x1000) return i; // >= 2^44
    const gfn = gHi * 4294967296 + edv.getUint32(0, true);
    if (gfn % count !== 0 || gfn + count > GFN_LIMIT) return i;
    if (op === M.XENMEM_populate_physmap) {
      if (!t.populate(gfn, count, P2M_RAM_RW)) return i;
    } else if (!removeExtent(t, gfn, count)) return i;
  }
  return nr;
}

/** Xen's guest_remove_page for each page of the extent; all pages must be the domain's RAM. */
function removeExtent(d: Domain, gfn: number, count: number): boolean {
  const owner = d.hv.pool.owner;
  for (let i = 0; i < count; i++) {
    const t = d.p2m.typeOf(gfn + i);
    if ((t !== P2M_RAM_RW && t !== P2M_RAM_RO) || owner[d.p2m.mfnOf(gfn + i)] !== d.domid) return false;
  }
  for (let i = 0; i < count; i++) {
    const mfn = d.p2m.clear(gfn + i);
    // shared_info stays the domain's (it is only unmapped), like Xen's xenheap page.
    if (mfn === d.sharedInfoMfn) d.sharedInfoGfn = -1;
    else if (!d.gnttabOwnsFrame(mfn)) d.freeFrame(mfn);
  }
  return true;
}

function addToPhysmap(v: Vcpu, a: HcArgs): number {
  const b = v.guest.copyFrom(a.lo(1), a.hi(1), M.ADD_TO_PHYSMAP_SIZE);
  if (b === null) return -EFAULT;
  const dv = new DataView(b.buffer);
  const domid = dv.getUint16(M.ATP_DOMID, true);
  const space = dv.getUint32(M.ATP_SPACE, true);
  const idxHi = dv.getUint32(M.ATP_IDX + 4, true), idx = dv.getUint32(M.ATP_IDX, true);
  const gHi = dv.getUint32(M.ATP_GPFN + 4, true);
  const gfn = gHi * 4294967296 + dv.getUint32(M.ATP_GPFN, true);
  if (space === M.XENMAPSPACE_gmfn_range) return -ENOSYS;
  const t = targetDomain(v, domid);
  if (typeof t === 'number') return t;
  if (gHi >= 0x1000) return -EINVAL;
  let mfn: number;
  let grantIdx = -1;
  switch (space) {
    case M.XENMAPSPACE_shared_info:
      if (idx !== 0 || idxHi !== 0 || t.sharedInfoMfn < 0) return -EINVAL;
      mfn = t.sharedInfoMfn;
      break;
    case M.XENMAPSPACE_grant_table: {
      if (t.gnttab === null || idxHi !== 0) return -EINVAL;
      const status = (idx & M.XENMAPIDX_grant_table_status) !== 0;
      grantIdx = idx & ~M.XENMAPIDX_grant_table_status;
      mfn = t.gnttab.frameMfn(grantIdx, status);
      if (mfn < 0) return mfn;
      break;
    }
    default:
      return -ENOSYS;
  }
  // Whatever was at gfn goes (a RAM page of the domain is freed), then the frame moves there.
  const old = t.p2m.typeOf(gfn);
  if (old !== P2M_INVALID) {
    const oldMfn = t.p2m.mfnOf(gfn);
    if (oldMfn === mfn) return 0;
    if ((old === P2M_RAM_RW || old === P2M_RAM_RO) && oldMfn >= 0 && t.hv.pool.owner[oldMfn] === t.domid &&
      oldMfn !== t.sharedInfoMfn && !t.gnttabOwnsFrame(oldMfn)) {
      t.p2m.clear(gfn);
      t.freeFrame(oldMfn);
    } else return -EINVAL; // MMIO, grant mappings, another special page: not replaced
  }
  if (space === M.XENMAPSPACE_shared_info) {
    if (t.sharedInfoGfn >= 0) t.p2m.clear(t.sharedInfoGfn);
    t.sharedInfoGfn = gfn;
  }
  t.p2m.set(gfn, mfn, P2M_RAM_RW);
  if (grantIdx >= 0) t.gnttab?.frameMapped?.(grantIdx, gfn);
  return 0;
}

/** The domid_t argument of current/maximum_reservation and maximum_gpfn. */
function domidArg(v: Vcpu, a: HcArgs): Domain | number {
  const b = v.guest.copyFrom(a.lo(1), a.hi(1), 2);
  if (b === null) return -EFAULT;
  return targetDomain(v, b[0]! | (b[1]! << 8));
}

export function doMemoryOp(v: Vcpu, a: HcArgs): number {
  const cmd = a.u64(0);
  const op = a.lo(0) & M.MEMOP_CMD_MASK;
  const startExtent = Math.floor(cmd / 2 ** M.MEMOP_EXTENT_SHIFT);
  switch (op) {
    case M.XENMEM_populate_physmap:
    case M.XENMEM_decrease_reservation:
      return reservation(v, a, op, startExtent);
  }
  if (startExtent !== 0) return -ENOSYS;
  switch (op) {
    case M.XENMEM_add_to_physmap:
      return addToPhysmap(v, a);
    case M.XENMEM_current_reservation:
    case M.XENMEM_maximum_reservation:
    case M.XENMEM_maximum_gpfn: {
      const t = domidArg(v, a);
      if (typeof t === 'number') return t;
      if (op === M.XENMEM_current_reservation) return t.totPages;
      if (op === M.XENMEM_maximum_reservation) return t.maxPages;
      return t.p2m.maxGfn;
    }
  }
  return -ENOSYS;
}
