// SPDX-License-Identifier: GPL-2.0-only
// The bare board: harts, RAM and the few devices a bare-metal program or firmware needs,
// at QEMU virt's addresses so the same binaries run on both. No device tree, no PLIC
// (the UART's interrupt is not wired: programs poll it), no hypervisor.
//
//   0x0010_0000  SiFive test finisher (pass / fail with code / reset)
//   0x0200_0000  ACLINT (CLINT layout): MSIP, MTIMECMP, MTIME; drives MSIP/MTIP of each hart
//   0x1000_0000  ns16550a UART (console)
//   0x8000_0000  RAM (size from the config)
//   tohost/fromhost  HTIF words inside RAM, when the loaded ELF defines `tohost`
//
// Time: a 10 MHz timebase (QEMU virt's), either the host's monotonic clock ('realtime') or
// derived from executed instructions ('deterministic': 10 instructions per tick, harts of a
// round count as running in parallel, and idle time skipped to the next timer deadline).
import { PhysBus } from '../bus/phys-bus.ts';
import { Aclint, ACLINT_CLINT_SIZE, ACLINT_MTIME, ACLINT_MTIMECMP_BASE, type TimeBase } from '../devices/aclint.ts';
import { Ns16550a } from '../devices/ns16550a.ts';
import { SifiveTest, type FinisherEvent } from '../devices/sifive-test.ts';
import { LoadError, isElf, loadElf, loadRaw, parseElf, type ElfImage } from '../loader/elf.ts';
import { EXIT_WFI } from '../riscv/hart-api.ts';
import { MIE } from '../riscv/hart-state.ts';
import { Hart, hartBlockCache } from '../riscv/hart.ts';
import { Htif } from './bare-htif.ts';

export const BARE_RAM_BASE = 0x8000_0000;
export const BARE_TEST_BASE = 0x10_0000;
export const BARE_CLINT_BASE = 0x200_0000;
export const BARE_UART_BASE = 0x1000_0000;
export const BARE_UART_SIZE = 0x100;
/** With firmware (--bios FILE), a raw kernel goes 2 MiB into RAM, as on QEMU virt. */
export const BARE_KERNEL_OFFSET = 0x20_0000;
export const TIMEBASE_HZ = 10_000_000;
/** Deterministic mode: instructions per timebase tick (a nominal 100 MIPS hart). */
export const INSNS_PER_TICK = 10;
// Spec: riscv-priv-20240411 "Machine Interrupt (mip and mie) Registers": wire bit numbers.
const IRQ_MSI = 3, IRQ_MTI = 7;
export const MAX_HARTS = 64;

export type StopReason =
  | { kind: 'pass' }
  | { kind: 'fail'; code: number }
  | { kind: 'reset' }
  /** run(): the instruction limit was reached. */
  | { kind: 'limit' }
  /** run(): every hart waits in WFI and no timer can ever wake one. */
  | { kind: 'idle' };

export interface BareConfig {
  readonly ramSize: number;
  readonly hartCount?: number;
  readonly clock?: 'realtime' | 'deterministic';
  /** Host monotonic milliseconds for 'realtime' (default: performance.now). */
  readonly hostMs?: () => number;
  /** Each byte written to the UART or the HTIF console. */
  readonly onTransmit: (byte: number) => void;
}

/** What to load: a kernel alone (started in M-mode at its entry), or firmware plus kernel. */
export interface BootImages {
  readonly kernel?: Uint8Array;
  readonly bios?: Uint8Array;
  /** Names for error messages (file names); default "kernel" / "firmware". */
  readonly kernelName?: string;
  readonly biosName?: string;
}

export class BareBoard {
  readonly bus: PhysBus;
  readonly uart: Ns16550a;
  readonly test: SifiveTest;
  readonly aclint: Aclint;
  readonly harts: Hart[] = [];
  htif: Htif | null = null;
  /** Why the machine stopped, once it has. */
  stopped: StopReason | null = null;
  /** The ELF image of the kernel (or firmware) last loaded, for symbol lookups. */
  elf: ElfImage | null = null;
  /** True when the last round found every running hart waiting in WFI. */
  idle = false;
  private readonly waiting: Uint8Array;
  private readonly deterministic: boolean;
  private readonly onTransmit: (byte: number) => void;
  // Deterministic time: instructions of completed rounds, the running hart's slice start,
  // and ticks skipped while idle.
  private vInsns = 0;
  private cur: Hart | null = null;
  private sliceStart = 0;
  private skipTicks = 0;
  private insnsAtStart = 0;

  constructor(cfg: BareConfig) {
    const n = cfg.hartCount ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > MAX_HARTS) throw new RangeError(`hart count ${n} is not in 1..${MAX_HARTS}`);
    this.deterministic = cfg.clock === 'deterministic';
    this.bus = new PhysBus(BARE_RAM_BASE, cfg.ramSize);
    const hostMs = cfg.hostMs ?? (() => performance.now());
    const t0 = hostMs();
    const timebase: TimeBase = this.deterministic
      ? { frequency: TIMEBASE_HZ, now: () => this.virtualTicks() }
      : { frequency: TIMEBASE_HZ, now: () => Math.floor((hostMs() - t0) * (TIMEBASE_HZ / 1000)) };
    this.aclint = new Aclint({ hartCount: n, timebase });
    this.uart = new Ns16550a({ onTransmit: cfg.onTransmit });
    this.test = new SifiveTest((ev) => this.finish(ev));
    this.bus.addMmio(BARE_TEST_BASE, 0x1000, this.test);
    // A new mtimecmp ends the running slice (within the hart's check interval) so that
    // runRound() can shorten the next slice to the new deadline.
    const aclint = this.aclint;
    this.bus.addMmio(BARE_CLINT_BASE, ACLINT_CLINT_SIZE, {
      name: aclint.name,
      read: (off, size) => aclint.read(off, size),
      write: (off, size, value) => {
        aclint.write(off, size, value);
        if (off >= ACLINT_MTIMECMP_BASE && off < ACLINT_MTIME) this.cur?.requestExit();
      },
    });
    this.bus.addMmio(BARE_UART_BASE, BARE_UART_SIZE, this.uart);
    const blockCache = hartBlockCache(this.bus.memory); // (the harts share their translations)
    for (let h = 0; h < n; h++) {
      const hart = new Hart({ hartId: h, phys: this.bus, clock: this.aclint.clock, resetPc: BARE_RAM_BASE, blockCache });
      this.aclint.connect(h, hart.irqLine(IRQ_MSI), hart.irqLine(IRQ_MTI));
      this.harts.push(hart);
    }
    this.waiting = new Uint8Array(n);
    this.onTransmit = cfg.onTransmit;
  }

  private virtualTicks(): number {
    const running = this.cur ? this.cur.instructions - this.sliceStart : 0;
    return Math.floor((this.vInsns + running) / INSNS_PER_TICK) + this.skipTicks;
  }

  private finish(ev: FinisherEvent): void {
    if (this.stopped) return;
    this.stopped = ev.kind === 'fail' ? { kind: 'fail', code: ev.code } : { kind: ev.kind };
    for (const h of this.harts) h.requestExit();
  }

  /**
   * Load the boot images and point every hart at the entry in M-mode with a0 = hartid,
   * a1 = 0. Kernel only (--bios none): an ELF at its addresses, a raw image at RAM base.
   * With firmware: firmware (ELF, or raw at RAM base) is the entry; the kernel goes to its
   * ELF addresses or, raw, to RAM base + 2 MiB. Throws LoadError (one-line message).
   */
  load(images: BootImages): void {
    let entry = BARE_RAM_BASE;
    const one = (bytes: Uint8Array, rawAt: number, name: string): number => {
      try {
        if (!isElf(bytes)) { loadRaw(bytes, rawAt, this.bus); return rawAt; }
        const img = parseElf(bytes);
        const e = loadElf(bytes, img, this.bus);
        if (this.elf === null || img.symbol('tohost') !== undefined) this.elf = img;
        return e;
      } catch (err) {
        if (err instanceof LoadError) throw new LoadError(`${name}: ${err.message}`);
        throw err;
      }
    };
    if (images.bios) {
      entry = one(images.bios, BARE_RAM_BASE, images.biosName ?? 'firmware');
      if (images.kernel) one(images.kernel, BARE_RAM_BASE + BARE_KERNEL_OFFSET, images.kernelName ?? 'kernel');
    } else if (images.kernel) {
      entry = one(images.kernel, BARE_RAM_BASE, images.kernelName ?? 'kernel');
    } else {
      throw new LoadError('nothing to run: give a kernel or firmware image');
    }
    const tohost = this.elf?.symbol('tohost');
    if (tohost !== undefined && this.htif === null) {
      if (!this.bus.inRam(tohost, 8) || tohost % 8 !== 0) throw new LoadError(`tohost symbol at 0x${tohost.toString(16)} is not an aligned RAM word`);
      const fromhost = this.elf?.symbol('fromhost');
      const fh = fromhost !== undefined && this.bus.inRam(fromhost, 8) && fromhost % 8 === 0 && Math.abs(fromhost - tohost) >= 8 ? fromhost : undefined;
      this.htif = new Htif(this.bus, tohost, fh, {
        exit: (code) => this.finish(code === 0 ? { kind: 'pass' } : { kind: 'fail', code }),
        putchar: (b) => this.onTransmit(b),
      });
    }
    for (const h of this.harts) {
      h.setPc(entry);
      h.setXNum(10, h.hartId);
      h.setXNum(11, 0);
      h.flushTlb();
    }
  }

  /** Instructions executed by all harts since construction. */
  get instructions(): number {
    let n = 0;
    for (const h of this.harts) n += h.instructions;
    return n;
  }

  /**
   * One round: each hart that is not waiting runs up to `slice` instructions, all of them
   * together at most `budget`. A hart that executed WFI waits until one of its enabled
   * interrupts is pending. Sets `idle`.
   */
  runRound(slice: number, budget = Infinity): void {
    this.aclint.tick();
    // MTIP changes only when tick() runs, between slices: end the slice near the next ACLINT
    // deadline so a machine timer interrupt is not held back for a whole slice (exact in
    // deterministic mode; at a nominal 100 MIPS with the host's clock).
    const dl = this.aclint.nextDeadline();
    if (dl !== Infinity) slice = Math.max(1, Math.min(slice, Math.ceil((dl - this.now()) * INSNS_PER_TICK)));
    let longest = 0, ran = false, used = 0;
    for (let i = 0; i < this.harts.length && this.stopped === null && used < budget; i++) {
      const h = this.harts[i];
      if (h.isStopped()) continue;
      if (this.waiting[i]) {
        if ((h.mipValue() & h.s[MIE]) === 0) continue;
        this.waiting[i] = 0;
      }
      this.cur = h;
      this.sliceStart = h.instructions;
      const code = h.step(Math.min(slice, budget - used));
      const n = h.instructions - this.sliceStart;
      used += n;
      this.cur = null;
      if (n > longest) longest = n;
      if (code === EXIT_WFI) this.waiting[i] = 1;
      ran = true;
    }
    this.vInsns += longest;
    this.idle = !ran || this.harts.every((h, i) => this.waiting[i] === 1 || h.isStopped());
  }

  /** True if a waiting hart has an enabled interrupt pending now (time may have moved on). */
  wakeable(): boolean {
    this.aclint.tick();
    for (let i = 0; i < this.harts.length; i++) {
      const h = this.harts[i];
      if (this.waiting[i] && !h.isStopped() && (h.mipValue() & h.s[MIE]) !== 0) return true;
    }
    return false;
  }

  /** Current timebase value (mtime). */
  now(): number {
    return this.aclint.mtime();
  }

  /** The earliest future timer deadline of any hart (ACLINT or Sstc), in ticks; Infinity if none. */
  nextDeadline(): number {
    const now = this.now();
    let best = this.aclint.nextDeadline();
    if (best <= now) best = Infinity;
    for (const h of this.harts) {
      const d = h.timerDeadline();
      if (d > now && d < best) best = d;
    }
    return best;
  }

  /** Deterministic mode: jump time to the next deadline. False if there is none. */
  skipToDeadline(): boolean {
    const d = this.nextDeadline();
    if (!this.deterministic || d === Infinity) return false;
    this.skipTicks += d - this.now();
    return true;
  }

  /**
   * Run until the machine stops or `maxInsns` instructions have executed (synchronous: for
   * tests and benchmarks; the interactive runner in src/host/machine.ts sleeps instead of
   * spinning while idle). In realtime mode an idle machine spins until its deadline.
   */
  run(maxInsns = Infinity, slice = 100_000): StopReason {
    this.insnsAtStart = this.instructions;
    while (this.stopped === null) {
      const left = maxInsns - (this.instructions - this.insnsAtStart);
      if (left <= 0) return { kind: 'limit' };
      this.runRound(slice, left);
      if (this.idle && this.stopped === null && !this.wakeable()) {
        if (this.deterministic) { if (!this.skipToDeadline()) return { kind: 'idle' }; }
        // Realtime: a deadline that passes between wakeable() and nextDeadline() is dropped
        // by the latter (it only counts future deadlines); asking wakeable() again closes that
        // window, since the passed deadline now shows as a pending interrupt.
        else if (this.nextDeadline() === Infinity && !this.wakeable()) return { kind: 'idle' };
      }
    }
    return this.stopped;
  }

  /** Little-endian 64-bit RAM read as a bigint (for checking results left in memory). */
  readU64(pa: number): bigint {
    if (!this.bus.inRam(pa, 8)) throw new RangeError(`0x${pa.toString(16)} is not in RAM`);
    const off = pa - this.bus.ramBase;
    return (BigInt(this.bus.ramRead(off + 4, 4)) << 32n) | BigInt(this.bus.ramRead(off, 4));
  }
}
