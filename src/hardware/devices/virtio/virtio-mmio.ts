// SPDX-License-Identifier: GPL-2.0-only
// The virtio-mmio transport, version 2 (modern): one slot of the board, holding one virtio
// device or none. Spec: virtio-1.2 §4.2 "Virtio Over MMIO". Offers VIRTIO_F_VERSION_1,
// VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_INDIRECT_DESC and VIRTIO_F_RING_RESET on top of the
// device's own features. Leaves out: legacy (version 1) registers, shared memory regions
// (none exist: SHMLen reads -1), VIRTIO_F_NOTIFICATION_DATA.
//
//   base + 0x000  MagicValue          R   0x74726976 ("virt")
//   base + 0x004  Version             R   2
//   base + 0x008  DeviceID            R   0 for an empty slot
//   base + 0x00c  VendorID            R   0x554d4551 ("QEMU")
//   base + 0x010  DeviceFeatures      R   32 bits selected by DeviceFeaturesSel
//   base + 0x014  DeviceFeaturesSel   W
//   base + 0x020  DriverFeatures      W   32 bits selected by DriverFeaturesSel
//   base + 0x024  DriverFeaturesSel   W
//   base + 0x030  QueueSel            W
//   base + 0x034  QueueNumMax         R   0 if the selected queue does not exist
//   base + 0x038  QueueNum            W
//   base + 0x044  QueueReady          RW
//   base + 0x050  QueueNotify         W   queue index
//   base + 0x060  InterruptStatus     R   bit 0 used buffer, bit 1 configuration change
//   base + 0x064  InterruptACK        W
//   base + 0x070  Status              RW  writing 0 resets the device
//   base + 0x080  QueueDescLow/High   W   (0x084)
//   base + 0x090  QueueDriverLow/High W   (0x094)
//   base + 0x0a0  QueueDeviceLow/High W   (0x0a4)
//   base + 0x0ac  SHMSel              W
//   base + 0x0b0  SHMLenLow/High      R   (0x0b4) -1: no such region
//   base + 0x0b8  SHMBaseLow/High     R   (0x0bc) all ones
//   base + 0x0c0  QueueReset          RW  (VIRTIO_F_RING_RESET)
//   base + 0x0fc  ConfigGeneration    R
//   base + 0x100  Config              RW  device configuration space

import type { IrqLine, MmioDevice } from '../../bus/mmio.ts';
import type { GuestMemory } from './guest-memory.ts';
import {
  bit, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_RING_RESET, VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_DEVICE_NEEDS_RESET, VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FEATURES_OK,
  type VirtioContext, type VirtioDevice,
} from './virtio-device.ts';
import { Virtqueue, type VirtqueueState } from './virtqueue.ts';

export const VIRTIO_MMIO_MAGIC_VALUE = 0x000;
export const VIRTIO_MMIO_VERSION = 0x004;
export const VIRTIO_MMIO_DEVICE_ID = 0x008;
export const VIRTIO_MMIO_VENDOR_ID = 0x00c;
export const VIRTIO_MMIO_DEVICE_FEATURES = 0x010;
export const VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014;
export const VIRTIO_MMIO_DRIVER_FEATURES = 0x020;
export const VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024;
export const VIRTIO_MMIO_QUEUE_SEL = 0x030;
export const VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034;
export const VIRTIO_MMIO_QUEUE_NUM = 0x038;
export const VIRTIO_MMIO_QUEUE_READY = 0x044;
export const VIRTIO_MMIO_QUEUE_NOTIFY = 0x050;
export const VIRTIO_MMIO_INTERRUPT_STATUS = 0x060;
export const VIRTIO_MMIO_INTERRUPT_ACK = 0x064;
export const VIRTIO_MMIO_STATUS = 0x070;
export const VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080;
export const VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084;
export const VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090;
export const VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094;
export const VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0;
export const VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4;
export const VIRTIO_MMIO_SHM_SEL = 0x0ac;
export const VIRTIO_MMIO_SHM_LEN_LOW = 0x0b0;
export const VIRTIO_MMIO_SHM_LEN_HIGH = 0x0b4;
export const VIRTIO_MMIO_SHM_BASE_LOW = 0x0b8;
export const VIRTIO_MMIO_SHM_BASE_HIGH = 0x0bc;
export const VIRTIO_MMIO_QUEUE_RESET = 0x0c0;
export const VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc;
export const VIRTIO_MMIO_CONFIG = 0x100;

export const VIRTIO_MMIO_MAGIC = 0x74726976;
export const VIRTIO_MMIO_VENDOR_QEMU = 0x554d4551;
export const VIRTIO_MMIO_INT_VRING = 1;
export const VIRTIO_MMIO_INT_CONFIG = 2;
/** Size of one slot's register window (QEMU's virt board spaces slots 0x1000 apart). */
export const VIRTIO_MMIO_REGION_SIZE = 0x1000;

const TRANSPORT_FEATURES =
  bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_RING_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_F_RING_RESET);
const TWO_POW_32 = 0x1_0000_0000;

/** Saved transport state (ARCHITECTURE.md §8). */
export interface VirtioMmioState {
  readonly version: 1;
  readonly deviceId: number;
  readonly status: number;
  readonly deviceFeaturesSel: number;
  readonly driverFeaturesSel: number;
  /** Driver features as [low word, high word]. */
  readonly driverFeatures: readonly [number, number];
  readonly queueSel: number;
  readonly interruptStatus: number;
  readonly configGeneration: number;
  readonly queues: readonly VirtqueueState[];
  readonly device: unknown;
}

export class VirtioMmio implements MmioDevice, VirtioContext {
  readonly name: string;
  readonly queues: readonly Virtqueue[];
  private readonly offered: bigint;
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private readonly driverFeatures = new Uint32Array(2);
  /** Negotiated feature bits 0..63 as two words, for hasFeature() on hot paths. */
  private readonly accepted = new Uint32Array(2);
  private queueSel = 0;
  private interruptStatus = 0;
  private configGeneration = 0;

  constructor(readonly mem: GuestMemory, private readonly irq: IrqLine, private readonly device: VirtioDevice | null) {
    this.name = device ? `virtio-mmio:${device.name}` : 'virtio-mmio:empty';
    this.offered = device ? device.deviceFeatures | TRANSPORT_FEATURES : 0n;
    this.queues = (device?.queueMaxSizes ?? []).map((max) => {
      const q = new Virtqueue(mem, max);
      q.onBroken = () => this.needsReset();
      return q;
    });
    device?.attach(this);
  }

  // ─── VirtioContext (what the device sees) ───────────────────────────────────────────
  hasFeature(n: number): boolean {
    return n < 64 && ((this.accepted[n >>> 5]! >>> (n & 31)) & 1) === 1;
  }

  get running(): boolean {
    return (this.status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) === VIRTIO_STATUS_DRIVER_OK;
  }

  notifyUsed(q: number): void {
    const vq = this.queues[q];
    if (vq && this.running && vq.needsNotify()) this.raise(VIRTIO_MMIO_INT_VRING);
  }

  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.status & VIRTIO_STATUS_DRIVER_OK) this.raise(VIRTIO_MMIO_INT_CONFIG);
  }

  /**
   * Spec: virtio-1.2 §2.1.2 "Device Requirements: Device Status Field": "The device SHOULD set
   * DEVICE_NEEDS_RESET when it enters an error state that a reset is needed. If DRIVER_OK is
   * set, after it sets DEVICE_NEEDS_RESET, the device MUST send a device configuration change
   * notification to the driver." Until reset, no queue is processed.
   */
  needsReset(): void {
    if (!this.device || this.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) return;
    this.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    for (const q of this.queues) q.broken = true; // no queue moves again until reset
    if (this.status & VIRTIO_STATUS_DRIVER_OK) this.raise(VIRTIO_MMIO_INT_CONFIG);
  }

  private raise(bits: number): void {
    this.interruptStatus |= bits;
    this.irq.set(true);
  }

  // ─── MmioDevice ─────────────────────────────────────────────────────────────────────
  read(offset: number, size: number): number {
    if (offset >= VIRTIO_MMIO_CONFIG) {
      return this.device ? this.device.readConfig(offset - VIRTIO_MMIO_CONFIG, size) >>> 0 : 0;
    }
    // Spec: virtio-1.2 §4.2.2.2 "Driver Requirements: MMIO Device Register Layout": control
    // registers are accessed 32 bits wide and aligned only; anything else reads 0.
    if (size !== 4 || (offset & 3) !== 0) return 0;
    switch (offset) {
      case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
      case VIRTIO_MMIO_VERSION: return 2;
      case VIRTIO_MMIO_DEVICE_ID: return this.device?.deviceId ?? 0;
      case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR_QEMU;
    }
    if (!this.device) return 0; // "MUST NOT access any other register" of an empty slot
    const q = this.queues[this.queueSel];
    switch (offset) {
      case VIRTIO_MMIO_DEVICE_FEATURES:
        return this.deviceFeaturesSel > 1 ? 0 : Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & 0xffffffffn);
      case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? q.maxSize : 0;
      case VIRTIO_MMIO_QUEUE_READY: return q?.ready ? 1 : 0;
      case VIRTIO_MMIO_INTERRUPT_STATUS: return this.interruptStatus;
      case VIRTIO_MMIO_STATUS: return this.status;
      case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
      case VIRTIO_MMIO_SHM_BASE_LOW: case VIRTIO_MMIO_SHM_BASE_HIGH:
        return 0xffffffff; // no shared memory regions: length -1, base all ones
      case VIRTIO_MMIO_QUEUE_RESET: return 0; // a queue reset completes synchronously
      case VIRTIO_MMIO_CONFIG_GENERATION: return this.configGeneration;
      default: return 0; // write-only and unknown registers
    }
  }

  write(offset: number, size: number, value: number): void {
    if (!this.device) return;
    if (offset >= VIRTIO_MMIO_CONFIG) {
      this.device.writeConfig(offset - VIRTIO_MMIO_CONFIG, size, value);
      return;
    }
    if (size !== 4 || (offset & 3) !== 0) return;
    value >>>= 0;
    switch (offset) {
      case VIRTIO_MMIO_DEVICE_FEATURES_SEL: this.deviceFeaturesSel = value; return;
      case VIRTIO_MMIO_DRIVER_FEATURES_SEL: this.driverFeaturesSel = value; return;
      case VIRTIO_MMIO_DRIVER_FEATURES:
        // Feature bits are fixed once FEATURES_OK is set (Spec: virtio-1.2 §3.1.1 "Driver
        // Requirements: Device Initialization"); later writes are ignored.
        if (this.driverFeaturesSel < 2 && !(this.status & VIRTIO_STATUS_FEATURES_OK)) {
          this.driverFeatures[this.driverFeaturesSel] = value;
        }
        return;
      case VIRTIO_MMIO_QUEUE_SEL: this.queueSel = value; return;
      case VIRTIO_MMIO_QUEUE_NOTIFY: this.queueNotify(value); return;
      case VIRTIO_MMIO_INTERRUPT_ACK:
        this.interruptStatus &= ~value;
        if (this.interruptStatus === 0) this.irq.set(false);
        return;
      case VIRTIO_MMIO_STATUS: this.writeStatus(value & 0xff); return;
      case VIRTIO_MMIO_SHM_SEL: return;
      case VIRTIO_MMIO_QUEUE_RESET: if (value === 1) this.queueReset(); return;
    }
    this.writeQueueRegister(offset, value);
  }

  /** Queue configuration registers: ignored while the selected queue is ready. */
  private writeQueueRegister(offset: number, value: number): void {
    const q = this.queues[this.queueSel];
    if (!q) return;
    if (offset === VIRTIO_MMIO_QUEUE_READY) {
      if (value === 0) q.ready = false;
      else if (!q.ready && !q.broken) q.enable();
      return;
    }
    if (q.ready) return; // "When QueueReady is not zero, the driver MUST NOT access QueueNum, QueueDesc..."
    switch (offset) {
      case VIRTIO_MMIO_QUEUE_NUM: q.size = value; return;
      case VIRTIO_MMIO_QUEUE_DESC_LOW: q.desc = setLow(q.desc, value); return;
      case VIRTIO_MMIO_QUEUE_DESC_HIGH: q.desc = setHigh(q.desc, value); return;
      case VIRTIO_MMIO_QUEUE_DRIVER_LOW: q.driver = setLow(q.driver, value); return;
      case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: q.driver = setHigh(q.driver, value); return;
      case VIRTIO_MMIO_QUEUE_DEVICE_LOW: q.device = setLow(q.device, value); return;
      case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: q.device = setHigh(q.device, value); return;
    }
  }

  private queueNotify(index: number): void {
    const q = this.queues[index];
    if (q && q.live && this.running) this.device!.queueNotify(index);
  }

  /** Spec: virtio-1.2 §2.6.1 "Virtqueue Reset" (only with VIRTIO_F_RING_RESET negotiated). */
  private queueReset(): void {
    const q = this.queues[this.queueSel];
    if (!q || !this.hasFeature(VIRTIO_F_RING_RESET)) return;
    q.reset();
    this.device!.queueReset?.(this.queueSel);
  }

  /**
   * Status transitions (Spec: virtio-1.2 §3.1 "Device Initialization"):
   *   any ──0──> reset
   *   ... ──FEATURES_OK──> accepted only if the driver's features are a subset of ours,
   *                        include VIRTIO_F_VERSION_1 and the device agrees (else the bit
   *                        stays clear, which the driver reads back as refusal)
   *   FEATURES_OK ──DRIVER_OK──> device activated; DRIVER_OK without FEATURES_OK is an error
   * DEVICE_NEEDS_RESET belongs to the device: a driver write can neither set nor clear it.
   */
  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const old = this.status;
    let next = (value & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    if (next & VIRTIO_STATUS_FEATURES_OK && !(old & VIRTIO_STATUS_FEATURES_OK) && !this.negotiate()) {
      next &= ~VIRTIO_STATUS_FEATURES_OK;
    }
    const activate = next & VIRTIO_STATUS_DRIVER_OK && !(old & VIRTIO_STATUS_DRIVER_OK);
    if (activate && !(next & VIRTIO_STATUS_FEATURES_OK)) {
      this.status = next & ~VIRTIO_STATUS_DRIVER_OK;
      this.needsReset();
      return;
    }
    this.status = next;
    if (activate && this.running) this.device!.activate();
  }

  private negotiate(): boolean {
    const want = BigInt(this.driverFeatures[0]!) | (BigInt(this.driverFeatures[1]!) << 32n);
    // Spec: virtio-1.2 §2.2.1 "Driver Requirements: Feature Bits": "The driver MUST NOT accept
    // a feature which the device did not offer"; a modern device needs VIRTIO_F_VERSION_1.
    if ((want & ~this.offered) !== 0n || (want & bit(VIRTIO_F_VERSION_1)) === 0n) return false;
    if (this.device!.validateFeatures && !this.device!.validateFeatures(want)) return false;
    this.accepted[0] = this.driverFeatures[0]!;
    this.accepted[1] = this.driverFeatures[1]!;
    this.applyFeatures();
    return true;
  }

  private applyFeatures(): void {
    const eventIdx = this.hasFeature(VIRTIO_F_RING_EVENT_IDX);
    const indirect = this.hasFeature(VIRTIO_F_INDIRECT_DESC);
    for (const q of this.queues) {
      q.eventIdx = eventIdx;
      q.indirect = indirect;
    }
  }

  /**
   * Spec: virtio-1.2 §2.4 "Device Reset"; §4.2.2.1 "Device Requirements: MMIO Device Register
   * Layout": "Upon reset, the device MUST clear all bits in InterruptStatus and ready bits in
   * the QueueReady register for all queues in the device."
   */
  reset(): void {
    this.status = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    this.driverFeatures.fill(0);
    this.accepted.fill(0);
    this.interruptStatus = 0;
    this.irq.set(false);
    for (const q of this.queues) {
      q.reset();
      q.eventIdx = q.indirect = false;
    }
    this.device?.reset();
  }

  save(): VirtioMmioState {
    return {
      version: 1,
      deviceId: this.device?.deviceId ?? 0,
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: [this.driverFeatures[0]!, this.driverFeatures[1]!],
      queueSel: this.queueSel,
      interruptStatus: this.interruptStatus,
      configGeneration: this.configGeneration,
      queues: this.queues.map((q) => q.save()),
      device: this.device?.save() ?? null,
    };
  }

  /**
   * Load a record made by save() into a transport built with the same device type and queue
   * count. False (and the transport reset) if the record does not fit.
   */
  restore(s: VirtioMmioState): boolean {
    this.reset();
    if (s?.version !== 1 || s.deviceId !== (this.device?.deviceId ?? 0) || !Array.isArray(s.queues) ||
        s.queues.length !== this.queues.length || !Array.isArray(s.driverFeatures) || s.driverFeatures.length !== 2 ||
        ![s.status, s.deviceFeaturesSel, s.driverFeaturesSel, s.queueSel, s.interruptStatus, s.configGeneration,
          ...s.driverFeatures].every((v) => Number.isInteger(v))) {
      return false;
    }
    if (!this.queues.every((q, i) => q.restore(s.queues[i]!))) {
      this.reset();
      return false;
    }
    if (this.device && !this.device.restore(s.device)) {
      this.reset();
      return false;
    }
    this.status = s.status & 0xff;
    this.deviceFeaturesSel = s.deviceFeaturesSel >>> 0;
    this.driverFeaturesSel = s.driverFeaturesSel >>> 0;
    this.driverFeatures[0] = s.driverFeatures[0];
    this.driverFeatures[1] = s.driverFeatures[1];
    if (this.status & VIRTIO_STATUS_FEATURES_OK) {
      this.accepted.set(this.driverFeatures);
      this.applyFeatures();
    }
    this.queueSel = s.queueSel >>> 0;
    this.configGeneration = s.configGeneration >>> 0;
    this.interruptStatus = s.interruptStatus & 3;
    this.irq.set(this.interruptStatus !== 0);
    // Resume host-side work (console input, rx backlog) into buffers the driver posted before
    // the save: the driver will not notify for them again.
    if (this.running) this.device!.activate();
    return true;
  }
}

function setLow(addr: number, lo: number): number {
  return Math.floor(addr / TWO_POW_32) * TWO_POW_32 + lo;
}
function setHigh(addr: number, hi: number): number {
  return hi * TWO_POW_32 + (addr % TWO_POW_32);
}
