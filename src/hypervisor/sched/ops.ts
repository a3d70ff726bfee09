// SPDX-License-Identifier: GPL-2.0-only
// The scheduler interface (Xen's struct scheduler, reduced to what one pCPU thread needs until
// issue 7 adds credit2, rtds and null): the core tells it when a vCPU becomes runnable or stops
// being so, and asks it which vCPU to run next.
// Xen: xen/include/xen/sched-if.h (struct scheduler: insert_vcpu, sleep, wake, yield, do_schedule)
import type { Vcpu } from '../domain/vcpu.ts';

export interface SchedulerOps {
  readonly name: string;
  /** A vCPU exists (domain creation); it is not runnable until wake(). */
  insert(v: Vcpu): void;
  /** The vCPU is gone (domain destruction). */
  remove(v: Vcpu): void;
  /** The vCPU may run (unblocked, unpaused, brought up). Idempotent. */
  wake(v: Vcpu): void;
  /** The vCPU may not run (blocked, paused, down, shut down). Idempotent. */
  sleep(v: Vcpu): void;
  /** The vCPU gives up the rest of its slice (SCHEDOP_yield): others go first. */
  yield(v: Vcpu): void;
  /** The next vCPU to run and its budget in instructions, or null when none is runnable. */
  pick(): Vcpu | null;
  /** Instructions per slice. */
  readonly sliceInstructions: number;
}
