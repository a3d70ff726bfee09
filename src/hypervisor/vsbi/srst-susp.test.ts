// SPDX-License-Identifier: GPL-2.0-only
// SRST and SUSP against real guest-mode harts.
// Spec: riscv-sbi-2.0 §10 "System Reset Extension", §13 "System Suspend Extension"
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A, xr } from '../../hardware/riscv/test-support.ts';
import { EXIT_ECALL } from '../../hardware/riscv/hart-api.ts';
import { VSBI_SYSTEM_RESET, VSBI_SYSTEM_SUSPENDED } from './outcome.ts';
import * as D from './sbi-defs.ts';
import { MMIO_PAGE_PA, RAM_BASE, TestMachine } from './test-support.ts';

const E = (code: number) => BigInt(code);
const SRST = D.SBI_EXT_SRST;
const SUSP = D.SBI_EXT_SUSP;

test('system_reset: shutdown, cold and warm reboot reach the platform with the reason; the call does not return', () => {
  const m = new TestMachine({ harts: 2 });
  const h = m.harts[0]!;
  for (const [type, reason] of [[0, 0], [1, 1], [2, 0]] as const) {
    const pc = h.getPc();
    const r = m.call(0, SRST, 0, type, reason);
    assert.equal(r.outcome, VSBI_SYSTEM_RESET);
    assert.equal(h.getPc(), pc, '"does not return if it succeeds"');
    h.setPc(pc + 4);
  }
  assert.deepEqual(m.resets, [[0, 0, 0], [0, 1, 1], [0, 2, 0]]);
  // uint32_t parameters: the upper halves are not part of the value.
  m.call(0, SRST, 0, 0xabcd000000000001n, 0x1234000000000000n);
  assert.deepEqual(m.resets[3], [0, 1, 0]);
});

test('system_reset: reserved or unimplemented types and reasons are INVALID_PARAM; a platform that cannot is NOT_SUPPORTED', () => {
  const m = new TestMachine();
  const IP = E(D.SBI_ERR_INVALID_PARAM);
  for (const t of [3, 0xefffffff, 0xf0000000, 0xffffffff]) assert.equal(m.call(0, SRST, 0, t, 0).a0, IP, `type 0x${t.toString(16)}`);
  for (const r of [2, 0xdfffffff, 0xe0000000, 0xf0000000]) assert.equal(m.call(0, SRST, 0, 0, r).a0, IP, `reason 0x${r.toString(16)}`);
  assert.deepEqual(m.resets, []);
  assert.equal(m.call(0, SRST, 1).a0, E(D.SBI_ERR_NOT_SUPPORTED));
  m.platform.systemReset = () => false;
  assert.equal(m.call(0, SRST, 0, 0, 0).a0, E(D.SBI_ERR_NOT_SUPPORTED));
});

test('SUSP is absent unless the platform can suspend', () => {
  const m = new TestMachine();
  assert.equal(m.call(0, SUSP, 0, 0, RAM_BASE, 0).a0, E(D.SBI_ERR_NOT_SUPPORTED));
});

test('system_suspend: "Entry requires all but the calling hart be in the HSM STOPPED state"', () => {
  const m = new TestMachine({ harts: 2, suspend: true });
  m.call(0, D.SBI_EXT_HSM, D.SBI_HSM_HART_START, 1, RAM_BASE + 0x10000, 0);
  assert.equal(m.call(0, SUSP, 0, 0, RAM_BASE, 0).a0, E(D.SBI_ERR_DENIED), 'hart 1 START_PENDING');
  m.vsbi.prepareToRun(1);
  assert.equal(m.call(0, SUSP, 0, 0, RAM_BASE, 0).a0, E(D.SBI_ERR_DENIED), 'hart 1 STARTED');
  assert.deepEqual(m.suspends, []);
  assert.equal(m.call(0, SUSP, 0, 1, RAM_BASE, 0).a0, E(D.SBI_ERR_INVALID_PARAM), 'reserved sleep type');
  assert.equal(m.call(0, SUSP, 0, 0x80000000, RAM_BASE, 0).a0, E(D.SBI_ERR_INVALID_PARAM), 'unimplemented platform type');
  assert.equal(m.call(0, SUSP, 0, 0, MMIO_PAGE_PA, 0).a0, E(D.SBI_ERR_INVALID_ADDRESS));
  assert.equal(m.call(0, SUSP, 1).a0, E(D.SBI_ERR_NOT_SUPPORTED));
});

test('system_suspend to RAM and wake-up: the caller resumes from STOPPED at resume_addr with a0 = hartid, a1 = opaque', () => {
  const m = new TestMachine({ harts: 2, suspend: true, bootHart: 1 });
  const h = m.harts[1]!;
  const resume = RAM_BASE + 0x60000;
  m.putCode(resume, [A.ecall()]);
  const r = m.call(1, SUSP, 0, 0, resume, 0x5a5an);
  assert.equal(r.outcome, VSBI_SYSTEM_SUSPENDED);
  assert.deepEqual(m.suspends, [1]);
  assert.equal(m.vsbi.harts.status(1), D.SBI_HSM_STATE_STOPPED);
  assert.equal(m.vsbi.prepareToRun(1), false);
  assert.equal(h.isStopped(), true);
  assert.equal(m.vsbi.systemResume(), true);
  assert.equal(m.vsbi.systemResume(), false, 'nothing left to resume');
  assert.ok(m.vsbi.prepareToRun(1));
  assert.equal(h.step(4), EXIT_ECALL);
  assert.equal(h.getPc(), resume);
  assert.deepEqual([xr(h, 10), xr(h, 11)], [1n, 0x5a5an]);
});

test('a platform that refuses to suspend leaves the caller running with SBI_ERR_FAILED', () => {
  const m = new TestMachine({ harts: 1, suspend: true });
  m.platform.systemSuspend = () => false;
  assert.equal(m.call(0, SUSP, 0, 0, RAM_BASE, 0).a0, E(D.SBI_ERR_FAILED));
  assert.equal(m.vsbi.harts.status(0), D.SBI_HSM_STATE_STARTED);
  assert.equal(m.harts[0]!.isStopped(), false);
});
