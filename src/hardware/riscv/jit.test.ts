// SPDX-License-Identifier: GPL-2.0-only
// Block translation against the interpreter: random loop programs (every translated integer
// instruction, loads and stores, forward branches, faulting accesses whose trap handler
// skips them) run on two harts, one translating hot blocks at once and one interpreting
// only; registers, memory, pc and trap CSRs must match exactly. Also: FENCE.I drops stale
// translations, and a block that traps midway counts instructions exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as S from './hart-state.ts';
import { A, makeHart, RAM_BASE, setx, xr, type TestPhys } from './test-support.ts';
import { hartBlockCache } from './hart.ts';
import type { Hart } from './hart.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return s >>> 0; };
}

const DATA = RAM_BASE + 0x8000;
const HANDLER = RAM_BASE + 0x800;
const CSR_MEPC = 0x341;

const R3 = ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and', 'addw', 'subw', 'sllw', 'srlw', 'sraw',
  'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu', 'mulw', 'divw', 'divuw', 'remw', 'remuw'] as const;
const RI = ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'addiw'] as const;
const SH = ['slli', 'srli', 'srai'] as const;
const SHW = ['slliw', 'srliw', 'sraiw'] as const;
const LD = ['lb', 'lh', 'lw', 'ld', 'lbu', 'lhu', 'lwu'] as const;
const ST = ['sb', 'sh', 'sw', 'sd'] as const;

/** A random loop body; x30 is the loop counter, x31 the data base, x29 a wild pointer. */
function program(r: () => number): number[] {
  const reg = () => 1 + (r() % 28); // x1..x28 as destinations / sources
  const src = () => r() % 30;
  const body: number[] = [];
  const n = 8 + (r() % 24);
  for (let i = 0; i < n; i++) {
    const k = r() % 10;
    if (k < 3) body.push((A[R3[r() % R3.length]] as (a: number, b: number, c: number) => number)(reg(), src(), src()));
    else if (k < 5) body.push((A[RI[r() % RI.length]] as (a: number, b: number, c: number) => number)(reg(), src(), (r() % 4096) - 2048));
    else if (k === 5) body.push(r() & 1 ? (A[SH[r() % 3]])(reg(), src(), r() % 64) : (A[SHW[r() % 3]])(reg(), src(), r() % 32));
    else if (k === 6) body.push(r() & 1 ? A.lui(reg(), r() & 0xfffff) : A.auipc(reg(), r() & 0xfffff));
    else if (k === 7) body.push((A[LD[r() % LD.length]] as (a: number, b: number, c: number) => number)(reg(), r() % 8 === 0 ? 29 : 31, r() % 512 - 64));
    else if (k === 8) body.push((A[ST[r() % ST.length]] as (a: number, b: number, c: number) => number)(src(), r() % 8 === 0 ? 29 : 31, r() % 512 - 64));
    else {
      const ops = [A.beq, A.bne, A.blt, A.bge, A.bltu, A.bgeu];
      body.push(ops[r() % 6](src(), src(), 4 * (1 + (r() % 3))));
    }
  }
  // counter decrement and the back edge
  body.push(A.addi(30, 30, -1));
  body.push(A.bne(30, 0, -4 * (body.length)));
  body.push(A.jal(0, 0));
  return body;
}

function setup(jit: boolean, words: number[], r: () => number): { hart: Hart; phys: TestPhys } {
  const { hart, phys } = makeHart({ jit, jitThreshold: 2 });
  phys.put(RAM_BASE, ...words);
  // trap handler: skip the faulting (4-byte) instruction
  phys.put(HANDLER, A.csrrs(28, CSR_MEPC, 0), A.addi(28, 28, 4), A.csrrw(0, CSR_MEPC, 28), A.mret());
  hart.s[S.MTVEC] = HANDLER;
  hart.s[S.MSTATUS] |= 3 << 11; // MPP = M: mret stays in M
  for (let i = 1; i < 30; i++) setx(hart, i, (BigInt(r()) << 32n) | BigInt(r()));
  setx(hart, 30, 300n);
  setx(hart, 31, BigInt(DATA));
  setx(hart, 29, BigInt(r() & 1 ? DATA + (r() & 0xfff) : r()));
  for (let i = 0; i < 1024; i++) phys.view.setUint32(DATA - RAM_BASE - 512 + 4 * i, r(), true);
  return { hart, phys };
}

test('translated blocks and the interpreter agree on random programs', () => {
  for (let p = 0; p < 150; p++) {
    const words = program(rng(1000 + p));
    const a = setup(true, words, rng(5000 + p));
    const b = setup(false, words, rng(5000 + p));
    const budget = 25_000;
    a.hart.step(budget);
    b.hart.step(budget);
    for (let i = 0; i < 32; i++) assert.equal(xr(a.hart, i), xr(b.hart, i), `program ${p}: x${i}`);
    assert.equal(a.hart.getPc(), b.hart.getPc(), `program ${p}: pc`);
    assert.equal(a.hart.s[S.MCAUSE], b.hart.s[S.MCAUSE]);
    assert.equal(a.hart.s[S.MINSTRET], b.hart.s[S.MINSTRET], `program ${p}: minstret`);
    assert.deepEqual(a.phys.bytes.subarray(DATA - RAM_BASE - 1024, DATA - RAM_BASE + 4096),
      b.phys.bytes.subarray(DATA - RAM_BASE - 1024, DATA - RAM_BASE + 4096), `program ${p}: memory`);
  }
});

test('small budgets end inside blocks and loops at exactly the same instruction as the interpreter', () => {
  // Each step() may end before a block or in the middle of a loop running inside a block:
  // a block runs only when the budget covers a pass, and loops only for the passes it covers,
  // so pc, registers and the count agree with the interpreter after every step.
  for (let p = 0; p < 60; p++) {
    const words = program(rng(7000 + p));
    const a = setup(true, words, rng(9000 + p));
    const b = setup(false, words, rng(9000 + p));
    const r = rng(11000 + p);
    for (let k = 0; k < 400; k++) {
      const budget = 1 + (r() % 90);
      a.hart.step(budget);
      b.hart.step(budget);
      assert.equal(a.hart.instructions, b.hart.instructions, `program ${p} step ${k}: count`);
      assert.equal(a.hart.getPc(), b.hart.getPc(), `program ${p} step ${k}: pc`);
    }
    for (let i = 0; i < 32; i++) assert.equal(xr(a.hart, i), xr(b.hart, i), `program ${p}: x${i}`);
    assert.equal(a.hart.s[S.MINSTRET], b.hart.s[S.MINSTRET], `program ${p}: minstret`);
  }
});

test('FENCE.I drops a stale translation; without it the old code may still run', () => {
  const { hart, phys } = makeHart({ jit: true, jitThreshold: 1 });
  // loop: addi x5, x5, 1 ; addi x6, x6, -1 ; bne x6, x0, loop ; then patch and fence.i
  phys.put(RAM_BASE, A.addi(5, 5, 1), A.addi(6, 6, -1), A.bne(6, 0, -8), A.jal(0, 0));
  setx(hart, 6, 10n);
  hart.step(3 * 10);
  assert.equal(xr(hart, 5), 10n);
  phys.put(RAM_BASE, A.addi(5, 5, 100));
  phys.put(RAM_BASE + 12, A.fenceI(), A.jal(0, -16));
  setx(hart, 6, 1n);
  hart.setPc(RAM_BASE + 12);
  hart.step(1 + 1 + 3);
  assert.equal(xr(hart, 5), 110n, 'after fence.i the new instruction runs');
});

test('a block that traps midway retires exactly the instructions before the fault', () => {
  const { hart, phys } = makeHart({ jit: true, jitThreshold: 1 });
  hart.s[S.MTVEC] = HANDLER;
  phys.put(HANDLER, A.jal(0, 0));
  // loop body with a load that faults on the second pass (x7 becomes a bad address)
  phys.put(RAM_BASE, A.addi(5, 5, 1), A.ld(8, 7, 0), A.addi(6, 6, -1), A.add(7, 7, 9), A.bne(6, 0, -16), A.jal(0, 0));
  setx(hart, 6, 100n);
  setx(hart, 7, BigInt(DATA));
  setx(hart, 9, 0x10000000n); // the second pass moves x7 out of RAM
  hart.step(1000);
  assert.equal(hart.s[S.MCAUSE], S.CAUSE_LOAD_ACCESS);
  assert.equal(hart.s[S.MEPC] >>> 0, RAM_BASE + 4);
  assert.equal(xr(hart, 5), 2n, "the second pass faults at the load");
  const h2 = makeHart({ jit: false });
  h2.hart.s[S.MTVEC] = HANDLER;
  h2.phys.put(HANDLER, A.jal(0, 0));
  h2.phys.put(RAM_BASE, A.addi(5, 5, 1), A.ld(8, 7, 0), A.addi(6, 6, -1), A.add(7, 7, 9), A.bne(6, 0, -16), A.jal(0, 0));
  setx(h2.hart, 6, 100n); setx(h2.hart, 7, BigInt(DATA)); setx(h2.hart, 9, 0x10000000n);
  h2.hart.step(1000);
  assert.equal(hart.s[S.MINSTRET], h2.hart.s[S.MINSTRET]);
});

test('guest mode: a refused store inside a translated block exits with the exact pc and instruction', () => {
  const { hart, phys } = makeHart({ guestMode: true, jit: true, jitThreshold: 1 });
  const st = A.sd(6, 7, 0);
  // loop: addi x5,1 ; sd x6,0(x7) ; add x7,x7,x9 ; addi x8,-1 ; bne x8,x0,loop
  phys.put(RAM_BASE, A.addi(5, 5, 1), st, A.add(7, 7, 9), A.addi(8, 8, -1), A.bne(8, 0, -16), A.jal(0, 0));
  setx(hart, 7, BigInt(DATA)); setx(hart, 8, 50n); setx(hart, 9, 0x1000n);
  phys.deny.set((DATA + 0x3000) / 4096, 2 /* ACCESS_W */);
  const e = hart.step(10_000);
  assert.equal(e, 3 /* EXIT_PHYS_FAULT */);
  assert.equal(hart.getPc(), RAM_BASE + 4);
  assert.equal(hart.s[S.EXIT_GPA] >>> 0, DATA + 0x3000);
  assert.equal(hart.s[S.EXIT_INSN] >>> 0, st);
  assert.equal(xr(hart, 5), 4n, 'three passes completed, the fourth faulted at its store');
  assert.equal(hart.instructions, 3 * 5 + 2);
});

test('harts sharing a block cache compile each block once and keep their own registers', () => {
  // loop: x5 += x7 ; x6 -= 1 ; bne x6, x0, loop ; j .
  const words = [A.add(5, 5, 7), A.addi(6, 6, -1), A.bne(6, 0, -8), A.jal(0, 0)];
  const one = makeHart({ jitThreshold: 1 });
  one.phys.put(RAM_BASE, ...words);
  const phys = one.phys;
  const blockCache = hartBlockCache(phys.memory);
  const a = makeHart({ phys, jitThreshold: 1, blockCache }).hart;
  const b = makeHart({ phys, jitThreshold: 1, blockCache, hartId: 1 }).hart;
  setx(a, 6, 100n); setx(a, 7, 3n);
  setx(b, 6, 50n); setx(b, 7, 1000n);
  a.step(1000);
  b.step(1000);
  assert.equal(b.blocks, blockCache);
  const loops = blockCache.blocks.filter((k) => k.off === 0 && k.n === 3);
  assert.equal(loops.length, 1, 'the loop was translated once, for both harts');
  assert.equal(xr(a, 5), 300n);
  assert.equal(xr(b, 5), 50000n);
  assert.equal(a.instructions, 1000);
  // FENCE.I on one hart revalidates the shared blocks for all: patched code runs on the other.
  phys.put(RAM_BASE, A.sub(5, 5, 7));
  a.flushICache();
  setx(b, 6, 2n); b.setPc(RAM_BASE);
  b.step(6);
  assert.equal(xr(b, 5), 48000n);
});
