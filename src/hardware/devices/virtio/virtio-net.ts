// SPDX-License-Identifier: GPL-2.0-only
// virtio-net: an Ethernet NIC whose wire is a NetLink (a port of hardware/net/switch.ts, or
// later a TCP link). Spec: virtio-1.2 §5.1 "Network Device". One receiveq/transmitq pair;
// offers MAC, STATUS (link state) and MRG_RXBUF; every packet carries the 12-byte
// struct virtio_net_hdr (modern layout, with num_buffers).
// Leaves out: checksum/segmentation offloads (so the header's flags and gso_type are 0), the
// control virtqueue, multiqueue, RSS.

import { bit, ConfigSpace, type VirtioContext, type VirtioDevice, VIRTIO_ID_NET } from './virtio-device.ts';
import { chainRead, chainWrite, DescChain, POP_CHAIN } from './virtqueue.ts';

// Spec: virtio-1.2 §5.1.3 "Feature bits".
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
export const VIRTIO_NET_S_LINK_UP = 1;
/** struct virtio_net_hdr with num_buffers (Spec: virtio-1.2 §5.1.6 "Device Operation"). */
export const VIRTIO_NET_HDR_SIZE = 12;
const HDR_NUM_BUFFERS = 10;

export const VIRTIO_NET_QUEUE_SIZE = 256;
const RX_QUEUE = 0;
const TX_QUEUE = 1;
const ETH_HLEN = 14;
/** Largest frame accepted either way (no TSO/GSO offered: a 64 KiB jumbo frame is plenty). */
export const VIRTIO_NET_MAX_FRAME = 65535 + ETH_HLEN;
/** Frames kept while the guest has no receive buffers; older ones are dropped beyond this. */
const RX_BACKLOG = 256;
/** Most receive buffers one merged packet may use. */
const MAX_MERGED = 64;
// struct virtio_net_config (Spec: virtio-1.2 §5.1.4 "Device configuration layout").
const CFG_MAC = 0;
const CFG_STATUS = 6;
const CFG_MAX_VQ_PAIRS = 8;
const CFG_SIZE = 12;

/** The NIC's side of the wire. */
export interface NetLink {
  send(frame: Uint8Array): void;
}

export interface VirtioNetOptions {
  /** 6-byte MAC address (config space, VIRTIO_NET_F_MAC). */
  readonly mac: Uint8Array;
  /** Offer VIRTIO_NET_F_MRG_RXBUF (default true). */
  readonly mergeableRxBuffers?: boolean;
}

export interface VirtioNetStats {
  rxFrames: number;
  txFrames: number;
  rxDropped: number;
  txDropped: number;
}

export class VirtioNet implements VirtioDevice {
  readonly name = 'virtio-net';
  readonly deviceId = VIRTIO_ID_NET;
  readonly deviceFeatures: bigint;
  readonly queueMaxSizes = [VIRTIO_NET_QUEUE_SIZE, VIRTIO_NET_QUEUE_SIZE];
  readonly stats: VirtioNetStats = { rxFrames: 0, txFrames: 0, rxDropped: 0, txDropped: 0 };
  /** Where transmitted frames go; null: unplugged (frames are dropped). */
  link: NetLink | null = null;
  private ctx!: VirtioContext;
  private readonly config = new ConfigSpace(CFG_SIZE);
  // One chain per queue: a host hook called while transmitting may feed input back in.
  private readonly txChain = new DescChain(VIRTIO_NET_QUEUE_SIZE);
  private readonly rxChain = new DescChain(VIRTIO_NET_QUEUE_SIZE);
  private readonly txBuf = new Uint8Array(VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MAX_FRAME);
  private readonly hdr = new Uint8Array(VIRTIO_NET_HDR_SIZE);
  private readonly rxHeads = new Uint32Array(MAX_MERGED);
  private readonly rxLens = new Uint32Array(MAX_MERGED);
  private readonly numBuffersAt = new Float64Array(2);
  private readonly backlog: Uint8Array[] = [];

  constructor(opts: VirtioNetOptions) {
    if (opts.mac.length !== 6) throw new Error('virtio-net: a MAC address is 6 bytes'); // host config bug
    this.deviceFeatures = bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS) |
      (opts.mergeableRxBuffers === false ? 0n : bit(VIRTIO_NET_F_MRG_RXBUF));
    this.config.bytes.set(opts.mac, CFG_MAC);
    this.config.write(CFG_STATUS, 2, VIRTIO_NET_S_LINK_UP);
    this.config.write(CFG_MAX_VQ_PAIRS, 2, 1);
  }

  get mac(): Uint8Array {
    return this.config.bytes.slice(CFG_MAC, CFG_MAC + 6);
  }

  attach(ctx: VirtioContext): void { this.ctx = ctx; }
  readConfig(offset: number, size: number): number { return this.config.read(offset, size); }
  writeConfig(): void {} // the MAC is read-only without VIRTIO_NET_F_CTRL_MAC_ADDR
  reset(): void { this.backlog.length = 0; }

  activate(): void {
    this.drainBacklog();
  }

  /** Link state in the STATUS field; a change is a configuration change for the driver. */
  setLinkUp(up: boolean): void {
    const v = up ? VIRTIO_NET_S_LINK_UP : 0;
    if (this.config.read(CFG_STATUS, 2) === v) return;
    this.config.write(CFG_STATUS, 2, v);
    this.ctx?.configChanged();
  }

  get linkUp(): boolean {
    return (this.config.read(CFG_STATUS, 2) & VIRTIO_NET_S_LINK_UP) !== 0;
  }

  queueNotify(q: number): void {
    if (q === TX_QUEUE) this.transmit();
    else if (q === RX_QUEUE) this.drainBacklog();
  }

  queueReset(q: number): void {
    if (q === RX_QUEUE) this.backlog.length = 0;
  }

  /** Spec: virtio-1.2 §5.1.6.2 "Packet Transmission": header then frame, used len 0. */
  private transmit(): void {
    const vq = this.ctx.queues[TX_QUEUE]!;
    const mem = this.ctx.mem;
    let any = false;
    while (vq.pop(this.txChain) === POP_CHAIN) {
      const total = this.txChain.readableLen;
      let len = -1;
      if (total >= VIRTIO_NET_HDR_SIZE + ETH_HLEN && total <= this.txBuf.length) {
        len = chainRead(mem, this.txChain, 0, this.txBuf, 0, total);
      }
      if (!vq.pushUsed(this.txChain.head, 0)) return;
      any = true;
      if (len !== total || !this.linkUp || !this.link) {
        this.stats.txDropped++;
        continue;
      }
      this.stats.txFrames++;
      // The receiver copies during the call (switch.ts contract), so txBuf can be reused.
      this.link.send(this.txBuf.subarray(VIRTIO_NET_HDR_SIZE, total));
    }
    if (any) this.ctx.notifyUsed(TX_QUEUE);
  }

  /**
   * A frame from the wire. Delivered now if the guest has receive buffers, else kept (copied)
   * in a bounded backlog until it adds some. Without a running driver (before DRIVER_OK, after
   * a reset or an error) the NIC drops frames, as a NIC without a driver does.
   * Returns false if the frame was dropped.
   */
  receive(frame: Uint8Array): boolean {
    if (frame.length < ETH_HLEN || frame.length > VIRTIO_NET_MAX_FRAME || !this.linkUp || !this.ctx?.running) {
      this.stats.rxDropped++;
      return false;
    }
    if (this.backlog.length === 0 && this.deliver(frame)) return true;
    if (this.backlog.length >= RX_BACKLOG) {
      this.stats.rxDropped++;
      return false;
    }
    this.backlog.push(frame.slice());
    return true;
  }

  private drainBacklog(): void {
    while (this.backlog.length > 0 && this.deliver(this.backlog[0]!)) this.backlog.shift();
  }

  /**
   * Spec: virtio-1.2 §5.1.6.4 "Processing of Incoming Packets". Without MRG_RXBUF the packet
   * must fit one buffer (num_buffers = 1); with it, it is spread over as many buffers as
   * needed, every one but the last filled completely, all published together. Returns false
   * (nothing used) when the guest has not supplied enough buffers yet.
   */
  private deliver(frame: Uint8Array): boolean {
    const ctx = this.ctx;
    const vq = ctx?.queues[RX_QUEUE];
    if (!vq || !ctx.running || !vq.live) return false;
    const mrg = ctx.hasFeature(VIRTIO_NET_F_MRG_RXBUF);
    const total = VIRTIO_NET_HDR_SIZE + frame.length;
    this.hdr.fill(0); // flags 0, gso_type VIRTIO_NET_HDR_GSO_NONE: a fully checksummed packet
    const maxBuffers = mrg ? MAX_MERGED : 1;
    let n = 0;
    let pos = 0; // bytes of header + frame placed so far
    while (pos < total) {
      if (n === maxBuffers) return this.drop(n); // does not fit: drop it, keep the buffers
      if (vq.pop(this.rxChain) !== POP_CHAIN) {
        vq.unpop(n); // not enough buffers yet: keep the frame for later
        return false;
      }
      const c = this.rxChain;
      if (n === 0) {
        // Spec: virtio-1.2 §5.1.6.3.1 "Driver Requirements: Setting Up Receive Buffers": "If
        // VIRTIO_NET_F_MRG_RXBUF is negotiated, each buffer MUST be at least the size of the
        // struct virtio_net_hdr." Without it, buffers SHOULD hold 1526 bytes: a small one only
        // costs the packet.
        if (c.writableLen < VIRTIO_NET_HDR_SIZE) return mrg ? this.fault(n + 1) : this.drop(n + 1);
        this.locateNumBuffers(c);
      }
      const take = Math.min(c.writableLen, total - pos);
      if (take < total - pos && !mrg) return this.drop(n + 1);
      // Header bytes first (only in the first buffer), then the frame.
      let w = 0;
      if (pos < VIRTIO_NET_HDR_SIZE) {
        const h = Math.min(VIRTIO_NET_HDR_SIZE - pos, take);
        if (chainWrite(ctx.mem, c, 0, this.hdr, pos, h) !== h) return this.fault(n + 1);
        w = h;
      }
      const f = take - w;
      if (f > 0 && chainWrite(ctx.mem, c, w, frame, pos + w - VIRTIO_NET_HDR_SIZE, f) !== f) return this.fault(n + 1);
      this.rxHeads[n] = c.head;
      this.rxLens[n] = take;
      n++;
      pos += take;
    }
    // num_buffers, now that it is known; the two bytes may lie in different segments.
    if (!ctx.mem.writeU8(this.numBuffersAt[0]!, n & 0xff) || !ctx.mem.writeU8(this.numBuffersAt[1]!, n >>> 8)) return this.fault(n);
    for (let i = 0; i < n; i++) if (!vq.addUsed(this.rxHeads[i]!, this.rxLens[i]!)) return true;
    if (!vq.publishUsed()) return true;
    this.stats.rxFrames++;
    ctx.notifyUsed(RX_QUEUE);
    return true;
  }

  /** Guest addresses of header bytes 10 and 11 (num_buffers) in the first buffer's writable part. */
  private locateNumBuffers(c: DescChain): void {
    for (let b = 0; b < 2; b++) {
      let pos = HDR_NUM_BUFFERS + b;
      for (let i = c.firstWritable; i < c.count; i++) {
        if (pos < c.len[i]!) { this.numBuffersAt[b] = c.addr[i]! + pos; break; }
        pos -= c.len[i]!;
      }
    }
  }

  /** The packet does not fit the buffers supplied: drop it and give the `n` popped buffers back. */
  private drop(n: number): boolean {
    this.ctx.queues[RX_QUEUE]!.unpop(n);
    this.stats.rxDropped++;
    return true;
  }

  /** The driver broke a rule, or memory changed under us mid-packet: drop the packet, needs reset. */
  private fault(popped: number): boolean {
    this.ctx.queues[RX_QUEUE]!.unpop(popped);
    this.stats.rxDropped++;
    this.ctx.needsReset();
    return true;
  }

  save(): unknown {
    return { version: 1, mac: [...this.mac], linkUp: this.linkUp };
  }

  restore(state: unknown): boolean {
    const s = state as { version?: unknown; mac?: unknown; linkUp?: unknown } | null;
    if (s?.version !== 1 || !Array.isArray(s.mac) || s.mac.length !== 6) return false;
    this.config.bytes.set(s.mac.map((x) => Number(x) & 0xff), CFG_MAC);
    this.config.write(CFG_STATUS, 2, s.linkUp ? VIRTIO_NET_S_LINK_UP : 0);
    return true;
  }
}
