// SPDX-License-Identifier: GPL-2.0-only
// A pCPU worker running the hypercall fast paths (src/hypervisor/smp/fast-path.ts) on the
// host's shared memory: event-channel send/unmask, GNTTABOP_copy through fastHypercall, and
// raw kick-queue pushes. Used by src/hypervisor/smp/fast-path.test.ts and
// bench/evtchn-send.bench.ts. Not a test.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { HART_STATE_WORDS } from '../../src/hardware/riscv/hart-state.ts';
import { HcArgs } from '../../src/hypervisor/hypercall/table.ts';
import type { EvtchnShared } from '../../src/hypervisor/event/shared.ts';
import { CONTINUE, FastPath, NOT_FAST, fastHypercall, type FastPathDesc, type FastVcpu } from '../../src/hypervisor/smp/fast-path.ts';
import { KickQueue } from '../../src/hypervisor/smp/kick-queue.ts';
import { setSmpProcessorId } from '../../src/hypervisor/smp/percpu.ts';

/** A vCPU for fastHypercall: satp 0 (Bare: guest-virtual = guest-physical) and a p2m lookup over the given entries. */
export interface VcpuJob { domid: number; id: number; p2m: Array<[gfn: number, mfn: number]> }
export type Job =
  | { mode: 'push'; queue: Int32Array; tag: number; n: number }
  | { mode: 'ops'; list: Array<['send' | 'unmask', number, number]> }
  | { mode: 'send'; pairs: Array<[domid: number, port: number]>; iters: number; produced?: Int32Array; prodIdx?: number[]; progress?: Int32Array; progressIdx?: number; stop?: Int32Array }
  | { mode: 'hypercall'; vcpu: VcpuJob; calls: Array<{ nr: number; args: number[] }> }
  | { mode: 'grant'; vcpu: VcpuJob; iters: number; handle: number; count: number; stop?: Int32Array }
  | { mode: 'add'; domain: EvtchnShared }
  /** bench: `iters` sends on (domid, port), clearing the target's pending bit (int32 `clear[0]`, mask `clear[1]`) after each if given. */
  | { mode: 'bench'; domid: number; port: number; iters: number; clear?: [number, number] }
  /** bench: `iters` event_channel_op(EVTCHNOP_send, handle) through fastHypercall. */
  | { mode: 'benchHc'; vcpu: VcpuJob; handle: number; iters: number };

const { desc, cpu, go } = workerData as { desc: FastPathDesc; cpu: number; go?: Int32Array };
setSmpProcessorId(cpu);
const fp = new FastPath(desc);
const m32 = new Int32Array(desc.memory);

function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}
function fastVcpu(j: VcpuJob): FastVcpu {
  const map = new Map(j.p2m);
  return {
    domid: j.domid, id: j.id, s: new Int32Array(HART_STATE_WORDS), m32,
    phys: { lookup: (gfn) => { const mfn = map.get(gfn); return mfn === undefined ? -2 : mfn * 4096; } },
  };
}
/** One guest hypercall as the pCPU runs it: re-executed while it continues. */
function call(v: FastVcpu, a: HcArgs, nr: number): { rc: number; conts: number } {
  let conts = 0;
  for (;;) {
    const rc = fastHypercall(fp, v, nr, 0, a);
    if (rc !== CONTINUE) return { rc, conts };
    conts++;
  }
}

parentPort!.on('message', (j: Job) => {
  if (go !== undefined) Atomics.wait(go, 0, 0); // start together with the other pCPUs
  const c0 = threadCpuMs(), t0 = performance.now();
  const done = (r: object): void => parentPort!.postMessage({ ...r, ms: performance.now() - t0, cpuMs: threadCpuMs() - c0 });
  switch (j.mode) {
    case 'push': {
      const q = new KickQueue(j.queue);
      let full = 0;
      for (let i = 0; i < j.n; i++) if (!q.push(j.tag, i, 0)) full++;
      return done({ full });
    }
    case 'ops':
      return done({ rcs: j.list.map(([op, d, p]) => (op === 'send' ? fp.send(d, p) : fp.unmask(d, p))) });
    case 'send': {
      // Per pair: how many sends answered 0, -EINVAL, NOT_FAST, anything else.
      const { pairs, produced, prodIdx, progress, progressIdx, stop } = j;
      const counts = new Array<number>(pairs.length * 4).fill(0);
      let n = 0;
      for (; n < j.iters && (stop === undefined || Atomics.load(stop, 0) === 0); n++) {
        for (let k = 0; k < pairs.length; k++) {
          if (produced !== undefined && prodIdx![k]! >= 0) Atomics.add(produced, prodIdx![k]!, 1);
          const rc = fp.send(pairs[k]![0], pairs[k]![1]);
          counts[k * 4 + (rc === 0 ? 0 : rc === -22 ? 1 : rc === NOT_FAST ? 2 : 3)]!++;
        }
        if (progress !== undefined) Atomics.add(progress, progressIdx!, 1);
      }
      return done({ counts, n });
    }
    case 'hypercall': {
      const v = fastVcpu(j.vcpu), a = new HcArgs();
      return done({
        rcs: j.calls.map(({ nr, args }) => {
          args.forEach((x, i) => a.setNum(i, x));
          return call(v, a, nr);
        }),
      });
    }
    case 'grant': {
      const v = fastVcpu(j.vcpu), a = new HcArgs();
      const rcs: Record<string, number> = {};
      let conts = 0, n = 0;
      for (; n < j.iters && (j.stop === undefined || Atomics.load(j.stop, 0) === 0); n++) {
        a.setNum(0, 5 /* GNTTABOP_copy */).setNum(1, j.handle).setNum(2, j.count);
        const r = call(v, a, 20);
        rcs[r.rc] = (rcs[r.rc] ?? 0) + 1;
        conts += r.conts;
      }
      return done({ rcs, conts, n });
    }
    case 'add':
      fp.addDomain(j.domain);
      return done({});
    case 'bench': {
      let bad = 0;
      const { domid, port, iters, clear } = j;
      if (clear === undefined) for (let i = 0; i < iters; i++) bad += fp.send(domid, port) === 0 ? 0 : 1;
      else {
        const [idx, mask] = clear;
        for (let i = 0; i < iters; i++) {
          bad += fp.send(domid, port) === 0 ? 0 : 1;
          Atomics.and(m32, idx, ~mask);
        }
      }
      return done({ bad });
    }
    case 'benchHc': {
      const v = fastVcpu(j.vcpu), a = new HcArgs();
      let bad = 0;
      for (let i = 0; i < j.iters; i++) {
        a.setNum(0, 4 /* EVTCHNOP_send */).setNum(1, j.handle);
        bad += fastHypercall(fp, v, 32, 0, a) === 0 ? 0 : 1;
      }
      return done({ bad });
    }
  }
});
parentPort!.postMessage('ready');
