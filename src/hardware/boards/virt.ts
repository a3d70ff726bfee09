// SPDX-License-Identifier: GPL-2.0-only
// The virt board: RAM, UART, PLIC, ACLINT, Goldfish RTC, the test/syscon device and eight
// virtio-mmio slots, wired from the one memory map (virt-memmap.ts) and described to the
// guest by the device tree generated from the same table (virt-fdt.ts). Two modes: M-mode
// firmware (OpenSBI, fw_dynamic) owns the harts, or the guest starts in S-mode under the
// hypervisor's vSBI (guest-mode harts; src/hypervisor/boot plans that kernel load).
// Leaves out: running the harts (src/host/machine.ts does), PCIe, fw_cfg, flash.
//
//   harts[h] ◄── MSIP, MTIP ── Aclint (mtime = the harts' HartClock)
//            ◄── MEIP, SEIP ── Plic contexts (firmware: 2h = M, 2h+1 = S; vsbi: h = S)
//   Plic sources ◄── uart0 (10), rtc (11), virtio slot i (1 + i)
//   test device ──► onFinish (poweroff 0x5555 / reboot 0x7777 / fail 0x3333)
import type { IrqLine, MmioDevice } from '../bus/mmio.ts';
import { PhysBus } from '../bus/phys-bus.ts';
import { Aclint, type AclintState, type TimeBase } from '../devices/aclint.ts';
import { GoldfishRtc, type GoldfishRtcState } from '../devices/goldfish-rtc.ts';
import { Ns16550a, type Ns16550aState } from '../devices/ns16550a.ts';
import { Plic, plicHartContexts, type PlicState } from '../devices/plic.ts';
import { SifiveTest, type FinisherEvent } from '../devices/sifive-test.ts';
import { GuestMemory } from '../devices/virtio/guest-memory.ts';
import type { VirtioDevice } from '../devices/virtio/virtio-device.ts';
import { VirtioMmio, type VirtioMmioState } from '../devices/virtio/virtio-mmio.ts';
import { isElf, loadElf, parseElf, type ElfImage } from '../loader/elf.ts';
import type { HartClock, PhysTranslation } from '../riscv/hart-api.ts';
import { virtFdt, type VirtFdtConfig, type VirtMode } from './virt-fdt.ts';
import {
  VIRT_CPUS_MAX, VIRT_IRQ, VIRT_MEMMAP, VIRT_PLIC_MAX_PRIORITY, VIRT_PLIC_NUM_SOURCES, VIRT_TIMEBASE_FREQ,
  VIRT_VIRTIO_COUNT, virtioSlotBase,
} from './virt-memmap.ts';

// Spec: riscv-priv-20240411 §3.1.9 "Machine Interrupt (mip and mie) Registers": the mip bit
// of each interrupt wire the board drives.
const IRQ_MSI = 3, IRQ_MTI = 7, IRQ_SEI = 9, IRQ_MEI = 11;

/** What the board needs from a hart: its level-triggered interrupt inputs (Hart.irqLine). */
export interface VirtHart {
  /** The input wire for mip bit `bit` (3 MSIP, 7 MTIP, 9 SEIP, 11 MEIP). */
  irqLine(bit: number): IrqLine;
}

/** What the board hands the hart factory. */
export interface VirtHartParams {
  readonly hartId: number;
  /** Identity translation over the board's bus. */
  readonly phys: PhysTranslation;
  /** mtime: the ACLINT's counter, which the `time` CSR and Sstc must read. */
  readonly clock: HartClock;
  /** True in vsbi mode: no M-mode; ecalls and M-level traps exit to the owner. */
  readonly guestMode: boolean;
}

export interface VirtBoardConfig<H extends VirtHart> {
  readonly hartCount: number;
  /** Bytes of RAM at 0x8000_0000, a multiple of 4 KiB. */
  readonly ramSize: number;
  readonly mode: VirtMode;
  /** Host ticks of the platform timebase (10 MHz: VIRT_TIMEBASE_FREQ). */
  readonly timebase: TimeBase;
  /** Host wall clock, ns since the epoch (for the RTC). */
  readonly wallclockNs: () => bigint;
  /** Each byte the guest writes to the UART. */
  readonly uartTx: (byte: number) => void;
  /** The guest wrote the test/syscon device: power off, reboot or fail. */
  readonly onFinish: (ev: FinisherEvent) => void;
  /** Creates hart `p.hartId` (e.g. `new Hart({ ...p, resetPc: 0x8000_0000 })`). */
  readonly createHart: (p: VirtHartParams) => H;
  /** An interrupt wire into hart `hartId` was raised: wake it if it sleeps in WFI. */
  readonly onInterrupt?: (hartId: number) => void;
}

/** A user error in the board configuration or boot images: one line naming the problem. */
export class VirtBoardError extends Error {
  override readonly name = 'VirtBoardError';
}

/** `line`, which also calls `onRaise` when it goes from low to high. */
function notifying(line: IrqLine, onRaise: () => void): IrqLine {
  let level = false;
  return {
    set(l: boolean) {
      line.set(l);
      if (l && !level) onRaise();
      level = l;
    },
  };
}

/** A virtio-mmio slot: forwards to whichever transport the slot currently holds. */
class VirtioSlot implements MmioDevice {
  readonly name: string;
  constructor(readonly index: number, public transport: VirtioMmio, public device: VirtioDevice | null) {
    this.name = `virtio${index}`;
  }
  read(offset: number, size: number): number {
    return this.transport.read(offset, size);
  }
  write(offset: number, size: number, value: number): void {
    this.transport.write(offset, size, value);
  }
}

const TWO32 = 0x1_0000_0000;
const MiB = 1024 * 1024;

// fw_dynamic_info (OpenSBI include/sbi/fw_dynamic.h; QEMU hw/riscv/boot.c fills it the same
// way): six XLEN words, little-endian.
export const FW_DYNAMIC_INFO_MAGIC = 0x4942534f; // "OSBI"
export const FW_DYNAMIC_INFO_VERSION = 2;
export const FW_DYNAMIC_INFO_NEXT_MODE_S = 1;
export const FW_DYNAMIC_INFO_SIZE = 6 * 8;

/** One hart's register state at reset for the firmware boot. */
export interface FirmwareEntry {
  readonly hartId: number;
  readonly pc: number;
  /** M-mode; a0 = hart id, a1 = DTB, a2 = fw_dynamic_info. */
  readonly a0: number;
  readonly a1: number;
  readonly a2: number;
}

/** A boot file: the name is what errors mention (the path the user gave). */
export interface BootImage {
  readonly name: string;
  readonly bytes: Uint8Array;
}

interface PlacedImage {
  start: number;
  end: number;
  entry: number;
  elf: ElfImage | null;
}

/** The register-setting part of a hart (Hart has it). */
export interface EntryRegs {
  setPc(pc: number): void;
  setXNum(i: number, v: number): void;
}

/**
 * Put a hart at its firmware entry: pc, a0 = hart id, a1 = DTB, a2 = fw_dynamic_info. The
 * hart is fresh from reset, so it is in M-mode with the MMU off and interrupts disabled.
 */
export function enterFirmware(hart: EntryRegs, e: FirmwareEntry): void {
  hart.setPc(e.pc);
  hart.setXNum(10, e.a0);
  hart.setXNum(11, e.a1);
  hart.setXNum(12, e.a2);
}

export interface FirmwareBootPlan {
  readonly firmware: { readonly start: number; readonly end: number };
  readonly kernel?: { readonly start: number; readonly end: number };
  /** Where the firmware jumps in S-mode (fw_dynamic_info next_addr). */
  readonly kernelEntry?: number;
  readonly initrd?: { readonly start: number; readonly end: number };
  readonly dtb: { readonly start: number; readonly end: number };
  readonly dynamicInfo: number;
  /** Every hart starts in the firmware (OpenSBI picks the boot hart itself). */
  readonly entries: readonly FirmwareEntry[];
}

/**
 * The board's device state as plain data (save/restore, migration). RAM and the harts' state
 * blocks are SharedArrayBuffers their owner saves.
 */
export interface VirtBoardState {
  readonly version: 1;
  readonly mode: VirtMode;
  readonly hartCount: number;
  readonly plic: PlicState;
  readonly aclint: AclintState;
  readonly rtc: GoldfishRtcState;
  readonly uart: Ns16550aState;
  /** Per slot: the transport's record, null for an empty slot. */
  readonly virtio: (VirtioMmioState | null)[];
}

export class VirtBoard<H extends VirtHart> {
  readonly hartCount: number;
  readonly ramSize: number;
  readonly mode: VirtMode;
  readonly bus: PhysBus;
  readonly harts: readonly H[];
  readonly plic: Plic;
  readonly aclint: Aclint;
  readonly rtc: GoldfishRtc;
  readonly uart: Ns16550a;
  readonly test: SifiveTest;
  /** mtime: what the runner and the harts read as time. */
  readonly clock: HartClock;
  private readonly slots: VirtioSlot[] = [];
  private readonly guestMem: GuestMemory;

  constructor(cfg: VirtBoardConfig<H>) {
    if (!Number.isInteger(cfg.hartCount) || cfg.hartCount < 1 || cfg.hartCount > VIRT_CPUS_MAX)
      throw new VirtBoardError(`--smp ${cfg.hartCount}: the virt board has 1 to ${VIRT_CPUS_MAX} harts`);
    if (!Number.isInteger(cfg.ramSize) || cfg.ramSize < 16 * MiB || cfg.ramSize % 4096 !== 0)
      throw new VirtBoardError(`--mem ${cfg.ramSize}: RAM must be at least 16 MiB and a multiple of 4 KiB`);
    if (cfg.timebase.frequency !== VIRT_TIMEBASE_FREQ)
      throw new VirtBoardError(`timebase ${cfg.timebase.frequency} Hz: the virt board's is ${VIRT_TIMEBASE_FREQ} Hz`);
    this.hartCount = cfg.hartCount;
    this.ramSize = cfg.ramSize;
    this.mode = cfg.mode;
    const m = VIRT_MEMMAP;
    this.bus = new PhysBus(m.dram.base, cfg.ramSize);
    this.guestMem = new GuestMemory(this.bus);

    this.aclint = new Aclint({ hartCount: cfg.hartCount, timebase: cfg.timebase });
    this.clock = this.aclint.clock;
    const guestMode = cfg.mode === 'vsbi';
    const harts: H[] = [];
    for (let h = 0; h < cfg.hartCount; h++) harts.push(cfg.createHart({ hartId: h, phys: this.bus, clock: this.clock, guestMode }));
    this.harts = harts;
    const wake = cfg.onInterrupt;
    const line = (h: number, cause: number): IrqLine =>
      wake ? notifying(harts[h].irqLine(cause), () => wake(h)) : harts[h].irqLine(cause);

    const contexts = plicHartContexts(cfg.hartCount, cfg.mode === 'firmware' ? 'MS' : 'S');
    this.plic = new Plic({
      numSources: VIRT_PLIC_NUM_SOURCES, maxPriority: VIRT_PLIC_MAX_PRIORITY, contexts,
      outputs: contexts.map((c) => line(c.hartId, c.mode === 'M' ? IRQ_MEI : IRQ_SEI)),
    });
    for (let h = 0; h < cfg.hartCount; h++) this.aclint.connect(h, line(h, IRQ_MSI), line(h, IRQ_MTI));

    this.rtc = new GoldfishRtc({ wallclockNs: cfg.wallclockNs, irq: this.plic.source(VIRT_IRQ.rtc) });
    this.uart = new Ns16550a({ irq: this.plic.source(VIRT_IRQ.uart0), onTransmit: cfg.uartTx });
    this.test = new SifiveTest(cfg.onFinish);

    this.bus.addMmio(m.test.base, m.test.size, this.test);
    this.bus.addMmio(m.rtc.base, m.rtc.size, this.rtc);
    this.bus.addMmio(m.clint.base, m.clint.size, this.aclint);
    this.bus.addMmio(m.plic.base, m.plic.size, this.plic);
    this.bus.addMmio(m.uart0.base, m.uart0.size, this.uart);
    for (let i = 0; i < VIRT_VIRTIO_COUNT; i++) {
      const slot = new VirtioSlot(i, this.transport(i, null), null);
      this.slots.push(slot);
      this.bus.addMmio(virtioSlotBase(i), m.virtio.size, slot);
    }
  }

  private transport(slot: number, device: VirtioDevice | null): VirtioMmio {
    return new VirtioMmio(this.guestMem, this.plic.source(VIRT_IRQ.virtio + slot), device);
  }

  /** Put `device` (or nothing) into slot `i` (0..7), replacing what was there. Board set-up only. */
  setVirtio(i: number, device: VirtioDevice | null): void {
    if (!Number.isInteger(i) || i < 0 || i >= VIRT_VIRTIO_COUNT) throw new RangeError(`virt: no virtio slot ${i}`);
    const s = this.slots[i];
    s.transport = this.transport(i, device);
    s.device = device;
  }

  /**
   * Plug `device` into the highest free slot, as QEMU does with -device, so that its guest
   * (which probes the tree's highest slot first) numbers disks the same way. Returns the slot.
   */
  attachVirtio(device: VirtioDevice): number {
    for (let i = VIRT_VIRTIO_COUNT - 1; i >= 0; i--) {
      if (this.slots[i].device === null) {
        this.setVirtio(i, device);
        return i;
      }
    }
    throw new VirtBoardError(`no free virtio-mmio slot for ${device.name} (the virt board has ${VIRT_VIRTIO_COUNT})`);
  }

  /** The device in slot `i`, or null. */
  virtioDevice(i: number): VirtioDevice | null {
    return this.slots[i]?.device ?? null;
  }

  /** The device tree for this board (mode and hart count filled in). */
  dtb(opts: Omit<VirtFdtConfig, 'hartCount' | 'ramSize' | 'mode'> = {}): Uint8Array {
    return virtFdt({ hartCount: this.hartCount, ramSize: this.ramSize, mode: this.mode, ...opts });
  }

  /** Copy `bytes` into RAM at physical address `pa`; throws VirtBoardError if it does not fit. */
  load(pa: number, bytes: Uint8Array, what = 'image'): void {
    if (!this.bus.writePhys(pa, bytes)) {
      throw new VirtBoardError(`${what} (${bytes.length} bytes at 0x${pa.toString(16)}) does not fit in RAM ` +
        `[0x${this.bus.ramBase.toString(16)}, 0x${(this.bus.ramBase + this.ramSize).toString(16)})`);
    }
  }

  /** A RamWriter for boot planners: write(address, bytes). */
  readonly ram = { write: (address: number, bytes: Uint8Array): void => this.load(address, bytes) };

  /** Bring every device's time-driven state up to date (MTIP, RTC alarm). */
  tick(): void {
    this.aclint.tick();
    this.rtc.tick();
  }

  /**
   * The earliest mtime (timebase ticks) at which a device interrupt will rise by itself:
   * an ACLINT compare value or the RTC alarm. Infinity if none. (A hart's own Sstc
   * stimecmp is the hart's business: the runner takes the minimum with it.)
   */
  nextDeadline(): number {
    let d = this.aclint.nextDeadline();
    const ns = this.rtc.nsUntilAlarm();
    if (ns !== Infinity) d = Math.min(d, this.clock.now() + Math.ceil((ns * VIRT_TIMEBASE_FREQ) / 1e9));
    return d;
  }

  saveState(): VirtBoardState {
    return {
      version: 1, mode: this.mode, hartCount: this.hartCount, plic: this.plic.saveState(),
      aclint: this.aclint.saveState(), rtc: this.rtc.saveState(), uart: this.uart.saveState(),
      virtio: this.slots.map((s) => (s.device ? s.transport.save() : null)),
    };
  }

  /**
   * Load a record from a board of the same shape (mode, harts, devices in the same slots).
   * False if it does not fit; devices may then be partly restored, so the caller discards
   * the board.
   */
  restoreState(s: VirtBoardState): boolean {
    if (s.version !== 1 || s.mode !== this.mode || s.hartCount !== this.hartCount) return false;
    if (s.virtio.length !== VIRT_VIRTIO_COUNT) return false;
    if (s.virtio.some((v, i) => (v === null) !== (this.slots[i].device === null))) return false;
    if (!this.plic.restoreState(s.plic) || !this.aclint.restoreState(s.aclint) || !this.rtc.restoreState(s.rtc) ||
      !this.uart.restoreState(s.uart)) return false;
    return this.slots.every((slot, i) => s.virtio[i] === null || slot.transport.restore(s.virtio[i]!));
  }

  /** Host input for the console; returns how many bytes the UART took (its FIFO may be full). */
  uartInput(bytes: Uint8Array): number {
    let n = 0;
    while (n < bytes.length && this.uart.receive(bytes[n])) n++;
    return n;
  }

  /**
   * Where an image goes: an ELF64 RISC-V file at its segments' physical addresses (entry from
   * its header), anything else raw at `rawAt`. Throws VirtBoardError naming the file.
   */
  private placeImage(img: BootImage, rawAt: number, what: string): PlacedImage {
    const label = `${what} '${img.name}'`;
    if (img.bytes.length === 0) throw new VirtBoardError(`${label} is empty`);
    if (!isElf(img.bytes)) return { start: rawAt, end: rawAt + img.bytes.length, entry: rawAt, elf: null };
    let elf: ElfImage;
    try {
      elf = parseElf(img.bytes);
    } catch (e) {
      throw new VirtBoardError(`${label}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const segs = elf.segments.filter((sg) => sg.memsz > 0);
    if (segs.length === 0) throw new VirtBoardError(`${label} has no loadable segment`);
    const start = Math.min(...segs.map((sg) => sg.paddr));
    const end = Math.max(...segs.map((sg) => sg.paddr + sg.memsz));
    return { start, end, entry: elf.entry, elf };
  }

  private loadImage(img: BootImage, placed: PlacedImage, what: string): void {
    const label = `${what} '${img.name}'`;
    if (placed.start < this.bus.ramBase || placed.end > this.bus.ramBase + this.ramSize) {
      throw new VirtBoardError(`${label} (0x${placed.start.toString(16)}-0x${placed.end.toString(16)}) does not fit in RAM ` +
        `[0x${this.bus.ramBase.toString(16)}, 0x${(this.bus.ramBase + this.ramSize).toString(16)})`);
    }
    if (placed.elf) loadElf(img.bytes, placed.elf, this.bus);
    else this.load(placed.start, img.bytes, label);
  }

  /**
   * Lay out an M-mode firmware boot the way QEMU's virt machine does with -bios: firmware
   * (a raw fw_dynamic image at RAM base, or an ELF at its own addresses); the kernel (raw
   * Image, or ELF) at the next 2 MiB boundary after the firmware; the initrd at kernel +
   * min(RAM/2, 128 MiB); the DTB 2 MiB-aligned below min(RAM end, 3 GiB); fw_dynamic_info
   * {magic, version 2, next_addr = kernel entry, next_mode S, options 0, boot_hart 0}.
   * Loads everything and returns each hart's entry state (M-mode, pc = firmware entry,
   * a0 = hart id, a1 = DTB, a2 = fw_dynamic_info).
   */
  bootFirmware(opts: {
    firmware: BootImage;
    kernel?: BootImage;
    initrd?: BootImage;
    bootargs?: string;
    rngSeed?: Uint8Array;
  }): FirmwareBootPlan {
    const base = this.bus.ramBase, end = base + this.ramSize;
    const fw = this.placeImage(opts.firmware, base, 'firmware');
    const fits = (r: { start: number; end: number }) => r.start >= base && r.end <= end;
    if (!fits(fw)) throw new VirtBoardError(`firmware '${opts.firmware.name}' (${opts.firmware.bytes.length} bytes) does not fit in RAM`);
    let kernel: PlacedImage | undefined;
    let initrd: { start: number; end: number } | undefined;
    if (opts.kernel) {
      // QEMU riscv_calc_kernel_start_addr (RV64): the next 2 MiB boundary after the firmware.
      kernel = this.placeImage(opts.kernel, Math.ceil(fw.end / (2 * MiB)) * 2 * MiB, 'kernel');
      if (!fits(kernel)) throw new VirtBoardError(`kernel '${opts.kernel.name}' does not fit in RAM after the firmware`);
      if (kernel.start < fw.end && fw.start < kernel.end)
        throw new VirtBoardError(`kernel '${opts.kernel.name}' overlaps firmware '${opts.firmware.name}'`);
      if (opts.initrd) {
        // QEMU riscv_load_initrd: kernel + min(RAM / 2, 128 MiB), never inside the kernel.
        const is = Math.max(kernel.start + Math.min(Math.floor(this.ramSize / 2), 128 * MiB), Math.ceil(kernel.end / 4096) * 4096);
        initrd = { start: is, end: is + opts.initrd.bytes.length };
        if (initrd.end > end) throw new VirtBoardError(`initrd '${opts.initrd.name}' does not fit in RAM (it would end at 0x${initrd.end.toString(16)})`);
      }
    } else if (opts.initrd) {
      throw new VirtBoardError(`an initrd ('${opts.initrd.name}') needs a kernel`);
    }
    // Room after the blob for firmware that edits the tree in place (OpenSBI's fixups).
    const dtbBytes = this.dtb({ bootargs: opts.bootargs, initrd, rngSeed: opts.rngSeed, padding: 64 * 1024 });
    const top = Math.min(end, 3072 * MiB);
    const dtbStart = Math.floor((top - dtbBytes.length) / (2 * MiB)) * 2 * MiB;
    const below = Math.max(initrd?.end ?? 0, kernel?.end ?? 0, fw.end);
    // fw_dynamic_info goes in the last 64 bytes below `top`, above the DTB and its padding
    // (QEMU puts it in its MROM after the reset vector; we have no MROM).
    const infoAddr = top - 64;
    if (dtbStart < below || dtbStart + dtbBytes.length > infoAddr)
      throw new VirtBoardError(`no room for the device tree below 0x${top.toString(16)}: give more RAM (--mem)`);
    this.loadImage(opts.firmware, fw, 'firmware');
    if (kernel && opts.kernel) this.loadImage(opts.kernel, kernel, 'kernel');
    if (initrd && opts.initrd) this.load(initrd.start, opts.initrd.bytes, `initrd '${opts.initrd.name}'`);
    this.load(dtbStart, dtbBytes, 'device tree');
    const info = new Uint8Array(FW_DYNAMIC_INFO_SIZE);
    const dv = new DataView(info.buffer);
    const put = (i: number, v: number) => {
      dv.setUint32(i * 8, v % TWO32, true);
      dv.setUint32(i * 8 + 4, Math.floor(v / TWO32), true);
    };
    put(0, FW_DYNAMIC_INFO_MAGIC);
    put(1, FW_DYNAMIC_INFO_VERSION);
    put(2, kernel?.entry ?? 0);
    put(3, FW_DYNAMIC_INFO_NEXT_MODE_S);
    put(4, 0);
    put(5, 0);
    this.load(infoAddr, info, 'fw_dynamic_info');
    const entries: FirmwareEntry[] = [];
    for (let h = 0; h < this.hartCount; h++) entries.push({ hartId: h, pc: fw.entry, a0: h, a1: dtbStart, a2: infoAddr });
    const range = (r: { start: number; end: number } | undefined) => (r ? { start: r.start, end: r.end } : undefined);
    return {
      firmware: { start: fw.start, end: fw.end }, kernel: range(kernel), kernelEntry: kernel?.entry, initrd,
      dtb: { start: dtbStart, end: dtbStart + dtbBytes.length }, dynamicInfo: infoAddr, entries,
    };
  }
}

