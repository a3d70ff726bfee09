// SPDX-License-Identifier: GPL-2.0-only
// A pCPU worker's read-only view of a domain's p2m (issue 7): built in any thread from
// P2m.share(), it reads the main thread's leaves in shared memory and is the PhysTranslation
// of the domain's vCPUs that this worker runs. It never asks the main thread: a top index it
// has not seen yet is looked up in the shared directory, which lists every leaf published so
// far (append-only, leaves never move or go away), so leaves created after the view was built
// are picked up on their first miss.
//
// Concurrency: the main thread is the only writer (p2m.ts, Atomics.store of whole entries).
// Each entry is one Int32 word and a lookup reads it once, so it sees a whole old entry or a
// whole new one, never an mfn with another entry's type or rights. lookup() reads the word
// with a plain element read: an aligned integer TypedArray element read never tears
// (Spec: ecma262-2024 "IsNoTearConfiguration", in "ArrayBuffer Objects"; the same holds for plain reads
// racing with Atomics.store), and it costs what the main thread's lookup costs, where
// Atomics.load is a builtin call in Node 20 (+9 ns per lookup, bench/p2m-lookup.bench.ts).
// Freshness comes from the TLB-flush protocol, which is Atomics-synchronised: after a change
// the main thread flushes the vCPUs' TLBs, and the next lookup reads the new word. The cold
// readers (entryOf/typeOf/mfnOf) use Atomics.load. The directory count is read with
// Atomics.load before the slots and leaves it covers, which the writer filled in before its
// Atomics.store of the count.
// A translation this view returns may be cached by the hart until the owner flushes its TLB;
// the main thread's onChange is what triggers that flush (docs/design/hypervisor.md "Shared p2m").
import { PHYS_FAULT, PHYS_MMIO, type PhysTranslation } from '../../hardware/riscv/hart-api.ts';
import { PAGE_SHIFT } from './frame-pool.ts';
import {
  DENSE_TOPS, DIR_COUNT, DIR_TOPS_BYTE, ENTRY_ACCESS_SHIFT, ENTRY_MFN_SHIFT, ENTRY_RIGHTS, ENTRY_TYPE_MASK, LEAF_BYTES, LEAF_MASK,
  LEAF_SIZE, MAX_GFN, RIGHTS_MMIO, setDense, type P2mAccess, type P2mShare,
} from './p2m.ts';

// lookup()'s constants as plain module consts, as in p2m.ts (V8 does not fold imported
// bindings: a division by an imported LEAF_SIZE cost 4 ns per lookup). Checked against p2m.ts.
const L_SIZE = 512, L_MASK = 511, MFN_SHIFT = 6, R_MMIO = 8, FRAME = 4096;
const RIGHTS = ENTRY_RIGHTS;
if (L_SIZE !== LEAF_SIZE || L_MASK !== LEAF_MASK || MFN_SHIFT !== ENTRY_MFN_SHIFT || R_MMIO !== RIGHTS_MMIO || FRAME !== 1 << PAGE_SHIFT)
  throw new Error('p2m-view: local lookup constants differ from p2m.ts');

/** Where a view sends the accesses lookup() answered PHYS_MMIO for (the domain's ioreq path). */
export interface P2mMmio {
  read(pa: number, size: number): number;
  write(pa: number, size: number, value: number): void;
}

export class P2mView implements PhysTranslation, P2mAccess {
  /** This thread's directory cache, filled lazily from the shared directory: top index → that leaf's entries. */
  private readonly leaves = new Map<number, Int32Array>();
  /** The leaves below DENSE_TOPS again, indexed by top (as P2m). */
  private readonly low: Array<Int32Array | undefined> = [];
  private readonly leafBuf: SharedArrayBuffer;
  private readonly dirCount: Int32Array;
  /** Length-tracking: follows the directory's growth. */
  private readonly dirTops: Float64Array;
  /** Slots already in `leaves`. */
  private known = 0;

  constructor(share: P2mShare, readonly memory: SharedArrayBuffer, private readonly mmio: P2mMmio) {
    this.leafBuf = share.leaves;
    this.dirCount = new Int32Array(share.dir, 0, 1);
    this.dirTops = new Float64Array(share.dir, DIR_TOPS_BYTE);
    this.sync();
  }

  /** Take in the leaves published since the last call (allocates one view per new leaf, once). */
  private sync(): void {
    const n = Atomics.load(this.dirCount, DIR_COUNT);
    for (; this.known < n; this.known++) {
      const slot = this.known;
      // The writer grew both buffers before it stored the count, and a growable SAB's length
      // is read seq-cst; should this thread still see a shorter buffer, take the slot next time.
      if (slot >= this.dirTops.length || (slot + 1) * LEAF_BYTES > this.leafBuf.byteLength) break;
      const top = this.dirTops[slot];
      const leaf = new Int32Array(this.leafBuf, slot * LEAF_BYTES, LEAF_SIZE);
      this.leaves.set(top, leaf); // every leaf, as P2m's Map (same size, same hash chains)
      if (top < DENSE_TOPS) setDense(this.low, top, leaf);
    }
  }

  /** The leaf for top index `top`, looking in the shared directory on a miss; undefined if it has none. */
  private leafOf(top: number): Int32Array | undefined {
    const l = top < this.low.length ? this.low[top] : this.leaves.get(top);
    if (l !== undefined) return l;
    this.sync();
    return top < this.low.length ? this.low[top] : this.leaves.get(top);
  }

  /** Leaves this view knows (for tests: it grows lazily as lookups miss). */
  get leafCount(): number {
    return this.known;
  }

  // ─── PhysTranslation: the same decode as P2m.lookup ─────────────────────────────────────
  lookup(gppn: number, access: number): number {
    const top = Math.floor(gppn / L_SIZE);
    const l = top < this.low.length ? this.low[top] : this.leaves.get(top);
    if (l === undefined) return this.missLookup(gppn, access);
    const e = l[gppn & L_MASK]; // one tear-free read (header)
    const r = RIGHTS[e & 63];
    if ((r & access) === 0) return r === R_MMIO ? PHYS_MMIO : PHYS_FAULT;
    return ((e >>> MFN_SHIFT) - 1) * FRAME;
  }

  /** A top index this view has not seen: take in new leaves, then look up again if there is one now. */
  private missLookup(gppn: number, access: number): number {
    const before = this.known;
    this.sync();
    return this.known === before ? PHYS_FAULT : this.lookup(gppn, access);
  }

  mmioRead(pa: number, size: number): number {
    return this.mmio.read(pa, size);
  }

  mmioWrite(pa: number, size: number, value: number): void {
    this.mmio.write(pa, size, value);
  }

  /** One entry's word (type, access, mfn + 1; 0 if none), read once: decode it with the helpers below. */
  entryOf(gfn: number): number {
    if (!(gfn >= 0 && gfn <= MAX_GFN)) return 0;
    const l = this.leafOf(Math.floor(gfn / LEAF_SIZE));
    return l === undefined ? 0 : Atomics.load(l, gfn & LEAF_MASK);
  }

  typeOf(gfn: number): number {
    return this.entryOf(gfn) & ENTRY_TYPE_MASK;
  }

  /** Machine frame of gfn, or -1 (no frame: invalid, MMIO, PoD). */
  mfnOf(gfn: number): number {
    return (this.entryOf(gfn) >>> ENTRY_MFN_SHIFT) - 1;
  }

  /** The view is read-only: p2m changes are the main thread's (a pCPU asks it). Reaching this is a hypervisor bug. */
  set(gfn: number): never {
    throw new Error(`P2mView: set(gfn ${gfn}) on a pCPU thread; p2m writes run on the main thread`);
  }

  clear(gfn: number): never {
    throw new Error(`P2mView: clear(gfn ${gfn}) on a pCPU thread; p2m writes run on the main thread`);
  }
}

/** Decode an entry word (P2mView.entryOf). */
export const entryType = (e: number): number => e & ENTRY_TYPE_MASK;
export const entryAccess = (e: number): number => (e >>> ENTRY_ACCESS_SHIFT) & 7;
export const entryMfn = (e: number): number => (e >>> ENTRY_MFN_SHIFT) - 1;
