// SPDX-License-Identifier: GPL-2.0-only
// One physical CPU of the host daemon on its own thread (issue #7; contract in
// host-pcpu-shared.ts, design in docs/design/schedulers.md §10): it runs the vCPU the main
// thread's scheduler gives it, on a Hart object of its own over the vCPU's shared state block,
// with the domain's p2m read from shared memory (P2mView) and the machine's RAM shared. What
// the hypervisor must decide (SBI calls and hypercalls, a WFI with nothing pending, faults)
// ends the run and goes back to the main thread, except the fast paths: EVTCHNOP_send/_unmask,
// GNTTABOP_copy and VCPUOP_set/stop_singleshot_timer (smp/fast-path.ts), SBI send_ipi and remote fences (smp/sbi-fast.ts), run
// here; an emulated-MMIO access is a synchronous call.
// Translated code is cached per domain on this thread; flushes the main thread requests (a p2m
// change, a remote FENCE.I) arrive in the hart's own state (Hart.requestFlush) and are applied
// by step() itself.
import { receiveMessageOnPort } from 'node:worker_threads';
import { setSharedAmo } from '../hardware/riscv/amo.ts';
import { EXIT_ECALL, EXIT_REQUESTED, EXIT_WFI, type PhysTranslation } from '../hardware/riscv/hart-api.ts';
import { MIE, PRIV } from '../hardware/riscv/hart-state.ts';
import { Hart, hartBlockCache } from '../hardware/riscv/hart.ts';
import type { P2mShare } from '../hypervisor/mm/p2m.ts';
import { P2mView } from '../hypervisor/mm/p2m-view.ts';
import { HcArgs } from '../hypervisor/hypercall/table.ts';
import { HYPERVISOR_grant_table_op, XEN_SBI_EID } from '../hypervisor/public/xen.ts';
import { CONTINUE, FastPath, type FastVcpu, NOT_FAST } from '../hypervisor/smp/fast-path.ts';
import { KickQueue } from '../hypervisor/smp/kick-queue.ts';
import { SbiFast, SbiFastDomain } from '../hypervisor/smp/sbi-fast.ts';
import { VcpuTimer } from '../hypervisor/smp/vcpu-timer.ts';
import {
  DOORBELL, type HostPcpuInit, OP_MMIO_READ, OP_MMIO_WRITE, type PcpuMessage, pcpusOf, pw, RUN_RESUME, RUN_RESYNC,
  ST_CALL, ST_EXITED, ST_GUEST, STOP, W_ANSWER_SEQ, W_SBI, W_SBI_SLOW, W_SBI_WAITED, W_BUDGET, W_CALLS, W_DOMID, W_EXIT, W_FLAGS, W_INSNS, W_OP,
  W_FAST, W_GRANT_SEQ, W_PA_HI, W_PA_LO, W_PREEMPT, W_RESULT, W_RUN_SEQ, W_RUNS, W_SIZE, W_STATE, W_VALUE, W_VCPU,
} from './host-pcpu-shared.ts';

const TWO32 = 4294967296;
/** Longest sleep without work (ms): a safety net; the main thread notifies RUN_SEQ. */
const MAX_SLEEP_MS = 200;

interface DomainView { phys: PhysTranslation; cache: ReturnType<typeof hartBlockCache>; vcpus: Map<number, VcpuView>; sbi: SbiFastDomain | null; bootNs: number }
interface VcpuView { hart: Hart; fast: FastVcpu }

export function runHostPcpu(init: HostPcpuInit): void {
  setSharedAmo(true);
  const ctl = new Int32Array(init.control);
  const w = init.index;
  const perNs = init.frequency / 1e9, t0 = init.t0;
  const clock = { frequency: init.frequency, now: (): number => Math.floor(Number(process.hrtime.bigint() - t0) * perNs) };
  const domains = new Map<number, DomainView>();
  const fp = init.fast !== null ? new FastPath(init.fast) : null;
  if (fp !== null) {
    fp.refresh = () => drain(); // a grant copy naming a domain whose 'grant' message waits on the port
    // Host ns exactly as the main thread's SystemClock.nowNs over the host's timebase (host-daemon.ts
    // HostClock: whole ticks of the monotonic clock since t0), for the singleshot timer's -ETIME check.
    const freq = BigInt(init.frequency);
    fp.nowNs = () => Math.floor((Number(((process.hrtime.bigint() - t0) * freq) / 1_000_000_000n) * 1e9) / init.frequency);
  }
  const args = new HcArgs();
  const nr = pcpusOf(ctl.length);
  /** SBI IPI / RFENCE on this pCPU (smp/sbi-fast.ts); the other pCPUs' control words say who executes where. */
  const sbi = init.sbiWakes === null ? null : new SbiFast({
    executing(domid, vcpu) {
      for (let o = 0; o < nr; o++) {
        if (o === w) continue;
        const st = Atomics.load(ctl, pw(o, W_STATE)); // seq-cst: DOMID/VCPU were written before STATE = GUEST
        if ((st === ST_GUEST || st === ST_CALL) && ctl[pw(o, W_DOMID)] === domid && ctl[pw(o, W_VCPU)] === vcpu) return true;
      }
      return false;
    },
    ring() {
      Atomics.add(ctl, DOORBELL, 1);
      Atomics.notify(ctl, DOORBELL);
    },
  }, new KickQueue(init.sbiWakes));
  /** An SBI IPI / RFENCE call answered here: true (a0/a1 and pc set); false: the main thread's. */
  const fastSbi = (d: DomainView, id: number, h: Hart): boolean => {
    if (sbi === null || d.sbi === null) return false;
    const timeouts = sbi.timeouts, waited = sbi.waited;
    if (sbi.handle(d.sbi, id, h)) {
      ctl[pw(w, W_SBI)]++;
      if (sbi.waited !== waited) ctl[pw(w, W_SBI_WAITED)]++;
      return true;
    }
    if (sbi.timeouts !== timeouts) ctl[pw(w, W_SBI_SLOW)]++;
    return false;
  };
  /**
   * A hypercall the pCPU can answer itself (fast-path.ts): true when done (result in a0, pc past
   * the ecall, or the arguments rewritten for a continuation), false: the main thread's.
   */
  const fastHypercall = (v: VcpuView): boolean => {
    const x = v.hart.x;
    if (fp === null || x[34] !== XEN_SBI_EID || x[35] !== 0) return false; // a7: Xen's SBI extension
    // A grant copy may read another domain's memory: bracket it for the destroyer's grace period.
    const grant = x[32] === HYPERVISOR_grant_table_op;
    if (grant) Atomics.add(ctl, pw(w, W_GRANT_SEQ), 1);
    const r = fp.hypercall(v.fast, x[32]!, x[33]!, args.fromRegs(x));
    if (grant) Atomics.add(ctl, pw(w, W_GRANT_SEQ), 1);
    if (r === NOT_FAST) return false;
    if (r === CONTINUE) {
      for (let i = 0; i < 12; i++) x[20 + i] = args.w[i]!; // pc stays on the ecall: the rest next
    } else {
      x[20] = r % TWO32 | 0; // a0: the 64-bit result; a1 is preserved (docs/abi.md §2)
      x[21] = Math.floor(r / TWO32) | 0;
      const h = v.hart, lo = (h.getPcLo() >>> 0) + 4; // past the ecall
      h.setPcWords(lo | 0, (h.getPcHi() + (lo >= TWO32 ? 1 : 0)) | 0);
    }
    ctl[pw(w, W_FAST)]++;
    // A kick for the main thread (an event that may wake a blocked vCPU): ring it.
    Atomics.add(ctl, DOORBELL, 1);
    Atomics.notify(ctl, DOORBELL);
    return true;
  };

  // The synchronous MMIO call (the hart is inside a load or store).
  const call = (op: number, pa: number, size: number, value: number): number => {
    ctl[pw(w, W_OP)] = op;
    ctl[pw(w, W_SIZE)] = size;
    ctl[pw(w, W_PA_LO)] = pa % TWO32 | 0;
    ctl[pw(w, W_PA_HI)] = Math.floor(pa / TWO32) | 0;
    ctl[pw(w, W_VALUE)] = value | 0;
    const seen = Atomics.load(ctl, pw(w, W_ANSWER_SEQ));
    Atomics.store(ctl, pw(w, W_STATE), ST_CALL);
    Atomics.add(ctl, DOORBELL, 1);
    Atomics.notify(ctl, DOORBELL);
    while (Atomics.load(ctl, pw(w, W_ANSWER_SEQ)) === seen && Atomics.load(ctl, STOP) === 0) {
      Atomics.wait(ctl, pw(w, W_ANSWER_SEQ), seen, MAX_SLEEP_MS);
    }
    ctl[pw(w, W_CALLS)]++;
    return ctl[pw(w, W_RESULT)]! >>> 0;
  };

  const apply = (m: PcpuMessage): void => {
    if (m.kind === 'domain') {
      const view = new P2mView(m.p2m as P2mShare, init.memory, {
        read: (pa, size) => call(OP_MMIO_READ, pa, size, 0),
        write: (pa, size, value) => { call(OP_MMIO_WRITE, pa, size, value); },
      });
      domains.set(m.domid, { phys: view, cache: hartBlockCache(init.memory), vcpus: new Map(), sbi: m.sbi !== null ? new SbiFastDomain(m.sbi) : null, bootNs: m.bootNs });
      if (fp !== null && m.evtchn !== null) fp.addDomain(m.evtchn);
    } else if (m.kind === 'vcpu') {
      const d = domains.get(m.domid);
      if (d === undefined) throw new Error(`pCPU ${w}: vcpu message for unknown d${m.domid}`);
      const hart = new Hart({ hartId: m.vcpu, phys: d.phys, clock, guestMode: true, resetPc: 0, state: m.state, blockCache: d.cache, jit: init.jit });
      d.vcpus.set(m.vcpu, { hart, fast: { domid: m.domid, id: m.vcpu, s: hart.s, m32: hart.m32, phys: d.phys, timer: new VcpuTimer(m.timer), bootNs: d.bootNs } });
    } else if (m.kind === 'grant') fp?.addGrantDomain(m.grant);
    else {
      domains.delete(m.domid);
      fp?.dropDomain(m.domid);
    }
  };
  const drain = (): void => {
    for (let r = receiveMessageOnPort(init.port); r !== undefined; r = receiveMessageOnPort(init.port)) apply(r.message as PcpuMessage);
  };
  let runSeen = 0;
  while (Atomics.load(ctl, STOP) === 0) {
    const seq = Atomics.load(ctl, pw(w, W_RUN_SEQ));
    if (seq === runSeen) {
      Atomics.wait(ctl, pw(w, W_RUN_SEQ), seq, MAX_SLEEP_MS);
      continue;
    }
    runSeen = seq;
    drain();
    const domid = ctl[pw(w, W_DOMID)]!, id = ctl[pw(w, W_VCPU)]!;
    const dv = domains.get(domid);
    const v = dv?.vcpus.get(id);
    let exit = EXIT_REQUESTED, ran = 0;
    if (v !== undefined) {
      const h = v.hart;
      const flags = ctl[pw(w, W_FLAGS)]!;
      if (flags & RUN_RESUME) h.resume();
      else if (flags & RUN_RESYNC) h.setPriv(h.s[PRIV]!);
      const budget = ctl[pw(w, W_BUDGET)]!;
      const start = h.instructions;
      for (;;) {
        const left = budget - (h.instructions - start);
        if (left <= 0) { exit = EXIT_REQUESTED; break; }
        exit = h.step(left);
        // An exit request that was not a preemption (e.g. HSM or a stale one): go on.
        if (exit === EXIT_REQUESTED && Atomics.load(ctl, pw(w, W_PREEMPT)) === 0 && !h.isStopped()) continue;
        // A WFI with an interrupt already pending needs no scheduler: go on (as Hypervisor.handleExit).
        if (exit === EXIT_WFI && (h.mipValue() & h.s[MIE]!) !== 0) continue;
        if (exit === EXIT_ECALL && (fastHypercall(v) || fastSbi(dv!, id, h))) continue;
        break;
      }
      h.park();
      ran = h.instructions - start + (exit === EXIT_ECALL ? 1 : 0);
    }
    ctl[pw(w, W_EXIT)] = exit;
    ctl[pw(w, W_INSNS)] = ran;
    ctl[pw(w, W_RUNS)]++;
    Atomics.store(ctl, pw(w, W_STATE), ST_EXITED);
    Atomics.add(ctl, DOORBELL, 1);
    Atomics.notify(ctl, DOORBELL);
  }
}
