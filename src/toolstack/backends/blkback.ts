// SPDX-License-Identifier: GPL-2.0-only
// blkback: dom0's PV block backend (Linux drivers/block/xen-blkback's role) speaking blkif
// (xen/include/public/io/blkif.h, io/ring.h at RELEASE-4.7.0; xen-digest §9.6-§9.7) for one
// vbd of one domain, over a raw image. The xenbus side: publishes feature-flush-cache,
// sectors, sector-size, physical-sector-size and info, goes to InitWait; when the frontend is
// Initialised (or Connected) maps its ring-ref through the grant table, binds its
// event-channel, goes to Connected; follows the frontend to Closing and, once it is Closed,
// unmaps, unbinds and goes to Closed. The ring side: BLKIF_OP_READ / WRITE (up to 11
// segments, each a granted frame mapped for the copy and unmapped after), FLUSH_DISKCACHE;
// WRITE_BARRIER, DISCARD and INDIRECT are not offered and answer EOPNOTSUPP.
// The frontend is hostile: each request is copied out of the shared ring before it is
// checked; a producer index more than a ring ahead stops the ring (logged, state Closing);
// bad segments, out-of-range sectors, writes to a read-only disk and failed grant maps are
// BLKIF_RSP_ERROR for that request only.
import type { Dom0Dev, Dom0Port, GrantMapping } from '../ctrl/dom0-dev.ts';
import { XenbusState } from '../light/device-layout.ts';

// public/io/ring.h: struct blkif_sring = req_prod, req_event, rsp_prod, rsp_event, 48 bytes
// of padding, then the ring of union blkif_sring_entry (sizeof(struct blkif_request) = 112).
const SRING_REQ_PROD = 0;
const SRING_REQ_EVENT = 4;
const SRING_RSP_PROD = 8;
const SRING_RSP_EVENT = 12;
const SRING_RING = 64;
export const BLKIF_ENTRY_SIZE = 112;
/** __RING_SIZE: (4096 - 64) / 112 = 36, rounded down to a power of two. */
export const BLKIF_RING_SIZE = 32;

export const BLKIF_OP_READ = 0;
export const BLKIF_OP_WRITE = 1;
export const BLKIF_OP_WRITE_BARRIER = 2;
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
export const BLKIF_OP_DISCARD = 5;
export const BLKIF_OP_INDIRECT = 6;
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
export const BLKIF_RSP_EOPNOTSUPP = -2;
export const BLKIF_RSP_ERROR = -1;
export const BLKIF_RSP_OKAY = 0;
/** blkif.h: sector_number, first_sect and last_sect are always in 512-byte units. */
const SECTOR = 512;
/** info bits (blkif.h VDISK_*). */
export const VDISK_CDROM = 1;
export const VDISK_REMOVABLE = 2;
export const VDISK_READONLY = 4;
/** The protocol name our frontends write (docs/abi.md; x86 has "x86_64-abi", ARM "arm-abi"). */
export const XEN_IO_PROTO_ABI_NATIVE = 'riscv64-abi';

/** A raw image (src/host/block-file.ts's BlockFile has this shape). */
export interface BlockStore {
  readonly size: number;
  readonly readOnly: boolean;
  read(offset: number, dst: Uint8Array): boolean;
  write(offset: number, src: Uint8Array): boolean;
  flush(): boolean;
}

/** The xenstore operations a backend driver uses (dom0's connection). */
export interface BackendXs {
  read(path: string): Promise<string | null>;
  write(path: string, value: string): Promise<unknown>;
  /** Watch `path`; `fire` runs on the initial event and every change. Returns the unwatch. */
  watch(path: string, fire: () => void): Promise<() => Promise<void>>;
}

export interface BlkbackOptions {
  domid: number;
  devid: number;
  backendPath: string;
  frontendPath: string;
  xs: BackendXs;
  dev: Pick<Dom0Dev, 'bind' | 'mapGrant'>;
  disk: BlockStore;
  cdrom?: boolean;
  log(line: string): void;
}

export class Blkback {
  state: number = XenbusState.Initialising;
  /** Every state this backend published, in order (docs, tests). */
  readonly states: number[] = [];
  private ring: GrantMapping | null = null;
  private port: Dom0Port | null = null;
  private reqCons = 0;
  private rspProdPvt = 0;
  private stopped = false;
  private unwatch: (() => Promise<void>) | null = null;
  private busy: Promise<void> = Promise.resolve();
  private readonly req = new Uint8Array(BLKIF_ENTRY_SIZE);
  private readonly reqView = new DataView(this.req.buffer);
  /** Requests served (reads, writes, flushes) and failed, for logs and tests. */
  readonly stats = { reads: 0, writes: 0, flushes: 0, errors: 0, bytesRead: 0, bytesWritten: 0 };

  constructor(private readonly o: BlkbackOptions) {}

  private async setState(s: number): Promise<void> {
    this.state = s;
    this.states.push(s);
    await this.o.xs.write(`${this.o.backendPath}/state`, String(s));
  }

  /** Publish the disk and go to InitWait; then follow the frontend's state node. */
  async start(): Promise<void> {
    const { xs, backendPath: be, disk } = this.o;
    const info = (disk.readOnly ? VDISK_READONLY : 0) | (this.o.cdrom ? VDISK_CDROM : 0);
    await xs.write(`${be}/feature-flush-cache`, '1');
    await xs.write(`${be}/sectors`, String(Math.floor(disk.size / SECTOR)));
    await xs.write(`${be}/sector-size`, String(SECTOR));
    await xs.write(`${be}/physical-sector-size`, String(SECTOR));
    await xs.write(`${be}/info`, String(info));
    await this.setState(XenbusState.InitWait);
    this.unwatch = await xs.watch(`${this.o.frontendPath}/state`, () => {
      this.busy = this.busy.then(() => this.frontendChanged()).catch((e: unknown) => this.o.log(`${be}: ${e instanceof Error ? e.message : String(e)}`));
    });
  }

  /** blkback's frontend_changed(). */
  private async frontendChanged(): Promise<void> {
    if (this.stopped) return;
    const v = await this.o.xs.read(`${this.o.frontendPath}/state`);
    const fe = v === null ? XenbusState.Unknown : Number(v);
    switch (fe) {
      case XenbusState.Initialised:
      case XenbusState.Connected:
        if (this.state === XenbusState.InitWait) await this.connect();
        break;
      case XenbusState.Closing:
        if (this.state !== XenbusState.Closed && this.state !== XenbusState.Closing) await this.setState(XenbusState.Closing);
        break;
      case XenbusState.Closed:
      case XenbusState.Unknown:
        this.disconnect();
        if (this.state !== XenbusState.Closed) await this.setState(XenbusState.Closed);
        break;
      case XenbusState.Initialising:
        // A frontend restarting after Closed: offer the disk again (if the toolstack still wants it).
        if (this.state === XenbusState.Closed && (await this.o.xs.read(`${this.o.backendPath}/online`)) === '1') await this.setState(XenbusState.InitWait);
        break;
    }
  }

  /** connect_ring(): ring-ref, event-channel, protocol; map and bind; Connected. */
  private async connect(): Promise<void> {
    const { xs, frontendPath: fe, backendPath: be, domid } = this.o;
    const ref = Number(await xs.read(`${fe}/ring-ref`));
    const evtchn = Number(await xs.read(`${fe}/event-channel`));
    const proto = await xs.read(`${fe}/protocol`);
    const bad = (why: string): Promise<unknown> => {
      this.o.log(`${be}: ${why}`);
      return xs.write(`${be}/error`, why).then(() => this.setState(XenbusState.Closing));
    };
    if (!Number.isInteger(ref) || ref < 0 || ref > 0xffffffff) { await bad(`bad ring-ref ${ref}`); return; }
    if (!Number.isInteger(evtchn) || evtchn <= 0 || evtchn > 0xffff) { await bad(`bad event-channel ${evtchn}`); return; }
    if (proto !== null && proto !== XEN_IO_PROTO_ABI_NATIVE) { await bad(`unsupported protocol ${proto}`); return; }
    try {
      this.ring = this.o.dev.mapGrant(domid, ref, false);
      this.port = this.o.dev.bind(domid, evtchn, () => this.service());
    } catch (e) {
      this.disconnect();
      await bad(`mapping ring-ref ${ref} / event-channel ${evtchn}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.reqCons = 0;
    this.rspProdPvt = 0;
    const dv = this.view();
    if (dv.getUint32(SRING_RSP_PROD, true) !== 0 || dv.getUint32(SRING_REQ_PROD, true) > BLKIF_RING_SIZE) {
      this.disconnect();
      await bad('ring not initialised by the frontend');
      return;
    }
    await this.setState(XenbusState.Connected);
    this.o.log(`${be}: connected (ring-ref ${ref}, event-channel ${evtchn})`);
    this.service(); // requests queued before we bound
  }

  private view(): DataView {
    const b = this.ring!.bytes;
    return new DataView(b.buffer, b.byteOffset, 4096);
  }

  private disconnect(): void {
    this.port?.close();
    this.port = null;
    this.ring?.unmap();
    this.ring = null;
  }

  /**
   * The toolstack's removal (libxl__initiate_device_remove): backend online=0 and state Closing;
   * then wait, up to `timeoutMs`, for the frontend to close and this backend to reach Closed.
   * Resolves true if it did (a clean detach), false on timeout (the caller forces it).
   */
  async remove(timeoutMs: number): Promise<boolean> {
    await this.o.xs.write(`${this.o.backendPath}/online`, '0');
    if (this.state !== XenbusState.Closed) await this.setState(XenbusState.Closing);
    const end = Date.now() + timeoutMs;
    while (this.state !== XenbusState.Closed) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    await this.busy;
    return true;
  }

  /** Tear down for good (device removed or domain gone). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disconnect();
    await this.unwatch?.().catch(() => {});
    this.unwatch = null;
  }

  /** do_block_io_op(): consume requests, answer each, notify as RING_PUSH_RESPONSES_AND_CHECK_NOTIFY says. */
  service(): void {
    if (this.ring === null) return;
    const dv = this.view();
    const bytes = this.ring.bytes;
    let notify = false;
    for (;;) {
      const rp = dv.getUint32(SRING_REQ_PROD, true);
      if (((rp - this.reqCons) >>> 0) > BLKIF_RING_SIZE) {
        this.o.log(`${this.o.backendPath}: frontend req_prod ${rp} is more than a ring ahead of req_cons ${this.reqCons}; ring halted`);
        this.disconnect();
        void this.setState(XenbusState.Closing).catch(() => {});
        return;
      }
      while (this.reqCons !== rp) {
        const at = SRING_RING + (this.reqCons & (BLKIF_RING_SIZE - 1)) * BLKIF_ENTRY_SIZE;
        this.req.set(bytes.subarray(at, at + BLKIF_ENTRY_SIZE)); // RING_COPY_REQUEST: no double fetch
        this.reqCons = (this.reqCons + 1) >>> 0;
        const status = this.handle();
        if (status !== BLKIF_RSP_OKAY) this.stats.errors++;
        const r = SRING_RING + (this.rspProdPvt & (BLKIF_RING_SIZE - 1)) * BLKIF_ENTRY_SIZE;
        bytes.set(this.req.subarray(8, 16), r); // id (blkif_request.id is at 8, blkif_response.id at 0)
        bytes[r + 8] = this.req[0]!; // operation
        dv.setInt16(r + 10, status, true);
        this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
      }
      const old = dv.getUint32(SRING_RSP_PROD, true);
      const now = this.rspProdPvt;
      if (old !== now) {
        Atomics.store(new Int32Array(bytes.buffer, bytes.byteOffset + SRING_RSP_PROD, 1), 0, now | 0);
        const ev = dv.getUint32(SRING_RSP_EVENT, true);
        if (((now - ev) >>> 0) < ((now - old) >>> 0)) notify = true;
      }
      // RING_FINAL_CHECK_FOR_REQUESTS
      Atomics.store(new Int32Array(bytes.buffer, bytes.byteOffset + SRING_REQ_EVENT, 1), 0, (this.reqCons + 1) | 0);
      if (dv.getUint32(SRING_REQ_PROD, true) === this.reqCons) break;
    }
    if (notify) this.port?.notify();
  }

  /** One request (already copied into this.req); returns its BLKIF_RSP_* status. */
  private handle(): number {
    const q = this.reqView;
    const op = q.getUint8(0);
    switch (op) {
      case BLKIF_OP_READ:
      case BLKIF_OP_WRITE: return this.rw(op === BLKIF_OP_WRITE);
      case BLKIF_OP_FLUSH_DISKCACHE:
        this.stats.flushes++;
        return this.o.disk.flush() ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
      default:
        return BLKIF_RSP_EOPNOTSUPP; // WRITE_BARRIER, DISCARD, INDIRECT: not offered
    }
  }

  private rw(write: boolean): number {
    const q = this.reqView;
    const n = q.getUint8(1);
    const sector = Number(q.getBigUint64(16, true));
    const disk = this.o.disk;
    if (write && disk.readOnly) return BLKIF_RSP_ERROR;
    if (n === 0 || n > BLKIF_MAX_SEGMENTS_PER_REQUEST) return BLKIF_RSP_ERROR;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const first = q.getUint8(24 + i * 8 + 4), last = q.getUint8(24 + i * 8 + 5);
      if (last < first || last >= 4096 / SECTOR) return BLKIF_RSP_ERROR;
      total += (last - first + 1) * SECTOR;
    }
    if (!Number.isSafeInteger(sector * SECTOR) || sector * SECTOR + total > disk.size) return BLKIF_RSP_ERROR;
    let off = sector * SECTOR;
    for (let i = 0; i < n; i++) {
      const gref = q.getUint32(24 + i * 8, true);
      const first = q.getUint8(24 + i * 8 + 4), last = q.getUint8(24 + i * 8 + 5);
      const len = (last - first + 1) * SECTOR;
      let m: GrantMapping;
      try {
        // A write reads the guest's page: map it read-only; a read fills it.
        m = this.o.dev.mapGrant(this.o.domid, gref, write);
      } catch {
        return BLKIF_RSP_ERROR;
      }
      const buf = m.bytes.subarray(first * SECTOR, first * SECTOR + len);
      const ok = write ? disk.write(off, buf) : disk.read(off, buf);
      m.unmap();
      if (!ok) return BLKIF_RSP_ERROR;
      off += len;
    }
    if (write) { this.stats.writes++; this.stats.bytesWritten += total; } else { this.stats.reads++; this.stats.bytesRead += total; }
    return BLKIF_RSP_OKAY;
  }
}
