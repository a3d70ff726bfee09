// SPDX-License-Identifier: GPL-2.0-only
// struct xencons_interface (public/io/console.h, xen-digest §9.7) over one 4 KiB page: the
// guest produces into out[2048] and we consume; we produce into in[1024]. Indexes are free-
// running u32s masked by the size; a producer more than a ring ahead is a broken guest and is
// treated as "nothing to read" (xenconsoled resynchronises to prod).
// Xen: tools/console/daemon/io.c (buffer_append, handle_tty_read), xen/include/public/io/console.h

export const XENCONS_IN = 0;
export const XENCONS_IN_SIZE = 1024;
export const XENCONS_OUT = 1024;
export const XENCONS_OUT_SIZE = 2048;
export const XENCONS_IN_CONS = 3072;
export const XENCONS_IN_PROD = 3076;
export const XENCONS_OUT_CONS = 3080;
export const XENCONS_OUT_PROD = 3084;

const u32 = (p: Uint8Array, o: number): number => (p[o]! | (p[o + 1]! << 8) | (p[o + 2]! << 16) | (p[o + 3]! << 24)) >>> 0;
const put32 = (p: Uint8Array, o: number, v: number): void => {
  p[o] = v & 255; p[o + 1] = (v >>> 8) & 255; p[o + 2] = (v >>> 16) & 255; p[o + 3] = (v >>> 24) & 255;
};

/** Take everything the guest wrote to out[]; null when there is nothing. */
export function readOut(page: Uint8Array): Uint8Array | null {
  const cons = u32(page, XENCONS_OUT_CONS);
  const prod = u32(page, XENCONS_OUT_PROD);
  const n = (prod - cons) >>> 0;
  if (n === 0) return null;
  if (n > XENCONS_OUT_SIZE) {
    put32(page, XENCONS_OUT_CONS, prod); // a lying producer: skip to its index
    return null;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = page[XENCONS_OUT + ((cons + i) & (XENCONS_OUT_SIZE - 1))]!;
  put32(page, XENCONS_OUT_CONS, prod);
  return out;
}

/** Put as much of `bytes` into in[] as fits; returns how many were written. */
export function writeIn(page: Uint8Array, bytes: Uint8Array): number {
  const cons = u32(page, XENCONS_IN_CONS);
  let prod = u32(page, XENCONS_IN_PROD);
  const used = (prod - cons) >>> 0;
  if (used > XENCONS_IN_SIZE) return 0;
  const n = Math.min(bytes.length, XENCONS_IN_SIZE - used);
  for (let i = 0; i < n; i++) {
    page[XENCONS_IN + (prod & (XENCONS_IN_SIZE - 1))] = bytes[i]!;
    prod = (prod + 1) >>> 0;
  }
  put32(page, XENCONS_IN_PROD, prod);
  return n;
}
