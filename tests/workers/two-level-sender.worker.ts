// SPDX-License-Identifier: GPL-2.0-only
// Test worker for two-level.test.ts: a second thread playing a pCPU that sends events into a
// guest's shared_info with setPending2l, as issue 7's workers will. Not a test by itself.
import { parentPort, workerData } from 'node:worker_threads';
import { setPending2l } from '../../src/hypervisor/event/two-level.ts';

const { memory, si, vi, sends, ports } = workerData as { memory: SharedArrayBuffer; si: number; vi: number; sends: number; ports: number };
const m = new Int32Array(memory);
let raised = 0;
for (let i = 0; i < sends; i++) if (setPending2l(m, si, vi, 1 + ((i * 7) % ports))) raised++;
parentPort!.postMessage(raised);
