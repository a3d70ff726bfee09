// SPDX-License-Identifier: GPL-2.0-only
// End to end: Debian's unmodified riscv64 kernel and busybox initramfs (the guest asset
// builder's) boot under Debian's unmodified OpenSBI on the virt board's M-mode, find every
// board device from the generated device tree (PLIC, 16550A, Goldfish RTC, syscon), run the
// initramfs and power off through the test device. Time is virtual (one timebase tick per
// ten instructions; idle harts jump to the next deadline), so the run is deterministic.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ensureGuestAssets } from '../../host/assets/index.ts';
import type { FinisherEvent } from '../devices/sifive-test.ts';
import { EXIT_WFI } from '../riscv/hart-api.ts';
import { Hart } from '../riscv/hart.ts';
import { enterFirmware, VirtBoard } from './virt.ts';

const OPENSBI = '/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin';
const LIMIT = 3_000_000_000; // instructions
// 2025-11-24T16:00:00Z, as the host's wall clock the RTC reads.
const WALL_NS = BigInt(Date.UTC(2025, 10, 24, 16, 0, 0)) * 1_000_000n;

for (const smp of [1, 2]) {
  test(`Debian Linux boots under OpenSBI on the virt board's M-mode with ${smp} hart(s) and powers off`, { timeout: 600_000 }, async () => {
    const assets = await ensureGuestAssets({ progress: null });
    const tb = { t: 0, now: () => tb.t, frequency: 10_000_000 };
    let out = '';
    let finished: FinisherEvent | null = null;
    const board = new VirtBoard({
      hartCount: smp, ramSize: 256 << 20, mode: 'firmware', timebase: tb, wallclockNs: () => WALL_NS,
      uartTx: (b) => { out += String.fromCharCode(b); }, onFinish: (e) => { finished ??= e; },
      createHart: (p) => new Hart({ ...p, resetPc: 0x8000_0000 }),
    });
    const plan = board.bootFirmware({
      firmware: { name: OPENSBI, bytes: new Uint8Array(readFileSync(OPENSBI)) },
      kernel: { name: assets.kernel, bytes: new Uint8Array(readFileSync(assets.kernel)) },
      initrd: { name: assets.initrd, bytes: new Uint8Array(readFileSync(assets.initrd)) },
      bootargs: 'console=ttyS0 cryptomgr.notests tsxen.init=poweroff',
    });
    for (const e of plan.entries) enterFirmware(board.harts[e.hartId], e);
    const harts = board.harts;
    let insns = 0;
    while (insns < LIMIT && finished === null) {
      let busy = false;
      for (const h of harts) {
        const before = h.instructions;
        if (h.step(20_000) !== EXIT_WFI) busy = true;
        const n = h.instructions - before;
        insns += n;
        tb.t += Math.ceil(n / 10);
      }
      board.tick();
      if (!busy) {
        const next = Math.min(board.nextDeadline(), ...harts.map((h) => h.timerDeadline()));
        tb.t = Number.isFinite(next) && next > tb.t ? next : tb.t + 1000;
        board.tick();
      }
    }
    const tail = `\n--- output tail (${insns} instructions) ---\n${out.slice(-3000)}`;
    assert.match(out, /Platform Name\s+: riscv-virtio,tsxen/, tail);
    assert.match(out, /Machine model: riscv-virtio,tsxen/, tail);
    assert.match(out, /riscv-timer: Timer interrupt in S-mode is available via sstc extension/, tail);
    assert.match(out, new RegExp(`riscv-plic: plic@c000000: mapped 95 interrupts with ${smp} handlers for ${2 * smp} contexts`), tail);
    assert.match(out, /10000000\.serial: ttyS0 at MMIO 0x10000000 \(irq = \d+, base_baud = 230400\) is a 16550A/, tail);
    assert.match(out, /goldfish_rtc 101000\.rtc: setting system clock to 2025-11-24T16:00:0\d UTC/, tail);
    if (smp > 1) assert.match(out, /smp: Brought up 1 node, 2 CPUs/, tail);
    assert.match(out, /TSXEN-BOOT-OK/, tail);
    assert.deepEqual(finished, { kind: 'pass' }, tail);
  });
}
