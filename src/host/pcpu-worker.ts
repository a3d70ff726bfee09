// SPDX-License-Identifier: GPL-2.0-only
// One physical CPU of a threaded machine (ARCHITECTURE.md §4, issue #7): a worker thread that
// runs its harts (hart h on pCPU h mod N) over the board's shared RAM and the harts' shared
// state blocks. Device accesses and SBI calls are blocking requests to the main thread
// (src/hardware/boards/pcpu-shared.ts); interrupts arrive as Atomics bits in the hart state
// and wake a sleeping pCPU through its WAKE word. Remote flushes (SBI RFENCE, HSM entry) are
// bits the pCPU applies to its own harts' TLB and translated-code cache between slices.
// Time is the host's monotonic clock (as QEMU's MTTCG without -icount), the same origin on
// every thread.
import { setSharedAmo } from '../hardware/riscv/amo.ts';
import { EXIT_ECALL, EXIT_PHYS_FAULT, EXIT_TRAP_M, EXIT_WFI } from '../hardware/riscv/hart-api.ts';
import { MIE, PRIV } from '../hardware/riscv/hart-state.ts';
import { Hart } from '../hardware/riscv/hart.ts';
import {
  ACKS, DOORBELL, ECALL_STOP, FLUSH_ICACHE, FLUSH_TLB, flushWord, IDLE_WAITERS, mbox, OP_CRASH, OP_ECALL,
  OP_PREPARE, RemotePhys, type RemotePhysInit, STOP, WAKE,
} from '../hardware/boards/pcpu-shared.ts';
import { SBI_HSM_STATE_START_PENDING, SBI_HSM_STATE_STARTED, SBI_HSM_STATE_SUSPENDED } from '../hypervisor/vsbi/sbi-defs.ts';

export interface PcpuInit {
  /** This pCPU's number and the machine's pCPU count. */
  readonly index: number;
  readonly workers: number;
  readonly hartCount: number;
  /** The harts this pCPU runs: id and shared state block (already set up by the main thread). */
  readonly harts: readonly { readonly id: number; readonly state: SharedArrayBuffer }[];
  readonly control: SharedArrayBuffer;
  readonly phys: RemotePhysInit;
  readonly guestMode: boolean;
  readonly resetPc: number;
  /** performance.timeOrigin + performance.now() (ms) at timebase tick 0, and its frequency. */
  readonly t0: number;
  readonly frequency: number;
  /** The vSBI's HSM state words (HartStates buffer), or null without the vSBI. */
  readonly hsm: SharedArrayBuffer | null;
  /** Float64 per hart: instructions executed (published after every slice). */
  readonly stats: SharedArrayBuffer;
  /** Instructions per slice between looks at flush requests and the stop flag. */
  readonly slice: number;
  readonly jit?: boolean;
}

/** Longest sleep without a deadline (ms): a safety net, every waker also notifies. */
const MAX_SLEEP_MS = 100;

/** Run the pCPU until the main thread sets STOP. */
export function runPcpu(init: PcpuInit): void {
  setSharedAmo(true);
  const ctl = new Int32Array(init.control);
  const hsm = init.hsm ? new Int32Array(init.hsm) : null;
  const stats = new Float64Array(init.stats);
  const w = init.index, W = init.workers;
  const phys = new RemotePhys(init.phys, ctl, w);
  const perMs = init.frequency / 1000, t0 = init.t0, origin = performance.timeOrigin;
  const clock = { now: (): number => Math.floor((origin + performance.now() - t0) * perMs), frequency: init.frequency };
  const harts = init.harts.map((d) => new Hart({
    hartId: d.id, phys, clock, guestMode: init.guestMode, resetPc: init.resetPc, state: d.state, jit: init.jit,
  }));
  const ids = init.harts.map((d) => d.id);
  const n = harts.length;
  const wfi = new Array<boolean>(n).fill(false);
  const halted = new Array<boolean>(n).fill(false);
  const wakeW = mbox(w, WAKE);

  const applyFlushes = (k: number): void => {
    const fw = flushWord(W, ids[k]!);
    const bits = Atomics.load(ctl, fw);
    if (bits === 0) return;
    if (bits & FLUSH_TLB) harts[k]!.flushTlb();
    if (bits & FLUSH_ICACHE) harts[k]!.flushICache();
    Atomics.and(ctl, fw, ~bits);
  };
  const wakeable = (h: Hart): boolean => (h.mipValue() & h.s[MIE]!) !== 0;
  // The main thread changed this hart's state (vSBI call, HSM entry): re-read what the hart caches.
  const resync = (k: number): void => {
    const h = harts[k]!;
    h.setPriv(h.s[PRIV]!);
    applyFlushes(k);
  };
  // SBI RFENCE: the caller continues only once every target applied its flush.
  const waitAcks = (lo: number, hi: number): void => {
    for (let spins = 0; ; spins++) {
      for (let k = 0; k < n; k++) applyFlushes(k);
      let pending = false;
      for (let h = 0; h < init.hartCount && !pending; h++) {
        const bit = h < 32 ? (lo >>> h) & 1 : (hi >>> (h - 32)) & 1;
        if (bit && Atomics.load(ctl, flushWord(W, h)) !== 0) pending = true;
      }
      if (!pending || Atomics.load(ctl, STOP) !== 0) return;
      if (spins > 100) Atomics.wait(ctl, wakeW, Atomics.load(ctl, wakeW), 0.05);
    }
  };

  while (Atomics.load(ctl, STOP) === 0) {
    const wakeSeen = Atomics.load(ctl, wakeW);
    let ran = false;
    let deadline = Infinity;
    for (let k = 0; k < n; k++) {
      applyFlushes(k);
      if (halted[k]) continue;
      const h = harts[k]!, id = ids[k]!;
      if (hsm) {
        const st = Atomics.load(hsm, id) & 0xff;
        if (st !== SBI_HSM_STATE_STARTED) {
          const ask = st === SBI_HSM_STATE_START_PENDING || (st === SBI_HSM_STATE_SUSPENDED && wakeable(h));
          if (st === SBI_HSM_STATE_SUSPENDED) deadline = Math.min(deadline, h.timerDeadline());
          if (!ask) continue;
          const ok = phys.call(OP_PREPARE, id, 0, 0, 0);
          resync(k);
          if (ok === 0) continue;
          wfi[k] = false;
        }
      }
      if (wfi[k]) {
        if (!wakeable(h)) { deadline = Math.min(deadline, h.timerDeadline()); continue; }
        wfi[k] = false;
      }
      if (h.isStopped()) continue;
      const r = h.step(init.slice);
      stats[id] = h.instructions;
      ran = true;
      if (r === EXIT_WFI) wfi[k] = true;
      else if (r === EXIT_ECALL) {
        const res = phys.call(OP_ECALL, id, 0, 0, 0);
        const lo = ctl[mbox(w, ACKS)]!, hi = ctl[mbox(w, ACKS + 1)]!;
        resync(k);
        if (res & ECALL_STOP) halted[k] = true;
        else if ((lo | hi) !== 0) waitAcks(lo, hi);
      } else if (r === EXIT_TRAP_M || r === EXIT_PHYS_FAULT) {
        phys.call(OP_CRASH, id, 0, 0, r);
        halted[k] = true;
      }
    }
    if (ran) continue;
    // Nothing to run: sleep until woken (interrupt, start, flush, STOP) or the next Sstc deadline.
    let ms = MAX_SLEEP_MS;
    if (deadline !== Infinity) {
      const d = (deadline - clock.now()) / perMs;
      if (d > 0) ms = Math.min(ms, d);
    }
    Atomics.add(ctl, IDLE_WAITERS, 1);
    Atomics.add(ctl, DOORBELL, 1); // the main thread's idle test looks at IDLE_WAITERS
    Atomics.notify(ctl, DOORBELL);
    Atomics.wait(ctl, wakeW, wakeSeen, ms);
    Atomics.sub(ctl, IDLE_WAITERS, 1);
  }
}
