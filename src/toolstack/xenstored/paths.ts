// SPDX-License-Identifier: GPL-2.0-only
// Node names: validity (`is_valid_nodename`), relative-path resolution and parent/leaf helpers.
// Spec: xen-4.7 docs/misc/xenstore.txt "Paths" (xen-digest §1.5): characters [A-Za-z0-9-/_@],
// no double or trailing '/', length <= 3072, and at most 2048 characters after
// "/local/domain/<id>/" (or in the whole path elsewhere), as R47's is_valid_nodename. Special watch names start with '@' and are not store paths.
import { XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX, fail, fromLatin1 } from './wire.ts';

const VALID = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@') VALID[c.charCodeAt(0)] = 1;

export function validChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || VALID[c] === 0) return false;
  }
  return true;
}

const LOCAL = '/local/domain/';

export function isValidNodename(p: string): boolean {
  const n = p.length;
  if (n === 0 || p.charCodeAt(0) !== 47) return false;
  if (n > 1 && p.charCodeAt(n - 1) === 47) return false;
  if (p.includes('//')) return false;
  if (n > XENSTORE_ABS_PATH_MAX) return false;
  // The part after "/local/domain/<id>/" (sscanf "%5u/%n"), or the whole path elsewhere, may
  // not exceed XENSTORE_REL_PATH_MAX: 2048 outside a domain's home, 3072 at most inside.
  let localOff = 0;
  if (n > XENSTORE_REL_PATH_MAX && p.startsWith(LOCAL)) {
    let i = LOCAL.length;
    const d0 = i;
    while (i < n && i - d0 < 5 && p.charCodeAt(i) >= 48 && p.charCodeAt(i) <= 57) i++;
    if (i > d0 && i < n && p.charCodeAt(i) === 47) localOff = i + 1;
  }
  if (n > localOff + XENSTORE_REL_PATH_MAX) return false;
  return validChars(p);
}

/** "@..." names used by WATCH/UNWATCH/GET_PERMS/SET_PERMS. */
export function isSpecialName(p: string): boolean {
  return p.length > 1 && p.charCodeAt(0) === 64 && p.length <= XENSTORE_ABS_PATH_MAX && validChars(p);
}

export function domainPath(domid: number): string {
  return LOCAL + domid;
}

/**
 * Canonicalise a client path: relative names resolve under /local/domain/<domid>/ (for every
 * connection, as cxenstored does). Throws EINVAL for an invalid result.
 */
export function canonicalize(p: string, domid: number, allowSpecial = false): string {
  if (p.length === 0) fail('EINVAL');
  const c0 = p.charCodeAt(0);
  if (c0 === 47) {
    if (!isValidNodename(p)) fail('EINVAL');
    return p;
  }
  if (c0 === 64) {
    if (!allowSpecial || !isSpecialName(p)) fail('EINVAL');
    return p;
  }
  if (p.length > XENSTORE_REL_PATH_MAX) fail('EINVAL');
  const abs = LOCAL + domid + '/' + p;
  if (!isValidNodename(abs)) fail('EINVAL');
  return abs;
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
export function leafOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
export function childPath(parent: string, name: string): string {
  return parent === '/' ? '/' + name : parent + '/' + name;
}
/** True if `p` is `anc` or lies below it. */
export function isAtOrBelow(p: string, anc: string): boolean {
  if (anc === '/') return true;
  return p === anc || (p.length > anc.length && p.charCodeAt(anc.length) === 47 && p.startsWith(anc));
}

/**
 * Absolute paths seen recently, by their bytes (a direct-mapped cache): a hit gives the same
 * string again, already validated and with its hash computed, so a request for a known path
 * allocates no string and the store's Map lookup does not rehash. Only valid paths enter. The
 * bytes are compared with the cached string itself (an absolute path is its own canonical
 * form): a hit touches the slot and the string, which the Map lookup reads next anyway.
 */
const CACHE_SLOTS = 4096;
const CACHE_MAX_LEN = 256;
const cacheStr: string[] = new Array<string>(CACHE_SLOTS).fill('');

/** canonicalize() of the Latin-1 bytes b[start, end) (no NUL among them). */
export function canonicalizeBytes(b: Uint8Array, start: number, end: number, domid: number): string {
  const n = end - start;
  if (n === 0 || b[start] !== 47 || n > CACHE_MAX_LEN) return canonicalize(fromLatin1(b, start, end), domid);
  let h = 0x811c9dc5; // FNV-1a
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 16777619);
  const slot = (h >>> 0) & (CACHE_SLOTS - 1);
  const c = cacheStr[slot]!;
  if (c.length === n) {
    let i = 0;
    while (i < n && c.charCodeAt(i) === b[start + i]) i++;
    if (i === n) return c;
  }
  const s = canonicalize(fromLatin1(b, start, end), domid); // throws for an invalid path
  cacheStr[slot] = s;
  return s;
}
