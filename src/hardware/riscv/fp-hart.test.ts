// SPDX-License-Identifier: GPL-2.0-only
// The hart's side of F and D: FS gating (Off makes every FP instruction and fcsr access
// illegal), FLW/FLD/FSW/FSD and their compressed forms with NaN-boxing, fflags accrual from
// the FpUnit into fcsr, frm as the dynamic rounding mode, and FS/SD dirty tracking.
// Spec: riscv-unpriv-20240411 "F" Extension ("NaN Boxing of Narrower Values");
// riscv-priv-20240411 §3.1.6.6 "Extension Context Status in mstatus Register".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as S from './hart-state.ts';
import { A, makeHart, RAM_BASE, setx, xr } from './test-support.ts';

const FCSR = 0x003, FFLAGS = 0x001, FRM = 0x002;
const D = RAM_BASE + 0x2000;
const fsOn = (h: ReturnType<typeof makeHart>['hart'], fs = 1) => { h.s[S.MSTATUS] = (h.s[S.MSTATUS] & ~S.MSTATUS_FS) | (fs << 13); };
// fadd.d f3, f1, f2 with rm = DYN (7) / fdiv.s f3, f1, f2 rm = RNE
const FADD_D_DYN = (0x01 << 25) | (2 << 20) | (1 << 15) | (7 << 12) | (3 << 7) | 0x53;
const FDIV_S = (0x0c << 25) | (2 << 20) | (1 << 15) | (0 << 12) | (3 << 7) | 0x53;

test('with mstatus.FS = Off, FP loads, FP arithmetic and fcsr accesses are illegal', () => {
  for (const insn of [A.fld(1, 5, 0), A.fsw(1, 5, 0), FADD_D_DYN, A.csrrs(6, FCSR, 0), 0x2008 /* c.fld */]) {
    const { hart, phys } = makeHart();
    hart.s[S.MTVEC] = RAM_BASE + 0x400;
    setx(hart, 5, BigInt(D)); setx(hart, 10, BigInt(D));
    phys.put(RAM_BASE, insn);
    hart.step(1);
    assert.equal(hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN, `0x${insn.toString(16)}`);
  }
});

test('flw NaN-boxes, fld loads 64 bits, fsw/fsd store them; loads mark FS dirty', () => {
  const { hart, phys } = makeHart();
  fsOn(hart);
  phys.write64(D, 0x400921fb54442d18n);
  phys.write64(D + 8, 0x3f800000n);
  setx(hart, 5, BigInt(D));
  phys.put(RAM_BASE, A.fld(1, 5, 0), A.flw(2, 5, 8), A.fsd(2, 5, 16), A.fsw(1, 5, 24));
  hart.step(4);
  assert.equal(hart.f[2], 0x54442d18); assert.equal(hart.f[3], 0x400921fb);
  assert.equal(hart.f[4], 0x3f800000); assert.equal(hart.f[5], -1, 'NaN-boxed');
  assert.equal(phys.read64(D + 16), 0xffffffff3f800000n);
  assert.equal(phys.read32(D + 24), 0x54442d18);
  assert.equal((hart.s[S.MSTATUS] >> 13) & 3, 3);
  assert.equal(hart.s[S.MSTATUS + 1] >>> 31, 1, 'SD');
});

test('c.fld / c.fsd / c.fldsp / c.fsdsp move doubles', () => {
  const { hart, phys } = makeHart();
  fsOn(hart);
  phys.write64(D + 8, 0x1122334455667788n);
  setx(hart, 10, BigInt(D)); setx(hart, 2, BigInt(D));
  // c.fld fa0(f10), 8(a0) = 0x2508 ; c.fsd fa0, 16(a0) = 0xa908 ; c.fldsp f9, 8(sp) = 0x24a2 ; c.fsdsp f9, 24(sp) = 0xac26
  phys.put(RAM_BASE, 0x2508, 0xa908, 0x24a2, 0xac26);
  hart.step(4);
  assert.equal(phys.read64(D + 16), 0x1122334455667788n);
  assert.equal(phys.read64(D + 24), 0x1122334455667788n);
});

test('FP arithmetic goes to the FpUnit with frm; flags accrue in fcsr and set FS dirty', () => {
  const { hart, phys } = makeHart();
  fsOn(hart);
  // 1.0f / 0.0f: divide by zero (DZ = bit 3)
  hart.f[2] = 0x3f800000; hart.f[3] = -1;
  hart.f[4] = 0; hart.f[5] = -1;
  setx(hart, 7, 0x1n); // NX already set
  phys.put(RAM_BASE, A.csrrw(0, FFLAGS, 7), FDIV_S, A.csrrs(8, FFLAGS, 0), A.csrrs(9, FCSR, 0));
  hart.step(4);
  assert.equal(xr(hart, 8), 0x9n);
  assert.equal(hart.f[6], 0x7f800000, '+inf');
  assert.equal((hart.s[S.MSTATUS] >> 13) & 3, 3);
  // frm = 5 (reserved) makes a DYN instruction illegal
  const h2 = makeHart();
  fsOn(h2.hart);
  h2.hart.s[S.MTVEC] = RAM_BASE + 0x400;
  setx(h2.hart, 7, 5n);
  h2.phys.put(RAM_BASE, A.csrrw(0, FRM, 7), FADD_D_DYN);
  h2.hart.step(2);
  assert.equal(h2.hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN);
});
