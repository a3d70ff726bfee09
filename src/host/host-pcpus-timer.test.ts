// SPDX-License-Identifier: GPL-2.0-only
// VCPUOP_set_singleshot_timer / _stop_singleshot_timer answered on the pCPU worker threads
// (smp/fast-path.ts over smp/vcpu-timer.ts) with real workers through HostPcpus: the deadline a
// guest sets on its pCPU is the main thread's v.timerNs, -ETIME for a past deadline with
// VCPU_SSHOTTMR_future as the main thread answers, and the timer still fires on the main thread
// (Hypervisor.tick: VIRQ_TIMER), which wakes a guest blocked in SCHEDOP_block.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A, DATA, li, poke } from '../hypervisor/hypercall/test-support.ts';
import type { Domain } from '../hypervisor/domain/domain.ts';
import { BLOCK_EVENT } from '../hypervisor/domain/vcpu.ts';
import { ETIME } from '../hypervisor/public/errno.ts';
import { SST_FLAGS, VCPU_SSHOTTMR_future, VCPUOP_set_singleshot_timer, VCPUOP_stop_singleshot_timer } from '../hypervisor/public/vcpu.ts';
import { HYPERVISOR_sched_op, HYPERVISOR_vcpu_op, SCHEDOP_block, XEN_SBI_EID } from '../hypervisor/public/xen.ts';
import { pcpuHost } from './host-pcpus-test-support.ts';

const T0 = 5, T1 = 6, T2 = 7, A0 = 10, A1 = 11, A2 = 12, A6 = 16, A7 = 17;

const host = (cpus: number, fast = true) => pcpuHost(cpus, { fast, stepMs: 5 });

const reg = (d: Domain, r: number): number => d.vcpus[0]!.hart.x[2 * r]! >>> 0;
const TMR = DATA, CMD = DATA + 0x100;
const u32 = (x: number): number[] => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24];
/** struct vcpu_set_singleshot_timer at TMR: timeout_abs_ns (u64), flags (u32). */
const setTimeout64 = (d: Domain, ns: number): void => poke(d, TMR, [...u32(ns % 2 ** 32), ...u32(Math.floor(ns / 2 ** 32))]);
const setFlags = (d: Domain, f: number): void => poke(d, TMR + SST_FLAGS, u32(f));
/** a0 = vcpu_op(cmd, vcpu 0, TMR); t1 = a0 */
const vcpuOp = (cmd: number[]): number[] => [...cmd, A.addi(A1, 0, 0), ...li(A2, TMR), ...li(A6, HYPERVISOR_vcpu_op), ...li(A7, XEN_SBI_EID), A.ecall(), A.addi(T1, A0, 0)];
/** loop: vcpu_op(*(u32 *)CMD, 0, TMR); t0++ */
function timerLoop(): number[] {
  const loop = [...vcpuOp([...li(A0, CMD), A.lw(A0, A0, 0)]), A.addi(T0, T0, 1)];
  return [...loop, A.jal(0, -4 * loop.length)];
}

function measure(h: ReturnType<typeof host>, d: Domain, ms: number): { calls: number; exits: number; fast: number } {
  const c0 = reg(d, T0), e0 = h.pcpus.exits, f0 = h.pcpus.fastCalls();
  h.drive(ms);
  return { calls: reg(d, T0) - c0, exits: h.pcpus.exits - e0, fast: h.pcpus.fastCalls() - f0 };
}

const FAR = 0x123_4567_89ab, FAR2 = 0x200_0000_0001;

test('a PV guest sets and stops its singleshot timer on its pCPU thread: the main thread sees it, -ETIME as the main thread says', (t) => {
  const h = host(1);
  try {
    const d = h.create(timerLoop()), v = d.vcpus[0]!;
    poke(d, CMD, u32(VCPUOP_set_singleshot_timer));
    setTimeout64(d, FAR);
    h.driveUntil(() => reg(d, T0) > 2000);
    assert.ok(reg(d, T0) > 2000, `timer sets completed: ${reg(d, T0)}`);
    assert.equal(reg(d, T1), 0);
    assert.equal(v.timerNs, FAR, 'the deadline the worker set is the main thread\'s');
    const m = measure(h, d, 300);
    t.diagnostic(`fast: ${m.calls} set_singleshot_timer, ${m.fast} on the worker, ${m.exits} exits in 300 ms`);
    assert.ok(m.fast >= m.calls * 0.99, `answered on the worker: ${m.fast} of ${m.calls}`);
    assert.ok(m.exits < m.calls / 20, `few exits: ${m.exits} for ${m.calls}`);
    assert.equal(h.hv.nextWakeNs(), FAR + d.bootNs, 'the main thread would sleep until it');

    setTimeout64(d, FAR2);
    h.driveUntil(() => v.timerNs === FAR2);
    assert.equal(v.timerNs, FAR2);

    // VCPU_SSHOTTMR_future with a past deadline: -ETIME and the timer is unchanged (flags first:
    // the guest may see either half of the change, both are valid calls).
    setFlags(d, VCPU_SSHOTTMR_future);
    setTimeout64(d, 1);
    h.driveUntil(() => reg(d, T1) === (-ETIME >>> 0));
    assert.equal(reg(d, T1) | 0, -ETIME);
    assert.equal(v.timerNs, FAR2, 'not set by the refused call');
    const fires0 = v.timerFires;

    // Without the flag a past deadline is set and fires on the main thread (VIRQ_TIMER).
    setFlags(d, 0);
    h.driveUntil(() => v.timerFires > fires0 + 10);
    assert.ok(v.timerFires > fires0 + 10, `fired on the main thread: ${v.timerFires - fires0}`);
    assert.equal(reg(d, T1), 0);

    poke(d, CMD, u32(VCPUOP_stop_singleshot_timer));
    const n = reg(d, T0);
    h.driveUntil(() => reg(d, T0) > n + 1000);
    assert.equal(v.timerNs, Infinity, 'stopped by the worker');
    assert.equal(reg(d, T1), 0);
  } finally {
    h.pcpus.stop();
  }
});

test('a guest that sets a timer on its pCPU thread and blocks is woken by the main thread when it fires', () => {
  const h = host(1);
  try {
    // wait: t2++ until *(u32 *)CMD != 0; set the timer; block; t0 = 1
    const wait = [A.addi(T2, T2, 1), ...li(A0, CMD), A.lw(A0, A0, 0)];
    const code = [...wait, A.beq(A0, 0, -4 * wait.length), ...vcpuOp(li(A0, VCPUOP_set_singleshot_timer)), ...li(A0, SCHEDOP_block), ...li(A6, HYPERVISOR_sched_op), A.ecall(), A.addi(T0, 0, 1), A.jal(0, 0)];
    const d = h.create(code), v = d.vcpus[0]!;
    h.driveUntil(() => reg(d, T2) > 1000); // executing on the worker (threads take a while to start)
    const deadline = d.systemTimeNs() + 150e6;
    setTimeout64(d, deadline);
    setFlags(d, VCPU_SSHOTTMR_future);
    poke(d, CMD, u32(1));
    h.driveUntil(() => v.blocked === BLOCK_EVENT);
    assert.equal(v.blocked, BLOCK_EVENT, 'blocked');
    assert.equal(reg(d, T1), 0, 'set_singleshot_timer returned 0');
    assert.equal(h.pcpus.fastCalls(), 1, 'answered on the worker');
    assert.equal(v.timerNs, deadline);
    h.driveUntil(() => reg(d, T0) === 1);
    const woke = d.systemTimeNs();
    assert.equal(reg(d, T0), 1, 'woke up');
    assert.ok(woke >= deadline, `not before the deadline (${((woke - deadline) / 1e6).toFixed(1)} ms after)`);
    assert.equal(v.timerFires, 1);
    assert.equal(v.timerNs, Infinity);
  } finally {
    h.pcpus.stop();
  }
});

test('singleshot timer with the fast paths off: one exit per call (the before figure)', (t) => {
  const h = host(1, false);
  try {
    const d = h.create(timerLoop());
    poke(d, CMD, u32(VCPUOP_set_singleshot_timer));
    setTimeout64(d, FAR);
    h.driveUntil(() => reg(d, T0) > 200);
    assert.equal(d.vcpus[0]!.timerNs, FAR);
    const m = measure(h, d, 300);
    t.diagnostic(`main thread: ${m.calls} set_singleshot_timer, ${m.fast} on the worker, ${m.exits} exits in 300 ms`);
    assert.equal(m.fast, 0);
    assert.ok(m.exits + 3 >= m.calls, `one exit per call: ${m.exits} for ${m.calls}`);
  } finally {
    h.pcpus.stop();
  }
});
