// SPDX-License-Identifier: GPL-2.0-only
// Physical memory protection: pmpcfg/pmpaddr decoding (OFF, TOR, NA4, NAPOT; the L bit) into
// byte ranges, and the access check the MMU runs when it fills a TLB entry.
// Spec: riscv-priv-20240411 §3.7 "Physical Memory Protection".
// Grain G = 0 (4-byte). Leaves out: Smepmp (mseccfg), the PMP-granularity probe beyond G = 0.
// Ranges are doubles: exact for every address below 2^53, which covers all RAM and devices.
import * as S from './hart-state.ts';

const TWO32 = 4294967296;
const A_TOR = 1, A_NA4 = 2, A_NAPOT = 3;
const CFG_R = 1, CFG_W = 2, CFG_X = 4, CFG_L = 0x80;

/** Decoded PMP entries of one hart, rebuilt after every pmpcfg/pmpaddr write. */
export class Pmp {
  readonly count: number;
  /** pmp{i}cfg bytes, a view into the hart state block. */
  readonly cfg: Uint8Array;
  private readonly s: Int32Array;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /** Indexes of active entries (A != OFF), in priority order; `active` of them. */
  readonly order: Int32Array;
  active = 0;

  constructor(state: Int32Array, count: number) {
    this.s = state;
    this.count = count;
    this.cfg = new Uint8Array(state.buffer, state.byteOffset + S.PMPCFG * 4, 64);
    this.lo = new Float64Array(64);
    this.hi = new Float64Array(64);
    this.order = new Int32Array(64);
  }

  /** pmpaddr i as a double (54-bit value, in 4-byte units). */
  private addr(i: number): number {
    return (this.s[S.PMPADDR + 2 * i + 1] & 0x3fffff) * TWO32 + (this.s[S.PMPADDR + 2 * i] >>> 0);
  }

  /** Recompute every range from the CSRs. */
  rebuild(): void {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const c = this.cfg[i], a = (c >> 3) & 3;
      if (a === 0) continue;
      let lo: number, hi: number;
      if (a === A_TOR) {
        lo = i === 0 ? 0 : this.addr(i - 1) * 4;
        hi = this.addr(i) * 4;
      } else if (a === A_NA4) {
        lo = this.addr(i) * 4;
        hi = lo + 4;
      } else {
        // NAPOT: trailing ones t of pmpaddr give a 2^(t+3)-byte region.
        const wlo = this.s[S.PMPADDR + 2 * i], whi = this.s[S.PMPADDR + 2 * i + 1] & 0x3fffff;
        let t = 0;
        if (wlo === -1) { t = 32; let v = whi; while (t < 54 && (v & 1)) { t++; v >>>= 1; } }
        else { let v = wlo; while (v & 1) { t++; v >>>= 1; } }
        const size = Math.pow(2, t + 3);
        lo = Math.floor(this.addr(i) * 4 / size) * size;
        hi = lo + size;
        void A_NAPOT;
      }
      this.lo[i] = lo;
      this.hi[i] = hi;
      this.order[n++] = i;
    }
    this.active = n;
  }

  /** Is entry i locked (L bit)? */
  locked(i: number): boolean {
    return (this.cfg[i] & CFG_L) !== 0;
  }

  /**
   * Check an access of `size` bytes at `pa` with access bits acc (1 R, 2 W, 4 X) from
   * privilege `priv`. Returns true if allowed.
   */
  check(pa: number, size: number, acc: number, priv: number): boolean {
    const end = pa + size;
    for (let k = 0; k < this.active; k++) {
      const i = this.order[k];
      const lo = this.lo[i], hi = this.hi[i];
      if (end <= lo || pa >= hi) continue;
      // Spec: "The lowest-numbered PMP entry that matches any byte of an access determines
      // whether that access succeeds or fails"; a partial match fails.
      if (pa < lo || end > hi) return false;
      const c = this.cfg[i];
      if (priv === S.PRV_M && (c & CFG_L) === 0) return true;
      return (c & acc) === acc;
    }
    return priv === S.PRV_M || this.count === 0;
  }

  /**
   * Is the whole 4 KiB page at byte address `page` governed by a single decision for this
   * privilege and access? Then the TLB may cache the page.
   */
  pageUniform(page: number): boolean {
    const end = page + 4096;
    for (let k = 0; k < this.active; k++) {
      const i = this.order[k];
      const lo = this.lo[i], hi = this.hi[i];
      if (end <= lo || page >= hi) continue;
      return page >= lo && end <= hi;
    }
    return true;
  }

  /** WARL fix-up of a pmp{i}cfg byte: R = 0 with W = 1 is reserved, so W is cleared. */
  static legalCfg(v: number): number {
    v &= 0x9f;
    if ((v & (CFG_R | CFG_W)) === CFG_W) v &= ~CFG_W;
    void CFG_X;
    return v;
  }
}
