// SPDX-License-Identifier: GPL-2.0-only
// The main thread's side of the pCPU fast paths (fast-path.ts): describe the host's shared
// event-channel words, kick queue and grant tables for a worker, and drain the kick queue into
// the existing wake path (EventChannels.notified: vcpu.kick() → Hypervisor.kick → unblock, and
// the onPending hook for SCHEDOP_poll and dom0's backends), as Xen's vcpu_mark_events_pending
// and evtchn_check_pollers do on the pCPU that raised the event.
import type { EventChannels, EventHost } from '../event/event-channels.ts';
import type { GrantSmpDesc } from '../grant/smp-view.ts';
import type { FastPathDesc } from './fast-path.ts';
import type { KickQueue } from './kick-queue.ts';

/** What a pCPU worker needs to build its FastPath (every live domain's words, published first). */
export function fastPathDesc(events: EventHost, kicks: KickQueue, grants?: GrantSmpDesc): FastPathDesc {
  const domains = [...events.all()].map((ec) => {
    ec.bitmaps();
    ec.publish(); // shared_info and every vcpu_info as they are now
    return ec.shared;
  });
  return { memory: events.lookup.pool.memory, directory: events.directory, kicks: kicks.desc, domains, grants };
}

/** After an overflow: every vCPU re-samples its upcall (and wakes if it must), every pending port is announced. */
function rescan(ec: EventChannels): void {
  ec.bitmaps();
  for (const v of ec.d.vcpus) v?.kick();
  if (ec.onPending === null) return;
  for (let p = 1; p < ec.validPorts; p++) if (ec.isPending(p)) ec.onPending(p);
}

/** Drain the kick queue into the wake path; returns the entries handled (an overflow rescans every domain). */
export function drainKicks(events: EventHost, kicks: KickQueue): number {
  const n = kicks.drain((domid, vcpu, c) => events.get(domid)?.notified(vcpu, c & 0xffff, c >>> 16));
  if (n >= 0) return n;
  for (const ec of events.all()) rescan(ec);
  return 0;
}

/** A main-thread loop that drains whenever a worker rings the doorbell, until stop(). */
export class KickDrainer {
  private stopped = false;
  private readonly done: Promise<void>;
  /** Entries handled so far. */
  handled = 0;
  constructor(private readonly events: EventHost, private readonly kicks: KickQueue) {
    this.done = this.loop();
  }
  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.handled += drainKicks(this.events, this.kicks);
      await this.kicks.wait(50); // a timeout, so stop() is seen without a producer
    }
    this.handled += drainKicks(this.events, this.kicks);
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}
