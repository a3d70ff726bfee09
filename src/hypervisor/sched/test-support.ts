// SPDX-License-Identifier: GPL-2.0-only
// Tests and benches only: a Hypervisor whose pCPUs are VirtualPcpus over cpupools (deterministic
// virtual time), and CPU-bound PV guests (a spin loop on real harts).
import { A, makeElf } from '../hypercall/test-support.ts';
import type { Domain } from '../domain/domain.ts';
import { Hypervisor } from '../xen.ts';
import type { Topology } from './sched-if.ts';
import { PoolSchedulerOps, VirtualPcpus, virtualTimebase } from './vloop.ts';

export function flat(cpus: number): Topology {
  return { sockets: 1, coresPerSocket: cpus, threadsPerCore: 1, nodes: 1 };
}

export function schedHost(topo: Topology, sched: string, o: { nsPerInstr?: number; frames?: number; quantumNs?: number } = {}): { hv: Hypervisor; ops: PoolSchedulerOps; loop: VirtualPcpus } {
  const tb = virtualTimebase();
  const ops = new PoolSchedulerOps(topo, sched, o.nsPerInstr ?? 10);
  const hv = new Hypervisor({ frames: o.frames ?? 8192, timebase: tb, scheduler: ops, wall: () => 1_700_000_000_000_000_000 });
  const loop = new VirtualPcpus(hv, ops, o.quantumNs);
  tb.loop = loop;
  return { hv, ops, loop };
}

/** A PV domain of `vcpus` vCPUs (vCPU 0 started) spinning forever: CPU-bound. */
export function spinDomain(hv: Hypervisor, vcpus = 1, code: number[] = [A.jal(0, 0)]): Domain {
  return hv.createDomain({ type: 'pv', memoryMiB: 2, maxMemoryMiB: 3, vcpus, maxVcpus: vcpus, kernel: makeElf(code) });
}

/** ns each vCPU of d has spent running (runstate accounting). */
export function runningNs(d: Domain): number[] {
  return d.vcpus.map((v) => {
    v.syncRunstate();
    return v.runstateTime[0]!;
  });
}
