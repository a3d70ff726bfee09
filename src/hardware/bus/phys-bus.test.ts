// SPDX-License-Identifier: GPL-2.0-only
// PhysBus as a PhysTranslation: RAM frame offsets, MMIO pages, holes, and devices overlaid
// on RAM (the HTIF case), plus the loaders' bounds checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysBus } from './phys-bus.ts';
import { ACCESS_R, ACCESS_W, ACCESS_X, PHYS_FAULT, PHYS_MMIO } from '../riscv/hart-api.ts';
import type { MmioDevice } from './mmio.ts';

class Recorder implements MmioDevice {
  readonly name: string;
  log: string[] = [];
  constructor(name: string) { this.name = name; }
  read(off: number, size: number): number { this.log.push(`r${off}/${size}`); return 0x100 + off; }
  write(off: number, size: number, v: number): void { this.log.push(`w${off}/${size}=${v.toString(16)}`); }
}

const RAM = 0x8000_0000;

test('RAM pages translate to frame offsets; outside RAM and devices is a fault', () => {
  const bus = new PhysBus(RAM, 1 << 20);
  assert.equal(bus.lookup(RAM / 4096, ACCESS_R), 0);
  assert.equal(bus.lookup(RAM / 4096 + 5, ACCESS_W), 5 * 4096);
  assert.equal(bus.lookup(RAM / 4096 + 255, ACCESS_X), 255 * 4096);
  assert.equal(bus.lookup(RAM / 4096 + 256, ACCESS_R), PHYS_FAULT);
  assert.equal(bus.lookup(RAM / 4096 - 1, ACCESS_R), PHYS_FAULT);
  assert.equal(bus.lookup(0, ACCESS_R), PHYS_FAULT);
  assert.equal(bus.memory.byteLength, 1 << 20);
});

test('device pages are MMIO for loads and stores, never executable; accesses reach the device at its offset', () => {
  const bus = new PhysBus(RAM, 1 << 20);
  const uart = new Recorder('uart');
  bus.addMmio(0x1000_0000, 0x100, uart);
  assert.equal(bus.lookup(0x10000, ACCESS_R), PHYS_MMIO);
  assert.equal(bus.lookup(0x10000, ACCESS_W), PHYS_MMIO);
  assert.equal(bus.lookup(0x10000, ACCESS_X), PHYS_FAULT);
  assert.equal(bus.lookup(0x10001, ACCESS_R), PHYS_FAULT);
  assert.equal(bus.mmioRead(0x1000_0005, 1), 0x105);
  bus.mmioWrite(0x1000_0000, 1, 0x41);
  assert.equal(bus.mmioRead(0x1000_0200, 4), 0, 'a hole inside the page reads 0');
  bus.mmioWrite(0x1000_0200, 4, 1);
  assert.deepEqual(uart.log, ['r5/1', 'w0/1=41']);
});

test('overlapping devices and devices over RAM without permission are board bugs', () => {
  const bus = new PhysBus(RAM, 1 << 20);
  bus.addMmio(0x10_0000, 0x1000, new Recorder('a'));
  assert.throws(() => bus.addMmio(0x10_0800, 0x1000, new Recorder('b')), /overlaps a/);
  assert.throws(() => bus.addMmio(RAM + 0x1000, 8, new Recorder('c')), /overlaps RAM/);
});

test('a device overlaid on RAM intercepts its words; the rest of its page is RAM', () => {
  const bus = new PhysBus(RAM, 1 << 20);
  const htif = new Recorder('htif');
  bus.addMmio(RAM + 0x1000, 16, htif, true);
  const pn = RAM / 4096 + 1;
  assert.equal(bus.lookup(pn, ACCESS_R), PHYS_MMIO);
  assert.equal(bus.lookup(pn, ACCESS_W), PHYS_MMIO);
  assert.equal(bus.lookup(pn, ACCESS_X), 4096, 'instruction fetch still reads RAM');
  assert.equal(bus.lookup(pn + 1, ACCESS_W), 2 * 4096);
  bus.mmioWrite(RAM + 0x1008, 4, 0xdead);
  bus.mmioWrite(RAM + 0x1010, 4, 0x12345678);
  assert.deepEqual(htif.log, ['w8/4=dead']);
  assert.equal(bus.mmioRead(RAM + 0x1010, 4), 0x12345678);
  assert.equal(bus.mmioRead(RAM + 0x1011, 2), 0x3456);
  assert.deepEqual([...bus.ram.subarray(0x1010, 0x1014)], [0x78, 0x56, 0x34, 0x12], 'little-endian in RAM');
});

test('writePhys and zeroPhys refuse ranges that leave RAM', () => {
  const bus = new PhysBus(RAM, 8192);
  assert.equal(bus.writePhys(RAM + 8190, new Uint8Array(2).fill(7)), true);
  assert.equal(bus.writePhys(RAM + 8191, new Uint8Array(2)), false);
  assert.equal(bus.writePhys(RAM - 1, new Uint8Array(1)), false);
  assert.equal(bus.zeroPhys(RAM + 8190, 2), true);
  assert.equal(bus.ram[8190], 0);
  assert.throws(() => new PhysBus(RAM, 1000), /multiples of 4 KiB/);
});
