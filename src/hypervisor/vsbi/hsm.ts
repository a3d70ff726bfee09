// SPDX-License-Identifier: GPL-2.0-only
// SBI Hart State Management extension (EID 0x48534D "HSM"): hart_start, hart_stop,
// hart_get_status and hart_suspend (default retentive and default non-retentive) over the state
// machine in hart-states.ts. Spec: riscv-sbi-2.0 §9 "Hart State Management Extension (EID
// #0x48534D "HSM")". Platform-specific suspend types are not implemented (SBI_ERR_INVALID_PARAM).

import type { SbiExtension, Vsbi, VsbiCall } from './core.ts';
import { entryAddress } from './entry-address.ts';
import { VSBI_HART_STOPPED, VSBI_HART_SUSPENDED, VSBI_RESUME } from './outcome.ts';
import {
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_FAILED,
  SBI_ERR_INVALID_ADDRESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_HSM,
  SBI_HSM_HART_GET_STATUS,
  SBI_HSM_HART_START,
  SBI_HSM_HART_STOP,
  SBI_HSM_HART_SUSPEND,
  SBI_HSM_STATE_STOPPED,
  SBI_HSM_SUSPEND_NON_RET_DEFAULT,
  SBI_HSM_SUSPEND_RET_DEFAULT,
} from './sbi-defs.ts';

/** a<n> as a hart id of this machine, or -1 if it names none. */
export function hartIdArg(vsbi: Vsbi, call: VsbiCall, n: number): number {
  if (call.argHi(n) !== 0) return -1;
  const id = call.argU32(n);
  return id < vsbi.harts.count ? id : -1;
}

export function hsmExtension(vsbi: Vsbi): SbiExtension {
  const harts = vsbi.harts;
  const platform = vsbi.platform;
  return {
    name: 'HSM',
    eidStart: SBI_EXT_HSM,
    eidEnd: SBI_EXT_HSM,
    handle(call: VsbiCall): number {
      switch (call.fid) {
        // Spec: riscv-sbi-2.0 §9.1 "Function: Hart start (FID #0)"
        case SBI_HSM_HART_START: {
          const id = hartIdArg(vsbi, call, 0);
          // "SBI_ERR_INVALID_PARAM: hartid is not a valid hartid as the corresponding hart
          // cannot be started in supervisor mode."
          if (id < 0) return call.fail(SBI_ERR_INVALID_PARAM);
          // "SBI_ERR_ALREADY_AVAILABLE: The given hartid is already started." Every state but
          // STOPPED means the hart is (becoming) available.
          if (harts.status(id) !== SBI_HSM_STATE_STOPPED) return call.fail(SBI_ERR_ALREADY_AVAILABLE);
          const pc = entryAddress(platform, call, 1);
          if (pc < 0) return call.fail(SBI_ERR_INVALID_ADDRESS);
          // The compare-and-swap decides races between harts starting the same target.
          if (!harts.requestStart(id, pc, call.argLo(2), call.argHi(2))) return call.fail(SBI_ERR_ALREADY_AVAILABLE);
          // "This call is asynchronous": the target's own runner applies the entry state in
          // prepareToRun(); its status reads START_PENDING until then.
          platform.hartRunnable?.(id);
          return VSBI_RESUME;
        }
        // Spec: riscv-sbi-2.0 §9.2 "Function: Hart stop (FID #1)": "This call is not expected to
        // return under normal conditions."; SBI_ERR_FAILED if the hart could not be stopped.
        case SBI_HSM_HART_STOP:
          if (!harts.stop(call.hartIndex)) return call.fail(SBI_ERR_FAILED);
          platform.hart(call.hartIndex).stop();
          call.complete = false;
          return VSBI_HART_STOPPED;
        // Spec: riscv-sbi-2.0 §9.3 "Function: Hart get status (FID #2)"
        case SBI_HSM_HART_GET_STATUS: {
          const id = hartIdArg(vsbi, call, 0);
          if (id < 0) return call.fail(SBI_ERR_INVALID_PARAM);
          call.setValue(harts.status(id));
          return VSBI_RESUME;
        }
        // Spec: riscv-sbi-2.0 §9.4 "Function: Hart suspend (FID #3)"
        case SBI_HSM_HART_SUSPEND: {
          const type = call.argU32(0);
          if (type === SBI_HSM_SUSPEND_RET_DEFAULT) {
            // "Resuming from a retentive suspend state is straight forward and the
            // supervisor-mode software will see SBI suspend call return without any failures."
            // The call returns SBI_SUCCESS now; the hart sleeps until an interrupt is pending.
            if (!harts.suspend(call.hartIndex, true, 0, 0, 0)) return call.fail(SBI_ERR_FAILED);
            return VSBI_HART_SUSPENDED;
          }
          if (type === SBI_HSM_SUSPEND_NON_RET_DEFAULT) {
            // "the hart will jump to supervisor-mode at address specified by resume_addr" with
            // satp = 0, sstatus.SIE = 0, a0 = hartid, a1 = opaque.
            const pc = entryAddress(platform, call, 1);
            if (pc < 0) return call.fail(SBI_ERR_INVALID_ADDRESS);
            if (!harts.suspend(call.hartIndex, false, pc, call.argLo(2), call.argHi(2))) return call.fail(SBI_ERR_FAILED);
            call.complete = false;
            return VSBI_HART_SUSPENDED;
          }
          // "SBI_ERR_INVALID_PARAM: suspend_type is reserved or is platform-specific and
          // unimplemented."
          return call.fail(SBI_ERR_INVALID_PARAM);
        }
        default:
          return call.fail(SBI_ERR_NOT_SUPPORTED);
      }
    },
  };
}
