// SPDX-License-Identifier: GPL-2.0-only
// SBI IPI and RFENCE on a pCPU worker (issue 7; docs/design/schedulers.md §10 "SBI IPI and
// RFENCE on the worker"). Linux sends its IPIs (reschedule, TLB shootdown, call-function) with
// SBI send_ipi and its remote fences with SBI RFENCE; on the main thread each of them costs an
// exit of the sending vCPU. A pCPU that traps one of
//
//   EID 0x735049 "sPI"    FID 0  send_ipi                       sip.SSIP of each target
//   EID 0x52464E43 "RFNC" FID 0  remote_fence_i                 FLUSH_ICACHE on each target
//                         FID 1  remote_sfence_vma              FLUSH_TLB on each target
//                         FID 2  remote_sfence_vma_asid         FLUSH_TLB on each target
//
// answers it here, exactly as the main thread's vSBI (vsbi/ipi.ts, vsbi/rfence.ts) would: the
// same hart-mask resolution (vsbi/core.ts resolveHartMask), range check (rfenceRangeValid),
// error codes, STOPPED harts skipped (the HSM words are shared), a0 = error, a1 = 0, pc past the
// ecall. Anything else, or a remote fence whose acknowledgements do not arrive in time, is
// NOT_FAST: nothing visible changed that the main thread's answer would not do again (fence
// requests are idempotent), and the vCPU exits to the main thread as before.
//
// IPI: Atomics.or of SSIP in the target's state block (what Hart.irqLine(IRQ_SSI), the main
// thread's platform.sendIpi, does). A target not executing on a pCPU may be blocked in WFI: its
// wake-up goes on the wake queue, which the main thread drains into Hypervisor.kick (the wake
// path its tick() runs for every blocked vCPU).
// RFENCE: Hart.requestFlush's two Atomics.or on each target's block, then, since "the remote
// fence operation is done when the call returns" (riscv-sbi-2.0 §8), wait until every target
// that is executing on another pCPU right now has applied it (its hart does at its next poll of
// the exit request, within one chunk of instructions). A target that is not executing applies
// it before its next instruction (step() polls first). The wait cannot deadlock: while waiting,
// this pCPU acknowledges the flushes others request of its own vCPU (two pCPUs fencing each
// other both go on), a target in an MMIO call is waiting for the main thread, which never
// waits for us without serving calls and acknowledging through the same words; and it is
// bounded anyway (waitMs): then NOT_FAST, and the main thread repeats the call with its own wait.
import type { Hart } from '../../hardware/riscv/hart.ts';
import { EXIT_REQ, EXIT_REQ_FLUSH, FLUSH_ICACHE, FLUSH_REQ, FLUSH_TLB, MIP_SSIP, MIP_SW } from '../../hardware/riscv/hart-state.ts';
import { resolveHartMask, VsbiCall } from '../vsbi/core.ts';
import { rfenceRangeValid } from '../vsbi/rfence.ts';
import {
  SBI_ERR_INVALID_ADDRESS, SBI_EXT_IPI, SBI_EXT_RFENCE, SBI_HSM_STATE_STOPPED, SBI_IPI_SEND_IPI,
  SBI_RFENCE_REMOTE_FENCE_I, SBI_RFENCE_REMOTE_SFENCE_VMA_ASID, SBI_SUCCESS,
} from '../vsbi/sbi-defs.ts';
import type { KickQueue } from './kick-queue.ts';

const A0 = 20, A1 = 22, A6 = 32, A7 = 34;
const TWO32 = 4294967296;
/** How long a remote fence polls its targets' flush words before it naps between polls (ms). */
const SPIN_MS = 0.2;

/** A domain's SBI view for the workers (structured-clonable; every array shares its buffer). */
export interface SbiFastDesc {
  readonly domid: number;
  /** HartStates words (vsbi/hart-states.ts): state[i] is hart i's HSM state (| CLAIMED while being started). */
  readonly hsm: Int32Array;
  /** Every vCPU's hart state block (hart-state.ts), index = vCPU id = hart id. */
  readonly states: readonly SharedArrayBuffer[];
}

/** A worker's view of one domain. */
export class SbiFastDomain {
  readonly domid: number;
  readonly hsm: Int32Array;
  readonly s: Int32Array[];
  /** resolveHartMask's output, one per hart. */
  readonly targets: Uint8Array;
  constructor(desc: SbiFastDesc) {
    this.domid = desc.domid;
    this.s = desc.states.map((b) => new Int32Array(b));
    this.hsm = desc.hsm.subarray(0, this.s.length);
    this.targets = new Uint8Array(this.s.length);
  }
}

/** What the fast path asks of the pCPU it runs on. */
export interface SbiPeers {
  /** Is vCPU `vcpu` of `domid` on another pCPU right now, executing or in an MMIO call (host-pcpu-shared.ts STATE GUEST/CALL)? */
  executing(domid: number, vcpu: number): boolean;
  /** Tell the main thread there is something on the wake queue. */
  ring(): void;
}

/** The caller's hart as the fast path uses it (the pCPU's own Hart object, between two step()s). */
export type SbiCaller = Pick<Hart, 'x' | 's' | 'flushTlb' | 'flushICache' | 'getPcLo' | 'getPcHi' | 'setPcWords'>;

/** Apply and acknowledge the flushes requested of the caller's own hart (Hart.applyFlushRequests, from outside step()). */
function ackOwnFlushes(h: SbiCaller): void {
  const bits = Atomics.load(h.s, FLUSH_REQ);
  if (bits === 0) return;
  if (bits & FLUSH_TLB) h.flushTlb();
  if (bits & FLUSH_ICACHE) h.flushICache();
  Atomics.and(h.s, FLUSH_REQ, ~bits);
}

export class SbiFast {
  private readonly call = new VsbiCall();
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  /** Statistics: calls answered, wake-ups queued, remote fences that waited for an ack, waits that timed out (NOT_FAST). */
  answered = 0;
  wakes = 0;
  waited = 0;
  timeouts = 0;

  /** `waitMs`: longest wait for remote fence acknowledgements before handing the call to the main thread. */
  constructor(private readonly peers: SbiPeers, private readonly wakeQueue: KickQueue, private readonly waitMs = 20) {}

  /**
   * vCPU `vcpu` of `d` (hart `h`, stopped at its ecall) made an SBI call. True: answered here
   * (a0/a1 written, pc past the ecall); false: NOT_FAST, nothing the guest can see changed
   * except idempotent fence requests; the main thread answers.
   */
  handle(d: SbiFastDomain, vcpu: number, h: SbiCaller): boolean {
    const x = h.x;
    const eid = x[A7]!, fid = x[A6]!;
    // riscv-sbi-2.0 §3: EID and FID are sign-extended 32-bit values; anything else is the main thread's NOT_SUPPORTED.
    if (x[A7 + 1] !== eid >> 31 || x[A6 + 1] !== fid >> 31) return false;
    const ipi = eid === SBI_EXT_IPI;
    if (ipi ? fid !== SBI_IPI_SEND_IPI : eid !== SBI_EXT_RFENCE || fid < SBI_RFENCE_REMOTE_FENCE_I || fid > SBI_RFENCE_REMOTE_SFENCE_VMA_ASID) return false;
    if (vcpu < 0 || vcpu >= d.s.length) return false;
    const c = this.call;
    c.x = x;
    c.eid = eid;
    c.fid = fid;
    c.hartIndex = vcpu;
    let err: number;
    // The checks in vsbi/rfence.ts's order: range (not for FENCE.I), then the hart mask.
    if (!ipi && fid !== SBI_RFENCE_REMOTE_FENCE_I && !rfenceRangeValid(c, 2, 3)) err = SBI_ERR_INVALID_ADDRESS;
    else err = resolveHartMask(c, 0, 1, d.targets);
    if (err === SBI_SUCCESS) {
      if (ipi) this.sendIpis(d, vcpu);
      else if (!this.fence(d, vcpu, h, fid === SBI_RFENCE_REMOTE_FENCE_I ? FLUSH_ICACHE : FLUSH_TLB)) return false;
    }
    // vsbi/core.ts handleEcall: a0 = error (sign-extended), a1 = value (0), pc past the ecall.
    x[A0] = err;
    x[A0 + 1] = err < 0 ? -1 : 0;
    x[A1] = 0;
    x[A1 + 1] = 0;
    const lo = (h.getPcLo() >>> 0) + 4;
    h.setPcWords(lo | 0, (h.getPcHi() + (lo >= TWO32 ? 1 : 0)) | 0);
    this.answered++;
    return true;
  }

  /** vsbi/ipi.ts: SSIP on every targeted hart that is not STOPPED; a wake-up for those that may be blocked. */
  private sendIpis(d: SbiFastDomain, self: number): void {
    const t = d.targets, hsm = d.hsm;
    let queued = false;
    for (let i = 0; i < t.length; i++) {
      // Raw word !== STOPPED is status() !== STOPPED: a CLAIMED word is START_PENDING.
      if (t[i] === 0 || Atomics.load(hsm, i) === SBI_HSM_STATE_STOPPED) continue;
      Atomics.or(d.s[i]!, MIP_SW, MIP_SSIP); // Hart.irqLine(IRQ_SSI).set(true)
      // SSIP is set first: a target found executing sees it at its next poll, or when it stops
      // at a WFI (the worker and Hypervisor.handleExit check for a pending interrupt before blocking).
      if (i === self || this.peers.executing(d.domid, i)) continue;
      if (this.wakeQueue.push(d.domid, i, 0)) this.wakes++;
      queued = true; // a full queue raised its overflow word: the main thread wakes everyone
    }
    if (queued) this.peers.ring();
  }

  /** vsbi/rfence.ts: request the flush of every targeted hart that is not STOPPED, then wait for the executing ones. False: timed out. */
  private fence(d: SbiFastDomain, self: number, h: SbiCaller, bits: number): boolean {
    const t = d.targets, hsm = d.hsm;
    let others = false;
    for (let i = 0; i < t.length; i++) {
      if (t[i] === 0 || Atomics.load(hsm, i) === SBI_HSM_STATE_STOPPED) {
        t[i] = 0;
        continue;
      }
      const s = d.s[i]!;
      Atomics.or(s, FLUSH_REQ, bits); // Hart.requestFlush
      Atomics.or(s, EXIT_REQ, EXIT_REQ_FLUSH);
      if (i !== self) others = true;
    }
    // The caller itself: done now (its next step() would do it before its next instruction).
    if (t[self] !== 0) ackOwnFlushes(h);
    if (!others) return true;
    let start = 0, spins = 0, waited = false;
    for (let i = 0; i < t.length; i++) {
      if (t[i] === 0 || i === self) continue;
      const s = d.s[i]!;
      // Executing is decided after the request is visible (seq-cst): a run that starts later
      // applies the request before its first instruction; one in progress is seen here.
      while ((Atomics.load(s, FLUSH_REQ) & bits) !== 0 && this.peers.executing(d.domid, i)) {
        waited = true;
        ackOwnFlushes(h); // another pCPU may be waiting for us the same way
        // Spin for SPIN_MS (a running target acks within one chunk, a few µs), then sleep in
        // short naps (nobody notifies the flush word) until waitMs.
        if ((++spins & 63) !== 0) continue;
        const now = performance.now();
        if (start === 0) start = now;
        const spent = now - start;
        if (spent > this.waitMs) {
          this.timeouts++;
          return false;
        }
        if (spent > SPIN_MS) Atomics.wait(this.sleeper, 0, 0, 0.05);
      }
    }
    if (waited) this.waited++;
    return true;
  }
}
