// SPDX-License-Identifier: GPL-2.0-only
// The shared-memory contract between a board's main thread (devices, the vSBI, console) and
// the pCPU worker threads that run its harts (src/host/pcpu-worker.ts): one Int32Array
// control block in a SharedArrayBuffer, plus `RemotePhys`, the worker's PhysTranslation, whose
// RAM is the board's own SharedArrayBuffer and whose MMIO accesses are synchronous requests
// through a per-worker mailbox (the worker blocks in Atomics.wait; the main thread serves).
// Interrupt lines need nothing here: they are Atomics words in each hart's state block; a
// sleeping worker is woken through its WAKE word (Atomics.notify).
//
// Control block (Int32 words):
//   [0]  DOORBELL   counter: a worker posted a request (the main thread waits on it)
//   [1]  STOP       1 = every worker leaves its loop
//   [2]  IDLE_WAITERS  workers asleep with nothing to run (the main thread's idle test)
//   [16 + 16w ..]   worker w's mailbox:
//        +0 REQ  0 free, 1 posted (worker -> main), 2 answered (main -> worker)
//        +1 OP   OP_* below          +2 HART  hart index      +3 SIZE  access size
//        +4 VALUE write value / exit code                    +5 RESULT answer
//        +6 WAKE futex counter the worker sleeps on
//        +8 PA_LO, +9 PA_HI  physical address (< 2^53)
//        +10, +11 ACKS  bit mask (harts 0-31, 32-63) whose pending flushes an OP_ECALL's
//                 requester must see applied before its hart continues (SBI RFENCE semantics)
//   [16 + 16W + h]  hart h's pending remote flushes (FLUSH_* bits), cleared by its worker
//                   after it applied them
// Leaves out: a lock-free MMIO fast path (every device access goes to the main thread).
import type { PhysTranslation } from '../riscv/hart-api.ts';
import { PHYS_FAULT, PHYS_MMIO, ACCESS_X } from '../riscv/hart-api.ts';

export const DOORBELL = 0;
export const STOP = 1;
export const IDLE_WAITERS = 2;
const MAILBOX_BASE = 16;
const MAILBOX_WORDS = 16;
export const REQ = 0, OP = 1, HART = 2, SIZE = 3, VALUE = 4, RESULT = 5, WAKE = 6, PA_LO = 8, PA_HI = 9, ACKS = 10;

/** Mailbox requests. */
export const OP_MMIO_READ = 1;
export const OP_MMIO_WRITE = 2;
/** step() returned EXIT_ECALL: the main thread runs the vSBI on the hart's registers. */
export const OP_ECALL = 3;
/** The hart is not STARTED in the vSBI's HSM: run vsbi.prepareToRun (RESULT 1 = may run). */
export const OP_PREPARE = 4;
/** A guest crash the main thread reports (VALUE = the EXIT_* code). */
export const OP_CRASH = 5;

/** Pending remote flushes of a hart (SBI RFENCE, HSM entry): applied by its own worker. */
export const FLUSH_TLB = 1;
export const FLUSH_ICACHE = 2;

/** Result of OP_ECALL: the machine stops (system reset, suspend); the worker waits for STOP. */
export const ECALL_STOP = 1;

const TWO32 = 4294967296;

/** Words of the control block for `workers` pCPUs and `harts` harts. */
export function controlWords(workers: number, harts: number): number {
  return MAILBOX_BASE + MAILBOX_WORDS * workers + harts;
}

/** Index of word `field` of worker w's mailbox. */
export function mbox(w: number, field: number): number {
  return MAILBOX_BASE + MAILBOX_WORDS * w + field;
}

/** Index of hart h's pending-flush word. */
export function flushWord(workers: number, h: number): number {
  return MAILBOX_BASE + MAILBOX_WORDS * workers + h;
}

/** The pCPU that runs hart h: harts are dealt round-robin (hart h on pCPU h mod workers). */
export function pcpuOf(h: number, workers: number): number {
  return h % workers;
}

/** Wake worker w if it sleeps (an interrupt, a flush request, a start, STOP). Any thread. */
export function wakeWorker(ctl: Int32Array, w: number): void {
  Atomics.add(ctl, mbox(w, WAKE), 1);
  Atomics.notify(ctl, mbox(w, WAKE));
}

// ─── Paced time shared by the pCPUs ───────────────────────────────────────────────────
// A Float64Array (clockWords): [h] = hart h's progress in timebase ticks (only its own pCPU
// writes it: 10 instructions per tick while it runs, raised to the current time when it starts
// a slice, and moved over idle time when every pCPU sleeps); [harts + w] = the Sstc deadline
// pCPU w sleeps until (Infinity: none, or awake); [harts + pcpus] = the earliest device
// deadline (the main thread's ACLINT / RTC). Guest time = min(host clock, max progress):
// it never runs ahead of the host, and a slow host makes a slower CPU, not a racing clock.

/** Float64 words of the paced clock for `harts` harts on `workers` pCPUs. */
export function clockWords(workers: number, harts: number): number {
  return harts + workers + 1;
}

/** Paced guest time: min(host ticks, the largest progress of any hart). */
export function pacedNow(vt: Float64Array, harts: number, host: number): number {
  let m = 0;
  for (let h = 0; h < harts; h++) if (vt[h] > m) m = vt[h];
  return m < host ? m : host;
}

/** What a worker needs to build its RemotePhys (structured-clonable). */
export interface RemotePhysInit {
  readonly memory: SharedArrayBuffer;
  readonly ramBase: number;
  /** [base, size] of every MMIO range on the bus. */
  readonly mmio: readonly (readonly [number, number])[];
}

/**
 * A worker's view of the board's physical address space: RAM is the board's SharedArrayBuffer
 * (the same identity translation as PhysBus.lookup), MMIO is a blocking request to the main
 * thread through mailbox `w`. RAM pages overlaid by devices (HTIF) are not supported.
 */
export class RemotePhys implements PhysTranslation {
  readonly memory: SharedArrayBuffer;
  private readonly ramBasePn: number;
  private readonly ramPages: number;
  private readonly mmioPn: Float64Array;
  private readonly reqW: number;
  /** Requests made (for statistics). */
  requests = 0;

  constructor(init: RemotePhysInit, private readonly ctl: Int32Array, private readonly w: number) {
    this.memory = init.memory;
    this.ramBasePn = init.ramBase / 4096;
    this.ramPages = init.memory.byteLength / 4096;
    // [first page, end page) pairs of every MMIO range.
    this.mmioPn = new Float64Array(init.mmio.length * 2);
    init.mmio.forEach(([base, size], i) => {
      this.mmioPn[2 * i] = Math.floor(base / 4096);
      this.mmioPn[2 * i + 1] = Math.ceil((base + size) / 4096);
    });
    this.reqW = mbox(w, REQ);
  }

  lookup(gppn: number, access: number): number {
    const rel = gppn - this.ramBasePn;
    if (rel >= 0 && rel < this.ramPages) return rel * 4096;
    // Spec: riscv-priv-20240411 "Physical Memory Attributes": I/O regions are not executable.
    if (access === ACCESS_X) return PHYS_FAULT;
    const p = this.mmioPn;
    for (let i = 0; i < p.length; i += 2) if (gppn >= p[i] && gppn < p[i + 1]) return PHYS_MMIO;
    return PHYS_FAULT;
  }

  mmioRead(pa: number, size: number): number {
    return this.call(OP_MMIO_READ, -1, pa, size, 0) >>> 0;
  }

  mmioWrite(pa: number, size: number, value: number): void {
    this.call(OP_MMIO_WRITE, -1, pa, size, value);
  }

  /**
   * Post request `op` and block until the main thread answers; returns RESULT. The main thread
   * never waits for a worker while it serves, so this cannot deadlock.
   */
  call(op: number, hart: number, pa: number, size: number, value: number): number {
    const c = this.ctl, w = this.w, r = this.reqW;
    this.requests++;
    c[mbox(w, OP)] = op;
    c[mbox(w, HART)] = hart;
    c[mbox(w, SIZE)] = size;
    c[mbox(w, VALUE)] = value | 0;
    c[mbox(w, PA_LO)] = pa % TWO32 | 0;
    c[mbox(w, PA_HI)] = Math.floor(pa / TWO32) | 0;
    Atomics.store(c, r, 1);
    Atomics.add(c, DOORBELL, 1);
    Atomics.notify(c, DOORBELL);
    // A short spin first: most answers come within microseconds while the main thread polls.
    for (let i = 0; i < 400 && Atomics.load(c, r) === 1; i++);
    while (Atomics.load(c, r) === 1) Atomics.wait(c, r, 1, 5);
    Atomics.store(c, r, 0);
    return c[mbox(w, RESULT)];
  }
}
