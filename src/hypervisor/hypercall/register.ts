// SPDX-License-Identifier: GPL-2.0-only
// The core's entries in the hypercall table. event_channel_op (32) and grant_table_op (20) are
// registered by event/ and grant/ (part B) through hv.hypercalls.register(). domctl and sysctl
// are toolstack methods of Hypervisor; from a guest they are -EPERM (docs/abi.md §3).
import { EPERM } from '../public/errno.ts';
import {
  HYPERVISOR_console_io, HYPERVISOR_domctl, HYPERVISOR_memory_op, HYPERVISOR_multicall, HYPERVISOR_sched_op,
  HYPERVISOR_sysctl, HYPERVISOR_vcpu_op, HYPERVISOR_xen_version,
} from '../public/xen.ts';
import type { Hypervisor } from '../xen.ts';
import { doConsoleIo, doMulticall } from './console-io.ts';
import { doMemoryOp } from './memory-op.ts';
import { doSchedOp } from './sched-op.ts';
import { doVcpuOp } from './vcpu-op.ts';
import { doXenVersion } from './xen-version.ts';

export function registerCoreHypercalls(hv: Hypervisor): void {
  const t = hv.hypercalls;
  t.register(HYPERVISOR_xen_version, doXenVersion);
  t.register(HYPERVISOR_memory_op, doMemoryOp);
  t.register(HYPERVISOR_sched_op, doSchedOp);
  t.register(HYPERVISOR_vcpu_op, doVcpuOp);
  t.register(HYPERVISOR_console_io, doConsoleIo);
  t.register(HYPERVISOR_multicall, doMulticall);
  t.register(HYPERVISOR_domctl, () => -EPERM);
  t.register(HYPERVISOR_sysctl, () => -EPERM);
}
