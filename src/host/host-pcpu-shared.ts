// SPDX-License-Identifier: GPL-2.0-only
// The contract between the host daemon's main thread (the hypervisor: scheduler, hypercalls,
// device models, toolstack) and its pCPU worker threads (host-pcpu-worker.ts) when
// `tsxen host --threads` runs each physical CPU on its own thread (issue #7,
// docs/design/schedulers.md §10). One Int32Array control block in a SharedArrayBuffer:
//
//   [0] DOORBELL  counter: a worker has something for the main thread (exit, MMIO request)
//   [1] STOP      1 = every worker leaves its loop
//   [16 + 32w ..] pCPU w's words (W_* below)
//
// A run, the way Xen's schedule() hands a vCPU to a pCPU and context_switch() back:
//   main:   DOMID, VCPU, BUDGET, FLAGS; STATE = GUEST; Atomics.add(RUN_SEQ) + notify
//   worker: steps the vCPU's hart (its own Hart object over the vCPU's shared state block and
//           the domain's shared p2m) until the budget, an exit request or an exit it cannot
//           handle; EXIT, INSNS; STATE = EXITED; DOORBELL++ + notify
//   main:   handles the exit on its view of the hart (Hypervisor.handleExit), then either posts
//           the same vCPU again or asks the scheduler; STATE = IDLE
// Hypercalls with a fast path (EVTCHNOP_send / _unmask, GNTTABOP_copy; src/hypervisor/smp/fast-path.ts)
// run on the worker over the shared event-channel words, grant tables and locks; an event that
// must wake a blocked vCPU goes on the kick queue, which the main thread drains (the worker
// rings the DOORBELL). Every pCPU gets each domain's grant table ('grant' message) when the
// domain is created, and a worker whose copy names a domain it has no message for yet drains
// its port once, then leaves the call to the main thread.
// An MMIO access inside a step (emulated device) is a synchronous call: the worker writes OP,
// SIZE, PA, VALUE, sets STATE = CALL, rings, and waits on ANSWER_SEQ; the main thread runs the
// domain's ioreq router and answers (RESULT, STATE = GUEST, ANSWER_SEQ++).
// SBI send_ipi and remote fences (smp/sbi-fast.ts) also run on the worker: SSIP and flush
// requests go straight into the targets' state blocks; a target that may be blocked goes on the
// SBI wake queue, and a remote fence waits for the targets that are executing (STATE GUEST or
// CALL with their DOMID/VCPU on another pCPU) to acknowledge it.
// VCPUOP_set/stop_singleshot_timer run on the worker over the vCPU's shared timer word
// (smp/vcpu-timer.ts); the worker rings the DOORBELL, so the main thread recomputes how long it
// may sleep (Hypervisor.nextWakeNs), and the timer fires there (Hypervisor.tick: VIRQ_TIMER).
// Flushes the main thread requests (p2m change, SBI remote fence, satp set by VCPUOP_initialise)
// travel in the vCPU's own state block (Hart.requestFlush); the hart applies them itself.

import type { MessagePort } from 'node:worker_threads';
import type { EvtchnShared } from '../hypervisor/event/shared.ts';
import type { GrantSmpDomain } from '../hypervisor/grant/smp-view.ts';
import type { FastPathDesc } from '../hypervisor/smp/fast-path.ts';
import type { SbiFastDesc } from '../hypervisor/smp/sbi-fast.ts';

export const DOORBELL = 0;
export const STOP = 1;
const BASE = 16;
const STRIDE = 32;

export const W_RUN_SEQ = 0;
export const W_STATE = 1;
export const W_DOMID = 2;
export const W_VCPU = 3;
export const W_BUDGET = 4;
export const W_FLAGS = 5;
export const W_EXIT = 6;
export const W_INSNS = 7;
export const W_OP = 8;
export const W_SIZE = 9;
export const W_PA_LO = 10;
export const W_PA_HI = 11;
export const W_VALUE = 12;
export const W_RESULT = 13;
export const W_ANSWER_SEQ = 14;
/** Runs, MMIO calls and fast-path hypercalls of this pCPU (statistics, written by the worker). */
export const W_RUNS = 15;
export const W_CALLS = 16;
export const W_FAST = 18;
/** SBI IPI / RFENCE calls this pCPU answered itself (smp/sbi-fast.ts) and remote fences it handed to the main thread after waiting too long. */
export const W_SBI = 19;
export const W_SBI_SLOW = 20;
/** Remote fences answered here that had to wait for a target executing on another pCPU. */
export const W_SBI_WAITED = 21;
/**
 * Odd while the worker runs a GNTTABOP_copy (incremented before and after): a destroyed domain's
 * memory goes only after every worker that may have found it live has left its copy (an RCU
 * grace period: HostPcpus.quiesce; Xen holds rcu_lock_domain_by_id over the operation).
 */
export const W_GRANT_SEQ = 22;
/** Set by the main thread (with the hart's requestExit) when the run must end: preemption. */
export const W_PREEMPT = 17;

/** STATE values. */
export const ST_IDLE = 0;
export const ST_GUEST = 1;
export const ST_EXITED = 2;
export const ST_CALL = 3;

/** FLAGS of a run. */
/** The vCPU ran elsewhere (or its state was changed) since this pCPU last ran it: re-read it. */
export const RUN_RESUME = 1;
/** The main thread handled an exit on its view of the hart: re-read what the hart caches (priv). */
export const RUN_RESYNC = 2;

/** MMIO ops. */
export const OP_MMIO_READ = 1;
export const OP_MMIO_WRITE = 2;

export function controlWords(pcpus: number): number {
  return BASE + STRIDE * pcpus;
}
/** The number of pCPUs a control block of `words` words describes. */
export function pcpusOf(words: number): number {
  return (words - BASE) / STRIDE;
}
/** Index of word `field` of pCPU w. */
export function pw(w: number, field: number): number {
  return BASE + STRIDE * w + field;
}

/** Messages the main thread posts on a pCPU's port (read with receiveMessageOnPort). */
export type PcpuMessage =
  /** bootNs: host ns at the domain's creation (domain system time = host ns - bootNs: Domain.systemTimeNs). */
  | { kind: 'domain'; domid: number; p2m: unknown; evtchn: EvtchnShared | null; sbi: SbiFastDesc | null; bootNs: number }
  /** state: the hart's shared state block; timer: the vCPU's singleshot timer (smp/vcpu-timer.ts, VcpuTimer.buffer). */
  | { kind: 'vcpu'; domid: number; vcpu: number; state: SharedArrayBuffer; timer: SharedArrayBuffer }
  /** A domain's grant table and p2m, posted to every pCPU when the domain is created (GNTTABOP_copy names any domain). */
  | { kind: 'grant'; grant: GrantSmpDomain }
  /** A domain destroyed (every pCPU). */
  | { kind: 'drop'; domid: number };

export interface HostPcpuInit {
  readonly index: number;
  readonly control: SharedArrayBuffer;
  /** Machine memory (the frame pool). */
  readonly memory: SharedArrayBuffer;
  /** process.hrtime.bigint() at timebase tick 0 and the timebase frequency (the host clock). */
  readonly t0: bigint;
  readonly frequency: number;
  readonly port: MessagePort;
  /** The hypercall fast paths' shared state (event channels, kick queue), or null: every hypercall goes to the main thread. */
  readonly fast: FastPathDesc | null;
  /** The SBI IPI/RFENCE fast path's wake queue (KickQueue.desc: domid, vcpu), or null: every SBI call goes to the main thread. */
  readonly sbiWakes: Int32Array | null;
  readonly jit?: boolean;
}
