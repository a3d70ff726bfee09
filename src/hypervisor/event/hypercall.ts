// SPDX-License-Identifier: GPL-2.0-only
// HYPERVISOR_event_channel_op (32): decode the argument structure from guest memory, run the
// operation, write the results back (xen/common/event_channel.c do_event_channel_op). A bad
// handle is -EFAULT before anything happens; a failed write-back after success is -EFAULT too,
// as in Xen. FIFO sub-ops are not provided (-ENOSYS), so guests use the 2-level ABI.
import { EFAULT, EINVAL, ENOSYS, EPERM, ESRCH } from '../public/errno.ts';
import {
  ALLOC_UNBOUND, BIND_INTERDOMAIN, BIND_IPI, BIND_PIRQ, BIND_VCPU, BIND_VIRQ, EVTCHNOP_alloc_unbound, EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_ipi, EVTCHNOP_bind_pirq, EVTCHNOP_bind_vcpu, EVTCHNOP_bind_virq, EVTCHNOP_close, EVTCHNOP_reset, EVTCHNOP_send,
  EVTCHNOP_status, EVTCHNOP_unmask, PORT_ONLY, RESET, STATUS,
} from '../public/event-channel.ts';
import { DOMID_SELF } from '../public/xen.ts';
import type { EventChannels, EventHost } from './event-channels.ts';
import type { EvtchnDomain, GuestCopy } from './types.ts';

function writeArg<V>(mem: GuestCopy<V>, vcpu: V, lo: number, hi: number, dv: DataView): boolean {
  return mem.copyToGuest(vcpu, lo, hi, new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength));
}
function readArg<V>(mem: GuestCopy<V>, vcpu: V, lo: number, hi: number, size: number): DataView | null {
  const b = mem.copyFromGuest(vcpu, lo, hi, size);
  return b === null ? null : new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** rcu_lock_domain_by_any_id + the XSM_TARGET check: self, or any domain for the privileged. */
function targetChannels(host: EventHost, caller: EvtchnDomain, dom: number): EventChannels | number {
  const id = dom === DOMID_SELF ? caller.domid : dom;
  const ec = host.lookup.domain(id) !== undefined ? host.get(id) : undefined;
  if (ec === undefined) return -ESRCH;
  if (id !== caller.domid && !caller.isPrivileged) return -EPERM;
  return ec;
}

/** `arg` is the guest handle as int32 halves (argLo, argHi). */
export function eventChannelOp<V>(host: EventHost, mem: GuestCopy<V>, caller: EvtchnDomain, vcpu: V, cmd: number, argLo: number, argHi: number): number {
  const self = host.get(caller.domid);
  if (self === undefined) return -ESRCH;
  if (cmd === EVTCHNOP_send || cmd === EVTCHNOP_unmask) {
    const b = mem.copyFromGuest(vcpu, argLo, argHi, PORT_ONLY.size);
    if (b === null) return -EFAULT;
    const port = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    return cmd === EVTCHNOP_send ? self.send(port) : self.unmask(port);
  }

  switch (cmd) {
    case EVTCHNOP_alloc_unbound: {
      const a = readArg(mem, vcpu, argLo, argHi, ALLOC_UNBOUND.size);
      if (a === null) return -EFAULT;
      const port = self.allocUnboundOp(caller, a.getUint16(ALLOC_UNBOUND.dom, true), a.getUint16(ALLOC_UNBOUND.remote_dom, true));
      if (port < 0) return port;
      a.setUint32(ALLOC_UNBOUND.port, port, true);
      return writeArg(mem, vcpu, argLo, argHi, a) ? 0 : -EFAULT;
    }
    case EVTCHNOP_bind_interdomain: {
      const a = readArg(mem, vcpu, argLo, argHi, BIND_INTERDOMAIN.size);
      if (a === null) return -EFAULT;
      const port = self.bindInterdomain(a.getUint16(BIND_INTERDOMAIN.remote_dom, true), a.getUint32(BIND_INTERDOMAIN.remote_port, true));
      if (port < 0) return port;
      a.setUint32(BIND_INTERDOMAIN.local_port, port, true);
      return writeArg(mem, vcpu, argLo, argHi, a) ? 0 : -EFAULT;
    }
    case EVTCHNOP_bind_virq: {
      const a = readArg(mem, vcpu, argLo, argHi, BIND_VIRQ.size);
      if (a === null) return -EFAULT;
      const port = self.bindVirq(a.getUint32(BIND_VIRQ.virq, true), a.getUint32(BIND_VIRQ.vcpu, true));
      if (port < 0) return port;
      a.setUint32(BIND_VIRQ.port, port, true);
      return writeArg(mem, vcpu, argLo, argHi, a) ? 0 : -EFAULT;
    }
    case EVTCHNOP_bind_ipi: {
      const a = readArg(mem, vcpu, argLo, argHi, BIND_IPI.size);
      if (a === null) return -EFAULT;
      const port = self.bindIpi(a.getUint32(BIND_IPI.vcpu, true));
      if (port < 0) return port;
      a.setUint32(BIND_IPI.port, port, true);
      return writeArg(mem, vcpu, argLo, argHi, a) ? 0 : -EFAULT;
    }
    case EVTCHNOP_bind_pirq: {
      // No physical IRQs are passed through: d->nr_pirqs is 0, so every pirq is out of range.
      return readArg(mem, vcpu, argLo, argHi, BIND_PIRQ.size) === null ? -EFAULT : -EINVAL;
    }
    case EVTCHNOP_close:
    case EVTCHNOP_send:
    case EVTCHNOP_unmask: {
      const a = readArg(mem, vcpu, argLo, argHi, PORT_ONLY.size);
      if (a === null) return -EFAULT;
      const port = a.getUint32(PORT_ONLY.port, true);
      return cmd === EVTCHNOP_close ? self.close(port) : cmd === EVTCHNOP_send ? self.send(port) : self.unmask(port);
    }
    case EVTCHNOP_status: {
      const a = readArg(mem, vcpu, argLo, argHi, STATUS.size);
      if (a === null) return -EFAULT;
      const t = targetChannels(host, caller, a.getUint16(STATUS.dom, true));
      if (typeof t === 'number') return t;
      const st = t.status(a.getUint32(STATUS.port, true));
      if (typeof st === 'number') return st;
      a.setUint32(STATUS.status, st.status, true);
      a.setUint32(STATUS.vcpu, st.vcpu, true);
      a.setUint32(STATUS.u, 0, true);
      a.setUint32(STATUS.u_interdomain_port, 0, true);
      if (st.status === 1 || st.status === 2) a.setUint16(STATUS.u, st.dom, true);
      if (st.status === 2) a.setUint32(STATUS.u_interdomain_port, st.port, true);
      if (st.status === 4) a.setUint32(STATUS.u, st.port, true);
      return writeArg(mem, vcpu, argLo, argHi, a) ? 0 : -EFAULT;
    }
    case EVTCHNOP_bind_vcpu: {
      const a = readArg(mem, vcpu, argLo, argHi, BIND_VCPU.size);
      if (a === null) return -EFAULT;
      return self.bindVcpu(a.getUint32(BIND_VCPU.port, true), a.getUint32(BIND_VCPU.vcpu, true));
    }
    case EVTCHNOP_reset: {
      const a = readArg(mem, vcpu, argLo, argHi, RESET.size);
      if (a === null) return -EFAULT;
      const t = targetChannels(host, caller, a.getUint16(RESET.dom, true));
      if (typeof t === 'number') return t;
      return t.reset(caller);
    }
    default:
      return -ENOSYS; // FIFO (init_control, expand_array, set_priority) and unknown sub-ops
  }
}
