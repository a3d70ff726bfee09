// SPDX-License-Identifier: GPL-2.0-only
// Validation of the supervisor entry addresses the guest hands to HSM (start_addr, resume_addr)
// and SUSP (resume_addr): a guest-physical address where the hart may execute with the MMU off.

import { ACCESS_X, PHYS_FAULT } from '../../hardware/riscv/hart-api.ts';
import type { VsbiCall } from './core.ts';
import type { VsbiPlatform } from './platform.ts';

/**
 * a<n> as an entry pc, or -1 when it is "not a valid physical address" or executable access is
 * prohibited (Spec: riscv-sbi-2.0 §9.1 "Function: Hart start (FID #0)", SBI_ERR_INVALID_ADDRESS):
 * at or above 2^53 (beyond any physical address), not 2-byte aligned (IALIGN is 16 with C), or
 * on a page the guest's physical map does not give execute permission as RAM.
 */
export function entryAddress(platform: VsbiPlatform, call: VsbiCall, n: number): number {
  if (!call.argFitsNumber(n)) return -1;
  const pa = call.argU64(n);
  if (pa % 2 !== 0) return -1;
  const page = Math.floor(pa / 4096);
  let off = platform.phys.lookup(page, ACCESS_X);
  if (off === PHYS_FAULT && platform.resolvePhysFault?.(page, ACCESS_X) === true) off = platform.phys.lookup(page, ACCESS_X);
  return off >= 0 ? pa : -1;
}
