// SPDX-License-Identifier: GPL-2.0-only
// vcpu_op and the blocking sched_ops on real vCPUs: bring-up of a second vCPU, runstate
// accounting, singleshot timers that wake SCHEDOP_block, WFI blocking, register_vcpu_info.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A, DATA, hypercall, li, makeHv, peek32, peek64, poke, poke64, pvDomain } from './test-support.ts';
import * as E from '../public/errno.ts';
import * as X from '../public/xen.ts';
import * as C from '../public/vcpu.ts';
import { xr } from '../../hardware/riscv/test-support.ts';
import { VCPU_INFO_SIZE } from '../public/shared-info.ts';

const VOP = X.HYPERVISOR_vcpu_op;

test('vcpu_op: initialise, up, is_up, down, and their errors', () => {
  const { hv } = makeHv();
  const code1 = 0x80001000;
  const d = pvDomain(hv, undefined, { vcpus: 2 });
  // vCPU 1's code: store a0 (its id) and sp to DATA, then spin.
  poke(d, code1, new Uint8Array(new Uint32Array([...li(5, DATA), A.sd(10, 5, 0), A.sd(2, 5, 8), A.sd(11, 5, 16), A.jal(0, 0)]).buffer));
  const v0 = d.vcpus[0]!, v1 = d.vcpus[1]!;
  assert.equal(hypercall(v0, VOP, C.VCPUOP_is_up, 1), 0n);
  assert.equal(hypercall(v0, VOP, C.VCPUOP_is_up, 0), 1n);
  assert.equal(hypercall(v0, VOP, C.VCPUOP_is_up, 2), BigInt(-E.ENOENT));
  assert.equal(hypercall(v0, VOP, C.VCPUOP_up, 1), BigInt(-E.EINVAL)); // not initialised
  const ctx = DATA + 0x200;
  poke64(d, ctx + C.VGC_PC, code1);
  poke64(d, ctx + C.VGC_A1, 0x55);
  poke64(d, ctx + C.VGC_SP, 0x80180000);
  poke64(d, ctx + C.VGC_SATP, 0);
  assert.equal(hypercall(v0, VOP, C.VCPUOP_initialise, 1, 0x1000), BigInt(-E.EFAULT));
  assert.equal(hypercall(v0, VOP, C.VCPUOP_initialise, 1, ctx), 0n);
  assert.equal(hypercall(v0, VOP, C.VCPUOP_initialise, 1, ctx), BigInt(-E.EEXIST));
  assert.equal(hypercall(v0, VOP, C.VCPUOP_up, 1), 0n);
  assert.equal(hypercall(v0, VOP, C.VCPUOP_is_up, 1), 1n);
  hv.run(6);
  assert.equal(peek64(d, DATA), 1n);
  assert.equal(peek64(d, DATA + 8), 0x80180000n);
  assert.equal(peek64(d, DATA + 16), 0x55n);
  assert.equal(v1.runstate === C.RUNSTATE_running || v1.runstate === C.RUNSTATE_runnable, true);
  assert.equal(hypercall(v0, VOP, C.VCPUOP_down, 1), 0n);
  assert.equal(hypercall(v0, VOP, C.VCPUOP_is_up, 1), 0n);
  assert.equal(v1.runstate, C.RUNSTATE_offline);
  assert.equal(hypercall(v0, VOP, 99, 0), BigInt(-E.ENOSYS));
});

test('singleshot timer: -ETIME in the past with VCPU_SSHOTTMR_future; wakes SCHEDOP_block; runstate counts the blocked time', () => {
  const { hv, clock } = makeHv();
  const d = pvDomain(hv, undefined, { vcpus: 2 });
  const v = d.vcpus[0]!;
  clock.t = 1_000_000; // 100 ms
  const now = d.systemTimeNs();
  const t = DATA + 0x300;
  poke64(d, t, now - 1);
  poke(d, t + 8, [1, 0, 0, 0]);
  assert.equal(hypercall(v, VOP, C.VCPUOP_set_singleshot_timer, 0, t), BigInt(-E.ETIME));
  assert.equal(hypercall(v, VOP, C.VCPUOP_set_singleshot_timer, 1, t), BigInt(-E.EINVAL)); // not the caller
  assert.equal(hypercall(v, VOP, C.VCPUOP_stop_singleshot_timer, 1), BigInt(-E.EINVAL));
  poke64(d, t, now + 5_000_000); // 5 ms from now
  assert.equal(hypercall(v, VOP, C.VCPUOP_set_singleshot_timer, 0, t), 0n);
  assert.equal(hypercall(v, X.HYPERVISOR_sched_op, X.SCHEDOP_block), 0n);
  assert.equal(v.isBlocked, true);
  assert.equal(v.runstate, C.RUNSTATE_blocked);
  assert.equal(hv.run(5), 'idle');
  assert.equal(hv.nextWakeNs(), now + 5_000_000 + d.bootNs);
  clock.t += 50_000; // +5 ms
  hv.run(1);
  assert.equal(v.isBlocked, false);
  assert.equal(v.timerFires, 1);
  // Without an event-channel layer the VIRQ is counted, not delivered; with one (event/), it
  // goes to EvtchnOps.sendVirq (unbound here, so nothing is pending) and nothing is dropped.
  assert.equal(d.virqsDropped, d.evtchn === null ? 1 : 0);
  const info = DATA + 0x400;
  assert.equal(hypercall(v, VOP, C.VCPUOP_get_runstate_info, 0, info), 0n);
  assert.equal(peek32(d, info), C.RUNSTATE_running);
  assert.equal(peek64(d, info + C.RSI_TIME + 8 * C.RUNSTATE_blocked), 5_000_000n);
  assert.equal(hypercall(v, VOP, C.VCPUOP_get_runstate_info, 0, 0x1000), BigInt(-E.EFAULT));
  // stop: a stopped timer never fires.
  poke64(d, t, d.systemTimeNs() + 1000);
  assert.equal(hypercall(v, VOP, C.VCPUOP_set_singleshot_timer, 0, t), 0n);
  assert.equal(hypercall(v, VOP, C.VCPUOP_stop_singleshot_timer, 0), 0n);
  clock.t += 10_000;
  hv.run(2);
  assert.equal(v.timerFires, 1);
});

test('WFI blocks the vCPU until its Sstc timer (stimecmp) is due', () => {
  const { hv, clock } = makeHv();
  // sie.STIE on, stimecmp = 1000, wfi, then store a marker.
  const code = [...li(5, 32), A.csrrs(0, 0x104, 5), ...li(6, 1000), A.csrrw(0, 0x14d, 6), A.wfi(), ...li(7, DATA), A.addi(8, 0, 42), A.sd(8, 7, 0), A.jal(0, 0)];
  const d = pvDomain(hv, code);
  const v = d.vcpus[0]!;
  assert.equal(hv.run(5), 'idle');
  assert.equal(v.isBlocked, true);
  assert.equal(peek64(d, DATA), 0n);
  clock.t = 1000;
  hv.run(3);
  assert.equal(peek64(d, DATA), 42n);
});

test('register_vcpu_info: validation, then the vcpu_info moves and asks for a rescan', () => {
  const { hv } = makeHv();
  const d = pvDomain(hv, undefined, { vcpus: 2 });
  const v0 = d.vcpus[0]!, v1 = d.vcpus[1]!;
  const r = DATA + 0x500;
  const reg = (gfn: number, off: number) => {
    poke64(d, r, gfn);
    poke(d, r + 8, [off & 0xff, (off >> 8) & 0xff, 0, 0, 0, 0, 0, 0]);
    return hypercall(v0, VOP, C.VCPUOP_register_vcpu_info, 1, r);
  };
  assert.equal(v1.vcpuInfoOff, -1);
  assert.equal(reg(0x80150, 4096 - VCPU_INFO_SIZE + 8), BigInt(-E.EINVAL)); // crosses the page
  assert.equal(reg(0x80150, 12), BigInt(-E.EINVAL)); // misaligned
  assert.equal(reg(0x10000, 0), BigInt(-E.EINVAL)); // not RAM
  assert.equal(reg(0x7ff01, 0), BigInt(-E.EINVAL)); // shared_info itself
  assert.equal(reg(0x80150, 64), 0n);
  assert.equal(v1.vcpuInfoOff, d.p2m.mfnOf(0x80150) * 4096 + 64);
  assert.equal(v1.upcallPending(), true);
  assert.equal(peek64(d, 0x80150000 + 64 + 8), 0xffffffffffffffffn);
  assert.equal(peek32(d, 0x80150000 + 64 + 16) % 2, 0); // time version even: written
  assert.equal(reg(0x80151, 0), BigInt(-E.EINVAL)); // only once
  void xr;
});

test('the event upcall: a blocked vCPU is woken by kick() and takes SEI exactly once per evtchn_upcall_pending', () => {
  const { hv } = makeHv();
  // Handler at 0x80000800: count++ at DATA, clear evtchn_upcall_pending (shared_info byte 0), sret.
  const SI = 0x7ff01000;
  const handler = [...li(5, DATA), A.ld(6, 5, 0), A.addi(6, 6, 1), A.sd(6, 5, 0), ...li(7, SI), A.sb(0, 7, 0), A.sret()];
  // Main: stvec = handler, sie.SEIE, sstatus.SIE, then SCHEDOP_block in a loop.
  const main = [...li(5, 0x80000800), A.csrrw(0, 0x105, 5), ...li(6, 1 << 9), A.csrrs(0, 0x104, 6), A.csrrsi(0, 0x100, 2)];
  const blockLoop = [...li(16, X.HYPERVISOR_sched_op), ...li(17, X.XEN_SBI_EID), ...li(10, X.SCHEDOP_block), A.ecall()];
  const code = [...main, ...blockLoop, A.jal(0, -4 * blockLoop.length)];
  while (code.length < 0x200) code.push(A.addi(0, 0, 0));
  code.push(...handler);
  const d = pvDomain(hv, code);
  const v = d.vcpus[0]!;
  assert.equal(hv.run(5), 'idle');
  assert.equal(v.isBlocked, true);
  // Part B's send: set the pending byte, then kick the vCPU.
  hv.pool.bytes[d.sharedInfoMfn * 4096] = 1;
  hv.kick(v);
  assert.equal(v.isBlocked, false);
  assert.equal(hv.run(5), 'idle'); // handled, blocked again
  assert.equal(peek64(d, DATA), 1n);
  hv.pool.bytes[d.sharedInfoMfn * 4096] = 1;
  hv.kick(v);
  hv.run(5);
  assert.equal(peek64(d, DATA), 2n);
});
