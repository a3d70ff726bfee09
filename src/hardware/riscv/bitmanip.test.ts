// SPDX-License-Identifier: GPL-2.0-only
// Zba/Zbb/Zbc/Zbs against BigInt reference semantics written from riscv-unpriv-20240411 §28
// "B" Extension for Bit Manipulation: every instruction on edge and random operands, run in
// a loop on an interpreting hart and on a hart that translates the loop into one block, with
// rd distinct from and equal to rs1.
// Encodings are checked against GNU as output, near-miss encodings must stay illegal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as S from './hart-state.ts';
import type { Block } from './jit.ts';
import { A, makeHart, RAM_BASE, setx, xr } from './test-support.ts';

const M64 = (1n << 64n) - 1n, M32 = 0xffffffffn;
const u = (v: bigint) => BigInt.asUintN(64, v);
const s = (v: bigint) => BigInt.asIntN(64, v);
const sx32 = (v: bigint) => u(BigInt.asIntN(32, v));
const rotl = (v: bigint, n: bigint, w: bigint) => { const m = (1n << w) - 1n; v &= m; n %= w; return ((v << n) | (v >> ((w - n) % w))) & m; };
const bitlen = (v: bigint) => v === 0n ? 0n : BigInt(v.toString(2).length);
const ctz = (v: bigint, w: bigint) => { let n = 0n; while (n < w && ((v >> n) & 1n) === 0n) n++; return n; };
const pop = (v: bigint) => BigInt([...v.toString(2)].filter((c) => c === '1').length);
function clmul128(a: bigint, b: bigint): bigint {
  let r = 0n;
  for (let i = 0n; i < 64n; i++) if ((b >> i) & 1n) r ^= a << i;
  return r;
}
function bytes(a: bigint, f: (byte: bigint, i: bigint) => [bigint, bigint]): bigint {
  let r = 0n;
  for (let i = 0n; i < 8n; i++) { const [v, at] = f((a >> (8n * i)) & 0xffn, i); r |= v << (8n * at); }
  return r;
}

// Encoders from the spec's R/I formats (§2.2 "Base Instruction Formats", as test-support.ts
// cites it), independent of bitmanip.ts's decoder.
const R = (f7: number, f3: number, op: number) => (rd: number, rs1: number, rs2: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const I = (imm12: number, f3: number, op: number) => (rd: number, rs1: number, sh: number) =>
  (((imm12 | sh) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const OP = 0x33, OP32 = 0x3b, IMM = 0x13, IMM32 = 0x1b;

interface Case {
  enc: (rd: number, rs1: number, rs2OrShamt: number) => number;
  /** Reference on unsigned 64-bit operands (b is the shamt for immediate forms). */
  ref: (a: bigint, b: bigint) => bigint;
  /** Immediate form: shamt range. */
  shamt?: number;
}
const shadd = (n: bigint, uw: boolean) => (a: bigint, b: bigint) => u(b + ((uw ? a & M32 : a) << n));
const CASES: Record<string, Case> = {
  'add.uw': { enc: R(0x04, 0, OP32), ref: (a, b) => u(b + (a & M32)) },
  sh1add: { enc: R(0x10, 2, OP), ref: shadd(1n, false) },
  sh2add: { enc: R(0x10, 4, OP), ref: shadd(2n, false) },
  sh3add: { enc: R(0x10, 6, OP), ref: shadd(3n, false) },
  'sh1add.uw': { enc: R(0x10, 2, OP32), ref: shadd(1n, true) },
  'sh2add.uw': { enc: R(0x10, 4, OP32), ref: shadd(2n, true) },
  'sh3add.uw': { enc: R(0x10, 6, OP32), ref: shadd(3n, true) },
  'slli.uw': { enc: I(0x080, 1, IMM32), ref: (a, b) => u((a & M32) << b), shamt: 64 },
  andn: { enc: R(0x20, 7, OP), ref: (a, b) => a & ~b & M64 },
  orn: { enc: R(0x20, 6, OP), ref: (a, b) => (a | ~b) & M64 },
  xnor: { enc: R(0x20, 4, OP), ref: (a, b) => ~(a ^ b) & M64 },
  clz: { enc: I(0x600, 1, IMM), ref: (a) => 64n - bitlen(a), shamt: 1 },
  ctz: { enc: I(0x601, 1, IMM), ref: (a) => ctz(a, 64n), shamt: 1 },
  cpop: { enc: I(0x602, 1, IMM), ref: (a) => pop(a), shamt: 1 },
  clzw: { enc: I(0x600, 1, IMM32), ref: (a) => 32n - bitlen(a & M32), shamt: 1 },
  ctzw: { enc: I(0x601, 1, IMM32), ref: (a) => ctz(a, 32n), shamt: 1 },
  cpopw: { enc: I(0x602, 1, IMM32), ref: (a) => pop(a & M32), shamt: 1 },
  max: { enc: R(0x05, 6, OP), ref: (a, b) => (s(a) < s(b) ? b : a) },
  maxu: { enc: R(0x05, 7, OP), ref: (a, b) => (a < b ? b : a) },
  min: { enc: R(0x05, 4, OP), ref: (a, b) => (s(a) < s(b) ? a : b) },
  minu: { enc: R(0x05, 5, OP), ref: (a, b) => (a < b ? a : b) },
  'sext.b': { enc: I(0x604, 1, IMM), ref: (a) => u(BigInt.asIntN(8, a)), shamt: 1 },
  'sext.h': { enc: I(0x605, 1, IMM), ref: (a) => u(BigInt.asIntN(16, a)), shamt: 1 },
  'zext.h': { enc: I(0x080, 4, OP32), ref: (a) => a & 0xffffn, shamt: 1 },
  rol: { enc: R(0x30, 1, OP), ref: (a, b) => rotl(a, b & 63n, 64n) },
  ror: { enc: R(0x30, 5, OP), ref: (a, b) => rotl(a, (64n - (b & 63n)) % 64n, 64n) },
  rolw: { enc: R(0x30, 1, OP32), ref: (a, b) => sx32(rotl(a, b & 31n, 32n)) },
  rorw: { enc: R(0x30, 5, OP32), ref: (a, b) => sx32(rotl(a, (32n - (b & 31n)) % 32n, 32n)) },
  rori: { enc: I(0x600, 5, IMM), ref: (a, b) => rotl(a, (64n - b) % 64n, 64n), shamt: 64 },
  roriw: { enc: I(0x600, 5, IMM32), ref: (a, b) => sx32(rotl(a, (32n - b) % 32n, 32n)), shamt: 32 },
  'orc.b': { enc: I(0x287, 5, IMM), ref: (a) => bytes(a, (v, i) => [v === 0n ? 0n : 0xffn, i]), shamt: 1 },
  rev8: { enc: I(0x6b8, 5, IMM), ref: (a) => bytes(a, (v, i) => [v, 7n - i]), shamt: 1 },
  clmul: { enc: R(0x05, 1, OP), ref: (a, b) => clmul128(a, b) & M64 },
  clmulh: { enc: R(0x05, 3, OP), ref: (a, b) => clmul128(a, b) >> 64n },
  clmulr: { enc: R(0x05, 2, OP), ref: (a, b) => (clmul128(a, b) >> 63n) & M64 },
  bclr: { enc: R(0x24, 1, OP), ref: (a, b) => a & ~(1n << (b & 63n)) & M64 },
  bext: { enc: R(0x24, 5, OP), ref: (a, b) => (a >> (b & 63n)) & 1n },
  binv: { enc: R(0x34, 1, OP), ref: (a, b) => a ^ (1n << (b & 63n)) },
  bset: { enc: R(0x14, 1, OP), ref: (a, b) => a | (1n << (b & 63n)) },
  bclri: { enc: I(0x480, 1, IMM), ref: (a, b) => a & ~(1n << b) & M64, shamt: 64 },
  bexti: { enc: I(0x480, 5, IMM), ref: (a, b) => (a >> b) & 1n, shamt: 64 },
  binvi: { enc: I(0x680, 1, IMM), ref: (a, b) => a ^ (1n << b), shamt: 64 },
  bseti: { enc: I(0x280, 1, IMM), ref: (a, b) => a | (1n << b), shamt: 64 },
};

test('encodings agree with GNU as (binutils 2.40, -march=rv64gc_zba_zbb_zbc_zbs, a0 <- a1 op a2)', () => {
  // riscv64-linux-gnu-as output; immediates: slli.uw 33, rori 37, roriw 7, b*i 40
  const GAS: Record<string, [number, number]> = {
    'add.uw': [0x08c5853b, 12], sh1add: [0x20c5a533, 12], sh2add: [0x20c5c533, 12], sh3add: [0x20c5e533, 12],
    'sh1add.uw': [0x20c5a53b, 12], 'sh2add.uw': [0x20c5c53b, 12], 'sh3add.uw': [0x20c5e53b, 12], 'slli.uw': [0x0a15951b, 33],
    andn: [0x40c5f533, 12], orn: [0x40c5e533, 12], xnor: [0x40c5c533, 12], clz: [0x60059513, 0], ctz: [0x60159513, 0],
    cpop: [0x60259513, 0], clzw: [0x6005951b, 0], ctzw: [0x6015951b, 0], cpopw: [0x6025951b, 0], max: [0x0ac5e533, 12],
    maxu: [0x0ac5f533, 12], min: [0x0ac5c533, 12], minu: [0x0ac5d533, 12], 'sext.b': [0x60459513, 0],
    'sext.h': [0x60559513, 0], 'zext.h': [0x0805c53b, 0], rol: [0x60c59533, 12], ror: [0x60c5d533, 12],
    rolw: [0x60c5953b, 12], rorw: [0x60c5d53b, 12], rori: [0x6255d513, 37], roriw: [0x6075d51b, 7],
    'orc.b': [0x2875d513, 0], rev8: [0x6b85d513, 0], clmul: [0x0ac59533, 12], clmulh: [0x0ac5b533, 12],
    clmulr: [0x0ac5a533, 12], bclr: [0x48c59533, 12], bclri: [0x4a859513, 40], bext: [0x48c5d533, 12],
    bexti: [0x4a85d513, 40], binv: [0x68c59533, 12], binvi: [0x6a859513, 40], bset: [0x28c59533, 12], bseti: [0x2a859513, 40],
  };
  assert.deepEqual(Object.keys(GAS).sort(), Object.keys(CASES).sort());
  for (const [name, [word, b]] of Object.entries(GAS)) assert.equal(CASES[name].enc(10, 11, b), word, name);
});

let seed = 0x9e3779b97f4a7c15n;
function rnd(): bigint {
  seed ^= seed << 13n; seed = u(seed); seed ^= seed >> 7n; seed ^= seed << 17n; seed = u(seed);
  const k = seed & 7n;
  if (k === 0n) return seed & 0xffn;
  if (k === 1n) return seed & 0xffffffffn;
  if (k === 2n) return u(BigInt.asIntN(32, seed)); // sign-extended word
  if (k === 3n) return seed & 0xff00ff0000ff00ffn; // zero bytes for orc.b
  if (k === 4n) return 1n << (seed >> 58n);
  return seed;
}
const EDGE = [0n, 1n, 2n, 0x80n, 0xffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, M32, 0x100000000n,
  0x7fffffffffffffffn, 0x8000000000000000n, M64, u(-2n), 0x0123456789abcdefn, 0x00ff000000ff0000n, 0x8000000000000001n];
const PAIRS: [bigint, bigint][] = [];
for (const a of EDGE) for (const b of EDGE) PAIRS.push([a, b]);
for (const a of EDGE) for (let b = 0n; b < 70n; b++) PAIRS.push([a, b]);
for (let i = 0; i < 1500; i++) PAIRS.push([rnd(), rnd()]);

const IN = RAM_BASE + 0x10000, OUT = RAM_BASE + 0x80000;

/**
 * Run `insn(rd, rs1)` over the pairs in one loop: x7 = op(x5, x6) and x8 = op(x8, x6) with
 * x8 = x5 (rd = rs1), and op with rd = x0. Returns the two results per pair and the hart.
 */
function runLoop(make: (rd: number, rs1: number) => number, pairs: [bigint, bigint][], jit: boolean) {
  const { hart, phys } = makeHart({ jit, jitThreshold: 1 });
  const body = [A.ld(5, 10, 0), A.ld(6, 10, 8), A.addi(8, 5, 0), make(7, 5), make(8, 8), make(0, 5),
    A.sd(7, 11, 0), A.sd(8, 11, 8), A.addi(10, 10, 16), A.addi(11, 11, 16), A.addi(12, 12, -1)];
  phys.put(RAM_BASE, ...body, A.bne(12, 0, -4 * body.length), A.jal(0, 0));
  pairs.forEach(([a, b], i) => { phys.write64(IN + 16 * i, a); phys.write64(IN + 16 * i + 8, b); });
  setx(hart, 10, BigInt(IN)); setx(hart, 11, BigInt(OUT)); setx(hart, 12, BigInt(pairs.length));
  hart.step(pairs.length * (body.length + 1) + 1);
  assert.equal(hart.s[S.MCAUSE], 0, 'no trap');
  assert.equal(hart.getPc(), RAM_BASE + 4 * (body.length + 1), 'the loop ran to its end');
  return { hart, got: pairs.map((_, i) => [phys.read64(OUT + 16 * i), phys.read64(OUT + 16 * i + 8)]) };
}

for (const [name, c] of Object.entries(CASES)) {
  test(`${name}: interpreter and translated block equal the reference`, () => {
    const shamts = c.shamt === undefined ? [-1] : Array.from({ length: c.shamt }, (_, k) => k);
    for (const sh of shamts) {
      const pairs = sh < 0 ? PAIRS : c.shamt === 1 ? PAIRS : PAIRS.filter((_, i) => i % 16 === sh % 16);
      const make = (rd: number, rs1: number) => c.enc(rd, rs1, sh < 0 ? 6 : sh);
      for (const jit of [false, true]) {
        const { hart, got } = runLoop(make, pairs, jit);
        if (jit) {
          const blocks = (hart as unknown as { blocks: { blocks: Block[] } }).blocks.blocks;
          assert.ok(blocks.some((b) => b.off === 0 && b.n === 12), 'the whole loop is one block, B instructions included');
        }
        pairs.forEach(([a, b], i) => {
          const want = u(c.ref(a, sh < 0 ? b : BigInt(sh)));
          const what = `${name}${jit ? ' (jit)' : ''} a=${a.toString(16)} ${sh < 0 ? `b=${b.toString(16)}` : `shamt=${sh}`}`;
          assert.equal(got[i][0], want, what);
          assert.equal(got[i][1], want, `${what}, rd = rs1`);
        });
        assert.equal(xr(hart, 0), 0n);
      }
    }
  });
}

test('near-miss encodings stay illegal (mcause 2, mtval = the word) in the interpreter and the JIT', () => {
  const words = [
    R(0x05, 0, OP)(7, 5, 6), // OP funct7 0000101 funct3 000
    R(0x10, 1, OP)(7, 5, 6), R(0x20, 1, OP)(7, 5, 6), R(0x24, 2, OP)(7, 5, 6), R(0x34, 5, OP)(7, 5, 6), R(0x14, 5, OP)(7, 5, 6),
    I(0x603, 1, IMM)(7, 5, 0), I(0x606, 1, IMM)(7, 5, 0), I(0x603, 1, IMM32)(7, 5, 0), I(0x604, 1, IMM32)(7, 5, 0),
    I(0x288, 5, IMM)(7, 5, 0), I(0x698, 5, IMM)(7, 5, 0), I(0x6b0, 5, IMM)(7, 5, 0), // orc.b/rev8 neighbours, RV32 rev8
    I(0x081, 4, OP32)(7, 5, 0), R(0x04, 1, OP32)(7, 5, 6), R(0x10, 0, OP32)(7, 5, 6),
    I(0x620, 5, IMM32)(7, 5, 0), I(0x0c0, 1, IMM32)(7, 5, 0), R(0x30, 2, OP32)(7, 5, 6), I(0x480, 5, IMM32)(7, 5, 0),
  ];
  for (const w of words) {
    for (const jit of [false, true]) {
      const { hart, phys } = makeHart({ jit, jitThreshold: 1 });
      hart.s[S.MTVEC] = RAM_BASE + 0x800;
      phys.put(RAM_BASE + 0x800, A.jal(0, 0));
      phys.put(RAM_BASE, A.addi(5, 5, 1), w, A.jal(0, 0));
      hart.step(2);
      assert.equal(hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN, `0x${w.toString(16)}`);
      assert.equal(hart.s[S.MTVAL] >>> 0, w);
      assert.equal(hart.s[S.MEPC] >>> 0, RAM_BASE + 4);
    }
  }
});

test('ctzw counts in the low word only: 32 for 0x8000000000000000 (QEMU 7.2 answers 63)', () => {
  for (const jit of [false, true]) {
    const { got } = runLoop((rd, rs1) => CASES.ctzw.enc(rd, rs1, 0), [[0x8000000000000000n, 0n], [0x200000000n, 0n]], jit);
    assert.deepEqual(got.map((g) => g[0]), [32n, 32n]);
  }
});
