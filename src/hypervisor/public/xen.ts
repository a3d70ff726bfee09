// SPDX-License-Identifier: GPL-2.0-only
// The guest-visible constants of xen/include/public/xen.h (Xen 4.7) that tsxen uses, and
// tsxen's RISC-V hypercall convention (docs/abi.md §3). Layout offsets of shared structures
// are in shared-info.ts; sub-op numbers of each hypercall are in their own files later.

/**
 * SBI extension ID of Xen hypercalls (docs/abi.md §3): the firmware-specific EID whose low 24
 * bits are our SBI implementation ID, 7 (riscv-sbi-2.0 §19 "Firmware Specific Extension Space").
 */
export const XEN_SBI_EID = 0x0a000007;

// Hypercall numbers (public/xen.h "__HYPERVISOR_*").
export const HYPERVISOR_set_trap_table = 0;
export const HYPERVISOR_mmu_update = 1;
export const HYPERVISOR_sched_op_compat = 6;
export const HYPERVISOR_platform_op = 7;
export const HYPERVISOR_memory_op = 12;
export const HYPERVISOR_multicall = 13;
export const HYPERVISOR_update_va_mapping = 14;
export const HYPERVISOR_set_timer_op = 15;
export const HYPERVISOR_xen_version = 17;
export const HYPERVISOR_console_io = 18;
export const HYPERVISOR_grant_table_op = 20;
export const HYPERVISOR_vm_assist = 21;
export const HYPERVISOR_vcpu_op = 24;
export const HYPERVISOR_mmuext_op = 26;
export const HYPERVISOR_xsm_op = 27;
export const HYPERVISOR_sched_op = 29;
export const HYPERVISOR_callback_op = 30;
export const HYPERVISOR_event_channel_op = 32;
export const HYPERVISOR_physdev_op = 33;
export const HYPERVISOR_hvm_op = 34;
export const HYPERVISOR_sysctl = 35;
export const HYPERVISOR_domctl = 36;
export const HYPERVISOR_kexec_op = 37;
export const HYPERVISOR_tmem_op = 38;
export const HYPERVISOR_xenpmu_op = 40;

// Domain ids (public/xen.h): real domids are below DOMID_FIRST_RESERVED.
export const DOMID_FIRST_RESERVED = 0x7ff0;
export const DOMID_SELF = 0x7ff0;
export const DOMID_IO = 0x7ff1;
export const DOMID_XEN = 0x7ff2;
export const DOMID_COW = 0x7ff3;
export const DOMID_INVALID = 0x7ff4;
export const DOMID_IDLE = 0x7fff;

// sched_op commands (public/sched.h) and shutdown reasons.
export const SCHEDOP_yield = 0;
export const SCHEDOP_block = 1;
export const SCHEDOP_shutdown = 2;
export const SCHEDOP_poll = 3;
export const SCHEDOP_remote_shutdown = 4;
export const SCHEDOP_shutdown_code = 5;
export const SCHEDOP_watchdog = 6;
export const SCHEDOP_pin_override = 7;

export const SHUTDOWN_poweroff = 0;
export const SHUTDOWN_reboot = 1;
export const SHUTDOWN_suspend = 2;
export const SHUTDOWN_crash = 3;
export const SHUTDOWN_watchdog = 4;
export const SHUTDOWN_soft_reset = 5;

// Virtual IRQs (public/xen.h "VIRQ_*").
export const VIRQ_TIMER = 0;
export const VIRQ_DEBUG = 1;
export const VIRQ_CONSOLE = 2;
export const VIRQ_DOM_EXC = 3;
export const VIRQ_TBUF = 4;
export const VIRQ_DEBUGGER = 6;
export const VIRQ_XENOPROF = 7;
export const VIRQ_CON_RING = 8;
export const VIRQ_PCPU_STATE = 9;
export const VIRQ_MEM_EVENT = 10;
export const VIRQ_ENOMEM = 12;
export const VIRQ_XENPMU = 13;
export const NR_VIRQS = 24;

/** Maximum vCPUs whose vcpu_info sits in shared_info (arch-riscv.h). */
export const XEN_LEGACY_MAX_VCPUS = 1;

/** The PV start-of-day page's magic (docs/abi.md §4). */
export const START_INFO_MAGIC = 'xen-3.0-riscv64';
