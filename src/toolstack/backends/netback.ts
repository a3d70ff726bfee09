// SPDX-License-Identifier: GPL-2.0-only
// netback: dom0's PV network backend (Linux drivers/net/xen-netback's role) speaking netif
// (xen/include/public/io/netif.h at RELEASE-4.7.0; xen-digest §9.7) for one vif, plugged into
// the host's software switch (src/hardware/net/switch.ts; the bridge of `bridge=`).
// Offered: feature-rx-copy only (the backend copies received frames into buffers the frontend
// granted; no flipping, scatter-gather, GSO, checksum offload, multi-queue or split channels).
// TX (guest → switch): each netif_tx_request's grant is mapped read-only, `size` bytes at
// `offset` are copied out and sent; more_data/extra_info (not offered), runts, frames over
// 1514 bytes and out-of-page ranges answer NETIF_RSP_ERROR. RX (switch → guest): a frame takes
// the next posted netif_rx_request, is copied into its granted page at offset 0 and answered
// with its length; without a posted buffer it is dropped (counted). A producer index more
// than a ring ahead halts the vif (logged, state Closing).
import type { Dom0Port, GrantMapping } from '../ctrl/dom0-dev.ts';
import { BackRing } from './back-ring.ts';
import { XenbusBackend, type BackendOptions } from './xenbus-backend.ts';

/** sizeof(struct netif_tx_request) = 12 (256 per ring), sizeof(struct netif_rx_request) = 8 (256). */
export const NETIF_TX_ENTRY = 12;
export const NETIF_RX_ENTRY = 8;
export const NETTXF_more_data = 1 << 2;
export const NETTXF_extra_info = 1 << 3;
export const NETIF_RSP_DROPPED = -2;
export const NETIF_RSP_ERROR = -1;
export const NETIF_RSP_OKAY = 0;
/** ETH_HLEN and ETH_FRAME_LEN: the smallest and largest frame without scatter-gather. */
const ETH_HLEN = 14;
const ETH_FRAME_LEN = 1514;

/** A port of the host's switch (EthernetSwitch.attach). */
export interface NetPort {
  send(frame: Uint8Array): void;
  detach(): void;
}

export interface NetbackOptions extends BackendOptions {
  /** The vif's MAC as xl's mac= gives it (aa:bb:cc:dd:ee:ff). */
  mac: string;
  /** Plug into the switch; `deliver` gets the frames for this vif. */
  plug(deliver: (frame: Uint8Array) => void): NetPort;
}

export class Netback extends XenbusBackend {
  private tx: BackRing | null = null;
  private rx: BackRing | null = null;
  private maps: GrantMapping[] = [];
  private port: Dom0Port | null = null;
  private wire: NetPort | null = null;
  private readonly req = new Uint8Array(NETIF_TX_ENTRY);
  private readonly reqView = new DataView(this.req.buffer);
  readonly stats = { txFrames: 0, txErrors: 0, rxFrames: 0, rxDropped: 0, rxErrors: 0 };

  constructor(private readonly n: NetbackOptions) {
    super(n);
  }

  protected async publish(): Promise<void> {
    const { xs, backendPath: be } = this.n;
    await xs.write(`${be}/feature-rx-copy`, '1');
    await xs.write(`${be}/feature-rx-flip`, '0');
    await xs.write(`${be}/feature-sg`, '0');
    await xs.write(`${be}/feature-gso-tcpv4`, '0');
    await xs.write(`${be}/multi-queue-max-queues`, '1');
  }

  /** connect_rings(): tx-ring-ref, rx-ring-ref, event-channel, request-rx-copy. */
  protected async connectRings(): Promise<string | null> {
    const txRef = await this.readInt('tx-ring-ref', 0, 0xffffffff);
    if (typeof txRef === 'string') return txRef;
    const rxRef = await this.readInt('rx-ring-ref', 0, 0xffffffff);
    if (typeof rxRef === 'string') return rxRef;
    const evtchn = await this.readInt('event-channel', 1, 0xffff);
    if (typeof evtchn === 'string') return `${evtchn} (split event channels are not supported)`;
    if ((await this.n.xs.read(`${this.n.frontendPath}/request-rx-copy`)) !== '1') return 'frontend does not request rx-copy (the only receive mode offered)';
    const t = this.n.dev.mapGrant(this.n.domid, txRef, false);
    this.maps.push(t);
    const r = this.n.dev.mapGrant(this.n.domid, rxRef, false);
    this.maps.push(r);
    this.tx = new BackRing(t.bytes, NETIF_TX_ENTRY);
    this.rx = new BackRing(r.bytes, NETIF_RX_ENTRY);
    if (!this.tx.pristine || !this.rx.pristine) return 'rings not initialised by the frontend';
    this.port = this.n.dev.bind(this.n.domid, evtchn, () => this.serviceTx());
    return null;
  }

  protected override connected(): void {
    this.wire = this.n.plug((f) => this.receive(f));
    this.serviceTx();
  }

  protected disconnect(): void {
    this.wire?.detach();
    this.wire = null;
    this.port?.close();
    this.port = null;
    for (const m of this.maps) m.unmap();
    this.maps = [];
    this.tx = this.rx = null;
  }

  /** net_tx_action(): every pending request becomes a frame on the switch and a response. */
  private serviceTx(): void {
    const ring = this.tx;
    if (ring === null) return;
    const frames: Uint8Array[] = [];
    let notify = false;
    do {
      const n = ring.unconsumed();
      if (n < 0) { this.halt(`tx req_prod ${ring.reqProd()} is more than a ring ahead of req_cons ${ring.reqCons}`); return; }
      for (let k = 0; k < n; k++) {
        const at = ring.entry(ring.reqCons);
        this.req.set(ring.bytes.subarray(at, at + NETIF_TX_ENTRY)); // one fetch of the request
        ring.reqCons = (ring.reqCons + 1) >>> 0;
        const q = this.reqView;
        const id = q.getUint16(8, true);
        const frame = this.txFrame(q.getUint32(0, true), q.getUint16(4, true), q.getUint16(6, true), q.getUint16(10, true));
        if (frame !== null) { frames.push(frame); this.stats.txFrames++; } else this.stats.txErrors++;
        const r = ring.entry(ring.rspProdPvt);
        ring.view.setUint16(r, id, true);
        ring.view.setInt16(r + 2, frame !== null ? NETIF_RSP_OKAY : NETIF_RSP_ERROR, true);
        ring.rspProdPvt = (ring.rspProdPvt + 1) >>> 0;
      }
      if (ring.pushResponses()) notify = true;
    } while (ring.finalCheck());
    if (notify) this.port?.notify();
    for (const f of frames) this.wire?.send(f);
  }

  private txFrame(gref: number, offset: number, flags: number, size: number): Uint8Array | null {
    if (flags & (NETTXF_more_data | NETTXF_extra_info)) return null; // feature-sg / GSO not offered
    if (size < ETH_HLEN || size > ETH_FRAME_LEN || offset + size > 4096) return null;
    let m: GrantMapping;
    try {
      m = this.n.dev.mapGrant(this.n.domid, gref, true);
    } catch {
      return null;
    }
    const f = m.bytes.slice(offset, offset + size);
    m.unmap();
    return f;
  }

  /** A frame from the switch for this vif: into the next posted rx buffer, or dropped. */
  private receive(frame: Uint8Array): void {
    const ring = this.rx;
    if (ring === null) return;
    const n = ring.unconsumed();
    if (n < 0) { this.halt(`rx req_prod ${ring.reqProd()} is more than a ring ahead of req_cons ${ring.reqCons}`); return; }
    if (n === 0 || frame.length > 4096) { this.stats.rxDropped++; return; }
    const at = ring.entry(ring.reqCons);
    const id = ring.view.getUint16(at, true);
    const gref = ring.view.getUint32(at + 4, true);
    ring.reqCons = (ring.reqCons + 1) >>> 0;
    let status = frame.length;
    try {
      const m = this.n.dev.mapGrant(this.n.domid, gref, false);
      m.bytes.set(frame, 0);
      m.unmap();
      this.stats.rxFrames++;
    } catch {
      status = NETIF_RSP_ERROR;
      this.stats.rxErrors++;
    }
    const r = ring.entry(ring.rspProdPvt);
    ring.view.setUint16(r, id, true);
    ring.view.setUint16(r + 2, 0, true); // offset
    ring.view.setUint16(r + 4, 0, true); // flags
    ring.view.setInt16(r + 6, status, true);
    ring.rspProdPvt = (ring.rspProdPvt + 1) >>> 0;
    if (ring.pushResponses()) this.port?.notify();
  }
}
