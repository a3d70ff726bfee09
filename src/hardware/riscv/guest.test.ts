// SPDX-License-Identifier: GPL-2.0-only
// Guest mode (a hypervisor's vCPU): starts in S with no M-mode; ecall from S exits with the
// pc at the ecall; exceptions go to the guest's S handler through the default delegation;
// an undelegated trap exits as EXIT_TRAP_M; a refused physical access exits as
// EXIT_PHYS_FAULT with the address, kind and instruction; injected SSIP/STIP/SEIP reach the
// guest; the guest's own Sstc timer works; HSM start/stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCESS_R, ACCESS_W, ACCESS_X, EXIT_BUDGET, EXIT_ECALL, EXIT_PHYS_FAULT, EXIT_REQUESTED, EXIT_TRAP_M, EXIT_WFI } from './hart-api.ts';
import * as S from './hart-state.ts';
import { A, makeHart, RAM_BASE, setx, xr } from './test-support.ts';

const SSTATUS = 0x100, STIMECMP = 0x14d, MSTATUS = 0x300;

function guest() {
  return makeHart({ guestMode: true });
}

test('a guest hart starts in S-mode and an ecall from S exits with pc at the ecall', () => {
  const { hart, phys } = guest();
  assert.equal(hart.getPriv(), S.PRV_S);
  phys.put(RAM_BASE, A.addi(17, 0, 0x10), A.ecall());
  assert.equal(hart.step(100), EXIT_ECALL);
  assert.equal(hart.getPc(), RAM_BASE + 4);
  assert.equal(xr(hart, 17), 0x10n);
  // the owner completes the call and advances pc
  hart.setX(10, 0, 0);
  hart.setPc(hart.getPc() + 4);
  phys.put(RAM_BASE + 8, A.wfi());
  assert.equal(hart.step(100), EXIT_WFI);
});

test('M-level CSRs are illegal for the guest and the trap goes to its own stvec', () => {
  const { hart, phys } = guest();
  hart.s[S.STVEC] = RAM_BASE + 0x400;
  phys.put(RAM_BASE, A.csrrs(5, MSTATUS, 0));
  phys.put(RAM_BASE + 0x400, A.addi(0, 0, 0));
  assert.equal(hart.step(2), EXIT_BUDGET);
  assert.equal(hart.s[S.SCAUSE], S.CAUSE_ILLEGAL_INSN);
  assert.equal(hart.getPc(), RAM_BASE + 0x404);
  assert.equal(hart.getPriv(), S.PRV_S);
});

test('an exception the owner did not delegate exits as EXIT_TRAP_M with cause and tval', () => {
  const { hart, phys } = guest();
  hart.s[S.MEDELEG] = 0;
  phys.put(RAM_BASE, A.ebreak());
  assert.equal(hart.step(10), EXIT_TRAP_M);
  assert.equal(hart.s[S.EXIT_CAUSE], S.CAUSE_BREAKPOINT);
  assert.equal(hart.s[S.EXIT_TVAL] >>> 0, RAM_BASE);
  assert.equal(hart.getPc(), RAM_BASE);
});

test('a refused physical access exits with the address, access kind and instruction', () => {
  const { hart, phys } = guest();
  phys.deny.set(0x80005, ACCESS_W);
  const st = A.sd(6, 5, 8);
  phys.put(RAM_BASE, A.ld(7, 5, 0), st);
  setx(hart, 5, 0x80005000n);
  assert.equal(hart.step(10), EXIT_PHYS_FAULT);
  assert.equal(hart.getPc(), RAM_BASE + 4, 'the load went through, the store exits');
  assert.equal(hart.s[S.EXIT_GPA] >>> 0, 0x80005008);
  assert.equal(hart.s[S.EXIT_ACCESS], ACCESS_W);
  assert.equal(hart.s[S.EXIT_INSN] >>> 0, st);
  assert.equal(hart.s[S.EXIT_INSN_LEN], 4);
  // the owner fixes the mapping; the store then completes
  phys.deny.delete(0x80005);
  hart.flushTlb();
  assert.equal(hart.step(1), EXIT_BUDGET);
  assert.equal(hart.getPc(), RAM_BASE + 8);
  // a fetch from a refused page
  phys.deny.set(0x80000, ACCESS_X);
  hart.flushTlb();
  hart.setPc(RAM_BASE);
  assert.equal(hart.step(1), EXIT_PHYS_FAULT);
  assert.equal(hart.s[S.EXIT_ACCESS], ACCESS_X);
  assert.equal(hart.s[S.EXIT_INSN_LEN], 0);
  void ACCESS_R;
});

test('a compressed instruction that faults reports its expanded form and length 2', () => {
  const { hart, phys } = guest();
  phys.deny.set(0x80005, ACCESS_R);
  phys.put(RAM_BASE, 0x6188); // c.ld a0, 0(a1)
  setx(hart, 11, 0x80005000n);
  assert.equal(hart.step(1), EXIT_PHYS_FAULT);
  assert.equal(hart.s[S.EXIT_INSN] >>> 0, A.ld(10, 11, 0));
  assert.equal(hart.s[S.EXIT_INSN_LEN], 2);
});

test('the owner injects SSIP, STIP and SEIP; the guest takes them when enabled', () => {
  for (const bit of [S.IRQ_SSI, S.IRQ_STI, S.IRQ_SEI]) {
    const { hart, phys } = guest();
    hart.s[S.STVEC] = RAM_BASE + 0x400;
    hart.s[S.MIE] = 1 << bit;
    hart.s[S.MSTATUS] |= S.MSTATUS_SIE;
    phys.put(RAM_BASE, A.addi(0, 0, 0));
    phys.put(RAM_BASE + 0x400, A.addi(0, 0, 0));
    hart.irqLine(bit).set(true);
    hart.step(1);
    assert.equal(hart.s[S.SCAUSE], bit);
    assert.equal(hart.s[S.SCAUSE + 1], 0x80000000 | 0);
  }
});

test("the guest's own Sstc timer raises STIP; WFI with nothing pending exits", () => {
  const { hart, phys, clock } = guest();
  setx(hart, 5, 500n);
  hart.s[S.MIE] = S.MIP_STIP;
  phys.put(RAM_BASE, A.csrrw(0, STIMECMP, 5), A.wfi(), A.wfi());
  assert.equal(hart.step(10), EXIT_WFI);
  assert.equal(hart.timerDeadline(), 500);
  clock.t = 600;
  assert.equal(hart.step(1), EXIT_BUDGET, 'STIP pending: wfi completes');
  assert.equal(hart.getPc(), RAM_BASE + 12);
});

test('guest mstatus (via sstatus) cannot set M fields; HSM stop and start', () => {
  const { hart, phys } = guest();
  setx(hart, 5, -1n);
  phys.put(RAM_BASE, A.csrrw(0, SSTATUS, 5));
  hart.step(1);
  assert.equal(hart.s[S.MSTATUS] & (S.MSTATUS_MPRV | S.MSTATUS_MIE | S.MSTATUS_TVM), 0);
  hart.stop();
  assert.equal(hart.isStopped(), true);
  assert.equal(hart.step(10), EXIT_REQUESTED);
  hart.start(RAM_BASE + 0x100, 0x1234);
  assert.equal(hart.isStopped(), false);
  assert.equal(hart.getPc(), RAM_BASE + 0x100);
  assert.equal(xr(hart, 10), 0n);
  assert.equal(xr(hart, 11), 0x1234n);
  assert.equal(hart.getPriv(), S.PRV_S);
});
