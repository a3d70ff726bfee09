// SPDX-License-Identifier: GPL-2.0-only
// Grant tables, version 1, per Xen 4.7 (xen/common/grant_table.c, public/grant_table.h,
// docs/misc/grant-tables.txt). The shared entries are domain frames the granter writes
// [GUEST: flags type/readonly, domid, frame] and Xen updates [HV: GTF_reading/GTF_writing]
// with compare-and-swap; the active entries (pin counts per granter) and the maptrack
// (handles per mapper) are typed arrays the hypervisor alone owns [HV].
// Mapping is ARM's auto-translated flavour: GNTMAP_host_map puts the granted frame into the
// mapper's p2m at host_addr as P2M_GRANT_RW/RO; device and application maps are refused.
// SMP (issue 7): the table lock is Xen 4.7's per-CPU rwlock (grant_rwlock class, read side on
// map/unmap/copy, write side on setup/grow/set_version), each active entry has its own ticket
// spinlock (4.7's active_entry_acquire), and all state a copy touches lives in shared memory, so
// pCPU worker threads run GNTTABOP_copy on the same tables (GrantTable.attach, smp-view.ts).
import { ACCESS_R, ACCESS_W } from '../../hardware/riscv/hart-api.ts';
import type { DomainLookup, EvtchnDomain } from '../event/types.ts';
import { PAGE_SIZE } from '../mm/frame-pool.ts';
import { MAX_GFN, P2M_GRANT_RO, P2M_GRANT_RW, P2M_INVALID, P2M_RAM_LOGDIRTY, P2M_RAM_RO, P2M_RAM_RW } from '../mm/p2m.ts';
import { EACCES, EBUSY, EINVAL, ENOMEM } from '../public/errno.ts';
import {
  DEFAULT_MAX_GRANT_FRAMES, DEFAULT_MAX_MAPTRACK_FRAMES, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_application_map,
  GNTMAP_contains_pte, GNTMAP_device_map, GNTMAP_host_map, GNTMAP_readonly, GNTST_bad_copy_arg, GNTST_bad_domain,
  GNTST_bad_gntref, GNTST_bad_handle, GNTST_bad_page, GNTST_general_error, GNTST_no_device_space, GNTST_okay,
  GNTST_permission_denied, GRANT_ENTRIES_PER_FRAME_V1, GTF_permit_access, GTF_reading, GTF_readonly, GTF_sub_page,
  GTF_type_mask, GTF_writing, MAPTRACK_PER_FRAME,
} from '../public/grant-table.ts';
import { DOMID_INVALID, DOMID_SELF } from '../public/xen.ts';
import { LockArena } from '../smp/percpu.ts';
import { PercpuRwLock, PercpuRwlockClass } from '../smp/percpu-rwlock.ts';
import { RwLock } from '../smp/rwlock.ts';
import { SPINLOCK_WORDS, spinLockAt, spinUnlockAt } from '../smp/spinlock.ts';
import type { GrantRwLock } from './rwlock.ts';

/** First GFN of the grant-table frames in the magic region (docs/abi.md §4: 0x7FF0_4000). */
export const GNTTAB_MAGIC_GFN = 0x7ff04;
/** pool.owner of a frame kept alive for other domains' mappings after its owner let it go. */
export const ZOMBIE_OWNER = DOMID_INVALID;
/** A GFN that maps nothing (INVALID_GFN as a u64 ~0 is written by the hypercall layer). */
export const NO_GFN = -1;

// Pin counts (Xen's GNTPIN_*): one byte each for host-write, host-read, device-write, device-read.
const HSTW_INC = 1 << 0;
const HSTR_INC = 1 << 8;
const WRITE_MASK = 0xff | (0xff << 16); // GNTPIN_hstw_mask | GNTPIN_devw_mask
const PIN_OVERFLOW = 0x80808080 | 0;
/** Xen bounds the compare-and-swap retries on a guest-shared entry (the guest could livelock us). */
const CAS_RETRIES = 4;

/** Which lock guards each table: Xen 4.7's per-CPU rwlock (default) or the plain rwlock (the 4.6 state, for the bench). */
export type GrantLockKind = 'percpu' | 'rwlock';

/** What a pCPU worker needs to rebuild a GrantHost over the same shared memory (structured-clonable). */
export interface GrantHostShared { framePins: Int32Array; arena: SharedArrayBuffer; cls: { slots: number; nrCpus: number } }
/** What a pCPU worker needs to rebuild one GrantTable over the same shared memory. */
export interface GrantTableShared { maxFrames: number; frames: Int32Array; sh: Int32Array; actPin: Int32Array; actDomid: Int32Array; actFrame: Int32Array; actLock: Int32Array; lockKind: GrantLockKind; lockAt: number }

export interface MapResult {
  status: number;
  handle: number;
  /** Machine address of the granted frame (dev_bus_addr). */
  devBusAddr: number;
}

export interface CopySide {
  /** Grant ref (with the *_gref flag) or GFN; a GFN may be up to 2^64 - 1 (then it is out of range). */
  refOrGfn: number;
  domid: number;
  offset: number;
}

function mapFail(status: number): MapResult {
  return { status, handle: 0, devBusAddr: 0 };
}

/** All grant tables of a host, the frame pins that keep granted frames alive, and the lock order. */
export class GrantHost {
  readonly tables = new Map<number, GrantTable>();
  /** Active pins per machine frame: a pinned frame outlives its dead owner (Xen's zombie rule). */
  readonly framePins: Int32Array;
  private readonly zombieFrames = new Set<number>();
  /** Frames holding some table's shared entries: freed by the grant code, never by the core. */
  private readonly tableFrames = new Set<number>();
  readonly mem: Int32Array;
  /** Shared words of the tables' locks, and the grant_rwlock per-CPU class (DEFINE_PERCPU_RWLOCK_GLOBAL). */
  readonly arena: LockArena;
  readonly grantRwlock: PercpuRwlockClass;

  /** `maxGrantFrames`: Xen's gnttab_max_frames boot parameter (default 32), every table's limit. `shared`: a worker's view of another thread's host. */
  constructor(readonly lookup: DomainLookup, readonly maxGrantFrames = DEFAULT_MAX_GRANT_FRAMES, shared?: GrantHostShared) {
    this.framePins = shared?.framePins ?? new Int32Array(new SharedArrayBuffer(lookup.pool.nrFrames * 4));
    this.mem = new Int32Array(lookup.pool.memory);
    this.arena = shared === undefined ? new LockArena() : new LockArena(0, shared.arena);
    this.grantRwlock = shared === undefined ? PercpuRwlockClass.alloc(this.arena) : new PercpuRwlockClass(this.arena.m, shared.cls.slots, shared.cls.nrCpus);
  }
  get shared(): GrantHostShared {
    return { framePins: this.framePins, arena: this.arena.buffer, cls: this.grantRwlock.desc };
  }

  /** The lock new tables get (the bench compares 'rwlock' with the default). */
  lockKind: GrantLockKind = 'percpu';

  create(d: EvtchnDomain, o: { maxMaptrackFrames?: number; lockKind?: GrantLockKind } = {}): GrantTable {
    if (this.tables.has(d.domid)) throw new Error(`gnttab: domain ${d.domid} already has a grant table`);
    const kind = o.lockKind ?? this.lockKind;
    const lockAt = kind === 'percpu' ? PercpuRwLock.alloc(this.arena, this.grantRwlock).at : RwLock.alloc(this.arena).at;
    const t = new GrantTable(this, d, this.maxGrantFrames, o.maxMaptrackFrames ?? DEFAULT_MAX_MAPTRACK_FRAMES, kind, lockAt);
    this.tables.set(d.domid, t);
    return t;
  }
  /** A worker's view of table `s` (made by another thread's host) for domain d: nothing is allocated. */
  attach(d: EvtchnDomain, s: GrantTableShared): GrantTable {
    const t = new GrantTable(this, d, s.maxFrames, DEFAULT_MAX_MAPTRACK_FRAMES, s.lockKind, s.lockAt, s);
    this.tables.set(d.domid, t);
    return t;
  }
  lockOf(kind: GrantLockKind, at: number): GrantRwLock {
    return kind === 'percpu' ? new PercpuRwLock(this.grantRwlock, at) : new RwLock(this.arena.m, at);
  }

  get(domid: number): GrantTable | undefined {
    return this.tables.get(domid);
  }

  /** A live (not dying) domain's table, for new maps and copies. */
  live(domid: number): GrantTable | undefined {
    const t = this.tables.get(domid);
    return t !== undefined && !t.dying && this.lookup.domain(domid) !== undefined && !t.d.isDying ? t : undefined;
  }

  allocTableFrame(domid: number): number {
    const f = this.lookup.pool.alloc(domid, 1);
    if (f === null) return -1;
    this.tableFrames.add(f[0]);
    return f[0];
  }
  freeTableFrame(mfn: number): void {
    this.tableFrames.delete(mfn);
    this.lookup.pool.free(mfn);
  }

  pinFrame(mfn: number): void {
    Atomics.add(this.framePins, mfn, 1);
  }
  unpinFrame(mfn: number): void {
    if (Atomics.sub(this.framePins, mfn, 1) === 1 && this.zombieFrames.delete(mfn)) this.lookup.pool.free(mfn);
  }

  /**
   * The core is about to free one of a domain's frames (decrease_reservation, teardown): true
   * when the grant code keeps it instead. A frame another domain still has pinned becomes a
   * zombie (owned by DOMID_INVALID, so nobody treats it as the domain's) and is freed at its
   * last unpin, as Xen frees a page at its last reference; grant-table frames are freed by
   * the grant code when their table goes.
   */
  deferFree(mfn: number): boolean {
    if (this.tableFrames.has(mfn)) return true;
    if (this.framePins[mfn] > 0) {
      this.lookup.pool.owner[mfn] = ZOMBIE_OWNER;
      this.zombieFrames.add(mfn);
      return true;
    }
    return false;
  }
  isTableFrame(mfn: number): boolean {
    return this.tableFrames.has(mfn);
  }

  /** Frames kept alive for other domains' mappings after their owner died. */
  get zombieCount(): number {
    return this.zombieFrames.size;
  }

  /**
   * Domain destruction (gnttab_release_mappings + grant_table_destroy): drop every mapping the
   * domain holds, refuse new maps of its grants, and free its table once nobody maps its frames.
   * Call before freeing the domain's frames.
   */
  destroyDomain(domid: number): void {
    const t = this.tables.get(domid);
    if (t === undefined) return;
    t.releaseMappings();
    t.dying = true;
    t.maybeFinish();
  }
}

// Shared words of a table: nr_grant_frames, gt_version (read-mostly: pCPUs only read them in the hot path).
const SH_NR_FRAMES = 0, SH_VERSION = 1;

export class GrantTable {
  /** [HV] shared: nrFrames, version (read by pCPU workers under the table lock). */
  readonly sh: Int32Array;
  get version(): number { return this.sh[SH_VERSION]!; }
  set version(v: number) { this.sh[SH_VERSION] = v; }
  get nrFrames(): number { return this.sh[SH_NR_FRAMES]!; }
  set nrFrames(v: number) { this.sh[SH_NR_FRAMES] = v; }
  /**
   * Active entries in use. Counted by a scan, not a shared counter: a counter every pin and
   * unpin writes would be one cache line all pCPUs bounce (Xen has none either).
   */
  get activeCount(): number {
    let n = 0;
    for (let r = 0, e = this.nrEntries; r < e; r++) if (Atomics.load(this.actPin, r) !== 0) n++;
    return n;
  }
  readonly frames: Int32Array;
  /** Where each table frame is mapped in the domain's p2m, or NO_GFN. */
  readonly frameGfn: Float64Array;
  // Active entries, by ref. [HV]
  readonly actPin: Int32Array;
  readonly actDomid: Int32Array;
  readonly actFrame: Int32Array;
  /** One ticket spinlock per active entry (Xen 4.7's act->lock): pins change under it. */
  readonly actLock: Int32Array;
  /** The table lock (struct grant_table.lock): per-CPU rwlock or plain rwlock over host.arena. */
  readonly lock: GrantRwLock;
  // Maptrack, by handle. [HV]
  mtFlags = new Int32Array(MAPTRACK_PER_FRAME);
  mtDomid = new Int32Array(MAPTRACK_PER_FRAME);
  mtRef = new Int32Array(MAPTRACK_PER_FRAME);
  mtGfn = new Float64Array(MAPTRACK_PER_FRAME);
  private mtFree: number[] = [];
  private mtUsed = 0;
  readonly maptrackLimit: number;
  dying = false;
  private finished = false;

  constructor(readonly host: GrantHost, readonly d: EvtchnDomain, readonly maxFrames: number, maxMaptrackFrames: number,
    readonly lockKind: GrantLockKind, readonly lockAt: number, s?: GrantTableShared) {
    const n = maxFrames * GRANT_ENTRIES_PER_FRAME_V1;
    const sab = (words: number) => new Int32Array(new SharedArrayBuffer(words * 4));
    this.sh = s?.sh ?? sab(4);
    this.frames = s?.frames ?? sab(maxFrames);
    this.frameGfn = new Float64Array(maxFrames).fill(NO_GFN);
    this.actPin = s?.actPin ?? sab(n);
    this.actDomid = s?.actDomid ?? sab(n);
    this.actFrame = s?.actFrame ?? sab(n);
    this.actLock = s?.actLock ?? sab(n * SPINLOCK_WORDS);
    this.lock = host.lockOf(lockKind, lockAt);
    this.maptrackLimit = maxMaptrackFrames * MAPTRACK_PER_FRAME;
    if (s === undefined && !this.grow(1)) throw new Error(`gnttab: no frame for domain ${d.domid}'s grant table`); // INITIAL_NR_GRANT_FRAMES
  }
  get shared(): GrantTableShared {
    const { maxFrames, frames, sh, actPin, actDomid, actFrame, actLock, lockKind, lockAt } = this;
    return { maxFrames, frames, sh, actPin, actDomid, actFrame, actLock, lockKind, lockAt };
  }

  get nrEntries(): number {
    return this.version === 1 ? this.nrFrames * GRANT_ENTRIES_PER_FRAME_V1 : 0;
  }

  /** gnttab_grow_table: add frames up to `nr` (all or nothing). */
  grow(nr: number): boolean {
    if (nr > this.maxFrames) return false;
    const got: number[] = [];
    for (let i = this.nrFrames; i < nr; i++) {
      const f = this.host.allocTableFrame(this.d.domid);
      if (f < 0) {
        for (const g of got) this.host.freeTableFrame(g);
        return false;
      }
      got.push(f);
    }
    for (const f of got) this.frames[this.nrFrames++] = f;
    return true;
  }

  /** int32 index of entry `ref`'s {flags, domid} word in machine memory (ref < nrFrames * 512). */
  entryIndex(ref: number): number {
    return (this.frames[ref >>> 9] * PAGE_SIZE + (ref & 511) * 8) >> 2;
  }

  /** Write an entry as the granter would (the builder seeds console/xenstore this way). */
  seedEntry(ref: number, domid: number, gfn: number, flags = GTF_permit_access): void {
    if (this.version === 0) this.version = 1;
    if (!(ref >= 0 && ref < this.nrEntries)) throw new RangeError(`gnttab: seed ref ${ref} out of range`);
    const i = this.entryIndex(ref), m = this.host.mem;
    m[i + 1] = gfn;
    Atomics.store(m, i, (flags & 0xffff) | ((domid & 0xffff) << 16));
  }

  /** add_to_physmap(XENMAPSPACE_grant_table, idx, gfn): map table frame idx at gfn. Returns 0 or -errno. */
  mapFrameAt(idx: number, gfn: number): number {
    const p2m = this.d.p2m;
    if (p2m === null || !(Number.isInteger(gfn) && gfn >= 0 && gfn <= MAX_GFN)) return -EINVAL;
    if (!(Number.isInteger(idx) && idx >= 0 && idx < this.maxFrames)) return -EINVAL;
    this.lock.writeLock();
    try {
      if (this.version === 0) this.version = 1;
      if (idx >= this.nrFrames && !this.grow(idx + 1)) return -ENOMEM;
      const mfn = this.frames[idx];
      if (this.frameGfn[idx] === gfn) return 0;
      if (p2m.typeOf(gfn) !== P2M_INVALID) return -EBUSY;
      if (this.frameGfn[idx] !== NO_GFN && p2m.mfnOf(this.frameGfn[idx]) === mfn) p2m.clear(this.frameGfn[idx]);
      p2m.set(gfn, mfn, P2M_RAM_RW, ACCESS_R | ACCESS_W);
      this.frameGfn[idx] = gfn;
      return 0;
    } finally {
      this.lock.writeUnlock();
    }
  }

  /** GrantTableOps.destroy: destruction (mappings released, table freed once unpinned); soft reset releases the mappings only. */
  destroy(): void {
    if (this.d.softResetting) this.releaseMappings();
    else this.host.destroyDomain(this.d.domid);
  }

  // ─── GrantTableOps for the core (domain/hooks.ts) ──────────────────────────────────
  /** gnttab_map_frame for add_to_physmap(XENMAPSPACE_grant_table): grow to idx + 1; -EINVAL past the limit. */
  frameMfn(idx: number, status: boolean): number {
    if (status || !(Number.isInteger(idx) && idx >= 0 && idx < this.maxFrames)) return -EINVAL; // no v2 status frames
    this.lock.writeLock();
    try {
      if (this.version === 0) this.version = 1;
      if (idx >= this.nrFrames && !this.grow(idx + 1)) return -ENOMEM;
      return this.frames[idx];
    } finally {
      this.lock.writeUnlock();
    }
  }
  /** The core mapped frame idx at gfn: forget (and unmap) where it was before. */
  frameMapped(idx: number, gfn: number): void {
    const old = this.frameGfn[idx], p2m = this.d.p2m;
    if (old !== NO_GFN && old !== gfn && p2m !== null && p2m.mfnOf(old) === this.frames[idx]) p2m.clear(old);
    this.frameGfn[idx] = gfn;
  }
  ownsFrame(mfn: number): boolean {
    for (let i = 0; i < this.nrFrames; i++) if (this.frames[i] === mfn) return true;
    return false;
  }
  deferFree(mfn: number): boolean {
    return this.host.deferFree(mfn);
  }

  /** GNTTABOP_setup_table on this (target) table: grow to nr frames; their GFNs (mapped in the magic region if unmapped). */
  setup(nr: number): { status: number; gfns: number[] } {
    this.lock.writeLock();
    try {
      if (this.version === 0) this.version = 1;
      if (nr > this.nrFrames && !this.grow(nr)) return { status: GNTST_general_error, gfns: [] };
      const gfns: number[] = [];
      const p2m = this.d.p2m;
      for (let i = 0; i < nr; i++) {
        if (this.frameGfn[i] === NO_GFN && p2m !== null && p2m.typeOf(GNTTAB_MAGIC_GFN + i) === P2M_INVALID) {
          p2m.set(GNTTAB_MAGIC_GFN + i, this.frames[i], P2M_RAM_RW, ACCESS_R | ACCESS_W);
          this.frameGfn[i] = GNTTAB_MAGIC_GFN + i;
        }
        gfns.push(this.frameGfn[i]);
      }
      return { status: GNTST_okay, gfns };
    } finally {
      this.lock.writeUnlock();
    }
  }

  /** GNTTABOP_set_version by the domain itself. Returns 0 or -errno; the version to report is this.version. */
  setVersion(v: number): number {
    if (v !== 1 && v !== 2) return -EINVAL;
    // Version 2 is not provided: Xen >= 4.10 answers -EACCES when gnttab_max_version is 1.
    if (v === 2) return -EACCES;
    if (this.version === 1) return 0;
    this.lock.writeLock();
    this.version = 1;
    this.lock.writeUnlock();
    return 0;
  }

  // ─── maptrack ──────────────────────────────────────────────────────────────────────
  private getMaptrackHandle(): number {
    if (this.mtFree.length > 0) return this.mtFree.pop()!;
    if (this.mtUsed >= this.maptrackLimit) return -1;
    if (this.mtUsed === this.mtFlags.length) {
      const n = Math.min(this.maptrackLimit, this.mtFlags.length * 2);
      const g = <T extends Int32Array | Float64Array>(a: T, b: T): T => (b.set(a), b);
      this.mtFlags = g(this.mtFlags, new Int32Array(n));
      this.mtDomid = g(this.mtDomid, new Int32Array(n));
      this.mtRef = g(this.mtRef, new Int32Array(n));
      this.mtGfn = g(this.mtGfn, new Float64Array(n));
    }
    return this.mtUsed++;
  }
  private putMaptrackHandle(h: number): void {
    this.mtFlags[h] = 0;
    this.mtFree.push(h);
  }
  /** Handles in use (for tests and the destroy path). */
  get mappings(): number {
    return this.mtUsed - this.mtFree.length;
  }

  // ─── active entries: pin, with the entry-flag protocol ─────────────────────────────
  /**
   * _set_status_v1: set GTF_reading (and GTF_writing) in the granter's entry, checking type,
   * domid and readonly on the value we swap against; the guest may change the entry under us.
   */
  private setStatusV1(ref: number, ldomid: number, readonly: boolean, mapflag: boolean): number {
    const m = this.host.mem, i = this.entryIndex(ref);
    const mask = GTF_type_mask | (mapflag ? GTF_sub_page : 0);
    let cur = Atomics.load(m, i);
    for (let retries = 0; ; retries++) {
      const flags = cur & 0xffff, domid = cur >>> 16;
      if (this.actPin[ref] === 0 && ((flags & mask) !== GTF_permit_access || domid !== ldomid)) return GNTST_general_error;
      let nflags = flags | GTF_reading;
      if (!readonly) {
        nflags |= GTF_writing;
        if (flags & GTF_readonly) return GNTST_general_error;
      }
      const prev = Atomics.compareExchange(m, i, cur, (cur & ~0xffff) | nflags);
      if (prev === cur) return GNTST_okay;
      if (retries === CAS_RETRIES) return GNTST_general_error;
      cur = prev;
    }
  }

  private clearFlag(ref: number, flag: number): void {
    Atomics.and(this.host.mem, this.entryIndex(ref), ~flag);
  }

  /** The granted GFN's machine frame, if it is this domain's RAM usable for the access (__get_paged_frame). */
  private pagedFrame(gfn: number, readonly: boolean): number {
    const p2m = this.d.p2m;
    if (p2m === null || !(gfn >= 0 && gfn <= MAX_GFN)) return -1;
    const t = p2m.typeOf(gfn);
    if (!(t === P2M_RAM_RW || t === P2M_RAM_LOGDIRTY || (readonly && t === P2M_RAM_RO))) return -1;
    const mfn = p2m.mfnOf(gfn);
    return mfn > 0 && this.host.lookup.pool.owner[mfn] === this.d.domid ? mfn : -1;
  }

  /**
   * Pin entry `ref` for domain `ldomid` (map or copy): flags first, then the frame, then the
   * count. Returns the machine frame (> 0) or a GNTST_* code (< 0). Caller holds the read lock.
   */
  pin(ref: number, ldomid: number, readonly: boolean, mapflag: boolean): number {
    if (!(Number.isInteger(ref) && ref >= 0 && ref < this.nrEntries)) return GNTST_bad_gntref;
    spinLockAt(this.actLock, ref * SPINLOCK_WORDS); // active_entry_acquire
    const r = this.pinLocked(ref, ldomid, readonly, mapflag);
    spinUnlockAt(this.actLock, ref * SPINLOCK_WORDS);
    return r;
  }
  private pinLocked(ref: number, ldomid: number, readonly: boolean, mapflag: boolean): number {
    const pin = this.actPin[ref]!;
    if (pin !== 0 && (this.actDomid[ref] !== ldomid || (pin & PIN_OVERFLOW) !== 0)) return GNTST_general_error;
    if (pin === 0 || (!readonly && (pin & WRITE_MASK) === 0)) {
      const rc = this.setStatusV1(ref, ldomid, readonly, mapflag);
      if (rc !== GNTST_okay) return rc;
      if (pin === 0) {
        const gfn = this.host.mem[this.entryIndex(ref) + 1] >>> 0;
        const mfn = this.pagedFrame(gfn, readonly);
        if (mfn < 0) {
          if (!readonly) this.clearFlag(ref, GTF_writing);
          this.clearFlag(ref, GTF_reading);
          return GNTST_bad_page;
        }
        this.actDomid[ref] = ldomid;
        this.actFrame[ref] = mfn;
      }
    }
    this.actPin[ref] = pin + (readonly ? HSTR_INC : HSTW_INC);
    if (pin === 0) this.host.pinFrame(this.actFrame[ref]!);
    return this.actFrame[ref]!;
  }

  /** Drop one pin; the last writer clears GTF_writing, the last pin GTF_reading (unmap complete / release_grant_for_copy). */
  unpin(ref: number, readonly: boolean): void {
    spinLockAt(this.actLock, ref * SPINLOCK_WORDS);
    const pin = (this.actPin[ref] -= readonly ? HSTR_INC : HSTW_INC);
    if (!readonly && (pin & WRITE_MASK) === 0) this.clearFlag(ref, GTF_writing);
    if (pin === 0) {
      this.clearFlag(ref, GTF_reading);
      this.host.unpinFrame(this.actFrame[ref]!);
    }
    spinUnlockAt(this.actLock, ref * SPINLOCK_WORDS);
    if (pin === 0 && this.dying) this.maybeFinish();
  }

  /** A dying table with no active pins: free its frames (grant_table_destroy). */
  maybeFinish(): void {
    if (!this.dying || this.activeCount !== 0 || this.finished) return;
    this.finished = true;
    for (let i = 0; i < this.nrFrames; i++) {
      const gfn = this.frameGfn[i];
      if (gfn !== NO_GFN && this.d.p2m !== null && this.d.p2m.mfnOf(gfn) === this.frames[i]) this.d.p2m.clear(gfn);
      this.host.freeTableFrame(this.frames[i]);
    }
    this.nrFrames = 0;
    this.host.tables.delete(this.d.domid);
  }

  // ─── the operations, with this table as the caller's (mapper's) ────────────────────
  /** One GNTTABOP_map_grant_ref element (__gnttab_map_grant_ref). */
  map(hostAddr: number, flags: number, ref: number, dom: number): MapResult {
    if ((flags & (GNTMAP_device_map | GNTMAP_host_map)) === 0) return mapFail(GNTST_bad_gntref);
    if (flags & (GNTMAP_device_map | GNTMAP_application_map | GNTMAP_contains_pte)) return mapFail(GNTST_general_error);
    const rt = this.host.live(dom);
    if (rt === undefined) return mapFail(GNTST_bad_domain);
    const handle = this.getMaptrackHandle();
    if (handle < 0) return mapFail(GNTST_no_device_space);
    const ro = (flags & GNTMAP_readonly) !== 0;
    rt.lock.readLock();
    const mfn = rt.pin(ref, this.d.domid, ro, true);
    rt.lock.readUnlock();
    if (mfn < 0) {
      this.putMaptrackHandle(handle);
      return mapFail(mfn);
    }
    // create_grant_host_mapping: the mapper's p2m at host_addr (an empty slot only).
    let gfn = NO_GFN;
    const p2m = this.d.p2m;
    if (p2m !== null) {
      gfn = Math.floor(hostAddr / PAGE_SIZE);
      if (!(gfn >= 0 && gfn <= MAX_GFN) || p2m.typeOf(gfn) !== P2M_INVALID) {
        rt.lock.readLock();
        rt.unpin(ref, ro);
        rt.lock.readUnlock();
        this.putMaptrackHandle(handle);
        return mapFail(GNTST_general_error);
      }
      p2m.set(gfn, mfn, ro ? P2M_GRANT_RO : P2M_GRANT_RW, ACCESS_R | ACCESS_W);
    }
    this.mtDomid[handle] = dom;
    this.mtRef[handle] = ref;
    this.mtGfn[handle] = gfn;
    this.mtFlags[handle] = flags | 0; // flags last: a reader checks them first
    return { status: GNTST_okay, handle, devBusAddr: mfn * PAGE_SIZE };
  }

  /** One GNTTABOP_unmap_grant_ref element (__gnttab_unmap_common + _complete). */
  unmap(hostAddr: number, devBusAddr: number, handle: number): number {
    if (!(Number.isInteger(handle) && handle >= 0 && handle < this.mtUsed) || this.mtFlags[handle] === 0) return GNTST_bad_handle;
    const flags = this.mtFlags[handle], ref = this.mtRef[handle];
    const rt = this.host.get(this.mtDomid[handle]);
    if (rt === undefined) throw new Error(`gnttab: handle ${handle} of domain ${this.d.domid} names a vanished table`); // pins keep it
    rt.lock.readLock();
    try {
      const frame = devBusAddr === 0 ? rt.actFrame[ref] : Math.floor(devBusAddr / PAGE_SIZE);
      if (frame !== rt.actFrame[ref]) return GNTST_general_error;
      if (hostAddr === 0 || (flags & GNTMAP_host_map) === 0) return GNTST_okay; // nothing to undo (Xen does the same)
      const p2m = this.d.p2m;
      if (p2m !== null) {
        const gfn = Math.floor(hostAddr / PAGE_SIZE), t = p2m.typeOf(gfn);
        if (gfn !== this.mtGfn[handle] || p2m.mfnOf(gfn) !== frame || (t !== P2M_GRANT_RW && t !== P2M_GRANT_RO)) return GNTST_general_error;
        p2m.clear(gfn); // onChange flushes the vCPUs' TLBs before the frame can be reused
      }
      this.mtFlags[handle] &= ~GNTMAP_host_map;
      rt.unpin(ref, (flags & GNTMAP_readonly) !== 0);
    } finally {
      rt.lock.readUnlock();
    }
    if ((this.mtFlags[handle] & (GNTMAP_host_map | GNTMAP_device_map)) === 0) this.putMaptrackHandle(handle);
    return GNTST_okay;
  }

  /** gnttab_release_mappings: undo every mapping this domain holds (domain destruction). */
  releaseMappings(): void {
    for (let h = 0; h < this.mtUsed; h++) {
      if (this.mtFlags[h] === 0) continue;
      const rt = this.host.get(this.mtDomid[h]);
      const gfn = this.mtGfn[h];
      const addr = gfn === NO_GFN ? PAGE_SIZE : gfn * PAGE_SIZE; // no p2m: any non-zero address
      if (rt !== undefined && this.unmap(addr, 0, h) === GNTST_okay) continue;
      throw new Error(`gnttab: cannot release handle ${h} of domain ${this.d.domid}`);
    }
  }

  /** One GNTTABOP_copy element (gnttab_copy_one). */
  copy(src: CopySide, dst: CopySide, len: number, flags: number): number {
    const sgref = (flags & GNTCOPY_source_gref) !== 0, dgref = (flags & GNTCOPY_dest_gref) !== 0;
    const st = this.copyDomain(src, sgref);
    if (typeof st === 'number') return st;
    const dt = this.copyDomain(dst, dgref);
    if (typeof dt === 'number') return dt;
    // gnttab_copy_claim_buf: source read-only, destination writable.
    const smfn = this.claim(st, src, sgref, true);
    if (smfn < 0) return smfn;
    const dmfn = this.claim(dt, dst, dgref, false);
    if (dmfn < 0) {
      this.release(st, src, sgref, true);
      return dmfn;
    }
    let rc = GNTST_okay;
    if (src.offset + len > PAGE_SIZE || dst.offset + len > PAGE_SIZE) rc = GNTST_bad_copy_arg;
    else {
      const b = this.host.lookup.pool.bytes, s = smfn * PAGE_SIZE + src.offset;
      b.copyWithin(dmfn * PAGE_SIZE + dst.offset, s, s + len);
    }
    this.release(dt, dst, dgref, false);
    this.release(st, src, sgref, true);
    return rc;
  }

  /** gnttab_copy_lock_domain: copy by GFN only from/to oneself. */
  private copyDomain(side: CopySide, gref: boolean): GrantTable | number {
    if (side.domid !== DOMID_SELF && !gref) return GNTST_permission_denied;
    if (side.domid === DOMID_SELF) return this;
    return this.host.live(side.domid) ?? GNTST_bad_domain;
  }
  private claim(t: GrantTable, side: CopySide, gref: boolean, ro: boolean): number {
    if (!gref) {
      const mfn = t.pagedFrame(side.refOrGfn, ro);
      return mfn > 0 ? mfn : GNTST_bad_page;
    }
    t.lock.readLock();
    const r = t.pin(side.refOrGfn, this.d.domid, ro, false);
    t.lock.readUnlock();
    return r;
  }
  private release(t: GrantTable, side: CopySide, gref: boolean, ro: boolean): void {
    if (!gref) return;
    t.lock.readLock();
    t.unpin(side.refOrGfn, ro);
    t.lock.readUnlock();
  }
}

/** XSM_TARGET for setup_table / query_size / get_version: oneself, or anyone for the privileged. */
export function grantTarget(host: GrantHost, caller: EvtchnDomain, dom: number): GrantTable | 'bad_domain' | 'denied' {
  const id = dom === DOMID_SELF ? caller.domid : dom;
  const t = host.live(id);
  if (t === undefined) return 'bad_domain';
  if (id !== caller.domid && !caller.isPrivileged) return 'denied';
  return t;
}

