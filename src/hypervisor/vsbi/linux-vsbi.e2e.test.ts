// SPDX-License-Identifier: GPL-2.0-only
// End to end: Debian's unmodified riscv64 kernel (the guest asset builder's) boots on the virt
// board in vsbi mode with tsxen's own SBI as its only firmware: the boot plan loads kernel,
// initramfs and DTB; the guest starts in S-mode; `earlycon=sbi` prints through DBCN; Linux
// detects SBI v2.0 from "Xen Project" and brings up the second hart through HSM hart_start.
// Time is virtual (one timebase tick per ten instructions), so the run is deterministic.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { VirtBoard } from '../../hardware/boards/virt.ts';
import { EXIT_ECALL, EXIT_TRAP_M, EXIT_WFI } from '../../hardware/riscv/hart-api.ts';
import { Hart } from '../../hardware/riscv/hart.ts';
import { ensureGuestAssets } from '../../host/assets/index.ts';
import { enterKernel, loadBootPlan, planLinuxBoot } from '../boot/boot-plan.ts';
import { hartPlatform } from './hart-view.ts';
import { SBI_EXT_HSM, SBI_HSM_HART_START, SBI_HSM_STATE_STARTED } from './sbi-defs.ts';
import { createVsbi, VSBI_SYSTEM_RESET } from './vsbi.ts';

const RAM = 256 << 20;
const LIMIT = 600_000_000; // instructions; SMP bring-up needs about a third of this

test('Debian Linux boots on the vSBI: SBI 2.0 "Xen Project", earlycon through DBCN, 2 harts via HSM', { timeout: 240_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const tb = { t: 0, now: () => tb.t, frequency: 10_000_000 };
  let out = '';
  const board = new VirtBoard({
    hartCount: 2, ramSize: RAM, mode: 'vsbi', timebase: tb, wallclockNs: () => 1_764_000_000_000_000_000n,
    uartTx: (b) => { out += String.fromCharCode(b); }, onFinish: () => {},
    createHart: (p) => new Hart({ ...p, resetPc: 0x8000_0000 }),
  });
  const plan = planLinuxBoot({
    ramBase: 0x8000_0000, ramSize: RAM,
    kernel: { name: assets.kernel, bytes: new Uint8Array(readFileSync(assets.kernel)) },
    initrd: { name: assets.initrd, bytes: new Uint8Array(readFileSync(assets.initrd)) },
    buildDtb: (initrd) => board.dtb({ bootargs: 'earlycon=sbi console=ttyS0 cryptomgr.notests', initrd }),
  });
  loadBootPlan(plan, board.ram);
  let reset = false;
  const platform = hartPlatform(board.harts, {
    phys: board.bus,
    systemReset: () => (reset = true),
    console: { write: (b) => { for (const c of b) out += String.fromCharCode(c); return b.length; } },
  });
  const vsbi = createVsbi(platform);
  enterKernel(platform.hart(0), plan.entry);

  const harts = board.harts;
  const sleeping = [false, false];
  let insns = 0;
  let hsmStarts = 0;
  const done = /smp: Brought up 1 node, 2 CPUs/;
  while (insns < LIMIT && !reset && !done.test(out)) {
    let ran = false;
    for (let i = 0; i < harts.length; i++) {
      if (sleeping[i] && !platform.interruptPending(i)) continue;
      sleeping[i] = false;
      if (!vsbi.prepareToRun(i)) continue;
      const h = harts[i]!;
      const before = h.instructions;
      const r = h.step(20_000);
      const n = h.instructions - before;
      insns += n;
      tb.t += Math.ceil(n / 10);
      ran = true;
      if (r === EXIT_ECALL) {
        if (h.x[34] === SBI_EXT_HSM && h.x[32] === SBI_HSM_HART_START) hsmStarts++;
        if (vsbi.handleEcall(i) === VSBI_SYSTEM_RESET) break;
      } else if (r === EXIT_WFI) sleeping[i] = true;
      else assert.notEqual(r, EXIT_TRAP_M, `hart ${i} trapped to M at pc 0x${h.getPc().toString(16)}`);
    }
    board.tick();
    if (!ran) {
      // Every hart idle: jump to the next timer deadline.
      const next = Math.min(board.nextDeadline(), ...harts.map((h) => h.timerDeadline()));
      tb.t = Number.isFinite(next) && next > tb.t ? next : tb.t + 1000;
      board.tick();
    }
  }
  const tail = `\n--- output tail ---\n${out.slice(-3000)}`;
  assert.match(out, /Linux version 6\.12/, tail);
  assert.match(out, /earlycon: sbi0/, tail);
  assert.match(out, /SBI specification v2\.0 detected/, tail);
  assert.match(out, /SBI implementation ID=0x7 Version=0x1/, tail);
  for (const ext of ['TIME', 'IPI', 'RFENCE', 'SRST', 'DBCN']) assert.match(out, new RegExp(`SBI ${ext} extension detected`), tail);
  assert.match(out, done, tail);
  assert.equal(hsmStarts, 1, 'Linux started hart 1 through HSM');
  assert.equal(vsbi.harts.status(1), SBI_HSM_STATE_STARTED);
});
