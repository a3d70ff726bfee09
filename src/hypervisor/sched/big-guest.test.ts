// SPDX-License-Identifier: GPL-2.0-only
// A PV guest with 512 vCPUs: vCPU 0 brings up vCPUs 1..511 itself (SBI HSM hart_start, as Linux
// does), each new vCPU writes its id into a per-vCPU slot and spins; on 4 pCPUs under credit2
// (and 2 under rtds) every vCPU comes up, gets CPU time, and runstate accounting adds up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A, DATA, li, peek32 } from '../hypercall/test-support.ts';
import { SBI_HSM_STATE_STARTED } from '../vsbi/sbi-defs.ts';
import { flat, schedHost, spinDomain } from './test-support.ts';

const N = 512;
const SBI_EXT_HSM = 0x48534d;

/** vCPU 0: for a0 = 1..N-1: hart_start(a0, entry, opaque) ; then all (a0 = hartid): sw a0 -> DATA + 4*a0 ; spin. */
function bringUp(): number[] {
  const c: number[] = [];
  c.push(...li(8, 1), ...li(9, N), ...li(17, SBI_EXT_HSM), ...li(16, 0));
  const loop = c.length;
  c.push(A.addi(10, 8, 0)); // a0 = hartid
  const auipcAt = c.length;
  c.push(A.auipc(11, 0), 0 /* addi a1, a1, entry-auipc */, A.addi(12, 0, 0), 0x00000073 /* ecall */);
  c.push(A.addi(8, 8, 1));
  c.push(0 /* blt s0, s1, loop */);
  c.push(A.addi(10, 0, 0)); // vCPU 0 records itself as hart 0
  const entry = c.length;
  c[auipcAt + 1] = A.addi(11, 11, (entry - auipcAt) * 4);
  c[loop + 6] = A.blt(8, 9, (loop - (loop + 6)) * 4);
  c.push(...li(5, DATA), A.slli(6, 10, 2), A.add(5, 5, 6), A.addi(7, 10, 1), A.sw(7, 5, 0), A.jal(0, 0));
  return c;
}

// 512 x 1 ms ratelimited slices on 4 pCPUs take ~130 ms a round: 400 ms give each vCPU a few.
for (const [sched, cpus, T] of [['credit2', 4, 400e6], ['rtds', 2, 400e6]] as const) {
  test(`512 vCPUs in one PV domain: guest-driven bring-up, scheduling and runstate under ${sched} on ${cpus} pCPUs`, () => {
    const { hv, ops, loop } = schedHost(flat(cpus), sched, { nsPerInstr: 10, frames: 16384 });
    const d = spinDomain(hv, N, bringUp());
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
