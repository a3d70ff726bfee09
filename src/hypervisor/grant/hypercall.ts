// SPDX-License-Identifier: GPL-2.0-only
// HYPERVISOR_grant_table_op (20): batched argument arrays in guest memory, one GNTST_* status
// per element, -EFAULT for a bad handle (xen/common/grant_table.c do_grant_table_op). Elements
// before a faulting one have taken effect, as in Xen. Provided: map_grant_ref, unmap_grant_ref,
// setup_table, copy, query_size, set_version (1 only), get_version; others are -ENOSYS.
import { gvaAdd, type EvtchnDomain, type GuestCopy } from '../event/types.ts';
import { EFAULT, EINVAL, ENOSYS, EPERM, ESRCH } from '../public/errno.ts';
import {
  COPY, GET_VERSION, GNTST_bad_domain, GNTST_bad_virt_addr, GNTST_general_error, GNTST_okay, GNTST_permission_denied,
  GNTTABOP_CMD_MASK, GNTTABOP_cache_flush, GNTTABOP_copy, GNTTABOP_get_version, GNTTABOP_map_grant_ref, GNTTABOP_query_size,
  GNTTABOP_set_version, GNTTABOP_setup_table, GNTTABOP_unmap_grant_ref, MAP_GRANT_REF, QUERY_SIZE, SET_VERSION, SETUP_TABLE,
  UNMAP_GRANT_REF,
} from '../public/grant-table.ts';
import { grantTarget, NO_GFN, type CopySide, type GrantHost } from './grant-table.ts';

const INVALID_GFN = 0xffff_ffff_ffff_ffffn;

/** Guest address `off` bytes into the handle. */
function at(base: [number, number], off: number): [number, number] {
  return gvaAdd(base[0], base[1], off);
}
function readAt<V>(mem: GuestCopy<V>, vcpu: V, g: [number, number], size: number): DataView | null {
  const b = mem.copyFromGuest(vcpu, g[0], g[1], size);
  return b === null ? null : new DataView(b.buffer, b.byteOffset, b.byteLength);
}
function writeAt<V>(mem: GuestCopy<V>, vcpu: V, g: [number, number], dv: DataView): boolean {
  return mem.copyToGuest(vcpu, g[0], g[1], new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength));
}
function copySide(a: DataView, base: number, gref: boolean): CopySide {
  return {
    refOrGfn: gref ? a.getUint32(base + COPY.ptr_u, true) : u64(a, base + COPY.ptr_u),
    domid: a.getUint16(base + COPY.ptr_domid, true),
    offset: a.getUint16(base + COPY.ptr_offset, true),
  };
}

function u64(dv: DataView, off: number): number {
  return Number(dv.getBigUint64(off, true)); // exact below 2^53; anything larger is out of every range anyway
}

/** Bytes per element of the batched ops (for the continuation's handle offset). */
export function grantElementSize(cmd: number): number {
  return cmd === GNTTABOP_map_grant_ref ? MAP_GRANT_REF.size : cmd === GNTTABOP_unmap_grant_ref ? UNMAP_GRANT_REF.size : COPY.size;
}

/**
 * `uop` is the guest handle as int32 halves (uopLo, uopHi); count the low 32 bits of a2. A
 * batch (map, unmap, copy) stops after `preempt` elements and returns how many it did (> 0),
 * like Xen's gnttab_map_grant_ref before hypercall_create_continuation: the caller continues
 * with the handle advanced and the count reduced.
 */
export function grantTableOp<V>(host: GrantHost, mem: GuestCopy<V>, caller: EvtchnDomain, vcpu: V, cmdIn: number, uopLo: number, uopHi: number, countIn: number, preempt = Infinity): number {
  const count = countIn >>> 0;
  if ((count | 0) < 0) return -EINVAL; // (int)count < 0
  const cmd = (cmdIn >>> 0) & GNTTABOP_CMD_MASK;
  if (cmd !== GNTTABOP_cache_flush && (cmdIn >>> 0) !== cmd) return -ENOSYS; // continuation bits on a non-continuable op
  const self = host.get(caller.domid);
  if (self === undefined) return -ESRCH;
  const uop: [number, number] = [uopLo, uopHi];

  switch (cmd) {
    case GNTTABOP_map_grant_ref:
      for (let i = 0; i < count; i++) {
        if (i >= preempt) return i;
        const g = at(uop, i * MAP_GRANT_REF.size), a = readAt(mem, vcpu, g, MAP_GRANT_REF.size);
        if (a === null) return -EFAULT;
        const r = self.map(u64(a, MAP_GRANT_REF.host_addr), a.getUint32(MAP_GRANT_REF.flags, true), a.getUint32(MAP_GRANT_REF.ref, true), a.getUint16(MAP_GRANT_REF.dom, true));
        a.setInt16(MAP_GRANT_REF.status, r.status, true);
        a.setUint32(MAP_GRANT_REF.handle, r.handle, true);
        if (r.status === GNTST_okay) a.setBigUint64(MAP_GRANT_REF.dev_bus_addr, BigInt(r.devBusAddr), true);
        if (!writeAt(mem, vcpu, g, a)) return -EFAULT;
      }
      return 0;
    case GNTTABOP_unmap_grant_ref:
      for (let i = 0; i < count; i++) {
        if (i >= preempt) return i;
        const g = at(uop, i * UNMAP_GRANT_REF.size), a = readAt(mem, vcpu, g, UNMAP_GRANT_REF.size);
        if (a === null) return -EFAULT;
        const st = self.unmap(u64(a, UNMAP_GRANT_REF.host_addr), u64(a, UNMAP_GRANT_REF.dev_bus_addr), a.getUint32(UNMAP_GRANT_REF.handle, true));
        a.setInt16(UNMAP_GRANT_REF.status, st, true);
        if (!writeAt(mem, vcpu, g, a)) return -EFAULT;
      }
      return 0;
    case GNTTABOP_copy:
      for (let i = 0; i < count; i++) {
        if (i >= preempt) return i;
        const g = at(uop, i * COPY.size), a = readAt(mem, vcpu, g, COPY.size);
        if (a === null) return -EFAULT;
        const flags = a.getUint16(COPY.flags, true);
        const st = self.copy(copySide(a, COPY.source, (flags & 1) !== 0), copySide(a, COPY.dest, (flags & 2) !== 0), a.getUint16(COPY.len, true), flags);
        a.setInt16(COPY.status, st, true);
        if (!writeAt(mem, vcpu, g, a)) return -EFAULT;
      }
      return 0;
    case GNTTABOP_setup_table: {
      if (count !== 1) return -EINVAL;
      const a = readAt(mem, vcpu, uop, SETUP_TABLE.size);
      if (a === null) return -EFAULT;
      const nr = a.getUint32(SETUP_TABLE.nr_frames, true);
      let status: number = GNTST_okay;
      if (nr > host.maxGrantFrames) status = GNTST_general_error;
      else {
        const t = grantTarget(host, caller, a.getUint16(SETUP_TABLE.dom, true));
        if (t === 'bad_domain') status = GNTST_bad_domain;
        else if (t === 'denied') status = GNTST_permission_denied;
        else {
          const r = t.setup(nr);
          status = r.status;
          const list: [number, number] = [a.getInt32(SETUP_TABLE.frame_list, true), a.getInt32(SETUP_TABLE.frame_list + 4, true)];
          const one = new DataView(new ArrayBuffer(8));
          for (let i = 0; i < r.gfns.length; i++) {
            one.setBigUint64(0, r.gfns[i] === NO_GFN ? INVALID_GFN : BigInt(r.gfns[i]), true);
            if (!writeAt(mem, vcpu, at(list, i * 8), one)) status = GNTST_bad_virt_addr;
          }
        }
      }
      const s = new DataView(new ArrayBuffer(2));
      s.setInt16(0, status, true);
      return writeAt(mem, vcpu, at(uop, SETUP_TABLE.status), s) ? 0 : -EFAULT;
    }
    case GNTTABOP_query_size: {
      if (count !== 1) return -EINVAL;
      const a = readAt(mem, vcpu, uop, QUERY_SIZE.size);
      if (a === null) return -EFAULT;
      const t = grantTarget(host, caller, a.getUint16(QUERY_SIZE.dom, true));
      if (t === 'bad_domain') a.setInt16(QUERY_SIZE.status, GNTST_bad_domain, true);
      else if (t === 'denied') a.setInt16(QUERY_SIZE.status, GNTST_permission_denied, true);
      else {
        a.setUint32(QUERY_SIZE.nr_frames, t.nrFrames, true);
        a.setUint32(QUERY_SIZE.max_nr_frames, host.maxGrantFrames, true);
        a.setInt16(QUERY_SIZE.status, GNTST_okay, true);
      }
      return writeAt(mem, vcpu, uop, a) ? 0 : -EFAULT;
    }
    case GNTTABOP_set_version: {
      const a = readAt(mem, vcpu, uop, SET_VERSION.size);
      if (a === null) return -EFAULT;
      const rc = self.setVersion(a.getUint32(SET_VERSION.version, true));
      a.setUint32(SET_VERSION.version, self.version, true);
      return writeAt(mem, vcpu, uop, a) ? rc : -EFAULT;
    }
    case GNTTABOP_get_version: {
      const a = readAt(mem, vcpu, uop, GET_VERSION.size);
      if (a === null) return -EFAULT;
      const t = grantTarget(host, caller, a.getUint16(GET_VERSION.dom, true));
      if (t === 'bad_domain') return -ESRCH;
      if (t === 'denied') return -EPERM;
      const v = new DataView(new ArrayBuffer(4));
      v.setUint32(0, t.version, true);
      return writeAt(mem, vcpu, at(uop, GET_VERSION.version), v) ? 0 : -EFAULT;
    }
    default:
      return -ENOSYS;
  }
}
