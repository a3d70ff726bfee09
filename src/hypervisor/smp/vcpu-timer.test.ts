// SPDX-License-Identifier: GPL-2.0-only
// The singleshot timer word (vcpu-timer.ts) and the pCPU fast path's VCPUOP_set/stop_singleshot_timer
// (fast-path.ts) against the main thread's handler (hypercall/vcpu-op.ts): same results, same
// errno, same deadline, for every case the guest can ask; what the worker cannot answer is NOT_FAST.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { doVcpuOp } from '../hypercall/vcpu-op.ts';
import { HcArgs } from '../hypercall/table.ts';
import { DATA, makeHv, poke, pvDomain } from '../hypercall/test-support.ts';
import { VCPU_SSHOTTMR_future, VCPUOP_is_up, VCPUOP_set_singleshot_timer, VCPUOP_stop_singleshot_timer } from '../public/vcpu.ts';
import { EFAULT, EINVAL, ENOENT, ENOSYS } from '../public/errno.ts';
import { HYPERVISOR_vcpu_op } from '../public/xen.ts';
import { FastPath, type FastVcpu, NOT_FAST } from './fast-path.ts';
import { KickQueue } from './kick-queue.ts';
import { VcpuTimer } from './vcpu-timer.ts';

test('VcpuTimer: starts stopped; set, get, expire (compare-and-clear); a view over the same buffer sees it', () => {
  const t = new VcpuTimer();
  assert.equal(t.get(), Infinity);
  t.set(1000);
  const other = new VcpuTimer(t.buffer);
  assert.equal(other.get(), 1000);
  assert.equal(other.expire(999), false);
  assert.equal(t.get(), 1000);
  assert.equal(other.expire(1000), true);
  assert.equal(t.get(), Infinity);
  assert.equal(t.expire(Infinity), false, 'a stopped timer never fires');
});

test('set/stop_singleshot_timer on the fast path answer as the main thread: results, errnos, deadlines', () => {
  const { hv, clock } = makeHv();
  const d = pvDomain(hv, undefined, { vcpus: 2 });
  const v = d.vcpus[0]!;
  clock.t = 5_000_000; // 0.5 s of domain time and more
  const fp = new FastPath({ memory: hv.pool.memory, directory: new Int32Array(new SharedArrayBuffer(4)), kicks: new KickQueue(16).desc, domains: [] });
  fp.nowNs = () => hv.clock.nowNs();
  const fv: FastVcpu = { domid: d.domid, id: 0, s: v.hart.s, m32: v.hart.m32, phys: d.p2m, timer: v.timer, bootNs: d.bootNs };
  const now = d.systemTimeNs();
  assert.ok(now > 1000);
  const struct = (timeout: number, flags: number): void => {
    const b = new DataView(new ArrayBuffer(16));
    b.setBigUint64(0, BigInt(timeout), true);
    b.setUint32(8, flags, true);
    poke(d, DATA, new Uint8Array(b.buffer));
  };
  const args = (cmd: number, id: number, handle: number, cmdHi = 0): HcArgs => new HcArgs().set(0, cmd, cmdHi).setNum(1, id).setNum(2, handle);
  // [name, cmd, vcpu id, handle, timeout, flags, cmd high word]
  const cases: Array<[string, number, number, number, number, number, number]> = [
    ['future deadline, future flag', VCPUOP_set_singleshot_timer, 0, DATA, now + 5000, VCPU_SSHOTTMR_future, 0],
    ['past deadline, future flag: -ETIME', VCPUOP_set_singleshot_timer, 0, DATA, now - 1, VCPU_SSHOTTMR_future, 0],
    ['deadline now, future flag (not < now)', VCPUOP_set_singleshot_timer, 0, DATA, now, VCPU_SSHOTTMR_future, 0],
    ['past deadline, no flag: set', VCPUOP_set_singleshot_timer, 0, DATA, 1, 0, 0],
    ['a 64-bit deadline', VCPUOP_set_singleshot_timer, 0, DATA, 2 ** 52 + 2 ** 33, 0, 0],
    ['unknown flag bits', VCPUOP_set_singleshot_timer, 0, DATA, now + 1, 0xfffe, 0],
    ['stop', VCPUOP_stop_singleshot_timer, 0, 0, 0, 0, 0],
  ];
  for (const [name, cmd, id, handle, timeout, flags, hi] of cases) {
    struct(timeout, flags);
    v.timerNs = 77;
    const main = doVcpuOp(v, args(cmd, id, handle, hi)), mainTimer = v.timerNs;
    v.timerNs = 77;
    const fast = fp.hypercall(fv, HYPERVISOR_vcpu_op, 0, args(cmd, id, handle, hi));
    assert.equal(fast, main, `${name}: result`);
    assert.equal(v.timerNs, mainTimer, `${name}: deadline`);
  }
  // What only the main thread answers: another vCPU (-EINVAL), no such vCPU (-ENOENT), a bad
  // handle (-EFAULT), a command with the upper half set (-ENOSYS), other commands.
  const END = 0x8020_0000; // the end of the guest's 2 MiB of RAM
  struct(now + 1, 0);
  poke(d, END - 8, new Uint8Array(8));
  const notFast: Array<[string, number, number, number, number, number | null]> = [
    ['another vCPU', VCPUOP_set_singleshot_timer, 1, DATA, 0, -EINVAL],
    ['stop another vCPU', VCPUOP_stop_singleshot_timer, 1, 0, 0, -EINVAL],
    ['no such vCPU', VCPUOP_set_singleshot_timer, 9, DATA, 0, -ENOENT],
    ['unmapped handle', VCPUOP_set_singleshot_timer, 0, 0x4000_0000, 0, -EFAULT],
    ['struct ending in an unmapped page (its tail padding)', VCPUOP_set_singleshot_timer, 0, END - 12, 0, -EFAULT],
    ['cmd upper half', VCPUOP_set_singleshot_timer, 0, DATA, 1, -ENOSYS],
    ['is_up', VCPUOP_is_up, 0, 0, 0, null],
  ];
  for (const [name, cmd, id, handle, hi, errno] of notFast) {
    v.timerNs = 77;
    assert.equal(fp.hypercall(fv, HYPERVISOR_vcpu_op, 0, args(cmd, id, handle, hi)), NOT_FAST, name);
    assert.equal(v.timerNs, 77, `${name}: nothing changed`);
    const main = doVcpuOp(v, args(cmd, id, handle, hi));
    if (errno !== null) assert.equal(main, errno, `${name}: the main thread's answer`);
  }
  // Without the clock (a worker not set up for timers) nothing is answered.
  fp.nowNs = null;
  assert.equal(fp.hypercall(fv, HYPERVISOR_vcpu_op, 0, args(VCPUOP_stop_singleshot_timer, 0, 0)), NOT_FAST);
});

/** A thread that writes a timer: 'flip' alternates two deadlines n times; 'handoff' sets 1..n, each after the last one fired. */
function writer(buffer: SharedArrayBuffer, mode: 'flip' | 'handoff', n: number): Promise<unknown> {
  const mod = new URL('./vcpu-timer.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(mod)}); }).then(({ VcpuTimer }) => {
    const { workerData: w, parentPort } = require('node:worker_threads');
    const t = new VcpuTimer(w.buffer);
    for (let i = 1; i <= w.n; i++) {
      if (w.mode === 'flip') t.set(i % 2 === 0 ? 1.5 : 123456789.123);
      else { t.set(i); while (t.get() !== Infinity); }
    }
    parentPort.postMessage('done');
  });`;
  const wk = new Worker(code, { eval: true, workerData: { buffer, mode, n } });
  return new Promise((res, rej) => { wk.once('message', res); wk.once('error', rej); }).finally(() => wk.terminate());
}

test('VcpuTimer across threads: reads never see a torn deadline; every deadline a pCPU sets fires exactly once', async () => {
  const t = new VcpuTimer();
  let done = false, reads = 0, odd = 0;
  const flip = writer(t.buffer, 'flip', 300_000).then(() => { done = true; });
  while (!done) {
    for (let i = 0; i < 1000; i++, reads++) {
      const x = t.get();
      if (x !== Infinity && x !== 1.5 && x !== 123456789.123) odd++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await flip;
  assert.equal(odd, 0, `torn reads in ${reads}`);
  // Handoff: the main thread fires (expire) while the writer sets the next deadline; none lost, none twice.
  const h = new VcpuTimer();
  let fired = 0, last = 0, finished = false;
  const N = 20_000;
  const hand = writer(h.buffer, 'handoff', N).then(() => { finished = true; });
  while (!finished) {
    for (let i = 0; i < 1000; i++) {
      const before = h.get();
      if (h.expire(1e300)) {
        fired++;
        assert.ok(before === Infinity || before > last, 'in order');
        last = before === Infinity ? last : before;
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  await hand;
  assert.equal(fired, N, 'each deadline fired once');
});
