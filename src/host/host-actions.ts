// SPDX-License-Identifier: GPL-2.0-only
// xl's per-domain monitor, run by the host daemon: when a domain created with on_* actions
// shuts down, the action for its reason code is carried out (destroy, restart, rename-restart,
// preserve, coredump-destroy/-restart, soft-reset), with xl's log lines. Also the waiters of
// `domain.wait-death` (libxl_evenable_domain_death: xl shutdown -w, create -F).
// Xen 4.7: tools/libxl/xl_cmdimpl.c handle_domain_death, preserve_domain, create_domain's loop.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctrl } from '../toolstack/ctrl/ctrl.ts';
import { CtrlError, type Action, type BuildDescription, type ShutdownActions } from '../toolstack/ctrl/protocol.ts';
import {
  SHUTDOWN_crash, SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_soft_reset, SHUTDOWN_suspend, SHUTDOWN_watchdog,
} from '../hypervisor/public/xen.ts';
import { elfCore } from './core-dump.ts';

export interface MonitorDeps {
  ctrl: Ctrl;
  log: (s: string) => void;
  /** domain.create as the control socket does it (build, console, xenstore). */
  create: (desc: BuildDescription) => Promise<{ domid: number }>;
  destroy: (domid: number) => void;
  rename: (domid: number, name: string) => Promise<void>;
  /** Where coredump-* actions write (Xen: /var/lib/xen/dump). */
  dumpDir: string;
}

type DeathEvent = { event: 'shutdown'; reason: number } | { event: 'death' };

export class DomainMonitor {
  /** Domains under watch: their build description (for restarts) by domid. */
  private readonly watched = new Map<number, BuildDescription>();
  private readonly waiters = new Map<number, Array<(e: DeathEvent) => void>>();
  /** The on_* actions each domain was created with, until it is destroyed (xl list -l). */
  private readonly configured = new Map<number, ShutdownActions>();

  constructor(private readonly d: MonitorDeps) {
    d.ctrl.domainListeners.push((e) => {
      if (e.kind === 'shutdown') {
        this.wake(e.domid, { event: 'shutdown', reason: e.reason });
        // The event comes from inside the run loop (a guest's hypercall or MMIO write): act after it.
        if (this.watched.has(e.domid)) setImmediate(() => void this.handle(e.domid, e.reason));
      } else if (e.kind === 'destroyed') {
        this.wake(e.domid, { event: 'death' });
        this.watched.delete(e.domid);
        this.configured.delete(e.domid);
      }
    });
  }

  /** Watch a domain created with on_* actions (monitor: false: only remember them). */
  watch(domid: number, desc: BuildDescription): void {
    if (desc.actions === undefined) return;
    this.configured.set(domid, { ...desc.actions });
    if (desc.monitor !== false) this.watched.set(domid, desc);
  }

  /** The on_* actions the domain was created with, if any. */
  actionsOf(domid: number): ShutdownActions | undefined {
    return this.configured.get(domid);
  }

  /** Resolves at the domain's shutdown (now, if it is shut down already) or its destruction. */
  waitDeath(domid: number): Promise<DeathEvent> {
    const d = this.d.ctrl.domain(domid);
    if (d.domid === 0) throw new CtrlError('EINVAL', 'Domain-0 does not die');
    if (d.state === 'shutdown') return Promise.resolve({ event: 'shutdown', reason: d.shutdownCode });
    return new Promise((r) => {
      const l = this.waiters.get(domid) ?? [];
      l.push(r);
      this.waiters.set(domid, l);
    });
  }

  private wake(domid: number, e: DeathEvent): void {
    const l = this.waiters.get(domid);
    this.waiters.delete(domid);
    for (const r of l ?? []) r(e);
  }

  private actionFor(desc: BuildDescription, reason: number): Action | null {
    const a = desc.actions!;
    switch (reason) {
      case SHUTDOWN_poweroff: return a.onPoweroff;
      case SHUTDOWN_reboot: return a.onReboot;
      case SHUTDOWN_suspend: return null;
      case SHUTDOWN_crash: return a.onCrash;
      case SHUTDOWN_watchdog: return a.onWatchdog;
      case SHUTDOWN_soft_reset: return a.onSoftReset;
      default:
        this.d.log(`Unknown shutdown reason code ${reason}. Destroying domain.`);
        return 'destroy';
    }
  }

  /** handle_domain_death() and the restart half of create_domain(). */
  private async handle(domid: number, reason: number): Promise<void> {
    const desc = this.watched.get(domid);
    const dom = this.d.ctrl.hv.getDomain(domid);
    if (desc === undefined || dom === undefined || dom.state !== 'shutdown') return;
    const log = this.d.log;
    log(`Domain ${domid} has shut down, reason code ${reason} 0x${reason.toString(16)}`);
    let action = this.actionFor(desc, reason);
    if (action === null) {
      log('Domain has suspended.');
      return;
    }
    log(`Action for shutdown reason code ${reason} is ${action}`);
    if (action === 'coredump-destroy' || action === 'coredump-restart') {
      const file = join(this.d.dumpDir, dom.name);
      log(`dumping core to ${file}`);
      try {
        mkdirSync(this.d.dumpDir, { recursive: true });
        writeFileSync(file, elfCore(this.d.ctrl, domid));
      } catch (e) {
        log(`core dump failed (${e instanceof Error ? e.message : String(e)}).`);
      }
      action = action === 'coredump-destroy' ? 'destroy' : 'restart';
    }
    this.watched.delete(domid);
    const next: BuildDescription = { ...desc, paused: false };
    try {
      switch (action) {
        case 'preserve':
          return;
        case 'destroy':
        case 'restart':
          log(`Domain ${domid} needs to be cleaned up: destroying the domain`);
          this.d.destroy(domid);
          if (action === 'destroy') return;
          break;
        case 'rename-restart': {
          // preserve_domain(): the old domain stays, renamed with a UTC time suffix.
          const t = new Date();
          const p2 = (n: number): string => String(n).padStart(2, '0');
          const suffix = `-${t.getUTCFullYear()}${p2(t.getUTCMonth() + 1)}${p2(t.getUTCDate())}T${p2(t.getUTCHours())}${p2(t.getUTCMinutes())}Z`;
          log(`Preserving domain ${domid} ${dom.name} with suffix${suffix}`);
          await this.d.rename(domid, dom.name + suffix);
          // libxl_domain_preserve gives the old domain a new UUID; the new one keeps the config's.
          const u = randomBytes(16);
          u[6] = (u[6]! & 0x0f) | 0x40;
          u[8] = (u[8]! & 0x3f) | 0x80;
          dom.handle.set(u);
          break;
        }
        case 'soft-reset':
          // libxl_domain_soft_reset rebuilds the domain under the same domid; tsxen's guests are not
          // Xen-aware HVM guests (xl.cfg(5): "PV and non-Xen-aware HVM guests are not supported"),
          // so the domain is rebuilt afresh under a new domid.
          log(`Domain ${domid}: soft reset: rebuilding it as a new domain`);
          this.d.destroy(domid);
          break;
      }
      const r = await this.d.create(next);
      log(`Done. Rebooting now (domain ${dom.name} is now ${r.domid})`);
    } catch (e) {
      log(`Domain ${domid}: ${action} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
