// SPDX-License-Identifier: GPL-2.0-only
// PMP: the CSRs (even pmpcfg only on RV64, WARL R=0/W=1, locked entries ignore writes), the
// address-matching modes OFF/TOR/NA4/NAPOT, the default deny for S/U, locked entries binding
// M-mode, and partial matches failing. Spec: riscv-priv-20240411 §3.7 "Physical Memory Protection".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as S from './hart-state.ts';
import { A, makeHart, RAM_BASE, setx, xr } from './test-support.ts';

const PMPCFG0 = 0x3a0, PMPCFG1 = 0x3a1, PMPADDR0 = 0x3b0;
const Rb = 1n, Wb = 2n, Xb = 4n, TOR = 1n << 3n, NA4 = 2n << 3n, NAPOT = 3n << 3n, L = 0x80n;
const napot = (base: number, size: number) => BigInt(base / 4 + size / 8 - 1);

/** Program PMP from M-mode with CSR instructions, then drop to `priv` and run `code`. */
function run(entries: [bigint, bigint][], priv: number, code: number[], regs: [number, bigint][] = []) {
  const { hart, phys } = makeHart();
  hart.s[S.MTVEC] = RAM_BASE + 0x800;
  const prog: number[] = [];
  let cfg = 0n;
  entries.forEach(([addr, c], i) => {
    setx(hart, 10 + i, addr);
    prog.push(A.csrrw(0, PMPADDR0 + i, 10 + i));
    cfg |= c << BigInt(8 * i);
  });
  setx(hart, 20, cfg);
  prog.push(A.csrrw(0, PMPCFG0, 20));
  for (const [r, v] of regs) setx(hart, r, v);
  phys.put(RAM_BASE, ...prog);
  hart.step(prog.length);
  hart.setPriv(priv);
  phys.put(RAM_BASE + 0x100, ...code);
  hart.setPc(RAM_BASE + 0x100);
  hart.s[S.MCAUSE] = -1;
  hart.step(code.length);
  return { hart, phys };
}

test('with PMP implemented and no entry matching, S-mode accesses fail and M-mode ones succeed', () => {
  const s = run([], S.PRV_S, [A.addi(5, 0, 1)]);
  assert.equal(s.hart.s[S.MCAUSE], S.CAUSE_FETCH_ACCESS);
  const m = run([], S.PRV_M, [A.addi(5, 0, 1)]);
  assert.equal(xr(m.hart, 5), 1n);
});

test('NAPOT and TOR regions grant their R/W/X bits to S', () => {
  const data = RAM_BASE + 0x8000;
  const entries: [bigint, bigint][] = [
    [napot(RAM_BASE, 0x1000), NAPOT | Rb | Xb], // code page: R X
    [BigInt(data / 4), 0n], // TOR base
    [BigInt((data + 0x1000) / 4), TOR | Rb], // data page: read only
  ];
  const ok = run(entries, S.PRV_S, [A.ld(6, 5, 0)], [[5, BigInt(data)]]);
  assert.equal(ok.hart.s[S.MCAUSE], -1, 'read allowed');
  const st = run(entries, S.PRV_S, [A.sd(6, 5, 0)], [[5, BigInt(data)]]);
  assert.equal(st.hart.s[S.MCAUSE], S.CAUSE_STORE_ACCESS);
  assert.equal(st.hart.s[S.MTVAL] >>> 0, data);
  const outside = run(entries, S.PRV_S, [A.ld(6, 5, 0)], [[5, BigInt(data + 0x1000)]]);
  assert.equal(outside.hart.s[S.MCAUSE], S.CAUSE_LOAD_ACCESS);
});

test('NA4 covers exactly four bytes; an access that only partly matches fails', () => {
  const data = RAM_BASE + 0x8000;
  const entries: [bigint, bigint][] = [[napot(RAM_BASE, 0x1000), NAPOT | Rb | Xb], [BigInt(data / 4), NA4 | Rb | Wb]];
  const ok = run(entries, S.PRV_S, [A.sw(6, 5, 0)], [[5, BigInt(data)]]);
  assert.equal(ok.hart.s[S.MCAUSE], -1);
  const partial = run(entries, S.PRV_S, [A.sd(6, 5, 0)], [[5, BigInt(data)]]);
  assert.equal(partial.hart.s[S.MCAUSE], S.CAUSE_STORE_ACCESS);
});

test('a locked entry binds M-mode and ignores later writes to its cfg and address', () => {
  const data = RAM_BASE + 0x8000;
  const entries: [bigint, bigint][] = [[napot(data, 0x1000), NAPOT | Rb | L]];
  const { hart, phys } = run(entries, S.PRV_M, [A.sd(6, 5, 0)], [[5, BigInt(data)]]);
  assert.equal(hart.s[S.MCAUSE], S.CAUSE_STORE_ACCESS);
  // try to unlock / move it
  setx(hart, 7, 0x1fn); setx(hart, 8, 0n);
  phys.put(RAM_BASE + 0x200, A.csrrw(0, PMPCFG0, 7), A.csrrw(0, PMPADDR0, 8), A.csrrs(9, PMPCFG0, 0), A.csrrs(10, PMPADDR0, 0));
  hart.setPc(RAM_BASE + 0x200);
  hart.step(4);
  assert.equal(xr(hart, 9), NAPOT | Rb | L);
  assert.equal(xr(hart, 10), napot(data, 0x1000));
});

test('odd pmpcfg CSRs do not exist on RV64; R = 0 with W = 1 is stored as W = 0', () => {
  const { hart, phys } = makeHart();
  hart.s[S.MTVEC] = RAM_BASE + 0x800;
  setx(hart, 5, NAPOT | Wb);
  phys.put(RAM_BASE, A.csrrw(0, PMPCFG0, 5), A.csrrs(6, PMPCFG0, 0), A.csrrs(7, PMPCFG1, 0));
  hart.step(3);
  assert.equal(xr(hart, 6), NAPOT);
  assert.equal(hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN);
});

test('pmpaddr keeps 54 bits (grain 4 bytes)', () => {
  const { hart, phys } = makeHart();
  setx(hart, 5, -1n);
  phys.put(RAM_BASE, A.csrrw(0, PMPADDR0 + 63, 5), A.csrrs(6, PMPADDR0 + 63, 0));
  hart.step(2);
  assert.equal(xr(hart, 6), (1n << 54n) - 1n);
});
