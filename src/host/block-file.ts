// SPDX-License-Identifier: GPL-2.0-only
// Raw disk image files as BlockBackends for virtio-blk (the host side of `--drive
// file=...,format=raw`). Synchronous node:fs I/O on one file descriptor; holes in sparse
// files read as zeros and stay unallocated until written. Opening problems are a
// BlockFileError naming the file; I/O errors after that are reported to the guest (IOERR).
// Leaves out: image locking against a second writer (QEMU uses fcntl locks), block devices.

import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import type { BlockBackend } from '../hardware/devices/virtio/virtio-blk.ts';

export class BlockFileError extends Error {
  override readonly name = 'BlockFileError';
  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super(`disk image ${path}: ${reason}`, options);
  }
}

export interface BlockFileOptions {
  /** Open read-only: the device offers VIRTIO_BLK_F_RO and guest writes fail with IOERR. */
  readonly readOnly?: boolean;
}

function reasonFor(e: unknown, readOnly: boolean): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM':
      return readOnly ? 'permission denied' : 'permission denied (open it read-only, or fix its permissions)';
    case 'EROFS': return 'on a read-only file system (open it read-only)';
    case 'EISDIR': return 'is a directory, not a raw disk image';
    case 'ELOOP': return 'too many symbolic links';
    default: return (e as Error)?.message ?? String(e);
  }
}

export class BlockFile implements BlockBackend {
  readonly size: number;
  /** The last I/O error (for logs); the guest only sees IOERR. */
  lastError: string | undefined;
  private fd: number;

  private constructor(readonly path: string, fd: number, size: number, readonly readOnly: boolean) {
    this.fd = fd;
    this.size = size;
  }

  /** Open an existing raw image. Throws BlockFileError with a one-line reason naming the file. */
  static open(path: string, opts: BlockFileOptions = {}): BlockFile {
    const readOnly = !!opts.readOnly;
    let fd: number;
    try {
      fd = openSync(path, readOnly ? constants.O_RDONLY : constants.O_RDWR);
    } catch (e) {
      throw new BlockFileError(path, reasonFor(e, readOnly), { cause: e });
    }
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw new BlockFileError(path, 'is a directory, not a raw disk image');
      if (!st.isFile()) throw new BlockFileError(path, 'is not a regular file (only raw image files are supported)');
      return new BlockFile(path, fd, st.size, readOnly);
    } catch (e) {
      closeSync(fd);
      if (e instanceof BlockFileError) throw e;
      throw new BlockFileError(path, reasonFor(e, readOnly), { cause: e });
    }
  }

  /** Create (or truncate to) a sparse raw image of `size` bytes: no data block is allocated. */
  static create(path: string, size: number): BlockFile {
    if (!(Number.isSafeInteger(size) && size >= 0)) throw new BlockFileError(path, `bad size ${size}`);
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o644);
      ftruncateSync(fd, size);
    } catch (e) {
      throw new BlockFileError(path, reasonFor(e, false), { cause: e });
    }
    return new BlockFile(path, fd, size, false);
  }

  read(offset: number, dst: Uint8Array): boolean {
    if (this.fd < 0 || offset < 0 || offset + dst.length > this.size) return false;
    try {
      let done = 0;
      while (done < dst.length) {
        const n = readSync(this.fd, dst, done, dst.length - done, offset + done);
        if (n === 0) {
          // The file shrank under us: what is gone reads as zeros, like a hole.
          dst.fill(0, done);
          break;
        }
        done += n;
      }
      return true;
    } catch (e) {
      this.lastError = `disk image ${this.path}: read at ${offset}: ${(e as Error).message}`;
      return false;
    }
  }

  write(offset: number, src: Uint8Array): boolean {
    if (this.readOnly || this.fd < 0 || offset < 0 || offset + src.length > this.size) return false;
    try {
      let done = 0;
      while (done < src.length) done += writeSync(this.fd, src, done, src.length - done, offset + done);
      return true;
    } catch (e) {
      this.lastError = `disk image ${this.path}: write at ${offset}: ${(e as Error).message}`;
      return false;
    }
  }

  flush(): boolean {
    if (this.fd < 0) return false;
    if (this.readOnly) return true;
    try {
      fdatasyncSync(this.fd);
      return true;
    } catch (e) {
      this.lastError = `disk image ${this.path}: flush: ${(e as Error).message}`;
      return false;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
