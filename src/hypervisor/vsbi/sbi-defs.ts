// SPDX-License-Identifier: GPL-2.0-only
// The numbers of the SBI binary interface that the vSBI implements: error codes, extension
// IDs (EIDs), function IDs (FIDs), HSM states, reset types. Facts from the ratified spec
// (riscv-sbi-2.0); the legacy v0.1 extensions (EIDs 0x00-0x0F) are listed for reference only,
// tsxen does not provide them (Debian's kernel is built without CONFIG_RISCV_SBI_V01).

// Spec: riscv-sbi-2.0 §3 "Binary Encoding" (table "Standard SBI Errors")
export const SBI_SUCCESS = 0;
export const SBI_ERR_FAILED = -1;
export const SBI_ERR_NOT_SUPPORTED = -2;
export const SBI_ERR_INVALID_PARAM = -3;
export const SBI_ERR_DENIED = -4;
export const SBI_ERR_INVALID_ADDRESS = -5;
export const SBI_ERR_ALREADY_AVAILABLE = -6;
export const SBI_ERR_ALREADY_STARTED = -7;
export const SBI_ERR_ALREADY_STOPPED = -8;
export const SBI_ERR_NO_SHMEM = -9;

/** Every error code the v2.0 spec defines, SUCCESS included (tests check results against it). */
export const SBI_ERRORS: readonly number[] = [0, -1, -2, -3, -4, -5, -6, -7, -8, -9];

// Spec: riscv-sbi-2.0 §4 "Base Extension (EID #0x10)"
export const SBI_EXT_BASE = 0x10;
export const SBI_BASE_GET_SPEC_VERSION = 0;
export const SBI_BASE_GET_IMPL_ID = 1;
export const SBI_BASE_GET_IMPL_VERSION = 2;
export const SBI_BASE_PROBE_EXTENSION = 3;
export const SBI_BASE_GET_MVENDORID = 4;
export const SBI_BASE_GET_MARCHID = 5;
export const SBI_BASE_GET_MIMPID = 6;

/**
 * Spec: riscv-sbi-2.0 §4.1 "Function: Get SBI specification version (FID #0)": minor in bits
 * 0-23, major in bits 24-30, bit 31 zero. 2.0 = 0x0200_0000.
 */
export const SBI_SPEC_VERSION_MAJOR = 2;
export const SBI_SPEC_VERSION_MINOR = 0;
export const SBI_SPEC_VERSION = (SBI_SPEC_VERSION_MAJOR << 24) | SBI_SPEC_VERSION_MINOR;

/** Spec: riscv-sbi-2.0 §4.9 "SBI Implementation IDs": 7 = "Xen Project". tsxen is Xen. */
export const SBI_IMPL_ID_XEN = 7;
/** Implementation version: major << 16 | minor of tsxen's vSBI (implementation specific). */
export const VSBI_IMPL_VERSION = (0 << 16) | 1;

// Spec: riscv-sbi-2.0 §6 "Timer Extension (EID #0x54494D45 "TIME")"
export const SBI_EXT_TIME = 0x54494d45;
export const SBI_TIME_SET_TIMER = 0;

// Spec: riscv-sbi-2.0 §7 "IPI Extension (EID #0x735049 "sPI: s-mode IPI")"
export const SBI_EXT_IPI = 0x735049;
export const SBI_IPI_SEND_IPI = 0;

// Spec: riscv-sbi-2.0 §8 "RFENCE Extension (EID #0x52464E43 "RFNC")"
export const SBI_EXT_RFENCE = 0x52464e43;
export const SBI_RFENCE_REMOTE_FENCE_I = 0;
export const SBI_RFENCE_REMOTE_SFENCE_VMA = 1;
export const SBI_RFENCE_REMOTE_SFENCE_VMA_ASID = 2;
export const SBI_RFENCE_REMOTE_HFENCE_GVMA_VMID = 3;
export const SBI_RFENCE_REMOTE_HFENCE_GVMA = 4;
export const SBI_RFENCE_REMOTE_HFENCE_VVMA_ASID = 5;
export const SBI_RFENCE_REMOTE_HFENCE_VVMA = 6;

// Spec: riscv-sbi-2.0 §9 "Hart State Management Extension (EID #0x48534D "HSM")"
export const SBI_EXT_HSM = 0x48534d;
export const SBI_HSM_HART_START = 0;
export const SBI_HSM_HART_STOP = 1;
export const SBI_HSM_HART_GET_STATUS = 2;
export const SBI_HSM_HART_SUSPEND = 3;
// Spec: riscv-sbi-2.0 §9 "Hart State Management Extension (EID #0x48534D "HSM")" (table "HSM Hart States")
export const SBI_HSM_STATE_STARTED = 0;
export const SBI_HSM_STATE_STOPPED = 1;
export const SBI_HSM_STATE_START_PENDING = 2;
export const SBI_HSM_STATE_STOP_PENDING = 3;
export const SBI_HSM_STATE_SUSPENDED = 4;
export const SBI_HSM_STATE_SUSPEND_PENDING = 5;
export const SBI_HSM_STATE_RESUME_PENDING = 6;
// Spec: riscv-sbi-2.0 §9.4 "Function: Hart suspend (FID #3)" (table "HSM Hart Suspend Types")
export const SBI_HSM_SUSPEND_RET_DEFAULT = 0x00000000;
export const SBI_HSM_SUSPEND_NON_RET_DEFAULT = 0x80000000;

// Spec: riscv-sbi-2.0 §10 "System Reset Extension (EID #0x53525354 "SRST")"
export const SBI_EXT_SRST = 0x53525354;
export const SBI_SRST_SYSTEM_RESET = 0;
export const SBI_SRST_RESET_TYPE_SHUTDOWN = 0;
export const SBI_SRST_RESET_TYPE_COLD_REBOOT = 1;
export const SBI_SRST_RESET_TYPE_WARM_REBOOT = 2;
export const SBI_SRST_RESET_REASON_NONE = 0;
export const SBI_SRST_RESET_REASON_SYSFAIL = 1;

// Spec: riscv-sbi-2.0 §11 "Performance Monitoring Unit Extension (EID #0x504D55 "PMU")" — minimal, pmu.ts.
export const SBI_EXT_PMU = 0x504d55;

// Spec: riscv-sbi-2.0 §12 "Debug Console Extension (EID #0x4442434E "DBCN")"
export const SBI_EXT_DBCN = 0x4442434e;
export const SBI_DBCN_CONSOLE_WRITE = 0;
export const SBI_DBCN_CONSOLE_READ = 1;
export const SBI_DBCN_CONSOLE_WRITE_BYTE = 2;

// Spec: riscv-sbi-2.0 §13 "System Suspend Extension (EID #0x53555350 "SUSP")"
export const SBI_EXT_SUSP = 0x53555350;
export const SBI_SUSP_SYSTEM_SUSPEND = 0;
export const SBI_SUSP_SLEEP_TYPE_SUSPEND_TO_RAM = 0;

/**
 * Spec: riscv-sbi-2.0 §19 "Firmware Specific Extension Space (EIDs #0x0A000000 - #0x0AFFFFFF)":
 * "The lower 24 bits of the firmware EID must match the lower 24 bits of the SBI implementation
 * ID." With implementation ID 7 (Xen Project) the one firmware EID tsxen may use is 0x0A000007:
 * the Xen hypercall extension (a6 = hypercall number, a0-a5 = arguments, result in a0).
 */
export const SBI_EXT_FIRMWARE_START = 0x0a000000;
export const SBI_EXT_FIRMWARE_END = 0x0affffff;
export const SBI_EXT_XEN = SBI_EXT_FIRMWARE_START | SBI_IMPL_ID_XEN;

/** Legacy v0.1 extensions (EIDs 0x00-0x0F): not provided; calls get SBI_ERR_NOT_SUPPORTED. */
export const SBI_EXT_LEGACY_START = 0x00;
export const SBI_EXT_LEGACY_END = 0x0f;
