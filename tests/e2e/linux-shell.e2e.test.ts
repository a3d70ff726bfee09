// SPDX-License-Identifier: GPL-2.0-only
// End to end through the product's runner (the VirtMachine that `tsxen machine` and `tsxen demo`
// drive): Debian's unmodified riscv64 kernel and the busybox initramfs boot on the virt board
// with the hypervisor's vSBI and two harts, in real time, to the busybox prompt on ttyS0. The
// test types into the serial console and checks the answers: `uname -r` is the asset's
// release, /proc/cpuinfo lists both harts, the RTC gave the guest the host's date, /dev/hwrng
// reads 16 bytes from virtio-rng, and a block written to the virtio-blk disk (a raw image file)
// is read back after the guest's own `reboot`, which the runner performs on a fresh board.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BlockFile } from '../../src/host/block-file.ts';
import { assets, Guest, PROMPT, settle, sh, waitFor, waitStopped } from './linux-harness.ts';

test('Debian Linux on the virt board, 2 harts: shell, uname, cpuinfo, RTC date, hwrng, disk across a guest reboot', { timeout: 1_200_000 }, async () => {
  const a = await assets();
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-linux-e2e-'));
  const image = join(dir, 'disk.img');
  const disk = BlockFile.create(image, 16 << 20);
  const g = new Guest(a, { smp: 2, disks: [disk], rng: true });
  const all = [g];
  try {
    await waitFor(all, g, /TSXEN-BOOT-OK[\s\S]*tsxen:[^\n]*# /, 0, 900_000);
    assert.match(g.out, /SBI specification v2\.0 detected/, g.tail());
    assert.match(g.out, /smp: Brought up 1 node, 2 CPUs/, g.tail());
    assert.match(g.out, /virtio_blk virtio\d+: \[vda\] 32768 512-byte logical blocks/, g.tail());

    const uname = await sh(all, g, 'uname -r');
    assert.equal(uname.status, 0);
    assert.equal(uname.out.trim(), a.version, g.tail());

    const cpus = await sh(all, g, 'grep "^processor" /proc/cpuinfo; grep -m1 "^isa" /proc/cpuinfo');
    assert.deepEqual(cpus.out.match(/^processor\s*: \d+/gm)?.map((l) => l.replace(/\s+/g, ' ')), ['processor : 0', 'processor : 1'], g.tail());
    assert.match(cpus.out, /^isa\s*: rv64imafdc/m);

    // Paced time: the guest ran slower than the host clock while it booted and catches up
    // whenever it idles (docs/design/linux-boot.md); give it the idle time, then compare.
    await settle(all, g, 120_000);
    assert.ok(g.machine.lagMs() < 1000, `guest clock still ${g.machine.lagMs()} ms behind the host`);
    const date = await sh(all, g, 'date +%s');
    const host = Date.now() / 1000;
    const guest = Number(/^(\d{9,})$/m.exec(date.out)?.[1]);
    assert.ok(Math.abs(guest - host) < 5, `guest date ${guest}, host ${host.toFixed(0)}${g.tail()}`);

    const rng = await sh(all, g, 'dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1; cat /sys/class/misc/hw_random/rng_current');
    assert.match(rng.out, /^( [0-9a-f]{2}){16}$/m, g.tail());
    assert.match(rng.out, /virtio_rng\.\d+/);

    // A block with a per-run token at sector 8 of /dev/vda, flushed to the image.
    const token = `tsxen-${process.pid}-${Date.now()}`;
    const w = await sh(all, g, `echo ${token} > /tmp/t; dd if=/tmp/t of=/dev/vda bs=512 seek=8 count=1 conv=sync,fsync 2>/dev/null; sync`);
    assert.equal(w.status, 0, g.tail());
    assert.equal(new TextDecoder().decode(readFileSync(image).subarray(8 * 512, 8 * 512 + token.length)), token);

    // The guest reboots itself (busybox init -> syscon reboot); the runner builds a fresh board.
    const before = g.out.length;
    g.machine.sendInput('reboot\n');
    await waitFor(all, g, /TSXEN-BOOT-OK[\s\S]*tsxen:[^\n]*# /, before, 900_000);
    assert.equal(g.machine.reboots, 1, g.tail());
    assert.match(g.out.slice(before), /Linux version 6\./);
    const r = await sh(all, g, 'dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -n1');
    assert.equal(r.out.trim(), token, g.tail());

    // poweroff ends the machine with the runner's "poweroff" stop.
    const p = g.out.length;
    g.machine.sendInput('poweroff\n');
    await waitStopped(all, g, 300_000);
    assert.match(g.out.slice(p), /TSXEN-POWEROFF/);
    assert.deepEqual(g.machine.stopped, { kind: 'poweroff' }, g.tail());
    assert.match(g.out, PROMPT);
  } finally {
    g.machine.close();
    disk.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
