// SPDX-License-Identifier: GPL-2.0-only
// RV64I on the hart: arithmetic, shifts, compares, branches, jumps, loads and stores, x0,
// misaligned and page-crossing accesses, MMIO splitting. Expected values come from BigInt
// arithmetic written here, independent of the interpreter's int32-halves code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT_BUDGET } from './hart-api.ts';
import { A, makeHart, RAM_BASE, setx, xr } from './test-support.ts';

const M64 = (1n << 64n) - 1n;
const u = (v: bigint) => BigInt.asUintN(64, v);
const s64 = (v: bigint) => BigInt.asIntN(64, v);

/** Run one R-type op on (a, b) and return rd. */
function rop(enc: (rd: number, rs1: number, rs2: number) => number, a: bigint, b: bigint): bigint {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE, enc(7, 5, 6));
  setx(hart, 5, a); setx(hart, 6, b);
  assert.equal(hart.step(1), EXIT_BUDGET);
  return xr(hart, 7);
}
function iop(enc: (rd: number, rs1: number, imm: number) => number, a: bigint, imm: number): bigint {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE, enc(7, 5, imm));
  setx(hart, 5, a);
  hart.step(1);
  return xr(hart, 7);
}

const samples = [0n, 1n, 2n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x123456789abcdef0n,
  0x7fffffffffffffffn, 0x8000000000000000n, M64, u(-2n), u(-0x80000000n), 0xfedcba9876543210n];

test('add/sub/and/or/xor/slt/sltu on 64-bit values match BigInt arithmetic', () => {
  for (const a of samples) for (const b of samples) {
    assert.equal(rop(A.add, a, b), u(a + b), `add ${a} ${b}`);
    assert.equal(rop(A.sub, a, b), u(a - b), `sub ${a} ${b}`);
    assert.equal(rop(A.xor, a, b), a ^ b);
    assert.equal(rop(A.or, a, b), a | b);
    assert.equal(rop(A.and, a, b), a & b);
    assert.equal(rop(A.slt, a, b), s64(a) < s64(b) ? 1n : 0n, `slt ${a} ${b}`);
    assert.equal(rop(A.sltu, a, b), a < b ? 1n : 0n, `sltu ${a} ${b}`);
  }
});

test('64-bit shifts by register use the low 6 bits of rs2', () => {
  for (const a of samples) for (const sh of [0, 1, 5, 31, 32, 33, 63, 64, 95]) {
    const n = BigInt(sh & 63);
    assert.equal(rop(A.sll, a, BigInt(sh)), u(a << n), `sll ${a} ${sh}`);
    assert.equal(rop(A.srl, a, BigInt(sh)), a >> n, `srl ${a} ${sh}`);
    assert.equal(rop(A.sra, a, BigInt(sh)), u(s64(a) >> n), `sra ${a} ${sh}`);
  }
});

test('immediate forms sign-extend the 12-bit immediate', () => {
  for (const a of samples) for (const imm of [0, 1, -1, 2047, -2048, 0x555]) {
    const i = BigInt(imm);
    assert.equal(iop(A.addi, a, imm), u(a + i));
    assert.equal(iop(A.xori, a, imm), u(a ^ u(i)));
    assert.equal(iop(A.ori, a, imm), u(a | u(i)));
    assert.equal(iop(A.andi, a, imm), u(a & u(i)));
    assert.equal(iop(A.slti, a, imm), s64(a) < i ? 1n : 0n);
    assert.equal(iop(A.sltiu, a, imm), a < u(i) ? 1n : 0n);
  }
  for (const a of samples) for (const sh of [0, 1, 31, 32, 63]) {
    const n = BigInt(sh);
    assert.equal(iop(A.slli, a, sh), u(a << n));
    assert.equal(iop(A.srli, a, sh), a >> n);
    assert.equal(iop(A.srai, a, sh), u(s64(a) >> n));
  }
});

test('W forms operate on 32 bits and sign-extend the result', () => {
  const sx32 = (v: bigint) => u(BigInt.asIntN(32, v));
  for (const a of samples) for (const b of samples) {
    assert.equal(rop(A.addw, a, b), sx32(a + b));
    assert.equal(rop(A.subw, a, b), sx32(a - b));
    const n = b & 31n;
    assert.equal(rop(A.sllw, a, b), sx32(a << n));
    assert.equal(rop(A.srlw, a, b), sx32((a & 0xffffffffn) >> n));
    assert.equal(rop(A.sraw, a, b), sx32(BigInt.asIntN(32, a) >> n));
  }
  assert.equal(iop(A.addiw, 0x7fffffffn, 1), u(-0x80000000n));
  assert.equal(iop(A.slliw, 1n, 31), u(-0x80000000n));
  assert.equal(iop(A.srliw, 0xffffffff80000000n, 31), 1n);
  assert.equal(iop(A.sraiw, 0x80000000n, 4), u(-0x8000000n));
});

test('lui and auipc build sign-extended upper immediates; x0 stays zero', () => {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE, A.lui(5, 0x80000), A.auipc(6, 0xfffff), A.addi(0, 0, 5), A.lui(0, 0x12345));
  hart.step(4);
  assert.equal(xr(hart, 5), 0xffffffff80000000n);
  assert.equal(xr(hart, 6), u(BigInt(RAM_BASE + 4) - 0x1000n));
  assert.equal(xr(hart, 0), 0n);
});

test('branches: taken and not taken for each condition, signed and unsigned', () => {
  const cases: [keyof typeof A, bigint, bigint, boolean][] = [
    ['beq', 5n, 5n, true], ['beq', 5n, 6n, false], ['bne', 1n << 32n, 0n, true], ['bne', 7n, 7n, false],
    ['blt', u(-1n), 0n, true], ['blt', 0n, u(-1n), false], ['bge', 0n, u(-1n), true], ['bge', u(-2n), u(-1n), false],
    ['bltu', 0n, u(-1n), true], ['bltu', u(-1n), 0n, false], ['bgeu', u(-1n), 0n, true], ['bgeu', 1n, 1n << 32n, false],
  ];
  for (const [op, a, b, taken] of cases) {
    const { hart, phys } = makeHart();
    const enc = A[op] as (a: number, b: number, off: number) => number;
    phys.put(RAM_BASE, enc(5, 6, -0x100 + 0x200));
    setx(hart, 5, a); setx(hart, 6, b);
    hart.step(1);
    assert.equal(hart.getPc(), RAM_BASE + (taken ? 0x100 : 4), `${op} ${a} ${b}`);
  }
});

test('jal and jalr link pc+4, jalr clears bit 0 and reads rs1 before writing rd', () => {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE, A.jal(1, 0x20));
  phys.put(RAM_BASE + 0x20, A.jalr(5, 5, 3));
  setx(hart, 5, BigInt(RAM_BASE + 0x40));
  hart.step(2);
  assert.equal(xr(hart, 1), BigInt(RAM_BASE + 4));
  assert.equal(xr(hart, 5), BigInt(RAM_BASE + 0x24));
  assert.equal(hart.getPc(), RAM_BASE + 0x42);
});

test('loads sign- or zero-extend; stores write the low bytes', () => {
  const { hart, phys } = makeHart();
  const d = RAM_BASE + 0x1000;
  phys.write64(d, 0x8182838485868788n);
  setx(hart, 10, BigInt(d));
  phys.put(RAM_BASE, A.lb(1, 10, 0), A.lbu(2, 10, 0), A.lh(3, 10, 0), A.lhu(4, 10, 0), A.lw(5, 10, 0),
    A.lwu(6, 10, 0), A.ld(7, 10, 0), A.sb(7, 10, 8), A.sh(7, 10, 16), A.sw(7, 10, 24), A.sd(7, 10, 32));
  hart.step(11);
  assert.equal(xr(hart, 1), u(-0x78n));
  assert.equal(xr(hart, 2), 0x88n);
  assert.equal(xr(hart, 3), u(-0x7878n));
  assert.equal(xr(hart, 4), 0x8788n);
  assert.equal(xr(hart, 5), u(BigInt.asIntN(32, 0x85868788n)));
  assert.equal(xr(hart, 6), 0x85868788n);
  assert.equal(xr(hart, 7), 0x8182838485868788n);
  assert.equal(phys.read64(d + 8), 0x88n);
  assert.equal(phys.read64(d + 16), 0x8788n);
  assert.equal(phys.read64(d + 24), 0x85868788n);
  assert.equal(phys.read64(d + 32), 0x8182838485868788n);
});

test('misaligned loads and stores are done in hardware, also across a page boundary', () => {
  const { hart, phys } = makeHart();
  const p = RAM_BASE + 0x2000 - 3; // 8-byte access straddling 0x...2000
  setx(hart, 10, BigInt(p));
  setx(hart, 11, 0x1122334455667788n);
  phys.put(RAM_BASE, A.sd(11, 10, 0), A.ld(12, 10, 0), A.lw(13, 10, 1), A.lhu(14, 10, 3));
  hart.step(4);
  assert.equal(hart.getPc(), RAM_BASE + 16);
  assert.equal(xr(hart, 12), 0x1122334455667788n);
  const bytes = [...phys.bytes.subarray(p - RAM_BASE, p - RAM_BASE + 8)];
  assert.deepEqual(bytes, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
  assert.equal(xr(hart, 13), 0x44556677n);
  assert.equal(xr(hart, 14), 0x4455n);
});

test('MMIO: 8-byte accesses split into two 4-byte ones, low word first', () => {
  const { hart, phys } = makeHart();
  phys.mmioPages.add(0x10000);
  phys.mmioValue = 0xdeadbeef;
  setx(hart, 10, 0x10000000n);
  setx(hart, 11, 0x1122334455667788n);
  phys.put(RAM_BASE, A.sd(11, 10, 8), A.ld(12, 10, 16), A.sb(11, 10, 1), A.lh(13, 10, 2));
  hart.step(4);
  assert.deepEqual(phys.log, ['w4@10000008=55667788', 'w4@1000000c=11223344', 'r4@10000010', 'r4@10000014',
    'w1@10000001=88', 'r2@10000002']);
  assert.equal(xr(hart, 12), 0xdeadbeefdeadbeefn);
  assert.equal(xr(hart, 13), u(BigInt.asIntN(16, 0xbeefn)));
});

test('fence, fence.i and pause execute as no-ops', () => {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE, A.fence(), A.fenceI(), A.pause(), A.addi(5, 0, 9));
  hart.step(4);
  assert.equal(xr(hart, 5), 9n);
});

test('self-modifying code is seen after fence.i', () => {
  const { hart, phys } = makeHart();
  // store "addi x6, x0, 7" over the instruction at +12, then fence.i and run it
  setx(hart, 10, BigInt(RAM_BASE + 12));
  setx(hart, 11, BigInt(A.addi(6, 0, 7)));
  phys.put(RAM_BASE, A.sw(11, 10, 0), A.fenceI(), A.addi(0, 0, 0), A.addi(6, 0, 1));
  hart.step(4);
  assert.equal(xr(hart, 6), 7n);
});
