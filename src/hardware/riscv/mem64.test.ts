// SPDX-License-Identifier: GPL-2.0-only
// Doublewords whose bits are NaNs (signalling, quiet, negative, with payloads, V8's hole NaN),
// -0 and subnormals move unchanged through every 8-byte path that now uses Float64Array
// views (mem64.ts): LD/SD on a TLB hit (interpreter and translated block, run hot enough to be
// optimized), the slow path of a TLB miss, FLD/FSD and LR.D/SC.D. (A PTE is never a NaN: its
// bits 63:54 are zero. Sv39 walks are covered by handoff.test.ts.)
// Spec: riscv-unpriv-20240411 §2.6, §14.2 (LR/SC).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MSTATUS, MSTATUS_FS } from './hart-state.ts';
import { F64_EXACT } from './mem64.ts';
import { A, RAM_BASE, makeHart, setx, xr } from './test-support.ts';

const PATTERNS = [
  0x7ff0_0000_0000_0001n, 0x7ff4_0000_0000_0000n, 0x7ff8_0000_0000_0000n, 0xfff8_0000_0000_0000n,
  0xfff7_ffff_fff7_ffffn, 0x7fff_ffff_ffff_ffffn, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n,
  0x0000_0000_0000_0001n, 0x000f_ffff_ffff_ffffn, 0xfff0_0000_0000_0001n, 0x1234_5678_7ff0_0001n,
];
const DATA = RAM_BASE + 0x8000;

test('the start-up probe accepts this engine (x64/arm64 V8 keeps NaN bits)', () => {
  assert.equal(F64_EXACT, process.env.TSXEN_SPLIT_LDSD !== '1');
});

for (const jit of [true, false]) {
  test(`LD/SD, FLD/FSD, LR.D/SC.D keep every bit of NaN-like doublewords (${jit ? 'jit' : 'interpreter'})`, () => {
    const { hart, phys } = makeHart({ jit, jitThreshold: 2 });
    // x5 = src, x6 = dst, x7 = count. Loop: ld x10, 0(x5); sd x10, 0(x6); fld f1, 8(x5); fsd f1, 8(x6);
    // lr.d x11, (x12); sc.d x13, x11, (x14) ... (x12 = src + 16, x14 = dst + 16); addi x7, -1; bnez x7.
    phys.put(RAM_BASE, A.ld(10, 5, 0), A.sd(10, 6, 0), A.fld(1, 5, 8), A.fsd(1, 6, 8),
      A.amo(0x02, 3, 11, 12, 0), A.amo(0x02, 3, 0, 14, 0), A.amo(0x03, 3, 13, 14, 11),
      A.addi(7, 7, -1), A.bne(7, 0, -32), A.jal(0, 0));
    hart.s[MSTATUS] |= MSTATUS_FS & (1 << 13); // FS = Initial: FP loads and stores are legal
    const DONE = RAM_BASE + 36;
    for (const p of PATTERNS) {
      phys.write64(DATA, p); phys.write64(DATA + 8, p); phys.write64(DATA + 16, p);
      phys.write64(DATA + 0x1000, 0n); phys.write64(DATA + 0x1008, 0n); phys.write64(DATA + 0x1010, 0n);
      hart.flushTlb(); // the first pass takes the slow path of a TLB miss
      hart.setPc(RAM_BASE);
      setx(hart, 5, BigInt(DATA)); setx(hart, 6, BigInt(DATA + 0x1000)); setx(hart, 7, 20_000n);
      setx(hart, 12, BigInt(DATA + 16)); setx(hart, 14, BigInt(DATA + 0x1010));
      while (hart.getPc() !== DONE) hart.step(50_000);
      const hex = (v: bigint) => v.toString(16);
      assert.equal(hex(xr(hart, 10)), hex(p), 'ld');
      assert.equal(hex(phys.read64(DATA + 0x1000)), hex(p), 'sd');
      assert.equal(hex(phys.read64(DATA + 0x1008)), hex(p), 'fld/fsd');
      assert.equal(hex(xr(hart, 11)), hex(p), 'lr.d');
      assert.equal(xr(hart, 13), 0n, 'sc.d succeeded');
      assert.equal(hex(phys.read64(DATA + 0x1010)), hex(p), 'sc.d stored');
    }
  });
}
