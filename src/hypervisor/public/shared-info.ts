// SPDX-License-Identifier: GPL-2.0-only
// Byte offsets of the structures the hypervisor and a PV guest share (docs/abi.md §4-§5), LP64
// layouts of Xen 4.7's public/xen.h with arch-riscv.h's empty arch_vcpu_info/arch_shared_info.
// Xen: xen/include/public/xen.h (struct start_info, shared_info, vcpu_info, vcpu_time_info)

// struct vcpu_time_info (32 bytes)
export const VTI_VERSION = 0;
export const VTI_TSC_TIMESTAMP = 8;
export const VTI_SYSTEM_TIME = 16;
export const VTI_TSC_TO_SYSTEM_MUL = 24;
export const VTI_TSC_SHIFT = 28;
export const VTI_FLAGS = 29;
export const VTI_SIZE = 32;
/** vcpu_time_info.flags: the tsc (time CSR) is the same on every vCPU. */
export const XEN_PVCLOCK_TSC_STABLE_BIT = 1;

// struct vcpu_info (48 bytes)
export const VI_EVTCHN_UPCALL_PENDING = 0;
export const VI_EVTCHN_PENDING_SEL = 8;
export const VI_TIME = 16;
export const VCPU_INFO_SIZE = 48;

// struct shared_info (1088 bytes)
export const SI_VCPU_INFO = 0;
export const SI_EVTCHN_PENDING = 48;
export const SI_EVTCHN_MASK = 560;
export const SI_WC_VERSION = 1072;
export const SI_WC_SEC = 1076;
export const SI_WC_NSEC = 1080;
export const SI_WC_SEC_HI = 1084;
export const SHARED_INFO_SIZE = 1088;

// struct start_info (x86_64 layout, docs/abi.md §4)
export const STI_MAGIC = 0;
export const STI_MAGIC_LEN = 32;
export const STI_NR_PAGES = 32;
export const STI_SHARED_INFO = 40;
export const STI_FLAGS = 48;
export const STI_STORE_MFN = 56;
export const STI_STORE_EVTCHN = 64;
export const STI_CONSOLE_MFN = 72;
export const STI_CONSOLE_EVTCHN = 80;
export const STI_PT_BASE = 88;
export const STI_NR_PT_FRAMES = 96;
export const STI_MFN_LIST = 104;
export const STI_MOD_START = 112;
export const STI_MOD_LEN = 120;
export const STI_CMD_LINE = 128;
export const MAX_GUEST_CMDLINE = 1024;
export const STI_FIRST_P2M_PFN = 1152;
export const STI_NR_P2M_FRAMES = 1160;
export const START_INFO_SIZE = 1168;

// The PV domain's memory layout (docs/abi.md §4).
export const GUEST_MAGIC_BASE = 0x7ff00000;
export const MAGIC_START_INFO = 0;
export const MAGIC_SHARED_INFO = 1;
export const MAGIC_XENSTORE = 2;
export const MAGIC_CONSOLE = 3;
/** First magic-region page for grant-table frames. */
export const MAGIC_GRANT_BASE = 4;
export const GUEST_RAM_BASE = 0x80000000;
