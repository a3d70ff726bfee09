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
import type { Dom0Port, GrantMapping } from '../ctrl/dom0-dev.ts';
import { BackRing } from './back-ring.ts';
import { XenbusBackend, type BackendOptions } from './xenbus-backend.ts';

/** sizeof(struct blkif_request): the ring entry (ring.h gives 32 of them in one page). */
export const BLKIF_ENTRY_SIZE = 112;

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

export interface BlkbackOptions extends BackendOptions {
  disk: BlockStore;
  cdrom?: boolean;
}

export class Blkback extends XenbusBackend {
  private ring: BackRing | null = null;
  private mapping: GrantMapping | null = null;
  private port: Dom0Port | null = null;
  private readonly req = new Uint8Array(BLKIF_ENTRY_SIZE);
  private readonly reqView = new DataView(this.req.buffer);
  /** Requests served (reads, writes, flushes) and failed, for logs and tests. */
  readonly stats = { reads: 0, writes: 0, flushes: 0, errors: 0, bytesRead: 0, bytesWritten: 0 };

  constructor(private readonly b: BlkbackOptions) {
    super(b);
  }

  protected async publish(): Promise<void> {
    const { xs, backendPath: be, disk } = this.b;
    const info = (disk.readOnly ? VDISK_READONLY : 0) | (this.b.cdrom ? VDISK_CDROM : 0);
    await xs.write(`${be}/feature-flush-cache`, '1');
    await xs.write(`${be}/sectors`, String(Math.floor(disk.size / SECTOR)));
    await xs.write(`${be}/sector-size`, String(SECTOR));
    await xs.write(`${be}/physical-sector-size`, String(SECTOR));
    await xs.write(`${be}/info`, String(info));
  }

  /** connect_ring(): ring-ref, event-channel, protocol; map and bind. */
  protected async connectRings(): Promise<string | null> {
    const ref = await this.readInt('ring-ref', 0, 0xffffffff);
    if (typeof ref === 'string') return ref;
    const evtchn = await this.readInt('event-channel', 1, 0xffff);
    if (typeof evtchn === 'string') return evtchn;
    const proto = await this.b.xs.read(`${this.b.frontendPath}/protocol`);
    if (proto !== null && proto !== XEN_IO_PROTO_ABI_NATIVE) return `unsupported protocol ${proto}`;
    this.mapping = this.b.dev.mapGrant(this.b.domid, ref, false);
    this.ring = new BackRing(this.mapping.bytes, BLKIF_ENTRY_SIZE);
    if (!this.ring.pristine) return 'ring not initialised by the frontend';
    this.port = this.b.dev.bind(this.b.domid, evtchn, () => this.service());
    return null;
  }

  protected override connected(): void {
    this.service(); // requests queued before we bound
  }

  protected disconnect(): void {
    this.port?.close();
    this.port = null;
    this.mapping?.unmap();
    this.mapping = null;
    this.ring = null;
  }

  /** do_block_io_op(): consume requests, answer each, notify as RING_PUSH_RESPONSES_AND_CHECK_NOTIFY says. */
  service(): void {
    const ring = this.ring;
    if (ring === null) return;
    const bytes = ring.bytes;
    let notify = false;
    do {
      const n = ring.unconsumed();
      if (n < 0) {
        this.halt(`frontend req_prod ${ring.reqProd()} is more than a ring ahead of req_cons ${ring.reqCons}`);
        return;
      }
      for (let k = 0; k < n; k++) {
        const at = ring.entry(ring.reqCons);
        this.req.set(bytes.subarray(at, at + BLKIF_ENTRY_SIZE)); // RING_COPY_REQUEST: no double fetch
        ring.reqCons = (ring.reqCons + 1) >>> 0;
        const status = this.handle();
        if (status !== BLKIF_RSP_OKAY) this.stats.errors++;
        const r = ring.entry(ring.rspProdPvt);
        bytes.set(this.req.subarray(8, 16), r); // id (blkif_request.id is at 8, blkif_response.id at 0)
        bytes[r + 8] = this.req[0]!; // operation
        ring.view.setInt16(r + 10, status, true);
        ring.rspProdPvt = (ring.rspProdPvt + 1) >>> 0;
      }
      if (ring.pushResponses()) notify = true;
    } while (ring.finalCheck());
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
        return this.b.disk.flush() ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
      default:
        return BLKIF_RSP_EOPNOTSUPP; // WRITE_BARRIER, DISCARD, INDIRECT: not offered
    }
  }

  private rw(write: boolean): number {
    const q = this.reqView;
    const n = q.getUint8(1);
    const sector = Number(q.getBigUint64(16, true));
    const disk = this.b.disk;
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
        m = this.b.dev.mapGrant(this.b.domid, gref, write);
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
