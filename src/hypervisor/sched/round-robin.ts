// SPDX-License-Identifier: GPL-2.0-only
// The interim scheduler: round-robin over runnable vCPUs with a fixed slice, one pCPU. pick()
// rotates the queue, so every runnable vCPU of every domain gets a slice in turn.
import type { Vcpu } from '../domain/vcpu.ts';
import type { SchedulerOps } from './ops.ts';

export class RoundRobin implements SchedulerOps {
  readonly name = 'rr';
  private queue: Vcpu[] = [];
  private head = 0;

  constructor(readonly sliceInstructions = 20_000) {}

  insert(_v: Vcpu): void {}
  remove(v: Vcpu): void {
    this.sleep(v);
  }
  wake(v: Vcpu): void {
    if (v.queued) return;
    v.queued = true;
    this.queue.push(v);
  }
  sleep(v: Vcpu): void {
    if (!v.queued) return;
    v.queued = false;
    const i = this.queue.indexOf(v);
    if (i >= 0) {
      this.queue.splice(i, 1);
      if (i < this.head) this.head--;
    }
  }
  yield(v: Vcpu): void {
    // Move it to the end so that every other runnable vCPU runs first.
    if (!v.queued) return;
    const i = this.queue.indexOf(v);
    if (i >= 0) {
      this.queue.splice(i, 1);
      if (i < this.head) this.head--;
      this.queue.push(v);
    }
  }
  pick(): Vcpu | null {
    const q = this.queue;
    if (q.length === 0) return null;
    if (this.head >= q.length) this.head = 0;
    return q[this.head++]!;
  }
  get runnable(): number {
    return this.queue.length;
  }
}
