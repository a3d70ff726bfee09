// SPDX-License-Identifier: GPL-2.0-only
// The Linux runner for the virt board: one VirtMachine is one guest machine (harts, RAM,
// UART, PLIC, ACLINT, RTC, syscon and virtio-mmio devices) booted either on the hypervisor's
// vSBI (the default, as KVM boots its guests: S-mode at the kernel entry, a0 = hart id,
// a1 = DTB, secondaries through HSM) or on unmodified M-mode firmware with QEMU's fw_dynamic
// layout (`--bios`). Harts run round-robin in slices; a hart in WFI sleeps until an interrupt
// is pending for it; when every hart sleeps the driver (`driveMachines`) sleeps until the
// nearest timer deadline, host input or a frame from another machine. A guest reboot builds
// a fresh board over the same disk images and switch ports. Nothing the guest does throws out
// of here: guest crashes (a trap to the absent M-mode, an access to no memory) stop the
// machine with a one-line reason.
// Time (the virt board's 10 MHz timebase; the RTC reads the host's wall clock at boot plus
// the timebase's progress, so guest `date` and guest uptime agree):
// - `realtime` (default): paced host time. While harts run, time advances with the
//   instructions at a nominal 10 per tick (100 MIPS), never past the host's monotonic clock;
//   idle time (every hart in WFI) is skipped deadline by deadline while the guest lags the host,
//   then slept for real. A guest on a slow or loaded host thus sees a slower CPU, not time
//   racing past its busy loops (no RCU stalls, soft lockups or crypto self-test timeouts), and
//   catches up with the host clock whenever it idles; on a fast host it is plain host time.
// - `host`: the host's monotonic clock, as QEMU without -icount.
// - `deterministic`: ten instructions (of any hart) per tick, idle time skipped, so a run
//   depends only on its inputs.
// Paced and deterministic time also move inside a slice with the running hart's instructions,
// so a delay loop that polls the `time` CSR sees it advance.
// Threads (`pcpus`, issue #7): by default one thread runs every hart (the deterministic,
// reproducible mode). With `pcpus: N` the harts run on N worker threads (pcpu-host.ts,
// pcpu-worker.ts) over the shared RAM and hart state; this thread keeps the devices and the
// vSBI and serves the workers' requests; `realtime` is then paced per hart by the pCPUs
// (pcpu-shared.ts), `host` is the host clock, `deterministic` is not available.
// Leaves out: save/restore of a running machine, host-side network bridges (the switch is
// in-process).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { VirtBoard } from '../hardware/boards/virt.ts';
import type { FinisherEvent } from '../hardware/devices/sifive-test.ts';
import { VirtioBlk, type BlockBackend } from '../hardware/devices/virtio/virtio-blk.ts';
import { VirtioConsole } from '../hardware/devices/virtio/virtio-console.ts';
import { VirtioNet } from '../hardware/devices/virtio/virtio-net.ts';
import { VirtioRng } from '../hardware/devices/virtio/virtio-rng.ts';
import type { EthernetSwitch, SwitchPort } from '../hardware/net/switch.ts';
import { EXIT_ECALL, EXIT_PHYS_FAULT, EXIT_REQUESTED, EXIT_TRAP_M, EXIT_WFI } from '../hardware/riscv/hart-api.ts';
import { EXIT_CAUSE as EXIT_CAUSE_W, MIE } from '../hardware/riscv/hart-state.ts';
import { ECALL_STOP } from '../hardware/boards/pcpu-shared.ts';
import { HartStates } from '../hypervisor/vsbi/hart-states.ts';
import { PcpuHost, ShadowHart } from './pcpu-host.ts';
import { Hart, hartBlockCache } from '../hardware/riscv/hart.ts';
import { enterKernel, loadBootPlan, planLinuxBoot, type BootFile } from '../hypervisor/boot/boot-plan.ts';
import {
  createVsbi, hartPlatform, VSBI_SYSTEM_RESET, VSBI_SYSTEM_SUSPENDED, type Vsbi, type VsbiPlatform,
} from '../hypervisor/vsbi/vsbi.ts';

const TIMEBASE_HZ = 10_000_000;
/** 16550 IER bit 0: received-data-available interrupt enabled. */
const IER_ERBFI = 1;
const RAM_BASE = 0x8000_0000;

export interface VirtDrive {
  readonly backend: BlockBackend;
}

export interface VirtNic {
  readonly mac: Uint8Array;
  /** The in-process switch this NIC's cable goes to. */
  readonly switch: EthernetSwitch;
}

export interface VirtMachineConfig {
  readonly smp: number;
  readonly memBytes: number;
  /** The kernel; only firmware (`bios`) may run without one, as QEMU's -bios alone. */
  readonly kernel?: BootFile;
  readonly initrd?: BootFile;
  /** The kernel command line (/chosen bootargs). */
  readonly append: string;
  /** M-mode firmware (a raw fw_dynamic image such as QEMU's OpenSBI); absent = the vSBI. */
  readonly bios?: BootFile;
  readonly drives?: readonly VirtDrive[];
  readonly nics?: readonly VirtNic[];
  /** A virtio-rng device fed from the host's CSPRNG. */
  readonly rng?: boolean;
  /** A virtio-console (/dev/hvc0) whose output goes here. */
  readonly virtioConsole?: (bytes: Uint8Array) => void;
  readonly clock?: VirtClock;
  /** The RTC's wall clock, ns since the epoch (default: the host's at boot + timebase progress). */
  readonly wallclockNs?: () => bigint;
  /** Every byte the guest sends on ttyS0 (and through SBI DBCN). */
  readonly output: (byte: number) => void;
  /** Stop after this many instructions (summed over harts and reboots). */
  readonly maxInsns?: number;
  /** A guest reboot ends the run (QEMU -no-reboot) instead of restarting the machine. */
  readonly noReboot?: boolean;
  /** Instructions per hart per turn (default: 100k with one hart, 10k with more). */
  readonly slice?: number;
  /**
   * Run the harts on this many worker threads (pCPUs; hart h on pCPU h mod N), at most one per
   * hart. 0 or absent: every hart on this thread. Not with the deterministic clock.
   */
  readonly pcpus?: number;
}

export type VirtClock = 'realtime' | 'host' | 'deterministic';

/** Instructions per timebase tick for paced and deterministic time (100 MIPS nominal). */
export const INSNS_PER_TICK = 10;

export type VirtStop =
  | { kind: 'poweroff' }
  | { kind: 'fail'; code: number }
  | { kind: 'reset' }
  | { kind: 'crash'; message: string }
  | { kind: 'limit' }
  | { kind: 'idle' };

/** The machine's state after a burst of running. */
export const RUN_BUSY = 0;
/** Every hart sleeps: nothing to do before the next deadline or outside event. */
export const RUN_IDLE = 1;
export const RUN_STOPPED = 2;

const hex = (n: number): string => `0x${n.toString(16)}`;

export class VirtMachine {
  readonly cfg: VirtMachineConfig;
  readonly deterministic: boolean;
  /** Paced host time (the default clock). */
  readonly paced: boolean;
  board!: VirtBoard<Hart>;
  /** The vSBI (vsbi mode only). */
  vsbi: Vsbi | null = null;
  private platform: VsbiPlatform | null = null;
  stopped: VirtStop | null = null;
  /** Guest-initiated reboots so far. */
  reboots = 0;
  /** Instructions of boards already rebooted away. */
  private pastInsns = 0;
  private sleeping: boolean[] = [];
  private finish: FinisherEvent | null = null;
  private srst: { type: number; reason: number } | null = null;
  private readonly input: number[] = [];
  private inputHead = 0;
  private ports: SwitchPort[] = [];
  private tbT0 = 0;
  private virtualTicks = 0;
  private readonly slice: number;
  private waker: (() => void) | null = null;
  private curHart: Hart | null = null;
  private sliceBase = 0;
  private sliceCap = Infinity;
  /** Frames or input arrived while the machine slept. */
  private kicked = false;
  /** The pCPU threads (threaded mode), or null. */
  private pcpu: PcpuHost | null = null;
  private readonly pcpus: number;

  constructor(cfg: VirtMachineConfig) {
    this.cfg = cfg;
    this.deterministic = cfg.clock === 'deterministic';
    this.pcpus = cfg.pcpus ?? 0;
    if (this.pcpus > 0 && this.deterministic) throw new Error(`--pcpus ${this.pcpus}: worker threads do not run on the deterministic clock`);
    this.paced = (cfg.clock ?? 'realtime') === 'realtime' && this.pcpus === 0;
    this.slice = cfg.slice ?? (cfg.smp > 1 ? 10_000 : 100_000);
    this.boot();
  }

  /** Instructions retired by every hart since the machine was created (across reboots). */
  get instructions(): number {
    return this.pastInsns + this.boardInstructions();
  }

  /** Worker threads running the harts now (0: they run on this thread). */
  get pcpuThreads(): number {
    return this.pcpu && !this.pcpu.stopped ? this.pcpu.workers : 0;
  }

  /** Threaded mode: requests (MMIO, SBI calls, ...) the main thread served for the pCPUs on this board. */
  get pcpuRequests(): number {
    return this.pcpu?.served ?? 0;
  }

  private boardInstructions(): number {
    let n = 0;
    const p = this.pcpu;
    this.board.harts.forEach((h, i) => { n += p ? p.instructions(i) : h.instructions; });
    return n;
  }

  /** Build a fresh board, plug the devices, load the images and set up the boot hart(s). */
  private boot(): void {
    const cfg = this.cfg;
    const firmware = cfg.bios !== undefined;
    this.pcpu?.stop();
    this.pcpu = null;
    this.tbT0 = performance.now();
    this.virtualTicks = 0;
    const threaded = this.pcpus > 0;
    const timebase = threaded
      ? { now: () => (this.pcpu ? this.pcpu.timeNow() : 0), frequency: TIMEBASE_HZ }
      : this.deterministic || this.paced
        ? { now: () => this.timeNow(), frequency: TIMEBASE_HZ }
        : { now: () => this.hostTicks(), frequency: TIMEBASE_HZ };
    const wallAtBoot = BigInt(Date.now()) * 1_000_000n;
    this.finish = null;
    this.srst = null;
    let blocks: ReturnType<typeof hartBlockCache> | undefined;
    const board = new VirtBoard<Hart>({
      hartCount: cfg.smp, ramSize: cfg.memBytes, mode: firmware ? 'firmware' : 'vsbi', timebase,
      wallclockNs: cfg.wallclockNs ?? (() => wallAtBoot + BigInt(timebase.now()) * 100n),
      uartTx: cfg.output,
      onFinish: (e) => { this.finish ??= e; for (const h of this.board.harts) h.requestExit(); },
      // One translation cache for all harts of this thread: each block is compiled once, not
      // once per hart (threaded: the pCPU workers run the harts; the main thread keeps shadows).
      createHart: (p) => (threaded ? new ShadowHart({ ...p, resetPc: RAM_BASE })
        : new Hart({ ...p, resetPc: RAM_BASE, blockCache: blocks ??= hartBlockCache(p.phys.memory) })),
      onInterrupt: (h) => { this.kick(); this.pcpu?.wake(h); },
    });
    this.board = board;
    this.sleeping = new Array<boolean>(cfg.smp).fill(false);
    // Devices in QEMU's -device order: attachVirtio fills the highest slot first, so the
    // first disk is vda on both.
    for (const d of cfg.drives ?? []) board.attachVirtio(new VirtioBlk({ backend: d.backend }));
    for (const p of this.ports) p.detach();
    this.ports = [];
    for (const n of cfg.nics ?? []) {
      const nic = new VirtioNet({ mac: n.mac });
      const port = n.switch.attach((f) => { nic.receive(f); this.kick(); }, `nic ${Array.from(n.mac, (b) => b.toString(16).padStart(2, '0')).join(':')}`);
      nic.link = port;
      this.ports.push(port);
      board.attachVirtio(nic);
    }
    if (cfg.rng) board.attachVirtio(new VirtioRng({ entropy: (b) => crypto.getRandomValues(b) }));
    if (cfg.virtioConsole) board.attachVirtio(new VirtioConsole({ output: cfg.virtioConsole }));

    let hsm: Int32Array | null = null;
    if (firmware) {
      this.vsbi = null;
      this.platform = null;
      const plan = board.bootFirmware({ firmware: cfg.bios!, kernel: cfg.kernel, initrd: cfg.initrd, bootargs: cfg.append });
      for (const e of plan.entries) {
        const h = board.harts[e.hartId]!;
        h.setPc(e.pc);
        h.setXNum(10, e.a0);
        h.setXNum(11, e.a1);
        h.setXNum(12, e.a2);
      }
    } else {
      if (cfg.kernel === undefined) throw new Error('no kernel: the vSBI boots a kernel (give -kernel, or -bios firmware)');
      const plan = planLinuxBoot({
        ramBase: RAM_BASE, ramSize: cfg.memBytes, kernel: cfg.kernel, initrd: cfg.initrd,
        buildDtb: (initrd) => board.dtb({ bootargs: cfg.append, initrd }),
      });
      loadBootPlan(plan, board.ram);
      const out = cfg.output;
      const platform = hartPlatform(board.harts, {
        phys: board.bus,
        systemReset: (_caller, type, reason) => {
          this.srst ??= { type, reason };
          return true;
        },
        console: { write: (b) => { for (const c of b) out(c); return b.length; } },
        hartRunnable: (i) => { this.kick(); this.pcpu?.wake(i); },
      });
      // Threaded: an IPI or a new timer must also wake the target's pCPU if it sleeps in WFI,
      // and the HSM states live in shared memory the pCPUs read.
      this.platform = !threaded ? platform : {
        ...platform,
        sendIpi: (i) => { platform.sendIpi(i); this.pcpu?.wake(i); },
        setTimer: (i, when) => { platform.setTimer(i, when); this.pcpu?.wake(i); },
      };
      if (threaded) hsm = new Int32Array(new SharedArrayBuffer(HartStates.wordsFor(cfg.smp) * 4));
      this.vsbi = createVsbi(this.platform, hsm ? { hsmBuffer: hsm } : {});
      enterKernel(this.platform.hart(plan.entry.hartId), plan.entry);
    }
    if (threaded) this.startPcpus(hsm, performance.timeOrigin + this.tbT0);
  }

  /** Threaded mode: start the pCPU workers on the board just built. */
  private startPcpus(hsm: Int32Array | null, t0: number): void {
    const board = this.board;
    const vsbi = this.vsbi;
    this.pcpu = new PcpuHost({
      workers: this.pcpus, harts: board.harts as unknown as ShadowHart[],
      phys: { memory: board.bus.memory, ramBase: board.bus.ramBase, mmio: board.bus.mmioRanges().map((r) => [r.base, r.size] as const) },
      guestMode: vsbi !== null, resetPc: RAM_BASE, t0, frequency: TIMEBASE_HZ, hsm, slice: this.slice,
      insnsPerTick: (this.cfg.clock ?? 'realtime') === 'realtime' ? INSNS_PER_TICK : undefined,
      handlers: {
        mmioRead: (pa, size) => board.bus.mmioRead(pa, size),
        mmioWrite: (pa, size, value) => board.bus.mmioWrite(pa, size, value),
        ecall: (h) => {
          const o = vsbi!.handleEcall(h);
          return o === VSBI_SYSTEM_RESET || o === VSBI_SYSTEM_SUSPENDED ? ECALL_STOP : 0;
        },
        prepare: (h) => vsbi!.prepareToRun(h),
        crash: (h, code) => {
          const hart = board.harts[h]!;
          this.stopped ??= code === EXIT_TRAP_M
            ? { kind: 'crash', message: `hart ${h} trapped to M-mode (cause ${hart.s[EXIT_CAUSE_W]! >>> 0}) at pc ${hex(hart.getPc())}` }
            : { kind: 'crash', message: `hart ${h} accessed no memory or device at pc ${hex(hart.getPc())}` };
        },
      },
    });
    this.pcpu.onKick = () => this.kick();
  }

  /**
   * Paced/deterministic time as the running hart sees it: the ticks of the slices run so far
   * plus its progress in the current one (so delay loops see time move), capped in paced mode
   * at the host clock sampled when the slice began (time never runs backwards across harts).
   */
  private timeNow(): number {
    const h = this.curHart;
    if (h === null) return this.virtualTicks;
    const t = this.virtualTicks + Math.floor((h.instructions - this.sliceBase) / INSNS_PER_TICK);
    return t < this.sliceCap ? t : this.sliceCap;
  }

  /** Host monotonic time since this boot, in timebase ticks. */
  private hostTicks(): number {
    return Math.floor((performance.now() - this.tbT0) * (TIMEBASE_HZ / 1000));
  }

  /** Wake the driver if it sleeps (an interrupt line rose, a frame or input arrived). */
  kick(): void {
    this.kicked = true;
    const w = this.waker;
    if (w) { this.waker = null; w(); }
  }

  /** Bytes for the guest's serial console (queued while the UART's FIFO is full). */
  sendInput(bytes: Uint8Array | string): void {
    const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
    for (const c of b) this.input.push(c);
    this.kick();
  }

  /** Bytes typed but not yet taken by the UART. */
  get pendingInput(): number {
    return this.input.length - this.inputHead;
  }

  private feedUart(): void {
    const uart = this.board.uart;
    if (this.inputHead === this.input.length) return;
    // Hold host input until a driver listens (receive interrupt enabled): Linux's 8250 clears
    // the FIFOs when it starts the port, and bytes piped in before that would be lost.
    if ((uart.saveState().ier & IER_ERBFI) === 0) return;
    while (this.inputHead < this.input.length && uart.rxFree() > 0) uart.receive(this.input[this.inputHead++]!);
    if (this.inputHead > 4096 && this.inputHead * 2 > this.input.length) {
      this.input.splice(0, this.inputHead);
      this.inputHead = 0;
    }
  }

  private wakeable(i: number): boolean {
    const h = this.board.harts[i]!;
    return (h.mipValue() & h.s[MIE]!) !== 0;
  }

  /**
   * Run the harts for about `ms` of wall time (at least one round). Returns RUN_BUSY,
   * RUN_IDLE (every hart sleeps) or RUN_STOPPED (see `stopped`).
   */
  runBurst(ms: number): number {
    if (this.stopped) return RUN_STOPPED;
    if (this.pcpu) return this.runThreaded(ms);
    const until = performance.now() + ms;
    const board = this.board;
    const harts = board.harts;
    const n = harts.length;
    const vsbi = this.vsbi;
    const limit = this.cfg.maxInsns ?? Infinity;
    for (;;) {
      this.feedUart();
      let ran = false;
      for (let i = 0; i < n; i++) {
        if (this.sleeping[i]) {
          if (!this.wakeable(i)) continue;
          this.sleeping[i] = false;
        }
        if (vsbi && !vsbi.prepareToRun(i)) continue;
        const h = harts[i]!;
        const before = h.instructions;
        this.curHart = h;
        this.sliceBase = before;
        if (this.paced) this.sliceCap = this.hostTicks();
        const r = h.step(this.slice);
        this.curHart = null;
        const did = h.instructions - before;
        const t = this.virtualTicks + Math.ceil(did / INSNS_PER_TICK);
        if (this.deterministic) this.virtualTicks = t;
        else if (this.paced) this.virtualTicks = Math.max(this.virtualTicks, Math.min(this.hostTicks(), t));
        ran = true;
        if (r === EXIT_WFI) this.sleeping[i] = true;
        else if (r === EXIT_ECALL && vsbi) {
          const o = vsbi.handleEcall(i);
          if (o === VSBI_SYSTEM_RESET || o === VSBI_SYSTEM_SUSPENDED) break;
        } else if (r === EXIT_TRAP_M) {
          const s = h.s;
          this.stopped = { kind: 'crash', message: `hart ${i} trapped to M-mode (cause ${s[EXIT_CAUSE_W]! >>> 0}) at pc ${hex(h.getPc())}` };
        } else if (r === EXIT_PHYS_FAULT) {
          this.stopped = { kind: 'crash', message: `hart ${i} accessed no memory or device at pc ${hex(h.getPc())}` };
        } else if (r === EXIT_REQUESTED && this.finish === null && !vsbi && h.isStopped()) {
          this.sleeping[i] = true;
        }
        if (this.finish || this.srst || this.stopped) break;
      }
      board.tick();
      if (this.stopped) return RUN_STOPPED;
      if (this.finish || this.srst) {
        if (this.endOrReboot()) return RUN_STOPPED;
        return RUN_BUSY;
      }
      if (this.instructions >= limit) {
        this.stopped = { kind: 'limit' };
        return RUN_STOPPED;
      }
      if (!ran) {
        if (vsbi && harts.every((_, i) => vsbi.harts.status(i) === 1 /* STOPPED */)) {
          this.stopped = { kind: 'idle' };
          return RUN_STOPPED;
        }
        if ((this.deterministic && this.skipToDeadline()) || (this.paced && this.catchUp())) {
          if (performance.now() >= until) return RUN_BUSY;
          continue;
        }
        return RUN_IDLE;
      }
      if (performance.now() >= until) return RUN_BUSY;
    }
  }

  /**
   * Threaded mode's burst: serve the pCPUs' requests (blocking in Atomics.wait between them, at
   * most 1 ms, so devices tick and console input flows), for about `ms`. RUN_IDLE once every
   * pCPU sleeps; the next request then kicks the driver.
   */
  private runThreaded(ms: number): number {
    const p = this.pcpu!;
    const until = performance.now() + ms;
    const limit = this.cfg.maxInsns ?? Infinity;
    const vsbi = this.vsbi;
    for (;;) {
      const seen = p.doorbell();
      p.serve();
      this.feedUart();
      this.board.tick();
      p.setDeviceDeadline(this.board.nextDeadline());
      if (p.failure !== null) this.stopped ??= { kind: 'crash', message: p.failure };
      if (this.stopped) { p.stop(); return RUN_STOPPED; }
      if (this.finish || this.srst) return this.endOrReboot() ? RUN_STOPPED : RUN_BUSY;
      if (this.instructions >= limit) {
        this.stopped = { kind: 'limit' };
        p.stop();
        return RUN_STOPPED;
      }
      if (p.idle()) {
        if (vsbi && this.board.harts.every((_, i) => vsbi.harts.status(i) === 1 /* STOPPED */)) {
          this.stopped = { kind: 'idle' };
          p.stop();
          return RUN_STOPPED;
        }
        p.whenRequest(() => this.kick());
        return RUN_IDLE;
      }
      const left = until - performance.now();
      if (left <= 0) return RUN_BUSY;
      p.waitDoorbell(seen, Math.min(left, 1));
    }
  }

  /** A finisher write or SRST call ended this boot: stop, or reboot on a fresh board. */
  private endOrReboot(): boolean {
    const f = this.finish, r = this.srst;
    let stop: VirtStop;
    if (f) stop = f.kind === 'pass' ? { kind: 'poweroff' } : f.kind === 'fail' ? { kind: 'fail', code: f.code } : { kind: 'reset' };
    else stop = r!.type === 0 ? (r!.reason === 0 ? { kind: 'poweroff' } : { kind: 'fail', code: 1 }) : { kind: 'reset' };
    if (stop.kind !== 'reset' || this.cfg.noReboot) {
      this.stopped = stop;
      this.pcpu?.stop();
      return true;
    }
    this.reboots++;
    this.pastInsns += this.boardInstructions();
    this.boot();
    return false;
  }

  /** The next timer deadline in timebase ticks (Infinity when none is armed). */
  nextDeadline(): number {
    let d = this.board.nextDeadline();
    // Threaded: each pCPU sleeps until its own harts' Sstc deadlines; this thread only ticks devices.
    if (this.pcpu) return d;
    for (let i = 0; i < this.board.harts.length; i++) {
      const t = this.board.harts[i]!.timerDeadline();
      if (t < d) d = t;
    }
    return d;
  }

  /** Deterministic time: jump to the next deadline. False if there is none in the future. */
  private skipToDeadline(): boolean {
    const next = this.nextDeadline();
    const now = this.board.clock.now();
    // None armed, or one that passed without waking a hart (its interrupt is masked).
    if (!Number.isFinite(next) || next <= now) return false;
    // mtime = timebase + the guest's offset: move the timebase by the distance.
    this.virtualTicks += Math.max(1, next - now);
    this.board.tick();
    return true;
  }

  /**
   * Paced time, every hart idle: while the guest lags the host clock, jump to the next deadline
   * (true: run again); otherwise move to host time and let the driver sleep (false).
   */
  private catchUp(): boolean {
    const host = this.hostTicks();
    const next = this.nextDeadline();
    const d = next - this.board.clock.now();
    const dist = Number.isFinite(next) && d > 0 ? d : Infinity;
    if (this.virtualTicks + dist <= host) {
      this.virtualTicks += dist;
      this.board.tick();
      return true;
    }
    if (host > this.virtualTicks) {
      this.virtualTicks = host;
      this.board.tick();
      return this.anyWakeable();
    }
    return false;
  }

  private anyWakeable(): boolean {
    for (let i = 0; i < this.board.harts.length; i++) if (this.sleeping[i] && this.wakeable(i)) return true;
    return false;
  }

  /** Paced time: how far the guest's clock is behind the host's, in ms (0 for the other clocks). */
  lagMs(): number {
    if (this.pcpu) return Math.max(0, (this.pcpu.hostTicks() - this.pcpu.timeNow()) / (TIMEBASE_HZ / 1000));
    return this.paced ? Math.max(0, (this.hostTicks() - this.virtualTicks) / (TIMEBASE_HZ / 1000)) : 0;
  }

  /** Milliseconds until the next deadline (host or paced time), capped; 0 if one has passed. */
  idleMs(cap: number): number {
    if (this.kicked) return 0;
    const next = this.nextDeadline();
    if (!Number.isFinite(next)) return cap;
    const ms = (next - this.board.clock.now()) / (TIMEBASE_HZ / 1000);
    return Math.max(0, Math.min(cap, ms));
  }

  /** A promise that settles at the next kick (interrupt, input, frame). */
  whenKicked(): Promise<void> {
    if (this.kicked) { this.kicked = false; return Promise.resolve(); }
    return new Promise((res) => { this.waker = () => { this.kicked = false; res(); }; });
  }

  /** Clear the kick flag before a burst (anything after it must wake the next sleep). */
  clearKick(): void {
    this.kicked = false;
  }

  /** Detach from the switches and stop the pCPU threads (the machine is done). */
  close(): void {
    this.pcpu?.stop();
    for (const p of this.ports) p.detach();
    this.ports = [];
  }
}

export interface DriveOptions {
  /** Wall time per machine between looks at the event loop (default 16 ms). */
  readonly burstMs?: number;
  /** Called after every round of bursts (flush output, check conditions). */
  readonly afterBurst?: () => void;
  /** Stop driving when this returns true. */
  readonly until?: () => boolean;
  /** Longest idle sleep in ms (default 50). */
  readonly maxSleepMs?: number;
}

/**
 * Run machines (e.g. two on one switch) until every one has stopped or `until()` says so.
 * Yields to Node's event loop between bursts so host input and output flow.
 */
export async function driveMachines(machines: readonly VirtMachine[], opts: DriveOptions = {}): Promise<void> {
  const burst = opts.burstMs ?? 16;
  const cap = opts.maxSleepMs ?? 50;
  for (;;) {
    let allIdle = true;
    let live = 0;
    for (const m of machines) {
      if (m.stopped) continue;
      live++;
      m.clearKick();
      const r = m.runBurst(burst);
      if (r === RUN_BUSY) allIdle = false;
      else if (r === RUN_STOPPED) continue;
    }
    opts.afterBurst?.();
    if (live === 0 || opts.until?.()) return;
    if (allIdle) {
      const running = machines.filter((m) => !m.stopped);
      if (running.length === 0) return;
      const ms = Math.min(...running.map((m) => (m.deterministic ? cap : m.idleMs(cap))));
      if (ms > 0) await Promise.race([sleep(ms), ...running.map((m) => m.whenKicked())]);
      else await new Promise<void>((r) => setImmediate(r));
    } else {
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}

/** Read a file for booting; throws an Error with one line naming it. */
export function readBootFile(what: string, path: string): BootFile {
  try {
    return { name: path, bytes: new Uint8Array(readFileSync(path)) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code ?? String(e);
    throw new Error(`cannot read ${what} '${path}': ${why}`);
  }
}
