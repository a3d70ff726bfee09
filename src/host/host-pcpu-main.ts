// SPDX-License-Identifier: GPL-2.0-only
// Worker entry point of a host pCPU thread (bundled as dist/host-pcpu.cjs; src/host/host-pcpus.ts
// starts it with the HostPcpuInit as workerData). Not a command.
import { workerData } from 'node:worker_threads';
import { runHostPcpu } from './host-pcpu-worker.ts';
import type { HostPcpuInit } from './host-pcpu-shared.ts';

runHostPcpu(workerData as HostPcpuInit);
