// SPDX-License-Identifier: GPL-2.0-only
// Hostile guests: random instruction streams (seeded, reproducible) with registers pointing
// into RAM, the UART, the ACLINT and the test device. Control transfers and SYSTEM
// instructions are left out so execution runs straight through the random code, and an
// M-mode handler skips whatever traps: loads, stores, AMOs, FP and illegal encodings hit every
// device at random offsets and sizes. Whatever happens must end in a stop reason from the
// board (pass, fail, reset, limit, idle), never in a host exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BareBoard, BARE_CLINT_BASE, BARE_RAM_BASE, BARE_TEST_BASE, BARE_UART_BASE } from './bare.ts';
import { MSTATUS, MTVEC } from '../riscv/hart-state.ts';

/** xorshift32: a reproducible stream of 32-bit values. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

// M-mode handler near the end of RAM (encodings from binutils' riscv64-linux-gnu-as): skip the
// trapping instruction, or restart at RAM base after an instruction access fault (a skipped
// 2-byte instruction can land mid-instruction and decode a jump out of RAM).
const HANDLER = [
  0x342022f3, //    csrr t0, mcause
  0xfff28293, //    addi t0, t0, -1
  0x00028a63, //    beqz t0, 1f
  0x341022f3, //    csrr t0, mepc
  0x00428293, //    addi t0, t0, 4
  0x34129073, //    csrw mepc, t0
  0x30200073, //    mret
  0x00100293, // 1: li t0, 1
  0x01f29293, //    slli t0, t0, 31
  0x34129073, //    csrw mepc, t0
  0x30200073, //    mret
];
const RAM = 1 << 20;
const HANDLER_OFF = RAM - 0x1000;

/** No branches, jumps or SYSTEM (which would leave the stream or rewrite trap state). */
function straightLine32(w: number): boolean {
  const op = w & 0x7f;
  return op !== 0x63 && op !== 0x67 && op !== 0x6f && op !== 0x73;
}
function straightLine16(h: number): boolean {
  const q = h & 3, f3 = h >>> 13;
  if (q === 1 && f3 >= 5) return false;                                    // c.j, c.beqz, c.bnez
  if (q === 2 && f3 === 4 && ((h >>> 2) & 0x1f) === 0) return false;       // c.jr, c.jalr, c.ebreak
  return true;
}

/** jal x0, off (J-type immediate layout, Spec: riscv-unpriv-20240411 "Base Instruction Formats"). */
function jal0(off: number): number {
  return ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) | (((off >> 12) & 0xff) << 12) | 0x6f) >>> 0;
}

function fuzzImage(next: () => number, words: number): Uint8Array {
  const img = new Uint32Array(RAM / 4);
  for (let i = 0; i < words; i++) {
    let w = next();
    if ((i & 1) === 0) { w = (w | 3) >>> 0; while (!straightLine32(w)) w = (next() | 3) >>> 0; }
    else {
      // two compressed instructions
      let lo = w & 0xffff, hi = w >>> 16;
      while ((lo & 3) === 3 || !straightLine16(lo)) lo = next() & 0xffff;
      while ((hi & 3) === 3 || !straightLine16(hi)) hi = next() & 0xffff;
      w = ((hi << 16) | lo) >>> 0;
    }
    img[i] = w;
  }
  img[words] = jal0(-words * 4); // and round again (the code has changed some of itself meanwhile)
  img.set(HANDLER, HANDLER_OFF / 4);
  return new Uint8Array(img.buffer);
}

for (const seed of [1, 2, 3, 0xdecaf, 0xbadc0de]) {
  test(`random instruction stream, seed ${seed}: the board stops cleanly`, () => {
    const next = rng(seed);
    let out = 0;
    const board = new BareBoard({ ramSize: RAM, hartCount: 2, clock: 'deterministic', onTransmit: () => { out++; } });
    board.load({ kernel: fuzzImage(next, 0x4000) });
    const targets = [BARE_RAM_BASE, BARE_RAM_BASE + 0x8000, BARE_UART_BASE, BARE_CLINT_BASE, BARE_CLINT_BASE + 0x4000,
      BARE_CLINT_BASE + 0xbff8, BARE_TEST_BASE + 8, 0, -1, 0x7fff_fff0];
    for (const h of board.harts) {
      for (let r = 1; r < 32; r++) h.setXNum(r, targets[next() % targets.length] + (next() & 0x7f8));
      h.s[MTVEC] = BARE_RAM_BASE + HANDLER_OFF;
      h.s[MTVEC + 1] = 0;
      h.s[MSTATUS] |= 1 << 13; // FS = Initial: FP instructions execute
    }
    const stop = board.run(200_000, 5000);
    assert.ok(['pass', 'fail', 'reset', 'limit', 'idle'].includes(stop.kind), JSON.stringify(stop));
    assert.ok(board.instructions > 0);
    if (process.env.FUZZ_VERBOSE) console.log(seed, stop, board.instructions, out, board.harts.map((h) => h.getPc().toString(16)));
  });
}
