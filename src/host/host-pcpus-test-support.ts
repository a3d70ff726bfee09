// SPDX-License-Identifier: GPL-2.0-only
// Tests and benches only: a hypervisor whose pCPUs are real worker threads (HostPcpus over
// HostSched, as the host daemon builds them), the main thread's side driven by hand.
import type { Domain } from '../hypervisor/domain/domain.ts';
import { makeElf } from '../hypervisor/hypercall/test-support.ts';
import { Hypervisor } from '../hypervisor/xen.ts';
import { HostPcpus } from './host-pcpus.ts';
import { HostSched } from './host-sched.ts';

export interface PcpuHostOptions {
  /** Hypercall fast paths on the workers (default true). */
  fast?: boolean;
  /** driveUntil's pass length in ms (default 20). */
  stepMs?: number;
}

/** N pCPU worker threads under credit2 on the host's monotonic clock; call `pcpus.stop()` when done. */
export function pcpuHost(cpus: number, o: PcpuHostOptions = {}) {
  const sched = new HostSched({ sockets: 1, coresPerSocket: cpus, threadsPerCore: 1, nodes: 1 }, '', () => {});
  const t0 = process.hrtime.bigint();
  const timebase = { frequency: 10_000_000, now: (): number => Number((process.hrtime.bigint() - t0) / 100n) };
  const hv = new Hypervisor({ frames: 8192, timebase, scheduler: sched.ops });
  sched.attach(hv);
  const pcpus = new HostPcpus(hv, sched, t0, { fast: o.fast ?? true });
  /** The main thread's side for `ms` (as the host daemon's loop does). */
  const drive = (ms: number): void => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const seen = pcpus.doorbell();
      if (pcpus.failure !== null) throw new Error(pcpus.failure);
      pcpus.service();
      pcpus.waitDoorbell(seen, 1);
    }
  };
  /** Drive until `ok()` (worker threads take a moment to start under tsx) or `ms`. */
  const driveUntil = (ok: () => boolean, ms = 30_000): void => {
    const end = performance.now() + ms;
    while (!ok() && performance.now() < end) drive(o.stepMs ?? 20);
  };
  /** A PV domain whose kernel is `code` (vCPU 0 starts at its first word). */
  const create = (code: number[], vcpus = 1, memoryMiB = 2): Domain =>
    hv.createDomain({ type: 'pv', memoryMiB, maxMemoryMiB: memoryMiB + 1, vcpus, maxVcpus: vcpus, kernel: makeElf(code) });
  return { hv, sched, pcpus, drive, driveUntil, create };
}

/** x register `r` (low 32 bits) of vCPU `vcpu` of d, read from the shared state block. */
export const reg = (d: Domain, r: number, vcpu = 0): number => d.vcpus[vcpu]!.hart.x[2 * r]! >>> 0;
