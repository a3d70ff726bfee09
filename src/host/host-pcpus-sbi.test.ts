// SPDX-License-Identifier: GPL-2.0-only
// SBI send_ipi and remote fences answered on the pCPU worker threads (smp/sbi-fast.ts) with real
// workers: IPIs between two vCPUs on two pCPU threads without exits to the main thread, a remote
// SFENCE.VMA that the other pCPU has applied when the call returns, and the same SBI errors as
// the main thread's vSBI.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIP_SSIP, MIP_SW } from '../hardware/riscv/hart-state.ts';
import { A, DATA, li, peek64, poke64 } from '../hypervisor/hypercall/test-support.ts';
import type { Domain } from '../hypervisor/domain/domain.ts';
import { SBI_EXT_IPI, SBI_EXT_RFENCE } from '../hypervisor/vsbi/sbi-defs.ts';
import { pcpuHost } from './host-pcpus-test-support.ts';

const T0 = 5, T1 = 6, T2 = 7, S0 = 8, S1 = 9, A0 = 10, A1 = 11, A2 = 12, A3 = 13, A6 = 16, A7 = 17, S2 = 18, S3 = 19, S4 = 20, S5 = 21;
const SBI_EXT_HSM = 0x48534d;
const CSR_SIE = 0x104, CSR_SIP = 0x144, CSR_SATP = 0x180;

function host(cpus: number, fast = true) {
  const h = pcpuHost(cpus, { fast });
  return { ...h, create: (code: number[], vcpus = 2, memoryMiB = 2): Domain => h.create(code, vcpus, memoryMiB) };
}

/** A tiny two-pass assembler: words, labels, and words that need label addresses (index-relative). */
type Item = number | string | ((at: (l: string) => number, here: number) => number);
function asm(items: Item[]): number[] {
  const labels = new Map<string, number>();
  let n = 0;
  for (const it of items) if (typeof it === 'string') labels.set(it, n); else n++;
  const at = (l: string): number => labels.get(l)! * 4;
  const out: number[] = [];
  for (const it of items) {
    if (typeof it === 'string') continue;
    out.push(typeof it === 'number' ? it : it(at, out.length * 4));
  }
  return out;
}
const jmp = (l: string): Item => (at, here) => A.jal(0, at(l) - here);
const blt = (a: number, b: number, l: string): Item => (at, here) => A.blt(a, b, at(l) - here);
const beq = (a: number, b: number, l: string): Item => (at, here) => A.beq(a, b, at(l) - here);
const bne = (a: number, b: number, l: string): Item => (at, here) => A.bne(a, b, at(l) - here);
/** vCPU 0 starts vCPU 1 at label `entry` (SBI HSM hart_start). */
const startHart1 = (entry: string): Item[] => [
  ...li(A7, SBI_EXT_HSM), A.addi(A6, 0, 0), A.addi(A0, 0, 1),
  'start.auipc', A.auipc(A1, 0), (at) => A.addi(A1, A1, at(entry) - at('start.auipc')), A.addi(A2, 0, 0), A.ecall(),
];

// DATA words (u64): vCPU 0's IPIs sent, vCPU 1's IPIs received, the last send_ipi error.
const SENT = DATA, RECV = DATA + 8, ERR = DATA + 16;

/** vCPU 0 sends IPIs to vCPU 1 one at a time (the next once the last was received); vCPU 1 counts them (WFI or polling sip). */
function ipiPingPong(wfi: boolean): number[] {
  return asm([
    ...li(S1, DATA), ...startHart1('entry1'),
    A.addi(S2, 0, 0),
    'loop0', A.addi(S2, S2, 1),
    ...li(A7, SBI_EXT_IPI), A.addi(A6, 0, 0), A.addi(A0, 0, 2), A.addi(A1, 0, 0), A.ecall(),
    A.sd(A0, S1, 16), A.sd(S2, S1, 0),
    'wait0', A.ld(T0, S1, 8), blt(T0, S2, 'wait0'), jmp('loop0'),
    'entry1', ...li(S1, DATA), A.csrrsi(0, CSR_SIE, 2), A.addi(S3, 0, 0), // sie.SSIE; sstatus.SIE stays 0: no trap, WFI still wakes
    'loop1', ...(wfi ? [A.wfi()] : []),
    A.csrrs(T0, CSR_SIP, 0), A.andi(T0, T0, 2), beq(T0, 0, 'loop1'),
    A.csrrci(0, CSR_SIP, 2), A.addi(S3, S3, 1), A.sd(S3, S1, 8), jmp('loop1'),
  ]);
}

interface IpiRun { ipis: number; exits: number; ms: number; fast: number; lastErr: bigint }
/**
 * Ping-pong for at least `ms` and `min` IPIs (a loaded host may throttle the spinning threads:
 * the counts matter, not the time; 60 s at most).
 */
function runPingPong(fast: boolean, wfi: boolean, ms: number, min: number): IpiRun {
  const h = host(2, fast);
  try {
    const d = h.create(ipiPingPong(wfi));
    h.driveUntil(() => peek64(d, RECV) > 100n);
    assert.ok(peek64(d, RECV) > 100n, `IPIs flow (${fast ? 'fast' : 'main'}, ${wfi ? 'wfi' : 'poll'}): ${peek64(d, RECV)}`);
    const r0 = Number(peek64(d, RECV)), e0 = h.pcpus.exits, f0 = h.pcpus.sbiFastCalls().answered, t0 = performance.now();
    h.drive(ms);
    h.driveUntil(() => Number(peek64(d, RECV)) - r0 >= min, 60_000);
    // vCPU 0 stores SENT after its ecall returns, vCPU 1 may count the IPI first: they differ by at most one.
    const r1 = Number(peek64(d, RECV)), s1 = Number(peek64(d, SENT));
    assert.ok(Math.abs(s1 - r1) <= 1, `every IPI sent was received: sent ${s1}, received ${r1}`);
    return { ipis: r1 - r0, exits: h.pcpus.exits - e0, ms: performance.now() - t0, fast: h.pcpus.sbiFastCalls().answered - f0, lastErr: peek64(d, ERR) };
  } finally {
    h.pcpus.stop();
  }
}
const fmt = (r: IpiRun): string => `${r.ipis} IPIs in ${r.ms.toFixed(0)} ms (${(r.ms * 1000 / Math.max(1, r.ipis)).toFixed(1)} us round trip), ${(r.exits / Math.max(1, r.ipis)).toFixed(3)} exits/IPI, ${r.fast} on the worker`;

test('SBI send_ipi between two vCPUs on two pCPU threads runs on the worker: no exit per IPI (vCPU 1 polls sip)', (t) => {
  const fast = runPingPong(true, false, 1000, 1000);
  const main = runPingPong(false, false, 1000, 200);
  t.diagnostic(`worker: ${fmt(fast)}`);
  t.diagnostic(`main thread: ${fmt(main)}`);
  assert.equal(fast.lastErr, 0n, 'send_ipi returned SBI_SUCCESS');
  assert.ok(fast.ipis >= 1000, `many IPIs: ${fast.ipis}`);
  assert.ok(fast.fast >= fast.ipis - 1, `every send_ipi answered on the worker: ${fast.fast} of ${fast.ipis}`);
  assert.ok(fast.exits < fast.ipis / 20, `few exits to the main thread: ${fast.exits} for ${fast.ipis} IPIs`);
  assert.ok(main.exits >= main.ipis - 1, `the main-thread path exits once per IPI: ${main.exits} for ${main.ipis}`);
});

test('SBI send_ipi wakes a vCPU waiting in WFI on the other pCPU (wake queue), with one exit per IPI instead of two', (t) => {
  const fast = runPingPong(true, true, 1000, 300);
  const main = runPingPong(false, true, 1000, 100);
  t.diagnostic(`worker: ${fmt(fast)}`);
  t.diagnostic(`main thread: ${fmt(main)}`);
  assert.ok(fast.ipis >= 300, `many IPIs woke vCPU 1: ${fast.ipis}`);
  assert.ok(fast.fast >= fast.ipis - 1, `every send_ipi answered on the worker: ${fast.fast} of ${fast.ipis}`);
  // vCPU 1's WFI with nothing pending blocks it (the main thread's decision): one exit per IPI, not the sender's.
  assert.ok(fast.exits < fast.ipis * 1.5, `about one exit per IPI: ${fast.exits} for ${fast.ipis}`);
  assert.ok(main.exits >= main.ipis * 1.5, `the main-thread path: the sender's exit too: ${main.exits} for ${main.ipis}`);
});

// Sv39 tables of vCPU 1 (guest-physical, in the domain's 2 MiB at 0x80000000): the gigapage
// 0x80000000 identity-mapped (code, DATA), and VA 0x40005000 through ROOT[1] -> L1[0] -> L0[5]
// to page OLD or NEW.
const ROOT = 0x80010000, L1 = 0x80011000, L0 = 0x80012000, OLD = 0x80013000, NEW = 0x80014000, VA = 0x40005000;
const pte = (pa: number, flags: number): number => (pa / 4096) * 1024 + flags;
const LEAF = 0x1 | 0x2 | 0x4 | 0x40 | 0x80; // V R W A D
const SATP_HI = (8 << 28) | 0; // Sv39 (mode in bits 63:60)
// DATA words: vCPU 1's iterations done, the iteration whose read first saw a new value, vCPU 0's
// snapshot of the iterations done right after its fence returned, GO (the round the test allows),
// DONE (the round whose fence returned), the last value read, the fence's a0.
const MISS_A = 0x80101000, MISS_B = MISS_A + 512 * 4096;
const SEQ = DATA, CHG = DATA + 8, RET_SEQ = DATA + 16, GO = DATA + 24, DONE = DATA + 32, LAST = DATA + 40, FERR = DATA + 48;

function fenceGuest(): number[] {
  return asm([
    ...li(S1, DATA), ...startHart1('entry1'), A.addi(S2, 0, 0),
    'round', A.addi(S2, S2, 1),
    'go', A.ld(T0, S1, 24), blt(T0, S2, 'go'),
    // remote_sfence_vma(hart_mask = 1 << 1, base 0, start 0, size 0): the whole address space of hart 1
    ...li(A7, SBI_EXT_RFENCE), A.addi(A6, 0, 1), A.addi(A0, 0, 2), A.addi(A1, 0, 0), A.addi(A2, 0, 0), A.addi(A3, 0, 0), A.ecall(),
    A.ld(T0, S1, 0), A.sd(T0, S1, 16), A.sd(A0, S1, 48), A.sd(S2, S1, 32), jmp('round'),
    'entry1', ...li(S1, DATA),
    ...li(T0, SATP_HI), A.slli(T0, T0, 32), ...li(T1, ROOT / 4096), A.or(T0, T0, T1), A.csrrw(0, CSR_SATP, T0), A.sfenceVma(0, 0),
    ...li(S0, VA), A.addi(S2, 0, 0), A.addi(S3, 0, 0), ...li(S4, MISS_A), ...li(S5, MISS_B),
    // Two loads that evict each other from the direct-mapped TLB (512 entries) make each
    // iteration slow, so a chunk between two polls takes long: a fence that did not wait for the
    // ack would let many iterations after its return read the old page.
    'loop1', A.ld(T1, S0, 0), A.ld(T2, S4, 0), A.ld(T2, S5, 0), A.sd(T1, S1, 40), beq(T1, S3, 'same'), A.addi(S3, T1, 0), A.sd(S2, S1, 8),
    'same', A.addi(S2, S2, 1), A.sd(S2, S1, 0), jmp('loop1'),
  ]);
}

test('a remote SFENCE.VMA answered on the worker is applied by the target on the other pCPU before the call returns', () => {
  const h = host(2);
  try {
    const d = h.create(fenceGuest(), 2, 4);
    poke64(d, ROOT + 2 * 8, pte(0x80000000, LEAF | 0x8)); // gigapage 2: RWX
    poke64(d, ROOT + 1 * 8, pte(L1, 0x1));
    poke64(d, L1, pte(L0, 0x1));
    poke64(d, L0 + 5 * 8, pte(OLD, LEAF));
    poke64(d, OLD, 0x11);
    poke64(d, NEW, 0x22);
    h.driveUntil(() => peek64(d, SEQ) > 10_000n && h.pcpus.executing(0) !== null && h.pcpus.executing(1) !== null);
    assert.equal(peek64(d, LAST), 0x11n);
    const exits0 = h.pcpus.exits, f0 = h.pcpus.sbiFastCalls();
    const ROUNDS = 8;
    for (let k = 1; k <= ROUNDS; k++) {
      const [from, to] = k % 2 === 1 ? [0x11n, 0x22n] : [0x22n, 0x11n];
      // The test changes the translation behind vCPU 1's back: its TLB keeps the old one.
      poke64(d, L0 + 5 * 8, pte(k % 2 === 1 ? NEW : OLD, LEAF));
      const s0 = peek64(d, SEQ);
      h.driveUntil(() => peek64(d, SEQ) > s0 + 5_000n);
      assert.equal(peek64(d, LAST), from, `round ${k}: without a fence vCPU 1 keeps its cached translation`);
      poke64(d, GO, k);
      h.driveUntil(() => peek64(d, DONE) === BigInt(k));
      assert.equal(peek64(d, DONE), BigInt(k), `round ${k}: the fence returned`);
      assert.equal(peek64(d, FERR), 0n, 'SBI_SUCCESS');
      const ret = peek64(d, RET_SEQ);
      h.driveUntil(() => peek64(d, SEQ) > ret + 1000n);
      // Iteration RET_SEQ may have loaded before vCPU 0 read SEQ; every later one started after the call returned.
      assert.ok(peek64(d, CHG) <= ret + 1n, `round ${k}: the first read of the new page (iteration ${peek64(d, CHG)}) is no later than the first iteration after the fence returned (${ret + 1n})`);
      assert.equal(peek64(d, LAST), to, `round ${k}: vCPU 1 reads through the new translation`);
    }
    // A wait that outlasts its bound (the host descheduled vCPU 1's thread for 20 ms: a loaded
    // host) hands that fence to the main thread, which gives the same guarantee.
    const f1 = h.pcpus.sbiFastCalls(), slow = f1.slow - f0.slow;
    assert.equal(f1.answered - f0.answered + slow, ROUNDS, `the fences were answered on the worker (${slow} after a timeout on the main thread)`);
    assert.ok(slow <= 2, `at most 2 of ${ROUNDS} waits timed out: ${slow}`);
    assert.ok(h.pcpus.exits - exits0 <= 4 + slow, `no exit for the fences: ${h.pcpus.exits - exits0}`);
  } finally {
    h.pcpus.stop();
  }
});

/** Both vCPUs fence each other in a loop (remote_sfence_vma to the other hart), counting returns at DATA + 8 * hartid. */
function crossFenceGuest(): number[] {
  return asm([
    ...startHart1('entry'), A.addi(A0, 0, 0),
    'entry', A.addi(S0, A0, 0), ...li(S1, DATA), A.slli(T0, S0, 3), A.add(S1, S1, T0), // s1 = my counter
    A.xori(S2, S0, 1), A.addi(T0, 0, 1), A.sll(S2, T0, S2), A.addi(S3, 0, 0), // s2 = 1 << other
    'loop', ...li(A7, SBI_EXT_RFENCE), A.addi(A6, 0, 1), A.addi(A0, S2, 0), A.addi(A1, 0, 0), A.addi(A2, 0, 0), A.addi(A3, 0, 0), A.ecall(),
    bne(A0, 0, 'stop'), A.addi(S3, S3, 1), A.sd(S3, S1, 0), jmp('loop'),
    'stop', 'halt', jmp('halt'),
  ]);
}

test('two vCPUs on two pCPU threads fencing each other at once both go on: each waiter acknowledges the other\'s fence', (t) => {
  const h = host(2);
  try {
    const d = h.create(crossFenceGuest());
    h.driveUntil(() => peek64(d, DATA) > 2000n && peek64(d, DATA + 8) > 2000n);
    const a = peek64(d, DATA), b = peek64(d, DATA + 8), f = h.pcpus.sbiFastCalls();
    t.diagnostic(`fences: vCPU 0 ${a}, vCPU 1 ${b}; answered on the workers ${f.answered}, waited ${f.waited}, timed out ${f.slow}; exits ${h.pcpus.exits}`);
    assert.ok(a > 2000n && b > 2000n, `both fence loops progress: ${a}, ${b}`);
    assert.ok(f.waited > 0, 'fences waited for the other pCPU');
    assert.ok(f.slow <= f.answered / 100, `(almost) no fence waited out its bound: ${f.slow}`);
    assert.ok(f.answered >= Number(a + b) - 10, `answered on the workers: ${f.answered} of ${a + b}`);
  } finally {
    h.pcpus.stop();
  }
});

/** vCPU 0 fences vCPU 1 (which counts in a loop) over and over, counting its fences at DATA. */
function fenceLoopGuest(): number[] {
  return asm([
    ...li(S1, DATA), ...startHart1('entry1'), A.addi(S3, 0, 0),
    'loop', ...li(A7, SBI_EXT_RFENCE), A.addi(A6, 0, 1), A.addi(A0, 0, 2), A.addi(A1, 0, 0), A.addi(A2, 0, 0), A.addi(A3, 0, 0), A.ecall(),
    A.addi(S3, S3, 1), A.sd(S3, S1, 0), A.sd(A0, S1, 16), jmp('loop'),
    'entry1', ...li(S1, DATA), 'spin', A.ld(T0, S1, 8), A.addi(T0, T0, 1), A.sd(T0, S1, 8), jmp('spin'),
  ]);
}

function fenceLoop(fast: boolean, ms: number): { fences: number; exits: number; waited: number; ms: number } {
  const h = host(2, fast);
  try {
    const d = h.create(fenceLoopGuest());
    h.driveUntil(() => peek64(d, DATA) > 100n && peek64(d, DATA + 8) > 0n);
    const f0 = Number(peek64(d, DATA)), e0 = h.pcpus.exits, w0 = h.pcpus.sbiFastCalls().waited, t0 = performance.now();
    h.drive(ms);
    assert.equal(peek64(d, DATA + 16), 0n, 'SBI_SUCCESS');
    return { fences: Number(peek64(d, DATA)) - f0, exits: h.pcpus.exits - e0, waited: h.pcpus.sbiFastCalls().waited - w0, ms: performance.now() - t0 };
  } finally {
    h.pcpus.stop();
  }
}

test('remote SFENCE.VMA to a vCPU executing on the other pCPU: answered on the worker, no exit per fence', (t) => {
  const fast = fenceLoop(true, 1000), main = fenceLoop(false, 1000);
  const us = (r: { fences: number; ms: number }): string => (r.ms * 1000 / Math.max(1, r.fences)).toFixed(1);
  t.diagnostic(`worker: ${fast.fences} fences in ${fast.ms.toFixed(0)} ms (${us(fast)} us each), ${fast.waited} waited for the ack, ${fast.exits} exits`);
  t.diagnostic(`main thread: ${main.fences} fences in ${main.ms.toFixed(0)} ms (${us(main)} us each), ${main.exits} exits`);
  assert.ok(fast.fences > 100, `fences complete: ${fast.fences}`);
  assert.ok(fast.exits < fast.fences / 100, `no exit per fence: ${fast.exits} for ${fast.fences}`);
  assert.ok(main.exits >= main.fences - 1, `the main-thread path exits once per fence: ${main.exits} for ${main.fences}`);
});

// Calls of vCPU 0 (hart 1 stays STOPPED): [a7, a6, a0, a1, a2, a3] (numbers as 32-bit values
// sign-extended by li; 'hi' marks a1 = 1 << 32).
type Call = [eid: number, fid: number, a0: number, a1: number | 'hi', a2: number, a3: number];
const CALLS: Call[] = [
  [SBI_EXT_IPI, 0, 0b10, 0, 0, 0], // hart 1 is STOPPED: skipped, SUCCESS
  [SBI_EXT_IPI, 0, 0b100, 0, 0, 0], // hart 2 does not exist: INVALID_PARAM
  [SBI_EXT_IPI, 0, 1, 2, 0, 0], // base 2: INVALID_PARAM
  [SBI_EXT_IPI, 0, 1, 'hi', 0, 0], // base >= 2^32: INVALID_PARAM
  [SBI_EXT_IPI, 0, 0, 7, 0, 0], // empty mask: SUCCESS
  [SBI_EXT_IPI, 0, 0x5a5a, -1, 0, 0], // base -1: every hart, SUCCESS
  [SBI_EXT_IPI, 1, 1, 0, 0, 0], // no such FID: NOT_SUPPORTED (main thread)
  [SBI_EXT_RFENCE, 0, 0b100, 0, 0, 0], // FENCE.I, hart 2: INVALID_PARAM
  [SBI_EXT_RFENCE, 1, 0b11, 0, -4096, 8192], // range past 2^64: INVALID_ADDRESS
  [SBI_EXT_RFENCE, 1, 0b11, 0, 0x1000, 0x2000], // a range: SUCCESS
  [SBI_EXT_RFENCE, 2, 0, -1, 0, -1], // ASID, all harts, size 2^64 - 1: SUCCESS
  [SBI_EXT_RFENCE, 2, 0b1000, 0, 0, 0], // hart 3: INVALID_PARAM
  [SBI_EXT_RFENCE, 3, 1, 0, 0, 0], // HFENCE: NOT_SUPPORTED (main thread)
];
const OUT = DATA + 0x100;

function errorGuest(): number[] {
  const c: number[] = [...li(S1, OUT)];
  CALLS.forEach(([eid, fid, a0, a1, a2, a3], i) => {
    c.push(...li(A7, eid), ...li(A6, fid), ...li(A0, a0), ...(a1 === 'hi' ? [A.addi(A1, 0, 1), A.slli(A1, A1, 32)] : li(A1, a1)), ...li(A2, a2), ...li(A3, a3));
    c.push(A.ecall(), A.sd(A0, S1, 16 * i), A.sd(A1, S1, 16 * i + 8));
  });
  c.push(...li(T0, 1), A.sd(T0, S1, 16 * CALLS.length), A.jal(0, 0));
  return c;
}

function errorRun(fast: boolean): { results: bigint[]; answered: number; ssip: number } {
  const h = host(2, fast);
  try {
    const d = h.create(errorGuest());
    h.driveUntil(() => peek64(d, OUT + 16 * CALLS.length) === 1n);
    assert.equal(peek64(d, OUT + 16 * CALLS.length), 1n, 'every call returned');
    const results = CALLS.flatMap((_, i) => [peek64(d, OUT + 16 * i), peek64(d, OUT + 16 * i + 8)]);
    return { results, answered: h.pcpus.sbiFastCalls().answered, ssip: Atomics.load(d.vcpus[1]!.hart.s, MIP_SW) & MIP_SSIP };
  } finally {
    h.pcpus.stop();
  }
}

test('bad hart masks, ranges and FIDs get the same SBI errors on the worker as on the main thread', () => {
  const fast = errorRun(true), main = errorRun(false);
  const u = (e: number): bigint => BigInt.asUintN(64, BigInt(e));
  const want = [0, -3, -3, -3, 0, 0, -2, -3, -5, 0, 0, -3, -2];
  assert.deepEqual(main.results.filter((_, i) => i % 2 === 0), want.map(u), 'the main thread\'s vSBI');
  assert.deepEqual(fast.results, main.results, 'a0 and a1 of every call are the same on the worker');
  assert.equal(fast.answered, CALLS.length - 2, 'all but the two NOT_SUPPORTED FIDs answered on the worker');
  assert.equal(main.answered, 0);
  assert.equal(fast.ssip, 0, 'the STOPPED hart got no IPI (worker)');
  assert.equal(main.ssip, 0, 'the STOPPED hart got no IPI (main thread)');
});
