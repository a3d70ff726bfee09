// SPDX-License-Identifier: GPL-2.0-only
// The vSBI core: the registry of SBI extensions (EID ranges -> handler, overlaps rejected) and
// the dispatch of one `ecall` from guest S-mode (a7 = EID, a6 = FID, a0-a5 = arguments; error
// in a0, value in a1; pc past the ecall). Follows riscv-sbi-2.0 §3 "Binary Encoding"; the
// extensions live one per file beside this one. No allocation per call: one VsbiCall is reused.

import {
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_SUCCESS,
} from './sbi-defs.ts';
import { HartStates } from './hart-states.ts';
import { VSBI_RESUME } from './outcome.ts';
import type { VsbiPlatform } from './platform.ts';

// Register file indices (hart contract: x[i] low word at 2i, high word at 2i+1).
const A0 = 20;
const A1 = 22;
const A6 = 32;
const A7 = 34;

/** 2^32 as a number, for assembling 64-bit values from two 32-bit words. */
const TWO32 = 4294967296;

/**
 * One SBI call in flight: the arguments as the guest passed them and the result the handler
 * produces. Handlers read a0-a5 through arg*(n) (n = 0..5) and set `error` and the value.
 */
export class VsbiCall {
  hartIndex = 0;
  /** The EID (a7) as a signed 32-bit integer. */
  eid = 0;
  /** The FID (a6) as a signed 32-bit integer; -1 if a6 was not a sign-extended 32-bit value. */
  fid = 0;
  /** The calling hart's register file. */
  x: Int32Array = new Int32Array(64);
  /** SBI error code for a0 (SBI_SUCCESS or SBI_ERR_*). */
  error = SBI_SUCCESS;
  /** sbiret.value for a1, as two 32-bit words. */
  valueLo = 0;
  valueHi = 0;
  /** When false the handler has taken care of a0/a1/pc itself (hart start/stop, resume paths). */
  complete = true;
  /** When true only a0 is written (the Xen hypercall ABI returns one value and preserves a1). */
  a0Only = false;
  /** A VSBI_* outcome a handler can set instead of returning it (platform hypercall hook). */
  outcome = VSBI_RESUME;

  /** Low 32 bits of argument register a<n>, signed. */
  argLo(n: number): number {
    return this.x[A0 + 2 * n]!;
  }
  /** High 32 bits of argument register a<n>, signed. */
  argHi(n: number): number {
    return this.x[A0 + 2 * n + 1]!;
  }
  /** Low 32 bits of a<n> as unsigned (for uint32_t parameters: the upper half is ignored). */
  argU32(n: number): number {
    return this.x[A0 + 2 * n]! >>> 0;
  }
  /**
   * a<n> as an unsigned 64-bit number: exact below 2^53; callers that need exactness check
   * argFitsNumber(n) first.
   */
  argU64(n: number): number {
    return (this.x[A0 + 2 * n + 1]! >>> 0) * TWO32 + (this.x[A0 + 2 * n]! >>> 0);
  }
  /** True when a<n> (unsigned) is below 2^53 and so exact as a JS number. */
  argFitsNumber(n: number): boolean {
    return this.x[A0 + 2 * n + 1]! >>> 0 < 0x200000;
  }
  /** True when a<n> is all ones (-1, i.e. 2^XLEN - 1). */
  argIsAllOnes(n: number): boolean {
    return (this.x[A0 + 2 * n]! & this.x[A0 + 2 * n + 1]!) === -1;
  }
  /** True when a<n> is zero. */
  argIsZero(n: number): boolean {
    return (this.x[A0 + 2 * n]! | this.x[A0 + 2 * n + 1]!) === 0;
  }

  /** sbiret.value = v, an integer in (-2^53, 2^53) (sign-extended to 64 bits). */
  setValue(v: number): void {
    const lo = v % TWO32;
    this.valueLo = lo | 0;
    this.valueHi = Math.floor(v / TWO32) | 0;
  }
  /** sbiret = { SBI_SUCCESS, v }. Returns VSBI_RESUME. */
  succeed(v: number): number {
    this.error = SBI_SUCCESS;
    this.setValue(v);
    return VSBI_RESUME;
  }
  /** sbiret = { error, 0 }. Returns VSBI_RESUME so handlers can `return call.fail(...)`. */
  fail(error: number): number {
    this.error = error;
    this.valueLo = 0;
    this.valueHi = 0;
    return VSBI_RESUME;
  }
}

/** One SBI extension: a contiguous EID range and its handler. */
export interface SbiExtension {
  readonly name: string;
  /** First and last EID served (inclusive, signed 32-bit). Most extensions serve one EID. */
  readonly eidStart: number;
  readonly eidEnd: number;
  /** sbi_probe_extension's value for `eid` (default 1; 0 hides the extension). */
  probe?(eid: number): number;
  /** Handle call.fid, fill in call.error / value; return a VSBI_* outcome. Must never throw for guest input. */
  handle(call: VsbiCall): number;
}

/** Thrown when a programming error registers overlapping EID ranges (never caused by a guest). */
export class VsbiRegistrationError extends Error {
  override name = 'VsbiRegistrationError';
}

/** Version of the VsbiState record. */
export const VSBI_STATE_VERSION = 1;

/** The vSBI's save record: plain JSON-able data. */
export interface VsbiState {
  version: number;
  hartCount: number;
  hsm: { words: number[]; systemSuspender: number };
}

/** A save record that does not fit (wrong version, hart count or contents). */
export class VsbiStateError extends Error {
  override name = 'VsbiStateError';
}

/** The registry: sorted, non-overlapping EID ranges. */
export class SbiRegistry {
  private readonly exts: SbiExtension[] = [];

  register(ext: SbiExtension): void {
    const { eidStart: s, eidEnd: e } = ext;
    if (!Number.isInteger(s) || !Number.isInteger(e) || s > e || s < -0x80000000 || e > 0x7fffffff) {
      throw new VsbiRegistrationError(`SBI extension ${ext.name}: bad EID range ${s}..${e}`);
    }
    for (const o of this.exts) {
      if (s <= o.eidEnd && o.eidStart <= e) {
        throw new VsbiRegistrationError(
          `SBI extension ${ext.name} (EIDs 0x${(s >>> 0).toString(16)}-0x${(e >>> 0).toString(16)}) overlaps ${o.name}`,
        );
      }
    }
    this.exts.push(ext);
    this.exts.sort((a, b) => a.eidStart - b.eidStart);
  }

  /** The extension serving `eid`, or undefined. */
  find(eid: number): SbiExtension | undefined {
    const exts = this.exts;
    for (let i = 0; i < exts.length; i++) {
      const x = exts[i]!;
      if (eid < x.eidStart) return undefined;
      if (eid <= x.eidEnd) return x;
    }
    return undefined;
  }

  /** sbi_probe_extension(eid): 0 if absent, else the extension's probe value (default 1). */
  probe(eid: number): number {
    const ext = this.find(eid);
    if (ext === undefined) return 0;
    return ext.probe ? ext.probe(eid) : 1;
  }

  get extensions(): readonly SbiExtension[] {
    return this.exts;
  }
}

/**
 * The vSBI of one machine or domain. The runner calls handleEcall(i) when hart i's step()
 * returns EXIT_ECALL, and prepareToRun(i) before stepping a hart that may be stopped or
 * suspended (cheap for a running hart: one array read).
 */
export class Vsbi {
  readonly registry = new SbiRegistry();
  readonly harts: HartStates;
  private readonly call = new VsbiCall();
  /** Per-hart target set filled by resolveHartMask (hart indices with a 1). */
  readonly targets: Uint8Array;

  constructor(
    readonly platform: VsbiPlatform,
    options: { bootHart?: number; hsmBuffer?: Int32Array } = {},
  ) {
    this.harts = new HartStates(platform.hartCount, options.bootHart ?? 0, options.hsmBuffer);
    this.targets = new Uint8Array(platform.hartCount);
  }

  register(ext: SbiExtension): this {
    this.registry.register(ext);
    return this;
  }

  /**
   * Dispatch the SBI call hart `hartIndex` just made (its step() returned EXIT_ECALL, pc at the
   * ecall). Writes a0 (error) and a1 (value), moves pc past the ecall, and returns a VSBI_*
   * outcome. Any register values are accepted: unknown EIDs/FIDs get SBI_ERR_NOT_SUPPORTED.
   */
  handleEcall(hartIndex: number): number {
    const hart = this.platform.hart(hartIndex);
    const x = hart.x;
    const call = this.call;
    call.hartIndex = hartIndex;
    call.x = x;
    call.error = SBI_SUCCESS;
    call.valueLo = 0;
    call.valueHi = 0;
    call.complete = true;
    call.a0Only = false;
    call.outcome = VSBI_RESUME;

    // Spec: riscv-sbi-2.0 §3 "Binary Encoding": "SBI extension IDs (EIDs) and SBI function IDs
    // (FIDs) are encoded as signed 32-bit integers. When passed in registers these follow the
    // standard above calling convention rules." A register that is not the sign extension of
    // its low word is no valid EID (or FID).
    const eidLo = x[A7]!;
    const fidLo = x[A6]!;
    call.eid = eidLo;
    call.fid = x[A6 + 1] === fidLo >> 31 ? fidLo : -1;
    let outcome = VSBI_RESUME;
    const ext = x[A7 + 1] === eidLo >> 31 ? this.registry.find(eidLo) : undefined;
    if (ext === undefined) {
      // Spec: riscv-sbi-2.0 §3 "Binary Encoding": "An ECALL with an unsupported SBI extension
      // ID (EID) or an unsupported SBI function ID (FID) must return the error code
      // SBI_ERR_NOT_SUPPORTED."
      call.error = SBI_ERR_NOT_SUPPORTED;
    } else {
      outcome = ext.handle(call);
      if (outcome === VSBI_RESUME) outcome = call.outcome;
    }
    if (call.complete) {
      const err = call.error;
      x[A0] = err;
      x[A0 + 1] = err < 0 ? -1 : 0;
      if (!call.a0Only) {
        x[A1] = call.valueLo;
        x[A1 + 1] = call.valueHi;
      } else {
        // A hypercall result is a full value: error carries it, valueHi its high word.
        x[A0 + 1] = call.valueHi;
      }
      hart.advancePc(4);
    }
    return outcome;
  }

  /**
   * Call before stepping hart `i`. Completes pending HSM transitions on the hart's own runner
   * (START_PENDING -> STARTED with the entry registers; SUSPENDED -> RESUME_PENDING -> STARTED
   * once an interrupt is pending) and returns whether the hart should run now.
   */
  prepareToRun(i: number): boolean {
    return this.harts.prepareToRun(i, this.platform);
  }

  /** The platform's wake-up event for a system suspended with SUSP: restart the suspending hart. */
  systemResume(): boolean {
    const ok = this.harts.systemResume();
    if (ok >= 0) this.platform.hartRunnable?.(ok);
    return ok >= 0;
  }

  /**
   * The vSBI's part of a vCPU/domain save record (ARCHITECTURE.md §8): HSM states and pending
   * entries. Timer, pending IPIs and registers live in the harts' own state blocks.
   */
  saveState(): VsbiState {
    return { version: VSBI_STATE_VERSION, hartCount: this.harts.count, hsm: this.harts.save() };
  }

  /** Restore a record from saveState(); throws VsbiStateError (one line) if it does not fit this machine. */
  restoreState(st: VsbiState): void {
    if (st?.version !== VSBI_STATE_VERSION) throw new VsbiStateError(`vSBI record version ${String(st?.version)}, expected ${VSBI_STATE_VERSION}`);
    if (st.hartCount !== this.harts.count) throw new VsbiStateError(`vSBI record is for ${st.hartCount} harts, this domain has ${this.harts.count}`);
    const err = this.harts.restore(st.hsm);
    if (err !== undefined) throw new VsbiStateError(err);
  }

  /**
   * Resolve the standard (hart_mask, hart_mask_base) argument pair in a<maskArg>, a<baseArg>
   * into this.targets (1 = targeted): resolveHartMask() below.
   */
  resolveHartMask(call: VsbiCall, maskArg: number, baseArg: number): number {
    return resolveHartMask(call, maskArg, baseArg, this.targets);
  }
}

/**
 * Resolve the standard (hart_mask, hart_mask_base) argument pair in a<maskArg>, a<baseArg>
 * into `targets` (one entry per hart, 1 = targeted). Returns SBI_SUCCESS or
 * SBI_ERR_INVALID_PARAM; nothing is targeted on error, so a call either reaches every hart it
 * names or none. Pure (no platform): the main thread's vSBI and a pCPU worker's fast path
 * (smp/sbi-fast.ts) share it.
 * Spec: riscv-sbi-2.0 §3.1 "Hart list parameter"
 */
export function resolveHartMask(call: VsbiCall, maskArg: number, baseArg: number, targets: Uint8Array): number {
  const t = targets;
  const n = t.length;
  t.fill(0);
  // "hart_mask_base can be set to -1 to indicate that hart_mask shall be ignored and all
  // available harts must be considered."
  if (call.argIsAllOnes(baseArg)) {
    t.fill(1);
    return SBI_SUCCESS;
  }
  const mLo = call.argLo(maskArg);
  const mHi = call.argHi(maskArg);
  if ((mLo | mHi) === 0) return SBI_SUCCESS;
  // A base at or beyond 2^32 names no hart of ours (hart ids are < hartCount).
  if (call.argHi(baseArg) !== 0) return SBI_ERR_INVALID_PARAM;
  const base = call.argU32(baseArg);
  for (let bit = 0; bit < 64; bit++) {
    const set = bit < 32 ? (mLo >>> bit) & 1 : (mHi >>> (bit - 32)) & 1;
    if (set === 0) continue;
    const id = base + bit;
    if (id >= n) {
      t.fill(0);
      return SBI_ERR_INVALID_PARAM;
    }
    t[id] = 1;
  }
  return SBI_SUCCESS;
}
