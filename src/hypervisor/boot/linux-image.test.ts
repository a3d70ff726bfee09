// SPDX-License-Identifier: GPL-2.0-only
// Tests for the RISC-V Linux Image header parser and boot planner over synthetic images laid
// out as Documentation/arch/riscv/boot-image-header.rst describes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BootImageError, parseLinuxImage, placeKernel } from './linux-image.ts';
import { enterKernel, loadBootPlan, planLinuxBoot, type MemRange } from './boot-plan.ts';

const MiB = 1024 * 1024;

interface ImageOpts {
  textOffset?: number;
  imageSize?: number;
  flags?: number;
  version?: number;
  magic?: boolean;
  magic2?: boolean;
  /** EFI stub: PE header at 0x40 with these (pointer, size) raw sections. */
  pe?: Array<[number, number]>;
  length?: number;
}

/** A synthetic Image: the 64-byte header plus `length` bytes in all. */
function makeImage(o: ImageOpts = {}): Uint8Array {
  const len = o.length ?? 4096;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0x00, o.pe ? 0x00005a4d : 0x0000106f, true); // "MZ" or c.li/j
  v.setBigUint64(0x08, BigInt(o.textOffset ?? 0x200000), true);
  v.setBigUint64(0x10, BigInt(o.imageSize ?? 0x1f00000), true);
  v.setBigUint64(0x18, BigInt(o.flags ?? 0), true);
  v.setUint32(0x20, o.version ?? 0x00000002, true);
  if (o.magic ?? true) v.setBigUint64(0x30, 0x5643534952n, true);
  if (o.magic2 ?? true) v.setUint32(0x38, 0x05435352, true);
  if (o.pe) {
    const pe = 0x40;
    v.setUint32(0x3c, pe, true);
    v.setUint32(pe, 0x00004550, true); // "PE\0\0"
    v.setUint16(pe + 6, o.pe.length, true);
    v.setUint16(pe + 20, 0xf0, true); // SizeOfOptionalHeader (PE32+)
    const table = pe + 24 + 0xf0;
    o.pe.forEach(([ptr, size], i) => {
      v.setUint32(table + i * 40 + 16, size, true);
      v.setUint32(table + i * 40 + 20, ptr, true);
    });
  }
  return b;
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof BootImageError, `expected BootImageError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail('expected a BootImageError');
}

test('parses the header fields of a version 0.2 Image', () => {
  const h = parseLinuxImage(makeImage({ textOffset: 0x200000, imageSize: 0x1f3c000, version: 0x00000002 }), 'Image');
  assert.equal(h.textOffset, 0x200000);
  assert.equal(h.imageSize, 0x1f3c000);
  assert.equal(h.versionMajor, 0);
  assert.equal(h.versionMinor, 2);
  assert.equal(h.hasMagic2, true);
  assert.equal(h.hasMagic, true);
  assert.equal(h.efiStub, false);
});

test('accepts magic2 alone (the deprecated "RISCV" magic "may be removed") and the old magic alone', () => {
  assert.equal(parseLinuxImage(makeImage({ magic: false }), 'k').hasMagic2, true);
  assert.equal(parseLinuxImage(makeImage({ magic2: false }), 'k').hasMagic, true);
});

test('rejects files that are not RISC-V Images, naming the file', () => {
  assert.match(errorOf(() => parseLinuxImage(makeImage({ magic: false, magic2: false }), 'bzImage')), /kernel 'bzImage' is not a RISC-V Linux Image/);
  const elf = new Uint8Array(4096);
  elf.set([0x7f, 0x45, 0x4c, 0x46]);
  assert.match(errorOf(() => parseLinuxImage(elf, 'vmlinux')), /kernel 'vmlinux' is an ELF file/);
  assert.match(errorOf(() => parseLinuxImage(new Uint8Array(0), 'empty')), /kernel 'empty' is truncated: 0 bytes/);
  assert.match(errorOf(() => parseLinuxImage(makeImage().subarray(0, 63), 'short')), /truncated: 63 bytes/);
});

test('rejects big-endian kernels and a missing or absurd image_size', () => {
  assert.match(errorOf(() => parseLinuxImage(makeImage({ flags: 1 }), 'be')), /big-endian/);
  // boot-image-header.rst: "Image size is mandatory for boot loader to load kernel image."
  assert.match(errorOf(() => parseLinuxImage(makeImage({ imageSize: 0 }), 'z')), /image_size is zero/);
  const b = makeImage();
  new DataView(b.buffer).setUint32(0x14, 0xffffffff, true);
  assert.match(errorOf(() => parseLinuxImage(b, 'huge')), /image_size is absurd/);
});

test('with the EFI stub, a file shorter than its PE sections is reported as truncated', () => {
  const ok = makeImage({ pe: [[0x1000, 0x2000], [0x3000, 0x1000]], length: 0x4000 });
  const h = parseLinuxImage(ok, 'Image');
  assert.equal(h.efiStub, true);
  assert.equal(h.minFileSize, 0x4000);
  assert.match(errorOf(() => parseLinuxImage(ok.subarray(0, 0x3fff), 'cut')), /kernel 'cut' is truncated: 16383 bytes, its PE\/COFF sections need 16384/);
  const bad = makeImage({ pe: [[0x1000, 0x100]] });
  new DataView(bad.buffer).setUint32(0x3c, 0x7fff0000, true);
  assert.match(errorOf(() => parseLinuxImage(bad, 'k')), /no PE header at 0x7fff0000/);
});

test('the kernel goes at RAM base + text_offset, 2 MiB aligned, and must fit', () => {
  const h = parseLinuxImage(makeImage({ textOffset: 0x200000, imageSize: 31 * MiB }), 'k');
  assert.deepEqual(placeKernel(h, 4096, 0x80000000, 256 * MiB, 'k'), { start: 0x80200000, end: 0x80200000 + 31 * MiB });
  const odd = parseLinuxImage(makeImage({ textOffset: 0x1000 }), 'k');
  assert.equal(placeKernel(odd, 4096, 0x80000000, 256 * MiB, 'k').start, 0x80200000);
  assert.match(errorOf(() => placeKernel(h, 4096, 0x80000000, 32 * MiB, 'big')), /kernel 'big' does not fit in RAM: it needs 31 MiB at 0x80200000, RAM is 32 MiB at 0x80000000/);
});

/** A minimal FDT blob: the magic and totalsize, padded to `size`. */
function fakeDtb(size = 0x2000): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0xd00dfeed);
  v.setUint32(4, size);
  return b;
}

test('boot plan: kernel, initrd at kernel + min(RAM/2, 128 MiB), DTB 2 MiB aligned below min(RAM end, 3 GiB)', () => {
  const kernel = makeImage({ imageSize: 31 * MiB });
  const initrd = new Uint8Array(5 * MiB);
  let seen: MemRange | undefined;
  const plan = planLinuxBoot({
    ramBase: 0x80000000,
    ramSize: 512 * MiB,
    kernel: { name: 'Image', bytes: kernel },
    initrd: { name: 'initrd.gz', bytes: initrd },
    buildDtb: (r) => ((seen = r), fakeDtb()),
  });
  assert.deepEqual(plan.kernel, { start: 0x80200000, end: 0x80200000 + 31 * MiB });
  assert.deepEqual(plan.initrd, { start: 0x80200000 + 128 * MiB, end: 0x80200000 + 133 * MiB });
  assert.deepEqual(seen, plan.initrd);
  assert.equal(plan.dtb.start, 0xa0000000 - 2 * MiB);
  assert.deepEqual(plan.entry, { hartId: 0, pc: 0x80200000, a0: 0, a1: 0xa0000000 - 2 * MiB });
  assert.deepEqual(plan.loads.map((l) => [l.what, l.address]), [['kernel', 0x80200000], ['initrd', 0x88200000], ['dtb', 0x9fe00000]]);

  // 4 GiB of RAM: the DTB stays below 3 GiB (QEMU's 32-bit reachability rule).
  const big = planLinuxBoot({ ramBase: 0x80000000, ramSize: 4096 * MiB, kernel: { name: 'k', bytes: kernel }, buildDtb: () => fakeDtb() });
  assert.equal(big.dtb.start, 0xc0000000 - 2 * MiB);
  assert.equal(big.initrd, undefined);
});

test('boot plan: small RAM puts the initrd halfway (but never inside the kernel) and errors name the file', () => {
  const kernel = makeImage({ imageSize: 20 * MiB });
  const plan = planLinuxBoot({ ramBase: 0x80000000, ramSize: 64 * MiB, kernel: { name: 'k', bytes: kernel }, initrd: { name: 'i', bytes: new Uint8Array(MiB) }, buildDtb: () => fakeDtb() });
  assert.equal(plan.initrd!.start, 0x80200000 + 32 * MiB);
  // RAM/2 = 16 MiB would land inside the 20 MiB kernel: the initrd moves past its end.
  const tight = planLinuxBoot({ ramBase: 0x80000000, ramSize: 36 * MiB, kernel: { name: 'k', bytes: kernel }, initrd: { name: 'i', bytes: new Uint8Array(MiB) }, buildDtb: () => fakeDtb() });
  assert.equal(tight.initrd!.start, 0x80200000 + 20 * MiB);
  assert.match(
    errorOf(() => planLinuxBoot({ ramBase: 0x80000000, ramSize: 64 * MiB, kernel: { name: 'k', bytes: kernel }, initrd: { name: 'rootfs.cpio.gz', bytes: new Uint8Array(40 * MiB) }, buildDtb: () => fakeDtb() })),
    /initrd 'rootfs.cpio.gz' \(41943040 bytes\) does not fit in RAM/,
  );
  assert.match(
    errorOf(() => planLinuxBoot({ ramBase: 0x80000000, ramSize: 64 * MiB, kernel: { name: 'k', bytes: kernel }, initrd: { name: 'r', bytes: new Uint8Array(29 * MiB) }, buildDtb: () => fakeDtb() })),
    /initrd 'r' leaves no room for the device tree/,
  );
  assert.match(errorOf(() => planLinuxBoot({ ramBase: 0x80000000, ramSize: 64 * MiB, kernel: { name: 'k', bytes: kernel }, buildDtb: () => new Uint8Array(64) })), /not a flattened device tree/);
});

test('loadBootPlan writes every piece and enterKernel sets pc, a0 = hart id, a1 = DTB in S-mode', () => {
  const plan = planLinuxBoot({ ramBase: 0x80000000, ramSize: 128 * MiB, bootHartId: 1, kernel: { name: 'k', bytes: makeImage() }, buildDtb: () => fakeDtb() });
  const writes: Array<[number, number]> = [];
  loadBootPlan(plan, { write: (a, b) => writes.push([a, b.length]) });
  assert.deepEqual(writes, [[0x80200000, 4096], [0x87e00000, 0x2000]]);
  const x = new Int32Array(64).fill(7);
  let entered = -1;
  enterKernel({ x, enterSupervisor: (pc) => (entered = pc) }, plan.entry);
  assert.equal(entered, 0x80200000);
  assert.deepEqual([x[20], x[21], x[22], x[23]], [1, 0, 0x87e00000 | 0, 0]);
});
