// SPDX-License-Identifier: GPL-2.0-only
// The RISC-V Linux `Image` boot header: parse, validate and compute where the kernel goes.
// Follows Linux's Documentation/arch/riscv/boot-image-header.rst (header version 0.2): a 64-byte
// header with code0/code1, text_offset, image_size, flags, version, the deprecated "RISCV" magic
// and magic2 "RSC\x05"; with the EFI stub, code0 starts with "MZ" and res3 points at the PE/COFF
// header, whose section table also tells how long an intact file must be. Pure functions over
// bytes: the host reads the files. Errors are one line naming the file.

/** A kernel, initrd or DTB that cannot be booted: the message is one line naming the file. */
export class BootImageError extends Error {
  override name = 'BootImageError';
}

export const IMAGE_HEADER_SIZE = 64;
/** Offsets in the header (boot-image-header.rst). */
const OFF_CODE0 = 0x00;
const OFF_CODE1 = 0x04;
const OFF_TEXT_OFFSET = 0x08;
const OFF_IMAGE_SIZE = 0x10;
const OFF_FLAGS = 0x18;
const OFF_VERSION = 0x20;
const OFF_MAGIC = 0x30;
const OFF_MAGIC2 = 0x38;
const OFF_RES3 = 0x3c;
/** u64 magic = 0x5643534952, "RISCV\0\0\0" little endian (deprecated since header 0.2). */
const MAGIC_LO = 0x43534952;
const MAGIC_HI = 0x56;
/** u32 magic2 = 0x05435352, "RSC\x05" little endian. */
const MAGIC2 = 0x05435352;
/** "MZ": code0 of an Image with the EFI stub (a PE/COFF executable). */
const MZ = 0x5a4d;
const PE_SIGNATURE = 0x00004550; // "PE\0\0"
/** flags bit 0: kernel endianness, 1 = big endian. */
export const IMAGE_FLAG_BE = 1;

/** RV64 kernels run from a 2 MiB (PMD) aligned physical address. */
export const KERNEL_ALIGN = 2 * 1024 * 1024;
const TWO32 = 4294967296;

export interface LinuxImageHeader {
  code0: number;
  code1: number;
  /** Load offset from the start of RAM (bytes). */
  textOffset: number;
  /** Effective image size: the memory the kernel occupies once running (text, data, bss). */
  imageSize: number;
  flags: number;
  versionMajor: number;
  versionMinor: number;
  /** magic2 "RSC\x05" present (header >= 0.2). */
  hasMagic2: boolean;
  /** The deprecated "RISCV" magic present. */
  hasMagic: boolean;
  /** EFI stub present (code0 = "MZ", res3 = PE header offset). */
  efiStub: boolean;
  /** Bytes an intact file has at least (from the PE section table; 64 without the EFI stub). */
  minFileSize: number;
}

function u32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}
function u16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}
/** A u64 field as a number, or -1 when it is 2^53 or more (no kernel is that big). */
function u64(b: Uint8Array, off: number): number {
  const hi = u32(b, off + 4);
  return hi >= 0x200000 ? -1 : hi * TWO32 + u32(b, off);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Parse and check the header of the kernel file `name`. Throws BootImageError for a file that
 * is too short, not a RISC-V Image (an ELF vmlinux is named as such), big endian, has no
 * image_size, or is shorter than its own PE/COFF section table says (a truncated download).
 */
export function parseLinuxImage(bytes: Uint8Array, name: string): LinuxImageHeader {
  const what = `kernel '${name}'`;
  if (bytes.length >= 4 && u32(bytes, 0) === 0x464c457f) {
    throw new BootImageError(`${what} is an ELF file (vmlinux); give the raw Image (arch/riscv/boot/Image) instead`);
  }
  if (bytes.length < IMAGE_HEADER_SIZE) {
    throw new BootImageError(`${what} is truncated: ${bytes.length} bytes, shorter than the 64-byte RISC-V Image header`);
  }
  const hasMagic2 = u32(bytes, OFF_MAGIC2) === MAGIC2;
  const hasMagic = u32(bytes, OFF_MAGIC) === MAGIC_LO && u32(bytes, OFF_MAGIC + 4) === MAGIC_HI;
  if (!hasMagic2 && !hasMagic) {
    throw new BootImageError(`${what} is not a RISC-V Linux Image (no "RSC\\x05" magic at 0x38)`);
  }
  const flags = u32(bytes, OFF_FLAGS);
  if (flags & IMAGE_FLAG_BE) throw new BootImageError(`${what} is a big-endian kernel; RISC-V guests here are little endian`);
  const textOffset = u64(bytes, OFF_TEXT_OFFSET);
  const imageSize = u64(bytes, OFF_IMAGE_SIZE);
  // boot-image-header.rst: "Image size is mandatory for boot loader to load kernel image.
  // Booting will fail otherwise."
  if (imageSize <= 0) throw new BootImageError(`${what} is corrupt: image_size is ${imageSize === 0 ? 'zero' : 'absurd'}`);
  if (textOffset < 0) throw new BootImageError(`${what} is corrupt: text_offset is absurd`);
  const version = u32(bytes, OFF_VERSION);
  const code0 = u32(bytes, OFF_CODE0);
  const efiStub = (code0 & 0xffff) === MZ;
  let minFileSize = IMAGE_HEADER_SIZE;
  if (efiStub) minFileSize = Math.max(minFileSize, peRawEnd(bytes, what));
  if (bytes.length < minFileSize) {
    throw new BootImageError(`${what} is truncated: ${bytes.length} bytes, its PE/COFF sections need ${minFileSize}`);
  }
  return {
    code0,
    code1: u32(bytes, OFF_CODE1),
    textOffset,
    imageSize,
    flags,
    versionMajor: version >>> 16,
    versionMinor: version & 0xffff,
    hasMagic2,
    hasMagic,
    efiStub,
    minFileSize,
  };
}

/**
 * End of the last section's raw data in the PE/COFF image the EFI stub wraps around the kernel
 * (PE header at res3; COFF file header: NumberOfSections at +6, SizeOfOptionalHeader at +20;
 * 40-byte section headers: SizeOfRawData at +16, PointerToRawData at +20).
 */
function peRawEnd(b: Uint8Array, what: string): number {
  const pe = u32(b, OFF_RES3);
  if (pe + 24 > b.length || u32(b, pe) !== PE_SIGNATURE) {
    throw new BootImageError(`${what} is corrupt or truncated: no PE header at ${hex(pe)} (the EFI stub's res3)`);
  }
  const nsect = u16(b, pe + 6);
  const table = pe + 24 + u16(b, pe + 20);
  if (table + nsect * 40 > b.length) {
    throw new BootImageError(`${what} is truncated: its PE section table ends past the file's ${b.length} bytes`);
  }
  let end = 0;
  for (let i = 0; i < nsect; i++) {
    const s = table + i * 40;
    const size = u32(b, s + 16);
    const ptr = u32(b, s + 20);
    if (size !== 0) end = Math.max(end, ptr + size);
  }
  return end;
}

export interface KernelPlacement {
  /** Physical load (and entry) address: RAM base + text_offset, rounded up to 2 MiB. */
  start: number;
  /** End of the memory the kernel occupies: start + max(image_size, file length). */
  end: number;
}

/** Where the kernel `name` goes in RAM [ramBase, ramBase + ramSize); throws if it does not fit. */
export function placeKernel(h: LinuxImageHeader, fileLength: number, ramBase: number, ramSize: number, name: string): KernelPlacement {
  const start = Math.ceil((ramBase + h.textOffset) / KERNEL_ALIGN) * KERNEL_ALIGN;
  const end = start + Math.max(h.imageSize, fileLength);
  if (end > ramBase + ramSize) {
    const mib = (n: number) => `${Math.ceil(n / 1048576)} MiB`;
    throw new BootImageError(
      `kernel '${name}' does not fit in RAM: it needs ${mib(end - start)} at ${hex(start)}, RAM is ${mib(ramSize)} at ${hex(ramBase)}`,
    );
  }
  return { start, end };
}
