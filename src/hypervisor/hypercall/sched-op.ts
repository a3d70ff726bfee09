// SPDX-License-Identifier: GPL-2.0-only
// HYPERVISOR_sched_op (29): yield, block, shutdown, poll, remote_shutdown. Blocking calls return
// 0 at once; the vCPU then leaves the run queue and resumes after the ecall when woken.
// Xen: xen/common/schedule.c (do_sched_op, do_poll), public/sched.h
import { BLOCK_EVENT, BLOCK_POLL, type Vcpu } from '../domain/vcpu.ts';
import { EFAULT, EINVAL, ENOSYS, EPERM, ESRCH } from '../public/errno.ts';
import { SCHED_POLL_NR_PORTS, SCHED_POLL_PORTS, SCHED_POLL_SIZE, SCHED_POLL_TIMEOUT, SCHED_REMOTE_SHUTDOWN_SIZE } from '../public/console.ts';
import { SCHEDOP_block, SCHEDOP_poll, SCHEDOP_remote_shutdown, SCHEDOP_shutdown, SCHEDOP_yield } from '../public/xen.ts';
import type { HcArgs } from './table.ts';

/** Xen's limit on sched_poll.nr_ports (do_poll: more than 128 is -EINVAL). */
export const MAX_POLL_PORTS = 128;
/** 2-level event channels: ports 0..4095. */
export const EVTCHN_2L_NR_CHANNELS = 4096;

export function doSchedOp(v: Vcpu, a: HcArgs): number {
  const d = v.domain, hv = d.hv;
  const cmd = a.lo(0);
  if (a.hi(0) !== 0 && a.hi(0) !== cmd >> 31) return -ENOSYS;
  switch (cmd) {
    case SCHEDOP_yield:
      hv.scheduler.yield(v);
      return 0;
    case SCHEDOP_block:
      // Xen: local_event_delivery_enable(); if events are pending do not block.
      if (!v.upcallPending()) v.block(BLOCK_EVENT);
      return 0;
    case SCHEDOP_shutdown: {
      const b = v.guest.copyFrom(a.lo(1), a.hi(1), 4);
      if (b === null) return -EFAULT;
      // Xen stores the reason as (u8), unchecked.
      hv.shutdownDomain(d, b[0]!);
      return 0;
    }
    case SCHEDOP_remote_shutdown: {
      const b = v.guest.copyFrom(a.lo(1), a.hi(1), SCHED_REMOTE_SHUTDOWN_SIZE);
      if (b === null) return -EFAULT;
      const dv = new DataView(b.buffer);
      const t = hv.getDomain(dv.getUint16(0, true));
      if (t === undefined) return -ESRCH;
      if (!d.privileged) return -EPERM;
      hv.shutdownDomain(t, dv.getUint32(4, true) & 0xff);
      return 0;
    }
    case SCHEDOP_poll: {
      const b = v.guest.copyFrom(a.lo(1), a.hi(1), SCHED_POLL_SIZE);
      if (b === null) return -EFAULT;
      const dv = new DataView(b.buffer);
      const nr = dv.getUint32(SCHED_POLL_NR_PORTS, true);
      if (nr > MAX_POLL_PORTS) return -EINVAL;
      const pb = v.guest.copyFrom(dv.getInt32(SCHED_POLL_PORTS, true), dv.getInt32(SCHED_POLL_PORTS + 4, true), nr * 4);
      if (pb === null) return -EFAULT;
      const ports = new Uint32Array(nr);
      const pdv = new DataView(pb.buffer);
      for (let i = 0; i < nr; i++) {
        ports[i] = pdv.getUint32(i * 4, true);
        if (ports[i]! >= EVTCHN_2L_NR_CHANNELS) return -EINVAL;
        if (hv.portPending(d, ports[i]!)) return 0;
      }
      const tHi = dv.getUint32(SCHED_POLL_TIMEOUT + 4, true);
      const timeout = tHi * 4294967296 + dv.getUint32(SCHED_POLL_TIMEOUT, true);
      // A timeout already in the past: return at once (Xen's do_poll sets the timer, which fires at once).
      if (timeout !== 0 && timeout <= d.systemTimeNs()) return 0;
      v.pollPorts = ports;
      v.pollDeadlineNs = timeout === 0 ? Infinity : timeout;
      v.block(BLOCK_POLL);
      return 0;
    }
  }
  return -ENOSYS;
}
