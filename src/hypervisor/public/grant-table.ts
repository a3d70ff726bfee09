// SPDX-License-Identifier: GPL-2.0-only
// Guest-visible constants and argument layouts of grant_table_op (hypercall 20), from
// xen/include/public/grant_table.h and docs/misc/grant-tables.txt at Xen 4.7, with the LP64
// offsets of docs/abi.md §3 and §7. Version 1 entries only.

export const GNTTABOP_map_grant_ref = 0;
export const GNTTABOP_unmap_grant_ref = 1;
export const GNTTABOP_setup_table = 2;
export const GNTTABOP_dump_table = 3;
export const GNTTABOP_transfer = 4;
export const GNTTABOP_copy = 5;
export const GNTTABOP_query_size = 6;
export const GNTTABOP_unmap_and_replace = 7;
export const GNTTABOP_set_version = 8;
export const GNTTABOP_get_status_frames = 9;
export const GNTTABOP_get_version = 10;
export const GNTTABOP_swap_grant_ref = 11;
export const GNTTABOP_cache_flush = 12;
/** The low 12 bits of cmd are the op; the rest is an opaque continuation argument (grant_table.c). */
export const GNTTABOP_CMD_MASK = 0xfff;

// grant_entry_v1: { uint16_t flags; domid_t domid; uint32_t frame; } (8 bytes).
export const GRANT_ENTRY_V1_SIZE = 8;
export const GRANT_ENTRY_FLAGS = 0;
export const GRANT_ENTRY_DOMID = 2;
export const GRANT_ENTRY_FRAME = 4;
export const GRANT_ENTRIES_PER_FRAME_V1 = 4096 / GRANT_ENTRY_V1_SIZE;
/** Entries reserved for the toolstack: 0 console, 1 xenstore (grant_table.h). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
export const GNTTAB_RESERVED_CONSOLE = 0;
export const GNTTAB_RESERVED_XENSTORE = 1;

// Entry flags (GTF_*): type in bits 1:0, sub-flags above. [GUEST] writes type/readonly, [HV] reading/writing.
export const GTF_invalid = 0;
export const GTF_permit_access = 1;
export const GTF_accept_transfer = 2;
export const GTF_transitive = 3;
export const GTF_type_mask = 3;
export const GTF_readonly = 1 << 2;
export const GTF_reading = 1 << 3;
export const GTF_writing = 1 << 4;
export const GTF_PWT = 1 << 5;
export const GTF_PCD = 1 << 6;
export const GTF_PAT = 1 << 7;
export const GTF_sub_page = 1 << 8;

// map flags (GNTMAP_*).
export const GNTMAP_device_map = 1 << 0;
export const GNTMAP_host_map = 1 << 1;
export const GNTMAP_readonly = 1 << 2;
export const GNTMAP_application_map = 1 << 3;
export const GNTMAP_contains_pte = 1 << 4;
export const GNTMAP_can_fail = 1 << 5;

// copy flags.
export const GNTCOPY_source_gref = 1 << 0;
export const GNTCOPY_dest_gref = 1 << 1;

// Per-element status codes (GNTST_*).
export const GNTST_okay = 0;
export const GNTST_general_error = -1;
export const GNTST_bad_domain = -2;
export const GNTST_bad_gntref = -3;
export const GNTST_bad_handle = -4;
export const GNTST_bad_virt_addr = -5;
export const GNTST_bad_dev_addr = -6;
export const GNTST_no_device_space = -7;
export const GNTST_permission_denied = -8;
export const GNTST_bad_page = -9;
export const GNTST_bad_copy_arg = -10;
export const GNTST_address_too_big = -11;
export const GNTST_eagain = -12;

/** Xen 4.7's default gnttab_max_frames and max_maptrack_frames (grant_table.c). */
export const DEFAULT_MAX_GRANT_FRAMES = 32;
export const DEFAULT_MAX_MAPTRACK_FRAMES = 1024;
/** sizeof(struct grant_mapping): maptrack entries per 4 KiB frame = 4096 / 16. */
export const MAPTRACK_PER_FRAME = 256;

// Argument structures: byte offsets and sizes (LP64).
/** gnttab_map_grant_ref { u64 host_addr; u32 flags; grant_ref_t ref; domid_t dom; i16 status; grant_handle_t handle; u64 dev_bus_addr; } */
export const MAP_GRANT_REF = { host_addr: 0, flags: 8, ref: 12, dom: 16, status: 18, handle: 20, dev_bus_addr: 24, size: 32 } as const;
/** gnttab_unmap_grant_ref { u64 host_addr; u64 dev_bus_addr; grant_handle_t handle; i16 status; } */
export const UNMAP_GRANT_REF = { host_addr: 0, dev_bus_addr: 8, handle: 16, status: 20, size: 24 } as const;
/** gnttab_setup_table { domid_t dom; u32 nr_frames; i16 status; XEN_GUEST_HANDLE(xen_pfn_t) frame_list; } */
export const SETUP_TABLE = { dom: 0, nr_frames: 4, status: 8, frame_list: 16, size: 24 } as const;
/** gnttab_query_size { domid_t dom; u32 nr_frames; u32 max_nr_frames; i16 status; } */
export const QUERY_SIZE = { dom: 0, nr_frames: 4, max_nr_frames: 8, status: 12, size: 16 } as const;
/** gnttab_copy { struct { union { grant_ref_t ref; xen_pfn_t gmfn; } u; domid_t domid; u16 offset; } source, dest; u16 len; u16 flags; i16 status; } */
export const COPY = { source: 0, dest: 16, ptr_u: 0, ptr_domid: 8, ptr_offset: 10, len: 32, flags: 34, status: 36, size: 40 } as const;
/** gnttab_set_version { u32 version; } */
export const SET_VERSION = { version: 0, size: 4 } as const;
/** gnttab_get_version { domid_t dom; u16 pad; u32 version; } */
export const GET_VERSION = { dom: 0, version: 4, size: 8 } as const;
