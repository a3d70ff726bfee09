// SPDX-License-Identifier: GPL-2.0-only
// Worker entry point of a pCPU thread (bundled as dist/pcpu.cjs; src/host/pcpu-host.ts starts
// it with the PcpuInit as workerData). Not a command.
import { workerData } from 'node:worker_threads';
import { runPcpu, type PcpuInit } from './pcpu-worker.ts';

runPcpu(workerData as PcpuInit);
