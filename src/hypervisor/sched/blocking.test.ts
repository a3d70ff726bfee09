// SPDX-License-Identifier: GPL-2.0-only
// Blocking and wakeup through the core under each scheduler: guests that compute ~100 us then
// WFI until an Sstc timer 500 us ahead; the scheduler sees sleep/wake from WFI and the timer,
// and runstate accounting (running/runnable/blocked/offline) covers exactly the virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A, hcCode, li } from '../hypercall/test-support.ts';
import { RUNSTATE_blocked, RUNSTATE_running } from '../public/vcpu.ts';
import { flat, schedHost, spinDomain } from './test-support.ts';

// sie.STIE; loop: stimecmp = time + 500 us; wfi; 5000 x (addi, bne) = 10,000 instructions; repeat.
const code = [
  ...li(5, 32), A.csrrs(0, 0x104, 5),
  A.csrrs(6, 0xc01, 0), ...li(7, 500_000), A.add(6, 6, 7), A.csrrw(0, 0x14d, 6), A.wfi(),
  ...li(28, 5000), A.addi(28, 28, -1), A.bne(28, 0, -4),
];
code.push(A.jal(0, -(code.length - 3) * 4)); // back to `csrr time`

for (const sched of ['credit2', 'rtds', 'null']) {
  test(`WFI/timer blocking and wakeup under ${sched}: 2 guests on 1 pCPU, runstates exact`, () => {
    const { hv, loop } = schedHost(flat(sched === 'null' ? 2 : 1), sched, { nsPerInstr: 10 });
    const ds = [spinDomain(hv, 1, code), spinDomain(hv, 1, code)];
    const T = 60e6;
    loop.run(T);
    for (const d of ds) {
      const v = d.vcpus[0]!;
      v.syncRunstate();
      const t = v.runstateTime;
      assert.ok(Math.abs(t[0]! + t[1]! + t[2]! + t[3]! - T) <= 1e3, `accounts ${[...t]}`);
      const run = t[RUNSTATE_running]!, blk = t[RUNSTATE_blocked]! / T;
      // Running time is exactly the instructions retired at 10 ns each (the virtual clock's definition).
      assert.ok(Math.abs(run - v.hart.instructions * 10) <= 0.001 * run, `running ${run} ns for ${v.hart.instructions} instructions`);
      // A cycle is ~100 us of computing then a WFI until a timer ~500 us ahead (the time CSR is
      // sampled per hart step, so a little less): mostly blocked, and both guests kept cycling.
      assert.ok(run / T > 0.15 && run / T < 0.21, `running share ${run / T}`);
      // On one pCPU the two wake together and one waits (runnable) while the other computes.
      assert.ok(blk > (sched === 'null' ? 0.78 : 0.55), `blocked share ${blk}`);
      if (sched === 'null') assert.ok(t[1]! / T < 0.001, `null: never waits for the pCPU (${t[1]! / T})`);
    }
  });
}

test('SCHEDOP_yield under credit2: a vCPU yielding in a loop leaves the pCPU to a spinning one', () => {
  const { hv, loop } = schedHost(flat(1), 'credit2', { nsPerInstr: 10 });
  const body = hcCode(29 /* __HYPERVISOR_sched_op */, 0 /* SCHEDOP_yield */);
  const yielder = spinDomain(hv, 1, [...body, A.jal(0, -body.length * 4)]);
  const spinner = spinDomain(hv);
  const T = 50e6;
  loop.run(T);
  const y = yielder.vcpus[0]!, s = spinner.vcpus[0]!;
  y.syncRunstate();
  s.syncRunstate();
  assert.ok(y.hart.instructions > 100, 'the yielder ran');
  assert.ok(y.runstateTime[0]! / T < 0.05, `yielder share ${y.runstateTime[0]! / T}`);
  assert.ok(s.runstateTime[0]! / T > 0.95, `spinner share ${s.runstateTime[0]! / T}`);
});
