// SPDX-License-Identifier: GPL-2.0-only
// What vsbi.handleEcall() tells the runner to do with the calling hart next. Plain numbers, so
// the runner's loop compares integers and allocates nothing.

/** The call returned to the guest (a0/a1 written, pc past the ecall): keep running the hart. */
export const VSBI_RESUME = 0;
/**
 * The calling hart is STOPPED (hart_stop): stop running it. Before each later run, call
 * vsbi.prepareToRun(i); it returns true once another hart has started it again.
 */
export const VSBI_HART_STOPPED = 1;
/**
 * The calling hart is SUSPENDED (hart_suspend): treat it like WFI. vsbi.prepareToRun(i) returns
 * true (and completes the resume) once platform.interruptPending(i) says an interrupt arrived.
 */
export const VSBI_HART_SUSPENDED = 2;
/** platform.systemReset() accepted a shutdown or reboot: stop the machine (or domain). */
export const VSBI_SYSTEM_RESET = 3;
/**
 * The system is suspended to RAM (SUSP): every hart is STOPPED; the platform resumes it with
 * vsbi.systemResume() when a wake-up event arrives.
 */
export const VSBI_SYSTEM_SUSPENDED = 4;
/** A hypercall handler blocked the vCPU (e.g. SCHEDOP_block); the owner decides when it runs. */
export const VSBI_BLOCKED = 5;
