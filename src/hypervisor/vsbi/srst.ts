// SPDX-License-Identifier: GPL-2.0-only
// SBI System Reset extension (EID 0x53525354 "SRST"): shutdown, cold reboot and warm reboot of
// the machine (or domain), handed to the platform. Spec: riscv-sbi-2.0 §10 "System Reset
// Extension (EID #0x53525354 "SRST")". No vendor-specific reset types or reasons are implemented.

import type { SbiExtension, Vsbi, VsbiCall } from './core.ts';
import { VSBI_SYSTEM_RESET } from './outcome.ts';
import {
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_SRST,
  SBI_SRST_RESET_REASON_SYSFAIL,
  SBI_SRST_RESET_TYPE_WARM_REBOOT,
  SBI_SRST_SYSTEM_RESET,
} from './sbi-defs.ts';

export function srstExtension(vsbi: Vsbi): SbiExtension {
  return {
    name: 'SRST',
    eidStart: SBI_EXT_SRST,
    eidEnd: SBI_EXT_SRST,
    handle(call: VsbiCall): number {
      if (call.fid !== SBI_SRST_SYSTEM_RESET) return call.fail(SBI_ERR_NOT_SUPPORTED);
      // Spec: riscv-sbi-2.0 §10.1 "Function: System reset (FID #0)": reset_type and
      // reset_reason are uint32_t ("higher privilege software must ensure that it only uses
      // 32 bit data", §3 "Binary Encoding"). Types 0-2 and reasons 0-1 are defined; the rest
      // are "reserved or ... platform-specific and unimplemented": SBI_ERR_INVALID_PARAM.
      const type = call.argU32(0);
      const reason = call.argU32(1);
      if (type > SBI_SRST_RESET_TYPE_WARM_REBOOT || reason > SBI_SRST_RESET_REASON_SYSFAIL) {
        return call.fail(SBI_ERR_INVALID_PARAM);
      }
      // "This is a synchronous call and does not return if it succeeds."
      if (!vsbi.platform.systemReset(call.hartIndex, type, reason)) return call.fail(SBI_ERR_NOT_SUPPORTED);
      call.complete = false;
      return VSBI_SYSTEM_RESET;
    },
  };
}
