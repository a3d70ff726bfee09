// SPDX-License-Identifier: GPL-2.0-only
// Test harness only: a virtio-blk slot driven by the spec-following test driver, and a helper
// that submits one request (header, data, status) in a chosen descriptor layout. Shared by the
// device's tests and the host block-file tests.

import { type DriverQueue, MmioDriver, TestRam } from './test-driver.ts';
import { type BlockBackend, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VirtioBlk } from './virtio-blk.ts';
import { bit, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1 } from './virtio-device.ts';
import { VirtioMmio } from './virtio-mmio.ts';

const V1 = bit(VIRTIO_F_VERSION_1);

export interface BlkRig { ram: TestRam; drv: MmioDriver; q: DriverQueue; backend: BlockBackend; }

/** A driven virtio-blk slot (exported for the host block-file test). */
export function blkRig(backend: BlockBackend, opts: { readOnly?: boolean; scramble?: boolean; serial?: string } = {}): BlkRig {
  const ram = new TestRam(1 << 20, opts.scramble);
  const drv = new MmioDriver(ram);
  drv.dev = new VirtioMmio(ram.mem, drv.irq, new VirtioBlk({ backend, readOnly: opts.readOnly, serial: opts.serial }));
  const offered = drv.deviceFeatures();
  if (!drv.negotiate(V1 | (offered & (bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_BLK_F_FLUSH) | bit(VIRTIO_BLK_F_RO))))) throw new Error('blkRig: FEATURES_OK refused');
  const q = drv.setupQueue(0, 16, false);
  drv.driverOk();
  return { ram, drv, q, backend };
}

/** Submit one request; returns { status, used len }. */
export function blkRequest(r: BlkRig, type: number, sector: number, data: { out?: Uint8Array; inLen?: number }, layout: 'split' | 'merged' | 'indirect' = 'split') {
  const { ram, q } = r;
  const hdr = ram.alloc(16 + (data.out?.length ?? 0), 8);
  ram.w32(hdr, type);
  ram.w32(hdr + 4, 0);
  ram.w64(hdr + 8, sector);
  const inLen = data.inLen ?? 0;
  const inb = ram.alloc(inLen + 1, 8);
  ram.w8(inb + inLen, 0xff);
  const out = [{ gpa: hdr, len: 16 }];
  if (data.out) {
    ram.put(hdr + 16, data.out);
    if (layout === 'merged') out[0]!.len += data.out.length;
    else out.push({ gpa: hdr + 16, len: data.out.length });
  }
  const ins = layout === 'merged' || inLen === 0
    ? [{ gpa: inb, len: inLen + 1 }]
    : [{ gpa: inb, len: inLen }, { gpa: inb + inLen, len: 1 }];
  const head = q.add(out, ins, layout === 'indirect');
  q.kick();
  const used = q.takeUsed();
  if (used.length !== 1 || used[0]!.id !== head) throw new Error(`blkRequest: used ring ${JSON.stringify(used)}`);
  return { status: ram.r8(inb + inLen), len: used[0]!.len, data: ram.bytes(inb, inLen) };
}
