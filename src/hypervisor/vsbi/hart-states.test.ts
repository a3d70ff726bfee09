// SPDX-License-Identifier: GPL-2.0-only
// The HSM state machine on its own: every legal edge, refused edges, CAS races, shared buffers.
// Spec: riscv-sbi-2.0 §9 "Hart State Management Extension (EID #0x48534D "HSM")"
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HartStates } from './hart-states.ts';
import type { VsbiPlatform } from './platform.ts';
import {
  SBI_HSM_STATE_START_PENDING as START_PENDING,
  SBI_HSM_STATE_STARTED as STARTED,
  SBI_HSM_STATE_STOPPED as STOPPED,
  SBI_HSM_STATE_SUSPENDED as SUSPENDED,
} from './sbi-defs.ts';

/** Records what prepareToRun does to harts: entries and flushes. */
function recorder(n: number, pending: boolean[] = []) {
  const regs = Array.from({ length: n }, () => new Int32Array(64));
  const log: string[] = [];
  const platform = {
    hartCount: n,
    hart: (i: number) => ({ x: regs[i]!, advancePc: () => {}, enterSupervisor: (pc: number) => log.push(`enter ${i} 0x${pc.toString(16)}`) }),
    flushTlb: (i: number) => log.push(`tlb ${i}`),
    flushIcache: (i: number) => log.push(`icache ${i}`),
    interruptPending: (i: number) => pending[i] === true,
  } as unknown as VsbiPlatform;
  return { platform, regs, log };
}

test('at creation the boot hart is STARTED and every other hart STOPPED', () => {
  const h = new HartStates(4, 2);
  assert.deepEqual([0, 1, 2, 3].map((i) => h.status(i)), [STOPPED, STOPPED, STARTED, STOPPED]);
});

test('STOPPED -> START_PENDING -> STARTED: the entry registers are applied by the target runner only', () => {
  const h = new HartStates(2, 0);
  const { platform, regs, log } = recorder(2);
  assert.equal(h.requestStart(1, 0x80200000, 0x1234, -1), true);
  assert.equal(h.status(1), START_PENDING);
  assert.deepEqual(log, []);
  assert.equal(h.prepareToRun(1, platform), true);
  assert.equal(h.status(1), STARTED);
  assert.deepEqual(log, ['enter 1 0x80200000', 'tlb 1', 'icache 1']);
  assert.deepEqual([regs[1]![20], regs[1]![21], regs[1]![22], regs[1]![23]], [1, 0, 0x1234, -1]);
});

test('a second start of the same hart loses the compare-and-swap', () => {
  const h = new HartStates(2, 0);
  assert.equal(h.requestStart(1, 0x1000, 0, 0), true);
  assert.equal(h.requestStart(1, 0x2000, 0, 0), false);
  assert.equal(h.requestStart(0, 0x2000, 0, 0), false, 'a STARTED hart cannot be started');
});

test('stop, suspend and resume edges', () => {
  const pending = [false, false];
  const h = new HartStates(2, 0);
  const { platform, log } = recorder(2, pending);
  assert.equal(h.stop(1), false, 'only a STARTED hart can stop');
  assert.equal(h.suspend(0, true, 0, 0, 0), true);
  assert.equal(h.status(0), SUSPENDED);
  assert.equal(h.prepareToRun(0, platform), false, 'no interrupt: stays suspended');
  pending[0] = true;
  assert.equal(h.prepareToRun(0, platform), true);
  assert.equal(h.status(0), STARTED);
  assert.deepEqual(log, [], 'a retentive resume touches no register');
  assert.equal(h.suspend(0, false, 0x80000000, 5, 0), true);
  assert.equal(h.prepareToRun(0, platform), true);
  assert.deepEqual(log, ['enter 0 0x80000000', 'tlb 0', 'icache 0']);
  assert.equal(h.stop(0), true);
  assert.equal(h.status(0), STOPPED);
  assert.equal(h.prepareToRun(0, platform), false);
});

test('system suspend needs every other hart STOPPED and resumes the caller from STOPPED', () => {
  const h = new HartStates(3, 0);
  const { platform, log } = recorder(3);
  assert.equal(h.othersStopped(0), true);
  h.requestStart(2, 0x1000, 0, 0);
  assert.equal(h.othersStopped(0), false);
  const h2 = new HartStates(3, 1);
  assert.equal(h2.systemSuspend(1, 0x80001000, 9, 0), true);
  assert.equal(h2.status(1), STOPPED);
  assert.equal(h2.systemResume(), 1);
  assert.equal(h2.systemResume(), -1, 'one resume per suspend');
  assert.equal(h2.prepareToRun(1, platform), true);
  assert.deepEqual(log, ['enter 1 0x80001000', 'tlb 1', 'icache 1']);
});

test('states can live in a caller-supplied shared buffer, and a too-small one is refused', () => {
  const buf = new Int32Array(new SharedArrayBuffer(HartStates.wordsFor(4) * 4));
  const h = new HartStates(4, 0, buf);
  h.requestStart(3, 0x1000, 0, 0);
  assert.equal(buf[3], START_PENDING);
  assert.throws(() => new HartStates(4, 0, new Int32Array(4)), RangeError);
});
