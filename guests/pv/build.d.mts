// SPDX-License-Identifier: GPL-2.0-only
// Types of guests/pv/build.mjs for the TypeScript tests and benches that build the PV kernel.
export declare const PV_KERNEL_ELF: string;
export declare const CROSS: string;
export declare const CFLAGS: string[];
export declare function buildPvKernel(opts?: { force?: boolean; out?: string }): string;
