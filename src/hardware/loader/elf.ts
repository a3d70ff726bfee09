// SPDX-License-Identifier: GPL-2.0-only
// ELF64 loader for RISC-V executables (EM_RISCV, ET_EXEC, little-endian): PT_LOAD segments
// copied to their physical address (p_paddr, as QEMU's loader does) with the memsz - filesz
// tail zeroed, the entry point, and symbol lookup (for the HTIF `tohost`/`fromhost` words).
// Every malformed field is a LoadError with a one-line message naming the problem.
// Spec: elf64-gabi "ELF Header", "Program Header", "Sections" (Symbol Table)
// Leaves out: relocation (ET_DYN), dynamic linking, compressed sections.

export class LoadError extends Error {
  override readonly name = 'LoadError';
}

export const EM_RISCV = 243;
export const ET_EXEC = 2;
export const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

export interface ElfSegment {
  readonly paddr: number;
  readonly vaddr: number;
  readonly offset: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly flags: number;
}

export interface ElfImage {
  readonly entry: number;
  readonly segments: readonly ElfSegment[];
  /** Value of a symbol from .symtab, or undefined (also when the file has no symbol table). */
  symbol(name: string): number | undefined;
}

/** What a loader writes into: a PhysBus, or anything that owns RAM. */
export interface LoadTarget {
  readonly ramBase: number;
  readonly ramSize: number;
  writePhys(pa: number, bytes: Uint8Array): boolean;
  zeroPhys(pa: number, len: number): boolean;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

const MACHINES: Record<number, string> = { 3: 'x86', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 22: 'S390', 40: 'ARM', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V', 258: 'LoongArch' };
const TYPES: Record<number, string> = { 0: 'ET_NONE', 1: 'ET_REL', 2: 'ET_EXEC', 3: 'ET_DYN', 4: 'ET_CORE' };

/** Parse and validate an ELF64 RISC-V executable. Throws LoadError. */
export function parseElf(bytes: Uint8Array): ElfImage {
  if (!isElf(bytes)) throw new LoadError('not an ELF file (bad magic)');
  if (bytes.length < EHDR_SIZE) throw new LoadError(`truncated ELF header: ${bytes.length} bytes, need ${EHDR_SIZE}`);
  const cls = bytes[4], data = bytes[5];
  if (cls !== 2) throw new LoadError(`ELF class ${cls === 1 ? 'ELFCLASS32 (32-bit)' : cls}, expected ELFCLASS64 (RV64)`);
  if (data !== 1) throw new LoadError(`ELF data encoding ${data === 2 ? 'big-endian' : data}, expected little-endian (RISC-V)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (off: number, what: string): number => {
    const v = dv.getBigUint64(off, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new LoadError(`${what} ${'0x' + v.toString(16)} is out of range`);
    return Number(v);
  };
  const machine = dv.getUint16(18, true);
  if (machine !== EM_RISCV) throw new LoadError(`ELF machine ${machine} (${MACHINES[machine] ?? 'unknown'}), expected ${EM_RISCV} (RISC-V)`);
  const type = dv.getUint16(16, true);
  if (type !== ET_EXEC) throw new LoadError(`ELF type ${TYPES[type] ?? type}, expected ET_EXEC (a static executable)`);
  const entry = u64(24, 'entry point');
  const phoff = u64(32, 'e_phoff');
  const shoff = u64(40, 'e_shoff');
  const phentsize = dv.getUint16(54, true), phnum = dv.getUint16(56, true);
  const shentsize = dv.getUint16(58, true), shnum = dv.getUint16(60, true);
  if (phnum === 0) throw new LoadError('ELF has no program headers');
  if (phentsize < PHDR_SIZE) throw new LoadError(`ELF program header size ${phentsize}, need ${PHDR_SIZE}`);
  if (phoff + phnum * phentsize > bytes.length)
    throw new LoadError(`truncated ELF: program headers end at ${phoff + phnum * phentsize}, file has ${bytes.length} bytes`);

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (dv.getUint32(p, true) !== PT_LOAD) continue;
    const seg: ElfSegment = {
      flags: dv.getUint32(p + 4, true),
      offset: u64(p + 8, `segment ${i} p_offset`),
      vaddr: u64(p + 16, `segment ${i} p_vaddr`),
      paddr: u64(p + 24, `segment ${i} p_paddr`),
      filesz: u64(p + 32, `segment ${i} p_filesz`),
      memsz: u64(p + 40, `segment ${i} p_memsz`),
    };
    if (seg.filesz > seg.memsz) throw new LoadError(`segment ${i}: p_filesz ${seg.filesz} > p_memsz ${seg.memsz}`);
    if (seg.offset + seg.filesz > bytes.length)
      throw new LoadError(`truncated ELF: segment ${i} needs bytes up to ${seg.offset + seg.filesz}, file has ${bytes.length}`);
    segments.push(seg);
  }
  if (segments.length === 0) throw new LoadError('ELF has no PT_LOAD segment');

  let symtab: Map<string, number> | undefined;
  const symbol = (name: string): number | undefined => {
    symtab ??= readSymbols(bytes, dv, shoff, shentsize, shnum);
    return symtab.get(name);
  };
  return { entry, segments, symbol };
}

/** Symbols of .symtab; an absent or damaged table gives an empty map (symbols are optional). */
function readSymbols(bytes: Uint8Array, dv: DataView, shoff: number, shentsize: number, shnum: number): Map<string, number> {
  const out = new Map<string, number>();
  if (shoff === 0 || shnum === 0 || shentsize < SHDR_SIZE || shoff + shnum * shentsize > bytes.length) return out;
  const sh = (i: number, field: number, wide: boolean): number =>
    wide ? Number(dv.getBigUint64(shoff + i * shentsize + field, true)) : dv.getUint32(shoff + i * shentsize + field, true);
  for (let i = 0; i < shnum; i++) {
    if (sh(i, 4, false) !== SHT_SYMTAB) continue;
    const off = sh(i, 24, true), size = sh(i, 32, true), link = sh(i, 40, false);
    if (link >= shnum || off + size > bytes.length) return out;
    const stroff = sh(link, 24, true), strsize = sh(link, 32, true);
    if (stroff + strsize > bytes.length) return out;
    const decoder = new TextDecoder();
    for (let s = off; s + SYM_SIZE <= off + size; s += SYM_SIZE) {
      const nameOff = dv.getUint32(s, true);
      if (nameOff === 0 || nameOff >= strsize) continue;
      let end = stroff + nameOff;
      while (end < stroff + strsize && bytes[end] !== 0) end++;
      const name = decoder.decode(bytes.subarray(stroff + nameOff, end));
      const value = dv.getBigUint64(s + 8, true);
      if (!out.has(name) && value <= BigInt(Number.MAX_SAFE_INTEGER)) out.set(name, Number(value));
    }
    return out;
  }
  return out;
}

function ramRange(t: LoadTarget): string {
  return `RAM [${hex(t.ramBase)}-${hex(t.ramBase + t.ramSize)})`;
}

/** Copy an ELF's PT_LOAD segments into RAM. Returns the entry point. Throws LoadError. */
export function loadElf(bytes: Uint8Array, image: ElfImage, target: LoadTarget): number {
  for (let i = 0; i < image.segments.length; i++) {
    const s = image.segments[i];
    if (s.memsz === 0) continue;
    if (s.paddr < target.ramBase || s.paddr + s.memsz > target.ramBase + target.ramSize)
      throw new LoadError(`segment at ${hex(s.paddr)}-${hex(s.paddr + s.memsz)} lies outside ${ramRange(target)}`);
  }
  for (const s of image.segments) {
    if (s.memsz === 0) continue;
    target.writePhys(s.paddr, bytes.subarray(s.offset, s.offset + s.filesz));
    // Spec: elf64-gabi "Program Header": bytes past p_filesz up to p_memsz are zero (.bss).
    target.zeroPhys(s.paddr + s.filesz, s.memsz - s.filesz);
  }
  return image.entry;
}

/** Copy a raw image to physical address `pa`. Throws LoadError if it does not fit in RAM. */
export function loadRaw(bytes: Uint8Array, pa: number, target: LoadTarget): void {
  if (bytes.length === 0) throw new LoadError('image is empty');
  if (pa < target.ramBase || pa + bytes.length > target.ramBase + target.ramSize)
    throw new LoadError(`image of ${bytes.length} bytes at ${hex(pa)} does not fit in ${ramRange(target)}`);
  target.writePhys(pa, bytes);
}
