// SPDX-License-Identifier: GPL-2.0-only
// Test harness only (imported by *.test.ts, never by the board): a guest driver for
// virtio-mmio devices that follows the spec's driver rules over a real RAM SharedArrayBuffer.
// Spec: virtio-1.2 §3.1.1 "Driver Requirements: Device Initialization", §4.2.3 "MMIO-specific
// Initialization And Device Operation", §2.7.13 "Supplying Buffers to The Device".
// The RAM sits between two guard areas that no lookup() maps, so tests can prove a device
// never wrote outside guest RAM, and lookup() counts every attempt to reach an unmapped page.

import type { MmioDevice } from '../../bus/mmio.ts';
import { GuestMemory, type GuestPhysMap } from './guest-memory.ts';
import {
  VIRTIO_STATUS_ACKNOWLEDGE, VIRTIO_STATUS_DRIVER, VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FEATURES_OK,
} from './virtio-device.ts';
import * as R from './virtio-mmio.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './virtqueue.ts';

export const RAM_BASE = 0x8000_0000;
const GUARD = 64 * 1024;
const GUARD_BYTE = 0xa5;

/** Guest RAM at RAM_BASE with unmapped guard areas around it, plus a bump allocator. */
export class TestRam implements GuestPhysMap {
  readonly memory: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly mem: GuestMemory;
  /** lookup() calls that asked for a page outside RAM (or a write to a read-only page). */
  faults = 0;
  /** Guest page numbers that are mapped read-only (lookup for a write fails). */
  readonly readOnlyPages = new Set<number>();
  private next: number;

  /**
   * `scramble`: guest page k is backed by frame k ^ 1, so guest-contiguous ranges that cross
   * a page boundary are not contiguous in machine memory (as under a p2m).
   */
  constructor(readonly size = 1 << 20, readonly scramble = false) {
    this.memory = new SharedArrayBuffer(GUARD + size + GUARD);
    this.u8 = new Uint8Array(this.memory);
    this.dv = new DataView(this.memory);
    this.u8.fill(GUARD_BYTE, 0, GUARD);
    this.u8.fill(GUARD_BYTE, GUARD + size);
    this.mem = new GuestMemory(this);
    this.next = RAM_BASE;
  }

  lookup(gppn: number, access: number): number {
    const first = RAM_BASE / 4096;
    if (gppn < first || gppn >= first + this.size / 4096 || ((access & 2) && this.readOnlyPages.has(gppn))) {
      this.faults++;
      return -2;
    }
    return GUARD + ((gppn - first) ^ (this.scramble ? 1 : 0)) * 4096;
  }

  /** True while neither guard area was written. */
  guardsIntact(): boolean {
    for (let i = 0; i < GUARD; i++) {
      if (this.u8[i] !== GUARD_BYTE || this.u8[GUARD + this.size + i] !== GUARD_BYTE) return false;
    }
    return true;
  }

  /** Forget every allocation (the next test round reuses RAM from the start). */
  resetAlloc(): void {
    this.next = RAM_BASE;
  }

  alloc(len: number, align = 16): number {
    const a = Math.ceil(this.next / align) * align;
    if (a + len > RAM_BASE + this.size) throw new Error('TestRam: out of memory');
    this.next = a + len;
    return a;
  }

  private off(gpa: number): number {
    const k = gpa - RAM_BASE;
    if (!Number.isInteger(k) || k < 0 || k >= this.size) throw new Error(`TestRam: harness access at ${gpa} outside RAM`);
    return GUARD + (this.scramble ? k ^ 4096 : k);
  }
  r8(gpa: number): number { return this.u8[this.off(gpa)]!; }
  r16(gpa: number): number { return this.dv.getUint16(this.off(gpa), true); }
  r32(gpa: number): number { return this.dv.getUint32(this.off(gpa), true); }
  w8(gpa: number, v: number): void { this.u8[this.off(gpa)] = v; }
  w16(gpa: number, v: number): void { this.dv.setUint16(this.off(gpa), v, true); }
  w32(gpa: number, v: number): void { this.dv.setUint32(this.off(gpa), v >>> 0, true); }
  w64(gpa: number, v: number): void {
    this.w32(gpa, v % 0x1_0000_0000);
    this.w32(gpa + 4, Math.floor(v / 0x1_0000_0000));
  }
  bytes(gpa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) out[i] = this.u8[this.off(gpa + i)]!;
    return out;
  }
  put(gpa: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.u8[this.off(gpa + i)] = data[i]!;
  }
}

export interface Buf { gpa: number; len: number; }

/** One split virtqueue from the driver side. */
export class DriverQueue {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  private free: number[];
  private availIdx = 0;
  private lastUsed = 0;
  /** avail idx at the last notification decision (for EVENT_IDX). */
  private kickedIdx = 0;
  notifications = 0;
  /** Head -> descriptors to free when the chain comes back. */
  private readonly chains = new Map<number, number[]>();

  constructor(private readonly drv: MmioDriver, readonly index: number, readonly size: number, readonly eventIdx: boolean) {
    const ram = drv.ram;
    this.desc = ram.alloc(16 * size, 16);
    this.avail = ram.alloc(6 + 2 * size, 2);
    this.used = ram.alloc(6 + 8 * size, 4);
    this.free = Array.from({ length: size }, (_, i) => i);
  }

  writeDesc(table: number, i: number, addr: number, len: number, flags: number, next: number): void {
    const r = this.drv.ram;
    r.w64(table + 16 * i, addr);
    r.w32(table + 16 * i + 8, len);
    r.w16(table + 16 * i + 12, flags);
    r.w16(table + 16 * i + 14, next);
  }

  /** Place a chain (device-readable `out` then device-writable `inb`); returns its head. */
  add(out: Buf[], inb: Buf[], indirect = false): number {
    const segs = [...out.map((b) => ({ ...b, f: 0 })), ...inb.map((b) => ({ ...b, f: VIRTQ_DESC_F_WRITE }))];
    if (indirect ? this.free.length < 1 : segs.length > this.free.length) throw new Error('DriverQueue: no free descriptors');
    if (indirect) {
      const table = this.drv.ram.alloc(16 * segs.length, 16);
      segs.forEach((s, i) => this.writeDesc(table, i, s.gpa, s.len, s.f | (i + 1 < segs.length ? VIRTQ_DESC_F_NEXT : 0), i + 1));
      const head = this.free.shift()!;
      this.writeDesc(this.desc, head, table, 16 * segs.length, VIRTQ_DESC_F_INDIRECT, 0);
      this.chains.set(head, [head]);
      this.publish(head);
      return head;
    }
    const ids = this.free.splice(0, segs.length);
    segs.forEach((s, i) => this.writeDesc(this.desc, ids[i]!, s.gpa, s.len, s.f | (i + 1 < segs.length ? VIRTQ_DESC_F_NEXT : 0), ids[i + 1] ?? 0));
    this.chains.set(ids[0]!, ids);
    this.publish(ids[0]!);
    return ids[0]!;
  }

  /** Put `head` in the available ring and publish idx (Spec: virtio-1.2 §2.7.13.2 "Updating The Available Ring", §2.7.13.3 "Updating idx"). */
  publish(head: number): void {
    const r = this.drv.ram;
    r.w16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    r.w16(this.avail + 2, this.availIdx);
  }

  /** Raw avail idx write, for hostile tests. */
  setAvailIdx(v: number): void {
    this.availIdx = v & 0xffff;
    this.drv.ram.w16(this.avail + 2, this.availIdx);
  }

  /** Notify the device unless it suppressed notifications (Spec: virtio-1.2 §2.7.13.4 "Notifying The Device"). */
  kick(): boolean {
    const r = this.drv.ram;
    let need: boolean;
    if (this.eventIdx) {
      const ev = r.r16(this.used + 4 + 8 * this.size);
      need = ((this.availIdx - ev - 1) & 0xffff) < ((this.availIdx - this.kickedIdx) & 0xffff);
    } else {
      need = (r.r16(this.used) & 1) === 0;
    }
    this.kickedIdx = this.availIdx;
    if (need) {
      this.notifications++;
      this.drv.write(R.VIRTIO_MMIO_QUEUE_NOTIFY, this.index);
    }
    return need;
  }

  /** Used elements the device returned since the last call; frees their descriptors. */
  takeUsed(): { id: number; len: number }[] {
    const r = this.drv.ram;
    const out: { id: number; len: number }[] = [];
    const idx = r.r16(this.used + 2);
    while (this.lastUsed !== idx) {
      const e = this.used + 4 + 8 * (this.lastUsed % this.size);
      const id = r.r32(e);
      out.push({ id, len: r.r32(e + 4) });
      const ids = this.chains.get(id);
      if (ids) {
        this.free.push(...ids);
        this.chains.delete(id);
      }
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  /** used_event (EVENT_IDX): ask for an interrupt once used idx passes `v`. */
  setUsedEvent(v: number): void {
    this.drv.ram.w16(this.avail + 4 + 2 * this.size, v);
  }
  setAvailFlags(v: number): void {
    this.drv.ram.w16(this.avail, v);
  }
}

/** The driver side of one virtio-mmio slot. */
export class MmioDriver {
  /** Interrupt line level, as the board's IrqLine would see it. */
  irqLevel = false;
  readonly irq = { set: (l: boolean) => { this.irqLevel = l; } };
  dev!: MmioDevice;
  constructor(readonly ram: TestRam) {}

  read(off: number): number { return this.dev.read(off, 4); }
  write(off: number, v: number): void { this.dev.write(off, 4, v); }
  status(): number { return this.read(R.VIRTIO_MMIO_STATUS); }

  deviceFeatures(): bigint {
    this.write(R.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    const lo = this.read(R.VIRTIO_MMIO_DEVICE_FEATURES);
    this.write(R.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    const hi = this.read(R.VIRTIO_MMIO_DEVICE_FEATURES);
    return BigInt(lo) | (BigInt(hi) << 32n);
  }

  /** Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; true if the device kept FEATURES_OK. */
  negotiate(features: bigint): boolean {
    this.write(R.VIRTIO_MMIO_STATUS, 0);
    this.write(R.VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    this.write(R.VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    this.write(R.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    this.write(R.VIRTIO_MMIO_DRIVER_FEATURES, Number(features & 0xffffffffn));
    this.write(R.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    this.write(R.VIRTIO_MMIO_DRIVER_FEATURES, Number(features >> 32n));
    this.write(R.VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return (this.status() & VIRTIO_STATUS_FEATURES_OK) !== 0;
  }

  /** Spec: virtio-1.2 §4.2.3.2 "Virtqueue Configuration". */
  setupQueue(index: number, size: number, eventIdx: boolean): DriverQueue {
    this.write(R.VIRTIO_MMIO_QUEUE_SEL, index);
    if (this.read(R.VIRTIO_MMIO_QUEUE_READY) !== 0) throw new Error('queue already in use');
    const max = this.read(R.VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max === 0 || size > max) throw new Error(`queue ${index}: max ${max}`);
    const q = new DriverQueue(this, index, size, eventIdx);
    this.write(R.VIRTIO_MMIO_QUEUE_NUM, size);
    this.write(R.VIRTIO_MMIO_QUEUE_DESC_LOW, q.desc % 2 ** 32);
    this.write(R.VIRTIO_MMIO_QUEUE_DESC_HIGH, Math.floor(q.desc / 2 ** 32));
    this.write(R.VIRTIO_MMIO_QUEUE_DRIVER_LOW, q.avail % 2 ** 32);
    this.write(R.VIRTIO_MMIO_QUEUE_DRIVER_HIGH, Math.floor(q.avail / 2 ** 32));
    this.write(R.VIRTIO_MMIO_QUEUE_DEVICE_LOW, q.used % 2 ** 32);
    this.write(R.VIRTIO_MMIO_QUEUE_DEVICE_HIGH, Math.floor(q.used / 2 ** 32));
    this.write(R.VIRTIO_MMIO_QUEUE_READY, 1);
    return q;
  }

  driverOk(): void {
    this.write(R.VIRTIO_MMIO_STATUS, this.status() | VIRTIO_STATUS_DRIVER_OK);
  }

  /** Read and acknowledge InterruptStatus, as the driver's interrupt handler does. */
  ackInterrupt(): number {
    const s = this.read(R.VIRTIO_MMIO_INTERRUPT_STATUS);
    this.write(R.VIRTIO_MMIO_INTERRUPT_ACK, s);
    return s;
  }

  config8(off: number): number { return this.dev.read(R.VIRTIO_MMIO_CONFIG + off, 1); }
  config16(off: number): number { return this.dev.read(R.VIRTIO_MMIO_CONFIG + off, 2); }
  config32(off: number): number { return this.dev.read(R.VIRTIO_MMIO_CONFIG + off, 4); }
  config64(off: number): number { return this.config32(off) + this.config32(off + 4) * 2 ** 32; }
}
