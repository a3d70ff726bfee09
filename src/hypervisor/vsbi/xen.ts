// SPDX-License-Identifier: GPL-2.0-only
// The Xen hypercall extension: EID 0x0A000007, the firmware-specific EID that belongs to SBI
// implementation ID 7 ("Xen Project"). a6 = hypercall number (xen.h numbering), a0-a5 =
// arguments, result in a0 (a1 preserved). The vSBI only routes the call: the hypervisor core
// supplies platform.hypercall (docs/abi.md). Without it the extension is absent (probe 0).
// Spec: riscv-sbi-2.0 §19 "Firmware Specific Extension Space (EIDs #0x0A000000 - #0x0AFFFFFF)"

import type { SbiExtension, VsbiCall } from './core.ts';
import { VSBI_RESUME } from './outcome.ts';
import { SBI_EXT_XEN } from './sbi-defs.ts';

const TWO32 = 4294967296;

export function xenExtension(hypercall: (call: VsbiCall) => number): SbiExtension {
  return {
    name: 'XEN',
    eidStart: SBI_EXT_XEN,
    eidEnd: SBI_EXT_XEN,
    handle(call: VsbiCall): number {
      const r = hypercall(call);
      // The result is one 64-bit value (a Xen -errno or a value) for a0; a1 keeps its value.
      call.a0Only = true;
      call.error = r % TWO32 | 0;
      call.valueHi = Math.floor(r / TWO32) | 0;
      return VSBI_RESUME;
    },
  };
}
