// SPDX-License-Identifier: GPL-2.0-only
// Machine memory: one SharedArrayBuffer of 4 KiB frames owned by the hypervisor and handed to
// domains (ARCHITECTURE.md §3), like Xen's heap allocator (xen/common/page_alloc.c) reduced
// to what tsxen needs: allocation with an owner, tot_pages/max_pages accounting per domain,
// and scrubbing before reuse so no domain ever sees another's old data.
//
// Frame state lives in typed arrays (owner per frame, a free stack) so a later pCPU worker
// can read it over shared memory. Frame 0 is never handed out: a zero frame number in a
// structure is always "none".

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** owner[] value of a free frame. */
export const FRAME_FREE = -1;
/** owner[] value of a frame the hypervisor keeps for itself. */
export const FRAME_XEN = 0x7ff2; // DOMID_XEN

export class FramePool {
  readonly memory: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  /** Little-endian access to machine memory (the hypervisor's own structure updates). */
  readonly view: DataView;
  readonly nrFrames: number;
  /** Owning domid of each frame, FRAME_FREE, or FRAME_XEN. */
  readonly owner: Int32Array;
  private readonly freeStack: Int32Array;
  private freeTop = 0;
  /** Frames freed but not yet scrubbed: scrubbed lazily on allocation. */
  private readonly dirty: Uint8Array;

  /** `shared`: a pCPU worker's view of another thread's pool (same memory and owners; it never allocates). */
  constructor(nrFrames: number, shared?: { memory: SharedArrayBuffer; owner: Int32Array }) {
    if (!Number.isInteger(nrFrames) || nrFrames < 2) throw new RangeError(`frame pool needs at least 2 frames, got ${nrFrames}`);
    this.nrFrames = nrFrames;
    this.memory = shared?.memory ?? new SharedArrayBuffer(nrFrames * PAGE_SIZE);
    this.bytes = new Uint8Array(this.memory);
    this.view = new DataView(this.memory);
    this.owner = shared?.owner ?? new Int32Array(new SharedArrayBuffer(nrFrames * 4)).fill(FRAME_FREE);
    this.freeStack = new Int32Array(shared === undefined ? nrFrames : 0);
    this.dirty = new Uint8Array(nrFrames);
    if (shared !== undefined) return;
    this.owner[0] = FRAME_XEN;
    // Push high frames first so allocation hands out low frames first (easier to read in dumps).
    for (let f = nrFrames - 1; f >= 1; f--) this.freeStack[this.freeTop++] = f;
  }

  get freeFrames(): number {
    return this.freeTop;
  }

  /**
   * Allocate `count` frames for `owner`. Returns the frame numbers, or null (nothing
   * allocated) if the pool has fewer free frames: allocation is all or nothing.
   */
  alloc(owner: number, count: number): Int32Array | null {
    if (count < 0 || count > this.freeTop) return null;
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const f = this.freeStack[--this.freeTop];
      if (this.dirty[f]) this.scrub(f);
      this.owner[f] = owner;
      out[i] = f;
    }
    return out;
  }

  /** Return a frame to the pool; it is scrubbed before anyone gets it again. */
  free(frame: number): void {
    if (frame <= 0 || frame >= this.nrFrames || this.owner[frame] === FRAME_FREE || this.owner[frame] === FRAME_XEN)
      throw new Error(`FramePool.free: frame ${frame} is not allocated to a domain`); // hypervisor bug, not guest input
    this.owner[frame] = FRAME_FREE;
    this.dirty[frame] = 1;
    this.freeStack[this.freeTop++] = frame;
  }

  private scrub(frame: number): void {
    this.bytes.fill(0, frame * PAGE_SIZE, (frame + 1) * PAGE_SIZE);
    this.dirty[frame] = 0;
  }
}
