// SPDX-License-Identifier: GPL-2.0-only
// The vSBI core against real guest-mode harts: the calling convention, the registry, BASE.
// Spec: riscv-sbi-2.0 §3 "Binary Encoding", §4 "Base Extension (EID #0x10)"
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A, xr } from '../../hardware/riscv/test-support.ts';
import { SbiRegistry, VsbiRegistrationError, type SbiExtension } from './core.ts';
import { VSBI_RESUME } from './outcome.ts';
import * as D from './sbi-defs.ts';
import { codeBase, li, TestMachine } from './test-support.ts';

test('a hand-assembled `li a7, EID; li a6, FID; ecall` program gets sbiret in a0/a1 and continues after the ecall', () => {
  const m = new TestMachine();
  const pc = codeBase(0);
  m.putCode(pc, [
    ...li(17, D.SBI_EXT_BASE), ...li(16, D.SBI_BASE_GET_SPEC_VERSION), A.ecall(),
    A.addi(5, 11, 0), // t0 = a1 (spec version)
    ...li(10, D.SBI_EXT_TIME), ...li(17, D.SBI_EXT_BASE), ...li(16, D.SBI_BASE_PROBE_EXTENSION), A.ecall(),
    A.addi(6, 11, 0), // t1 = probe(TIME)
    A.ecall(), // again, with a0 now 0 (the previous error): probe(0) = legacy set_timer, absent
  ]);
  let r = m.runToEcall(0);
  assert.deepEqual([r.a0, r.a1, r.outcome], [0n, 0x02000000n, VSBI_RESUME]);
  r = m.runToEcall(0);
  assert.equal(xr(m.harts[0]!, 5), 0x02000000n, 'the program continued after the first ecall');
  assert.deepEqual([r.a0, r.a1], [0n, 1n]);
  r = m.runToEcall(0);
  assert.equal(xr(m.harts[0]!, 6), 1n);
  assert.deepEqual([r.a0, r.a1], [0n, 0n], 'legacy EID 0x00 is not provided');
});

test('"All registers except a0 & a1 must be preserved across an SBI call by the callee" and pc += 4', () => {
  const m = new TestMachine();
  const h = m.harts[0]!;
  for (let i = 1; i < 32; i++) h.setX(i, 0x1000 + i, -i);
  const pc = h.getPc();
  m.call(0, D.SBI_EXT_BASE, D.SBI_BASE_GET_IMPL_ID, 0x1234n, 0x5678n, 0x1002n, 0x1003n, 0x1004n, 0x1005n);
  assert.equal(h.getPc(), pc + 4);
  for (let i = 1; i < 32; i++) {
    if (i === 10 || i === 11) continue;
    const v = xr(h, i);
    if (i >= 12 && i <= 17) continue; // set by call(); checked below
    assert.equal(v, BigInt.asUintN(64, (BigInt(-i) << 32n) | BigInt(0x1000 + i)), `x${i}`);
  }
  assert.deepEqual([12, 13, 14, 15, 16, 17].map((i) => xr(h, i)), [0x1002n, 0x1003n, 0x1004n, 0x1005n, 1n, 0x10n]);
});

test('BASE: version 2.0, implementation "Xen Project" (7), impl version, machine ids 0', () => {
  const m = new TestMachine();
  const v = (fid: number) => m.call(0, D.SBI_EXT_BASE, fid);
  assert.deepEqual(v(D.SBI_BASE_GET_SPEC_VERSION), { a0: 0n, a1: 0x02000000n, outcome: VSBI_RESUME });
  assert.equal(v(D.SBI_BASE_GET_IMPL_ID).a1, 7n);
  assert.equal(v(D.SBI_BASE_GET_IMPL_VERSION).a1, BigInt(D.VSBI_IMPL_VERSION));
  for (const fid of [D.SBI_BASE_GET_MVENDORID, D.SBI_BASE_GET_MARCHID, D.SBI_BASE_GET_MIMPID]) assert.deepEqual([v(fid).a0, v(fid).a1], [0n, 0n]);
  assert.equal(v(7).a0, BigInt(D.SBI_ERR_NOT_SUPPORTED));
});

test('BASE probe: the extensions Linux needs are there (PMU included); legacy, SUSP-without-platform and the Xen EID without a handler are not', () => {
  const m = new TestMachine();
  const probe = (eid: bigint | number) => m.call(0, D.SBI_EXT_BASE, D.SBI_BASE_PROBE_EXTENSION, eid).a1;
  for (const eid of [D.SBI_EXT_BASE, D.SBI_EXT_TIME, D.SBI_EXT_IPI, D.SBI_EXT_RFENCE, D.SBI_EXT_HSM, D.SBI_EXT_SRST, D.SBI_EXT_DBCN, D.SBI_EXT_PMU]) {
    assert.equal(probe(eid), 1n, `0x${eid.toString(16)}`);
  }
  for (const eid of [0x01, 0x08, D.SBI_EXT_SUSP, D.SBI_EXT_XEN, 0x0a000000, -1]) assert.equal(probe(eid), 0n);
  assert.equal(probe((1n << 32n) | BigInt(D.SBI_EXT_TIME)), 0n, 'an a0 that is no sign-extended 32-bit EID');
  const full = new TestMachine({ suspend: true, hypercall: () => 0 });
  assert.equal(full.call(0, D.SBI_EXT_BASE, D.SBI_BASE_PROBE_EXTENSION, D.SBI_EXT_SUSP).a1, 1n);
  assert.equal(full.call(0, D.SBI_EXT_BASE, D.SBI_BASE_PROBE_EXTENSION, D.SBI_EXT_XEN).a1, 1n);
});

test('"An ECALL with an unsupported SBI extension ID (EID) or an unsupported SBI function ID (FID) must return the error code SBI_ERR_NOT_SUPPORTED"', () => {
  const m = new TestMachine();
  const NS = BigInt(D.SBI_ERR_NOT_SUPPORTED);
  assert.equal(m.call(0, 0x12345678, 0).a0, NS);
  assert.equal(m.call(0, D.SBI_EXT_PMU, 99).a0, NS, 'an unknown PMU FID');
  assert.equal(m.call(0, 0x01, 0, 0x41).a0, NS, 'legacy console_putchar');
  assert.equal(m.call(0, (1n << 40n) | BigInt(D.SBI_EXT_BASE), 0).a0, NS, 'EID with garbage above bit 31');
  assert.equal(m.call(0, D.SBI_EXT_BASE, (1n << 33n) | 0n).a0, NS, 'FID with garbage above bit 31');
  assert.equal(m.call(0, D.SBI_EXT_BASE, -1n).a0, NS);
  assert.equal(m.call(0, D.SBI_EXT_BASE, 0).a0, 0n, 'a sign-extended FID 0 still works');
  assert.equal(m.out.length, 0);
});

test('the registry rejects overlapping EID ranges at registration and finds ranges', () => {
  const r = new SbiRegistry();
  const ext = (name: string, s: number, e: number): SbiExtension => ({ name, eidStart: s, eidEnd: e, handle: () => VSBI_RESUME });
  r.register(ext('a', 0x10, 0x10));
  r.register(ext('fw', 0x0a000000, 0x0a0000ff));
  r.register(ext('b', 0x11, 0x20));
  assert.throws(() => r.register(ext('dup', 0x10, 0x10)), VsbiRegistrationError);
  assert.throws(() => r.register(ext('straddle', 0x20, 0x30)), /overlaps b/);
  assert.throws(() => r.register(ext('inside', 0x0a000010, 0x0a000010)), /overlaps fw/);
  assert.throws(() => r.register(ext('backwards', 5, 4)), /bad EID range/);
  assert.equal(r.find(0x15)?.name, 'b');
  assert.equal(r.find(0x0a0000ff)?.name, 'fw');
  assert.equal(r.find(0x0a000100), undefined);
  assert.equal(r.probe(0x0a000001), 1);
  const m = new TestMachine();
  assert.throws(() => m.vsbi.register(ext('again', D.SBI_EXT_HSM, D.SBI_EXT_HSM)), /overlaps HSM/);
});

test('the Xen hypercall EID is 0x0A000007 (firmware space, low 24 bits = implementation ID 7): result in a0, a1 preserved', () => {
  const seen: number[][] = [];
  const m = new TestMachine({
    hypercall: (c) => {
      seen.push([c.fid, c.argU32(0), c.argU32(5)]);
      return c.fid === 17 ? -38 : 2 ** 40 + 5;
    },
  });
  assert.equal(D.SBI_EXT_XEN, 0x0a000007);
  let r = m.call(0, D.SBI_EXT_XEN, 17, 1, 0, 0, 0, 0, 6);
  assert.deepEqual([r.a0, r.a1], [-38n, 0n]);
  r = m.call(0, D.SBI_EXT_XEN, 29, 3, 0x99);
  assert.equal(r.a0, (1n << 40n) + 5n);
  assert.equal(r.a1, 0x99n, 'a1 is not an sbiret value for hypercalls: it keeps the argument');
  assert.deepEqual(seen, [[17, 1, 6], [29, 3, 0]]);
});
