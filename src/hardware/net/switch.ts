// SPDX-License-Identifier: GPL-2.0-only
// A learning Ethernet switch in the host process (IEEE 802.1D transparent bridging, reduced):
// ports are delivery callbacks (a NIC's receive, later a TCP link to another host); source
// MACs are learned per port and age out; broadcast, multicast and unknown unicast are
// flooded to every other port. Leaves out: VLANs, STP, per-port rate limits.
//
// Frames are passed by reference and only for the duration of the call: a receiver that keeps
// one must copy it. A delivery that sends (an echo responder, a bridge) is queued and forwarded
// after the current frame, so reflecting ports cannot recurse without bound.

export type DeliverFn = (frame: Uint8Array) => void;

export interface SwitchPort {
  readonly id: number;
  readonly name: string;
  /** Frames this port sent into the switch, and frames the switch delivered to it. */
  readonly stats: { rxFrames: number; txFrames: number };
  /** Put a frame on the wire from this port. */
  send(frame: Uint8Array): void;
  detach(): void;
}

export interface EthernetSwitchOptions {
  /** Milliseconds clock for MAC aging (default Date.now; tests pass a virtual clock). */
  readonly now?: () => number;
  /** Age after which a learned MAC is forgotten (802.1D default: 300 s). */
  readonly agingMs?: number;
  /** Most MACs remembered; the oldest is forgotten first. */
  readonly maxEntries?: number;
}

const ETH_HLEN = 14;
/** Most frames queued by re-entrant sends (and forwarded per outer send) before further ones are dropped. */
const MAX_QUEUED = 1024;

interface Port extends SwitchPort {
  deliver: DeliverFn | null;
}
interface MacEntry { port: Port; seen: number; }

/** The 48-bit MAC at `off` as an exact JS integer. */
function macAt(f: Uint8Array, off: number): number {
  return ((f[off]! << 8) | f[off + 1]!) * 0x1_0000_0000 + ((f[off + 2]! << 24) >>> 0) + (f[off + 3]! << 16) + (f[off + 4]! << 8) + f[off + 5]!;
}

export class EthernetSwitch {
  private readonly ports: Port[] = [];
  private readonly table = new Map<number, MacEntry>();
  private readonly now: () => number;
  private readonly agingMs: number;
  private readonly maxEntries: number;
  private nextId = 0;
  private busy = false;
  private readonly queue: { port: Port; frame: Uint8Array }[] = [];
  /** Frames dropped: runts, re-entrant overflow. */
  dropped = 0;
  flooded = 0;

  constructor(opts: EthernetSwitchOptions = {}) {
    this.now = opts.now ?? (() => Date.now());
    this.agingMs = opts.agingMs ?? 300_000;
    this.maxEntries = opts.maxEntries ?? 4096;
  }

  /** Add a port that receives frames through `deliver`. */
  attach(deliver: DeliverFn, name = `port${this.nextId}`): SwitchPort {
    const port: Port = {
      id: this.nextId++,
      name,
      stats: { rxFrames: 0, txFrames: 0 },
      deliver,
      send: (frame) => this.input(port, frame),
      detach: () => this.detach(port),
    };
    this.ports.push(port);
    return port;
  }

  private detach(port: Port): void {
    const i = this.ports.indexOf(port);
    if (i >= 0) this.ports.splice(i, 1);
    port.deliver = null;
    for (const [mac, e] of this.table) if (e.port === port) this.table.delete(mac);
  }

  /** Which port a MAC was learned on (undefined if unknown or aged out). */
  lookup(mac: number): SwitchPort | undefined {
    const e = this.table.get(mac);
    return e && this.now() - e.seen < this.agingMs ? e.port : undefined;
  }

  get macCount(): number {
    return this.table.size;
  }

  private input(port: Port, frame: Uint8Array): void {
    if (!port.deliver) return; // detached
    if (frame.length < ETH_HLEN) {
      this.dropped++;
      return;
    }
    if (this.busy) {
      if (this.queue.length >= MAX_QUEUED) this.dropped++;
      else this.queue.push({ port, frame: frame.slice() });
      return;
    }
    this.busy = true;
    try {
      this.forward(port, frame);
      // Bounded: ports that answer every frame (two reflectors, a storm) cannot livelock us.
      let budget = MAX_QUEUED;
      for (let q = this.queue.shift(); q; q = this.queue.shift()) {
        if (budget-- > 0) this.forward(q.port, q.frame);
        else this.dropped++;
      }
    } finally {
      this.busy = false;
    }
  }

  private forward(port: Port, frame: Uint8Array): void {
    port.stats.rxFrames++;
    const now = this.now();
    // Learn the source unless it is a group address (never a valid source).
    if ((frame[6]! & 1) === 0) {
      const src = macAt(frame, 6);
      const e = this.table.get(src);
      if (e) {
        this.table.delete(src); // re-insert: Map order is then oldest first
        e.port = port;
        e.seen = now;
        this.table.set(src, e);
      } else {
        if (this.table.size >= this.maxEntries) this.table.delete(this.table.keys().next().value!);
        this.table.set(src, { port, seen: now });
      }
    }
    if ((frame[0]! & 1) === 0) {
      const e = this.table.get(macAt(frame, 0));
      if (e && now - e.seen < this.agingMs) {
        if (e.port !== port) this.deliverTo(e.port, frame); // same port: filtered
        return;
      }
    }
    this.flooded++;
    for (const p of this.ports) if (p !== port) this.deliverTo(p, frame);
  }

  private deliverTo(p: Port, frame: Uint8Array): void {
    if (!p.deliver) return;
    p.stats.txFrames++;
    p.deliver(frame);
  }
}

/** "52:54:00:12:34:56" -> 6 bytes; undefined if malformed. */
export function parseMac(s: string): Uint8Array | undefined {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(b: Uint8Array): string {
  return [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The MAC in `b` (6 bytes) as the number the switch's lookup() takes. */
export function macNumber(b: Uint8Array): number {
  return macAt(b, 0);
}
