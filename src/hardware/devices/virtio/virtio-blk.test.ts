// SPDX-License-Identifier: GPL-2.0-only
// virtio-blk end to end through the transport, with a RAM backend: configuration, IN/OUT
// round trips over every framing, indirect requests, FLUSH, GET_ID, unsupported types,
// range checks, read-only, backend failures and malformed chains.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blkRequest, blkRig } from './test-blk.ts';
import { MmioDriver, TestRam } from './test-driver.ts';
import { bit, VIRTIO_STATUS_DEVICE_NEEDS_RESET } from './virtio-device.ts';
import { VirtioMmio } from './virtio-mmio.ts';
import {
  type BlockBackend, RamBlockBackend, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT, VirtioBlk,
} from './virtio-blk.ts';

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test('configuration: capacity in sectors, seg_max, blk_size; features SEG_MAX, BLK_SIZE, FLUSH, RO', () => {
  const ram = new TestRam();
  const drv = new MmioDriver(ram);
  drv.dev = new VirtioMmio(ram.mem, drv.irq, new VirtioBlk({ backend: new RamBlockBackend(1 << 20 | 100) }));
  assert.equal(drv.config64(0), 2048, 'a trailing partial sector is not exposed');
  assert.equal(drv.config32(12), 254);
  assert.equal(drv.config32(20), 512);
  assert.equal(drv.config16(34), 1);
  assert.equal(drv.config32(1000), 0, 'beyond the config space reads 0');
  const f = drv.deviceFeatures();
  for (const b of [VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH]) assert.ok(f & bit(b));
  assert.equal(f & bit(VIRTIO_BLK_F_RO), 0n);
  drv.dev = new VirtioMmio(ram.mem, drv.irq, new VirtioBlk({ backend: new RamBlockBackend(4096), readOnly: true }));
  assert.ok(drv.deviceFeatures() & bit(VIRTIO_BLK_F_RO));
});

for (const layout of ['split', 'merged', 'indirect'] as const) {
  for (const scramble of [false, true]) {
    test(`OUT then IN round trip (${layout} descriptors${scramble ? ', guest pages not contiguous in machine memory' : ''})`, () => {
      const r = blkRig(new RamBlockBackend(1 << 20), { scramble });
      const data = pattern(8192 + 512, 7);
      const w = blkRequest(r, VIRTIO_BLK_T_OUT, 3, { out: data }, layout);
      assert.deepEqual([w.status, w.len], [VIRTIO_BLK_S_OK, 1]);
      assert.deepEqual((r.backend as RamBlockBackend).data.subarray(3 * 512, 3 * 512 + data.length), data);
      const rd = blkRequest(r, VIRTIO_BLK_T_IN, 3, { inLen: data.length }, layout);
      assert.deepEqual([rd.status, rd.len], [VIRTIO_BLK_S_OK, data.length + 1]);
      assert.deepEqual(rd.data, data);
      assert.equal(r.ram.faults, 0);
      assert.ok(r.ram.guardsIntact());
    });
  }
}

test('FLUSH reaches the backend; GET_ID returns the NUL-padded serial', () => {
  const backend = new RamBlockBackend(4096);
  const r = blkRig(backend, { serial: 'disk-0' });
  assert.equal(blkRequest(r, VIRTIO_BLK_T_FLUSH, 0, {}).status, VIRTIO_BLK_S_OK);
  assert.equal(backend.flushes, 1);
  const id = blkRequest(r, VIRTIO_BLK_T_GET_ID, 0, { inLen: 20 });
  assert.equal(id.status, VIRTIO_BLK_S_OK);
  assert.equal(id.len, 21);
  assert.deepEqual(id.data, Uint8Array.from([...'disk-0'].map((c) => c.charCodeAt(0)).concat(Array(14).fill(0))));
});

test('an unknown request type answers VIRTIO_BLK_S_UNSUPP', () => {
  const r = blkRig(new RamBlockBackend(4096));
  for (const type of [11, 13, 14, 0x80000000]) {
    assert.deepEqual(blkRequest(r, type, 0, { inLen: 16 }).status, VIRTIO_BLK_S_UNSUPP);
  }
});

test('requests beyond capacity or not in whole sectors answer IOERR and touch nothing', () => {
  const backend = new RamBlockBackend(4096);
  const r = blkRig(backend);
  assert.equal(blkRequest(r, VIRTIO_BLK_T_IN, 7, { inLen: 1024 }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(blkRequest(r, VIRTIO_BLK_T_IN, 2 ** 52, { inLen: 512 }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(blkRequest(r, VIRTIO_BLK_T_OUT, 0, { out: pattern(100, 1) }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(blkRequest(r, VIRTIO_BLK_T_IN, 7, { inLen: 512 }).status, VIRTIO_BLK_S_OK, 'the last sector is fine');
  assert.ok(backend.data.every((b) => b === 0));
});

test('"A device MUST set the status byte to VIRTIO_BLK_S_IOERR for a write request if the VIRTIO_BLK_F_RO feature if offered, and MUST NOT write any data"', () => {
  const backend = new RamBlockBackend(4096);
  const r = blkRig(backend, { readOnly: true });
  assert.equal(blkRequest(r, VIRTIO_BLK_T_OUT, 0, { out: pattern(512, 3) }).status, VIRTIO_BLK_S_IOERR);
  assert.ok(backend.data.every((b) => b === 0));
  assert.equal(blkRequest(r, VIRTIO_BLK_T_IN, 0, { inLen: 512 }).status, VIRTIO_BLK_S_OK);
});

test('a failing backend is reported as IOERR', () => {
  const failing: BlockBackend = { size: 4096, readOnly: false, read: () => false, write: () => false, flush: () => false };
  const r = blkRig(failing);
  assert.equal(blkRequest(r, VIRTIO_BLK_T_IN, 0, { inLen: 512 }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(blkRequest(r, VIRTIO_BLK_T_OUT, 0, { out: pattern(512, 0) }).status, VIRTIO_BLK_S_IOERR);
  assert.equal(blkRequest(r, VIRTIO_BLK_T_FLUSH, 0, {}).status, VIRTIO_BLK_S_IOERR);
});

test('a chain without a header or without a status byte puts the device in DEVICE_NEEDS_RESET', () => {
  for (const [out, inb] of [[8, 1], [16, 0]] as const) {
    const r = blkRig(new RamBlockBackend(4096));
    const b = r.ram.alloc(64);
    r.q.add([{ gpa: b, len: out }], inb ? [{ gpa: b + 32, len: inb }] : []);
    r.q.kick();
    assert.deepEqual(r.q.takeUsed(), []);
    assert.ok(r.drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  }
});

test('several requests in one notification are all completed, with one interrupt', () => {
  const r = blkRig(new RamBlockBackend(1 << 16));
  const b = r.ram.alloc(4 * 1024);
  for (let i = 0; i < 4; i++) {
    const h = b + i * 1024;
    r.ram.w32(h, VIRTIO_BLK_T_IN);
    r.ram.w64(h + 8, i);
    r.q.add([{ gpa: h, len: 16 }], [{ gpa: h + 32, len: 513 }]);
  }
  r.q.kick();
  assert.equal(r.q.takeUsed().length, 4);
  assert.equal(r.drv.ackInterrupt(), 1);
});
