// SPDX-License-Identifier: GPL-2.0-only
// The back end of a shared ring (xen/include/public/io/ring.h at RELEASE-4.7.0, DEFINE_RING_TYPES):
// the sring header `req_prod, req_event, rsp_prod, rsp_event` (u32), 48 bytes of padding, then
// entries of the union's size from byte 64; __RING_SIZE is (4096 - 64) / size rounded down to a
// power of two. The backend keeps req_cons and rsp_prod_pvt privately, as BACK_RING does.
// The frontend is hostile: indexes are only ever read once per check and compared as u32.

export const SRING_HEADER = 64;

/** __RING_SIZE for a one-page ring of `entrySize`-byte entries. */
export function ringSize(entrySize: number): number {
  let n = Math.floor((4096 - SRING_HEADER) / entrySize);
  let p = 1;
  while (p * 2 <= n) p *= 2;
  n = p;
  return n;
}

export class BackRing {
  readonly size: number;
  private readonly dv: DataView;
  private readonly idx: Int32Array;
  reqCons = 0;
  rspProdPvt = 0;

  constructor(readonly bytes: Uint8Array, readonly entrySize: number) {
    this.size = ringSize(entrySize);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, 4096);
    this.idx = new Int32Array(bytes.buffer, bytes.byteOffset, 4);
  }

  /** A freshly set-up ring: the producer may have queued at most a ring of requests, and no responses. */
  get pristine(): boolean {
    return (Atomics.load(this.idx, 2) >>> 0) === 0 && (Atomics.load(this.idx, 0) >>> 0) <= this.size;
  }

  /** req_prod as the frontend wrote it. */
  reqProd(): number {
    return Atomics.load(this.idx, 0) >>> 0;
  }

  /** Unconsumed requests, or -1 if req_prod is more than a ring ahead (a broken or hostile frontend). */
  unconsumed(): number {
    const n = (this.reqProd() - this.reqCons) >>> 0;
    return n > this.size ? -1 : n;
  }

  /** Byte offset of entry `i` (any free-running index). */
  entry(i: number): number {
    return SRING_HEADER + (i & (this.size - 1)) * this.entrySize;
  }

  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish rsp_prod_pvt; true if the frontend asked to be notified. */
  pushResponses(): boolean {
    const old = Atomics.load(this.idx, 2) >>> 0;
    const now = this.rspProdPvt;
    if (old === now) return false;
    Atomics.store(this.idx, 2, now | 0);
    const ev = Atomics.load(this.idx, 3) >>> 0;
    return ((now - ev) >>> 0) < ((now - old) >>> 0);
  }

  /** RING_FINAL_CHECK_FOR_REQUESTS: ask for a notification at the next request; true if one came meanwhile. */
  finalCheck(): boolean {
    Atomics.store(this.idx, 1, (this.reqCons + 1) | 0);
    return this.reqProd() !== this.reqCons;
  }

  get view(): DataView {
    return this.dv;
  }
}
