// SPDX-License-Identifier: GPL-2.0-only
// The minimal SBI PMU against real guest-mode harts, in the order Linux's riscv_pmu_sbi driver
// uses it (probe counters, check each standard event with config_matching + stop/reset, stop
// all at CPU start), plus the spec's error rules. Spec: riscv-sbi-2.0 §11.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as P from './pmu.ts';
import * as D from './sbi-defs.ts';
import { TestMachine } from './test-support.ts';

const PMU = D.SBI_EXT_PMU;

test('counters: cycle and instret, 64-bit hardware counters', () => {
  const m = new TestMachine();
  assert.deepEqual(m.call(0, PMU, P.SBI_PMU_NUM_COUNTERS), { a0: 0n, a1: 2n, outcome: m.call(0, PMU, 0).outcome });
  // counter_info = CSR | (width-1) << 12, type bit clear (hardware): written out from §11's encoding.
  assert.equal(m.call(0, PMU, P.SBI_PMU_COUNTER_GET_INFO, 0).a1, 0xc00n + (63n << 12n));
  assert.equal(m.call(0, PMU, P.SBI_PMU_COUNTER_GET_INFO, 1).a1, 0xc02n + (63n << 12n));
  for (const bad of [2n, -1n, 1n << 40n]) assert.equal(m.call(0, PMU, P.SBI_PMU_COUNTER_GET_INFO, bad).a0, BigInt(D.SBI_ERR_INVALID_PARAM));
});

test("Linux's event check: config_matching finds the counter for cycles and instructions, stop+reset frees it", () => {
  const m = new TestMachine();
  const cfg = (ev: number, flags = 0) => m.call(0, PMU, P.SBI_PMU_COUNTER_CONFIG_MATCHING, 0, 0b11, flags, ev, 0);
  let r = cfg(P.SBI_PMU_HW_CPU_CYCLES);
  assert.deepEqual([r.a0, r.a1], [0n, 0n]);
  assert.equal(m.call(0, PMU, P.SBI_PMU_COUNTER_STOP, r.a1, 1, P.SBI_PMU_STOP_FLAG_RESET).a0, BigInt(D.SBI_ERR_ALREADY_STOPPED), 'never started');
  r = cfg(P.SBI_PMU_HW_INSTRUCTIONS);
  assert.deepEqual([r.a0, r.a1], [0n, 1n]);
  for (const ev of [3, 0x10001, 0xf0000, 2 + 0x100000]) assert.equal(cfg(ev).a0, BigInt(D.SBI_ERR_NOT_SUPPORTED), `event 0x${ev.toString(16)}`);
  // AUTO_START, then the counter is busy for another match; stop clears it.
  r = cfg(P.SBI_PMU_HW_CPU_CYCLES, 1 << 2);
  assert.equal(r.a1, 0n);
  assert.equal(cfg(P.SBI_PMU_HW_CPU_CYCLES).a0, BigInt(D.SBI_ERR_NOT_SUPPORTED), 'the only cycles counter is started');
  assert.equal(m.call(0, PMU, P.SBI_PMU_COUNTER_STOP, 0, 1, 0).a0, 0n);
  assert.equal(cfg(P.SBI_PMU_HW_CPU_CYCLES).a1, 0n);
  // SKIP_MATCH takes the first counter of the set unconditionally.
  assert.equal(m.call(0, PMU, P.SBI_PMU_COUNTER_CONFIG_MATCHING, 1, 1, 1, 99, 0).a1, 1n);
});

test('start/stop follow the error table; counters are per hart', () => {
  const m = new TestMachine({ harts: 2 });
  const start = (h: number, base: number | bigint, mask: number | bigint, flags = 0) => m.call(h, PMU, P.SBI_PMU_COUNTER_START, base, mask, flags, 0).a0;
  const stop = (h: number, base: number | bigint, mask: number | bigint, flags = 0) => m.call(h, PMU, P.SBI_PMU_COUNTER_STOP, base, mask, flags).a0;
  assert.equal(start(0, 0, 0b11), 0n);
  assert.equal(start(0, 1, 1), BigInt(D.SBI_ERR_ALREADY_STARTED));
  assert.equal(start(1, 0, 0b11), 0n, 'hart 1 has its own counters');
  assert.equal(stop(0, 0, 0b11), 0n);
  assert.equal(stop(0, 0, 0b01), BigInt(D.SBI_ERR_ALREADY_STOPPED));
  for (const [b, mk] of [[0, 0b100], [2, 1], [0, 0], [0, 1n << 40n], [1n << 60n, 1]] as const) {
    assert.equal(start(0, b, mk), BigInt(D.SBI_ERR_INVALID_PARAM), `base ${b} mask ${mk}`);
    assert.equal(stop(0, b, mk), BigInt(D.SBI_ERR_INVALID_PARAM));
  }
  assert.equal(start(0, 0, 1, P.SBI_PMU_START_FLAG_INIT_SNAPSHOT), BigInt(D.SBI_ERR_NO_SHMEM));
  assert.equal(stop(1, 0, 1, P.SBI_PMU_STOP_FLAG_TAKE_SNAPSHOT), BigInt(D.SBI_ERR_NO_SHMEM));
  assert.equal(m.call(0, PMU, P.SBI_PMU_COUNTER_FW_READ, 0).a0, BigInt(D.SBI_ERR_INVALID_PARAM), 'no firmware counters');
  assert.equal(m.call(0, PMU, P.SBI_PMU_SNAPSHOT_SET_SHMEM, 0, 0, 0).a0, BigInt(D.SBI_ERR_NOT_SUPPORTED));
});
