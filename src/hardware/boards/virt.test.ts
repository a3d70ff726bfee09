// SPDX-License-Identifier: GPL-2.0-only
// The virt board built for real (bus, devices, device tree) with wire recorders in place of
// the harts (the board only uses a hart's irqLine inputs): every region of the
// memory map answers at its address as its device, the device tree lists exactly what is
// mapped, and interrupts travel device -> PLIC/ACLINT -> the hart's mip lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fdtNode, parseDtb, propCells } from '../fdt/fdt-reader.ts';
import type { HartClock } from '../riscv/hart-api.ts';
import type { FinisherEvent } from '../devices/sifive-test.ts';
import { FW_DYNAMIC_INFO_MAGIC, VirtBoard, VirtBoardError } from './virt.ts';
import { VIRT_MEMMAP, virtioSlotBase, virtRegions } from './virt-memmap.ts';
import type { VirtMode } from './virt-fdt.ts';

// mip bits (Spec: riscv-priv-20240411 §3.1.9 "Machine Interrupt (mip and mie) Registers").
const MIP_MSIP = 1 << 3, MIP_MTIP = 1 << 7, MIP_SEIP = 1 << 9, MIP_MEIP = 1 << 11;

/** Records the level of each interrupt input as a mip-style bit mask. */
class WireRecorder {
  mip = 0;
  constructor(readonly id: number, readonly guestMode: boolean, readonly clock: HartClock) {}
  irqLine(bit: number) {
    return { set: (l: boolean) => { this.mip = l ? this.mip | (1 << bit) : this.mip & ~(1 << bit); } };
  }
}

const PLIC = VIRT_MEMMAP.plic.base, CLINT = VIRT_MEMMAP.clint.base, UART = VIRT_MEMMAP.uart0.base;

function build(mode: VirtMode = 'firmware', hartCount = 2, ramSize = 128 << 20) {
  const tb = { t: 0, now: () => tb.t, frequency: 10_000_000 };
  const tx: number[] = [];
  const finished: FinisherEvent[] = [];
  const woken: number[] = [];
  const board = new VirtBoard({
    hartCount, ramSize, mode, timebase: tb, wallclockNs: () => 1_700_000_000_000_000_000n,
    uartTx: (b) => tx.push(b), onFinish: (e) => finished.push(e),
    createHart: (p) => new WireRecorder(p.hartId, p.guestMode, p.clock), onInterrupt: (h) => woken.push(h),
  });
  const lines = (h: number) => board.harts[h].mip;
  const r32 = (pa: number) => board.bus.mmioRead(pa, 4);
  const w32 = (pa: number, v: number) => board.bus.mmioWrite(pa, 4, v);
  return { board, tb, tx, finished, woken, lines, r32, w32 };
}

test('every region of the memory map answers as its device', () => {
  const t = build();
  // virtio-mmio: magic "virt", version 2, an empty slot is DeviceID 0.
  for (let i = 0; i < 8; i++) {
    assert.equal(t.r32(virtioSlotBase(i)), 0x74726976, `slot ${i} magic`);
    assert.equal(t.r32(virtioSlotBase(i) + 4), 2);
    assert.equal(t.r32(virtioSlotBase(i) + 8), 0);
  }
  // UART: LSR says the transmitter is empty; THR bytes reach the host.
  assert.equal(t.board.bus.mmioRead(UART + 5, 1) & 0x60, 0x60);
  t.board.bus.mmioWrite(UART, 1, 0x41);
  assert.deepEqual(t.tx, [0x41]);
  // PLIC: priority registers are WARL 3 bits.
  t.w32(PLIC + 4 * 10, 0xff);
  assert.equal(t.r32(PLIC + 4 * 10), 7);
  // CLINT: mtime follows the timebase.
  t.tb.t = 0x1234;
  assert.equal(t.r32(CLINT + 0xbff8), 0x1234);
  // RTC: the wall clock, ns.
  const lo = BigInt(t.r32(VIRT_MEMMAP.rtc.base)), hi = BigInt(t.r32(VIRT_MEMMAP.rtc.base + 4));
  assert.equal((hi << 32n) | lo, 1_700_000_000_000_000_000n);
  // Test device: the syscon poweroff value.
  t.w32(VIRT_MEMMAP.test.base, 0x5555);
  assert.deepEqual(t.finished, [{ kind: 'pass' }]);
  // RAM at 0x8000_0000.
  t.board.load(0x8000_0000, new Uint8Array([1, 2, 3, 4]));
  assert.equal(t.board.bus.lookup(0x8_0000, 1), 0);
  assert.equal(t.board.bus.ram[3], 4);
});

test('the device tree lists exactly the regions the bus maps, at the same addresses', () => {
  const t = build('firmware', 2);
  const tree = parseDtb(t.board.dtb()).root;
  const mapped = t.board.bus.mmioRanges().map((r) => [r.base, r.size]);
  assert.deepEqual(mapped, virtRegions().map((r) => [r.base, r.size]));
  const soc = fdtNode(tree, '/soc')!;
  const inTree = soc.children.map((c) => propCells(c, 'reg')!).map((c) => [c[0] * 2 ** 32 + c[1], c[2] * 2 ** 32 + c[3]]);
  assert.deepEqual(inTree.sort((a, b) => a[0] - b[0]), mapped);
  assert.deepEqual(propCells(fdtNode(tree, '/memory@80000000'), 'reg'), [0, 0x8000_0000, 0, 128 << 20]);
});

test('firmware mode: UART interrupt -> PLIC context 2h+1 -> SEIP, context 2h -> MEIP', () => {
  const t = build('firmware', 2);
  t.w32(PLIC + 4 * 10, 1);
  t.w32(PLIC + 0x2000 + 0x80 * 3, 1 << 10); // hart 1, S context
  t.board.bus.mmioWrite(UART + 1, 1, 0x02); // IER: THR empty interrupt -> raised at once
  assert.equal(t.lines(1) & MIP_SEIP, MIP_SEIP);
  assert.equal(t.lines(1) & MIP_MEIP, 0);
  assert.equal(t.lines(0), 0);
  assert.deepEqual(t.woken, [1]);
  assert.equal(t.r32(PLIC + 0x20_0000 + 0x1000 * 3 + 4), 10, 'claim');
  assert.equal(t.lines(1) & MIP_SEIP, 0);
  t.w32(PLIC + 0x2000 + 0x80 * 2, 1 << 10); // hart 1, M context
  t.board.bus.mmioWrite(UART + 1, 1, 0x00);
  t.w32(PLIC + 0x20_0000 + 0x1000 * 3 + 4, 10); // complete: line low, nothing new
  t.board.bus.mmioWrite(UART + 1, 1, 0x02);
  assert.equal(t.lines(1) & (MIP_MEIP | MIP_SEIP), MIP_MEIP | MIP_SEIP);
});

test('vsbi mode: PLIC context h is hart h\'s S-mode; harts are created in guest mode', () => {
  const t = build('vsbi', 2);
  assert.equal(t.board.harts[1].guestMode, true);
  t.w32(PLIC + 4 * 11, 2);
  t.w32(PLIC + 0x2000 + 0x80 * 1, 1 << 11);
  // RTC alarm in the past fires at once.
  const rtc = VIRT_MEMMAP.rtc.base;
  t.w32(rtc + 0x10, 1);
  t.w32(rtc + 0x0c, 0);
  t.w32(rtc + 0x08, 1);
  assert.equal(t.lines(1) & MIP_SEIP, MIP_SEIP);
  assert.equal(t.lines(0), 0);
});

test('ACLINT wires MSIP and MTIP per hart, and the board reports the next deadline', () => {
  const t = build('firmware', 2);
  t.w32(CLINT + 4, 1);
  assert.equal(t.lines(1) & MIP_MSIP, MIP_MSIP);
  assert.equal(t.board.nextDeadline(), Infinity);
  t.w32(CLINT + 0x4000, 500);
  t.w32(CLINT + 0x4004, 0);
  assert.equal(t.board.nextDeadline(), 500);
  t.tb.t = 499;
  t.board.tick();
  assert.equal(t.lines(0) & MIP_MTIP, 0);
  t.tb.t = 500;
  t.board.tick();
  assert.equal(t.lines(0) & MIP_MTIP, MIP_MTIP);
  assert.equal(t.board.harts[0].clock.now(), 500, 'the harts read mtime');
  // An RTC alarm 1 ms ahead is 10 000 ticks ahead.
  const rtc = VIRT_MEMMAP.rtc.base;
  t.w32(rtc + 0x0c, Number((1_700_000_000_001_000_000n >> 32n)));
  t.w32(rtc + 0x08, Number(1_700_000_000_001_000_000n & 0xffff_ffffn));
  assert.equal(t.board.nextDeadline(), 500 + 10_000);
});

test('virtio devices go into the highest free slot first, as QEMU plugs -device', () => {
  const t = build();
  const dev = (name: string) => ({
    name, deviceId: 4, deviceFeatures: 0n, queueMaxSizes: [8], attach() {}, readConfig: () => 0, writeConfig() {},
    activate() {}, queueNotify() {}, reset() {}, save: () => ({}), restore: () => true,
  });
  assert.equal(t.board.attachVirtio(dev('rng0')), 7);
  assert.equal(t.board.attachVirtio(dev('rng1')), 6);
  assert.equal(t.r32(virtioSlotBase(7) + 8), 4);
  assert.equal(t.r32(virtioSlotBase(6) + 8), 4);
  assert.equal(t.r32(virtioSlotBase(5) + 8), 0);
  for (let i = 0; i < 6; i++) t.board.attachVirtio(dev(`d${i}`));
  assert.throws(() => t.board.attachVirtio(dev('one too many')), VirtBoardError);
});

test('firmware boot: QEMU placement, fw_dynamic_info, every hart at the firmware entry', () => {
  const t = build('firmware', 2, 256 << 20);
  const plan = t.board.bootFirmware({
    firmware: { name: 'fw.bin', bytes: new Uint8Array(300_000).fill(0x13) },
    kernel: { name: 'Image', bytes: new Uint8Array(4096).fill(0x73) },
    initrd: { name: 'initrd', bytes: new Uint8Array(1000).fill(0x55) },
    bootargs: 'console=ttyS0',
  });
  assert.equal(plan.kernel?.start, 0x8020_0000);
  assert.equal(plan.initrd?.start, 0x8020_0000 + (128 << 20));
  assert.equal(plan.dtb.start, 0x8000_0000 + (256 << 20) - (2 << 20));
  assert.deepEqual(plan.entries.map((e) => [e.hartId, e.pc, e.a0, e.a1, e.a2]),
    [0, 1].map((h) => [h, 0x8000_0000, h, plan.dtb.start, plan.dynamicInfo]));
  const ram = t.board.bus.ram, off = (pa: number) => pa - 0x8000_0000;
  const dv = new DataView(ram.buffer, off(plan.dynamicInfo), 48);
  const u64 = (i: number) => dv.getUint32(i * 8, true) + dv.getUint32(i * 8 + 4, true) * 2 ** 32;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(u64), [FW_DYNAMIC_INFO_MAGIC, 2, 0x8020_0000, 1, 0, 0]);
  assert.equal(ram[off(0x8020_0000)], 0x73);
  assert.equal(ram[off(plan.initrd!.start)], 0x55);
  const tree = parseDtb(ram.slice(off(plan.dtb.start), off(plan.dtb.end))).root;
  assert.deepEqual(propCells(fdtNode(tree, '/chosen'), 'linux,initrd-start'), [plan.initrd!.start]);
  assert.throws(() => build('firmware', 1, 16 << 20).board.bootFirmware({
    firmware: { name: 'fw.bin', bytes: new Uint8Array(1) }, kernel: { name: 'Image', bytes: new Uint8Array(1 << 20) },
    initrd: { name: 'big.cpio', bytes: new Uint8Array(8 << 20) },
  }), /initrd 'big.cpio'/);
});

test('boot images that cannot be used are VirtBoardErrors naming the file', () => {
  const fw = (bytes: Uint8Array) => () => build().board.bootFirmware({ firmware: { name: 'fw.elf', bytes } });
  assert.throws(fw(new Uint8Array(0)), /firmware 'fw.elf' is empty/);
  const truncatedElf = new Uint8Array(64);
  truncatedElf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1]); // ELFCLASS32
  assert.throws(fw(truncatedElf), (e: unknown) => e instanceof VirtBoardError && /firmware 'fw.elf': .*ELFCLASS32/.test(e.message));
  assert.throws(() => build().board.bootFirmware({ firmware: { name: 'fw', bytes: new Uint8Array(4) },
    initrd: { name: 'rd', bytes: new Uint8Array(4) } }), /initrd \('rd'\) needs a kernel/);
  assert.throws(() => build('firmware', 1, 16 << 20).board.bootFirmware({ firmware: { name: 'huge.bin', bytes: new Uint8Array(17 << 20) } }),
    /firmware 'huge.bin'.*does not fit/);
});

test('bad configurations are one-line VirtBoardErrors', () => {
  assert.throws(() => build('firmware', 0), VirtBoardError);
  assert.throws(() => build('firmware', 513), VirtBoardError);
  assert.throws(() => build('firmware', 1, 1 << 20), VirtBoardError);
  assert.throws(() => build().board.load(0x7000_0000, new Uint8Array(4)), /does not fit in RAM/);
});

test('save/restore carries PLIC, ACLINT, RTC and UART state to a fresh board', () => {
  const a = build('firmware', 2);
  a.w32(PLIC + 4 * 10, 3);
  a.w32(PLIC + 0x2000 + 0x80 * 1, 1 << 10);
  a.board.bus.mmioWrite(UART + 1, 1, 0x02); // THR empty: source 10 pending, SEIP on hart 0
  a.w32(CLINT + 0x4008, 777); // hart 1 mtimecmp
  a.w32(CLINT + 0x400c, 0);
  a.w32(VIRT_MEMMAP.rtc.base + 0x04, 0); // RTC high word -> 0
  a.board.bus.mmioWrite(UART + 7, 1, 0xa5); // UART scratch register
  a.tb.t = 100;
  const saved = a.board.saveState();
  const b = build('firmware', 2);
  b.tb.t = 5;
  assert.equal(b.board.restoreState(saved), true);
  assert.equal(b.lines(0) & MIP_SEIP, MIP_SEIP);
  assert.equal(b.r32(PLIC + 0x20_0000 + 0x1000 + 4), 10);
  assert.equal(b.r32(CLINT + 0xbff8), 100, 'mtime continues from the saved value');
  assert.equal(b.board.nextDeadline(), 777);
  assert.equal(b.board.bus.mmioRead(UART + 7, 1), 0xa5);
  b.r32(VIRT_MEMMAP.rtc.base); // TIME_LOW latches TIME_HIGH
  assert.equal(b.r32(VIRT_MEMMAP.rtc.base + 0x04), 0, 'the guest-set RTC time survives');
  assert.equal(build('vsbi', 2).board.restoreState(saved), false);
  assert.equal(build('firmware', 1).board.restoreState(saved), false);
});

test('a hostile guest poking random registers of every device never makes the board throw', () => {
  const t = build('firmware', 2);
  // xorshift32: deterministic, so a failure reproduces.
  let x = 0x9e3779b9;
  const rnd = () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x;
  };
  const regions = virtRegions();
  const sizes = [1, 2, 4, 4, 4];
  for (let i = 0; i < 200_000; i++) {
    const r = regions[rnd() % regions.length];
    // Mostly inside the first page of registers, sometimes anywhere in the window.
    const off = rnd() % 8 === 0 ? rnd() % r.size : rnd() % Math.min(r.size, 0x400);
    const size = sizes[rnd() % sizes.length];
    if (rnd() & 1) t.board.bus.mmioRead(r.base + off, size);
    else t.board.bus.mmioWrite(r.base + off, size, rnd());
    if (i % 1000 === 0) {
      t.tb.t += rnd() % 100_000;
      t.board.tick();
    }
  }
  // The board still works: the UART still transmits and the PLIC still claims.
  t.board.bus.mmioWrite(UART + 3, 1, 0x03); // LCR: 8N1, DLAB off
  t.board.bus.mmioWrite(UART + 4, 1, 0x00); // MCR: no loopback
  const before = t.tx.length;
  t.board.bus.mmioWrite(UART, 1, 0x5a);
  assert.equal(t.tx.length, before + 1);
  assert.equal(t.tx[t.tx.length - 1], 0x5a);
});
