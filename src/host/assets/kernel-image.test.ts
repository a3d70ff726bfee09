// SPDX-License-Identifier: GPL-2.0-only
// The RISC-V Image header check and banner reading, on a header laid out by hand as in
// Documentation/arch/riscv/boot-image-header.rst.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findBanner, parseRiscvImage } from './kernel-image.ts';

function fakeImage(release = '6.12.0-test-riscv64'): Uint8Array {
  const buf = new Uint8Array(4096);
  const v = new DataView(buf.buffer);
  buf.set([0x4d, 0x5a], 0);                    // "MZ": EFI stub
  v.setBigUint64(8, 0x200000n, true);          // text_offset
  v.setBigUint64(16, 0x1e6c000n, true);        // image_size
  v.setBigUint64(24, 0n, true);                // flags: little endian
  v.setUint32(32, 0x2, true);                  // version 0.2
  buf.set(new TextEncoder().encode('RISCV\0\0\0'), 48);
  buf.set([0x52, 0x53, 0x43, 0x05], 56);        // magic2 "RSC\x05"
  const enc = new TextEncoder();
  buf.set(enc.encode('Linux version %s (%s)\0'), 1000);   // a format string that must be skipped
  buf.set(enc.encode(`Linux version ${release} (builder@example) (gcc 14) #1 SMP\n\0`), 2000);
  return buf;
}

test('a RISC-V Image header is parsed and its banner gives the release', () => {
  const info = parseRiscvImage(fakeImage());
  assert.equal(info.textOffset, 0x200000n);
  assert.equal(info.imageSize, 0x1e6c000n);
  assert.equal(info.version, 2);
  assert.equal(info.efiStub, true);
  assert.equal(info.release, '6.12.0-test-riscv64');
  assert.equal(info.banner, 'Linux version 6.12.0-test-riscv64 (builder@example) (gcc 14) #1 SMP');
});

test('anything without magic2 at 0x38 is refused with a one-line error naming the file', () => {
  const bad = fakeImage();
  bad[0x3b] = 0x04;
  assert.throws(() => parseRiscvImage(bad, '/x/Image'), /^Error: \/x\/Image: not a RISC-V Linux Image \(no "RSC\\x05" magic at offset 0x38\)$/);
  assert.throws(() => parseRiscvImage(new Uint8Array(10), 'k'), /too short/);
  assert.equal(findBanner(new Uint8Array(100)), undefined);
});
