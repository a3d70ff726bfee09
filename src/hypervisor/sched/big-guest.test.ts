// SPDX-License-Identifier: GPL-2.0-only
// A PV guest with 512 vCPUs: vCPU 0 brings up vCPUs 1..511 itself (SBI HSM hart_start, as Linux
// does), each new vCPU writes its id into a per-vCPU slot and spins; on 4 pCPUs under credit2
// (and 2 under rtds) every vCPU comes up, gets CPU time, and runstate accounting adds up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATA, peek32 } from '../hypercall/test-support.ts';
import { SBI_HSM_STATE_STARTED } from '../vsbi/sbi-defs.ts';
import { bringUp, flat, schedHost, spinDomain } from './test-support.ts';

const N = 512;

// 512 x 1 ms ratelimited slices on 4 pCPUs take ~130 ms a round: 400 ms give each vCPU a few.
for (const [sched, cpus, T] of [['credit2', 4, 400e6], ['rtds', 2, 400e6]] as const) {
  test(`512 vCPUs in one PV domain: guest-driven bring-up, scheduling and runstate under ${sched} on ${cpus} pCPUs`, () => {
    const { hv, ops, loop } = schedHost(flat(cpus), sched, { nsPerInstr: 10, frames: 16384 });
    const d = spinDomain(hv, N, bringUp(N));
    assert.equal(d.vcpus.length, N);
    loop.run(T);
    let up = 0, ranAll = true, total = 0;
    for (const v of d.vcpus) {
      if (d.vsbi!.harts.status(v.id) === SBI_HSM_STATE_STARTED) up++;
      assert.equal(peek32(d, DATA + 4 * v.id), v.id + 1, `vCPU ${v.id} ran its entry code`);
      v.syncRunstate();
      const t = v.runstateTime;
      if (t[0]! <= 0) ranAll = false;
      total += t[0]!;
      // Every vCPU's runstate times cover its whole life since creation.
      assert.ok(Math.abs(t[0]! + t[1]! + t[2]! + t[3]! - T) <= 1e3, `vCPU ${v.id} accounts ${t[0]! + t[1]! + t[2]! + t[3]!}`);
    }
    assert.equal(up, N);
    assert.ok(ranAll);
    assert.ok(total >= 0.99 * cpus * T && total <= cpus * T + 1e3, `pCPUs busy ${total / (cpus * T)}`);
    void ops;
  });
}
