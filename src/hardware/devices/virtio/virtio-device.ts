// SPDX-License-Identifier: GPL-2.0-only
// What a virtio device type (blk, net, console, rng) implements, and what its transport gives
// it back. The device knows nothing of MMIO registers; the transport (virtio-mmio.ts) owns
// status, feature negotiation, queue configuration and interrupts.
// Spec: virtio-1.2 §2 "Basic Facilities of a Virtio Device". Leaves out: shared memory regions.

import type { GuestMemory } from './guest-memory.ts';
import type { Virtqueue } from './virtqueue.ts';

// Spec: virtio-1.2 §5 "Device Types" (device IDs).
export const VIRTIO_ID_NET = 1;
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_RNG = 4;

// Spec: virtio-1.2 §6 "Reserved Feature Bits" (transport/ring features, bits 24..41).
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_RING_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_RING_RESET = 40;

// Spec: virtio-1.2 §2.1 "Device Status Field".
export const VIRTIO_STATUS_ACKNOWLEDGE = 1;
export const VIRTIO_STATUS_DRIVER = 2;
export const VIRTIO_STATUS_DRIVER_OK = 4;
export const VIRTIO_STATUS_FEATURES_OK = 8;
export const VIRTIO_STATUS_DEVICE_NEEDS_RESET = 0x40;
export const VIRTIO_STATUS_FAILED = 0x80;

/** A feature bit as a 64-bit mask (features are cold-path data: negotiation only). */
export function bit(n: number): bigint {
  return 1n << BigInt(n);
}

/** What the transport gives a device. */
export interface VirtioContext {
  readonly mem: GuestMemory;
  readonly queues: readonly Virtqueue[];
  /** Whether the driver accepted feature `n` (valid from FEATURES_OK on). */
  hasFeature(n: number): boolean;
  /** After pushing used buffers on queue `q`: interrupt the driver if it wants to be. */
  notifyUsed(q: number): void;
  /** The device configuration changed: bump ConfigGeneration and send a config-change interrupt. */
  configChanged(): void;
  /** The device entered an error state: DEVICE_NEEDS_RESET (+ config interrupt after DRIVER_OK). */
  needsReset(): void;
  /** DRIVER_OK is set and DEVICE_NEEDS_RESET is not: the device may consume buffers. */
  readonly running: boolean;
}

export interface VirtioDevice {
  /** Short name for logs and the device tree ("virtio-blk"). */
  readonly name: string;
  readonly deviceId: number;
  /** Device-type feature bits offered (the transport adds the ring/version bits). */
  readonly deviceFeatures: bigint;
  /** QueueNumMax of each virtqueue; the length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Called once by the transport's constructor. */
  attach(ctx: VirtioContext): void;
  /** Device configuration space (transport offset 0x100 + `offset`), little-endian. */
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, size: number, value: number): void;
  /** At FEATURES_OK: false refuses the driver's feature set (device-specific dependencies). */
  validateFeatures?(features: bigint): boolean;
  /** DRIVER_OK was set, or a running device was restored: process host work already waiting. */
  activate(): void;
  /** The driver notified queue `q` (only while running and the queue is ready). */
  queueNotify(q: number): void;
  /** Device reset (Status written 0): drop per-driver state, keep host configuration. */
  reset(): void;
  /** VIRTIO_F_RING_RESET: queue `q` was reset on its own. */
  queueReset?(q: number): void;
  /** Device-type state for save/restore (plain data, versioned by the device). */
  save(): unknown;
  restore(state: unknown): boolean;
}

/**
 * A device configuration space: a little-endian byte array with bounds-checked access of any
 * width the driver uses. Out-of-range reads return 0 and writes are ignored.
 */
export class ConfigSpace {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  read(offset: number, size: number): number {
    if (!(offset >= 0) || offset + size > this.bytes.length) return 0;
    if (size === 1) return this.bytes[offset]!;
    if (size === 2) return this.view.getUint16(offset, true);
    if (size === 4) return this.view.getUint32(offset, true);
    return 0;
  }
  /** Store into the array (for writable fields; the device decides which are). */
  write(offset: number, size: number, value: number): void {
    if (!(offset >= 0) || offset + size > this.bytes.length) return;
    if (size === 1) this.bytes[offset] = value;
    else if (size === 2) this.view.setUint16(offset, value, true);
    else if (size === 4) this.view.setUint32(offset, value >>> 0, true);
  }
  setU64(offset: number, v: number): void {
    this.view.setUint32(offset, v % 0x1_0000_0000, true);
    this.view.setUint32(offset + 4, Math.floor(v / 0x1_0000_0000), true);
  }
}
