// SPDX-License-Identifier: GPL-2.0-only
// Checks a RISC-V Linux "Image" (the uncompressed boot image Debian ships as boot/vmlinux-<ver>)
// and reads its header and version banner.
// Format: Linux, Documentation/arch/riscv/boot-image-header.rst. Leaves out the EFI PE/COFF stub.

export interface RiscvImageInfo {
  textOffset: bigint;   // where the image wants to sit above the start of RAM
  imageSize: bigint;    // bytes the image occupies once loaded (incl. bss)
  flags: bigint;        // bit 0: endianness (0 = little)
  version: number;      // header version (major << 16 | minor)
  efiStub: boolean;     // starts with "MZ" (PE/COFF header for EFI)
  banner?: string;      // "Linux version ..." line, when found
  release?: string;     // the uname -r string from the banner
}

const MAGIC2 = [0x52, 0x53, 0x43, 0x05]; // "RSC\x05"

/** Throws a one-line error unless `buf` is a RISC-V Image; otherwise returns its header fields. */
export function parseRiscvImage(buf: Uint8Array, name = 'kernel'): RiscvImageInfo {
  if (buf.length < 64) throw new Error(`${name}: too short to be a RISC-V Linux Image (${buf.length} bytes)`);
  for (let i = 0; i < 4; i++) {
    if (buf[0x38 + i] !== MAGIC2[i]) throw new Error(`${name}: not a RISC-V Linux Image (no "RSC\\x05" magic at offset 0x38)`);
  }
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const info: RiscvImageInfo = {
    textOffset: v.getBigUint64(8, true),
    imageSize: v.getBigUint64(16, true),
    flags: v.getBigUint64(24, true),
    version: v.getUint32(32, true),
    efiStub: buf[0] === 0x4d && buf[1] === 0x5a,
  };
  const banner = findBanner(buf);
  if (banner) {
    info.banner = banner;
    info.release = banner.split(' ')[2];
  }
  return info;
}

/** Finds the kernel's linux_banner ("Linux version <release> (<builder>) ...") in an uncompressed image. */
export function findBanner(buf: Uint8Array): string | undefined {
  const needle = Buffer.from('Linux version ');
  const hay = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = hay.indexOf(needle);
  while (at >= 0) {
    let end = at;
    while (end < hay.length && hay[end] !== 0 && hay[end] !== 0x0a && end - at < 512) end++;
    const s = hay.toString('latin1', at, end);
    // The banner is "Linux version X (user@host) (compiler) #N ..."; skip format strings.
    if (/^Linux version \S+ \(/.test(s) && !s.includes('%s')) return s;
    at = hay.indexOf(needle, at + 1);
  }
  return undefined;
}
