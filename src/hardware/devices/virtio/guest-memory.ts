// SPDX-License-Identifier: GPL-2.0-only
// The consumer-side guest-memory accessor that virtio devices use (rust-vmm vm-memory's
// GuestMemory, reduced to what a device needs): bytes and little-endian u16/u32/u64 at
// guest-physical addresses, bounds-checked page by page through the owner's translation,
// returning failure instead of throwing. Devices can neither map, allocate nor resize memory.
// Leaves out: dirty logging (the owner's translation sees every write access kind instead).

/** Access kinds; the same values as ACCESS_R / ACCESS_W in hardware/riscv/hart-api.ts. */
export const GM_ACCESS_R = 1;
export const GM_ACCESS_W = 2;

const PAGE_SHIFT = 12;
const PAGE_SIZE = 4096;
const PAGE_MASK = PAGE_SIZE - 1;
/** Largest address handled: 2^53 (exact JS integers); RISC-V RAM never lives above it. */
const MAX_GPA = 2 ** 53;

/**
 * The part of a PhysTranslation (hardware/riscv/hart-api.ts) that a device needs, declared
 * structurally so devices never import the CPU: a board's or a domain's translation fits.
 * lookup() returns the byte offset of the 4 KiB frame backing `gppn` in `memory`, or a
 * negative number (MMIO, or no mapping / no permission): devices only touch RAM.
 */
export interface GuestPhysMap {
  readonly memory: SharedArrayBuffer;
  lookup(gppn: number, access: number): number;
}

export class GuestMemory {
  /** The whole machine memory, viewed once; index it with hostOffset() results only. */
  readonly bytes: Uint8Array;
  /** Little-endian view of the same memory, for structures located with hostOffset(). */
  readonly view: DataView;
  private readonly u16: Uint16Array;
  private readonly size: number;

  constructor(private readonly map: GuestPhysMap) {
    this.bytes = new Uint8Array(map.memory);
    this.view = new DataView(map.memory);
    this.u16 = new Uint16Array(map.memory, 0, map.memory.byteLength >>> 1);
    this.size = map.memory.byteLength;
  }

  /** Offset in `bytes` of one page's frame for `access`, or -1. Guards a misbehaving owner too. */
  private frame(gppn: number, access: number): number {
    const off = this.map.lookup(gppn, access);
    if (off < 0 || off + PAGE_SIZE > this.size || (off & PAGE_MASK) !== 0) return -1;
    return off;
  }

  /** Host offset of `gpa` for a `len`-byte access that stays inside one page, or -1. */
  private small(gpa: number, len: number, access: number): number {
    if (!(gpa >= 0 && gpa + len <= MAX_GPA) || gpa % 1 !== 0) return -1;
    const inPage = gpa % PAGE_SIZE;
    if (inPage + len > PAGE_SIZE) return -1;
    const f = this.frame(Math.floor(gpa / PAGE_SIZE), access);
    return f < 0 ? -1 : f + inPage;
  }

  /**
   * Host offset of [gpa, gpa+len) if the whole range is mapped for `access` and contiguous in
   * machine memory (always so on a bare board; under a p2m when frames happen to be adjacent),
   * else -1. Lets a device hand a backend a zero-copy view: bytes.subarray(off, off + len).
   */
  hostOffset(gpa: number, len: number, access: number): number {
    if (!this.validRange(gpa, len)) return -1;
    if (len === 0) return this.small(gpa, 0, access);
    let page = Math.floor(gpa / PAGE_SIZE);
    const last = Math.floor((gpa + len - 1) / PAGE_SIZE);
    const first = this.frame(page, access);
    if (first < 0) return -1;
    for (let expect = first + PAGE_SIZE; page < last; expect += PAGE_SIZE) {
      if (this.frame(++page, access) !== expect) return -1;
    }
    return first + (gpa % PAGE_SIZE);
  }

  /** True if every page of [gpa, gpa+len) is mapped for `access`. */
  checkRange(gpa: number, len: number, access: number): boolean {
    if (!this.validRange(gpa, len)) return false;
    if (len === 0) return true;
    const last = Math.floor((gpa + len - 1) / PAGE_SIZE);
    for (let page = Math.floor(gpa / PAGE_SIZE); page <= last; page++) {
      if (this.frame(page, access) < 0) return false;
    }
    return true;
  }

  private validRange(gpa: number, len: number): boolean {
    return gpa >= 0 && len >= 0 && gpa % 1 === 0 && len % 1 === 0 && gpa + len <= MAX_GPA;
  }

  /** Copy `len` bytes at `gpa` into dst[dstOff..]. False (dst may be partly written) on a fault. */
  read(gpa: number, dst: Uint8Array, dstOff = 0, len = dst.length - dstOff): boolean {
    if (!this.validRange(gpa, len) || dstOff < 0 || dstOff + len > dst.length) return false;
    while (len > 0) {
      const inPage = gpa % PAGE_SIZE;
      const n = Math.min(len, PAGE_SIZE - inPage);
      const f = this.frame(Math.floor(gpa / PAGE_SIZE), GM_ACCESS_R);
      if (f < 0) return false;
      copy(this.bytes, f + inPage, dst, dstOff, n);
      gpa += n; dstOff += n; len -= n;
    }
    return true;
  }

  /** Copy src[srcOff..srcOff+len) to `gpa`. False (guest memory may be partly written) on a fault. */
  write(gpa: number, src: Uint8Array, srcOff = 0, len = src.length - srcOff): boolean {
    if (!this.validRange(gpa, len) || srcOff < 0 || srcOff + len > src.length) return false;
    while (len > 0) {
      const inPage = gpa % PAGE_SIZE;
      const n = Math.min(len, PAGE_SIZE - inPage);
      const f = this.frame(Math.floor(gpa / PAGE_SIZE), GM_ACCESS_W);
      if (f < 0) return false;
      copy(src, srcOff, this.bytes, f + inPage, n);
      gpa += n; srcOff += n; len -= n;
    }
    return true;
  }

  /** Fill `len` bytes at `gpa` with `value`. */
  fill(gpa: number, len: number, value: number): boolean {
    if (!this.validRange(gpa, len)) return false;
    while (len > 0) {
      const inPage = gpa % PAGE_SIZE;
      const n = Math.min(len, PAGE_SIZE - inPage);
      const f = this.frame(Math.floor(gpa / PAGE_SIZE), GM_ACCESS_W);
      if (f < 0) return false;
      this.bytes.fill(value, f + inPage, f + inPage + n);
      gpa += n; len -= n;
    }
    return true;
  }

  // Scalar accessors: -1 means the access faulted (every valid value is >= 0). An unaligned
  // scalar that crosses a page boundary faults too; virtio structures are naturally aligned.

  readU8(gpa: number): number {
    const o = this.small(gpa, 1, GM_ACCESS_R);
    return o < 0 ? -1 : this.bytes[o]!;
  }
  readU16(gpa: number): number {
    const o = this.small(gpa, 2, GM_ACCESS_R);
    return o < 0 ? -1 : this.view.getUint16(o, true);
  }
  readU32(gpa: number): number {
    const o = this.small(gpa, 4, GM_ACCESS_R);
    return o < 0 ? -1 : this.view.getUint32(o, true);
  }
  /** A u64 that is an exact JS integer (< 2^53), else -1 (also for values too big to be an address). */
  readU64(gpa: number): number {
    const o = this.small(gpa, 8, GM_ACCESS_R);
    if (o < 0) return -1;
    const hi = this.view.getUint32(o + 4, true);
    return hi >= 0x200000 ? -1 : hi * 0x1_0000_0000 + this.view.getUint32(o, true);
  }
  writeU8(gpa: number, v: number): boolean {
    const o = this.small(gpa, 1, GM_ACCESS_W);
    if (o < 0) return false;
    this.bytes[o] = v;
    return true;
  }
  writeU16(gpa: number, v: number): boolean {
    const o = this.small(gpa, 2, GM_ACCESS_W);
    if (o < 0) return false;
    this.view.setUint16(o, v, true);
    return true;
  }
  writeU32(gpa: number, v: number): boolean {
    const o = this.small(gpa, 4, GM_ACCESS_W);
    if (o < 0) return false;
    this.view.setUint32(o, v >>> 0, true);
    return true;
  }
  writeU64(gpa: number, v: number): boolean {
    const o = this.small(gpa, 8, GM_ACCESS_W);
    if (o < 0) return false;
    this.view.setUint32(o, v % 0x1_0000_0000, true);
    this.view.setUint32(o + 4, Math.floor(v / 0x1_0000_0000), true);
    return true;
  }

  // Ordered 16-bit accesses for ring indexes shared with vCPUs that may run on other threads.
  // Atomics operations are sequentially consistent, which gives the acquire (load of avail
  // idx before reading ring entries) and release (used entries before used idx) the virtqueue
  // needs, plus the full barrier between publishing used idx and reading used_event.
  // Typed arrays use host byte order: the board asserts a little-endian host (RISC-V is LE).

  /** Acquire-load of an aligned u16, or -1. */
  loadU16Acquire(gpa: number): number {
    const o = this.small(gpa, 2, GM_ACCESS_R);
    if (o < 0 || (o & 1) !== 0) return -1;
    return Atomics.load(this.u16, o >>> 1);
  }
  /** Release-store of an aligned u16. */
  storeU16Release(gpa: number, v: number): boolean {
    const o = this.small(gpa, 2, GM_ACCESS_W);
    if (o < 0 || (o & 1) !== 0) return false;
    Atomics.store(this.u16, o >>> 1, v);
    return true;
  }
}

/**
 * Copy n bytes. Small copies (ring headers, request headers) loop: creating a subarray view
 * costs more than moving a dozen bytes, and the hot path should not allocate.
 */
function copy(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  if (n <= 32) {
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
  } else {
    dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  }
}

/** Page size the accessor walks in; exported for tests and ring-placement checks. */
export const GM_PAGE_SIZE = PAGE_SIZE;
export const GM_PAGE_SHIFT = PAGE_SHIFT;
