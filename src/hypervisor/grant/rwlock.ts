// SPDX-License-Identifier: GPL-2.0-only
// The grant table's read-write lock (Xen 4.7's struct grant_table.lock with grant_read_lock /
// grant_write_lock, xen/common/grant_table.c). Single-threaded today, so this implementation
// only checks the discipline (no write while read-held, balanced unlocks); issue 7 swaps in a
// per-CPU rwlock over shared memory (xen-digest §9.4) behind the same interface: the map,
// unmap and copy paths take the read side, setup/grow/set_version the write side.

export interface GrantRwLock {
  readLock(): void;
  readUnlock(): void;
  writeLock(): void;
  writeUnlock(): void;
}

/** A checked lock for the single-threaded host: misuse is a hypervisor bug and throws. */
export class CheckedRwLock implements GrantRwLock {
  readers = 0;
  writer = false;
  readLock(): void {
    if (this.writer) throw new Error('grant lock: read while write-held');
    this.readers++;
  }
  readUnlock(): void {
    if (this.readers <= 0) throw new Error('grant lock: unbalanced read unlock');
    this.readers--;
  }
  writeLock(): void {
    if (this.writer || this.readers > 0) throw new Error('grant lock: write while held');
    this.writer = true;
  }
  writeUnlock(): void {
    if (!this.writer) throw new Error('grant lock: unbalanced write unlock');
    this.writer = false;
  }
}
