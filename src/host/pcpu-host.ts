// SPDX-License-Identifier: GPL-2.0-only
// The main thread's side of a threaded machine (issue #7): starts one worker thread per pCPU
// (src/host/pcpu-worker.ts), serves their requests (MMIO on the board's bus, vSBI calls, HSM
// entry, crash reports) and forwards flushes and wake-ups to them. The harts the board and the
// vSBI see here are ShadowHarts: Hart objects over the same shared state blocks that the
// workers run, used only for their registers and owner API, never stepped; their flushTlb and
// flushICache become requests that the hart's own pCPU applies.
//
//   worker w ── REQ=1, DOORBELL++ ──► serve(): bus.mmioRead/Write | vsbi.handleEcall | prepareToRun
//            ◄── RESULT, REQ=2 ─────  (never blocks on a worker: no deadlock)
//   device IRQ / IPI / hart_start ──► hart state Atomics bit + wakeWorker(pcpuOf(h))
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  ACKS, clockWords, controlWords, DOORBELL, FLUSH_ICACHE, FLUSH_TLB, flushWord, HART, IDLE_WAITERS, mbox, OP, OP_CRASH,
  OP_ECALL, OP_MMIO_READ, OP_MMIO_WRITE, OP_PREPARE, PA_HI, PA_LO, pacedNow, pcpuOf, REQ, RESULT, type RemotePhysInit, SIZE,
  STOP, VALUE, wakeWorker,
} from '../hardware/boards/pcpu-shared.ts';
import { Hart, type HartOptions } from '../hardware/riscv/hart.ts';
import type { PcpuInit } from './pcpu-worker.ts';

const TWO32 = 4294967296;
type WaitAsync = (a: Int32Array, i: number, v: number, ms?: number) => { async: boolean; value: Promise<unknown> | string };

/** A Hart the main thread only reads and writes; its flushes go to the pCPU that runs it. */
export class ShadowHart extends Hart {
  onFlush: ((bits: number) => void) | null = null;
  constructor(o: HartOptions) {
    super({ ...o, jit: false });
  }
  override flushTlb(): void {
    super.flushTlb();
    this.onFlush?.(FLUSH_TLB);
  }
  override flushICache(): void {
    super.flushICache();
    this.onFlush?.(FLUSH_ICACHE);
  }
}

/** What the main thread does for a worker's request. */
export interface PcpuHandlers {
  mmioRead(pa: number, size: number): number;
  mmioWrite(pa: number, size: number, value: number): void;
  /** A vSBI call of hart h (its registers are in the shared state); returns ECALL_* flags. */
  ecall(h: number): number;
  /** vsbi.prepareToRun(h). */
  prepare(h: number): boolean;
  /** Hart h's step() returned `code` (EXIT_TRAP_M / EXIT_PHYS_FAULT). */
  crash(h: number, code: number): void;
}

export interface PcpuHostConfig {
  readonly workers: number;
  readonly harts: readonly ShadowHart[];
  readonly phys: RemotePhysInit;
  readonly guestMode: boolean;
  readonly resetPc: number;
  readonly t0: number;
  readonly frequency: number;
  readonly hsm: Int32Array | null;
  readonly slice: number;
  /** Paced time (instructions per tick) shared by the pCPUs; absent: the host clock as it is. */
  readonly insnsPerTick?: number;
  readonly handlers: PcpuHandlers;
}

/** How a pCPU worker is started: the bundle's dist/pcpu.cjs, or the TypeScript source under tsx. */
function startWorker(init: PcpuInit): Worker {
  const here = import.meta.url;
  if (here.endsWith('.cjs')) return new Worker(join(dirname(fileURLToPath(here)), 'pcpu.cjs'), { workerData: init });
  // A Worker's entry module does not pass through the parent's loader hooks: register tsx in it
  // (and define the CONFIG_* flags, as the tests' --import does).
  const entry = new URL('./pcpu-main.ts', here).href;
  const kconfig = new URL('../../scripts/kconfig-defaults.mjs', here).href;
  const boot = `import(${JSON.stringify(kconfig)}).then(() => import('tsx/esm/api')).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

export class PcpuHost {
  readonly ctl: Int32Array;
  readonly workers: number;
  private readonly threads: Worker[] = [];
  private readonly stats: Float64Array;
  /** The paced clock (pcpu-shared.ts), or null on the host clock. */
  private readonly vt: Float64Array | null;
  private readonly hartCount: number;
  private readonly t0: number;
  private readonly perMs: number;
  private readonly handlers: PcpuHandlers;
  private readonly harts: readonly ShadowHart[];
  /** Harts whose flushes the OP_ECALL being served requested (bit masks, harts 0-31 / 32-63). */
  private ackLo = 0;
  private ackHi = 0;
  /** stop() was called: the threads are ending. */
  stopped = false;
  /** A worker thread failed (message), e.g. its module did not load. */
  failure: string | null = null;
  /** Requests served (statistics). */
  served = 0;

  constructor(cfg: PcpuHostConfig) {
    const n = cfg.harts.length;
    this.workers = Math.max(1, Math.min(cfg.workers, n));
    this.handlers = cfg.handlers;
    const W = this.workers;
    this.ctl = new Int32Array(new SharedArrayBuffer(controlWords(W, n) * 4));
    const statsBuf = new SharedArrayBuffer(8 * n);
    this.stats = new Float64Array(statsBuf);
    this.hartCount = n;
    this.t0 = cfg.t0;
    this.perMs = cfg.frequency / 1000;
    const clockBuf = cfg.insnsPerTick ? new SharedArrayBuffer(8 * clockWords(W, n)) : null;
    this.vt = clockBuf ? new Float64Array(clockBuf) : null;
    this.vt?.fill(Infinity, n);
    this.harts = cfg.harts;
    cfg.harts.forEach((h, i) => { h.onFlush = (bits) => this.flush(i, bits); });
    for (let w = 0; w < W; w++) {
      const mine = cfg.harts.map((h, i) => ({ id: i, state: h.state })).filter((d) => pcpuOf(d.id, W) === w);
      const init: PcpuInit = {
        index: w, workers: W, hartCount: n, harts: mine, control: this.ctl.buffer as SharedArrayBuffer, phys: cfg.phys,
        guestMode: cfg.guestMode, resetPc: cfg.resetPc, t0: cfg.t0, frequency: cfg.frequency,
        hsm: cfg.hsm ? (cfg.hsm.buffer as SharedArrayBuffer) : null, stats: statsBuf, slice: cfg.slice,
        clock: clockBuf, insnsPerTick: cfg.insnsPerTick ?? 1,
      };
      const t = startWorker(init);
      t.on('error', (e) => { this.failure ??= `pCPU ${w}: ${e instanceof Error ? e.message : String(e)}`; this.kickMain(); });
      t.on('exit', (code) => { if (!this.stopped && code !== 0) { this.failure ??= `pCPU ${w} exited with code ${code}`; this.kickMain(); } });
      t.unref();
      this.threads.push(t);
    }
  }

  /** Called when something the main loop must see happens outside a request (set by the owner). */
  onKick: (() => void) | null = null;
  private kickMain(): void {
    this.onKick?.();
  }

  /** Host monotonic time in timebase ticks, on the pCPUs' common origin. */
  hostTicks(): number {
    return Math.floor((performance.timeOrigin + performance.now() - this.t0) * this.perMs);
  }

  /** Guest time (timebase ticks): paced (pcpu-shared.ts pacedNow) or the host clock. */
  timeNow(): number {
    return this.vt ? pacedNow(this.vt, this.hartCount, this.hostTicks()) : this.hostTicks();
  }

  /** The devices' earliest deadline (timebase ticks), for the pCPUs' idle skip. */
  setDeviceDeadline(d: number): void {
    if (this.vt) this.vt[this.hartCount + this.workers] = d;
  }

  /** Instructions hart h executed (as of its last slice). */
  instructions(h: number): number {
    return this.stats[h]!;
  }

  /** Ask hart h's pCPU to flush (bits FLUSH_*) before it runs h again. */
  flush(h: number, bits: number): void {
    Atomics.or(this.ctl, flushWord(this.workers, h), bits);
    this.harts[h]!.requestExit(); // a running step() returns within 1024 instructions
    if (h < 32) this.ackLo |= 1 << h; else this.ackHi |= 1 << (h - 32);
    wakeWorker(this.ctl, pcpuOf(h, this.workers));
  }

  /** Something for hart h (an interrupt line, an IPI, hart_start): wake its pCPU if it sleeps. */
  wake(h: number): void {
    wakeWorker(this.ctl, pcpuOf(h, this.workers));
  }

  /** The doorbell's current value (read before serve(), then waitDoorbell with it). */
  doorbell(): number {
    return Atomics.load(this.ctl, DOORBELL);
  }

  /** Block up to `ms` for a worker's request (or a worker going to sleep). */
  waitDoorbell(seen: number, ms: number): void {
    Atomics.wait(this.ctl, DOORBELL, seen, ms);
  }

  private asyncArmed = false;
  /**
   * Call `fn` once on Node's event loop when the doorbell next moves (a request, a pCPU going to
   * sleep): how the driver, sleeping while every pCPU sleeps, learns of work. One waiter at a time.
   */
  whenRequest(fn: () => void): void {
    if (this.asyncArmed) return;
    // Atomics.waitAsync (ES2024; Node 16+) is not in this project's TypeScript lib.
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    const r = waitAsync(this.ctl, DOORBELL, Atomics.load(this.ctl, DOORBELL));
    if (!r.async) { fn(); return; }
    this.asyncArmed = true;
    void (r.value as Promise<unknown>).then(() => { this.asyncArmed = false; fn(); });
  }

  /** Every pCPU sleeps with nothing to run and no request is waiting. */
  idle(): boolean {
    if (Atomics.load(this.ctl, IDLE_WAITERS) !== this.workers) return false;
    for (let w = 0; w < this.workers; w++) if (Atomics.load(this.ctl, mbox(w, REQ)) === 1) return false;
    return true;
  }

  /** Serve every posted request; returns how many. */
  serve(): number {
    const c = this.ctl, hd = this.handlers;
    let count = 0;
    for (let w = 0; w < this.workers; w++) {
      const r = mbox(w, REQ);
      if (Atomics.load(c, r) !== 1) continue;
      const op = c[mbox(w, OP)]!, h = c[mbox(w, HART)]!;
      let result = 0;
      this.ackLo = 0; this.ackHi = 0;
      switch (op) {
        case OP_MMIO_READ: case OP_MMIO_WRITE: {
          const pa = (c[mbox(w, PA_HI)]! >>> 0) * TWO32 + (c[mbox(w, PA_LO)]! >>> 0), size = c[mbox(w, SIZE)]!;
          if (op === OP_MMIO_READ) result = hd.mmioRead(pa, size) | 0;
          else hd.mmioWrite(pa, size, c[mbox(w, VALUE)]! >>> 0);
          break;
        }
        case OP_ECALL: result = hd.ecall(h); break;
        case OP_PREPARE: result = hd.prepare(h) ? 1 : 0; break;
        case OP_CRASH: hd.crash(h, c[mbox(w, VALUE)]!); break;
      }
      c[mbox(w, ACKS)] = this.ackLo; c[mbox(w, ACKS + 1)] = this.ackHi;
      this.ackLo = 0; this.ackHi = 0;
      c[mbox(w, RESULT)] = result;
      Atomics.store(c, r, 2);
      Atomics.notify(c, r);
      count++;
    }
    this.served += count;
    return count;
  }

  /** Stop every pCPU (machine stopped or rebooting); the threads end on their own. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.ctl, STOP, 1);
    for (let w = 0; w < this.workers; w++) {
      wakeWorker(this.ctl, w);
      // A worker blocked on a request that will not be served: answer it.
      const r = mbox(w, REQ);
      if (Atomics.load(this.ctl, r) === 1) { Atomics.store(this.ctl, r, 2); Atomics.notify(this.ctl, r); }
    }
    for (const t of this.threads) void t.terminate();
  }
}
