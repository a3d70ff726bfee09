// SPDX-License-Identifier: GPL-2.0-only
// SBI Base extension (EID 0x10): spec version 2.0, implementation "Xen Project" (7), probing.
// Spec: riscv-sbi-2.0 §4 "Base Extension (EID #0x10)". mvendorid, marchid and mimpid report 0,
// the value the spec says is always legal: a vCPU is no particular silicon.

import type { SbiExtension, Vsbi, VsbiCall } from './core.ts';
import { VSBI_RESUME } from './outcome.ts';
import {
  SBI_BASE_GET_IMPL_ID,
  SBI_BASE_GET_IMPL_VERSION,
  SBI_BASE_GET_MARCHID,
  SBI_BASE_GET_MIMPID,
  SBI_BASE_GET_MVENDORID,
  SBI_BASE_GET_SPEC_VERSION,
  SBI_BASE_PROBE_EXTENSION,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_BASE,
  SBI_IMPL_ID_XEN,
  SBI_SPEC_VERSION,
  VSBI_IMPL_VERSION,
} from './sbi-defs.ts';

export function baseExtension(vsbi: Vsbi): SbiExtension {
  return {
    name: 'BASE',
    eidStart: SBI_EXT_BASE,
    eidEnd: SBI_EXT_BASE,
    handle(call: VsbiCall): number {
      switch (call.fid) {
        // Spec: riscv-sbi-2.0 §4.1 "Function: Get SBI specification version (FID #0)"
        case SBI_BASE_GET_SPEC_VERSION:
          call.setValue(SBI_SPEC_VERSION);
          return VSBI_RESUME;
        // Spec: riscv-sbi-2.0 §4.2 "Function: Get SBI implementation ID (FID #1)"
        case SBI_BASE_GET_IMPL_ID:
          call.setValue(SBI_IMPL_ID_XEN);
          return VSBI_RESUME;
        // Spec: riscv-sbi-2.0 §4.3 "Function: Get SBI implementation version (FID #2)"
        case SBI_BASE_GET_IMPL_VERSION:
          call.setValue(VSBI_IMPL_VERSION);
          return VSBI_RESUME;
        // Spec: riscv-sbi-2.0 §4.4 "Function: Probe SBI extension (FID #3)": "Returns 0 if the
        // given SBI extension ID (EID) is not available, or 1 if it is available unless defined
        // as any other non-zero value by the implementation." An a0 that is no sign-extended
        // 32-bit value is no EID, so it is not available.
        case SBI_BASE_PROBE_EXTENSION: {
          const lo = call.argLo(0);
          call.setValue(call.argHi(0) === lo >> 31 ? vsbi.registry.probe(lo) : 0);
          return VSBI_RESUME;
        }
        // Spec: riscv-sbi-2.0 §4.5 "Function: Get machine vendor ID (FID #4)" (and §4.6, §4.7):
        // "0 is always a legal value for this CSR."
        case SBI_BASE_GET_MVENDORID:
        case SBI_BASE_GET_MARCHID:
        case SBI_BASE_GET_MIMPID:
          call.setValue(0);
          return VSBI_RESUME;
        default:
          return call.fail(SBI_ERR_NOT_SUPPORTED);
      }
    },
  };
}
