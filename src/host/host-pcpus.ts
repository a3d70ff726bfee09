// SPDX-License-Identifier: GPL-2.0-only
// The host's pCPUs as worker threads (issue #7; `tsxen host --threads`; contract in
// host-pcpu-shared.ts, design in docs/design/schedulers.md §10). The main thread keeps the
// hypervisor: the schedulers decide here (HostSched, as Xen's schedule() does per pCPU), exits
// are handled here on the main thread's view of each vCPU's hart (Hypervisor.handleExit), and
// emulated MMIO is served here; the workers only execute guest code, in parallel.
//
//   decide(w) ─ enterVcpu ─► post RUN ─► [worker w steps the hart] ─► EXITED ─► handleExit
//        ▲                                                                    │
//        └──── slice over / blocked / tickled ◄── leaveVcpu ◄── ─ ─ ─ ─ ─ ─ ─ ┘ (else RUN again)
//
// Preemption (slice end, a tickle): W_PREEMPT + the hart's requestExit; the worker's step()
// returns within one translated block. Flushes (p2m change, SBI remote fence): Hart.requestFlush
// on the vCPU's shared state, which the executing hart applies at its next poll without ending
// its run, and the main thread waits until it has before it goes on (Xen's flush_tlb_mask), so no
// pCPU keeps a translation to a frame that the hypervisor is about to give to someone else. Before a domain is destroyed or soft-reset its
// vCPUs are taken off their pCPUs (quiesce). Fast paths on the workers (smp/fast-path.ts,
// smp/sbi-fast.ts) hand wake-ups back on two queues drained in service(): event kicks and the
// vCPUs an SBI send_ipi may have to wake (the 'domain' message carries what sbi-fast needs).
// Every pCPU hears of each domain once it is built ('domain' and 'grant' messages, announce():
// a fast path on any pCPU may name any domain) and 'drop' when it is destroyed; a vCPU's state
// block reaches a pCPU the first time it runs there ('vcpu').
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { EXIT_BUDGET, EXIT_REQUESTED } from '../hardware/riscv/hart-api.ts';
import { FLUSH_ICACHE, FLUSH_TLB } from '../hardware/riscv/hart-state.ts';
import { Hart, type HartOptions } from '../hardware/riscv/hart.ts';
import type { Domain } from '../hypervisor/domain/domain.ts';
import type { Vcpu } from '../hypervisor/domain/vcpu.ts';
import type { Hypervisor } from '../hypervisor/xen.ts';
import { attachEvtchnGnttab } from '../hypervisor/event/attach.ts';
import type { EventHost } from '../hypervisor/event/event-channels.ts';
import { I_INSTANCE } from '../hypervisor/event/shared.ts';
import type { GrantHost } from '../hypervisor/grant/grant-table.ts';
import { grantSmpDesc, grantSmpDomain } from '../hypervisor/grant/smp-view.ts';
import { drainKicks, fastPathDesc } from '../hypervisor/smp/fast-path-host.ts';
import { KickQueue } from '../hypervisor/smp/kick-queue.ts';
import type { SbiFastDesc } from '../hypervisor/smp/sbi-fast.ts';
import type { HostSched } from './host-sched.ts';
import {
  controlWords, DOORBELL, type HostPcpuInit, OP_MMIO_READ, type PcpuMessage, pw, RUN_RESUME,
  RUN_RESYNC, ST_CALL, ST_EXITED, ST_GUEST, ST_IDLE, STOP, W_ANSWER_SEQ, W_SBI, W_SBI_SLOW, W_SBI_WAITED, W_BUDGET, W_DOMID, W_EXIT, W_FAST, W_FLAGS, W_GRANT_SEQ, W_INSNS,
  W_OP, W_PA_HI, W_PA_LO, W_PREEMPT, W_RESULT, W_RUN_SEQ, W_SIZE, W_STATE, W_VALUE, W_VCPU,
} from './host-pcpu-shared.ts';

const TWO32 = 4294967296;
/** Instructions a run may execute before the worker reports back (slices end by time: preemption). */
const RUN_BUDGET = 50_000_000;
type WaitAsync = (a: Int32Array, i: number, v: number, ms?: number) => { async: boolean; value: Promise<unknown> | string };

/** The main thread's view of a vCPU's hart: never stepped; its flushes go to the pCPU running it. */
class VcpuHartView extends Hart {
  owner: HostPcpus | null = null;
  constructor(o: HartOptions) {
    super({ ...o, jit: false });
  }
  override flushTlb(): void {
    super.flushTlb();
    this.owner?.requestFlush(this, FLUSH_TLB);
  }
  override flushICache(): void {
    super.flushICache();
    this.owner?.requestFlush(this, FLUSH_ICACHE);
  }
}

/** How a pCPU worker starts: the bundle's dist/host-pcpu.cjs, or the TypeScript source under tsx. */
function startWorker(init: HostPcpuInit): Worker {
  const here = import.meta.url;
  const opts = { workerData: init, transferList: [init.port] };
  if (here.endsWith('.cjs')) return new Worker(join(dirname(fileURLToPath(here)), 'host-pcpu.cjs'), opts);
  const entry = new URL('./host-pcpu-main.ts', here).href;
  const kconfig = new URL('../../scripts/kconfig-defaults.mjs', here).href;
  const boot = `import(${JSON.stringify(kconfig)}).then(() => import('tsx/esm/api')).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...opts, eval: true });
}

interface Pcpu {
  readonly port: MessagePort;
  /** The vCPU posted to this pCPU (running, in an MMIO call or exited and not yet handled). */
  cur: Vcpu | null;
  /** vCPUs this pCPU has been told about (domains: every pCPU, at creation, announce()). */
  readonly vcpus: Set<Vcpu>;
  preempting: boolean;
}

export class HostPcpus {
  readonly ctl: Int32Array;
  readonly nr: number;
  private readonly threads: Worker[] = [];
  private readonly pcpus: Pcpu[] = [];
  /** The pCPU each vCPU last ran on (a different one next time: the worker re-reads its state). */
  private readonly lastPcpu = new WeakMap<Vcpu, number>();
  private readonly views = new WeakMap<Hart, Vcpu>();
  /** A worker thread failed (message). */
  failure: string | null = null;
  stopped = false;
  /** Exits handled and MMIO calls served (statistics). */
  exits = 0;
  calls = 0;
  /** Events the workers' fast paths raised that the main thread had to act on (kick queue). */
  kicked = 0;
  private readonly events: EventHost;
  private readonly grants: GrantHost;
  private readonly kicks = new KickQueue(4096);
  /** vCPUs an SBI send_ipi on a worker may have to wake (smp/sbi-fast.ts): (domid, vcpu). */
  private readonly sbiWakes = new KickQueue(1024);
  /** Wake-ups the workers' SBI IPIs asked for (statistics). */
  sbiWoken = 0;

  /**
   * `fast`: run EVTCHNOP_send/_unmask, grant copy and SBI IPI/RFENCE on the workers (default);
   * false: every hypercall and SBI call here. `sbiFast` false: only the SBI calls here.
   */
  constructor(private readonly hv: Hypervisor, private readonly sched: HostSched, t0: bigint, o: { jit?: boolean; fast?: boolean; sbiFast?: boolean } = {}) {
    this.nr = sched.nrCpus;
    this.ctl = new Int32Array(new SharedArrayBuffer(controlWords(this.nr) * 4));
    const x = attachEvtchnGnttab(hv);
    this.events = x.events;
    this.grants = x.grants;
    // Grant tables reach the workers per domain ('grant' messages, below and at each creation).
    const fast = o.fast === false ? null : fastPathDesc(this.events, this.kicks, grantSmpDesc(x.grants, []));
    hv.vcpuHart = (o) => {
      const h = new VcpuHartView(o);
      h.owner = this;
      return h;
    };
    hv.quiesce = (d) => this.quiesce(d);
    hv.eventHooks.push((e) => {
      if (e.kind === 'created') this.announce(hv.domains.get(e.domid)!);
      else if (e.kind === 'destroyed') this.forget(e.domid);
    });
    for (let w = 0; w < this.nr; w++) {
      const ch = new MessageChannel();
      const init: HostPcpuInit = { index: w, control: this.ctl.buffer as SharedArrayBuffer, memory: hv.pool.memory, t0, frequency: hv.clock.timebase.frequency, port: ch.port2, fast, sbiWakes: fast === null || o.sbiFast === false ? null : this.sbiWakes.desc, jit: o.jit };
      const t = startWorker(init);
      t.on('error', (e) => { this.failure = `pCPU ${w}: ${e instanceof Error ? e.message : String(e)}`; });
      t.unref();
      this.threads.push(t);
      this.pcpus.push({ port: ch.port1, cur: null, vcpus: new Set(), preempting: false });
    }
    this.fast = fast !== null;
    for (const d of hv.domains.values()) if (d.domid !== 0) this.announce(d);
  }

  private readonly fast: boolean;

  /**
   * Tell every pCPU about a domain once it is built: its p2m, event-channel words, SBI state and
   * grant table, so a fast path on any pCPU can reach it (a send or grant copy naming it) before
   * any of its vCPUs has run there. dom0 (the host, no vCPUs or p2m) stays on this thread.
   */
  private announce(d: Domain): void {
    const ec = this.events.get(d.domid);
    ec?.bitmaps(); // publish where its shared_info and vcpu_infos are (fast-path-host.ts)
    const m: PcpuMessage = { kind: 'domain', domid: d.domid, p2m: d.p2m.share(), evtchn: ec?.shared ?? null, sbi: this.sbiDesc(d), bootNs: d.bootNs };
    const g = !this.fast || ec === undefined ? null : grantSmpDomain(this.grants, d.domid, ec.shared.info[I_INSTANCE]!);
    for (const p of this.pcpus) {
      p.port.postMessage(m);
      if (g !== null) p.port.postMessage({ kind: 'grant', grant: g } satisfies PcpuMessage);
    }
  }

  private post(w: number, v: Vcpu, resync: boolean): void {
    const p = this.pcpus[w]!, c = this.ctl;
    const d = v.domain;
    if (!p.vcpus.has(v)) {
      const view = v.hart as VcpuHartView;
      this.views.set(view, v);
      p.port.postMessage({ kind: 'vcpu', domid: d.domid, vcpu: v.id, state: view.state, timer: v.timer.buffer } satisfies PcpuMessage);
      p.vcpus.add(v);
    }
    const moved = this.lastPcpu.get(v) !== w;
    this.lastPcpu.set(v, w);
    c[pw(w, W_DOMID)] = d.domid;
    c[pw(w, W_VCPU)] = v.id;
    c[pw(w, W_BUDGET)] = RUN_BUDGET;
    c[pw(w, W_FLAGS)] = moved ? RUN_RESUME : resync ? RUN_RESYNC : 0;
    Atomics.store(c, pw(w, W_PREEMPT), 0);
    Atomics.store(c, pw(w, W_STATE), ST_GUEST);
    p.cur = v;
    p.preempting = false;
    v.onCpu = true;
    Atomics.add(c, pw(w, W_RUN_SEQ), 1);
    Atomics.notify(c, pw(w, W_RUN_SEQ));
  }

  /** What a worker's SBI fast path needs of d: its HSM words (shared by xen.ts) and every vCPU's state block. */
  private sbiDesc(d: Domain): SbiFastDesc | null {
    const hsm = d.vsbi?.harts.state;
    if (hsm === undefined || !(hsm.buffer instanceof SharedArrayBuffer)) return null;
    return { domid: d.domid, hsm, states: d.vcpus.map((v) => (v.hart as VcpuHartView).state) };
  }

  /** Wake the vCPUs workers sent an SBI IPI to (Hypervisor.kick: the per-vCPU form of tick()'s wake check). */
  private drainSbiWakes(): void {
    const hv = this.hv;
    const n = this.sbiWakes.drain((domid, vcpu) => {
      const v = hv.getDomain(domid)?.vcpus[vcpu];
      if (v !== undefined) hv.kick(v);
    });
    // An overflow: hv.tick(), which service() runs next, checks every blocked vCPU anyway.
    if (n > 0) this.sbiWoken += n;
  }

  /** End the run on pCPU w soon (slice over, tickled, quiesce). */
  private preempt(w: number): void {
    const p = this.pcpus[w]!;
    if (p.cur === null || p.preempting) return;
    p.preempting = true;
    Atomics.store(this.ctl, pw(w, W_PREEMPT), 1);
    p.cur.hart.requestExit();
  }

  /** Answer pCPU w's MMIO call on the domain's ioreq router. */
  private serveCall(w: number): void {
    const c = this.ctl, v = this.pcpus[w]!.cur!;
    const pa = (c[pw(w, W_PA_HI)]! >>> 0) * TWO32 + (c[pw(w, W_PA_LO)]! >>> 0), size = c[pw(w, W_SIZE)]!;
    let result = 0;
    try {
      if (c[pw(w, W_OP)] === OP_MMIO_READ) result = v.domain.p2m.mmioRead(pa, size) | 0;
      else v.domain.p2m.mmioWrite(pa, size, c[pw(w, W_VALUE)]! >>> 0);
    } catch (e) {
      this.hv.domainCrash(v.domain, `vcpu ${v.id}: MMIO at 0x${pa.toString(16)}: ${e instanceof Error ? e.message : String(e)}`);
      this.preempt(w);
    }
    c[pw(w, W_RESULT)] = result;
    Atomics.store(c, pw(w, W_STATE), ST_GUEST);
    Atomics.add(c, pw(w, W_ANSWER_SEQ), 1);
    Atomics.notify(c, pw(w, W_ANSWER_SEQ));
    this.calls++;
  }

  /** Answer every pCPU waiting in an MMIO call; returns how many. */
  private serveCalls(): number {
    let n = 0;
    for (let w = 0; w < this.nr; w++) if (Atomics.load(this.ctl, pw(w, W_STATE)) === ST_CALL) { this.serveCall(w); n++; }
    return n;
  }

  /** pCPU w's run ended: handle the exit, then go on with the same vCPU or give the pCPU back. */
  private handleExited(w: number, now: number): void {
    const p = this.pcpus[w]!, c = this.ctl, hv = this.hv;
    const v = p.cur!;
    const why = c[pw(w, W_EXIT)]!;
    // The view is never stepped and nothing here reads its cached privilege: it must not call
    // setPriv, which would mark the state block as its own and make the worker resume (drop its
    // TLB, recheck its translated code) after every exit.
    this.exits++;
    let more: boolean;
    hv.current = v;
    try {
      more = why === EXIT_BUDGET || why === EXIT_REQUESTED ? hv.mayContinue(v) : hv.handleExit(v, why);
    } finally {
      hv.current = null;
    }
    Atomics.store(c, pw(w, W_STATE), ST_IDLE);
    if (more && !p.preempting && !this.sched.stale(w, now)) {
      this.post(w, v, true);
      return;
    }
    p.cur = null;
    v.onCpu = false;
    hv.leaveVcpu(v);
  }

  /**
   * One pass over the pCPUs: serve calls, handle exits, preempt what must stop and hand out
   * work. Returns true when a pCPU is busy (running or waiting for us).
   */
  service(): boolean {
    const hv = this.hv, c = this.ctl;
    this.kicked += drainKicks(this.events, this.kicks);
    this.drainSbiWakes();
    hv.tick();
    let busy = false;
    for (let w = 0; w < this.nr; w++) {
      const p = this.pcpus[w]!;
      const st = Atomics.load(c, pw(w, W_STATE));
      const now = hv.clock.nowNs();
      if (st === ST_CALL) { this.serveCall(w); busy = true; continue; }
      if (st === ST_EXITED) this.handleExited(w, now);
      if (p.cur !== null) {
        busy = true;
        // Slice over or tickled: the scheduler decides while the vCPU runs (Xen's schedule()
        // softirq); only another choice costs a context switch.
        if (!hv.mayContinue(p.cur) || (this.sched.stale(w, now) && this.sched.next(w, now) !== p.cur)) this.preempt(w);
        continue;
      }
      const v = this.sched.next(w, now);
      if (v === null || v.onCpu) continue;
      if (!hv.enterVcpu(v)) { hv.current = null; continue; }
      hv.current = null;
      this.post(w, v, true);
      busy = true;
    }
    return busy;
  }

  /** Wall-clock ms until a running pCPU's slice ends (the main thread must preempt it then). */
  nextSliceEndMs(): number {
    let t = Infinity;
    const now = this.hv.clock.nowNs();
    for (let w = 0; w < this.nr; w++) if (this.pcpus[w]!.cur !== null) t = Math.min(t, this.sched.sliceEnd(w) - now);
    return t === Infinity ? Infinity : Math.max(0, t / 1e6);
  }

  /** The vCPU executing guest code on pCPU w and not being preempted, or null (tests, vcpu-list). */
  executing(w: number): Vcpu | null {
    const p = this.pcpus[w]!;
    const st = Atomics.load(this.ctl, pw(w, W_STATE));
    return p.cur !== null && !p.preempting && (st === ST_GUEST || st === ST_CALL) ? p.cur : null;
  }

  /** Hypercalls the workers answered themselves (fast paths), over every pCPU. */
  fastCalls(): number {
    let n = 0;
    for (let w = 0; w < this.nr; w++) n += Atomics.load(this.ctl, pw(w, W_FAST));
    return n;
  }

  /**
   * SBI IPI / RFENCE calls the workers answered themselves, remote fences among them that waited
   * for a target executing on another pCPU, and those they gave up waiting for (the main thread answered).
   */
  sbiFastCalls(): { answered: number; waited: number; slow: number } {
    let answered = 0, waited = 0, slow = 0;
    for (let w = 0; w < this.nr; w++) {
      answered += Atomics.load(this.ctl, pw(w, W_SBI));
      waited += Atomics.load(this.ctl, pw(w, W_SBI_WAITED));
      slow += Atomics.load(this.ctl, pw(w, W_SBI_SLOW));
    }
    return { answered, waited, slow };
  }

  /** Is any vCPU on a pCPU? */
  running(): boolean {
    return this.pcpus.some((p) => p.cur !== null);
  }

  doorbell(): number {
    return Atomics.load(this.ctl, DOORBELL);
  }
  waitDoorbell(seen: number, ms: number): void {
    Atomics.wait(this.ctl, DOORBELL, seen, ms);
  }
  /** Wake whoever waits on the doorbell (a request arrived on a socket). */
  ring(): void {
    Atomics.add(this.ctl, DOORBELL, 1);
    Atomics.notify(this.ctl, DOORBELL);
  }
  /** Resolve on Node's event loop when the doorbell moves from `seen` or after `ms`. */
  whenDoorbell(seen: number, ms: number): Promise<unknown> {
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    const r = waitAsync(this.ctl, DOORBELL, seen, ms);
    return r.async ? (r.value as Promise<unknown>) : Promise.resolve();
  }

  /**
   * The main thread changed what a vCPU's hart must not keep cached: the hart that runs it applies
   * the flush (Hart.requestFlush: at its next exit-request poll, without ending its run); if it is
   * executing now, wait until it has (Xen's flush_tlb_mask).
   */
  requestFlush(view: Hart, bits: number): void {
    view.requestFlush(bits);
    const v = this.views.get(view);
    if (v === undefined || !v.onCpu) return; // applied when its step() next starts
    const w = this.lastPcpu.get(v)!;
    // Pcpus in an MMIO call wait for us: serve them (this one, so that it reaches its next poll;
    // the others, in case it waits for one of them).
    for (let spins = 0; view.flushPending() & bits; spins++) {
      const st = Atomics.load(this.ctl, pw(w, W_STATE));
      if (st === ST_EXITED || st === ST_IDLE || this.pcpus[w]!.cur !== v) return;
      if (this.serveCalls() === 0 && spins > 64) Atomics.wait(this.ctl, DOORBELL, Atomics.load(this.ctl, DOORBELL), 0.05);
      if (this.stopped || this.failure !== null) return;
    }
  }

  /**
   * Take every vCPU of d off its pCPU now (pause, and before d's memory goes away; Xen's
   * vcpu_sleep_sync). A dying domain also disappears from the workers' fast paths first: its
   * directory entry is cleared (the workers' views answer "no such domain" or leave the call to
   * us, as Xen's d->is_dying does), then we wait for every worker in a grant copy that may have
   * found it live (W_GRANT_SEQ odd) to leave it, so no worker reads its frames once they are freed.
   */
  quiesce(d: Domain): void {
    if (d.state === 'dying' && this.events.get(d.domid) !== undefined) {
      Atomics.store(this.events.directory, d.domid, 0); // EventHost.destroy clears it too, later
      this.graceGrants();
    }
    for (let w = 0; w < this.nr; w++) {
      const p = this.pcpus[w]!;
      if (p.cur === null || p.cur.domain !== d) continue;
      this.preempt(w);
      for (;;) {
        const st = Atomics.load(this.ctl, pw(w, W_STATE));
        if (st === ST_EXITED || this.stopped || this.failure !== null) break;
        if (this.serveCalls() === 0) Atomics.wait(this.ctl, DOORBELL, Atomics.load(this.ctl, DOORBELL), 1);
      }
      // The exit it reported is dropped: pc is still on an unhandled ecall (it runs again when
      // the vCPU next runs) and a WFI or fault is simply taken again.
      Atomics.store(this.ctl, pw(w, W_STATE), ST_IDLE);
      const v = p.cur;
      v.onCpu = false;
      p.cur = null;
      if (d.state !== 'dying' && d.state !== 'destroyed') this.hv.leaveVcpu(v);
    }
  }

  /** Wait until every worker that was inside a grant copy has left it (synchronize_rcu over W_GRANT_SEQ). */
  private graceGrants(): void {
    for (let w = 0; w < this.nr; w++) {
      const seq = Atomics.load(this.ctl, pw(w, W_GRANT_SEQ));
      if ((seq & 1) === 0) continue;
      while (Atomics.load(this.ctl, pw(w, W_GRANT_SEQ)) === seq && !this.stopped && this.failure === null) {
        if (this.serveCalls() === 0) Atomics.wait(this.ctl, DOORBELL, Atomics.load(this.ctl, DOORBELL), 0.05);
      }
    }
  }

  private forget(domid: number): void {
    for (const p of this.pcpus) {
      p.port.postMessage({ kind: 'drop', domid } satisfies PcpuMessage); // every pCPU knows every domain
      for (const v of p.vcpus) if (v.domain.domid === domid) p.vcpus.delete(v);
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.ctl, STOP, 1);
    for (let w = 0; w < this.nr; w++) {
      Atomics.add(this.ctl, pw(w, W_RUN_SEQ), 1);
      Atomics.notify(this.ctl, pw(w, W_RUN_SEQ));
      Atomics.add(this.ctl, pw(w, W_ANSWER_SEQ), 1);
      Atomics.notify(this.ctl, pw(w, W_ANSWER_SEQ));
      this.pcpus[w]!.port.close();
    }
    for (const t of this.threads) void t.terminate();
  }
}
