// SPDX-License-Identifier: GPL-2.0-only
// Time as a guest sees it: guest programs read the wallclock under wc_version's seqlock and
// compute system time from vcpu_time_info (tsc = the time CSR, the pvclock mul/shift) exactly
// as docs/abi.md §5 tells a PV kernel to; settime from the host updates the wallclock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A, DATA, li, makeHv, peek64, pvDomain } from '../hypercall/test-support.ts';
import { GUEST_MAGIC_BASE, SI_WC_NSEC, SI_WC_SEC, SI_WC_VERSION, VI_TIME, VTI_SYSTEM_TIME, VTI_TSC_SHIFT, VTI_TSC_TIMESTAMP, VTI_TSC_TO_SYSTEM_MUL } from '../public/shared-info.ts';
import { scaleDelta, timeScale } from './clock.ts';
import { Hypervisor } from '../xen.ts';

const SI = GUEST_MAGIC_BASE + 0x1000;
// Registers: s0 = shared_info, s1 = DATA.
const T0 = 5, T1 = 6, T2 = 7, T3 = 28, T4 = 29, T5 = 30, T6 = 31, S0 = 8, S1 = 9;

/** Wallclock reader: retry while wc_version is odd or changes; then store sec, nsec, version; spin. */
function wallclockReader(): number[] {
  const head = [...li(S0, SI), ...li(S1, DATA)];
  const loop = [
    A.lwu(T0, S0, SI_WC_VERSION),
    A.andi(T1, T0, 1),
    A.bne(T1, 0, -8),
    A.fence(),
    A.lwu(T2, S0, SI_WC_SEC),
    A.lwu(T3, S0, SI_WC_NSEC),
    A.fence(),
    A.lwu(T4, S0, SI_WC_VERSION),
    A.bne(T0, T4, -32),
    A.sd(T2, S1, 0),
    A.sd(T3, S1, 8),
    A.sd(T0, S1, 16),
    A.jal(0, 0),
  ];
  return [...head, ...loop];
}

test('a guest reads the wallclock through the seqlock; a write in progress makes it wait', () => {
  const { hv } = makeHv();
  hv.setWallclock(1_234_567_890, 500_000_000);
  const d = pvDomain(hv, wallclockReader());
  const dv = hv.pool.view;
  const base = d.sharedInfoMfn * 4096;
  const ver = dv.getUint32(base + SI_WC_VERSION, true);
  assert.equal(ver % 2, 0);
  // Pretend an update is in progress: the guest must not finish.
  dv.setUint32(base + SI_WC_VERSION, ver + 1, true);
  hv.run(3);
  assert.equal(peek64(d, DATA + 16), 0n);
  dv.setUint32(base + SI_WC_VERSION, ver + 2, true);
  hv.run(3);
  assert.equal(peek64(d, DATA + 16), BigInt(ver + 2));
  assert.equal(peek64(d, DATA), 1_234_567_890n);
  assert.equal(peek64(d, DATA + 8), 500_000_000n);
});

test('settime moves every domain wallclock (wall at system time 0), and bumps wc_version by 2', () => {
  const { hv, clock } = makeHv();
  const d = pvDomain(hv);
  clock.t = 20_000_000; // 2 s after the domain booted (it booted at t = 0)
  const dv = hv.pool.view;
  const base = d.sharedInfoMfn * 4096;
  const v0 = dv.getUint32(base + SI_WC_VERSION, true);
  hv.setWallclock(2_000_000_000, 0);
  assert.equal(dv.getUint32(base + SI_WC_VERSION, true), v0 + 2);
  assert.equal(dv.getUint32(base + SI_WC_SEC, true), 2_000_000_000 - 2);
  assert.equal(dv.getUint32(base + SI_WC_NSEC, true), 0);
});

test('pvclock scale: the guest formula reproduces ns for common timebases', () => {
  for (const hz of [10_000_000, 24_000_000, 1_000_000_000, 32768]) {
    const s = timeScale(hz);
    assert.ok(s.mul > 0 && s.mul < 2 ** 32);
    for (const ticks of [0, 1, 1000, 123_456_789]) {
      assert.ok(Math.abs(scaleDelta(ticks, s) - (ticks * 1e9) / hz) <= 1, `${hz} Hz, ${ticks} ticks`);
    }
  }
});

test('a guest computes system time from vcpu_time_info and the time CSR (rdtime, mul, mulhu)', () => {
  const { clock } = makeHv();
  const VI = SI + VI_TIME; // vCPU 0's vcpu_time_info inside shared_info
  const code = [
    ...li(S0, VI), ...li(S1, DATA),
    A.csrrs(T0, 0xc01, 0), // rdtime
    A.ld(T1, S0, VTI_TSC_TIMESTAMP),
    A.sub(T0, T0, T1),
    A.lb(T2, S0, VTI_TSC_SHIFT),
    A.sll(T0, T0, T2), // shift >= 0 at 10 MHz
    A.lwu(T3, S0, VTI_TSC_TO_SYSTEM_MUL),
    A.mul(T4, T0, T3),
    A.mulhu(T5, T0, T3),
    A.srli(T4, T4, 32),
    A.slli(T5, T5, 32),
    A.or(T4, T4, T5),
    A.ld(T6, S0, VTI_SYSTEM_TIME),
    A.add(T4, T4, T6),
    A.sd(T4, S1, 0),
    A.jal(0, 0),
  ];
  void clock;
  // A clock that moves 777 ticks on every read, so the guest's rdtime is later than the
  // tsc_timestamp written when the vCPU was scheduled, and the scaled delta matters.
  const reads: number[] = [];
  const moving = { frequency: 10_000_000, t: 5_000, now(): number { this.t += 777; reads.push(this.t); return this.t; } };
  const hv2 = new Hypervisor({ frames: 2048, timebase: moving, wall: () => 0 });
  const d = pvDomain(hv2, code);
  const vtiOff = d.sharedInfoMfn * 4096 + VI_TIME;
  hv2.run(1);
  const stamp = Number(hv2.pool.view.getBigUint64(vtiOff + VTI_TSC_TIMESTAMP, true));
  const got = Number(peek64(d, DATA));
  // The guest's value is system time at one of the clock's later readings: exactly.
  const later = reads.filter((t) => t > stamp).map((t) => (t * 100) - d.bootNs);
  assert.ok(later.includes(got), `guest computed ${got}, not one of ${later.slice(0, 5).join(', ')}`);
  assert.ok(got > Number(hv2.pool.view.getBigInt64(vtiOff + VTI_SYSTEM_TIME, true)));
});
