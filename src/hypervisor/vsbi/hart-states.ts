// SPDX-License-Identifier: GPL-2.0-only
// The HSM state machine of every hart of one machine/domain, in an Int32Array that may live in
// shared memory: transitions are compare-and-swap, so two harts racing to start a third (from
// different pCPU threads) see exactly one winner. Spec: riscv-sbi-2.0 §9 "Hart State Management
// Extension (EID #0x48534D "HSM")". Register state is only ever written by the hart's own runner
// (prepareToRun), never by the hart that asked for the change.
//
//   from            to               by                         reason
//   STOPPED         START_PENDING    hart_start (another hart)  entry pc/opaque recorded first
//   START_PENDING   STARTED          prepareToRun (own runner)  pc = start_addr, a0 = hartid, a1 = opaque, S, satp = 0, SIE = 0
//   STARTED         STOP_PENDING     hart_stop (itself)
//   STOP_PENDING    STOPPED          hart_stop (same call)      nothing left to wait for in an emulated hart
//   STARTED         SUSPEND_PENDING  hart_suspend (itself)
//   SUSPEND_PENDING SUSPENDED        hart_suspend (same call)
//   SUSPENDED       RESUME_PENDING   prepareToRun               an interrupt is pending (sip & sie)
//   RESUME_PENDING  STARTED          prepareToRun (same call)   non-retentive: entry registers as for start
//   STARTED         STOPPED          system_suspend (caller)    every other hart is STOPPED; resumes via START_PENDING
//
// Layout: state[i] = the spec's state id (0-6) | CLAIMED (0x100) while a starter is writing
// the entry slot. slot[5i..5i+4] = entry pc lo, pc hi, opaque lo, opaque hi, retentive (1/0).

import {
  SBI_HSM_STATE_RESUME_PENDING,
  SBI_HSM_STATE_START_PENDING,
  SBI_HSM_STATE_STARTED,
  SBI_HSM_STATE_STOP_PENDING,
  SBI_HSM_STATE_STOPPED,
  SBI_HSM_STATE_SUSPEND_PENDING,
  SBI_HSM_STATE_SUSPENDED,
} from './sbi-defs.ts';
import type { VsbiPlatform } from './platform.ts';

/** Set in a state word while the hart that won the STOPPED -> START_PENDING race fills the slot. */
const CLAIMED = 0x100;
const SLOT = 5;
const A0 = 20;
const A1 = 22;
const TWO32 = 4294967296;

export class HartStates {
  readonly state: Int32Array;
  readonly slot: Int32Array;
  /** The hart that suspended the system (SUSP), or -1. */
  private systemSuspender = -1;

  /** Int32 words a shared buffer for `count` harts needs (state words, then entry slots). */
  static wordsFor(count: number): number {
    return count * (1 + SLOT);
  }

  /**
   * `buffer`, if given, holds wordsFor(count) words (e.g. a view of shared memory so other
   * pCPU threads see the same states); otherwise private memory is used. The boot hart starts
   * STARTED, all others STOPPED (the guest starts them with hart_start).
   */
  constructor(readonly count: number, bootHart: number, buffer?: Int32Array) {
    const words = HartStates.wordsFor(count);
    if (buffer !== undefined && buffer.length < words) {
      throw new RangeError(`HSM state buffer holds ${buffer.length} words, need ${words}`);
    }
    const b = buffer ?? new Int32Array(words);
    this.state = b.subarray(0, count);
    this.slot = b.subarray(count, words);
    for (let i = 0; i < count; i++) {
      Atomics.store(this.state, i, i === bootHart ? SBI_HSM_STATE_STARTED : SBI_HSM_STATE_STOPPED);
    }
  }

  /** The spec's state id for hart `i` (what hart_get_status returns). */
  status(i: number): number {
    const s = Atomics.load(this.state, i);
    return s & CLAIMED ? SBI_HSM_STATE_START_PENDING : s;
  }

  /**
   * STOPPED -> START_PENDING with entry (pc, opaque). Returns false when the hart was not
   * STOPPED (another hart won the race, or it is running).
   */
  requestStart(i: number, pc: number, opaqueLo: number, opaqueHi: number): boolean {
    if (Atomics.compareExchange(this.state, i, SBI_HSM_STATE_STOPPED, SBI_HSM_STATE_START_PENDING | CLAIMED) !== SBI_HSM_STATE_STOPPED) {
      return false;
    }
    this.writeSlot(i, pc, opaqueLo, opaqueHi, 0);
    Atomics.store(this.state, i, SBI_HSM_STATE_START_PENDING);
    return true;
  }

  /** STARTED -> STOP_PENDING -> STOPPED for the calling hart. False if it was not STARTED. */
  stop(i: number): boolean {
    if (Atomics.compareExchange(this.state, i, SBI_HSM_STATE_STARTED, SBI_HSM_STATE_STOP_PENDING) !== SBI_HSM_STATE_STARTED) {
      return false;
    }
    Atomics.store(this.state, i, SBI_HSM_STATE_STOPPED);
    return true;
  }

  /**
   * STARTED -> SUSPEND_PENDING -> SUSPENDED for the calling hart. `retentive` false records the
   * resume entry (pc, opaque) for a non-retentive suspend.
   */
  suspend(i: number, retentive: boolean, pc: number, opaqueLo: number, opaqueHi: number): boolean {
    if (Atomics.compareExchange(this.state, i, SBI_HSM_STATE_STARTED, SBI_HSM_STATE_SUSPEND_PENDING) !== SBI_HSM_STATE_STARTED) {
      return false;
    }
    this.writeSlot(i, pc, opaqueLo, opaqueHi, retentive ? 1 : 0);
    Atomics.store(this.state, i, SBI_HSM_STATE_SUSPENDED);
    return true;
  }

  /** True when every hart except `caller` is STOPPED (the SUSPEND_TO_RAM entry criterion). */
  othersStopped(caller: number): boolean {
    for (let i = 0; i < this.count; i++) {
      if (i !== caller && Atomics.load(this.state, i) !== SBI_HSM_STATE_STOPPED) return false;
    }
    return true;
  }

  /** SUSP: the caller goes STARTED -> STOPPED, to resume at (pc, opaque) on systemResume(). */
  systemSuspend(caller: number, pc: number, opaqueLo: number, opaqueHi: number): boolean {
    if (Atomics.compareExchange(this.state, caller, SBI_HSM_STATE_STARTED, SBI_HSM_STATE_STOPPED) !== SBI_HSM_STATE_STARTED) {
      return false;
    }
    this.writeSlot(caller, pc, opaqueLo, opaqueHi, 0);
    this.systemSuspender = caller;
    return true;
  }

  /** Undo systemSuspend() when the platform refused: the caller is STARTED again. */
  cancelSystemSuspend(caller: number): void {
    Atomics.store(this.state, caller, SBI_HSM_STATE_STARTED);
    this.systemSuspender = -1;
  }

  /** Wake the system: the suspending hart goes STOPPED -> START_PENDING with its resume entry. Returns it, or -1. */
  systemResume(): number {
    const i = this.systemSuspender;
    if (i < 0) return -1;
    this.systemSuspender = -1;
    if (Atomics.compareExchange(this.state, i, SBI_HSM_STATE_STOPPED, SBI_HSM_STATE_START_PENDING) !== SBI_HSM_STATE_STOPPED) {
      return -1;
    }
    return i;
  }

  /** The states and entry slots as plain data (part of the vSBI's save record). */
  save(): { words: number[]; systemSuspender: number } {
    const words: number[] = [];
    for (let i = 0; i < this.count; i++) words.push(Atomics.load(this.state, i));
    for (let i = 0; i < this.slot.length; i++) words.push(this.slot[i]!);
    return { words, systemSuspender: this.systemSuspender };
  }

  /**
   * Load a saved record for the same hart count. Returns an error message (and changes
   * nothing) if the record does not fit: a state that is no HSM state, or a wrong length.
   */
  restore(r: { words: readonly number[]; systemSuspender: number }): string | undefined {
    const n = this.count;
    if (!Array.isArray(r.words) || r.words.length !== HartStates.wordsFor(n)) return `HSM record has ${r.words?.length} words, expected ${HartStates.wordsFor(n)}`;
    for (let i = 0; i < n; i++) {
      const st = r.words[i];
      // Only the states a hart rests in; *_PENDING states other than START_PENDING exist only
      // inside one SBI call.
      if (st !== SBI_HSM_STATE_STARTED && st !== SBI_HSM_STATE_STOPPED && st !== SBI_HSM_STATE_START_PENDING && st !== SBI_HSM_STATE_SUSPENDED) {
        return `HSM record: hart ${i} has state ${st}`;
      }
    }
    if (!Number.isInteger(r.systemSuspender) || r.systemSuspender < -1 || r.systemSuspender >= n) return `HSM record: bad system suspender ${r.systemSuspender}`;
    for (let i = 0; i < this.slot.length; i++) this.slot[i] = r.words[n + i]! | 0;
    for (let i = 0; i < n; i++) Atomics.store(this.state, i, r.words[i]!);
    this.systemSuspender = r.systemSuspender;
    return undefined;
  }

  /** See Vsbi.prepareToRun. */
  prepareToRun(i: number, platform: VsbiPlatform): boolean {
    const s = Atomics.load(this.state, i);
    if (s === SBI_HSM_STATE_STARTED) return true;
    if (s === SBI_HSM_STATE_START_PENDING) {
      this.enter(i, platform);
      Atomics.store(this.state, i, SBI_HSM_STATE_STARTED);
      return true;
    }
    if (s === SBI_HSM_STATE_SUSPENDED) {
      if (!platform.interruptPending(i)) return false;
      Atomics.store(this.state, i, SBI_HSM_STATE_RESUME_PENDING);
      // Retentive: the suspend call already returned SBI_SUCCESS (a0) with pc past the ecall.
      if (this.slot[i * SLOT + 4] === 0) this.enter(i, platform);
      Atomics.store(this.state, i, SBI_HSM_STATE_STARTED);
      return true;
    }
    return false;
  }

  /** Put hart i at its recorded entry: pc, a0 = hartid, a1 = opaque, S-mode, satp = 0, SIE = 0. */
  private enter(i: number, platform: VsbiPlatform): void {
    const b = i * SLOT;
    const slot = this.slot;
    const hart = platform.hart(i);
    hart.enterSupervisor((slot[b + 1]! >>> 0) * TWO32 + (slot[b]! >>> 0));
    const x = hart.x;
    x[A0] = i;
    x[A0 + 1] = 0;
    x[A1] = slot[b + 2]!;
    x[A1 + 1] = slot[b + 3]!;
    platform.flushTlb(i);
    platform.flushIcache(i);
  }

  private writeSlot(i: number, pc: number, opaqueLo: number, opaqueHi: number, retentive: number): void {
    const b = i * SLOT;
    this.slot[b] = pc % TWO32 | 0;
    this.slot[b + 1] = Math.floor(pc / TWO32) | 0;
    this.slot[b + 2] = opaqueLo;
    this.slot[b + 3] = opaqueHi;
    this.slot[b + 4] = retentive;
  }
}
