// SPDX-License-Identifier: GPL-2.0-only
// memory_op sub-ops and argument layouts (LP64).
// Xen: xen/include/public/memory.h (Xen 4.7)

export const XENMEM_increase_reservation = 0;
export const XENMEM_decrease_reservation = 1;
export const XENMEM_current_reservation = 3;
export const XENMEM_maximum_reservation = 4;
export const XENMEM_populate_physmap = 6;
export const XENMEM_add_to_physmap = 7;
export const XENMEM_maximum_gpfn = 14;
/** The sub-op is the low 6 bits of cmd; the rest is the continuation start extent (MEMOP_EXTENT_SHIFT). */
export const MEMOP_CMD_MASK = 0x3f;
export const MEMOP_EXTENT_SHIFT = 6;

// struct xen_memory_reservation (32 bytes)
export const MR_EXTENT_START = 0; // XEN_GUEST_HANDLE(xen_pfn_t)
export const MR_NR_EXTENTS = 8; // xen_ulong_t
export const MR_EXTENT_ORDER = 16; // unsigned int
export const MR_MEM_FLAGS = 20; // unsigned int
export const MR_DOMID = 24; // domid_t
export const MEMORY_RESERVATION_SIZE = 32;

// struct xen_add_to_physmap (24 bytes)
export const ATP_DOMID = 0; // domid_t
export const ATP_SIZE = 2; // u16, gmfn_range only
export const ATP_SPACE = 4; // unsigned int
export const ATP_IDX = 8; // xen_ulong_t
export const ATP_GPFN = 16; // xen_pfn_t
export const ADD_TO_PHYSMAP_SIZE = 24;

export const XENMAPSPACE_shared_info = 0;
export const XENMAPSPACE_grant_table = 1;
export const XENMAPSPACE_gmfn = 2;
export const XENMAPSPACE_gmfn_range = 3;
export const XENMAPSPACE_gmfn_foreign = 4;
/** add_to_physmap idx flag for grant_table: status frames (v2 only). */
export const XENMAPIDX_grant_table_status = 0x80000000;
