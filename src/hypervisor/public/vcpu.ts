// SPDX-License-Identifier: GPL-2.0-only
// vcpu_op sub-ops, runstates and argument layouts (LP64).
// Xen: xen/include/public/vcpu.h (Xen 4.7). vcpu_guest_context is empty in Xen's arch-riscv.h;
// tsxen's RISC-V layout is below (docs/abi.md §4).

export const VCPUOP_initialise = 0;
export const VCPUOP_up = 1;
export const VCPUOP_down = 2;
export const VCPUOP_is_up = 3;
export const VCPUOP_get_runstate_info = 4;
export const VCPUOP_register_runstate_memory_area = 5;
export const VCPUOP_set_periodic_timer = 6;
export const VCPUOP_stop_periodic_timer = 7;
export const VCPUOP_set_singleshot_timer = 8;
export const VCPUOP_stop_singleshot_timer = 9;
export const VCPUOP_register_vcpu_info = 10;

export const RUNSTATE_running = 0;
export const RUNSTATE_runnable = 1;
export const RUNSTATE_blocked = 2;
export const RUNSTATE_offline = 3;

// struct vcpu_runstate_info (48 bytes): int state; u64 state_entry_time; u64 time[4]
export const RSI_STATE = 0;
export const RSI_STATE_ENTRY_TIME = 8;
export const RSI_TIME = 16;
export const RUNSTATE_INFO_SIZE = 48;

// struct vcpu_set_singleshot_timer (16 bytes): u64 timeout_abs_ns; u32 flags
export const SST_TIMEOUT_ABS_NS = 0;
export const SST_FLAGS = 8;
export const SINGLESHOT_TIMER_SIZE = 16;
/** Fail with -ETIME if the timeout is already in the past. */
export const VCPU_SSHOTTMR_future = 1;

// struct vcpu_register_vcpu_info (16 bytes): u64 mfn (a GFN: auto-translated); u32 offset; u32 rsvd
export const RVI_MFN = 0;
export const RVI_OFFSET = 8;
export const RVI_RSVD = 12;
export const REGISTER_VCPU_INFO_SIZE = 16;

// tsxen's RISC-V struct vcpu_guest_context (32 bytes), for VCPUOP_initialise: the vCPU starts
// in S-mode at pc with a0 = its id, a1, sp and satp as given (satp 0 = MMU off), SIE = 0.
export const VGC_PC = 0;
export const VGC_A1 = 8;
export const VGC_SP = 16;
export const VGC_SATP = 24;
export const VCPU_GUEST_CONTEXT_SIZE = 32;
