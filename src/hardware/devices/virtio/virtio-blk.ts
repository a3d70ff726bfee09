// SPDX-License-Identifier: GPL-2.0-only
// virtio-blk: a block device over a BlockBackend (raw image files in host/block-file.ts, or
// RAM). Spec: virtio-1.2 §5.2 "Block Device". One request queue; requests are served
// synchronously when the driver notifies. Offers SIZE_MAX, SEG_MAX, BLK_SIZE, FLUSH and RO
// (read-only option); handles IN, OUT, FLUSH and GET_ID, and answers anything else UNSUPP.
// Leaves out: MQ, DISCARD, WRITE_ZEROES, SECURE_ERASE, LIFETIME, CONFIG_WCE, TOPOLOGY.

import { GM_ACCESS_R, GM_ACCESS_W } from './guest-memory.ts';
import { bit, ConfigSpace, type VirtioContext, type VirtioDevice, VIRTIO_ID_BLOCK } from './virtio-device.ts';
import { chainRead, chainWrite, DescChain, POP_CHAIN } from './virtqueue.ts';

// Spec: virtio-1.2 §5.2.3 "Feature bits".
export const VIRTIO_BLK_F_SIZE_MAX = 1;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;
// Spec: virtio-1.2 §5.2.6 "Device Operation".
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
export const VIRTIO_BLK_ID_BYTES = 20;
export const SECTOR_SIZE = 512;

export const VIRTIO_BLK_QUEUE_SIZE = 256;
/** Largest single segment we advertise (size_max); larger ones are still served. */
const SIZE_MAX = 1 << 20;
const BOUNCE_SIZE = 64 * 1024;
const REQ_HDR_SIZE = 16;
// Offsets in struct virtio_blk_config (Spec: virtio-1.2 §5.2.4 "Device configuration layout").
const CFG_CAPACITY = 0;
const CFG_SIZE_MAX = 8;
const CFG_SEG_MAX = 12;
const CFG_BLK_SIZE = 20;
const CFG_NUM_QUEUES = 34;
const CFG_SIZE = 72;

/**
 * Storage behind a virtio-blk device. Synchronous for now. Methods return false on an I/O
 * error (reported to the guest as VIRTIO_BLK_S_IOERR) and never throw.
 */
export interface BlockBackend {
  /** Size in bytes; the device exposes whole 512-byte sectors. */
  readonly size: number;
  readonly readOnly: boolean;
  /** Fill `dst` from byte `offset`. */
  read(offset: number, dst: Uint8Array): boolean;
  /** Store `src` at byte `offset`. */
  write(offset: number, src: Uint8Array): boolean;
  /** Make completed writes durable. */
  flush(): boolean;
}

/** A BlockBackend in host memory (tests, scratch disks). */
export class RamBlockBackend implements BlockBackend {
  readonly data: Uint8Array;
  flushes = 0;
  constructor(readonly size: number, readonly readOnly = false) {
    this.data = new Uint8Array(size);
  }
  read(offset: number, dst: Uint8Array): boolean {
    if (offset < 0 || offset + dst.length > this.size) return false;
    dst.set(this.data.subarray(offset, offset + dst.length));
    return true;
  }
  write(offset: number, src: Uint8Array): boolean {
    if (this.readOnly || offset < 0 || offset + src.length > this.size) return false;
    this.data.set(src, offset);
    return true;
  }
  flush(): boolean {
    this.flushes++;
    return true;
  }
}

export interface VirtioBlkOptions {
  readonly backend: BlockBackend;
  /** Offer VIRTIO_BLK_F_RO and refuse writes even if the backend could take them. */
  readonly readOnly?: boolean;
  /** The GET_ID string (serial), at most 20 ASCII bytes; default "tsxen-blk". */
  readonly serial?: string;
}

export class VirtioBlk implements VirtioDevice {
  readonly name = 'virtio-blk';
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly deviceFeatures: bigint;
  readonly queueMaxSizes = [VIRTIO_BLK_QUEUE_SIZE];
  readonly readOnly: boolean;
  /** Disk size in bytes (whole sectors). */
  readonly capacityBytes: number;
  private ctx!: VirtioContext;
  private readonly backend: BlockBackend;
  private readonly config = new ConfigSpace(CFG_SIZE);
  private readonly chain = new DescChain(VIRTIO_BLK_QUEUE_SIZE);
  private readonly hdr = new Uint8Array(REQ_HDR_SIZE);
  private readonly hdrView = new DataView(this.hdr.buffer);
  private readonly bounce = new Uint8Array(BOUNCE_SIZE);
  private readonly id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
  private readonly statusByte = new Uint8Array(1);

  constructor(opts: VirtioBlkOptions) {
    this.backend = opts.backend;
    this.readOnly = !!opts.readOnly || opts.backend.readOnly;
    this.capacityBytes = Math.floor(opts.backend.size / SECTOR_SIZE) * SECTOR_SIZE;
    this.deviceFeatures = bit(VIRTIO_BLK_F_SIZE_MAX) | bit(VIRTIO_BLK_F_SEG_MAX) | bit(VIRTIO_BLK_F_BLK_SIZE) |
      bit(VIRTIO_BLK_F_FLUSH) | (this.readOnly ? bit(VIRTIO_BLK_F_RO) : 0n);
    const serial = opts.serial ?? 'tsxen-blk';
    for (let i = 0; i < Math.min(serial.length, VIRTIO_BLK_ID_BYTES); i++) this.id[i] = serial.charCodeAt(i) & 0x7f;
    this.config.setU64(CFG_CAPACITY, this.capacityBytes / SECTOR_SIZE);
    this.config.write(CFG_SIZE_MAX, 4, SIZE_MAX);
    // Two descriptors of every chain carry the header and the status byte (QEMU does the same).
    this.config.write(CFG_SEG_MAX, 4, VIRTIO_BLK_QUEUE_SIZE - 2);
    this.config.write(CFG_BLK_SIZE, 4, SECTOR_SIZE);
    this.config.write(CFG_NUM_QUEUES, 2, 1);
  }

  attach(ctx: VirtioContext): void { this.ctx = ctx; }
  readConfig(offset: number, size: number): number { return this.config.read(offset, size); }
  writeConfig(): void {} // no writable field without CONFIG_WCE
  activate(): void {}
  reset(): void {}

  queueNotify(q: number): void {
    const vq = this.ctx.queues[q]!;
    let any = false;
    while (vq.pop(this.chain) === POP_CHAIN) {
      const len = this.request(this.chain);
      if (len < 0) {
        this.ctx.needsReset();
        break;
      }
      if (!vq.pushUsed(this.chain.head, len)) break;
      any = true;
    }
    if (any) this.ctx.notifyUsed(q);
  }

  /**
   * Serve one request; returns the used length (bytes written into the chain) or -1 when the
   * chain is not a virtio-blk request at all (no header or no status byte), which is a driver
   * bug the device reports with DEVICE_NEEDS_RESET, as QEMU does.
   * Layout (Spec: virtio-1.2 §5.2.6 "Device Operation"):
   *   { le32 type; le32 reserved; le64 sector; } data[]; u8 status;
   * Framing is free (Spec: virtio-1.2 §2.7.4 "Message Framing"): header, data and status may
   * share descriptors, so everything is addressed as byte positions in the chain.
   */
  private request(c: DescChain): number {
    const mem = this.ctx.mem;
    if (c.readableLen < REQ_HDR_SIZE || c.writableLen < 1) return -1;
    if (chainRead(mem, c, 0, this.hdr, 0, REQ_HDR_SIZE) !== REQ_HDR_SIZE) return -1;
    const type = this.hdrView.getUint32(0, true);
    const sectorHi = this.hdrView.getUint32(12, true);
    const sector = sectorHi * 0x1_0000_0000 + this.hdrView.getUint32(8, true);
    const statusPos = c.writableLen - 1;
    let status = VIRTIO_BLK_S_OK;
    let used = 1;
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        const len = c.writableLen - 1;
        if (!this.inRange(sector, len)) status = VIRTIO_BLK_S_IOERR;
        else if (!this.transfer(c, false, 0, len, sector * SECTOR_SIZE)) status = VIRTIO_BLK_S_IOERR;
        else used += len;
        break;
      }
      case VIRTIO_BLK_T_OUT: {
        const len = c.readableLen - REQ_HDR_SIZE;
        // Spec: virtio-1.2 §5.2.6.2 "Device Requirements: Device Operation": "A device MUST set
        // the status byte to VIRTIO_BLK_S_IOERR for a write request if the VIRTIO_BLK_F_RO
        // feature if offered, and MUST NOT write any data."
        if (this.readOnly || !this.inRange(sector, len)) status = VIRTIO_BLK_S_IOERR;
        else if (!this.transfer(c, true, REQ_HDR_SIZE, len, sector * SECTOR_SIZE)) status = VIRTIO_BLK_S_IOERR;
        break;
      }
      case VIRTIO_BLK_T_FLUSH:
        if (!this.backend.flush()) status = VIRTIO_BLK_S_IOERR;
        break;
      case VIRTIO_BLK_T_GET_ID: {
        const n = Math.min(VIRTIO_BLK_ID_BYTES, c.writableLen - 1);
        if (chainWrite(mem, c, 0, this.id, 0, n) !== n) return -1;
        used += n;
        break;
      }
      default:
        status = VIRTIO_BLK_S_UNSUPP;
    }
    this.statusByte[0] = status;
    if (chainWrite(mem, c, statusPos, this.statusByte, 0, 1) !== 1) return -1;
    return status === VIRTIO_BLK_S_OK ? used : 1;
  }

  /** Whole sectors inside the disk ("A driver MUST NOT submit a request ... beyond capacity"). */
  private inRange(sector: number, len: number): boolean {
    return len % SECTOR_SIZE === 0 && sector * SECTOR_SIZE + len <= this.capacityBytes;
  }

  /**
   * Move `len` bytes between the chain (readable part from `pos` when writing the disk,
   * writable part from `pos` when reading it) and the disk at `diskOff`. Each guest segment
   * that is contiguous in machine memory goes to the backend as a zero-copy view; the others
   * go through the bounce buffer.
   */
  private transfer(c: DescChain, toDisk: boolean, pos: number, len: number, diskOff: number): boolean {
    const mem = this.ctx.mem;
    const first = toDisk ? 0 : c.firstWritable;
    const end = toDisk ? c.firstWritable : c.count;
    for (let i = first; i < end && len > 0; i++) {
      const segLen = c.len[i]!;
      if (pos >= segLen) { pos -= segLen; continue; }
      const n = Math.min(segLen - pos, len);
      const gpa = c.addr[i]! + pos;
      const host = mem.hostOffset(gpa, n, toDisk ? GM_ACCESS_R : GM_ACCESS_W);
      if (host >= 0) {
        const view = mem.bytes.subarray(host, host + n);
        if (!(toDisk ? this.backend.write(diskOff, view) : this.backend.read(diskOff, view))) return false;
      } else {
        for (let done = 0; done < n; done += BOUNCE_SIZE) {
          const k = Math.min(BOUNCE_SIZE, n - done);
          const b = this.bounce.subarray(0, k);
          if (toDisk) {
            if (!mem.read(gpa + done, b, 0, k) || !this.backend.write(diskOff + done, b)) return false;
          } else if (!this.backend.read(diskOff + done, b) || !mem.write(gpa + done, b, 0, k)) {
            return false;
          }
        }
      }
      diskOff += n;
      len -= n;
      pos = 0;
    }
    return len === 0;
  }

  save(): unknown {
    return { version: 1, capacityBytes: this.capacityBytes, readOnly: this.readOnly };
  }
  restore(state: unknown): boolean {
    const s = state as { version?: unknown; capacityBytes?: unknown } | null;
    return s?.version === 1 && s.capacityBytes === this.capacityBytes;
  }
}
