// SPDX-License-Identifier: GPL-2.0-only
// TIME, IPI and RFENCE against real guest-mode harts.
// Spec: riscv-sbi-2.0 §6 "Timer Extension", §7 "IPI Extension", §8 "RFENCE Extension", §3.1 "Hart list parameter"
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A } from '../../hardware/riscv/test-support.ts';
import { CAUSE_ECALL_S, MIE, MIP_SSIP, MIP_STIP, MIP_SW, MSTATUS, MSTATUS_SIE, SCAUSE, STVEC } from '../../hardware/riscv/hart-state.ts';
import { EXIT_ECALL } from '../../hardware/riscv/hart-api.ts';
import * as D from './sbi-defs.ts';
import { RAM_BASE, TestMachine } from './test-support.ts';

const E = (code: number) => BigInt(code);

test('set_timer: STIP is pending exactly while time >= stime_value; a new value clears it; -1 means never', () => {
  const m = new TestMachine({ harts: 1 });
  const h = m.harts[0]!;
  const stip = () => (h.mipValue() & MIP_STIP) !== 0;
  m.clock.t = 1000;
  assert.equal(m.call(0, D.SBI_EXT_TIME, 0, 1500).a0, 0n);
  assert.equal(stip(), false);
  m.clock.t = 1499;
  assert.equal(stip(), false);
  m.clock.t = 1500;
  assert.equal(stip(), true, '"Programs the clock for next event after stime_value time"');
  // "This function must clear the pending timer interrupt bit as well."
  m.call(0, D.SBI_EXT_TIME, 0, 10_000);
  assert.equal(stip(), false);
  m.call(0, D.SBI_EXT_TIME, 0, -1n);
  m.clock.t = 2 ** 52;
  assert.equal(stip(), false, '(uint64_t)-1 is "infinitely far into the future"');
  m.call(0, D.SBI_EXT_TIME, 0, 0);
  assert.equal(stip(), true, 'a time in the past fires at once');
  assert.equal(m.call(0, D.SBI_EXT_TIME, 1).a0, E(D.SBI_ERR_NOT_SUPPORTED));
});

test('set_timer drives a real timer interrupt into the guest trap handler', () => {
  const m = new TestMachine({ harts: 1 });
  const h = m.harts[0]!;
  const handler = RAM_BASE + 0x8000;
  m.putCode(handler, [A.ecall()]);
  h.s[STVEC] = handler;
  m.clock.t = 100;
  m.call(0, D.SBI_EXT_TIME, 0, 200);
  h.s[MIE] = MIP_STIP;
  h.s[MSTATUS] |= MSTATUS_SIE;
  m.putCode(h.getPc(), [A.addi(0, 0, 0), A.jal(0, -4)]); // spin
  h.step(5000);
  assert.notEqual(h.getPc(), handler, 'no interrupt before the deadline');
  m.clock.t = 200;
  assert.equal(h.step(5000), EXIT_ECALL);
  assert.equal(h.getPc(), handler);
  assert.equal(h.s[SCAUSE + 1], -0x80000000 | 0, 'an interrupt');
  assert.equal(h.s[SCAUSE], 5, 'supervisor timer interrupt');
  assert.notEqual(h.s[SCAUSE], CAUSE_ECALL_S);
});

test('send_ipi sets SSIP on each named hart (mask + base, base = -1 for all) and skips STOPPED harts', () => {
  const m = new TestMachine({ harts: 4 });
  const ssip = () => m.harts.map((h) => (Atomics.load(h.s, MIP_SW) & MIP_SSIP) !== 0);
  const clear = () => m.harts.forEach((h) => Atomics.and(h.s, MIP_SW, ~MIP_SSIP));
  for (const i of [1, 2, 3]) {
    m.call(0, D.SBI_EXT_HSM, D.SBI_HSM_HART_START, i, RAM_BASE, 0);
    m.vsbi.prepareToRun(i);
  }
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, 0b0110, 0).a0, 0n);
  assert.deepEqual(ssip(), [false, true, true, false]);
  clear();
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, 0b1, 3).a0, 0n, 'hart_mask_base shifts the mask');
  assert.deepEqual(ssip(), [false, false, false, true]);
  clear();
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, 0, -1n).a0, 0n, '"hart_mask_base can be set to -1 to indicate that hart_mask shall be ignored"');
  assert.deepEqual(ssip(), [true, true, true, true]);
  clear();
  m.call(3, D.SBI_EXT_HSM, D.SBI_HSM_HART_STOP);
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, 0b1000, 0).a0, 0n, 'a stopped hart is still a valid hart id');
  assert.deepEqual(ssip(), [false, false, false, false]);
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, 0, 0).a0, 0n, 'an empty mask is fine');
  assert.equal(m.call(0, D.SBI_EXT_IPI, 1).a0, E(D.SBI_ERR_NOT_SUPPORTED));
});

test('hart masks naming a hart that does not exist are INVALID_PARAM and deliver nothing', () => {
  const m = new TestMachine({ harts: 4 });
  const ssip = () => m.harts.map((h) => (Atomics.load(h.s, MIP_SW) & MIP_SSIP) !== 0);
  const IP = E(D.SBI_ERR_INVALID_PARAM);
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, 0b10001, 0).a0, IP, 'hart 4 of 4');
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, 1n << 63n, 0).a0, IP);
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, 1, 4).a0, IP);
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, 1, 1n << 32n).a0, IP, 'a base of 2^32 is not hart 0');
  assert.equal(m.call(0, D.SBI_EXT_IPI, 0, -1n, -2n).a0, IP);
  assert.deepEqual(ssip(), [false, false, false, false], 'all or nothing');
  assert.equal(m.call(0, D.SBI_EXT_RFENCE, 0, 0b100000, 0).a0, IP);
});

test('RFENCE: fence.i and sfence.vma(_asid) reach each named running hart; HFENCE is NOT_SUPPORTED; bad ranges INVALID_ADDRESS', () => {
  const m = new TestMachine({ harts: 3 });
  m.call(0, D.SBI_EXT_HSM, D.SBI_HSM_HART_START, 1, RAM_BASE, 0);
  m.vsbi.prepareToRun(1);
  m.tlbFlushes.fill(0);
  m.icacheFlushes.fill(0);
  const R = D.SBI_EXT_RFENCE;
  assert.equal(m.call(0, R, D.SBI_RFENCE_REMOTE_FENCE_I, 0b111, 0).a0, 0n);
  assert.deepEqual(m.icacheFlushes, [1, 1, 0], 'hart 2 is STOPPED');
  assert.equal(m.call(0, R, D.SBI_RFENCE_REMOTE_SFENCE_VMA, 0, -1n, 0x1000, 0x2000).a0, 0n);
  assert.equal(m.call(0, R, D.SBI_RFENCE_REMOTE_SFENCE_VMA_ASID, 0b10, 0, 0, 0, 5).a0, 0n, 'start = size = 0: whole address space');
  assert.equal(m.call(0, R, D.SBI_RFENCE_REMOTE_SFENCE_VMA, 0b1, 0, 0xffffffffffff0000n, -1n).a0, 0n, 'size = 2^XLEN-1: whole address space');
  assert.equal(m.call(0, R, D.SBI_RFENCE_REMOTE_SFENCE_VMA, 0b1, 0, 0xfffffffffffff000n, 0x1000).a0, 0n, 'ends exactly at 2^64');
  assert.deepEqual(m.tlbFlushes, [3, 2, 0]);
  const IA = E(D.SBI_ERR_INVALID_ADDRESS);
  assert.equal(m.call(0, R, D.SBI_RFENCE_REMOTE_SFENCE_VMA, 0b1, 0, 0xfffffffffffff000n, 0x1001).a0, IA, 'wraps past 2^64');
  assert.equal(m.call(0, R, D.SBI_RFENCE_REMOTE_SFENCE_VMA_ASID, 0b1, 0, -2n, 0x10, 1).a0, IA);
  assert.deepEqual(m.tlbFlushes, [3, 2, 0], 'a refused fence flushes nothing');
  for (let fid = 3; fid <= 6; fid++) assert.equal(m.call(0, R, fid, 0b1, 0).a0, E(D.SBI_ERR_NOT_SUPPORTED), `HFENCE fid ${fid}`);
  assert.equal(m.call(0, R, 7).a0, E(D.SBI_ERR_NOT_SUPPORTED));
});

test('remote sfence.vma really drops a stale translation on the target hart', () => {
  const m = new TestMachine({ harts: 1 });
  const h = m.harts[0]!;
  // Warm the hart's TLB with a fetch of the page at RAM_BASE + 0x9000, then point that guest
  // page at a different machine frame behind the hart's back (as a p2m change would).
  const pa = RAM_BASE + 0x9000;
  m.putCode(pa, [A.ecall()]);
  h.setPc(pa);
  assert.equal(h.step(1), EXIT_ECALL);
  const other = m.pool.alloc(1, 1)![0]!;
  new DataView(m.pool.memory).setUint32(other * 4096, A.addi(5, 0, 77), true);
  new DataView(m.pool.memory).setUint32(other * 4096 + 4, A.ecall(), true);
  m.p2m.set(pa / 4096, other, 1);
  h.setPc(RAM_BASE + 0x100);
  // With the stale TLB the hart would run the old ecall at once; after the fence it runs the new code.
  m.call(0, D.SBI_EXT_RFENCE, D.SBI_RFENCE_REMOTE_SFENCE_VMA, 0, -1n, 0, 0);
  h.setPc(pa);
  assert.equal(h.step(4), EXIT_ECALL);
  assert.equal(h.getPc(), pa + 4, 'the new frame ran: addi then ecall');
  assert.equal(h.getX(5), 77);
});
