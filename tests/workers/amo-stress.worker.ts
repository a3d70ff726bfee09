// SPDX-License-Identifier: GPL-2.0-only
// Test worker for src/hardware/riscv/amo-threads.test.ts: one real thread running one hart (as a
// pCPU does) over the test's shared RAM until its program reaches its final self-loop. Not a
// test by itself.
import { parentPort, workerData } from 'node:worker_threads';
import { RemotePhys } from '../../src/hardware/boards/pcpu-shared.ts';
import { setSharedAmo } from '../../src/hardware/riscv/amo.ts';
import { Hart } from '../../src/hardware/riscv/hart.ts';

const d = workerData as {
  memory: SharedArrayBuffer; ramBase: number; hartId: number; entry: number; done: number; shared: boolean;
  args: [number, number][]; barrier: number; threads: number;
};
setSharedAmo(d.shared);
// No MMIO ranges: every access is RAM; the control block is never used.
const phys = new RemotePhys({ memory: d.memory, ramBase: d.ramBase, mmio: [] }, new Int32Array(new SharedArrayBuffer(256)), 0);
const hart = new Hart({ hartId: d.hartId, phys, clock: { now: () => 0, frequency: 10_000_000 }, resetPc: d.entry });
for (const [r, v] of d.args) hart.setXNum(r, v);
// Start together: both threads must be inside their loops at the same time.
const b = new Int32Array(d.memory);
Atomics.add(b, d.barrier, 1);
while (Atomics.load(b, d.barrier) < d.threads);
while (hart.getPc() !== d.done) hart.step(5000);
parentPort!.postMessage(hart.instructions);
