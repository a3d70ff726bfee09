// SPDX-License-Identifier: GPL-2.0-only
// A domain's physical-to-machine map (Xen's p2m; on RISC-V the G-stage of the H extension):
// guest frame number → machine frame, access rights and a type. The hart consults it through
// the PhysTranslation interface on every TLB miss; a miss or a denied access is a
// second-stage fault that the hypervisor resolves (emulated MMIO, dirty logging for
// migration, mem_access events, populate-on-demand) or turns into domain_crash.
//
// Storage: a sparse two-level table. The top level maps gfn >> 9 to a 512-entry leaf (an
// array indexed by top below DENSE_TOPS, a Map above), so a lookup is one array or Map access
// plus one typed-array read, and RAM (contiguous) costs one leaf (2 KiB) per 2 MiB. Guest frame numbers fit in a JS number: GPAs are at most 59 bits
// (Sv57x4), so gfns at most 47.
//
// Shared p2m (issue 7, docs/design/hypervisor.md "Shared p2m"): the leaves live in one
// growable SharedArrayBuffer and their top indices in an append-only directory, so a pCPU
// worker reads the map through a P2mView (p2m-view.ts) without asking the main thread. This
// thread is the only writer [HV main]; every entry is one Int32 word (type, access and frame
// together) stored with Atomics.store, so a reader sees the old entry or the new one, never
// a mix. A leaf is published (directory count, Atomics.store) before any of its entries is
// set, and leaves are never freed or moved while the P2m lives (a dead domain drops the P2m
// and its buffers with it).
import { ACCESS_R, ACCESS_W, ACCESS_X, PHYS_FAULT, PHYS_MMIO, type PhysTranslation } from '../../hardware/riscv/hart-api.ts';
import { PAGE_SIZE, type FramePool } from './frame-pool.ts';

/** p2m entry types (Xen's p2m_type_t, the ones tsxen uses). */
export const P2M_INVALID = 0;
export const P2M_RAM_RW = 1;
export const P2M_RAM_RO = 2;
/** Emulated MMIO: accesses go to the domain's device models (ioreq). */
export const P2M_MMIO_EMUL = 3;
/** A foreign frame mapped through a grant (read-write or read-only). */
export const P2M_GRANT_RW = 4;
export const P2M_GRANT_RO = 5;
/** RAM under dirty-page logging: writable only after the fault handler logs the page. */
export const P2M_RAM_LOGDIRTY = 6;
/** Reserved for populate-on-demand: the fault handler backs it with a fresh frame. */
export const P2M_POD = 7;

/** Entries per leaf (gfn bits 0-8); the top index is gfn >> 9, up to 2^38. */
export const LEAF_SHIFT = 9;
export const LEAF_SIZE = 1 << LEAF_SHIFT;
export const LEAF_MASK = LEAF_SIZE - 1;
/** Bytes of one leaf in the leaf buffer: LEAF_SIZE Int32 entries. */
export const LEAF_BYTES = LEAF_SIZE * 4;
/** Largest guest frame number: 59-bit guest-physical addresses (Sv57x4). */
export const MAX_GFN = 2 ** 47 - 1;

// ─── Entry word (one Int32 per gfn, the single layout both threads read) ─────────────────
//   bits 0-2   type    (P2M_*; 0 = invalid, and an invalid entry's word is 0)
//   bits 3-5   access  (mem_access rights ACCESS_R|W|X; the type can restrict further)
//   bits 6-31  mfn + 1 (0 = no frame: invalid, MMIO, PoD); read with >>> so bit 31 is a frame bit
export const ENTRY_TYPE_MASK = 7;
export const ENTRY_ACCESS_SHIFT = 3;
export const ENTRY_MFN_SHIFT = 6;
/** Largest machine frame an entry can hold (2^26 frames = 256 GiB of machine memory). */
export const MAX_MFN = 2 ** (32 - ENTRY_MFN_SHIFT) - 2;

// ─── Directory buffer (growable SAB) ─────────────────────────────────────────────────────
//   Int32 [0]            count: leaves published (Atomics.store by the writer, Atomics.load by views)
//   Float64 [1 + slot]   top index (gfn >> 9) of leaf `slot`; written once, before count covers it
// Leaf `slot` is bytes [slot * LEAF_BYTES, (slot + 1) * LEAF_BYTES) of the leaf buffer.
export const DIR_COUNT = 0;
export const DIR_TOPS_BYTE = 8;
/**
 * Default cap on leaves: 2^19 leaves = 1 GiB of address space reserved (not committed) for
 * the leaf buffer, enough for 1 TiB of contiguous guest-physical space or 512 Ki scattered
 * entries. A growable SAB reserves its maximum up front so it never moves, which is what lets
 * other threads keep their views.
 */
export const DEFAULT_MAX_LEAVES = 2 ** 19;

/**
 * A growable SharedArrayBuffer (ES2024; V8 11 in Node 20 has it, the project's TypeScript lib
 * is ES2022): it grows in place within maxByteLength, reserved at creation, and every thread's
 * SharedArrayBuffer object for it sees the new length.
 */
export interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  readonly growable: boolean;
  readonly maxByteLength: number;
  grow(newByteLength: number): void;
}
const GrowableSAB = SharedArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;

/**
 * Top indices below this (gfn < 2^23, GPAs below 32 GiB: where guest RAM and devices live)
 * are also kept in an array indexed by top (length = highest such top + 1, so at most 128 KiB
 * per thread); lookup() reads it instead of the Map. Measured: bench/p2m-lookup.bench.ts.
 */
export const DENSE_TOPS = 2 ** 14;

/** low[top] = leaf, filling the gap with undefined (a fast elements array, never a sparse dictionary). */
export function setDense(low: Array<Int32Array | undefined>, top: number, leaf: Int32Array): void {
  while (low.length < top) low.push(undefined);
  low[top] = leaf;
}

/** What a pCPU thread needs to build a P2mView: structured-clone-able (SABs and numbers). */
export interface P2mShare {
  /** Growable: the leaves, LEAF_BYTES each, by slot. */
  readonly leaves: GrowableSharedArrayBuffer;
  /** Growable: the directory (count, then the top index of each slot). */
  readonly dir: GrowableSharedArrayBuffer;
}

/** What an access may do, by type, before mem_access restrictions. */
export const TYPE_RIGHTS = new Uint8Array(8);
TYPE_RIGHTS[P2M_RAM_RW] = ACCESS_R | ACCESS_W | ACCESS_X;
TYPE_RIGHTS[P2M_RAM_RO] = ACCESS_R | ACCESS_X;
TYPE_RIGHTS[P2M_GRANT_RW] = ACCESS_R | ACCESS_W;
TYPE_RIGHTS[P2M_GRANT_RO] = ACCESS_R;
TYPE_RIGHTS[P2M_RAM_LOGDIRTY] = ACCESS_R | ACCESS_X;

/** lookup()'s flag in ENTRY_RIGHTS: the entry is emulated MMIO (no access right is ever set with it). */
export const RIGHTS_MMIO = 8;
/**
 * The rights an entry grants, by its low 6 bits (type and access): TYPE_RIGHTS[type] & access,
 * or RIGHTS_MMIO. One table read replaces lookup()'s type test, shift and two ands.
 */
export const ENTRY_RIGHTS = new Uint8Array(64);
for (let e = 0; e < 64; e++) {
  const type = e & ENTRY_TYPE_MASK;
  ENTRY_RIGHTS[e] = type === P2M_MMIO_EMUL ? RIGHTS_MMIO : TYPE_RIGHTS[type] & (e >>> ENTRY_ACCESS_SHIFT);
}

// lookup()'s constants as plain module consts: run as ES modules (tsx, tests), V8 (Node 20)
// reads an exported or imported binding through its module cell in optimised code, so
// Math.floor(gppn / LEAF_SIZE) was a real division; plain consts it folds. Measured 2-4 ns per
// lookup (bench/p2m-lookup.bench.ts; the esbuild bundle flattens modules, so there it is
// free either way). The exported names stay the one definition: checked here.
const L_SIZE = 512, L_MASK = 511, MFN_SHIFT = 6, R_MMIO = 8, FRAME = 4096;
const RIGHTS = ENTRY_RIGHTS;
if (L_SIZE !== LEAF_SIZE || L_MASK !== LEAF_MASK || MFN_SHIFT !== ENTRY_MFN_SHIFT || R_MMIO !== RIGHTS_MMIO || FRAME !== PAGE_SIZE)
  throw new Error('p2m: local lookup constants differ from the layout');

/**
 * What event channels and grant tables use of a domain's p2m: the P2m itself on the main
 * thread, a P2mView (reads only; its set/clear throw) on a pCPU worker.
 */
export interface P2mAccess {
  typeOf(gfn: number): number;
  mfnOf(gfn: number): number;
  set(gfn: number, mfn: number, type: number, access?: number): void;
  clear(gfn: number): number;
}

/** Emulated MMIO for a domain: the ioreq path to its device models. */
export interface IoreqRouter {
  read(gpa: number, size: number): number;
  write(gpa: number, size: number, value: number): void;
}

const NO_IOREQ: IoreqRouter = { read: () => 0, write: () => {} };

export class P2m implements PhysTranslation, P2mAccess {
  readonly memory: SharedArrayBuffer;
  /** This thread's directory: top index → the leaf's entries (a view into leafBuf). Insertion order = slot order. */
  private readonly leaves = new Map<number, Int32Array>();
  /** The leaves below DENSE_TOPS again, indexed by top (an array read is cheaper than Map.get). */
  private readonly low: Array<Int32Array | undefined> = [];
  private readonly leafBuf: GrowableSharedArrayBuffer;
  private readonly dirBuf: GrowableSharedArrayBuffer;
  private readonly dirCount: Int32Array;
  /** Length-tracking: follows dirBuf's growth. */
  private readonly dirTops: Float64Array;
  /** Called after any change that could make a cached translation stale (flush the vCPUs' TLBs). */
  onChange: () => void = () => {};
  ioreq: IoreqRouter = NO_IOREQ;
  private entries = 0;
  /** Highest gfn ever given an entry (Xen's p2m->max_mapped_gfn: it never decreases); 0 if none. */
  maxGfn = 0;

  constructor(readonly pool: FramePool, maxLeaves = DEFAULT_MAX_LEAVES) {
    this.memory = pool.memory;
    if (pool.nrFrames - 1 > MAX_MFN) throw new RangeError(`p2m: ${pool.nrFrames} machine frames do not fit an entry (at most ${MAX_MFN + 1})`);
    this.leafBuf = new GrowableSAB(0, { maxByteLength: maxLeaves * LEAF_BYTES });
    this.dirBuf = new GrowableSAB(DIR_TOPS_BYTE, { maxByteLength: DIR_TOPS_BYTE + maxLeaves * 8 });
    this.dirCount = new Int32Array(this.dirBuf, 0, 1);
    this.dirTops = new Float64Array(this.dirBuf, DIR_TOPS_BYTE);
  }

  /** The shared buffers behind this p2m, for P2mView in another thread (post it in a message or workerData). */
  share(): P2mShare {
    return { leaves: this.leafBuf, dir: this.dirBuf };
  }

  private batching = 0;
  private pending = false;

  /** Run fn with change notifications folded into one at the end (bulk populate, teardown). */
  batch<T>(fn: () => T): T {
    this.batching++;
    try {
      return fn();
    } finally {
      if (--this.batching === 0 && this.pending) {
        this.pending = false;
        this.onChange();
      }
    }
  }

  private changed(): void {
    if (this.batching > 0) this.pending = true;
    else this.onChange();
  }

  /** Number of gfns with an entry (any type but invalid). */
  get size(): number {
    return this.entries;
  }

  /** Leaves published so far (each 2 KiB of the leaf buffer). */
  get leafCount(): number {
    return this.leaves.size;
  }

  /**
   * A new, all-invalid leaf for top index `top`, published to readers before it is returned:
   * the buffers grow first (fresh bytes are zero), then the directory slot is written, then
   * the count is stored. A reader that sees the count sees the slot and the leaf's bytes.
   */
  private newLeaf(top: number): Int32Array {
    const slot = this.leaves.size;
    const need = (slot + 1) * LEAF_BYTES;
    if (need > this.leafBuf.maxByteLength) throw new RangeError(`p2m: out of leaf space (${slot} leaves of 2 MiB of guest-physical space each)`);
    if (need > this.leafBuf.byteLength) this.leafBuf.grow(Math.min(this.leafBuf.maxByteLength, Math.max(16 * LEAF_BYTES, 2 * this.leafBuf.byteLength)));
    const dirNeed = DIR_TOPS_BYTE + (slot + 1) * 8;
    if (dirNeed > this.dirBuf.byteLength) this.dirBuf.grow(Math.min(this.dirBuf.maxByteLength, Math.max(DIR_TOPS_BYTE + 16 * 8, 2 * this.dirBuf.byteLength)));
    const leaf = new Int32Array(this.leafBuf, slot * LEAF_BYTES, LEAF_SIZE);
    this.dirTops[slot] = top;
    this.leaves.set(top, leaf);
    if (top < DENSE_TOPS) setDense(this.low, top, leaf);
    Atomics.store(this.dirCount, DIR_COUNT, slot + 1);
    return leaf;
  }

  /** Set one entry. `mfn` is ignored (and may be -1) for MMIO and PoD entries. */
  set(gfn: number, mfn: number, type: number, access = ACCESS_R | ACCESS_W | ACCESS_X): void {
    if (!Number.isInteger(gfn) || gfn < 0 || gfn > MAX_GFN) throw new RangeError(`p2m: gfn ${gfn} out of range`);
    if (!(type >= P2M_INVALID && type <= ENTRY_TYPE_MASK) || !Number.isInteger(type)) throw new RangeError(`p2m: type ${type} out of range`);
    if (mfn > MAX_MFN) throw new RangeError(`p2m: mfn ${mfn} out of range`);
    const top = Math.floor(gfn / LEAF_SIZE);
    const l = this.leaves.get(top) ?? this.newLeaf(top);
    const i = gfn & LEAF_MASK;
    const old = l[i];
    if ((old & ENTRY_TYPE_MASK) === P2M_INVALID && type !== P2M_INVALID) this.entries++;
    if (type !== P2M_INVALID && gfn > this.maxGfn) this.maxGfn = gfn;
    if ((old & ENTRY_TYPE_MASK) !== P2M_INVALID && type === P2M_INVALID) this.entries--;
    const mfn1 = type === P2M_INVALID || mfn < 0 ? 0 : mfn + 1;
    Atomics.store(l, i, type === P2M_INVALID ? 0 : (mfn1 << ENTRY_MFN_SHIFT) | ((access & 7) << ENTRY_ACCESS_SHIFT) | type);
    this.changed();
  }

  /** Remove an entry; returns the machine frame it mapped, or -1. */
  clear(gfn: number): number {
    const l = this.leaves.get(Math.floor(gfn / LEAF_SIZE));
    if (!l) return -1;
    const i = gfn & LEAF_MASK;
    const old = l[i];
    if ((old & ENTRY_TYPE_MASK) !== P2M_INVALID) this.entries--;
    Atomics.store(l, i, 0);
    this.changed();
    return (old >>> ENTRY_MFN_SHIFT) - 1;
  }

  typeOf(gfn: number): number {
    if (!(gfn >= 0 && gfn <= MAX_GFN)) return P2M_INVALID;
    const l = this.leaves.get(Math.floor(gfn / LEAF_SIZE));
    return l ? l[gfn & LEAF_MASK] & ENTRY_TYPE_MASK : P2M_INVALID;
  }

  /** Machine frame of gfn, or -1 (no frame: invalid, MMIO, PoD). */
  mfnOf(gfn: number): number {
    if (!(gfn >= 0 && gfn <= MAX_GFN)) return -1;
    const l = this.leaves.get(Math.floor(gfn / LEAF_SIZE));
    return l ? (l[gfn & LEAF_MASK] >>> ENTRY_MFN_SHIFT) - 1 : -1;
  }

  /** Change the mem_access rights of a gfn (VM introspection); returns false if it has no entry. */
  setAccess(gfn: number, access: number): boolean {
    const l = this.leaves.get(Math.floor(gfn / LEAF_SIZE));
    const i = gfn & LEAF_MASK;
    if (!l || (l[i] & ENTRY_TYPE_MASK) === P2M_INVALID) return false;
    const keep = ~((ACCESS_R | ACCESS_W | ACCESS_X) << ENTRY_ACCESS_SHIFT);
    Atomics.store(l, i, (l[i] & keep) | ((access & (ACCESS_R | ACCESS_W | ACCESS_X)) << ENTRY_ACCESS_SHIFT));
    this.changed();
    return true;
  }

  // ─── PhysTranslation: what the hart calls on a TLB miss ───────────────────────────────
  // Plain reads: this thread is the only writer, so nothing can change under it. P2mView's
  // lookup is the same decode with Atomics.load (another thread writes).
  lookup(gppn: number, access: number): number {
    const top = Math.floor(gppn / L_SIZE);
    const l = top < this.low.length ? this.low[top] : this.leaves.get(top);
    if (l === undefined) return PHYS_FAULT;
    const e = l[gppn & L_MASK];
    const r = RIGHTS[e & 63];
    if ((r & access) === 0) return r === R_MMIO ? PHYS_MMIO : PHYS_FAULT;
    return ((e >>> MFN_SHIFT) - 1) * FRAME;
  }

  mmioRead(pa: number, size: number): number {
    return this.ioreq.read(pa, size);
  }

  mmioWrite(pa: number, size: number, value: number): void {
    this.ioreq.write(pa, size, value);
  }

  /** Visit every entry (gfn, mfn, type); for save/restore and teardown. */
  forEach(fn: (gfn: number, mfn: number, type: number) => void): void {
    for (const [top, l] of this.leaves) {
      for (let i = 0; i < LEAF_SIZE; i++) {
        const e = l[i];
        if (e !== 0) fn(top * LEAF_SIZE + i, (e >>> ENTRY_MFN_SHIFT) - 1, e & ENTRY_TYPE_MASK);
      }
    }
  }
}
