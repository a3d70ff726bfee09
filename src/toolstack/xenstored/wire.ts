// SPDX-License-Identifier: GPL-2.0-only
// The xenstore wire protocol: message type numbers, error names and the 16-byte header
// (type, req_id, tx_id, len; little-endian) followed by at most XENSTORE_PAYLOAD_MAX bytes.
// Spec: xen-4.7 xen/include/public/io/xs_wire.h, docs/misc/xenstore.txt (xen-digest §1.1-1.4);
// DIRECTORY_PART (22) is 4.9+. GET/SET_FEATURE and GET/SET_QUOTA ([HEAD]) are left out: ENOSYS.

export const XS_CONTROL = 0;
export const XS_DIRECTORY = 1;
export const XS_READ = 2;
export const XS_GET_PERMS = 3;
export const XS_WATCH = 4;
export const XS_UNWATCH = 5;
export const XS_TRANSACTION_START = 6;
export const XS_TRANSACTION_END = 7;
export const XS_INTRODUCE = 8;
export const XS_RELEASE = 9;
export const XS_GET_DOMAIN_PATH = 10;
export const XS_WRITE = 11;
export const XS_MKDIR = 12;
export const XS_RM = 13;
export const XS_SET_PERMS = 14;
export const XS_WATCH_EVENT = 15;
export const XS_ERROR = 16;
export const XS_IS_DOMAIN_INTRODUCED = 17;
export const XS_RESUME = 18;
export const XS_SET_TARGET = 19;
export const XS_RESTRICT = 20;
export const XS_RESET_WATCHES = 21;
export const XS_DIRECTORY_PART = 22;
export const XS_TYPE_COUNT = 23;
export const XS_INVALID = 0xffff;

export const XS_TYPE_NAMES: readonly string[] = [
  'CONTROL', 'DIRECTORY', 'READ', 'GET_PERMS', 'WATCH', 'UNWATCH', 'TRANSACTION_START',
  'TRANSACTION_END', 'INTRODUCE', 'RELEASE', 'GET_DOMAIN_PATH', 'WRITE', 'MKDIR', 'RM',
  'SET_PERMS', 'WATCH_EVENT', 'ERROR', 'IS_DOMAIN_INTRODUCED', 'RESUME', 'SET_TARGET',
  'RESTRICT', 'RESET_WATCHES', 'DIRECTORY_PART',
];

/** The error names, in the order of xs_wire.h's xsd_errors[] table (EPERM is the [HEAD] addition). */
export const XSD_ERRORS = [
  'EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOMEM', 'ENOSPC', 'EIO', 'ENOTEMPTY',
  'ENOSYS', 'EROFS', 'EBUSY', 'EAGAIN', 'EISCONN', 'E2BIG', 'EPERM',
] as const;
export type XsError = (typeof XSD_ERRORS)[number];

export const XENSTORE_PAYLOAD_MAX = 4096;
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;
export const HEADER_SIZE = 16;

/** Thrown by request handlers (never out of the daemon): becomes an ERROR reply. */
export class XsErr {
  constructor(readonly name: XsError) {}
}
export function fail(name: XsError): never {
  throw new XsErr(name);
}

export function rd32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24;
}

/** One whole frame: header fields plus a payload view (valid only during the call). */
export function encodeFrame(type: number, reqId: number, txId: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(HEADER_SIZE + payload.length);
  wr32(f, 0, type); wr32(f, 4, reqId); wr32(f, 8, txId); wr32(f, 12, payload.length);
  f.set(payload, HEADER_SIZE);
  return f;
}

/** A copy of bytes [start, end): never a view (Buffer#slice would be one). */
export function copyOf(b: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  const out = new Uint8Array(n);
  if (n <= 64) for (let i = 0; i < n; i++) out[i] = b[start + i]!; // no view object for short values
  else out.set(b.subarray(start, end));
  return out;
}

/** Latin-1 encoding of a string (paths and tokens are ASCII; binary values round-trip). */
export function latin1(s: string, nul = false): Uint8Array {
  const n = s.length;
  const b = new Uint8Array(n + (nul ? 1 : 0));
  for (let i = 0; i < n; i++) b[i] = s.charCodeAt(i);
  return b;
}
export function fromLatin1(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return s;
}

/** Splits a payload into NUL-terminated strings; bytes after the last NUL are returned as `rest`. */
export function splitStrings(p: Uint8Array): { strs: string[]; rest: number } {
  const strs: string[] = [];
  let start = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) { strs.push(fromLatin1(p, start, i)); start = i + 1; }
  }
  return { strs, rest: start };
}

/** `onearg()` without making the string: the length of the one NUL-terminated string (EINVAL if not that). */
export function oneArgLength(p: Uint8Array): number {
  const n = p.length;
  if (n === 0 || p[n - 1] !== 0) fail('EINVAL');
  for (let i = 0; i < n - 1; i++) if (p[i] === 0) fail('EINVAL');
  return n - 1;
}

/** Index of the first NUL in p, or -1. */
export function nulIndex(p: Uint8Array): number {
  for (let i = 0; i < p.length; i++) if (p[i] === 0) return i;
  return -1;
}

/** `onearg()`: the payload must be exactly one NUL-terminated string. */
export function oneArg(p: Uint8Array): string {
  const n = p.length;
  if (n === 0 || p[n - 1] !== 0) fail('EINVAL');
  let s = '';
  for (let i = 0; i < n - 1; i++) {
    const c = p[i]!;
    if (c === 0) fail('EINVAL');
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Incremental frame reader. `push` takes bytes as they arrive and calls `onFrame` for each
 * complete frame (the payload is a view that must not be kept). A header announcing more than
 * XENSTORE_PAYLOAD_MAX bytes makes `push` return false: the caller drops the connection.
 * `onFrame` returning false leaves that frame unconsumed (stalled connection); `push` of an
 * empty chunk resumes.
 */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0);
  private have = 0;

  constructor(private readonly onFrame: (type: number, reqId: number, txId: number, payload: Uint8Array) => boolean | void) {}

  /** Bytes received and not yet handed out as frames (for the migration record's in-data). */
  pending(): Uint8Array { return this.buf.slice(0, this.have); }
  get pendingLength(): number { return this.have; }
  reset(): void { this.have = 0; this.buf = new Uint8Array(0); }

  /** Bytes chunk[0, end) (end: all of it unless given, so a shared read buffer needs no view). */
  push(chunk: Uint8Array, end = chunk.length): boolean {
    if (end < chunk.length && this.have > 0) chunk = chunk.subarray(0, end);
    let data = chunk;
    let off = 0;
    if (this.have > 0) {
      const need = this.have + chunk.length;
      if (this.buf.length < need) {
        const nb = new Uint8Array(Math.max(need, this.buf.length * 2));
        nb.set(this.buf.subarray(0, this.have));
        this.buf = nb;
      }
      this.buf.set(chunk, this.have);
      this.have = need;
      data = this.buf;
      const end = this.have;
      while (end - off >= HEADER_SIZE) {
        const len = rd32(data, off + 12);
        if (len > XENSTORE_PAYLOAD_MAX) return false;
        if (end - off < HEADER_SIZE + len) break;
        if (this.onFrame(rd32(data, off), rd32(data, off + 4), rd32(data, off + 8), data.subarray(off + HEADER_SIZE, off + HEADER_SIZE + len)) === false) break;
        off += HEADER_SIZE + len;
      }
      if (off === end) { this.have = 0; if (this.buf.length > 65536) this.buf = new Uint8Array(0); }
      else if (off > 0) { this.buf.copyWithin(0, off, end); this.have = end - off; }
      return true;
    }
    while (end - off >= HEADER_SIZE) {
      const len = rd32(data, off + 12);
      if (len > XENSTORE_PAYLOAD_MAX) return false;
      if (end - off < HEADER_SIZE + len) break;
      if (this.onFrame(rd32(data, off), rd32(data, off + 4), rd32(data, off + 8), data.subarray(off + HEADER_SIZE, off + HEADER_SIZE + len)) === false) break;
      off += HEADER_SIZE + len;
    }
    if (off < end) {
      // A partial frame, or one whose header is already known to be bad: keep the bytes.
      if (end - off >= HEADER_SIZE && rd32(data, off + 12) > XENSTORE_PAYLOAD_MAX) return false;
      const rest = end - off;
      if (this.buf.length < rest) this.buf = new Uint8Array(Math.max(rest, 4096 + HEADER_SIZE));
      this.buf.set(data.subarray(off, end));
      this.have = rest;
    }
    return true;
  }
}
