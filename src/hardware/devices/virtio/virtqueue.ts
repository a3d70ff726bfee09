// SPDX-License-Identifier: GPL-2.0-only
// The device side of a split virtqueue over guest memory: descriptor table, available ring,
// used ring, indirect descriptors, and event-index notification suppression both ways.
// Spec: virtio-1.2 §2.7 "Split Virtqueues". Everything in the rings is written by a hostile
// driver: a bad index, loop, length or address marks the queue broken (the transport then sets
// DEVICE_NEEDS_RESET); nothing here throws or touches memory outside guest RAM.
// Leaves out: packed virtqueues (§2.8 "Packed Virtqueues"), VIRTIO_F_IN_ORDER, VIRTIO_F_NOTIFICATION_DATA.
//
// Layout in guest memory (Spec: virtio-1.2 §2.7 "Split Virtqueues", N = queue size):
//   desc   (align 16): N x { le64 addr; le32 len; le16 flags; le16 next; }        [GUEST]
//   driver (align 2):  le16 flags; le16 idx; le16 ring[N]; le16 used_event;      [GUEST]
//   device (align 4):  le16 flags; le16 idx; { le32 id; le32 len; }[N]; le16 avail_event; [HV]
//
// Memory ordering: the driver writes descriptors and ring entries, then avail idx (after a
// write barrier). We load avail idx with an acquire (Atomics.load) before reading entries, and
// write used entries before a release store of used idx; Atomics are sequentially consistent,
// which also gives the full barrier required between publishing used idx and reading
// used_event/flags (Spec: virtio-1.2 §2.7.14 "Receiving Used Buffers From The Device").

import { GM_ACCESS_R, GM_ACCESS_W, type GuestMemory } from './guest-memory.ts';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;
/** Spec: virtio-1.2 §2.7 "Split Virtqueues": "The maximum Queue Size value is 32768." */
export const VIRTQ_MAX_SIZE = 32768;
const DESC_SIZE = 16;
const TWO_POW_32 = 0x1_0000_0000;

/** pop() results. */
export const POP_EMPTY = 0;
export const POP_CHAIN = 1;
export const POP_BROKEN = -1;

/**
 * One descriptor chain, flattened (indirect tables followed) into segments. Preallocated per
 * queue and refilled by pop(): no allocation per request. Readable segments come first
 * (enforced: Spec: virtio-1.2 §2.7.5 "The Virtqueue Descriptor Table", "The driver MUST place
 * any device-writable descriptor elements after any device-readable descriptor elements").
 */
export class DescChain {
  head = 0;
  count = 0;
  /** Index of the first device-writable segment (== count when there is none). */
  firstWritable = 0;
  readableLen = 0;
  writableLen = 0;
  readonly addr: Float64Array;
  readonly len: Uint32Array;
  constructor(readonly capacity: number) {
    this.addr = new Float64Array(capacity);
    this.len = new Uint32Array(capacity);
  }
}

/** Copy up to `len` bytes from the readable part of `chain` at byte `pos`; returns bytes copied, -1 on a fault. */
export function chainRead(mem: GuestMemory, c: DescChain, pos: number, dst: Uint8Array, dstOff: number, len: number): number {
  let done = 0;
  for (let i = 0; i < c.firstWritable && done < len; i++) {
    const l = c.len[i]!;
    if (pos >= l) { pos -= l; continue; }
    const n = Math.min(l - pos, len - done);
    if (!mem.read(c.addr[i]! + pos, dst, dstOff + done, n)) return -1;
    done += n;
    pos = 0;
  }
  return done;
}

/** Copy up to `len` bytes into the writable part of `chain` at byte `pos`; returns bytes copied, -1 on a fault. */
export function chainWrite(mem: GuestMemory, c: DescChain, pos: number, src: Uint8Array, srcOff: number, len: number): number {
  let done = 0;
  for (let i = c.firstWritable; i < c.count && done < len; i++) {
    const l = c.len[i]!;
    if (pos >= l) { pos -= l; continue; }
    const n = Math.min(l - pos, len - done);
    if (!mem.write(c.addr[i]! + pos, src, srcOff + done, n)) return -1;
    done += n;
    pos = 0;
  }
  return done;
}

/** Saved queue state (ARCHITECTURE.md §8), a plain versioned record. */
export interface VirtqueueState {
  readonly version: 1;
  readonly size: number;
  readonly ready: boolean;
  readonly desc: number;
  readonly driver: number;
  readonly device: number;
  readonly lastAvailIdx: number;
  readonly usedIdx: number;
  readonly signalledUsed: number;
  readonly signalledValid: boolean;
  readonly broken: boolean;
}

export class Virtqueue {
  // Configuration written by the driver through the transport ([GUEST] values, checked on ready).
  size: number;
  ready = false;
  desc = 0;
  driver = 0;
  device = 0;
  // Negotiated features, set by the transport at FEATURES_OK.
  eventIdx = false;
  indirect = false;
  /** Set when the driver broke a rule; the queue does nothing more until reset. */
  broken = false;
  /** Called once when the queue becomes broken (the transport sets DEVICE_NEEDS_RESET). */
  onBroken: () => void = () => {};

  // Device-side indexes ([HV]): free-running 16-bit counters.
  private lastAvailIdx = 0;
  private usedIdx = 0;
  /** usedIdx plus elements added but not yet published. */
  private pendingUsedIdx = 0;
  private signalledUsed = 0;
  private signalledValid = false;
  private readonly descScratch = new Uint8Array(DESC_SIZE);
  private readonly descView = new DataView(this.descScratch.buffer);

  constructor(private readonly mem: GuestMemory, readonly maxSize: number) {
    this.size = maxSize;
  }

  /** Spec: virtio-1.2 §2.6.1 "Virtqueue Reset": back to the state after device reset. */
  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.desc = this.driver = this.device = 0;
    this.lastAvailIdx = this.usedIdx = this.pendingUsedIdx = this.signalledUsed = 0;
    this.signalledValid = false;
    this.broken = false;
  }

  private fail(): number {
    if (!this.broken) {
      this.broken = true;
      this.onBroken();
    }
    return POP_BROKEN;
  }

  /**
   * Checks made when the driver sets QueueReady: size a power of 2 within QueueNumMax, areas
   * aligned and inside guest RAM (Spec: virtio-1.2 §2.7 "Split Virtqueues", alignment table).
   * False marks the queue broken.
   */
  enable(): boolean {
    const n = this.size;
    const ok =
      n >= 1 && n <= this.maxSize && (n & (n - 1)) === 0 &&
      this.desc % 16 === 0 && this.driver % 2 === 0 && this.device % 4 === 0 &&
      this.mem.checkRange(this.desc, DESC_SIZE * n, GM_ACCESS_R) &&
      this.mem.checkRange(this.driver, 6 + 2 * n, GM_ACCESS_R) &&
      this.mem.checkRange(this.device, 6 + 8 * n, GM_ACCESS_W | GM_ACCESS_R);
    if (!ok) {
      this.fail();
      return false;
    }
    this.ready = true;
    return true;
  }

  /** Usable: ready, not broken. The transport also requires DRIVER_OK before notifying devices. */
  get live(): boolean {
    return this.ready && !this.broken;
  }

  /**
   * Take the next available chain into `chain`. POP_EMPTY if none, POP_BROKEN if the driver
   * broke a rule (the queue is then broken). With EVENT_IDX, also asks to be notified when the
   * driver adds the next buffer (avail_event = last_avail_idx, Spec: virtio-1.2 §2.7.10
   * "Available Buffer Notification Suppression"). Since avail idx is re-read after that store on
   * every call, a drain loop cannot miss a buffer added without a notification.
   */
  pop(chain: DescChain): number {
    if (!this.live) return POP_EMPTY;
    const availIdx = this.mem.loadU16Acquire(this.driver + 2);
    if (availIdx < 0) return this.fail();
    const pending = (availIdx - this.lastAvailIdx) & 0xffff;
    if (pending === 0) return POP_EMPTY;
    // "avail idx jumping by more than the queue size": Firecracker's InvalidAvailIdx.
    if (pending > this.size) return this.fail();
    const head = this.mem.readU16(this.driver + 4 + 2 * (this.lastAvailIdx & (this.size - 1)));
    if (head < 0 || !this.walk(head, chain)) return this.fail();
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    if (this.eventIdx) this.mem.writeU16(this.device + 4 + 8 * this.size, this.lastAvailIdx);
    return POP_CHAIN;
  }

  /** Give back the last `n` popped chains (not yet used), e.g. when a packet did not fit. */
  unpop(n: number): void {
    this.lastAvailIdx = (this.lastAvailIdx - n) & 0xffff;
  }

  /** Follow a chain from `head`, validating every descriptor; false on any hostile content. */
  private walk(head: number, c: DescChain): boolean {
    // Spec: virtio-1.2 §2.7.5 "The Virtqueue Descriptor Table" and §2.7.5.3 "Indirect Descriptors".
    const mem = this.mem;
    let table = this.desc;
    let tableSize = this.size;
    let idx = head;
    let inIndirect = false;
    let total = 0;
    c.head = head;
    c.count = 0;
    c.firstWritable = -1;
    c.readableLen = c.writableLen = 0;
    if (head >= tableSize) return false;
    for (;;) {
      // One translation per descriptor. The ring's table is 16-aligned (checked at enable), so
      // its entries never cross a page; an indirect table need not be aligned, and an entry
      // that straddles discontiguous frames is copied out first.
      const d = table + DESC_SIZE * idx;
      let view = mem.view;
      let o = mem.hostOffset(d, DESC_SIZE, GM_ACCESS_R);
      if (o < 0) {
        if (!mem.read(d, this.descScratch)) return false;
        view = this.descView;
        o = 0;
      }
      const addrHi = view.getUint32(o + 4, true);
      if (addrHi >= 0x200000) return false; // not below 2^53: no RAM there
      const addr = addrHi * 0x1_0000_0000 + view.getUint32(o, true);
      const len = view.getUint32(o + 8, true);
      const flags = view.getUint16(o + 12, true);
      const next = view.getUint16(o + 14, true);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        // "The driver MUST NOT set the VIRTQ_DESC_F_INDIRECT flag within an indirect
        // descriptor", nor with NEXT, nor unless VIRTIO_F_INDIRECT_DESC was negotiated.
        if (inIndirect || !this.indirect || (flags & VIRTQ_DESC_F_NEXT)) return false;
        // "A driver MUST NOT create a descriptor chain longer than the Queue Size of the device."
        if (len === 0 || len % DESC_SIZE !== 0 || len / DESC_SIZE > this.size) return false;
        if (!mem.checkRange(addr, len, GM_ACCESS_R)) return false;
        // The device MUST ignore the write-only flag in the descriptor that refers to the table.
        table = addr;
        tableSize = len / DESC_SIZE;
        idx = 0;
        inIndirect = true;
        continue;
      }
      if (c.count >= this.size || c.count >= c.capacity) return false; // loop or overlong chain
      const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      if (writable) {
        if (c.firstWritable < 0) c.firstWritable = c.count;
        c.writableLen += len;
      } else {
        if (c.firstWritable >= 0) return false; // readable after writable
        c.readableLen += len;
      }
      total += len;
      // "Drivers MUST NOT add a descriptor chain longer than 2^32 bytes in total".
      if (total > TWO_POW_32) return false;
      if (!mem.checkRange(addr, len, writable ? GM_ACCESS_W : GM_ACCESS_R)) return false;
      c.addr[c.count] = addr;
      c.len[c.count] = len;
      c.count++;
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      idx = next;
      if (idx >= tableSize) return false;
    }
    if (c.firstWritable < 0) c.firstWritable = c.count;
    return true;
  }

  /** Return a chain to the driver with `len` bytes written. False if the used ring is unreachable. */
  pushUsed(head: number, len: number): boolean {
    return this.addUsed(head, len) && this.publishUsed();
  }

  /**
   * Write a used element without publishing it yet: several buffers that must be seen
   * together (a merged rx packet) are added, then published by one publishUsed().
   */
  addUsed(head: number, len: number): boolean {
    if (!this.live) return false;
    const e = this.device + 4 + 8 * (this.pendingUsedIdx & (this.size - 1));
    if (!this.mem.writeU32(e, head) || !this.mem.writeU32(e + 4, len)) {
      this.fail();
      return false;
    }
    this.pendingUsedIdx = (this.pendingUsedIdx + 1) & 0xffff;
    return true;
  }

  /** Publish every added used element: "The device MUST set len prior to updating the used idx" (release store). */
  publishUsed(): boolean {
    if (!this.live) return false;
    this.usedIdx = this.pendingUsedIdx;
    if (!this.mem.storeU16Release(this.device + 2, this.usedIdx)) {
      this.fail();
      return false;
    }
    return true;
  }

  /**
   * Whether the driver wants a used buffer notification for what was pushed since the last
   * call (Spec: virtio-1.2 §2.7.7 "Used Buffer Notification Suppression"): without EVENT_IDX,
   * unless avail flags has VIRTQ_AVAIL_F_NO_INTERRUPT; with it, when used idx passed used_event.
   */
  needsNotify(): boolean {
    if (!this.live) return false;
    const newIdx = this.usedIdx;
    if (!this.eventIdx) {
      const flags = this.mem.loadU16Acquire(this.driver);
      return flags >= 0 && (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    }
    const old = this.signalledUsed;
    const valid = this.signalledValid;
    this.signalledUsed = newIdx;
    this.signalledValid = true;
    if (newIdx === old && valid) return false;
    if (!valid) return true;
    const usedEvent = this.mem.loadU16Acquire(this.driver + 4 + 2 * this.size);
    if (usedEvent < 0) return true;
    // vring_need_event(): notify iff used_event lies in (old, new].
    return ((newIdx - usedEvent - 1) & 0xffff) < ((newIdx - old) & 0xffff);
  }

  /** Number of chains the driver has made available and we have not popped (0 on a bad idx). */
  pending(): number {
    if (!this.live) return 0;
    const availIdx = this.mem.loadU16Acquire(this.driver + 2);
    if (availIdx < 0) return 0;
    const n = (availIdx - this.lastAvailIdx) & 0xffff;
    return n > this.size ? 0 : n;
  }

  save(): VirtqueueState {
    return {
      version: 1, size: this.size, ready: this.ready, desc: this.desc, driver: this.driver,
      device: this.device, lastAvailIdx: this.lastAvailIdx, usedIdx: this.usedIdx,
      signalledUsed: this.signalledUsed, signalledValid: this.signalledValid, broken: this.broken,
    };
  }

  /** Load a record made by save(); false (queue left reset) if it is not one this code understands. */
  restore(s: VirtqueueState): boolean {
    this.reset();
    if (s?.version !== 1 || !(s.size >= 1 && s.size <= this.maxSize) || (s.size & (s.size - 1)) !== 0) return false;
    if (![s.desc, s.driver, s.device].every((a) => Number.isSafeInteger(a) && a >= 0)) return false;
    this.size = s.size;
    this.desc = s.desc;
    this.driver = s.driver;
    this.device = s.device;
    this.ready = s.ready;
    this.lastAvailIdx = s.lastAvailIdx & 0xffff;
    this.usedIdx = this.pendingUsedIdx = s.usedIdx & 0xffff;
    this.signalledUsed = s.signalledUsed & 0xffff;
    this.signalledValid = s.signalledValid;
    this.broken = s.broken;
    return true;
  }
}
