// SPDX-License-Identifier: GPL-2.0-only
// The grant table's read-write lock interface (Xen 4.7's struct grant_table.lock with
// grant_read_lock / grant_write_lock, xen/common/grant_table.c): the map, unmap and copy paths
// take the read side, setup/grow/set_version the write side. Implemented by the SMP locks over
// shared memory (src/hypervisor/smp): PercpuRwLock (the default, 4.7's percpu_rwlock_t in the
// grant_rwlock class) and RwLock (the plain rwlock of 4.6, kept for the bench).

export interface GrantRwLock {
  readLock(): void;
  readUnlock(): void;
  writeLock(): void;
  writeUnlock(): void;
}
