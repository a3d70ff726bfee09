// SPDX-License-Identifier: GPL-2.0-only
// What dom0's backends and the xenstore ring relay need from the hypervisor, the way a Linux
// dom0 gets it from /dev/xen/evtchn, /dev/xen/gntdev and privcmd (libxenevtchn, libxengnttab,
// libxenforeignmemory): interdomain event channels bound by dom0 with a handler, grant
// mappings of a guest's pages into dom0 (GNTTABOP_map_grant_ref with GNTMAP_host_map; dom0
// has no p2m, so the mapping is the frame's dev_bus_addr in machine memory), and the xenstore
// ring page named by start_info (xenstored maps it through grant entry 1 on Xen).
// Handlers run from poll(), which the host calls between scheduling slices, never inside a
// guest's hypercall. Xen: tools/libs/evtchn, tools/libs/gnttab, xen/common/grant_table.c.
import { clearPending2l } from '../../hypervisor/event/two-level.ts';
import type { EventChannels } from '../../hypervisor/event/event-channels.ts';
import type { GrantTable } from '../../hypervisor/grant/grant-table.ts';
import { GNTMAP_host_map, GNTMAP_readonly, GNTST_okay } from '../../hypervisor/public/grant-table.ts';
import type { Ctrl } from './ctrl.ts';

/** Any non-zero host address: dom0's grant mappings are by dev_bus_addr. */
const DOM0_HOST_ADDR = 4096;

export interface Dom0Port {
  /** dom0's end of the channel. */
  readonly local: number;
  notify(): void;
  close(): void;
}

/** A guest frame granted to dom0 and mapped (gntdev): `bytes` is a live 4 KiB view. */
export interface GrantMapping {
  readonly bytes: Uint8Array;
  unmap(): void;
}

export class Dom0Dev {
  private readonly ec: EventChannels;
  private readonly gt: GrantTable;
  private readonly handlers = new Map<number, () => void>();
  private readonly pending = new Set<number>();

  /** A handler threw (a backend bug): logged, never allowed to take the host down. */
  onError: (e: unknown) => void = () => {};

  constructor(private readonly ctrl: Ctrl) {
    const dom0 = ctrl.hv.dom0;
    this.ec = ctrl.eg.channels(dom0);
    this.gt = dom0.gnttab as unknown as GrantTable;
    const prev = this.ec.onPending;
    this.ec.onPending = (port) => {
      prev?.(port);
      if (this.handlers.has(port)) this.pending.add(port);
    };
  }

  /** True when some bound port was notified since the last poll(). */
  get hasWork(): boolean {
    return this.pending.size !== 0;
  }

  /** Run the handlers of notified ports (the host's run loop calls this between slices); true if any ran. */
  poll(): boolean {
    if (this.pending.size === 0) return false;
    const ports = [...this.pending];
    this.pending.clear();
    for (const p of ports) {
      this.ec.bitmaps();
      clearPending2l(this.ec.mem, this.ec.si, p);
      try {
        this.handlers.get(p)?.();
      } catch (e) {
        this.onError(e);
      }
    }
    return true;
  }

  /** EVTCHNOP_bind_interdomain by dom0 to (domid, remotePort); `onEvent` runs from poll(). */
  bind(domid: number, remotePort: number, onEvent: () => void): Dom0Port {
    const local = this.ec.bindInterdomain(domid, remotePort);
    if (local < 0) throw new Error(`evtchn: bind_interdomain to d${domid} port ${remotePort} failed (${local})`);
    this.handlers.set(local, onEvent);
    let open = true;
    return {
      local,
      notify: () => { if (open) this.ec.send(local); },
      close: () => {
        if (!open) return;
        open = false;
        this.handlers.delete(local);
        this.pending.delete(local);
        this.ec.close(local); // an errno if the guest already closed or died: nothing to undo then
      },
    };
  }

  /** GNTTABOP_map_grant_ref of (domid, ref) into dom0; throws with the GNTST status on failure. */
  mapGrant(domid: number, ref: number, readonly: boolean): GrantMapping {
    const r = this.gt.map(DOM0_HOST_ADDR, GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0), ref, domid);
    if (r.status !== GNTST_okay) throw new Error(`gnttab: map of d${domid} grant ${ref} failed (status ${r.status})`);
    const addr = r.devBusAddr;
    const bytes = this.ctrl.hv.pool.bytes.subarray(addr, addr + 4096);
    let mapped = true;
    return {
      bytes,
      unmap: () => {
        if (!mapped) return;
        mapped = false;
        try {
          this.gt.unmap(DOM0_HOST_ADDR, addr, r.handle);
        } catch (e) {
          this.onError(e); // the granting domain's table is gone: its frames were released with it
        }
      },
    };
  }

  /** A PV domain's xenstore ring page (start_info.store_mfn) and event channel, or null. */
  storePage(domid: number): { page: Uint8Array; port: number } | null {
    const s = this.ctrl.storeRing(domid);
    const d = this.ctrl.hv.getDomain(domid);
    if (s === null || d === undefined) return null;
    const mfn = d.p2m.mfnOf(s.gfn);
    if (mfn < 0) return null;
    return { page: this.ctrl.hv.pool.bytes.subarray(mfn * 4096, mfn * 4096 + 4096), port: s.port };
  }
}
