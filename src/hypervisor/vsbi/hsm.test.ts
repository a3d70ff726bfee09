// SPDX-License-Identifier: GPL-2.0-only
// HSM against real guest-mode harts: start/stop/status/suspend sequences and hostile arguments.
// Spec: riscv-sbi-2.0 §9 "Hart State Management Extension (EID #0x48534D "HSM")"
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A, xr } from '../../hardware/riscv/test-support.ts';
import { EXIT_ECALL } from '../../hardware/riscv/hart-api.ts';
import { MIE, MIP_SSIP, MSTATUS, MSTATUS_SIE, PRV_S, SATP } from '../../hardware/riscv/hart-state.ts';
import { VSBI_HART_STOPPED, VSBI_HART_SUSPENDED, VSBI_RESUME } from './outcome.ts';
import * as D from './sbi-defs.ts';
import { codeBase, li, MMIO_PAGE_PA, RAM_BASE, RAM_END, TestMachine } from './test-support.ts';

const HSM = D.SBI_EXT_HSM;
const E = (code: number) => BigInt(code);

test('hart_start: the target starts in S-mode at start_addr with a0 = hartid, a1 = opaque, satp = 0, sstatus.SIE = 0', () => {
  const m = new TestMachine({ harts: 3 });
  const h2 = m.harts[2]!;
  // Dirty the target's state first: it must not leak into the start.
  h2.s[SATP] = 0x1234; h2.s[SATP + 1] = 8 << 28;
  h2.s[MSTATUS] |= MSTATUS_SIE;
  const entry = RAM_BASE + 0x30000;
  m.putCode(entry, [A.addi(5, 10, 0), A.addi(6, 11, 0), A.ecall()]);
  assert.equal(m.call(0, HSM, D.SBI_HSM_HART_GET_STATUS, 2).a1, E(D.SBI_HSM_STATE_STOPPED));
  assert.equal(m.vsbi.prepareToRun(2), false, 'a STOPPED hart does not run');
  const opaque = 0xfedcba9876543210n;
  const r = m.call(0, HSM, D.SBI_HSM_HART_START, 2, entry, opaque);
  assert.deepEqual([r.a0, r.outcome], [0n, VSBI_RESUME]);
  assert.deepEqual(m.runnable, [2], 'the platform is told to schedule the hart');
  assert.equal(m.call(0, HSM, D.SBI_HSM_HART_GET_STATUS, 2).a1, E(D.SBI_HSM_STATE_START_PENDING));
  assert.equal(m.vsbi.prepareToRun(2), true);
  assert.equal(m.call(0, HSM, D.SBI_HSM_HART_GET_STATUS, 2).a1, E(D.SBI_HSM_STATE_STARTED));
  assert.equal(h2.getPc(), entry);
  assert.equal(h2.getPriv(), PRV_S);
  assert.deepEqual([h2.s[SATP], h2.s[SATP + 1]], [0, 0]);
  assert.equal(h2.s[MSTATUS]! & MSTATUS_SIE, 0);
  assert.equal(h2.step(10), EXIT_ECALL);
  assert.equal(xr(h2, 5), 2n, 'a0 = hartid');
  assert.equal(xr(h2, 6), opaque, 'a1 = opaque, all 64 bits');
});

test('hart_start errors: bad hartid, already started, bad start_addr', () => {
  const m = new TestMachine({ harts: 2 });
  const start = (id: bigint | number, addr: bigint | number) => m.call(0, HSM, D.SBI_HSM_HART_START, id, addr, 0).a0;
  assert.equal(start(2, RAM_BASE), E(D.SBI_ERR_INVALID_PARAM));
  assert.equal(start(-1, RAM_BASE), E(D.SBI_ERR_INVALID_PARAM));
  assert.equal(start(1n << 32n, RAM_BASE), E(D.SBI_ERR_INVALID_PARAM), 'hart id 2^32 is not hart 0');
  assert.equal(start(0, RAM_BASE), E(D.SBI_ERR_ALREADY_AVAILABLE), 'the caller itself');
  for (const bad of [0, MMIO_PAGE_PA, RAM_END + 0x100000, RAM_BASE + 1, 1n << 53n, -2n]) {
    assert.equal(start(1, bad), E(D.SBI_ERR_INVALID_ADDRESS), `start_addr ${bad.toString(16)}`);
  }
  assert.equal(m.vsbi.harts.status(1), D.SBI_HSM_STATE_STOPPED, 'failed starts leave the hart STOPPED');
  assert.equal(start(1, RAM_BASE + 0x20000), 0n);
  assert.equal(start(1, RAM_BASE + 0x20000), E(D.SBI_ERR_ALREADY_AVAILABLE), 'START_PENDING is not startable');
  m.vsbi.prepareToRun(1);
  assert.equal(start(1, RAM_BASE + 0x20000), E(D.SBI_ERR_ALREADY_AVAILABLE));
  assert.equal(m.call(0, HSM, D.SBI_HSM_HART_GET_STATUS, 5).a0, E(D.SBI_ERR_INVALID_PARAM));
  assert.equal(m.call(0, HSM, 4).a0, E(D.SBI_ERR_NOT_SUPPORTED));
});

test('hart_stop does not return; the hart stays stopped until started again, then runs the new entry', () => {
  const m = new TestMachine({ harts: 2 });
  m.call(0, HSM, D.SBI_HSM_HART_START, 1, codeBase(1), 0);
  assert.ok(m.vsbi.prepareToRun(1));
  const h1 = m.harts[1]!;
  const pcBefore = h1.getPc();
  const r = m.call(1, HSM, D.SBI_HSM_HART_STOP);
  assert.equal(r.outcome, VSBI_HART_STOPPED);
  assert.equal(h1.getPc(), pcBefore, 'no return: pc not advanced');
  assert.equal(h1.isStopped(), true, 'the hart itself refuses to run');
  assert.equal(m.vsbi.prepareToRun(1), false);
  assert.equal(m.call(0, HSM, D.SBI_HSM_HART_GET_STATUS, 1).a1, E(D.SBI_HSM_STATE_STOPPED));
  const again = RAM_BASE + 0x28000;
  m.putCode(again, [A.ecall()]);
  assert.equal(m.call(0, HSM, D.SBI_HSM_HART_START, 1, again, 7).a0, 0n);
  assert.ok(m.vsbi.prepareToRun(1));
  assert.equal(h1.isStopped(), false);
  assert.equal(h1.step(4), EXIT_ECALL);
  assert.equal(h1.getPc(), again);
  assert.equal(xr(h1, 11), 7n);
});

test('retentive hart_suspend returns SBI_SUCCESS once an interrupt is pending, with no register changed', () => {
  const m = new TestMachine({ harts: 2 });
  m.call(0, HSM, D.SBI_HSM_HART_START, 1, codeBase(1), 0);
  m.vsbi.prepareToRun(1);
  const h1 = m.harts[1]!;
  h1.s[MIE] = MIP_SSIP; // sie.SSIE: sstatus.SIE stays 0, as Linux's idle does
  const pc = h1.getPc();
  // Upper 32 bits of the uint32_t suspend_type are ignored: this is the default retentive type.
  const r = m.call(1, HSM, D.SBI_HSM_HART_SUSPEND, 0xffffffff00000000n, 0x1234, 0x5678);
  assert.deepEqual([r.a0, r.outcome], [0n, VSBI_HART_SUSPENDED]);
  assert.equal(h1.getPc(), pc + 4);
  assert.equal(m.call(0, HSM, D.SBI_HSM_HART_GET_STATUS, 1).a1, E(D.SBI_HSM_STATE_SUSPENDED));
  assert.equal(m.vsbi.prepareToRun(1), false, 'nothing pending: still suspended');
  assert.equal(m.call(0, D.SBI_EXT_IPI, D.SBI_IPI_SEND_IPI, 0b10, 0).a0, 0n);
  assert.equal(m.vsbi.prepareToRun(1), true);
  assert.equal(m.call(0, HSM, D.SBI_HSM_HART_GET_STATUS, 1).a1, E(D.SBI_HSM_STATE_STARTED));
  assert.equal(h1.getPc(), pc + 4, 'resumes right after the ecall');
});

test('non-retentive hart_suspend resumes at resume_addr with a0 = hartid, a1 = opaque; reserved types are INVALID_PARAM', () => {
  const m = new TestMachine({ harts: 1 });
  const h = m.harts[0]!;
  h.s[MIE] = MIP_SSIP;
  const resume = RAM_BASE + 0x40000;
  m.putCode(resume, [A.ecall()]);
  for (const t of [1, 0x0fffffff, 0x10000000, 0x7fffffff, 0x80000001, 0x90000000, 0xffffffff]) {
    assert.equal(m.call(0, HSM, D.SBI_HSM_HART_SUSPEND, t, resume, 0).a0, E(D.SBI_ERR_INVALID_PARAM), `type 0x${t.toString(16)}`);
  }
  assert.equal(m.call(0, HSM, D.SBI_HSM_HART_SUSPEND, 0x80000000, MMIO_PAGE_PA, 0).a0, E(D.SBI_ERR_INVALID_ADDRESS));
  const r = m.call(0, HSM, D.SBI_HSM_HART_SUSPEND, 0x80000000, resume, 0xabcdn);
  assert.equal(r.outcome, VSBI_HART_SUSPENDED);
  assert.equal(m.vsbi.prepareToRun(0), false);
  m.ops.sendIpi(0); // an interrupt arrives from outside (a device or the hypervisor)
  assert.equal(m.vsbi.prepareToRun(0), true);
  assert.equal(h.getPc(), resume);
  assert.equal(h.step(4), EXIT_ECALL);
  assert.deepEqual([xr(h, 10), xr(h, 11)], [0n, 0xabcdn]);
  assert.equal(h.getPriv(), PRV_S);
});

test('a hand-assembled secondary-boot sequence: hart 0 starts hart 1, which reports and stops itself', () => {
  const m = new TestMachine({ harts: 2 });
  const sec = RAM_BASE + 0x50000;
  // hart 1: status of itself, then stop.
  m.putCode(sec, [A.addi(9, 10, 0), ...li(17, HSM), ...li(16, D.SBI_HSM_HART_GET_STATUS), A.addi(10, 9, 0), A.ecall(), ...li(16, D.SBI_HSM_HART_STOP), A.ecall()]);
  // hart 0: hart_start(1, sec, 42).
  m.putCode(codeBase(0), [...li(17, HSM), ...li(16, D.SBI_HSM_HART_START), ...li(10, 1), ...li(11, sec), ...li(12, 42), A.ecall()]);
  assert.equal(m.runToEcall(0).a0, 0n);
  assert.ok(m.vsbi.prepareToRun(1));
  const s = m.runToEcall(1);
  assert.deepEqual([s.a0, s.a1], [0n, E(D.SBI_HSM_STATE_STARTED)]);
  assert.equal(m.runToEcall(1).outcome, VSBI_HART_STOPPED);
  assert.equal(m.vsbi.harts.status(1), D.SBI_HSM_STATE_STOPPED);
});

test('save/restore: HSM states and pending entries survive a save record; bad records are refused', () => {
  const a = new TestMachine({ harts: 3 });
  const entry = RAM_BASE + 0x70000;
  a.putCode(entry, [A.ecall()]);
  a.call(0, HSM, D.SBI_HSM_HART_START, 2, entry, 0x1122334455667788n);
  const rec = JSON.parse(JSON.stringify(a.vsbi.saveState()));
  const b = new TestMachine({ harts: 3 });
  b.putCode(entry, [A.ecall()]);
  b.vsbi.restoreState(rec);
  assert.deepEqual([0, 1, 2].map((i) => b.vsbi.harts.status(i)), [D.SBI_HSM_STATE_STARTED, D.SBI_HSM_STATE_STOPPED, D.SBI_HSM_STATE_START_PENDING]);
  assert.ok(b.vsbi.prepareToRun(2));
  assert.equal(b.harts[2]!.step(4), EXIT_ECALL);
  assert.deepEqual([xr(b.harts[2]!, 10), xr(b.harts[2]!, 11)], [2n, 0x1122334455667788n]);
  const c = new TestMachine({ harts: 2 });
  assert.throws(() => c.vsbi.restoreState(rec), /for 3 harts, this domain has 2/);
  assert.throws(() => b.vsbi.restoreState({ ...rec, version: 9 }), /version 9/);
  const bad = JSON.parse(JSON.stringify(rec));
  bad.hsm.words[1] = D.SBI_HSM_STATE_STOP_PENDING;
  assert.throws(() => b.vsbi.restoreState(bad), /hart 1 has state 3/);
  assert.equal(b.vsbi.harts.status(1), D.SBI_HSM_STATE_STOPPED, 'a refused record changes nothing');
});
