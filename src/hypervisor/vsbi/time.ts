// SPDX-License-Identifier: GPL-2.0-only
// SBI Timer extension (EID 0x54494D45 "TIME"): set_timer programs the calling vCPU's supervisor
// timer through the platform (stimecmp on a bare board, the vCPU's vtimer under the
// hypervisor). Spec: riscv-sbi-2.0 §6 "Timer Extension (EID #0x54494D45 "TIME")". Guests that
// find Sstc in the device tree program stimecmp directly and never call this.

import type { SbiExtension, Vsbi, VsbiCall } from './core.ts';
import { VSBI_RESUME } from './outcome.ts';
import { SBI_ERR_NOT_SUPPORTED, SBI_EXT_TIME, SBI_TIME_SET_TIMER } from './sbi-defs.ts';

export function timeExtension(vsbi: Vsbi): SbiExtension {
  return {
    name: 'TIME',
    eidStart: SBI_EXT_TIME,
    eidEnd: SBI_EXT_TIME,
    handle(call: VsbiCall): number {
      if (call.fid !== SBI_TIME_SET_TIMER) return call.fail(SBI_ERR_NOT_SUPPORTED);
      // Spec: riscv-sbi-2.0 §6.1 "Function: Set Timer (FID #0)": "Programs the clock for next
      // event after stime_value time. stime_value is in absolute time. This function must
      // clear the pending timer interrupt bit as well." (uint64_t)-1 is "infinitely far into
      // the future". Times at or beyond 2^53 ticks (28 years at 10 MHz) are treated as never,
      // which keeps them exact as JS numbers.
      const when = call.argFitsNumber(0) ? call.argU64(0) : Infinity;
      vsbi.platform.setTimer(call.hartIndex, when);
      return VSBI_RESUME;
    },
  };
}
