// SPDX-License-Identifier: GPL-2.0-only
// A pCPU worker running GNTTABOP_copy on the host's grant tables over shared memory (the real
// GrantTable.copy through attachGrantView), or the host memcpy peer (Uint8Array.set) of the
// same sizes. Used by src/hypervisor/grant/smp.test.ts and bench/grant-copy.bench.ts. Not a test.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { attachGrantView, type GrantSmpDesc } from '../../src/hypervisor/grant/smp-view.ts';
import { setSmpProcessorId } from '../../src/hypervisor/smp/percpu.ts';
import { GNTCOPY_source_gref, GNTST_okay } from '../../src/hypervisor/public/grant-table.ts';
import { DOMID_SELF } from '../../src/hypervisor/public/xen.ts';

export interface CopyJob {
  /** grant: GNTTABOP_copy; memcpy: the host peer; lock: the granter's table read lock+unlock alone. */
  mode: 'grant' | 'memcpy' | 'lock';
  /** grant: caller copies srcDom's grant srcRef into its own frame dstGfn (len bytes, iters times). */
  caller: number; srcDom: number; srcRef: number; dstGfn: number;
  /** memcpy: machine byte offsets. */
  srcOff: number; dstOff: number;
  len: number; iters: number;
}
const { desc, cpu, go } = workerData as { desc: GrantSmpDesc; cpu: number; go: Int32Array };
setSmpProcessorId(cpu);
const host = attachGrantView(desc);
const bytes = new Uint8Array(desc.memory);
/** This thread's CPU time in ms (Linux /proc/thread-self/schedstat: ns on the CPU), or NaN elsewhere. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

parentPort!.on('message', (j: CopyJob) => {
  Atomics.wait(go, 0, 0); // start together with the other pCPUs
  let bad = 0;
  const c0 = threadCpuMs();
  const t0 = performance.now();
  if (j.mode === 'grant') {
    const t = host.get(j.caller)!;
    const src = { refOrGfn: j.srcRef, domid: j.srcDom, offset: 0 }, dst = { refOrGfn: j.dstGfn, domid: DOMID_SELF, offset: 0 };
    for (let i = 0; i < j.iters; i++) if (t.copy(src, dst, j.len, GNTCOPY_source_gref) !== GNTST_okay) bad++;
  } else if (j.mode === 'lock') {
    const l = host.get(j.srcDom)!.lock;
    for (let i = 0; i < j.iters; i++) {
      l.readLock();
      l.readUnlock();
    }
  } else {
    for (let i = 0; i < j.iters; i++) bytes.set(bytes.subarray(j.srcOff, j.srcOff + j.len), j.dstOff);
  }
  const ms = performance.now() - t0;
  parentPort!.postMessage({ ms, cpuMs: threadCpuMs() - c0, bad });
});
parentPort!.postMessage('ready');
