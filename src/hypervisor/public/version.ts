// SPDX-License-Identifier: GPL-2.0-only
// xen_version sub-ops and their buffer sizes.
// Xen: xen/include/public/version.h (Xen 4.7)

export const XENVER_version = 0;
export const XENVER_extraversion = 1;
export const XENVER_compile_info = 2;
export const XENVER_capabilities = 3;
export const XENVER_changeset = 4;
export const XENVER_platform_parameters = 5;
export const XENVER_get_features = 6;
export const XENVER_pagesize = 7;
export const XENVER_guest_handle = 8;
export const XENVER_commandline = 9;
export const XENVER_build_id = 10;

/** xen_extraversion_t: char[16]. */
export const XEN_EXTRAVERSION_LEN = 16;
/** struct xen_compile_info: compiler[64], compile_by[16], compile_domain[32], compile_date[32]. */
export const COMPILE_INFO_FIELDS = [64, 16, 32, 32] as const;
/** xen_capabilities_info_t: char[1024]. */
export const XEN_CAPABILITIES_INFO_LEN = 1024;
/** xen_changeset_info_t: char[64]. */
export const XEN_CHANGESET_INFO_LEN = 64;
/** struct xen_platform_parameters: xen_ulong_t virt_start (8 bytes). */
export const PLATFORM_PARAMETERS_SIZE = 8;
/** struct xen_feature_info: u32 submap_idx (IN), u32 submap (OUT). */
export const FEATURE_INFO_SIZE = 8;
/** xen_domain_handle_t: u8[16]. */
export const XEN_DOMAIN_HANDLE_LEN = 16;
/** xen_commandline_t: char[1024]. */
export const XEN_COMMANDLINE_LEN = 1024;
/** struct xen_build_id: u32 len (IN: buffer size; OUT: id size), then the bytes at offset 4. */
export const BUILD_ID_BUF = 4;

// Feature bits of submap 0 (public/features.h).
export const XENFEAT_writable_page_tables = 0;
export const XENFEAT_auto_translated_physmap = 2;
export const XENFEAT_supervisor_mode_kernel = 3;
export const XENFEAT_hvm_callback_vector = 8;
export const XENFEAT_memory_op_vnode_supported = 13;
export const XENFEAT_NR_SUBMAPS = 1;
