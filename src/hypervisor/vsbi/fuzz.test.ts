// SPDX-License-Identifier: GPL-2.0-only
// 100 000 random SBI calls (a0-a7 drawn from random and boundary values) through real
// guest-mode harts: nothing throws, every completed call returns a defined SBI error code, all
// registers but a0/a1 are preserved, pc moves past the ecall, and no byte of machine memory
// outside the guest's writable RAM changes. Seeded, so a failure reproduces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A } from '../../hardware/riscv/test-support.ts';
import { EXIT_ECALL } from '../../hardware/riscv/hart-api.ts';
import { MIE, MIP_SSIP } from '../../hardware/riscv/hart-state.ts';
import { FRAME_FREE } from '../mm/frame-pool.ts';
import { VSBI_RESUME } from './outcome.ts';
import * as D from './sbi-defs.ts';
import { codeBase, MMIO_PAGE_PA, RAM_BASE, RAM_END, RO_PAGE_PA, TestMachine } from './test-support.ts';

const EIDS = [D.SBI_EXT_BASE, D.SBI_EXT_TIME, D.SBI_EXT_IPI, D.SBI_EXT_RFENCE, D.SBI_EXT_HSM, D.SBI_EXT_SRST, D.SBI_EXT_SUSP, D.SBI_EXT_DBCN, D.SBI_EXT_PMU, D.SBI_EXT_XEN, 0, 1, 8, 0x0a000000];

test('fuzz: 100k random register sets never throw and always yield a defined SBI result', () => {
  let seed = 0x9e3779b9;
  const rnd = (): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return seed >>> 0;
  };
  const pick = <T>(a: readonly T[]): T => a[rnd() % a.length]!;
  const interesting = [0n, 1n, 2n, 3n, 7n, 0x80000000n, -1n, -2n, 1n << 31n, 1n << 32n, 1n << 53n, (1n << 53n) - 1n, 1n << 63n,
    BigInt(RAM_BASE), BigInt(RAM_BASE + 0x1000), BigInt(RAM_END - 1), BigInt(RAM_END - 4096), BigInt(RO_PAGE_PA), BigInt(MMIO_PAGE_PA),
    BigInt(D.SBI_EXT_HSM), BigInt(0x80000000), 0xffffffffn, 0x100000000n, BigInt(codeBase(1))];
  const value = (): bigint => {
    const k = rnd() % 4;
    if (k === 0) return BigInt.asIntN(64, (BigInt(rnd()) << 32n) | BigInt(rnd()));
    if (k === 1) return BigInt(rnd() % 16);
    return pick(interesting) + BigInt((rnd() % 3) - 1) * BigInt(rnd() % 4096);
  };

  const m = new TestMachine({ harts: 3, suspend: true });
  for (let i = 0; i < 3; i++) {
    m.putCode(codeBase(i), [A.ecall()]);
    m.harts[i]!.s[MIE] = MIP_SSIP; // so suspended harts can be woken below
  }
  const toU = (v: bigint) => BigInt.asUintN(64, v);
  const guestRw = new Set<number>();
  for (let g = 0; g < (RAM_END - RAM_BASE) / 4096; g++) guestRw.add(m.p2m.mfnOf(RAM_BASE / 4096 + g));
  // Mark every byte outside guest RAM so a stray write shows.
  const pool = m.pool.bytes;
  for (let f = 0; f < m.pool.nrFrames; f++) if (!guestRw.has(f)) pool.fill(0xa5, f * 4096, (f + 1) * 4096);

  const counts = new Map<number, number>();
  const N = 100_000;
  for (let n = 0; n < N; n++) {
    // Pick a running hart; bring stopped/suspended ones back the way a guest and platform would.
    const i = rnd() % 3;
    const st = m.vsbi.harts.status(i);
    if (st === D.SBI_HSM_STATE_SUSPENDED) m.ops.sendIpi(i);
    if (st === D.SBI_HSM_STATE_STOPPED && !m.vsbi.systemResume()) m.vsbi.harts.requestStart(i, codeBase(i), 0, 0);
    assert.ok(m.vsbi.prepareToRun(i), `hart ${i} runnable`);
    const h = m.harts[i]!;
    h.setPc(codeBase(i));
    m.putCode(codeBase(i), [A.ecall()]); // a console_read may have landed on the code
    for (let r = 1; r < 32; r++) {
      const v = r >= 10 && r <= 15 ? value() : BigInt(rnd());
      h.setX(r, Number(toU(v) & 0xffffffffn) | 0, Number(toU(v) >> 32n) | 0);
    }
    const eid = rnd() % 5 === 0 ? value() : BigInt(pick(EIDS));
    const fid = rnd() % 5 === 0 ? value() : BigInt(rnd() % 8);
    h.setX(17, Number(toU(eid) & 0xffffffffn) | 0, Number(toU(eid) >> 32n) | 0);
    h.setX(16, Number(toU(fid) & 0xffffffffn) | 0, Number(toU(fid) >> 32n) | 0);
    if (m.input.length < 8) m.input.push(0x61, 0x62, 0x63);
    const before = Int32Array.from(h.x);
    assert.equal(h.step(1), EXIT_ECALL);
    const outcome = m.vsbi.handleEcall(i);
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    if (outcome !== VSBI_RESUME) continue;
    const a0 = h.x[20]!, a0hi = h.x[21]!;
    assert.equal(a0hi, a0 < 0 ? -1 : 0, 'a0 is a sign-extended error code');
    assert.ok(D.SBI_ERRORS.includes(a0), `a0 = ${a0} for eid ${eid.toString(16)} fid ${fid}`);
    if (a0 !== 0) assert.deepEqual([h.x[22], h.x[23]], [0, 0], 'value is 0 on error');
    for (let w = 0; w < 64; w++) if (w < 20 || w > 23) assert.equal(h.x[w], before[w], `x${w >> 1} preserved`);
    assert.equal(h.getPc(), codeBase(i) + 4);
  }
  assert.ok((counts.get(VSBI_RESUME) ?? 0) > N / 2, 'most calls return');
  for (let f = 0; f < m.pool.nrFrames; f++) {
    if (guestRw.has(f)) continue;
    const page = pool.subarray(f * 4096, (f + 1) * 4096);
    assert.ok(page.every((b) => b === 0xa5), `frame ${f} (owner ${m.pool.owner[f] === FRAME_FREE ? 'free' : m.pool.owner[f]}) untouched`);
  }
});
