// SPDX-License-Identifier: GPL-2.0-only
// Test harness for the PV kernel (guests/pv): builds it, runs a real Hypervisor (src/hypervisor/
// xen.ts) with event channels and grant tables attached, creates PV domains from the kernel
// ELF with a command line, and plays dom0's console daemon: it drains every PV domain's console
// ring (struct xencons_interface, public/io/console.h; docs/abi.md §4 magic page +0x3000) and
// collects console_io output, per domain. The clock is the host's monotonic clock at 10 MHz.
// With { xenstore: true } it also runs the project's xenstored (src/toolstack/xenstored) the way
// the toolstack does for a new domain: writes /local/domain/<d>/domid, gives the domain its home
// directory, INTRODUCEs its ring (start_info.store_mfn/store_evtchn), and binds dom0's end of the
// store event channel; the rings are serviced after every scheduling round.
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { readFileSync } from 'node:fs';
import type { Domain } from '../../src/hypervisor/domain/domain.ts';
import { attachEvtchnGnttab, type EvtchnGnttab } from '../../src/hypervisor/event/attach.ts';
import { GUEST_MAGIC_BASE, MAGIC_CONSOLE } from '../../src/hypervisor/public/shared-info.ts';
import { Hypervisor } from '../../src/hypervisor/xen.ts';
import { Xenstored } from '../../src/toolstack/xenstored/core.ts';
import { RingConnection } from '../../src/toolstack/xenstored/ring.ts';
import { MemConn } from '../xenstored/harness.ts';

/** start_info offsets (docs/abi.md §4). */
const STI_STORE_MFN = 56;
const STI_STORE_EVTCHN = 64;
const XS_WRITE = 11;
const XS_SET_PERMS = 14;
const XS_INTRODUCE = 8;

/** struct xencons_interface offsets (public/io/console.h): in[1024], out[2048], then u32 indexes. */
const CONS_OUT = 1024;
const CONS_OUT_SIZE = 2048;
const CONS_OUT_CONS = 3080;
const CONS_OUT_PROD = 3084;

let kernel: Uint8Array | null = null;
/** The PV kernel ELF (built once per process by guests/pv/build.mjs). */
export function pvKernel(): Uint8Array {
  kernel ??= new Uint8Array(readFileSync(buildPvKernel()));
  return kernel;
}

export class RealClock {
  readonly frequency = 10_000_000;
  private readonly t0 = process.hrtime.bigint();
  now(): number {
    return Number((process.hrtime.bigint() - this.t0) / 100n);
  }
}

export interface PvHost {
  hv: Hypervisor;
  eg: EvtchnGnttab;
  /** Console text per domid (ring and console_io, in arrival order). */
  out: Map<number, string>;
  create(cmdline: string, o?: { memoryMiB?: number; maxVcpus?: number }): Domain;
  text(d: Domain): string;
  /** Run until pred() holds or `ms` of host time pass; returns pred()'s last value. */
  runUntil(pred: () => boolean, ms: number): boolean;
}

export function makePvHost(frames = 16384, o: { xenstore?: boolean } = {}): PvHost {
  const hv = new Hypervisor({ frames, timebase: new RealClock() });
  const eg = attachEvtchnGnttab(hv);
  const rings: RingConnection[] = [];
  let xs: { core: Xenstored; dom0: MemConn } | null = null;
  if (o.xenstore) {
    const core = new Xenstored({
      log: () => {},
      connectRing: (c, domid, gfn, evtchn) => {
        const d = hv.getDomain(domid);
        const mfn = d?.p2m.mfnOf(Number(gfn)) ?? -1;
        if (d === undefined || mfn < 0) return undefined;
        const dom0 = eg.channels(hv.dom0);
        const local = dom0.bindInterdomain(domid, evtchn);
        if (local < 0) return undefined;
        const ring = new RingConnection(c.newConnId(), domid, hv.pool.bytes.subarray(mfn * 4096, mfn * 4096 + 4096), {
          evtchn,
          notify: () => void dom0.send(local),
        });
        rings.push(ring);
        return ring;
      },
    });
    xs = { core, dom0: new MemConn(core) };
  }
  const out = new Map<number, string>();
  const dec = new TextDecoder();
  const append = (id: number, s: string): void => void out.set(id, (out.get(id) ?? '') + s);
  hv.onConsole = (d, bytes) => append(d.domid, dec.decode(bytes));
  const drain = (): void => {
    const dv = hv.pool.view;
    for (const d of hv.domains.values()) {
      if (d.domid === 0 || d.state === 'destroyed') continue;
      const mfn = d.p2m.mfnOf(GUEST_MAGIC_BASE / 4096 + MAGIC_CONSOLE);
      if (mfn < 0) continue;
      const base = mfn * 4096;
      let cons = dv.getUint32(base + CONS_OUT_CONS, true);
      const prod = dv.getUint32(base + CONS_OUT_PROD, true);
      if (prod === cons || ((prod - cons) >>> 0) > CONS_OUT_SIZE) continue;
      const bytes: number[] = [];
      while (cons !== prod) {
        bytes.push(hv.pool.bytes[base + CONS_OUT + (cons & (CONS_OUT_SIZE - 1))]!);
        cons = (cons + 1) >>> 0;
      }
      dv.setUint32(base + CONS_OUT_CONS, cons, true);
      append(d.domid, dec.decode(new Uint8Array(bytes)));
    }
  };
  const host: PvHost = {
    hv,
    eg,
    out,
    create(cmdline, o = {}) {
      const mem = o.memoryMiB ?? 4;
      const d = hv.createDomain({ type: 'pv', memoryMiB: mem, maxMemoryMiB: mem + 1, vcpus: 1, maxVcpus: o.maxVcpus ?? 1, kernel: pvKernel(), cmdline });
      if (xs !== null) {
        const si = d.p2m.mfnOf(GUEST_MAGIC_BASE / 4096) * 4096;
        const gfn = hv.pool.view.getUint32(si + STI_STORE_MFN, true);
        const port = hv.pool.view.getUint32(si + STI_STORE_EVTCHN, true);
        const home = `/local/domain/${d.domid}`;
        for (const [t, p] of [
          [XS_WRITE, `${home}/domid\0${d.domid}`],
          [XS_SET_PERMS, `${home}/domid\0n0\0r${d.domid}\0`],
          [XS_SET_PERMS, `${home}\0n${d.domid}\0`],
          [XS_INTRODUCE, `${d.domid}\0${gfn}\0${port}\0`],
        ] as const) {
          const r = xs.dom0.ask(t, p);
          if (r.startsWith('ERROR')) throw new Error(`xenstored: ${t} ${JSON.stringify(p)}: ${r}`);
        }
      }
      return d;
    },
    text: (d) => out.get(d.domid) ?? '',
    runUntil(pred, ms) {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) return false;
        const r = hv.run(4);
        drain();
        for (const ring of rings) ring.onEvent();
        if (r === 'idle') {
          // Nothing runnable: wait (busily, the test is single-threaded) for the next timer.
          const next = hv.nextWakeNs();
          const until = Math.min(next === Infinity ? hv.clock.nowNs() + 5e6 : next, hv.clock.nowNs() + 5e6);
          while (hv.clock.nowNs() < until && Date.now() <= end) { /* spin */ }
        }
      }
      drain();
      return true;
    },
  };
  return host;
}
