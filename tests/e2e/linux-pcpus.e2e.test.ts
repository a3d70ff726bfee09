// SPDX-License-Identifier: GPL-2.0-only
// Issue #7 end to end: Debian's kernel and the busybox initramfs on the virt board with two
// harts on two pCPU worker threads (VirtMachine pcpus: 2, `tsxen machine --pcpus 2`), to the
// shell: both harts online in /proc/cpuinfo, both ran user code, the paced guest clock
// catches up with the host's, a guest reboot comes back on new pCPU threads, and poweroff stops the machine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assets, Guest, settle, sh, waitFor, waitStopped } from './linux-harness.ts';

test('Debian Linux, 2 harts on 2 pCPU threads: shell, cpuinfo, both CPUs busy, date, reboot, poweroff', { timeout: 1_200_000 }, async () => {
  const a = await assets();
  const g = new Guest(a, { smp: 2, pcpus: 2 });
  const all = [g];
  try {
    assert.equal(g.machine.pcpuThreads, 2);
    await waitFor(all, g, /TSXEN-BOOT-OK[\s\S]*tsxen:[^\n]*# /, 0, 900_000);
    assert.match(g.out, /smp: Brought up 1 node, 2 CPUs/, g.tail());

    const cpus = await sh(all, g, 'grep "^processor" /proc/cpuinfo; cat /sys/devices/system/cpu/online');
    assert.deepEqual(cpus.out.match(/^processor\s*: \d+/gm)?.map((l) => l.replace(/\s+/g, ' ')), ['processor : 0', 'processor : 1'], g.tail());
    assert.match(cpus.out, /^0-1$/m);

    // Two busy shell loops: the scheduler puts one on each CPU; both CPUs' user time grows.
    const busy = await sh(all, g, 'head -1 /proc/stat >/dev/null; for j in 1 2; do (i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done) & done; wait; grep "^cpu[01] " /proc/stat');
    const user = [...busy.out.matchAll(/^cpu([01]) (\d+)/gm)].map((m) => Number(m[2]));
    assert.equal(user.length, 2, busy.out);
    assert.ok(user.every((u) => u > 0), `user ticks per CPU: ${user}`);

    // Paced time shared by the pCPUs: the guest ran slower than the host clock while it booted
    // and catches up while every pCPU idles; then its date is the host's.
    await settle(all, g, 120_000);
    assert.ok(g.machine.lagMs() < 1000, `guest clock still ${g.machine.lagMs()} ms behind the host`);
    const date = await sh(all, g, 'date +%s');
    const guest = Number(/^(\d{9,})$/m.exec(date.out)?.[1]);
    assert.ok(Math.abs(guest - Date.now() / 1000) < 5, `guest date ${guest}${g.tail()}`);

    // The guest reboots itself: the runner stops the pCPUs and starts new ones on a fresh board.
    const before = g.out.length;
    g.machine.sendInput('reboot\n');
    await waitFor(all, g, /TSXEN-BOOT-OK[\s\S]*tsxen:[^\n]*# /, before, 900_000);
    assert.equal(g.machine.reboots, 1, g.tail());
    assert.equal(g.machine.pcpuThreads, 2);
    assert.match(g.out.slice(before), /smp: Brought up 1 node, 2 CPUs/, g.tail());

    const p = g.out.length;
    g.machine.sendInput('poweroff\n');
    await waitStopped(all, g, 300_000);
    assert.match(g.out.slice(p), /TSXEN-POWEROFF/);
    assert.deepEqual(g.machine.stopped, { kind: 'poweroff' }, g.tail());
    assert.equal(g.machine.pcpuThreads, 0, 'the workers are stopped');
  } finally {
    g.machine.close();
  }
});
