// SPDX-License-Identifier: GPL-2.0-only
// Test worker for src/hardware/riscv/hart-threads.test.ts: one real thread running one hart
// (as a pCPU does) over the test's shared RAM, page map and hart state block, until the main
// thread sets the stop word. Not a test by itself.
import { parentPort, workerData } from 'node:worker_threads';
import { EXIT_REQUESTED } from '../../src/hardware/riscv/hart-api.ts';
import { Hart } from '../../src/hardware/riscv/hart.ts';
import { SharedMapPhys } from '../../src/hardware/riscv/test-support.ts';

const d = workerData as {
  memory: SharedArrayBuffer; map: SharedArrayBuffer; state: SharedArrayBuffer; control: SharedArrayBuffer;
  jit: boolean;
};
const ctl = new Int32Array(d.control); // [0] stop, [1] threads ready (start barrier)
const phys = new SharedMapPhys(d.memory, d.map);
// The state block was set up (reset, registers) by the main thread; this object adopts it.
const hart = new Hart({ hartId: 0, phys, clock: { now: () => 0, frequency: 10_000_000 }, resetPc: 0, state: d.state, jit: d.jit });
Atomics.add(ctl, 1, 1);
let exits = 0;
while (Atomics.load(ctl, 0) === 0) if (hart.step(20_000) === EXIT_REQUESTED) exits++;
hart.park();
parentPort!.postMessage({ instructions: hart.instructions, exits });
