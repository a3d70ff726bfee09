// SPDX-License-Identifier: GPL-2.0-only
// The virtio-mmio transport driven by the spec-following test driver, with virtio-rng as the
// device behind it: identification, feature negotiation, queue setup, notifications and
// interrupts, reset, queue reset, save/restore.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MmioDriver, TestRam } from './test-driver.ts';
import {
  bit, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_RING_RESET, VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_DEVICE_NEEDS_RESET, VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FEATURES_OK,
} from './virtio-device.ts';
import * as R from './virtio-mmio.ts';
import { VirtioMmio } from './virtio-mmio.ts';
import { VirtioRng } from './virtio-rng.ts';

const V1 = bit(VIRTIO_F_VERSION_1);

function counterEntropy() {
  let n = 0;
  return (buf: Uint8Array) => { for (let i = 0; i < buf.length; i++) buf[i] = (n++ * 7 + 3) & 0xff; };
}

function rngSlot(ram = new TestRam()) {
  const drv = new MmioDriver(ram);
  const dev = new VirtioRng({ entropy: counterEntropy() });
  const t = new VirtioMmio(ram.mem, drv.irq, dev);
  drv.dev = t;
  return { ram, drv, t, dev };
}

test('identification registers: magic "virt", version 2, QEMU vendor, device id', () => {
  const { drv } = rngSlot();
  assert.equal(drv.read(R.VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
  assert.equal(drv.read(R.VIRTIO_MMIO_VERSION), 2);
  assert.equal(drv.read(R.VIRTIO_MMIO_VENDOR_ID), 0x554d4551);
  assert.equal(drv.read(R.VIRTIO_MMIO_DEVICE_ID), 4);
});

test('an empty slot answers DeviceID 0 and ignores everything else', () => {
  const ram = new TestRam();
  const drv = new MmioDriver(ram);
  drv.dev = new VirtioMmio(ram.mem, drv.irq, null);
  assert.equal(drv.read(R.VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
  assert.equal(drv.read(R.VIRTIO_MMIO_DEVICE_ID), 0);
  drv.write(R.VIRTIO_MMIO_STATUS, 1);
  assert.equal(drv.status(), 0);
  assert.equal(drv.read(R.VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
  assert.equal(drv.deviceFeatures(), 0n);
});

test('control registers accept only 32-bit aligned accesses', () => {
  const { drv, t } = rngSlot();
  assert.equal(t.read(R.VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
  assert.equal(t.read(R.VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
  t.write(R.VIRTIO_MMIO_STATUS, 1, 1);
  assert.equal(drv.status(), 0);
});

test('the device offers VERSION_1, RING_EVENT_IDX, INDIRECT_DESC and RING_RESET', () => {
  const { drv } = rngSlot();
  const f = drv.deviceFeatures();
  for (const b of [VIRTIO_F_VERSION_1, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_RESET]) {
    assert.ok(f & bit(b), `feature ${b}`);
  }
  drv.write(R.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
  assert.equal(drv.read(R.VIRTIO_MMIO_DEVICE_FEATURES), 0);
});

test('FEATURES_OK: refused without VIRTIO_F_VERSION_1 or with a feature not offered; accepted otherwise', () => {
  const { drv } = rngSlot();
  assert.equal(drv.negotiate(0n), false, 'legacy-only driver');
  // Spec: virtio-1.2 §2.2.1 "The driver MUST NOT accept a feature which the device did not offer".
  assert.equal(drv.negotiate(V1 | bit(5)), false);
  assert.equal(drv.negotiate(V1 | bit(VIRTIO_F_RING_EVENT_IDX)), true);
  // Features are frozen after FEATURES_OK.
  drv.write(R.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  drv.write(R.VIRTIO_MMIO_DRIVER_FEATURES, 0);
  drv.setupQueue(0, 8, true);
  drv.driverOk();
  assert.equal(drv.status() & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
});

test('DRIVER_OK without FEATURES_OK puts the device in DEVICE_NEEDS_RESET', () => {
  const { drv } = rngSlot();
  drv.write(R.VIRTIO_MMIO_STATUS, 1 | 2 | 4);
  assert.equal(drv.status() & VIRTIO_STATUS_DRIVER_OK, 0);
  assert.ok(drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  drv.write(R.VIRTIO_MMIO_STATUS, 0);
  assert.equal(drv.status(), 0, 'writing 0 resets, clearing DEVICE_NEEDS_RESET');
});

test('a request end to end: buffer filled, used ring written, interrupt raised and acknowledged', () => {
  const { ram, drv } = rngSlot();
  assert.ok(drv.negotiate(V1));
  const q = drv.setupQueue(0, 8, false);
  drv.driverOk();
  const buf = ram.alloc(32);
  const head = q.add([], [{ gpa: buf, len: 32 }]);
  assert.equal(q.kick(), true);
  assert.deepEqual(q.takeUsed(), [{ id: head, len: 32 }]);
  assert.deepEqual([...ram.bytes(buf, 4)], [3, 10, 17, 24]);
  assert.equal(drv.irqLevel, true);
  assert.equal(drv.ackInterrupt(), R.VIRTIO_MMIO_INT_VRING);
  assert.equal(drv.irqLevel, false);
  assert.equal(ram.faults, 0);
});

test('"The device MUST NOT consume buffers ... before DRIVER_OK" (virtio-1.2 §2.1.2)', () => {
  const { ram, drv } = rngSlot();
  assert.ok(drv.negotiate(V1));
  const q = drv.setupQueue(0, 8, false);
  q.add([], [{ gpa: ram.alloc(8), len: 8 }]);
  q.kick();
  assert.deepEqual(q.takeUsed(), []);
  drv.driverOk();
  q.kick();
  assert.equal(q.takeUsed().length, 1);
});

test('QueueNumMax is 0 for a queue that does not exist; a bad queue size or ring outside RAM needs reset', () => {
  const { ram, drv } = rngSlot();
  assert.ok(drv.negotiate(V1));
  drv.write(R.VIRTIO_MMIO_QUEUE_SEL, 1);
  assert.equal(drv.read(R.VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
  drv.write(R.VIRTIO_MMIO_QUEUE_SEL, 0);
  assert.equal(drv.read(R.VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
  drv.write(R.VIRTIO_MMIO_QUEUE_NUM, 6); // not a power of 2
  drv.write(R.VIRTIO_MMIO_QUEUE_READY, 1);
  assert.equal(drv.read(R.VIRTIO_MMIO_QUEUE_READY), 0);
  assert.ok(drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

  assert.ok(drv.negotiate(V1), 'status 0 cleared the error');
  drv.write(R.VIRTIO_MMIO_QUEUE_NUM, 8);
  drv.write(R.VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000); // below RAM
  drv.write(R.VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x8000_0000);
  drv.write(R.VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x8000_1000);
  drv.write(R.VIRTIO_MMIO_QUEUE_READY, 1);
  assert.equal(drv.read(R.VIRTIO_MMIO_QUEUE_READY), 0);
  assert.ok(drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.ok(ram.faults > 0 && ram.guardsIntact());
});

test('after DRIVER_OK, DEVICE_NEEDS_RESET comes with a configuration-change interrupt', () => {
  const { ram, drv } = rngSlot();
  assert.ok(drv.negotiate(V1));
  const q = drv.setupQueue(0, 8, false);
  drv.driverOk();
  q.setAvailIdx(100); // jumps by more than the queue size
  q.kick();
  assert.ok(drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.equal(drv.irqLevel, true);
  assert.equal(drv.ackInterrupt(), R.VIRTIO_MMIO_INT_CONFIG);
  // The driver cannot clear the bit by writing status.
  drv.write(R.VIRTIO_MMIO_STATUS, drv.status() & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.ok(drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  q.add([], [{ gpa: ram.alloc(8), len: 8 }]);
  q.kick();
  assert.deepEqual(q.takeUsed(), [], 'a device needing reset consumes nothing');
});

test('"Upon reset, the device MUST clear all bits in InterruptStatus and ready bits in the QueueReady register" (virtio-1.2 §4.2.2.1)', () => {
  const { ram, drv } = rngSlot();
  assert.ok(drv.negotiate(V1));
  const q = drv.setupQueue(0, 8, false);
  drv.driverOk();
  q.add([], [{ gpa: ram.alloc(8), len: 8 }]);
  q.kick();
  assert.equal(drv.irqLevel, true);
  drv.write(R.VIRTIO_MMIO_STATUS, 0);
  assert.equal(drv.read(R.VIRTIO_MMIO_INTERRUPT_STATUS), 0);
  assert.equal(drv.irqLevel, false);
  assert.equal(drv.read(R.VIRTIO_MMIO_QUEUE_READY), 0);
  assert.equal(drv.status(), 0);
});

test('no shared memory regions: SHMLen reads -1 and SHMBase all ones', () => {
  const { drv } = rngSlot();
  drv.write(R.VIRTIO_MMIO_SHM_SEL, 0);
  assert.equal(drv.read(R.VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
  assert.equal(drv.read(R.VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
  assert.equal(drv.read(R.VIRTIO_MMIO_SHM_BASE_LOW), 0xffffffff);
  assert.equal(drv.read(R.VIRTIO_MMIO_SHM_BASE_HIGH), 0xffffffff);
});

test('QueueReset (VIRTIO_F_RING_RESET): the queue resets and can be set up again', () => {
  const { ram, drv } = rngSlot();
  assert.ok(drv.negotiate(V1 | bit(VIRTIO_F_RING_RESET)));
  let q = drv.setupQueue(0, 8, false);
  drv.driverOk();
  q.add([], [{ gpa: ram.alloc(8), len: 8 }]);
  q.kick();
  assert.equal(q.takeUsed().length, 1);
  drv.write(R.VIRTIO_MMIO_QUEUE_SEL, 0);
  drv.write(R.VIRTIO_MMIO_QUEUE_RESET, 1);
  assert.equal(drv.read(R.VIRTIO_MMIO_QUEUE_RESET), 0, 'reset completed');
  assert.equal(drv.read(R.VIRTIO_MMIO_QUEUE_READY), 0);
  q = drv.setupQueue(0, 4, false);
  const head = q.add([], [{ gpa: ram.alloc(8), len: 8 }]);
  q.kick();
  assert.deepEqual(q.takeUsed(), [{ id: head, len: 8 }], 'fresh indexes start at 0');
  assert.equal(drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
});

test('QueueReset is ignored unless VIRTIO_F_RING_RESET was negotiated', () => {
  const { drv } = rngSlot();
  assert.ok(drv.negotiate(V1));
  drv.setupQueue(0, 8, false);
  drv.write(R.VIRTIO_MMIO_QUEUE_RESET, 1);
  assert.equal(drv.read(R.VIRTIO_MMIO_QUEUE_READY), 1);
});

test('save/restore round trip: a new transport continues the same rings', () => {
  const { ram, drv, t } = rngSlot();
  assert.ok(drv.negotiate(V1 | bit(VIRTIO_F_RING_EVENT_IDX)));
  const q = drv.setupQueue(0, 4, true);
  drv.driverOk();
  for (let i = 0; i < 3; i++) {
    q.add([], [{ gpa: ram.alloc(8), len: 8 }]);
    q.kick();
    q.takeUsed();
  }
  const state = JSON.parse(JSON.stringify(t.save()));
  // The old transport is gone; a new one (same device type) takes over the same guest RAM.
  const t2 = new VirtioMmio(ram.mem, drv.irq, new VirtioRng({ entropy: counterEntropy() }));
  assert.equal(t2.restore(state), true);
  drv.dev = t2;
  assert.equal(drv.status() & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK), VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK);
  for (let i = 0; i < 3; i++) {
    const head = q.add([], [{ gpa: ram.alloc(8), len: 8 }]);
    q.kick();
    assert.deepEqual(q.takeUsed(), [{ id: head, len: 8 }]);
  }
  assert.equal(ram.r16(q.used + 2), 6, 'used idx continued from the saved state');
  const after = t2.save();
  assert.equal(after.status, state.status);
  assert.deepEqual(after.driverFeatures, state.driverFeatures);
  assert.equal(after.queues[0]!.usedIdx, 6);
  // A record for another device type, or a damaged one, is refused without throwing.
  assert.equal(new VirtioMmio(ram.mem, drv.irq, null).restore(state), false);
  const fresh = () => new VirtioMmio(ram.mem, drv.irq, new VirtioRng({ entropy: counterEntropy() }));
  for (const bad of [null, {}, { ...state, queues: [] }, { ...state, driverFeatures: [1] }, { ...state, status: 'x' },
    { ...state, queues: [{ ...state.queues[0], size: 3 }] }, { ...state, device: { version: 9 } }]) {
    assert.equal(fresh().restore(bad), false, JSON.stringify(bad));
  }
});
