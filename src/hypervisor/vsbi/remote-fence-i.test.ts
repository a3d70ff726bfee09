// SPDX-License-Identifier: GPL-2.0-only
// SBI remote FENCE.I must reach the target hart's translated code (its JIT), not only count.
// Spec: riscv-sbi-2.0 §8.1 "Function: Remote FENCE.I (FID #0)": "Instructs remote harts to
// execute FENCE.I instruction."
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A, xr } from '../../hardware/riscv/test-support.ts';
import * as D from './sbi-defs.ts';
import { codeBase, TestMachine } from './test-support.ts';

test('remote FENCE.I makes a hart run code another hart rewrote, even after its loop was translated', () => {
  const m = new TestMachine({ harts: 2 });
  const h1 = m.harts[1]!;
  const loop = codeBase(1);
  m.putCode(loop, [A.addi(10, 10, 1), A.jal(0, -4)]);
  // Hart 1 is brought up as a guest does it: HSM hart_start from hart 0.
  assert.equal(m.call(0, D.SBI_EXT_HSM, D.SBI_HSM_HART_START, 1, loop, 0).a0, 0n);
  assert.ok(m.vsbi.prepareToRun(1), 'hart 1 enters at the loop');
  assert.equal(h1.getPc(), loop);
  h1.setX(10, 0, 0);
  h1.step(200_000); // long enough for the loop's block to become hot and be translated
  const before = xr(h1, 10);
  assert.ok(before > 50_000n, `the loop ran (${before})`);
  // Hart 0 rewrites hart 1's loop to add 2, then asks for a remote FENCE.I on hart 1.
  m.putCode(loop, [A.addi(10, 10, 2)]);
  const r = m.call(0, D.SBI_EXT_RFENCE, D.SBI_RFENCE_REMOTE_FENCE_I, 0b10, 0);
  assert.equal(r.a0, 0n);
  h1.setX(10, 0, 0);
  h1.step(2_000); // 1,000 iterations of addi + jal
  assert.equal(xr(h1, 10), 2_000n, 'every iteration after the fence executes the new addi');
});
