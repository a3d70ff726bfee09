// SPDX-License-Identifier: GPL-2.0-only
// A domain's physical-to-machine map (Xen's p2m; on RISC-V the G-stage of the H extension):
// guest frame number → machine frame, access rights and a type. The hart consults it through
// the PhysTranslation interface on every TLB miss; a miss or a denied access is a
// second-stage fault that the hypervisor resolves (emulated MMIO, dirty logging for
// migration, mem_access events, populate-on-demand) or turns into domain_crash.
//
// Storage: a sparse two-level table. The top level maps gfn >> 9 to a 512-entry leaf, so a
// lookup is one Map access plus two typed-array reads, and RAM (contiguous) costs one leaf per
// 2 MiB. Guest frame numbers fit in a JS number: GPAs are at most 59 bits (Sv57x4), so gfns
// at most 47.
import { ACCESS_R, ACCESS_W, ACCESS_X, PHYS_FAULT, PHYS_MMIO, type PhysTranslation } from '../../hardware/riscv/hart-api.ts';
import { PAGE_SHIFT, type FramePool } from './frame-pool.ts';

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

const LEAF_SHIFT = 9;
const LEAF_SIZE = 1 << LEAF_SHIFT;
const LEAF_MASK = LEAF_SIZE - 1;
/** Largest guest frame number: 59-bit guest-physical addresses (Sv57x4). */
export const MAX_GFN = 2 ** 47 - 1;

interface Leaf {
  /** Machine frame + 1 (0 = no frame). */
  mfn1: Int32Array;
  type: Uint8Array;
  /** Access rights granted by mem_access (ACCESS_R|W|X); the type can restrict further. */
  access: Uint8Array;
}

/** What an access may do, by type, before mem_access restrictions. */
const TYPE_RIGHTS = new Uint8Array(8);
TYPE_RIGHTS[P2M_RAM_RW] = ACCESS_R | ACCESS_W | ACCESS_X;
TYPE_RIGHTS[P2M_RAM_RO] = ACCESS_R | ACCESS_X;
TYPE_RIGHTS[P2M_GRANT_RW] = ACCESS_R | ACCESS_W;
TYPE_RIGHTS[P2M_GRANT_RO] = ACCESS_R;
TYPE_RIGHTS[P2M_RAM_LOGDIRTY] = ACCESS_R | ACCESS_X;

/** Emulated MMIO for a domain: the ioreq path to its device models. */
export interface IoreqRouter {
  read(gpa: number, size: number): number;
  write(gpa: number, size: number, value: number): void;
}

const NO_IOREQ: IoreqRouter = { read: () => 0, write: () => {} };

export class P2m implements PhysTranslation {
  readonly memory: SharedArrayBuffer;
  private readonly leaves = new Map<number, Leaf>();
  /** Called after any change that could make a cached translation stale (flush the vCPUs' TLBs). */
  onChange: () => void = () => {};
  ioreq: IoreqRouter = NO_IOREQ;
  private entries = 0;
  /** Highest gfn ever given an entry (Xen's p2m->max_mapped_gfn: it never decreases); 0 if none. */
  maxGfn = 0;

  constructor(readonly pool: FramePool) {
    this.memory = pool.memory;
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

  private leaf(gfn: number, create: boolean): Leaf | undefined {
    const top = Math.floor(gfn / LEAF_SIZE);
    let l = this.leaves.get(top);
    if (!l && create) {
      l = { mfn1: new Int32Array(LEAF_SIZE), type: new Uint8Array(LEAF_SIZE), access: new Uint8Array(LEAF_SIZE) };
      this.leaves.set(top, l);
    }
    return l;
  }

  /** Set one entry. `mfn` is ignored (and may be -1) for MMIO and PoD entries. */
  set(gfn: number, mfn: number, type: number, access = ACCESS_R | ACCESS_W | ACCESS_X): void {
    if (!Number.isInteger(gfn) || gfn < 0 || gfn > MAX_GFN) throw new RangeError(`p2m: gfn ${gfn} out of range`);
    const l = this.leaf(gfn, true)!;
    const i = gfn & LEAF_MASK;
    if (l.type[i] === P2M_INVALID && type !== P2M_INVALID) this.entries++;
    if (type !== P2M_INVALID && gfn > this.maxGfn) this.maxGfn = gfn;
    if (l.type[i] !== P2M_INVALID && type === P2M_INVALID) this.entries--;
    l.mfn1[i] = type === P2M_INVALID || mfn < 0 ? 0 : mfn + 1;
    l.type[i] = type;
    l.access[i] = access;
    this.changed();
  }

  /** Remove an entry; returns the machine frame it mapped, or -1. */
  clear(gfn: number): number {
    const l = this.leaf(gfn, false);
    if (!l) return -1;
    const i = gfn & LEAF_MASK;
    const mfn = l.mfn1[i] - 1;
    if (l.type[i] !== P2M_INVALID) this.entries--;
    l.mfn1[i] = 0;
    l.type[i] = P2M_INVALID;
    l.access[i] = 0;
    this.changed();
    return mfn;
  }

  typeOf(gfn: number): number {
    if (!(gfn >= 0 && gfn <= MAX_GFN)) return P2M_INVALID;
    const l = this.leaf(gfn, false);
    return l ? l.type[gfn & LEAF_MASK] : P2M_INVALID;
  }

  /** Machine frame of gfn, or -1 (no frame: invalid, MMIO, PoD). */
  mfnOf(gfn: number): number {
    if (!(gfn >= 0 && gfn <= MAX_GFN)) return -1;
    const l = this.leaf(gfn, false);
    return l ? l.mfn1[gfn & LEAF_MASK] - 1 : -1;
  }

  /** Change the mem_access rights of a gfn (VM introspection); returns false if it has no entry. */
  setAccess(gfn: number, access: number): boolean {
    const l = this.leaf(gfn, false);
    const i = gfn & LEAF_MASK;
    if (!l || l.type[i] === P2M_INVALID) return false;
    l.access[i] = access & (ACCESS_R | ACCESS_W | ACCESS_X);
    this.changed();
    return true;
  }

  // ─── PhysTranslation: what the hart calls on a TLB miss ───────────────────────────────
  lookup(gppn: number, access: number): number {
    const l = this.leaves.get(Math.floor(gppn / LEAF_SIZE));
    if (l === undefined) return PHYS_FAULT;
    const i = gppn & LEAF_MASK;
    const type = l.type[i];
    if (type === P2M_MMIO_EMUL) return PHYS_MMIO;
    if ((TYPE_RIGHTS[type] & l.access[i] & access) === 0) return PHYS_FAULT;
    return (l.mfn1[i] - 1) * (1 << PAGE_SHIFT);
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
      for (let i = 0; i < LEAF_SIZE; i++) if (l.type[i] !== P2M_INVALID) fn(top * LEAF_SIZE + i, l.mfn1[i] - 1, l.type[i]);
    }
  }
}
