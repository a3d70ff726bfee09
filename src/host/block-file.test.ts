// SPDX-License-Identifier: GPL-2.0-only
// Raw image files behind virtio-blk: a real sparse temp file written and read by the guest
// driver harness, read-only images refusing writes, and one-line errors naming the file.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { blkRequest, blkRig } from '../hardware/devices/virtio/test-blk.ts';
import { VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../hardware/devices/virtio/virtio-blk.ts';
import { BlockFile, BlockFileError } from './block-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsxen-blk-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a sparse 64 MiB image: guest writes land in the file, reads come back, holes stay unallocated', () => {
  const path = join(dir, 'disk.img');
  const file = BlockFile.create(path, 64 << 20);
  try {
    assert.equal(statSync(path).size, 64 << 20);
    assert.ok(statSync(path).blocks * 512 < 1 << 20, 'created sparse');
    const r = blkRig(file);
    const data = new Uint8Array(4096).map((_, i) => (i * 13) & 0xff);
    const sector = (32 << 20) / 512;
    assert.equal(blkRequest(r, VIRTIO_BLK_T_OUT, sector, { out: data }).status, VIRTIO_BLK_S_OK);
    assert.equal(blkRequest(r, VIRTIO_BLK_T_FLUSH, 0, {}).status, VIRTIO_BLK_S_OK);
    const rd = blkRequest(r, VIRTIO_BLK_T_IN, sector, { inLen: 4096 });
    assert.deepEqual(rd.data, data);
    const hole = blkRequest(r, VIRTIO_BLK_T_IN, 0, { inLen: 4096 });
    assert.equal(hole.status, VIRTIO_BLK_S_OK);
    assert.ok(hole.data.every((b) => b === 0), 'a hole reads as zeros');
    assert.ok(statSync(path).blocks * 512 < 1 << 20, 'still sparse after one write');
    assert.deepEqual(new Uint8Array(readFileSync(path).subarray(32 << 20, (32 << 20) + 4096)), data, 'the bytes are in the file');
    assert.equal(blkRequest(r, VIRTIO_BLK_T_IN, (64 << 20) / 512, { inLen: 512 }).status, VIRTIO_BLK_S_IOERR, 'past the end');
  } finally {
    file.close();
  }
});

test('a read-only image: the device offers RO, guest writes fail with IOERR and the file is unchanged', () => {
  const path = join(dir, 'ro.img');
  const content = new Uint8Array(8192).fill(0x42);
  writeFileSync(path, content);
  const file = BlockFile.open(path, { readOnly: true });
  try {
    assert.equal(file.readOnly, true);
    const r = blkRig(file);
    assert.equal(blkRequest(r, VIRTIO_BLK_T_OUT, 0, { out: new Uint8Array(512) }).status, VIRTIO_BLK_S_IOERR);
    assert.deepEqual(new Uint8Array(readFileSync(path)), content);
    const rd = blkRequest(r, VIRTIO_BLK_T_IN, 1, { inLen: 512 });
    assert.equal(rd.status, VIRTIO_BLK_S_OK);
    assert.ok(rd.data.every((b) => b === 0x42));
    assert.equal(file.write(0, new Uint8Array(1)), false, 'the backend itself refuses too');
  } finally {
    file.close();
  }
});

test('the RO option on the device protects a writable file', () => {
  const path = join(dir, 'rw.img');
  writeFileSync(path, new Uint8Array(4096));
  const file = BlockFile.open(path);
  try {
    const r = blkRig(file, { readOnly: true });
    assert.equal(blkRequest(r, VIRTIO_BLK_T_OUT, 0, { out: new Uint8Array(512).fill(1) }).status, VIRTIO_BLK_S_IOERR);
    assert.ok(readFileSync(path).every((b) => b === 0));
  } finally {
    file.close();
  }
});

test('opening problems are one-line BlockFileErrors naming the file', () => {
  const missing = join(dir, 'missing.img');
  assert.throws(() => BlockFile.open(missing), (e: unknown) =>
    e instanceof BlockFileError && e.message === `disk image ${missing}: no such file`);
  assert.throws(() => BlockFile.open(dir), (e: unknown) =>
    e instanceof BlockFileError && e.message.startsWith(`disk image ${dir}: is a directory`));
  assert.throws(() => BlockFile.open('/dev/null'), (e: unknown) =>
    e instanceof BlockFileError && /not a regular file/.test(e.message));
  if (process.getuid?.() !== 0) {
    const locked = join(dir, 'locked.img');
    writeFileSync(locked, new Uint8Array(512));
    chmodSync(locked, 0o444);
    assert.throws(() => BlockFile.open(locked), (e: unknown) =>
      e instanceof BlockFileError && e.message === `disk image ${locked}: permission denied (open it read-only, or fix its permissions)`);
    BlockFile.open(locked, { readOnly: true }).close();
  }
});

test('I/O after close fails instead of throwing', () => {
  const file = BlockFile.create(join(dir, 'closed.img'), 4096);
  file.close();
  assert.equal(file.read(0, new Uint8Array(512)), false);
  assert.equal(file.write(0, new Uint8Array(512)), false);
  assert.equal(file.flush(), false);
});
