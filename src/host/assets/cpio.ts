// SPDX-License-Identifier: GPL-2.0-only
// Writer for the "newc" cpio archive format (magic 070701), the format the Linux kernel
// unpacks as an initramfs (format: Linux, Documentation/driver-api/early-userspace/buffer-format.rst).
// Supports directories, regular files, symbolic links and character/block device nodes
// (so /dev/console exists without root privileges). Leaves out hard links and the CRC
// variant (070702). Output is deterministic: fixed mtime, inode numbers in entry order.

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Uint8Array; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chr' | 'blk'; path: string; major: number; minor: number; mode?: number };

export interface CpioOptions {
  /** mtime written into every header (seconds since the epoch); default 0. */
  mtime?: number;
}

const HEADER_LEN = 110;
const enc = new TextEncoder();

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio: field value ${n} does not fit 32 bits`);
  return n.toString(16).toUpperCase().padStart(8, '0');
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Normalises an archive path: no leading "/" or "./", no empty or ".." components. */
export function cpioPath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) return '.';
  if (parts.includes('..')) throw new Error(`cpio: path '${path}' contains '..'`);
  return parts.join('/');
}

interface Raw { name: string; mode: number; data: Uint8Array; nlink: number; rmajor: number; rminor: number }

function toRaw(e: CpioEntry): Raw {
  const name = cpioPath(e.path);
  switch (e.kind) {
    case 'dir': return { name, mode: S_IFDIR | (e.mode ?? 0o755), data: new Uint8Array(0), nlink: 2, rmajor: 0, rminor: 0 };
    case 'file': return { name, mode: S_IFREG | (e.mode ?? 0o644), data: e.data, nlink: 1, rmajor: 0, rminor: 0 };
    case 'symlink': return { name, mode: S_IFLNK | 0o777, data: enc.encode(e.target), nlink: 1, rmajor: 0, rminor: 0 };
    case 'chr':
    case 'blk':
      return { name, mode: (e.kind === 'chr' ? S_IFCHR : S_IFBLK) | (e.mode ?? 0o600), data: new Uint8Array(0), nlink: 1, rmajor: e.major, rminor: e.minor };
  }
}

function header(ino: number, r: Raw, mtime: number, nameLen: number): string {
  // c_magic c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize c_devmajor c_devminor
  // c_rdevmajor c_rdevminor c_namesize c_check
  return '070701' + [ino, r.mode, 0, 0, r.nlink, mtime, r.data.length, 0, 0, r.rmajor, r.rminor, nameLen, 0].map(hex8).join('');
}

/**
 * Serialises the entries, in the given order (parents should precede children, as the
 * kernel creates nothing implicitly), followed by the TRAILER!!! record.
 */
export function writeCpio(entries: readonly CpioEntry[], opts: CpioOptions = {}): Uint8Array {
  const mtime = opts.mtime ?? 0;
  const seen = new Set<string>();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array): void => { chunks.push(b); total += b.length; };
  const emit = (ino: number, r: Raw): void => {
    const name = enc.encode(r.name + '\0');
    push(enc.encode(header(ino, r, mtime, name.length)));
    push(name);
    push(new Uint8Array(pad4(HEADER_LEN + name.length)));
    push(r.data);
    push(new Uint8Array(pad4(r.data.length)));
  };
  let ino = 1;
  for (const e of entries) {
    const r = toRaw(e);
    if (seen.has(r.name)) throw new Error(`cpio: duplicate entry '${r.name}'`);
    seen.add(r.name);
    emit(ino++, r);
  }
  emit(0, { name: 'TRAILER!!!', mode: 0, data: new Uint8Array(0), nlink: 1, rmajor: 0, rminor: 0 });
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  return out;
}
