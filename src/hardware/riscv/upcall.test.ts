// SPDX-License-Identifier: GPL-2.0-only
// The memory-sampled SEIP source (hart-state.ts UPCALL_BYTE): SEIP is pending exactly while the
// byte is non-zero, so a guest handler that clears the byte and returns takes no second trap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIP_SEIP, SCAUSE, UPCALL_BYTE } from './hart-state.ts';
import { A, makeHart, RAM_BASE, setx } from './test-support.ts';

test('SEIP follows a byte in memory; the handler clears it and is not re-entered', () => {
  const { hart, phys } = makeHart({ guestMode: true });
  const flag = RAM_BASE + 0x8000, count = RAM_BASE + 0x8008;
  hart.s[UPCALL_BYTE] = 0x8000 + 1; // machine offset of `flag` in TestPhys, + 1
  assert.equal(hart.mipValue() & MIP_SEIP, 0);
  // Main: enable sie.SEIE and sstatus.SIE, then spin. Handler at +0x100: count++, clear flag, sret.
  const h = RAM_BASE + 0x100;
  phys.put(RAM_BASE, A.csrrw(0, 0x105, 5), A.csrrs(0, 0x104, 6), A.csrrsi(0, 0x100, 2), A.jal(0, 0));
  phys.put(h, A.ld(7, 8, 0), A.addi(7, 7, 1), A.sd(7, 8, 0), A.sb(0, 9, 0), A.sret());
  setx(hart, 5, BigInt(h));
  setx(hart, 6, 1n << 9n);
  setx(hart, 8, BigInt(count));
  setx(hart, 9, BigInt(flag));
  hart.step(100);
  assert.equal(phys.read64(count), 0n);
  phys.bytes[0x8000] = 1; // the hypervisor sets evtchn_upcall_pending
  assert.notEqual(hart.mipValue() & MIP_SEIP, 0);
  hart.step(5000);
  assert.equal(phys.read64(count), 1n); // exactly one upcall
  assert.equal(hart.s[SCAUSE + 1]! >>> 31, 1);
  assert.equal(hart.s[SCAUSE], 9);
  assert.equal(hart.mipValue() & MIP_SEIP, 0);
  phys.bytes[0x8000] = 1;
  hart.step(5000);
  assert.equal(phys.read64(count), 2n);
});
