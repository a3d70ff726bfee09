// SPDX-License-Identifier: GPL-2.0-only
// End to end: Debian's unmodified riscv64 kernel boots as an HVM domain of the hypervisor (its
// RAM the domain's p2m over the shared frame pool, its UART/PLIC/RTC emulated by the virt
// device model through the ioreq path, the vSBI as firmware, 2 vCPUs brought up through HSM),
// while a PV domain runs beside it on the same round-robin scheduler. Time is virtual (one
// timebase tick per ten instructions), so the run is deterministic.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ensureGuestAssets } from '../../host/assets/index.ts';
import { A, DATA, li, peek32, pvDomain } from '../hypercall/test-support.ts';
import { Hypervisor } from '../xen.ts';
import { virtDeviceModel } from './hvm-devices.ts';

const LIMIT = 700_000_000;

test('Debian Linux boots as an HVM domain (2 vCPUs) beside a running PV domain', { timeout: 400_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const tb = { t: 0, now: () => tb.t, frequency: 10_000_000 };
  const hv = new Hypervisor({ frames: (300 << 20) / 4096, timebase: tb, wall: () => 1_764_000_000_000_000_000 });
  let out = '';
  const d = hv.createDomain({
    type: 'hvm', name: 'debian', memoryMiB: 256, vcpus: 2,
    kernel: new Uint8Array(readFileSync(assets.kernel)), ramdisk: new Uint8Array(readFileSync(assets.initrd)),
    cmdline: 'earlycon=sbi console=ttyS0 cryptomgr.notests',
  }, { deviceModel: (dom) => virtDeviceModel(dom, { uartTx: (b) => { out += String.fromCharCode(b); } }) });
  hv.onConsole = (dom, bytes) => { if (dom === d) for (const c of bytes) out += String.fromCharCode(c); };
  const body = [A.addi(5, 5, 1), ...li(6, DATA), A.sw(5, 6, 0)];
  const pv = pvDomain(hv, [...body, A.jal(0, -4 * body.length)]);
  const insns = () => d.vcpus.reduce((s, v) => s + v.hart.instructions, 0) + pv.vcpus[0]!.hart.instructions;
  const done = /smp: Brought up 1 node, 2 CPUs/;
  let last = 0;
  while (insns() < LIMIT && d.state === 'running' && !done.test(out)) {
    const r = hv.run(4);
    const now = insns();
    tb.t += Math.ceil((now - last) / 10);
    last = now;
    if (r === 'idle') {
      const next = hv.nextWakeNs();
      tb.t = Number.isFinite(next) ? Math.max(tb.t + 1, Math.ceil((next * tb.frequency) / 1e9)) : tb.t + 1000;
    }
  }
  const tail = `\n--- output tail ---\n${out.slice(-3000)}\n--- crash: ${d.crashReason}`;
  assert.equal(d.state, 'running', tail);
  assert.match(out, /Linux version 6\.12/, tail);
  assert.match(out, /SBI implementation ID=0x7/, tail);
  assert.match(out, done, tail);
  assert.equal(pv.state, 'running');
  assert.ok(peek32(pv, DATA) > 1000, 'the PV domain kept running');
});
