// SPDX-License-Identifier: GPL-2.0-only
// A pCPU worker running a guest-mode hart whose PhysTranslation is a P2mView of a domain's
// p2m built on the main thread (src/hypervisor/mm/p2m-share.test.ts). Each message runs the
// hart from `pc` with x5/x6 set until it exits; the main thread changes the p2m in between and
// asks for a TLB flush first, as onChange does. Not a test.
import { parentPort, workerData } from 'node:worker_threads';
import { Hart } from '../../src/hardware/riscv/hart.ts';
import * as S from '../../src/hardware/riscv/hart-state.ts';
import { setx, xr } from '../../src/hardware/riscv/test-support.ts';
import type { P2mShare } from '../../src/hypervisor/mm/p2m.ts';
import { P2mView } from '../../src/hypervisor/mm/p2m-view.ts';

export interface HartRun { pc: number; x5: number; x6: number; flush: boolean }
export interface HartExit { exit: number; x7: string; gpa: number; access: number; mmio: Array<[pa: number, size: number, value: number]> }

const { share, memory } = workerData as { share: P2mShare; memory: SharedArrayBuffer };
const mmio: Array<[number, number, number]> = [];
const view = new P2mView(share, memory, { read: () => 0, write: (pa, size, value) => { mmio.push([pa, size, value]); } });
const hart = new Hart({ hartId: 0, phys: view, clock: { now: () => 0, frequency: 10_000_000 }, guestMode: true, resetPc: 0, jit: false });
parentPort!.on('message', (r: HartRun) => {
  if (r.flush) hart.flushTlb();
  hart.setPc(r.pc);
  setx(hart, 5, BigInt(r.x5));
  setx(hart, 6, BigInt(r.x6));
  mmio.length = 0;
  const exit = hart.step(1000);
  const out: HartExit = { exit, x7: xr(hart, 7).toString(), gpa: (hart.s[S.EXIT_GPA]! >>> 0) + hart.s[S.EXIT_GPA + 1]! * 2 ** 32, access: hart.s[S.EXIT_ACCESS]!, mmio: [...mmio] };
  parentPort!.postMessage(out);
});
parentPort!.postMessage('ready');
