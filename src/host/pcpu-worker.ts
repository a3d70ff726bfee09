// SPDX-License-Identifier: GPL-2.0-only
// One physical CPU of a threaded machine (ARCHITECTURE.md §4, issue #7): a worker thread that
// runs its harts (hart h on pCPU h mod N) over the board's shared RAM and the harts' shared
// state blocks. Device accesses and SBI calls are blocking requests to the main thread
// (src/hardware/boards/pcpu-shared.ts); interrupts arrive as Atomics bits in the hart state
// and wake a sleeping pCPU through its WAKE word. Remote flushes (SBI RFENCE, HSM entry) are
// bits the pCPU applies to its own harts' TLB and translated-code cache between slices.
// Time: paced (the default, `clock` given: each hart's instructions move its progress at 10
// per tick, guest time is min(host clock, the largest progress), idle time is skipped when
// every pCPU sleeps; pcpu-shared.ts) or the host's monotonic clock as it is (QEMU's MTTCG
// without -icount), with the same origin on every thread.
import { setSharedAmo } from '../hardware/riscv/amo.ts';
import { EXIT_ECALL, EXIT_PHYS_FAULT, EXIT_TRAP_M, EXIT_WFI } from '../hardware/riscv/hart-api.ts';
import { MIE, PRIV } from '../hardware/riscv/hart-state.ts';
import { Hart } from '../hardware/riscv/hart.ts';
import {
  ACKS, DOORBELL, ECALL_STOP, FLUSH_ICACHE, FLUSH_TLB, flushWord, IDLE_WAITERS, mbox, OP_CRASH, OP_ECALL,
  OP_PREPARE, pacedNow, RemotePhys, type RemotePhysInit, STOP, WAKE, wakeWorker,
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
  /** The paced clock (pcpu-shared.ts clockWords Float64s), or null for the host clock. */
  readonly clock: SharedArrayBuffer | null;
  /** Instructions per timebase tick of the paced clock. */
  readonly insnsPerTick: number;
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
  const hostNow = (): number => Math.floor((origin + performance.now() - t0) * perMs);
  const vt = init.clock ? new Float64Array(init.clock) : null;
  const H = init.hartCount, ipt = init.insnsPerTick;
  // The hart in a slice (-1: none), the time its slice began and its instruction count then.
  let cur = -1, curBase = 0, curIns0 = 0;
  const pacedClock = (): number => {
    const host = hostNow();
    let m = pacedNow(vt!, H, host);
    if (cur >= 0) {
      const l = curBase + Math.floor((harts[cur]!.instructions - curIns0) / ipt);
      if (l > m) m = l < host ? l : host;
    }
    return m;
  };
  const clock = { now: vt ? pacedClock : hostNow, frequency: init.frequency };
  const harts: Hart[] = init.harts.map((d) => new Hart({
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
      if (vt) { curBase = pacedClock(); curIns0 = h.instructions; cur = k; }
      const r = h.step(init.slice);
      stats[id] = h.instructions;
      ran = true;
      if (vt) {
        cur = -1;
        const p = Math.min(hostNow(), curBase + Math.ceil((h.instructions - curIns0) / ipt));
        if (p > vt[id]!) vt[id] = p;
        // Wake the pCPUs whose harts sleep until a deadline that has now passed.
        const now = pacedNow(vt, H, hostNow());
        for (let v = 0; v < W; v++) if (v !== w && vt[H + v]! <= now) { vt[H + v] = Infinity; wakeWorker(ctl, v); }
      }
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
    const now = clock.now();
    if (!(deadline > now)) deadline = Infinity; // none, or passed with its interrupt masked
    let ms = deadline === Infinity ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, (deadline - now) / perMs);
    if (vt) vt[H + w] = deadline; // before counting as idle: the last sleeper reads it
    const idle = Atomics.add(ctl, IDLE_WAITERS, 1) + 1;
    if (vt && idle === W) {
      // Every pCPU sleeps: skip idle time while the guest lags the host (as the one-thread
      // paced runner does), to the earliest deadline of any pCPU or device, or to host time.
      // A device deadline (vt[H + W]) is the main thread's: time moves there, and the device's
      // interrupt, raised when the main thread next ticks, wakes the pCPU it goes to.
      let dc = Infinity;
      for (let v = 0; v < W; v++) if (vt[H + v]! < dc) dc = vt[H + v]!;
      const dd = vt[H + W]!, d = dc < dd ? dc : dd;
      const host = hostNow();
      const to = d <= host ? d : host;
      if (to > vt[ids[0]!]!) vt[ids[0]!] = to;
      if (dc <= host && dc <= dd) {
        vt[H + w] = Infinity;
        Atomics.sub(ctl, IDLE_WAITERS, 1);
        for (let v = 0; v < W; v++) if (v !== w && vt[H + v]! <= dc) { vt[H + v] = Infinity; wakeWorker(ctl, v); }
        continue;
      }
      if (d > host && d !== Infinity) ms = Math.min(MAX_SLEEP_MS, (d - host) / perMs);
    }
    Atomics.add(ctl, DOORBELL, 1); // the main thread's idle test looks at IDLE_WAITERS
    Atomics.notify(ctl, DOORBELL);
    Atomics.wait(ctl, wakeW, wakeSeen, ms);
    if (vt) vt[H + w] = Infinity;
    Atomics.sub(ctl, IDLE_WAITERS, 1);
  }
}
