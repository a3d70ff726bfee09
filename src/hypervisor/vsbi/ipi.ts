// SPDX-License-Identifier: GPL-2.0-only
// SBI IPI extension (EID 0x735049 "sPI"): send_ipi makes sip.SSIP pending on each hart named by
// (hart_mask, hart_mask_base). Spec: riscv-sbi-2.0 §7 "IPI Extension (EID #0x735049 "sPI: s-mode
// IPI")". A STOPPED hart is skipped (it has no S-mode context to interrupt; a started hart begins
// with interrupts off anyway), but its id is valid, so the call still succeeds.

import type { SbiExtension, Vsbi, VsbiCall } from './core.ts';
import { VSBI_RESUME } from './outcome.ts';
import { SBI_ERR_NOT_SUPPORTED, SBI_EXT_IPI, SBI_HSM_STATE_STOPPED, SBI_IPI_SEND_IPI, SBI_SUCCESS } from './sbi-defs.ts';

export function ipiExtension(vsbi: Vsbi): SbiExtension {
  return {
    name: 'IPI',
    eidStart: SBI_EXT_IPI,
    eidEnd: SBI_EXT_IPI,
    handle(call: VsbiCall): number {
      if (call.fid !== SBI_IPI_SEND_IPI) return call.fail(SBI_ERR_NOT_SUPPORTED);
      // Spec: riscv-sbi-2.0 §7.1 "Function: Send IPI (FID #0)": "Interprocessor interrupts
      // manifest at the receiving harts as the supervisor software interrupts."
      const err = vsbi.resolveHartMask(call, 0, 1);
      if (err !== SBI_SUCCESS) return call.fail(err);
      const t = vsbi.targets;
      for (let i = 0; i < t.length; i++) {
        if (t[i] !== 0 && vsbi.harts.status(i) !== SBI_HSM_STATE_STOPPED) vsbi.platform.sendIpi(i);
      }
      return VSBI_RESUME;
    },
  };
}
