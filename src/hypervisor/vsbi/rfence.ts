// SPDX-License-Identifier: GPL-2.0-only
// SBI RFENCE extension (EID 0x52464E43 "RFNC"): remote FENCE.I and SFENCE.VMA on the harts of a
// hart mask. Spec: riscv-sbi-2.0 §8 "RFENCE Extension (EID #0x52464E43 "RFNC")". A ranged or
// ASID-specific fence flushes the target's whole TLB: always correct (a superset), and the
// software TLB refills quickly. The HFENCE variants (FIDs 3-6) are NOT_SUPPORTED: vCPUs do not
// see the H extension.

import type { SbiExtension, Vsbi, VsbiCall } from './core.ts';
import { VSBI_RESUME } from './outcome.ts';
import {
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_RFENCE,
  SBI_HSM_STATE_STOPPED,
  SBI_RFENCE_REMOTE_FENCE_I,
  SBI_RFENCE_REMOTE_SFENCE_VMA,
  SBI_RFENCE_REMOTE_SFENCE_VMA_ASID,
  SBI_SUCCESS,
} from './sbi-defs.ts';

const TWO32 = 4294967296;

/**
 * Spec: riscv-sbi-2.0 §8 "RFENCE Extension (EID #0x52464E43 "RFNC")": "The remote fence
 * operation applies to the entire address space if either: start_addr and size are both 0, or
 * size is equal to 2^XLEN-1." Any other range must not run past the end of the address space
 * (start_addr + size <= 2^64); one that does is SBI_ERR_INVALID_ADDRESS.
 */
export function rfenceRangeValid(call: VsbiCall, startArg: number, sizeArg: number): boolean {
  if (call.argIsAllOnes(sizeArg)) return true;
  if (call.argIsZero(startArg) && call.argIsZero(sizeArg)) return true;
  const lo = (call.argLo(startArg) >>> 0) + (call.argLo(sizeArg) >>> 0);
  const hi = (call.argHi(startArg) >>> 0) + (call.argHi(sizeArg) >>> 0) + (lo >= TWO32 ? 1 : 0);
  return hi < TWO32 || (hi === TWO32 && lo % TWO32 === 0);
}

export function rfenceExtension(vsbi: Vsbi): SbiExtension {
  return {
    name: 'RFENCE',
    eidStart: SBI_EXT_RFENCE,
    eidEnd: SBI_EXT_RFENCE,
    handle(call: VsbiCall): number {
      const fid = call.fid;
      if (fid !== SBI_RFENCE_REMOTE_FENCE_I && fid !== SBI_RFENCE_REMOTE_SFENCE_VMA && fid !== SBI_RFENCE_REMOTE_SFENCE_VMA_ASID) {
        // Spec: riscv-sbi-2.0 §8.4 "Function: Remote HFENCE.GVMA with VMID (FID #3)" (and §8.5-§8.7):
        // SBI_ERR_NOT_SUPPORTED when "one of the target hart doesn't support hypervisor extension".
        return call.fail(SBI_ERR_NOT_SUPPORTED);
      }
      // Spec: riscv-sbi-2.0 §8.2 "Function: Remote SFENCE.VMA (FID #1)": SBI_ERR_INVALID_ADDRESS
      // when "start_addr or size is not valid".
      if (fid !== SBI_RFENCE_REMOTE_FENCE_I && !rfenceRangeValid(call, 2, 3)) return call.fail(SBI_ERR_INVALID_ADDRESS);
      const err = vsbi.resolveHartMask(call, 0, 1);
      if (err !== SBI_SUCCESS) return call.fail(err);
      const t = vsbi.targets;
      const p = vsbi.platform;
      for (let i = 0; i < t.length; i++) {
        if (t[i] === 0 || vsbi.harts.status(i) === SBI_HSM_STATE_STOPPED) continue;
        // Spec: riscv-sbi-2.0 §8.1 "Function: Remote FENCE.I (FID #0)": "Instructs remote harts
        // to execute FENCE.I instruction."
        if (fid === SBI_RFENCE_REMOTE_FENCE_I) p.flushIcache(i);
        else p.flushTlb(i);
      }
      return VSBI_RESUME;
    },
  };
}
