// SPDX-License-Identifier: GPL-2.0-only
// SBI PMU extension (EID 0x504D55 "PMU"), minimal: two hardware counters, `cycle` and
// `instret`, that count all the time, plus the configure/start/stop bookkeeping the spec
// requires per hart. Spec: riscv-sbi-2.0 §11 "Performance Monitoring Unit Extension".
//
// Why it exists: Linux enables user-mode access to the `time` CSR (scounteren.TM) only from
// its SBI PMU driver (drivers/perf/riscv_pmu_sbi.c, when a CPU starts). Without a PMU
// extension every `rdtime` in user space (gettimeofday's vDSO, busybox `ping`) dies with
// SIGILL. KVM and OpenSBI both offer the extension; so do we.
//
// Left out, and why: no firmware counters (type 15), no cache/raw events, no overflow
// interrupts (no Sscofpmf), no snapshot memory (FID 7 says NOT_SUPPORTED, which Linux treats
// as optional), and initial values (SET_INIT_VALUE, CLEAR_VALUE) are accepted but not applied:
// the counters are the hart's free-running cycle/instret, which perf only ever uses as deltas.

import type { SbiExtension, Vsbi, VsbiCall } from './core.ts';
import {
  SBI_ERR_ALREADY_STARTED,
  SBI_ERR_ALREADY_STOPPED,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_ERR_NO_SHMEM,
  SBI_EXT_PMU,
} from './sbi-defs.ts';

// Function IDs (§11 "Function Listing").
export const SBI_PMU_NUM_COUNTERS = 0;
export const SBI_PMU_COUNTER_GET_INFO = 1;
export const SBI_PMU_COUNTER_CONFIG_MATCHING = 2;
export const SBI_PMU_COUNTER_START = 3;
export const SBI_PMU_COUNTER_STOP = 4;
export const SBI_PMU_COUNTER_FW_READ = 5;
export const SBI_PMU_COUNTER_FW_READ_HI = 6;
export const SBI_PMU_SNAPSHOT_SET_SHMEM = 7;

export const SBI_PMU_CFG_FLAG_SKIP_MATCH = 1 << 0;
export const SBI_PMU_CFG_FLAG_AUTO_START = 1 << 2;
export const SBI_PMU_START_FLAG_INIT_SNAPSHOT = 1 << 1;
export const SBI_PMU_STOP_FLAG_RESET = 1 << 0;
export const SBI_PMU_STOP_FLAG_TAKE_SNAPSHOT = 1 << 1;

/** Hardware general events (type 0) we count (§11 "Event: Hardware general events (Type #0)"). */
export const SBI_PMU_HW_CPU_CYCLES = 1;
export const SBI_PMU_HW_INSTRUCTIONS = 2;

/** Our counters: index → CSR and the hardware event it counts. */
const COUNTER_CSR = [0xc00, 0xc02]; // cycle, instret
const COUNTER_EVENT = [SBI_PMU_HW_CPU_CYCLES, SBI_PMU_HW_INSTRUCTIONS];
export const PMU_NUM_COUNTERS = COUNTER_CSR.length;
const ALL = (1 << PMU_NUM_COUNTERS) - 1;

/**
 * counter_info: CSR in bits [11:0], width - 1 in [17:12], type in bit XLEN-1 (0 = hardware).
 * Both counters are 64 bits wide.
 */
export function counterInfo(idx: number): number {
  return COUNTER_CSR[idx]! | (63 << 12);
}

export function pmuExtension(vsbi: Vsbi): SbiExtension {
  const n = vsbi.platform.hartCount;
  /** Per hart: bit i set = counter i configured (mapped to its event) / started. */
  const configured = new Uint8Array(n);
  const started = new Uint8Array(n);

  /** The counter set named by (base, mask) in a0/a1, as a bitmask, or -1 if it names an invalid counter. */
  function counterSet(call: VsbiCall): number {
    if (!call.argFitsNumber(0)) return -1;
    const base = call.argU64(0);
    if (call.argHi(1) !== 0) return -1; // a mask bit >= 32 names a counter >= 32
    const mask = call.argU32(1);
    if (mask === 0 || base >= PMU_NUM_COUNTERS) return -1;
    const set = mask * 2 ** base; // exact: base < PMU_NUM_COUNTERS
    if (set > ALL) return -1;
    return set;
  }

  return {
    name: 'PMU',
    eidStart: SBI_EXT_PMU,
    eidEnd: SBI_EXT_PMU,
    handle(call: VsbiCall): number {
      const h = call.hartIndex;
      switch (call.fid) {
        case SBI_PMU_NUM_COUNTERS:
          return call.succeed(PMU_NUM_COUNTERS);
        case SBI_PMU_COUNTER_GET_INFO: {
          if (!call.argFitsNumber(0) || call.argU64(0) >= PMU_NUM_COUNTERS) return call.fail(SBI_ERR_INVALID_PARAM);
          return call.succeed(counterInfo(call.argU64(0)));
        }
        case SBI_PMU_COUNTER_CONFIG_MATCHING: {
          const set = counterSet(call);
          if (set < 0) return call.fail(SBI_ERR_INVALID_PARAM);
          const flags = call.argU32(2);
          // event_idx: type in bits [19:16], code in [15:0]; nothing above.
          const ev = call.argU64(3);
          const type = call.argFitsNumber(3) ? Math.floor(ev / 0x10000) : -1;
          const code = ev % 0x10000;
          let pick = -1;
          for (let i = 0; i < PMU_NUM_COUNTERS; i++) {
            if (!(set & (1 << i))) continue;
            if (flags & SBI_PMU_CFG_FLAG_SKIP_MATCH) { pick = i; break; } // "unconditionally select the first counter"
            if (type === 0 && COUNTER_EVENT[i] === code && !(started[h]! & (1 << i))) { pick = i; break; }
          }
          if (pick < 0) return call.fail(SBI_ERR_NOT_SUPPORTED);
          configured[h]! |= 1 << pick;
          if (flags & SBI_PMU_CFG_FLAG_AUTO_START) started[h]! |= 1 << pick;
          return call.succeed(pick);
        }
        case SBI_PMU_COUNTER_START: {
          const set = counterSet(call);
          if (set < 0) return call.fail(SBI_ERR_INVALID_PARAM);
          if (call.argU32(2) & SBI_PMU_START_FLAG_INIT_SNAPSHOT) return call.fail(SBI_ERR_NO_SHMEM);
          if (started[h]! & set) return call.fail(SBI_ERR_ALREADY_STARTED);
          started[h]! |= set;
          configured[h]! |= set;
          return call.succeed(0);
        }
        case SBI_PMU_COUNTER_STOP: {
          const set = counterSet(call);
          if (set < 0) return call.fail(SBI_ERR_INVALID_PARAM);
          const flags = call.argU32(2);
          if (flags & SBI_PMU_STOP_FLAG_TAKE_SNAPSHOT) return call.fail(SBI_ERR_NO_SHMEM);
          const wasStopped = (started[h]! & set) !== set;
          started[h]! &= ~set;
          // A reset releases the counter's event mapping even when it was never started
          // (Linux probes each event with config_matching then stop+reset).
          if (flags & SBI_PMU_STOP_FLAG_RESET) configured[h]! &= ~set;
          return wasStopped ? call.fail(SBI_ERR_ALREADY_STOPPED) : call.succeed(0);
        }
        case SBI_PMU_COUNTER_FW_READ:
        case SBI_PMU_COUNTER_FW_READ_HI:
          // No firmware counters: every index is a hardware counter or invalid.
          return call.fail(SBI_ERR_INVALID_PARAM);
        case SBI_PMU_SNAPSHOT_SET_SHMEM:
        default:
          return call.fail(SBI_ERR_NOT_SUPPORTED);
      }
    },
  };
}
