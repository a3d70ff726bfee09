// SPDX-License-Identifier: GPL-2.0-only
// HYPERVISOR_vcpu_op (24): initialise, up, down, is_up, get_runstate_info, set/stop singleshot
// timer, register_vcpu_info. up/down drive the same HSM states as SBI hart_start/hart_stop.
// Xen: xen/common/domain.c (do_vcpu_op, map_vcpu_info), public/vcpu.h
import type { Vcpu } from '../domain/vcpu.ts';
import { P2M_RAM_RW } from '../mm/p2m.ts';
import { EEXIST, EFAULT, EINVAL, ENOENT, ENOSYS, ETIME } from '../public/errno.ts';
import { VCPU_INFO_SIZE, VI_EVTCHN_PENDING_SEL, VI_EVTCHN_UPCALL_PENDING } from '../public/shared-info.ts';
import * as C from '../public/vcpu.ts';
import { SBI_HSM_STATE_STOPPED } from '../vsbi/sbi-defs.ts';
import type { HcArgs } from './table.ts';

export function doVcpuOp(cur: Vcpu, a: HcArgs): number {
  const d = cur.domain, hv = d.hv, g = cur.guest;
  const cmd = a.lo(0);
  if (a.hi(0) !== 0 && a.hi(0) !== cmd >> 31) return -ENOSYS;
  const id = a.u32(1);
  const v = d.vcpus[id];
  if (v === undefined) return -ENOENT;
  const hLo = a.lo(2), hHi = a.hi(2);
  const hsm = d.vsbi!.harts;
  switch (cmd) {
    case C.VCPUOP_initialise: {
      const b = g.copyFrom(hLo, hHi, C.VCPU_GUEST_CONTEXT_SIZE);
      if (b === null) return -EFAULT;
      if (v.initialised) return -EEXIST;
      const dv = new DataView(b.buffer);
      const pcHi = dv.getUint32(C.VGC_PC + 4, true), pc = pcHi * 4294967296 + dv.getUint32(C.VGC_PC, true);
      if (pcHi >= 0x200000 || pc % 2 !== 0) return -EINVAL;
      v.initialised = true;
      v.entryPc = pc;
      v.entryA1 = [dv.getInt32(C.VGC_A1, true), dv.getInt32(C.VGC_A1 + 4, true)];
      v.pendingSp = [dv.getInt32(C.VGC_SP, true), dv.getInt32(C.VGC_SP + 4, true)];
      v.pendingSatp = [dv.getInt32(C.VGC_SATP, true), dv.getInt32(C.VGC_SATP + 4, true)];
      return 0;
    }
    case C.VCPUOP_up:
      if (!v.initialised) return -EINVAL;
      if (hsm.status(v.id) !== SBI_HSM_STATE_STOPPED) return 0;
      hsm.requestStart(v.id, v.entryPc, v.entryA1[0], v.entryA1[1]);
      hv.wakeVcpu(v);
      return 0;
    case C.VCPUOP_down:
      if (hsm.status(v.id) === SBI_HSM_STATE_STOPPED) return 0;
      hsm.stop(v.id);
      v.hart.stop();
      hv.refresh(v);
      return 0;
    case C.VCPUOP_is_up:
      return hsm.status(v.id) === SBI_HSM_STATE_STOPPED ? 0 : 1;
    case C.VCPUOP_get_runstate_info: {
      v.syncRunstate(); // bring the accounting up to date
      const now = d.systemTimeNs();
      const b = new Uint8Array(C.RUNSTATE_INFO_SIZE);
      const dv = new DataView(b.buffer);
      dv.setInt32(C.RSI_STATE, v.runstate, true);
      dv.setBigUint64(C.RSI_STATE_ENTRY_TIME, BigInt(Math.max(0, Math.floor(v.stateEntryNs))), true);
      for (let i = 0; i < 4; i++) {
        const t = v.runstateTime[i]! + (i === v.runstate ? now - v.stateEntryNs : 0);
        dv.setBigUint64(C.RSI_TIME + 8 * i, BigInt(Math.max(0, Math.floor(t))), true);
      }
      return g.copyTo(hLo, hHi, b) ? 0 : -EFAULT;
    }
    case C.VCPUOP_set_singleshot_timer: {
      if (v !== cur) return -EINVAL;
      const b = g.copyFrom(hLo, hHi, C.SINGLESHOT_TIMER_SIZE);
      if (b === null) return -EFAULT;
      const dv = new DataView(b.buffer);
      const tHi = dv.getUint32(C.SST_TIMEOUT_ABS_NS + 4, true);
      const timeout = tHi * 4294967296 + dv.getUint32(C.SST_TIMEOUT_ABS_NS, true);
      const flags = dv.getUint32(C.SST_FLAGS, true);
      if ((flags & C.VCPU_SSHOTTMR_future) !== 0 && timeout < d.systemTimeNs()) return -ETIME;
      v.timerNs = timeout;
      return 0;
    }
    case C.VCPUOP_stop_singleshot_timer:
      if (v !== cur) return -EINVAL;
      v.timerNs = Infinity;
      return 0;
    case C.VCPUOP_register_vcpu_info: {
      const b = g.copyFrom(hLo, hHi, C.REGISTER_VCPU_INFO_SIZE);
      if (b === null) return -EFAULT;
      const dv = new DataView(b.buffer);
      const gHi = dv.getUint32(C.RVI_MFN + 4, true);
      const gfn = gHi * 4294967296 + dv.getUint32(C.RVI_MFN, true);
      const off = dv.getUint32(C.RVI_OFFSET, true);
      if (off > 4096 - VCPU_INFO_SIZE || off % 8 !== 0) return -EINVAL;
      if (v.vcpuInfoRegistered) return -EINVAL;
      if (gHi >= 0x1000 || d.p2m.typeOf(gfn) !== P2M_RAM_RW) return -EINVAL;
      const mfn = d.p2m.mfnOf(gfn);
      if (hv.pool.owner[mfn] !== d.domid || mfn === d.sharedInfoMfn) return -EINVAL;
      const newOff = mfn * 4096 + off;
      const mem = hv.pool.bytes;
      // Copy the old contents (or zeros), then make the guest rescan: all selector bits set.
      if (v.vcpuInfoOff >= 0) mem.copyWithin(newOff, v.vcpuInfoOff, v.vcpuInfoOff + VCPU_INFO_SIZE);
      else mem.fill(0, newOff, newOff + VCPU_INFO_SIZE);
      v.vcpuInfoOff = newOff;
      v.vcpuInfoRegistered = true;
      d.evtchn?.vcpuInfoMoved?.(v.id); // before the rescan request below: pCPU workers deliver to the new place
      mem.fill(0xff, newOff + VI_EVTCHN_PENDING_SEL, newOff + VI_EVTCHN_PENDING_SEL + 8);
      mem[newOff + VI_EVTCHN_UPCALL_PENDING] = 1;
      d.updateVcpuTime(v);
      v.syncUpcall();
      return 0;
    }
  }
  return -ENOSYS;
}
