// SPDX-License-Identifier: GPL-2.0-only
// Tests and benches only: a Hypervisor whose pCPUs are VirtualPcpus over cpupools (deterministic
// virtual time), and CPU-bound PV guests (a spin loop on real harts).
import { A, DATA, li, makeElf } from '../hypercall/test-support.ts';
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

/** The code of a PV guest whose vCPU 0 brings up vCPUs 1..n-1 itself (SBI HSM, as Linux does). vCPU 0: for a0 = 1..n-1: hart_start(a0, entry, opaque) ; then all (a0 = hartid): sw a0 -> DATA + 4*a0 ; spin (or, `idle`, wait in WFI). */
export function bringUp(N: number, idle = false): number[] {
  const SBI_EXT_HSM = 0x48534d;
  const c: number[] = [];
  c.push(...li(8, 1), ...li(9, N), ...li(17, SBI_EXT_HSM), ...li(16, 0));
  const loop = c.length;
  c.push(A.addi(10, 8, 0)); // a0 = hartid
  const auipcAt = c.length;
  c.push(A.auipc(11, 0), 0 /* addi a1, a1, entry-auipc */, A.addi(12, 0, 0), 0x00000073 /* ecall */);
  c.push(A.addi(8, 8, 1));
  c.push(0 /* blt s0, s1, loop */);
  c.push(A.addi(10, 0, 0)); // vCPU 0 records itself as hart 0
  const entry = c.length;
  c[auipcAt + 1] = A.addi(11, 11, (entry - auipcAt) * 4);
  c[loop + 6] = A.blt(8, 9, (loop - (loop + 6)) * 4);
  c.push(...li(5, DATA), A.slli(6, 10, 2), A.add(5, 5, 6), A.addi(7, 10, 1), A.sw(7, 5, 0));
  c.push(...(idle ? [0x10500073 /* wfi */, A.jal(0, -4)] : [A.jal(0, 0)]));
  return c;
}
