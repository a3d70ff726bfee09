// SPDX-License-Identifier: GPL-2.0-only
// SBI System Suspend extension (EID 0x53555350 "SUSP"): SUSPEND_TO_RAM of the whole machine or
// domain. Offered only when the platform implements systemSuspend(), because "The
// SUSPEND_TO_RAM sleep type is the one exception, and its presence is implied by that of the
// extension". Spec: riscv-sbi-2.0 §13 "System Suspend Extension (EID #0x53555350 "SUSP")".
// Platform-specific sleep types are not implemented.

import type { SbiExtension, Vsbi, VsbiCall } from './core.ts';
import { entryAddress } from './entry-address.ts';
import { VSBI_SYSTEM_SUSPENDED } from './outcome.ts';
import {
  SBI_ERR_DENIED,
  SBI_ERR_FAILED,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_SUSP,
  SBI_SUSP_SLEEP_TYPE_SUSPEND_TO_RAM,
  SBI_SUSP_SYSTEM_SUSPEND,
} from './sbi-defs.ts';

export function suspExtension(vsbi: Vsbi): SbiExtension {
  return {
    name: 'SUSP',
    eidStart: SBI_EXT_SUSP,
    eidEnd: SBI_EXT_SUSP,
    handle(call: VsbiCall): number {
      if (call.fid !== SBI_SUSP_SYSTEM_SUSPEND) return call.fail(SBI_ERR_NOT_SUPPORTED);
      const p = vsbi.platform;
      // Spec: riscv-sbi-2.0 §13.1 "Function: System Suspend (FID #0)"
      // "SBI_ERR_INVALID_PARAM: sleep_type is reserved or is platform-specific and unimplemented."
      if (call.argU32(0) !== SBI_SUSP_SLEEP_TYPE_SUSPEND_TO_RAM || p.systemSuspend === undefined) {
        return call.fail(SBI_ERR_INVALID_PARAM);
      }
      // "SBI_ERR_INVALID_ADDRESS: resume_addr is not valid"
      const pc = entryAddress(p, call, 1);
      if (pc < 0) return call.fail(SBI_ERR_INVALID_ADDRESS);
      // SUSPEND_TO_RAM: "Entry requires all but the calling hart be in the HSM STOPPED state";
      // "SBI_ERR_DENIED: The suspend request failed due to unsatisfied entry criteria."
      if (!vsbi.harts.othersStopped(call.hartIndex)) return call.fail(SBI_ERR_DENIED);
      // "A successful suspend and wake up, results in the hart which initiated the suspend,
      // resuming from the STOPPED state" at resume_addr with a0 = hartid, a1 = opaque.
      if (!vsbi.harts.systemSuspend(call.hartIndex, pc, call.argLo(2), call.argHi(2))) return call.fail(SBI_ERR_FAILED);
      if (!p.systemSuspend(call.hartIndex)) {
        vsbi.harts.cancelSystemSuspend(call.hartIndex);
        return call.fail(SBI_ERR_FAILED);
      }
      p.hart(call.hartIndex).stop();
      call.complete = false;
      return VSBI_SYSTEM_SUSPENDED;
    },
  };
}
