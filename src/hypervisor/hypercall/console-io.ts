// SPDX-License-Identifier: GPL-2.0-only
// HYPERVISOR_console_io (18) and HYPERVISOR_multicall (13).
// console_io write appends to the domain's Xen console log (as a debug Xen, CONFIG_VERBOSE_DEBUG,
// lets every guest do); read is for the privileged domain only (dom0 is the host: guests get -EPERM).
// multicall runs each entry's hypercall in turn and stores its result in the entry; a nested
// multicall is -EINVAL, as Xen refuses re-entry. Long batches and preempted entries continue
// through hypercall continuations, as Xen's do_multicall does.
// Xen: xen/drivers/char/console.c (do_console_io), xen/common/multicall.c (do_multicall)
import type { Vcpu } from '../domain/vcpu.ts';
import { EFAULT, EINVAL, ENOSYS, EPERM } from '../public/errno.ts';
import { CONSOLEIO_read, CONSOLEIO_write, MC_ARGS, MC_OP, MC_RESULT, MULTICALL_ENTRY_SIZE } from '../public/console.ts';
import { HYPERVISOR_multicall } from '../public/xen.ts';
import { gvaAdd, MAX_COPY } from './guest-access.ts';
import { HcArgs, hypercallContinuation } from './table.ts';

export function doConsoleIo(v: Vcpu, a: HcArgs): number {
  const cmd = a.lo(0);
  if (a.hi(0) !== 0 && a.hi(0) !== cmd >> 31) return -ENOSYS;
  const count = a.u32(1);
  switch (cmd) {
    case CONSOLEIO_write: {
      let done = 0;
      while (done < count) {
        const n = Math.min(count - done, MAX_COPY);
        const [lo, hi] = gvaAdd(a.lo(2), a.hi(2), done);
        const b = v.guest.copyFrom(lo, hi, n);
        if (b === null) return -EFAULT;
        v.domain.consoleWrite(b);
        done += n;
      }
      return 0;
    }
    case CONSOLEIO_read:
      if (!v.domain.privileged) return -EPERM;
      return 0; // the host reads its console itself; no serial ring for a privileged guest
  }
  return -ENOSYS;
}

/** Entries run before a multicall offers the pCPU back (the rest continue, as in Xen). */
export const MULTICALL_BATCH = 64;

export function doMulticall(v: Vcpu, a: HcArgs): number {
  const nr = a.u32(1);
  const hv = v.domain.hv;
  const sub = new HcArgs();
  for (let i = 0; i < nr; i++) {
    const [lo, hi] = gvaAdd(a.lo(0), a.hi(0), i * MULTICALL_ENTRY_SIZE);
    if (i >= MULTICALL_BATCH) {
      // Xen's multicall continuation: the remaining entries, from entry i.
      a.set(0, lo, hi);
      a.setNum(1, nr - i);
      return hypercallContinuation(v);
    }
    const e = v.guest.copyFrom(lo, hi, MULTICALL_ENTRY_SIZE);
    if (e === null) return -EFAULT;
    const dv = new DataView(e.buffer);
    const opLo = dv.getInt32(MC_OP, true), opHi = dv.getInt32(MC_OP + 4, true);
    for (let k = 0; k < 6; k++) sub.set(k, dv.getInt32(MC_ARGS + 8 * k, true), dv.getInt32(MC_ARGS + 8 * k + 4, true));
    const r = opHi === 0 && opLo === HYPERVISOR_multicall ? -EINVAL : hv.hypercalls.dispatch(v, opLo, opHi, sub);
    if (v.continuation) {
      // A preempted call inside the batch: its rewritten arguments go back into the entry, and
      // the multicall continues from this entry (Xen: the entry is re-run with the new args).
      for (let k = 0; k < 6; k++) {
        dv.setInt32(MC_ARGS + 8 * k, sub.lo(k), true);
        dv.setInt32(MC_ARGS + 8 * k + 4, sub.hi(k), true);
      }
      if (!v.guest.copyTo(lo, hi, e)) return -EFAULT;
      a.set(0, lo, hi);
      a.setNum(1, nr - i);
      return hypercallContinuation(v);
    }
    const res = new Uint8Array(8);
    new DataView(res.buffer).setBigInt64(0, BigInt(r), true);
    const [rlo, rhi] = gvaAdd(lo, hi, MC_RESULT);
    if (!v.guest.copyTo(rlo, rhi, res)) return -EFAULT;
    // The batch ends early if a call stopped this vCPU (block, shutdown, down).
    if (v.isBlocked || !v.queued || v.domain.state !== 'running') break;
  }
  return 0;
}
